/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user request table and handlers.
 *
 * Every request has a row: its name, the payload size it may have, the fds
 * it may carry, where its ring index is, and what it answers.  vu_dispatch()
 * checks all of that before a handler runs, so handlers only act.  Requests
 * objfsd does not implement are in the table without a handler: they are
 * logged once and answered with failure when the frontend asks for a reply.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vu_internal.h"

enum size_rule { SZ_EXACT, SZ_UPTO };
enum fd_rule { FD_NONE, FD_ONE, FD_UPTO_ONE, FD_VRING, FD_TABLE };
enum queue_rule { Q_NONE, Q_STATE, Q_FILE };
enum reply_rule { R_NONE, R_U64, R_STATE };

typedef int vu_handler(struct vu_dev *, struct vu_msg *, struct vu_queue *,
    struct vu_reply *);

struct vu_rule {
	const char	*name;
	uint32_t	 size;
	uint8_t		 size_rule;	/* enum size_rule */
	uint8_t		 fds;		/* enum fd_rule */
	uint8_t		 queue;		/* enum queue_rule */
	uint8_t		 reply;		/* enum reply_rule */
	vu_handler	*handler;
};

static vu_handler vu_get_features, vu_set_features, vu_set_owner,
    vu_reset_owner, vu_set_mem_table, vu_set_vring_num, vu_set_vring_addr,
    vu_set_vring_base, vu_get_vring_base, vu_set_vring_kick,
    vu_set_vring_call, vu_set_vring_err, vu_get_protocol_features,
    vu_set_protocol_features, vu_get_queue_num, vu_set_vring_enable,
    vu_set_backend_req_fd, vu_reset_device, vu_get_max_mem_slots,
    vu_add_mem_reg, vu_rem_mem_reg, vu_set_status, vu_get_status;

/*
 * A row names what a request may carry; zero fields are the strict
 * defaults (exact size, no fd, no queue index, no reply payload).  A row
 * without a handler is a request objfsd knows and does not implement.
 */
#define VU_REQ(req, ...)	[VU_##req] = { .name = #req, __VA_ARGS__ }

#define U64	sizeof(uint64_t)
#define STATE	sizeof(struct vhost_vring_state)
#define ADDR	sizeof(struct vhost_vring_addr)
#define REGION	sizeof(struct vu_single_region)

