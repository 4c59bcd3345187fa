#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd under `ulimit -n 256` (soft and hard) serves a frontend that
# holds 10,000 files of an fs: store open at once (loadgen's openmany:
# create and write each, read it back through its handle, release; open
# each again, read, release).  No reply may be an error (EMFILE), every
# byte must be right, the daemon's fds stay within its budget meanwhile,
# and afterwards it holds no more files open than before (directories
# may stay in its cache of open ones).
set -u
daemon=${OBJFSD:-src/objfsd}
loadgen=${LOADGEN:-tests/bench/loadgen}
work=$(mktemp -d /tmp/objfsd-fds.XXXXXX)
pid=
sampler=
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

sock=$work/s.sock
share=$work/share
mkdir "$share"
(ulimit -n 256 && exec "$daemon" --socket-path="$sock" --store=fs:"$share" \
    --log-level=debug) 2>"$work/log" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] && ok || bad "no socket"

# The serving process: objfsd's child in its pid namespace, once set up.
for _ in $(seq 100); do grep -q "serving" "$work/log" && break; sleep 0.05; done
srv=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children" 2>/dev/null)
srv=${srv:-$pid}
fds() { find "/proc/$srv/fd" -mindepth 1 | wc -l; }
dir_fds() {
	local n=0
	for f in /proc/"$srv"/fd/*; do
		[ "$(stat -L -c %F "$f" 2>/dev/null)" = directory ] && n=$((n + 1))
	done
	echo "$n"
}
[ "$(awk '/Max open files/ { print $4, $5 }' "/proc/$srv/limits")" = \
    "256 256" ] && ok || bad "limits: $(grep 'open files' "/proc/$srv/limits")"
grep -q "fs: up to 112 files and 16 directories" "$work/log" && ok ||
    bad "budget not logged as 112 files and 16 directories"
base=$(fds)
base_dirs=$(dir_fds)
(peak=0
while kill -0 "$srv" 2>/dev/null; do
	n=$(fds)
	[ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$work/peak"
	sleep 0.02
done) &
sampler=$!

start=$(date +%s%N)
"$loadgen" --socket="$sock" --depth=16 --once openmany >"$work/out" 2>&1
status=$?
end=$(date +%s%N)
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
[ "$status" -eq 0 ] && grep -q '^openmany ' "$work/out" && ok ||
    bad "loadgen exit $status: $(cat "$work/out")"
grep -qi "too many open files\|EMFILE" "$work/out" "$work/log" &&
    bad "EMFILE: $(grep -i 'too many\|EMFILE' "$work/out" "$work/log")" || ok

# Every file has its page: byte k of file i is (7i + k) mod 256.
[ "$(find "$share" -type f -size 4096c | wc -l)" -eq 10000 ] && ok ||
    bad "$(find "$share" -type f | wc -l) files, not 10,000 of 4 KiB"
for i in 0 1 4567 9999; do
	f=$(printf '%s/many-*/m%05d' "$share" "$i")
	want=$(printf '%02x %02x' $(((7 * i) % 256)) $(((7 * i + 4095) % 256)))
	got=$(od -An -tx1 -j0 -N1 $f | tr -d ' ')' '$(od -An -tx1 -j4095 -N1 $f | tr -d ' ')
	[ "$got" = "$want" ] && ok || bad "file $i: bytes $got, not $want"
done

# Within the budget: 112 files, 16 directories, and a few fds that
# operations hold while they run.
peak=$(cat "$work/peak" 2>/dev/null || echo 0)
[ "$peak" -le $((base + 112 + 16 + 8)) ] && ok ||
    bad "peak $peak fds, base $base"
for _ in $(seq 100); do
	grep -q "frontend disconnected" "$work/log" && break
	sleep 0.05
done
dirs=$(dir_fds)
[ $(($(fds) - dirs)) -eq $((base - base_dirs)) ] && ok ||
    bad "$(fds) fds ($dirs directories), not $base ($base_dirs)"
[ "$dirs" -le $((base_dirs + 16)) ] && ok ||
    bad "$dirs directories open, $base_dirs at start"
kill -TERM "$pid"
wait "$pid"
[ $? -eq 0 ] && ok || bad "SIGTERM exit status"
pid=

echo "fd-budget: $pass passed, $fail failed (10,000 files in" \
    "$(((end - start) / 1000000)) ms, peak $peak fds, base $base)"
[ "$fail" -eq 0 ]
