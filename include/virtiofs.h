/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-fs device: the glue between the vhost-user transport and the
 * FUSE server.  Queue 0 is the high-priority queue (FORGET, BATCH_FORGET,
 * INTERRUPT); the others carry requests.  Each chain holds one FUSE
 * request in its readable part and the buffers for the reply after it.
 *
 * Requests are served on the queue's own thread, or with pool_size > 0 by
 * that many workers per request queue, completing in any order.
 */
#ifndef OBJFSD_VIRTIOFS_H
#define OBJFSD_VIRTIOFS_H

#include "fuse_server.h"
#include "vhost_user.h"

struct membudget;
struct objfs;
struct workpool;

struct virtiofs_queue {
	struct virtiofs	*vfs;
	struct vq	*vq;
	struct workpool	*pool;
};

struct virtiofs {
	struct fsrv		*srv;
	struct store		*store;		/* for reports only */
	struct objfs		*fs;		/* likewise */
	struct membudget	*budget;	/* likewise */
	unsigned		 pool_size;
	struct virtiofs_queue	 queues[VU_MAX_QUEUES];
};

extern const struct vu_device_ops virtiofs_ops;

#endif
