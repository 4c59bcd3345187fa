/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Open file and directory handles.
 *
 * File handle numbers come from the guest with every request, so they are
 * looked up in a tree, never trusted as pointers.  Lookups share the
 * table's lock (for reading); the reference count is an atomic.  A handle
 * in the table always holds the table's reference, so the last put can
 * only come after it was taken out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "objfs_internal.h"

static int
fh_cmp(const struct objfs_handle *a, const struct objfs_handle *b)
{
	return a->fh < b->fh ? -1 : a->fh > b->fh;
}

RB_GENERATE_LOCAL(objfs_handle_tree, objfs_handle, entry, fh_cmp)

/*
 * One handle more, unless the cap is reached: then EMFILE, which the
 * guest's open(2) returns, as a host would past its limit of open files.
 */
static int
objfs_handle_count(struct objfs *fs)
{
	size_t n = __atomic_add_fetch(&fs->nhandles, 1, __ATOMIC_RELAXED);

	if (n <= fs->max_handles)
		return 0;
	__atomic_sub_fetch(&fs->nhandles, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&fs->handles_warned, true, __ATOMIC_RELAXED))
		log_warnx("%zu files and directories are open, the most there "
		    "may be; opening more fails with EMFILE", fs->max_handles);
	return -EMFILE;
}

static int
objfs_handle_add(struct objfs *fs, struct objfs_inode *ino, int flags,
    bool is_dir, struct store_reader *r, const char *reader_of,
    uint64_t *fhp)
{
	struct objfs_handle *h;
	int rc;

	if ((rc = objfs_handle_count(fs)) != 0) {
		store_reader_close(fs->store, r);
		return rc;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		__atomic_sub_fetch(&fs->nhandles, 1, __ATOMIC_RELAXED);
		store_reader_close(fs->store, r);
		return -ENOMEM;
	}
	h->inode = ino;
	h->flags = flags;
	h->is_dir = is_dir;
	h->writable = !is_dir && (flags & O_ACCMODE) != O_RDONLY;
	h->reader = r;
	h->reader_of = reader_of;
	h->refs = 1;			/* the table's */
	pthread_mutex_init(&h->lock, NULL);
	pthread_rwlock_wrlock(&fs->handle_lock);
	h->fh = fs->next_fh++;
	RB_INSERT(objfs_handle_tree, &fs->handles, h);
	pthread_rwlock_unlock(&fs->handle_lock);
	*fhp = h->fh;
	return 0;
}

/*
 * Takes over the caller's reference on ino, and r (closed on failure),
 * a reader of ino's key reader_of.
 */
int
objfs_handle_new_file(struct objfs *fs, struct objfs_inode *ino, int flags,
    struct store_reader *r, const char *reader_of, uint64_t *fhp)
{
	return objfs_handle_add(fs, ino, flags, false, r, reader_of, fhp);
}

/* Takes over the caller's reference on ino. */
int
objfs_handle_new(struct objfs *fs, struct objfs_inode *ino, int flags,
    bool is_dir, uint64_t *fhp)
{
	return objfs_handle_add(fs, ino, flags, is_dir, NULL, NULL, fhp);
}

struct objfs_handle *
objfs_handle_get(struct objfs *fs, uint64_t fh, bool is_dir)
{
	struct objfs_handle probe = { .fh = fh }, *h;

	pthread_rwlock_rdlock(&fs->handle_lock);
	h = RB_FIND(objfs_handle_tree, &fs->handles, &probe);
	if (h != NULL && h->is_dir == is_dir)
		__atomic_add_fetch(&h->refs, 1, __ATOMIC_ACQ_REL);
	else
		h = NULL;
	pthread_rwlock_unlock(&fs->handle_lock);
	return h;
}

static void
objfs_handle_free(struct objfs *fs, struct objfs_handle *h)
{
	__atomic_sub_fetch(&fs->nhandles, 1, __ATOMIC_RELAXED);
	store_reader_close(fs->store, h->reader);
	for (unsigned i = 0; i < h->nparked; i++)
		store_reader_close(fs->store, h->parked[i]);
	objfs_dir_heads_free(fs, h);
	objfs_dirlist_put(fs, h->dir);
	objfs_inode_put(fs, h->inode);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void
objfs_handle_put(struct objfs *fs, struct objfs_handle *h)
{
	if (h != NULL && __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0)
		objfs_handle_free(fs, h);
}

/* Out of the table: no new call can find it. */
static struct objfs_handle *
objfs_handle_take(struct objfs *fs, uint64_t fh, bool is_dir)
{
	struct objfs_handle probe = { .fh = fh }, *h;

	pthread_rwlock_wrlock(&fs->handle_lock);
	h = RB_FIND(objfs_handle_tree, &fs->handles, &probe);
	if (h != NULL && h->is_dir == is_dir)
		RB_REMOVE(objfs_handle_tree, &fs->handles, h);
	else
		h = NULL;
	pthread_rwlock_unlock(&fs->handle_lock);
	return h;
}

/* Upload what the handle wrote, then drop the table's reference. */
static int
objfs_handle_close(struct objfs *fs, struct objfs_handle *h)
{
	struct objfs_inode *ino = h->inode;
	int rc = 0;

	if (!h->is_dir) {
		objfs_ns_read(fs);
		pthread_mutex_lock(&ino->lock);
		h->released = true;
		ino->opens--;
		if (h->writable)
			ino->writers--;
		rc = objfs_stage_upload(fs, ino);
		objfs_stage_release(fs, ino);
		pthread_mutex_unlock(&ino->lock);
		objfs_ns_unlock(fs);
	}
	objfs_handle_put(fs, h);
	return rc;
}

int
objfs_handle_release(struct objfs *fs, uint64_t fh, bool is_dir)
{
	struct objfs_handle *h = objfs_handle_take(fs, fh, is_dir);

	if (h == NULL)
		return -EBADF;
	return objfs_handle_close(fs, h);
}

/* Session over: close every handle, uploading what they wrote. */
void
objfs_handle_close_all(struct objfs *fs)
{
	struct objfs_handle *h;

	for (;;) {
		pthread_rwlock_wrlock(&fs->handle_lock);
		h = RB_MIN(objfs_handle_tree, &fs->handles);
		if (h != NULL)
			RB_REMOVE(objfs_handle_tree, &fs->handles, h);
		pthread_rwlock_unlock(&fs->handle_lock);
		if (h == NULL)
			break;
		(void)objfs_handle_close(fs, h);
	}
}
