/* SPDX-License-Identifier: MIT */
/*
 * The paravirtual devices of the PC board (docs/hypercall.md): the VMware backdoor
 * (hypercall.vmware_backdoor), reached through the vCPUs' backdoor hook rather than the port
 * bus; virtio-console (consoles[]: one PCI function, a port per entry, each with its serial
 * back end); virtio-rng (rng). The PCI functions take the slots after the disks', console
 * first; their INTA lines are the board's, their MSI-X messages go through platform.msi.
 */
#ifndef VMM_BOARD_PV_H
#define VMM_BOARD_PV_H

#include "vmm/accel.h"
#include "vmm/base/err.h"

struct vm;
struct loop;
struct pci_host;
struct board_pv;
struct vmport;
struct virtio_console;

/* Create what vm->spec asks for, PCI functions from slot on. Main thread, before the vCPUs run. */
MUST_CHECK int board_pv_create(struct vm *vm, struct pci_host *pci, unsigned slot,
			       struct board_pv **out, struct err *err);
void board_pv_destroy(struct board_pv *pv);
/* The first PCI slot after its functions (the board's NICs go from there). */
unsigned board_pv_next_slot(const struct board_pv *pv);

/* Watch the consoles' input and the virtio functions' deferred work on l, and stop. Main thread. */
MUST_CHECK int board_pv_attach(struct board_pv *pv, struct loop *l);
void board_pv_detach(struct board_pv *pv);

/* The backdoor and the virtio console, or NULL when the spec has none. */
struct vmport *board_pv_vmport(struct board_pv *pv);
struct virtio_console *board_pv_console(struct board_pv *pv);

/* A vCPU's backdoor call (vcpu_hooks.backdoor). Takes the device lock. vCPU thread. */
void board_pv_backdoor(struct board_pv *pv, struct accel_backdoor *regs);

#endif
