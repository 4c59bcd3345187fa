/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SigV4 canonicalisation of arbitrary keys, queries and headers: the
 * input's NUL-separated fields are the path, then name/value pairs of the
 * query, then of the headers.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "s3_sigv4.h"

#define FIELDS_MAX	33

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *field[FIELDS_MAX];
	struct s3_kv query[8], headers[8];
	size_t nf = 0, nq = 0, nh = 0;
	struct dbuf out, sh;

	if (size > 64 * 1024 || (copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; nf < FIELDS_MAX && p <= copy + size;
	    p += strlen(p) + 1)
		field[nf++] = p;
	for (size_t i = 1; i + 1 < nf && i < 17; i += 2)
		query[nq++] = (struct s3_kv){ field[i], field[i + 1] };
	for (size_t i = 17; i + 1 < nf && nh < 8; i += 2)
		headers[nh++] = (struct s3_kv){ field[i], field[i + 1] };
	struct s3_sign_req r = { .method = "GET", .path = field[0],
	    .query = query, .nquery = nq, .headers = headers, .nheaders = nh,
	    .payload_hash = "UNSIGNED-PAYLOAD", .amz_date = "20130524T000000Z",
	    .region = "us-east-1", .service = "s3",
	    .access_key = "AKIAIOSFODNN7EXAMPLE",
	    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

	dbuf_init(&out, 1 << 20);
	dbuf_init(&sh, 1 << 20);
	(void)s3_canonical_request(&r, &out, &sh);
	dbuf_free(&out);
	dbuf_init(&out, 1 << 20);
	(void)s3_sign(&r, &out);
	dbuf_free(&out);
	dbuf_free(&sh);
	dbuf_init(&out, 1 << 20);
	(void)s3_uri_encode(&out, copy, size % 2 == 0);
	dbuf_free(&out);
	free(copy);
	return 0;
}
