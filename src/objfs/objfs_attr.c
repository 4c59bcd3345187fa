/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names to inodes and inodes to attributes: lookup, getattr, setattr,
 * readlink and extended attributes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "objfs_internal.h"

/* The type of an object from its metadata; plain objects are files. */
mode_t
objfs_object_type(const struct store_attr *a)
{
	mode_t t = (a->has & STORE_ATTR_MODE) ? (a->mode & S_IFMT) : 0;

	return t != 0 ? t : S_IFREG;
}

/*
 * What key is: an object, a directory marker, or a directory implied by
 * keys below it.  The object wins when a key is both.  On object stores a
 * missing name costs two requests (HEAD, then one LIST that sees a marker
 * and implied contents alike); a directory with a marker, three.
 */
int
objfs_resolve(struct objfs *fs, const char *key, struct store_attr *a,
    mode_t *type)
{
	struct store_listing l;
	char *marker;
	int rc;

	rc = store_head(fs->store, key, a);	/* initialises a */
	if (rc == 0) {
		*type = key[0] == '\0' ? S_IFDIR : objfs_object_type(a);
		return 0;
	}
	store_attr_clear(a);
	if (key[0] == '\0') {
		*type = S_IFDIR;	/* the root exists, metadata or not */
		return rc == -ENOENT ? 0 : rc;
	}
	if ((rc != -ENOENT && rc != -ENOTDIR) || store_is_tree(fs->store))
		return rc == -ENOTDIR ? -ENOENT : rc;
	if ((marker = objfs_marker_key(key)) == NULL)
		return -ENOMEM;
	*type = S_IFDIR;
	rc = store_list(fs->store, marker, NULL, 0, 1, &l);
	if (rc == 0 && l.n == 0)
		rc = -ENOENT;
	/* Listed first, the marker itself: it holds the metadata. */
	if (rc == 0 && l.entries[0].name[0] == '\0' && !l.entries[0].is_prefix &&
	    (rc = store_head(fs->store, marker, a)) == 0)
		objfs_dirfacts_marker_seen(fs, key);
	if (rc == -ENOENT && l.n > 0)
		rc = 0;			/* gone meanwhile, yet implied */
	store_listing_clear(&l);
	free(marker);
	return rc;
}

/*
 * The attribute cache: what the store last said of an inode, for as long
 * as the kernel would have kept it (fs->opts.attr_cache_ms).  A LOOKUP
 * then a GETATTR, or a listing then an UNLINK of what it listed, cost
 * one request, not two.  Every change objfs makes to the object, to its
 * name or inside a directory forgets it; changes by other clients show
 * after the timeout, as they would in the kernel.  Xattrs are not kept
 * (the store is asked for them).  ino->lock, but for forgetting.
 */
void
objfs_attr_forget(struct objfs_inode *ino)
{
	if (ino != NULL)
		__atomic_store_n(&ino->attr_ms, 0, __ATOMIC_RELEASE);
}

static bool
objfs_attr_cached(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a)
{
	int64_t at = __atomic_load_n(&ino->attr_ms, __ATOMIC_ACQUIRE);

	if (at == 0 || monotime_coarse_ms() - at >= fs->opts.attr_cache_ms)
		return false;
	*a = ino->attr;
	return true;
}

static void
objfs_attr_remember(struct objfs *fs, struct objfs_inode *ino,
    const struct store_attr *a)
{
	if (fs->opts.attr_cache_ms == 0 || ino->unlinked)
		return;
	ino->attr = *a;
	ino->attr.xattrs = NULL;
	ino->attr.nxattrs = 0;
	ino->attr.has &= ~(unsigned)STORE_ATTR_XATTRS;
	__atomic_store_n(&ino->attr_ms, monotime_coarse_ms(),
	    __ATOMIC_RELEASE);
}

/*
 * The inode's attributes when they cost no request (staged, or cached);
 * false otherwise.  Takes ino->lock.
 */
