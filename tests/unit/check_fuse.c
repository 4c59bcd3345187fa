/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FUSE decoder, opcode by opcode, through objfsd over a real socket:
 * the fake frontend lays out each request as a guest kernel would, the
 * reply is read back from the used ring.  Malformed requests sit beside
 * the valid ones; after each test the daemon must be clean.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_common.h"
#include "check_run.h"
#include "fuseclient.h"
#include "monotime.h"

#define ROOT	FUSE_ROOT_ID

static struct tdaemon daemon_;
static struct fc c;
static char share[128];

static void
fuse_warm_up(struct tdaemon *t)
{
	struct fc w;

	ck_assert_int_eq(fc_connect(&w, t->d.sock, 2), 0);
	ck_assert_int_eq(fc_init(&w, NULL), 0);
	ck_assert_int_eq(fc_getattr(&w, ROOT, NULL), 0);
	fc_close(&w);
}

static void
start_daemon(const char *extra)
{
	char store[160];
	const char *args[] = { store, "--log-level=debug", extra, NULL };

	snprintf(share, sizeof(share), "/tmp/objfsd-share.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(share));
	snprintf(store, sizeof(store), "--store=fs:%s", share);
	tdaemon_start(&daemon_, test_binary("OBJFSD", "src/objfsd"), args,
	    fuse_warm_up);
	ck_assert_int_eq(fc_connect(&c, daemon_.d.sock, 2), 0);
}

static void
setup_raw(void)
{
	start_daemon(NULL);
}

static void
setup(void)
{
	start_daemon(NULL);
	ck_assert_int_eq(fc_init(&c, NULL), 0);
}

static void
teardown(void)
{
	char cmd[200];

	fc_close(&c);
	tdaemon_assert_clean(&daemon_);
	tdaemon_stop_ok(&daemon_);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", share);
	ck_assert_int_eq(system(cmd), 0);
}

static void
host_file(const char *name, const char *content)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", share, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
}

static uint64_t
lookup(uint64_t parent, const char *name)
{
	struct fuse_entry_out e;

	ck_assert_int_eq(fc_lookup(&c, parent, name, &e), 0);
	return e.nodeid;
}

/* A created, written and closed file; returns its node id. */
static uint64_t
make_file(const char *name, const char *content)
{
	struct fuse_entry_out e;
	uint64_t fh;
	uint32_t n;

	ck_assert_int_eq(fc_create(&c, ROOT, name, S_IFREG | 0644,
	    O_WRONLY | O_CREAT, &e, &fh), 0);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 0, content,
	    strlen(content), &n), 0);
	ck_assert_uint_eq(n, strlen(content));
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	return e.nodeid;
}

/* INIT and the session */

START_TEST(init_negotiates_protocol_and_flags)
{
	struct fuse_init_out out;
	const uint32_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
	    FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS |
	    FUSE_CACHE_SYMLINKS | FUSE_MAX_PAGES | FUSE_HANDLE_KILLPRIV_V2 |
	    FUSE_AUTO_INVAL_DATA;

	ck_assert_int_eq(fc_init(&c, &out), 0);
	ck_assert_uint_eq(out.major, 7);
	ck_assert_uint_eq(out.minor, FUSE_KERNEL_MINOR_VERSION);
	ck_assert_uint_eq(out.flags & want, want);
	ck_assert_uint_eq(out.flags & FUSE_WRITEBACK_CACHE, 0);
	ck_assert_uint_eq(out.max_write, 1 << 20);
	ck_assert_uint_eq(out.max_pages, 256);
	ck_assert_uint_eq(c.last_used, 16 + sizeof(out));
}
END_TEST

START_TEST(init_version_rules)
{
	struct fuse_init_in in = { .major = 7, .minor = 26, .flags = 0 };
	struct fuse_init_out out;

	ck_assert_int_eq(fc_call(&c, 1, FUSE_INIT, 0, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL), -EPROTO);
	in.major = 8;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_INIT, 0, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(out.major, 7);
	in.major = 7;
	in.minor = 27;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_INIT, 0, &in, sizeof(in), NULL, 0,
	    &out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(out.minor, 27);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_INIT, 0, &in, 8, NULL, 0, &out,
	    sizeof(out), NULL), -EINVAL);
	/* 7.27 kernels send the short struct: accepted. */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_INIT, 0, &in, 16, NULL, 0, &out,
	    sizeof(out), NULL), 0);
}
END_TEST

START_TEST(writeback_only_when_asked)
{
	struct fuse_init_out out;

	fc_close(&c);
	tdaemon_stop_ok(&daemon_);
	start_daemon("--writeback");
	ck_assert_int_eq(fc_init(&c, &out), 0);
	ck_assert(out.flags & FUSE_WRITEBACK_CACHE);
}
END_TEST

/*
 * --readonly: every request that writes is refused before it is decoded
 * (so even garbage arguments get EROFS); reads still work, and OPEN for
 * writing is refused by objfs.
 */
