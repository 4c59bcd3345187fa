/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile frontends and guests against testdevd.
 *
 * After each test the fixture checks that the daemon is alive, has closed
 * every fd and unmapped every region, and serves a well-behaved frontend.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "hostile_chains.h"
#include "monotime.h"

#define QSIZE	VU_TEST_QSIZE
#define WAIT_MS	VU_TEST_WAIT_MS

static void
setup(void)
{
	vufix_setup(NULL);
}

static void
teardown(void)
{
	vufix_teardown();
}

/* The request failed but the connection is still good. */
static void
still_talking(void)
{
	uint64_t f;

	ck_assert_int_eq(ff_get_u64(ff, VU_GET_FEATURES, &f), 0);
}

/* Malformed messages */

START_TEST(unknown_requests)
{
	uint64_t v = 0;

	ck_assert_int_gt(ff_call(ff, 99, &v, 8, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_NONE, NULL, 0, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, 0xffffffffu, NULL, 0, NULL, 0), 0);
	still_talking();
	ck_assert_int_eq(count_in_log(&td.d, "unknown vhost-user request"), 1);
}
END_TEST

START_TEST(short_payload)
{
	uint32_t half = 0;

	ck_assert_int_gt(ff_call(ff, VU_SET_FEATURES, &half, 4, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_ADDR, &half, 4, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_MEM_TABLE, &half, 4, NULL, 0), 0);
	still_talking();
}
END_TEST

START_TEST(oversized_payload_for_request)
{
	uint64_t v[2] = { 0, 0 };

	ck_assert_int_gt(ff_call(ff, VU_SET_FEATURES, v, 16, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_NUM, v, 16, NULL, 0), 0);
	still_talking();
}
END_TEST

START_TEST(oversized_message_drops_connection)
{
	static char big[8192];

	ck_assert_int_eq(ff_send(ff, VU_SET_CONFIG, VU_VERSION, big,
	    sizeof(big), NULL, 0), 0);
	ck_assert(ff_peer_closed(ff, WAIT_MS));
}
END_TEST

START_TEST(bad_version_flags)
{
	static const uint32_t flags[] = { 0, 2, 3, VU_FLAG_REPLY };
	uint64_t v = 0;

	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ck_assert_int_eq(ff_send(ff, VU_GET_FEATURES, flags[i], &v, 0,
		    NULL, 0), 0);
		ck_assert(ff_peer_closed(ff, WAIT_MS));
		ff_close(ff);
		tdaemon_assert_clean(&td);
		ff = vu_connect_synced();
		ck_assert_ptr_nonnull(ff);
	}
}
END_TEST

START_TEST(more_than_eight_fds)
{
	int fds[12];

	for (int i = 0; i < 12; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(ff_send(ff, VU_SET_OWNER, VU_VERSION, NULL, 0, fds,
	    12), 0);
	ck_assert(ff_peer_closed(ff, WAIT_MS));
	for (int i = 0; i < 12; i++)
		close(fds[i]);
}
END_TEST

START_TEST(fds_on_requests_that_take_none)
{
	int fds[3];
	uint64_t v = 0;

	for (int i = 0; i < 3; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_gt(ff_call(ff, VU_SET_OWNER, NULL, 0, fds, 3), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_FEATURES, &v, 8, fds, 1), 0);
	still_talking();
	/* A request that must answer and cannot: the connection goes. */
	ck_assert_int_eq(ff_send(ff, VU_GET_FEATURES, VU_VERSION, NULL, 0, fds,
	    2), 0);
	ck_assert(ff_peer_closed(ff, WAIT_MS));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}
END_TEST

START_TEST(missing_fd)
{
	struct vu_single_region sr = { 0 };

	sr.region = (struct vu_region){ 0x100000, 4096, 0x10000000, 0 };
	ck_assert_int_gt(ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr), NULL, 0),
	    0);
	ck_assert_int_gt(ff_call(ff, VU_SET_BACKEND_REQ_FD, NULL, 0, NULL, 0),
	    0);
	still_talking();
}
END_TEST

