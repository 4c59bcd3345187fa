/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recovery at start: the staging journals of runs that are gone
 * (objfs_journal.c), for this store.  Each staged file is uploaded when
 * its bytes can be trusted and the object is still the version they
 * started from; otherwise the bytes go to lost+found with a log line.
 *
 * Trusted: written in this boot of the host (a killed objfsd leaves its
 * written bytes in the page cache, so the file holds exactly what the
 * guest wrote), or synced at an fsync with a sum that the file still
 * matches.  After the host went down, a file not synced may hold blocks
 * that never reached the disk, read back as zeros: never uploaded.
 *
 * A file that was being uploaded while written has some of its bytes
 * only in the parts of an unfinished upload, its id in the record: a
 * trusted one is finished (the rest of the parts sent from the file);
 * otherwise that upload, and only it, is aborted and what the file
 * still holds goes to lost+found, the log line saying which bytes are
 * not there.
 *
 * Runs before objfs serves anything, in one thread.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "objfs_internal.h"

static int
unhex(const char *hex, char **out)
{
	size_t len = strlen(hex);
	char *s;

	if (len % 2 != 0 || (s = malloc(len / 2 + 1)) == NULL)
		return len % 2 != 0 ? -EINVAL : -ENOMEM;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(s);
			return -EINVAL;
		}
		s[i] = (char)v;
	}
	s[len / 2] = '\0';
	*out = s;
	return 0;
}

void
objfs_jrec_free(struct objfs_jrec *r)
{
	free((char *)r->store);
	free((char *)r->key);
	free(r->upload);
	memset(r, 0, sizeof(*r));
}

/* One "name value" line of a record into r; -EINVAL if unknown. */
static int
jrec_field(struct objfs_jrec *r, const char *name, const char *v)
{
	char *end;

	if (strcmp(name, "store") == 0 && r->store == NULL)
		return unhex(v, (char **)&r->store);
	if (strcmp(name, "key") == 0 && r->key == NULL)
		return unhex(v, (char **)&r->key);
	if (strcmp(name, "base") == 0)
		return strlcpy(r->base, strcmp(v, "-") != 0 ? v : "",
		    sizeof(r->base)) < sizeof(r->base) ? 0 : -EINVAL;
	if (strcmp(name, "boot") == 0)
		return strlcpy(r->boot, strcmp(v, "-") != 0 ? v : "",
		    sizeof(r->boot)) < sizeof(r->boot) ? 0 : -EINVAL;
	if (strcmp(name, "state") == 0) {
		r->synced = strcmp(v, "synced") == 0;
		return r->synced || strcmp(v, "dirty") == 0 ? 0 : -EINVAL;
	}
	if (strcmp(name, "upload") == 0 && r->upload == NULL)
		return unhex(v, &r->upload);
	if (strcmp(name, "size") == 0)
		r->size = strtoull(v, &end, 10);
	else if (strcmp(name, "dropped") == 0)
		r->dropped = strtoull(v, &end, 10);
	else if (strcmp(name, "sum") == 0)
		r->sum = strtoull(v, &end, 16);
	else
		return -EINVAL;
	return *v != '\0' && *end == '\0' ? 0 : -EINVAL;
}

/* A record as objfs_journal_format wrote it, all of it, or -EINVAL. */
int
objfs_jrec_parse(char *text, struct objfs_jrec *r)
{
	char *line, *save = NULL, *sp;
	bool first = true, ended = false;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (line = strtok_r(text, "\n", &save); line != NULL && rc == 0 &&
	    !ended; line = strtok_r(NULL, "\n", &save), first = false) {
		if (first)
			rc = strcmp(line, "objfsd-journal 1") == 0 ? 0 : -EINVAL;
		else if (strcmp(line, "end") == 0)
			ended = true;
		else if ((sp = strchr(line, ' ')) == NULL)
			rc = -EINVAL;
		else {
			*sp = '\0';
			rc = jrec_field(r, line, sp + 1);
		}
	}
	if (rc == 0 && (!ended || r->store == NULL || r->key == NULL))
		rc = -EINVAL;
	if (rc != 0)
		objfs_jrec_free(r);
	return rc;
}

