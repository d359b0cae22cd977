// SPDX-License-Identifier: MIT
/*
 * The softmmu: segment-relative guest accesses (limit checks, SDM vol. 3A
 * 5.3; canonical checks in 64-bit mode, vol. 3A 3.3.7.1), linear-to-physical
 * translation (paging is BT part 2: linear = physical for now) through a
 * direct-mapped TLB of host page pointers, and the slow path for accesses
 * that cross a page, hit a code page (self-modifying code), a read-only
 * region or no RAM at all (MMIO, or #PF in flat user mode; #PF error code
 * per SDM vol. 3A 4.7).
 */
#include "bt-fallback/bt.h"

#include <string.h>

enum bt_access {
	BT_ACC_READ,
	BT_ACC_WRITE,
	BT_ACC_FETCH,
};

void bt_tlb_flush(struct bt_cpu *cpu)
{
	memset(cpu->tlb, 0, sizeof(cpu->tlb));
	/* The jump cache maps linear addresses: it goes with the translations. */
	memset(cpu->cache.jc, 0, sizeof(cpu->cache.jc));
}

static unsigned bt_cpl(const struct bt_cpu *cpu)
{
	return cpu->st.seg[CPU_CS].selector & 3;
}

static NORETURN void bt_mmu_fault(struct bt_cpu *cpu, u64 lin, enum bt_access acc, bool present)
{
	u32 err = present ? BT_PF_P : 0;

	if (acc == BT_ACC_WRITE)
		err |= BT_PF_W;
	if (acc == BT_ACC_FETCH)
		err |= BT_PF_FETCH;
	if (bt_cpl(cpu) == 3)
		err |= BT_PF_U;
	bt_raise_pf(cpu, lin, err);
}

/*
 * Host address of the page holding lin for this access, or NULL for MMIO.
 * Raises #PF when flat user mode finds no RAM there.
 */
static u8 *bt_mmu_page(struct bt_cpu *cpu, u64 lin, enum bt_access acc)
{
	u64 page = lin & BT_PAGE_MASK;
	struct bt_tlb_entry *e = &cpu->tlb[(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];
	struct bt_region *r;
	u64 off;

	if (e->tag == (lin >> BT_PAGE_SHIFT) + 1 && (acc != BT_ACC_WRITE || e->writable))
		return e->hpage;
	r = bt_mem_region(cpu->mem, page);
	if (!r) {
		if (cpu->mem->fault_unmapped)
			bt_mmu_fault(cpu, lin, acc,
				     cpu->mem->supervisor_base && lin >= cpu->mem->supervisor_base);
		return NULL;
	}
	off = page - r->gpa;
	if (acc == BT_ACC_WRITE) {
		if (r->readonly) {
			if (cpu->mem->fault_unmapped)
				bt_mmu_fault(cpu, lin, acc, true);
			return NULL; /* ROM: the write is dropped by the caller */
		}
		if (r->code_pages[off >> BT_PAGE_SHIFT])
			bt_mem_code_written(cpu->mem, page);
	}
	e->tag = (lin >> BT_PAGE_SHIFT) + 1;
	e->hpage = r->hva + off;
	e->writable = !r->readonly && !r->code_pages[off >> BT_PAGE_SHIFT];
	return e->hpage;
}

unsigned bt_fetch(struct bt_cpu *cpu, u64 lin, u8 *buf, unsigned want, u64 *gpa)
{
	unsigned got = 0;

	*gpa = lin;
	while (got < want) {
		u64 a = lin + got;
		struct bt_region *r = bt_mem_region(cpu->mem, a);
		unsigned n;

		if (bt_cpu_mode(cpu) != BT_MODE_LONG64 &&
		    a - cpu->st.seg[CPU_CS].base > cpu->st.seg[CPU_CS].limit) {
			if (!got)
				bt_raise_gp0(cpu);
			break;
		}
		if (!r) {
			if (!got)
				bt_mmu_fault(cpu, a, BT_ACC_FETCH,
					     cpu->mem->supervisor_base &&
						     a >= cpu->mem->supervisor_base);
			break;
		}
		n = (unsigned)MIN((u64)(want - got), BT_PAGE_SIZE - (a & ~BT_PAGE_MASK));
		memcpy(buf + got, r->hva + (a - r->gpa), n);
		got += n;
	}
	return got;
}

/* The page of the last byte of an access that crosses a page: faults report that page's start. */
static u8 *bt_mmu_page_last(struct bt_cpu *cpu, u64 lin, unsigned size, enum bt_access acc)
{
	u64 last = lin + size - 1;

	if (!((last ^ lin) & BT_PAGE_MASK))
		return bt_mmu_page(cpu, lin, acc);
	return bt_mmu_page(cpu, last & BT_PAGE_MASK, acc);
}

/* Segment checks; returns the linear address. */
static u64 bt_seg_lin(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, bool write)
{
	const struct cpu_segment *s = &cpu->st.seg[seg];
	u64 lin;

	if (bt_cpu_mode(cpu) == BT_MODE_LONG64) {
		lin = (seg == CPU_FS || seg == CPU_GS) ? s->base + off : off;
		/* Canonical: bits 63..47 equal, for the first and last byte. */
		if (!bt_canonical(lin) || !bt_canonical(lin + size - 1))
			bt_raise(cpu, seg == CPU_SS ? BT_EXC_SS : BT_EXC_GP, 0, true);
		return lin;
	}
	if (off + size - 1 > s->limit)
		bt_raise(cpu, seg == CPU_SS ? BT_EXC_SS : BT_EXC_GP, 0, true);
	/*
	 * Protected mode: code segments are never writable and readable only with the R bit; data
	 * segments are writable only with the W bit (SDM vol. 3A 3.4.5.1, 5.5).
	 */
	if (bt_cpu_mode(cpu) != BT_MODE_REAL &&
	    (write ? (s->type & 8) || !(s->type & 2) : (s->type & 0xa) == 8))
		bt_raise(cpu, seg == CPU_SS ? BT_EXC_SS : BT_EXC_GP, 0, true);
	return (s->base + off) & 0xffffffffu;
}

static u64 bt_mmio_read(struct bt_cpu *cpu, u64 lin, unsigned size)
{
	u64 v = ~0ull;

	if (cpu->mem->mmio)
		cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, lin, size, false, &v);
	return v & bt_mask(size);
}

