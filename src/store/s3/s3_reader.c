/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading S3 objects: a reader (one per open handle) that notices
 * sequential access and has chunks fetched ahead of it, several at a
 * time, in a window that grows while the access stays sequential.  Any
 * other read fetches exactly the bytes asked for (a small read never
 * pulls in a whole object), though it copies from a chunk another reader
 * had fetched when there is one.
 *
 * The chunks are the store's, shared by every reader of the object
 * (s3_racache.c).  When the cache has no room, or a chunk's fetch failed,
 * or a read would copy from chunks of two ETags, the read goes directly
 * to S3 for what is asked; a failed chunk is fetched again by the next
 * read of its range.
 *
 * A reader's state is guarded by the cache's lock, as the chunks are:
 * other readers of the object look at where it is (ra_trim).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

struct store_reader {
	struct s3_store			*s;
	struct s3_ra_obj		*obj;	/* a reference */
	TAILQ_ENTRY(store_reader)	 link;	/* in obj->readers */
	uint64_t			 next;	/* where sequential goes on */
	unsigned			 window; /* chunks to keep ahead */
	/*
	 * The size the opener saw: nothing is fetched ahead past it while
	 * the object's own is not known (a small object's first READ would
	 * otherwise also fetch the chunk after its end).
	 */
	uint64_t			 size_hint;
};

int
s3_reader_open(struct store *st, const char *key, uint64_t size,
    struct store_reader **rp)
{
	struct s3_store *s = (struct s3_store *)st;
	struct store_reader *r = calloc(1, sizeof(*r));
	char *full = NULL;
	int rc;

	if (r == NULL)
		return -ENOMEM;
	r->s = s;
	r->window = 1;
	r->size_hint = size;
	if ((rc = s3_full_key(s, key, &full)) == 0) {
		pthread_mutex_lock(&s->ra.lock);
		if ((r->obj = s3_ra_obj_get(s, full)) != NULL) {
			TAILQ_INSERT_TAIL(&r->obj->readers, r, link);
			s->ra.nreaders++;
		}
		pthread_mutex_unlock(&s->ra.lock);
		rc = r->obj != NULL ? 0 : -ENOMEM;
	}
	free(full);
	if (rc != 0) {
		free(r);
		return rc;
	}
	*rp = r;
	return 0;
}

/* The chunks stay with the cache; with the last reader, they go. */
void
s3_reader_close(struct store_reader *r)
{
	struct s3_store *s = r->s;

	pthread_mutex_lock(&s->ra.lock);
	TAILQ_REMOVE(&r->obj->readers, r, link);
	if (TAILQ_EMPTY(&r->obj->readers))
		s3_ra_drop_obj(s, r->obj);
	s3_ra_obj_put(s, r->obj);
	s3_ra_reader_gone(s);
	pthread_mutex_unlock(&s->ra.lock);
	free(r);
}

static bool
ra_busy(const struct s3_ra_chunk *c)
{
	return c->state == S3_RA_QUEUED || c->state == S3_RA_LOADING;
}

/* The chunk at coff and the window after it, as far as the object goes. */
static void
ra_prefetch(struct store_reader *r, uint64_t coff)
{
	unsigned busy = 0;

	for (unsigned i = 0; i <= r->window; i++) {
		uint64_t o = coff + (uint64_t)i * S3_RA_CHUNK;
		struct s3_ra_chunk *c;

		if (o >= r->obj->size || busy >= r->s->parallel ||
		    (i > 0 && r->obj->size == UINT64_MAX && o >= r->size_hint))
			break;
		if ((c = s3_ra_find(r->obj, o)) != NULL)
			busy += ra_busy(c);
		else if (s3_ra_start(r->s, r->obj, o) != 0)
			break;
		else
			busy++;
	}
}

/*
 * The chunk at coff, held; started when ahead.  It is held before the
 * window is fetched, so making room for those cannot evict it.
 */
static struct s3_ra_chunk *
ra_chunk(struct store_reader *r, uint64_t coff, bool ahead)
{
	struct s3_ra_chunk *c = s3_ra_find(r->obj, coff);

	if (c == NULL && ahead && s3_ra_start(r->s, r->obj, coff) == 0)
		c = s3_ra_find(r->obj, coff);
	if (c == NULL)
		return NULL;
	s3_ra_hold(r->s, c);
	if (ahead)
		ra_prefetch(r, coff);
	while (ra_busy(c))
		pthread_cond_wait(&r->s->ra.done, &r->s->ra.lock);
	return c;
}

static void
iov_put_at(const struct iovec *iov, unsigned iovcnt, size_t at,
    const char *src, size_t n)
{
	for (unsigned i = 0; i < iovcnt && n > 0; i++) {
		size_t c;

		if (at >= iov[i].iov_len) {
			at -= iov[i].iov_len;
			continue;
		}
		c = iov[i].iov_len - at < n ? iov[i].iov_len - at : n;
		memcpy((char *)iov[i].iov_base + at, src, c);
		src += c;
		n -= c;
		at = 0;
	}
}

