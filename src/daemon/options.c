/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The option table and what is generated from it: getopt_long's array,
 * the -o suboptions, --help.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

#define OPT_HELP_COLUMN	26
#define OPT_HELP_WIDTH	76
#define OPT_LONG_BASE	256	/* getopt_long values of table rows */

/*
 * The field a generic handler writes, checked against the handler's
 * type at compile time: _Generic has no match for another type.
 */
#define FIELD(type, member)						\
	.off = offsetof(struct objfsd_config, member) +			\
	    0 * sizeof(_Generic(((struct objfsd_config *)0)->member,	\
	    type: 1))

void
die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "objfsd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see objfsd --help)\n");
	exit(EXIT_USAGE);
}

/* "--name" or "-x", for messages. */
static const char *
options_spelling(const struct objfsd_option *o, char *buf, size_t len)
{
	if (o->name != NULL)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->short_name);
	return buf;
}

static void *
field(struct objfsd_config *c, const struct objfsd_option *o)
{
	return (char *)c + o->off;
}

static long long
parse_number(const struct objfsd_option *o, const char *s)
{
	char what[64], *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, o->base != 0 ? o->base : 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < o->min ||
	    v > o->max)
		die_usage("%s must be a number from %lld to %lld, not \"%s\"",
		    options_spelling(o, what, sizeof(what)), o->min, o->max, s);
	return v;
}

/* A size with an optional K, M or G suffix (powers of 1024). */
static uint64_t
parse_size(const struct objfsd_option *o, const char *s)
{
	char what[64], *end;
	unsigned long long v;
	uint64_t mult = 1, min = (uint64_t)o->min, max = (uint64_t)o->max;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1ULL << 10;
	else if (*end == 'M' || *end == 'm')
		mult = 1ULL << 20;
	else if (*end == 'G' || *end == 'g')
		mult = 1ULL << 30;
	if (mult != 1)
		end++;
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 ||
	    v > max / mult || v * mult < min)
		die_usage("%s must be a size from %llu to %llu bytes (K, M, G "
		    "allowed), not \"%s\"", options_spelling(o, what,
		    sizeof(what)), (unsigned long long)min,
		    (unsigned long long)max, s);
	return v * mult;
}

/* The generic handlers, one per field type. */
static void
opt_string(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(const char **)field(c, o) = arg;
}

static void
opt_true(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(bool *)field(c, o) = true;
}

static void
opt_false(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(bool *)field(c, o) = false;
}

static void
opt_unsigned(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(unsigned *)field(c, o) = (unsigned)parse_number(o, arg);
}

static void
opt_int(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(int *)field(c, o) = (int)parse_number(o, arg);
}

static void
opt_size(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	*(uint64_t *)field(c, o) = parse_size(o, arg);
}

/* The handlers of options with rules of their own. */
static void
opt_store(struct objfsd_config *c, const struct objfsd_option *o,
    const char *url)
{
	if (c->store_url != NULL && strcmp(c->store_url, url) != 0)
		die_usage("the store is given twice (%s and %s)", c->store_url,
		    url);
	c->store_url = url;
}

static void
opt_source(struct objfsd_config *c, const struct objfsd_option *o,
    const char *dir)
{
	char *url;

	if (asprintf(&url, "fs:%s", dir) == -1)
		fatal("asprintf");
	opt_store(c, o, url);
	free(c->source_url);
	c->source_url = url;
}

static void
opt_cache(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	if (strcmp(s, "none") == 0)
		c->fsrv.cache = FSRV_CACHE_NONE;
	else if (strcmp(s, "auto") == 0)
		c->fsrv.cache = FSRV_CACHE_AUTO;
	else if (strcmp(s, "always") == 0)
		c->fsrv.cache = FSRV_CACHE_ALWAYS;
	else
		die_usage("cache mode must be none, auto or always, not "
		    "\"%s\"", s);
}

static void
opt_log_level(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	if (log_parse_level(s, &c->log_level) != 0)
		die_usage("unknown log level \"%s\"", s);
}

