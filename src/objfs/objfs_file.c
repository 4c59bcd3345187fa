/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files: open, create, read, write and what closes them.
 *
 * Reads come from the stage when the file has one with its bytes, else
 * straight from the store into the caller's buffers.  Writes go to the
 * stage; flush, fsync and release upload it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

#define COPY_CHUNK	(1u << 20)

/* O_TRUNC: an empty stage that must be uploaded even if never written. */
static int
objfs_trunc_on_open(struct objfs *fs, struct objfs_inode *ino)
{
	int rc = objfs_stage_open(fs, ino, false, NULL);

	if (rc != 0 || (rc = objfs_stage_ftruncate(fs, ino->stage, 0)) != 0)
		return rc;
	objfs_stream_discard(fs, ino->stage);
	ino->stage->size = 0;
	ino->stage->loaded = true;
	return objfs_stage_touch(fs, ino);
}

/*
 * A write or truncate by a caller without CAP_FSETID (the kernel asked):
 * set-id bits go.  A stage in the object's own file uploads no
 * metadata, so the store is told at once; else the upload carries it.
 */
static void
objfs_kill_suidgid(struct objfs *fs, struct objfs_inode *ino)
{
	struct store_attr *m = &ino->stage->meta;
	struct store_attr chg;

	if (!(m->has & STORE_ATTR_MODE) || !(m->mode & (S_ISUID | S_ISGID)))
		return;
	m->mode &= ~(mode_t)(S_ISUID | S_ISGID);
	(void)objfs_stage_dirty(fs, ino);	/* the write's own note counts */
	if (ino->stage->direct == NULL || ino->unlinked)
		return;
	store_attr_init(&chg);
	chg.has = STORE_ATTR_MODE;
	chg.mode = m->mode;
	if (store_set_attr(fs->store, ino->key, &chg, NULL) != 0)
		log_warnx("%s: cannot clear its set-id bits", ino->key);
}

/* The size objfs last saw of an object, for the reader's read-ahead. */
static uint64_t
objfs_size_hint(struct objfs_inode *ino)
{
	return __atomic_load_n(&ino->attr_ms, __ATOMIC_ACQUIRE) != 0 ?
	    ino->attr.size : STORE_SIZE_UNKNOWN;
}

/*
 * What a handle needs of the store is taken when it opens, so that a
 * store out of file descriptors fails the open with EMFILE rather than
 * a read or write later: for a writer on a store with files of its own,
 * its stage in that file; else, unless the stage serves the reads, a
 * reader.  Any other failure is left to the first read or write, which
 * tries again and reports it.  ino->lock held.
 */
static int
objfs_open_store(struct objfs *fs, struct objfs_inode *ino, bool writable,
    struct store_reader **rp)
{
	int rc = 0;

	*rp = NULL;
	if (writable && store_has_direct(fs->store) && !ino->unlinked)
		rc = objfs_stage_open(fs, ino, true, NULL);
	else if (ino->stage == NULL || !ino->stage->loaded)
		rc = store_reader_open_sized(fs->store, ino->key,
		    objfs_size_hint(ino), rp);
	return rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM ? rc : 0;
}

/* ino->lock held: the open's stage work, with the handle's reader. */
static int
objfs_open_prepare(struct objfs *fs, struct objfs_inode *ino, int flags,
    bool kill_suidgid, struct store_reader **rp)
{
	bool writable = (flags & O_ACCMODE) != O_RDONLY;
	int rc;

	/* Before O_TRUNC: a file in place is then truncated in place. */
	rc = objfs_open_store(fs, ino, writable, rp);
	if (rc == 0 && (flags & O_TRUNC))
		rc = objfs_trunc_on_open(fs, ino);
	if (rc == 0 && kill_suidgid && ino->stage != NULL)
		objfs_kill_suidgid(fs, ino);
	if (rc == 0) {
		ino->opens++;
		if (writable)
			ino->writers++;
		return 0;
	}
	store_reader_close(fs->store, *rp);
	*rp = NULL;
	objfs_stage_release(fs, ino);
	return rc;
}

