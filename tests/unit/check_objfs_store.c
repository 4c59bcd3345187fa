/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs over one store at a time: object-store shapes other tools leave,
 * failures of the store reaching the application, the fs store's sync,
 * and escapes from fs:.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objfs_fixture.h"
#include "store_s3.h"

#define OBJFS_TEST_OLD_KEYS	16	/* OBJFS_OLD_KEYS_MAX */

/* Object-store shapes other tools leave behind. */
START_TEST(implied_directories_on_object_store)
{
	struct store_attr a = { 0 };
	struct collect c = { .room = 100 };
	uint64_t fh, d, e2;

	setup_store(0);
	ck_assert_int_eq(store_put(st, "a/b/c.txt", -1, 0, &a), 0);
	ck_assert_int_eq(store_put(st, "x", -1, 0, &a), 0);
	d = lookup(ROOT, "a");
	ck_assert(S_ISDIR(stat_(d).st_mode));
	ck_assert_uint_eq(stat_(d).st_mode, S_IFDIR | 0755);	/* default */
	e2 = lookup(d, "b");
	ck_assert(S_ISREG(stat_(lookup(e2, "c.txt")).st_mode));
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, false, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 4);
	ck_assert_str_eq(c.names[2], "a");
	ck_assert_str_eq(c.names[3], "x");
	objfs_releasedir(fs, fh);
	collect_free(&c);
	/* Removing the last file makes the implied directories empty. */
	ck_assert_int_eq(objfs_rmdir(fs, d, "b"), -ENOTEMPTY);
	ck_assert_int_eq(objfs_unlink(fs, e2, "c.txt"), 0);
	ck_assert_int_eq(objfs_rmdir(fs, d, "b"), 0);
	teardown_store();
}
END_TEST

/* Upload failures reach the application; the data is kept. */
START_TEST(upload_failure_is_reported)
{
	char path[160], buf[16];
	uint64_t ino, fh;
	struct objfs_entry e;
	FILE *p;
	int fd;

	make_tmpdir();
	open_fs("mem:fail-put=doomed");
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "doomed", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), -EIO);
	/* A rename copies (mem: has no put on the way): it works. */
	ino = mkfile(ROOT, "fine", "ok");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "fine", ROOT, "doomed2", 0), 0);
	fh = open_(ino, O_WRONLY);
	write_at(fh, 0, "data", 4);
	ck_assert_int_eq(objfs_flush(fs, fh), -EIO);
	ck_assert_int_eq(objfs_fsync(fs, fh, false), -EIO);
	ck_assert_int_eq(objfs_release(fs, fh), -EIO);
	/* Not silently dropped: the bytes wait in the cache directory. */
	snprintf(path, sizeof(path), "ls %s/lost+found/*", cachedir);
	ck_assert_ptr_nonnull(p = popen(path, "r"));
	ck_assert_ptr_nonnull(fgets(path, sizeof(path), p));
	pclose(p);
	path[strcspn(path, "\n")] = '\0';
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "data", 4), 0);
	close(fd);
	teardown_store();
}
END_TEST

/*
 * FSYNC and FSYNCDIR reach the store's sync (FLUSH and RELEASE do not:
 * close() is not a durability point), and its failure reaches the caller.
 */
START_TEST(sync_failure_is_reported)
{
	uint64_t ino, fh, dir;

	make_tmpdir();
	open_fs("mem:fail-sync=synced");
	ino = mkfile(ROOT, "synced", "x");
	fh = open_(ino, O_WRONLY);
	write_at(fh, 0, "data", 4);
	ck_assert_int_eq(objfs_flush(fs, fh), 0);
	ck_assert_int_eq(objfs_fsync(fs, fh, false), -EIO);
	ck_assert_int_eq(objfs_fsync(fs, fh, true), -EIO);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "data");

	fh = open_(mkfile(ROOT, "plain", "y"), O_RDWR);
	ck_assert_int_eq(objfs_fsync(fs, fh, false), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);

	dir = mkdir_(ROOT, "synced-dir");
	ck_assert_int_eq(objfs_fsyncdir(fs, dir, false), -EIO);
	ck_assert_int_eq(objfs_fsyncdir(fs, ROOT, true), 0);
	ck_assert_int_eq(objfs_fsyncdir(fs, 987654, false), -ESTALE);

	/* Once unlinked the name may be another file's: no sync of it. */
	fh = open_(mkfile(ROOT, "synced-gone", "z"), O_RDWR);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "synced-gone"), 0);
	write_at(fh, 0, "more", 4);
	ck_assert_int_eq(objfs_fsync(fs, fh, false), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(objfs_syncfs(fs), 0);
	teardown_store();
}
END_TEST

