// SPDX-License-Identifier: MIT
/* The shared flat-mode fixture of the BT engine's unit tests (bt_flat.h). */
#include "bt_flat.h"
#include "bt_test_mode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int bt_flat_setup(void **state)
{
	struct bt_flat *f = calloc(1, sizeof(*f));
	struct bt_cpu_config cfg;

	if (!f)
		return -1;
	f->code = aligned_alloc(4096, 4096);
	f->data = aligned_alloc(4096, 4096);
	if (!f->code || !f->data)
		return -1;
	memset(f->code, 0xcc, 4096);
	memset(f->data, 0, 4096);
	f->mem.fault_unmapped = true;
	if (bt_mem_map(&f->mem, BT_FLAT_CODE, 4096, f->code, false) ||
	    bt_mem_map(&f->mem, BT_FLAT_DATA, 4096, f->data, false))
		return -1;
	cfg = bt_test_config((struct bt_cpu_config){ .mem = &f->mem });
	if (bt_cpu_create(&cfg, &f->cpu, NULL))
		return -1;
	cfg.index = 1;
	if (bt_cpu_create(&cfg, &f->cpu2, NULL))
		return -1;
	bt_cpu_set_flat64(f->cpu);
	bt_cpu_set_flat64(f->cpu2);
	*state = f;
	return 0;
}

int bt_flat_teardown(void **state)
{
	struct bt_flat *f = *state;

	bt_cpu_destroy(f->cpu);
	bt_cpu_destroy(f->cpu2);
	bt_mem_destroy(&f->mem);
	free(f->code);
	free(f->data);
	free(f);
	return 0;
}

enum bt_exit bt_flat_run(struct bt_flat *f, struct bt_cpu *cpu, const u8 *code, size_t len)
{
	if (code)
		assert_int_equal(bt_mem_write(&f->mem, BT_FLAT_CODE, code, len), 0);
	cpu->st.rip = BT_FLAT_CODE;
	cpu->st.gpr[CPU_RSP] = BT_FLAT_DATA + 4096 - 64;
	return bt_run(cpu, 1000);
}
