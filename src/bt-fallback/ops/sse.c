// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 subset on the XMM registers held in the FXSAVE image of struct
 * cpu_state: the moves (MOVUPS/MOVUPD/MOVAPS/MOVAPD, MOVSS/MOVSD, MOVD/
 * MOVQ, MOVDQA/MOVDQU), the bitwise ops (ANDPS/ANDNPS/ORPS/XORPS and the PD
 * forms, PAND/PANDN/POR/PXOR), integer add/sub (PADDB/W/D/Q, PSUBB/W/D/Q),
 * compares (PCMPEQB/W/D, PCMPGTB/W/D), min/max (PMINUB PMAXUB PMINSW
 * PMAXSW), saturating add/sub, PAVGB/W, PMULLW/PMULHW/PMULHUW/PMULUDQ,
 * PSADBW, packs (PACKSSWB PACKUSWB PACKSSDW), shifts by XMM and by imm8
 * (PSRL/PSRA/PSLL W/D/Q, PSRLDQ/PSLLDQ), PMADDWD, PINSRW/PEXTRW, PMOVMSKB,
 * MOVMSKPS/PD, UNPCKL/HPS/PD, SHUFPS/PD, MOVLPS/MOVHPS/MOVHLPS/MOVLHPS/
 * MOVLPD/MOVHPD, MOVNTPS/MOVNTDQ/MOVNTI, PSHUFD/PSHUFHW/PSHUFLW, the unpacks
 * (PUNPCKL/H BW/WD/DQ/QDQ), and group 15 (FXSAVE, FXRSTOR, LDMXCSR,
 * STMXCSR, LFENCE, MFENCE, SFENCE), MASKMOVDQU, MOVQ2DQ/MOVDQ2Q. SDM
 * vol. 2 instruction pages; mandatory prefixes per vol. 2A 2.1.2 (F3/F2 take precedence over 66); 16-byte
 * alignment of legacy-SSE memory operands except the U and scalar forms
 * (#GP(0), vol. 1 table 13-?); CR0.EM or !CR4.OSFXSR: #UD, CR0.TS: #NM.
 *
 * Floating point is in ssefp.c, the MMX-register forms in mmx.c. Not
 * implemented: SSE3..SSE4.2 (not advertised, so #UD).
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

/* Which mandatory prefix selects the form: 0 none, 1 66, 2 F3, 3 F2. */
static unsigned bt_sse_pfx(const struct bt_insn *in)
{
	if (in->rep == BT_REP_F3)
		return 2;
	if (in->rep == BT_REP_F2)
		return 3;
	return in->p66 ? 1 : 0;
}

static u8 *bt_xmm(struct bt_cpu *cpu, unsigned r)
{
	return cpu->st.fx.xmm[r & 15];
}

static void bt_sse_check(struct bt_cpu *cpu)
{
	if (!bt_has(cpu, CPU_F_SSE2) || (cpu->st.cr0 & 4) || !(cpu->st.cr4 & 0x200))
		bt_raise_ud(cpu); /* CR0.EM, or CR4.OSFXSR clear */
	if (cpu->st.cr0 & 8)
		bt_raise(cpu, BT_EXC_NM, 0, false); /* CR0.TS */
}

/* Read size bytes of the r/m operand (XMM register or memory) into v (zero-filled to 16). */
static void bt_sse_read(struct bt_cpu *cpu, const struct bt_insn *in, u8 v[16], unsigned size,
			bool aligned)
{
	u64 off, lo, hi = 0;

	memset(v, 0, 16);
	if (in->ea_kind == BT_EA_NONE) {
		memcpy(v, bt_xmm(cpu, in->rm), size);
		return;
	}
	off = bt_ea_off(cpu, in);
	if (aligned && (bt_ea(cpu, in) & 15))
		bt_raise_gp0(cpu);
	if (size <= 8) {
		lo = bt_ld(cpu, in->seg, off, size);
		memcpy(v, &lo, size);
		return;
	}
	lo = bt_ld(cpu, in->seg, off, 8);
	hi = bt_ld(cpu, in->seg, (off + 8) & bt_mask(in->asz), 8);
	memcpy(v, &lo, 8);
	memcpy(v + 8, &hi, 8);
}

static void bt_sse_write_mem(struct bt_cpu *cpu, const struct bt_insn *in, const u8 v[16],
			     unsigned size, bool aligned)
{
	u64 off = bt_ea_off(cpu, in), lo = 0, hi;

	if (aligned && (bt_ea(cpu, in) & 15))
		bt_raise_gp0(cpu);
	if (size <= 8) {
		memcpy(&lo, v, size);
		bt_st(cpu, in->seg, off, size, lo);
		return;
	}
	bt_probe_st(cpu, in->seg, off, 16);
	memcpy(&lo, v, 8);
	memcpy(&hi, v + 8, 8);
	bt_st(cpu, in->seg, off, 8, lo);
	bt_st(cpu, in->seg, (off + 8) & bt_mask(in->asz), 8, hi);
}

/* 0F 10/11 MOVUPS/MOVUPD/MOVSS/MOVSD, 0F 28/29 MOVAPS/MOVAPD. */
static void bt_op_sse_mov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), op = in->opcode & 0xff, size = 16;
	bool store = op & 1, aligned = op >= 0x28;
	u8 v[16];

	bt_sse_check(cpu);
	if (aligned && pfx >= 2)
		bt_raise_ud(cpu);
	if (pfx >= 2)
		size = pfx == 2 ? 4 : 8; /* MOVSS / MOVSD */
	if (!store) {
		bt_sse_read(cpu, in, v, size, aligned);
		if (size == 16 || in->ea_kind != BT_EA_NONE)
			memcpy(bt_xmm(cpu, in->reg), v, 16); /* a scalar load zeroes the rest */
		else
			memcpy(bt_xmm(cpu, in->reg), v, size); /* reg-reg scalar: low part only */
		return;
	}
	memcpy(v, bt_xmm(cpu, in->reg), 16);
	if (in->ea_kind == BT_EA_NONE)
		memcpy(bt_xmm(cpu, in->rm), v, size);
	else
		bt_sse_write_mem(cpu, in, v, size, aligned);
}

