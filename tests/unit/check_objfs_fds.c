/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File descriptors: the fs store keeps a bounded number open, whatever
 * the number of open handles, and objfs caps its handles.  Each test
 * lowers its own soft RLIMIT_NOFILE to 64 before it opens the store, so
 * the store's budget is 16 fds of files (store_fs_files.c), and holds
 * many more files open than that through objfs.  Tests run in forked
 * children, so the lowered limit ends with the test.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "objfs_fixture.h"

#define NOFILE		64
#define FILES_FDS	16	/* the store's budget at NOFILE */
#define MANY		300

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;		/* the one opendir holds */
}

/* fs: (1) or fs: walking paths (2), under a small open-file limit. */
static void
setup_small(int which)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = NOFILE;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	setup_store(which);
}

static char *
host_read(const char *name)
{
	static char buf[256];
	char path[200];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, name);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static void
expect_read(uint64_t fh, const char *want)
{
	char buf[256];
	size_t n = read_at(fh, 0, buf, sizeof(buf) - 1);

	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

/* Hold n other files open and read them, so every idle fd is given up. */
static void
churn(const char *prefix, int n)
{
	char name[32], want[32];
	uint64_t fh[4 * FILES_FDS];

	ck_assert_int_le(n, 4 * FILES_FDS);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%03d", prefix, i);
		snprintf(want, sizeof(want), "churn %d", i);
		if (lookup_rc(ROOT, name) == -ENOENT)
			host_write(name, want);
		fh[i] = open_(lookup(ROOT, name), O_RDONLY);
		expect_read(fh[i], want);
	}
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(objfs_release(fs, fh[i]), 0);
}

/*
 * 300 files open for writing at once, each written and read back through
 * its handle, then 300 open for reading: the store's fds stay within its
 * budget and every byte lands in the right file.
 */
START_TEST(more_open_files_than_fds)
{
	static uint64_t fh[MANY], ino[MANY];
	char name[32], text[32];
	int base, peak = 0;

	setup_small(_i);
	base = count_fds();
	for (int i = 0; i < MANY; i++) {
		struct objfs_entry e;

		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(text, sizeof(text), "file %d", i);
		ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, name, 0644,
		    O_CREAT | O_RDWR, &e, &fh[i]), 0);
		ck_assert_uint_eq(write_at(fh[i], 0, text, strlen(text)),
		    strlen(text));
		ino[i] = e.ino;
		if (count_fds() - base > peak)
			peak = count_fds() - base;
	}
	for (int i = 0; i < MANY; i++) {
		snprintf(text, sizeof(text), "file %d", i);
		expect_read(fh[i], text);
		ck_assert_int_eq(objfs_fsync(fs, fh[i], false), 0);
	}
	ck_assert_int_le(count_fds() - base, FILES_FDS);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(objfs_release(fs, fh[i]), 0);
		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(text, sizeof(text), "file %d", i);
		ck_assert_str_eq(host_read(name), text);
	}
	ck_assert_int_eq(count_fds(), base);
	for (int i = 0; i < MANY; i++) {
		fh[i] = open_(ino[i], O_RDONLY);
		if (count_fds() - base > peak)
			peak = count_fds() - base;
	}
	for (int i = MANY - 1; i >= 0; i--) {
		snprintf(text, sizeof(text), "file %d", i);
		expect_read(fh[i], text);
	}
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(objfs_release(fs, fh[i]), 0);
	ck_assert_int_le(peak, FILES_FDS);
	ck_assert_int_eq(count_fds(), base);
	teardown_store();
}
END_TEST

/*
 * A file whose fd was given up is opened again by its name, which moves
 * with renames through objfs: of the file, and of its directory.
 */
