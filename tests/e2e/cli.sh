#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd's command line: what it accepts, what it refuses (exit 2 with
# one line), and the conventions of vhost-user backend programs.
set -u
daemon=${OBJFSD:-src/objfsd}
work=$(mktemp -d /tmp/objfsd-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_usage_error DESCRIPTION ARGS...: exit 2, one line on stderr.
expect_usage_error() {
	local what=$1 out status lines
	shift
	out=$("$daemon" "$@" 2>&1 >/dev/null)
	status=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ "$status" -eq 2 ] && [ "$lines" -eq 1 ] && [ -n "$out" ]; then
		ok
	else
		bad "$what: exit $status, $lines lines: $out"
	fi
}

sock=$work/s.sock
mkdir "$work/share"

caps=$("$daemon" --print-capabilities)
[ $? -eq 0 ] && printf '%s' "$caps" | tr -d ' \n' | grep -qx '{"type":"fs"}' && ok || bad "print-capabilities: $caps"
# ... whatever else is on the line.
"$daemon" --bogus --print-capabilities >/dev/null 2>&1 && ok || bad "print-capabilities with junk"
"$daemon" --version | grep -q '^objfsd [0-9]' && ok || bad "--version"
"$daemon" --help | grep -q -- '--socket-path' && ok || bad "--help"

expect_usage_error "no arguments"
expect_usage_error "unknown option" --socket-path="$sock" --store=mem: --bogus
expect_usage_error "unknown -o option" --socket-path="$sock" -o bogus
expect_usage_error "missing value" --socket-path
expect_usage_error "no store" --socket-path="$sock"
expect_usage_error "socket and fd" --socket-path="$sock" --fd=3 --store=mem:
expect_usage_error "two stores" --socket-path="$sock" --store=mem: -o source="$work/share"
expect_usage_error "unknown store" --socket-path="$sock" --store=ftp://x
expect_usage_error "bad cache mode" --socket-path="$sock" --store=mem: --cache=sometimes
expect_usage_error "bad queue count" --socket-path="$sock" --store=mem: --request-queues=0
expect_usage_error "queue count not a number" --socket-path="$sock" --store=mem: --request-queues=two
expect_usage_error "bad mode" --socket-path="$sock" --store=mem: --file-mode=999
expect_usage_error "bad uid" --socket-path="$sock" --store=mem: --uid=-1
expect_usage_error "bad log level" --socket-path="$sock" --store=mem: --log-level=loud
expect_usage_error "qemu args without a socket" --print-qemu-args --store=mem:
expect_usage_error "stray argument" --socket-path="$sock" --store=mem: extra

# Set-up failures are not usage errors: exit 1 with a reason.
"$daemon" --socket-path="$sock" --store=fs:"$work/missing" 2>"$work/err"
[ $? -eq 1 ] && grep -q missing "$work/err" && ok || bad "missing store dir"
"$daemon" --socket-path="$work/no/such/dir/s.sock" --store=mem: 2>"$work/err"
[ $? -eq 1 ] && ok || bad "socket in a missing directory"
"$daemon" --fd=0 --store=mem: </dev/null 2>"$work/err"
[ $? -eq 1 ] && grep -q "not a UNIX domain socket" "$work/err" && ok || bad "--fd not a socket"
# expect_setup_error DESCRIPTION WORDS ARGS...: exit 1, one line, that
# says WORDS.
expect_setup_error() {
	local what=$1 words=$2 out status lines
	shift 2
	out=$("$daemon" --socket-path="$sock" "$@" 2>&1 >/dev/null)
	status=$?
	lines=$(printf '%s\n' "$out" | grep -vc ': info: ')
	if [ "$status" -eq 1 ] && [ "$lines" -eq 1 ] &&
	    printf '%s' "$out" | grep -q -- "$words"; then
		ok
	else
		bad "$what: exit $status, $lines lines: $out"
	fi
	[ ! -e "$sock" ] && ok || bad "$what: socket left behind"
}
# The CA bundle is read before anything else, whatever the store.
: > "$work/empty.pem"
expect_setup_error "missing CA file" "cannot read the CA file $work/no.pem (--s3-ca-file): No such file" \
    --store=mem: --s3-ca-file="$work/no.pem"
expect_setup_error "empty CA file" "the CA file $work/empty.pem (--s3-ca-file) is empty" \
    --store=mem: --s3-ca-file="$work/empty.pem"
