#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfs on S3: the semantics suite (tests/unit/check_objfs on s3:// only),
# the POSIX rules through the daemon (tests/unit/check_posix, likewise) and
# the big transfers (tests/e2e/check_s3_big), what operations cost in
# requests (tests/e2e/check_s3_requests), against each S3 server of
# tests/lib/s3server.sh (a private s3rver and a private Ceph RGW).
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
work=$(mktemp -d /tmp/objfsd-s3.XXXXXX)
trap 's3server_stop; rm -rf "$work"' EXIT
kinds=$(s3server_kinds)
[ -n "$kinds" ] || { echo "SKIP: no S3 server installed"; exit 77; }
export OBJFSD_TEST_S3_BUCKET=objfsd-test CK_DEFAULT_TIMEOUT=600
# The daemon logs its request counters on SIGUSR1 (sent to the outer
# process of the sandbox, which forwards it) and keeps serving.
usr1_report() {
	local log=$work/usr1-$1.log d
	"${OBJFSD:-src/objfsd}" --socket-path="$work/usr1.sock" \
	    --store=s3://objfsd-test/usr1 --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" \
	    --cache-dir="$work" 2>"$log" &
	d=$!
	for _ in $(seq 200); do grep -q serving "$log" && break; sleep 0.05; done
	kill -USR1 "$d"
	for _ in $(seq 100); do grep -q "s3 requests: ListObjectsV2" "$log" && break; sleep 0.05; done
	kill -TERM "$d"
	wait "$d" || { echo "FAIL: objfsd did not exit cleanly after SIGUSR1"; cat "$log"; return 1; }
	grep -q "s3 requests: [0-9]* in all" "$log" &&
	    grep -q "s3 requests: ListObjectsV2 1 (ok 1)" "$log" ||
	    { echo "FAIL: no request counters on SIGUSR1"; cat "$log"; return 1; }
}

status=0
for kind in $kinds; do
	echo "=== on $kind"
	s3server_start "$kind" "$work/$kind" objfsd-test || { status=1; continue; }
	OBJFSD_TEST_S3_ONLY=1 "${CHECK_OBJFS:-tests/unit/check_objfs}" || status=1
	OBJFSD_TEST_S3_ONLY=1 "${CHECK_POSIX:-tests/unit/check_posix}" || status=1
	"${CHECK_S3_BIG:-tests/e2e/check_s3_big}" || status=1
	"${CHECK_S3_REQUESTS:-tests/e2e/check_s3_requests}" || status=1
	usr1_report "$kind" || status=1
	s3server_stop
done
exit $status
