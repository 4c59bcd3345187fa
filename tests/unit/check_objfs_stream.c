/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uploads while the file is written (objfs_stream.c), on mem:, which
 * uploads objects of 4 MiB and more so, in 1 MiB parts taken at once,
 * and asks the writer to keep at most 2 MiB unacknowledged.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objfs_fixture.h"

#define MIB		(1u << 20)
#define CHUNK		(128u << 10)	/* a guest's WRITE */

static unsigned char
pattern_at(uint64_t off)
{
	return (unsigned char)(off * 7 + off / 4093);
}

static void
pattern(unsigned char *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_at(off + i);
}

static uint64_t
create(struct objfs *f, const char *name)
{
	struct objfs_entry e;
	uint64_t fh;

	ck_assert_int_eq(objfs_create(f, &ctx, ROOT, name, 0640,
	    O_CREAT | O_RDWR, &e, &fh), 0);
	return fh;
}

static void
write_pattern(struct objfs *f, uint64_t fh, uint64_t off, size_t len)
{
	unsigned char *buf = malloc(len);
	struct iovec iov = { buf, len };
	size_t n;

	pattern(buf, off, len);
	ck_assert_int_eq(objfs_write(f, fh, off, &iov, 1, false, &n), 0);
	ck_assert_uint_eq(n, len);
	free(buf);
}

/* Bytes the stage's journal file holds on disk now (its allocation). */
static uint64_t
staged_on_disk(void)
{
	char pat[160];
	uint64_t total = 0;
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/objfsd-journal/run-*/*.dat", cachedir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat sb;

		if (stat(g.gl_pathv[i], &sb) == 0)
			total += (uint64_t)sb.st_blocks * 512;
	}
	globfree(&g);
	return total;
}

/* The object's bytes against the pattern, with `changed` at its offset. */
static void
assert_object(const char *key, uint64_t size, uint64_t coff,
    const char *changed)
{
	unsigned char *buf = malloc(size + 1), want;
	struct iovec iov = { buf, size + 1 };
	size_t got = 0;

	ck_assert_int_eq(store_get(st, key, 0, &iov, 1, &got), 0);
	ck_assert_uint_eq(got, size);
	for (uint64_t i = 0; i < size; i++) {
		want = pattern_at(i);
		if (changed != NULL && i >= coff && i < coff + strlen(changed))
			want = (unsigned char)changed[i - coff];
		if (buf[i] != want)
			ck_abort_msg("%s: byte %llu is %u, not %u", key,
			    (unsigned long long)i, buf[i], want);
	}
	free(buf);
}

/*
 * 24 MiB written forwards: the staging file never holds much more than
 * the threshold and the window, and the object is what was written.
 */
START_TEST(forward_writer_stays_bounded)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "big"), most = 0, size = 24 * MIB;

	for (uint64_t off = 0; off < size; off += CHUNK) {
		uint64_t now;

		write_pattern(f, fh, off, CHUNK);
		if ((now = staged_on_disk()) > most)
			most = now;
	}
	ck_assert_uint_le(most, 4 * MIB + 2 * MIB + CHUNK + 64 * 1024);
	ck_assert_uint_gt(most, 0);
	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	assert_object("big", size, 0, NULL);
	ck_assert_int_eq(journal_count_files("lost+found"), 0);
	objfs_free(f);
}
END_TEST

/*
 * WRITEs served out of order, as a guest's queue of them is by several
 * threads: each group of four in reverse.  The gapless prefix still
 * streams; nothing goes up before the WRITE that fills a gap.
 */
START_TEST(early_writes_still_stream)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "ooo"), most = 0, size = 16 * MIB;

	for (uint64_t off = 0; off < size; off += 4 * CHUNK) {
		for (int i = 3; i >= 0; i--)
			write_pattern(f, fh, off + (uint64_t)i * CHUNK, CHUNK);
		if (staged_on_disk() > most)
			most = staged_on_disk();
	}
	ck_assert_uint_le(most, 4 * MIB + 2 * MIB + 4 * CHUNK + 64 * 1024);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	assert_object("ooo", size, 0, NULL);
	objfs_free(f);
}
END_TEST

/*
 * Back before what was handed over, and a read of what was dropped: the
 * upload settles, the bytes come back from the store, nothing is lost.
 */
