/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The namespace: creating and removing names, and rename.
 *
 * Rename is native when the store has it.  Otherwise a file is copied and
 * deleted, and a directory is walked key by key: not atomic, and said so
 * in the manual.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

#define RENAME_PAGE	1000

/* An object whose body is buf. */
static int
objfs_put_bytes(struct objfs *fs, const char *key, const void *buf,
    size_t len, const struct store_attr *a)
{
	int fd, rc = 0;

	if (len == 0)
		return store_put(fs->store, key, -1, 0, a);
	if ((fd = objfs_spill_create(fs)) < 0)
		return fd;
	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		rc = -EIO;
	if (rc == 0)
		rc = store_put(fs->store, key, fd, len, a);
	close(fd);
	return rc;
}

/*
 * Common frame of mkdir, mknod and symlink: the parent must be a
 * directory, the name free; then make() stores the object (completing
 * the attributes it stored) and e says what was stored.
 */
typedef int objfs_make_fn(struct objfs *fs, const char *key,
    struct store_attr *a, const void *arg);

static int
objfs_make(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t parent,
    const char *name, mode_t mode, objfs_make_fn *make, const void *arg,
    struct objfs_entry *e)
{
	struct objfs_inode *dir;
	struct store_attr a;
	char *key;
	int rc;

	if ((rc = objfs_change_begin(fs, parent, name, &dir, &key)) != 0)
		return rc;
	if ((rc = objfs_absent(fs, key, false)) != 0) {
		objfs_change_end(fs, dir, key);
		return rc;
	}
	objfs_owner_attr(fs, ctx, dir, mode, &a);
	objfs_dirnames_add(fs, dir->key, name);	/* before it may be there */
	if ((rc = make(fs, key, &a, arg)) == 0) {
		objfs_dirfacts_changed(fs, dir->key, S_ISDIR(mode) ? 1 : 0);
		if (S_ISDIR(mode)) {
			objfs_dirfacts_subdirs(fs, key, 0);
			objfs_dirfacts_marker_seen(fs, key);
			objfs_dirnames_new(fs, key);
		}
		/* An object holds what was put; a file system may differ. */
		if (store_is_tree(fs->store))
			rc = objfs_entry_for(fs, dir, name, e, NULL);
		else
			rc = objfs_entry_made(fs, key, &a, e);
	}
	store_attr_clear(&a);
	objfs_change_end(fs, dir, key);
	return rc;
}

static int
make_dir(struct objfs *fs, const char *key, struct store_attr *a,
    const void *arg)
{
	char *marker = objfs_marker_key(key);
	int rc;

	if (marker == NULL)
		return -ENOMEM;
	rc = store_put(fs->store, marker, -1, 0, a);
	free(marker);
	return rc;
}

static int
make_node(struct objfs *fs, const char *key, struct store_attr *a,
    const void *rdev)
{
	if (S_ISCHR(a->mode) || S_ISBLK(a->mode)) {
		a->has |= STORE_ATTR_RDEV;
		a->rdev = *(const dev_t *)rdev;
	}
	return store_put(fs->store, key, -1, 0, a);
}

static int
make_symlink(struct objfs *fs, const char *key, struct store_attr *a,
    const void *target)
{
	a->size = strlen(target);
	return objfs_put_bytes(fs, key, target, a->size, a);
}

int
objfs_mkdir(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t parent,
    const char *name, mode_t mode, struct objfs_entry *e)
{
	return objfs_make(fs, ctx, parent, name, S_IFDIR | (mode & 07777),
	    make_dir, NULL, e);
}

int
objfs_mknod(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t parent,
    const char *name, mode_t mode, dev_t rdev, struct objfs_entry *e)
{
	mode_t type = mode & S_IFMT;

	if (type == 0)
		type = S_IFREG;
	/* Device nodes only where the store keeps them (as records). */
	if ((type == S_IFCHR || type == S_IFBLK) &&
	    !store_has_devices(fs->store))
		return -EPERM;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK &&
	    type != S_IFCHR && type != S_IFBLK)
		return -EINVAL;
	return objfs_make(fs, ctx, parent, name, type | (mode & 07777),
	    make_node, &rdev, e);
}

