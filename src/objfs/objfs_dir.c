/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory listings.
 *
 * A listing is a snapshot of one directory, fetched from the store page
 * by page as its readers advance; offsets are positions in it.  All
 * handles reading a directory share its snapshot: 64 readers of a huge
 * directory hold it once.  An offset stays valid however the directory
 * changes, a name is never returned twice, and a name that exists for
 * the whole scan is never skipped, because listings come in key order and
 * continue from a continuation.
 *
 * Who gets which snapshot: an OPENDIR, and a READDIR from offset 0 after
 * the handle has read (rewinddir(3)), take the directory's current one
 * when nothing changed in the directory through objfsd since it was begun
 * (a create, unlink, mkdir, rmdir or rename there moves the directory's
 * generation) and the store was listed for it less than LISTING_TTL_MS
 * ago (changes made behind objfsd's back show after that); else a new
 * one, which becomes the current.  The current snapshot outlives its
 * last reader while it could still be taken (an ls(1) run again, a
 * build scanning a directory it just scanned): it is kept idle, at most
 * DIR_IDLE_MAX snapshots and DIR_IDLE_ENTRIES entries in all, the oldest
 * going first, and freed when it is too old, its directory changed or
 * its directory's inode goes.  Any other snapshot goes with its last
 * reader.
 *
 * Memory: entries count against the cache budget.  Past it, new entries
 * keep no attributes (they are looked up as entries are returned) and
 * readers share the current snapshot whatever its age: the listing gets
 * staler instead of bigger.  Entries sit in fixed blocks and never move
 * once published, so readers emit them without holding the snapshot's
 * lock while another reader fetches the next page.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "monotime.h"
#include "objfs_internal.h"

#define DIR_PAGE		1000
/*
 * Pages in a row that bring no new name: a store that keeps saying
 * "more" without giving any (new) key would hold READDIR forever.
 */
#define DIR_STALL_PAGES		8
#define UNKNOWN_INO		0xffffffffULL	/* readdir without a lookup */
#define DL_BLOCK		1024	/* entries per block */
#define LISTING_TTL_MS		1000
#define DIR_IDLE_MAX		8
#define DIR_IDLE_ENTRIES	16384	/* about 1.5 MiB of names in all */

struct dl_entry {
	char			*name;
	struct store_attr	*attr;	/* from the listing, or NULL */
	uint64_t		 version; /* the listed object's, or 0 */
	mode_t			 type;
};

struct dl_name {
	RB_ENTRY(dl_name)	 node;
	const char		*name;
};

RB_HEAD(dl_names, dl_name);

struct objfs_dirlist {
	pthread_mutex_t		 lock;	/* fetching, and all below */
	unsigned		 refs;	/* under fs->listing_lock */
	struct objfs_inode	*dir;	/* held by every reader's handle */
	uint64_t		 gen;	/* dir->listing_gen when begun */
	int64_t			 listed_ms; /* the store's last page */
	struct dl_entry		**blocks;
	size_t			 nblocks;
	size_t			 n;	/* entries published (atomic) */
	struct dl_names		 names;
	size_t			 nnames;
	char			*cont;
	bool			 done;
	uint64_t		 subdirs;	/* entries that are directories */
	unsigned		 stalled;	/* pages with nothing new */
	size_t			 charged;	/* to the budget */
	/* No reader, kept on fs->idle_listings; under fs->listing_lock. */
	bool			 idle;
	size_t			 idle_n;	/* entries counted while idle */
	TAILQ_ENTRY(objfs_dirlist) idle_link;
};

TAILQ_HEAD(dl_list, objfs_dirlist);

static int
dl_name_cmp(const struct dl_name *a, const struct dl_name *b)
{
	return strcmp(a->name, b->name);
}

RB_GENERATE_LOCAL(dl_names, dl_name, node, dl_name_cmp)

static void
dl_charge(struct objfs *fs, struct objfs_dirlist *d, size_t bytes)
{
	membudget_charge(fs->opts.budget, bytes);
	d->charged += bytes;
}

static void
dl_uncharge(struct objfs *fs, struct objfs_dirlist *d, size_t bytes)
{
	membudget_give(fs->opts.budget, bytes);
	d->charged -= bytes;
}

static void
dl_names_free(struct objfs *fs, struct objfs_dirlist *d)
{
	struct dl_name *nm, *next;

	RB_FOREACH_SAFE(nm, dl_names, &d->names, next) {
		RB_REMOVE(dl_names, &d->names, nm);
		free(nm);
	}
	dl_uncharge(fs, d, d->nnames * sizeof(*nm));
	d->nnames = 0;
}

static size_t
dl_attr_size(const struct store_attr *a)
{
	size_t n = sizeof(*a) + a->nxattrs * sizeof(a->xattrs[0]);

	for (unsigned i = 0; i < a->nxattrs; i++)
		n += strlen(a->xattrs[i].name) + 1 + a->xattrs[i].len;
	return n;
}

static struct dl_entry *
dl_at(const struct objfs_dirlist *d, size_t i)
{
	return &d->blocks[i / DL_BLOCK][i % DL_BLOCK];
}

static void
dl_free(struct objfs *fs, struct objfs_dirlist *d)
{
	objfs_trim_note(fs, d->n);
	dl_names_free(fs, d);
	for (size_t i = 0; i < d->n; i++) {
		struct dl_entry *e = dl_at(d, i);

		free(e->name);
		if (e->attr != NULL) {
			store_attr_clear(e->attr);
			free(e->attr);
		}
	}
	for (size_t b = 0; b < d->nblocks; b++)
		free(d->blocks[b]);
	free(d->blocks);
	free(d->cont);
	membudget_give(fs->opts.budget, d->charged);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static bool
dl_young(const struct objfs_dirlist *d, const struct objfs_inode *dir)
{
	int64_t age = monotime_coarse_ms() -
	    __atomic_load_n(&d->listed_ms, __ATOMIC_RELAXED);

	return d->gen == __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE) &&
	    age < LISTING_TTL_MS;
}

static bool
dl_reusable(struct objfs *fs, const struct objfs_dirlist *d,
    const struct objfs_inode *dir)
{
	if (membudget_over(fs->opts.budget))
		return d->gen == __atomic_load_n(&dir->listing_gen,
		    __ATOMIC_ACQUIRE);
	return dl_young(d, dir);
}

/* Under fs->listing_lock: d is no longer idle nor its directory's. */
static void
dl_unidle(struct objfs *fs, struct objfs_dirlist *d, struct dl_list *gone)
{
	TAILQ_REMOVE(&fs->idle_listings, d, idle_link);
	fs->nidle_listings--;
	fs->idle_entries -= d->idle_n;
	d->idle = false;
	if (gone != NULL) {
		if (d->dir->listing == d)
			d->dir->listing = NULL;
		TAILQ_INSERT_TAIL(gone, d, idle_link);
	}
}

/*
 * Under fs->listing_lock: into gone, the idle snapshots no reader could
 * take any more, and the oldest past the bounds (all of them when the
 * cache budget is spent: they are memory no reader holds).
 */
static void
dl_idle_reap(struct objfs *fs, struct dl_list *gone)
{
	struct objfs_dirlist *d, *next;
	bool over = membudget_over(fs->opts.budget);

	TAILQ_FOREACH_SAFE(d, &fs->idle_listings, idle_link, next)
		if (over || !dl_young(d, d->dir) ||
		    fs->nidle_listings > DIR_IDLE_MAX ||
		    fs->idle_entries > DIR_IDLE_ENTRIES)
			dl_unidle(fs, d, gone);
}

static void
dl_free_list(struct objfs *fs, struct dl_list *gone)
{
	struct objfs_dirlist *d, *next;

	TAILQ_FOREACH_SAFE(d, gone, idle_link, next)
		dl_free(fs, d);
	TAILQ_INIT(gone);
}

/* Under fs->listing_lock: whether d, readerless, is kept idle. */
static bool
dl_idle(struct objfs *fs, struct objfs_dirlist *d)
{
	if (d->dir->listing != d || d->n > DIR_IDLE_ENTRIES ||
	    membudget_over(fs->opts.budget) || !dl_young(d, d->dir))
		return false;
	d->idle = true;
	d->idle_n = d->n;
	TAILQ_INSERT_TAIL(&fs->idle_listings, d, idle_link);
	fs->nidle_listings++;
	fs->idle_entries += d->n;
	return true;
}

/* A reader lets go; the last one frees the snapshot or keeps it idle. */
void
objfs_dirlist_put(struct objfs *fs, struct objfs_dirlist *d)
{
	struct dl_list gone = TAILQ_HEAD_INITIALIZER(gone);
	bool freed = false;

	if (d == NULL)
		return;
	pthread_mutex_lock(&fs->listing_lock);
	if (--d->refs == 0 && !dl_idle(fs, d)) {
		if (d->dir->listing == d)
			d->dir->listing = NULL;
		freed = true;
	}
	dl_idle_reap(fs, &gone);
	pthread_mutex_unlock(&fs->listing_lock);
	if (freed)
		dl_free(fs, d);
	dl_free_list(fs, &gone);
}

/* dir's inode goes: its idle snapshot, which no reader holds, with it. */
void
objfs_dirlist_drop_idle(struct objfs *fs, struct objfs_inode *dir)
{
	struct dl_list gone = TAILQ_HEAD_INITIALIZER(gone);

	pthread_mutex_lock(&fs->listing_lock);
	if (dir->listing != NULL && dir->listing->idle)
		dl_unidle(fs, dir->listing, &gone);
	pthread_mutex_unlock(&fs->listing_lock);
	dl_free_list(fs, &gone);
}

/* The snapshot a reader of dir starts from, with a reference. */
int
objfs_dirlist_get(struct objfs *fs, struct objfs_inode *dir,
    struct objfs_dirlist **dp)
{
	struct dl_list gone = TAILQ_HEAD_INITIALIZER(gone);
	struct objfs_dirlist *d;

	pthread_mutex_lock(&fs->listing_lock);
	dl_idle_reap(fs, &gone);
	if ((d = dir->listing) != NULL && dl_reusable(fs, d, dir)) {
		if (d->idle)
			dl_unidle(fs, d, NULL);
		d->refs++;
		pthread_mutex_unlock(&fs->listing_lock);
		dl_free_list(fs, &gone);
		*dp = d;
		return 0;
	}
	/* An idle one no reader holds, else the readers free it. */
	if (d != NULL && d->idle)
		dl_unidle(fs, d, &gone);
	pthread_mutex_unlock(&fs->listing_lock);
	dl_free_list(fs, &gone);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	RB_INIT(&d->names);
	d->refs = 1;
	d->dir = dir;
	d->gen = __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE);
	d->listed_ms = monotime_coarse_ms();
	dl_charge(fs, d, sizeof(*d));
	pthread_mutex_lock(&fs->listing_lock);
	if (dir->listing != NULL && dir->listing->idle)
		dl_unidle(fs, dir->listing, &gone);
	dir->listing = d;	/* an older one lives on with its readers */
	pthread_mutex_unlock(&fs->listing_lock);
	dl_free_list(fs, &gone);
	*dp = d;
	return 0;
}

