// SPDX-License-Identifier: MIT
/*
 * The softmmu: segment-relative guest accesses (limit checks, SDM vol. 3A
 * 5.3; canonical checks in 64-bit mode, vol. 3A 3.3.7.1), linear-to-physical
 * translation through a direct-mapped TLB of host page pointers, and the slow
 * path for accesses that cross a page, hit a code page (self-modifying code),
 * a read-only region or no RAM at all (MMIO, or #PF in flat user mode).
 *
 * Paging, SDM vol. 3A chapter 4: 32-bit paging with 4 MiB pages (CR4.PSE,
 * PSE-36 address bits, 4.3), PAE paging (4.4; the PDPTEs are read from
 * memory at each walk rather than cached at CR3 load: the same result for a
 * guest that reloads CR3 after changing them, as the SDM requires), 4-level
 * paging with 2 MiB pages and, when the CPU model has them (pdpe1gb), 1 GiB
 * pages (4.5; without, PDPTE.PS is reserved). Access rights as in 4.6: U/S,
 * R/W with CR0.WP, XD with EFER.NXE, SMEP (no supervisor fetch from a user
 * page) and SMAP (no supervisor data access to a user page, unless EFLAGS.AC
 * at CPL < 3 for an explicit access; implicit accesses always checked); no
 * protection keys (not advertised).
 * Accessed and dirty flags (4.8) are set with atomic ORs on the guest's
 * entries, A on every entry of a successful walk and D on the leaf for a
 * write. #PF error codes per 4.7 (P, W, U, RSVD, I/D) with CR2.
 *
 * The TLB (4.10) caches, per 4 KiB page, the permission result for each
 * access kind; there is one TLB for supervisor accesses and one for CPL 3,
 * and CR0.WP / EFER.NXE / CR4.SMEP / CR4.SMAP changes flush, so a cached
 * permission is never used under other rules. Under SMAP the supervisor TLB
 * caches no data access to a user page (the answer depends on EFLAGS.AC and
 * on the access being implicit), so each one walks. Global entries survive CR3 loads; INVLPG drops one page
 * (all of it for a large page). Implicit supervisor accesses (descriptor
 * tables, IDT, TSS: bt_ld_lin/bt_st_lin) use the supervisor TLB at any CPL.
 */
#include "bt-fallback/bt.h"

#include <string.h>

#define BT_PTE_P  (1ull << 0)
#define BT_PTE_RW (1ull << 1)
#define BT_PTE_US (1ull << 2)
#define BT_PTE_A  (1ull << 5)
#define BT_PTE_D  (1ull << 6)
#define BT_PTE_PS (1ull << 7)
#define BT_PTE_G  (1ull << 8)
#define BT_PTE_XD (1ull << 63)
/* Bits 51:MAXPHYADDR of a 64-bit entry: reserved (SDM vol. 3A tables 4-11, 4-14..4-20). */
#define BT_PTE_HI_RSVD (((1ull << 52) - 1) & ~((1ull << BT_MAXPHYADDR) - 1))
#define BT_PTE_ADDR    (((1ull << BT_MAXPHYADDR) - 1) & BT_PAGE_MASK)
/* A PAE PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR are reserved (table 4-8). */
#define BT_PDPTE_RSVD (~((1ull << BT_MAXPHYADDR) - 1) | 0x1e6)

/* What was derived from linear addresses (the jump cache) goes with the translations. */
static void bt_mmu_report_flush(struct bt_cpu *cpu, bool nonglobal_only)
{
	if (cpu->inval)
		cpu->inval->tlb_flushed(cpu, nonglobal_only);
}

static void bt_tlb_clear(struct bt_tlb_entry *e)
{
	e->tag[BT_ACC_READ] = e->tag[BT_ACC_WRITE] = e->tag[BT_ACC_FETCH] = BT_TLB_EMPTY;
	e->page = e->gpa = BT_TLB_EMPTY;
	e->global = e->large = 0;
}

void bt_tlb_flush(struct bt_cpu *cpu)
{
	struct bt_tlb_entry *e = &cpu->tlb[0][0];

	cpu->tlb_stats.nr_flushes++;
	for (unsigned i = 0; i < BT_TLB_SETS * BT_TLB_SIZE; i++)
		bt_tlb_clear(&e[i]);
	cpu->tlb_large = false;
	bt_mmu_report_flush(cpu, false);
}

