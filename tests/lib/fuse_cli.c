/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuse_cli: one file operation through a running daemon's vhost-user
 * socket, as a guest's kernel sends it (fuseclient over the fake
 * frontend), for scripts that drive objfsd from the outside:
 *
 *	fuse_cli SOCKET put PATH < DATA		CREATE, WRITE..., FLUSH, RELEASE
 *						(stdin read after the CREATE)
 *	fuse_cli SOCKET cat PATH > DATA		LOOKUP, OPEN, READ..., RELEASE
 *	fuse_cli SOCKET ls [DIR]		OPENDIR, READDIRPLUS...: names
 *	fuse_cli SOCKET mkdir PATH
 *	fuse_cli SOCKET stream PATH MIB		CREATE, MIB MiB of `gen` bytes in
 *						WRITEs, prints "written MS" (from
 *						the first WRITE), waits for a line
 *						on stdin, FLUSH, RELEASE, prints
 *						"closed MS" (from that line)
 *	fuse_cli - gen MIB > DATA		those bytes, with no daemon
 *	fuse_cli SOCKET hold SRCDIR		each file of SRCDIR written to
 *						the root under its name, then by
 *						its prefix: sync-* FSYNC, close-*
 *						closed, open-* left open; prints
 *						"held" and waits for stdin's end
 *
 * Each run is one frontend: it connects, INITs, does its requests and
 * leaves.  Exit status: 0; 1 for a usage or connection failure; 3 when
 * the daemon answered an error, printed as "fuse_cli: OP PATH: strerror".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuseclient.h"
#include "monotime.h"

#define CLI_IO		(1u << 20)	/* bytes per READ and WRITE */
#define CLI_PUT_MAX	(256u << 20)	/* what put takes from stdin */
#define EXIT_FUSE	3

static struct fc fc;
static uint32_t max_write = CLI_IO;

static int
failed(const char *op, const char *path, int rc)
{
	fprintf(stderr, "fuse_cli: %s %s: %s\n", op, path, strerror(-rc));
	return EXIT_FUSE;
}

/* The node of path's parent directory, and its last component. */
static int
walk(const char *path, uint64_t *dir, const char **leaf)
{
	char buf[4096], *part, *next, *save = NULL;
	struct fuse_entry_out e;
	uint64_t node = FUSE_ROOT_ID;
	int rc = 0;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	*leaf = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	part = strtok_r(buf, "/", &save);
	while (part != NULL && rc == 0) {
		if ((next = strtok_r(NULL, "/", &save)) == NULL)
			break;		/* the leaf: not looked up here */
		if ((rc = fc_lookup(&fc, node, part, &e)) == 0)
			node = e.nodeid;
		part = next;
	}
	*dir = node;
	return rc;
}

static int
lookup(const char *path, uint64_t *node)
{
	struct fuse_entry_out e;
	const char *leaf;
	uint64_t dir;
	int rc;

	if (*path == '\0' || strcmp(path, "/") == 0) {
		*node = FUSE_ROOT_ID;
		return 0;
	}
	if ((rc = walk(path, &dir, &leaf)) == 0 &&
	    (rc = fc_lookup(&fc, dir, leaf, &e)) == 0)
		*node = e.nodeid;
	return rc;
}

/* FLUSH as close(2) sends it: where a store reports a failed upload. */
static int
flush(uint64_t node, uint64_t fh)
{
	struct fuse_flush_in in = { .fh = fh };

	return fc_call(&fc, 1, FUSE_FLUSH, node, &in, sizeof(in), NULL, 0,
	    NULL, 0, NULL);
}

static char *
read_stdin(size_t *len)
{
	char *buf = malloc(CLI_PUT_MAX);
	ssize_t n;

	*len = 0;
	while (buf != NULL && *len < CLI_PUT_MAX &&
	    (n = read(STDIN_FILENO, buf + *len, CLI_PUT_MAX - *len)) > 0)
		*len += (size_t)n;
	return buf;
}

static int
write_all(uint64_t node, uint64_t fh, const char *data, size_t len)
{
	size_t off = 0;
	uint32_t done;
	int rc = 0;

	while (rc == 0 && off < len) {
		size_t n = len - off < max_write ? len - off : max_write;

		if ((rc = fc_write(&fc, node, fh, off, data + off, n,
		    &done)) == 0 && done == 0)
			rc = -EIO;
		off += done;
	}
	return rc;
}

static int
fsync_file(uint64_t node, uint64_t fh)
{
	struct fuse_fsync_in in = { .fh = fh };

	return fc_call(&fc, 1, FUSE_FSYNC, node, &in, sizeof(in), NULL, 0,
	    NULL, 0, NULL);
}

