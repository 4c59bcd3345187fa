/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE handlers for open files and directories: data goes straight
 * between objfs and the request's buffers, never through a copy here.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"
#include "log.h"

#define INLINE_IOV	64

static struct objfs *
fs_of(struct fsrv_req *req)
{
	return req->srv->fs;
}

/* An iovec array able to describe the rest of cursor c. */
static struct iovec *
iov_room(const struct iovcur *c, struct iovec *inline_iov, unsigned *max)
{
	unsigned need = c->cnt - c->idx;

	*max = need;
	if (need <= INLINE_IOV)
		return inline_iov;
	return reallocarray(NULL, need, sizeof(struct iovec));
}

static void
reply_open(struct fsrv_req *req, int rc, uint64_t fh, bool dir)
{
	struct fuse_open_out out = { .fh = fh,
	    .open_flags = fsrv_open_flags(req->srv, dir) };

	if (rc != 0)
		fsrv_reply_err(req, rc);
	else
		fsrv_reply(req, &out, sizeof(out));
}

void
fsrv_do_open(struct fsrv_req *req)
{
	struct fuse_open_in in;
	unsigned oflags;
	uint64_t fh = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	rc = objfs_open(fs_of(req), req->hdr.nodeid, (int)in.flags,
	    (in.open_flags & FUSE_OPEN_KILL_SUIDGID) != 0, &fh, &oflags);
	reply_open(req, rc, fh, false);
}

void
fsrv_do_create(struct fsrv_req *req)
{
	struct {
		struct fuse_entry_out	entry;
		struct fuse_open_out	open;
	} out;
	char name[FSRV_NAME_BUF];
	struct fuse_create_in in;
	struct objfs_entry e;
	uint64_t fh = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if ((rc = fsrv_take_name(req, name)) == 0)
		rc = objfs_create(fs_of(req), &req->ctx, req->hdr.nodeid, name,
		    in.mode, (int)in.flags, &e, &fh);
	if (rc != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	memset(&out, 0, sizeof(out));
	fsrv_fill_entry(req->srv, &e, &out.entry);
	out.open.fh = fh;
	out.open.open_flags = fsrv_open_flags(req->srv, false);
	fsrv_reply(req, &out, sizeof(out));
}

void
fsrv_do_read(struct fsrv_req *req)
{
	struct iovec inline_iov[INLINE_IOV], *iov;
	struct fuse_read_in in;
	struct iovcur hdr;
	size_t size, got = 0;
	unsigned max, n = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if (in.offset > (uint64_t)INT64_MAX) {
		fsrv_reply_err(req, -EINVAL);
		return;
	}
	if (fsrv_reply_begin(req, &hdr) != 0) {
		fsrv_reply_none(req);	/* no room even for the header */
		return;
	}
	size = in.size < iovcur_left(&req->out) ? in.size :
	    iovcur_left(&req->out);
	if ((iov = iov_room(&req->out, inline_iov, &max)) == NULL)
		rc = -ENOMEM;
	else if ((rc = iovcur_take_iov(&req->out, size, iov, max, &n)) == 0)
		rc = objfs_read(fs_of(req), in.fh, in.offset, iov, n, &got);
	if (iov != inline_iov)
		free(iov);
	if (rc != 0) {
		req->out = hdr;		/* the error replaces the data */
		fsrv_reply_err(req, rc);
	} else
		fsrv_reply_finish(req, &hdr, got);
}

void
fsrv_do_write(struct fsrv_req *req)
{
	struct iovec inline_iov[INLINE_IOV], *iov;
	struct fuse_write_in in;
	struct fuse_write_out out = { 0 };
	size_t written = 0;
	unsigned max, n = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if (in.size != iovcur_left(&req->in) ||
	    in.size > req->srv->opts.max_write ||
	    in.offset > (uint64_t)INT64_MAX) {
		fsrv_reply_err(req, -EINVAL);
		return;
	}
	if ((iov = iov_room(&req->in, inline_iov, &max)) == NULL)
		rc = -ENOMEM;
	else if ((rc = iovcur_take_iov(&req->in, in.size, iov, max, &n)) == 0)
		rc = objfs_write(fs_of(req), in.fh, in.offset, iov, n,
		    (in.write_flags & FUSE_WRITE_KILL_SUIDGID) != 0, &written);
	if (iov != inline_iov)
		free(iov);
	if (rc != 0 && written == 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	out.size = (uint32_t)written;
	fsrv_reply(req, &out, sizeof(out));
}

void
fsrv_do_release(struct fsrv_req *req)
{
	struct fuse_release_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_release(fs_of(req), in.fh));
}

void
fsrv_do_flush(struct fsrv_req *req)
{
	struct fuse_flush_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_flush(fs_of(req), in.fh));
}

