// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 integer and data-movement instructions on the XMM registers (the FXSAVE image of
 * struct cpu_state; the upper YMM halves in ymmh), each in its legacy form and its VEX form
 * (AVX for 128 bits and the floating-point moves and logic, AVX2 for 256-bit integer): the
 * moves (MOVUPS/UPD/APS/APD, MOVSS/SD, MOVD/MOVQ, MOVDQA/DQU), the bitwise ops
 * (AND/ANDN/OR/XOR PS/PD, PAND/PANDN/POR/PXOR), integer add/sub (PADDB/W/D/Q, PSUBB/W/D/Q),
 * compares (PCMPEQB/W/D, PCMPGTB/W/D), min/max (PMINUB PMAXUB PMINSW PMAXSW), saturating
 * add/sub, PAVGB/W, PMULLW/PMULHW/PMULHUW/PMULUDQ, PSADBW, packs (PACKSSWB PACKUSWB PACKSSDW),
 * shifts by XMM and by imm8 (PSRL/PSRA/PSLL W/D/Q, PSRLDQ/PSLLDQ), PMADDWD, PINSRW/PEXTRW,
 * PMOVMSKB, MOVMSKPS/PD, UNPCKL/HPS/PD, SHUFPS/PD, MOVLPS/MOVHPS/MOVHLPS/MOVLHPS/MOVLPD/
 * MOVHPD, MOVNTPS/MOVNTDQ/MOVNTI, PSHUFD/PSHUFHW/PSHUFLW, the unpacks (PUNPCKL/H BW/WD/DQ/QDQ),
 * group 15 (FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, LFENCE, MFENCE, SFENCE; XSAVE* in xsave.c),
 * MASKMOVDQU, MOVQ2DQ/MOVDQ2Q, VZEROUPPER/VZEROALL. SDM vol. 2 instruction pages; mandatory
 * prefixes per vol. 2A 2.1.2 (F3/F2 take precedence over 66).
 *
 * Operands (vol. 2A 2.3): a legacy form's first source is its destination (ModRM.reg) and it
 * writes 128 bits, keeping bits 255:128; a VEX form's first source is VEX.vvvv (a form without
 * one needs vvvv = 1111b, else #UD), it writes 128 bits and zeroes 255:128 (VEX.128) or writes
 * 256 bits (VEX.256), lane by lane as the 128-bit operation. Alignment: legacy 16-byte memory
 * operands must be 16-byte aligned except the U forms and the narrower reads (#GP(0), vol. 1
 * 14.9); VEX needs alignment only for the A and NT moves (to the operand's size).
 *
 * Floating point is in ssefp.c, the MMX-register forms in mmx.c, SSE3 and later in vec.c.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

static u8 *bt_xmm(struct bt_cpu *cpu, unsigned r)
{
	return cpu->st.fx.xmm[r & 15];
}

static unsigned bt_sse_len(const struct bt_insn *in)
{
	return in->vex && in->vex_l ? 32 : 16;
}

/*
 * The checks of an SSE2 form, or of its VEX form: AVX for 128 bits, 256 bits integer AVX2
 * (integer) or AVX; VEX.L = 1 #UD where the form has no 256-bit version (l0); vvvv = 1111b
 * where it has no first source (nosrc1).
 */
static void bt_sse_check_form(struct bt_cpu *cpu, const struct bt_insn *in, bool integer, bool l0,
			      bool nosrc1)
{
	if (in->vex) {
		if ((l0 && in->vex_l) || (nosrc1 && in->vvvv))
			bt_raise_ud(cpu);
		bt_vec_check(cpu, in, in->vex_l && integer ? CPU_F_AVX2 : CPU_F_AVX);
		return;
	}
	bt_vec_check(cpu, in, CPU_F_SSE2);
}

static void bt_sse_check(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_sse_check_form(cpu, in, true, false, false);
}

/* The r/m source, len bytes; legacy: 16-byte aligned when aligned (size bytes for scalars). */
static void bt_sse_src(struct bt_cpu *cpu, const struct bt_insn *in, u8 *v, unsigned len,
		       unsigned size, bool aligned)
{
	memset(v, 0, len);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, v, len);
	else
		bt_vec_load(cpu, in, v, size, aligned && !in->vex ? 16 : 0);
}

/* A move's r/m source: the aligned (A) forms, legacy or VEX, #GP(0) unless aligned to len. */
static void bt_sse_mov_src(struct bt_cpu *cpu, const struct bt_insn *in, u8 *v, unsigned len,
			   bool aligned)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, v, len);
	else
		bt_vec_load(cpu, in, v, len, aligned ? len : 0);
}

