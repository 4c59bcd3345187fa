/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store, xattr owners (--fs-owners=xattr): the guest's mode, owner,
 * file type and device number are a record beside the host file, so an
 * unprivileged daemon serves a complete POSIX filesystem and the host
 * never holds a set-id file, a device node or a FIFO of the guest's.
 *
 * The record, 24 bytes, every field a little-endian uint32:
 *
 *	0  version (1)
 *	4  st_mode, file type bits included
 *	8  uid
 *	12 gid
 *	16 major of st_rdev
 *	20 minor of st_rdev
 *
 * It is the value of the user xattr user.objfsd.stat of a regular file or
 * directory.  A symlink cannot carry user xattrs on Linux: its record is
 * the content of the sidecar file ".objfsd-meta-NAME" in the same
 * directory, which listings hide, lookups do not find and no guest name
 * may create; renames and removals through the store move it along.
 * FIFOs, sockets and device nodes are regular host files whose record
 * says what they are.  The host file's own mode is owner-only: 0700 for a
 * directory, else 0600 plus owner execute when the guest mode has any
 * execute bit.  A record whose type contradicts the host file (a
 * directory claiming to be a FIFO) is ignored, as is a missing or
 * malformed one: the file then shows its host attributes.
 *
 * With native owners the host file has the guest's owner and mode, and
 * only a device node is a record (unless --fs-devices=real makes it a
 * real one): an empty regular file of host mode FS_REC_HOST_MODE, owned
 * as the guest says, whose record gives the type, mode and device
 * number.  A stat reads the record only of such a file, so ordinary
 * files cost no fgetxattr; one that merely looks the part (a guest's
 * empty sticky file) has no record and stays what it is.  A host process
 * writing into the file makes it a plain file again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store_fs.h"

#define FS_REC_VERSION	1u
#define FS_REC_SIZE	24

struct fs_owner {
	mode_t	mode;
	uid_t	uid;
	gid_t	gid;
	dev_t	rdev;
};

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
fs_rec_encode(const struct fs_owner *o, uint8_t rec[FS_REC_SIZE])
{
	put_le32(rec, FS_REC_VERSION);
	put_le32(rec + 4, (uint32_t)o->mode);
	put_le32(rec + 8, (uint32_t)o->uid);
	put_le32(rec + 12, (uint32_t)o->gid);
	put_le32(rec + 16, major(o->rdev));
	put_le32(rec + 20, minor(o->rdev));
}

/* Whether a guest type may live in a host file of type host. */
static bool
fs_rec_type_fits(mode_t guest, mode_t host)
{
	if (S_ISDIR(host) || S_ISLNK(host))
		return (guest & S_IFMT) == (host & S_IFMT);
	return S_ISREG(host) && (S_ISREG(guest) || S_ISFIFO(guest) ||
	    S_ISSOCK(guest) || S_ISCHR(guest) || S_ISBLK(guest));
}

static bool
fs_rec_decode(const uint8_t *rec, ssize_t len, mode_t host,
    struct fs_owner *o)
{
	if (len != FS_REC_SIZE || get_le32(rec) != FS_REC_VERSION)
		return false;
	o->mode = (mode_t)get_le32(rec + 4);
	o->uid = (uid_t)get_le32(rec + 8);
	o->gid = (gid_t)get_le32(rec + 12);
	o->rdev = makedev(get_le32(rec + 16), get_le32(rec + 20));
	return fs_rec_type_fits(o->mode, host);
}

bool
fs_meta_name(const char *name)
{
	return strncmp(name, FS_META_PREFIX, sizeof(FS_META_PREFIX) - 1) == 0;
}

static int
fs_sidecar(const char *leaf, char *buf, size_t size)
{
	int n = snprintf(buf, size, FS_META_PREFIX "%s", leaf);

	return n < 0 || (size_t)n >= size || n > NAME_MAX ? -ENAMETOOLONG : 0;
}

/* The host mode of a file whose guest mode is mode: owner-only. */
mode_t
fs_owner_host_perm(mode_t mode)
{
	if (S_ISDIR(mode))
		return 0700;
	return 0600 | ((mode & 0111) ? 0100 : 0);
}

/* Whether a native host file of stat st may stand for a device node. */
static bool
fs_rec_marked(const struct stat *st)
{
	return st->st_mode == FS_REC_HOST_MODE && st->st_size == 0;
}

/* An open fd of dfd/leaf for its xattrs: fd itself when >= 0. */
static int
fs_owner_fd(int fd, int dfd, const char *leaf)
{
	if (fd >= 0)
		return fd;
	fd = openat(dfd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY);
	return fd >= 0 ? fd : -errno;
}

/* The record of dfd/leaf (host stat st) into o: true if it has one. */
static bool
fs_owner_get(int fd, int dfd, const char *leaf, const struct stat *st,
    struct fs_owner *o)
{
	uint8_t rec[FS_REC_SIZE + 1];
	char name[NAME_MAX + 1];
	ssize_t len = -1;
	int rfd;

