#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Uploads while the guest writes, on each S3 server of s3server.sh
# (s3rver, Ceph RGW), objfsd in its default sandbox, fuse_cli as the
# guest:
#   - 1 GiB (OBJFSD_STREAM_MIB) written forwards: at the last WRITE reply
#     the cache directory holds no more than the window (--s3-parallel x
#     --s3-part-size) and one WRITE; sampled all along, never more than
#     the bound max(cutoff, (parallel + 2) x part); the object reads back
#     as written; close() and its time are printed;
#   - kill -9 with 200 MiB written and not closed, part of it uploaded in
#     parts: the next start on the same cache directory finishes that
#     upload from its parts and the journal; the object is what was
#     written, nothing is in lost+found, and the unfinished upload of
#     another client in the same bucket is still there;
#   - behind a proxy answering 503 and resetting connections while parts
#     go up: each file's close() is 0 and the object whole, or EIO and
#     the object not cut short (as created: empty).
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
s3server_each "$0"
. "$srcdir/tests/lib/objfsd_run.sh"
objfsd_test_init stream
mib=${OBJFSD_STREAM_MIB:-1024}
s3server_start "$S3_SERVER" "$work/s3" objfsd-test || exit 1
ep=$OBJFSD_TEST_S3_ENDPOINT
sign=(--aws-sigv4 "aws:amz:us-east-1:s3"
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")

cache_bytes() { du -s --block-size=1 "$work/$1-cache" | cut -f1; }

# sample NAME: the largest cache size seen, in $work/NAME.most, until
# $work/NAME.stop exists.
sample() {
	local most=0 n
	while [ ! -e "$work/$1.stop" ]; do
		n=$(cache_bytes "$1" 2>/dev/null)
		[ "${n:-0}" -gt "$most" ] && most=$n && echo "$most" > "$work/$1.most"
		sleep 0.1
	done
}

# Unfinished multipart uploads in the bucket.
uploads() {
	curl -s "${sign[@]}" "$ep/objfsd-test?uploads=" | grep -o '<UploadId>' | wc -l
}

# Can the server list an upload's parts (ListParts)?  s3rver cannot.
lists_parts() {
	local id
	id=$(curl -s "${sign[@]}" -X POST "$ep/objfsd-test/probe?uploads=" |
	    sed -n 's/.*<UploadId>\(.*\)<\/UploadId>.*/\1/p')
	curl -s "${sign[@]}" "$ep/objfsd-test/probe?uploadId=$id" | grep -q '<ListPartsResult'
	local st=$?
	curl -s "${sign[@]}" -X DELETE "$ep/objfsd-test/probe?uploadId=$id" > /dev/null
	return $st
}

# stream NAME SOCKNAME KEY MIB: fuse_cli writes; "written MS" read, then
# $after runs, then the close; sets $written_ms, $closed_ms, $st.
stream() {
	local out=$work/$1.cli
	rm -f "$work/$1.go"
	mkfifo "$work/$1.go"
	"$cli" "$work/$2.sock" stream "$3" "$4" < "$work/$1.go" > "$out" 2>&1 &
	local c=$!
	exec 7>"$work/$1.go"
	for _ in $(seq 6000); do
		grep -q "^written" "$out" && break
		kill -0 "$c" 2>/dev/null || break
		sleep 0.05
	done
	written_ms=$(awk '/^written/ { print $2 }' "$out")
	eval "$after"
	echo >&7
	exec 7>&-
	wait "$c"
	st=$?
	closed_ms=$(awk '/^closed/ { print $2 }' "$out")
}

gen() { "$cli" - gen "$1"; }

big_test() {
	local part=$((8 << 20)) parallel=4 cutoff=$((64 << 20)) at_last most
	objfsd_start a s3://objfsd-test/s || return 1
	rm -f "$work/a.stop"
	sample a &
	local sampler=$!
	after='at_last=$(cache_bytes a)'
	stream big a big "$mib"
	touch "$work/a.stop"
	wait "$sampler"
	most=$(cat "$work/a.most")
	[ "$st" -eq 0 ] && ok || bad "1 GiB: fuse_cli exited $st: $(cat "$work/big.cli")"
	echo "$S3_SERVER: $mib MiB written in $written_ms ms, closed in $closed_ms ms; cache: $((at_last >> 20)) MiB at the last write, $((most >> 20)) MiB at most"
	[ "$at_last" -le $((parallel * part + (2 << 20))) ] && ok ||
	    bad "$at_last bytes staged at the last WRITE reply (window $((parallel * part)))"
	[ "$most" -le $((cutoff + (2 << 20))) ] && ok ||
	    bad "the cache directory held $most bytes (bound $cutoff)"
	if [ "$("$cli" "$work/a.sock" cat big | md5sum)" = "$(gen "$mib" | md5sum)" ]; then
		ok
	else
		bad "the object does not read back as written"
	fi
	objfsd_stop a
}

crash_test() {
	local foreign n
	if ! lists_parts; then
		echo "NOTE: $S3_SERVER cannot list an upload's parts: finishing one after a crash is not tested on it"
		return 0
	fi
	# Another client's upload in the same bucket: none of objfsd's.
	curl -s "${sign[@]}" -X POST "$ep/objfsd-test/foreign?uploads=" > /dev/null
	foreign=$(uploads)
	[ "$foreign" -ge 1 ] && ok || bad "the foreign upload was not made"
	objfsd_start b s3://objfsd-test/c || return 1
	after='objfsd_kill b'
	stream crash b crashed 200
	n=$(find "$work/b-cache/objfsd-journal" -name '*.rec' | wc -l)
	[ "$n" -eq 1 ] && ok || bad "$n records after the kill"
	grep -q "^upload " "$work"/b-cache/objfsd-journal/*/*.rec && ok ||
	    bad "the record names no upload: $(cat "$work"/b-cache/objfsd-journal/*/*.rec)"
	objfsd_start b s3://objfsd-test/c || return 1
	grep -q "uploaded now" "$work/b.log" && ok ||
	    bad "not recovered: $(grep -i -e staged -e journal -e upload "$work/b.log" | tail -n 5)"
	if [ "$("$cli" "$work/b.sock" cat crashed | md5sum)" = "$(gen 200 | md5sum)" ]; then
		ok
	else
		bad "the recovered object is not what was written"
	fi
	n=$(find "$work/b-cache/lost+found" -type f 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] && ok || bad "$n files in lost+found"
	n=$(uploads)
	[ "$n" -eq "$foreign" ] && ok || bad "$n unfinished uploads, not $foreign (the foreign one only)"
	objfsd_stop b
}

