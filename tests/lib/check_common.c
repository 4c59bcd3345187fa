/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the Check suites that run a daemon under test.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_common.h"
#include "monotime.h"

const char *
test_binary(const char *env, const char *fallback)
{
	const char *p = getenv(env);

	return p != NULL ? p : fallback;
}

/*
 * Start the daemon, let warm_up run one well-behaved session (so thread
 * stacks and allocator arenas exist), then record the counts that every
 * later idle moment must come back to.
 */
void
tdaemon_start(struct tdaemon *t, const char *binary, const char *const *args,
    void (*warm_up)(struct tdaemon *))
{
	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(ff_daemon_start(&t->d, binary, args), 0);
	t->base_fds = -1;
	if (warm_up != NULL)
		warm_up(t);
	tdaemon_wait_quiet(t);
	t->base_fds = ff_count_fds(t->d.pid);
	t->base_maps = ff_count_maps(t->d.pid, NULL);
	ck_assert_int_gt(t->base_fds, 0);
}

/*
 * Wait until the daemon has dropped every trace of past frontends: it logs
 * the disconnect only once everything is closed and unmapped.
 */
void
tdaemon_wait_quiet(struct tdaemon *t)
{
	int64_t deadline = monotime_ms() + 5000;

	while (monotime_ms() < deadline) {
		bool fds_ok = t->base_fds < 0 ||
		    ff_count_fds(t->d.pid) == t->base_fds;

		if (fds_ok && ff_count_maps(t->d.pid, "memfd:") == 0 &&
		    count_in_log(&t->d, "frontend connected") ==
		    count_in_log(&t->d, "frontend disconnected"))
			return;
		usleep(10000);
	}
}

/* What the daemon holds, for failure messages. */
static void
describe_fds(pid_t pid, char *out, size_t outsz)
{
	char dir[64], path[320], target[256];
	struct dirent *e;
	size_t used = 0;
	DIR *d;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL && used < outsz) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		used += (size_t)snprintf(out + used, outsz - used, " %s=%s",
		    e->d_name, target);
	}
	closedir(d);
}

void
tdaemon_assert_clean(struct tdaemon *t)
{
	char fds[2048];
	int n;

	ck_assert_msg(ff_daemon_alive(&t->d), "daemon died");
	tdaemon_wait_quiet(t);
	n = ff_count_fds(t->d.pid);
	describe_fds(ff_server_pid(t->d.pid), fds, sizeof(fds));
	ck_assert_msg(n == t->base_fds, "daemon has %d fds, not %d:%s", n,
	    t->base_fds, fds);
	ck_assert_int_eq(ff_count_maps(t->d.pid, "memfd:"), 0);
	ck_assert_int_le(ff_count_maps(t->d.pid, NULL),
	    t->base_maps + MAPS_SLACK);
}

void
tdaemon_stop_ok(struct tdaemon *t)
{
	ck_assert_int_eq(ff_daemon_stop(&t->d), 0);
}

int
count_in_log(const struct ff_daemon *d, const char *needle)
{
	char line[1024];
	FILE *f = fopen(d->log, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

struct tdaemon	 td;
struct ff	*ff;

/* Echo "hello" through queue q and check the answer. */
void
vu_echo_ok(struct ff *f, unsigned q, bool indirect)
{
	uint64_t in = ff_alloc(f, 1, 64, 8), out = ff_alloc(f, 0, 64, 8);
	struct ff_buf b[2] = { { in, 6, false }, { out, 64, true } };
	uint16_t id;
	uint32_t len;
	int head;

	memcpy(ff_host(f, in), "hello", 6);
	head = ff_submit(f, q, b, 2, indirect);
	ck_assert_int_ge(head, 0);
	ck_assert_int_eq(ff_kick(f, q), 0);
	ck_assert_int_eq(ff_wait_used(f, q, VU_TEST_WAIT_MS, &id, &len), 0);
	ck_assert_int_eq(id, head);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(ff_host(f, out), "hello");
}

void
vu_no_answer(struct ff *f, unsigned q, int ms)
{
	uint16_t id;
	uint32_t len;

	ck_assert_int_eq(ff_wait_used(f, q, ms, &id, &len), -ETIMEDOUT);
}

/* Every queue the daemon has runs, so later sessions add no threads. */
static void
vu_well_behaved_session(struct tdaemon *t)
{
	struct ff *f = ff_connect(t->d.sock);
	uint64_t nq;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ff_get_u64(f, VU_GET_QUEUE_NUM, &nq), 0);
	ck_assert_int_eq(ff_start(f, (unsigned)nq, VU_TEST_QSIZE), 0);
	for (unsigned q = 0; q < nq; q++)
		vu_echo_ok(f, q, q % 2 == 1);
	ff_close(f);
}

/*
 * Connect and make one round trip, so the daemon has accepted the
 * connection: one closed while still in the listen backlog would be
 * accepted after the leak checks looked.
 */
struct ff *
vu_connect_synced(void)
{
	struct ff *f = ff_connect(td.d.sock);
	uint64_t features;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ff_get_u64(f, VU_GET_FEATURES, &features), 0);
	return f;
}

void
vufix_setup(const char *const *args)
{
	tdaemon_start(&td, test_binary("TESTDEVD", "tests/lib/testdevd"), args,
	    vu_well_behaved_session);
	ff = vu_connect_synced();
}

/* The daemon is clean, serves a new frontend, and exits 0 on SIGTERM. */
void
vufix_teardown(void)
{
	ff_close(ff);
	ff = NULL;
	tdaemon_assert_clean(&td);
	vu_well_behaved_session(&td);
	tdaemon_assert_clean(&td);
	tdaemon_stop_ok(&td);
}

/* Resident set of a process in KiB, -1 when it cannot be read. */
long
proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)ff_server_pid(pid));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* User and system time of a process, in clock ticks; -1 if unreadable. */
long
proc_cpu_ticks(pid_t pid)
{
	char path[64];
	long utime, stime;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ff_server_pid(pid));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%ld %ld", &utime, &stime);
	fclose(f);
	return n == 2 ? utime + stime : -1;
}
