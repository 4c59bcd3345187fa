/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names of directories objfs knows whole, on an object store: one it
 * made (empty then), with every name it made in it since.  For as long as
 * the kernel keeps a negative entry (the attribute timeout), a name that
 * is not among them is absent without asking the store: the LOOKUP of a
 * new name, and the check before CREATE, MKDIR, MKNOD or SYMLINK.  A cp -r
 * or tar x into a new directory then costs the PUTs and nothing else.
 *
 * What another client makes there meanwhile shows after that time, as it
 * would through the kernel's own negative entries; a CREATE still puts
 * with If-None-Match, so a file of the same name made meanwhile is found
 * then.  When the time is up for a directory still being filled (asked
 * again soon after), one listing of it renews what is known (up to
 * DIRNAMES_MAX names: more, and the directory is asked name by name).  Names are only ever added
 * from the store or by objfs, so a listing racing a create can add a name
 * that went, never lose one that is there.
 *
 * Bounded: DIRNAMES_DIRS directories, the least recently used making
 * room, of DIRNAMES_MAX names each.  Locking: names->lock, never held
 * across a store call.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monotime.h"
#include "objfs_internal.h"

#define DIRNAMES_DIRS	32
#define DIRNAMES_MAX	1000
/* Renewed by a listing when the time ran out this many timeouts ago at most. */
#define DIRNAMES_RENEW_WITHIN	4

struct dirnames {
	char		*dir;		/* its key; NULL: a free slot */
	int64_t		 known_ms;	/* all its names known since */
	int64_t		 used_ms;
	char		**names;	/* sorted */
	size_t		 n, room;
};

struct objfs_dirnames {
	pthread_mutex_t	 lock;
	struct dirnames	 slot[DIRNAMES_DIRS];
};

int
objfs_dirnames_init(struct objfs *fs)
{
	struct objfs_dirnames *dn;

	fs->dirnames = NULL;
	if (store_is_tree(fs->store) || fs->opts.attr_cache_ms == 0)
		return 0;	/* the host's directory, asked every time */
	if ((dn = calloc(1, sizeof(*dn))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&dn->lock, NULL);
	fs->dirnames = dn;
	return 0;
}

static void
slot_clear(struct dirnames *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->dir);
	memset(d, 0, sizeof(*d));
}

void
objfs_dirnames_free(struct objfs *fs)
{
	struct objfs_dirnames *dn = fs->dirnames;

	if (dn == NULL)
		return;
	for (size_t i = 0; i < DIRNAMES_DIRS; i++)
		slot_clear(&dn->slot[i]);
	pthread_mutex_destroy(&dn->lock);
	free(dn);
	fs->dirnames = NULL;
}

static struct dirnames *
slot_find(struct objfs_dirnames *dn, const char *dir)
{
	for (size_t i = 0; i < DIRNAMES_DIRS; i++)
		if (dn->slot[i].dir != NULL && strcmp(dn->slot[i].dir, dir) == 0)
			return &dn->slot[i];
	return NULL;
}

/* A slot for dir, cleared: a free one, or the least recently used. */
static struct dirnames *
slot_take(struct objfs_dirnames *dn, const char *dir)
{
	struct dirnames *d = slot_find(dn, dir), *old = &dn->slot[0];
	char *copy;

	if (d == NULL) {
		for (size_t i = 0; i < DIRNAMES_DIRS && d == NULL; i++) {
			if (dn->slot[i].dir == NULL)
				d = &dn->slot[i];
			else if (dn->slot[i].used_ms < old->used_ms)
				old = &dn->slot[i];
		}
		if (d == NULL)
			d = old;
	}
	if ((copy = strdup(dir)) == NULL)
		return NULL;
	slot_clear(d);
	d->dir = copy;
	d->used_ms = monotime_coarse_ms();
	return d;
}