/* A lane function: 16 bytes of r from a (first source) and b (second), imm8 or the opcode. */
typedef void (*bt_sse_lane_fn)(u8 *r, const u8 *a, const u8 *b, unsigned op, unsigned imm);

/*
 * The common shape: r = lane(a, b) per 128-bit lane, a the first source, b the r/m source (16
 * bytes, aligned for legacy), written to ModRM.reg.
 */
static void bt_sse_lanes_run(struct bt_cpu *cpu, const struct bt_insn *in, bt_sse_lane_fn fn,
			     bool integer)
{
	unsigned len = bt_sse_len(in), op = in->opcode & 0xff, imm = (unsigned)in->imm & 0xff;
	u8 a[32], b[32], r[32];

	bt_sse_check_form(cpu, in, integer, false, false);
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, a, len);
	bt_sse_src(cpu, in, b, len, len, true);
	for (unsigned l = 0; l < len; l += 16)
		fn(r + l, a + l, b + l, op, imm);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* ----------------------------------------------------------------- moves */

/* 0F 10/11 MOVUPS/MOVUPD/MOVSS/MOVSD, 0F 28/29 MOVAPS/MOVAPD. */
static void bt_op_sse_mov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = in->opcode & 0xff, len = bt_sse_len(in), size;
	bool store = op & 1, aligned = op >= 0x28, scalar = pfx >= 2;
	u8 v[32];

	if (aligned && scalar)
		bt_raise_ud(cpu);
	size = scalar ? (pfx == 2 ? 4 : 8) : len;
	/* VMOVSS/SD's register forms merge with vvvv; the other forms have no first source. */
	bt_sse_check_form(cpu, in, false, false, !(scalar && in->ea_kind == BT_EA_NONE));
	if (scalar) {
		u8 a[16];

		len = 16;
		if (in->ea_kind != BT_EA_NONE) {
			if (!store) { /* a scalar load zeroes the rest */
				bt_sse_src(cpu, in, v, 16, size, false);
				bt_vec_set(cpu, in, in->reg, v, 16);
			} else {
				bt_vec_store(cpu, in, bt_xmm(cpu, in->reg), size, 0);
			}
			return;
		}
		/* Register forms: the low element moves; legacy keeps the rest of the
		 * destination, VEX takes it from vvvv. */
		bt_vec_get(cpu, in->vex ? in->vvvv : (store ? in->rm : in->reg), a, 16);
		memcpy(a, bt_xmm(cpu, store ? in->reg : in->rm), size);
		bt_vec_set(cpu, in, store ? in->rm : in->reg, a, 16);
		return;
	}
	if (!store) {
		bt_sse_mov_src(cpu, in, v, len, aligned);
		bt_vec_set(cpu, in, in->reg, v, len);
		return;
	}
	bt_vec_get(cpu, in->reg, v, len);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_set(cpu, in, in->rm, v, len);
	else
		bt_vec_store(cpu, in, v, len, aligned ? len : 0);
}

/* 66 0F 6F MOVDQA, F3 0F 6F MOVDQU, 66/F3 0F 7F (stores), F3 0F 7E MOVQ, 66 0F D6 MOVQ. */
static void bt_op_sse_movdq(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = in->opcode & 0xff, len = bt_sse_len(in);
	u8 v[32];

	if (op == 0x7e && pfx == 2) { /* MOVQ xmm, xmm/m64 */
		bt_sse_check_form(cpu, in, false, true, true);
		bt_sse_src(cpu, in, v, 16, 8, false);
		memset(v + 8, 0, 8);
		bt_vec_set(cpu, in, in->reg, v, 16);
		return;
	}
	if (op == 0xd6 && pfx >= 2) { /* F3: MOVQ2DQ xmm, mm; F2: MOVDQ2Q mm, xmm */
		u64 q;

		if (in->ea_kind != BT_EA_NONE || in->vex)
			bt_raise_ud(cpu);
		bt_sse_check(cpu, in);
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
		bt_sse_check_form(cpu, in, false, true, true);
		memset(v, 0, 16);
		memcpy(v, bt_xmm(cpu, in->reg), 8);
		if (in->ea_kind == BT_EA_NONE)
			bt_vec_set(cpu, in, in->rm, v, 16);
		else
			bt_vec_store(cpu, in, v, 8, 0);
		return;
	}
	if (pfx != 1 && pfx != 2)
		bt_raise_ud(cpu); /* the MMX forms are mmx.c's */
	bt_sse_check_form(cpu, in, false, false, true);
	if (op == 0x6f) {
		bt_sse_mov_src(cpu, in, v, len, pfx == 1);
		bt_vec_set(cpu, in, in->reg, v, len);
		return;
	}
	bt_vec_get(cpu, in->reg, v, len);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_set(cpu, in, in->rm, v, len);
	else
		bt_vec_store(cpu, in, v, len, pfx == 1 ? len : 0);
}

