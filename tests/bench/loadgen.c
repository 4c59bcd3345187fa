/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen: FUSE load over vhost-user against any virtio-fs backend socket
 * (objfsd, QEMU's virtiofsd, ...), played by the fake frontend the way a
 * Linux guest lays requests out: header and arguments in one readable
 * descriptor, data in 4 KiB pages, the reply header and its payload in
 * writable descriptors, all through indirect tables.
 *
 * A run keeps `depth` requests in flight on the request queue(s) for a
 * fixed time per workload and prints one line each:
 *
 *	WORKLOAD depth=D ops/s=N MB/s=M
 *
 * The directory served must hold meta/f00000.. (lookup), big/ (readdirplus,
 * or the directory --dir names) and a file named data (randread, seqread);
 * see tests/bench/bench.sh.  --file names another file to read, --size the
 * size of the file seqwrite writes (MiB), and --once makes seqread and
 * seqwrite one pass over the file instead of a timed loop.  With --rss-pid, each line also tells that
 * process's resident size (VmRSS, and RssAnon: without the guest memory it
 * maps) before the workload and, --settle seconds after it ended, after;
 * with --rss-at, also --rss-at seconds into it (rss_at_kb, anon_at_kb).
 * With --cpu-pid, each line also tells the cost to that process and its
 * descendants (tests/bench/proccpu.h) of the measured window, from the
 * first request after setup to the last reply, the finish step and the
 * FORGETs of what the workload looked up included: reqs (every request
 * sent in the window, a FORGET batch one), cpu_ns, vcsw and ivcsw, and
 * cpu_us/req, csw/req and ops/req (operations counted per request: a
 * READDIRPLUS carries many entries).  Setup and the connection stay outside it.
 * --cpu-of=PID prints one such sample of PID's tree and exits.
 * mixed (every opcode, see below) needs nothing in the directory; nor do
 * the one-pass metadata scenarios stat, ls, find, cpr and rmr (see
 * there), which name what they work on with --file, --dir and --count.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fakefront.h"
#include "monotime.h"
#include "proccpu.h"

#define LG_PAGE		4096u
#define LG_IO_MAX	(1u << 20)
#define LG_HDR_SPACE	LG_PAGE		/* header, arguments and a name */
#define LG_MAX_DEPTH	128
#define LG_MAX_BUFS	(2 + 2 * (LG_IO_MAX / LG_PAGE))
#define LG_RING		256
#define LG_FORGET_BATCH	256
#define LG_TIMEOUT_MS	30000

struct lg;

struct lg_slot {
	uint64_t	 in_gpa;	/* LG_HDR_SPACE, then LG_IO_MAX */
	uint64_t	 out_gpa;	/* out header, then LG_IO_MAX */
	unsigned	 q;
	int		 head;		/* -1 when idle */
	int		 phase;
	uint64_t	 unique;
	uint64_t	 nodeid;
	uint64_t	 fh;
	uint64_t	 off;
	size_t		 want;		/* bytes the reply must carry */
	uint32_t	 opcode;	/* of the request in flight */
};

struct workload {
	const char	*name;
	int		(*setup)(struct lg *);
	/* Queue the slot's next request; 0, or 1 when it has none. */
	int		(*next)(struct lg *, struct lg_slot *);
	/* The slot's reply arrived (payload of len bytes); 0 or -errno. */
	int		(*done)(struct lg *, struct lg_slot *, const void *,
			    size_t);
	int		(*finish)(struct lg *);
};

struct lg {
	struct ff	*ff;
	unsigned	 nq;		/* request queues */
	unsigned	 depth;
	double		 seconds;
	uint64_t	 unique;
	uint64_t	 reqs;		/* requests sent, FORGET batches too */
	struct lg_slot	 slot[LG_MAX_DEPTH];
	struct lg_slot	 sync;		/* setup, cleanup and FORGETs */
	int		 head_slot[FF_MAX_QUEUES][LG_RING];
	uint32_t	 max_write;
	bool		 stopping;

	/* The workload's state. */
	uint64_t	 ops, bytes, counter;
	uint64_t	 errors;	/* replies with an error */
	uint64_t	 dir_node;	/* meta/, big/ or the create directory */
	uint64_t	 file_node, file_fh, file_size;
	unsigned	 nfiles;
	unsigned	 count;		/* files of cpr and rmr */
	size_t		 io;
	uint64_t	 rng;
	uint64_t	*forget;
	size_t		 nforget, forget_cap;
	bool		 forget_soon;	/* flush FORGETs every second too */

	const char	*big_dir;	/* readdirplus lists this */
	const char	*file;		/* seqread/randread read this */
	uint64_t	 size;		/* seqwrite's file size */
	bool		 once;		/* seq*: one pass over the file */
	long		 rss_pid;	/* report this process's RSS */
	long		 cpu_pid;	/* and this process tree's CPU */
	unsigned	 rss_at;	/* and at this many seconds in */
	unsigned	 settle;	/* seconds idle before the last RSS */
};

static double
now(void)
{
	return (double)monotime_ns() / 1e9;
}

/* --- Requests --------------------------------------------------------- */

/*
 * Lay out and publish the slot's request: arg (and a NUL-terminated name)
 * after the header, `data` bytes of the slot's data area after that, and
 * room for `reply` bytes of payload.
 */
static int
lg_submit(struct lg *lg, struct lg_slot *s, uint32_t opcode, uint64_t nodeid,
    const void *arg, size_t arglen, const char *name, size_t data,
    size_t reply)
{
	struct ff_buf b[LG_MAX_BUFS];
	size_t namelen = name != NULL ? strlen(name) + 1 : 0;
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + arglen + namelen + data),
		.opcode = opcode, .unique = lg->unique++, .nodeid = nodeid,
		.pid = 1,
	};
	char *p = ff_host(lg->ff, s->in_gpa);
	unsigned n = 0;
	int head;

	memcpy(p, &h, sizeof(h));
	if (arglen > 0)
		memcpy(p + sizeof(h), arg, arglen);
	if (namelen > 0)
		memcpy(p + sizeof(h) + arglen, name, namelen);
	b[n++] = (struct ff_buf){ s->in_gpa,
	    (uint32_t)(sizeof(h) + arglen + namelen), false };
	for (size_t o = 0; o < data; o += LG_PAGE)
		b[n++] = (struct ff_buf){ s->in_gpa + LG_HDR_SPACE + o,
		    LG_PAGE, false };
	if (reply != (size_t)-1) {
		b[n++] = (struct ff_buf){ s->out_gpa,
		    sizeof(struct fuse_out_header), true };
		for (size_t o = 0; o < reply; o += LG_PAGE)
			b[n++] = (struct ff_buf){ s->out_gpa + LG_PAGE + o,
			    (uint32_t)(reply - o < LG_PAGE ? reply - o :
			    LG_PAGE), true };
	}
	if ((head = ff_submit(lg->ff, s->q, b, n, true)) < 0)
		return head;
	s->head = head;
	s->unique = h.unique;
	lg->reqs++;
	s->opcode = opcode;
	return 0;
}

/* Kick unless the backend said (EVENT_IDX) it will look anyway. */
static int
lg_kick(struct lg *lg, unsigned qi, uint16_t old)
{
	struct ff_queue *q = &lg->ff->q[qi];
	uint16_t event;

	if (q->avail_idx == old)
		return 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = __atomic_load_n((uint16_t *)&q->used->ring[q->num],
	    __ATOMIC_ACQUIRE);
	if (!vring_need_event(event, q->avail_idx, old))
		return 0;
	return ff_kick(lg->ff, qi);
}

/* The reply of a completed slot: its error, payload and length. */
static int
lg_reply(struct lg *lg, struct lg_slot *s, uint32_t used, const void **pl,
    size_t *len)
{
	const char *out = ff_host(lg->ff, s->out_gpa);
	struct fuse_out_header oh;

	if (used < sizeof(oh))
		return -EPROTO;
	memcpy(&oh, out, sizeof(oh));
	if (oh.unique != s->unique || oh.len != used)
		return -EPROTO;
	*pl = out + LG_PAGE;
	*len = used - sizeof(oh);
	return oh.error;
}

/*
 * One request on a spare slot, waited for: setup and cleanup steps, and
 * the one-at-a-time scenarios.  `data` bytes of the slot's data area go
 * with it; *outlen (if wanted) gets the reply's payload length.
 */
