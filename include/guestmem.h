/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory: the regions a vhost-user frontend shares with us, and the
 * one place where guest-physical and frontend-virtual addresses become host
 * pointers.
 *
 * A translation succeeds only when the whole range lies inside one region;
 * anything else (a range straddling two regions, past the end, wrapping
 * around 2^64) yields NULL.
 *
 * Threading: translation is read-only and may run on any thread.  The
 * modifiers (gm_set_table, gm_add, gm_remove, gm_clear) unmap memory that
 * pointers from earlier translations may still use, so the vhost-user layer
 * calls them only while every queue is quiesced: no queue thread running
 * and no request in flight.
 */
#ifndef OBJFSD_GUESTMEM_H
#define OBJFSD_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

/* Wire layout of one region, as SET_MEM_TABLE and ADD_MEM_REG carry it. */
struct gm_layout {
	uint64_t	gpa;
	uint64_t	size;
	uint64_t	uva;
	uint64_t	mmap_offset;
};

struct gm_region {
	struct gm_layout layout;
	void		*map;		/* what mmap returned */
	size_t		 map_len;
	uint8_t		*host;		/* host address of layout.gpa */
};

struct guestmem {
	struct gm_region *regions;	/* sorted by gpa, never overlapping */
	unsigned	  nregions;
	unsigned	  max_regions;
};

int	gm_init(struct guestmem *gm, unsigned max_regions);
void	gm_destroy(struct guestmem *gm);

/* Modifiers; see Threading above.  The fds are not consumed. */
int	gm_set_table(struct guestmem *gm, const struct gm_layout *layouts,
	    const int *fds, unsigned n);
int	gm_add(struct guestmem *gm, const struct gm_layout *layout, int fd);
int	gm_remove(struct guestmem *gm, const struct gm_layout *layout);
void	gm_clear(struct guestmem *gm);

/* Translation: NULL unless [addr, addr + len) is inside one region. */
void	*gm_gpa_to_host(const struct guestmem *gm, uint64_t gpa, uint64_t len);
void	*gm_uva_to_host(const struct guestmem *gm, uint64_t uva, uint64_t len);

#endif
