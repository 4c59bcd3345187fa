/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the bottom layers, in process: guest memory translation,
 * iovec cursors and the split virtqueue walker.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_run.h"
#include "guestmem.h"
#include "hostile_chains.h"
#include "iovcur.h"
#include "log.h"
#include "virtq.h"

#define MB	(1ULL << 20)
#define GPA0	0x100000ULL
#define GPA1	0x400000000ULL	/* above any region 0 we make */

/* A guest: one memfd, two regions, a ring in region 0. */
struct guest {
	int			 memfd;
	uint8_t			*mem;
	size_t			 len;
	uint64_t		 rsize;
	struct guestmem		 gm;
	struct vq		 vq;
	uint16_t		 num;
	struct vring_desc	*desc;
	struct vring_avail	*avail;
	struct vring_used	*used;
	uint64_t		 desc_gpa;
	uint16_t		 avail_idx;
};

static int
make_memfd(uint64_t size)
{
	int fd = memfd_create("check", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* The daemon maps guest memory itself: compare contents, not pointers. */
static bool
aliases(const void *daemon_view, void *guest_view)
{
	static uint8_t marker;

	*(volatile uint8_t *)guest_view = ++marker;
	return *(const volatile uint8_t *)daemon_view == marker;
}

static void *
g_host(struct guest *g, uint64_t gpa)
{
	if (gpa >= GPA1)
		return g->mem + g->rsize + (gpa - GPA1);
	return g->mem + (gpa - GPA0);
}

static void
guest_init(struct guest *g, uint64_t rsize, uint16_t num, bool event_idx)
{
	struct gm_layout l[2];
	int fds[2];

	memset(g, 0, sizeof(*g));
	g->rsize = rsize;
	g->len = 2 * rsize;
	g->memfd = make_memfd(g->len);
	g->mem = mmap(NULL, g->len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_NORESERVE, g->memfd, 0);
	ck_assert_ptr_ne(g->mem, MAP_FAILED);
	l[0] = (struct gm_layout){ GPA0, rsize, 0x7000000000ULL, 0 };
	l[1] = (struct gm_layout){ GPA1, rsize, 0x7100000000ULL, rsize };
	fds[0] = fds[1] = g->memfd;
	ck_assert_int_eq(gm_init(&g->gm, 8), 0);
	ck_assert_int_eq(gm_set_table(&g->gm, l, fds, 2), 0);
	g->num = num;
	g->desc_gpa = GPA0;
	g->desc = g_host(g, GPA0);
	g->avail = g_host(g, GPA0 + 16u * num);
	g->used = g_host(g, GPA0 + 16u * num + 4096 * 4);
	ck_assert_int_eq(vq_init(&g->vq, 1), 0);
	ck_assert_int_eq(vq_attach(&g->vq, num, gm_gpa_to_host(&g->gm,
	    GPA0, 16u * num), gm_gpa_to_host(&g->gm, GPA0 + 16u * num, 8),
	    gm_gpa_to_host(&g->gm, GPA0 + 16u * num + 4096 * 4, 8), 0,
	    event_idx), 0);
}

static void
guest_fini(struct guest *g)
{
	vq_destroy(&g->vq);
	gm_destroy(&g->gm);
	munmap(g->mem, g->len);
	close(g->memfd);
}

static void
set_desc(struct guest *g, unsigned i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	g->desc[i] = (struct vring_desc){ addr, len, flags, next };
}

static void
publish(struct guest *g, uint16_t head)
{
	g->avail->ring[g->avail_idx % g->num] = head;
	g->avail_idx++;
	g->avail->idx = g->avail_idx;
}

static int
pop(struct guest *g, struct vq_elem **e)
{
	return vq_pop(&g->vq, &g->gm, e);
}

/* Data buffers live in region 1, away from the ring. */
#define BUF(n)	(GPA1 + (uint64_t)(n) * 4096)

/* log: what a guest named cannot forge a line or reach the terminal */

START_TEST(log_escapes_control_bytes)
{
	char buf[512] = { 0 };
	int p[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	log_init("check_units", LOG_LEVEL_WARN, false);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(dup2(p[1], STDERR_FILENO), 0);
	log_warnx("cannot upload %s", "a\nobjfsd[1]: info: forged\x1b[2J");
	dup2(saved, STDERR_FILENO);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);	/* one line */
	ck_assert_ptr_null(strchr(buf, '\x1b'));
	ck_assert_ptr_nonnull(strstr(buf, "a\\x0aobjfsd[1]"));
	ck_assert_ptr_nonnull(strstr(buf, "forged\\x1b[2J"));
}
END_TEST

/* guestmem */

START_TEST(gm_translates_inside_one_region_only)
{
	struct guest g;

	guest_init(&g, MB, 8, false);
	ck_assert(aliases(gm_gpa_to_host(&g.gm, GPA0, 16), g.mem));
	ck_assert(aliases(gm_gpa_to_host(&g.gm, GPA1 + 100, 10),
	    g.mem + MB + 100));
	ck_assert(aliases(gm_gpa_to_host(&g.gm, GPA0 + MB - 1, 1),
	    g.mem + MB - 1));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, GPA0 + MB - 1, 2));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, GPA0 + MB, 1));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, GPA0 - 1, 1));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, 0, 1));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, GPA1, UINT64_MAX));
	ck_assert_ptr_null(gm_gpa_to_host(&g.gm, UINT64_MAX, 2));
	ck_assert(aliases(gm_uva_to_host(&g.gm, 0x7100000010ULL, 16),
	    g.mem + MB + 16));
	ck_assert_ptr_null(gm_uva_to_host(&g.gm, 0x7000000000ULL + MB - 8,
	    16));
	guest_fini(&g);
}
END_TEST

