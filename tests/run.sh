#!/usr/bin/env bash
# Run one criterion binary. Under sanitizers a report inside a test's own
# process does not always fail the test, so any report in the output fails
# the run here.
set -uo pipefail
bin=$1; shift
log=$(mktemp /tmp/ringside-test.XXXXXX)
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$bin" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
	echo "tests/run.sh: sanitizer report in the output of $bin (see above)" >&2
	rc=1
fi
rm -f "$log"
exit "$rc"