/* A name, type or entry in dir changed: new readers list it again. */
void
objfs_dirlist_changed(struct objfs_inode *dir)
{
	if (dir != NULL)
		__atomic_add_fetch(&dir->listing_gen, 1, __ATOMIC_ACQ_REL);
}

static struct dl_entry *
dl_slot(struct objfs *fs, struct objfs_dirlist *d)
{
	if (d->n == d->nblocks * DL_BLOCK) {
		struct dl_entry **v = reallocarray(d->blocks, d->nblocks + 1,
		    sizeof(*v));

		if (v == NULL)
			return NULL;
		d->blocks = v;
		if ((v[d->nblocks] = calloc(DL_BLOCK, sizeof(**v))) == NULL)
			return NULL;
		d->nblocks++;
		dl_charge(fs, d, DL_BLOCK * sizeof(**v) + sizeof(*v));
	}
	return dl_at(d, d->n);
}

static mode_t
dl_type(const struct store_entry *se)
{
	if (se->is_prefix)
		return S_IFDIR;
	if ((se->attr.has & STORE_ATTR_MODE) && (se->attr.mode & S_IFMT))
		return se->attr.mode & S_IFMT;
	return S_IFREG;
}

/* Keep one listing entry; names seen before are dropped (objects win). */
static int
dl_add(struct objfs *fs, struct objfs_dirlist *d, struct store_entry *se)
{
	bool keep_attr = se->has_attr && !membudget_over(fs->opts.budget);
	struct store_attr *attr = NULL;
	struct dl_name *nm;
	struct dl_entry *e;
	int err;

	if (!objfs_name_valid(se->name, &err))
		return 0;	/* "", "a//b" and the like cannot be looked up */
	if ((e = dl_slot(fs, d)) == NULL)
		return -ENOMEM;
	if ((nm = calloc(1, sizeof(*nm))) == NULL)
		return -ENOMEM;
	nm->name = se->name;
	if (RB_INSERT(dl_names, &d->names, nm) != NULL) {
		free(nm);
		return 0;
	}
	if (keep_attr && (attr = malloc(sizeof(*attr))) == NULL) {
		RB_REMOVE(dl_names, &d->names, nm);
		free(nm);
		return -ENOMEM;
	}
	d->nnames++;
	dl_charge(fs, d, sizeof(*nm) + strlen(se->name) + 1);
	e->name = se->name;	/* ownership moves here */
	se->name = NULL;
	e->type = dl_type(se);
	e->version = se->is_prefix ? 0 : se->attr.version;
	if (e->type == S_IFDIR)
		d->subdirs++;
	e->attr = attr;
	if (attr != NULL) {
		*attr = se->attr;	/* with its xattrs */
		store_attr_init(&se->attr);
		dl_charge(fs, d, dl_attr_size(attr));
	}
	/* Readers look at entries below n without the lock. */
	__atomic_store_n(&d->n, d->n + 1, __ATOMIC_RELEASE);
	return 0;
}

