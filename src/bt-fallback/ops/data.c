// SPDX-License-Identifier: MIT
/*
 * Data movement and atomics: MOV (all integer forms, moffs), MOVZX/MOVSX/
 * MOVSXD, LEA, XCHG, PUSH/POP (registers, immediates, r/m, segment
 * registers: descriptor loads through seg.c), PUSHA/POPA, CBW/CWDE/CDQE,
 * CWD/CDQ/CQO, XLAT, LAHF/SAHF, PUSHF/POPF (IOPL, IF and virtual-8086
 * rules), CLC/STC/CMC/CLD/STD/CLI/STI (CPL <= IOPL, the STI shadow),
 * CMPXCHG, XADD, CMPXCHG8B/16B, MOV Sreg and LDS/LES/LSS/LFS/LGS, CPUID
 * (RDTSC is in sysreg_ops.c).
 * SDM vol. 2 instruction pages of the same names.
 */
#include "bt-fallback/ops/ops.h"

/* 88-8B: MOV E,G / G,E. */
void bt_op_mov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;

	if (in->opcode & 2)
		bt_set_reg(cpu, in->reg, sz, bt_rm_read(cpu, in, sz));
	else
		bt_rm_write(cpu, in, sz, bt_get_reg(cpu, in->reg, sz));
}

/* C6/C7: MOV E,imm (only /0). */
void bt_op_mov_imm_rm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->modrm_reg)
		bt_raise_ud(cpu);
	bt_rm_write(cpu, in, in->opsz, in->imm);
}

/* B0-BF: MOV reg,imm. */
void bt_op_mov_imm_reg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_set_reg(cpu, in->rm, in->opsz, in->imm);
}

/* A0-A3: MOV AL/rAX <-> moffs. */
void bt_op_mov_moffs(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;

	if (in->opcode & 2)
		bt_st(cpu, in->seg, in->imm, sz, bt_get_reg(cpu, CPU_RAX, sz));
	else
		bt_set_reg(cpu, CPU_RAX, sz, bt_ld(cpu, in->seg, in->imm, sz));
}

/* 0F B6/B7 MOVZX, 0F BE/BF MOVSX, 63 MOVSXD (64-bit mode). */
void bt_op_movx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned src = (in->opcode == 0x63) ? 4 : (in->opcode & 1) ? 2 : 1;
	u64 v;

	if (in->opcode == 0x63 && bt_cpu_mode(cpu) != BT_MODE_LONG64) {
		bt_op_arpl(cpu, in);
		return;
	}
	v = bt_rm_read(cpu, in, src);
	if (in->opcode == 0x63 || in->opcode >= 0x1be)
		v = (u64)bt_sext(v, src);
	bt_set_reg(cpu, in->reg, in->opsz, v);
}

/* 8D: LEA (a register source is #UD). */
void bt_op_lea(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_set_reg(cpu, in->reg, in->opsz, bt_ea_off(cpu, in));
}

/* 86/87: XCHG E,G (memory first, so a fault changes nothing). */
void bt_op_xchg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 a = bt_rm_read_rmw(cpu, in, sz), b = bt_get_reg(cpu, in->reg, sz);

	bt_rm_write(cpu, in, sz, b);
	bt_set_reg(cpu, in->reg, sz, a);
}

/* 90-97: XCHG rAX,r; 90 without REX.B is NOP (and F3 90 PAUSE). */
void bt_op_xchg_ax(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 a, b;

	if (in->rm == CPU_RAX)
		return;
	a = bt_get_reg(cpu, CPU_RAX, sz);
	b = bt_get_reg(cpu, in->rm, sz);
	bt_set_reg(cpu, CPU_RAX, sz, b);
	bt_set_reg(cpu, in->rm, sz, a);
}

void bt_op_nop(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)cpu;
	(void)in;
}

/* 50-57 PUSH r, 58-5F POP r. */
void bt_op_push_reg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_push(cpu, in->opsz, bt_get_reg(cpu, in->rm, in->opsz));
}

void bt_op_pop_reg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 v = bt_pop(cpu, in->opsz);

	bt_set_reg(cpu, in->rm, in->opsz, v);
}