static const struct vu_rule vu_rules[VU_REQUEST_MAX] = {
	VU_REQ(GET_FEATURES, .size = U64, .size_rule = SZ_UPTO, .reply = R_U64,
	    .handler = vu_get_features),
	VU_REQ(SET_FEATURES, .size = U64, .handler = vu_set_features),
	VU_REQ(SET_OWNER, .size = U64, .size_rule = SZ_UPTO,
	    .handler = vu_set_owner),
	VU_REQ(RESET_OWNER, .size = U64, .size_rule = SZ_UPTO,
	    .handler = vu_reset_owner),
	VU_REQ(SET_MEM_TABLE, .size = sizeof(struct vu_mem_table),
	    .size_rule = SZ_UPTO, .fds = FD_TABLE, .handler = vu_set_mem_table),
	VU_REQ(SET_LOG_BASE),
	VU_REQ(SET_LOG_FD),
	VU_REQ(SET_VRING_NUM, .size = STATE, .queue = Q_STATE,
	    .handler = vu_set_vring_num),
	VU_REQ(SET_VRING_ADDR, .size = ADDR, .queue = Q_STATE,
	    .handler = vu_set_vring_addr),
	VU_REQ(SET_VRING_BASE, .size = STATE, .queue = Q_STATE,
	    .handler = vu_set_vring_base),
	VU_REQ(GET_VRING_BASE, .size = STATE, .queue = Q_STATE,
	    .reply = R_STATE, .handler = vu_get_vring_base),
	VU_REQ(SET_VRING_KICK, .size = U64, .fds = FD_VRING, .queue = Q_FILE,
	    .handler = vu_set_vring_kick),
	VU_REQ(SET_VRING_CALL, .size = U64, .fds = FD_VRING, .queue = Q_FILE,
	    .handler = vu_set_vring_call),
	VU_REQ(SET_VRING_ERR, .size = U64, .fds = FD_VRING, .queue = Q_FILE,
	    .handler = vu_set_vring_err),
	VU_REQ(GET_PROTOCOL_FEATURES, .size = U64, .size_rule = SZ_UPTO,
	    .reply = R_U64, .handler = vu_get_protocol_features),
	VU_REQ(SET_PROTOCOL_FEATURES, .size = U64,
	    .handler = vu_set_protocol_features),
	VU_REQ(GET_QUEUE_NUM, .size = U64, .size_rule = SZ_UPTO,
	    .reply = R_U64, .handler = vu_get_queue_num),
	VU_REQ(SET_VRING_ENABLE, .size = STATE, .queue = Q_STATE,
	    .handler = vu_set_vring_enable),
	VU_REQ(SEND_RARP),
	VU_REQ(NET_SET_MTU),
	VU_REQ(SET_BACKEND_REQ_FD, .size = U64, .size_rule = SZ_UPTO,
	    .fds = FD_ONE, .handler = vu_set_backend_req_fd),
	VU_REQ(IOTLB_MSG),
	VU_REQ(SET_VRING_ENDIAN),
	VU_REQ(GET_CONFIG),
	VU_REQ(SET_CONFIG),
	VU_REQ(CREATE_CRYPTO_SESSION),
	VU_REQ(CLOSE_CRYPTO_SESSION),
	VU_REQ(POSTCOPY_ADVISE),
	VU_REQ(POSTCOPY_LISTEN),
	VU_REQ(POSTCOPY_END),
	VU_REQ(GET_INFLIGHT_FD),
	VU_REQ(SET_INFLIGHT_FD),
	VU_REQ(GPU_SET_SOCKET),
	VU_REQ(RESET_DEVICE, .size = U64, .size_rule = SZ_UPTO,
	    .handler = vu_reset_device),
	VU_REQ(VRING_KICK),
	VU_REQ(GET_MAX_MEM_SLOTS, .size = U64, .size_rule = SZ_UPTO,
	    .reply = R_U64, .handler = vu_get_max_mem_slots),
	VU_REQ(ADD_MEM_REG, .size = REGION, .fds = FD_ONE,
	    .handler = vu_add_mem_reg),
	/* The spec lets a frontend send an fd here; it is closed unused. */
	VU_REQ(REM_MEM_REG, .size = REGION, .fds = FD_UPTO_ONE,
	    .handler = vu_rem_mem_reg),
	VU_REQ(SET_STATUS, .size = U64, .handler = vu_set_status),
	VU_REQ(GET_STATUS, .size = U64, .size_rule = SZ_UPTO, .reply = R_U64,
	    .handler = vu_get_status),
	VU_REQ(GET_SHARED_OBJECT),
	VU_REQ(SET_DEVICE_STATE_FD),
	VU_REQ(CHECK_DEVICE_STATE),
};

uint64_t
vu_offered_features(const struct vu_dev *dev)
{
	return (1ULL << VIRTIO_F_VERSION_1) |
	    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
	    (1ULL << VU_F_PROTOCOL_FEATURES) | dev->ops->features;
}

