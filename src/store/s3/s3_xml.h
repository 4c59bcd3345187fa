/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small DOM over expat for S3 responses: element names (namespace
 * prefixes dropped), text and children.  Documents are capped in size and
 * depth; anything malformed is -EPROTO.
 */
#ifndef OBJFSD_S3_XML_H
#define OBJFSD_S3_XML_H

#include <stddef.h>

#include "dbuf.h"

#define S3_XML_MAX_DEPTH	32
/*
 * Elements in one document: a full page of 1,000 listed keys has about
 * 10,000.  A 16 MiB body of "<a/>" would otherwise be 4 million nodes,
 * half a gigabyte of tree.
 */
#define S3_XML_MAX_NODES	(1u << 16)

struct xml_node {
	char		*name;
	char		*text;		/* character data, "" when none */
	size_t		 textlen;
	struct xml_node	*parent;
	struct xml_node	*first;		/* children */
	struct xml_node	*last;
	struct xml_node	*next;		/* siblings */
};

int	s3_xml_parse(const char *data, size_t len, struct xml_node **rootp);
void	s3_xml_free(struct xml_node *n);
const struct xml_node *s3_xml_child(const struct xml_node *n,
	    const char *name);
const struct xml_node *s3_xml_next(const struct xml_node *n,
	    const char *name);
const char *s3_xml_text(const struct xml_node *n, const char *child);
void	s3_xml_escape(struct dbuf *b, const char *s);

#endif
