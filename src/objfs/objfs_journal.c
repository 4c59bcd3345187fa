/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The staging journal: a stage's bytes in a named file, and beside it a
 * small record saying which object they are for and what that object was
 * when they were staged, so that what a guest wrote survives objfsd being
 * killed or the host going down before the upload.
 *
 * Each run of objfsd has a directory of its own under
 * CACHE/objfsd-journal, locked (flock) for as long as the run lives: a
 * run that finds a sibling it can lock knows its owner is gone
 * (objfs_recover.c).  In it, for each stage, ID.dat holds the bytes and
 * ID.rec the record, replaced whole by a rename:
 *
 *	objfsd-journal 1
 *	store HEX	the store it belongs to, hex-encoded
 *	key HEX		the object's key, hex-encoded
 *	base ETAG	the object's ETag the bytes started from; - unknown
 *	boot ID		the host's boot id when it was written
 *	state dirty|synced
 *	size N		synced: the size and XXH3 sum of the bytes, made
 *	sum HEX		durable with them at the guest's fsync
 *	upload HEX	uploading while written: the unfinished upload's
 *	dropped N	id, and how many bytes from 0 are only in its parts
 *			(holes in ID.dat); the id is durable once known
 *	end
 *
 * A record is written before the WRITE that makes a stage dirty is
 * answered, not made durable (the guest asks for durability with fsync,
 * and then gets it); it goes once the bytes are in the store.
 *
 * Bytes kept for the user (an upload refused, a record that cannot be
 * trusted) go to CACHE/lost+found with one log line each.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "dbuf.h"
#include "log.h"
#include "objfs_internal.h"

#define JOURNAL_SUM_CHUNK	(1u << 20)

static int
journal_dir_open(int at, const char *name, int *fdp)
{
	if (mkdirat(at, name, 0700) == -1 && errno != EEXIST)
		return -errno;
	*fdp = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	return *fdp == -1 ? -errno : 0;
}

/* This run's directory, created and locked. */
int
objfs_journal_open(struct objfs *fs)
{
	int top, rc;

	fs->journal_fd = fs->journal_lock = -1;
	if ((rc = journal_dir_open(fs->cache_fd, OBJFS_JOURNAL_DIR, &top)) != 0)
		goto fail;
	snprintf(fs->journal_run, sizeof(fs->journal_run), "run-%ld-%08x",
	    (long)getpid(), arc4random());
	rc = journal_dir_open(top, fs->journal_run, &fs->journal_fd);
	close(top);
	if (rc != 0)
		goto fail;
	fs->journal_lock = openat(fs->journal_fd, OBJFS_JOURNAL_LOCK,
	    O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fs->journal_lock == -1 || flock(fs->journal_lock, LOCK_EX) == -1) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	log_warnx("cannot keep a staging journal in %s/%s: %s", fs->cache_dir,
	    OBJFS_JOURNAL_DIR, strerror(-rc));
	objfs_journal_close(fs);
	return rc;
}

/* The run's directory goes with it when nothing is left in it. */
void
objfs_journal_close(struct objfs *fs)
{
	int top;

	if (fs->journal_fd != -1) {
		(void)unlinkat(fs->journal_fd, OBJFS_JOURNAL_LOCK, 0);
		top = openat(fs->cache_fd, OBJFS_JOURNAL_DIR, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC);
		if (top != -1) {
			(void)unlinkat(top, fs->journal_run, AT_REMOVEDIR);
			close(top);
		}
		close(fs->journal_fd);
	}
	if (fs->journal_lock != -1)
		close(fs->journal_lock);
	fs->journal_fd = fs->journal_lock = -1;
}

static void
journal_file(char *buf, size_t len, const char *id, const char *ext)
{
	snprintf(buf, len, "%s.%s", id, ext);
}

/* A stage's named file: its bytes, kept across a crash. */
int
objfs_journal_spill(struct objfs *fs, struct objfs_stage *s)
{
	char name[OBJFS_JOURNAL_ID + 8];
	int fd;

	do {
		snprintf(s->jname, sizeof(s->jname), "%08x%08x", arc4random(),
		    arc4random());
		journal_file(name, sizeof(name), s->jname, "dat");
		fd = openat(fs->journal_fd, name, O_CREAT | O_EXCL | O_RDWR |
		    O_CLOEXEC, 0600);
	} while (fd == -1 && errno == EEXIST);
	if (fd == -1) {
		s->jname[0] = '\0';
		return -errno;
	}
	return fd;
}

static void
journal_hex(struct dbuf *b, const char *s)
{
	for (; *s != '\0'; s++)
		dbuf_addf(b, "%02x", (unsigned char)*s);
}

