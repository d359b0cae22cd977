// SPDX-License-Identifier: MIT
/*
 * The integer and data-movement instructions of SSE3, SSSE3, SSE4.1 and SSE4.2 (SDM vol. 2
 * instruction pages; the 0F 38 and 0F 3A maps of vol. 2D tables ), written once for
 * every encoding: the legacy SSE forms (destination = first source = ModRM.reg, 128 bits, the
 * upper YMM half kept), the MMX forms of SSSE3 (no 66 prefix, 64 bits), and the VEX forms (the
 * first source in VEX.vvvv, 128 bits with the upper half zeroed or 256 bits as two 128-bit
 * lanes: AVX2's integer instructions work within each lane, as these do).
 *
 * SSE3: LDDQU, MOVSHDUP, MOVSLDUP, MOVDDUP. SSSE3: PSHUFB, PHADDW/D/SW, PHSUBW/D/SW,
 * PMADDUBSW, PMULHRSW, PSIGNB/W/D, PABSB/W/D, PALIGNR. SSE4.1: PBLENDVB, BLENDVPS/PD,
 * BLENDPS/PD, PBLENDW, PTEST, PMOVSX/ZX, PMULDQ, PMULLD, PCMPEQQ, PACKUSDW, PMIN/PMAX
 * SB/SD/UW/UD, PHMINPOSUW, MPSADBW, MOVNTDQA, PEXTRB/W/D/Q, EXTRACTPS, PINSRB/D/Q, INSERTPS.
 * SSE4.2: PCMPGTQ, PCMPESTRI/M and PCMPISTRI/M (vol. 2B 4.1, the string and text compares with
 * their flag results), CRC32 (the Castagnoli polynomial, bit-reflected).
 *
 * Alignment: a legacy 16-byte memory operand must be 16-byte aligned (#GP(0)), except for
 * LDDQU, the PMOVSX/ZX and other narrower reads, and the string compares (vol. 1 table 14-22);
 * VEX forms need no alignment but MOVNTDQA's. Floating point (ADDSUB, HADD, HSUB, ROUND, DPP)
 * is in ssefp.c.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

/* ------------------------------------------------------------- operands */

static u8 *bt_vec_xmm(struct bt_cpu *cpu, unsigned r)
{
	return cpu->st.fx.xmm[r & 15];
}

void bt_vec_get(const struct bt_cpu *cpu, unsigned r, u8 *v, unsigned len)
{
	memcpy(v, cpu->st.fx.xmm[r & 15], 16);
	if (len == 32)
		memcpy(v + 16, cpu->st.ymmh[r & 15], 16);
}

void bt_vec_set(struct bt_cpu *cpu, const struct bt_insn *in, unsigned r, const u8 *v, unsigned len)
{
	memcpy(cpu->st.fx.xmm[r & 15], v, 16);
	if (len == 32)
		memcpy(cpu->st.ymmh[r & 15], v + 16, 16);
	else if (in->vex)
		memset(cpu->st.ymmh[r & 15], 0, 16); /* VEX.128 zeroes bits 255:128 */
}

void bt_vec_load(struct bt_cpu *cpu, const struct bt_insn *in, u8 *v, unsigned n, unsigned align)
{
	u64 off = bt_ea_off(cpu, in);

	if (align && (bt_ea(cpu, in) & (align - 1)))
		bt_raise_gp0(cpu);
	for (unsigned i = 0; i < n; i += 8) {
		unsigned k = n - i < 8 ? n - i : 8;
		u64 q = bt_ld(cpu, in->seg, (off + i) & bt_mask(in->asz), k);

		memcpy(v + i, &q, k);
	}
}

void bt_vec_store(struct bt_cpu *cpu, const struct bt_insn *in, const u8 *v, unsigned n,
		  unsigned align)
{
	u64 off = bt_ea_off(cpu, in);

	if (align && (bt_ea(cpu, in) & (align - 1)))
		bt_raise_gp0(cpu);
	if (n > 8)
		bt_probe_st(cpu, in->seg, off, n);
	for (unsigned i = 0; i < n; i += 8) {
		unsigned k = n - i < 8 ? n - i : 8;
		u64 q = 0;

		memcpy(&q, v + i, k);
		bt_st(cpu, in->seg, (off + i) & bt_mask(in->asz), k, q);
	}
}