uint64_t
vu_offered_protocol_features(void)
{
	return (1ULL << VU_PROTOCOL_F_MQ) |
	    (1ULL << VU_PROTOCOL_F_REPLY_ACK) |
	    (1ULL << VU_PROTOCOL_F_BACKEND_REQ) |
	    (1ULL << VU_PROTOCOL_F_BACKEND_SEND_FD) |
	    (1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	    (1ULL << VU_PROTOCOL_F_RESET_DEVICE) |
	    (1ULL << VU_PROTOCOL_F_STATUS);
}

bool
vu_has_protocol_feature(const struct vu_dev *dev, unsigned bit)
{
	return (__atomic_load_n(&dev->protocol_features, __ATOMIC_ACQUIRE) >>
	    bit) & 1;
}

/*
 * Log a misbehaving request only the first time per connection; all
 * unknown requests share the slot VU_REQUEST_MAX.
 */
static bool
vu_first_time(struct vu_dev *dev, uint32_t request)
{
	unsigned bit = request < VU_REQUEST_MAX ? request : VU_REQUEST_MAX;
	uint64_t mask = 1ULL << (bit % 64);

	if (dev->logged[bit / 64] & mask)
		return false;
	dev->logged[bit / 64] |= mask;
	return true;
}

static int
vu_check_size(const struct vu_rule *r, const struct vu_msg *msg)
{
	uint32_t size = msg->hdr.size;

	if ((r->size_rule == SZ_EXACT && size != r->size) ||
	    (r->size_rule == SZ_UPTO && size > r->size)) {
		log_warnx("%s with a %u-byte payload rejected (%s %u)",
		    r->name, size, r->size_rule == SZ_EXACT ? "needs" :
		    "at most", r->size);
		return -EINVAL;
	}
	return 0;
}

static int
vu_check_fds(const struct vu_rule *r, const struct vu_msg *msg)
{
	unsigned want_min = 0, want_max = 0;

	switch (r->fds) {
	case FD_ONE:
		want_min = want_max = 1;
		break;
	case FD_UPTO_ONE:
		want_max = 1;
		break;
	case FD_VRING:
		want_min = want_max = (msg->payload.u64 & VU_VRING_NOFD) ? 0 : 1;
		break;
	case FD_TABLE:
		want_max = VU_MAX_FDS;
		break;
	}
	if (msg->nfds < want_min || msg->nfds > want_max) {
		log_warnx("%s with %u fds rejected (%u to %u allowed)",
		    r->name, msg->nfds, want_min, want_max);
		return -EINVAL;
	}
	return 0;
}

static int
vu_find_queue(struct vu_dev *dev, const struct vu_rule *r,
    const struct vu_msg *msg, struct vu_queue **qp)
{
	uint64_t index;

	*qp = NULL;
	if (r->queue == Q_NONE)
		return 0;
	if (r->queue == Q_STATE)
		index = msg->payload.state.index;
	else {
		if (msg->payload.u64 & ~(uint64_t)(VU_VRING_IDX_MASK |
		    VU_VRING_NOFD)) {
			log_warnx("%s with unknown flags 0x%llx rejected",
			    r->name, (unsigned long long)msg->payload.u64);
			return -EINVAL;
		}
		index = msg->payload.u64 & VU_VRING_IDX_MASK;
	}
	if (index >= dev->nqueues) {
		log_warnx("%s for queue %llu rejected: %u queues", r->name,
		    (unsigned long long)index, dev->nqueues);
		return -EINVAL;
	}
	*qp = &dev->queues[index];
	return 0;
}

static int
vu_send_reply(struct vu_dev *dev, const struct vu_msg *msg,
    const void *payload, uint32_t size)
{
	int rc = vu_msg_write(dev->conn_fd, msg->hdr.request,
	    VU_VERSION | VU_FLAG_REPLY, payload, size, NULL, 0);

	if (rc != 0)
		log_warnx("cannot reply to the frontend: %s", strerror(-rc));
	return rc;
}

static int
vu_answer(struct vu_dev *dev, const struct vu_rule *r,
    const struct vu_msg *msg, int rc, const struct vu_reply *reply)
{
	uint64_t status;

	if (r != NULL && r->reply != R_NONE) {
		if (rc != 0) {
			log_warnx("%s failed and has no way to say so; "
			    "closing the connection", r->name);
			return -EPROTO;
		}
		return vu_send_reply(dev, msg, &reply->payload, reply->size);
	}
	if (!(msg->hdr.flags & VU_FLAG_NEED_REPLY))
		return 0;
	status = rc == 0 ? 0 : (uint64_t)-rc;
	return vu_send_reply(dev, msg, &status, sizeof(status));
}

/*
 * Check, run and answer one request.  A nonzero return means the
 * connection must be dropped.
 */
int
vu_dispatch(struct vu_dev *dev, struct vu_msg *msg)
{
	uint32_t req = msg->hdr.request;
	const struct vu_rule *r = req < VU_REQUEST_MAX &&
	    vu_rules[req].name != NULL ? &vu_rules[req] : NULL;
	struct vu_reply reply = { 0 };
	struct vu_queue *q = NULL;
	int rc;

	if (r == NULL) {
		if (vu_first_time(dev, VU_REQUEST_MAX))
			log_warnx("unknown vhost-user request %u", req);
		rc = -ENOSYS;
	} else if (r->handler == NULL) {
		if (vu_first_time(dev, req))
			log_warnx("vhost-user request %s is not supported",
			    r->name);
		rc = -ENOTSUP;
	} else {
		rc = vu_check_size(r, msg);
		if (rc == 0)
			rc = vu_check_fds(r, msg);
		if (rc == 0)
			rc = vu_find_queue(dev, r, msg, &q);
		if (rc == 0)
			rc = r->handler(dev, msg, q, &reply);
	}
	log_debug("vhost-user %s: %s", r != NULL ? r->name : "unknown",
	    rc == 0 ? "ok" : strerror(-rc));
	vu_msg_close_fds(msg);
	return vu_answer(dev, r, msg, rc, &reply);
}

/* Take ownership of fd i of the message. */
static int
vu_take_fd(struct vu_msg *msg, unsigned i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	return fd;
}

/*
 * A call or error fd, or -1.  It is written with vq->lock held: made
 * non-blocking, so a frontend that hands over a full pipe instead of an
 * eventfd cannot stall every thread that completes a request.
 */
static int
vu_take_notify_fd(struct vu_msg *msg)
{
	int fd;

	if (msg->nfds == 0)
		return -1;
	fd = vu_take_fd(msg, 0);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
vu_reply_u64(struct vu_reply *reply, uint64_t v)
{
	reply->size = sizeof(uint64_t);
	reply->payload.u64 = v;
}

static int
vu_get_features(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	vu_reply_u64(reply, vu_offered_features(dev));
	return 0;
}

static int
vu_set_features(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	uint64_t acked = msg->payload.u64, offered = vu_offered_features(dev);

	if (acked & ~offered) {
		log_warnx("frontend acked features 0x%llx that were not "
		    "offered", (unsigned long long)(acked & ~offered));
		return -EINVAL;
	}
	/* A running ring must pick up EVENT_IDX changes: restart it. */
	vu_dev_pause(dev);
	dev->features = acked;
	if (!((acked >> VU_F_PROTOCOL_FEATURES) & 1)) {
		for (unsigned i = 0; i < dev->nqueues; i++)
			dev->queues[i].enabled = true;
	}
	vu_dev_resume(dev);
	return 0;
}

static int
vu_set_owner(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	return 0;
}

/* Deprecated; the spec recommends reading it as "disable all rings". */
static int
vu_reset_owner(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		dev->queues[i].enabled = false;
		vu_queue_refresh(&dev->queues[i]);
	}
	return 0;
}

static void
vu_layout_from_wire(const struct vu_region *w, struct gm_layout *l)
{
	l->gpa = w->guest_phys_addr;
	l->size = w->memory_size;
	l->uva = w->userspace_addr;
	l->mmap_offset = w->mmap_offset;
}

static int
vu_set_mem_table(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	struct gm_layout layouts[VU_MEM_TABLE_MAX];
	uint32_t n;
	int rc;

	if (msg->hdr.size < 2 * sizeof(uint32_t))
		return -EINVAL;
	n = msg->payload.mem.nregions;
	if (n > VU_MEM_TABLE_MAX || msg->hdr.size != 2 * sizeof(uint32_t) +
	    n * sizeof(struct vu_region) || msg->nfds != n) {
		log_warnx("SET_MEM_TABLE with %u regions, %u bytes and %u fds "
		    "rejected", n, msg->hdr.size, msg->nfds);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++)
		vu_layout_from_wire(&msg->payload.mem.regions[i], &layouts[i]);
	vu_dev_pause(dev);
	rc = gm_set_table(&dev->mem, layouts, msg->fds, n);
	vu_dev_resume(dev);
	if (rc == 0)
		log_info("guest memory: %u regions", n);
	return rc;
}

static int
vu_add_mem_reg(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	struct gm_layout l;
	int rc;

	vu_layout_from_wire(&msg->payload.region.region, &l);
	vu_dev_pause(dev);
	rc = gm_add(&dev->mem, &l, msg->fds[0]);
	vu_dev_resume(dev);
	if (rc == 0)
		log_debug("guest memory: added 0x%llx+0x%llx",
		    (unsigned long long)l.gpa, (unsigned long long)l.size);
	return rc;
}

static int
vu_rem_mem_reg(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	struct gm_layout l;
	int rc;

	vu_layout_from_wire(&msg->payload.region.region, &l);
	vu_dev_pause(dev);
	rc = gm_remove(&dev->mem, &l);
	vu_dev_resume(dev);
	return rc;
}

static int
vu_get_max_mem_slots(struct vu_dev *dev, struct vu_msg *msg,
    struct vu_queue *q, struct vu_reply *reply)
{
	vu_reply_u64(reply, VU_MAX_MEM_SLOTS);
	return 0;
}

/* Ring geometry can only change while the ring is stopped. */
static int
vu_ring_idle(const struct vu_queue *q, const char *what)
{
	if (!q->running)
		return 0;
	log_warnx("%s for running queue %u rejected", what, q->index);
	return -EBUSY;
}

static int
vu_set_vring_num(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	uint32_t num = msg->payload.state.num;
	int rc;

	if ((rc = vu_ring_idle(q, "SET_VRING_NUM")) != 0)
		return rc;
	if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)) != 0) {
		log_warnx("queue %u: size %u is not a power of two up to %u",
		    q->index, num, VQ_MAX_SIZE);
		return -EINVAL;
	}
	q->num = (uint16_t)num;
	return 0;
}

