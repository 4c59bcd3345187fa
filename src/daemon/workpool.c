/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker threads over a FIFO of jobs.  See workpool.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "workpool.h"

struct workpool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* jobs queued, or stopping */
	void		**ring;		/* FIFO, cap a power of two */
	size_t		 cap;
	size_t		 head;		/* next job to run */
	size_t		 n;		/* jobs queued */
	unsigned	 idle;		/* threads waiting for work */
	bool		 stopping;
	workpool_fn	*fn;
	void		*arg;
	pthread_t	*threads;
	unsigned	 nthreads;
};

static void *
workpool_thread(void *p)
{
	struct workpool *pool = p;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		void *job;

		while (pool->n == 0 && !pool->stopping) {
			pool->idle++;
			pthread_cond_wait(&pool->work, &pool->lock);
			pool->idle--;
		}
		if (pool->n == 0)
			break;		/* stopping, and nothing left */
		job = pool->ring[pool->head];
		pool->head = (pool->head + 1) & (pool->cap - 1);
		pool->n--;
		pthread_mutex_unlock(&pool->lock);
		pool->fn(pool->arg, job);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* Lock held: room for one more job. */
static int
workpool_grow(struct workpool *pool)
{
	size_t cap = pool->cap * 2;
	void **ring;

	if ((ring = calloc(cap, sizeof(*ring))) == NULL)
		return -ENOMEM;
	/* Unwrap the FIFO into the start of the new ring. */
	for (size_t i = 0; i < pool->n; i++)
		ring[i] = pool->ring[(pool->head + i) & (pool->cap - 1)];
	free(pool->ring);
	pool->ring = ring;
	pool->cap = cap;
	pool->head = 0;
	return 0;
}

int
workpool_submit(struct workpool *pool, void *job)
{
	int rc = 0;

	pthread_mutex_lock(&pool->lock);
	if (pool->n == pool->cap)
		rc = workpool_grow(pool);
	if (rc == 0) {
		pool->ring[(pool->head + pool->n) & (pool->cap - 1)] = job;
		pool->n++;
		/* A busy pool picks the job up without a wake-up. */
		if (pool->idle > 0)
			pthread_cond_signal(&pool->work);
	}
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

int
workpool_new(unsigned nthreads, workpool_fn *fn, void *arg,
    struct workpool **poolp)
{
	struct workpool *pool;
	sigset_t all, old;
	int rc;

	if (nthreads == 0 || (pool = calloc(1, sizeof(*pool))) == NULL)
		return nthreads == 0 ? -EINVAL : -ENOMEM;
	pool->fn = fn;
	pool->arg = arg;
	pool->cap = 64;
	pool->ring = calloc(pool->cap, sizeof(*pool->ring));
	pool->threads = calloc(nthreads, sizeof(*pool->threads));
	if (pool->ring == NULL || pool->threads == NULL) {
		free(pool->ring);
		free(pool->threads);
		free(pool);
		return -ENOMEM;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	/* Signals are for the main thread's signalfd, never for workers. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; pool->nthreads < nthreads; pool->nthreads++) {
		rc = pthread_create(&pool->threads[pool->nthreads], NULL,
		    workpool_thread, pool);
		if (rc != 0) {
			log_warnx("cannot start worker thread: %s",
			    strerror(rc));
			if (pool->nthreads == 0) {
				pthread_sigmask(SIG_SETMASK, &old, NULL);
				workpool_free(pool);
				return -rc;
			}
			break;		/* fewer workers still work */
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*poolp = pool;
	return 0;
}

void
workpool_free(struct workpool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool->ring);
	free(pool);
}
