// SPDX-License-Identifier: MIT
/*
 * boot_multiboot against kernels assembled at build time with as/ld (mb32.S:
 * ELF32, mb64.S: ELF64 with 32-bit addresses; paths in argv[1], argv[2]) and
 * a.out-kludge images built byte by byte here; the machine state and the
 * information structure are checked against Multiboot 0.6.96 sections 3.2
 * and 3.3. Hostile images and modules must be refused with a message.
 */
#include "boot_test_util.h"
#include "vmm/boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ull << 20)

static const char *elf32_path, *elf64_path;

static u8 *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	u8 *buf;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void fill(struct gmem *mem, u64 gpa, u64 len, u8 v)
{
	u8 *p = gmem_ptr(mem, gpa, len);

	assert_non_null(p);
	memset(p, v, len);
}

static void read_str(const struct gmem *mem, u32 gpa, char *buf, size_t len)
{
	bt_read(mem, gpa, buf, len);
	buf[len - 1] = 0;
}

static void check_entry_state(const struct cpu_state *c, u32 info)
{
	assert_int_equal(c->gpr[CPU_RAX], 0x2badb002);
	assert_int_equal(c->gpr[CPU_RBX], info);
	assert_int_equal(c->cr0 & 0x80000001, 1); /* PE on, PG off */
	assert_int_equal(c->efer, 0);
	assert_int_equal(c->rflags & 0x20200, 0); /* IF and VM clear */
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		assert_int_equal(c->seg[i].base, 0);
		assert_int_equal(c->seg[i].limit, 0xffffffff);
		assert_int_equal(c->seg[i].db, 1);
		assert_int_equal(c->seg[i].present, 1);
	}
	assert_int_equal(c->seg[CPU_CS].type & 0x8, 0x8); /* code */
	assert_int_equal(c->seg[CPU_DS].type & 0xa, 0x2); /* writable data */
}

static void test_elf32_with_modules(void **state)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	static u8 m0[5000], m1[10];
	char *p0, *p1, buf[64];
	struct boot_params_in in = { .multiboot = elf32_path, .cmdline = "root=none quiet" };
	u32 info, flags, mods, mmap, mmap_len, prev_mod_end = 0x104014;

	(void)state;
	memset(m0, 0xa5, sizeof(m0));
	memset(m1, 0x5a, sizeof(m1));
	p0 = bt_write_temp(m0, sizeof(m0));
	p1 = bt_write_temp(m1, sizeof(m1));
	in.modules[0].path = p0;
	in.modules[0].cmdline = "mod0 arg=1";
	in.modules[1].path = p1; /* no cmdline: the path is given */
	in.nr_modules = 2;
	bt_gmem_init(&mem, 64 * MiB);
	fill(&mem, MiB, MiB, 0xff);
	boot_cpu_reset(&c, true);
	if (boot_multiboot(&mem, &in, &c, &err))
		fail_msg("%s", err.msg);
	info = (u32)c.gpr[CPU_RBX];
	check_entry_state(&c, info);
	assert_int_equal(c.rip, 0x10000c);
	/* .data copied, .bss zeroed */
	assert_int_equal(bt_read32(&mem, 0x100010), 0x11223344);
	assert_int_equal(bt_read32(&mem, 0x104010), 0);
	assert_int_equal(bt_read32(&mem, 0x100000), 0x1badb002);

	flags = bt_read32(&mem, info);
	assert_int_equal(flags & 0x24d, 0x24d); /* mem, cmdline, mods, mmap, loader name */
	assert_int_equal(bt_read32(&mem, info + 4), 639);
	assert_int_equal(bt_read32(&mem, info + 8), 63 * 1024);
	read_str(&mem, bt_read32(&mem, info + 16), buf, sizeof("root=none quiet"));
	assert_string_equal(buf, "root=none quiet");
	read_str(&mem, bt_read32(&mem, info + 64), buf, 4);
	assert_string_equal(buf, "vmm");

	assert_int_equal(bt_read32(&mem, info + 20), 2);
	mods = bt_read32(&mem, info + 24);
	for (unsigned i = 0; i < 2; i++) {
		u32 start = bt_read32(&mem, mods + i * 16),
		    end = bt_read32(&mem, mods + i * 16 + 4);
		u8 b;

		assert_int_equal(start & 0xfff, 0); /* page aligned (flags bit 0) */
		assert_true(start >= prev_mod_end);
		assert_int_equal(end - start, i ? sizeof(m1) : sizeof(m0));
		bt_read(&mem, end - 1, &b, 1);
		assert_int_equal(b, i ? 0x5a : 0xa5);
		prev_mod_end = end;
	}
	read_str(&mem, bt_read32(&mem, mods + 8), buf, sizeof("mod0 arg=1"));
	assert_string_equal(buf, "mod0 arg=1");
	read_str(&mem, bt_read32(&mem, mods + 16 + 8), buf, strlen(p1) + 1);
	assert_string_equal(buf, p1);

	mmap = bt_read32(&mem, info + 48);
	mmap_len = bt_read32(&mem, info + 44);
	assert_int_equal(mmap_len, 3 * 24);
	assert_int_equal(bt_read32(&mem, mmap), 20);
	assert_int_equal(bt_read64(&mem, mmap + 4), 0);
	assert_int_equal(bt_read64(&mem, mmap + 12), 0x9fc00);
	assert_int_equal(bt_read32(&mem, mmap + 20), 1);
	assert_int_equal(bt_read64(&mem, mmap + 48 + 4), MiB);
	assert_int_equal(bt_read32(&mem, mmap + 48 + 20), 1);

	gmem_destroy(&mem);
	bt_remove_temp(p0);
	bt_remove_temp(p1);
}

