#!/usr/bin/env bash
# make bench: the transport's floor, the sidecar's own round trip (offline
# mock provider), and ringside against a direct libcurl client, both
# talking to mockllm on loopback. Prints what it measured.
set -euo pipefail
build=${1:-build}
dir=$(mktemp -d /tmp/ringside-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== transport floor (no gateway)"
"$build/pingpong" floor 100000

"$build/mockllm" -p 0 -q >"$dir/ml.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$dir/ml.out" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '[0-9]*$' "$dir/ml.out")
cat >"$dir/rs.yaml" <<YAML
listen:
  socket: $dir/rs.sock
providers:
  mock:
    kind: mock
  mockllm:
    kind: openai
    base_url: http://127.0.0.1:$port/v1
models:
  mock:
    provider: mock
  bench:
    provider: mockllm
    model: bench-model
YAML
export RINGSIDE_SOCKET="$dir/rs.sock"
"$build/ringside" -c "$dir/rs.yaml" 2>"$dir/log" &
pid=$!
pids+=($pid)
for _ in $(seq 100); do [ -S "$RINGSIDE_SOCKET" ] && break; sleep 0.05; done

echo "== through the sidecar (in-process mock provider, ttft 0)"
"$build/pingpong" sidecar 20000
"$build/pingpong" stream 2000000
echo "== ringside vs direct libcurl, both against mockllm (openai stream, 9 tokens)"
"$build/ringside-bench" -u "http://127.0.0.1:$port/v1/chat/completions" -m bench -n 3000
echo
RINGSIDE_SOCKET="$RINGSIDE_SOCKET" curl -s "http://127.0.0.1:$port/stats" | sed 's/^/mockllm: /'
echo
echo "sidecar: $(grep -E 'VmRSS' /proc/$pid/status | tr -s ' ')"
