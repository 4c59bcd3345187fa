/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs semantics, in process, over every store: each test runs once on
 * mem: (an object store: no rename, implied directories) and once on fs:
 * (a real directory tree); tests of one store each are in
 * check_objfs_store.c, the fixture in objfs_fixture.c.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_run.h"
#include "objfs_fixture.h"

STORE_TEST(create_write_read_at_offsets)
{
	struct objfs_entry e;
	char buf[64];
	uint64_t fh;

	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "f", 0640,
	    O_CREAT | O_RDWR, &e, &fh), 0);
	ck_assert_uint_eq(e.st.st_mode, S_IFREG | 0640);
	ck_assert_uint_eq(e.st.st_uid, 1000);
	write_at(fh, 0, "hello", 5);
	write_at(fh, 10, "world", 5);		/* leaves a hole */
	write_at(fh, 2, "LL", 2);
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 15);
	ck_assert_int_eq(memcmp(buf, "heLLo\0\0\0\0\0world", 15), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(stat_(e.ino).st_size, 15);
	/* Reopened: the uploaded object has it all. */
	fh = open_(e.ino, O_RDONLY);
	ck_assert_uint_eq(read_at(fh, 10, buf, 10), 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	ck_assert_uint_eq(read_at(fh, 100, buf, 10), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	/* O_EXCL on an existing name. */
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "f", 0640,
	    O_CREAT | O_EXCL | O_WRONLY, &e, &fh), -EEXIST);
}

STORE_TEST(overwrite_middle_of_existing_object)
{
	uint64_t ino = mkfile(ROOT, "f", "0123456789"), fh;

	fh = open_(ino, O_WRONLY);
	write_at(fh, 3, "abc", 3);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "012abc6789");
}

/* ftruncate(fd, 0) then write on an open file: nothing old comes back. */
STORE_TEST(truncate_to_zero_then_write_while_open)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_SIZE, .size = 0 };
	uint64_t ino = mkfile(ROOT, "f", "0123456789"), fh;
	struct stat sb;
	char buf[16];

	fh = open_(ino, O_RDWR);
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, fh, &sa, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 0);
	write_at(fh, 0, "ab", 2);
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 2);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "ab");
	/* A created file read before any write is empty, not an error. */
	fh = 0;
	{
		struct objfs_entry e;

		ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "g", 0600,
		    O_CREAT | O_RDWR, &e, &fh), 0);
		ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 0);
		ck_assert_int_eq(objfs_release(fs, fh), 0);
		ck_assert_uint_eq(stat_(e.ino).st_mode, S_IFREG | 0600);
		ck_assert_uint_eq(stat_(e.ino).st_size, 0);
	}
}

/*
 * The fs store is written in place, as virtiofsd does: the host sees the
 * bytes before the file is closed, and nothing is left in the cache
 * directory.  Object stores see the new object only after the upload.
 */
STORE_TEST(writes_land_where_the_store_keeps_them)
{
	uint64_t ino = mkfile(ROOT, "f", "0123456789"), fh;
	char path[160], buf[32];
	struct stat sb;
	FILE *f;

	fh = open_(ino, O_RDWR);
	write_at(fh, 2, "ab", 2);
	if (_i == 1 || _i == 2) {
		snprintf(path, sizeof(path), "%s/root/f", tmpdir);
		ck_assert_ptr_nonnull(f = fopen(path, "r"));
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		ck_assert_str_eq(buf, "01ab456789");
	} else {
		struct store_attr a;

		ck_assert_int_eq(store_head(st, "f", &a), 0);
		ck_assert_uint_eq(a.size, 10);
		store_attr_clear(&a);
	}
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "01ab456789");
	/* Nothing staged stays behind; the times are the ones reported. */
	snprintf(path, sizeof(path), "test -z \"$(ls -A '%s')\"", cachedir);
	ck_assert_int_eq(system(path), 0);
	sb = stat_(ino);
	fh = open_(ino, O_WRONLY | O_TRUNC);
	write_at(fh, 0, "x", 1);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "x");
	ck_assert_int_ge(stat_(ino).st_mtime, sb.st_mtime);
}

STORE_TEST(truncate_shrink_extend_and_o_trunc)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_SIZE, .size = 4 };
	uint64_t ino = mkfile(ROOT, "f", "0123456789"), fh;
	struct stat sb;
	char buf[16];

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert_int_eq(sb.st_size, 4);
	ck_assert_str_eq(slurp(ino), "0123");
	sa.size = 8;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	fh = open_(ino, O_RDONLY);
	ck_assert_uint_eq(read_at(fh, 0, buf, sizeof(buf)), 8);
	ck_assert_int_eq(memcmp(buf, "0123\0\0\0\0", 8), 0);
	objfs_release(fs, fh);
	fh = open_(ino, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(stat_(ino).st_size, 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_str_eq(slurp(ino), "");
	sa.size = 1;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ROOT, 0, &sa, &sb), -EISDIR);
}

STORE_TEST(rename_files)
{
	uint64_t a = mkfile(ROOT, "a", "A"), b;
	struct objfs_entry e;

	mkfile(ROOT, "b", "B");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "a", ROOT, "c", 0), 0);
	ck_assert_int_eq(lookup_rc(ROOT, "a"), -ENOENT);
	ck_assert_uint_eq(lookup(ROOT, "c"), a);	/* same inode */
	ck_assert_str_eq(slurp(a), "A");
	/* Over an existing file, and NOREPLACE refusing to. */
	ck_assert_int_eq(objfs_rename(fs, ROOT, "c", ROOT, "b",
	    RENAME_NOREPLACE), -EEXIST);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "c", ROOT, "b", 0), 0);
	b = lookup(ROOT, "b");
	ck_assert_str_eq(slurp(b), "A");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "b", ROOT, "x",
	    RENAME_EXCHANGE), -EINVAL);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "nope", ROOT, "x", 0), -ENOENT);
	mkdir_(ROOT, "d");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "b", ROOT, "d", 0), -EISDIR);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "d", ROOT, "b", 0), -ENOTDIR);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "b", lookup(ROOT, "d"), "b2",
	    0), 0);
	ck_assert_int_eq(objfs_lookup(fs, lookup(ROOT, "d"), "b2", &e), 0);
}

