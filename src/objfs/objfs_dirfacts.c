/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What objfs knows of directories that an object store does not keep.
 *
 * On a tree store the host keeps a directory's times and link count.  On
 * an object store (mem:, s3:) a directory is a prefix and maybe a marker:
 * no object changes when a name in it does, so its mtime and ctime would
 * never move, and its link count (2 + subdirectories) would take a full
 * listing.  Writing the marker on every create would cost a request per
 * change; instead objfs remembers, by key, the directories it has seen
 * change or listed: their times since the last change through objfs, the
 * number of their subdirectories once a listing or a mkdir told it, and
 * the mode and group last shown (so a create inherits a set-gid
 * directory's group without a request), and whether it has a marker (so
 * removing its entries does not look for one each time).  Facts outlive the directory's
 * inode (the kernel forgets inodes it still shows) and are bounded: at
 * most DIRFACTS_MAX directories, the least recently used going first;
 * what is forgotten reads as the store says it (link count 1: unknown).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "objfs_internal.h"

#define DIRFACTS_MAX	16384

struct dirfact {
	RB_ENTRY(dirfact)	 node;
	struct dirfact		*newer, *older;	/* the LRU list */
	char			*key;
	bool			 has_times;
	struct timespec		 changed;	/* mtime and ctime */
	bool			 has_subdirs;
	uint64_t		 subdirs;
	bool			 has_perm;
	mode_t			 mode;
	gid_t			 gid;
	bool			 has_marker;
};

RB_HEAD(dirfact_tree, dirfact);

struct objfs_dirfacts {
	pthread_mutex_t		 lock;
	struct dirfact_tree	 tree;
	struct dirfact		*newest, *oldest;
	size_t			 n;
};

static int
dirfact_cmp(const struct dirfact *a, const struct dirfact *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_LOCAL(dirfact_tree, dirfact, node, dirfact_cmp)

int
objfs_dirfacts_init(struct objfs *fs)
{
	struct objfs_dirfacts *df;

	fs->dirfacts = NULL;
	if (store_is_tree(fs->store))
		return 0;
	if ((df = calloc(1, sizeof(*df))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&df->lock, NULL);
	RB_INIT(&df->tree);
	fs->dirfacts = df;
	return 0;
}

static void
lru_unlink(struct objfs_dirfacts *df, struct dirfact *f)
{
	if (f->newer != NULL)
		f->newer->older = f->older;
	else
		df->newest = f->older;
	if (f->older != NULL)
		f->older->newer = f->newer;
	else
		df->oldest = f->newer;
	f->newer = f->older = NULL;
}

static void
lru_push(struct objfs_dirfacts *df, struct dirfact *f)
{
	f->older = df->newest;
	f->newer = NULL;
	if (df->newest != NULL)
		df->newest->newer = f;
	df->newest = f;
	if (df->oldest == NULL)
		df->oldest = f;
}

static void
dirfact_drop(struct objfs_dirfacts *df, struct dirfact *f)
{
	RB_REMOVE(dirfact_tree, &df->tree, f);
	lru_unlink(df, f);
	df->n--;
	free(f->key);
	free(f);
}

void
objfs_dirfacts_free(struct objfs *fs)
{
	struct objfs_dirfacts *df = fs->dirfacts;

	if (df == NULL)
		return;
	while (df->oldest != NULL)
		dirfact_drop(df, df->oldest);
	pthread_mutex_destroy(&df->lock);
	free(df);
	fs->dirfacts = NULL;
}

static struct dirfact *
dirfact_find(struct objfs_dirfacts *df, const char *key)
{
	struct dirfact probe = { .key = (char *)key };

	return RB_FIND(dirfact_tree, &df->tree, &probe);
}

/* key's facts, made when create says so; the most recent now.  df->lock. */
static struct dirfact *
dirfact_get(struct objfs_dirfacts *df, const char *key, bool create)
{
	struct dirfact *f = dirfact_find(df, key);

	if (f != NULL) {
		lru_unlink(df, f);
		lru_push(df, f);
		return f;
	}
	if (!create || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->key = strdup(key)) == NULL) {
		free(f);
		return NULL;
	}
	if (df->n == DIRFACTS_MAX)
		dirfact_drop(df, df->oldest);
	RB_INSERT(dirfact_tree, &df->tree, f);
	lru_push(df, f);
	df->n++;
	return f;
}

/*
 * A name in directory key was made, removed or renamed (subdirs: the
 * change in its number of subdirectories).  Facts are a cache: when
 * memory for one is short, the change is only not remembered.
 */
void
objfs_dirfacts_changed(struct objfs *fs, const char *key, int subdirs)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_get(df, key, true)) != NULL) {
		clock_gettime(CLOCK_REALTIME, &f->changed);
		f->has_times = true;
		if (f->has_subdirs && (subdirs >= 0 ||
		    f->subdirs >= (uint64_t)-subdirs))
			f->subdirs += (uint64_t)(int64_t)subdirs;
		else if (f->has_subdirs)
			f->has_subdirs = false;	/* it did not add up */
	}
	pthread_mutex_unlock(&df->lock);
}