static int
lg_sync_io(struct lg *lg, uint32_t opcode, uint64_t nodeid, const void *arg,
    size_t arglen, const char *name, size_t data, void *out, size_t outcap,
    size_t *outlen)
{
	struct lg_slot *s = &lg->sync;
	const void *pl;
	size_t len;
	uint16_t id;
	uint32_t used;
	int rc;

	if ((rc = lg_submit(lg, s, opcode, nodeid, arg, arglen, name, data,
	    outcap)) != 0)
		return rc;
	if ((rc = ff_kick(lg->ff, s->q)) != 0 ||
	    (rc = ff_wait_used(lg->ff, s->q, LG_TIMEOUT_MS, &id, &used)) != 0)
		return rc;
	s->head = -1;
	if ((rc = lg_reply(lg, s, used, &pl, &len)) != 0)
		return rc;
	if (out != NULL)
		memcpy(out, pl, len < outcap ? len : outcap);
	if (outlen != NULL)
		*outlen = len < outcap ? len : outcap;
	return 0;
}

static int
lg_sync(struct lg *lg, uint32_t opcode, uint64_t nodeid, const void *arg,
    size_t arglen, const char *name, void *out, size_t outcap)
{
	return lg_sync_io(lg, opcode, nodeid, arg, arglen, name, 0, out,
	    outcap, NULL);
}

static int
lg_lookup(struct lg *lg, uint64_t parent, const char *name, uint64_t *node)
{
	struct fuse_entry_out e;
	int rc;

	if ((rc = lg_sync(lg, FUSE_LOOKUP, parent, NULL, 0, name, &e,
	    sizeof(e))) == 0)
		*node = e.nodeid;
	/* Node id 0: a negative entry, the name is not there. */
	return rc == 0 && e.nodeid == 0 ? -ENOENT : rc;
}

/*
 * FORGETs go on the high-priority queue and take no reply.  The entries
 * before `keep` (the workload's directory and file) stay until the end.
 */
static int
lg_forget_flush(struct lg *lg, size_t keep)
{
	char buf[sizeof(struct fuse_in_header) +
	    sizeof(struct fuse_batch_forget_in) +
	    LG_FORGET_BATCH * sizeof(struct fuse_forget_one)];
	size_t done = keep;

	while (done < lg->nforget) {
		size_t n = lg->nforget - done < LG_FORGET_BATCH ?
		    lg->nforget - done : LG_FORGET_BATCH;
		struct fuse_in_header *h = (void *)buf;
		struct fuse_batch_forget_in *bf = (void *)(h + 1);
		struct fuse_forget_one *one = (void *)(bf + 1);
		uint64_t gpa = lg->sync.in_gpa;
		struct ff_buf b;
		uint16_t id;
		uint32_t used;
		int rc;

		*h = (struct fuse_in_header){ .opcode = FUSE_BATCH_FORGET,
		    .unique = lg->unique++, .pid = 1 };
		*bf = (struct fuse_batch_forget_in){ .count = (uint32_t)n };
		for (size_t i = 0; i < n; i++)
			one[i] = (struct fuse_forget_one){
			    lg->forget[done + i], 1 };
		h->len = (uint32_t)(sizeof(*h) + sizeof(*bf) +
		    n * sizeof(*one));
		memcpy(ff_host(lg->ff, gpa), buf, h->len);
		b = (struct ff_buf){ gpa, h->len, false };
		if ((rc = ff_submit(lg->ff, 0, &b, 1, false)) < 0 ||
		    (rc = ff_kick(lg->ff, 0)) != 0 ||
		    (rc = ff_wait_used(lg->ff, 0, LG_TIMEOUT_MS, &id,
		    &used)) != 0)
			return rc;
		lg->reqs++;
		done += n;
	}
	lg->nforget = keep;
	return 0;
}

/* Append node to a growable array *v of *n ids (room for *cap). */
static int
nodes_push(uint64_t **v, size_t *n, size_t *cap, size_t first_cap,
    uint64_t node)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : first_cap;
		uint64_t *nv = reallocarray(*v, c, sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = node;
	return 0;
}

static int
lg_forget_later(struct lg *lg, uint64_t node)
{
	return nodes_push(&lg->forget, &lg->nforget, &lg->forget_cap, 4096,
	    node);
}

/* --- Workloads -------------------------------------------------------- */

static int
meta_setup(struct lg *lg)
{
	struct fuse_entry_out e;
	char name[32];
	int rc;

	if ((rc = lg_lookup(lg, FUSE_ROOT_ID, "meta", &lg->dir_node)) != 0 ||
	    (rc = lg_forget_later(lg, lg->dir_node)) != 0)
		return rc;
	for (lg->nfiles = 0; lg->nfiles < 100000; lg->nfiles++) {
		snprintf(name, sizeof(name), "f%05u", lg->nfiles);
		if (lg_sync(lg, FUSE_LOOKUP, lg->dir_node, NULL, 0, name, &e,
		    sizeof(e)) != 0 || e.nodeid == 0)
			break;
		if ((rc = lg_forget_later(lg, e.nodeid)) != 0)
			return rc;
	}
	return lg->nfiles > 0 ? 0 : -ENOENT;
}

static int
lookup_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_getattr_in ga = { 0 };
	char name[32];

	if (s->phase == 0) {
		snprintf(name, sizeof(name), "f%05u",
		    (unsigned)(lg->counter++ % lg->nfiles));
		return lg_submit(lg, s, FUSE_LOOKUP, lg->dir_node, NULL, 0,
		    name, 0, sizeof(struct fuse_entry_out));
	}
	return lg_submit(lg, s, FUSE_GETATTR, s->nodeid, &ga, sizeof(ga),
	    NULL, 0, sizeof(struct fuse_attr_out));
}

static int
lookup_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_entry_out *e = pl;

	lg->ops++;
	if (s->phase == 1) {
		s->phase = 0;
		return 0;
	}
	if (len < sizeof(*e))
		return -EPROTO;
	s->nodeid = e->nodeid;
	s->phase = 1;
	return lg_forget_later(lg, e->nodeid);
}

static int
create_setup(struct lg *lg)
{
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_entry_out e;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "create-%ld-%ld", (long)getpid(),
	    (long)time(NULL));
	if ((rc = lg_sync(lg, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), name,
	    &e, sizeof(e))) != 0)
		return rc;
	lg->dir_node = e.nodeid;
	return lg_forget_later(lg, e.nodeid);
}

static int
create_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_create_in c = { .flags = O_WRONLY | O_CREAT | O_EXCL,
	    .mode = 0100644, .umask = 022 };
	struct fuse_release_in r = { .fh = s->fh, .flags = O_WRONLY };
	char name[32];

	if (s->phase == 0) {
		snprintf(name, sizeof(name), "c%08" PRIu64, lg->counter++);
		return lg_submit(lg, s, FUSE_CREATE, lg->dir_node, &c,
		    sizeof(c), name, 0, sizeof(struct fuse_entry_out) +
		    sizeof(struct fuse_open_out));
	}
	return lg_submit(lg, s, FUSE_RELEASE, s->nodeid, &r, sizeof(r), NULL,
	    0, 0);
}

static int
create_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_entry_out *e = pl;
	const struct fuse_open_out *o = (const void *)(e + 1);

	lg->ops++;
	if (s->phase == 1) {
		s->phase = 0;
		return 0;
	}
	if (len < sizeof(*e) + sizeof(*o))
		return -EPROTO;
	s->nodeid = e->nodeid;
	s->fh = o->fh;
	s->phase = 1;
	return lg_forget_later(lg, e->nodeid);
}

static int
big_setup(struct lg *lg)
{
	int rc;

	if ((rc = lg_lookup(lg, FUSE_ROOT_ID, lg->big_dir, &lg->dir_node)) != 0)
		return rc;
	return lg_forget_later(lg, lg->dir_node);
}

/* Per slot: OPENDIR, READDIRPLUS until empty, RELEASEDIR. */
static int
rdplus_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_open_in o = { .flags = O_RDONLY | O_DIRECTORY };
	struct fuse_read_in r = { .fh = s->fh, .offset = s->off,
	    .size = LG_PAGE };
	struct fuse_release_in rel = { .fh = s->fh };

	switch (s->phase) {
	case 0:
		return lg_submit(lg, s, FUSE_OPENDIR, lg->dir_node, &o,
		    sizeof(o), NULL, 0, sizeof(struct fuse_open_out));
	case 1:
		return lg_submit(lg, s, FUSE_READDIRPLUS, lg->dir_node, &r,
		    sizeof(r), NULL, 0, LG_PAGE);
	default:
		return lg_submit(lg, s, FUSE_RELEASEDIR, lg->dir_node, &rel,
		    sizeof(rel), NULL, 0, 0);
	}
}

/*
 * The next entry of a READDIRPLUS reply into *dp, stepping *p and *len
 * past it: 1, 0 at the end, -EPROTO for an entry cut short.
 */
static int
lg_direntplus_next(const char **p, size_t *len,
    const struct fuse_direntplus **dp)
{
	const struct fuse_direntplus *d = (const void *)*p;
	size_t sz;

	if (*len < FUSE_NAME_OFFSET_DIRENTPLUS)
		return 0;
	if ((sz = FUSE_DIRENTPLUS_SIZE(d)) > *len)
		return -EPROTO;
	*dp = d;
	*p += sz;
	*len -= sz;
	return 1;
}

