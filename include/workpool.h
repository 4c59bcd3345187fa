/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed set of worker threads draining a FIFO of jobs.
 *
 * A request queue hands each descriptor chain to its pool so that a slow
 * store call (an S3 round trip, an fsync) holds up one worker, not the
 * queue.  Jobs run in parallel and finish in any order.  Each pool has its
 * own lock: pools of different queues share nothing.
 */
#ifndef OBJFSD_WORKPOOL_H
#define OBJFSD_WORKPOOL_H

#include <stdbool.h>

struct workpool;

/* Runs job on a worker. */
typedef void workpool_fn(void *arg, void *job);

int	workpool_new(unsigned nthreads, workpool_fn *fn, void *arg,
	    struct workpool **poolp);
/* Queue job; -ENOMEM when it cannot (the caller runs it itself). */
int	workpool_submit(struct workpool *pool, void *job);
/* Wait until every queued job has run, then stop the threads. */
void	workpool_free(struct workpool *pool);

#endif
