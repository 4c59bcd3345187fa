# SPDX-License-Identifier: Apache-2.0
# The S3 servers the tests run against, behind one interface (sourced):
# s3rver (a mock: any signature passes) and Ceph RGW (a real S3 that
# checks them).  A third is one more case in each function.
#
#   for kind in $(s3server_kinds); do
#       s3server_start "$kind" DIR BUCKET... || ...
#       ... OBJFSD_TEST_S3_ENDPOINT, AWS_* are set ...
#       s3server_stop
#   done
#
# OBJFSD_TEST_S3_SERVERS picks them (default "s3rver rgw"); a server
# whose packages are missing is left out with a note on stderr.
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3rver.sh"
. "$srcdir/tests/lib/rgw.sh"

s3server_present() {
	case $1 in
	s3rver) s3rver_find >/dev/null && command -v node >/dev/null ;;
	rgw) rgw_present ;;
	*) return 1 ;;
	esac
}

s3server_kinds() {
	local k
	for k in ${OBJFSD_TEST_S3_SERVERS:-s3rver rgw}; do
		if s3server_present "$k"; then
			echo "$k"
		else
			echo "NOTE: S3 server $k not installed: left out" >&2
		fi
	done
}

# s3server_start KIND DIR BUCKET...
s3server_start() {
	local kind=$1
	shift
	S3_KIND=$kind
	case $kind in
	s3rver) s3rver_start "$@" ;;
	rgw) rgw_start "$@" ;;
	*) return 1 ;;
	esac
}

s3server_stop() {
	case ${S3_KIND:-} in
	s3rver) s3rver_stop ;;
	rgw) rgw_stop ;;
	esac
	S3_KIND=
}

# s3server_each SCRIPT: called at the top of a test script, runs SCRIPT
# once per server with S3_SERVER set and exits with the worst status
# (77 only if every run skipped); with S3_SERVER set, returns at once.
s3server_each() {
	local kinds status=0 st
	[ -n "${S3_SERVER:-}" ] && return 0
	kinds=$(s3server_kinds)
	[ -n "$kinds" ] || { echo "SKIP: no S3 server installed"; exit 77; }
	for S3_SERVER in $kinds; do
		echo "=== on $S3_SERVER"
		S3_SERVER=$S3_SERVER bash "$1"
		st=$?
		[ "$st" -eq 0 ] || [ "$st" -eq 77 ] || status=1
		[ "$st" -eq 77 ] && [ "$status" -eq 0 ] && status=77
	done
	exit $status
}
