/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sigv4_tool: sign one request with objfsd's signer and print the
 * Authorization value, so tests/e2e/sigv4-botocore.py can compare it with
 * botocore's.
 *
 *   sigv4_tool METHOD PATH AMZ_DATE REGION PAYLOAD_HASH ACCESS SECRET \
 *       [-q KEY=VALUE]... [-H NAME:VALUE]...
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sigv4.h"

#define MAX_KV	64

int
main(int argc, char **argv)
{
	struct s3_kv q[MAX_KV], h[MAX_KV];
	size_t nq = 0, nh = 0;
	struct dbuf out;
	struct s3_sign_req r;

	if (argc < 8) {
		fprintf(stderr, "usage: sigv4_tool METHOD PATH DATE REGION HASH "
		    "ACCESS SECRET [-q K=V]... [-H N:V]...\n");
		return 2;
	}
	for (int i = 8; i + 1 < argc && nq < MAX_KV && nh < MAX_KV; i += 2) {
		char *sep = strchr(argv[i + 1], strcmp(argv[i], "-q") == 0 ?
		    '=' : ':');

		if (sep == NULL)
			return 2;
		*sep = '\0';
		if (strcmp(argv[i], "-q") == 0)
			q[nq++] = (struct s3_kv){ argv[i + 1], sep + 1 };
		else
			h[nh++] = (struct s3_kv){ argv[i + 1], sep + 1 };
	}
	r = (struct s3_sign_req){ .method = argv[1], .path = argv[2],
	    .query = q, .nquery = nq, .headers = h, .nheaders = nh,
	    .payload_hash = argv[5], .amz_date = argv[3], .region = argv[4],
	    .service = "s3", .access_key = argv[6], .secret_key = argv[7] };
	dbuf_init(&out, 8192);
	if (s3_sign(&r, &out) != 0)
		return 1;
	printf("%s\n", out.data);
	dbuf_free(&out);
	return 0;
}
