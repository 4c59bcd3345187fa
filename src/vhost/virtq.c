/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue: chain walking, used ring, notification suppression.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "virtq.h"

int
vq_init(struct vq *vq, unsigned index)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->call_fd = -1;
	vq->err_fd = -1;
	if (pthread_mutex_init(&vq->lock, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&vq->idle, NULL) != 0) {
		pthread_mutex_destroy(&vq->lock);
		return -ENOMEM;
	}
	if (pthread_cond_init(&vq->room, NULL) != 0) {
		pthread_cond_destroy(&vq->idle);
		pthread_mutex_destroy(&vq->lock);
		return -ENOMEM;
	}
	return 0;
}

void
vq_destroy(struct vq *vq)
{
	vq_detach(vq);
	if (vq->call_fd != -1)
		close(vq->call_fd);
	if (vq->err_fd != -1)
		close(vq->err_fd);
	vq->call_fd = vq->err_fd = -1;
	pthread_cond_destroy(&vq->room);
	pthread_cond_destroy(&vq->idle);
	pthread_mutex_destroy(&vq->lock);
}

/* The event fields (used_event, avail_event) are counted in always. */
void
vq_ring_sizes(uint16_t num, struct vq_ring_sizes *sizes)
{
	sizes->desc = sizeof(struct vring_desc) * (size_t)num;
	sizes->avail = sizeof(struct vring_avail) +
	    sizeof(uint16_t) * ((size_t)num + 1);
	sizes->used = sizeof(struct vring_used) +
	    sizeof(struct vring_used_elem) * (size_t)num + sizeof(uint16_t);
}

static unsigned
vq_indirect_cap(uint16_t num)
{
	return num > VQ_INDIRECT_MIN_CAP ? num : VQ_INDIRECT_MIN_CAP;
}

int
vq_attach(struct vq *vq, uint16_t num, void *desc, void *avail, void *used,
    uint16_t base, bool event_idx)
{
	unsigned need = (unsigned)num + vq_indirect_cap(num);

	if (num == 0 || (num & (num - 1)) != 0)
		return -EINVAL;
	if (vq->scratch_len < need) {
		struct iovec *s = reallocarray(vq->scratch, need,
		    sizeof(*s));

		if (s == NULL)
			return -ENOMEM;
		vq->scratch = s;
		vq->scratch_len = need;
	}
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = event_idx;
	vq->broken = false;
	vq->last_avail = base;
	pthread_mutex_lock(&vq->lock);
	/* Resume after what the driver has already seen completed. */
	vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx,
	    __ATOMIC_ACQUIRE));
	vq->signalled_valid = false;
	vq->pushed_since_notify = false;
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

/* Guest memory moved under a running ring: same ring, new host address. */
void
vq_relocate(struct vq *vq, void *desc, void *avail, void *used)
{
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
}

void
vq_detach(struct vq *vq)
{
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	free(vq->scratch);
	vq->scratch = NULL;
	vq->scratch_len = 0;
}

bool
vq_attached(const struct vq *vq)
{
	return vq->desc != NULL && vq->avail != NULL && vq->used != NULL;
}

