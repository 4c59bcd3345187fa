#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd against QEMU's virtiofsd on the same directory, in one run.
#
# Both daemons serve a fresh directory (meta/: 1,000 files, big/: 10,000,
# huge/: 100,000, data: 256 MiB).  Each round runs the FUSE load generator
# (tests/bench/loadgen) against one daemon, then the other, alternating
# who goes first; the table shows the median of the rounds and the
# objfsd/virtiofsd ratio.  Then memcpy bandwidth (the ceiling for the
# 1 MiB cases) and each daemon's resident memory around a READDIRPLUS of
# 100,000 entries and the FORGETs that follow.
#
# Environment: ROUNDS (3), BENCH_SECONDS per workload (2), BENCH_DIR
# (a directory on the filesystem to measure; default under /var/tmp),
# OBJFSD, LOADGEN, VIRTIOFSD (binaries), BENCH_RAW=1 to print every run,
# BENCH_GUEST=0 to skip the in-guest part (tests/bench/guest-bench.sh),
# GUEST_ROUNDS (3) for its rounds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../..}
OBJFSD=${OBJFSD:-$build/src/objfsd}
LOADGEN=${LOADGEN:-$build/tests/bench/loadgen}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
ROUNDS=${ROUNDS:-3}
SECS=${BENCH_SECONDS:-2}
WORKLOADS="lookup create readdirplus randread seqread seqwrite"

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

make_tree() {
	local d=$work/data
	mkdir -p "$d/meta" "$d/big" "$d/huge"
	(cd "$d/meta" && seq -f "f%05g" 0 999 | xargs touch)
	(cd "$d/big" && seq -f "e%05g" 0 9999 | xargs touch)
	(cd "$d/huge" && seq -f "h%06g" 0 99999 | xargs touch)
	head -c $((256 << 20)) /dev/urandom > "$d/data"
}

# start NAME: the daemon serves $work/data on $work/sock; sets pid.
start() {
	local name=$1 try
	rm -f "$work/sock"
	for try in namespace chroot; do
		case $name in
		objfsd)
			"$OBJFSD" --socket-path="$work/sock" \
			    --store="fs:$work/data" --cache=auto \
			    --cache-dir="$work" --log-level=warn \
			    2>>"$work/objfsd.log" &
			;;
		virtiofsd)
			# Containers may not allow its namespace sandbox.
			"$VIRTIOFSD" --socket-path="$work/sock" \
			    -o source="$work/data" -o cache=auto \
			    -o sandbox=$try -o log_level=err \
			    2>>"$work/virtiofsd.log" &
			;;
		esac
		pid=$!
		for _ in $(seq 100); do
			[ -S "$work/sock" ] && return 0
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

# run NAME ROUND: every workload at depth 1 and 64, lines into results.
# A fresh daemon for each (virtiofsd exits when its frontend leaves).
run() {
	local name=$1 round=$2 depth line
	for depth in 1 64; do
		start "$name"
		"$LOADGEN" --socket="$work/sock" --depth=$depth \
		    --seconds="$SECS" $WORKLOADS > "$work/out" ||
		    { stop; echo "bench: loadgen failed on $name" >&2; return 1; }
		stop
		while read -r line; do
			[ "${BENCH_RAW:-0}" = 1 ] && echo "  $name round $round: $line"
			echo "$name $line" >> "$work/results"
		done < "$work/out"
	done
}

# memory NAME: resident size around a 100,000-entry READDIRPLUS, after a
# warm-up listing (code and buffers touched once, as in a running daemon).
memory() {
	local name=$1 line
	start "$name"
	line=$("$LOADGEN" --socket="$work/sock" --seconds=1 --dir=huge \
	    --rss-pid="$pid" --settle=2 readdirplus readdirplus | tail -1)
	stop
	echo "$name $line" >> "$work/memory"
}

echo "objfsd benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
    "kernel $(uname -r), filesystem $(stat -f -c %T /var/tmp)"
echo "rounds: $ROUNDS, $SECS s per workload; preparing the directory..."
make_tree
sync
: > "$work/results"
for r in $(seq "$ROUNDS"); do
	if [ $have_virtiofsd = 0 ]; then
		run objfsd "$r"
	elif [ $((r % 2)) = 1 ]; then
		run objfsd "$r"
		run virtiofsd "$r"
	else
		run virtiofsd "$r"
		run objfsd "$r"
	fi
done
memcpy=$("$LOADGEN" --memcpy | sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p')

# Medians per daemon, workload and depth; MB/s for the 1 MiB cases.
awk -f "$here/median.awk" -f /dev/fd/3 -v memcpy="$memcpy" "$work/results" 3<<'AWK'
{
	split($3, d, "="); split($4, o, "="); split($5, m, "=")
	key = $2 " " d[2]
	mb = ($2 == "seqread" || $2 == "seqwrite")
	val[$1, key] = val[$1, key] " " (mb ? m[2] : o[2])
	if (!(key in seen)) { seen[key] = 1; order[++n] = key; unit[key] = mb ? "MB/s" : "ops/s" }
}
END {
	printf "\n%-12s %5s %14s %14s %7s\n", "workload", "depth", "objfsd", "virtiofsd", "ratio"
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, w, " ")
		a = median(val["objfsd", k])
		if (val["virtiofsd", k] != "") {
			b = median(val["virtiofsd", k])
			r = b > 0 ? sprintf("%.2f", a / b) : "-"
			bs = sprintf("%.0f", b)
		} else { bs = "-"; r = "-" }
		extra = ""
		if (unit[k] == "MB/s" && memcpy > 0)
			extra = sprintf("   (%.0f%% of memcpy)", 100 * a / memcpy)
		printf "%-12s %5s %14s %14s %7s  %s%s\n", w[1], w[2], sprintf("%.0f", a), bs, r, unit[k], extra
	}
	printf "\nmemcpy of 1 MiB blocks on this machine: %.0f MB/s\n", memcpy
}
AWK

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
	ROUNDS=${GUEST_ROUNDS:-3} OBJFSD=$OBJFSD VIRTIOFSD=$VIRTIOFSD \
	    BENCH_DIR=${BENCH_DIR:-/var/tmp} "$here/guest-bench.sh" || echo "(no in-guest run: see above)"
fi
