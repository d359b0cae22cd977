// SPDX-License-Identifier: MIT
/* Guest memory: PC layout around the PCI hole, and accessors that refuse anything not RAM. */
#include "vmm/gmem.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_pc_layout_splits_at_pci_hole(void **state)
{
	struct gmem mem;

	(void)state;
	assert_int_equal(gmem_init_pc(&mem, 64ull << 20), 0);
	assert_int_equal(mem.nr, 1);
	gmem_destroy(&mem);
	/* 4 GiB of RAM: 3 GiB below the hole, 1 GiB from 4 GiB up (MAP_NORESERVE: costs nothing). */
	assert_int_equal(gmem_init_pc(&mem, 4ull << 30), 0);
	assert_int_equal(mem.nr, 2);
	assert_int_equal(mem.regions[0].len, GMEM_PCI_HOLE_START);
	assert_int_equal(mem.regions[1].gpa, GMEM_HIGH_START);
	assert_int_equal(mem.regions[1].len, 1ull << 30);
	assert_true(gmem_is_ram(&mem, GMEM_PCI_HOLE_START - 1));
	assert_false(gmem_is_ram(&mem, GMEM_PCI_HOLE_START));
	assert_true(gmem_is_ram(&mem, GMEM_HIGH_START));
	assert_int_equal(mem.ram_bytes, 4ull << 30);
	gmem_destroy(&mem);
	assert_int_equal(gmem_init_pc(&mem, 0), -EINVAL);
	assert_int_equal(gmem_init_pc(&mem, 4097), -EINVAL);
}

static void test_accessors_check_whole_range(void **state)
{
	static u8 ram_a[8192], ram_b[4096];
	struct gmem mem = { 0 };
	u8 buf[16], pattern[16];

	(void)state;
	memset(pattern, 0x5a, sizeof(pattern));
	assert_int_equal(gmem_add(&mem, 0, sizeof(ram_a), ram_a), 0);
	assert_int_equal(gmem_add(&mem, 0x10000, sizeof(ram_b), ram_b), 0);
	assert_int_equal(gmem_add(&mem, 0x1000, 0x10, ram_b), -EBUSY); /* overlaps */

	assert_int_equal(gmem_write(&mem, 8192 - 8, pattern, 8), 0);
	assert_int_equal(gmem_read(&mem, 8192 - 8, buf, 8), 0);
	assert_memory_equal(buf, pattern, 8);
	/* Crossing the end of RAM: refused, and nothing is written. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_write(&mem, 8192 - 8, pattern, 16), -EFAULT);
	assert_int_equal(gmem_read(&mem, 8192 - 8, buf, 16), -EFAULT);
	assert_int_equal(buf[0], 0); /* buf untouched on failure */
	assert_int_equal(gmem_read(&mem, 0x20000, buf, 1), -EFAULT);
	/* Wrapping around the address space. */
	assert_int_equal(gmem_read(&mem, ~0ull - 3, buf, 8), -EFAULT);
	assert_null(gmem_ptr(&mem, ~0ull - 3, 8));
	/* gmem_ptr: only within one region. */
	assert_ptr_equal(gmem_ptr(&mem, 0x10010, 16), ram_b + 0x10);
	assert_null(gmem_ptr(&mem, 0x10000 + 4096 - 8, 16));
	assert_null(gmem_ptr(&mem, 0x9000, 1));
	assert_non_null(gmem_ptr(&mem, 0x10000, 4096));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc_layout_splits_at_pci_hole),
		cmocka_unit_test(test_accessors_check_whole_range),
	};
	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
