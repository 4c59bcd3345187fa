/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proccpu: the CPU time and context switches of a process tree, read from
 * /proc, for the benchmarks' cost per request.
 *
 * A daemon under test may serve from a child (objfsd's and virtiofsd's
 * sandboxes fork one into new namespaces), so a sample covers the process
 * and every descendant: each live process's CPU clock (all its threads,
 * exited ones included, in nanoseconds), plus the children it has waited
 * for (cutime and cstime, in clock ticks), plus the voluntary and
 * involuntary context switches of every live thread.  Subtract two
 * samples to get a window's cost; nothing here is cumulative across
 * calls.
 */
#ifndef OBJFSD_PROCCPU_H
#define OBJFSD_PROCCPU_H

#include <stdint.h>
#include <sys/types.h>

struct proccpu {
	uint64_t	 cpu_ns;	/* user + system */
	uint64_t	 vcsw;		/* voluntary context switches */
	uint64_t	 ivcsw;		/* involuntary */
	unsigned	 procs;		/* processes sampled */
	unsigned	 threads;	/* threads sampled */
};

/* Sample pid's tree into *c: 0, or -errno when pid itself is gone. */
int	proccpu_sample(pid_t pid, struct proccpu *c);

/* b - a, field by field (procs and threads: b's). */
struct proccpu	proccpu_delta(const struct proccpu *a,
		    const struct proccpu *b);

#endif
