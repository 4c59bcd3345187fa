/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request economy on a real S3 server (tests/e2e/s3-objfs.sh starts it):
 * what each filesystem operation costs in S3 requests, read from the
 * store's own counters (the table the daemon logs on SIGUSR1).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "membudget.h"
#include "objfs.h"
#include "s3_internal.h"
#include "s3_test_config.h"
#include "store.h"

#define ROOT	OBJFS_ROOT_INO

static struct objfs *fs;
static struct store *st;
static struct membudget *budget;
static const struct objfs_ctx ctx = { 0, 0, 1 };

/* A budget the size of what a test gives setup_with(). */
static void
setup_with(uint64_t limit)
{
	budget = membudget_new(limit);
	s3_test_objfs("req", budget, &st, &fs, NULL);
}

static void
setup(void)
{
	setup_with(64u << 20);
}

/* Too small for one batch of looked-up attributes. */
static void
setup_tiny_budget(void)
{
	setup_with(1);
}

static void
teardown(void)
{
	objfs_free(fs);
	store_close(st);
	membudget_free(budget);
}

static const struct s3_stats *
stats(void)
{
	return &((struct s3_store *)st)->stats;
}

static uint64_t
sent(enum s3_kind k)
{
	return s3_stats_sent(stats(), k);
}

static void
put_object_mode(const char *key, mode_t mode)
{
	struct store_attr a;

	store_attr_init(&a);
	a.has = STORE_ATTR_MODE | STORE_ATTR_UID | STORE_ATTR_GID;
	a.mode = mode;
	a.uid = 1000;
	a.gid = 1000;
	ck_assert_int_eq(store_put(st, key, -1, 0, &a), 0);
	store_attr_clear(&a);
}

static void
put_object(const char *key)
{
	put_object_mode(key, 0640);
}

/*
 * The LOOKUP's reply carries the attributes, valid in the kernel for the
 * attribute timeout, and in objfs's cache as long: a stat of a known
 * file is that one request, a GETATTR within the timeout none.  A
 * GETATTR after the timeout is one more, never two.
 */
START_TEST(known_file_costs_one_request)
{
	struct objfs_entry e;
	struct stat sb;
	uint64_t before, heads;

	put_object("dir/file");
	put_object("file");
	before = sent(S3K_N);
	heads = sent(S3K_HEAD);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "file", &e), 0);
	ck_assert_uint_eq(e.st.st_mode, S_IFREG | 0640);
	ck_assert_uint_eq(e.st.st_uid, 1000);
	ck_assert_uint_eq(sent(S3K_N) - before, 1);
	ck_assert_uint_eq(sent(S3K_HEAD) - heads, 1);
	before = sent(S3K_N);
	ck_assert_int_eq(objfs_getattr(fs, e.ino, &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0640);
	ck_assert_uint_eq(sent(S3K_N) - before, 0);
	usleep((OBJFS_ATTR_CACHE_MS + 100) * 1000);
	ck_assert_int_eq(objfs_getattr(fs, e.ino, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 1000);
	ck_assert_uint_eq(sent(S3K_N) - before, 1);
}
END_TEST

/*
 * A missing name: a HEAD and one LIST (a marker or keys below it would
 * make it a directory).  The FUSE server answers it as a negative entry
 * the kernel caches for the entry timeout (check_fuse proves that).
 */
START_TEST(negative_lookup_costs_two_requests)
{
	struct objfs_entry e;
	uint64_t before;

	before = sent(S3K_N);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "missing", &e), -ENOENT);
	ck_assert_uint_eq(sent(S3K_N) - before, 2);
	/* A create through objfs ends the negative entry at once. */
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "missing",
	    S_IFREG | 0644, 0, &e), 0);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "missing", &e), 0);
}
END_TEST

static bool
honours_if_none_match(void)
{
	struct store_cond c = { .if_none_match = true };
	struct store_attr a;
	int rc;

	put_object("probe");
	store_attr_init(&a);
	rc = store_put_if(st, "probe", -1, 0, &a, &c);
	store_attr_clear(&a);
	ck_assert(rc == 0 || rc == -ECANCELED);
	return rc == -ECANCELED;
}

