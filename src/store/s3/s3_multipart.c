/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Multipart uploads: parts streamed from the staging file (never the whole
 * object in memory), or copied inside S3 with UploadPartCopy for copies
 * above 5 GiB; several parts in flight; aborted on any failure so no
 * parts linger.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_internal.h"
#include "s3_xml.h"

#define COPY_PART	(1ULL << 30)

struct mp {
	struct s3_store	*s;
	const char	*key;		/* full destination key */
	char		*upload_id;
	int		 fd;		/* upload from here, or */
	char		*copy_source;	/* copy from here */
	uint64_t	 size;
	uint64_t	 part;
	unsigned	 nparts;
	char		**etags;
	pthread_mutex_t	 lock;
	unsigned	 next;
	int		 error;
	struct store_cond *cond;	/* of the completion, or NULL */
};

/* A new upload to key, whose object will have the headers meta. */
int
s3_mp_create(struct s3_store *s, const char *key, const struct s3_hdrs *meta,
    char **idp)
{
	struct s3_req r;
	int rc;

	s3_req_init(&r, "POST", key);
	s3_req_headers(&r, meta);
	s3_req_query(&r, "uploads", "");
	rc = s3_perform(s, &r);
	if (rc == 0)
		rc = s3_parse_upload_id(r.resp.data, r.resp.len, idp);
	s3_req_free(&r);
	return rc;
}

static int
mp_copy_etag(const struct s3_req *r, char **etag)
{
	struct xml_node *root;
	const char *t;
	int rc;

	if ((rc = s3_xml_parse(r->resp.data, r->resp.len, &root)) != 0)
		return rc;
	t = s3_xml_text(root, "ETag");
	rc = t != NULL && (*etag = strdup(t)) != NULL ? 0 : -EPROTO;
	s3_xml_free(root);
	return rc;
}

/*
 * Part number i + 1 of upload id: len bytes of fd at off, or of the
 * object copy_source names at off; *etagp its ETag.
 */
int
s3_mp_part(struct s3_store *s, const char *key, const char *id, unsigned i,
    const struct s3_part_src *src, char **etagp)
{
	char num[16];
	const char *etag;
	struct s3_req r;
	int rc;

	*etagp = NULL;
	snprintf(num, sizeof(num), "%u", i + 1);
	s3_req_init(&r, "PUT", key);
	s3_req_query(&r, "partNumber", num);
	s3_req_query(&r, "uploadId", id);
	if (src->copy_source != NULL) {
		r.error_in_200 = true;
		s3_req_header(&r, "x-amz-copy-source", "%s", src->copy_source);
		s3_req_header(&r, "x-amz-copy-source-range", "bytes=%llu-%llu",
		    (unsigned long long)src->off,
		    (unsigned long long)(src->off + src->len - 1));
	} else {
		r.body_fd = src->fd;
		r.body_off = src->off;
		r.body_size = src->len;
	}
	if ((rc = s3_perform(s, &r)) != 0)
		goto out;
	if (src->copy_source != NULL)
		rc = mp_copy_etag(&r, etagp);
	else if ((etag = s3_hdrs_get(&r.resp_hdrs, "etag")) == NULL)
		rc = -EPROTO;
	else if ((*etagp = strdup(etag)) == NULL)
		rc = -ENOMEM;
out:
	s3_req_free(&r);
	return rc;
}

static int
mp_part(struct mp *m, unsigned i)
{
	struct s3_part_src src = { .fd = m->fd,
	    .copy_source = m->copy_source, .off = (uint64_t)i * m->part };

	src.len = m->size - src.off < m->part ? m->size - src.off : m->part;
	return s3_mp_part(m->s, m->key, m->upload_id, i, &src, &m->etags[i]);
}

static void *
mp_worker(void *arg)
{
	struct mp *m = arg;

	for (;;) {
		unsigned i;
		int rc;

		pthread_mutex_lock(&m->lock);
		i = m->next++;
		if (m->error != 0 || i >= m->nparts) {
			pthread_mutex_unlock(&m->lock);
			return NULL;
		}
		pthread_mutex_unlock(&m->lock);
		if ((rc = mp_part(m, i)) != 0) {
			pthread_mutex_lock(&m->lock);
			if (m->error == 0)
				m->error = rc;
			pthread_mutex_unlock(&m->lock);
		}
	}
}