START_TEST(readonly_refuses_every_write)
{
	static const uint32_t writes[] = { FUSE_SETATTR, FUSE_SYMLINK,
	    FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME,
	    FUSE_LINK, FUSE_WRITE, FUSE_SETXATTR, FUSE_REMOVEXATTR,
	    FUSE_CREATE, FUSE_FALLOCATE, FUSE_RENAME2, FUSE_COPY_FILE_RANGE };
	char pad[64] = { 0 };
	uint64_t fh;

	fc_close(&c);
	tdaemon_stop_ok(&daemon_);
	start_daemon("--readonly");
	host_file("kept", "old");
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		ck_assert_int_eq(fc_call(&c, 1, writes[i], ROOT, pad,
		    sizeof(pad), "x", 2, NULL, 0, NULL), -EROFS);
	ck_assert_int_eq(fc_open(&c, lookup(ROOT, "kept"), O_WRONLY, &fh),
	    -EROFS);
	ck_assert_int_eq(fc_open(&c, lookup(ROOT, "kept"), O_RDONLY, &fh), 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
	/* An open handle holds its file open: the session outlives us. */
	ck_assert_int_eq(fc_release(&c, lookup(ROOT, "kept"), fh, false), 0);
}
END_TEST

/*
 * A guest that publishes one request head again and again, always as far
 * ahead of what the daemon has read as the ring allows, and never reads
 * the used ring: the daemon holds at most a ring's worth of requests, so
 * its memory stays flat (it grew by about 150 MB a second before).
 */
START_TEST(republished_head_keeps_memory_bounded)
{
	struct fuse_getattr_in in = { 0 };
	struct ff_queue *fq;
	long before, after;
	int64_t end;
	int head;

	fc_close(&c);
	tdaemon_stop_ok(&daemon_);
	start_daemon("--thread-pool-size=4");
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	before = proc_rss_kb(daemon_.d.pid);
	head = fc_post(&c, 1, FUSE_GETATTR, ROOT, &in, sizeof(in),
	    sizeof(struct fuse_attr_out));
	ck_assert_int_ge(head, 0);
	fq = &c.ff->q[1];
	for (end = monotime_ms() + 3000; monotime_ms() < end;) {
		uint16_t read_to = __atomic_load_n(
		    (uint16_t *)&fq->used->ring[fq->num], __ATOMIC_ACQUIRE);

		while ((uint16_t)(fq->avail_idx - read_to) < fq->num)
			ff_publish(c.ff, 1, (uint16_t)head);
		ck_assert_int_eq(ff_kick(c.ff, 1), 0);
	}
	after = proc_rss_kb(daemon_.d.pid);
	ck_assert_int_gt(before, 0);
	/* AddressSanitizer's quarantine keeps freed memory: plain builds. */
	if (getenv("OBJFSD_SANITIZERS") == NULL)
		ck_assert_msg(after - before < 32 * 1024, "RSS %ld -> %ld KiB",
		    before, after);
	ck_assert(ff_daemon_alive(&daemon_.d));
}
END_TEST

/*
 * The session outlives a vhost-user reconnect (the guest kernel keeps
 * its own), so a new one starts only with INIT after DESTROY.
 */
START_TEST(requests_before_init_fail)
{
	struct fuse_forget_in f = { 1 };

	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_DESTROY, 0, NULL, 0, NULL, 0,
	    NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), -EIO);
	ck_assert_int_eq(fc_send_noreply(&c, 0, FUSE_FORGET, ROOT, &f,
	    sizeof(f)), 0);
	ck_assert_uint_eq(c.last_used, 0);
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
}
END_TEST

START_TEST(destroy_ends_the_session)
{
	make_file("f", "x");
	ck_assert_int_eq(fc_call(&c, 1, FUSE_DESTROY, 0, NULL, 0, NULL, 0,
	    NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), -EIO);
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
	lookup(ROOT, "f");
}
END_TEST

/* Framing and malformed requests */

START_TEST(unknown_opcodes)
{
	static const uint32_t ops[] = { 0, 3000, 9999, FUSE_GETLK, FUSE_SETLK,
	    FUSE_SETLKW, FUSE_BMAP, FUSE_IOCTL, FUSE_POLL, FUSE_NOTIFY_REPLY,
	    FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_TMPFILE, CUSE_INIT };
	char pad[64] = { 0 };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		ck_assert_int_eq(fc_call(&c, 1, ops[i], ROOT, pad, sizeof(pad),
		    NULL, 0, NULL, 0, NULL), -ENOSYS);
}
END_TEST

START_TEST(short_header_is_dropped)
{
	char bytes[20] = { 0 };
	uint32_t used = 99;

	ck_assert_int_eq(fc_raw(&c, 1, bytes, sizeof(bytes), 4096, NULL,
	    &used), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
}
END_TEST

START_TEST(header_length_must_match)
{
	struct {
		struct fuse_in_header	h;
		struct fuse_getattr_in	a;
	} r = { .h = { .opcode = FUSE_GETATTR, .unique = 77, .nodeid = ROOT } };
	struct fuse_out_header oh;
	uint32_t used;

	r.h.len = 1000;		/* more than was sent */
	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 4096, &oh, &used), 0);
	ck_assert_uint_eq(used, sizeof(oh));
	ck_assert_int_eq(oh.error, -EINVAL);
	ck_assert_uint_eq(oh.unique, 77);
	r.h.len = 10;		/* less than its own header */
	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 4096, &oh, &used), 0);
	ck_assert_int_eq(oh.error, -EINVAL);
	r.h.len = sizeof(r.h) + 4;	/* cuts the arguments short */
	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 4096, &oh, &used), 0);
	ck_assert_int_eq(oh.error, -EINVAL);
}
END_TEST

/* Every opcode with two bytes of arguments: an error, never a crash. */
START_TEST(truncated_arguments_for_every_opcode)
{
	for (uint32_t op = 1; op <= FUSE_TMPFILE; op++) {
		char out[4096];
		int rc;

		if (op == FUSE_DESTROY)
			continue;
		if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET ||
		    op == FUSE_INTERRUPT) {
			ck_assert_int_eq(fc_send_noreply(&c, 0, op, ROOT, "xx",
			    2), 0);
			ck_assert_uint_eq(c.last_used, 0);
			continue;
		}
		rc = fc_call(&c, 1, op, ROOT, "xx", 2, NULL, 0, out,
		    sizeof(out), NULL);
		/* STATFS and SYNCFS-like requests need no arguments. */
		ck_assert_msg(rc == -EINVAL || rc == -ENOSYS ||
		    (op == FUSE_STATFS && rc == 0), "opcode %u: %d", op, rc);
	}
	ck_assert(ff_daemon_alive(&daemon_.d));
	ck_assert_int_eq(fc_getattr(&c, ROOT, NULL), 0);
}
END_TEST

