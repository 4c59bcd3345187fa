/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store: open directories kept for a moment.
 *
 * Every operation on key "a/b/c" works at the directory "a/b", opened
 * beneath the root without following symlinks.  Opening it each time
 * costs two system calls (the walk, the close) around the one that does
 * the work; a guest that stats the files of one directory pays three for
 * one.  So directories stay open for a second, in a small table split in
 * shards with a lock each; how many slots of each shard are used is the
 * fd budget's (store_fs_files.c).
 *
 * A cached directory is the one that was at its path when it was opened.
 * Renames and removals of directories through the store invalidate the
 * whole table at once (a generation number); a directory moved on the
 * host behind objfsd's back is followed for at most FS_DC_TTL_MS, as
 * virtiofsd follows the directories it holds open for as long as it has
 * them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "store_fs.h"

#define FS_DC_TTL_MS	1000

struct fs_dir {
	char		*path;
	int		 fd;
	unsigned	 refs;		/* under the shard's lock */
	bool		 cached;	/* still in its shard */
	unsigned	 shard;
	uint64_t	 gen;
	int64_t		 born_ms;
	uint64_t	 used;		/* for least-recently-used eviction */
};

static unsigned
fs_dc_hash(const char *path)
{
	uint32_t h = 2166136261u;

	for (; *path != '\0'; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	return h % FS_DC_SHARDS;
}

void
fs_dircache_init(struct fs_store *s)
{
	for (unsigned i = 0; i < FS_DC_SHARDS; i++)
		pthread_mutex_init(&s->dc[i].lock, NULL);
}

static void
fs_dir_free(struct fs_dir *d)
{
	close(d->fd);
	free(d->path);
	free(d);
}

void
fs_dircache_free(struct fs_store *s)
{
	for (unsigned i = 0; i < FS_DC_SHARDS; i++) {
		for (unsigned w = 0; w < FS_DC_WAYS; w++)
			if (s->dc[i].slot[w] != NULL)
				fs_dir_free(s->dc[i].slot[w]);
		pthread_mutex_destroy(&s->dc[i].lock);
	}
}

static bool
fs_dir_fresh(const struct fs_store *s, const struct fs_dir *d, int64_t now)
{
	return d->gen == __atomic_load_n(&s->dc_gen, __ATOMIC_SEQ_CST) &&
	    now - d->born_ms < FS_DC_TTL_MS;
}

/* Shard lock held: drop d from the table, freeing it when unused. */
static void
fs_dc_evict(struct fs_dcshard *sh, unsigned w)
{
	struct fs_dir *d = sh->slot[w];

	sh->slot[w] = NULL;
	d->cached = false;
	if (d->refs == 0)
		fs_dir_free(d);
}

/*
 * Directories moved or went away: forget every open one, so none stands
 * for its old path and none keeps a removed directory alive.
 */
void
fs_dircache_invalidate(struct fs_store *s)
{
	__atomic_add_fetch(&s->dc_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < FS_DC_SHARDS; i++) {
		struct fs_dcshard *sh = &s->dc[i];

		pthread_mutex_lock(&sh->lock);
		for (unsigned w = 0; w < FS_DC_WAYS; w++)
			if (sh->slot[w] != NULL)
				fs_dc_evict(sh, w);
		pthread_mutex_unlock(&sh->lock);
	}
}

static struct fs_dir *
fs_dc_find(struct fs_store *s, struct fs_dcshard *sh, const char *path,
    int64_t now)
{
	for (unsigned w = 0; w < FS_DC_WAYS; w++) {
		struct fs_dir *d = sh->slot[w];

		if (d == NULL || strcmp(d->path, path) != 0)
			continue;
		if (!fs_dir_fresh(s, d, now)) {
			fs_dc_evict(sh, w);
			continue;
		}
		d->refs++;
		d->used = ++sh->tick;
		return d;
	}
	return NULL;
}

/*
 * Shard lock held: a slot for d, the least recently used one if full.
 * Only the first `ways` slots are used: the fd budget's share.
 */
static void
fs_dc_insert(struct fs_dcshard *sh, unsigned ways, struct fs_dir *d)
{
	unsigned victim = 0;

	for (unsigned w = 0; w < ways; w++) {
		if (sh->slot[w] == NULL) {
			victim = w;
			break;
		}
		if (sh->slot[w]->used < sh->slot[victim]->used)
			victim = w;
	}
	if (sh->slot[victim] != NULL)
		fs_dc_evict(sh, victim);
	sh->slot[victim] = d;
	d->cached = true;
	d->used = ++sh->tick;
}

/*
 * The directory at path (below the root), open: its fd, valid until
 * fs_dir_put(*dirp).  The root itself is always open (*dirp NULL).
 */
int
fs_dir_get(struct fs_store *s, const char *path, struct fs_dir **dirp)
{
	unsigned shard = fs_dc_hash(path);
	struct fs_dcshard *sh = &s->dc[shard];
	int64_t now = monotime_coarse_ms();
	struct fs_dir *d;
	int fd;

	*dirp = NULL;
	if (*path == '\0')
		return s->root;
	pthread_mutex_lock(&sh->lock);
	d = fs_dc_find(s, sh, path, now);
	pthread_mutex_unlock(&sh->lock);
	if (d != NULL) {
		*dirp = d;
		return d->fd;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->path = strdup(path)) == NULL) {
		free(d);
		return -ENOMEM;
	}
	/* The generation before the walk: a rename meanwhile makes it stale. */
	d->gen = __atomic_load_n(&s->dc_gen, __ATOMIC_SEQ_CST);
	if ((fd = fs_walk(s, path, O_PATH | O_DIRECTORY)) < 0) {
		free(d->path);
		free(d);
		return fd;
	}
	d->fd = fd;
	d->refs = 1;
	d->shard = shard;
	d->born_ms = now;
	pthread_mutex_lock(&sh->lock);
	fs_dc_insert(sh, s->dc_ways, d);
	pthread_mutex_unlock(&sh->lock);
	*dirp = d;
	return fd;
}

void
fs_dir_put(struct fs_store *s, struct fs_dir *d)
{
	struct fs_dcshard *sh;
	bool dead;

	if (d == NULL)
		return;
	sh = &s->dc[d->shard];
	pthread_mutex_lock(&sh->lock);
	dead = --d->refs == 0 && !d->cached;
	pthread_mutex_unlock(&sh->lock);
	if (dead)
		fs_dir_free(d);
}
