// SPDX-License-Identifier: MIT
/*
 * Control transfer: Jcc, JMP/CALL (relative, indirect, far: real and
 * virtual-8086 mode, code segments, call gates with stack switch and
 * parameter copy, task gates and TSSs), RET/RETF (with imm16, to an outer
 * level), LOOP/LOOPE/LOOPNE/JrCXZ, INT3/INT n/INTO (traps delivered by
 * intr.c), IRET/IRETD/IRETQ (all modes, task return), HLT, ENTER/LEAVE, and
 * group 5 (FF: INC, DEC, CALL, CALLF, JMP, JMPF, PUSH). SDM vol. 2
 * instruction pages and vol. 3A 5.8 (privilege checks for control
 * transfers); near branches in 64-bit mode use a 64-bit operand size and
 * ignore 66 (Intel behaviour).
 */
#include "bt-fallback/ops/ops.h"

/* A near branch target: IP-relative, truncated to the operand size outside 64-bit mode. */
static u64 bt_rel_target(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 t = cpu->next_rip + in->imm;

	if (in->opsz != 8)
		t &= bt_mask(in->opsz);
	return t;
}

/* 70-7F, 0F 80-8F: Jcc. */
void bt_op_jcc(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (bt_cond(cpu, in->opcode & 0xf))
		bt_jump(cpu, bt_rel_target(cpu, in));
}

/* E9/EB: JMP rel. */
void bt_op_jmp(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_jump(cpu, bt_rel_target(cpu, in));
}

/* E8: CALL rel. */
void bt_op_call(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 t = bt_rel_target(cpu, in), ret = cpu->next_rip;

	bt_probe_push(cpu, in->opsz); /* a stack fault comes before a bad target */
	bt_jump(cpu, t);
	bt_push(cpu, in->opsz, ret);
}

/* C3 RET, C2 RET imm16. */
void bt_op_ret(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss);
	u64 t = bt_ld(cpu, CPU_SS, sp, sz);

	bt_jump(cpu, t);
	bt_set_reg(cpu, CPU_RSP, ss, sp + sz + (in->opcode == 0xc2 ? in->imm : 0));
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JrCXZ (the count register follows the address size). */
void bt_op_loop(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned asz = in->asz;
	u64 c = bt_get_reg(cpu, CPU_RCX, asz);
	bool take;

	if (in->opcode == 0xe3) {
		take = c == 0;
	} else {
		c = (c - 1) & bt_mask(asz);
		bt_set_reg(cpu, CPU_RCX, asz, c);
		take = c != 0;
		if (in->opcode == 0xe0)
			take = take && !bt_cond(cpu, 4);
		else if (in->opcode == 0xe1)
			take = take && bt_cond(cpu, 4);
	}
	if (take)
		bt_jump(cpu, bt_rel_target(cpu, in));
}

/* CC INT3, CD INT n, CE INTO (traps; delivery checks the gate DPL). */
void bt_op_int(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->opcode == 0xcc)
		bt_raise_trap(cpu, BT_EXC_BP);
	if (in->opcode == 0xce) {
		if (bt_cond(cpu, 0))
			bt_raise_trap(cpu, BT_EXC_OF);
		return;
	}
	/* Flat user mode (tests) models Linux's IDT: INT n gates have DPL 0. */
	if (cpu->exc_exit && bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_raise(cpu, BT_EXC_GP, (u32)(in->imm & 0xff) * 8 + 2, true);
	/* Virtual-8086 mode with IOPL < 3: #GP(0) (SDM vol. 3A 20.3.3). */
	if ((cpu->st.rflags & BT_VM) && (cpu->st.rflags & BT_IOPL) != BT_IOPL)
		bt_raise_gp0(cpu);
	bt_raise_trap(cpu, (u8)in->imm);
}

/* Pop size bytes at sp + at (stack address size ss) without committing. */
static u64 bt_stack_peek(struct bt_cpu *cpu, u64 sp, u64 at, unsigned size)
{
	return bt_ld(cpu, CPU_SS, (sp + at) & bt_mask(bt_stack_size(cpu)), size);
}

