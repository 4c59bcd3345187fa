/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs: with --fs-owners=xattr: the guest's owners, modes, types and device
 * numbers are records (user.objfsd.stat, a symlink's sidecar), the host
 * files stay the daemon's, owner-only, regular, without set-id bits.
 * Each test looks at both sides: what objfs answers and what the host
 * directory holds.  With native owners, device nodes: records in empty
 * sticky regular files by default, real host nodes with
 * --fs-devices=real.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "objfs_fixture.h"

static char url[160];

static void
setup_owners(void)
{
	char root[100];

	make_tmpdir();
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	snprintf(url, sizeof(url), "fs:%s", root);
	fixture_xattr_owners = true;
	open_fs(url);
}

/* A new daemon on the same directory: what it shows was stored. */
static void
reopen(void)
{
	objfs_free(fs);
	store_close(st);
	open_fs(url);
}

static struct stat
host_stat(const char *name)
{
	char path[200];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, name);
	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb;
}

static int
host_exists(const char *name)
{
	char path[200];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, name);
	return lstat(path, &sb) == 0;
}

/* The daemon's own, owner-only and never set-id. */
static void
assert_host_safe(const char *name, mode_t type)
{
	struct stat sb = host_stat(name);

	ck_assert_uint_eq(sb.st_mode & S_IFMT, type);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	ck_assert_uint_eq(sb.st_gid, getegid());
	if (type != S_IFLNK)
		ck_assert_uint_eq(sb.st_mode & 07077, 0);
}

static void
chown_(uint64_t ino, uid_t uid, gid_t gid)
{
	struct objfs_setattr sa = {
		.valid = OBJFS_SET_UID | OBJFS_SET_GID, .uid = uid, .gid = gid,
	};
	struct stat sb;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
}

static void
chmod_(uint64_t ino, mode_t mode)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = mode };
	struct stat sb;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
}

START_TEST(chown_and_setuid_are_records)
{
	uint64_t ino = mkfile(ROOT, "f", "x");
	struct stat sb;

	ck_assert(store_has_devices(st));
	chown_(ino, 1234, 5678);
	chmod_(ino, 04755);
	reopen();
	sb = stat_(lookup(ROOT, "f"));
	ck_assert_uint_eq(sb.st_uid, 1234);
	ck_assert_uint_eq(sb.st_gid, 5678);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 04755);
	assert_host_safe("f", S_IFREG);
	/* An execute bit of the guest's is the owner's on the host. */
	ck_assert_uint_eq(host_stat("f").st_mode & 07777, 0700);
	/* Directories too: the record on the directory itself. */
	uint64_t d = mkdir_(ROOT, "d");
	chown_(d, 7, 8);
	chmod_(d, 01777);
	reopen();
	sb = stat_(lookup(ROOT, "d"));
	ck_assert_uint_eq(sb.st_mode, S_IFDIR | 01777);
	ck_assert_uint_eq(sb.st_uid, 7);
	assert_host_safe("d", S_IFDIR);
	ck_assert_uint_eq(host_stat("d").st_mode & 07777, 0700);
}
END_TEST

