/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile descriptor chains as one table, run by both suites that need
 * them: check_units against the virtqueue in process, check_hostile
 * against a daemon through the fake frontend.  Every row must break the
 * ring.  A row names places symbolically; each suite says where they are
 * in its guest (struct hc_env) and hc_lay() writes the descriptors.
 */
#ifndef OBJFSD_HOSTILE_CHAINS_H
#define OBJFSD_HOSTILE_CHAINS_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

enum hc_where {
	HC_BUF0,	/* valid buffers, 4 KiB each */
	HC_BUF1,
	HC_TABLE,	/* the row's indirect table: valid, HC_TABLE_ROOM */
	HC_GAP,		/* guest-physical space between the regions */
	HC_REGION_END,	/* 4 bytes before the end of the last region */
	HC_WRAP,	/* 4 bytes before 2^64 */
};

#define HC_TABLE_ROOM		(32u << 10)
#define HC_NEXT_PAST_RING	0xffffu	/* stands for ring size + 1 */

struct hc_desc {
	uint8_t		where;		/* enum hc_where */
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct hostile_chain {
	const char	*name;
	struct hc_desc	 ring[2];	/* descriptors 0 and 1 of the ring */
	struct hc_desc	 table[2];	/* the indirect table at HC_TABLE */
	bool		 head_past_ring; /* publish head = ring size */
	bool		 avail_jump;	/* avail->idx runs ahead by size + 1 */
};

struct hc_env {
	uint16_t		 qsize;
	uint64_t		 buf[2];	/* HC_BUF0, HC_BUF1 */
	uint64_t		 table;		/* HC_TABLE */
	void			*table_host;
	uint64_t		 gap;
	uint64_t		 region_end;
	struct vring_desc	*desc;		/* the ring's table, host view */
};

extern const struct hostile_chain	hostile_chains[];
extern const unsigned			hostile_nchains;

/*
 * Writes row hc's descriptors; returns the head to publish, or -1 when
 * the row breaks the ring through the avail index instead.
 */
int	hc_lay(const struct hostile_chain *hc, const struct hc_env *env);

#endif
