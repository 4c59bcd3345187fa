/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory regions: validation, mapping and address translation.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guestmem.h"
#include "log.h"

int
gm_init(struct guestmem *gm, unsigned max_regions)
{
	memset(gm, 0, sizeof(*gm));
	gm->regions = calloc(max_regions, sizeof(*gm->regions));
	if (gm->regions == NULL)
		return -ENOMEM;
	gm->max_regions = max_regions;
	return 0;
}

void
gm_destroy(struct guestmem *gm)
{
	if (gm->regions == NULL)
		return;
	gm_clear(gm);
	free(gm->regions);
	gm->regions = NULL;
}

/* [a, a+alen) and [b, b+blen) intersect; both are known not to wrap. */
static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool
range_wraps(uint64_t start, uint64_t len)
{
	return len - 1 > UINT64_MAX - start;
}

static int
gm_check_layout(const struct gm_layout *l)
{
	if (l->size == 0) {
		log_warnx("memory region at gpa 0x%llx has zero size",
		    (unsigned long long)l->gpa);
		return -EINVAL;
	}
	if (range_wraps(l->gpa, l->size) || range_wraps(l->uva, l->size) ||
	    range_wraps(l->mmap_offset, l->size) ||
	    l->mmap_offset + l->size > (uint64_t)INT64_MAX ||
	    l->size > SIZE_MAX / 2) {
		log_warnx("memory region at gpa 0x%llx size 0x%llx overflows",
		    (unsigned long long)l->gpa, (unsigned long long)l->size);
		return -EINVAL;
	}
	return 0;
}

