// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the boot loaders (src/vmm/boot: linux.c with linux_unpack.c's gzip,
 * xz and LZ4 payloads and vmlinux ELF, multiboot.c with ELF32/ELF64 and the a.out kludge,
 * flat.c, firmware.c): the kernel (or flat image, or BIOS image) is the input, in a memory
 * file opened by name like any kernel; guest memory is fixed: 64 MiB in one region, or 16 MiB
 * + 32 MiB + 16 MiB at 4 GiB in three (loads that cross regions take the chunked path), each
 * followed by a page the process cannot touch, so a loader writing past guest RAM crashes.
 *
 * Input: a selector byte (loader, host decompression, initrd or modules, memory layout), a
 * byte of module count, le16 command-line length (a line of that many bytes is made up),
 * le24 load address (flat), then the file.
 *
 * Checks besides the sanitizers: a loader either loads (and then the entry state is the one
 * its protocol defines, pointing into guest RAM) or fails with a message; it never crashes,
 * leaks or touches memory outside guest RAM. Work is bounded by the file's size and by guest
 * RAM (the largest decompressed kernel fits in 64 MiB).
 */
#include "fuzz.h"
#include "vmm/boot/boot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FBOOT_RAM	  (64ull << 20)
#define FBOOT_PAGE	  4096ull
#define FBOOT_MAX_CMDLINE 0xffffu

enum fboot_kind {
	FBOOT_LINUX,
	FBOOT_MULTIBOOT,
	FBOOT_FLAT,
	FBOOT_FIRMWARE,
};

#define FBOOT_SEL_KIND(s)   ((s)&3)
#define FBOOT_SEL_UNPACK    0x04 /* Linux: decompress the payload on the host */
#define FBOOT_SEL_EXTRA	    0x08 /* an initrd, or the module count byte's modules */
#define FBOOT_SEL_SPLIT	    0x10 /* three memory regions */
#define FBOOT_SEL_NO_CMD    0x20 /* no command line at all (NULL) */
#define FBOOT_SEL_BIG_EXTRA 0x40 /* the initrd / modules are 1 MiB instead of 4 KiB */

struct fboot_region {
	u64 gpa, len;
};

static const struct fboot_region fboot_one[] = { { 0, FBOOT_RAM } };
static const struct fboot_region fboot_three[] = { { 0, 16ull << 20 },
						   { 16ull << 20, 32ull << 20 },
						   { 4ull << 30, 16ull << 20 } };

static struct {
	struct gmem one, three; /* the two layouts; copied for each input */
	int extra_fd, big_fd;
	char extra[FUZZ_PATH_MAX], big[FUZZ_PATH_MAX];
	char *cmdline; /* FBOOT_MAX_CMDLINE 'x' characters (a le16 length) */
} fboot;

