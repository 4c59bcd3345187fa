# SPDX-License-Identifier: Apache-2.0
# Helpers to boot a throw-away QEMU guest against a vhost-user-fs daemon.
# Sourced by the guest tests; needs qemu-system-x86_64, a Debian kernel with
# its virtiofs module, busybox-static and cpio.
#
# Kernel search order: $OBJFSD_GUEST_KERNEL_DIR (a directory holding a
# linux-image package unpacked with dpkg -x), /var/cache/objfsd/guest-kernel
# (where .ci/deps unpacks one), then the host's /boot and /lib/modules.

GUEST_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs"

# Sets GUEST_VMLINUZ and GUEST_MODDIR; fails when no usable kernel is found.
guest_find_kernel() {
	local root vmlinuz ver
	for root in "${OBJFSD_GUEST_KERNEL_DIR:-}" /var/cache/objfsd/guest-kernel ""; do
		[ -n "$root" ] || [ -z "${OBJFSD_GUEST_KERNEL_DIR:-}" ] || continue
		for vmlinuz in $(ls -r "$root"/boot/vmlinuz-* 2>/dev/null); do
			ver=${vmlinuz##*/vmlinuz-}
			[ -r "$vmlinuz" ] || continue
			if [ -n "$(find "$root/lib/modules/$ver" -name 'virtiofs.ko*' 2>/dev/null)" ]; then
				GUEST_VMLINUZ=$vmlinuz
				GUEST_MODDIR=$root/lib/modules/$ver
				return 0
			fi
		done
	done
	return 1
}

guest_tools_present() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 &&
	    command -v cpio >/dev/null 2>&1 &&
	    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff &&
	    ldd /bin/busybox 2>&1 | grep -q "not a dynamic"
}

# guest_prepare NAME: exits 77 (skip) without QEMU, busybox or a guest
# kernel; else sets work, a new directory removed at exit, after the
# daemon whose pid is in pid and any S3 server of s3server.sh stopped.
guest_prepare() {
	guest_tools_present || { echo "SKIP: qemu-system-x86_64, cpio or busybox-static missing"; exit 77; }
	guest_find_kernel || { echo "SKIP: no guest kernel with virtiofs.ko"; exit 77; }
	work=$(mktemp -d "/tmp/objfsd-$1.XXXXXX")
	pid=
	trap guest_cleanup EXIT
}

guest_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	command -v s3server_stop >/dev/null && s3server_stop
	rm -rf "$work"
}

# guest_build_initrd OUT.gz SCRIPT: an initramfs whose /init loads the
# virtio-fs modules, runs SCRIPT and powers off.  GUEST_EXTRA_BIN: static
# programs to put in its /bin beside busybox.
guest_build_initrd() {
	local out=$1 script=$2 tree m f
	tree=$(mktemp -d)
	mkdir -p "$tree"/bin "$tree"/proc "$tree"/sys "$tree"/dev "$tree"/mnt "$tree"/tmp "$tree"/lib/modules
	cp /bin/busybox "$tree"/bin/busybox
	for m in $GUEST_MODULES; do
		f=$(find "$GUEST_MODDIR" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] || { echo "guest: module $m not found in $GUEST_MODDIR" >&2; rm -rf "$tree"; return 1; }
		case $f in
		*.ko.xz) xz -dc "$f" > "$tree/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -dcq "$f" > "$tree/lib/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" > "$tree/lib/modules/$m.ko" ;;
		*) cp "$f" "$tree/lib/modules/$m.ko" ;;
		esac
	done
	cp "$script" "$tree"/test.sh
	for f in ${GUEST_EXTRA_BIN:-}; do cp "$f" "$tree"/bin/ || { rm -rf "$tree"; return 1; }; done
	cat > "$tree"/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs; do
	insmod /lib/modules/$m.ko || echo "OBJFSD-GUEST-MODULE-FAILED $m"
done
echo OBJFSD-GUEST-BOOTED
sh /test.sh
echo "OBJFSD-GUEST-EXIT $?"
sync
poweroff -f
INIT
	chmod +x "$tree"/init "$tree"/bin/busybox
	(cd "$tree" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$out"
	rm -rf "$tree"
}

# guest_run SOCKET INITRD CONSOLE_LOG TIMEOUT_SECONDS
# Boots the guest with the device options objfsd prints for SOCKET (the
# ones its log and the README show, so they are proven as printed);
# returns QEMU's status (124 when the timeout killed it).
guest_run() {
	local sock=$1 initrd=$2 log=$3 secs=$4 attach
	attach=$("${OBJFSD:-src/objfsd}" --print-qemu-args --socket-path="$sock") ||
	    return 1
	# shellcheck disable=SC2086 # the options are words
	timeout --kill-after=10 "$secs" qemu-system-x86_64 \
	    -machine q35 -cpu max -smp 2 \
	    -display none -no-user-config -nodefaults -no-reboot \
	    -serial "file:$log" \
	    -kernel "$GUEST_VMLINUZ" -initrd "$initrd" \
	    -append "console=ttyS0 quiet panic=-1 loglevel=4" \
	    $attach
}

# wait_for_log FILE STRING SECONDS
wait_for_log() {
	local i=0
	while [ "$i" -lt $(( $3 * 10 )) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
