/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuseclient: FUSE requests over the fake frontend.  See fuseclient.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuseclient.h"

#define FC_TIMEOUT_MS	20000
#define FC_MAX_BUFS	600

int
fc_connect(struct fc *c, const char *sock, unsigned nqueues)
{
	memset(c, 0, sizeof(*c));
	if ((c->ff = ff_connect(sock)) == NULL)
		return -ECONNREFUSED;
	if (ff_start(c->ff, nqueues, 256) != 0)
		return -EIO;
	c->in_gpa = ff_alloc(c->ff, 1, FC_BUF, 4096);
	c->out_gpa = ff_alloc(c->ff, 0, FC_BUF, 4096);
	c->unique = 1;
	return c->in_gpa != 0 && c->out_gpa != 0 ? 0 : -ENOMEM;
}

void
fc_close(struct fc *c)
{
	ff_close(c->ff);
	c->ff = NULL;
}

/* Buffers for [gpa, gpa+len), page by page when c->pages is set. */
static unsigned
fc_bufs(const struct fc *c, uint64_t gpa, size_t len, bool writable,
    struct ff_buf *b, unsigned n)
{
	while (len > 0 && n < FC_MAX_BUFS) {
		size_t chunk = c->pages && len > 4096 ? 4096 : len;

		b[n++] = (struct ff_buf){ gpa, (uint32_t)chunk, writable };
		gpa += chunk;
		len -= chunk;
	}
	return n;
}

/* Make readable [0, rlen) + [rlen, rlen+elen) and writable wlen available. */
static int
fc_submit(struct fc *c, unsigned q, size_t rlen, size_t elen, size_t wlen)
{
	struct ff_buf b[FC_MAX_BUFS];
	unsigned n = 0;

	b[n++] = (struct ff_buf){ c->in_gpa, (uint32_t)rlen, false };
	n = fc_bufs(c, c->in_gpa + rlen, elen, false, b, n);
	if (wlen > 0) {
		size_t first = wlen < sizeof(struct fuse_out_header) ? wlen :
		    sizeof(struct fuse_out_header);

		b[n++] = (struct ff_buf){ c->out_gpa, (uint32_t)first, true };
		n = fc_bufs(c, c->out_gpa + first, wlen - first, true, b, n);
	}
	return ff_submit(c->ff, q, b, n, n > 4);
}

static int
fc_submit_wait(struct fc *c, unsigned q, size_t rlen, size_t elen,
    size_t wlen, bool want_reply, uint32_t *used)
{
	uint16_t id;
	int head = fc_submit(c, q, rlen, elen, wlen);

	if (head < 0)
		return head;
	if (ff_kick(c->ff, q) != 0)
		return -EIO;
	*used = 0;
	if (ff_wait_used(c->ff, q, want_reply ? FC_TIMEOUT_MS : 2000, &id,
	    used) != 0)
		return -ETIMEDOUT;
	return id == head ? 0 : -EPROTO;
}

int
fc_raw(struct fc *c, unsigned q, const void *bytes, size_t len, size_t wlen,
    void *out, uint32_t *used)
{
	int rc;

	if (len > FC_BUF || wlen > FC_BUF)
		return -E2BIG;
	memcpy(ff_host(c->ff, c->in_gpa), bytes, len);
	memset(ff_host(c->ff, c->out_gpa), 0xa5, wlen);
	rc = fc_submit_wait(c, q, len, 0, wlen, true, used);
	if (rc == 0 && out != NULL)
		memcpy(out, ff_host(c->ff, c->out_gpa), *used);
	return rc;
}

static size_t
fc_build(struct fc *c, uint32_t opcode, uint64_t nodeid, const void *arg,
    size_t arglen, const void *extra, size_t extralen)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + arglen + extralen),
		.opcode = opcode, .unique = c->unique++, .nodeid = nodeid,
		.uid = 0, .gid = 0, .pid = 1,
	};
	char *p = ff_host(c->ff, c->in_gpa);

	memcpy(p, &h, sizeof(h));
	if (arglen > 0)
		memcpy(p + sizeof(h), arg, arglen);
	if (extralen > 0)
		memcpy(p + sizeof(h) + arglen, extra, extralen);
	return sizeof(h) + arglen;
}

int
fc_call(struct fc *c, unsigned q, uint32_t opcode, uint64_t nodeid,
    const void *arg, size_t arglen, const void *extra, size_t extralen,
    void *out, size_t outcap, size_t *outlen)
{
	struct fuse_out_header oh;
	size_t rlen;
	uint32_t used;
	int rc;

	if (sizeof(struct fuse_in_header) + arglen + extralen > FC_BUF ||
	    outcap + sizeof(oh) > FC_BUF)
		return -E2BIG;
	rlen = fc_build(c, opcode, nodeid, arg, arglen, extra, extralen);
	rc = fc_submit_wait(c, q, rlen, extralen, outcap + sizeof(oh), true,
	    &used);
	c->last_used = used;
	if (rc != 0)
		return rc;
	if (used < sizeof(oh))
		return -ENODATA;
	memcpy(&oh, ff_host(c->ff, c->out_gpa), sizeof(oh));
	if (oh.len != used || oh.unique != c->unique - 1)
		return -EPROTO;
	if (outlen != NULL)
		*outlen = used - sizeof(oh);
	if (out != NULL && used > sizeof(oh))
		memcpy(out, (char *)ff_host(c->ff, c->out_gpa) + sizeof(oh),
		    used - sizeof(oh) < outcap ? used - sizeof(oh) : outcap);
	return oh.error;
}