/*
 * The checks every SSE or AVX instruction makes before its operands (SDM vol. 2A 2.4, 2.5):
 * the CPU model's feature (and AVX for a VEX form, AVX2 for a 256-bit integer one), CR0.EM and
 * CR4.OSFXSR (legacy), CR4.OSXSAVE and XCR0 and not virtual-8086 mode (VEX), then CR0.TS
 * (#NM).
 */
void bt_vec_check(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f)
{
	if (!bt_has(cpu, f))
		bt_raise_ud(cpu);
	if (in->vex) {
		if (!bt_has(cpu, CPU_F_AVX) || (cpu->st.rflags & BT_VM) ||
		    !(cpu->st.cr4 & BT_CR4_OSXSAVE) || (cpu->st.xcr0 & 6) != 6)
			bt_raise_ud(cpu);
	} else if ((cpu->st.cr0 & BT_CR0_EM) || !(cpu->st.cr4 & BT_CR4_OSFXSR)) {
		bt_raise_ud(cpu);
	}
	if (cpu->st.cr0 & BT_CR0_TS)
		bt_raise(cpu, BT_EXC_NM, 0, false);
}

/* Vector length of the form: 32 for VEX.256, else 16. */
static unsigned bt_vec_len(const struct bt_insn *in)
{
	return in->vex && in->vex_l ? 32 : 16;
}

/* The first source: VEX.vvvv, or the destination of a legacy form. */
static unsigned bt_vec_src1(const struct bt_insn *in)
{
	return in->vex ? in->vvvv : in->reg;
}

/* The r/m source of len bytes (legacy: aligned when align). */
static void bt_vec_rm(struct bt_cpu *cpu, const struct bt_insn *in, u8 *b, unsigned len, bool align)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, b, len);
	else
		bt_vec_load(cpu, in, b, len, align && !in->vex ? 16 : 0);
}

/*
 * VPEXTRQ, VPINSRQ: their VEX.W1 form is 64-bit mode only; outside, #UD (not the dword form).
 */
static bool bt_vec_w1_outside64(const struct bt_cpu *cpu, const struct bt_insn *in, bool qform)
{
	return qform && in->vex && in->vex_w && bt_cpu_mode(cpu) != BT_MODE_LONG64;
}

/* ------------------------------------------------------ lane arithmetic */

static u64 bt_vl_u(const u8 *p, unsigned w)
{
	u64 v = 0;

	memcpy(&v, p, w);
	return v;
}

static s64 bt_vl_s(const u8 *p, unsigned w)
{
	return bt_sext(bt_vl_u(p, w), w);
}

static void bt_vl_put(u8 *p, unsigned w, u64 v)
{
	memcpy(p, &v, w);
}

static s64 bt_vl_sat(s64 v, unsigned w, bool sign)
{
	s64 lo = sign ? -(1ll << (w * 8 - 1)) : 0;
	s64 hi = sign ? (1ll << (w * 8 - 1)) - 1 : (1ll << (w * 8)) - 1;

	return v < lo ? lo : v > hi ? hi : v;
}

/* A lane function: r = f(a, b) on n bytes (16, or 8 for MMX), imm8 where the form has one. */
typedef void (*bt_vec_fn)(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm);

static void bt_vl_pshufb(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i++)
		r[i] = (b[i] & 0x80) ? 0 : a[b[i] & (n - 1)];
}

/* PHADD/PHSUB W, D, SW: pairs of a, then pairs of b. */
static void bt_vl_hop(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned w, bool sub, bool sat)
{
	unsigned half = n / 2;

	for (unsigned i = 0; i < n; i += w) {
		const u8 *s = i < half ? a + 2 * i : b + 2 * (i - half);
		s64 x = sub ? bt_vl_s(s, w) - bt_vl_s(s + w, w) : bt_vl_s(s, w) + bt_vl_s(s + w, w);

		bt_vl_put(r + i, w, (u64)(sat ? bt_vl_sat(x, w, true) : x));
	}
}

#define BT_VL_HOP(name, w, sub, sat)                                                        \
	static void bt_vl_##name(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm) \
	{                                                                                   \
		(void)imm;                                                                  \
		bt_vl_hop(r, a, b, n, w, sub, sat);                                         \
	}
BT_VL_HOP(phaddw, 2, false, false)
BT_VL_HOP(phaddd, 4, false, false)
BT_VL_HOP(phaddsw, 2, false, true)
BT_VL_HOP(phsubw, 2, true, false)
BT_VL_HOP(phsubd, 4, true, false)
BT_VL_HOP(phsubsw, 2, true, true)

