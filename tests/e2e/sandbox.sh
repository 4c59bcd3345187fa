#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What each sandbox mode must show of the serving process, from the
# outside (/proc/PID/status, its namespaces, its root), with a request
# served in each: the table below is the specification.  Root only (the
# modes are about dropping root's powers); skipped otherwise.
set -u
daemon=${OBJFSD:-src/objfsd}
loadgen=${LOADGEN:-tests/bench/loadgen}
[ "$(id -u)" -eq 0 ] || { echo "sandbox: not root, skipped"; exit 77; }
work=$(mktemp -d /tmp/objfsd-sandbox.XXXXXX)
chmod 1777 "$work"	# nobody makes its socket here too
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $case: $*"; }

# fs: as root with native owners keeps CHOWN DAC_OVERRIDE DAC_READ_SEARCH
# FOWNER FSETID SETGID SETUID MKNOD; every other store, and fs: with
# --fs-owners=xattr, none.
FS_CAPS=00000000080000df
NO_CAPS=0000000000000000

# Started by root or nobody, the serving process must show: seccomp,
# no-new-privs, these capabilities, these namespaces new (the others the
# host's), this root, this user.
# case          store started options              caps     new namespaces      root    user
cases=(
"fs-namespace    fs   root   --sandbox=namespace   $FS_CAPS mnt,pid,net,ipc,uts /store  root"
"mem-namespace   mem  root   --sandbox=namespace   $NO_CAPS mnt,pid,net,ipc,uts /       root"
"fs-default      fs   root   -                     $FS_CAPS mnt,pid,net,ipc,uts /store  root"
"fs-chroot       fs   root   --sandbox=chroot      $FS_CAPS -                   chroot  root"
"fs-none         fs   root   --sandbox=none        $FS_CAPS -                   host    root"
"fs-xattr-owners fs   root   --fs-owners=xattr     $NO_CAPS mnt,pid,net,ipc,uts /store  root"
"fs-run-as       fs   root   --run-as=nobody       $NO_CAPS mnt,pid,net,ipc,uts /store  nobody"
"fs-unprivileged fs   nobody --sandbox=namespace   $NO_CAPS user,mnt,pid,net,ipc,uts /store nobody"
"mem-unprivileged mem nobody -                     $NO_CAPS user,mnt,pid,net,ipc,uts /     nobody"
)

start() {
	local store=$1 user=$2 opts=$3 runs_as=${4:-root} url
	rm -rf "$work/data" "$work/sock" "$work/log"
	mkdir "$work/data"
	[ "$runs_as" = nobody ] && chown nobody: "$work/data"
	case $store in
	fs) url="fs:$work/data" ;;
	mem) url="mem:" ;;
	esac
	[ "$opts" = - ] && opts=
	# A chroot has no /proc, which the sanitizers' leak checker reads.
	local san=ASAN_OPTIONS=${ASAN_OPTIONS:-}
	case "${OBJFSD_SANITIZERS:-}:$opts" in
	?*:*chroot*) san="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" ;;
	esac
	if [ "$user" = nobody ]; then
		chown -R nobody: "$work/data"
		# shellcheck disable=SC2086
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    env "$san" "$daemon" --socket-path="$work/sock" --store="$url" \
		    --cache-dir="$work/data" $opts 2>"$work/log" &
	else
		# shellcheck disable=SC2086
		env "$san" "$daemon" --socket-path="$work/sock" --store="$url" \
		    --cache-dir="$work/data" $opts 2>"$work/log" &
	fi
	pid=$!
	for _ in $(seq 100); do grep -q "serving" "$work/log" 2>/dev/null && break; sleep 0.05; done
}

# The serving process: the child in the pid namespace, or pid itself.
server() {
	local c
	c=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children" 2>/dev/null)
	echo "${c:-$pid}"
}

field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }

