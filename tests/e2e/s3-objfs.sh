#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfs on S3: the semantics suite (tests/unit/check_objfs on s3:// only) and
# the big transfers (tests/e2e/check_s3_big), against each S3 server of
# tests/lib/s3server.sh (a private s3rver and a private Ceph RGW).
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
work=$(mktemp -d /tmp/objfsd-s3.XXXXXX)
trap 's3server_stop; rm -rf "$work"' EXIT
kinds=$(s3server_kinds)
[ -n "$kinds" ] || { echo "SKIP: no S3 server installed"; exit 77; }
export OBJFSD_TEST_S3_BUCKET=objfsd-test CK_DEFAULT_TIMEOUT=600
status=0
for kind in $kinds; do
	echo "=== on $kind"
	s3server_start "$kind" "$work/$kind" objfsd-test || { status=1; continue; }
	OBJFSD_TEST_S3_ONLY=1 "${CHECK_OBJFS:-tests/unit/check_objfs}" || status=1
	"${CHECK_S3_BIG:-tests/e2e/check_s3_big}" || status=1
	s3server_stop
done
exit $status
