#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The benchmark, briefly: tests/bench/bench.sh in small (one round, 0.25 s
# per workload, depths 1 and 64) runs every workload against
# objfsd and, as root with QEMU's virtiofsd installed, against virtiofsd;
# each reports a non-zero rate and a positive CPU time per request, and
# the table has a ratio in every row.  Then the daemon's memory comes
# back after a listing is forgotten, worker pools serve every workload,
# and, with Ceph, tests/bench/s3-rgw-bench.sh in small (about 40 s).
set -euo pipefail
OBJFSD=${OBJFSD:-src/objfsd}
LOADGEN=${LOADGEN:-tests/bench/loadgen}
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail=0
daemons=objfsd
[ -x "${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}" ] && [ "$(id -u)" -eq 0 ] &&
    daemons="objfsd virtiofsd"
set +e
BENCH_SMALL=1 ROUNDS=1 BENCH_SECONDS=0.25 BENCH_GUEST=0 BENCH_RAW=1 \
    BENCH_DIR=$work OBJFSD=$OBJFSD LOADGEN=$LOADGEN \
    bash "${srcdir:-.}/tests/bench/bench.sh" > "$work/bench.out" 2>&1
st=$?
set -e
cat "$work/bench.out"
[ "$st" -eq 0 ] || { echo "FAIL: bench.sh exit status $st"; fail=1; }
# Raw lines: "  NAME round 1: WORKLOAD depth=D ops/s=N ... cpu_us/req=X".
for name in $daemons; do
	n=$(awk -v n="$name" '$1 == n && $2 == "round" &&
	    $0 ~ / ops\/s=[1-9]/ && match($0, / cpu_us\/req=[0-9.]+/) &&
	    substr($0, RSTART + 12, RLENGTH - 12) + 0 > 0' "$work/bench.out" |
	    wc -l)
	if [ "$n" -ne 12 ]; then
		echo "FAIL: $name: $n of 12 runs reported a rate and CPU per request"
		fail=1
	fi
done
if [ "$daemons" = objfsd ]; then
	echo "(objfsd alone: virtiofsd needs root and /usr/lib/qemu/virtiofsd)"
else
	# Every row of the table: both costs and a ratio "R [LO-HI]".
	n=$(awk '$2 ~ /^(1|64)$/ && $3 + 0 > 0 && $5 + 0 > 0 && $7 + 0 > 0 &&
	    $8 ~ /^\[/' "$work/bench.out" | wc -l)
	[ "$n" -eq 12 ] || { echo "FAIL: $n of 12 table rows with both costs and a ratio"; fail=1; }
fi

mkdir -p "$work/heap/meta" "$work/heap/big"
(cd "$work/heap/meta" && seq -f "f%05g" 0 49 | xargs touch)
(cd "$work/heap/big" && seq -f "e%05g" 0 2999 | xargs touch)
head -c $((8 << 20)) /dev/urandom > "$work/heap/data"
rm -f "$work/sock"
"$OBJFSD" --socket-path="$work/sock" --store="fs:$work/heap" \
    --cache-dir="$work" --log-level=warn 2>"$work/log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
# The listing's inodes are forgotten: the daemon's heap comes back.
"$LOADGEN" --socket="$work/sock" --seconds=1 --rss-pid=$pid --settle=2 \
    readdirplus readdirplus | tail -1 > "$work/out"
cat "$work/out"
# (AddressSanitizer's allocator holds freed memory in quarantine.)
if [ -n "${OBJFSD_SANITIZERS:-}" ]; then
	echo "heap check skipped under sanitizers"
elif ! awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^anon_kb=/) {
	split(substr($i, 9), a, ","); exit !(a[2] <= a[1] * 1.1 + 256) } }' \
    "$work/out"; then
	echo "FAIL: heap grew after a forgotten listing"
	fail=1
fi
kill "$pid"
wait "$pid" || { echo "FAIL: objfsd exit status $?"; fail=1; }
pid=

# The same with worker pools: requests on one queue run side by side and
# complete out of order, lookups and forgets racing on the same inodes.
rm -f "$work/sock"
"$OBJFSD" --socket-path="$work/sock" --store="fs:$work/heap" \
    --cache-dir="$work" --log-level=warn --thread-pool-size=4 \
    --request-queues=2 2>>"$work/log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
"$LOADGEN" --socket="$work/sock" --depth=32 --queues=2 --seconds=0.5 \
    lookup create readdirplus randread seqread seqwrite > "$work/out"
cat "$work/out"
n=$(awk '$3 ~ /^ops\/s=[1-9]/' "$work/out" | wc -l)
if [ "$n" -ne 6 ]; then
	echo "FAIL: with workers: $n of 6 workloads reported a rate"
	fail=1
fi
kill "$pid"
wait "$pid" || { echo "FAIL: objfsd (workers) exit status $?"; fail=1; }
pid=
grep -v "^$" "$work/log" || true

# The RGW benchmark (tests/bench/s3-rgw-bench.sh) in small, when Ceph is
# installed: it runs to the end, objfsd moves data both ways, and for
# every metadata scenario the requests RGW logged are the requests
# objfsd counted itself.
set +e
SIZE_MIB=8 ROUNDS=1 FILES=50 TREE_DIRS=5 TREE_FILES=10 BENCH_DIR=$work \
    OBJFSD=$OBJFSD LOADGEN=$LOADGEN \
    bash "${srcdir:-.}/tests/bench/s3-rgw-bench.sh" > "$work/rgw.out" 2>&1
st=$?
set -e
cat "$work/rgw.out"
if [ "$st" -eq 77 ]; then
	echo "(no RGW benchmark: Ceph is not installed)"
elif [ "$st" -ne 0 ]; then
	echo "FAIL: s3-rgw-bench.sh exit status $st"
	fail=1
else
	n=$(awk '($1 == "write" || $1 == "read") && $2 + 0 > 0' "$work/rgw.out" | wc -l)
	[ "$n" -eq 2 ] || { echo "FAIL: rgw bench: objfsd rates: $n of 2"; fail=1; }
	sed -n 's/^\([a-z]*\) *objfsd .* rgw \([0-9]*\) .*objfsd says \([0-9]*\) .*/\1 \2 \3/p' \
	    "$work/rgw.out" > "$work/counts"
	# The five workloads, and those run again with other options.
	n=$(awk '$2 == $3 && $2 > 0' "$work/counts" | wc -l)
	all=$(wc -l < "$work/counts")
	if [ "$all" -lt 5 ] || [ "$n" -ne "$all" ]; then
		echo "FAIL: rgw bench: RGW's count and objfsd's agree on $n of $all:"
		cat "$work/counts"
		fail=1
	fi
fi
exit $fail