expect_setup_error "CA file a directory" "cannot read the CA file $work (--s3-ca-file): Is a directory" \
    --store=mem: --s3-ca-file="$work"

# The virtiofsd spellings start the same daemon; SIGTERM ends it with 0.
for spelling in "-o source=$work/share,cache=none" "--shared-dir=$work/share" "--store=fs:$work/share"; do
	# shellcheck disable=SC2086
	"$daemon" --socket-path="$sock" $spelling --request-queues=2 2>"$work/log" &
	pid=$!
	# The socket is bound before "serving" is logged: wait for both.
	for _ in $(seq 200); do [ -S "$sock" ] && grep -q "serving" "$work/log" && break; sleep 0.05; done
	[ -S "$sock" ] && [ "$(stat -c %a "$sock")" = 600 ] && ok || bad "$spelling: no 0600 socket"
	grep -q "serving fs:$work/share" "$work/log" && ok || bad "$spelling: wrong store"
	# The hint is what --print-qemu-args prints (the guest tests boot
	# with that).
	attach=$("$daemon" --print-qemu-args --socket-path="$sock" --request-queues=2)
	grep -qF "attach a guest with: qemu-system-x86_64 $attach ...;" "$work/log" && ok || bad "$spelling: no attach hint"
	kill -TERM "$pid"
	wait "$pid"
	[ $? -eq 0 ] && ok || bad "$spelling: SIGTERM exit status"
	[ ! -e "$sock" ] && ok || bad "$spelling: socket left behind"
done

# The open-file limit: raised to the hard one by default, or as asked.
limits_of() { awk '/Max open files/ { print $4, $5 }' "/proc/$1/limits"; }
start_mem() {
	"$daemon" --socket-path="$sock" --store=mem: "$@" 2>"$work/log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
}
stop_daemon() { kill -TERM "$pid"; wait "$pid"; }
# The serving process: objfsd's child in its pid namespace, once it waits
# for a frontend (its epoll descriptor exists).  Under a loaded CI the set-up
# may take seconds: taking the outer process too early measured the wrong one.
server_of() {
	local c= _ f
	for _ in $(seq 600); do
		if grep -q "serving" "$work/log"; then
			c=$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null)
			for f in "/proc/${c:-$1}/fd/"*; do
				[ "$(readlink "$f")" = "anon_inode:[eventpoll]" ] && { echo "${c:-$1}"; return; }
			done
		fi
		sleep 0.05
	done
	echo "FAIL: objfsd $1 not serving after 30 s" >&2
	echo "${c:-$1}"
}
start_mem
read -r soft hard < <(limits_of "$(server_of "$pid")")
[ "$soft" = "$hard" ] && ok || bad "default open-file limit $soft, hard $hard"
stop_daemon
start_mem --rlimit-nofile=300
srv=$(server_of "$pid")
[ "$(limits_of "$srv" | cut -d' ' -f1)" = 300 ] && ok || bad "--rlimit-nofile=300: $(limits_of "$srv")"
stop_daemon
expect_usage_error "bad rlimit" --socket-path="$sock" --store=mem: --rlimit-nofile=-3

# Out of fds, a waiting connection must not make accept spin: the daemon
# pauses, and takes the frontend once fds are back.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
start_mem
srv=$(server_of "$pid")
# The lowest free descriptor: inherited ones may leave holes.
low=0
while [ -e "/proc/$srv/fd/$low" ]; do low=$((low + 1)); done
read -r soft hard < <(limits_of "$srv")
prlimit --pid "$srv" --nofile="$low:$hard"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(float(sys.argv[2]))' "$sock" 4 &
client=$!
sleep 0.5
t0=$(cpu_ticks "$srv")
sleep 2
t1=$(cpu_ticks "$srv")
[ $((t1 - t0)) -lt 40 ] && ok || bad "accept at EMFILE used $((t1 - t0)) ticks in 2 s"
grep -q "pausing new connections" "$work/log" && ok || bad "no pause logged at EMFILE"
prlimit --pid "$srv" --nofile="$soft:$hard"
for _ in $(seq 40); do grep -q "frontend connected" "$work/log" && break; sleep 0.1; done
grep -q "frontend connected" "$work/log" && ok || bad "frontend not accepted once fds were back"
wait "$client"
stop_daemon

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
