// SPDX-License-Identifier: MIT
/*
 * System instructions (SDM vol. 2 instruction pages of the same names, vol. 3A 2.8): the 0F 00
 * group (SLDT, STR, LLDT, LTR with the busy bit, VERR, VERW), the 0F 01 group (SGDT, SIDT,
 * LGDT, LIDT with their 64-bit forms, SMSW, LMSW, INVLPG, SWAPGS, and as the CPU model has
 * them CLAC/STAC (SMAP), XGETBV/XSETBV (XSAVE), RDTSCP; MONITOR/MWAIT and the VMX/SVM forms are
 * never advertised: #UD), UMIP (SGDT, SIDT, SLDT, SMSW, STR at CPL > 0: #GP(0), vol. 3A 2.5),
 * LAR, LSL, ARPL, SYSCALL/SYSRET (EFER.SCE, STAR/LSTAR/CSTAR/SFMASK; vol. 3A
 * 5.8.8) and SYSENTER/SYSEXIT (the SYSENTER MSRs; vol. 3A 5.8.7). Descriptor-table loads in
 * IA-32e mode read the 16-byte LDT and TSS descriptors (vol. 3A 7.2.3).
 */
#include "bt-fallback/ops/ops.h"

/* Real mode and virtual-8086 mode: #UD for the protected-mode-only instructions. */
static void bt_sys_need_prot(struct bt_cpu *cpu)
{
	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (cpu->st.rflags & BT_VM))
		bt_raise_ud(cpu);
}

static void bt_sys_need_cpl0(struct bt_cpu *cpu)
{
	if (bt_cpu_cpl(cpu))
		bt_raise_gp0(cpu);
}

/* CR4.UMIP: the store-descriptor-table instructions are privileged. */
static void bt_sys_umip(struct bt_cpu *cpu)
{
	if ((cpu->st.cr4 & BT_CR4_UMIP) && bt_cpu_cpl(cpu))
		bt_raise_gp0(cpu);
}

/* A selector or MSW store: a register takes the operand size, memory 16 bits. */
static void bt_sys_store16(struct bt_cpu *cpu, const struct bt_insn *in, u64 v)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_set_reg(cpu, in->rm, in->opsz, v & bt_mask(in->opsz));
	else
		bt_rm_write(cpu, in, 2, v & 0xffff);
}

/* LLDT / LTR: the system descriptor of sel (16 bytes in IA-32e mode). */
static void bt_sys_load_system(struct bt_cpu *cpu, u16 sel, struct cpu_segment *s, bool tss)
{
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0;
	u32 err = sel & 0xfffc;
	unsigned type;
	u64 d, hi = 0;

	if (sel & 4)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (lm ? !bt_desc_read16(cpu, sel, &d, &hi) : !bt_desc_read(cpu, sel, &d))
		bt_raise(cpu, BT_EXC_GP, err, true);
	type = BT_DESC_TYPE(d);
	if ((d & BT_DESC_S) || (tss ? type != 9 && (lm || type != 1) : type != 2))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (lm && ((hi >> 40) & 0x1f))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
	if (lm && !bt_canonical(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u) | hi << 32))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (tss)
		bt_desc_set_type(cpu, sel, d, type | 2); /* busy */
	bt_desc_unpack(sel, d, s);
	s->base |= (hi & 0xffffffffu) << 32;
	if (tss)
		s->type = (u8)(type | 2);
}

