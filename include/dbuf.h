/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded dynamic text buffers, for building HTTP requests and parsing
 * what comes back.  Every buffer has a cap; an append past it fails with
 * -E2BIG and leaves the buffer marked failed, so a sequence of appends
 * can be checked once at the end.
 */
#ifndef OBJFSD_DBUF_H
#define OBJFSD_DBUF_H

#include <stdbool.h>
#include <stddef.h>

struct dbuf {
	char	*data;		/* always NUL-terminated when not NULL */
	size_t	 len;
	size_t	 cap;		/* allocated */
	size_t	 max;		/* hard limit on len */
	int	 error;		/* first failure, sticky */
};

void	dbuf_init(struct dbuf *b, size_t max);
void	dbuf_free(struct dbuf *b);
void	dbuf_reset(struct dbuf *b);
int	dbuf_add(struct dbuf *b, const void *data, size_t len);
int	dbuf_adds(struct dbuf *b, const char *s);
int	dbuf_addf(struct dbuf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
const char *dbuf_str(const struct dbuf *b);

#endif
