/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfsd: a virtio-fs daemon serving an object store to virtual machines.
 *
 * main() parses the command line (options.c), opens the socket, enters the
 * sandbox (sandbox.c, seccomp.c), opens the store in it, builds the
 * layers bottom up (store, objfs, FUSE server, virtio-fs device,
 * vhost-user server) and runs until SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "options.h"
#include "sandbox.h"
#include "virtiofs.h"

/*
 * The QEMU options that attach a guest to this daemon, as the log shows
 * them, --print-qemu-args prints them and the guest tests boot with them.
 * No reconnect= on the chardev: QEMU 7.2 cannot reconnect a
 * vhost-user-fs device ("Failed to set msg fds"), and objfsd serves the
 * next frontend anyway.
 */
static void
format_qemu_args(const struct objfsd_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "-m 1G "
	    "-object memory-backend-memfd,id=mem,size=1G,share=on "
	    "-numa node,memdev=mem "
	    "-chardev socket,id=objfsd,path=%s "
	    "-device vhost-user-fs-pci,queue-size=1024,chardev=objfsd,"
	    "tag=objfs,num-request-queues=%u", c->vu.socket_path,
	    c->request_queues);
}

/*
 * Every open file of a guest may hold an fd of the fs store: take what
 * the hard limit allows, or exactly --rlimit-nofile.  A limit that cannot
 * be had is logged and the daemon goes on with what it has.
 */
static void
set_nofile_limit(int want)
{
	struct rlimit now, rl;

	if (want == 0 || getrlimit(RLIMIT_NOFILE, &now) != 0)
		return;
	rl = now;
	if (want < 0)
		rl.rlim_cur = now.rlim_max;
	else {
		rl.rlim_cur = (rlim_t)want;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
	}
	if (rl.rlim_cur == now.rlim_cur && rl.rlim_max == now.rlim_max)
		return;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot set the open-file limit to %llu; it stays %llu",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)now.rlim_cur);
	else
		log_debug("open-file limit %llu", (unsigned long long)rl.rlim_cur);
}

/* What a newcomer needs next: how QEMU attaches to this socket. */
static void
log_attach_hint(const struct objfsd_config *c)
{
	char args[PATH_MAX + 256];

	format_qemu_args(c, args, sizeof(args));
	log_info("attach a guest with: qemu-system-x86_64 %s ...; then in "
	    "the guest: mount -t virtiofs objfs /mnt", args);
}

/*
 * The sandbox's view of the store: the directory fs: serves and whether
 * the store talks to the network.
 */
static void
sandbox_store_of(const struct objfsd_config *c, struct sandbox_store *ss)
{
	const char *url = c->store_url;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(url, "fs:", 3) == 0)
		ss->dir = url + 3;
	ss->network = strncmp(url, "s3:", 3) == 0;
	ss->xattr_owners = c->store.fs_xattr_owners;
	ss->cache_dir = c->objfs.cache_dir != NULL ? c->objfs.cache_dir :
	    objfs_default_cache_dir();
	ss->socket_path = c->vu.socket_path;
}

#define CA_FILE_MAX	(16u << 20)	/* far above any real bundle */

/*
 * --s3-ca-file, read now: inside the sandbox the host's files are gone.
 * One line and exit 1 when it cannot be had.
 */
