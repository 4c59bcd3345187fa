/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store internals shared by store_fs*.c.
 *
 * Threading: every store op may run on any thread at once (store.h).
 * What a struct fs_store holds is set by fs_open() and then only read,
 * with three exceptions: dc_gen is an atomic, bumped by renames and
 * removals of directories and compared by every cache lookup; each
 * dc[] shard's slots, tick and the refs of the fs_dirs in it are guarded
 * by that shard's lock; files (the open objects, store_fs_files.c) has
 * the locks its comment names.  A directory fd handed out by fs_dir_get()
 * is the caller's until fs_dir_put(), whoever evicts it meanwhile.
 * Anything else is per call: the store keeps no state between operations
 * beyond the host's filesystem.
 *
 * File descriptors: the store keeps at most files.cap fds of open
 * objects and FS_DC_SHARDS * dc_ways of directories, both set at open
 * from the soft RLIMIT_NOFILE (fs_files_init says how), so that the rest
 * of the limit stays free for sockets, eventfds, guest memory, spill
 * files and the fds an operation opens for its own duration.
 */
#ifndef OBJFSD_STORE_FS_H
#define OBJFSD_STORE_FS_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include "rbtree.h"
#include "store.h"

/* A key is a path beneath the root, handed to openat2 in one piece. */
#define FS_KEY_MAX	(PATH_MAX - 1)

/* Names a put uses on its way in; listings never show them. */
#define FS_TMP_PREFIX	".objfsd-tmp-"
/* xattr owners (store_fs_owners.c): the record and a symlink's sidecar. */
#define FS_OWNERS_XATTR	"user.objfsd.stat"
#define FS_META_PREFIX	".objfsd-meta-"
/*
 * Native owners: the host mode of a regular file standing for a device
 * node, whose record says which (store_fs_owners.c).  Sticky, owner-only
 * and empty: what ordinary files almost never are, so that only these
 * cost an fgetxattr on a stat.
 */
#define FS_REC_HOST_MODE	(S_IFREG | S_ISVTX | 0600)
/* The same number on every architecture; glibc 2.36 has no name for it. */
#define FS_SYS_FCHMODAT2	452

#define FS_DC_SHARDS	16
#define FS_DC_WAYS	16

struct fs_dir;

struct fs_dcshard {
	pthread_mutex_t	 lock;		/* guards the rest */
	struct fs_dir	*slot[FS_DC_WAYS];
	uint64_t	 tick;
};

RB_HEAD(fs_file_tree, store_file);
TAILQ_HEAD(fs_file_list, store_file);

/*
 * The objects open through reader_open and file_open.  Lock order: names
 * before lock.  names is taken for writing while a name changes through
 * the store (remove, rename, the rename ending a put) and for reading
 * while a file is opened by its name, so that no open races with the
 * change; lock guards the rest and every store_file's fields but its
 * flags and identity, which never change.
 */
struct fs_files {
	pthread_rwlock_t	 names;
	pthread_mutex_t		 lock;
	struct fs_file_tree	 by_key;	/* files that have a name */
	struct fs_file_list	 idle;		/* least recently used first */
	unsigned		 nopen;		/* fds held, idle or not */
	unsigned		 cap;
	bool			 warned;	/* that the cap was reached */
};

struct fs_store {
	struct store		 base;
	int			 root;		/* O_PATH of DIR */
	bool			 readonly;
	bool			 no_openat2;	/* kernel without it, or forced */
	bool			 xattr_owners;	/* --fs-owners=xattr */
	bool			 real_devices;	/* --fs-devices=real */
	mode_t			 umask;		/* the process's, at open */
	uint64_t		 dc_gen;	/* atomic; bumped when dirs move */
	unsigned		 dc_ways;	/* slots used in each shard */
	struct fs_dcshard	 dc[FS_DC_SHARDS];
	struct fs_files		 files;
};

/* store_fs.c */
struct fs_store *fss(struct store *st);
int	fs_walk(struct fs_store *s, const char *path, int flags);
int	fs_parent(struct fs_store *s, const char *key, char *leaf,
	    bool create, struct fs_dir **dirp);
int	fs_stat(struct fs_store *s, const char *key, struct stat *st);
int	fs_open_leaf(struct fs_store *s, const char *key, int flags);
bool	fs_hidden(const char *name);
bool	fs_type_ok(const struct fs_store *s, mode_t mode);
bool	fs_put_type_ok(const struct fs_store *s, mode_t type);
bool	fs_real_devices(const struct fs_store *s);
void	fs_attr_from_stat(const struct stat *st, struct store_attr *a);
int	fs_read_xattrs(int fd, struct store_attr *a);

/* store_fs_write.c */
int	fs_put(struct store *st, const char *key, int fd, uint64_t size,
	    const struct store_attr *attr, struct store_cond *cond);
int	fs_remove(struct store *st, const char *key);
int	fs_copy(struct store *st, const char *src, const char *dst,
	    const struct store_attr *attr, const struct store_attr *src_attr);
int	fs_rename(struct store *st, const char *src, const char *dst,
	    unsigned flags);
int	fs_set_attr(struct store *st, const char *key,
	    const struct store_attr *a, const struct store_attr *base,
	    struct store_cond *cond);
int	fs_sync(struct store *st, const char *key, bool datasync);

/* store_fs_owners.c */
bool	fs_meta_name(const char *name);
mode_t	fs_owner_host_perm(mode_t mode);
bool	fs_owner_is_record(int fd, int dfd, const char *leaf, mode_t type);
void	fs_owner_overlay(struct fs_store *s, int dfd, const char *leaf,
	    struct stat *st);
int	fs_owner_set(struct fs_store *s, int fd, int dfd, const char *leaf,
	    mode_t type, const struct store_attr *a);
int	fs_owner_moved(struct fs_store *s, int sfd, const char *sleaf,
	    int dfd, const char *dleaf);
void	fs_owner_removed(struct fs_store *s, int dfd, const char *leaf);

/* store_fs_dircache.c */
void	fs_dircache_init(struct fs_store *s);
void	fs_dircache_free(struct fs_store *s);
void	fs_dircache_invalidate(struct fs_store *s);
int	fs_dir_get(struct fs_store *s, const char *path, struct fs_dir **dirp);
void	fs_dir_put(struct fs_store *s, struct fs_dir *d);

/* store_fs_files.c */
void	fs_files_init(struct fs_store *s);
void	fs_files_free(struct fs_store *s);
int	fs_file_open(struct fs_store *s, const char *key, int flags,
	    struct store_file **fp);
int	fs_file_fd(struct store_file *f, int *fdp);
void	fs_file_done(struct store_file *f);
void	fs_file_close(struct store_file *f);
int	fs_name_change_begin(struct fs_store *s, const char *key,
	    struct store_file **heldp);
void	fs_name_change_end(struct fs_store *s, struct store_file *held,
	    bool gone);
void	fs_files_moved(struct fs_store *s, const char *src, const char *dst);

/* store_fs_list.c */
int	fs_list(struct store *st, const char *prefix, const char *after,
	    unsigned flags, size_t max, struct store_listing *out);

#endif
