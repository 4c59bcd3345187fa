/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs device: one FUSE request per descriptor chain.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "membudget.h"
#include "objfs.h"
#include "virtiofs.h"
#include "workpool.h"

static uint32_t
virtiofs_serve(struct virtiofs *vfs, struct vq_elem *elem)
{
	return (uint32_t)fsrv_handle(vfs->srv, elem->rd, elem->nrd, elem->wr,
	    elem->nwr);
}

/*
 * Workers finish in any order, and none can tell whether another is about
 * to: each signals its own completion.  With EVENT_IDX that costs nothing
 * until the driver asks again, so a busy guest still sees one signal per
 * batch it consumes.
 */
static void
virtiofs_work(void *arg, void *job)
{
	struct virtiofs_queue *q = arg;

	vq_complete(q->vq, job, virtiofs_serve(q->vfs, job), true);
}

static int
virtiofs_queue_start(void *ctx, struct vu_dev *dev, unsigned qidx,
    struct vq *vq)
{
	struct virtiofs *vfs = ctx;
	struct virtiofs_queue *q = &vfs->queues[qidx];
	int rc;

	memset(q, 0, sizeof(*q));
	q->vfs = vfs;
	q->vq = vq;
	/* FORGETs are quick and take no reply: the hiprio queue stays inline. */
	if (qidx == 0 || vfs->pool_size == 0)
		return 0;
	if ((rc = workpool_new(vfs->pool_size, virtiofs_work, q,
	    &q->pool)) != 0)
		log_warnx("queue %u: no worker threads (%s): serving requests "
		    "on the queue's thread", qidx, strerror(-rc));
	return 0;
}

static void
virtiofs_queue_stop(void *ctx, struct vu_dev *dev, unsigned qidx)
{
	struct virtiofs *vfs = ctx;

	fsrv_wake(vfs->srv);
	workpool_free(vfs->queues[qidx].pool);
	vfs->queues[qidx].pool = NULL;
}

static void
virtiofs_handle(void *ctx, struct vu_dev *dev, unsigned qidx, struct vq *vq,
    struct vq_elem *elem)
{
	struct virtiofs *vfs = ctx;
	struct virtiofs_queue *q = &vfs->queues[qidx];

	if (q->pool != NULL && workpool_submit(q->pool, elem) == 0)
		return;
	vq_push(vq, elem, virtiofs_serve(vfs, elem));
}

/* The frontend went away or reset the device: nothing staged is lost. */
static void
virtiofs_reset(void *ctx, struct vu_dev *dev)
{
	struct virtiofs *vfs = ctx;

	fsrv_sync(vfs->srv);
}

static void
virtiofs_report(void *ctx)
{
	struct virtiofs *vfs = ctx;

	if (vfs->fs != NULL)
		log_info("objfs: %zu inodes", objfs_inode_count(vfs->fs));
	if (vfs->budget != NULL)
		log_info("memory: %llu of %llu KiB of the cache budget in use",
		    (unsigned long long)membudget_used(vfs->budget) / 1024,
		    (unsigned long long)membudget_limit(vfs->budget) / 1024);
	if (vfs->store != NULL)
		store_report(vfs->store);
}

const struct vu_device_ops virtiofs_ops = {
	.name = "virtio-fs",
	.queue_start = virtiofs_queue_start,
	.queue_stop = virtiofs_queue_stop,
	.handle = virtiofs_handle,
	.reset = virtiofs_reset,
	.report = virtiofs_report,
};