START_TEST(gm_rejects_bad_regions)
{
	struct guestmem gm;
	int fd = make_memfd(2 * MB), p[2];
	struct gm_layout ok = { GPA0, MB, 0x1000000, 0 };
	struct gm_layout l;

	ck_assert_int_eq(gm_init(&gm, 3), 0);
	ck_assert_int_eq(gm_add(&gm, &ok, fd), 0);
	l = (struct gm_layout){ GPA1, 0, 0x9000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -EINVAL);		/* zero size */
	l = (struct gm_layout){ GPA0 + MB / 2, MB, 0x9000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -EINVAL);		/* gpa overlap */
	l = (struct gm_layout){ GPA1, MB, 0x1000000 + 4096, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -EINVAL);		/* uva overlap */
	l = (struct gm_layout){ UINT64_MAX - 10, MB, 0x9000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -EINVAL);		/* wraps */
	l = (struct gm_layout){ GPA1, MB, 0x9000000, 2 * MB };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -EINVAL);		/* past EOF */
	ck_assert_int_eq(pipe(p), 0);
	l = (struct gm_layout){ GPA1, MB, 0x9000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, p[0]), -EINVAL);	/* not a file */
	ck_assert_int_eq(gm.nregions, 1);
	/* Region at a non-page-aligned file offset maps the right bytes. */
	l = (struct gm_layout){ GPA1, 4096, 0x9000000, MB + 100 };
	ck_assert_int_eq(pwrite(fd, "x", 1, MB + 100), 1);
	ck_assert_int_eq(gm_add(&gm, &l, fd), 0);
	ck_assert_int_eq(*(char *)gm_gpa_to_host(&gm, GPA1, 1), 'x');
	l = (struct gm_layout){ 0x80000000ULL, 4096, 0xa000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), 0);
	l = (struct gm_layout){ 0x90000000ULL, 4096, 0xb000000, 0 };
	ck_assert_int_eq(gm_add(&gm, &l, fd), -ENOSPC);
	ck_assert_int_eq(gm_remove(&gm, &ok), 0);
	ck_assert_ptr_null(gm_gpa_to_host(&gm, GPA0, 1));
	ck_assert_int_eq(gm_remove(&gm, &ok), -ENOENT);
	gm_destroy(&gm);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(gm_bad_table_keeps_old_one)
{
	struct guestmem gm;
	int fd = make_memfd(2 * MB);
	struct gm_layout good[2] = {
		{ GPA0, MB, 0x1000000, 0 }, { GPA1, MB, 0x2000000, MB },
	};
	struct gm_layout bad[2] = {
		{ GPA0, MB, 0x1000000, 0 }, { GPA0 + 4096, MB, 0x3000000, 0 },
	};
	int fds[2] = { fd, fd };

	ck_assert_int_eq(gm_init(&gm, 8), 0);
	ck_assert_int_eq(gm_set_table(&gm, good, fds, 2), 0);
	ck_assert_int_eq(gm_set_table(&gm, bad, fds, 2), -EINVAL);
	ck_assert_int_eq(gm.nregions, 2);
	ck_assert_ptr_nonnull(gm_gpa_to_host(&gm, GPA1, 8));
	gm_destroy(&gm);
	close(fd);
}
END_TEST