/* 66 0F 6F MOVDQA, F3 0F 6F MOVDQU, 66/F3 0F 7F (stores), F3 0F 7E MOVQ, 66 0F D6 MOVQ. */
static void bt_op_sse_movdq(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), op = in->opcode & 0xff;
	u8 v[16];

	bt_sse_check(cpu);
	if (op == 0x7e && pfx == 2) { /* MOVQ xmm, xmm/m64 */
		bt_sse_read(cpu, in, v, 8, false);
		memcpy(bt_xmm(cpu, in->reg), v, 16);
		return;
	}
	if (op == 0xd6 && pfx >= 2) { /* F3: MOVQ2DQ xmm, mm; F2: MOVDQ2Q mm, xmm */
		u64 q;

		if (in->ea_kind != BT_EA_NONE)
			bt_raise_ud(cpu);
		bt_mmx_check(cpu);
		if (pfx == 2) {
			q = bt_mmx_get(cpu, in->rm);
			memset(v, 0, 16);
			memcpy(v, &q, 8);
			bt_mmx_enter(cpu);
			memcpy(bt_xmm(cpu, in->reg), v, 16);
		} else {
			memcpy(&q, bt_xmm(cpu, in->rm), 8);
			bt_mmx_enter(cpu);
			bt_mmx_set(cpu, in->reg, q);
		}
		return;
	}
	if (op == 0xd6) { /* MOVQ xmm/m64, xmm */
		if (pfx != 1)
			bt_raise_ud(cpu);
		memset(v, 0, 16);
		memcpy(v, bt_xmm(cpu, in->reg), 8);
		if (in->ea_kind == BT_EA_NONE)
			memcpy(bt_xmm(cpu, in->rm), v, 16);
		else
			bt_sse_write_mem(cpu, in, v, 8, false);
		return;
	}
	if (pfx != 1 && pfx != 2)
		bt_raise_ud(cpu); /* the MMX forms are not implemented */
	if (op == 0x6f) {
		bt_sse_read(cpu, in, v, 16, pfx == 1);
		memcpy(bt_xmm(cpu, in->reg), v, 16);
		return;
	}
	memcpy(v, bt_xmm(cpu, in->reg), 16);
	if (in->ea_kind == BT_EA_NONE)
		memcpy(bt_xmm(cpu, in->rm), v, 16);
	else
		bt_sse_write_mem(cpu, in, v, 16, pfx == 1);
}

