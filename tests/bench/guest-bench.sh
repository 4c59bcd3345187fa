#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# In-guest benchmark: a QEMU guest (the end-to-end harness of
# tests/lib/guest.sh) mounts the directory with `mount -t virtiofs` and
# times dd and a metadata workload, once served by objfsd and once by
# QEMU's virtiofsd, alternating, in the same run.  Prints seconds per step
# (medians over ROUNDS) and virtiofsd/objfsd: above 1 means objfsd is
# faster.  Under TCG (no KVM) the guest is slow: compare ratios, not times.
#
# Environment: ROUNDS (default 1), OBJFSD, VIRTIOFSD, BENCH_DIR; BENCH_RAW=1
# prints each round's figures.
set -u
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$here/../..
build=${BUILD_DIR:-$srcdir}
OBJFSD=${OBJFSD:-$build/src/objfsd}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
ROUNDS=${ROUNDS:-1}
. "$srcdir/tests/lib/guest.sh"

guest_tools_present || { echo "guest bench: no qemu-system-x86_64, cpio or busybox-static"; exit 77; }
guest_find_kernel || { echo "guest bench: no guest kernel with virtiofs.ko"; exit 77; }
[ -x "$VIRTIOFSD" ] && [ "$(id -u)" -eq 0 ] ||
    { echo "guest bench: needs root and $VIRTIOFSD"; exit 77; }

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-gbench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/bench.sh" <<'GUEST'
M=/mnt
mount -t virtiofs objfs $M || { echo "BENCH-FAILED mount"; exit 1; }
# Centiseconds since boot, from /proc/uptime ("12.34 ...").
now() { read up rest < /proc/uptime; echo "${up%.*}${up#*.}"; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
step() {
	name=$1; shift
	drop
	s=$(now)
	"$@" || echo "BENCH-FAILED $name"
	e=$(now)
	echo "BENCH $name $((e - s))"
}
seq_write() { dd if=/dev/zero of=$M/seq bs=1M count=128 conv=fsync 2>/dev/null; }
seq_read() { dd if=$M/seq of=/dev/null bs=1M 2>/dev/null; }
create() {
	mkdir $M/m && i=0
	while [ $i -lt 2000 ]; do : > $M/m/f$i; i=$((i + 1)); done
}
stat_all() {
	i=0
	while [ $i -lt 2000 ]; do [ -f $M/m/f$i ] || return 1; i=$((i + 1)); done
}
ls_l() { [ "$(ls -l $M/m | grep -c ' f[0-9]')" -eq 2000 ]; }
unlink_all() {
	i=0
	while [ $i -lt 2000 ]; do rm $M/m/f$i || return 1; i=$((i + 1)); done
	rmdir $M/m
}
step write-128M seq_write
step read-128M seq_read
step create-2000 create
step stat-2000 stat_all
step ls-l-2000 ls_l
step unlink-2000 unlink_all
rm -f $M/seq
echo BENCH-DONE
GUEST
guest_build_initrd "$work/initrd.gz" "$work/bench.sh" || exit 1
mkdir -p "$work/data"

# one NAME ROUND: boot a guest against NAME, lines into results.
one() {
	local name=$1 round=$2 log=$work/console.$1.$2
	rm -f "$work/sock"
	case $name in
	objfsd)
		"$OBJFSD" --socket-path="$work/sock" --store="fs:$work/data" \
		    --cache=auto --cache-dir="$work" --log-level=warn \
		    2>>"$work/objfsd.log" &
		;;
	virtiofsd)
		"$VIRTIOFSD" --socket-path="$work/sock" -o source="$work/data" \
		    -o cache=auto -o sandbox=chroot -o log_level=err \
		    2>>"$work/virtiofsd.log" &
		;;
	esac
	pid=$!
	for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
	guest_run "$work/sock" "$work/initrd.gz" "$log" 900
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	if ! grep -q BENCH-DONE "$log" || grep -q BENCH-FAILED "$log"; then
		echo "guest bench: the guest run on $name failed:"
		tr -d '\r' < "$log" | tail -20
		return 1
	fi
	tr -d '\r' < "$log" | awk -v n="$name" '$1 == "BENCH" { print n, $2, $3 }' \
	    > "$work/round"
	[ "$round" = 0 ] && return 0	# the warm-up
	[ "${BENCH_RAW:-0}" = 1 ] && sed "s/^/  round $round: /" "$work/round"
	cat "$work/round" >> "$work/results"
}

: > "$work/results"
# The first guest of a run is slower whoever serves it (a cold host page
# cache and data directory): one boot, not counted, before the rounds.
one objfsd 0 || exit 1
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		one objfsd "$r" && one virtiofsd "$r" || exit 1
	else
		one virtiofsd "$r" && one objfsd "$r" || exit 1
	fi
done

awk -f "$here/median.awk" -f /dev/fd/3 "$work/results" 3<<'AWK'
{
	val[$1, $2] = val[$1, $2] " " $3
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
}
END {
	printf "%-12s %10s %10s %16s\n", "in the guest", "objfsd", "virtiofsd", "virtiofsd/objfsd"
	for (i = 1; i <= n; i++) {
		k = order[i]
		a = median(val["objfsd", k]) / 100; b = median(val["virtiofsd", k]) / 100
		r = a > 0 ? sprintf("%.2f", b / a) : "-"
		printf "%-12s %9.2fs %9.2fs %16s\n", k, a, b, r
	}
}
AWK
