/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store: the files of open objects, within a budget of fds.
 *
 * A guest may hold more files open than objfsd may hold fds: 10,000 of
 * them against a limit of 256.  So an open object (a reader, or a file
 * written in place) has an fd only while it needs one.  A file nobody is
 * using waits on an idle list, and when the budget is used up the least
 * recently used idle file gives its fd up.  Its next use opens it again
 * by its name, beneath the root without following links like every other
 * open (fs_open_leaf), and checks that the name still leads to the file
 * first opened: another st_dev or st_ino, or none, is -ESTALE, since the
 * file the handle was for is no longer where objfsd can find it (it was
 * moved or replaced on the host, behind objfsd's back).
 *
 * Names that change through the store are followed: a rename moves the
 * names of the files opened by it, or below it, along (fs_files_moved),
 * and before a name goes away (removed, renamed or put over) every file
 * opened by it is made to hold its fd (fs_files_hold), since nothing
 * will lead to it again.  Such a file is never evicted; it counts against
 * the budget until closed, and when kept and lent fds fill the budget,
 * opening one more file is -EMFILE.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "store_fs.h"

#define FS_FILES_MIN		16
#define FS_NOFILE_UNKNOWN	(1u << 20)

struct store_file {
	struct fs_store		*s;
	RB_ENTRY(store_file)	 by_key;	/* while key is set */
	TAILQ_ENTRY(store_file)	 lru;		/* while idle */
	char			*key;	/* NULL once its name went away */
	int			 fd;	/* -1: closed, to be opened by key */
	int			 flags;	/* of open(2) */
	dev_t			 dev;	/* which file it is */
	ino_t			 ino;
	unsigned		 users;	/* lends, and holds by name changes */
	bool			 idle;
	bool			 closed; /* by its owner: freed unused */
	bool			 probe;	/* a search key, first of equals */
	struct store_file	*held_next;	/* fs_files_hold's list */
	struct store_file	*moved_next;	/* fs_files_moved's */
};

/* By key, then address: many files may be open by one name. */
static int
fs_file_cmp(const struct store_file *a, const struct store_file *b)
{
	int c = strcmp(a->key, b->key);

	if (c != 0)
		return c;
	if (a->probe || b->probe)
		return a->probe ? -1 : 1;
	return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
}

RB_GENERATE_LOCAL(fs_file_tree, store_file, by_key, fs_file_cmp)

/*
 * The budget, from the soft RLIMIT_NOFILE n that objfsd set at start
 * (--rlimit-nofile): the directory cache gets n/256 slots per shard,
 * 1 to FS_DC_WAYS (so about n/16 in all), open objects half of n less
 * that, FS_FILES_MIN at least.  The other half is left to sockets,
 * eventfds, guest memory, spill files and the fds that an operation
 * holds while it runs.
 */
static void
fs_fd_budget(struct fs_store *s)
{
	struct rlimit rl;
	rlim_t n = FS_NOFILE_UNKNOWN;
	unsigned dirs, half;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur < (1u << 30) ? rl.rlim_cur : (1u << 30);
	s->dc_ways = (unsigned)(n / (FS_DC_SHARDS * FS_DC_WAYS));
	if (s->dc_ways < 1)
		s->dc_ways = 1;
	if (s->dc_ways > FS_DC_WAYS)
		s->dc_ways = FS_DC_WAYS;
	dirs = FS_DC_SHARDS * s->dc_ways;
	half = (unsigned)(n / 2);
	s->files.cap = half > dirs + FS_FILES_MIN ? half - dirs : FS_FILES_MIN;
}

void
fs_files_init(struct fs_store *s)
{
	pthread_rwlockattr_t attr;

	/* Name changes must not wait behind a stream of reopens. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->files.names, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&s->files.lock, NULL);
	RB_INIT(&s->files.by_key);
	TAILQ_INIT(&s->files.idle);
	fs_fd_budget(s);
}

/* Every file was closed by its owner (objfs closes its handles first). */
void
fs_files_free(struct fs_store *s)
{
	pthread_mutex_destroy(&s->files.lock);
	pthread_rwlock_destroy(&s->files.names);
}

static void
fs_file_unidle(struct fs_files *t, struct store_file *f)
{
	if (f->idle)
		TAILQ_REMOVE(&t->idle, f, lru);
	f->idle = false;
}

/*
 * Files lock held: room for one more fd.  At the cap the least recently
 * used idle file gives its fd up: *victim is the fd to close once the
 * lock is dropped (-1 when there was room anyway).
 */
static int
fs_files_reserve(struct fs_files *t, int *victim)
{
	struct store_file *v = TAILQ_FIRST(&t->idle);

	*victim = -1;
	if (t->nopen < t->cap) {
		t->nopen++;
		return 0;
	}
	if (v == NULL)
		return -EMFILE;
	fs_file_unidle(t, v);
	*victim = v->fd;
	v->fd = -1;
	return 0;
}

static int
fs_files_reserve_unlocked(struct fs_files *t)
{
	bool warn;
	int victim, rc;

	pthread_mutex_lock(&t->lock);
	rc = fs_files_reserve(t, &victim);
	warn = rc == -EMFILE && !t->warned;
	t->warned |= warn;
	pthread_mutex_unlock(&t->lock);
	if (victim != -1)
		close(victim);
	if (warn)
		log_warnx("fs: all %u file descriptors for open files are in "
		    "use or kept for files removed while open; opening more "
		    "fails with EMFILE until some are closed", t->cap);
	return rc;
}

static void
fs_files_unreserve(struct fs_files *t)
{
	pthread_mutex_lock(&t->lock);
	t->nopen--;
	pthread_mutex_unlock(&t->lock);
}

/*
 * Open f's file by its name; the first open learns which file it is, a
 * later one must find the same.  Names lock held.
 */
static int
fs_file_open_name(struct store_file *f, bool first)
{
	struct stat sb;
	int fd = fs_open_leaf(f->s, f->key, f->flags), rc = 0;

	if (fd < 0 && !first && (fd == -ENOENT || fd == -ENOTDIR ||
	    fd == -ELOOP))
		return -ESTALE;		/* nothing, or something else, there */
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) == -1)
		rc = -errno;
	else if (!first && (sb.st_dev != f->dev || sb.st_ino != f->ino))
		rc = -ESTALE;
	else if (first && (f->flags & O_ACCMODE) != O_RDONLY &&
	    !S_ISREG(sb.st_mode))
		rc = -EINVAL;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	return fd;
}