/* The next page of the store's listing; d->lock held. */
static int
dl_fetch(struct objfs *fs, struct objfs_inode *dir, struct objfs_dirlist *d)
{
	struct store_listing l;
	unsigned flags = 0;
	size_t max, before = d->n;
	char *prefix;
	int rc;

	if ((prefix = objfs_dir_prefix(dir->key)) == NULL)
		return -ENOMEM;
	/*
	 * A tree store reads and sorts the whole directory for any page:
	 * take it all at once, names only (attributes are looked up as the
	 * entries are returned, rather than held for all of a huge
	 * directory).  On an object store every page is a request: take
	 * full ones.
	 */
	if (store_is_tree(fs->store)) {
		max = SIZE_MAX;
		flags = STORE_LIST_NAMES;
	} else
		max = DIR_PAGE;
	rc = store_list(fs->store, prefix, d->cont, flags, max, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = dl_add(fs, d, &l.entries[i]);
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
		__atomic_store_n(&d->listed_ms, monotime_coarse_ms(),
		    __ATOMIC_RELAXED);
		if (d->cont == NULL) {
			d->done = true;
			dl_names_free(fs, d);	/* no page left to repeat */
			/* Unchanged while listed: the count is the link count's. */
			if (d->gen == __atomic_load_n(&dir->listing_gen,
			    __ATOMIC_ACQUIRE))
				objfs_dirfacts_subdirs(fs, dir->key, d->subdirs);
		}
	}
	store_listing_clear(&l);
	return rc;
}

