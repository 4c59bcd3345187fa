/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp allow-list of the serving process, with libseccomp: what
 * every store needs (memory, threads, the vhost-user socket and its
 * eventfds, spill files), what a file store adds (the file calls the fs:
 * store makes), and what a network store adds (sockets, for S3 and name
 * resolution).  Anything else kills the process, or is logged, or raises
 * SIGSYS, as --seccomp says.  The whole test suite, the guest tests and
 * the benchmarks run with it, which is how the list is known complete.
 */
#include "config.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

#define FS_SYS_FCHMODAT2	452	/* as in store_fs.h */

static const int common_calls[] = {
	/* memory, threads, time, signals */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getrandom), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(prctl), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(capget),
	SCMP_SYS(getrlimit), SCMP_SYS(prlimit64), SCMP_SYS(sysinfo),
	SCMP_SYS(uname),
	/* the vhost-user socket, eventfds, epoll, the signalfd */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(accept4), SCMP_SYS(accept),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2),
	SCMP_SYS(signalfd4), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fcntl),
	SCMP_SYS(dup),
	SCMP_SYS(dup3), SCMP_SYS(pipe2),
	/* spill files in the cache directory, syslog */
	SCMP_SYS(openat), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(unlinkat), SCMP_SYS(copy_file_range),
	SCMP_SYS(sendfile), SCMP_SYS(fstatfs), SCMP_SYS(fadvise64),
	SCMP_SYS(linkat), SCMP_SYS(unlink),	/* the socket, at exit */
	/* the staging journal's records and lost+found (objfs_journal.c) */
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdirat),
};

/* What the fs: store adds (store_fs*.c). */
static const int file_calls[] = {
	SCMP_SYS(openat2), SCMP_SYS(mkdirat), SCMP_SYS(mknodat),
	SCMP_SYS(symlinkat), SCMP_SYS(readlinkat), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(fchown), SCMP_SYS(fchownat), SCMP_SYS(utimensat),
	SCMP_SYS(getdents64), SCMP_SYS(fgetxattr), SCMP_SYS(fsetxattr),
	SCMP_SYS(flistxattr), SCMP_SYS(fremovexattr), SCMP_SYS(getxattr),
	SCMP_SYS(lgetxattr), SCMP_SYS(setxattr), SCMP_SYS(lsetxattr),
	SCMP_SYS(listxattr), SCMP_SYS(llistxattr), SCMP_SYS(removexattr),
	SCMP_SYS(lremovexattr), SCMP_SYS(syncfs), SCMP_SYS(statfs),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(flock),
	SCMP_SYS(sync_file_range), SCMP_SYS(umask), SCMP_SYS(chmod),
	FS_SYS_FCHMODAT2,	/* chmod without following a link */
};

/* What S3 and name resolution add. */
static const int network_calls[] = {
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(socketpair), SCMP_SYS(statfs), SCMP_SYS(getdents64),
	SCMP_SYS(readlinkat), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
};

/* ioctls: a terminal check of stderr, and what curl asks of sockets. */
static const unsigned long allowed_ioctls[] = { TCGETS, FIONREAD, FIONBIO };

static uint32_t
default_action(enum sandbox_seccomp mode)
{
	switch (mode) {
	case SECCOMP_LOG:
		return SCMP_ACT_LOG;
	case SECCOMP_TRAP:
		return SCMP_ACT_TRAP;
	default:
		return SCMP_ACT_KILL_PROCESS;
	}
}

/*
 * --seccomp=trap: say which call it was (async-signal-safe: no stdio),
 * then die of SIGSYS as kill would have.
 */
static void
on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char msg[64] = "objfsd: seccomp refused system call ";
	char num[16];
	int n = si->si_syscall, len = 0;

	(void)uctx;
	do {
		num[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && len < (int)sizeof(num));
	for (size_t at = strlen(msg); len > 0 && at < sizeof(msg) - 2;)
		msg[at++] = num[--len], msg[at] = '\0';
	strcat(msg, "\n");
	(void)!write(STDERR_FILENO, msg, strlen(msg));
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	return rc;
}

#define ALLOW_ALL(ctx, list) \
	allow_all(ctx, list, sizeof(list) / sizeof(list[0]))

static int
add_rules(scmp_filter_ctx ctx, const struct sandbox_store *s)
{
	int rc = ALLOW_ALL(ctx, common_calls);

	if (rc == 0 && s->dir != NULL)
		rc = ALLOW_ALL(ctx, file_calls);
	if (rc == 0 && s->network)
		rc = ALLOW_ALL(ctx, network_calls);
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_ioctls) /
	    sizeof(allowed_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, allowed_ioctls[i]));
	/* Every thread, the ones already running too. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	return rc;
}

int
sandbox_seccomp(const struct sandbox_options *o,
    const struct sandbox_store *s)
{
	enum sandbox_seccomp mode = o->seccomp;
	scmp_filter_ctx ctx;
	int rc;

	if (mode == SECCOMP_DEFAULT) {
#if defined(__SANITIZE_ADDRESS__)
		mode = SECCOMP_LOG;	/* the leak checker ptraces */
#else
		mode = SECCOMP_KILL;
#endif
	}
	if (mode == SECCOMP_NONE)
		return 0;
	if (mode == SECCOMP_TRAP) {
		struct sigaction sa = { .sa_sigaction = on_sigsys,
		    .sa_flags = SA_SIGINFO };

		sigaction(SIGSYS, &sa, NULL);
	}
	if ((ctx = seccomp_init(default_action(mode))) == NULL)
		return -ENOMEM;
	rc = add_rules(ctx, s);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		log_warnx("seccomp: cannot load the allow-list: %s",
		    strerror(-rc));
	return rc;
}
