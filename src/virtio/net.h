/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (VIRTIO 1.2 section 5.1) on the modern PCI transport, over a network back end
 * (net/net.h). Offered: MAC, STATUS (link), CSUM / GUEST_CSUM, HOST_TSO4/6 (segmented in
 * software when the back end cannot), GUEST_TSO4/6 and GUEST_ECN where the back end delivers
 * GSO frames (a tap with a vnet header), MRG_RXBUF, MTU (when configured), the control queue
 * with CTRL_RX, CTRL_RX_EXTRA, CTRL_VLAN, CTRL_MAC_ADDR and GUEST_ANNOUNCE, and MQ (queue
 * pairs), plus INDIRECT_DESC and EVENT_IDX.
 *
 * Locking: as virtio-blk (blk.h): queue notifications arrive with the device lock held (a bus
 * write under BT, the main loop's ioeventfd under KVM); the back end calls back (received
 * frames, TX room) from the main loop with the device lock held. virtio_net_set_link takes
 * the lock itself.
 */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include "devices/pci.h"
#include "net/net.h"
#include "virtio/virtio_pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

/* 5.1.3 feature bits */
#define VIRTIO_NET_F_CSUM		 0
#define VIRTIO_NET_F_GUEST_CSUM		 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		 3
#define VIRTIO_NET_F_MAC		 5
#define VIRTIO_NET_F_GUEST_TSO4		 7
#define VIRTIO_NET_F_GUEST_TSO6		 8
#define VIRTIO_NET_F_GUEST_ECN		 9
#define VIRTIO_NET_F_GUEST_UFO		 10
#define VIRTIO_NET_F_HOST_TSO4		 11
#define VIRTIO_NET_F_HOST_TSO6		 12
#define VIRTIO_NET_F_HOST_ECN		 13
#define VIRTIO_NET_F_HOST_UFO		 14
#define VIRTIO_NET_F_MRG_RXBUF		 15
#define VIRTIO_NET_F_STATUS		 16
#define VIRTIO_NET_F_CTRL_VQ		 17
#define VIRTIO_NET_F_CTRL_RX		 18
#define VIRTIO_NET_F_CTRL_VLAN		 19
#define VIRTIO_NET_F_CTRL_RX_EXTRA	 20
#define VIRTIO_NET_F_GUEST_ANNOUNCE	 21
#define VIRTIO_NET_F_MQ			 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR	 23
/* 5.1.4 configuration layout and status bits */
#define VIRTIO_NET_CFG_MAC	 0
#define VIRTIO_NET_CFG_STATUS	 6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_MTU	 10
#define VIRTIO_NET_CFG_SIZE	 12
#define VIRTIO_NET_S_LINK_UP	 1
#define VIRTIO_NET_S_ANNOUNCE	 2
/* 5.1.6 the header before every frame (virtio_net_hdr with num_buffers, VERSION_1) */
#define VIRTIO_NET_HDR_LEN 12
/* 5.1.6.5 control queue: classes, commands, acks */
#define VIRTIO_NET_CTRL_RX		0
#define VIRTIO_NET_CTRL_RX_PROMISC	0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	1
#define VIRTIO_NET_CTRL_RX_ALLUNI	2
#define VIRTIO_NET_CTRL_RX_NOMULTI	3
#define VIRTIO_NET_CTRL_RX_NOUNI	4
#define VIRTIO_NET_CTRL_RX_NOBCAST	5
#define VIRTIO_NET_CTRL_MAC		1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	1
#define VIRTIO_NET_CTRL_VLAN		2
#define VIRTIO_NET_CTRL_VLAN_ADD	0
#define VIRTIO_NET_CTRL_VLAN_DEL	1
#define VIRTIO_NET_CTRL_ANNOUNCE	3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK	0
#define VIRTIO_NET_CTRL_MQ		4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK			0
#define VIRTIO_NET_ERR			1

#define VIRTIO_NET_MAX_PAIRS ((VIRTIO_MAX_QUEUES - 1) / 2) /* rx + tx each, and ctrl */
#define VIRTIO_NET_MAC_TABLE 64 /* unicast + multicast entries kept; more: accept all */

struct virtio_net_config {
	const char *name; /* "net0" */
	u8 mac[6];
	unsigned queue_pairs;	/* 1..VIRTIO_NET_MAX_PAIRS; 0 = 1 */
	unsigned queue_size;	/* power of two <= 1024; 0 = 256 */
	unsigned mtu;		/* 0: not advertised; else 68..65535 with VIRTIO_NET_F_MTU */
	struct net_backend *be; /* must outlive the device */
};

struct virtio_net;
struct device_ops;

/* Device counters (vm.counters, and tests). */
struct virtio_net_stats {
	u64 rx_frames, rx_bytes; /* handed to the guest */
	u64 rx_filtered;	 /* refused by the MAC, VLAN or RX-mode filters */
	u64 rx_dropped;		 /* link down, driver not ready, no buffer could ever hold it */
	u64 tx_frames, tx_bytes; /* taken from the guest and handed to the back end */
	u64 tx_dropped;		 /* link down, malformed headers, offloads not negotiated */
	u64 ctrl_commands;
};

/* A NIC on cfg->be. -EINVAL, -ENOMEM with a message. Main thread. */
MUST_CHECK int virtio_net_create(struct platform *p, const struct virtio_net_config *cfg,
				 struct virtio_net **out, struct err *err);
struct pci_dev *virtio_net_pci(struct virtio_net *n);
struct virtio_pci *virtio_net_transport(struct virtio_net *n);
/* Link up or down as the guest sees it (status LINK_UP and a config interrupt). Takes the
 * device lock. */
void virtio_net_set_link(struct virtio_net *n, bool up);
bool virtio_net_link(const struct virtio_net *n);
void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *out);
/* System reset. Device lock held. */
void virtio_net_reset(struct virtio_net *n);
/* The caller took the function off the PCI host; the back end stays the caller's. */
void virtio_net_destroy(struct virtio_net *n);

extern const struct device_ops virtio_net_device_ops;

#endif
