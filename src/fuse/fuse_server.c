/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE server: framing, the opcode table, session set-up (INIT, DESTROY)
 * and the reply helpers every handler ends with.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fuse_internal.h"
#include "log.h"

static fsrv_handler fsrv_do_init, fsrv_do_destroy, fsrv_do_interrupt;

/*
 * The opcode table.  A NULL handler answers ENOSYS; .noreply requests
 * take no answer; .writes requests change the store and are refused with
 * EROFS on a read-only server before they are decoded (as sftp-server's
 * does_write).  OPEN and CREATE flags are checked again in objfs.
 */
#define FSRV_OP(code, handler, ...) \
	[FUSE_##code] = { .name = #code, .fn = handler, __VA_ARGS__ }

static const struct fsrv_op {
	const char	*name;
	fsrv_handler	*fn;
	bool		 noreply;
	bool		 writes;
} fsrv_ops[] = {
	FSRV_OP(LOOKUP, fsrv_do_lookup),
	FSRV_OP(FORGET, fsrv_do_forget, .noreply = true),
	FSRV_OP(GETATTR, fsrv_do_getattr),
	FSRV_OP(SETATTR, fsrv_do_setattr, .writes = true),
	FSRV_OP(READLINK, fsrv_do_readlink),
	FSRV_OP(SYMLINK, fsrv_do_symlink, .writes = true),
	FSRV_OP(MKNOD, fsrv_do_mknod, .writes = true),
	FSRV_OP(MKDIR, fsrv_do_mkdir, .writes = true),
	FSRV_OP(UNLINK, fsrv_do_unlink, .writes = true),
	FSRV_OP(RMDIR, fsrv_do_rmdir, .writes = true),
	FSRV_OP(RENAME, fsrv_do_rename, .writes = true),
	FSRV_OP(LINK, fsrv_do_link, .writes = true),
	FSRV_OP(OPEN, fsrv_do_open),
	FSRV_OP(READ, fsrv_do_read),
	FSRV_OP(WRITE, fsrv_do_write, .writes = true),
	FSRV_OP(STATFS, fsrv_do_statfs),
	FSRV_OP(RELEASE, fsrv_do_release),
	FSRV_OP(FSYNC, fsrv_do_fsync),
	FSRV_OP(SETXATTR, fsrv_do_setxattr, .writes = true),
	FSRV_OP(GETXATTR, fsrv_do_getxattr),
	FSRV_OP(LISTXATTR, fsrv_do_listxattr),
	FSRV_OP(REMOVEXATTR, fsrv_do_removexattr, .writes = true),
	FSRV_OP(FLUSH, fsrv_do_flush),
	FSRV_OP(INIT, fsrv_do_init),
	FSRV_OP(OPENDIR, fsrv_do_opendir),
	FSRV_OP(READDIR, fsrv_do_readdir),
	FSRV_OP(RELEASEDIR, fsrv_do_releasedir),
	FSRV_OP(FSYNCDIR, fsrv_do_fsyncdir),
	FSRV_OP(GETLK, NULL),
	FSRV_OP(SETLK, NULL),
	FSRV_OP(SETLKW, NULL),
	FSRV_OP(ACCESS, fsrv_do_access),
	FSRV_OP(CREATE, fsrv_do_create, .writes = true),
	FSRV_OP(INTERRUPT, fsrv_do_interrupt, .noreply = true),
	FSRV_OP(BMAP, NULL),
	FSRV_OP(DESTROY, fsrv_do_destroy),
	FSRV_OP(IOCTL, NULL),
	FSRV_OP(POLL, NULL),
	FSRV_OP(NOTIFY_REPLY, NULL),
	FSRV_OP(BATCH_FORGET, fsrv_do_batch_forget, .noreply = true),
	FSRV_OP(FALLOCATE, fsrv_do_fallocate, .writes = true),
	FSRV_OP(READDIRPLUS, fsrv_do_readdirplus),
	FSRV_OP(RENAME2, fsrv_do_rename2, .writes = true),
	FSRV_OP(LSEEK, fsrv_do_lseek),
	FSRV_OP(COPY_FILE_RANGE, fsrv_do_copy_file_range, .writes = true),
	/* DAX needs frontend support that never went upstream. */
	FSRV_OP(SETUPMAPPING, NULL),
	FSRV_OP(REMOVEMAPPING, NULL),
	FSRV_OP(SYNCFS, fsrv_do_syncfs),
	FSRV_OP(TMPFILE, NULL, .writes = true),
};

#define FSRV_NOPS (sizeof(fsrv_ops) / sizeof(fsrv_ops[0]))

int
fsrv_new(struct objfs *fs, const struct fsrv_options *opts,
    struct fsrv **srvp)
{
	struct fsrv *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return -ENOMEM;
	srv->fs = fs;
	srv->opts = *opts;
	if (srv->opts.max_write == 0 || srv->opts.max_write > FSRV_MAX_WRITE)
		srv->opts.max_write = FSRV_MAX_WRITE;
	*srvp = srv;
	return 0;
}

void
fsrv_free(struct fsrv *srv)
{
	if (srv == NULL)
		return;
	free(srv);
}

/* NULL: the daemon stopped before it had a filesystem to sync. */
void
fsrv_sync(struct fsrv *srv)
{
	if (srv != NULL)
		(void)objfs_syncfs(srv->fs);
}

/* A queue stops: requests waiting for the store to catch up stop waiting. */
void
fsrv_wake(struct fsrv *srv)
{
	if (srv != NULL)
		objfs_wake_writers(srv->fs);
}

static void
fsrv_put_reply(struct fsrv_req *req, int error, const void *arg, size_t len)
{
	struct fuse_out_header oh = { .error = error,
	    .unique = req->hdr.unique };

	req->replied = true;
	if (req->out_total < sizeof(oh)) {
		log_debug("unique %llu: no room for a reply",
		    (unsigned long long)req->hdr.unique);
		return;
	}
	if (len > req->out_total - sizeof(oh)) {
		log_debug("unique %llu: a %zu-byte reply does not fit",
		    (unsigned long long)req->hdr.unique, len);
		oh.error = -EIO;
		len = 0;
	}
	oh.len = (uint32_t)(sizeof(oh) + len);
	(void)iovcur_put(&req->out, &oh, sizeof(oh));
	if (len > 0)
		(void)iovcur_put(&req->out, arg, len);
	req->written = oh.len;
}

void
fsrv_reply_err(struct fsrv_req *req, int err)
{
	fsrv_put_reply(req, err < 0 ? err : -EIO, NULL, 0);
}

void
fsrv_reply_ok(struct fsrv_req *req)
{
	fsrv_put_reply(req, 0, NULL, 0);
}

/* An error, or success with no payload. */
void
fsrv_reply_status(struct fsrv_req *req, int rc)
{
	if (rc != 0)
		fsrv_reply_err(req, rc);
	else
		fsrv_reply_ok(req);
}

void
fsrv_reply(struct fsrv_req *req, const void *arg, size_t len)
{
	fsrv_put_reply(req, 0, arg, len);
}

/* FORGET and friends take no reply. */
void
fsrv_reply_none(struct fsrv_req *req)
{
	req->replied = true;
}

/*
 * For replies built in place (READ, READDIR): keep room for the header,
 * then fsrv_reply_finish() writes it.  -ENOSPC when not even it fits.
 */
int
fsrv_reply_begin(struct fsrv_req *req, struct iovcur *hdr_pos)
{
	*hdr_pos = req->out;
	return iovcur_skip(&req->out, sizeof(struct fuse_out_header)) == 0 ?
	    0 : -ENOSPC;
}

void
fsrv_reply_finish(struct fsrv_req *req, struct iovcur *hdr_pos,
    size_t payload)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + payload),
		.unique = req->hdr.unique,
	};

	(void)iovcur_put(hdr_pos, &oh, sizeof(oh));
	req->written = oh.len;
	req->replied = true;
}