static bool
lg_is_dot(const struct fuse_direntplus *d)
{
	return (d->dirent.namelen == 1 && d->dirent.name[0] == '.') ||
	    (d->dirent.namelen == 2 && memcmp(d->dirent.name, "..", 2) == 0);
}

static int
rdplus_entries(struct lg *lg, struct lg_slot *s, const char *p, size_t len)
{
	const struct fuse_direntplus *d;
	int rc;

	while ((rc = lg_direntplus_next(&p, &len, &d)) == 1) {
		s->off = d->dirent.off;
		if (lg_is_dot(d))
			continue;
		lg->ops++;
		if (d->entry_out.nodeid != 0 &&
		    lg_forget_later(lg, d->entry_out.nodeid) != 0)
			return -ENOMEM;
	}
	return rc;
}

static int
rdplus_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_open_out *o = pl;

	switch (s->phase) {
	case 0:
		if (len < sizeof(*o))
			return -EPROTO;
		s->fh = o->fh;
		s->off = 0;
		s->phase = 1;
		return 0;
	case 1:
		if (len == 0)
			s->phase = 2;
		return rdplus_entries(lg, s, pl, len);
	default:
		s->phase = 0;
		return 0;
	}
}

static int
open_data(struct lg *lg)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_attr_out a;
	struct fuse_open_in o = { .flags = O_RDONLY };
	struct fuse_open_out oo;
	int rc;

	if ((rc = lg_lookup(lg, FUSE_ROOT_ID, lg->file, &lg->file_node)) != 0 ||
	    (rc = lg_forget_later(lg, lg->file_node)) != 0 ||
	    (rc = lg_sync(lg, FUSE_GETATTR, lg->file_node, &ga, sizeof(ga),
	    NULL, &a, sizeof(a))) != 0 ||
	    (rc = lg_sync(lg, FUSE_OPEN, lg->file_node, &o, sizeof(o), NULL,
	    &oo, sizeof(oo))) != 0)
		return rc;
	lg->file_fh = oo.fh;
	lg->file_size = a.attr.size & ~(uint64_t)(LG_IO_MAX - 1);
	return lg->file_size > 0 ? 0 : -ENOSPC;
}

static int
close_file(struct lg *lg, bool flush)
{
	struct fuse_flush_in f = { .fh = lg->file_fh };
	struct fuse_release_in r = { .fh = lg->file_fh };
	int rc = 0;

	if (flush)
		rc = lg_sync(lg, FUSE_FLUSH, lg->file_node, &f, sizeof(f),
		    NULL, NULL, 0);
	if (rc == 0)
		rc = lg_sync(lg, FUSE_RELEASE, lg->file_node, &r, sizeof(r),
		    NULL, NULL, 0);
	return rc;
}

static int
close_data(struct lg *lg)
{
	return close_file(lg, false);
}

static int
randread_setup(struct lg *lg)
{
	lg->io = LG_PAGE;
	return open_data(lg);
}

static int
seqread_setup(struct lg *lg)
{
	lg->io = LG_IO_MAX;
	return open_data(lg);
}

static uint64_t
lg_random(struct lg *lg)
{
	lg->rng ^= lg->rng << 13;
	lg->rng ^= lg->rng >> 7;
	lg->rng ^= lg->rng << 17;
	return lg->rng;
}

static int
read_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_read_in r = { .fh = lg->file_fh, .size = (uint32_t)lg->io };

	if (lg->once && lg->counter * lg->io >= lg->file_size)
		return 1;

	if (lg->io == LG_PAGE)
		r.offset = lg_random(lg) % (lg->file_size / LG_PAGE) * LG_PAGE;
	else
		r.offset = lg->counter++ * lg->io % lg->file_size;
	s->want = lg->io;
	s->off = r.offset;
	return lg_submit(lg, s, FUSE_READ, lg->file_node, &r, sizeof(r), NULL,
	    0, lg->io);
}

static int
read_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	(void)pl;
	if (len != s->want) {
		fprintf(stderr, "loadgen: READ at %" PRIu64 ": %zu bytes, not "
		    "%zu\n", s->off, len, s->want);
		return -EIO;
	}
	lg->ops++;
	lg->bytes += len;
	return 0;
}

static int
seqwrite_setup(struct lg *lg)
{
	struct fuse_create_in c = { .flags = O_WRONLY | O_CREAT | O_TRUNC,
	    .mode = 0100644, .umask = 022 };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	char name[64];
	int rc;

	if (lg->max_write < LG_IO_MAX)
		fprintf(stderr, "loadgen: max_write %u: writes of that size\n",
		    lg->max_write);
	lg->io = lg->max_write < LG_IO_MAX ? lg->max_write : LG_IO_MAX;
	snprintf(name, sizeof(name), "write-%ld", (long)getpid());
	if ((rc = lg_sync(lg, FUSE_CREATE, FUSE_ROOT_ID, &c, sizeof(c), name,
	    &out, sizeof(out))) != 0)
		return rc;
	lg->file_node = out.e.nodeid;
	lg->file_fh = out.o.fh;
	for (unsigned i = 0; i < lg->depth; i++)
		memset(ff_host(lg->ff, lg->slot[i].in_gpa + LG_HDR_SPACE),
		    'a' + i % 26, LG_IO_MAX);
	return lg_forget_later(lg, lg->file_node);
}

static int
write_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_write_in w = { .fh = lg->file_fh,
	    .offset = lg->counter * lg->io % lg->file_size,
	    .size = (uint32_t)lg->io };

	if (lg->once && lg->counter * lg->io >= lg->file_size)
		return 1;
	lg->counter++;

	s->want = lg->io;
	return lg_submit(lg, s, FUSE_WRITE, lg->file_node, &w, sizeof(w),
	    NULL, lg->io, sizeof(struct fuse_write_out));
}

static int
write_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_write_out *w = pl;

	if (len < sizeof(*w) || w->size != s->want)
		return -EIO;
	lg->ops++;
	lg->bytes += w->size;
	return 0;
}

/* Closing counts: that is when an object store's upload happens. */
static int
seqwrite_finish(struct lg *lg)
{
	return close_file(lg, true);
}

/*
 * openmany: 10,000 files held open at once, as a guest holding that many
 * open would.  Each step goes over every file before the next begins:
 * CREATE and WRITE one page each, READ it back through the same handle
 * and RELEASE; then OPEN each for reading, READ and RELEASE.  A reply
 * with an error (EMFILE) or a wrong byte fails the run.  The slots stay
 * in phase 1, an operation under way, so it runs to the end whatever
 * --seconds says.
 */
#define MANY_FILES	10000

enum {
	MANY_CREATE, MANY_WRITE, MANY_READ, MANY_RELEASE,
	MANY_OPEN, MANY_REREAD, MANY_CLOSE, MANY_DONE,
};

static struct {
	unsigned	 step;
	unsigned	 next;		/* file the step does next */
	unsigned	 pending;	/* requests of the step in flight */
	uint64_t	 node[MANY_FILES];
	uint64_t	 fh[MANY_FILES];
} many;

static uint8_t
many_byte(unsigned file, size_t k)
{
	return (uint8_t)(file * 7 + k);
}

static int
many_setup(struct lg *lg)
{
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_entry_out e;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "many-%ld-%ld", (long)getpid(),
	    (long)time(NULL));
	if ((rc = lg_sync(lg, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), name,
	    &e, sizeof(e))) != 0)
		return rc;
	lg->dir_node = e.nodeid;
	memset(&many, 0, sizeof(many));
	for (unsigned i = 0; i < lg->depth; i++)
		lg->slot[i].phase = 1;
	return lg_forget_later(lg, e.nodeid);
}

static int
many_submit(struct lg *lg, struct lg_slot *s, unsigned i)
{
	struct fuse_create_in c = { .flags = O_RDWR | O_CREAT | O_EXCL,
	    .mode = 0100644, .umask = 022 };
	struct fuse_write_in w = { .fh = many.fh[i], .size = LG_PAGE };
	struct fuse_read_in r = { .fh = many.fh[i], .size = LG_PAGE };
	struct fuse_release_in rel = { .fh = many.fh[i] };
	struct fuse_open_in o = { .flags = O_RDONLY };
	uint8_t *data = ff_host(lg->ff, s->in_gpa + LG_HDR_SPACE);
	char name[32];

	switch (many.step) {
	case MANY_CREATE:
		snprintf(name, sizeof(name), "m%05u", i);
		return lg_submit(lg, s, FUSE_CREATE, lg->dir_node, &c,
		    sizeof(c), name, 0, sizeof(struct fuse_entry_out) +
		    sizeof(struct fuse_open_out));
	case MANY_WRITE:
		for (size_t k = 0; k < LG_PAGE; k++)
			data[k] = many_byte(i, k);
		return lg_submit(lg, s, FUSE_WRITE, many.node[i], &w,
		    sizeof(w), NULL, LG_PAGE, sizeof(struct fuse_write_out));
	case MANY_READ:
	case MANY_REREAD:
		return lg_submit(lg, s, FUSE_READ, many.node[i], &r, sizeof(r),
		    NULL, 0, LG_PAGE);
	case MANY_OPEN:
		return lg_submit(lg, s, FUSE_OPEN, many.node[i], &o, sizeof(o),
		    NULL, 0, sizeof(struct fuse_open_out));
	default:
		return lg_submit(lg, s, FUSE_RELEASE, many.node[i], &rel,
		    sizeof(rel), NULL, 0, 0);
	}
}