START_TEST(names_are_checked)
{
	char longname[300];
	struct fuse_entry_out e;

	ck_assert_int_eq(fc_call(&c, 1, FUSE_LOOKUP, ROOT, NULL, 0, "abc", 3,
	    &e, sizeof(e), NULL), -EINVAL);	/* no NUL */
	memset(longname, 'a', sizeof(longname));
	longname[299] = '\0';
	ck_assert_int_eq(fc_lookup(&c, ROOT, longname, &e), -ENAMETOOLONG);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "a/b", &e), -EINVAL);
	ck_assert_int_eq(fc_lookup(&c, ROOT, ".", &e), -EINVAL);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "..", &e), -EINVAL);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "", &e), -EINVAL);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "missing", &e), -ENOENT);
	/* ... said as a negative entry the kernel keeps for the timeout. */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_LOOKUP, ROOT, NULL, 0, "missing",
	    8, &e, sizeof(e), NULL), 0);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.entry_valid, 1);
	ck_assert_int_eq(fc_lookup(&c, 999999, "x", &e), -ESTALE);
	ck_assert_int_eq(fc_getattr(&c, 999999, NULL), -ESTALE);
}
END_TEST

START_TEST(write_size_must_match_its_data)
{
	struct fuse_entry_out e;
	struct fuse_write_in in;
	struct fuse_write_out out;
	char data[100] = { 0 };
	uint64_t fh;

	ck_assert_int_eq(fc_create(&c, ROOT, "f", S_IFREG | 0644, O_RDWR, &e,
	    &fh), 0);
	in = (struct fuse_write_in){ .fh = fh, .size = 100 };
	ck_assert_int_eq(fc_call(&c, 1, FUSE_WRITE, e.nodeid, &in, sizeof(in),
	    data, 50, &out, sizeof(out), NULL), -EINVAL);
	in.size = 10;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_WRITE, e.nodeid, &in, sizeof(in),
	    data, 50, &out, sizeof(out), NULL), -EINVAL);
	in.size = 50;
	in.offset = (uint64_t)1 << 63;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_WRITE, e.nodeid, &in, sizeof(in),
	    data, 50, &out, sizeof(out), NULL), -EINVAL);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
}
END_TEST

START_TEST(reply_area_too_small)
{
	struct {
		struct fuse_in_header	h;
		struct fuse_getattr_in	a;
	} r = { .h = { .len = sizeof(r), .opcode = FUSE_GETATTR, .unique = 5,
	    .nodeid = ROOT } };
	struct fuse_out_header oh;
	uint32_t used;

	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 20, &oh, &used), 0);
	ck_assert_uint_eq(used, sizeof(oh));
	ck_assert_int_eq(oh.error, -EIO);
	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 8, &oh, &used), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(fc_raw(&c, 1, &r, sizeof(r), 0, &oh, &used), 0);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(read_fills_only_the_room_given)
{
	uint64_t ino, fh;
	char buf[200];
	size_t got;

	host_file("f", "0123456789abcdefghij");
	ino = lookup(ROOT, "f");
	ck_assert_int_eq(fc_open(&c, ino, O_RDONLY, &fh), 0);
	/* Asks for 1 MiB, offers 8 bytes of room. */
	struct fuse_read_in in = { .fh = fh, .offset = 2, .size = 1 << 20 };
	ck_assert_int_eq(fc_call(&c, 1, FUSE_READ, ino, &in, sizeof(in), NULL,
	    0, buf, 8, &got), 0);
	ck_assert_uint_eq(got, 8);
	ck_assert_int_eq(memcmp(buf, "23456789", 8), 0);
	ck_assert_int_eq(fc_read(&c, ino, fh, 18, buf, 100, &got), 0);
	ck_assert_uint_eq(got, 2);
	ck_assert_int_eq(fc_read(&c, ino, fh, 1000, buf, 100, &got), 0);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(fc_read(&c, ino, 4242, 0, buf, 10, &got), -EBADF);
	ck_assert_int_eq(fc_release(&c, ino, fh, false), 0);
	ck_assert_int_eq(fc_release(&c, ino, fh, false), -EBADF);
}
END_TEST

/* Opcodes, one by one */

START_TEST(lookup_and_getattr)
{
	struct fuse_entry_out e;
	struct fuse_attr a;

	host_file("f", "hello");
	ck_assert_int_eq(fc_lookup(&c, ROOT, "f", &e), 0);
	ck_assert_uint_gt(e.nodeid, ROOT);
	ck_assert_uint_eq(e.attr.size, 5);
	ck_assert_uint_eq(e.attr.mode & S_IFMT, S_IFREG);
	ck_assert_uint_eq(e.attr.ino, e.nodeid);
	ck_assert_uint_eq(e.entry_valid, 1);	/* cache=auto */
	ck_assert_int_eq(fc_getattr(&c, e.nodeid, &a), 0);
	ck_assert_uint_eq(a.size, 5);
	ck_assert_int_eq(fc_getattr(&c, ROOT, &a), 0);
	ck_assert_uint_eq(a.mode & S_IFMT, S_IFDIR);
}
END_TEST

