/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staging: the bytes of a file being written, in an unlinked spill file
 * under the cache directory, until they are uploaded as one object.  A
 * store that can (the fs store: a local file) is written in place
 * instead: the stage is then the object's own file and nothing is
 * copied, neither in nor out.  Its fd is lent for each use
 * (objfs_stage_fd), because the store keeps its fds within a budget
 * and may close one that is not in use.
 *
 * All functions here are called with ino->lock held (and the namespace
 * lock for reading, since they use ino->key).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

#define STAGE_COPY_CHUNK	(1u << 20)

int
objfs_spill_create(struct objfs *fs)
{
	char name[40];
	int fd;

	fd = openat(fs->cache_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd != -1 ? fd : -errno;
	/* No O_TMPFILE here: a named file, unlinked at once. */
	do {
		snprintf(name, sizeof(name), "objfsd-spill-%08x%08x",
		    arc4random(), arc4random());
		fd = openat(fs->cache_fd, name, O_CREAT | O_EXCL | O_RDWR |
		    O_CLOEXEC, 0600);
	} while (fd == -1 && errno == EEXIST);
	if (fd == -1)
		return -errno;
	unlinkat(fs->cache_fd, name, 0);
	return fd;
}

void
objfs_stage_free(struct objfs *fs, struct objfs_stage *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->direct != NULL)
		store_file_close(fs->store, s->direct);
	store_upload_abort(fs->store, s->up);	/* not kept: nobody's */
	objfs_journal_drop(fs, s);
	store_attr_clear(&s->meta);
	free(s);
}

/*
 * The stage's fd (-1: no bytes yet), lent until objfs_stage_fd_done()
 * when it is the object's own file: the store may have closed that and
 * open it again now, which can fail (-ESTALE: moved or replaced behind
 * objfsd's back; -EMFILE).
 */
int
objfs_stage_fd(struct objfs *fs, struct objfs_stage *s, int *fdp)
{
	*fdp = s->fd;
	if (s->direct == NULL)
		return 0;
	return store_file_fd(fs->store, s->direct, fdp);
}

void
objfs_stage_fd_done(struct objfs *fs, struct objfs_stage *s)
{
	if (s->direct != NULL)
		store_file_done(fs->store, s->direct);
}

int
objfs_stage_read(struct objfs *fs, struct objfs_stage *s, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	int fd, rc;

	if ((rc = objfs_stage_fd(fs, s, &fd)) != 0)
		return rc;
	/* No file yet: nothing written, the file is empty. */
	if (fd != -1)
		rc = store_fd_read(fd, off, iov, iovcnt, got);
	objfs_stage_fd_done(fs, s);
	return rc;
}

int
objfs_stage_write(struct objfs *fs, struct objfs_stage *s, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *written)
{
	int fd, rc;

	if ((rc = objfs_stage_fd(fs, s, &fd)) != 0)
		return rc;
	rc = store_fd_write(fd, off, iov, iovcnt, written);
	objfs_stage_fd_done(fs, s);
	return rc;
}

/*
 * The stage differs from the store now: its journal record says so
 * before the change is answered.  Past a sync, the record goes back to
 * dirty: the bytes no longer match the sum it holds.
 */
int
objfs_stage_dirty(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	bool was = s->dirty;

	s->dirty = true;
	if (was && s->jstate == OBJFS_JOURNAL_DIRTY)
		return 0;
	return objfs_journal_note(fs, s, ino->key);
}

/*
 * The bytes changed (a write, a truncate, an extension): now is the new
 * mtime, and the ctime too, as a change of the inode.  The upload, or
 * the next head of a staged inode, carries both.
 */
int
objfs_stage_touch(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;

	clock_gettime(CLOCK_REALTIME, &s->mtime);
	s->meta.ctime = s->mtime;
	s->meta.has |= STORE_ATTR_CTIME;
	return objfs_stage_dirty(fs, ino);
}

/* The stage's file, if it has one yet, made size bytes long. */
int
objfs_stage_ftruncate(struct objfs *fs, struct objfs_stage *s, uint64_t size)
{
	int fd, rc;

	if ((rc = objfs_stage_fd(fs, s, &fd)) != 0)
		return rc;
	if (fd != -1 && ftruncate(fd, (off_t)size) == -1)
		rc = -errno;
	objfs_stage_fd_done(fs, s);
	return rc;
}

static int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Bytes [off, end) of key (or up to its end) into fd at the same
 * offsets; *endp: where they ended.  A key gone is no bytes.
 */
