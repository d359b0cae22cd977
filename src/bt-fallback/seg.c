// SPDX-License-Identifier: MIT
/*
 * Protected-mode segmentation of the BT CPU: descriptor fetch from the GDT and LDT (SDM vol. 3A
 * 3.4.2 selectors, 3.4.5 segment descriptors, 3.5.1 system descriptors with the 16-byte forms
 * of IA-32e mode), the accessed bit, and the segment-register loads of MOV/POP Sreg and
 * LDS/LES/LFS/LGS/LSS with the checks of vol. 2B "MOV" and vol. 3A 5.6-5.7 (null selectors,
 * type, DPL/RPL/CPL; #GP, #SS and #NP with selector error codes). In 64-bit mode a selector
 * load keeps the descriptor's 32-bit base (the FS/GS MSRs set the full one) and a null SS is
 * allowed at CPL < 3 (vol. 3A 3.4.4, 5.2). Virtual-8086 mode and real mode load base =
 * selector << 4 (vol. 3A 20.1.1).
 */
#include "bt-fallback/bt.h"

unsigned bt_cpu_cpl(const struct bt_cpu *cpu)
{
	if (bt_cpu_mode(cpu) == BT_MODE_REAL)
		return 0;
	if (cpu->st.rflags & BT_VM)
		return 3;
	/*
	 * SS.DPL, as KVM keeps it: equal to CS.RPL once CS is loaded in protected mode, and 0
	 * right after CR0.PE is set, whatever the real-mode CS selector (SDM vol. 3A 9.9.1).
	 */
	return cpu->st.seg[CPU_SS].dpl;
}

/* Address of the descriptor of sel, or false when it lies past its table's limit. */
static bool bt_desc_addr(const struct bt_cpu *cpu, u16 sel, unsigned size, u64 *addr)
{
	u64 base, limit;

	if (sel & 4) {
		const struct cpu_segment *ldt = &cpu->st.ldtr;

		if (ldt->unusable || !(ldt->selector & ~3u) || !ldt->present)
			return false;
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = cpu->st.gdtr.base;
		limit = cpu->st.gdtr.limit;
	}
	if ((u64)(sel & ~7u) + size - 1 > limit)
		return false;
	*addr = base + (sel & ~7u);
	if (!(cpu->st.efer & BT_EFER_LMA))
		*addr &= 0xffffffffu;
	return true;
}

bool bt_desc_read(struct bt_cpu *cpu, u16 sel, u64 *desc)
{
	u64 a;

	if (!bt_desc_addr(cpu, sel, 8, &a))
		return false;
	*desc = bt_ld_lin(cpu, a, 8);
	return true;
}

bool bt_desc_read16(struct bt_cpu *cpu, u16 sel, u64 *lo, u64 *hi)
{
	u64 a;

	if (!bt_desc_addr(cpu, sel, 16, &a))
		return false;
	*lo = bt_ld_lin(cpu, a, 8);
	*hi = bt_ld_lin(cpu, a + 8, 8);
	return true;
}

void bt_desc_unpack(u16 sel, u64 d, struct cpu_segment *s)
{
	u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));

	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u);
	s->type = BT_DESC_TYPE(d);
	s->s = (d >> 44) & 1;
	s->dpl = BT_DESC_DPL(d);
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->unusable = 0;
}

void bt_desc_set_accessed(struct bt_cpu *cpu, u16 sel, u64 d)
{
	u64 a;

	if (d & BT_DESC_ACCESSED)
		return;
	if (bt_desc_addr(cpu, sel, 8, &a))
		bt_st_lin(cpu, a + 5, 1, (u8)((d >> 40) | 1));
}

void bt_seg_set_null(struct cpu_segment *s, u16 sel)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0;
	s->type = 0;
	s->s = 0;
	s->dpl = 0;
	s->present = 0;
	s->avl = s->l = s->db = s->g = 0;
	s->unusable = 1;
}

/* A selector load in real or virtual-8086 mode: base = selector << 4, 64 KiB, usable. */
static void bt_seg_load_v86(struct bt_cpu *cpu, unsigned seg, u16 sel)
{
	struct cpu_segment *s = &cpu->st.seg[seg];

	bt_cpu_load_seg_real(cpu, (enum cpu_seg)seg, sel);
	if (bt_cpu_mode(cpu) != BT_MODE_REAL) {
		s->limit = 0xffff;
		s->type = seg == CPU_CS ? 0xb : 0x3;
		s->s = 1;
		s->present = 1;
		s->dpl = 3;
		s->db = s->g = s->l = 0;
		s->unusable = 0;
	}
}

