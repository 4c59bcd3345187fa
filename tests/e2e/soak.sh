#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Soak: loadgen's mixed workload (every opcode, depth 64, two request
# queues, a bounded working set) for 5 minutes against objfsd on fs: and,
# at the same time, on s3: (a private s3rver).  Fails on any request that
# answers an error, on objfsd exiting badly, and when the serving
# process's resident memory at the end is more than 5% above what it was
# at 60 s.  OBJFSD_SOAK_SECONDS shortens it (the first sample is then
# taken at a fifth of the run).  Not part of make check: .ci/run calls it
# once per CI run, after the plain build's suite.
set -u
srcdir=${srcdir:-.}
OBJFSD=${OBJFSD:-src/objfsd}
LOADGEN=${LOADGEN:-tests/bench/loadgen}
secs=${OBJFSD_SOAK_SECONDS:-300}
at=$(( secs / 5 > 0 ? secs / 5 : 1 ))
. "$srcdir/tests/lib/s3rver.sh"
work=$(mktemp -d /tmp/objfsd-soak.XXXXXX)
pids=
cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	s3rver_stop
	rm -rf "$work"
}
trap cleanup EXIT

# post_mortem PID DIR: what a failed run's daemon is doing, into its
# log: the request counters (SIGUSR1) and every thread's stack, of the
# daemon and of the sandboxed process that serves.
post_mortem() {
	local pid=$1 dir=$2 p
	kill -0 "$pid" 2>/dev/null || return 0
	kill -USR1 "$pid" 2>/dev/null
	if [ -n "${OBJFSD_TEST_S3_ENDPOINT:-}" ]; then
		echo "=== the S3 server answers a listing: $(curl -s -m 10 \
		    -o /dev/null -w '%{http_code} in %{time_total} s' \
		    "$OBJFSD_TEST_S3_ENDPOINT/soak?list-type=2&max-keys=1")" >>"$dir/log"
	fi
	sleep 1
	command -v gdb >/dev/null || { echo "(no gdb: no stacks)" >>"$dir/log"; return 0; }
	for p in $pid $(pgrep -P "$pid"); do
		echo "=== stacks of $p" >>"$dir/log"
		timeout 60 gdb -p "$p" -batch -ex 'thread apply all bt' \
		    </dev/null >>"$dir/log" 2>&1
	done
}

# soak NAME STORE-OPTIONS...: one daemon, one loadgen run; 0 when clean.
soak() {
	local name=$1 dir=$work/$1 pid st=0
	shift
	mkdir -p "$dir"
	"$OBJFSD" --socket-path="$dir/sock" --cache-dir="$dir" \
	    --log-level=warn --request-queues=2 --thread-pool-size=4 "$@" \
	    2>"$dir/log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.05; done
	"$LOADGEN" --socket="$dir/sock" --depth=64 --queues=2 \
	    --seconds="$secs" --rss-pid=$pid --rss-at=$at mixed \
	    >"$dir/out" 2>"$dir/err" || { st=1; post_mortem "$pid" "$dir"; }
	kill "$pid" 2>/dev/null
	wait "$pid" || { echo "$name: objfsd exit status $?"; st=1; }
	sed "s/^/$name: /" "$dir/out" "$dir/err"
	grep -v "^$" "$dir/log" | sed "s/^/$name: objfsd: /"
	[ $st -eq 0 ] || return 1
	# VmRSS at the end against VmRSS at the first sample.
	awk -v name="$name" -v at="$at" -v secs="$secs" '{
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^rss_kb=/) { split(substr($i, 8), r, ","); end = r[2] }
			if ($i ~ /^rss_at_kb=/) early = substr($i, 11)
		}
		printf "%s: RSS %d KiB at %d s, %d KiB at %d s\n", name, early, at, end, secs
		if (early <= 0 || end <= 0) { print name ": no RSS samples"; exit 1 }
		if (ENVIRON["OBJFSD_SANITIZERS"] != "") { print name ": RSS check skipped under sanitizers"; exit 0 }
		limit = early * 0.05
		if (end > early + limit) { print name ": RSS grew by more than 5%"; exit 1 }
	}' "$dir/out"
}

status=0
mkdir -p "$work/fs/data"
soak fs --store="fs:$work/fs/data" >"$work/fs.report" 2>&1 &
pids="$pids $!"
fspid=$!
if s3rver_start "$work/s3rver" soak; then
	# info: a retried S3 request is logged, with why.
	soak s3 --store=s3://soak/fs --log-level=info \
	    --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" >"$work/s3.report" 2>&1 ||
	    status=1
	cat "$work/s3.report"
else
	echo "s3: no s3rver: that half skipped"
fi
wait "$fspid" || status=1
pids=
cat "$work/fs.report"
[ $status -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $status