static void bt_vl_pmaddubsw(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 2) {
		s64 x = (s64)a[i] * (s8)b[i] + (s64)a[i + 1] * (s8)b[i + 1];

		bt_vl_put(r + i, 2, (u64)bt_vl_sat(x, 2, true));
	}
}

static void bt_vl_pmulhrsw(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 2) {
		s64 x = bt_vl_s(a + i, 2) * bt_vl_s(b + i, 2);

		bt_vl_put(r + i, 2, (u64)(((x >> 14) + 1) >> 1));
	}
}

static void bt_vl_psign(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned w)
{
	for (unsigned i = 0; i < n; i += w) {
		s64 s = bt_vl_s(b + i, w), x = bt_vl_s(a + i, w);

		bt_vl_put(r + i, w, (u64)(s < 0 ? -x : s ? x : 0));
	}
}

static void bt_vl_pabs(u8 *r, const u8 *b, unsigned n, unsigned w)
{
	for (unsigned i = 0; i < n; i += w) {
		s64 x = bt_vl_s(b + i, w);

		bt_vl_put(r + i, w, (u64)(x < 0 ? -x : x));
	}
}

#define BT_VL_W(name, fn, w)                                                                \
	static void bt_vl_##name(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm) \
	{                                                                                   \
		(void)imm;                                                                  \
		fn(r, a, b, n, w);                                                          \
	}
#define BT_VL_U(name, fn, w)                                                                \
	static void bt_vl_##name(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm) \
	{                                                                                   \
		(void)imm;                                                                  \
		(void)a;                                                                    \
		fn(r, b, n, w);                                                             \
	}
BT_VL_W(psignb, bt_vl_psign, 1)
BT_VL_W(psignw, bt_vl_psign, 2)
BT_VL_W(psignd, bt_vl_psign, 4)
BT_VL_U(pabsb, bt_vl_pabs, 1)
BT_VL_U(pabsw, bt_vl_pabs, 2)
BT_VL_U(pabsd, bt_vl_pabs, 4)

/* PALIGNR: a:b (a high) shifted right by imm bytes, the low n bytes. */
static void bt_vl_palignr(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	u8 t[48] = { 0 };

	memcpy(t, b, n);
	memcpy(t + n, a, n);
	for (unsigned i = 0; i < n; i++)
		r[i] = i + imm < 2 * n ? t[i + imm] : 0;
}

/* PMIN/PMAX, PCMPEQQ, PCMPGTQ, PMULLD, PMULDQ, PACKUSDW. */
static void bt_vl_minmax(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned w, bool sign,
			 bool max)
{
	for (unsigned i = 0; i < n; i += w) {
		bool a_less = sign ? bt_vl_s(a + i, w) < bt_vl_s(b + i, w) :
				     bt_vl_u(a + i, w) < bt_vl_u(b + i, w);

		memcpy(r + i, (a_less != max) ? a + i : b + i, w);
	}
}

#define BT_VL_MM(name, w, sign, max)                                                        \
	static void bt_vl_##name(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm) \
	{                                                                                   \
		(void)imm;                                                                  \
		bt_vl_minmax(r, a, b, n, w, sign, max);                                     \
	}
BT_VL_MM(pminsb, 1, true, false)
BT_VL_MM(pminsd, 4, true, false)
BT_VL_MM(pminuw, 2, false, false)
BT_VL_MM(pminud, 4, false, false)
BT_VL_MM(pmaxsb, 1, true, true)
BT_VL_MM(pmaxsd, 4, true, true)
BT_VL_MM(pmaxuw, 2, false, true)
BT_VL_MM(pmaxud, 4, false, true)

static void bt_vl_pcmpeqq(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 8)
		bt_vl_put(r + i, 8, bt_vl_u(a + i, 8) == bt_vl_u(b + i, 8) ? ~0ull : 0);
}

static void bt_vl_pcmpgtq(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 8)
		memset(r + i, bt_vl_s(a + i, 8) > bt_vl_s(b + i, 8) ? 0xff : 0, 8);
}

static void bt_vl_pmulld(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 4)
		bt_vl_put(r + i, 4, bt_vl_u(a + i, 4) * bt_vl_u(b + i, 4));
}

static void bt_vl_pmuldq(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n; i += 8)
		bt_vl_put(r + i, 8, (u64)(bt_vl_s(a + i, 4) * bt_vl_s(b + i, 4)));
}