bool
objfs_known_attr(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a)
{
	bool known;

	pthread_mutex_lock(&ino->lock);
	store_attr_init(a);
	if (ino->unlinked)
		known = false;
	else if (ino->stage != NULL)
		known = objfs_head_inode(fs, ino, a) == 0;
	else
		known = objfs_attr_cached(fs, ino, a);
	pthread_mutex_unlock(&ino->lock);
	return known;
}

/*
 * An unstaged inode's metadata from the store itself, xattrs included
 * where head() gives them, and remembered.  Caller holds ino->lock.
 */
int
objfs_head_fresh(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a)
{
	mode_t type;
	int rc;

	store_attr_init(a);
	if (ino->unlinked)
		return -ENOENT;
	rc = objfs_resolve(fs, ino->key, a, &type);
	if (rc == 0 && type != ino->type) {
		store_attr_clear(a);
		rc = -ENOENT;
	}
	if (rc == 0)
		objfs_attr_remember(fs, ino, a);
	return rc;
}

/*
 * Current metadata of an inode: from its stage while it has one, else
 * from the attribute cache or the store.  -ENOENT when the object is gone
 * or changed type.  Caller holds ino->lock.
 */
int
objfs_head_inode(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a)
{
	int rc;

	store_attr_init(a);
	if (ino->stage != NULL) {
		if ((rc = store_attr_copy(a, &ino->stage->meta)) != 0)
			return rc;
		a->size = ino->stage->size;
		a->mtime = ino->stage->mtime;
		a->has |= STORE_ATTR_MTIME;
		return 0;
	}
	if (ino->unlinked)
		return -ENOENT;
	if (objfs_attr_cached(fs, ino, a))
		return 0;
	return objfs_head_fresh(fs, ino, a);
}

int
objfs_fill_entry(struct objfs *fs, struct objfs_inode *ino,
    const struct store_attr *a, struct objfs_entry *e)
{
	e->ino = ino->ino;
	e->generation = fs->generation;
	objfs_stat(fs, ino, a, &e->st);
	return 0;
}

/*
 * a, as the store said it, unless the file is staged: then the stage
 * knows better.  a is remembered when nothing changed in dir since it
 * was read (dir's listing generation was gen then): a name removed
 * meanwhile must not come back from the cache.  Takes ino->lock.
 */
int
objfs_staged_attr(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a, struct objfs_inode *dir, uint64_t gen)
{
	int rc = 0;

	pthread_mutex_lock(&ino->lock);
	if (ino->stage != NULL) {
		store_attr_clear(a);
		rc = objfs_head_inode(fs, ino, a);
	} else if (__atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE) == gen)
		objfs_attr_remember(fs, ino, a);
	pthread_mutex_unlock(&ino->lock);
	return rc;
}

/*
 * The entry of a name just made on an object store, counted as a
 * lookup: its attributes are the ones stored, so none is read back.
 */
int
objfs_entry_made(struct objfs *fs, const char *key,
    const struct store_attr *a, struct objfs_entry *e)
{
	struct objfs_inode *ino;
	int rc;

	if ((rc = objfs_inode_intern(fs, key, a->mode & S_IFMT, &ino)) != 0)
		return rc;
	pthread_mutex_lock(&ino->lock);
	objfs_attr_remember(fs, ino, a);
	pthread_mutex_unlock(&ino->lock);
	objfs_fill_entry(fs, ino, a, e);
	objfs_inode_count_lookup(fs, ino);
	objfs_inode_put(fs, ino);
	return 0;
}

/* Names a recheck of attributes lists in one go (a page of S3's). */
#define RECHECK_PAGE	1000

/*
 * A listing of dir said that key is the object's version now: when
 * those are the attributes objfs remembers (expired, not forgotten by a
 * change), they are fresh again.  gen: dir's listing generation when
 * the listing was read.  true when they are.
 */