static u64 bt_ld_slow(struct bt_cpu *cpu, u64 lin, unsigned size)
{
	u8 b[8];
	u64 v = 0;

	bt_mmu_page(cpu, lin, BT_ACC_READ);
	bt_mmu_page_last(cpu, lin, size, BT_ACC_READ);
	for (unsigned i = 0; i < size; i++) {
		u8 *p = bt_mmu_page(cpu, lin + i, BT_ACC_READ);

		b[i] = p ? p[(lin + i) & ~BT_PAGE_MASK] : (u8)bt_mmio_read(cpu, lin + i, 1);
	}
	memcpy(&v, b, size);
	return v;
}

u64 bt_ld(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, false), v = 0;
	u8 *p;

	if (unlikely((lin & ~BT_PAGE_MASK) + size > BT_PAGE_SIZE))
		return bt_ld_slow(cpu, lin, size);
	p = bt_mmu_page(cpu, lin, BT_ACC_READ);
	if (unlikely(!p))
		return bt_mmio_read(cpu, lin, size);
	memcpy(&v, p + (lin & ~BT_PAGE_MASK), size);
	return v;
}

u64 bt_ld_lin(struct bt_cpu *cpu, u64 lin, unsigned size)
{
	return bt_ld_slow(cpu, lin, size);
}

void bt_st_lin(struct bt_cpu *cpu, u64 lin, unsigned size, u64 val)
{
	for (unsigned i = 0; i < size; i++) {
		u8 *p = bt_mmu_page(cpu, lin + i, BT_ACC_WRITE);
		u8 byte = (u8)(val >> (8 * i));

		if (p)
			p[(lin + i) & ~BT_PAGE_MASK] = byte;
		else if (cpu->mem->mmio)
			cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, lin + i, 1, true, &byte);
	}
}

u64 bt_ld_rmw(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);

	/* The read of a read-modify-write already needs write permission (#PF error W=1). */
	bt_mmu_page(cpu, lin, BT_ACC_WRITE);
	bt_mmu_page_last(cpu, lin, size, BT_ACC_WRITE);
	return bt_ld(cpu, seg, off, size);
}

void bt_probe_st(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);

	bt_mmu_page(cpu, lin, BT_ACC_WRITE);
	bt_mmu_page_last(cpu, lin, size, BT_ACC_WRITE);
}

void bt_st(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, u64 val)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);
	u8 *p, *q;

	if (likely((lin & ~BT_PAGE_MASK) + size <= BT_PAGE_SIZE)) {
		p = bt_mmu_page(cpu, lin, BT_ACC_WRITE);
		if (likely(p))
			memcpy(p + (lin & ~BT_PAGE_MASK), &val, size);
		else if (cpu->mem->mmio)
			cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, lin, size, true, &val);
		return;
	}
	/* Crossing a page: both pages must be writable before either is written. */
	p = bt_mmu_page(cpu, lin, BT_ACC_WRITE);
	q = bt_mmu_page_last(cpu, lin, size, BT_ACC_WRITE);
	for (unsigned i = 0; i < size; i++) {
		u64 a = lin + i;
		u8 *h = ((a ^ lin) & BT_PAGE_MASK) ? q : p;
		u8 byte = (u8)(val >> (8 * i));

		if (h)
			h[a & ~BT_PAGE_MASK] = byte;
		else if (cpu->mem->mmio)
			cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, a, 1, true, &byte);
	}
}

u8 *bt_host_span(struct bt_cpu *cpu, unsigned seg, u64 off, u64 len, bool write)
{
	const struct cpu_segment *sg = &cpu->st.seg[seg];
	u64 lin = ((seg == CPU_FS || seg == CPU_GS) ? sg->base : 0) + off, last = lin + len - 1;
	struct bt_region *r;

	if (bt_cpu_mode(cpu) != BT_MODE_LONG64 || !len || !bt_canonical(lin) ||
	    !bt_canonical(last) || ((lin ^ last) & BT_PAGE_MASK))
		return NULL;
	r = bt_mem_region(cpu->mem, lin);
	if (!r || (write && r->readonly))
		return NULL;
	if (write && r->code_pages[(lin - r->gpa) >> BT_PAGE_SHIFT])
		bt_mem_code_written(cpu->mem, lin);
	return r->hva + (lin - r->gpa);
}