START_TEST(rewrite_and_read_back_settle)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "f"), size = 10 * MIB;
	struct iovec iov = { "CHANGED", 7 };
	unsigned char buf[64], want[64];
	size_t n;

	for (uint64_t off = 0; off < 8 * MIB; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_uint_lt(staged_on_disk(), 8 * MIB);
	/* read the start back: it comes from the store now */
	struct iovec rd = { buf, sizeof(buf) };
	ck_assert_int_eq(objfs_read(f, fh, 100, &rd, 1, &n), 0);
	ck_assert_uint_eq(n, sizeof(buf));
	pattern(want, 100, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(buf));
	ck_assert_int_eq(objfs_write(f, fh, 1000, &iov, 1, false, &n), 0);
	for (uint64_t off = 8 * MIB; off < size; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	assert_object("f", size, 1000, "CHANGED");
	objfs_free(f);
}
END_TEST

/* Truncated to nothing while uploading: the upload is dropped, not sent. */
START_TEST(truncate_to_zero_starts_over)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	struct objfs_setattr sa = { .valid = OBJFS_SET_SIZE, .size = 0 };
	uint64_t fh = create(f, "t");
	struct objfs_entry e;
	struct stat sb;

	for (uint64_t off = 0; off < 6 * MIB; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_int_eq(objfs_lookup(f, ROOT, "t", &e), 0);
	ck_assert_int_eq(objfs_setattr(f, &ctx, e.ino, fh, &sa, &sb), 0);
	ck_assert_uint_eq(sb.st_size, 0);
	write_pattern(f, fh, 0, CHUNK);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	assert_object("t", CHUNK, 0, NULL);
	objfs_free(f);
}
END_TEST

/* Renamed and unlinked while uploading: finished first, bytes kept. */
START_TEST(rename_and_unlink_while_uploading)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "a"), fh2 = create(f, "b"), size = 6 * MIB;
	unsigned char buf[64], want[64];
	struct iovec rd = { buf, sizeof(buf) };
	struct objfs_entry e;
	size_t n;

	for (uint64_t off = 0; off < size; off += CHUNK) {
		write_pattern(f, fh, off, CHUNK);
		write_pattern(f, fh2, off, CHUNK);
	}
	ck_assert_int_eq(objfs_rename(f, ROOT, "a", ROOT, "a2", 0), 0);
	ck_assert_int_eq(objfs_unlink(f, ROOT, "b"), 0);
	write_pattern(f, fh, size, CHUNK);
	ck_assert_int_eq(objfs_read(f, fh2, 5, &rd, 1, &n), 0);
	pattern(want, 5, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(buf));
	ck_assert_int_eq(objfs_release(f, fh), 0);
	ck_assert_int_eq(objfs_release(f, fh2), 0);
	assert_object("a2", size + CHUNK, 0, NULL);
	ck_assert_int_eq(objfs_lookup(f, ROOT, "a", &e), -ENOENT);
	objfs_free(f);
}
END_TEST

/* The one file in lost+found, against the pattern. */
static void
assert_lost(uint64_t size)
{
	char pat[160];
	unsigned char *buf = malloc(size + 1);
	glob_t g;
	ssize_t n;
	int fd;

	snprintf(pat, sizeof(pat), "%s/lost+found/*", cachedir);
	ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
	ck_assert_uint_eq(g.gl_pathc, 1);
	ck_assert_int_ge(fd = open(g.gl_pathv[0], O_RDONLY), 0);
	n = pread(fd, buf, size + 1, 0);
	ck_assert_int_eq(n, (ssize_t)size);
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != pattern_at(i))
			ck_abort_msg("lost+found: byte %llu differs",
			    (unsigned long long)i);
	close(fd);
	globfree(&g);
	free(buf);
}

/*
 * Another writer replaced the object while this one went up in parts:
 * EIO at close, the other writer's bytes in the store, and this
 * version whole in lost+found, the parts' bytes read back.
 */
