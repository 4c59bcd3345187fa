/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user message sequences through the request table, as a hostile
 * frontend sends them: the input is a run of (header, payload, fd count)
 * records; a memory request gets memfds of 1 MiB, any other eventfds.
 * Rings that start run their threads against a device that pushes every
 * chain straight back.  Each input is one connection, torn down after.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vu_internal.h"

#define MSGS_MAX	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_handle(void *ctx, struct vu_dev *dev, unsigned qidx, struct vq *vq,
    struct vq_elem *elem)
{
	vq_push(vq, elem, 0);
}

static const struct vu_device_ops fuzz_ops = {
	.name = "fuzz",
	.handle = fuzz_handle,
};

static int
fuzz_fd(uint32_t request)
{
	int fd;

	if (request != VU_SET_MEM_TABLE && request != VU_ADD_MEM_REG &&
	    request != VU_REM_MEM_REG)
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) != -1 &&
	    ftruncate(fd, 1 << 20) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Replies are read and dropped so the socket never fills. */
static void
drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* One record: 12 header bytes, the payload, one byte of fd count. */
static size_t
fuzz_msg(const uint8_t *data, size_t size, struct vu_msg *msg)
{
	size_t len;

	if (size < sizeof(msg->hdr) + 1)
		return 0;
	memset(msg, 0, sizeof(*msg));
	memcpy(&msg->hdr, data, sizeof(msg->hdr));
	len = size - sizeof(msg->hdr) - 1;
	if (msg->hdr.size < len)
		len = msg->hdr.size;
	if (len > sizeof(msg->payload))
		len = sizeof(msg->payload);
	msg->hdr.size = (uint32_t)len;	/* as vu_msg_read leaves it */
	memcpy(&msg->payload, data + sizeof(msg->hdr), len);
	msg->nfds = data[sizeof(msg->hdr) + len] % 3;
	for (unsigned i = 0; i < msg->nfds; i++)
		msg->fds[i] = fuzz_fd(msg->hdr.request);
	return sizeof(msg->hdr) + len + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_msg msg;
	struct vu_dev dev;
	int sv[2];

	if (size > 64 * 1024)
		return 0;
	log_init("fuzz_vhost", LOG_LEVEL_ERROR, false);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0 || vu_dev_init(&dev, 3, &fuzz_ops, NULL) != 0)
		abort();
	dev.conn_fd = sv[0];
	for (int i = 0; i < MSGS_MAX; i++) {
		size_t used = fuzz_msg(data, size, &msg);

		if (used == 0)
			break;
		data += used;
		size -= used;
		if (vu_dispatch(&dev, &msg) != 0)
			break;		/* the connection would be dropped */
		drain(sv[1]);
	}
	vu_dev_fini(&dev);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
