/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "objfs.h"
#include "s3_test_config.h"
#include "store.h"

void
s3_test_config(struct store_s3_config *c, unsigned retries)
{
	const char *v;

	store_s3_config_init(c);
	c->endpoint = getenv("OBJFSD_TEST_S3_ENDPOINT");
	c->retries = retries;
	if ((v = getenv("OBJFSD_TEST_S3_RETRIES")) != NULL)
		c->retries = (unsigned)atoi(v);
	if ((v = getenv("OBJFSD_TEST_S3_TIMEOUT")) != NULL)
		c->timeout = (unsigned)atoi(v);
}

void
s3_test_objfs(const char *tag, struct membudget *budget, struct store **stp,
    struct objfs **fsp, char *url)
{
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3, .budget = budget };
	struct objfs_options o = { .file_mode = 0644, .dir_mode = 0755,
	    .budget = budget, .attr_cache_ms = OBJFS_ATTR_CACHE_MS };
	char own[S3_TEST_URL_MAX];

	if (url == NULL)
		url = own;
	s3_test_config(&s3, 5);
	snprintf(url, S3_TEST_URL_MAX, "s3://%s/%s-%d-%08x",
	    getenv("OBJFSD_TEST_S3_BUCKET"), tag, (int)getpid(),
	    arc4random());
	ck_assert_int_eq(store_open(url, &cfg, stp), 0);
	o.store = *stp;
	ck_assert_int_eq(objfs_new(&o, fsp), 0);
}
