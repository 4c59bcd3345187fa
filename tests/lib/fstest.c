/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fstest: system calls on a mounted file system, one result per call, for
 * the guest's POSIX conformance workload (tests/e2e/guest-posix.sh).  In
 * the style of pjdfstest's fstest, built static so it runs in the guest's
 * busybox initramfs:
 *
 *	fstest [-u UID] [-g GID] CALL ARGS... [: CALL ARGS...]...
 *
 * Each call prints one line: "0" on success, the errno's name on failure,
 * or for stat and fstat the field asked for.  A call's result that is a
 * descriptor (open) is kept and named by its number of order: "open a
 * O_RDWR : ftruncate 0 5" truncates through the first descriptor opened.
 * -u and -g switch the credentials (setgroups, setgid, setuid) first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FDS		16

static int fds[MAX_FDS];
static int nfds;

static const struct { const char *name; int value; } errnames[] = {
#define E(x) { #x, x }
	E(EPERM), E(ENOENT), E(EIO), E(EBADF), E(EACCES), E(EEXIST),
	E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(EMFILE),
	E(ETXTBSY), E(EFBIG), E(ENOSPC), E(EROFS), E(EMLINK), E(ENAMETOOLONG),
	E(ENOTEMPTY), E(ELOOP), E(ENOSYS), E(ENOTSUP), E(ENODATA), E(ERANGE),
	E(EFAULT), E(EBUSY), E(EOVERFLOW), E(EADDRINUSE), E(ENXIO),
#undef E
};

static const struct { const char *name; int value; } oflags[] = {
#define F(x) { #x, x }
	F(O_RDONLY), F(O_WRONLY), F(O_RDWR), F(O_CREAT), F(O_EXCL), F(O_TRUNC),
	F(O_APPEND), F(O_NOFOLLOW), F(O_DIRECTORY), F(O_NONBLOCK), F(O_PATH),
#undef F
};

static void
result(int rc)
{
	size_t i;

	if (rc >= 0) {
		puts("0");
		return;
	}
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].value == errno) {
			puts(errnames[i].name);
			return;
		}
	printf("errno%d\n", errno);
}

static int
parse_flags(const char *s)
{
	char buf[256], *tok, *save = NULL;
	int flags = 0;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(oflags) / sizeof(oflags[0]); i++)
			if (strcmp(oflags[i].name, tok) == 0)
				break;
		if (i == sizeof(oflags) / sizeof(oflags[0])) {
			fprintf(stderr, "fstest: unknown flag %s\n", tok);
			exit(2);
		}
		flags |= oflags[i].value;
	}
	return flags;
}

static long
num(const char *s)
{
	return strtol(s, NULL, 0);
}

static int
fd_of(const char *s)
{
	long n = num(s);

	if (n < 0 || n >= nfds) {
		fprintf(stderr, "fstest: no descriptor %s\n", s);
		exit(2);
	}
	return fds[n];
}

static const char *
type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "regular";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFBLK: return "block";
	case S_IFCHR: return "char";
	}
	return "unknown";
}

static void
print_field(const struct stat *st, const char *f)
{
	if (strcmp(f, "mode") == 0)
		printf("0%o\n", (unsigned)(st->st_mode & 07777));
	else if (strcmp(f, "type") == 0)
		puts(type_of(st->st_mode));
	else if (strcmp(f, "uid") == 0)
		printf("%u\n", (unsigned)st->st_uid);
	else if (strcmp(f, "gid") == 0)
		printf("%u\n", (unsigned)st->st_gid);
	else if (strcmp(f, "nlink") == 0)
		printf("%lu\n", (unsigned long)st->st_nlink);
	else if (strcmp(f, "size") == 0)
		printf("%lld\n", (long long)st->st_size);
	else if (strcmp(f, "rdev") == 0)
		printf("%u,%u\n", major(st->st_rdev), minor(st->st_rdev));
	else if (strcmp(f, "atime") == 0)
		printf("%lld\n", (long long)st->st_atim.tv_sec);
	else if (strcmp(f, "mtime") == 0)
		printf("%lld\n", (long long)st->st_mtim.tv_sec);
	else if (strcmp(f, "ctime") == 0)
		printf("%lld\n", (long long)st->st_ctim.tv_sec);
	else if (strcmp(f, "atime_ns") == 0)
		printf("%ld\n", st->st_atim.tv_nsec);
	else if (strcmp(f, "mtime_ns") == 0)
		printf("%ld\n", st->st_mtim.tv_nsec);
	else if (strcmp(f, "ctime_ns") == 0)
		printf("%ld\n", st->st_ctim.tv_nsec);
	else {
		fprintf(stderr, "fstest: unknown field %s\n", f);
		exit(2);
	}
}

static void
do_stat(int rc, const struct stat *st, const char *field)
{
	if (rc < 0)
		result(rc);
	else
		print_field(st, field);
}

static struct timespec
time_arg(const char *sec, const char *nsec)
{
	struct timespec ts = { .tv_sec = num(sec), .tv_nsec = num(nsec) };

	if (strcmp(nsec, "UTIME_NOW") == 0)
		ts.tv_nsec = UTIME_NOW;
	else if (strcmp(nsec, "UTIME_OMIT") == 0)
		ts.tv_nsec = UTIME_OMIT;
	return ts;
}

static int
bind_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0), rc;

	if (s < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	rc = bind(s, (struct sockaddr *)&sun, sizeof(sun));
	close(s);
	return rc;
}

