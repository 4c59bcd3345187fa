/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Uploads while the file is being written: a multipart upload whose
 * parts are cut as the writer declares its bytes final (upload_offer)
 * and sent in the background, at most `parallel` at once, each from
 * the writer's staging file.  The writer drops the bytes the store
 * acknowledged (upload_acked), so its staging stays about
 * parallel parts large, and close() waits only for the tail.
 *
 * Parts double in size every 1,000 so that S3's 10,000 reach 8 TiB from
 * 8 MiB parts.  A part that fails for good (after s3_perform's retries)
 * stays queued as failed; upload_finish sends it once more.  Nothing
 * is aborted here unless asked: an unfinished upload holds bytes the
 * writer no longer has, and a later run may finish it (upload_resume,
 * with the id the writer's journal keeps).
 *
 * The parts of every upload go by one store-wide pool of threads (twice
 * --s3-parallel, at most S3_UP_THREADS_MAX), each upload with at most
 * `parallel` parts in flight, so the number of files being written sets
 * no number of threads or connections.
 *
 * Locking: up->lock over the part table and the counters, then
 * pool.lock over the ready queue and each upload's place in it and
 * count of senders; a part's bytes are sent without either.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "s3_internal.h"
#include "s3_proto.h"

#define UP_DOUBLE_EVERY	1000	/* parts of one size */
#define UP_MIN_PART	(5ULL << 20)	/* S3's floor, but for the last */

enum part_state { PART_QUEUED, PART_SENDING, PART_DONE, PART_FAILED };

struct up_part {
	uint64_t	 off;
	uint64_t	 len;
	enum part_state	 state;
	bool		 tail;		/* cut short by a finish */
	char		*etag;
};

struct store_upload {
	struct s3_store	*s;
	char		*key;		/* full key */
	char		*id;
	struct store_attr sent;		/* the metadata the upload carries */
	pthread_mutex_t	 lock;
	pthread_cond_t	 done;		/* a part was sent, or failed */
	struct up_part	*parts;
	unsigned	 nparts, parts_room;
	unsigned	 queued;	/* parts in PART_QUEUED */
	unsigned	 sending;
	int		 fd;		/* where the parts' bytes are */
	uint64_t	 covered;	/* end of the last part cut */
	uint64_t	 acked;		/* every byte below is in the store */
	int		 error;		/* of the last part that failed */
	bool		 stop;
	/* Under pool.lock: */
	TAILQ_ENTRY(store_upload) ready;
	bool		 in_ready;
	unsigned	 senders;	/* pool threads working on it */
};

/* Above the cutoff, with `parallel` parts in flight and no more. */
void
s3_upload_limits(struct store *st, uint64_t *threshold, uint64_t *window)
{
	struct s3_store *s = (struct s3_store *)st;

	*threshold = s->readonly ? 0 : s->upload_cutoff;
	*window = (uint64_t)(s->parallel > 0 ? s->parallel : 1) *
	    s->part_size;
}

static uint64_t
up_part_len(const struct store_upload *up, unsigned i)
{
	uint64_t len = up->s->part_size << (i / UP_DOUBLE_EVERY);

	return len < S3_COPY_MAX ? len : S3_COPY_MAX;
}

static struct store_upload *
up_new(struct s3_store *s, const char *key)
{
	struct store_upload *up = calloc(1, sizeof(*up));
	pthread_condattr_t ca;

	if (up == NULL)
		return NULL;
	if (s3_full_key(s, key, &up->key) != 0) {
		free(up);
		return NULL;
	}
	up->s = s;
	up->fd = -1;
	pthread_mutex_init(&up->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&up->done, &ca);
	pthread_condattr_destroy(&ca);
	return up;
}

/* Room in the part table for one more, grown as parts are cut. */
static int
up_part_room(struct store_upload *up)
{
	unsigned room = up->parts_room > 0 ? up->parts_room * 2 : 64;
	struct up_part *parts;

	if (up->nparts < up->parts_room)
		return 0;
	if (up->nparts == S3_MAX_PARTS)
		return -EFBIG;
	if (room > S3_MAX_PARTS)
		room = S3_MAX_PARTS;
	if ((parts = reallocarray(up->parts, room, sizeof(*parts))) == NULL)
		return -ENOMEM;
	up->parts = parts;
	up->parts_room = room;
	return 0;
}

/*
 * Out of the pool: no thread takes a part of it any more, and one being
 * sent is finished first.
 */
static void
up_stop(struct store_upload *up)
{
	struct s3_up_pool *p = &up->s->up_pool;

	pthread_mutex_lock(&up->lock);
	up->stop = true;
	pthread_mutex_unlock(&up->lock);
	pthread_mutex_lock(&p->lock);
	if (up->in_ready)
		TAILQ_REMOVE(&p->ready, up, ready);
	up->in_ready = false;
	while (up->senders > 0)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void
up_free(struct store_upload *up)
{
	up_stop(up);
	for (unsigned i = 0; i < up->nparts; i++)
		free(up->parts[i].etag);
	free(up->parts);
	pthread_cond_destroy(&up->done);
	pthread_mutex_destroy(&up->lock);
	store_attr_clear(&up->sent);
	free(up->id);
	free(up->key);
	free(up);
}

/* Under up->lock: the first part waiting to go, or NULL. */
static struct up_part *
up_next_queued(struct store_upload *up, unsigned *ip)
{
	for (unsigned i = 0; up->queued > 0 && i < up->nparts; i++)
		if (up->parts[i].state == PART_QUEUED) {
			*ip = i;
			return &up->parts[i];
		}
	return NULL;
}

/* A part a finish cut short: the last one, until the file grows. */
static bool
up_short(const struct store_upload *up, unsigned i)
{
	return up->parts[i].tail;
}

/*
 * Where the parts done from the first on end; with whole_only, only
 * whole parts count: a short last part, sent by a finish that did not
 * complete, is cut again if the file grows, and the writer must keep
 * its bytes until then.
 */
static uint64_t
up_done_end(const struct store_upload *up, bool whole_only)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < up->nparts; i++) {
		if (up->parts[i].state != PART_DONE ||
		    (whole_only && up_short(up, i)))
			break;
		end = up->parts[i].off + up->parts[i].len;
	}
	return end;
}

static void
up_advance_acked(struct store_upload *up)
{
	up->acked = up_done_end(up, true);
}

static void *up_pool_worker(void *arg);

/* Parts of one upload in flight at once. */
static unsigned
up_width(const struct store_upload *up)
{
	return up->s->parallel > 0 ? up->s->parallel : 1;
}

/*
 * Under up->lock: in the pool's ready queue while it has a part to send
 * and room in flight; a thread more while the pool has fewer than its
 * size.  False: the pool has no thread at all.
 */
static bool
up_ready(struct store_upload *up)
{
	struct s3_up_pool *p = &up->s->up_pool;
	bool staffed;

	if (up->stop || up->queued == 0 || up->sending >= up_width(up))
		return true;
	pthread_mutex_lock(&p->lock);
	if (!up->in_ready && !p->stop) {
		TAILQ_INSERT_TAIL(&p->ready, up, ready);
		up->in_ready = true;
	}
	if (p->nthreads < p->size && !p->stop) {
		if (pthread_create(&p->threads[p->nthreads], NULL,
		    up_pool_worker, p) == 0)
			p->nthreads++;
		else if (p->nthreads == 0)
			log_warnx("s3: no thread to upload %s with; its parts "
			    "wait for the close", up->key);
	}
	staffed = p->nthreads > 0;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return staffed;
}

/* Under up->lock, dropped while sending: false when nothing is queued. */
static bool
up_send_next(struct store_upload *up)
{
	struct s3_part_src src = { 0 };
	struct up_part *p;
	unsigned i;
	char *etag;
	int rc;

	if ((p = up_next_queued(up, &i)) == NULL)
		return false;
	p->state = PART_SENDING;
	up->queued--;
	up->sending++;
	(void)up_ready(up);	/* the next part, by another thread */
	src.fd = up->fd;
	src.off = p->off;
	src.len = p->len;
	pthread_mutex_unlock(&up->lock);
	rc = s3_mp_part(up->s, up->key, up->id, i, &src, &etag);
	pthread_mutex_lock(&up->lock);
	p = &up->parts[i];	/* the table may have grown meanwhile */
	up->sending--;
	if (rc == 0) {
		free(p->etag);
		p->etag = etag;
		p->state = PART_DONE;
		up_advance_acked(up);
	} else {
		p->state = PART_FAILED;
		up->error = rc;
		log_warnx("s3: part %u of %s (%llu bytes) failed: %s; sent "
		    "again at close", i + 1, up->key,
		    (unsigned long long)p->len, strerror(-rc));
	}
	pthread_cond_broadcast(&up->done);
	return true;
}

/* One part of the first ready upload at a time, round robin. */
static void *
up_pool_worker(void *arg)
{
	struct s3_up_pool *p = arg;
	struct store_upload *up;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if ((up = TAILQ_FIRST(&p->ready)) == NULL) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		TAILQ_REMOVE(&p->ready, up, ready);
		up->in_ready = false;
		up->senders++;
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_lock(&up->lock);
		if (!up->stop && up->sending < up_width(up) &&
		    up_send_next(up))
			(void)up_ready(up);	/* room again: its next part */
		pthread_mutex_unlock(&up->lock);
		pthread_mutex_lock(&p->lock);
		if (--up->senders == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void
s3_up_pool_init(struct s3_up_pool *p, unsigned parallel)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	TAILQ_INIT(&p->ready);
	p->size = parallel > 0 ? 2 * parallel : 2;
	if (p->size > S3_UP_THREADS_MAX)
		p->size = S3_UP_THREADS_MAX;
}

/* At store close, after every upload was finished, aborted or dropped. */
void
s3_up_pool_free(struct s3_up_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}

/*
 * Under up->lock: cut [covered, end) into parts, the last one short
 * (last).  A short part left by a finish that did not complete is cut
 * again first, now that the file goes on: S3 takes short parts only at
 * the end.  No part is being sent then: a finish waits for them all.
 */
static int
up_cut(struct store_upload *up, uint64_t end, bool last)
{
	struct up_part *p = up->nparts > 0 ? &up->parts[up->nparts - 1] : NULL;

	if (p != NULL && end > up->covered && up_short(up, up->nparts - 1) &&
	    p->state != PART_SENDING) {
		if (p->state == PART_QUEUED)
			up->queued--;
		free(p->etag);
		p->etag = NULL;
		up->covered = p->off;
		up->nparts--;
	}
	while (up->covered < end) {
		uint64_t len = up_part_len(up, up->nparts);

		bool tail = up->covered + len > end;

		if (tail) {
			if (!last)
				break;
			len = end - up->covered;
		}
		int rc = up_part_room(up);

		if (rc != 0)
			return rc;
		up->parts[up->nparts++] = (struct up_part){ .off = up->covered,
		    .len = len, .state = PART_QUEUED, .tail = tail };
		up->queued++;
		up->covered += len;
	}
	return 0;
}

int
s3_upload_open(struct store *st, const char *key,
    const struct store_attr *attr, struct store_upload **upp)
{
	struct s3_store *s = (struct s3_store *)st;
	struct s3_hdrs h = { 0 };
	struct store_upload *up;
	int rc;

	*upp = NULL;
	if (s->readonly)
		return -EROFS;
	if ((up = up_new(s, key)) == NULL)
		return -ENOMEM;
	rc = store_attr_copy(&up->sent, attr);
	if (rc == 0)
		rc = s3_meta_to_headers(attr, false, &h);
	if (rc == 0)
		rc = s3_mp_create(s, up->key, &h, &up->id);
	s3_hdrs_free(&h);
	if (rc != 0) {
		up_free(up);
		return rc;
	}
	*upp = up;
	return 0;
}

/*
 * The parts an earlier run sent, from 1 on and each a whole part: a
 * shorter one was the last of a completion that did not happen, sent
 * again from the staged bytes.
 */
static int
up_take_listed(struct store_upload *up, struct s3_listed_part *lp, size_t n)
{
	for (size_t i = 0; i < n && up->nparts < S3_MAX_PARTS; i++) {
		if (lp[i].number != up->nparts + 1 ||
		    lp[i].size < UP_MIN_PART)
			break;
		if (up_part_room(up) != 0)
			return -ENOMEM;
		up->parts[up->nparts++] = (struct up_part){ .off = up->covered,
		    .len = lp[i].size, .state = PART_DONE,
		    .etag = lp[i].etag };
		lp[i].etag = NULL;
		up->covered += lp[i].size;
	}
	up->acked = up->covered;
	return 0;
}

static int
up_list_parts(struct store_upload *up)
{
	struct s3_listed_part *lp = NULL;
	size_t n = 0, cap = 0;
	unsigned marker = 0;
	int rc;

	do {
		char from[16];
		struct s3_req r;

		s3_req_init(&r, "GET", up->key);
		s3_req_query(&r, "uploadId", up->id);
		if (marker != 0) {
			snprintf(from, sizeof(from), "%u", marker);
			s3_req_query(&r, "part-number-marker", from);
		}
		rc = s3_perform(up->s, &r);
		/* A mock server (s3rver) that cannot list parts. */
		if (rc != 0 && (r.status == 405 || r.status == 501))
			rc = -EOPNOTSUPP;
		if (rc == 0)
			rc = s3_parse_parts(r.resp.data, r.resp.len, &lp, &n,
			    &cap, &marker);
		s3_req_free(&r);
	} while (rc == 0 && marker != 0 && n < S3_MAX_PARTS);
	if (rc == 0)
		rc = up_take_listed(up, lp, n);
	for (size_t i = 0; i < n; i++)
		free(lp[i].etag);
	free(lp);
	return rc;
}

int
s3_upload_resume(struct store *st, const char *key, const char *id,
    struct store_upload **upp)
{
	struct s3_store *s = (struct s3_store *)st;
	struct store_upload *up;
	int rc;

	*upp = NULL;
	if (s->readonly)
		return -EROFS;
	if ((up = up_new(s, key)) == NULL)
		return -ENOMEM;
	if ((up->id = strdup(id)) == NULL)
		rc = -ENOMEM;
	else
		rc = up_list_parts(up);
	if (rc != 0) {
		up_free(up);
		return rc;
	}
	*upp = up;
	return 0;
}

const char *
s3_upload_id(struct store_upload *up)
{
	return up->id;
}

uint64_t
s3_upload_offer(struct store_upload *up, int fd, uint64_t end)
{
	uint64_t covered;

	pthread_mutex_lock(&up->lock);
	up->fd = fd;
	(void)up_cut(up, end, false);	/* full: the rest waits for close */
	(void)up_ready(up);
	covered = up->covered;
	pthread_mutex_unlock(&up->lock);
	return covered;
}

uint64_t
s3_upload_acked(struct store_upload *up)
{
	uint64_t acked;

	pthread_mutex_lock(&up->lock);
	acked = up->acked;
	pthread_mutex_unlock(&up->lock);
	return acked;
}

/* Under up->lock: a failed part, when nothing can be sent any more. */
static int
up_wait_locked(struct store_upload *up, uint64_t want, int timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (up_done_end(up, false) < want) {
		if (up->queued == 0 && up->sending == 0)
			return up->error != 0 ? up->error : -EIO;
		if (timeout_ms >= 0 && pthread_cond_timedwait(&up->done,
		    &up->lock, &deadline) == ETIMEDOUT)
			return up_done_end(up, false) < want ? -ETIMEDOUT : 0;
		if (timeout_ms < 0)
			pthread_cond_wait(&up->done, &up->lock);
	}
	return 0;
}

int
s3_upload_wait(struct store_upload *up, uint64_t want, int timeout_ms)
{
	int rc;

	pthread_mutex_lock(&up->lock);
	rc = up_wait_locked(up, want, timeout_ms);
	pthread_mutex_unlock(&up->lock);
	return rc;
}

/* The metadata the upload carried is not what the object must have. */
static bool
up_meta_moved(const struct store_attr *a, const struct store_attr *b)
{
	unsigned has = (a->has | b->has) & ~STORE_ATTR_XATTRS;

	if ((a->has & ~STORE_ATTR_XATTRS) != (b->has & ~STORE_ATTR_XATTRS) ||
	    ((has & STORE_ATTR_MODE) && a->mode != b->mode) ||
	    ((has & STORE_ATTR_UID) && a->uid != b->uid) ||
	    ((has & STORE_ATTR_GID) && a->gid != b->gid) ||
	    ((has & STORE_ATTR_RDEV) && a->rdev != b->rdev))
		return true;
	if (((has & STORE_ATTR_MTIME) && (a->mtime.tv_sec != b->mtime.tv_sec ||
	    a->mtime.tv_nsec != b->mtime.tv_nsec)) ||
	    ((has & STORE_ATTR_CTIME) && (a->ctime.tv_sec != b->ctime.tv_sec ||
	    a->ctime.tv_nsec != b->ctime.tv_nsec)) ||
	    ((has & STORE_ATTR_ATIME) && (a->atime.tv_sec != b->atime.tv_sec ||
	    a->atime.tv_nsec != b->atime.tv_nsec)))
		return true;
	if (a->nxattrs != b->nxattrs)
		return true;
	for (unsigned i = 0; i < a->nxattrs; i++) {
		const struct store_xattr *x = store_xattr_find(b,
		    a->xattrs[i].name);

		if (x == NULL || x->len != a->xattrs[i].len ||
		    memcmp(x->value, a->xattrs[i].value, x->len) != 0)
			return true;
	}
	return false;
}

static int
up_complete(struct store_upload *up, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	char **etags = calloc(up->nparts, sizeof(*etags));
	int rc;

	if (etags == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < up->nparts; i++)
		etags[i] = up->parts[i].etag;
	rc = s3_mp_cond_holds(up->s, up->key, cond);
	if (rc == 0)
		rc = s3_mp_complete(up->s, up->key, up->id, etags, up->nparts,
		    cond);
	free(etags);
	s3_ra_invalidate(up->s, up->key);
	/*
	 * The upload took its metadata when it began; times (and a chmod
	 * meanwhile) have moved since: the object copied onto itself.
	 */
	if (rc == 0 && attr != NULL && up_meta_moved(&up->sent, attr)) {
		struct store_cond copied = { 0 };
		struct store_attr full;

		if ((rc = store_attr_copy(&full, attr)) == 0) {
			full.size = size;
			rc = s3_copy_object(up->s, up->key, up->key, size,
			    &full, &copied);
			store_attr_clear(&full);
		}
		if (rc == 0 && cond != NULL)
			memcpy(cond->etag, copied.etag, sizeof(cond->etag));
		if (rc != 0) {
			log_warnx("s3: %s is uploaded, but its metadata "
			    "(times, mode) is the one it had when the upload "
			    "began: %s", up->key, strerror(-rc));
			rc = 0;
		}
	}
	return rc;
}

int
s3_upload_finish(struct store_upload *up, int fd, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	int rc;

	pthread_mutex_lock(&up->lock);
	up->fd = fd;
	/* A part that failed goes once more, with the tail. */
	for (unsigned i = 0; i < up->nparts; i++)
		if (up->parts[i].state == PART_FAILED) {
			up->parts[i].state = PART_QUEUED;
			up->queued++;
		}
	up->error = 0;
	if (size < up->covered || size == 0)
		rc = -EINVAL;	/* the caller broke the contract */
	else if ((rc = up_cut(up, size, true)) == 0) {
		/* No thread to be had: the caller sends them itself. */
		while (!up_ready(up) && up_send_next(up))
			;
		rc = up_wait_locked(up, size, -1);
	}
	pthread_mutex_unlock(&up->lock);
	if (rc == 0)
		rc = up_complete(up, size, attr, cond);
	if (rc == 0)
		up_free(up);
	return rc;
}

void
s3_upload_abort(struct store_upload *up)
{
	up_stop(up);	/* no part may land after the abort */
	if (up->id != NULL)
		s3_mp_abort(up->s, up->key, up->id);
	up_free(up);
}

void
s3_upload_drop(struct store_upload *up)
{
	up_free(up);
}
