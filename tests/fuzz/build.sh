#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make fuzz: each harness in tests/fuzz/ with libFuzzer, AddressSanitizer
# and UBSan, against objfsd's own sources (not the library the ordinary
# build made: every object must carry the fuzzer's instrumentation).
#
#   build.sh OUTDIR SRCDIR "HARNESSES" SOURCES...
# Environment: FUZZ_CC (clang), FUZZ_CPPFLAGS, FUZZ_LIBS.
set -eu
out=$1 srcdir=$2 harnesses=$3
shift 3
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || { echo "fuzz: $cc not found" >&2; exit 1; }
sources=()
for s in "$@"; do
	case $s in *.c) sources+=("$srcdir/$s") ;; esac
done
mkdir -p "$out"
for h in $harnesses; do
	echo "  FUZZ     $out/fuzz_$h"
	# shellcheck disable=SC2086 # flag lists are words
	"$cc" -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -pthread $FUZZ_CPPFLAGS \
	    -o "$out/fuzz_$h" "$srcdir/tests/fuzz/fuzz_$h.c" "${sources[@]}" \
	    $FUZZ_LIBS
done