STORE_TEST(rename_directories)
{
	uint64_t d = mkdir_(ROOT, "d"), sub = mkdir_(d, "sub"), f, e2;
	struct objfs_entry e;

	f = mkfile(sub, "f", "deep");
	mkfile(d, "g", "top");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "d", ROOT, "e", 0), 0);
	ck_assert_int_eq(lookup_rc(ROOT, "d"), -ENOENT);
	e2 = lookup(ROOT, "e");
	ck_assert_uint_eq(e2, d);
	/* Known inodes below moved along, and the store agrees. */
	ck_assert_str_eq(slurp(f), "deep");
	ck_assert_uint_eq(lookup(lookup(e2, "sub"), "f"), f);
	ck_assert_str_eq(slurp(lookup(e2, "g")), "top");
	/* Into itself, over a non-empty and over an empty directory. */
	ck_assert_int_eq(objfs_rename(fs, ROOT, "e", sub, "x", 0), -EINVAL);
	mkdir_(ROOT, "full");
	mkfile(lookup(ROOT, "full"), "z", "z");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "e", ROOT, "full", 0),
	    -ENOTEMPTY);
	mkdir_(ROOT, "empty");
	ck_assert_int_eq(objfs_rename(fs, ROOT, "e", ROOT, "empty", 0), 0);
	ck_assert_int_eq(objfs_lookup(fs, lookup(ROOT, "empty"), "g", &e), 0);
}

/*
 * Directories of clen-byte names below ROOT, as deep as a name of at most
 * clen bytes in the last one still makes a key of len bytes: the last
 * directory, and that name into name[STORE_NAME_MAX + 1].
 */
static uint64_t
deep_dir(size_t len, size_t clen, char *name)
{
	char comp[STORE_NAME_MAX + 1];
	size_t key = 0;		/* bytes of d's key */
	uint64_t d = ROOT;

	memset(comp, 'd', clen);
	comp[clen] = '\0';
	while (len - key - (key > 0) > clen) {
		d = mkdir_(d, comp);
		key += (key > 0) + clen;
	}
	ck_assert_uint_gt(len - key - (key > 0), 0);
	memset(name, 'f', len - key - (key > 0));
	name[len - key - (key > 0)] = '\0';
	return d;
}

/*
 * Keys up to the store's own limit (fs: and mem: PATH_MAX, s3: 1,024
 * bytes with the prefix), less the byte a directory's marker takes:
 * created, renamed, listed and removed; one byte more is ENAMETOOLONG.
 */
STORE_TEST(long_keys_up_to_the_store_limit)
{
	/* s3rver cannot hold 255-byte names (names_are_validated) */
	size_t max = store_key_max(st), clen = _i == 3 ? 200 : STORE_NAME_MAX;
	char name[STORE_NAME_MAX + 1], longer[STORE_NAME_MAX + 2];
	struct collect c = { .room = 10 };
	struct objfs_entry e;
	uint64_t d, fh;

	if (_i == 3)
		ck_assert_uint_lt(max, 1024);	/* the prefix counts */
	else
		ck_assert_uint_eq(max, PATH_MAX - 1);
	d = deep_dir(max - 1, clen, name);
	ck_assert_int_eq(objfs_create(fs, &ctx, d, name, 0644,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	write_at(fh, 0, "deep", 4);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	snprintf(longer, sizeof(longer), "%sx", name);
	ck_assert_int_eq(objfs_create(fs, &ctx, d, longer, 0644,
	    O_CREAT | O_WRONLY, &e, &fh), -ENAMETOOLONG);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, d, longer, 0755, &e),
	    -ENAMETOOLONG);
	ck_assert_int_eq(lookup_rc(d, longer), -ENAMETOOLONG);
	ck_assert_int_eq(objfs_rename(fs, d, name, d, longer, 0),
	    -ENAMETOOLONG);
	/* Renamed to a name as long, listed, read, removed. */
	memcpy(longer, name, sizeof(name));
	longer[0] = 'g';
	ck_assert_int_eq(objfs_rename(fs, d, name, d, longer, 0), 0);
	ck_assert_int_eq(lookup_rc(d, name), -ENOENT);
	ck_assert_str_eq(slurp(lookup(d, longer)), "deep");
	ck_assert_int_eq(objfs_opendir(fs, d, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, true, collect_cb, &c), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_str_eq(c.names[2], longer);
	collect_free(&c);
	/* A directory moved where the keys below it would not fit. */
	mkdir_(ROOT, "s");
	memset(name, 'd', clen);
	name[clen] = '\0';
	ck_assert_int_eq(objfs_rename(fs, ROOT, name, lookup(ROOT, "s"), name,
	    0), -ENAMETOOLONG);
	ck_assert_int_eq(lookup_rc(lookup(ROOT, "s"), name), -ENOENT);
	ck_assert_int_eq(objfs_unlink(fs, d, longer), 0);
	ck_assert_int_eq(lookup_rc(d, longer), -ENOENT);
}

STORE_TEST(unlink_while_open)
{
	uint64_t ino = mkfile(ROOT, "f", "still here"), rfh, wfh;
	char buf[32];

	rfh = open_(ino, O_RDONLY);
	wfh = open_(ino, O_WRONLY);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "f"), 0);
	ck_assert_int_eq(lookup_rc(ROOT, "f"), -ENOENT);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(read_at(rfh, 0, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "still here");
	write_at(wfh, 0, "STILL", 5);
	ck_assert_int_eq(objfs_flush(fs, wfh), 0);
	ck_assert_uint_eq(read_at(rfh, 0, buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, "STILL here", 10), 0);
	ck_assert_int_eq(stat_(ino).st_size, 10);
	ck_assert_uint_eq(stat_(ino).st_nlink, 0);
	ck_assert_int_eq(objfs_release(fs, wfh), 0);
	ck_assert_int_eq(objfs_release(fs, rfh), 0);
	/* Closing did not bring it back. */
	ck_assert_int_eq(lookup_rc(ROOT, "f"), -ENOENT);
	ck_assert_int_eq(objfs_getattr(fs, ino, &(struct stat){ 0 }), -ENOENT);
}

/*
 * Once unlinked, an open file's name may be a new file's: nothing done
 * through the old inode (chmod, utimes, xattrs, truncate, flush) may
 * reach the new object, and the old one keeps answering for itself.
 */
