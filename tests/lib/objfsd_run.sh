# SPDX-License-Identifier: Apache-2.0
# Sourced by tests that run several objfsd on one S3 server: each NAME
# has its socket $work/NAME.sock, cache directory $work/NAME-cache and log
# $work/NAME.log (appended to across restarts); its pid is $NAME_pid and
# joins $pids, which the test kills at exit.  objfsd_test_init makes
# $work and the counting; $ep is the S3 endpoint objfsd is started on.

# objfsd_test_init NAME: $work (/tmp/objfsd-NAME.*), $daemon, $cli, ok()
# and bad() counting into $pass and $fail, and at exit every pid in
# $pids killed, the S3 server stopped and $work removed.
objfsd_test_init() {
	daemon=${OBJFSD:-src/objfsd}
	cli=${FUSE_CLI:-tests/lib/fuse_cli}
	work=$(mktemp -d "/tmp/objfsd-$1.XXXXXX")
	pids=
	pass=0
	fail=0
	trap objfsd_test_cleanup EXIT
}

objfsd_test_cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	s3server_stop
	rm -rf "$work"
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# objfsd_start NAME STORE ARGS...: in the background until it serves.
objfsd_start() {
	local name=$1 store=$2 before
	shift 2
	mkdir -p "$work/$name-cache"
	before=$(grep -c "serving" "$work/$name.log" 2>/dev/null)
	"$daemon" --socket-path="$work/$name.sock" --store="$store" \
	    --s3-endpoint="$ep" --cache-dir="$work/$name-cache" "$@" \
	    2>>"$work/$name.log" &
	eval "${name}_pid=$!"
	pids="$pids $!"
	for _ in $(seq 300); do
		[ "$(grep -c "serving" "$work/$name.log")" -gt "${before:-0}" ] &&
		    return 0
		sleep 0.1
	done
	bad "objfsd $name did not start: $(tail -n 5 "$work/$name.log")"
	return 1
}

# objfsd_stop NAME: SIGTERM, and wait for it.
objfsd_stop() {
	local p
	eval "p=\$${1}_pid"
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# objfsd_kill NAME: SIGKILL to the process that serves (inside the
# sandbox) first, then to its parent, as a crash would take them.
objfsd_kill() {
	local p q
	eval "p=\$${1}_pid"
	for q in $(pgrep -P "$p") "$p"; do kill -9 "$q" 2>/dev/null; done
	wait "$p" 2>/dev/null
}