/* The fs store's sync opens what it syncs: every kind of file, no hang. */
STORE_TEST(fs_sync_every_kind_of_key)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/root/f", tmpdir);
	ck_assert_int_ge(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
	snprintf(path, sizeof(path), "%s/root/d", tmpdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/root/l", tmpdir);
	ck_assert_int_eq(symlink("f", path), 0);
	snprintf(path, sizeof(path), "%s/root/p", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	snprintf(path, sizeof(path), "%s/root/s", tmpdir);
	ck_assert_int_eq(mknod(path, S_IFSOCK | 0644, 0), 0);

	ck_assert_int_eq(store_sync(st, "f", false), 0);
	ck_assert_int_eq(store_sync(st, "f", true), 0);
	ck_assert_int_eq(store_sync(st, "d", false), 0);
	ck_assert_int_eq(store_sync(st, "d/", true), 0);
	ck_assert_int_eq(store_sync(st, "", false), 0);
	ck_assert_int_eq(store_sync(st, "l", false), 0);
	ck_assert_int_eq(store_sync(st, "p", false), 0);
	ck_assert_int_eq(store_sync(st, "s", false), 0);
	ck_assert_int_eq(store_sync(st, NULL, false), 0);
	ck_assert_int_eq(store_sync(st, "missing", false), -ENOENT);
	ck_assert_int_eq(store_sync(st, "f/under-a-file", false), -ENOENT);
	ck_assert_int_eq(store_sync(st, "../outside", false), -EINVAL);
}

/*
 * Escapes from fs:.  The host directory holds `outside` next to `root`;
 * nothing the guest does may read or change anything in `outside`.
 */
static char outside[128];

static void
plant(const char *linkname, const char *target)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, linkname);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void
setup_escape(int which)
{
	char secret[200];
	int fd;

	setup_store(which);
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	ck_assert_int_ge(fd = open(secret, O_CREAT | O_WRONLY, 0600), 0);
	ck_assert_int_eq(write(fd, "SECRET", 6), 6);
	close(fd);
}

static void
assert_outside_untouched(void)
{
	char cmd[256];
	struct stat sb;

	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", outside);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/secret", outside);
	ck_assert_int_eq(lstat(cmd, &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(sb.st_uid, getuid());
	ck_assert_int_eq(sb.st_size, 6);
}

START_TEST(escape_bad_keys)
{
	static const char *const keys[] = {
		"../outside/secret", "/etc/passwd", "a/../../outside/secret",
		"a//b", "./x", "x/.", "..", "a/..",
	};
	struct store_attr a = { 0 };
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	size_t got;

	setup_escape(_i);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ck_assert_int_eq(store_head(st, keys[i], &a), -EINVAL);
		ck_assert_int_eq(store_get(st, keys[i], 0, &iov, 1, &got),
		    -EINVAL);
		ck_assert_int_eq(store_put(st, keys[i], -1, 0, &a), -EINVAL);
		ck_assert_int_eq(store_remove(st, keys[i]), -EINVAL);
	}
	assert_outside_untouched();
	teardown_store();
}
END_TEST

START_TEST(escape_through_planted_symlinks)
{
	struct store_attr a = { 0 };
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE | OBJFS_SET_UID,
	    .mode = 0777, .uid = 1234 };
	char buf[64], target[160];
	struct iovec iov = { buf, sizeof(buf) };
	struct objfs_entry e;
	struct stat sb;
	size_t got;
	uint64_t ino, fh;
	unsigned of;

	setup_escape(_i);
	plant("evil", outside);
	snprintf(target, sizeof(target), "%s/secret", outside);
	plant("link", target);
	/* The links are links; nothing resolves through them. */
	ino = lookup(ROOT, "evil");
	ck_assert(S_ISLNK(stat_(ino).st_mode));
	ck_assert_int_eq(lookup_rc(ino, "secret"), -ENOTDIR);
	ck_assert_int_ne(store_get(st, "evil/secret", 0, &iov, 1, &got), 0);
	ck_assert_int_ne(store_head(st, "evil/secret", &a), 0);
	ck_assert_int_ne(store_put(st, "evil/planted", -1, 0, &a), 0);
	ck_assert_int_ne(store_put(st, "evil/", -1, 0, &a), 0);
	ck_assert_int_ne(store_remove(st, "evil/secret"), 0);
	/* A link to a file: open refuses, reads give the link, not the file. */
	ino = lookup(ROOT, "link");
	ck_assert_int_eq(objfs_open(fs, ino, O_RDONLY, false, &fh, &of),
	    -EINVAL);
	ck_assert_int_eq(objfs_readlink(fs, ino, buf, sizeof(buf), &got), 0);
	ck_assert_uint_eq(got, strlen(target));
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	/* Replacing or deleting the link touches only the link. */
	mkfile(ROOT, "plain", "x");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "plain", ROOT, "link", 0), 0);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "evil"), 0);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "evil", 0755, &e), 0);
	assert_outside_untouched();
	teardown_store();
}
END_TEST

