/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FUSE handlers for names and attributes: decode, call objfs, reply.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse_internal.h"
#include "log.h"

static struct objfs *
fs_of(struct fsrv_req *req)
{
	return req->srv->fs;
}

static void
reply_entry(struct fsrv_req *req, int rc, const struct objfs_entry *e)
{
	struct fuse_entry_out out;

	if (rc != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	fsrv_fill_entry(req->srv, e, &out);
	fsrv_reply(req, &out, sizeof(out));
}

static void
reply_attr(struct fsrv_req *req, int rc, const struct stat *st)
{
	struct fuse_attr_out out;

	if (rc != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	fsrv_fill_attr_out(req->srv, st, &out);
	fsrv_reply(req, &out, sizeof(out));
}

/* Take a name or reply the error; true when name holds one. */
static bool
take_name(struct fsrv_req *req, char *name)
{
	int rc = fsrv_take_name(req, name);

	if (rc != 0)
		fsrv_reply_err(req, rc);
	return rc == 0;
}

void
fsrv_do_lookup(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];
	struct objfs_entry e;

	struct fuse_entry_out neg;
	int rc;

	if (!take_name(req, name))
		return;
	rc = objfs_lookup(fs_of(req), req->hdr.nodeid, name, &e);
	if (rc == -ENOENT && fsrv_fill_negative_entry(req->srv, &neg))
		fsrv_reply(req, &neg, sizeof(neg));
	else
		reply_entry(req, rc, &e);
}

void
fsrv_do_forget(struct fsrv_req *req)
{
	struct fuse_forget_in in;

	if (iovcur_take(&req->in, &in, sizeof(in)) == 0)
		objfs_forget(fs_of(req), req->hdr.nodeid, in.nlookup);
	fsrv_reply_none(req);
}

void
fsrv_do_batch_forget(struct fsrv_req *req)
{
	struct fuse_batch_forget_in in;
	struct fuse_forget_one one;

	fsrv_reply_none(req);
	if (iovcur_take(&req->in, &in, sizeof(in)) != 0 ||
	    in.count > iovcur_left(&req->in) / sizeof(one)) {
		log_debug("malformed BATCH_FORGET ignored");
		return;
	}
	for (uint32_t i = 0; i < in.count; i++) {
		(void)iovcur_take(&req->in, &one, sizeof(one));
		objfs_forget(fs_of(req), one.nodeid, one.nlookup);
	}
}

void
fsrv_do_getattr(struct fsrv_req *req)
{
	struct fuse_getattr_in in;
	struct stat st;

	if (fsrv_args(req, &in, sizeof(in)))
		reply_attr(req, objfs_getattr(fs_of(req), req->hdr.nodeid,
		    &st), &st);
}

static void
setattr_from_fuse(const struct fuse_setattr_in *in, struct objfs_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (in->valid & FATTR_MODE) {
		sa->valid |= OBJFS_SET_MODE;
		sa->mode = in->mode;
	}
	if (in->valid & FATTR_UID) {
		sa->valid |= OBJFS_SET_UID;
		sa->uid = in->uid;
	}
	if (in->valid & FATTR_GID) {
		sa->valid |= OBJFS_SET_GID;
		sa->gid = in->gid;
	}
	if (in->valid & FATTR_SIZE) {
		sa->valid |= OBJFS_SET_SIZE;
		sa->size = in->size;
	}
	if (in->valid & FATTR_ATIME) {
		sa->valid |= (in->valid & FATTR_ATIME_NOW) ?
		    OBJFS_SET_ATIME_NOW : OBJFS_SET_ATIME;
		sa->atime.tv_sec = (time_t)in->atime;
		sa->atime.tv_nsec = in->atimensec;
	}
	if (in->valid & FATTR_MTIME) {
		sa->valid |= (in->valid & FATTR_MTIME_NOW) ?
		    OBJFS_SET_MTIME_NOW : OBJFS_SET_MTIME;
		sa->mtime.tv_sec = (time_t)in->mtime;
		sa->mtime.tv_nsec = in->mtimensec;
	}
	if (in->valid & FATTR_KILL_SUIDGID)
		sa->valid |= OBJFS_SET_KILL_SUIDGID;
}

void
fsrv_do_setattr(struct fsrv_req *req)
{
	struct fuse_setattr_in in;
	struct objfs_setattr sa;
	struct stat st;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if (((in.valid & FATTR_ATIME) && in.atimensec >= 1000000000) ||
	    ((in.valid & FATTR_MTIME) && in.mtimensec >= 1000000000) ||
	    ((in.valid & FATTR_SIZE) && in.size > (uint64_t)INT64_MAX)) {
		fsrv_reply_err(req, -EINVAL);
		return;
	}
	setattr_from_fuse(&in, &sa);
	reply_attr(req, objfs_setattr(fs_of(req), &req->ctx, req->hdr.nodeid,
	    (in.valid & FATTR_FH) ? in.fh : 0, &sa, &st), &st);
}

void
fsrv_do_readlink(struct fsrv_req *req)
{
	char target[PATH_MAX];
	size_t len = 0;
	int rc;

	rc = objfs_readlink(fs_of(req), req->hdr.nodeid, target,
	    sizeof(target), &len);
	if (rc != 0)
		fsrv_reply_err(req, rc);
	else
		fsrv_reply(req, target, len);
}

void
fsrv_do_symlink(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF], target[PATH_MAX];
	struct objfs_entry e;
	int rc;

	if (!take_name(req, name))
		return;
	if ((rc = iovcur_take_str(&req->in, target, sizeof(target), NULL)) != 0)
		fsrv_reply_err(req, rc);
	else
		reply_entry(req, objfs_symlink(fs_of(req), &req->ctx,
		    req->hdr.nodeid, name, target, &e), &e);
}

