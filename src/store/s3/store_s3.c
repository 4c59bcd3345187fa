/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3://BUCKET[/PREFIX] -- any S3-compatible service.
 *
 * Keys live under PREFIX in BUCKET.  Objects are written whole (PutObject,
 * or a multipart upload streamed from the staging file above the part
 * size); metadata changes are a copy of the object onto itself with new
 * metadata; there is no rename, so objfs copies and deletes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"
#include "store_s3.h"
#include "s3_xml.h"

#define S3_DEFAULT_PART		(8ULL << 20)
#define S3_DEFAULT_CUTOFF	(64ULL << 20)
#define S3_MIN_PART		(5ULL << 20)	/* S3's floor, but the last */
#define S3_LIST_MAX		1000
#define S3_DELETE_MAX		1000

static struct s3_store *
s3(struct store *st)
{
	return (struct s3_store *)st;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
s3_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Endpoints on an IP address or localhost cannot do virtual hosts. */
static bool
s3_host_is_literal(const char *host)
{
	unsigned char buf[16];
	char h[256];

	if (host[0] == '[' || strcmp(host, "localhost") == 0)
		return true;
	strlcpy(h, host, sizeof(h));
	h[strcspn(h, ":")] = '\0';
	return inet_pton(AF_INET, h, buf) == 1;
}

/* scheme://host[:port][/] into scheme and host[:port]. */
static int
s3_parse_endpoint(struct s3_store *s, const char *endpoint, char **hostp)
{
	const char *sep = strstr(endpoint, "://");
	size_t hlen;

	if (sep == NULL || (strncmp(endpoint, "http://", 7) != 0 &&
	    strncmp(endpoint, "https://", 8) != 0)) {
		log_warnx("s3: endpoint %s is not an http:// or https:// URL",
		    endpoint);
		return -EINVAL;
	}
	s->scheme = strndup(endpoint, (size_t)(sep - endpoint));
	sep += 3;
	hlen = strcspn(sep, "/?#");
	if (hlen == 0 || (sep[hlen] == '/' && sep[hlen + 1] != '\0')) {
		log_warnx("s3: endpoint %s must be scheme://host[:port]",
		    endpoint);
		return -EINVAL;
	}
	*hostp = strndup(sep, hlen);
	return s->scheme != NULL && *hostp != NULL ? 0 : -ENOMEM;
}

/* BUCKET[/PREFIX] into the bucket and a prefix that is "" or ends in '/'. */
static int
s3_parse_location(struct s3_store *s, const char *location)
{
	const char *slash = strchr(location, '/');
	char *p;
	int rc;

	s->bucket = slash != NULL ? strndup(location, (size_t)(slash - location))
	    : strdup(location);
	p = strdup(slash != NULL ? slash + 1 : "");
	if (s->bucket == NULL || p == NULL) {
		free(p);
		return -ENOMEM;
	}
	if (*s->bucket == '\0' || strlen(s->bucket) > 63) {
		free(p);
		log_warnx("s3: no bucket name in s3://%s", location);
		return -EINVAL;
	}
	while (*p != '\0' && p[strlen(p) - 1] == '/')
		p[strlen(p) - 1] = '\0';
	rc = asprintf(&s->prefix, "%s%s", p, *p ? "/" : "");
	free(p);
	if (rc == -1)
		return -ENOMEM;
	/* Every key goes to S3 behind the prefix: the prefix uses up some. */
	if ((size_t)rc >= S3_KEY_MAX) {
		log_warnx("s3: prefix of s3://%s is over %d bytes", location,
		    S3_KEY_MAX - 1);
		return -ENAMETOOLONG;
	}
	s->base.key_max = S3_KEY_MAX - (size_t)rc;
	return 0;
}

/* --s3-region, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
static int
s3_pick_region(struct s3_store *s, const struct store_s3_config *cfg)
{
	const char *region = cfg->region;

	if (region == NULL && (region = getenv("AWS_REGION")) == NULL &&
	    (region = getenv("AWS_DEFAULT_REGION")) == NULL)
		region = "us-east-1";
	s->region = strdup(region);
	return s->region != NULL ? 0 : -ENOMEM;
}

/* The endpoint (AWS's for the region by default) and the Host header. */
static int
s3_pick_endpoint(struct s3_store *s, const struct store_s3_config *cfg)
{
	char *endpoint = NULL, *host = NULL;
	int rc;

	if (cfg->endpoint != NULL)
		endpoint = strdup(cfg->endpoint);
	else if (asprintf(&endpoint, "https://s3.%s.amazonaws.com",
	    s->region) == -1)
		endpoint = NULL;
	if (endpoint == NULL)
		return -ENOMEM;
	rc = s3_parse_endpoint(s, endpoint, &host);
	free(endpoint);
	if (rc != 0) {
		free(host);
		return rc;
	}
	s->path_style = cfg->path_style >= 0 ? cfg->path_style != 0 :
	    (s3_host_is_literal(host) || strchr(s->bucket, '.') != NULL);
	if (s->path_style) {
		s->host_header = host;
		return 0;
	}
	rc = asprintf(&s->host_header, "%s.%s", s->bucket, host);
	free(host);
	return rc == -1 ? -ENOMEM : 0;
}

static int
s3_configure(struct s3_store *s, const char *location,
    const struct store_s3_config *cfg)
{
	int rc = s3_parse_location(s, location);

	if (rc == 0)
		rc = s3_pick_region(s, cfg);
	if (rc == 0)
		rc = s3_pick_endpoint(s, cfg);
	return rc;
}

void
store_s3_config_init(struct store_s3_config *c)
{
	memset(c, 0, sizeof(*c));
	c->path_style = -1;
	c->retries = 5;
}

static int
s3_tune(struct s3_store *s, const struct store_config *cfg,
    const struct store_s3_config *c)
{
	s->readonly = cfg->readonly;
	s->insecure = c->insecure;
	s->anonymous = c->anonymous;
	s->part_size = c->part_size != 0 ? c->part_size : S3_DEFAULT_PART;
	if (s->part_size < S3_MIN_PART)
		s->part_size = S3_MIN_PART;
	/*
	 * One PUT is one request and the cheapest for the many small files;
	 * parts in parallel win for large ones, and a failed part costs
	 * only itself.  The cutoff is never below a part.
	 */
	s->upload_cutoff = c->upload_cutoff != 0 ? c->upload_cutoff :
	    S3_DEFAULT_CUTOFF;
	if (s->upload_cutoff < s->part_size)
		s->upload_cutoff = s->part_size;
	s->parallel = c->parallel != 0 ? c->parallel : 4;
	s->retries = c->retries;
	s->stall_timeout = c->timeout != 0 ? c->timeout : 30;
	s->connect_timeout = s->stall_timeout < 10 ? s->stall_timeout : 10;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->denied_lock, NULL);
	s3_ra_init(s);
	s3_batch_pool_init(&s->batch);
	s3_up_pool_init(&s->up_pool, s->parallel);
	if (c->ca_pem != NULL && c->ca_len > 0) {
		if ((s->ca_pem = malloc(c->ca_len)) == NULL)
			return -ENOMEM;
		memcpy(s->ca_pem, c->ca_pem, c->ca_len);
		s->ca_len = c->ca_len;
	}
	s->budget = cfg->budget;
	if (s->budget == NULL)
		s->budget = s->own_budget = membudget_new(MEMBUDGET_DEFAULT);
	return s->budget == NULL ? -ENOMEM : 0;
}

