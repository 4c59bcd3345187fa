/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Red-black trees from libbsd's <sys/tree.h>.  Its RB_GENERATE_STATIC
 * marks functions with BSD's __unused, which glibc does not define (its
 * own headers use the name for struct members), so the file-local
 * variant is spelled out here.
 */
#ifndef OBJFSD_RBTREE_H
#define OBJFSD_RBTREE_H

#include <sys/tree.h>

#define RB_GENERATE_LOCAL(name, type, field, cmp)			\
	RB_GENERATE_INTERNAL(name, type, field, cmp,			\
	    __attribute__((__unused__)) static)

#endif