/* Parts 1..n, whose ETags are etags, made the object key. */
int
s3_mp_complete(struct s3_store *s, const char *key, const char *id,
    char *const *etags, unsigned n, struct store_cond *cond)
{
	struct dbuf body;
	struct s3_req r;
	int rc;

	dbuf_init(&body, S3_RESP_MAX);
	dbuf_adds(&body, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < n; i++) {
		dbuf_addf(&body, "<Part><PartNumber>%u</PartNumber><ETag>",
		    i + 1);
		s3_xml_escape(&body, etags[i]);
		dbuf_adds(&body, "</ETag></Part>");
	}
	dbuf_adds(&body, "</CompleteMultipartUpload>");
	s3_req_init(&r, "POST", key);
	s3_req_body(&r, &body);
	/* A 200 can still carry an <Error>: the upload did not complete. */
	r.error_in_200 = true;
	s3_req_query(&r, "uploadId", id);
	s3_req_header(&r, "Content-Type", "application/xml");
	s3_cond_headers(&r, cond);
	rc = s3_perform(s, &r);
	if (rc == 0 && cond != NULL)
		(void)s3_parse_result_etag(r.resp.data, r.resp.len,
		    cond->etag);
	s3_req_free(&r);
	dbuf_free(&body);
	return rc;
}

/*
 * Servers that ignore If-Match on completion (RGW 16.2) are asked first:
 * another writer completing between this HEAD and the completion is not
 * seen there (the man page says so).
 */
int
s3_mp_cond_holds(struct s3_store *s, const char *key,
    const struct store_cond *c)
{
	struct store_attr now = { 0 };
	int rc;

	if (c == NULL || (!c->if_none_match && (c->if_match == NULL ||
	    c->if_match[0] == '\0')))
		return 0;
	rc = s3_head_full(s, key, &now);
	if (rc == 0)
		rc = c->if_none_match || strcmp(now.etag, c->if_match) != 0 ?
		    -ECANCELED : 0;
	else if (rc == -ENOENT)
		rc = c->if_none_match ? 0 : -ECANCELED;
	store_attr_clear(&now);
	return rc;
}

void
s3_mp_abort(struct s3_store *s, const char *key, const char *id)
{
	struct s3_req r;

	s3_req_init(&r, "DELETE", key);
	s3_req_query(&r, "uploadId", id);
	if (s3_perform(s, &r) != 0)
		log_warnx("s3: could not abort the upload of %s; its parts "
		    "stay until a lifecycle rule removes them", key);
	s3_req_free(&r);
}

static int
mp_run(struct mp *m, const struct s3_hdrs *meta)
{
	unsigned nthreads = m->s->parallel < m->nparts ? m->s->parallel :
	    m->nparts, started = 0;
	pthread_t threads[64];
	int rc;

	if (nthreads > 64)
		nthreads = 64;
	if ((m->etags = calloc(m->nparts, sizeof(char *))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	if ((rc = s3_mp_create(m->s, m->key, meta, &m->upload_id)) != 0)
		goto out;
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, mp_worker, m) != 0)
			break;
	if (started == 0)
		mp_worker(m);	/* no threads to be had: one by one */
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if ((rc = m->error) == 0 &&
	    (rc = s3_mp_cond_holds(m->s, m->key, m->cond)) == 0)
		rc = s3_mp_complete(m->s, m->key, m->upload_id, m->etags,
		    m->nparts, m->cond);
	if (rc != 0)
		s3_mp_abort(m->s, m->key, m->upload_id);
out:
	for (unsigned i = 0; i < m->nparts; i++)
		free(m->etags[i]);
	free(m->etags);
	free(m->upload_id);
	pthread_mutex_destroy(&m->lock);
	return rc;
}

/* Parts of at least min bytes, and no more than S3's 10,000 of them. */
static void
mp_size_parts(struct mp *m, uint64_t min)
{
	m->part = min;
	while ((m->size + m->part - 1) / m->part > S3_MAX_PARTS)
		m->part *= 2;
	m->nparts = (unsigned)((m->size + m->part - 1) / m->part);
}

int
s3_put_multipart(struct s3_store *s, const char *key, int fd, uint64_t size,
    const struct s3_hdrs *meta, struct store_cond *cond)
{
	struct mp m = { .s = s, .key = key, .fd = fd, .size = size,
	    .cond = cond };

	mp_size_parts(&m, s->part_size);
	return mp_run(&m, meta);
}

int
s3_copy_multipart(struct s3_store *s, const char *src, const char *dst,
    uint64_t size, const struct s3_hdrs *meta, struct store_cond *cond)
{
	struct mp m = { .s = s, .key = dst, .fd = -1, .size = size,
	    .cond = cond };
	struct dbuf source;
	int rc;

	dbuf_init(&source, 4096);
	dbuf_addf(&source, "/%s/", s->bucket);
	s3_uri_encode(&source, src, true);
	if ((rc = source.error) == 0) {
		m.copy_source = source.data;
		mp_size_parts(&m, COPY_PART);
		rc = mp_run(&m, meta);
	}
	dbuf_free(&source);
	return rc;
}
