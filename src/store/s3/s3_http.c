/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 requests over libcurl: target URL, SigV4 headers, bodies streamed
 * from memory or a file, replies into the caller's buffers, and retries
 * with backoff for what can succeed on a second try.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "s3_internal.h"

#define S3_URL_MAX	(16u << 10)

int
s3_hdrs_add(struct s3_hdrs *h, const char *name, const char *value)
{
	struct s3_kv *v;
	char *n, *val;

	if (h->error != 0)
		return h->error;
	if ((v = reallocarray(h->v, h->n + 1, sizeof(*v))) == NULL)
		return h->error = -ENOMEM;
	h->v = v;
	n = strdup(name);
	val = strdup(value);
	if (n == NULL || val == NULL) {
		free(n);
		free(val);
		return h->error = -ENOMEM;
	}
	h->v[h->n++] = (struct s3_kv){ n, val };
	return 0;
}

/* Case-insensitive, as HTTP header names are. */
const char *
s3_hdrs_get(const struct s3_hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].key, name) == 0)
			return h->v[i].value;
	return NULL;
}

void
s3_hdrs_free(struct s3_hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free((char *)h->v[i].key);
		free((char *)h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
	h->error = 0;
}

void
s3_req_init(struct s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->key = key;
	r->body_fd = -1;
	dbuf_init(&r->resp, S3_RESP_MAX);
}

void
s3_req_free(struct s3_req *r)
{
	for (size_t i = 0; i < r->nquery; i++) {
		free((char *)r->query[i].key);
		free((char *)r->query[i].value);
	}
	s3_hdrs_free(&r->hdrs);
	s3_hdrs_free(&r->resp_hdrs);
	dbuf_free(&r->resp);
}

/* The first failure of a build step sticks; the rest do nothing. */
static void
s3_req_fail(struct s3_req *r, int rc)
{
	if (r->error == 0)
		r->error = rc;
}

void
s3_req_query(struct s3_req *r, const char *key, const char *value)
{
	char *k, *v;

	if (r->error != 0)
		return;
	if (r->nquery == sizeof(r->query) / sizeof(r->query[0])) {
		s3_req_fail(r, -E2BIG);
		return;
	}
	k = strdup(key);
	v = strdup(value != NULL ? value : "");
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		s3_req_fail(r, -ENOMEM);
		return;
	}
	r->query[r->nquery++] = (struct s3_kv){ k, v };
}

void
s3_req_header(struct s3_req *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *value;
	int n;

	if (r->error != 0)
		return;
	va_start(ap, fmt);
	n = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (n == -1) {
		s3_req_fail(r, -ENOMEM);
		return;
	}
	if (s3_hdrs_add(&r->hdrs, name, value) != 0)
		s3_req_fail(r, r->hdrs.error);
	free(value);
}

/* Every header of h, copied (metadata built beforehand). */
void
s3_req_headers(struct s3_req *r, const struct s3_hdrs *h)
{
	if (h->error != 0)
		s3_req_fail(r, h->error);
	for (size_t i = 0; i < h->n && r->error == 0; i++)
		s3_req_header(r, h->v[i].key, "%s", h->v[i].value);
}

/* An XML body built in a dbuf; it must outlive the request. */
void
s3_req_body(struct s3_req *r, const struct dbuf *body)
{
	if (body->error != 0)
		s3_req_fail(r, body->error);
	r->body = body->data;
	r->body_len = body->len;
}

int
s3_full_key(struct s3_store *s, const char *key, char **full)
{
	return asprintf(full, "%s%s", s->prefix, key) == -1 ? -ENOMEM : 0;
}

static CURL *
s3_pool_get(struct s3_store *s)
{
	CURL *c = NULL;

	pthread_mutex_lock(&s->pool_lock);
	if (s->npool > 0)
		c = s->pool[--s->npool];
	pthread_mutex_unlock(&s->pool_lock);
	return c != NULL ? c : curl_easy_init();
}

/* Idle handles keep their connections: the next request reuses one. */
static void
s3_pool_put(struct s3_store *s, CURL *c)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (c != NULL)
		curl_easy_cleanup(c);
}

void
s3_pool_free(struct s3_store *s)
{
	while (s->npool > 0)
		curl_easy_cleanup(s->pool[--s->npool]);
}