static int
gm_check_overlap(const struct gm_region *regions, unsigned n,
    const struct gm_layout *l)
{
	for (unsigned i = 0; i < n; i++) {
		const struct gm_layout *o = &regions[i].layout;

		if (ranges_overlap(o->gpa, o->size, l->gpa, l->size) ||
		    ranges_overlap(o->uva, o->size, l->uva, l->size)) {
			log_warnx("memory region at gpa 0x%llx overlaps the "
			    "region at gpa 0x%llx",
			    (unsigned long long)l->gpa,
			    (unsigned long long)o->gpa);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Map only the pages that hold the region, not the whole file up to it.
 * The file must be large enough: touching a page past its end would kill
 * the daemon with SIGBUS.
 */
static int
gm_map(const struct gm_layout *l, int fd, struct gm_region *r)
{
	struct stat st;
	uint64_t align, map_off, lead;
	void *p;

	if (fstat(fd, &st) == -1) {
		log_warn("memory region fd");
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < l->mmap_offset + l->size) {
		log_warnx("memory region at gpa 0x%llx: fd is not a shared "
		    "memory file of at least %llu bytes",
		    (unsigned long long)l->gpa,
		    (unsigned long long)(l->mmap_offset + l->size));
		return -EINVAL;
	}
	align = (uint64_t)sysconf(_SC_PAGESIZE);
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > align &&
	    (st.st_blksize & (st.st_blksize - 1)) == 0)
		align = (uint64_t)st.st_blksize;	/* hugetlbfs */
	map_off = l->mmap_offset & ~(align - 1);
	lead = l->mmap_offset - map_off;
	p = mmap(NULL, lead + l->size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
	if (p == MAP_FAILED) {
		log_warn("mmap of memory region at gpa 0x%llx",
		    (unsigned long long)l->gpa);
		return -errno;
	}
	/* Guest memory has no place in a core dump of the daemon. */
	(void)madvise(p, lead + l->size, MADV_DONTDUMP);
	r->layout = *l;
	r->map = p;
	r->map_len = lead + l->size;
	r->host = (uint8_t *)p + lead;
	return 0;
}

static void
gm_unmap(struct gm_region *r)
{
	if (r->map != NULL)
		munmap(r->map, r->map_len);
	memset(r, 0, sizeof(*r));
}

/* Insert keeping the array sorted by gpa. */
static void
gm_insert(struct guestmem *gm, const struct gm_region *r)
{
	unsigned pos = gm->nregions;

	while (pos > 0 && gm->regions[pos - 1].layout.gpa > r->layout.gpa) {
		gm->regions[pos] = gm->regions[pos - 1];
		pos--;
	}
	gm->regions[pos] = *r;
	gm->nregions++;
}

void
gm_clear(struct guestmem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		gm_unmap(&gm->regions[i]);
	gm->nregions = 0;
}

int
gm_add(struct guestmem *gm, const struct gm_layout *layout, int fd)
{
	struct gm_region r;
	int rc;

	if (gm->nregions >= gm->max_regions) {
		log_warnx("memory region at gpa 0x%llx: all %u slots in use",
		    (unsigned long long)layout->gpa, gm->max_regions);
		return -ENOSPC;
	}
	rc = gm_check_layout(layout);
	if (rc == 0)
		rc = gm_check_overlap(gm->regions, gm->nregions, layout);
	if (rc == 0)
		rc = gm_map(layout, fd, &r);
	if (rc != 0)
		return rc;
	gm_insert(gm, &r);
	return 0;
}

/*
 * Replace the whole table.  The new regions are validated among themselves
 * and mapped before the old ones go, so a bad table leaves the old one in
 * place.
 */
int
gm_set_table(struct guestmem *gm, const struct gm_layout *layouts,
    const int *fds, unsigned n)
{
	struct gm_region *fresh;
	unsigned mapped = 0;
	int rc = 0;

	if (n > gm->max_regions)
		return -E2BIG;
	fresh = calloc(n > 0 ? n : 1, sizeof(*fresh));
	if (fresh == NULL)
		return -ENOMEM;
	for (; mapped < n; mapped++) {
		rc = gm_check_layout(&layouts[mapped]);
		if (rc == 0)
			rc = gm_check_overlap(fresh, mapped, &layouts[mapped]);
		if (rc == 0)
			rc = gm_map(&layouts[mapped], fds[mapped],
			    &fresh[mapped]);
		if (rc != 0)
			goto fail;
	}
	gm_clear(gm);
	for (unsigned i = 0; i < n; i++)
		gm_insert(gm, &fresh[i]);
	free(fresh);
	return 0;
fail:
	while (mapped > 0)
		gm_unmap(&fresh[--mapped]);
	free(fresh);
	return rc;
}

int
gm_remove(struct guestmem *gm, const struct gm_layout *layout)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_layout *l = &gm->regions[i].layout;

		if (l->gpa != layout->gpa || l->size != layout->size ||
		    l->uva != layout->uva)
			continue;
		gm_unmap(&gm->regions[i]);
		memmove(&gm->regions[i], &gm->regions[i + 1],
		    (gm->nregions - i - 1) * sizeof(gm->regions[0]));
		gm->nregions--;
		return 0;
	}
	log_warnx("no memory region at gpa 0x%llx size 0x%llx to remove",
	    (unsigned long long)layout->gpa, (unsigned long long)layout->size);
	return -ENOENT;
}

static void *
gm_region_ptr(const struct gm_region *r, uint64_t base, uint64_t addr,
    uint64_t len)
{
	uint64_t off = addr - base;

	if (addr < base || off >= r->layout.size || len > r->layout.size - off)
		return NULL;
	return r->host + off;
}

void *
gm_gpa_to_host(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	unsigned lo = 0, hi = gm->nregions;

	/* Find the last region starting at or below gpa. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (gm->regions[mid].layout.gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	return gm_region_ptr(&gm->regions[lo - 1],
	    gm->regions[lo - 1].layout.gpa, gpa, len);
}

void *
gm_uva_to_host(const struct guestmem *gm, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		void *p = gm_region_ptr(r, r->layout.uva, uva, len);

		if (p != NULL)
			return p;
	}
	return NULL;
}