/* 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW. */
void bt_op_grp6(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 sel;

	bt_sys_need_prot(cpu);
	switch (in->modrm_reg) {
	case 0:
		bt_sys_umip(cpu);
		bt_sys_store16(cpu, in, cpu->st.ldtr.selector);
		return;
	case 1:
		bt_sys_umip(cpu);
		bt_sys_store16(cpu, in, cpu->st.tr.selector);
		return;
	case 2:
		bt_sys_need_cpl0(cpu);
		sel = (u16)bt_rm_read(cpu, in, 2);
		if (!(sel & ~3u)) {
			bt_seg_set_null(&cpu->st.ldtr, sel);
			return;
		}
		bt_sys_load_system(cpu, sel, &cpu->st.ldtr, false);
		return;
	case 3:
		bt_sys_need_cpl0(cpu);
		sel = (u16)bt_rm_read(cpu, in, 2);
		if (!(sel & ~3u))
			bt_raise_gp0(cpu);
		bt_sys_load_system(cpu, sel, &cpu->st.tr, true);
		return;
	case 4:
	case 5: {
		unsigned cpl = bt_cpu_cpl(cpu), type;
		bool ok = false;
		u64 d;

		sel = (u16)bt_rm_read(cpu, in, 2);
		if ((sel & ~3u) && bt_desc_read(cpu, sel, &d) && (d & BT_DESC_S)) {
			type = BT_DESC_TYPE(d);
			if (in->modrm_reg == 4)
				ok = (type & 0xa) != 8; /* data, or readable code */
			else
				ok = (type & 0xa) == 2; /* writable data */
			if ((type & 0xc) != 0xc &&
			    (BT_DESC_DPL(d) < cpl || BT_DESC_DPL(d) < (sel & 3)))
				ok = false;
		}
		bt_flags_set(cpu, BT_ZF, ok ? BT_ZF : 0);
		return;
	}
	default:
		bt_raise_ud(cpu);
	}
}

/* A memory operand's linear address (64-bit mode ignores the CS/DS/ES/SS bases). */
static u64 bt_sys_lin(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 off = bt_ea_off(cpu, in);

	if (bt_cpu_mode(cpu) == BT_MODE_LONG64 && in->seg != CPU_FS && in->seg != CPU_GS)
		return off;
	return bt_ea(cpu, in);
}

/* SGDT/SIDT and LGDT/LIDT: limit word, then a 24/32-bit base, or 64 bits in 64-bit mode. */
static void bt_sys_dtable(struct bt_cpu *cpu, const struct bt_insn *in, struct cpu_dtable *t,
			  bool load)
{
	bool m64 = bt_cpu_mode(cpu) == BT_MODE_LONG64;
	u64 off = bt_ea_off(cpu, in), am = bt_mask(in->asz), base;
	u16 limit;

	if (!load) {
		bt_probe_st(cpu, in->seg, off, 2);
		bt_probe_st(cpu, in->seg, (off + 2) & am, m64 ? 8 : 4);
		bt_st(cpu, in->seg, off, 2, t->limit);
		bt_st(cpu, in->seg, (off + 2) & am, m64 ? 8 : 4,
		      m64 ? t->base : t->base & (in->opsz == 2 ? 0xffffff : 0xffffffffu));
		return;
	}
	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_sys_need_cpl0(cpu);
	limit = (u16)bt_ld(cpu, in->seg, off, 2);
	base = bt_ld(cpu, in->seg, (off + 2) & am, m64 ? 8 : 4);
	if (m64 && !bt_canonical(base))
		bt_raise_gp0(cpu);
	if (!m64 && in->opsz == 2)
		base &= 0xffffff;
	t->limit = limit;
	t->base = base;
}

/* 0F 01 D0 XGETBV (ECX 0: XCR0), D1 XSETBV (CPL 0); #UD without CR4.OSXSAVE (SDM vol. 2). */
static void bt_sys_xcr(struct bt_cpu *cpu, unsigned rm)
{
	u64 v;

	if (rm > 1 || !bt_has(cpu, CPU_F_XSAVE) || !(cpu->st.cr4 & BT_CR4_OSXSAVE))
		bt_raise_ud(cpu);
	if ((u32)cpu->st.gpr[CPU_RCX] != 0)
		bt_raise_gp0(cpu); /* no XCR but XCR0; XINUSE (ECX 1) only with XGETBV1 */
	if (rm == 0) {
		bt_set_reg(cpu, CPU_RAX, 4, cpu->st.xcr0 & 0xffffffffu);
		bt_set_reg(cpu, CPU_RDX, 4, cpu->st.xcr0 >> 32);
		return;
	}
	bt_sys_need_cpl0(cpu);
	v = (cpu->st.gpr[CPU_RDX] << 32) | (cpu->st.gpr[CPU_RAX] & 0xffffffffu);
	if (bt_xcr0_write(cpu, v) < 0)
		bt_raise_gp0(cpu);
}