START_TEST(disconnect_mid_message)
{
	struct vu_header hdr = { VU_SET_FEATURES, VU_VERSION, 8 };
	char partial[sizeof(hdr) + 4];

	memcpy(partial, &hdr, sizeof(hdr));
	memset(partial + sizeof(hdr), 0, 4);
	ck_assert_int_eq(send(ff->sock, partial, sizeof(partial), 0),
	    (ssize_t)sizeof(partial));
	ff_close(ff);
	ff = NULL;
	tdaemon_assert_clean(&td);
	/* And half a header. */
	ff = vu_connect_synced();
	ck_assert_int_eq(send(ff->sock, &hdr, 5, 0), 5);
}
END_TEST

START_TEST(stall_mid_message_is_dropped)
{
	struct vu_header hdr = { VU_SET_FEATURES, VU_VERSION, 8 };

	ck_assert_int_eq(send(ff->sock, &hdr, sizeof(hdr), 0),
	    (ssize_t)sizeof(hdr));
	ck_assert(ff_peer_closed(ff, WAIT_MS));
}
END_TEST

START_TEST(queue_index_out_of_range)
{
	uint64_t v = 255;
	int fd = eventfd(0, EFD_CLOEXEC);

	ck_assert_int_gt(ff_vring_state(ff, VU_SET_VRING_NUM, 2, 16), 0);
	ck_assert_int_gt(ff_vring_state(ff, VU_SET_VRING_NUM, 0x80000000u,
	    16), 0);
	ck_assert_int_gt(ff_vring_state(ff, VU_SET_VRING_ENABLE, 200, 1), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_KICK, &v, 8, &fd, 1), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_CALL, &v, 8, &fd, 1), 0);
	/* GET_VRING_BASE cannot say "no": the connection goes. */
	struct vhost_vring_state s = { .index = 7 };
	ck_assert_int_eq(ff_send(ff, VU_GET_VRING_BASE, VU_VERSION, &s,
	    sizeof(s), NULL, 0), 0);
	ck_assert(ff_peer_closed(ff, WAIT_MS));
	close(fd);
}
END_TEST

/* Memory tables */

static int
mem_table(struct vu_region *r, unsigned n, int fd, uint32_t nregions_field)
{
	struct vu_mem_table t = { .nregions = nregions_field };
	int fds[VU_MEM_TABLE_MAX];

	memcpy(t.regions, r, n * sizeof(*r));
	for (unsigned i = 0; i < n; i++)
		fds[i] = fd;
	return ff_call(ff, VU_SET_MEM_TABLE, &t, 8 + n * 32, fds, n);
}

START_TEST(zero_size_region)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);
	struct vu_region r[1] = { { 0x100000, 0, 0x10000000, 0 } };

	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	close(fd);
	still_talking();
}
END_TEST

START_TEST(overlapping_regions)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);
	struct vu_region r[2] = {
		{ 0x100000, 0x10000, 0x10000000, 0 },
		{ 0x108000, 0x10000, 0x20000000, 0 },
	};

	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_gt(mem_table(r, 2, fd, 2), 0);
	/* Same guest range twice through ADD_MEM_REG. */
	struct vu_single_region sr = { .region = r[0] };
	ck_assert_int_eq(ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr), &fd, 1),
	    0);
	sr.region = r[1];
	ck_assert_int_gt(ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr), &fd, 1),
	    0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:hostile"), 1);
	close(fd);
}
END_TEST

START_TEST(region_larger_than_its_file)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);
	struct vu_region r[1] = { { 0x100000, 1 << 30, 0x10000000, 0 } };

	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	r[0].memory_size = 4096;
	r[0].mmap_offset = 4096;
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	close(fd);
	still_talking();
}
END_TEST

START_TEST(region_fd_not_memory)
{
	int p[2];
	struct vu_region r[1] = { { 0x100000, 4096, 0x10000000, 0 } };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_gt(mem_table(r, 1, p[0], 1), 0);
	close(p[0]);
	close(p[1]);
	still_talking();
}
END_TEST

START_TEST(table_count_mismatch)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);
	struct vu_region r[2] = {
		{ 0x100000, 4096, 0x10000000, 0 },
		{ 0x200000, 4096, 0x20000000, 0 },
	};
	struct vu_mem_table t = { .nregions = 9 };

	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_gt(mem_table(r, 2, fd, 1), 0);	/* 2 fds, says 1 */
	ck_assert_int_gt(mem_table(r, 1, fd, 2), 0);	/* says 2, has 1 */
	ck_assert_int_gt(ff_call(ff, VU_SET_MEM_TABLE, &t, 8, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_MEM_TABLE, &t, sizeof(t), NULL, 0),
	    0);
	close(fd);
	still_talking();
}
END_TEST

