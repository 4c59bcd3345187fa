/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 responses, errors and the retry policy.
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3_proto.h"
#include "s3_xml.h"

#define BACKOFF_BASE_MS	50
#define BACKOFF_CAP_MS	2000

/* 0 when body is an <Error> document; its code and message in e. */
int
s3_parse_error(const char *body, size_t len, struct s3_error *e)
{
	struct xml_node *root;
	const char *code, *msg;
	int rc;

	memset(e, 0, sizeof(*e));
	if (len == 0 || (rc = s3_xml_parse(body, len, &root)) != 0)
		return -EPROTO;
	if (strcmp(root->name, "Error") != 0) {
		s3_xml_free(root);
		return -ENOENT;
	}
	code = s3_xml_text(root, "Code");
	msg = s3_xml_text(root, "Message");
	strlcpy(e->code, code != NULL ? code : "", sizeof(e->code));
	strlcpy(e->message, msg != NULL ? msg : "", sizeof(e->message));
	s3_xml_free(root);
	return 0;
}

static const struct {
	const char	*code;
	int		 err;
} s3_codes[] = {
	{ "NoSuchKey", -ENOENT },
	{ "NoSuchBucket", -ENOENT },
	{ "NoSuchUpload", -ENOENT },
	{ "AccessDenied", -EACCES },
	{ "AllAccessDisabled", -EACCES },
	{ "InvalidAccessKeyId", -EACCES },
	{ "SignatureDoesNotMatch", -EACCES },
	{ "ExpiredToken", -EACCES },
	{ "EntityTooLarge", -EFBIG },
	{ "InvalidRange", -EINVAL },
	{ "InvalidArgument", -EINVAL },
	{ "KeyTooLongError", -ENAMETOOLONG },
	{ "PreconditionFailed", -ECANCELED },	/* If-Match, If-None-Match */
	{ "BucketAlreadyExists", -EEXIST },
	{ "NotImplemented", -ENOSYS },
	{ "QuotaExceeded", -EDQUOT },
};

int
s3_errno_for(long status, const char *code)
{
	for (size_t i = 0; code != NULL && i < sizeof(s3_codes) /
	    sizeof(s3_codes[0]); i++)
		if (strcmp(code, s3_codes[i].code) == 0)
			return s3_codes[i].err;
	switch (status) {
	case 404:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 412:
		return -ECANCELED;
	case 416:
		return -EINVAL;
	case 501:
		return -ENOSYS;
	default:
		return -EIO;
	}
}

bool
s3_status_retryable(long status, const char *code)
{
	static const char *const transient[] = {
		"SlowDown", "InternalError", "RequestTimeout",
		"ServiceUnavailable", "RequestTimeTooSkewed", "Throttling",
	};

	for (size_t i = 0; code != NULL && i < sizeof(transient) /
	    sizeof(transient[0]); i++)
		if (strcmp(code, transient[i]) == 0)
			return true;
	return status >= 500 || status == 429 || status == 408;
}

bool
s3_curl_retryable(int c)
{
	switch ((CURLcode)c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* "Full jitter": anywhere up to an exponentially growing ceiling. */
unsigned
s3_backoff_ms(unsigned attempt, uint32_t random)
{
	unsigned ceiling = BACKOFF_CAP_MS;

	if (attempt < 16 && (BACKOFF_BASE_MS << attempt) < BACKOFF_CAP_MS)
		ceiling = BACKOFF_BASE_MS << attempt;
	return random % (ceiling + 1);
}

int
s3_url_decode(const char *s, char **out)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	if (o == NULL)
		return -ENOMEM;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], 0 };

			*p++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else
			*p++ = *s == '+' ? ' ' : *s;
	}
	*p = '\0';
	*out = o;
	return 0;
}

int
s3_parse_iso8601(const char *s, struct timespec *ts)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -EINVAL;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = 0;
	if (*rest == '.') {
		long frac = 0, scale = 100000000;

		for (rest++; isdigit((unsigned char)*rest); rest++) {
			frac += (*rest - '0') * scale;
			scale /= 10;
		}
		ts->tv_nsec = frac;
	}
	return *rest == 'Z' || *rest == '\0' ? 0 : -EINVAL;
}

int
s3_parse_http_date(const char *s, struct timespec *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return -EINVAL;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = 0;
	return 0;
}

/* A key or prefix from a listing, %-decoded when the response says so. */
static int
list_name(const char *raw, bool url, const char *prefix, char **name)
{
	size_t plen = strlen(prefix);
	char *key;
	int rc;

	if (url)
		rc = s3_url_decode(raw, &key);
	else
		rc = (key = strdup(raw)) != NULL ? 0 : -ENOMEM;
	if (rc != 0)
		return rc;
	if (strncmp(key, prefix, plen) != 0) {
		free(key);
		return -ENOENT;		/* not below what was asked: skip */
	}
	memmove(key, key + plen, strlen(key + plen) + 1);
	*name = key;
	return 0;
}

