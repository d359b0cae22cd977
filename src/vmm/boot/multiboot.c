// SPDX-License-Identifier: MIT
/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96: 3.1 OS image format,
 * 3.1.1 header layout, 3.1.2 magic fields, 3.1.3 address fields, 3.2 machine
 * state, 3.3 boot information format) with the ELF32/ELF64 program header
 * layouts of the System V ABI (gABI chapter 5, "Program Header").
 *
 * The header is searched in the first 8192 bytes (32-bit aligned, checksum
 * makes magic + flags + checksum = 0). With flags bit 16 the a.out kludge
 * address fields are used; otherwise the file must be an ELF32 (i386) or
 * ELF64 (x86-64) executable whose PT_LOAD segments have 32-bit physical
 * addresses. Every segment, module and the information area must lie in RAM
 * and not overlap each other. The information structure (flags, mem_lower/
 * mem_upper, cmdline, mods, mmap, boot_loader_name) is built at 0x10000.
 *
 * Not done: video mode requests (flags bit 2 is accepted, no VBE info is
 * given), ELF section headers (info flags bit 5), boot_device, drives, APM.
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MB_HEADER_MAGIC		0x1badb002u
#define MB_BOOTLOADER_MAGIC	0x2badb002u
#define MB_SEARCH_BYTES		8192
#define MB_FLAG_PAGE_ALIGN	(1u << 0)
#define MB_FLAG_MEMORY_INFO	(1u << 1)
#define MB_FLAG_VIDEO_MODE	(1u << 2)
#define MB_FLAG_AOUT_KLUDGE	(1u << 16)
#define MB_FLAGS_KNOWN_REQUIRED (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE)

/* multiboot_info flags (3.3) */
#define MB_INFO_MEMORY	    (1u << 0)
#define MB_INFO_CMDLINE	    (1u << 2)
#define MB_INFO_MODS	    (1u << 3)
#define MB_INFO_MMAP	    (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)
#define MB_INFO_SIZE	    88
#define MB_MAX_SEGMENTS	    16
#define MB_MAX_PHNUM	    256

#define PT_LOAD	  1
#define EM_386	  3
#define EM_X86_64 62
#define ET_EXEC	  2

struct mb_header {
	u64 offset; /* in the file */
	u32 flags;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_kernel {
	struct {
		u64 start, end;
	} seg[MB_MAX_SEGMENTS];

	unsigned nr_seg;
	u64 entry;
	u64 end; /* highest byte loaded + 1 */
};

static int mb_find_header(struct boot_file *f, struct mb_header *h, struct err *err)
{
	size_t len = (size_t)MIN(f->size, (u64)MB_SEARCH_BYTES + 32);
	u8 buf[MB_SEARCH_BYTES + 32];
	int ret;

	ret = boot_file_read(f, 0, buf, len, err);
	if (ret)
		return ret;
	for (size_t off = 0; off + 12 <= len && off < MB_SEARCH_BYTES; off += 4) {
		u32 magic = boot_get32(buf + off), flags = boot_get32(buf + off + 4);

		if (magic != MB_HEADER_MAGIC || (u32)(magic + flags + boot_get32(buf + off + 8)))
			continue;
		if (flags & 0xffff & ~MB_FLAGS_KNOWN_REQUIRED)
			return err_set(
				err, -EINVAL,
				"multiboot kernel %s: requires unsupported features (flags %#x)",
				f->path, flags);
		h->offset = off;
		h->flags = flags;
		if (flags & MB_FLAG_AOUT_KLUDGE) {
			if (off + 32 > len)
				return err_set(err, -EINVAL,
					       "multiboot kernel %s: truncated multiboot header",
					       f->path);
			h->header_addr = boot_get32(buf + off + 12);
			h->load_addr = boot_get32(buf + off + 16);
			h->load_end_addr = boot_get32(buf + off + 20);
			h->bss_end_addr = boot_get32(buf + off + 24);
			h->entry_addr = boot_get32(buf + off + 28);
		}
		return 0;
	}
	return err_set(err, -EINVAL,
		       "multiboot kernel %s: no multiboot header in the first 8192 bytes", f->path);
}

/* Claim, copy filesz bytes from the file and zero up to memsz. */
static int mb_load_segment(struct gmem *mem, struct boot_layout *l, struct boot_file *f,
			   struct mb_kernel *k, u64 off, u64 gpa, u64 filesz, u64 memsz,
			   struct err *err)
{
	int ret;