START_TEST(escape_by_swapping_a_directory)
{
	char path[200], moved[200];
	struct collect c = { .room = 100 };
	struct objfs_entry e;
	uint64_t d, fh;

	setup_escape(_i);
	d = mkdir_(ROOT, "d");
	mkfile(d, "inside", "i");
	/* The host swaps d for a link to outside behind the guest's back. */
	snprintf(path, sizeof(path), "%s/root/d", tmpdir);
	snprintf(moved, sizeof(moved), "%s/root/d.moved", tmpdir);
	ck_assert_int_eq(rename(path, moved), 0);
	plant("d", outside);
	ck_assert_int_ne(lookup_rc(d, "secret"), 0);
	/*
	 * The fs store keeps directories open for up to a second: until then
	 * d may still mean the directory the host moved, inside the root.
	 */
	if (objfs_create(fs, &ctx, d, "early", 0644, O_CREAT | O_WRONLY, &e,
	    &fh) == 0) {
		char early[220];
		struct stat sb;

		ck_assert_int_eq(objfs_release(fs, fh), 0);
		snprintf(early, sizeof(early), "%s/early", moved);
		ck_assert_int_eq(stat(early, &sb), 0);
	}
	usleep(1100 * 1000);
	ck_assert_int_ne(objfs_create(fs, &ctx, d, "planted", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	ck_assert_int_ne(objfs_mkdir(fs, &ctx, d, "planted", 0755, &e), 0);
	ck_assert_int_ne(objfs_unlink(fs, d, "secret"), 0);
	ck_assert_int_ne(objfs_rename(fs, d, "secret", ROOT, "stolen", 0), 0);
	if (objfs_opendir(fs, d, &fh) == 0) {
		(void)objfs_readdir(fs, fh, 0, true, collect_cb, &c);
		for (size_t i = 0; i < c.n; i++)
			ck_assert_str_ne(c.names[i], "secret");
		objfs_releasedir(fs, fh);
	}
	collect_free(&c);
	assert_outside_untouched();
	teardown_store();
}
END_TEST

/*
 * A store whose listings never end (the same token, new tokens with
 * nothing in them, the same keys again): READDIR gives what it has and
 * then EIO, where it used to page forever holding the namespace lock.
 */
START_TEST(listing_that_never_ends)
{
	static const char *const modes[] = { "token", "empty", "repeat" };
	struct collect c = { 0 };
	char url[64];
	uint64_t fh;
	int rc = 0;

	make_tmpdir();
	snprintf(url, sizeof(url), "mem:stuck=%s", modes[_i]);
	open_fs(url);
	mkfile(ROOT, "a", "1");
	mkfile(ROOT, "b", "2");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	for (int call = 0; call < 20 && rc == 0; call++) {
		size_t had = c.n;

		c.room = 1000;
		rc = objfs_readdir(fs, fh, c.next_off, false, collect_cb, &c);
		ck_assert_msg(rc == -EIO || c.n > had, "call %d: %d, nothing",
		    call, rc);
	}
	ck_assert_int_eq(rc, -EIO);
	objfs_releasedir(fs, fh);
	collect_free(&c);
	teardown_store();
}
END_TEST

/*
 * A store that says it removed keys it still lists: the move stops when
 * it lists a page again (past the first of 1,000 keys; a last page ends
 * the walk anyway).
 */
START_TEST(rename_walk_that_sees_keys_again)
{
	char name[16];
	uint64_t d;

	make_tmpdir();
	open_fs("mem:stuck=undead");
	d = mkdir_(ROOT, "d");
	for (int i = 0; i <= 1000; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		mkfile(d, name, "x");
	}
	ck_assert_int_eq(objfs_rename(fs, ROOT, "d", ROOT, "e", 0), -EIO);
	teardown_store();
}
END_TEST

/*
 * A truncate with no handle open uploads at once; when that upload fails
 * the bytes must wait in the cache directory, not vanish with the inode
 * at FORGET.
 */
START_TEST(failed_truncate_upload_is_kept)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_SIZE, .size = 1 };
	char path[160], buf[16];
	struct stat sb;
	uint64_t ino;
	FILE *p;
	int fd;

	make_tmpdir();
	open_fs("mem:fail-put=doomed");
	ino = mkfile(ROOT, "fine", "ok");
	/* A rename copies (mem: has no put on the way): it works. */
	ck_assert_int_eq(objfs_rename(fs, ROOT, "fine", ROOT, "doomed", 0), 0);
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), -EIO);
	objfs_forget(fs, ino, 1000);
	snprintf(path, sizeof(path), "ls %s/lost+found/* 2>/dev/null",
	    cachedir);
	ck_assert_ptr_nonnull(p = popen(path, "r"));
	ck_assert_msg(fgets(path, sizeof(path), p) != NULL,
	    "the truncated file's bytes are not in the cache directory");
	pclose(p);
	path[strcspn(path, "\n")] = '\0';
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 1);
	ck_assert_int_eq(buf[0], 'o');
	close(fd);
	teardown_store();
}
END_TEST

