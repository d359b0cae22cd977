// SPDX-License-Identifier: MIT
/*
 * Linux direct boot through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst: "The Real-Mode Kernel Header", "Details
 * of Header Fields", "Loading The Rest of The Kernel", "64-bit Boot
 * Protocol"; Documentation/arch/x86/zero-page.rst for struct boot_params).
 *
 * The loader checks the setup header (boot_flag 0xAA55, "HdrS", protocol
 * 2.12+, XLF_KERNEL_64), copies it into a zero page, loads the protected-mode
 * kernel at pref_address (or, if that does not fit and the kernel is
 * relocatable, at the first kernel_alignment boundary above 1 MiB), places
 * the initrd as high as initrd_addr_max and low RAM allow, fills the e820
 * table and acpi_rsdp_addr, builds identity page tables (2 MiB pages over
 * the first 4 GiB) and a GDT with __BOOT_CS 0x10 and __BOOT_DS 0x18, and
 * returns the long-mode entry state.
 *
 * The kernel proper is normally decompressed on the host first (linux_unpack.c) and entered
 * at its own startup_64 with the same state; the bzImage's decompressor runs in the guest
 * only when that is turned off or impossible.
 *
 * Not done: the 16-bit and 32-bit entry points, setup_data chains (no
 * e820 beyond 128 entries, no DTB), EFI handover, initrds above 4 GiB.
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Offsets in struct boot_params (zero-page.rst) and the setup header (boot.rst). */
#define ZP_SCREEN_INFO	     0x000 /* struct screen_info (include/uapi/linux/screen_info.h) */
#define SI_ORIG_VIDEO_MODE   0x06
#define SI_ORIG_VIDEO_COLS   0x07
#define SI_ORIG_VIDEO_LINES  0x0e
#define SI_ORIG_VIDEO_ISVGA  0x0f
#define SI_ORIG_VIDEO_POINTS 0x10
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMG   0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES	     0x1e8
#define ZP_SETUP_HEADER	     0x1f1
#define ZP_E820_TABLE	     0x2d0
#define ZP_SIZE		     0x1000

#define HDR_SETUP_SECTS	     0x1f1
#define HDR_BOOT_FLAG	     0x1fe
#define HDR_JUMP	     0x200
#define HDR_HEADER	     0x202
#define HDR_VERSION	     0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS	     0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE	     0x234
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_PAYLOAD_OFFSET   0x248
#define HDR_PAYLOAD_LENGTH   0x24c
#define HDR_INIT_SIZE	     0x260
#define HDR_END_MIN	     0x264 /* protocol 2.12 headers reach at least init_size */

#define LOADFLAGS_LOADED_HIGH  0x01
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64	       0x01
#define LINUX_MIN_PROTOCOL     0x020c
#define LINUX_CMDLINE_GPA      0x20000ull
#define LINUX_KERNEL_MIN_GPA   0x100000ull

/* The parts of the setup header the loader acts on. */
struct linux_hdr {
	u8 zp[ZP_SIZE]; /* the zero page being built: starts as the image's first page */
	u16 version;
	u64 pm_offset; /* file offset of the protected-mode kernel */
	u64 pm_size;
	u64 load_gpa;	 /* where it goes */
	u64 init_size;	 /* memory it needs from load_gpa on */
	u64 initrd_max;	 /* highest byte address the initrd may occupy */
	u32 cmdline_max; /* without the NUL */
};