START_TEST(setattr_every_field)
{
	uint64_t ino = make_file("f", "0123456789"), fh;
	struct fuse_setattr_in in = {
		.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
		    FATTR_ATIME | FATTR_MTIME,
		.mode = 0600, .uid = 7, .gid = 8, .size = 4,
		.atime = 1500000000, .atimensec = 1, .mtime = 1600000000,
		.mtimensec = 2,
	};
	struct fuse_attr_out out;
	struct stat sb;
	char path[300];

	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETATTR, ino, &in, sizeof(in),
	    NULL, 0, &out, sizeof(out), NULL), 0);
	ck_assert_uint_eq(out.attr.mode, S_IFREG | 0600);
	ck_assert_uint_eq(out.attr.size, 4);
	snprintf(path, sizeof(path), "%s/f", share);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(sb.st_uid, 7);
	ck_assert_uint_eq(sb.st_gid, 8);
	ck_assert_int_eq(sb.st_size, 4);
	ck_assert_int_eq(sb.st_mtim.tv_sec, 1600000000);
	ck_assert_int_eq(sb.st_mtim.tv_nsec, 2);
	ck_assert_int_eq(sb.st_atim.tv_sec, 1500000000);
	/* UTIME_NOW, and a truncate through a handle. */
	ck_assert_int_eq(fc_open(&c, ino, O_RDWR, &fh), 0);
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME | FATTR_MTIME_NOW |
	    FATTR_SIZE | FATTR_FH, .fh = fh, .size = 1 };
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETATTR, ino, &in, sizeof(in),
	    NULL, 0, &out, sizeof(out), NULL), 0);
	ck_assert_uint_gt(out.attr.mtime, 1700000000);
	ck_assert_uint_eq(out.attr.size, 1);
	ck_assert_int_eq(fc_release(&c, ino, fh, false), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 1);
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME,
	    .mtimensec = 1000000000 };
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETATTR, ino, &in, sizeof(in),
	    NULL, 0, &out, sizeof(out), NULL), -EINVAL);
}
END_TEST

START_TEST(symlink_and_readlink)
{
	struct fuse_entry_out e;
	char buf[64], req[64];
	size_t len;

	memcpy(req, "ln\0target/path", 15);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SYMLINK, ROOT, NULL, 0, req, 15,
	    &e, sizeof(e), NULL), 0);
	ck_assert_uint_eq(e.attr.mode & S_IFMT, S_IFLNK);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_READLINK, e.nodeid, NULL, 0, NULL,
	    0, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_int_eq(memcmp(buf, "target/path", 11), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_READLINK, ROOT, NULL, 0, NULL, 0,
	    buf, sizeof(buf), &len), -EINVAL);
	/* The target without its NUL. */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SYMLINK, ROOT, NULL, 0, req, 14,
	    &e, sizeof(e), NULL), -EINVAL);
}
END_TEST

/* Every type, devices too (fs: keeps them as records by default). */
START_TEST(mknod_every_type)
{
	struct fuse_mknod_in in = { .mode = S_IFIFO | 0600 };
	struct fuse_entry_out e;

	ck_assert_int_eq(fc_call(&c, 1, FUSE_MKNOD, ROOT, &in, sizeof(in),
	    "p", 2, &e, sizeof(e), NULL), 0);
	ck_assert_uint_eq(e.attr.mode, S_IFIFO | 0600);
	in.mode = S_IFSOCK | 0600;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_MKNOD, ROOT, &in, sizeof(in),
	    "s", 2, &e, sizeof(e), NULL), 0);
	in.mode = S_IFREG | 0600;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_MKNOD, ROOT, &in, sizeof(in),
	    "r", 2, &e, sizeof(e), NULL), 0);
	in.mode = S_IFCHR | 0600;
	in.rdev = 0x0103;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_MKNOD, ROOT, &in, sizeof(in),
	    "c", 2, &e, sizeof(e), NULL), 0);
	ck_assert_uint_eq(e.attr.mode, S_IFCHR | 0600);
	ck_assert_uint_eq(e.attr.rdev, 0x0103);
	/* The kernel's encoding: minor 300 of major 4 (new_encode_dev). */
	in.mode = S_IFBLK | 0640;
	in.rdev = 0x10042c;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_MKNOD, ROOT, &in, sizeof(in),
	    "b", 2, &e, sizeof(e), NULL), 0);
	ck_assert_uint_eq(e.attr.mode, S_IFBLK | 0640);
	ck_assert_uint_eq(e.attr.rdev, 0x10042c);
}
END_TEST

START_TEST(mkdir_unlink_rmdir)
{
	struct fuse_entry_out e;
	uint64_t d, fh;

	ck_assert_int_eq(fc_mkdir(&c, ROOT, "d", 0750, &e), 0);
	d = e.nodeid;
	ck_assert_uint_eq(e.attr.mode, S_IFDIR | 0750);
	ck_assert_int_eq(fc_mkdir(&c, ROOT, "d", 0750, &e), -EEXIST);
	ck_assert_int_eq(fc_create(&c, d, "f", S_IFREG | 0600, O_WRONLY, &e,
	    &fh), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RMDIR, ROOT, NULL, 0, "d", 2,
	    NULL, 0, NULL), -ENOTEMPTY);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_UNLINK, ROOT, NULL, 0, "d", 2,
	    NULL, 0, NULL), -EISDIR);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_UNLINK, d, NULL, 0, "f", 2, NULL,
	    0, NULL), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RMDIR, ROOT, NULL, 0, "d", 2,
	    NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "d", &e), -ENOENT);
}
END_TEST

START_TEST(rename_and_rename2)
{
	struct fuse_rename_in r = { .newdir = ROOT };
	struct fuse_rename2_in r2 = { .newdir = ROOT };
	struct fuse_entry_out e;

	make_file("a", "A");
	make_file("b", "B");
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RENAME, ROOT, &r, sizeof(r),
	    "a\0c", 4, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "a", &e), -ENOENT);
	r2.flags = RENAME_NOREPLACE;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RENAME2, ROOT, &r2, sizeof(r2),
	    "c\0b", 4, NULL, 0, NULL), -EEXIST);
	r2.flags = RENAME_EXCHANGE;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RENAME2, ROOT, &r2, sizeof(r2),
	    "c\0b", 4, NULL, 0, NULL), -EINVAL);
	r2.flags = 0;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RENAME2, ROOT, &r2, sizeof(r2),
	    "c\0b", 4, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_lookup(&c, ROOT, "b", &e), 0);
	ck_assert_uint_eq(e.attr.size, 1);
	/* Second name missing its NUL. */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_RENAME, ROOT, &r, sizeof(r),
	    "b\0x", 3, NULL, 0, NULL), -EINVAL);
}
END_TEST