/* One file of hold: written, then synced, closed or left as it is. */
static int
hold_one(const char *src, const char *name)
{
	struct fuse_entry_out e;
	char path[4096], *data = malloc(CLI_PUT_MAX);
	ssize_t len;
	uint64_t fh;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", src, name);
	if (data == NULL || (fd = open(path, O_RDONLY)) == -1) {
		free(data);
		return failed("read", path, -errno);
	}
	len = read(fd, data, CLI_PUT_MAX);
	close(fd);
	rc = len < 0 ? -EIO : fc_create(&fc, FUSE_ROOT_ID, name, 0100644,
	    O_RDWR | O_CREAT | O_TRUNC, &e, &fh);
	if (rc == 0)
		rc = write_all(e.nodeid, fh, data, (size_t)len);
	free(data);
	if (rc == 0 && strncmp(name, "sync-", 5) == 0)
		rc = fsync_file(e.nodeid, fh);
	if (rc == 0 && strncmp(name, "close-", 6) == 0 &&
	    (rc = flush(e.nodeid, fh)) == 0)
		rc = fc_release(&fc, e.nodeid, fh, false);
	return rc != 0 ? failed("hold", name, rc) : 0;
}

static int
cmd_hold(const char *src)
{
	DIR *d = opendir(src);
	struct dirent *de;
	char buf[64];
	int rc = 0;

	if (d == NULL)
		return failed("opendir", src, -errno);
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = hold_one(src, de->d_name);
	closedir(d);
	if (rc != 0)
		return rc;
	printf("held\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int
cmd_put(const char *path)
{
	struct fuse_entry_out e;
	const char *leaf;
	uint64_t dir, fh;
	uint32_t done;
	size_t len, off = 0;
	char *data;
	int rc, rc2;

	/* Created before stdin is read: a test may act in between. */
	if ((rc = walk(path, &dir, &leaf)) != 0 ||
	    (rc = fc_create(&fc, dir, leaf, 0100644, O_WRONLY | O_CREAT |
	    O_TRUNC, &e, &fh)) != 0)
		return failed("create", path, rc);
	if ((data = read_stdin(&len)) == NULL)
		return failed("put", path, -ENOMEM);
	while (rc == 0 && off < len) {
		size_t n = len - off < max_write ? len - off : max_write;

		if ((rc = fc_write(&fc, e.nodeid, fh, off, data + off, n,
		    &done)) == 0 && done == 0)
			rc = -EIO;
		off += done;
	}
	free(data);
	if (rc != 0)
		return failed("write", path, rc);
	rc = flush(e.nodeid, fh);
	rc2 = fc_release(&fc, e.nodeid, fh, false);
	if (rc != 0)
		return failed("close", path, rc);
	return rc2 != 0 ? failed("release", path, rc2) : 0;
}

/* Bytes that do not compress and are the same at each offset, each run. */
static void
gen_chunk(char *buf, size_t len, uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static int
parse_mib(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n == 0 || n > (1ULL << 20))
		return -EINVAL;
	*bytes = (uint64_t)n << 20;
	return 0;
}

static int
cmd_gen(const char *mib)
{
	static char buf[CLI_IO];
	uint64_t size;

	if (parse_mib(mib, &size) != 0)
		return failed("gen", mib, -EINVAL);
	for (uint64_t off = 0; off < size; off += CLI_IO) {
		gen_chunk(buf, CLI_IO, off);
		if (fwrite(buf, 1, CLI_IO, stdout) != CLI_IO)
			return failed("gen", mib, -EIO);
	}
	return 0;
}

static int
cmd_stream(const char *path, const char *mib)
{
	static char buf[CLI_IO];
	struct fuse_entry_out e;
	const char *leaf;
	uint64_t dir, fh, size;
	int64_t t0, t1;
	int rc, rc2;

	if (parse_mib(mib, &size) != 0)
		return failed("stream", mib, -EINVAL);
	if ((rc = walk(path, &dir, &leaf)) != 0 ||
	    (rc = fc_create(&fc, dir, leaf, 0100644, O_WRONLY | O_CREAT |
	    O_TRUNC, &e, &fh)) != 0)
		return failed("create", path, rc);
	t0 = monotime_ms();
	for (uint64_t off = 0; rc == 0 && off < size; ) {
		uint32_t done;
		size_t n = max_write;

		if (off % CLI_IO == 0)
			gen_chunk(buf, CLI_IO, off);
		if (n > CLI_IO - off % CLI_IO)
			n = CLI_IO - off % CLI_IO;
		if ((rc = fc_write(&fc, e.nodeid, fh, off, buf + off % CLI_IO,
		    n, &done)) == 0 && done != n)
			rc = -EIO;
		off += n;
	}
	if (rc != 0)
		return failed("write", path, rc);
	printf("written %lld\n", (long long)(monotime_ms() - t0));
	fflush(stdout);
	if (fgets(buf, sizeof(buf), stdin) == NULL)
		buf[0] = '\0';
	t1 = monotime_ms();
	rc = flush(e.nodeid, fh);
	rc2 = fc_release(&fc, e.nodeid, fh, false);
	if (rc != 0)
		return failed("close", path, rc);
	if (rc2 != 0)
		return failed("release", path, rc2);
	printf("closed %lld\n", (long long)(monotime_ms() - t1));
	return 0;
}

static int
cmd_cat(const char *path)
{
	static char buf[CLI_IO];
	uint64_t node, fh, off = 0;
	size_t got;
	int rc;

	if ((rc = lookup(path, &node)) != 0)
		return failed("lookup", path, rc);
	if ((rc = fc_open(&fc, node, O_RDONLY, &fh)) != 0)
		return failed("open", path, rc);
	do {
		if ((rc = fc_read(&fc, node, fh, off, buf, sizeof(buf),
		    &got)) == 0 && fwrite(buf, 1, got, stdout) != got)
			rc = -EIO;
		off += got;
	} while (rc == 0 && got > 0);
	(void)fc_release(&fc, node, fh, false);
	return rc != 0 ? failed("read", path, rc) : 0;
}

/* The names of one READDIRPLUS reply; *off is where the next starts. */
static size_t
print_names(const char *buf, size_t len, uint64_t *off)
{
	size_t pos = 0, n = 0;

	while (pos + FUSE_NAME_OFFSET_DIRENTPLUS <= len) {
		const struct fuse_direntplus *d = (const void *)(buf + pos);

		if (pos + FUSE_DIRENTPLUS_SIZE(d) > len)
			break;
		if (!(d->dirent.namelen == 1 && d->dirent.name[0] == '.') &&
		    !(d->dirent.namelen == 2 &&
		    strncmp(d->dirent.name, "..", 2) == 0))
			printf("%.*s\n", (int)d->dirent.namelen, d->dirent.name);
		*off = d->dirent.off;
		pos += FUSE_DIRENTPLUS_SIZE(d);
		n++;
	}
	return n;
}

static int
cmd_ls(const char *path)
{
	static char buf[64 * 1024];
	uint64_t node, fh, off = 0;
	size_t len;
	int rc;

	if ((rc = lookup(path, &node)) != 0)
		return failed("lookup", path, rc);
	if ((rc = fc_opendir(&fc, node, &fh)) != 0)
		return failed("opendir", path, rc);
	while ((rc = fc_readdir(&fc, node, fh, off, true, sizeof(buf), buf,
	    &len)) == 0 && len > 0 && print_names(buf, len, &off) > 0)
		;
	(void)fc_release(&fc, node, fh, true);
	return rc != 0 ? failed("readdirplus", path, rc) : 0;
}

static int
cmd_mkdir(const char *path)
{
	struct fuse_entry_out e;
	const char *leaf;
	uint64_t dir;
	int rc;

	if ((rc = walk(path, &dir, &leaf)) != 0 ||
	    (rc = fc_mkdir(&fc, dir, leaf, 0755, &e)) != 0)
		return failed("mkdir", path, rc);
	return 0;
}

static int
run(const char *cmd, const char *path, const char *arg)
{
	if (strcmp(cmd, "stream") == 0)
		return cmd_stream(path, arg);
	if (strcmp(cmd, "put") == 0)
		return cmd_put(path);
	if (strcmp(cmd, "cat") == 0)
		return cmd_cat(path);
	if (strcmp(cmd, "ls") == 0)
		return cmd_ls(path);
	if (strcmp(cmd, "mkdir") == 0)
		return cmd_mkdir(path);
	if (strcmp(cmd, "hold") == 0)
		return cmd_hold(path);
	fprintf(stderr, "fuse_cli: unknown command %s\n", cmd);
	return 1;
}

int
main(int argc, char **argv)
{
	struct fuse_init_out init;
	int rc;

	if (argc < 3 || (argc < 4 && strcmp(argv[2], "ls") != 0) ||
	    (strcmp(argv[2], "stream") == 0 && argc < 5)) {
		fprintf(stderr, "usage: fuse_cli SOCKET put|cat|ls|mkdir|hold "
		    "[PATH]\n       fuse_cli SOCKET stream PATH MIB\n"
		    "       fuse_cli - gen MIB\n");
		return 1;
	}
	if (strcmp(argv[2], "gen") == 0)
		return cmd_gen(argv[3]);
	if ((rc = fc_connect(&fc, argv[1], 2)) != 0 ||
	    (rc = fc_init(&fc, &init)) != 0) {
		fprintf(stderr, "fuse_cli: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	if (init.max_write > 0 && init.max_write < max_write)
		max_write = init.max_write;
	rc = run(argv[2], argc > 3 ? argv[3] : "", argc > 4 ? argv[4] : "");
	fflush(stdout);
	fc_close(&fc);
	return rc;
}