static void bt_vl_packusdw(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	(void)imm;
	for (unsigned i = 0; i < n / 2; i += 2) {
		bt_vl_put(r + i, 2, (u64)bt_vl_sat(bt_vl_s(a + 2 * i, 4), 2, false));
		bt_vl_put(r + n / 2 + i, 2, (u64)bt_vl_sat(bt_vl_s(b + 2 * i, 4), 2, false));
	}
}

/* BLENDPS (w 4), BLENDPD (w 8), PBLENDW (w 2): element i from b when imm bit i. */
static void bt_vl_blend(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm, unsigned w)
{
	for (unsigned i = 0; i < n / w; i++)
		memcpy(r + i * w, ((imm >> (i % 8)) & 1) ? b + i * w : a + i * w, w);
}

static void bt_vl_blendps(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	bt_vl_blend(r, a, b, n, imm, 4);
}

static void bt_vl_blendpd(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	bt_vl_blend(r, a, b, n, imm, 8);
}

static void bt_vl_pblendw(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	bt_vl_blend(r, a, b, n, imm, 2);
}

/* MPSADBW: eight sums of absolute differences of 4-byte blocks (imm[2] picks a's, [1:0] b's). */
static void bt_vl_mpsadbw(u8 *r, const u8 *a, const u8 *b, unsigned n, unsigned imm)
{
	unsigned ao = ((imm >> 2) & 1) * 4, bo = (imm & 3) * 4;

	(void)n;
	for (unsigned k = 0; k < 8; k++) {
		unsigned sum = 0;

		for (unsigned j = 0; j < 4; j++) {
			int d = (int)a[ao + k + j] - (int)b[bo + j];

			sum += (unsigned)(d < 0 ? -d : d);
		}
		bt_vl_put(r + 2 * k, 2, sum);
	}
}

/* ------------------------------------------------------------ the forms */

/*
 * A two-source op lane by lane: the MMX form (no 66, 64 bits; SSSE3 only when mmx), or the
 * SSE/VEX forms (66 mandatory). avx2: the 256-bit form needs AVX2 (the integer ones) rather
 * than AVX. imm is the form's imm8 (or 0).
 */
static void bt_vec_binop(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f,
			 bt_vec_fn fn, bool mmx)
{
	unsigned len = bt_vec_len(in), imm = (unsigned)in->imm & 0xff;
	u8 a[32], b[32], r[32];

	if (in->rep != BT_REP_NONE || (!in->p66 && (!mmx || in->vex)))
		bt_raise_ud(cpu);
	if (!in->p66) {
		u64 x = 0, y, z = 0;

		if (!bt_has(cpu, f))
			bt_raise_ud(cpu);
		bt_mmx_check(cpu);
		x = bt_mmx_get(cpu, in->reg & 7);
		if (in->ea_kind == BT_EA_NONE)
			y = bt_mmx_get(cpu, in->rm & 7);
		else
			y = bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 8);
		fn((u8 *)&z, (const u8 *)&x, (const u8 *)&y, 8, imm);
		bt_mmx_enter(cpu);
		bt_mmx_set(cpu, in->reg & 7, z);
		return;
	}
	bt_vec_check(cpu, in, len == 32 ? CPU_F_AVX2 : f);
	bt_vec_get(cpu, bt_vec_src1(in), a, len);
	bt_vec_rm(cpu, in, b, len, true);
	for (unsigned l = 0; l < len; l += 16)
		fn(r + l, a + l, b + l, 16, imm);
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 38 00-0B, 1C-1E: SSSE3 (MMX and XMM forms). */
void bt_op_vec_ssse3(struct bt_cpu *cpu, const struct bt_insn *in)
{
	static const bt_vec_fn fns[0x20] = {
		[0x00] = bt_vl_pshufb,	[0x01] = bt_vl_phaddw,	  [0x02] = bt_vl_phaddd,
		[0x03] = bt_vl_phaddsw, [0x04] = bt_vl_pmaddubsw, [0x05] = bt_vl_phsubw,
		[0x06] = bt_vl_phsubd,	[0x07] = bt_vl_phsubsw,	  [0x08] = bt_vl_psignb,
		[0x09] = bt_vl_psignw,	[0x0a] = bt_vl_psignd,	  [0x0b] = bt_vl_pmulhrsw,
		[0x1c] = bt_vl_pabsb,	[0x1d] = bt_vl_pabsw,	  [0x1e] = bt_vl_pabsd,
	};
	unsigned op = in->opcode & 0xff;

	/* VEX forms of PSIGN exist in AVX2 only with VEX.W0; all of these are fine as decoded. */
	if ((op == 0x1c || op == 0x1d || op == 0x1e) && in->vex && in->vvvv)
		bt_raise_ud(cpu); /* unary: VEX.vvvv must be 1111b */
	bt_vec_binop(cpu, in, CPU_F_SSSE3, fns[op & 0x1f], true);
}