int
objfs_copy_in(struct objfs *fs, const char *key, int fd, uint64_t off,
    uint64_t end, uint64_t *endp)
{
	char *buf = malloc(STAGE_COPY_CHUNK);
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (off < end) {
		struct iovec iov = { buf, end - off < STAGE_COPY_CHUNK ?
		    (size_t)(end - off) : STAGE_COPY_CHUNK };
		size_t got = 0;

		rc = store_get(fs->store, key, off, &iov, 1, &got);
		if (rc == -ENOENT && off == 0)
			rc = 0;		/* gone meanwhile: no bytes */
		if (rc != 0 || got == 0 ||
		    (rc = pwrite_all(fd, buf, got, off)) != 0)
			break;
		off += got;
		if (got < iov.iov_len)
			break;
	}
	free(buf);
	*endp = off;
	return rc;
}

/* Copy the object's bytes into the spill file. */
static int
objfs_stage_load(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	uint64_t end;
	int rc = objfs_copy_in(fs, ino->key, s->fd, 0, UINT64_MAX, &end);

	if (rc == 0) {
		s->size = end;
		s->loaded = true;
	} else
		log_warnx("cannot stage %s: %s", ino->key, strerror(-rc));
	return rc;
}

/*
 * Write the object in place, where the store allows.  A loaded stage
 * without a file is empty up to its size (a create, a truncation): the
 * object is made so now.  -EOPNOTSUPP or -ENOENT: stage in a spill file.
 */
static int
objfs_stage_direct(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	int rc;

	if (!store_has_direct(fs->store) || ino->unlinked)
		return -EOPNOTSUPP;
	if ((rc = store_file_open(fs->store, ino->key, &s->direct)) != 0)
		return rc;
	if (s->loaded && (rc = objfs_stage_ftruncate(fs, s, s->size)) != 0) {
		store_file_close(fs->store, s->direct);
		s->direct = NULL;
		return rc;
	}
	s->loaded = true;
	return 0;
}

/*
 * Make sure ino has a stage; with load, one that holds the object's
 * bytes in a spill file.  Without, the stage may have no spill file yet
 * (fd -1); it is then empty or not loaded.  meta seeds a new stage's
 * metadata (else the store's is used).
 */
int
objfs_stage_open(struct objfs *fs, struct objfs_inode *ino, bool load,
    const struct store_attr *meta)
{
	struct objfs_stage *s = ino->stage;
	int rc;

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -ENOMEM;
		s->fd = -1;
		/* The upload carries all of it, xattrs too: not the cache's. */
		if (meta != NULL)
			rc = store_attr_copy(&s->meta, meta);
		else
			rc = objfs_head_fresh(fs, ino, &s->meta);
		if (rc != 0) {
			objfs_stage_free(fs, s);
			return rc;
		}
		s->size = s->meta.size;
		s->mtime = (s->meta.has & STORE_ATTR_MTIME) ? s->meta.mtime :
		    fs->start_time;
		s->loaded = s->size == 0;	/* nothing to copy */
		s->fresh = s->size == 0;
		memcpy(s->base, s->meta.etag, sizeof(s->base));
		ino->stage = s;
	}
	/* The spill file comes with the first bytes: a create needs none. */
	if (load && s->fd == -1 && s->direct == NULL) {
		if ((rc = objfs_stage_direct(fs, ino)) == 0)
			return 0;
		if (rc != -EOPNOTSUPP && rc != -ENOENT)
			return rc;
		/* An unlinked file's bytes are nobody's after a crash. */
		rc = fs->journal_fd != -1 && !ino->unlinked ?
		    objfs_journal_spill(fs, s) : objfs_spill_create(fs);
		if (rc < 0)
			return rc;
		s->fd = rc;
	}
	if (load && !s->loaded)
		return objfs_stage_load(fs, ino);
	return 0;
}

/*
 * The store's object was changed by someone else since these bytes were
 * staged from it: refused, the guest told EIO, the bytes kept when the
 * file closes (objfs_stage_release).
 */
int
objfs_stage_conflict(struct objfs *fs, struct objfs_inode *ino)
{
	if (!ino->stage->conflicted)
		log_warnx("%s: changed in the store by another writer since "
		    "it was opened here: not replaced (--s3-conflicts="
		    "detect); this version is kept in %s/%s when it is "
		    "closed", ino->key, fs->cache_dir, OBJFS_LOST_DIR);
	ino->stage->conflicted = true;
	return -EIO;
}