STORE_TEST(unlinked_open_file_leaves_its_name_alone)
{
	uint64_t old = mkfile(ROOT, "f", "old bytes"), fresh, wfh, rfh;
	struct objfs_setattr sa = {
		.valid = OBJFS_SET_MODE | OBJFS_SET_MTIME,
		.mode = 0600, .mtime = { 1000000000, 0 },
	};
	struct stat before, sb;
	char buf[32];
	size_t len;

	wfh = open_(old, O_RDWR);
	rfh = open_(old, O_RDONLY);
	write_at(wfh, 0, "OLD", 3);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "f"), 0);
	fresh = mkfile(ROOT, "f", "the new file");
	ck_assert_uint_ne(fresh, old);
	before = stat_(fresh);

	ck_assert_int_eq(objfs_setattr(fs, &ctx, old, wfh, &sa, &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0600);
	ck_assert_int_eq(objfs_setxattr(fs, old, "user.old", "1", 1, 0), 0);
	ck_assert_int_eq(objfs_getxattr(fs, old, "user.old", buf,
	    sizeof(buf), &len), 0);
	sa.valid = OBJFS_SET_SIZE;
	sa.size = 5;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, old, wfh, &sa, &sb), 0);
	ck_assert_int_eq(objfs_flush(fs, wfh), 0);
	ck_assert_int_eq(objfs_fsync(fs, wfh, false), 0);
	ck_assert_int_eq(objfs_release(fs, wfh), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(read_at(rfh, 0, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "OLD b");
	ck_assert_int_eq(objfs_release(fs, rfh), 0);

	/* The new file is as it was made. */
	sb = stat_(fresh);
	ck_assert_uint_eq(sb.st_mode, before.st_mode);
	ck_assert_int_eq(sb.st_size, 12);
	ck_assert_int_eq(sb.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(objfs_getxattr(fs, fresh, "user.old", buf,
	    sizeof(buf), &len), -ENODATA);
	ck_assert_str_eq(slurp(fresh), "the new file");
}

/*
 * An unlinked file open only for reading has no stage; a truncation or
 * a chmod through it must not fetch or change the new file's object.
 */
STORE_TEST(unlinked_reader_leaves_its_name_alone)
{
	uint64_t old = mkfile(ROOT, "g", "old bytes"), fresh, rfh;
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 0600 };
	struct stat before, sb;
	char buf[32];
	size_t len;

	rfh = open_(old, O_RDONLY);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "g"), 0);
	fresh = mkfile(ROOT, "g", "the new file");
	before = stat_(fresh);
	(void)objfs_setattr(fs, &ctx, old, rfh, &sa, &sb);
	(void)objfs_setxattr(fs, old, "user.old", "1", 1, 0);
	sa.valid = OBJFS_SET_SIZE;
	sa.size = 20;
	(void)objfs_setattr(fs, &ctx, old, rfh, &sa, &sb);
	memset(buf, 0, sizeof(buf));
	len = read_at(rfh, 0, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "new") == NULL, "old handle reads %.*s",
	    (int)len, buf);
	ck_assert_int_eq(objfs_release(fs, rfh), 0);

	sb = stat_(fresh);
	ck_assert_uint_eq(sb.st_mode, before.st_mode);
	ck_assert_int_eq(sb.st_size, 12);
	ck_assert_int_eq(objfs_getxattr(fs, fresh, "user.old", buf,
	    sizeof(buf), &len), -ENODATA);
	ck_assert_str_eq(slurp(fresh), "the new file");
}

STORE_TEST(mkdir_rmdir)
{
	uint64_t d = mkdir_(ROOT, "d");
	struct objfs_entry e;

	ck_assert_uint_eq(stat_(d).st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(stat_(d).st_uid, 1000);
	/* 4096 on object stores as on local ones: never 0. */
	ck_assert_int_ge(stat_(d).st_size, 4096);
	ck_assert_int_ge(stat_(ROOT).st_size, 4096);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, "d", 0755, &e), -EEXIST);
	mkfile(d, "f", "x");
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "d"), -ENOTEMPTY);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "d"), -EISDIR);
	ck_assert_int_eq(objfs_rmdir(fs, d, "f"), -ENOTDIR);
	ck_assert_int_eq(objfs_unlink(fs, d, "f"), 0);
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "d"), 0);
	ck_assert_int_eq(lookup_rc(ROOT, "d"), -ENOENT);
	ck_assert_int_eq(objfs_rmdir(fs, ROOT, "d"), -ENOENT);
}

STORE_TEST(names_are_validated)
{
	char longname[300];
	struct objfs_entry e;

	memset(longname, 'n', sizeof(longname));
	longname[256] = '\0';
	ck_assert_int_eq(lookup_rc(ROOT, longname), -ENAMETOOLONG);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, longname, 0755, &e),
	    -ENAMETOOLONG);
	/*
	 * s3rver keeps each object as a file named after the key plus a
	 * suffix, so the test server cannot hold a 255-byte name.
	 */
	longname[_i == 3 ? 200 : 255] = '\0';
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, ROOT, longname, 0755, &e), 0);
	ck_assert_int_eq(lookup_rc(ROOT, ""), -EINVAL);
	ck_assert_int_eq(lookup_rc(ROOT, "."), -EINVAL);
	ck_assert_int_eq(lookup_rc(ROOT, ".."), -EINVAL);
	ck_assert_int_eq(lookup_rc(ROOT, "a/b"), -EINVAL);
	ck_assert_int_eq(lookup_rc(987654, "x"), -ESTALE);
	/* A key deeper than the store's limit (PATH_MAX at most). */
	uint64_t d = ROOT;
	int rc = 0;
	for (int i = 0; i < 30 && rc == 0; i++) {
		longname[150] = '\0';
		rc = objfs_mkdir(fs, &ctx, d, longname, 0755, &e);
		d = e.ino;
	}
	ck_assert_int_eq(rc, -ENAMETOOLONG);
}

STORE_TEST(readdir_5000_entries_across_calls)
{
	enum { PAGE = 97 };
	/* Thousands of PUTs to the test S3 server take a while: fewer. */
	const int N = _i == 3 ? 2500 : 5000, DEL = N * 4 / 5;
	uint64_t d = mkdir_(ROOT, "big"), fh, off = 0;
	struct collect c = { 0 };
	char *seen = calloc(N + 1000, 1);
	struct store_attr a = { 0 };
	int calls = 0;
	char name[32];

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "big/f%05d", i);
		ck_assert_int_eq(store_put(st, name, -1, 0, &a), 0);
	}
	ck_assert_int_eq(objfs_opendir(fs, d, &fh), 0);
	for (;;) {
		size_t before = c.n;

		c.room = PAGE;
		ck_assert_int_eq(objfs_readdir(fs, fh, off, calls % 2 == 0,
		    collect_cb, &c), 0);
		if (c.n == before)
			break;
		off = c.next_off;
		calls++;
		/* Meanwhile: delete names still ahead, add some anywhere. */
		if (calls == 5) {
			for (int i = DEL; i < DEL + 100; i++) {
				snprintf(name, sizeof(name), "f%05d", i);
				ck_assert_int_eq(objfs_unlink(fs, d, name), 0);
			}
			mkfile(d, "a-new-early", "x");
			mkfile(d, "z-new-late", "x");
		}
	}
	ck_assert_int_ge(calls, (N - 100) / PAGE);
	for (size_t i = 0; i < c.n; i++) {
		int k;

		if (sscanf(c.names[i], "f%05d", &k) == 1) {
			ck_assert_msg(!seen[k], "%s returned twice", c.names[i]);
			seen[k] = 1;
		}
	}
	for (int i = 0; i < N; i++)
		ck_assert_msg(seen[i] || (i >= DEL && i < DEL + 100),
		    "f%05d skipped", i);
	ck_assert_str_eq(c.names[0], ".");
	ck_assert_str_eq(c.names[1], "..");
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
	ck_assert_int_eq(objfs_releasedir(fs, fh), -EBADF);
	collect_free(&c);
	free(seen);
}