bool
objfs_attr_confirm(struct objfs *fs, struct objfs_inode *dir, uint64_t gen,
    const char *key, uint64_t version)
{
	struct objfs_inode *ino;
	bool fresh = false;

	if (version == 0)
		return false;
	if ((ino = objfs_inode_by_key(fs, key)) != NULL) {
		pthread_mutex_lock(&ino->lock);
		fresh = !ino->unlinked && ino->stage == NULL &&
		    __atomic_load_n(&ino->attr_ms, __ATOMIC_ACQUIRE) != 0 &&
		    ino->attr.version == version &&
		    __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE) == gen;
		if (fresh)
			__atomic_store_n(&ino->attr_ms, monotime_coarse_ms(),
			    __ATOMIC_RELEASE);
		pthread_mutex_unlock(&ino->lock);
	}
	objfs_inode_put(fs, ino);
	return fresh;
}

/* objfs_attr_confirm for name in dir, as a listing of dir names it. */
static void
objfs_attr_confirm_name(struct objfs *fs, struct objfs_inode *dir,
    uint64_t gen, const char *name, uint64_t version)
{
	char *key;

	if (version == 0 || objfs_child_key(fs, dir, name, &key) != 0)
		return;
	(void)objfs_attr_confirm(fs, dir, gen, key, version);
	free(key);
}

/*
 * Attributes past their time, on an object store: one listing of the
 * directory tells for a page of names at once whether each object is
 * still the version whose metadata objfs remembers (its ETag and
 * Last-Modified), where a HEAD each would ask name by name (rm -r, ls -l
 * again after the attribute timeout).  At most once per directory per
 * timeout; 0 forgotten attributes (a change through objfs) are not
 * brought back this way.  true when ino's attributes are fresh now.
 */
static bool
objfs_attr_recheck(struct objfs *fs, struct objfs_inode *dir,
    struct objfs_inode *ino, struct store_attr *a)
{
	struct store_listing l = { 0 };
	int64_t now = monotime_coarse_ms();
	int64_t last = __atomic_load_n(&dir->checked_ms, __ATOMIC_ACQUIRE);
	uint64_t gen;
	char *prefix;
	bool versioned;

	pthread_mutex_lock(&ino->lock);
	versioned = ino->stage == NULL && ino->attr.version != 0 &&
	    __atomic_load_n(&ino->attr_ms, __ATOMIC_ACQUIRE) != 0;
	pthread_mutex_unlock(&ino->lock);
	if (!versioned || store_is_tree(fs->store) ||
	    fs->opts.attr_cache_ms == 0 ||
	    (last != 0 && now - last < fs->opts.attr_cache_ms) ||
	    !__atomic_compare_exchange_n(&dir->checked_ms, &last, now, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	if ((prefix = objfs_dir_prefix(dir->key)) == NULL)
		return false;
	gen = __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE);
	if (store_list(fs->store, prefix, NULL, 0, RECHECK_PAGE, &l) == 0)
		for (size_t i = 0; i < l.n; i++)
			if (!l.entries[i].is_prefix)
				objfs_attr_confirm_name(fs, dir, gen,
				    l.entries[i].name,
				    l.entries[i].attr.version);
	store_listing_clear(&l);
	free(prefix);
	store_attr_clear(a);
	return objfs_known_attr(fs, ino, a);
}

/* Look name up in dir and count the lookup; *inop keeps a reference. */
int
objfs_entry_for(struct objfs *fs, struct objfs_inode *dir, const char *name,
    struct objfs_entry *e, struct objfs_inode **inop)
{
	struct objfs_inode *ino;
	struct store_attr a;
	mode_t type;
	char *key;
	uint64_t gen;
	int rc;

