/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uploading while the file is written.  A stage that grows forwards from
 * empty past the store's threshold starts an upload (store_upload_open)
 * and hands over its bytes as they come; the store sends them in parts
 * in the background.  Bytes the store acknowledged go from the staging
 * file (a hole punched), after the journal record says so, so a large
 * file's staging stays about the store's window, and close() waits only
 * for the tail.  A WRITE that finds the store more than a window behind
 * waits for it a few seconds at most, then stages on.
 *
 * What was handed over cannot change and what was dropped cannot be
 * read back from an unfinished upload: a write or truncation before the
 * handed-over end, a read of dropped bytes, a rename or an unlink
 * settle the stage first.  Settling finishes the upload (the object
 * holds what was written so far), and the stage then holds no bytes: a
 * write loads them again from the store.
 *
 * Only a journaled stage streams: its record names the upload, so that
 * after a crash the next run finishes it, or aborts it (and no other).
 *
 * Called with ino->lock held and the namespace lock for reading or
 * writing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

#define STREAM_WAIT_MS	3000	/* for a store behind by more than a window */
#define STREAM_WAIT_SLICE_MS	100	/* between looks at objfs_wake_writers */

static bool
stream_eligible(struct objfs *fs, struct objfs_inode *ino, uint64_t threshold)
{
	struct objfs_stage *s = ino->stage;

	return threshold != 0 && s->contig >= threshold && s->fresh &&
	    !s->no_stream && s->loaded && s->fd != -1 && s->direct == NULL &&
	    s->jname[0] != '\0' && !ino->unlinked && !s->conflicted &&
	    !fs->opts.readonly;
}

/* A failure here only means the stage is uploaded whole, at close. */
static int
stream_start(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	struct store_attr meta;
	int rc;

	s->no_stream = true;	/* once: a failed start is not retried */
	if ((rc = objfs_stage_meta(fs, s, &meta)) != 0)
		return rc;
	rc = store_upload_open(fs->store, ino->key, &meta, &s->up);
	store_attr_clear(&meta);
	if (rc != 0) {
		log_warnx("%s: cannot upload it while it is written (%s): "
		    "staged whole instead", ino->key, strerror(-rc));
		return 0;
	}
	s->sent = s->dropped = 0;
	if ((rc = objfs_journal_upload(fs, s, ino->key)) != 0) {
		store_upload_abort(fs->store, s->up);
		s->up = NULL;
	}
	return rc;
}

/* What the store holds goes from the file: the record says so first. */
static int
stream_drop(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;
	uint64_t acked = store_upload_acked(fs->store, s->up), was = s->dropped;
	int rc;

	if (acked <= was)
		return 0;
	s->dropped = acked;
	if ((rc = objfs_journal_note(fs, s, ino->key)) != 0) {
		s->dropped = was;
		return rc;
	}
	if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)was, (off_t)(acked - was)) == -1 && !fs->punch_warned) {
		fs->punch_warned = true;
		log_warnx("cache directory %s cannot drop uploaded bytes from "
		    "staging files (%s): large files are staged whole",
		    fs->cache_dir, strerror(errno));
	}
	return 0;
}

int
objfs_stream_before_write(struct objfs *fs, struct objfs_inode *ino,
    uint64_t off)
{
	struct objfs_stage *s = ino->stage;
	int rc;

	if (s->up == NULL || off >= s->sent)
		return 0;
	if ((rc = objfs_stream_settle(fs, ino)) != 0)
		return rc;
	return objfs_stage_open(fs, ino, true, NULL);
}

/*
 * [off, end) was written: the gapless prefix grows, taking the early
 * WRITEs it reaches.  Too many early ones: not a stream after all
 * (before one started), or the prefix stops here (the finish sends the
 * rest).
 */
static void
stream_note(struct objfs_stage *s, uint64_t off, uint64_t end)
{
	bool moved = true;

	if (off > s->contig) {
		if (s->nahead < OBJFS_STREAM_AHEAD)
			s->ahead[s->nahead++] = (struct objfs_extent){ off, end };
		else if (s->up == NULL)
			s->fresh = false;
		return;
	}
	if (end > s->contig)
		s->contig = end;
	while (moved) {
		moved = false;
		for (unsigned i = 0; i < s->nahead; i++) {
			if (s->ahead[i].off > s->contig)
				continue;
			if (s->ahead[i].end > s->contig)
				s->contig = s->ahead[i].end;
			s->ahead[i] = s->ahead[--s->nahead];
			moved = true;
		}
	}
}

