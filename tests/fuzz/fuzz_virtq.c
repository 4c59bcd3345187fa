/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Descriptor chains over fake guest memory: the input is the guest's
 * memory itself (descriptor table, avail ring, indirect tables, buffers),
 * with the ring size and the avail index taken from its first bytes.
 * Every chain popped is pushed back, as a device would.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guestmem.h"
#include "log.h"
#include "virtq.h"

#define MEM_SIZE	(64u * 1024)
#define MEM_GPA		0x10000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guestmem gm;
static uint8_t *mem;

static void
fuzz_init_once(void)
{
	struct gm_layout l = { MEM_GPA, MEM_SIZE, 0x7000000000ULL, 0 };
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	log_init("fuzz_virtq", LOG_LEVEL_ERROR, false);
	if (fd == -1 || ftruncate(fd, MEM_SIZE) != 0 ||
	    (mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED || gm_init(&gm, 8) != 0 ||
	    gm_set_table(&gm, &l, &fd, 1) != 0)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_elem *held[257];
	unsigned nheld = 0;
	uint16_t num;
	struct vq vq;
	void *desc, *avail, *used;
	bool event_idx;

	if (mem == NULL)
		fuzz_init_once();
	if (size < 4)
		return 0;
	num = (uint16_t)(1u << (data[0] % 8 + 1));	/* 2 to 256 */
	event_idx = data[1] & 1;
	memset(mem, 0, MEM_SIZE);
	memcpy(mem, data + 2, size - 2 < MEM_SIZE ? size - 2 : MEM_SIZE);
	desc = gm_gpa_to_host(&gm, MEM_GPA, 16u * num);
	avail = gm_gpa_to_host(&gm, MEM_GPA + 16u * num, 6 + 2u * num);
	used = gm_gpa_to_host(&gm, MEM_GPA + 32 * 1024, 6 + 8u * num);
	if (vq_init(&vq, 1) != 0 || desc == NULL || avail == NULL ||
	    used == NULL)
		abort();
	if (vq_attach(&vq, num, desc, avail, used, 0, event_idx) == 0) {
		/* Pop until empty, broken or full, holding what was popped. */
		for (int i = 0; i < 2 * num + 2; i++) {
			struct vq_elem *e;
			int rc = vq_pop(&vq, &gm, &e);

			if (rc != 1)
				break;
			if (nheld < num / 2)
				held[nheld++] = e;
			else
				vq_push(&vq, e, (uint32_t)e->wr_len);
		}
		while (nheld > 0)
			vq_push(&vq, held[--nheld], 0);
		vq_notify(&vq);
	}
	vq_destroy(&vq);
	return 0;
}
