#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A QEMU guest mounts objfsd with `mount -t virtiofs` and runs a workload:
# a tree of files with checksums, renames, rm -r, ls -l, chmod/chown,
# symlinks, a 64 MiB dd round trip and a directory of 2,000 files.  The
# guest checks what it can see; this script then checks the store on the
# host.  Runs once per store given in GUEST_STORES (default: fs, fs-xattr,
# mem and s3, the last once per S3 server of tests/lib/s3server.sh that is
# installed: s3rver and Ceph RGW); fs-xattr is fs: served by objfsd as the
# unprivileged user nobody, with the guest's owners, set-id bits and
# special files kept as records.
# Exit 77 (skip) only when QEMU, a guest kernel or busybox are missing.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/guest.sh"
. "$srcdir/tests/lib/s3server.sh"

daemon=${OBJFSD:-src/objfsd}
guest_prepare e2e

cat > "$work/test.sh" <<'GUEST'
M=/mnt
pass=0
fail=0
check() {
	if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

mount -t virtiofs objfs $M || { echo "RESULT: 0 passed, 1 failed"; exit 1; }
check "mounted" "grep -q ' $M virtiofs ' /proc/mounts"

# A tree of files, checksummed, read back after the page cache is gone.
mkdir -p $M/tree/a/b/c $M/tree/d
i=1
while [ $i -le 20 ]; do
	dd if=/dev/urandom of=$M/tree/a/f$i bs=1k count=$i 2>/dev/null
	dd if=/dev/urandom of=$M/tree/a/b/c/g$i bs=777 count=$i 2>/dev/null
	i=$((i + 1))
done
(cd $M/tree && find . -type f | sort | xargs md5sum) > /tmp/sums
drop_caches
check "tree checksums" "(cd $M/tree && md5sum -c -s /tmp/sums)"
check "tree file count" "[ \$(find $M/tree -type f | wc -l) -eq 40 ]"
sum_f2=$(md5sum < $M/tree/a/f2)

# Renames: a file across directories, then a whole directory.
mv $M/tree/a/f1 $M/tree/d/renamed
check "file renamed" "[ -f $M/tree/d/renamed ] && [ ! -e $M/tree/a/f1 ]"
mv $M/tree/a $M/tree/a2
check "dir renamed" "[ -d $M/tree/a2/b/c ] && [ ! -e $M/tree/a ]"
drop_caches
check "content after rename" "[ \"\$(md5sum < $M/tree/a2/f2)\" = \"$sum_f2\" ]"

# ls -l sees names, types and sizes.
check "ls -l sizes" "ls -l $M/tree/a2 | grep -q ' 3072 .* f3\$'"
check "ls -l count" "[ \$(ls -l $M/tree/a2 | grep -c ' f[0-9]') -eq 19 ]"
check "ls -l dir" "ls -l $M/tree/a2 | grep -q '^d.* b\$'"

# Modes and owners, as the guest kernel enforces them.
chmod 640 $M/tree/a2/f2
chown 1234:5678 $M/tree/a2/f2
drop_caches
check "chmod" "[ \$(stat -c %a $M/tree/a2/f2) = 640 ]"
check "chown" "[ \$(stat -c %u:%g $M/tree/a2/f2) = 1234:5678 ]"
chmod 4755 $M/tree/a2/f3
check "setuid bit" "[ \$(stat -c %a $M/tree/a2/f3) = 4755 ]"
touch -d '2001-02-03 04:05:06' $M/tree/a2/f4
check "utimes" "[ \$(stat -c %Y $M/tree/a2/f4) -eq 981173106 ]"

# Symlinks.
ln -s a2/f2 $M/tree/link
check "readlink" "[ \$(readlink $M/tree/link) = a2/f2 ]"
check "through link" "cmp -s $M/tree/link $M/tree/a2/f2"
check "link type" "[ -L $M/tree/link ]"

# 64 MiB there and back.
dd if=/dev/urandom of=/tmp/src bs=1M count=64 2>/dev/null
dd if=/tmp/src of=$M/big bs=1M 2>/dev/null
drop_caches
check "64 MiB round trip" "cmp -s /tmp/src $M/big"
check "64 MiB size" "[ \$(stat -c %s $M/big) -eq 67108864 ]"
echo "BIGSUM $(md5sum < /tmp/src | cut -d' ' -f1)"

# A directory of 2,000 files.
mkdir $M/many
i=0
while [ $i -lt 2000 ]; do echo $i > $M/many/f$i; i=$((i + 1)); done
drop_caches
check "2000 entries" "[ \$(ls $M/many | wc -l) -eq 2000 ]"
check "2000 entries ls -l" "[ \$(ls -l $M/many | grep -c '^-') -eq 2000 ]"
check "file 1999" "[ \$(cat $M/many/f1999) = 1999 ]"

# Overwrite, append, truncate.
echo one > $M/rw; echo two >> $M/rw
check "append" "[ \"\$(cat $M/rw)\" = \"\$(printf 'one\ntwo')\" ]"
: > $M/rw
check "truncate" "[ \$(stat -c %s $M/rw) -eq 0 ]"

# rm -r of a tree.
rm -r $M/tree
check "rm -r" "[ ! -e $M/tree ]"
check "rmdir non-empty refused" "! rmdir $M/many 2>/dev/null"
check "hard link refused" "! ln $M/rw $M/rw2 2>/dev/null"

# Owners, set-id bits and special files, left for the host to check.
mkdir $M/owners
echo x > $M/owners/chowned
chown 4321:8765 $M/owners/chowned
echo x > $M/owners/suid
chmod 4755 $M/owners/suid
mkfifo $M/owners/fifo
drop_caches
check "owners: chown" "[ \$(stat -c %u:%g $M/owners/chowned) = 4321:8765 ]"
check "owners: chmod 4755" "[ \$(stat -c %a $M/owners/suid) = 4755 ]"
check "owners: fifo" "[ -p $M/owners/fifo ]"
check "owners: fifo carries data" "( echo ping > $M/owners/fifo & ) ; [ \"\$(cat $M/owners/fifo)\" = ping ]"
# Device nodes only where the store keeps them (EPERM elsewhere).
if mknod $M/owners/null c 1 3 2>/dev/null; then
	drop_caches
	check "owners: char device 1:3" "[ -c $M/owners/null ] && [ \$(stat -c %t:%T $M/owners/null) = 1:3 ]"
	# The guest's /dev/null takes the write, not the file behind it.
	echo data > $M/owners/null
	echo "DEVICES made"
fi

# Symlinks planted on the host (fs: only) are links for the guest, which
# resolves them in its own tree: neither reaches the host's files.
if [ -L $M/planted-file ]; then
	check "planted link stays a link" "[ -L $M/planted-dir ]"
	check "host file not read" "! grep -q 'host secret' $M/planted-file 2>/dev/null"
	check "host dir not listed" "[ ! -e $M/planted-dir/inner ]"
	echo pwned > $M/planted-file 2>/dev/null
	echo pwned > $M/planted-dir/new 2>/dev/null
	echo pwned > $M/after-swap
fi

umount $M
check "umount" "! grep -q ' $M ' /proc/mounts"
echo "RESULT: $pass passed, $fail failed"
[ $fail -eq 0 ]
GUEST
guest_build_initrd "$work/initrd.gz" "$work/test.sh" || exit 1

# run_store NAME URL [OPTIONS]: boot the guest against objfsd on URL.
# AS_USER: start objfsd as that user (its socket and cache in USER_DIR).
run_store() {
	local name=$1 url=$2 dir=${USER_DIR:-$work}
	local sock="$dir/$name.sock" log="$work/$name-daemon.log" console="$work/$name-console.log"
	local as=()
	shift 2

	[ -n "${AS_USER:-}" ] && as=(setpriv --reuid="$AS_USER" --regid="$(id -g "$AS_USER")" --clear-groups --inh-caps=-all)
	"${as[@]}" "$daemon" --socket-path="$sock" --store="$url" --cache-dir="$dir" "$@" 2> "$log" &
	pid=$!
	for _ in $(seq 100); do grep -q "serving" "$log" && break; sleep 0.1; done
	if [ -n "${SWAP_STORE:-}" ]; then
		mv "$SWAP_STORE" "$SWAP_STORE.served"
		ln -s "$work/decoy" "$SWAP_STORE"
	fi
	guest_run "$sock" "$work/initrd.gz" "$console" 600
	status=$?
	echo "--- $name: guest console"; cat "$console"
	kill -TERM "$pid"; wait "$pid"; dstatus=$?; pid=
	echo "--- $name: daemon log"; cat "$log"
	[ "$status" -eq 0 ] || { echo "FAIL: $name: QEMU exited with $status"; return 1; }
	[ "$dstatus" -eq 0 ] || { echo "FAIL: $name: objfsd exited with $dstatus"; return 1; }
	grep -q "^RESULT: [0-9]* passed, 0 failed" "$console" || { echo "FAIL: $name: guest checks failed"; return 1; }
	BIGSUM=$(sed -n 's/^BIGSUM //p' "$console" | tr -d '\r')
	return 0
}

failed=0
# The host side of an fs-xattr run: every file is the daemon's, owner-only,
# regular (or a directory or link), never set-id; the records say the rest.
check_xattr_host() {
	local share=$1 user=$2 bad
	rec() { python3 -c 'import os,struct,sys; print(*struct.unpack("<6I", os.getxattr(sys.argv[1], "user.objfsd.stat")))' "$1"; }

	bad=$(find "$share" ! -user "$user" | head -3)
	[ -z "$bad" ] || { echo "FAIL: fs-xattr: host files not owned by $user: $bad"; return 1; }
	bad=$(find "$share" -perm /7000 | head -3)
	[ -z "$bad" ] || { echo "FAIL: fs-xattr: set-id or sticky host files: $bad"; return 1; }
	bad=$(find "$share" ! -type f ! -type d ! -type l | head -3)
	[ -z "$bad" ] || { echo "FAIL: fs-xattr: special files on the host: $bad"; return 1; }
	bad=$(find "$share" ! -type l -perm /077 | head -3)
	[ -z "$bad" ] || { echo "FAIL: fs-xattr: host files open to group or others: $bad"; return 1; }
	# version, st_mode, uid, gid, major, minor
	[ "$(rec "$share/owners/chowned" | cut -d' ' -f3,4)" = "4321 8765" ] || { echo "FAIL: fs-xattr: chown record: $(rec "$share/owners/chowned")"; return 1; }
	[ "$(rec "$share/owners/suid" | cut -d' ' -f2)" = $((0100000 | 04755)) ] || { echo "FAIL: fs-xattr: setuid record: $(rec "$share/owners/suid")"; return 1; }
	[ "$(rec "$share/owners/fifo" | cut -d' ' -f2)" = $((0010000 | 0644)) ] || { echo "FAIL: fs-xattr: fifo record: $(rec "$share/owners/fifo")"; return 1; }
	[ "$(rec "$share/owners/null" | cut -d' ' -f1,2,5,6)" = "1 $((0020000 | 0644)) 1 3" ] || { echo "FAIL: fs-xattr: device record: $(rec "$share/owners/null")"; return 1; }
	[ ! -s "$share/owners/null" ] || { echo "FAIL: fs-xattr: the guest's device write reached the host file"; return 1; }
	return 0
}

for store in ${GUEST_STORES:-fs fs-xattr mem s3}; do
	case $store in
	fs)
		mkdir -p "$work/share" "$work/outside" "$work/decoy"
		echo "host secret" > "$work/secret"
		echo inner > "$work/outside/inner"
		ln -s "$work/secret" "$work/share/planted-file"
		ln -s "$work/outside" "$work/share/planted-dir"
		# Once objfsd serves it, the store directory is swapped for a
		# symlink to a decoy: objfsd keeps serving the directory it
		# opened, and nothing reaches the decoy.
		SWAP_STORE=$work/share run_store fs "fs:$work/share" || { failed=1; continue; }
		rm "$work/share" && mv "$work/share.served" "$work/share"
		[ "$(cat "$work/secret")" = "host secret" ] || { echo "FAIL: fs: a planted link wrote the host file"; failed=1; }
		[ "$(ls "$work/outside")" = inner ] || { echo "FAIL: fs: a planted link wrote into a host directory"; failed=1; }
		[ -z "$(ls -A "$work/decoy")" ] || { echo "FAIL: fs: the guest wrote through the swapped store path"; failed=1; }
		[ -f "$work/share/after-swap" ] || { echo "FAIL: fs: the guest's write after the swap is not in the store"; failed=1; }
		# What the guest left is there on the host, as itself.
		[ "$(ls "$work/share/many" | wc -l)" -eq 2000 ] || { echo "FAIL: fs: host sees $(ls "$work/share/many" | wc -l) files"; failed=1; }
		[ "$(md5sum < "$work/share/big" | cut -d' ' -f1)" = "$BIGSUM" ] || { echo "FAIL: fs: big differs on the host"; failed=1; }
		[ ! -e "$work/share/tree" ] || { echo "FAIL: fs: tree still on the host"; failed=1; }
		ls "$work/share" | grep -q objfsd-tmp && { echo "FAIL: fs: temporary files left"; failed=1; }
		;;
	fs-xattr)
		# objfsd as nobody, in a directory of nobody's: no root at all.
		chmod 711 "$work"
		mkdir -p "$work/u/share"
		chmod 700 "$work/u/share"
		chown -R nobody "$work/u"
		AS_USER=nobody USER_DIR=$work/u run_store fs-xattr "fs:$work/u/share" || { failed=1; continue; }
		grep -q "^DEVICES made" "$work/fs-xattr-console.log" || { echo "FAIL: fs-xattr: mknod c 1 3 was refused"; failed=1; }
		check_xattr_host "$work/u/share" nobody || failed=1
		[ "$(ls "$work/u/share/many" | wc -l)" -eq 2000 ] || { echo "FAIL: fs-xattr: host sees $(ls "$work/u/share/many" | wc -l) files"; failed=1; }
		[ "$(md5sum < "$work/u/share/big" | cut -d' ' -f1)" = "$BIGSUM" ] || { echo "FAIL: fs-xattr: big differs on the host"; failed=1; }
		;;
	mem)
		run_store mem "mem:" || failed=1
		;;
	s3)
		# Once per S3 server of s3server.sh (s3rver, Ceph RGW).
		for kind in $(s3server_kinds); do
			s3server_start "$kind" "$work/s3-$kind" e2e || { failed=1; continue; }
			run_store "s3-$kind" "s3://e2e/guest" --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" \
			    || { s3server_stop; failed=1; continue; }
			cli=${OBJFS_CLI:-tests/lib/objfs_cli}
			[ "$("$cli" s3://e2e/guest ls many | wc -l)" -eq 2000 ] || { echo "FAIL: s3 on $kind: bucket lacks the 2000 files"; failed=1; }
			[ "$("$cli" s3://e2e/guest cat big | md5sum | cut -d' ' -f1)" = "$BIGSUM" ] || { echo "FAIL: s3 on $kind: big differs in the bucket"; failed=1; }
			"$cli" s3://e2e/guest stat tree >/dev/null 2>&1 && { echo "FAIL: s3 on $kind: tree still in the bucket"; failed=1; }
			s3server_stop
		done
		;;
	esac
done
[ "$failed" -eq 0 ] && echo "PASS: guest workload on ${GUEST_STORES:-fs fs-xattr mem s3}"
exit "$failed"
