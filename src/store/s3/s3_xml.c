/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3 XML into a tree, with expat.
 */
#include "config.h"

#include <errno.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

#define S3_XML_MAX_TEXT	(1u << 20)	/* per element */

struct xml_build {
	struct xml_node	*root;
	struct xml_node	*cur;
	unsigned	 depth;
	unsigned	 nodes;
	int		 error;
	XML_Parser	 parser;
};

static void
xml_fail(struct xml_build *b, int err)
{
	if (b->error == 0)
		b->error = err;
	XML_StopParser(b->parser, XML_FALSE);
}

static void XMLCALL
xml_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_build *b = arg;
	const char *colon = strrchr(name, ':');
	struct xml_node *n;

	if (b->error != 0)
		return;
	if (++b->depth > S3_XML_MAX_DEPTH || ++b->nodes > S3_XML_MAX_NODES ||
	    (b->cur == NULL && b->root)) {
		xml_fail(b, -EPROTO);
		return;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->name = strdup(colon != NULL ? colon + 1 : name)) == NULL ||
	    (n->text = strdup("")) == NULL) {
		if (n != NULL) {
			free(n->name);
			free(n);
		}
		xml_fail(b, -ENOMEM);
		return;
	}
	n->parent = b->cur;
	if (b->cur == NULL)
		b->root = n;
	else if (b->cur->last == NULL)
		b->cur->first = b->cur->last = n;
	else {
		b->cur->last->next = n;
		b->cur->last = n;
	}
	b->cur = n;
}

static void XMLCALL
xml_end(void *arg, const XML_Char *name)
{
	struct xml_build *b = arg;

	if (b->error != 0 || b->cur == NULL)
		return;
	b->cur = b->cur->parent;
	b->depth--;
}

static void XMLCALL
xml_text(void *arg, const XML_Char *s, int len)
{
	struct xml_build *b = arg;
	struct xml_node *n = b->cur;
	char *t;

	if (b->error != 0 || n == NULL || len <= 0)
		return;
	if ((size_t)len > S3_XML_MAX_TEXT - n->textlen) {
		xml_fail(b, -EPROTO);
		return;
	}
	if ((t = realloc(n->text, n->textlen + (size_t)len + 1)) == NULL) {
		xml_fail(b, -ENOMEM);
		return;
	}
	memcpy(t + n->textlen, s, (size_t)len);
	n->textlen += (size_t)len;
	t[n->textlen] = '\0';
	n->text = t;
}

int
s3_xml_parse(const char *data, size_t len, struct xml_node **rootp)
{
	struct xml_build b = { 0 };
	int rc = 0;

	*rootp = NULL;
	if (len > INT32_MAX)
		return -EPROTO;
	if ((b.parser = XML_ParserCreate("UTF-8")) == NULL)
		return -ENOMEM;
	XML_SetUserData(b.parser, &b);
	XML_SetElementHandler(b.parser, xml_start, xml_end);
	XML_SetCharacterDataHandler(b.parser, xml_text);
	if (XML_Parse(b.parser, data, (int)len, XML_TRUE) == XML_STATUS_ERROR &&
	    b.error == 0)
		b.error = -EPROTO;
	if (b.error == 0 && (b.root == NULL || b.cur != NULL))
		b.error = -EPROTO;	/* empty, or unclosed */
	XML_ParserFree(b.parser);
	if ((rc = b.error) != 0)
		s3_xml_free(b.root);
	else
		*rootp = b.root;
	return rc;
}

void
s3_xml_free(struct xml_node *n)
{
	while (n != NULL) {
		struct xml_node *next = n->next;

		s3_xml_free(n->first);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

/* The first child named name (NULL: any). */
const struct xml_node *
s3_xml_child(const struct xml_node *n, const char *name)
{
	for (const struct xml_node *c = n != NULL ? n->first : NULL; c != NULL;
	    c = c->next)
		if (name == NULL || strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* The next sibling with the same name as n. */
const struct xml_node *
s3_xml_next(const struct xml_node *n, const char *name)
{
	for (const struct xml_node *c = n->next; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const char *
s3_xml_text(const struct xml_node *n, const char *child)
{
	const struct xml_node *c = s3_xml_child(n, child);

	return c != NULL ? c->text : NULL;
}

void
s3_xml_escape(struct dbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			dbuf_adds(b, "&amp;");
			break;
		case '<':
			dbuf_adds(b, "&lt;");
			break;
		case '>':
			dbuf_adds(b, "&gt;");
			break;
		case '"':
			dbuf_adds(b, "&quot;");
			break;
		case '\'':
			dbuf_adds(b, "&apos;");
			break;
		default:
			dbuf_add(b, s, 1);
		}
	}
}