void
fsrv_do_mknod(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];
	struct fuse_mknod_in in;
	struct objfs_entry e;

	if (fsrv_args(req, &in, sizeof(in)) && take_name(req, name))
		reply_entry(req, objfs_mknod(fs_of(req), &req->ctx,
		    req->hdr.nodeid, name, in.mode, fsrv_decode_dev(in.rdev), &e),
		    &e);
}

void
fsrv_do_mkdir(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];
	struct fuse_mkdir_in in;
	struct objfs_entry e;

	if (fsrv_args(req, &in, sizeof(in)) && take_name(req, name))
		reply_entry(req, objfs_mkdir(fs_of(req), &req->ctx,
		    req->hdr.nodeid, name, in.mode, &e), &e);
}

void
fsrv_do_unlink(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];

	if (take_name(req, name))
		fsrv_reply_status(req, objfs_unlink(fs_of(req), req->hdr.nodeid,
		    name));
}

void
fsrv_do_rmdir(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];

	if (take_name(req, name))
		fsrv_reply_status(req, objfs_rmdir(fs_of(req), req->hdr.nodeid,
		    name));
}

static void
do_rename(struct fsrv_req *req, uint64_t newdir, uint32_t flags)
{
	char name[FSRV_NAME_BUF], newname[FSRV_NAME_BUF];

	if (take_name(req, name) && take_name(req, newname))
		fsrv_reply_status(req, objfs_rename(fs_of(req), req->hdr.nodeid,
		    name, newdir, newname, flags));
}

void
fsrv_do_rename(struct fsrv_req *req)
{
	struct fuse_rename_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		do_rename(req, in.newdir, 0);
}

void
fsrv_do_rename2(struct fsrv_req *req)
{
	struct fuse_rename2_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		do_rename(req, in.newdir, in.flags);
}

/* Objects have exactly one name. */
void
fsrv_do_link(struct fsrv_req *req)
{
	char name[FSRV_NAME_BUF];
	struct fuse_link_in in;

	if (fsrv_args(req, &in, sizeof(in)) && take_name(req, name))
		fsrv_reply_err(req, -EPERM);
}