/* 66 0F 6E MOVD/MOVQ xmm, r/m; 66 0F 7E MOVD/MOVQ r/m, xmm. */
static void bt_op_sse_movd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = in->rexw ? 8 : 4;
	u8 v[16] = { 0 };
	u64 x;

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) == 2 && (in->opcode & 0xff) == 0x7e) {
		bt_op_sse_movdq(cpu, in);
		return;
	}
	if (bt_sse_pfx(in) != 1)
		bt_raise_ud(cpu);
	if ((in->opcode & 0xff) == 0x6e) {
		x = bt_rm_read(cpu, in, size);
		memcpy(v, &x, size);
		memcpy(bt_xmm(cpu, in->reg), v, 16);
	} else {
		x = 0;
		memcpy(&x, bt_xmm(cpu, in->reg), size);
		bt_rm_write(cpu, in, size, x);
	}
}

/* Two-operand packed integer and bitwise ops: dst = dst op src (16 bytes, aligned memory). */
static void bt_op_sse_alu(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, pfx = bt_sse_pfx(in);
	u8 s[16], *d = bt_xmm(cpu, in->reg), r[16];
	bool ps = op >= 0x54 && op <= 0x57; /* ANDPS..XORPS also without a prefix */

	bt_sse_check(cpu);
	if (ps ? pfx > 1 : pfx != 1)
		bt_raise_ud(cpu);
	bt_sse_read(cpu, in, s, 16, true);
	for (unsigned i = 0; i < 16; i++) {
		switch (op) {
		case 0x54:
		case 0xdb:
			r[i] = d[i] & s[i];
			break;
		case 0x55:
		case 0xdf:
			r[i] = (u8)(~d[i] & s[i]);
			break;
		case 0x56:
		case 0xeb:
			r[i] = d[i] | s[i];
			break;
		case 0x57:
		case 0xef:
			r[i] = d[i] ^ s[i];
			break;
		default:
			r[i] = 0;
			break;
		}
	}
	switch (op) {
	case 0xfc:
	case 0xfd:
	case 0xfe:
	case 0xd4:
	case 0xf8:
	case 0xf9:
	case 0xfa:
	case 0xfb: {
		static const u8 width[] = { [0xfc - 0xf8] = 1, [0xfd - 0xf8] = 2, [0xfe - 0xf8] = 4,
					    [0xf8 - 0xf8] = 1, [0xf9 - 0xf8] = 2, [0xfa - 0xf8] = 4,
					    [0xfb - 0xf8] = 8 };
		unsigned w = op == 0xd4 ? 8 : width[op - 0xf8];
		bool sub = op >= 0xf8 && op <= 0xfb;

		for (unsigned i = 0; i < 16; i += w) {
			u64 a = 0, b = 0, x;

			memcpy(&a, d + i, w);
			memcpy(&b, s + i, w);
			x = sub ? a - b : a + b;
			memcpy(r + i, &x, w);
		}
		break;
	}
	case 0x74:
	case 0x75:
	case 0x76: {
		unsigned w = 1u << (op - 0x74);

		for (unsigned i = 0; i < 16; i += w)
			memset(r + i, memcmp(d + i, s + i, w) ? 0 : 0xff, w);
		break;
	}
	case 0x60:
	case 0x61:
	case 0x62:
	case 0x6c:
	case 0x68:
	case 0x69:
	case 0x6a:
	case 0x6d: {
		unsigned w = op == 0x6c || op == 0x6d ? 8 : 1u << ((op & 7) % 4);
		unsigned base = (op >= 0x68 && op <= 0x6a) || op == 0x6d ? 8 : 0;

		/* Interleave the low (or high) halves: d0 s0 d1 s1 ... */
		for (unsigned i = 0, k = 0; k < 16; i += w, k += 2 * w) {
			memcpy(r + k, d + base + i, w);
			memcpy(r + k + w, s + base + i, w);
		}
		break;
	}
	default:
		break;
	}
	memcpy(d, r, 16);
}