int
objfs_symlink(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t parent,
    const char *name, const char *target, struct objfs_entry *e)
{
	size_t len = strlen(target);

	if (len == 0)
		return -ENOENT;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	return objfs_make(fs, ctx, parent, name, S_IFLNK | 0777, make_symlink,
	    target, e);
}

/* Does directory key hold anything but its own marker? */
static int
objfs_dir_empty(struct objfs *fs, const char *key)
{
	struct store_listing l;
	char *marker = objfs_marker_key(key);
	int rc;

	if (marker == NULL)
		return -ENOMEM;
	rc = store_list(fs->store, marker, NULL, 0, 2, &l);
	free(marker);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		if (l.entries[i].name[0] != '\0')
			rc = -ENOTEMPTY;
	store_listing_clear(&l);
	return rc;
}

/* The inode a name has in the table, if any, with a reference. */
static struct objfs_inode *
objfs_known(struct objfs *fs, const char *key)
{
	return objfs_inode_by_key(fs, key);
}

/*
 * Unlink while open: the open handles keep reading and writing the bytes,
 * so they move into a stage before the object goes.
 */
static int
objfs_keep_for_open_handles_locked(struct objfs *fs, struct objfs_inode *ino)
{
	int rc = 0;

	if (ino->opens > 0 && (rc = objfs_stream_settle(fs, ino)) == 0)
		rc = objfs_stage_open(fs, ino, true, NULL);
	return rc;
}

static int
objfs_keep_for_open_handles(struct objfs *fs, struct objfs_inode *ino)
{
	int rc;

	pthread_mutex_lock(&ino->lock);
	rc = objfs_keep_for_open_handles_locked(fs, ino);
	pthread_mutex_unlock(&ino->lock);
	return rc;
}

/*
 * A directory only implied by the keys below it would vanish with its
 * last entry; POSIX directories do not.  Give it a marker first, unless
 * objfs knows it has one.
 */
static int
objfs_keep_parent(struct objfs *fs, struct objfs_inode *dir, const char *key)
{
	const char *slash = strrchr(key, '/');
	struct store_attr a;
	char *marker;
	int rc;

	if (store_is_tree(fs->store) || slash == NULL ||
	    objfs_dirfacts_has_marker(fs, dir->key))
		return 0;
	if ((marker = strndup(key, (size_t)(slash - key + 1))) == NULL)
		return -ENOMEM;
	rc = store_head(fs->store, marker, &a);
	store_attr_clear(&a);
	if (rc == -ENOENT) {
		a.has = STORE_ATTR_MODE;
		a.mode = S_IFDIR | fs->opts.dir_mode;
		marker[slash - key] = '\0';
		if (objfs_dirfacts_changed_at(fs, marker, &a.mtime)) {
			a.has |= STORE_ATTR_MTIME | STORE_ATTR_CTIME;
			a.ctime = a.mtime;
		}
		marker[slash - key] = '/';
		rc = store_put(fs->store, marker, -1, 0, &a);
	}
	free(marker);
	if (rc == 0)
		objfs_dirfacts_marker_seen(fs, dir->key);
	return rc;
}

/*
 * Removing key from dir.  The store's object goes first, then dir's
 * listing generation moves, then the inode: a lookup or listing that read
 * the name before it went and interns it after then sees the move, and
 * does not cache it (objfs_staged_attr).
 */
typedef int objfs_remove_fn(struct objfs *fs, struct objfs_inode *dir,
    const char *key, mode_t type);