/*
 * Entry i of the snapshot, fetching pages until it is there; NULL with
 * *rc 0 past the end.  The entry stays put for as long as d does.
 */
static const struct dl_entry *
dl_get(struct objfs *fs, struct objfs_inode *dir, struct objfs_dirlist *d,
    size_t i, int *rc)
{
	const struct dl_entry *e = NULL;

	*rc = 0;
	if (i < __atomic_load_n(&d->n, __ATOMIC_ACQUIRE))
		return dl_at(d, i);
	pthread_mutex_lock(&d->lock);
	while (i >= d->n && !d->done && *rc == 0)
		*rc = dl_fetch(fs, dir, d);
	if (i < d->n)
		e = dl_at(d, i);
	pthread_mutex_unlock(&d->lock);
	return e;
}

/* Under h->lock: the snapshot the handle reads from now on. */
static int
dl_attach(struct objfs *fs, struct objfs_handle *h)
{
	struct objfs_dirlist *d;
	int rc;

	if ((rc = objfs_dirlist_get(fs, h->inode, &d)) != 0)
		return rc;
	objfs_dir_heads_free(fs, h);
	objfs_dirlist_put(fs, h->dir);
	h->dir = d;
	h->dir_read = false;
	return 0;
}

int
objfs_opendir(struct objfs *fs, uint64_t nodeid, uint64_t *fh)
{
	struct objfs_inode *ino = objfs_inode_get(fs, nodeid);
	struct objfs_handle *h;
	int rc;

	if (ino == NULL)
		return -ESTALE;
	if (ino->type != S_IFDIR)
		rc = -ENOTDIR;
	else
		rc = objfs_handle_new(fs, ino, 0, true, fh);
	if (rc != 0) {
		objfs_inode_put(fs, ino);
		return rc;
	}
	/* Handles opened together share what was there when they opened. */
	if ((h = objfs_handle_get(fs, *fh, true)) != NULL) {
		pthread_mutex_lock(&h->lock);
		if (h->dir == NULL)
			rc = dl_attach(fs, h);
		pthread_mutex_unlock(&h->lock);
		objfs_handle_put(fs, h);
	}
	if (rc != 0)
		(void)objfs_handle_release(fs, *fh, true);
	return rc;
}

