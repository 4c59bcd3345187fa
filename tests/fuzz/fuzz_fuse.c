/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE requests as a guest may lay them out, through the server into
 * objfs on mem:.  The first byte says where the request is cut into
 * iovecs and how much reply room there is; the rest is the request.
 * The session is set up once (INIT) and kept, so inputs build on what
 * earlier ones created, as a guest's requests do.
 */
#include "config.h"

#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fuse_server.h"
#include "log.h"
#include "objfs.h"
#include "store.h"

#define REPLY_MAX	(132 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fsrv *srv;
static char reply[REPLY_MAX];

static void
fuzz_init_once(void)
{
	static const struct store_config scfg = { .cache_dir = "/tmp" };
	struct objfs_options o = { .file_mode = 0644, .dir_mode = 0755,
	    .cache_dir = "/tmp" };
	struct fsrv_options so = { .cache = FSRV_CACHE_AUTO };
	struct {
		struct fuse_in_header	h;
		struct fuse_init_in	i;
	} init = { .h = { .len = sizeof(init), .opcode = FUSE_INIT,
	    .unique = 1, .pid = 1 }, .i = { .major = 7, .minor = 31,
	    .max_readahead = 1 << 20 } };
	struct iovec in = { &init, sizeof(init) }, out = { reply, REPLY_MAX };
	struct objfs *fs;
	struct store *st;

	log_init("fuzz_fuse", LOG_LEVEL_ERROR, false);
	if (store_open("mem:", &scfg, &st) != 0 ||
	    (o.store = st, objfs_new(&o, &fs)) != 0 ||
	    fsrv_new(fs, &so, &srv) != 0)
		abort();
	(void)fsrv_handle(srv, &in, 1, &out, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec in[3], out[2];
	size_t cut1, cut2, room;
	unsigned nin = 0;

	if (srv == NULL)
		fuzz_init_once();
	if (size < 1 || size > (1 << 20) + 4096)
		return 0;
	cut1 = (data[0] & 0x0f) * 8;		/* inside the header, or not */
	cut2 = cut1 + (data[0] >> 4) * 16;
	data++;
	size--;
	cut1 = cut1 < size ? cut1 : size;
	cut2 = cut2 < size ? cut2 : size;
	/* Readable pieces; a zero-length one is what a guest cannot send. */
	if (cut1 > 0)
		in[nin++] = (struct iovec){ (void *)data, cut1 };
	if (cut2 > cut1)
		in[nin++] = (struct iovec){ (void *)(data + cut1), cut2 - cut1 };
	if (size > cut2)
		in[nin++] = (struct iovec){ (void *)(data + cut2), size - cut2 };
	room = size > 0 ? (size_t)data[size - 1] * 512 + 16 : 16;
	out[0] = (struct iovec){ reply, 16 };
	out[1] = (struct iovec){ reply + 16, room < REPLY_MAX - 16 ? room :
	    REPLY_MAX - 16 };
	(void)fsrv_handle(srv, in, nin, out, 2);
	return 0;
}