/* Checks of the code segment a far return (RETF, IRET) goes to; returns its descriptor. */
static u64 bt_ret_check_cs(struct bt_cpu *cpu, u16 cs)
{
	unsigned cpl = bt_cpu_cpl(cpu), rpl = cs & 3, dpl;
	u32 err = cs & 0xfffc;
	u64 d;

	if (!(cs & ~3u))
		bt_raise_gp0(cpu);
	if (!bt_desc_read(cpu, cs, &d) || !(d & BT_DESC_S) || !(BT_DESC_TYPE(d) & 8) || rpl < cpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	dpl = BT_DESC_DPL(d);
	if ((BT_DESC_TYPE(d) & 4) ? dpl > rpl : dpl != rpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
	return d;
}

/* The offset a far transfer lands on must be inside the new CS (canonical in 64-bit code). */
static void bt_far_check_ip(struct bt_cpu *cpu, u64 d, u64 ip)
{
	struct cpu_segment cs;

	bt_desc_unpack(0, d, &cs);
	if ((cpu->st.efer & BT_EFER_LMA) && (d & BT_DESC_L)) {
		if (!bt_canonical(ip))
			bt_raise_gp0(cpu);
	} else if (ip > cs.limit) {
		bt_raise_gp0(cpu);
	}
}

/*
 * IRET (SDM vol. 2A IRET): real and virtual-8086 mode (IOPL 3), task return (NT), same level,
 * outer level (pops SS:eSP, nulls data segments), IA-32e (64-bit mode always pops SS:RSP) and
 * return to virtual-8086 mode from CPL 0. NMIs are unblocked.
 */
void bt_op_iret(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu), cpl = bt_cpu_cpl(cpu), rpl;
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss), ip, cs, fl, mask, old, nsp = 0, ssd = 0, d;
	bool m64 = bt_cpu_mode(cpu) == BT_MODE_LONG64, outer, null_ss = false;
	u16 nss = 0;

	old = bt_get_rflags(cpu);
	cpu->rf_loaded = true; /* RF comes from the frame: the executor keeps it */
	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (old & BT_VM)) {
		if ((old & BT_VM) && (old & BT_IOPL) != BT_IOPL)
			bt_raise_gp0(cpu);
		ip = bt_ld(cpu, CPU_SS, sp, sz);
		cs = bt_ld(cpu, CPU_SS, (sp + sz) & bt_mask(ss), sz);
		fl = bt_ld(cpu, CPU_SS, (sp + 2 * sz) & bt_mask(ss), sz);
		bt_jump(cpu, ip & bt_mask(sz));
		bt_set_reg(cpu, CPU_RSP, ss, sp + 3 * sz);
		bt_cpu_load_seg_real(cpu, CPU_CS, (u16)cs);
		mask = sz == 2 ? 0x7fd5 : 0x257fd5;
		if (old & BT_VM)
			mask &= ~(u64)BT_IOPL;
		bt_set_rflags(cpu, (old & ~mask) | (fl & mask));
		cpu->st.nmi_masked = false;
		return;
	}
	if (old & BT_NT) {
		if (cpu->st.efer & BT_EFER_LMA)
			bt_raise_gp0(cpu);
		bt_task_switch(cpu, (u16)bt_ld_lin(cpu, cpu->st.tr.base, 2), BT_TS_IRET, 0);
		cpu->next_rip = cpu->st.rip;
		cpu->st.nmi_masked = false;
		return;
	}
	ip = bt_stack_peek(cpu, sp, 0, sz);
	cs = bt_stack_peek(cpu, sp, sz, sz);
	fl = bt_stack_peek(cpu, sp, 2 * sz, sz);
	if (sz == 4 && (fl & BT_VM) && cpl == 0 && !(cpu->st.efer & BT_EFER_LMA)) {
		/* Return to virtual-8086 mode: the frame also holds ESP, SS, ES, DS, FS, GS. */
		u64 v[6];

		for (unsigned i = 0; i < 6; i++)
			v[i] = bt_stack_peek(cpu, sp, (3 + i) * 4, 4);
		static const u8 order[] = { CPU_SS, CPU_ES, CPU_DS, CPU_FS, CPU_GS };

		bt_set_rflags(cpu, (fl & 0x3f7fd7) | 2);
		for (unsigned i = 0; i < 5; i++)
			bt_seg_load(cpu, order[i], (u16)v[1 + i]);
		bt_seg_load(cpu, CPU_CS, (u16)cs);
		cpu->st.gpr[CPU_RSP] = v[0] & 0xffffffffu;
		cpu->next_rip = ip & 0xffff;
		cpu->end_block = true;
		cpu->st.nmi_masked = false;
		return;
	}
	d = bt_ret_check_cs(cpu, (u16)cs);
	rpl = cs & 3;
	outer = rpl > cpl;
	if (outer || m64) {
		nsp = bt_stack_peek(cpu, sp, 3 * sz, sz);
		nss = (u16)bt_stack_peek(cpu, sp, 4 * sz, sz);
		null_ss = !bt_seg_check_ss(cpu, nss, rpl, m64 && (d & BT_DESC_L), &ssd);
	}
	bt_far_check_ip(cpu, d, ip);
	/* Commit. IF needs CPL <= IOPL, IOPL needs CPL 0 (the old CPL). */
	mask = BT_ARITH | BT_TF | BT_DF | BT_NT | BT_AC | BT_ID | BT_RF;
	if (cpl <= ((old >> 12) & 3))
		mask |= BT_IF;
	if (cpl == 0)
		mask |= BT_IOPL;
	if (sz == 2)
		mask &= 0xffff;
	bt_seg_load_cs(cpu, (u16)cs, d, rpl);
	if (outer || m64) {
		bt_seg_commit_ss(cpu, nss, rpl, null_ss, ssd);
		if (sz == 8)
			cpu->st.gpr[CPU_RSP] = nsp;
		else
			bt_set_reg(cpu, CPU_RSP, bt_stack_size(cpu), nsp);
		if (outer)
			bt_seg_check_data_on_return(cpu, rpl);
	} else {
		bt_set_reg(cpu, CPU_RSP, ss, sp + 3 * sz);
	}
	bt_set_rflags(cpu, (old & ~mask) | (fl & mask));
	cpu->next_rip = sz == 2 ? ip & 0xffff : sz == 4 ? ip & 0xffffffffu : ip;
	cpu->end_block = true;
	cpu->st.nmi_masked = false;
}

