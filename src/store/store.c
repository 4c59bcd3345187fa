/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store contract: backend list, dispatch, and helpers for the
 * structures every backend fills.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "log.h"
#include "store.h"

/* fs first: it is the default a bare directory means. */
static const struct store_ops *const store_backends[] = {
	&store_fs_ops,
	&store_mem_ops,
	&store_s3_ops,
	NULL,
};

void
store_scheme_list(char *buf, size_t len)
{
	size_t n = sizeof(store_backends) / sizeof(store_backends[0]) - 1;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep,
		    store_backends[i]->usage);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* "fs:/srv", "fs:///srv", "mem:", "s3://bucket/prefix" */
int
store_open(const char *url, const struct store_config *cfg,
    struct store **storep)
{
	const char *colon = strchr(url, ':');
	const char *location;
	size_t slen;

	*storep = NULL;
	if (colon == NULL)
		return -EINVAL;
	slen = (size_t)(colon - url);
	location = colon + 1;
	if (strncmp(location, "//", 2) == 0)
		location += 2;
	for (const struct store_ops *const *b = store_backends; *b != NULL;
	    b++) {
		if (strlen((*b)->scheme) == slen &&
		    strncmp((*b)->scheme, url, slen) == 0) {
			int rc = (*b)->open(location, cfg, storep);

			if (rc == 0) {
				(*storep)->caps |= (*b)->caps;
				if ((*storep)->key_max == 0)
					(*storep)->key_max = (*b)->key_max;
			}
			return rc;
		}
	}
	return -EPROTONOSUPPORT;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

/* "dir/": the marker object of a directory. */
bool
store_key_is_marker(const char *key)
{
	size_t len = strlen(key);

	return len > 0 && key[len - 1] == '/';
}

/* The longest key st takes: bytes, without the NUL. */
size_t
store_key_max(const struct store *st)
{
	return st->key_max;
}

/*
 * A key objfs may hand to st: not empty, no leading '/', no empty, "." or
 * ".." component, no NUL (by construction), at most store_key_max(st)
 * bytes.  A trailing '/' (a directory marker) is allowed.
 */
bool
store_key_valid(const struct store *st, const char *key)
{
	size_t len = strlen(key);
	const char *p = key;

	if (len == 0 || len > store_key_max(st) || key[0] == '/')
		return false;
	while (*p != '\0') {
		const char *slash = strchr(p, '/');
		size_t clen = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (clen == 0 || clen > STORE_NAME_MAX ||
		    (clen == 1 && p[0] == '.') ||
		    (clen == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return true;
}

#define STORE_CALL(st, op, ...) \
	((st)->ops->op != NULL ? (st)->ops->op(st, __VA_ARGS__) : -ENOSYS)

int
store_head(struct store *st, const char *key, struct store_attr *a)
{
	store_attr_init(a);
	return STORE_CALL(st, head, key, a);
}

/* store_head() of each key, rcs[i] its answer: side by side if it can. */
void
store_head_many(struct store *st, const char *const *keys, size_t n,
    struct store_attr *attrs, int *rcs)
{
	for (size_t i = 0; i < n; i++)
		store_attr_init(&attrs[i]);
	if (st->ops->head_many != NULL) {
		st->ops->head_many(st, keys, n, attrs, rcs);
		return;
	}
	for (size_t i = 0; i < n; i++)
		rcs[i] = st->ops->head(st, keys[i], &attrs[i]);
}

int
store_get(struct store *st, const char *key, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	*got = 0;
	return STORE_CALL(st, get, key, off, iov, iovcnt, got);
}

int
store_put(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_attr *attr)
{
	return STORE_CALL(st, put, key, fd, size, attr, NULL);
}

int
store_put_if(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	cond->etag[0] = '\0';
	return STORE_CALL(st, put, key, fd, size, attr, cond);
}

int
store_list(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = STORE_CALL(st, list, prefix, after, flags, max, out);
	/* The same token again would page forever. */
	if (rc == 0 && after != NULL && out->next != NULL &&
	    strcmp(out->next, after) == 0) {
		log_warnx("listing of \"%s\" does not advance: the store "
		    "answered the same continuation token", prefix);
		store_listing_clear(out);
		rc = -EIO;
	}
	return rc;
}

bool
store_has_direct(const struct store *st)
{
	return st->ops->file_open != NULL;
}

int
store_sync(struct store *st, const char *key, bool datasync)
{
	if (st->ops->sync == NULL)
		return 0;
	return st->ops->sync(st, key, datasync);
}

int
store_file_open(struct store *st, const char *key, struct store_file **filep)
{
	*filep = NULL;
	if (st->ops->file_open == NULL)
		return -EOPNOTSUPP;
	return st->ops->file_open(st, key, filep);
}

int
store_file_fd(struct store *st, struct store_file *f, int *fdp)
{
	return st->ops->file_fd(f, fdp);
}

void
store_file_done(struct store *st, struct store_file *f)
{
	st->ops->file_done(f);
}

void
store_file_close(struct store *st, struct store_file *f)
{
	if (f != NULL)
		st->ops->file_close(f);
}

int
store_remove(struct store *st, const char *key)
{
	return STORE_CALL(st, remove, key);
}

int
store_remove_many(struct store *st, const char *const *keys, size_t n)
{
	int rc = 0;

	if (st->ops->remove_many != NULL)
		return st->ops->remove_many(st, keys, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((rc = store_remove(st, keys[i])) == -ENOENT)
			rc = 0;
	return rc;
}

int
store_copy(struct store *st, const char *src, const char *dst,
    const struct store_attr *attr, const struct store_attr *src_attr)
{
	return STORE_CALL(st, copy, src, dst, attr, src_attr);
}

int
store_rename(struct store *st, const char *src, const char *dst,
    unsigned flags)
{
	return STORE_CALL(st, rename, src, dst, flags);
}

bool
store_has_rename(const struct store *st)
{
	return st->ops->rename != NULL;
}

bool
store_is_tree(const struct store *st)
{
	return (st->caps & STORE_CAP_TREE) != 0;
}

bool
store_has_nsec(const struct store *st)
{
	return (st->caps & STORE_CAP_NSEC) != 0;
}

bool
store_has_devices(const struct store *st)
{
	return (st->caps & STORE_CAP_DEVICES) != 0;
}

bool
store_xattr_reserved(const char *name)
{
	return strncmp(name, STORE_XATTR_RESERVED,
	    sizeof(STORE_XATTR_RESERVED) - 1) == 0;
}

int
store_set_attr(struct store *st, const char *key, const struct store_attr *a,
    const struct store_attr *base)
{
	return STORE_CALL(st, set_attr, key, a, base, NULL);
}

int
store_set_attr_if(struct store *st, const char *key,
    const struct store_attr *a, const struct store_attr *base,
    struct store_cond *cond)
{
	cond->etag[0] = '\0';
	return STORE_CALL(st, set_attr, key, a, base, cond);
}

/* Make sure a holds the key's xattrs (head() may have left them out). */
int
store_xattrs(struct store *st, const char *key, struct store_attr *a)
{
	if (a->has & STORE_ATTR_XATTRS)
		return 0;
	if (st->ops->xattrs == NULL) {
		a->has |= STORE_ATTR_XATTRS;	/* head() says it all */
		return 0;
	}
	return st->ops->xattrs(st, key, a);
}

int
store_statfs(struct store *st, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	return STORE_CALL(st, statfs, sv);
}

void
store_report(struct store *st)
{
	if (st->ops->report != NULL)
		st->ops->report(st);
}

int
store_reader_open_sized(struct store *st, const char *key, uint64_t size,
    struct store_reader **readerp)
{
	*readerp = NULL;
	if (st->ops->reader_open == NULL)
		return 0;	/* reads go through get() */
	return st->ops->reader_open(st, key, size, readerp);
}

int
store_reader_open(struct store *st, const char *key,
    struct store_reader **readerp)
{
	return store_reader_open_sized(st, key, STORE_SIZE_UNKNOWN, readerp);
}

int
store_reader_read(struct store *st, struct store_reader *r, const char *key,
    uint64_t off, const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	*got = 0;
	if (r == NULL)
		return store_get(st, key, off, iov, iovcnt, got);
	return st->ops->reader_read(r, off, iov, iovcnt, got);
}

void
store_reader_close(struct store *st, struct store_reader *r)
{
	if (r != NULL)
		st->ops->reader_close(r);
}

/*
 * The size from which an object is uploaded while written, 0 when the
 * store cannot (everything is put()); *window as upload_limits says.
 */
uint64_t
store_upload_limits(struct store *st, uint64_t *window)
{
	uint64_t threshold = 0;

	*window = 0;
	if (st->ops->upload_open != NULL)
		st->ops->upload_limits(st, &threshold, window);
	return threshold;
}

int
store_upload_open(struct store *st, const char *key,
    const struct store_attr *attr, struct store_upload **upp)
{
	*upp = NULL;
	if (st->ops->upload_open == NULL)
		return -EOPNOTSUPP;
	return st->ops->upload_open(st, key, attr, upp);
}

int
store_upload_resume(struct store *st, const char *key, const char *id,
    struct store_upload **upp)
{
	*upp = NULL;
	if (st->ops->upload_resume == NULL)
		return -EOPNOTSUPP;
	return st->ops->upload_resume(st, key, id, upp);
}

const char *
store_upload_id(struct store *st, struct store_upload *up)
{
	return st->ops->upload_id(up);
}

uint64_t
store_upload_offer(struct store *st, struct store_upload *up, int fd,
    uint64_t end)
{
	return st->ops->upload_offer(up, fd, end);
}

uint64_t
store_upload_acked(struct store *st, struct store_upload *up)
{
	return st->ops->upload_acked(up);
}

int
store_upload_wait(struct store *st, struct store_upload *up, uint64_t want,
    int timeout_ms)
{
	return st->ops->upload_wait(up, want, timeout_ms);
}

int
store_upload_finish(struct store *st, struct store_upload *up, int fd,
    uint64_t size, const struct store_attr *attr, struct store_cond *cond)
{
	if (cond != NULL)
		cond->etag[0] = '\0';
	return st->ops->upload_finish(up, fd, size, attr, cond);
}

void
store_upload_abort(struct store *st, struct store_upload *up)
{
	if (up != NULL)
		st->ops->upload_abort(up);
}

void
store_upload_drop(struct store *st, struct store_upload *up)
{
	if (up != NULL)
		st->ops->upload_drop(up);
}

void
store_attr_init(struct store_attr *a)
{
	memset(a, 0, sizeof(*a));
}

void
store_attr_clear(struct store_attr *a)
{
	for (unsigned i = 0; i < a->nxattrs; i++) {
		free(a->xattrs[i].name);
		free(a->xattrs[i].value);
	}
	free(a->xattrs);
	store_attr_init(a);
}

static int
store_xattrs_copy(struct store_attr *dst, const struct store_attr *src)
{
	dst->xattrs = NULL;
	dst->nxattrs = 0;
	for (unsigned i = 0; i < src->nxattrs; i++) {
		int rc = store_xattr_set(dst, src->xattrs[i].name,
		    src->xattrs[i].value, src->xattrs[i].len);

		if (rc != 0)
			return rc;
	}
	return 0;
}

int
store_attr_copy(struct store_attr *dst, const struct store_attr *src)
{
	int rc;

	*dst = *src;
	if ((rc = store_xattrs_copy(dst, src)) != 0)
		store_attr_clear(dst);
	return rc;
}

/* Overwrite dst's fields with those src has; size is left alone. */
int
store_attr_merge(struct store_attr *dst, const struct store_attr *src)
{
	if (src->has & STORE_ATTR_MODE)
		dst->mode = src->mode;
	if (src->has & STORE_ATTR_UID)
		dst->uid = src->uid;
	if (src->has & STORE_ATTR_GID)
		dst->gid = src->gid;
	if (src->has & STORE_ATTR_RDEV)
		dst->rdev = src->rdev;
	if (src->has & STORE_ATTR_MTIME)
		dst->mtime = src->mtime;
	if (src->has & STORE_ATTR_ATIME)
		dst->atime = src->atime;
	if (src->has & STORE_ATTR_CTIME)
		dst->ctime = src->ctime;
	dst->has |= src->has;
	if (src->has & STORE_ATTR_XATTRS) {
		struct store_attr tmp = { 0 };
		int rc = store_xattrs_copy(&tmp, src);

		if (rc != 0) {
			store_attr_clear(&tmp);
			return rc;
		}
		for (unsigned i = 0; i < dst->nxattrs; i++) {
			free(dst->xattrs[i].name);
			free(dst->xattrs[i].value);
		}
		free(dst->xattrs);
		dst->xattrs = tmp.xattrs;
		dst->nxattrs = tmp.nxattrs;
	}
	return 0;
}

const struct store_xattr *
store_xattr_find(const struct store_attr *a, const char *name)
{
	for (unsigned i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, name) == 0)
			return &a->xattrs[i];
	return NULL;
}

int
store_xattr_set(struct store_attr *a, const char *name, const void *value,
    size_t len)
{
	struct store_xattr *x = (struct store_xattr *)store_xattr_find(a, name);
	void *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, value, len);
	if (x == NULL) {
		struct store_xattr *v = reallocarray(a->xattrs, a->nxattrs + 1,
		    sizeof(*v));
		char *n = strdup(name);

		if (v == NULL || n == NULL) {
			free(n);
			free(copy);
			if (v != NULL)
				a->xattrs = v;
			return -ENOMEM;
		}
		a->xattrs = v;
		x = &a->xattrs[a->nxattrs++];
		x->name = n;
	} else
		free(x->value);
	x->value = copy;
	x->len = len;
	return 0;
}

int
store_xattr_remove(struct store_attr *a, const char *name)
{
	struct store_xattr *x = (struct store_xattr *)store_xattr_find(a, name);

	if (x == NULL)
		return -ENODATA;
	free(x->name);
	free(x->value);
	*x = a->xattrs[--a->nxattrs];
	return 0;
}

void
store_listing_clear(struct store_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i].name);
		store_attr_clear(&l->entries[i].attr);
	}
	free(l->entries);
	free(l->next);
	memset(l, 0, sizeof(*l));
}