/* A write or truncate by a caller without CAP_FSETID drops set-id bits. */
START_TEST(writes_kill_setuid_as_the_kernel_would)
{
	uint64_t ino = mkfile(ROOT, "s", "x"), fh;
	struct objfs_setattr sa = {
		.valid = OBJFS_SET_SIZE | OBJFS_SET_KILL_SUIDGID, .size = 0,
	};
	struct iovec iov = { "yy", 2 };
	unsigned oflags;
	size_t n;
	struct stat sb;

	chmod_(ino, 06755);
	ck_assert_int_eq(objfs_open(fs, ino, O_WRONLY, false, &fh, &oflags),
	    0);
	ck_assert_int_eq(objfs_write(fs, fh, 0, &iov, 1, true, &n), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	reopen();
	ino = lookup(ROOT, "s");
	ck_assert_uint_eq(stat_(ino).st_mode, S_IFREG | 0755);
	chmod_(ino, 04755);
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	reopen();
	ck_assert_uint_eq(stat_(lookup(ROOT, "s")).st_mode, S_IFREG | 0755);
	assert_host_safe("s", S_IFREG);
}
END_TEST

START_TEST(devices_and_fifos_are_regular_host_files)
{
	struct objfs_entry e;
	struct stat sb;

	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "null", S_IFCHR | 0666,
	    makedev(1, 3), &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "sda", S_IFBLK | 0660,
	    makedev(8, 0), &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "fifo", S_IFIFO | 0644,
	    0, &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "sock", S_IFSOCK | 0755,
	    0, &e), 0);
	reopen();
	sb = stat_(lookup(ROOT, "null"));
	ck_assert_uint_eq(sb.st_mode, S_IFCHR | 0666);
	ck_assert_uint_eq(major(sb.st_rdev), 1);
	ck_assert_uint_eq(minor(sb.st_rdev), 3);
	ck_assert_uint_eq(sb.st_uid, ctx.uid);
	sb = stat_(lookup(ROOT, "sda"));
	ck_assert_uint_eq(sb.st_mode, S_IFBLK | 0660);
	ck_assert_uint_eq(sb.st_rdev, makedev(8, 0));
	ck_assert_uint_eq(stat_(lookup(ROOT, "fifo")).st_mode, S_IFIFO | 0644);
	ck_assert_uint_eq(stat_(lookup(ROOT, "sock")).st_mode,
	    S_IFSOCK | 0755);
	assert_host_safe("null", S_IFREG);
	assert_host_safe("sda", S_IFREG);
	assert_host_safe("fifo", S_IFREG);
	assert_host_safe("sock", S_IFREG);
	/* Listings say what they are too. */
	struct store_listing l;
	ck_assert_int_eq(store_list(st, "", NULL, STORE_LIST_NAMES, 0, &l), 0);
	ck_assert_uint_eq(l.n, 4);
	for (size_t i = 0; i < l.n; i++) {
		ck_assert(l.entries[i].has_attr);
		ck_assert(!S_ISREG(l.entries[i].attr.mode));
	}
	store_listing_clear(&l);
}
END_TEST

/* A symlink's record is its sidecar: it follows renames and unlinks. */
START_TEST(symlink_owner_follows_rename_and_unlink)
{
	struct objfs_entry e;
	struct collect c = { .room = 100 };
	uint64_t fh, d = mkdir_(ROOT, "sub");

	ck_assert_int_eq(objfs_symlink(fs, &ctx, ROOT, "ln", "target", &e), 0);
	chown_(e.ino, 4321, 8765);
	ck_assert(host_exists(".objfsd-meta-ln"));
	ck_assert_int_eq(objfs_rename(fs, ROOT, "ln", d, "moved", 0), 0);
	ck_assert(!host_exists(".objfsd-meta-ln"));
	ck_assert(host_exists("sub/.objfsd-meta-moved"));
	reopen();
	d = lookup(ROOT, "sub");
	struct stat sb = stat_(lookup(d, "moved"));
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_uint_eq(sb.st_uid, 4321);
	ck_assert_uint_eq(sb.st_gid, 8765);
	assert_host_safe("sub/moved", S_IFLNK);
	/* Sidecars are invisible: not listed, not found, not made. */
	ck_assert_int_eq(objfs_opendir(fs, d, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, false, collect_cb, &c), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	for (size_t i = 0; i < c.n; i++)
		ck_assert_ptr_null(strstr(c.names[i], "objfsd"));
	ck_assert_uint_eq(c.n, 3);	/* ".", ".." and "moved" */
	collect_free(&c);
	ck_assert_int_eq(lookup_rc(d, ".objfsd-meta-moved"), -ENOENT);
	ck_assert_int_ne(objfs_mknod(fs, &ctx, d, ".objfsd-meta-x",
	    S_IFREG | 0600, 0, &e), 0);
	ck_assert(!host_exists("sub/.objfsd-meta-x"));
	mkfile(d, "plain", "p");
	ck_assert_int_ne(objfs_rename(fs, d, "plain", d, ".objfsd-meta-moved",
	    0), 0);
	ck_assert_uint_eq(stat_(lookup(d, "moved")).st_uid, 4321);
	/* A file renamed over the link takes its name, not its sidecar. */
	ck_assert_int_eq(objfs_rename(fs, d, "plain", d, "moved", 0), 0);
	ck_assert(!host_exists("sub/.objfsd-meta-moved"));
	ck_assert_int_eq(objfs_symlink(fs, &ctx, d, "ln2", "t", &e), 0);
	ck_assert(host_exists("sub/.objfsd-meta-ln2"));
	ck_assert_int_eq(objfs_unlink(fs, d, "ln2"), 0);
	ck_assert(!host_exists("sub/.objfsd-meta-ln2"));
}
END_TEST

/* A record moves with its file (an xattr does) and goes with it. */
START_TEST(record_follows_rename_and_unlink)
{
	uint64_t ino = mkfile(ROOT, "a", "x"), d = mkdir_(ROOT, "dir");

	chown_(ino, 11, 22);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "a", d, "b", 0), 0);
	reopen();
	d = lookup(ROOT, "dir");
	ck_assert_uint_eq(stat_(lookup(d, "b")).st_uid, 11);
	ck_assert_int_eq(objfs_unlink(fs, d, "b"), 0);
	/* A new file of that name has the creator's owner, not 11. */
	ino = mkfile(d, "b", "y");
	ck_assert_uint_eq(stat_(ino).st_uid, ctx.uid);
	ck_assert_uint_eq(stat_(ino).st_mode, S_IFREG | 0640);
	/* A whole directory renamed keeps its files' records. */
	chown_(ino, 33, 44);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "dir", ROOT, "dir2", 0), 0);
	reopen();
	ck_assert_uint_eq(stat_(lookup(lookup(ROOT, "dir2"), "b")).st_gid, 44);
}
END_TEST