static int
many_next(struct lg *lg, struct lg_slot *s)
{
	if (many.next == MANY_FILES && many.pending == 0 &&
	    many.step < MANY_DONE) {
		many.step++;
		many.next = 0;
	}
	if (many.step == MANY_DONE || many.next == MANY_FILES)
		return 1;
	s->off = many.next++;
	many.pending++;
	return many_submit(lg, s, (unsigned)s->off);
}

static int
many_check(unsigned i, const uint8_t *p, size_t len)
{
	if (len != LG_PAGE) {
		fprintf(stderr, "loadgen: openmany: file %u: %zu bytes\n", i,
		    len);
		return -EIO;
	}
	for (size_t k = 0; k < len; k++)
		if (p[k] != many_byte(i, k)) {
			fprintf(stderr, "loadgen: openmany: file %u: wrong "
			    "byte at %zu\n", i, k);
			return -EIO;
		}
	return 0;
}

static int
many_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_entry_out *e = pl;
	const struct fuse_open_out *o;
	const struct fuse_write_out *w = pl;
	unsigned i = (unsigned)s->off;

	many.pending--;
	lg->ops++;
	switch (many.step) {
	case MANY_CREATE:
		if (len < sizeof(*e) + sizeof(*o))
			return -EPROTO;
		o = (const void *)(e + 1);
		many.node[i] = e->nodeid;
		many.fh[i] = o->fh;
		return 0;
	case MANY_WRITE:
		lg->bytes += LG_PAGE;
		return len < sizeof(*w) || w->size != LG_PAGE ? -EIO : 0;
	case MANY_READ:
	case MANY_REREAD:
		lg->bytes += len;
		return many_check(i, pl, len);
	case MANY_OPEN:
		if (len < sizeof(*o))
			return -EPROTO;
		many.fh[i] = ((const struct fuse_open_out *)pl)->fh;
		return 0;
	default:
		return 0;
	}
}

/* The nodes are forgotten only now: the second OPEN needs them. */
static int
many_finish(struct lg *lg)
{
	int rc = 0;

	if (many.step != MANY_DONE) {
		fprintf(stderr, "loadgen: openmany stopped at step %u\n",
		    many.step);
		return -EIO;
	}
	for (unsigned i = 0; i < MANY_FILES && rc == 0; i++)
		rc = lg_forget_later(lg, many.node[i]);
	return rc;
}

/*
 * mixed: every kind of request objfs serves, on a bounded working set.
 * Each slot owns the names f<slot>, g<slot> and d<slot> in one directory
 * (and s<slot>, a symlink) and goes round the same cycle on them:
 * CREATE, WRITE, SETXATTR, GETXATTR, LISTXATTR, FLUSH, FSYNC, READ,
 * SETATTR (mode and size), GETATTR, ACCESS, RELEASE, LOOKUP, RENAME to
 * g, OPEN, REMOVEXATTR, UNLINK while open, READ and WRITE through the
 * unlinked file, SETATTR on it, RELEASE, MKDIR, SYMLINK, READLINK,
 * UNLINK of the link, OPENDIR of the shared directory, READDIRPLUS,
 * RELEASEDIR, RMDIR, STATFS, and again.  Any reply with an error, or
 * a reply that says other than what was done, fails the run.
 */
#define MIX_IO		(64u * 1024)
#define MIX_TRUNC	4096u

enum {
	MIX_CREATE, MIX_WRITE, MIX_SETXATTR, MIX_GETXATTR, MIX_LISTXATTR,
	MIX_FLUSH, MIX_FSYNC, MIX_READ, MIX_SETATTR, MIX_GETATTR, MIX_ACCESS,
	MIX_RELEASE, MIX_LOOKUP, MIX_RENAME, MIX_OPEN, MIX_REMOVEXATTR,
	MIX_UNLINK, MIX_READ_GONE, MIX_WRITE_GONE, MIX_SETATTR_GONE,
	MIX_RELEASE_GONE, MIX_MKDIR, MIX_SYMLINK, MIX_READLINK,
	MIX_UNLINK_LINK, MIX_OPENDIR, MIX_READDIRPLUS, MIX_RELEASEDIR,
	MIX_RMDIR, MIX_STATFS, MIX_STEPS
};

#define MIX_XATTR	"user.loadgen"

static int
mixed_setup(struct lg *lg)
{
	int rc;

	if ((rc = create_setup(lg)) != 0)
		return rc;
	for (unsigned i = 0; i < lg->depth; i++)
		memset(ff_host(lg->ff, lg->slot[i].in_gpa + LG_HDR_SPACE),
		    'A' + i % 26, MIX_IO);
	/*
	 * A kernel forgets an unlinked file soon after its last close; held
	 * for 8,192 forgets on a slow store, they would pile up for minutes.
	 */
	lg->forget_soon = true;
	return 0;
}

/* Arguments followed by one or two NUL-terminated strings. */
static size_t
mix_args(char *buf, const void *arg, size_t arglen, const char *a,
    const char *b)
{
	size_t n = arglen;

	if (arglen > 0)
		memcpy(buf, arg, arglen);
	n += (size_t)sprintf(buf + n, "%s", a) + 1;
	if (b != NULL)
		n += (size_t)sprintf(buf + n, "%s", b) + 1;
	return n;
}

/* The requests that act on the slot's open file. */
static int
mixed_file_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_write_in w = { .fh = s->fh, .size = MIX_IO };
	struct fuse_read_in r = { .fh = s->fh, .size = MIX_IO };
	struct fuse_flush_in f = { .fh = s->fh };
	struct fuse_fsync_in fs = { .fh = s->fh };
	struct fuse_release_in rel = { .fh = s->fh };
	struct fuse_setattr_in sa = { .valid = FATTR_FH | FATTR_MODE |
	    FATTR_SIZE, .fh = s->fh, .size = MIX_TRUNC, .mode = 0100600 };

	switch (s->phase) {
	case MIX_WRITE:
	case MIX_WRITE_GONE:
		s->want = MIX_IO;
		return lg_submit(lg, s, FUSE_WRITE, s->nodeid, &w, sizeof(w),
		    NULL, MIX_IO, sizeof(struct fuse_write_out));
	case MIX_FLUSH:
		return lg_submit(lg, s, FUSE_FLUSH, s->nodeid, &f, sizeof(f),
		    NULL, 0, 0);
	case MIX_FSYNC:
		return lg_submit(lg, s, FUSE_FSYNC, s->nodeid, &fs,
		    sizeof(fs), NULL, 0, 0);
	case MIX_READ:
		s->want = MIX_IO;
		return lg_submit(lg, s, FUSE_READ, s->nodeid, &r, sizeof(r),
		    NULL, 0, MIX_IO);
	case MIX_READ_GONE:
		s->want = MIX_TRUNC;
		return lg_submit(lg, s, FUSE_READ, s->nodeid, &r, sizeof(r),
		    NULL, 0, MIX_IO);
	case MIX_SETATTR:
	case MIX_SETATTR_GONE:
		return lg_submit(lg, s, FUSE_SETATTR, s->nodeid, &sa,
		    sizeof(sa), NULL, 0, sizeof(struct fuse_attr_out));
	default:
		return lg_submit(lg, s, FUSE_RELEASE, s->nodeid, &rel,
		    sizeof(rel), NULL, 0, 0);
	}
}

static int
mixed_xattr_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_setxattr_in sx = { .size = 8 };
	struct fuse_getxattr_in gx = { .size = 256 };
	char buf[256];
	size_t n;

	switch (s->phase) {
	case MIX_SETXATTR:
		n = mix_args(buf, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE, MIX_XATTR,
		    NULL);
		memcpy(buf + n, "12345678", 8);
		return lg_submit(lg, s, FUSE_SETXATTR, s->nodeid, buf, n + 8,
		    NULL, 0, 0);
	case MIX_GETXATTR:
		n = mix_args(buf, &gx, sizeof(gx), MIX_XATTR, NULL);
		s->want = 8;
		return lg_submit(lg, s, FUSE_GETXATTR, s->nodeid, buf, n, NULL,
		    0, 256);
	case MIX_LISTXATTR:
		return lg_submit(lg, s, FUSE_LISTXATTR, s->nodeid, &gx,
		    sizeof(gx), NULL, 0, 256);
	default:
		return lg_submit(lg, s, FUSE_REMOVEXATTR, s->nodeid, MIX_XATTR,
		    sizeof(MIX_XATTR), NULL, 0, 0);
	}
}

