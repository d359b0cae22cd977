// SPDX-License-Identifier: MIT
/*
 * Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR with counts
 * 1, CL and imm8, masked to 5 bits or 6 for 64-bit operands, RCL/RCR of
 * bytes and words modulo 9/17), SHLD/SHRD, BT/BTS/BTR/BTC (register and
 * immediate bit offsets; a register offset addresses memory beyond the
 * operand, SDM vol. 2A "BT"), BSF/BSR (destination unchanged on a zero
 * source, as AMD documents and Linux relies on), TZCNT/LZCNT/POPCNT (F3
 * forms, only when the CPUID model advertises them), BSWAP and MOVBE.
 */
#include "bt-fallback/ops/ops.h"

static u64 bt_shift(struct bt_cpu *cpu, unsigned op, unsigned size, u64 v, unsigned count)
{
	unsigned bits = size * 8;
	u64 m = bt_mask(size), s = bt_sign(size), r, f;
	bool cf, of;

	count &= size == 8 ? 0x3f : 0x1f;
	if (!count)
		return v;
	v &= m;
	f = op < 4 ? bt_get_rflags(cpu) & BT_ARITH : 0; /* rotates keep SF ZF AF PF */
	switch (op) {
	case 0: /* ROL */
		r = (v << (count % bits)) | (count % bits ? v >> (bits - count % bits) : 0);
		r &= m;
		cf = r & 1;
		of = !!(r & s) ^ cf;
		f = (f & ~(u64)(BT_CF | BT_OF)) | (cf ? BT_CF : 0) | (of ? BT_OF : 0);
		bt_flags_set(cpu, BT_ARITH, f);
		return r;
	case 1: /* ROR */
		r = (v >> (count % bits)) | (count % bits ? v << (bits - count % bits) : 0);
		r &= m;
		cf = r & s;
		of = !!(r & s) ^ !!(r & (s >> 1));
		f = (f & ~(u64)(BT_CF | BT_OF)) | (cf ? BT_CF : 0) | (of ? BT_OF : 0);
		bt_flags_set(cpu, BT_ARITH, f);
		return r;
	case 2:	  /* RCL */
	case 3: { /* RCR */
		unsigned n = size < 4 ? count % (bits + 1) : count;
		bool c = f & BT_CF;
		unsigned __int128 x = ((unsigned __int128)c << bits) | v, mm;

		mm = ((unsigned __int128)1 << (bits + 1)) - 1;
		of = !!(v & s) ^ c; /* RCR: from the operand before the rotate */
		if (n) {
			if (op == 2)
				x = ((x << n) | (x >> (bits + 1 - n))) & mm;
			else
				x = ((x >> n) | (x << (bits + 1 - n))) & mm;
		}
		r = (u64)x & m;
		cf = (x >> bits) & 1;
		if (op == 2)
			of = !!(r & s) ^ cf;
		f = (f & ~(u64)(BT_CF | BT_OF)) | (cf ? BT_CF : 0) | (of ? BT_OF : 0);
		bt_flags_set(cpu, BT_ARITH, f);
		return r;
	}
	case 4:
	case 6: /* SHL/SAL */
		r = count < 64 ? (v << count) & m : 0;
		cf = count <= bits ? (v >> (bits - count)) & 1 : 0;
		of = !!(r & s) ^ cf;
		break;
	case 5: /* SHR */
		r = count < 64 ? v >> count : 0;
		cf = count <= 64 ? (v >> (count - 1)) & 1 : 0;
		of = v & s;
		break;
	default: { /* SAR */
		s64 sv = bt_sext(v, size);
		unsigned c = count < 64 ? count : 63;

		r = (u64)(sv >> c) & m;
		cf = (sv >> (count - 1 < 63 ? count - 1 : 63)) & 1;
		of = false;
		break;
	}
	}
	f = bt_szp(size, r) | (cf ? BT_CF : 0) | (of ? BT_OF : 0);
	bt_flags_set(cpu, BT_ARITH, f);
	return r;
}

/* C0/C1 (imm8), D0/D1 (1), D2/D3 (CL). */
void bt_op_grp2(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, count;
	u64 v = bt_rm_read_rmw(cpu, in, sz);

	if (in->opcode <= 0xc1)
		count = (unsigned)in->imm & 0xff;
	else if (in->opcode <= 0xd1)
		count = 1;
	else
		count = (unsigned)bt_get_reg(cpu, CPU_RCX, 1);
	bt_rm_write(cpu, in, sz, bt_shift(cpu, in->modrm_reg, sz, v, count));
}

