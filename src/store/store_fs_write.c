/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store: everything that changes DIR.  Every change happens inside the
 * directory resolved beneath the root, through *at() calls that never
 * follow the last component.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "store_fs.h"

#define FS_COPY_BUF	(128u << 10)

static void
fs_tmp_name(char *buf, size_t size)
{
	uint8_t r[8];

	arc4random_buf(r, sizeof(r));
	snprintf(buf, size, FS_TMP_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* The host xattrs of fd become exactly the set in a; ours stay. */
static int
fs_sync_xattrs(int fd, const struct store_attr *a)
{
	char names[XATTR_LIST_MAX];
	ssize_t len = flistxattr(fd, names, sizeof(names));

	for (unsigned i = 0; i < a->nxattrs; i++)
		if (store_xattr_reserved(a->xattrs[i].name))
			return -EPERM;
	for (char *n = names; len > 0 && n < names + len; n += strlen(n) + 1)
		if (strncmp(n, "user.", 5) == 0 && !store_xattr_reserved(n) &&
		    !store_xattr_find(a, n))
			(void)fremovexattr(fd, n);
	for (unsigned i = 0; i < a->nxattrs; i++)
		if (fsetxattr(fd, a->xattrs[i].name, a->xattrs[i].value,
		    a->xattrs[i].len, 0) == -1)
			return -errno;
	return 0;
}

static int
fs_apply_owner(int fd, int dfd, const char *leaf, const struct store_attr *a,
    bool strict)
{
	uid_t uid = (a->has & STORE_ATTR_UID) ? a->uid : (uid_t)-1;
	gid_t gid = (a->has & STORE_ATTR_GID) ? a->gid : (gid_t)-1;
	int rc;

	if (!(a->has & (STORE_ATTR_UID | STORE_ATTR_GID)))
		return 0;
	rc = fd >= 0 ? fchown(fd, uid, gid) :
	    fchownat(dfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
	/* In a user namespace an id it does not map is EINVAL: EPERM too. */
	if (rc == -1 && errno == EINVAL)
		errno = EPERM;
	/* Not root: new objects keep the daemon's owner. */
	if (rc == -1 && errno == EPERM && !strict)
		return 0;
	return rc == -1 ? -errno : 0;
}

/*
 * chmod without following a symlink: the kernel's fchmodat2 (Linux 6.6)
 * where there is one; else glibc's fchmodat, which goes through
 * /proc/self/fd (the namespace sandbox mounts a /proc of its own).
 */
static int
fs_chmod_nofollow(int dfd, const char *leaf, mode_t perm)
{
	if (syscall(FS_SYS_FCHMODAT2, dfd, leaf, perm,
	    AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return fchmodat(dfd, leaf, perm, AT_SYMLINK_NOFOLLOW);
}

/* Owner and mode on the host file itself (native owners). */
static int
fs_apply_native(int fd, int dfd, const char *leaf, mode_t type,
    const struct store_attr *a, bool strict)
{
	int rc;

	/* Owner first: chown clears set-id bits the mode may set again. */
	if ((rc = fs_apply_owner(fd, dfd, leaf, a, strict)) != 0)
		return rc;
	if ((a->has & STORE_ATTR_MODE) && type != S_IFLNK) {
		mode_t perm = a->mode & 07777;

		rc = fd >= 0 ? fchmod(fd, perm) :
		    fs_chmod_nofollow(dfd, leaf, perm);
		if (rc == -1 && errno != EOPNOTSUPP)
			return -errno;
	}
	return 0;
}

/*
 * Native owners, a device node kept as a record: the record has its mode
 * and device number, the host file its owner.
 */
static int
fs_apply_native_record(struct fs_store *s, int fd, int dfd, const char *leaf,
    mode_t type, const struct store_attr *a, bool strict)
{
	int rc = fs_owner_set(s, fd, dfd, leaf, type, a);

	return rc != 0 ? rc : fs_apply_owner(fd, dfd, leaf, a, strict);
}

/*
 * Give an object the metadata in a; type is its type as the guest sees
 * it.  With fd >= 0 it is used, else dfd/leaf.  strict: an owner change
 * we may not make is an error (an explicit chown), not silently skipped
 * (a new object).
 */
static int
fs_apply(struct fs_store *s, int fd, int dfd, const char *leaf, mode_t type,
    const struct store_attr *a, bool strict)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	int rc;

	if (s->xattr_owners)
		rc = fs_owner_set(s, fd, dfd, leaf, type, a);
	else if (fs_owner_is_record(fd, dfd, leaf, type))
		rc = fs_apply_native_record(s, fd, dfd, leaf, type, a, strict);
	else
		rc = fs_apply_native(fd, dfd, leaf, type, a, strict);
	if (rc != 0)
		return rc;
	if (a->has & STORE_ATTR_ATIME)
		ts[0] = a->atime;
	if (a->has & STORE_ATTR_MTIME)
		ts[1] = a->mtime;
	if ((a->has & (STORE_ATTR_ATIME | STORE_ATTR_MTIME)) &&
	    (fd >= 0 ? futimens(fd, ts) :
	    utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW)) == -1)
		return -errno;
	if (a->has & STORE_ATTR_XATTRS) {
		if (fd < 0)
			return a->nxattrs > 0 ? -EPERM : 0;
		return fs_sync_xattrs(fd, a);
	}
	return 0;
}

static int
fs_copy_data(int in, int out, uint64_t size)
{
	loff_t off_in = 0, off_out = 0;
	char *buf = NULL;
	int rc = 0;

	while ((uint64_t)off_in < size) {
		size_t want = size - (uint64_t)off_in > (1u << 30) ? (1u << 30) :
		    (size_t)(size - (uint64_t)off_in);
		ssize_t n = buf == NULL ? copy_file_range(in, &off_in, out,
		    &off_out, want, 0) : -1;

		if (n < 0 && buf == NULL && (errno == EXDEV ||
		    errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			if ((buf = malloc(FS_COPY_BUF)) == NULL)
				return -ENOMEM;
			continue;
		}
		if (buf != NULL) {	/* plain copy through a buffer */
			n = pread(in, buf, want < FS_COPY_BUF ? want :
			    FS_COPY_BUF, off_in);
			if (n > 0 && pwrite(out, buf, (size_t)n, off_out) != n)
				n = -1;
			if (n > 0) {
				off_in += n;
				off_out += n;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? -EIO : -errno;	/* shorter than said */
			break;
		}
	}
	free(buf);
	return rc;
}

/* A put keeps the replaced file's xattrs unless it brings its own. */
static void
fs_inherit_xattrs(int dfd, const char *leaf, int tfd,
    const struct store_attr *a)
{
	struct store_attr old = { 0 };
	struct stat sb;
	int ofd;

	if (a->has & STORE_ATTR_XATTRS)
		return;
	/* Never open what it replaces unless it may carry xattrs. */
	if (fstatat(dfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))
		return;
	ofd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (ofd == -1)
		return;
	if (fs_read_xattrs(ofd, &old) == 0) {
		old.has = STORE_ATTR_XATTRS;
		(void)fs_sync_xattrs(tfd, &old);
	}
	store_attr_clear(&old);
	close(ofd);
}

static int
fs_put_file(struct fs_store *s, int dfd, const char *leaf, const char *tmp, int fd, uint64_t size,
    const struct store_attr *a)
{
	int tfd, rc = 0;

	tfd = openat(dfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (tfd == -1)
		return -errno;
	if (fd >= 0 && size > 0)
		rc = fs_copy_data(fd, tfd, size);
	if (rc == 0) {
		fs_inherit_xattrs(dfd, leaf, tfd, a);
		rc = fs_apply(s, tfd, dfd, tmp, S_IFREG, a, false);
	}
	close(tfd);
	return rc;
}

/*
 * A new empty file needs no temporary name: created exclusively under its
 * own, it replaces nothing.  Only what creation did not already get right
 * is applied afterwards.  -EEXIST: there is something to replace.
 */
static int
fs_put_empty(struct fs_store *s, int dfd, const char *leaf,
    const struct store_attr *a)
{
	mode_t perm = (a->has & STORE_ATTR_MODE) ? a->mode & 07777 : 0644;
	struct store_attr rest = *a;	/* shares a's xattrs, frees nothing */
	int fd, rc;

	fd = openat(dfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC, s->xattr_owners ? fs_owner_host_perm(S_IFREG | perm) :
	    perm & 0777);
	if (fd == -1)
		return -errno;
	/* xattr owners: the record is written whatever the mode. */
	if (!s->xattr_owners && (perm & s->umask) == 0 && (perm & 07000) == 0)
		rest.has &= ~(unsigned)STORE_ATTR_MODE;
	if (!s->xattr_owners &&
	    (!(a->has & STORE_ATTR_UID) || a->uid == geteuid()) &&
	    (!(a->has & STORE_ATTR_GID) || a->gid == getegid()))
		rest.has &= ~(unsigned)(STORE_ATTR_UID | STORE_ATTR_GID);
	if ((a->has & STORE_ATTR_XATTRS) && a->nxattrs == 0)
		rest.has &= ~(unsigned)STORE_ATTR_XATTRS;
	rc = fs_apply(s, fd, dfd, leaf, S_IFREG, &rest, false);
	close(fd);
	if (rc != 0)
		(void)unlinkat(dfd, leaf, 0);
	return rc;
}

/*
 * A regular file and a record: a FIFO, socket or device node with xattr
 * owners, a device node with native ones.
 */
static int
fs_put_record(struct fs_store *s, int dfd, const char *tmp, mode_t type,
    const struct store_attr *a)
{
	int fd = openat(dfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC, 0600), rc;

	if (fd == -1)
		return -errno;
	rc = fs_apply(s, fd, dfd, tmp, type, a, false);
	close(fd);
	return rc;
}

static int
fs_put_special(struct fs_store *s, int dfd, const char *tmp, mode_t type,
    int fd, uint64_t size, const struct store_attr *a)
{
	bool dev = S_ISCHR(type) || S_ISBLK(type);
	char target[PATH_MAX];
	dev_t rdev = dev && (a->has & STORE_ATTR_RDEV) ? a->rdev : 0;

	if ((type != S_IFLNK && s->xattr_owners) ||
	    (dev && !fs_real_devices(s)))
		return fs_put_record(s, dfd, tmp, type, a);
	if (type == S_IFLNK) {
		if (fd < 0 || size == 0 || size >= sizeof(target))
			return -EINVAL;
		if (pread(fd, target, size, 0) != (ssize_t)size)
			return -EIO;
		target[size] = '\0';
		if (strlen(target) != size || symlinkat(target, dfd, tmp) == -1)
			return strlen(target) != size ? -EINVAL : -errno;
	} else if (mknodat(dfd, tmp, type | 0600, rdev) == -1)
		return -errno;
	return fs_apply(s, -1, dfd, tmp, type, a, false);
}

static int
fs_put_dir(struct fs_store *s, int dfd, const char *leaf,
    const struct store_attr *a)
{
	mode_t perm = (a->has & STORE_ATTR_MODE) ? a->mode & 07777 : 0755;
	int fd, rc;

	if (s->xattr_owners)
		perm = fs_owner_host_perm(S_IFDIR);
	if (mkdirat(dfd, leaf, perm) == -1 && errno != EEXIST)
		return -errno;
	fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOTDIR ? -EEXIST : -errno;
	rc = fs_apply(s, fd, dfd, leaf, S_IFDIR, a, false);
	close(fd);
	return rc;
}

/* The new file takes key's name: what was open by it keeps its fds. */
static int
fs_put_rename(struct fs_store *s, int dfd, const char *tmp, const char *leaf,
    const char *key)
{
	struct store_file *held;
	int rc = fs_name_change_begin(s, key, &held);

	if (rc == 0 && renameat(dfd, tmp, dfd, leaf) == -1)
		rc = -errno;
	if (rc == 0)
		(void)fs_owner_moved(s, dfd, tmp, dfd, leaf);
	fs_name_change_end(s, held, rc == 0);
	return rc;
}

int
fs_put(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_attr *a, struct store_cond *cond)
{
	struct fs_store *s = fss(st);
	char leaf[NAME_MAX + 1], tmp[64];
	mode_t type = (a->has & STORE_ATTR_MODE) ? a->mode & S_IFMT : 0;
	struct fs_dir *dir;
	int dfd, rc;

	(void)cond;		/* files have no ETags */
	if (s->readonly)
		return -EROFS;
	if (store_key_is_marker(key))
		type = S_IFDIR;
	else if (type == 0)
		type = S_IFREG;
	if (!fs_put_type_ok(s, type) || key[0] == '\0')
		return -EINVAL;
	if ((dfd = fs_parent(s, key, leaf, true, &dir)) < 0)
		return dfd;
	if (type == S_IFDIR) {
		rc = fs_put_dir(s, dfd, leaf, a);
		fs_dir_put(s, dir);
		return rc;
	}
	if (type == S_IFREG && size == 0 &&
	    (rc = fs_put_empty(s, dfd, leaf, a)) != -EEXIST) {
		fs_dir_put(s, dir);
		return rc;
	}
	fs_tmp_name(tmp, sizeof(tmp));
	if (type == S_IFREG)
		rc = fs_put_file(s, dfd, leaf, tmp, fd, size, a);
	else
		rc = fs_put_special(s, dfd, tmp, type, fd, size, a);
	if (rc == 0)
		rc = fs_put_rename(s, dfd, tmp, leaf, key);
	if (rc != 0) {
		(void)unlinkat(dfd, tmp, 0);
		fs_owner_removed(s, dfd, tmp);
	}
	fs_dir_put(s, dir);
	return rc;
}

int
fs_remove(struct store *st, const char *key)
{
	char leaf[NAME_MAX + 1];
	struct store_file *held;
	struct fs_dir *dir;
	bool is_dir;
	int dfd, rc = 0;

	if (fss(st)->readonly)
		return -EROFS;
	if (key[0] == '\0')
		return -EBUSY;
	if ((dfd = fs_parent(fss(st), key, leaf, false, &dir)) < 0)
		return dfd == -ENOTDIR ? -ENOENT : dfd;
	is_dir = store_key_is_marker(key);
	rc = fs_name_change_begin(fss(st), key, &held);
	if (rc == 0 && unlinkat(dfd, leaf, is_dir ? AT_REMOVEDIR : 0) == -1)
		rc = errno == ENOTDIR ? -ENOENT : -errno;
	else if (rc == 0 && is_dir)
		fs_dircache_invalidate(fss(st));
	else if (rc == 0)
		fs_owner_removed(fss(st), dfd, leaf);
	fs_name_change_end(fss(st), held, rc == 0);
	fs_dir_put(fss(st), dir);
	return rc;
}

static int
fs_fsync_at(int dfd, const char *name, bool datasync)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC), rc = 0;

	if (fd == -1)
		/* A symlink or a socket: nothing of its own to write back. */
		return errno == ELOOP || errno == ENXIO ? 0 : -errno;
	/* EINVAL: a FIFO, which holds no data to sync. */
	if ((datasync ? fdatasync(fd) : fsync(fd)) == -1 && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * fsync(2) of key's file; a full sync also makes its directory entry
 * durable, as puts replace files by rename.  No key: the filesystem.
 */
int
fs_sync(struct store *st, const char *key, bool datasync)
{
	char leaf[NAME_MAX + 1];
	struct fs_dir *dir;
	int dfd, fd, rc;

	if (key == NULL) {
		if ((fd = openat(fss(st)->root, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return -errno;
		rc = syncfs(fd) == -1 ? -errno : 0;
		close(fd);
		return rc;
	}
	if ((dfd = fs_parent(fss(st), key, leaf, false, &dir)) < 0)
		return dfd == -ENOTDIR ? -ENOENT : dfd;
	rc = fs_fsync_at(dfd, leaf, datasync);
	if (rc == 0 && !datasync)
		rc = fs_fsync_at(dfd, ".", false);
	fs_dir_put(fss(st), dir);
	return rc;
}

int
fs_copy(struct store *st, const char *src, const char *dst,
    const struct store_attr *attr, const struct store_attr *src_attr)
{
	struct store_attr a = { 0 };
	struct stat sb;
	char target[PATH_MAX];
	int fd, rc;

	(void)src_attr;		/* a stat is cheap and exact */
	if ((rc = fs_stat(fss(st), src, &sb)) != 0)
		return rc;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	fd = S_ISLNK(sb.st_mode) ? -1 : fs_open_leaf(fss(st), src,
	    O_RDONLY | O_NONBLOCK);
	if (!S_ISLNK(sb.st_mode) && fd < 0)
		return fd;
	fs_attr_from_stat(&sb, &a);
	if (fd >= 0 && (rc = fs_read_xattrs(fd, &a)) == 0)
		a.has |= STORE_ATTR_XATTRS;
	if (rc == 0 && attr != NULL)
		rc = store_attr_merge(&a, attr);
	if (rc == 0 && S_ISLNK(sb.st_mode)) {
		/* A link's body is its target, and put() reads bodies from fds. */
		struct iovec iov = { target, sizeof(target) - 1 };
		size_t got = 0;

		rc = store_get(st, src, 0, &iov, 1, &got);
		if (rc == 0 && (fd = memfd_create("objfsd-link", MFD_CLOEXEC))
		    < 0)
			rc = -errno;
		if (rc == 0 && pwrite(fd, target, got, 0) != (ssize_t)got)
			rc = -EIO;
		sb.st_size = (off_t)got;
	}
	if (rc == 0)
		rc = fs_put(st, dst, fd, (uint64_t)sb.st_size, &a, NULL);
	if (fd >= 0)
		close(fd);
	store_attr_clear(&a);
	return rc;
}

static int
fs_renameat(int sfd, const char *sleaf, int dfd, const char *dleaf,
    unsigned flags)
{
	struct stat sb;

	if (renameat2(sfd, sleaf, dfd, dleaf,
	    (flags & STORE_RENAME_NOREPLACE) ? RENAME_NOREPLACE : 0) == 0)
		return 0;
	if (errno != EINVAL || !(flags & STORE_RENAME_NOREPLACE))
		return -errno;
	/* A filesystem without renameat2 flags: check, then rename. */
	if (fstatat(dfd, dleaf, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	return renameat(sfd, sleaf, dfd, dleaf) == 0 ? 0 : -EINVAL;
}

int
fs_rename(struct store *st, const char *src, const char *dst, unsigned flags)
{
	struct fs_store *s = fss(st);
	char sleaf[NAME_MAX + 1], dleaf[NAME_MAX + 1];
	struct store_file *held;
	struct fs_dir *sdir, *ddir;
	int sfd, dfd, rc = 0;

	if (s->readonly)
		return -EROFS;
	if ((sfd = fs_parent(s, src, sleaf, false, &sdir)) < 0)
		return sfd;
	if ((dfd = fs_parent(s, dst, dleaf, true, &ddir)) < 0) {
		fs_dir_put(s, sdir);
		return dfd;
	}
	/* The files open by dst keep their fds; those of src follow it. */
	rc = fs_name_change_begin(s, strcmp(src, dst) != 0 ? dst : NULL,
	    &held);
	if (rc == 0)
		rc = fs_renameat(sfd, sleaf, dfd, dleaf, flags);
	if (rc == 0) {
		(void)fs_owner_moved(s, sfd, sleaf, dfd, dleaf);
		fs_files_moved(s, src, dst);
		/*
		 * Whatever moved, no open directory may stand for its old
		 * path, by the time a file opens again by its new one.
		 */
		fs_dircache_invalidate(s);
	}
	fs_name_change_end(s, held, rc == 0);
	fs_dir_put(s, sdir);
	fs_dir_put(s, ddir);
	return rc;
}

int
fs_set_attr(struct store *st, const char *key, const struct store_attr *a,
    const struct store_attr *base, struct store_cond *cond)
{
	char leaf[NAME_MAX + 1];
	struct fs_dir *dir;
	struct stat sb;
	int dfd, fd = -1, rc;

	(void)base;		/* each attribute is changed on its own */
	(void)cond;		/* files have no ETags */
	if (fss(st)->readonly)
		return -EROFS;
	if ((rc = fs_stat(fss(st), key, &sb)) != 0)
		return rc;
	if ((dfd = fs_parent(fss(st), key, leaf, false, &dir)) < 0)
		return dfd;
	if ((a->has & STORE_ATTR_XATTRS) &&
	    (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)))
		fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
	rc = fs_apply(fss(st), fd, dfd, leaf, sb.st_mode & S_IFMT, a, true);
	if (fd >= 0)
		close(fd);
	fs_dir_put(fss(st), dir);
	return rc;
}