static int
vu_set_vring_addr(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	const struct vhost_vring_addr *a = &msg->payload.addr;
	int rc;

	if ((rc = vu_ring_idle(q, "SET_VRING_ADDR")) != 0)
		return rc;
	if (a->flags & (1u << VHOST_VRING_F_LOG)) {
		log_warnx("queue %u: dirty logging is not supported", q->index);
		return -ENOTSUP;
	}
	q->desc_uva = a->desc_user_addr;
	q->avail_uva = a->avail_user_addr;
	q->used_uva = a->used_user_addr;
	q->addr_set = vu_queue_check_ring(q) == 0;
	if (!q->addr_set)
		return -EINVAL;
	vu_queue_refresh(q);
	return 0;
}

static int
vu_set_vring_base(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	int rc;

	if ((rc = vu_ring_idle(q, "SET_VRING_BASE")) != 0)
		return rc;
	if (msg->payload.state.num > UINT16_MAX)
		return -EINVAL;
	q->base = (uint16_t)msg->payload.state.num;
	return 0;
}

/* Stops the ring; it restarts only with a new kick fd. */
static int
vu_get_vring_base(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	vu_queue_stop(q);
	vu_queue_close_fds(q, false);
	reply->size = sizeof(reply->payload.state);
	reply->payload.state.index = q->index;
	reply->payload.state.num = q->base;
	return 0;
}