/* 68/6A: PUSH imm. */
void bt_op_push_imm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_push(cpu, in->opsz, in->imm & bt_mask(in->opsz));
}

/* 8F /0: POP Ev. The address uses RSP after the pop (SDM "POP"). */
void bt_op_pop_rm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 old_sp = cpu->st.gpr[CPU_RSP], new_sp, off, v;

	if (in->modrm_reg)
		bt_raise_ud(cpu);
	v = bt_pop(cpu, sz);
	if (in->ea_kind == BT_EA_NONE) {
		bt_set_reg(cpu, in->rm, sz, v);
		return;
	}
	/* The address uses the popped RSP; a faulting store must leave RSP as it was. */
	new_sp = cpu->st.gpr[CPU_RSP];
	off = bt_ea_off(cpu, in);
	cpu->st.gpr[CPU_RSP] = old_sp;
	bt_st(cpu, in->seg, off, sz, v);
	cpu->st.gpr[CPU_RSP] = new_sp;
}

/* 06/0E/16/1E PUSH Sreg, 07/17/1F POP Sreg, 0F A0/A1/A8/A9 (real mode loads only). */
void bt_op_push_seg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned s = in->opcode >= 0x100 ? (in->opcode == 0x1a0 ? CPU_FS : CPU_GS) :
					   (in->opcode >> 3) & 3;

	bt_push(cpu, in->opsz, cpu->st.seg[s].selector);
}

void bt_op_pop_seg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned s = in->opcode >= 0x100 ? (in->opcode == 0x1a1 ? CPU_FS : CPU_GS) :
					   (in->opcode >> 3) & 3;
	unsigned ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss), v;

	/* The load's checks come before RSP moves (a faulting POP leaves it). */
	v = bt_ld(cpu, CPU_SS, sp, in->opsz);
	bt_seg_load(cpu, s, (u16)v);
	bt_set_reg(cpu, CPU_RSP, ss, sp + in->opsz);
	if (s == CPU_SS) {
		cpu->st.interrupt_shadow = true;
		cpu->mov_ss = true;
		cpu->end_block = true;
	}
}

/* 8C: MOV Ev,Sreg; 8E: MOV Sreg,Ew. */
void bt_op_mov_from_seg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->modrm_reg > 5)
		bt_raise_ud(cpu);
	if (in->ea_kind == BT_EA_NONE)
		bt_set_reg(cpu, in->rm, in->opsz, cpu->st.seg[in->modrm_reg].selector);
	else
		bt_rm_write(cpu, in, 2, cpu->st.seg[in->modrm_reg].selector);
}

void bt_op_mov_to_seg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 v;

	if (in->modrm_reg > 5 || in->modrm_reg == CPU_CS)
		bt_raise_ud(cpu);
	v = bt_rm_read(cpu, in, 2);
	bt_seg_load(cpu, in->modrm_reg, (u16)v);
	if (in->modrm_reg == CPU_SS) {
		cpu->st.interrupt_shadow = true;
		cpu->mov_ss = true;
		cpu->end_block = true;
	}
}

/* C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS (register forms #UD). */
void bt_op_lxs(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, s;
	u64 off, v, sel;

	if (in->ea_kind == BT_EA_NONE)
		bt_raise_ud(cpu);
	switch (in->opcode) {
	case 0xc4:
		s = CPU_ES;
		break;
	case 0xc5:
		s = CPU_DS;
		break;
	case 0x1b2:
		s = CPU_SS;
		break;
	case 0x1b4:
		s = CPU_FS;
		break;
	default:
		s = CPU_GS;
		break;
	}
	off = bt_ea_off(cpu, in);
	v = bt_ld(cpu, in->seg, off, sz);
	sel = bt_ld(cpu, in->seg, (off + sz) & bt_mask(in->asz), 2);
	bt_seg_load(cpu, s, (u16)sel);
	bt_set_reg(cpu, in->reg, sz, v);
}

