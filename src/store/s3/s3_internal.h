/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 store internals shared by s3_*.c and store_s3.c.
 *
 * Threading: every request takes a curl handle from the store's pool and
 * gives it back; the configuration is read-only after open.
 *
 * Errors: a request is built as a dbuf is, step by step without a check
 * at each step: the first failure of s3_req_query(), s3_req_header() or
 * s3_req_body() sticks in r->error, and s3_perform() returns it without
 * sending anything.  Everything else returns 0 or -errno; several steps
 * in a row read "if (rc == 0) rc = step();".
 */
#ifndef OBJFSD_S3_INTERNAL_H
#define OBJFSD_S3_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "dbuf.h"
#include "membudget.h"
#include "rbtree.h"
#include "s3_proto.h"
#include "s3_sigv4.h"
#include "store.h"

#define S3_POOL_MAX		32
#define S3_RESP_MAX		(16u << 20)	/* XML bodies we keep */
#define S3_META_MAX		2048		/* user metadata, as S3 caps it */
#define S3_KEY_MAX		1024		/* bytes of a key, prefix and all */
#define S3_MAX_PARTS		10000
#define S3_COPY_MAX		(5ULL << 30)	/* one CopyObject, one part */
#define S3_MIN_RATE		1024L		/* bytes/s a transfer keeps up */
#define S3_DENIED_QUIET_NS	(30 * 1000000000LL)	/* one line per burst */

/* Headers we own: names and values are copies. */
struct s3_hdrs {
	struct s3_kv	*v;
	size_t		 n;
	int		 error;	/* the first failed add, sticky */
};

#define S3_ETAG_MAX		128

/* What a GET's reply said of the object. */
struct s3_obj_info {
	uint64_t	 size;		/* UINT64_MAX when it did not say */
	char		 etag[S3_ETAG_MAX];	/* "" when it did not say */
};

/*
 * The read-ahead cache (s3_racache.c): chunks of objects that readers
 * have open, shared by all of them, and the threads that fetch them.
 * Everything in it is guarded by lock.
 */
#define S3_RA_CHUNK		(8u << 20)
#define S3_RA_AHEAD		3	/* chunks ahead of a reader, at most */
#define S3_RA_FETCH_MAX		32	/* chunks queued or loading */
#define S3_RA_WORKERS		8	/* fetch threads of a store */
#define S3_RA_SPARE		4	/* chunk buffers kept for the next */

enum s3_ra_state {
	S3_RA_QUEUED,			/* on ra.queue, waiting for a worker */
	S3_RA_LOADING,			/* a worker writes into buf */
	S3_RA_READY,
	S3_RA_FAILED,			/* dropped; its waiters read directly */
};

struct s3_ra_chunk {
	RB_ENTRY(s3_ra_chunk)	 entry;	/* in obj->chunks unless dropped */
	TAILQ_ENTRY(s3_ra_chunk) link;	/* on ra.queue or ra.lru if listed */
	struct s3_ra_obj	*obj;	/* a reference */
	uint64_t		 off;
	char			*buf;	/* S3_RA_CHUNK bytes, of the budget */
	size_t			 got;
	struct s3_obj_info	 info;
	enum s3_ra_state	 state;
	unsigned		 refs;	/* readers waiting on it or copying */
	bool			 dropped;
	bool			 listed;
};
RB_HEAD(s3_ra_chunks, s3_ra_chunk);

/* An object some reader has open. */
struct s3_ra_obj {
	RB_ENTRY(s3_ra_obj)	 entry;
	char			*key;	/* full key */
	struct s3_ra_chunks	 chunks;
	uint64_t		 size;	/* UINT64_MAX until a reply says */
	TAILQ_HEAD(, store_reader) readers;
	unsigned		 refs;	/* its readers and chunks */
};
RB_HEAD(s3_ra_objs, s3_ra_obj);
TAILQ_HEAD(s3_ra_list, s3_ra_chunk);

