/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs_cli: one filesystem operation through objfs on a store, for the
 * shell tests (s3fs interoperability, fault injection).  The same code
 * paths as a guest's requests, without a guest.
 *
 *   objfs_cli URL put PATH MODE UID GID MTIME < data
 *   objfs_cli URL mkdir PATH MODE
 *   objfs_cli URL symlink TARGET PATH
 *   objfs_cli URL mknod PATH b|c MODE MAJOR MINOR
 *   objfs_cli URL setxattr PATH NAME VALUE
 *   objfs_cli URL stat|cat|ls|readlink|rm PATH
 *   objfs_cli URL reread PATH	(cat twice through one open handle)
 *   objfs_cli URL getxattr PATH NAME
 *
 * stat prints TYPE MODE UID GID SIZE MTIME, TYPE one of f d l b c p s,
 * and a device node's MAJOR,MINOR after them.
 * S3 settings come from OBJFSD_TEST_S3_ENDPOINT, _RETRIES and _TIMEOUT.
 * Exit 0 on success, 1 on an error, 3 when writing the data failed at
 * close (the application's EIO).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "objfs.h"
#include "s3_test_config.h"
#include "store.h"

#define ROOT	OBJFS_ROOT_INO

static struct objfs *fs;
static const struct objfs_ctx ctx = { 0, 0, 1 };

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "objfs_cli: %s: %s\n", what, strerror(-rc));
	return 1;
}

/* Walk PATH from the root; with parent, stop at its last component. */
static int
walk(const char *path, bool parent, uint64_t *ino, const char **leaf)
{
	char copy[PATH_MAX], *comp, *save = NULL, *next;
	struct objfs_entry e;
	int rc;

	strlcpy(copy, path, sizeof(copy));
	*ino = ROOT;
	for (comp = strtok_r(copy, "/", &save); comp != NULL; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (parent && next == NULL) {
			*leaf = path + (comp - copy);
			return 0;
		}
		if ((rc = objfs_lookup(fs, *ino, comp, &e)) != 0)
			return rc;
		*ino = e.ino;
	}
	return parent ? -EINVAL : 0;
}

static int
cmd_put(char **argv)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE | OBJFS_SET_UID |
	    OBJFS_SET_GID | OBJFS_SET_MTIME };
	struct objfs_entry e;
	const char *leaf;
	char buf[1 << 16];
	uint64_t dir, fh, off = 0;
	struct stat sb;
	ssize_t n;
	size_t w;
	int rc;

	sa.mode = (mode_t)strtoul(argv[1], NULL, 8);
	sa.uid = (uid_t)atoi(argv[2]);
	sa.gid = (gid_t)atoi(argv[3]);
	sa.mtime.tv_sec = atol(argv[4]);
	if ((rc = walk(argv[0], true, &dir, &leaf)) != 0)
		return fail("path", rc);
	if ((rc = objfs_create(fs, &ctx, dir, leaf, sa.mode,
	    O_CREAT | O_TRUNC | O_WRONLY, &e, &fh)) != 0)
		return fail("create", rc);	/* 1: nothing was written */
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		struct iovec iov = { buf, (size_t)n };

		if ((rc = objfs_write(fs, fh, off, &iov, 1, false, &w)) != 0)
			return fail("write", rc);
		off += w;
	}
	/* Metadata first: the upload on close then carries it. */
	rc = objfs_setattr(fs, &ctx, e.ino, fh, &sa, &sb);
	if (rc == 0)
		rc = objfs_flush(fs, fh);
	if (objfs_release(fs, fh) != 0 && rc == 0)
		rc = -EIO;
	if (rc != 0) {
		fail("close", rc);
		return rc == -EIO ? 3 : 1;
	}
	return 0;
}

static char
type_char(mode_t mode)
{
	static const struct {
		mode_t	type;
		char	c;
	} types[] = {
		{ S_IFDIR, 'd' }, { S_IFLNK, 'l' }, { S_IFBLK, 'b' },
		{ S_IFCHR, 'c' }, { S_IFIFO, 'p' }, { S_IFSOCK, 's' },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((mode & S_IFMT) == types[i].type)
			return types[i].c;
	return 'f';
}

static int
cmd_stat(char **argv)
{
	struct stat sb;
	uint64_t ino;
	int rc;

	if ((rc = walk(argv[0], false, &ino, NULL)) != 0 ||
	    (rc = objfs_getattr(fs, ino, &sb)) != 0)
		return fail("stat", rc);
	printf("%c %o %u %u %lld %lld", type_char(sb.st_mode),
	    sb.st_mode & 07777, sb.st_uid, sb.st_gid, (long long)sb.st_size,
	    (long long)sb.st_mtim.tv_sec);
	if (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode))
		printf(" %u,%u", major(sb.st_rdev), minor(sb.st_rdev));
	printf("\n");
	return 0;
}

static int
cmd_cat(char **argv, int passes)
{
	char buf[1 << 16];
	uint64_t ino, fh, off = 0;
	unsigned of;
	size_t n;
	int rc;

	if ((rc = walk(argv[0], false, &ino, NULL)) != 0 ||
	    (rc = objfs_open(fs, ino, O_RDONLY, false, &fh, &of)) != 0)
		return fail("open", rc);
	for (int pass = 0; pass < passes; pass++, off = 0)
		for (;;) {
			struct iovec iov = { buf, sizeof(buf) };

			if ((rc = objfs_read(fs, fh, off, &iov, 1, &n)) != 0)
				return fail("read", rc);
			if (n == 0)
				break;
			fwrite(buf, 1, n, stdout);
			off += n;
		}
	objfs_release(fs, fh);
	return 0;
}

