/* SPDX-License-Identifier: MIT */
/*
 * The paravirtual devices of the PC board (docs/hypercall.md): the VMware backdoor
 * (hypercall.vmware_backdoor), reached through the vCPUs' backdoor hook rather than the port
 * bus; more paravirtual devices join here.
 */
#ifndef VMM_BOARD_PV_H
#define VMM_BOARD_PV_H

#include "vmm/accel.h"
#include "vmm/base/err.h"

struct vm;
struct board_pv;
struct vmport;

/* Create what vm->spec asks for. Main thread, before the vCPUs run. */
MUST_CHECK int board_pv_create(struct vm *vm, struct board_pv **out, struct err *err);
void board_pv_destroy(struct board_pv *pv);

/* The backdoor, or NULL when the spec has none. */
struct vmport *board_pv_vmport(struct board_pv *pv);

/* A vCPU's backdoor call (vcpu_hooks.backdoor). Takes the device lock. vCPU thread. */
void board_pv_backdoor(struct board_pv *pv, struct accel_backdoor *regs);

#endif
