// SPDX-License-Identifier: MIT
/*
 * Integer arithmetic and logic: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP in all
 * forms (SDM vol. 2 opcode map rows 0-3, group 1), TEST, INC/DEC, group 3
 * (NOT, NEG, MUL, IMUL, DIV, IDIV with #DE), two- and three-operand IMUL,
 * the BCD adjustments (DAA, DAS, AAA, AAS, AAM, AAD; invalid in 64-bit
 * mode), SALC, SETcc and CMOVcc. Flag results per the instruction pages of
 * SDM vol. 2; flags the SDM leaves undefined follow what AMD hardware was
 * observed to do where cheap, and are masked by the differential tests.
 */
#include "bt-fallback/ops/ops.h"

/* The eight group-1 operations; returns the result (CMP returns a unchanged). */
static inline __attribute__((always_inline)) u64 bt_alu_inl(struct bt_cpu *cpu, unsigned op,
							    unsigned size, u64 a, u64 b)
{
	u64 m = bt_mask(size), r;
	bool cin;

	a &= m;
	b &= m;
	switch (op) {
	case 0:
		r = (a + b) & m;
		bt_flags_set_lazy(cpu, BT_LF_ADD, size, r, a, b);
		return r;
	case 1:
		r = a | b;
		bt_flags_set_lazy(cpu, BT_LF_LOGIC, size, r, 0, 0);
		return r;
	case 2:
		cin = bt_cf(cpu);
		r = (a + b + cin) & m;
		bt_flags_set_lazy(cpu, cin ? BT_LF_ADC : BT_LF_ADD, size, r, a, b);
		return r;
	case 3:
		cin = bt_cf(cpu);
		r = (a - b - cin) & m;
		bt_flags_set_lazy(cpu, cin ? BT_LF_SBB : BT_LF_SUB, size, r, a, b);
		return r;
	case 4:
		r = a & b;
		bt_flags_set_lazy(cpu, BT_LF_LOGIC, size, r, 0, 0);
		return r;
	case 5:
		r = (a - b) & m;
		bt_flags_set_lazy(cpu, BT_LF_SUB, size, r, a, b);
		return r;
	case 6:
		r = a ^ b;
		bt_flags_set_lazy(cpu, BT_LF_LOGIC, size, r, 0, 0);
		return r;
	default:
		bt_flags_set_lazy(cpu, BT_LF_SUB, size, (a - b) & m, a, b);
		return a;
	}
}

u64 bt_alu(struct bt_cpu *cpu, unsigned op, unsigned size, u64 a, u64 b)
{
	return bt_alu_inl(cpu, op, size, a, b);
}

/* 00-3F: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz; one handler per op. */
static inline __attribute__((always_inline)) void
bt_op_alu_inl(struct bt_cpu *cpu, const struct bt_insn *in, unsigned op)
{
	unsigned sz = in->opsz;
	u64 a, b, r;

	switch (in->opcode & 7) {
	case 0:
	case 1:
		a = op == 7 ? bt_rm_read(cpu, in, sz) : bt_rm_read_rmw(cpu, in, sz);
		b = bt_get_reg(cpu, in->reg, sz);
		r = bt_alu_inl(cpu, op, sz, a, b);
		if (op != 7)
			bt_rm_write(cpu, in, sz, r);
		break;
	case 2:
	case 3:
		a = bt_get_reg(cpu, in->reg, sz);
		b = bt_rm_read(cpu, in, sz);
		r = bt_alu_inl(cpu, op, sz, a, b);
		if (op != 7)
			bt_set_reg(cpu, in->reg, sz, r);
		break;
	default:
		a = bt_get_reg(cpu, CPU_RAX, sz);
		r = bt_alu_inl(cpu, op, sz, a, in->imm);
		if (op != 7)
			bt_set_reg(cpu, CPU_RAX, sz, r);
		break;
	}
}

#define BT_ALU_OP(name, op)                                             \
	void bt_op_##name(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                               \
		bt_op_alu_inl(cpu, in, op);                             \
	}