/* F4 HLT: privileged. The CPU sleeps until an interrupt (bt_run returns BT_EXIT_HLT). */
void bt_op_hlt(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	if (bt_cpu_cpl(cpu))
		bt_raise_gp0(cpu);
	cpu->st.halted = true;
	cpu->end_block = true;
}

/* C9 LEAVE. */
void bt_op_leave(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned ss = bt_stack_size(cpu), sz = in->opsz;
	u64 bp = cpu->st.gpr[CPU_RBP] & bt_mask(ss), v = bt_ld(cpu, CPU_SS, bp, sz);

	bt_set_reg(cpu, CPU_RSP, ss, bp + sz);
	bt_set_reg(cpu, CPU_RBP, sz, v);
}

/* C8 ENTER imm16, imm8 (SDM "ENTER" pseudo-code, nesting level mod 32). */
void bt_op_enter(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned ss = bt_stack_size(cpu), sz = in->opsz, level = in->imm2 & 31;
	u64 sp = cpu->st.gpr[CPU_RSP], bp = cpu->st.gpr[CPU_RBP], m = bt_mask(ss);
	u64 frame = (sp - sz) & m;

	/*
	 * Stores happen in order and a fault part-way leaves the earlier ones in memory
	 * (observed on AMD hardware); RSP and RBP change only at the end, after a write
	 * check of the new stack top.
	 */
	bt_st(cpu, CPU_SS, frame, sz, bp);
	/* The copies read after the first push: they may read what it wrote. */
	for (unsigned i = 1; i < level; i++)
		bt_st(cpu, CPU_SS, (frame - i * sz) & m, sz,
		      bt_ld(cpu, CPU_SS, (bp - i * sz) & m, sz));
	if (level)
		bt_st(cpu, CPU_SS, (frame - level * sz) & m, sz, frame);
	bt_probe_st(cpu, CPU_SS, (frame - level * sz - in->imm) & m, 1);
	bt_set_reg(cpu, CPU_RBP, sz, frame);
	bt_set_reg(cpu, CPU_RSP, ss, (frame - level * sz - in->imm) & m);
}

/* Push the return address of a far CALL on the current stack (probed first). */
static void bt_far_push_ret(struct bt_cpu *cpu, unsigned sz)
{
	bt_probe_push(cpu, 2 * sz);
	bt_push(cpu, sz, cpu->st.seg[CPU_CS].selector);
	bt_push(cpu, sz, cpu->next_rip);
}