/*
 * A directory objfs made knows its names: a LOOKUP of a new name in it
 * and the check before CREATE cost nothing, so a cp -r into it costs the
 * PUTs alone.  Another client's name shows once the timeout is up (as
 * through the kernel's negative entries), by one listing of the directory.
 */
START_TEST(a_new_directory_answers_for_its_names)
{
	struct objfs_entry d, e;
	uint64_t before, puts, fh;
	char name[16];

	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "made", 0755, &d), 0);
	before = sent(S3K_N);
	puts = sent(S3K_PUT);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		ck_assert_int_eq(objfs_lookup(fs, d.ino, name, &e), -ENOENT);
		ck_assert_int_eq(objfs_create(fs, &ctx, d.ino, name, 0644,
		    O_WRONLY | O_CREAT | O_EXCL, &e, &fh), 0);
		ck_assert_int_eq(objfs_release(fs, fh), 0);
		objfs_forget(fs, e.ino, 1);
	}
	ck_assert_uint_eq(sent(S3K_N) - before, 20);
	ck_assert_uint_eq(sent(S3K_PUT) - puts, 20);	/* nothing but them */
	/* What objfs made and forgot is still there for it. */
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "f07", &e), 0);
	put_object("made/theirs");
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "theirs", &e), -ENOENT);
	/*
	 * An open(O_CREAT) of such a name meets it at the PUT, and opens
	 * it; a server that ignores If-None-Match (s3rver) replaces it.
	 */
	put_object("made/theirs2");
	ck_assert_int_eq(objfs_create(fs, &ctx, d.ino, "theirs2", 0644,
	    O_WRONLY | O_CREAT, &e, &fh), 0);
	if (honours_if_none_match())
		ck_assert_uint_eq(e.st.st_mode, S_IFREG | 0640);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	usleep((OBJFS_ATTR_CACHE_MS + 100) * 1000);
	before = sent(S3K_LIST);
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "theirs", &e), 0);
	ck_assert_uint_eq(sent(S3K_LIST) - before, 1);
	/* Renewed by that listing: new names cost nothing again. */
	before = sent(S3K_N);
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "another", &e), -ENOENT);
	ck_assert_uint_eq(sent(S3K_N) - before, 0);
}
END_TEST

struct count {
	unsigned n;
	unsigned bad;
	uint64_t off;
};

static int
count_cb(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *e)
{
	struct count *c = arg;

	(void)name;
	(void)ino;
	c->n++;
	c->off = off;
	/* Every object comes with the metadata put_object() gave it. */
	if (type == S_IFREG && (e == NULL || e->st.st_mode != (S_IFREG | 0640)))
		c->bad++;
	return 0;
}

/* READDIRPLUS of d/ to its end; c counts. */
static void
readdirplus_d(struct count *c, uint64_t *lists, uint64_t *heads)
{
	struct objfs_entry e;
	uint64_t fh;

	ck_assert_int_eq(objfs_lookup(fs, ROOT, "d", &e), 0);
	ck_assert_int_eq(objfs_opendir(fs, e.ino, &fh), 0);
	*lists = sent(S3K_LIST);
	*heads = sent(S3K_HEAD);
	s3_stats_reset_inflight_max((struct s3_stats *)stats());
	for (;;) {
		unsigned before = c->n;

		ck_assert_int_eq(objfs_readdir(fs, fh, c->off, true, count_cb,
		    c), 0);
		if (c->n == before)
			break;
	}
	*lists = sent(S3K_LIST) - *lists;
	*heads = sent(S3K_HEAD) - *heads;
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	/*
	 * The batches went with the handle; the listing, kept for a reader
	 * to come within its second, goes with the directory's inode.
	 */
	objfs_forget(fs, e.ino, 1);
	ck_assert_uint_eq(membudget_used(budget), 0);
}

/* N objects in d/, then READDIRPLUS of d/ to its end. */
static void
readdirplus_of(int n, struct count *c, uint64_t *lists, uint64_t *heads)
{
	char key[64];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "d/f%04d", i);
		put_object(key);
	}
	readdirplus_d(c, lists, heads);
}