/* Paging a listing: key order, every key once, directories as prefixes. */
/* Every key once, in order, page by page; objects and prefixes apart. */
static void
list_all_pages(const char *prefix, unsigned flags, int page, bool paged,
    int *objects, int *prefixes, int *pages, int *with_attr)
{
	char *last = NULL, *after = NULL;

	*objects = *prefixes = *pages = *with_attr = 0;
	do {
		struct store_listing l;

		ck_assert_int_eq(store_list(st, prefix, after, flags, page, &l),
		    0);
		if (paged)
			ck_assert_uint_le(l.n, page);
		(*pages)++;
		for (size_t i = 0; i < l.n; i++) {
			struct store_entry *e = &l.entries[i];

			if (last != NULL)
				ck_assert_msg(strcmp(last, e->name) < 0,
				    "%s after %s", e->name, last);
			free(last);
			last = strdup(e->name);
			if (e->has_attr)
				(*with_attr)++;
			if (e->is_prefix) {
				ck_assert_int_eq(e->name[0], 'd');
				(*prefixes)++;
			} else {
				ck_assert_int_eq(e->name[0], 'k');
				if (e->has_attr)
					ck_assert_uint_eq(e->attr.size, 0);
				(*objects)++;
			}
		}
		free(after);
		after = l.next != NULL ? strdup(l.next) : NULL;
		store_listing_clear(&l);
	} while (after != NULL && *pages < 100);
	free(last);
}

STORE_TEST(store_list_pages_in_key_order)
{
	const int N = _i == 3 ? 90 : 250, D = 10, PAGE = 64;
	struct store_attr a = { 0 };
	int objects, prefixes, pages, with_attr;
	char name[64];

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pl/k%03d", i);
		ck_assert_int_eq(store_put(st, name, -1, 0, &a), 0);
	}
	for (int i = 0; i < D; i++) {
		snprintf(name, sizeof(name), "pl/d%02d/x", i);
		ck_assert_int_eq(store_put(st, name, -1, 0, &a), 0);
	}
	/* max is a hint; s3rver leaves common prefixes out of it. */
	list_all_pages("pl/", 0, PAGE, _i != 3, &objects, &prefixes, &pages,
	    &with_attr);
	ck_assert_int_eq(objects, N);
	ck_assert_int_eq(prefixes, D);
	ck_assert_int_ge(pages, (N + D) / PAGE);
	/*
	 * Names only: the same keys; fs: no stat, so no attributes, unless
	 * its owners are records (a record can make a file a FIFO).
	 */
	list_all_pages("pl/", STORE_LIST_NAMES, PAGE, _i != 3, &objects,
	    &prefixes, &pages, &with_attr);
	ck_assert_int_eq(objects, N);
	ck_assert_int_eq(prefixes, D);
	if ((_i == 1 || _i == 2) && !fixture_xattr_owners)
		ck_assert_int_eq(with_attr, 0);
	if ((_i == 1 || _i == 2) && fixture_xattr_owners)
		ck_assert_int_eq(with_attr, N + D);
}

STORE_TEST(readdir_rewind_sees_changes)
{
	uint64_t fh;
	struct collect c = { .room = 100 };

	mkfile(ROOT, "one", "1");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, false, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 3);
	collect_free(&c);
	mkfile(ROOT, "two", "2");
	c.room = 100;
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, true, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 4);
	ck_assert_str_eq(c.names[3], "two");
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
}

/* readdirplus callback: the size reported for each regular file. */
static int
sizes_cb(void *arg, const char *name, mode_t type, uint64_t ino,
    uint64_t off, const struct objfs_entry *e)
{
	long *sizes = arg;

	(void)ino;
	(void)off;
	if (S_ISREG(type) && strlen(name) == 1 && name[0] >= 'a' &&
	    name[0] <= 'c')
		sizes[name[0] - 'a'] = (long)e->st.st_size;
	return 0;
}

/* Read again from an offset: attributes come back, from the store. */
STORE_TEST(readdirplus_again_from_an_offset)
{
	long sizes[3];
	uint64_t fh;

	mkfile(ROOT, "a", "1");
	mkfile(ROOT, "b", "22");
	mkfile(ROOT, "c", "333");
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	for (int pass = 0; pass < 3; pass++) {
		memset(sizes, 0xff, sizeof(sizes));
		/* 0: from the start; then from just after "a", then "..". */
		ck_assert_int_eq(objfs_readdir(fs, fh, pass == 0 ? 0 :
		    pass == 1 ? 3 : 2, true, sizes_cb, sizes), 0);
		ck_assert_int_eq(sizes[0], pass == 1 ? -1 : 1);
		ck_assert_int_eq(sizes[1], 2);
		ck_assert_int_eq(sizes[2], 3);
	}
	ck_assert_int_eq(objfs_releasedir(fs, fh), 0);
}

STORE_TEST(symlink_readlink)
{
	struct objfs_entry e;
	char buf[64];
	size_t len;

	ck_assert_int_eq(objfs_symlink(fs, &ctx, ROOT, "l", "some/target",
	    &e), 0);
	ck_assert(S_ISLNK(e.st.st_mode));
	ck_assert_int_eq(e.st.st_size, 11);
	ck_assert_int_eq(objfs_readlink(fs, lookup(ROOT, "l"), buf,
	    sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_int_eq(memcmp(buf, "some/target", 11), 0);
	ck_assert_int_eq(objfs_readlink(fs, ROOT, buf, sizeof(buf), &len),
	    -EINVAL);
	ck_assert_int_eq(objfs_symlink(fs, &ctx, ROOT, "l", "x", &e), -EEXIST);
}

STORE_TEST(mknod_types)
{
	struct objfs_entry e;

	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "fifo", S_IFIFO | 0600, 0,
	    &e), 0);
	ck_assert(S_ISFIFO(stat_(lookup(ROOT, "fifo")).st_mode));
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "sock", S_IFSOCK | 0600,
	    0, &e), 0);
	ck_assert(S_ISSOCK(e.st.st_mode));
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "reg", S_IFREG | 0600, 0,
	    &e), 0);
	ck_assert(S_ISREG(e.st.st_mode));
	/* Every store keeps device nodes (fs: as records by default). */
	ck_assert(store_has_devices(st));
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "dev", S_IFCHR | 0600,
	    makedev(1, 3), &e), 0);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "blk", S_IFBLK | 0600,
	    makedev(8, 0), &e), 0);
	ck_assert_uint_eq(stat_(lookup(ROOT, "dev")).st_mode, S_IFCHR | 0600);
	ck_assert_uint_eq(stat_(lookup(ROOT, "dev")).st_rdev, makedev(1, 3));
	ck_assert_uint_eq(stat_(lookup(ROOT, "blk")).st_rdev, makedev(8, 0));
}

