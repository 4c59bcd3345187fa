/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory budget: one atomic counter against a fixed limit.  Takes
 * and gives come from every worker and fetch thread, so no lock: a take
 * is a compare-and-swap loop that never lets the count pass the limit.
 */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "membudget.h"

struct membudget {
	uint64_t	limit;
	uint64_t	used;		/* atomic */
};

struct membudget *
membudget_new(uint64_t limit)
{
	struct membudget *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->limit = limit;
	return b;
}

void
membudget_free(struct membudget *b)
{
	if (b != NULL && __atomic_load_n(&b->used, __ATOMIC_RELAXED) != 0)
		log_warnx("memory budget freed with %llu bytes still taken",
		    (unsigned long long)b->used);
	free(b);
}

bool
membudget_take(struct membudget *b, size_t n)
{
	uint64_t used;

	if (b == NULL)
		return true;
	used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
	do {
		if (n > b->limit || used > b->limit - n)
			return false;
	} while (!__atomic_compare_exchange_n(&b->used, &used, used + n, true,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

void
membudget_charge(struct membudget *b, size_t n)
{
	if (b != NULL)
		__atomic_add_fetch(&b->used, n, __ATOMIC_RELAXED);
}

void
membudget_give(struct membudget *b, size_t n)
{
	uint64_t before;

	if (b == NULL)
		return;
	before = __atomic_fetch_sub(&b->used, n, __ATOMIC_RELAXED);
	if (before < n)
		fatalx("memory budget: %zu bytes given back, %llu taken", n,
		    (unsigned long long)before);
}

bool
membudget_over(const struct membudget *b)
{
	return b != NULL &&
	    __atomic_load_n(&b->used, __ATOMIC_RELAXED) >= b->limit;
}

uint64_t
membudget_used(const struct membudget *b)
{
	return b == NULL ? 0 : __atomic_load_n(&b->used, __ATOMIC_RELAXED);
}

uint64_t
membudget_limit(const struct membudget *b)
{
	return b == NULL ? UINT64_MAX : b->limit;
}
