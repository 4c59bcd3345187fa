/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixture of the objfs suites: one store and one objfs per test, and
 * the calls the tests make through them, asserting success.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objfs_fixture.h"
#include "s3_test_config.h"

struct objfs *fs;
struct store *st;
char tmpdir[64];
char cachedir[80];
const struct objfs_ctx ctx = { 1000, 1000, 1 };
bool fixture_xattr_owners;
bool fixture_real_devices;

void
rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

void
open_fs(const char *url)
{
	struct store_s3_config s3;
	const char *owners = getenv("OBJFSD_TEST_FS_OWNERS");
	struct store_config scfg = { .s3 = &s3 };
	struct objfs_options o = {
		.uid = 0, .gid = 0, .file_mode = 0644, .dir_mode = 0755,
		.cache_dir = cachedir, .attr_cache_ms = OBJFS_ATTR_CACHE_MS,
	};

	s3_test_config(&s3, 3);
	if (owners != NULL && strcmp(owners, "xattr") == 0)
		fixture_xattr_owners = true;
	scfg.fs_xattr_owners = fixture_xattr_owners &&
	    strncmp(url, "fs:", 3) == 0;
	scfg.fs_real_devices = fixture_real_devices;
	ck_assert_int_eq(store_open(url, &scfg, &st), 0);
	o.store = st;
	ck_assert_int_eq(objfs_new(&o, &fs), 0);
}

/* A fresh tmpdir with the cache directory in it. */
void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/objfs-check.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(cachedir, sizeof(cachedir), "%s/cache", tmpdir);
	ck_assert_int_eq(mkdir(cachedir, 0700), 0);
}

/*
 * _i is the loop index: 0 mem:, 1 fs:, 2 fs: without openat2, 3 s3: on
 * the server in OBJFSD_TEST_S3_ENDPOINT (tests/e2e/s3-objfs.sh starts one),
 * each test in a prefix of its own.
 */
void
setup_store(int which)
{
	char url[160], root[100];

	make_tmpdir();
	if (which == 2)
		setenv("OBJFSD_FS_NO_OPENAT2", "1", 1);
	if (which == 0)
		snprintf(url, sizeof(url), "mem:");
	else if (which == 3)
		snprintf(url, sizeof(url), "s3://%s/%s",
		    getenv("OBJFSD_TEST_S3_BUCKET"), strrchr(tmpdir, '.') + 1);
	else {
		snprintf(root, sizeof(root), "%s/root", tmpdir);
		ck_assert_int_eq(mkdir(root, 0755), 0);
		snprintf(url, sizeof(url), "fs:%s", root);
	}
	open_fs(url);
}

void
teardown_store(void)
{
	objfs_free(fs);
	store_close(st);
	fs = NULL;
	st = NULL;
	rm_rf(tmpdir);
	unsetenv("OBJFSD_FS_NO_OPENAT2");
}

/* A file made on the host, behind objfsd, in the fs: store's root. */
void
host_write(const char *name, const char *content)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

uint64_t
lookup(uint64_t parent, const char *name)
{
	struct objfs_entry e;

	ck_assert_int_eq(objfs_lookup(fs, parent, name, &e), 0);
	return e.ino;
}

int
lookup_rc(uint64_t parent, const char *name)
{
	struct objfs_entry e;

	return objfs_lookup(fs, parent, name, &e);
}

uint64_t
mkdir_(uint64_t parent, const char *name)
{
	struct objfs_entry e;

	ck_assert_int_eq(objfs_mkdir(fs, &ctx, parent, name, 0750, &e), 0);
	ck_assert(S_ISDIR(e.st.st_mode));
	return e.ino;
}

size_t
write_at(uint64_t fh, uint64_t off, const void *data, size_t len)
{
	struct iovec iov = { (void *)data, len };
	size_t n = 0;

	ck_assert_int_eq(objfs_write(fs, fh, off, &iov, 1, false, &n), 0);
	return n;
}

size_t
read_at(uint64_t fh, uint64_t off, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	size_t n = 0;

	ck_assert_int_eq(objfs_read(fs, fh, off, &iov, 1, &n), 0);
	return n;
}

/* A file with content, closed. */
uint64_t
mkfile(uint64_t parent, const char *name, const char *content)
{
	struct objfs_entry e;
	uint64_t fh;

	ck_assert_int_eq(objfs_create(fs, &ctx, parent, name, 0640,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	ck_assert_uint_eq(write_at(fh, 0, content, strlen(content)),
	    strlen(content));
	ck_assert_int_eq(objfs_flush(fs, fh), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	return e.ino;
}

uint64_t
open_(uint64_t ino, int flags)
{
	uint64_t fh;
	unsigned of;

	ck_assert_int_eq(objfs_open(fs, ino, flags, false, &fh, &of), 0);
	return fh;
}

/* Whole content of a file, through a fresh open. */
char *
slurp(uint64_t ino)
{
	static char buf[1 << 16];
	uint64_t fh = open_(ino, O_RDONLY);
	size_t n = read_at(fh, 0, buf, sizeof(buf) - 1);

	buf[n] = '\0';
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	return buf;
}

struct stat
stat_(uint64_t ino)
{
	struct stat sb;

	ck_assert_int_eq(objfs_getattr(fs, ino, &sb), 0);
	return sb;
}

int
collect_cb(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *e)
{
	struct collect *c = arg;

	if (c->room == 0)
		return 1;
	c->room--;
	c->names = realloc(c->names, (c->n + 1) * sizeof(*c->names));
	c->names[c->n++] = strdup(name);
	c->next_off = off;
	return 0;
}

void
collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->names[i]);
	free(c->names);
	memset(c, 0, sizeof(*c));
}
