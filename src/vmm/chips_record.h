/* SPDX-License-Identifier: MIT */
/*
 * The "chips" record of a VM's state set as it is stored: the engine-neutral form of the
 * interrupt controllers and timers (vmm/base/chips_state.h) and which engine saved it.
 * chips_state.c saves and plans it; kept apart from struct vm so the fuzz target
 * (tests/fuzz/fuzz_chips.c) loads and imports records on the test platform.
 */
#ifndef VMM_CHIPS_RECORD_H
#define VMM_CHIPS_RECORD_H

#include "vmm/base/chips_state.h"
#include "vmm/state.h"

#include <stdbool.h>

#define CHIPS_STATE_RECORD "chips"

struct chips_record {
	bool in_kernel; /* the kvm engine's in-kernel chips saved it */
	struct chips_state s;
};

/* The record's table: state_load/state_save with CHIPS_STATE_RECORD as the type. */
extern const struct state_desc chips_record_desc;

/* For tests: the record's tables (NULL-terminated). */
extern const struct state_desc *const chips_state_descs[];

#endif