START_TEST(guest_cannot_see_or_set_the_record)
{
	uint64_t ino = mkfile(ROOT, "f", "x");
	char buf[256], path[200];
	size_t len;

	chown_(ino, 5, 6);
	snprintf(path, sizeof(path), "%s/root/f", tmpdir);
	ck_assert_int_eq(getxattr(path, "user.objfsd.stat", buf, sizeof(buf)),
	    24);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.objfsd.stat", buf,
	    sizeof(buf), &len), -ENODATA);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.objfsd.stat", "evil", 4,
	    0), -EPERM);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.objfsd.other", "e", 1,
	    0), -EPERM);
	ck_assert_int_eq(objfs_removexattr(fs, ino, "user.objfsd.stat"),
	    -EPERM);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.mine", "v", 1, 0), 0);
	ck_assert_int_eq(objfs_listxattr(fs, ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof("user.mine"));
	ck_assert_str_eq(buf, "user.mine");
	/* Its own xattrs changing leaves the record alone. */
	ck_assert_int_eq(objfs_removexattr(fs, ino, "user.mine"), 0);
	ck_assert_uint_eq(stat_(ino).st_uid, 5);
	ck_assert_int_eq(getxattr(path, "user.objfsd.stat", buf, sizeof(buf)),
	    24);
}
END_TEST

/* Files from before xattr mode (no record) show what the host says. */
START_TEST(no_record_shows_host_attributes)
{
	char path[200];
	struct stat sb;

	host_write("old", "from before");
	snprintf(path, sizeof(path), "%s/root/old", tmpdir);
	ck_assert_int_eq(chmod(path, 0641), 0);
	sb = stat_(lookup(ROOT, "old"));
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0641);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	ck_assert_uint_eq(sb.st_gid, getegid());
	/* A malformed record is no record. */
	ck_assert_int_eq(setxattr(path, "user.objfsd.stat", "short", 5, 0), 0);
	ck_assert_uint_eq(stat_(lookup(ROOT, "old")).st_mode, S_IFREG | 0641);
}
END_TEST

