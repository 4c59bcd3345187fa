/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user conformance: the fake frontend drives testdevd (the transport
 * with an echo device) over a real socket.
 *
 * Every test ends the same way: the daemon is alive, has closed every fd
 * and unmapped every region the frontend gave it, and serves a new,
 * well-behaved frontend.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
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
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "log.h"

#define QSIZE	VU_TEST_QSIZE
#define WAIT_MS	VU_TEST_WAIT_MS

#define echo_ok		vu_echo_ok
#define no_answer	vu_no_answer

static void
setup(void)
{
	vufix_setup(NULL);
}

static void
setup_args(const char *const *args)
{
	vufix_setup(args);
}

static void
teardown(void)
{
	vufix_teardown();
}

/* Negotiation */

START_TEST(get_features_offers_virtio_fs_bits)
{
	uint64_t f;

	ck_assert_int_eq(ff_get_u64(ff, VU_GET_FEATURES, &f), 0);
	ck_assert_uint_eq(f & ff_default_features(), ff_default_features());
}
END_TEST

START_TEST(get_protocol_features_offers_required_bits)
{
	uint64_t want = ff_default_protocol_features() |
	    (1ULL << VU_PROTOCOL_F_BACKEND_SEND_FD), f;

	ck_assert_int_eq(ff_get_u64(ff, VU_GET_PROTOCOL_FEATURES, &f), 0);
	ck_assert_uint_eq(f, want);
}
END_TEST

START_TEST(set_features_rejects_unoffered_bits)
{
	ck_assert_int_eq(ff_negotiate(ff, ff_default_features(),
	    ff_default_protocol_features()), 0);
	ck_assert_int_ne(ff_set_u64(ff, VU_SET_FEATURES,
	    ff_default_features() | (1ULL << VIRTIO_F_IOMMU_PLATFORM)), 0);
	ck_assert_int_eq(ff_set_u64(ff, VU_SET_FEATURES,
	    ff_default_features()), 0);
}
END_TEST

START_TEST(set_protocol_features_rejects_unoffered_bits)
{
	ck_assert_int_ne(ff_set_u64(ff, VU_SET_PROTOCOL_FEATURES,
	    1ULL << VU_PROTOCOL_F_LOG_SHMFD), 0);
	ck_assert_int_eq(ff_set_u64(ff, VU_SET_PROTOCOL_FEATURES,
	    1ULL << VU_PROTOCOL_F_REPLY_ACK), 0);
}
END_TEST