	if ((rc = objfs_child_key(fs, dir, name, &key)) != 0)
		return rc;
	/* Known and fresh (listed, looked up or staged): no request. */
	if ((ino = objfs_inode_by_key(fs, key)) != NULL &&
	    (objfs_known_attr(fs, ino, &a) ||
	    objfs_attr_recheck(fs, dir, ino, &a))) {
		objfs_fill_entry(fs, ino, &a, e);
		objfs_inode_count_lookup(fs, ino);
		if (inop != NULL)
			*inop = ino;
		else
			objfs_inode_put(fs, ino);
		store_attr_clear(&a);
		free(key);
		return 0;
	}
	objfs_inode_put(fs, ino);
	if (objfs_dirnames_absent(fs, dir->key, name)) {
		free(key);
		return -ENOENT;
	}
	gen = __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE);
	rc = objfs_resolve(fs, key, &a, &type);
	if (rc == 0)
		rc = objfs_inode_intern(fs, key, type, &ino);
	if (rc == 0) {
		rc = objfs_staged_attr(fs, ino, &a, dir, gen);
		if (rc == 0) {
			objfs_fill_entry(fs, ino, &a, e);
			objfs_inode_count_lookup(fs, ino);
		}
		if (rc == 0 && inop != NULL)
			*inop = ino;
		else
			objfs_inode_put(fs, ino);
	}
	store_attr_clear(&a);
	free(key);
	return rc;
}

/* The inode for a node id the kernel gave us, or -ESTALE. */
static int
objfs_get(struct objfs *fs, uint64_t nodeid, struct objfs_inode **inop)
{
	*inop = objfs_inode_get(fs, nodeid);
	return *inop != NULL ? 0 : -ESTALE;
}

int
objfs_lookup(struct objfs *fs, uint64_t parent, const char *name,
    struct objfs_entry *e)
{
	struct objfs_inode *dir;
	int rc;

	if ((rc = objfs_get(fs, parent, &dir)) != 0)
		return rc;
	objfs_ns_read(fs);
	if (dir->type != S_IFDIR)
		rc = -ENOTDIR;
	else
		rc = objfs_entry_for(fs, dir, name, e, NULL);
	objfs_ns_unlock(fs);
	objfs_inode_put(fs, dir);
	return rc;
}

int
objfs_getattr(struct objfs *fs, uint64_t nodeid, struct stat *st)
{
	struct objfs_inode *ino;
	struct store_attr a;
	int rc;

	if ((rc = objfs_get(fs, nodeid, &ino)) != 0)
		return rc;
	objfs_ns_read(fs);
	pthread_mutex_lock(&ino->lock);
	rc = objfs_head_inode(fs, ino, &a);
	pthread_mutex_unlock(&ino->lock);
	objfs_ns_unlock(fs);
	if (rc == 0)
		objfs_stat(fs, ino, &a, st);
	store_attr_clear(&a);
	objfs_inode_put(fs, ino);
	return rc;
}

/* The metadata changes a setattr asks for, as store attributes. */
static void
objfs_setattr_changes(const struct objfs_setattr *sa,
    const struct store_attr *cur, mode_t type, struct store_attr *chg)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	store_attr_init(chg);
	if (sa->valid & (OBJFS_SET_MODE | OBJFS_SET_KILL_SUIDGID)) {
		mode_t perm = (sa->valid & OBJFS_SET_MODE) ? sa->mode :
		    ((cur->has & STORE_ATTR_MODE) ? cur->mode : 0);

		if (sa->valid & OBJFS_SET_KILL_SUIDGID)
			perm &= ~(mode_t)(S_ISUID | S_ISGID);
		if ((sa->valid & OBJFS_SET_MODE) ||
		    (cur->has & STORE_ATTR_MODE)) {
			chg->has |= STORE_ATTR_MODE;
			chg->mode = type | (perm & 07777);
		}
	}
	if (sa->valid & OBJFS_SET_UID) {
		chg->has |= STORE_ATTR_UID;
		chg->uid = sa->uid;
	}
	if (sa->valid & OBJFS_SET_GID) {
		chg->has |= STORE_ATTR_GID;
		chg->gid = sa->gid;
	}
	if (sa->valid & (OBJFS_SET_ATIME | OBJFS_SET_ATIME_NOW)) {
		chg->has |= STORE_ATTR_ATIME;
		chg->atime = (sa->valid & OBJFS_SET_ATIME_NOW) ? now : sa->atime;
	}
	if (sa->valid & (OBJFS_SET_MTIME | OBJFS_SET_MTIME_NOW)) {
		chg->has |= STORE_ATTR_MTIME;
		chg->mtime = (sa->valid & OBJFS_SET_MTIME_NOW) ? now : sa->mtime;
	}
	if (chg->has != 0) {
		chg->has |= STORE_ATTR_CTIME;
		chg->ctime = now;
	}
}

