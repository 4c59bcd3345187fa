/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs:DIR -- keys are files under DIR.  The embedded default.
 *
 * Every path is resolved beneath DIR without following any symlink
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a component-by-
 * component O_NOFOLLOW walk where openat2 is missing), and the last
 * component is always used through *at() calls that do not follow it
 * either.  So neither "..", nor an absolute path, nor a symlink planted in
 * DIR on the host gets a guest outside DIR.
 *
 * Object metadata is the file's own: mode, owner, times and user xattrs
 * (with --fs-owners=xattr, mode, owner and type are a record beside it:
 * store_fs_owners.c).  Directories are directories (so "a/" markers are
 * real), symlinks are symlinks, and a put is a temporary file renamed
 * over the old one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_fs.h"

struct store_reader {
	struct store_file	*file;
};

struct fs_store *
fss(struct store *st)
{
	return (struct fs_store *)st;
}

/* A path below the root, resolved without following any symlink. */
int
fs_walk(struct fs_store *s, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS,
	};
	char *copy, *comp, *save = NULL;
	int fd, next;

	if (*path == '\0')
		path = ".";
	if (!s->no_openat2) {
		fd = (int)syscall(SYS_openat2, s->root, path, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd >= 0 ? fd : -errno;
		s->no_openat2 = true;
		log_info("fs: no openat2 on this kernel; walking paths instead");
	}
	/* Components were validated: no "", "." or "..". */
	if ((copy = strdup(path)) == NULL)
		return -ENOMEM;
	fd = openat(s->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (comp = strtok_r(copy, "/", &save); comp != NULL && fd >= 0;
	    comp = strtok_r(NULL, "/", &save)) {
		bool last = save == NULL || *save == '\0';
		int f = last ? flags : O_PATH | O_DIRECTORY;

		next = openat(fd, comp, f | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd >= 0 ? fd : -errno;
}

/* mkdir -p path beneath the root, one component at a time. */
static int
fs_mkdirs(struct fs_store *s, char *path)
{
	for (char *p = path, *slash;; p = slash + 1) {
		struct fs_dir *pd;
		char sub[NAME_MAX + 1];
		int fd, pfd;

		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		fd = fs_walk(s, path, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT) {
			if ((pfd = fs_parent(s, path, sub, false, &pd)) < 0)
				return pfd;
			fd = mkdirat(pfd, sub, s->xattr_owners ?
			    fs_owner_host_perm(S_IFDIR) : 0755);
			fd = fd == -1 && errno != EEXIST ? -errno : 0;
			fs_dir_put(s, pd);
			if (fd < 0)
				return fd;
			fd = fs_walk(s, path, O_PATH | O_DIRECTORY);
		}
		if (fd < 0)
			return fd;
		close(fd);
		if (slash == NULL)
			return 0;
		*slash = '/';
	}
}

/*
 * The directory holding key's last component, and that component.
 * "a/b/c" and "a/b/c/" both name c in a/b; "" names the root itself
 * (leaf ".").  With create, missing parent directories are made.  The fd
 * is borrowed: give it back with fs_dir_put(*dirp).
 */
int
fs_parent(struct fs_store *s, const char *key, char *leaf, bool create,
    struct fs_dir **dirp)
{
	char path[FS_KEY_MAX + 1];
	size_t len = strlen(key);
	char *slash;
	int fd;

	*dirp = NULL;
	if (len == 0) {
		strlcpy(leaf, ".", NAME_MAX + 1);
		return s->root;
	}
	if (!store_key_valid(&s->base, key))
		return -EINVAL;
	strlcpy(path, key, sizeof(path));
	if (path[len - 1] == '/')
		path[--len] = '\0';
	slash = strrchr(path, '/');
	strlcpy(leaf, slash != NULL ? slash + 1 : path, NAME_MAX + 1);
	/* The store's own files: no guest name reaches or makes them. */
	if (fs_meta_name(leaf))
		return create ? -EPERM : -ENOENT;
	if (slash != NULL)
		*slash = '\0';
	else
		path[0] = '\0';
	fd = fs_dir_get(s, path, dirp);
	if (fd != -ENOENT || !create || path[0] == '\0')
		return fd;
	if ((fd = fs_mkdirs(s, path)) < 0)
		return fd;
	return fs_dir_get(s, path, dirp);
}

bool
fs_hidden(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strncmp(name, FS_TMP_PREFIX, sizeof(FS_TMP_PREFIX) - 1) == 0 ||
	    fs_meta_name(name);
}

/*
 * Types host files may have to be objects: device nodes on the host stay
 * invisible, unless the store makes real ones itself.
 */
bool
fs_type_ok(const struct fs_store *s, mode_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) ||
	    S_ISFIFO(mode) || S_ISSOCK(mode) ||
	    (fs_real_devices(s) && (S_ISCHR(mode) || S_ISBLK(mode)));
}

/* Whether device nodes are real host nodes (else records). */
bool
fs_real_devices(const struct fs_store *s)
{
	return s->real_devices && !s->xattr_owners;
}

/* Types a put may make: every one, device nodes as records or real. */
bool
fs_put_type_ok(const struct fs_store *s, mode_t type)
{
	return fs_type_ok(s, type) || S_ISCHR(type) || S_ISBLK(type);
}

void
fs_attr_from_stat(const struct stat *st, struct store_attr *a)
{
	a->has |= STORE_ATTR_MODE | STORE_ATTR_UID | STORE_ATTR_GID |
	    STORE_ATTR_MTIME | STORE_ATTR_ATIME | STORE_ATTR_CTIME;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->size = (uint64_t)st->st_size;
	a->nlink = S_ISDIR(st->st_mode) ? (uint32_t)st->st_nlink : 1;
	a->mtime = st->st_mtim;
	a->atime = st->st_atim;
	a->ctime = st->st_ctim;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		a->has |= STORE_ATTR_RDEV;
		a->rdev = st->st_rdev;
	}
}

int
fs_stat(struct fs_store *s, const char *key, struct stat *st)
{
	char leaf[NAME_MAX + 1];
	struct fs_dir *dir;
	int dfd = fs_parent(s, key, leaf, false, &dir), rc = 0;

	if (dfd < 0)
		return dfd == -ENOTDIR ? -ENOENT : dfd;
	if (fstatat(dfd, leaf, st, AT_SYMLINK_NOFOLLOW) == -1)
		rc = -errno;
	else if (!fs_type_ok(s, st->st_mode) ||
	    (store_key_is_marker(key) && !S_ISDIR(st->st_mode)))
		rc = -ENOENT;
	else
		fs_owner_overlay(s, dfd, leaf, st);
	fs_dir_put(s, dir);
	return rc;
}

static int
fs_head(struct store *st, const char *key, struct store_attr *a)
{
	struct stat sb;
	int rc = fs_stat(fss(st), key, &sb);

	if (rc == 0)
		fs_attr_from_stat(&sb, a);
	return rc;
}

/* Open key's file itself for reading or writing metadata, never a link. */
int
fs_open_leaf(struct fs_store *s, const char *key, int flags)
{
	char leaf[NAME_MAX + 1];
	struct fs_dir *dir;
	int dfd = fs_parent(s, key, leaf, false, &dir), fd;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	fd = fd >= 0 ? fd : -errno;
	fs_dir_put(s, dir);
	return fd;
}

int
fs_read_xattrs(int fd, struct store_attr *a)
{
	char names[XATTR_LIST_MAX], value[STORE_XATTR_VALUE_MAX];
	ssize_t len = flistxattr(fd, names, sizeof(names));
	int rc = 0;

	if (len < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (char *n = names; n < names + len && rc == 0; n += strlen(n) + 1) {
		ssize_t vlen;

		if (strncmp(n, "user.", 5) != 0 || store_xattr_reserved(n))
			continue;
		if ((vlen = fgetxattr(fd, n, value, sizeof(value))) < 0)
			continue;	/* gone, or too big to be metadata */
		rc = store_xattr_set(a, n, value, (size_t)vlen);
	}
	return rc;
}

static int
fs_xattrs(struct store *st, const char *key, struct store_attr *a)
{
	struct stat sb;
	int fd, rc;

	if ((rc = fs_stat(fss(st), key, &sb)) != 0)
		return rc;
	a->has |= STORE_ATTR_XATTRS;
	/* Links, FIFOs and sockets carry no user xattrs on Linux. */
	if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
		return 0;
	fd = fs_open_leaf(fss(st), key, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	rc = fs_read_xattrs(fd, a);
	close(fd);
	return rc;
}

static int
fs_readlink_into(int dfd, const char *leaf, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dfd, leaf, target, sizeof(target));

	if (n < 0)
		return -errno;
	for (unsigned i = 0; i < iovcnt && off < (uint64_t)n; i++) {
		size_t c = iov[i].iov_len < (uint64_t)n - off ?
		    iov[i].iov_len : (size_t)((uint64_t)n - off);

		memcpy(iov[i].iov_base, target + off, c);
		off += c;
		*got += c;
	}
	return 0;
}

static int
fs_get(struct store *st, const char *key, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	char leaf[NAME_MAX + 1];
	struct fs_dir *dir;
	int dfd, fd, rc;

	if (store_key_is_marker(key))
		return -EISDIR;
	if ((dfd = fs_parent(fss(st), key, leaf, false, &dir)) < 0)
		return dfd == -ENOTDIR ? -ENOENT : dfd;
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ELOOP)
		rc = fs_readlink_into(dfd, leaf, off, iov, iovcnt, got);
	else if (fd == -1)
		rc = -errno;
	else {
		rc = store_fd_read(fd, off, iov, iovcnt, got);
		close(fd);
	}
	fs_dir_put(fss(st), dir);
	return rc;
}

/* Writes go straight into the file, as virtiofsd's do. */
static int
fs_direct_open(struct store *st, const char *key, struct store_file **fp)
{
	int rc;

	if (fss(st)->readonly)
		return -EROFS;
	rc = fs_file_open(fss(st), key, O_RDWR, fp);
	return rc == -ELOOP ? -EINVAL : rc;
}

static int
fs_reader_open(struct store *st, const char *key, uint64_t size,
    struct store_reader **rp)
{
	struct store_reader *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL)
		return -ENOMEM;
	rc = fs_file_open(fss(st), key, O_RDONLY | O_NONBLOCK, &r->file);
	if (rc != 0) {
		free(r);
		return rc;
	}
	*rp = r;
	return 0;
}

