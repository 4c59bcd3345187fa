/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Batches of independent requests side by side (the HEADs of a
 * READDIRPLUS page): a fixed pool of threads, started on first use and
 * joined at close, instead of threads made and joined for every batch.
 * Threads made per batch cost a clone and a stack each, and the
 * allocator gives each new thread an arena that keeps what it freed: a
 * soak's memory crept up with them.
 *
 * The caller works on its own batch too, so a batch never waits for pool
 * threads busy with another one; it only goes slower.  A batch offers
 * `width - 1` tickets; a pool thread takes one, runs items until none is
 * left and gives it back.  When the caller runs out of items it withdraws
 * the tickets nobody took and waits for those taken.
 *
 * Locking: pool.lock over the queue, tickets and helper counts; items
 * are handed out with an atomic counter.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

struct s3_batch {
	s3_batch_fn		*fn;
	void			*arg;
	size_t			 n;
	size_t			 next;		/* atomic: the next item */
	unsigned		 tickets;	/* offered, not taken */
	unsigned		 helpers;	/* taken, not given back */
	pthread_cond_t		 idle;		/* helpers reached 0 */
	TAILQ_ENTRY(s3_batch)	 entry;		/* while tickets > 0 */
};

static void
batch_items(struct s3_batch *b)
{
	size_t i;

	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n)
		b->fn(b->arg, i);
}

static void *
batch_worker(void *arg)
{
	struct s3_batch_pool *p = arg;
	struct s3_batch *b;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		b = TAILQ_FIRST(&p->queue);
		if (--b->tickets == 0)
			TAILQ_REMOVE(&p->queue, b, entry);
		b->helpers++;
		pthread_mutex_unlock(&p->lock);
		batch_items(b);
		pthread_mutex_lock(&p->lock);
		if (--b->helpers == 0)
			pthread_cond_signal(&b->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void
s3_batch_pool_init(struct s3_batch_pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	TAILQ_INIT(&p->queue);
}

void
s3_batch_pool_free(struct s3_batch_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	while (p->nthreads > 0)
		pthread_join(p->threads[--p->nthreads], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}

/* Under p->lock: the threads a batch of width may use, made once. */
static void
batch_pool_grow(struct s3_batch_pool *p, unsigned width)
{
	int rc;

	while (p->nthreads + 1 < width && p->nthreads < S3_BATCH_THREADS) {
		rc = pthread_create(&p->threads[p->nthreads], NULL,
		    batch_worker, p);
		if (rc != 0) {
			/* Fewer threads only mean less speed. */
			if (!p->warned)
				log_warnx("s3: no thread for parallel "
				    "requests (%s): fewer in flight",
				    strerror(rc));
			p->warned = true;
			return;
		}
		p->nthreads++;
	}
}

/*
 * fn(arg, i) for every i below n, up to width of them at once (this
 * thread one of them); returns when all are done.
 */
void
s3_batch_run(struct s3_batch_pool *p, s3_batch_fn *fn, void *arg, size_t n,
    unsigned width)
{
	struct s3_batch b = { .fn = fn, .arg = arg, .n = n };

	if (width > n)
		width = (unsigned)n;
	if (width > 1) {
		pthread_cond_init(&b.idle, NULL);
		pthread_mutex_lock(&p->lock);
		batch_pool_grow(p, width);
		b.tickets = width - 1 < p->nthreads ? width - 1 : p->nthreads;
		if (b.tickets > 0) {
			TAILQ_INSERT_TAIL(&p->queue, &b, entry);
			pthread_cond_broadcast(&p->work);
		}
		pthread_mutex_unlock(&p->lock);
	}
	batch_items(&b);
	if (width <= 1)
		return;
	pthread_mutex_lock(&p->lock);
	if (b.tickets > 0)
		TAILQ_REMOVE(&p->queue, &b, entry);
	b.tickets = 0;
	while (b.helpers > 0)
		pthread_cond_wait(&b.idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&b.idle);
}