/*
 * A listing and a HEAD must name one version alike: the ETag without its
 * quotes (a list body has them as entities, a header as they are) and
 * Last-Modified to the second (a header has no finer).
 */
uint64_t
s3_version(const char *etag, const struct timespec *modified)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	if (etag == NULL || etag[0] == '\0')
		return 0;
	for (const char *p = etag; *p != '\0'; p++)
		if (*p != '"')
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((uint64_t)modified->tv_sec >> (8 * i) & 0xff)) *
		    1099511628211ULL;
	return h != 0 ? h : 1;
}

/*
 * An ETag as the object's version for a later If-Match: kept in quotes
 * as a header carries it, whichever way it came; "" when absent or too
 * long to keep.
 */
void
s3_etag_keep(char etag[STORE_ETAG_MAX], const char *from)
{
	size_t len = from != NULL ? strlen(from) : 0;
	bool quoted = len >= 2 && from[0] == '"' && from[len - 1] == '"';

	etag[0] = '\0';
	if (len == 0 || len + (quoted ? 0 : 2) >= STORE_ETAG_MAX)
		return;
	if (quoted)
		memcpy(etag, from, len + 1);
	else
		snprintf(etag, STORE_ETAG_MAX, "\"%s\"", from);
}

static int
list_add_object(const struct xml_node *c, bool url, const char *prefix,
    struct store_listing *out)
{
	struct store_attr a = { 0 };
	const char *size = s3_xml_text(c, "Size");
	char *name;
	int rc = list_name(s3_xml_text(c, "Key") ? s3_xml_text(c, "Key") : "",
	    url, prefix, &name);

	if (rc != 0)
		return rc == -ENOENT ? 0 : rc;
	a.size = size != NULL ? strtoull(size, NULL, 10) : 0;
	if (s3_parse_iso8601(s3_xml_text(c, "LastModified"), &a.mtime) == 0) {
		a.has |= STORE_ATTR_MTIME;
		a.version = s3_version(s3_xml_text(c, "ETag"), &a.mtime);
	}
	s3_etag_keep(a.etag, s3_xml_text(c, "ETag"));
	rc = store_listing_add(out, name, false, &a, false);
	free(name);
	return rc;
}

static int
list_add_prefix(const struct xml_node *c, bool url, const char *prefix,
    struct store_listing *out)
{
	char *name;
	size_t len;
	int rc = list_name(s3_xml_text(c, "Prefix") ? s3_xml_text(c, "Prefix") :
	    "", url, prefix, &name);

	if (rc != 0)
		return rc == -ENOENT ? 0 : rc;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '/')
		name[len - 1] = '\0';
	rc = store_listing_add(out, name, true, NULL, false);
	free(name);
	return rc;
}

/*
 * The head of one of the two runs being merged: its element and its key,
 * decoded: with encoding-type=url the comparison must be of the keys, not
 * of their encodings (RGW encodes the '/' of a key but not of a prefix).
 */
struct list_run {
	const struct xml_node	*n;
	const char		*elem;	/* "Contents" or "CommonPrefixes" */
	char			*key;
};

static int
list_run_load(struct list_run *r, bool url)
{
	const char *raw;

	free(r->key);
	r->key = NULL;
	if (r->n == NULL)
		return 0;
	raw = s3_xml_text(r->n, strcmp(r->elem, "Contents") == 0 ? "Key" :
	    "Prefix");
	if (raw == NULL)
		raw = "";
	if (url)
		return s3_url_decode(raw, &r->key);
	return (r->key = strdup(raw)) != NULL ? 0 : -ENOMEM;
}

static int
list_run_next(struct list_run *r, bool url)
{
	r->n = s3_xml_next(r->n, r->elem);
	return list_run_load(r, url);
}

/*
 * ListObjectsV2: Contents and CommonPrefixes merged in key order (S3
 * sends them as two runs), names relative to prefix.
 */
int
s3_parse_list(const char *body, size_t len, const char *prefix,
    struct store_listing *out)
{
	struct list_run obj = { .elem = "Contents" };
	struct list_run pre = { .elem = "CommonPrefixes" };
	struct xml_node *root;
	const char *enc, *trunc, *next;
	bool url;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = s3_xml_parse(body, len, &root)) != 0)
		return rc;
	if (strcmp(root->name, "ListBucketResult") != 0) {
		s3_xml_free(root);
		return -EPROTO;
	}
	enc = s3_xml_text(root, "EncodingType");
	url = enc != NULL && strcmp(enc, "url") == 0;
	obj.n = s3_xml_child(root, "Contents");
	pre.n = s3_xml_child(root, "CommonPrefixes");
	rc = list_run_load(&obj, url);
	if (rc == 0)
		rc = list_run_load(&pre, url);
	while (rc == 0 && (obj.n != NULL || pre.n != NULL)) {
		if (pre.n == NULL || (obj.n != NULL &&
		    strcmp(obj.key, pre.key) <= 0)) {
			rc = list_add_object(obj.n, url, prefix, out);
			if (rc == 0)
				rc = list_run_next(&obj, url);
		} else {
			rc = list_add_prefix(pre.n, url, prefix, out);
			if (rc == 0)
				rc = list_run_next(&pre, url);
		}
	}
	free(obj.key);
	free(pre.key);
	trunc = s3_xml_text(root, "IsTruncated");
	next = s3_xml_text(root, "NextContinuationToken");
	if (rc == 0 && trunc != NULL && strcmp(trunc, "true") == 0) {
		if (next == NULL || *next == '\0')
			rc = -EPROTO;	/* truncated, and no way on */
		else if ((out->next = strdup(next)) == NULL)
			rc = -ENOMEM;
	}
	s3_xml_free(root);
	if (rc != 0)
		store_listing_clear(out);
	return rc;
}