/*
 * A far CALL through a call gate to a more privileged level (SDM vol. 3A 5.8.5, 5.8.6): the new
 * stack from the TSS, the old SS:eSP, the gate's parameter count of words or dwords copied
 * (none in IA-32e mode), then the return address.
 */
static void bt_gate_call_inner(struct bt_cpu *cpu, u16 sel, u64 d, u64 off, unsigned gsz,
			       unsigned params)
{
	unsigned dpl = BT_DESC_DPL(d), oss = bt_stack_size(cpu);
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0;
	const struct cpu_segment *tr = &cpu->st.tr;
	u64 osp = cpu->st.gpr[CPU_RSP], nsp, ssd = 0, o, p[32];
	struct cpu_segment nss;
	u16 ssel, oss_sel = cpu->st.seg[CPU_SS].selector;
	u64 lin;

	if (tr->unusable || !tr->present)
		bt_raise(cpu, BT_EXC_TS, tr->selector & 0xfffc, true);
	if (lm) {
		o = 4 + 8 * dpl;
		if (o + 7 > tr->limit)
			bt_raise(cpu, BT_EXC_TS, tr->selector & 0xfffc, true);
		nsp = bt_ld_lin(cpu, tr->base + o, 8);
		ssel = (u16)dpl;
		bt_seg_set_null(&nss, ssel);
		nss.dpl = dpl & 3;
	} else {
		bool t32 = (tr->type & 8) != 0;
		unsigned w = t32 ? 4 : 2;

		o = t32 ? 4 + 8 * dpl : 2 + 4 * dpl;
		if (o + w + 1 > tr->limit)
			bt_raise(cpu, BT_EXC_TS, tr->selector & 0xfffc, true);
		nsp = bt_ld_lin(cpu, (tr->base + o) & 0xffffffffu, w);
		ssel = (u16)bt_ld_lin(cpu, (tr->base + o + w) & 0xffffffffu, 2);
		if (!(ssel & ~3u))
			bt_raise(cpu, BT_EXC_TS, 0, true);
		if (!bt_desc_read(cpu, ssel, &ssd) || (ssel & 3) != dpl ||
		    BT_DESC_DPL(ssd) != dpl || !(ssd & BT_DESC_S) || (BT_DESC_TYPE(ssd) & 0xa) != 2)
			bt_raise(cpu, BT_EXC_TS, ssel & 0xfffc, true);
		if (!(ssd & BT_DESC_P))
			bt_raise(cpu, BT_EXC_SS, ssel & 0xfffc, true);
		bt_desc_unpack(ssel, ssd, &nss);
	}
	for (unsigned i = 0; i < params; i++)
		p[i] = bt_ld(cpu, CPU_SS, (osp + i * gsz) & bt_mask(oss), gsz);
	/* Build the new frame, then commit. */
	for (unsigned i = 0; i < 4 + params; i++) {
		u64 v;

		if (i == 0)
			v = oss_sel;
		else if (i == 1)
			v = osp;
		else if (i < 2 + params)
			v = p[params - 1 - (i - 2)];
		else if (i == 2 + params)
			v = cpu->st.seg[CPU_CS].selector;
		else
			v = cpu->next_rip;
		if (lm) {
			nsp -= gsz;
			if (!bt_canonical(nsp))
				bt_raise(cpu, BT_EXC_SS, 0, true);
			lin = nsp;
		} else {
			nsp = (nsp - gsz) & bt_mask(nss.db ? 4 : 2);
			if (!bt_seg_off_ok(&nss, nsp, gsz))
				bt_raise(cpu, BT_EXC_SS, ssel & 0xfffc, true);
			lin = (nss.base + nsp) & 0xffffffffu;
		}
		bt_st_lin(cpu, lin, gsz, v);
	}
	if (ssd)
		bt_desc_set_accessed(cpu, ssel, ssd);
	bt_seg_load_cs(cpu, sel, d, dpl);
	cpu->st.seg[CPU_SS] = nss;
	if (ssd)
		cpu->st.seg[CPU_SS].type |= 1;
	bt_cpu_update_mode(cpu);
	cpu->st.gpr[CPU_RSP] = lm || nss.db ? nsp : (cpu->st.gpr[CPU_RSP] & ~0xffffull) | nsp;
	cpu->next_rip = off;
}