/* Open an inode the caller holds a reference on; it passes to the handle. */
static int
objfs_open_inode(struct objfs *fs, struct objfs_inode *ino, int flags,
    bool kill_suidgid, uint64_t *fh)
{
	bool writable = (flags & O_ACCMODE) != O_RDONLY;
	struct store_reader *r;
	const char *key;
	int rc;

	if (ino->type == S_IFDIR)
		return -EISDIR;
	if (ino->type != S_IFREG)
		return -EINVAL;
	if (fs->opts.readonly && (writable || (flags & O_TRUNC)))
		return -EROFS;
	pthread_mutex_lock(&ino->lock);
	rc = objfs_open_prepare(fs, ino, flags, kill_suidgid, &r);
	key = ino->key;		/* the reader's, as a rename holds the lock */
	pthread_mutex_unlock(&ino->lock);
	if (rc == 0 &&
	    (rc = objfs_handle_new_file(fs, ino, flags, r, key, fh)) != 0) {
		pthread_mutex_lock(&ino->lock);
		ino->opens--;
		if (writable)
			ino->writers--;
		objfs_stage_release(fs, ino);
		pthread_mutex_unlock(&ino->lock);
	}
	return rc;
}

int
objfs_open(struct objfs *fs, uint64_t nodeid, int flags, bool kill_suidgid,
    uint64_t *fh, unsigned *open_flags)
{
	struct objfs_inode *ino = objfs_inode_get(fs, nodeid);
	int rc;

	*open_flags = 0;
	if (ino == NULL)
		return -ESTALE;
	objfs_ns_read(fs);
	rc = objfs_open_inode(fs, ino, flags, kill_suidgid, fh);
	objfs_ns_unlock(fs);
	if (rc != 0)
		objfs_inode_put(fs, ino);
	return rc;
}

/* A new, empty object, with a stage ready so no write has to fetch it. */
static int
objfs_create_new(struct objfs *fs, const struct objfs_ctx *ctx,
    struct objfs_inode *dir, const char *name, const char *key, mode_t mode,
    struct objfs_entry *e, struct objfs_inode **inop)
{
	struct store_cond cond = { 0 };
	struct objfs_inode *ino;
	struct store_attr a;
	int rc;

	objfs_owner_attr(fs, ctx, dir, S_IFREG | (mode & 07777), &a);
	/*
	 * Created by someone else since objfs_absent looked: theirs.  The
	 * name is there either way (or may be, on a failure): known first.
	 */
	cond.if_none_match = !fs->opts.conflicts_overwrite;
	objfs_dirnames_add(fs, dir->key, name);
	if ((rc = store_put_if(fs->store, key, -1, 0, &a, &cond)) != 0 ||
	    (rc = objfs_inode_intern(fs, key, S_IFREG, &ino)) != 0) {
		store_attr_clear(&a);
		return rc == -ECANCELED ? -EEXIST : rc;
	}
	memcpy(a.etag, cond.etag, sizeof(a.etag));
	objfs_dirfacts_changed(fs, dir->key, 0);
	pthread_mutex_lock(&ino->lock);
	if (ino->stage == NULL)
		rc = objfs_stage_open(fs, ino, false, &a);
	pthread_mutex_unlock(&ino->lock);
	if (rc == 0) {
		objfs_fill_entry(fs, ino, &a, e);
		objfs_inode_count_lookup(fs, ino);
		*inop = ino;
	} else
		objfs_inode_put(fs, ino);
	store_attr_clear(&a);
	return rc;
}

int
objfs_create(struct objfs *fs, const struct objfs_ctx *ctx, uint64_t parent,
    const char *name, mode_t mode, int flags, struct objfs_entry *e,
    uint64_t *fh)
{
	struct objfs_inode *dir, *ino = NULL;
	char *key;
	int rc;

	if ((rc = objfs_change_begin(fs, parent, name, &dir, &key)) != 0)
		return rc;
	/* The names objfs knows may answer: the PUT checks again. */
	rc = objfs_absent(fs, key, true);
	if (rc == 0)
		rc = objfs_create_new(fs, ctx, dir, name, key, mode, e, &ino);
	if (rc == -EEXIST && !(flags & O_EXCL))	/* it appeared meanwhile */
		rc = objfs_entry_for(fs, dir, name, e, &ino);
	if (rc == 0 && (rc = objfs_open_inode(fs, ino, flags, false, fh)) != 0) {
		objfs_forget(fs, ino->ino, 1);
		objfs_inode_put(fs, ino);
	}
	objfs_change_end(fs, dir, key);
	return rc;
}

enum { READER_OWN_KEY, READER_RENEWED, READER_STALE };

/*
 * The handle's reader is of a key a rename took away: a reader of the new
 * one takes its place, and the old one is parked (other reads may be
 * using it) until the handle goes.  READER_RENEWED: *rp reads the key
 * now; READER_OWN_KEY: the reader was of it already (what it said
 * stands); READER_STALE: no new reader (none to be had, or no room left
 * to park the old one).
 */