START_TEST(readdirplus_lists_in_pages_and_heads_in_parallel)
{
	enum { N = 1500 };
	struct count c = { 0 };
	uint64_t lists, heads;

	readdirplus_of(N, &c, &lists, &heads);
	ck_assert_uint_eq(c.n, N + 2);
	ck_assert_uint_eq(c.bad, 0);
	fprintf(stderr, "readdirplus of %d: %llu LIST, %llu HEAD, %llu at most "
	    "in flight\n", N, (unsigned long long)lists,
	    (unsigned long long)heads,
	    (unsigned long long)s3_stats_inflight_max(stats()));
	ck_assert_uint_le(lists, (N + 999) / 1000);
	ck_assert_uint_le(heads, N);
	ck_assert_uint_ge(s3_stats_inflight_max(stats()), 16);
}
END_TEST

/*
 * rm -r: a listing, then a LOOKUP and an UNLINK of each name.  What the
 * listing looked up is fresh: each name then costs its DELETE alone, and
 * the directory's marker is looked for once (it is only implied here:
 * objfs gives it one so it outlives its last entry).
 */
START_TEST(listed_names_are_removed_with_one_request_each)
{
	enum { N = 20 };
	struct count c = { 0 };
	struct objfs_entry d, e;
	uint64_t lists, heads, before;
	char name[16];

	readdirplus_of(N, &c, &lists, &heads);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "d", &d), 0);
	before = sent(S3K_N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		ck_assert_int_eq(objfs_lookup(fs, d.ino, name, &e), 0);
		ck_assert_int_eq(objfs_unlink(fs, d.ino, name), 0);
	}
	fprintf(stderr, "rm of %d listed names: %llu requests, %llu HEAD, "
	    "%llu PUT\n", N, (unsigned long long)(sent(S3K_N) - before),
	    (unsigned long long)sent(S3K_HEAD),
	    (unsigned long long)sent(S3K_PUT));
	/* N DELETEs, one HEAD and one PUT for the marker. */
	ck_assert_uint_le(sent(S3K_N) - before, N + 2);
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "f0000", &e), -ENOENT);
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "d"), 0);
}
END_TEST

/*
 * Making a name looks for it first; one LIST of the key as a prefix
 * answers for the object and for a directory below it, so a new name
 * costs that LIST and its PUT, never a HEAD.
 */
START_TEST(a_new_name_costs_one_list_and_its_put)
{
	struct objfs_entry e;
	uint64_t before, lists, puts, heads;
	uint64_t fh;

	before = sent(S3K_N);
	lists = sent(S3K_LIST);
	puts = sent(S3K_PUT);
	heads = sent(S3K_HEAD);
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "new", 0644,
	    O_WRONLY | O_CREAT | O_EXCL, &e, &fh), 0);
	ck_assert_uint_eq(sent(S3K_LIST) - lists, 1);
	ck_assert_uint_eq(sent(S3K_PUT) - puts, 1);
	ck_assert_uint_eq(sent(S3K_HEAD) - heads, 0);
	ck_assert_uint_eq(sent(S3K_N) - before, 2);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	before = sent(S3K_N);
	heads = sent(S3K_HEAD);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "newdir", 0755, &e), 0);
	ck_assert_uint_eq(sent(S3K_HEAD) - heads, 0);
	ck_assert_uint_eq(sent(S3K_N) - before, 2);
}
END_TEST

/*
 * The same listing finds what is there: the object itself, or keys
 * below the name (a directory without a marker), also when more than a
 * page of siblings ("x-1", "x.2": bytes below '/') sort before "x/".
 */