int
s3_parse_upload_id(const char *body, size_t len, char **id)
{
	struct xml_node *root;
	const char *text;
	int rc;

	*id = NULL;
	if ((rc = s3_xml_parse(body, len, &root)) != 0)
		return rc;
	text = s3_xml_text(root, "UploadId");
	if (strcmp(root->name, "InitiateMultipartUploadResult") != 0 ||
	    text == NULL || *text == '\0')
		rc = -EPROTO;
	else if ((*id = strdup(text)) == NULL)
		rc = -ENOMEM;
	s3_xml_free(root);
	return rc;
}

/*
 * The new object's ETag in a CopyObjectResult or
 * CompleteMultipartUploadResult; "" when the body has none.
 */
int
s3_parse_result_etag(const char *body, size_t len, char etag[STORE_ETAG_MAX])
{
	struct xml_node *root;
	int rc;

	etag[0] = '\0';
	if ((rc = s3_xml_parse(body, len, &root)) != 0)
		return rc;
	s3_etag_keep(etag, s3_xml_text(root, "ETag"));
	s3_xml_free(root);
	return 0;
}

/* DeleteObjects answers 200 with an <Error> per key it could not delete. */
int
s3_parse_delete_result(const char *body, size_t len, unsigned *failed)
{
	struct xml_node *root;
	int rc;

	*failed = 0;
	if ((rc = s3_xml_parse(body, len, &root)) != 0)
		return rc;
	if (strcmp(root->name, "DeleteResult") != 0)
		rc = -EPROTO;
	for (const struct xml_node *e = s3_xml_child(root, "Error");
	    rc == 0 && e != NULL; e = s3_xml_next(e, "Error"))
		(*failed)++;
	s3_xml_free(root);
	return rc;
}

/*
 * One page of ListParts: the parts appended to *parts (n of them, cap
 * allocated), *next the marker of the next page, 0 at the end.
 */
int
s3_parse_parts(const char *body, size_t len, struct s3_listed_part **parts,
    size_t *n, size_t *cap, unsigned *next)
{
	const struct xml_node *p;
	struct xml_node *root;
	const char *t;
	int rc;

	*next = 0;
	if ((rc = s3_xml_parse(body, len, &root)) != 0)
		return rc;
	if (strcmp(root->name, "ListPartsResult") != 0)
		rc = -EPROTO;
	for (p = s3_xml_child(root, "Part"); rc == 0 && p != NULL;
	    p = s3_xml_next(p, "Part")) {
		const char *num = s3_xml_text(p, "PartNumber");
		const char *size = s3_xml_text(p, "Size");
		const char *etag = s3_xml_text(p, "ETag");
		struct s3_listed_part *lp;
		char *end;

		if (num == NULL || size == NULL || etag == NULL) {
			rc = -EPROTO;
			break;
		}
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			void *np = reallocarray(*parts, ncap, sizeof(**parts));

			if (np == NULL) {
				rc = -ENOMEM;
				break;
			}
			*parts = np;
			*cap = ncap;
		}
		lp = &(*parts)[*n];
		errno = 0;
		lp->number = strtoul(num, &end, 10);
		if (errno != 0 || *end != '\0' || lp->number == 0 ||
		    lp->number > 10000) {
			rc = -EPROTO;
			break;
		}
		lp->size = strtoull(size, &end, 10);
		if (errno != 0 || *end != '\0' ||
		    (lp->etag = strdup(etag)) == NULL) {
			rc = errno != 0 || *end != '\0' ? -EPROTO : -ENOMEM;
			break;
		}
		(*n)++;
	}
	t = s3_xml_text(root, "IsTruncated");
	if (rc == 0 && t != NULL && strcmp(t, "true") == 0) {
		t = s3_xml_text(root, "NextPartNumberMarker");
		*next = t != NULL ? (unsigned)strtoul(t, NULL, 10) : 0;
		if (*next == 0)
			rc = -EPROTO;	/* more, but from where? */
	}
	s3_xml_free(root);
	return rc;
}