/* 60 PUSHA, 61 POPA. */
void bt_op_pusha(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP];

	/* Stores in order; a fault part-way keeps the earlier ones (as AMD hardware does), SP
	 * changes only at the end. */
	for (unsigned r = 0; r < 8; r++)
		bt_st(cpu, CPU_SS, (sp - (r + 1) * sz) & bt_mask(ss), sz,
		      r == CPU_RSP ? sp : cpu->st.gpr[r]);
	bt_set_reg(cpu, CPU_RSP, ss, sp - 8 * sz);
}

void bt_op_popa(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP], v[8];

	for (unsigned r = 0; r < 8; r++)
		v[7 - r] = bt_ld(cpu, CPU_SS, (sp + r * sz) & bt_mask(ss), sz);
	for (unsigned r = 0; r < 8; r++)
		if (r != CPU_RSP)
			bt_set_reg(cpu, r, sz, v[r]);
	bt_set_reg(cpu, CPU_RSP, ss, sp + 8 * sz);
}

/* 98: CBW/CWDE/CDQE; 99: CWD/CDQ/CQO. */
void bt_op_cbw(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;

	bt_set_reg(cpu, CPU_RAX, sz, (u64)bt_sext(bt_get_reg(cpu, CPU_RAX, sz / 2), sz / 2));
}

void bt_op_cwd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 a = bt_get_reg(cpu, CPU_RAX, sz);

	bt_set_reg(cpu, CPU_RDX, sz, (a & bt_sign(sz)) ? ~0ull : 0);
}

/* D7: XLAT. */
void bt_op_xlat(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 off = (bt_get_reg(cpu, CPU_RBX, in->asz) + bt_get_reg(cpu, CPU_RAX, 1)) &
		  bt_mask(in->asz);

	bt_set_reg(cpu, CPU_RAX, 1, bt_ld(cpu, in->seg, off, 1));
}

/* 9E SAHF, 9F LAHF (64-bit mode: only with CPUID lahf_lm, which the model advertises). */
void bt_op_sahf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 ah = bt_get_reg(cpu, BT_REG_AH, 1);

	(void)in;
	bt_flags_set(cpu, BT_CF | BT_PF | BT_AF | BT_ZF | BT_SF, ah);
}

void bt_op_lahf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_set_reg(cpu, BT_REG_AH, 1, (bt_get_rflags(cpu) & 0xd5) | 2);
}

/*
 * 9C PUSHF, 9D POPF (SDM vol. 2B POPF): IOPL changes only at CPL 0, IF only at CPL <= IOPL;
 * VM and RF are never popped; in virtual-8086 mode both need IOPL 3 (else #GP(0)) and IOPL
 * stays.
 */
void bt_op_pushf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 f = bt_get_rflags(cpu);

	if ((f & BT_VM) && (f & BT_IOPL) != BT_IOPL)
		bt_raise_gp0(cpu);
	bt_push(cpu, in->opsz, f & ~(u64)(BT_RF | BT_VM) & bt_mask(in->opsz));
}

void bt_op_popf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned cpl = bt_cpu_cpl(cpu);
	u64 old = bt_get_rflags(cpu), v;
	u64 mask = BT_ARITH | BT_TF | BT_DF | BT_NT | BT_AC | BT_ID | BT_IF | BT_IOPL;

	if ((old & BT_VM) && (old & BT_IOPL) != BT_IOPL)
		bt_raise_gp0(cpu);
	v = bt_pop(cpu, in->opsz);
	if (cpl > 0)
		mask &= ~(u64)BT_IOPL;
	if (cpl > ((old >> 12) & 3))
		mask &= ~(u64)BT_IF;
	if (in->opsz == 2)
		mask &= 0xffff;
	bt_set_rflags(cpu, (old & ~mask) | (v & mask));
	cpu->end_block = true;
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD, FA CLI, FB STI (CLI/STI: CPL <= IOPL, else #GP). */
void bt_op_flagop(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 f = bt_get_rflags(cpu);

	switch (in->opcode) {
	case 0xf5:
		f ^= BT_CF;
		break;
	case 0xf8:
		f &= ~(u64)BT_CF;
		break;
	case 0xf9:
		f |= BT_CF;
		break;
	case 0xfc:
		f &= ~(u64)BT_DF;
		break;
	case 0xfd:
		f |= BT_DF;
		break;
	default:
		if (bt_cpu_cpl(cpu) > ((f >> 12) & 3))
			bt_raise_gp0(cpu);
		if (in->opcode == 0xfa) {
			f &= ~(u64)BT_IF;
		} else {
			if (!(f & BT_IF)) {
				cpu->st.interrupt_shadow = true;
				cpu->end_block = true; /* the window opens after the next one */
			}
			f |= BT_IF;
		}
		break;
	}
	bt_set_rflags(cpu, f);
}

/* 0F B0/B1: CMPXCHG E,G. */
void bt_op_cmpxchg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 d = bt_rm_read_rmw(cpu, in, sz), a = bt_get_reg(cpu, CPU_RAX, sz);

	if (a == d) {
		bt_rm_write(cpu, in, sz, bt_get_reg(cpu, in->reg, sz));
	} else {
		if (in->ea_kind != BT_EA_NONE)
			bt_rm_write(cpu, in, sz, d); /* the locked cycle writes back */
		bt_set_reg(cpu, CPU_RAX, sz, d);
	}
	bt_alu(cpu, 7, sz, a, d);
}

