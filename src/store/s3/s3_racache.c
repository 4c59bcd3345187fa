/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's read-ahead cache: chunks of S3_RA_CHUNK bytes, keyed by
 * object (its full key) and offset, shared by every reader of the object,
 * and the fixed pool of threads that fetches them.  Forty handles reading
 * one object download each chunk once.  Which chunks to fetch is the
 * readers' business (s3_reader.c); this file keeps them.
 *
 * Ownership: chunks belong to the cache, never to a reader.  An object
 * is here while a reader has it open or a chunk of it lives; a chunk holds
 * a reference on its object, and a reader holds one on a chunk while it
 * waits for it or copies out of it.  A chunk is freed once it is out of
 * its object's tree (dropped), nobody holds it and no worker writes into
 * it, so a reader may close while its chunks are still loading.
 *
 * Memory: a chunk's buffer is S3_RA_CHUNK bytes of the budget for as long
 * as the chunk lives.  When the budget refuses a new chunk, the least
 * recently used chunks that are loaded and held by nobody are evicted
 * until it agrees (the last one's buffer is reused); when none is left,
 * no fetch starts and the reader reads directly.  A loaded chunk stays
 * until it is evicted, until every reader of its object is two chunks
 * past it, or until the last reader of its object closes: then all its
 * chunks go.  Not longer: the budget is shared with directory listings,
 * which cannot evict chunks, and chunks of a file nobody has open would
 * only crowd them out; and a file opened after all its handles closed is
 * read as S3 has it now, even after another client changed it.
 *
 * Stale data: every write through the store to a key (put, multipart
 * upload, copy onto it, set_attr, which copies it onto itself, remove)
 * drops the key's chunks when it returns, whether it succeeded or not (a
 * request that timed out may still have been carried out).  A dropped
 * chunk still loading is freed once loaded, read only by readers that
 * were waiting for it before the write returned.  So a read that starts
 * after a write never sees bytes from before it.  Each chunk keeps the
 * ETag and size its reply carried, and one read never copies from chunks
 * of two ETags (s3_reader.c): the object changed behind objfsd's back.
 *
 * Fetches: at most S3_RA_FETCH_MAX chunks are queued or loading at once;
 * up to S3_RA_WORKERS threads, started as the queue needs them and joined
 * at close, take them first come first.  A failed fetch (5xx, timeout)
 * drops its chunk: readers waiting on it read directly, and the next read
 * of the range fetches it again.  Close cancels what is queued and waits
 * for what is loading.
 *
 * Locking: ra.lock guards all of it, and the readers' state; bytes are
 * copied out of a held chunk without it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

static int
ra_chunk_cmp(const struct s3_ra_chunk *a, const struct s3_ra_chunk *b)
{
	return a->off < b->off ? -1 : a->off > b->off;
}

static int
ra_obj_cmp(const struct s3_ra_obj *a, const struct s3_ra_obj *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_LOCAL(s3_ra_chunks, s3_ra_chunk, entry, ra_chunk_cmp)
RB_GENERATE_LOCAL(s3_ra_objs, s3_ra_obj, entry, ra_obj_cmp)

void
s3_ra_init(struct s3_store *s)
{
	struct s3_ra *ra = &s->ra;

	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->work, NULL);
	pthread_cond_init(&ra->done, NULL);
	RB_INIT(&ra->objs);
	TAILQ_INIT(&ra->queue);
	TAILQ_INIT(&ra->lru);
}

