/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monotonic time for timeouts, deadlines and intervals: never the wall
 * clock, which may jump.
 */
#ifndef OBJFSD_MONOTIME_H
#define OBJFSD_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t
monotime_ns_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
monotime_ns(void)
{
	return monotime_ns_of(CLOCK_MONOTONIC);
}

static inline int64_t
monotime_us(void)
{
	return monotime_ns() / 1000;
}

static inline int64_t
monotime_ms(void)
{
	return monotime_ns() / 1000000;
}

/* A few milliseconds coarse, and cheaper: for caches checked per call. */
static inline int64_t
monotime_coarse_ms(void)
{
	return monotime_ns_of(CLOCK_MONOTONIC_COARSE) / 1000000;
}

#endif