START_TEST(link_is_refused)
{
	struct fuse_link_in in = { .oldnodeid = make_file("f", "x") };
	struct fuse_entry_out e;

	ck_assert_int_eq(fc_call(&c, 1, FUSE_LINK, ROOT, &in, sizeof(in), "g",
	    2, &e, sizeof(e), NULL), -EPERM);
}
END_TEST

START_TEST(create_write_read_in_pages)
{
	enum { SIZE = 1 << 20 };
	char *data = malloc(SIZE), *back = malloc(SIZE);
	struct fuse_entry_out e;
	uint64_t fh;
	uint32_t n;
	size_t got;

	for (int i = 0; i < SIZE; i++)
		data[i] = (char)(i * 7 + i / 4096);
	c.pages = true;		/* 4 KiB descriptors, as a guest sends */
	ck_assert_int_eq(fc_create(&c, ROOT, "big", S_IFREG | 0644,
	    O_RDWR | O_CREAT, &e, &fh), 0);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 0, data, SIZE, &n), 0);
	ck_assert_uint_eq(n, SIZE);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, SIZE + 100, "tail", 4,
	    &n), 0);
	ck_assert_int_eq(fc_read(&c, e.nodeid, fh, 0, back, SIZE, &got), 0);
	ck_assert_uint_eq(got, SIZE);
	ck_assert_int_eq(memcmp(data, back, SIZE), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_FLUSH, e.nodeid,
	    &(struct fuse_flush_in){ .fh = fh }, sizeof(struct fuse_flush_in),
	    NULL, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_FSYNC, e.nodeid,
	    &(struct fuse_fsync_in){ .fh = fh }, sizeof(struct fuse_fsync_in),
	    NULL, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	ck_assert_int_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh), 0);
	ck_assert_int_eq(fc_read(&c, e.nodeid, fh, SIZE - 2, back, 200, &got),
	    0);
	ck_assert_uint_eq(got, 106);
	ck_assert_int_eq(memcmp(back + 102, "tail", 4), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	free(data);
	free(back);
}
END_TEST

START_TEST(statfs_fields)
{
	struct fuse_statfs_out out;

	ck_assert_int_eq(fc_call(&c, 1, FUSE_STATFS, ROOT, NULL, 0, NULL, 0,
	    &out, sizeof(out), NULL), 0);
	ck_assert_uint_gt(out.st.blocks, 0);
	ck_assert_uint_gt(out.st.bsize, 0);
	ck_assert_uint_eq(out.st.namelen, 255);
}
END_TEST

START_TEST(xattr_requests)
{
	uint64_t ino = make_file("f", "x");
	struct fuse_setxattr_in s = { .size = 3 };
	struct fuse_getxattr_in g = { .size = 0 };
	struct fuse_getxattr_out go;
	char buf[64], req[64];
	size_t len;

	memcpy(req, "user.k\0val", 10);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETXATTR, ino, &s, 8, req, 10,
	    NULL, 0, NULL), 0);
	memcpy(req, "trusted.k\0val", 13);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETXATTR, ino, &s, 8, req, 13,
	    NULL, 0, NULL), -EOPNOTSUPP);
	s.size = 50;		/* claims more value than was sent */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SETXATTR, ino, &s, 8, req, 13,
	    NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_GETXATTR, ino, &g, sizeof(g),
	    "user.k", 7, &go, sizeof(go), NULL), 0);
	ck_assert_uint_eq(go.size, 3);
	g.size = 2;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_GETXATTR, ino, &g, sizeof(g),
	    "user.k", 7, buf, sizeof(buf), NULL), -ERANGE);
	g.size = 64;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_GETXATTR, ino, &g, sizeof(g),
	    "user.k", 7, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(buf, "val", 3), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_LISTXATTR, ino, &g, sizeof(g),
	    NULL, 0, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq(buf, "user.k");
	ck_assert_int_eq(fc_call(&c, 1, FUSE_REMOVEXATTR, ino, NULL, 0,
	    "user.k", 7, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_GETXATTR, ino, &g, sizeof(g),
	    "user.k", 7, buf, sizeof(buf), NULL), -ENODATA);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_GETXATTR, ino, &g, sizeof(g),
	    "security.capability", 20, buf, sizeof(buf), NULL), -ENODATA);
}
END_TEST

/* Walk a READDIR(PLUS) reply; returns the number of entries. */
static int
parse_dirents(const char *buf, size_t len, bool plus, char names[][32],
    uint64_t *last_off)
{
	int n = 0;

	for (size_t pos = 0; pos < len;) {
		const struct fuse_dirent *de;
		size_t size;

		if (plus) {
			const struct fuse_direntplus *dp = (const void *)(buf +
			    pos);

			de = &dp->dirent;
			size = FUSE_DIRENTPLUS_SIZE(dp);
			if (strcmp(de->name, ".") != 0)
				ck_assert(dp->entry_out.nodeid != 0 ||
				    de->namelen <= 2);
		} else {
			de = (const void *)(buf + pos);
			size = FUSE_DIRENT_SIZE(de);
		}
		ck_assert_uint_le(pos + size, len);
		snprintf(names[n], 32, "%.*s", (int)de->namelen, de->name);
		*last_off = de->off;
		n++;
		pos += size;
	}
	return n;
}