static int
jrec_read(int dirfd, const char *name, struct objfs_jrec *r)
{
	char buf[OBJFS_JOURNAL_REC_MAX + 1];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > OBJFS_JOURNAL_REC_MAX)
		return -EINVAL;
	buf[n] = '\0';
	return objfs_jrec_parse(buf, r);
}

/* Can the data file's bytes be uploaded as they are?  NULL: yes. */
static const char *
recover_distrust(struct objfs *fs, const struct objfs_jrec *r, int fd,
    uint64_t size)
{
	uint64_t sum;

	if (r->boot[0] != '\0' && fs->opts.boot_id != NULL &&
	    strcmp(r->boot, fs->opts.boot_id) == 0)
		return NULL;
	if (!r->synced)
		return "written before the host restarted and never synced, so "
		    "not known to be intact: not uploaded";
	if (size != r->size || objfs_journal_sum(fd, size, &sum) != 0 ||
	    sum != r->sum)
		return "synced before the host restarted, but the bytes on "
		    "disk are not what was synced: not uploaded";
	return NULL;
}

/*
 * The object's metadata now, with the staged file's size and times: the
 * object must still be the version the bytes started from.
 */
static int
recover_upload(struct objfs *fs, const struct objfs_jrec *r, int fd,
    const struct stat *sb, const char **why)
{
	struct store_cond cond = { .if_match = r->base };
	struct store_attr meta;
	int rc;

	*why = "changed in the store since objfsd staged it: not uploaded";
	if (r->base[0] == '\0') {
		*why = "its version in the store when staged is unknown: not "
		    "uploaded";
		return -ECANCELED;
	}
	if ((rc = store_head(fs->store, r->key, &meta)) == -ENOENT)
		rc = -ECANCELED;
	if (rc == 0 && strcmp(meta.etag, r->base) != 0)
		rc = -ECANCELED;
	if (rc == 0) {
		meta.size = (uint64_t)sb->st_size;
		meta.mtime = sb->st_mtim;
		meta.ctime = sb->st_ctim;
		meta.has |= STORE_ATTR_MTIME | STORE_ATTR_CTIME;
		rc = store_put_if(fs->store, r->key, fd, meta.size, &meta,
		    &cond);
	}
	store_attr_clear(&meta);
	return rc;
}

/*
 * The unfinished upload finished: its parts hold the bytes up to
 * r->dropped, the file the rest.  Conditions as recover_upload.
 */
static int
recover_stream(struct objfs *fs, const struct objfs_jrec *r, int fd,
    const struct stat *sb, const char **why)
{
	struct store_cond cond = { .if_match = r->base };
	struct store_upload *up;
	struct store_attr meta;
	uint64_t size = (uint64_t)sb->st_size;
	int rc;

	if ((rc = store_upload_resume(fs->store, r->key, r->upload, &up)) != 0) {
		*why = rc == -EOPNOTSUPP ? "the store cannot list the parts of "
		    "its unfinished upload" : "its unfinished upload is gone "
		    "from the store";
		return rc == -ENOENT || rc == -EOPNOTSUPP ? -ECANCELED : rc;
	}
	*why = "changed in the store since objfsd staged it: not uploaded";
	if (store_upload_acked(fs->store, up) < r->dropped) {
		*why = "parts of its unfinished upload are gone from the store";
		rc = -ECANCELED;
	} else if (r->base[0] == '\0')
		rc = -ECANCELED;
	else if ((rc = store_head(fs->store, r->key, &meta)) == -ENOENT)
		rc = -ECANCELED;
	else if (rc == 0) {
		if (strcmp(meta.etag, r->base) != 0)
			rc = -ECANCELED;
		meta.size = size;
		meta.mtime = sb->st_mtim;
		meta.ctime = sb->st_ctim;
		meta.has |= STORE_ATTR_MTIME | STORE_ATTR_CTIME;
		if (rc == 0)
			rc = store_upload_finish(fs->store, up, fd, size, &meta,
			    &cond);
		store_attr_clear(&meta);
	}
	if (rc == 0)
		return 0;
	if (rc == -ECANCELED)
		store_upload_abort(fs->store, up);
	else
		store_upload_drop(fs->store, up);	/* tried again later */
	return rc;
}

