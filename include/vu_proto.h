/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user wire protocol (QEMU docs/interop/vhost-user.rst).
 *
 * The kernel's <linux/vhost_types.h> supplies the vring structs; what is
 * only in the vhost-user specification is defined here.  All numbers are
 * in the machine's native byte order.
 */
#ifndef OBJFSD_VU_PROTO_H
#define OBJFSD_VU_PROTO_H

#include <linux/vhost_types.h>
#include <stdint.h>

enum vu_request {
	VU_NONE = 0,
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_GET_SHARED_OBJECT = 41,
	VU_SET_DEVICE_STATE_FD = 42,
	VU_CHECK_DEVICE_STATE = 43,
	VU_REQUEST_MAX
};

/* Requests the backend sends on the backend channel. */
enum vu_backend_request {
	VU_BACKEND_IOTLB_MSG = 1,
	VU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VU_BACKEND_VRING_CALL = 4,
	VU_BACKEND_VRING_ERR = 5,
	VU_BACKEND_SHARED_OBJECT_ADD = 6,
	VU_BACKEND_SHARED_OBJECT_REMOVE = 7,
	VU_BACKEND_SHARED_OBJECT_LOOKUP = 8,
};

enum vu_protocol_feature {
	VU_PROTOCOL_F_MQ = 0,
	VU_PROTOCOL_F_LOG_SHMFD = 1,
	VU_PROTOCOL_F_RARP = 2,
	VU_PROTOCOL_F_REPLY_ACK = 3,
	VU_PROTOCOL_F_MTU = 4,
	VU_PROTOCOL_F_BACKEND_REQ = 5,
	VU_PROTOCOL_F_CROSS_ENDIAN = 6,
	VU_PROTOCOL_F_CRYPTO_SESSION = 7,
	VU_PROTOCOL_F_PAGEFAULT = 8,
	VU_PROTOCOL_F_CONFIG = 9,
	VU_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VU_PROTOCOL_F_HOST_NOTIFIER = 11,
	VU_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VU_PROTOCOL_F_RESET_DEVICE = 13,
	VU_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VU_PROTOCOL_F_STATUS = 16,
	VU_PROTOCOL_F_XEN_MMAP = 17,
	VU_PROTOCOL_F_SHARED_OBJECT = 18,
	VU_PROTOCOL_F_DEVICE_STATE = 19,
};

#define VU_F_PROTOCOL_FEATURES	30	/* a virtio feature bit */

#define VU_VERSION		0x1u
#define VU_FLAG_VERSION_MASK	0x3u
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)

#define VU_MAX_FDS		8
#define VU_MEM_TABLE_MAX	8
#define VU_VRING_IDX_MASK	0xffu
#define VU_VRING_NOFD		(1u << 8)

struct vu_header {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;
} __attribute__((packed));

struct vu_region {
	uint64_t	guest_phys_addr;
	uint64_t	memory_size;
	uint64_t	userspace_addr;
	uint64_t	mmap_offset;
};

struct vu_mem_table {
	uint32_t	 nregions;
	uint32_t	 padding;
	struct vu_region regions[VU_MEM_TABLE_MAX];
};

struct vu_single_region {
	uint64_t	 padding;
	struct vu_region region;
};

/* Largest payload any known request carries (SET_CONFIG: 12 + 256). */
#define VU_MAX_PAYLOAD		4096

#endif
