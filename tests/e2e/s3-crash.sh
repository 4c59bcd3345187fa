#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a guest wrote to s3: survives objfsd being killed, and two writers
# of one object do not silently overwrite each other, on each S3 server
# of tests/lib/s3server.sh (s3rver, Ceph RGW), objfsd in its default
# sandbox:
#   - kill -9: fuse_cli writes 100 files through objfsd (a third fsynced
#     and left open, a third closed, a third written and left open), the serving
#     process and its parent are killed with SIGKILL, objfsd starts again
#     on the same cache directory: every file is in the bucket with
#     exactly the bytes written (the same boot: the journal's bytes are
#     whole), nothing in lost+found, no journal left behind;
#   - conflicts: two objfsd on the same bucket, one file opened through
#     the first, replaced through the second, then written and closed
#     through the first: that close gets EIO, the bucket keeps the second
#     writer's bytes, the first's are in its lost+found; with
#     --s3-conflicts=overwrite the first wins.  A one-PUT file and a
#     multipart one.  Skipped on servers that ignore If-Match (s3rver).
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
s3server_each "$0"
. "$srcdir/tests/lib/objfsd_run.sh"
objfsd_test_init crash
ocli=${OBJFS_CLI:-tests/lib/objfs_cli}
s3server_start "$S3_SERVER" "$work/s3" objfsd-test || exit 1
ep=$OBJFSD_TEST_S3_ENDPOINT

start() {
	local name=$1
	shift
	objfsd_start "$name" s3://objfsd-test/files "$@"
}
stop() { objfsd_stop "$1"; }

# The bytes of an object, read by objfs itself on the store.
object() {
	OBJFSD_TEST_S3_ENDPOINT=$ep "$ocli" s3://objfsd-test/files cat "$1"
}

crash_test() {
	local i n mode holder want
	mkdir "$work/src"
	for i in $(seq 100 199); do
		case $((i % 3)) in
		0) mode=sync ;;
		1) mode=close ;;
		*) mode=open ;;
		esac
		head -c $(( (i * 7919) % 200000 + 1 )) /dev/urandom > \
		    "$work/src/$mode-$i"
	done
	start a || return 1
	mkfifo "$work/hold.in"
	"$cli" "$work/a.sock" hold "$work/src" < "$work/hold.in" \
	    > "$work/hold.out" 2>&1 &
	holder=$!
	pids="$pids $holder"
	exec 9>"$work/hold.in"
	for _ in $(seq 600); do
		grep -q held "$work/hold.out" && break
		kill -0 "$holder" 2>/dev/null || break
		sleep 0.1
	done
	grep -q held "$work/hold.out" || { bad "fuse_cli hold: $(cat "$work/hold.out")"; return 1; }
	objfsd_kill a
	exec 9>&-
	wait "$holder" 2>/dev/null
	start a || return 1
	n=$(grep -c "uploaded now" "$work/a.log")
	# Closed and fsynced files were in the bucket already; those left
	# open unsynced come back.
	want=$(ls "$work/src" | grep -c '^open-')
	[ "$n" -eq "$want" ] && ok || bad "recovery uploaded $n files, not $want: $(grep -i -e staged -e journal "$work/a.log" | head -n 5)"
	for f in "$work"/src/*; do
		if object "$(basename "$f")" > "$work/back" 2>/dev/null &&
		    cmp -s "$work/back" "$f"; then
			ok
		else
			bad "$(basename "$f"): not in the bucket as written ($(stat -c %s "$work/back") bytes of $(stat -c %s "$f"))"
		fi
	done
	n=$(find "$work/a-cache/lost+found" -type f 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] && ok || bad "$n files in lost+found"
	stop a
	n=$(find "$work/a-cache/objfsd-journal" -mindepth 1 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] && ok || bad "the journal is left: $(find "$work/a-cache/objfsd-journal")"
}

# Does the server refuse a PUT whose If-Match names another version?
honours_if_match() {
	local sign=(--aws-sigv4 "aws:amz:us-east-1:s3"
	    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
	    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
	: > "$work/empty"
	curl -s "${sign[@]}" -X PUT -T "$work/empty" -o /dev/null "$ep/objfsd-test/probe"
	[ "$(curl -s "${sign[@]}" -X PUT -T "$work/empty" -H "If-Match: bogus" \
	    -o /dev/null -w '%{http_code}' "$ep/objfsd-test/probe")" = 412 ]
}

# conflict NAME SIZE MODE: first writer a, second b; MODE detect|overwrite.
conflict() {
	local name=$1 size=$2 mode=$3 st
	head -c "$size" /dev/urandom > "$work/$name.first"
	head -c "$size" /dev/urandom > "$work/$name.second"
	rm -f "$work/put.in"
	mkfifo "$work/put.in"
	# a creates the file, then waits for its bytes on the fifo.
	"$cli" "$work/a.sock" put "$name" < "$work/put.in" > "$work/put.out" 2>&1 &
	local writer=$!
	exec 8>"$work/put.in"
	for _ in $(seq 100); do object "$name" >/dev/null 2>&1 && break; sleep 0.1; done
	"$cli" "$work/b.sock" put "$name" < "$work/$name.second" ||
	    bad "$name: the second writer failed"
	cat "$work/$name.first" >&8
	exec 8>&-
	wait "$writer"
	st=$?
	object "$name" > "$work/back"
	if [ "$mode" = detect ]; then
		[ $st -eq 3 ] && grep -q "Input/output error" "$work/put.out" && ok ||
		    bad "$name: the first writer's close got $st, not EIO: $(cat "$work/put.out")"
		cmp -s "$work/back" "$work/$name.second" && ok ||
		    bad "$name: the bucket does not hold the second writer's bytes"
		local kept
		kept=$(ls "$work/a-cache/lost+found/$name".* 2>/dev/null | head -n 1)
		[ -n "$kept" ] && cmp -s "$kept" "$work/$name.first" && ok ||
		    bad "$name: the first writer's bytes are not in lost+found: $(tail -n 3 "$work/a.log")"
	else
		[ $st -eq 0 ] && ok || bad "$name: overwrite: close got $st: $(cat "$work/put.out")"
		cmp -s "$work/back" "$work/$name.first" && ok ||
		    bad "$name: overwrite: the bucket does not hold the last writer's bytes"
	fi
}

conflict_test() {
	if ! honours_if_match; then
		echo "NOTE: $S3_SERVER ignores If-Match: conflicts are not tested on it"
		return 77
	fi
	local parts=(--s3-upload-cutoff=5M --s3-part-size=5M)
	start a "${parts[@]}" && start b || return 1
	conflict small 100000 detect
	conflict big $((12 << 20)) detect
	stop a
	start a --s3-conflicts=overwrite "${parts[@]}" || return 1
	conflict small2 100000 overwrite
	conflict big2 $((12 << 20)) overwrite
	stop a
	stop b
}

crash_test
conflict_test
skipped=$?
echo "s3-crash on $S3_SERVER: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { tail -n 20 "$work"/*.log; exit 1; }
[ "$skipped" -eq 77 ] && [ "$pass" -eq 0 ] && exit 77
exit 0
