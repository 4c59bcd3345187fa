#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# POSIX conformance in a QEMU guest: the guest mounts objfsd with
# `mount -t virtiofs` and runs, as root and as unprivileged uids, system
# calls through tests/lib/fstest (static, in the initramfs), pjdfstest's
# way: each case names a rule and the result POSIX and Linux give.  Runs
# once per store in GUEST_STORES (default: fs, mem and s3 on every S3
# server of tests/lib/s3server.sh that is installed).  Where objfsd does
# not follow POSIX by design, the case expects what objfsd does and says
# so with "by design:" in its name (hard links; reads leave the access
# time; on s3:, keys of at most 1,024 bytes; on object stores, directory
# rename key by key).
# Exit 77 (skip) only when QEMU, a guest kernel or busybox are missing.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/lib/guest.sh"
. "$srcdir/tests/lib/s3server.sh"

daemon=${OBJFSD:-src/objfsd}
guest_prepare posix

${CC:-cc} -static -O2 -o "$work/fstest" "$srcdir/tests/lib/fstest.c" ||
    { echo "FAIL: cannot build a static fstest"; exit 1; }

cat > "$work/posix.sh" <<'GUEST'
M=/mnt
pass=0
fail=0
# expect WANT CALL...: fstest's lines, joined by spaces, are WANT.
expect() {
	local want=$1 got
	shift
	got=$(fstest "$@" 2>&1 | tr '\n' ' ')
	got=${got% }
	if [ "$got" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		local args="$*"
		[ ${#args} -le 160 ] || args="${args%"${args#????????????????????????????????????????????????????????????}"}...(${#args} bytes)"
		echo "FAIL: $CASE: fstest $args -> '$got', want '$want'"
	fi
}
# is NAME VALUE WANT
is() {
	if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: '$2', want '$3'"; fi
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
st() { fstest lstat "$1" "$2"; }
# A name of N bytes.
name_of() { printf "%0$1d" 0 | tr 0 "${2:-n}"; }

mount -t virtiofs objfs $M || { echo "RESULT: 0 passed, 1 failed"; exit 1; }
cd $M || exit 1
mkdir d

CASE="ENOTDIR through a regular file"
echo x > d/file
for call in "mkdir d/file/x 0755" "mkfifo d/file/x 0644" "mknod d/file/x f 0644 0 0" \
    "open d/file/x O_CREAT,O_WRONLY 0644" "open d/file/x O_RDONLY" "chmod d/file/x 0644" \
    "chown d/file/x 0 0" "truncate d/file/x 0" "unlink d/file/x" "rmdir d/file/x" \
    "rename d/file/x d/y" "symlink t d/file/x" "link d/file/x d/y" "link d/file d/file/x" \
    "stat d/file/x mode" "utimensat d/file/x 0 0 0 0" "bind d/file/x"; do
	# shellcheck disable=SC2086
	expect ENOTDIR $call
done
expect ENOTDIR open d/file/ O_RDONLY
expect ENOTDIR rmdir d/file
mkdir d/adir
expect ENOTDIR rename d/adir d/file
expect ENOTDIR rename d/adir d/file/x

CASE="EISDIR"
expect EISDIR open d/adir O_WRONLY
expect EISDIR open d/adir O_RDWR
expect EISDIR rename d/file d/adir
expect EISDIR unlink d/adir
expect EISDIR truncate d/adir 0

CASE="EEXIST"
for call in "mkdir d/file 0755" "mkdir d/adir 0755" "mkfifo d/file 0644" "mknod d/file f 0644 0 0" \
    "symlink t d/adir" "open d/file O_CREAT,O_EXCL,O_WRONLY 0644"; do
	# shellcheck disable=SC2086
	expect EEXIST $call
done
expect EADDRINUSE bind d/file

CASE="ENOTEMPTY"
mkdir d/full d/empty
echo x > d/full/inner
expect ENOTEMPTY rmdir d/full
expect ENOTEMPTY rename d/empty d/full
expect 0 rename d/full d/empty
is "ENOTEMPTY: rename onto an empty dir" "$(cat d/empty/inner)" x

CASE="ENOENT"
expect ENOENT open d/none O_RDONLY
expect ENOENT mkdir d/none/x 0755
expect ENOENT unlink d/none
expect ENOENT rmdir d/none
expect ENOENT rename d/none d/y
expect ENOENT chmod d/none 0644
expect ENOENT symlink t d/none/x

CASE="ENAMETOOLONG"
n255=$(name_of 255)
n256=$(name_of 256)
for call in "mkdir d/$n256 0755" "open d/$n256 O_CREAT,O_WRONLY 0644" "mkfifo d/$n256 0644" \
    "symlink t d/$n256" "rename d/file d/$n256" "unlink d/$n256" "stat d/$n256 mode"; do
	# shellcheck disable=SC2086
	expect ENAMETOOLONG $call
done
if [ "$SERVER" = s3rver ]; then
	# s3rver, a mock, keeps a key as host file names with a suffix: it
	# answers 500 for a 255-byte component.  Real servers take them.
	echo "NOTE: s3rver: 255-byte names not tried (its host file names)"
else
	expect 0 open d/$n255 O_CREAT,O_WRONLY 0644
	expect 0 rename d/$n255 d/${n255%n}m
	expect 0 unlink d/${n255%n}m
fi

CASE="long paths"
# 14 components of 255 bytes: 3,584 bytes below d/, short of PATH_MAX.
p=d
i=0
while [ $i -lt 14 ]; do p=$p/$(name_of 255 $((i % 10))); i=$((i + 1)); done
mkdir -p "$p" 2>/dev/null
if [ "$SERVER" = s3rver ]; then
	echo "NOTE: s3rver: long keys not tried (its host file names)"
elif [ "$STORE" = s3 ]; then
	# by design: S3 keys are at most 1,024 bytes; beyond, ENAMETOOLONG.
	CASE="by design: s3 keys of at most 1024 bytes"
	q=d/$(name_of 255 a)/$(name_of 255 b)/$(name_of 255 c)
	expect 0 mkdir d/$(name_of 255 a) 0755
	expect 0 mkdir d/$(name_of 255 a)/$(name_of 255 b) 0755
	expect 0 mkdir "$q" 0755
	expect ENAMETOOLONG mkdir "$q/$(name_of 255 d)" 0755
	expect ENAMETOOLONG open "$q/$(name_of 255 d)" O_CREAT,O_WRONLY 0644
else
	expect dir stat "$p" type
	expect 0 open "$p/f" O_CREAT,O_WRONLY 0644
	drop_caches
	expect regular stat "$p/f" type
	expect 0 rename "$p/f" "$p/g"
	expect 0 unlink "$p/g"
fi

CASE="ELOOP"
ln -s loop2 d/loop1
ln -s loop1 d/loop2
expect ELOOP open d/loop1 O_RDONLY
expect ELOOP open d/loop1/x O_RDONLY
ln -s file d/tofile
expect ELOOP open d/tofile O_RDONLY,O_NOFOLLOW
expect symlink lstat d/tofile type
expect file readlink d/tofile

CASE="EXDEV"
expect EXDEV rename d/file /tmp/file

CASE="every file type"
expect 0 open d/t-reg O_CREAT,O_WRONLY 0640
expect 0 mkdir d/t-dir 0750
expect 0 symlink target/of/link d/t-lnk
expect 0 mkfifo d/t-fifo 0620
expect 0 bind d/t-sock
expect 0 mknod d/t-blk b 0600 8 1
expect 0 mknod d/t-chr c 0660 4 5
drop_caches
for t in reg:regular:0640 dir:dir:0750 fifo:fifo:0620 blk:block:0600 chr:char:0660; do
	CASE="file type ${t%%:*}"
	expect "$(echo "$t" | cut -d: -f2) $(echo "$t" | cut -d: -f3)" lstat "d/t-${t%%:*}" type : lstat "d/t-${t%%:*}" mode
done
CASE="file type sock"
expect socket lstat d/t-sock type
CASE="file type lnk"
expect "symlink target/of/link" lstat d/t-lnk type : readlink d/t-lnk
CASE="device numbers"
expect "8,1 4,5" lstat d/t-blk rdev : lstat d/t-chr rdev
for t in reg dir lnk fifo sock blk chr; do
	CASE="rename and unlink of $t"
	expect 0 rename "d/t-$t" "d/u-$t"
done
drop_caches
expect "block 8,1" lstat d/u-blk type : lstat d/u-blk rdev
for t in reg lnk fifo sock blk chr; do expect 0 unlink "d/u-$t"; done
expect 0 rmdir d/u-dir

CASE="nlink"
mkdir d/nl d/nl/a d/nl/b d/nl/c
echo x > d/nl/f
drop_caches
expect "5 1" stat d/nl nlink : stat d/nl/f nlink
rmdir d/nl/c
expect 4 stat d/nl nlink
CASE="fstat after unlink"
expect "0 0 0 0 0" open d/nl/g O_CREAT,O_RDWR 0644 : unlink d/nl/g : fstat 0 nlink : write 0 y : fstat 0 nlink
CASE="by design: hard links"
expect EPERM link d/nl/f d/nl/f2

CASE="permissions as uid 65534"
mkdir d/perm
chmod 0755 d/perm
echo secret > d/perm/private
chmod 0600 d/perm/private
expect EACCES -u 65534 -g 65534 open d/perm/new O_CREAT,O_WRONLY 0644
expect EACCES -u 65534 -g 65534 open d/perm/private O_RDONLY
expect EACCES -u 65534 -g 65534 unlink d/perm/private
expect EPERM -u 65534 -g 65534 chmod d/perm/private 0644
expect EPERM -u 65534 -g 65534 chown d/perm/private 65534 65534
mkdir d/perm/mine
chown 65534:65534 d/perm/mine
expect 0 -u 65534 -g 65534 open d/perm/mine/f O_CREAT,O_WRONLY 0644
expect "65534 65534 0644" stat d/perm/mine/f uid : stat d/perm/mine/f gid : stat d/perm/mine/f mode
expect EPERM -u 65534 -g 65534 chown d/perm/mine/f 0 65534
expect EPERM -u 65534 -g 65534 chown d/perm/mine/f -1 0
expect 0 -u 65534 -g 65534 chown d/perm/mine/f -1 65534
chmod 0700 d/perm/mine
expect EACCES -u 65533 -g 65533 stat d/perm/mine/f mode
chmod 0755 d/perm/mine

CASE="set-id bits cleared"
echo x > d/perm/mine/suid
chown 65534:65534 d/perm/mine/suid
chmod 06755 d/perm/mine/suid
expect "0 0 0755" -u 65534 -g 65534 open d/perm/mine/suid O_WRONLY,O_APPEND : write 0 more : fstat 0 mode
drop_caches
expect 0755 stat d/perm/mine/suid mode
chmod 04755 d/perm/mine/suid
chown 65534:65533 d/perm/mine/suid
expect 0755 stat d/perm/mine/suid mode
mkdir d/perm/sgid
chmod 02775 d/perm/sgid
chown 0:65533 d/perm/sgid
expect 0 open d/perm/sgid/f O_CREAT,O_WRONLY 0644
expect 0 mkdir d/perm/sgid/sub 0755
drop_caches
expect "65533 65533 02755" stat d/perm/sgid/f gid : stat d/perm/sgid/sub gid : stat d/perm/sgid/sub mode

CASE="sticky directory"
mkdir d/sticky
chmod 01777 d/sticky
expect 0 -u 65533 -g 65533 open d/sticky/theirs O_CREAT,O_WRONLY 0666
expect 0 -u 65534 -g 65534 open d/sticky/mine O_CREAT,O_WRONLY 0666
expect EPERM -u 65534 -g 65534 unlink d/sticky/theirs
expect EPERM -u 65534 -g 65534 rename d/sticky/theirs d/sticky/stolen
expect EPERM -u 65534 -g 65534 rename d/sticky/mine d/sticky/theirs
expect 0 -u 65534 -g 65534 rename d/sticky/mine d/sticky/mine2
expect 0 -u 65534 -g 65534 unlink d/sticky/mine2
expect 0 -u 65533 -g 65533 unlink d/sticky/theirs

CASE="utimensat"
echo x > d/times
expect 0 utimensat d/times 1000000000 123456789 1100000000 987654321
drop_caches
expect "1000000000 123456789 1100000000 987654321" stat d/times atime : stat d/times atime_ns : stat d/times mtime : stat d/times mtime_ns
expect 0 utimensat d/times 0 UTIME_OMIT 1200000000 5
drop_caches
expect "1000000000 123456789 1200000000 5" stat d/times atime : stat d/times atime_ns : stat d/times mtime : stat d/times mtime_ns
now=$(date +%s)
expect 0 utimensat d/times 0 UTIME_NOW 0 UTIME_OMIT
drop_caches
a=$(st d/times atime)
is "utimensat: UTIME_NOW" "$([ "$a" -ge "$now" ] && [ "$a" -le $((now + 5)) ] && echo near)" near
is "utimensat: UTIME_OMIT kept mtime" "$(st d/times mtime)" 1200000000
chown 65534:65534 d/times
chmod 0666 d/times
expect EPERM -u 65533 -g 65533 utimensat d/times 1 0 1 0
expect 0 -u 65533 -g 65533 utimensat d/times 0 UTIME_NOW 0 UTIME_NOW
expect 0 -u 65534 -g 65534 utimensat d/times 1 0 1 0

# Times: each operation below runs a second after the times were read;
# ctime (and for some mtime) must have moved, and nothing else.
CASE="times"
mkdir d/tm d/tm/to
for f in chmod chown rename truncate ftruncate write setxattr badtrunc; do echo x > d/tm/$f; done
mkdir d/tm/pcreate d/tm/punlink d/tm/prename d/tm/pmkdir d/tm/psymlink d/tm/pmknod
echo x > d/tm/punlink/f
echo x > d/tm/prename/f
chmod 0644 d/tm/badtrunc
utimes_all() { for f in d/tm/* d/tm/*/*; do fstest utimensat "$f" 1000000000 0 1000000000 0 > /dev/null; done; }
utimes_all
drop_caches
# Its own: utimes_all may cross a second between two files.
before=$(st d/tm/badtrunc ctime)
sleep 1
chmod 0600 d/tm/chmod
chown 12:34 d/tm/chown
mv d/tm/rename d/tm/to/renamed
fstest truncate d/tm/truncate 5 > /dev/null
fstest open d/tm/ftruncate O_RDWR : ftruncate 0 7 > /dev/null
echo more >> d/tm/write
fstest setxattr d/tm/setxattr user.t v > /dev/null
fstest -u 65534 -g 65534 truncate d/tm/badtrunc 0 > /dev/null
echo x > d/tm/pcreate/new
rm d/tm/punlink/f
mv d/tm/prename/f d/tm/prename/g
mkdir d/tm/pmkdir/sub
ln -s t d/tm/psymlink/l
mkfifo d/tm/pmknod/p
drop_caches
changed() {	# NAME PATH FIELD: FIELD moved past the times set
	is "times: $1 changes $3" "$([ "$(st "$2" "$3")" -gt 1000000000 ] && echo moved)" moved
}
kept() {
	is "times: $1 keeps $3" "$(st "$2" "$3")" 1000000000
}
changed chmod d/tm/chmod ctime; kept chmod d/tm/chmod mtime
changed chown d/tm/chown ctime; kept chown d/tm/chown mtime
changed "rename of the file" d/tm/to/renamed ctime; kept "rename of the file" d/tm/to/renamed mtime
changed truncate d/tm/truncate ctime; changed truncate d/tm/truncate mtime
changed ftruncate d/tm/ftruncate ctime; changed ftruncate d/tm/ftruncate mtime
changed write d/tm/write ctime; changed write d/tm/write mtime
changed setxattr d/tm/setxattr ctime; kept setxattr d/tm/setxattr mtime
is "times: a refused truncate keeps ctime" "$(st d/tm/badtrunc ctime)" "$before"
kept "a refused truncate" d/tm/badtrunc mtime
for p in pcreate punlink prename pmkdir psymlink pmknod; do
	changed "$p in it: its directory" d/tm/$p mtime
	changed "$p in it: its directory" d/tm/$p ctime
done
changed "rename into it: the target directory" d/tm/to mtime

# On fs: the host's mount options decide (relatime, noatime).
if [ "$STORE" != fs ]; then
	CASE="by design: reads leave the access time (noatime)"
	echo data > d/noatime
	fstest utimensat d/noatime 1000000000 0 1000000000 0 > /dev/null
	cat d/noatime > /dev/null
	drop_caches
	cat d/noatime > /dev/null
	is "$CASE" "$(st d/noatime atime)" 1000000000
fi

# Directory rename: one atomic rename on fs:; on object stores a copy
# and delete key by key (not atomic: another client may see it half
# done), which must still end with everything moved.
if [ "$STORE" = fs ]; then CASE="directory rename"; else CASE="by design: directory rename key by key, not atomic"; fi
mkdir -p d/mv/a/b
echo 1 > d/mv/a/one; echo 2 > d/mv/a/b/two
expect 0 rename d/mv/a d/mv/z
drop_caches
expect "ENOENT dir" stat d/mv/a type : stat d/mv/z/b type
is "$CASE: contents" "$(cat d/mv/z/one d/mv/z/b/two | tr -d '\n')" 12

cd /
umount $M
is umount "$(grep -c " $M " /proc/mounts)" 0
echo "RESULT: $pass passed, $fail failed"
[ $fail -eq 0 ]
GUEST

# run_store NAME KIND URL [OPTIONS]: boot the guest against objfsd on URL;
# KIND (fs, mem, s3) and SERVER (the S3 server) pick the store's rules in
# the guest script.
run_store() {
	local name=$1 kind=$2 url=$3 sock="$work/$1.sock" log="$work/$1-daemon.log"
	local console="$work/$1-console.log" status dstatus
	shift 3

	{ echo "STORE=$kind SERVER=${SERVER:-none}"; cat "$work/posix.sh"; } > "$work/$name.sh"
	GUEST_EXTRA_BIN="$work/fstest" guest_build_initrd "$work/$name.gz" "$work/$name.sh" || return 1
	"$daemon" --socket-path="$sock" --store="$url" --cache-dir="$work" "$@" 2> "$log" &
	pid=$!
	for _ in $(seq 100); do grep -q "serving" "$log" && break; sleep 0.1; done
	guest_run "$sock" "$work/$name.gz" "$console" 600
	status=$?
	echo "--- $name: guest console"; cat "$console"
	kill -TERM "$pid"; wait "$pid"; dstatus=$?; pid=
	echo "--- $name: daemon log"; tail -n 20 "$log"
	[ "$status" -eq 0 ] || { echo "FAIL: $name: QEMU exited with $status"; return 1; }
	[ "$dstatus" -eq 0 ] || { echo "FAIL: $name: objfsd exited with $dstatus"; return 1; }
	grep "^RESULT:" "$console" | sed "s/^/$name: /" >> "$work/results"
	grep -q "^RESULT: [0-9]* passed, 0 failed" "$console" || { echo "FAIL: $name: guest checks failed"; return 1; }
}

failed=0
: > "$work/results"
for store in ${GUEST_STORES:-fs mem s3}; do
	case $store in
	fs)
		mkdir -p "$work/share"
		run_store fs fs "fs:$work/share" || failed=1
		;;
	mem)
		run_store mem mem "mem:" || failed=1
		;;
	s3)
		for kind in $(s3server_kinds); do
			s3server_start "$kind" "$work/s3-$kind" posix || { failed=1; continue; }
			SERVER=$kind run_store "s3-$kind" s3 "s3://posix/guest" --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" || failed=1
			s3server_stop
		done
		;;
	esac
done
echo "--- results"; cat "$work/results"
[ "$failed" -eq 0 ] && echo "PASS: POSIX conformance on ${GUEST_STORES:-fs mem s3}"
exit "$failed"
