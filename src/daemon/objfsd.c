/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfsd: a virtio-fs daemon serving an object store to virtual machines.
 *
 * main() parses the command line (options.c), opens the store, builds the layers
 * bottom up (store, objfs, FUSE server, virtio-fs device, vhost-user
 * server) and runs until SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "options.h"
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

static int
serve(struct objfsd_config *c, struct store *st)
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
	if ((rc = fsrv_new(fs, &c->fsrv, &vfs.srv)) != 0)
		log_warnx("cannot set up the FUSE server: %s", strerror(-rc));
	else if ((rc = vu_server_open(&c->vu, &virtiofs_ops, &vfs,
	    &server)) != 0)
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
	char schemes[128];
	struct objfsd_config c;
	struct store *st;
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
	signal(SIGPIPE, SIG_IGN);
	set_nofile_limit(c.rlimit_nofile);
	if ((c.store.budget = membudget_new(c.cache_memory)) == NULL)
		fatalx("out of memory");
	c.objfs.budget = c.store.budget;
	if ((rc = store_open(c.store_url, &c.store, &st)) != 0) {
		if (rc == -EPROTONOSUPPORT) {
			store_scheme_list(schemes, sizeof(schemes));
			die_usage("unknown store \"%s\"; stores are %s",
			    c.store_url, schemes);
		}
		log_warnx("cannot open store %s: %s", c.store_url,
		    strerror(-rc));
		membudget_free(c.store.budget);
		return 1;
	}
	rc = serve(&c, st);
	store_close(st);
	membudget_free(c.store.budget);
	options_free(&c);
	log_info("exiting");
	return rc;
}