/* The path as signed, and the URL as sent. */
static int
s3_target(struct s3_store *s, const struct s3_req *r, struct dbuf *path,
    struct dbuf *url)
{
	if (s->path_style)
		dbuf_addf(path, "/%s%s%s", s->bucket, r->key ? "/" : "",
		    r->key ? r->key : "");
	else
		dbuf_addf(path, "/%s", r->key ? r->key : "");
	dbuf_addf(url, "%s://%s", s->scheme, s->host_header);
	s3_uri_encode(url, dbuf_str(path), true);
	for (size_t i = 0; i < r->nquery; i++) {
		dbuf_adds(url, i == 0 ? "?" : "&");
		s3_uri_encode(url, r->query[i].key, false);
		dbuf_adds(url, "=");
		s3_uri_encode(url, r->query[i].value, false);
	}
	return path->error != 0 ? path->error : url->error;
}

static int
s3_add_header(struct curl_slist **list, const char *name, const char *value)
{
	char *line;
	struct curl_slist *l;

	if (asprintf(&line, "%s: %s", name, value) == -1)
		return -ENOMEM;
	l = curl_slist_append(*list, line);
	free(line);
	if (l == NULL)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* Every header to send, signed (all of them) unless anonymous. */
static int
s3_sign_headers(struct s3_store *s, const struct s3_req *r, const char *path,
    struct curl_slist **list)
{
	char date[17], hash[65];
	struct s3_hdrs all = { 0 };
	struct dbuf auth;
	int rc;

	s3_amz_date(time(NULL), date);
	if (r->body_fd >= 0)
		strlcpy(hash, S3_UNSIGNED_PAYLOAD, sizeof(hash));
	else
		s3_sha256_hex(r->body != NULL ? r->body : "", r->body_len,
		    hash);
	dbuf_init(&auth, 4096);
	s3_hdrs_add(&all, "Host", s->host_header);
	s3_hdrs_add(&all, "x-amz-date", date);
	s3_hdrs_add(&all, "x-amz-content-sha256", hash);
	if (s->creds.session_token != NULL)
		s3_hdrs_add(&all, "x-amz-security-token",
		    s->creds.session_token);
	for (size_t i = 0; i < r->hdrs.n; i++)
		s3_hdrs_add(&all, r->hdrs.v[i].key, r->hdrs.v[i].value);
	rc = all.error;
	if (rc == 0 && !s->anonymous) {
		struct s3_sign_req sr = { .method = r->method, .path = path,
		    .query = r->query, .nquery = r->nquery, .headers = all.v,
		    .nheaders = all.n, .payload_hash = hash, .amz_date = date,
		    .region = s->region, .service = "s3",
		    .access_key = s->creds.access_key,
		    .secret_key = s->creds.secret_key };

		if ((rc = s3_sign(&sr, &auth)) == 0)
			rc = s3_add_header(list, "Authorization", auth.data);
	}
	for (size_t i = 0; i < all.n && rc == 0; i++)
		rc = s3_add_header(list, all.v[i].key, all.v[i].value);
	/* No 100-continue round trip before every upload. */
	if (rc == 0 && curl_slist_append(*list, "Expect:") == NULL)
		rc = -ENOMEM;
	s3_hdrs_free(&all);
	if (auth.data != NULL)
		explicit_bzero(auth.data, auth.len);
	dbuf_free(&auth);
	return rc;
}

static size_t
s3_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb, left = n;
	long status = 0;

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (r->dst == NULL || status < 200 || status >= 300)
		return dbuf_add(&r->resp, p, n) == 0 ? n : 0;
	/* Straight into the caller's buffers: guest memory, often. */
	for (size_t i = 0, pos = 0; i < r->ndst && left > 0;
	    pos += r->dst[i].iov_len, i++) {
		size_t off, c;

		if (r->got >= pos + r->dst[i].iov_len)
			continue;
		off = r->got - pos;
		c = r->dst[i].iov_len - off < left ? r->dst[i].iov_len - off :
		    left;
		memcpy((char *)r->dst[i].iov_base + off, p, c);
		p += c;
		left -= c;
		r->got += c;
	}
	return left == 0 ? n : 0;	/* more than asked: an error */
}

static size_t
s3_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb, vlen;
	char *colon, *name, *value;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		s3_hdrs_free(&r->resp_hdrs);	/* a new response (100, 200) */
		return n;
	}
	if ((colon = memchr(line, ':', n)) == NULL)
		return n;
	name = strndup(line, (size_t)(colon - line));
	for (colon++; colon < line + n && *colon == ' '; colon++)
		;
	vlen = (size_t)(line + n - colon);
	while (vlen > 0 && (colon[vlen - 1] == '\r' || colon[vlen - 1] == '\n'))
		vlen--;
	value = strndup(colon, vlen);
	if (name == NULL || value == NULL ||
	    s3_hdrs_add(&r->resp_hdrs, name, value) != 0)
		n = 0;
	free(name);
	free(value);
	return n;
}

