/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs: set-up, keys and names, attributes as struct stat, statfs,
 * access checks and whole-filesystem sync.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

#define OBJFS_BLKSIZE	65536
#define OBJFS_DIR_SIZE	4096
/* Keys listed to find a name free: a few siblings sort before it. */
#define ABSENT_PAGE	8

void
objfs_ns_read(struct objfs *fs)
{
	pthread_rwlock_rdlock(&fs->ns_lock);
}

void
objfs_ns_write(struct objfs *fs)
{
	pthread_rwlock_wrlock(&fs->ns_lock);
}

void
objfs_ns_unlock(struct objfs *fs)
{
	pthread_rwlock_unlock(&fs->ns_lock);
}

/*
 * The cache directory, open: spill files are made in it by fd, so it
 * keeps working inside a sandbox where its path does not exist.
 */
static int
objfs_open_cache_dir(const struct objfs_options *opts, const char *dir)
{
	struct stat st;
	int fd, tmp;

	if (opts->cache_dir_fd > 0)
		fd = fcntl(opts->cache_dir_fd, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("cache directory %s is not a directory", dir);
		if (fd != -1)
			close(fd);
		return -ENOTDIR;
	}
	tmp = openat(fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp == -1 && errno != EOPNOTSUPP && errno != EISDIR) {
		log_warn("cannot create spill files in %s", dir);
		close(fd);
		return -EACCES;
	}
	if (tmp != -1)
		close(tmp);
	return fd;
}

/* Where spill files go when nobody says: TMPDIR, else /var/tmp. */
const char *
objfs_default_cache_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir != NULL ? dir : "/var/tmp";
}

/* A store written in place stages nothing that a crash could lose. */
static bool
objfs_journaled(const struct objfs *fs)
{
	return fs->opts.journal_id != NULL && !store_has_direct(fs->store);
}

int
objfs_new(const struct objfs_options *opts, struct objfs **fsp)
{
	pthread_rwlockattr_t attr;
	struct objfs *fs;
	const char *cache = opts->cache_dir;
	int rc;

	if (cache == NULL)
		cache = objfs_default_cache_dir();
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return -ENOMEM;
	fs->store = opts->store;
	fs->opts = *opts;
	if ((fs->cache_dir = strdup(cache)) == NULL) {
		free(fs);
		return -ENOMEM;
	}
	if ((fs->cache_fd = objfs_open_cache_dir(opts, cache)) < 0) {
		rc = fs->cache_fd;
		free(fs->cache_dir);
		free(fs);
		return rc;
	}
	fs->opts.cache_dir = fs->cache_dir;
	fs->journal_fd = fs->journal_lock = -1;
	clock_gettime(CLOCK_REALTIME, &fs->start_time);
	/* Node ids restart with the daemon; the generation tells them apart. */
	fs->generation = (uint64_t)fs->start_time.tv_sec;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fs->ns_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (size_t i = 0; i < OBJFS_RENAME_LOCKS; i++)
		pthread_mutex_init(&fs->rename_locks[i], NULL);
	pthread_rwlock_init(&fs->table_lock, NULL);
	pthread_rwlock_init(&fs->handle_lock, NULL);
	pthread_mutex_init(&fs->listing_lock, NULL);
	TAILQ_INIT(&fs->idle_listings);
	RB_INIT(&fs->handles);
	fs->next_fh = 1;
	fs->max_handles = opts->max_handles != 0 ? opts->max_handles :
	    OBJFS_MAX_HANDLES;
	objfs_trim_start(fs);
	if ((rc = objfs_dirfacts_init(fs)) != 0 ||
	    (rc = objfs_dirnames_init(fs)) != 0 ||
	    (rc = objfs_inode_init_table(fs)) != 0 ||
	    (objfs_journaled(fs) && (rc = objfs_journal_open(fs)) != 0)) {
		objfs_free(fs);
		return rc;
	}
	if (objfs_journaled(fs))
		objfs_journal_recover(fs, &fs->recovery);
	*fsp = fs;
	return 0;
}

void
objfs_recovered(const struct objfs *fs, struct objfs_recovery *out)
{
	*out = fs->recovery;
}

void
objfs_free(struct objfs *fs)
{
	if (fs == NULL)
		return;
	objfs_trim_stop(fs);
	objfs_handle_close_all(fs);
	objfs_inode_free_table(fs);
	objfs_dirfacts_free(fs);
	objfs_dirnames_free(fs);
	objfs_journal_close(fs);
	pthread_rwlock_destroy(&fs->handle_lock);
	pthread_mutex_destroy(&fs->listing_lock);
	pthread_rwlock_destroy(&fs->table_lock);
	for (size_t i = 0; i < OBJFS_RENAME_LOCKS; i++)
		pthread_mutex_destroy(&fs->rename_locks[i]);
	pthread_rwlock_destroy(&fs->ns_lock);
	free(fs->cache_dir);
	close(fs->cache_fd);
	free(fs);
}