/* The index of s in a NULL-terminated list of words, or -1. */
static int
word_index(const char *s, const char *const *words)
{
	for (int i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			return i;
	return -1;
}

static void
opt_sandbox(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	static const char *const words[] = { "namespace", "chroot", "none",
	    NULL };
	static const enum sandbox_mode modes[] = { SANDBOX_NAMESPACE,
	    SANDBOX_CHROOT, SANDBOX_NONE };
	int i = word_index(s, words);

	if (i < 0)
		die_usage("sandbox must be namespace, chroot or none, not "
		    "\"%s\"", s);
	c->sandbox.mode = modes[i];
}

static void
opt_fs_owners(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	if (strcmp(s, "native") == 0)
		c->fs_owners = FS_OWNERS_NATIVE;
	else if (strcmp(s, "xattr") == 0)
		c->fs_owners = FS_OWNERS_XATTR;
	else
		die_usage("fs-owners must be native or xattr, not \"%s\"", s);
}

static void
opt_fs_devices(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	static const char *const words[] = { "record", "real", NULL };
	int i = word_index(s, words);

	if (i < 0)
		die_usage("fs-devices must be record or real, not \"%s\"", s);
	c->store.fs_real_devices = i == 1;
}

static void
opt_s3_conflicts(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	static const char *const words[] = { "detect", "overwrite", NULL };
	int i = word_index(s, words);

	if (i < 0)
		die_usage("s3-conflicts must be detect or overwrite, not "
		    "\"%s\"", s);
	c->objfs.conflicts_overwrite = i == 1;
}

static void
opt_seccomp(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	static const char *const words[] = { "kill", "log", "trap", "none",
	    NULL };
	static const enum sandbox_seccomp modes[] = { SECCOMP_KILL,
	    SECCOMP_LOG, SECCOMP_TRAP, SECCOMP_NONE };
	int i = word_index(s, words);

	if (i < 0)
		die_usage("seccomp must be kill, log, trap or none, not "
		    "\"%s\"", s);
	c->sandbox.seccomp = modes[i];
}

static void
opt_modcaps(struct objfsd_config *c, const struct objfsd_option *o,
    const char *s)
{
	if (sandbox_check_modcaps(s) != 0)
		die_usage("--modcaps takes +name:-name with capability names "
		    "such as chown or sys_admin, not \"%s\"", s);
	c->sandbox.modcaps = s;
}

/* --s3-path-style and --s3-virtual-host: min is the style each sets. */
static void
opt_s3_style(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	int style = (int)o->min;

	if (c->s3.path_style != -1 && c->s3.path_style != style)
		die_usage("--s3-path-style and --s3-virtual-host conflict");
	c->s3.path_style = style;
}

static void opt_suboptions(struct objfsd_config *c,
    const struct objfsd_option *o, const char *list);
static void opt_help(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg);
static void opt_version(struct objfsd_config *c,
    const struct objfsd_option *o, const char *arg);
static void opt_capabilities(struct objfsd_config *c,
    const struct objfsd_option *o, const char *arg);

const struct objfsd_option objfsd_options[] = {
	{ .name = "socket-path", .arg = "PATH",
	  .help = "listen for the vhost-user frontend on PATH",
	  .config_key = "socket-path",
	  .handler = opt_string, FIELD(const char *, vu.socket_path) },
	{ .name = "fd", .arg = "N",
	  .help = "use the inherited vhost-user socket N",
	  .handler = opt_int, FIELD(int, vu.fd), .min = 0, .max = 65535 },
	{ .name = "store", .arg = "URL",
	  .help = "fs:DIR (a local directory), s3://BUCKET[/PREFIX]\n"
	      "or mem:",
	  .config_key = "store", .handler = opt_store },
	{ .short_name = 'o', .arg = "OPTION[,...]",
	  .help = "options in virtiofsd's spelling (below)",
	  .handler = opt_suboptions },
	{ .name = "shared-dir", .arg = "DIR",
	  .help = "same as --store=fs:DIR", .suboption = "source",
	  .handler = opt_source },
	{ .name = "request-queues", .arg = "N",
	  .help = "request virtqueues (default 1)",
	  .config_key = "request-queues",
	  .handler = opt_unsigned, FIELD(unsigned, request_queues),
	  .min = 1, .max = VU_MAX_QUEUES - 1 },
	{ .name = "thread-pool-size", .arg = "N",
	  .help = "workers per request queue; 0 serves requests on\n"
	      "the queue's thread (default: 0 for fs:, 16 else)",
	  .config_key = "thread-pool-size",
	  .handler = opt_int, FIELD(int, pool_size), .min = 0, .max = 1024 },
	{ .name = "cache", .arg = "MODE",
	  .help = "none, auto (default) or always",
	  .config_key = "cache", .suboption = "cache",
	  .handler = opt_cache },
	{ .name = "writeback",
	  .help = "let the guest cache writes (FUSE writeback)",
	  .config_key = "writeback", .suboption = "writeback",
	  .handler = opt_true, FIELD(bool, fsrv.writeback) },
	{ .name = "no-writeback",
	  .help = "the guest writes through (the default)",
	  .suboption = "no_writeback",
	  .handler = opt_false, FIELD(bool, fsrv.writeback) },
	{ .name = "readonly", .help = "refuse every change",
	  .config_key = "readonly", .suboption = "readonly",
	  .handler = opt_true, FIELD(bool, objfs.readonly) },
	{ .name = "uid", .arg = "N",
	  .help = "owner of objects whose metadata names none",
	  .config_key = "uid",
	  .handler = opt_unsigned, FIELD(unsigned, objfs.uid),
	  .min = 0, .max = UINT32_MAX - 1 },
	{ .name = "gid", .arg = "N", .help = "and their group",
	  .config_key = "gid",
	  .handler = opt_unsigned, FIELD(unsigned, objfs.gid),
	  .min = 0, .max = UINT32_MAX - 1 },
	{ .name = "file-mode", .arg = "OCTAL",
	  .help = "their permissions (default 0644)",
	  .config_key = "file-mode",
	  .handler = opt_unsigned, FIELD(unsigned, objfs.file_mode),
	  .min = 0, .max = 07777, .base = 8 },
	{ .name = "dir-mode", .arg = "OCTAL",
	  .help = "and of such directories (default 0755)",
	  .config_key = "dir-mode",
	  .handler = opt_unsigned, FIELD(unsigned, objfs.dir_mode),
	  .min = 0, .max = 07777, .base = 8 },
	{ .name = "rlimit-nofile", .arg = "N",
	  .help = "open-file limit (default: raised to the hard\n"
	      "limit; 0 leaves it as it is)",
	  .config_key = "rlimit-nofile",
	  .handler = opt_int, FIELD(int, rlimit_nofile),
	  .min = 0, .max = 1 << 30 },
	{ .name = "cache-dir", .arg = "DIR",
	  .help = "where files being written are staged",
	  .config_key = "cache-dir",
	  .handler = opt_string, FIELD(const char *, objfs.cache_dir) },
	{ .name = "cache-memory", .arg = "SIZE",
	  .help = "memory for read-ahead and directory listings,\n"
	      "all together (default 256M)",
	  .config_key = "cache-memory",
	  .handler = opt_size, FIELD(uint64_t, cache_memory),
	  .min = 8LL << 20, .max = 1LL << 40 },
	{ .name = "fs-owners", .arg = "MODE",
	  .help = "fs: owners, modes and device nodes: native (the\n"
	      "default as root) or xattr (in user.objfsd.stat)",
	  .config_key = "fs-owners", .suboption = "fs_owners",
	  .handler = opt_fs_owners },
	{ .name = "fs-devices", .arg = "MODE",
	  .help = "fs: device nodes with native owners: record (the\n"
	      "default, a regular host file) or real (host nodes)",
	  .config_key = "fs-devices", .suboption = "fs_devices",
	  .handler = opt_fs_devices },
	{ .name = "sandbox", .arg = "MODE",
	  .help = "namespace (default), chroot or none",
	  .config_key = "sandbox", .suboption = "sandbox",
	  .handler = opt_sandbox },
	{ .name = "seccomp", .arg = "ACTION",
	  .help = "on a system call outside the allow-list:\n"
	      "kill (default), log, trap or none",
	  .config_key = "seccomp", .suboption = "seccomp",
	  .handler = opt_seccomp },
	{ .name = "modcaps", .arg = "+CAP:-CAP",
	  .help = "capabilities to keep or drop beyond the store's",
	  .config_key = "modcaps", .suboption = "modcaps",
	  .handler = opt_modcaps },
	{ .name = "run-as", .arg = "USER[:GROUP]",
	  .help = "serve as this account, once set up",
	  .config_key = "run-as",
	  .handler = opt_string, FIELD(const char *, sandbox.run_as) },
	{ .name = "log-level", .arg = "LEVEL",
	  .help = "error, warn, info (default) or debug",
	  .config_key = "log-level", .suboption = "log_level",
	  .handler = opt_log_level },
	{ .name = "syslog", .help = "log to syslog instead of stderr",
	  .config_key = "syslog",
	  .handler = opt_true, FIELD(bool, use_syslog) },
	{ .name = "s3-endpoint", .arg = "URL",
	  .help = "S3 service (default: AWS for the region)",
	  .config_key = "s3.endpoint",
	  .handler = opt_string, FIELD(const char *, s3.endpoint) },
	{ .name = "s3-region", .arg = "REGION",
	  .help = "signing region (default AWS_REGION or us-east-1)",
	  .config_key = "s3.region",
	  .handler = opt_string, FIELD(const char *, s3.region) },
	{ .name = "s3-path-style",
	  .help = "bucket in the path (default for IP and localhost)",
	  .config_key = "s3.path-style",
	  .handler = opt_s3_style, .min = 1 },
	{ .name = "s3-virtual-host", .help = "bucket in the host name",
	  .config_key = "s3.virtual-host",
	  .handler = opt_s3_style, .min = 0 },
	{ .name = "s3-part-size", .arg = "SIZE",
	  .help = "multipart part size (default 8M)",
	  .config_key = "s3.part-size",
	  .handler = opt_size, FIELD(uint64_t, s3.part_size),
	  .min = 5LL << 20, .max = 5LL << 30 },
	{ .name = "s3-parallel", .arg = "N",
	  .help = "parts and ranges in flight (default 4)",
	  .config_key = "s3.parallel",
	  .handler = opt_unsigned, FIELD(unsigned, s3.parallel),
	  .min = 1, .max = 64 },
	{ .name = "s3-upload-cutoff", .arg = "SIZE",
	  .help = "files up to SIZE go up in one PUT, larger ones\n"
	      "in parts (default 64M)",
	  .config_key = "s3.upload-cutoff",
	  .handler = opt_size, FIELD(uint64_t, s3.upload_cutoff),
	  .min = 5LL << 20, .max = 5LL << 30 },
	{ .name = "s3-retries", .arg = "N",
	  .help = "retries of a failed request (default 5)",
	  .config_key = "s3.retries",
	  .handler = opt_unsigned, FIELD(unsigned, s3.retries),
	  .min = 0, .max = 100 },
	{ .name = "s3-timeout", .arg = "SECONDS",
	  .help = "a stalled connection or transfer fails after\n"
	      "this long (default 30) and is retried",
	  .config_key = "s3.timeout",
	  .handler = opt_unsigned, FIELD(unsigned, s3.timeout),
	  .min = 1, .max = 3600 },
	{ .name = "s3-credentials", .arg = "FILE",
	  .help = "credentials file, after the environment and\n"
	      "~/.aws/credentials",
	  .config_key = "s3.credentials",
	  .handler = opt_string, FIELD(const char *, s3.credentials_file) },
	{ .name = "s3-anonymous", .help = "send unsigned requests",
	  .config_key = "s3.anonymous",
	  .handler = opt_true, FIELD(bool, s3.anonymous) },
	{ .name = "s3-insecure", .help = "do not verify TLS certificates",
	  .config_key = "s3.insecure",
	  .handler = opt_true, FIELD(bool, s3.insecure) },
	{ .name = "s3-conflicts", .arg = "MODE",
	  .help = "an object another writer changed since it was\n"
	      "opened: detect (default: the close fails, the\n"
	      "bytes go to lost+found) or overwrite",
	  .config_key = "s3.conflicts",
	  .handler = opt_s3_conflicts },
	{ .name = "s3-ca-file", .arg = "FILE",
	  .help = "trust the CA certificates in FILE (PEM) instead\n"
	      "of the system's; read at start",
	  .config_key = "s3.ca-file",
	  .handler = opt_string, FIELD(const char *, s3.ca_file) },
	{ .name = "print-capabilities",
	  .help = "print the vhost-user backend JSON and exit",
	  .handler = opt_capabilities },
	{ .name = "print-qemu-args",
	  .help = "print the QEMU options that attach a guest to\n"
	      "--socket-path, and exit",
	  .handler = opt_true, FIELD(bool, print_qemu_args) },
	{ .name = "version", .short_name = 'V',
	  .help = "print the version and exit", .handler = opt_version },
	{ .name = "help", .short_name = 'h',
	  .help = "print this help and exit", .handler = opt_help },
};

#define NOPTIONS	(sizeof(objfsd_options) / sizeof(objfsd_options[0]))
const size_t objfsd_noptions = NOPTIONS;

/* One -o item, "name" or "name=value". */
static void
parse_suboption(struct objfsd_config *c, char *item)
{
	char *val = strchr(item, '=');

	if (val != NULL)
		*val++ = '\0';
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct objfsd_option *o = &objfsd_options[i];

		if (o->suboption != NULL && strcmp(o->suboption, item) == 0 &&
		    (o->arg != NULL) == (val != NULL)) {
			o->handler(c, o, val);
			return;
		}
	}
	die_usage("unknown -o option \"%s%s%s\"", item,
	    val != NULL ? "=" : "", val != NULL ? val : "");
}

