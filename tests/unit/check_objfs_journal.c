/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The staging journal and conflict detection, on mem: (which has ETags
 * and honours conditions): a second objfs on the same store plays the
 * next run of objfsd, and a copy of the first one's journal directory,
 * taken while it still runs, is what a killed objfsd leaves behind.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "objfs_fixture.h"

#define JOURNAL_ID	"mem: test"

struct objfs *
journal_objfs_on(struct store *store, const char *boot, bool overwrite)
{
	struct objfs_options o = {
		.store = store, .file_mode = 0644, .dir_mode = 0755,
		.cache_dir = cachedir, .attr_cache_ms = OBJFS_ATTR_CACHE_MS,
		.journal_id = JOURNAL_ID, .boot_id = boot,
		.conflicts_overwrite = overwrite,
	};
	struct objfs *f;

	ck_assert_int_eq(objfs_new(&o, &f), 0);
	return f;
}

/* A file created and written through f, left open: its handle. */
static uint64_t
staged(struct objfs *f, const char *name, const char *content)
{
	struct iovec iov = { (void *)content, strlen(content) };
	struct objfs_entry e;
	uint64_t fh;
	size_t n;

	ck_assert_int_eq(objfs_create(f, &ctx, ROOT, name, 0640,
	    O_CREAT | O_RDWR, &e, &fh), 0);
	ck_assert_int_eq(objfs_write(f, fh, 0, &iov, 1, false, &n), 0);
	ck_assert_uint_eq(n, strlen(content));
	return fh;
}

static char *
object_bytes(const char *key)
{
	static char buf[256];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	size_t got = 0;

	if (store_get(st, key, 0, &iov, 1, &got) != 0)
		return NULL;
	buf[got] = '\0';
	return buf;
}

/* The one file in lost+found whose name starts with leaf, read. */
static char *
lost_bytes(const char *leaf)
{
	static char buf[256];
	char cmd[256], path[256];
	FILE *p;
	int fd;
	ssize_t n;

	snprintf(cmd, sizeof(cmd), "ls -d %s/lost+found/%s.* 2>/dev/null",
	    cachedir, leaf);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (fgets(path, sizeof(path), p) == NULL) {
		pclose(p);
		return NULL;
	}
	pclose(p);
	path[strcspn(path, "\n")] = '\0';
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_ge(n = read(fd, buf, sizeof(buf) - 1), 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* What a killed run leaves: its journal directory, copied now. */
static void
crash_copy(const char *as)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cd %s/objfsd-journal && mkdir %s && "
	    "cp run-*/*.dat run-*/*.rec %s/ 2>/dev/null; true", cachedir, as,
	    as);
	ck_assert_int_eq(system(cmd), 0);
}

/* The next run after a crash of the current one: its recovery. */
struct objfs *
journal_restart(const char *boot, struct objfs_recovery *r)
{
	struct objfs *next;

	crash_copy("run-dead");
	next = journal_objfs_on(st, boot, false);
	objfs_recovered(next, r);
	return next;
}

int
journal_count_files(const char *dir)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s/%s 2>/dev/null | wc -l", cachedir,
	    dir);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

void
journal_setup(void)
{
	make_tmpdir();
	ck_assert_int_eq(store_open("mem:", NULL, &st), 0);
}

void
journal_teardown(void)
{
	store_close(st);
	st = NULL;
	rm_rf(tmpdir);
}

/* Another writer's version replaced since the open: EIO, bytes kept. */
START_TEST(second_writer_is_refused)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	struct store_attr a = { 0 };
	int fd = open("/dev/null", O_RDONLY);
	uint64_t fh = staged(f, "f", "mine");

	ck_assert_int_eq(store_put(st, "f", fd, 0, &a), 0);	/* theirs */
	ck_assert_int_eq(objfs_flush(f, fh), -EIO);
	ck_assert_int_eq(objfs_flush(f, fh), -EIO);	/* and stays so */
	ck_assert_int_eq(objfs_release(f, fh), -EIO);
	ck_assert_str_eq(object_bytes("f"), "");
	ck_assert_ptr_nonnull(lost_bytes("f"));
	ck_assert_str_eq(lost_bytes("f"), "mine");
	objfs_free(f);
	close(fd);
}
END_TEST

