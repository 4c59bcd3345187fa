#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd and s3fs read each other's buckets: files written through objfs
# read back through an s3fs mount with the same bytes, mode, owner and
# mtime (and symlinks, directories, xattrs, device nodes), and the other
# way round.
# On each S3 server of s3server.sh.  Skip (77) without s3fs, /dev/fuse,
# an S3 server or root.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/s3server.sh"
cli=${OBJFS_CLI:-tests/lib/objfs_cli}
command -v s3fs >/dev/null || { echo "SKIP: s3fs not installed"; exit 77; }
[ -c /dev/fuse ] && [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root and /dev/fuse"; exit 77; }
s3server_each "$0"

work=$(mktemp -d /tmp/objfsd-interop.XXXXXX)
mnt=$work/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	s3server_stop
	rm -rf "$work"
}
trap cleanup EXIT
s3server_start "$S3_SERVER" "$work" interop || exit 1
url=s3://interop/shared
pass=0
fail=0
check() {
	if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: '$2' != '$3'"; fi
}

echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" > "$work/passwd"
chmod 600 "$work/passwd"
mkdir "$mnt"
mount_s3fs() {
	s3fs interop:/shared "$mnt" -o url="$OBJFSD_TEST_S3_ENDPOINT" \
	    -o use_path_request_style -o passwd_file="$work/passwd" \
	    -o use_xattr -o stat_cache_expire=1 || return 1
	for _ in $(seq 50); do mountpoint -q "$mnt" && return 0; sleep 0.1; done
	return 1
}

# objfsd writes...
head -c 100000 /dev/urandom > "$work/blob"
"$cli" $url put blob 640 1000 1001 1577836801 < "$work/blob" || fail=$((fail + 1))
"$cli" $url mkdir dir 750 || fail=$((fail + 1))
printf 'inner text' | "$cli" $url put dir/inner 600 0 0 1600000000 || fail=$((fail + 1))
"$cli" $url symlink blob link || fail=$((fail + 1))
"$cli" $url setxattr blob user.color blue || fail=$((fail + 1))
"$cli" $url mknod chr c 640 4 300 || fail=$((fail + 1))

# ... s3fs reads.
mount_s3fs || { echo "SKIP: s3fs cannot mount here"; exit 77; }
check "blob bytes" "$(md5sum < "$mnt/blob")" "$(md5sum < "$work/blob")"
check "blob mode/owner/mtime" "$(stat -c '%a %u %g %Y %s' "$mnt/blob")" "640 1000 1001 1577836801 100000"
check "dir" "$(stat -c '%F %a' "$mnt/dir")" "directory 750"
check "inner" "$(cat "$mnt/dir/inner")" "inner text"
check "inner meta" "$(stat -c '%a %Y' "$mnt/dir/inner")" "600 1600000000"
check "link" "$(readlink "$mnt/link")" "blob"
check "xattr" "$(getfattr --only-values -n user.color "$mnt/blob" 2>/dev/null)" "blue"
# s3fs reads a device node's type and mode from x-amz-meta-mode but
# keeps no device number (its mknod drops it, its stat says 0).
check "chr" "$(stat -c '%F %a %s' "$mnt/chr")" "character special file 640 0"

# s3fs writes...
head -c 300000 /dev/urandom > "$work/blob2"
cp "$work/blob2" "$mnt/fromfs"
chmod 604 "$mnt/fromfs"
chown 1234:4321 "$mnt/fromfs"
touch -d @1500000000 "$mnt/fromfs"
mkdir "$mnt/fsdir"
echo "deep" > "$mnt/fsdir/deep"
ln -s fsdir/deep "$mnt/fslink"
mknod -m 660 "$mnt/fsblk" b 8 1
chmod 604 "$mnt/chr"
setfattr -n user.shade -v dark "$mnt/fromfs" 2>/dev/null || true
sync
umount "$mnt"

# ... objfsd reads.
check "fromfs bytes" "$("$cli" $url cat fromfs | md5sum)" "$(md5sum < "$work/blob2")"
check "fromfs meta" "$("$cli" $url stat fromfs)" "f 604 1234 4321 300000 1500000000"
check "fsdir" "$("$cli" $url stat fsdir | cut -d' ' -f1)" "d"
check "fsdir listing" "$("$cli" $url ls fsdir)" "deep"
check "deep" "$("$cli" $url cat fsdir/deep)" "deep"
check "fslink" "$("$cli" $url readlink fslink)" "fsdir/deep"
check "fslink type" "$("$cli" $url stat fslink | cut -d' ' -f1)" "l"
check "shade" "$("$cli" $url getxattr fromfs user.shade 2>/dev/null)" "dark"
# s3fs's chmod kept objfsd's x-amz-meta-rdev.
check "chr after s3fs" "$("$cli" $url stat chr | cut -d' ' -f1,2,5,7)" "c 604 0 4,300"
check "fsblk" "$("$cli" $url stat fsblk | cut -d' ' -f1,2,5,7)" "b 660 0 0,0"
check "root listing" "$("$cli" $url ls / | tr '\n' ' ')" "blob chr dir fromfs fsblk fsdir fslink link "

echo "s3fs interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