/* The list is the argv string: values found in it stay valid. */
static void
opt_suboptions(struct objfsd_config *c, const struct objfsd_option *o,
    const char *list)
{
	char *item, *save = NULL;

	for (item = strtok_r((char *)list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save))
		parse_suboption(c, item);
}

static void
print_left_column(FILE *f, const struct objfsd_option *o)
{
	int w = 0;

	if (o->short_name != 0 && o->name != NULL)
		w = fprintf(f, "  -%c, --%s", o->short_name, o->name);
	else if (o->name != NULL)
		w = fprintf(f, "  --%s", o->name);
	else
		w = fprintf(f, "  -%c", o->short_name);
	if (o->arg != NULL)
		w += fprintf(f, o->name != NULL ? "=%s" : " %s", o->arg);
	if (w >= OPT_HELP_COLUMN) {
		fputc('\n', f);
		w = 0;
	}
	fprintf(f, "%*s", OPT_HELP_COLUMN - w, "");
}

static void
print_help_text(FILE *f, const char *help)
{
	for (const char *p = help; *p != '\0'; p++) {
		fputc(*p, f);
		if (*p == '\n')
			fprintf(f, "%*s", OPT_HELP_COLUMN, "");
	}
	fputc('\n', f);
}

static void
print_suboptions(FILE *f)
{
	int col = fprintf(f, "\n-o takes") - 1;
	const char *sep = " ";

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct objfsd_option *o = &objfsd_options[i];
		int w;

		if (o->suboption == NULL)
			continue;
		w = (int)strlen(o->suboption) +
		    (o->arg != NULL ? 1 + (int)strlen(o->arg) : 0);
		if (col + 2 + w > OPT_HELP_WIDTH) {
			fprintf(f, "%s\n", sep[0] == ',' ? "," : "");
			sep = "  ";
			col = 0;
		}
		col += fprintf(f, "%s%s%s%s", sep, o->suboption,
		    o->arg != NULL ? "=" : "", o->arg != NULL ? o->arg : "");
		sep = ", ";
	}
	fprintf(f, ".  See objfsd(8).\n");
}