static int
mixed_name_next(struct lg *lg, struct lg_slot *s, unsigned slot)
{
	struct fuse_create_in c = { .flags = O_RDWR | O_CREAT | O_TRUNC,
	    .mode = 0100644, .umask = 022 };
	struct fuse_rename_in rn = { .newdir = lg->dir_node };
	struct fuse_mkdir_in mk = { .mode = 040755, .umask = 022 };
	struct fuse_open_in o = { .flags = O_RDWR };
	char f[32], g[32], d[32], l[32], buf[128];
	size_t n;

	snprintf(l, sizeof(l), "s%03u", slot);
	snprintf(f, sizeof(f), "f%03u", slot);
	snprintf(g, sizeof(g), "g%03u", slot);
	snprintf(d, sizeof(d), "d%03u", slot);
	switch (s->phase) {
	case MIX_CREATE:
		return lg_submit(lg, s, FUSE_CREATE, lg->dir_node, &c,
		    sizeof(c), f, 0, sizeof(struct fuse_entry_out) +
		    sizeof(struct fuse_open_out));
	case MIX_LOOKUP:
		return lg_submit(lg, s, FUSE_LOOKUP, lg->dir_node, NULL, 0, f,
		    0, sizeof(struct fuse_entry_out));
	case MIX_RENAME:
		n = mix_args(buf, &rn, sizeof(rn), f, g);
		return lg_submit(lg, s, FUSE_RENAME, lg->dir_node, buf, n,
		    NULL, 0, 0);
	case MIX_OPEN:
		return lg_submit(lg, s, FUSE_OPEN, s->nodeid, &o, sizeof(o),
		    NULL, 0, sizeof(struct fuse_open_out));
	case MIX_UNLINK:
		return lg_submit(lg, s, FUSE_UNLINK, lg->dir_node, NULL, 0, g,
		    0, 0);
	case MIX_MKDIR:
		return lg_submit(lg, s, FUSE_MKDIR, lg->dir_node, &mk,
		    sizeof(mk), d, 0, sizeof(struct fuse_entry_out));
	case MIX_SYMLINK:
		/* The name, then the target. */
		n = mix_args(buf, NULL, 0, l, g);
		return lg_submit(lg, s, FUSE_SYMLINK, lg->dir_node, buf, n,
		    NULL, 0, sizeof(struct fuse_entry_out));
	case MIX_UNLINK_LINK:
		return lg_submit(lg, s, FUSE_UNLINK, lg->dir_node, NULL, 0, l,
		    0, 0);
	default:
		return lg_submit(lg, s, FUSE_RMDIR, lg->dir_node, NULL, 0, d,
		    0, 0);
	}
}

static int
mixed_dir_next(struct lg *lg, struct lg_slot *s)
{
	struct fuse_open_in o = { .flags = O_RDONLY | O_DIRECTORY };
	struct fuse_read_in r = { .fh = s->fh, .size = LG_PAGE };
	struct fuse_release_in rel = { .fh = s->fh };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_access_in ac = { .mask = R_OK | W_OK };

	switch (s->phase) {
	case MIX_GETATTR:
		return lg_submit(lg, s, FUSE_GETATTR, s->nodeid, &ga,
		    sizeof(ga), NULL, 0, sizeof(struct fuse_attr_out));
	case MIX_ACCESS:
		return lg_submit(lg, s, FUSE_ACCESS, s->nodeid, &ac,
		    sizeof(ac), NULL, 0, 0);
	case MIX_READLINK:
		s->want = 4;	/* "g%03u" */
		return lg_submit(lg, s, FUSE_READLINK, s->off, NULL, 0, NULL,
		    0, 256);
	case MIX_OPENDIR:
		return lg_submit(lg, s, FUSE_OPENDIR, lg->dir_node, &o,
		    sizeof(o), NULL, 0, sizeof(struct fuse_open_out));
	case MIX_READDIRPLUS:
		return lg_submit(lg, s, FUSE_READDIRPLUS, lg->dir_node, &r,
		    sizeof(r), NULL, 0, LG_PAGE);
	case MIX_RELEASEDIR:
		return lg_submit(lg, s, FUSE_RELEASEDIR, lg->dir_node, &rel,
		    sizeof(rel), NULL, 0, 0);
	default:
		return lg_submit(lg, s, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0,
		    NULL, 0, sizeof(struct fuse_statfs_out));
	}
}

static int
mixed_next(struct lg *lg, struct lg_slot *s)
{
	unsigned slot = (unsigned)(s - lg->slot);

	s->want = 0;
	switch (s->phase) {
	case MIX_CREATE: case MIX_LOOKUP: case MIX_RENAME: case MIX_OPEN:
	case MIX_UNLINK: case MIX_MKDIR: case MIX_SYMLINK:
	case MIX_UNLINK_LINK: case MIX_RMDIR:
		return mixed_name_next(lg, s, slot);
	case MIX_SETXATTR: case MIX_GETXATTR: case MIX_LISTXATTR:
	case MIX_REMOVEXATTR:
		return mixed_xattr_next(lg, s);
	case MIX_GETATTR: case MIX_ACCESS: case MIX_READLINK:
	case MIX_OPENDIR: case MIX_READDIRPLUS: case MIX_RELEASEDIR:
	case MIX_STATFS:
		return mixed_dir_next(lg, s);
	default:
		return mixed_file_next(lg, s);
	}
}

/* READDIRPLUS hands out a lookup of every entry but "." and "..". */
static int
mixed_forget_entries(struct lg *lg, const char *p, size_t len)
{
	const struct fuse_direntplus *d;
	int rc;

	while ((rc = lg_direntplus_next(&p, &len, &d)) == 1)
		if (d->entry_out.nodeid != 0 &&
		    lg_forget_later(lg, d->entry_out.nodeid) != 0)
			return -ENOMEM;
	return rc;
}

static int
mixed_check(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	const struct fuse_entry_out *e = pl;
	const struct fuse_open_out *o = pl;
	const struct fuse_write_out *w = pl;
	const struct fuse_attr_out *a = pl;

	switch (s->phase) {
	case MIX_CREATE:
		if (len < sizeof(*e) + sizeof(*o))
			return -EPROTO;
		s->nodeid = e->nodeid;
		s->fh = ((const struct fuse_open_out *)(e + 1))->fh;
		return 0;
	case MIX_LOOKUP:
		return len < sizeof(*e) ? -EPROTO :
		    e->nodeid != s->nodeid ? -ESTALE : 0;
	case MIX_RELEASE_GONE:
		/* As a kernel would: forgotten once nothing refers to it. */
		return lg_forget_later(lg, s->nodeid) != 0 ||
		    lg_forget_later(lg, s->nodeid) != 0 ? -ENOMEM : 0;
	case MIX_MKDIR:
		if (len < sizeof(*e))
			return -EPROTO;
		return lg_forget_later(lg, e->nodeid);
	case MIX_SYMLINK:
		if (len < sizeof(*e))
			return -EPROTO;
		s->off = e->nodeid;	/* the link, for READLINK */
		return 0;
	case MIX_UNLINK_LINK:
		return lg_forget_later(lg, s->off);
	case MIX_OPEN:
	case MIX_OPENDIR:
		if (len < sizeof(*o))
			return -EPROTO;
		s->fh = o->fh;
		return 0;
	case MIX_WRITE:
	case MIX_WRITE_GONE:
		lg->bytes += len >= sizeof(*w) ? w->size : 0;
		return len < sizeof(*w) || w->size != s->want ? -EIO : 0;
	case MIX_SETATTR:
	case MIX_SETATTR_GONE:
		return len < sizeof(*a) || a->attr.size != MIX_TRUNC ||
		    (a->attr.mode & 07777) != 0600 ? -EIO : 0;
	case MIX_READ:
	case MIX_READ_GONE:
	case MIX_GETXATTR:
	case MIX_READLINK:
		lg->bytes += len;
		return len != s->want ? -EIO : 0;
	case MIX_READDIRPLUS:
		return mixed_forget_entries(lg, pl, len);
	default:
		return 0;
	}
}

static int
mixed_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	int rc = mixed_check(lg, s, pl, len);

	if (rc != 0) {
		fprintf(stderr, "loadgen: mixed: step %d, opcode %u: %s\n",
		    s->phase, s->opcode, strerror(-rc));
		return rc;
	}
	lg->ops++;
	/* The cycle may stop (phase 0) only with nothing left behind. */
	s->phase = (s->phase + 1) % MIX_STEPS;
	return 0;
}

