/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 pieces that need no server: the SigV4 signer against AWS's published
 * examples, key encoding, XML responses (good, truncated and garbled),
 * errno mapping, the retry policy, and an upload resent on a new
 * connection (against a small server of its own on 127.0.0.1).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check_run.h"
#include "log.h"
#include "s3_internal.h"
#include "s3_proto.h"
#include "s3_sigv4.h"
#include "s3_xml.h"
#include "store.h"
#include "store_s3.h"

#define AK	"AKIAIOSFODNN7EXAMPLE"
#define SK	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static const char *
sign(const char *method, const char *path, const struct s3_kv *q, size_t nq,
    const struct s3_kv *h, size_t nh, const char *payload)
{
	static struct dbuf out;
	struct s3_sign_req r = {
		.method = method, .path = path, .query = q, .nquery = nq,
		.headers = h, .nheaders = nh, .payload_hash = payload,
		.amz_date = "20130524T000000Z", .region = "us-east-1",
		.service = "s3", .access_key = AK, .secret_key = SK,
	};

	dbuf_free(&out);
	dbuf_init(&out, 4096);
	ck_assert_int_eq(s3_sign(&r, &out), 0);
	return strstr(out.data, "Signature=") + 10;
}

/* AWS S3 API reference, "Signature Calculations", Example: GET Object. */
START_TEST(sigv4_aws_get_object)
{
	const struct s3_kv h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", S3_EMPTY_SHA256 },
		{ "x-amz-date", "20130524T000000Z" },
	};

	ck_assert_str_eq(sign("GET", "/test.txt", NULL, 0, h, 4,
	    S3_EMPTY_SHA256),
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}
END_TEST

