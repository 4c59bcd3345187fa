/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading S3 objects: a reader that notices sequential access and fetches
 * ranges ahead of it, several at a time, in a window that grows while the
 * access stays sequential.  Any other read fetches exactly the bytes asked
 * for: a small read never pulls in a whole object.
 *
 * All readers of the store share one budget of chunk memory and a cap
 * on fetches in flight (struct s3_store): past either, a reader reads
 * what is asked directly instead of ahead.  A chunk whose fetch failed
 * is dropped and the read retried directly, so one failed range does not
 * fail the handle for good.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

#define RA_CHUNK	(8 * (1u << 20))
#define RA_SLOTS	4		/* chunks held: up to 32 MiB a reader */

enum { RA_EMPTY, RA_LOADING, RA_READY };

struct ra_chunk {
	uint64_t	 off;
	char		*buf;
	size_t		 got;
	int		 state;
	int		 err;
};

struct store_reader {
	struct s3_store	*s;
	char		*key;		/* full key */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct ra_chunk	 ch[RA_SLOTS];
	unsigned	 loading;	/* fetches in flight */
	uint64_t	 size;		/* UINT64_MAX until a reply says */
	uint64_t	 next;		/* where a sequential reader goes on */
	unsigned	 window;	/* chunks to keep ahead */
};

struct ra_fetch {
	struct store_reader	*r;
	struct ra_chunk		*c;
};

/*
 * Take (positive) or give back chunk bytes and fetches from the store's
 * budget; false when taking would go past it.
 */
static bool
ra_account(struct s3_store *s, int64_t bytes, int fetches)
{
	bool ok;

	if (bytes < 0)
		membudget_give(s->budget, (size_t)-bytes);
	else if (bytes > 0 && !membudget_take(s->budget, (size_t)bytes))
		return false;
	pthread_mutex_lock(&s->ra_lock);
	ok = fetches <= 0 || s->ra_fetching < S3_RA_FETCH_MAX;
	if (ok)
		s->ra_fetching += (unsigned)fetches;
	pthread_mutex_unlock(&s->ra_lock);
	if (!ok && bytes > 0)
		membudget_give(s->budget, (size_t)bytes);
	return ok;
}

int
s3_reader_open(struct store *st, const char *key, struct store_reader **rp)
{
	struct store_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return -ENOMEM;
	r->s = (struct s3_store *)st;
	if ((rc = s3_full_key(r->s, key, &r->key)) != 0) {
		free(r);
		return rc;
	}
	r->size = UINT64_MAX;
	r->window = 1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	*rp = r;
	return 0;
}

void
s3_reader_close(struct store_reader *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->loading > 0)		/* fetches write into our chunks */
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < RA_SLOTS; i++) {
		if (r->ch[i].buf != NULL)
			ra_account(r->s, -(int64_t)RA_CHUNK, 0);
		free(r->ch[i].buf);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->key);
	free(r);
}

