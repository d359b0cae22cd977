// SPDX-License-Identifier: MIT
/*
 * Shared loader helpers: bounded file access, the claimed-range layout, the
 * RESET state of a vCPU (Intel SDM vol. 3A 9.1.1, table 9-1) and segment
 * descriptor packing (SDM vol. 3A 3.4.5, figure 3-8).
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int boot_file_open(struct boot_file *f, const char *what, const char *path, struct err *err)
{
	struct stat st;

	f->fd = -1;
	f->path = path;
	if (!path || !*path)
		return err_set(err, -EINVAL, "%s: no file given", what);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return err_set(err, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int ret = err_set(err, -EINVAL, "%s %s: not a regular file", what, path);

		boot_file_close(f);
		return ret;
	}
	if ((u64)st.st_size > BOOT_MAX_FILE) {
		int ret = err_set(err, -EFBIG, "%s %s: file too large (%lld bytes)", what, path,
				  (long long)st.st_size);

		boot_file_close(f);
		return ret;
	}
	f->size = (u64)st.st_size;
	return 0;
}

void boot_file_close(struct boot_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int boot_file_read(struct boot_file *f, u64 off, void *buf, size_t len, struct err *err)
{
	size_t done = 0;

	if (off > f->size || len > f->size - off)
		return err_set(err, -EINVAL,
			       "%s: truncated (needs %zu bytes at offset %llu, has %llu)", f->path,
			       len, (unsigned long long)off, (unsigned long long)f->size);
	while (done < len) {
		ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, -errno, "%s: read: %s", f->path, strerror(errno));
		if (n == 0)
			return err_set(err, -EIO, "%s: file shrank while reading", f->path);
		done += (size_t)n;
	}
	return 0;
}

int boot_file_load(struct boot_file *f, u64 off, u64 len, struct gmem *mem, u64 gpa,
		   struct err *err)
{
	enum {
		CHUNK = 1 << 20
	};

	void *hva = len ? gmem_ptr(mem, gpa, len) : NULL;
	u8 *buf;
	int ret = 0;

	if (!len)
		return 0;
	if (hva) /* the common case: one region, read straight into guest RAM */
		return boot_file_read(f, off, hva, len, err);
	buf = malloc(CHUNK);
	if (!buf)
		return err_set(err, -ENOMEM, "%s: out of memory", f->path);
	for (u64 done = 0; done < len && !ret; done += CHUNK) {
		size_t n = (size_t)MIN((u64)CHUNK, len - done);

		ret = boot_file_read(f, off + done, buf, n, err);
		if (!ret && gmem_write(mem, gpa + done, buf, n) < 0)
			ret = err_set(err, -EFAULT, "%s: guest range %#llx+%#zx is not RAM",
				      f->path, (unsigned long long)(gpa + done), n);
	}
	free(buf);
	return ret;
}

int boot_zero(struct gmem *mem, u64 gpa, u64 len)
{
	static const u8 zeros[4096];

	while (len) {
		size_t n = (size_t)MIN(len, (u64)sizeof(zeros));
		void *hva = gmem_ptr(mem, gpa, len);

		if (hva) {
			memset(hva, 0, len);
			return 0;
		}
		if (gmem_write(mem, gpa, zeros, n) < 0)
			return -EFAULT;
		gpa += n;
		len -= n;
	}
	return 0;
}

int boot_layout_init(struct boot_layout *l, const struct gmem *mem, struct err *err)
{
	memset(l, 0, sizeof(*l));
	if (e820_build(mem, l->map, E820_MAX_ENTRIES, &l->nr_map) < 0)
		return err_set(err, -ENOSPC, "guest memory map has too many regions");
	return 0;
}

u64 boot_layout_ram_end(const struct boot_layout *l, u64 gpa)
{
	for (unsigned i = 0; i < l->nr_map; i++) {
		const struct e820_entry *e = &l->map[i];

		if (e->type == E820_RAM && gpa >= e->addr && gpa - e->addr < e->size)
			return e->addr + e->size;
	}
	return 0;
}

