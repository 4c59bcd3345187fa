/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE server internals shared by fuse_server.c and fuse_ops*.c.
 *
 * A handler decodes its arguments from req->in (only through iovcur),
 * calls objfs, and replies exactly once through the fsrv_reply_* helpers.
 *
 * Threading: fsrv_handle() runs on any number of threads at once (ring
 * threads, worker pools).  A struct fsrv_req lives on the stack of the
 * thread that handles it and is never shared.  struct fsrv's fs and opts
 * are set by fsrv_new() and only read after; the session fields are
 * written by INIT and DESTROY alone, which the guest sends when nothing
 * else is in flight, and published through `initialized` (an atomic,
 * release on write, acquire on read).  objfs does its own locking.
 */
#ifndef OBJFSD_FUSE_INTERNAL_H
#define OBJFSD_FUSE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>

#include "fuse_server.h"
#include "iovcur.h"
#include "objfs.h"

#define FSRV_MINOR_MIN		27
#define FSRV_MAX_WRITE		(1u << 20)
#define FSRV_NAME_BUF		(255 + 1)

struct fsrv {
	struct objfs		*fs;
	struct fsrv_options	 opts;
	/*
	 * Set by INIT, cleared by DESTROY; read by every request, so an
	 * atomic rather than a lock.  The kernel sends nothing else while
	 * INIT is unanswered; minor and flags are written before it is set.
	 */
	bool			 initialized;
	uint32_t		 minor;
	uint32_t		 flags;	/* negotiated FUSE_* init flags */
};

struct fsrv_req {
	struct fsrv		*srv;
	struct fuse_in_header	 hdr;
	struct objfs_ctx	 ctx;
	struct iovcur		 in;	/* the arguments */
	struct iovcur		 out;	/* the reply buffers */
	size_t			 out_total;
	size_t			 written;
	bool			 replied;
};

typedef void fsrv_handler(struct fsrv_req *req);

/* fuse_server.c */
void	fsrv_reply_err(struct fsrv_req *req, int err);
void	fsrv_reply_ok(struct fsrv_req *req);
void	fsrv_reply_status(struct fsrv_req *req, int rc);
void	fsrv_reply(struct fsrv_req *req, const void *arg, size_t len);
void	fsrv_reply_none(struct fsrv_req *req);
int	fsrv_reply_begin(struct fsrv_req *req, struct iovcur *hdr_pos);
void	fsrv_reply_finish(struct fsrv_req *req, struct iovcur *hdr_pos,
	    size_t payload);
void	fsrv_fill_attr(const struct stat *st, struct fuse_attr *attr);
bool	fsrv_fill_negative_entry(const struct fsrv *srv,
	    struct fuse_entry_out *out);
uint32_t fsrv_encode_dev(dev_t dev);
dev_t	fsrv_decode_dev(uint32_t dev);
void	fsrv_fill_entry(const struct fsrv *srv, const struct objfs_entry *e,
	    struct fuse_entry_out *out);
void	fsrv_fill_attr_out(const struct fsrv *srv, const struct stat *st,
	    struct fuse_attr_out *out);
uint32_t fsrv_open_flags(const struct fsrv *srv, bool dir);
int	fsrv_take_name(struct fsrv_req *req, char *buf);
bool	fsrv_args(struct fsrv_req *req, void *arg, size_t len);

/* fuse_ops.c and fuse_io.c: one handler per opcode */
fsrv_handler fsrv_do_lookup, fsrv_do_forget, fsrv_do_getattr,
    fsrv_do_setattr, fsrv_do_readlink, fsrv_do_symlink, fsrv_do_mknod,
    fsrv_do_mkdir, fsrv_do_unlink, fsrv_do_rmdir, fsrv_do_rename,
    fsrv_do_link, fsrv_do_statfs, fsrv_do_access,
    fsrv_do_batch_forget, fsrv_do_rename2, fsrv_do_syncfs,
    fsrv_do_setxattr, fsrv_do_getxattr, fsrv_do_listxattr,
    fsrv_do_removexattr;
fsrv_handler fsrv_do_open, fsrv_do_read, fsrv_do_write, fsrv_do_release,
    fsrv_do_fsync, fsrv_do_flush, fsrv_do_opendir, fsrv_do_readdir,
    fsrv_do_readdirplus, fsrv_do_releasedir, fsrv_do_fsyncdir,
    fsrv_do_create, fsrv_do_fallocate, fsrv_do_lseek,
    fsrv_do_copy_file_range;

#endif
