/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded iovec cursors.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "iovcur.h"

void
iovcur_init(struct iovcur *c, const struct iovec *iov, unsigned cnt)
{
	c->iov = iov;
	c->cnt = cnt;
	c->idx = 0;
	c->off = 0;
	c->left = 0;
	for (unsigned i = 0; i < cnt; i++)
		c->left += iov[i].iov_len;
}

/* Make the cursor end len bytes from here (never extends it). */
void
iovcur_limit(struct iovcur *c, size_t len)
{
	if (len < c->left)
		c->left = len;
}

size_t
iovcur_left(const struct iovcur *c)
{
	return c->left;
}

/* Bytes consumed so far, given the total the cursor started with. */
size_t
iovcur_used(const struct iovcur *c, size_t total)
{
	return total - c->left;
}

static void
iovcur_advance(struct iovcur *c, size_t len)
{
	c->left -= len;
	while (len > 0) {
		size_t avail = c->iov[c->idx].iov_len - c->off;
		size_t n = len < avail ? len : avail;

		c->off += n;
		len -= n;
		if (c->off == c->iov[c->idx].iov_len) {
			c->idx++;
			c->off = 0;
		}
	}
	/* Park past empty iovecs so idx always names a byte, or the end. */
	while (c->idx < c->cnt && c->iov[c->idx].iov_len == c->off) {
		c->idx++;
		c->off = 0;
	}
}

/* Copy between the cursor and a flat buffer without moving the cursor. */
static void
iovcur_copy(const struct iovcur *c, void *buf, size_t len, int to_iov)
{
	unsigned idx = c->idx;
	size_t off = c->off;
	char *p = buf;

	while (len > 0) {
		size_t avail = c->iov[idx].iov_len - off;
		size_t n = len < avail ? len : avail;
		char *base = (char *)c->iov[idx].iov_base + off;

		if (n > 0 && to_iov)
			memcpy(base, p, n);
		else if (n > 0)
			memcpy(p, base, n);
		p += n;
		len -= n;
		off += n;
		if (off == c->iov[idx].iov_len) {
			idx++;
			off = 0;
		}
	}
}

int
iovcur_take(struct iovcur *c, void *dst, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	iovcur_copy(c, dst, len, 0);
	iovcur_advance(c, len);
	return 0;
}

int
iovcur_skip(struct iovcur *c, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	iovcur_advance(c, len);
	return 0;
}

/* Offset of the first NUL at or after the cursor, within bounds, or -1. */
static ssize_t
iovcur_find_nul(const struct iovcur *c)
{
	size_t pos = 0, off = c->off;

	for (unsigned idx = c->idx; idx < c->cnt && pos < c->left;
	    idx++, off = 0) {
		const char *base = (const char *)c->iov[idx].iov_base + off;
		size_t n = c->iov[idx].iov_len - off;
		const char *nul;

		if (n > c->left - pos)
			n = c->left - pos;
		nul = n > 0 ? memchr(base, '\0', n) : NULL;

		if (nul != NULL)
			return (ssize_t)(pos + (size_t)(nul - base));
		pos += n;
	}
	return -1;
}

/*
 * Take a NUL-terminated string into dst (at most dstsz bytes including the
 * NUL).  -EINVAL when the remaining bytes hold no NUL, -ENAMETOOLONG when
 * the string does not fit.  *lenp, when given, receives strlen(dst).
 */
int
iovcur_take_str(struct iovcur *c, char *dst, size_t dstsz, size_t *lenp)
{
	ssize_t nul = iovcur_find_nul(c);
	size_t len;

	if (nul < 0)
		return -EINVAL;
	len = (size_t)nul;
	if (len >= dstsz)
		return -ENAMETOOLONG;
	iovcur_copy(c, dst, len, 0);
	/* The guest may have changed the bytes since the scan. */
	dst[len] = '\0';
	iovcur_advance(c, len + 1);
	if (lenp != NULL)
		*lenp = strlen(dst);
	return 0;
}

/*
 * Describe the next len bytes as up to max iovecs in out, without copying,
 * for zero-copy data paths.  -EINVAL if fewer than len bytes are left,
 * -E2BIG if more than max iovecs would be needed.
 */
int
iovcur_take_iov(struct iovcur *c, size_t len, struct iovec *out,
    unsigned max, unsigned *nout)
{
	unsigned idx = c->idx, n = 0;
	size_t off = c->off, want = len;

	if (len > c->left)
		return -EINVAL;
	while (want > 0) {
		size_t avail = c->iov[idx].iov_len - off;
		size_t take = want < avail ? want : avail;

		if (take > 0) {
			if (n == max)
				return -E2BIG;
			out[n].iov_base = (char *)c->iov[idx].iov_base + off;
			out[n].iov_len = take;
			n++;
		}
		want -= take;
		idx++;
		off = 0;
	}
	iovcur_advance(c, len);
	*nout = n;
	return 0;
}

int
iovcur_put(struct iovcur *c, const void *src, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	iovcur_copy(c, (void *)src, len, 1);
	iovcur_advance(c, len);
	return 0;
}

int
iovcur_zero(struct iovcur *c, size_t len)
{
	static const char zeros[4096];

	if (len > c->left)
		return -EINVAL;
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		iovcur_put(c, zeros, n);
		len -= n;
	}
	return 0;
}