START_TEST(get_queue_num_reports_queues)
{
	uint64_t n;

	ck_assert_int_eq(ff_get_u64(ff, VU_GET_QUEUE_NUM, &n), 0);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(get_queue_num_follows_option)
{
	static const char *const args[] = { "--queues=5", NULL };
	struct ff *f;
	uint64_t n;

	ff_close(ff);
	tdaemon_stop_ok(&td);
	setup_args(args);
	ck_assert_int_eq(ff_get_u64(ff, VU_GET_QUEUE_NUM, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(ff_start(ff, 5, QSIZE), 0);
	for (unsigned q = 0; q < 5; q++)
		echo_ok(ff, q, q % 2 == 1);
	(void)f;
}
END_TEST

START_TEST(owner_requests_are_acknowledged)
{
	ck_assert_int_eq(ff_set_u64(ff, VU_SET_FEATURES, 0), 0);
	ck_assert_int_eq(ff_call(ff, VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ff_call(ff, VU_RESET_OWNER, NULL, 0, NULL, 0), 0);
}
END_TEST

START_TEST(status_round_trips)
{
	uint64_t s;

	ck_assert_int_eq(ff_set_u64(ff, VU_SET_STATUS, 0xf), 0);
	ck_assert_int_eq(ff_get_u64(ff, VU_GET_STATUS, &s), 0);
	ck_assert_uint_eq(s, 0xf);
	ck_assert_int_ne(ff_set_u64(ff, VU_SET_STATUS, 0x1ff), 0);
}
END_TEST

/* Memory */

START_TEST(set_mem_table_maps_both_regions)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:fakefront"), 2);
	echo_ok(ff, 1, false);
	echo_ok(ff, 1, true);	/* the indirect table is in region 1 */
}
END_TEST

START_TEST(set_mem_table_replaces_old_table)
{
	struct vu_mem_table t = { .nregions = 1 };
	int fd = memfd_create("second", MFD_CLOEXEC);

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	t.regions[0] = (struct vu_region){ 0x900000000ULL, 1 << 20,
	    0x100000000ULL, 0 };
	ck_assert_int_eq(ff_call(ff, VU_SET_MEM_TABLE, &t, 8 + 32, &fd, 1), 0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:fakefront"), 0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:second"), 1);
	close(fd);
}
END_TEST

START_TEST(add_and_remove_mem_regions)
{
	struct vu_single_region sr = { 0 };

	ck_assert_int_eq(ff_negotiate(ff, ff_default_features(),
	    ff_default_protocol_features()), 0);
	ck_assert_int_eq(ff_setup_memory(ff, 1 << 20, true), 0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:fakefront"), 2);
	ck_assert_int_eq(ff_setup_queue(ff, 1, QSIZE), 0);
	echo_ok(ff, 1, false);
	sr.region = (struct vu_region){ FF_REGION_GPA1, 1 << 20,
	    (uint64_t)(uintptr_t)ff->region[1].host, 1 << 20 };
	ck_assert_int_eq(ff_call(ff, VU_REM_MEM_REG, &sr, sizeof(sr), NULL, 0),
	    0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:fakefront"), 1);
	ck_assert_int_ne(ff_call(ff, VU_REM_MEM_REG, &sr, sizeof(sr), NULL, 0),
	    0);
	/* Region 1 is gone: an echo there breaks the ring. */
	uint64_t in = FF_REGION_GPA1 + 4096, out = ff_alloc(ff, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	ck_assert(ff_err_signalled(ff, 1, WAIT_MS));
}
END_TEST

START_TEST(max_mem_slots_are_usable)
{
	struct vu_single_region sr = { 0 };
	uint64_t slots;
	int fd = memfd_create("slots", MFD_CLOEXEC);
	unsigned i;

	ck_assert_int_eq(ff_negotiate(ff, ff_default_features(),
	    ff_default_protocol_features()), 0);
	ck_assert_int_eq(ff_get_u64(ff, VU_GET_MAX_MEM_SLOTS, &slots), 0);
	ck_assert_uint_ge(slots, 32);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	for (i = 0; i < slots; i++) {
		sr.region = (struct vu_region){ 0x100000000ULL + i * 0x10000ULL,
		    4096, 0x200000000ULL + i * 0x10000ULL, 0 };
		ck_assert_int_eq(ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr),
		    &fd, 1), 0);
	}
	sr.region.guest_phys_addr = 0x900000000ULL;
	sr.region.userspace_addr = 0xa00000000ULL;
	ck_assert_int_ne(ff_call(ff, VU_ADD_MEM_REG, &sr, sizeof(sr), &fd, 1),
	    0);
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:slots"), (int)slots);
	close(fd);
}
END_TEST

/* Rings */

START_TEST(set_vring_num_checks_size)
{
	static const uint32_t bad[] = { 0, 3, 100, 65536, 0x10000 * 2 };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_ne(ff_vring_state(ff, VU_SET_VRING_NUM, 1,
		    bad[i]), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_NUM, 1, 32768), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_NUM, 1, 1), 0);
}
END_TEST

START_TEST(set_vring_addr_checks_memory_and_alignment)
{
	struct vhost_vring_addr a = { .index = 1 };
	uint64_t base;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_ENABLE, 1, 0), 0);
	base = (uint64_t)(uintptr_t)ff->region[0].host;
	/* GET_VRING_BASE stops the ring so its geometry may change. */
	uint32_t b;
	ck_assert_int_eq(ff_get_vring_base(ff, 1, &b), 0);
	a.desc_user_addr = base + 0x1000;
	a.avail_user_addr = base + 0x2000;
	a.used_user_addr = base + 0x3000;
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
	a.desc_user_addr = base + 0x1008;			/* misaligned */
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
	a.desc_user_addr = base + (8 << 20) - 16;		/* runs past */
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
	a.desc_user_addr = 0x1000;				/* unmapped */
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
	a.desc_user_addr = base + 0x1000;
	a.flags = 1u << VHOST_VRING_F_LOG;
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    0);
}
END_TEST