/* The object of fullkey with a new reference; NULL without memory. */
struct s3_ra_obj *
s3_ra_obj_get(struct s3_store *s, const char *fullkey)
{
	struct s3_ra_obj find = { .key = (char *)fullkey }, *o;

	if ((o = RB_FIND(s3_ra_objs, &s->ra.objs, &find)) != NULL) {
		o->refs++;
		return o;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	if ((o->key = strdup(fullkey)) == NULL) {
		free(o);
		return NULL;
	}
	RB_INIT(&o->chunks);
	o->size = UINT64_MAX;
	TAILQ_INIT(&o->readers);
	o->refs = 1;
	RB_INSERT(s3_ra_objs, &s->ra.objs, o);
	return o;
}

void
s3_ra_obj_put(struct s3_store *s, struct s3_ra_obj *o)
{
	if (--o->refs > 0)
		return;
	RB_REMOVE(s3_ra_objs, &s->ra.objs, o);
	free(o->key);
	free(o);
}

/* A chunk's buffer back: a spare while readers may want more. */
static void
ra_buf_put(struct s3_store *s, char *buf)
{
	struct s3_ra *ra = &s->ra;

	if (ra->nreaders > 0 && ra->nspare < S3_RA_SPARE && !ra->stopping) {
		ra->spare[ra->nspare++] = buf;
		return;
	}
	membudget_give(s->budget, S3_RA_CHUNK);
	free(buf);
}

/* The last reader closed: the spares go back to the budget. */
void
s3_ra_reader_gone(struct s3_store *s)
{
	struct s3_ra *ra = &s->ra;

	if (--ra->nreaders > 0)
		return;
	while (ra->nspare > 0) {
		membudget_give(s->budget, S3_RA_CHUNK);
		free(ra->spare[--ra->nspare]);
	}
}

/* Free c if nothing needs it any more. */
static void
ra_chunk_gc(struct s3_store *s, struct s3_ra_chunk *c)
{
	if (!c->dropped || c->refs > 0 || c->state == S3_RA_LOADING)
		return;
	if (c->buf != NULL)
		ra_buf_put(s, c->buf);
	s3_ra_obj_put(s, c->obj);
	free(c);
}

static void
ra_unlist(struct s3_ra *ra, struct s3_ra_chunk *c)
{
	if (!c->listed)
		return;
	if (c->state == S3_RA_QUEUED) {
		TAILQ_REMOVE(&ra->queue, c, link);
		ra->nqueued--;
	} else
		TAILQ_REMOVE(&ra->lru, c, link);
	c->listed = false;
}

/* Out of the cache: nobody finds c again; it goes when let go. */
static void
ra_drop(struct s3_store *s, struct s3_ra_chunk *c)
{
	struct s3_ra *ra = &s->ra;

	if (!c->dropped) {
		ra_unlist(ra, c);
		RB_REMOVE(s3_ra_chunks, &c->obj->chunks, c);
		c->dropped = true;
	}
	if (c->state == S3_RA_QUEUED) {
		c->state = S3_RA_FAILED;	/* never fetched */
		ra->fetching--;
		pthread_cond_broadcast(&ra->done);
	}
	ra_chunk_gc(s, c);
}

void
s3_ra_drop_obj(struct s3_store *s, struct s3_ra_obj *o)
{
	struct s3_ra_chunk *c, *next;

	o->refs++;		/* the last chunk must not free o under us */
	RB_FOREACH_SAFE(c, s3_ra_chunks, &o->chunks, next)
		ra_drop(s, c);
	o->size = UINT64_MAX;	/* it may have changed too */
	s3_ra_obj_put(s, o);
}

/* Loaded chunks nobody holds that end at or before off. */
void
s3_ra_drop_below(struct s3_store *s, struct s3_ra_obj *o, uint64_t off)
{
	struct s3_ra_chunk *c, *next;

	o->refs++;
	for (c = RB_MIN(s3_ra_chunks, &o->chunks); c != NULL &&
	    c->off + S3_RA_CHUNK <= off; c = next) {
		next = RB_NEXT(s3_ra_chunks, &o->chunks, c);
		if (c->state == S3_RA_READY && c->refs == 0)
			ra_drop(s, c);
	}
	s3_ra_obj_put(s, o);
}

void
s3_ra_invalidate(struct s3_store *s, const char *fullkey)
{
	struct s3_ra_obj find = { .key = (char *)fullkey }, *o;

	pthread_mutex_lock(&s->ra.lock);
	if ((o = RB_FIND(s3_ra_objs, &s->ra.objs, &find)) != NULL)
		s3_ra_drop_obj(s, o);
	pthread_mutex_unlock(&s->ra.lock);
}

struct s3_ra_chunk *
s3_ra_find(struct s3_ra_obj *o, uint64_t off)
{
	struct s3_ra_chunk find = { .off = off };

	return RB_FIND(s3_ra_chunks, &o->chunks, &find);
}

void
s3_ra_hold(struct s3_store *s, struct s3_ra_chunk *c)
{
	if (c->state == S3_RA_READY)
		ra_unlist(&s->ra, c);
	c->refs++;
}

void
s3_ra_release(struct s3_store *s, struct s3_ra_chunk *c)
{
	if (--c->refs > 0)
		return;
	if (c->dropped)
		ra_chunk_gc(s, c);
	else if (c->state == S3_RA_READY) {
		TAILQ_INSERT_TAIL(&s->ra.lru, c, link);
		c->listed = true;
	}
}

/*
 * A chunk's buffer, taken from the budget; when it refuses, least
 * recently used chunks give theirs back until it agrees.
 */
static char *
ra_buffer(struct s3_store *s)
{
	struct s3_ra_chunk *lru;
	char *spare = NULL;

	if (s->ra.nspare > 0)
		return s->ra.spare[--s->ra.nspare];	/* counted already */
	while (!membudget_take(s->budget, S3_RA_CHUNK)) {
		free(spare);
		if ((lru = TAILQ_FIRST(&s->ra.lru)) == NULL)
			return NULL;
		spare = lru->buf;	/* fresh pages cost: keep one */
		lru->buf = NULL;
		membudget_give(s->budget, S3_RA_CHUNK);
		ra_drop(s, lru);
	}
	if (spare == NULL && (spare = malloc(S3_RA_CHUNK)) == NULL)
		membudget_give(s->budget, S3_RA_CHUNK);
	return spare;
}

static void	*ra_worker(void *arg);

/* Enough workers for the queue and one more chunk; 0 when there are. */
static int
ra_spawn(struct s3_store *s)
{
	struct s3_ra *ra = &s->ra;

	if (ra->idle > ra->nqueued || ra->nworkers == S3_RA_WORKERS)
		return 0;
	if (pthread_create(&ra->workers[ra->nworkers], NULL, ra_worker,
	    s) == 0)
		ra->nworkers++;
	return ra->nworkers > 0 ? 0 : -EAGAIN;
}

/* Queue a fetch of o's chunk at off; -EAGAIN when there is no room. */
int
s3_ra_start(struct s3_store *s, struct s3_ra_obj *o, uint64_t off)
{
	struct s3_ra *ra = &s->ra;
	struct s3_ra_chunk *c;

	if (ra->stopping || ra->fetching >= S3_RA_FETCH_MAX ||
	    ra_spawn(s) != 0)
		return -EAGAIN;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if ((c->buf = ra_buffer(s)) == NULL) {
		free(c);
		return -EAGAIN;
	}
	c->obj = o;
	o->refs++;
	c->off = off;
	c->state = S3_RA_QUEUED;
	RB_INSERT(s3_ra_chunks, &o->chunks, c);
	TAILQ_INSERT_TAIL(&ra->queue, c, link);
	c->listed = true;
	ra->nqueued++;
	ra->fetching++;
	pthread_cond_signal(&ra->work);
	return 0;
}

/* Fetch c, the lock dropped meanwhile; c is LOADING, so it stays. */
static void
ra_fetch(struct s3_store *s, struct s3_ra_chunk *c)
{
	struct s3_ra *ra = &s->ra;
	struct iovec iov = { c->buf, S3_RA_CHUNK };
	struct s3_obj_info info;
	size_t got = 0;
	int rc;

	pthread_mutex_unlock(&ra->lock);
	rc = s3_get_range(s, c->obj->key, c->off, &iov, 1, &got, &info);
	pthread_mutex_lock(&ra->lock);
	c->got = got;
	c->info = info;
	c->state = rc == 0 ? S3_RA_READY : S3_RA_FAILED;
	ra->fetching--;
	if (rc != 0 || c->dropped)
		ra_drop(s, c);	/* failed: the next read fetches it again */
	else if (c->refs == 0) {
		TAILQ_INSERT_TAIL(&ra->lru, c, link);
		c->listed = true;
	}
	pthread_cond_broadcast(&ra->done);
}

static void *
ra_worker(void *arg)
{
	struct s3_store *s = arg;
	struct s3_ra *ra = &s->ra;
	struct s3_ra_chunk *c;

	pthread_mutex_lock(&ra->lock);
	while (!ra->stopping) {
		if ((c = TAILQ_FIRST(&ra->queue)) == NULL) {
			ra->idle++;
			pthread_cond_wait(&ra->work, &ra->lock);
			ra->idle--;
			continue;
		}
		ra_unlist(ra, c);
		c->state = S3_RA_LOADING;
		ra_fetch(s, c);
	}
	pthread_mutex_unlock(&ra->lock);
	return NULL;
}

/* Stop the workers (the queue is cancelled) and give everything back. */
void
s3_ra_fini(struct s3_store *s)
{
	struct s3_ra *ra = &s->ra;
	struct s3_ra_obj *o, *next;

	pthread_mutex_lock(&ra->lock);
	ra->stopping = true;
	pthread_cond_broadcast(&ra->work);
	pthread_mutex_unlock(&ra->lock);
	for (unsigned i = 0; i < ra->nworkers; i++)
		pthread_join(ra->workers[i], NULL);
	pthread_mutex_lock(&ra->lock);
	RB_FOREACH_SAFE(o, s3_ra_objs, &ra->objs, next) {
		if (!TAILQ_EMPTY(&o->readers))
			log_warnx("s3: %s still open at close", o->key);
		s3_ra_drop_obj(s, o);
	}
	while (ra->nspare > 0) {
		membudget_give(s->budget, S3_RA_CHUNK);
		free(ra->spare[--ra->nspare]);
	}
	pthread_mutex_unlock(&ra->lock);
	pthread_cond_destroy(&ra->done);
	pthread_cond_destroy(&ra->work);
	pthread_mutex_destroy(&ra->lock);
}