static void test_elf64(void **state)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	struct boot_params_in in = { .multiboot = elf64_path };

	(void)state;
	bt_gmem_init(&mem, 64 * MiB);
	boot_cpu_reset(&c, true);
	if (boot_multiboot(&mem, &in, &c, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(c.rip, 0x20000c);
	check_entry_state(&c, (u32)c.gpr[CPU_RBX]);
	assert_int_equal(bt_read32(&mem, 0x200000), 0x1badb002);
	assert_int_equal(bt_read32(&mem, (u32)c.gpr[CPU_RBX]) & 0x8, 0); /* no modules */
	gmem_destroy(&mem);
}

/* An a.out-kludge image: header at file offset 0x100, loaded at 2 MiB. */
struct aout {
	u32 flags, header_addr, load_addr, load_end, bss_end, entry;
	u32 checksum_fix; /* added to the checksum to corrupt it */
	size_t hdr_off, len;
};

static const struct aout aout_default = {
	.flags = 0x10003,
	.header_addr = 0x200100,
	.load_addr = 0x200000,
	.load_end = 0x201000,
	.bss_end = 0x203000,
	.entry = 0x200200,
	.hdr_off = 0x100,
	.len = 0x1800,
};

static char *aout_make(const struct aout *a)
{
	u8 *img = calloc(1, a->len + 64);
	u32 h[8] = { 0x1badb002,   a->flags,	0,	    a->header_addr,
		     a->load_addr, a->load_end, a->bss_end, a->entry };
	char *path;

	h[2] = -(0x1badb002u + a->flags) + a->checksum_fix;
	for (size_t i = 0; i < a->len; i++)
		img[i] = (u8)(i + 1);
	memcpy(img + a->hdr_off, h, sizeof(h));
	path = bt_write_temp(img, a->len);
	free(img);
	return path;
}

static void test_aout_kludge(void **state)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	char *path = aout_make(&aout_default);
	struct boot_params_in in = { .multiboot = path };
	u8 b[0x1000];

	(void)state;
	bt_gmem_init(&mem, 64 * MiB);
	fill(&mem, 0x200000, 0x4000, 0xee);
	boot_cpu_reset(&c, true);
	if (boot_multiboot(&mem, &in, &c, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(c.rip, 0x200200);
	bt_read(&mem, 0x200000, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		if (i < 0x100 || i >= 0x120) /* outside the header */
			assert_int_equal(b[i], (u8)(i + 1));
	bt_read(&mem, 0x201000, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], 0); /* bss */
	assert_int_equal(bt_read32(&mem, 0x203000), 0xeeeeeeee);
	gmem_destroy(&mem);
	bt_remove_temp(path);
}

static void expect_aout_refused(const struct aout *a, const char *why)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	char *path = aout_make(a);
	struct boot_params_in in = { .multiboot = path };
	int ret;

	bt_gmem_init(&mem, 64 * MiB);
	ret = boot_multiboot(&mem, &in, &c, &err);
	if (ret >= 0 || !strstr(err.msg, why) || !strstr(err.msg, path))
		fail_msg("expected refusal naming the file with \"%s\", got %d \"%s\"", why, ret,
			 err.msg);
	gmem_destroy(&mem);
	bt_remove_temp(path);
}

static void test_hostile_aout(void **state)
{
	struct aout a;

	(void)state;
	a = aout_default;
	a.checksum_fix = 1;
	expect_aout_refused(&a, "no multiboot header");
	a = aout_default;
	a.hdr_off = 8192; /* beyond the search window */
	a.len = 9000;
	expect_aout_refused(&a, "no multiboot header");
	a = aout_default;
	a.flags |= 1u << 3; /* an unknown required feature */
	expect_aout_refused(&a, "unsupported");
	a = aout_default;
	a.load_addr = 0x200200; /* after header_addr */
	expect_aout_refused(&a, "point before the file");
	a = aout_default;
	a.header_addr = 0x300000; /* load starts 1 MiB before the file */
	expect_aout_refused(&a, "point before the file");
	a = aout_default;
	a.load_end = 0x300000; /* beyond the end of the file */
	a.bss_end = 0;
	expect_aout_refused(&a, "outside the file");
	a = aout_default;
	a.bss_end = 0x200800; /* bss ends before the load end */
	expect_aout_refused(&a, "bad address fields");
	a = aout_default;
	a.load_addr = 0x7f000000; /* far outside 64 MiB of RAM */
	a.header_addr = 0x7f000100;
	a.load_end = 0x7f001000;
	a.bss_end = 0x7f003000;
	a.entry = 0x7f000200;
	expect_aout_refused(&a, "not inside guest RAM");
	a = aout_default;
	a.load_addr = 0xfffff000; /* load to the end of the file: crosses 4 GiB */
	a.header_addr = 0xfffff100;
	a.load_end = 0;
	a.bss_end = 0;
	a.entry = 0xfffff200;
	expect_aout_refused(&a, "above 4 GiB");
	a = aout_default;
	a.load_addr = 0x9f000; /* runs into the EBDA / BIOS window */
	a.header_addr = 0x9f100;
	a.load_end = 0xa0000;
	a.bss_end = 0;
	a.entry = 0x9f200;
	expect_aout_refused(&a, "not inside guest RAM");
	a = aout_default;
	a.load_addr = 0x10000; /* over the multiboot information area */
	a.header_addr = 0x10100;
	a.load_end = 0x11000;
	a.bss_end = 0;
	a.entry = 0x10200;
	expect_aout_refused(&a, "overlaps");
	a = aout_default;
	a.entry = 0x100000; /* not in the image */
	expect_aout_refused(&a, "entry point");
}

static void expect_elf_refused(const u8 *img, size_t len, const char *why)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	char *path = bt_write_temp(img, len);
	struct boot_params_in in = { .multiboot = path };
	int ret;

	bt_gmem_init(&mem, 64 * MiB);
	ret = boot_multiboot(&mem, &in, &c, &err);
	if (ret >= 0 || !strstr(err.msg, why) || !strstr(err.msg, path))
		fail_msg("expected refusal naming the file with \"%s\", got %d \"%s\"", why, ret,
			 err.msg);
	gmem_destroy(&mem);
	bt_remove_temp(path);
}

