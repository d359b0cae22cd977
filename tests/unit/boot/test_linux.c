// SPDX-License-Identifier: MIT
/*
 * boot_linux against a synthetic bzImage built here (setup header fields per
 * Documentation/arch/x86/boot.rst) and, when one is available, a real Debian
 * kernel (VMM_TEST_KERNEL, else /boot/vmlinuz-$(uname -r)); hostile images
 * and initrds must be refused with a message naming the file.
 */
#include "boot_test_util.h"
#include "vmm/boot/boot.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB	  (1ull << 20)
#define GiB	  (1ull << 30)
#define PM_OFFSET (5 * 512) /* setup_sects = 4 */
#define PM_SIZE	  (64 * 1024)
#define ZP	  0x7000ull

struct bz_opts {
	u16 version;
	u16 xloadflags;
	u8 relocatable;
	u8 setup_sects;
	u8 jump_disp;
	u32 cmdline_size;
	u32 init_size;
	u64 pref_address;
	size_t file_len;
};

static const struct bz_opts bz_default = {
	.version = 0x020f,
	.xloadflags = 0x3, /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	.relocatable = 1,
	.setup_sects = 4,
	.jump_disp = 0x6a, /* header ends at 0x26c (protocol 2.15) */
	.cmdline_size = 2047,
	.init_size = 8 * MiB,
	.pref_address = 16 * MiB,
	.file_len = PM_OFFSET + PM_SIZE,
};

static void put16(u8 *p, u16 v)
{
	memcpy(p, &v, 2);
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, 8);
}

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

static u8 pm_byte(size_t i)
{
	return (u8)(i * 7 + 3);
}

static char *bz_make(const struct bz_opts *o)
{
	size_t len = o->file_len;
	u8 *img = calloc(1, MAX(len, (size_t)0x1000));
	char *path;

	assert_non_null(img);
	img[0x1f1] = o->setup_sects;
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = o->jump_disp;
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, o->version);
	img[0x211] = 0x01; /* LOADED_HIGH */
	put32(img + 0x22c, 0x7fffffff);
	put32(img + 0x230, 2 * MiB);
	img[0x234] = o->relocatable;
	put16(img + 0x236, o->xloadflags);
	put32(img + 0x238, o->cmdline_size);
	put64(img + 0x258, o->pref_address);
	put32(img + 0x260, o->init_size);
	img[0x300] = 0x5a; /* beyond the header: must not reach the zero page */
	for (size_t i = PM_OFFSET; i < len; i++)
		img[i] = pm_byte(i - PM_OFFSET);
	path = bt_write_temp(img, len);
	free(img);
	return path;
}

/* Translate through the identity page tables the loader built (4-level, 2 MiB pages). */
static u64 walk(const struct gmem *mem, u64 cr3, u64 va)
{
	u64 pml4e = bt_read64(mem, cr3 + ((va >> 39) & 511) * 8);
	u64 pdpte, pde;

	assert_true(pml4e & 1);
	pdpte = bt_read64(mem, (pml4e & ~0xfffull) + ((va >> 30) & 511) * 8);
	assert_true(pdpte & 1);
	assert_false(pdpte & 0x80);
	pde = bt_read64(mem, (pdpte & ~0xfffull) + ((va >> 21) & 511) * 8);
	assert_true(pde & 1);
	assert_true(pde & 2);
	assert_true(pde & 0x80);
	return (pde & ~0x1fffffull) + (va & 0x1fffff);
}

static void check_e820_sane(const struct gmem *mem)
{
	u8 n;
	u64 prev_end = 0;

	bt_read(mem, ZP + 0x1e8, &n, 1);
	assert_true(n >= 3);
	for (unsigned i = 0; i < n; i++) {
		u64 addr = bt_read64(mem, ZP + 0x2d0 + i * 20);
		u64 size = bt_read64(mem, ZP + 0x2d0 + i * 20 + 8);

		assert_true(size > 0);
		assert_true(addr >= prev_end);
		prev_end = addr + size;
	}
	assert_int_equal(bt_read64(mem, ZP + 0x2d0), 0);
	assert_int_equal(bt_read64(mem, ZP + 0x2d0 + 8), 0x9fc00);
	assert_int_equal(bt_read32(mem, ZP + 0x2d0 + 16), E820_RAM);
}