/* Same reference, Example: GET Bucket (List Objects). */
START_TEST(sigv4_aws_list_objects)
{
	const struct s3_kv q[] = { { "prefix", "J" }, { "max-keys", "2" } };
	const struct s3_kv h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-content-sha256", S3_EMPTY_SHA256 },
	};

	ck_assert_str_eq(sign("GET", "/", q, 2, h, 3, S3_EMPTY_SHA256),
	    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

START_TEST(sigv4_authorization_shape)
{
	const struct s3_kv h[] = { { "Host", "h" }, { "X-Amz-Date", "d" } };
	struct s3_sign_req r = { .method = "PUT", .path = "/b/k",
	    .headers = h, .nheaders = 2, .payload_hash = S3_UNSIGNED_PAYLOAD,
	    .amz_date = "20240101T120000Z", .region = "eu-west-1",
	    .service = "s3", .access_key = "AK", .secret_key = "SK" };
	struct dbuf out;

	dbuf_init(&out, 4096);
	ck_assert_int_eq(s3_sign(&r, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "AWS4-HMAC-SHA256 Credential=AK/"
	    "20240101/eu-west-1/s3/aws4_request, SignedHeaders=host;"
	    "x-amz-date, Signature="));
	ck_assert_uint_eq(strlen(strstr(out.data, "Signature=") + 10), 64);
	r.amz_date = "2024";
	ck_assert_int_eq(s3_sign(&r, &out), -EINVAL);
	dbuf_free(&out);
}
END_TEST

START_TEST(sigv4_canonical_request)
{
	const struct s3_kv q[] = { { "b", "2 2" }, { "a", "" }, { "a", "x/y" } };
	const struct s3_kv h[] = {
		{ "Host", "example.com" }, { "X-Amz-Meta-Note", "  a   b  " },
	};
	struct s3_sign_req r = { .method = "GET", .path = "/bucket/a b+c~d/é",
	    .query = q, .nquery = 3, .headers = h, .nheaders = 2,
	    .payload_hash = S3_UNSIGNED_PAYLOAD };
	struct dbuf c, sh;

	dbuf_init(&c, 4096);
	dbuf_init(&sh, 4096);
	ck_assert_int_eq(s3_canonical_request(&r, &c, &sh), 0);
	ck_assert_str_eq(c.data, "GET\n"
	    "/bucket/a%20b%2Bc~d/%C3%A9\n"
	    "a=&a=x%2Fy&b=2%202\n"
	    "host:example.com\n"
	    "x-amz-meta-note:a b\n"
	    "\n"
	    "host;x-amz-meta-note\n"
	    "UNSIGNED-PAYLOAD");
	dbuf_free(&c);
	dbuf_free(&sh);
}
END_TEST

START_TEST(uri_encoding)
{
	struct dbuf b;

	dbuf_init(&b, 64);
	ck_assert_int_eq(s3_uri_encode(&b, "a/b c+d~e_f.g-h*i", true), 0);
	ck_assert_str_eq(b.data, "a/b%20c%2Bd~e_f.g-h%2Ai");
	dbuf_reset(&b);
	ck_assert_int_eq(s3_uri_encode(&b, "a/b", false), 0);
	ck_assert_str_eq(b.data, "a%2Fb");
	dbuf_reset(&b);
	ck_assert_int_eq(s3_uri_encode(&b, "\xff\x01", false), 0);
	ck_assert_str_eq(b.data, "%FF%01");
	/* Past the cap: a clear error, not an overflow. */
	dbuf_reset(&b);
	ck_assert_int_eq(s3_uri_encode(&b, "////////////////////////", false),
	    -E2BIG);
	dbuf_free(&b);
}
END_TEST

/* XML */

#define LIST_PROLOGUE "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

START_TEST(list_merges_objects_and_prefixes)
{
	static const char xml[] = LIST_PROLOGUE
	    "<Name>b</Name><Prefix>p/d/</Prefix><KeyCount>5</KeyCount>"
	    "<IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>tok+/=</NextContinuationToken>"
	    "<Contents><Key>p/d/</Key><Size>0</Size></Contents>"
	    "<Contents><Key>p/d/a</Key><Size>10</Size>"
	    "<LastModified>2026-11-27T00:43:58.500Z</LastModified></Contents>"
	    "<Contents><Key>p/d/c &amp; d</Key><Size>3</Size></Contents>"
	    "<CommonPrefixes><Prefix>p/d/a/</Prefix></CommonPrefixes>"
	    "<CommonPrefixes><Prefix>p/d/b/</Prefix></CommonPrefixes>"
	    "</ListBucketResult>";
	struct store_listing l;

	ck_assert_int_eq(s3_parse_list(xml, sizeof(xml) - 1, "p/d/", &l), 0);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_str_eq(l.entries[0].name, "");	/* the marker */
	ck_assert_str_eq(l.entries[1].name, "a");
	ck_assert(!l.entries[1].is_prefix);
	ck_assert_uint_eq(l.entries[1].attr.size, 10);
	ck_assert_int_eq(l.entries[1].attr.mtime.tv_sec, 1795740238);
	ck_assert_int_eq(l.entries[1].attr.mtime.tv_nsec, 500000000);
	ck_assert_str_eq(l.entries[2].name, "a");	/* object first */
	ck_assert(l.entries[2].is_prefix);
	ck_assert_str_eq(l.entries[3].name, "b");
	ck_assert_str_eq(l.entries[4].name, "c & d");
	ck_assert_str_eq(l.next, "tok+/=");
	store_listing_clear(&l);
}
END_TEST

START_TEST(list_url_encoded_keys)
{
	static const char xml[] = LIST_PROLOGUE
	    "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>x/a%20b%2Bc%0A</Key><Size>1</Size></Contents>"
	    "<CommonPrefixes><Prefix>x/d%2Fe/</Prefix></CommonPrefixes>"
	    "</ListBucketResult>";
	struct store_listing l;

	ck_assert_int_eq(s3_parse_list(xml, sizeof(xml) - 1, "x/", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.entries[0].name, "a b+c\n");
	ck_assert_str_eq(l.entries[1].name, "d/e");
	ck_assert_ptr_null(l.next);
	store_listing_clear(&l);
}
END_TEST

/*
 * RGW encodes the '/' of keys but not of prefixes: the merge compares the
 * keys, so "p/d00/" comes before "p%2Fk000" as "p/d00/" < "p/k000".
 */
START_TEST(list_merges_by_decoded_keys)
{
	static const char xml[] = LIST_PROLOGUE
	    "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>p%2Fk000</Key><Size>1</Size></Contents>"
	    "<Contents><Key>p%2Fk001</Key><Size>1</Size></Contents>"
	    "<CommonPrefixes><Prefix>p/d00/</Prefix></CommonPrefixes>"
	    "<CommonPrefixes><Prefix>p/m00/</Prefix></CommonPrefixes>"
	    "</ListBucketResult>";
	static const char *const want[] = { "d00", "k000", "k001", "m00" };
	struct store_listing l;

	ck_assert_int_eq(s3_parse_list(xml, sizeof(xml) - 1, "p/", &l), 0);
	ck_assert_uint_eq(l.n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(l.entries[i].name, want[i]);
	store_listing_clear(&l);
}
END_TEST

START_TEST(list_rejects_bad_documents)
{
	static const char *const bad[] = {
		"",
		"not xml at all",
		LIST_PROLOGUE "<Contents><Key>a</Key>",		/* truncated */
		LIST_PROLOGUE "<Contents><Key>a</Contents></ListBucketResult>",
		"<Error><Code>InternalError</Code></Error>",
		LIST_PROLOGUE "<IsTruncated>true</IsTruncated></ListBucketResult>",
		"<a>" "<b><b><b><b><b><b><b><b><b><b><b><b><b><b><b><b>"
		"<b><b><b><b><b><b><b><b><b><b><b><b><b><b><b><b><b>",
	};
	struct store_listing l;
	struct dbuf many;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(s3_parse_list(bad[i], strlen(bad[i]), "", &l),
		    -EPROTO);
	/* More elements than any page has: refused, not built into a tree. */
	dbuf_init(&many, S3_RESP_MAX);
	dbuf_adds(&many, LIST_PROLOGUE);
	for (unsigned i = 0; i <= S3_XML_MAX_NODES; i++)
		dbuf_adds(&many, "<a/>");
	dbuf_adds(&many, "</ListBucketResult>");
	ck_assert_int_eq(many.error, 0);
	ck_assert_int_eq(s3_parse_list(many.data, many.len, "", &l), -EPROTO);
	dbuf_free(&many);
}
END_TEST

START_TEST(list_skips_keys_outside_the_prefix)
{
	static const char xml[] = LIST_PROLOGUE
	    "<Contents><Key>other/x</Key><Size>1</Size></Contents>"
	    "<Contents><Key>p/y</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	struct store_listing l;

	ck_assert_int_eq(s3_parse_list(xml, sizeof(xml) - 1, "p/", &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.entries[0].name, "y");
	store_listing_clear(&l);
}
END_TEST

START_TEST(error_documents)
{
	static const char err[] = "<?xml version=\"1.0\"?><Error><Code>SlowDown"
	    "</Code><Message>Reduce your request rate.</Message></Error>";
	static const char ok[] = "<CopyObjectResult><ETag>x</ETag>"
	    "</CopyObjectResult>";
	struct s3_error e;

	ck_assert_int_eq(s3_parse_error(err, sizeof(err) - 1, &e), 0);
	ck_assert_str_eq(e.code, "SlowDown");
	ck_assert_str_eq(e.message, "Reduce your request rate.");
	ck_assert_int_eq(s3_parse_error(ok, sizeof(ok) - 1, &e), -ENOENT);
	ck_assert_int_eq(s3_parse_error("<Error><Code>", 13, &e), -EPROTO);
	ck_assert_int_eq(s3_parse_error("", 0, &e), -EPROTO);
}
END_TEST

START_TEST(multipart_documents)
{
	static const char init[] = "<InitiateMultipartUploadResult><Bucket>b"
	    "</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
	    "</InitiateMultipartUploadResult>";
	static const char del[] = "<DeleteResult><Deleted><Key>a</Key>"
	    "</Deleted><Error><Key>b</Key><Code>AccessDenied</Code></Error>"
	    "</DeleteResult>";
	unsigned failed;
	char *id;

	ck_assert_int_eq(s3_parse_upload_id(init, sizeof(init) - 1, &id), 0);
	ck_assert_str_eq(id, "VXBsb2FkIElE");
	free(id);
	ck_assert_int_eq(s3_parse_upload_id("<InitiateMultipartUploadResult/>",
	    32, &id), -EPROTO);
	ck_assert_int_eq(s3_parse_upload_id(init, 40, &id), -EPROTO);
	ck_assert_int_eq(s3_parse_delete_result(del, sizeof(del) - 1, &failed),
	    0);
	ck_assert_uint_eq(failed, 1);
	ck_assert_int_eq(s3_parse_delete_result("<Error/>", 8, &failed),
	    -EPROTO);
}
END_TEST

START_TEST(xml_escapes)
{
	struct dbuf b;

	dbuf_init(&b, 256);
	s3_xml_escape(&b, "a&b<c>\"d'e");
	ck_assert_str_eq(b.data, "a&amp;b&lt;c&gt;&quot;d&apos;e");
	dbuf_free(&b);
}
END_TEST

/* Errors, retries, times */

START_TEST(errno_mapping)
{
	ck_assert_int_eq(s3_errno_for(404, "NoSuchKey"), -ENOENT);
	ck_assert_int_eq(s3_errno_for(404, NULL), -ENOENT);
	ck_assert_int_eq(s3_errno_for(403, "AccessDenied"), -EACCES);
	ck_assert_int_eq(s3_errno_for(403, "SignatureDoesNotMatch"), -EACCES);
	ck_assert_int_eq(s3_errno_for(403, "InvalidAccessKeyId"), -EACCES);
	ck_assert_int_eq(s3_errno_for(403, ""), -EACCES);	/* a HEAD */
	ck_assert(!s3_status_retryable(403, "SignatureDoesNotMatch"));
	ck_assert_int_eq(s3_errno_for(400, "EntityTooLarge"), -EFBIG);
	ck_assert_int_eq(s3_errno_for(400, "KeyTooLongError"), -ENAMETOOLONG);
	ck_assert_int_eq(s3_errno_for(412, NULL), -ECANCELED);
	ck_assert_int_eq(s3_errno_for(501, NULL), -ENOSYS);
	ck_assert_int_eq(s3_errno_for(500, "InternalError"), -EIO);
	ck_assert_int_eq(s3_errno_for(400, "Whatever"), -EIO);
}
END_TEST

START_TEST(retry_policy)
{
	ck_assert(s3_status_retryable(503, "SlowDown"));
	ck_assert(s3_status_retryable(500, "InternalError"));
	ck_assert(s3_status_retryable(400, "RequestTimeout"));
	ck_assert(s3_status_retryable(502, NULL));
	ck_assert(s3_status_retryable(429, NULL));
	ck_assert(!s3_status_retryable(404, "NoSuchKey"));
	ck_assert(!s3_status_retryable(403, "AccessDenied"));
	ck_assert(!s3_status_retryable(400, "InvalidArgument"));
	ck_assert(s3_curl_retryable(CURLE_RECV_ERROR));
	ck_assert(s3_curl_retryable(CURLE_COULDNT_CONNECT));
	ck_assert(s3_curl_retryable(CURLE_OPERATION_TIMEDOUT));
	ck_assert(!s3_curl_retryable(CURLE_URL_MALFORMAT));
	ck_assert(!s3_curl_retryable(CURLE_OK));
	/* Full jitter below a ceiling that doubles up to its cap. */
	ck_assert_uint_le(s3_backoff_ms(0, UINT32_MAX), 50);
	ck_assert_uint_le(s3_backoff_ms(1, UINT32_MAX), 100);
	ck_assert_uint_le(s3_backoff_ms(20, UINT32_MAX), 2000);
	ck_assert_uint_eq(s3_backoff_ms(3, 0), 0);
	ck_assert_uint_eq(s3_backoff_ms(2, 150), 150);
}
END_TEST

START_TEST(time_formats)
{
	struct timespec ts;

	ck_assert_int_eq(s3_parse_iso8601("2013-05-24T00:00:00.000Z", &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1369353600);
	ck_assert_int_eq(s3_parse_iso8601("2013-05-24T00:00:01Z", &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1369353601);
	ck_assert_int_eq(s3_parse_iso8601("yesterday", &ts), -EINVAL);
	ck_assert_int_eq(s3_parse_http_date("Fri, 24 May 2013 00:00:00 GMT",
	    &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 1369353600);
	ck_assert_int_eq(s3_parse_http_date("24/05/2013", &ts), -EINVAL);
}
END_TEST

/* Metadata */

START_TEST(metadata_round_trip)
{
	struct store_attr a = { .has = STORE_ATTR_MODE | STORE_ATTR_UID |
	    STORE_ATTR_GID | STORE_ATTR_MTIME | STORE_ATTR_XATTRS,
	    .mode = S_IFREG | 0640, .uid = 1000, .gid = 1001,
	    .mtime = { 1577836801, 0 } };
	struct store_attr back = { 0 };
	struct s3_hdrs h = { 0 };

	ck_assert_int_eq(store_xattr_set(&a, "user.foo", "bar", 3), 0);
	ck_assert_int_eq(store_xattr_set(&a, "user.bin", "\0\377\020", 3),
	    0);
	ck_assert_int_eq(s3_meta_to_headers(&a, false, &h), 0);
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-mode"), "33184");
	ck_assert_str_eq(s3_hdrs_get(&h, "X-Amz-Meta-Uid"), "1000");
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-mtime"), "1577836801");
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-xattr"),
	    "%7B%22user.foo%22%3A%22YmFy%22%2C%22user.bin%22%3A%22AP8Q%22%7D");
	ck_assert_int_eq(s3_hdrs_add(&h, "Content-Length", "42"), 0);
	ck_assert_int_eq(s3_meta_from_headers(&h, &back), 0);
	ck_assert_uint_eq(back.size, 42);
	ck_assert_uint_eq(back.mode, S_IFREG | 0640);
	ck_assert_uint_eq(back.gid, 1001);
	ck_assert_int_eq(back.mtime.tv_sec, 1577836801);
	ck_assert_uint_eq(back.nxattrs, 2);
	ck_assert_int_eq(memcmp(store_xattr_find(&back, "user.bin")->value,
	    "\0\377\020", 3), 0);
	store_attr_clear(&a);
	store_attr_clear(&back);
	s3_hdrs_free(&h);
}
END_TEST

/* What s3fs writes reads back as what it means. */
START_TEST(metadata_from_s3fs)
{
	struct s3_hdrs h = { 0 };
	struct store_attr a = { 0 };

	s3_hdrs_add(&h, "x-amz-meta-mode", "493");	/* a dir, no type */
	s3_hdrs_add(&h, "x-amz-meta-mtime", "1795740238.25");
	s3_hdrs_add(&h, "x-amz-meta-xattr",
	    "%7B%22user.bin%22%3A%22AP8Q%22%2C%22user.foo%22%3A%22YmFy%22%7D");
	s3_hdrs_add(&h, "Last-Modified", "Fri, 24 May 2013 00:00:00 GMT");
	ck_assert_int_eq(s3_meta_from_headers(&h, &a), 0);
	ck_assert_uint_eq(a.mode, 0755);
	ck_assert_int_eq(a.mtime.tv_sec, 1795740238);
	ck_assert_int_eq(a.mtime.tv_nsec, 250000000);
	ck_assert_uint_eq(store_xattr_find(&a, "user.foo")->len, 3);
	store_attr_clear(&a);
	s3_hdrs_free(&h);
	/* Without x-amz-meta-mtime, Last-Modified stands in. */
	s3_hdrs_add(&h, "Last-Modified", "Fri, 24 May 2013 00:00:00 GMT");
	s3_hdrs_add(&h, "x-amz-meta-uid", "-5");	/* garbage: ignored */
	ck_assert_int_eq(s3_meta_from_headers(&h, &a), 0);
	ck_assert_int_eq(a.mtime.tv_sec, 1369353600);
	ck_assert(!(a.has & STORE_ATTR_UID));
	store_attr_clear(&a);
	s3_hdrs_free(&h);
}
END_TEST

/*
 * A listing and a HEAD name one version of an object alike (the ETag's
 * quotes and Last-Modified's milliseconds aside); another ETag or second
 * is another version, no ETag none.
 */
START_TEST(versions_agree_between_list_and_head)
{
	static const char xml[] = LIST_PROLOGUE
	    "<Name>b</Name><Prefix>p/</Prefix><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>p/a</Key><Size>1</Size>"
	    "<LastModified>2013-05-24T00:00:00.750Z</LastModified>"
	    "<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag></Contents>"
	    "<Contents><Key>p/b</Key><Size>1</Size>"
	    "<LastModified>2013-05-24T00:00:01.000Z</LastModified>"
	    "<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag></Contents>"
	    "<Contents><Key>p/c</Key><Size>1</Size>"
	    "<LastModified>2013-05-24T00:00:00.000Z</LastModified></Contents>"
	    "</ListBucketResult>";
	struct s3_hdrs h = { 0 };
	struct store_attr a = { 0 };
	struct store_listing l;

	s3_hdrs_add(&h, "ETag", "\"0cc175b9c0f1b6a831c399e269772661\"");
	s3_hdrs_add(&h, "Last-Modified", "Fri, 24 May 2013 00:00:00 GMT");
	ck_assert_int_eq(s3_meta_from_headers(&h, &a), 0);
	ck_assert_int_eq(s3_parse_list(xml, sizeof(xml) - 1, "p/", &l), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_ne(a.version, 0);
	ck_assert_uint_eq(l.entries[0].attr.version, a.version);
	ck_assert_uint_ne(l.entries[1].attr.version, a.version);
	ck_assert_uint_eq(l.entries[2].attr.version, 0);
	store_listing_clear(&l);
	store_attr_clear(&a);
	s3_hdrs_free(&h);
}
END_TEST

/* Nanoseconds go out as s3fs writes them and come back exactly. */
START_TEST(metadata_nanoseconds)
{
	struct store_attr a = { .has = STORE_ATTR_MTIME | STORE_ATTR_ATIME |
	    STORE_ATTR_CTIME, .mtime = { 2147483647, 987654321 },
	    .atime = { 1000000000, 5 }, .ctime = { 1000000000, 0 } };
	struct store_attr back = { 0 };
	struct s3_hdrs h = { 0 };

	ck_assert_int_eq(s3_meta_to_headers(&a, false, &h), 0);
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-mtime"),
	    "2147483647.987654321");
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-atime"),
	    "1000000000.000000005");
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-ctime"), "1000000000");
	ck_assert_int_eq(s3_meta_from_headers(&h, &back), 0);
	ck_assert_int_eq(back.mtime.tv_sec, 2147483647);
	ck_assert_int_eq(back.mtime.tv_nsec, 987654321);
	ck_assert_int_eq(back.atime.tv_nsec, 5);
	ck_assert_int_eq(back.ctime.tv_nsec, 0);
	s3_hdrs_free(&h);
	store_attr_clear(&back);
	store_attr_init(&back);
	/* Past nine digits: dropped; not a number: not a time. */
	s3_hdrs_add(&h, "x-amz-meta-mtime", "12.1234567891");
	s3_hdrs_add(&h, "x-amz-meta-ctime", "12.5x");
	ck_assert_int_eq(s3_meta_from_headers(&h, &back), 0);
	ck_assert_int_eq(back.mtime.tv_nsec, 123456789);
	ck_assert(!(back.has & STORE_ATTR_CTIME));
	store_attr_clear(&back);
	s3_hdrs_free(&h);
}
END_TEST

/*
 * A device node is its full st_mode in x-amz-meta-mode (what s3fs reads
 * its type from) and its dev_t in decimal in x-amz-meta-rdev; other types
 * carry no rdev header.
 */
START_TEST(metadata_device_nodes)
{
	struct store_attr a = { .has = STORE_ATTR_MODE | STORE_ATTR_RDEV,
	    .mode = S_IFBLK | 0660, .rdev = makedev(8, 1) };
	struct store_attr back = { 0 };
	struct s3_hdrs h = { 0 };

	ck_assert_int_eq(s3_meta_to_headers(&a, false, &h), 0);
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-mode"), "25008");
	ck_assert_str_eq(s3_hdrs_get(&h, "x-amz-meta-rdev"), "2049");
	ck_assert_int_eq(s3_meta_from_headers(&h, &back), 0);
	ck_assert_uint_eq(back.mode, S_IFBLK | 0660);
	ck_assert(back.has & STORE_ATTR_RDEV);
	ck_assert_uint_eq(back.rdev, makedev(8, 1));
	s3_hdrs_free(&h);
	store_attr_clear(&back);
	/* Another tool's character device (major 4, minor 300). */
	s3_hdrs_add(&h, "x-amz-meta-mode", "8612");	/* S_IFCHR | 0644 */
	s3_hdrs_add(&h, "x-amz-meta-rdev", "1049644");
	ck_assert_int_eq(s3_meta_from_headers(&h, &back), 0);
	ck_assert_uint_eq(back.mode, S_IFCHR | 0644);
	ck_assert_uint_eq(major(back.rdev), 4);
	ck_assert_uint_eq(minor(back.rdev), 300);
	s3_hdrs_free(&h);
	store_attr_clear(&back);
	a.mode = S_IFIFO | 0600;
	ck_assert_int_eq(s3_meta_to_headers(&a, false, &h), 0);
	ck_assert_ptr_null(s3_hdrs_get(&h, "x-amz-meta-rdev"));
	s3_hdrs_free(&h);
}
END_TEST

START_TEST(xattr_header_rejects_garbage)
{
	static const char *const bad[] = {
		"%7B%22a%22", "%5B%5D", "%7B%22a%22%3A%22%25%22%7D",
		"%7B%22a%22%3A1%7D", "%7B%22a%22%3A%22YQ%3D%3D%22", "",
	};
	struct store_attr a = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(s3_xattrs_decode(bad[i], &a), -EPROTO);
		store_attr_clear(&a);
	}
	ck_assert_int_eq(s3_xattrs_decode("%7B%7D", &a), 0);
	ck_assert_uint_eq(a.nxattrs, 0);
}
END_TEST

START_TEST(metadata_is_capped_at_2k)
{
	struct store_attr a = { .has = STORE_ATTR_XATTRS };
	struct s3_hdrs h = { 0 };
	char big[1800];

	memset(big, 'v', sizeof(big));
	ck_assert_int_eq(store_xattr_set(&a, "user.big", big, sizeof(big)), 0);
	ck_assert_int_eq(s3_meta_to_headers(&a, false, &h), -E2BIG);
	store_attr_clear(&a);
	s3_hdrs_free(&h);
}
END_TEST

/* Credentials */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(credentials_order)
{
	char dir[] = "/tmp/objfsd-creds.XXXXXX", shared[64], mine[64];
	struct s3_creds c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(shared, sizeof(shared), "%s/shared", dir);
	snprintf(mine, sizeof(mine), "%s/mine", dir);
	write_file(shared, "[default]\naws_access_key_id = SHAREDK\n"
	    "aws_secret_access_key=SHAREDS\n[profile other]\n"
	    "aws_access_key_id=OTHERK\naws_secret_access_key=OTHERS\n"
	    "aws_session_token = TOK\n");
	write_file(mine, "# mine\n[default]\naws_access_key_id=MINEK\n"
	    "aws_secret_access_key=MINES\n");
	setenv("AWS_ACCESS_KEY_ID", "ENVK", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVS", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", shared, 1);
	ck_assert_int_eq(s3_creds_load(&c, mine, false), 0);
	ck_assert_str_eq(c.access_key, "ENVK");
	ck_assert_ptr_null(c.session_token);
	s3_creds_clear(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	ck_assert_int_eq(s3_creds_load(&c, mine, false), 0);
	ck_assert_str_eq(c.access_key, "SHAREDK");
	ck_assert_str_eq(c.secret_key, "SHAREDS");
	s3_creds_clear(&c);
	setenv("AWS_PROFILE", "other", 1);
	ck_assert_int_eq(s3_creds_load(&c, mine, false), 0);
	ck_assert_str_eq(c.access_key, "OTHERK");
	ck_assert_str_eq(c.session_token, "TOK");
	s3_creds_clear(&c);
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	ck_assert_int_eq(s3_creds_load(&c, mine, false), 0);
	ck_assert_str_eq(c.access_key, "MINEK");
	s3_creds_clear(&c);
	ck_assert_int_eq(s3_creds_load(&c, NULL, false), -ENOKEY);
	ck_assert_int_eq(s3_creds_load(&c, NULL, true), 0);
	ck_assert_ptr_null(c.access_key);
	unlink(shared);
	unlink(mine);
	rmdir(dir);
}
END_TEST

/*
 * A request is built without a check per step: the first failure sticks
 * and s3_perform() returns it without sending (no store is touched).
 */
START_TEST(request_build_errors_stick)
{
	struct s3_req r;
	struct dbuf body;

	s3_req_init(&r, "GET", "k");
	for (int i = 0; i < 8; i++)
		s3_req_query(&r, "q", "v");
	ck_assert_int_eq(r.error, 0);
	s3_req_query(&r, "one-too-many", "v");
	ck_assert_int_eq(r.error, -E2BIG);
	s3_req_header(&r, "X-After", "%d", 1);	/* ignored */
	ck_assert_uint_eq(r.hdrs.n, 0);
	ck_assert_int_eq(s3_perform(NULL, &r), -E2BIG);
	s3_req_free(&r);

	dbuf_init(&body, 4);
	dbuf_adds(&body, "more than four bytes");
	s3_req_init(&r, "POST", NULL);
	s3_req_body(&r, &body);
	ck_assert_int_eq(s3_perform(NULL, &r), body.error);
	ck_assert_int_ne(body.error, 0);
	s3_req_free(&r);
	dbuf_free(&body);
}
END_TEST

/*
 * A server that drops a kept-alive connection after reading the second
 * request on it (the first PUT; the first is the store's probe), as servers do when their idle timeout races the client.
 * curl then sends the request again on a new connection, which needs the
 * upload body rewound.  The bodies received are kept for the test.
 */
struct drop_server {
	int		 lfd;
	pthread_t	 thread;
	char		 bodies[5][64];
	unsigned	 nbodies;
};

/* One request: its headers and Content-Length bytes of body; 0 at EOF. */
static int
drop_read_request(int fd, char *body, size_t cap)
{
	char buf[8192], *end, *cl;
	size_t have = 0, len = 0, hlen;

	while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return 0;
		have += (size_t)n;
	}
	buf[have] = '\0';
	hlen = (size_t)(end + 4 - buf);
	if ((cl = strcasestr(buf, "content-length:")) != NULL && cl < end)
		len = strtoul(cl + 15, NULL, 10);
	while (have < hlen + len) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return 0;
		have += (size_t)n;
	}
	snprintf(body, cap, "%.*s", (int)len, buf + hlen);
	return 1;
}

static void *
drop_serve(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nETag: \"e\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct drop_server *d = arg;
	int fd, conn = 0;

	while ((fd = accept(d->lfd, NULL, NULL)) >= 0) {
		for (int req = 0; d->nbodies < 5; req++) {
			if (!drop_read_request(fd, d->bodies[d->nbodies],
			    sizeof(d->bodies[0])))
				break;
			d->nbodies++;
			if (conn == 0 && req == 1)
				break;		/* read, never answered */
			if (write(fd, ok, sizeof(ok) - 1) < 0)
				break;
		}
		close(fd);
		conn++;
	}
	return NULL;
}

START_TEST(upload_body_is_rewound_for_a_resend)
{
	struct drop_server d = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3 };
	struct store_attr a;
	struct store *st;
	char endpoint[64], path[] = "/tmp/check_s3-body.XXXXXX";
	int fd;

	ck_assert_int_ge(d.lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(d.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(d.lfd, 4), 0);
	ck_assert_int_eq(getsockname(d.lfd, (struct sockaddr *)&sa, &salen),
	    0);
	ck_assert_int_eq(pthread_create(&d.thread, NULL, drop_serve, &d), 0);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
	    ntohs(sa.sin_port));
	store_s3_config_init(&s3);
	s3.endpoint = endpoint;
	s3.path_style = 1;
	s3.anonymous = true;
	s3.retries = 0;		/* only curl's own resend may save it */
	ck_assert_int_eq(store_open("s3://bucket", &cfg, &st), 0);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(write(fd, "first body", 10), 10);
	store_attr_init(&a);
	ck_assert_int_eq(store_put(st, "one", fd, 10, &a), 0);
	ck_assert_int_eq(pwrite(fd, "other body", 10, 0), 10);
	ck_assert_int_eq(store_put(st, "two", fd, 10, &a), 0);
	store_close(st);
	close(fd);
	shutdown(d.lfd, SHUT_RDWR);
	close(d.lfd);
	pthread_join(d.thread, NULL);
	/* The open's probe, the PUT dropped, its resend, the next PUT. */
	ck_assert_uint_eq(d.nbodies, 4);
	ck_assert_str_eq(d.bodies[0], "");
	ck_assert_str_eq(d.bodies[1], "first body");
	ck_assert_str_eq(d.bodies[2], "first body");
	ck_assert_str_eq(d.bodies[3], "other body");
}
END_TEST

static Suite *
s3_suite(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("sigv4");

	tcase_add_test(tc, sigv4_aws_get_object);
	tcase_add_test(tc, sigv4_aws_list_objects);
	tcase_add_test(tc, sigv4_authorization_shape);
	tcase_add_test(tc, sigv4_canonical_request);
	tcase_add_test(tc, uri_encoding);
	suite_add_tcase(s, tc);

	tc = tcase_create("xml");
	tcase_add_test(tc, list_merges_objects_and_prefixes);
	tcase_add_test(tc, list_url_encoded_keys);
	tcase_add_test(tc, list_merges_by_decoded_keys);
	tcase_add_test(tc, list_rejects_bad_documents);
	tcase_add_test(tc, list_skips_keys_outside_the_prefix);
	tcase_add_test(tc, error_documents);
	tcase_add_test(tc, multipart_documents);
	tcase_add_test(tc, xml_escapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, errno_mapping);
	tcase_add_test(tc, retry_policy);
	tcase_add_test(tc, request_build_errors_stick);
	tcase_add_test(tc, time_formats);
	suite_add_tcase(s, tc);

	tc = tcase_create("metadata");
	tcase_add_test(tc, metadata_round_trip);
	tcase_add_test(tc, metadata_from_s3fs);
	tcase_add_test(tc, versions_agree_between_list_and_head);
	tcase_add_test(tc, metadata_nanoseconds);
	tcase_add_test(tc, metadata_device_nodes);
	tcase_add_test(tc, xattr_header_rejects_garbage);
	tcase_add_test(tc, metadata_is_capped_at_2k);
	tcase_add_test(tc, credentials_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_add_test(tc, upload_body_is_rewound_for_a_resend);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(s3_suite(), "check_s3", LOG_LEVEL_ERROR);
}