/* 66 0F 6E MOVD/MOVQ xmm, r/m; 66 0F 7E MOVD/MOVQ r/m, xmm. */
static void bt_op_sse_movd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = in->rexw ? 8 : 4;
	u8 v[16] = { 0 };
	u64 x;

	if (bt_vec_pfx(in) == 2 && (in->opcode & 0xff) == 0x7e) {
		bt_op_sse_movdq(cpu, in);
		return;
	}
	if (bt_vec_pfx(in) != 1)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, false, true, true);
	if ((in->opcode & 0xff) == 0x6e) {
		x = bt_rm_read(cpu, in, size);
		memcpy(v, &x, size);
		bt_vec_set(cpu, in, in->reg, v, 16);
	} else {
		x = 0;
		memcpy(&x, bt_xmm(cpu, in->reg), size);
		bt_rm_write(cpu, in, size, x);
	}
}

/* --------------------------------------------------- packed integer ops */

/* 128-bit values as the compiler's vector types: each operation below is one host SSE2
 * instruction (these ops run on every glibc string function's inner loop). */
typedef u8 bt_v16b __attribute__((vector_size(16)));
typedef u16 bt_v8w __attribute__((vector_size(16)));
typedef u32 bt_v4d __attribute__((vector_size(16)));
typedef u64 bt_v2q __attribute__((vector_size(16)));

static void bt_sse_lane_alu(u8 *r, const u8 *d, const u8 *s, unsigned op, unsigned imm)
{
	union {
		bt_v16b b;
		bt_v8w w;
		bt_v4d dw;
		bt_v2q q;
	} a, b, x = { .q = { 0, 0 } };

	(void)imm;
	memcpy(&a, d, 16);
	memcpy(&b, s, 16);
	switch (op) {
	case 0x54: /* ANDPS/ANDPD */
	case 0xdb: /* PAND */
		x.q = a.q & b.q;
		break;
	case 0x55: /* ANDNPS/ANDNPD */
	case 0xdf: /* PANDN */
		x.q = ~a.q & b.q;
		break;
	case 0x56: /* ORPS/ORPD */
	case 0xeb: /* POR */
		x.q = a.q | b.q;
		break;
	case 0x57: /* XORPS/XORPD */
	case 0xef: /* PXOR */
		x.q = a.q ^ b.q;
		break;
	case 0xfc: /* PADDB, PADDW, PADDD, PADDQ */
		x.b = a.b + b.b;
		break;
	case 0xfd:
		x.w = a.w + b.w;
		break;
	case 0xfe:
		x.dw = a.dw + b.dw;
		break;
	case 0xd4:
		x.q = a.q + b.q;
		break;
	case 0xf8: /* PSUBB, PSUBW, PSUBD, PSUBQ */
		x.b = a.b - b.b;
		break;
	case 0xf9:
		x.w = a.w - b.w;
		break;
	case 0xfa:
		x.dw = a.dw - b.dw;
		break;
	case 0xfb:
		x.q = a.q - b.q;
		break;
	case 0x74: /* PCMPEQB, PCMPEQW, PCMPEQD: all ones where equal */
		x.b = (bt_v16b)(a.b == b.b);
		break;
	case 0x75:
		x.w = (bt_v8w)(a.w == b.w);
		break;
	case 0x76:
		x.dw = (bt_v4d)(a.dw == b.dw);
		break;
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
			memcpy((u8 *)&x + k, d + base + i, w);
			memcpy((u8 *)&x + k + w, s + base + i, w);
		}
		break;
	}
	default:
		break;
	}
	memcpy(r, &x, 16);
}

/* Two-operand packed integer and bitwise ops (and ANDPS..XORPS, ANDPD..XORPD). */
static void bt_op_sse_alu(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, pfx = bt_vec_pfx(in);
	bool ps = op >= 0x54 && op <= 0x57; /* ANDPS..XORPS also without a prefix */

	if (ps ? pfx > 1 : pfx != 1)
		bt_raise_ud(cpu);
	bt_sse_lanes_run(cpu, in, bt_sse_lane_alu, !ps);
}

