# SPDX-License-Identifier: Apache-2.0
# Sourced by tests that run several objfsd on one S3 server: each NAME
# has its socket $work/NAME.sock, cache directory $work/NAME-cache and log
# $work/NAME.log (appended to across restarts); its pid is $NAME_pid and
# joins $pids, which the test kills at exit.  Needs $work, $daemon and
# $ep (the S3 endpoint) set, and bad() defined.

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
