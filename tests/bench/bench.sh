#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd against QEMU's virtiofsd on the same directory, in one run.
#
# Both daemons serve a fresh directory (meta/: 1,000 files, big/: 10,000,
# huge/: 100,000, data: 256 MiB).  Each round runs the FUSE load generator
# (tests/bench/loadgen) for each workload and depth against one daemon,
# then the other, alternating who goes first, a fresh daemon each time,
# after one uncounted run of each workload.
# The headline is the
# daemon's CPU time per request: loadgen --cpu-pid samples the daemon's
# process tree (its sandbox child included) after each workload's setup
# and after its last reply, and divides by the requests sent in between.
# The table shows, per workload and depth, that figure's median and
# min-max over the rounds for both, the objfsd/virtiofsd ratio (median
# and min-max of the per-round ratios), context switches per request and
# throughput.  Where the machine has two CPUs or more the daemons run on
# CPU 1 and loadgen on CPU 0 (taskset).  Then memcpy bandwidth (the
# ceiling for the 1 MiB cases) and each daemon's resident memory around a
# READDIRPLUS of 100,000 entries and the FORGETs that follow.
#
# Environment: ROUNDS (5), BENCH_SECONDS per workload (2, fractions
# allowed), BENCH_DEPTHS ("1 64"), BENCH_DIR (a directory on the
# filesystem to measure; default under /var/tmp), OBJFSD, LOADGEN,
# VIRTIOFSD (binaries), BENCH_RAW=1 to print every run, BENCH_SMALL=1 for
# a small tree and no memory part (bench-smoke.sh), BENCH_GUEST=0 to skip
# the in-guest part (tests/bench/guest-bench.sh), GUEST_ROUNDS (3) for its
# rounds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../..}
OBJFSD=${OBJFSD:-$build/src/objfsd}
LOADGEN=${LOADGEN:-$build/tests/bench/loadgen}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
ROUNDS=${ROUNDS:-5}
SECS=${BENCH_SECONDS:-2}
DEPTHS=${BENCH_DEPTHS:-1 64}
SMALL=${BENCH_SMALL:-0}
WORKLOADS="lookup create readdirplus randread seqread seqwrite"
. "$here/daemon-cmd.sh"

# Separate CPUs for the daemon under test and the load generator, the
# same one for both daemons; children inherit it.
if [ "$(nproc)" -ge 2 ]; then
	dpin=(taskset -c 1)
	lpin=(taskset -c 0)
	pinning="daemons on CPU 1, loadgen on CPU 0 (taskset -c)"
else
	dpin=()
	lpin=()
	pinning="none (one CPU)"
fi

for b in "$OBJFSD" "$LOADGEN"; do
	[ -x "$b" ] || { echo "bench: $b is missing: run make first" >&2; exit 1; }
done
have_virtiofsd=1
if [ ! -x "$VIRTIOFSD" ] || [ "$(id -u)" -ne 0 ]; then
	echo "bench: QEMU's virtiofsd needs root and $VIRTIOFSD" \
	    "(Debian: qemu-system-common); measuring objfsd alone" >&2
	have_virtiofsd=0
fi

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# BENCH_SMALL: the same shape, small enough for a smoke run.
make_tree() {
	local d=$work/data big=9999 mib=256
	[ "$SMALL" = 1 ] && big=2999 mib=32
	mkdir -p "$d/meta" "$d/big"
	(cd "$d/meta" && seq -f "f%05g" 0 999 | xargs touch)
	(cd "$d/big" && seq -f "e%05g" 0 $big | xargs touch)
	if [ "$SMALL" != 1 ]; then
		mkdir -p "$d/huge"
		(cd "$d/huge" && seq -f "h%06g" 0 99999 | xargs touch)
	fi
	head -c $((mib << 20)) /dev/urandom > "$d/data"
}

# start NAME: the daemon serves $work/data on $work/sock; sets pid and
# keeps the first command line that worked in $work/NAME.cmd.
# virtiofsd's sandbox falls back to chroot where a container refuses
# namespaces.
start() {
	local name=$1 try cmd
	rm -f "$work/sock"
	for try in namespace chroot; do
		bench_daemon_cmd "$name" $try "$work" || return 1
		"${cmd[@]}" 2>>"$work/$name.log" &
		pid=$!
		for _ in $(seq 100); do
			if [ -S "$work/sock" ]; then
				[ -s "$work/$name.cmd" ] ||
				    printf '%q ' "${cmd[@]}" > "$work/$name.cmd"
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
		pid=
		[ "$name" = virtiofsd ] || break
	done
	echo "bench: $name did not start; its log:" >&2
	cat "$work/$name.log" >&2
	return 1
}

stop() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
	# What the create and write workloads left behind.
	rm -rf "$work"/data/create-* "$work"/data/write-*
}

