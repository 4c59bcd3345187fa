/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs over a real S3 server (tests/e2e/s3-objfs.sh starts s3rver and sets
 * OBJFSD_TEST_S3_ENDPOINT): a 300 MiB file through a multipart upload and
 * back with checksums, 3,000 objects listed across pages, and a directory
 * of 500 files renamed key by key.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "log.h"
#include "membudget.h"
#include "objfs.h"
#include "s3_internal.h"
#include "s3_test_config.h"
#include "store.h"

#define ROOT	OBJFS_ROOT_INO
#define MIB	(1u << 20)

static struct objfs *fs;
static struct store *st;
static struct membudget *budget;
static char url[S3_TEST_URL_MAX];
static const struct objfs_ctx ctx = { 0, 0, 1 };

static void
setup(void)
{
	budget = membudget_new(64 * MIB);
	s3_test_objfs("big", budget, &st, &fs, url);
}

static void
teardown(void)
{
	objfs_free(fs);
	store_close(st);
	/* Read-ahead chunks, queued, loading or cached, all given back. */
	ck_assert_uint_eq(membudget_used(budget), 0);
	membudget_free(budget);
}

/* A reproducible stream of bytes: xorshift64 from a seed. */
static void
fill(uint64_t *state, char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = *state;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* Byte i of the pattern object: a position stamp, easy to check. */
static char
pattern_at(uint64_t i)
{
	return (char)((i / 4096) * 31 + i % 4096 * 7);
}

struct reader_arg {
	uint64_t	 fh;
	unsigned	 first, step, nchunks;
	int		 bad;
};

/* Reads chunks first, first + step, ... in 4 KiB iovecs, as a guest does. */
static void *
reader_thread(void *p)
{
	struct reader_arg *ra = p;
	char *buf = malloc(MIB);
	struct iovec iov[256];

	for (unsigned i = 0; i < 256; i++)
		iov[i] = (struct iovec){ buf + i * 4096, 4096 };
	for (unsigned c = ra->first; c < ra->nchunks; c += ra->step) {
		uint64_t off = (uint64_t)c * MIB;
		size_t n = 0;

		if (objfs_read(fs, ra->fh, off, iov, 256, &n) != 0 || n != MIB) {
			ra->bad++;
			continue;
		}
		for (size_t k = 0; k < MIB; k += 512)
			if (buf[k] != pattern_at(off + k))
				ra->bad++;
	}
	free(buf);
	return NULL;
}

/*
 * What the store's ranged GETs brought in so far, once the read-ahead
 * fetches the reads started have finished.
 */
static uint64_t
fetched_bytes(void)
{
	struct s3_store *s = (struct s3_store *)st;

	for (int i = 0; i < 3000; i++) {
		unsigned n;

		pthread_mutex_lock(&s->ra.lock);
		n = s->ra.fetching;
		pthread_mutex_unlock(&s->ra.lock);
		if (n == 0)
			break;
		usleep(10000);
	}
	return __atomic_load_n(&s->range_bytes, __ATOMIC_RELAXED);
}

/* Three sequential 128 KiB reads from the start, as cat(1) begins. */
static void
read_three(uint64_t fh, char *buf)
{
	for (int r = 0; r < 3; r++) {
		struct iovec iov = { buf, 128 * 1024 };
		size_t n = 0;

		ck_assert_int_eq(objfs_read(fs, fh, (uint64_t)r * 128 * 1024,
		    &iov, 1, &n), 0);
		ck_assert_uint_eq(n, 128 * 1024);
	}
}

/*
 * 40 handles on one 64 MiB object, three sequential 128 KiB reads each:
 * read-ahead of all of them stays within the store's budget (here 64
 * MiB), and they share it: together they download no more than twice
 * what one handle alone does.  Before, each handle fetched its own
 * chunks until the budget ran out.
 */
START_TEST(many_readers_share_one_readahead_budget)
{
	enum { NHANDLES = 40 };
	const size_t total = 64 * (size_t)MIB;
	struct store_attr a = { .has = STORE_ATTR_MODE, .mode = S_IFREG | 0644 };
	uint64_t fh[NHANDLES], ino, base, one, forty;
	struct objfs_entry e;
	char *buf = malloc(128 * 1024);
	long before, after;
	unsigned of;
	int fd = memfd_create("big", 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)total), 0);
	ck_assert_int_eq(store_put(st, "big", fd, total, &a), 0);
	close(fd);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "big", &e), 0);
	ino = e.ino;
	/* Counted before the close, which would cancel queued fetches. */
	base = fetched_bytes();
	ck_assert_int_eq(objfs_open(fs, ino, O_RDONLY, false, &fh[0], &of), 0);
	read_three(fh[0], buf);
	one = fetched_bytes() - base;
	ck_assert_int_eq(objfs_release(fs, fh[0]), 0);
	before = proc_rss_kb(getpid());
	for (int i = 0; i < NHANDLES; i++)
		ck_assert_int_eq(objfs_open(fs, ino, O_RDONLY, false, &fh[i],
		    &of), 0);
	for (int i = 0; i < NHANDLES; i++)
		read_three(fh[i], buf);
	forty = fetched_bytes() - base - one;
	after = proc_rss_kb(getpid());
	for (int i = 0; i < NHANDLES; i++)
		ck_assert_int_eq(objfs_release(fs, fh[i]), 0);
	free(buf);
	fprintf(stderr, "40 readers: RSS %ld -> %ld KiB; fetched %llu KiB by "
	    "one handle, %llu KiB by 40\n", before, after,
	    (unsigned long long)one >> 10, (unsigned long long)forty >> 10);
	ck_assert_msg(after - before < 96 * 1024, "RSS %ld -> %ld KiB",
	    before, after);
	ck_assert_msg(one > 0 && forty <= 2 * one, "40 handles fetched %llu "
	    "KiB, one alone %llu KiB", (unsigned long long)forty >> 10,
	    (unsigned long long)one >> 10);
}
END_TEST

