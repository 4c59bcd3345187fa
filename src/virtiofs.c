/*
 * virtio-fs device: one FUSE request per descriptor chain.
 */
#include "config.h"

#include "log.h"
#include "virtiofs.h"

static void
virtiofs_handle(void *ctx, struct vu_dev *dev, unsigned qidx, struct vq *vq,
    struct vq_elem *elem)
{
	struct virtiofs *vfs = ctx;
	size_t written;

	written = fsrv_handle(vfs->srv, elem->rd, elem->nrd, elem->wr,
	    elem->nwr);
	vq_push(vq, elem, (uint32_t)written);
}

/* The frontend went away or reset the device: nothing staged is lost. */
static void
virtiofs_reset(void *ctx, struct vu_dev *dev)
{
	struct virtiofs *vfs = ctx;

	fsrv_sync(vfs->srv);
}

const struct vu_device_ops virtiofs_ops = {
	.name = "virtio-fs",
	.handle = virtiofs_handle,
	.reset = virtiofs_reset,
};