/* Where an inode's metadata lives: a directory's in its marker. */
static char *
objfs_meta_key(struct objfs *fs, const struct objfs_inode *ino)
{
	if (ino->type == S_IFDIR && ino != fs->root &&
	    !store_is_tree(fs->store))
		return objfs_marker_key(ino->key);
	return strdup(ino->key);
}

/* head_inode, with the xattrs a store may have left out of head(). */
static int
objfs_head_with_xattrs(struct objfs *fs, struct objfs_inode *ino,
    struct store_attr *a)
{
	char *key;
	int rc;

	rc = ino->stage != NULL ? objfs_head_inode(fs, ino, a) :
	    objfs_head_fresh(fs, ino, a);
	if (rc != 0 || (a->has & STORE_ATTR_XATTRS))
		return rc;
	if (ino->unlinked) {
		a->has |= STORE_ATTR_XATTRS;	/* its key is another's now */
		return 0;
	}
	if ((key = objfs_meta_key(fs, ino)) == NULL)
		return -ENOMEM;
	rc = store_xattrs(fs->store, key, a);
	if (rc == -ENOENT && (ino->stage != NULL || ino == fs->root)) {
		a->has |= STORE_ATTR_XATTRS;	/* nothing stored yet */
		rc = 0;
	}
	free(key);
	return rc;
}

/*
 * The metadata changed in the store.  A staged file's next upload must
 * not take the store's new version, made here, for another writer's:
 * its base becomes that version.  The change is made only to the
 * version the stage started from: another writer's stays as it is (the
 * stage carries the change, and its upload meets the conflict).
 */
static int
objfs_set_attr_staged(struct objfs *fs, struct objfs_inode *ino,
    const char *key, const struct store_attr *chg,
    const struct store_attr *cur)
{
	struct store_cond cond = { 0 };
	int rc;

	if (ino->stage == NULL)
		return store_set_attr(fs->store, key, chg, cur);
	if (!fs->opts.conflicts_overwrite && ino->stage->base[0] != '\0')
		cond.if_match = ino->stage->base;
	rc = store_set_attr_if(fs->store, key, chg, NULL, &cond);
	if (rc == 0)
		memcpy(ino->stage->base, cond.etag, sizeof(cond.etag));
	return rc == -ECANCELED ? 0 : rc;
}

/*
 * Write metadata changes where they belong: the object (or the marker of
 * a directory, created if the directory was only implied), and the stage
 * so the next upload carries them.  An unlinked inode has only its stage:
 * its key may be a new file's by now.  Caller holds ino->lock.
 */