static void *
ra_fetch_thread(void *arg)
{
	struct ra_fetch *f = arg;
	struct store_reader *r = f->r;
	struct ra_chunk *c = f->c;
	struct iovec iov = { c->buf, RA_CHUNK };
	uint64_t total = UINT64_MAX;
	size_t got = 0;
	int rc;

	free(f);
	rc = s3_get_range(r->s, r->key, c->off, &iov, 1, &got, &total);
	pthread_mutex_lock(&r->lock);
	c->got = got;
	c->err = rc;
	c->state = RA_READY;
	if (total != UINT64_MAX)
		r->size = total;
	r->loading--;
	ra_account(r->s, 0, -1);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static struct ra_chunk *
ra_find(struct store_reader *r, uint64_t off)
{
	for (unsigned i = 0; i < RA_SLOTS; i++)
		if (r->ch[i].state != RA_EMPTY && r->ch[i].off == off)
			return &r->ch[i];
	return NULL;
}

/* Start fetching the chunk at off into a free slot. */
static void
ra_start(struct store_reader *r, uint64_t off)
{
	struct ra_fetch *f;
	struct ra_chunk *c = NULL;
	pthread_t t;

	for (unsigned i = 0; i < RA_SLOTS && c == NULL; i++)
		if (r->ch[i].state == RA_EMPTY)
			c = &r->ch[i];
	if (c == NULL || !ra_account(r->s, 0, 1))
		return;
	if (c->buf == NULL && ra_account(r->s, RA_CHUNK, 0) &&
	    (c->buf = malloc(RA_CHUNK)) == NULL)
		ra_account(r->s, -(int64_t)RA_CHUNK, 0);
	if (c->buf == NULL || (f = malloc(sizeof(*f))) == NULL) {
		ra_account(r->s, 0, -1);
		return;
	}
	*f = (struct ra_fetch){ r, c };
	c->off = off;
	c->state = RA_LOADING;
	c->got = 0;
	c->err = 0;
	r->loading++;
	if (pthread_create(&t, NULL, ra_fetch_thread, f) != 0) {
		free(f);
		c->state = RA_EMPTY;
		r->loading--;
		ra_account(r->s, 0, -1);
		return;
	}
	pthread_detach(t);
}

/* The chunk at off and the window after it, as far as the object goes. */
static void
ra_prefetch(struct store_reader *r, uint64_t off)
{
	for (unsigned i = 0; i <= r->window; i++) {
		uint64_t o = off + (uint64_t)i * RA_CHUNK;

		if (o >= r->size || r->loading >= r->s->parallel)
			break;
		if (ra_find(r, o) == NULL)
			ra_start(r, o);
	}
}

/*
 * Chunks behind pos are done with.  One chunk of slack: the kernel reads
 * ahead with several requests at once, and they finish in any order.
 */
static void
ra_evict(struct store_reader *r, uint64_t pos)
{
	for (unsigned i = 0; i < RA_SLOTS; i++) {
		struct ra_chunk *c = &r->ch[i];

		/* The buffer stays for the next chunk: fresh pages cost. */
		if (c->state == RA_READY && c->off + 2 * RA_CHUNK <= pos)
			c->state = RA_EMPTY;
	}
}

static bool
ra_sequential(const struct store_reader *r, uint64_t off)
{
	return ra_find((struct store_reader *)r, off & ~(uint64_t)(RA_CHUNK - 1))
	    != NULL || (off + RA_CHUNK >= r->next &&
	    off <= r->next + (uint64_t)r->window * RA_CHUNK);
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

/* Copy from the chunk cache; the lock is held. */
static int
ra_read_cached(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t want, size_t *got)
{
	while (*got < want && off + *got < r->size) {
		uint64_t pos = off + *got, coff = pos & ~(uint64_t)(RA_CHUNK - 1);
		struct ra_chunk *c;
		size_t in, n;

		/*
		 * Other readers of this handle run meanwhile: after a wait
		 * the slot may have been evicted and reused, so look again.
		 */
		for (;;) {
			ra_prefetch(r, coff);
			if ((c = ra_find(r, coff)) == NULL)
				return -EAGAIN;	/* no slot: read directly */
			if (c->state != RA_LOADING)
				break;
			pthread_cond_wait(&r->cond, &r->lock);
		}
		if (c->err != 0) {
			c->state = RA_EMPTY;	/* fetched again next time */
			return -EAGAIN;		/* this read goes direct */
		}
		in = (size_t)(pos - coff);
		if (in >= c->got)
			break;			/* the end of the object */
		n = c->got - in < want - *got ? c->got - in : want - *got;
		iov_put_at(iov, iovcnt, *got, c->buf + in, n);
		*got += n;
		ra_evict(r, pos + n);
	}
	return 0;
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
	rc = n == 0 ? 0 : s3_get_range(r->s, r->key, off + *got, rest, n,
	    &more, NULL);
	*got += more;
	free(rest);
	return rc;
}

int
s3_reader_read(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *got)
{
	size_t want = store_iov_total(iov, iovcnt);
	int rc = -EAGAIN;

	*got = 0;
	pthread_mutex_lock(&r->lock);
	if (ra_sequential(r, off)) {
		rc = ra_read_cached(r, off, iov, iovcnt, want, got);
		if (rc == 0)
			r->window = r->window * 2 < RA_SLOTS - 1 ?
			    r->window * 2 : RA_SLOTS - 1;
	} else
		r->window = 1;
	pthread_mutex_unlock(&r->lock);
	if (rc == -EAGAIN)
		rc = ra_read_direct(r, off, iov, iovcnt, got);
	pthread_mutex_lock(&r->lock);
	r->next = off + *got;
	pthread_mutex_unlock(&r->lock);
	return rc;
}