START_TEST(overflowing_region)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);
	struct vu_region r[1] = {
		{ 0xfffffffffffff000ULL, 0x2000, 0x10000000, 0 },
	};

	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	r[0] = (struct vu_region){ 0x100000, 0x2000, 0xfffffffffffff000ULL,
	    0 };
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	r[0] = (struct vu_region){ 0x100000, 0x2000, 0x10000000,
	    0xfffffffffffff000ULL };
	ck_assert_int_gt(mem_table(r, 1, fd, 1), 0);
	close(fd);
	still_talking();
}
END_TEST

START_TEST(ring_addresses_outside_memory)
{
	struct vhost_vring_addr a = { .index = 1, .desc_user_addr = 0x1000,
	    .avail_user_addr = 0x2000, .used_user_addr = 0x3000 };

	ck_assert_int_eq(ff_negotiate(ff, ff_default_features(),
	    ff_default_protocol_features()), 0);
	ck_assert_int_eq(ff_setup_memory(ff, 1 << 20, false), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_NUM, 1, 64), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
	/* The used ring straddling the end of region 0. */
	a.desc_user_addr = (uint64_t)(uintptr_t)ff->region[0].host;
	a.avail_user_addr = a.desc_user_addr + 4096;
	a.used_user_addr = a.desc_user_addr + (1 << 20) - 64;
	ck_assert_int_gt(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
}
END_TEST

/* Hostile guests: each breaks the ring; the other ring keeps working. */

static void
expect_ring_broken(void)
{
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	ck_assert(ff_err_signalled(ff, 1, WAIT_MS));
	vu_echo_ok(ff, 0, false);
	vu_no_answer(ff, 1, 100);
}

static struct vring_desc *
desc(unsigned i)
{
	return &ff->q[1].desc[i];
}

static uint64_t
buf(size_t len)
{
	return ff_alloc(ff, 1, len, 8);
}

static void
start(void)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
}

/*
 * A kick fd that is always readable but no eventfd (/dev/zero reads 8
 * zero bytes forever) stops its ring with one log line; it used to wake
 * the ring thread in a loop.
 */
START_TEST(kick_fd_that_is_no_eventfd)
{
	uint64_t idx = 1;
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	long t0;

	start();
	ck_assert_int_ge(zero, 0);
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_KICK, &idx, sizeof(idx),
	    &zero, 1), 0);
	close(zero);
	ck_assert_int_ge(t0 = proc_cpu_ticks(td.d.pid), 0);
	usleep(1000 * 1000);
	ck_assert_int_lt(proc_cpu_ticks(td.d.pid) - t0, 20);
	ck_assert_int_eq(count_in_log(&td.d, "kick fd is unusable"), 1);
	vu_echo_ok(ff, 0, false);
}
END_TEST