void
options_usage(FILE *f)
{
	fprintf(f, "usage: objfsd --socket-path=PATH | --fd=N --store=URL "
	    "[options]\n\nServe an object store to a virtual machine as a "
	    "virtio-fs device.\n\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		print_left_column(f, &objfsd_options[i]);
		print_help_text(f, objfsd_options[i].help);
	}
	print_suboptions(f);
}

static void
opt_help(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	options_usage(stdout);
	exit(0);
}

static void
opt_version(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	printf("objfsd %s\n", PACKAGE_VERSION);
	exit(0);
}

static void
opt_capabilities(struct objfsd_config *c, const struct objfsd_option *o,
    const char *arg)
{
	printf("{\n  \"type\": \"fs\"\n}\n");
	exit(0);
}

/* getopt_long's arrays, from the table. */
static void
build_getopt(struct option *longopts, char *shortopts)
{
	size_t nlong = 0, nshort = 0;

	shortopts[nshort++] = ':';
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct objfsd_option *o = &objfsd_options[i];

		if (o->name != NULL)
			longopts[nlong++] = (struct option){ o->name,
			    o->arg != NULL ? required_argument : no_argument,
			    NULL, OPT_LONG_BASE + (int)i };
		if (o->short_name != 0) {
			shortopts[nshort++] = o->short_name;
			if (o->arg != NULL)
				shortopts[nshort++] = ':';
		}
	}
	longopts[nlong] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[nshort] = '\0';
}

