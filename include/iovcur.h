/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded cursors over iovec arrays: the only way objfsd reads or writes
 * guest bytes.
 *
 * Every take copies out of guest memory before the caller looks at the
 * data, so a guest rewriting a buffer while we parse it cannot make us see
 * two different values.  A take that would run past the end fails with
 * -EINVAL and leaves the cursor where it was.
 */
#ifndef OBJFSD_IOVCUR_H
#define OBJFSD_IOVCUR_H

#include <stddef.h>
#include <sys/uio.h>

struct iovcur {
	const struct iovec	*iov;
	unsigned		 cnt;
	unsigned		 idx;	/* current iovec */
	size_t			 off;	/* offset inside iov[idx] */
	size_t			 left;	/* bytes from here to the end */
};

void	iovcur_init(struct iovcur *c, const struct iovec *iov, unsigned cnt);
void	iovcur_limit(struct iovcur *c, size_t len);
size_t	iovcur_left(const struct iovcur *c);
size_t	iovcur_used(const struct iovcur *c, size_t total);

int	iovcur_take(struct iovcur *c, void *dst, size_t len);
int	iovcur_take_str(struct iovcur *c, char *dst, size_t dstsz,
	    size_t *lenp);
int	iovcur_skip(struct iovcur *c, size_t len);
int	iovcur_take_iov(struct iovcur *c, size_t len, struct iovec *out,
	    unsigned max, unsigned *nout);
int	iovcur_put(struct iovcur *c, const void *src, size_t len);
int	iovcur_zero(struct iovcur *c, size_t len);

#endif
