/* SPDX-License-Identifier: MIT */
/*
 * Shared cmocka fixture of the BT engine's user-level tests: two CPUs in flat 64-bit user mode
 * (bt_cpu_set_flat64) over one code page at BT_FLAT_CODE and one data page at BT_FLAT_DATA;
 * any other address faults (mem.fault_unmapped).
 */
#ifndef TESTS_UNIT_BT_BT_FLAT_H
#define TESTS_UNIT_BT_BT_FLAT_H

#include "bt-fallback/bt.h"

#include <stddef.h>

#define BT_FLAT_CODE 0x10000ull
#define BT_FLAT_DATA 0x20000ull

struct bt_flat {
	struct bt_mem mem;
	struct bt_cpu *cpu, *cpu2;
	u8 *code, *data;
};

/* cmocka setup and teardown: *state is the struct bt_flat. */
int bt_flat_setup(void **state);
int bt_flat_teardown(void **state);
/* Load code (unless NULL) at BT_FLAT_CODE and run cpu from there, stack at the top of the data
 * page, for at most 1000 instructions. */
enum bt_exit bt_flat_run(struct bt_flat *f, struct bt_cpu *cpu, const u8 *code, size_t len);

#endif
