/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user server: the listening socket, one frontend connection at
 * a time, and signals, all in one epoll loop.
 *
 * When a frontend goes away every trace of it is dropped (rings, memory,
 * fds) and the next connection is accepted, so QEMU's reconnect= works.
 * With an inherited connected socket (--fd) there is no next connection
 * and the loop ends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "vu_internal.h"

struct vu_server {
	struct vu_dev	 dev;
	int		 listen_fd;
	int		 epoll_fd;
	int		 signal_fd;
	char		*socket_path;	/* ours to unlink at exit */
	dev_t		 socket_dev;
	ino_t		 socket_ino;
	int64_t		 accept_resume_ms; /* 0, or when to accept again */
};

/* Out of fds or memory: accept would fail again at once. */
#define VU_ACCEPT_PAUSE_MS	1000

static int
vu_probe_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int s, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket", path);
		return -EEXIST;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	rc = connect(s, (const struct sockaddr *)sa, sizeof(*sa));
	close(s);
	if (rc == 0) {
		log_warnx("%s is in use by another process", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED)
		return -errno;
	/* Nobody listens: a socket left behind by a dead daemon. */
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
vu_listen_path(struct vu_server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int s, rc;

	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		log_warnx("socket path %s is longer than %zu bytes", path,
		    sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if ((rc = vu_probe_stale(path, &sa)) != 0)
		return rc;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s == -1)
		return -errno;
	/* Created 0600 from the start: no window where others may connect. */
	old_umask = umask(0177);
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc == -1 || listen(s, 1) == -1 || stat(path, &st) == -1) {
		rc = -errno;
		log_warn("cannot listen on %s", path);
		close(s);
		return rc;
	}
	srv->listen_fd = s;
	srv->socket_path = strdup(path);
	srv->socket_dev = st.st_dev;
	srv->socket_ino = st.st_ino;
	return srv->socket_path != NULL ? 0 : -ENOMEM;
}

/* --fd: a listening socket to accept on, or one connected frontend. */
static int
vu_adopt_fd(struct vu_server *srv, int fd)
{
	struct stat st;
	int listening = 0, domain = 0;
	socklen_t len = sizeof(listening), dlen = sizeof(domain);

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) == -1 ||
	    domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1) {
		log_warnx("--fd=%d is not a UNIX domain socket", fd);
		return -ENOTSOCK;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (listening)
		srv->listen_fd = fd;
	else
		srv->dev.conn_fd = fd;
	return 0;
}

static int
vu_epoll_add(struct vu_server *srv, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == -1 ?
	    -errno : 0;
}

static void
vu_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/*
 * Blocked when the server is opened, so in every thread started later:
 * the signals arrive only through the signalfd.
 */