struct churn {
	uint64_t	ino;
	int		n;
};

/* Lookups and getattrs: each takes and drops a reference. */
static void *
churn_lookups(void *arg)
{
	struct churn *c = arg;
	struct objfs_entry e;
	struct stat sb;

	for (int i = 0; i < c->n; i++) {
		if (objfs_lookup(fs, ROOT, "f", &e) == 0)
			(void)objfs_getattr(fs, e.ino, &sb);
	}
	return NULL;
}

/*
 * FORGETs racing with the puts of concurrent requests: a put that has
 * dropped the last reference must not touch the inode a FORGET may free
 * (AddressSanitizer sees the use after free this used to be).
 */
START_TEST(forget_races_with_puts)
{
	struct churn c = { .n = 5000 };
	pthread_t t[2];
	struct objfs_entry e;

	make_tmpdir();
	open_fs("mem:");
	mkfile(ROOT, "f", "x");
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "f", &e), 0);
	c.ino = e.ino;
	objfs_forget(fs, e.ino, 1000);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn_lookups, &c),
		    0);
	for (int i = 0; i < 4 * c.n; i++) {
		struct objfs_entry f;

		if (objfs_lookup(fs, ROOT, "f", &f) == 0)
			objfs_forget(fs, f.ino, 2);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	teardown_store();
}
END_TEST

