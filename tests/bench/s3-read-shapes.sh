#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Which read-ahead shape reads an object fastest, on each S3 server of
# tests/lib/s3server.sh (s3rver, Ceph RGW), against curl's one GET of the
# same object in the same round: objfsd's default (8 MiB ranges,
# --s3-parallel of them in flight), one range at a time (the closest to
# one long GET), and 32 MiB ranges.  loadgen reads the object once,
# sequentially, 8 READs in flight, through a new objfsd each time.
# Prints MB/s, median (min-max) of ROUNDS, and the ratio to curl.
#
# Environment: ROUNDS (3), SIZE_MIB (1024), OBJFSD, LOADGEN, FUSE_CLI,
# BENCH_DIR (/var/tmp); S3_SERVER to run on one server only.
set -u
. "$(dirname "$0")/bench-env.sh"
ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
. "$srcdir/tests/lib/s3server.sh"
s3server_each "$0"

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-shapes.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	s3server_stop
	rm -rf "$work"
}
trap cleanup EXIT
RGW_MEMSTORE_MIB=$((SIZE_MIB + 1024)) s3server_start "$S3_SERVER" "$work/s3" bench || exit 1
url=$OBJFSD_TEST_S3_ENDPOINT/bench
sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
now() { date +%s.%N; }

"$FUSE_CLI" - gen "$SIZE_MIB" > "$work/blob"
curl -sf "${sign[@]}" -T "$work/blob" "$url/r/data" || { echo "read shapes: PUT failed"; exit 1; }
rm -f "$work/blob"

# objfsd_read ARGS...: MB/s of one sequential read through a new objfsd.
objfsd_read() {
	rm -rf "$work/sock" "$work/cache"
	mkdir "$work/cache"
	"$OBJFSD" --socket-path="$work/sock" --store=s3://bench/r \
	    --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" --cache-dir="$work/cache" \
	    "$@" 2>"$work/objfsd.log" &
	pid=$!
	for _ in $(seq 600); do grep -q serving "$work/objfsd.log" && break; sleep 0.05; done
	"$LOADGEN" --socket="$work/sock" --depth=8 --once seqread |
	    grep -o 'MB/s=[0-9.]*' | cut -d= -f2
	kill "$pid"
	wait "$pid" 2>/dev/null
	pid=
}

shapes=("default" "--s3-parallel=1" "--s3-part-size=32M")
: > "$work/results"
for _ in $(seq "$ROUNDS"); do
	t0=$(now)
	curl -sf "${sign[@]}" -o /dev/null "$url/r/data" || exit 1
	t1=$(now)
	awk -v b=$((SIZE_MIB << 20)) -v t0="$t0" -v t1="$t1" \
	    'BEGIN { printf "curl %.1f\n", b / (t1 - t0) / 1e6 }' >> "$work/results"
	for s in "${shapes[@]}"; do
		# shellcheck disable=SC2046
		echo "$s $(objfsd_read $([ "$s" = default ] || echo "$s"))" >> "$work/results"
	done
done
echo "read-ahead shapes on $S3_SERVER, $SIZE_MIB MiB read once, $ROUNDS rounds, MB/s median (min-max):"
awk -f "$here/median.awk" -f /dev/fd/3 "$work/results" 3<<'AWK'
{ if (!($1 in v)) order[++n] = $1
  v[$1] = v[$1] " " $2 }
END {
	c = median(v["curl"])
	for (i = 1; i <= n; i++) {
		k = order[i]
		printf "  %-26s %7.1f (%.0f-%.0f)  %5.2f x curl\n", k == "curl" ? "curl GET" : "objfsd " k,
		    median(v[k]), list_min(v[k]), list_max(v[k]), median(v[k]) / c
	}
}
AWK