static void test_synthetic_bzimage(void **state)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	u8 *initrd_data = malloc(MiB + 123);
	char *kernel = bz_make(&bz_default), *initrd;
	struct boot_params_in in = { .kernel = kernel,
				     .cmdline = "console=ttyS0 panic=-1",
				     .nr_vcpus = 1,
				     .acpi_rsdp_gpa = 0xe0000 };
	char cmdline[64];
	u8 zp[0x1000], pm[PM_SIZE];
	u32 rd_image, rd_size;
	u64 gdt_cs;

	(void)state;
	for (size_t i = 0; i < MiB + 123; i++)
		initrd_data[i] = (u8)(i ^ (i >> 8));
	initrd = bt_write_temp(initrd_data, MiB + 123);
	in.initrd = initrd;
	bt_gmem_init(&mem, 256 * MiB);
	boot_cpu_reset(&cpu, true);
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), 0);

	/* The 64-bit entry state of boot.rst. */
	assert_int_equal(cpu.rip, 16 * MiB + 0x200);
	assert_int_equal(cpu.gpr[CPU_RSI], ZP);
	assert_int_equal(cpu.rflags & 0x200, 0);
	assert_int_equal(cpu.cr0 & 0x80000001, 0x80000001);
	assert_int_equal(cpu.cr4 & 0x20, 0x20);
	assert_int_equal(cpu.efer & 0x500, 0x500);
	assert_int_equal(cpu.seg[CPU_CS].selector, 0x10);
	assert_int_equal(cpu.seg[CPU_CS].l, 1);
	assert_int_equal(cpu.seg[CPU_CS].db, 0);
	assert_int_equal(cpu.seg[CPU_DS].selector, 0x18);
	assert_int_equal(cpu.seg[CPU_SS].selector, 0x18);
	assert_int_equal(cpu.seg[CPU_ES].selector, 0x18);
	assert_int_equal(cpu.apic_base & 0xfffff000, 0xfee00000); /* kept from the given state */
	assert_int_equal(cpu.fx.mxcsr, 0x1f80);

	/* GDT: __BOOT_CS is a present, long-mode code segment; __BOOT_DS a writable data one. */
	assert_true(cpu.gdtr.limit >= 0x1f);
	gdt_cs = bt_read64(&mem, cpu.gdtr.base + 0x10);
	assert_int_equal(gdt_cs, 0x00af9b000000ffffull);
	assert_int_equal(bt_read64(&mem, cpu.gdtr.base + 0x18), 0x00cf93000000ffffull);

	/* Identity mapping over the first 4 GiB. */
	assert_int_equal(walk(&mem, cpu.cr3, 0), 0);
	assert_int_equal(walk(&mem, cpu.cr3, 16 * MiB + 0x200), 16 * MiB + 0x200);
	assert_int_equal(walk(&mem, cpu.cr3, 0xfee00000), 0xfee00000);
	assert_int_equal(walk(&mem, cpu.cr3, 4 * GiB - 1), 4 * GiB - 1);

	/* Protected-mode kernel copied to pref_address. */
	bt_read(&mem, 16 * MiB, pm, sizeof(pm));
	for (size_t i = 0; i < sizeof(pm); i++)
		assert_int_equal(pm[i], pm_byte(i));

	/* Zero page: setup header copied, loader fields filled, nothing else from the image. */
	bt_read(&mem, ZP, zp, sizeof(zp));
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x206] | zp[0x207] << 8, 0x020f);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x300], 0);
	assert_int_equal(zp[0x1ef], 0); /* sentinel */
	assert_int_equal(bt_read64(&mem, ZP + 0x70), 0xe0000);
	bt_read(&mem, bt_read32(&mem, ZP + 0x228), cmdline, sizeof("console=ttyS0 panic=-1"));
	assert_string_equal(cmdline, "console=ttyS0 panic=-1");

	/* Initrd: page aligned, as high as RAM allows, after the kernel, content intact. */
	rd_image = bt_read32(&mem, ZP + 0x218);
	rd_size = bt_read32(&mem, ZP + 0x21c);
	assert_int_equal(rd_size, MiB + 123);
	assert_int_equal(rd_image & 0xfff, 0);
	assert_true(rd_image >= 24 * MiB);
	assert_true(rd_image + rd_size <= 256 * MiB);
	assert_true(rd_image + rd_size > 256 * MiB - 4096);
	assert_int_equal(bt_read32(&mem, ZP + 0xc0), 0);
	{
		u8 *back = malloc(rd_size);

		bt_read(&mem, rd_image, back, rd_size);
		assert_memory_equal(back, initrd_data, rd_size);
		free(back);
	}
	check_e820_sane(&mem);

	gmem_destroy(&mem);
	bt_remove_temp(kernel);
	bt_remove_temp(initrd);
	free(initrd_data);
}

