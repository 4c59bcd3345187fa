/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuseclient: FUSE requests over the fake frontend, laid out as a Linux
 * guest lays them out: header and arguments in one readable buffer, names
 * or data in the next (split into pages on request), the reply header and
 * its payload in two writable ones.
 */
#ifndef OBJFSD_FUSECLIENT_H
#define OBJFSD_FUSECLIENT_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakefront.h"

#define FC_BUF		(2u << 20)

struct fc {
	struct ff	*ff;
	uint64_t	 unique;
	uint64_t	 in_gpa;
	uint64_t	 out_gpa;
	bool		 pages;		/* data in 4 KiB descriptors */
	uint32_t	 last_used;	/* bytes the daemon wrote last time */
};

int	fc_connect(struct fc *c, const char *sock, unsigned nqueues);
void	fc_close(struct fc *c);
int	fc_init(struct fc *c, struct fuse_init_out *out);

/*
 * One request on queue q; the reply payload (after the out header) goes
 * to out.  Returns the reply's error (0 or -errno), or -ETIMEDOUT /
 * -ENODATA when no reply came at all.
 */
int	fc_call(struct fc *c, unsigned q, uint32_t opcode, uint64_t nodeid,
	    const void *arg, size_t arglen, const void *extra, size_t extralen,
	    void *out, size_t outcap, size_t *outlen);
/* The readable part given verbatim; wlen bytes offered for the reply. */
int	fc_raw(struct fc *c, unsigned q, const void *bytes, size_t len,
	    size_t wlen, void *out, uint32_t *used);
/*
 * Lay one request out and make it available on queue q, without a kick or
 * a wait; returns its head (>= 0) or -errno.  For guests that misbehave.
 */
int	fc_post(struct fc *c, unsigned q, uint32_t opcode, uint64_t nodeid,
	    const void *arg, size_t arglen, size_t outcap);
/* A request that takes no reply (FORGET, BATCH_FORGET, INTERRUPT). */
int	fc_send_noreply(struct fc *c, unsigned q, uint32_t opcode,
	    uint64_t nodeid, const void *arg, size_t arglen);

/* Shorthands for the common requests. */
int	fc_lookup(struct fc *c, uint64_t parent, const char *name,
	    struct fuse_entry_out *e);
int	fc_getattr(struct fc *c, uint64_t node, struct fuse_attr *attr);
int	fc_create(struct fc *c, uint64_t parent, const char *name,
	    uint32_t mode, uint32_t flags, struct fuse_entry_out *e,
	    uint64_t *fh);
int	fc_open(struct fc *c, uint64_t node, uint32_t flags, uint64_t *fh);
int	fc_write(struct fc *c, uint64_t node, uint64_t fh, uint64_t off,
	    const void *data, size_t len, uint32_t *written);
int	fc_read(struct fc *c, uint64_t node, uint64_t fh, uint64_t off,
	    void *buf, size_t len, size_t *got);
int	fc_release(struct fc *c, uint64_t node, uint64_t fh, bool dir);
int	fc_mkdir(struct fc *c, uint64_t parent, const char *name,
	    uint32_t mode, struct fuse_entry_out *e);
int	fc_opendir(struct fc *c, uint64_t node, uint64_t *fh);
int	fc_readdir(struct fc *c, uint64_t node, uint64_t fh, uint64_t off,
	    bool plus, size_t size, void *buf, size_t *len);
void	fc_forget(struct fc *c, uint64_t node, uint64_t n);

#endif