/* 0F 3A 0F PALIGNR (MMX and XMM forms). */
void bt_op_vec_palignr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_vec_binop(cpu, in, CPU_F_SSSE3, bt_vl_palignr, true);
}

/* 0F 38 28-2B, 37-40: SSE4.1 / SSE4.2 two-source integer ops (66 only). */
void bt_op_vec_sse41(struct bt_cpu *cpu, const struct bt_insn *in)
{
	static const bt_vec_fn fns[0x20] = {
		[0x08] = bt_vl_pmuldq,	[0x09] = bt_vl_pcmpeqq, [0x0b] = bt_vl_packusdw,
		[0x17] = bt_vl_pcmpgtq, [0x18] = bt_vl_pminsb,	[0x19] = bt_vl_pminsd,
		[0x1a] = bt_vl_pminuw,	[0x1b] = bt_vl_pminud,	[0x1c] = bt_vl_pmaxsb,
		[0x1d] = bt_vl_pmaxsd,	[0x1e] = bt_vl_pmaxuw,	[0x1f] = bt_vl_pmaxud,
	};
	unsigned op = in->opcode & 0xff;
	bt_vec_fn fn = op == 0x40 ? bt_vl_pmulld : fns[op - 0x20];

	if (!fn)
		bt_raise_ud(cpu);
	bt_vec_binop(cpu, in, op == 0x37 ? CPU_F_SSE4_2 : CPU_F_SSE4_1, fn, false);
}

/* 0F 3A 0C BLENDPS, 0D BLENDPD, 0E PBLENDW, 42 MPSADBW (imm8). */
void bt_op_vec_blend(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_vec_len(in);
	bt_vec_fn fn = op == 0x0c ? bt_vl_blendps :
		       op == 0x0d ? bt_vl_blendpd :
		       op == 0x0e ? bt_vl_pblendw :
				    bt_vl_mpsadbw;
	unsigned imm = (unsigned)in->imm & 0xff;
	u8 a[32], b[32], r[32];

	if (!in->p66 || in->rep != BT_REP_NONE)
		bt_raise_ud(cpu);
	/* 256-bit BLENDPS/PD are AVX; PBLENDW and MPSADBW AVX2. */
	bt_vec_check(cpu, in, len == 32 ? (op <= 0x0d ? CPU_F_AVX : CPU_F_AVX2) : CPU_F_SSE4_1);
	bt_vec_get(cpu, bt_vec_src1(in), a, len);
	bt_vec_rm(cpu, in, b, len, true);
	for (unsigned l = 0; l < len; l += 16) {
		unsigned li = imm;

		if (l && op == 0x0c)
			li = imm >> 4; /* BLENDPS: bits 7:4 for the upper lane's four floats */
		else if (l && op == 0x0d)
			li = imm >> 2;
		else if (l && op == 0x42)
			li = imm >> 3; /* MPSADBW: bits 5:3 for the upper lane */
		fn(r + l, a + l, b + l, 16, li);
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 38 10 PBLENDVB, 14 BLENDVPS, 15 BLENDVPD: the selector is XMM0 (legacy forms). */
void bt_op_vec_blendv(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, w = op == 0x10 ? 1 : op == 0x14 ? 4 : 8;
	u8 a[16], b[16], m[16], r[16];

	if (!in->p66 || in->rep != BT_REP_NONE || in->vex)
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	bt_vec_get(cpu, in->reg, a, 16);
	bt_vec_rm(cpu, in, b, 16, true);
	bt_vec_get(cpu, 0, m, 16);
	for (unsigned i = 0; i < 16; i += w)
		memcpy(r + i, (m[i + w - 1] & 0x80) ? b + i : a + i, w);
	bt_vec_set(cpu, in, in->reg, r, 16);
}

/* 0F 38 17 PTEST: ZF = (a AND b) == 0, CF = (NOT a AND b) == 0, the rest clear. */
void bt_op_vec_ptest(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_vec_len(in);
	u8 a[32], b[32];
	bool zf = true, cf = true;

	if (!in->p66 || in->rep != BT_REP_NONE || (in->vex && in->vvvv))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	bt_vec_get(cpu, in->reg, a, len);
	bt_vec_rm(cpu, in, b, len, true);
	for (unsigned i = 0; i < len; i++) {
		zf = zf && !(a[i] & b[i]);
		cf = cf && !(~a[i] & b[i]);
	}
	bt_flags_set(cpu, BT_ARITH, (zf ? BT_ZF : 0) | (cf ? BT_CF : 0));
}

/* 0F 38 20-25 PMOVSX, 30-35 PMOVZX: widen the low elements of the source. */
void bt_op_vec_pmovx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	static const u8 from[6] = { 1, 1, 1, 2, 2, 4 }, to[6] = { 2, 4, 8, 4, 8, 8 };
	unsigned op = in->opcode & 0xff, k = op & 7, len = bt_vec_len(in), n;
	bool sign = op < 0x30;
	u8 s[32] = { 0 }, r[32];

	if (!in->p66 || in->rep != BT_REP_NONE || k > 5 || (in->vex && in->vvvv))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, len == 32 ? CPU_F_AVX2 : CPU_F_SSE4_1);
	n = len / to[k] * from[k]; /* bytes read: never aligned */
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, s, 16);
	else
		bt_vec_load(cpu, in, s, n, 0);
	for (unsigned i = 0; i < len / to[k]; i++) {
		u64 v = sign ? (u64)bt_vl_s(s + i * from[k], from[k]) :
			       bt_vl_u(s + i * from[k], from[k]);

		bt_vl_put(r + i * to[k], to[k], v);
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* 0F 38 41 PHMINPOSUW: the smallest unsigned word and its index; 128 bits only. */
void bt_op_vec_phminposuw(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u8 b[16], r[16] = { 0 };
	unsigned best = 0;

	if (!in->p66 || in->rep != BT_REP_NONE || (in->vex && (in->vex_l || in->vvvv)))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	bt_vec_rm(cpu, in, b, 16, true);
	for (unsigned i = 1; i < 8; i++)
		if (bt_vl_u(b + 2 * i, 2) < bt_vl_u(b + 2 * best, 2))
			best = i;
	memcpy(r, b + 2 * best, 2);
	r[2] = (u8)best;
	bt_vec_set(cpu, in, in->reg, r, 16);
}

/* 0F 38 2A MOVNTDQA: an aligned load (the non-temporal hint ignored). */
void bt_op_vec_movntdqa(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned len = bt_vec_len(in);
	u8 v[32];

	if (!in->p66 || in->rep != BT_REP_NONE || in->ea_kind == BT_EA_NONE ||
	    (in->vex && in->vvvv))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, len == 32 ? CPU_F_AVX2 : CPU_F_SSE4_1);
	bt_vec_load(cpu, in, v, len, len);
	bt_vec_set(cpu, in, in->reg, v, len);
}

