/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE server: decodes FUSE requests (kernel uapi <linux/fuse.h>, protocol
 * 7.27 to 7.38), calls objfs, encodes replies.
 *
 * It only sees iovecs: the request bytes and the buffers for the reply,
 * whether they are guest memory from a virtqueue or a buffer read from
 * /dev/fuse.  Every length in a request is checked before use; a request
 * that cannot be parsed gets an error reply, or none when not even the
 * reply header fits.
 *
 * Thread-safe: requests may be handled concurrently from any threads.
 */
#ifndef OBJFSD_FUSE_SERVER_H
#define OBJFSD_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "objfs.h"

enum fsrv_cache {
	FSRV_CACHE_NONE,	/* no kernel caching: every access asks */
	FSRV_CACHE_AUTO,	/* attributes trusted for a second */
	FSRV_CACHE_ALWAYS,	/* the guest owns the data: cache it all */
};

struct fsrv_options {
	enum fsrv_cache	cache;
	bool		writeback;	/* FUSE_WRITEBACK_CACHE */
	uint32_t	max_write;	/* bytes; 1 MiB by default */
	bool		readonly;	/* refuse requests that write */
};

struct fsrv;

int	fsrv_new(struct objfs *fs, const struct fsrv_options *opts,
	    struct fsrv **srvp);
void	fsrv_free(struct fsrv *srv);

/*
 * Handle one request.  Returns the number of bytes written into out: 0
 * when the request takes no reply (FORGET) or none could be written.
 */
size_t	fsrv_handle(struct fsrv *srv, const struct iovec *in, unsigned nin,
	    const struct iovec *out, unsigned nout);

/* The transport lost its peer: upload everything staged. */
void	fsrv_sync(struct fsrv *srv);
void	fsrv_wake(struct fsrv *srv);

#endif
