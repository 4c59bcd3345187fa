#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make check: every fuzz harness over its seed corpus and its regression
# cases (tests/fuzz/corpus/NAME, tests/fuzz/regressions/NAME).
set -u
srcdir=${srcdir:-.}
bin=${FUZZ_BIN_DIR:-tests/fuzz}
pass=0
fail=0
for h in s3_xml sigv4 fuse virtq vhost; do
	dirs="$srcdir/tests/fuzz/corpus/$h"
	[ -d "$srcdir/tests/fuzz/regressions/$h" ] &&
	    dirs="$dirs $srcdir/tests/fuzz/regressions/$h"
	# shellcheck disable=SC2086
	if "$bin/replay_$h" $dirs; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: replay of $h"
	fi
done
echo "fuzz replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