struct s3_ra {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* a chunk was queued, or stop */
	pthread_cond_t		 done;	/* a chunk loaded, failed or went */
	struct s3_ra_objs	 objs;
	struct s3_ra_list	 queue;	/* QUEUED, first come first */
	struct s3_ra_list	 lru;	/* READY and unheld, oldest first */
	unsigned		 nqueued;
	unsigned		 fetching;	/* QUEUED and LOADING */
	pthread_t		 workers[S3_RA_WORKERS];
	unsigned		 nworkers;
	unsigned		 idle;		/* workers waiting for work */
	/*
	 * Buffers of chunks that went, still of the budget, for the next
	 * chunks while a reader is open: fresh pages cost a fault and a
	 * clearing each, a quarter of a sequential read's CPU.
	 */
	char			*spare[S3_RA_SPARE];
	unsigned		 nspare;
	unsigned		 nreaders;
	bool			 stopping;
};

/* s3_batch.c: independent requests side by side, on a fixed pool. */
#define S3_BATCH_THREADS	15	/* and the caller: 16 in flight */

typedef void s3_batch_fn(void *arg, size_t i);
struct s3_batch;

struct s3_batch_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* a batch offers tickets, or stop */
	TAILQ_HEAD(, s3_batch)	 queue;	/* batches with tickets left */
	pthread_t		 threads[S3_BATCH_THREADS];
	unsigned		 nthreads;
	bool			 stop;
	bool			 warned;
};

void	s3_batch_pool_init(struct s3_batch_pool *p);
void	s3_batch_pool_free(struct s3_batch_pool *p);
void	s3_batch_run(struct s3_batch_pool *p, s3_batch_fn *fn, void *arg,
	    size_t n, unsigned width);

/*
 * s3_upload.c: the threads that send the parts of every upload in progress,
 * store-wide: uploads with parts queued wait in `ready`, round robin.
 */
#define S3_UP_THREADS_MAX	32

struct store_upload;

struct s3_up_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* an upload is ready, or stop */
	pthread_cond_t		 idle;	/* an upload's last sender left */
	TAILQ_HEAD(, store_upload) ready;
	pthread_t		 threads[S3_UP_THREADS_MAX];
	unsigned		 nthreads, size;
	bool			 stop;
};

void	s3_up_pool_init(struct s3_up_pool *p, unsigned parallel);
void	s3_up_pool_free(struct s3_up_pool *p);

struct s3_creds {
	char		*access_key;
	char		*secret_key;
	char		*session_token;
	const char	*source;	/* where they came from, for the log */
};

/* s3_stats.c: requests sent, by S3 operation and outcome. */
enum s3_kind {
	S3K_HEAD_BUCKET, S3K_LIST, S3K_HEAD, S3K_GET, S3K_PUT, S3K_COPY,
	S3K_DELETE, S3K_DELETE_MANY, S3K_MP_CREATE, S3K_MP_PART,
	S3K_MP_PART_COPY, S3K_MP_COMPLETE, S3K_MP_ABORT, S3K_OTHER, S3K_N
};
enum s3_outcome { S3O_OK, S3O_NOT_FOUND, S3O_CLIENT, S3O_SERVER, S3O_NET,
	S3O_N };
struct s3_req;
/* Sees every attempt as it is counted: a test's record of what was sent. */
typedef void s3_trace_fn(void *arg, enum s3_kind k, enum s3_outcome o,
    const struct s3_req *r);
struct s3_stats {
	uint64_t	 n[S3K_N][S3O_N];	/* atomic */
	uint64_t	 inflight;		/* atomic, and its peak */
	uint64_t	 inflight_max;
	s3_trace_fn	*trace;			/* NULL but in tests */
	void		*trace_arg;
};

