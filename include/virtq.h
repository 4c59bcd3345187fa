/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device side (virtio 1.2, 2.7).
 *
 * vq_pop() walks one descriptor chain the driver made available and turns
 * it into host iovecs pointing straight into mapped guest memory: first the
 * device-readable buffers, then the device-writable ones.  Everything the
 * guest wrote is checked before it is used; a chain that breaks a rule
 * marks the queue broken (logged once, the error eventfd signalled) and the
 * queue yields nothing more until the frontend sets it up again.
 *
 * Threading: one thread pops (the queue's own); any thread may push and
 * notify, those are serialised by vq->lock.  An element's iovecs stay valid
 * until it is pushed: the vhost-user layer waits for vq_wait_idle() before
 * it lets guest memory change.
 *
 * Bounded: at most num elements are in flight, whatever the guest
 * publishes (it may publish one head again and again without reading the
 * used ring); vq_pop() answers -EBUSY at the bound and the popping thread
 * waits in vq_wait_room() until a completion frees a slot.
 */
#ifndef OBJFSD_VIRTQ_H
#define OBJFSD_VIRTQ_H

#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guestmem.h"

#define VQ_MAX_SIZE		32768
/*
 * An indirect table may be longer than the ring: Linux sizes it by the
 * request (a 1 MiB FUSE write is 258 descriptors even on a 128-entry ring),
 * and QEMU accepts up to 1024.  Beyond max(ring size, this) it is hostile.
 */
#define VQ_INDIRECT_MIN_CAP	1024

struct vq_elem {
	uint16_t	 head;
	unsigned	 nrd;		/* device-readable iovecs */
	unsigned	 nwr;		/* device-writable iovecs */
	size_t		 rd_len;
	size_t		 wr_len;
	struct iovec	*rd;
	struct iovec	*wr;
	struct iovec	 iov[];
};

struct vq {
	unsigned		 index;
	uint16_t		 num;
	bool			 event_idx;
	bool			 broken;
	struct vring_desc	*desc;
	struct vring_avail	*avail;
	struct vring_used	*used;
	uint16_t		 last_avail;
	struct iovec		*scratch;
	unsigned		 scratch_len;

	pthread_mutex_t		 lock;	/* protects everything below */
	pthread_cond_t		 idle;	/* inflight reached 0 */
	pthread_cond_t		 room;	/* inflight fell below num */
	bool			 cancel_wait;
	uint16_t		 used_idx;
	uint16_t		 signalled_used;
	bool			 signalled_valid;
	bool			 pushed_since_notify;
	unsigned		 inflight;
	int			 call_fd;
	int			 err_fd;
};

struct vq_ring_sizes {
	size_t	desc;
	size_t	avail;
	size_t	used;
};

int	vq_init(struct vq *vq, unsigned index);
void	vq_destroy(struct vq *vq);

void	vq_ring_sizes(uint16_t num, struct vq_ring_sizes *sizes);
int	vq_attach(struct vq *vq, uint16_t num, void *desc, void *avail,
	    void *used, uint16_t base, bool event_idx);
void	vq_relocate(struct vq *vq, void *desc, void *avail, void *used);
void	vq_detach(struct vq *vq);
bool	vq_attached(const struct vq *vq);

int	vq_pop(struct vq *vq, const struct guestmem *gm,
	    struct vq_elem **elemp);
bool	vq_rearm(struct vq *vq);
void	vq_push(struct vq *vq, struct vq_elem *elem, uint32_t written);
void	vq_complete(struct vq *vq, struct vq_elem *elem, uint32_t written,
	    bool notify);
void	vq_notify(struct vq *vq);
void	vq_wait_idle(struct vq *vq);
bool	vq_wait_room(struct vq *vq);
void	vq_cancel_wait(struct vq *vq, bool cancel);

int	vq_swap_call_fd(struct vq *vq, int fd);
int	vq_swap_err_fd(struct vq *vq, int fd);

#endif