int
objfs_journal_format(const struct objfs_jrec *r, struct dbuf *b)
{
	dbuf_adds(b, "objfsd-journal 1\nstore ");
	journal_hex(b, r->store);
	dbuf_adds(b, "\nkey ");
	journal_hex(b, r->key);
	dbuf_addf(b, "\nbase %s\nboot %s\nstate %s\nsize %llu\nsum %016llx\n",
	    r->base[0] != '\0' ? r->base : "-",
	    r->boot[0] != '\0' ? r->boot : "-", r->synced ? "synced" : "dirty",
	    (unsigned long long)r->size, (unsigned long long)r->sum);
	if (r->upload != NULL) {
		dbuf_adds(b, "upload ");
		journal_hex(b, r->upload);
		dbuf_addf(b, "\ndropped %llu\n",
		    (unsigned long long)r->dropped);
	}
	dbuf_adds(b, "end\n");
	return b->error;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The record replaced whole; durable: on disk before this returns. */
static int
journal_put_rec(struct objfs *fs, const char *id, const struct objfs_jrec *r,
    bool durable)
{
	char tmp[OBJFS_JOURNAL_ID + 8], rec[OBJFS_JOURNAL_ID + 8];
	struct dbuf b;
	int fd, rc;

	dbuf_init(&b, OBJFS_JOURNAL_REC_MAX);
	if ((rc = objfs_journal_format(r, &b)) != 0) {
		dbuf_free(&b);
		return rc;
	}
	journal_file(tmp, sizeof(tmp), id, "tmp");
	journal_file(rec, sizeof(rec), id, "rec");
	fd = openat(fs->journal_fd, tmp, O_CREAT | O_TRUNC | O_WRONLY |
	    O_CLOEXEC, 0600);
	rc = fd == -1 ? -errno : write_all(fd, b.data, b.len);
	if (rc == 0 && durable && fdatasync(fd) == -1)
		rc = -errno;
	if (fd != -1)
		close(fd);
	if (rc == 0 && renameat(fs->journal_fd, tmp, fs->journal_fd, rec) == -1)
		rc = -errno;
	if (rc == 0 && durable && fsync(fs->journal_fd) == -1)
		rc = -errno;
	if (rc != 0)
		(void)unlinkat(fs->journal_fd, tmp, 0);
	dbuf_free(&b);
	return rc;
}

static void
journal_rec_of(struct objfs *fs, const struct objfs_stage *s, const char *key,
    struct objfs_jrec *r)
{
	memset(r, 0, sizeof(*r));
	r->store = fs->opts.journal_id;
	r->key = key;
	memcpy(r->base, s->base, sizeof(r->base));
	if (fs->opts.boot_id != NULL)
		strlcpy(r->boot, fs->opts.boot_id, sizeof(r->boot));
	if (s->up != NULL) {
		r->upload = (char *)store_upload_id(fs->store, s->up);
		r->dropped = s->dropped;
	}
}

/*
 * The stage is dirty, or its key or base changed: its record says so
 * before the change is answered.  A stage without a named file (none
 * yet, or no journal) has nothing to note.
 */
static int
journal_note(struct objfs *fs, struct objfs_stage *s, const char *key,
    bool durable)
{
	struct objfs_jrec r;
	int rc;

	if (s->jname[0] == '\0' || !s->dirty)
		return 0;
	journal_rec_of(fs, s, key, &r);
	if ((rc = journal_put_rec(fs, s->jname, &r, durable)) != 0) {
		log_warnx("%s: cannot write its staging record: %s", key,
		    strerror(-rc));
		return rc;
	}
	s->jstate = OBJFS_JOURNAL_DIRTY;
	return 0;
}

int
objfs_journal_note(struct objfs *fs, struct objfs_stage *s, const char *key)
{
	return journal_note(fs, s, key, false);
}

/*
 * A new unfinished upload: its id durable at once, so that even after
 * the host went down objfsd can abort it, and only it, in a shared
 * bucket.
 */
int
objfs_journal_upload(struct objfs *fs, struct objfs_stage *s, const char *key)
{
	return journal_note(fs, s, key, true);
}

/* The XXH3 sum of the first size bytes of fd. */
int
objfs_journal_sum(int fd, uint64_t size, uint64_t *sum)
{
	XXH3_state_t *st = XXH3_createState();
	char *buf = malloc(JOURNAL_SUM_CHUNK);
	uint64_t off = 0;
	int rc = 0;

	if (st == NULL || buf == NULL)
		rc = -ENOMEM;
	else
		XXH3_64bits_reset(st);
	while (rc == 0 && off < size) {
		size_t want = size - off < JOURNAL_SUM_CHUNK ?
		    (size_t)(size - off) : JOURNAL_SUM_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;	/* shorter than said */
		else {
			XXH3_64bits_update(st, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	if (rc == 0)
		*sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	free(buf);
	return rc;
}

/*
 * FSYNC: the bytes and a record with their sum, durable, before the
 * upload, so that a host that goes down during it can still tell intact
 * bytes from blocks that never reached the disk.
 */
int
objfs_journal_sync(struct objfs *fs, struct objfs_stage *s, const char *key)
{
	struct objfs_jrec r;
	int rc;

	if (s->jname[0] == '\0' || !s->dirty ||
	    s->jstate == OBJFS_JOURNAL_SYNCED)
		return 0;
	journal_rec_of(fs, s, key, &r);
	r.synced = true;
	r.size = s->size;
	if (fdatasync(s->fd) == -1)
		rc = -errno;
	else
		rc = objfs_journal_sum(s->fd, s->size, &r.sum);
	if (rc == 0)
		rc = journal_put_rec(fs, s->jname, &r, true);
	if (rc != 0) {
		log_warnx("%s: cannot make its staged bytes durable: %s", key,
		    strerror(-rc));
		return rc;
	}
	s->jstate = OBJFS_JOURNAL_SYNCED;
	return 0;
}

/* The bytes are in the store: nothing to recover any more. */
void
objfs_journal_clean(struct objfs *fs, struct objfs_stage *s)
{
	char rec[OBJFS_JOURNAL_ID + 8];

	if (s->jname[0] == '\0' || s->jstate == OBJFS_JOURNAL_NONE)
		return;
	journal_file(rec, sizeof(rec), s->jname, "rec");
	(void)unlinkat(fs->journal_fd, rec, 0);
	s->jstate = OBJFS_JOURNAL_NONE;
}

/* The stage goes: its files too (the fd it holds keeps the bytes). */
void
objfs_journal_drop(struct objfs *fs, struct objfs_stage *s)
{
	char dat[OBJFS_JOURNAL_ID + 8];

	if (s->jname[0] == '\0')
		return;
	objfs_journal_clean(fs, s);
	journal_file(dat, sizeof(dat), s->jname, "dat");
	(void)unlinkat(fs->journal_fd, dat, 0);
	s->jname[0] = '\0';
}

/* A name in lost+found that says whose bytes these are, and when. */
static void
lost_name(char *buf, size_t len, const char *key)
{
	const char *leaf = strrchr(key, '/') != NULL ? strrchr(key, '/') + 1 :
	    key;
	char safe[OBJFS_LOST_LEAF + 1], when[32];
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;

	for (; leaf[n] != '\0' && n < OBJFS_LOST_LEAF; n++) {
		unsigned char c = (unsigned char)leaf[n];

		safe[n] = (c > ' ' && c < 0x7f && c != '/') ? (char)c : '_';
	}
	safe[n] = '\0';
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", gmtime_r(&now, &tm));
	snprintf(buf, len, "%s.%s.%08x", n > 0 ? safe : "unnamed", when,
	    arc4random());
}

static int
lost_copy(int from, uint64_t size, int lf, const char *name)
{
	loff_t in = 0;
	int fd = openat(lf, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
	    0600);
	int rc = fd == -1 ? -errno : 0;

	while (rc == 0 && (uint64_t)in < size) {
		ssize_t n = copy_file_range(from, &in, fd, NULL,
		    size - (uint64_t)in, 0);

		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
	}
	if (fd != -1)
		close(fd);
	if (rc != 0)
		(void)unlinkat(lf, name, 0);
	return rc;
}

/*
 * Keep bytes the store did not take in CACHE/lost+found: the file
 * `name` of directory dirfd moved there, or else size bytes of fd
 * copied.  One log line says which object they were for, and why.
 */
int
objfs_lost_found(struct objfs *fs, int dirfd, const char *name, int fd,
    uint64_t size, const char *key, const char *why)
{
	char dest[OBJFS_LOST_LEAF + 64];
	int lf, rc;

	lost_name(dest, sizeof(dest), key);
	if ((rc = journal_dir_open(fs->cache_fd, OBJFS_LOST_DIR, &lf)) == 0) {
		if (name != NULL && renameat(dirfd, name, lf, dest) == 0)
			rc = 0;
		else
			rc = fd != -1 ? lost_copy(fd, size, lf, dest) : -errno;
		close(lf);
	}
	if (rc != 0) {
		log_warnx("%s: %s, and its bytes could not be kept in %s/%s: "
		    "%s; they are lost", key, why, fs->cache_dir,
		    OBJFS_LOST_DIR, strerror(-rc));
		return rc;
	}
	log_warnx("%s: %s; its bytes are kept in %s/%s/%s", key, why,
	    fs->cache_dir, OBJFS_LOST_DIR, dest);
	return 0;
}

/* A stage's bytes to lost+found, its record gone: nothing to recover. */
int
objfs_journal_lost(struct objfs *fs, struct objfs_stage *s, const char *key,
    const char *why)
{
	char dat[OBJFS_JOURNAL_ID + 8];
	int rc;

	if (s->jname[0] == '\0')
		return objfs_lost_found(fs, -1, NULL, s->fd, s->size, key, why);
	journal_file(dat, sizeof(dat), s->jname, "dat");
	rc = objfs_lost_found(fs, fs->journal_fd, dat, s->fd, s->size, key,
	    why);
	objfs_journal_drop(fs, s);
	return rc;
}
