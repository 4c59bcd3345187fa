/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ring lifecycle and the per-ring thread that drains it on each kick.
 *
 * A ring runs while it has a kick fd, a size, addresses and is enabled.
 * Starting translates the ring addresses against the current guest memory
 * and spawns the thread; stopping joins the thread and waits until every
 * element it popped has been pushed, so nothing touches guest memory after
 * vu_queue_stop() returns.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "vu_internal.h"

/* Notify the driver at least this often while a long batch is drained. */
#define VU_NOTIFY_BATCH	64
#define VU_NOTIFY_US	200

int
vu_queue_init(struct vu_queue *q, struct vu_dev *dev, unsigned index)
{
	int rc;

	memset(q, 0, sizeof(*q));
	q->dev = dev;
	q->index = index;
	q->kick_fd = -1;
	if ((rc = vq_init(&q->vq, index)) != 0)
		return rc;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd == -1) {
		rc = -errno;
		vq_destroy(&q->vq);
		return rc;
	}
	return 0;
}

void
vu_queue_fini(struct vu_queue *q)
{
	vu_queue_reset(q);
	vq_destroy(&q->vq);
	close(q->stop_fd);
}

static bool
vu_queue_should_run(const struct vu_queue *q)
{
	return q->kick_fd != -1 && q->enabled && q->num != 0 && q->addr_set;
}

static int
vu_queue_translate(struct vu_queue *q, uint16_t num, void **desc,
    void **avail, void **used)
{
	struct vq_ring_sizes sz;

	vq_ring_sizes(num, &sz);
	*desc = gm_uva_to_host(&q->dev->mem, q->desc_uva, sz.desc);
	*avail = gm_uva_to_host(&q->dev->mem, q->avail_uva, sz.avail);
	*used = gm_uva_to_host(&q->dev->mem, q->used_uva, sz.used);
	if (*desc == NULL || *avail == NULL || *used == NULL) {
		log_warnx("queue %u: ring addresses are not inside guest "
		    "memory", q->index);
		return -EINVAL;
	}
	if (((uintptr_t)*desc & 15) != 0 || ((uintptr_t)*avail & 1) != 0 ||
	    ((uintptr_t)*used & 3) != 0) {
		log_warnx("queue %u: ring addresses are misaligned", q->index);
		return -EINVAL;
	}
	return 0;
}

/* SET_VRING_ADDR: the rings must lie in memory we have, now. */
int
vu_queue_check_ring(struct vu_queue *q)
{
	void *desc, *avail, *used;

	return vu_queue_translate(q, q->num != 0 ? q->num : 1, &desc, &avail,
	    &used);
}

