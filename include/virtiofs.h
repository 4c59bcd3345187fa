/*
 * The virtio-fs device: the glue between the vhost-user transport and the
 * FUSE server.  Queue 0 is the high-priority queue (FORGET, BATCH_FORGET,
 * INTERRUPT); the others carry requests.  Each chain holds one FUSE
 * request in its readable part and the buffers for the reply after it.
 */
#ifndef OBJFSD_VIRTIOFS_H
#define OBJFSD_VIRTIOFS_H

#include "fuse_server.h"
#include "vhost_user.h"

struct virtiofs {
	struct fsrv	*srv;
};

extern const struct vu_device_ops virtiofs_ops;

#endif