static void
vu_block_signals(void)
{
	sigset_t set;

	vu_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * The signalfd and the epoll set are made when the server starts to
 * run, in the process that runs it: an epoll registration of a signalfd
 * waits on the signals of the process that made it, and a sandbox forks
 * between open and run.
 */
static int
vu_server_arm(struct vu_server *srv)
{
	sigset_t set;
	int rc;

	vu_signal_set(&set);
	srv->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (srv->signal_fd == -1)
		return -errno;
	if ((srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -errno;
	if ((rc = vu_epoll_add(srv, srv->signal_fd)) != 0)
		return rc;
	return vu_epoll_add(srv, srv->listen_fd != -1 ? srv->listen_fd :
	    srv->dev.conn_fd);
}

int
vu_server_open(const struct vu_options *opts, const struct vu_device_ops *ops,
    void *ctx, struct vu_server **serverp)
{
	struct vu_server *srv;
	int rc;

	*serverp = NULL;
	if ((opts->socket_path == NULL) == (opts->fd < 0) ||
	    opts->nqueues == 0 || opts->nqueues > VU_MAX_QUEUES)
		return -EINVAL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return -ENOMEM;
	srv->listen_fd = srv->epoll_fd = srv->signal_fd = -1;
	if ((rc = vu_dev_init(&srv->dev, opts->nqueues, ops, ctx)) != 0) {
		free(srv);
		return rc;
	}
	if (opts->socket_path != NULL)
		rc = vu_listen_path(srv, opts->socket_path);
	else
		rc = vu_adopt_fd(srv, opts->fd);
	if (rc == 0)
		vu_block_signals();
	if (rc != 0) {
		vu_server_close(srv);
		return rc;
	}
	*serverp = srv;
	return 0;
}

static void
vu_drop_connection(struct vu_server *srv, const char *why)
{
	struct vu_dev *dev = &srv->dev;

	if (dev->conn_fd == -1)
		return;
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, dev->conn_fd, NULL);
	/* Rings first: they may still use guest memory and the socket. */
	vu_dev_disconnect(dev);
	close(dev->conn_fd);
	dev->conn_fd = -1;
	log_info("frontend disconnected (%s)", why);
}

static bool vu_serve(struct vu_server *srv);

/*
 * The listening socket stays readable while a connection waits: rather
 * than spin on it, stop watching it for a while.
 */
static void
vu_accept_pause(struct vu_server *srv)
{
	log_warn("accept (pausing new connections for %d ms)",
	    VU_ACCEPT_PAUSE_MS);
	(void)epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
	srv->accept_resume_ms = monotime_ms() + VU_ACCEPT_PAUSE_MS;
}

/* The epoll_wait timeout: -1, or until a paused accept resumes. */
static int
vu_accept_timeout(struct vu_server *srv)
{
	int64_t left;

	if (srv->accept_resume_ms == 0)
		return -1;
	left = srv->accept_resume_ms - monotime_ms();
	if (left > 0)
		return (int)left;
	srv->accept_resume_ms = 0;
	if (vu_epoll_add(srv, srv->listen_fd) == 0)
		return -1;
	vu_accept_pause(srv);
	return VU_ACCEPT_PAUSE_MS;
}

static void
vu_accept(struct vu_server *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			vu_accept_pause(srv);
		else if (errno != EAGAIN && errno != EINTR)
			log_warn("accept");
		return;
	}
	/*
	 * The current frontend may already be gone with its hang-up not yet
	 * read (a quick reconnect): finish with it before judging the new one.
	 */
	if (srv->dev.conn_fd != -1)
		(void)vu_serve(srv);
	if (srv->dev.conn_fd != -1) {
		log_warnx("a frontend is already connected; refusing another");
		close(fd);
		return;
	}
	if (vu_epoll_add(srv, fd) != 0) {
		log_warn("epoll");
		close(fd);
		return;
	}
	srv->dev.conn_fd = fd;
	log_info("frontend connected");
}

/* Serve every message that is waiting.  False: the connection is gone. */
static bool
vu_serve(struct vu_server *srv)
{
	struct vu_msg *msg = malloc(sizeof(*msg));
	bool alive = true;
	int rc;

	if (msg == NULL) {
		vu_drop_connection(srv, "out of memory");
		return false;
	}
	for (;;) {
		rc = vu_msg_read(srv->dev.conn_fd, msg);
		if (rc == -EAGAIN)
			break;
		if (rc == 0)
			rc = vu_dispatch(&srv->dev, msg);
		if (rc != 0) {
			vu_drop_connection(srv, rc == -ECONNRESET ?
			    "end of stream" : strerror(-rc));
			alive = false;
			break;
		}
	}
	free(msg);
	return alive;
}

static bool
vu_handle_signal(struct vu_server *srv)
{
	struct signalfd_siginfo si;

	if (read(srv->signal_fd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		if (srv->dev.ops->report != NULL)
			srv->dev.ops->report(srv->dev.ctx);
		return false;
	}
	log_info("%s received; shutting down", strsignal((int)si.ssi_signo));
	return true;
}

/* Someone else removes the socket at the end: the path may be gone here. */
void
vu_server_disown_socket(struct vu_server *srv)
{
	free(srv->socket_path);
	srv->socket_path = NULL;
}

int
vu_server_run(struct vu_server *srv)
{
	struct epoll_event ev[4];
	int rc;

	if ((rc = vu_server_arm(srv)) != 0) {
		log_warnx("cannot wait for a frontend: %s", strerror(-rc));
		return rc;
	}
	for (;;) {
		int n = epoll_wait(srv->epoll_fd, ev, 4,
		    vu_accept_timeout(srv));

		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == srv->signal_fd && vu_handle_signal(srv))
				goto out;
			if (fd == srv->listen_fd)
				vu_accept(srv);
			else if (fd == srv->dev.conn_fd && !vu_serve(srv) &&
			    srv->listen_fd == -1)
				goto out;
		}
	}
out:
	vu_drop_connection(srv, "shutting down");
	return 0;
}

void
vu_server_close(struct vu_server *srv)
{
	struct stat st;

	if (srv == NULL)
		return;
	vu_drop_connection(srv, "closing");
	vu_dev_fini(&srv->dev);
	if (srv->socket_path != NULL && stat(srv->socket_path, &st) == 0 &&
	    st.st_dev == srv->socket_dev && st.st_ino == srv->socket_ino)
		unlink(srv->socket_path);
	free(srv->socket_path);
	if (srv->listen_fd != -1)
		close(srv->listen_fd);
	if (srv->epoll_fd != -1)
		close(srv->epoll_fd);
	if (srv->signal_fd != -1)
		close(srv->signal_fd);
	free(srv);
}