/*
 * The metadata scenarios of the S3 benchmark (tests/bench/s3-bench.sh):
 * one pass, one request at a time, each sending what a Linux guest's
 * kernel sends for a shell command, so that the S3 requests they cost
 * can be set beside another client's for the same command.  ops counts
 * the FUSE requests sent.
 *
 *	stat	LOOKUP and GETATTR of --file
 *	ls	OPENDIR, READDIRPLUS to the end and RELEASEDIR of --dir
 *	find	the same, down every directory under --dir
 *	cpr	MKDIR --dir, then --count files f00000.. of 4 KiB each:
 *		CREATE, WRITE, FLUSH, RELEASE
 *	rmr	list --dir as ls does, LOOKUP and UNLINK each of its --count
 *		files f00000.., RMDIR
 *
 * Each runs from finish() (timed, as the upload at close is), with no
 * slot ever busy.
 */
#define SC_FILE_SIZE	LG_PAGE

static int
sc_setup(struct lg *lg)
{
	lg->io = 0;
	return 0;
}

static int
sc_next(struct lg *lg, struct lg_slot *s)
{
	(void)lg;
	(void)s;
	return 1;
}

static int
sc_done(struct lg *lg, struct lg_slot *s, const void *pl, size_t len)
{
	(void)lg;
	(void)s;
	(void)pl;
	(void)len;
	return -EPROTO;		/* nothing was queued */
}

static int
sc_sync(struct lg *lg, uint32_t opcode, uint64_t nodeid, const void *arg,
    size_t arglen, const char *name, size_t data, void *out, size_t outcap,
    size_t *outlen)
{
	int rc = lg_sync_io(lg, opcode, nodeid, arg, arglen, name, data, out,
	    outcap, outlen);

	if (rc != 0)
		fprintf(stderr, "loadgen: opcode %u on node %" PRIu64
		    "%s%s: %s\n", opcode, nodeid, name ? " name " : "",
		    name ? name : "", strerror(-rc));
	lg->ops++;
	return rc;
}

static int
sc_lookup(struct lg *lg, uint64_t parent, const char *name, uint64_t *node)
{
	struct fuse_entry_out e;
	int rc;

	if ((rc = sc_sync(lg, FUSE_LOOKUP, parent, NULL, 0, name, 0, &e,
	    sizeof(e), NULL)) != 0)
		return rc;
	if (e.nodeid == 0)
		return -ENOENT;
	*node = e.nodeid;
	return lg_forget_later(lg, e.nodeid);
}

static int
stat_finish(struct lg *lg)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_attr_out a;
	uint64_t node;
	int rc;

	if ((rc = sc_lookup(lg, FUSE_ROOT_ID, lg->file, &node)) != 0)
		return rc;
	return sc_sync(lg, FUSE_GETATTR, node, &ga, sizeof(ga), NULL, 0, &a,
	    sizeof(a), NULL);
}

struct sc_dirs {
	uint64_t	*node;
	size_t		 n, cap;
};

static int
sc_dirs_add(struct sc_dirs *d, uint64_t node)
{
	return nodes_push(&d->node, &d->n, &d->cap, 64, node);
}

/* The entries of one READDIRPLUS reply; directories go into *sub. */
static int
sc_entries(struct lg *lg, const char *p, size_t len, uint64_t *off,
    struct sc_dirs *sub)
{
	const struct fuse_direntplus *d;
	int rc;

	while ((rc = lg_direntplus_next(&p, &len, &d)) == 1) {
		*off = d->dirent.off;
		if (lg_is_dot(d) || d->entry_out.nodeid == 0)
			continue;
		lg->counter++;	/* entries seen */
		if ((rc = lg_forget_later(lg, d->entry_out.nodeid)) != 0)
			return rc;
		if (sub != NULL && S_ISDIR(d->entry_out.attr.mode) &&
		    (rc = sc_dirs_add(sub, d->entry_out.nodeid)) != 0)
			return rc;
	}
	return rc;
}

/* OPENDIR, READDIRPLUS until an empty reply, RELEASEDIR; then, with
 * recurse, the same in each subdirectory (as find does, after the
 * listing). */
static int
sc_list(struct lg *lg, uint64_t dir, bool recurse)
{
	static char buf[LG_PAGE];
	struct fuse_open_in o = { .flags = O_RDONLY | O_DIRECTORY };
	struct fuse_open_out oo;
	struct fuse_release_in rel = { 0 };
	struct sc_dirs sub = { 0 };
	uint64_t off = 0;
	size_t len;
	int rc;

	if ((rc = sc_sync(lg, FUSE_OPENDIR, dir, &o, sizeof(o), NULL, 0, &oo,
	    sizeof(oo), NULL)) != 0)
		return rc;
	do {
		struct fuse_read_in r = { .fh = oo.fh, .offset = off,
		    .size = LG_PAGE };

		if ((rc = sc_sync(lg, FUSE_READDIRPLUS, dir, &r, sizeof(r),
		    NULL, 0, buf, sizeof(buf), &len)) == 0)
			rc = sc_entries(lg, buf, len, &off,
			    recurse ? &sub : NULL);
	} while (rc == 0 && len > 0);
	rel.fh = oo.fh;
	if (rc == 0)
		rc = sc_sync(lg, FUSE_RELEASEDIR, dir, &rel, sizeof(rel), NULL,
		    0, NULL, 0, NULL);
	for (size_t i = 0; i < sub.n && rc == 0; i++)
		rc = sc_list(lg, sub.node[i], true);
	free(sub.node);
	return rc;
}

static int
ls_finish(struct lg *lg)
{
	uint64_t dir;
	int rc;

	if ((rc = sc_lookup(lg, FUSE_ROOT_ID, lg->big_dir, &dir)) != 0)
		return rc;
	return sc_list(lg, dir, false);
}

static int
find_finish(struct lg *lg)
{
	uint64_t dir;
	int rc;

	if ((rc = sc_lookup(lg, FUSE_ROOT_ID, lg->big_dir, &dir)) != 0)
		return rc;
	return sc_list(lg, dir, true);
}

static int
cpr_file(struct lg *lg, uint64_t dir, const char *name)
{
	struct fuse_create_in c = { .flags = O_WRONLY | O_CREAT | O_EXCL,
	    .mode = 0100644, .umask = 022 };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	struct fuse_write_in w = { .size = SC_FILE_SIZE };
	struct fuse_write_out wo;
	int rc;

	if ((rc = sc_sync(lg, FUSE_CREATE, dir, &c, sizeof(c), name, 0, &out,
	    sizeof(out), NULL)) != 0 ||
	    (rc = lg_forget_later(lg, out.e.nodeid)) != 0)
		return rc;
	w.fh = out.o.fh;
	if ((rc = sc_sync(lg, FUSE_WRITE, out.e.nodeid, &w, sizeof(w), NULL,
	    SC_FILE_SIZE, &wo, sizeof(wo), NULL)) != 0)
		return rc;
	if (wo.size != SC_FILE_SIZE)
		return -EIO;
	lg->bytes += wo.size;
	{
		struct fuse_flush_in f = { .fh = out.o.fh };
		struct fuse_release_in r = { .fh = out.o.fh,
		    .flags = O_WRONLY };

		if ((rc = sc_sync(lg, FUSE_FLUSH, out.e.nodeid, &f, sizeof(f),
		    NULL, 0, NULL, 0, NULL)) != 0)
			return rc;
		return sc_sync(lg, FUSE_RELEASE, out.e.nodeid, &r, sizeof(r),
		    NULL, 0, NULL, 0, NULL);
	}
}

static int
cpr_finish(struct lg *lg)
{
	struct fuse_mkdir_in mk = { .mode = 0755, .umask = 022 };
	struct fuse_entry_out e;
	char name[32];
	int rc;

	if ((rc = sc_sync(lg, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk),
	    lg->big_dir, 0, &e, sizeof(e), NULL)) != 0 ||
	    (rc = lg_forget_later(lg, e.nodeid)) != 0)
		return rc;
	memset(ff_host(lg->ff, lg->sync.in_gpa + LG_HDR_SPACE), 'c',
	    SC_FILE_SIZE);
	for (unsigned i = 0; i < lg->count && rc == 0; i++) {
		snprintf(name, sizeof(name), "f%05u", i);
		rc = cpr_file(lg, e.nodeid, name);
	}
	return rc;
}

static int
rmr_finish(struct lg *lg)
{
	char name[32];
	uint64_t dir, node;
	int rc;

	if ((rc = sc_lookup(lg, FUSE_ROOT_ID, lg->big_dir, &dir)) != 0 ||
	    (rc = sc_list(lg, dir, false)) != 0)
		return rc;
	for (unsigned i = 0; i < lg->count && rc == 0; i++) {
		snprintf(name, sizeof(name), "f%05u", i);
		if ((rc = sc_lookup(lg, dir, name, &node)) == 0)
			rc = sc_sync(lg, FUSE_UNLINK, dir, NULL, 0, name, 0,
			    NULL, 0, NULL);
	}
	if (rc == 0)
		rc = sc_sync(lg, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0,
		    lg->big_dir, 0, NULL, 0, NULL);
	return rc;
}