static int
remove_file(struct objfs *fs, struct objfs_inode *dir, const char *key,
    mode_t type)
{
	struct objfs_inode *ino;
	int rc;

	if (type == S_IFDIR)
		return -EISDIR;
	ino = objfs_known(fs, key);
	if (ino != NULL && (rc = objfs_keep_for_open_handles(fs, ino)) != 0) {
		objfs_inode_put(fs, ino);
		return rc;
	}
	if ((rc = store_remove(fs->store, key)) == 0)
		objfs_dirlist_changed(dir);
	if (rc == 0 && ino != NULL) {
		objfs_inode_detach(fs, ino);
		objfs_stage_unlinked(fs, ino);
	}
	objfs_inode_put(fs, ino);
	return rc;
}

static int
remove_dir(struct objfs *fs, struct objfs_inode *dir, const char *key,
    mode_t type)
{
	struct objfs_inode *ino;
	char *marker;
	int rc;

	if (type != S_IFDIR)
		return -ENOTDIR;
	if ((rc = objfs_dir_empty(fs, key)) != 0)
		return rc;
	if ((marker = objfs_marker_key(key)) == NULL)
		return -ENOMEM;
	rc = store_remove(fs->store, marker);
	if (rc == -ENOENT)
		rc = 0;		/* an implied directory has no marker */
	free(marker);
	if (rc == 0)
		objfs_dirlist_changed(dir);
	if (rc == 0 && (ino = objfs_known(fs, key)) != NULL) {
		objfs_inode_detach(fs, ino);
		objfs_inode_put(fs, ino);
	}
	return rc;
}

static int
objfs_remove(struct objfs *fs, uint64_t parent, const char *name,
    objfs_remove_fn *remove)
{
	struct objfs_inode *dir;
	mode_t type;
	char *key;
	int rc;

	if ((rc = objfs_change_begin(fs, parent, name, &dir, &key)) != 0)
		return rc;
	rc = objfs_exists(fs, key, &type);
	if (rc == 0)
		rc = objfs_keep_parent(fs, dir, key);
	if (rc == 0)
		rc = remove(fs, dir, key, type);
	if (rc == 0 && type == S_IFDIR) {
		objfs_dirfacts_forget(fs, key);
		objfs_dirnames_forget(fs, key);
	}
	if (rc == 0) {
		objfs_dirfacts_changed(fs, dir->key, type == S_IFDIR ? -1 : 0);
		objfs_dirnames_remove(fs, dir->key, name);
	}
	objfs_change_end(fs, dir, key);
	return rc;
}

int
objfs_unlink(struct objfs *fs, uint64_t parent, const char *name)
{
	return objfs_remove(fs, parent, name, remove_file);
}

int
objfs_rmdir(struct objfs *fs, uint64_t parent, const char *name)
{
	return objfs_remove(fs, parent, name, remove_dir);
}

/*
 * The walk deletes every key of a page before it lists again, so a page
 * that starts with the key the last one started with makes no progress.
 */
static int
objfs_walk_advances(const char *prefix, char **seen, struct store_listing *l)
{
	if (*seen != NULL && strcmp(*seen, l->entries[0].name) == 0) {
		log_warnx("moving \"%s\" makes no progress: \"%s\" is listed "
		    "again after its removal", prefix, *seen);
		return -EIO;
	}
	free(*seen);
	return (*seen = strdup(l->entries[0].name)) != NULL ? 0 : -ENOMEM;
}