static size_t
s3_read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	uint64_t total = r->body_fd >= 0 ? r->body_size : r->body_len;
	size_t want = size * nmemb;
	ssize_t n;

	if (want > total - r->sent)
		want = (size_t)(total - r->sent);
	if (want == 0)
		return 0;
	if (r->body_fd < 0) {
		memcpy(buf, r->body + r->sent, want);
		n = (ssize_t)want;
	} else {
		n = pread(r->body_fd, buf, want, (off_t)(r->body_off + r->sent));
		if (n <= 0)
			return CURL_READFUNC_ABORT;	/* file shorter than said */
	}
	r->sent += (uint64_t)n;
	return (size_t)n;
}

/*
 * curl sends a body again when a kept-alive connection turns out dead
 * (and on redirects and auth rounds): it rewinds it here first.  Without
 * this, such a resend fails the attempt with CURLE_SEND_FAIL_REWIND.
 */
static int
s3_seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3_req *r = arg;
	uint64_t total = r->body_fd >= 0 ? r->body_size : r->body_len;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > total)
		return CURL_SEEKFUNC_CANTSEEK;
	r->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static void
s3_set_method(CURL *c, struct s3_req *r)
{
	uint64_t len = r->body_fd >= 0 ? r->body_size : r->body_len;

	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, s3_read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, r);
	curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, s3_seek_cb);
	curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
}

/*
 * Certificates: not checked at all (--s3-insecure), or checked against
 * the CA bundle given at start (in memory: the sandbox has no file of
 * it), or against the system's.
 */
static void
s3_set_tls(struct s3_store *s, CURL *c)
{
	struct curl_blob ca = { .data = s->ca_pem, .len = s->ca_len,
	    .flags = CURL_BLOB_NOCOPY };

	if (s->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (s->ca_pem != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	}
}

static CURLcode
s3_attempt(struct s3_store *s, struct s3_req *r)
{
	struct dbuf path, url;
	struct curl_slist *hdrs = NULL;
	CURL *c = r->curl;
	CURLcode cc = CURLE_OUT_OF_MEMORY;

	dbuf_init(&path, S3_URL_MAX);
	dbuf_init(&url, S3_URL_MAX);
	if (s3_target(s, r, &path, &url) != 0 ||
	    s3_sign_headers(s, r, path.data, &hdrs) != 0)
		goto out;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/* Bodies are megabytes: move them in large reads and writes. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
	/*
	 * A stalled transfer is a failed one (and retried): under 1 KiB/s
	 * for the timeout.  A small request (no body from a file, no data
	 * into the guest) must be done within it altogether, so a server
	 * trickling bytes cannot hold it; copies and completions of big
	 * uploads work server-side for as long as the object is big.
	 */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, S3_MIN_RATE);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->stall_timeout);
	if (r->body_fd < 0 && r->dst == NULL && !r->error_in_200)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, s->stall_timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	/* What went wrong, in words: which certificate check failed. */
	r->curl_error[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_error);
	s3_set_tls(s, c);
	s3_set_method(c, r);
	cc = curl_easy_perform(c);
	r->curl_code = cc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
out:
	curl_slist_free_all(hdrs);
	dbuf_free(&path);
	dbuf_free(&url);
	return cc;
}

static void
s3_reset_reply(struct s3_req *r)
{
	r->got = 0;
	r->sent = 0;
	r->status = 0;
	dbuf_reset(&r->resp);
	s3_hdrs_free(&r->resp_hdrs);
	memset(&r->err, 0, sizeof(r->err));
}