void bt_seg_load(struct bt_cpu *cpu, unsigned seg, u16 sel)
{
	unsigned cpl = bt_cpu_cpl(cpu), rpl = sel & 3, dpl, type;
	u32 err = sel & 0xfffc;
	u64 d;

	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (cpu->st.rflags & BT_VM)) {
		bt_seg_load_v86(cpu, seg, sel);
		goto out;
	}
	if (!(sel & ~3u)) {
		/* Null: allowed for data segments; for SS only in 64-bit mode at CPL < 3. */
		if (seg == CPU_SS && (bt_cpu_mode(cpu) != BT_MODE_LONG64 || cpl == 3 || rpl != cpl))
			bt_raise_gp0(cpu);
		bt_seg_set_null(&cpu->st.seg[seg], sel);
		if (seg == CPU_SS)
			cpu->st.seg[seg].dpl = cpl & 3;
		goto out;
	}
	if (!bt_desc_read(cpu, sel, &d))
		bt_raise(cpu, BT_EXC_GP, err, true);
	dpl = BT_DESC_DPL(d);
	type = BT_DESC_TYPE(d);
	if (!(d & BT_DESC_S))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (seg == CPU_SS) {
		/* A writable data segment with RPL = DPL = CPL. */
		if (rpl != cpl || dpl != cpl || (type & 8) || !(type & 2))
			bt_raise(cpu, BT_EXC_GP, err, true);
		if (!(d & BT_DESC_P))
			bt_raise(cpu, BT_EXC_SS, err, true);
	} else {
		/* Data or readable code; non-conforming ones need max(CPL, RPL) <= DPL. */
		if ((type & 0xa) == 8)
			bt_raise(cpu, BT_EXC_GP, err, true);
		if ((type & 0xc) != 0xc && (rpl > dpl || cpl > dpl))
			bt_raise(cpu, BT_EXC_GP, err, true);
		if (!(d & BT_DESC_P))
			bt_raise(cpu, BT_EXC_NP, err, true);
	}
	bt_desc_set_accessed(cpu, sel, d);
	bt_desc_unpack(sel, d | BT_DESC_ACCESSED, &cpu->st.seg[seg]);
out:
	if (seg == CPU_SS || seg == CPU_CS)
		bt_cpu_update_mode(cpu);
}

void bt_seg_load_cs(struct bt_cpu *cpu, u16 sel, u64 d, unsigned cpl)
{
	sel = (u16)((sel & ~3u) | cpl);
	bt_desc_set_accessed(cpu, sel, d);
	bt_desc_unpack(sel, d | BT_DESC_ACCESSED, &cpu->st.seg[CPU_CS]);
	bt_cpu_update_mode(cpu);
	cpu->end_block = true;
}

void bt_seg_check_data_on_return(struct bt_cpu *cpu, unsigned cpl)
{
	/*
	 * RET/IRET to an outer level: a data segment register whose segment this level may not
	 * use becomes null (SDM vol. 2A RET "RETURN-TO-OUTER-PRIVILEGE-LEVEL", vol. 2A IRET).
	 */
	static const unsigned segs[] = { CPU_ES, CPU_DS, CPU_FS, CPU_GS };

	for (unsigned i = 0; i < 4; i++) {
		struct cpu_segment *s = &cpu->st.seg[segs[i]];
		bool conforming_code = (s->type & 0xc) == 0xc;

		if (s->unusable || !(s->selector & ~3u))
			continue;
		if (!conforming_code && s->dpl < cpl)
			bt_seg_set_null(s, 0);
	}
}

/* The check of a code-segment descriptor loaded by a far transfer (not a gate). */
void bt_seg_check_code(struct bt_cpu *cpu, u16 sel, u64 d, u32 ext)
{
	u32 err = (sel & 0xfffc) | ext;

	if (!(d & BT_DESC_S) || !(BT_DESC_TYPE(d) & 8))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
}

void bt_desc_set_type(struct bt_cpu *cpu, u16 sel, u64 d, unsigned type)
{
	u64 a;

	if (bt_desc_addr(cpu, sel, 8, &a))
		bt_st_lin(cpu, a + 5, 1, (u8)(((d >> 40) & 0xf0) | (type & 0xf)));
}

bool bt_seg_off_ok(const struct cpu_segment *s, u64 off, unsigned size)
{
	u64 last = off + size - 1;

	if (s->s && (s->type & 0xc) == 4) /* expand-down data: (limit, 64 KiB or 4 GiB) */
		return off > s->limit && last <= (s->db ? 0xffffffffull : 0xffffull);
	return last <= s->limit;
}

