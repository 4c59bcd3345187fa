/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox, as QEMU's virtiofsd builds its own, entered after the
 * socket and the cache directory are open and before the store is:
 *
 *   namespace  new mount, pid, ipc and uts namespaces (and network, when
 *              the store needs none); a user namespace first when not
 *              root.  The root becomes an empty read-only tmpfs holding
 *              the store directory (fs:) and, for s3:, read-only copies
 *              of what name resolution and TLS read; the old root is
 *              detached.  The calling process stays outside the pid
 *              namespace, forwards signals to the server and exits with
 *              its status.
 *   chroot     chroot(2) into the store directory (fs:) or the cache
 *              directory (mem:).
 *   none       the host as it is.
 *
 * Then, in every mode: --run-as, capabilities cut to what the store needs
 * (fs: as root keeps the ones that set owners, modes and device nodes;
 * everything else keeps none), and no new privileges.  The seccomp
 * allow-list comes last (seccomp.c), once everything is open.
 */
#include "config.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

#define NEWROOT		"/tmp"		/* where the new root is built */
/* Where a capability that stays is kept: and no more can come back. */
#define CAPS_KEPT	(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET)

/* What s3: reads at run time, kept read-only inside. */
static const char *const network_paths[] = {
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
	"/etc/gai.conf", "/etc/host.conf", "/etc/ssl", "/usr/lib/ssl",
	"/usr/share/ca-certificates", "/etc/pki", NULL,
};

struct run_as {
	bool	 set;
	uid_t	 uid;
	gid_t	 gid;
};

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* The caller's own ids map to themselves: files keep their owners. */
static int
enter_user_ns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int rc;

	if (unshare(CLONE_NEWUSER) != 0)
		return -errno;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((rc = write_file("/proc/self/uid_map", map)) != 0)
		return rc;
	(void)write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

static int
resolve_run_as(const char *spec, struct run_as *ra)
{
	char user[256], *group;
	struct passwd *pw;
	struct group *gr;

	ra->set = false;
	if (spec == NULL)
		return 0;
	if (strlen(spec) >= sizeof(user))
		return -EINVAL;
	strcpy(user, spec);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("--run-as: no user \"%s\"", user);
		return -ENOENT;
	}
	ra->uid = pw->pw_uid;
	ra->gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			log_warnx("--run-as: no group \"%s\"", group);
			return -ENOENT;
		}
		ra->gid = gr->gr_gid;
	}
	ra->set = true;
	return 0;
}

/*
 * Outside the pid namespace: hand every signal the daemon acts on to the
 * server, and leave with its status once it is gone.  The signals are
 * blocked already (the vhost-user server reads them from a signalfd).
 */
static void __attribute__((noreturn))
forward_until_exit(pid_t child, const char *socket_path)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	    SIGUSR1, SIGUSR2, SIGCHLD };
	siginfo_t si;
	sigset_t set;
	int status;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* No fd of the server's stays open here: a frontend sees it go. */
	closefrom(3);
	for (;;) {
		if (sigwaitinfo(&set, &si) == -1)
			continue;
		if (si.si_signo != SIGCHLD)
			kill(child, si.si_signo);
		else if (waitpid(child, &status, WNOHANG) == child)
			break;
	}
	if (socket_path != NULL)
		unlink(socket_path);
	if (WIFSIGNALED(status))
		log_warnx("the server was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	/*
	 * _exit: nothing here is ours to clean up, and a process can no
	 * longer fork into a pid namespace whose pid 1 is gone (the leak
	 * checker's tracer would fail with ENOMEM).
	 */
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
	    WEXITSTATUS(status));
}

/* A path of the old root, bound read-only at the same place inside. */
static int
bind_readonly(const char *path)
{
	char target[512], *slash;
	struct stat st;
	int fd;

	if (stat(path, &st) != 0)
		return 0;		/* not on this host: not needed */
	snprintf(target, sizeof(target), NEWROOT "%s", path);
	for (slash = strchr(target + sizeof(NEWROOT), '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(target, 0755);
		*slash = '/';
	}
	if (S_ISDIR(st.st_mode))
		(void)mkdir(target, 0755);
	else if ((fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) >= 0)
		close(fd);
	if (mount(path, target, NULL, MS_BIND | MS_REC, NULL) != 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV, NULL) != 0) {
		log_warn("sandbox: cannot bind %s", path);
		return -errno;
	}
	return 0;
}