static int
objfs_apply_meta(struct objfs *fs, struct objfs_inode *ino,
    const struct store_attr *cur, const struct store_attr *chg)
{
	char *key;
	int rc;

	if (ino->unlinked && ino->stage == NULL)
		return -ENOENT;
	objfs_attr_forget(ino);
	if (ino->stage != NULL &&
	    (rc = store_attr_merge(&ino->stage->meta, chg)) != 0)
		return rc;
	if (chg->has & STORE_ATTR_MTIME && ino->stage != NULL)
		ino->stage->mtime = chg->mtime;
	if (ino->unlinked)
		return 0;
	if ((key = objfs_meta_key(fs, ino)) == NULL)
		return -ENOMEM;
	/* A stage's view is not the object's: the store reads its own. */
	rc = objfs_set_attr_staged(fs, ino, key, chg, cur);
	if (rc == -ENOENT && ino->type == S_IFDIR && ino != fs->root) {
		struct store_attr full;

		/* An implied directory gets a marker to hold the metadata. */
		rc = store_attr_copy(&full, cur);
		if (rc == 0)
			rc = store_attr_merge(&full, chg);
		if (rc == 0) {
			full.mode = S_IFDIR | (full.mode & 07777);
			rc = store_put(fs->store, key, -1, 0, &full);
		}
		if (rc == 0)
			objfs_dirfacts_marker_seen(fs, ino->key);
		store_attr_clear(&full);
	} else if (rc == -ENOENT && ino->stage != NULL)
		rc = 0;		/* the upload will carry it */
	else if (rc == -ENOENT && ino == fs->root)
		rc = -EPERM;	/* this store keeps no root metadata */
	free(key);
	return rc;
}

static int
objfs_truncate(struct objfs *fs, struct objfs_inode *ino, uint64_t size)
{
	int rc;

	if (ino->type == S_IFDIR)
		return -EISDIR;
	if (ino->type != S_IFREG)
		return -EINVAL;
	if (ino->stage != NULL && size == 0)
		objfs_stream_discard(fs, ino->stage);
	else if (ino->stage != NULL && size < ino->stage->sent &&
	    (rc = objfs_stream_settle(fs, ino)) != 0)
		return rc;
	if ((rc = objfs_stage_open(fs, ino, size > 0, NULL)) != 0)
		return rc;
	/* Truncating to zero may leave a stage without a spill file. */
	if ((rc = objfs_stage_ftruncate(fs, ino->stage, size)) != 0)
		return rc;
	ino->stage->size = size;
	ino->stage->loaded |= size == 0;
	objfs_stream_resized(ino->stage, size);
	if ((rc = objfs_stage_touch(fs, ino)) != 0)
		return rc;
	/* With no writer left to flush it, the truncation is uploaded now. */
	if (ino->writers == 0)
		rc = objfs_stage_upload(fs, ino);
	return rc;
}

/*
 * The start of a change to the inode itself: refused on a read-only
 * filesystem, else the inode held and locked under the namespace read
 * lock, until objfs_inode_change_end().
 */
static int
objfs_inode_change_begin(struct objfs *fs, uint64_t nodeid,
    struct objfs_inode **inop)
{
	int rc;

	if (fs->opts.readonly)
		return -EROFS;
	if ((rc = objfs_get(fs, nodeid, inop)) != 0)
		return rc;
	objfs_ns_read(fs);
	pthread_mutex_lock(&(*inop)->lock);
	return 0;
}

static void
objfs_inode_change_end(struct objfs *fs, struct objfs_inode *ino)
{
	objfs_attr_forget(ino);
	pthread_mutex_unlock(&ino->lock);
	objfs_ns_unlock(fs);
	objfs_inode_put(fs, ino);
}