/* 0F 01 F9 RDTSCP: EDX:EAX = TSC, ECX = IA32_TSC_AUX[31:0]; CR4.TSD at CPL > 0: #GP(0). */
static void bt_sys_rdtscp(struct bt_cpu *cpu)
{
	u64 tsc;

	if (!bt_has(cpu, CPU_F_RDTSCP))
		bt_raise_ud(cpu);
	if ((cpu->st.cr4 & BT_CR4_TSD) && bt_cpu_cpl(cpu))
		bt_raise_gp0(cpu);
	tsc = bt_rdtsc(cpu);
	bt_set_reg(cpu, CPU_RAX, 4, tsc & 0xffffffffu);
	bt_set_reg(cpu, CPU_RDX, 4, tsc >> 32);
	bt_set_reg(cpu, CPU_RCX, 4, cpu->msr.tsc_aux & 0xffffffffu);
}

/* 0F 01: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG, and the register forms. */
void bt_op_grp7(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned rm = in->rm & 7;
	u64 v;

	if (in->ea_kind != BT_EA_NONE) {
		switch (in->modrm_reg) {
		case 0:
		case 1:
			bt_sys_umip(cpu);
			bt_sys_dtable(cpu, in, in->modrm_reg ? &cpu->st.idtr : &cpu->st.gdtr,
				      false);
			return;
		case 2:
		case 3:
			bt_sys_dtable(cpu, in, in->modrm_reg == 3 ? &cpu->st.idtr : &cpu->st.gdtr,
				      true);
			return;
		case 4:
			bt_sys_umip(cpu);
			bt_sys_store16(cpu, in, cpu->st.cr0);
			return;
		case 6:
			break; /* LMSW m16, below */
		case 7:
			bt_sys_need_cpl0(cpu);
			bt_tlb_flush_page(cpu, bt_sys_lin(cpu, in));
			cpu->end_block = true;
			return;
		default:
			bt_raise_ud(cpu);
		}
	} else {
		switch (in->modrm_reg) {
		case 0:
		case 3:
			/* C1 VMCALL, D9 VMMCALL: KVM's hypercall ABI (hyper.c); the rest #UD. */
			if (rm != 1)
				bt_raise_ud(cpu);
			bt_hyper_vmcall(cpu);
			return;
		case 1:
			/* CA CLAC, CB STAC with SMAP (CPUID.7.0:EBX[20]); MONITOR/MWAIT: #UD. */
			if ((rm != 2 && rm != 3) || !bt_has(cpu, CPU_F_SMAP))
				bt_raise_ud(cpu);
			bt_sys_need_cpl0(cpu);
			bt_flags_set(cpu, BT_AC, rm == 3 ? BT_AC : 0);
			return;
		case 2:
			bt_sys_xcr(cpu, rm);
			return;
		case 4:
			bt_sys_umip(cpu);
			bt_sys_store16(cpu, in, cpu->st.cr0);
			return;
		case 6:
			break;
		case 7:
			if (rm == 1) {
				bt_sys_rdtscp(cpu);
				return;
			}
			/* F8 SWAPGS (64-bit mode, CPL 0). */
			if (rm != 0 || bt_cpu_mode(cpu) != BT_MODE_LONG64)
				bt_raise_ud(cpu);
			bt_sys_need_cpl0(cpu);
			v = cpu->st.seg[CPU_GS].base;
			cpu->st.seg[CPU_GS].base = cpu->msr.kernel_gs_base;
			cpu->msr.kernel_gs_base = v;
			return;
		default:
			bt_raise_ud(cpu);
		}
	}
	/* LMSW: the low four bits of CR0; PE can be set, not cleared. */
	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_sys_need_cpl0(cpu);
	v = bt_rm_read(cpu, in, 2);
	bt_set_cr0(cpu, (cpu->st.cr0 & ~0xeull) | (v & 0xf) | (cpu->st.cr0 & 1));
	cpu->end_block = true;
}