	if (S_ISLNK(st->st_mode)) {
		if (fs_sidecar(leaf, name, sizeof(name)) != 0 ||
		    (rfd = openat(dfd, name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			return false;
		len = pread(rfd, rec, sizeof(rec), 0);
		close(rfd);
	} else if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		if ((rfd = fs_owner_fd(fd, dfd, leaf)) < 0)
			return false;
		len = fgetxattr(rfd, FS_OWNERS_XATTR, rec, sizeof(rec));
		if (rfd != fd)
			close(rfd);
	}
	return fs_rec_decode(rec, len, st->st_mode, o);
}

void
fs_owner_overlay(struct fs_store *s, int dfd, const char *leaf,
    struct stat *st)
{
	struct fs_owner o;

	if (s->xattr_owners && fs_owner_get(-1, dfd, leaf, st, &o)) {
		st->st_mode = o.mode;
		st->st_uid = o.uid;
		st->st_gid = o.gid;
		st->st_rdev = o.rdev;
	} else if (!s->xattr_owners && fs_rec_marked(st) &&
	    fs_owner_get(-1, dfd, leaf, st, &o) &&
	    (S_ISCHR(o.mode) || S_ISBLK(o.mode))) {
		/* Native: the owner is the host file's own. */
		st->st_mode = o.mode;
		st->st_rdev = o.rdev;
	}
}

/*
 * Whether the metadata of the object at fd (or dfd/leaf), of guest type
 * type, is a record under native owners: a device node kept as a
 * regular host file.
 */
bool
fs_owner_is_record(int fd, int dfd, const char *leaf, mode_t type)
{
	struct stat st;

	if (!S_ISCHR(type) && !S_ISBLK(type))
		return false;
	if ((fd >= 0 ? fstat(fd, &st) :
	    fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW)) == -1)
		return false;
	return S_ISREG(st.st_mode);
}

static int
fs_owner_put(int fd, int dfd, const char *leaf, const struct fs_owner *o,
    mode_t host_perm)
{
	uint8_t rec[FS_REC_SIZE];
	char name[NAME_MAX + 1];
	int rc = 0, wfd;

	fs_rec_encode(o, rec);
	if (S_ISLNK(o->mode)) {
		if ((rc = fs_sidecar(leaf, name, sizeof(name))) != 0)
			return rc;
		wfd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (wfd == -1)
			return -errno;
		if (pwrite(wfd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec))
			rc = -EIO;
		close(wfd);
		return rc;
	}
	if ((wfd = fs_owner_fd(fd, dfd, leaf)) < 0)
		return wfd;
	if (fsetxattr(wfd, FS_OWNERS_XATTR, rec, sizeof(rec), 0) == -1 ||
	    fchmod(wfd, host_perm) == -1)
		rc = errno == ENOTSUP ? -EOPNOTSUPP : -errno;
	if (wfd != fd)
		close(wfd);
	return rc;
}

/*
 * The mode, owner and device number a names, for the object at fd (or
 * dfd/leaf) whose guest type is type: the rest of the record stays as it
 * was, or as the host file is when it has none.  Native owners: the host
 * file takes the record file's mode, the owner is set beside (by the
 * caller).
 */
int
fs_owner_set(struct fs_store *s, int fd, int dfd, const char *leaf,
    mode_t type, const struct store_attr *a)
{
	unsigned want = STORE_ATTR_MODE | STORE_ATTR_UID | STORE_ATTR_GID |
	    STORE_ATTR_RDEV;
	struct fs_owner o;
	struct stat st;

	if (!(a->has & want))
		return 0;
	if ((fd >= 0 ? fstat(fd, &st) :
	    fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW)) == -1)
		return -errno;
	if (!fs_owner_get(fd, dfd, leaf, &st, &o))
		o = (struct fs_owner){ st.st_mode, st.st_uid, st.st_gid, 0 };
	o.mode = type | (o.mode & 07777);
	if (a->has & STORE_ATTR_MODE)
		o.mode = type | (a->mode & 07777);
	if (a->has & STORE_ATTR_UID)
		o.uid = a->uid;
	if (a->has & STORE_ATTR_GID)
		o.gid = a->gid;
	if (a->has & STORE_ATTR_RDEV)
		o.rdev = a->rdev;
	if (!S_ISCHR(type) && !S_ISBLK(type))
		o.rdev = 0;
	if (!fs_rec_type_fits(o.mode, st.st_mode))
		return -EINVAL;
	return fs_owner_put(fd, dfd, leaf, &o, s->xattr_owners ?
	    fs_owner_host_perm(o.mode) : FS_REC_HOST_MODE & 07777);
}

/*
 * sfd/sleaf was renamed to dfd/dleaf: a symlink's sidecar goes with it,
 * and whatever sidecar dleaf had before is gone.
 */
int
fs_owner_moved(struct fs_store *s, int sfd, const char *sleaf, int dfd,
    const char *dleaf)
{
	char sname[NAME_MAX + 1], dname[NAME_MAX + 1];
	bool has_s, has_d, is_link;
	struct stat st;

	if (!s->xattr_owners)
		return 0;
	has_s = fs_sidecar(sleaf, sname, sizeof(sname)) == 0;
	has_d = fs_sidecar(dleaf, dname, sizeof(dname)) == 0;
	is_link = fstatat(dfd, dleaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode);
	if (is_link && has_s && has_d && renameat(sfd, sname, dfd, dname) == 0)
		return 0;
	/* A name too long for a sidecar keeps none (the host's owner). */
	if (is_link && has_s)
		(void)unlinkat(sfd, sname, 0);
	if (has_d && unlinkat(dfd, dname, 0) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

/* dfd/leaf is gone: so is its sidecar, if it had one. */
void
fs_owner_removed(struct fs_store *s, int dfd, const char *leaf)
{
	char name[NAME_MAX + 1];

	if (s->xattr_owners && fs_sidecar(leaf, name, sizeof(name)) == 0)
		(void)unlinkat(dfd, name, 0);
}