static const struct workload workloads[] = {
	{ "lookup", meta_setup, lookup_next, lookup_done, NULL },
	{ "create", create_setup, create_next, create_done, NULL },
	{ "readdirplus", big_setup, rdplus_next, rdplus_done, NULL },
	{ "randread", randread_setup, read_next, read_done, close_data },
	{ "seqread", seqread_setup, read_next, read_done, close_data },
	{ "seqwrite", seqwrite_setup, write_next, write_done,
	    seqwrite_finish },
	{ "openmany", many_setup, many_next, many_done, many_finish },
	{ "mixed", mixed_setup, mixed_next, mixed_done, NULL },
	{ "stat", sc_setup, sc_next, sc_done, stat_finish },
	{ "ls", sc_setup, sc_next, sc_done, ls_finish },
	{ "find", sc_setup, sc_next, sc_done, find_finish },
	{ "cpr", sc_setup, sc_next, sc_done, cpr_finish },
	{ "rmr", sc_setup, sc_next, sc_done, rmr_finish },
};

/* --- The engine ------------------------------------------------------- */

/*
 * Resident memory of the process being measured, in KiB: VmRSS, and
 * RssAnon (its own heap and stacks, without the guest memory it maps).
 */
static void
lg_rss_kb(const struct lg *lg, long *rss, long *anon)
{
	char path[64], line[256];
	FILE *f;

	*rss = *anon = -1;
	if (lg->rss_pid <= 0)
		return;
	/* The serving process: objfsd and virtiofsd serve from a child. */
	snprintf(path, sizeof(path), "/proc/%d/status",
	    (int)ff_server_pid((pid_t)lg->rss_pid));
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", rss) != 1)
			(void)sscanf(line, "RssAnon: %ld kB", anon);
	fclose(f);
}

static int
lg_fill(struct lg *lg, const struct workload *w)
{
	uint16_t old[FF_MAX_QUEUES];
	int rc;

	for (unsigned q = 1; q <= lg->nq; q++)
		old[q] = lg->ff->q[q].avail_idx;
	for (unsigned i = 0; i < lg->depth; i++) {
		struct lg_slot *s = &lg->slot[i];

		/* Once time is up, operations under way still finish. */
		if (s->head != -1 || (lg->stopping && s->phase == 0))
			continue;
		if ((rc = w->next(lg, s)) == 1)
			continue;	/* nothing left to do: --once */
		if (rc != 0)
			return rc;
		lg->head_slot[s->q][s->head] = (int)i;
	}
	for (unsigned q = 1; q <= lg->nq; q++)
		if ((rc = lg_kick(lg, q, old[q])) != 0)
			return rc;
	return 0;
}

/* What a stalled run waits for, so a timeout names its requests. */
static void
lg_dump_inflight(const struct lg *lg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < lg->depth; i++) {
		const struct lg_slot *s = &lg->slot[i];

		if (s->head == -1)
			continue;
		if (n++ < 16)
			fprintf(stderr, "loadgen: waiting: opcode %u on node %"
			    PRIu64 ", unique %" PRIu64 ", queue %u\n",
			    s->opcode, s->nodeid, s->unique, s->q);
	}
	fprintf(stderr, "loadgen: no reply for %d ms, %u requests in flight\n",
	    LG_TIMEOUT_MS, n);
}

/* Take every completion there is; wait for one when there is none. */
static int
lg_reap(struct lg *lg, const struct workload *w, unsigned *inflight)
{
	unsigned got = 0;
	int rc;

	for (;;) {
		struct pollfd pfd[FF_MAX_QUEUES];
		uint64_t v;

		for (unsigned q = 1; q <= lg->nq; q++) {
			uint16_t id;
			uint32_t used;

			while (ff_poll_used(lg->ff, q, &id, &used)) {
				struct lg_slot *s;
				const void *pl;
				size_t len;

				if (id >= LG_RING || lg->head_slot[q][id] < 0)
					return -EPROTO;
				s = &lg->slot[lg->head_slot[q][id]];
				lg->head_slot[q][id] = -1;
				s->head = -1;
				(*inflight)--;
				got++;
				if ((rc = lg_reply(lg, s, used, &pl,
				    &len)) != 0) {
					fprintf(stderr, "loadgen: opcode %u on "
					    "node %" PRIu64 ": %s\n", s->opcode,
					    s->nodeid, strerror(-rc));
					lg->errors++;
					return rc;
				}
				if ((rc = w->done(lg, s, pl, len)) != 0)
					return rc;
			}
		}
		if (got > 0)
			return 0;
		for (unsigned q = 1; q <= lg->nq; q++)
			pfd[q - 1] = (struct pollfd){ lg->ff->q[q].call_fd,
			    POLLIN, 0 };
		rc = poll(pfd, lg->nq, LG_TIMEOUT_MS);
		if (rc == 0) {
			lg_dump_inflight(lg);
			return -ETIMEDOUT;
		}
		for (unsigned q = 1; q <= lg->nq; q++)
			if (pfd[q - 1].revents & POLLIN)
				(void)eventfd_read(pfd[q - 1].fd, &v);
	}
}

static unsigned
lg_busy(const struct lg *lg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < lg->depth; i++)
		n += lg->slot[i].head != -1;
	return n;
}

/*
 * The measured window of one workload: from the first request after
 * setup to the last reply (the finish step and FORGETs of what it looked
 * up included), with the daemon's CPU at both ends.
 */
struct lg_window {
	double		 t0, tf, t1;	/* start, loop end, end */
	uint64_t	 reqs0, reqs1;
	struct proccpu	 cpu0, cpu1;
	bool		 cpu;		/* both samples taken */
	long		 rss0, anon0, rss1, anon1, rssm, anonm;
};

static void
lg_window_open(struct lg *lg, struct lg_window *win)
{
	win->cpu = lg->cpu_pid > 0 &&
	    proccpu_sample((pid_t)lg->cpu_pid, &win->cpu0) == 0;
	win->reqs0 = lg->reqs;
	win->t0 = now();
}

static void
lg_window_close(struct lg *lg, struct lg_window *win)
{
	win->t1 = now();
	win->reqs1 = lg->reqs;
	if (win->cpu)
		win->cpu = proccpu_sample((pid_t)lg->cpu_pid,
		    &win->cpu1) == 0;
}

/*
 * The daemon's cost per request in the window: CPU time and context
 * switches of its process tree over the requests it served.
 */
static void
lg_print_cpu(const struct lg *lg, const struct lg_window *win)
{
	struct proccpu d = proccpu_delta(&win->cpu0, &win->cpu1);
	uint64_t reqs = win->reqs1 - win->reqs0;

	printf(" reqs=%" PRIu64 " cpu_ns=%" PRIu64 " vcsw=%" PRIu64
	    " ivcsw=%" PRIu64 " procs=%u threads=%u", reqs, d.cpu_ns, d.vcsw,
	    d.ivcsw, d.procs, d.threads);
	if (reqs > 0)
		printf(" cpu_us/req=%.3f csw/req=%.3f ops/req=%.2f",
		    (double)d.cpu_ns / 1e3 / (double)reqs,
		    (double)(d.vcsw + d.ivcsw) / (double)reqs,
		    (double)lg->ops / (double)reqs);
}

static void
lg_print(struct lg *lg, const struct workload *w, struct lg_window *win)
{
	double secs = win->t1 - win->t0;

	printf("%s depth=%u ops/s=%.0f MB/s=%.1f", w->name, lg->depth,
	    (double)lg->ops / secs, (double)lg->bytes / secs / 1e6);
	if (w->finish != NULL)	/* the close: an object store's upload */
		printf(" close_s=%.3f", win->t1 - win->tf);
	if (w->setup == sc_setup)	/* a scenario: its time, its entries */
		printf(" s=%.3f entries=%" PRIu64, secs, lg->counter);
	if (win->cpu)
		lg_print_cpu(lg, win);
	if (lg->rss_pid > 0) {
		sleep(lg->settle);
		lg_rss_kb(lg, &win->rss1, &win->anon1);
		printf(" ops=%" PRIu64 " rss_kb=%ld,%ld anon_kb=%ld,%ld",
		    lg->ops, win->rss0, win->rss1, win->anon0, win->anon1);
		if (lg->rss_at > 0)
			printf(" rss_at_kb=%ld anon_at_kb=%ld", win->rssm,
			    win->anonm);
	}
	printf("\n");
	fflush(stdout);
}

