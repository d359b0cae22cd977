/* SPDX-License-Identifier: MIT */
/*
 * A network back end for unit tests (net/net.h): it records every frame a device sends (with
 * its offload header), answers sends with what the test says (0, or -EAGAIN to stand for a
 * full host queue), counts the device's rx_ready calls, and hands frames to the device as a
 * real back end's poll would. Single-threaded, like the test platform.
 */
#ifndef TESTS_HARNESS_FAKE_NET_H
#define TESTS_HARNESS_FAKE_NET_H

#include "net/net.h"

#define FAKE_NET_FRAMES 64

struct fake_net_frame {
	unsigned q;
	struct net_hdr hdr;
	size_t len;
	u8 *data;
};

struct fake_net {
	struct net_backend *be;
	int send_ret; /* what the next sends answer (0 or -EAGAIN) */
	unsigned nr_sent;
	struct fake_net_frame sent[FAKE_NET_FRAMES]; /* the first ones */
	unsigned rx_ready[NET_MAX_QUEUES];
	unsigned rx_caps; /* the last net_backend_set_rx_caps */
};

/* A back end with caps (NET_CAP_*) and nq queues. */
void fake_net_init(struct fake_net *f, unsigned caps, unsigned nq);
void fake_net_fini(struct fake_net *f);
/* Frames carry a vnet header on the host side (a TAP with IFF_VNET_HDR): before the device. */
void fake_net_set_vnet_hdr(struct fake_net *f);
/* Forget the frames sent so far. */
void fake_net_clear(struct fake_net *f);
/* Hand a frame to the device (as net_backend_poll would): the device's answer. */
int fake_net_deliver(struct fake_net *f, unsigned q, const struct net_hdr *hdr, const void *frame,
		     size_t len);
/* The host takes frames again on queue q: the device's tx_ready. */
void fake_net_tx_ready(struct fake_net *f, unsigned q);

#endif