int
fc_send_noreply(struct fc *c, unsigned q, uint32_t opcode, uint64_t nodeid,
    const void *arg, size_t arglen)
{
	size_t rlen = fc_build(c, opcode, nodeid, arg, arglen, NULL, 0);
	uint32_t used;
	int rc = fc_submit_wait(c, q, rlen, 0, 0, false, &used);

	c->last_used = used;
	return rc;
}

int
fc_init(struct fc *c, struct fuse_init_out *out)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1 << 20,
		.flags = 0xffffffffu,
	};
	struct fuse_init_out tmp;

	return fc_call(c, 1, FUSE_INIT, 0, &in, sizeof(in), NULL, 0,
	    out != NULL ? out : &tmp, sizeof(tmp), NULL);
}

static int
fc_named(struct fc *c, uint32_t op, uint64_t node, const void *arg,
    size_t arglen, const char *name, void *out, size_t outcap)
{
	return fc_call(c, 1, op, node, arg, arglen, name, strlen(name) + 1,
	    out, outcap, NULL);
}

int
fc_lookup(struct fc *c, uint64_t parent, const char *name,
    struct fuse_entry_out *e)
{
	int rc = fc_named(c, FUSE_LOOKUP, parent, NULL, 0, name, e,
	    sizeof(*e));

	/* A negative entry: to the caller, as to the kernel's, ENOENT. */
	return rc == 0 && e->nodeid == 0 ? -ENOENT : rc;
}

int
fc_getattr(struct fc *c, uint64_t node, struct fuse_attr *attr)
{
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out out;
	int rc = fc_call(c, 1, FUSE_GETATTR, node, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL);

	if (rc == 0 && attr != NULL)
		*attr = out.attr;
	return rc;
}

int
fc_create(struct fc *c, uint64_t parent, const char *name, uint32_t mode,
    uint32_t flags, struct fuse_entry_out *e, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct {
		struct fuse_entry_out	e;
		struct fuse_open_out	o;
	} out;
	int rc = fc_named(c, FUSE_CREATE, parent, &in, sizeof(in), name, &out,
	    sizeof(out));

	if (rc == 0) {
		if (e != NULL)
			*e = out.e;
		*fh = out.o.fh;
	}
	return rc;
}

int
fc_open(struct fc *c, uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct fuse_open_out out;
	int rc = fc_call(c, 1, FUSE_OPEN, node, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL);

	if (rc == 0)
		*fh = out.fh;
	return rc;
}

int
fc_write(struct fc *c, uint64_t node, uint64_t fh, uint64_t off,
    const void *data, size_t len, uint32_t *written)
{
	struct fuse_write_in in = { .fh = fh, .offset = off,
	    .size = (uint32_t)len };
	struct fuse_write_out out = { 0 };
	int rc = fc_call(c, 1, FUSE_WRITE, node, &in, sizeof(in), data, len,
	    &out, sizeof(out), NULL);

	*written = out.size;
	return rc;
}

int
fc_read(struct fc *c, uint64_t node, uint64_t fh, uint64_t off, void *buf,
    size_t len, size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off,
	    .size = (uint32_t)len };

	*got = 0;
	return fc_call(c, 1, FUSE_READ, node, &in, sizeof(in), NULL, 0, buf,
	    len, got);
}

int
fc_release(struct fc *c, uint64_t node, uint64_t fh, bool dir)
{
	struct fuse_release_in in = { .fh = fh };

	return fc_call(c, 1, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node, &in,
	    sizeof(in), NULL, 0, NULL, 0, NULL);
}

int
fc_mkdir(struct fc *c, uint64_t parent, const char *name, uint32_t mode,
    struct fuse_entry_out *e)
{
	struct fuse_mkdir_in in = { .mode = mode };

	return fc_named(c, FUSE_MKDIR, parent, &in, sizeof(in), name, e,
	    sizeof(*e));
}

int
fc_opendir(struct fc *c, uint64_t node, uint64_t *fh)
{
	struct fuse_open_in in = { 0 };
	struct fuse_open_out out;
	int rc = fc_call(c, 1, FUSE_OPENDIR, node, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL);

	if (rc == 0)
		*fh = out.fh;
	return rc;
}

int
fc_readdir(struct fc *c, uint64_t node, uint64_t fh, uint64_t off,
    bool plus, size_t size, void *buf, size_t *len)
{
	struct fuse_read_in in = { .fh = fh, .offset = off,
	    .size = (uint32_t)size };

	return fc_call(c, 1, plus ? FUSE_READDIRPLUS : FUSE_READDIR, node, &in,
	    sizeof(in), NULL, 0, buf, size, len);
}

void
fc_forget(struct fc *c, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	(void)fc_send_noreply(c, 0, FUSE_FORGET, node, &in, sizeof(in));
}

int
fc_post(struct fc *c, unsigned q, uint32_t opcode, uint64_t nodeid,
    const void *arg, size_t arglen, size_t outcap)
{
	size_t rlen;

	if (sizeof(struct fuse_in_header) + arglen > FC_BUF ||
	    outcap + sizeof(struct fuse_out_header) > FC_BUF)
		return -E2BIG;
	rlen = fc_build(c, opcode, nodeid, arg, arglen, NULL, 0);
	return fc_submit(c, q, rlen, 0, outcap + sizeof(struct fuse_out_header));
}
