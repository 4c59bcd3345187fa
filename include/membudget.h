/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One memory budget for the caches that grow with what a guest does:
 * S3 read-ahead chunks and directory listings.  The daemon makes one and
 * hands it to the store and to objfs; each cache takes bytes before it
 * keeps them and gives them back when it lets go.
 *
 * A cache that can do without (read-ahead: read directly instead) asks
 * with membudget_take() and degrades when refused.  A cache that must
 * hold what it has (the names of a listing a reader is walking) charges
 * with membudget_charge(), which never refuses, and looks at
 * membudget_over() to keep less.  Every function takes NULL for "no
 * budget": nothing is counted and nothing is refused.
 */
#ifndef OBJFSD_MEMBUDGET_H
#define OBJFSD_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMBUDGET_DEFAULT	(256ULL << 20)

struct membudget;

struct membudget *membudget_new(uint64_t limit);
void	membudget_free(struct membudget *b);
/* Take n bytes; false, and nothing taken, when they would not fit. */
bool	membudget_take(struct membudget *b, size_t n);
/* Take n bytes whatever the limit says. */
void	membudget_charge(struct membudget *b, size_t n);
void	membudget_give(struct membudget *b, size_t n);
bool	membudget_over(const struct membudget *b);
uint64_t membudget_used(const struct membudget *b);
uint64_t membudget_limit(const struct membudget *b);

#endif