/*
 * Copy what held chunk c has from in on, after *got, without the lock.
 * etag is the first chunk's, which every other must match.  1 at the end
 * of the object; -EAGAIN when c cannot serve this read.
 */
static int
ra_copy(struct store_reader *r, struct s3_ra_chunk *c, size_t in,
    const struct iovec *iov, unsigned iovcnt, size_t want, size_t *got,
    char *etag)
{
	size_t n;

	if (c->state == S3_RA_FAILED)
		return -EAGAIN;
	if (*got == 0)
		strlcpy(etag, c->info.etag, S3_ETAG_MAX);
	else if (strcmp(etag, c->info.etag) != 0) {
		/* Changed between two fetches: all of it again, from S3. */
		s3_ra_drop_obj(r->s, r->obj);
		*got = 0;
		return -EAGAIN;
	}
	if (c->info.size != UINT64_MAX && !c->dropped)
		r->obj->size = c->info.size;	/* for every reader */
	if (in >= c->got)
		return 1;
	n = c->got - in < want - *got ? c->got - in : want - *got;
	pthread_mutex_unlock(&r->s->ra.lock);
	iov_put_at(iov, iovcnt, *got, c->buf + in, n);
	pthread_mutex_lock(&r->s->ra.lock);
	*got += n;
	return 0;
}

/* From the cache, fetching ahead when asked; the lock is held. */
static int
ra_read_cached(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t want, size_t *got, bool ahead)
{
	char etag[S3_ETAG_MAX] = "";
	int rc = 0;

	while (rc == 0 && *got < want && off + *got < r->obj->size) {
		uint64_t pos = off + *got, coff = pos - pos % S3_RA_CHUNK;
		struct s3_ra_chunk *c;

		if ((c = ra_chunk(r, coff, ahead)) == NULL)
			return -EAGAIN;		/* no room: read directly */
		rc = ra_copy(r, c, (size_t)(pos - coff), iov, iovcnt, want,
		    got, etag);
		s3_ra_release(r->s, c);
	}
	return rc == 1 ? 0 : rc;
}

/* Random access, or no room: exactly what was asked, after *got. */
static int
ra_read_direct(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *got)
{
	struct iovec *rest = calloc(iovcnt, sizeof(*rest));
	size_t more = 0;
	unsigned n;
	int rc;

	if (rest == NULL)
		return -ENOMEM;
	n = store_iov_after(iov, iovcnt, *got, rest, iovcnt);
	rc = n == 0 ? 0 : s3_get_range(r->s, r->obj->key, off + *got, rest,
	    n, &more, NULL);
	*got += more;
	free(rest);
	return rc;
}

static bool
ra_sequential(const struct store_reader *r, uint64_t off)
{
	return off + S3_RA_CHUNK >= r->next &&
	    off <= r->next + (uint64_t)r->window * S3_RA_CHUNK;
}

/*
 * Chunks every reader of the object has left behind are done with.  One
 * chunk of slack: the kernel reads ahead with several requests at once,
 * and they finish in any order.
 */
static void
ra_trim(struct store_reader *r)
{
	struct store_reader *o;
	uint64_t low = UINT64_MAX;

	TAILQ_FOREACH(o, &r->obj->readers, link)
		if (o->next < low)
			low = o->next;
	if (low >= S3_RA_CHUNK)
		s3_ra_drop_below(r->s, r->obj, low - S3_RA_CHUNK);
}

/* Where the reader is now; past a chunk's end, the trim. */
static void
ra_moved(struct store_reader *r, uint64_t next)
{
	bool crossed = next / S3_RA_CHUNK != r->next / S3_RA_CHUNK;

	r->next = next;
	if (crossed)
		ra_trim(r);
}

int
s3_reader_read(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *got)
{
	pthread_mutex_t *lock = &r->s->ra.lock;
	size_t want = store_iov_total(iov, iovcnt);
	bool seq;
	int rc;

	*got = 0;
	pthread_mutex_lock(lock);
	if (!(seq = ra_sequential(r, off)))
		r->window = 1;
	rc = ra_read_cached(r, off, iov, iovcnt, want, got, seq);
	if (rc == 0 && seq)
		r->window = r->window * 2 < S3_RA_AHEAD ? r->window * 2 :
		    S3_RA_AHEAD;
	pthread_mutex_unlock(lock);
	if (rc == -EAGAIN)
		rc = ra_read_direct(r, off, iov, iovcnt, got);
	pthread_mutex_lock(lock);
	ra_moved(r, off + *got);
	pthread_mutex_unlock(lock);
	return rc;
}