static void test_hostile_elf(void **state)
{
	size_t len;
	u8 *orig = slurp(elf32_path, &len), *img = malloc(len);
	u32 phoff;

	(void)state;
	memcpy(&phoff, orig + 28, 4);
	assert_true(phoff + 32 <= len);

	memcpy(img, orig, len);
	memcpy(img + 28, &(u32){ 0x7ffffff0 }, 4); /* program headers beyond the file */
	expect_elf_refused(img, len, "truncated");

	memcpy(img, orig, len);
	memcpy(img + phoff + 16, &(u32){ 0x100000 }, 4); /* p_filesz beyond the file */
	memcpy(img + phoff + 20, &(u32){ 0x100000 }, 4);
	expect_elf_refused(img, len, "outside the file");

	memcpy(img, orig, len);
	memcpy(img + phoff + 12, &(u32){ 0x3f00000 }, 4); /* p_paddr: ends past 64 MiB */
	memcpy(img + phoff + 20, &(u32){ 0x200000 }, 4);
	expect_elf_refused(img, len, "not inside guest RAM");

	memcpy(img, orig, len);
	memcpy(img + phoff + 20, &(u32){ 0xfffff000 }, 4); /* p_memsz wraps 4 GiB */
	expect_elf_refused(img, len, "above 4 GiB");

	memcpy(img, orig, len);
	img[18] = 40; /* e_machine: ARM */
	expect_elf_refused(img, len, "not a little-endian x86 ELF");

	memcpy(img, orig, len);
	memcpy(img + 24, &(u32){ 0x900000 }, 4); /* e_entry outside every segment */
	expect_elf_refused(img, len, "entry point");

	expect_elf_refused(orig, 0x60, "outside the file"); /* cut after the program header */
	free(img);
	free(orig);
}

static void test_bad_modules(void **state)
{
	struct gmem mem;
	struct cpu_state c;
	struct err err = { 0 };
	char *big = bt_sparse_temp(80 * MiB);
	struct boot_params_in in = { .multiboot = elf32_path, .nr_modules = 1 };

	(void)state;
	bt_gmem_init(&mem, 64 * MiB);
	in.modules[0].path = "/nonexistent/module";
	assert_int_equal(boot_multiboot(&mem, &in, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/module"));
	in.modules[0].path = big;
	assert_int_equal(boot_multiboot(&mem, &in, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, big));
	in.nr_modules = 17;
	assert_int_equal(boot_multiboot(&mem, &in, &c, &err), -EINVAL);
	gmem_destroy(&mem);
	bt_remove_temp(big);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32_with_modules), cmocka_unit_test(test_elf64),
		cmocka_unit_test(test_aout_kludge),	   cmocka_unit_test(test_hostile_aout),
		cmocka_unit_test(test_hostile_elf),	   cmocka_unit_test(test_bad_modules),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s MB32.ELF MB64.ELF\n", argv[0]);
		return 2;
	}
	elf32_path = argv[1];
	elf64_path = argv[2];
	return cmocka_run_group_tests_name("boot_multiboot", tests, NULL, NULL);
}