void bt_tlb_flush_nonglobal(struct bt_cpu *cpu)
{
	struct bt_tlb_entry *e = &cpu->tlb[0][0];

	cpu->tlb_stats.nr_cr3++;
	for (unsigned i = 0; i < BT_TLB_SETS * BT_TLB_SIZE; i++)
		if (!e[i].global)
			bt_tlb_clear(&e[i]);
	bt_mmu_report_flush(cpu, true); /* global translations stay, as in the TLB */
}

void bt_tlb_flush_page(struct bt_cpu *cpu, u64 lin)
{
	u64 page = lin & BT_PAGE_MASK;

	cpu->tlb_stats.nr_invlpg++;
	for (unsigned u = 0; u < BT_TLB_SETS; u++) {
		struct bt_tlb_entry *e = &cpu->tlb[u][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];

		if (e->page == page)
			bt_tlb_clear(e);
	}
	if (cpu->tlb_large) {
		struct bt_tlb_entry *e = &cpu->tlb[0][0];

		for (unsigned i = 0; i < BT_TLB_SETS * BT_TLB_SIZE; i++)
			if (e[i].large && !((e[i].page ^ lin) >> e[i].large))
				bt_tlb_clear(&e[i]);
	}
	bt_mmu_report_flush(cpu, false);
}

void bt_tlb_drop_write(struct bt_cpu *cpu, u64 gpa)
{
	struct bt_tlb_entry *e = &cpu->tlb[0][0];

	gpa &= BT_PAGE_MASK;
	/* Possibly another CPU's TLB, which its thread refills meanwhile: single aligned accesses. */
	for (unsigned i = 0; i < BT_TLB_SETS * BT_TLB_SIZE; i++)
		if (__atomic_load_n(&e[i].gpa, __ATOMIC_RELAXED) == gpa)
			__atomic_store_n(&e[i].tag[BT_ACC_WRITE], BT_TLB_EMPTY, __ATOMIC_RELAXED);
}

void bt_tlb_drop_writes(struct bt_cpu *cpu)
{
	struct bt_tlb_entry *e = &cpu->tlb[0][0];

	for (unsigned i = 0; i < BT_TLB_SETS * BT_TLB_SIZE; i++)
		__atomic_store_n(&e[i].tag[BT_ACC_WRITE], BT_TLB_EMPTY, __ATOMIC_RELAXED);
}

/* CPL 3 accesses (virtual-8086 mode included) use the user TLB and user-mode permissions. */
static inline bool bt_mmu_user(const struct bt_cpu *cpu)
{
	return (cpu->st.seg[CPU_CS].selector & 3) == 3 || (cpu->st.rflags & BT_VM);
}

/* The TLB set an access of kind acc at privilege user looks up and fills (bt.h). */
static inline unsigned bt_tlb_set(const struct bt_cpu *cpu, bool user, enum bt_access acc)
{
	if (user)
		return BT_TLB_USER;
	if (acc != BT_ACC_FETCH && (cpu->st.rflags & BT_AC) && (cpu->st.cr4 & BT_CR4_SMAP) &&
	    !cpu->implicit)
		return BT_TLB_SUPER_AC;
	return BT_TLB_SUPER;
}

/* The result of a page walk. */
struct bt_walk {
	u64 gpa;	    /* physical address of the 4 KiB page */
	bool w, u, x;	    /* write, user and execute rights of the whole walk */
	bool dirty, global; /* leaf D and G (with CR4.PGE) */
	bool smap;	    /* a supervisor walk of a user page under SMAP: cache no data access */
	u8 large;	    /* log2 of the page size for a 2/4 MiB or 1 GiB page, else 0 */
};

/* Host address of a paging-structure entry, or NULL when the table is not in RAM. */
static void *bt_mmu_pte_ptr(struct bt_cpu *cpu, u64 gpa, unsigned size)
{
	struct bt_region *r = bt_mem_region(cpu->mem, gpa);

	if (!r || gpa + size - r->gpa > r->len)
		return NULL;
	return r->hva + (gpa - r->gpa);
}

