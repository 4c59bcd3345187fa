/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 protocol knowledge with no I/O: what responses say (errors,
 * listings, upload ids, batch deletes), which errno an S3 error is, what
 * to retry and how long to wait.  Pure functions, for the unit tests.
 */
#ifndef OBJFSD_S3_PROTO_H
#define OBJFSD_S3_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

struct s3_error {
	char	code[64];
	char	message[256];
};

int	s3_parse_error(const char *body, size_t len, struct s3_error *e);
int	s3_errno_for(long status, const char *code);
bool	s3_status_retryable(long status, const char *code);
bool	s3_curl_retryable(int curl_code);
unsigned s3_backoff_ms(unsigned attempt, uint32_t random);

int	s3_parse_list(const char *body, size_t len, const char *prefix,
	    struct store_listing *out);
int	s3_parse_upload_id(const char *body, size_t len, char **id);
int	s3_parse_delete_result(const char *body, size_t len,
	    unsigned *failed);
int	s3_parse_iso8601(const char *s, struct timespec *ts);
int	s3_parse_http_date(const char *s, struct timespec *ts);
uint64_t s3_version(const char *etag, const struct timespec *modified);
void	s3_etag_keep(char etag[STORE_ETAG_MAX], const char *from);
int	s3_parse_result_etag(const char *body, size_t len,
	    char etag[STORE_ETAG_MAX]);
int	s3_url_decode(const char *s, char **out);

/* A part of an unfinished upload, as ListParts tells it. */
struct s3_listed_part {
	unsigned	 number;
	uint64_t	 size;
	char		*etag;
};
int	s3_parse_parts(const char *body, size_t len,
	    struct s3_listed_part **parts, size_t *n, size_t *cap,
	    unsigned *next);

#endif
