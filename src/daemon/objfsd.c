/*
 * objfsd: a virtio-fs daemon serving an object store to virtual machines.
 *
 * main() parses the command line, opens the store, builds the layers
 * bottom up (store, objfs, FUSE server, virtio-fs device, vhost-user
 * server) and runs until SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse_server.h"
#include "log.h"
#include "objfs.h"
#include "store.h"
#include "vhost_user.h"
#include "virtiofs.h"

#define EXIT_USAGE	2

struct config {
	struct vu_options	 vu;
	struct store_config	 store;
	const char		*store_url;
	char			*source_url;	/* built from -o source= */
	unsigned		 request_queues;
	int			 pool_size;	/* -1: chosen by store */
	struct fsrv_options	 fsrv;
	struct objfs_options	 objfs;
	enum log_level		 log_level;
	bool			 use_syslog;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: objfsd --socket-path=PATH | --fd=N --store=URL [options]\n"
"\n"
"Serve an object store to a virtual machine as a virtio-fs device.\n"
"\n"
"  --socket-path=PATH      listen for the vhost-user frontend on PATH\n"
"  --fd=N                  use the inherited vhost-user socket N\n"
"  --store=URL             fs:DIR (a local directory), s3://BUCKET[/PREFIX]\n"
"                          or mem:\n"
"  -o source=DIR           same as --store=fs:DIR (virtiofsd spelling)\n"
"  --shared-dir=DIR        same as --store=fs:DIR\n"
"  --request-queues=N      request virtqueues (default 1)\n"
"  --thread-pool-size=N    workers per request queue; 0 serves requests on\n"
"                          the queue's thread (default: 0 for fs:, 16 else)\n"
"  --cache=MODE            none, auto (default) or always\n"
"  --writeback             let the guest cache writes (FUSE writeback)\n"
"  --readonly              refuse every change\n"
"  --uid=N, --gid=N        owner of objects whose metadata names none\n"
"  --file-mode=OCTAL       their permissions (default 0644)\n"
"  --dir-mode=OCTAL        and of such directories (default 0755)\n"
"  --cache-dir=DIR         where files being written are staged\n"
"  --log-level=LEVEL       error, warn, info (default) or debug\n"
"  --syslog                log to syslog instead of stderr\n"
"  --print-capabilities    print the vhost-user backend JSON and exit\n"
"  --s3-endpoint=URL       S3 service (default: AWS for the region)\n"
"  --s3-region=REGION      signing region (default AWS_REGION or us-east-1)\n"
"  --s3-path-style         bucket in the path (default for IP and localhost)\n"
"  --s3-virtual-host       bucket in the host name\n"
"  --s3-part-size=SIZE     multipart part size (default 8M)\n"
"  --s3-parallel=N         parts and ranges in flight (default 4)\n"
"  --s3-upload-cutoff=SIZE files up to SIZE go up in one PUT, larger ones\n"
"                          in parts (default 64M)\n"
"  --s3-retries=N          retries of a failed request (default 5)\n"
"  --s3-timeout=SECONDS    a stalled connection or transfer fails after\n"
"                          this long (default 30) and is retried\n"
"  --s3-credentials=FILE   credentials file, after the environment and\n"
"                          ~/.aws/credentials\n"
"  --s3-anonymous          send unsigned requests\n"
"  --s3-insecure           do not verify TLS certificates\n"
"  --version, --help\n"
"\n"
"-o also takes cache=MODE, writeback, no_writeback, readonly and\n"
"log_level=LEVEL.  See objfsd(8).\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
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

static long long
parse_number(const char *what, const char *s, long long min, long long max,
    int base)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		die_usage("%s must be a number from %lld to %lld, not \"%s\"",
		    what, min, max, s);
	return v;
}

/* A size with an optional K, M or G suffix (powers of 1024). */
static uint64_t
parse_size(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

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
		    "allowed), not \"%s\"", what, (unsigned long long)min,
		    (unsigned long long)max, s);
	return v * mult;
}

static enum fsrv_cache
parse_cache(const char *s)
{
	if (strcmp(s, "none") == 0)
		return FSRV_CACHE_NONE;
	if (strcmp(s, "auto") == 0)
		return FSRV_CACHE_AUTO;
	if (strcmp(s, "always") == 0)
		return FSRV_CACHE_ALWAYS;
	die_usage("cache mode must be none, auto or always, not \"%s\"", s);
}

