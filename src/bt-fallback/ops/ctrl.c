// SPDX-License-Identifier: MIT
/*
 * Control transfer: Jcc, JMP/CALL (relative, indirect, far in real mode),
 * RET/RETF (with imm16), LOOP/LOOPE/LOOPNE/JrCXZ, INT3/INT n/INTO (traps),
 * IRET (real mode), HLT, ENTER/LEAVE, and group 5 (FF: INC, DEC, CALL,
 * CALLF, JMP, JMPF, PUSH). SDM vol. 2 instruction pages; near branches in
 * 64-bit mode use a 64-bit operand size and ignore 66 (Intel behaviour).
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

/* CC INT3, CD INT n, CE INTO. */
void bt_op_int(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->opcode == 0xcc)
		bt_raise_trap(cpu, BT_EXC_BP);
	if (in->opcode == 0xce) {
		if (bt_cond(cpu, 0))
			bt_raise_trap(cpu, BT_EXC_OF);
		return;
	}
	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_raise(cpu, BT_EXC_GP, (u32)(in->imm & 0xff) * 8 + 2, true); /* IDT: part 2 */
	bt_raise_trap(cpu, (u8)in->imm);
}

/* CF IRET (real mode only for now). */
void bt_op_iret(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss), ip, cs, fl, mask;

	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_raise_gp0(cpu); /* protected-mode IRET: BT part 2 */
	ip = bt_ld(cpu, CPU_SS, sp, sz);
	cs = bt_ld(cpu, CPU_SS, (sp + sz) & bt_mask(ss), sz);
	fl = bt_ld(cpu, CPU_SS, (sp + 2 * sz) & bt_mask(ss), sz);
	bt_jump(cpu, ip);
	bt_set_reg(cpu, CPU_RSP, ss, sp + 3 * sz);
	bt_cpu_load_seg_real(cpu, CPU_CS, (u16)cs);
	mask = sz == 2 ? 0x7fd5 : 0x257fd5;
	bt_set_rflags(cpu, (bt_get_rflags(cpu) & ~mask) | (fl & mask));
}

/* F4 HLT: privileged. */
void bt_op_hlt(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	if (bt_cpu_mode(cpu) != BT_MODE_REAL && (cpu->st.seg[CPU_CS].selector & 3))
		bt_raise_gp0(cpu);
	cpu->halted_now = true;
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

/* Far transfers in real mode: load CS with selector << 4. */
static void bt_far_jump(struct bt_cpu *cpu, u16 sel, u64 off)
{
	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_raise_ud(cpu); /* descriptor loads: BT part 2 */
	bt_jump(cpu, off);
	bt_cpu_load_seg_real(cpu, CPU_CS, sel);
}

/* EA JMPF ptr, 9A CALLF ptr. */
void bt_op_far_ptr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u16 cs = cpu->st.seg[CPU_CS].selector;

	if (in->opcode == 0x9a) {
		bt_push(cpu, in->opsz, cs);
		bt_push(cpu, in->opsz, cpu->next_rip);
	}
	bt_far_jump(cpu, in->imm2, in->imm);
}

/* CB RETF, CA RETF imm16. */
void bt_op_retf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss), ip, cs;

	if (bt_cpu_mode(cpu) != BT_MODE_REAL)
		bt_raise_ud(cpu);
	ip = bt_ld(cpu, CPU_SS, sp, sz);
	cs = bt_ld(cpu, CPU_SS, (sp + sz) & bt_mask(ss), sz);
	bt_far_jump(cpu, (u16)cs, ip);
	bt_set_reg(cpu, CPU_RSP, ss, sp + 2 * sz + (in->opcode == 0xca ? in->imm : 0));
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
		if (in->modrm_reg == 3) {
			bt_push(cpu, sz, cpu->st.seg[CPU_CS].selector);
			bt_push(cpu, sz, cpu->next_rip);
		}
		bt_far_jump(cpu, (u16)sel, t);
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