static int
vu_set_vring_kick(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	int fd = -1;

	if (msg->nfds == 1) {
		fd = vu_take_fd(msg, 0);
		/* The ring thread must never block on a read. */
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	} else if (vu_first_time(dev, VU_SET_VRING_KICK))
		log_warnx("queue %u: no kick fd; polled rings are not "
		    "supported, the ring stays stopped", q->index);
	vu_queue_stop(q);
	if (q->kick_fd != -1)
		close(q->kick_fd);
	q->kick_fd = fd;
	vu_queue_refresh(q);
	return 0;
}

static int
vu_set_vring_call(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	int old = vq_swap_call_fd(&q->vq, vu_take_notify_fd(msg));

	if (old != -1)
		close(old);
	return 0;
}

static int
vu_set_vring_err(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	int old = vq_swap_err_fd(&q->vq, vu_take_notify_fd(msg));

	if (old != -1)
		close(old);
	return 0;
}

static int
vu_get_protocol_features(struct vu_dev *dev, struct vu_msg *msg,
    struct vu_queue *q, struct vu_reply *reply)
{
	vu_reply_u64(reply, vu_offered_protocol_features());
	return 0;
}

static int
vu_set_protocol_features(struct vu_dev *dev, struct vu_msg *msg,
    struct vu_queue *q, struct vu_reply *reply)
{
	uint64_t acked = msg->payload.u64;
	uint64_t extra = acked & ~vu_offered_protocol_features();

	if (extra != 0) {
		log_warnx("frontend acked protocol features 0x%llx that were "
		    "not offered", (unsigned long long)extra);
		return -EINVAL;
	}
	/* Ring threads read it (vu_backend_send) while rings run. */
	__atomic_store_n(&dev->protocol_features, acked, __ATOMIC_RELEASE);
	return 0;
}

static int
vu_get_queue_num(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	vu_reply_u64(reply, dev->nqueues);
	return 0;
}

static int
vu_set_vring_enable(struct vu_dev *dev, struct vu_msg *msg,
    struct vu_queue *q, struct vu_reply *reply)
{
	if (msg->payload.state.num > 1)
		return -EINVAL;
	q->enabled = msg->payload.state.num == 1;
	vu_queue_refresh(q);
	return 0;
}

static int
vu_set_backend_req_fd(struct vu_dev *dev, struct vu_msg *msg,
    struct vu_queue *q, struct vu_reply *reply)
{
	vu_backend_set_fd(dev, vu_take_fd(msg, 0));
	return 0;
}

static int
vu_reset_device(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	vu_dev_reset_rings(dev);
	dev->status = 0;
	log_info("device reset by the frontend");
	return 0;
}

static int
vu_set_status(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	if (msg->payload.u64 > UINT8_MAX)
		return -EINVAL;
	dev->status = (uint8_t)msg->payload.u64;
	return 0;
}

static int
vu_get_status(struct vu_dev *dev, struct vu_msg *msg, struct vu_queue *q,
    struct vu_reply *reply)
{
	vu_reply_u64(reply, dev->status);
	return 0;
}
