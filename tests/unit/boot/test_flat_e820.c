// SPDX-License-Identifier: MIT
/*
 * e820_build (ordering, no overlaps, the legacy window, RAM above 4 GiB,
 * ROM regions in the PCI hole, table overflow) and boot_flat (real-mode
 * CS:IP and SS:SP choices, DL = 0x80, refusal of images that do not fit),
 * boot_firmware (the image below 4 GiB and at 0xE0000, the reset vector;
 * Debian's SeaBIOS bios.bin when installed), boot_firmware_uefi (a firmware volume's
 * signature tells UEFI images, Debian's OVMF and SeaBIOS when installed) and
 * boot_firmware_wake (the S3 wake at the reset vector).
 */
#include "boot_test_util.h"
#include "vmm/boot/boot.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void check_sorted_disjoint(const struct e820_entry *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
	}
}

static void test_e820_small_vm(void **state)
{
	struct gmem mem;
	struct e820_entry e[E820_MAX_ENTRIES];
	unsigned n;

	(void)state;
	bt_gmem_init(&mem, 256 * MiB);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES, &n), 0);
	assert_int_equal(n, 3);
	check_sorted_disjoint(e, n);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].addr + e[1].size, MiB);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, MiB);
	assert_int_equal(e[2].size, 255 * MiB);
	assert_int_equal(e[2].type, E820_RAM);
	gmem_destroy(&mem);
}

static void test_e820_high_ram_and_rom(void **state)
{
	static u8 rom[64 * 1024];
	struct gmem mem;
	struct e820_entry e[E820_MAX_ENTRIES];
	unsigned n;

	(void)state;
	bt_gmem_init(&mem, 5 * GiB);
	/* A ROM added in the PCI hole, after the high region: reported reserved, in order. */
	assert_int_equal(gmem_add(&mem, 4 * GiB - sizeof(rom), sizeof(rom), rom), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES, &n), 0);
	assert_int_equal(n, 5);
	check_sorted_disjoint(e, n);
	assert_int_equal(e[2].addr + e[2].size, 3 * GiB);
	assert_int_equal(e[3].addr, 4 * GiB - sizeof(rom));
	assert_int_equal(e[3].type, E820_RESERVED);
	assert_int_equal(e[4].addr, 4 * GiB);
	assert_int_equal(e[4].size, 2 * GiB);
	assert_int_equal(e[4].type, E820_RAM);
	/* Too small a table: -ENOSPC, never an overflow. */
	assert_int_equal(e820_build(&mem, e, 2, &n), -ENOSPC);
	mem.nr--; /* gmem_destroy unmaps every region: drop the static ROM (added last) first */
	gmem_destroy(&mem);
}

/* Regions given out of order and a RAM block that stops inside the legacy window. */
static void test_e820_unsorted_regions(void **state)
{
	static u8 low[0xa0000], high[2 * 4096];
	struct gmem mem = { 0 };
	struct e820_entry e[8];
	unsigned n;

	(void)state;
	assert_int_equal(gmem_add(&mem, 2 * MiB, sizeof(high), high), 0);
	assert_int_equal(gmem_add(&mem, 0, sizeof(low), low), 0);
	assert_int_equal(e820_build(&mem, e, 8, &n), 0);
	assert_int_equal(n, 3);
	check_sorted_disjoint(e, n);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0x400);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 2 * MiB);
	assert_int_equal(e[2].type, E820_RAM);
}

static void load_flat(struct gmem *mem, u64 addr, size_t len, struct cpu_state *cpu)
{
	u8 *img = malloc(len);
	char *path;
	struct err err = { 0 };
	struct boot_params_in in = { .load_address = addr };

	for (size_t i = 0; i < len; i++)
		img[i] = (u8)(0x90 + i);
	path = bt_write_temp(img, len);
	in.flat = path;
	boot_cpu_reset(cpu, true);
	if (boot_flat(mem, &in, cpu, &err) != 0)
		fail_msg("%s", err.msg);
	{
		u8 *back = malloc(len);

		bt_read(mem, addr, back, len);
		assert_memory_equal(back, img, len);
		free(back);
	}
	bt_remove_temp(path);
	free(img);
}

static void check_real_mode(const struct cpu_state *c, u64 linear)
{
	assert_int_equal(c->cr0 & 1, 0);
	assert_int_equal(c->efer, 0);
	assert_int_equal(c->seg[CPU_CS].base, (u64)c->seg[CPU_CS].selector << 4);
	assert_int_equal(c->seg[CPU_CS].base + c->rip, linear);
	assert_int_equal(c->seg[CPU_SS].base, (u64)c->seg[CPU_SS].selector << 4);
	assert_int_equal(c->seg[CPU_CS].limit, 0xffff);
	assert_true(c->rip <= 0xffff);
	assert_int_equal(c->gpr[CPU_RDX] & 0xff, 0x80);
	assert_int_equal(c->rflags & 0x200, 0);
}