struct slow_rename {
	const char	*from, *to;
	int		 rc;
};

static void *
slow_rename_run(void *arg)
{
	struct slow_rename *r = arg;

	r->rc = objfs_rename(fs, ROOT, r->from, ROOT, r->to, 0);
	return NULL;
}

static int64_t
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A rename on an object store is a copy and a remove, and a copy of a
 * large object takes time.  Meanwhile requests on other files go on (a
 * lookup, a getattr, a create): they used to wait for the namespace lock
 * the rename held for writing, the soak's stall.  A handle open on the
 * renamed file reads the same bytes before and after.
 */
START_TEST(slow_rename_holds_up_no_one)
{
	struct slow_rename r = { .from = "slow", .to = "moved" },
	    r2 = { .from = "slow2", .to = "moved2" };
	struct objfs_entry e;
	struct timespec t0, t1;
	uint64_t other, slow, fh, cfh;
	pthread_t t, t2;
	char buf[16];
	struct stat sb;

	make_tmpdir();
	open_fs("mem:slow-copy=slow");
	slow = mkfile(ROOT, "slow", "the bytes");
	other = mkfile(ROOT, "other", "x");
	(void)mkfile(ROOT, "slow2", "more");
	fh = open_(slow, O_RDONLY);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pthread_create(&t, NULL, slow_rename_run, &r), 0);
	ck_assert_int_eq(pthread_create(&t2, NULL, slow_rename_run, &r2), 0);
	(void)nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "other", &e), 0);
	ck_assert_int_eq(objfs_getattr(fs, other, &sb), 0);
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "new", 0644, O_RDWR,
	    &e, &cfh), 0);
	objfs_release(fs, cfh);
	ck_assert_msg(elapsed_ms(&t1) < 700, "requests waited %lld ms for "
	    "a rename of another file", (long long)elapsed_ms(&t1));
	/* The file being renamed: its requests may wait, and then work. */
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 9);
	ck_assert_int_eq(objfs_getattr(fs, slow, &sb), 0);
	ck_assert_int_eq(sb.st_size, 9);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	/* Two renames of other names: side by side, not one after the other. */
	ck_assert_msg(elapsed_ms(&t0) < 2500, "two 1.5 s renames took %lld ms",
	    (long long)elapsed_ms(&t0));
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r2.rc, 0);
	ck_assert_int_eq(lookup_rc(ROOT, "slow2"), -ENOENT);
	ck_assert_str_eq(slurp(lookup(ROOT, "moved2")), "more");
	ck_assert_int_eq(lookup_rc(ROOT, "slow"), -ENOENT);
	ck_assert_uint_eq(lookup(ROOT, "moved"), slow);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "the bytes");
	objfs_release(fs, fh);
	ck_assert_str_eq(slurp(slow), "the bytes");
	teardown_store();
}
END_TEST

/*
 * The names of a directory objfs made, past what it keeps of them (1,000
 * a directory): every name made (or moved in) is found after its inode is
 * forgotten, names removed or moved away are gone, and a new one is
 * absent, whether the answer comes from what objfs knows or the store.
 */
