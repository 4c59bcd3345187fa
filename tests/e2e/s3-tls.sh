#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# S3 over HTTPS on Ceph RGW, and credentials RGW refuses, on one private
# Ceph (tests/lib/rgw.sh, RGW_TLS_HOST): radosgw serves HTTPS with a
# certificate for rgw.objfsd.test from a CA made for the run.  objfsd
# runs with its default sandbox (namespace, as root) and --seccomp=kill
# in a mount namespace of its own whose /etc/hosts names that host, so
# name resolution and TLS happen inside the sandbox under the
# allow-list; FUSE requests come from fuse_cli through its socket.
#   - with --s3-ca-file: files put, listed and read back through objfsd
#     are whole, RGW has them (curl over HTTPS with the CA), and the
#     serving process is alive and filtered afterwards;
#   - without it: exit 1 and one line about the certificate, no crash;
#   - a wrong secret or an unknown access key at start: exit 1 and one
#     line naming the access key id, never a secret;
#   - the key removed while serving: the guest gets EACCES, the log one
#     line for the whole burst; the key back, it works again.
# Root only (the private /etc/hosts is a bind mount); skip (77) without
# Ceph.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/rgw.sh"
daemon=${OBJFSD:-src/objfsd}
cli=${FUSE_CLI:-tests/lib/fuse_cli}
host=rgw.objfsd.test
rgw_present || { echo "SKIP: Ceph RGW not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root (the private /etc/hosts is a bind mount)"; exit 77; }
for b in openssl unshare curl; do
	command -v "$b" >/dev/null || { echo "SKIP: $b not installed"; exit 77; }
done
work=$(mktemp -d /tmp/objfsd-tls.XXXXXX)
pid=
stop_daemon() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	pid=
	return $status
}
cleanup() {
	stop_daemon
	rgw_stop
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $case: $*"; }

RGW_TLS_HOST=$host rgw_start "$work/ceph" tls || exit 1
endpoint=https://$host:$RGW_TLS_PORT
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$host" > "$work/hosts"
mkdir "$work/cache"
# The sanitizers' leak checker needs calls the allow-list refuses: there
# the default (log) stands.
seccomp=--seccomp=kill
[ -n "${OBJFSD_SANITIZERS:-}" ] && seccomp=

# objfsd ARGS...: the daemon on the HTTPS endpoint, in a mount namespace
# where /etc/hosts knows $host (the machine's stays as it is); $wrap
# runs before it.  It execs: run it in a subshell or in the background.
wrap=
objfsd() {
	# shellcheck disable=SC2016,SC2086
	exec $wrap unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
	    "$work/hosts" "$daemon" --socket-path="$work/sock" \
	    --store=s3://tls/files --s3-endpoint="$endpoint" --s3-path-style \
	    --cache-dir="$work/cache" $seccomp "$@"
}

# start LOG ARGS...: objfsd in the background, until it serves.
start() {
	local log=$1
	shift
	objfsd "$@" 2>"$log" &
	pid=$!
	for _ in $(seq 300); do
		grep -q "serving" "$log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	bad "did not start: $(cat "$log")"
	return 1
}

# refused LOG ARGS...: objfsd must exit 1 with one warning line, no
# more, and not be killed; sets $line to it.
refused() {
	local log=$1 st n
	shift
	(wrap="timeout 120" objfsd "$@" 2>"$log")
	st=$?
	[ "$st" -eq 1 ] && ok || bad "exit $st (want 1): $(cat "$log")"
	n=$(grep -c ': warn: ' "$log")
	[ "$n" -eq 1 ] && ok || bad "$n warning lines (want 1): $(cat "$log")"
	grep -q "killed by signal" "$log" && bad "killed: $(cat "$log")" || ok
	line=$(grep ': warn: ' "$log")
	echo "$case: $line"
}

# The server process: the child in objfsd's pid namespace.
server() {
	local c
	c=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children" 2>/dev/null)
	echo "${c:-$pid}"
}

# s3get KEY: the object as RGW has it, over HTTPS, trusting the CA.
s3get() {
	curl -sf --cacert "$RGW_CA" --resolve "$host:$RGW_TLS_PORT:127.0.0.1" \
	    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_KEY:$RGW_SECRET" \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "$endpoint/tls/files/$1"
}

# --- Files through objfsd over HTTPS, the CA given -------------------------
case=https; echo "[$SECONDS s] $case"
start "$work/https.log" --s3-ca-file="$RGW_CA" || exit 1
grep -q "$endpoint" "$work/https.log" && ok || bad "not on $endpoint: $(cat "$work/https.log")"
echo "hello over TLS" > "$work/small"
head -c $((3 << 20)) /dev/urandom > "$work/big"
"$cli" "$work/sock" put small < "$work/small" && ok || bad "put small"
"$cli" "$work/sock" put big < "$work/big" && ok || bad "put big"
"$cli" "$work/sock" mkdir sub && ok || bad "mkdir sub"
"$cli" "$work/sock" put sub/inner < "$work/small" && ok || bad "put sub/inner"
names=$("$cli" "$work/sock" ls | sort | tr '\n' ' ')
[ "$names" = "big small sub " ] && ok || bad "ls: $names"
[ "$("$cli" "$work/sock" ls sub)" = inner ] && ok || bad "ls sub"
for f in small big; do
	"$cli" "$work/sock" cat "$f" > "$work/back" && cmp -s "$work/back" "$work/$f" &&
	    ok || bad "$f read back differs"
	s3get "$f" > "$work/back" && cmp -s "$work/back" "$work/$f" &&
	    ok || bad "RGW over HTTPS has another $f"
done
s3get sub/inner | cmp -s - "$work/small" && ok || bad "RGW has another sub/inner"
srv=$(server)
[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$srv/status")" = 2 ] && ok ||
    bad "the server has no seccomp filter"
# It survived resolving and TLS under the allow-list, and leaves cleanly.
stop_daemon && ok || bad "exit status $status: $(tail -n 3 "$work/https.log")"
grep -E "killed|seccomp" "$work/https.log" && bad "$(grep -E 'killed|seccomp' "$work/https.log")" || ok
grep ': warn: ' "$work/https.log" && bad "warnings" || ok

# --- Without the CA: one line about the certificate ----------------------
case=untrusted; echo "[$SECONDS s] $case"
refused "$work/untrusted.log"
case $line in
*"certificate"*"--s3-ca-file"*) ok ;;
*) bad "no word of the certificate: $line" ;;
esac