/* 0F 02 LAR, 0F 03 LSL: ZF says whether the selector is visible at CPL and RPL. */
void bt_op_lar_lsl(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool lsl = in->opcode == 0x103, lm = (cpu->st.efer & BT_EFER_LMA) != 0, ok;
	u16 sel;
	u64 d;
	unsigned type;

	bt_sys_need_prot(cpu);
	sel = (u16)bt_rm_read(cpu, in, 2);
	ok = (sel & ~3u) && bt_desc_read(cpu, sel, &d);
	if (ok) {
		type = BT_DESC_TYPE(d);
		if (!(d & BT_DESC_S)) {
			/* LAR: LDT, TSSs, gates; LSL: LDT and TSSs. IA-32e mode has fewer. */
			static const u16 lar_legacy = 0x1a3e, lsl_legacy = 0x0a0e;
			static const u16 lar_lm = 0x1a04, lsl_lm = 0x0a04;
			u16 valid = lsl ? (lm ? lsl_lm : lsl_legacy) : (lm ? lar_lm : lar_legacy);

			ok = (valid >> type) & 1;
		}
		if (ok && (!(d & BT_DESC_S) || (type & 0xc) != 0xc) &&
		    (BT_DESC_DPL(d) < bt_cpu_cpl(cpu) || BT_DESC_DPL(d) < (sel & 3u)))
			ok = false;
	}
	if (ok) {
		struct cpu_segment s;

		bt_desc_unpack(sel, d, &s);
		if (lsl)
			bt_set_reg(cpu, in->reg, in->opsz, s.limit & bt_mask(in->opsz));
		else
			bt_set_reg(cpu, in->reg, in->opsz,
				   (d >> 32) & 0x00f0ff00u & bt_mask(in->opsz));
	}
	bt_flags_set(cpu, BT_ZF, ok ? BT_ZF : 0);
}

/* 63 ARPL Ew, Gw (outside 64-bit mode). */
void bt_op_arpl(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 dst, src;

	bt_sys_need_prot(cpu);
	dst = bt_rm_read_rmw(cpu, in, 2);
	src = bt_get_reg(cpu, in->reg, 2);
	if ((dst & 3) < (src & 3)) {
		bt_rm_write(cpu, in, 2, (dst & ~3ull) | (src & 3));
		bt_flags_set(cpu, BT_ZF, BT_ZF);
	} else {
		bt_flags_set(cpu, BT_ZF, 0);
	}
}

/* A flat 4-GiB segment as SYSCALL/SYSENTER and their returns load it. */
static void bt_sys_flat(struct cpu_segment *s, u16 sel, bool code, unsigned dpl, bool l)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffffu;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = dpl & 3;
	s->present = 1;
	s->avl = 0;
	s->l = l;
	s->db = !l;
	s->g = 1;
	s->unusable = 0;
}

static void bt_sys_enter_mode(struct bt_cpu *cpu)
{
	bt_cpu_update_mode(cpu);
	cpu->end_block = true;
}

/* 0F 05 SYSCALL (IA-32e mode as Intel and AMD; legacy mode as AMD). */
void bt_op_syscall(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 sel = (u16)(cpu->msr.star >> 32) & 0xfffc;
	u64 fl = bt_get_rflags(cpu);

	(void)in;
	if (!(cpu->st.efer & BT_EFER_SCE) || bt_cpu_mode(cpu) == BT_MODE_REAL || (fl & BT_VM))
		bt_raise_ud(cpu);
	/* Intel has SYSCALL in 64-bit mode only (CPUID 8000_0001h EDX[11] says so there). */
	if (bt_intel(cpu) && bt_cpu_mode(cpu) != BT_MODE_LONG64)
		bt_raise_ud(cpu);
	cpu->tf_at_end = true; /* the single-step trap follows the TF SYSCALL leaves */
	if (cpu->st.efer & BT_EFER_LMA) {
		bool m64 = bt_cpu_mode(cpu) == BT_MODE_LONG64;

		cpu->st.gpr[CPU_RCX] = cpu->next_rip;
		cpu->st.gpr[CPU_R11] = fl & ~(u64)BT_RF;
		bt_sys_flat(&cpu->st.seg[CPU_CS], sel, true, 0, true);
		bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)(sel + 8), false, 0, false);
		bt_set_rflags(cpu, fl & ~(cpu->msr.sfmask | BT_RF));
		cpu->next_rip = m64 ? cpu->msr.lstar : cpu->msr.cstar;
	} else {
		cpu->st.gpr[CPU_RCX] = cpu->next_rip & 0xffffffffu;
		bt_sys_flat(&cpu->st.seg[CPU_CS], sel, true, 0, false);
		bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)(sel + 8), false, 0, false);
		bt_set_rflags(cpu, fl & ~(u64)(BT_VM | BT_IF | BT_RF));
		cpu->next_rip = cpu->msr.star & 0xffffffffu;
	}
	bt_sys_enter_mode(cpu);
}