static int
ls_cb(void *arg, const char *name, mode_t type, uint64_t ino, uint64_t off,
    const struct objfs_entry *e)
{
	uint64_t *next = arg;

	if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
		printf("%s\n", name);
	*next = off;
	return 0;
}

static int
cmd_ls(char **argv)
{
	uint64_t ino, fh, off = 0;
	int rc;

	if ((rc = walk(argv[0], false, &ino, NULL)) != 0 ||
	    (rc = objfs_opendir(fs, ino, &fh)) != 0 ||
	    (rc = objfs_readdir(fs, fh, off, true, ls_cb, &off)) != 0)
		return fail("ls", rc);
	objfs_releasedir(fs, fh);
	return 0;
}

static int
cmd_readlink(char **argv)
{
	char buf[PATH_MAX];
	uint64_t ino;
	size_t n;
	int rc;

	if ((rc = walk(argv[0], false, &ino, NULL)) != 0 ||
	    (rc = objfs_readlink(fs, ino, buf, sizeof(buf), &n)) != 0)
		return fail("readlink", rc);
	printf("%.*s\n", (int)n, buf);
	return 0;
}

static int
cmd_make(const char *cmd, char **argv)
{
	struct objfs_entry e;
	const char *leaf;
	uint64_t dir;
	int rc;

	if (strcmp(cmd, "mkdir") == 0) {
		if ((rc = walk(argv[0], true, &dir, &leaf)) == 0)
			rc = objfs_mkdir(fs, &ctx, dir, leaf,
			    (mode_t)strtoul(argv[1], NULL, 8), &e);
	} else if (strcmp(cmd, "symlink") == 0) {
		if ((rc = walk(argv[1], true, &dir, &leaf)) == 0)
			rc = objfs_symlink(fs, &ctx, dir, leaf, argv[0], &e);
	} else if (strcmp(cmd, "mknod") == 0) {
		if ((rc = walk(argv[0], true, &dir, &leaf)) == 0)
			rc = objfs_mknod(fs, &ctx, dir, leaf,
			    (argv[1][0] == 'b' ? S_IFBLK : S_IFCHR) |
			    (mode_t)strtoul(argv[2], NULL, 8),
			    makedev(strtoul(argv[3], NULL, 10),
			    strtoul(argv[4], NULL, 10)), &e);
	} else if ((rc = walk(argv[0], true, &dir, &leaf)) == 0)
		rc = objfs_unlink(fs, dir, leaf);
	return rc != 0 ? fail(cmd, rc) : 0;
}

static int
cmd_xattr(const char *cmd, char **argv)
{
	char buf[2048];
	uint64_t ino;
	size_t n;
	int rc;

	if ((rc = walk(argv[0], false, &ino, NULL)) != 0)
		return fail("path", rc);
	if (strcmp(cmd, "setxattr") == 0)
		rc = objfs_setxattr(fs, ino, argv[1], argv[2], strlen(argv[2]),
		    0);
	else if ((rc = objfs_getxattr(fs, ino, argv[1], buf, sizeof(buf),
	    &n)) == 0)
		printf("%.*s\n", (int)n, buf);
	return rc != 0 ? fail(cmd, rc) : 0;
}

static int
run(const char *cmd, int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		 args;
	} cmds[] = {
		{ "put", 5 }, { "mkdir", 2 }, { "symlink", 2 },
		{ "setxattr", 3 }, { "getxattr", 2 }, { "stat", 1 },
		{ "cat", 1 }, { "reread", 1 }, { "ls", 1 }, { "readlink", 1 },
		{ "rm", 1 }, { "mknod", 5 },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name) != 0)
			continue;
		if (argc != cmds[i].args)
			break;
		if (strcmp(cmd, "put") == 0)
			return cmd_put(argv);
		if (strcmp(cmd, "stat") == 0)
			return cmd_stat(argv);
		if (strcmp(cmd, "cat") == 0 || strcmp(cmd, "reread") == 0)
			return cmd_cat(argv, cmd[0] == 'c' ? 1 : 2);
		if (strcmp(cmd, "ls") == 0)
			return cmd_ls(argv);
		if (strcmp(cmd, "readlink") == 0)
			return cmd_readlink(argv);
		if (strstr(cmd, "xattr") != NULL)
			return cmd_xattr(cmd, argv);
		return cmd_make(cmd, argv);
	}
	fprintf(stderr, "objfs_cli: bad command line (see the source)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct store_s3_config s3;
	struct store_config cfg = { .s3 = &s3 };
	struct objfs_options o = { .file_mode = 0644, .dir_mode = 0755 };
	struct store *st;
	int rc;

	if (argc < 3)
		return run("", 0, NULL);
	log_init("objfs_cli", LOG_LEVEL_WARN, false);
	s3_test_config(&s3, 5);
	if ((rc = store_open(argv[1], &cfg, &st)) != 0)
		return fail(argv[1], rc);
	o.store = st;
	o.cache_dir = getenv("OBJFSD_TEST_CACHE_DIR");	/* NULL: the default */
	if ((rc = objfs_new(&o, &fs)) != 0)
		return fail("objfs", rc);
	rc = run(argv[2], argc - 3, argv + 3);
	objfs_free(fs);
	store_close(st);
	return rc;
}
