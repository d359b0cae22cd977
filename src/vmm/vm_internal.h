/* SPDX-License-Identifier: MIT */
/*
 * What vm.c and vm_lifecycle.c share; nothing outside those two files includes this.
 * Every function here runs on the main thread unless it says otherwise.
 */
#ifndef VMM_VM_INTERNAL_H
#define VMM_VM_INTERNAL_H

#include "vmm/vm.h"

/* How long a lifecycle call waits for every vCPU to stop before it gives up. */
#define VM_PAUSE_TIMEOUT_NS (10ull * 1000000000ull)

/* Post PAUSE to every vCPU without waiting. Any thread. */
void vm_pause_all_async(struct vm *vm);

/* Run the boot loader for the current spec and give vcpu0 its entry state. */
MUST_CHECK int vm_load_boot(struct vm *vm, struct err *err);
/*
 * The boot vCPU where S3 resume starts: without firmware at the FACS waking vector (-ENOENT if
 * none), with firmware at the reset vector.
 */
MUST_CHECK int vm_load_s3_resume(struct vm *vm, struct err *err);

/* Fire due device timers and program the timerfd (disarmed while the clock is frozen). */
void vm_service_timers(struct vm *vm);

/* Carry out what other threads requested: an end, a guest reset, panic reports. */
void vm_carry_out_requests(struct vm *vm);

#endif
