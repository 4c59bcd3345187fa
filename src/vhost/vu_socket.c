/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user message framing on a UNIX socket, with SCM_RIGHTS fds.
 *
 * Sockets are non-blocking.  Once the first byte of a message is in, the
 * rest must follow within VU_MSG_TIMEOUT_MS: a frontend that stalls in the
 * middle of a message is dropped rather than left to hang the daemon.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "vu_internal.h"

#define VU_MSG_TIMEOUT_MS	2000

int
vu_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t deadline = monotime_ms() + timeout_ms;

	for (;;) {
		int left = timeout_ms < 0 ? -1 : (int)(deadline - monotime_ms());
		int n;

		if (timeout_ms >= 0 && left < 0)
			left = 0;
		n = poll(&pfd, 1, left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Read exactly len bytes that are already on their way. */
static int
vu_read_rest(int fd, void *buf, size_t len)
{
	int64_t deadline = monotime_ms() + VU_MSG_TIMEOUT_MS;
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		int left;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		left = (int)(deadline - monotime_ms());
		if (left <= 0 || vu_wait_fd(fd, POLLIN, left) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static void
vu_collect_fds(struct msghdr *mh, struct vu_msg *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	    c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < VU_MAX_FDS)
				msg->fds[msg->nfds++] = fd;
			else
				close(fd);
		}
	}
}

void
vu_msg_close_fds(struct vu_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] != -1)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

/*
 * Read one message.  -EAGAIN when none is pending, -ECONNRESET at end of
 * stream, -EPROTO for a message that breaks the framing rules (the
 * connection cannot be trusted after it), other -errno on socket errors.
 */
int
vu_msg_read(int fd, struct vu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &msg->hdr, sizeof(msg->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;
	int rc;

	msg->nfds = 0;
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	vu_collect_fds(&mh, msg);
	if (mh.msg_flags & MSG_CTRUNC) {
		log_warnx("frontend sent more than %d fds with one message",
		    VU_MAX_FDS);
		rc = -EPROTO;
		goto fail;
	}
	if ((size_t)n < sizeof(msg->hdr) &&
	    (rc = vu_read_rest(fd, (char *)&msg->hdr + n,
	    sizeof(msg->hdr) - (size_t)n)) != 0)
		goto fail;
	if ((msg->hdr.flags & VU_FLAG_VERSION_MASK) != VU_VERSION) {
		log_warnx("frontend message %u has version %u, not %u",
		    msg->hdr.request, msg->hdr.flags & VU_FLAG_VERSION_MASK,
		    VU_VERSION);
		rc = -EPROTO;
		goto fail;
	}
	if (msg->hdr.size > VU_MAX_PAYLOAD) {
		log_warnx("frontend message %u has a %u-byte payload, more "
		    "than %d", msg->hdr.request, msg->hdr.size,
		    VU_MAX_PAYLOAD);
		rc = -EPROTO;
		goto fail;
	}
	if ((rc = vu_read_rest(fd, msg->payload.raw, msg->hdr.size)) != 0)
		goto fail;
	return 0;
fail:
	vu_msg_close_fds(msg);
	return rc;
}

int
vu_msg_write(int fd, uint32_t request, uint32_t flags, const void *payload,
    uint32_t size, const int *fds, unsigned nfds)
{
	struct vu_header hdr = { request, flags, size };
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) }, { (void *)payload, size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size, sent = 0;

	if (nfds > VU_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (sent < total) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN &&
			    vu_wait_fd(fd, POLLOUT, VU_MSG_TIMEOUT_MS) > 0)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		sent += (size_t)n;
		/* fds went with the first byte; move the iovecs on. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}