struct s3_store {
	struct store	 base;
	char		*bucket;
	char		*prefix;	/* "" or ending in '/' */
	char		*region;
	char		*scheme;	/* http, https */
	char		*host_header;	/* what Host: says, and is signed */
	bool		 path_style;
	bool		 insecure;
	char		*ca_pem;	/* trusted instead of the system's */
	size_t		 ca_len;
	bool		 anonymous;
	bool		 readonly;
	unsigned	 retries;
	unsigned	 parallel;
	uint64_t	 part_size;
	uint64_t	 upload_cutoff;	/* larger objects go up in parts */
	long		 connect_timeout;
	long		 stall_timeout;
	struct s3_creds	 creds;
	pthread_mutex_t	 pool_lock;
	CURL		*pool[S3_POOL_MAX];
	unsigned	 npool;
	/*
	 * Read-ahead chunks count against the daemon's cache budget, or
	 * the store's own when it was given none.
	 */
	struct membudget *budget;
	struct membudget *own_budget;
	struct s3_ra	 ra;
	struct s3_batch_pool batch;
	struct s3_up_pool up_pool;
	struct s3_stats	 stats;
	/*
	 * Refused credentials (403) are logged once per burst, not per
	 * request: when denied_logged_ns is older than S3_DENIED_QUIET_NS,
	 * with a count of those refused quietly since.  Under denied_lock.
	 */
	pthread_mutex_t	 denied_lock;
	int64_t		 denied_logged_ns;
	unsigned	 denied_quiet;
	/* Ranged GETs answered and their bytes (atomic): tests read them. */
	uint64_t	 range_gets;
	uint64_t	 range_bytes;
};

/* One request and what came back. */
struct s3_req {
	const char		*method;
	const char		*key;	/* full key, NULL for the bucket */
	struct s3_kv		 query[8];
	size_t			 nquery;
	struct s3_hdrs		 hdrs;
	/* body: from memory, or from an fd (streamed, never in RAM) */
	const char		*body;
	size_t			 body_len;
	int			 body_fd;
	uint64_t		 body_off;
	uint64_t		 body_size;
	uint64_t		 sent;
	/* reply: a GET's bytes go to dst, anything else to resp */
	const struct iovec	*dst;
	unsigned		 ndst;
	size_t			 got;
	struct dbuf		 resp;
	struct s3_hdrs		 resp_hdrs;
	long			 status;
	struct s3_error		 err;
	bool			 error_in_200;	/* Copy, Complete: check body */
	bool			 quiet;	/* the caller logs a failure itself */
	char			 curl_error[CURL_ERROR_SIZE];
	CURLcode		 curl_code;	/* of the last attempt */
	unsigned		 attempts;	/* sent this many times */
	int			 error;	/* the first failed build step */
	CURL			*curl;
};

/* s3_stats.c */
struct s3_req;
enum s3_kind	s3_req_kind(const struct s3_req *r);
void	s3_stats_count(struct s3_stats *st, const struct s3_req *r,
	    bool net_failed, int64_t us);
uint64_t	s3_stats_get(const struct s3_stats *st, enum s3_kind k,
	    enum s3_outcome o);
uint64_t	s3_stats_sent(const struct s3_stats *st, enum s3_kind k);
const char	*s3_kind_name(enum s3_kind k);
void	s3_stats_log(const struct s3_stats *st);
void	s3_stats_start(struct s3_stats *st);
uint64_t	s3_stats_inflight_max(const struct s3_stats *st);
void	s3_stats_reset_inflight_max(struct s3_stats *st);

