/* SPDX-License-Identifier: MIT */
/*
 * Network back ends (docs/networking.md): where the frames of a guest NIC go on the host. A
 * back end is created by the board from the spec (tap: a Linux TAP interface; user: user-mode
 * networking with libslirp), connected to one device model (e1000, virtio-net) through a
 * struct net_peer, and driven by the main loop through one pollable file descriptor
 * (net_backend_fd): whatever the back end watches inside (tap queues, slirp's sockets and
 * timers, wake-ups from the device) is behind it.
 *
 * Frames travel with offload metadata in the layout of the VIRTIO 1.2 virtio_net_hdr
 * (section 5.1.6): flags (NEEDS_CSUM, DATA_VALID), gso_type, hdr_len, gso_size, csum_start,
 * csum_offset (all little-endian, as on x86 the kernel's tap vnet header is). net_send does in
 * software whatever the back end cannot (a checksum, a TCP segmentation for slirp or a tap
 * without IFF_VNET_HDR).
 *
 * Back-pressure, both ways, never unbounded host memory:
 *  - TX: net_send returns -EAGAIN when the host queue is full (the tap's socket buffer). The
 *    frame is not consumed: the device keeps it on its ring and stops; the back end calls
 *    peer.tx_ready when the host can take more.
 *  - RX: peer.receive returns -EAGAIN when the guest has posted no buffer. The back end keeps
 *    that frame (tap: stops reading the fd, so the kernel queues and then drops; slirp: a
 *    queue of at most NET_RX_QUEUE_FRAMES frames, dropping beyond) until the device calls
 *    net_backend_rx_ready.
 *
 * Threads and locking: every call here, and every peer callback, runs with the VM-wide device
 * lock held: the device calls net_send from its register or queue handlers (a vCPU thread, or
 * the main loop under ioeventfd), the main loop calls net_backend_poll under the lock. Peer
 * callbacks are made from net_backend_poll and net_backend_tx_done only, never from inside
 * net_send or net_backend_rx_ready, so a device is never re-entered. The one exception to
 * "held": a tap back end's poll drops the lock it is given around each read() from the TAP
 * (that touches only the back end's receive buffer, which nothing else uses), so vCPUs that
 * touch a device meanwhile do not wait for the kernel's copies.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/uio.h>

/* 5.1.6 virtio_net_hdr flags and gso_type */
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_HDR_GSO_NONE     0
#define NET_HDR_GSO_TCPV4    1
#define NET_HDR_GSO_UDP	     3
#define NET_HDR_GSO_TCPV6    4
#define NET_HDR_GSO_ECN	     0x80

/* Offload metadata of one frame; the wire layout of struct virtio_net_hdr (10 bytes, LE). */
struct net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
} __attribute__((packed));

_Static_assert(sizeof(struct net_hdr) == 10, "virtio_net_hdr layout");

/* What a back end can take in a frame's metadata (net_backend_caps). */
#define NET_CAP_CSUM (1u << 0) /* frames with NEEDS_CSUM */
#define NET_CAP_TSO4 (1u << 1) /* GSO TCPV4 */
#define NET_CAP_TSO6 (1u << 2) /* GSO TCPV6 */
#define NET_CAP_ECN  (1u << 3)

#define NET_MAX_QUEUES	    8	  /* queue pairs of one back end */
#define NET_MAX_FRAME	    65550 /* an Ethernet frame with a 64 KiB GSO payload and a tag */
#define NET_RX_QUEUE_FRAMES 256	  /* frames slirp may have waiting for the guest's buffers */
#define NET_POLL_FRAMES	    64	  /* frames read per queue in one net_backend_poll */

struct net_backend;

/* The device a back end delivers to. Every callback runs with the device lock held. */
struct net_peer {
	/*
	 * One frame for the guest, on queue pair q (0 unless the back end has several): 0 taken,
	 * -EAGAIN no buffer now (the back end keeps the frame and waits for
	 * net_backend_rx_ready), any other negative errno dropped (filtered, too big, link down).
	 */
	int (*receive)(void *opaque, unsigned q, const struct net_hdr *hdr, const struct iovec *iov,
		       unsigned iovcnt, size_t len);
	/* After net_send returned -EAGAIN on queue q: the host takes frames again. */
	void (*tx_ready)(void *opaque, unsigned q);
	void *opaque;
};

/* Counters of a back end (vm.counters: per NIC, "backend_*"). */
struct net_stats {
	u64 tx_frames, tx_bytes; /* handed to the host */
	u64 tx_blocked;		 /* net_send calls answered -EAGAIN */
	u64 tx_dropped;		 /* frames the host refused (errors, malformed offload requests) */
	u64 tx_segments;	 /* frames built by software segmentation */
	u64 rx_frames, rx_bytes; /* handed to the device */
	u64 rx_dropped;	  /* frames lost: the device refused them, or the wait queue was full */
	u64 rx_waits;	  /* times a frame had to wait for guest buffers */
	u64 rx_coalesced; /* frames merged into segmentation offload frames (user) */
};