/* Copy then delete every key below src/ into dst/, page by page. */
static int
objfs_move_tree(struct objfs *fs, const char *src, const char *dst)
{
	struct store_listing l;
	char *sp = NULL, *dp = NULL, *from = NULL, *to = NULL, *seen = NULL;
	int rc;

	if ((sp = objfs_dir_prefix(src)) == NULL ||
	    (dp = objfs_dir_prefix(dst)) == NULL) {
		free(sp);
		return -ENOMEM;
	}
	/*
	 * Deleted keys drop out of the listing: always start over, until a
	 * page was the last.
	 */
	while ((rc = store_list(fs->store, sp, NULL, STORE_LIST_RECURSIVE,
	    RENAME_PAGE, &l)) == 0 && l.n > 0) {
		bool last = l.next == NULL;

		/* A key moved and removed must not come back. */
		if ((rc = objfs_walk_advances(sp, &seen, &l)) != 0)
			break;
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			if (asprintf(&from, "%s%s", sp, l.entries[i].name) ==
			    -1 || asprintf(&to, "%s%s", dp,
			    l.entries[i].name) == -1)
				rc = -ENOMEM;
			/* The listing gave the size a copy needs. */
			if (rc == 0 && (rc = store_copy(fs->store, from, to,
			    NULL, &l.entries[i].attr)) == 0)
				rc = store_remove(fs->store, from);
			free(from);
			free(to);
			from = to = NULL;
		}
		store_listing_clear(&l);
		if (rc != 0 || last)
			break;
	}
	store_listing_clear(&l);
	free(seen);
	free(sp);
	free(dp);
	return rc;
}

/* src_attr: what the store said of src in this request, or NULL. */
static int
objfs_move(struct objfs *fs, const char *src, const char *dst, mode_t type,
    bool dst_exists, const struct store_attr *src_attr)
{
	int rc;

	if (store_has_rename(fs->store))
		return store_rename(fs->store, src, dst,
		    dst_exists ? 0 : STORE_RENAME_NOREPLACE);
	if (type != S_IFDIR) {
		if ((rc = store_copy(fs->store, src, dst, NULL,
		    src_attr)) == 0)
			rc = store_remove(fs->store, src);
		return rc;
	}
	if (dst_exists) {		/* an empty directory: its marker goes */
		char *m = objfs_marker_key(dst);

		rc = m != NULL ? store_remove(fs->store, m) : -ENOMEM;
		free(m);
		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	return objfs_move_tree(fs, src, dst);
}

/*
 * A directory moved to a longer name lengthens every key below it, and
 * each must still fit the store's limit: a tree store would take the
 * rename and leave names no key reaches.  Only then is the tree listed.
 */
static int
objfs_tree_fits(struct objfs *fs, const char *src, const char *dst)
{
	size_t longest = 0, dlen = strlen(dst);
	struct store_listing l = { 0 };
	char *sp, *after = NULL;
	int rc;

	if (dlen <= strlen(src))
		return 0;
	if ((sp = objfs_dir_prefix(src)) == NULL)
		return -ENOMEM;
	do {
		rc = store_list(fs->store, sp, after, STORE_LIST_RECURSIVE |
		    STORE_LIST_NAMES, RENAME_PAGE, &l);
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			size_t n = strlen(l.entries[i].name);

			if (n > 0 && l.entries[i].name[n - 1] == '/')
				n--;
			if (n > longest)
				longest = n;
		}
		free(after);
		after = rc == 0 ? l.next : NULL;
		l.next = NULL;
		store_listing_clear(&l);
	} while (rc == 0 && after != NULL);
	free(sp);
	/* dst/name, with room for a marker's '/' as objfs_child_key() keeps */
	if (rc == 0 && longest > 0 && dlen + 1 + longest + 1 >
	    store_key_max(fs->store))
		rc = -ENAMETOOLONG;
	return rc;
}

struct rename_args {
	struct objfs_inode	*dir, *newdir;
	const char		*name, *newname;
	unsigned		 flags;
	struct store_attr	 src_attr;	/* when src_asked */
	bool			 src_asked;
};

/*
 * The keys of both names, under the namespace lock (a directory's rename
 * changes them): to be freed by the caller, also on failure.
 */