/* Byte i of version v of an object. */
static char
version_at(uint64_t i, int v)
{
	return (char)(pattern_at(i) + v * 101);
}

/* len bytes of version v as key, put straight into the store to. */
static void
put_version(struct store *to, const char *key, size_t len, int v)
{
	struct store_attr a = { .has = STORE_ATTR_MODE, .mode = S_IFREG | 0644 };
	int fd = memfd_create("version", 0);
	char *src;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(src, MAP_FAILED);
	for (size_t i = 0; i < len; i++)
		src[i] = version_at(i, v);
	munmap(src, len);
	ck_assert_int_eq(store_put(to, key, fd, len, &a), 0);
	close(fd);
}

/* len bytes at off through r, 1 MiB a read: every one of version v. */
static void
expect_version(struct store_reader *r, const char *key, uint64_t off,
    size_t len, int v)
{
	char *buf = malloc(MIB);

	for (size_t done = 0; done < len;) {
		size_t want = len - done < MIB ? len - done : MIB, n = 0;
		struct iovec iov = { buf, want };

		ck_assert_int_eq(store_reader_read(st, r, key, off + done, &iov,
		    1, &n), 0);
		ck_assert_uint_eq(n, want);
		for (size_t k = 0; k < n; k++)
			if (buf[k] != version_at(off + done + k, v))
				ck_abort_msg("%s: byte %llu is not of version "
				    "%d", key, (unsigned long long)(off + done +
				    k), v);
		done += n;
	}
	free(buf);
}

/*
 * Every write through the store drops the chunks read ahead of the key
 * it wrote: a reader opened after it sees the new bytes, or none, though
 * a reader from before still has the object open.
 */
START_TEST(writes_drop_readahead_chunks)
{
	enum { PUT, COPY, REMOVE, REMOVE_MANY, NWRITES };
	const size_t len = 24 * (size_t)MIB;
	const char *x = "ra/x";
	struct store_reader *old, *r;
	char buf[4096];

	put_version(st, "ra/y", len, 9);
	for (int w = 0; w < NWRITES; w++) {
		struct iovec iov = { buf, sizeof(buf) };
		size_t n;
		int v = -1;

		put_version(st, x, len, w);
		ck_assert_int_eq(store_reader_open(st, x, &old), 0);
		/* Three reads: the window has grown over all three chunks. */
		expect_version(old, x, 0, 3 * MIB, w);
		(void)fetched_bytes();
		if (w == PUT)
			put_version(st, x, len, v = 5);
		else if (w == COPY) {
			ck_assert_int_eq(store_copy(st, "ra/y", x, NULL, NULL), 0);
			v = 9;
		} else if (w == REMOVE)
			ck_assert_int_eq(store_remove(st, x), 0);
		else
			ck_assert_int_eq(store_remove_many(st, &x, 1), 0);
		ck_assert_int_eq(store_reader_open(st, x, &r), 0);
		if (v >= 0)
			expect_version(r, x, 0, len, v);
		else
			ck_assert_int_eq(store_reader_read(st, r, x, 0, &iov, 1,
			    &n), -ENOENT);
		store_reader_close(st, r);
		store_reader_close(st, old);
	}
}
END_TEST