static void bt_sse_lane_pshuf(u8 *r, const u8 *a, const u8 *s, unsigned pfx, unsigned imm)
{
	(void)a;
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
}

/* 66 0F 70 PSHUFD, F3 0F 70 PSHUFHW, F2 0F 70 PSHUFLW. */
static void bt_op_sse_pshuf(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), imm = in->imm & 0xff, len = bt_sse_len(in);
	u8 s[32], r[32];

	if (pfx == 0)
		bt_raise_ud(cpu); /* PSHUFW (MMX) */
	bt_sse_check_form(cpu, in, true, false, true);
	bt_sse_src(cpu, in, s, len, len, true);
	for (unsigned l = 0; l < len; l += 16)
		bt_sse_lane_pshuf(r + l, NULL, s + l, pfx, imm);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 66 0F D7 PMOVMSKB r32, xmm/ymm. */
static void bt_op_sse_pmovmskb(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_sse_len(in);
	u8 s[32];
	u32 m = 0;

	if (bt_vec_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, true, false, true);
	bt_vec_get(cpu, in->rm, s, len);
	for (unsigned i = 0; i < len; i++)
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

static void bt_sse_lane_lanes(u8 *r, const u8 *d, const u8 *s, unsigned op, unsigned imm)
{
	(void)imm;
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
	case 0xf5: /* PMADDWD */
		for (unsigned i = 0; i < 16; i += 4) {
			s64 x = bt_sse_lane(d + i, 2, true) * bt_sse_lane(s + i, 2, true) +
				bt_sse_lane(d + i + 2, 2, true) * bt_sse_lane(s + i + 2, 2, true);
			u32 x32 = (u32)x; /* wraps only for 0x8000 * 4 */

			memcpy(r + i, &x32, 4);
		}
		break;
	default:
		break;
	}
}

/*
 * Lane-wise SSE2 integer ops: min/max, signed compares, saturating add/sub, averages, multiplies,
 * packs, PSADBW, PMADDWD and the shifts by an XMM count (66 prefix only; the count is the low
 * quadword of a 128-bit source whatever the length, and shifts every lane).
 */
static void bt_op_sse_lanes(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_sse_len(in);
	u8 a[32], s[16], r[32];
	u64 count;

	if (bt_vec_pfx(in) != 1)
		bt_raise_ud(cpu); /* MMX forms */
	if (!((op >= 0xd1 && op <= 0xd3) || op == 0xe1 || op == 0xe2 ||
	      (op >= 0xf1 && op <= 0xf3))) {
		bt_sse_lanes_run(cpu, in, bt_sse_lane_lanes, true);
		return;
	}
	/* D1-D3 PSRL, E1-E2 PSRA, F1-F3 PSLL by the low quadword of xmm/m128. */
	bt_sse_check(cpu, in);
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, a, len);
	bt_sse_src(cpu, in, s, 16, 16, true);
	memcpy(&count, s, 8);
	memcpy(r, a, len);
	for (unsigned l = 0; l < len; l += 16)
		bt_sse_shift(r + l, 1u << (op & 3), count, op < 0xe0 ? 0 : op < 0xf0 ? 1 : 2);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/*
 * 66 0F 71/72/73: shifts by an immediate (register operand only); 73 /3 /7 PSRLDQ/PSLLDQ. The
 * VEX forms shift ModRM.rm into VEX.vvvv.
 */
static void bt_op_sse_shimm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, r = in->modrm_reg, count = in->imm & 0xff;
	unsigned w = op == 0x71 ? 2 : op == 0x72 ? 4 : 8, len = bt_sse_len(in);
	u8 d[32];

	if (bt_vec_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	if (!(r == 2 || r == 6 || (r == 4 && op != 0x73) || (op == 0x73 && (r == 3 || r == 7))))
		bt_raise_ud(cpu);
	bt_sse_check(cpu, in);
	bt_vec_get(cpu, in->rm, d, len);
	for (unsigned l = 0; l < len; l += 16) {
		u8 *p = d + l, t[32] = { 0 };

		if (op == 0x73 && (r == 3 || r == 7)) {
			unsigned n = count > 16 ? 16 : count;

			if (r == 3) { /* PSRLDQ: bytes move down */
				memcpy(t, p, 16);
				memcpy(p, t + n, 16);
			} else {
				memcpy(t + 16, p, 16);
				memcpy(p, t + 16 - n, 16);
			}
			continue;
		}
		bt_sse_shift(p, w, count, r == 2 ? 0 : r == 4 ? 1 : 2);
	}
	bt_vec_set(cpu, in, in->vex ? in->vvvv : in->rm, d, len);
}