# run NAME ROUND DEPTH WORKLOAD: one line into results.  A fresh daemon
# for each (virtiofsd exits when its frontend leaves), so every workload
# starts from the same state; loadgen measures its CPU from the end of
# the workload's setup to its last reply, start and teardown left out.
run() {
	local name=$1 round=$2 depth=$3 workload=$4 line
	start "$name"
	"${lpin[@]}" "$LOADGEN" --socket="$work/sock" --depth="$depth" \
	    --seconds="$SECS" --cpu-pid="$pid" "$workload" > "$work/out" ||
	    { stop; echo "bench: loadgen failed on $name" >&2; return 1; }
	stop
	while read -r line; do
		[ "${BENCH_RAW:-0}" = 1 ] && echo "  $name round $round: $line"
		echo "$name $round $line" >> "$work/results"
	done < "$work/out"
}

# warmup: each workload once on objfsd, not counted.  The first creates
# and writes in a fresh directory are cheaper than the ones after a
# round's files were deleted (ext4 reuses, journals and discards), which
# gave whoever went first in round 1 a far lower figure.
warmup() {
	local workload
	for workload in $WORKLOADS; do
		start objfsd
		"${lpin[@]}" "$LOADGEN" --socket="$work/sock" --depth=64 \
		    --seconds="$SECS" "$workload" > /dev/null ||
		    { stop; echo "bench: loadgen failed in the warm-up" >&2; return 1; }
		stop
	done
}

# round R: each workload and depth on both daemons back to back, so a
# round's ratio compares runs seconds apart; who goes first alternates.
round() {
	local r=$1 depth workload first=objfsd second=virtiofsd
	[ $((r % 2)) = 0 ] && first=virtiofsd second=objfsd
	[ $have_virtiofsd = 0 ] && first=objfsd second=
	for depth in $DEPTHS; do
		for workload in $WORKLOADS; do
			run $first "$r" "$depth" "$workload" || return 1
			[ -z "$second" ] ||
			    run $second "$r" "$depth" "$workload" || return 1
		done
	done
}

# memory NAME: resident size around a 100,000-entry READDIRPLUS, after a
# warm-up listing (code and buffers touched once, as in a running daemon).
memory() {
	local name=$1 line
	start "$name"
	line=$("${lpin[@]}" "$LOADGEN" --socket="$work/sock" --seconds=1 --dir=huge \
	    --rss-pid="$pid" --settle=2 readdirplus readdirplus | tail -1)
	stop
	echo "$name $line" >> "$work/memory"
}

echo "objfsd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
    "kernel $(uname -r), filesystem $(stat -f -c %T "$work") (BENCH_DIR ${BENCH_DIR:-/var/tmp})"
echo "pinning: $pinning"
echo "rounds: $ROUNDS, $SECS s per workload, depths $DEPTHS; preparing the directory..."
make_tree
sync
: > "$work/results"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows in the spread)"
[ "$SMALL" = 1 ] || warmup	# (the smoke run has no time for it)
for r in $(seq "$ROUNDS"); do
	round "$r"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: CPU per request, context switches and throughput.
awk -f "$here/median.awk" -f "$here/bench-report.awk" "$work/results"
echo
echo "nproc: $(nproc); pinning: $pinning; the command lines (defaults, nothing tuned):"
for name in objfsd virtiofsd; do
	[ -s "$work/$name.cmd" ] && echo "  $name: $(cat "$work/$name.cmd")"
done
if [ "$SMALL" = 1 ]; then
	exit 0
fi
memcpy=$("$LOADGEN" --memcpy | sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p')
awk -v memcpy="$memcpy" 'BEGIN { printf "memcpy of 1 MiB blocks on this machine: %.0f MB/s\n", memcpy }'

echo
echo "resident memory around a READDIRPLUS of 100,000 entries and their FORGETs"
echo "(before, and 2 s after; RssAnon leaves out the guest memory mapped):"
memory objfsd
[ $have_virtiofsd = 1 ] && memory virtiofsd
awk '{
	for (i = 2; i <= NF; i++) {
		if ($i ~ /^rss_kb=/) { split(substr($i, 8), r, ",") }
		if ($i ~ /^anon_kb=/) { split(substr($i, 9), a, ",") }
	}
	printf "  %-10s VmRSS %6.1f -> %6.1f MiB (%+.1f%%)   RssAnon %6.1f -> %6.1f MiB\n",
	    $1, r[1] / 1024, r[2] / 1024, 100 * (r[2] - r[1]) / r[1], a[1] / 1024, a[2] / 1024
}' "$work/memory"

# The same comparison from inside a QEMU guest (BENCH_GUEST=0 skips it).
if [ "${BENCH_GUEST:-1}" = 1 ] && [ $have_virtiofsd = 1 ]; then
	echo
	ROUNDS=${GUEST_ROUNDS:-3} OBJFSD=$OBJFSD VIRTIOFSD=$VIRTIOFSD LOADGEN=$LOADGEN \
	    BENCH_DIR=${BENCH_DIR:-/var/tmp} "$here/guest-bench.sh" || echo "(no in-guest run: see above)"
fi