static int boot_layout_check(const struct boot_layout *l, u64 gpa, u64 len)
{
	u64 end = boot_layout_ram_end(l, gpa);

	if (!len || gpa + len < gpa || !end || gpa + len > end)
		return -1; /* not inside one RAM range */
	for (unsigned i = 0; i < l->nr_claims; i++)
		if (gpa < l->claims[i].end && l->claims[i].start < gpa + len)
			return (int)i + 1;
	return 0;
}

bool boot_layout_fits(const struct boot_layout *l, u64 gpa, u64 len)
{
	return boot_layout_check(l, gpa, len) == 0 && l->nr_claims < BOOT_MAX_CLAIMS;
}

int boot_layout_claim(struct boot_layout *l, u64 gpa, u64 len, const char *name, struct err *err)
{
	int c = boot_layout_check(l, gpa, len);

	if (c < 0)
		return err_set(err, -EINVAL, "%s at %#llx-%#llx is not inside guest RAM", name,
			       (unsigned long long)gpa, (unsigned long long)(gpa + len - 1));
	if (c > 0)
		return err_set(err, -EINVAL, "%s at %#llx-%#llx overlaps %s at %#llx-%#llx", name,
			       (unsigned long long)gpa, (unsigned long long)(gpa + len - 1),
			       l->claims[c - 1].name, (unsigned long long)l->claims[c - 1].start,
			       (unsigned long long)(l->claims[c - 1].end - 1));
	if (l->nr_claims == BOOT_MAX_CLAIMS)
		return err_set(err, -ENOSPC, "%s: too many boot images", name);
	l->claims[l->nr_claims].start = gpa;
	l->claims[l->nr_claims].end = gpa + len;
	l->claims[l->nr_claims].name = name;
	l->nr_claims++;
	log_dbg(LOG_CAT_BOOT, "boot: %s at %#llx-%#llx", name, (unsigned long long)gpa,
		(unsigned long long)(gpa + len - 1));
	return 0;
}

void boot_seg_flat(struct cpu_segment *s, u16 selector, bool code, bool long_mode)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3; /* execute/read or read/write, accessed */
	s->s = 1;
	s->present = 1;
	s->g = 1;
	s->l = code && long_mode;
	s->db = !s->l;
}

void boot_seg_real(struct cpu_segment *s, u16 selector, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->base = (u64)selector << 4;
	s->limit = 0xffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->present = 1;
}

u64 boot_seg_descriptor(const struct cpu_segment *s)
{
	u32 limit = s->g ? s->limit >> 12 : s->limit;
	u64 d = 0;

	d |= limit & 0xffffull;
	d |= (s->base & 0xffffffull) << 16;
	d |= (u64)(s->type & 0xf) << 40;
	d |= (u64)s->s << 44;
	d |= (u64)(s->dpl & 3) << 45;
	d |= (u64)s->present << 47;
	d |= (u64)((limit >> 16) & 0xf) << 48;
	d |= (u64)s->avl << 52;
	d |= (u64)s->l << 53;
	d |= (u64)s->db << 54;
	d |= (u64)s->g << 55;
	d |= ((s->base >> 24) & 0xffull) << 56;
	return d;
}

void boot_cpu_prepare(struct cpu_state *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->rip = 0xfff0;
	cpu->rflags = 0x2;
	cpu->cr0 = 0x60000010; /* CD, NW, ET */
	cpu->cr2 = 0;
	cpu->cr3 = 0;
	cpu->cr4 = 0;
	cpu->efer = 0;
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		boot_seg_real(&cpu->seg[i], 0, false);
	boot_seg_real(&cpu->seg[CPU_CS], 0xf000, true);
	cpu->seg[CPU_CS].base = 0xffff0000;
	memset(&cpu->ldtr, 0, sizeof(cpu->ldtr));
	cpu->ldtr.limit = 0xffff;
	cpu->ldtr.type = 0x2; /* LDT */
	cpu->ldtr.present = 1;
	memset(&cpu->tr, 0, sizeof(cpu->tr));
	cpu->tr.limit = 0xffff;
	cpu->tr.type = 0xb; /* busy TSS */
	cpu->tr.present = 1;
	cpu->gdtr.base = 0;
	cpu->gdtr.limit = 0xffff;
	cpu->idtr.base = 0;
	cpu->idtr.limit = 0xffff;
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->interrupt_shadow = false;
	cpu->nmi_masked = false;
	cpu->halted = false;
}