int
objfs_releasedir(struct objfs *fs, uint64_t fh)
{
	return objfs_handle_release(fs, fh, true);
}

/*
 * READDIRPLUS on a store whose listings lack metadata (S3) needs a HEAD
 * per object: the next DIR_HEAD_BATCH entries are looked up together
 * (side by side in the store) and kept with the handle, since one reply
 * holds fewer entries than a batch and the next READDIRPLUS continues.
 * A batch belongs to the handle's snapshot: dl_attach() drops it.
 */
#define DIR_HEAD_BATCH		64

struct dl_heads {
	size_t			 first;	/* the snapshot's entry index */
	size_t			 n;
	uint64_t		 gen;	/* the directory's, before the HEADs */
	bool			 have[DIR_HEAD_BATCH];
	int			 rcs[DIR_HEAD_BATCH];
	struct store_attr	 attrs[DIR_HEAD_BATCH];
};

void
objfs_dir_heads_free(struct objfs *fs, struct objfs_handle *h)
{
	struct dl_heads *b = h->heads;

	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		store_attr_clear(&b->attrs[i]);
	free(b);
	membudget_give(fs->opts.budget, sizeof(*b));
	h->heads = NULL;
}

/* Entry i's looked-up attributes, or NULL (not looked up, or failed). */
static const struct store_attr *
dl_heads_at(const struct objfs_handle *h, size_t i)
{
	const struct dl_heads *b = h->heads;

	if (b == NULL || i < b->first ||
	    i - b->first >= b->n || !b->have[i - b->first] ||
	    b->rcs[i - b->first] != 0)
		return NULL;
	return &b->attrs[i - b->first];
}

/*
 * The keys of entries first.. that need a HEAD, into keys[]; the batch
 * ends before an entry that cannot be had (READDIRPLUS meets the error
 * itself when it gets there).  One key per entry serves both to confirm
 * the version listed and, when that fails, to be asked.
 */
static size_t
dl_heads_keys(struct objfs *fs, struct objfs_handle *h, size_t first,
    struct dl_heads *b, char **keys)
{
	const struct dl_entry *de;
	size_t nkeys = 0;
	char *key;
	int rc;

	for (b->n = 0; b->n < DIR_HEAD_BATCH; b->n++) {
		if ((de = dl_get(fs, h->inode, h->dir, first + b->n, &rc)) ==
		    NULL)
			break;
		b->have[b->n] = false;
		if (de->attr != NULL || de->type == S_IFDIR)
			continue;
		if (objfs_child_key(fs, h->inode, de->name, &key) != 0)
			break;
		if (objfs_attr_confirm(fs, h->inode, h->dir->gen, key,
		    de->version)) {
			free(key);
			continue;
		}
		b->have[b->n] = true;
		keys[nkeys++] = key;
	}
	return nkeys;
}