int
objfs_setattr(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t nodeid,
    uint64_t fh, const struct objfs_setattr *sa, struct stat *st)
{
	struct objfs_inode *ino;
	struct store_attr cur, chg;
	bool now_known;
	int rc;

	if ((rc = objfs_inode_change_begin(fs, nodeid, &ino)) != 0)
		return rc;
	rc = objfs_head_inode(fs, ino, &cur);
	if (rc == 0 && (sa->valid & OBJFS_SET_SIZE))
		rc = objfs_truncate(fs, ino, sa->size);
	now_known = !(sa->valid & OBJFS_SET_SIZE);
	if (rc == 0) {
		objfs_setattr_changes(sa, &cur, ino->type, &chg);
		/* A marker written anyway keeps the last change's times. */
		if (ino->type == S_IFDIR && chg.has != 0 &&
		    !(chg.has & STORE_ATTR_MTIME) &&
		    objfs_dirfacts_changed_at(fs, ino->key, &chg.mtime))
			chg.has |= STORE_ATTR_MTIME;
		if (chg.has != 0)
			rc = objfs_apply_meta(fs, ino, &cur, &chg);
		/* Times set by hand replace those of the last change. */
		if (rc == 0 && ino->type == S_IFDIR &&
		    (chg.has & STORE_ATTR_MTIME))
			objfs_dirfacts_times_set(fs, ino->key);
		/*
		 * An object now holds what it held with the change put on
		 * it (the store merged them so): no request to read it
		 * back.  A file system may round or refuse parts.
		 */
		if (rc == 0 && chg.has != 0)
			now_known = now_known && ino->stage == NULL &&
			    !store_is_tree(fs->store) &&
			    store_attr_merge(&cur, &chg) == 0;
		store_attr_clear(&chg);
	}
	if (rc == 0 && !now_known) {
		store_attr_clear(&cur);
		rc = objfs_head_inode(fs, ino, &cur);
	}
	if (rc == 0)
		objfs_stat(fs, ino, &cur, st);
	store_attr_clear(&cur);
	if (ino->stage != NULL && ino->writers == 0 && !ino->stage->dirty &&
	    (sa->valid & OBJFS_SET_SIZE)) {
		objfs_stage_free(fs, ino->stage);
		ino->stage = NULL;
		objfs_attr_forget(ino);
	}
	objfs_inode_change_end(fs, ino);
	return rc;
}

int
objfs_readlink(struct objfs *fs, uint64_t nodeid, char *buf, size_t size,
    size_t *len)
{
	struct objfs_inode *ino;
	struct iovec iov = { buf, size };
	int rc;

	if ((rc = objfs_get(fs, nodeid, &ino)) != 0)
		return rc;
	objfs_ns_read(fs);
	if (ino->type != S_IFLNK)
		rc = -EINVAL;
	else {
		const char *key = objfs_inode_key(ino);

		rc = store_get(fs->store, key, 0, &iov, 1, len);
		/* Renamed meanwhile: the old object goes after the new key. */
		if (rc == -ENOENT && objfs_inode_key_moved(ino, key))
			rc = store_get(fs->store, objfs_inode_key(ino), 0,
			    &iov, 1, len);
	}
	objfs_ns_unlock(fs);
	objfs_inode_put(fs, ino);
	return rc;
}

/* Extended attributes: only the user namespace lives in object metadata. */

static bool
objfs_xattr_name_ok(const char *name)
{
	return strncmp(name, "user.", 5) == 0 && name[5] != '\0';
}

/* The store's own (user.objfsd.*): never the guest's to set or see. */
static int
objfs_xattr_writable(const char *name)
{
	if (!objfs_xattr_name_ok(name))
		return -EOPNOTSUPP;
	return store_xattr_reserved(name) ? -EPERM : 0;
}

typedef int xattr_edit_fn(struct store_attr *a, const void *arg);

struct xattr_set_args {
	const char	*name;
	const void	*value;
	size_t		 size;
	int		 flags;
};

static int
xattr_set_edit(struct store_attr *a, const void *arg)
{
	const struct xattr_set_args *s = arg;
	bool exists = store_xattr_find(a, s->name) != NULL;

	if ((s->flags & XATTR_CREATE) && exists)
		return -EEXIST;
	if ((s->flags & XATTR_REPLACE) && !exists)
		return -ENODATA;
	return store_xattr_set(a, s->name, s->value, s->size);
}

static int
xattr_remove_edit(struct store_attr *a, const void *arg)
{
	return store_xattr_remove(a, arg);
}

