/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user backend: the transport between a frontend (QEMU) and a device.
 *
 * The transport owns the socket, guest memory and the rings; it knows
 * nothing of what the device does with the requests.  A device implements
 * struct vu_device_ops and receives each descriptor chain the guest makes
 * available.
 *
 * Threading: the server runs the vhost-user socket on the thread that
 * calls vu_server_run(); every started ring has a thread of its own that
 * drains it on each kick and calls ops->handle().  Before guest memory or a
 * ring changes, the transport stops the affected ring threads and waits
 * until every element they popped has been pushed back.
 */
#ifndef OBJFSD_VHOST_USER_H
#define OBJFSD_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

struct vu_dev;
struct vu_server;

struct vu_device_ops {
	const char	*name;
	uint64_t	 features;	/* device-specific virtio features */

	/*
	 * A ring starts or stops, on the main thread.  Both optional.  When
	 * queue_stop is called every element of the ring has been pushed.
	 */
	int	(*queue_start)(void *ctx, struct vu_dev *dev, unsigned qidx,
		    struct vq *vq);
	void	(*queue_stop)(void *ctx, struct vu_dev *dev, unsigned qidx);

	/*
	 * One chain, on the ring's thread.  The device owns elem until it
	 * calls vq_push() on it, exactly once, now or from another thread;
	 * the ring thread calls vq_notify() after each batch, a device that
	 * pushes later calls it itself.
	 */
	void	(*handle)(void *ctx, struct vu_dev *dev, unsigned qidx,
		    struct vq *vq, struct vq_elem *elem);

	/* All rings are stopped; drop per-connection state.  Optional. */
	void	(*reset)(void *ctx, struct vu_dev *dev);

	/* SIGUSR1 asked for a report (counters) in the log.  Optional. */
	void	(*report)(void *ctx);
};

struct vu_options {
	const char	*socket_path;	/* listen here, or */
	int		 fd;		/* use this inherited socket (-1: none) */
	unsigned	 nqueues;	/* rings, the hiprio queue included */
};

#define VU_MAX_QUEUES		256
#define VU_MAX_MEM_SLOTS	509

int	vu_server_open(const struct vu_options *opts,
	    const struct vu_device_ops *ops, void *ctx,
	    struct vu_server **serverp);
void	vu_server_disown_socket(struct vu_server *server);
int	vu_server_run(struct vu_server *server);
void	vu_server_close(struct vu_server *server);

/*
 * Send a request on the backend channel and, when REPLY_ACK was
 * negotiated, wait (bounded) for the frontend's answer.  0 on success,
 * -ENOTCONN without a channel, -ETIMEDOUT, -EPIPE, or -EIO when the
 * frontend answered failure.
 */
int	vu_backend_send(struct vu_dev *dev, uint32_t request,
	    const void *payload, uint32_t size, const int *fds, unsigned nfds);

uint64_t vu_features(const struct vu_dev *dev);

#endif
