/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line of objfsd: one table (objfsd_options[]) from which the
 * getopt_long array, the -o suboptions (virtiofsd's spelling), --help and
 * the keys of a configuration file all come.  Adding an option is one row
 * here plus its paragraph in man/objfsd.8; tests/unit/check_options.c
 * keeps the three in step.
 *
 * Errors in the command line print one line and exit 2 (EXIT_USAGE);
 * --help, --version and --print-capabilities print and exit 0.
 * Single-threaded: called from main() before any thread starts.
 */
#ifndef OBJFSD_OPTIONS_H
#define OBJFSD_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "fuse_server.h"
#include "log.h"
#include "membudget.h"
#include "objfs.h"
#include "sandbox.h"
#include "store.h"
#include "store_s3.h"
#include "vhost_user.h"

#define EXIT_USAGE	2

struct objfsd_config {
	struct vu_options	 vu;
	struct store_config	 store;
	struct store_s3_config	 s3;
	const char		*store_url;
	char			*source_url;	/* built from -o source= */
	unsigned		 request_queues;
	int			 pool_size;	/* -1: chosen by store */
	struct fsrv_options	 fsrv;
	struct objfs_options	 objfs;
	enum log_level		 log_level;
	bool			 use_syslog;
	bool			 print_qemu_args;
	int			 rlimit_nofile;	/* -1: soft up to hard */
	uint64_t		 cache_memory;	/* the caches' budget */
	struct sandbox_options	 sandbox;
	enum {
		FS_OWNERS_DEFAULT,	/* native as root, else xattr */
		FS_OWNERS_NATIVE,
		FS_OWNERS_XATTR,
	}			 fs_owners;
};

struct objfsd_option;
typedef void objfsd_option_fn(struct objfsd_config *c,
    const struct objfsd_option *o, const char *arg);

struct objfsd_option {
	const char		*name;		/* --name; NULL: short only */
	char			 short_name;	/* -x, or 0 */
	const char		*arg;		/* "PATH": takes one; NULL: flag */
	const char		*help;		/* --help text, '\n' between lines */
	const char		*config_key;	/* NULL: command line only */
	const char		*suboption;	/* -o spelling, or NULL */
	objfsd_option_fn	*handler;
	/* For the generic handlers: the field, its range and base. */
	size_t			 off;
	long long		 min, max;
	int			 base;
};

extern const struct objfsd_option	objfsd_options[];
extern const size_t			objfsd_noptions;

void	options_defaults(struct objfsd_config *c);
/* Parses argv into c; exits on a usage error, --help or --version. */
void	options_parse(struct objfsd_config *c, int argc, char **argv);
void	options_usage(FILE *f);
void	options_free(struct objfsd_config *c);

void	die_usage(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));

#endif
