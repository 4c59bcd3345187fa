/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user backend internals shared by vu_*.c.
 *
 * Threads and who writes what:
 *   server thread  the one in vu_server_run(): reads the socket, runs
 *                  every handler of vu_dispatch.c, and is the only
 *                  writer of struct vu_dev and struct vu_queue.
 *   ring threads   one per started queue (vu_queue.c): read their queue's
 *                  kick_fd, stop_fd, index and vq, and dev->mem through
 *                  the vq's translated pointers.
 * A field a ring thread reads is changed only after vu_queue_stop() has
 * joined that thread (SET_VRING_KICK, _ADDR, _NUM, _BASE), or after
 * vu_dev_pause() has joined them all (SET_MEM_TABLE, ADD/REM_MEM_REG,
 * SET_FEATURES; RESET_DEVICE stops each ring in turn).  Exceptions:
 *   vq's call fd        swapped under vq->lock (vq_swap_call_fd);
 *   backend_fd          guarded by backend_lock, since any ring thread
 *                       (a device's worker) may send on it;
 *   protocol_features   atomic: vu_backend_send() reads it from ring
 *                       threads and the frontend may ack at any time.
 */
#ifndef OBJFSD_VU_INTERNAL_H
#define OBJFSD_VU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guestmem.h"
#include "vhost_user.h"
#include "virtq.h"
#include "vu_proto.h"

/* One message as read off the socket, with the fds that came with it. */
struct vu_msg {
	struct vu_header hdr;
	union {
		uint64_t		 u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr	 addr;
		struct vu_mem_table	 mem;
		struct vu_single_region	 region;
		uint8_t			 raw[VU_MAX_PAYLOAD];
	} payload;
	int		fds[VU_MAX_FDS];
	unsigned	nfds;
};

struct vu_reply {
	uint32_t	size;
	union {
		uint64_t		 u64;
		struct vhost_vring_state state;
	} payload;
};

struct vu_queue {
	struct vq	 vq;
	struct vu_dev	*dev;
	unsigned	 index;
	uint16_t	 num;		/* 0 until SET_VRING_NUM */
	uint16_t	 base;
	bool		 addr_set;
	uint64_t	 desc_uva;
	uint64_t	 avail_uva;
	uint64_t	 used_uva;
	int		 kick_fd;	/* -1 until SET_VRING_KICK */
	bool		 enabled;
	bool		 running;	/* thread alive, device told */
	pthread_t	 thread;
	int		 stop_fd;
};

struct vu_dev {
	const struct vu_device_ops *ops;
	void		*ctx;
	struct guestmem	 mem;
	struct vu_queue	*queues;
	unsigned	 nqueues;
	uint64_t	 features;		/* acked by SET_FEATURES */
	uint64_t	 protocol_features;	/* acked; atomic */
	uint8_t		 status;
	int		 conn_fd;
	pthread_mutex_t	 backend_lock;		/* guards backend_fd */
	int		 backend_fd;
	uint64_t	 logged[(VU_REQUEST_MAX + 1 + 63) / 64];
};

/* vu_socket.c */
int	vu_msg_read(int fd, struct vu_msg *msg);
int	vu_msg_write(int fd, uint32_t request, uint32_t flags,
	    const void *payload, uint32_t size, const int *fds, unsigned nfds);
void	vu_msg_close_fds(struct vu_msg *msg);
int	vu_wait_fd(int fd, short events, int timeout_ms);

/* vu_dispatch.c */
int	vu_dispatch(struct vu_dev *dev, struct vu_msg *msg);
uint64_t vu_offered_features(const struct vu_dev *dev);
uint64_t vu_offered_protocol_features(void);
bool	vu_has_protocol_feature(const struct vu_dev *dev, unsigned bit);

/* vu_dev.c */
int	vu_dev_init(struct vu_dev *dev, unsigned nqueues,
	    const struct vu_device_ops *ops, void *ctx);
void	vu_dev_fini(struct vu_dev *dev);
void	vu_dev_disconnect(struct vu_dev *dev);
void	vu_dev_reset_rings(struct vu_dev *dev);
void	vu_dev_pause(struct vu_dev *dev);
void	vu_dev_resume(struct vu_dev *dev);

/* vu_queue.c */
int	vu_queue_init(struct vu_queue *q, struct vu_dev *dev, unsigned index);
void	vu_queue_fini(struct vu_queue *q);
int	vu_queue_check_ring(struct vu_queue *q);
void	vu_queue_refresh(struct vu_queue *q);
void	vu_queue_stop(struct vu_queue *q);
void	vu_queue_reset(struct vu_queue *q);
void	vu_queue_close_fds(struct vu_queue *q, bool err);

/* vu_backend.c */
void	vu_backend_set_fd(struct vu_dev *dev, int fd);

#endif