static void
set_store(struct config *c, const char *url)
{
	if (c->store_url != NULL && strcmp(c->store_url, url) != 0)
		die_usage("the store is given twice (%s and %s)", c->store_url,
		    url);
	c->store_url = url;
}

static void
set_source(struct config *c, const char *dir)
{
	char *url;

	if (asprintf(&url, "fs:%s", dir) == -1)
		fatal("asprintf");
	free(c->source_url);
	c->source_url = url;
	set_store(c, url);
}

/* One -o item, virtiofsd style. */
static void
parse_suboption(struct config *c, char *opt)
{
	char *val = strchr(opt, '=');

	if (val != NULL)
		*val++ = '\0';
	if (strcmp(opt, "source") == 0 && val != NULL)
		set_source(c, val);
	else if (strcmp(opt, "cache") == 0 && val != NULL)
		c->fsrv.cache = parse_cache(val);
	else if (strcmp(opt, "writeback") == 0 && val == NULL)
		c->fsrv.writeback = true;
	else if (strcmp(opt, "no_writeback") == 0 && val == NULL)
		c->fsrv.writeback = false;
	else if (strcmp(opt, "readonly") == 0 && val == NULL)
		c->objfs.readonly = true;
	else if (strcmp(opt, "log_level") == 0 && val != NULL) {
		if (log_parse_level(val, &c->log_level) != 0)
			die_usage("unknown log level \"%s\"", val);
	} else
		die_usage("unknown -o option \"%s%s%s\"", opt,
		    val != NULL ? "=" : "", val != NULL ? val : "");
}

static void
parse_options(struct config *c, char *list)
{
	char *item, *save = NULL;

	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save))
		parse_suboption(c, item);
}

enum {
	OPT_SOCKET = 256, OPT_FD, OPT_STORE, OPT_SHARED_DIR, OPT_QUEUES,
	OPT_CACHE, OPT_WRITEBACK, OPT_READONLY, OPT_UID, OPT_GID,
	OPT_FILE_MODE, OPT_DIR_MODE, OPT_CACHE_DIR, OPT_LOG_LEVEL, OPT_SYSLOG,
	OPT_CAPS, OPT_VERSION, OPT_HELP, OPT_S3_ENDPOINT, OPT_S3_REGION,
	OPT_S3_PATH_STYLE, OPT_S3_VIRTUAL_HOST, OPT_S3_PART_SIZE,
	OPT_S3_PARALLEL, OPT_S3_RETRIES, OPT_S3_CREDENTIALS, OPT_S3_ANONYMOUS,
	OPT_S3_INSECURE, OPT_S3_TIMEOUT, OPT_POOL, OPT_S3_UPLOAD_CUTOFF,
};

