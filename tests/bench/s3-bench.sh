#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# S3 store against raw curl, on the same s3rver, in one run.
#
# Sequential write and read of a 256 MiB file through objfsd (the FUSE
# load generator over vhost-user: WRITEs into the stage, then the upload at
# close, in parts by default and in one PUT with --s3-upload-cutoff;
# READs through the read-ahead) against
# `curl -T` and `curl -o /dev/null` of an object of the same size, signed
# the same way (--aws-sigv4).  Prints MB/s and objfsd/curl ratios.
#
# Then a QEMU guest writes a 1 GiB file with dd through objfsd on the same
# server, and the peak resident memory of objfsd is sampled meanwhile:
# RssAnon (its own heap, stacks and buffers) and VmRSS (which also counts
# the guest memory pages it has touched, mapped shared from QEMU).
#
# Environment: ROUNDS (3), SIZE_MIB (256), GUEST_MIB (1024, 0 to skip),
# OBJFSD, LOADGEN, S3RVER.
set -u
. "$(dirname "$0")/bench-env.sh"
ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-256}
GUEST_MIB=${GUEST_MIB:-1024}
. "$srcdir/tests/lib/s3rver.sh"
. "$srcdir/tests/lib/guest.sh"

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-s3bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	s3rver_stop
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
s3rver_start "$work" bench || { echo "s3 bench: no s3rver (npm install s3rver@3.7.1)"; exit 77; }
url=$OBJFSD_TEST_S3_ENDPOINT/bench
sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
head -c $((SIZE_MIB << 20)) /dev/urandom > "$work/blob"

now() { date +%s.%N; }
mbps() { awk -v b=$((SIZE_MIB << 20)) -v t0="$1" -v t1="$2" 'BEGIN { printf "%.1f", b / (t1 - t0) / 1e6 }'; }

start_objfsd() {
	rm -f "$work/sock"
	"$OBJFSD" --socket-path="$work/sock" --store=s3://bench/fs \
	    --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" --cache-dir="$work" \
	    --log-level=warn "$@" 2>>"$work/objfsd.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/sock" ] && return 0; sleep 0.05; done
	echo "s3 bench: objfsd did not start"; cat "$work/objfsd.log"; exit 1
}

stop_objfsd() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# objfsd: the object "data" is the read source, the write goes to a new one.
curl -sf "${sign[@]}" -T "$work/blob" "$url/fs/data" || { echo "s3 bench: PUT failed"; exit 1; }
: > "$work/results"
for r in $(seq "$ROUNDS"); do
	t0=$(now)
	curl -sf "${sign[@]}" -T "$work/blob" "$url/raw" || exit 1
	t1=$(now)
	echo "curl write $(mbps "$t0" "$t1")" >> "$work/results"
	t0=$(now)
	curl -sf "${sign[@]}" -o /dev/null "$url/raw" || exit 1
	t1=$(now)
	echo "curl read $(mbps "$t0" "$t1")" >> "$work/results"

	start_objfsd
	"$LOADGEN" --socket="$work/sock" --depth=8 --once --size="$SIZE_MIB" \
	    seqwrite seqread > "$work/out" || { cat "$work/objfsd.log"; exit 1; }
	stop_objfsd
	awk '{ split($4, m, "="); print "objfsd", ($1 == "seqwrite" ? "write" : "read"), m[2] }' \
	    "$work/out" >> "$work/results"
	# The same file in one PUT instead of parts.
	start_objfsd --s3-upload-cutoff=$((SIZE_MIB + 1))M
	"$LOADGEN" --socket="$work/sock" --depth=8 --once --size="$SIZE_MIB" \
	    seqwrite > "$work/out" || { cat "$work/objfsd.log"; exit 1; }
	stop_objfsd
	awk '{ split($4, m, "="); print "objfsd", "write-1-put", m[2] }' \
	    "$work/out" >> "$work/results"
done

echo "S3 store against raw curl on s3rver, ${SIZE_MIB} MiB, median of $ROUNDS:"
awk -f "$here/median.awk" -f /dev/fd/3 "$work/results" 3<<'AWK'
{ val[$1, $2] = val[$1, $2] " " $3 }
END {
	printf "%-12s %12s %12s %8s\n", "", "objfsd", "curl", "ratio"
	split("write write-1-put read", ops, " ")
	for (i = 1; i <= 3; i++) {
		a = median(val["objfsd", ops[i]])
		b = median(val["curl", ops[i] == "read" ? "read" : "write"])
		r = b > 0 ? sprintf("%.2f", a / b) : "-"
		printf "%-12s %8.1f MB/s %7.1f MB/s %8s\n", ops[i], a, b, r
	}
	print "(write: parts of 8 MiB, 4 at a time, the default above 64 MiB;"
	print " write-1-put: --s3-upload-cutoff above the size, one PUT)"
}
AWK

[ "$GUEST_MIB" -gt 0 ] || exit 0
if ! guest_tools_present || ! guest_find_kernel; then
	echo "(no guest run: QEMU, busybox-static or a guest kernel is missing)"
	exit 0
fi
cat > "$work/guest.sh" <<GUEST
mount -t virtiofs objfs /mnt || { echo GUEST-FAILED; exit 1; }
dd if=/dev/zero of=/mnt/big bs=1M count=$GUEST_MIB 2>/dev/null || echo GUEST-FAILED
sync
[ "\$(stat -c %s /mnt/big)" = $((GUEST_MIB << 20)) ] || echo GUEST-FAILED
echo GUEST-DONE
GUEST
guest_build_initrd "$work/initrd.gz" "$work/guest.sh" || exit 1
start_objfsd
(
	anon=0 rss=0
	while kill -0 "$pid" 2>/dev/null; do
		a=$(awk '/^RssAnon/ { print $2 }' /proc/$pid/status 2>/dev/null)
		v=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status 2>/dev/null)
		[ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
		[ -n "$v" ] && [ "$v" -gt "$rss" ] && rss=$v
		echo "$anon $rss" > "$work/peak"
		sleep 0.2
	done
) &
sampler=$!
t0=$(now)
guest_run "$work/sock" "$work/initrd.gz" "$work/console" 1800
t1=$(now)
stop_objfsd
wait "$sampler" 2>/dev/null
if ! grep -q GUEST-DONE "$work/console" || grep -q GUEST-FAILED "$work/console"; then
	echo "the guest's 1 GiB write failed:"; tr -d '\r' < "$work/console" | tail -20
	cat "$work/objfsd.log"
	exit 1
fi
size=$(curl -sfI "${sign[@]}" "$url/fs/big" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')
read -r anon rss < "$work/peak"
echo
echo "a guest writes $GUEST_MIB MiB with dd (boot included: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s);" \
    "the object has $size bytes"
echo "objfsd peak RssAnon $((anon / 1024)) MiB, peak VmRSS $((rss / 1024)) MiB" \
    "(VmRSS includes guest memory pages read from the shared mapping)"