BT_ALU_OP(add, 0)
BT_ALU_OP(or, 1)
BT_ALU_OP(adc, 2)
BT_ALU_OP(sbb, 3)
BT_ALU_OP(and, 4)
BT_ALU_OP(sub, 5)
BT_ALU_OP(xor, 6)
BT_ALU_OP(cmp, 7)

/* 80-83: group 1, Eb,Ib / Ev,Iz / Eb,Ib / Ev,Ib. */
void bt_op_grp1(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->modrm_reg, sz = in->opsz;
	u64 a = op == 7 ? bt_rm_read(cpu, in, sz) : bt_rm_read_rmw(cpu, in, sz);
	u64 r = bt_alu_inl(cpu, op, sz, a, in->imm);

	if (op != 7)
		bt_rm_write(cpu, in, sz, r);
}

/* 84/85 TEST E,G; A8/A9 TEST rAX,imm. */
void bt_op_test(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;

	if (in->opcode >= 0xa8)
		bt_alu_inl(cpu, 4, sz, bt_get_reg(cpu, CPU_RAX, sz), in->imm);
	else
		bt_alu_inl(cpu, 4, sz, bt_rm_read(cpu, in, sz), bt_get_reg(cpu, in->reg, sz));
}

static u64 bt_incdec(struct bt_cpu *cpu, unsigned size, u64 a, bool dec)
{
	u64 r = (dec ? a - 1 : a + 1) & bt_mask(size);

	bt_flags_set_lazy(cpu, dec ? BT_LF_DEC : BT_LF_INC, size, r, a, 1);
	return r;
}

/* 40-4F outside 64-bit mode: INC/DEC r16/32. */
void bt_op_incdec_reg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;

	bt_set_reg(cpu, in->rm, sz,
		   bt_incdec(cpu, sz, bt_get_reg(cpu, in->rm, sz), in->opcode & 8));
}

/* Multiply; returns false when the high half is just the sign/zero extension (CF = OF = 0). */
static void bt_mul_flags(struct bt_cpu *cpu, unsigned size, u64 lo, bool overflow)
{
	u64 f = bt_szp(size, lo);

	if (overflow)
		f |= BT_CF | BT_OF;
	bt_flags_set(cpu, BT_ARITH, f);
}

static void bt_mul1(struct bt_cpu *cpu, const struct bt_insn *in, bool sign)
{
	unsigned sz = in->opsz;
	u64 src = bt_rm_read(cpu, in, sz), a = bt_get_reg(cpu, CPU_RAX, sz), lo, hi;

	if (sign) {
		__int128 p = (__int128)bt_sext(a, sz) * bt_sext(src, sz);

		lo = (u64)p & bt_mask(sz);
		hi = sz == 8 ? (u64)(p >> 64) : (u64)(p >> (sz * 8)) & bt_mask(sz);
		bt_mul_flags(cpu, sz, lo, p != (__int128)bt_sext(lo, sz));
	} else {
		unsigned __int128 p = (unsigned __int128)a * src;

		lo = (u64)p & bt_mask(sz);
		hi = sz == 8 ? (u64)(p >> 64) : (u64)(p >> (sz * 8)) & bt_mask(sz);
		bt_mul_flags(cpu, sz, lo, hi != 0);
	}
	if (sz == 1) {
		bt_set_reg(cpu, CPU_RAX, 2, hi << 8 | lo);
	} else {
		bt_set_reg(cpu, CPU_RAX, sz, lo);
		bt_set_reg(cpu, CPU_RDX, sz, hi);
	}
}

