/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inode table: node ids and keys to inodes, lookup counts, lifetime.
 *
 * An inode lives while the kernel holds lookups on it (nlookup) or objfs
 * is using it (refs: open handles, calls in progress).  Inodes whose name
 * went away (unlink, replaced by rename, changed type behind our back)
 * leave the key tree but stay reachable by number until forgotten.
 *
 * Finding an inode takes the table lock for reading only, and the counts
 * are atomics: requests on different inodes never wait for each other.
 * The lock is taken for writing to add or remove an inode or change a
 * key.  Whoever drops the last count reaps the inode, by number (numbers
 * are never reused): it re-checks under the write lock, since a reader
 * may have found the inode and taken a reference meanwhile.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "objfs_internal.h"

static int
ino_cmp(const struct objfs_inode *a, const struct objfs_inode *b)
{
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

static int
key_cmp(const struct objfs_inode *a, const struct objfs_inode *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE_LOCAL(objfs_ino_tree, objfs_inode, by_ino, ino_cmp)
RB_GENERATE_LOCAL(objfs_key_tree, objfs_inode, by_key, key_cmp)

static void
ino_ref(struct objfs_inode *ino)
{
	__atomic_add_fetch(&ino->refs, 1, __ATOMIC_SEQ_CST);
}

static bool
ino_unused(const struct objfs_inode *ino)
{
	return __atomic_load_n(&ino->refs, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&ino->nlookup, __ATOMIC_SEQ_CST) == 0;
}

static struct objfs_inode *
inode_alloc(struct objfs *fs, const char *key, mode_t type)
{
	struct objfs_inode *ino = calloc(1, sizeof(*ino));

	if (ino == NULL || (ino->key = strdup(key)) == NULL) {
		free(ino);
		return NULL;
	}
	ino->type = type & S_IFMT;
	pthread_mutex_init(&ino->lock, NULL);
	return ino;
}

static void
free_old_keys(struct objfs_inode *ino)
{
	struct objfs_old_key *k, *next;

	for (k = ino->old_keys; k != NULL; k = next) {
		next = k->next;
		free(k->key);
		free(k);
	}
	ino->old_keys = NULL;
	ino->nold_keys = 0;
}

static void
inode_free(struct objfs *fs, struct objfs_inode *ino)
{
	if (fs != NULL) {
		objfs_trim_note(fs, 1);
		if (ino->type == S_IFDIR)
			objfs_dirlist_drop_idle(fs, ino);
	}
	/* A truncate whose upload failed left a stage no handle will close. */
	if (ino->stage != NULL && fs != NULL)
		objfs_stage_release(fs, ino);
	if (ino->stage != NULL)
		objfs_stage_free(fs, ino->stage);
	pthread_mutex_destroy(&ino->lock);
	free_old_keys(ino);
	free(ino->key);
	free(ino);
}

/* Table lock held. */
static void
inode_insert(struct objfs *fs, struct objfs_inode *ino)
{
	RB_INSERT(objfs_ino_tree, &fs->inodes, ino);
	RB_INSERT(objfs_key_tree, &fs->keys, ino);
	ino->in_key_tree = true;
	fs->ninodes++;
}

static void
inode_unkey(struct objfs *fs, struct objfs_inode *ino)
{
	if (ino->in_key_tree)
		RB_REMOVE(objfs_key_tree, &fs->keys, ino);
	ino->in_key_tree = false;
}

int
objfs_inode_init_table(struct objfs *fs)
{
	RB_INIT(&fs->inodes);
	RB_INIT(&fs->keys);
	fs->next_ino = OBJFS_ROOT_INO + 1;
	if ((fs->root = inode_alloc(fs, "", S_IFDIR)) == NULL)
		return -ENOMEM;
	fs->root->ino = OBJFS_ROOT_INO;
	fs->root->nlookup = 1;	/* the kernel never forgets the root */
	inode_insert(fs, fs->root);
	return 0;
}

void
objfs_inode_free_table(struct objfs *fs)
{
	struct objfs_inode *ino, *next;

	RB_FOREACH_SAFE(ino, objfs_ino_tree, &fs->inodes, next) {
		RB_REMOVE(objfs_ino_tree, &fs->inodes, ino);
		inode_free(fs, ino);
	}
	RB_INIT(&fs->keys);
	fs->ninodes = 0;
	fs->root = NULL;
}

size_t
objfs_inode_count(struct objfs *fs)
{
	size_t n;

	pthread_rwlock_rdlock(&fs->table_lock);
	n = fs->ninodes;
	pthread_rwlock_unlock(&fs->table_lock);
	return n;
}

/* The inode with this node id, with a reference, or NULL. */
struct objfs_inode *
objfs_inode_get(struct objfs *fs, uint64_t ino)
{
	struct objfs_inode probe = { .ino = ino }, *found;

	pthread_rwlock_rdlock(&fs->table_lock);
	found = RB_FIND(objfs_ino_tree, &fs->inodes, &probe);
	if (found != NULL)
		ino_ref(found);
	pthread_rwlock_unlock(&fs->table_lock);
	return found;
}

/* The inode with this key, with a reference, or NULL. */
struct objfs_inode *
objfs_inode_by_key(struct objfs *fs, const char *key)
{
	struct objfs_inode probe = { .key = (char *)key }, *found;

	pthread_rwlock_rdlock(&fs->table_lock);
	found = RB_FIND(objfs_key_tree, &fs->keys, &probe);
	if (found != NULL)
		ino_ref(found);
	pthread_rwlock_unlock(&fs->table_lock);
	return found;
}

/*
 * The inode for key, created if needed, with a reference.  An inode of
 * another type under the same key is stale (the object was replaced
 * behind our back): it loses the name and a fresh inode takes it.
 */
int
objfs_inode_intern(struct objfs *fs, const char *key, mode_t type,
    struct objfs_inode **inop)
{
	struct objfs_inode probe = { .key = (char *)key }, *ino, *fresh;

	/* Usually the inode is known: a read lock is enough. */
	pthread_rwlock_rdlock(&fs->table_lock);
	ino = RB_FIND(objfs_key_tree, &fs->keys, &probe);
	if (ino != NULL && (ino->type == (type & S_IFMT) || ino == fs->root)) {
		ino_ref(ino);
		pthread_rwlock_unlock(&fs->table_lock);
		*inop = ino;
		return 0;
	}
	pthread_rwlock_unlock(&fs->table_lock);

	/*
	 * Made before the write lock, so that one walk of the tree either
	 * places it or finds the inode another request placed meanwhile
	 * (a listing interns every entry it returns).
	 */
	if ((fresh = inode_alloc(fs, key, type)) == NULL)
		return -ENOMEM;
	pthread_rwlock_wrlock(&fs->table_lock);
	ino = RB_INSERT(objfs_key_tree, &fs->keys, fresh);
	if (ino != NULL && ino->type != (type & S_IFMT) && ino != fs->root) {
		inode_unkey(fs, ino);
		ino = RB_INSERT(objfs_key_tree, &fs->keys, fresh);
	}
	if (ino == NULL) {
		ino = fresh;
		fresh = NULL;
		ino->ino = fs->next_ino++;
		ino->in_key_tree = true;
		RB_INSERT(objfs_ino_tree, &fs->inodes, ino);
		fs->ninodes++;
	}
	ino_ref(ino);
	pthread_rwlock_unlock(&fs->table_lock);
	if (fresh != NULL)
		inode_free(NULL, fresh);	/* never published */
	*inop = ino;
	return 0;
}

void
objfs_inode_count_lookup(struct objfs *fs, struct objfs_inode *ino)
{
	__atomic_add_fetch(&ino->nlookup, 1, __ATOMIC_SEQ_CST);
}

/* Write lock held; true when the caller must inode_free() it. */
static bool
inode_release_if_unused(struct objfs *fs, struct objfs_inode *ino)
{
	if (ino == fs->root || !ino_unused(ino))
		return false;
	RB_REMOVE(objfs_ino_tree, &fs->inodes, ino);
	inode_unkey(fs, ino);
	fs->ninodes--;
	return true;
}

/* Both counts of inode number id reached zero: free it if still so. */
static void
inode_reap(struct objfs *fs, uint64_t id)
{
	struct objfs_inode probe = { .ino = id }, *ino;
	bool dead = false;

	pthread_rwlock_wrlock(&fs->table_lock);
	ino = RB_FIND(objfs_ino_tree, &fs->inodes, &probe);
	if (ino != NULL)
		dead = inode_release_if_unused(fs, ino);
	pthread_rwlock_unlock(&fs->table_lock);
	if (dead)
		inode_free(fs, ino);
}

/*
 * Each side drops its count, then looks at the other's (both sequentially
 * consistent): of a put and a forget racing to zero, at least one sees
 * both counts at zero and reaps.  The read lock keeps the inode alive
 * between the two: once refs is 0 a FORGET may reap it, and the reap
 * waits for the write lock.
 */
void
objfs_inode_put(struct objfs *fs, struct objfs_inode *ino)
{
	uint64_t id;
	bool reap;

	if (ino == NULL)
		return;
	id = ino->ino;
	pthread_rwlock_rdlock(&fs->table_lock);
	reap = __atomic_sub_fetch(&ino->refs, 1, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&ino->nlookup, __ATOMIC_SEQ_CST) == 0;
	pthread_rwlock_unlock(&fs->table_lock);
	if (reap)
		inode_reap(fs, id);
}

void
objfs_forget(struct objfs *fs, uint64_t nodeid, uint64_t nlookup)
{
	struct objfs_inode probe = { .ino = nodeid }, *ino;
	bool reap = false;

	pthread_rwlock_rdlock(&fs->table_lock);
	ino = RB_FIND(objfs_ino_tree, &fs->inodes, &probe);
	if (ino != NULL && ino != fs->root) {
		uint64_t cur = __atomic_load_n(&ino->nlookup, __ATOMIC_SEQ_CST),
		    next;

		do
			next = cur - (nlookup < cur ? nlookup : cur);
		while (!__atomic_compare_exchange_n(&ino->nlookup, &cur, next,
		    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
		reap = next == 0 &&
		    __atomic_load_n(&ino->refs, __ATOMIC_SEQ_CST) == 0;
	}
	pthread_rwlock_unlock(&fs->table_lock);
	if (reap)
		inode_reap(fs, nodeid);
}

/* The name is gone; the inode lives on for open handles and lookups. */
void
objfs_inode_detach(struct objfs *fs, struct objfs_inode *ino)
{
	pthread_rwlock_wrlock(&fs->table_lock);
	inode_unkey(fs, ino);
	ino->unlinked = true;
	pthread_rwlock_unlock(&fs->table_lock);
}

/*
 * Table lock held for writing.  The inode that had ino's new key leaves
 * the key tree: its name is gone.  Its stage is touched only where nobody
 * else can be using it (stage_ours: the caller holds the namespace lock
 * for writing, or the inode's lock).
 */
static void
displace_one(struct objfs *fs, struct objfs_inode *victim, bool stage_ours)
{
	inode_unkey(fs, victim);
	victim->unlinked = true;
	if (stage_ours && victim->stage != NULL) /* replaced: nothing to recover */
		objfs_journal_clean(fs, victim->stage);
}

/*
 * Table lock held for writing.  shared: under the namespace lock's shared
 * side, with ino's lock and held's (the inode replaced, or NULL) taken;
 * the old key is kept for requests that may still be using it.
 */
static int
rekey_one(struct objfs *fs, struct objfs_inode *ino, const char *newkey,
    bool shared, const struct objfs_inode *held)
{
	struct objfs_inode probe = { .key = (char *)newkey }, *victim;
	struct objfs_old_key *old = NULL;
	char *copy = strdup(newkey);

	if (copy == NULL || (shared && (old = malloc(sizeof(*old))) == NULL)) {
		free(copy);
		return -ENOMEM;
	}
	victim = RB_FIND(objfs_key_tree, &fs->keys, &probe);
	if (victim != NULL && victim != ino)
		displace_one(fs, victim, !shared || victim == held);
	inode_unkey(fs, ino);
	if (shared) {
		old->key = ino->key;
		old->next = ino->old_keys;
		ino->old_keys = old;
		ino->nold_keys++;
	} else {
		free(ino->key);
		free_old_keys(ino);	/* nobody is using them now */
	}
	__atomic_store_n(&ino->key, copy, __ATOMIC_RELEASE);
	RB_INSERT(objfs_key_tree, &fs->keys, ino);
	ino->in_key_tree = true;
	if (ino->stage != NULL) {
		/*
		 * The object under the new key is a copy, of a version objfs
		 * has not seen: unknown until objfs_stage_rebase asks.  The
		 * namespace lock held for writing, or the inode's lock, keeps
		 * stage users out.
		 */
		ino->stage->base[0] = '\0';
		(void)objfs_journal_note(fs, ino->stage, ino->key);
	}
	return 0;
}

/*
 * Rename: ino takes newkey, and for a directory every known inode below
 * it moves along.  Caller holds the namespace lock for writing.
 */
int
objfs_inode_rekey(struct objfs *fs, struct objfs_inode *ino,
    const char *newkey)
{
	size_t oldlen = strlen(ino->key);
	char *oldprefix = NULL;
	int rc = 0;

	objfs_attr_forget(ino);		/* its ctime moves on most stores */
	pthread_rwlock_wrlock(&fs->table_lock);
	if (ino->type == S_IFDIR &&
	    (oldprefix = objfs_dir_prefix(ino->key)) == NULL) {
		pthread_rwlock_unlock(&fs->table_lock);
		return -ENOMEM;
	}
	if (oldprefix != NULL) {
		struct objfs_inode probe = { .key = oldprefix }, *d, *next;

		for (d = RB_NFIND(objfs_key_tree, &fs->keys, &probe);
		    d != NULL && rc == 0; d = next) {
			char *k;

			next = RB_NEXT(objfs_key_tree, &fs->keys, d);
			if (strncmp(d->key, oldprefix, oldlen + 1) != 0)
				break;
			/*
			 * The new keys never match oldprefix (a directory
			 * cannot move below itself), so re-inserted inodes
			 * are not met again.
			 */
			if (asprintf(&k, "%s%s", newkey, d->key + oldlen) == -1)
				rc = -ENOMEM;
			else {
				rc = rekey_one(fs, d, k, false, NULL);
				free(k);
			}
		}
	}
	if (rc == 0)
		rc = rekey_one(fs, ino, newkey, false, NULL);
	pthread_rwlock_unlock(&fs->table_lock);
	free(oldprefix);
	return rc;
}

/*
 * ino's key now, for a request that holds neither its lock nor the
 * namespace lock for writing: a file's rename may replace it meanwhile,
 * and the string read stays valid (objfs_old_key).
 */
const char *
objfs_inode_key(const struct objfs_inode *ino)
{
	return __atomic_load_n(&ino->key, __ATOMIC_ACQUIRE);
}

/* A rename gave ino another key since `used` was read. */
bool
objfs_inode_key_moved(const struct objfs_inode *ino, const char *used)
{
	return objfs_inode_key(ino) != used;
}

/* Room for one more old key; ino's lock held. */
bool
objfs_inode_may_rekey_shared(const struct objfs_inode *ino)
{
	return ino->nold_keys < OBJFS_OLD_KEYS_MAX;
}

/*
 * A file's rename under the namespace lock's shared side: ino's lock is
 * held, and held's, the inode of the file replaced (or NULL).
 */
int
objfs_inode_rekey_shared(struct objfs *fs, struct objfs_inode *ino,
    const char *newkey, struct objfs_inode *held)
{
	int rc;

	objfs_attr_forget(ino);
	pthread_rwlock_wrlock(&fs->table_lock);
	rc = rekey_one(fs, ino, newkey, true, held);
	pthread_rwlock_unlock(&fs->table_lock);
	return rc;
}

/* ino's name was taken by a rename of a file objfs did not know; its lock held. */
void
objfs_inode_displace(struct objfs *fs, struct objfs_inode *ino)
{
	pthread_rwlock_wrlock(&fs->table_lock);
	displace_one(fs, ino, true);
	pthread_rwlock_unlock(&fs->table_lock);
}

/* A new FUSE session: the kernel holds no lookups any more. */
void
objfs_inode_forget_all(struct objfs *fs)
{
	struct objfs_inode *ino, *next;

	pthread_rwlock_wrlock(&fs->table_lock);
	RB_FOREACH_SAFE(ino, objfs_ino_tree, &fs->inodes, next) {
		if (ino == fs->root)
			continue;
		__atomic_store_n(&ino->nlookup, 0, __ATOMIC_SEQ_CST);
		if (inode_release_if_unused(fs, ino))
			inode_free(fs, ino);
	}
	pthread_rwlock_unlock(&fs->table_lock);
}

/* Every inode with a stage, each with a reference, for syncfs. */
int
objfs_inode_collect_staged(struct objfs *fs, struct objfs_inode ***listp,
    size_t *np)
{
	struct objfs_inode *ino, **list = NULL;
	size_t n = 0;

	pthread_rwlock_rdlock(&fs->table_lock);
	RB_FOREACH(ino, objfs_ino_tree, &fs->inodes) {
		struct objfs_inode **v;

		if (ino->stage == NULL)
			continue;
		if ((v = reallocarray(list, n + 1, sizeof(*v))) == NULL) {
			pthread_rwlock_unlock(&fs->table_lock);
			for (size_t i = 0; i < n; i++)
				objfs_inode_put(fs, list[i]);
			free(list);
			return -ENOMEM;
		}
		list = v;
		ino_ref(ino);
		list[n++] = ino;
	}
	pthread_rwlock_unlock(&fs->table_lock);
	*listp = list;
	*np = n;
	return 0;
}