/* 0F A4/A5 SHLD, 0F AC/AD SHRD. */
void bt_op_shd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, bits = sz * 8, count;
	u64 d = bt_rm_read_rmw(cpu, in, sz), s = bt_get_reg(cpu, in->reg, sz), r, f;
	bool left = in->opcode < 0x1a8, cf;

	count = (in->opcode & 1) ? (unsigned)bt_get_reg(cpu, CPU_RCX, 1) : (unsigned)in->imm;
	count &= sz == 8 ? 0x3f : 0x1f;
	if (!count) {
		bt_rm_write(cpu, in, sz, d); /* a memory destination is still written */
		return;
	}
	if (sz == 8) {
		r = left ? (d << count) | (s >> (64 - count)) : (d >> count) | (s << (64 - count));
		cf = left ? (d >> (64 - count)) & 1 : (d >> (count - 1)) & 1;
	} else {
		/* d:s:d, so 16-bit counts above 16 shift the destination in again (as AMD does). */
		unsigned __int128 x =
			((unsigned __int128)d << (2 * bits)) | ((unsigned __int128)s << bits) | d;

		if (left) {
			r = (u64)((x << count) >> (2 * bits)) & bt_mask(sz);
			cf = (u64)(x >> (3 * bits - count)) & 1;
		} else {
			r = (u64)(x >> count) & bt_mask(sz);
			cf = (u64)(x >> (count - 1)) & 1;
		}
	}
	f = bt_szp(sz, r) | (cf ? BT_CF : 0);
	if ((r ^ d) & bt_sign(sz))
		f |= BT_OF;
	bt_flags_set(cpu, BT_ARITH, f);
	bt_rm_write(cpu, in, sz, r);
}

/* BT family core: op 0 BT, 1 BTS, 2 BTR, 3 BTC. */
static void bt_bitop(struct bt_cpu *cpu, const struct bt_insn *in, unsigned op, u64 off,
		     bool reg_off)
{
	unsigned sz = in->opsz, bits = sz * 8;
	u64 v, bit, nv;

	if (in->ea_kind == BT_EA_NONE) {
		bit = off & (bits - 1);
		v = bt_get_reg(cpu, in->rm, sz);
	} else {
		s64 so = reg_off ? bt_sext(off, sz) : (s64)(off & (bits - 1));
		u64 ea = bt_ea_off(cpu, in);

		ea += (u64)((so >> (__builtin_ctz(bits))) * (s64)sz);
		ea &= bt_mask(in->asz);
		bit = (u64)so & (bits - 1);
		cpu->last_off = ea;
		v = op ? bt_ld_rmw(cpu, in->seg, ea, sz) : bt_ld(cpu, in->seg, ea, sz);
	}
	nv = v;
	if (op == 1)
		nv |= 1ull << bit;
	else if (op == 2)
		nv &= ~(1ull << bit);
	else if (op == 3)
		nv ^= 1ull << bit;
	if (op) {
		if (in->ea_kind == BT_EA_NONE)
			bt_set_reg(cpu, in->rm, sz, nv);
		else
			bt_st(cpu, in->seg, cpu->last_off, sz, nv);
	}
	bt_flags_set(cpu, BT_CF, (v >> bit) & 1 ? BT_CF : 0);
}

/* 0F A3/AB/B3/BB: BT/BTS/BTR/BTC Ev,Gv. */
void bt_op_bt_reg(struct bt_cpu *cpu, const struct bt_insn *in)
{
	static const u8 ops[4] = { 0, 1, 2, 3 };

	bt_bitop(cpu, in, ops[(in->opcode >> 3) & 3], bt_get_reg(cpu, in->reg, in->opsz), true);
}

/* 0F BA: group 8, BT/BTS/BTR/BTC Ev,Ib. */
void bt_op_grp8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	if (in->modrm_reg < 4)
		bt_raise_ud(cpu);
	bt_bitop(cpu, in, in->modrm_reg - 4, in->imm & 0xff, false);
}

/* 0F BC/BD: BSF/BSR, or TZCNT/LZCNT with F3 when advertised. */
void bt_op_bsf_bsr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, bits = sz * 8;
	u64 v = bt_rm_read(cpu, in, sz), r;
	bool bsr = in->opcode == 0x1bd;

	if (in->rep == BT_REP_F3 && bt_has(cpu, bsr ? CPU_F_ABM : CPU_F_BMI1)) {
		if (!v)
			r = bits;
		else
			r = bsr ? (u64)(__builtin_clzll(v) - (64 - bits)) : (u64)__builtin_ctzll(v);
		bt_flags_set(cpu, BT_CF | BT_ZF, (v ? 0 : BT_CF) | (r ? 0 : BT_ZF));
		bt_set_reg(cpu, in->reg, sz, r);
		return;
	}
	if (!v) {
		bt_flags_set(cpu, BT_ZF, BT_ZF); /* destination unchanged */
		return;
	}
	r = bsr ? (u64)(63 - __builtin_clzll(v)) : (u64)__builtin_ctzll(v);
	bt_flags_set(cpu, BT_ZF, 0);
	bt_set_reg(cpu, in->reg, sz, r);
}

