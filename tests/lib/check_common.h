/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the Check suites that run a daemon under test.
 */
#ifndef OBJFSD_CHECK_COMMON_H
#define OBJFSD_CHECK_COMMON_H

#include <stdbool.h>
#include <stdlib.h>

#include "fakefront.h"

/* A daemon with the fd and mapping counts it has when no frontend is on. */
struct tdaemon {
	struct ff_daemon d;
	int		 base_fds;
	int		 base_maps;
};

/*
 * Slack for allocator arenas and cached thread stacks in map counts.
 * AddressSanitizer's allocator maps memory in chunks as a process grows
 * and keeps them, so a sanitizer build (OBJFSD_SANITIZERS set) gets more;
 * leaked guest memory is caught separately, by counting memfd mappings.
 */
#define MAPS_SLACK	(getenv("OBJFSD_SANITIZERS") != NULL ? 256 : 8)

const char	*test_binary(const char *env, const char *fallback);
void		 tdaemon_start(struct tdaemon *t, const char *binary,
		    const char *const *args,
		    void (*warm_up)(struct tdaemon *));
void		 tdaemon_wait_quiet(struct tdaemon *t);
void		 tdaemon_assert_clean(struct tdaemon *t);
void		 tdaemon_stop_ok(struct tdaemon *t);
int		 count_in_log(const struct ff_daemon *d, const char *needle);
long		 proc_rss_kb(pid_t pid);
long		 proc_cpu_ticks(pid_t pid);

/* The vhost-user fixture: testdevd and one connected fake frontend. */
#define VU_TEST_QSIZE	64
#define VU_TEST_WAIT_MS	5000

extern struct tdaemon	 td;
extern struct ff	*ff;

struct ff *vu_connect_synced(void);
void	vufix_setup(const char *const *args);
void	vufix_teardown(void);
void	vu_echo_ok(struct ff *f, unsigned q, bool indirect);
void	vu_no_answer(struct ff *f, unsigned q, int ms);

#endif
