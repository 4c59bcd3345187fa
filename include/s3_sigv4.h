/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS Signature Version 4, as S3 wants it.
 *
 * A pure signer: the request, the credentials and the time go in, the
 * Authorization header value comes out.  Nothing here reads a clock or
 * touches the network, so AWS's published examples and botocore can pin
 * every step.  All text is built in capped buffers (dbuf).
 */
#ifndef OBJFSD_S3_SIGV4_H
#define OBJFSD_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dbuf.h"

#define S3_UNSIGNED_PAYLOAD	"UNSIGNED-PAYLOAD"
#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_kv {
	const char	*key;
	const char	*value;
};

struct s3_sign_req {
	const char		*method;
	const char		*path;		/* not encoded: "/bucket/a b" */
	const struct s3_kv	*query;		/* not encoded */
	size_t			 nquery;
	const struct s3_kv	*headers;	/* every header to sign */
	size_t			 nheaders;
	const char		*payload_hash;	/* hex, or UNSIGNED-PAYLOAD */
	const char		*amz_date;	/* 20130524T000000Z */
	const char		*region;
	const char		*service;	/* "s3" */
	const char		*access_key;
	const char		*secret_key;
};

int	s3_sign(const struct s3_sign_req *r, struct dbuf *authorization);
int	s3_canonical_request(const struct s3_sign_req *r, struct dbuf *out,
	    struct dbuf *signed_headers);
int	s3_uri_encode(struct dbuf *out, const char *s, bool keep_slash);
void	s3_sha256_hex(const void *data, size_t len, char hex[65]);
void	s3_amz_date(time_t t, char out[17]);

#endif