/*
 * Far JMP/CALL (SDM vol. 2A CALL, JMP; vol. 3A 5.8): real and virtual-8086 mode, a code
 * segment (conforming or not, same level), a call gate (16, 32, 64 bits; CALL to an inner
 * level switches stacks), a task gate or a TSS (task switch, not in IA-32e mode).
 */
static void bt_far_transfer(struct bt_cpu *cpu, u16 sel, u64 off, unsigned sz, bool call)
{
	unsigned cpl = bt_cpu_cpl(cpu), rpl = sel & 3, type, dpl, gsz, params;
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0;
	u32 err = sel & 0xfffc;
	u64 d, hi, gd;
	u16 tsel;

	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (cpu->st.rflags & BT_VM)) {
		if (call)
			bt_far_push_ret(cpu, sz);
		bt_jump(cpu, off & bt_mask(sz));
		bt_cpu_load_seg_real(cpu, CPU_CS, sel);
		return;
	}
	if (!(sel & ~3u))
		bt_raise_gp0(cpu);
	if (!bt_desc_read(cpu, sel, &d))
		bt_raise(cpu, BT_EXC_GP, err, true);
	type = BT_DESC_TYPE(d);
	dpl = BT_DESC_DPL(d);
	if (d & BT_DESC_S) {
		if (!(type & 8) || ((type & 4) ? dpl > cpl : rpl > cpl || dpl != cpl))
			bt_raise(cpu, BT_EXC_GP, err, true);
		if (!(d & BT_DESC_P))
			bt_raise(cpu, BT_EXC_NP, err, true);
		if (sz != 8)
			off &= bt_mask(sz);
		bt_far_check_ip(cpu, d, off);
		if (call)
			bt_far_push_ret(cpu, sz);
		bt_seg_load_cs(cpu, sel, d, cpl);
		cpu->next_rip = off;
		return;
	}
	/* System descriptors: gates and TSSs. */
	if (lm ? type != 0xc : type != 4 && type != 0xc && type != 5 && type != 1 && type != 9)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (dpl < cpl || rpl > dpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
	if (type == 5 || type == 1 || type == 9) {
		u64 ts = type == 5 ? (d >> 16) & 0xffff : sel;

		bt_task_switch(cpu, (u16)ts, call ? BT_TS_CALL : BT_TS_JMP, 0);
		cpu->next_rip = cpu->st.rip;
		return;
	}
	/* Call gate. */
	off = (d & 0xffff) | ((d >> 32) & 0xffff0000u);
	gsz = type == 4 ? 2 : 4;
	params = (unsigned)(d >> 32) & 0x1f;
	if (lm) {
		if (!bt_desc_read16(cpu, sel, &d, &hi) || ((hi >> 40) & 0x1f) != 0)
			bt_raise(cpu, BT_EXC_GP, err, true);
		off |= (hi & 0xffffffffu) << 32;
		gsz = 8;
		params = 0;
	}
	if (gsz == 2)
		off &= 0xffff;
	tsel = (u16)(d >> 16);
	if (!(tsel & ~3u))
		bt_raise_gp0(cpu);
	if (!bt_desc_read(cpu, tsel, &gd) || !(gd & BT_DESC_S) || !(BT_DESC_TYPE(gd) & 8) ||
	    BT_DESC_DPL(gd) > cpl)
		bt_raise(cpu, BT_EXC_GP, tsel & 0xfffc, true);
	if (!call && !(BT_DESC_TYPE(gd) & 4) && BT_DESC_DPL(gd) != cpl)
		bt_raise(cpu, BT_EXC_GP, tsel & 0xfffc, true);
	if (!(gd & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, tsel & 0xfffc, true);
	if (lm && (!(gd & BT_DESC_L) || (gd & BT_DESC_DB)))
		bt_raise(cpu, BT_EXC_GP, tsel & 0xfffc, true);
	bt_far_check_ip(cpu, gd, off);
	if (call && !(BT_DESC_TYPE(gd) & 4) && BT_DESC_DPL(gd) < cpl) {
		bt_gate_call_inner(cpu, tsel, gd, off, gsz, params);
		return;
	}
	if (call) {
		bt_probe_push(cpu, 2 * gsz);
		bt_push(cpu, gsz, cpu->st.seg[CPU_CS].selector);
		bt_push(cpu, gsz, cpu->next_rip);
	}
	bt_seg_load_cs(cpu, tsel, gd, cpl);
	cpu->next_rip = off;
}

/* EA JMPF ptr, 9A CALLF ptr. */
void bt_op_far_ptr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_far_transfer(cpu, in->imm2, in->imm, in->opsz, in->opcode == 0x9a);
}