	if (k->nr_seg == MB_MAX_SEGMENTS)
		return err_set(err, -EINVAL, "multiboot kernel %s: more than %u segments", f->path,
			       MB_MAX_SEGMENTS);
	if (filesz > memsz || off > f->size || filesz > f->size - off)
		return err_set(
			err, -EINVAL,
			"multiboot kernel %s: segment at file offset %#llx+%#llx lies outside the file",
			f->path, (unsigned long long)off, (unsigned long long)filesz);
	if (gpa + memsz > (1ull << 32))
		return err_set(err, -EINVAL,
			       "multiboot kernel %s: segment %#llx+%#llx is above 4 GiB", f->path,
			       (unsigned long long)gpa, (unsigned long long)memsz);
	ret = boot_layout_claim(l, gpa, memsz, "multiboot segment", err);
	if (ret) {
		err_prefix(err, "multiboot kernel %s", f->path);
		return ret;
	}
	ret = boot_file_load(f, off, filesz, mem, gpa, err);
	if (!ret && boot_zero(mem, gpa + filesz, memsz - filesz) < 0)
		ret = err_set(err, -EFAULT, "multiboot kernel %s: bss not in RAM", f->path);
	k->seg[k->nr_seg].start = gpa;
	k->seg[k->nr_seg].end = gpa + memsz;
	k->nr_seg++;
	k->end = MAX(k->end, gpa + memsz);
	return ret;
}

static int mb_load_aout(struct gmem *mem, struct boot_layout *l, struct boot_file *f,
			const struct mb_header *h, struct mb_kernel *k, struct err *err)
{
	u64 off, load_end, bss_end;

	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset)
		return err_set(
			err, -EINVAL,
			"multiboot kernel %s: load_addr %#x / header_addr %#x point before the file",
			f->path, h->load_addr, h->header_addr);
	off = h->offset - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (f->size - off);
	bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (load_end <= h->load_addr || bss_end < load_end)
		return err_set(
			err, -EINVAL,
			"multiboot kernel %s: bad address fields (load %#x-%#llx, bss end %#llx)",
			f->path, h->load_addr, (unsigned long long)load_end,
			(unsigned long long)bss_end);
	k->entry = h->entry_addr;
	return mb_load_segment(mem, l, f, k, off, h->load_addr, load_end - h->load_addr,
			       bss_end - h->load_addr, err);
}

static int mb_load_elf(struct gmem *mem, struct boot_layout *l, struct boot_file *f,
		       struct mb_kernel *k, struct err *err)
{
	u8 eh[64], ph[56];
	bool is64;
	u64 phoff;
	unsigned phentsize, phnum;
	int ret;