/* The size changed by a truncation or an extension, not a write. */
void
objfs_stream_resized(struct objfs_stage *s, uint64_t size)
{
	unsigned i = 0;

	if (s->up == NULL && size > 0) {
		s->fresh = false;	/* zeros nobody wrote: not a stream */
		return;
	}
	if (s->contig > size)
		s->contig = size;
	while (i < s->nahead) {
		if (s->ahead[i].off >= size)
			s->ahead[i] = s->ahead[--s->nahead];
		else if (s->ahead[i++].end > size)
			s->ahead[i - 1].end = size;
	}
}

/*
 * Up to STREAM_WAIT_MS for the store to acknowledge want bytes, in
 * slices, so that objfs_wake_writers cuts it short.  Once a wait ran
 * out, none again until the store moves: a store that is down costs
 * one wait, not one per WRITE.  A part that failed is the close's to
 * report: it is sent again then.
 */
static void
stream_wait(struct objfs *fs, struct objfs_stage *s, uint64_t want)
{
	unsigned gen = __atomic_load_n(&fs->wake_gen, __ATOMIC_ACQUIRE);
	uint64_t acked = store_upload_acked(fs->store, s->up);

	if (s->stalled && acked == s->stalled_at)
		return;
	s->stalled = false;
	for (int ms = 0; ms < STREAM_WAIT_MS; ms += STREAM_WAIT_SLICE_MS) {
		if (store_upload_wait(fs->store, s->up, want,
		    STREAM_WAIT_SLICE_MS) != -ETIMEDOUT ||
		    __atomic_load_n(&fs->wake_gen, __ATOMIC_ACQUIRE) != gen)
			return;
	}
	s->stalled = true;
	s->stalled_at = store_upload_acked(fs->store, s->up);
}

void
objfs_wake_writers(struct objfs *fs)
{
	__atomic_add_fetch(&fs->wake_gen, 1, __ATOMIC_RELEASE);
}

int
objfs_stream_after_write(struct objfs *fs, struct objfs_inode *ino,
    uint64_t off, uint64_t end)
{
	struct objfs_stage *s = ino->stage;
	uint64_t window, threshold;
	int rc;

	if (!s->fresh)
		return 0;
	stream_note(s, off, end);
	threshold = store_upload_limits(fs->store, &window);
	if (s->up == NULL) {
		if (!stream_eligible(fs, ino, threshold))
			return 0;
		if ((rc = stream_start(fs, ino)) != 0 || s->up == NULL)
			return rc;
	}
	s->sent = store_upload_offer(fs->store, s->up, s->fd, s->contig);
	if (s->size - store_upload_acked(fs->store, s->up) > window)
		stream_wait(fs, s, s->size - window);
	return stream_drop(fs, ino);
}

/* The other writer's version, downloaded: fd and its metadata. */
static int
stream_set_aside(struct objfs *fs, const char *key, int *fdp,
    struct store_attr *theirs)
{
	uint64_t end;
	int fd, rc;

	if ((rc = store_head(fs->store, key, theirs)) != 0)
		return rc;
	if ((fd = objfs_spill_create(fs)) < 0)
		return fd;
	rc = objfs_copy_in(fs, key, fd, 0, theirs->size, &end);
	if (rc == 0 && end != theirs->size)
		rc = -EAGAIN;	/* changed again meanwhile */
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/*
 * Another writer replaced the object while this version went up in
 * parts, bytes of which the stage no longer has and an unfinished upload
 * cannot give back.  So theirs is set aside (downloaded into the cache),
 * this version completed and its dropped bytes read back into the stage,
 * and theirs put back: the store ends with the other writer's bytes and
 * the stage is whole again, for lost+found.  Between the completion and
 * the put the object is this version (the man page says so).  Still
 * -ECANCELED when done: the caller reports the conflict.
 */
static int
stream_rescue(struct objfs *fs, struct objfs_inode *ino,
    const struct store_attr *meta)
{
	struct objfs_stage *s = ino->stage;
	struct store_cond mine = { 0 }, back = { 0 };
	struct store_attr theirs = { 0 };
	uint64_t end;
	int fd = -1, rc;

	/* Theirs may be no object at all: removed meanwhile. */
	if ((rc = stream_set_aside(fs, ino->key, &fd, &theirs)) == -ENOENT)
		rc = 0;
	if (rc == 0 && (rc = store_upload_finish(fs->store, s->up, s->fd,
	    s->size, meta, &mine)) == 0) {
		s->up = NULL;
		rc = objfs_copy_in(fs, ino->key, s->fd, 0, s->dropped, &end);
		if (rc == 0 && end != s->dropped)
			rc = -EIO;
		back.if_match = mine.etag[0] != '\0' ? mine.etag : NULL;
		if ((fd != -1 ? store_put_if(fs->store, ino->key, fd,
		    theirs.size, &theirs, &back) :
		    store_remove(fs->store, ino->key)) != 0)
			log_warnx("%s: the other writer's version could not be "
			    "put back after this one's parts were read back; "
			    "the store holds this version", ino->key);
	}
	if (fd != -1)
		close(fd);
	store_attr_clear(&theirs);
	if (rc != 0) {
		log_warnx("%s: changed by another writer while uploading, and "
		    "the bytes already sent could not be read back: %s",
		    ino->key, strerror(-rc));
		return rc;
	}
	s->sent = s->dropped = 0;
	return -ECANCELED;
}

/*
 * The upload finished with the stage's bytes and metadata, as put()
 * would; cond as objfs_stage_upload made it.  What was dropped is only
 * in the store now: the stage holds no bytes any more.
 */
int
objfs_stream_finish(struct objfs *fs, struct objfs_inode *ino,
    struct store_cond *cond)
{
	struct objfs_stage *s = ino->stage;
	struct store_attr meta;
	int rc;

