/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Object stores: the bottom layer.  objfs sees every backend through
 * struct store_ops; a backend is one file (store_fs.c, store_mem.c, ...)
 * with one designated-initializer instance, listed in store.c.
 *
 * Keys are UTF-8 strings without a leading '/'; "a/b/" is the marker of
 * directory a/b.  Each store takes keys of up to its own key_max bytes
 * (store_key_max()): a path on fs:, an S3 key with the prefix on s3://.
 * head() of the empty key asks for the root directory's
 * metadata (-ENOENT when the store keeps none).  Every operation returns 0 or -errno: -ENOENT for a
 * missing key, -EEXIST / -ENOTEMPTY / -EISDIR where POSIX would, -EIO for a
 * backend failure that was already logged.
 *
 * Threading: every op may be called from any thread at any time; a
 * backend serialises what it must itself.
 */
#ifndef OBJFSD_STORE_H
#define OBJFSD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define STORE_NAME_MAX		255
#define STORE_XATTR_VALUE_MAX	2048	/* object metadata is small */
#define STORE_ETAG_MAX		72	/* a longer ETag is not kept */
#define STORE_SIZE_UNKNOWN	UINT64_MAX

/* Which fields of struct store_attr hold a value. */
enum {
	STORE_ATTR_MODE = 1 << 0,	/* st_mode with the file type bits */
	STORE_ATTR_UID = 1 << 1,
	STORE_ATTR_GID = 1 << 2,
	STORE_ATTR_MTIME = 1 << 3,
	STORE_ATTR_ATIME = 1 << 4,
	STORE_ATTR_CTIME = 1 << 5,
	STORE_ATTR_XATTRS = 1 << 6,	/* the complete set of user xattrs */
	STORE_ATTR_RDEV = 1 << 7,	/* device number of a device node */
	STORE_ATTR_ALL = (1 << 8) - 1,
};

/*
 * User xattrs under this prefix are the store's own bookkeeping (the fs
 * store's user.objfsd.stat): never shown to, nor set by, the guest.
 */
#define STORE_XATTR_RESERVED	"user.objfsd."


struct store_xattr {
	char	*name;			/* "user.foo" */
	void	*value;
	size_t	 len;
};

struct store_attr {
	unsigned		 has;
	uint64_t		 size;	/* always set by head and list */
	mode_t			 mode;
	uid_t			 uid;
	gid_t			 gid;
	dev_t			 rdev;	/* with STORE_ATTR_RDEV */
	uint32_t		 nlink;	/* 0 when the store has no idea */
	struct timespec		 mtime;
	struct timespec		 atime;
	struct timespec		 ctime;
	/*
	 * Which version of the object this is (on s3: of its ETag and
	 * Last-Modified), the same from head and list; 0: unknown.
	 */
	uint64_t		 version;
	/* The ETag of that version, from head; "": unknown. */
	char			 etag[STORE_ETAG_MAX];
	struct store_xattr	*xattrs;
	unsigned		 nxattrs;
};

struct store_entry {
	char			*name;	/* key after the listed prefix */
	bool			 is_prefix; /* a directory (common prefix) */
	bool			 has_attr; /* attr is what head would say */
	struct store_attr	 attr;	/* size and mtime at least */
};

struct store_listing {
	struct store_entry	*entries;
	size_t			 n;
	char			*next;	/* continuation, NULL at the end */
};

/*
 * A write that happens only if the object is still what the caller last
 * saw (put_if, set_attr_if): -ECANCELED when it is not, because another
 * writer got there first.  A store without ETags, or a server that
 * ignores the condition, writes anyway.  etag is the new version's ETag
 * on success, "" when the store did not say.
 */
struct store_cond {
	const char	*if_match;	/* the object's ETag must be this */
	bool		 if_none_match;	/* there must be no object */
	char		 etag[STORE_ETAG_MAX];	/* out */
};

struct store;
struct store_reader;
struct store_file;
struct store_upload;

/* Options of one backend are its own (store_s3.h); NULL: its defaults. */
struct store_s3_config;
struct membudget;

struct store_config {
	bool				 readonly;
	const char			*cache_dir;
	struct membudget		*budget;	/* of caches; NULL: none */
	const struct store_s3_config	*s3;
	/* fs: owners, modes and special files in xattrs (store_fs_owners.c) */
	bool				 fs_xattr_owners;
	/* fs: with native owners, device nodes as real host nodes */
	bool				 fs_real_devices;
};

enum {
	STORE_RENAME_NOREPLACE = 1 << 0,
};