/* The stage in place: the bytes are there, the time the one the guest saw. */
static void
objfs_stage_direct_done(struct objfs *fs, struct objfs_stage *s)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, s->mtime };
	int fd;

	if (objfs_stage_fd(fs, s, &fd) == 0) {
		(void)futimens(fd, ts);
		objfs_stage_fd_done(fs, s);
	}
	s->dirty = false;
}

/* The metadata an upload of the stage carries. */
int
objfs_stage_meta(struct objfs *fs, const struct objfs_stage *s,
    struct store_attr *meta)
{
	int rc;

	if ((rc = store_attr_copy(meta, &s->meta)) != 0)
		return rc;
	meta->has |= STORE_ATTR_MTIME | STORE_ATTR_MODE;
	meta->mtime = s->mtime;
	meta->mode = S_IFREG | ((s->meta.has & STORE_ATTR_MODE) ?
	    (s->meta.mode & 07777) : fs->opts.file_mode);
	meta->size = s->size;
	return 0;
}

int
objfs_stage_upload(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	struct store_cond cond = { 0 };
	struct store_attr meta;
	int rc;

	if (s == NULL || !s->dirty || ino->unlinked)
		return 0;
	if (s->direct != NULL) {
		objfs_stage_direct_done(fs, s);
		return 0;
	}
	if (s->conflicted)
		return -EIO;
	if (!fs->opts.conflicts_overwrite && s->base[0] != '\0')
		cond.if_match = s->base;
	if (s->up != NULL)
		rc = objfs_stream_finish(fs, ino, &cond);
	else if ((rc = objfs_stage_meta(fs, s, &meta)) == 0) {
		rc = store_put_if(fs->store, ino->key, s->fd, s->size, &meta,
		    &cond);
		store_attr_clear(&meta);
	}
	if (rc == -ECANCELED)
		return objfs_stage_conflict(fs, ino);
	if (rc != 0) {
		log_warnx("upload of %s (%llu bytes) failed: %s; the data "
		    "stays staged", ino->key, (unsigned long long)s->size,
		    strerror(-rc));
		/* Refused credentials are the guest's to know; else EIO. */
		return rc == -EACCES ? -EACCES : -EIO;
	}
	/* The next upload of this stage replaces what this one made. */
	memcpy(s->base, cond.etag, sizeof(s->base));
	s->dirty = false;
	objfs_journal_clean(fs, s);
	return 0;
}

/*
 * Renamed: the object under the new key is the copy the rename made, and
 * its version what the stage's next upload must find there.  Another
 * writer between the copy and this HEAD is not seen.  ino's lock held.
 */
void
objfs_stage_rebase_locked(struct objfs *fs, struct objfs_inode *ino)
{
	struct store_attr a = { 0 };

	if (ino->stage != NULL && ino->stage->direct == NULL &&
	    store_head(fs->store, ino->key, &a) == 0) {
		memcpy(ino->stage->base, a.etag, sizeof(a.etag));
		(void)objfs_journal_note(fs, ino->stage, ino->key);
	}
	store_attr_clear(&a);
}

void
objfs_stage_rebase(struct objfs *fs, struct objfs_inode *ino)
{
	pthread_mutex_lock(&ino->lock);
	objfs_stage_rebase_locked(fs, ino);
	pthread_mutex_unlock(&ino->lock);
}

/* The name went: a crash must not bring the bytes back under it. */
void
objfs_stage_unlinked(struct objfs *fs, struct objfs_inode *ino)
{
	pthread_mutex_lock(&ino->lock);
	if (ino->stage != NULL)
		objfs_journal_clean(fs, ino->stage);
	pthread_mutex_unlock(&ino->lock);
}

/* The last handle is closing: the stage goes, its data safe somewhere. */
void
objfs_stage_release(struct objfs *fs, struct objfs_inode *ino)
{
	if (ino->stage == NULL || ino->opens > 0)
		return;
	/* The last upload failed, or was refused: keep the bytes. */
	if (ino->stage->dirty && !ino->unlinked && ino->stage->direct == NULL &&
	    !objfs_stream_keep(fs, ino))
		(void)objfs_journal_lost(fs, ino->stage, ino->key,
		    ino->stage->conflicted ? "changed in the store by another "
		    "writer: not replaced" : "closed, but its upload failed");
	objfs_stage_free(fs, ino->stage);
	ino->stage = NULL;
	objfs_attr_forget(ino);	/* the object is what the stage made it */
}
