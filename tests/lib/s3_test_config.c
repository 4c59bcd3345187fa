/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>

#include "s3_test_config.h"

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
