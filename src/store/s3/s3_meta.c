/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Object metadata as S3 user metadata, in the names s3fs uses so that a
 * bucket written by either tool reads well in the other:
 *
 *   x-amz-meta-mode    st_mode in decimal, file type bits included
 *   x-amz-meta-uid, -gid
 *   x-amz-meta-rdev    a device node's st_rdev, the decimal dev_t
 *                      (glibc's makedev), as the tools that keep one
 *                      write it; s3fs-fuse keeps none (its mknod drops
 *                      the number) but leaves ours alone on a chmod
 *   x-amz-meta-mtime, -ctime, -atime   decimal seconds[.nanoseconds]
 *   x-amz-meta-xattr   URL-encoded JSON: {"user.name":"base64 value"}
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "s3_internal.h"

static int
add_u64(struct s3_hdrs *h, const char *name, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return s3_hdrs_add(h, name, buf);
}

/*
 * Whole seconds, then nine digits of nanoseconds when there are any: the
 * form s3fs writes and reads (older s3fs and other tools read the
 * seconds before the dot).
 */
static int
add_time(struct s3_hdrs *h, const char *name, const struct timespec *ts)
{
	char buf[40];

	if (ts->tv_nsec > 0 && ts->tv_nsec < 1000000000)
		snprintf(buf, sizeof(buf), "%lld.%09ld", (long long)ts->tv_sec,
		    ts->tv_nsec);
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)ts->tv_sec);
	return s3_hdrs_add(h, name, buf);
}

/* {"name":"base64",...}, URL-encoded, as s3fs writes it. */
int
s3_xattrs_encode(const struct store_attr *a, struct dbuf *out)
{
	struct dbuf json;

	dbuf_init(&json, S3_META_MAX * 2);
	dbuf_adds(&json, "{");
	for (unsigned i = 0; i < a->nxattrs; i++) {
		const struct store_xattr *x = &a->xattrs[i];
		size_t b64len = 4 * ((x->len + 2) / 3) + 1;
		unsigned char *b64 = malloc(b64len);

		if (b64 == NULL)
			return -ENOMEM;
		EVP_EncodeBlock(b64, x->value, (int)x->len);
		/* Names come from guests: no quotes or backslashes in JSON. */
		if (strpbrk(x->name, "\"\\") != NULL) {
			free(b64);
			dbuf_free(&json);
			return -EINVAL;
		}
		dbuf_addf(&json, "%s\"%s\":\"%s\"", i > 0 ? "," : "", x->name,
		    (char *)b64);
		free(b64);
	}
	dbuf_adds(&json, "}");
	if (json.error == 0)
		s3_uri_encode(out, json.data, false);
	dbuf_free(&json);
	return json.error != 0 ? json.error : out->error;
}

static void
skip_ws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

/* Never steps over the terminating NUL of a truncated document. */
static int
expect_char(const char **p, char c)
{
	if (**p != c)
		return -EPROTO;
	(*p)++;
	return 0;
}

/* A JSON string without escapes other than \" and \\; into a copy. */
static int
json_string(const char **p, char **out)
{
	const char *s = *p;
	char *o, *w;

	if (*s != '"')
		return -EPROTO;
	if ((w = o = malloc(strlen(s))) == NULL)
		return -ENOMEM;
	for (s++; *s != '"'; s++) {
		if (*s == '\0' || (*s == '\\' && s[1] != '"' && s[1] != '\\')) {
			free(o);
			return -EPROTO;
		}
		if (*s == '\\')
			s++;
		*w++ = *s;
	}
	*w = '\0';
	*p = s + 1;
	*out = o;
	return 0;
}

static int
base64_value(struct store_attr *a, const char *name, const char *b64)
{
	size_t len = strlen(b64), pad = 0;
	unsigned char *v;
	int n, rc;

	if (len % 4 != 0)
		return -EPROTO;
	if ((v = malloc(len / 4 * 3 + 1)) == NULL)
		return -ENOMEM;
	n = EVP_DecodeBlock(v, (const unsigned char *)b64, (int)len);
	while (len > 0 && b64[--len] == '=' && pad < 2)
		pad++;
	rc = n < 0 ? -EPROTO : store_xattr_set(a, name, v, (size_t)n - pad);
	free(v);
	return rc;
}

/* What another tool wrote may be anything: garbage is -EPROTO. */
int
s3_xattrs_decode(const char *header, struct store_attr *a)
{
	const char *p;
	char *json, *name = NULL, *value = NULL;
	int rc;

	if ((rc = s3_url_decode(header, &json)) != 0)
		return rc;
	p = json;
	skip_ws(&p);
	rc = expect_char(&p, '{');
	skip_ws(&p);
	while (rc == 0 && *p != '}') {
		if ((rc = json_string(&p, &name)) == 0) {
			skip_ws(&p);
			rc = expect_char(&p, ':');
			skip_ws(&p);
		}
		if (rc == 0 && (rc = json_string(&p, &value)) == 0)
			rc = base64_value(a, name, value);
		free(name);
		free(value);
		name = value = NULL;
		skip_ws(&p);
		if (rc == 0 && *p == ',') {
			p++;
			skip_ws(&p);
		} else if (rc == 0 && *p != '}')
			rc = -EPROTO;
	}
	free(json);
	return rc;
}