/* Read, edit and write back the whole xattr set of an inode. */
static int
objfs_xattr_edit(struct objfs *fs, uint64_t nodeid, xattr_edit_fn *edit,
    const void *arg)
{
	struct objfs_inode *ino;
	struct store_attr cur, chg;
	int rc;

	if ((rc = objfs_inode_change_begin(fs, nodeid, &ino)) != 0)
		return rc;
	store_attr_init(&chg);
	rc = objfs_head_with_xattrs(fs, ino, &cur);
	if (rc == 0)
		rc = store_attr_copy(&chg, &cur);
	if (rc == 0)
		rc = edit(&chg, arg);
	if (rc == 0) {
		chg.has = STORE_ATTR_XATTRS;
		rc = objfs_apply_meta(fs, ino, &cur, &chg);
	}
	objfs_inode_change_end(fs, ino);
	store_attr_clear(&cur);
	store_attr_clear(&chg);
	return rc;
}

int
objfs_setxattr(struct objfs *fs, uint64_t nodeid, const char *name,
    const void *value, size_t size, int flags)
{
	struct xattr_set_args args = { name, value, size, flags };
	int rc;

	if ((rc = objfs_xattr_writable(name)) != 0)
		return rc;
	if (size > STORE_XATTR_VALUE_MAX)
		return -E2BIG;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	return objfs_xattr_edit(fs, nodeid, xattr_set_edit, &args);
}

int
objfs_removexattr(struct objfs *fs, uint64_t nodeid, const char *name)
{
	if (!objfs_xattr_name_ok(name))
		return -ENODATA;
	if (store_xattr_reserved(name))
		return -EPERM;
	return objfs_xattr_edit(fs, nodeid, xattr_remove_edit, name);
}

static int
objfs_xattr_read(struct objfs *fs, uint64_t nodeid, struct store_attr *a)
{
	struct objfs_inode *ino;
	int rc;

	if ((rc = objfs_get(fs, nodeid, &ino)) != 0)
		return rc;
	objfs_ns_read(fs);
	pthread_mutex_lock(&ino->lock);
	rc = objfs_head_with_xattrs(fs, ino, a);
	pthread_mutex_unlock(&ino->lock);
	objfs_ns_unlock(fs);
	objfs_inode_put(fs, ino);
	return rc;
}

/* size 0 asks for the length only; -ERANGE when buf is too small. */
int
objfs_getxattr(struct objfs *fs, uint64_t nodeid, const char *name,
    void *buf, size_t size, size_t *len)
{
	const struct store_xattr *x;
	struct store_attr a;
	int rc;

	if (!objfs_xattr_name_ok(name) || store_xattr_reserved(name))
		return -ENODATA;
	if ((rc = objfs_xattr_read(fs, nodeid, &a)) != 0)
		return rc;
	if ((x = store_xattr_find(&a, name)) == NULL)
		rc = -ENODATA;
	else if (size > 0 && x->len > size)
		rc = -ERANGE;
	else {
		*len = x->len;
		if (size > 0 && x->len > 0)
			memcpy(buf, x->value, x->len);
	}
	store_attr_clear(&a);
	return rc;
}

int
objfs_listxattr(struct objfs *fs, uint64_t nodeid, char *buf, size_t size,
    size_t *len)
{
	struct store_attr a;
	size_t total = 0;
	int rc;

	if ((rc = objfs_xattr_read(fs, nodeid, &a)) != 0)
		return rc;
	for (unsigned i = 0; i < a.nxattrs; i++)
		if (!store_xattr_reserved(a.xattrs[i].name))
			total += strlen(a.xattrs[i].name) + 1;
	if (size > 0 && total > size)
		rc = -ERANGE;
	else if (size > 0) {
		char *p = buf;

		for (unsigned i = 0; i < a.nxattrs; i++) {
			size_t n = strlen(a.xattrs[i].name) + 1;

			if (store_xattr_reserved(a.xattrs[i].name))
				continue;
			memcpy(p, a.xattrs[i].name, n);
			p += n;
		}
	}
	*len = total;
	store_attr_clear(&a);
	return rc;
}