static void bt_div1(struct bt_cpu *cpu, const struct bt_insn *in, bool sign)
{
	unsigned sz = in->opsz, bits = sz * 8;
	u64 src = bt_rm_read(cpu, in, sz), lo, hi, q, r;

	if (sz == 1) {
		lo = bt_get_reg(cpu, CPU_RAX, 2) & 0xff;
		hi = bt_get_reg(cpu, CPU_RAX, 2) >> 8;
	} else {
		lo = bt_get_reg(cpu, CPU_RAX, sz);
		hi = bt_get_reg(cpu, CPU_RDX, sz);
	}
	if (!src)
		bt_raise(cpu, BT_EXC_DE, 0, false);
	if (sign) {
		__int128 d = bt_sext(src, sz), sq, sr, n;

		if (bits < 64) /* the 2*bits dividend fits a u64: sign-extend it from there */
			n = bt_sext((hi << bits) | lo, 2 * sz);
		else
			n = (__int128)(((unsigned __int128)hi << 64) | lo);
		sq = n / d;
		sr = n % d;
		if (sq != (__int128)bt_sext((u64)sq & bt_mask(sz), sz))
			bt_raise(cpu, BT_EXC_DE, 0, false);
		q = (u64)sq & bt_mask(sz);
		r = (u64)sr & bt_mask(sz);
	} else {
		unsigned __int128 n = ((unsigned __int128)hi << bits) | lo;
		unsigned __int128 uq = n / src;

		if (uq >> bits)
			bt_raise(cpu, BT_EXC_DE, 0, false);
		q = (u64)uq;
		r = (u64)(n % src);
	}
	if (sz == 1) {
		bt_set_reg(cpu, CPU_RAX, 2, r << 8 | q);
	} else {
		bt_set_reg(cpu, CPU_RAX, sz, q);
		bt_set_reg(cpu, CPU_RDX, sz, r);
	}
}

/* F6/F7: group 3. */
void bt_op_grp3(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 a;

	switch (in->modrm_reg) {
	case 0:
	case 1:
		bt_alu(cpu, 4, sz, bt_rm_read(cpu, in, sz), in->imm);
		break;
	case 2:
		a = bt_rm_read_rmw(cpu, in, sz);
		bt_rm_write(cpu, in, sz, ~a);
		break;
	case 3:
		a = bt_rm_read_rmw(cpu, in, sz);
		bt_rm_write(cpu, in, sz, -a);
		bt_flags_set_lazy(cpu, BT_LF_SUB, sz, -a & bt_mask(sz), 0, a);
		break;
	case 4:
	case 5:
		bt_mul1(cpu, in, in->modrm_reg == 5);
		break;
	default:
		bt_div1(cpu, in, in->modrm_reg == 7);
		break;
	}
}

/* FE: group 4 (INC/DEC Eb); FF /0 /1 share it. */
void bt_op_incdec_rm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 a = bt_rm_read_rmw(cpu, in, sz);
	u64 r = (in->modrm_reg ? a - 1 : a + 1) & bt_mask(sz);

	bt_rm_write(cpu, in, sz, r);
	bt_flags_set_lazy(cpu, in->modrm_reg ? BT_LF_DEC : BT_LF_INC, sz, r, a, 1);
}

void bt_op_grp4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->modrm_reg > 1)
		bt_raise_ud(cpu);
	bt_op_incdec_rm(cpu, in);
}

/* 69, 6B, 0F AF: IMUL Gv,Ev(,imm). */
void bt_op_imul(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 b = bt_rm_read(cpu, in, sz);
	u64 a = in->opcode == 0x1af ? bt_get_reg(cpu, in->reg, sz) : in->imm;
	__int128 p = (__int128)bt_sext(a, sz) * bt_sext(b, sz);
	u64 lo = (u64)p & bt_mask(sz);

	bt_mul_flags(cpu, sz, lo, p != (__int128)bt_sext(lo, sz));
	bt_set_reg(cpu, in->reg, sz, lo);
}

/* ----------------------------------------------------------------- BCD */

static void bt_bcd_flags(struct bt_cpu *cpu, u64 al, bool cf, bool af)
{
	u64 f = bt_szp(1, al);

	if (cf)
		f |= BT_CF;
	if (af)
		f |= BT_AF;
	bt_flags_set(cpu, BT_ARITH, f);
}