static void
s3_close(struct store *st)
{
	struct s3_store *s = s3(st);

	s3_ra_fini(s);		/* its workers use the pool and the budget */
	s3_batch_pool_free(&s->batch);
	s3_up_pool_free(&s->up_pool);
	s3_pool_free(s);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->denied_lock);
	free(s->ca_pem);
	membudget_free(s->own_budget);
	s3_creds_clear(&s->creds);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->scheme);
	free(s->host_header);
	free(s);
}

/* What a refusal at start most likely means. */
static const char *
s3_denied_hint(const char *code)
{
	static const struct {
		const char	*code;
		const char	*hint;
	} hints[] = {
		{ "SignatureDoesNotMatch", "the secret key is wrong" },
		{ "InvalidAccessKeyId", "the server knows no such access key" },
		{ "ExpiredToken", "the session token has expired" },
		{ "InvalidToken", "the session token is not valid" },
	};

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(code, hints[i].code) == 0)
			return hints[i].hint;
	return "check the key's permissions on the bucket and the region";
}

/* Why the bucket cannot be used, in one line. */
static void
s3_log_check_failure(struct s3_store *s, const struct s3_req *r, int rc)
{
	if (rc == -ENOENT)
		log_warnx("s3: bucket %s does not exist at %s://%s",
		    s->bucket, s->scheme, s->host_header);
	else if (r->status == 401 || r->status == 403)
		log_warnx("s3: %s://%s refuses access key %s (credentials from "
		    "%s) for bucket %s: %ld %s: %s", s->scheme, s->host_header,
		    s3_access_key_id(s), s->creds.source, s->bucket, r->status,
		    r->err.code, s3_denied_hint(r->err.code));
	else if (r->curl_code == CURLE_PEER_FAILED_VERIFICATION)
		log_warnx("s3: cannot reach bucket %s at %s://%s: its TLS "
		    "certificate is not trusted (%s); give its CA with "
		    "--s3-ca-file=FILE", s->bucket, s->scheme, s->host_header,
		    r->err.message);
	else if (r->curl_code != CURLE_OK)
		log_warnx("s3: cannot reach bucket %s at %s://%s: %s",
		    s->bucket, s->scheme, s->host_header, r->err.message);
	else
		log_warnx("s3: cannot list bucket %s at %s://%s: %ld %s %s",
		    s->bucket, s->scheme, s->host_header, r->status,
		    r->err.code, r->err.message);
}

