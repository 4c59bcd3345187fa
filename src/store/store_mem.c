/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem: objects in a red-black tree in RAM, for tests.
 *
 * It behaves like an object store, not like a filesystem: there is no
 * native rename, so objfs's copy-and-delete paths run against it.
 * "mem:fail-put=TEXT" makes every put of a key containing TEXT fail with
 * EIO, so tests can watch upload errors reach applications;
 * "mem:fail-sync=TEXT" does the same to syncs (which otherwise have
 * nothing to do: memory is as durable as it gets).
 * "mem:stuck=MODE" plays a server whose listings never end: "token"
 * answers every page with the same continuation token and no entries,
 * "empty" with a new token and no entries, "repeat" with the first page
 * again under a new token; "undead" removes nothing while saying it did.
 * Objects of 4 MiB and more can be uploaded while written, in parts of
 * 1 MiB copied in at once, so objfs's side of it runs in unit tests.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rbtree.h"
#include <unistd.h>

#include "log.h"
#include "store.h"

struct mem_object {
	RB_ENTRY(mem_object)	 entry;
	char			*key;
	uint8_t			*data;
	size_t			 size;
	struct store_attr	 attr;
};

RB_HEAD(mem_tree, mem_object);

struct mem_store {
	struct store		 base;
	pthread_mutex_t		 lock;
	struct mem_tree		 objects;
	uint64_t		 bytes;
	uint64_t		 etags;		/* ETags handed out */
	char			*fail_put;
	char			*fail_sync;
	char			*stuck;
	char			*slow_copy;	/* copies of these keys take 1.5 s */
	char			*fail_once;	/* the next upload's finish fails */
};