START_TEST(conflict_while_uploading_keeps_both)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "c"), size = 7 * MIB + 123;
	struct store_attr a = { 0 };
	int fd = open("/dev/null", O_RDONLY);

	for (uint64_t off = 0; off < 7 * MIB; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	write_pattern(f, fh, 7 * MIB, 123);
	ck_assert_int_eq(store_put(st, "c", fd, 0, &a), 0);	/* theirs */
	ck_assert_int_eq(objfs_flush(f, fh), -EIO);
	ck_assert_int_eq(objfs_release(f, fh), -EIO);
	ck_assert_int_eq(store_head(st, "c", &a), 0);
	ck_assert_uint_eq(a.size, 0);
	store_attr_clear(&a);
	assert_lost(size);
	objfs_free(f);
	close(fd);
}
END_TEST

/* Removed by another client while uploading: stays removed, bytes kept. */
START_TEST(removed_while_uploading_keeps_bytes)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	uint64_t fh = create(f, "r"), size = 6 * MIB;
	struct store_attr a = { 0 };

	for (uint64_t off = 0; off < size; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_int_eq(store_remove(st, "r"), 0);	/* theirs: gone */
	ck_assert_int_eq(objfs_release(f, fh), -EIO);
	ck_assert_int_eq(store_head(st, "r", &a), -ENOENT);
	assert_lost(size);
	objfs_free(f);
}
END_TEST

/*
 * Killed while uploading: the record names the upload.  mem: keeps none
 * across runs, so the next run finds it gone: the bytes the file still
 * has go to lost+found, and the object is never the truncated upload.
 */
START_TEST(crash_with_upload_in_progress)
{
	struct objfs *a = journal_objfs_on(st, "boot-1", false), *b;
	struct objfs_recovery r;
	uint64_t fh = create(a, "c");
	struct store_attr sa;

	for (uint64_t off = 0; off < 6 * MIB; off += CHUNK)
		write_pattern(a, fh, off, CHUNK);
	b = journal_restart("boot-1", &r);
	ck_assert_uint_eq(r.uploaded, 0);
	ck_assert_uint_eq(r.kept, 1);
	ck_assert_int_eq(store_head(st, "c", &sa), 0);
	ck_assert_uint_eq(sa.size, 0);		/* as created, not cut short */
	store_attr_clear(&sa);
	ck_assert_int_eq(journal_count_files("lost+found"), 1);
	objfs_free(b);
	/* The run that was not killed after all still finishes its own. */
	ck_assert_int_eq(objfs_release(a, fh), 0);
	assert_object("c", 6 * MIB, 0, NULL);
	objfs_free(a);
}
END_TEST

/*
 * A close whose finish failed, and the file written on after it: the
 * bytes up to that close stay fixed, the next ones are offered after
 * them, and the next close finishes the whole (mem:fail-once= fails the
 * first finish only).
 */
START_TEST(failed_finish_then_more_writes)
{
	struct store_config cfg = { 0 };
	struct store *once;
	struct objfs *f;
	uint64_t fh, size = 6 * MIB, more = 3 * MIB;

	ck_assert_int_eq(store_open("mem:fail-once=tail", &cfg, &once), 0);
	f = journal_objfs_on(once, "boot", false);
	fh = create(f, "tail");
	for (uint64_t off = 0; off < size; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_int_eq(objfs_flush(f, fh), -EIO);
	for (uint64_t off = size; off < size + more; off += CHUNK)
		write_pattern(f, fh, off, CHUNK);
	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	{
		struct store *keep = st;

		st = once;		/* assert_object reads st */
		assert_object("tail", size + more, 0, NULL);
		st = keep;
	}
	ck_assert_int_eq(journal_count_files("lost+found"), 0);
	objfs_free(f);
	store_close(once);
}
END_TEST

TCase *
objfs_stream_tcase(void)
{
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, journal_setup, journal_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, forward_writer_stays_bounded);
	tcase_add_test(tc, early_writes_still_stream);
	tcase_add_test(tc, rewrite_and_read_back_settle);
	tcase_add_test(tc, truncate_to_zero_starts_over);
	tcase_add_test(tc, rename_and_unlink_while_uploading);
	tcase_add_test(tc, crash_with_upload_in_progress);
	tcase_add_test(tc, conflict_while_uploading_keeps_both);
	tcase_add_test(tc, removed_while_uploading_keeps_bytes);
	tcase_add_test(tc, failed_finish_then_more_writes);
	return tc;
}