static u64 bt_mmu_pte_load(void *p, unsigned size)
{
	if (!p)
		return 0; /* a table outside RAM reads as not present */
	if (size == 4)
		return __atomic_load_n((u32 *)p, __ATOMIC_RELAXED);
	return __atomic_load_n((u64 *)p, __ATOMIC_RELAXED);
}

static void bt_mmu_pte_or(void *p, unsigned size, u64 bits)
{
	if (size == 4)
		__atomic_fetch_or((u32 *)p, (u32)bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((u64 *)p, bits, __ATOMIC_RELAXED);
}

/* Marks a walk's result as a fault (a #PF error code can be 0). */
#define BT_MMU_FAULT (1u << 31)

/*
 * Walk the paging structures for lin (SDM vol. 3A 4.3-4.6). Returns 0 and fills w, having set
 * the accessed (and, for a write, dirty) flags, or returns BT_MMU_FAULT | the #PF error code.
 */
static u32 bt_mmu_walk(struct bt_cpu *cpu, u64 lin, enum bt_access acc, bool user,
		       struct bt_walk *w)
{
	u64 cr4 = cpu->st.cr4, efer = cpu->st.efer;
	bool pae = cr4 & BT_CR4_PAE, nxe = pae && (efer & BT_EFER_NXE);
	/* I/D: a fetch, reported with NXE or SMEP (SDM vol. 3A 4.7). */
	u32 err = BT_MMU_FAULT | (acc == BT_ACC_WRITE ? BT_PF_W : 0) | (user ? BT_PF_U : 0) |
		  (acc == BT_ACC_FETCH && (nxe || (cr4 & BT_CR4_SMEP)) ? BT_PF_FETCH : 0);
	void *ptes[4];
	u64 vals[4], pte_gpas[4];
	unsigned nr = 0, esize = pae ? 8 : 4, shift;
	u64 table, e = 0, xd_rsvd = nxe ? 0 : BT_PTE_XD;
	bool wr = true, us = true, nx = false, ok;
	bool gbpages = (efer & BT_EFER_LMA) && bt_has(cpu, CPU_F_PDPE1GB);
	bool smep = !user && (cr4 & BT_CR4_SMEP), smap = !user && (cr4 & BT_CR4_SMAP);

	if (!pae) {
		table = cpu->st.cr3 & 0xfffff000u;
		shift = 22;
	} else if (efer & BT_EFER_LMA) {
		table = cpu->st.cr3 & BT_PTE_ADDR;
		shift = 39;
	} else {
		/* PAE: the PDPTE selected by bits 31:30; no rights bits, bit 63 always reserved. */
		void *p =
			bt_mmu_pte_ptr(cpu, (cpu->st.cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8, 8);

		e = bt_mmu_pte_load(p, 8);
		if (!(e & BT_PTE_P))
			return err;
		if (e & BT_PDPTE_RSVD)
			return err | BT_PF_P | BT_PF_RSVD;
		table = e & BT_PTE_ADDR;
		shift = 21;
	}
	for (;;) {
		unsigned idx_bits = pae ? 9 : 10;
		u64 rsvd;
		bool leaf;
		u64 pte_gpa = table + ((lin >> shift) & ((1u << idx_bits) - 1)) * esize;
		void *p = bt_mmu_pte_ptr(cpu, pte_gpa, esize);

		e = bt_mmu_pte_load(p, esize);
		if (!(e & BT_PTE_P))
			return err;
		leaf = shift == 12 || (e & BT_PTE_PS);
		if (pae) {
			rsvd = BT_PTE_HI_RSVD | xd_rsvd;
			if (shift == 39 || (shift == 30 && !gbpages))
				rsvd |= BT_PTE_PS; /* PML4E.PS; PDPTE.PS without 1 GiB pages */
			else if (shift == 30 && leaf)
				rsvd |= 0x3fffe000; /* bits 29:13 of a 1 GiB PDPTE */
			else if (shift == 21 && leaf)
				rsvd |= 0x1fe000; /* bits 20:13 of a 2 MiB PDE */
		} else {
			if (shift == 22 && !(cr4 & BT_CR4_PSE))
				leaf = false; /* PS is ignored without CR4.PSE */
			rsvd = shift == 22 && leaf ? 1ull << 21 : 0;
		}
		if (e & rsvd)
			return err | BT_PF_P | BT_PF_RSVD;
		vals[nr] = e;
		pte_gpas[nr] = pte_gpa;
		ptes[nr++] = p;
		wr = wr && (e & BT_PTE_RW);
		us = us && (e & BT_PTE_US);
		nx = nx || (nxe && (e & BT_PTE_XD));
		if (leaf)
			break;
		table = e & (pae ? BT_PTE_ADDR : 0xfffff000u);
		shift -= idx_bits;
	}
	/*
	 * Access rights, SDM vol. 3A 4.6.1 (no protection keys). SMAP: a supervisor data access
	 * to a user page is refused when it is implicit, made at CPL 3, or EFLAGS.AC is clear.
	 */
	bool smap_blocks =
		smap && us && (cpu->implicit || bt_mmu_user(cpu) || !(cpu->st.rflags & BT_AC));

	switch (acc) {
	case BT_ACC_READ:
		ok = user ? us : !smap_blocks;
		break;
	case BT_ACC_WRITE:
		ok = user ? us && wr : (wr || !(cpu->st.cr0 & BT_CR0_WP)) && !smap_blocks;
		break;
	default:
		ok = !nx && (user ? us : !(smep && us));
		break;
	}
	if (!ok)
		return err | BT_PF_P;
	for (unsigned i = 0; i < nr; i++)
		if (!(vals[i] & BT_PTE_A)) {
			bt_mmu_pte_or(ptes[i], esize, BT_PTE_A);
			bt_mem_mark_dirty(cpu->mem, pte_gpas[i]);
		}
	w->dirty = e & BT_PTE_D;
	if (acc == BT_ACC_WRITE && !w->dirty) {
		bt_mmu_pte_or(ptes[nr - 1], esize, BT_PTE_D);
		bt_mem_mark_dirty(cpu->mem, pte_gpas[nr - 1]);
		w->dirty = true;
	}
	if (shift == 12) {
		w->gpa = e & (pae ? BT_PTE_ADDR : 0xfffff000u);
		w->large = 0;
	} else if (shift == 30) {
		w->gpa = (e & BT_PTE_ADDR & ~0x3fffffffull) | (lin & 0x3ffff000);
		w->large = 30;
	} else if (pae) {
		w->gpa = (e & BT_PTE_ADDR & ~0x1fffffull) | (lin & 0x1ff000);
		w->large = 21;
	} else {
		/* 4 MiB page: bits 31:22 and, PSE-36, bits 39:32 from PDE bits 20:13 (table 4-4). */
		w->gpa = (e & 0xffc00000u) | (((e >> 13) & 0xff) << 32) | (lin & 0x3ff000);
		w->large = 22;
	}
	w->w = user ? us && wr : wr || !(cpu->st.cr0 & BT_CR0_WP);
	w->u = us;
	w->x = !nx && (user ? us : !(smep && us));
	w->smap = smap && us;
	w->global = (cr4 & BT_CR4_PGE) && (e & BT_PTE_G);
	return 0;
}

bool bt_mmu_pdptes_ok(struct bt_cpu *cpu, u64 cr3)
{
	for (unsigned i = 0; i < 4; i++) {
		u64 e = bt_mmu_pte_load(bt_mmu_pte_ptr(cpu, (cr3 & 0xffffffe0u) + i * 8, 8), 8);

		if ((e & BT_PTE_P) && (e & BT_PDPTE_RSVD))
			return false;
	}
	return true;
}

/* Flat user mode (mem->fault_unmapped): the error code of an access to no RAM or to ROM. */
static u32 bt_mmu_flat_error(struct bt_cpu *cpu, enum bt_access acc, bool present)
{
	u32 err = present ? BT_PF_P : 0;

	if (acc == BT_ACC_WRITE)
		err |= BT_PF_W;
	if (acc == BT_ACC_FETCH)
		err |= BT_PF_FETCH;
	if (bt_mmu_user(cpu))
		err |= BT_PF_U;
	return err;
}

/*
 * A logged region (bt_mem_log_dirty): a write fill marks its page, whatever the entry caches
 * (a watched or SMAP page fills again at every write); any other fill caches write permission
 * only for a page already marked, so the first store after a harvest fills and marks it.
 */
static bool bt_mmu_log_write(struct bt_mem *mem, struct bt_region *r, u64 gpa, bool write)
{
	const unsigned bpl = 8 * sizeof(unsigned long);
	u64 page = (gpa - r->gpa) >> BT_PAGE_SHIFT;

	if (write) {
		bt_mem_mark_dirty(mem, gpa);
		return true;
	}
	return __atomic_load_n(&r->dirty[page / bpl], __ATOMIC_RELAXED) & (1ul << (page % bpl));
}

/*
 * The TLB miss path: translate lin for acc and refill the entry. Returns the entry, or (probe)
 * NULL instead of raising #PF. For a write to ROM it returns cpu->tlb_scratch with no host page
 * (the caller sends the write to the machine) and caches nothing for writes.
 */
static struct bt_tlb_entry *bt_tlb_fill(struct bt_cpu *cpu, u64 lin, enum bt_access acc, bool user,
					bool probe)
{
	struct bt_mem *mem = cpu->mem;
	unsigned set = bt_tlb_set(cpu, user, acc);
	struct bt_tlb_entry *e = &cpu->tlb[set][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];
	u64 page = lin & BT_PAGE_MASK, tag;
	struct bt_region *r;
	struct bt_walk w = { 0 };
	u16 *code = NULL;
	bool writable;
	u32 err;

	cpu->tlb_stats.nr_misses++;
	if ((cpu->st.cr0 & BT_CR0_PG) && !mem->fault_unmapped && !cpu->flat) {
		err = bt_mmu_walk(cpu, lin, acc, user, &w);
		if (err) {
			if (probe)
				return NULL;
			bt_raise_pf(cpu, lin, err & ~BT_MMU_FAULT);
		}
	} else {
		w = (struct bt_walk){
			.gpa = lin & BT_PAGE_MASK, .w = true, .u = true, .x = true, .dirty = true
		};
	}
	/* The set with SMAP open caches what its walks allowed: AC is set for every access to it. */
	if (set == BT_TLB_SUPER_AC)
		w.smap = false;
	r = bt_mem_region(mem, w.gpa);
	if (mem->fault_unmapped && (!r || (acc == BT_ACC_WRITE && r->readonly))) {
		if (probe)
			return NULL;
		bt_raise_pf(cpu, lin,
			    bt_mmu_flat_error(
				    cpu, acc,
				    r || (mem->supervisor_base && lin >= mem->supervisor_base)));
	}
	if (r) {
		code = &r->code_pages[(w.gpa - r->gpa) >> BT_PAGE_SHIFT];
		if (acc == BT_ACC_WRITE && __atomic_load_n(code, __ATOMIC_ACQUIRE) && !r->readonly)
			bt_mem_code_written(mem, cpu, w.gpa);
	}
	tag = r ? page : page | BT_TLB_MMIO;
	e->page = page;
	__atomic_store_n(&e->gpa, w.gpa, __ATOMIC_RELAXED); /* read by bt_tlb_drop_write */
	e->hpage = r ? r->hva + (w.gpa - r->gpa) : NULL;
	e->addend = r ? (u64)(uintptr_t)e->hpage - page : 0;
	e->global = w.global;
	e->large = w.large;
	cpu->tlb_large |= w.large != 0;
	/* Any walk that succeeded allows reads at this privilege, unless SMAP decides each one. */
	e->tag[BT_ACC_READ] = w.smap ? BT_TLB_EMPTY : tag;
	e->tag[BT_ACC_FETCH] = w.x ? tag : BT_TLB_EMPTY;
	writable = w.w && w.dirty && !(r && r->readonly);
	if (writable && r && unlikely(r->dirty != NULL))
		writable = bt_mmu_log_write(mem, r, w.gpa, acc == BT_ACC_WRITE);
	e->tag[BT_ACC_WRITE] =
		writable && !w.smap && !(r && __atomic_load_n(code, __ATOMIC_RELAXED)) ?
			tag :
			BT_TLB_EMPTY;
	if (unlikely(cpu->dbg_data) && bt_debug_watched(cpu, page)) {
		/* A data breakpoint's page: every access checks it (debug.c). */
		e->tag[BT_ACC_READ] = e->tag[BT_ACC_WRITE] = BT_TLB_EMPTY;
	}
	if (e->tag[BT_ACC_WRITE] != BT_TLB_EMPTY && r) {
		/*
		 * Another CPU may mark the page as code now and drop write tags before this one is
		 * stored: check again after it (bt_mem_mark_code orders its flag store before its
		 * TLB scan the same way), so one of the two sees the other. A dirty-log read clears
		 * the page's bit and then drops write tags the same way (mem.c).
		 */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(code, __ATOMIC_RELAXED) ||
		    (r->dirty && !bt_mmu_log_write(mem, r, w.gpa, false)))
			e->tag[BT_ACC_WRITE] = BT_TLB_EMPTY;
	}
	if (acc == BT_ACC_WRITE && r && r->readonly) {
		cpu->tlb_scratch = (struct bt_tlb_entry){ .gpa = w.gpa, .page = page };
		return &cpu->tlb_scratch;
	}
	return e;
}

/* The TLB entry for an access to lin, filling it (or raising #PF) on a miss. */
static inline struct bt_tlb_entry *bt_tlb_get(struct bt_cpu *cpu, u64 lin, enum bt_access acc,
					      bool user)
{
	struct bt_tlb_entry *e =
		&cpu->tlb[bt_tlb_set(cpu, user, acc)][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];

	if (likely(bt_tlb_tag_ok(e, acc, lin & BT_PAGE_MASK)))
		return e;
	return bt_tlb_fill(cpu, lin, acc, user, false);
}

bool bt_mmu_probe_fetch(struct bt_cpu *cpu, u64 lin, u64 *gpa)
{
	bool user = bt_mmu_user(cpu);
	struct bt_tlb_entry *e = &cpu->tlb[user][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];

	if (!bt_tlb_tag_ok(e, BT_ACC_FETCH, lin & BT_PAGE_MASK))
		e = bt_tlb_fill(cpu, lin, BT_ACC_FETCH, user, true);
	if (!e)
		return false;
	*gpa = e->gpa | (lin & ~BT_PAGE_MASK);
	return true;
}

unsigned bt_fetch(struct bt_cpu *cpu, u64 lin, u8 *buf, unsigned want, u64 *gpa)
{
	bool user = bt_mmu_user(cpu);
	unsigned got = 0;

	*gpa = lin;
	while (got < want) {
		u64 a = lin + got;
		struct bt_tlb_entry *e;
		unsigned n;

		if (bt_cpu_mode(cpu) != BT_MODE_LONG64) {
			a &= 0xffffffffu;
			if (a - cpu->st.seg[CPU_CS].base > cpu->st.seg[CPU_CS].limit) {
				if (!got)
					bt_raise_gp0(cpu);
				break;
			}
		}
		/* Only the first byte faults: the decoder asks again for a byte it needs. */
		e = &cpu->tlb[user][(a >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];
		if (!bt_tlb_tag_ok(e, BT_ACC_FETCH, a & BT_PAGE_MASK))
			e = bt_tlb_fill(cpu, a, BT_ACC_FETCH, user, got != 0);
		if (!e || !e->hpage)
			break; /* no code from MMIO: the decoder comes up short, then #GP */
		if (!got)
			*gpa = e->gpa | (a & ~BT_PAGE_MASK);
		n = (unsigned)MIN((u64)(want - got), BT_PAGE_SIZE - (a & ~BT_PAGE_MASK));
		memcpy(buf + got, e->hpage + (a & ~BT_PAGE_MASK), n);
		got += n;
	}
	return got;
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

static u64 bt_mmio_read(struct bt_cpu *cpu, u64 gpa, unsigned size)
{
	u64 v = ~0ull;

	if (cpu->mem->mmio)
		cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, gpa, size, false, &v);
	bt_mem_changes_pending(cpu); /* a device may have moved a RAM-like region */
	return v & bt_mask(size);
}

static void bt_mmio_write(struct bt_cpu *cpu, u64 gpa, unsigned size, u64 v)
{
	if (cpu->mem->mmio)
		cpu->mem->mmio(cpu->mem->io_opaque, cpu->index, gpa, size, true, &v);
	bt_mem_changes_pending(cpu); /* a BAR write may have moved a RAM-like region */
}

/* One page of a page-crossing access: its host page (NULL: MMIO) and physical page. */
struct bt_mmu_part {
	u8 *hpage;
	u64 gpa;
};

/*
 * Translate both pages of an access of size bytes at lin that crosses a page, the first page
 * first (a fault on the second reports that page's start in CR2, SDM vol. 3A 4.7).
 */
static void bt_mmu_cross(struct bt_cpu *cpu, u64 lin, unsigned size, enum bt_access acc, bool user,
			 struct bt_mmu_part part[2])
{
	u64 second = (lin + size - 1) & BT_PAGE_MASK;
	struct bt_tlb_entry *e;

	if (bt_cpu_mode(cpu) != BT_MODE_LONG64)
		second &= 0xffffffffu;
	e = bt_tlb_get(cpu, lin, acc, user);
	part[0] = (struct bt_mmu_part){ e->hpage, e->gpa };
	e = bt_tlb_get(cpu, second, acc, user);
	part[1] = (struct bt_mmu_part){ e->hpage, e->gpa };
}

static u64 bt_ld_cross(struct bt_cpu *cpu, u64 lin, unsigned size, bool user)
{
	struct bt_mmu_part part[2];
	u64 v = 0;

	bt_mmu_cross(cpu, lin, size, BT_ACC_READ, user, part);
	for (unsigned i = 0; i < size; i++) {
		u64 off = (lin + i) & ~BT_PAGE_MASK;
		const struct bt_mmu_part *p = &part[off < (lin & ~BT_PAGE_MASK)];
		u8 b = p->hpage ? p->hpage[off] : (u8)bt_mmio_read(cpu, p->gpa | off, 1);

		v |= (u64)b << (8 * i);
	}
	return v;
}

static void bt_st_cross(struct bt_cpu *cpu, u64 lin, unsigned size, u64 val, bool user)
{
	struct bt_mmu_part part[2];

	/* Both pages must be writable before either is written. */
	bt_mmu_cross(cpu, lin, size, BT_ACC_WRITE, user, part);
	for (unsigned i = 0; i < size; i++) {
		u64 off = (lin + i) & ~BT_PAGE_MASK;
		const struct bt_mmu_part *p = &part[off < (lin & ~BT_PAGE_MASK)];
		u8 b = (u8)(val >> (8 * i));

		if (p->hpage)
			p->hpage[off] = b;
		else
			bt_mmio_write(cpu, p->gpa | off, 1, b);
	}
}

/* Host loads and stores of 1, 2, 4 or 8 bytes without a call to memcpy. */
static inline u64 bt_mmu_host_ld(const u8 *p, unsigned size)
{
	u8 v1;
	u16 v2;
	u32 v4;
	u64 v8;

	switch (size) {
	case 1:
		memcpy(&v1, p, 1);
		return v1;
	case 2:
		memcpy(&v2, p, 2);
		return v2;
	case 4:
		memcpy(&v4, p, 4);
		return v4;
	default:
		memcpy(&v8, p, 8);
		return v8;
	}
}

static inline void bt_mmu_host_st(u8 *p, unsigned size, u64 v)
{
	u8 v1 = (u8)v;
	u16 v2 = (u16)v;
	u32 v4 = (u32)v;

	switch (size) {
	case 1:
		memcpy(p, &v1, 1);
		break;
	case 2:
		memcpy(p, &v2, 2);
		break;
	case 4:
		memcpy(p, &v4, 4);
		break;
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static u64 bt_ld_at(struct bt_cpu *cpu, u64 lin, unsigned size, bool user)
{
	struct bt_tlb_entry *e;
	u64 off = lin & ~BT_PAGE_MASK;

	if (unlikely(off + size > BT_PAGE_SIZE))
		return bt_ld_cross(cpu, lin, size, user);
	e = bt_tlb_get(cpu, lin, BT_ACC_READ, user);
	if (unlikely(!e->hpage))
		return bt_mmio_read(cpu, e->gpa | off, size);
	return bt_mmu_host_ld(e->hpage + off, size);
}

static void bt_st_at(struct bt_cpu *cpu, u64 lin, unsigned size, u64 val, bool user)
{
	struct bt_tlb_entry *e;
	u64 off = lin & ~BT_PAGE_MASK;

	if (unlikely(off + size > BT_PAGE_SIZE)) {
		bt_st_cross(cpu, lin, size, val, user);
		return;
	}
	e = bt_tlb_get(cpu, lin, BT_ACC_WRITE, user);
	if (likely(e->hpage))
		bt_mmu_host_st(e->hpage + off, size, val);
	else
		bt_mmio_write(cpu, e->gpa | off, size, val);
}

u64 bt_ld_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, false), v;

	v = bt_ld_at(cpu, lin, size, bt_mmu_user(cpu));
	if (unlikely(cpu->dbg_data))
		bt_debug_data(cpu, lin, size, false);
	return v;
}

void bt_st_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, u64 val)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);

	bt_st_at(cpu, lin, size, val, bt_mmu_user(cpu));
	if (unlikely(cpu->dbg_data))
		bt_debug_data(cpu, lin, size, true);
}