/* 66 0F 70 PSHUFD, F3 0F 70 PSHUFHW, F2 0F 70 PSHUFLW. */
static void bt_op_sse_pshuf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), imm = in->imm & 0xff;
	u8 s[16], r[16];

	bt_sse_check(cpu);
	if (pfx == 0)
		bt_raise_ud(cpu); /* PSHUFW (MMX) */
	bt_sse_read(cpu, in, s, 16, true);
	memcpy(r, s, 16);
	for (unsigned i = 0; i < 4; i++) {
		unsigned sel = (imm >> (2 * i)) & 3;

		if (pfx == 1)
			memcpy(r + 4 * i, s + 4 * sel, 4);
		else if (pfx == 2)
			memcpy(r + 8 + 2 * i, s + 8 + 2 * sel, 2);
		else
			memcpy(r + 2 * i, s + 2 * sel, 2);
	}
	memcpy(bt_xmm(cpu, in->reg), r, 16);
}

/* 66 0F D7 PMOVMSKB r32, xmm. */
static void bt_op_sse_pmovmskb(struct bt_cpu *cpu, const struct bt_insn *in)
{
	const u8 *s;
	u32 m = 0;

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	s = bt_xmm(cpu, in->rm);
	for (unsigned i = 0; i < 16; i++)
		m |= (u32)(s[i] >> 7) << i;
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, m);
}

static s64 bt_sse_lane(const u8 *p, unsigned w, bool sign)
{
	u64 v = 0;

	memcpy(&v, p, w);
	return sign ? bt_sext(v, w) : (s64)v;
}

static s64 bt_sse_sat(s64 v, unsigned w, bool sign)
{
	s64 lo = sign ? -(1ll << (w * 8 - 1)) : 0;
	s64 hi = sign ? (1ll << (w * 8 - 1)) - 1 : (1ll << (w * 8)) - 1;

	return v < lo ? lo : v > hi ? hi : v;
}

/* Shift every w-byte lane of d by count (logical left/right or arithmetic right). */
static void bt_sse_shift(u8 *d, unsigned w, u64 count, int kind)
{
	for (unsigned i = 0; i < 16; i += w) {
		u64 v = 0;

		memcpy(&v, d + i, w);
		if (kind == 0) /* PSRL */
			v = count >= w * 8 ? 0 : v >> count;
		else if (kind == 1) /* PSRA */
			v = (u64)(bt_sext(v, w) >> (count >= w * 8 ? w * 8 - 1 : count));
		else /* PSLL */
			v = count >= w * 8 ? 0 : v << count;
		memcpy(d + i, &v, w);
	}
}

/* Lane-wise SSE2 integer ops: min/max, signed compares, saturating add/sub, averages,
 * multiplies, packs, PSADBW and the shifts by an XMM count (66 prefix only). */
