/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-connection device state: guest memory, rings, negotiated features.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vu_internal.h"

int
vu_dev_init(struct vu_dev *dev, unsigned nqueues,
    const struct vu_device_ops *ops, void *ctx)
{
	int rc;

	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->ctx = ctx;
	dev->conn_fd = -1;
	dev->backend_fd = -1;
	if (pthread_mutex_init(&dev->backend_lock, NULL) != 0)
		return -ENOMEM;
	if ((rc = gm_init(&dev->mem, VU_MAX_MEM_SLOTS)) != 0)
		goto fail_mutex;
	dev->queues = calloc(nqueues, sizeof(*dev->queues));
	if (dev->queues == NULL) {
		rc = -ENOMEM;
		goto fail_mem;
	}
	for (; dev->nqueues < nqueues; dev->nqueues++) {
		rc = vu_queue_init(&dev->queues[dev->nqueues], dev,
		    dev->nqueues);
		if (rc != 0)
			goto fail_queues;
	}
	return 0;
fail_queues:
	while (dev->nqueues > 0)
		vu_queue_fini(&dev->queues[--dev->nqueues]);
	free(dev->queues);
fail_mem:
	gm_destroy(&dev->mem);
fail_mutex:
	pthread_mutex_destroy(&dev->backend_lock);
	return rc;
}

void
vu_dev_fini(struct vu_dev *dev)
{
	vu_dev_disconnect(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vu_queue_fini(&dev->queues[i]);
	free(dev->queues);
	gm_destroy(&dev->mem);
	pthread_mutex_destroy(&dev->backend_lock);
}

/* Stop every ring; afterwards nothing holds a pointer into guest memory. */
void
vu_dev_pause(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++)
		vu_queue_stop(&dev->queues[i]);
}

void
vu_dev_resume(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++)
		vu_queue_refresh(&dev->queues[i]);
}

void
vu_dev_reset_rings(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++)
		vu_queue_reset(&dev->queues[i]);
	if (dev->ops->reset != NULL)
		dev->ops->reset(dev->ctx, dev);
}

/* The frontend is gone: forget everything it set up. */
void
vu_dev_disconnect(struct vu_dev *dev)
{
	vu_dev_reset_rings(dev);
	gm_clear(&dev->mem);
	vu_backend_set_fd(dev, -1);
	dev->features = 0;
	__atomic_store_n(&dev->protocol_features, 0, __ATOMIC_RELEASE);
	dev->status = 0;
	memset(dev->logged, 0, sizeof(dev->logged));
}

uint64_t
vu_features(const struct vu_dev *dev)
{
	return dev->features;
}