/* 0F 07 SYSRET (REX.W: to 64-bit code, RCX must be canonical). */
void bt_op_sysret(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 sel = (u16)(cpu->msr.star >> 48);
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0;
	u64 rip = cpu->st.gpr[CPU_RCX];

	if (!(cpu->st.efer & BT_EFER_SCE) || bt_cpu_mode(cpu) == BT_MODE_REAL ||
	    (cpu->st.rflags & BT_VM))
		bt_raise_ud(cpu);
	if (lm && bt_cpu_mode(cpu) != BT_MODE_LONG64)
		bt_raise_ud(cpu); /* compatibility mode: #UD comes before the CPL check */
	if (bt_intel(cpu) && !lm)
		bt_raise_ud(cpu);
	bt_sys_need_cpl0(cpu);
	cpu->tf_at_end = true; /* and after SYSRET the one it loads from R11 */
	if (in->rexw) {
		if (!bt_canonical(rip))
			bt_raise_gp0(cpu);
		bt_sys_flat(&cpu->st.seg[CPU_CS], (u16)((sel + 16) | 3), true, 3, true);
	} else {
		rip &= 0xffffffffu;
		bt_sys_flat(&cpu->st.seg[CPU_CS], (u16)(sel | 3), true, 3, false);
	}
	bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)((sel + 8) | 3), false, 3, false);
	if (lm)
		bt_set_rflags(cpu, (cpu->st.gpr[CPU_R11] & 0x3c7fd7) | 2);
	else
		bt_set_rflags(cpu, bt_get_rflags(cpu) | BT_IF);
	cpu->next_rip = rip;
	bt_sys_enter_mode(cpu);
}

/* 0F 34 SYSENTER. */
void bt_op_sysenter(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 sel = (u16)cpu->msr.sysenter_cs & 0xfffc;
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0;

	(void)in;
	/* AMD: SYSENTER and SYSEXIT are #UD in long mode (APM vol. 3 SYSENTER). */
	if (lm && !bt_intel(cpu))
		bt_raise_ud(cpu);
	if (bt_cpu_mode(cpu) == BT_MODE_REAL || !sel)
		bt_raise_gp0(cpu);
	bt_set_rflags(cpu, bt_get_rflags(cpu) & ~(u64)(BT_VM | BT_IF | BT_RF));
	bt_sys_flat(&cpu->st.seg[CPU_CS], sel, true, 0, lm);
	bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)(sel + 8), false, 0, false);
	cpu->st.gpr[CPU_RSP] = lm ? cpu->msr.sysenter_esp : cpu->msr.sysenter_esp & 0xffffffffu;
	cpu->next_rip = lm ? cpu->msr.sysenter_eip : cpu->msr.sysenter_eip & 0xffffffffu;
	bt_sys_enter_mode(cpu);
}

