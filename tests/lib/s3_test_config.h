/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 options of the test programs, from the environment the S3 test
 * scripts set: OBJFSD_TEST_S3_ENDPOINT, and OBJFSD_TEST_S3_RETRIES and
 * OBJFSD_TEST_S3_TIMEOUT where a test wants other than the defaults.
 */
#ifndef OBJFSD_S3_TEST_CONFIG_H
#define OBJFSD_S3_TEST_CONFIG_H

#include "store_s3.h"

void	s3_test_config(struct store_s3_config *c, unsigned retries);

#endif