int
store_listing_add(struct store_listing *l, const char *name, bool is_prefix,
    const struct store_attr *attr, bool has_attr)
{
	struct store_entry *e;

	/* Capacity: 16, then doubling whenever n reaches a power of two. */
	if (l->n == 0 || (l->n >= 16 && (l->n & (l->n - 1)) == 0)) {
		struct store_entry *v = reallocarray(l->entries,
		    l->n == 0 ? 16 : l->n * 2, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->entries = v;
	}
	e = &l->entries[l->n];
	memset(e, 0, sizeof(*e));
	if ((e->name = strdup(name)) == NULL)
		return -ENOMEM;
	if (attr != NULL && store_attr_copy(&e->attr, attr) != 0) {
		free(e->name);
		return -ENOMEM;
	}
	e->is_prefix = is_prefix;
	e->has_attr = has_attr;
	l->n++;
	return 0;
}

/*
 * The part of iov after its first skip bytes, into tail (at most max
 * entries, the first shortened): to resume a short read or write.
 */
unsigned
store_iov_after(const struct iovec *iov, unsigned iovcnt, size_t skip,
    struct iovec *tail, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < iovcnt && n < max; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		tail[n].iov_base = (char *)iov[i].iov_base + skip;
		tail[n++].iov_len = iov[i].iov_len - skip;
		skip = 0;
	}
	return n;
}