static int
mem_cmp(const struct mem_object *a, const struct mem_object *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_LOCAL(mem_tree, mem_object, entry, mem_cmp)

static struct mem_store *
mem(struct store *st)
{
	return (struct mem_store *)st;
}

static struct mem_object *
mem_find(struct mem_store *m, const char *key)
{
	struct mem_object probe = { .key = (char *)key };

	return RB_FIND(mem_tree, &m->objects, &probe);
}

static void
mem_free_object(struct mem_object *o)
{
	free(o->key);
	free(o->data);
	store_attr_clear(&o->attr);
	free(o);
}

static int
mem_open(const char *location, const struct store_config *cfg,
    struct store **storep)
{
	struct mem_store *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m->base.ops = &store_mem_ops;
	RB_INIT(&m->objects);
	pthread_mutex_init(&m->lock, NULL);
	if (strncmp(location, "fail-put=", 9) == 0)
		m->fail_put = strdup(location + 9);
	else if (strncmp(location, "fail-sync=", 10) == 0)
		m->fail_sync = strdup(location + 10);
	else if (strncmp(location, "stuck=", 6) == 0)
		m->stuck = strdup(location + 6);
	else if (strncmp(location, "slow-copy=", 10) == 0)
		m->slow_copy = strdup(location + 10);
	else if (strncmp(location, "fail-once=", 10) == 0)
		m->fail_once = strdup(location + 10);
	else if (*location != '\0') {
		log_warnx("mem: unknown option %s", location);
		free(m);
		return -EINVAL;
	}
	*storep = &m->base;
	return 0;
}

static void
mem_close(struct store *st)
{
	struct mem_store *m = mem(st);
	struct mem_object *o, *next;

	RB_FOREACH_SAFE(o, mem_tree, &m->objects, next) {
		RB_REMOVE(mem_tree, &m->objects, o);
		mem_free_object(o);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->fail_put);
	free(m->fail_sync);
	free(m->stuck);
	free(m->slow_copy);
	free(m->fail_once);
	free(m);
}

static void
mem_fill_attr(const struct mem_object *o, struct store_attr *a)
{
	a->size = o->size;
}

static int
mem_head(struct store *st, const char *key, struct store_attr *a)
{
	struct mem_store *m = mem(st);
	struct mem_object *o;
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if ((o = mem_find(m, key)) != NULL &&
	    (rc = store_attr_copy(a, &o->attr)) == 0)
		mem_fill_attr(o, a);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_get(struct store *st, const char *key, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	struct mem_store *m = mem(st);
	struct mem_object *o;
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if ((o = mem_find(m, key)) != NULL) {
		rc = 0;
		for (unsigned i = 0; i < iovcnt && off < o->size; i++) {
			size_t n = iov[i].iov_len;

			if (n > o->size - off)
				n = (size_t)(o->size - off);
			memcpy(iov[i].iov_base, o->data + off, n);
			off += n;
			*got += n;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_read_fd(int fd, uint64_t size, uint8_t **datap)
{
	uint8_t *data = malloc(size > 0 ? size : 1);
	uint64_t done = 0;

	if (data == NULL)
		return -ENOMEM;
	while (done < size) {
		ssize_t n = pread(fd, data + done, size - done, (off_t)done);

		if (n <= 0) {
			free(data);
			return n == 0 ? -EIO : -errno;
		}
		done += (uint64_t)n;
	}
	*datap = data;
	return 0;
}

static void
mem_stamp(struct store_attr *a, unsigned which)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if ((which & STORE_ATTR_MTIME) && !(a->has & STORE_ATTR_MTIME))
		a->mtime = now;
	a->ctime = now;
	a->has |= STORE_ATTR_CTIME | (which & STORE_ATTR_MTIME);
}

/* Each version of an object gets an ETag of its own, as on S3. */
static void
mem_new_etag(struct mem_store *m, struct store_attr *a,
    struct store_cond *cond)
{
	snprintf(a->etag, sizeof(a->etag), "\"m%llu\"",
	    (unsigned long long)++m->etags);
	if (cond != NULL)
		memcpy(cond->etag, a->etag, sizeof(cond->etag));
}

/* Does the object (NULL: none) meet the condition of a write? */
static bool
mem_cond_holds(const struct mem_object *o, const struct store_cond *cond)
{
	if (cond == NULL)
		return true;
	if (cond->if_none_match && o != NULL)
		return false;
	return cond->if_match == NULL ||
	    (o != NULL && strcmp(o->attr.etag, cond->if_match) == 0);
}

/* Insert or replace; takes ownership of data and attr. */
static int
mem_store_object(struct mem_store *m, const char *key, uint8_t *data,
    size_t size, struct store_attr *attr, struct store_cond *cond)
{
	struct mem_object *o = mem_find(m, key);

	if (!mem_cond_holds(o, cond))
		return -ECANCELED;
	mem_new_etag(m, attr, cond);
	if (o == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL ||
		    (o->key = strdup(key)) == NULL) {
			free(o);
			return -ENOMEM;
		}
		RB_INSERT(mem_tree, &m->objects, o);
	} else {
		m->bytes -= o->size;
		free(o->data);
		store_attr_clear(&o->attr);
	}
	o->data = data;
	o->size = size;
	o->attr = *attr;
	m->bytes += size;
	return 0;
}

static int
mem_put(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	struct mem_store *m = mem(st);
	struct store_attr a;
	uint8_t *data = NULL;
	int rc;

	if (m->fail_put != NULL && strstr(key, m->fail_put) != NULL) {
		log_warnx("mem: injected failure putting %s", key);
		return -EIO;
	}
	if (size > SIZE_MAX / 2)
		return -EFBIG;
	if ((rc = mem_read_fd(fd, size, &data)) != 0)
		return rc;
	if ((rc = store_attr_copy(&a, attr)) != 0) {
		free(data);
		return rc;
	}
	mem_stamp(&a, STORE_ATTR_MTIME);
	pthread_mutex_lock(&m->lock);
	rc = mem_store_object(m, key, data, (size_t)size, &a, cond);
	pthread_mutex_unlock(&m->lock);
	if (rc != 0) {
		free(data);
		store_attr_clear(&a);
	}
	return rc;
}

#define MEM_UPLOAD_PART		(1ULL << 20)
#define MEM_UPLOAD_THRESHOLD	(4 * MEM_UPLOAD_PART)

struct store_upload {
	struct mem_store	*m;
	char			*key;
	uint8_t			*data;
	uint64_t		 covered;	/* and acknowledged */
	char			 id[24];
};

static void
mem_upload_limits(struct store *st, uint64_t *threshold, uint64_t *window)
{
	(void)st;
	*threshold = MEM_UPLOAD_THRESHOLD;
	*window = 2 * MEM_UPLOAD_PART;
}

static int
mem_upload_open(struct store *st, const char *key,
    const struct store_attr *attr, struct store_upload **upp)
{
	struct store_upload *up = calloc(1, sizeof(*up));

	(void)attr;	/* taken at the finish, as everything else */
	if (up == NULL || (up->key = strdup(key)) == NULL) {
		free(up);
		return -ENOMEM;
	}
	up->m = mem(st);
	snprintf(up->id, sizeof(up->id), "mem-%08x", arc4random());
	*upp = up;
	return 0;
}

/* Nothing outlives a mem store: no earlier run left an upload. */
static int
mem_upload_resume(struct store *st, const char *key, const char *id,
    struct store_upload **upp)
{
	(void)st;
	(void)key;
	(void)id;
	*upp = NULL;
	return -ENOENT;
}

static const char *
mem_upload_id(struct store_upload *up)
{
	return up->id;
}

/* Bytes [covered, end) of fd into the upload's buffer. */
static int
mem_upload_take(struct store_upload *up, int fd, uint64_t end)
{
	uint8_t *data;

	if (end > SIZE_MAX / 2)
		return -EFBIG;
	if ((data = realloc(up->data, end > 0 ? end : 1)) == NULL)
		return -ENOMEM;
	up->data = data;
	while (up->covered < end) {
		ssize_t n = pread(fd, data + up->covered, end - up->covered,
		    (off_t)up->covered);

		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		up->covered += (uint64_t)n;
	}
	return 0;
}

static uint64_t
mem_upload_offer(struct store_upload *up, int fd, uint64_t end)
{
	if (end <= up->covered)
		return up->covered;
	end -= (end - up->covered) % MEM_UPLOAD_PART;
	if (end > up->covered)
		(void)mem_upload_take(up, fd, end);
	return up->covered;
}

static uint64_t
mem_upload_acked(struct store_upload *up)
{
	return up->covered;
}

static int
mem_upload_wait(struct store_upload *up, uint64_t want, int timeout_ms)
{
	(void)timeout_ms;
	return up->covered >= want ? 0 : -EIO;
}

static void
mem_upload_free(struct store_upload *up)
{
	free(up->data);
	free(up->key);
	free(up);
}

/* mem:fail-once=text: the first finish of an upload of such a key fails. */
static bool
mem_fails_once(struct mem_store *m, const char *key)
{
	bool fail;

	pthread_mutex_lock(&m->lock);
	fail = m->fail_once != NULL && strstr(key, m->fail_once) != NULL;
	if (fail) {
		free(m->fail_once);
		m->fail_once = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (fail)
		log_warnx("mem: injected failure finishing %s, once", key);
	return fail;
}

static int
mem_upload_finish(struct store_upload *up, int fd, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	struct mem_store *m = up->m;
	struct store_attr a;
	int rc;

	if (m->fail_put != NULL && strstr(up->key, m->fail_put) != NULL) {
		log_warnx("mem: injected failure putting %s", up->key);
		return -EIO;
	}
	if (size < up->covered)
		return -EINVAL;
	if (mem_fails_once(m, up->key))
		return -EIO;
	if ((rc = mem_upload_take(up, fd, size)) != 0)
		return rc;
	if ((rc = store_attr_copy(&a, attr)) != 0)
		return rc;
	mem_stamp(&a, STORE_ATTR_MTIME);
	pthread_mutex_lock(&m->lock);
	rc = mem_store_object(m, up->key, up->data, (size_t)size, &a, cond);
	pthread_mutex_unlock(&m->lock);
	if (rc != 0) {
		store_attr_clear(&a);
		return rc;
	}
	up->data = NULL;	/* the object's now */
	mem_upload_free(up);
	return 0;
}

/* Has the listing already passed this key (continuation `after`)? */
static bool
mem_before_continuation(const char *rel, const char *after)
{
	size_t alen;

	if (after == NULL)
		return false;
	alen = strlen(after);
	if (alen > 0 && after[alen - 1] == '/' && strncmp(rel, after, alen) == 0)
		return true;	/* inside a common prefix already returned */
	return strcmp(rel, after) <= 0;
}

static int
mem_list_one(struct store_listing *out, const struct mem_object *o,
    const char *rel, bool recursive, char **lastp)
{
	const char *slash = recursive ? NULL : strchr(rel, '/');
	struct store_attr a;
	char *name;
	int rc;

	if (slash != NULL) {
		if ((name = strndup(rel, (size_t)(slash - rel + 1))) == NULL)
			return -ENOMEM;
		/* Many keys fold into one prefix; report it once. */
		if (*lastp != NULL && strcmp(*lastp, name) == 0) {
			free(name);
			return 0;
		}
		name[slash - rel] = '\0';
		rc = store_listing_add(out, name, true, NULL, false);
		name[slash - rel] = '/';
	} else {
		if ((name = strdup(rel)) == NULL ||
		    store_attr_copy(&a, &o->attr) != 0) {
			free(name);
			return -ENOMEM;
		}
		mem_fill_attr(o, &a);
		rc = store_listing_add(out, rel, false, &a, true);
		store_attr_clear(&a);
	}
	free(*lastp);
	*lastp = name;
	return rc;
}

static int mem_list_page(struct store *st, const char *prefix,
    const char *after, unsigned flags, size_t max, struct store_listing *out);

/* mem:stuck=token|empty|repeat: pages that never make progress. */
static int
mem_list_stuck(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	const char *mode = mem(st)->stuck;
	int rc = 0;

	if (strcmp(mode, "repeat") == 0) {
		rc = mem_list_page(st, prefix, NULL, flags, max, out);
		free(out->next);
		out->next = NULL;
	}
	if (rc == 0 && strcmp(mode, "token") == 0)
		out->next = strdup("stuck");
	else if (rc == 0 && asprintf(&out->next, "%s+",
	    after != NULL ? after : "") == -1)
		out->next = NULL;
	if (rc == 0 && out->next == NULL)
		rc = -ENOMEM;
	if (rc != 0)
		store_listing_clear(out);
	return rc;
}

static int
mem_list_page(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	bool recursive = flags & STORE_LIST_RECURSIVE;
	struct mem_store *m = mem(st);
	size_t plen = strlen(prefix);
	struct mem_object probe = { .key = (char *)prefix }, *o;
	char *last = NULL;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	for (o = RB_NFIND(mem_tree, &m->objects, &probe); o != NULL;
	    o = RB_NEXT(mem_tree, &m->objects, o)) {
		const char *rel = o->key + plen;

		if (strncmp(o->key, prefix, plen) != 0)
			break;
		if (mem_before_continuation(rel, after))
			continue;
		if (out->n >= max) {
			out->next = last;
			last = NULL;
			break;
		}
		if ((rc = mem_list_one(out, o, rel, recursive, &last)) != 0)
			break;
	}
	pthread_mutex_unlock(&m->lock);
	free(last);
	if (rc != 0)
		store_listing_clear(out);
	return rc;
}

static int
mem_list(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	const char *stuck = mem(st)->stuck;

	if (stuck != NULL && strcmp(stuck, "undead") != 0)
		return mem_list_stuck(st, prefix, after, flags, max, out);
	return mem_list_page(st, prefix, after, flags, max, out);
}

static int
mem_remove(struct store *st, const char *key)
{
	struct mem_store *m = mem(st);
	struct mem_object *o;
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if ((o = mem_find(m, key)) != NULL && m->stuck != NULL &&
	    strcmp(m->stuck, "undead") == 0)
		rc = 0;		/* "gone", says the server */
	else if (o != NULL) {
		RB_REMOVE(mem_tree, &m->objects, o);
		m->bytes -= o->size;
		mem_free_object(o);
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_copy(struct store *st, const char *src, const char *dst,
    const struct store_attr *attr, const struct store_attr *src_attr)
{
	struct mem_store *m = mem(st);
	struct mem_object *o;
	struct store_attr a;
	uint8_t *data;
	int rc = -ENOENT;

	(void)src_attr;		/* the object is at hand */
	/* A server slow to copy, as S3's CopyObject of a large object is. */
	if (m->slow_copy != NULL && strstr(src, m->slow_copy) != NULL)
		(void)nanosleep(&(struct timespec){ 1, 500000000 }, NULL);
	pthread_mutex_lock(&m->lock);
	if ((o = mem_find(m, src)) == NULL)
		goto out;
	rc = -ENOMEM;
	if ((data = malloc(o->size > 0 ? o->size : 1)) == NULL)
		goto out;
	memcpy(data, o->data, o->size);
	if ((rc = store_attr_copy(&a, attr != NULL ? attr : &o->attr)) != 0) {
		free(data);
		goto out;
	}
	mem_stamp(&a, 0);
	if ((rc = mem_store_object(m, dst, data, o->size, &a, NULL)) != 0) {
		free(data);
		store_attr_clear(&a);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_set_attr(struct store *st, const char *key, const struct store_attr *attr,
    const struct store_attr *base, struct store_cond *cond)
{
	struct mem_store *m = mem(st);
	struct mem_object *o;
	int rc = -ENOENT;

	(void)base;		/* the object at hand is the base */

	pthread_mutex_lock(&m->lock);
	if ((o = mem_find(m, key)) != NULL && !mem_cond_holds(o, cond))
		rc = -ECANCELED;	/* a copy of that version only */
	else if (o != NULL && (rc = store_attr_merge(&o->attr, attr)) == 0) {
		mem_stamp(&o->attr, 0);
		mem_new_etag(m, &o->attr, cond);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int
mem_statfs(struct store *st, struct statvfs *sv)
{
	struct mem_store *m = mem(st);
	const uint64_t blocks = 1ULL << 32;	/* 16 TiB of 4 KiB blocks */
	uint64_t used;

	pthread_mutex_lock(&m->lock);
	used = (m->bytes + 4095) / 4096;
	pthread_mutex_unlock(&m->lock);
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = blocks;
	sv->f_bfree = sv->f_bavail = used < blocks ? blocks - used : 0;
	sv->f_files = sv->f_ffree = sv->f_favail = 1ULL << 32;
	sv->f_namemax = STORE_NAME_MAX;
	return 0;
}

static int
mem_sync(struct store *st, const char *key, bool datasync)
{
	struct mem_store *m = mem(st);

	(void)datasync;
	if (key != NULL && m->fail_sync != NULL &&
	    strstr(key, m->fail_sync) != NULL) {
		log_warnx("mem: injected failure syncing %s", key);
		return -EIO;
	}
	return 0;
}

const struct store_ops store_mem_ops = {
	.scheme = "mem",
	.usage = "mem:",
	.caps = STORE_CAP_NSEC | STORE_CAP_DEVICES,	/* all in memory */
	.key_max = PATH_MAX - 1,	/* as fs: has it */
	.open = mem_open,
	.close = mem_close,
	.head = mem_head,
	.get = mem_get,
	.put = mem_put,
	.list = mem_list,
	.remove = mem_remove,
	.copy = mem_copy,
	.set_attr = mem_set_attr,
	.statfs = mem_statfs,
	.sync = mem_sync,
	.upload_open = mem_upload_open,
	.upload_resume = mem_upload_resume,
	.upload_id = mem_upload_id,
	.upload_offer = mem_upload_offer,
	.upload_acked = mem_upload_acked,
	.upload_wait = mem_upload_wait,
	.upload_finish = mem_upload_finish,
	.upload_abort = mem_upload_free,
	.upload_drop = mem_upload_free,
	.upload_limits = mem_upload_limits,
};