	ret = boot_file_read(f, 0, eh, MIN(f->size, (u64)sizeof(eh)), err);
	if (ret)
		return ret;
	if (f->size < 52 || memcmp(eh, "\177ELF", 4))
		return err_set(err, -EINVAL,
			       "multiboot kernel %s: neither ELF nor a.out kludge (flags bit 16)",
			       f->path);
	is64 = eh[4] == 2;
	if ((eh[4] != 1 && eh[4] != 2) || eh[5] != 1 || boot_get16(eh + 16) != ET_EXEC ||
	    boot_get16(eh + 18) != (is64 ? EM_X86_64 : EM_386) || (is64 && f->size < 64))
		return err_set(err, -EINVAL,
			       "multiboot kernel %s: not a little-endian x86 ELF executable",
			       f->path);
	k->entry = is64 ? boot_get64(eh + 24) : boot_get32(eh + 24);
	phoff = is64 ? boot_get64(eh + 32) : boot_get32(eh + 28);
	phentsize = boot_get16(eh + (is64 ? 54 : 42));
	phnum = boot_get16(eh + (is64 ? 56 : 44));
	if (phentsize < (is64 ? 56u : 32u) || !phnum || phnum > MB_MAX_PHNUM)
		return err_set(err, -EINVAL, "multiboot kernel %s: bad program header table",
			       f->path);
	for (unsigned i = 0; i < phnum; i++) {
		u64 off, vaddr, paddr, filesz, memsz;

		ret = boot_file_read(f, phoff + (u64)i * phentsize, ph, is64 ? 56 : 32, err);
		if (ret)
			return ret;
		if (boot_get32(ph) != PT_LOAD)
			continue;
		off = is64 ? boot_get64(ph + 8) : boot_get32(ph + 4);
		vaddr = is64 ? boot_get64(ph + 16) : boot_get32(ph + 8);
		paddr = is64 ? boot_get64(ph + 24) : boot_get32(ph + 12);
		filesz = is64 ? boot_get64(ph + 32) : boot_get32(ph + 16);
		memsz = is64 ? boot_get64(ph + 40) : boot_get32(ph + 20);
		if (!memsz)
			continue;
		if (paddr >= (1ull << 32) || memsz >= (1ull << 32))
			return err_set(err, -EINVAL,
				       "multiboot kernel %s: segment %u at %#llx is above 4 GiB",
				       f->path, i, (unsigned long long)paddr);
		ret = mb_load_segment(mem, l, f, k, off, paddr, filesz, memsz, err);
		if (ret)
			return ret;
		/* A virtual entry point inside this segment: use its physical address. */
		if (vaddr != paddr && k->entry >= vaddr && k->entry - vaddr < memsz)
			k->entry = paddr + (k->entry - vaddr);
	}
	if (!k->nr_seg)
		return err_set(err, -EINVAL, "multiboot kernel %s: no loadable segment", f->path);
	return 0;
}

/* The information area, built in a host buffer then written at BOOT_INFO_GPA. */
struct mb_info {
	u8 *buf;
	size_t pos, cap;
};

static u32 mb_info_alloc(struct mb_info *mi, size_t len, size_t align)
{
	size_t at = ALIGN_UP(mi->pos, align);

	if (at + len > mi->cap)
		return 0;
	mi->pos = at + len;
	return (u32)(BOOT_INFO_GPA + at);
}

static u32 mb_info_string(struct mb_info *mi, const char *s)
{
	size_t len = strlen(s) + 1;
	u32 gpa = mb_info_alloc(mi, len, 1);

	if (gpa)
		memcpy(mi->buf + (gpa - BOOT_INFO_GPA), s, len);
	return gpa;
}

static int mb_load_modules(struct gmem *mem, struct boot_layout *l, const struct boot_params_in *in,
			   struct mb_info *mi, u32 mods_gpa, u64 start, struct err *err)
{
	static const char *const names[BOOT_MAX_MODULES] = {
		"module 0",  "module 1",  "module 2",  "module 3",  "module 4",	 "module 5",
		"module 6",  "module 7",  "module 8",  "module 9",  "module 10", "module 11",
		"module 12", "module 13", "module 14", "module 15",
	};
	int ret = 0;