static const struct objfsd_option *
option_of(int ch)
{
	if (ch >= OPT_LONG_BASE && (size_t)(ch - OPT_LONG_BASE) <
	    NOPTIONS)
		return &objfsd_options[ch - OPT_LONG_BASE];
	for (size_t i = 0; i < NOPTIONS; i++)
		if (objfsd_options[i].short_name == ch)
			return &objfsd_options[i];
	return NULL;
}

void
options_defaults(struct objfsd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vu.fd = -1;
	c->request_queues = 1;
	c->pool_size = -1;
	c->fsrv.cache = FSRV_CACHE_AUTO;
	c->objfs.uid = getuid();
	c->objfs.gid = getgid();
	c->objfs.file_mode = 0644;
	c->objfs.dir_mode = 0755;
	c->log_level = LOG_LEVEL_INFO;
	c->rlimit_nofile = -1;
	c->cache_memory = MEMBUDGET_DEFAULT;
	store_s3_config_init(&c->s3);
	c->store.s3 = &c->s3;
}

static void
check_required(const struct objfsd_config *c)
{
	if (c->print_qemu_args) {
		if (c->vu.socket_path == NULL)
			die_usage("--print-qemu-args needs --socket-path");
		return;
	}
	if ((c->vu.socket_path != NULL) == (c->vu.fd >= 0))
		die_usage("give exactly one of --socket-path and --fd");
	if (c->store_url == NULL)
		die_usage("no store: give --store=URL or -o source=DIR");
}

