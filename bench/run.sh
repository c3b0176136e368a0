#!/usr/bin/env bash
# make bench: the transport's floor, then a sidecar started on a private
# socket and measured through libringside. Prints what it measured.
set -euo pipefail
build=${1:-build}
dir=$(mktemp -d /tmp/ringside-bench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== transport floor (no gateway)"
"$build/pingpong" floor 100000
echo "== through the sidecar (mock provider, ttft 0)"
export RINGSIDE_SOCKET="$dir/rs.sock"
"$build/ringside" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -S "$RINGSIDE_SOCKET" ] && break; sleep 0.05; done
"$build/pingpong" sidecar 20000
"$build/pingpong" stream 2000000
echo "sidecar: $(grep -E 'VmRSS' /proc/$pid/status | tr -s ' ')"