/*
 * STORE_CAP_TREE: keys form a real tree, as on a filesystem: head(key)
 * answers for a directory too, and no directory is only implied by the
 * keys below it.  STORE_CAP_NSEC: times are kept to the nanosecond (else
 * to the second, as S3 metadata keeps them).  STORE_CAP_DEVICES: put()
 * keeps character and block device nodes (type and STORE_ATTR_RDEV);
 * without it objfs refuses them with EPERM.
 */
enum {
	STORE_CAP_TREE = 1 << 0,
	STORE_CAP_NSEC = 1 << 1,	/* times keep their nanoseconds */
	STORE_CAP_DEVICES = 1 << 2,	/* device nodes, as records */
};

/* store_list flags */
#define STORE_LIST_RECURSIVE	0x1u
#define STORE_LIST_NAMES	0x2u

struct store_ops {
	const char	*scheme;	/* "fs" in fs:DIR */
	const char	*usage;		/* "fs:DIR", for messages */
	unsigned	 caps;
	/*
	 * The longest key, in bytes without the NUL, that the backend takes;
	 * open() may lower it in struct store (S3 counts the prefix in).
	 * objfs answers ENAMETOOLONG beyond it, before any request.
	 */
	size_t		 key_max;
	int	(*open)(const char *location, const struct store_config *cfg,
		    struct store **storep);
	void	(*close)(struct store *st);

	int	(*head)(struct store *st, const char *key,
		    struct store_attr *attr);
	/* head() of n keys side by side (attrs initialised); optional. */
	void	(*head_many)(struct store *st, const char *const *keys,
		    size_t n, struct store_attr *attrs, int *rcs);
	/* Read at off into iov; *got < total only at the end of the object. */
	int	(*get)(struct store *st, const char *key, uint64_t off,
		    const struct iovec *iov, unsigned iovcnt, size_t *got);
	/*
	 * Create or replace key with size bytes of fd (from offset 0);
	 * cond, when not NULL, is its condition and takes the new ETag.
	 */
	int	(*put)(struct store *st, const char *key, int fd, uint64_t size,
		    const struct store_attr *attr, struct store_cond *cond);
	/*
	 * One page of keys under prefix in key order, after the continuation
	 * `after` (NULL: from the start).  Not recursive: keys holding a
	 * further '/' fold into common prefixes, as S3 does with delimiter
	 * '/'.  STORE_LIST_RECURSIVE: every key below prefix.
	 * STORE_LIST_NAMES: names and types are enough; a backend that
	 * would have to look attributes up one by one leaves them out.
	 * max is a hint: a backend may return more when that is cheaper
	 * than paging.
	 */
	int	(*list)(struct store *st, const char *prefix, const char *after,
		    unsigned flags, size_t max, struct store_listing *out);
	int	(*remove)(struct store *st, const char *key);
	/* Remove many keys in one go; optional (else one by one). */
	int	(*remove_many)(struct store *st, const char *const *keys,
		    size_t n);
	/*
	 * Server-side copy; attr replaces the metadata when not NULL.
	 * src_attr is what head or list said of src just now, or NULL: a
	 * store that needs src's size reads it there.
	 */
	int	(*copy)(struct store *st, const char *src, const char *dst,
		    const struct store_attr *attr,
		    const struct store_attr *src_attr);
	/* Atomic native rename of an object or a whole directory; optional. */
	int	(*rename)(struct store *st, const char *src, const char *dst,
		    unsigned flags);
	/*
	 * Change the metadata named in attr->has, not the data.  base is
	 * the object's whole metadata as the caller just read it (xattrs
	 * included), or NULL: a store that rewrites all of it starts
	 * from base instead of reading it again.  cond, when not NULL,
	 * takes the ETag of the object's new version.
	 */
	int	(*set_attr)(struct store *st, const char *key,
		    const struct store_attr *attr,
		    const struct store_attr *base, struct store_cond *cond);
	/* For backends whose head() leaves xattrs out: fetch them. */
	int	(*xattrs)(struct store *st, const char *key,
		    struct store_attr *attr);
	int	(*statfs)(struct store *st, struct statvfs *sv);
	/*
	 * Make key's bytes and name durable (datasync: its data, and only
	 * the metadata needed to read it back); key NULL: the whole store.
	 * Optional: a store whose puts are durable once they return (S3)
	 * has nothing to do.
	 */
	int	(*sync)(struct store *st, const char *key, bool datasync);