# Faults while the parts go up: whole, or EIO and not short.
faults_test() {
	local i size proxy
	python3 "$srcdir/tests/lib/faultproxy.py" "$S3_PORT" "$work/proxy.port" 5 \
	    0.15 0.08 0 0 2> "$work/proxy.log" &
	proxy=$!
	pids="$pids $proxy"
	for _ in $(seq 100); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
	ep=http://127.0.0.1:$(cat "$work/proxy.port")
	objfsd_start f s3://objfsd-test/f --s3-upload-cutoff=8M \
	    --s3-part-size=5M --s3-retries=4 --s3-timeout=3 || return 1
	ep=$OBJFSD_TEST_S3_ENDPOINT
	after=:
	for i in 1 2 3 4; do
		stream "f$i" f "f$i" 48
		size=$(curl -s "${sign[@]}" -I "$ep/objfsd-test/f/f$i" |
		    awk 'tolower($1) == "content-length:" { print $2 + 0 }')
		if [ "$st" -eq 0 ]; then
			[ "$(curl -s "${sign[@]}" "$ep/objfsd-test/f/f$i" | md5sum)" = "$(gen 48 | md5sum)" ] &&
			    ok || bad "f$i: closed, but the object differs ($size bytes)"
		elif grep -q "Input/output error" "$work/f$i.cli"; then
			[ "${size:-0}" -eq 0 ] && ok || bad "f$i: EIO, and the object has $size bytes"
		else
			bad "f$i: fuse_cli exited $st: $(cat "$work/f$i.cli")"
		fi
	done
	objfsd_stop f
	kill "$proxy"
	wait "$proxy" 2>/dev/null
	echo "faultproxy: $(tail -n 1 "$work/proxy.log")"
}

big_test
crash_test
faults_test
echo "s3-stream on $S3_SERVER: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { tail -n 20 "$work"/*.log; exit 1; }
exit 0