/*
 * The object changes behind the store's back (another client) between
 * two chunk fetches: a read across both chunks gets the new bytes only,
 * never the old chunk's followed by the new one's.
 */
START_TEST(one_read_never_mixes_two_etags)
{
	const size_t len = 24 * (size_t)MIB;
	const char *z = "ra/z";
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3 };
	struct store_reader *r;
	struct store *other;

	put_version(st, z, len, 1);
	ck_assert_int_eq(store_reader_open(st, z, &r), 0);
	expect_version(r, z, 0, MIB, 1);	/* chunks 0 and 1 */
	(void)fetched_bytes();
	s3_test_config(&s3, 5);
	ck_assert_int_eq(store_open(url, &cfg, &other), 0);
	put_version(other, z, len, 2);
	store_close(other);
	/* Chunk 1 is the old one, chunk 2 is fetched now. */
	expect_version(r, z, 16 * MIB - 512 * 1024, MIB, 2);
	store_reader_close(st, r);
}
END_TEST

/*
 * A file open for reading is renamed: the handle reads on, past what its
 * read-ahead had fetched, from the object under the new name (the
 * handle's reader is of the old key, removed by the rename), with
 * read-ahead again.
 */
START_TEST(open_file_reads_on_after_a_rename)
{
	const size_t len = 24 * (size_t)MIB;
	struct s3_store *s3 = (struct s3_store *)st;
	struct objfs_entry e;
	char *buf = malloc(MIB);
	uint64_t fh, gets = 0;
	unsigned of;

	put_version(st, "ra/old", len, 3);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "ra", &e), 0);
	of = (unsigned)e.ino;
	ck_assert_int_eq(objfs_lookup(fs, of, "old", &e), 0);
	ck_assert_int_eq(objfs_open(fs, e.ino, O_RDONLY, false, &fh,
	    &(unsigned){ 0 }), 0);
	for (int pass = 0; pass < 5; pass++) {
		uint64_t off = pass == 0 ? 0 : len - (uint64_t)(5 - pass) * MIB;
		struct iovec iov = { buf, MIB };
		size_t n = 0;

		ck_assert_int_eq(objfs_read(fs, fh, off, &iov, 1, &n), 0);
		ck_assert_uint_eq(n, MIB);
		for (size_t k = 0; k < n; k += 4096)
			ck_assert_int_eq(buf[k], version_at(off + k, 3));
		if (pass == 0) {
			ck_assert_int_eq(objfs_rename(fs, of, "old", of, "new",
			    0), 0);
			gets = s3_stats_sent(&s3->stats, S3K_GET);
		}
	}
	/*
	 * The handle takes a reader of the new key: its read-ahead serves
	 * the four reads, after one GET that found the old key gone.
	 */
	gets = s3_stats_sent(&s3->stats, S3K_GET) - gets;
	ck_assert_msg(gets <= 4, "%llu GETs for 4 MiB after the rename",
	    (unsigned long long)gets);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	free(buf);
}
END_TEST

/*
 * The budget (64 MiB here) full of the chunks two idle readers left
 * cached: a third reader's chunks take the place of the least recently
 * used ones, rather than every read of it going directly to S3.
 */
START_TEST(lru_chunks_make_room_for_new_ones)
{
	const size_t len = 32 * (size_t)MIB;
	struct s3_store *s = (struct s3_store *)st;
	struct store_reader *a, *b, *c;
	uint64_t gets;

	put_version(st, "ra/a", len, 1);
	put_version(st, "ra/b", len, 2);
	put_version(st, "ra/c", len, 3);
	ck_assert_int_eq(store_reader_open(st, "ra/a", &a), 0);
	ck_assert_int_eq(store_reader_open(st, "ra/b", &b), 0);
	expect_version(a, "ra/a", 0, 3 * MIB, 1);
	expect_version(b, "ra/b", 0, 3 * MIB, 2);
	(void)fetched_bytes();
	ck_assert_uint_eq(membudget_used(budget), 64 * MIB);
	gets = __atomic_load_n(&s->range_gets, __ATOMIC_RELAXED);
	ck_assert_int_eq(store_reader_open(st, "ra/c", &c), 0);
	expect_version(c, "ra/c", 0, len, 3);
	gets = __atomic_load_n(&s->range_gets, __ATOMIC_RELAXED) - gets;
	ck_assert_msg(gets <= 6, "32 reads of 1 MiB took %llu GETs",
	    (unsigned long long)gets);
	ck_assert_uint_le(membudget_used(budget), 64 * MIB);
	expect_version(a, "ra/a", 0, 3 * MIB, 1);
	store_reader_close(st, c);
	store_reader_close(st, b);
	store_reader_close(st, a);
}
END_TEST