/*
 * One small listing: does the bucket exist, may we read it?  A failure
 * is one line saying why, and a refusal ends the start.
 */
static int
s3_check_bucket(struct s3_store *s)
{
	struct s3_req r;
	int rc;

	s3_req_init(&r, "GET", NULL);
	s3_req_query(&r, "list-type", "2");
	s3_req_query(&r, "max-keys", "1");
	s3_req_query(&r, "prefix", s->prefix);
	r.quiet = true;
	if ((rc = s3_perform(s, &r)) != 0)
		s3_log_check_failure(s, &r, rc);
	s3_req_free(&r);
	return rc;
}

static int
s3_open(const char *location, const struct store_config *cfg,
    struct store **storep)
{
	struct s3_store *s = calloc(1, sizeof(*s));
	struct store_s3_config defaults;
	const struct store_s3_config *c = cfg->s3;
	int rc;

	if (s == NULL)
		return -ENOMEM;
	if (c == NULL) {
		store_s3_config_init(&defaults);
		c = &defaults;
	}
	pthread_once(&curl_once, s3_curl_init);
	s->base.ops = &store_s3_ops;
	rc = s3_tune(s, cfg, c);
	if (rc == 0)
		rc = s3_configure(s, location, c);
	if (rc == 0)
		rc = s3_creds_load(&s->creds, c->credentials_file,
		    c->anonymous);
	if (rc == 0)
		rc = s3_check_bucket(s);
	if (rc != 0) {
		s3_close(&s->base);
		return rc;
	}
	if (s->insecure)
		log_warnx("s3: TLS certificates are NOT verified "
		    "(--s3-insecure): anyone on the path can read and change "
		    "the data");
	log_info("s3: bucket %s, prefix \"%s\", %s://%s (%s), credentials "
	    "from %s, access key %s%s%s", s->bucket, s->prefix, s->scheme,
	    s->host_header, s->path_style ? "path style" : "virtual host",
	    s->creds.source, s3_access_key_id(s),
	    s->ca_pem != NULL ? ", CA certificates of " : "",
	    s->ca_pem != NULL ? (c->ca_file != NULL ? c->ca_file :
	    "the configuration") : "");
	*storep = &s->base;
	return 0;
}

int
s3_head_full(struct s3_store *s, const char *full, struct store_attr *a)
{
	struct s3_req r;
	int rc;

	s3_req_init(&r, "HEAD", full);
	if ((rc = s3_perform(s, &r)) == 0)
		rc = s3_meta_from_headers(&r.resp_hdrs, a);
	s3_req_free(&r);
	return rc;
}