START_TEST(opendir_readdir_readdirplus)
{
	char names[64][32], buf[4096];
	uint64_t fh, off = 0;
	size_t len;
	int total = 0, n;

	for (int i = 0; i < 30; i++) {
		char name[16];

		snprintf(name, sizeof(name), "file%02d", i);
		host_file(name, "x");
	}
	ck_assert_int_eq(fc_opendir(&c, ROOT, &fh), 0);
	/* Small buffers: many calls, resumed at the last offset. */
	do {
		ck_assert_int_eq(fc_readdir(&c, ROOT, fh, off, total % 2, 400,
		    buf, &len), 0);
		n = parse_dirents(buf, len, total % 2, names, &off);
		total += n;
	} while (n > 0);
	ck_assert_int_eq(total, 32);
	/* A buffer too small for even one entry: an empty answer. */
	ck_assert_int_eq(fc_readdir(&c, ROOT, fh, 0, true, 20, buf, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_FSYNCDIR, ROOT,
	    &(struct fuse_fsync_in){ .fh = fh }, sizeof(struct fuse_fsync_in),
	    NULL, 0, NULL, 0, NULL), 0);
	ck_assert_int_eq(fc_readdir(&c, ROOT, 777, 0, false, 400, buf, &len),
	    -EBADF);
	ck_assert_int_eq(fc_release(&c, ROOT, fh, true), 0);
	ck_assert_int_eq(fc_release(&c, ROOT, fh, true), -EBADF);
	ck_assert_int_eq(fc_opendir(&c, lookup(ROOT, "file00"), &fh),
	    -ENOTDIR);
}
END_TEST

START_TEST(access_checks)
{
	struct fuse_access_in in = { .mask = R_OK | W_OK };
	uint64_t ino = make_file("f", "x");

	ck_assert_int_eq(fc_call(&c, 1, FUSE_ACCESS, ino, &in, sizeof(in),
	    NULL, 0, NULL, 0, NULL), 0);
	in.mask = X_OK;		/* root, but no x bit anywhere */
	ck_assert_int_eq(fc_call(&c, 1, FUSE_ACCESS, ino, &in, sizeof(in),
	    NULL, 0, NULL, 0, NULL), -EACCES);
	in.mask = F_OK;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_ACCESS, 31337, &in, sizeof(in),
	    NULL, 0, NULL, 0, NULL), -ESTALE);
}
END_TEST

START_TEST(fallocate_lseek_copy_file_range)
{
	uint64_t src = make_file("src", "0123456789"), sfh, dfh;
	struct fuse_fallocate_in fa = { .offset = 0, .length = 100 };
	struct fuse_lseek_in ls = { .offset = 5, .whence = SEEK_HOLE };
	struct fuse_lseek_out lo;
	struct fuse_entry_out e;
	struct fuse_write_out wo;
	char buf[32];
	size_t got;

	ck_assert_int_eq(fc_open(&c, src, O_RDWR, &sfh), 0);
	fa.fh = sfh;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_FALLOCATE, src, &fa, sizeof(fa),
	    NULL, 0, NULL, 0, NULL), 0);
	fa.mode = FALLOC_FL_KEEP_SIZE;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_FALLOCATE, src, &fa, sizeof(fa),
	    NULL, 0, NULL, 0, NULL), -EOPNOTSUPP);
	ls.fh = sfh;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_LSEEK, src, &ls, sizeof(ls), NULL,
	    0, &lo, sizeof(lo), NULL), 0);
	ck_assert_uint_eq(lo.offset, 100);
	ls.whence = SEEK_DATA;
	ls.offset = 500;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_LSEEK, src, &ls, sizeof(ls), NULL,
	    0, &lo, sizeof(lo), NULL), -ENXIO);
	ck_assert_int_eq(fc_release(&c, src, sfh, false), 0);
	ck_assert_int_eq(fc_open(&c, src, O_RDONLY, &sfh), 0);
	ck_assert_int_eq(fc_create(&c, ROOT, "dst", S_IFREG | 0644, O_WRONLY,
	    &e, &dfh), 0);
	struct fuse_copy_file_range_in cr = { .fh_in = sfh, .nodeid_out =
	    e.nodeid, .fh_out = dfh, .len = 1 << 20 };
	ck_assert_int_eq(fc_call(&c, 1, FUSE_COPY_FILE_RANGE, src, &cr,
	    sizeof(cr), NULL, 0, &wo, sizeof(wo), NULL), 0);
	ck_assert_uint_eq(wo.size, 100);
	cr.flags = 1;
	ck_assert_int_eq(fc_call(&c, 1, FUSE_COPY_FILE_RANGE, src, &cr,
	    sizeof(cr), NULL, 0, &wo, sizeof(wo), NULL), -EINVAL);
	ck_assert_int_eq(fc_release(&c, e.nodeid, dfh, false), 0);
	ck_assert_int_eq(fc_release(&c, src, sfh, false), 0);
	ck_assert_int_eq(fc_open(&c, e.nodeid, O_RDONLY, &dfh), 0);
	ck_assert_int_eq(fc_read(&c, e.nodeid, dfh, 0, buf, sizeof(buf), &got),
	    0);
	ck_assert_int_eq(memcmp(buf, "0123456789", 10), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, dfh, false), 0);
}
END_TEST

START_TEST(interrupt_and_syncfs)
{
	struct fuse_interrupt_in in = { .unique = 12345 };
	struct fuse_syncfs_in s = { 0 };

	ck_assert_int_eq(fc_send_noreply(&c, 0, FUSE_INTERRUPT, 0, &in,
	    sizeof(in)), 0);
	ck_assert_uint_eq(c.last_used, 0);
	ck_assert_int_eq(fc_call(&c, 1, FUSE_SYNCFS, ROOT, &s, sizeof(s), NULL,
	    0, NULL, 0, NULL), 0);
}
END_TEST