/* 0F C0/C1: XADD E,G. */
void bt_op_xadd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 d = bt_rm_read_rmw(cpu, in, sz), s = bt_get_reg(cpu, in->reg, sz);
	u64 r = bt_alu(cpu, 0, sz, d, s);

	if (in->ea_kind == BT_EA_NONE) {
		bt_set_reg(cpu, in->reg, sz, d); /* XADD r,r with one register leaves the sum */
		bt_set_reg(cpu, in->rm, sz, r);
	} else {
		bt_rm_write(cpu, in, sz, r); /* first: the register may be part of the address */
		bt_set_reg(cpu, in->reg, sz, d);
	}
}

/* 0F C7 /1: CMPXCHG8B / CMPXCHG16B (REX.W: 16-byte aligned, else #GP). */
void bt_op_grp9(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 off, lo, hi;

	if (in->modrm_reg == 4 && in->rep == BT_REP_NONE && !in->p66) {
		bt_op_xsavec(cpu, in);
		return;
	}
	if (in->modrm_reg == 7 && in->rep == BT_REP_F3 && in->ea_kind == BT_EA_NONE) {
		bt_op_rdpid(cpu, in);
		return;
	}
	if (in->modrm_reg != 1 || in->ea_kind == BT_EA_NONE ||
	    !bt_has(cpu, in->rexw ? CPU_F_CX16 : CPU_F_CX8))
		bt_raise_ud(cpu);
	off = bt_ea_off(cpu, in);
	if (in->rexw) {
		if (off & 15)
			bt_raise_gp0(cpu);
		lo = bt_ld_rmw(cpu, in->seg, off, 8);
		hi = bt_ld_rmw(cpu, in->seg, off + 8, 8);
		if (lo == cpu->st.gpr[CPU_RAX] && hi == cpu->st.gpr[CPU_RDX]) {
			bt_st(cpu, in->seg, off, 8, cpu->st.gpr[CPU_RBX]);
			bt_st(cpu, in->seg, off + 8, 8, cpu->st.gpr[CPU_RCX]);
			bt_flags_set(cpu, BT_ZF, BT_ZF);
		} else {
			bt_st(cpu, in->seg, off, 8, lo);
			bt_st(cpu, in->seg, off + 8, 8, hi);
			cpu->st.gpr[CPU_RAX] = lo;
			cpu->st.gpr[CPU_RDX] = hi;
			bt_flags_set(cpu, BT_ZF, 0);
		}
		return;
	}
	lo = bt_ld_rmw(cpu, in->seg, off, 8);
	if (lo == (bt_get_reg(cpu, CPU_RAX, 4) | bt_get_reg(cpu, CPU_RDX, 4) << 32)) {
		bt_st(cpu, in->seg, off, 8,
		      bt_get_reg(cpu, CPU_RBX, 4) | bt_get_reg(cpu, CPU_RCX, 4) << 32);
		bt_flags_set(cpu, BT_ZF, BT_ZF);
	} else {
		bt_st(cpu, in->seg, off, 8, lo);
		bt_set_reg(cpu, CPU_RAX, 4, lo);
		bt_set_reg(cpu, CPU_RDX, 4, lo >> 32);
		bt_flags_set(cpu, BT_ZF, 0);
	}
}

