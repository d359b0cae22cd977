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

/* The legacy VGA window carved out of low RAM: RAM on both sides, nothing inside. */
static void test_hole_splits_a_region(void **state)
{
	struct gmem mem;
	u8 b = 0x5a;

	(void)state;
	assert_int_equal(gmem_init_pc(&mem, 64ull << 20), 0);
	assert_int_equal(gmem_hole(&mem, 0xa0000, 0x20000), 0);
	assert_int_equal(mem.nr, 2);
	assert_int_equal(mem.ram_bytes, (64ull << 20) - 0x20000);
	assert_true(gmem_is_ram(&mem, 0x9ffff));
	assert_false(gmem_is_ram(&mem, 0xa0000));
	assert_false(gmem_is_ram(&mem, 0xbffff));
	assert_true(gmem_is_ram(&mem, 0xc0000));
	assert_int_equal(gmem_write(&mem, 0xc0000, &b, 1), 0);
	assert_int_equal(gmem_write(&mem, 0xbffff, &b, 1), -EFAULT);
	/* Across the hole: refused whole. */
	assert_int_equal(gmem_write(&mem, 0x9ffff, &b, 0x20002), -EFAULT);
	/* Not page-aligned, at a region's edge, or where there is no RAM. */
	assert_int_equal(gmem_hole(&mem, 0x100800, 0x1000), -EINVAL);
	assert_int_equal(gmem_hole(&mem, 0, 0x1000), -EINVAL);
	assert_int_equal(gmem_hole(&mem, 0xa0000, 0x1000), -EINVAL);
	assert_int_equal(gmem_hole(&mem, (64ull << 20) - 0x1000, 0x1000), -EINVAL);
	gmem_destroy(&mem);
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

struct write_log {
	unsigned n;
	u64 gpa, len;
};

static void log_write(void *opaque, u64 gpa, u64 len)
{
	struct write_log *l = opaque;

	l->n++;
	l->gpa = gpa;
	l->len = len;
}

/* Device writes are reported to on_write: gmem_write, and DMA through gmem_ptr pointers. */
static void test_writes_are_reported(void **state)
{
	static u8 ram_a[8192], ram_b[4096];
	struct gmem mem = { 0 };
	struct write_log l = { 0 };
	u8 pattern[16] = { 1, 2, 3 };
	u8 *p;

	(void)state;
	assert_int_equal(gmem_add(&mem, 0, sizeof(ram_a), ram_a), 0);
	assert_int_equal(gmem_add(&mem, 0x10000, sizeof(ram_b), ram_b), 0);
	gmem_written(&mem, ram_b, 16); /* nobody listens: nothing happens */
	mem.on_write = log_write;
	mem.on_write_opaque = &l;
	assert_int_equal(gmem_write(&mem, 0x100, pattern, 16), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.gpa, 0x100);
	assert_int_equal(l.len, 16);
	/* A refused write is not reported. */
	assert_int_equal(gmem_write(&mem, 8192 - 8, pattern, 16), -EFAULT);
	assert_int_equal(l.n, 1);
	p = gmem_ptr(&mem, 0x10020, 64);
	assert_non_null(p);
	gmem_written(&mem, p + 8, 32);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.gpa, 0x10028);
	assert_int_equal(l.len, 32);
	gmem_written(&mem, pattern, sizeof(pattern)); /* not guest memory: ignored */
	assert_int_equal(l.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc_layout_splits_at_pci_hole),
		cmocka_unit_test(test_hole_splits_a_region),
		cmocka_unit_test(test_accessors_check_whole_range),
		cmocka_unit_test(test_writes_are_reported),
	};
	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