void
fsrv_do_statfs(struct fsrv_req *req)
{
	struct fuse_statfs_out out;
	struct statvfs sv;
	int rc;

	if ((rc = objfs_statfs(fs_of(req), &sv)) != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.st.blocks = sv.f_blocks;
	out.st.bfree = sv.f_bfree;
	out.st.bavail = sv.f_bavail;
	out.st.files = sv.f_files;
	out.st.ffree = sv.f_ffree;
	out.st.bsize = (uint32_t)sv.f_bsize;
	out.st.frsize = (uint32_t)sv.f_frsize;
	out.st.namelen = (uint32_t)sv.f_namemax;
	fsrv_reply(req, &out, sizeof(out));
}

void
fsrv_do_access(struct fsrv_req *req)
{
	struct fuse_access_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_access(fs_of(req), &req->ctx,
		    req->hdr.nodeid, (int)in.mask));
}

void
fsrv_do_syncfs(struct fsrv_req *req)
{
	struct fuse_syncfs_in in;

	if (fsrv_args(req, &in, sizeof(in)))
		fsrv_reply_status(req, objfs_syncfs(fs_of(req)));
}

void
fsrv_do_setxattr(struct fsrv_req *req)
{
	char name[XATTR_NAME_MAX + 1];
	struct fuse_setxattr_in in;
	char value[XATTR_SIZE_MAX];
	int rc;

	/* Without FUSE_SETXATTR_EXT the kernel sends the short struct. */
	if (!fsrv_args(req, &in, FUSE_COMPAT_SETXATTR_IN_SIZE))
		return;
	rc = iovcur_take_str(&req->in, name, sizeof(name), NULL);
	if (rc == 0 && in.size > sizeof(value))
		rc = -E2BIG;
	if (rc == 0)
		rc = iovcur_take(&req->in, value, in.size);
	if (rc != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	fsrv_reply_status(req, objfs_setxattr(fs_of(req), req->hdr.nodeid, name,
	    value, in.size, (int)in.flags));
}

/* GETXATTR and LISTXATTR: size 0 asks how big, else the bytes. */
static void
reply_xattr(struct fsrv_req *req, int rc, uint32_t size, const void *buf,
    size_t len)
{
	struct fuse_getxattr_out out = { .size = (uint32_t)len };

	if (rc != 0)
		fsrv_reply_err(req, rc);
	else if (size == 0)
		fsrv_reply(req, &out, sizeof(out));
	else
		fsrv_reply(req, buf, len);
}

void
fsrv_do_getxattr(struct fsrv_req *req)
{
	char name[XATTR_NAME_MAX + 1];
	struct fuse_getxattr_in in;
	char value[XATTR_SIZE_MAX];
	size_t len = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	if ((rc = iovcur_take_str(&req->in, name, sizeof(name), NULL)) != 0) {
		fsrv_reply_err(req, rc);
		return;
	}
	rc = objfs_getxattr(fs_of(req), req->hdr.nodeid, name, value,
	    in.size < sizeof(value) ? in.size : sizeof(value), &len);
	reply_xattr(req, rc, in.size, value, len);
}

void
fsrv_do_listxattr(struct fsrv_req *req)
{
	struct fuse_getxattr_in in;
	char names[XATTR_LIST_MAX];
	size_t len = 0;
	int rc;

	if (!fsrv_args(req, &in, sizeof(in)))
		return;
	rc = objfs_listxattr(fs_of(req), req->hdr.nodeid, names,
	    in.size < sizeof(names) ? in.size : sizeof(names), &len);
	reply_xattr(req, rc, in.size, names, len);
}

void
fsrv_do_removexattr(struct fsrv_req *req)
{
	char name[XATTR_NAME_MAX + 1];
	int rc;

	if ((rc = iovcur_take_str(&req->in, name, sizeof(name), NULL)) != 0)
		fsrv_reply_err(req, rc);
	else
		fsrv_reply_status(req, objfs_removexattr(fs_of(req),
		    req->hdr.nodeid, name));
}