/* Where name is, or would go, in d's sorted names. */
static size_t
name_pos(const struct dirnames *d, const char *name, bool *found)
{
	size_t lo = 0, hi = d->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->names[mid], name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* False: no room (too many names, or no memory): d is no longer whole. */
static bool
name_add(struct dirnames *d, const char *name)
{
	bool found;
	size_t at = name_pos(d, name, &found);
	char *copy;

	if (found)
		return true;
	if (d->n == DIRNAMES_MAX)
		return false;
	if (d->n == d->room) {
		size_t room = d->room > 0 ? d->room * 2 : 16;
		char **v = reallocarray(d->names, room, sizeof(*v));

		if (v == NULL)
			return false;
		d->names = v;
		d->room = room;
	}
	if ((copy = strdup(name)) == NULL)
		return false;
	memmove(&d->names[at + 1], &d->names[at],
	    (d->n - at) * sizeof(*d->names));
	d->names[at] = copy;
	d->n++;
	return true;
}

/* Directory dir was just made: it has no names. */
void
objfs_dirnames_new(struct objfs *fs, const char *dir)
{
	struct objfs_dirnames *dn = fs->dirnames;
	struct dirnames *d;

	if (dn == NULL)
		return;
	pthread_mutex_lock(&dn->lock);
	if ((d = slot_take(dn, dir)) != NULL)
		d->known_ms = monotime_coarse_ms();
	pthread_mutex_unlock(&dn->lock);
}

/* objfs made name in dir (or moved it there). */
void
objfs_dirnames_add(struct objfs *fs, const char *dir, const char *name)
{
	struct objfs_dirnames *dn = fs->dirnames;
	struct dirnames *d;

	if (dn == NULL)
		return;
	pthread_mutex_lock(&dn->lock);
	if ((d = slot_find(dn, dir)) != NULL && !name_add(d, name))
		slot_clear(d);
	pthread_mutex_unlock(&dn->lock);
}

/* objfs removed name from dir (or moved it away). */
void
objfs_dirnames_remove(struct objfs *fs, const char *dir, const char *name)
{
	struct objfs_dirnames *dn = fs->dirnames;
	struct dirnames *d;
	size_t at;
	bool found;

	if (dn == NULL)
		return;
	pthread_mutex_lock(&dn->lock);
	if ((d = slot_find(dn, dir)) != NULL) {
		at = name_pos(d, name, &found);
		if (found) {
			free(d->names[at]);
			memmove(&d->names[at], &d->names[at + 1],
			    (d->n - at - 1) * sizeof(*d->names));
			d->n--;
		}
	}
	pthread_mutex_unlock(&dn->lock);
}

/* Directory dir and every one below it are gone or moved. */
void
objfs_dirnames_forget(struct objfs *fs, const char *dir)
{
	struct objfs_dirnames *dn = fs->dirnames;
	size_t len = strlen(dir);

	if (dn == NULL)
		return;
	pthread_mutex_lock(&dn->lock);
	for (size_t i = 0; i < DIRNAMES_DIRS; i++) {
		const char *k = dn->slot[i].dir;

		if (k != NULL && strncmp(k, dir, len) == 0 &&
		    (k[len] == '\0' || k[len] == '/' || len == 0))
			slot_clear(&dn->slot[i]);
	}
	pthread_mutex_unlock(&dn->lock);
}

enum { NAMES_UNKNOWN, NAMES_ABSENT, NAMES_MAYBE, NAMES_STALE };

static int
names_say(struct objfs *fs, const char *dir, const char *name)
{
	struct objfs_dirnames *dn = fs->dirnames;
	struct dirnames *d;
	int64_t now = monotime_coarse_ms(), ttl = fs->opts.attr_cache_ms;
	int say = NAMES_UNKNOWN;
	bool found;

	pthread_mutex_lock(&dn->lock);
	if ((d = slot_find(dn, dir)) != NULL) {
		d->used_ms = now;
		if (now - d->known_ms >= DIRNAMES_RENEW_WITHIN * ttl)
			slot_clear(d);	/* not being filled any more */
		else if (now - d->known_ms >= ttl)
			say = NAMES_STALE;
		else {
			(void)name_pos(d, name, &found);
			say = found ? NAMES_MAYBE : NAMES_ABSENT;
		}
	}
	pthread_mutex_unlock(&dn->lock);
	return say;
}

/*
 * Renew what is known of dir from one listing begun at `since`: its names
 * join those objfs made meanwhile.  More than one page: dir is dropped.
 */
static void
names_renew(struct objfs *fs, const char *dir)
{
	struct objfs_dirnames *dn = fs->dirnames;
	struct store_listing l = { 0 };
	int64_t since = monotime_coarse_ms();
	struct dirnames *d;
	char *prefix = objfs_dir_prefix(dir);
	int rc;

	rc = prefix == NULL ? -ENOMEM : store_list(fs->store, prefix, NULL,
	    STORE_LIST_NAMES, DIRNAMES_MAX, &l);
	free(prefix);
	pthread_mutex_lock(&dn->lock);
	if ((d = slot_find(dn, dir)) != NULL) {
		bool whole = rc == 0 && l.next == NULL;

		for (size_t i = 0; whole && i < l.n; i++) {
			char *n = l.entries[i].name;
			size_t len = strlen(n);

			if (len > 0 && n[len - 1] == '/')
				n[len - 1] = '\0';	/* a prefix */
			if (n[0] != '\0')		/* not the marker */
				whole = name_add(d, n);
		}
		if (whole)
			d->known_ms = since;
		else
			slot_clear(d);
	}
	pthread_mutex_unlock(&dn->lock);
	store_listing_clear(&l);
}

/*
 * True when name is surely absent from directory dir, without a request
 * (or with one listing that renews a directory objfs is filling).
 */
bool
objfs_dirnames_absent(struct objfs *fs, const char *dir, const char *name)
{
	int say;

	if (fs->dirnames == NULL)
		return false;
	if ((say = names_say(fs, dir, name)) == NAMES_STALE) {
		names_renew(fs, dir);
		say = names_say(fs, dir, name);
	}
	return say == NAMES_ABSENT;
}

/* objfs_dirnames_absent for a full key. */
bool
objfs_dirnames_absent_key(struct objfs *fs, const char *key)
{
	const char *slash = strrchr(key, '/');
	char *dir;
	bool absent;

	if (fs->dirnames == NULL)
		return false;
	if (slash == NULL)
		return objfs_dirnames_absent(fs, "", key);
	if ((dir = strndup(key, (size_t)(slash - key))) == NULL)
		return false;
	absent = objfs_dirnames_absent(fs, dir, slash + 1);
	free(dir);
	return absent;
}
