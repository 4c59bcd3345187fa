#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# S3 behind a misbehaving proxy (503 SlowDown, connection resets, stalls,
# responses cut short).  Every file either arrives whole or its writer
# gets EIO at close; no read returns wrong bytes; the objfs suite still
# passes with a milder proxy in the way; and a read-ahead chunk that
# failed once is fetched again.  On each S3 server of s3server.sh; skip
# (77) without any.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
cli=${OBJFS_CLI:-tests/lib/objfs_cli}
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
s3server_each "$0"

work=$(mktemp -d /tmp/objfsd-faults.XXXXXX)
proxies=
stop_proxies() {
	for p in $proxies; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	proxies=
}
cleanup() {
	stop_proxies
	s3server_stop
	rm -rf "$work"
}
trap cleanup EXIT
s3server_start "$S3_SERVER" "$work" faults || exit 1
# Stages and the bytes of failed uploads stay in here, not in /var/tmp.
export OBJFSD_TEST_CACHE_DIR=$work/cache
mkdir -p "$OBJFSD_TEST_CACHE_DIR"
direct=$OBJFSD_TEST_S3_ENDPOINT

# start_proxy NAME SEED SLOWDOWN RESET STALL TRUNCATE [TRICKLE [FAIL_RANGE]]:
# sets $proxy_url
start_proxy() {
	python3 "$srcdir/tests/lib/faultproxy.py" "$S3_PORT" "$work/$1.port" "$2" \
	    "$3" "$4" "$5" "$6" "${7:-0}" ${8:+"$8"} 2> "$work/$1.log" &
	proxies="$proxies $!"
	for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.1; done
	proxy_url="http://127.0.0.1:$(cat "$work/$1.port")"
}

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# put_and_check NAME: one file through the proxy, then checks through
# both doors.  Counts written/refused.
put_and_check() {
	local i=$1 size st stored=0 saved
	size=$(( $(od -An -N4 -tu4 /dev/urandom) % (3 << 20) ))
	[ $((i % 6)) -eq 0 ] && size=$(( (9 << 20) + size ))	# multipart
	head -c "$size" /dev/urandom > "$work/f$i"
	OBJFSD_TEST_S3_ENDPOINT=$proxy_url "$cli" $url put "f$i" 644 0 0 1600000000 \
	    < "$work/f$i" 2>> "$work/cli.log"
	st=$?
	# 0: stored.  3: EIO from close.  1: an earlier call failed (open,
	# lookup) and nothing was written.  All fine, if the bytes agree.
	case $st in
	0) written=$((written + 1)) ;;
	1|3) refused=$((refused + 1)) ;;
	*) bad "f$i: put exited $st" ;;
	esac
	# Whatever is stored is all of it, never a part: after a failed
	# close, the object is still what it was before (empty since the
	# create, or not there at all).
	if OBJFSD_TEST_S3_ENDPOINT=$direct "$cli" $url cat "f$i" > "$work/back" 2>/dev/null; then
		if cmp -s "$work/back" "$work/f$i"; then
			stored=1
			ok
		elif [ $st -ne 0 ] && [ ! -s "$work/back" ]; then
			ok
		else
			bad "f$i: stored bytes differ (put exited $st, $(stat -c %s "$work/back") of $(stat -c %s "$work/f$i") bytes)"
		fi
	elif [ $st -eq 0 ]; then
		bad "f$i: put succeeded but the object is missing"
	else
		ok
	fi
	# EIO at close, and not stored: the bytes wait in the cache directory.
	if [ $st -eq 3 ] && [ $stored -eq 0 ]; then
		saved=$(ls "$OBJFSD_TEST_CACHE_DIR"/lost+found/* 2>/dev/null | head -n 1)
		if [ -z "$saved" ]; then
			bad "f$i: EIO at close, and the bytes were neither stored nor saved: $(tail -n 4 "$work/cli.log")"
		else
			cmp -s "$saved" "$work/f$i" && { ok; kept=$((kept + 1)); } ||
			    bad "f$i: the saved bytes differ"
		fi
	fi
	rm -f "$OBJFSD_TEST_CACHE_DIR"/lost+found/*
	# Reads through the weather: right bytes or an error, never wrong ones.
	if OBJFSD_TEST_S3_ENDPOINT=$proxy_url "$cli" $url cat "f$i" > "$work/back" 2>"$work/cat.err"; then
		cmp "$work/back" "$work/f$i" > "$work/cmp" 2>&1 && ok ||
		    bad "f$i: read through faults differs: $(cat "$work/cmp") ($(stat -c %s "$work/back") of $(stat -c %s "$work/f$i") bytes) $(tail -n 3 "$work/cat.err")"
	fi
}

# puts WHAT FIRST LAST: put_and_check files FIRST..LAST; sets written,
# refused and kept.
puts() {
	written=0
	refused=0
	kept=0
	for i in $(seq "$2" "$3"); do put_and_check "$i"; done
	echo "$1: $written files stored, $refused refused ($kept kept in the cache directory)"
}

# Heavy weather: about a third of all requests go wrong somehow; with
# retries, the uploads get through.
start_proxy heavy 7 0.15 0.08 0.03 0.06
export OBJFSD_TEST_S3_TIMEOUT=2 OBJFSD_TEST_S3_RETRIES=5
url=s3://faults/w
puts "heavy faults, retrying" 1 24
[ "$written" -gt 12 ] && ok || bad "too few uploads survived ($written of 24)"

# No retries at all: failures reach the application as EIO at close, and
# still nothing half-written is left behind.
export OBJFSD_TEST_S3_RETRIES=0
puts "heavy faults, no retries" 101 118
[ "$refused" -gt 0 ] && ok || bad "no failure ever reached the writer"
stop_proxies
echo "faultproxy (heavy): $(tail -n 1 "$work/heavy.log")"

# Mild weather: the objfs semantics suite must still pass, on retries.
start_proxy mild 11 0.02 0.01 0.002 0.01
if OBJFSD_TEST_S3_ENDPOINT=$proxy_url OBJFSD_TEST_S3_RETRIES=8 OBJFSD_TEST_S3_ONLY=1 \
    OBJFSD_TEST_S3_BUCKET=faults CK_DEFAULT_TIMEOUT=900 "${CHECK_OBJFS:-tests/unit/check_objfs}"; then
	ok
else
	bad "objfs suite behind the mild proxy"
fi
stop_proxies
echo "faultproxy (mild): $(tail -n 1 "$work/mild.log")"

# A server that trickles every answer out at two bytes a second: each
# attempt fails after --s3-timeout (a total deadline for small requests,
# a floor of 1 KiB/s for transfers), and the caller hears of it.  Before,
# the body at 2 bytes a second kept the request alive for minutes.
start_proxy trickle 13 0 0 0 0 1
t0=$(date +%s)
OBJFSD_TEST_S3_ENDPOINT=$proxy_url OBJFSD_TEST_S3_TIMEOUT=2 OBJFSD_TEST_S3_RETRIES=1 \
    timeout 60 "$cli" $url stat f1 2>> "$work/cli.log"
st=$?
took=$(( $(date +%s) - t0 ))
[ "$st" -ne 0 ] && [ "$st" -ne 124 ] && [ "$took" -lt 20 ] && ok ||
    bad "a trickling server held the request ${took} s (exit $st)"
stop_proxies

# One read-ahead chunk whose fetch fails (a 500, no retries): the read
# waiting for it goes directly, the next read of its range fetches the
# chunk again rather than remembering the failure (which would send every
# read of those 8 MiB straight to S3, 64 KiB at a time), and a second pass
# through the same handle is served too.  Every byte is compared.
chunk0=bytes=0-8388607
head -c $(( (20 << 20) + 12345 )) /dev/urandom > "$work/ra"
OBJFSD_TEST_S3_ENDPOINT=$direct "$cli" $url put ra 644 0 0 1600000000 \
    < "$work/ra" 2>> "$work/cli.log" || bad "could not store the read-ahead file"
start_proxy chunk 17 0 0 0 0 0 "$chunk0"
OBJFSD_TEST_S3_ENDPOINT=$proxy_url OBJFSD_TEST_S3_RETRIES=0 \
    "$cli" $url reread ra > "$work/back" 2> "$work/reread.err"
st=$?
stop_proxies
cat "$work/ra" "$work/ra" | cmp -s - "$work/back" && [ $st -eq 0 ] && ok ||
    bad "reads past a failed chunk: exit $st, $(stat -c %s "$work/back") bytes: $(tail -n 3 "$work/reread.err")"
failed=$(grep -c "^range $chunk0: 500" "$work/chunk.log")
again=$(sed -n "/^range $chunk0: 500/,\$p" "$work/chunk.log" | grep -c "^range $chunk0: pass")
small=$(awk -F'[=: -]+' '/^range bytes=/ && $4 - $3 + 1 != 8388608' "$work/chunk.log" | wc -l)
[ "$failed" -eq 1 ] && [ "$again" -ge 1 ] && [ "$small" -le 4 ] && ok ||
    bad "failed chunk: $failed failures, fetched again $again times, $small direct reads, $(grep -c '^range' "$work/chunk.log") ranged GETs in all"
echo "failed read-ahead chunk: fetched again $again times, $small direct reads"

echo "s3 faults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