/* Map each region with an inaccessible page after it. */
static int fboot_layout(struct gmem *mem, const struct fboot_region *r, unsigned n)
{
	memset(mem, 0, sizeof(*mem));
	for (unsigned i = 0; i < n; i++) {
		u8 *p = mmap(NULL, r[i].len + FBOOT_PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED || mprotect(p + r[i].len, FBOOT_PAGE, PROT_NONE) < 0 ||
		    gmem_add(mem, r[i].gpa, r[i].len, p) < 0)
			return -1;
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static u8 extra[4096];
	u8 *big = calloc(1, 1 << 20);

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	memset(extra, 0x5a, sizeof(extra));
	fboot.cmdline = malloc(FBOOT_MAX_CMDLINE + 1);
	if (!big || !fboot.cmdline || fboot_layout(&fboot.one, fboot_one, 1) < 0 ||
	    fboot_layout(&fboot.three, fboot_three, ARRAY_SIZE(fboot_three)) < 0)
		abort();
	memset(fboot.cmdline, 'x', FBOOT_MAX_CMDLINE);
	fboot.cmdline[FBOOT_MAX_CMDLINE] = '\0';
	fboot.extra_fd = fuzz_memfd("fuzz-initrd", extra, sizeof(extra), fboot.extra);
	fboot.big_fd = fuzz_memfd("fuzz-initrd-big", big, 1 << 20, fboot.big);
	free(big);
	if (fboot.extra_fd < 0 || fboot.big_fd < 0)
		abort();
	return 0;
}

/* The entry state each protocol defines (boot.h), for a load that succeeded. */
static void fboot_check(const struct gmem *mem, unsigned base_regions, unsigned kind,
			const struct cpu_state *bsp, const struct boot_params_in *in)
{
	switch (kind) {
	case FBOOT_LINUX:
		FUZZ_CHECK(bsp->gpr[CPU_RSI] == 0x7000 && gmem_is_ram(mem, bsp->rip));
		FUZZ_CHECK(bsp->cr0 & 1 && bsp->efer & 0x400 && bsp->seg[CPU_CS].l);
		break;
	case FBOOT_MULTIBOOT:
		FUZZ_CHECK(bsp->gpr[CPU_RAX] == 0x2badb002u && gmem_is_ram(mem, bsp->gpr[CPU_RBX]));
		FUZZ_CHECK(gmem_is_ram(mem, bsp->rip) && bsp->cr0 & 1);
		break;
	case FBOOT_FLAT:
		FUZZ_CHECK(bsp->seg[CPU_CS].base + bsp->rip == in->load_address);
		break;
	case FBOOT_FIRMWARE:
		FUZZ_CHECK(bsp->rip == 0xfff0 && mem->nr == base_regions + 1);
		break;
	}
}

static void fboot_run(struct gmem *mem, unsigned kind, const struct boot_params_in *in)
{
	unsigned base_regions = mem->nr;
	struct cpu_state bsp;
	struct err err = { 0 };
	int ret = -1;

	boot_cpu_reset(&bsp, true);
	switch (kind) {
	case FBOOT_LINUX:
		ret = boot_linux(mem, in, &bsp, &err);
		break;
	case FBOOT_MULTIBOOT:
		ret = boot_multiboot(mem, in, &bsp, &err);
		break;
	case FBOOT_FLAT:
		ret = boot_flat(mem, in, &bsp, &err);
		break;
	case FBOOT_FIRMWARE:
		ret = boot_firmware(mem, in, &bsp, &err);
		break;
	}
	if (fuzz_verbose() && ret)
		fprintf(stderr, "fuzz_boot: refused: %s\n", err.msg);
	else if (fuzz_verbose())
		fprintf(stderr, "fuzz_boot: loaded, entry %#llx\n", (unsigned long long)bsp.rip);
	if (ret == 0)
		fboot_check(mem, base_regions, kind, &bsp, in);
	else
		FUZZ_CHECK(ret < 0 && err.code == ret && err.msg[0]);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u8 sel = fuzz_u8(&in), nr_mods = fuzz_u8(&in) % (BOOT_MAX_MODULES + 2);
	u16 cmdline_len = fuzz_u16(&in);
	u64 load = fuzz_uint(&in, 3);
	unsigned kind = FBOOT_SEL_KIND(sel);
	const char *extra = sel & FBOOT_SEL_BIG_EXTRA ? fboot.big : fboot.extra;
	struct boot_params_in bp = { .unpack_on_host = sel & FBOOT_SEL_UNPACK,
				     .nr_vcpus = 1,
				     .load_address = load };
	size_t file_len = fuzz_left(&in);
	struct gmem mem = sel & FBOOT_SEL_SPLIT ? fboot.three : fboot.one;
	unsigned base_regions = mem.nr;
	char path[FUZZ_PATH_MAX];
	u8 *file;
	int fd;

	if (kind == FBOOT_FIRMWARE) /* BIOS images are a multiple of 64 KiB */
		file_len = ALIGN_UP(file_len, (size_t)0x10000);
	file = calloc(1, file_len ? file_len : 1);
	if (!file)
		return 0;
	fuzz_bytes(&in, file, file_len);
	fd = fuzz_memfd("fuzz-kernel", file, file_len, path);
	free(file);
	if (fd < 0)
		return 0;
	bp.kernel = bp.multiboot = bp.flat = bp.firmware = path;
	bp.cmdline =
		sel & FBOOT_SEL_NO_CMD ? NULL : fboot.cmdline + FBOOT_MAX_CMDLINE - cmdline_len;
	if (sel & FBOOT_SEL_EXTRA) {
		bp.initrd = extra;
		bp.nr_modules = nr_mods;
		for (unsigned i = 0; i < nr_mods && i < BOOT_MAX_MODULES; i++) {
			bp.modules[i].path = extra;
			bp.modules[i].cmdline = i & 1 ? bp.cmdline : NULL;
		}
	}
	fboot_run(&mem, kind, &bp);
	/* The firmware loader gives gmem its ROM mapping: unmap what this input added. */
	for (unsigned i = base_regions; i < mem.nr; i++)
		munmap(mem.regions[i].hva, mem.regions[i].len);
	close(fd);
	return 0;
}
