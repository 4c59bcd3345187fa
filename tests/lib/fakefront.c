/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fakefront: a test frontend for vhost-user backends.  See fakefront.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fakefront.h"
#include "monotime.h"

#define FF_TIMEOUT_MS	5000

static int
ff_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, timeout_ms);
	} while (n == -1 && errno == EINTR);
	return n;
}

struct ff *
ff_adopt(int sock)
{
	struct ff *ff = calloc(1, sizeof(*ff));

	if (ff == NULL)
		return NULL;
	ff->sock = sock;
	ff->backend_fd = -1;
	ff->memfd = -1;
	for (unsigned i = 0; i < FF_MAX_QUEUES; i++)
		ff->q[i].kick_fd = ff->q[i].call_fd = ff->q[i].err_fd = -1;
	return ff;
}

struct ff *
ff_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ff *ff;

	if (s == -1)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    (ff = ff_adopt(s)) == NULL) {
		close(s);
		return NULL;
	}
	return ff;
}

static void
ff_close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

void
ff_close(struct ff *ff)
{
	if (ff == NULL)
		return;
	ff_close_fd(&ff->sock);
	ff_close_fd(&ff->backend_fd);
	for (unsigned i = 0; i < FF_MAX_QUEUES; i++) {
		struct ff_queue *q = &ff->q[i];

		ff_close_fd(&q->kick_fd);
		ff_close_fd(&q->call_fd);
		ff_close_fd(&q->err_fd);
		free(q->free);
		free(q->chain_len);
		free(q->indirect_gpa);
		free(q->indirect_cap);
	}
	if (ff->mem != NULL)
		munmap(ff->mem, ff->mem_len);
	ff_close_fd(&ff->memfd);
	free(ff);
}

