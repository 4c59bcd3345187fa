#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfs on S3: the semantics suite (tests/unit/check_objfs on s3:// only) and
# the big transfers (tests/e2e/check_s3_big), against a private s3rver.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3rver.sh"
work=$(mktemp -d /tmp/objfsd-s3.XXXXXX)
trap 's3rver_stop; rm -rf "$work"' EXIT
s3rver_find >/dev/null && command -v node >/dev/null || { echo "SKIP: s3rver or node not installed"; exit 77; }
s3rver_start "$work" objfsd-test || exit 1
export OBJFSD_TEST_S3_BUCKET=objfsd-test CK_DEFAULT_TIMEOUT=600
status=0
OBJFSD_TEST_S3_ONLY=1 "${CHECK_OBJFS:-tests/unit/check_objfs}" || status=1
"${CHECK_S3_BIG:-tests/e2e/check_s3_big}" || status=1
exit $status