static int
s3_head(struct store *st, const char *key, struct store_attr *a)
{
	char *full;
	int rc;

	if (*key == '\0')
		return -ENOENT;		/* no metadata for the root */
	if ((rc = s3_full_key(s3(st), key, &full)) != 0)
		return rc;
	rc = s3_head_full(s3(st), full, a);
	free(full);
	return rc;
}

/*
 * A READDIRPLUS of an object store needs every entry's metadata, one
 * HEAD each: send them side by side, as a page of entries arrives.
 */
#define S3_HEADS_IN_FLIGHT	16

struct s3_heads {
	struct store		*st;
	const char *const	*keys;
	struct store_attr	*attrs;
	int			*rcs;
};

static void
s3_heads_item(void *arg, size_t i)
{
	struct s3_heads *h = arg;

	h->rcs[i] = s3_head(h->st, h->keys[i], &h->attrs[i]);
}

static void
s3_head_many(struct store *st, const char *const *keys, size_t n,
    struct store_attr *attrs, int *rcs)
{
	struct s3_heads h = { st, keys, attrs, rcs };

	s3_batch_run(&s3(st)->batch, s3_heads_item, &h, n,
	    S3_HEADS_IN_FLIGHT);
}

/* The size from "bytes 0-99/1234", and the ETag. */
static void
s3_obj_info(const struct s3_hdrs *h, struct s3_obj_info *info)
{
	const char *cr = s3_hdrs_get(h, "content-range"), *slash;
	const char *etag = s3_hdrs_get(h, "etag");

	if (cr != NULL && (slash = strchr(cr, '/')) != NULL && slash[1] != '*')
		info->size = strtoull(slash + 1, NULL, 10);
	if (etag != NULL)
		strlcpy(info->etag, etag, sizeof(info->etag));
}

int
s3_get_range(struct s3_store *s, const char *full, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got,
    struct s3_obj_info *info)
{
	size_t len = store_iov_total(iov, iovcnt);
	struct s3_req r;
	int rc;

	*got = 0;
	if (info != NULL)
		*info = (struct s3_obj_info){ .size = UINT64_MAX };
	if (len == 0)
		return 0;
	s3_req_init(&r, "GET", full);
	r.dst = iov;
	r.ndst = iovcnt;
	s3_req_header(&r, "Range", "bytes=%llu-%llu",
	    (unsigned long long)off, (unsigned long long)(off + len - 1));
	rc = s3_perform(s, &r);
	if (rc == 0) {
		*got = r.got;
		__atomic_add_fetch(&s->range_gets, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->range_bytes, r.got, __ATOMIC_RELAXED);
		if (info != NULL)
			s3_obj_info(&r.resp_hdrs, info);
	} else if (r.status == 416) {
		rc = 0;			/* at or past the end */
		if (info != NULL)
			info->size = off;
	}
	s3_req_free(&r);
	return rc;
}

static int
s3_get(struct store *st, const char *key, uint64_t off,
    const struct iovec *iov, unsigned iovcnt, size_t *got)
{
	char *full;
	int rc = s3_full_key(s3(st), key, &full);

	if (rc == 0)
		rc = s3_get_range(s3(st), full, off, iov, iovcnt, got, NULL);
	free(full);
	return rc;
}

/*
 * A conditional write's headers: S3 answers 412 when they do not hold.
 * The ETag goes without its quotes: RGW 16.2 compares the header with
 * its unquoted ETag and refuses the quoted one every time, while AWS and
 * MinIO take either.
 */
void
s3_cond_headers(struct s3_req *r, const struct store_cond *cond)
{
	const char *m = cond != NULL ? cond->if_match : NULL;
	size_t len = m != NULL ? strlen(m) : 0;

	if (cond == NULL)
		return;
	if (cond->if_none_match)
		s3_req_header(r, "If-None-Match", "*");
	else if (len >= 2 && m[0] == '"' && m[len - 1] == '"')
		s3_req_header(r, "If-Match", "%.*s", (int)(len - 2), m + 1);
	else if (len > 0)
		s3_req_header(r, "If-Match", "%s", m);
}

/*
 * A copy of the version cond names only (If-Match's counterpart for the
 * source, unquoted as If-Match is): a chmod that must not rewrite
 * another writer's version.
 */
