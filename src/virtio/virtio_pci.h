/* SPDX-License-Identifier: MIT */
/*
 * virtio over PCI, modern interface only (VIRTIO 1.2 section 4.1): vendor capabilities for the
 * common, notify, ISR, device and PCI-configuration-access structures, all in one 64-bit
 * memory BAR (BAR 4), and MSI-X (PCI Local Bus 3.0 6.8.2) with its table and PBA in BAR 1.
 * Without MSI-X the device interrupts through INTx and the ISR status byte.
 *
 * The caller puts virtio_pci_dev() on the PCI host (pci_host_add) and connects INTx
 * (pci_set_intx). Locking: bus handlers run with the VM-wide device lock held.
 */
#ifndef VIRTIO_VIRTIO_PCI_H
#define VIRTIO_VIRTIO_PCI_H

#include "devices/pci.h"
#include "virtio/virtio.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

#define VIRTIO_PCI_VENDOR    0x1af4
#define VIRTIO_PCI_DEVICE(n) (0x1040 + (n)) /* 4.1.2.1: modern device IDs */

/* BAR layout */
#define VIRTIO_PCI_MSIX_BAR	 1
#define VIRTIO_PCI_MSIX_BAR_SIZE 0x1000
#define VIRTIO_PCI_MSIX_PBA	 0x800
#define VIRTIO_PCI_BAR		 4
#define VIRTIO_PCI_BAR_SIZE	 0x4000
#define VIRTIO_PCI_COMMON_OFF	 0x0000
#define VIRTIO_PCI_ISR_OFF	 0x1000
#define VIRTIO_PCI_DEVICE_OFF	 0x2000
#define VIRTIO_PCI_NOTIFY_OFF	 0x3000
#define VIRTIO_PCI_NOTIFY_MULT	 4

/* 4.1.4 capability cfg_type values */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

/* 4.1.4.3 common configuration layout */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00
#define VIRTIO_PCI_COMMON_DF	    0x04
#define VIRTIO_PCI_COMMON_GFSELECT  0x08
#define VIRTIO_PCI_COMMON_GF	    0x0c
#define VIRTIO_PCI_COMMON_MSIX	    0x10
#define VIRTIO_PCI_COMMON_NUMQ	    0x12
#define VIRTIO_PCI_COMMON_STATUS    0x14
#define VIRTIO_PCI_COMMON_CFGGEN    0x15
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34
#define VIRTIO_PCI_COMMON_SIZE	    0x38

#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtio_pci;

/*
 * Optional eventfd fast paths a board gives the transport (under KVM: accel_ops ioeventfd and
 * msi_irqfd). With them, a guest write to queue q's notify address signals an eventfd the
 * board watches on its main loop (virtio_pci_notify_fd, virtio_pci_notify_event), so
 * requests are submitted from that one thread; and an MSI-X message is sent by writing the
 * vector's eventfd, routed to the message the guest programmed. Without them (BT, unit
 * tests) notifications are bus writes and MSI goes through platform->msi. Either callback
 * returns 0 or a negative errno; on an error the transport falls back to the plain path.
 */
struct virtio_pci_accel {
	void *opaque;
	int (*ioeventfd)(void *opaque, u64 gpa, int fd, bool assign);
	int (*msi_irqfd)(void *opaque, int fd, u64 addr, u32 data, bool assign);
};

struct virtio_pci_stats {
	u64 ioeventfd_kicks; /* notifications that came through an ioeventfd */
	u64 irqfd_sends;     /* MSI-X messages sent through an irqfd */
	u64 deferred_rounds; /* queue work cut at its budget and resumed from the main loop */
};

/* A transport for vd (which must outlive it). -ENOMEM, -EINVAL (bad queue count or size). */
MUST_CHECK int virtio_pci_create(struct platform *p, struct virtio_dev *vd, const char *name,
				 struct virtio_pci **out, struct err *err);
/* The embedded PCI function, for pci_host_add and pci_set_intx. */
struct pci_dev *virtio_pci_dev(struct virtio_pci *vp);
/* Device reset (as the driver writing status 0), for a system reset. */
void virtio_pci_reset(struct virtio_pci *vp);
/* Use acc (copied) from now on: creates the eventfds. Device lock held. -ENOMEM, -EMFILE... */
MUST_CHECK int virtio_pci_set_accel(struct virtio_pci *vp, const struct virtio_pci_accel *acc,
				    struct err *err);
/* The eventfd of queue q's notifications, or -1 (no fast path). */
int virtio_pci_notify_fd(const struct virtio_pci *vp, unsigned q);
/* Queue q's eventfd is readable: consume it and notify the device. Takes the device lock. */
void virtio_pci_notify_event(struct virtio_pci *vp, unsigned q);
/*
 * An eventfd that becomes readable when the device deferred work (virtio_queue_defer: a round
 * cut at its budget). The board watches it on the main loop and calls virtio_pci_defer_event,
 * which re-runs the deferred queues with the device lock taken.
 */
int virtio_pci_defer_fd(const struct virtio_pci *vp);
void virtio_pci_defer_event(struct virtio_pci *vp);
void virtio_pci_get_stats(const struct virtio_pci *vp, struct virtio_pci_stats *out);
/*
 * State table of struct virtio_pci (vmm/state.h), for the device model's table
 * (STATE_POINTEE): the PCI function, the common configuration selectors, the MSI-X vectors,
 * table and PBA, the ISR byte. The eventfd fast paths are host objects: post_load
 * re-registers the ioeventfds where the BAR is mapped, and irqfd routes follow lazily.
 */
extern const struct state_desc virtio_pci_state;

/*
 * Queue notifications the guest made through ioeventfds that the main loop has not seen yet:
 * hand them to the device now (a state save does this first). Device lock held.
 */
void virtio_pci_flush_notify(struct virtio_pci *vp);

/* Unmaps the BARs; the caller took the function off the PCI host first. */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