static const struct option longopts[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "shared-dir", required_argument, NULL, OPT_SHARED_DIR },
	{ "request-queues", required_argument, NULL, OPT_QUEUES },
	{ "thread-pool-size", required_argument, NULL, OPT_POOL },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "writeback", no_argument, NULL, OPT_WRITEBACK },
	{ "readonly", no_argument, NULL, OPT_READONLY },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "file-mode", required_argument, NULL, OPT_FILE_MODE },
	{ "dir-mode", required_argument, NULL, OPT_DIR_MODE },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "print-capabilities", no_argument, NULL, OPT_CAPS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT },
	{ "s3-region", required_argument, NULL, OPT_S3_REGION },
	{ "s3-path-style", no_argument, NULL, OPT_S3_PATH_STYLE },
	{ "s3-virtual-host", no_argument, NULL, OPT_S3_VIRTUAL_HOST },
	{ "s3-part-size", required_argument, NULL, OPT_S3_PART_SIZE },
	{ "s3-parallel", required_argument, NULL, OPT_S3_PARALLEL },
	{ "s3-upload-cutoff", required_argument, NULL, OPT_S3_UPLOAD_CUTOFF },
	{ "s3-retries", required_argument, NULL, OPT_S3_RETRIES },
	{ "s3-credentials", required_argument, NULL, OPT_S3_CREDENTIALS },
	{ "s3-anonymous", no_argument, NULL, OPT_S3_ANONYMOUS },
	{ "s3-insecure", no_argument, NULL, OPT_S3_INSECURE },
	{ "s3-timeout", required_argument, NULL, OPT_S3_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static void parse_s3(struct config *c, int ch, char *arg);

static void
parse_one(struct config *c, int ch, char *arg)
{
	switch (ch) {
	case OPT_SOCKET:
		c->vu.socket_path = arg;
		break;
	case OPT_FD:
		c->vu.fd = (int)parse_number("--fd", arg, 0, 65535, 10);
		break;
	case OPT_STORE:
		set_store(c, arg);
		break;
	case OPT_SHARED_DIR:
		set_source(c, arg);
		break;
	case 'o':
		parse_options(c, arg);
		break;
	case OPT_QUEUES:
		c->request_queues = (unsigned)parse_number("--request-queues",
		    arg, 1, VU_MAX_QUEUES - 1, 10);
		break;
	case OPT_POOL:
		c->pool_size = (int)parse_number("--thread-pool-size", arg, 0,
		    1024, 10);
		break;
	case OPT_CACHE:
		c->fsrv.cache = parse_cache(arg);
		break;
	case OPT_WRITEBACK:
		c->fsrv.writeback = true;
		break;
	case OPT_READONLY:
		c->objfs.readonly = true;
		break;
	case OPT_UID:
		c->objfs.uid = (uid_t)parse_number("--uid", arg, 0,
		    UINT32_MAX - 1, 10);
		break;
	case OPT_GID:
		c->objfs.gid = (gid_t)parse_number("--gid", arg, 0,
		    UINT32_MAX - 1, 10);
		break;
	case OPT_FILE_MODE:
		c->objfs.file_mode = (mode_t)parse_number("--file-mode", arg,
		    0, 07777, 8);
		break;
	case OPT_DIR_MODE:
		c->objfs.dir_mode = (mode_t)parse_number("--dir-mode", arg, 0,
		    07777, 8);
		break;
	case OPT_CACHE_DIR:
		c->objfs.cache_dir = arg;
		break;
	case OPT_LOG_LEVEL:
		if (log_parse_level(arg, &c->log_level) != 0)
			die_usage("unknown log level \"%s\"", arg);
		break;
	case OPT_SYSLOG:
		c->use_syslog = true;
		break;
	default:
		parse_s3(c, ch, arg);
	}
}

static void
parse_s3(struct config *c, int ch, char *arg)
{
	struct store_s3_config *s3 = &c->store.s3;

	switch (ch) {
	case OPT_S3_ENDPOINT:
		s3->endpoint = arg;
		break;
	case OPT_S3_REGION:
		s3->region = arg;
		break;
	case OPT_S3_PATH_STYLE:
	case OPT_S3_VIRTUAL_HOST:
		if (s3->path_style != -1 &&
		    s3->path_style != (ch == OPT_S3_PATH_STYLE))
			die_usage("--s3-path-style and --s3-virtual-host "
			    "conflict");
		s3->path_style = ch == OPT_S3_PATH_STYLE;
		break;
	case OPT_S3_PART_SIZE:
		s3->part_size = parse_size("--s3-part-size", arg, 5ULL << 20,
		    5ULL << 30);
		break;
	case OPT_S3_UPLOAD_CUTOFF:
		s3->upload_cutoff = parse_size("--s3-upload-cutoff", arg,
		    5ULL << 20, 5ULL << 30);
		break;
	case OPT_S3_PARALLEL:
		s3->parallel = (unsigned)parse_number("--s3-parallel", arg, 1,
		    64, 10);
		break;
	case OPT_S3_RETRIES:
		s3->retries = (unsigned)parse_number("--s3-retries", arg, 0,
		    100, 10);
		break;
	case OPT_S3_CREDENTIALS:
		s3->credentials_file = arg;
		break;
	case OPT_S3_ANONYMOUS:
		s3->anonymous = true;
		break;
	case OPT_S3_INSECURE:
		s3->insecure = true;
		break;
	case OPT_S3_TIMEOUT:
		s3->timeout = (unsigned)parse_number("--s3-timeout", arg, 1,
		    3600, 10);
		break;
	default:
		die_usage("unknown option");
	}
}

static void
parse_args(struct config *c, int argc, char **argv)
{
	int ch;

	/* --print-capabilities must work whatever else is on the line. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print-capabilities") == 0) {
			printf("{\n  \"type\": \"fs\"\n}\n");
			exit(0);
		}
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
		if (ch == OPT_HELP || ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch == OPT_VERSION || ch == 'V') {
			printf("objfsd %s\n", PACKAGE_VERSION);
			exit(0);
		}
		if (ch == ':')
			die_usage("%s needs a value", argv[optind - 1]);
		if (ch == '?')
			die_usage("unknown option %s", argv[optind - 1]);
		parse_one(c, ch, optarg);
	}
	if (optind < argc)
		die_usage("unexpected argument \"%s\"", argv[optind]);
	if ((c->vu.socket_path != NULL) == (c->vu.fd >= 0))
		die_usage("give exactly one of --socket-path and --fd");
	if (c->store_url == NULL)
		die_usage("no store: give --store=URL or -o source=DIR");
}

static void
config_defaults(struct config *c)
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
	c->store.s3.path_style = -1;
	c->store.s3.retries = 5;
}

/* What a newcomer needs next: how QEMU attaches to this socket. */
static void
log_attach_hint(const struct config *c)
{
	log_info("attach a guest with: qemu-system-x86_64 ... "
	    "-object memory-backend-memfd,id=mem,size=1G,share=on "
	    "-numa node,memdev=mem "
	    "-chardev socket,id=objfsd,path=%s,reconnect=1 "
	    "-device vhost-user-fs-pci,queue-size=1024,chardev=objfsd,"
	    "tag=objfs%s%u; then in the guest: mount -t virtiofs objfs /mnt",
	    c->vu.socket_path, ",num-request-queues=", c->request_queues);
}

static int
serve(struct config *c, struct store *st)
{
	struct virtiofs vfs = { 0 };
	struct vu_server *server = NULL;
	struct objfs *fs = NULL;
	int rc;

	c->objfs.store = st;
	c->vu.nqueues = 1 + c->request_queues;
	/*
	 * A local directory answers in microseconds: handing requests to
	 * other threads costs more than it saves.  A remote store waits on
	 * the network, so requests run side by side.
	 */
	if (c->pool_size < 0)
		c->pool_size = store_is_tree(st) ? 0 : 16;
	vfs.pool_size = (unsigned)c->pool_size;
	if ((rc = objfs_new(&c->objfs, &fs)) != 0) {
		log_warnx("cannot set up the filesystem: %s", strerror(-rc));
		return 1;
	}
	if ((rc = fsrv_new(fs, &c->fsrv, &vfs.srv)) == 0 &&
	    (rc = vu_server_open(&c->vu, &virtiofs_ops, &vfs, &server)) != 0)
		log_warnx("cannot listen for a frontend: %s", strerror(-rc));
	if (rc == 0) {
		log_info("serving %s on %s with %u request queue%s and %u "
		    "worker%s each", c->store_url, c->vu.socket_path != NULL ?
		    c->vu.socket_path : "an inherited socket",
		    c->request_queues, c->request_queues == 1 ? "" : "s",
		    vfs.pool_size, vfs.pool_size == 1 ? "" : "s");
		if (c->vu.socket_path != NULL)
			log_attach_hint(c);
		rc = vu_server_run(server);
	}
	vu_server_close(server);
	fsrv_free(vfs.srv);
	objfs_free(fs);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct store *st;
	struct config c;
	int rc;

	config_defaults(&c);
	parse_args(&c, argc, argv);
	log_init("objfsd", c.log_level, c.use_syslog);
	/*
	 * Fixed thresholds: glibc otherwise raises both after a big block
	 * (a listing of a large directory) is freed, and from then on keeps
	 * tens of MiB of freed heap it would have given back.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	signal(SIGPIPE, SIG_IGN);
	c.store.readonly = c.objfs.readonly;
	c.store.cache_dir = c.objfs.cache_dir;
	if ((rc = store_open(c.store_url, &c.store, &st)) != 0) {
		if (rc == -EPROTONOSUPPORT)
			die_usage("unknown store \"%s\"; stores are %s",
			    c.store_url, store_scheme_list());
		log_warnx("cannot open store %s: %s", c.store_url,
		    strerror(-rc));
		return 1;
	}
	rc = serve(&c, st);
	store_close(st);
	free(c.source_url);
	log_info("exiting");
	return rc;
}