/* Why the bytes are not uploaded, and which of them are not kept. */
static void
recover_lost_why(char *buf, size_t len, const struct objfs_jrec *r,
    const char *why)
{
	if (r->upload == NULL || r->dropped == 0)
		snprintf(buf, len, "%s", why);
	else
		snprintf(buf, len, "%s; its first %llu bytes were only in "
		    "the parts of that upload, which is aborted: they read as "
		    "zeros in the kept file", why,
		    (unsigned long long)r->dropped);
}

/* Neither uploaded nor trusted: an unfinished upload of it goes. */
static void
recover_abort(struct objfs *fs, const struct objfs_jrec *r)
{
	struct store_upload *up;

	if (r->upload != NULL &&
	    store_upload_resume(fs->store, r->key, r->upload, &up) == 0)
		store_upload_abort(fs->store, up);
}

static void
recover_unlink(int dirfd, const char *id)
{
	char name[OBJFS_JOURNAL_ID + 8];

	snprintf(name, sizeof(name), "%s.dat", id);
	(void)unlinkat(dirfd, name, 0);
	snprintf(name, sizeof(name), "%s.rec", id);
	(void)unlinkat(dirfd, name, 0);
}

/* Record id of a dead run's directory: recovered, kept, or left. */
static void
recover_one(struct objfs *fs, int dirfd, const char *id,
    const struct objfs_jrec *r, struct objfs_recovery *out)
{
	char dat[OBJFS_JOURNAL_ID + 8], lost[512];
	const char *why;
	struct stat sb;
	int fd, rc;

	snprintf(dat, sizeof(dat), "%s.dat", id);
	fd = openat(dirfd, dat, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		log_warnx("%s: staged by an earlier run, but its bytes are "
		    "gone from the journal", r->key);
		if (fd != -1)
			close(fd);
		recover_unlink(dirfd, id);
		return;
	}
	if (!store_key_valid(fs->store, r->key)) {
		why = "not a key of this store";
		rc = -ECANCELED;
	} else if ((why = recover_distrust(fs, r, fd, (uint64_t)sb.st_size)) !=
	    NULL) {
		recover_abort(fs, r);
		rc = -ECANCELED;
	} else if (r->upload != NULL)
		rc = recover_stream(fs, r, fd, &sb, &why);
	else
		rc = recover_upload(fs, r, fd, &sb, &why);
	if (rc == 0) {
		log_info("%s: %llu bytes staged by an earlier run that stopped "
		    "before uploading them: uploaded now", r->key,
		    (unsigned long long)sb.st_size);
		out->uploaded++;
		recover_unlink(dirfd, id);
	} else if (rc == -ECANCELED) {
		recover_lost_why(lost, sizeof(lost), r, why);
		if (objfs_lost_found(fs, dirfd, dat, fd, (uint64_t)sb.st_size,
		    r->key, lost) == 0)
			recover_unlink(dirfd, id);
		out->kept++;
	} else {
		log_warnx("%s: staged by an earlier run; the upload failed "
		    "(%s), it is tried again at the next start", r->key,
		    strerror(-rc));
		out->left++;
	}
	close(fd);
}

/* The ID of "ID.rec", or false for any other name. */
static bool
rec_id(const char *name, char *id, size_t len)
{
	size_t n = strlen(name);

	if (n < 5 || strcmp(name + n - 4, ".rec") != 0 || n - 4 >= len)
		return false;
	memcpy(id, name, n - 4);
	id[n - 4] = '\0';
	return true;
}

/* A directory stream of its own: a dup would share dirfd's offset. */
static DIR *
dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd != -1 ? fdopendir(fd) : NULL;

	if (d == NULL && fd != -1)
		close(fd);
	return d;
}