size_t
store_iov_total(const struct iovec *iov, unsigned iovcnt)
{
	size_t total = 0;

	for (unsigned i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

/*
 * The whole of iov from fd at off (reads stop at the end of the file),
 * or to it; a short transfer resumes from where it stopped (at most 64
 * entries at a time after that).
 */
static int
store_fd_io(int fd, bool write, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *done)
{
	size_t want = store_iov_total(iov, iovcnt);
	struct iovec rest[64];

	*done = 0;
	while (*done < want) {
		unsigned n = *done == 0 ? (iovcnt < 1024 ? iovcnt : 1024) :
		    store_iov_after(iov, iovcnt, *done, rest, 64);
		const struct iovec *v = *done == 0 ? iov : rest;
		off_t at = (off_t)(off + *done);
		ssize_t r = write ? pwritev(fd, v, (int)n, at) :
		    preadv(fd, v, (int)n, at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return write ? -EIO : 0;	/* end of file */
		*done += (size_t)r;
	}
	return 0;
}

int
store_fd_read(int fd, uint64_t off, const struct iovec *iov, unsigned iovcnt,
    size_t *got)
{
	return store_fd_io(fd, false, off, iov, iovcnt, got);
}

int
store_fd_write(int fd, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *written)
{
	return store_fd_io(fd, true, off, iov, iovcnt, written);
}