/* iovcur */

START_TEST(iovcur_takes_across_iovecs)
{
	char a[3] = "ab", b[1] = { 'c' }, c[4] = "de\0f", out[8];
	struct iovec iov[4] = { { a, 2 }, { NULL, 0 }, { b, 1 }, { c, 4 } };
	struct iovcur cur;
	size_t len;

	iovcur_init(&cur, iov, 4);
	ck_assert_uint_eq(iovcur_left(&cur), 7);
	ck_assert_int_eq(iovcur_take(&cur, out, 1), 0);
	ck_assert_int_eq(out[0], 'a');
	ck_assert_int_eq(iovcur_take_str(&cur, out, sizeof(out), &len), 0);
	ck_assert_str_eq(out, "bcde");
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(iovcur_left(&cur), 1);
	ck_assert_int_eq(iovcur_take(&cur, out, 2), -EINVAL);
	ck_assert_uint_eq(iovcur_left(&cur), 1);
	ck_assert_int_eq(iovcur_take(&cur, out, 1), 0);
	ck_assert_int_eq(out[0], 'f');
	ck_assert_int_eq(iovcur_take(&cur, out, 0), 0);
}
END_TEST

START_TEST(iovcur_rejects_bad_strings)
{
	char s[6] = "abcdef";
	struct iovec iov = { s, 6 };
	struct iovcur cur;
	char out[4];

	iovcur_init(&cur, &iov, 1);
	ck_assert_int_eq(iovcur_take_str(&cur, out, sizeof(out), NULL),
	    -EINVAL);
	ck_assert_uint_eq(iovcur_left(&cur), 6);
	s[4] = '\0';
	ck_assert_int_eq(iovcur_take_str(&cur, out, sizeof(out), NULL),
	    -ENAMETOOLONG);
	ck_assert_uint_eq(iovcur_left(&cur), 6);
	s[3] = '\0';
	ck_assert_int_eq(iovcur_take_str(&cur, out, sizeof(out), NULL), 0);
	ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(iovcur_iov_and_put)
{
	char a[4], b[4], c[4];
	struct iovec iov[3] = { { a, 4 }, { b, 4 }, { c, 4 } }, sub[3];
	struct iovcur cur;
	unsigned n;

	iovcur_init(&cur, iov, 3);
	ck_assert_int_eq(iovcur_put(&cur, "xy", 2), 0);
	ck_assert_int_eq(iovcur_take_iov(&cur, 7, sub, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(sub[0].iov_base, a + 2);
	ck_assert_uint_eq(sub[0].iov_len, 2);
	ck_assert_uint_eq(sub[1].iov_len, 4);
	ck_assert_uint_eq(sub[2].iov_len, 1);
	ck_assert_int_eq(iovcur_take_iov(&cur, 3, sub, 0, &n), -E2BIG);
	ck_assert_int_eq(iovcur_zero(&cur, 3), 0);
	ck_assert_int_eq(c[3], 0);
	ck_assert_int_eq(iovcur_put(&cur, "z", 1), -EINVAL);
	ck_assert_int_eq(memcmp(a, "xy", 2), 0);
}
END_TEST

/* virtq: valid chains */

START_TEST(vq_pops_direct_chain)
{
	struct guest g;
	struct vq_elem *e, *none;

	guest_init(&g, MB, 8, false);
	set_desc(&g, 3, BUF(0), 100, VRING_DESC_F_NEXT, 5);
	set_desc(&g, 5, BUF(1), 50, VRING_DESC_F_NEXT, 1);
	set_desc(&g, 1, BUF(2), 4096, VRING_DESC_F_WRITE, 0);
	publish(&g, 3);
	ck_assert_int_eq(pop(&g, &e), 1);
	ck_assert_uint_eq(e->head, 3);
	ck_assert_uint_eq(e->nrd, 2);
	ck_assert_uint_eq(e->nwr, 1);
	ck_assert_uint_eq(e->rd_len, 150);
	ck_assert_uint_eq(e->wr_len, 4096);
	ck_assert(aliases(e->rd[0].iov_base, g_host(&g, BUF(0))));
	ck_assert(aliases(e->wr[0].iov_base, g_host(&g, BUF(2))));
	ck_assert_int_eq(pop(&g, &none), 0);
	ck_assert_ptr_null(none);
	vq_push(&g.vq, e, 77);
	ck_assert_uint_eq(g.used->idx, 1);
	ck_assert_uint_eq(g.used->ring[0].id, 3);
	ck_assert_uint_eq(g.used->ring[0].len, 77);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_pops_indirect_chain)
{
	struct guest g;
	struct vq_elem *e;
	struct vring_desc *t;

	guest_init(&g, MB, 8, false);
	t = g_host(&g, BUF(10));
	t[0] = (struct vring_desc){ BUF(0), 10, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF(1), 20, VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ BUF(2), 30, VRING_DESC_F_WRITE, 0 };
	/* A direct readable descriptor may come before the indirect one. */
	set_desc(&g, 0, BUF(3), 5, VRING_DESC_F_NEXT, 4);
	set_desc(&g, 4, BUF(10), 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(&g, 0);
	ck_assert_int_eq(pop(&g, &e), 1);
	ck_assert_uint_eq(e->nrd, 3);
	ck_assert_uint_eq(e->nwr, 1);
	ck_assert_uint_eq(e->rd_len, 35);
	ck_assert_uint_eq(e->wr_len, 30);
	ck_assert(aliases(e->rd[0].iov_base, g_host(&g, BUF(3))));
	vq_push(&g.vq, e, 0);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_indirect_table_may_exceed_ring)
{
	struct guest g;
	struct vq_elem *e;
	struct vring_desc *t;

	guest_init(&g, MB, 4, false);
	t = g_host(&g, BUF(10));
	for (unsigned i = 0; i < 258; i++)
		t[i] = (struct vring_desc){ BUF(0), 8,
		    i < 257 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1) };
	set_desc(&g, 2, BUF(10), 258 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(&g, 2);
	ck_assert_int_eq(pop(&g, &e), 1);
	ck_assert_uint_eq(e->nrd, 258);
	vq_push(&g.vq, e, 0);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_skips_zero_length_buffers)
{
	struct guest g;
	struct vq_elem *e;

	guest_init(&g, MB, 8, false);
	set_desc(&g, 0, 0xdead0000ULL, 0, VRING_DESC_F_NEXT, 1);
	set_desc(&g, 1, BUF(0), 8, VRING_DESC_F_WRITE, 0);
	publish(&g, 0);
	ck_assert_int_eq(pop(&g, &e), 1);
	ck_assert_uint_eq(e->nrd, 0);
	ck_assert_uint_eq(e->nwr, 1);
	vq_push(&g.vq, e, 0);
	guest_fini(&g);
}
END_TEST

/* virtq: hostile chains.  Each must break the queue, signal err, stay so. */

static void
expect_broken(struct guest *g)
{
	struct vq_elem *e = NULL;
	int efd = eventfd(0, EFD_NONBLOCK), old;
	uint64_t v = 0;

	old = vq_swap_err_fd(&g->vq, efd);
	ck_assert_int_eq(old, -1);
	ck_assert_int_eq(pop(g, &e), -EIO);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(eventfd_read(efd, &v), 0);
	ck_assert_uint_eq(v, 1);
	/* Sticky: the next pop fails too and signals nothing more. */
	ck_assert_int_eq(pop(g, &e), -EIO);
	ck_assert_int_eq(eventfd_read(efd, &v), -1);
	ck_assert_uint_eq(g->vq.inflight, 0);
}

/* Every row of tests/lib/hostile_chains.c, on the ring in process. */
START_TEST(vq_rejects_hostile_chain)
{
	struct guest g;
	struct hc_env env;
	int head;

	guest_init(&g, MB, 8, false);
	env = (struct hc_env){ .qsize = 8, .buf = { BUF(0), BUF(1) },
	    .table = BUF(10), .table_host = g_host(&g, BUF(10)),
	    .gap = 0x20000000ULL, .region_end = GPA1 + MB, .desc = g.desc };
	head = hc_lay(&hostile_chains[_i], &env);
	if (head >= 0)
		publish(&g, (uint16_t)head);
	else
		g.avail->idx = 9;
	expect_broken(&g);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_rejects_length_overflow)
{
	struct guest g;
	const uint64_t big = 3ULL << 30;

	/* Sparse 3 GiB regions: two 3 GiB buffers add up past 4 GiB. */
	guest_init(&g, big, 8, false);
	set_desc(&g, 0, GPA1, (uint32_t)big, VRING_DESC_F_NEXT, 1);
	set_desc(&g, 1, GPA1, (uint32_t)big, 0, 0);
	publish(&g, 0);
	expect_broken(&g);
	guest_fini(&g);
}
END_TEST


/*
 * A guest that publishes one head again and again, never more than the
 * ring size ahead and never reading the used ring: at most num elements
 * are ever in flight, the next pop waits for a completion.
 */
START_TEST(vq_bounds_elements_in_flight)
{
	struct vq_elem *e[9];
	struct guest g;

	guest_init(&g, MB, 8, false);
	set_desc(&g, 0, BUF(0), 8, 0, 0);
	for (int i = 0; i < 8; i++)
		publish(&g, 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pop(&g, &e[i]), 1);
	for (int i = 0; i < 8; i++)
		publish(&g, 0);		/* 8 ahead of what was popped */
	ck_assert_int_eq(pop(&g, &e[8]), -EBUSY);
	ck_assert_ptr_null(e[8]);
	ck_assert(!g.vq.broken);
	vq_push(&g.vq, e[0], 0);
	ck_assert(vq_wait_room(&g.vq));
	ck_assert_int_eq(pop(&g, &e[0]), 1);
	ck_assert_int_eq(pop(&g, &e[8]), -EBUSY);
	/* A stopping ring thread is not held in the wait. */
	vq_cancel_wait(&g.vq, true);
	ck_assert(!vq_wait_room(&g.vq));
	vq_cancel_wait(&g.vq, false);
	for (int i = 0; i < 8; i++)
		vq_push(&g.vq, e[i], 0);
	ck_assert_uint_eq(g.vq.inflight, 0);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_reattach_clears_broken)
{
	struct guest g;
	struct vq_elem *e;

	guest_init(&g, MB, 8, false);
	publish(&g, 8);
	ck_assert_int_eq(pop(&g, &e), -EIO);
	ck_assert_int_eq(vq_attach(&g.vq, 8, g.vq.desc, g.vq.avail, g.vq.used,
	    1, false), 0);
	ck_assert_int_eq(pop(&g, &e), 0);
	guest_fini(&g);
}
END_TEST

/* virtq: notifications */

static uint64_t
calls(int fd)
{
	uint64_t v = 0;

	return eventfd_read(fd, &v) == 0 ? v : 0;
}

START_TEST(vq_event_idx_suppresses_calls)
{
	struct guest g;
	struct vq_elem *e;
	int cfd = eventfd(0, EFD_NONBLOCK);
	uint16_t *used_event, *avail_event;

	guest_init(&g, MB, 8, true);
	vq_swap_call_fd(&g.vq, cfd);
	used_event = &g.avail->ring[8];
	avail_event = (uint16_t *)&g.used->ring[8];
	for (unsigned i = 0; i < 3; i++) {
		set_desc(&g, i, BUF(i), 8, 0, 0);
		publish(&g, (uint16_t)i);
	}
	/* The driver wants a call only once used->idx passes 2. */
	*used_event = 2;
	ck_assert_int_eq(pop(&g, &e), 1);
	ck_assert_uint_eq(*avail_event, 1);
	vq_push(&g.vq, e, 0);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 1);	/* first one always signals */
	ck_assert_int_eq(pop(&g, &e), 1);
	vq_push(&g.vq, e, 0);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 0);	/* used idx 2: not past 2 */
	ck_assert_int_eq(pop(&g, &e), 1);
	vq_push(&g.vq, e, 0);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 1);	/* used idx 3 passes 2 */
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 0);	/* nothing new */
	ck_assert_int_eq(vq_rearm(&g.vq), false);
	ck_assert_uint_eq(*avail_event, 3);
	set_desc(&g, 3, BUF(3), 8, 0, 0);
	publish(&g, 3);
	ck_assert_int_eq(vq_rearm(&g.vq), true);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_no_interrupt_flag_suppresses_calls)
{
	struct guest g;
	struct vq_elem *e;
	int cfd = eventfd(0, EFD_NONBLOCK);

	guest_init(&g, MB, 8, false);
	vq_swap_call_fd(&g.vq, cfd);
	set_desc(&g, 0, BUF(0), 8, 0, 0);
	publish(&g, 0);
	publish(&g, 0);
	g.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert_int_eq(pop(&g, &e), 1);
	vq_push(&g.vq, e, 0);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 0);
	g.avail->flags = 0;
	ck_assert_int_eq(pop(&g, &e), 1);
	vq_push(&g.vq, e, 0);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 1);
	vq_notify(&g.vq);
	ck_assert_uint_eq(calls(cfd), 0);
	guest_fini(&g);
}
END_TEST

