/* SPDX-License-Identifier: MIT */
/*
 * The whole state of a VM as one record set (vmm/state.h): the virtual clock, every vCPU
 * (struct cpu_state, the same for both engines) and every device on the platform's list.
 * Snapshots and migration write it out with guest RAM and restore it into a VM created from
 * the same spec; the state round-trip debug switch (docs/device-state.md) saves and reloads it
 * in place.
 *
 * Threads: main thread; the VM must be Paused (or Created: nothing has run yet). The calls
 * take the device lock themselves.
 */
#ifndef VMM_VM_STATE_H
#define VMM_VM_STATE_H

#include "vmm/base/compiler.h"

#include <stddef.h>

struct err;
struct loop;
struct state_buf;
struct vm;

/*
 * Append the VM's state to out: the devices are quiesced first (block requests in flight
 * drained, so their completions are in the state), then the clock, each vCPU ("vcpu0"...), the
 * accelerator's own state (KVM's in-kernel devices: accel_ops.state_save) and each device is
 * saved. -EBUSY (wrong VM state), or a device's or the accelerator's refusal; err says which.
 */
MUST_CHECK int vm_state_save(struct vm *vm, struct state_buf *out, struct err *err);

/*
 * Load a state vm_state_save wrote (len bytes at buf) into vm, which must be created from the
 * same spec. Every record is checked first (hostile input: a refusal names the record and the
 * field, and changes nothing); then the devices are reset, the clock set to the saved time,
 * the vCPUs and the devices loaded. A failure past the checks (a post_load refusal) leaves
 * the devices reset: the VM must then be rebooted or destroyed, not resumed.
 */
MUST_CHECK int vm_state_load(struct vm *vm, const void *buf, size_t len, struct err *err);

/*
 * The debug round trip of a Paused VM: save, reset every device and vCPU, load (halfix's
 * trick: state a table misses is lost and shows as a broken guest). Returns the bytes of the
 * state in *bytes when non-NULL.
 */
MUST_CHECK int vm_state_roundtrip(struct vm *vm, size_t *bytes, struct err *err);

/*
 * The spec's "debug": {"state_roundtrip_ms": N}: on the VM's loop, every N ms of host time a
 * Running VM is paused, round-tripped (vm_state_roundtrip) and resumed; a failure ends the VM
 * (VM_END_FAILED) with the reason. Nothing when N is 0. Main thread, from vm_attach /
 * vm_detach.
 */
MUST_CHECK int vm_state_debug_attach(struct vm *vm, struct loop *l, struct err *err);
void vm_state_debug_detach(struct vm *vm);

#endif