/* A new session (FUSE INIT, DESTROY): nothing the old one held survives. */
void
objfs_reset(struct objfs *fs)
{
	objfs_handle_close_all(fs);
	objfs_inode_forget_all(fs);
}

int
objfs_syncfs(struct objfs *fs)
{
	struct objfs_inode **list;
	size_t n;
	int rc, first_error = 0;

	if ((rc = objfs_inode_collect_staged(fs, &list, &n)) != 0)
		return rc;
	objfs_ns_read(fs);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&list[i]->lock);
		rc = objfs_stage_upload(fs, list[i]);
		pthread_mutex_unlock(&list[i]->lock);
		if (rc != 0 && first_error == 0)
			first_error = rc;
	}
	objfs_ns_unlock(fs);
	for (size_t i = 0; i < n; i++)
		objfs_inode_put(fs, list[i]);
	free(list);
	rc = store_sync(fs->store, NULL, false);
	return first_error != 0 ? first_error : rc;
}

/* Nanoseconds the store keeps times to: 1, or a whole second. */
uint32_t
objfs_time_gran(const struct objfs *fs)
{
	return store_has_nsec(fs->store) ? 1 : 1000000000;
}

bool
objfs_name_valid(const char *name, int *err)
{
	size_t len = strlen(name);

	*err = 0;
	if (len == 0 || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		*err = -EINVAL;
	else if (len > STORE_NAME_MAX)
		*err = -ENAMETOOLONG;
	return *err == 0;
}

/*
 * dir's key joined with name, within the store's key limit (ENAMETOOLONG
 * beyond it, before any request); room is left for a marker's '/'.
 */
int
objfs_child_key(const struct objfs *fs, const struct objfs_inode *dir,
    const char *name, char **keyp)
{
	size_t dlen = strlen(dir->key), nlen, sep;
	char *key;
	int err;

	*keyp = NULL;
	if (!objfs_name_valid(name, &err))
		return err;
	/* Made for every entry of every listing: no printf here. */
	nlen = strlen(name);
	sep = dlen > 0 ? 1 : 0;
	if (dlen + sep + nlen + 1 > store_key_max(fs->store))
		return -ENAMETOOLONG;
	if ((key = malloc(dlen + sep + nlen + 1)) == NULL)
		return -ENOMEM;
	memcpy(key, dir->key, dlen);
	key[dlen] = '/';
	memcpy(key + dlen + sep, name, nlen + 1);
	*keyp = key;
	return 0;
}

/*
 * With the namespace lock held: directory `parent`, referenced in *dirp,
 * and the key name has in it.
 */
int
objfs_child(struct objfs *fs, uint64_t parent, const char *name,
    struct objfs_inode **dirp, char **keyp)
{
	struct objfs_inode *dir = objfs_inode_get(fs, parent);
	int rc;

	*dirp = NULL;
	*keyp = NULL;
	if (dir == NULL)
		return -ESTALE;
	rc = dir->type != S_IFDIR ? -ENOTDIR : objfs_child_key(fs, dir, name,
	    keyp);
	if (rc != 0) {
		objfs_inode_put(fs, dir);
		return rc;
	}
	*dirp = dir;
	return 0;
}

/*
 * The start of a change to name in parent: refused on a read-only
 * filesystem, else under the namespace read lock with the parent held and
 * the child's key made.  objfs_change_end() releases all three.
 */
int
objfs_change_begin(struct objfs *fs, uint64_t parent, const char *name,
    struct objfs_inode **dirp, char **keyp)
{
	int rc;

	if (fs->opts.readonly)
		return -EROFS;
	objfs_ns_read(fs);
	if ((rc = objfs_child(fs, parent, name, dirp, keyp)) != 0)
		objfs_ns_unlock(fs);
	return rc;
}

void
objfs_change_end(struct objfs *fs, struct objfs_inode *dir, char *key)
{
	objfs_attr_forget(dir);		/* its times and link count moved */
	objfs_dirlist_changed(dir);
	objfs_inode_put(fs, dir);
	free(key);
	objfs_ns_unlock(fs);
}

/*
 * Does objfs know key fresh, at no request?  Its attributes and type
 * then (a is to be cleared either way).
 */
bool
objfs_known_key(struct objfs *fs, const char *key, struct store_attr *a,
    mode_t *type)
{
	struct objfs_inode *ino = objfs_inode_by_key(fs, key);
	bool known;

	store_attr_init(a);
	known = ino != NULL && objfs_known_attr(fs, ino, a);
	if (known)
		*type = ino->type;
	objfs_inode_put(fs, ino);
	return known;
}

static bool
known_type(struct objfs *fs, const char *key, mode_t *type)
{
	struct store_attr a;
	bool known = objfs_known_key(fs, key, &a, type);

	store_attr_clear(&a);
	return known;
}

/*
 * 0 with its type when key names anything, -ENOENT when not; what objfs
 * knows fresh of it (the attribute cache) costs no request.
 */
int
objfs_exists(struct objfs *fs, const char *key, mode_t *type)
{
	struct store_attr a;
	bool asked;
	int rc;

	rc = objfs_exists_asked(fs, key, type, &a, &asked);
	store_attr_clear(&a);
	return rc;
}

/*
 * objfs_exists, and when it had to ask the store (*asked), what the
 * store said in a: the rest of the request may use it instead of asking
 * again.  The cache's copy is not the object's (a stage's size).
 */
int
objfs_exists_asked(struct objfs *fs, const char *key, mode_t *type,
    struct store_attr *a, bool *asked)
{
	store_attr_init(a);
	*asked = !known_type(fs, key, type);
	return *asked ? objfs_resolve(fs, key, a, type) : 0;
}

/*
 * Is the first listed name at or past where key's own name and its
 * directory would be (the name "" of the key itself, or of key/ folded
 * into a common prefix)?  A truncated page that stopped before then says
 * nothing.
 */
static int
absent_from_listing(const struct store_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->entries[i].name[0] == '\0')
			return -EEXIST;
	if (l->next == NULL)
		return 0;
	/* Names of keys with a byte below '/' after key come first. */
	if (l->n > 0 && (unsigned char)l->entries[l->n - 1].name[0] > '/')
		return 0;
	return -EAGAIN;
}