void
options_parse(struct objfsd_config *c, int argc, char **argv)
{
	struct option longopts[NOPTIONS + 1];
	char shortopts[2 * NOPTIONS + 2];
	const struct objfsd_option *o;
	int ch;

	/* --print-capabilities must work whatever else is on the line. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--print-capabilities") == 0)
			opt_capabilities(c, NULL, NULL);
	build_getopt(longopts, shortopts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (ch == ':')
			die_usage("%s needs a value", argv[optind - 1]);
		if (ch == '?' || (o = option_of(ch)) == NULL)
			die_usage("unknown option %s", argv[optind - 1]);
		o->handler(c, o, optarg);
	}
	if (optind < argc)
		die_usage("unexpected argument \"%s\"", argv[optind]);
	check_required(c);
	c->fsrv.readonly = c->objfs.readonly;
	c->store.readonly = c->objfs.readonly;
	c->store.cache_dir = c->objfs.cache_dir;
	/*
	 * The kernel's attribute timeout, as the daemon's own cache's: with
	 * always nobody else changes the store, and the kernel keeps
	 * attributes a day (s3fs keeps its stat cache 15 minutes).
	 */
	c->objfs.attr_cache_ms = c->fsrv.cache == FSRV_CACHE_NONE ? 0 :
	    c->fsrv.cache == FSRV_CACHE_ALWAYS ? OBJFS_ATTR_CACHE_ALWAYS_MS :
	    OBJFS_ATTR_CACHE_MS;
	/* Native owners need root for good: not with --run-as. */
	if (c->fs_owners == FS_OWNERS_DEFAULT)
		c->fs_owners = geteuid() == 0 && c->sandbox.run_as == NULL ?
		    FS_OWNERS_NATIVE : FS_OWNERS_XATTR;
	c->store.fs_xattr_owners = c->fs_owners == FS_OWNERS_XATTR;
}

void
options_free(struct objfsd_config *c)
{
	free(c->source_url);
	c->source_url = NULL;
}