START_TEST(names_of_a_new_directory)
{
	struct objfs_entry e;
	char name[16];
	uint64_t d;

	make_tmpdir();
	open_fs("mem:");
	d = mkdir_(ROOT, "d");
	for (int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		ck_assert_int_eq(lookup_rc(d, name), -ENOENT);
		/* Forgotten: the next lookup cannot take the inode's word. */
		objfs_forget(fs, mkfile(d, name, "x"), 1000);
		if (i == 10 || i == 1050) {
			ck_assert_int_eq(objfs_unlink(fs, d, name), 0);
			ck_assert_int_eq(lookup_rc(d, name), -ENOENT);
		}
		if (i == 20 || i == 1060)
			ck_assert_int_eq(objfs_rename(fs, d, name, ROOT, name,
			    0), 0);
	}
	for (int i = 0; i < 1100; i++) {
		bool gone = i == 10 || i == 1050 || i == 20 || i == 1060;

		snprintf(name, sizeof(name), "f%04d", i);
		ck_assert_int_eq(lookup_rc(d, name), gone ? -ENOENT : 0);
	}
	ck_assert_int_eq(lookup_rc(ROOT, "f0020"), 0);
	ck_assert_int_eq(objfs_lookup(fs, d, "new", &e), -ENOENT);
	/* Moved in, and a directory made in it, then forgotten. */
	objfs_forget(fs, mkfile(ROOT, "in", "y"), 1000);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "in", d, "in", 0), 0);
	objfs_forget(fs, mkdir_(d, "sub"), 1000);
	objfs_forget(fs, lookup(d, "in"), 1000);
	ck_assert_int_eq(lookup_rc(d, "in"), 0);
	ck_assert_int_eq(lookup_rc(d, "sub"), 0);
	teardown_store();
}
END_TEST

struct rename_churn {
	uint64_t	fh, ino;
	int		n, bad;
	bool		stop;
};

static void *
rename_churn_read(void *arg)
{
	struct rename_churn *c = arg;
	struct stat sb;
	char buf[16];

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		memset(buf, 0, sizeof(buf));
		if (read_at(c->fh, 0, buf, sizeof(buf)) != 9 ||
		    strcmp(buf, "the bytes") != 0 ||
		    objfs_getattr(fs, c->ino, &sb) != 0 || sb.st_size != 9)
			c->bad++;
	}
	return NULL;
}

/*
 * A file renamed back and forth while another thread reads it through an
 * open handle: every read gives its bytes (a read that met the old key
 * gone tries the new one), and past the old keys kept per inode the
 * rename takes the exclusive lock and frees them (AddressSanitizer checks
 * that none is freed under a reader).
 */
START_TEST(renames_race_with_reads)
{
	struct rename_churn c = { .n = 3 * OBJFS_TEST_OLD_KEYS };
	pthread_t t;

	make_tmpdir();
	open_fs("mem:");
	c.ino = mkfile(ROOT, "a", "the bytes");
	c.fh = open_(c.ino, O_RDONLY);
	ck_assert_int_eq(pthread_create(&t, NULL, rename_churn_read, &c), 0);
	for (int i = 0; i < c.n; i++)
		ck_assert_int_eq(objfs_rename(fs, ROOT, i % 2 ? "b" : "a", ROOT,
		    i % 2 ? "a" : "b", 0), 0);
	__atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.bad, 0);
	ck_assert_uint_eq(lookup(ROOT, c.n % 2 ? "b" : "a"), c.ino);
	ck_assert_int_eq(lookup_rc(ROOT, c.n % 2 ? "a" : "b"), -ENOENT);
	objfs_release(fs, c.fh);
	teardown_store();
}
END_TEST

/*
 * The cache directory on a 1 MiB filesystem: a write that does not fit
 * answers ENOSPC (not EIO), the files that fit keep their bytes, and
 * writes work again once the space is back.  Needs a mount namespace
 * (root, as in CI); skipped without one.
 */
