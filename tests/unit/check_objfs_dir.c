/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory listings shared by the handles reading one directory: what
 * they cost, when a reader gets a new snapshot, and the memory budget.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membudget.h"
#include "objfs_fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEASURES_HEAP	0	/* mallinfo2 does not see ASan's heap */
#define HUGE_DIR	10000
#else
#define MEASURES_HEAP	1
#define HUGE_DIR	100000
#endif
#define READERS		64

/* readdir callback counting entries, at most `room` a call. */
struct tally {
	size_t		 n;
	size_t		 room;
	uint64_t	 next_off;
	bool		 saw_last;	/* the highest name, "f%06d" */
	char		 last[16];
};

static int
tally_cb(void *arg, const char *name, mode_t type, uint64_t ino, uint64_t off,
    const struct objfs_entry *e)
{
	struct tally *t = arg;

	(void)type;
	(void)ino;
	if (t->room == 0)
		return 1;
	t->room--;
	t->n++;
	t->next_off = off;
	t->saw_last |= strcmp(name, t->last) == 0;
	return 0;
}

/* One more call's worth of entries; false at the end of the listing. */
static bool
read_some(struct objfs *f, uint64_t fh, struct tally *t, size_t room)
{
	size_t before = t->n;

	t->room = room;
	ck_assert_int_eq(objfs_readdir(f, fh, t->next_off, false, tally_cb, t),
	    0);
	return t->n > before;
}

static size_t
heap_in_use(void)
{
	malloc_trim(0);
	return mallinfo2().uordblks;
}

/* n empty files in the fs: store's directory, made behind objfsd. */
static void
populate_host_dir(const char *dir, int n)
{
	char path[160];

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	for (int i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%06d", dir, i);
		ck_assert_int_ge(fd = open(path, O_CREAT | O_WRONLY, 0644), 0);
		close(fd);
	}
}

/*
 * The measure: 40 handles on one 100,000-entry fs: directory
 * took 15 -> 639 MB, a listing each.  64 readers at once now cost at most
 * 1.5x what one does, and each still sees every entry once.
 */
STORE_TEST(listing_shared_by_64_readers)
{
	struct tally t[READERS];
	uint64_t fh[READERS], dir;
	size_t base, one, all;
	char path[128];
	bool more;

	snprintf(path, sizeof(path), "%s/root/huge", tmpdir);
	populate_host_dir(path, HUGE_DIR);
	dir = lookup(ROOT, "huge");

	base = heap_in_use();
	memset(t, 0, sizeof(t));
	snprintf(t[0].last, sizeof(t[0].last), "f%06d", HUGE_DIR - 1);
	ck_assert_int_eq(objfs_opendir(fs, dir, &fh[0]), 0);
	while (read_some(fs, fh[0], &t[0], 1000))
		;
	one = heap_in_use() - base;
	ck_assert_uint_eq(t[0].n, HUGE_DIR + 2);
	ck_assert_int_eq(objfs_releasedir(fs, fh[0]), 0);

	base = heap_in_use();
	memset(t, 0, sizeof(t));
	for (int i = 0; i < READERS; i++) {
		snprintf(t[i].last, sizeof(t[i].last), "f%06d", HUGE_DIR - 1);
		ck_assert_int_eq(objfs_opendir(fs, dir, &fh[i]), 0);
	}
	/* Round robin, as 64 concurrent ls(1) would. */
	do {
		more = false;
		for (int i = 0; i < READERS; i++)
			more |= read_some(fs, fh[i], &t[i], 700 + i);
	} while (more);
	all = heap_in_use() - base;
	for (int i = 0; i < READERS; i++) {
		ck_assert_uint_eq(t[i].n, HUGE_DIR + 2);
		ck_assert(t[i].saw_last);
		ck_assert_int_eq(objfs_releasedir(fs, fh[i]), 0);
	}
	fprintf(stderr, "listing of %d entries: one reader %zu KiB, %d "
	    "readers %zu KiB\n", HUGE_DIR, one / 1024, READERS, all / 1024);
	if (MEASURES_HEAP) {
		ck_assert_uint_gt(one, (size_t)HUGE_DIR * 8);
		ck_assert_uint_le(all, one + one / 2);
	}
}

/* The names one complete listing of dir gives, from offset 0. */
static void
list_names(uint64_t fh, struct collect *c)
{
	memset(c, 0, sizeof(*c));
	c->room = 1000;
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, false, collect_cb, c), 0);
}

static bool
has_name(const struct collect *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return true;
	return false;
}