void
fsrv_do_fsync(struct fsrv_req *req)
{
	struct fuse_fsync_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_fsync(fs_of(req), in.fh,
		    in.fsync_flags & FUSE_FSYNC_FDATASYNC));
}

void
fsrv_do_opendir(struct fsrv_req *req)
{
	struct fuse_open_in in;
	uint64_t fh = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	rc = objfs_opendir(fs_of(req), req->hdr.nodeid, &fh);
	reply_open(req, rc, fh, true);
}

void
fsrv_do_releasedir(struct fsrv_req *req)
{
	struct fuse_release_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_releasedir(fs_of(req), in.fh));
}

void
fsrv_do_fsyncdir(struct fsrv_req *req)
{
	struct fuse_fsync_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_fsyncdir(fs_of(req),
		    req->hdr.nodeid, in.fsync_flags & FUSE_FSYNC_FDATASYNC));
}

struct dirbuf {
	struct fsrv_req	*req;
	size_t		 room;
	size_t		 used;
	bool		 plus;
};

static int
dirbuf_add(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *e)
{
	static const char zeros[8];
	struct dirbuf *b = arg;
	struct fuse_direntplus dp;
	size_t namelen = strlen(name);
	size_t head = b->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t size = FUSE_DIRENT_ALIGN(head + namelen);

	if (size > b->room - b->used)
		return 1;
	memset(&dp, 0, sizeof(dp));
	if (b->plus && e != NULL)
		fsrv_fill_entry(b->req->srv, e, &dp.entry_out);
	dp.dirent.ino = ino;
	dp.dirent.off = off;
	dp.dirent.namelen = (uint32_t)namelen;
	dp.dirent.type = (type & S_IFMT) >> 12;
	(void)iovcur_put(&b->req->out, b->plus ? (void *)&dp :
	    (void *)&dp.dirent, head);
	(void)iovcur_put(&b->req->out, name, namelen);
	(void)iovcur_put(&b->req->out, zeros, size - head - namelen);
	b->used += size;
	return 0;
}

static void
do_readdir(struct fsrv_req *req, bool plus)
{
	struct fuse_read_in in;
	struct dirbuf b = { .req = req, .plus = plus };
	struct iovcur hdr;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if (fsrv_reply_begin(req, &hdr) != 0) {
		fsrv_reply_none(req);
		return;
	}
	b.room = in.size < iovcur_left(&req->out) ? in.size :
	    iovcur_left(&req->out);
	rc = objfs_readdir(fs_of(req), in.fh, in.offset, plus, dirbuf_add, &b);
	if (rc != 0 && b.used == 0) {
		req->out = hdr;
		fsrv_reply_err(req, rc);
	} else
		fsrv_reply_finish(req, &hdr, b.used);
}

void
fsrv_do_readdir(struct fsrv_req *req)
{
	do_readdir(req, false);
}

void
fsrv_do_readdirplus(struct fsrv_req *req)
{
	do_readdir(req, true);
}

void
fsrv_do_fallocate(struct fsrv_req *req)
{
	struct fuse_fallocate_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_fallocate(fs_of(req), in.fh,
		    (int)in.mode, in.offset, in.length));
}

void
fsrv_do_lseek(struct fsrv_req *req)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out out = { 0 };
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if ((rc = objfs_lseek(fs_of(req), in.fh, in.offset, (int)in.whence,
	    &out.offset)) != 0)
		fsrv_reply_err(req, rc);
	else
		fsrv_reply(req, &out, sizeof(out));
}

void
fsrv_do_copy_file_range(struct fsrv_req *req)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out out = { 0 };
	size_t copied = 0;
	uint64_t len;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if (in.flags != 0 || in.off_in > (uint64_t)INT64_MAX ||
	    in.off_out > (uint64_t)INT64_MAX) {
		fsrv_reply_err(req, -EINVAL);
		return;
	}
	/* The answer is 32 bits wide. */
	len = in.len < (UINT32_MAX & ~4095u) ? in.len : (UINT32_MAX & ~4095u);
	rc = objfs_copy_file_range(fs_of(req), in.fh_in, in.off_in, in.fh_out,
	    in.off_out, len, &copied);
	if (rc != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	out.size = (uint32_t)copied;
	fsrv_reply(req, &out, sizeof(out));
}