static int
fs_reader_read(struct store_reader *r, uint64_t off, const struct iovec *iov,
    unsigned iovcnt, size_t *got)
{
	int fd, rc;

	if ((rc = fs_file_fd(r->file, &fd)) != 0)
		return rc;
	rc = store_fd_read(fd, off, iov, iovcnt, got);
	fs_file_done(r->file);
	return rc;
}

static void
fs_reader_close(struct store_reader *r)
{
	fs_file_close(r->file);
	free(r);
}

static int
fs_statfs(struct store *st, struct statvfs *sv)
{
	return fstatvfs(fss(st)->root, sv) == -1 ? -errno : 0;
}

static int
fs_open(const char *location, const struct store_config *cfg,
    struct store **storep)
{
	struct fs_store *s;
	struct stat sb;
	int root;

	if (*location == '\0') {
		log_warnx("fs: no directory given (fs:DIR)");
		return -EINVAL;
	}
	root = open(location, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root == -1 || fstat(root, &sb) == -1) {
		log_warn("fs: %s", location);
		if (root != -1)
			close(root);
		return -errno;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(root);
		return -ENOMEM;
	}
	s->base.ops = &store_fs_ops;
	s->root = root;
	s->readonly = cfg->readonly;
	s->no_openat2 = getenv("OBJFSD_FS_NO_OPENAT2") != NULL;
	s->xattr_owners = cfg->fs_xattr_owners;
	s->real_devices = cfg->fs_real_devices;
	s->umask = umask(0);
	umask(s->umask);
	fs_dircache_init(s);
	fs_files_init(s);
	log_debug("fs: owners %s, device nodes %s",
	    s->xattr_owners ? "in xattrs" : "native",
	    fs_real_devices(s) ? "real" : "as records");
	log_debug("fs: up to %u files and %u directories of %s open at once",
	    s->files.cap, FS_DC_SHARDS * s->dc_ways, location);
	*storep = &s->base;
	return 0;
}

static void
fs_close(struct store *st)
{
	fs_files_free(fss(st));
	fs_dircache_free(fss(st));
	close(fss(st)->root);
	free(st);
}

const struct store_ops store_fs_ops = {
	.scheme = "fs",
	.usage = "fs:DIR",
	/* Device nodes: records, or real ones with --fs-devices=real. */
	.caps = STORE_CAP_TREE | STORE_CAP_NSEC | STORE_CAP_DEVICES,
	.key_max = FS_KEY_MAX,
	.open = fs_open,
	.close = fs_close,
	.head = fs_head,
	.get = fs_get,
	.put = fs_put,
	.list = fs_list,
	.remove = fs_remove,
	.copy = fs_copy,
	.rename = fs_rename,
	.set_attr = fs_set_attr,
	.xattrs = fs_xattrs,
	.statfs = fs_statfs,
	.sync = fs_sync,
	.file_open = fs_direct_open,
	.file_fd = fs_file_fd,
	.file_done = fs_file_done,
	.file_close = fs_file_close,
	.reader_open = fs_reader_open,
	.reader_read = fs_reader_read,
	.reader_close = fs_reader_close,
};