static void bt_op_sse_lanes(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff;
	u8 s[16], *d = bt_xmm(cpu, in->reg), r[16];

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1)
		bt_raise_ud(cpu); /* MMX forms */
	bt_sse_read(cpu, in, s, 16, true);
	memcpy(r, d, 16);
	switch (op) {
	case 0xda:
	case 0xde:
	case 0xea:
	case 0xee: { /* PMINUB PMAXUB PMINSW PMAXSW */
		unsigned w = op >= 0xea ? 2 : 1;
		bool sign = w == 2, max = op == 0xde || op == 0xee;

		for (unsigned i = 0; i < 16; i += w) {
			s64 a = bt_sse_lane(d + i, w, sign), b = bt_sse_lane(s + i, w, sign);

			memcpy(r + i, max ? (a > b ? d + i : s + i) : (a < b ? d + i : s + i), w);
		}
		break;
	}
	case 0x64:
	case 0x65:
	case 0x66: { /* PCMPGTB/W/D */
		unsigned w = 1u << (op - 0x64);

		for (unsigned i = 0; i < 16; i += w)
			memset(r + i,
			       bt_sse_lane(d + i, w, true) > bt_sse_lane(s + i, w, true) ? 0xff : 0,
			       w);
		break;
	}
	case 0xd8:
	case 0xd9:
	case 0xdc:
	case 0xdd: /* PSUBUS, PADDUS */
	case 0xe8:
	case 0xe9:
	case 0xec:
	case 0xed: { /* PSUBS, PADDS */
		unsigned w = (op & 1) ? 2 : 1;
		bool sign = op >= 0xe8, add = (op & 4) != 0;

		for (unsigned i = 0; i < 16; i += w) {
			s64 a = bt_sse_lane(d + i, w, sign), b = bt_sse_lane(s + i, w, sign);
			s64 x = bt_sse_sat(add ? a + b : a - b, w, sign);

			memcpy(r + i, &x, w);
		}
		break;
	}
	case 0xe0:
	case 0xe3: { /* PAVGB, PAVGW */
		unsigned w = op == 0xe0 ? 1 : 2;

		for (unsigned i = 0; i < 16; i += w) {
			s64 x = (bt_sse_lane(d + i, w, false) + bt_sse_lane(s + i, w, false) + 1) >>
				1;

			memcpy(r + i, &x, w);
		}
		break;
	}
	case 0xd5:
	case 0xe5:
	case 0xe4: /* PMULLW, PMULHW, PMULHUW */
		for (unsigned i = 0; i < 16; i += 2) {
			bool sign = op != 0xe4;
			s64 x = bt_sse_lane(d + i, 2, sign) * bt_sse_lane(s + i, 2, sign);

			if (op != 0xd5)
				x >>= 16;
			memcpy(r + i, &x, 2);
		}
		break;
	case 0xf4: /* PMULUDQ */
		for (unsigned i = 0; i < 16; i += 8) {
			u64 x = (u64)(u32)bt_sse_lane(d + i, 4, false) *
				(u32)bt_sse_lane(s + i, 4, false);

			memcpy(r + i, &x, 8);
		}
		break;
	case 0x63:
	case 0x67:
	case 0x6b: { /* PACKSSWB, PACKUSWB, PACKSSDW */
		unsigned w = op == 0x6b ? 4 : 2, n = 16 / w;
		bool usat = op == 0x67;

		for (unsigned i = 0; i < 2 * n; i++) {
			const u8 *src = i < n ? d + i * w : s + (i - n) * w;
			s64 x = bt_sse_sat(bt_sse_lane(src, w, true), w / 2, !usat);

			memcpy(r + i * (w / 2), &x, w / 2);
		}
		break;
	}
	case 0xf6: { /* PSADBW */
		memset(r, 0, 16);
		for (unsigned h = 0; h < 2; h++) {
			u64 sum = 0;

			for (unsigned i = 0; i < 8; i++) {
				int a = d[8 * h + i], b = s[8 * h + i];

				sum += (u64)(a > b ? a - b : b - a);
			}
			memcpy(r + 8 * h, &sum, 8);
		}
		break;
	}
	default: { /* D1-D3 PSRL, E1-E2 PSRA, F1-F3 PSLL by the low quadword of the source */
		u64 count;
		unsigned w = 1u << (op & 3);

		memcpy(&count, s, 8);
		bt_sse_shift(r, w, count, op < 0xe0 ? 0 : op < 0xf0 ? 1 : 2);
		break;
	}
	}
	memcpy(d, r, 16);
}

/* 66 0F 71/72/73: shifts by an immediate (register operand only); 73 /3 /7 PSRLDQ/PSLLDQ. */
static void bt_op_sse_shimm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, r = in->modrm_reg, count = in->imm & 0xff;
	unsigned w = op == 0x71 ? 2 : op == 0x72 ? 4 : 8;
	u8 *d, t[32] = { 0 };

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	d = bt_xmm(cpu, in->rm);
	if (op == 0x73 && (r == 3 || r == 7)) {
		unsigned n = count > 16 ? 16 : count;

		if (r == 3) { /* PSRLDQ: bytes move down */
			memcpy(t, d, 16);
			memcpy(d, t + n, 16);
		} else {
			memcpy(t + 16, d, 16);
			memcpy(d, t + 16 - n, 16);
		}
		return;
	}
	if (r == 2)
		bt_sse_shift(d, w, count, 0);
	else if (r == 4 && op != 0x73)
		bt_sse_shift(d, w, count, 1);
	else if (r == 6)
		bt_sse_shift(d, w, count, 2);
	else
		bt_raise_ud(cpu);
}

/* 0F 50 MOVMSKPS / 66 0F 50 MOVMSKPD r32, xmm. */
static void bt_op_sse_movmsk(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), w = pfx ? 8 : 4;
	const u8 *s;
	u32 m = 0;

	bt_sse_check(cpu);
	if (pfx > 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	s = bt_xmm(cpu, in->rm);
	for (unsigned i = 0; i < 16 / w; i++)
		m |= (u32)(s[i * w + w - 1] >> 7) << i;
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, m);
}