	for (unsigned i = 0; i < in->nr_modules && !ret; i++) {
		u8 *mod = mi->buf + (mods_gpa - BOOT_INFO_GPA) + i * 16;
		const char *cmd =
			in->modules[i].cmdline ? in->modules[i].cmdline : in->modules[i].path;
		struct boot_file f;
		u32 str;

		ret = boot_file_open(&f, names[i], in->modules[i].path, err);
		if (ret)
			return ret;
		start = ALIGN_UP(start, 4096ull);
		ret = boot_layout_claim(l, start, MAX(f.size, 1ull), names[i], err);
		if (ret)
			err_prefix(err, "%s (%llu bytes)", f.path, (unsigned long long)f.size);
		if (!ret)
			ret = boot_file_load(&f, 0, f.size, mem, start, err);
		str = mb_info_string(mi, cmd ? cmd : "");
		if (!ret && !str)
			ret = err_set(err, -ENOSPC, "%s: command line too long", names[i]);
		boot_put32(mod, (u32)start);
		boot_put32(mod + 4, (u32)(start + f.size));
		boot_put32(mod + 8, str);
		start += MAX(f.size, 1ull);
		boot_file_close(&f);
	}
	return ret;
}

static int mb_build_info(struct gmem *mem, struct boot_layout *l, const struct boot_params_in *in,
			 const struct mb_kernel *k, const char *path, u32 *info_gpa,
			 struct err *err)
{
	struct mb_info mi = { .cap = BOOT_INFO_END - BOOT_INFO_GPA };
	u32 flags = MB_INFO_MEMORY | MB_INFO_MMAP | MB_INFO_LOADER_NAME | MB_INFO_CMDLINE;
	u32 mmap_gpa, mods_gpa = 0;
	u64 upper_end;
	u8 *info;
	int ret;

	mi.buf = calloc(1, mi.cap);
	if (!mi.buf)
		return err_set(err, -ENOMEM, "multiboot: out of memory");
	*info_gpa = mb_info_alloc(&mi, MB_INFO_SIZE, 8);
	info = mi.buf;
	boot_put32(info + 4, (u32)(MIN(boot_layout_ram_end(l, 0), BOOT_EBDA_START) >> 10));
	upper_end = boot_layout_ram_end(l, BOOT_BIOS_END); /* 0 if no RAM at 1 MiB */
	boot_put32(info + 8, upper_end ? (u32)((upper_end - BOOT_BIOS_END) >> 10) : 0);
	boot_put32(info + 16, mb_info_string(&mi, in->cmdline ? in->cmdline : ""));
	boot_put32(info + 64, mb_info_string(&mi, "vmm"));
	mmap_gpa = mb_info_alloc(&mi, (size_t)l->nr_map * 24, 8);
	for (unsigned i = 0; mmap_gpa && i < l->nr_map; i++) {
		u8 *e = mi.buf + (mmap_gpa - BOOT_INFO_GPA) + i * 24;

		boot_put32(e, 20); /* size of the entry, not counting this field */
		boot_put64(e + 4, l->map[i].addr);
		boot_put64(e + 12, l->map[i].size);
		boot_put32(e + 20, l->map[i].type);
	}
	boot_put32(info + 44, l->nr_map * 24);
	boot_put32(info + 48, mmap_gpa);
	if (in->nr_modules) {
		flags |= MB_INFO_MODS;
		mods_gpa = mb_info_alloc(&mi, in->nr_modules * 16, 16);
		boot_put32(info + 20, in->nr_modules);
		boot_put32(info + 24, mods_gpa);
	}
	boot_put32(info, flags);
	if (!boot_get32(info + 16) || !boot_get32(info + 64) || !mmap_gpa ||
	    (in->nr_modules && !mods_gpa)) {
		ret = err_set(err, -ENOSPC, "multiboot: command line too long for the info area");
		goto out_free;
	}
	ret = mb_load_modules(mem, l, in, &mi, mods_gpa, MAX(k->end, BOOT_BIOS_END), err);
	if (ret)
		goto out_free;
	ret = boot_layout_claim(l, BOOT_INFO_GPA, mi.pos, "multiboot information", err);
	if (ret) {
		err_prefix(err, "multiboot kernel %s", path);
		goto out_free;
	}
	if (gmem_write(mem, BOOT_INFO_GPA, mi.buf, mi.pos) < 0)
		ret = err_set(err, -EFAULT, "multiboot information: not in RAM");
out_free:
	free(mi.buf);
	return ret;
}