/* 0F 35 SYSEXIT (REX.W: to 64-bit code). */
void bt_op_sysexit(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 sel = (u16)cpu->msr.sysenter_cs & 0xfffc;
	u64 rip = cpu->st.gpr[CPU_RDX], rsp = cpu->st.gpr[CPU_RCX];

	if ((cpu->st.efer & BT_EFER_LMA) && !bt_intel(cpu))
		bt_raise_ud(cpu);
	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (cpu->st.rflags & BT_VM) || !sel)
		bt_raise_gp0(cpu);
	bt_sys_need_cpl0(cpu);
	if (in->rexw) {
		if (!bt_canonical(rip) || !bt_canonical(rsp))
			bt_raise_gp0(cpu);
		bt_sys_flat(&cpu->st.seg[CPU_CS], (u16)((sel + 32) | 3), true, 3, true);
		bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)((sel + 40) | 3), false, 3, false);
	} else {
		rip &= 0xffffffffu;
		rsp &= 0xffffffffu;
		bt_sys_flat(&cpu->st.seg[CPU_CS], (u16)((sel + 16) | 3), true, 3, false);
		bt_sys_flat(&cpu->st.seg[CPU_SS], (u16)((sel + 24) | 3), false, 3, false);
	}
	cpu->st.gpr[CPU_RSP] = rsp;
	cpu->next_rip = rip;
	bt_sys_enter_mode(cpu);
}

/*
 * F3 0F AE /0-/3 (register forms): RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE. 64-bit mode with
 * CR4.FSGSBASE, any CPL; 32-bit operands zero-extend; a non-canonical base is #GP(0).
 */
void bt_op_fsgsbase(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = in->rexw ? 8 : 4, seg = in->modrm_reg & 1 ? CPU_GS : CPU_FS;
	u64 v;

	if (!bt_has(cpu, CPU_F_FSGSBASE) || bt_cpu_mode(cpu) != BT_MODE_LONG64 ||
	    !(cpu->st.cr4 & BT_CR4_FSGSBASE))
		bt_raise_ud(cpu);
	if (in->modrm_reg < 2) {
		bt_set_reg(cpu, in->rm, size, cpu->st.seg[seg].base);
		return;
	}
	v = bt_get_reg(cpu, in->rm, size);
	if (!bt_canonical(v))
		bt_raise_gp0(cpu);
	cpu->st.seg[seg].base = v;
}

/* F3 0F C7 /7 (register form): RDPID, the IA32_TSC_AUX value (64 bits in 64-bit mode). */
void bt_op_rdpid(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (!bt_has(cpu, CPU_F_RDPID))
		bt_raise_ud(cpu);
	bt_set_reg(cpu, in->rm, bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 8 : 4,
		   cpu->msr.tsc_aux & 0xffffffffu);
}

/*
 * 66 0F 38 82 INVPCID r64, m128 (SDM vol. 2 INVPCID, vol. 3A 4.10.4.1): type 0 one address of a
 * PCID, 1 a PCID's non-global translations, 2 everything, 3 all but the global ones. The TLB
 * holds the current PCID's translations and the global ones only, so each type drops a
 * superset of what it names: the page, or the non-global entries, or all of them.
 */
void bt_op_invpcid(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 type, desc_lo, desc_hi, off;

	if (!bt_has(cpu, CPU_F_INVPCID) || !in->p66 || in->rep != BT_REP_NONE ||
	    in->ea_kind == BT_EA_NONE || bt_cpu_mode(cpu) == BT_MODE_REAL ||
	    (cpu->st.rflags & BT_VM))
		bt_raise_ud(cpu);
	bt_sys_need_cpl0(cpu);
	type = bt_get_reg(cpu, in->reg, bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 8 : 4);
	off = bt_ea_off(cpu, in);
	desc_lo = bt_ld(cpu, in->seg, off, 8);
	desc_hi = bt_ld(cpu, in->seg, (off + 8) & bt_mask(in->asz), 8);
	if (type > 3 || (desc_lo >> 12))
		bt_raise_gp0(cpu); /* reserved descriptor bits 63:12 */
	if (!(cpu->st.cr4 & BT_CR4_PCIDE) && (type == 0 || type == 1) && (desc_lo & 0xfff))
		bt_raise_gp0(cpu);
	switch (type) {
	case 0:
		if (!bt_canonical(desc_hi))
			bt_raise_gp0(cpu);
		bt_tlb_flush_page(cpu, desc_hi);
		break;
	case 1:
	case 3:
		bt_tlb_flush_nonglobal(cpu);
		break;
	default:
		bt_tlb_flush(cpu);
		break;
	}
	cpu->end_block = true;
}
