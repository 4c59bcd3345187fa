/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fakefront: a small vhost-user frontend that plays QEMU against a backend
 * socket, for tests and benchmarks.
 *
 * It negotiates features, shares guest memory as memfds split into two
 * regions at non-zero guest-physical addresses, lays out split rings in
 * that memory, submits direct and indirect chains, kicks, waits on the call
 * eventfd and reads the used ring.  Raw access to every piece is exposed
 * so tests can also play a hostile frontend or guest.
 */
#ifndef OBJFSD_FAKEFRONT_H
#define OBJFSD_FAKEFRONT_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vu_proto.h"

#define FF_MAX_QUEUES	16
#define FF_NREGIONS	2
#define FF_REGION_GPA0	0x00100000ULL
#define FF_REGION_GPA1	0x40000000ULL

struct ff_region {
	uint64_t	 gpa;
	uint64_t	 size;
	uint64_t	 offset;	/* in the memfd */
	uint8_t		*host;
	uint64_t	 next;		/* bump allocator, offset in region */
};

struct ff_queue {
	uint16_t		 num;
	uint64_t		 desc_gpa, avail_gpa, used_gpa;
	struct vring_desc	*desc;
	struct vring_avail	*avail;
	struct vring_used	*used;
	uint16_t		 avail_idx;
	uint16_t		 last_used;
	uint16_t		*free;		/* free descriptor stack */
	unsigned		 nfree;
	uint16_t		*chain_len;	/* per head, 0 if indirect */
	uint64_t		*indirect_gpa;	/* per head, reused */
	unsigned		*indirect_cap;
	int			 kick_fd, call_fd, err_fd;
};

struct ff {
	int		 sock;
	int		 backend_fd;	/* our end of the backend channel */
	int		 memfd;
	uint8_t		*mem;
	size_t		 mem_len;
	struct ff_region region[FF_NREGIONS];
	struct ff_queue	 q[FF_MAX_QUEUES];
	unsigned	 nqueues;
	uint64_t	 features;
	uint64_t	 protocol_features;
};

struct ff_buf {
	uint64_t	gpa;
	uint32_t	len;
	bool		writable;
};

/* Connection and raw messages. */
struct ff	*ff_connect(const char *path);
struct ff	*ff_adopt(int sock);
void		 ff_close(struct ff *ff);
int	ff_send(struct ff *ff, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned nfds);
int	ff_recv(struct ff *ff, struct vu_header *hdr, void *payload,
	    size_t max, int timeout_ms);
int	ff_call(struct ff *ff, uint32_t req, const void *payload,
	    uint32_t size, const int *fds, unsigned nfds);
int	ff_get_u64(struct ff *ff, uint32_t req, uint64_t *out);
int	ff_set_u64(struct ff *ff, uint32_t req, uint64_t v);
int	ff_vring_state(struct ff *ff, uint32_t req, unsigned idx,
	    uint32_t num);
int	ff_get_vring_base(struct ff *ff, unsigned idx, uint32_t *base);
bool	ff_peer_closed(struct ff *ff, int timeout_ms);

/* Bring-up. */
int	ff_negotiate(struct ff *ff, uint64_t features, uint64_t pfeatures);
int	ff_setup_memory(struct ff *ff, size_t region_size, bool add_mem_reg);
int	ff_setup_queue(struct ff *ff, unsigned idx, uint16_t num);
int	ff_start(struct ff *ff, unsigned nqueues, uint16_t num);
uint64_t ff_default_features(void);
uint64_t ff_default_protocol_features(void);

/* Guest memory. */
uint64_t ff_alloc(struct ff *ff, unsigned region, size_t size, size_t align);
void	*ff_host(struct ff *ff, uint64_t gpa);

/* Rings. */
int	ff_submit(struct ff *ff, unsigned q, const struct ff_buf *bufs,
	    unsigned n, bool indirect);
void	ff_publish(struct ff *ff, unsigned q, uint16_t head);
int	ff_kick(struct ff *ff, unsigned q);
int	ff_wait_used(struct ff *ff, unsigned q, int timeout_ms, uint16_t *id,
	    uint32_t *len);
int	ff_poll_used(struct ff *ff, unsigned q, uint16_t *id, uint32_t *len);
bool	ff_err_signalled(struct ff *ff, unsigned q, int timeout_ms);

/* Backend channel. */
int	ff_backend_answer(struct ff *ff, int timeout_ms, uint64_t status,
	    struct vu_header *hdr);

/* A daemon under test. */
struct ff_daemon {
	pid_t	pid;
	char	dir[64];
	char	sock[128];
	char	log[128];
};

int	ff_daemon_start(struct ff_daemon *d, const char *binary,
	    const char *const *extra_args);
int	ff_daemon_stop(struct ff_daemon *d);
bool	ff_daemon_alive(const struct ff_daemon *d);
/* Counts of the serving process (ff_server_pid). */
pid_t	ff_server_pid(pid_t pid);
int	ff_count_fds(pid_t pid);
int	ff_count_maps(pid_t pid, const char *containing);
bool	ff_log_contains(const struct ff_daemon *d, const char *needle,
	    int timeout_ms);

#endif