START_TEST(forget_and_batch_forget)
{
	struct {
		struct fuse_batch_forget_in	h;
		struct fuse_forget_one		one[2];
	} b = { .h = { .count = 2 } };
	uint64_t a, bb;

	host_file("a", "1");
	host_file("b", "2");
	a = lookup(ROOT, "a");
	lookup(ROOT, "a");
	bb = lookup(ROOT, "b");
	fc_forget(&c, a, 1);
	ck_assert_int_eq(fc_getattr(&c, a, NULL), 0);
	fc_forget(&c, a, 1);
	ck_assert_int_eq(fc_getattr(&c, a, NULL), -ESTALE);
	b.one[0] = (struct fuse_forget_one){ bb, 1 };
	b.one[1] = (struct fuse_forget_one){ 424242, 5 };
	ck_assert_int_eq(fc_send_noreply(&c, 0, FUSE_BATCH_FORGET, 0, &b,
	    sizeof(b)), 0);
	ck_assert_int_eq(fc_getattr(&c, bb, NULL), -ESTALE);
	/* A count the request cannot hold is ignored whole. */
	bb = lookup(ROOT, "b");
	b.h.count = 0x10000000;
	b.one[0].nodeid = bb;
	ck_assert_int_eq(fc_send_noreply(&c, 0, FUSE_BATCH_FORGET, 0, &b,
	    sizeof(b)), 0);
	ck_assert_int_eq(fc_getattr(&c, bb, NULL), 0);
}
END_TEST

/*
 * Under a limit of 256 open files the fs store keeps at most 112 fds of
 * files.  Files unlinked while open keep theirs; once they fill that
 * budget OPEN answers EMFILE (logged once) and the daemon goes on.  The
 * unlinked files still read back, and released they give every fd back
 * (teardown counts them), after which opens work again.
 */
START_TEST(unlinked_open_files_fill_the_fd_budget)
{
	static uint64_t node[256], fh[256];
	char name[32], text[32], buf[32];
	size_t got;
	int n, rc = 0;

	fc_close(&c);
	tdaemon_stop_ok(&daemon_);
	start_daemon("--rlimit-nofile=256");
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	for (n = 0; n < 256; n++) {
		snprintf(name, sizeof(name), "u%03d", n);
		snprintf(text, sizeof(text), "kept %d", n);
		host_file(name, text);
		node[n] = lookup(ROOT, name);
		if ((rc = fc_open(&c, node[n], O_RDWR, &fh[n])) != 0)
			break;
		ck_assert_int_eq(fc_call(&c, 1, FUSE_UNLINK, ROOT, NULL, 0,
		    name, strlen(name) + 1, NULL, 0, NULL), 0);
	}
	/* 256/2 less the directory cache's 256/16: objfsd(8) says so. */
	ck_assert_int_eq(rc, -EMFILE);
	ck_assert_int_eq(n, 112);
	ck_assert(ff_daemon_alive(&daemon_.d));
	ck_assert_int_eq(fc_open(&c, node[n], O_RDONLY, &fh[n]), -EMFILE);
	ck_assert_int_eq(count_in_log(&daemon_.d, "fails with EMFILE"), 1);
	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "kept %d", i);
		ck_assert_int_eq(fc_read(&c, node[i], fh[i], 0, buf,
		    sizeof(buf), &got), 0);
		ck_assert_uint_eq(got, strlen(text));
		ck_assert_int_eq(memcmp(buf, text, got), 0);
	}
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(fc_release(&c, node[i], fh[i], false), 0);
	ck_assert_int_eq(fc_open(&c, node[n], O_RDWR, &fh[n]), 0);
	ck_assert_int_eq(fc_read(&c, node[n], fh[n], 0, buf, sizeof(buf),
	    &got), 0);
	snprintf(text, sizeof(text), "kept %d", n);
	ck_assert_uint_eq(got, strlen(text));
	ck_assert_int_eq(memcmp(buf, text, got), 0);
	ck_assert_int_eq(fc_release(&c, node[n], fh[n], false), 0);
}
END_TEST

START_TEST(sigterm_uploads_staged_data)
{
	struct fuse_entry_out e;
	char path[300], buf[32], old[128];
	uint64_t fh;
	uint32_t n;
	int status, fd;

	ck_assert_int_eq(fc_create(&c, ROOT, "late", S_IFREG | 0644, O_WRONLY,
	    &e, &fh), 0);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 0, "unflushed", 9, &n), 0);
	/* No flush, no release: the guest is still writing. */
	kill(daemon_.d.pid, SIGTERM);
	ck_assert_int_eq(waitpid(daemon_.d.pid, &status, 0), daemon_.d.pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/late", share);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 9);
	ck_assert_int_eq(memcmp(buf, "unflushed", 9), 0);
	close(fd);
	/* A fresh daemon for teardown. */
	fc_close(&c);
	daemon_.d.pid = 0;
	strlcpy(old, share, sizeof(old));
	setup();
	snprintf(path, sizeof(path), "rm -rf '%s'", old);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* QEMU reconnects; the guest's FUSE session and open files carry on. */
START_TEST(session_survives_reconnect)
{
	struct fuse_entry_out e;
	char buf[32];
	uint64_t fh;
	uint32_t n;
	size_t got;

	ck_assert_int_eq(fc_create(&c, ROOT, "f", S_IFREG | 0644, O_RDWR, &e,
	    &fh), 0);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 0, "before", 6, &n), 0);
	fc_close(&c);
	ck_assert_int_eq(fc_connect(&c, daemon_.d.sock, 2), 0);
	/* No INIT: the same session, the same node ids and handles. */
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 6, "+after", 6, &n), 0);
	ck_assert_int_eq(fc_read(&c, e.nodeid, fh, 0, buf, sizeof(buf), &got),
	    0);
	ck_assert_uint_eq(got, 12);
	ck_assert_int_eq(memcmp(buf, "before+after", 12), 0);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	/* A new INIT is a new session: old node ids are gone. */
	ck_assert_int_eq(fc_init(&c, NULL), 0);
	ck_assert_int_eq(fc_getattr(&c, e.nodeid, NULL), -ESTALE);
}
END_TEST