/*
 * 0 when key names nothing, -EEXIST when it names something: the check
 * before a name is made.  On an object store one listing of key as a
 * prefix answers for the object and for a directory below it at once,
 * where objfs_resolve() asks twice (a HEAD, then a LIST) to find that a
 * name is free, as almost every name being made is.  names_may_answer:
 * the caller makes the object only if absent (If-None-Match), so the
 * names objfs knows of a directory it made may answer with no request.
 */
int
objfs_absent(struct objfs *fs, const char *key, bool names_may_answer)
{
	struct store_listing l = { 0 };
	struct store_attr a;
	mode_t type;
	int rc;

	if (known_type(fs, key, &type))
		return -EEXIST;
	if (names_may_answer && objfs_dirnames_absent_key(fs, key))
		return 0;
	if (!store_is_tree(fs->store)) {
		rc = store_list(fs->store, key, NULL, 0, ABSENT_PAGE, &l);
		if (rc == 0)
			rc = absent_from_listing(&l);
		store_listing_clear(&l);
		if (rc != -EAGAIN)
			return rc;
	}
	rc = objfs_resolve(fs, key, &a, &type);
	store_attr_clear(&a);
	return rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
}

char *
objfs_marker_key(const char *key)
{
	char *m;

	return asprintf(&m, "%s/", key) == -1 ? NULL : m;
}

/*
 * The prefix that lists directory key's children: "" for the root, whose
 * key is empty, else its marker's key.  NULL when out of memory.
 */
char *
objfs_dir_prefix(const char *key)
{
	return key[0] == '\0' ? strdup("") : objfs_marker_key(key);
}

static mode_t
objfs_default_perm(const struct objfs *fs, mode_t type)
{
	if (type == S_IFDIR)
		return fs->opts.dir_mode;
	if (type == S_IFLNK)
		return 0777;
	return fs->opts.file_mode;
}