/* pref_address + init_size beyond RAM: a relocatable kernel goes to the first 2 MiB boundary. */
static void test_relocates_when_pref_does_not_fit(void **state)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	struct bz_opts o = bz_default;
	char *kernel;
	struct boot_params_in in = { .nr_vcpus = 1 };

	(void)state;
	o.init_size = 12 * MiB;
	kernel = bz_make(&o);
	in.kernel = kernel;
	bt_gmem_init(&mem, 20 * MiB);
	boot_cpu_reset(&cpu, true);
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), 0);
	assert_int_equal(cpu.rip, 2 * MiB + 0x200);
	assert_int_equal(bt_read32(&mem, 2 * MiB), 0x18110a03); /* pm_byte(0..3) */
	bt_remove_temp(kernel);

	o.relocatable = 0;
	kernel = bz_make(&o);
	in.kernel = kernel;
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), -EINVAL);
	assert_non_null(strstr(err.msg, kernel));
	assert_non_null(strstr(err.msg, "not inside guest RAM"));
	gmem_destroy(&mem);
	bt_remove_temp(kernel);
}

static void expect_refused(const struct bz_opts *o, const char *initrd, const char *cmdline,
			   const char *why)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	char *kernel = bz_make(o);
	struct boot_params_in in = { .kernel = kernel, .initrd = initrd, .cmdline = cmdline };
	int ret;

	bt_gmem_init(&mem, 64 * MiB);
	boot_cpu_reset(&cpu, true);
	ret = boot_linux(&mem, &in, &cpu, &err);
	if (ret >= 0 || !strstr(err.msg, why))
		fail_msg("expected refusal with \"%s\", got %d \"%s\"", why, ret, err.msg);
	/* Messages name the file at fault. */
	if (!strstr(err.msg, initrd && strstr(why, "initrd") ? initrd : kernel) &&
	    !strstr(why, "command line"))
		fail_msg("message does not name the file: %s", err.msg);
	gmem_destroy(&mem);
	bt_remove_temp(kernel);
}

static void test_hostile_kernels(void **state)
{
	struct bz_opts o;

	(void)state;
	o = bz_default;
	o.file_len = 0x300;
	expect_refused(&o, NULL, NULL, "too small");
	o = bz_default;
	o.file_len = 0x800; /* header fine, protected-mode part missing */
	expect_refused(&o, NULL, NULL, "truncated");
	o = bz_default;
	o.setup_sects = 255;
	expect_refused(&o, NULL, NULL, "truncated");
	o = bz_default;
	o.version = 0x020a;
	expect_refused(&o, NULL, NULL, "too old");
	o = bz_default;
	o.xloadflags = 0;
	expect_refused(&o, NULL, NULL, "64-bit");
	o = bz_default;
	o.jump_disp = 0x10;
	expect_refused(&o, NULL, NULL, "setup header length");
	o = bz_default;
	o.init_size = 0xf0000000u;
	expect_refused(&o, NULL, NULL, "kernel");
	o = bz_default;
	o.cmdline_size = 8;
	expect_refused(&o, NULL, "console=ttyS0", "command line");
}

static void test_not_a_bzimage(void **state)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	u8 junk[8192];
	char *path;
	struct boot_params_in in = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (u8)(i * 13);
	path = bt_write_temp(junk, sizeof(junk));
	in.kernel = path;
	bt_gmem_init(&mem, 64 * MiB);
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a bzImage"));
	assert_non_null(strstr(err.msg, path));
	in.kernel = "/nonexistent/vmlinuz";
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/vmlinuz"));
	gmem_destroy(&mem);
	bt_remove_temp(path);
}

static void test_huge_initrd_refused(void **state)
{
	char *initrd = bt_sparse_temp(200 * MiB);

	(void)state;
	expect_refused(&bz_default, initrd, NULL, "initrd");
	bt_remove_temp(initrd);
}