static void test_flat_boot_sector(void **state)
{
	struct gmem mem;
	struct cpu_state c;

	(void)state;
	bt_gmem_init(&mem, 16 * MiB);
	load_flat(&mem, 0x7c00, 512, &c);
	check_real_mode(&c, 0x7c00);
	assert_int_equal(c.seg[CPU_CS].selector, 0);
	assert_int_equal(c.rip, 0x7c00);
	assert_int_equal(c.seg[CPU_SS].selector, 0);
	assert_int_equal(c.gpr[CPU_RSP], 0x7c00);

	load_flat(&mem, 0x12345, 3000, &c);
	check_real_mode(&c, 0x12345);
	assert_int_equal(c.seg[CPU_CS].selector, 0x1234);
	assert_int_equal(c.rip, 5);

	/* Loaded at 0: the stack goes above the image, not over the IVT. */
	load_flat(&mem, 0, 0x800, &c);
	check_real_mode(&c, 0);
	assert_true(c.seg[CPU_SS].base >= 0x800);
	gmem_destroy(&mem);
}

static void test_flat_refused(void **state)
{
	static u8 img[8192];
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	char *path = bt_write_temp(img, sizeof(img)), *empty = bt_write_temp(img, 0);
	struct boot_params_in in = { .flat = path };

	(void)state;
	bt_gmem_init(&mem, 16 * MiB);
	in.load_address = 0xff000; /* runs past 1 MiB */
	assert_int_equal(boot_flat(&mem, &in, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, path));
	in.load_address = 2 * MiB;
	assert_int_equal(boot_flat(&mem, &in, &c, &err), -EINVAL);
	in.load_address = ~0ull - 10; /* wraps */
	assert_int_equal(boot_flat(&mem, &in, &c, &err), -EINVAL);
	in.flat = empty;
	in.load_address = 0x7c00;
	assert_int_equal(boot_flat(&mem, &in, &c, &err), -EINVAL);
	gmem_destroy(&mem);

	/* Guest RAM smaller than the load address. */
	bt_gmem_init(&mem, 64 * 1024);
	in.flat = path;
	in.load_address = 0x20000;
	assert_int_equal(boot_flat(&mem, &in, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not guest RAM"));
	gmem_destroy(&mem);
	bt_remove_temp(path);
	bt_remove_temp(empty);
}

static void test_firmware_mapping(void **state)
{
	enum {
		SIZE = 256 * 1024
	};
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	struct e820_entry e[E820_MAX_ENTRIES];
	struct boot_params_in in = { 0 };
	u8 *img = malloc(SIZE), *back = malloc(128 * 1024);
	char *path;
	unsigned n;

	(void)state;
	for (size_t i = 0; i < SIZE; i++)
		img[i] = (u8)(i * 31 + (i >> 12));
	path = bt_write_temp(img, SIZE);
	in.firmware = path;
	bt_gmem_init(&mem, 64 * MiB);
	boot_cpu_reset(&c, true);
	if (boot_firmware(&mem, &in, &c, &err))
		fail_msg("%s", err.msg);
	/* The reset vector: CS.base + IP = 0xFFFFFFF0, the image's last 16 bytes. */
	assert_int_equal(c.seg[CPU_CS].base + c.rip, 0xfffffff0);
	assert_int_equal(c.cr0 & 1, 0);
	bt_read(&mem, 4 * GiB - SIZE, back, 4096);
	assert_memory_equal(back, img, 4096);
	bt_read(&mem, 0xe0000, back, 128 * 1024);
	assert_memory_equal(back, img + SIZE - 128 * 1024, 128 * 1024);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES, &n), 0);
	assert_int_equal(e[n - 1].addr, 4 * GiB - SIZE);
	assert_int_equal(e[n - 1].type, E820_RESERVED);
	/*
	 * A reset in place runs the loader again: the ROM region is reused and both copies are
	 * loaded afresh (the guest may have written the low copy, which is RAM; the ROM region
	 * refuses writes through gmem), no new region appears.
	 */
	n = mem.nr;
	memset(back, 0x55, 4096);
	assert_int_equal(gmem_write(&mem, 4 * GiB - SIZE, back, 4096), -EFAULT);
	assert_int_equal(gmem_write(&mem, 0xe0000, back, 4096), 0);
	if (boot_firmware(&mem, &in, &c, &err))
		fail_msg("second load: %s", err.msg);
	assert_int_equal(mem.nr, n);
	bt_read(&mem, 4 * GiB - SIZE, back, 4096);
	assert_memory_equal(back, img, 4096);
	bt_read(&mem, 0xe0000, back, 4096);
	assert_memory_equal(back, img + SIZE - 128 * 1024, 4096);
	gmem_destroy(&mem); /* frees the firmware region too (ASan checks) */
	bt_remove_temp(path);

	/* Sizes that are not a BIOS image. */
	path = bt_write_temp(img, 1000);
	in.firmware = path;
	bt_gmem_init(&mem, 64 * MiB);
	assert_int_equal(boot_firmware(&mem, &in, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, path));
	bt_remove_temp(path);
	path = bt_sparse_temp(32 * MiB);
	in.firmware = path;
	assert_int_equal(boot_firmware(&mem, &in, &c, &err), -EINVAL);
	bt_remove_temp(path);
	/* Something already mapped just below 4 GiB: refused, nothing leaked. */
	path = bt_write_temp(img, SIZE);
	in.firmware = path;
	assert_int_equal(gmem_add(&mem, 4 * GiB - 4096, 4096, back), 0);
	assert_int_equal(boot_firmware(&mem, &in, &c, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "already in use"));
	mem.nr--; /* gmem_destroy unmaps every region: drop the malloc'ed one first */
	bt_remove_temp(path);
	gmem_destroy(&mem);
	free(img);
	free(back);
}