/* A record cannot make a host directory anything but a directory. */
START_TEST(record_type_must_fit_the_host_file)
{
	static const unsigned char fifo_rec[24] = {
		1, 0, 0, 0, 0xa4, 0x11, 0, 0,	/* S_IFIFO | 0644 */
		9, 0, 0, 0, 9, 0, 0, 0,
	};
	char path[200];

	mkdir_(ROOT, "d");
	snprintf(path, sizeof(path), "%s/root/d", tmpdir);
	ck_assert_int_eq(setxattr(path, "user.objfsd.stat", fifo_rec,
	    sizeof(fifo_rec), 0), 0);
	reopen();
	struct stat sb = stat_(lookup(ROOT, "d"));
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_ne(sb.st_uid, 9);
}
END_TEST

static void
teardown_owners(void)
{
	teardown_store();
	fixture_xattr_owners = false;
}

TCase *
objfs_owners_tcase(void)
{
	TCase *tc = tcase_create("fs owners in xattrs");

	tcase_add_checked_fixture(tc, setup_owners, teardown_owners);
	tcase_add_test(tc, chown_and_setuid_are_records);
	tcase_add_test(tc, writes_kill_setuid_as_the_kernel_would);
	tcase_add_test(tc, devices_and_fifos_are_regular_host_files);
	tcase_add_test(tc, symlink_owner_follows_rename_and_unlink);
	tcase_add_test(tc, record_follows_rename_and_unlink);
	tcase_add_test(tc, guest_cannot_see_or_set_the_record);
	tcase_add_test(tc, no_record_shows_host_attributes);
	tcase_add_test(tc, record_type_must_fit_the_host_file);
	return tc;
}

/* Native owners (the default as root): device nodes. */

static void
setup_native(void)
{
	char root[100];

	make_tmpdir();
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	snprintf(url, sizeof(url), "fs:%s", root);
	open_fs(url);
}

static void
teardown_native(void)
{
	teardown_store();
	fixture_real_devices = false;
}

static bool
host_has_record(const char *name)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, name);
	return lgetxattr(path, "user.objfsd.stat", NULL, 0) > 0;
}

/* Every entry of the root's listing with attributes is of type type. */
static void
assert_listed_as(const char *name, mode_t type, unsigned flags)
{
	struct store_listing l;
	bool found = false;

	ck_assert_int_eq(store_list(st, "", NULL, flags, 0, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.entries[i].name, name) != 0 ||
		    !l.entries[i].has_attr)
			continue;
		found = true;
		ck_assert_uint_eq(l.entries[i].attr.mode & S_IFMT, type);
	}
	ck_assert(found || (flags & STORE_LIST_NAMES));
	store_listing_clear(&l);
}

/*
 * A device node is an empty regular host file of mode 01600 with a
 * record, owned natively: chmod changes the record, chown the host file,
 * and neither makes it a device on the host.
 */
START_TEST(native_devices_are_regular_host_files)
{
	struct objfs_entry e;
	struct stat sb;

	ck_assert(store_has_devices(st));
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "null", S_IFCHR | 0666,
	    makedev(1, 3), &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "sda", S_IFBLK | 04660,
	    makedev(8, 0), &e), 0);
	chmod_(lookup(ROOT, "null"), 0620);
	if (geteuid() == 0)
		chown_(lookup(ROOT, "sda"), 1234, 5678);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "sda", ROOT, "sdb", 0), 0);
	reopen();
	sb = stat_(lookup(ROOT, "null"));
	ck_assert_uint_eq(sb.st_mode, S_IFCHR | 0620);
	ck_assert_uint_eq(sb.st_rdev, makedev(1, 3));
	sb = stat_(lookup(ROOT, "sdb"));
	ck_assert_uint_eq(sb.st_mode, S_IFBLK | 04660);
	ck_assert_uint_eq(sb.st_rdev, makedev(8, 0));
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "null" : "sdb";

		sb = host_stat(name);
		ck_assert_uint_eq(sb.st_mode, S_IFREG | S_ISVTX | 0600);
		ck_assert_int_eq(sb.st_size, 0);
		ck_assert(host_has_record(name));
	}
	if (geteuid() == 0) {
		ck_assert_uint_eq(host_stat("null").st_uid, ctx.uid);
		ck_assert_uint_eq(host_stat("sdb").st_uid, 1234);
		ck_assert_uint_eq(host_stat("sdb").st_gid, 5678);
		ck_assert_uint_eq(stat_(lookup(ROOT, "sdb")).st_uid, 1234);
	}
	assert_listed_as("null", S_IFCHR, 0);
	assert_listed_as("sdb", S_IFBLK, STORE_LIST_RECURSIVE);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "null"), 0);
	ck_assert(!host_exists("null"));
}
END_TEST