START_TEST(overwrite_mode_replaces)
{
	struct objfs *f = journal_objfs_on(st, "boot", true);
	struct store_attr a = { 0 };
	int fd = open("/dev/null", O_RDONLY);
	uint64_t fh = staged(f, "f", "mine");

	ck_assert_int_eq(store_put(st, "f", fd, 0, &a), 0);
	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	ck_assert_str_eq(object_bytes("f"), "mine");
	ck_assert_int_eq(journal_count_files("lost+found"), 0);
	objfs_free(f);
	close(fd);
}
END_TEST

/* objfs's own uploads and chmods move the base: no conflict with itself. */
START_TEST(own_changes_are_not_conflicts)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 0600 };
	struct iovec iov = { "more", 4 };
	struct objfs_entry e;
	struct stat sb;
	uint64_t fh = staged(f, "f", "one");
	size_t n;

	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_lookup(f, ROOT, "f", &e), 0);
	ck_assert_int_eq(objfs_setattr(f, &ctx, e.ino, fh, &sa, &sb), 0);
	ck_assert_int_eq(objfs_write(f, fh, 3, &iov, 1, false, &n), 0);
	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_release(f, fh), 0);
	ck_assert_str_eq(object_bytes("f"), "onemore");
	objfs_free(f);
}
END_TEST

/* A chmod of a file another writer replaced changes theirs not at all. */
START_TEST(chmod_leaves_another_writers_version)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 0600 };
	struct store_attr a = { .has = STORE_ATTR_MODE, .mode = S_IFREG | 0644 };
	int fd = open("/dev/null", O_RDONLY);
	uint64_t fh = staged(f, "f", "mine");
	struct objfs_entry e;
	struct stat sb;

	ck_assert_int_eq(store_put(st, "f", fd, 0, &a), 0);	/* theirs */
	ck_assert_int_eq(objfs_lookup(f, ROOT, "f", &e), 0);
	ck_assert_int_eq(objfs_setattr(f, &ctx, e.ino, fh, &sa, &sb), 0);
	store_attr_clear(&a);
	ck_assert_int_eq(store_head(st, "f", &a), 0);
	ck_assert_uint_eq(a.mode & 07777, 0644);
	store_attr_clear(&a);
	ck_assert_int_eq(objfs_release(f, fh), -EIO);
	ck_assert_str_eq(lost_bytes("f"), "mine");
	objfs_free(f);
	close(fd);
}
END_TEST

/* Renamed while open: the copy's version is the base under the new name. */
START_TEST(renamed_file_still_detects_conflicts)
{
	struct objfs *f = journal_objfs_on(st, "boot", false);
	struct store_attr a = { 0 };
	struct iovec iov = { "+more", 5 };
	int fd = open("/dev/null", O_RDONLY);
	uint64_t fh = staged(f, "a", "mine");
	size_t n;

	ck_assert_int_eq(objfs_flush(f, fh), 0);
	ck_assert_int_eq(objfs_rename(f, ROOT, "a", ROOT, "b", 0), 0);
	ck_assert_int_eq(objfs_write(f, fh, 4, &iov, 1, false, &n), 0);
	ck_assert_int_eq(objfs_flush(f, fh), 0);	/* its own copy: fine */
	ck_assert_str_eq(object_bytes("b"), "mine+more");
	ck_assert_int_eq(store_put(st, "b", fd, 0, &a), 0);	/* theirs */
	ck_assert_int_eq(objfs_write(f, fh, 9, &iov, 1, false, &n), 0);
	ck_assert_int_eq(objfs_release(f, fh), -EIO);
	ck_assert_str_eq(object_bytes("b"), "");
	objfs_free(f);
	close(fd);
}
END_TEST

