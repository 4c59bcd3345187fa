/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox the serving process runs in: namespaces and a root of its
 * own (or a chroot), capabilities cut to what the store needs, an
 * unprivileged account, and a seccomp allow-list.  The daemon opens what
 * it needs from the host first (the vhost-user socket, the cache
 * directory), then enters the sandbox, then opens the store inside it.
 */
#ifndef OBJFSD_SANDBOX_H
#define OBJFSD_SANDBOX_H

#include <stdbool.h>

enum sandbox_mode {
	SANDBOX_DEFAULT,	/* namespace, falling back to none */
	SANDBOX_NAMESPACE,
	SANDBOX_CHROOT,
	SANDBOX_NONE,
};

enum sandbox_seccomp {
	SECCOMP_DEFAULT,	/* kill; log under the sanitizers */
	SECCOMP_KILL,
	SECCOMP_LOG,
	SECCOMP_TRAP,
	SECCOMP_NONE,
};

struct sandbox_options {
	enum sandbox_mode	 mode;
	enum sandbox_seccomp	 seccomp;
	const char		*modcaps;	/* "+cap:-cap", virtiofsd's form */
	const char		*run_as;	/* USER[:GROUP] */
};

/* What the store needs to reach from inside. */
struct sandbox_store {
	const char	*dir;		/* fs: its directory; else NULL */
	const char	*cache_dir;	/* chroot's root without dir */
	bool		 network;	/* s3: sockets, DNS, TLS files */
	bool		 xattr_owners;	/* fs: owners in xattrs, not chown */
	const char	*socket_path;	/* removed by the parent at exit */
};

struct sandbox_result {
	const char	*dir;		/* the store directory, as seen inside */
	bool		 forked;	/* the process outside removes the socket */
};

/*
 * Enter the sandbox.  With namespace and chroot the calling process
 * stays outside, forwards signals, removes the socket at the end and
 * exits with the server's status; only the server returns.  0, or
 * -errno with the reason logged.
 */
int	sandbox_enter(const struct sandbox_options *o,
	    const struct sandbox_store *s, struct sandbox_result *r);
/* The last step, once everything is open: the seccomp allow-list. */
int	sandbox_seccomp(const struct sandbox_options *o,
	    const struct sandbox_store *s);
/* Parses --modcaps and --seccomp/--sandbox words; -EINVAL if bad. */
int	sandbox_check_modcaps(const char *spec);

#endif