static bool
vu_queue_kick_wait(struct vu_queue *q, bool *kick_dead)
{
	struct pollfd pfd[2] = {
		{ .fd = q->stop_fd, .events = POLLIN },
		{ .fd = q->kick_fd, .events = POLLIN },
	};
	uint64_t v;

	for (;;) {
		if (poll(pfd, *kick_dead ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("queue %u: poll", q->index);
			return false;
		}
		if (pfd[0].revents != 0)
			return false;
		if (pfd[1].revents & POLLIN) {
			ssize_t n = read(q->kick_fd, &v, sizeof(v));

			/*
			 * An eventfd reads 8 bytes of a count that is never
			 * 0; anything else (a file, /dev/zero, a closed
			 * pipe) would wake us forever.
			 */
			if ((n == sizeof(v) && v != 0) ||
			    (n < 0 && errno == EAGAIN))
				return true;
		}
		log_warnx("queue %u: kick fd is unusable; waiting for the "
		    "frontend to replace it", q->index);
		*kick_dead = true;
	}
}

/*
 * Completions are signalled once per batch, but a batch whose requests
 * are slow (a listing of a huge directory, a store round trip) must not
 * hold back the ones already done: signal also when time has passed.
 */
static void
vu_queue_drain(struct vu_queue *q)
{
	struct vu_dev *dev = q->dev;
	struct vq_elem *elem;
	unsigned batch = 0;
	int64_t signalled = monotime_us();
	int rc;

	for (;;) {
		rc = vq_pop(&q->vq, &dev->mem, &elem);
		if (rc == 1) {
			int64_t now;

			dev->ops->handle(dev->ctx, dev, q->index, &q->vq, elem);
			now = monotime_us();
			if (++batch % VU_NOTIFY_BATCH == 0 ||
			    now - signalled >= VU_NOTIFY_US) {
				vq_notify(&q->vq);
				signalled = now;
			}
			continue;
		}
		vq_notify(&q->vq);
		if (rc == 0 && vq_rearm(&q->vq))
			continue;
		/* Back-pressure: the guest waits, nothing is dropped. */
		if (rc == -EBUSY && vq_wait_room(&q->vq))
			continue;
		if (rc == -ENOMEM)
			log_warnx("queue %u: out of memory; retrying on the "
			    "next kick", q->index);
		return;
	}
}

static void *
vu_queue_thread(void *arg)
{
	struct vu_queue *q = arg;
	bool kick_dead = false;

	/* Buffers may already be waiting, e.g. after a reconnect. */
	vu_queue_drain(q);
	while (vu_queue_kick_wait(q, &kick_dead))
		vu_queue_drain(q);
	return NULL;
}

static void
vu_queue_start(struct vu_queue *q)
{
	struct vu_dev *dev = q->dev;
	void *desc, *avail, *used;
	bool event_idx = (dev->features >> VIRTIO_RING_F_EVENT_IDX) & 1;
	int rc;

	if (vu_queue_translate(q, q->num, &desc, &avail, &used) != 0)
		return;
	if ((rc = vq_attach(&q->vq, q->num, desc, avail, used, q->base,
	    event_idx)) != 0) {
		log_warnx("queue %u: cannot attach: %s", q->index,
		    strerror(-rc));
		return;
	}
	if (dev->ops->queue_start != NULL &&
	    (rc = dev->ops->queue_start(dev->ctx, dev, q->index,
	    &q->vq)) != 0) {
		log_warnx("queue %u: device refused to start: %s", q->index,
		    strerror(-rc));
		return;
	}
	if ((rc = pthread_create(&q->thread, NULL, vu_queue_thread, q)) != 0) {
		log_warnx("queue %u: cannot start a thread: %s", q->index,
		    strerror(rc));
		if (dev->ops->queue_stop != NULL)
			dev->ops->queue_stop(dev->ctx, dev, q->index);
		return;
	}
	q->running = true;
	log_info("queue %u started (size %u, next available %u)", q->index,
	    q->num, q->base);
}

void
vu_queue_stop(struct vu_queue *q)
{
	struct vu_dev *dev = q->dev;
	uint64_t v;

	if (!q->running)
		return;
	vq_cancel_wait(&q->vq, true);
	(void)eventfd_write(q->stop_fd, 1);
	pthread_join(q->thread, NULL);
	(void)eventfd_read(q->stop_fd, &v);
	vq_cancel_wait(&q->vq, false);
	vq_wait_idle(&q->vq);
	if (dev->ops->queue_stop != NULL)
		dev->ops->queue_stop(dev->ctx, dev, q->index);
	q->base = q->vq.last_avail;
	q->running = false;
	log_info("queue %u stopped (next available %u)", q->index, q->base);
}

void
vu_queue_refresh(struct vu_queue *q)
{
	bool want = vu_queue_should_run(q);

	if (want && !q->running)
		vu_queue_start(q);
	else if (!want && q->running)
		vu_queue_stop(q);
}

/* Close the kick and call fds, and the error fd with `err`. */
void
vu_queue_close_fds(struct vu_queue *q, bool err)
{
	int fd;

	if (q->kick_fd != -1)
		close(q->kick_fd);
	q->kick_fd = -1;
	if ((fd = vq_swap_call_fd(&q->vq, -1)) != -1)
		close(fd);
	if (err && (fd = vq_swap_err_fd(&q->vq, -1)) != -1)
		close(fd);
}

/* Back to the state of a fresh connection. */
void
vu_queue_reset(struct vu_queue *q)
{
	vu_queue_stop(q);
	vu_queue_close_fds(q, true);
	vq_detach(&q->vq);
	q->num = 0;
	q->base = 0;
	q->addr_set = false;
	q->enabled = false;
	q->desc_uva = q->avail_uva = q->used_uva = 0;
}