/*
 * A change through objfsd gives new readers a new snapshot; a reader in
 * the middle of the old one keeps its offsets, and sees the change when
 * it rewinds.
 */
STORE_TEST(change_gives_new_readers_a_new_listing)
{
	struct collect a, b, c;
	uint64_t fh1, fh2, fh3, d;

	d = mkdir_(ROOT, "d");
	mkfile(d, "one", "1");
	mkfile(d, "three", "3");
	ck_assert_int_eq(objfs_opendir(fs, d, &fh1), 0);
	list_names(fh1, &a);
	ck_assert_uint_eq(a.n, 4);

	mkfile(d, "two", "2");
	ck_assert_int_eq(objfs_opendir(fs, d, &fh2), 0);
	list_names(fh2, &b);
	ck_assert(has_name(&b, "two"));
	ck_assert_uint_eq(b.n, 5);

	ck_assert_int_eq(objfs_unlink(fs, d, "one"), 0);
	ck_assert_int_eq(objfs_rename(fs, d, "three", ROOT, "moved", 0), 0);
	ck_assert_int_eq(objfs_opendir(fs, d, &fh3), 0);
	list_names(fh3, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert(has_name(&c, "two") && !has_name(&c, "one") &&
	    !has_name(&c, "three"));
	collect_free(&c);

	/* fh1 rewinds: the directory as it is now. */
	list_names(fh1, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert(has_name(&c, "two"));
	collect_free(&a);
	collect_free(&b);
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh1), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh2), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh3), 0);
}

/*
 * Readers sharing a listing that is still being fetched page by page
 * (S3 pages of 1,000) each get every name exactly once, in order.
 */
STORE_TEST(interleaved_readers_of_a_growing_listing)
{
	enum { N = 2500 };
	struct tally t[3];
	uint64_t fh[3], d;
	struct collect all;
	char name[16];
	bool more;

	d = mkdir_(ROOT, "g");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%06d", i);
		mkfile(d, name, "");
	}
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 3; i++) {
		snprintf(t[i].last, sizeof(t[i].last), "f%06d", N - 1);
		ck_assert_int_eq(objfs_opendir(fs, d, &fh[i]), 0);
	}
	do {
		more = false;
		for (int i = 0; i < 3; i++)
			more |= read_some(fs, fh[i], &t[i], 97 + 200 * i);
	} while (more);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(t[i].n, N + 2);
		ck_assert(t[i].saw_last);
	}
	/* And in key order, no name twice: a full pass collected. */
	memset(&all, 0, sizeof(all));
	all.room = N + 2;
	ck_assert_int_eq(objfs_readdir(fs, fh[1], 0, false, collect_cb, &all),
	    0);
	ck_assert_uint_eq(all.n, N + 2);
	for (size_t i = 3; i < all.n; i++)
		ck_assert_int_lt(strcmp(all.names[i - 1], all.names[i]), 0);
	collect_free(&all);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(objfs_releasedir(fs, fh[i]), 0);
}

/* Made on the host behind objfsd: a new reader sees it within a second. */
STORE_TEST(change_behind_objfsd_shows_after_a_second)
{
	struct collect a, b;
	uint64_t fh1, fh2;

	mkfile(ROOT, "old", "");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh1), 0);
	list_names(fh1, &a);
	host_write("new", "");
	usleep(1100 * 1000);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh2), 0);
	list_names(fh2, &b);
	ck_assert(!has_name(&a, "new"));
	ck_assert(has_name(&b, "new"));
	collect_free(&a);
	collect_free(&b);
	ck_assert_int_eq(objfs_releasedir(fs, fh1), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh2), 0);
}

/*
 * The snapshot outlives its last reader for the listing's second: ls(1)
 * run again within it costs no listing of the store (a file made behind
 * objfsd meanwhile shows only after the second, as with two readers at
 * once).  A change through objfsd, the second passing, the bounds on
 * what is kept and the directory's inode going each end it.
 */
