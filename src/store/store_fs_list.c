/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs store listings: a directory's names read whole and sorted into key
 * order, then a page of them stat'ed.
 *
 * Reading and sorting names is cheap next to stat'ing them, so a page
 * re-reads the names but stats only what it returns: the first page of a
 * large directory comes back quickly and paging costs no more stats than
 * one whole listing.  Recursive listings (used rarely) stat as they go.
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
	bool		 stated;	/* st holds the entry's stat */
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
	static const struct stat none;

	if (items->n == items->cap) {
		size_t cap = items->cap ? items->cap * 2 : 64;
		struct fs_item *v = reallocarray(items->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		items->v = v;
		items->cap = cap;
	}
	items->v[items->n++] = (struct fs_item){ key, is_dir, st != NULL,
	    st != NULL ? *st : none };
	return 0;
}

static void
fs_items_free(struct fs_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		free(items->v[i].key);
	free(items->v);
}

/*
 * The type of entry e: from d_type when the filesystem fills it in, else
 * (or for a recursive listing, which keeps stats) from fstatat into st.
 * -1: skip the entry.
 */
static int
fs_entry_type(struct fs_store *s, int dfd, const struct dirent *e,
    bool need_stat, struct stat *st)
{
	switch (need_stat ? DT_UNKNOWN : e->d_type) {
	case DT_REG:
	case DT_LNK:
	case DT_FIFO:
	case DT_SOCK:
		return 0;
	case DT_DIR:
		return 1;
	case DT_UNKNOWN:
		if (fstatat(dfd, e->d_name, st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !fs_type_ok(s, st->st_mode))
			return -1;
		if (need_stat)
			fs_owner_overlay(s, dfd, e->d_name, st);
		return S_ISDIR(st->st_mode) ? 1 : 0;
	case DT_CHR:
	case DT_BLK:
		return fs_real_devices(s) ? 0 : -1;
	default:
		return -1;	/* host device nodes stay invisible */
	}
}

/*
 * Read dir (a path below the root) into items, keys prefixed by rel.
 * With dfdp, the open directory is handed back for later stats.
 */
static int
fs_collect(struct fs_store *s, const char *dir, const char *rel,
    bool recursive, struct fs_items *items, int *dfdp)
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
		int is_dir;

		if (fs_hidden(e->d_name) || (is_dir = fs_entry_type(s, dirfd(d),
		    e, recursive, &st)) < 0)
			continue;
		if (asprintf(&key, "%s%s%s", rel, e->d_name, is_dir ? "/" : "")
		    == -1) {
			rc = -ENOMEM;
			break;
		}
		if ((rc = fs_items_add(items, key, is_dir,
		    recursive ? &st : NULL)) != 0) {
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
			rc = fs_collect(s, sub, key, true, items, NULL);
			free(sub);
		}
	}
	if (rc == 0 && dfdp != NULL && (*dfdp = dup(dirfd(d))) == -1)
		rc = -errno;
	closedir(d);
	return rc;
}

static int
fs_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fs_item *)a)->key,
	    ((const struct fs_item *)b)->key);
}

/*
 * One entry of the page; 1 when it vanished or changed type meanwhile.
 * names: the type readdir gave is enough, no stat.
 */
static int
fs_emit(struct fs_store *s, int dfd, struct fs_item *it, bool recursive, bool names,
    struct store_listing *out)
{
	struct store_attr a = { 0 };
	size_t len = strlen(it->key);
	bool has_attr = it->stated || !names;
	bool prefix = it->is_dir && !recursive;
	int rc;

	if (has_attr && !it->stated) {
		if (it->is_dir)
			it->key[len - 1] = '\0';
		rc = fstatat(dfd, it->key, &it->st, AT_SYMLINK_NOFOLLOW);
		if (it->is_dir)
			it->key[len - 1] = '/';
		if (rc == -1 || !fs_type_ok(s, it->st.st_mode) ||
		    S_ISDIR(it->st.st_mode) != it->is_dir)
			return 1;
		if (it->is_dir)
			it->key[len - 1] = '\0';
		fs_owner_overlay(s, dfd, it->key, &it->st);
		if (it->is_dir)
			it->key[len - 1] = '/';
	}
	if (has_attr)
		fs_attr_from_stat(&it->st, &a);
	/* A directory is a common prefix: its name without the '/'. */
	if (prefix)
		it->key[len - 1] = '\0';
	rc = store_listing_add(out, it->key, prefix, has_attr ? &a : NULL,
	    has_attr);
	if (prefix)
		it->key[len - 1] = '/';
	store_attr_clear(&a);
	return rc;
}

int
fs_list(struct store *st, const char *prefix, const char *after,
    unsigned flags, size_t max, struct store_listing *out)
{
	bool recursive = flags & STORE_LIST_RECURSIVE;
	struct fs_items items = { 0 };
	char dir[FS_KEY_MAX + 1];
	size_t plen = strlen(prefix), i = 0;
	/* A record can make a regular file a FIFO: types need the stat. */
	bool names = (flags & STORE_LIST_NAMES) && !fss(st)->xattr_owners;
	int dfd = -1, rc;

	if (plen > 0 && (prefix[plen - 1] != '/' ||
	    !store_key_valid(st, prefix)))
		return -EINVAL;		/* only whole directories are listed */
	strlcpy(dir, prefix, sizeof(dir));
	if (plen > 0)
		dir[plen - 1] = '\0';
	rc = fs_collect(fss(st), dir, "", recursive, &items,
	    recursive ? NULL : &dfd);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = 0;			/* like an empty prefix in S3 */
	if (rc == 0 && items.n > 0)
		qsort(items.v, items.n, sizeof(items.v[0]), fs_item_cmp);
	while (after != NULL && i < items.n &&
	    strcmp(items.v[i].key, after) <= 0)
		i++;
	for (; rc == 0 && i < items.n && (max == 0 || out->n < max); i++)
		if ((rc = fs_emit(fss(st), dfd, &items.v[i], recursive,
		    names, out)) == 1)
			rc = 0;
	if (rc == 0 && i < items.n &&
	    (out->next = strdup(items.v[i - 1].key)) == NULL)
		rc = -ENOMEM;
	if (dfd != -1)
		close(dfd);
	fs_items_free(&items);
	if (rc != 0)
		store_listing_clear(out);
	return rc;
}