/*
 * The new root: a tmpfs over NEWROOT with the store directory (by fd,
 * so NEWROOT may hide it) and the read-only paths, made the root.
 */
static int
build_root(const struct sandbox_store *s, int dirfd)
{
	char src[64];
	int rc = 0;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("objfsd", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "size=256k,mode=0755") != 0) {
		log_warn("sandbox: cannot mount its root");
		return -errno;
	}
	if (dirfd >= 0) {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", dirfd);
		if (mkdir(NEWROOT "/store", 0755) != 0 ||
		    mount(src, NEWROOT "/store", NULL, MS_BIND | MS_REC,
		    NULL) != 0) {
			log_warn("sandbox: cannot bind %s", s->dir);
			return -errno;
		}
	}
	for (size_t i = 0; s->network && network_paths[i] && rc == 0; i++)
		rc = bind_readonly(network_paths[i]);
	/*
	 * A /proc of the new pid namespace, which shows only the server:
	 * glibc's chmod of a path without following links goes through
	 * /proc/self/fd on kernels before 6.6, and the sanitizers' leak
	 * checker reads /proc/self/maps.
	 */
	if (rc == 0 && (mkdir(NEWROOT "/proc", 0555) != 0 ||
	    mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, NULL) != 0))
		log_warn("sandbox: no /proc inside");
	return rc;
}