static mode_t
node_type(const char *s)
{
	if (strcmp(s, "b") == 0)
		return S_IFBLK;
	if (strcmp(s, "c") == 0)
		return S_IFCHR;
	if (strcmp(s, "f") == 0)
		return S_IFIFO;
	return S_IFREG;
}

/* Runs one call of argc words (its name first); returns the words used. */
static int
call(char **a, int argc)
{
	struct stat st;
	const char *c = a[0];
	int rc, fd;

#define NEED(n) do { if (argc < (n) + 1) goto usage; } while (0)
	if (strcmp(c, "open") == 0) {
		NEED(2);
		rc = fd = open(a[1], parse_flags(a[2]), argc > 3 ? (mode_t)num(a[3]) : 0);
		if (fd >= 0 && nfds < MAX_FDS)
			fds[nfds++] = fd;
		result(rc);
		return argc > 3 ? 4 : 3;
	}
	if (strcmp(c, "close") == 0) { NEED(1); result(close(fd_of(a[1]))); return 2; }
	if (strcmp(c, "mkdir") == 0) { NEED(2); result(mkdir(a[1], num(a[2]))); return 3; }
	if (strcmp(c, "rmdir") == 0) { NEED(1); result(rmdir(a[1])); return 2; }
	if (strcmp(c, "unlink") == 0) { NEED(1); result(unlink(a[1])); return 2; }
	if (strcmp(c, "rename") == 0) { NEED(2); result(rename(a[1], a[2])); return 3; }
	if (strcmp(c, "link") == 0) { NEED(2); result(link(a[1], a[2])); return 3; }
	if (strcmp(c, "symlink") == 0) { NEED(2); result(symlink(a[1], a[2])); return 3; }
	if (strcmp(c, "mkfifo") == 0) { NEED(2); result(mkfifo(a[1], num(a[2]))); return 3; }
	if (strcmp(c, "bind") == 0) { NEED(1); result(bind_socket(a[1])); return 2; }
	if (strcmp(c, "mknod") == 0) {
		NEED(5);
		result(mknod(a[1], node_type(a[2]) | num(a[3]),
		    makedev(num(a[4]), num(a[5]))));
		return 6;
	}
	if (strcmp(c, "chmod") == 0) { NEED(2); result(chmod(a[1], num(a[2]))); return 3; }
	if (strcmp(c, "fchmod") == 0) { NEED(2); result(fchmod(fd_of(a[1]), num(a[2]))); return 3; }
	if (strcmp(c, "chown") == 0) { NEED(3); result(chown(a[1], num(a[2]), num(a[3]))); return 4; }
	if (strcmp(c, "lchown") == 0) { NEED(3); result(lchown(a[1], num(a[2]), num(a[3]))); return 4; }
	if (strcmp(c, "truncate") == 0) { NEED(2); result(truncate(a[1], num(a[2]))); return 3; }
	if (strcmp(c, "ftruncate") == 0) { NEED(2); result(ftruncate(fd_of(a[1]), num(a[2]))); return 3; }
	if (strcmp(c, "write") == 0) {
		NEED(2);
		rc = write(fd_of(a[1]), a[2], strlen(a[2]));
		result(rc);
		return 3;
	}
	if (strcmp(c, "fsync") == 0) { NEED(1); result(fsync(fd_of(a[1]))); return 2; }
	if (strcmp(c, "stat") == 0) { NEED(2); rc = stat(a[1], &st); do_stat(rc, &st, a[2]); return 3; }
	if (strcmp(c, "lstat") == 0) { NEED(2); rc = lstat(a[1], &st); do_stat(rc, &st, a[2]); return 3; }
	if (strcmp(c, "fstat") == 0) { NEED(2); rc = fstat(fd_of(a[1]), &st); do_stat(rc, &st, a[2]); return 3; }
	if (strcmp(c, "utimensat") == 0) {
		struct timespec ts[2];

		NEED(5);
		ts[0] = time_arg(a[2], a[3]);
		ts[1] = time_arg(a[4], a[5]);
		result(utimensat(AT_FDCWD, a[1], ts, 0));
		return 6;
	}
	if (strcmp(c, "setxattr") == 0) {
		NEED(3);
		result(setxattr(a[1], a[2], a[3], strlen(a[3]), 0));
		return 4;
	}
	if (strcmp(c, "readlink") == 0) {
		char buf[4096];
		ssize_t n;

		NEED(1);
		if ((n = readlink(a[1], buf, sizeof(buf) - 1)) < 0)
			result(-1);
		else
			printf("%.*s\n", (int)n, buf);
		return 2;
	}
usage:
	fprintf(stderr, "fstest: bad call %s\n", c);
	exit(2);
#undef NEED
}

int
main(int argc, char **argv)
{
	int opt, i, n;
	long uid = -1, gid = -1;

	while ((opt = getopt(argc, argv, "+u:g:")) != -1) {
		if (opt == 'u')
			uid = num(optarg);
		else if (opt == 'g')
			gid = num(optarg);
		else
			return 2;
	}
	umask(0);
	if (gid >= 0) {
		gid_t g = (gid_t)gid;

		if (setgroups(1, &g) < 0 || setgid(g) < 0)
			return perror("fstest: setgid"), 2;
	}
	if (uid >= 0 && setuid((uid_t)uid) < 0)
		return perror("fstest: setuid"), 2;
	for (i = optind; i < argc; i += n + 1) {
		int words = 0;

		while (i + words < argc && strcmp(argv[i + words], ":") != 0)
			words++;
		if (words == 0)
			return 2;
		n = call(argv + i, words);
		if (n != words) {
			fprintf(stderr, "fstest: %s takes %d words, given %d\n", argv[i], n, words);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