int
ff_send(struct ff *ff, uint32_t req, uint32_t flags, const void *payload,
    uint32_t size, const int *fds, unsigned nfds)
{
	struct vu_header hdr = { req, flags, size };
	char ctl[CMSG_SPACE(16 * sizeof(int))];
	struct iovec iov[2] = { { &hdr, sizeof(hdr) },
	    { (void *)payload, size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds > 16)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(ff->sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}

static int
ff_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n;

		if (ff_wait(fd, POLLIN, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, p, len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
ff_recv_on(int fd, struct vu_header *hdr, void *payload, size_t max,
    int timeout_ms)
{
	int rc;

	if ((rc = ff_read_full(fd, hdr, sizeof(*hdr), timeout_ms)) != 0)
		return rc;
	if (hdr->size > max)
		return -EMSGSIZE;
	return ff_read_full(fd, payload, hdr->size, timeout_ms);
}

int
ff_recv(struct ff *ff, struct vu_header *hdr, void *payload, size_t max,
    int timeout_ms)
{
	return ff_recv_on(ff->sock, hdr, payload, max, timeout_ms);
}

/*
 * Send with NEED_REPLY and return the backend's verdict: 0, a positive
 * status from the backend, or -errno when no proper reply came.
 */
int
ff_call(struct ff *ff, uint32_t req, const void *payload, uint32_t size,
    const int *fds, unsigned nfds)
{
	struct vu_header hdr;
	uint64_t status;
	int rc;

	rc = ff_send(ff, req, VU_VERSION | VU_FLAG_NEED_REPLY, payload, size,
	    fds, nfds);
	if (rc == 0)
		rc = ff_recv(ff, &hdr, &status, sizeof(status), FF_TIMEOUT_MS);
	if (rc != 0)
		return rc;
	if (hdr.request != req || hdr.flags != (VU_VERSION | VU_FLAG_REPLY) ||
	    hdr.size != sizeof(status))
		return -EPROTO;
	return status == 0 ? 0 : (int)(status > 0x7fff ? 0x7fff : status);
}

int
ff_get_u64(struct ff *ff, uint32_t req, uint64_t *out)
{
	struct vu_header hdr;
	int rc;

	if ((rc = ff_send(ff, req, VU_VERSION, NULL, 0, NULL, 0)) != 0 ||
	    (rc = ff_recv(ff, &hdr, out, sizeof(*out), FF_TIMEOUT_MS)) != 0)
		return rc;
	return hdr.request == req && hdr.size == sizeof(*out) &&
	    (hdr.flags & VU_FLAG_REPLY) ? 0 : -EPROTO;
}

int
ff_set_u64(struct ff *ff, uint32_t req, uint64_t v)
{
	return ff_call(ff, req, &v, sizeof(v), NULL, 0);
}

int
ff_vring_state(struct ff *ff, uint32_t req, unsigned idx, uint32_t num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return ff_call(ff, req, &s, sizeof(s), NULL, 0);
}

int
ff_get_vring_base(struct ff *ff, unsigned idx, uint32_t *base)
{
	struct vhost_vring_state s = { .index = idx };
	struct vu_header hdr;
	int rc;

	if ((rc = ff_send(ff, VU_GET_VRING_BASE, VU_VERSION, &s, sizeof(s),
	    NULL, 0)) != 0 ||
	    (rc = ff_recv(ff, &hdr, &s, sizeof(s), FF_TIMEOUT_MS)) != 0)
		return rc;
	if (hdr.request != VU_GET_VRING_BASE || hdr.size != sizeof(s) ||
	    s.index != idx)
		return -EPROTO;
	*base = s.num;
	return 0;
}

/* True when the backend closed the connection within timeout_ms. */
bool
ff_peer_closed(struct ff *ff, int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	char buf[256];

	for (;;) {
		int left = (int)(deadline - monotime_ms());
		ssize_t n;

		if (left < 0 || ff_wait(ff->sock, POLLIN, left) <= 0)
			return false;
		n = recv(ff->sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

uint64_t
ff_default_features(void)
{
	return (1ULL << VIRTIO_F_VERSION_1) |
	    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VU_F_PROTOCOL_FEATURES);
}

uint64_t
ff_default_protocol_features(void)
{
	return (1ULL << VU_PROTOCOL_F_MQ) | (1ULL << VU_PROTOCOL_F_REPLY_ACK) |
	    (1ULL << VU_PROTOCOL_F_BACKEND_REQ) |
	    (1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	    (1ULL << VU_PROTOCOL_F_RESET_DEVICE) |
	    (1ULL << VU_PROTOCOL_F_STATUS);
}

static int
ff_setup_backend_channel(struct ff *ff)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -errno;
	rc = ff_call(ff, VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		return rc;
	}
	ff->backend_fd = sv[0];
	return 0;
}

/* The order QEMU uses; REPLY_ACK is assumed in what pfeatures acks. */
int
ff_negotiate(struct ff *ff, uint64_t features, uint64_t pfeatures)
{
	uint64_t offered, poffered, nq;
	int rc;

	if ((rc = ff_get_u64(ff, VU_GET_FEATURES, &offered)) != 0)
		return rc;
	if ((features & ~offered) != 0)
		return -ENOTSUP;
	if ((rc = ff_get_u64(ff, VU_GET_PROTOCOL_FEATURES, &poffered)) != 0)
		return rc;
	if ((pfeatures & ~poffered) != 0)
		return -ENOTSUP;
	if ((rc = ff_send(ff, VU_SET_PROTOCOL_FEATURES, VU_VERSION, &pfeatures,
	    sizeof(pfeatures), NULL, 0)) != 0)
		return rc;
	ff->protocol_features = pfeatures;
	if ((rc = ff_get_u64(ff, VU_GET_QUEUE_NUM, &nq)) != 0)
		return rc;
	if (pfeatures & (1ULL << VU_PROTOCOL_F_BACKEND_REQ) &&
	    (rc = ff_setup_backend_channel(ff)) != 0)
		return rc;
	if ((rc = ff_call(ff, VU_SET_OWNER, NULL, 0, NULL, 0)) != 0 ||
	    (rc = ff_set_u64(ff, VU_SET_FEATURES, features)) != 0)
		return rc;
	ff->features = features;
	return 0;
}

static void
ff_region_wire(const struct ff *ff, unsigned i, struct vu_region *w)
{
	const struct ff_region *r = &ff->region[i];

	w->guest_phys_addr = r->gpa;
	w->memory_size = r->size;
	w->userspace_addr = (uint64_t)(uintptr_t)r->host;
	w->mmap_offset = r->offset;
}

/*
 * One memfd, two regions: the second sits at a non-zero offset in the file
 * and far from the first in guest-physical space.
 */
int
ff_setup_memory(struct ff *ff, size_t region_size, bool add_mem_reg)
{
	static const uint64_t gpa[FF_NREGIONS] = {
		FF_REGION_GPA0, FF_REGION_GPA1,
	};
	int fds[FF_NREGIONS], rc = 0;

	ff->mem_len = region_size * FF_NREGIONS;
	ff->memfd = memfd_create("fakefront", MFD_CLOEXEC);
	if (ff->memfd == -1 || ftruncate(ff->memfd, (off_t)ff->mem_len) == -1)
		return -errno;
	ff->mem = mmap(NULL, ff->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    ff->memfd, 0);
	if (ff->mem == MAP_FAILED) {
		ff->mem = NULL;
		return -errno;
	}
	for (unsigned i = 0; i < FF_NREGIONS; i++) {
		ff->region[i] = (struct ff_region){ .gpa = gpa[i],
		    .size = region_size, .offset = i * region_size,
		    .host = ff->mem + i * region_size };
		fds[i] = ff->memfd;
	}
	if (add_mem_reg) {
		for (unsigned i = 0; i < FF_NREGIONS && rc == 0; i++) {
			struct vu_single_region sr = { 0 };

			ff_region_wire(ff, i, &sr.region);
			rc = ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr),
			    &ff->memfd, 1);
		}
		return rc;
	}
	struct vu_mem_table t = { .nregions = FF_NREGIONS };
	for (unsigned i = 0; i < FF_NREGIONS; i++)
		ff_region_wire(ff, i, &t.regions[i]);
	return ff_call(ff, VU_SET_MEM_TABLE, &t, 8 + FF_NREGIONS *
	    sizeof(struct vu_region), fds, FF_NREGIONS);
}

uint64_t
ff_alloc(struct ff *ff, unsigned region, size_t size, size_t align)
{
	struct ff_region *r = &ff->region[region];
	uint64_t off = (r->next + align - 1) & ~(uint64_t)(align - 1);

	if (off + size > r->size)
		return 0;
	r->next = off + size;
	memset(r->host + off, 0, size);
	return r->gpa + off;
}

void *
ff_host(struct ff *ff, uint64_t gpa)
{
	for (unsigned i = 0; i < FF_NREGIONS; i++) {
		struct ff_region *r = &ff->region[i];

		if (gpa >= r->gpa && gpa < r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static uint64_t
ff_uva(struct ff *ff, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)ff_host(ff, gpa);
}

static int
ff_layout_ring(struct ff *ff, struct ff_queue *q, uint16_t num)
{
	q->num = num;
	q->desc_gpa = ff_alloc(ff, 0, 16u * num, 16);
	q->avail_gpa = ff_alloc(ff, 0, 6u + 2u * num, 2);
	q->used_gpa = ff_alloc(ff, 0, 6u + 8u * num, 4);
	if (q->desc_gpa == 0 || q->avail_gpa == 0 || q->used_gpa == 0)
		return -ENOMEM;
	q->desc = ff_host(ff, q->desc_gpa);
	q->avail = ff_host(ff, q->avail_gpa);
	q->used = ff_host(ff, q->used_gpa);
	q->free = calloc(num, sizeof(*q->free));
	q->chain_len = calloc(num, sizeof(*q->chain_len));
	q->indirect_gpa = calloc(num, sizeof(*q->indirect_gpa));
	q->indirect_cap = calloc(num, sizeof(*q->indirect_cap));
	if (q->free == NULL || q->chain_len == NULL ||
	    q->indirect_gpa == NULL || q->indirect_cap == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < num; i++)
		q->free[i] = (uint16_t)(num - 1 - i);
	q->nfree = num;
	q->avail_idx = q->last_used = 0;
	return 0;
}

static int
ff_vring_fd(struct ff *ff, uint32_t req, unsigned idx, int *fdp)
{
	uint64_t v = idx;

	*fdp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fdp == -1)
		return -errno;
	return ff_call(ff, req, &v, sizeof(v), fdp, 1);
}

int
ff_setup_queue(struct ff *ff, unsigned idx, uint16_t num)
{
	struct ff_queue *q = &ff->q[idx];
	struct vhost_vring_addr a = { .index = idx };
	int rc;

	if (idx >= FF_MAX_QUEUES)
		return -EINVAL;
	if ((rc = ff_layout_ring(ff, q, num)) != 0)
		return rc;
	a.desc_user_addr = ff_uva(ff, q->desc_gpa);
	a.avail_user_addr = ff_uva(ff, q->avail_gpa);
	a.used_user_addr = ff_uva(ff, q->used_gpa);
	if ((rc = ff_vring_state(ff, VU_SET_VRING_NUM, idx, num)) != 0 ||
	    (rc = ff_vring_state(ff, VU_SET_VRING_BASE, idx, 0)) != 0 ||
	    (rc = ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0)) != 0 ||
	    (rc = ff_vring_fd(ff, VU_SET_VRING_KICK, idx, &q->kick_fd)) != 0 ||
	    (rc = ff_vring_fd(ff, VU_SET_VRING_CALL, idx, &q->call_fd)) != 0 ||
	    (rc = ff_vring_fd(ff, VU_SET_VRING_ERR, idx, &q->err_fd)) != 0)
		return rc;
	if (ff->features & (1ULL << VU_F_PROTOCOL_FEATURES))
		rc = ff_vring_state(ff, VU_SET_VRING_ENABLE, idx, 1);
	if (rc == 0 && idx >= ff->nqueues)
		ff->nqueues = idx + 1;
	return rc;
}

int
ff_start(struct ff *ff, unsigned nqueues, uint16_t num)
{
	int rc;

	if ((rc = ff_negotiate(ff, ff_default_features(),
	    ff_default_protocol_features())) != 0 ||
	    (rc = ff_setup_memory(ff, 8u << 20, false)) != 0)
		return rc;
	for (unsigned i = 0; i < nqueues && rc == 0; i++)
		rc = ff_setup_queue(ff, i, num);
	return rc;
}

static int
ff_take_desc(struct ff_queue *q, uint16_t *d)
{
	if (q->nfree == 0)
		return -ENOSPC;
	*d = q->free[--q->nfree];
	return 0;
}

static void
ff_fill(struct vring_desc *d, const struct ff_buf *b, bool more, uint16_t next)
{
	d->addr = b->gpa;
	d->len = b->len;
	d->flags = (uint16_t)((b->writable ? VRING_DESC_F_WRITE : 0) |
	    (more ? VRING_DESC_F_NEXT : 0));
	d->next = more ? next : 0;
}

static int
ff_submit_indirect(struct ff *ff, struct ff_queue *q, const struct ff_buf *bufs,
    unsigned n, uint16_t *headp)
{
	struct vring_desc *t;
	uint64_t tgpa;
	uint16_t head;

	if (ff_take_desc(q, &head) != 0)
		return -ENOSPC;
	/* Each head keeps its table, so long runs do not exhaust memory. */
	if (q->indirect_cap[head] < n) {
		unsigned cap = n < 64 ? 64 : n;

		q->indirect_gpa[head] = ff_alloc(ff, 1, 16u * cap, 16);
		q->indirect_cap[head] = q->indirect_gpa[head] ? cap : 0;
	}
	if ((tgpa = q->indirect_gpa[head]) == 0) {
		q->free[q->nfree++] = head;
		return -ENOSPC;
	}
	t = ff_host(ff, tgpa);
	for (unsigned i = 0; i < n; i++)
		ff_fill(&t[i], &bufs[i], i + 1 < n, (uint16_t)(i + 1));
	q->desc[head].addr = tgpa;
	q->desc[head].len = 16u * n;
	q->desc[head].flags = VRING_DESC_F_INDIRECT;
	q->desc[head].next = 0;
	q->chain_len[head] = 0;
	*headp = head;
	return 0;
}

static int
ff_submit_direct(struct ff_queue *q, const struct ff_buf *bufs, unsigned n,
    uint16_t *headp)
{
	uint16_t ids[n];

	if (q->nfree < n)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++)
		(void)ff_take_desc(q, &ids[i]);
	for (unsigned i = 0; i < n; i++)
		ff_fill(&q->desc[ids[i]], &bufs[i], i + 1 < n,
		    i + 1 < n ? ids[i + 1] : 0);
	q->chain_len[ids[0]] = (uint16_t)n;
	*headp = ids[0];
	return 0;
}

void
ff_publish(struct ff *ff, unsigned qi, uint16_t head)
{
	struct ff_queue *q = &ff->q[qi];

	q->avail->ring[q->avail_idx & (q->num - 1)] = head;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

/* Returns the head index (>= 0) or -errno. */
int
ff_submit(struct ff *ff, unsigned qi, const struct ff_buf *bufs, unsigned n,
    bool indirect)
{
	struct ff_queue *q = &ff->q[qi];
	uint16_t head;
	int rc;

	if (n == 0)
		return -EINVAL;
	rc = indirect ? ff_submit_indirect(ff, q, bufs, n, &head) :
	    ff_submit_direct(q, bufs, n, &head);
	if (rc != 0)
		return rc;
	ff_publish(ff, qi, head);
	return head;
}

int
ff_kick(struct ff *ff, unsigned qi)
{
	return eventfd_write(ff->q[qi].kick_fd, 1) == 0 ? 0 : -errno;
}

static void
ff_release_chain(struct ff_queue *q, uint16_t head)
{
	uint16_t d = head;

	if (q->chain_len[head] == 0) {
		q->free[q->nfree++] = head;
		return;
	}
	for (unsigned i = 0; i < q->chain_len[head]; i++) {
		uint16_t next = q->desc[d].next;

		q->free[q->nfree++] = d;
		d = next;
	}
}

/* Take one used element if there is one: 1, else 0. */
int
ff_poll_used(struct ff *ff, unsigned qi, uint16_t *id, uint32_t *len)
{
	struct ff_queue *q = &ff->q[qi];
	uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem *u;

	if (used_idx == q->last_used)
		return 0;
	u = &q->used->ring[q->last_used & (q->num - 1)];
	*id = (uint16_t)u->id;
	*len = u->len;
	q->last_used++;
	/* Ask for a call on the very next completion (EVENT_IDX). */
	q->avail->ring[q->num] = q->last_used;
	if (*id < q->num)
		ff_release_chain(q, *id);
	return 1;
}

int
ff_wait_used(struct ff *ff, unsigned qi, int timeout_ms, uint16_t *id,
    uint32_t *len)
{
	struct ff_queue *q = &ff->q[qi];
	int64_t deadline = monotime_ms() + timeout_ms;
	uint64_t v;

	for (;;) {
		int left;

		if (ff_poll_used(ff, qi, id, len))
			return 0;
		left = (int)(deadline - monotime_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		if (ff_wait(q->call_fd, POLLIN, left) > 0)
			(void)eventfd_read(q->call_fd, &v);
	}
}

bool
ff_err_signalled(struct ff *ff, unsigned qi, int timeout_ms)
{
	uint64_t v;

	if (ff_wait(ff->q[qi].err_fd, POLLIN, timeout_ms) <= 0)
		return false;
	return eventfd_read(ff->q[qi].err_fd, &v) == 0;
}

/* Answer one backend request with status; hdr receives its header. */
int
ff_backend_answer(struct ff *ff, int timeout_ms, uint64_t status,
    struct vu_header *hdr)
{
	char payload[VU_MAX_PAYLOAD];
	struct vu_header rh;
	int rc;

	rc = ff_recv_on(ff->backend_fd, hdr, payload, sizeof(payload),
	    timeout_ms);
	if (rc != 0)
		return rc;
	if (!(hdr->flags & VU_FLAG_NEED_REPLY))
		return 0;
	rh = (struct vu_header){ hdr->request, VU_VERSION | VU_FLAG_REPLY,
	    sizeof(status) };
	if (send(ff->backend_fd, &rh, sizeof(rh), MSG_NOSIGNAL) != sizeof(rh) ||
	    send(ff->backend_fd, &status, sizeof(status), MSG_NOSIGNAL) !=
	    sizeof(status))
		return -EIO;
	return 0;
}

static bool
ff_socket_ready(const char *path)
{
	struct ff *ff = NULL;
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	/* Probe with a connection the daemon will see come and go. */
	ff = ff_connect(path);
	ff_close(ff);
	return ff != NULL;
}

int
ff_daemon_start(struct ff_daemon *d, const char *binary,
    const char *const *extra_args)
{
	const char *argv[32];
	char sockarg[160];
	unsigned argc = 0;
	int64_t deadline;

	snprintf(d->dir, sizeof(d->dir), "/tmp/objfsd-test.XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		return -errno;
	snprintf(d->sock, sizeof(d->sock), "%s/vu.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", d->sock);
	argv[argc++] = binary;
	argv[argc++] = sockarg;
	while (extra_args != NULL && *extra_args != NULL && argc < 30)
		argv[argc++] = *extra_args++;
	argv[argc] = NULL;
	d->pid = fork();
	if (d->pid == -1)
		return -errno;
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* The daemon's fd counts must be its own, not the runner's. */
		close_range(3, ~0u, 0);
		execv(binary, (char *const *)argv);
		_exit(127);
	}
	deadline = monotime_ms() + 10000;
	while (monotime_ms() < deadline) {
		if (!ff_daemon_alive(d))
			return -ECHILD;
		/* The probe must be gone before a test connects for real. */
		if (ff_socket_ready(d->sock)) {
			usleep(20000);
			return 0;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

bool
ff_daemon_alive(const struct ff_daemon *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

/* SIGTERM, then the exit status (or -1 if it had to be killed). */
int
ff_daemon_stop(struct ff_daemon *d)
{
	int64_t deadline = monotime_ms() + 10000;
	int status = -1;
	char cmd[160];

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	while (monotime_ms() < deadline) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);

		if (r == d->pid)
			break;
		usleep(10000);
	}
	if (monotime_ms() >= deadline) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		status = -1;
	}
	d->pid = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (getenv("OBJFSD_KEEP_TEST_DIRS") == NULL && system(cmd) != 0)
		return -1;
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The process that serves: pid itself, or its child when objfsd serves
 * from a pid namespace (--sandbox=namespace) and pid only waits for it.
 */
pid_t
ff_server_pid(pid_t pid)
{
	char path[64];
	long child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child > 0 ? (pid_t)child : pid;
}

int
ff_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)ff_server_pid(pid));
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Lines of /proc/PID/maps, or only those containing a string. */
int
ff_count_maps(pid_t pid, const char *containing)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)ff_server_pid(pid));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (containing == NULL || strstr(line, containing) != NULL)
			n++;
	fclose(f);
	return n;
}

bool
ff_log_contains(const struct ff_daemon *d, const char *needle, int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;

	do {
		char line[1024];
		bool found = false;
		FILE *f = fopen(d->log, "r");

		if (f != NULL) {
			while (!found && fgets(line, sizeof(line), f) != NULL)
				found = strstr(line, needle) != NULL;
			fclose(f);
		}
		if (found)
			return true;
		usleep(10000);
	} while (monotime_ms() < deadline);
	return false;
}