/* Files of a dead run with no record are clean stages: not needed. */
static bool
dead_run_sweep(int dirfd, bool *empty)
{
	DIR *d = dir_stream(dirfd);
	struct dirent *de;
	char id[OBJFS_JOURNAL_ID];
	struct stat sb;

	*empty = true;
	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, OBJFS_JOURNAL_LOCK) == 0)
			continue;
		if (n > 4 && (strcmp(de->d_name + n - 4, ".dat") == 0 ||
		    strcmp(de->d_name + n - 4, ".tmp") == 0) &&
		    n - 4 < sizeof(id)) {
			char rec[OBJFS_JOURNAL_ID + 8];

			memcpy(id, de->d_name, n - 4);
			id[n - 4] = '\0';
			snprintf(rec, sizeof(rec), "%s.rec", id);
			if (strcmp(de->d_name + n - 4, ".tmp") == 0 ||
			    fstatat(dirfd, rec, &sb, 0) == -1) {
				(void)unlinkat(dirfd, de->d_name, 0);
				continue;
			}
		}
		*empty = false;
	}
	closedir(d);
	return true;
}

/* Every record of this store in one dead run's directory. */
static void
recover_run(struct objfs *fs, int dirfd, struct objfs_recovery *out)
{
	DIR *d = dir_stream(dirfd);
	struct dirent *de;
	char id[OBJFS_JOURNAL_ID];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct objfs_jrec r;

		if (!rec_id(de->d_name, id, sizeof(id)))
			continue;
		if (jrec_read(dirfd, de->d_name, &r) != 0) {
			char dat[OBJFS_JOURNAL_ID + 8];

			snprintf(dat, sizeof(dat), "%s.dat", id);
			if (objfs_lost_found(fs, dirfd, dat, -1, 0,
			    "(unknown key)", "its staging record cannot be "
			    "read") == 0 || faccessat(dirfd, dat, F_OK, 0) != 0)
				recover_unlink(dirfd, id);
			out->kept++;
			continue;
		}
		if (strcmp(r.store, fs->opts.journal_id) == 0)
			recover_one(fs, dirfd, id, &r, out);
		objfs_jrec_free(&r);
	}
	closedir(d);
}

/* A sibling run: recovered and removed when nobody holds its lock. */
static void
recover_sibling(struct objfs *fs, int top, const char *name,
    struct objfs_recovery *out)
{
	int dirfd, lock;
	bool empty;

	dirfd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dirfd == -1)
		return;
	lock = openat(dirfd, OBJFS_JOURNAL_LOCK, O_RDWR | O_NOFOLLOW |
	    O_CLOEXEC);
	if (lock != -1 && flock(lock, LOCK_EX | LOCK_NB) == -1) {
		close(lock);		/* its objfsd is running */
		close(dirfd);
		return;
	}
	recover_run(fs, dirfd, out);
	if (dead_run_sweep(dirfd, &empty) && empty) {
		(void)unlinkat(dirfd, OBJFS_JOURNAL_LOCK, 0);
		(void)unlinkat(top, name, AT_REMOVEDIR);
	}
	if (lock != -1)
		close(lock);
	close(dirfd);
}

void
objfs_journal_recover(struct objfs *fs, struct objfs_recovery *out)
{
	int top = openat(fs->cache_fd, OBJFS_JOURNAL_DIR, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	memset(out, 0, sizeof(*out));
	if (top == -1 || (d = dir_stream(top)) == NULL) {
		if (top != -1)
			close(top);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "run-", 4) == 0 &&
		    strcmp(de->d_name, fs->journal_run) != 0)
			recover_sibling(fs, top, de->d_name, out);
	closedir(d);
	close(top);
	if (out->uploaded + out->kept + out->left > 0)
		log_info("staging journal of earlier runs: %u file%s uploaded, "
		    "%u kept in %s/%s, %u left for the next start",
		    out->uploaded, out->uploaded == 1 ? "" : "s", out->kept,
		    fs->cache_dir, OBJFS_LOST_DIR, out->left);
}