/* Implicit supervisor accesses: SMAP applies whatever EFLAGS.AC says (SDM vol. 3A 4.6.1). */
u64 bt_ld_lin(struct bt_cpu *cpu, u64 lin, unsigned size)
{
	u64 v;

	cpu->implicit = true;
	v = bt_ld_at(cpu, lin, size, false);
	cpu->implicit = false;
	return v;
}

void bt_st_lin(struct bt_cpu *cpu, u64 lin, unsigned size, u64 val)
{
	cpu->implicit = true;
	bt_st_at(cpu, lin, size, val, false);
	cpu->implicit = false;
}

/* Raise now what an access of size bytes at lin would raise. */
static void bt_probe_lin(struct bt_cpu *cpu, u64 lin, unsigned size, enum bt_access acc)
{
	bool user = bt_mmu_user(cpu);
	struct bt_mmu_part part[2];

	if ((lin & ~BT_PAGE_MASK) + size > BT_PAGE_SIZE)
		bt_mmu_cross(cpu, lin, size, acc, user, part);
	else
		bt_tlb_get(cpu, lin, acc, user);
}

u64 bt_ld_rmw_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);

	/* The read of a read-modify-write already needs write permission (#PF error W=1). */
	bt_probe_lin(cpu, lin, size, BT_ACC_WRITE);
	if (unlikely(cpu->dbg_data))
		bt_debug_data(cpu, lin, size, true);
	return bt_ld_at(cpu, lin, size, bt_mmu_user(cpu));
}