START_TEST(a_taken_name_is_found_by_the_listing)
{
	struct objfs_entry e;
	uint64_t fh;
	char key[32];

	put_object("x/child");
	put_object("y");
	for (int i = 0; i < 12; i++) {
		snprintf(key, sizeof(key), "x%c%d", i % 2 ? '-' : '.', i);
		put_object(key);
	}
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "x", 0644,
	    O_WRONLY | O_CREAT | O_EXCL, &e, &fh), -EEXIST);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "x", 0755, &e), -EEXIST);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "y", 0755, &e), -EEXIST);
	ck_assert_int_eq(objfs_symlink(fs, &ctx, ROOT, "x-1", "t", &e),
	    -EEXIST);
	/* Free names beside them: "x-", a prefix of siblings only. */
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "x-", 0755, &e), 0);
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "x.", 0644,
	    O_WRONLY | O_CREAT | O_EXCL, &e, &fh), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	/* Without O_EXCL a taken name is opened, as open(2) does. */
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "y", 0644,
	    O_WRONLY | O_CREAT, &e, &fh), 0);
	ck_assert_uint_eq(e.st.st_mode, S_IFREG | 0640);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
}
END_TEST

/*
 * What one FUSE request sent, for the rule that none sends the same
 * request twice: every answered attempt as "Kind key [range]?query"
 * (retries of a 5xx or a network failure are left out: those are meant
 * to repeat).  Two ranges of one object are two requests.
 */
enum { TRACE_MAX = 4096 };
static struct {
	pthread_mutex_t	 lock;
	char		*sent[TRACE_MAX];
	size_t		 n;
} trace = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
trace_req(void *arg, enum s3_kind k, enum s3_outcome o, const struct s3_req *r)
{
	const char *range;
	char line[1024];
	size_t len;

	(void)arg;
	if (o == S3O_SERVER || o == S3O_NET)
		return;
	range = s3_hdrs_get(&r->hdrs, "range");
	len = (size_t)snprintf(line, sizeof(line), "%s %s%s%s", s3_kind_name(k),
	    r->key != NULL ? r->key : "/", range != NULL ? " " : "",
	    range != NULL ? range : "");
	for (size_t i = 0; i < r->nquery && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%c%s=%s",
		    i == 0 ? '?' : '&', r->query[i].key,
		    r->query[i].value != NULL ? r->query[i].value : "");
	pthread_mutex_lock(&trace.lock);
	if (trace.n < TRACE_MAX)
		trace.sent[trace.n++] = strdup(line);
	pthread_mutex_unlock(&trace.lock);
}

static void
trace_clear(void)
{
	pthread_mutex_lock(&trace.lock);
	for (size_t i = 0; i < trace.n; i++)
		free(trace.sent[i]);
	trace.n = 0;
	pthread_mutex_unlock(&trace.lock);
}

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How many requests of the trace so far are of kind (its name). */
static size_t
trace_count(const char *kind)
{
	size_t n = 0, len = strlen(kind);

	pthread_mutex_lock(&trace.lock);
	for (size_t i = 0; i < trace.n; i++)
		n += strncmp(trace.sent[i], kind, len) == 0 &&
		    trace.sent[i][len] == ' ';
	pthread_mutex_unlock(&trace.lock);
	return n;
}

/* The requests since the last call, each once?  Names any repeat. */
static void
each_once(const char *what)
{
	size_t repeats = 0;

	pthread_mutex_lock(&trace.lock);
	ck_assert_uint_lt(trace.n, TRACE_MAX);
	qsort(trace.sent, trace.n, sizeof(trace.sent[0]), line_cmp);
	for (size_t i = 1; i < trace.n; i++)
		if (trace.sent[i][0] != '\0' &&
		    strcmp(trace.sent[i], trace.sent[i - 1]) == 0) {
			fprintf(stderr, "%s sent twice: %s\n", what,
			    trace.sent[i]);
			repeats++;
		}
	pthread_mutex_unlock(&trace.lock);
	trace_clear();
	ck_assert_msg(repeats == 0, "%s sent %zu requests twice", what,
	    repeats);
}

static void
setup_traced(void)
{
	setup();
	((struct s3_store *)st)->stats.trace_arg = NULL;
	((struct s3_store *)st)->stats.trace = trace_req;
}

static void
teardown_traced(void)
{
	((struct s3_store *)st)->stats.trace = NULL;
	trace_clear();
	teardown();
}