START_TEST(get_vring_base_stops_and_base_resumes)
{
	uint32_t base;
	int kick;
	uint64_t v = 1;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	for (int i = 0; i < 3; i++)
		echo_ok(ff, 1, i == 1);
	ck_assert_int_eq(ff_get_vring_base(ff, 1, &base), 0);
	ck_assert_uint_eq(base, 3);
	/* Stopped: a kick on the old fd does nothing. */
	uint64_t in = ff_alloc(ff, 1, 8, 8), out = ff_alloc(ff, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	no_answer(ff, 1, 200);
	/* Restart where it stopped, with new kick and call fds. */
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_BASE, 1, base), 0);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v = 1 | 0;
	close(ff->q[1].call_fd);
	ff->q[1].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_CALL, &v, sizeof(v),
	    &ff->q[1].call_fd, 1), 0);
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_KICK, &v, sizeof(v), &kick,
	    1), 0);
	close(ff->q[1].kick_fd);
	ff->q[1].kick_fd = kick;
	uint16_t id;
	uint32_t len;
	ck_assert_int_eq(ff_wait_used(ff, 1, WAIT_MS, &id, &len), 0);
	ck_assert_uint_eq(len, 4);
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(get_vring_base_waits_for_inflight)
{
	uint64_t in, out;
	uint32_t base;
	uint16_t id;
	uint32_t len;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	in = ff_alloc(ff, 1, 16, 8);
	out = ff_alloc(ff, 0, 16, 8);
	strcpy(ff_host(ff, in), "SLEEP300");
	struct ff_buf b[2] = { { in, 9, false }, { out, 16, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	usleep(50000);
	ck_assert_int_eq(ff_get_vring_base(ff, 1, &base), 0);
	/* The reply came only after the request completed. */
	ck_assert_uint_eq(base, 1);
	ck_assert_int_eq(ff_poll_used(ff, 1, &id, &len), 1);
	ck_assert_uint_eq(len, 9);
}
END_TEST

START_TEST(kick_starts_the_ring)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert(ff_log_contains(&td.d, "queue 1 started", WAIT_MS));
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(vring_enable_gates_processing)
{
	uint64_t in, out;
	uint16_t id;
	uint32_t len;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_ENABLE, 1, 0), 0);
	in = ff_alloc(ff, 1, 8, 8);
	out = ff_alloc(ff, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	no_answer(ff, 1, 200);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_ENABLE, 1, 1), 0);
	ck_assert_int_eq(ff_wait_used(ff, 1, WAIT_MS, &id, &len), 0);
	ck_assert_int_ne(ff_vring_state(ff, VU_SET_VRING_ENABLE, 1, 2), 0);
}
END_TEST

START_TEST(rings_start_enabled_without_protocol_features)
{
	uint64_t features = ff_default_features() &
	    ~(1ULL << VU_F_PROTOCOL_FEATURES);
	uint64_t f;

	ck_assert_int_eq(ff_get_u64(ff, VU_GET_FEATURES, &f), 0);
	/* Without protocol features there is no REPLY_ACK: plain sends. */
	ck_assert_int_eq(ff_send(ff, VU_SET_FEATURES, VU_VERSION, &features,
	    8, NULL, 0), 0);
	ff->features = features;
	ff->protocol_features = 0;
	ck_assert_int_eq(ff_setup_memory(ff, 1 << 20, false), 0);
	ck_assert_int_eq(ff_setup_queue(ff, 1, QSIZE), 0);
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(call_without_fd_is_polled)
{
	uint64_t v = 1 | VU_VRING_NOFD;
	uint64_t in, out;
	uint16_t id;
	uint32_t len;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(ff_call(ff, VU_SET_VRING_CALL, &v, sizeof(v), NULL,
	    0), 0);
	in = ff_alloc(ff, 1, 8, 8);
	out = ff_alloc(ff, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	for (int i = 0; i < 500 && !ff_poll_used(ff, 1, &id, &len); i++)
		usleep(10000);
	ck_assert_uint_eq(len, 4);
	/* And no call came on the old fd. */
	ck_assert_int_eq(eventfd_read(ff->q[1].call_fd, &v), -1);
}
END_TEST

START_TEST(vring_fd_flag_must_match_fds)
{
	uint64_t v = 1 | VU_VRING_NOFD;
	int fd = eventfd(0, 0);

	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_KICK, &v, sizeof(v), &fd, 1),
	    0);
	v = 1;
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_KICK, &v, sizeof(v), NULL, 0),
	    0);
	v = 1 | (1u << 9);
	ck_assert_int_ne(ff_call(ff, VU_SET_VRING_CALL, &v, sizeof(v), &fd, 1),
	    0);
	close(fd);
}
END_TEST

