/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every request the S3 store sends, counted by kind and outcome: what S3
 * users pay for, and what makes listings slow.  Each attempt counts (a
 * retry is a request too); the daemon logs the table on SIGUSR1.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"

static const char *const s3_kind_names[S3K_N] = {
	[S3K_HEAD_BUCKET] = "HeadBucket",
	[S3K_LIST] = "ListObjectsV2",
	[S3K_HEAD] = "HeadObject",
	[S3K_GET] = "GetObject",
	[S3K_PUT] = "PutObject",
	[S3K_COPY] = "CopyObject",
	[S3K_DELETE] = "DeleteObject",
	[S3K_DELETE_MANY] = "DeleteObjects",
	[S3K_MP_CREATE] = "CreateMultipartUpload",
	[S3K_MP_PART] = "UploadPart",
	[S3K_MP_PART_COPY] = "UploadPartCopy",
	[S3K_MP_COMPLETE] = "CompleteMultipartUpload",
	[S3K_MP_ABORT] = "AbortMultipartUpload",
	[S3K_OTHER] = "other",
};

static const char *const s3_outcome_names[S3O_N] = {
	[S3O_OK] = "ok",
	[S3O_NOT_FOUND] = "404",
	[S3O_CLIENT] = "4xx",
	[S3O_SERVER] = "5xx",
	[S3O_NET] = "network",
};

const char *
s3_kind_name(enum s3_kind k)
{
	return k < S3K_N ? s3_kind_names[k] : "?";
}

static bool
s3_req_has_query(const struct s3_req *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->query[i].key, name) == 0)
			return true;
	return false;
}

static enum s3_kind
s3_put_kind(const struct s3_req *r)
{
	bool copy = s3_hdrs_get(&r->hdrs, "x-amz-copy-source") != NULL;

	if (s3_req_has_query(r, "partNumber"))
		return copy ? S3K_MP_PART_COPY : S3K_MP_PART;
	return copy ? S3K_COPY : S3K_PUT;
}

/* The S3 operation a request is, from its method, query and headers. */
enum s3_kind
s3_req_kind(const struct s3_req *r)
{
	const char *m = r->method;

	if (strcmp(m, "GET") == 0)
		return r->key == NULL ? S3K_LIST : S3K_GET;
	if (strcmp(m, "HEAD") == 0)
		return r->key == NULL ? S3K_HEAD_BUCKET : S3K_HEAD;
	if (strcmp(m, "PUT") == 0)
		return s3_put_kind(r);
	if (strcmp(m, "DELETE") == 0)
		return s3_req_has_query(r, "uploadId") ? S3K_MP_ABORT :
		    S3K_DELETE;
	if (strcmp(m, "POST") == 0) {
		if (s3_req_has_query(r, "delete"))
			return S3K_DELETE_MANY;
		if (s3_req_has_query(r, "uploads"))
			return S3K_MP_CREATE;
		if (s3_req_has_query(r, "uploadId"))
			return S3K_MP_COMPLETE;
	}
	return S3K_OTHER;
}

static enum s3_outcome
s3_outcome_of(long status, bool net_failed)
{
	if (net_failed)
		return S3O_NET;
	if (status == 404)
		return S3O_NOT_FOUND;
	if (status >= 500)
		return S3O_SERVER;
	if (status >= 400)
		return S3O_CLIENT;
	return S3O_OK;
}

/* A request goes out: how many are in flight at most is a test's figure. */
void
s3_stats_start(struct s3_stats *st)
{
	uint64_t now = __atomic_add_fetch(&st->inflight, 1, __ATOMIC_RELAXED);
	uint64_t peak = __atomic_load_n(&st->inflight_max, __ATOMIC_RELAXED);

	while (now > peak && !__atomic_compare_exchange_n(&st->inflight_max,
	    &peak, now, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

uint64_t
s3_stats_inflight_max(const struct s3_stats *st)
{
	return __atomic_load_n(&st->inflight_max, __ATOMIC_RELAXED);
}

void
s3_stats_reset_inflight_max(struct s3_stats *st)
{
	__atomic_store_n(&st->inflight_max,
	    __atomic_load_n(&st->inflight, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void
s3_stats_count(struct s3_stats *st, const struct s3_req *r, bool net_failed,
    int64_t us)
{
	enum s3_kind k = s3_req_kind(r);
	enum s3_outcome o = s3_outcome_of(r->status, net_failed);

	__atomic_add_fetch(&st->n[k][o], 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&st->inflight, 1, __ATOMIC_RELAXED);
	if (st->trace != NULL)
		st->trace(st->trace_arg, k, o, r);
	log_debug("s3: %s %s: %ld %s, %lld us", s3_kind_names[k],
	    r->key != NULL ? r->key : "/", r->status, s3_outcome_names[o],
	    (long long)us);
}

uint64_t
s3_stats_get(const struct s3_stats *st, enum s3_kind k, enum s3_outcome o)
{
	return __atomic_load_n(&st->n[k][o], __ATOMIC_RELAXED);
}

/* All requests of kind k (S3K_N: of every kind), whatever came back. */
uint64_t
s3_stats_sent(const struct s3_stats *st, enum s3_kind k)
{
	uint64_t sum = 0;

	if (k == S3K_N) {
		for (int i = 0; i < S3K_N; i++)
			sum += s3_stats_sent(st, i);
		return sum;
	}
	for (int o = 0; o < S3O_N; o++)
		sum += s3_stats_get(st, k, o);
	return sum;
}

/* One line per kind sent: "s3 requests: GetObject 12 (ok 11, 404 1)". */
void
s3_stats_log(const struct s3_stats *st)
{
	log_info("s3 requests: %llu in all",
	    (unsigned long long)s3_stats_sent(st, S3K_N));
	for (int k = 0; k < S3K_N; k++) {
		uint64_t sent = s3_stats_sent(st, k);
		char line[160];
		size_t len = 0;

		if (sent == 0)
			continue;
		for (int o = 0; o < S3O_N; o++) {
			uint64_t n = s3_stats_get(st, k, o);
			int w;

			if (n == 0)
				continue;
			w = snprintf(line + len, sizeof(line) - len, "%s%s %llu",
			    len == 0 ? "" : ", ", s3_outcome_names[o],
			    (unsigned long long)n);
			if (w < 0 || (size_t)w >= sizeof(line) - len)
				break;
			len += (size_t)w;
		}
		log_info("s3 requests: %s %llu (%s)", s3_kind_names[k],
		    (unsigned long long)sent, line);
	}
}