/* CB RETF, CA RETF imm16: same level, or an outer level with SS:eSP popped. */
void bt_op_retf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu), cpl = bt_cpu_cpl(cpu), rpl;
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss), ip, cs, imm = in->opcode == 0xca ? in->imm : 0;
	u64 d, nsp, ssd = 0;
	bool null_ss;
	u16 nss;

	ip = bt_ld(cpu, CPU_SS, sp, sz);
	cs = bt_ld(cpu, CPU_SS, (sp + sz) & bt_mask(ss), sz);
	if (bt_cpu_mode(cpu) == BT_MODE_REAL || (cpu->st.rflags & BT_VM)) {
		bt_jump(cpu, ip);
		bt_cpu_load_seg_real(cpu, CPU_CS, (u16)cs);
		bt_set_reg(cpu, CPU_RSP, ss, sp + 2 * sz + imm);
		return;
	}
	d = bt_ret_check_cs(cpu, (u16)cs);
	rpl = cs & 3;
	if (sz != 8)
		ip &= bt_mask(sz);
	bt_far_check_ip(cpu, d, ip);
	if (rpl == cpl) {
		bt_seg_load_cs(cpu, (u16)cs, d, cpl);
		bt_set_reg(cpu, CPU_RSP, ss, sp + 2 * sz + imm);
		cpu->next_rip = ip;
		return;
	}
	/* To an outer level: the caller's eSP and SS follow the parameters. */
	nsp = bt_ld(cpu, CPU_SS, (sp + 2 * sz + imm) & bt_mask(ss), sz);
	nss = (u16)bt_ld(cpu, CPU_SS, (sp + 3 * sz + imm) & bt_mask(ss), sz);
	null_ss = !bt_seg_check_ss(cpu, nss, rpl,
				   bt_cpu_mode(cpu) == BT_MODE_LONG64 && (d & BT_DESC_L), &ssd);
	bt_seg_load_cs(cpu, (u16)cs, d, rpl);
	bt_seg_commit_ss(cpu, nss, rpl, null_ss, ssd);
	if (sz == 8)
		cpu->st.gpr[CPU_RSP] = nsp + imm;
	else
		bt_set_reg(cpu, CPU_RSP, bt_stack_size(cpu), nsp + imm);
	bt_seg_check_data_on_return(cpu, rpl);
	cpu->next_rip = ip;
}

/* FF: group 5. */
void bt_op_grp5(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool m64 = bt_cpu_mode(cpu) == BT_MODE_LONG64;
	unsigned sz = in->opsz;
	u64 t, off, sel;

	switch (in->modrm_reg) {
	case 0:
	case 1:
		bt_op_incdec_rm(cpu, in);
		return;
	case 2: /* CALL Ev */
	case 4: /* JMP Ev */
		if (m64)
			sz = 8;
		t = bt_rm_read(cpu, in, sz);
		if (in->modrm_reg == 2)
			bt_probe_push(cpu, sz);
		bt_jump(cpu, t);
		if (in->modrm_reg == 2)
			bt_push(cpu, sz, cpu->st.rip + in->len);
		return;
	case 3: /* CALLF Mp */
	case 5: /* JMPF Mp */
		if (in->ea_kind == BT_EA_NONE)
			bt_raise_ud(cpu);
		off = bt_ea_off(cpu, in);
		t = bt_ld(cpu, in->seg, off, sz);
		sel = bt_ld(cpu, in->seg, (off + sz) & bt_mask(in->asz), 2);
		bt_far_transfer(cpu, (u16)sel, t, sz, in->modrm_reg == 3);
		return;
	case 6: /* PUSH Ev */
		if (m64 && sz != 2)
			sz = 8;
		bt_push(cpu, sz, bt_rm_read(cpu, in, sz));
		return;
	default:
		bt_raise_ud(cpu);
	}
}
