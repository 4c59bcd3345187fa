/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory listings.
 *
 * An open directory fetches the store's listing page by page as the
 * reader advances and keeps every name it has seen; offsets are positions
 * in that list.  An offset stays valid however the directory changes, a
 * name is never returned twice, and a name that exists for the whole scan
 * is never skipped, because listings come in key order and continue from
 * a continuation.  Reading from offset 0 starts a fresh listing, as
 * rewinddir(3) expects.
 *
 * A listing of a huge directory is held by every handle reading it, so
 * each entry is kept small: the attributes a listing brought are dropped
 * once the entry has been returned (a reader seeking back gets them
 * from the store again), and the set of names seen goes when the listing
 * is complete.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "objfs_internal.h"

#define DIR_PAGE		1000
#define DIR_FIRST_PAGE		128	/* the first reply comes quickly */
/*
 * Pages in a row that bring no new name: a store that keeps saying
 * "more" without giving any (new) key would hold READDIR forever.
 */
#define DIR_STALL_PAGES		8
#define UNKNOWN_INO		0xffffffffULL	/* readdir without a lookup */

struct dl_entry {
	char			*name;
	struct store_attr	*attr;	/* from the listing, until returned */
	mode_t			 type;
};

struct dl_name {
	RB_ENTRY(dl_name)	 node;
	const char		*name;
};

RB_HEAD(dl_names, dl_name);

struct objfs_dirlist {
	struct dl_entry		*v;
	size_t			 n;
	size_t			 cap;
	struct dl_names		 names;
	char			*cont;
	bool			 done;
	unsigned		 stalled;	/* pages with nothing new */
};

static int
dl_name_cmp(const struct dl_name *a, const struct dl_name *b)
{
	return strcmp(a->name, b->name);
}

RB_GENERATE_LOCAL(dl_names, dl_name, node, dl_name_cmp)

static void
dl_names_free(struct objfs_dirlist *d)
{
	struct dl_name *nm, *next;

	RB_FOREACH_SAFE(nm, dl_names, &d->names, next) {
		RB_REMOVE(dl_names, &d->names, nm);
		free(nm);
	}
}

static void
dl_entry_drop_attr(struct dl_entry *e)
{
	if (e->attr != NULL) {
		store_attr_clear(e->attr);
		free(e->attr);
		e->attr = NULL;
	}
}

void
objfs_dirlist_free(struct objfs *fs, struct objfs_dirlist *d)
{
	if (d == NULL)
		return;
	objfs_trim_note(fs, d->n);
	dl_names_free(d);
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		dl_entry_drop_attr(&d->v[i]);
	}
	free(d->v);
	free(d->cont);
	free(d);
}