/* 0F 14/15 UNPCKLPS/UNPCKHPS, 66: UNPCKLPD/UNPCKHPD; 0F C6 SHUFPS, 66: SHUFPD. */
static void bt_op_sse_shuf_fp(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), op = in->opcode & 0xff, w = pfx ? 8 : 4, imm = in->imm;
	u8 s[16], *d = bt_xmm(cpu, in->reg), r[16];

	bt_sse_check(cpu);
	if (pfx > 1)
		bt_raise_ud(cpu);
	bt_sse_read(cpu, in, s, 16, true);
	if (op == 0xc6) {
		if (w == 4) {
			memcpy(r, d + 4 * (imm & 3), 4);
			memcpy(r + 4, d + 4 * ((imm >> 2) & 3), 4);
			memcpy(r + 8, s + 4 * ((imm >> 4) & 3), 4);
			memcpy(r + 12, s + 4 * ((imm >> 6) & 3), 4);
		} else {
			memcpy(r, d + 8 * (imm & 1), 8);
			memcpy(r + 8, s + 8 * ((imm >> 1) & 1), 8);
		}
	} else {
		unsigned base = op == 0x15 ? 8 : 0;

		for (unsigned i = 0, k = 0; k < 16; i += w, k += 2 * w) {
			memcpy(r + k, d + base + i, w);
			memcpy(r + k + w, s + base + i, w);
		}
	}
	memcpy(d, r, 16);
}

/* 0F 12/13/16/17: MOVLPS/MOVHPS (and MOVHLPS/MOVLHPS), 66: MOVLPD/MOVHPD (memory only). */
static void bt_op_sse_movlh(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), op = in->opcode & 0xff, half = op >= 0x16 ? 8 : 0;
	u8 v[16], *d = bt_xmm(cpu, in->reg);

	/* F3 0F 12 MOVSLDUP, F3 0F 16 MOVSHDUP, F2 0F 12 MOVDDUP (SSE3). */
	if (((op == 0x12 && pfx >= 2) || (op == 0x16 && pfx == 2))) {
		bt_op_vec_sse3_mov(cpu, in);
		return;
	}
	bt_sse_check(cpu);
	if (pfx > 1 || (pfx == 1 && in->ea_kind == BT_EA_NONE) ||
	    ((op & 1) && in->ea_kind == BT_EA_NONE))
		bt_raise_ud(cpu);
	if (op & 1) { /* store the low or high quadword */
		memcpy(v, d + half, 8);
		bt_sse_write_mem(cpu, in, v, 8, false);
		return;
	}
	if (in->ea_kind == BT_EA_NONE) /* MOVHLPS (12) / MOVLHPS (16) */
		memcpy(d + half, bt_xmm(cpu, in->rm) + (half ? 0 : 8), 8);
	else {
		bt_sse_read(cpu, in, v, 8, false);
		memcpy(d + half, v, 8);
	}
}

/* 66 0F C4 PINSRW xmm, r32/m16, imm8; 66 0F C5 PEXTRW r32, xmm, imm8. */
static void bt_op_sse_pinsrw(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sel = (in->imm & 7) * 2;
	u64 v;

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1)
		bt_raise_ud(cpu);
	if ((in->opcode & 0xff) == 0xc4) {
		v = bt_rm_read(cpu, in, 2);
		memcpy(bt_xmm(cpu, in->reg) + sel, &v, 2);
		return;
	}
	if (in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	v = 0;
	memcpy(&v, bt_xmm(cpu, in->rm) + sel, 2);
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, v);
}

/* 66 0F F5 PMADDWD. */
static void bt_op_sse_pmaddwd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 s[16], *d = bt_xmm(cpu, in->reg), r[16];

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1)
		bt_raise_ud(cpu);
	bt_sse_read(cpu, in, s, 16, true);
	for (unsigned i = 0; i < 16; i += 4) {
		s64 x = bt_sse_lane(d + i, 2, true) * bt_sse_lane(s + i, 2, true) +
			bt_sse_lane(d + i + 2, 2, true) * bt_sse_lane(s + i + 2, 2, true);
		u32 x32 = (u32)x; /* wraps only for 0x8000 * 4 */

		memcpy(r + i, &x32, 4);
	}
	memcpy(d, r, 16);
}