static void
fs_file_free(struct store_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->key);
	free(f);
}

/* Files lock held: one user less; true when f is to be freed now. */
static bool
fs_file_unuse(struct fs_files *t, struct store_file *f)
{
	if (--f->users > 0)
		return false;
	if (f->closed) {
		fs_file_unidle(t, f);
		if (f->key != NULL)
			RB_REMOVE(fs_file_tree, &t->by_key, f);
		if (f->fd >= 0)
			t->nopen--;
		return true;
	}
	/* Only a file that can be found again by its name may be evicted. */
	if (f->fd >= 0 && f->key != NULL) {
		TAILQ_INSERT_TAIL(&t->idle, f, lru);
		f->idle = true;
	}
	return false;
}

int
fs_file_open(struct fs_store *s, const char *key, int flags,
    struct store_file **fp)
{
	struct fs_files *t = &s->files;
	struct store_file *f = calloc(1, sizeof(*f));
	int fd, rc;

	*fp = NULL;
	if (f == NULL || (f->key = strdup(key)) == NULL) {
		free(f);
		return -ENOMEM;
	}
	f->s = s;
	f->flags = flags;
	f->fd = -1;
	f->users = 1;
	pthread_rwlock_rdlock(&t->names);
	if ((rc = fs_files_reserve_unlocked(t)) == 0 &&
	    (fd = fs_file_open_name(f, true)) < 0) {
		fs_files_unreserve(t);
		rc = fd;
	}
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		f->fd = fd;
		RB_INSERT(fs_file_tree, &t->by_key, f);
		(void)fs_file_unuse(t, f);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_rwlock_unlock(&t->names);
	if (rc != 0) {
		free(f->key);
		free(f);
		return rc;
	}
	*fp = f;
	return 0;
}

