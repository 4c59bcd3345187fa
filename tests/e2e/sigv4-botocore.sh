#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# objfsd's SigV4 signer against botocore's on a set of S3 requests.
# Skip (77) without Debian's python3 and python3-botocore.
srcdir=${srcdir:-.}
py=/usr/bin/python3
[ -x "$py" ] || { echo "SKIP: no $py"; exit 77; }
SIGV4_TOOL=${SIGV4_TOOL:-tests/lib/sigv4_tool} exec "$py" "$srcdir/tests/e2e/sigv4-botocore.py"