/* F3 0F B8: POPCNT. */
void bt_op_popcnt(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 v;

	if (in->rep != BT_REP_F3 || !bt_has(cpu, CPU_F_POPCNT))
		bt_raise_ud(cpu);
	v = bt_rm_read(cpu, in, in->opsz);
	bt_flags_set(cpu, BT_ARITH, v ? 0 : BT_ZF);
	bt_set_reg(cpu, in->reg, in->opsz, (u64)__builtin_popcountll(v));
}

/* 0F C8-CF: BSWAP (16-bit operand size: the result is undefined, AMD clears it). */
void bt_op_bswap(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned r = (in->opcode & 7) | (in->rm & 8);
	u64 v = bt_get_reg(cpu, r, in->opsz);

	if (in->opsz == 8)
		bt_set_reg(cpu, r, 8, __builtin_bswap64(v));
	else if (in->opsz == 4)
		bt_set_reg(cpu, r, 4, __builtin_bswap32((u32)v));
	else
		bt_set_reg(cpu, r, 2, 0);
}

/* 0F 38 F0/F1: MOVBE Gv,Mv / Mv,Gv (memory operand only; F2 selects CRC32, not modelled). */
void bt_op_movbe(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz;
	u64 v;

	if (in->rep == BT_REP_F2) {
		bt_op_crc32(cpu, in); /* F2 0F 38 F0/F1 (SSE4.2) */
		return;
	}
	if (!bt_has(cpu, CPU_F_MOVBE) || in->ea_kind == BT_EA_NONE || in->rep == BT_REP_F3)
		bt_raise_ud(cpu);
	if (in->opcode == 0x2f0) {
		v = bt_rm_read(cpu, in, sz);
		v = sz == 8 ? __builtin_bswap64(v) :
		    sz == 4 ? __builtin_bswap32((u32)v) :
			      __builtin_bswap16((u16)v);
		bt_set_reg(cpu, in->reg, sz, v);
	} else {
		v = bt_get_reg(cpu, in->reg, sz);
		v = sz == 8 ? __builtin_bswap64(v) :
		    sz == 4 ? __builtin_bswap32((u32)v) :
			      __builtin_bswap16((u16)v);
		bt_rm_write(cpu, in, sz, v);
	}
}

/* ------------------------------------------- specialised forms (bt_ops_specialise) */

/*
 * SHL/SHR/SAL/SAR of a 4- or 8-byte register by imm8, 1 or CL (C1, D1, D3 /4-/7): as bt_shift,
 * where a masked count is always below the operand width.
 */
static inline __attribute__((always_inline)) void bt_shift_r(struct bt_cpu *cpu,
							     const struct bt_insn *in, unsigned sz)
{
	unsigned bits = sz * 8, count, op = in->modrm_reg;
	u64 m = bt_mask(sz), s = bt_sign(sz), v = cpu->st.gpr[in->rm] & m, r;
	bool cf, of;

	if (in->opcode == 0xc1)
		count = (unsigned)in->imm;
	else if (in->opcode == 0xd1)
		count = 1;
	else
		count = (unsigned)cpu->st.gpr[CPU_RCX];
	count &= sz == 8 ? 0x3f : 0x1f;
	if (!count) {
		cpu->st.gpr[in->rm] = v; /* flags unchanged; a 32-bit register is zero-extended */
		return;
	}
	switch (op) {
	case 5: /* SHR */
		r = v >> count;
		cf = (v >> (count - 1)) & 1;
		of = v & s;
		break;
	case 7: { /* SAR */
		s64 sv = bt_sext(v, sz);

		r = (u64)(sv >> count) & m;
		cf = (sv >> (count - 1)) & 1;
		of = false;
		break;
	}
	default: /* 4, 6: SHL/SAL */
		r = (v << count) & m;
		cf = (v >> (bits - count)) & 1;
		of = !!(r & s) ^ cf;
		break;
	}
	bt_flags_set_lazy(cpu, BT_LF_RES, sz, r, (cf ? BT_CF : 0) | (of ? BT_OF : 0), 0);
	cpu->st.gpr[in->rm] = r;
}

void bt_op_shift_r4(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_shift_r(cpu, in, 4);
}

void bt_op_shift_r8(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_shift_r(cpu, in, 8);
}