void bt_probe_ld(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	bt_probe_lin(cpu, bt_seg_lin(cpu, seg, off, size, false), size, BT_ACC_READ);
}

void bt_probe_st(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	bt_probe_lin(cpu, bt_seg_lin(cpu, seg, off, size, true), size, BT_ACC_WRITE);
}

u8 *bt_host_span(struct bt_cpu *cpu, unsigned seg, u64 off, u64 len, bool write)
{
	const struct cpu_segment *sg = &cpu->st.seg[seg];
	u64 lin = ((seg == CPU_FS || seg == CPU_GS) ? sg->base : 0) + off, last = lin + len - 1;
	enum bt_access acc = write ? BT_ACC_WRITE : BT_ACC_READ;
	bool user = bt_mmu_user(cpu);
	struct bt_tlb_entry *e;

	if (bt_cpu_mode(cpu) != BT_MODE_LONG64 || !len || !bt_canonical(lin) ||
	    !bt_canonical(last) || ((lin ^ last) & BT_PAGE_MASK))
		return NULL;
	e = &cpu->tlb[bt_tlb_set(cpu, user, acc)][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];
	if (!bt_tlb_tag_ok(e, acc, lin & BT_PAGE_MASK)) {
		e = bt_tlb_fill(cpu, lin, acc, user, true);
		/* A write span needs a writable RAM page (the fill dropped its translated code). */
		if (!e || !bt_tlb_tag_ok(e, acc, lin & BT_PAGE_MASK))
			return NULL;
	}
	return e->hpage ? e->hpage + (lin & ~BT_PAGE_MASK) : NULL;
}

u8 *bt_mmu_lock_span(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	u64 lin = bt_seg_lin(cpu, seg, off, size, true);
	bool user = bt_mmu_user(cpu);
	struct bt_tlb_entry *e;

	bt_probe_lin(cpu, lin, size, BT_ACC_WRITE); /* every fault, both pages, first */
	if ((lin & ~BT_PAGE_MASK) + size > BT_PAGE_SIZE)
		return NULL;
	e = bt_tlb_get(cpu, lin, BT_ACC_WRITE, user);
	return e->hpage && e != &cpu->tlb_scratch ? e->hpage + (lin & ~BT_PAGE_MASK) : NULL;
}