static int
pivot_into(const char *dir)
{
	if (chdir(dir) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
		log_warn("sandbox: cannot make %s the root", dir);
		return -errno;
	}
	/* Nothing can be made beside what was bound in. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	    MS_NODEV | MS_NOEXEC, NULL) != 0)
		log_warn("sandbox: its root stays writable");
	return 0;
}

/*
 * The process outside enters only the user namespace (when not root) and
 * makes the pid namespace for its child: it keeps the host's view, to
 * remove the socket at the end.  The child, pid 1 inside, makes the rest.
 */
static int
unshare_outside(void)
{
	int rc = 0;

	if (geteuid() != 0)
		rc = enter_user_ns();
	if (rc == 0 && unshare(CLONE_NEWPID) != 0)
		rc = -errno;
	return rc;
}

/* The process outside waits; the child goes on to serve. */
static int
fork_server(const struct sandbox_store *s, struct sandbox_result *r)
{
	pid_t child;

	if ((child = fork()) == -1)
		return -errno;
	if (child > 0)
		forward_until_exit(child, s->socket_path);
	/* The server: it goes when the process outside does. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r->forked = true;
	return 0;
}

static int
enter_namespaces(const struct sandbox_store *s, bool fallback,
    struct sandbox_result *r)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	int dirfd = -1, rc;

	if (!s->network)
		flags |= CLONE_NEWNET;
	if ((rc = unshare_outside()) != 0) {
		if (!fallback) {
			log_warnx("sandbox: cannot make namespaces: %s",
			    strerror(-rc));
			return rc;
		}
		log_warnx("sandbox: no namespaces for this user here (%s); "
		    "running without one (--sandbox=none)", strerror(-rc));
		return 0;
	}
	if ((rc = fork_server(s, r)) != 0)
		return rc;
	if (unshare(flags) != 0) {
		log_warn("sandbox: cannot make namespaces");
		return -errno;
	}
	sethostname("objfsd", 6);
	if (s->dir != NULL &&
	    (dirfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("sandbox: %s", s->dir);
		return -errno;
	}
	rc = build_root(s, dirfd);
	if (rc == 0)
		rc = pivot_into(NEWROOT);
	if (dirfd != -1)
		close(dirfd);
	if (rc == 0 && s->dir != NULL)
		r->dir = "/store";
	return rc;
}

static int
enter_chroot(const struct sandbox_store *s, struct sandbox_result *r)
{
	const char *root = s->dir != NULL ? s->dir : s->cache_dir;
	int rc;

	if (s->network) {
		log_warnx("--sandbox=chroot cannot serve s3: (name resolution "
		    "and TLS read files outside); use namespace or none");
		return -EINVAL;
	}
	/* Outside stays a process that can reach the socket to remove it. */
	if ((rc = fork_server(s, r)) != 0)
		return rc;
	if (chroot(root) != 0 || chdir("/") != 0) {
		log_warn("sandbox: cannot chroot into %s", root);
		return -errno;
	}
	if (s->dir != NULL)
		r->dir = "/";
	return 0;
}

static int
switch_user(const struct run_as *ra)
{
	if (!ra->set)
		return 0;
	if (setgroups(0, NULL) != 0 || setresgid(ra->gid, ra->gid, ra->gid) ||
	    setresuid(ra->uid, ra->uid, ra->uid) != 0) {
		log_warn("--run-as: cannot become %u:%u", (unsigned)ra->uid,
		    (unsigned)ra->gid);
		return -EPERM;
	}
	return 0;
}

/* One "+name" or "-name" of --modcaps. */
static int
modcap_one(const char *word, bool apply)
{
	int cap;

	if ((word[0] != '+' && word[0] != '-') ||
	    (cap = capng_name_to_capability(word + 1)) < 0)
		return -EINVAL;
	if (apply)
		capng_update(word[0] == '+' ? CAPNG_ADD : CAPNG_DROP,
		    CAPS_KEPT, (unsigned)cap);
	return 0;
}

static int
modcaps_walk(const char *spec, bool apply)
{
	char buf[512], *word, *save;
	int rc = 0;

	if (spec == NULL)
		return 0;
	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (word = strtok_r(buf, ":", &save); word != NULL && rc == 0;
	    word = strtok_r(NULL, ":", &save))
		rc = modcap_one(word, apply);
	return rc;
}

int
sandbox_check_modcaps(const char *spec)
{
	return modcaps_walk(spec, false);
}

/*
 * fs: as root with native owners sets owners, modes and times of files it
 * does not own and makes device nodes: those capabilities stay.  Nothing
 * else needs any: xattr owners keep every file the daemon's own, with
 * owner-only host modes, and write the guest's owners as records.
 */
static int
drop_capabilities(const struct sandbox_options *o,
    const struct sandbox_store *s)
{
	bool bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);

	capng_clear(CAPNG_SELECT_ALL);
	if (s->dir != NULL && !s->xattr_owners && geteuid() == 0)
		capng_updatev(CAPNG_ADD, CAPS_KEPT,
		    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
		    CAP_FOWNER, CAP_FSETID, CAP_SETGID, CAP_SETUID, CAP_MKNOD,
		    -1);
	(void)modcaps_walk(o->modcaps, true);
	if (capng_apply(bounds ? CAPNG_SELECT_ALL : CAPNG_SELECT_BOTH) != 0) {
		log_warnx("sandbox: cannot drop capabilities");
		return -EPERM;
	}
	return 0;
}

int
sandbox_enter(const struct sandbox_options *o, const struct sandbox_store *s,
    struct sandbox_result *r)
{
	struct run_as ra;
	int rc;

	r->dir = s->dir;
	r->forked = false;
	/* Read while the host's files are there. */
	tzset();
	if ((rc = resolve_run_as(o->run_as, &ra)) != 0)
		return rc;
	switch (o->mode) {
	case SANDBOX_DEFAULT:
		rc = enter_namespaces(s, true, r);
		break;
	case SANDBOX_NAMESPACE:
		rc = enter_namespaces(s, false, r);
		break;
	case SANDBOX_CHROOT:
		rc = enter_chroot(s, r);
		break;
	case SANDBOX_NONE:
		break;
	}
	if (rc == 0)
		rc = switch_user(&ra);
	if (rc == 0)
		rc = drop_capabilities(o, s);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = -errno;
	return rc;
}