/* What the kernel sees: the object's metadata, or our defaults. */
void
objfs_stat(struct objfs *fs, const struct objfs_inode *ino,
    const struct store_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino->ino;
	st->st_mode = ino->type | ((a->has & STORE_ATTR_MODE) ?
	    (a->mode & 07777) : objfs_default_perm(fs, ino->type));
	st->st_uid = (a->has & STORE_ATTR_UID) ? a->uid : fs->opts.uid;
	st->st_gid = (a->has & STORE_ATTR_GID) ? a->gid : fs->opts.gid;
	if ((a->has & STORE_ATTR_RDEV) && (S_ISCHR(ino->type) ||
	    S_ISBLK(ino->type)))
		st->st_rdev = a->rdev;
	st->st_nlink = a->nlink != 0 ? a->nlink : 1;
	/* Open after its unlink: no name refers to it (fstat says 0). */
	if (__atomic_load_n(&ino->unlinked, __ATOMIC_RELAXED))
		st->st_nlink = 0;
	st->st_size = (off_t)a->size;
	/*
	 * A directory of an object store is a prefix or an empty marker:
	 * show the 4096 of s3fs and of local file systems, as tools that
	 * take a size of 0 for "empty" or "unreadable" expect.
	 */
	if (ino->type == S_IFDIR && st->st_size == 0)
		st->st_size = OBJFS_DIR_SIZE;
	st->st_blksize = OBJFS_BLKSIZE;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	st->st_mtim = (a->has & STORE_ATTR_MTIME) ? a->mtime : fs->start_time;
	st->st_atim = (a->has & STORE_ATTR_ATIME) ? a->atime : st->st_mtim;
	st->st_ctim = (a->has & STORE_ATTR_CTIME) ? a->ctime : st->st_mtim;
	/*
	 * A store that keeps whole seconds: show whole seconds from the
	 * start, or a file's time would change when its upload lands.
	 */
	if (!store_has_nsec(fs->store))
		st->st_mtim.tv_nsec = st->st_atim.tv_nsec =
		    st->st_ctim.tv_nsec = 0;
	if (ino->type == S_IFDIR)
		objfs_dirfacts_apply(fs, ino->key, st);
}

/*
 * The mode and group of directory dir as the kernel sees them: noted on
 * object stores, else (a tree store's head is cheap) looked up.
 */
static bool
objfs_dir_perm(struct objfs *fs, struct objfs_inode *dir, mode_t *mode,
    gid_t *gid)
{
	struct store_attr a;
	struct stat st;
	int rc;

	if (objfs_dirfacts_perm(fs, dir->key, mode, gid))
		return true;
	pthread_mutex_lock(&dir->lock);
	rc = objfs_head_inode(fs, dir, &a);
	pthread_mutex_unlock(&dir->lock);
	if (rc == 0) {
		objfs_stat(fs, dir, &a, &st);
		*mode = st.st_mode;
		*gid = st.st_gid;
	}
	store_attr_clear(&a);
	return rc == 0;
}

/*
 * Metadata for an object a caller creates now in dir.  In a set-gid
 * directory it takes the directory's group, and a directory the set-gid
 * bit too, as the kernel does on local file systems (over FUSE it leaves
 * that to the server).
 */
void
objfs_owner_attr(struct objfs *fs, const struct objfs_ctx *ctx,
    struct objfs_inode *dir, mode_t mode, struct store_attr *a)
{
	struct timespec now;
	mode_t dmode;
	gid_t dgid;

	store_attr_init(a);
	clock_gettime(CLOCK_REALTIME, &now);
	a->has = STORE_ATTR_MODE | STORE_ATTR_UID | STORE_ATTR_GID |
	    STORE_ATTR_MTIME | STORE_ATTR_ATIME | STORE_ATTR_CTIME;
	a->mode = mode;
	a->uid = ctx->uid;
	a->gid = ctx->gid;
	a->mtime = a->atime = a->ctime = now;
	if (objfs_dir_perm(fs, dir, &dmode, &dgid) && (dmode & S_ISGID)) {
		a->gid = dgid;
		if (S_ISDIR(mode))
			a->mode |= S_ISGID;
	}
}

int
objfs_statfs(struct objfs *fs, struct statvfs *sv)
{
	int rc = store_statfs(fs->store, sv);

	if (rc == 0 && fs->opts.readonly)
		sv->f_flag |= ST_RDONLY;
	if (rc == 0 && (sv->f_namemax == 0 || sv->f_namemax > STORE_NAME_MAX))
		sv->f_namemax = STORE_NAME_MAX;
	return rc;
}

/* access(2) by the classic owner/group/other rules; root passes reads. */
int
objfs_access(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t ino,
    int mask)
{
	struct stat st;
	mode_t bits;
	int rc;

	if ((rc = objfs_getattr(fs, ino, &st)) != 0 || mask == F_OK)
		return rc;
	if ((mask & W_OK) && fs->opts.readonly)
		return -EROFS;
	if (ctx->uid == 0) {
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) &&
		    !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
			return -EACCES;
		return 0;
	}
	if (ctx->uid == st.st_uid)
		bits = (st.st_mode >> 6) & 7;
	else if (ctx->gid == st.st_gid)
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return ((mode_t)mask & ~bits & 7) == 0 ? 0 : -EACCES;
}