bool bt_seg_check_ss(struct bt_cpu *cpu, u16 sel, unsigned cpl, bool null_ok, u64 *d)
{
	u32 err = sel & 0xfffc;

	if (!(sel & ~3u)) {
		if (!null_ok || cpl == 3)
			bt_raise_gp0(cpu);
		return false;
	}
	if ((sel & 3) != cpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!bt_desc_read(cpu, sel, d))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(*d & BT_DESC_S) || (BT_DESC_TYPE(*d) & 0xa) != 2 || BT_DESC_DPL(*d) != cpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(*d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_SS, err, true);
	return true;
}

void bt_seg_commit_ss(struct bt_cpu *cpu, u16 sel, unsigned cpl, bool null, u64 d)
{
	if (null) {
		bt_seg_set_null(&cpu->st.seg[CPU_SS], sel);
		cpu->st.seg[CPU_SS].dpl = cpl & 3;
	} else {
		bt_desc_set_accessed(cpu, sel, d);
		bt_desc_unpack(sel, d | BT_DESC_ACCESSED, &cpu->st.seg[CPU_SS]);
	}
	bt_cpu_update_mode(cpu);
}

/* ------------------------------------------------------------ task switch */

/* 32-bit TSS layout, SDM vol. 3A figure 7-2. */
#define BT_TSS_LINK   0x00
#define BT_TSS_CR3    0x1c
#define BT_TSS_EIP    0x20
#define BT_TSS_EFLAGS 0x24
#define BT_TSS_GPR    0x28
#define BT_TSS_SEG    0x48
#define BT_TSS_LDT    0x60
#define BT_TSS_MIN    0x67

/* A segment register of the new task (SDM vol. 3A 7.3 step 13: faults are #TS(sel)). */
static void bt_task_load_seg(struct bt_cpu *cpu, unsigned seg, u16 sel, bool v86)
{
	unsigned cpl = cpu->st.seg[CPU_CS].selector & 3, type;
	u32 err = sel & 0xfffc;
	u64 d;

	if (v86) {
		bt_seg_load_v86(cpu, seg, sel);
		return;
	}
	if (!(sel & ~3u)) {
		if (seg == CPU_SS || seg == CPU_CS)
			bt_raise(cpu, BT_EXC_TS, err, true);
		bt_seg_set_null(&cpu->st.seg[seg], sel);
		return;
	}
	if (!bt_desc_read(cpu, sel, &d) || !(d & BT_DESC_S))
		bt_raise(cpu, BT_EXC_TS, err, true);
	type = BT_DESC_TYPE(d);
	if (seg == CPU_CS) {
		if (!(type & 8) || ((type & 4) ? BT_DESC_DPL(d) > cpl : BT_DESC_DPL(d) != cpl))
			bt_raise(cpu, BT_EXC_TS, err, true);
	} else if (seg == CPU_SS) {
		if ((type & 0xa) != 2 || BT_DESC_DPL(d) != cpl || (sel & 3) != cpl)
			bt_raise(cpu, BT_EXC_TS, err, true);
	} else if ((type & 0xa) == 8 ||
		   ((type & 0xc) != 0xc && (BT_DESC_DPL(d) < cpl || BT_DESC_DPL(d) < (sel & 3)))) {
		bt_raise(cpu, BT_EXC_TS, err, true);
	}
	if (!(d & BT_DESC_P))
		bt_raise(cpu, seg == CPU_SS ? BT_EXC_SS : BT_EXC_NP, err, true);
	bt_desc_set_accessed(cpu, sel, d);
	bt_desc_unpack(sel, d | BT_DESC_ACCESSED, &cpu->st.seg[seg]);
}