/* With RAM above 4 GiB the initrd still stays below initrd_addr_max and the 3 GiB hole. */
static void test_initrd_below_addr_max_with_high_ram(void **state)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	char *kernel = bz_make(&bz_default), *initrd = bt_sparse_temp(3 * MiB);
	struct boot_params_in in = { .kernel = kernel, .initrd = initrd };
	u32 rd;
	u8 n;

	(void)state;
	bt_gmem_init(&mem, 5 * GiB);
	boot_cpu_reset(&cpu, true);
	assert_int_equal(boot_linux(&mem, &in, &cpu, &err), 0);
	rd = bt_read32(&mem, ZP + 0x218);
	assert_true((u64)rd + 3 * MiB <= 0x80000000ull);
	assert_true((u64)rd + 3 * MiB > 0x80000000ull - 4096);
	/* e820 reports the RAM above 4 GiB. */
	bt_read(&mem, ZP + 0x1e8, &n, 1);
	assert_int_equal(bt_read64(&mem, ZP + 0x2d0 + (n - 1) * 20), 4 * GiB);
	assert_int_equal(bt_read64(&mem, ZP + 0x2d0 + (n - 1) * 20 + 8), 5 * GiB - 3 * GiB);
	gmem_destroy(&mem);
	bt_remove_temp(kernel);
	bt_remove_temp(initrd);
}

/* A real kernel file from the environment (the default guest), or NULL (the test skips). */
static const char *real_kernel(const char *var, char *path, size_t n)
{
	const char *env = getenv(var);
	struct utsname u;

	if (env && *env) {
		snprintf(path, n, "%s", env);
	} else {
		uname(&u);
		snprintf(path, n, "/boot/vmlinuz-%s", u.release);
	}
	if (access(path, R_OK) != 0) {
		print_message("no real kernel at %s (set %s), skipping\n", path, var);
		return NULL;
	}
	return path;
}

/* Load path; returns the entry RIP and leaves the first bytes at pref_address in *head. */
static u64 load_real(const char *path, bool on_host, u8 head[64], u64 *pref)
{
	struct gmem mem;
	struct cpu_state cpu;
	struct err err = { 0 };
	struct boot_params_in in = { .cmdline = "console=ttyS0", .unpack_on_host = on_host };
	u16 version;

	in.kernel = path;
	bt_gmem_init(&mem, 512 * MiB);
	boot_cpu_reset(&cpu, true);
	if (boot_linux(&mem, &in, &cpu, &err) != 0)
		fail_msg("%s", err.msg);
	bt_read(&mem, ZP + 0x206, &version, 2);
	bt_read(&mem, ZP + 0x258, pref, 8);
	bt_read(&mem, *pref, head, 64);
	print_message("%s: protocol %u.%02u, %s, entry %#llx\n", path, version >> 8, version & 0xff,
		      on_host ? "unpacked on the host" : "guest decompressor",
		      (unsigned long long)cpu.rip);
	assert_true(version >= 0x020c);
	gmem_destroy(&mem);
	return cpu.rip;
}

/*
 * A real bzImage loads both ways: whole, entered at its decompressor (pref + 0x200), or
 * unpacked on the host, entered at the kernel's startup_64 (Debian's vmlinux: at pref).
 */
static void check_real_bzimage(const char *var)
{
	char path[512];
	u8 whole[64], unpacked[64];
	u64 pref, pref2, rip;

	if (!real_kernel(var, path, sizeof(path)))
		skip();
	rip = load_real(path, false, whole, &pref);
	assert_int_equal(rip, pref + 0x200);
	rip = load_real(path, true, unpacked, &pref2);
	assert_int_equal(rip, pref);
	assert_int_equal(pref, pref2);
	assert_memory_not_equal(whole, unpacked, sizeof(whole));
}

static void test_real_bzimage(void **state)
{
	(void)state;
	check_real_bzimage("VMM_TEST_KERNEL");
}

static void test_real_bzimage_xz(void **state)
{
	(void)state;
	check_real_bzimage("VMM_TEST_KERNEL_XZ");
}