static int
vq_break(struct vq *vq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
vq_break(struct vq *vq, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (vq->broken)
		return -EIO;
	vq->broken = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("queue %u: %s; the queue is stopped until the frontend "
	    "sets it up again", vq->index, why);
	pthread_mutex_lock(&vq->lock);
	if (vq->err_fd != -1)
		(void)eventfd_write(vq->err_fd, 1);
	pthread_mutex_unlock(&vq->lock);
	return -EIO;
}

/* One read of each field: the guest may rewrite the descriptor meanwhile. */
static void
vq_read_desc(const struct vring_desc *src, struct vring_desc *d)
{
	const volatile struct vring_desc *v = src;

	d->addr = le64toh(v->addr);
	d->len = le32toh(v->len);
	d->flags = le16toh(v->flags);
	d->next = le16toh(v->next);
}

struct chain_walk {
	struct vq		*vq;
	const struct guestmem	*gm;
	const struct vring_desc	*table;
	unsigned		 table_len;
	bool			 indirect;
	unsigned		 niov;
	unsigned		 nwr;
	uint64_t		 rd_len;
	uint64_t		 wr_len;
};

static int
vq_enter_indirect(struct chain_walk *w, const struct vring_desc *d)
{
	unsigned n;

	if (w->indirect)
		return vq_break(w->vq, "indirect descriptor inside an "
		    "indirect table");
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_break(w->vq, "indirect descriptor with NEXT set");
	if (d->len == 0 || d->len % sizeof(struct vring_desc) != 0)
		return vq_break(w->vq, "indirect table length %u is not a "
		    "multiple of %zu", d->len, sizeof(struct vring_desc));
	n = d->len / sizeof(struct vring_desc);
	if (n > vq_indirect_cap(w->vq->num))
		return vq_break(w->vq, "indirect table of %u descriptors is "
		    "too long", n);
	w->table = gm_gpa_to_host(w->gm, d->addr, d->len);
	if (w->table == NULL)
		return vq_break(w->vq, "indirect table at 0x%llx is outside "
		    "guest memory", (unsigned long long)d->addr);
	if (((uintptr_t)w->table & (_Alignof(struct vring_desc) - 1)) != 0)
		return vq_break(w->vq, "indirect table at 0x%llx is "
		    "misaligned", (unsigned long long)d->addr);
	w->table_len = n;
	w->indirect = true;
	return 0;
}

static int
vq_add_buffer(struct chain_walk *w, const struct vring_desc *d)
{
	bool writable = (d->flags & VRING_DESC_F_WRITE) != 0;
	void *host;

	if (!writable && w->nwr > 0)
		return vq_break(w->vq, "device-readable buffer after a "
		    "device-writable one");
	if (d->len == 0)
		return 0;
	host = gm_gpa_to_host(w->gm, d->addr, d->len);
	if (host == NULL)
		return vq_break(w->vq, "buffer 0x%llx+%u is not inside one "
		    "guest memory region", (unsigned long long)d->addr,
		    d->len);
	if (writable) {
		w->wr_len += d->len;
		w->nwr++;
	} else
		w->rd_len += d->len;
	if (w->rd_len > UINT32_MAX || w->wr_len > UINT32_MAX)
		return vq_break(w->vq, "chain longer than 4 GiB");
	w->vq->scratch[w->niov].iov_base = host;
	w->vq->scratch[w->niov].iov_len = d->len;
	w->niov++;
	return 0;
}

/*
 * Walk the chain from head into vq->scratch.  Direct descriptors are
 * bounded by the ring size, an indirect table by its own length: a longer
 * walk can only be a loop.
 */
static int
vq_walk(struct chain_walk *w, uint16_t head)
{
	unsigned i = head, steps = 0, limit = w->vq->num;
	struct vring_desc d;
	int rc;

	for (;;) {
		vq_read_desc(&w->table[i], &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if ((rc = vq_enter_indirect(w, &d)) != 0)
				return rc;
			i = 0;
			steps = 0;
			limit = w->table_len;
			continue;
		}
		if ((rc = vq_add_buffer(w, &d)) != 0)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= w->table_len)
			return vq_break(w->vq, "next index %u out of range", i);
		if (++steps >= limit)
			return vq_break(w->vq, "descriptor chain loops or is "
			    "longer than its table");
	}
}

static struct vq_elem *
vq_make_elem(const struct chain_walk *w, uint16_t head)
{
	struct vq_elem *e;
	unsigned nrd = w->niov - w->nwr;

	e = malloc(sizeof(*e) + (size_t)w->niov * sizeof(struct iovec));
	if (e == NULL)
		return NULL;
	e->head = head;
	e->nrd = nrd;
	e->nwr = w->nwr;
	e->rd_len = w->rd_len;
	e->wr_len = w->wr_len;
	e->rd = e->iov;
	e->wr = e->iov + nrd;
	memcpy(e->iov, w->vq->scratch, (size_t)w->niov * sizeof(struct iovec));
	return e;
}

static void
vq_set_avail_event(struct vq *vq, uint16_t idx)
{
	uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->num];

	__atomic_store_n(avail_event, htole16(idx), __ATOMIC_RELAXED);
}

/* A guest may publish one head again and again: never more than num. */
static bool
vq_full(struct vq *vq)
{
	bool full;

	pthread_mutex_lock(&vq->lock);
	full = vq->inflight >= vq->num;
	pthread_mutex_unlock(&vq->lock);
	return full;
}

/*
 * Returns 1 with *elemp set, 0 when nothing is available, -EBUSY when num
 * elements are in flight already (vq_wait_room), -EIO when the queue is
 * broken, -ENOMEM when the element cannot be allocated (the chain stays
 * available and is retried on the next kick).
 */