/* One echo on queue q, its completion read off the used ring. */
static void
echo_polled(struct ff *f, unsigned q)
{
	uint64_t in = ff_alloc(f, 1, 64, 8), out = ff_alloc(f, 0, 64, 8);
	struct ff_buf b[2] = { { in, 6, false }, { out, 64, true } };
	int64_t deadline = monotime_ms() + WAIT_MS;
	uint16_t id;
	uint32_t len;
	int head;

	memcpy(ff_host(f, in), "hello", 6);
	ck_assert_int_ge(head = ff_submit(f, q, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(f, q), 0);
	while (!ff_poll_used(f, q, &id, &len)) {
		ck_assert_msg(monotime_ms() < deadline, "no completion");
		usleep(1000);
	}
	ck_assert_int_eq(id, head);
}

/*
 * A call fd that blocks (a full pipe, not an eventfd): signalling it is
 * done with the ring's lock held, so it used to stop the ring for good.
 */
START_TEST(call_fd_that_blocks)
{
	uint64_t idx = 1;
	char junk[4096] = { 0 };
	int p[2];

	start();
	ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	ck_assert_int_eq(fcntl(p[1], F_SETFL, 0), 0);	/* blocking again */
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_CALL, &idx, sizeof(idx),
	    &p[1], 1), 0);
	for (int i = 0; i < 3; i++)
		echo_polled(ff, 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Every row of tests/lib/hostile_chains.c, on a live daemon. */
START_TEST(hostile_chain_breaks_the_ring)
{
	struct hc_env env = { .qsize = QSIZE, .gap = 0x20000000 };
	int head;

	start();
	env.buf[0] = buf(4096);
	env.buf[1] = buf(4096);
	env.table = ff_alloc(ff, 1, HC_TABLE_ROOM, 16);
	env.table_host = ff_host(ff, env.table);
	env.region_end = ff->region[1].gpa + ff->region[1].size;
	env.desc = ff->q[1].desc;
	head = hc_lay(&hostile_chains[_i], &env);
	if (head >= 0)
		ff_publish(ff, 1, (uint16_t)head);
	else
		ff->q[1].avail->idx = QSIZE + 1;
	expect_ring_broken();
}
END_TEST

START_TEST(ring_rewritten_while_processing)
{
	/* Flip descriptors while the daemon reads them: never a crash. */
	start();
	for (int round = 0; round < 200; round++) {
		uint64_t in = buf(16), out = buf(16);
		struct ff_buf b[2] = { { in, 16, false }, { out, 16, true } };
		int head = ff_submit(ff, 1, b, 2, round % 2);

		ck_assert_int_ge(head, 0);
		ck_assert_int_eq(ff_kick(ff, 1), 0);
		desc((unsigned)head)->len ^= 0x7fffffff;
		desc((unsigned)head)->flags ^= VRING_DESC_F_WRITE;
		uint16_t id;
		uint32_t len;
		if (ff_wait_used(ff, 1, 200, &id, &len) != 0)
			break;	/* broken, as it may well be */
	}
	ck_assert(ff_daemon_alive(&td.d));
}
END_TEST

START_TEST(repeated_hostile_sessions_leak_nothing)
{
	int fds_after_first = -1, maps_after_first = -1;

	for (int i = 0; i < 10; i++) {
		if (ff == NULL)
			ff = vu_connect_synced();
		ck_assert_ptr_nonnull(ff);
		start();
		ff_publish(ff, 1, QSIZE + 1);
		ck_assert_int_eq(ff_kick(ff, 1), 0);
		ck_assert(ff_err_signalled(ff, 1, WAIT_MS));
		ff_close(ff);
		ff = NULL;
		tdaemon_assert_clean(&td);
		if (i == 0) {
			fds_after_first = ff_count_fds(td.d.pid);
			maps_after_first = ff_count_maps(td.d.pid, NULL);
		}
	}
	ck_assert_int_eq(ff_count_fds(td.d.pid), fds_after_first);
	ck_assert_int_le(ff_count_maps(td.d.pid, NULL), maps_after_first);
	ff = vu_connect_synced();
}
END_TEST

static Suite *
hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc;

	tc = tcase_create("frontend");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unknown_requests);
	tcase_add_test(tc, short_payload);
	tcase_add_test(tc, oversized_payload_for_request);
	tcase_add_test(tc, oversized_message_drops_connection);
	tcase_add_test(tc, bad_version_flags);
	tcase_add_test(tc, more_than_eight_fds);
	tcase_add_test(tc, fds_on_requests_that_take_none);
	tcase_add_test(tc, missing_fd);
	tcase_add_test(tc, disconnect_mid_message);
	tcase_add_test(tc, stall_mid_message_is_dropped);
	tcase_add_test(tc, queue_index_out_of_range);
	tcase_add_test(tc, zero_size_region);
	tcase_add_test(tc, overlapping_regions);
	tcase_add_test(tc, region_larger_than_its_file);
	tcase_add_test(tc, region_fd_not_memory);
	tcase_add_test(tc, table_count_mismatch);
	tcase_add_test(tc, overflowing_region);
	tcase_add_test(tc, ring_addresses_outside_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("guest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kick_fd_that_is_no_eventfd);
	tcase_add_test(tc, call_fd_that_blocks);
	tcase_add_loop_test(tc, hostile_chain_breaks_the_ring, 0,
	    (int)hostile_nchains);
	tcase_add_test(tc, ring_rewritten_while_processing);
	tcase_add_test(tc, repeated_hostile_sessions_leak_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(hostile_suite(), "check_hostile", LOG_LEVEL_ERROR);
}