/* Under h->lock: look up ahead from entry first, unless done already. */
static void
dl_heads_fetch(struct objfs *fs, struct objfs_handle *h, size_t first)
{
	struct store_attr attrs[DIR_HEAD_BATCH];
	int rcs[DIR_HEAD_BATCH];
	char *keys[DIR_HEAD_BATCH];
	struct dl_heads *b;
	size_t nkeys, k = 0;

	if (store_is_tree(fs->store) || (h->heads != NULL &&
	    first >= h->heads->first &&
	    first - h->heads->first < h->heads->n))
		return;
	objfs_dir_heads_free(fs, h);
	if (!membudget_take(fs->opts.budget, sizeof(*b)))
		return;		/* one by one, then */
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		membudget_give(fs->opts.budget, sizeof(*b));
		return;
	}
	b->first = first;
	h->heads = b;
	b->gen = __atomic_load_n(&h->inode->listing_gen, __ATOMIC_ACQUIRE);
	nkeys = dl_heads_keys(fs, h, first, b, keys);
	store_head_many(fs->store, (const char *const *)keys, nkeys, attrs,
	    rcs);
	/* Every entry below b->n that wants a HEAD has its key. */
	for (size_t i = 0; i < b->n; i++) {
		store_attr_init(&b->attrs[i]);
		if (!b->have[i])
			continue;
		b->attrs[i] = attrs[k];
		b->rcs[i] = rcs[k];
		free(keys[k++]);
	}
}

/*
 * The entry for readdirplus: attributes, an inode, a lookup if taken.
 * Attributes come from the snapshot d, from the look-ahead (looked_up,
 * of batch heads), from what objfs knows fresh (also what the listing
 * confirmed) or from the store now; gen is the directory's listing
 * generation when they were read.
 */
static int
dl_emit_plus(struct objfs *fs, struct objfs_inode *dir,
    const struct objfs_dirlist *d, const struct dl_entry *de,
    const struct dl_heads *heads, const struct store_attr *looked_up,
    uint64_t off, objfs_dirent_fn *fn, void *arg)
{
	uint64_t gen = d->gen;
	struct objfs_inode *ino;
	struct objfs_entry e;
	struct store_attr a;
	mode_t type = de->type;
	char *key;
	int rc;

	if ((rc = objfs_child_key(fs, dir, de->name, &key)) != 0)
		return rc;
	if (de->attr != NULL)
		rc = store_attr_copy(&a, de->attr);
	else if (looked_up != NULL) {
		rc = store_attr_copy(&a, looked_up);
		type = objfs_object_type(looked_up);
		gen = heads->gen;
	} else if (!objfs_known_key(fs, key, &a, &type)) {
		store_attr_clear(&a);
		gen = __atomic_load_n(&dir->listing_gen, __ATOMIC_ACQUIRE);
		rc = objfs_resolve(fs, key, &a, &type);
	}
	if (rc == 0 && (rc = objfs_inode_intern(fs, key, type, &ino)) == 0) {
		rc = objfs_staged_attr(fs, ino, &a, dir, gen);
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
dl_emit(struct objfs *fs, struct objfs_inode *dir, const struct dl_entry *de,
    uint64_t off, objfs_dirent_fn *fn, void *arg)
{
	struct objfs_inode *ino;
	uint64_t nodeid = UNKNOWN_INO;
	char *key;
	int rc;

	if ((rc = objfs_child_key(fs, dir, de->name, &key)) != 0)
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
	const struct dl_entry *de;
	bool emitted = false;
	int rc = 0;

	/* rewinddir(3): a listing as fresh as a new opendir would see. */
	if ((off == 0 && h->dir_read) || h->dir == NULL)
		if ((rc = dl_attach(fs, h)) != 0)
			return rc;
	h->dir_read = true;
	for (uint64_t i = off; rc == 0; i++) {
		if (i == 0)
			rc = dl_emit_dot(dir, ".", dir->ino, 1, plus, fn, arg);
		else if (i == 1)
			rc = dl_emit_dot(dir, "..", OBJFS_ROOT_INO, 2, plus, fn,
			    arg);
		else if ((de = dl_get(fs, dir, h->dir, i - 2, &rc)) == NULL)
			break;
		else if (plus) {
			dl_heads_fetch(fs, h, i - 2);
			rc = dl_emit_plus(fs, dir, h->dir, de, h->heads,
			    dl_heads_at(h, i - 2), i + 1, fn, arg);
		} else
			rc = dl_emit(fs, dir, de, i + 1, fn, arg);
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