void bt_task_switch(struct bt_cpu *cpu, u16 sel, enum bt_ts_reason why, u32 ext)
{
	struct cpu_segment *tr = &cpu->st.tr, ntr;
	u32 err = (sel & 0xfffc) | ext;
	u64 d, old_d = 0, base, old, eflags;
	u32 v[18];
	unsigned type;
	bool v86;

	/* The new TSS descriptor: in the GDT, a 32-bit TSS, busy only for IRET. */
	if ((sel & 4) || !bt_desc_read(cpu, sel, &d) || (d & BT_DESC_S))
		bt_raise(cpu, why == BT_TS_IRET ? BT_EXC_TS : BT_EXC_GP, err, true);
	type = BT_DESC_TYPE(d);
	if (type != (why == BT_TS_IRET ? 0xbu : 0x9u))
		bt_raise(cpu, why == BT_TS_IRET ? BT_EXC_TS : BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
	bt_desc_unpack(sel, d, &ntr);
	if (ntr.limit < BT_TSS_MIN)
		bt_raise(cpu, BT_EXC_TS, err, true);
	if (tr->unusable || !(tr->type & 8) || tr->limit < BT_TSS_MIN)
		bt_raise(cpu, BT_EXC_TS, (tr->selector & 0xfffc) | ext, true);
	/* Read the new state first: a fault here leaves the old task untouched. */
	base = ntr.base;
	for (unsigned i = 0; i < 18; i++)
		v[i] = (u32)bt_ld_lin(cpu, (base + BT_TSS_CR3 + 4 * i) & 0xffffffffu, 4);
	(void)bt_ld_lin(cpu, (base + BT_TSS_LDT) & 0xffffffffu, 2);

	/* Save the old task (EIP is the return address; JMP/IRET clear the saved NT). */
	old = tr->base;
	eflags = bt_get_rflags(cpu);
	if (why == BT_TS_JMP || why == BT_TS_IRET) {
		if (!bt_desc_read(cpu, tr->selector, &old_d))
			bt_raise(cpu, BT_EXC_TS, (tr->selector & 0xfffc) | ext, true);
		eflags &= ~(u64)(why == BT_TS_IRET ? BT_NT : 0);
	}
	/* The old task resumes after the instruction, or where an interrupt left it. */
	bt_st_lin(cpu, (old + BT_TSS_EIP) & 0xffffffffu, 4,
		  why == BT_TS_INT ? cpu->st.rip : cpu->next_rip);
	bt_st_lin(cpu, (old + BT_TSS_EFLAGS) & 0xffffffffu, 4, eflags);
	for (unsigned r = 0; r < 8; r++)
		bt_st_lin(cpu, (old + BT_TSS_GPR + 4 * r) & 0xffffffffu, 4, cpu->st.gpr[r]);
	for (unsigned s = 0; s < CPU_NR_SEGS; s++)
		bt_st_lin(cpu, (old + BT_TSS_SEG + 4 * s) & 0xffffffffu, 2,
			  cpu->st.seg[s].selector);
	if (why == BT_TS_JMP || why == BT_TS_IRET)
		bt_desc_set_type(cpu, tr->selector, old_d, tr->type & ~2u); /* not busy */
	if (why == BT_TS_CALL || why == BT_TS_INT)
		bt_st_lin(cpu, (base + BT_TSS_LINK) & 0xffffffffu, 2, tr->selector);
	if (why != BT_TS_IRET)
		bt_desc_set_type(cpu, sel, d, 0xb);

	/* Switch: TR, CR0.TS, CR3, registers; segment faults now belong to the new task. */
	ntr.type = 0xb;
	*tr = ntr;
	bt_set_cr0(cpu, cpu->st.cr0 | 8);
	if (cpu->st.cr0 & (1ull << 31))
		bt_set_cr3(cpu, v[0]);
	cpu->st.rip = cpu->next_rip = v[1];
	eflags = v[2] | 2;
	if (why == BT_TS_CALL || why == BT_TS_INT)
		eflags |= BT_NT;
	bt_set_rflags(cpu, eflags);
	for (unsigned r = 0; r < 8; r++)
		cpu->st.gpr[r] = v[3 + r];
	v86 = (eflags & BT_VM) != 0;
	for (unsigned s = 0; s < CPU_NR_SEGS; s++)
		cpu->st.seg[s].selector = (u16)v[11 + s];
	cpu->st.ldtr.selector = (u16)bt_ld_lin(cpu, (base + BT_TSS_LDT) & 0xffffffffu, 2);
	if (!(cpu->st.ldtr.selector & ~3u)) {
		bt_seg_set_null(&cpu->st.ldtr, cpu->st.ldtr.selector);
	} else {
		u16 ls = cpu->st.ldtr.selector;

		if ((ls & 4) || !bt_desc_read(cpu, ls, &d) || (d & BT_DESC_S) ||
		    BT_DESC_TYPE(d) != 2)
			bt_raise(cpu, BT_EXC_TS, ls & 0xfffc, true);
		if (!(d & BT_DESC_P))
			bt_raise(cpu, BT_EXC_TS, ls & 0xfffc, true);
		bt_desc_unpack(ls, d, &cpu->st.ldtr);
	}
	bt_task_load_seg(cpu, CPU_CS, (u16)v[12], v86);
	bt_cpu_update_mode(cpu);
	bt_task_load_seg(cpu, CPU_SS, (u16)v[13], v86);
	bt_task_load_seg(cpu, CPU_ES, (u16)v[11], v86);
	bt_task_load_seg(cpu, CPU_DS, (u16)v[14], v86);
	bt_task_load_seg(cpu, CPU_FS, (u16)v[15], v86);
	bt_task_load_seg(cpu, CPU_GS, (u16)v[16], v86);
	bt_cpu_update_mode(cpu);
	if (cpu->st.rip > cpu->st.seg[CPU_CS].limit)
		bt_raise_gp0(cpu);
	cpu->end_block = true;
}