/* 0F 2B MOVNTPS/MOVNTPD, 66 0F E7 MOVNTDQ: aligned stores (non-temporal hint ignored). */
static void bt_op_sse_movnt(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_sse_pfx(in), op = in->opcode & 0xff;
	u8 v[16];

	bt_sse_check(cpu);
	if (in->ea_kind == BT_EA_NONE || pfx > 1 || (op == 0xe7 && pfx != 1))
		bt_raise_ud(cpu);
	memcpy(v, bt_xmm(cpu, in->reg), 16);
	bt_sse_write_mem(cpu, in, v, 16, true);
}

/* 0F C3 MOVNTI m32/64, r (SSE2; the hint is ignored). */
static void bt_op_movnti(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->rexw ? 8 : 4;

	if (!bt_has(cpu, CPU_F_SSE2) || in->ea_kind == BT_EA_NONE || bt_sse_pfx(in))
		bt_raise_ud(cpu);
	bt_rm_write(cpu, in, sz, bt_get_reg(cpu, in->reg, sz));
}

/* 66 0F F7 MASKMOVDQU xmm1, xmm2: register form only. */
static void bt_op_sse_maskmov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 v[16], m[16];

	bt_sse_check(cpu);
	if (bt_sse_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	memcpy(v, bt_xmm(cpu, in->reg), 16);
	memcpy(m, bt_xmm(cpu, in->rm), 16);
	bt_maskmov(cpu, in, v, m, 16);
}

/*
 * 0F AE: group 15. Register forms: LFENCE, MFENCE, SFENCE; F3 /0-/3 RDFSBASE, RDGSBASE,
 * WRFSBASE, WRGSBASE (sys.c). Memory forms: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE, XRSTOR,
 * XSAVEOPT (xsave.c), CLFLUSH and 66 /7 CLFLUSHOPT.
 */
static void bt_op_sse_grp15(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned r = in->modrm_reg, pfx = bt_sse_pfx(in);
	u64 off, lin;
	u32 v;

	if (in->ea_kind == BT_EA_NONE) {
		if (pfx == 2 && r < 4) {
			bt_op_fsgsbase(cpu, in);
			return;
		}
		if (r < 5 || pfx || !bt_has(cpu, CPU_F_SSE2))
			bt_raise_ud(cpu);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* LFENCE, MFENCE, SFENCE */
		return;
	}
	if (r == 7 && (!pfx || (pfx == 1 && bt_has(cpu, CPU_F_CLFLUSHOPT)))) {
		/* CLFLUSH(OPT): coherent memory has nothing to flush; it checks access like a load. */
		bt_probe_ld(cpu, in->seg, bt_ea_off(cpu, in), 1);
		return;
	}
	if (!pfx && (r == 4 || r == 6)) {
		bt_op_xsave(cpu, in);
		return;
	}
	if (!pfx && r == 5) {
		bt_op_xrstor(cpu, in);
		return;
	}
	if (!bt_has(cpu, CPU_F_SSE2) || pfx || r > 3)
		bt_raise_ud(cpu);
	off = bt_ea_off(cpu, in);
	lin = bt_ea(cpu, in);
	if (cpu->st.cr0 & 4)
		bt_raise_ud(cpu);
	if (cpu->st.cr0 & 8)
		bt_raise(cpu, BT_EXC_NM, 0, false);
	switch (r) {
	case 0: { /* FXSAVE: the 512-byte image (SDM vol. 1 table 10-2) */
		u8 img[512];

		if (lin & 15)
			bt_raise_gp0(cpu);
		cpu->st.fx.mxcsr_mask = 0xffff;
		memcpy(img, &cpu->st.fx, 512);
		bt_probe_st(cpu, in->seg, off, 512);
		for (unsigned i = 0; i < 512; i += 8) {
			u64 q;

			memcpy(&q, img + i, 8);
			bt_st(cpu, in->seg, (off + i) & bt_mask(in->asz), 8, q);
		}
		return;
	}
	case 1: { /* FXRSTOR */
		u8 img[512];
		u32 mx;

		if (lin & 15)
			bt_raise_gp0(cpu);
		for (unsigned i = 0; i < 512; i += 8) {
			u64 q = bt_ld(cpu, in->seg, (off + i) & bt_mask(in->asz), 8);

			memcpy(img + i, &q, 8);
		}
		memcpy(&mx, img + 24, 4);
		if (mx & ~0xffffu)
			bt_raise_gp0(cpu);
		memcpy(&cpu->st.fx, img, 512);
		return;
	}
	case 2: /* LDMXCSR */
		if (!(cpu->st.cr4 & 0x200))
			bt_raise_ud(cpu);
		v = (u32)bt_ld(cpu, in->seg, off, 4);
		if (v & ~0xffffu)
			bt_raise_gp0(cpu);
		cpu->st.fx.mxcsr = v;
		return;
	default: /* STMXCSR */
		if (!(cpu->st.cr4 & 0x200))
			bt_raise_ud(cpu);
		bt_st(cpu, in->seg, off, 4, cpu->st.fx.mxcsr);
		return;
	}
}