START_TEST(full_cache_dir_answers_enospc)
{
	static char chunk[64 * 1024];
	struct objfs_entry e;
	uint64_t fh, a, c;
	size_t n;
	int rc = 0;

	make_tmpdir();
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("objfsd-check", cachedir, "tmpfs", 0, "size=1m") != 0) {
		fprintf(stderr, "full_cache_dir_answers_enospc: no mount "
		    "namespace here (%s); skipped\n", strerror(errno));
		rm_rf(tmpdir);
		return;
	}
	open_fs("mem:");
	memset(chunk, 'a', sizeof(chunk));
	a = mkfile(ROOT, "a", "kept");
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "big", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	for (uint64_t off = 0; rc == 0 && off < (4u << 20); off += n) {
		struct iovec iov = { chunk, sizeof(chunk) };

		n = 0;
		rc = objfs_write(fs, fh, off, &iov, 1, false, &n);
	}
	ck_assert_int_eq(rc, -ENOSPC);
	(void)objfs_release(fs, fh);
	ck_assert_str_eq(slurp(a), "kept");
	c = mkfile(ROOT, "c", "after");
	ck_assert_str_eq(slurp(c), "after");
	objfs_free(fs);
	store_close(st);
	fs = NULL;
	st = NULL;
	ck_assert_int_eq(umount(cachedir), 0);
	rm_rf(tmpdir);
}
END_TEST

/* Tests of one store each, added to the "semantics" case. */
/*
 * A stand-in S3 endpoint that counts what it is sent: directory markers
 * exist, nothing else does, listings are empty; one request a connection.
 */
struct counting_s3 {
	int		 lfd;
	pthread_t	 thread;
	unsigned	 requests;
};

/* A listing of prefix P/ holds the marker P/ alone (none of ""). */
static void
counting_s3_list(int fd, const char *req)
{
	char prefix[1200] = "", body[1500], out[1700];
	const char *p = strstr(req, "prefix=");
	size_t n = 0;
	int len;

	for (p = p != NULL ? p + 7 : ""; *p != '&' && *p != ' ' && *p != '\0' &&
	    n < sizeof(prefix) - 1; p++) {
		if (strncmp(p, "%2F", 3) == 0) {
			prefix[n++] = '/';
			p += 2;
		} else
			prefix[n++] = *p;
	}
	prefix[n] = '\0';
	len = snprintf(body, sizeof(body), "<ListBucketResult>"
	    "<IsTruncated>false</IsTruncated>%s%s%s</ListBucketResult>",
	    n > 0 ? "<Contents><Key>" : "", prefix, n > 0 ? "</Key>"
	    "<LastModified>2026-01-01T00:00:00.000Z</LastModified>"
	    "<ETag>\"e\"</ETag><Size>0</Size></Contents>" : "");
	len = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nConnection: "
	    "close\r\nContent-Length: %d\r\n\r\n%s", len, body);
	ck_assert_int_eq(write(fd, out, (size_t)len), len);
}

static void
counting_s3_answer(int fd, const char *req)
{
	static const char empty[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char missing[] = "HTTP/1.1 404 Not Found\r\n"
	    "Connection: close\r\nContent-Length: 0\r\n\r\n";
	const char *sp = strchr(req + 5, ' ');
	const char *r = empty;

	if (strncmp(req, "HEAD ", 5) == 0 && sp != NULL && sp[-1] != '/')
		r = missing;
	if (strncmp(req, "GET ", 4) == 0 && strstr(req, "list-type") != NULL) {
		counting_s3_list(fd, req);
		return;
	}
	ck_assert_int_eq(write(fd, r, strlen(r)), (ssize_t)strlen(r));
}

static void *
counting_s3_serve(void *arg)
{
	struct counting_s3 *c = arg;
	char req[8192];
	int fd;

	while ((fd = accept(c->lfd, NULL, NULL)) >= 0) {
		size_t have = 0;
		ssize_t n;

		while (have < sizeof(req) - 1 && (n = read(fd, req + have,
		    sizeof(req) - 1 - have)) > 0) {
			have += (size_t)n;
			req[have] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		if (have > 0) {
			__atomic_add_fetch(&c->requests, 1, __ATOMIC_SEQ_CST);
			counting_s3_answer(fd, req);
		}
		close(fd);
	}
	return NULL;
}

/* objfs on s3://bucket at the counting endpoint: globals fs and st. */
static void
counting_s3_open(struct counting_s3 *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3 };
	struct objfs_options o = { .file_mode = 0644, .dir_mode = 0755,
	    .cache_dir = cachedir };
	char endpoint[64];

	ck_assert_int_ge(c->lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(c->lfd, 16), 0);
	ck_assert_int_eq(getsockname(c->lfd, (struct sockaddr *)&sa, &salen),
	    0);
	ck_assert_int_eq(pthread_create(&c->thread, NULL, counting_s3_serve,
	    c), 0);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
	    ntohs(sa.sin_port));
	store_s3_config_init(&s3);
	s3.endpoint = endpoint;
	s3.path_style = 1;
	s3.anonymous = true;
	s3.retries = 0;
	make_tmpdir();
	ck_assert_int_eq(store_open("s3://bucket", &cfg, &st), 0);
	o.store = st;
	ck_assert_int_eq(objfs_new(&o, &fs), 0);
}

