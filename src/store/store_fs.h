/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store internals shared by store_fs*.c.
 *
 * Threading: every store op may run on any thread at once (store.h).
 * What a struct fs_store holds is set by fs_open() and then only read,
 * with two exceptions: dc_gen is an atomic, bumped by renames and
 * removals of directories and compared by every cache lookup; each
 * dc[] shard's slots, tick and the refs of the fs_dirs in it are guarded
 * by that shard's lock.  A directory fd handed out by fs_dir_get() is
 * the caller's until fs_dir_put(), whoever evicts it meanwhile.  Anything
 * else is per call: the store keeps no state between operations beyond
 * the host's filesystem.
 */
#ifndef OBJFSD_STORE_FS_H
#define OBJFSD_STORE_FS_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "store.h"

/* Names a put uses on its way in; listings never show them. */
#define FS_TMP_PREFIX	".objfsd-tmp-"
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

struct fs_store {
	struct store		 base;
	int			 root;		/* O_PATH of DIR */
	bool			 readonly;
	bool			 no_openat2;	/* kernel without it, or forced */
	mode_t			 umask;		/* the process's, at open */
	uint64_t		 dc_gen;	/* atomic; bumped when dirs move */
	struct fs_dcshard	 dc[FS_DC_SHARDS];
};

/* store_fs.c */
struct fs_store *fss(struct store *st);
int	fs_walk(struct fs_store *s, const char *path, int flags);
int	fs_parent(struct fs_store *s, const char *key, char *leaf,
	    bool create, struct fs_dir **dirp);
int	fs_stat(struct fs_store *s, const char *key, struct stat *st);
int	fs_open_leaf(struct fs_store *s, const char *key, int flags);
bool	fs_hidden(const char *name);
bool	fs_type_ok(mode_t mode);
void	fs_attr_from_stat(const struct stat *st, struct store_attr *a);
int	fs_read_xattrs(int fd, struct store_attr *a);

/* store_fs_write.c */
int	fs_put(struct store *st, const char *key, int fd, uint64_t size,
	    const struct store_attr *attr);
int	fs_remove(struct store *st, const char *key);
int	fs_copy(struct store *st, const char *src, const char *dst,
	    const struct store_attr *attr);
int	fs_rename(struct store *st, const char *src, const char *dst,
	    unsigned flags);
int	fs_set_attr(struct store *st, const char *key,
	    const struct store_attr *attr);
int	fs_sync(struct store *st, const char *key, bool datasync);

/* store_fs_dircache.c */
void	fs_dircache_init(struct fs_store *s);
void	fs_dircache_free(struct fs_store *s);
void	fs_dircache_invalidate(struct fs_store *s);
int	fs_dir_get(struct fs_store *s, const char *path, struct fs_dir **dirp);
void	fs_dir_put(struct fs_store *s, struct fs_dir *d);

/* store_fs_list.c */
int	fs_list(struct store *st, const char *prefix, const char *after,
	    unsigned flags, size_t max, struct store_listing *out);

#endif