/* 0F A2: CPUID. */
void bt_op_cpuid(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u32 r[4];

	(void)in;
	bt_cpuid(cpu, (u32)cpu->st.gpr[CPU_RAX], (u32)cpu->st.gpr[CPU_RCX], r);
	bt_set_reg(cpu, CPU_RAX, 4, r[0]);
	bt_set_reg(cpu, CPU_RBX, 4, r[1]);
	bt_set_reg(cpu, CPU_RCX, 4, r[2]);
	bt_set_reg(cpu, CPU_RDX, 4, r[3]);
}

/* ------------------------------------------- specialised forms (bt_ops_specialise) */

/* 89/8B between two 8-byte registers. */
void bt_op_mov_rr8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->opcode & 2)
		cpu->st.gpr[in->reg] = cpu->st.gpr[in->rm];
	else
		cpu->st.gpr[in->rm] = cpu->st.gpr[in->reg];
}

/* 89/8B between two 4-byte registers (zero-extends). */
void bt_op_mov_rr4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->opcode & 2)
		cpu->st.gpr[in->reg] = (u32)cpu->st.gpr[in->rm];
	else
		cpu->st.gpr[in->rm] = (u32)cpu->st.gpr[in->reg];
}

/* 8B with a memory operand, 8 and 4 bytes. */
void bt_op_mov_ld8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	cpu->st.gpr[in->reg] = bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 8);
}

void bt_op_mov_ld4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	cpu->st.gpr[in->reg] = bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 4);
}

/* 89 with a memory operand, 8 and 4 bytes. */
void bt_op_mov_st8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_st(cpu, in->seg, bt_ea_off(cpu, in), 8, cpu->st.gpr[in->reg]);
}

void bt_op_mov_st4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_st(cpu, in->seg, bt_ea_off(cpu, in), 4, cpu->st.gpr[in->reg]);
}

/* MOVZX/MOVSX (0F B6/B7/BE/BF) and MOVSXD (63, 64-bit mode) into a 4- or 8-byte register. */
static inline __attribute__((always_inline)) void
bt_movx_n(struct bt_cpu *cpu, const struct bt_insn *in, unsigned src, bool sign, unsigned dsz)
{
	u64 v = bt_rm_read(cpu, in, src);

	if (sign)
		v = (u64)bt_sext(v, src);
	bt_set_reg(cpu, in->reg, dsz, v);
}

#define BT_MOVX(name, src, sign)                                                   \
	static void bt_op_##name##_4(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                          \
		bt_movx_n(cpu, in, src, sign, 4);                                  \
	}                                                                          \
	static void bt_op_##name##_8(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                          \
		bt_movx_n(cpu, in, src, sign, 8);                                  \
	}
BT_MOVX(movzx8, 1, false)
BT_MOVX(movzx16, 2, false)
BT_MOVX(movsx8, 1, true)
BT_MOVX(movsx16, 2, true)
BT_MOVX(movsxd, 4, true)

bt_handler_fn bt_ops_movx_for(const struct bt_insn *in, enum bt_mode mode)
{
	bool q = in->opsz == 8;

	switch (in->opcode) {
	case 0x1b6:
		return q ? bt_op_movzx8_8 : bt_op_movzx8_4;
	case 0x1b7:
		return q ? bt_op_movzx16_8 : bt_op_movzx16_4;
	case 0x1be:
		return q ? bt_op_movsx8_8 : bt_op_movsx8_4;
	case 0x1bf:
		return q ? bt_op_movsx16_8 : bt_op_movsx16_4;
	case 0x63:
		if (mode == BT_MODE_LONG64)
			return q ? bt_op_movsxd_8 : bt_op_movsxd_4;
		return in->fn; /* ARPL */
	default:
		return in->fn;
	}
}

/* LEA with 8-byte operand and address sizes. */
void bt_op_lea8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	cpu->st.gpr[in->reg] = bt_ea_off(cpu, in);
}