/* Only a device node has a device number worth a header. */
static bool
s3_meta_is_device(const struct store_attr *a)
{
	return (a->has & STORE_ATTR_MODE) && (a->has & STORE_ATTR_RDEV) &&
	    (S_ISCHR(a->mode) || S_ISBLK(a->mode));
}

int
s3_meta_to_headers(const struct store_attr *a, bool is_dir, struct s3_hdrs *h)
{
	size_t total = 0;
	int rc = 0;

	if (a->has & STORE_ATTR_MODE)
		rc = add_u64(h, "x-amz-meta-mode", is_dir ?
		    (a->mode & 07777) | S_IFDIR : a->mode);
	if (rc == 0 && (a->has & STORE_ATTR_UID))
		rc = add_u64(h, "x-amz-meta-uid", a->uid);
	if (rc == 0 && (a->has & STORE_ATTR_GID))
		rc = add_u64(h, "x-amz-meta-gid", a->gid);
	if (rc == 0 && s3_meta_is_device(a))
		rc = add_u64(h, "x-amz-meta-rdev", a->rdev);
	if (rc == 0 && (a->has & STORE_ATTR_MTIME))
		rc = add_time(h, "x-amz-meta-mtime", &a->mtime);
	if (rc == 0 && (a->has & STORE_ATTR_CTIME))
		rc = add_time(h, "x-amz-meta-ctime", &a->ctime);
	if (rc == 0 && (a->has & STORE_ATTR_ATIME))
		rc = add_time(h, "x-amz-meta-atime", &a->atime);
	if (rc == 0 && (a->has & STORE_ATTR_XATTRS) && a->nxattrs > 0) {
		struct dbuf x;

		dbuf_init(&x, S3_META_MAX);
		if ((rc = s3_xattrs_encode(a, &x)) == 0)
			rc = s3_hdrs_add(h, "x-amz-meta-xattr", x.data);
		dbuf_free(&x);
		if (rc == -E2BIG)
			return -E2BIG;
	}
	for (size_t i = 0; i < h->n; i++)
		total += strlen(h->v[i].key) - strlen("x-amz-meta-") +
		    strlen(h->v[i].value);
	if (rc == 0 && total > S3_META_MAX)
		rc = -E2BIG;	/* S3 caps user metadata at 2 KB */
	if (rc == 0)
		rc = s3_hdrs_add(h, "Content-Type", is_dir ?
		    "application/x-directory" : "application/octet-stream");
	return rc;
}

static bool
parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return false;
	*v = strtoull(s, &end, 10);
	return *end == '\0';
}

/*
 * Seconds with an optional decimal fraction, exact to the nanosecond (a
 * double would lose the last digits of a time near 2^31 s); digits past
 * the ninth are dropped.
 */
static bool
parse_time(const char *s, struct timespec *ts)
{
	unsigned long long sec;
	long nsec = 0, scale = 100000000;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	sec = strtoull(s, &end, 10);
	if (errno != 0 || sec > 1000000000000ULL)
		return false;
	if (*end == '.')
		for (end++; isdigit((unsigned char)*end); end++, scale /= 10)
			nsec += (*end - '0') * scale;
	if (*end != '\0')
		return false;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return true;
}

int
s3_meta_from_headers(const struct s3_hdrs *h, struct store_attr *a)
{
	struct timespec modified;
	unsigned long long v;
	const char *x;

	if (s3_parse_http_date(s3_hdrs_get(h, "last-modified"), &modified) == 0)
		a->version = s3_version(s3_hdrs_get(h, "etag"), &modified);
	s3_etag_keep(a->etag, s3_hdrs_get(h, "etag"));

	if (parse_u64(s3_hdrs_get(h, "content-length"), &v))
		a->size = v;
	if (parse_u64(s3_hdrs_get(h, "x-amz-meta-mode"), &v) && v <= 0177777) {
		a->mode = (mode_t)v;
		a->has |= STORE_ATTR_MODE;
	}
	if (parse_u64(s3_hdrs_get(h, "x-amz-meta-uid"), &v) && v < UINT32_MAX) {
		a->uid = (uid_t)v;
		a->has |= STORE_ATTR_UID;
	}
	if (parse_u64(s3_hdrs_get(h, "x-amz-meta-gid"), &v) && v < UINT32_MAX) {
		a->gid = (gid_t)v;
		a->has |= STORE_ATTR_GID;
	}
	if (parse_u64(s3_hdrs_get(h, "x-amz-meta-rdev"), &v)) {
		a->rdev = (dev_t)v;
		a->has |= STORE_ATTR_RDEV;
	}
	if (parse_time(s3_hdrs_get(h, "x-amz-meta-mtime"), &a->mtime) ||
	    s3_parse_http_date(s3_hdrs_get(h, "last-modified"), &a->mtime) == 0)
		a->has |= STORE_ATTR_MTIME;
	if (parse_time(s3_hdrs_get(h, "x-amz-meta-ctime"), &a->ctime))
		a->has |= STORE_ATTR_CTIME;
	if (parse_time(s3_hdrs_get(h, "x-amz-meta-atime"), &a->atime))
		a->has |= STORE_ATTR_ATIME;
	a->has |= STORE_ATTR_XATTRS;
	if ((x = s3_hdrs_get(h, "x-amz-meta-xattr")) != NULL &&
	    s3_xattrs_decode(x, a) != 0)
		log_debug("s3: unreadable x-amz-meta-xattr ignored");
	return 0;
}
