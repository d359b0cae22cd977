// SPDX-License-Identifier: MIT
/*
 * The VEX-only instructions of AVX, AVX2, FMA and F16C, and the VEX-encoded general-register
 * instructions of BMI1 and BMI2 (SDM vol. 2 instruction pages; the VEX forms of the 0F 38 and
 * 0F 3A maps in vol. 2D tables ). The VEX forms of SSE..SSE4.2 instructions are in
 * sse.c, ssefp.c and vec.c.
 *
 * AVX: VBROADCASTSS/SD/F128, VINSERTF128, VEXTRACTF128, VPERM2F128, VPERMILPS/PD (by an
 * immediate or a vector), VTESTPS/PD, VMASKMOVPS/PD, VBLENDVPS/PD, VPBLENDVB. AVX2:
 * VPBROADCASTB/W/D/Q, VBROADCASTI128, VINSERTI128, VEXTRACTI128, VPERM2I128, VPERMD/PS/Q/PD,
 * VPBLENDD, VPSLLVD/Q, VPSRLVD/Q, VPSRAVD, VPMASKMOVD/Q, the gathers (VSIB addressing).
 * FMA: the 132, 213 and 231 forms of VFMADD, VFMSUB, VFNMADD, VFNMSUB (packed and scalar),
 * VFMADDSUB, VFMSUBADD. F16C: VCVTPH2PS, VCVTPS2PH. BMI1: ANDN, BEXTR, BLSI, BLSMSK, BLSR
 * (TZCNT is bit.c's). BMI2: BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX.
 *
 * FMA and F16C are computed by the host's own instructions under the guest's MXCSR controls, as
 * ssefp.c does for SSE (a fused multiply-add rounds once; bt_host_check makes sure the host has
 * them when the model does). Masked loads and stores and the gathers touch only the elements
 * their mask selects, so an element left out never faults; a gather that faults keeps the
 * elements it has loaded (and their mask elements cleared), as the SDM describes.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

/* Bytes [off, off + n) of register r seen as 32 bytes; an element never spans both halves. */
static u8 *bt_avx_at(struct bt_cpu *cpu, unsigned r, unsigned off)
{
	return off < 16 ? cpu->st.fx.xmm[r & 15] + off : cpu->st.ymmh[r & 15] + off - 16;
}

static unsigned bt_avx_len(const struct bt_insn *in)
{
	return in->vex_l ? 32 : 16;
}

static u64 bt_avx_u(const u8 *p, unsigned w)
{
	u64 v = 0;

	memcpy(&v, p, w);
	return v;
}

static void bt_avx_put(u8 *p, unsigned w, u64 v)
{
	memcpy(p, &v, w);
}

enum {
	BT_L128 = 1, /* VEX.L = 0 allowed */
	BT_L256 = 2, /* VEX.L = 1 allowed */
	BT_LANY = 3,
	BT_WIG = -1,
};

/*
 * The encoding rules of a VEX-only form (66 mandatory): which VEX.L, VEX.W (0, 1 or BT_WIG),
 * VEX.vvvv = 1111b when the form has no first source; then the feature, AVX's state checks
 * and #NM (bt_vec_check).
 */
static void bt_avx_form(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f,
			unsigned lmask, int w, bool nosrc1)
{
	if (!in->vex || !in->p66 || in->rep != BT_REP_NONE || !((lmask >> in->vex_l) & 1) ||
	    (w != BT_WIG && in->vex_w != (unsigned)w) || (nosrc1 && in->vvvv))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, f);
}

/* The r/m operand of len bytes: a register, or memory (no alignment for VEX). */
static void bt_avx_rm(struct bt_cpu *cpu, const struct bt_insn *in, u8 *v, unsigned len)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, v, len);
	else
		bt_vec_load(cpu, in, v, len, 0);
}

/* ------------------------------------------------------- permutes, tests */