/*
 * What merely looks like a device's host file stays what it is: an empty
 * sticky file of the guest's, and a record file a host process wrote to.
 */
START_TEST(native_sticky_plain_file_stays_plain)
{
	uint64_t ino = mkfile(ROOT, "s", "");
	struct objfs_entry e;
	char path[200];
	FILE *f;

	chmod_(ino, 01600);
	reopen();
	ck_assert_uint_eq(stat_(lookup(ROOT, "s")).st_mode, S_IFREG | 01600);
	ck_assert_uint_eq(host_stat("s").st_mode, S_IFREG | 01600);
	assert_listed_as("s", S_IFREG, 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "c", S_IFCHR | 0600,
	    makedev(4, 5), &e), 0);
	snprintf(path, sizeof(path), "%s/root/c", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("data", f);
	ck_assert_int_eq(fclose(f), 0);
	reopen();
	ck_assert_uint_eq(stat_(lookup(ROOT, "c")).st_mode, S_IFREG | 01600);
}
END_TEST

/* Host device nodes stay invisible unless the store makes real ones. */
START_TEST(native_host_device_nodes_are_invisible)
{
	char path[200];

	if (geteuid() != 0)
		return;		/* mknod(2) needs CAP_MKNOD */
	snprintf(path, sizeof(path), "%s/root/hostnull", tmpdir);
	ck_assert_int_eq(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
	ck_assert_int_eq(lookup_rc(ROOT, "hostnull"), -ENOENT);
	fixture_real_devices = true;
	reopen();
	ck_assert_uint_eq(stat_(lookup(ROOT, "hostnull")).st_rdev,
	    makedev(1, 3));
}
END_TEST

/* --fs-devices=real: the host gets the very node the guest made. */
START_TEST(native_real_devices_are_host_nodes)
{
	struct objfs_entry e;
	struct stat sb;

	if (geteuid() != 0)
		return;		/* mknod(2) needs CAP_MKNOD */
	fixture_real_devices = true;
	reopen();
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "null", S_IFCHR | 0640,
	    makedev(1, 3), &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "sda", S_IFBLK | 0660,
	    makedev(8, 0), &e), 0);
	chmod_(lookup(ROOT, "null"), 0604);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "sda", ROOT, "sdb", 0), 0);
	reopen();
	sb = host_stat("null");
	ck_assert_uint_eq(sb.st_mode, S_IFCHR | 0604);
	ck_assert_uint_eq(sb.st_rdev, makedev(1, 3));
	ck_assert_uint_eq(sb.st_uid, ctx.uid);
	ck_assert(!host_has_record("null"));
	sb = host_stat("sdb");
	ck_assert_uint_eq(sb.st_mode, S_IFBLK | 0660);
	ck_assert_uint_eq(sb.st_rdev, makedev(8, 0));
	sb = stat_(lookup(ROOT, "sdb"));
	ck_assert_uint_eq(sb.st_mode, S_IFBLK | 0660);
	ck_assert_uint_eq(sb.st_rdev, makedev(8, 0));
	assert_listed_as("null", S_IFCHR, 0);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "sdb"), 0);
	ck_assert(!host_exists("sdb"));
}
END_TEST

TCase *
objfs_native_devices_tcase(void)
{
	TCase *tc = tcase_create("fs native device nodes");

	tcase_add_checked_fixture(tc, setup_native, teardown_native);
	tcase_add_test(tc, native_devices_are_regular_host_files);
	tcase_add_test(tc, native_sticky_plain_file_stays_plain);
	tcase_add_test(tc, native_host_device_nodes_are_invisible);
	tcase_add_test(tc, native_real_devices_are_host_nodes);
	return tc;
}
