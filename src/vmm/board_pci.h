/* SPDX-License-Identifier: MIT */
/*
 * What the board's PCI functions share (disks in board_disks.c, NICs in board_nics.c): the
 * line factory for INTA of a slot, INTx through a resampling irqfd where the accelerator has
 * them (struct board_intx), and the virtio-pci eventfd fast paths (ioeventfd notifications,
 * MSI-X through irqfds) with their watches on the main loop.
 *
 * Threads: main thread, except board_intx's line, which devices drive with the device lock
 * held.
 */
#ifndef VMM_BOARD_PCI_H
#define VMM_BOARD_PCI_H

#include "virtio/virtio.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/irq.h"

struct vm;
struct loop;
struct virtio_pci;

/*
 * The line factory the board hands over: the interrupt line of INTA of the PCI function in slot
 * (and its GSI, for the accelerator's irqfd routes). Main thread.
 */
struct board_pci_lines {
	struct irq_line (*intx)(void *opaque, unsigned slot, unsigned *gsi);
	void *opaque;
};

/* INTx of one function, through a resampling irqfd when the accelerator has them. */
struct board_intx {
	struct vm *vm;
	const char *name;
	unsigned gsi;
	bool open, watched;
	bool level; /* as the device drives it */
	int fd, resample_fd;
	u64 asserts;
};

/*
 * The INTx line of the function in slot: a resampling irqfd when the accelerator has them, else
 * the board's line for it. x must stay where it is while the line is used.
 */
struct irq_line board_intx_line(struct vm *vm, const struct board_pci_lines *lines,
				struct board_intx *x, const char *name, unsigned slot);
/* Watch the resample eventfd (nothing without an irqfd), and stop. */
MUST_CHECK int board_intx_watch(struct board_intx *x, struct loop *l);
void board_intx_unwatch(struct board_intx *x, struct loop *l);
/* Unroute and close the irqfd (nothing without one). */
void board_intx_close(struct board_intx *x);

/* Give the transport the accelerator's eventfd paths when it has them (KVM). */
MUST_CHECK int board_virtio_accel(struct vm *vm, struct virtio_pci *vp, struct err *err);

/* The main-loop watches of one virtio-pci function: deferred work and queue ioeventfds. */
struct board_virtio_watch {
	struct virtio_pci *vp;
	bool defer_watched;

	struct board_virtio_queue {
		struct board_virtio_watch *w;
		unsigned q;
		bool watched;
	} queues[VIRTIO_MAX_QUEUES];
};

MUST_CHECK int board_virtio_watch(struct board_virtio_watch *w, struct virtio_pci *vp,
				  struct loop *l);
void board_virtio_unwatch(struct board_virtio_watch *w, struct loop *l);

#endif
