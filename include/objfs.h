/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs: a POSIX filesystem over an object store.
 *
 * Inodes stand for keys: "a/b" is a file (or symlink, FIFO, socket) object,
 * a directory is a "a/b/" marker object or only implied by keys below it.
 * Attributes live in object metadata.  An open file being written stages
 * its bytes in a spill file under the cache directory; the object is
 * uploaded on flush, fsync or release, and an upload error is returned to
 * the application from that call.
 *
 * Inode numbers are FUSE node ids.  Lookup counts follow the FUSE rules:
 * every call that returns a struct objfs_entry adds one, objfs_forget()
 * takes them away, and an inode is freed when its count and its open
 * handles are both gone.
 *
 * Every function returns 0 or -errno and may be called from any thread.
 */
#ifndef OBJFSD_OBJFS_H
#define OBJFSD_OBJFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "store.h"

#define OBJFS_ROOT_INO	1

/*
 * Open files and directories at most, by default: past it, open, create
 * and opendir fail with -EMFILE.  A handle costs memory only (the store
 * keeps its fds within a budget of its own), a few hundred bytes.
 */
#define OBJFS_MAX_HANDLES	(1u << 20)

struct objfs;
struct membudget;

/* Who is asking (from the FUSE request header). */
struct objfs_ctx {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
};

struct objfs_options {
	struct store	*store;
	uid_t		 uid;		/* owner of objects that name none */
	gid_t		 gid;
	mode_t		 file_mode;	/* permissions of such files */
	mode_t		 dir_mode;	/* and directories */
	const char	*cache_dir;	/* where spill files go */
	int		 cache_dir_fd;	/* > 0: it, open (cache_dir names it) */
	struct membudget *budget;	/* listings count here; NULL: none */
	size_t		 max_handles;	/* open files and dirs; 0: default */
	/*
	 * Attributes the store gave within this long answer again without a
	 * request (the kernel's attribute timeout: it would not have asked
	 * sooner but for a change objfs makes, which forgets them); 0: none.
	 */
	unsigned	 attr_cache_ms;
	bool		 readonly;
	/*
	 * Staging journal (objfs_journal.c): the store's identity, to find
	 * what an earlier run left for it in the cache directory; NULL:
	 * none (a store that dies with the process).  boot_id: the host's
	 * boot, which tells a killed objfsd from a host that went down.
	 */
	const char	*journal_id;
	const char	*boot_id;
	/* Replace an object another writer changed meanwhile, not refuse. */
	bool		 conflicts_overwrite;
};

/* What objfs_new found of earlier runs' staged files. */
struct objfs_recovery {
	unsigned	uploaded;	/* now in the store */
	unsigned	kept;		/* in lost+found */
	unsigned	left;		/* the store failed: next start */
};

#define OBJFS_ATTR_CACHE_MS	1000	/* --cache=auto's timeout */
#define OBJFS_ATTR_CACHE_ALWAYS_MS (86400 * 1000)	/* --cache=always's */

struct objfs_entry {
	uint64_t	ino;
	uint64_t	generation;
	struct stat	st;
};

/* Which fields objfs_setattr changes. */
enum {
	OBJFS_SET_MODE = 1 << 0,
	OBJFS_SET_UID = 1 << 1,
	OBJFS_SET_GID = 1 << 2,
	OBJFS_SET_SIZE = 1 << 3,
	OBJFS_SET_ATIME = 1 << 4,
	OBJFS_SET_MTIME = 1 << 5,
	OBJFS_SET_ATIME_NOW = 1 << 6,
	OBJFS_SET_MTIME_NOW = 1 << 7,
	OBJFS_SET_KILL_SUIDGID = 1 << 8,
};

struct objfs_setattr {
	unsigned	 valid;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;
	uint64_t	 size;
	struct timespec	 atime;
	struct timespec	 mtime;
};

/* Open flags objfs reports back (FOPEN_* in FUSE terms). */
enum {
	OBJFS_OPEN_KEEP_CACHE = 1 << 0,
};

/*
 * readdir calls this for each entry, in order.  `off` is the offset of
 * the next entry.  `entry` is set for readdirplus only (its ino is 0 for
 * "." and "..").  Return 0 when the entry was taken, 1 when it did not fit
 * (it is then offered again by the next call), or -errno.
 */