static int
lg_run(struct lg *lg, const struct workload *w)
{
	struct lg_window win = { .rssm = -1, .anonm = -1 };
	double tforget;
	size_t keep;
	unsigned inflight;
	bool sampled = lg->rss_at == 0;
	int rc;

	lg_rss_kb(lg, &win.rss0, &win.anon0);
	lg->ops = lg->bytes = lg->counter = 0;
	lg->stopping = false;
	lg->forget_soon = false;
	lg->file_size = lg->size;
	for (unsigned i = 0; i < lg->depth; i++)
		lg->slot[i].phase = 0;
	if ((rc = w->setup(lg)) != 0) {
		fprintf(stderr, "loadgen: %s: setup: %s\n", w->name,
		    strerror(-rc));
		return rc;
	}
	keep = lg->nforget;
	lg_window_open(lg, &win);
	tforget = win.t0;
	for (;;) {
		if (!lg->stopping && (lg->once ? lg->io > 0 &&
		    lg->counter * lg->io >= lg->file_size :
		    now() - win.t0 >= lg->seconds))
			lg->stopping = true;
		if (!sampled && now() - win.t0 >= lg->rss_at) {
			lg_rss_kb(lg, &win.rssm, &win.anonm);
			sampled = true;
		}
		if ((rc = lg_fill(lg, w)) != 0)
			break;
		if ((inflight = lg_busy(lg)) == 0)
			break;
		if ((rc = lg_reap(lg, w, &inflight)) != 0)
			break;
		if ((lg->nforget >= keep + 8192 || (lg->forget_soon &&
		    lg->nforget > keep && now() - tforget >= 1)) &&
		    (rc = lg_forget_flush(lg, keep)) != 0)
			break;
		if (lg->nforget == keep)
			tforget = now();
	}
	win.tf = now();
	if (rc == 0 && w->finish != NULL)
		rc = w->finish(lg);
	if (rc == 0)
		rc = lg_forget_flush(lg, keep);
	lg_window_close(lg, &win);
	if (rc == 0)
		rc = lg_forget_flush(lg, 0);
	if (rc != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", w->name, strerror(-rc));
		return rc;
	}
	lg_print(lg, w, &win);
	return 0;
}

/* --- Bring-up ---------------------------------------------------------- */

static int
lg_connect(struct lg *lg, const char *sock)
{
	uint64_t offered;
	size_t region = (size_t)(lg->depth + 1) * (LG_HDR_SPACE + LG_IO_MAX) +
	    (8u << 20);
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = LG_IO_MAX,
		.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES |
		    FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_PARALLEL_DIROPS,
	};
	struct fuse_init_out out;
	int rc;

	if ((lg->ff = ff_connect(sock)) == NULL)
		return -ECONNREFUSED;
	if ((rc = ff_get_u64(lg->ff, VU_GET_PROTOCOL_FEATURES, &offered)) != 0)
		return rc;
	/* Plays QEMU's part with whatever subset the backend offers. */
	if ((rc = ff_negotiate(lg->ff, ff_default_features(),
	    ff_default_protocol_features() & offered)) != 0 ||
	    (rc = ff_setup_memory(lg->ff, region, false)) != 0)
		return rc;
	for (unsigned q = 0; q <= lg->nq && rc == 0; q++)
		rc = ff_setup_queue(lg->ff, q, LG_RING);
	if (rc != 0)
		return rc;
	for (unsigned q = 0; q <= lg->nq; q++)
		for (unsigned i = 0; i < LG_RING; i++)
			lg->head_slot[q][i] = -1;
	for (unsigned i = 0; i <= lg->depth; i++) {
		struct lg_slot *s = i < lg->depth ? &lg->slot[i] : &lg->sync;

		s->in_gpa = ff_alloc(lg->ff, 1, LG_HDR_SPACE + LG_IO_MAX,
		    LG_PAGE);
		s->out_gpa = ff_alloc(lg->ff, 0, LG_PAGE + LG_IO_MAX, LG_PAGE);
		s->q = 1 + i % lg->nq;
		s->head = -1;
		if (s->in_gpa == 0 || s->out_gpa == 0)
			return -ENOMEM;
	}
	if ((rc = lg_sync(lg, FUSE_INIT, 0, &in, sizeof(in), NULL, &out,
	    sizeof(out))) != 0)
		return rc;
	lg->max_write = out.max_write;
	return 0;
}

/*
 * The ceiling for the 1 MiB cases: memcpy of 1 MiB blocks between two
 * 256 MiB buffers, after a round that faults every page in.
 */
static void
memcpy_bandwidth(void)
{
	size_t size = 256u << 20;
	char *a = malloc(size), *b = malloc(size);
	volatile char sink;
	double t0, t1;
	int rounds = 8;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return;
	}
	memset(a, 1, size);
	memcpy(b, a, size);
	t0 = now();
	for (int r = 0; r < rounds; r++)
		for (size_t o = 0; o < size; o += LG_IO_MAX)
			memcpy(b + o, a + o, LG_IO_MAX);
	t1 = now();
	sink = b[size - 1];
	(void)sink;
	printf("memcpy depth=1 ops/s=%.0f MB/s=%.1f\n",
	    rounds * (double)(size / LG_IO_MAX) / (t1 - t0),
	    rounds * (double)size / (t1 - t0) / 1e6);
	free(a);
	free(b);
}

/* One sample of a process tree's CPU, for scripts (guest-bench.sh). */
static int
cpu_of(pid_t pid)
{
	struct proccpu c;
	int rc;

	if ((rc = proccpu_sample(pid, &c)) != 0) {
		fprintf(stderr, "loadgen: process %d: %s\n", (int)pid,
		    strerror(-rc));
		return 1;
	}
	printf("cpu_ns=%" PRIu64 " vcsw=%" PRIu64 " ivcsw=%" PRIu64
	    " procs=%u threads=%u\n", c.cpu_ns, c.vcsw, c.ivcsw, c.procs,
	    c.threads);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --socket=PATH [--depth=N] "
	    "[--queues=N] [--seconds=N] [--dir=NAME] [--file=NAME] "
	    "[--size=MIB] [--once] [--count=N] [--rss-pid=PID [--settle=S] [--rss-at=S]] "
	    "[--cpu-pid=PID] WORKLOAD...\n"
	    "       loadgen --memcpy\n"
	    "       loadgen --cpu-of=PID\n"
	    "workloads: lookup create readdirplus randread seqread "
	    "seqwrite openmany mixed\n"
	    "scenarios (tests/bench/s3-bench.sh): stat ls find cpr rmr\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "queues", required_argument, NULL, 'q' },
		{ "seconds", required_argument, NULL, 't' },
		{ "memcpy", no_argument, NULL, 'm' },
		{ "dir", required_argument, NULL, 'D' },
		{ "rss-pid", required_argument, NULL, 'p' },
		{ "settle", required_argument, NULL, 'S' },
		{ "rss-at", required_argument, NULL, 'A' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'z' },
		{ "once", no_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpu-pid", required_argument, NULL, 'c' },
		{ "cpu-of", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	static struct lg lg;
	const char *sock = NULL;
	int c, rc;

	lg.depth = 1;
	lg.nq = 1;
	lg.seconds = 3;
	lg.rng = 0x9e3779b97f4a7c15ULL;
	lg.unique = 1;
	lg.big_dir = "big";
	lg.file = "data";
	lg.size = 256u << 20;
	lg.count = 1000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'd':
			lg.depth = (unsigned)atoi(optarg);
			break;
		case 'q':
			lg.nq = (unsigned)atoi(optarg);
			break;
		case 't':
			lg.seconds = strtod(optarg, NULL);
			break;
		case 'm':
			memcpy_bandwidth();
			return 0;
		case 'D':
			lg.big_dir = optarg;
			break;
		case 'p':
			lg.rss_pid = atol(optarg);
			break;
		case 'S':
			lg.settle = (unsigned)atoi(optarg);
			break;
		case 'A':
			lg.rss_at = (unsigned)atoi(optarg);
			break;
		case 'f':
			lg.file = optarg;
			break;
		case 'z':
			lg.size = strtoull(optarg, NULL, 10) << 20;
			break;
		case 'o':
			lg.once = true;
			break;
		case 'n':
			lg.count = (unsigned)atoi(optarg);
			break;
		case 'c':
			lg.cpu_pid = atol(optarg);
			break;
		case 'C':
			return cpu_of((pid_t)atol(optarg));
		default:
			usage();
		}
	}
	if (sock == NULL || optind == argc || lg.depth < 1 ||
	    lg.depth > LG_MAX_DEPTH || lg.nq < 1 || lg.nq >= FF_MAX_QUEUES ||
	    !(lg.seconds > 0))
		usage();
	if ((rc = lg_connect(&lg, sock)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", sock, strerror(-rc));
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		const struct workload *w = NULL;

		for (size_t k = 0; k < sizeof(workloads) / sizeof(*workloads);
		    k++)
			if (strcmp(argv[i], workloads[k].name) == 0)
				w = &workloads[k];
		if (w == NULL)
			usage();
		if (lg_run(&lg, w) != 0)
			return 1;
	}
	ff_close(lg.ff);
	return 0;
}