static int
objfs_rename_keys(struct objfs *fs, const struct rename_args *r, char **src,
    char **dst)
{
	int rc;

	*src = *dst = NULL;
	if (r->dir->type != S_IFDIR || r->newdir->type != S_IFDIR)
		return -ENOTDIR;
	if ((rc = objfs_child_key(fs, r->dir, r->name, src)) != 0)
		return rc;
	return objfs_child_key(fs, r->newdir, r->newname, dst);
}

/* Checks as rename(2) makes them, on the keys made; fills the types. */
static int
objfs_rename_check(struct objfs *fs, struct rename_args *r, const char *src,
    const char *dst, mode_t *stype, bool *dst_exists)
{
	mode_t dtype;
	int rc;

	if ((rc = objfs_exists_asked(fs, src, stype, &r->src_attr,
	    &r->src_asked)) != 0)
		return rc;
	if (*stype == S_IFDIR && strncmp(dst, src, strlen(src)) == 0 &&
	    dst[strlen(src)] == '/')
		return -EINVAL;		/* into itself */
	rc = objfs_exists(fs, dst, &dtype);
	if (rc == -ENOENT) {
		*dst_exists = false;
		return 0;
	}
	if (rc != 0)
		return rc;
	*dst_exists = true;
	if (r->flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (*stype == S_IFDIR && dtype != S_IFDIR)
		return -ENOTDIR;
	if (*stype != S_IFDIR && dtype == S_IFDIR)
		return -EISDIR;
	return dtype == S_IFDIR ? objfs_dir_empty(fs, dst) : 0;
}

/* Both directories changed; a directory moved takes its count along. */
static void
objfs_rename_facts(struct objfs *fs, const struct rename_args *r,
    const char *src, const char *dst, mode_t stype, bool dst_exists)
{
	bool dir = stype == S_IFDIR;

	if (dir) {
		objfs_dirfacts_forget(fs, src);
		objfs_dirfacts_forget(fs, dst);
		objfs_dirnames_forget(fs, src);
		objfs_dirnames_forget(fs, dst);
	}
	objfs_dirfacts_changed(fs, r->dir->key, dir ? -1 : 0);
	objfs_dirfacts_changed(fs, r->newdir->key, dir && !dst_exists ? 1 : 0);
	objfs_dirnames_remove(fs, r->dir->key, r->name);
}

static int
objfs_rename_locked(struct objfs *fs, struct rename_args *r)
{
	struct objfs_inode *ino;
	char *src = NULL, *dst = NULL;
	mode_t stype;
	bool dst_exists;
	int rc;

	if ((rc = objfs_rename_keys(fs, r, &src, &dst)) == 0)
		rc = objfs_rename_check(fs, r, src, dst, &stype, &dst_exists);
	if (rc == 0 && strcmp(src, dst) == 0)
		goto out;		/* same name: nothing to do */
	if (rc == 0 && dst_exists && stype != S_IFDIR &&
	    (ino = objfs_known(fs, dst)) != NULL) {
		/* The replaced file may be open: keep its bytes for that. */
		rc = objfs_keep_for_open_handles(fs, ino);
		objfs_inode_put(fs, ino);
	}
	if (rc == 0 && stype == S_IFDIR)
		rc = objfs_tree_fits(fs, src, dst);
	if (rc == 0)
		rc = objfs_keep_parent(fs, r->dir, src);
	/* An upload in progress is to the old name: finished first. */
	if (rc == 0)
		rc = objfs_stream_settle_under(fs, src, stype == S_IFDIR);
	if (rc == 0)
		rc = objfs_move(fs, src, dst, stype, dst_exists,
		    r->src_asked ? &r->src_attr : NULL);
	if (rc == 0 && (ino = objfs_known(fs, src)) != NULL) {
		rc = objfs_inode_rekey(fs, ino, dst);
		if (rc == 0 && stype != S_IFDIR)
			objfs_stage_rebase(fs, ino);
		objfs_inode_put(fs, ino);
	}
	if (rc == 0)
		objfs_rename_facts(fs, r, src, dst, stype, dst_exists);
out:
	free(src);
	free(dst);
	return rc;
}

/* Both inodes' locks (either may be NULL), in one order. */
static void
lock_two(struct objfs_inode *a, struct objfs_inode *b)
{
	if (a != NULL && b != NULL && (uintptr_t)b < (uintptr_t)a) {
		struct objfs_inode *t = a;

		a = b;
		b = t;
	}
	if (a != NULL)
		pthread_mutex_lock(&a->lock);
	if (b != NULL)
		pthread_mutex_lock(&b->lock);
}

static void
unlock_two(struct objfs_inode *a, struct objfs_inode *b)
{
	if (a != NULL)
		pthread_mutex_unlock(&a->lock);
	if (b != NULL)
		pthread_mutex_unlock(&b->lock);
}

/*
 * The copy, with the renamed file's lock and the replaced one's held: no
 * upload of either runs between the copy and the new key, so none lands
 * under a name about to go or over the copy.  -EAGAIN before any change:
 * the file has been renamed too often to keep its old keys, or dst is
 * another inode's than the one looked up.
 */
static int
objfs_move_file_held(struct objfs *fs, struct rename_args *r,
    struct objfs_inode *ino, struct objfs_inode *victim, const char *src,
    const char *dst)
{
	struct objfs_inode *now = objfs_known(fs, dst);
	bool same = now == victim;
	int rc = 0;

	/* Another inode took dst since it was looked up: the long way. */
	objfs_inode_put(fs, now);
	if (!same || (ino != NULL && !objfs_inode_may_rekey_shared(ino)))
		return -EAGAIN;
	/* The replaced file may be open: its bytes kept for that. */
	if (victim != NULL &&
	    (rc = objfs_keep_for_open_handles_locked(fs, victim)) != 0)
		return rc;
	/* An upload in progress is to the old name: finished first. */
	if (ino != NULL)
		rc = objfs_stream_settle(fs, ino);
	if (rc == 0)
		rc = store_copy(fs->store, src, dst, NULL,
		    r->src_asked ? &r->src_attr : NULL);
	if (rc != 0)
		return rc;
	if (ino == NULL) {
		if (victim != NULL)
			objfs_inode_displace(fs, victim);
		return 0;
	}
	if ((rc = objfs_inode_rekey_shared(fs, ino, dst, victim)) == 0)
		objfs_stage_rebase_locked(fs, ino);
	return rc;
}

/*
 * The copy is made and the file has its new name: the rename is done,
 * whatever becomes of the old object.  One left behind is said, and the
 * names objfs knew of its directory are dropped, since it is still there.
 */
static void
objfs_rename_remove_old(struct objfs *fs, struct rename_args *r,
    const char *src)
{
	int rc = store_remove(fs->store, src);

	if (rc == 0 || rc == -ENOENT)	/* ENOENT: removed meanwhile */
		return;
	log_warnx("rename: \"%s\" is copied to its new name, but the old "
	    "object stays: %s", src, strerror(-rc));
	objfs_dirnames_forget(fs, r->dir->key);
}

/*
 * A file's rename on a store without one of its own: a copy, the new key,
 * then the old object goes.  Only the namespace lock's shared side is
 * held, so requests on other files go on while the store copies (a large
 * object's copy takes long, a stalled one up to the timeout); renames
 * that share a name wait for each other.  A request that read the file's
 * key before may still use it: a read of it after the remove is tried
 * again under the new key.  -EAGAIN before any change: a directory, or a
 * file that needs objfs_rename_locked.
 */
static int
objfs_rename_shared(struct objfs *fs, struct rename_args *r, const char *src,
    const char *dst)
{
	struct objfs_inode *ino = NULL, *victim = NULL;
	mode_t stype;
	bool dst_exists;
	int rc;

	rc = objfs_rename_check(fs, r, src, dst, &stype, &dst_exists);
	if (rc == 0 && stype == S_IFDIR)
		rc = -EAGAIN;
	if (rc != 0 || strcmp(src, dst) == 0)
		return rc;
	ino = objfs_known(fs, src);
	if (dst_exists)
		victim = objfs_known(fs, dst);
	rc = objfs_keep_parent(fs, r->dir, src);
	if (rc == 0) {
		lock_two(ino, victim);
		rc = objfs_move_file_held(fs, r, ino, victim, src, dst);
		unlock_two(ino, victim);
	}
	if (rc == 0)
		objfs_rename_remove_old(fs, r, src);
	if (rc == 0)
		objfs_rename_facts(fs, r, src, dst, stype, dst_exists);
	objfs_inode_put(fs, ino);
	objfs_inode_put(fs, victim);
	return rc;
}

static unsigned
rename_lock_of(const char *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % OBJFS_RENAME_LOCKS;
}

/*
 * objfs_rename_shared with the locks of both names' keys held, taken in
 * one order: renames that share a name wait for each other, others not.
 */
static int
objfs_rename_by_keys(struct objfs *fs, struct rename_args *r)
{
	struct objfs_inode *ino;
	char *src, *dst;
	unsigned a, b;
	int rc;

	if ((rc = objfs_rename_keys(fs, r, &src, &dst)) != 0)
		goto out;
	/* A directory objfs knows goes the exclusive way at once: no request twice. */
	if ((ino = objfs_known(fs, src)) != NULL && ino->type == S_IFDIR)
		rc = -EAGAIN;
	objfs_inode_put(fs, ino);
	if (rc != 0)
		goto out;
	a = rename_lock_of(src);
	b = rename_lock_of(dst);
	if (b < a) {
		unsigned t = a;

		a = b;
		b = t;
	}
	pthread_mutex_lock(&fs->rename_locks[a]);
	if (b != a)
		pthread_mutex_lock(&fs->rename_locks[b]);
	rc = objfs_rename_shared(fs, r, src, dst);
	if (b != a)
		pthread_mutex_unlock(&fs->rename_locks[b]);
	pthread_mutex_unlock(&fs->rename_locks[a]);
out:
	free(src);
	free(dst);
	return rc;
}

/* Both directories changed: their times, counts and listings. */
static void
objfs_rename_done(struct rename_args *r)
{
	store_attr_clear(&r->src_attr);
	r->src_asked = false;
	objfs_attr_forget(r->dir);
	objfs_attr_forget(r->newdir);
	objfs_dirlist_changed(r->dir);
	objfs_dirlist_changed(r->newdir);
}

int
objfs_rename(struct objfs *fs, uint64_t parent, const char *name,
    uint64_t newparent, const char *newname, unsigned flags)
{
	struct rename_args r = { .name = name, .newname = newname,
	    .flags = flags };
	int rc;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;		/* EXCHANGE, WHITEOUT */
	if (fs->opts.readonly)
		return -EROFS;
	r.dir = objfs_inode_get(fs, parent);
	r.newdir = objfs_inode_get(fs, newparent);
	if (r.dir == NULL || r.newdir == NULL)
		rc = -ESTALE;
	else {
		/* There once the copy is (even if the rest fails): known first. */
		objfs_dirnames_add(fs, r.newdir->key, newname);
		rc = -EAGAIN;
		if (!store_has_rename(fs->store)) {
			objfs_ns_read(fs);
			rc = objfs_rename_by_keys(fs, &r);
			objfs_rename_done(&r);
			objfs_ns_unlock(fs);
		}
		if (rc == -EAGAIN) {
			objfs_ns_write(fs);
			rc = objfs_rename_locked(fs, &r);
			objfs_rename_done(&r);
			objfs_ns_unlock(fs);
		}
	}
	objfs_inode_put(fs, r.dir);
	objfs_inode_put(fs, r.newdir);
	return rc;
}