static int
objfs_reader_renew(struct objfs *fs, struct objfs_handle *h,
    struct store_reader *used, struct store_reader **rp)
{
	const char *key = objfs_inode_key(h->inode);
	struct store_reader *r = NULL;
	int said = READER_STALE;

	pthread_mutex_lock(&h->lock);
	if (h->reader != used) {	/* renewed by another read */
		r = h->reader;
		said = READER_RENEWED;
	} else if (h->reader_of == key)
		said = READER_OWN_KEY;
	else if (h->nparked < OBJFS_PARKED_READERS &&
	    store_reader_open_sized(fs->store, key,
	    objfs_size_hint(h->inode), &r) == 0 && r != NULL) {
		h->parked[h->nparked++] = used;
		h->reader = r;
		h->reader_of = key;
		said = READER_RENEWED;
	}
	pthread_mutex_unlock(&h->lock);
	*rp = r;
	return said;
}

/*
 * A read from the store.  A rename may give the file a new key and remove
 * the old object, before this read or while it is on its way: then once
 * more, under the new key, by a reader of it or directly.
 */
static int
objfs_read_store(struct objfs *fs, struct objfs_handle *h, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	struct objfs_inode *ino = h->inode;
	const char *key = objfs_inode_key(ino);
	struct store_reader *r, *renewed;
	int rc;

	pthread_mutex_lock(&h->lock);
	if (h->reader == NULL) {
		(void)store_reader_open_sized(fs->store, key,
		    objfs_size_hint(ino), &h->reader);
		h->reader_of = key;
	}
	r = h->reader;
	pthread_mutex_unlock(&h->lock);
	rc = store_reader_read(fs->store, r, key, off, iov, iovcnt, got);
	/* Without a reader that was a GET of key: gone, unless it moved. */
	if (rc != -ENOENT || (r == NULL && !objfs_inode_key_moved(ino, key)))
		return rc;
	key = objfs_inode_key(ino);
	if (r == NULL)
		return store_get(fs->store, key, off, iov, iovcnt, got);
	switch (objfs_reader_renew(fs, h, r, &renewed)) {
	case READER_RENEWED:
		return store_reader_read(fs->store, renewed, key, off, iov,
		    iovcnt, got);
	case READER_STALE:
		return store_get(fs->store, key, off, iov, iovcnt, got);
	default:
		return rc;	/* the object under its key is gone */
	}
}

int
objfs_read(struct objfs *fs, uint64_t fh, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	struct objfs_handle *h = objfs_handle_get(fs, fh, false);
	struct objfs_inode *ino;
	int rc = 0;

	*got = 0;
	if (h == NULL)
		return -EBADF;
	ino = h->inode;
	objfs_ns_read(fs);
	pthread_mutex_lock(&ino->lock);
	/* Bytes already uploaded are read back once the upload is done. */
	if (ino->stage != NULL && off < ino->stage->dropped)
		rc = objfs_stream_settle(fs, ino);
	if (rc != 0) {
		pthread_mutex_unlock(&ino->lock);
		goto out;
	}
	if (ino->stage != NULL && ino->stage->loaded) {
		rc = objfs_stage_read(fs, ino->stage, off, iov, iovcnt, got);
		pthread_mutex_unlock(&ino->lock);
		goto out;
	}
	pthread_mutex_unlock(&ino->lock);
	rc = objfs_read_store(fs, h, off, iov, iovcnt, got);
	if (rc == -ENOENT)
		rc = -ESTALE;	/* deleted behind our back */
out:
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	return rc;
}

int
objfs_write(struct objfs *fs, uint64_t fh, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, bool kill_suidgid,
    size_t *written)
{
	struct objfs_handle *h = objfs_handle_get(fs, fh, false);
	struct objfs_inode *ino;
	struct objfs_stage *s;
	int rc;

	*written = 0;
	if (h == NULL)
		return -EBADF;
	if (!h->writable) {
		objfs_handle_put(fs, h);
		return -EBADF;
	}
	ino = h->inode;
	objfs_ns_read(fs);
	pthread_mutex_lock(&ino->lock);
	rc = h->released ? -EBADF : objfs_stage_open(fs, ino, true, NULL);
	if (rc == 0 && off > (uint64_t)INT64_MAX - store_iov_total(iov, iovcnt))
		rc = -EFBIG;
	if (rc == 0)
		rc = objfs_stream_before_write(fs, ino, off);
	if (rc == 0) {
		s = ino->stage;
		rc = objfs_stage_write(fs, s, off, iov, iovcnt, written);
		if (*written > 0) {
			if (off + *written > s->size)
				s->size = off + *written;
			int jrc = objfs_stage_touch(fs, ino);

			if (jrc == 0)
				jrc = objfs_stream_after_write(fs, ino, off,
				    off + *written);
			if (jrc != 0)
				rc = jrc;
			if (kill_suidgid)
				objfs_kill_suidgid(fs, ino);
		}
	}
	pthread_mutex_unlock(&ino->lock);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	return rc;
}