static int
read_ca_file(struct store_s3_config *s3, char **bufp)
{
	const char *path = s3->ca_file;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	*bufp = NULL;
	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("cannot read the CA file %s (--s3-ca-file)", path);
		return -1;
	}
	if ((buf = malloc(CA_FILE_MAX)) == NULL)
		fatalx("out of memory");
	while (len < CA_FILE_MAX && (n = read(fd, buf + len,
	    CA_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		log_warn("cannot read the CA file %s (--s3-ca-file)", path);
	else if (len == 0)
		log_warnx("the CA file %s (--s3-ca-file) is empty", path);
	else if (len == CA_FILE_MAX)
		log_warnx("the CA file %s (--s3-ca-file) is larger than "
		    "%u MiB", path, CA_FILE_MAX >> 20);
	if (n < 0 || len == 0 || len == CA_FILE_MAX) {
		free(buf);
		return -1;
	}
	s3->ca_pem = buf;
	s3->ca_len = len;
	*bufp = buf;
	return 0;
}

/*
 * Each store says why it cannot open (one line: a missing bucket,
 * refused credentials, a certificate not trusted); only what it cannot
 * say is said here.
 */
static int
open_store(struct objfsd_config *c, const char *dir, struct store **stp)
{
	char schemes[128], *url = NULL;
	int rc;

	/* Inside the sandbox the directory has a path of its own. */
	if (dir != NULL && asprintf(&url, "fs:%s", dir) == -1)
		return -ENOMEM;
	rc = store_open(url != NULL ? url : c->store_url, &c->store, stp);
	free(url);
	if (rc == -EPROTONOSUPPORT) {
		store_scheme_list(schemes, sizeof(schemes));
		die_usage("unknown store \"%s\"; stores are %s", c->store_url,
		    schemes);
	}
	if (rc == -ENOMEM)
		log_warnx("cannot open store %s: %s", c->store_url,
		    strerror(-rc));
	return rc;
}

/*
 * What the staging journal needs (objfs_journal.c), read before the
 * sandbox hides /proc: this boot of the host, and which store this is.
 * mem: dies with the process and has nothing to recover.
 */
static void
journal_identity(struct objfsd_config *c, char *boot, size_t blen, char *id,
    size_t ilen)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	boot[0] = '\0';
	if (f != NULL) {
		if (fgets(boot, (int)blen, f) != NULL)
			boot[strcspn(boot, "\n")] = '\0';
		fclose(f);
	}
	c->objfs.boot_id = boot[0] != '\0' ? boot : NULL;
	if (strncmp(c->store_url, "mem:", 4) == 0)
		return;
	snprintf(id, ilen, "%s %s", c->store_url,
	    c->s3.endpoint != NULL ? c->s3.endpoint : "");
	c->objfs.journal_id = id;
}

/*
 * Host first (the socket, the cache directory), then the sandbox, then
 * the store inside it, the layers on top, the allow-list, and serve.
 */
static int
serve(struct objfsd_config *c)
{
	struct virtiofs vfs = { 0 };
	struct vu_server *server = NULL;
	struct sandbox_result sr;
	struct sandbox_store ss;
	struct objfs *fs = NULL;
	struct store *st = NULL;
	char *ca_pem, boot[64], journal_id[PATH_MAX + 512];
	int rc, cache_fd;

	c->vu.nqueues = 1 + c->request_queues;
	sandbox_store_of(c, &ss);
	if (read_ca_file(&c->s3, &ca_pem) != 0)
		return 1;
	if ((cache_fd = open(ss.cache_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_warn("cache directory %s", ss.cache_dir);
		free(ca_pem);
		return 1;
	}
	c->objfs.cache_dir = ss.cache_dir;
	c->objfs.cache_dir_fd = cache_fd;
	journal_identity(c, boot, sizeof(boot), journal_id, sizeof(journal_id));
	if ((rc = vu_server_open(&c->vu, &virtiofs_ops, &vfs, &server)) != 0)
		log_warnx("cannot listen for a frontend: %s", strerror(-rc));
	else if ((rc = sandbox_enter(&c->sandbox, &ss, &sr)) == 0) {
		if (sr.forked)
			vu_server_disown_socket(server);
		rc = open_store(c, sr.dir, &st);
	}
	if (rc == 0) {
		c->objfs.store = st;
		vfs.store = st;
		/*
		 * A local directory answers in microseconds: handing requests
		 * to other threads costs more than it saves.  A remote store
		 * waits on the network, so requests run side by side.
		 */
		if (c->pool_size < 0)
			c->pool_size = store_is_tree(st) ? 0 : 16;
		vfs.pool_size = (unsigned)c->pool_size;
		if ((rc = objfs_new(&c->objfs, &fs)) != 0)
			log_warnx("cannot set up the filesystem: %s",
			    strerror(-rc));
	}
	if (rc == 0) {
		vfs.fs = fs;
		vfs.budget = c->objfs.budget;
	}
	if (rc == 0 && (rc = fsrv_new(fs, &c->fsrv, &vfs.srv)) != 0)
		log_warnx("cannot set up the FUSE server: %s", strerror(-rc));
	if (rc == 0)
		rc = sandbox_seccomp(&c->sandbox, &ss);
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
	if (st != NULL)
		store_close(st);
	close(cache_fd);
	free(ca_pem);
	return rc == 0 ? 0 : 1;
}

static int
arena_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > 64 ? 64 : (int)n;
}

int
main(int argc, char **argv)
{
	struct objfsd_config c;
	int rc;

	options_defaults(&c);
	options_parse(&c, argc, argv);
	if (c.print_qemu_args) {
		char args[PATH_MAX + 256];

		format_qemu_args(&c, args, sizeof(args));
		printf("%s\n", args);
		return 0;
	}
	log_init("objfsd", c.log_level, c.use_syslog);
	/*
	 * Fixed thresholds: glibc otherwise raises both after a big block
	 * (a listing of a large directory) is freed, and from then on keeps
	 * tens of MiB of freed heap it would have given back.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	/*
	 * One arena per CPU, not glibc's eight: the worker and S3 threads
	 * mostly wait, and each arena keeps its own scattered free pages,
	 * so resident memory drifted with the thread count (s3: soak, 60 to
	 * 150 s: +2.6% with the default, +0.7% with two arenas).
	 */
	mallopt(M_ARENA_MAX, arena_count());
	signal(SIGPIPE, SIG_IGN);
	set_nofile_limit(c.rlimit_nofile);
	if ((c.store.budget = membudget_new(c.cache_memory)) == NULL)
		fatalx("out of memory");
	c.objfs.budget = c.store.budget;
	rc = serve(&c);
	membudget_free(c.store.budget);
	options_free(&c);
	log_info("exiting");
	return rc;
}
