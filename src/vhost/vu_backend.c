/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend request channel: messages objfsd sends to the frontend.
 *
 * Any ring thread may send, so the channel is serialised by a mutex.  A
 * reply is awaited for at most VU_BACKEND_TIMEOUT_MS; after a timeout or
 * any I/O error the channel is closed, since a late reply would otherwise
 * be taken for the answer to the next request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vu_internal.h"

#define VU_BACKEND_TIMEOUT_MS	5000

void
vu_backend_set_fd(struct vu_dev *dev, int fd)
{
	/* Replies are awaited with a timeout, never by blocking. */
	if (fd != -1)
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&dev->backend_lock);
	if (dev->backend_fd != -1)
		close(dev->backend_fd);
	dev->backend_fd = fd;
	pthread_mutex_unlock(&dev->backend_lock);
}

static int
vu_backend_await(int fd, uint32_t request)
{
	struct vu_msg reply;
	int rc;

	rc = vu_wait_fd(fd, POLLIN, VU_BACKEND_TIMEOUT_MS);
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc < 0)
		return rc;
	if ((rc = vu_msg_read(fd, &reply)) != 0)
		return rc == -EAGAIN ? -EIO : rc;
	vu_msg_close_fds(&reply);
	if (reply.hdr.request != request || !(reply.hdr.flags & VU_FLAG_REPLY) ||
	    reply.hdr.size != sizeof(uint64_t)) {
		log_warnx("backend channel: malformed reply to request %u",
		    request);
		return -EPROTO;
	}
	return reply.payload.u64 == 0 ? 0 : -EIO;
}

int
vu_backend_send(struct vu_dev *dev, uint32_t request, const void *payload,
    uint32_t size, const int *fds, unsigned nfds)
{
	bool need_reply = vu_has_protocol_feature(dev, VU_PROTOCOL_F_REPLY_ACK);
	uint32_t flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0);
	int rc;

	if (nfds > 0 &&
	    !vu_has_protocol_feature(dev, VU_PROTOCOL_F_BACKEND_SEND_FD))
		return -ENOTSUP;
	pthread_mutex_lock(&dev->backend_lock);
	if (dev->backend_fd == -1) {
		rc = -ENOTCONN;
		goto out;
	}
	rc = vu_msg_write(dev->backend_fd, request, flags, payload, size, fds,
	    nfds);
	if (rc == 0 && need_reply)
		rc = vu_backend_await(dev->backend_fd, request);
	if (rc != 0 && rc != -EIO) {
		log_warnx("backend channel: request %u: %s; closing the "
		    "channel", request, strerror(-rc));
		close(dev->backend_fd);
		dev->backend_fd = -1;
	}
out:
	pthread_mutex_unlock(&dev->backend_lock);
	return rc;
}
