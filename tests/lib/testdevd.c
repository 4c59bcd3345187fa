/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testdevd: the vhost-user transport with a trivial device behind it, so
 * the transport can be tested on its own.
 *
 * The device echoes the readable part of each chain into the writable
 * part.  A chain starting with "BKND" makes it send a CONFIG_CHANGE_MSG on
 * the backend channel and answer the int32 result; "SLEEP" followed by a
 * number of milliseconds delays the answer.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iovcur.h"
#include "log.h"
#include "vhost_user.h"
#include "vu_proto.h"

#define ECHO_MAX	(1u << 20)

static void
testdev_handle(void *ctx, struct vu_dev *dev, unsigned qidx, struct vq *vq,
    struct vq_elem *elem)
{
	struct iovcur in, out;
	size_t len = elem->rd_len < ECHO_MAX ? elem->rd_len : ECHO_MAX;
	char *buf = malloc(len + 1);
	uint32_t written = 0;

	iovcur_init(&in, elem->rd, elem->nrd);
	iovcur_init(&out, elem->wr, elem->nwr);
	if (buf == NULL || iovcur_take(&in, buf, len) != 0)
		goto done;
	buf[len] = '\0';
	if (len >= 4 && memcmp(buf, "BKND", 4) == 0) {
		int32_t rc = vu_backend_send(dev, VU_BACKEND_CONFIG_CHANGE_MSG,
		    NULL, 0, NULL, 0);

		if (iovcur_put(&out, &rc, sizeof(rc)) == 0)
			written = sizeof(rc);
		goto done;
	}
	if (len >= 5 && memcmp(buf, "SLEEP", 5) == 0)
		usleep((useconds_t)atoi(buf + 5) * 1000);
	if (len > elem->wr_len)
		len = elem->wr_len;
	if (iovcur_put(&out, buf, len) == 0)
		written = (uint32_t)len;
done:
	free(buf);
	vq_push(vq, elem, written);
}

static const struct vu_device_ops testdev_ops = {
	.name = "testdev",
	.handle = testdev_handle,
};

static void
usage(void)
{
	fprintf(stderr, "usage: testdevd --socket-path=PATH | --fd=N "
	    "[--queues=N] [--log-level=LEVEL]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "queues", required_argument, NULL, 'q' },
		{ "log-level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct vu_options opts = { .fd = -1, .nqueues = 2 };
	enum log_level level = LOG_LEVEL_INFO;
	struct vu_server *srv;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opts.socket_path = optarg;
			break;
		case 'f':
			opts.fd = atoi(optarg);
			break;
		case 'q':
			opts.nqueues = (unsigned)atoi(optarg);
			break;
		case 'l':
			if (log_parse_level(optarg, &level) != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	log_init("testdevd", level, false);
	if ((rc = vu_server_open(&opts, &testdev_ops, NULL, &srv)) != 0)
		fatalx("cannot start: %s", strerror(-rc));
	rc = vu_server_run(srv);
	vu_server_close(srv);
	return rc == 0 ? 0 : 1;
}