START_TEST(vq_ring_wraps_around)
{
	struct guest g;
	struct vq_elem *e;

	guest_init(&g, MB, 4, true);
	for (unsigned i = 0; i < 70000; i++) {
		set_desc(&g, i % 4, BUF(0), 8, 0, 0);
		publish(&g, (uint16_t)(i % 4));
		ck_assert_int_eq(pop(&g, &e), 1);
		ck_assert_uint_eq(e->head, i % 4);
		vq_push(&g.vq, e, (uint32_t)i);
	}
	ck_assert_uint_eq(g.used->idx, (uint16_t)70000);
	guest_fini(&g);
}
END_TEST

static Suite *
units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc;

	tc = tcase_create("log");
	tcase_add_test(tc, log_escapes_control_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("guestmem");
	tcase_add_test(tc, gm_translates_inside_one_region_only);
	tcase_add_test(tc, gm_rejects_bad_regions);
	tcase_add_test(tc, gm_bad_table_keeps_old_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("iovcur");
	tcase_add_test(tc, iovcur_takes_across_iovecs);
	tcase_add_test(tc, iovcur_rejects_bad_strings);
	tcase_add_test(tc, iovcur_iov_and_put);
	suite_add_tcase(s, tc);

	tc = tcase_create("virtq");
	tcase_add_test(tc, vq_pops_direct_chain);
	tcase_add_test(tc, vq_pops_indirect_chain);
	tcase_add_test(tc, vq_indirect_table_may_exceed_ring);
	tcase_add_test(tc, vq_skips_zero_length_buffers);
	tcase_add_loop_test(tc, vq_rejects_hostile_chain, 0,
	    (int)hostile_nchains);
	tcase_add_test(tc, vq_rejects_length_overflow);
	tcase_add_test(tc, vq_bounds_elements_in_flight);
	tcase_add_test(tc, vq_reattach_clears_broken);
	tcase_add_test(tc, vq_event_idx_suppresses_calls);
	tcase_add_test(tc, vq_no_interrupt_flag_suppresses_calls);
	tcase_add_test(tc, vq_ring_wraps_around);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(units_suite(), "check_units", LOG_LEVEL_ERROR);
}