/*
 * Upload now if the file is dirty; the result is the caller's.  With
 * keyp, also the key the bytes went to (NULL once unlinked), for a sync.
 */
static int
objfs_sync_handle(struct objfs *fs, uint64_t fh, char **keyp)
{
	struct objfs_handle *h = objfs_handle_get(fs, fh, false);
	struct objfs_inode *ino;
	int rc;

	if (h == NULL)
		return -EBADF;
	ino = h->inode;
	objfs_ns_read(fs);
	pthread_mutex_lock(&ino->lock);
	/* fsync: the staged bytes are durable even if the upload fails. */
	rc = keyp != NULL && ino->stage != NULL && !ino->unlinked ?
	    objfs_journal_sync(fs, ino->stage, ino->key) : 0;
	if (rc == 0)
		rc = objfs_stage_upload(fs, ino);
	if (rc == 0 && keyp != NULL && !ino->unlinked &&
	    (*keyp = strdup(ino->key)) == NULL)
		rc = -ENOMEM;
	pthread_mutex_unlock(&ino->lock);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	return rc;
}

int
objfs_flush(struct objfs *fs, uint64_t fh)
{
	return objfs_sync_handle(fs, fh, NULL);
}

/*
 * The store's sync of a key copied under the locks, run outside them: it
 * may take long (fsync on a busy disk), and a rename meanwhile only makes
 * it sync a name that has gone.  Frees key.
 */
static int
objfs_sync_key(struct objfs *fs, char *key, bool datasync)
{
	int rc = store_sync(fs->store, key, datasync);

	free(key);
	return rc == -ENOENT ? 0 : rc;
}

int
objfs_fsync(struct objfs *fs, uint64_t fh, bool datasync)
{
	char *key = NULL;
	int rc;

	if ((rc = objfs_sync_handle(fs, fh, &key)) != 0 || key == NULL)
		return rc;
	return objfs_sync_key(fs, key, datasync);
}

int
objfs_fsyncdir(struct objfs *fs, uint64_t nodeid, bool datasync)
{
	struct objfs_inode *ino = objfs_inode_get(fs, nodeid);
	char *key;

	if (ino == NULL)
		return -ESTALE;
	objfs_ns_read(fs);
	key = strdup(ino->key);
	objfs_ns_unlock(fs);
	objfs_inode_put(fs, ino);
	if (key == NULL)
		return -ENOMEM;
	return objfs_sync_key(fs, key, datasync);
}

int
objfs_release(struct objfs *fs, uint64_t fh)
{
	return objfs_handle_release(fs, fh, false);
}

int
objfs_fallocate(struct objfs *fs, uint64_t fh, int mode, uint64_t off,
    uint64_t len)
{
	struct objfs_handle *h;
	struct objfs_stage *s;
	int rc;

	if (mode != 0)
		return -EOPNOTSUPP;
	if (len == 0 || off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	if ((h = objfs_handle_get(fs, fh, false)) == NULL)
		return -EBADF;
	objfs_ns_read(fs);
	pthread_mutex_lock(&h->inode->lock);
	rc = !h->writable || h->released ? -EBADF :
	    objfs_stage_open(fs, h->inode, true, NULL);
	if (rc == 0 && off + len > (s = h->inode->stage)->size) {
		if ((rc = objfs_stage_ftruncate(fs, s, off + len)) == 0) {
			s->size = off + len;
			objfs_stream_resized(s, s->size);
			rc = objfs_stage_touch(fs, h->inode);
		}
	}
	pthread_mutex_unlock(&h->inode->lock);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	return rc;
}

static int
objfs_handle_size(struct objfs *fs, struct objfs_handle *h, uint64_t *size)
{
	struct store_attr a;
	int rc;

	pthread_mutex_lock(&h->inode->lock);
	rc = objfs_head_inode(fs, h->inode, &a);
	pthread_mutex_unlock(&h->inode->lock);
	*size = a.size;
	store_attr_clear(&a);
	return rc;
}

/* Objects have no holes: data up to the end, one hole at the end. */
int
objfs_lseek(struct objfs *fs, uint64_t fh, uint64_t off, int whence,
    uint64_t *result)
{
	struct objfs_handle *h;
	uint64_t size;
	int rc;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if ((h = objfs_handle_get(fs, fh, false)) == NULL)
		return -EBADF;
	objfs_ns_read(fs);
	rc = objfs_handle_size(fs, h, &size);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, h);
	if (rc != 0)
		return rc;
	if (off >= size)
		return -ENXIO;
	*result = whence == SEEK_DATA ? off : size;
	return 0;
}