/*
 * Killed while writing, restarted in the same boot: the bytes are what
 * the guest wrote, uploaded; a live run's journal is left alone; a
 * clean (uploaded) stage needs nothing.
 */
START_TEST(same_boot_uploads_what_was_written)
{
	struct objfs *a = journal_objfs_on(st, "boot-1", false), *b;
	struct objfs_recovery r;
	uint64_t fh1 = staged(a, "dirty", "written, not closed");
	uint64_t fh2 = staged(a, "clean", "closed");

	ck_assert_int_eq(objfs_flush(a, fh2), 0);
	b = journal_restart("boot-1", &r);
	ck_assert_uint_eq(r.uploaded, 1);
	ck_assert_uint_eq(r.kept, 0);
	ck_assert_str_eq(object_bytes("dirty"), "written, not closed");
	ck_assert_str_eq(object_bytes("clean"), "closed");
	/* The dead run's directory is gone, the live one's is not. */
	ck_assert_int_eq(journal_count_files("objfsd-journal"), 2);
	objfs_free(b);
	/* a's own upload now meets the recovered version: refused. */
	ck_assert_int_eq(objfs_release(a, fh1), -EIO);
	ck_assert_int_eq(objfs_release(a, fh2), 0);
	objfs_free(a);
	ck_assert_int_eq(journal_count_files("objfsd-journal"), 0);
}
END_TEST

/* After the host went down, bytes never synced are not uploaded. */
START_TEST(other_boot_keeps_unsynced_bytes)
{
	struct objfs *a = journal_objfs_on(st, "boot-1", false), *b;
	struct objfs_recovery r;
	uint64_t fh = staged(a, "f", "maybe zeros");

	b = journal_restart("boot-2", &r);
	ck_assert_uint_eq(r.uploaded, 0);
	ck_assert_uint_eq(r.kept, 1);
	ck_assert_str_eq(object_bytes("f"), "");
	ck_assert_str_eq(lost_bytes("f"), "maybe zeros");
	objfs_free(b);
	ck_assert_int_eq(objfs_release(a, fh), 0);
	objfs_free(a);
}
END_TEST

/* A record written by hand, as objfs_journal.c documents it. */
static void
put_record(const char *run, const char *id, const char *store_id,
    const char *key, const char *base, const char *boot, const char *state,
    const char *bytes, const char *on_disk)
{
	char path[256], hexkey[256] = "", hexstore[256] = "";
	FILE *f;

	for (size_t i = 0; key[i] != '\0'; i++)
		sprintf(hexkey + 2 * i, "%02x", (unsigned char)key[i]);
	for (size_t i = 0; store_id[i] != '\0'; i++)
		sprintf(hexstore + 2 * i, "%02x", (unsigned char)store_id[i]);
	snprintf(path, sizeof(path), "mkdir -p %s/objfsd-journal/%s",
	    cachedir, run);
	ck_assert_int_eq(system(path), 0);
	snprintf(path, sizeof(path), "%s/objfsd-journal/%s/%s.rec", cachedir,
	    run, id);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "objfsd-journal 1\nstore %s\nkey %s\nbase %s\nboot %s\n"
	    "state %s\nsize %zu\nsum %016llx\nend\n", hexstore, hexkey, base,
	    boot, state, strlen(bytes),
	    (unsigned long long)XXH3_64bits(bytes, strlen(bytes)));
	fclose(f);
	snprintf(path, sizeof(path), "%s/objfsd-journal/%s/%s.dat", cachedir,
	    run, id);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fwrite(on_disk, 1, strlen(on_disk), f);
	fclose(f);
}

static const char *
etag_of(const char *key)
{
	static struct store_attr a;

	store_attr_clear(&a);
	ck_assert_int_eq(store_head(st, key, &a), 0);
	return a.etag;
}

static void
put_object(const char *key)
{
	struct store_attr a = { 0 };

	ck_assert_int_eq(store_put(st, key, -1, 0, &a), 0);
}