/*
 * Readers that go away while the chunks they started are queued or
 * loading, over and over, and the store closing behind the last of them
 * (teardown): chunks belong to the cache, nothing is used after it is
 * freed (the sanitizer build), and every budget byte comes back.
 */
START_TEST(readers_close_while_their_chunks_load)
{
	const size_t len = 24 * (size_t)MIB;
	const char *key = "ra/gone";
	struct store_reader *r;

	put_version(st, key, len, 3);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(store_reader_open(st, key, &r), 0);
		expect_version(r, key, 0, 4096, 3);
		expect_version(r, key, 4096, 4096, 3);
		store_reader_close(st, r);
	}
	ck_assert_int_eq(store_reader_open(st, key, &r), 0);
	expect_version(r, key, 0, 4096, 3);
	store_reader_close(st, r);
}
END_TEST

/*
 * Several READs of one open file at once, each in 256 page-sized iovecs,
 * through the read-ahead and around it: every byte where it belongs.
 */
START_TEST(concurrent_page_reads_of_one_file)
{
	enum { NCHUNKS = 40, NTHREADS = 8 };
	const size_t total = NCHUNKS * (size_t)MIB;
	struct reader_arg ra[NTHREADS];
	pthread_t t[NTHREADS];
	struct store_attr a = { 0 };
	struct iovec iov[256];
	char *buf = malloc(MIB), *src;
	uint64_t ino, fh;
	unsigned of;
	size_t n = 0;
	int fd = memfd_create("pattern", 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)total), 0);
	src = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(src, MAP_FAILED);
	for (size_t i = 0; i < total; i++)
		src[i] = pattern_at(i);
	a.has = STORE_ATTR_MODE;
	a.mode = S_IFREG | 0644;
	ck_assert_int_eq(store_put(st, "pattern", fd, total, &a), 0);
	munmap(src, total);
	close(fd);
	{
		struct objfs_entry e;

		ck_assert_int_eq(objfs_lookup(fs, ROOT, "pattern", &e), 0);
		ino = e.ino;
	}
	ck_assert_int_eq(objfs_open(fs, ino, O_RDONLY, false, &fh, &of), 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		ra[i] = (struct reader_arg){ fh, i, NTHREADS, NCHUNKS, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader_thread,
		    &ra[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(ra[i].bad == 0, "reader %u: %d bad reads", i,
		    ra[i].bad);
	}
	/* Far from where the sequential readers were: fetched exactly. */
	for (unsigned i = 0; i < 256; i++)
		iov[i] = (struct iovec){ buf + i * 4096, 4096 };
	ck_assert_int_eq(objfs_read(fs, fh, 5 * MIB + 123, iov, 256, &n), 0);
	ck_assert_uint_eq(n, MIB);
	for (size_t k = 0; k < MIB; k += 100)
		ck_assert_int_eq(buf[k], pattern_at(5 * MIB + 123 + k));
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	free(buf);
}
END_TEST

static unsigned
threads_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %u", &n) == 1)
			break;
	fclose(f);
	return n;
}

#define MANY_UPLOADS	10

/*
 * Ten files streaming at once, with --s3-parallel=1: their parts go by
 * the store's pool of two threads, not a thread (or 16) per file, and
 * each file is whole at the end.  Each upload used to start its own
 * senders, so the number of files being written set the number of
 * threads and connections.
 */