static void
write_and_close(uint64_t fh, const char *text)
{
	struct iovec iov = { (void *)text, strlen(text) };
	size_t n;

	ck_assert_int_eq(objfs_write(fs, fh, 0, &iov, 1, false, &n), 0);
	ck_assert_uint_eq(n, iov.iov_len);
	ck_assert_int_eq(objfs_flush(fs, fh), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
}

static int
ignore_entry(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *entry)
{
	(void)arg; (void)name; (void)type; (void)ino; (void)off; (void)entry;
	return 0;
}

/*
 * Inside one FUSE request no request goes twice for the same key (the
 * issue's rule): each operation of a small tree's life, one by one, with
 * the attribute cache cold (after its timeout) and warm.
 */
START_TEST(no_request_is_sent_twice_in_one_operation)
{
	struct objfs_setattr sa = { 0 };
	struct objfs_entry d, e, f;
	struct stat sb;
	char buf[64];
	unsigned oflags;
	size_t len;
	uint64_t fh;

	for (int i = 0; i < 30; i++) {
		snprintf(buf, sizeof(buf), "d/f%02d", i);
		put_object(buf);
	}
	trace_clear();
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "d", &d), 0);
	each_once("LOOKUP of a directory");
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "nothing", &e), -ENOENT);
	each_once("negative LOOKUP");
	ck_assert_int_eq(objfs_opendir(fs, d.ino, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, true, ignore_entry, NULL), 0);
	each_once("READDIRPLUS");
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	ck_assert_int_eq(objfs_create(fs, &ctx, d.ino, "new", 0644,
	    O_WRONLY | O_CREAT | O_EXCL, &f, &fh), 0);
	each_once("CREATE");
	write_and_close(fh, "some bytes");
	each_once("WRITE, FLUSH, RELEASE");
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, d.ino, "sub", 0755, &e), 0);
	each_once("MKDIR");
	ck_assert_int_eq(objfs_symlink(fs, &ctx, d.ino, "link", "new", &e), 0);
	each_once("SYMLINK");
	usleep((OBJFS_ATTR_CACHE_MS + 100) * 1000);
	ck_assert_int_eq(objfs_readlink(fs, e.ino, buf, sizeof(buf), &len), 0);
	each_once("READLINK");
	ck_assert_int_eq(objfs_getattr(fs, f.ino, &sb), 0);
	each_once("GETATTR after the timeout");
	ck_assert_int_eq(objfs_lookup(fs, d.ino, "f00", &e), 0);
	each_once("LOOKUP of a file");
	ck_assert_int_eq(objfs_open(fs, e.ino, O_RDONLY, false, &fh, &oflags),
	    0);
	each_once("OPEN");
	{
		struct iovec iov = { buf, sizeof(buf) };

		ck_assert_int_eq(objfs_read(fs, fh, 0, &iov, 1, &len), 0);
	}
	/*
	 * The size is known at OPEN: nothing is fetched past the end (none
	 * at all when the cache knows the object is empty).
	 */
	ck_assert_uint_le(trace_count("GetObject"), 1);
	each_once("READ");
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	sa.valid = OBJFS_SET_MODE;
	sa.mode = 0600;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, e.ino, 0, &sa, &sb), 0);
	each_once("SETATTR of the mode");
	ck_assert_int_eq(objfs_setxattr(fs, e.ino, "user.k", "v", 1, 0), 0);
	each_once("SETXATTR");
	ck_assert_int_eq(objfs_rename(fs, d.ino, "f00", d.ino, "g00", 0), 0);
	each_once("RENAME of a file");
	ck_assert_int_eq(objfs_rename(fs, d.ino, "sub", ROOT, "sub2", 0), 0);
	each_once("RENAME of a directory");
	ck_assert_int_eq(objfs_unlink(fs, d.ino, "g00"), 0);
	each_once("UNLINK");
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "sub2"), 0);
	each_once("RMDIR");
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "d"), -ENOTEMPTY);
	each_once("RMDIR of a full directory");
}
END_TEST