// clang-format off
const bt_handler_fn bt_ops_sse[256] = {
	[0x10] = bt_op_sse_mov, [0x11] = bt_op_sse_mov, [0x28] = bt_op_sse_mov,
	[0x29] = bt_op_sse_mov,
	[0x54 ... 0x57] = bt_op_sse_alu,
	[0x60 ... 0x62] = bt_op_sse_alu, [0x68 ... 0x6a] = bt_op_sse_alu,
	[0x6c] = bt_op_sse_alu, [0x6d] = bt_op_sse_alu,
	[0x6e] = bt_op_sse_movd, [0x7e] = bt_op_sse_movd,
	[0x6f] = bt_op_sse_movdq, [0x7f] = bt_op_sse_movdq, [0xd6] = bt_op_sse_movdq,
	[0x70] = bt_op_sse_pshuf,
	[0x74 ... 0x76] = bt_op_sse_alu,
	[0xae] = bt_op_sse_grp15,
	[0xd4] = bt_op_sse_alu, [0xd7] = bt_op_sse_pmovmskb,
	[0xdb] = bt_op_sse_alu, [0xdf] = bt_op_sse_alu, [0xeb] = bt_op_sse_alu,
	[0xef] = bt_op_sse_alu,
	[0xf8 ... 0xfe] = bt_op_sse_alu,
	[0x63] = bt_op_sse_lanes, [0x64 ... 0x67] = bt_op_sse_lanes, [0x6b] = bt_op_sse_lanes,
	[0x71 ... 0x73] = bt_op_sse_shimm,
	[0xd1 ... 0xd3] = bt_op_sse_lanes, [0xd5] = bt_op_sse_lanes,
	[0xd8 ... 0xda] = bt_op_sse_lanes,
	[0xdc ... 0xde] = bt_op_sse_lanes, [0xe0 ... 0xe5] = bt_op_sse_lanes,
	[0xe8 ... 0xea] = bt_op_sse_lanes, [0xec ... 0xee] = bt_op_sse_lanes,
	[0xf1 ... 0xf4] = bt_op_sse_lanes, [0xf6] = bt_op_sse_lanes,
	[0x12 ... 0x13] = bt_op_sse_movlh, [0x16 ... 0x17] = bt_op_sse_movlh,
	[0x14 ... 0x15] = bt_op_sse_shuf_fp, [0xc6] = bt_op_sse_shuf_fp, [0x2b] = bt_op_sse_movnt,
	[0xe7] = bt_op_sse_movnt, [0x50] = bt_op_sse_movmsk, [0xc3] = bt_op_movnti,
	[0xc4 ... 0xc5] = bt_op_sse_pinsrw, [0xf5] = bt_op_sse_pmaddwd,
	[0x51 ... 0x53] = bt_op_ssefp_arith, [0x58 ... 0x5b] = bt_op_ssefp_arith,
	[0xc2] = bt_op_ssefp_arith,
	[0xe6] = bt_op_ssefp_arith,
	[0x5c ... 0x5f] = bt_op_ssefp_arith, [0x2e ... 0x2f] = bt_op_ssefp_comis,
	[0x2a] = bt_op_ssefp_cvtsi2f, [0x2c ... 0x2d] = bt_op_ssefp_cvtf2si,
	[0xf7] = bt_op_sse_maskmov,
	[0x7c] = bt_op_ssefp_sse3, [0x7d] = bt_op_ssefp_sse3, [0xd0] = bt_op_ssefp_sse3,
	[0xf0] = bt_op_vec_sse3_mov,
};
// clang-format on
