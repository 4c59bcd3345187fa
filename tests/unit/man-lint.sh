#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manual page is clean by mandoc's lint.  Skip (77) without mandoc.
srcdir=${srcdir:-.}
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc not installed"; exit 77; }
out=$(mandoc -T lint -W warning "$srcdir/man/objfsd.8" 2>&1)
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "PASS: objfsd.8 is lint-clean"