	/*
	 * The object's own file, open for reading and writing in place (a
	 * regular file of a tree store); optional.  Writes through it are
	 * the object's new content at once: no put() follows.  file_fd()
	 * lends its fd until file_done(); between lends the store may close
	 * the fd and, at the next lend, open the same file again by its
	 * name, which follows renames made through the store.  That name
	 * holding another file or none (a change behind the store's back)
	 * is -ESTALE.  A file whose name is removed or replaced through the
	 * store keeps its fd until closed.  -EMFILE: every fd the store may
	 * keep open is lent or kept.
	 */
	int	(*file_open)(struct store *st, const char *key,
		    struct store_file **filep);
	int	(*file_fd)(struct store_file *f, int *fdp);
	void	(*file_done)(struct store_file *f);
	void	(*file_close)(struct store_file *f);

	/*
	 * A handle for many reads of one object; optional.  size is the
	 * object's size as the caller last saw it (STORE_SIZE_UNKNOWN: not
	 * known), a hint for reading ahead: reads still end where the
	 * object does.
	 */
	int	(*reader_open)(struct store *st, const char *key,
		    uint64_t size, struct store_reader **readerp);
	int	(*reader_read)(struct store_reader *r, uint64_t off,
		    const struct iovec *iov, unsigned iovcnt, size_t *got);
	void	(*reader_close)(struct store_reader *r);

	/*
	 * An object uploaded while it is being written, in parts sent in
	 * the background as the writer declares its bytes final; optional.
	 * upload_open: one for key, whose metadata is attr (upload_finish
	 * may change it).  upload_resume: the unfinished upload id names,
	 * left by an earlier run; the parts it holds count as sent.
	 * upload_id: its name, to find it again after a crash.
	 * upload_offer: bytes [0, end) of fd are final; returns how far
	 * whole parts now cover, bytes that must not change, nor fd close,
	 * until the upload ends.  upload_acked: how far from 0 the store
	 * holds the bytes (the writer may drop them from fd); upload_wait:
	 * until that reaches want, or timeout_ms passed (-ETIMEDOUT), or a
	 * part failed for good (its error).  upload_finish: the last bytes
	 * [covered, size) sent, the object made with attr and cond as
	 * put() would; on failure the upload stays, to finish again,
	 * abort or drop.  upload_abort: the parts deleted; upload_drop:
	 * left on the server for upload_resume.  Both free up.
	 */
	int	(*upload_open)(struct store *st, const char *key,
		    const struct store_attr *attr, struct store_upload **upp);
	int	(*upload_resume)(struct store *st, const char *key,
		    const char *id, struct store_upload **upp);
	const char *(*upload_id)(struct store_upload *up);
	uint64_t (*upload_offer)(struct store_upload *up, int fd,
		    uint64_t end);
	uint64_t (*upload_acked)(struct store_upload *up);
	int	(*upload_wait)(struct store_upload *up, uint64_t want,
		    int timeout_ms);
	int	(*upload_finish)(struct store_upload *up, int fd,
		    uint64_t size, const struct store_attr *attr,
		    struct store_cond *cond);
	void	(*upload_abort)(struct store_upload *up);
	void	(*upload_drop)(struct store_upload *up);
	/*
	 * Objects from *threshold bytes on are worth uploading so; a
	 * writer keeps at most *window bytes not yet acknowledged
	 * (waiting a little for the store when it has more).
	 */
	void	(*upload_limits)(struct store *st, uint64_t *threshold,
		    uint64_t *window);

	/* Log what the store counts (requests sent); optional. */
	void	(*report)(struct store *st);
};

struct store {
	const struct store_ops	*ops;
	unsigned		 caps;	/* ops->caps and what open() added */
	size_t			 key_max; /* ops->key_max unless open() set it */
};

/* store.c */
int	store_open(const char *url, const struct store_config *cfg,
	    struct store **storep);
void	store_close(struct store *st);
/* "fs:DIR, mem: and s3://BUCKET[/PREFIX]", from the backends. */
void	store_scheme_list(char *buf, size_t len);

int	store_head(struct store *st, const char *key, struct store_attr *a);
void	store_head_many(struct store *st, const char *const *keys, size_t n,
	    struct store_attr *attrs, int *rcs);
int	store_get(struct store *st, const char *key, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, size_t *got);
int	store_put(struct store *st, const char *key, int fd, uint64_t size,
	    const struct store_attr *attr);
int	store_put_if(struct store *st, const char *key, int fd, uint64_t size,
	    const struct store_attr *attr, struct store_cond *cond);