/* What a tap back end opens. */
struct net_tap_config {
	const char *name;      /* "net0": for messages */
	const char *ifname;    /* an existing TAP interface (with fds: the one they are on) */
	const int *fds;	       /* nr_queues already-open tap fds (taken over), or NULL */
	unsigned nr_queues;    /* 1..NET_MAX_QUEUES: one fd per queue pair (IFF_MULTI_QUEUE) */
	bool vnet_hdr;	       /* ask for IFF_VNET_HDR (offloads); fds report their own */
	unsigned sndbuf_bytes; /* TUNSETSNDBUF: the host TX queue that back-pressure bounds */
};

/* One hostfwd rule of a user back end. */
struct net_hostfwd {
	bool udp;
	u32 host_addr;	/* IPv4, host byte order; 0 = 127.0.0.1 */
	u16 host_port;	/* 0 refused */
	u32 guest_addr; /* 0 = the address DHCP hands out */
	u16 guest_port;
};

/* What a user (libslirp) back end sets up. Addresses are IPv4 in host byte order. */
struct net_user_config {
	const char *name;     /* "net0" */
	u32 net, mask;	      /* 0: 10.0.2.0/24 */
	bool dns;	      /* answer DNS at the virtual address (.3) from the host's resolvers */
	bool restrict_out;    /* no connection out of the VM except through hostfwd rules */
	unsigned mtu;	      /* 0: 1500; at most 65520 */
	const char *hostname; /* DHCP host name for the guest, or NULL */
	const struct net_hostfwd *fwd;
	unsigned nr_fwd;
	const char *const *fwd_names; /* per rule, for errors ("nics[0].hostfwd[1]"), or NULL */
};

/*
 * Open a tap back end: the interface must exist (no TAP is created: `ip tuntap add`), the
 * caller must be allowed to attach to it. Errors name cfg->name and say what to do: -ENODEV
 * no such interface, -EACCES/-EPERM permission denied, -EINVAL not a TAP or not multi-queue,
 * -EBUSY already attached elsewhere. Main thread.
 */
MUST_CHECK int net_tap_open(const struct net_tap_config *cfg, struct net_backend **out,
			    struct err *err);
/*
 * Start a user back end: DHCP at .2 handing out .15 up, host forwards bound now (-EADDRINUSE
 * and which rule when a port is taken). Main thread.
 */
MUST_CHECK int net_user_open(const struct net_user_config *cfg, struct net_backend **out,
			     struct err *err);

/* Connect the device (copied). Until then received frames are dropped. Device lock held. */
void net_backend_set_peer(struct net_backend *be, const struct net_peer *peer);
/* Queue pairs the back end has (frames of device queue q go to q % this). */
unsigned net_backend_queues(const struct net_backend *be);
/* NET_CAP_* the back end takes natively (net_send emulates the rest). */
unsigned net_backend_caps(const struct net_backend *be);
/* NET_CAP_* the back end can put in received frames (net_backend_set_rx_caps chooses). */
unsigned net_backend_rx_caps(const struct net_backend *be);
/*
 * What the device lets the back end deliver (NET_CAP_*: the guest's negotiated receive
 * offloads). A tap passes them to the kernel (TUNSETOFFLOAD); others deliver plain frames
 * whatever this says. Returns what is in force. Device lock held.
 */
unsigned net_backend_set_rx_caps(struct net_backend *be, unsigned caps);
/* Bytes of vnet header a tap fd carries (0 or 10): for tests and logs. */
unsigned net_backend_vnet_hdr_len(const struct net_backend *be);

/*
 * Send one frame of len bytes (the sum of iov[]) on queue q: 0 sent (or dropped and counted: the frame is consumed either
 * way), -EAGAIN the host queue is full and the frame was not consumed (peer.tx_ready
 * follows). hdr may be NULL (no offload). Device lock held.
 */
MUST_CHECK int net_send(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
			const struct iovec *iov, unsigned iovcnt, size_t len);
/*
 * The device is done with a round of transmits (it may be re-entered now): frames the host
 * made meanwhile for the guest (slirp's answers to what was sent) are delivered at once, not
 * one main-loop turn later. Device lock held.
 */
void net_backend_tx_done(struct net_backend *be);
/* The device posted receive buffers on queue q: frames waiting may come. Device lock held. */
void net_backend_rx_ready(struct net_backend *be, unsigned q);

/* The fd the main loop watches (EPOLLIN); call net_backend_poll when it is readable. */
int net_backend_fd(const struct net_backend *be);
/*
 * Do what is ready: read frames (bounded), run slirp's sockets and timers. lock (the device
 * lock; NULL: none) is held by the caller; a tap drops it around its read() calls (above).
 */
void net_backend_poll(struct net_backend *be, pthread_mutex_t *lock);

const char *net_backend_kind(const struct net_backend *be); /* "tap" or "user" */
void net_backend_stats(const struct net_backend *be, struct net_stats *out);
/* Close everything (forwarded ports, sockets, fds). Main thread, device not using it. */
void net_backend_destroy(struct net_backend *be);

#endif
