/* SPDX-License-Identifier: MIT */
/*
 * The "chips" record of a VM's state set: the interrupt controllers and timers in the
 * engine-neutral form (vmm/base/chips_state.h), saved under either engine next to that
 * engine's own records, so a state taken under bt restores under kvm and back
 * (docs/snapshots.md, "Engines"). vm_state.c saves and loads it.
 */
#ifndef VMM_CHIPS_STATE_H
#define VMM_CHIPS_STATE_H

#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/chips_record.h"
#include "vmm/state.h"

struct vm;

/* Append the VM's chips record to out (*count grows by one). Device lock held, VM paused. */
MUST_CHECK int chips_state_save(struct vm *vm, struct state_buf *out, u32 *count, struct err *err);

/* How a set's chips reach this VM (chips_state_plan). */
struct chips_plan {
	/* The set was saved under the other engine: its chips record (allocated), whose neutral
	 * form loads; NULL: the set's own engine's records load. */
	struct chips_record *foreign;
};

/*
 * Decide, for a set about to load into vm: the same engine's records (foreign NULL), or the
 * neutral record converted (foreign set: the other engine's chip records are marked used,
 * and what cannot convert is refused with the reason). A set without a chips record (a VMM
 * before it) loads as before. Nothing is written. chips_plan_free after.
 */
MUST_CHECK int chips_state_plan(struct vm *vm, struct state_set *set, struct chips_plan *plan,
				struct err *err);
void chips_plan_free(struct chips_plan *plan);

/*
 * Load the planned neutral form into the VM's chips: under kvm through the accelerator
 * (after the vCPUs), under bt into the board's devices (after the board's reset and the
 * clock). Device lock held.
 */
MUST_CHECK int chips_state_load(struct vm *vm, const struct chips_plan *plan, struct err *err);

#endif