START_TEST(many_uploads_share_one_pool)
{
	const size_t part = 5 * (size_t)MIB;
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3 };
	struct store_upload *up[MANY_UPLOADS];
	struct store_attr a = { 0 };
	struct store *other;
	unsigned base, most;
	char *buf = malloc(part), key[32];
	bool busy = true;
	int fd;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'u', part);
	ck_assert_int_ge(fd = memfd_create("parts", 0), 0);
	ck_assert_int_eq(write(fd, buf, part), (ssize_t)part);
	free(buf);
	s3_test_config(&s3, 5);
	s3.parallel = 1;
	s3.part_size = part;
	ck_assert_int_eq(store_open(url, &cfg, &other), 0);
	base = threads_now();
	for (int i = 0; i < MANY_UPLOADS; i++) {
		snprintf(key, sizeof(key), "pool/f%d", i);
		ck_assert_int_eq(store_upload_open(other, key, &a, &up[i]), 0);
		(void)store_upload_offer(other, up[i], fd, part);
	}
	most = threads_now();
	while (busy) {
		unsigned n = threads_now();

		most = n > most ? n : most;
		busy = false;
		for (int i = 0; i < MANY_UPLOADS; i++)
			busy |= store_upload_acked(other, up[i]) < part;
		usleep(2000);
	}
	ck_assert_msg(most <= base + 2, "%u threads for %d uploads (%u "
	    "before)", most, MANY_UPLOADS, base);
	for (int i = 0; i < MANY_UPLOADS; i++) {
		struct store_attr got;

		ck_assert_int_eq(store_upload_finish(other, up[i], fd, part,
		    &a, NULL), 0);
		snprintf(key, sizeof(key), "pool/f%d", i);
		ck_assert_int_eq(store_head(other, key, &got), 0);
		ck_assert_uint_eq(got.size, part);
		store_attr_clear(&got);
	}
	close(fd);
	store_close(other);
}
END_TEST

START_TEST(file_of_300_mib_through_multipart)
{
	const size_t total = 300 * (size_t)MIB;
	unsigned char want[32], got[32];
	char *buf = malloc(MIB);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct objfs_entry e;
	struct store_attr a;
	uint64_t fh, seed = 0x1234567, off;
	unsigned mdlen;
	unsigned of;
	size_t n;

	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "big.bin", 0600,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (off = 0; off < total; off += MIB) {
		struct iovec iov = { buf, MIB };

		fill(&seed, buf, MIB);
		EVP_DigestUpdate(md, buf, MIB);
		ck_assert_int_eq(objfs_write(fs, fh, off, &iov, 1, false, &n),
		    0);
		ck_assert_uint_eq(n, MIB);
	}
	EVP_DigestFinal_ex(md, want, &mdlen);
	/* close(): the multipart upload happens here, and must succeed. */
	ck_assert_int_eq(objfs_flush(fs, fh), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(store_head(st, "big.bin", &a), 0);
	ck_assert_uint_eq(a.size, total);
	ck_assert_uint_eq(a.mode, S_IFREG | 0600);
	store_attr_clear(&a);
	/* Back through a fresh open: sequential reads, fetched ahead. */
	ck_assert_int_eq(objfs_open(fs, e.ino, O_RDONLY, false, &fh, &of), 0);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (off = 0;; off += n) {
		struct iovec iov = { buf, MIB };

		ck_assert_int_eq(objfs_read(fs, fh, off, &iov, 1, &n), 0);
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, n);
	}
	ck_assert_uint_eq(off, total);
	EVP_DigestFinal_ex(md, got, &mdlen);
	ck_assert_int_eq(memcmp(want, got, 32), 0);
	/* And a random read in the middle. */
	struct iovec iov = { buf, 4096 };
	ck_assert_int_eq(objfs_read(fs, fh, 123 * (uint64_t)MIB + 5, &iov, 1,
	    &n), 0);
	ck_assert_uint_eq(n, 4096);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	EVP_MD_CTX_free(md);
	free(buf);
}
END_TEST

struct names {
	char	*seen;
	size_t	 n;
	size_t	 room;
	uint64_t off;
};

static int
names_cb(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *e)
{
	struct names *c = arg;
	int k;

	if (c->room == 0)
		return 1;
	c->room--;
	c->off = off;
	c->n++;
	if (sscanf(name, "obj%05d", &k) == 1) {
		ck_assert_msg(!c->seen[k], "%s listed twice", name);
		c->seen[k] = 1;
	}
	return 0;
}

