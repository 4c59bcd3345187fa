/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signature Version 4 over OpenSSL.  The steps are AWS's: canonical
 * request, string to sign, signing key, signature.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sigv4.h"

#define SIGV4_TEXT_MAX	(64u << 10)

static void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void
s3_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, 32, hex);
}

static void
hmac_sha256(const void *key, size_t keylen, const char *msg,
    unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen(msg), out, &len);
}

void
s3_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
int
s3_uri_encode(struct dbuf *out, const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || (keep_slash && *p == '/'))
			dbuf_add(out, p, 1);
		else {
			char esc[3] = { '%', digits[*p >> 4], digits[*p & 15] };

			dbuf_add(out, esc, 3);
		}
	}
	return out->error;
}

struct sorted {
	char	*key;
	char	*value;
};

static int
sorted_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void
sorted_free(struct sorted *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* Header names lowercased, values trimmed with inner runs of spaces
 * folded, as the canonical form requires. */
static char *
canonical_value(const char *v)
{
	char *out = malloc(strlen(v) + 1), *o = out;

	if (out == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if ((*v == ' ' || *v == '\t') && (v[1] == ' ' || v[1] == '\t' ||
		    v[1] == '\0'))
			continue;
		*o++ = *v == '\t' ? ' ' : *v;
	}
	*o = '\0';
	return out;
}

static struct sorted *
sort_headers(const struct s3_kv *h, size_t n)
{
	struct sorted *v = calloc(n > 0 ? n : 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].key = strdup(h[i].key);
		v[i].value = canonical_value(h[i].value);
		if (v[i].key == NULL || v[i].value == NULL) {
			sorted_free(v, n);
			return NULL;
		}
		for (char *p = v[i].key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	qsort(v, n, sizeof(*v), sorted_cmp);
	return v;
}

static struct sorted *
sort_query(const struct s3_kv *q, size_t n)
{
	struct sorted *v = calloc(n > 0 ? n : 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct dbuf k, val;

		dbuf_init(&k, SIGV4_TEXT_MAX);
		dbuf_init(&val, SIGV4_TEXT_MAX);
		dbuf_adds(&k, "");
		dbuf_adds(&val, "");
		s3_uri_encode(&k, q[i].key, false);
		s3_uri_encode(&val, q[i].value != NULL ? q[i].value : "",
		    false);
		v[i].key = k.data;
		v[i].value = val.data;
		if (k.error != 0 || val.error != 0) {
			sorted_free(v, i + 1);
			return NULL;
		}
	}
	qsort(v, n, sizeof(*v), sorted_cmp);
	return v;
}

int
s3_canonical_request(const struct s3_sign_req *r, struct dbuf *out,
    struct dbuf *signed_headers)
{
	struct sorted *q = sort_query(r->query, r->nquery);
	struct sorted *h = sort_headers(r->headers, r->nheaders);
	int rc = -ENOMEM;

	if (q == NULL || h == NULL)
		goto out;
	dbuf_addf(out, "%s\n", r->method);
	s3_uri_encode(out, r->path, true);
	dbuf_adds(out, "\n");
	for (size_t i = 0; i < r->nquery; i++)
		dbuf_addf(out, "%s%s=%s", i > 0 ? "&" : "", q[i].key,
		    q[i].value);
	dbuf_adds(out, "\n");
	for (size_t i = 0; i < r->nheaders; i++) {
		dbuf_addf(out, "%s:%s\n", h[i].key, h[i].value);
		dbuf_addf(signed_headers, "%s%s", i > 0 ? ";" : "", h[i].key);
	}
	dbuf_addf(out, "\n%s\n%s", dbuf_str(signed_headers), r->payload_hash);
	rc = out->error != 0 ? out->error : signed_headers->error;
out:
	if (q != NULL)
		sorted_free(q, r->nquery);
	if (h != NULL)
		sorted_free(h, r->nheaders);
	return rc;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request") */
static int
signing_key(const struct s3_sign_req *r, unsigned char key[32])
{
	char date[9], *k0;
	unsigned char k1[32], k2[32], k3[32];

	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	if (asprintf(&k0, "AWS4%s", r->secret_key) == -1)
		return -ENOMEM;
	hmac_sha256(k0, strlen(k0), date, k1);
	hmac_sha256(k1, 32, r->region, k2);
	hmac_sha256(k2, 32, r->service, k3);
	hmac_sha256(k3, 32, "aws4_request", key);
	explicit_bzero(k0, strlen(k0));
	free(k0);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(k3, sizeof(k3));
	return 0;
}

int
s3_sign(const struct s3_sign_req *r, struct dbuf *authorization)
{
	struct dbuf creq, signed_headers, sts;
	unsigned char key[32], sig[32];
	char creq_hash[65], sighex[65], date[9];
	int rc;

	if (strlen(r->amz_date) != 16)
		return -EINVAL;
	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	dbuf_init(&creq, SIGV4_TEXT_MAX);
	dbuf_init(&signed_headers, SIGV4_TEXT_MAX);
	dbuf_init(&sts, SIGV4_TEXT_MAX);
	if ((rc = s3_canonical_request(r, &creq, &signed_headers)) != 0)
		goto out;
	s3_sha256_hex(creq.data, creq.len, creq_hash);
	dbuf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
	    r->amz_date, date, r->region, r->service, creq_hash);
	if ((rc = sts.error) != 0 || (rc = signing_key(r, key)) != 0)
		goto out;
	hmac_sha256(key, sizeof(key), sts.data, sig);
	explicit_bzero(key, sizeof(key));
	hex_encode(sig, sizeof(sig), sighex);
	dbuf_addf(authorization, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/"
	    "aws4_request, SignedHeaders=%s, Signature=%s", r->access_key,
	    date, r->region, r->service, dbuf_str(&signed_headers), sighex);
	rc = authorization->error;
out:
	dbuf_free(&creq);
	dbuf_free(&signed_headers);
	dbuf_free(&sts);
	return rc;
}