/*
 * 0F 3A 14 PEXTRB, 15 PEXTRW, 16 PEXTRD/Q, 17 EXTRACTPS: an element to a general register
 * (zero-extended to 32 or 64 bits) or to memory of its own size.
 */
void bt_op_vec_pextr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, w = op == 0x14		    ? 1 :
					     op == 0x15		    ? 2 :
					     op == 0x16 && in->rexw ? 8 :
								      4;
	unsigned sel = (unsigned)in->imm & (16 / w - 1);
	const u8 *s;
	u64 v;

	if (!in->p66 || in->rep != BT_REP_NONE || (in->vex && (in->vex_l || in->vvvv)) ||
	    bt_vec_w1_outside64(cpu, in, op == 0x16))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	s = bt_vec_xmm(cpu, in->reg);
	v = bt_vl_u(s + sel * w, w);
	if (in->ea_kind == BT_EA_NONE)
		bt_set_reg(cpu, in->rm, w == 8 ? 8 : 4, v); /* a 32-bit write zero-extends */
	else
		bt_st(cpu, in->seg, bt_ea_off(cpu, in), w, v);
}

/*
 * 0F 3A 20 PINSRB, 22 PINSRD/Q: a general register or memory element into the destination;
 * 21 INSERTPS: a float from a register (imm[7:6]) or memory to element imm[5:4], then the
 * elements in imm[3:0] zeroed.
 */