static void
counting_s3_close(struct counting_s3 *c)
{
	teardown_store();
	shutdown(c->lfd, SHUT_RDWR);
	close(c->lfd);
	pthread_join(c->thread, NULL);
}

/*
 * S3 keys are 1,024 bytes at most: a name making a longer one is
 * ENAMETOOLONG from objfs, for every operation, before any request.
 */
START_TEST(s3_key_over_1024_bytes_is_refused_before_any_request)
{
	struct counting_s3 c = { 0 };
	char comp[STORE_NAME_MAX + 1];
	struct objfs_entry e;
	uint64_t d = ROOT, fh;
	unsigned sent;

	counting_s3_open(&c);
	ck_assert_uint_eq(store_key_max(st), 1024);
	memset(comp, 'd', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	for (int i = 0; i < 4; i++)		/* a key of 4 * 256 - 1 bytes */
		d = lookup(d, comp);
	sent = __atomic_load_n(&c.requests, __ATOMIC_SEQ_CST);
	ck_assert_uint_gt(sent, 0);
	/* d/x: 1,025 bytes */
	ck_assert_int_eq(lookup_rc(d, "x"), -ENAMETOOLONG);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, d, "x", 0755, &e),
	    -ENAMETOOLONG);
	ck_assert_int_eq(objfs_create(fs, &ctx, d, "x", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), -ENAMETOOLONG);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, d, "x", S_IFIFO | 0644, 0, &e),
	    -ENAMETOOLONG);
	ck_assert_int_eq(objfs_symlink(fs, &ctx, d, "x", "t", &e),
	    -ENAMETOOLONG);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "f", d, "x", 0),
	    -ENAMETOOLONG);
	ck_assert_uint_eq(__atomic_load_n(&c.requests, __ATOMIC_SEQ_CST),
	    sent);
	counting_s3_close(&c);
}
END_TEST

void
objfs_add_store_tests(TCase *tc)
{
	tcase_add_test(tc, implied_directories_on_object_store);
	tcase_add_test(tc, upload_failure_is_reported);
	tcase_add_test(tc, sync_failure_is_reported);
	tcase_add_loop_test(tc, fs_sync_every_kind_of_key, 1, 3);
	tcase_add_loop_test(tc, listing_that_never_ends, 0, 3);
	tcase_add_test(tc, rename_walk_that_sees_keys_again);
	tcase_add_test(tc, failed_truncate_upload_is_kept);
	tcase_add_test(tc, forget_races_with_puts);
	tcase_add_test(tc, slow_rename_holds_up_no_one);
	tcase_add_test(tc, renames_race_with_reads);
	tcase_add_test(tc, names_of_a_new_directory);
	tcase_add_test(tc, full_cache_dir_answers_enospc);
	tcase_add_test(tc, s3_key_over_1024_bytes_is_refused_before_any_request);
}

/* 1: fs: with openat2, 2: walking paths component by component */
TCase *
objfs_escapes_tcase(void)
{
	TCase *tc = tcase_create("fs-escapes");

	tcase_add_loop_test(tc, escape_bad_keys, 1, 3);
	tcase_add_loop_test(tc, escape_through_planted_symlinks, 1, 3);
	tcase_add_loop_test(tc, escape_by_swapping_a_directory, 1, 3);
	return tc;
}