/*
 * A whole clean object copied over an empty file: one server-side copy in
 * the store.  Caller holds the namespace lock for reading.
 */
static int
objfs_copy_whole(struct objfs *fs, struct objfs_handle *in,
    struct objfs_handle *out, uint64_t in_size, size_t *copied)
{
	struct objfs_inode *dst = out->inode;
	struct store_attr meta;
	int rc;

	pthread_mutex_lock(&dst->lock);
	objfs_attr_forget(dst);		/* the copy carries all of it */
	rc = objfs_head_inode(fs, dst, &meta);
	if (rc == 0 && (meta.size != 0 || (dst->stage && dst->stage->dirty)))
		rc = -EAGAIN;		/* not empty: copy byte by byte */
	if (rc == 0) {
		const char *src = objfs_inode_key(in->inode);

		rc = store_copy(fs->store, src, dst->key, &meta, NULL);
		/* The source renamed meanwhile: byte by byte instead. */
		if (rc == -ENOENT && objfs_inode_key_moved(in->inode, src))
			rc = -EAGAIN;
	}
	if (rc == 0) {
		objfs_stage_free(fs, dst->stage);
		dst->stage = NULL;
		objfs_attr_forget(dst);
		*copied = (size_t)in_size;
	}
	pthread_mutex_unlock(&dst->lock);
	store_attr_clear(&meta);
	return rc;
}

static int
objfs_copy_bytes(struct objfs *fs, uint64_t fh_in, uint64_t off_in,
    uint64_t fh_out, uint64_t off_out, uint64_t len, size_t *copied)
{
	char *buf = malloc(COPY_CHUNK);
	int rc = 0;

	*copied = 0;
	if (buf == NULL)
		return -ENOMEM;
	while (*copied < len) {
		size_t want = len - *copied < COPY_CHUNK ? len - *copied :
		    COPY_CHUNK, got, put;
		struct iovec iov = { buf, want };

		rc = objfs_read(fs, fh_in, off_in + *copied, &iov, 1, &got);
		if (rc != 0 || got == 0)
			break;
		iov.iov_len = got;
		rc = objfs_write(fs, fh_out, off_out + *copied, &iov, 1, false,
		    &put);
		*copied += put;
		if (rc != 0 || got < want)
			break;
	}
	free(buf);
	return *copied > 0 ? 0 : rc;
}

int
objfs_copy_file_range(struct objfs *fs, uint64_t fh_in, uint64_t off_in,
    uint64_t fh_out, uint64_t off_out, uint64_t len, size_t *copied)
{
	struct objfs_handle *in, *out;
	uint64_t in_size = 0;
	int rc = -EAGAIN;

	*copied = 0;
	in = objfs_handle_get(fs, fh_in, false);
	out = objfs_handle_get(fs, fh_out, false);
	if (in == NULL || out == NULL || !out->writable) {
		objfs_handle_put(fs, in);
		objfs_handle_put(fs, out);
		return -EBADF;
	}
	objfs_ns_read(fs);
	if (off_in == 0 && off_out == 0 && in->inode != out->inode &&
	    objfs_handle_size(fs, in, &in_size) == 0 && len >= in_size &&
	    in_size > 0 && !(in->inode->stage && in->inode->stage->dirty))
		rc = objfs_copy_whole(fs, in, out, in_size, copied);
	objfs_ns_unlock(fs);
	objfs_handle_put(fs, in);
	objfs_handle_put(fs, out);
	if (rc == -EAGAIN)
		rc = objfs_copy_bytes(fs, fh_in, off_in, fh_out, off_out, len,
		    copied);
	return rc;
}
