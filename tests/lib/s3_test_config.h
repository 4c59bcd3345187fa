/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 options of the test programs, from the environment the S3 test
 * scripts set: OBJFSD_TEST_S3_ENDPOINT, and OBJFSD_TEST_S3_RETRIES and
 * OBJFSD_TEST_S3_TIMEOUT where a test wants other than the defaults.
 */
#ifndef OBJFSD_S3_TEST_CONFIG_H
#define OBJFSD_S3_TEST_CONFIG_H

#include "store_s3.h"

struct membudget;
struct objfs;
struct store;

void	s3_test_config(struct store_s3_config *c, unsigned retries);
/*
 * A store on a fresh prefix TAG-PID-RANDOM of OBJFSD_TEST_S3_BUCKET and
 * objfs on it (modes 0644/0755), asserted to open; budget (NULL: none)
 * serves both, as the daemon's --cache-memory does;
 * the store's URL into url[S3_TEST_URL_MAX] unless NULL.
 */
#define S3_TEST_URL_MAX	160
void	s3_test_objfs(const char *tag, struct membudget *budget,
	    struct store **stp, struct objfs **fsp, char *url);

#endif
