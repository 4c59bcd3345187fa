/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded dynamic buffers.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

void
dbuf_init(struct dbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
dbuf_free(struct dbuf *b)
{
	free(b->data);
	dbuf_init(b, b->max);
}

void
dbuf_reset(struct dbuf *b)
{
	b->len = 0;
	b->error = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int
dbuf_fail(struct dbuf *b, int err)
{
	if (b->error == 0)
		b->error = err;
	return err;
}

static int
dbuf_grow(struct dbuf *b, size_t add)
{
	size_t need, cap;
	char *p;

	if (b->error != 0)
		return b->error;
	if (add > b->max - b->len)
		return dbuf_fail(b, -E2BIG);
	need = b->len + add + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap > 0 ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return dbuf_fail(b, -ENOMEM);
	b->data = p;
	b->cap = cap;
	return 0;
}

int
dbuf_add(struct dbuf *b, const void *data, size_t len)
{
	int rc = dbuf_grow(b, len);

	if (rc != 0)
		return rc;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
dbuf_adds(struct dbuf *b, const char *s)
{
	return dbuf_add(b, s, strlen(s));
}

int
dbuf_addf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return dbuf_fail(b, -EINVAL);
	if ((rc = dbuf_grow(b, (size_t)n)) != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
dbuf_str(const struct dbuf *b)
{
	return b->data != NULL ? b->data : "";
}