/* A new objfs on the same store: what it shows was stored. */
static void
restart_objfs(void)
{
	struct objfs_options o = {
		.uid = 0, .gid = 0, .file_mode = 0644, .dir_mode = 0755,
		.cache_dir = cachedir, .store = st,
	};

	objfs_free(fs);
	ck_assert_int_eq(objfs_new(&o, &fs), 0);
}

static void
assert_device(const char *name, mode_t mode, dev_t rdev)
{
	struct stat sb = stat_(lookup(ROOT, name));

	ck_assert_uint_eq(sb.st_mode, mode);
	ck_assert_uint_eq(sb.st_rdev, rdev);
	ck_assert_uint_eq(sb.st_size, 0);
}

/*
 * Block and character devices keep type, mode and device number through
 * a chmod, a rename and a restart, in the store's metadata (on s3: the
 * x-amz-meta-mode and -rdev s3fs reads).
 */
STORE_TEST(device_nodes_survive_rename_and_restart)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 0604 };
	struct store_attr a = { 0 };
	struct objfs_entry e;
	struct stat sb;

	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "chr", S_IFCHR | 0640,
	    makedev(4, 300), &e), 0);
	ck_assert_uint_eq(e.st.st_rdev, makedev(4, 300));
	ck_assert_int_eq(objfs_mknod(fs, &ctx, ROOT, "blk", S_IFBLK | 0660,
	    makedev(259, 70000), &e), 0);
	ck_assert_int_eq(objfs_setattr(fs, &ctx, lookup(ROOT, "chr"), 0, &sa,
	    &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFCHR | 0604);
	ck_assert_int_eq(objfs_rename(fs, ROOT, "blk", ROOT, "blk2", 0), 0);
	restart_objfs();
	assert_device("chr", S_IFCHR | 0604, makedev(4, 300));
	assert_device("blk2", S_IFBLK | 0660, makedev(259, 70000));
	ck_assert_int_eq(lookup_rc(ROOT, "blk"), -ENOENT);
	ck_assert_int_eq(store_head(st, "blk2", &a), 0);
	ck_assert_uint_eq(a.mode, S_IFBLK | 0660);
	ck_assert(a.has & STORE_ATTR_RDEV);
	ck_assert_uint_eq(a.rdev, makedev(259, 70000));
	ck_assert_uint_eq(a.size, 0);
	store_attr_clear(&a);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "chr"), 0);
	ck_assert_int_eq(objfs_unlink(fs, ROOT, "blk2"), 0);
	restart_objfs();
	ck_assert_int_eq(lookup_rc(ROOT, "chr"), -ENOENT);
	ck_assert_int_eq(lookup_rc(ROOT, "blk2"), -ENOENT);
}

/*
 * A write by a caller without CAP_FSETID (the kernel says so) drops the
 * set-id bits for good, also where writes go straight into the store's
 * own file and no upload carries the mode.
 */
STORE_TEST(write_kills_setuid)
{
	uint64_t ino = mkfile(ROOT, "s", "x"), fh;
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 06755 };
	struct iovec iov = { "y", 1 };
	unsigned oflags;
	struct stat sb;
	size_t n;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert_int_eq(objfs_open(fs, ino, O_WRONLY, false, &fh, &oflags),
	    0);
	ck_assert_int_eq(objfs_write(fs, fh, 0, &iov, 1, true, &n), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_uint_eq(stat_(ino).st_mode, S_IFREG | 0755);
	/* Not a cached answer: the store itself has lost them. */
	struct store_attr a;
	store_attr_init(&a);
	ck_assert_int_eq(store_head(st, "s", &a), 0);
	ck_assert_uint_eq(a.mode & 07777, 0755);
	store_attr_clear(&a);
}

STORE_TEST(chmod_chown_utimens)
{
	uint64_t ino = mkfile(ROOT, "f", "x"), d = mkdir_(ROOT, "d");
	struct objfs_setattr sa = {
		.valid = OBJFS_SET_MODE | OBJFS_SET_UID | OBJFS_SET_GID |
		    OBJFS_SET_MTIME | OBJFS_SET_ATIME,
		.mode = 04711, .uid = 42, .gid = 43,
		.mtime = { 1000000000, 5 }, .atime = { 1100000000, 7 },
	};
	struct stat sb;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	sb = stat_(ino);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 04711);
	ck_assert_uint_eq(sb.st_uid, 42);
	ck_assert_uint_eq(sb.st_gid, 43);
	ck_assert_int_eq(sb.st_mtim.tv_sec, 1000000000);
	ck_assert_int_eq(sb.st_mtim.tv_nsec, store_has_nsec(st) ? 5 : 0);
	ck_assert_int_eq(sb.st_atim.tv_sec, 1100000000);
	/* Killing set-id bits, and "now". */
	sa.valid = OBJFS_SET_KILL_SUIDGID | OBJFS_SET_MTIME_NOW;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0711);
	ck_assert_int_gt(sb.st_mtim.tv_sec, 1600000000);
	/* Directories too, implied or not. */
	sa.valid = OBJFS_SET_MODE;
	sa.mode = 0700;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, d, 0, &sa, &sb), 0);
	ck_assert_uint_eq(stat_(d).st_mode, S_IFDIR | 0700);
	/* Metadata changes made while a file is staged survive its upload. */
	uint64_t fh = open_(ino, O_WRONLY);
	write_at(fh, 0, "y", 1);
	sa.mode = 0600;
	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_uint_eq(stat_(ino).st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(stat_(ino).st_uid, 42);
}

/* Times set by hand long ago, so that any change shows. */
static void
set_old_times(uint64_t ino)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_MTIME | OBJFS_SET_ATIME,
	    .mtime = { 1000000000, 0 }, .atime = { 1000000000, 0 } };
	struct stat sb;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, ino, 0, &sa, &sb), 0);
	ck_assert_int_eq(stat_(ino).st_mtim.tv_sec, 1000000000);
}

