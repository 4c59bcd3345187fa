/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX rules the daemon answers for, through objfsd over the fake
 * frontend: the requests a guest kernel sends, one case per rule.  The
 * kernel walks paths and checks permissions itself (default_permissions),
 * so what is left to the daemon is the type of what a request names, name
 * lengths, existing names, empty directories, file types and modes kept,
 * which times a change moves, and set-id bits a write clears.
 *
 * Each case runs on fs: (loop index 0) and mem: (1), and on s3:// (2)
 * when OBJFSD_TEST_S3_BUCKET and OBJFSD_TEST_S3_ENDPOINT name a server
 * (tests/e2e/s3-objfs.sh; OBJFSD_TEST_S3_ONLY: s3:// alone).
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
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "fuseclient.h"

#define ROOT	FUSE_ROOT_ID

enum { ON_FS, ON_MEM, ON_S3 };

static struct tdaemon daemon_;
static struct fc c;
static char tmp[64];
static int on;			/* the store of the running case */

static void
posix_setup(int store)
{
	char url[200], cache[100], root[100];
	const char *args[] = { url, cache, "--log-level=info", NULL, NULL };
	static char endpoint[200];

	on = store;
	snprintf(tmp, sizeof(tmp), "/tmp/check_posix.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(cache, sizeof(cache), "--cache-dir=%s", tmp);
	snprintf(root, sizeof(root), "%s/root", tmp);
	if (store == ON_FS) {
		ck_assert_int_eq(mkdir(root, 0755), 0);
		snprintf(url, sizeof(url), "--store=fs:%s", root);
	} else if (store == ON_MEM)
		snprintf(url, sizeof(url), "--store=mem:");
	else {
		/* A prefix of its own: tmp's random suffix. */
		snprintf(url, sizeof(url), "--store=s3://%s/posix-%s",
		    getenv("OBJFSD_TEST_S3_BUCKET"), strrchr(tmp, '.') + 1);
		snprintf(endpoint, sizeof(endpoint), "--s3-endpoint=%s",
		    getenv("OBJFSD_TEST_S3_ENDPOINT"));
		args[3] = endpoint;
	}
	tdaemon_start(&daemon_, test_binary("OBJFSD", "src/objfsd"), args,
	    NULL);
	ck_assert_int_eq(fc_connect(&c, daemon_.d.sock, 2), 0);
	ck_assert_int_eq(fc_init(&c, NULL), 0);
}

static void
posix_teardown(void)
{
	char cmd[100];

	fc_close(&c);
	tdaemon_stop_ok(&daemon_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* A case run on the store of its loop index, in a daemon of its own. */
#define POSIX_CASE(name) \
	static void name##_body(void); \
	START_TEST(name) { posix_setup(_i); name##_body(); posix_teardown(); } \
	END_TEST \
	static void name##_body(void)

/* One request naming name in parent, with its fixed arguments first. */
static int
named(uint32_t op, uint64_t parent, const void *arg, size_t arglen,
    const char *name, struct fuse_entry_out *e)
{
	struct fuse_entry_out tmp_e;

	return fc_call(&c, 1, op, parent, arg, arglen, name, strlen(name) + 1,
	    e != NULL ? e : &tmp_e, sizeof(*e), NULL);
}

/*
 * Make name in parent as the kernel makes a file of mode's type: MKDIR,
 * SYMLINK (to "t"), CREATE (and RELEASE) or MKNOD.  The reply's entry
 * into *e unless NULL.
 */
static int
make_rc(uint64_t parent, const char *name, mode_t mode, dev_t rdev,
    struct fuse_entry_out *e)
{
	struct fuse_mkdir_in md = { .mode = mode & 07777 };
	struct fuse_mknod_in mn = { .mode = mode, .rdev = (uint32_t)rdev };
	struct fuse_entry_out tmp_e;
	char link[300];
	uint64_t fh;
	int rc;

	if (e == NULL)
		e = &tmp_e;
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return named(FUSE_MKDIR, parent, &md, sizeof(md), name, e);
	case S_IFLNK:
		snprintf(link, sizeof(link), "%s%ct", name, '\0');
		return fc_call(&c, 1, FUSE_SYMLINK, parent, NULL, 0, link,
		    strlen(name) + 3, e, sizeof(*e), NULL);
	case S_IFREG:
		if ((rc = fc_create(&c, parent, name, mode, O_WRONLY | O_CREAT |
		    O_EXCL, e, &fh)) == 0)
			ck_assert_int_eq(fc_release(&c, e->nodeid, fh, false),
			    0);
		return rc;
	default:
		return named(FUSE_MKNOD, parent, &mn, sizeof(mn), name, e);
	}
}

static uint64_t
make(uint64_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_out e;

	ck_assert_int_eq(make_rc(parent, name, mode, 0, &e), 0);
	return e.nodeid;
}

static int
unlink_rc(uint64_t parent, const char *name)
{
	return named(FUSE_UNLINK, parent, NULL, 0, name, NULL);
}

static int
rmdir_rc(uint64_t parent, const char *name)
{
	return named(FUSE_RMDIR, parent, NULL, 0, name, NULL);
}

static int
rename_rc(uint64_t parent, const char *name, uint64_t newparent,
    const char *newname)
{
	struct fuse_rename2_in in = { .newdir = newparent };
	char names[600];
	int n = snprintf(names, sizeof(names), "%s%c%s", name, '\0', newname);

	return fc_call(&c, 1, FUSE_RENAME2, parent, &in, sizeof(in), names,
	    (size_t)n + 1, NULL, 0, NULL);
}

static struct fuse_attr
attr_of(uint64_t node)
{
	struct fuse_attr a;

	ck_assert_int_eq(fc_getattr(&c, node, &a), 0);
	return a;
}

/*
 * What a fresh LOOKUP says of name once the kernel has forgotten node
 * (looked up n times): the daemon knows it only from the store.
 */
static struct fuse_attr
fresh(uint64_t parent, const char *name, uint64_t node, uint64_t n)
{
	struct fuse_entry_out e;

	fc_forget(&c, node, n);
	ck_assert_int_eq(fc_getattr(&c, node, NULL), -ESTALE);
	ck_assert_int_eq(fc_lookup(&c, parent, name, &e), 0);
	return e.attr;
}

static int
setattr_rc(uint64_t node, const struct fuse_setattr_in *in,
    struct fuse_attr *a)
{
	struct fuse_attr_out out;
	int rc = fc_call(&c, 1, FUSE_SETATTR, node, in, sizeof(*in), NULL, 0,
	    &out, sizeof(out), NULL);

	if (rc == 0 && a != NULL)
		*a = out.attr;
	return rc;
}

/* Long enough for the store's clock to show a later time (s3: seconds). */
static void
tick(void)
{
	usleep(on == ON_S3 ? 1100000 : 20000);
}

static int64_t
ns(uint64_t sec, uint32_t nsec)
{
	return (int64_t)sec * 1000000000 + nsec;
}

/* The parent is a regular file */

POSIX_CASE(parent_is_a_file_enotdir)
{
	uint64_t f = make(ROOT, "f", S_IFREG | 0644);
	struct fuse_entry_out e;

	ck_assert_int_eq(fc_lookup(&c, f, "x", &e), -ENOTDIR);
	ck_assert_int_eq(make_rc(f, "x", S_IFDIR | 0755, 0, NULL), -ENOTDIR);
	ck_assert_int_eq(make_rc(f, "x", S_IFREG | 0644, 0, NULL), -ENOTDIR);
	ck_assert_int_eq(make_rc(f, "x", S_IFIFO | 0644, 0, NULL), -ENOTDIR);
	ck_assert_int_eq(make_rc(f, "x", S_IFLNK | 0777, 0, NULL), -ENOTDIR);
	ck_assert_int_eq(unlink_rc(f, "x"), -ENOTDIR);
	ck_assert_int_eq(rmdir_rc(f, "x"), -ENOTDIR);
	ck_assert_int_eq(rename_rc(f, "x", ROOT, "y"), -ENOTDIR);
	ck_assert_int_eq(rename_rc(ROOT, "f", f, "y"), -ENOTDIR);
}

/* Names */

POSIX_CASE(name_over_255_bytes_enametoolong)
{
	struct fuse_entry_out e;
	char name[257];

	make(ROOT, "f", S_IFREG | 0644);
	memset(name, 'n', 256);
	name[256] = '\0';
	ck_assert_int_eq(fc_lookup(&c, ROOT, name, &e), -ENAMETOOLONG);
	ck_assert_int_eq(make_rc(ROOT, name, S_IFDIR | 0755, 0, NULL),
	    -ENAMETOOLONG);
	ck_assert_int_eq(make_rc(ROOT, name, S_IFREG | 0644, 0, NULL),
	    -ENAMETOOLONG);
	ck_assert_int_eq(make_rc(ROOT, name, S_IFSOCK | 0644, 0, NULL),
	    -ENAMETOOLONG);
	ck_assert_int_eq(make_rc(ROOT, name, S_IFLNK | 0777, 0, NULL),
	    -ENAMETOOLONG);
	ck_assert_int_eq(rename_rc(ROOT, "f", ROOT, name), -ENAMETOOLONG);
	ck_assert_int_eq(unlink_rc(ROOT, name), -ENAMETOOLONG);
	ck_assert_int_eq(rmdir_rc(ROOT, name), -ENAMETOOLONG);
}

/* MKDIR, MKNOD, SYMLINK and CREATE with O_EXCL over each existing type. */
POSIX_CASE(existing_name_eexist)
{
	static const mode_t types[] = { S_IFREG | 0644, S_IFDIR | 0755,
	    S_IFLNK | 0777, S_IFIFO | 0644 };
	struct fuse_entry_out e;
	uint64_t fh;

	make(ROOT, "reg", types[0]);
	make(ROOT, "dir", types[1]);
	make(ROOT, "lnk", types[2]);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_assert_int_eq(make_rc(ROOT, "reg", types[i], 0, NULL),
		    -EEXIST);
		ck_assert_int_eq(make_rc(ROOT, "dir", types[i], 0, NULL),
		    -EEXIST);
		ck_assert_int_eq(make_rc(ROOT, "lnk", types[i], 0, NULL),
		    -EEXIST);
	}
	/* Without O_EXCL, CREATE opens what is there. */
	ck_assert_int_eq(fc_create(&c, ROOT, "reg", S_IFREG | 0644,
	    O_WRONLY | O_CREAT, &e, &fh), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
}

/* Directories and what they hold */

POSIX_CASE(rmdir_of_non_empty_dir_enotempty)
{
	make(make(ROOT, "d", S_IFDIR | 0755), "f", S_IFREG | 0644);
	ck_assert_int_eq(rmdir_rc(ROOT, "d"), -ENOTEMPTY);
}

POSIX_CASE(rename_dir_onto_non_empty_dir_enotempty)
{
	make(ROOT, "d", S_IFDIR | 0755);
	make(make(ROOT, "full", S_IFDIR | 0755), "f", S_IFREG | 0644);
	ck_assert_int_eq(rename_rc(ROOT, "d", ROOT, "full"), -ENOTEMPTY);
}

POSIX_CASE(rename_dir_onto_file_enotdir)
{
	make(ROOT, "d", S_IFDIR | 0755);
	make(ROOT, "f", S_IFREG | 0644);
	ck_assert_int_eq(rename_rc(ROOT, "d", ROOT, "f"), -ENOTDIR);
}

POSIX_CASE(rename_file_onto_dir_eisdir)
{
	make(ROOT, "d", S_IFDIR | 0755);
	make(ROOT, "f", S_IFREG | 0644);
	ck_assert_int_eq(rename_rc(ROOT, "f", ROOT, "d"), -EISDIR);
}

POSIX_CASE(unlink_of_dir_eisdir)
{
	make(ROOT, "d", S_IFDIR | 0755);
	ck_assert_int_eq(unlink_rc(ROOT, "d"), -EISDIR);
}

POSIX_CASE(rmdir_of_file_enotdir)
{
	make(ROOT, "f", S_IFREG | 0644);
	make(ROOT, "p", S_IFIFO | 0644);
	ck_assert_int_eq(rmdir_rc(ROOT, "f"), -ENOTDIR);
	ck_assert_int_eq(rmdir_rc(ROOT, "p"), -ENOTDIR);
}

POSIX_CASE(link_is_eperm_by_design)
{
	struct fuse_link_in in = { .oldnodeid = make(ROOT, "f",
	    S_IFREG | 0644) };

	ck_assert_int_eq(named(FUSE_LINK, ROOT, &in, sizeof(in), "g", NULL),
	    -EPERM);
}

/* Every type keeps its type and mode */

static void
keeps_type_and_mode(mode_t mode, dev_t rdev)
{
	struct fuse_entry_out e;
	struct fuse_attr a;

	ck_assert_int_eq(make_rc(ROOT, "x", mode, rdev, &e), 0);
	ck_assert_uint_eq(e.attr.mode, mode);
	a = fresh(ROOT, "x", e.nodeid, 1);
	ck_assert_uint_eq(a.mode, mode);
	if (S_ISCHR(mode) || S_ISBLK(mode))
		ck_assert_uint_eq(a.rdev, rdev);
}

POSIX_CASE(regular_file_keeps_type_and_mode)
{
	keeps_type_and_mode(S_IFREG | 0640, 0);
}

POSIX_CASE(directory_keeps_type_and_mode)
{
	keeps_type_and_mode(S_IFDIR | 0750, 0);
}

POSIX_CASE(symlink_keeps_type_and_mode)
{
	keeps_type_and_mode(S_IFLNK | 0777, 0);
}

POSIX_CASE(fifo_keeps_type_and_mode)
{
	keeps_type_and_mode(S_IFIFO | 0604, 0);
}

POSIX_CASE(socket_keeps_type_and_mode)
{
	keeps_type_and_mode(S_IFSOCK | 0600, 0);
}

/*
 * Device nodes, on every store: fs: keeps them as records by default,
 * s3:// in x-amz-meta-mode and -rdev.
 */
POSIX_CASE(char_device_keeps_type_mode_and_rdev)
{
	keeps_type_and_mode(S_IFCHR | 0660, makedev(4, 5));
}

POSIX_CASE(block_device_keeps_type_mode_and_rdev)
{
	keeps_type_and_mode(S_IFBLK | 0600, makedev(8, 1));
}

/* Which times a change moves */

POSIX_CASE(setattr_size_moves_mtime_and_ctime)
{
	struct fuse_setattr_in in = { .valid = FATTR_SIZE, .size = 3 };
	uint64_t f = make(ROOT, "f", S_IFREG | 0644);
	struct fuse_attr a0 = attr_of(f), a;

	tick();
	ck_assert_int_eq(setattr_rc(f, &in, &a), 0);
	ck_assert_uint_eq(a.size, 3);
	ck_assert_int_gt(ns(a.mtime, a.mtimensec), ns(a0.mtime, a0.mtimensec));
	ck_assert_int_gt(ns(a.ctime, a.ctimensec), ns(a0.ctime, a0.ctimensec));
	a = fresh(ROOT, "f", f, 1);
	ck_assert_int_gt(ns(a.mtime, a.mtimensec), ns(a0.mtime, a0.mtimensec));
	ck_assert_int_gt(ns(a.ctime, a.ctimensec), ns(a0.ctime, a0.ctimensec));
}

/* SETATTR of one of mode, uid and gid: ctime moves, mtime stays. */
static void
moves_ctime_only(const struct fuse_setattr_in *in)
{
	uint64_t f = make(ROOT, "f", S_IFREG | 0644);
	struct fuse_attr a0 = attr_of(f), a;

	tick();
	ck_assert_int_eq(setattr_rc(f, in, &a), 0);
	ck_assert_int_eq(ns(a.mtime, a.mtimensec), ns(a0.mtime, a0.mtimensec));
	ck_assert_int_gt(ns(a.ctime, a.ctimensec), ns(a0.ctime, a0.ctimensec));
	a = fresh(ROOT, "f", f, 1);
	ck_assert_int_eq(ns(a.mtime, a.mtimensec), ns(a0.mtime, a0.mtimensec));
	ck_assert_int_gt(ns(a.ctime, a.ctimensec), ns(a0.ctime, a0.ctimensec));
	if (in->valid & FATTR_MODE)
		ck_assert_uint_eq(a.mode, S_IFREG | in->mode);
	if (in->valid & FATTR_UID)
		ck_assert_uint_eq(a.uid, in->uid);
	if (in->valid & FATTR_GID)
		ck_assert_uint_eq(a.gid, in->gid);
}

POSIX_CASE(setattr_mode_moves_ctime_only)
{
	moves_ctime_only(&(struct fuse_setattr_in){ .valid = FATTR_MODE,
	    .mode = 0600 });
}

POSIX_CASE(setattr_uid_moves_ctime_only)
{
	moves_ctime_only(&(struct fuse_setattr_in){ .valid = FATTR_UID,
	    .uid = 7 });
}

POSIX_CASE(setattr_gid_moves_ctime_only)
{
	moves_ctime_only(&(struct fuse_setattr_in){ .valid = FATTR_GID,
	    .gid = 8 });
}

/* utimensat(2) with nanoseconds: every store keeps them. */
POSIX_CASE(utimes_nanoseconds_read_back_exactly)
{
	struct fuse_setattr_in in = { .valid = FATTR_ATIME | FATTR_MTIME,
	    .atime = 1500000000, .atimensec = 123456789,
	    .mtime = 1600000000, .mtimensec = 987654321 };
	uint64_t f = make(ROOT, "f", S_IFREG | 0644);
	struct fuse_attr a;

	ck_assert_int_eq(setattr_rc(f, &in, NULL), 0);
	a = fresh(ROOT, "f", f, 1);
	ck_assert_uint_eq(a.atime, 1500000000);
	ck_assert_uint_eq(a.atimensec, 123456789);
	ck_assert_uint_eq(a.mtime, 1600000000);
	ck_assert_uint_eq(a.mtimensec, 987654321);
}

/* Set-id bits a write clears */

/* A file 06755; a write with flags, its mode after a fresh LOOKUP. */
static uint32_t
mode_after_write(uint32_t write_flags)
{
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 06755 };
	struct fuse_entry_out e;
	struct fuse_write_in in = { .size = 1, .write_flags = write_flags };
	struct fuse_write_out out;

	ck_assert_int_eq(fc_create(&c, ROOT, "f", S_IFREG | 0755,
	    O_WRONLY | O_CREAT, &e, &in.fh), 0);
	ck_assert_int_eq(setattr_rc(e.nodeid, &sa, NULL), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_WRITE, e.nodeid, &in, sizeof(in),
	    "x", 1, &out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(out.size, 1);
	ck_assert_int_eq(fc_release(&c, e.nodeid, in.fh, false), 0);
	return fresh(ROOT, "f", e.nodeid, 1).mode;
}

POSIX_CASE(write_kill_suidgid_clears_setuid_and_setgid)
{
	ck_assert_uint_eq(mode_after_write(FUSE_WRITE_KILL_SUIDGID),
	    S_IFREG | 0755);
}

/* The kernel sends no flag for a privileged writer: the bits stay. */
POSIX_CASE(write_without_kill_flag_keeps_setuid_and_setgid)
{
	ck_assert_uint_eq(mode_after_write(0), S_IFREG | 06755);
}

POSIX_CASE(setattr_kill_suidgid_clears_setuid_and_setgid)
{
	struct fuse_setattr_in in = { .valid = FATTR_MODE, .mode = 06755 };
	uint64_t f = make(ROOT, "f", S_IFREG | 0755);

	ck_assert_int_eq(setattr_rc(f, &in, NULL), 0);
	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE |
	    FATTR_KILL_SUIDGID, .size = 0 };
	ck_assert_int_eq(setattr_rc(f, &in, NULL), 0);
	ck_assert_uint_eq(fresh(ROOT, "f", f, 1).mode, S_IFREG | 0755);
}

static Suite *
posix_suite(void)
{
	Suite *s = suite_create("posix");
	TCase *tc = tcase_create("rules");
	bool s3 = getenv("OBJFSD_TEST_S3_BUCKET") != NULL &&
	    getenv("OBJFSD_TEST_S3_ENDPOINT") != NULL;
	int first = getenv("OBJFSD_TEST_S3_ONLY") != NULL ? ON_S3 : ON_FS;
	int last = s3 ? ON_S3 + 1 : ON_S3;

	tcase_add_loop_test(tc, parent_is_a_file_enotdir, first, last);
	tcase_add_loop_test(tc, name_over_255_bytes_enametoolong, first, last);
	tcase_add_loop_test(tc, existing_name_eexist, first, last);
	tcase_add_loop_test(tc, rmdir_of_non_empty_dir_enotempty, first, last);
	tcase_add_loop_test(tc, rename_dir_onto_non_empty_dir_enotempty,
	    first, last);
	tcase_add_loop_test(tc, rename_dir_onto_file_enotdir, first, last);
	tcase_add_loop_test(tc, rename_file_onto_dir_eisdir, first, last);
	tcase_add_loop_test(tc, unlink_of_dir_eisdir, first, last);
	tcase_add_loop_test(tc, rmdir_of_file_enotdir, first, last);
	tcase_add_loop_test(tc, link_is_eperm_by_design, first, last);
	tcase_add_loop_test(tc, regular_file_keeps_type_and_mode, first, last);
	tcase_add_loop_test(tc, directory_keeps_type_and_mode, first, last);
	tcase_add_loop_test(tc, symlink_keeps_type_and_mode, first, last);
	tcase_add_loop_test(tc, fifo_keeps_type_and_mode, first, last);
	tcase_add_loop_test(tc, socket_keeps_type_and_mode, first, last);
	tcase_add_loop_test(tc, char_device_keeps_type_mode_and_rdev, first,
	    last);
	tcase_add_loop_test(tc, block_device_keeps_type_mode_and_rdev, first,
	    last);
	tcase_add_loop_test(tc, setattr_size_moves_mtime_and_ctime, first,
	    last);
	tcase_add_loop_test(tc, setattr_mode_moves_ctime_only, first, last);
	tcase_add_loop_test(tc, setattr_uid_moves_ctime_only, first, last);
	tcase_add_loop_test(tc, setattr_gid_moves_ctime_only, first, last);
	tcase_add_loop_test(tc, utimes_nanoseconds_read_back_exactly, first,
	    last);
	tcase_add_loop_test(tc, write_kill_suidgid_clears_setuid_and_setgid,
	    first, last);
	tcase_add_loop_test(tc,
	    write_without_kill_flag_keeps_setuid_and_setgid, first, last);
	tcase_add_loop_test(tc, setattr_kill_suidgid_clears_setuid_and_setgid,
	    first, last);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(posix_suite(), "check_posix", LOG_LEVEL_ERROR);
}