/* Keep one listing entry; names seen before are dropped (objects win). */
static int
dl_add(struct objfs_dirlist *d, struct store_entry *se)
{
	struct store_attr *attr = NULL;
	struct dl_name *nm;
	struct dl_entry *e;
	int err;

	if (!objfs_name_valid(se->name, &err))
		return 0;	/* "", "a//b" and the like cannot be looked up */
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dl_entry *v = reallocarray(d->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	if ((nm = calloc(1, sizeof(*nm))) == NULL)
		return -ENOMEM;
	nm->name = se->name;
	if (RB_INSERT(dl_names, &d->names, nm) != NULL) {
		free(nm);
		return 0;
	}
	if (se->has_attr && (attr = malloc(sizeof(*attr))) == NULL) {
		RB_REMOVE(dl_names, &d->names, nm);
		free(nm);
		return -ENOMEM;
	}
	e = &d->v[d->n++];
	e->name = se->name;	/* ownership moves here */
	se->name = NULL;
	if (se->is_prefix)
		e->type = S_IFDIR;
	else if ((se->attr.has & STORE_ATTR_MODE) && (se->attr.mode & S_IFMT))
		e->type = se->attr.mode & S_IFMT;
	else
		e->type = S_IFREG;
	e->attr = attr;
	if (attr != NULL) {
		*attr = se->attr;	/* with its xattrs */
		store_attr_init(&se->attr);
	}
	return 0;
}

static int
dl_fetch(struct objfs *fs, struct objfs_inode *dir, struct objfs_dirlist *d)
{
	struct store_listing l;
	unsigned flags = 0;
	size_t max, before = d->n;
	char *prefix;
	int rc;

	if (dir->key[0] == '\0')
		prefix = strdup("");
	else
		prefix = objfs_marker_key(dir->key);
	if (prefix == NULL)
		return -ENOMEM;
	/*
	 * A small first page answers the first READDIR quickly; after it, a
	 * tree store (which reads the whole directory for any page) gives
	 * the rest at once, names only: attributes are looked up as the
	 * entries are returned, rather than held for all of them by every
	 * handle reading a huge directory.
	 */
	if (d->n == 0)
		max = DIR_FIRST_PAGE;
	else if (store_is_tree(fs->store)) {
		max = SIZE_MAX;
		flags = STORE_LIST_NAMES;
	} else
		max = DIR_PAGE;
	rc = store_list(fs->store, prefix, d->cont, flags, max, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = dl_add(d, &l.entries[i]);
	d->stalled = d->n > before ? 0 : d->stalled + 1;
	if (rc == 0 && l.next != NULL && d->stalled >= DIR_STALL_PAGES) {
		log_warnx("listing of \"%s\" makes no progress: %u pages "
		    "without a new name", prefix, d->stalled);
		rc = -EIO;
	}
	free(prefix);
	if (rc == 0) {
		free(d->cont);
		d->cont = l.next;
		l.next = NULL;
		d->done = d->cont == NULL;
		if (d->done)
			dl_names_free(d);	/* no page left to repeat one */
	}
	store_listing_clear(&l);
	return rc;
}

int
objfs_opendir(struct objfs *fs, uint64_t nodeid, uint64_t *fh)
{
	struct objfs_inode *ino = objfs_inode_get(fs, nodeid);
	int rc;

	if (ino == NULL)
		return -ESTALE;
	if (ino->type != S_IFDIR)
		rc = -ENOTDIR;
	else
		rc = objfs_handle_new(fs, ino, 0, true, fh);
	if (rc != 0)
		objfs_inode_put(fs, ino);
	return rc;
}

int
objfs_releasedir(struct objfs *fs, uint64_t fh)
{
	return objfs_handle_release(fs, fh, true);
}

/* The entry for readdirplus: attributes, an inode, a lookup if taken. */
static int
dl_emit_plus(struct objfs *fs, struct objfs_inode *dir, struct dl_entry *de,
    uint64_t off, objfs_dirent_fn *fn, void *arg)
{
	struct objfs_inode *ino;
	struct objfs_entry e;
	struct store_attr a;
	mode_t type = de->type;
	char *key;
	int rc;

	if ((rc = objfs_child_key(dir, de->name, &key)) != 0)
		return rc;
	if (de->attr != NULL)
		rc = store_attr_copy(&a, de->attr);
	else
		rc = objfs_resolve(fs, key, &a, &type);
	if (rc == 0 && (rc = objfs_inode_intern(fs, key, type, &ino)) == 0) {
		rc = objfs_staged_attr(fs, ino, &a);
		if (rc == 0) {
			objfs_fill_entry(fs, ino, &a, &e);
			rc = fn(arg, de->name, type, ino->ino, off, &e);
			if (rc == 0)
				objfs_inode_count_lookup(fs, ino);
		}
		objfs_inode_put(fs, ino);
	}
	store_attr_clear(&a);
	free(key);
	/* Gone since it was listed: skip it rather than fail the listing. */
	return rc == -ENOENT ? 0 : rc;
}

static int
dl_emit(struct objfs *fs, struct objfs_inode *dir, struct dl_entry *de,
    uint64_t off, objfs_dirent_fn *fn, void *arg)
{
	struct objfs_inode *ino;
	uint64_t nodeid = UNKNOWN_INO;
	char *key;
	int rc;

	if ((rc = objfs_child_key(dir, de->name, &key)) != 0)
		return rc;
	if ((ino = objfs_inode_by_key(fs, key)) != NULL) {
		nodeid = ino->ino;
		objfs_inode_put(fs, ino);
	}
	free(key);
	return fn(arg, de->name, de->type, nodeid, off, NULL);
}

static int
dl_emit_dot(struct objfs_inode *dir, const char *name, uint64_t nodeid,
    uint64_t off, bool plus, objfs_dirent_fn *fn, void *arg)
{
	struct objfs_entry e;

	if (!plus)
		return fn(arg, name, S_IFDIR, nodeid, off, NULL);
	/* No lookup is counted for "." and "..": node id 0 says so. */
	memset(&e, 0, sizeof(e));
	e.st.st_mode = S_IFDIR;
	e.st.st_ino = nodeid;
	return fn(arg, name, S_IFDIR, nodeid, off, &e);
}

static int
objfs_readdir_locked(struct objfs *fs, struct objfs_handle *h, uint64_t off,
    bool plus, objfs_dirent_fn *fn, void *arg)
{
	struct objfs_inode *dir = h->inode;
	bool emitted = false;
	int rc = 0;

	if (off == 0 || h->dir == NULL) {
		objfs_dirlist_free(fs, h->dir);
		if ((h->dir = calloc(1, sizeof(*h->dir))) == NULL)
			return -ENOMEM;
		RB_INIT(&h->dir->names);
	}
	for (uint64_t i = off; rc == 0; i++) {
		if (i == 0)
			rc = dl_emit_dot(dir, ".", dir->ino, 1, plus, fn, arg);
		else if (i == 1)
			rc = dl_emit_dot(dir, "..", OBJFS_ROOT_INO, 2, plus, fn,
			    arg);
		else {
			while (i - 2 >= h->dir->n && !h->dir->done && rc == 0)
				rc = dl_fetch(fs, dir, h->dir);
			if (rc != 0 || i - 2 >= h->dir->n)
				break;
			rc = (plus ? dl_emit_plus : dl_emit)(fs, dir,
			    &h->dir->v[i - 2], i + 1, fn, arg);
			if (rc == 0)
				dl_entry_drop_attr(&h->dir->v[i - 2]);
		}
		emitted |= rc == 0;
	}
	/* 1: the reply buffer is full; an error waits for the next call. */
	return rc == 1 || (rc < 0 && emitted) ? 0 : rc;
}

int
objfs_readdir(struct objfs *fs, uint64_t fh, uint64_t off, bool plus,
    objfs_dirent_fn *fn, void *arg)
{
	struct objfs_handle *h = objfs_handle_get(fs, fh, true);
	int rc;

	if (h == NULL)
		return -EBADF;
	/* Lock order everywhere: namespace, then the handle. */
	objfs_ns_read(fs);
	pthread_mutex_lock(&h->lock);
	rc = objfs_readdir_locked(fs, h, off, plus, fn, arg);
	pthread_mutex_unlock(&h->lock);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	return rc;
}