/* 27 DAA, 2F DAS (SDM vol. 2A DAA/DAS pseudo-code). */
void bt_op_daa_das(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 fl = bt_get_rflags(cpu);
	unsigned al = (unsigned)bt_get_reg(cpu, CPU_RAX, 1), old = al;
	bool cf = false, old_cf = fl & BT_CF, af = false, das = in->opcode == 0x2f;

	if ((al & 0xf) > 9 || (fl & BT_AF)) {
		cf = old_cf || (das ? al < 6 : al + 6 > 0xff);
		al = (das ? al - 6 : al + 6) & 0xff;
		af = true;
	}
	if (old > 0x99 || old_cf) {
		al = (das ? al - 0x60 : al + 0x60) & 0xff;
		cf = true;
	}
	bt_set_reg(cpu, CPU_RAX, 1, al);
	bt_bcd_flags(cpu, al, cf, af);
}

/* 37 AAA, 3F AAS. */
void bt_op_aaa_aas(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 fl = bt_get_rflags(cpu), ax = bt_get_reg(cpu, CPU_RAX, 2);
	bool adj = (ax & 0xf) > 9 || (fl & BT_AF);

	if (adj) {
		if (in->opcode == 0x37)
			ax = ((ax + 0x106) & 0xff0f);
		else
			ax = (ax - 6 - 0x100) & 0xff0f; /* AX -= 6 (borrowing from AH); AH -= 1 */
	} else {
		ax &= 0xff0f;
	}
	bt_set_reg(cpu, CPU_RAX, 2, ax);
	bt_bcd_flags(cpu, ax & 0xff, adj, adj);
}

/* D4 AAM ib, D5 AAD ib. */
void bt_op_aam_aad(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 ax = bt_get_reg(cpu, CPU_RAX, 2), base = in->imm & 0xff, al;

	if (in->opcode == 0xd4) {
		if (!base)
			bt_raise(cpu, BT_EXC_DE, 0, false);
		al = (ax & 0xff) % base;
		ax = ((ax & 0xff) / base) << 8 | al;
	} else {
		al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
		ax = al;
	}
	bt_set_reg(cpu, CPU_RAX, 2, ax);
	bt_flags_set(cpu, BT_ARITH, bt_szp(1, al));
}

/* D6 SALC (undocumented, 16/32-bit only): AL = CF ? FF : 00. */
void bt_op_salc(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_set_reg(cpu, CPU_RAX, 1, bt_cond(cpu, 2) ? 0xff : 0);
}

/* 0F 90-9F SETcc Eb. */
void bt_op_setcc(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_rm_write(cpu, in, 1, bt_cond(cpu, in->opcode & 0xf));
}

/* 0F 40-4F CMOVcc Gv,Ev: the source is always read; r32 is always zero-extended. */
void bt_op_cmov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 v = bt_rm_read(cpu, in, sz);

	if (bt_cond(cpu, in->opcode & 0xf))
		bt_set_reg(cpu, in->reg, sz, v);
	else if (sz == 4)
		bt_set_reg(cpu, in->reg, 4, bt_get_reg(cpu, in->reg, 4));
}

/* 62: BOUND Gv,Ma (16/32-bit modes): #BR unless lower <= index <= upper, signed. */
void bt_op_bound(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 off = bt_ea_off(cpu, in);
	s64 idx = bt_sext(bt_get_reg(cpu, in->reg, sz), sz);
	s64 lo = bt_sext(bt_ld(cpu, in->seg, off, sz), sz);
	s64 hi = bt_sext(bt_ld(cpu, in->seg, (off + sz) & bt_mask(in->asz), sz), sz);

	if (idx < lo || idx > hi)
		bt_raise(cpu, BT_EXC_BR, 0, false);
}

/* ------------------------------------------- specialised forms (bt_ops_specialise) */

/* op Ev,Gv / Gv,Ev with two registers and a 4- or 8-byte operand. */
static inline __attribute__((always_inline)) void
bt_alu_rr(struct bt_cpu *cpu, const struct bt_insn *in, unsigned op, unsigned sz)
{
	unsigned dst = (in->opcode & 2) ? in->reg : in->rm;
	unsigned src = (in->opcode & 2) ? in->rm : in->reg;
	u64 r = bt_alu_inl(cpu, op, sz, cpu->st.gpr[dst], cpu->st.gpr[src]);

	if (op != 7)
		cpu->st.gpr[dst] = r; /* masked to sz: a 32-bit result zero-extends */
}