/*
 * Another boot: a synced record whose bytes match their sum is uploaded;
 * one whose bytes do not (zeros where the disk lost them) is kept; so is
 * one whose object changed since, and one that cannot be read.  Another
 * store's records stay where they are.
 */
START_TEST(other_boot_trusts_only_verified_synced_bytes)
{
	struct objfs_recovery r;
	struct objfs *b;
	char base[STORE_ETAG_MAX];

	put_object("good");
	put_object("torn");
	put_object("moved");
	put_record("run-1-dead", "a1", JOURNAL_ID, "good", etag_of("good"),
	    "boot-1", "synced", "fsynced bytes", "fsynced bytes");
	put_record("run-1-dead", "a2", JOURNAL_ID, "torn", etag_of("torn"),
	    "boot-1", "synced", "fsynced bytes", "fsynced \0\0\0\0\0");
	strcpy(base, etag_of("moved"));
	put_object("moved");			/* another writer, since */
	put_record("run-1-dead", "a3", JOURNAL_ID, "moved", base, "boot-1",
	    "synced", "stale", "stale");
	put_record("run-1-dead", "a4", "s3://elsewhere ", "good", "-",
	    "boot-1", "dirty", "not ours", "not ours");
	put_record("run-1-dead", "a5", JOURNAL_ID, "junk", "-", "boot-1",
	    "dirty", "x", "x");
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/objfsd-journal/run-1-dead/"
		    "a5.rec", cachedir);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs("objfsd-journal 1\nstore zz\n", f);	/* torn */
		fclose(f);
	}
	b = journal_objfs_on(st, "boot-2", false);
	objfs_recovered(b, &r);
	ck_assert_uint_eq(r.uploaded, 1);
	ck_assert_uint_eq(r.kept, 3);
	ck_assert_str_eq(object_bytes("good"), "fsynced bytes");
	ck_assert_str_eq(object_bytes("torn"), "");
	ck_assert_str_eq(object_bytes("moved"), "");
	ck_assert_str_eq(lost_bytes("torn"), "fsynced ");
	ck_assert_str_eq(lost_bytes("moved"), "stale");
	ck_assert_int_eq(journal_count_files("lost+found"), 3);
	/* The other store's record and bytes wait for their objfsd. */
	ck_assert_int_eq(journal_count_files("objfsd-journal/run-1-dead"), 2);
	objfs_free(b);
}
END_TEST

/* An unlinked file's bytes are not brought back after a crash. */
START_TEST(unlinked_file_is_not_recovered)
{
	struct objfs *a = journal_objfs_on(st, "boot-1", false), *b;
	struct objfs_recovery r;
	struct objfs_entry e;
	uint64_t fh = staged(a, "gone", "deleted while open");

	ck_assert_int_eq(objfs_unlink(a, ROOT, "gone"), 0);
	b = journal_restart("boot-1", &r);
	ck_assert_uint_eq(r.uploaded + r.kept + r.left, 0);
	ck_assert_int_eq(objfs_lookup(b, ROOT, "gone", &e), -ENOENT);
	objfs_free(b);
	ck_assert_int_eq(objfs_release(a, fh), 0);
	objfs_free(a);
}
END_TEST

TCase *
objfs_journal_tcase(void)
{
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, journal_setup, journal_teardown);
	tcase_add_test(tc, second_writer_is_refused);
	tcase_add_test(tc, overwrite_mode_replaces);
	tcase_add_test(tc, own_changes_are_not_conflicts);
	tcase_add_test(tc, chmod_leaves_another_writers_version);
	tcase_add_test(tc, renamed_file_still_detects_conflicts);
	tcase_add_test(tc, same_boot_uploads_what_was_written);
	tcase_add_test(tc, other_boot_keeps_unsynced_bytes);
	tcase_add_test(tc, other_boot_trusts_only_verified_synced_bytes);
	tcase_add_test(tc, unlinked_file_is_not_recovered);
	return tc;
}