/*
 * Names looked up again after the attribute timeout (rm -r, ls -l once
 * more): one LIST of the directory says which objects are still the
 * version whose metadata objfs has; only one rewritten meanwhile by
 * another client is asked again.
 */
START_TEST(names_past_their_time_are_rechecked_by_one_listing)
{
	enum { N = 20 };
	struct count c = { 0 };
	struct objfs_entry d, e;
	uint64_t lists, heads;
	char name[16];

	readdirplus_of(N, &c, &lists, &heads);
	ck_assert_int_eq(objfs_lookup(fs, ROOT, "d", &d), 0);
	usleep((OBJFS_ATTR_CACHE_MS + 1100) * 1000);
	put_object_mode("d/f0007", 0600);
	lists = sent(S3K_LIST);
	heads = sent(S3K_HEAD);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		ck_assert_int_eq(objfs_lookup(fs, d.ino, name, &e), 0);
		ck_assert_uint_eq(e.st.st_mode, S_IFREG | (i == 7 ? 0600 : 0640));
	}
	ck_assert_uint_eq(sent(S3K_LIST) - lists, 1);
	ck_assert_uint_eq(sent(S3K_HEAD) - heads, 1);
}
END_TEST

/*
 * ls -l once more after the attribute timeout: the listing names the
 * same versions, so the attributes objfs has stand, with no HEAD.
 */
START_TEST(a_second_listing_confirms_what_the_first_read)
{
	enum { N = 50 };
	struct count c = { 0 };
	uint64_t lists, heads;

	readdirplus_of(N, &c, &lists, &heads);
	ck_assert_uint_eq(heads, N);
	usleep((OBJFS_ATTR_CACHE_MS + 1100) * 1000);
	put_object_mode("d/f0003", 0600);	/* another client's */
	memset(&c, 0, sizeof(c));
	readdirplus_d(&c, &lists, &heads);
	ck_assert_uint_eq(c.n, N + 2);
	ck_assert_uint_eq(c.bad, 1);	/* f0003, as it is now */
	ck_assert_uint_eq(lists, 1);
	ck_assert_uint_eq(heads, 1);
}
END_TEST

/* Past the cache budget the look-ahead is left out: one HEAD at a time. */
START_TEST(readdirplus_past_the_budget_heads_one_by_one)
{
	enum { N = 100 };
	struct count c = { 0 };
	uint64_t lists, heads;

	readdirplus_of(N, &c, &lists, &heads);
	ck_assert_uint_eq(c.n, N + 2);
	ck_assert_uint_eq(c.bad, 0);
	ck_assert_uint_eq(heads, N);
	ck_assert_uint_eq(s3_stats_inflight_max(stats()), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("s3_requests");
	TCase *tc = tcase_create("economy");

	if (getenv("OBJFSD_TEST_S3_ENDPOINT") == NULL) {
		fprintf(stderr, "SKIP: no S3 server (run by s3-objfs.sh)\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, known_file_costs_one_request);
	tcase_add_test(tc, negative_lookup_costs_two_requests);
	tcase_add_test(tc, a_new_name_costs_one_list_and_its_put);
	tcase_add_test(tc, a_new_directory_answers_for_its_names);
	tcase_add_test(tc, a_taken_name_is_found_by_the_listing);
	tcase_add_test(tc, readdirplus_lists_in_pages_and_heads_in_parallel);
	tcase_add_test(tc, listed_names_are_removed_with_one_request_each);
	tcase_add_test(tc, names_past_their_time_are_rechecked_by_one_listing);
	tcase_add_test(tc, a_second_listing_confirms_what_the_first_read);
	suite_add_tcase(s, tc);
	tc = tcase_create("each once");
	tcase_add_checked_fixture(tc, setup_traced, teardown_traced);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, no_request_is_sent_twice_in_one_operation);
	suite_add_tcase(s, tc);
	tc = tcase_create("tiny budget");
	tcase_add_checked_fixture(tc, setup_tiny_budget, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, readdirplus_past_the_budget_heads_one_by_one);
	suite_add_tcase(s, tc);
	return check_run(s, "check_s3_requests", LOG_LEVEL_WARN);
}