	if ((rc = objfs_stage_meta(fs, s, &meta)) != 0)
		return rc;
	rc = store_upload_finish(fs->store, s->up, s->fd, s->size, &meta, cond);
	if (rc == -ECANCELED && s->dropped > 0)
		rc = stream_rescue(fs, ino, &meta);
	store_attr_clear(&meta);
	if (rc != 0) {
		/* Its last part may have gone up: those bytes are fixed now. */
		if (s->up != NULL)
			s->sent = s->size;
		return rc;
	}
	s->up = NULL;
	if (s->dropped > 0) {
		(void)ftruncate(s->fd, 0);
		s->loaded = false;
	}
	s->sent = s->dropped = 0;
	return 0;
}

/* Truncated to nothing: the upload's bytes are nobody's; a new start. */
void
objfs_stream_discard(struct objfs *fs, struct objfs_stage *s)
{
	store_upload_abort(fs->store, s->up);
	s->up = NULL;
	s->sent = s->dropped = s->contig = 0;
	s->nahead = 0;
	s->fresh = true;
	s->no_stream = false;
}

int
objfs_stream_settle(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;

	if (s == NULL || s->up == NULL)
		return 0;
	return objfs_stage_upload(fs, ino);
}

/* A rename moves key (and all below it, tree): its streams settle first. */
int
objfs_stream_settle_under(struct objfs *fs, const char *key, bool tree)
{
	struct objfs_inode **list;
	size_t n, len = strlen(key);
	int rc = 0;

	if (objfs_inode_collect_staged(fs, &list, &n) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct objfs_inode *ino = list[i];

		pthread_mutex_lock(&ino->lock);
		if (rc == 0 && strncmp(ino->key, key, len) == 0 &&
		    (ino->key[len] == '\0' || (tree && ino->key[len] == '/')))
			rc = objfs_stream_settle(fs, ino);
		pthread_mutex_unlock(&ino->lock);
		objfs_inode_put(fs, ino);
	}
	free(list);
	return rc;
}

/*
 * The last close of a stage whose upload failed: the parts already sent
 * hold bytes the stage no longer has, so the upload is left on the
 * server and the record and the rest of the bytes in the journal, for
 * the next run to finish.  False: nothing was kept here.
 */
bool
objfs_stream_keep(struct objfs *fs, struct objfs_inode *ino)
{
	struct objfs_stage *s = ino->stage;

	if (s->up == NULL)
		return false;
	if (s->dropped == 0 || s->conflicted) {
		/* all of it is still here (or refused): lost+found */
		store_upload_abort(fs->store, s->up);
		s->up = NULL;
		return false;
	}
	store_upload_drop(fs->store, s->up);
	s->up = NULL;
	log_warnx("%s: closed, but its upload failed: the unfinished upload "
	    "and the rest of its bytes stay in the staging journal in %s/%s; "
	    "objfsd finishes it when it next starts on this cache directory",
	    ino->key, fs->cache_dir, OBJFS_JOURNAL_DIR);
	s->jname[0] = '\0';	/* the files stay */
	return true;
}
