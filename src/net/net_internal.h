/* SPDX-License-Identifier: MIT */
/*
 * Between net.c (the back-end core: software offloads, counters, the poll fd) and the back
 * ends (tap.c, user.c). Never included outside src/net.
 */
#ifndef NET_NET_INTERNAL_H
#define NET_NET_INTERNAL_H

#include "net/net.h"

struct net_backend_ops {
	const char *kind;
	/* Send one frame whose offloads the back end has (caps); same returns as net_send. */
	int (*send)(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
		    const struct iovec *iov, unsigned iovcnt, size_t len);
	void (*rx_ready)(struct net_backend *be, unsigned q);
	void (*tx_done)(struct net_backend *be); /* optional */
	unsigned (*set_rx_caps)(struct net_backend *be, unsigned caps);
	void (*poll)(struct net_backend *be, pthread_mutex_t *lock); /* net_backend_poll */
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char name[32];
	struct net_peer peer;
	bool has_peer;
	unsigned nr_queues;
	unsigned caps;	       /* NET_CAP_* send takes natively */
	unsigned rx_caps;      /* NET_CAP_* received frames may carry, if the device wants */
	unsigned vnet_hdr_len; /* tap: bytes of header on the fd */
	int epfd;	       /* what the main loop watches */
	struct net_stats stats;
	u8 *linear;  /* NET_MAX_FRAME: frames flattened for software offloads */
	u8 *segment; /* NET_MAX_FRAME: one segment of a software TSO */
};

/* Fill the common part (epoll fd, buffers). 0, or a negative errno with err set. */
MUST_CHECK int net_backend_init(struct net_backend *be, const struct net_backend_ops *ops,
				const char *name, struct err *err);
/* Free the common part (the back end frees its own first, then be). */
void net_backend_fini(struct net_backend *be);
/*
 * Hand one frame to the peer and count it: the peer's answer (0, -EAGAIN, other: dropped,
 * counted in rx_dropped).
 */
int net_backend_deliver(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
			const struct iovec *iov, unsigned iovcnt, size_t len);

#endif
