/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an S3 server sends, through every parser of it: listings, error
 * documents, upload ids, batch-delete results, dates, URL-encoded keys,
 * and response headers into metadata (the input's lines as "name: value").
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"
#include "s3_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_headers(char *text)
{
	struct s3_hdrs h = { 0 };
	struct store_attr a;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL && h.n < 64;
	    line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		s3_hdrs_add(&h, line, colon + 1);
	}
	store_attr_init(&a);
	(void)s3_meta_from_headers(&h, &a);
	store_attr_clear(&a);
	s3_hdrs_free(&h);
}

static void
fuzz_strings(const char *s)
{
	struct store_attr a;
	struct timespec ts;
	char *decoded;

	(void)s3_parse_iso8601(s, &ts);
	(void)s3_parse_http_date(s, &ts);
	if (s3_url_decode(s, &decoded) == 0)
		free(decoded);
	store_attr_init(&a);
	(void)s3_xattrs_decode(s, &a);
	store_attr_clear(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_listing l;
	struct s3_error e;
	unsigned failed;
	char *body, *id;

	if (size > S3_RESP_MAX)
		return 0;
	/* Bodies arrive NUL-terminated, as the response dbuf keeps them. */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	if (s3_parse_list(body, size, "p/", &l) == 0)
		store_listing_clear(&l);
	(void)s3_parse_error(body, size, &e);
	if (s3_parse_upload_id(body, size, &id) == 0)
		free(id);
	(void)s3_parse_delete_result(body, size, &failed);
	fuzz_strings(body);
	fuzz_headers(body);
	free(body);
	return 0;
}
