/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 store, s3://BUCKET[/PREFIX]: what the daemon may tune.  Zero
 * fields take the defaults named beside them; store_s3_config_init() sets
 * the two whose zero means something else.
 */
#ifndef OBJFSD_STORE_S3_H
#define OBJFSD_STORE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_s3_config {
	const char	*endpoint;	/* URL; default AWS for the region */
	const char	*region;
	int		 path_style;	/* -1: decide from the endpoint */
	uint64_t	 part_size;	/* multipart part and read-ahead size */
	uint64_t	 upload_cutoff;	/* above: multipart (0: default) */
	unsigned	 parallel;	/* parts and ranges in flight */
	unsigned	 retries;
	unsigned	 timeout;	/* seconds a transfer may stall */
	const char	*credentials_file;
	bool		 anonymous;
	bool		 insecure;	/* do not verify TLS certificates */
	/*
	 * The CA bundle to trust instead of the system's (PEM), in memory:
	 * the daemon reads ca_file before the sandbox hides it.  The store
	 * keeps its own copy.
	 */
	const char	*ca_file;	/* for the log */
	const char	*ca_pem;
	size_t		 ca_len;
};

void	store_s3_config_init(struct store_s3_config *c);

#endif
