/*
 * fs store listings: a directory read whole, sorted into key order.
 *
 * A host directory is cheap to read in one go, so one page holds it all;
 * re-reading it for every page would cost far more than the memory.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_fs.h"

struct fs_item {
	char		*key;		/* relative, '/'-terminated for dirs */
	bool		 is_dir;
	struct stat	 st;
};

struct fs_items {
	struct fs_item	*v;
	size_t		 n;
	size_t		 cap;
};

static int
fs_items_add(struct fs_items *items, char *key, bool is_dir,
    const struct stat *st)
{
	if (items->n == items->cap) {
		size_t cap = items->cap ? items->cap * 2 : 64;
		struct fs_item *v = reallocarray(items->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		items->v = v;
		items->cap = cap;
	}
	items->v[items->n++] = (struct fs_item){ key, is_dir, *st };
	return 0;
}

static void
fs_items_free(struct fs_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		free(items->v[i].key);
	free(items->v);
}

/* Read dir (a path below the root) into items, keys prefixed by rel. */
static int
fs_collect(struct fs_store *s, const char *dir, const char *rel,
    bool recursive, struct fs_items *items)
{
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	if ((fd = fs_walk(s, dir, O_RDONLY | O_DIRECTORY)) < 0)
		return fd;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		struct stat st;
		char *key;
		bool is_dir;

		if (fs_hidden(e->d_name) || fstatat(dirfd(d), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !fs_type_ok(st.st_mode))
			continue;
		is_dir = S_ISDIR(st.st_mode);
		if (asprintf(&key, "%s%s%s", rel, e->d_name, is_dir ? "/" : "")
		    == -1) {
			rc = -ENOMEM;
			break;
		}
		if ((rc = fs_items_add(items, key, is_dir, &st)) != 0) {
			free(key);
			break;
		}
		if (is_dir && recursive) {
			char *sub;

			if (asprintf(&sub, "%s%s%s", dir, *dir ? "/" : "",
			    e->d_name) == -1) {
				rc = -ENOMEM;
				break;
			}
			rc = fs_collect(s, sub, key, true, items);
			free(sub);
		}
	}
	closedir(d);
	return rc;
}

static int
fs_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fs_item *)a)->key,
	    ((const struct fs_item *)b)->key);
}

static int
fs_emit(const struct fs_item *it, bool recursive, struct store_listing *out)
{
	struct store_attr a = { 0 };
	size_t len = strlen(it->key);
	int rc;

	fs_attr_from_stat(&it->st, &a);
	if (it->is_dir && !recursive) {
		/* A directory is a common prefix: its name without the '/'. */
		it->key[len - 1] = '\0';
		rc = store_listing_add(out, it->key, true, &a, true);
		it->key[len - 1] = '/';
	} else
		rc = store_listing_add(out, it->key, false, &a, true);
	store_attr_clear(&a);
	return rc;
}

int
fs_list(struct store *st, const char *prefix, const char *after,
    bool recursive, size_t max, struct store_listing *out)
{
	struct fs_items items = { 0 };
	char dir[STORE_KEY_MAX + 1];
	size_t plen = strlen(prefix);
	int rc;

	if (plen > 0 && (prefix[plen - 1] != '/' || !store_key_valid(prefix)))
		return -EINVAL;		/* only whole directories are listed */
	strlcpy(dir, prefix, sizeof(dir));
	if (plen > 0)
		dir[plen - 1] = '\0';
	rc = fs_collect(fss(st), dir, "", recursive, &items);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0;			/* like an empty prefix in S3 */
	if (rc == 0 && items.n > 0)
		qsort(items.v, items.n, sizeof(items.v[0]), fs_item_cmp);
	for (size_t i = 0; rc == 0 && i < items.n; i++)
		if (after == NULL || strcmp(items.v[i].key, after) > 0)
			rc = fs_emit(&items.v[i], recursive, out);
	fs_items_free(&items);
	if (rc != 0)
		store_listing_clear(out);
	return rc;
}