static int linux_parse(struct boot_file *f, struct linux_hdr *h, struct err *err)
{
	u8 *zp = h->zp;
	u64 hdr_end;
	unsigned setup_sects;
	int ret;

	memset(zp, 0, sizeof(h->zp));
	if (f->size < 0x400)
		return err_set(err, -EINVAL, "kernel %s: too small to be a bzImage (%llu bytes)",
			       f->path, (unsigned long long)f->size);
	ret = boot_file_read(f, 0, zp, (size_t)MIN(f->size, (u64)ZP_SIZE), err);
	if (ret)
		return ret;
	if (boot_get16(zp + HDR_BOOT_FLAG) != 0xaa55 || memcmp(zp + HDR_HEADER, "HdrS", 4))
		return err_set(err, -EINVAL,
			       "kernel %s: not a bzImage (no 0xAA55/HdrS setup header)", f->path);
	h->version = boot_get16(zp + HDR_VERSION);
	if (h->version < LINUX_MIN_PROTOCOL)
		return err_set(err, -EINVAL,
			       "kernel %s: boot protocol %u.%02u is too old (2.12 or later needed)",
			       f->path, h->version >> 8, h->version & 0xff);
	if (!(boot_get16(zp + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err_set(err, -EINVAL, "kernel %s: has no 64-bit entry point (XLF_KERNEL_64)",
			       f->path);
	if (!(zp[HDR_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return err_set(err, -EINVAL, "kernel %s: zImage (not loaded high) is not supported",
			       f->path);
	/* The header ends at 0x202 + the jump's displacement byte (boot.rst). */
	hdr_end = 0x202 + zp[HDR_JUMP + 1];
	if (hdr_end < HDR_END_MIN || hdr_end > ZP_SIZE)
		return err_set(err, -EINVAL, "kernel %s: setup header length %#llx is invalid",
			       f->path, (unsigned long long)hdr_end);
	/* Keep only the setup header from the image; everything else starts zeroed. */
	memset(zp, 0, ZP_SETUP_HEADER);
	memset(zp + hdr_end, 0, ZP_SIZE - hdr_end);

	setup_sects = zp[HDR_SETUP_SECTS] ? zp[HDR_SETUP_SECTS] : 4;
	h->pm_offset = (u64)(setup_sects + 1) * 512;
	if (h->pm_offset >= f->size)
		return err_set(err, -EINVAL,
			       "kernel %s: truncated (setup is %llu bytes, file has %llu)", f->path,
			       (unsigned long long)h->pm_offset, (unsigned long long)f->size);
	h->pm_size = f->size - h->pm_offset;
	h->init_size = MAX((u64)boot_get32(zp + HDR_INIT_SIZE), h->pm_size);
	h->initrd_max = boot_get32(zp + HDR_INITRD_ADDR_MAX);
	h->cmdline_max = boot_get32(zp + HDR_CMDLINE_SIZE);
	return 0;
}

/* Open the bzImage at path and parse its setup header; f is closed on an error. */
static int linux_open(struct boot_file *f, struct linux_hdr *h, const char *path, struct err *err)
{
	int ret = boot_file_open(f, "kernel", path, err);

	if (ret)
		return ret;
	ret = linux_parse(f, h, err);
	if (ret)
		boot_file_close(f);
	return ret;
}

/* pref_address, or the first aligned address above 1 MiB if relocatable and that fails. */
static int linux_place_kernel(struct boot_layout *l, struct linux_hdr *h, const char *path,
			      struct err *err)
{
	u64 pref = boot_get64(h->zp + HDR_PREF_ADDRESS);
	u64 align = boot_get32(h->zp + HDR_KERNEL_ALIGNMENT);
	bool relocatable = h->zp[HDR_RELOCATABLE] != 0;
	int ret;

	if (!pref)
		pref = LINUX_KERNEL_MIN_GPA;
	if (boot_layout_fits(l, pref, h->init_size)) {
		h->load_gpa = pref;
	} else if (relocatable) {
		if (!align || (align & (align - 1)) || align > (1u << 30))
			return err_set(err, -EINVAL, "kernel %s: bad kernel_alignment %#llx", path,
				       (unsigned long long)align);
		h->load_gpa = ALIGN_UP(LINUX_KERNEL_MIN_GPA, align);
	} else {
		h->load_gpa = pref;
	}
	ret = boot_layout_claim(l, h->load_gpa, h->init_size, "kernel", err);
	if (ret)
		err_prefix(err, "%s (needs %llu MiB)", path,
			   (unsigned long long)(h->init_size >> 20) + 1);
	return ret;
}

static int linux_load_initrd(struct gmem *mem, struct boot_layout *l, struct linux_hdr *h,
			     const char *path, struct err *err)
{
	struct boot_file f;
	u64 top, gpa;
	int ret;

	ret = boot_file_open(&f, "initrd", path, err);
	if (ret)
		return ret;
	/* As high as allowed: below initrd_addr_max and inside the RAM above the kernel. */
	top = MIN(h->initrd_max + 1, boot_layout_ram_end(l, h->load_gpa));
	if (!f.size || f.size > top) {
		ret = err_set(err, -EINVAL, "initrd %s: size %llu does not fit below %#llx", path,
			      (unsigned long long)f.size, (unsigned long long)top);
		goto out_close;
	}
	gpa = (top - f.size) & ~0xfffull;
	ret = boot_layout_claim(l, gpa, f.size, "initrd", err);
	if (ret) {
		err_prefix(err, "initrd %s (%llu MiB) does not fit in guest RAM", path,
			   (unsigned long long)(f.size >> 20));
		goto out_close;
	}
	ret = boot_file_load(&f, 0, f.size, mem, gpa, err);
	if (ret)
		goto out_close;
	boot_put32(h->zp + HDR_RAMDISK_IMAGE, (u32)gpa);
	boot_put32(h->zp + HDR_RAMDISK_SIZE, (u32)f.size);
	boot_put32(h->zp + ZP_EXT_RAMDISK_IMG, (u32)(gpa >> 32));
	boot_put32(h->zp + ZP_EXT_RAMDISK_SIZE, (u32)(f.size >> 32));
	log_dbg(LOG_CAT_BOOT, "boot: initrd %s at %#llx, %llu bytes", path, (unsigned long long)gpa,
		(unsigned long long)f.size);
out_close:
	boot_file_close(&f);
	return ret;
}

static int linux_write_cmdline(struct gmem *mem, struct boot_layout *l, struct linux_hdr *h,
			       const char *cmdline, struct err *err)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	int ret;

	if (len > h->cmdline_max)
		return err_set(err, -EINVAL,
			       "kernel command line is %zu bytes, the kernel accepts %u", len,
			       h->cmdline_max);
	ret = boot_layout_claim(l, LINUX_CMDLINE_GPA, len + 1, "kernel command line", err);
	if (ret)
		return ret;
	if (gmem_write(mem, LINUX_CMDLINE_GPA, cmdline ? cmdline : "", len + 1) < 0)
		return err_set(err, -EFAULT, "kernel command line: guest RAM too small");
	boot_put32(h->zp + HDR_CMD_LINE_PTR, (u32)LINUX_CMDLINE_GPA);
	boot_put32(h->zp + ZP_EXT_CMD_LINE_PTR, 0);
	return 0;
}

/* Identity map of the first 4 GiB with 2 MiB pages: PML4, one PDPT, four page directories. */
static int linux_write_page_tables(struct gmem *mem, struct boot_layout *l, struct err *err)
{
	enum {
		PT_P = 1,
		PT_RW = 2,
		PT_PS = 0x80
	};

	u8 *pt = calloc(6, 4096);
	int ret;

	if (!pt)
		return err_set(err, -ENOMEM, "page tables: out of memory");
	boot_put64(pt, (BOOT_PML4_GPA + 0x1000) | PT_P | PT_RW);
	for (unsigned i = 0; i < 4; i++)
		boot_put64(pt + 0x1000 + i * 8,
			   (BOOT_PML4_GPA + 0x2000 + i * 0x1000) | PT_P | PT_RW);
	for (u64 i = 0; i < 4 * 512; i++)
		boot_put64(pt + 0x2000 + i * 8, (i << 21) | PT_P | PT_RW | PT_PS);
	ret = boot_layout_claim(l, BOOT_PML4_GPA, 6 * 4096, "page tables", err);
	if (!ret && gmem_write(mem, BOOT_PML4_GPA, pt, 6 * 4096) < 0)
		ret = err_set(err, -EFAULT, "page tables: guest RAM too small");
	free(pt);
	return ret;
}

/* GDT: null, null, __BOOT_CS 0x10 (64-bit code), __BOOT_DS 0x18 (data). */
static int linux_write_gdt(struct gmem *mem, struct boot_layout *l, struct cpu_state *cpu,
			   struct err *err)
{
	u8 gdt[4 * 8] = { 0 };
	int ret;

	boot_seg_flat(&cpu->seg[CPU_CS], 0x10, true, true);
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		if (i != CPU_CS)
			boot_seg_flat(&cpu->seg[i], 0x18, false, false);
	boot_put64(gdt + 0x10, boot_seg_descriptor(&cpu->seg[CPU_CS]));
	boot_put64(gdt + 0x18, boot_seg_descriptor(&cpu->seg[CPU_DS]));
	ret = boot_layout_claim(l, BOOT_GDT_GPA, sizeof(gdt), "GDT", err);
	if (ret)
		return ret;
	if (gmem_write(mem, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0)
		return err_set(err, -EFAULT, "GDT: guest RAM too small");
	cpu->gdtr.base = BOOT_GDT_GPA;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	return 0;
}

static void linux_fill_e820(struct linux_hdr *h, const struct boot_layout *l)
{
	unsigned n = MIN(l->nr_map, 128u);

	h->zp[ZP_E820_ENTRIES] = (u8)n;
	for (unsigned i = 0; i < n; i++) {
		u8 *e = h->zp + ZP_E820_TABLE + i * 20;

		boot_put64(e, l->map[i].addr);
		boot_put64(e + 8, l->map[i].size);
		boot_put32(e + 16, l->map[i].type);
	}
}

static void linux_set_entry_state(struct cpu_state *cpu)
{
	cpu->gpr[CPU_RSI] = BOOT_ZERO_PAGE_GPA;
	cpu->rflags = 0x2;     /* IF clear */
	cpu->cr0 = 0x80000011; /* PG, ET, PE */
	cpu->cr3 = BOOT_PML4_GPA;
	cpu->cr4 = 0x20;   /* PAE */
	cpu->efer = 0x500; /* LME, LMA */
	cpu->idtr.base = 0;
	cpu->idtr.limit = 0;
	cpu->tr.type = 0xb; /* busy 64-bit TSS, as VM entry requires in IA-32e mode */
	cpu->ldtr.unusable = 1;
	cpu->ldtr.present = 0;
}

/*
 * The protected-mode kernel: decompressed on the host when the kernel sits at its preferred
 * address (linux_unpack.c), else loaded whole for its own decompressor. *entry: where to start.
 */
static int linux_load_kernel(struct gmem *mem, struct boot_file *f, struct linux_hdr *h,
			     const struct boot_params_in *in, u64 *entry, struct err *err)
{
	u32 payload_off = boot_get32(h->zp + HDR_PAYLOAD_OFFSET);
	u32 payload_len = boot_get32(h->zp + HDR_PAYLOAD_LENGTH);
	struct err why = { 0 };
	int ret;

	if (in->unpack_on_host && h->version >= 0x0208 && payload_len &&
	    h->load_gpa == boot_get64(h->zp + HDR_PREF_ADDRESS)) {
		ret = linux_unpack(f, h->pm_offset, payload_off, payload_len, mem, h->load_gpa,
				   h->load_gpa + h->init_size, entry, &why);
		if (!ret)
			return 0;
		log_warn("kernel %s: not decompressed on the host (%s); its own decompressor "
			 "will run in the guest",
			 f->path, why.msg);
	}
	*entry = h->load_gpa + 0x200; /* startup_64 of the decompressor (boot.rst) */
	return boot_file_load(f, h->pm_offset, h->pm_size, mem, h->load_gpa, err);
}

int boot_linux(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
	       struct err *err)
{
	struct boot_layout *l = calloc(1, sizeof(*l));
	struct linux_hdr *h = calloc(1, sizeof(*h));
	struct boot_file f = { .fd = -1 };
	u64 entry = 0;
	int ret;

	if (!l || !h) {
		ret = err_set(err, -ENOMEM, "boot: out of memory");
		goto out_free;
	}
	boot_cpu_prepare(bsp);
	ret = boot_layout_init(l, mem, err);
	if (ret)
		goto out_free;
	ret = linux_open(&f, h, in->kernel, err);
	if (ret)
		goto out_free;
	ret = boot_layout_claim(l, BOOT_ZERO_PAGE_GPA, ZP_SIZE, "zero page", err);
	if (!ret)
		ret = linux_write_gdt(mem, l, bsp, err);
	if (!ret)
		ret = linux_write_page_tables(mem, l, err);
	if (!ret)
		ret = linux_write_cmdline(mem, l, h, in->cmdline, err);
	if (!ret)
		ret = linux_place_kernel(l, h, f.path, err);
	if (ret)
		goto out_close;
	ret = linux_load_kernel(mem, &f, h, in, &entry, err);
	if (ret)
		goto out_close;
	if (in->initrd && *in->initrd) {
		ret = linux_load_initrd(mem, l, h, in->initrd, err);
		if (ret)
			goto out_close;
	}
	h->zp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined loader */
	boot_put64(h->zp + ZP_ACPI_RSDP_ADDR, in->acpi_rsdp_gpa);
	if (in->vga_text) { /* VGA colour text, 80x25 with 16-line characters, cursor at 0,0 */
		h->zp[ZP_SCREEN_INFO + SI_ORIG_VIDEO_MODE] = 3;
		h->zp[ZP_SCREEN_INFO + SI_ORIG_VIDEO_COLS] = 80;
		h->zp[ZP_SCREEN_INFO + SI_ORIG_VIDEO_LINES] = 25;
		h->zp[ZP_SCREEN_INFO + SI_ORIG_VIDEO_ISVGA] = 1; /* VIDEO_TYPE_VGAC */
		h->zp[ZP_SCREEN_INFO + SI_ORIG_VIDEO_POINTS] = 16;
	}
	linux_fill_e820(h, l);
	if (gmem_write(mem, BOOT_ZERO_PAGE_GPA, h->zp, ZP_SIZE) < 0) {
		ret = err_set(err, -EFAULT, "zero page: guest RAM too small");
		goto out_close;
	}
	linux_set_entry_state(bsp);
	bsp->rip = entry;
	log_dbg(LOG_CAT_BOOT, "boot: kernel %s protocol %u.%02u at %#llx, entry %#llx", f.path,
		h->version >> 8, h->version & 0xff, (unsigned long long)h->load_gpa,
		(unsigned long long)bsp->rip);
out_close:
	boot_file_close(&f);
out_free:
	free(h);
	free(l);
	return ret;
}

/* The kernel's parts for fw_cfg: read whole, since the firmware copies them into place. */
static int linux_fw_read(struct boot_file *f, u64 off, u64 len, u8 **buf, u32 *buf_len,
			 struct err *err)
{
	if (len > BOOT_FW_MAX_ITEM)
		return err_set(err, -EFBIG,
			       "%s: %llu bytes is more than the firmware can be handed", f->path,
			       (unsigned long long)len);
	*buf = malloc(len ? (size_t)len : 1);
	if (!*buf)
		return err_set(err, -ENOMEM, "%s: out of memory", f->path);
	*buf_len = (u32)len;
	return boot_file_read(f, off, *buf, (size_t)len, err);
}

static int linux_fw_initrd(const struct boot_params_in *in, struct linux_hdr *h, u64 ram_end,
			   struct boot_fw_kernel *k, struct err *err)
{
	struct boot_file f;
	u64 top, low = BOOT_FW_KERNEL_GPA + h->init_size;
	int ret = boot_file_open(&f, "initrd", in->initrd, err);

	if (ret)
		return ret;
	top = MIN(h->initrd_max + 1, ram_end > BOOT_FW_RESERVE ? ram_end - BOOT_FW_RESERVE : 0);
	if (!f.size || f.size + low > top) {
		ret = err_set(err, -EINVAL,
			      "initrd %s: %llu bytes do not fit between the kernel's end %#llx and "
			      "%#llx (more guest memory?)",
			      f.path, (unsigned long long)f.size, (unsigned long long)low,
			      (unsigned long long)top);
		goto out_close;
	}
	ret = linux_fw_read(&f, 0, f.size, &k->initrd, &k->initrd_len, err);
	k->initrd_gpa = (u32)((top - f.size) & ~0xfffull);
out_close:
	boot_file_close(&f);
	return ret;
}

int boot_linux_fw(const struct boot_params_in *in, u64 ram_end, struct boot_fw_kernel *out,
		  struct err *err)
{
	struct linux_hdr *h = calloc(1, sizeof(*h));
	struct boot_file f = { .fd = -1 };
	size_t cmdline_len = strlen(in->cmdline ? in->cmdline : "");
	int ret;

	memset(out, 0, sizeof(*out));
	if (!h)
		return err_set(err, -ENOMEM, "boot: out of memory");
	ret = linux_open(&f, h, in->kernel, err);
	if (ret)
		goto out_free;
	if (cmdline_len > h->cmdline_max) {
		ret = err_set(err, -EINVAL,
			      "kernel command line is %zu bytes, the kernel accepts %u",
			      cmdline_len, h->cmdline_max);
		goto out_close;
	}
	if (BOOT_FW_KERNEL_GPA + h->init_size > ram_end) {
		ret = err_set(err, -EINVAL,
			      "kernel %s: needs %llu MiB from 1 MiB on, guest RAM ends at %#llx",
			      f.path, (unsigned long long)(h->init_size >> 20) + 1,
			      (unsigned long long)ram_end);
		goto out_close;
	}
	ret = linux_fw_read(&f, 0, h->pm_offset, &out->setup, &out->setup_len, err);
	if (!ret)
		ret = linux_fw_read(&f, h->pm_offset, h->pm_size, &out->kernel, &out->kernel_len,
				    err);
	if (!ret && in->initrd && *in->initrd)
		ret = linux_fw_initrd(in, h, ram_end, out, err);
	if (ret)
		goto out_close;
	out->setup_gpa = BOOT_FW_SETUP_GPA;
	out->kernel_gpa = BOOT_FW_KERNEL_GPA;
	out->cmdline_gpa = BOOT_FW_CMDLINE_GPA;
	out->cmdline_len = (u32)cmdline_len + 1;
	/* The header as a boot loader leaves it (boot.rst "Loading the rest of the kernel"). */
	out->setup[HDR_TYPE_OF_LOADER] = 0xff; /* undefined loader */
	out->setup[HDR_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	boot_put16(out->setup + HDR_HEAP_END_PTR, BOOT_FW_STACK_TOP - 0x200);
	boot_put32(out->setup + HDR_CMD_LINE_PTR, BOOT_FW_CMDLINE_GPA);
	boot_put32(out->setup + HDR_RAMDISK_IMAGE, out->initrd ? out->initrd_gpa : 0);
	boot_put32(out->setup + HDR_RAMDISK_SIZE, out->initrd_len);
	log_dbg(LOG_CAT_BOOT,
		"boot: kernel %s for the firmware: setup %u bytes, kernel %u, initrd %u at %#x",
		f.path, out->setup_len, out->kernel_len, out->initrd_len, out->initrd_gpa);
out_close:
	boot_file_close(&f);
out_free:
	free(h);
	return ret;
}

void boot_fw_kernel_free(struct boot_fw_kernel *k)
{
	free(k->setup);
	free(k->kernel);
	free(k->initrd);
	memset(k, 0, sizeof(*k));
}