/* One frontend's life: negotiate, a few requests, a listing, go away. */
static void
frontend_cycle(int i)
{
	struct fuse_entry_out e;
	char name[32], buf[16], dir[4096];
	uint64_t fh;
	uint32_t n;
	size_t got;

	ck_assert_int_eq(fc_connect(&c, daemon_.d.sock, 2), 0);
	snprintf(name, sizeof(name), "f%d", i % 10);
	ck_assert_int_eq(fc_create(&c, ROOT, name, S_IFREG | 0644, O_RDWR, &e,
	    &fh), 0);
	ck_assert_int_eq(fc_write(&c, e.nodeid, fh, 0, "cycle", 5, &n), 0);
	ck_assert_int_eq(fc_read(&c, e.nodeid, fh, 0, buf, sizeof(buf), &got),
	    0);
	ck_assert_uint_eq(got, 5);
	ck_assert_int_eq(fc_release(&c, e.nodeid, fh, false), 0);
	ck_assert_int_eq(fc_getattr(&c, e.nodeid, NULL), 0);
	ck_assert_int_eq(fc_opendir(&c, ROOT, &fh), 0);
	ck_assert_int_eq(fc_readdir(&c, ROOT, fh, 0, false, sizeof(dir), dir,
	    &got), 0);
	ck_assert_uint_gt(got, 0);
	ck_assert_int_eq(fc_release(&c, ROOT, fh, true), 0);
	fc_forget(&c, e.nodeid, 1);
	fc_close(&c);
}

/*
 * AddressSanitizer's quarantine holds freed memory, so its RSS grows on
 * its own: the memory check is for plain builds.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED	false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED	false
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED	(getenv("OBJFSD_SANITIZERS") == NULL)
#endif

/*
 * 100 frontends in turn: the serving process ends with the fds it had
 * after the first and, in a plain build, within max(5%, 2 MiB) of the
 * memory it had then.
 */
START_TEST(hundred_frontends_leak_nothing)
{
	long first, end, slack;
	int fds;

	fc_close(&c);
	frontend_cycle(0);
	tdaemon_wait_quiet(&daemon_);
	fds = ff_count_fds(daemon_.d.pid);
	first = proc_rss_kb(daemon_.d.pid);
	for (int i = 1; i < 100; i++)
		frontend_cycle(i);
	tdaemon_wait_quiet(&daemon_);
	end = proc_rss_kb(daemon_.d.pid);
	fprintf(stderr, "hundred_frontends: fds %d -> %d, RSS %ld -> %ld KiB\n",
	    fds, ff_count_fds(daemon_.d.pid), first, end);
	ck_assert_int_eq(ff_count_fds(daemon_.d.pid), fds);
	tdaemon_assert_clean(&daemon_);
	slack = first / 20 > 2048 ? first / 20 : 2048;
	if (RSS_CHECKED)
		ck_assert_msg(end - first <= slack, "RSS %ld -> %ld KiB over "
		    "99 frontends", first, end);
	/* teardown closes c again and checks once more. */
	ck_assert_int_eq(fc_connect(&c, daemon_.d.sock, 2), 0);
}
END_TEST

static Suite *
fuse_suite(void)
{
	Suite *s = suite_create("fuse");
	TCase *tc;

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup_raw, teardown);
	tcase_add_test(tc, init_negotiates_protocol_and_flags);
	tcase_add_test(tc, init_version_rules);
	tcase_add_test(tc, writeback_only_when_asked);
	tcase_add_test(tc, readonly_refuses_every_write);
	tcase_add_test(tc, republished_head_keeps_memory_bounded);
	tcase_add_test(tc, requests_before_init_fail);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, destroy_ends_the_session);
	tcase_add_test(tc, unknown_opcodes);
	tcase_add_test(tc, short_header_is_dropped);
	tcase_add_test(tc, header_length_must_match);
	tcase_add_test(tc, truncated_arguments_for_every_opcode);
	tcase_add_test(tc, names_are_checked);
	tcase_add_test(tc, write_size_must_match_its_data);
	tcase_add_test(tc, reply_area_too_small);
	tcase_add_test(tc, read_fills_only_the_room_given);
	suite_add_tcase(s, tc);

	tc = tcase_create("opcodes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lookup_and_getattr);
	tcase_add_test(tc, setattr_every_field);
	tcase_add_test(tc, symlink_and_readlink);
	tcase_add_test(tc, mknod_every_type);
	tcase_add_test(tc, mkdir_unlink_rmdir);
	tcase_add_test(tc, rename_and_rename2);
	tcase_add_test(tc, link_is_refused);
	tcase_add_test(tc, create_write_read_in_pages);
	tcase_add_test(tc, statfs_fields);
	tcase_add_test(tc, xattr_requests);
	tcase_add_test(tc, opendir_readdir_readdirplus);
	tcase_add_test(tc, access_checks);
	tcase_add_test(tc, fallocate_lseek_copy_file_range);
	tcase_add_test(tc, interrupt_and_syncfs);
	tcase_add_test(tc, forget_and_batch_forget);
	tcase_add_test(tc, unlinked_open_files_fill_the_fd_budget);
	tcase_add_test(tc, sigterm_uploads_staged_data);
	tcase_add_test(tc, session_survives_reconnect);
	tcase_add_test(tc, hundred_frontends_leak_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(fuse_suite(), "check_fuse", LOG_LEVEL_ERROR);
}