/* 0F 50 MOVMSKPS / 66 0F 50 MOVMSKPD r32, xmm/ymm. */
static void bt_op_sse_movmsk(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), w = pfx ? 8 : 4, len = bt_sse_len(in);
	u8 s[32];
	u32 m = 0;

	if (pfx > 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, false, false, true);
	bt_vec_get(cpu, in->rm, s, len);
	for (unsigned i = 0; i < len / w; i++)
		m |= (u32)(s[i * w + w - 1] >> 7) << i;
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, m);
}

static void bt_sse_lane_shuf_fp(u8 *r, const u8 *d, const u8 *s, unsigned op, unsigned imm)
{
	unsigned w = (op >> 8) ? 8 : 4; /* op carries the PD form in bit 8 */

	op &= 0xff;
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
		return;
	}
	for (unsigned i = 0, k = 0, base = op == 0x15 ? 8 : 0; k < 16; i += w, k += 2 * w) {
		memcpy(r + k, d + base + i, w);
		memcpy(r + k + w, s + base + i, w);
	}
}

/* 0F 14/15 UNPCKLPS/UNPCKHPS, 66: UNPCKLPD/UNPCKHPD; 0F C6 SHUFPS, 66: SHUFPD. */
static void bt_op_sse_shuf_fp(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = (in->opcode & 0xff) | (pfx ? 0x100 : 0);
	unsigned len = bt_sse_len(in), imm = in->imm & 0xff;
	u8 a[32], b[32], r[32];

	if (pfx > 1)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, false, false, false);
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, a, len);
	bt_sse_src(cpu, in, b, len, len, true);
	for (unsigned l = 0; l < len; l += 16)
		/* VSHUFPD ymm: the upper lane takes imm8 bits 3:2 */
		bt_sse_lane_shuf_fp(r + l, a + l, b + l, op, l && pfx ? imm >> 2 : imm);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/*
 * 0F 12/13/16/17: MOVLPS/MOVHPS (and MOVHLPS/MOVLHPS), 66: MOVLPD/MOVHPD (memory only). The
 * VEX loads merge with vvvv; the stores have no first source. 128 bits only.
 */
static void bt_op_sse_movlh(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = in->opcode & 0xff, half = op >= 0x16 ? 8 : 0;
	u8 v[16], d[16];

	/* F3 0F 12 MOVSLDUP, F3 0F 16 MOVSHDUP, F2 0F 12 MOVDDUP (SSE3). */
	if ((op == 0x12 && pfx >= 2) || (op == 0x16 && pfx == 2)) {
		bt_op_vec_sse3_mov(cpu, in);
		return;
	}
	if (pfx > 1 || (pfx == 1 && in->ea_kind == BT_EA_NONE) ||
	    ((op & 1) && in->ea_kind == BT_EA_NONE))
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, false, true, op & 1);
	if (op & 1) { /* store the low or high quadword */
		memcpy(v, bt_xmm(cpu, in->reg) + half, 8);
		bt_vec_store(cpu, in, v, 8, 0);
		return;
	}
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, d, 16);
	if (in->ea_kind == BT_EA_NONE) /* MOVHLPS (12) / MOVLHPS (16) */
		memcpy(d + half, bt_xmm(cpu, in->rm) + (half ? 0 : 8), 8);
	else {
		bt_sse_src(cpu, in, v, 16, 8, false);
		memcpy(d + half, v, 8);
	}
	bt_vec_set(cpu, in, in->reg, d, 16);
}

/* 66 0F C4 PINSRW xmm, r32/m16, imm8; 66 0F C5 PEXTRW r32, xmm, imm8 (128 bits). */
static void bt_op_sse_pinsrw(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sel = (in->imm & 7) * 2;
	u8 d[16];
	u64 v;

	if (bt_vec_pfx(in) != 1)
		bt_raise_ud(cpu);
	if ((in->opcode & 0xff) == 0xc4) {
		bt_sse_check_form(cpu, in, true, true, false);
		v = bt_rm_read(cpu, in, 2);
		bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, d, 16);
		memcpy(d + sel, &v, 2);
		bt_vec_set(cpu, in, in->reg, d, 16);
		return;
	}
	if (in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, true, true, true);
	v = 0;
	memcpy(&v, bt_xmm(cpu, in->rm) + sel, 2);
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, v);
}

