/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp allow-list and the capability words, in forked children:
 * what a store may call works, anything else kills the process (or is
 * trapped and named), and the network calls exist only for S3.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "sandbox.h"

static const struct sandbox_store fs_store = { .dir = "/tmp" };
static const struct sandbox_store mem_store = { 0 };
static const struct sandbox_store s3_store = { .network = true };

enum probe {
	PROBE_FILES,		/* what fs: does: make, write, rename, list */
	PROBE_SPILL,		/* what every store does with spill files */
	PROBE_INET_SOCKET,
	PROBE_PTRACE,
	PROBE_MOUNT,
	PROBE_EXECVE,
};

/* Made before the fork: the store's directory exists before it serves. */
static char probe_dir[] = "/tmp/objfsd-sandbox.XXXXXX";

static int
probe_files(void)
{
	char buf[4];
	int dfd, fd;

	if ((dfd = open(probe_dir, O_PATH | O_DIRECTORY)) < 0)
		return 1;
	if (mkdirat(dfd, "d", 0755) != 0 ||
	    (fd = openat(dfd, "d/f", O_CREAT | O_RDWR, 0644)) < 0 ||
	    pwrite(fd, "abc", 3, 0) != 3 || pread(fd, buf, 3, 0) != 3 ||
	    fchmod(fd, 0600) != 0 || fsync(fd) != 0 ||
	    renameat(dfd, "d/f", dfd, "d/g") != 0 ||
	    symlinkat("g", dfd, "d/l") != 0 ||
	    unlinkat(dfd, "d/l", 0) != 0 || unlinkat(dfd, "d/g", 0) != 0 ||
	    unlinkat(dfd, "d", AT_REMOVEDIR) != 0)
		return 2;
	close(fd);
	return 0;
}

static int
probe_spill(void)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	char buf[4];

	if (fd < 0 || pwrite(fd, "abc", 3, 0) != 3 ||
	    pread(fd, buf, 3, 0) != 3 || ftruncate(fd, 0) != 0)
		return 1;
	close(fd);
	return 0;
}

/* Runs in the child, under the filter; its exit status is the answer. */
static int
run_probe(enum probe p)
{
	switch (p) {
	case PROBE_FILES:
		return probe_files();
	case PROBE_SPILL:
		return probe_spill();
	case PROBE_INET_SOCKET:
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
	case PROBE_PTRACE:
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		return 0;
	case PROBE_MOUNT:
		(void)mount("none", "/tmp", "tmpfs", 0, NULL);
		return 0;
	case PROBE_EXECVE:
		execl("/bin/true", "true", (char *)NULL);
		return 0;
	}
	return 3;
}

/* The wait status of a child that loads the filter, then probes. */
static int
probe_under(enum sandbox_seccomp mode, const struct sandbox_store *s,
    enum probe p, int errfd)
{
	struct sandbox_options o = { .seccomp = mode };
	int status;
	pid_t pid;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if (errfd >= 0)
			dup2(errfd, STDERR_FILENO);
		if (sandbox_seccomp(&o, s) != 0)
			_exit(100);
		_exit(run_probe(p));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exits_zero(int status)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x (signal %d)", status,
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void
assert_killed(int status)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status %#x: not killed by SIGSYS", status);
}

START_TEST(what_the_stores_do_is_allowed)
{
	ck_assert_ptr_nonnull(mkdtemp(probe_dir));
	assert_exits_zero(probe_under(SECCOMP_KILL, &fs_store, PROBE_FILES,
	    -1));
	ck_assert_int_eq(rmdir(probe_dir), 0);
	for (int i = 0; i < 3; i++)
		assert_exits_zero(probe_under(SECCOMP_KILL, i == 0 ? &fs_store :
		    i == 1 ? &mem_store : &s3_store, PROBE_SPILL, -1));
	assert_exits_zero(probe_under(SECCOMP_KILL, &s3_store,
	    PROBE_INET_SOCKET, -1));
}
END_TEST

START_TEST(anything_else_is_fatal)
{
	static const enum probe never[] = { PROBE_PTRACE, PROBE_MOUNT,
	    PROBE_EXECVE };

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		for (int k = 0; k < 3; k++)
			assert_killed(probe_under(SECCOMP_KILL, k == 0 ?
			    &fs_store : k == 1 ? &mem_store : &s3_store,
			    never[i], -1));
	/* A local store has no use for sockets beyond its own. */
	assert_killed(probe_under(SECCOMP_KILL, &fs_store, PROBE_INET_SOCKET,
	    -1));
	assert_killed(probe_under(SECCOMP_KILL, &mem_store, PROBE_INET_SOCKET,
	    -1));
	/* And none, plainly, lets it happen. */
	assert_exits_zero(probe_under(SECCOMP_NONE, &mem_store, PROBE_PTRACE,
	    -1));
}
END_TEST

START_TEST(trap_names_the_call)
{
	char path[] = "/tmp/objfsd-trap.XXXXXX", buf[128] = "", want[64];
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	assert_killed(probe_under(SECCOMP_TRAP, &mem_store, PROBE_PTRACE, fd));
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	snprintf(want, sizeof(want), "refused system call %d\n", SYS_ptrace);
	ck_assert_msg(strstr(buf, want) != NULL, "stderr: %s", buf);
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(modcaps_words)
{
	ck_assert_int_eq(sandbox_check_modcaps("+sys_admin"), 0);
	ck_assert_int_eq(sandbox_check_modcaps("-mknod:+sys_resource"), 0);
	ck_assert_int_eq(sandbox_check_modcaps("mknod"), -EINVAL);
	ck_assert_int_eq(sandbox_check_modcaps("+no_such_cap"), -EINVAL);
	ck_assert_int_eq(sandbox_check_modcaps("+chown::-fowner"), 0);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, what_the_stores_do_is_allowed);
	tcase_add_test(tc, anything_else_is_fatal);
	tcase_add_test(tc, trap_names_the_call);
	tcase_add_test(tc, modcaps_words);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(sandbox_suite(), "check_sandbox", LOG_LEVEL_ERROR);
}