check_case() {
	local name=$1 store=$2 user=$3 opts=$4 caps=$5 differ=$6 root=$7
	local runs_as=$8 srv ns mine theirs out want
	case=$name
	start "$store" "$user" "$opts" "$runs_as"
	srv=$(server)
	grep -q "serving" "$work/log" && ok || { bad "did not start: $(cat "$work/log")"; return; }
	[ "$(field Seccomp "$srv")" = 2 ] && ok || bad "Seccomp $(field Seccomp "$srv")"
	[ "$(field NoNewPrivs "$srv")" = 1 ] && ok || bad "NoNewPrivs $(field NoNewPrivs "$srv")"
	[ "$(field CapEff "$srv")" = "$caps" ] && ok || bad "CapEff $(field CapEff "$srv"), want $caps"
	if [ "$runs_as" = root ]; then
		[ "$(field CapBnd "$srv")" = "$caps" ] && ok || bad "CapBnd $(field CapBnd "$srv")"
	fi
	for ns in mnt pid net ipc uts user; do
		mine=$(readlink /proc/self/ns/$ns)
		theirs=$(readlink "/proc/$srv/ns/$ns")
		case ",$differ," in
		*",$ns,"*) [ "$mine" != "$theirs" ] && ok || bad "$ns namespace is the host's" ;;
		*) [ "$mine" = "$theirs" ] && ok || bad "$ns namespace is a new one" ;;
		esac
	done
	case $root in
	host) [ "$(readlink "/proc/$srv/root")" = / ] && ok || bad "root $(readlink "/proc/$srv/root")" ;;
	chroot) [ "$(readlink "/proc/$srv/root")" = "$work/data" ] && ok || bad "root $(readlink "/proc/$srv/root"), want the store" ;;
	*)
		# Nothing of the host but what the store needs.
		out=$(ls -A "/proc/$srv/root/" | tr '\n' ' ')
		want="proc ${root#/} "
		[ "$root" = / ] && want="proc "
		[ "$out" = "$want" ] && ok || bad "root holds: $out (want $want)"
		;;
	esac
	[ "$runs_as" = root ] && want=0 || want=$(id -u nobody)
	[ "$(field Uid "$srv")" = "$want" ] && ok || bad "Uid $(field Uid "$srv")"
	# It serves: files made through it land in the store.
	out=$("$loadgen" --socket="$work/sock" --depth=4 --seconds=1 create 2>&1)
	case $out in
	*"ops/s="[1-9]*) ok ;;
	*) bad "no requests served: $out" ;;
	esac
	if [ "$store" = fs ]; then
		ls "$work/data" | grep -q "^create-" && ok || bad "nothing made in the store"
	fi
	kill -TERM "$pid"
	wait "$pid"
	[ $? -eq 0 ] && ok || bad "SIGTERM exit status"
	pid=
	[ ! -e "$work/sock" ] && ok || bad "socket left behind"
	grep -q "warn" "$work/log" && bad "warnings: $(grep warn "$work/log")" || ok
}

for c in "${cases[@]}"; do
	# shellcheck disable=SC2086
	check_case $c
done

# --seccomp=none loads no filter.
case=seccomp-none
start mem root --seccomp=none
[ "$(field Seccomp "$(server)")" = 0 ] && ok || bad "Seccomp $(field Seccomp "$(server)")"
kill -TERM "$pid"; wait "$pid"; pid=

# A server that dies (of the filter's SIGSYS, say: SIGKILL here, since
# pid 1 of a namespace ignores signals it does not handle) is reported by
# the process outside, which exits as it did.
case=reported
start mem root -
kill -KILL "$(server)"
wait "$pid"
st=$?
[ "$st" -eq $((128 + 9)) ] && ok || bad "exit status $st after SIGKILL"
grep -q "killed by signal 9" "$work/log" && ok || bad "not logged: $(cat "$work/log")"
[ ! -e "$work/sock" ] && ok || bad "socket left behind"
pid=

echo "sandbox: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