/* A payload that does not decompress leaves the kernel to its own decompressor, with a warning. */
static void test_corrupt_payload_falls_back(void **state)
{
	char path[512], *copy;
	u8 *img, head[64];
	u64 pref, size, pm, off, rip;
	FILE *f;

	(void)state;
	if (!real_kernel("VMM_TEST_KERNEL", path, sizeof(path)))
		skip();
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = (u64)ftell(f);
	rewind(f);
	img = malloc(size);
	assert_non_null(img);
	assert_int_equal(fread(img, 1, size, f), size);
	fclose(f);
	pm = (u64)((img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
	off = pm + (u64)(img[0x248] | img[0x249] << 8 | img[0x24a] << 16 | (u64)img[0x24b] << 24);
	assert_true(off + 4096 < size);
	memset(img + off + 64, 0x5a, 2048); /* keep the magic, ruin the data */
	copy = bt_write_temp(img, size);
	rip = load_real(copy, true, head, &pref);
	assert_int_equal(rip, pref + 0x200);
	bt_remove_temp(copy);
	free(img);
}

/* boot.kernel with boot.firmware: the parts for fw_cfg, the header patched, the limits. */
static void test_fw_kernel(void **state)
{
	struct bz_opts o = bz_default;
	u8 rd[3000];
	char *kernel = bz_make(&bz_default), *initrd, *small;
	struct boot_params_in in = { .kernel = kernel, .cmdline = "console=ttyS0" };
	struct boot_fw_kernel k;
	struct err err = { 0 };
	char big[2100];

	(void)state;
	memset(rd, 0x5c, sizeof(rd));
	initrd = bt_write_temp(rd, sizeof(rd));
	in.initrd = initrd;
	assert_int_equal(boot_linux_fw(&in, 256 * MiB, &k, &err), 0);
	assert_int_equal(k.setup_len, PM_OFFSET);
	assert_int_equal(k.kernel_len, PM_SIZE);
	for (size_t i = 0; i < PM_SIZE; i++)
		if (k.kernel[i] != pm_byte(i))
			fail_msg("kernel byte %zu differs", i);
	assert_int_equal(k.setup_gpa, BOOT_FW_SETUP_GPA);
	assert_int_equal(k.kernel_gpa, BOOT_FW_KERNEL_GPA);
	assert_int_equal(k.cmdline_gpa, BOOT_FW_CMDLINE_GPA);
	assert_int_equal(k.cmdline_len, strlen("console=ttyS0") + 1);
	assert_int_equal(k.initrd_len, sizeof(rd));
	assert_memory_equal(k.initrd, rd, sizeof(rd));
	/* as high as allowed, page aligned, below the firmware's 4 MiB */
	assert_int_equal(k.initrd_gpa, (256 * MiB - BOOT_FW_RESERVE - sizeof(rd)) & ~0xfffull);
	assert_int_equal(k.setup[0x210], 0xff); /* type_of_loader */
	assert_int_equal(k.setup[0x211], 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(k.setup[0x224] | k.setup[0x225] << 8, BOOT_FW_STACK_TOP - 0x200);
	assert_int_equal(get32(k.setup + 0x228), BOOT_FW_CMDLINE_GPA);
	assert_int_equal(get32(k.setup + 0x218), k.initrd_gpa);
	assert_int_equal(get32(k.setup + 0x21c), sizeof(rd));
	assert_int_equal(k.setup[0x300], 0x5a); /* the real-mode code is kept whole */
	boot_fw_kernel_free(&k);

	/* no initrd: size 0 */
	in.initrd = NULL;
	assert_int_equal(boot_linux_fw(&in, 256 * MiB, &k, &err), 0);
	assert_null(k.initrd);
	assert_int_equal(get32(k.setup + 0x21c), 0);
	boot_fw_kernel_free(&k);

	/* the kernel (init_size 8 MiB from 1 MiB) does not fit in 8 MiB of RAM */
	assert_int_equal(boot_linux_fw(&in, 8 * MiB, &k, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "guest RAM ends at"));
	boot_fw_kernel_free(&k);

	/* no room for the initrd between the kernel and the firmware's reserve */
	in.initrd = initrd;
	assert_int_equal(boot_linux_fw(&in, 13 * MiB, &k, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "do not fit"));
	boot_fw_kernel_free(&k);

	/* a command line over the kernel's cmdline_size */
	o.cmdline_size = 100;
	small = bz_make(&o);
	in.kernel = small;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in.cmdline = big;
	assert_int_equal(boot_linux_fw(&in, 256 * MiB, &k, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "the kernel accepts 100"));
	boot_fw_kernel_free(&k);
	bt_remove_temp(kernel);
	bt_remove_temp(small);
	bt_remove_temp(initrd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_bzimage),
		cmocka_unit_test(test_fw_kernel),
		cmocka_unit_test(test_relocates_when_pref_does_not_fit),
		cmocka_unit_test(test_hostile_kernels),
		cmocka_unit_test(test_not_a_bzimage),
		cmocka_unit_test(test_huge_initrd_refused),
		cmocka_unit_test(test_initrd_below_addr_max_with_high_ram),
		cmocka_unit_test(test_real_bzimage),
		cmocka_unit_test(test_real_bzimage_xz),
		cmocka_unit_test(test_corrupt_payload_falls_back),
	};

	return cmocka_run_group_tests_name("boot_linux", tests, NULL, NULL);
}