static void
s3_backoff(unsigned attempt)
{
	unsigned ms = s3_backoff_ms(attempt, arc4random());
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * A ranged GET of an empty object: some servers (s3rver) answer 206 with
 * "Content-Range: bytes 0-0/0" and a length they never send.  It is the
 * end of the object, not an error.
 */
static bool
s3_empty_range(const struct s3_req *r)
{
	const char *cr = s3_hdrs_get(&r->resp_hdrs, "content-range");
	size_t len = cr != NULL ? strlen(cr) : 0;

	return r->dst != NULL && r->status == 206 && len >= 2 &&
	    strcmp(cr + len - 2, "/0") == 0;
}

/* The outcome of one attempt: 0, -errno, or 1 to try again. */
static int
s3_judge(struct s3_store *s, struct s3_req *r, CURLcode cc, unsigned attempt)
{
	bool more = attempt < s->retries;

	if (s3_empty_range(r)) {
		r->got = 0;
		return 0;
	}
	if (cc != CURLE_OK) {
		if (s3_curl_retryable(cc) && more) {
			/* A stall costs up to the timeout: say which. */
			log_info("s3: %s %s: %s; trying again (%u of %u)",
			    r->method, r->key ? r->key : "/",
			    curl_easy_strerror(cc), attempt + 1, s->retries);
			return 1;
		}
		log_debug("s3: %s %s: %s", r->method, r->key ? r->key : "/",
		    curl_easy_strerror(cc));
		snprintf(r->err.code, sizeof(r->err.code), "curl");
		snprintf(r->err.message, sizeof(r->err.message), "%s",
		    r->curl_error[0] != '\0' ? r->curl_error :
		    curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	if (r->status >= 200 && r->status < 300 && (!r->error_in_200 ||
	    s3_parse_error(r->resp.data, r->resp.len, &r->err) != 0))
		return 0;
	if (r->status >= 300)
		(void)s3_parse_error(r->resp.data, r->resp.len, &r->err);
	if (s3_status_retryable(r->status >= 300 ? r->status : 500,
	    r->err.code) && more)
		return 1;
	return s3_errno_for(r->status >= 300 ? r->status : 500, r->err.code);
}

/*
 * Credentials that went bad while serving (a key removed, a secret
 * changed, a session token expired) fail every request alike: the log
 * says so once per S3_DENIED_QUIET_NS, with how many were refused
 * since, instead of once per request.  The guest gets EACCES each time.
 */
static void
s3_log_denied(struct s3_store *s, const struct s3_req *r)
{
	int64_t now = monotime_ns();
	unsigned quiet = 0;
	char more[64];
	bool say;

	pthread_mutex_lock(&s->denied_lock);
	say = s->denied_logged_ns == 0 ||
	    now - s->denied_logged_ns >= S3_DENIED_QUIET_NS;
	if (say) {
		quiet = s->denied_quiet;
		s->denied_quiet = 0;
		s->denied_logged_ns = now;
	} else
		s->denied_quiet++;
	pthread_mutex_unlock(&s->denied_lock);
	if (!say)
		return;
	snprintf(more, sizeof(more), " (%u more since the last line)", quiet);
	log_warnx("s3: access key %s refused by %s://%s: %s %s: %ld %s; "
	    "requests fail with EACCES, logged once per %llds%s",
	    s3_access_key_id(s), s->scheme, s->host_header, r->method,
	    r->key ? r->key : "/", r->status,
	    r->err.code[0] != '\0' ? r->err.code : "(no error code)",
	    S3_DENIED_QUIET_NS / 1000000000LL, quiet > 0 ? more : "");
}

int
s3_perform(struct s3_store *s, struct s3_req *r)
{
	int rc;

	if (r->error != 0 || (rc = r->hdrs.error) != 0) {
		rc = r->error != 0 ? r->error : rc;
		log_warnx("s3: %s %s not sent: %s", r->method,
		    r->key ? r->key : "/", strerror(-rc));
		return rc;
	}
	if ((r->curl = s3_pool_get(s)) == NULL)
		return -ENOMEM;
	for (unsigned attempt = 0;; attempt++) {
		CURLcode cc;

		int64_t t0 = monotime_us();

		s3_reset_reply(r);
		s3_stats_start(&s->stats);
		cc = s3_attempt(s, r);
		r->attempts = attempt + 1;
		s3_stats_count(&s->stats, r, cc != CURLE_OK,
		    monotime_us() - t0);
		if ((rc = s3_judge(s, r, cc, attempt)) != 1)
			break;
		log_debug("s3: %s %s: %ld %s, retrying", r->method,
		    r->key ? r->key : "/", r->status, r->err.code);
		s3_backoff(attempt);
	}
	s3_pool_put(s, r->curl);
	r->curl = NULL;
	/*
	 * Missing keys, reads past the end and failed conditions are
	 * answers, not failures.
	 */
	if (rc == 0 || rc == -ENOENT || rc == -ECANCELED || r->quiet ||
	    (r->dst != NULL && r->status == 416))
		return rc;
	if (r->status == 401 || r->status == 403)
		s3_log_denied(s, r);
	else
		log_warnx("s3: %s %s failed: %ld %s %s", r->method,
		    r->key ? r->key : "/", r->status, r->err.code,
		    r->err.message);
	return rc;
}