/* 0F 38 0C VPERMILPS, 0D VPERMILPD by a vector: each element picks one of its own lane's. */
void bt_op_avx_permilvar(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool pd = (in->opcode & 0xff) == 0x0d;
	unsigned len = bt_avx_len(in), w = pd ? 8 : 4;
	u8 a[32], c[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX, BT_LANY, 0, false);
	bt_vec_get(cpu, in->vvvv, a, len);
	bt_avx_rm(cpu, in, c, len);
	for (unsigned i = 0; i < len; i += w) {
		unsigned sel = (unsigned)(pd ? (bt_avx_u(c + i, 8) >> 1) & 1 : c[i] & 3);

		memcpy(r + i, a + (i & 16) + sel * w, w);
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 3A 04 VPERMILPS, 05 VPERMILPD by imm8 (the same selectors in each lane for PS). */
void bt_op_avx_permilimm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool pd = (in->opcode & 0xff) == 0x05;
	unsigned len = bt_avx_len(in), w = pd ? 8 : 4, imm = (unsigned)in->imm & 0xff;
	u8 s[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX, BT_LANY, 0, true);
	bt_avx_rm(cpu, in, s, len);
	for (unsigned i = 0, k = 0; i < len; i += w, k++) {
		unsigned sel = pd ? (imm >> k) & 1 : (imm >> (2 * (k & 3))) & 3;

		memcpy(r + i, s + (i & 16) + sel * w, w);
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 38 16 VPERMPS, 36 VPERMD: dwords of r/m by the indices in VEX.vvvv (256 bits only). */
void bt_op_avx_permd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 idx[32], s[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX2, BT_L256, 0, false);
	bt_vec_get(cpu, in->vvvv, idx, 32);
	bt_avx_rm(cpu, in, s, 32);
	for (unsigned i = 0; i < 32; i += 4)
		memcpy(r + i, s + 4 * (idx[i] & 7), 4);
	bt_vec_set(cpu, in, in->reg, r, 32);
}

/* 0F 3A 00 VPERMQ, 01 VPERMPD: qwords of r/m by imm8 (256 bits only). */
void bt_op_avx_permq(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned imm = (unsigned)in->imm & 0xff;
	u8 s[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX2, BT_L256, 1, true);
	bt_avx_rm(cpu, in, s, 32);
	for (unsigned i = 0; i < 4; i++)
		memcpy(r + 8 * i, s + 8 * ((imm >> (2 * i)) & 3), 8);
	bt_vec_set(cpu, in, in->reg, r, 32);
}

/* 0F 3A 06 VPERM2F128, 46 VPERM2I128: each half from either half of either source, or zero. */
void bt_op_avx_perm2x128(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned imm = (unsigned)in->imm & 0xff;
	u8 s[64], r[32];

	bt_avx_form(cpu, in, (in->opcode & 0xff) == 0x06 ? CPU_F_AVX : CPU_F_AVX2, BT_L256, 0,
		    false);
	bt_vec_get(cpu, in->vvvv, s, 32);
	bt_avx_rm(cpu, in, s + 32, 32);
	for (unsigned h = 0; h < 2; h++) {
		unsigned c = (imm >> (4 * h)) & 0xf;

		if (c & 8)
			memset(r + 16 * h, 0, 16);
		else
			memcpy(r + 16 * h, s + 16 * (c & 3), 16);
	}
	bt_vec_set(cpu, in, in->reg, r, 32);
}

/* 0F 38 0E VTESTPS, 0F VTESTPD: ZF and CF from the sign bits of AND and ANDN; the rest clear. */
void bt_op_avx_vtest(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_avx_len(in), w = (in->opcode & 0xff) == 0x0f ? 8 : 4;
	u8 a[32], b[32];
	bool zf = true, cf = true;

	bt_avx_form(cpu, in, CPU_F_AVX, BT_LANY, 0, true);
	bt_vec_get(cpu, in->reg, a, len);
	bt_avx_rm(cpu, in, b, len);
	for (unsigned i = w - 1; i < len; i += w) {
		zf = zf && !(a[i] & b[i] & 0x80);
		cf = cf && !(~a[i] & b[i] & 0x80);
	}
	bt_flags_set(cpu, BT_ARITH, (zf ? BT_ZF : 0) | (cf ? BT_CF : 0));
}

/* ----------------------------------------------------------- broadcasts */

/*
 * 0F 38 18 VBROADCASTSS, 19 VBROADCASTSD, 1A VBROADCASTF128 (AVX: memory sources; the register
 * ones are AVX2), 58 VPBROADCASTD, 59 VPBROADCASTQ, 5A VBROADCASTI128, 78 VPBROADCASTB,
 * 79 VPBROADCASTW (AVX2).
 */
void bt_op_avx_broadcast(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_avx_len(in), w;
	bool avx = op <= 0x1a, reg = in->ea_kind == BT_EA_NONE;
	u8 s[16], r[32];

	switch (op) {
	case 0x18:
	case 0x58:
		w = 4;
		break;
	case 0x19:
	case 0x59:
		w = 8;
		break;
	case 0x78:
		w = 1;
		break;
	case 0x79:
		w = 2;
		break;
	default:
		w = 16; /* F128, I128 */
		break;
	}
	if ((w == 16 && reg) || ((op == 0x19 || w == 16) && !in->vex_l))
		bt_raise_ud(cpu); /* 128-bit broadcasts from memory only; SD and 128 need VEX.256 */
	bt_avx_form(cpu, in, avx && !reg ? CPU_F_AVX : CPU_F_AVX2, BT_LANY, 0, true);
	if (reg)
		bt_vec_get(cpu, in->rm, s, 16);
	else
		bt_vec_load(cpu, in, s, w, 0);
	for (unsigned i = 0; i < len; i += w)
		memcpy(r + i, s, w);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 3A 18 VINSERTF128, 38 VINSERTI128: VEX.vvvv with the r/m 128 bits at half imm8[0]. */
void bt_op_avx_insert128(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 r[32];

	bt_avx_form(cpu, in, (in->opcode & 0xff) == 0x18 ? CPU_F_AVX : CPU_F_AVX2, BT_L256, 0,
		    false);
	bt_vec_get(cpu, in->vvvv, r, 32);
	bt_avx_rm(cpu, in, r + 16 * (in->imm & 1), 16);
	bt_vec_set(cpu, in, in->reg, r, 32);
}

/* 0F 3A 19 VEXTRACTF128, 39 VEXTRACTI128: half imm8[0] of ModRM.reg to xmm/m128. */
void bt_op_avx_extract128(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 s[32];

	bt_avx_form(cpu, in, (in->opcode & 0xff) == 0x19 ? CPU_F_AVX : CPU_F_AVX2, BT_L256, 0,
		    true);
	bt_vec_get(cpu, in->reg, s, 32);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_set(cpu, in, in->rm, s + 16 * (in->imm & 1), 16);
	else
		bt_vec_store(cpu, in, s + 16 * (in->imm & 1), 16, 0);
}

/* --------------------------------------------------------------- blends */

/* 0F 3A 02 VPBLENDD: dword i from r/m when imm8 bit i (AVX2). */
void bt_op_avx_pblendd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_avx_len(in), imm = (unsigned)in->imm & 0xff;
	u8 a[32], b[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX2, BT_LANY, 0, false);
	bt_vec_get(cpu, in->vvvv, a, len);
	bt_avx_rm(cpu, in, b, len);
	for (unsigned i = 0; i < len / 4; i++)
		memcpy(r + 4 * i, ((imm >> i) & 1) ? b + 4 * i : a + 4 * i, 4);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/*
 * 0F 3A 4A VBLENDVPS, 4B VBLENDVPD, 4C VPBLENDVB: each element from r/m where the selector
 * register (imm8[7:4]; bit 7 ignored outside 64-bit mode) has its sign bit set, else from
 * VEX.vvvv.
 */
void bt_op_avx_blendv(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_avx_len(in);
	unsigned w = op == 0x4a ? 4 : op == 0x4b ? 8 : 1, sel = ((unsigned)in->imm >> 4) & 15;
	u8 a[32], b[32], m[32], r[32];

	bt_avx_form(cpu, in, op == 0x4c && in->vex_l ? CPU_F_AVX2 : CPU_F_AVX, BT_LANY, 0, false);
	if (bt_cpu_mode(cpu) != BT_MODE_LONG64)
		sel &= 7;
	bt_vec_get(cpu, in->vvvv, a, len);
	bt_avx_rm(cpu, in, b, len);
	bt_vec_get(cpu, sel, m, len);
	for (unsigned i = 0; i < len; i += w)
		memcpy(r + i, (m[i + w - 1] & 0x80) ? b + i : a + i, w);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* ----------------------------------------------------- variable shifts */

/* 0F 38 45 VPSRLVD/Q, 46 VPSRAVD, 47 VPSLLVD/Q: each element by its own count (AVX2). */
void bt_op_avx_shiftv(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_avx_len(in), w = in->vex_w ? 8 : 4;
	u8 a[32], c[32], r[32];

	bt_avx_form(cpu, in, CPU_F_AVX2, BT_LANY, op == 0x46 ? 0 : BT_WIG, false);
	bt_vec_get(cpu, in->vvvv, a, len);
	bt_avx_rm(cpu, in, c, len);
	for (unsigned i = 0; i < len; i += w) {
		u64 v = bt_avx_u(a + i, w), n = bt_avx_u(c + i, w), bits = 8 * w;

		if (op == 0x46)
			v = (u64)(bt_sext(v, w) >> (n >= bits ? bits - 1 : n));
		else if (n >= bits)
			v = 0;
		else
			v = op == 0x45 ? v >> n : v << n;
		bt_avx_put(r + i, w, v);
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* ------------------------------------------------- masked loads, stores */

/*
 * 0F 38 2C/2D VMASKMOVPS/PD loads, 2E/2F stores (AVX); 8C VPMASKMOVD/Q loads, 8E stores (AVX2,
 * VEX.W the element size). The mask is VEX.vvvv's element sign bits; elements not selected are
 * zero (loads) or untouched (stores) and never fault. A store checks every selected element
 * before it writes any.
 */
void bt_op_avx_maskmov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_avx_len(in), w;
	bool store = op == 0x2e || op == 0x2f || op == 0x8e;
	u8 m[32], v[32];
	u64 off;

	if (op >= 0x8c)
		w = in->vex_w ? 8 : 4;
	else
		w = (op & 1) ? 8 : 4;
	if (in->ea_kind == BT_EA_NONE)
		bt_raise_ud(cpu);
	bt_avx_form(cpu, in, op >= 0x8c ? CPU_F_AVX2 : CPU_F_AVX, BT_LANY, op >= 0x8c ? BT_WIG : 0,
		    false);
	off = bt_ea_off(cpu, in);
	bt_vec_get(cpu, in->vvvv, m, len);
	if (!store) {
		memset(v, 0, sizeof(v));
		for (unsigned i = 0; i < len; i += w)
			if (m[i + w - 1] & 0x80)
				bt_avx_put(v + i, w,
					   bt_ld(cpu, in->seg, (off + i) & bt_mask(in->asz), w));
		bt_vec_set(cpu, in, in->reg, v, len);
		return;
	}
	bt_vec_get(cpu, in->reg, v, len);
	for (unsigned i = 0; i < len; i += w)
		if (m[i + w - 1] & 0x80)
			bt_probe_st(cpu, in->seg, (off + i) & bt_mask(in->asz), w);
	for (unsigned i = 0; i < len; i += w)
		if (m[i + w - 1] & 0x80)
			bt_st(cpu, in->seg, (off + i) & bt_mask(in->asz), w, bt_avx_u(v + i, w));
}

/* -------------------------------------------------------------- gathers */

/*
 * 0F 38 90 VPGATHERDD/DQ, 91 VPGATHERQD/QQ, 92 VGATHERDPS/DPD, 93 VGATHERQPS/QPD (AVX2; VEX.W:
 * qword data). Opcode bit 0: qword indices. Element j loads from base + index[j] * scale +
 * disp when the mask (VEX.vvvv) element j has its sign bit set; elements go in order, each one's
 * mask element cleared once it is done (loaded or not selected), so a fault leaves the elements
 * before it gathered and their mask cleared, and the rest as they were. Once complete, both
 * registers are zero above the data's width. #UD without a SIB byte, with 16-bit
 * addressing, or when two of the destination, index and mask registers are the same.
 */
void bt_op_avx_gather(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_avx_len(in), dw = in->vex_w ? 8 : 4, iw = (in->opcode & 1) ? 8 : 4;
	unsigned n = len / (dw > iw ? dw : iw), dst = in->reg & 15, mask = in->vvvv & 15;
	unsigned vidx = in->sib_index & 15;
	u8 idx[32];

	if (!in->sib || in->ea_kind != BT_EA_MEM || in->asz == 2 || dst == mask || dst == vidx ||
	    mask == vidx)
		bt_raise_ud(cpu);
	bt_avx_form(cpu, in, CPU_F_AVX2, BT_LANY, BT_WIG, false);
	bt_vec_get(cpu, vidx, idx, 32);
	for (unsigned j = 0; j < n; j++) {
		u8 *me = bt_avx_at(cpu, mask, j * dw);
		u64 a, x;

		if (me[dw - 1] & 0x80) {
			x = bt_avx_u(idx + j * iw, iw);
			a = (u64)in->disp +
			    (u64)(iw == 4 ? bt_sext(x, 4) : (s64)x) * (1u << in->scale);
			if (in->base != BT_REG_NONE)
				a += cpu->st.gpr[in->base];
			x = bt_ld(cpu, in->seg, a & bt_mask(in->asz), dw);
			bt_avx_put(bt_avx_at(cpu, dst, j * dw), dw, x);
		}
		memset(me, 0, dw); /* done: a fault on a later element keeps this one */
	}
	/* Complete: above the data width (n * dw bytes) both registers are zero. */
	for (unsigned b = n * dw; b < 32; b += 4) {
		memset(bt_avx_at(cpu, dst, b), 0, 4);
		memset(bt_avx_at(cpu, mask, b), 0, 4);
	}
}

/* ------------------------------------------------------------------ FMA */

/* The host's own instruction on xmm0 (destination), xmm1 (VEX.vvvv) and xmm2 (r/m). */
#define BT_FMA_HOST(name)                                                               \
	static void bt_fma_##name(u8 d[16], const u8 s2[16], const u8 s3[16])           \
	{                                                                               \
		__asm__ volatile("vmovdqu %0, %%xmm0\n\t"                               \
				 "vmovdqu %1, %%xmm1\n\t"                               \
				 "vmovdqu %2, %%xmm2\n\t"                               \
				 "v" #name " %%xmm2, %%xmm1, %%xmm0\n\t"                \
				 "vmovdqu %%xmm0, %0\n\t"                               \
				 : "+m"(*(u8(*)[16])d)                                  \
				 : "m"(*(const u8(*)[16])s2), "m"(*(const u8(*)[16])s3) \
				 : "xmm0", "xmm1", "xmm2");                             \
	}

// clang-format off
#define BT_FMA_FORMS(op, t) BT_FMA_HOST(op##132##t) BT_FMA_HOST(op##213##t) BT_FMA_HOST(op##231##t)
BT_FMA_FORMS(fmaddsub, ps) BT_FMA_FORMS(fmaddsub, pd) BT_FMA_FORMS(fmsubadd, ps)
BT_FMA_FORMS(fmsubadd, pd) BT_FMA_FORMS(fmadd, ps) BT_FMA_FORMS(fmadd, pd)
BT_FMA_FORMS(fmadd, ss) BT_FMA_FORMS(fmadd, sd) BT_FMA_FORMS(fmsub, ps)
BT_FMA_FORMS(fmsub, pd) BT_FMA_FORMS(fmsub, ss) BT_FMA_FORMS(fmsub, sd)
BT_FMA_FORMS(fnmadd, ps) BT_FMA_FORMS(fnmadd, pd) BT_FMA_FORMS(fnmadd, ss)
BT_FMA_FORMS(fnmadd, sd) BT_FMA_FORMS(fnmsub, ps) BT_FMA_FORMS(fnmsub, pd)
BT_FMA_FORMS(fnmsub, ss) BT_FMA_FORMS(fnmsub, sd)

/* By the opcode's low nibble (6-F) and VEX.W, for the 132 (9x), 213 (Ax) and 231 (Bx) forms. */
#define BT_FMA_ROW(f)                                                                              \
	{ { bt_fma_fmaddsub##f##ps, bt_fma_fmaddsub##f##pd },                                      \
	  { bt_fma_fmsubadd##f##ps, bt_fma_fmsubadd##f##pd },                                      \
	  { bt_fma_fmadd##f##ps, bt_fma_fmadd##f##pd }, { bt_fma_fmadd##f##ss, bt_fma_fmadd##f##sd },\
	  { bt_fma_fmsub##f##ps, bt_fma_fmsub##f##pd }, { bt_fma_fmsub##f##ss, bt_fma_fmsub##f##sd },\
	  { bt_fma_fnmadd##f##ps, bt_fma_fnmadd##f##pd },                                          \
	  { bt_fma_fnmadd##f##ss, bt_fma_fnmadd##f##sd },                                          \
	  { bt_fma_fnmsub##f##ps, bt_fma_fnmsub##f##pd },                                          \
	  { bt_fma_fnmsub##f##ss, bt_fma_fnmsub##f##sd } }
static const bt_fp3_fn bt_fma_fns[3][10][2] = { BT_FMA_ROW(132), BT_FMA_ROW(213), BT_FMA_ROW(231) };

// clang-format on

/*
 * 0F 38 96-9F, A6-AF, B6-BF. Packed forms lane by lane; scalar ones (odd low nibble from 9 up)
 * ignore VEX.L, read 4 or 8 bytes of memory and keep the destination's other elements.
 */
void bt_op_avx_fma(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, k = (op & 0xf) - 6, form = (op >> 4) - 9, len;
	bool scalar = (op & 1) && (op & 0xf) >= 9;
	bt_fp3_fn fn = bt_fma_fns[form][k][in->vex_w];
	u8 d[32], b[32], c[32];

	bt_avx_form(cpu, in, CPU_F_FMA, BT_LANY, BT_WIG, false);
	len = scalar ? 16 : bt_avx_len(in);
	bt_vec_get(cpu, in->reg, d, len);
	bt_vec_get(cpu, in->vvvv, b, len);
	memset(c, 0, sizeof(c));
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, c, len);
	else
		bt_vec_load(cpu, in, c, scalar ? (in->vex_w ? 8 : 4) : len, 0);
	bt_fp_run3(cpu, fn, d, b, c, len);
	bt_vec_set(cpu, in, in->reg, d, len);
}

/* ----------------------------------------------------------------- F16C */

static void bt_f16c_ph2ps(u8 d[16], const u8 s[16], const u8 unused[16])
{
	(void)unused;
	__asm__ volatile("vmovdqu %1, %%xmm1\n\tvcvtph2ps %%xmm1, %%xmm0\n\tvmovdqu %%xmm0, %0"
			 : "=m"(*(u8(*)[16])d)
			 : "m"(*(const u8(*)[16])s)
			 : "xmm0", "xmm1");
}

#define BT_F16C_PS2PH(n)                                                                       \
	static void bt_f16c_ps2ph##n(u8 d[16], const u8 s[16], const u8 unused[16])            \
	{                                                                                      \
		(void)unused;                                                                  \
		__asm__ volatile("vmovdqu %1, %%xmm1\n\tvcvtps2ph $" #n ", %%xmm1, %%xmm0\n\t" \
				 "vmovdqu %%xmm0, %0"                                          \
				 : "=m"(*(u8(*)[16])d)                                         \
				 : "m"(*(const u8(*)[16])s)                                    \
				 : "xmm0", "xmm1");                                            \
	}

// clang-format off
BT_F16C_PS2PH(0) BT_F16C_PS2PH(1) BT_F16C_PS2PH(2) BT_F16C_PS2PH(3)
BT_F16C_PS2PH(4) BT_F16C_PS2PH(5) BT_F16C_PS2PH(6) BT_F16C_PS2PH(7)
static const bt_fp3_fn bt_f16c_ps2ph[8] = {
	bt_f16c_ps2ph0, bt_f16c_ps2ph1, bt_f16c_ps2ph2, bt_f16c_ps2ph3,
	bt_f16c_ps2ph4, bt_f16c_ps2ph5, bt_f16c_ps2ph6, bt_f16c_ps2ph7,
};

// clang-format on

/* 0F 38 13 VCVTPH2PS xmm/ymm, xmm/m64/m128: four halves to four floats per 128 bits. */
void bt_op_avx_cvtph2ps(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_avx_len(in);
	u8 s[16] = { 0 }, h[32] = { 0 }, r[32] = { 0 }, z[32] = { 0 };

	bt_avx_form(cpu, in, CPU_F_F16C, BT_LANY, 0, true);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, s, 16);
	else
		bt_vec_load(cpu, in, s, len / 2, 0);
	for (unsigned l = 0; l < len; l += 16)
		memcpy(h + l, s + l / 2, 8);
	bt_fp_run3(cpu, bt_f16c_ph2ps, r, h, z, len);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/*
 * 0F 3A 1D VCVTPS2PH xmm/m64/m128, xmm/ymm, imm8: four floats to four halves per 128 bits,
 * rounded by imm8[1:0] or, with imm8[2], by MXCSR.RC.
 */
void bt_op_avx_cvtps2ph(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_avx_len(in);
	u8 s[32], h[32] = { 0 }, r[16] = { 0 }, z[32] = { 0 };

	bt_avx_form(cpu, in, CPU_F_F16C, BT_LANY, 0, true);
	bt_vec_get(cpu, in->reg, s, len);
	bt_fp_run3(cpu, bt_f16c_ps2ph[in->imm & 7], h, s, z, len);
	for (unsigned l = 0; l < len; l += 16)
		memcpy(r + l / 2, h + l, 8);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_set(cpu, in, in->rm, r, 16);
	else
		bt_vec_store(cpu, in, r, len / 2, 0);
}

/* ----------------------------------------------------------- BMI1, BMI2 */

/*
 * A VEX-encoded general-register instruction: the feature, VEX.L = 0 (and, for a form without
 * VEX.vvvv, vvvv = 1111b); no AVX state checks. The operand size is 64 bits with VEX.W in
 * 64-bit mode, else 32. Returns it.
 */
static unsigned bt_bmi_check(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f,
			     bool nosrc1)
{
	if (!bt_has(cpu, f) || in->vex_l || (nosrc1 && in->vvvv) || (cpu->st.rflags & BT_VM))
		bt_raise_ud(cpu);
	return in->rexw ? 8 : 4;
}

/* SF, ZF, PF of res (AF clear), CF as given, OF clear. */
static void bt_bmi_flags(struct bt_cpu *cpu, unsigned sz, u64 res, bool cf)
{
	bt_flags_set(cpu, BT_ARITH, bt_szp(sz, res) | (cf ? BT_CF : 0));
}

/* 0F 38 F2 ANDN r, vvvv, r/m: NOT vvvv AND r/m. */
void bt_op_bmi_andn(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz;
	u64 v;

	if (in->p66 || in->rep != BT_REP_NONE)
		bt_raise_ud(cpu);
	sz = bt_bmi_check(cpu, in, CPU_F_BMI1, false);
	v = ~bt_get_reg(cpu, in->vvvv, sz) & bt_rm_read(cpu, in, sz) & bt_mask(sz);
	bt_set_reg(cpu, in->reg, sz, v);
	bt_bmi_flags(cpu, sz, v, false);
}

/* 0F 38 F3 group 17: /1 BLSR, /2 BLSMSK, /3 BLSI vvvv, r/m. */
void bt_op_bmi_grp17(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz, r = in->modrm_reg;
	u64 s, v, m;

	if (in->p66 || in->rep != BT_REP_NONE || r < 1 || r > 3)
		bt_raise_ud(cpu);
	sz = bt_bmi_check(cpu, in, CPU_F_BMI1, false);
	m = bt_mask(sz);
	s = bt_rm_read(cpu, in, sz) & m;
	if (r == 1)
		v = (s - 1) & s;
	else if (r == 2)
		v = (s - 1) ^ s;
	else
		v = -s & s;
	v &= m;
	bt_set_reg(cpu, in->vvvv, sz, v);
	/* CF: BLSI a nonzero source, BLSR and BLSMSK a zero one; BLSMSK clears ZF. */
	bt_flags_set(cpu, BT_ARITH,
		     (bt_szp(sz, v) & (r == 2 ? ~(u64)BT_ZF : ~(u64)0)) |
			     ((r == 3 ? s != 0 : s == 0) ? BT_CF : 0));
}

/* PDEP: the low bits of s to the set bits of m; PEXT: the bits of s at m's set bits, packed. */
static u64 bt_bmi_pdep(u64 s, u64 m)
{
	u64 r = 0;

	for (u64 bit = 1; m; m &= m - 1, bit <<= 1)
		if (s & bit)
			r |= m & -m;
	return r;
}

static u64 bt_bmi_pext(u64 s, u64 m)
{
	u64 r = 0;

	for (u64 bit = 1; m; m &= m - 1, bit <<= 1)
		if (s & m & -m)
			r |= bit;
	return r;
}

/* 0F 38 F5: BZHI r, r/m, vvvv (no prefix, BMI2); F3 PEXT, F2 PDEP r, vvvv, r/m (BMI2). */
void bt_op_bmi_f5(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz;
	u64 v;

	if (in->p66)
		bt_raise_ud(cpu);
	sz = bt_bmi_check(cpu, in, CPU_F_BMI2, false);
	if (in->rep == BT_REP_NONE) { /* BZHI: clear the bits from index vvvv[7:0] up */
		unsigned n = (unsigned)bt_get_reg(cpu, in->vvvv, sz) & 0xff;

		v = bt_rm_read(cpu, in, sz) & bt_mask(sz);
		if (n < 8 * sz)
			v &= (1ull << n) - 1;
		bt_set_reg(cpu, in->reg, sz, v);
		bt_bmi_flags(cpu, sz, v, n > 8 * sz - 1);
		return;
	}
	v = bt_get_reg(cpu, in->vvvv, sz) & bt_mask(sz);
	if (in->rep == BT_REP_F3)
		v = bt_bmi_pext(v, bt_rm_read(cpu, in, sz) & bt_mask(sz));
	else
		v = bt_bmi_pdep(v, bt_rm_read(cpu, in, sz) & bt_mask(sz));
	bt_set_reg(cpu, in->reg, sz, v);
}

/* F2 0F 38 F6 MULX r (high), vvvv (low), r/m: RDX times r/m unsigned; the flags unchanged. */
void bt_op_bmi_mulx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz;
	u64 a, b, lo, hi;

	if (in->p66 || in->rep != BT_REP_F2)
		bt_raise_ud(cpu);
	sz = bt_bmi_check(cpu, in, CPU_F_BMI2, false);
	a = bt_get_reg(cpu, CPU_RDX, sz);
	b = bt_rm_read(cpu, in, sz);
	if (sz == 8) {
		unsigned __int128 p = (unsigned __int128)a * b;

		lo = (u64)p;
		hi = (u64)(p >> 64);
	} else {
		u64 p = (a & 0xffffffffu) * (b & 0xffffffffu);

		lo = p & 0xffffffffu;
		hi = p >> 32;
	}
	bt_set_reg(cpu, in->vvvv, sz, lo);
	bt_set_reg(cpu, in->reg, sz, hi); /* the same register for both: the high half */
}

/*
 * 0F 38 F7: BEXTR r, r/m, vvvv (no prefix, BMI1: start vvvv[7:0], length vvvv[15:8]);
 * 66 SHLX, F3 SARX, F2 SHRX r, r/m, vvvv (BMI2: the count masked to the size; no flags).
 */
void bt_op_bmi_f7(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool bextr = !in->p66 && in->rep == BT_REP_NONE;
	unsigned sz = bt_bmi_check(cpu, in, bextr ? CPU_F_BMI1 : CPU_F_BMI2, false);
	u64 s = bt_rm_read(cpu, in, sz) & bt_mask(sz), c = bt_get_reg(cpu, in->vvvv, sz), v;

	if (bextr) {
		unsigned start = (unsigned)c & 0xff, n = (unsigned)(c >> 8) & 0xff;

		v = start < 8 * sz ? s >> start : 0;
		if (n < 64)
			v &= (1ull << n) - 1;
		bt_set_reg(cpu, in->reg, sz, v);
		bt_flags_set(cpu, BT_ARITH, v ? 0 : BT_ZF);
		return;
	}
	c &= 8 * sz - 1;
	if (in->p66)
		v = s << c;
	else if (in->rep == BT_REP_F3)
		v = (u64)(bt_sext(s, sz) >> c);
	else
		v = s >> c;
	bt_set_reg(cpu, in->reg, sz, v & bt_mask(sz));
}

/* F2 0F 3A F0 RORX r, r/m, imm8 (BMI2; no flags). */
void bt_op_bmi_rorx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz, n;
	u64 s;

	if (in->p66 || in->rep != BT_REP_F2)
		bt_raise_ud(cpu);
	sz = bt_bmi_check(cpu, in, CPU_F_BMI2, true);
	n = (unsigned)in->imm & (8 * sz - 1);
	s = bt_rm_read(cpu, in, sz) & bt_mask(sz);
	if (n)
		s = (s >> n | s << (8 * sz - n)) & bt_mask(sz);
	bt_set_reg(cpu, in->reg, sz, s);
}