/* Group 1 (81, 83) on a 4- or 8-byte register. */
static inline __attribute__((always_inline)) void
bt_alu_ri(struct bt_cpu *cpu, const struct bt_insn *in, unsigned op, unsigned sz)
{
	u64 r = bt_alu_inl(cpu, op, sz, cpu->st.gpr[in->rm], in->imm);

	if (op != 7)
		cpu->st.gpr[in->rm] = r;
}

#define BT_ALU_RR(name, op)                                                          \
	static void bt_op_##name##_rr4(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                            \
		bt_alu_rr(cpu, in, op, 4);                                           \
	}                                                                            \
	static void bt_op_##name##_rr8(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                            \
		bt_alu_rr(cpu, in, op, 8);                                           \
	}                                                                            \
	static void bt_op_##name##_ri4(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                            \
		bt_alu_ri(cpu, in, op, 4);                                           \
	}                                                                            \
	static void bt_op_##name##_ri8(struct bt_cpu *cpu, const struct bt_insn *in) \
	{                                                                            \
		bt_alu_ri(cpu, in, op, 8);                                           \
	}
BT_ALU_RR(add, 0)
BT_ALU_RR(or, 1)
BT_ALU_RR(adc, 2)
BT_ALU_RR(sbb, 3)
BT_ALU_RR(and, 4)
BT_ALU_RR(sub, 5)
BT_ALU_RR(xor, 6)
BT_ALU_RR(cmp, 7)

const bt_handler_fn bt_ops_alu_rr[2][8] = {
	{ bt_op_add_rr4, bt_op_or_rr4, bt_op_adc_rr4, bt_op_sbb_rr4, bt_op_and_rr4, bt_op_sub_rr4,
	  bt_op_xor_rr4, bt_op_cmp_rr4 },
	{ bt_op_add_rr8, bt_op_or_rr8, bt_op_adc_rr8, bt_op_sbb_rr8, bt_op_and_rr8, bt_op_sub_rr8,
	  bt_op_xor_rr8, bt_op_cmp_rr8 },
};

const bt_handler_fn bt_ops_alu_ri[2][8] = {
	{ bt_op_add_ri4, bt_op_or_ri4, bt_op_adc_ri4, bt_op_sbb_ri4, bt_op_and_ri4, bt_op_sub_ri4,
	  bt_op_xor_ri4, bt_op_cmp_ri4 },
	{ bt_op_add_ri8, bt_op_or_ri8, bt_op_adc_ri8, bt_op_sbb_ri8, bt_op_and_ri8, bt_op_sub_ri8,
	  bt_op_xor_ri8, bt_op_cmp_ri8 },
};

/* IMUL Gv,Ev(,imm) with a 4- or 8-byte operand: as bt_op_imul. */
static inline __attribute__((always_inline)) void bt_imul_n(struct bt_cpu *cpu,
							    const struct bt_insn *in, unsigned sz)
{
	u64 b = bt_rm_read(cpu, in, sz);
	u64 a = in->opcode == 0x1af ? cpu->st.gpr[in->reg] : in->imm;
	u64 lo;
	bool ovf;

	if (sz == 8) {
		s64 p;

		ovf = __builtin_mul_overflow((s64)a, (s64)b, &p);
		lo = (u64)p;
	} else {
		s64 p = (s64)(s32)a * (s32)b;

		lo = (u32)p;
		ovf = p != (s32)p;
	}
	bt_flags_set_lazy(cpu, BT_LF_RES, sz, lo, ovf ? BT_CF | BT_OF : 0, 0);
	cpu->st.gpr[in->reg] = lo;
}

void bt_op_imul4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_imul_n(cpu, in, 4);
}

void bt_op_imul8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_imul_n(cpu, in, 8);
}