/* Directory key has n subdirectories: it was just made (0) or listed. */
void
objfs_dirfacts_subdirs(struct objfs *fs, const char *key, uint64_t n)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_get(df, key, true)) != NULL) {
		f->has_subdirs = true;
		f->subdirs = n;
	}
	pthread_mutex_unlock(&df->lock);
}

/* Its times were set: what the store now holds is right. */
void
objfs_dirfacts_times_set(struct objfs *fs, const char *key)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_find(df, key)) != NULL)
		f->has_times = false;
	pthread_mutex_unlock(&df->lock);
}

/* Directory key and every one below it are gone or moved. */
void
objfs_dirfacts_forget(struct objfs *fs, const char *key)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact probe = { .key = (char *)key }, *f, *next;
	size_t len = strlen(key);

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	/* "key", then "key-x" and the like, then "key/..." sort together. */
	for (f = RB_NFIND(dirfact_tree, &df->tree, &probe);
	    f != NULL && strncmp(f->key, key, len) == 0; f = next) {
		next = RB_NEXT(dirfact_tree, &df->tree, f);
		if (f->key[len] == '\0' || f->key[len] == '/')
			dirfact_drop(df, f);
	}
	pthread_mutex_unlock(&df->lock);
}

static bool
ts_later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * What the kernel is shown of directory key: the times of the last change
 * through objfs when they are newer than the store's, the link count when
 * the subdirectories are known; and its mode and group are noted.
 */
void
objfs_dirfacts_apply(struct objfs *fs, const char *key, struct stat *st)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_get(df, key, true)) != NULL) {
		if (f->has_times && ts_later(&f->changed, &st->st_mtim))
			st->st_mtim = f->changed;
		if (f->has_times && ts_later(&f->changed, &st->st_ctim))
			st->st_ctim = f->changed;
		if (f->has_subdirs)
			st->st_nlink = 2 + f->subdirs;
		f->has_perm = true;
		f->mode = st->st_mode;
		f->gid = st->st_gid;
	}
	pthread_mutex_unlock(&df->lock);
}

/* A copy of directory key's facts (not to be linked); false if none. */
static bool
dirfact_read(struct objfs *fs, const char *key, struct dirfact *out)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return false;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_find(df, key)) != NULL)
		*out = *f;
	pthread_mutex_unlock(&df->lock);
	return f != NULL;
}

/*
 * The time of the last change in directory key, for a marker written
 * anyway to carry; false when none is remembered.
 */
bool
objfs_dirfacts_changed_at(struct objfs *fs, const char *key,
    struct timespec *ts)
{
	struct dirfact f;

	if (!dirfact_read(fs, key, &f) || !f.has_times)
		return false;
	*ts = f.changed;
	return true;
}

/* Directory key has a marker: objfs saw or wrote it. */
void
objfs_dirfacts_marker_seen(struct objfs *fs, const char *key)
{
	struct objfs_dirfacts *df = fs->dirfacts;
	struct dirfact *f;

	if (df == NULL)
		return;
	pthread_mutex_lock(&df->lock);
	if ((f = dirfact_get(df, key, true)) != NULL)
		f->has_marker = true;
	pthread_mutex_unlock(&df->lock);
}

bool
objfs_dirfacts_has_marker(struct objfs *fs, const char *key)
{
	struct dirfact f;

	return dirfact_read(fs, key, &f) && f.has_marker;
}

/* The mode and group last shown for directory key; false if unknown. */
bool
objfs_dirfacts_perm(struct objfs *fs, const char *key, mode_t *mode,
    gid_t *gid)
{
	struct dirfact f;

	if (!dirfact_read(fs, key, &f) || !f.has_perm)
		return false;
	*mode = f.mode;
	*gid = f.gid;
	return true;
}