typedef int objfs_dirent_fn(void *arg, const char *name, mode_t type,
    uint64_t ino, uint64_t off, const struct objfs_entry *entry);

const char *objfs_default_cache_dir(void);
int	objfs_new(const struct objfs_options *opts, struct objfs **fsp);
void	objfs_recovered(const struct objfs *fs, struct objfs_recovery *out);
void	objfs_free(struct objfs *fs);
void	objfs_reset(struct objfs *fs);
int	objfs_syncfs(struct objfs *fs);
/*
 * WRITEs waiting for the store to catch up with a file uploaded while
 * written stop waiting and stage on: a queue is stopping, and must not
 * wait for uploads.
 */
void	objfs_wake_writers(struct objfs *fs);
size_t	objfs_inode_count(struct objfs *fs);
uint32_t objfs_time_gran(const struct objfs *fs);

int	objfs_lookup(struct objfs *fs, uint64_t parent, const char *name,
	    struct objfs_entry *e);
void	objfs_forget(struct objfs *fs, uint64_t ino, uint64_t nlookup);
int	objfs_getattr(struct objfs *fs, uint64_t ino, struct stat *st);
int	objfs_setattr(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t ino, uint64_t fh, const struct objfs_setattr *sa,
	    struct stat *st);
int	objfs_access(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t ino, int mask);
int	objfs_readlink(struct objfs *fs, uint64_t ino, char *buf,
	    size_t size, size_t *len);
int	objfs_statfs(struct objfs *fs, struct statvfs *sv);

int	objfs_mknod(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t parent, const char *name, mode_t mode, dev_t rdev,
	    struct objfs_entry *e);
int	objfs_mkdir(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t parent, const char *name, mode_t mode,
	    struct objfs_entry *e);
int	objfs_symlink(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t parent, const char *name, const char *target,
	    struct objfs_entry *e);
int	objfs_unlink(struct objfs *fs, uint64_t parent, const char *name);
int	objfs_rmdir(struct objfs *fs, uint64_t parent, const char *name);
int	objfs_rename(struct objfs *fs, uint64_t parent, const char *name,
	    uint64_t newparent, const char *newname, unsigned flags);

int	objfs_create(struct objfs *fs, const struct objfs_ctx *ctx,
	    uint64_t parent, const char *name, mode_t mode, int flags,
	    struct objfs_entry *e, uint64_t *fh);
int	objfs_open(struct objfs *fs, uint64_t ino, int flags, bool kill_suidgid,
	    uint64_t *fh, unsigned *open_flags);
int	objfs_read(struct objfs *fs, uint64_t fh, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, size_t *got);
int	objfs_write(struct objfs *fs, uint64_t fh, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, bool kill_suidgid,
	    size_t *written);
int	objfs_flush(struct objfs *fs, uint64_t fh);
int	objfs_fsync(struct objfs *fs, uint64_t fh, bool datasync);
int	objfs_fsyncdir(struct objfs *fs, uint64_t ino, bool datasync);
int	objfs_release(struct objfs *fs, uint64_t fh);
int	objfs_fallocate(struct objfs *fs, uint64_t fh, int mode, uint64_t off,
	    uint64_t len);
int	objfs_lseek(struct objfs *fs, uint64_t fh, uint64_t off, int whence,
	    uint64_t *result);
int	objfs_copy_file_range(struct objfs *fs, uint64_t fh_in, uint64_t off_in,
	    uint64_t fh_out, uint64_t off_out, uint64_t len, size_t *copied);

int	objfs_opendir(struct objfs *fs, uint64_t ino, uint64_t *fh);
int	objfs_readdir(struct objfs *fs, uint64_t fh, uint64_t off, bool plus,
	    objfs_dirent_fn *fn, void *arg);
int	objfs_releasedir(struct objfs *fs, uint64_t fh);

int	objfs_setxattr(struct objfs *fs, uint64_t ino, const char *name,
	    const void *value, size_t size, int flags);
int	objfs_getxattr(struct objfs *fs, uint64_t ino, const char *name,
	    void *buf, size_t size, size_t *len);
int	objfs_listxattr(struct objfs *fs, uint64_t ino, char *buf, size_t size,
	    size_t *len);
int	objfs_removexattr(struct objfs *fs, uint64_t ino, const char *name);

bool	objfs_name_valid(const char *name, int *err);

#endif