START_TEST(renames_are_followed)
{
	uint64_t d, f, rfh, wfh;

	setup_small(_i);
	d = mkdir_(ROOT, "d");
	f = mkfile(d, "f", "before");
	rfh = open_(f, O_RDONLY);
	churn("c", 2 * FILES_FDS);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "d", ROOT, "e", 0), 0);
	ck_assert_int_eq(objfs_rename(fs, lookup(ROOT, "e"), "f",
	    lookup(ROOT, "e"), "g", 0), 0);
	expect_read(rfh, "before");
	wfh = open_(f, O_RDWR);
	churn("c", 2 * FILES_FDS);
	ck_assert_int_eq(objfs_rename(fs, lookup(ROOT, "e"), "g", ROOT, "h",
	    0), 0);
	ck_assert_uint_eq(write_at(wfh, 0, "AFTER!", 6), 6);
	ck_assert_int_eq(objfs_fsync(fs, wfh, true), 0);
	ck_assert_int_eq(objfs_release(fs, wfh), 0);
	churn("c", 2 * FILES_FDS);
	expect_read(rfh, "AFTER!");
	ck_assert_str_eq(host_read("h"), "AFTER!");
	ck_assert_int_eq(objfs_release(fs, rfh), 0);
	teardown_store();
}
END_TEST

/*
 * A file unlinked while open keeps its fd, however many others come and
 * go; kept fds count against the budget, and once they fill it, opening
 * one more file fails with EMFILE until some are closed.
 */
START_TEST(unlinked_files_keep_their_fds)
{
	uint64_t kept[2 * FILES_FDS], fh;
	char name[32], text[32];
	int base, n = 0, rc = 0;
	unsigned of;

	setup_small(_i);
	base = count_fds();
	for (n = 0; n < 2 * FILES_FDS; n++) {
		snprintf(name, sizeof(name), "u%02d", n);
		snprintf(text, sizeof(text), "unlinked %d", n);
		host_write(name, text);
		rc = objfs_open(fs, lookup(ROOT, name), O_RDWR, false,
		    &kept[n], &of);
		if (rc != 0)
			break;
		ck_assert_int_eq(objfs_unlink(fs, ROOT, name), 0);
		ck_assert_int_eq(lookup_rc(ROOT, name), -ENOENT);
	}
	ck_assert_int_eq(rc, -EMFILE);
	ck_assert_int_ge(n, FILES_FDS / 2);
	ck_assert_int_le(count_fds() - base, FILES_FDS);
	/* No fd left to lend: reading or writing any other file fails. */
	host_write("other", "other");
	ck_assert_int_eq(objfs_open(fs, lookup(ROOT, "other"), O_RDONLY,
	    false, &fh, &of), -EMFILE);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "unlinked %d", i);
		expect_read(kept[i], text);
		ck_assert_uint_eq(write_at(kept[i], 0, "U", 1), 1);
		text[0] = 'U';
		expect_read(kept[i], text);
	}
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(objfs_release(fs, kept[i]), 0);
	ck_assert_int_eq(count_fds(), base);
	fh = open_(lookup(ROOT, "other"), O_RDONLY);
	expect_read(fh, "other");
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	teardown_store();
}
END_TEST

/*
 * An unlinked file open for reading only is kept too, its fd given up
 * before the unlink or not.
 */
START_TEST(unlinked_reader_survives_churn)
{
	uint64_t early, late;

	setup_small(_i);
	host_write("r", "read me");
	early = open_(lookup(ROOT, "r"), O_RDONLY);
	churn("c", 2 * FILES_FDS);	/* early's fd is given up */
	late = open_(lookup(ROOT, "r"), O_RDONLY);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "r"), 0);
	churn("c", 2 * FILES_FDS);
	expect_read(early, "read me");
	expect_read(late, "read me");
	ck_assert_int_eq(objfs_release(fs, early), 0);
	churn("c", 2 * FILES_FDS);
	expect_read(late, "read me");
	ck_assert_int_eq(objfs_release(fs, late), 0);
	teardown_store();
}
END_TEST