static uint64_t
fsrv_timeout(const struct fsrv *srv)
{
	switch (srv->opts.cache) {
	case FSRV_CACHE_NONE:
		return 0;
	case FSRV_CACHE_ALWAYS:
		return 86400;
	default:
		return 1;
	}
}

void
fsrv_fill_attr(const struct stat *st, struct fuse_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->ino = st->st_ino;
	attr->size = (uint64_t)st->st_size;
	attr->blocks = (uint64_t)st->st_blocks;
	attr->atime = (uint64_t)st->st_atim.tv_sec;
	attr->mtime = (uint64_t)st->st_mtim.tv_sec;
	attr->ctime = (uint64_t)st->st_ctim.tv_sec;
	attr->atimensec = (uint32_t)st->st_atim.tv_nsec;
	attr->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	attr->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	attr->mode = st->st_mode;
	attr->nlink = (uint32_t)st->st_nlink;
	attr->uid = st->st_uid;
	attr->gid = st->st_gid;
	attr->blksize = (uint32_t)st->st_blksize;
	attr->rdev = fsrv_encode_dev(st->st_rdev);
}

/* The kernel's 32-bit device numbers (new_encode_dev in linux/kdev_t.h). */
uint32_t
fsrv_encode_dev(dev_t dev)
{
	uint32_t maj = major(dev), min = minor(dev);

	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

dev_t
fsrv_decode_dev(uint32_t dev)
{
	return makedev((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
}

/*
 * A name that is not there, as an entry of node id 0 the kernel keeps for
 * the entry timeout (libfuse's negative_timeout): a build looking for
 * headers, a shell searching $PATH, would otherwise cost store requests
 * for the same missing name again and again.  Without caching: ENOENT.
 */
bool
fsrv_fill_negative_entry(const struct fsrv *srv, struct fuse_entry_out *out)
{
	memset(out, 0, sizeof(*out));
	out->entry_valid = fsrv_timeout(srv);
	return out->entry_valid != 0;
}

void
fsrv_fill_entry(const struct fsrv *srv, const struct objfs_entry *e,
    struct fuse_entry_out *out)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = e->ino;
	out->generation = e->generation;
	out->entry_valid = out->attr_valid = fsrv_timeout(srv);
	fsrv_fill_attr(&e->st, &out->attr);
}

void
fsrv_fill_attr_out(const struct fsrv *srv, const struct stat *st,
    struct fuse_attr_out *out)
{
	memset(out, 0, sizeof(*out));
	out->attr_valid = fsrv_timeout(srv);
	fsrv_fill_attr(st, &out->attr);
}

uint32_t
fsrv_open_flags(const struct fsrv *srv, bool dir)
{
	switch (srv->opts.cache) {
	case FSRV_CACHE_NONE:
		return dir ? 0 : FOPEN_DIRECT_IO;
	case FSRV_CACHE_ALWAYS:
		return FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : 0);
	default:
		return 0;
	}
}

/* Take the request's fixed-size argument struct. */
bool
fsrv_args(struct fsrv_req *req, void *arg, size_t len)
{
	if (iovcur_take(&req->in, arg, len) == 0)
		return true;
	fsrv_reply_err(req, -EINVAL);
	return false;
}

/* A NUL-terminated name of at most 255 bytes into buf[FSRV_NAME_BUF]. */
int
fsrv_take_name(struct fsrv_req *req, char *buf)
{
	return iovcur_take_str(&req->in, buf, FSRV_NAME_BUF, NULL);
}

static uint32_t
fsrv_wanted_flags(const struct fsrv *srv)
{
	uint32_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
	    FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
	    FUSE_PARALLEL_DIROPS | FUSE_CACHE_SYMLINKS | FUSE_MAX_PAGES |
	    FUSE_HANDLE_KILLPRIV_V2;

	if (srv->opts.cache == FSRV_CACHE_AUTO)
		want |= FUSE_AUTO_INVAL_DATA;
	if (srv->opts.writeback)
		want |= FUSE_WRITEBACK_CACHE;
	return want;
}

static void
fsrv_do_init(struct fsrv_req *req)
{
	struct fsrv *srv = req->srv;
	struct fuse_init_in in;
	struct fuse_init_out out;

	memset(&out, 0, sizeof(out));
	/* Up to flags the layout is the same in every 7.x. */
	if (!fsrv_args(req, &in, offsetof(struct fuse_init_in, flags2)))
		return;
	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in.major > FUSE_KERNEL_VERSION) {
		/* The kernel retries with our major version. */
		fsrv_reply(req, &out, sizeof(out));
		return;
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FSRV_MINOR_MIN) {
		log_warnx("guest FUSE protocol %u.%u is older than 7.%d",
		    in.major, in.minor, FSRV_MINOR_MIN);
		fsrv_reply_err(req, -EPROTO);
		return;
	}
	if (in.minor < out.minor)
		out.minor = in.minor;
	out.flags = in.flags & fsrv_wanted_flags(srv);
	out.max_readahead = in.max_readahead;
	out.max_write = srv->opts.max_write;
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.time_gran = objfs_time_gran(srv->fs);
	out.max_pages = (uint16_t)(srv->opts.max_write / 4096);
	/* A new session: whatever the last one looked up is gone. */
	objfs_reset(srv->fs);
	srv->minor = out.minor;
	srv->flags = out.flags;
	__atomic_store_n(&srv->initialized, true, __ATOMIC_RELEASE);
	log_info("FUSE session 7.%u started (flags 0x%x)", out.minor,
	    out.flags);
	fsrv_reply(req, &out, sizeof(out));
}