/* Each name made or removed in a directory moves its mtime and ctime. */
STORE_TEST(directory_times_follow_its_names)
{
	uint64_t d = mkdir_(ROOT, "d"), d2 = mkdir_(ROOT, "d2"), fh;
	struct objfs_entry e;
	struct stat sb;

	mkfile(d, "old", "x");
	for (int step = 0; step < 8; step++) {
		set_old_times(d);
		switch (step) {
		case 0:
			ck_assert_int_eq(objfs_create(fs, &ctx, d, "f", 0644,
			    O_CREAT | O_WRONLY, &e, &fh), 0);
			ck_assert_int_eq(objfs_release(fs, fh), 0);
			break;
		case 1:
			ck_assert_int_eq(objfs_mkdir(fs, &ctx, d, "sub", 0755,
			    &e), 0);
			break;
		case 2:
			ck_assert_int_eq(objfs_symlink(fs, &ctx, d, "l", "t",
			    &e), 0);
			break;
		case 3:
			ck_assert_int_eq(objfs_mknod(fs, &ctx, d, "p",
			    S_IFIFO | 0644, 0, &e), 0);
			break;
		case 4:
			ck_assert_int_eq(objfs_unlink(fs, d, "f"), 0);
			break;
		case 5:
			ck_assert_int_eq(objfs_rmdir(fs, d, "sub"), 0);
			break;
		case 6:
			ck_assert_int_eq(objfs_rename(fs, d, "l", d2, "l", 0),
			    0);
			break;
		case 7:
			ck_assert_int_eq(objfs_rename(fs, d2, "l", d, "l2", 0),
			    0);
			break;
		}
		/* Also once the kernel forgot the directory's inode. */
		if (step == 7) {
			objfs_forget(fs, d, 1);
			d = lookup(ROOT, "d");
		}
		sb = stat_(d);
		ck_assert_msg(sb.st_mtim.tv_sec > 1000000000,
		    "step %d left mtime %lld", step, (long long)sb.st_mtim.tv_sec);
		ck_assert_int_ge(sb.st_ctim.tv_sec, sb.st_mtim.tv_sec);
	}
	/* Renamed out of it, the source directory moved too. */
	set_old_times(d2);
	ck_assert_int_eq(objfs_rename(fs, d, "l2", d2, "l3", 0), 0);
	ck_assert_int_gt(stat_(d2).st_mtim.tv_sec, 1000000000);
	ck_assert_int_gt(stat_(d).st_mtim.tv_sec, 1000000000);
	/* A change refused changes nothing. */
	set_old_times(d);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, d, "old", 0755, &e), -EEXIST);
	ck_assert_int_eq(objfs_unlink(fs, d, "none"), -ENOENT);
	ck_assert_int_eq(stat_(d).st_mtim.tv_sec, 1000000000);
	/* A marker written anyway (a chmod) keeps the last change's time. */
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE, .mode = 0700 };
	struct objfs_options o = { .store = st, .file_mode = 0644,
	    .dir_mode = 0755, .cache_dir = cachedir };
	struct objfs *again;

	mkfile(d, "new", "x");
	ck_assert_int_eq(objfs_setattr(fs, &ctx, d, 0, &sa, &sb), 0);
	ck_assert_int_eq(objfs_new(&o, &again), 0);
	ck_assert_int_eq(objfs_lookup(again, ROOT, "d", &e), 0);
	ck_assert_int_gt(e.st.st_mtim.tv_sec, 1000000000);
	ck_assert_uint_eq(e.st.st_mode, S_IFDIR | 0700);
	objfs_free(again);
}

/* A directory links to itself, its parent's entry and each subdirectory. */
STORE_TEST(directory_link_counts)
{
	uint64_t d = mkdir_(ROOT, "d"), fh;
	struct collect c = { .room = 100 };
	struct objfs *again;
	struct objfs_options o = { .store = st, .file_mode = 0644,
	    .dir_mode = 0755, .cache_dir = cachedir };
	struct objfs_entry e;
	struct stat sb;

	ck_assert_uint_eq(stat_(d).st_nlink, 2);
	mkdir_(d, "a");
	mkdir_(d, "b");
	mkdir_(d, "c");
	mkfile(d, "f", "x");
	ck_assert_uint_eq(stat_(d).st_nlink, 5);
	ck_assert_int_eq(objfs_rmdir(fs, d, "c"), 0);
	ck_assert_uint_eq(stat_(d).st_nlink, 4);
	ck_assert_int_eq(objfs_rename(fs, d, "b", d, "b2", 0), 0);
	ck_assert_uint_eq(stat_(d).st_nlink, 4);
	ck_assert_int_eq(objfs_rename(fs, d, "b2", ROOT, "b3", 0), 0);
	ck_assert_uint_eq(stat_(d).st_nlink, 3);
	ck_assert_uint_eq(stat_(lookup(d, "a")).st_nlink, 2);
	/* Another daemon on the store knows once it has listed d. */
	ck_assert_int_eq(objfs_new(&o, &again), 0);
	ck_assert_int_eq(objfs_lookup(again, ROOT, "d", &e), 0);
	ck_assert_int_eq(objfs_opendir(again, e.ino, &fh), 0);
	ck_assert_int_eq(objfs_readdir(again, fh, 0, false, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 4);
	collect_free(&c);
	ck_assert_int_eq(objfs_releasedir(again, fh), 0);
	ck_assert_int_eq(objfs_getattr(again, e.ino, &sb), 0);
	ck_assert_uint_eq(sb.st_nlink, 3);
	objfs_free(again);
}

/* In a set-gid directory, new names take its group; directories the bit. */
STORE_TEST(setgid_directory_passes_its_group_on)
{
	struct objfs_setattr sa = { .valid = OBJFS_SET_MODE | OBJFS_SET_GID,
	    .mode = 02775, .gid = 4321 };
	uint64_t d = mkdir_(ROOT, "g"), fh;
	struct objfs_entry e;
	struct stat sb;

	ck_assert_int_eq(objfs_setattr(fs, &ctx, d, 0, &sa, &sb), 0);
	ck_assert_int_eq(objfs_create(fs, &ctx, d, "f", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	ck_assert_uint_eq(e.st.st_gid, 4321);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(objfs_mkdir(fs, &ctx, d, "sub", 0755, &e), 0);
	ck_assert_uint_eq(e.st.st_gid, 4321);
	ck_assert_uint_eq(e.st.st_mode, S_IFDIR | 02755);
	ck_assert_int_eq(objfs_mknod(fs, &ctx, d, "p", S_IFIFO | 0600, 0, &e),
	    0);
	ck_assert_uint_eq(e.st.st_gid, 4321);
	ck_assert_uint_eq(e.st.st_mode, S_IFIFO | 0600);
	/* Read back from the store. */
	objfs_forget(fs, lookup(d, "sub"), 2);
	sb = stat_(lookup(d, "sub"));
	ck_assert_uint_eq(sb.st_gid, 4321);
	ck_assert_uint_eq(sb.st_mode, S_IFDIR | 02755);
	/* Not set-gid: the caller's group. */
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "plain", 0644,
	    O_CREAT | O_WRONLY, &e, &fh), 0);
	ck_assert_uint_eq(e.st.st_gid, ctx.gid);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
}

STORE_TEST(xattrs)
{
	uint64_t ino = mkfile(ROOT, "f", "x");
	char buf[64];
	size_t len;

	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.a", "one", 3, 0), 0);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.b", "", 0, 0), 0);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.a", "x", 1,
	    XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "user.c", "x", 1,
	    XATTR_REPLACE), -ENODATA);
	ck_assert_int_eq(objfs_setxattr(fs, ino, "trusted.a", "x", 1, 0),
	    -EOPNOTSUPP);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.a", buf, 0, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.a", buf, 2, &len),
	    -ERANGE);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.a", buf, sizeof(buf),
	    &len), 0);
	ck_assert_int_eq(memcmp(buf, "one", 3), 0);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "security.selinux", buf,
	    sizeof(buf), &len), -ENODATA);
	ck_assert_int_eq(objfs_listxattr(fs, ino, buf, 0, &len), 0);
	ck_assert_uint_eq(len, 14);
	ck_assert_int_eq(objfs_listxattr(fs, ino, buf, sizeof(buf), &len), 0);
	ck_assert(memmem(buf, len, "user.a\0", 7) != NULL);
	ck_assert(memmem(buf, len, "user.b\0", 7) != NULL);
	ck_assert_int_eq(objfs_removexattr(fs, ino, "user.a"), 0);
	ck_assert_int_eq(objfs_removexattr(fs, ino, "user.a"), -ENODATA);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.a", buf, sizeof(buf),
	    &len), -ENODATA);
	/* They survive a rewrite of the file. */
	uint64_t fh = open_(ino, O_WRONLY | O_TRUNC);
	write_at(fh, 0, "new", 3);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(objfs_getxattr(fs, ino, "user.b", buf, sizeof(buf),
	    &len), 0);
	ck_assert_uint_eq(len, 0);
	/* And on directories. */
	uint64_t d = mkdir_(ROOT, "d");
	ck_assert_int_eq(objfs_setxattr(fs, d, "user.d", "dir", 3, 0), 0);
	ck_assert_int_eq(objfs_getxattr(fs, d, "user.d", buf, sizeof(buf),
	    &len), 0);
	ck_assert_uint_eq(len, 3);
}