START_TEST(err_fd_signalled_on_broken_ring)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ff_publish(ff, 1, QSIZE + 3);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	ck_assert(ff_err_signalled(ff, 1, WAIT_MS));
	ck_assert(ff_log_contains(&td.d, "head index", WAIT_MS));
	/* The other ring is unaffected. */
	echo_ok(ff, 0, false);
}
END_TEST

START_TEST(reset_device_stops_rings)
{
	uint64_t in, out;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	echo_ok(ff, 1, false);
	ck_assert_int_eq(ff_call(ff, VU_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	in = ff_alloc(ff, 1, 8, 8);
	out = ff_alloc(ff, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	ck_assert_int_ge(ff_submit(ff, 1, b, 2, false), 0);
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	no_answer(ff, 1, 200);
	/* Memory survives a device reset; rings are set up again. */
	ck_assert_int_eq(ff_count_maps(td.d.pid, "memfd:fakefront"), 2);
}
END_TEST

START_TEST(multiple_queues_run_independently)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	for (int i = 0; i < 20; i++) {
		echo_ok(ff, (unsigned)(i % 2), i % 3 == 0);
	}
}
END_TEST

START_TEST(many_requests_in_flight)
{
	uint64_t in[QSIZE], out[QSIZE];
	unsigned seen = 0;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	for (unsigned i = 0; i < QSIZE / 2; i++) {
		in[i] = ff_alloc(ff, 1, 16, 8);
		out[i] = ff_alloc(ff, 0, 16, 8);
		snprintf(ff_host(ff, in[i]), 16, "req%u", i);
		struct ff_buf b[2] = { { in[i], 16, false },
		    { out[i], 16, true } };
		ck_assert_int_ge(ff_submit(ff, 1, b, 2, i % 2), 0);
	}
	ck_assert_int_eq(ff_kick(ff, 1), 0);
	while (seen < QSIZE / 2) {
		uint16_t id;
		uint32_t len;

		ck_assert_int_eq(ff_wait_used(ff, 1, WAIT_MS, &id, &len), 0);
		ck_assert_uint_eq(len, 16);
		seen++;
	}
	for (unsigned i = 0; i < QSIZE / 2; i++)
		ck_assert_str_eq(ff_host(ff, out[i]), ff_host(ff, in[i]));
}
END_TEST

/* REPLY_ACK and unsupported requests */

START_TEST(reply_ack_answers_requests_without_replies)
{
	ck_assert_int_eq(ff_call(ff, VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_NUM, 0, 16), 0);
	ck_assert_int_eq(ff_vring_state(ff, VU_SET_VRING_BASE, 0, 5), 0);
}
END_TEST

START_TEST(unsupported_requests_fail_and_log_once)
{
	uint64_t v = 0;
	int fd = eventfd(0, 0);

	ck_assert_int_gt(ff_call(ff, VU_SET_LOG_BASE, &v, 8, &fd, 1), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_LOG_BASE, &v, 8, &fd, 1), 0);
	ck_assert_int_gt(ff_call(ff, VU_GET_CONFIG, &v, 8, NULL, 0), 0);
	ck_assert_int_gt(ff_call(ff, VU_SET_DEVICE_STATE_FD, &v, 8, &fd, 1),
	    0);
	ck_assert_int_eq(ff_call(ff, VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(count_in_log(&td.d, "SET_LOG_BASE is not supported"),
	    1);
	close(fd);
}
END_TEST

/* Backend channel */

static int32_t
backend_request(struct ff *f, uint64_t answer, bool close_channel,
    bool silent)
{
	uint64_t in = ff_alloc(f, 1, 8, 8), out = ff_alloc(f, 0, 8, 8);
	struct ff_buf b[2] = { { in, 4, false }, { out, 8, true } };
	struct vu_header hdr;
	uint16_t id;
	uint32_t len;
	int32_t rc;

	memcpy(ff_host(f, in), "BKND", 4);
	ck_assert_int_ge(ff_submit(f, 1, b, 2, false), 0);
	if (close_channel) {
		close(f->backend_fd);
		f->backend_fd = -1;
	}
	ck_assert_int_eq(ff_kick(f, 1), 0);
	if (!close_channel && !silent) {
		ck_assert_int_eq(ff_backend_answer(f, WAIT_MS, answer, &hdr),
		    0);
		ck_assert_uint_eq(hdr.request, VU_BACKEND_CONFIG_CHANGE_MSG);
		ck_assert_uint_eq(hdr.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	}
	ck_assert_int_eq(ff_wait_used(f, 1, 3 * WAIT_MS, &id, &len), 0);
	ck_assert_uint_eq(len, 4);
	memcpy(&rc, ff_host(f, out), 4);
	return rc;
}

START_TEST(backend_channel_round_trip)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(backend_request(ff, 0, false, false), 0);
	ck_assert_int_eq(backend_request(ff, 1, false, false), -EIO);
	ck_assert_int_eq(backend_request(ff, 0, false, false), 0);
}
END_TEST

START_TEST(backend_channel_timeout_is_an_error)
{
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	ck_assert_int_eq(backend_request(ff, 0, false, true), -ETIMEDOUT);
	/* The channel was closed after the timeout. */
	ck_assert_int_eq(backend_request(ff, 0, true, false), -ENOTCONN);
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(backend_channel_dead_is_an_error)
{
	int32_t rc;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	rc = backend_request(ff, 0, true, false);
	ck_assert(rc == -EPIPE || rc == -ECONNRESET);
	ck_assert_int_eq(backend_request(ff, 0, false, true), -ENOTCONN);
}
END_TEST

/* Sockets and connections */

START_TEST(socket_is_private)
{
	struct stat st;

	ck_assert_int_eq(stat(td.d.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(second_frontend_is_refused)
{
	struct ff *other;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	other = ff_connect(td.d.sock);
	ck_assert_ptr_nonnull(other);
	ck_assert(ff_peer_closed(other, WAIT_MS));
	ff_close(other);
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(reconnect_after_disconnect)
{
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
		echo_ok(ff, 1, false);
		ff_close(ff);
		tdaemon_assert_clean(&td);
		ff = vu_connect_synced();
		ck_assert_ptr_nonnull(ff);
	}
}
END_TEST

START_TEST(sigterm_exits_cleanly_and_removes_socket)
{
	char sock[sizeof(td.d.sock)];
	int status;

	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	echo_ok(ff, 1, false);
	memcpy(sock, td.d.sock, sizeof(sock));
	/* A frontend is still attached; the daemon must let it go. */
	kill(td.d.pid, SIGTERM);
	ck_assert_int_eq(waitpid(td.d.pid, &status, 0), td.d.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(access(sock, F_OK), -1);
	/* Start a fresh one for teardown. */
	ff_close(ff);
	td.d.pid = 0;
	setup();
}
END_TEST

static int
run_daemon_args(const char *const *argv, int keep_fd)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(live_socket_is_not_stolen)
{
	char arg[200];
	const char *argv[] = { test_binary("TESTDEVD", "tests/lib/testdevd"), arg,
	    NULL };

	snprintf(arg, sizeof(arg), "--socket-path=%s", td.d.sock);
	ck_assert_int_ne(run_daemon_args(argv, -1), 0);
	ck_assert_int_eq(ff_start(ff, 2, QSIZE), 0);
	echo_ok(ff, 1, false);
}
END_TEST

START_TEST(non_socket_path_is_left_alone)
{
	char path[200], arg[220];
	const char *argv[] = { test_binary("TESTDEVD", "tests/lib/testdevd"), arg,
	    NULL };
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/regular", td.d.dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	ck_assert_int_ne(run_daemon_args(argv, -1), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tdaemon other;
	char path[200];
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(path, sizeof(path), "%s/stale.sock", td.d.dir);
	strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);	/* bound, never listened: a dead daemon's leftover */
	memset(&other, 0, sizeof(other));
	const char *argv[] = { test_binary("TESTDEVD", "tests/lib/testdevd"), NULL,
	    NULL };
	char arg[220];
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	argv[1] = arg;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	struct ff *f = NULL;
	for (int i = 0; i < 500 && f == NULL; i++) {
		usleep(10000);
		f = ff_connect(path);
	}
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ff_start(f, 2, QSIZE), 0);
	echo_ok(f, 1, false);
	ff_close(f);
	kill(pid, SIGTERM);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(inherited_connected_fd)
{
	int sv[2], status;
	char arg[32];
	pid_t pid;
	struct ff *f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(arg, sizeof(arg), "--fd=%d", sv[1]);
	pid = fork();
	if (pid == 0) {
		const char *argv[] = { test_binary("TESTDEVD",
		    "tests/lib/testdevd"), arg, NULL };
		int null = open("/dev/null", O_WRONLY);

		close(sv[0]);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	f = ff_adopt(sv[0]);
	ck_assert_int_eq(ff_start(f, 2, QSIZE), 0);
	echo_ok(f, 1, true);
	/* With only a connected socket, the daemon ends with the frontend. */
	ff_close(f);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(inherited_listening_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[200], arg[32];
	int s, status;
	pid_t pid;
	struct ff *f;

	snprintf(path, sizeof(path), "%s/inherited.sock", td.d.dir);
	strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	snprintf(arg, sizeof(arg), "--fd=%d", s);
	pid = fork();
	if (pid == 0) {
		const char *argv[] = { test_binary("TESTDEVD",
		    "tests/lib/testdevd"), arg, NULL };
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(s);
	for (int round = 0; round < 2; round++) {
		f = ff_connect(path);
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(ff_start(f, 2, QSIZE), 0);
		echo_ok(f, 1, false);
		ff_close(f);
	}
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(bad_fd_option_is_refused)
{
	int fd = open("/dev/null", O_RDONLY);
	char arg[32];
	const char *argv[] = { test_binary("TESTDEVD", "tests/lib/testdevd"), arg,
	    NULL };

	snprintf(arg, sizeof(arg), "--fd=%d", fd);
	ck_assert_int_ne(run_daemon_args(argv, fd), 0);
	close(fd);
}
END_TEST

static Suite *
vhost_user_suite(void)
{
	Suite *s = suite_create("vhost-user");
	TCase *tc;

	tc = tcase_create("negotiation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_features_offers_virtio_fs_bits);
	tcase_add_test(tc, get_protocol_features_offers_required_bits);
	tcase_add_test(tc, set_features_rejects_unoffered_bits);
	tcase_add_test(tc, set_protocol_features_rejects_unoffered_bits);
	tcase_add_test(tc, get_queue_num_reports_queues);
	tcase_add_test(tc, get_queue_num_follows_option);
	tcase_add_test(tc, owner_requests_are_acknowledged);
	tcase_add_test(tc, status_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, set_mem_table_maps_both_regions);
	tcase_add_test(tc, set_mem_table_replaces_old_table);
	tcase_add_test(tc, add_and_remove_mem_regions);
	tcase_add_test(tc, max_mem_slots_are_usable);
	suite_add_tcase(s, tc);

	tc = tcase_create("rings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, set_vring_num_checks_size);
	tcase_add_test(tc, set_vring_addr_checks_memory_and_alignment);
	tcase_add_test(tc, get_vring_base_stops_and_base_resumes);
	tcase_add_test(tc, get_vring_base_waits_for_inflight);
	tcase_add_test(tc, kick_starts_the_ring);
	tcase_add_test(tc, vring_enable_gates_processing);
	tcase_add_test(tc, rings_start_enabled_without_protocol_features);
	tcase_add_test(tc, call_without_fd_is_polled);
	tcase_add_test(tc, vring_fd_flag_must_match_fds);
	tcase_add_test(tc, err_fd_signalled_on_broken_ring);
	tcase_add_test(tc, reset_device_stops_rings);
	tcase_add_test(tc, multiple_queues_run_independently);
	tcase_add_test(tc, many_requests_in_flight);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reply_ack_answers_requests_without_replies);
	tcase_add_test(tc, unsupported_requests_fail_and_log_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend-channel");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, backend_channel_round_trip);
	tcase_add_test(tc, backend_channel_timeout_is_an_error);
	tcase_add_test(tc, backend_channel_dead_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, socket_is_private);
	tcase_add_test(tc, second_frontend_is_refused);
	tcase_add_test(tc, reconnect_after_disconnect);
	tcase_add_test(tc, sigterm_exits_cleanly_and_removes_socket);
	tcase_add_test(tc, live_socket_is_not_stolen);
	tcase_add_test(tc, non_socket_path_is_left_alone);
	tcase_add_test(tc, stale_socket_is_replaced);
	tcase_add_test(tc, inherited_connected_fd);
	tcase_add_test(tc, inherited_listening_fd);
	tcase_add_test(tc, bad_fd_option_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(vhost_user_suite(), "check_vhost_user", LOG_LEVEL_ERROR);
}