static void
fsrv_do_destroy(struct fsrv_req *req)
{
	struct fsrv *srv = req->srv;

	(void)objfs_syncfs(srv->fs);
	objfs_reset(srv->fs);
	__atomic_store_n(&srv->initialized, false, __ATOMIC_RELEASE);
	log_info("FUSE session ended by the guest");
	fsrv_reply_ok(req);
}

/* Requests run to completion; there is nothing to interrupt. */
static void
fsrv_do_interrupt(struct fsrv_req *req)
{
	fsrv_reply_none(req);
}

static bool
fsrv_initialized(struct fsrv *srv)
{
	return __atomic_load_n(&srv->initialized, __ATOMIC_ACQUIRE);
}

static void
fsrv_dispatch(struct fsrv_req *req)
{
	uint32_t opcode = req->hdr.opcode;
	const struct fsrv_op *op = opcode < FSRV_NOPS &&
	    fsrv_ops[opcode].name != NULL ? &fsrv_ops[opcode] : NULL;

	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("%s unique %llu node %llu len %u",
		    op != NULL ? op->name : "unknown",
		    (unsigned long long)req->hdr.unique,
		    (unsigned long long)req->hdr.nodeid, req->hdr.len);
	if (opcode != FUSE_INIT && !fsrv_initialized(req->srv)) {
		if (op != NULL && op->noreply)
			fsrv_reply_none(req);
		else
			fsrv_reply_err(req, -EIO);
	}
	else if (op == NULL || op->fn == NULL)
		fsrv_reply_err(req, -ENOSYS);
	else if (op->writes && req->srv->opts.readonly)
		fsrv_reply_err(req, -EROFS);
	else
		op->fn(req);
	if (!req->replied) {
		log_warnx("%s left without a reply", op->name);
		fsrv_reply_err(req, -EIO);
	}
}

size_t
fsrv_handle(struct fsrv *srv, const struct iovec *in, unsigned nin,
    const struct iovec *out, unsigned nout)
{
	struct fsrv_req req = { .srv = srv };

	iovcur_init(&req.in, in, nin);
	iovcur_init(&req.out, out, nout);
	req.out_total = iovcur_left(&req.out);
	if (iovcur_take(&req.in, &req.hdr, sizeof(req.hdr)) != 0) {
		log_debug("request shorter than a FUSE header dropped");
		return 0;
	}
	req.ctx = (struct objfs_ctx){ req.hdr.uid, req.hdr.gid,
	    (pid_t)req.hdr.pid };
	if (req.hdr.len < sizeof(req.hdr) ||
	    req.hdr.len - sizeof(req.hdr) > iovcur_left(&req.in)) {
		fsrv_reply_err(&req, -EINVAL);
		return req.written;
	}
	iovcur_limit(&req.in, req.hdr.len - sizeof(req.hdr));
	fsrv_dispatch(&req);
	return req.written;
}
