#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# In-guest benchmark: a QEMU guest (the end-to-end harness of
# tests/lib/guest.sh) mounts the directory with `mount -t virtiofs` and
# times dd and a metadata workload, once served by objfsd and once by
# QEMU's virtiofsd, alternating, in the same run.  Prints seconds per step
# (medians over ROUNDS) and virtiofsd/objfsd: above 1 means objfsd is
# faster.  Under TCG (no KVM) the guest is slow: compare ratios, not times.
# Then the daemon's CPU time per guest operation (per MiB for dd, per
# file for the rest): the guest prints a marker before and after each
# step and idles a second around it, and the host samples the daemon's
# process tree at each marker (loadgen --cpu-of), so the sample lands
# while the daemon has nothing to do.  With two CPUs or more, the daemon
# runs on CPU 1 and QEMU on CPU 0.
#
# Environment: ROUNDS (default 1), OBJFSD, VIRTIOFSD, LOADGEN, BENCH_DIR;
# BENCH_RAW=1 prints each round's figures.
set -u
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$here/../..
build=${BUILD_DIR:-$srcdir}
OBJFSD=${OBJFSD:-$build/src/objfsd}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
LOADGEN=${LOADGEN:-$build/tests/bench/loadgen}
ROUNDS=${ROUNDS:-1}
if [ "$(nproc)" -ge 2 ]; then
	dpin=(taskset -c 1)
	qcpu=0
else
	dpin=()
	qcpu=
fi
. "$srcdir/tests/lib/guest.sh"
. "$here/daemon-cmd.sh"

guest_tools_present || { echo "guest bench: no qemu-system-x86_64, cpio or busybox-static"; exit 77; }
guest_find_kernel || { echo "guest bench: no guest kernel with virtiofs.ko"; exit 77; }
[ -x "$VIRTIOFSD" ] && [ "$(id -u)" -eq 0 ] ||
    { echo "guest bench: needs root and $VIRTIOFSD"; exit 77; }

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-gbench.XXXXXX")
pid=
mon=
cleanup() {
	[ -n "$mon" ] && kill "$mon" 2>/dev/null && wait "$mon" 2>/dev/null
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
# The host samples the daemon's CPU at each marker: a second idle on
# either side keeps the sample out of the step and the step's out of
# the next one (drop_caches sends its FORGETs before the first marker).
step() {
	name=$1; shift
	drop
	echo "BENCH-BEGIN $name"
	sleep 1
	s=$(now)
	"$@" || echo "BENCH-FAILED $name"
	e=$(now)
	echo "BENCH $name $((e - s))"
	sleep 1
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

# monitor LOG PID OUT: each BENCH marker the guest prints, with a sample
# of the daemon's CPU taken when it appears, into OUT; ends at BENCH-DONE
# or when the daemon goes.
monitor() {
	local log=$1 dpid=$2 out=$3 seen=0 n line
	: > "$out"
	while kill -0 "$dpid" 2>/dev/null; do
		n=0
		while read -r line; do
			n=$((n + 1))
			[ "$n" -le "$seen" ] && continue
			seen=$n
			[ "$line" = BENCH-DONE ] && return 0
			echo "$line $("$LOADGEN" --cpu-of="$dpid")" >> "$out"
		done < <(tr -d '\r' < "$log" 2>/dev/null | grep '^BENCH')
		sleep 0.1
	done
}

# one NAME ROUND: boot a guest against NAME, lines into results: the
# step, its centiseconds, the daemon's CPU in it (ns) and its context
# switches.
one() {
	local name=$1 round=$2 log=$work/console.$1.$2 cmd
	rm -f "$work/sock"
	bench_daemon_cmd "$name" chroot "$work" || return 1
	[ "$round" = 0 ] || [ -s "$work/$name.cmd" ] ||
	    printf '%q ' "${cmd[@]}" > "$work/$name.cmd"
	"${cmd[@]}" 2>>"$work/$name.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.05; done
	: > "$log"
	monitor "$log" "$pid" "$work/marks" &
	mon=$!
	( [ -z "$qcpu" ] || taskset -cp "$qcpu" "$BASHPID" > /dev/null
	  guest_run "$work/sock" "$work/initrd.gz" "$log" 900 )
	# The monitor ends at BENCH-DONE; a guest that failed never says it.
	for _ in $(seq 50); do kill -0 "$mon" 2>/dev/null || break; sleep 0.1; done
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	mon=
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	if ! grep -q BENCH-DONE "$log" || grep -q BENCH-FAILED "$log"; then
		echo "guest bench: the guest run on $name failed:"
		tr -d '\r' < "$log" | tail -20
		return 1
	fi
	awk -v n="$name" '
	function f(k,    i) { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
	$1 == "BENCH-BEGIN" { c0 = f("cpu_ns"); s0 = f("vcsw") + f("ivcsw") }
	$1 == "BENCH" && c0 != "" {
		printf "%s %s %s %.0f %.0f\n", n, $2, $3, f("cpu_ns") - c0, f("vcsw") + f("ivcsw") - s0
		c0 = ""
	}' "$work/marks" > "$work/round"
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
# Guest operations per step: MiB for dd, files for the rest.
function gops(step,    p) {
	p = split(step, w, "-")
	return w[p] ~ /M$/ ? substr(w[p], 1, length(w[p]) - 1) + 0 : w[p] + 0
}
{
	val[$1, $2] = val[$1, $2] " " $3
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	cpu[$1, $2] = cpu[$1, $2] " " $4 / 1e3 / gops($2)
	csw[$1, $2] = csw[$1, $2] " " $5 / gops($2)
	cpur[$1, $2, ++nr[$1, $2]] = $4 / 1e3 / gops($2)
}
function ratios(k,    i, out) {
	out = ""
	for (i = 1; i <= nr["objfsd", k] && i <= nr["virtiofsd", k]; i++)
		if (cpur["virtiofsd", k, i] > 0)
			out = out " " cpur["objfsd", k, i] / cpur["virtiofsd", k, i]
	return out
}
END {
	printf "%-12s %10s %10s %16s\n", "in the guest", "objfsd", "virtiofsd", "virtiofsd/objfsd"
	for (i = 1; i <= n; i++) {
		k = order[i]
		a = median(val["objfsd", k]) / 100; b = median(val["virtiofsd", k]) / 100
		r = a > 0 ? sprintf("%.2f", b / a) : "-"
		printf "%-12s %9.2fs %9.2fs %16s\n", k, a, b, r
	}
	printf "\nthe daemon's CPU time per guest operation (per MiB for dd, per file otherwise), us:\n"
	printf "median [min-max]; ratio objfsd/virtiofsd: median [min-max] of the per-round ratios; context switches per operation\n"
	printf "%-12s %-22s %-22s %-19s %s\n", "in the guest", "objfsd us/op", "virtiofsd us/op", "ratio", "csw/op o / v"
	for (i = 1; i <= n; i++) {
		k = order[i]; rl = ratios(k)
		rs = rl == "" ? "-" : sprintf("%.2f [%.2f-%.2f]", median(rl), list_min(rl), list_max(rl))
		printf "%-12s %-22s %-22s %-19s %.1f / %.1f\n", k, med_range(cpu["objfsd", k]),
		    med_range(cpu["virtiofsd", k]), rs, median(csw["objfsd", k]), median(csw["virtiofsd", k])
	}
}
AWK
echo "nproc: $(nproc); the daemons ran on CPU 1 and QEMU on CPU 0 where there are two CPUs:"
for name in objfsd virtiofsd; do
	[ -s "$work/$name.cmd" ] && echo "  $name: $(cat "$work/$name.cmd")"
done