int
vq_pop(struct vq *vq, const struct guestmem *gm, struct vq_elem **elemp)
{
	struct chain_walk w = { .vq = vq, .gm = gm };
	uint16_t avail_idx, pending, head;
	int rc;

	*elemp = NULL;
	if (vq->broken)
		return -EIO;
	if (!vq_attached(vq))
		return 0;
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending > vq->num)
		return vq_break(vq, "available index moved by %u, more than "
		    "the ring size %u", pending, vq->num);
	if (pending == 0)
		return 0;
	if (vq_full(vq))
		return -EBUSY;
	head = le16toh(((volatile uint16_t *)vq->avail->ring)
	    [vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return vq_break(vq, "head index %u out of range", head);
	w.table = vq->desc;
	w.table_len = vq->num;
	if ((rc = vq_walk(&w, head)) != 0)
		return rc;
	if ((*elemp = vq_make_elem(&w, head)) == NULL)
		return -ENOMEM;
	vq->last_avail++;
	if (vq->event_idx)
		vq_set_avail_event(vq, vq->last_avail);
	pthread_mutex_lock(&vq->lock);
	vq->inflight++;
	pthread_mutex_unlock(&vq->lock);
	return 1;
}

/*
 * Called when vq_pop() found nothing: publish how far we have read so the
 * driver kicks for the next buffer, then look once more in case it added
 * one in between.  Returns true when there is more to pop.
 */
bool
vq_rearm(struct vq *vq)
{
	uint16_t avail_idx;

	if (vq->broken || !vq_attached(vq))
		return false;
	if (vq->event_idx)
		vq_set_avail_event(vq, vq->last_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	return avail_idx != vq->last_avail;
}

static bool vq_should_notify(struct vq *vq);

/* Lock held. */
static void
vq_notify_locked(struct vq *vq)
{
	if (vq_attached(vq) && vq->call_fd != -1 && vq_should_notify(vq))
		(void)eventfd_write(vq->call_fd, 1);
	vq->pushed_since_notify = false;
}

/*
 * The element is done.  With notify, the driver is signalled too, before
 * the element stops counting as in flight: vq_wait_idle() then also means
 * no thread is still reading the rings.
 */
void
vq_complete(struct vq *vq, struct vq_elem *elem, uint32_t written,
    bool notify)
{
	struct vring_used_elem *u;

	pthread_mutex_lock(&vq->lock);
	if (vq_attached(vq)) {
		u = &vq->used->ring[vq->used_idx & (vq->num - 1)];
		u->id = htole32(elem->head);
		u->len = htole32(written);
		vq->used_idx++;
		__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
		    __ATOMIC_RELEASE);
		vq->pushed_since_notify = true;
	}
	if (notify)
		vq_notify_locked(vq);
	if (--vq->inflight == 0)
		pthread_cond_broadcast(&vq->idle);
	if (vq->inflight + 1 == vq->num)
		pthread_cond_broadcast(&vq->room);
	pthread_mutex_unlock(&vq->lock);
	free(elem);
}

void
vq_push(struct vq *vq, struct vq_elem *elem, uint32_t written)
{
	vq_complete(vq, elem, written, false);
}

static bool
vq_should_notify(struct vq *vq)
{
	uint16_t old, new, used_event;
	bool valid;

	if (!vq->pushed_since_notify)
		return false;
	/* The used index must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(le16toh(__atomic_load_n(&vq->avail->flags,
		    __ATOMIC_RELAXED)) & VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	new = vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	used_event = le16toh(__atomic_load_n(&vq->avail->ring[vq->num],
	    __ATOMIC_RELAXED));
	return !valid || vring_need_event(used_event, new, old);
}

void
vq_notify(struct vq *vq)
{
	pthread_mutex_lock(&vq->lock);
	vq_notify_locked(vq);
	pthread_mutex_unlock(&vq->lock);
}

/*
 * Wait until an element completes and vq_pop() may pop again; false when
 * vq_cancel_wait() asked the popping thread to stop instead.
 */
bool
vq_wait_room(struct vq *vq)
{
	bool ok;

	pthread_mutex_lock(&vq->lock);
	while (vq->inflight >= vq->num && !vq->cancel_wait)
		pthread_cond_wait(&vq->room, &vq->lock);
	ok = !vq->cancel_wait;
	pthread_mutex_unlock(&vq->lock);
	return ok;
}

void
vq_cancel_wait(struct vq *vq, bool cancel)
{
	pthread_mutex_lock(&vq->lock);
	vq->cancel_wait = cancel;
	pthread_cond_broadcast(&vq->room);
	pthread_mutex_unlock(&vq->lock);
}

void
vq_wait_idle(struct vq *vq)
{
	pthread_mutex_lock(&vq->lock);
	while (vq->inflight > 0)
		pthread_cond_wait(&vq->idle, &vq->lock);
	pthread_mutex_unlock(&vq->lock);
}

int
vq_swap_call_fd(struct vq *vq, int fd)
{
	int old;

	pthread_mutex_lock(&vq->lock);
	old = vq->call_fd;
	vq->call_fd = fd;
	vq->signalled_valid = false;
	pthread_mutex_unlock(&vq->lock);
	return old;
}

int
vq_swap_err_fd(struct vq *vq, int fd)
{
	int old;

	pthread_mutex_lock(&vq->lock);
	old = vq->err_fd;
	vq->err_fd = fd;
	pthread_mutex_unlock(&vq->lock);
	return old;
}
