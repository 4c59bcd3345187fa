/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "hostile_chains.h"
#include "virtq.h"

#define NEXT	VRING_DESC_F_NEXT
#define WRITE	VRING_DESC_F_WRITE
#define IND	VRING_DESC_F_INDIRECT

const struct hostile_chain hostile_chains[] = {
	{ .name = "loop", .ring = { { HC_BUF0, 8, NEXT, 1 }, { HC_BUF0, 8, NEXT, 0 } } },
	{ .name = "loop in an indirect table",
	  .table = { { HC_BUF0, 8, NEXT, 1 }, { HC_BUF0, 8, NEXT, 0 } },
	  .ring = { { HC_TABLE, 32, IND, 0 } } },
	{ .name = "head past the ring", .head_past_ring = true },
	{ .name = "next past the ring",
	  .ring = { { HC_BUF0, 8, NEXT, HC_NEXT_PAST_RING } } },
	{ .name = "next past the indirect table",
	  .table = { { HC_BUF0, 8, NEXT, 2 } },
	  .ring = { { HC_TABLE, 32, IND, 0 } } },
	{ .name = "nested indirect", .table = { { HC_BUF1, 16, IND, 0 } },
	  .ring = { { HC_TABLE, 16, IND, 0 } } },
	{ .name = "indirect with next",
	  .ring = { { HC_TABLE, 16, IND | NEXT, 1 }, { HC_BUF0, 8, 0, 0 } } },
	{ .name = "indirect length not a multiple of 16",
	  .ring = { { HC_TABLE, 24, IND, 0 } } },
	{ .name = "indirect table past the cap",
	  .ring = { { HC_TABLE, 16 * (VQ_INDIRECT_MIN_CAP + 1), IND, 0 } } },
	{ .name = "readable after writable",
	  .ring = { { HC_BUF0, 8, WRITE | NEXT, 1 }, { HC_BUF1, 8, 0, 0 } } },
	{ .name = "buffer between the regions", .ring = { { HC_GAP, 8, 0, 0 } } },
	{ .name = "buffer across the end of a region",
	  .ring = { { HC_REGION_END, 8, 0, 0 } } },
	{ .name = "buffer wrapping 2^64", .ring = { { HC_WRAP, 8, 0, 0 } } },
	{ .name = "4 GiB length", .ring = { { HC_BUF0, 0xffffffffu, 0, 0 } } },
	{ .name = "avail index jump", .avail_jump = true },
};

const unsigned hostile_nchains = sizeof(hostile_chains) /
    sizeof(hostile_chains[0]);

static uint64_t
hc_addr(const struct hc_env *env, uint8_t where)
{
	switch (where) {
	case HC_BUF0:
	case HC_BUF1:
		return env->buf[where - HC_BUF0];
	case HC_TABLE:
		return env->table;
	case HC_GAP:
		return env->gap;
	case HC_REGION_END:
		return env->region_end - 4;
	default:
		return UINT64_MAX - 3;
	}
}

static struct vring_desc
hc_desc(const struct hc_env *env, const struct hc_desc *d)
{
	return (struct vring_desc){ hc_addr(env, d->where), d->len, d->flags,
	    d->next == HC_NEXT_PAST_RING ? env->qsize + 1 : d->next };
}

int
hc_lay(const struct hostile_chain *hc, const struct hc_env *env)
{
	struct vring_desc *table = env->table_host;

	if (hc->avail_jump)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		if (hc->table[i].len != 0)
			table[i] = hc_desc(env, &hc->table[i]);
		if (hc->ring[i].len != 0)
			env->desc[i] = hc_desc(env, &hc->ring[i]);
	}
	return hc->head_past_ring ? env->qsize : 0;
}