static void
s3_copy_cond_header(struct s3_req *r, const struct store_cond *cond)
{
	const char *m = cond != NULL ? cond->if_match : NULL;
	size_t len = m != NULL ? strlen(m) : 0;

	if (len >= 2 && m[0] == '"' && m[len - 1] == '"')
		s3_req_header(r, "x-amz-copy-source-if-match", "%.*s",
		    (int)(len - 2), m + 1);
	else if (len > 0)
		s3_req_header(r, "x-amz-copy-source-if-match", "%s", m);
}

/*
 * A 412 to a write sent again: the first try may have been written and
 * only its answer lost, and then the object is ours, not another
 * writer's.  Ours has the size and the mtime objfsd sent.
 */
static int
s3_put_recheck(struct store *st, const char *key, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	struct store_attr now = { 0 };
	int rc = s3_head(st, key, &now);

	if (rc == 0 && (now.size != size || !(attr->has & STORE_ATTR_MTIME) ||
	    now.mtime.tv_sec != attr->mtime.tv_sec ||
	    now.mtime.tv_nsec != attr->mtime.tv_nsec))
		rc = -ECANCELED;
	if (rc == 0)
		memcpy(cond->etag, now.etag, sizeof(cond->etag));
	store_attr_clear(&now);
	return rc == -ENOENT ? -ECANCELED : rc;
}

static int
s3_put(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_attr *attr, struct store_cond *cond)
{
	struct s3_store *s = s3(st);
	struct s3_req r;
	char *full;
	int rc;

	if (s->readonly)
		return -EROFS;
	if ((rc = s3_full_key(s, key, &full)) != 0)
		return rc;
	s3_req_init(&r, "PUT", full);
	if ((rc = s3_meta_to_headers(attr, store_key_is_marker(key),
	    &r.hdrs)) != 0)
		goto out;
	if (fd >= 0 && size > s->upload_cutoff) {
		rc = s3_put_multipart(s, full, fd, size, &r.hdrs, cond);
		goto out;
	}
	if (fd >= 0 && size > 0) {
		r.body_fd = fd;
		r.body_size = size;
	}
	s3_cond_headers(&r, cond);
	rc = s3_perform(s, &r);
	if (rc == -ECANCELED && r.attempts > 1)
		rc = s3_put_recheck(st, key, size, attr, cond);
	else if (rc == 0 && cond != NULL)
		s3_etag_keep(cond->etag, s3_hdrs_get(&r.resp_hdrs, "etag"));
out:
	s3_ra_invalidate(s, full);	/* failed or not: it may have changed */
	s3_req_free(&r);
	free(full);
	return rc;
}

static int
s3_list(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	bool recursive = flags & STORE_LIST_RECURSIVE;
	struct s3_store *s = s3(st);
	char *full, count[16];
	struct s3_req r;
	int rc;

	if ((rc = s3_full_key(s, prefix, &full)) != 0)
		return rc;
	snprintf(count, sizeof(count), "%zu", max < S3_LIST_MAX ? max :
	    S3_LIST_MAX);
	s3_req_init(&r, "GET", NULL);
	s3_req_query(&r, "list-type", "2");
	s3_req_query(&r, "prefix", full);
	s3_req_query(&r, "max-keys", count);
	s3_req_query(&r, "encoding-type", "url");
	if (!recursive)
		s3_req_query(&r, "delimiter", "/");
	if (after != NULL)
		s3_req_query(&r, "continuation-token", after);
	rc = s3_perform(s, &r);
	if (rc == 0)
		rc = s3_parse_list(r.resp.data, r.resp.len, full, out);
	if (rc == -EPROTO)
		log_warnx("s3: unreadable listing of %s", full);
	s3_req_free(&r);
	free(full);
	return rc;
}

static int
s3_remove(struct store *st, const char *key)
{
	struct s3_store *s = s3(st);
	struct s3_req r;
	char *full;
	int rc;

	if (s->readonly)
		return -EROFS;
	if ((rc = s3_full_key(s, key, &full)) != 0)
		return rc;
	s3_req_init(&r, "DELETE", full);
	rc = s3_perform(s, &r);
	s3_ra_invalidate(s, full);
	s3_req_free(&r);
	free(full);
	return rc;
}