/*
 * f has no fd: open its file again by name, and return the fd.  The
 * caller counts as a user of f, so nothing evicts or frees it meanwhile;
 * with names_held it holds the names lock already.
 */
static int
fs_file_reopen(struct store_file *f, bool names_held)
{
	struct fs_files *t = &f->s->files;
	int fd, extra = -1, rc = 0;

	if (!names_held)
		pthread_rwlock_rdlock(&t->names);
	pthread_mutex_lock(&t->lock);
	fd = f->fd;
	if (fd < 0 && f->key == NULL)
		rc = -ESTALE;		/* its name went while it was closed */
	pthread_mutex_unlock(&t->lock);
	if (fd < 0 && rc == 0 && (rc = fs_files_reserve_unlocked(t)) == 0 &&
	    (fd = fs_file_open_name(f, false)) < 0) {
		fs_files_unreserve(t);
		rc = fd;
	}
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		if (f->fd >= 0 && f->fd != fd) {
			/* Another user opened it first: keep one. */
			extra = fd;
			fd = f->fd;
			t->nopen--;
		}
		f->fd = fd;
		pthread_mutex_unlock(&t->lock);
	}
	if (!names_held)
		pthread_rwlock_unlock(&t->names);
	if (extra != -1)
		close(extra);
	return rc != 0 ? rc : fd;
}

/* Lend f's fd, opening its file again if it was evicted. */
int
fs_file_fd(struct store_file *f, int *fdp)
{
	struct fs_files *t = &f->s->files;
	int fd;

	pthread_mutex_lock(&t->lock);
	f->users++;
	fs_file_unidle(t, f);
	fd = f->fd;
	pthread_mutex_unlock(&t->lock);
	if (fd < 0 && (fd = fs_file_reopen(f, false)) < 0) {
		fs_file_done(f);
		return fd;
	}
	*fdp = fd;
	return 0;
}

void
fs_file_done(struct store_file *f)
{
	struct fs_files *t = &f->s->files;
	bool dead;

	pthread_mutex_lock(&t->lock);
	dead = fs_file_unuse(t, f);
	pthread_mutex_unlock(&t->lock);
	if (dead)
		fs_file_free(f);
}

void
fs_file_close(struct store_file *f)
{
	struct fs_files *t = &f->s->files;
	bool dead;

	pthread_mutex_lock(&t->lock);
	f->closed = true;
	f->users++;
	fs_file_unidle(t, f);
	dead = fs_file_unuse(t, f);
	pthread_mutex_unlock(&t->lock);
	if (dead)
		fs_file_free(f);
}

/*
 * key's name is about to go (a remove, a rename or put over it): every
 * file open by that name gets its fd back and is held, in *heldp, until
 * fs_files_let_go().  A file that is no longer at that name cannot be
 * kept and is left out; running out of fds is an error (-EMFILE), and
 * the name must then stay.  Names lock held for writing.
 */
static int
fs_files_hold(struct fs_store *s, const char *key, struct store_file **heldp)
{
	struct fs_files *t = &s->files;
	struct store_file probe = { .key = (char *)key, .probe = true }, *f;
	int rc = 0;

	*heldp = NULL;
	pthread_mutex_lock(&t->lock);
	for (f = RB_NFIND(fs_file_tree, &t->by_key, &probe);
	    f != NULL && strcmp(f->key, key) == 0;
	    f = RB_NEXT(fs_file_tree, &t->by_key, f)) {
		f->users++;
		fs_file_unidle(t, f);
		f->held_next = *heldp;
		*heldp = f;
	}
	pthread_mutex_unlock(&t->lock);
	for (f = *heldp; f != NULL && rc == 0; f = f->held_next) {
		int fd = fs_file_reopen(f, true);

		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM)
			rc = fd;
	}
	return rc;
}