int	store_list(struct store *st, const char *prefix, const char *after,
	    unsigned flags, size_t max, struct store_listing *out);
int	store_remove(struct store *st, const char *key);
int	store_remove_many(struct store *st, const char *const *keys,
	    size_t n);
int	store_copy(struct store *st, const char *src, const char *dst,
	    const struct store_attr *attr, const struct store_attr *src_attr);
int	store_rename(struct store *st, const char *src, const char *dst,
	    unsigned flags);
bool	store_has_rename(const struct store *st);
bool	store_is_tree(const struct store *st);
bool	store_has_nsec(const struct store *st);
bool	store_has_devices(const struct store *st);
bool	store_xattr_reserved(const char *name);
int	store_set_attr(struct store *st, const char *key,
	    const struct store_attr *attr, const struct store_attr *base);
int	store_set_attr_if(struct store *st, const char *key,
	    const struct store_attr *attr, const struct store_attr *base,
	    struct store_cond *cond);
int	store_statfs(struct store *st, struct statvfs *sv);
void	store_report(struct store *st);
int	store_sync(struct store *st, const char *key, bool datasync);
int	store_xattrs(struct store *st, const char *key, struct store_attr *a);
bool	store_has_direct(const struct store *st);
int	store_file_open(struct store *st, const char *key,
	    struct store_file **filep);
int	store_file_fd(struct store *st, struct store_file *f, int *fdp);
void	store_file_done(struct store *st, struct store_file *f);
void	store_file_close(struct store *st, struct store_file *f);
int	store_reader_open(struct store *st, const char *key,
	    struct store_reader **readerp);
int	store_reader_open_sized(struct store *st, const char *key,
	    uint64_t size, struct store_reader **readerp);
int	store_reader_read(struct store *st, struct store_reader *r,
	    const char *key, uint64_t off, const struct iovec *iov,
	    unsigned iovcnt, size_t *got);
void	store_reader_close(struct store *st, struct store_reader *r);
uint64_t store_upload_limits(struct store *st, uint64_t *window);
int	store_upload_open(struct store *st, const char *key,
	    const struct store_attr *attr, struct store_upload **upp);
int	store_upload_resume(struct store *st, const char *key, const char *id,
	    struct store_upload **upp);
const char *store_upload_id(struct store *st, struct store_upload *up);
uint64_t store_upload_offer(struct store *st, struct store_upload *up,
	    int fd, uint64_t end);
uint64_t store_upload_acked(struct store *st, struct store_upload *up);
int	store_upload_wait(struct store *st, struct store_upload *up,
	    uint64_t want, int timeout_ms);
int	store_upload_finish(struct store *st, struct store_upload *up, int fd,
	    uint64_t size, const struct store_attr *attr,
	    struct store_cond *cond);
void	store_upload_abort(struct store *st, struct store_upload *up);
void	store_upload_drop(struct store *st, struct store_upload *up);

/* Helpers for backends and callers. */
void	store_attr_init(struct store_attr *a);
void	store_attr_clear(struct store_attr *a);
int	store_attr_copy(struct store_attr *dst, const struct store_attr *src);
int	store_attr_merge(struct store_attr *dst, const struct store_attr *src);
const struct store_xattr *store_xattr_find(const struct store_attr *a,
	    const char *name);
int	store_xattr_set(struct store_attr *a, const char *name,
	    const void *value, size_t len);
int	store_xattr_remove(struct store_attr *a, const char *name);
void	store_listing_clear(struct store_listing *l);
int	store_listing_add(struct store_listing *l, const char *name,
	    bool is_prefix, const struct store_attr *attr, bool has_attr);
size_t	store_key_max(const struct store *st);
bool	store_key_valid(const struct store *st, const char *key);
bool	store_key_is_marker(const char *key);
size_t	store_iov_total(const struct iovec *iov, unsigned iovcnt);
unsigned store_iov_after(const struct iovec *iov, unsigned iovcnt,
	    size_t skip, struct iovec *tail, unsigned max);
/* All of iov from fd at off, *got short only at its end; or all to it. */
int	store_fd_read(int fd, uint64_t off, const struct iovec *iov,
	    unsigned iovcnt, size_t *got);
int	store_fd_write(int fd, uint64_t off, const struct iovec *iov,
	    unsigned iovcnt, size_t *written);

extern const struct store_ops store_fs_ops;
extern const struct store_ops store_mem_ops;
extern const struct store_ops store_s3_ops;

#endif
