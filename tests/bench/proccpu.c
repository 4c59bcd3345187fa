/* SPDX-License-Identifier: Apache-2.0 */
/* proccpu: CPU time of a process tree from /proc; see proccpu.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proccpu.h"

/* A sandbox forks once or twice; this bounds a runaway walk. */
#define PC_MAX_DEPTH	8

static int	pc_walk(pid_t pid, struct proccpu *c, unsigned depth);

/*
 * The process's own CPU time (every thread, live or exited) from its CPU
 * clock: nanoseconds, where /proc/PID/stat would give clock ticks.
 */
static int
pc_clock_ns(pid_t pid, uint64_t *ns)
{
	struct timespec ts;
	clockid_t clk;
	int rc;

	if ((rc = clock_getcpuclockid(pid, &clk)) != 0)
		return -rc;
	if (clock_gettime(clk, &ts) != 0)
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

/* cutime + cstime (fields 16 and 17 of /proc/PID/stat) in nanoseconds. */
static int
pc_reaped_ns(pid_t pid, uint64_t *ns)
{
	char path[64], buf[1024], *p;
	unsigned long long cu, cs;
	long tck = sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL || tck <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%*u %*u %llu %llu", &cu, &cs) != 2)
		return -EPROTO;
	*ns = (cu + cs) * (1000000000ull / (unsigned long long)tck);
	return 0;
}

/* One thread's context switches, from its status file. */
static void
pc_thread_csw(pid_t pid, int tid, struct proccpu *c)
{
	char path[96], line[128];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, tid);
	if ((f = fopen(path, "r")) == NULL)
		return;		/* the thread just exited */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			c->vcsw += v;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu",
		    &v) == 1)
			c->ivcsw += v;
	}
	fclose(f);
	c->threads++;
}

/* The children one thread forked, each walked in turn. */
static void
pc_thread_children(pid_t pid, int tid, struct proccpu *c,
    unsigned depth)
{
	char path[96];
	int child;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    tid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fscanf(f, "%d", &child) == 1)
		(void)pc_walk((pid_t)child, c, depth + 1);	/* may be gone */
	fclose(f);
}

static int
pc_walk(pid_t pid, struct proccpu *c, unsigned depth)
{
	uint64_t own = 0, reaped = 0;
	char path[64];
	struct dirent *e;
	DIR *dir;
	int rc;

	if (depth > PC_MAX_DEPTH)
		return 0;
	if ((rc = pc_clock_ns(pid, &own)) != 0 ||
	    (rc = pc_reaped_ns(pid, &reaped)) != 0)
		return rc;
	c->cpu_ns += own + reaped;
	c->procs++;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		int tid = atoi(e->d_name);

		if (tid <= 0)
			continue;	/* . and .. */
		pc_thread_csw(pid, tid, c);
		pc_thread_children(pid, tid, c, depth);
	}
	closedir(dir);
	return 0;
}

int
proccpu_sample(pid_t pid, struct proccpu *c)
{
	*c = (struct proccpu){ 0 };
	return pc_walk(pid, c, 0);
}

struct proccpu
proccpu_delta(const struct proccpu *a, const struct proccpu *b)
{
	return (struct proccpu){
		.cpu_ns = b->cpu_ns - a->cpu_ns,
		.vcsw = b->vcsw - a->vcsw,
		.ivcsw = b->ivcsw - a->ivcsw,
		.procs = b->procs,
		.threads = b->threads,
	};
}
