#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A QEMU guest boots with vhost-user-fs-pci attached to the daemon and
# brings its request queue up.  Exit 77 (skip) when QEMU, a guest kernel
# or busybox are not installed.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/guest.sh"

daemon=${SMOKE_DAEMON:-${OBJFSD:-src/objfsd}}
guest_tools_present || { echo "SKIP: qemu-system-x86_64, cpio or busybox-static missing"; exit 77; }
guest_find_kernel || { echo "SKIP: no guest kernel with virtiofs.ko"; exit 77; }

work=$(mktemp -d /tmp/objfsd-smoke.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/test.sh" <<'GUEST'
ls /sys/bus/virtio/drivers/virtiofs/ | grep -q virtio && echo OBJFSD-VIRTIOFS-BOUND
GUEST
guest_build_initrd "$work/initrd.gz" "$work/test.sh" || exit 1

"$daemon" --socket-path="$work/vu.sock" ${SMOKE_DAEMON_ARGS:---store=mem:} 2> "$work/daemon.log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/vu.sock" ] && break; sleep 0.1; done

guest_run "$work/vu.sock" "$work/initrd.gz" "$work/console.log" 180
status=$?
echo "--- guest console"; cat "$work/console.log"
echo "--- daemon log"; cat "$work/daemon.log"
[ "$status" -eq 0 ] || { echo "FAIL: QEMU exited with $status"; exit 1; }
grep -q OBJFSD-VIRTIOFS-BOUND "$work/console.log" || { echo "FAIL: virtiofs did not bind"; exit 1; }
grep -q "queue 1 started" "$work/daemon.log" || { echo "FAIL: request queue never started"; exit 1; }
kill -0 "$pid" || { echo "FAIL: daemon died"; exit 1; }
kill -TERM "$pid"; wait "$pid"; dstatus=$?; pid=
[ "$dstatus" -eq 0 ] || { echo "FAIL: daemon exited with $dstatus"; exit 1; }
echo "PASS: guest booted and the request queue started"