static void test_firmware_uefi(void **state)
{
	static const struct {
		const char *path;
		bool uefi;
	} debian[] = { { "/usr/share/OVMF/OVMF_CODE_4M.fd", true },
		       { "/usr/share/seabios/bios.bin", false } };

	u8 img[64 * 1024] = { 0 };
	struct err err = { 0 };
	struct cpu_state c;
	bool uefi = true;
	char *path;

	(void)state;
	path = bt_write_temp(img, sizeof(img));
	assert_int_equal(boot_firmware_uefi(path, &uefi, &err), 0);
	assert_false(uefi);
	bt_remove_temp(path);
	memcpy(img + 40, "_FVH", 4); /* EFI_FIRMWARE_VOLUME_HEADER.Signature */
	path = bt_write_temp(img, sizeof(img));
	assert_int_equal(boot_firmware_uefi(path, &uefi, &err), 0);
	assert_true(uefi);
	bt_remove_temp(path);
	path = bt_write_temp(img, 42); /* shorter than a volume header */
	assert_int_equal(boot_firmware_uefi(path, &uefi, &err), 0);
	assert_false(uefi);
	bt_remove_temp(path);
	assert_true(boot_firmware_uefi("/nonexistent/fw.bin", &uefi, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/fw.bin"));
	for (unsigned i = 0; i < 2; i++) {
		if (access(debian[i].path, R_OK) != 0) {
			print_message("%s not installed, not checked\n", debian[i].path);
			continue;
		}
		assert_int_equal(boot_firmware_uefi(debian[i].path, &uefi, &err), 0);
		assert_int_equal(uefi, debian[i].uefi);
	}
	/* The S3 wake with firmware: the reset vector, real mode, as at power-on. */
	boot_cpu_reset(&c, true);
	c.rip = 0x1234;
	c.cr0 = 0x80000011;
	assert_int_equal(boot_firmware_wake(&c), 0);
	assert_int_equal(c.seg[CPU_CS].base + c.rip, 0xfffffff0);
	assert_int_equal(c.cr0 & 0x80000001, 0);
}

static void test_firmware_seabios(void **state)
{
	const char *bios = "/usr/share/seabios/bios.bin";
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	struct boot_params_in in = { .firmware = bios };
	u8 jmp;

	(void)state;
	if (access(bios, R_OK) != 0) {
		print_message("%s not installed (seabios package), skipping\n", bios);
		skip();
	}
	bt_gmem_init(&mem, 64 * MiB);
	boot_cpu_reset(&c, true);
	if (boot_firmware(&mem, &in, &c, &err))
		fail_msg("%s", err.msg);
	/* SeaBIOS's reset vector is a far jump (0xEA), in both copies. */
	bt_read(&mem, 0xfffffff0, &jmp, 1);
	assert_int_equal(jmp, 0xea);
	bt_read(&mem, 0xffff0, &jmp, 1);
	assert_int_equal(jmp, 0xea);
	gmem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small_vm),
		cmocka_unit_test(test_e820_high_ram_and_rom),
		cmocka_unit_test(test_e820_unsorted_regions),
		cmocka_unit_test(test_flat_boot_sector),
		cmocka_unit_test(test_flat_refused),
		cmocka_unit_test(test_firmware_mapping),
		cmocka_unit_test(test_firmware_seabios),
		cmocka_unit_test(test_firmware_uefi),
	};

	return cmocka_run_group_tests_name("boot_flat_e820", tests, NULL, NULL);
}