STORE_TEST(statfs_reports_space)
{
	struct statvfs sv;

	ck_assert_int_eq(objfs_statfs(fs, &sv), 0);
	ck_assert_uint_gt(sv.f_blocks, 0);
	ck_assert_uint_gt(sv.f_bsize, 0);
	ck_assert_uint_le(sv.f_namemax, 255);
}

STORE_TEST(forget_accounting)
{
	uint64_t ino;
	size_t base = objfs_inode_count(fs);
	struct stat sb;

	mkfile(ROOT, "f", "x");		/* creating counts one lookup */
	ino = lookup(ROOT, "f");
	lookup(ROOT, "f");
	ck_assert_uint_eq(objfs_inode_count(fs), base + 1);
	objfs_forget(fs, ino, 2);
	ck_assert_int_eq(objfs_getattr(fs, ino, &sb), 0);
	objfs_forget(fs, ino, 1);
	ck_assert_uint_eq(objfs_inode_count(fs), base);
	ck_assert_int_eq(objfs_getattr(fs, ino, &sb), -ESTALE);
	/* Over-forgetting and unknown ids are harmless. */
	objfs_forget(fs, ino, 100);
	objfs_forget(fs, ROOT, 100);
	ck_assert_int_eq(objfs_getattr(fs, ROOT, &sb), 0);
	/* A fresh lookup gets a fresh number. */
	ck_assert_uint_ne(lookup(ROOT, "f"), ino);
	/* readdirplus counts a lookup per entry it returns. */
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%02d", i);
		mkfile(ROOT, name, "");
		objfs_forget(fs, lookup(ROOT, name), 2);
	}
	uint64_t fh;
	struct collect c = { .room = 1000 };
	size_t before = objfs_inode_count(fs);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &fh), 0);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, true, collect_cb, &c), 0);
	objfs_releasedir(fs, fh);
	ck_assert_uint_eq(objfs_inode_count(fs), before + 50);
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%02d", i);
		objfs_forget(fs, lookup(ROOT, name), 2);
	}
	ck_assert_uint_eq(objfs_inode_count(fs), before);
	collect_free(&c);
}

STORE_TEST(fallocate_lseek_copy_file_range)
{
	uint64_t src = mkfile(ROOT, "src", "0123456789"), dst, fh, sfh, dfh;
	struct objfs_entry e;
	uint64_t pos;
	size_t copied;

	fh = open_(src, O_RDWR);
	ck_assert_int_eq(objfs_fallocate(fs, fh, 0, 8, 12), 0);
	ck_assert_int_eq(stat_(src).st_size, 20);
	ck_assert_int_eq(objfs_fallocate(fs, fh, FALLOC_FL_PUNCH_HOLE, 0, 4),
	    -EOPNOTSUPP);
	ck_assert_int_eq(objfs_lseek(fs, fh, 3, SEEK_DATA, &pos), 0);
	ck_assert_uint_eq(pos, 3);
	ck_assert_int_eq(objfs_lseek(fs, fh, 3, SEEK_HOLE, &pos), 0);
	ck_assert_uint_eq(pos, 20);
	ck_assert_int_eq(objfs_lseek(fs, fh, 20, SEEK_DATA, &pos), -ENXIO);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	/* Whole object into an empty file: a copy inside the store. */
	ck_assert_int_eq(objfs_create(fs, &ctx, ROOT, "dst", 0600,
	    O_CREAT | O_WRONLY, &e, &dfh), 0);
	dst = e.ino;
	sfh = open_(src, O_RDONLY);
	ck_assert_int_eq(objfs_copy_file_range(fs, sfh, 0, dfh, 0, 1 << 20,
	    &copied), 0);
	ck_assert_uint_eq(copied, 20);
	ck_assert_int_eq(objfs_release(fs, dfh), 0);
	ck_assert_int_eq(memcmp(slurp(dst), "01234567", 8), 0);
	ck_assert_uint_eq(stat_(dst).st_mode, S_IFREG | 0600);
	/* A range into the middle: bytes through the stage. */
	dfh = open_(dst, O_WRONLY);
	ck_assert_int_eq(objfs_copy_file_range(fs, sfh, 2, dfh, 1, 3,
	    &copied), 0);
	ck_assert_uint_eq(copied, 3);
	ck_assert_int_eq(objfs_release(fs, dfh), 0);
	ck_assert_int_eq(memcmp(slurp(dst), "0234456", 7), 0);
	ck_assert_int_eq(objfs_copy_file_range(fs, sfh, 0, sfh, 0, 1,
	    &copied), -EBADF);		/* read-only destination */
	objfs_release(fs, sfh);
}

STORE_TEST(handles_are_checked)
{
	uint64_t ino = mkfile(ROOT, "f", "x"), fh, dfh;
	char buf[8];
	size_t n;
	struct iovec iov = { buf, sizeof(buf) };

	fh = open_(ino, O_RDONLY);
	ck_assert_int_eq(objfs_write(fs, fh, 0, &iov, 1, false, &n), -EBADF);
	ck_assert_int_eq(objfs_opendir(fs, ROOT, &dfh), 0);
	ck_assert_int_eq(objfs_read(fs, dfh, 0, &iov, 1, &n), -EBADF);
	ck_assert_int_eq(objfs_readdir(fs, fh, 0, false, collect_cb,
	    &(struct collect){ 0 }), -EBADF);
	ck_assert_int_eq(objfs_read(fs, 424242, 0, &iov, 1, &n), -EBADF);
	ck_assert_int_eq(objfs_release(fs, fh), 0);
	ck_assert_int_eq(objfs_release(fs, fh), -EBADF);
	ck_assert_int_eq(objfs_read(fs, fh, 0, &iov, 1, &n), -EBADF);
	ck_assert_int_eq(objfs_releasedir(fs, dfh), 0);
	uint64_t ofh;
	unsigned of;
	ck_assert_int_eq(objfs_open(fs, ROOT, O_RDONLY, false, &ofh, &of),
	    -EISDIR);
	ck_assert_int_eq(objfs_opendir(fs, ino, &dfh), -ENOTDIR);
}