START_TEST(directory_of_3000_objects_across_pages)
{
	enum { N = 3000 };
	struct store_attr a = { 0 };
	struct store_listing l;
	struct names c = { .seen = calloc(N, 1) };
	size_t pages = 0, total = 0;
	char key[64], *after = NULL;
	uint64_t d, fh;
	struct objfs_entry e;

	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "many/obj%05d", i);
		ck_assert_int_eq(store_put(st, key, -1, 0, &a), 0);
	}
	/* The store pages at 1,000 keys, continuing with its token. */
	do {
		ck_assert_int_eq(store_list(st, "many/", after, 0, 1000, &l),
		    0);
		total += l.n;
		pages++;
		free(after);
		after = l.next != NULL ? strdup(l.next) : NULL;
		store_listing_clear(&l);
	} while (after != NULL);
	ck_assert_uint_eq(total, N);
	ck_assert_uint_ge(pages, 3);
	/* readdir in small bites over those pages. */
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "many", &e), 0);
	d = e.ino;
	ck_assert_int_eq(objfs_opendir(fs, d, &fh), 0);
	for (;;) {
		size_t before = c.n;

		c.room = 250;
		ck_assert_int_eq(objfs_readdir(fs, fh, c.off, false, names_cb,
		    &c), 0);
		if (c.n == before)
			break;
	}
	ck_assert_uint_eq(c.n, N + 2);
	for (int i = 0; i < N; i++)
		ck_assert_msg(c.seen[i], "obj%05d missing", i);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	free(c.seen);
}
END_TEST

START_TEST(rename_directory_of_500_files)
{
	enum { N = 500 };
	struct store_attr a = { .has = STORE_ATTR_MODE, .mode = S_IFREG | 0640 };
	struct store_listing l;
	char key[64], body[64];
	struct objfs_entry e;
	uint64_t from, to;
	int fd = memfd_create("body", 0);

	for (int i = 0; i < N; i++) {
		int len = snprintf(body, sizeof(body), "content of %d", i);

		ck_assert_int_eq(pwrite(fd, body, (size_t)len, 0), len);
		snprintf(key, sizeof(key), "from/sub%d/f%03d", i % 5, i);
		ck_assert_int_eq(store_put(st, key, fd, (uint64_t)len, &a), 0);
	}
	close(fd);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "from", &e), 0);
	from = e.ino;
	ck_assert_int_eq(objfs_rename(fs, ROOT, "from", ROOT, "to", 0), 0);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "from", &e), -ENOENT);
	ck_assert_int_eq(store_list(st, "from/", NULL, STORE_LIST_RECURSIVE, 1000, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	store_listing_clear(&l);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "to", &e), 0);
	to = e.ino;
	ck_assert_uint_eq(to, from);
	for (int i = 0; i < N; i += 37) {
		struct iovec iov = { body, sizeof(body) };
		size_t got;

		snprintf(key, sizeof(key), "to/sub%d/f%03d", i % 5, i);
		ck_assert_int_eq(store_get(st, key, 0, &iov, 1, &got), 0);
		ck_assert_int_eq((int)got, snprintf(key, sizeof(key),
		    "content of %d", i));
		ck_assert_int_eq(memcmp(body, key, got), 0);
	}
	ck_assert_int_eq(store_list(st, "to/", NULL, STORE_LIST_RECURSIVE, 1000, &l), 0);
	ck_assert_uint_eq(l.n, N);
	store_listing_clear(&l);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;

	if (getenv("OBJFSD_TEST_S3_ENDPOINT") == NULL) {
		printf("SKIP: no S3 server (OBJFSD_TEST_S3_ENDPOINT)\n");
		return 77;
	}
	s = suite_create("s3-server");
	tc = tcase_create("big");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, file_of_300_mib_through_multipart);
	tcase_add_test(tc, many_uploads_share_one_pool);
	tcase_add_test(tc, concurrent_page_reads_of_one_file);
	tcase_add_test(tc, many_readers_share_one_readahead_budget);
	tcase_add_test(tc, writes_drop_readahead_chunks);
	tcase_add_test(tc, one_read_never_mixes_two_etags);
	tcase_add_test(tc, open_file_reads_on_after_a_rename);
	tcase_add_test(tc, lru_chunks_make_room_for_new_ones);
	tcase_add_test(tc, readers_close_while_their_chunks_load);
	tcase_add_test(tc, directory_of_3000_objects_across_pages);
	tcase_add_test(tc, rename_directory_of_500_files);
	suite_add_tcase(s, tc);
	return check_run(s, "check_s3_big", LOG_LEVEL_WARN);
}