/*
 * Behind objfsd's back: a file whose fd was given up and whose name now
 * holds another file, or none, is not silently swapped for it.
 */
START_TEST(replaced_on_the_host_is_stale)
{
	char from[200], to[200], buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t rfh, wfh;
	size_t n;

	setup_small(_i);
	host_write("x", "one");
	host_write("y", "two");
	host_write("w", "written");
	rfh = open_(lookup(ROOT, "x"), O_RDONLY);
	wfh = open_(lookup(ROOT, "w"), O_RDWR);
	churn("c", 2 * FILES_FDS);
	snprintf(from, sizeof(from), "%s/root/y", tmpdir);
	snprintf(to, sizeof(to), "%s/root/x", tmpdir);
	ck_assert_int_eq(rename(from, to), 0);
	snprintf(to, sizeof(to), "%s/root/w", tmpdir);
	ck_assert_int_eq(unlink(to), 0);
	ck_assert_int_eq(objfs_read(fs, rfh, 0, &iov, 1, &n), -ESTALE);
	ck_assert_int_eq(objfs_write(fs, wfh, 0, &iov, 1, false, &n),
	    -ESTALE);
	ck_assert_int_eq(objfs_release(fs, rfh), 0);
	ck_assert_int_eq(objfs_release(fs, wfh), 0);
	/* A new open finds what is there now. */
	rfh = open_(lookup(ROOT, "x"), O_RDONLY);
	expect_read(rfh, "two");
	ck_assert_int_eq(objfs_release(fs, rfh), 0);
	teardown_store();
}
END_TEST

/*
 * The cap on open handles (files and directories together): past it,
 * open, create and opendir fail with EMFILE; a release makes room.
 */
START_TEST(handle_cap_answers_emfile)
{
	struct objfs_options o = { .file_mode = 0644, .dir_mode = 0755,
	    .cache_dir = cachedir, .max_handles = 10 };
	struct objfs_entry e;
	uint64_t fh[10], extra, f;
	unsigned of;
	int base;

	setup_store(_i);
	objfs_free(fs);
	o.store = st;
	ck_assert_int_eq(objfs_new(&o, &fs), 0);
	base = count_fds();
	f = mkfile(ROOT, "f", "capped");
	for (int i = 0; i < 10; i++)
		if (i % 3 == 0)
			ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh[i]), 0);
		else
			fh[i] = open_(f, i % 2 ? O_RDONLY : O_RDWR);
	ck_assert_int_eq(objfs_open(fs, f, O_RDONLY, false, &extra, &of),
	    -EMFILE);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &extra), -EMFILE);
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "f", 0644, O_CREAT |
	    O_RDWR, &e, &extra), -EMFILE);
	ck_assert_int_eq(objfs_releasedir(fs, fh[0]), 0);
	fh[0] = open_(f, O_RDONLY);
	expect_read(fh[0], "capped");
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(i % 3 == 0 && i != 0 ?
		    objfs_releasedir(fs, fh[i]) : objfs_release(fs, fh[i]), 0);
	ck_assert_int_eq(count_fds(), base);
	ck_assert_str_eq(slurp(f), "capped");
	teardown_store();
}
END_TEST

TCase *
objfs_fds_tcase(void)
{
	TCase *tc = tcase_create("fds");

	/* 1: fs:, 2: fs: walking paths without openat2 */
	tcase_add_loop_test(tc, more_open_files_than_fds, 1, 3);
	tcase_add_loop_test(tc, renames_are_followed, 1, 3);
	tcase_add_loop_test(tc, unlinked_files_keep_their_fds, 1, 3);
	tcase_add_loop_test(tc, unlinked_reader_survives_churn, 1, 3);
	tcase_add_loop_test(tc, replaced_on_the_host_is_stale, 1, 3);
	/* 0: mem:, 1: fs: */
	tcase_add_loop_test(tc, handle_cap_answers_emfile, 0, 2);
	return tc;
}