STORE_TEST(syncfs_uploads_everything_staged)
{
	uint64_t ino = mkfile(ROOT, "f", "old"), fh;
	struct store_attr a;

	fh = open_(ino, O_WRONLY | O_TRUNC);
	write_at(fh, 0, "new!", 4);
	ck_assert_int_eq(objfs_syncfs(fs), 0);
	ck_assert_int_eq(store_head(st, "f", &a), 0);
	ck_assert_uint_eq(a.size, 4);
	store_attr_clear(&a);
	objfs_release(fs, fh);
}

STORE_TEST(readonly_refuses_changes)
{
	struct objfs_options o = { .store = st, .file_mode = 0644,
	    .dir_mode = 0755, .cache_dir = cachedir, .readonly = true };
	struct objfs *ro;
	struct objfs_entry e;
	uint64_t fh;
	unsigned of;

	mkfile(ROOT, "f", "x");
	ck_assert_int_eq(objfs_new(&o, &ro), 0);
	ck_assert_int_eq(objfs_lookup(ro, ROOT, "f", &e), 0);
	ck_assert_int_eq(objfs_open(ro, e.ino, O_RDONLY, false, &fh, &of), 0);
	ck_assert_int_eq(objfs_release(ro, fh), 0);
	ck_assert_int_eq(objfs_open(ro, e.ino, O_RDWR, false, &fh, &of),
	    -EROFS);
	ck_assert_int_eq(objfs_mkdir(ro, &ctx, ROOT, "d", 0755, &e), -EROFS);
	ck_assert_int_eq(objfs_unlink(ro, ROOT, "f"), -EROFS);
	ck_assert_int_eq(objfs_rename(ro, ROOT, "f", ROOT, "g", 0), -EROFS);
	ck_assert_int_eq(objfs_create(ro, &ctx, ROOT, "n", 0644, O_CREAT,
	    &e, &fh), -EROFS);
	struct statvfs sv;
	ck_assert_int_eq(objfs_statfs(ro, &sv), 0);
	ck_assert(sv.f_flag & ST_RDONLY);
	objfs_free(ro);
}

static Suite *
objfs_suite(void)
{
	Suite *s = suite_create("objfs");
	TCase *tc = tcase_create("semantics");
	/* With an S3 server to talk to, every store test runs on it too. */
	int last = getenv("OBJFSD_TEST_S3_ENDPOINT") != NULL ? 4 : 3;
	int only_s3 = getenv("OBJFSD_TEST_S3_ONLY") != NULL ? 3 : 0;

	/* 0: mem:, 1: fs:, 2: fs: walking paths without openat2 */
	tcase_add_loop_test(tc, create_write_read_at_offsets, only_s3, last);
	tcase_add_loop_test(tc, overwrite_middle_of_existing_object, only_s3, last);
	tcase_add_loop_test(tc, truncate_shrink_extend_and_o_trunc, only_s3, last);
	tcase_add_loop_test(tc, rename_files, only_s3, last);
	tcase_add_loop_test(tc, rename_directories, only_s3, last);
	tcase_add_loop_test(tc, long_keys_up_to_the_store_limit, only_s3,
	    last);
	tcase_add_loop_test(tc, unlink_while_open, only_s3, last);
	tcase_add_loop_test(tc, unlinked_open_file_leaves_its_name_alone,
	    only_s3, last);
	tcase_add_loop_test(tc, unlinked_reader_leaves_its_name_alone,
	    only_s3, last);
	tcase_add_loop_test(tc, mkdir_rmdir, only_s3, last);
	tcase_add_loop_test(tc, names_are_validated, only_s3, last);
	tcase_add_loop_test(tc, readdir_5000_entries_across_calls, only_s3, last);
	tcase_add_loop_test(tc, readdir_rewind_sees_changes, only_s3, last);
	tcase_add_loop_test(tc, store_list_pages_in_key_order, only_s3, last);
	tcase_add_loop_test(tc, truncate_to_zero_then_write_while_open, only_s3,
	    last);
	tcase_add_loop_test(tc, writes_land_where_the_store_keeps_them, only_s3,
	    last);
	tcase_add_loop_test(tc, readdirplus_again_from_an_offset, only_s3,
	    last);
	tcase_add_loop_test(tc, symlink_readlink, only_s3, last);
	tcase_add_loop_test(tc, mknod_types, only_s3, last);
	tcase_add_loop_test(tc, device_nodes_survive_rename_and_restart,
	    only_s3, last);
	tcase_add_loop_test(tc, chmod_chown_utimens, only_s3, last);
	tcase_add_loop_test(tc, directory_times_follow_its_names, only_s3,
	    last);
	tcase_add_loop_test(tc, directory_link_counts, only_s3, last);
	tcase_add_loop_test(tc, setgid_directory_passes_its_group_on, only_s3,
	    last);
	tcase_add_loop_test(tc, write_kills_setuid, only_s3, last);
	tcase_add_loop_test(tc, xattrs, only_s3, last);
	tcase_add_loop_test(tc, statfs_reports_space, only_s3, last);
	tcase_add_loop_test(tc, forget_accounting, only_s3, last);
	tcase_add_loop_test(tc, fallocate_lseek_copy_file_range, only_s3, last);
	tcase_add_loop_test(tc, handles_are_checked, only_s3, last);
	tcase_add_loop_test(tc, syncfs_uploads_everything_staged, only_s3, last);
	tcase_add_loop_test(tc, readonly_refuses_changes, only_s3, last);
	if (!only_s3)
		objfs_add_store_tests(tc);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	if (!only_s3)
		suite_add_tcase(s, objfs_escapes_tcase());
	if (!only_s3)
		suite_add_tcase(s, objfs_fds_tcase());
	if (!only_s3)
		suite_add_tcase(s, objfs_owners_tcase());
	if (!only_s3)
		suite_add_tcase(s, objfs_native_devices_tcase());
	if (!only_s3) {
		suite_add_tcase(s, objfs_journal_tcase());
		suite_add_tcase(s, objfs_stream_tcase());
	}
	suite_add_tcase(s, objfs_listing_tcase(only_s3, last));
	return s;
}

int
main(void)
{
	return check_run(objfs_suite(), "check_objfs", LOG_LEVEL_ERROR);
}