void bt_op_vec_pinsr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, imm = (unsigned)in->imm & 0xff;
	unsigned w = op == 0x20 ? 1 : op == 0x22 && in->rexw ? 8 : 4;
	u8 a[16], r[16];
	u64 v;

	if (!in->p66 || in->rep != BT_REP_NONE || (in->vex && in->vex_l) ||
	    bt_vec_w1_outside64(cpu, in, op == 0x22))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	bt_vec_get(cpu, bt_vec_src1(in), a, 16);
	if (op == 0x21) {
		if (in->ea_kind == BT_EA_NONE)
			v = bt_vl_u(bt_vec_xmm(cpu, in->rm) + 4 * (imm >> 6), 4);
		else
			v = bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 4);
		memcpy(r, a, 16);
		bt_vl_put(r + 4 * ((imm >> 4) & 3), 4, v);
		for (unsigned i = 0; i < 4; i++)
			if ((imm >> i) & 1)
				memset(r + 4 * i, 0, 4);
	} else {
		v = in->ea_kind == BT_EA_NONE ? bt_get_reg(cpu, in->rm, w == 8 ? 8 : 4) :
						bt_ld(cpu, in->seg, bt_ea_off(cpu, in), w);
		memcpy(r, a, 16);
		bt_vl_put(r + (imm & (16 / w - 1)) * w, w, v);
	}
	bt_vec_set(cpu, in, in->reg, r, 16);
}

/* F2 0F F0 LDDQU: an unaligned load; F3 0F 16 MOVSHDUP, F3 0F 12 MOVSLDUP, F2 0F 12 MOVDDUP. */
void bt_op_vec_sse3_mov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = bt_vec_len(in);
	u8 s[32], r[32];

	if ((in->vex && in->vvvv) ||
	    (op == 0xf0 && (in->ea_kind == BT_EA_NONE || in->rep != BT_REP_F2)))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE3);
	if (op == 0x12 && in->rep == BT_REP_F2) { /* MOVDDUP: 8 bytes read for 128 bits */
		if (in->ea_kind == BT_EA_NONE)
			bt_vec_get(cpu, in->rm, s, len);
		else
			bt_vec_load(cpu, in, s, len == 32 ? 32 : 8, 0);
		for (unsigned l = 0; l < len; l += 16) {
			memcpy(r + l, s + l, 8);
			memcpy(r + l + 8, s + l, 8);
		}
	} else if (op == 0xf0) {
		bt_vec_load(cpu, in, r, len, 0);
	} else {
		bt_vec_rm(cpu, in, s, len, true);
		for (unsigned i = 0; i < len; i += 8) {
			unsigned k = op == 0x16 ? 4 : 0; /* SH: the odd floats, SL: the even */

			memcpy(r + i, s + i + k, 4);
			memcpy(r + i + 4, s + i + k, 4);
		}
	}
	bt_vec_set(cpu, in, in->reg, r, len);
}

/* ------------------------------------------------------ string compares */

/*
 * PCMPESTRI/M, PCMPISTRI/M (SDM vol. 2B 4.1): imm[1:0] element type (unsigned bytes, unsigned
 * words, signed bytes, signed words), imm[3:2] aggregation (equal any, ranges, equal each,
 * equal ordered), imm[5:4] polarity, imm[6] index (least or most significant) or mask (bits or
 * elements). Explicit lengths from EAX/RAX and EDX/RDX (absolute value, saturated at the
 * element count), implicit ones at the first zero element.
 */
static unsigned bt_str_len(s64 v, unsigned n)
{
	if (v < 0)
		v = v == (s64)(1ull << 63) ? (s64)n : -v;
	return v > (s64)n ? n : (unsigned)v;
}

static s64 bt_str_elem(const u8 *p, unsigned i, unsigned imm)
{
	bool words = imm & 1, sign = imm & 2;

	if (words)
		return sign ? bt_vl_s(p + 2 * i, 2) : (s64)bt_vl_u(p + 2 * i, 2);
	return sign ? (s8)p[i] : p[i];
}

