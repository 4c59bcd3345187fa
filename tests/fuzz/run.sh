#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Each fuzzer from make fuzz for a fixed number of runs with a fixed seed
# (deterministic: a red CI is reproducible), starting from the seed
# corpus in a scratch copy.  Any crash, leak or timeout fails; the inputs
# that did it are kept in the scratch directory named in the output.
# The runs of each harness are what it does in about 60 s on the CI
# machine (2 CPUs; rates measured in CI on 2026-12-02: s3_xml 8.6k/s,
# sigv4 5.8k/s, fuse 60k/s, virtq 62k/s, vhost 8k/s); a divisor makes a
# shorter smoke run.
#
#   run.sh [DIVISOR]     (default 1: about 60 s per harness)
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${FUZZ_BIN_DIR:-tests/fuzz}
div=${1:-1}
declare -A runs=([s3_xml]=500000 [sigv4]=350000 [fuse]=3000000
    [virtq]=3600000 [vhost]=480000)
work=$(mktemp -d /tmp/objfsd-fuzz.XXXXXX)
status=0
for h in s3_xml sigv4 fuse virtq vhost; do
	mkdir -p "$work/$h"
	cp "$srcdir/tests/fuzz/corpus/$h"/* "$work/$h/"
	if "$bin/fuzz_$h" -seed=1 -runs=$((runs[$h] / div)) -max_total_time=240 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    -print_final_stats=1 -artifact_prefix="$work/$h-" \
	    "$work/$h" > "$work/$h.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h.log")
		echo "fuzz $h: $execs runs, $rate execs/s, no crash"
	else
		echo "FAIL: fuzz $h (inputs and log in $work)"
		tail -n 40 "$work/$h.log"
		status=1
	fi
done
[ "$status" -eq 0 ] && rm -rf "$work"
exit "$status"