STORE_TEST(listing_kept_after_its_last_reader)
{
	struct objfs_options o = { .store = st, .file_mode = 0644,
	    .dir_mode = 0755, .cache_dir = cachedir };
	struct membudget *b = membudget_new(1 << 20);
	struct collect c;
	struct objfs_entry e;
	struct objfs *own;
	uint64_t fh, d[9];
	char name[16];

	mkdir_(ROOT, "d");
	mkfile(ROOT, "old", "");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	list_names(fh, &c);
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	host_write("new", "");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	list_names(fh, &c);
	ck_assert(has_name(&c, "old") && !has_name(&c, "new"));
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);

	mkfile(ROOT, "made", "");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	list_names(fh, &c);
	ck_assert(has_name(&c, "made") && has_name(&c, "new"));
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	host_write("later", "");
	usleep(1100 * 1000);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	list_names(fh, &c);
	ck_assert(has_name(&c, "later"));
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);

	/* Eight are kept: the ninth listed pushes the first out. */
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		d[i] = mkdir_(ROOT, name);
		ck_assert_int_eq(objfs_opendir(fs, d[i], &fh), 0);
		list_names(fh, &c);
		ck_assert_uint_eq(c.n, 2);
		collect_free(&c);
		ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	}
	host_write("d0/x", "");
	host_write("d8/x", "");
	ck_assert_int_eq(objfs_opendir(fs, d[0], &fh), 0);
	list_names(fh, &c);
	ck_assert(has_name(&c, "x"));
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	ck_assert_int_eq(objfs_opendir(fs, d[8], &fh), 0);
	list_names(fh, &c);
	ck_assert(!has_name(&c, "x"));
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);

	/* A kept snapshot is memory of the budget, given back with its inode. */
	o.budget = b;
	ck_assert_int_eq(objfs_new(&o, &own), 0);
	ck_assert_int_eq(objfs_lookup(own, ROOT, "d", &e), 0);
	ck_assert_int_eq(objfs_opendir(own, e.ino, &fh), 0);
	memset(&c, 0, sizeof(c));
	c.room = 1000;
	ck_assert_int_eq(objfs_readdir(own, fh, 0, false, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 2);
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(own, fh), 0);
	ck_assert_uint_gt(membudget_used(b), 0);
	objfs_forget(own, e.ino, 1);
	ck_assert_uint_eq(membudget_used(b), 0);
	objfs_free(own);
	membudget_free(b);
}

/* readdirplus callback: the sizes of regular files, by name "sNNN". */
static int
size_cb(void *arg, const char *name, mode_t type, uint64_t ino, uint64_t off,
    const struct objfs_entry *e)
{
	long *sizes = arg;

	(void)ino;
	(void)off;
	if (S_ISREG(type) && name[0] == 's')
		sizes[atoi(name + 1)] = (long)e->st.st_size;
	return 0;
}

/*
 * Past the budget a listing keeps names only: readdirplus still gives
 * every attribute (looked up instead), and every byte taken is given
 * back when the readers go.
 */
STORE_TEST(listing_past_the_budget)
{
	enum { N = 300 };
	struct objfs_options o = { .store = st, .file_mode = 0644,
	    .dir_mode = 0755, .cache_dir = cachedir };
	struct membudget *b = membudget_new(4096);
	long sizes[N];
	struct objfs *small;
	char name[16], body[8];
	uint64_t fh[2];

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%03d", i);
		snprintf(body, sizeof(body), "%d", i);
		mkfile(ROOT, name, body);
	}
	o.budget = b;
	ck_assert_int_eq(objfs_new(&o, &small), 0);
	ck_assert_int_eq(objfs_opendir(small, ROOT, &fh[0]), 0);
	ck_assert_int_eq(objfs_opendir(small, ROOT, &fh[1]), 0);
	for (int k = 0; k < 2; k++) {
		memset(sizes, 0xff, sizeof(sizes));
		ck_assert_int_eq(objfs_readdir(small, fh[k], 0, true, size_cb,
		    sizes), 0);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(sizes[i], i < 10 ? 1 : i < 100 ? 2 : 3);
	}
	ck_assert(membudget_over(b));
	ck_assert_int_eq(objfs_releasedir(small, fh[0]), 0);
	ck_assert_int_eq(objfs_releasedir(small, fh[1]), 0);
	ck_assert_uint_eq(membudget_used(b), 0);
	objfs_free(small);
	membudget_free(b);
}

/* Store loops as in objfs_suite: first..last-1; fs: alone is 1. */
TCase *
objfs_listing_tcase(int first, int last)
{
	TCase *tc = tcase_create("listings");

	if (first == 0) {
		tcase_add_loop_test(tc, listing_shared_by_64_readers, 1, 2);
		tcase_add_loop_test(tc,
		    change_behind_objfsd_shows_after_a_second, 1, 2);
		tcase_add_loop_test(tc, listing_kept_after_its_last_reader,
		    1, 2);
	}
	tcase_add_loop_test(tc, change_gives_new_readers_a_new_listing,
	    first, last);
	tcase_add_loop_test(tc, interleaved_readers_of_a_growing_listing,
	    first, last);
	tcase_add_loop_test(tc, listing_past_the_budget, first, last);
	tcase_set_timeout(tc, 300);
	return tc;
}