/* 0F 2B MOVNTPS/MOVNTPD, 66 0F E7 MOVNTDQ: aligned stores (non-temporal hint ignored). */
static void bt_op_sse_movnt(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = in->opcode & 0xff, len = bt_sse_len(in);
	u8 v[32];

	if (in->ea_kind == BT_EA_NONE || pfx > 1 || (op == 0xe7 && pfx != 1))
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, false, false, true);
	bt_vec_get(cpu, in->reg, v, len);
	bt_vec_store(cpu, in, v, len, len);
}

/* 0F C3 MOVNTI m32/64, r (SSE2; the hint is ignored). */
static void bt_op_movnti(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->rexw ? 8 : 4;

	if (!bt_has(cpu, CPU_F_SSE2) || in->ea_kind == BT_EA_NONE || bt_vec_pfx(in) || in->vex)
		bt_raise_ud(cpu);
	bt_rm_write(cpu, in, sz, bt_get_reg(cpu, in->reg, sz));
}

/* 66 0F F7 MASKMOVDQU xmm1, xmm2: register form only, 128 bits. */
static void bt_op_sse_maskmov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 v[16], m[16];

	if (bt_vec_pfx(in) != 1 || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_sse_check_form(cpu, in, true, true, true);
	memcpy(v, bt_xmm(cpu, in->reg), 16);
	memcpy(m, bt_xmm(cpu, in->rm), 16);
	bt_maskmov(cpu, in, v, m, 16);
}

/*
 * 0F 77 with VEX: VZEROUPPER (VEX.L = 0) clears bits 255:128 of every YMM register, VZEROALL
 * (VEX.L = 1) all of them (in 64-bit mode YMM8-15 too; outside, the first eight only).
 */
static void bt_op_vzero(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned n = bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 16 : 8;

	if (!in->vex || in->vvvv || in->p66 || in->rep != BT_REP_NONE)
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_AVX);
	for (unsigned r = 0; r < n; r++) {
		memset(cpu->st.ymmh[r], 0, 16);
		if (in->vex_l)
			memset(cpu->st.fx.xmm[r], 0, 16);
	}
}

/*
 * 0F AE: group 15. Register forms: LFENCE, MFENCE, SFENCE; F3 /0-/3 RDFSBASE, RDGSBASE,
 * WRFSBASE, WRGSBASE (sys.c). Memory forms: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR (and their
 * VEX forms VLDMXCSR/VSTMXCSR), XSAVE, XRSTOR, XSAVEOPT (xsave.c), CLFLUSH and 66 /7
 * CLFLUSHOPT.
 */
static void bt_op_sse_grp15(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned r = in->modrm_reg, pfx = bt_vec_pfx(in);
	u64 off, lin;
	u32 v;

	if (in->vex) { /* VLDMXCSR, VSTMXCSR only */
		if (in->ea_kind == BT_EA_NONE || pfx || in->vex_l || in->vvvv || (r != 2 && r != 3))
			bt_raise_ud(cpu);
		bt_vec_check(cpu, in, CPU_F_AVX);
		off = bt_ea_off(cpu, in);
		if (r == 3) {
			bt_st(cpu, in->seg, off, 4, cpu->st.fx.mxcsr);
			return;
		}
		v = (u32)bt_ld(cpu, in->seg, off, 4);
		if (v & ~0xffffu)
			bt_raise_gp0(cpu);
		cpu->st.fx.mxcsr = v;
		return;
	}
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
		img[5] = 0;		/* reserved */
		memset(img + 6, 0, 18); /* FOP, FIP, FDP: not tracked */
		bt_probe_st(cpu, in->seg, off, 512);
		/* Outside 64-bit mode XMM8-15 (bytes 288-415) are not saved. */
		for (unsigned i = 0; i < (bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 416 : 288); i += 8) {
			u64 q;

			memcpy(&q, img + i, 8);
			bt_st(cpu, in->seg, (off + i) & bt_mask(in->asz), 8, q);
		}
		return;
	}
	case 1: { /* FXRSTOR (XMM0-7 only outside 64-bit mode) */
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
		if (bt_cpu_mode(cpu) != BT_MODE_LONG64)
			memcpy(img + 288, cpu->st.fx.xmm[8], 128);
		memcpy(&cpu->st.fx, img, 416);
		bt_x87_loaded(cpu);
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
	[0x77] = bt_op_vzero,
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
	[0xc4 ... 0xc5] = bt_op_sse_pinsrw, [0xf5] = bt_op_sse_lanes,
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