/* DeleteObjects wants Content-MD5 of its body. */
static void
s3_content_md5(struct s3_req *r, const char *body, size_t len)
{
	unsigned char md[16], b64[32];
	unsigned int mdlen = 0;

	EVP_Digest(body, len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock(b64, md, 16);
	s3_req_header(r, "Content-MD5", "%s", (char *)b64);
}

static void
s3_free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* The full keys of keys, to drop their read-ahead chunks by. */
static char **
s3_full_keys(struct s3_store *s, const char *const *keys, size_t n)
{
	char **full = calloc(n, sizeof(*full));

	for (size_t i = 0; full != NULL && i < n; i++)
		if (s3_full_key(s, keys[i], &full[i]) != 0) {
			full[i] = NULL;
			s3_free_keys(full, i);
			full = NULL;
		}
	return full;
}

static int
s3_delete_batch(struct s3_store *s, const char *const *keys, size_t n)
{
	char **full = s3_full_keys(s, keys, n);
	struct dbuf body;
	struct s3_req r;
	unsigned failed = 0;
	int rc;

	if (full == NULL)
		return -ENOMEM;
	dbuf_init(&body, S3_RESP_MAX);
	dbuf_adds(&body, "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		dbuf_addf(&body, "<Object><Key>%s", s->prefix);
		s3_xml_escape(&body, keys[i]);
		dbuf_adds(&body, "</Key></Object>");
	}
	dbuf_adds(&body, "</Delete>");
	s3_req_init(&r, "POST", NULL);
	s3_req_body(&r, &body);
	s3_req_query(&r, "delete", "");
	s3_content_md5(&r, body.data != NULL ? body.data : "", body.len);
	s3_req_header(&r, "Content-Type", "application/xml");
	rc = s3_perform(s, &r);
	if (rc == 0)
		rc = s3_parse_delete_result(r.resp.data, r.resp.len, &failed);
	if (rc == 0 && failed > 0) {
		log_warnx("s3: %u of %zu keys could not be deleted", failed, n);
		rc = -EIO;
	}
	for (size_t i = 0; i < n; i++)
		s3_ra_invalidate(s, full[i]);
	s3_free_keys(full, n);
	s3_req_free(&r);
	dbuf_free(&body);
	return rc;
}

static int
s3_remove_many(struct store *st, const char *const *keys, size_t n)
{
	int rc = 0;

	if (s3(st)->readonly)
		return -EROFS;
	for (size_t i = 0; i < n && rc == 0; i += S3_DELETE_MAX)
		rc = s3_delete_batch(s3(st), keys + i, n - i < S3_DELETE_MAX ?
		    n - i : S3_DELETE_MAX);
	return rc;
}

/*
 * CopyObject, replacing the metadata with meta when given; cond, when
 * not NULL, takes the copy's ETag.
 */
int
s3_copy_object(struct s3_store *s, const char *src, const char *dst,
    uint64_t size, const struct store_attr *meta, struct store_cond *cond)
{
	struct s3_hdrs mh = { 0 };
	struct dbuf source;
	struct s3_req r;
	int rc;

	if (meta != NULL && (rc = s3_meta_to_headers(meta,
	    store_key_is_marker(dst), &mh)) != 0)
		return rc;
	if (size > S3_COPY_MAX) {
		rc = s3_copy_multipart(s, src, dst, size, &mh, cond);
		s3_ra_invalidate(s, dst);
		s3_hdrs_free(&mh);
		return rc;
	}
	s3_req_init(&r, "PUT", dst);
	r.hdrs = mh;
	r.error_in_200 = true;
	dbuf_init(&source, 4096);
	dbuf_addf(&source, "/%s/", s->bucket);
	s3_uri_encode(&source, src, true);
	if (source.error != 0)
		rc = source.error;
	else {
		s3_req_header(&r, "x-amz-copy-source", "%s", source.data);
		s3_req_header(&r, "x-amz-metadata-directive", "%s",
		    meta != NULL ? "REPLACE" : "COPY");
		s3_copy_cond_header(&r, cond);
		rc = s3_perform(s, &r);
	}
	if (rc == 0 && cond != NULL)
		(void)s3_parse_result_etag(r.resp.data, r.resp.len,
		    cond->etag);
	s3_ra_invalidate(s, dst);
	dbuf_free(&source);
	s3_req_free(&r);
	return rc;
}

/* Copy src to dst: metadata replaced by attr, else kept. */
static int
s3_copy(struct store *st, const char *src, const char *dst,
    const struct store_attr *attr, const struct store_attr *src_attr)
{
	struct s3_store *s = s3(st);
	struct store_attr cur = { 0 };
	char *fsrc = NULL, *fdst = NULL;
	int rc;

	if (s->readonly)
		return -EROFS;
	/*
	 * The size decides between CopyObject and UploadPartCopy, and parts
	 * cannot copy metadata: a large object needs all of it.
	 */
	if (src_attr != NULL && (src_attr->size <= S3_COPY_MAX ||
	    attr != NULL || (src_attr->has & STORE_ATTR_XATTRS)))
		rc = store_attr_copy(&cur, src_attr);
	else
		rc = s3_head(st, src, &cur);
	if (rc == 0)
		rc = s3_full_key(s, src, &fsrc);
	if (rc == 0)
		rc = s3_full_key(s, dst, &fdst);
	if (rc == 0) {
		if (attr == NULL && cur.size > S3_COPY_MAX)
			attr = &cur;	/* parts cannot COPY metadata */
		rc = s3_copy_object(s, fsrc, fdst, cur.size, attr, NULL);
	}
	store_attr_clear(&cur);
	free(fsrc);
	free(fdst);
	return rc;
}

/* New metadata, same bytes: the object copied onto itself. */
static int
s3_set_attr(struct store *st, const char *key, const struct store_attr *a,
    const struct store_attr *base, struct store_cond *cond)
{
	struct s3_store *s = s3(st);
	struct store_attr cur = { 0 };
	char *full = NULL;
	int rc;

	if (s->readonly)
		return -EROFS;
	/* A copy onto itself replaces every header: start from them all. */
	if (base != NULL && (base->has & STORE_ATTR_XATTRS))
		rc = store_attr_copy(&cur, base);
	else
		rc = s3_head(st, key, &cur);
	if (rc == 0)
		rc = store_attr_merge(&cur, a);
	if (rc == 0)
		rc = s3_full_key(s, key, &full);
	if (rc == 0)
		rc = s3_copy_object(s, full, full, cur.size, &cur, cond);
	store_attr_clear(&cur);
	free(full);
	return rc;
}

/* A bucket has no size: report a very large, mostly free one. */
static int
s3_statfs(struct store *st, struct statvfs *sv)
{
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = 1ULL << 40;
	sv->f_bfree = sv->f_bavail = 1ULL << 39;
	sv->f_files = sv->f_ffree = sv->f_favail = 1ULL << 32;
	sv->f_namemax = STORE_NAME_MAX;
	return 0;
}

static void
s3_report(struct store *st)
{
	s3_stats_log(&s3(st)->stats);
}

const struct store_ops store_s3_ops = {
	.scheme = "s3",
	.usage = "s3://BUCKET[/PREFIX]",
	/* times in x-amz-meta-*time as s3fs; devices in -mode, -rdev */
	.caps = STORE_CAP_NSEC | STORE_CAP_DEVICES,
	.key_max = S3_KEY_MAX,	/* less the prefix: s3_parse_location() */
	.open = s3_open,
	.close = s3_close,
	.head = s3_head,
	.head_many = s3_head_many,
	.get = s3_get,
	.put = s3_put,
	.list = s3_list,
	.remove = s3_remove,
	.remove_many = s3_remove_many,
	.copy = s3_copy,
	.set_attr = s3_set_attr,
	.statfs = s3_statfs,
	.reader_open = s3_reader_open,
	.reader_read = s3_reader_read,
	.reader_close = s3_reader_close,
	.upload_open = s3_upload_open,
	.upload_resume = s3_upload_resume,
	.upload_id = s3_upload_id,
	.upload_offer = s3_upload_offer,
	.upload_acked = s3_upload_acked,
	.upload_wait = s3_upload_wait,
	.upload_finish = s3_upload_finish,
	.upload_abort = s3_upload_abort,
	.upload_drop = s3_upload_drop,
	.upload_limits = s3_upload_limits,
	.report = s3_report,
};