/*
 * The name change is over; with gone, it happened, and the held files
 * lose their name: they keep their fds until closed.
 */
static void
fs_files_let_go(struct fs_store *s, struct store_file *held, bool gone)
{
	struct fs_files *t = &s->files;
	struct store_file *f, *next, *dead = NULL;

	pthread_mutex_lock(&t->lock);
	for (f = held; f != NULL; f = next) {
		next = f->held_next;
		if (gone && f->key != NULL) {
			RB_REMOVE(fs_file_tree, &t->by_key, f);
			free(f->key);
			f->key = NULL;
		}
		if (fs_file_unuse(t, f)) {
			f->held_next = dead;
			dead = f;
		}
	}
	pthread_mutex_unlock(&t->lock);
	for (f = dead; f != NULL; f = next) {
		next = f->held_next;
		fs_file_free(f);
	}
}

/* Files lock held: out of the tree, every file named key, or below it. */
static void
fs_files_take(struct fs_files *t, const char *key, bool below,
    struct store_file **list)
{
	struct store_file probe = { .key = (char *)key, .probe = true }, *f;
	struct store_file *next;
	size_t len = strlen(key);

	for (f = RB_NFIND(fs_file_tree, &t->by_key, &probe); f != NULL;
	    f = next) {
		if (below ? strncmp(f->key, key, len) != 0 :
		    strcmp(f->key, key) != 0)
			break;
		next = RB_NEXT(fs_file_tree, &t->by_key, f);
		RB_REMOVE(fs_file_tree, &t->by_key, f);
		f->moved_next = *list;
		*list = f;
	}
}

/*
 * A rename through the store: files opened by src, or by a name below it
 * (a directory), now go by dst.  A new name that cannot be allocated
 * leaves the old one, and that file's next open by name is -ESTALE.
 * Names lock held for writing.
 */
void
fs_files_moved(struct fs_store *s, const char *src, const char *dst)
{
	struct fs_files *t = &s->files;
	char from[FS_KEY_MAX + 2], to[FS_KEY_MAX + 2];
	struct store_file *list = NULL, *f;
	size_t len;

	strlcpy(from, src, sizeof(from));
	strlcpy(to, dst, sizeof(to));
	if ((len = strlen(from)) > 0 && from[len - 1] == '/')
		from[--len] = '\0';
	if (strlen(to) > 0 && to[strlen(to) - 1] == '/')
		to[strlen(to) - 1] = '\0';
	pthread_mutex_lock(&t->lock);
	fs_files_take(t, from, false, &list);
	from[len] = '/';
	from[len + 1] = '\0';
	fs_files_take(t, from, true, &list);
	for (f = list; f != NULL; f = f->moved_next) {
		char *k;

		if (asprintf(&k, "%s%s", to, f->key + len) != -1) {
			free(f->key);
			f->key = k;
		} else
			log_warnx("fs: out of memory renaming open file %s",
			    f->key);
		RB_INSERT(fs_file_tree, &t->by_key, f);
	}
	pthread_mutex_unlock(&t->lock);
}

/* A name change begins: names locked for writing, key's files held. */
int
fs_name_change_begin(struct fs_store *s, const char *key,
    struct store_file **heldp)
{
	pthread_rwlock_wrlock(&s->files.names);
	*heldp = NULL;
	if (key == NULL || store_key_is_marker(key))
		return 0;	/* directories have no open files */
	return fs_files_hold(s, key, heldp);
}

void
fs_name_change_end(struct fs_store *s, struct store_file *held, bool gone)
{
	fs_files_let_go(s, held, gone);
	pthread_rwlock_unlock(&s->files.names);
}