/* s3_http.c */
void	s3_req_init(struct s3_req *r, const char *method, const char *key);
void	s3_req_free(struct s3_req *r);
void	s3_req_query(struct s3_req *r, const char *key, const char *value);
void	s3_req_header(struct s3_req *r, const char *name, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
void	s3_req_headers(struct s3_req *r, const struct s3_hdrs *h);
void	s3_req_body(struct s3_req *r, const struct dbuf *body);
int	s3_perform(struct s3_store *s, struct s3_req *r);
void	s3_pool_free(struct s3_store *s);
int	s3_full_key(struct s3_store *s, const char *key, char **full);

/* s3_hdrs (s3_http.c) */
int	s3_hdrs_add(struct s3_hdrs *h, const char *name, const char *value);
const char *s3_hdrs_get(const struct s3_hdrs *h, const char *name);
void	s3_hdrs_free(struct s3_hdrs *h);

/* s3_meta.c */
int	s3_meta_to_headers(const struct store_attr *a, bool is_dir,
	    struct s3_hdrs *h);
int	s3_meta_from_headers(const struct s3_hdrs *h, struct store_attr *a);
int	s3_xattrs_encode(const struct store_attr *a, struct dbuf *out);
int	s3_xattrs_decode(const char *header, struct store_attr *a);

/* s3_creds.c */
int	s3_creds_load(struct s3_creds *c, const char *file, bool anonymous);
void	s3_creds_clear(struct s3_creds *c);
const char *s3_access_key_id(const struct s3_store *s);

/* s3_multipart.c */
int	s3_put_multipart(struct s3_store *s, const char *key, int fd,
	    uint64_t size, const struct s3_hdrs *meta,
	    struct store_cond *cond);
int	s3_copy_multipart(struct s3_store *s, const char *src,
	    const char *dst, uint64_t size, const struct s3_hdrs *meta,
	    struct store_cond *cond);
/* Where a part's bytes come from: len of fd at off, or of copy_source. */
struct s3_part_src {
	int		 fd;
	const char	*copy_source;
	uint64_t	 off;
	uint64_t	 len;
};
int	s3_mp_create(struct s3_store *s, const char *key,
	    const struct s3_hdrs *meta, char **idp);
int	s3_mp_part(struct s3_store *s, const char *key, const char *id,
	    unsigned i, const struct s3_part_src *src, char **etagp);
int	s3_mp_cond_holds(struct s3_store *s, const char *key,
	    const struct store_cond *c);
int	s3_mp_complete(struct s3_store *s, const char *key, const char *id,
	    char *const *etags, unsigned n, struct store_cond *cond);
void	s3_mp_abort(struct s3_store *s, const char *key, const char *id);

/* s3_upload.c: uploads while the file is written */
int	s3_upload_open(struct store *st, const char *key,
	    const struct store_attr *attr, struct store_upload **upp);
int	s3_upload_resume(struct store *st, const char *key, const char *id,
	    struct store_upload **upp);
const char *s3_upload_id(struct store_upload *up);
uint64_t s3_upload_offer(struct store_upload *up, int fd, uint64_t end);
uint64_t s3_upload_acked(struct store_upload *up);
int	s3_upload_wait(struct store_upload *up, uint64_t want, int timeout_ms);
int	s3_upload_finish(struct store_upload *up, int fd, uint64_t size,
	    const struct store_attr *attr, struct store_cond *cond);
void	s3_upload_abort(struct store_upload *up);
void	s3_upload_drop(struct store_upload *up);
void	s3_upload_limits(struct store *st, uint64_t *threshold,
	    uint64_t *window);

/* store_s3.c */
int	s3_head_full(struct s3_store *s, const char *full, struct store_attr *a);
void	s3_cond_headers(struct s3_req *r, const struct store_cond *cond);
int	s3_copy_object(struct s3_store *s, const char *src, const char *dst,
	    uint64_t size, const struct store_attr *meta,
	    struct store_cond *cond);

/* s3_reader.c */
int	s3_reader_open(struct store *st, const char *key, uint64_t size,
	    struct store_reader **rp);
int	s3_reader_read(struct store_reader *r, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, size_t *got);
void	s3_reader_close(struct store_reader *r);

/* store_s3.c */
int	s3_get_range(struct s3_store *s, const char *fullkey, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, size_t *got,
	    struct s3_obj_info *info);

/* s3_racache.c; ra.lock held but for init, fini and invalidate */
void	s3_ra_init(struct s3_store *s);
void	s3_ra_fini(struct s3_store *s);
void	s3_ra_invalidate(struct s3_store *s, const char *fullkey);
struct s3_ra_obj *s3_ra_obj_get(struct s3_store *s, const char *fullkey);
void	s3_ra_obj_put(struct s3_store *s, struct s3_ra_obj *o);
void	s3_ra_reader_gone(struct s3_store *s);
void	s3_ra_drop_obj(struct s3_store *s, struct s3_ra_obj *o);
void	s3_ra_drop_below(struct s3_store *s, struct s3_ra_obj *o,
	    uint64_t off);
struct s3_ra_chunk *s3_ra_find(struct s3_ra_obj *o, uint64_t off);
int	s3_ra_start(struct s3_store *s, struct s3_ra_obj *o, uint64_t off);
void	s3_ra_hold(struct s3_store *s, struct s3_ra_chunk *c);
void	s3_ra_release(struct s3_store *s, struct s3_ra_chunk *c);

#endif