static void bt_op_vec_pcmpstr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, imm = (unsigned)in->imm & 0xff;
	unsigned n = (imm & 1) ? 8 : 16, agg = (imm >> 2) & 3, pol = (imm >> 4) & 3;
	bool explicit_len = !(op & 2), mask_out = !(op & 1);
	unsigned la = n, lb = n, res1 = 0, res2, idx;
	u8 a[16], b[16];
	u64 fl;

	if (!in->p66 || in->rep != BT_REP_NONE || (in->vex && (in->vex_l || in->vvvv)))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_2);
	bt_vec_get(cpu, in->reg, a, 16);
	bt_vec_rm(cpu, in, b, 16, false); /* no alignment required */
	if (explicit_len) {
		unsigned sz = in->rexw ? 8 : 4;

		la = bt_str_len(bt_sext(bt_get_reg(cpu, CPU_RAX, sz), sz), n);
		lb = bt_str_len(bt_sext(bt_get_reg(cpu, CPU_RDX, sz), sz), n);
	} else {
		for (la = 0; la < n && bt_str_elem(a, la, imm); la++)
			;
		for (lb = 0; lb < n && bt_str_elem(b, lb, imm); lb++)
			;
	}
	for (unsigned j = 0; j < n; j++) { /* j: element of b (the string) */
		bool r = false;

		switch (agg) {
		case 0: /* equal any: b[j] is one of a's valid elements */
			for (unsigned i = 0; i < la && j < lb; i++)
				r = r || bt_str_elem(a, i, imm) == bt_str_elem(b, j, imm);
			break;
		case 1: /* ranges: a holds pairs lo, hi */
			for (unsigned i = 0; i + 1 < la + (la & 1) && j < lb; i += 2) {
				s64 lo = bt_str_elem(a, i, imm), v = bt_str_elem(b, j, imm);
				s64 hi = i + 1 < la ? bt_str_elem(a, i + 1, imm) : 0;

				/* An odd last element: its pair compares against an invalid one. */
				r = r || (i + 1 < la && lo <= v && v <= hi);
			}
			break;
		case 2: /* equal each: a[j] == b[j]; both invalid: true; one invalid: false */
			if (j >= la && j >= lb)
				r = true;
			else if (j < la && j < lb)
				r = bt_str_elem(a, j, imm) == bt_str_elem(b, j, imm);
			break;
		default: /* equal ordered: the needle a starts at b[j] (it may run past the end) */
			r = true;
			for (unsigned i = 0; i + j < n && i < la; i++) {
				if (i + j >= lb ||
				    bt_str_elem(a, i, imm) != bt_str_elem(b, i + j, imm)) {
					r = false; /* a valid needle element against none, or another */
					break;
				}
			}
			break;
		}
		res1 |= (unsigned)r << j;
	}
	/* Polarity: 01 negate all, 11 negate the valid elements of b. */
	res2 = res1;
	if (pol == 1)
		res2 = ~res1 & ((1u << n) - 1);
	else if (pol == 3)
		res2 = res1 ^ ((1u << lb) - 1);
	fl = (res2 ? BT_CF : 0) | (lb < n ? BT_ZF : 0) | (la < n ? BT_SF : 0) |
	     ((res2 & 1) ? BT_OF : 0);
	if (mask_out) {
		u8 m[16] = { 0 };

		if (imm & 0x40) { /* expanded: each element all ones or zeros */
			for (unsigned j = 0; j < n; j++)
				if ((res2 >> j) & 1)
					memset(m + j * (16 / n), 0xff, 16 / n);
		} else {
			bt_vl_put(m, 2, res2);
		}
		memcpy(cpu->st.fx.xmm[0], m, 16);
		if (in->vex)
			memset(cpu->st.ymmh[0], 0, 16);
	} else {
		if (!res2)
			idx = n;
		else if (imm & 0x40)
			idx = 31 - (unsigned)__builtin_clz(res2);
		else
			idx = (unsigned)__builtin_ctz(res2);
		bt_set_reg(cpu, CPU_RCX, 4, idx);
	}
	bt_flags_set(cpu, BT_ARITH, fl);
}

/* 0F 3A 60-63. */
void bt_op_vec_pcmpxstrx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_op_vec_pcmpstr(cpu, in);
}

/* ----------------------------------------------------------------- CRC32 */

/* CRC-32C (Castagnoli, 1EDC6F41h), bit-reflected, of size bytes of v onto crc. */
static u32 bt_crc32c(u32 crc, u64 v, unsigned size)
{
	for (unsigned i = 0; i < size * 8; i++) {
		u32 bit = (crc ^ (u32)(v >> i)) & 1;

		crc = (crc >> 1) ^ (bit ? 0x82f63b78u : 0);
	}
	return crc;
}

/* F2 0F 38 F0 CRC32 r32/64, r/m8; F2 0F 38 F1 CRC32 r32/64, r/m16/32/64. */
void bt_op_crc32(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = (in->opcode & 0xff) == 0xf0 ? 1 : in->rexw ? 8 : in->p66 ? 2 : 4;
	u64 src;
	u32 crc;

	if (!bt_has(cpu, CPU_F_SSE4_2) || in->vex)
		bt_raise_ud(cpu);
	src = bt_rm_read(cpu, in, size);
	crc = bt_crc32c((u32)bt_get_reg(cpu, in->reg, 4), src, size);
	bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, crc);
}