# --- Refused credentials at start ------------------------------------------
case=wrong-secret; echo "[$SECONDS s] $case"
wrong=wrongsecret0123456789abcdefghijklmnopqrstu
AWS_SECRET_ACCESS_KEY=$wrong refused "$work/secret.log" --s3-ca-file="$RGW_CA"
case $line in
*"access key $RGW_KEY"*SignatureDoesNotMatch*) ok ;;
*) bad "does not name the key and the refusal: $line" ;;
esac
grep -qe "$wrong" -e "$RGW_SECRET" "$work/secret.log" && bad "a secret in the log" || ok

case=unknown-key; echo "[$SECONDS s] $case"
AWS_ACCESS_KEY_ID=NOSUCHKEY000 refused "$work/key.log" --s3-ca-file="$RGW_CA"
case $line in
*"access key NOSUCHKEY000"*InvalidAccessKeyId*) ok ;;
*) bad "does not name the key and the refusal: $line" ;;
esac

# --- The key removed while serving ------------------------------------------
case=revoked; echo "[$SECONDS s] $case"
start "$work/revoked.log" --s3-ca-file="$RGW_CA" || exit 1
"$cli" "$work/sock" put before < "$work/small" && ok || bad "put before"
# A file created now and closed once the key is gone: its upload fails.
mkfifo "$work/fifo"
"$cli" "$work/sock" put late < "$work/fifo" 2>"$work/late.err" &
late=$!
exec 7>"$work/fifo"
for _ in $(seq 100); do s3get late >/dev/null 2>&1 && break; sleep 0.05; done
s3get late >/dev/null 2>&1 && ok || bad "late was not created"
radosgw-admin key rm --uid=objfsd --key-type=s3 --access-key="$RGW_KEY" \
    > "$work/keyrm.log" 2>&1 || bad "key rm: $(cat "$work/keyrm.log")"
# RGW drops its cached copy of the user on a notification: wait for it.
for _ in $(seq 50); do
	s3get before >/dev/null 2>&1 || break
	sleep 0.1
done
cat "$work/small" >&7
exec 7>&-
wait "$late"
st=$?
[ "$st" -eq 3 ] && grep -q "close late: Permission denied" "$work/late.err" && ok ||
    bad "late upload: exit $st, $(cat "$work/late.err")"
denied=0
for i in $(seq 8); do
	"$cli" "$work/sock" put "during$i" < "$work/small" 2>>"$work/guest.err"
	"$cli" "$work/sock" ls 2>>"$work/guest.err" >/dev/null
done
denied=$(grep -c "Permission denied" "$work/guest.err")
[ "$denied" -eq 16 ] && ok || bad "$denied of 16 calls got EACCES: $(sort "$work/guest.err" | uniq -c)"
echo "$case: $(grep "refused by" "$work/revoked.log")"
n=$(grep -c "refused by" "$work/revoked.log")
[ "$n" -eq 1 ] && ok || bad "$n log lines about the refusal (want 1)"
# Besides: where the bytes of the refused upload of late are kept.
others=$(grep ': warn: ' "$work/revoked.log" | grep -v "refused by" |
    grep -vc -e "upload of late (" -e " late: closed, but its upload failed; its bytes are kept")
[ "$others" -eq 0 ] && ok || bad "more warnings: $(grep ': warn: ' "$work/revoked.log" | grep -v 'refused by' | head -n 5)"
grep -q "access key $RGW_KEY refused by $endpoint" "$work/revoked.log" && ok ||
    bad "the line does not name the key: $(grep 'refused by' "$work/revoked.log")"
# The key back: it serves again.
radosgw-admin key create --uid=objfsd --key-type=s3 --access-key="$RGW_KEY" \
    --secret-key="$RGW_SECRET" > "$work/keyadd.log" 2>&1 || bad "key create: $(cat "$work/keyadd.log")"
for _ in $(seq 50); do
	s3get before >/dev/null 2>&1 && break
	sleep 0.1
done
"$cli" "$work/sock" put after < "$work/small" && ok || bad "put after the key came back"
"$cli" "$work/sock" cat before | cmp -s - "$work/small" && ok || bad "cat before"
stop_daemon && ok || bad "exit status $status"

echo "s3-tls: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