static struct cpu_msr *boot_msr(struct cpu_state *cpu, u32 index)
{
	for (unsigned i = 0; i < cpu->nr_msrs && i < CPU_MAX_MSRS; i++)
		if (cpu->msrs[i].index == index)
			return &cpu->msrs[i];
	return NULL;
}

static void boot_msr_set(struct cpu_state *cpu, u32 index, u64 value)
{
	struct cpu_msr *m = boot_msr(cpu, index);

	if (m)
		m->value = value;
}

#define BOOT_MTRR_DEF_TYPE   0x2ffu
#define BOOT_MTRR_PHYS_BASE0 0x200u
#define BOOT_MTRR_VAR_PAIRS  8u
#define BOOT_MTRR_UC	     0x00u
#define BOOT_MTRR_WP	     0x05u
#define BOOT_MTRR_WB	     0x06u
#define BOOT_MTRR_BYTES(t)   (0x0101010101010101ull * (t)) /* eight ranges of type t */

void boot_cpu_mtrrs(struct cpu_state *cpu, u64 hole_start, unsigned phys_bits)
{
	u64 phys_mask = phys_bits >= 64 ? ~0ull : (1ull << phys_bits) - 1, addr = hole_start;
	unsigned pair = 0;

	if (!boot_msr(cpu, BOOT_MTRR_DEF_TYPE))
		return;
	boot_msr_set(cpu, 0x250, BOOT_MTRR_BYTES(BOOT_MTRR_WB)); /* 0-7FFFFh, 64 KiB each */
	boot_msr_set(cpu, 0x258, BOOT_MTRR_BYTES(BOOT_MTRR_WB)); /* 80000-9FFFFh, 16 KiB each */
	boot_msr_set(cpu, 0x259, BOOT_MTRR_BYTES(BOOT_MTRR_UC)); /* A0000-BFFFFh: VGA */
	for (u32 i = 0x268; i <= 0x26f; i++)			 /* C0000-FFFFFh, 4 KiB each */
		boot_msr_set(cpu, i, BOOT_MTRR_BYTES(BOOT_MTRR_WP));
	/* [hole_start, 4 GiB) as the fewest naturally aligned power-of-two blocks */
	while (addr && addr < (1ull << 32) && pair < BOOT_MTRR_VAR_PAIRS) {
		u64 size = addr & -addr;

		while (addr + size > (1ull << 32))
			size >>= 1;
		boot_msr_set(cpu, BOOT_MTRR_PHYS_BASE0 + 2 * pair, addr | BOOT_MTRR_UC);
		boot_msr_set(cpu, BOOT_MTRR_PHYS_BASE0 + 2 * pair + 1,
			     (~(size - 1) & phys_mask) | 0x800); /* valid */
		addr += size;
		pair++;
	}
	for (; pair < BOOT_MTRR_VAR_PAIRS; pair++) {
		boot_msr_set(cpu, BOOT_MTRR_PHYS_BASE0 + 2 * pair, 0);
		boot_msr_set(cpu, BOOT_MTRR_PHYS_BASE0 + 2 * pair + 1, 0);
	}
	/* enabled (E), fixed ranges enabled (FE), the default type write-back */
	boot_msr_set(cpu, BOOT_MTRR_DEF_TYPE, 0xc00 | BOOT_MTRR_WB);
}

void boot_cpu_reset(struct cpu_state *cpu, bool bsp)
{
	memset(cpu, 0, sizeof(*cpu));
	boot_cpu_prepare(cpu);
	cpu->apic_base = ACPI_LAPIC_GPA | 0x800 | (bsp ? 0x100 : 0); /* enabled, BSP */
	cpu->fx.fcw = 0x37f;
	cpu->fx.mxcsr = 0x1f80;
}
