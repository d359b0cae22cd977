/* SPDX-License-Identifier: MIT */
/*
 * Intel 82540EM Gigabit Ethernet (e1000), PCI 8086:100E, over a network back end
 * (net/net.h): BAR 0 memory-mapped registers, BAR 1 I/O window (IOADDR/IODATA), INTx.
 * What Linux's e1000 driver uses at probe and at run time is modelled: the Microwire EEPROM
 * with the MAC and a valid checksum, EERD, the PHY through MDIC with link state and
 * autonegotiation, interrupt causes with ITR throttling, receive filtering (unicast
 * addresses, the multicast table, broadcast, promiscuous modes, VLAN filter and stripping),
 * receive checksum reporting, and legacy and context/data transmit descriptors with checksum
 * insertion, TCP segmentation and VLAN insertion; the statistics registers.
 *
 * Locking: register accesses come from bus handlers with the device lock held; the back end
 * delivers frames from the main loop with the device lock held; e1000_set_link takes it.
 */
#ifndef DEVICES_E1000_H
#define DEVICES_E1000_H

#include "devices/pci.h"
#include "net/net.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

struct e1000_config {
	const char *name; /* "net0" */
	u8 mac[6];
	struct net_backend *be; /* must outlive the device */
};

/* Host counters (vm.counters). */
struct e1000_stats {
	u64 rx_frames, rx_bytes;
	u64 rx_filtered; /* address, VLAN or size filters */
	u64 rx_dropped;	 /* receiver off, link down, descriptors outside RAM, no room ever */
	u64 tx_frames, tx_bytes;
	u64 tx_dropped;	 /* malformed descriptors or offload requests, link down */
	u64 tx_segments; /* frames built by TCP segmentation */
	u64 interrupts;	 /* INTx assertions */
};

struct e1000;
struct device_ops;

/* -EINVAL, -ENOMEM with a message. Main thread. */
MUST_CHECK int e1000_create(struct platform *p, const struct e1000_config *cfg, struct e1000 **out,
			    struct err *err);
struct pci_dev *e1000_pci(struct e1000 *d);
/* Link up or down (STATUS.LU, the PHY's link bits, an LSC interrupt). Takes the device lock. */
void e1000_set_link(struct e1000 *d, bool up);
bool e1000_link(const struct e1000 *d);
void e1000_get_stats(const struct e1000 *d, struct e1000_stats *out);
/* Power-on state, as after a PCI reset. Device lock held. */
void e1000_reset(struct e1000 *d);
/* The caller took the function off the PCI host; the back end stays the caller's. */
void e1000_destroy(struct e1000 *d);

extern const struct device_ops e1000_device_ops;

#endif