/* Spec 3.2: 32-bit protected mode, flat 4 GiB CS (0x08) and data (0x10), paging off, IF = 0. */
static int mb_set_entry_state(struct gmem *mem, struct boot_layout *l, struct cpu_state *cpu,
			      u64 entry, u32 info_gpa, struct err *err)
{
	u8 gdt[3 * 8] = { 0 };
	int ret;

	boot_seg_flat(&cpu->seg[CPU_CS], 0x08, true, false);
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		if (i != CPU_CS)
			boot_seg_flat(&cpu->seg[i], 0x10, false, false);
	boot_put64(gdt + 0x08, boot_seg_descriptor(&cpu->seg[CPU_CS]));
	boot_put64(gdt + 0x10, boot_seg_descriptor(&cpu->seg[CPU_DS]));
	ret = boot_layout_claim(l, BOOT_GDT_GPA, sizeof(gdt), "GDT", err);
	if (ret)
		return ret;
	if (gmem_write(mem, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0)
		return err_set(err, -EFAULT, "GDT: not in RAM");
	cpu->gdtr.base = BOOT_GDT_GPA;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	cpu->idtr.base = 0;
	cpu->idtr.limit = 0;
	cpu->ldtr.unusable = 1;
	cpu->ldtr.present = 0;
	cpu->cr0 = 0x11; /* PE, ET */
	cpu->rflags = 0x2;
	cpu->rip = entry;
	cpu->gpr[CPU_RAX] = MB_BOOTLOADER_MAGIC;
	cpu->gpr[CPU_RBX] = info_gpa;
	return 0;
}

static bool mb_entry_loaded(const struct mb_kernel *k)
{
	for (unsigned i = 0; i < k->nr_seg; i++)
		if (k->entry >= k->seg[i].start && k->entry < k->seg[i].end)
			return true;
	return false;
}

int boot_multiboot(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
		   struct err *err)
{
	struct boot_layout *l = calloc(1, sizeof(*l));
	struct mb_kernel k = { 0 };
	struct mb_header h = { 0 };
	struct boot_file f = { .fd = -1 };
	u32 info_gpa = 0;
	int ret;

	if (!l)
		return err_set(err, -ENOMEM, "multiboot: out of memory");
	boot_cpu_prepare(bsp);
	if (in->nr_modules > BOOT_MAX_MODULES) {
		ret = err_set(err, -EINVAL, "multiboot: at most %u modules", BOOT_MAX_MODULES);
		goto out_free;
	}
	ret = boot_layout_init(l, mem, err);
	if (ret)
		goto out_free;
	ret = boot_file_open(&f, "multiboot kernel", in->multiboot, err);
	if (ret)
		goto out_free;
	ret = mb_find_header(&f, &h, err);
	if (ret)
		goto out_close;
	if (h.flags & MB_FLAG_AOUT_KLUDGE)
		ret = mb_load_aout(mem, l, &f, &h, &k, err);
	else
		ret = mb_load_elf(mem, l, &f, &k, err);
	if (ret)
		goto out_close;
	if (!mb_entry_loaded(&k)) {
		ret = err_set(err, -EINVAL,
			      "multiboot kernel %s: entry point %#llx is outside the loaded image",
			      f.path, (unsigned long long)k.entry);
		goto out_close;
	}
	ret = mb_build_info(mem, l, in, &k, f.path, &info_gpa, err);
	if (!ret)
		ret = mb_set_entry_state(mem, l, bsp, k.entry, info_gpa, err);
	if (!ret)
		log_dbg(LOG_CAT_BOOT, "boot: multiboot %s entry %#llx info %#x", f.path,
			(unsigned long long)k.entry, info_gpa);
out_close:
	boot_file_close(&f);
out_free:
	free(l);
	return ret;
}
