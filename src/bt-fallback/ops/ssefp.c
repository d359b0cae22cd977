// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 floating point: ADD, SUB, MUL, DIV, MIN, MAX, SQRT in the PS, PD,
 * SS and SD forms, RCPPS/RCPSS and RSQRTPS/RSQRTSS (the host CPU's
 * approximation), CMPccPS/PD/SS/SD, COMISS/COMISD/UCOMISS/UCOMISD,
 * CVTSI2SS/SD, CVT(T)SS2SI and CVT(T)SD2SI, CVTSS2SD/CVTSD2SS, CVTPS2PD/
 * CVTPD2PS, CVTDQ2PS/CVT(T)PS2DQ, CVTDQ2PD/CVT(T)PD2DQ, and the MMX-operand
 * CVTPI2PS/PD, CVT(T)PS2PI, CVT(T)PD2PI (SDM vol. 2; MXCSR
 * and the SIMD floating-point exceptions in vol. 1 11.5 and 10.2.3).
 *
 * The engine runs on x86-64, so each operation is carried out by the same
 * host instruction under the guest's MXCSR rounding, DAZ and FTZ controls
 * with every exception masked; the flags it raises are then merged into
 * the guest MXCSR, and an exception the guest has unmasked becomes #XM
 * (CR4.OSXMMEXCPT) or #UD with the destination left unchanged. The host's
 * own MXCSR is restored around each operation.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

typedef void (*bt_fp_host_fn)(u8 d[16], const u8 s[16]);

#define BT_FP_HOST(name, insn)                                                      \
	static void bt_fp_##name(u8 d[16], const u8 s[16])                          \
	{                                                                           \
		__asm__ volatile("movdqu %0, %%xmm0\n\t"                            \
				 "movdqu %1, %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t" \
				 "movdqu %%xmm0, %0\n\t"                            \
				 : "+m"(*(u8(*)[16])d)                              \
				 : "m"(*(const u8(*)[16])s)                         \
				 : "xmm0", "xmm1");                                 \
	}

// clang-format off
BT_FP_HOST(addps, "addps")
BT_FP_HOST(addpd, "addpd")
BT_FP_HOST(addss, "addss")
BT_FP_HOST(addsd, "addsd")
BT_FP_HOST(subps, "subps")
BT_FP_HOST(subpd, "subpd")
BT_FP_HOST(subss, "subss")
BT_FP_HOST(subsd, "subsd")
BT_FP_HOST(mulps, "mulps")
BT_FP_HOST(mulpd, "mulpd")
BT_FP_HOST(mulss, "mulss")
BT_FP_HOST(mulsd, "mulsd")
BT_FP_HOST(divps, "divps")
BT_FP_HOST(divpd, "divpd")
BT_FP_HOST(divss, "divss")
BT_FP_HOST(divsd, "divsd")
BT_FP_HOST(minps, "minps")
BT_FP_HOST(minpd, "minpd")
BT_FP_HOST(minss, "minss")
BT_FP_HOST(minsd, "minsd")
BT_FP_HOST(maxps, "maxps")
BT_FP_HOST(maxpd, "maxpd")
BT_FP_HOST(maxss, "maxss")
BT_FP_HOST(maxsd, "maxsd")
BT_FP_HOST(sqrtps, "sqrtps")
BT_FP_HOST(sqrtpd, "sqrtpd")
BT_FP_HOST(sqrtss, "sqrtss")
BT_FP_HOST(sqrtsd, "sqrtsd")
BT_FP_HOST(rsqrtps, "rsqrtps")
BT_FP_HOST(rsqrtss, "rsqrtss")
BT_FP_HOST(rcpps, "rcpps")
BT_FP_HOST(rcpss, "rcpss")
BT_FP_HOST(cvtss2sd, "cvtss2sd")
BT_FP_HOST(cvtsd2ss, "cvtsd2ss")
BT_FP_HOST(cvtps2pd, "cvtps2pd") BT_FP_HOST(cvtpd2ps, "cvtpd2ps")
BT_FP_HOST(cvtdq2ps, "cvtdq2ps") BT_FP_HOST(cvtps2dq, "cvtps2dq") BT_FP_HOST(cvttps2dq, "cvttps2dq")
BT_FP_HOST(cvtdq2pd, "cvtdq2pd") BT_FP_HOST(cvtpd2dq, "cvtpd2dq") BT_FP_HOST(cvttpd2dq, "cvttpd2dq")

/* CMPccPS/PD/SS/SD: one host function per form and predicate (imm8 0-7). */
#define BT_FP_CMP(form, n) BT_FP_HOST(cmp##form##n, "cmp" #form " $" #n ",")
#define BT_FP_CMP8(form)                                                                           \
	BT_FP_CMP(form, 0) BT_FP_CMP(form, 1) BT_FP_CMP(form, 2) BT_FP_CMP(form, 3)                \
	BT_FP_CMP(form, 4) BT_FP_CMP(form, 5) BT_FP_CMP(form, 6) BT_FP_CMP(form, 7)
BT_FP_CMP8(ps) BT_FP_CMP8(pd) BT_FP_CMP8(ss) BT_FP_CMP8(sd)
#define BT_FP_CMP_ROW(form)                                                                        \
	{ bt_fp_cmp##form##0, bt_fp_cmp##form##1, bt_fp_cmp##form##2, bt_fp_cmp##form##3,          \
	  bt_fp_cmp##form##4, bt_fp_cmp##form##5, bt_fp_cmp##form##6, bt_fp_cmp##form##7 }
static const bt_fp_host_fn bt_fp_cmps[4][8] = {
	BT_FP_CMP_ROW(ps), BT_FP_CMP_ROW(pd), BT_FP_CMP_ROW(ss), BT_FP_CMP_ROW(sd),
};

/* By opcode (51, 52, 53, 58, 59, 5A, 5C, 5D, 5E, 5F) and prefix (none PS, 66 PD, F3 SS, F2 SD). */
static const bt_fp_host_fn bt_fp_ops[16][4] = {
	[0x1] = { bt_fp_sqrtps, bt_fp_sqrtpd, bt_fp_sqrtss, bt_fp_sqrtsd },
	[0x2] = { bt_fp_rsqrtps, NULL, bt_fp_rsqrtss, NULL },
	[0x3] = { bt_fp_rcpps, NULL, bt_fp_rcpss, NULL },
	[0x8] = { bt_fp_addps, bt_fp_addpd, bt_fp_addss, bt_fp_addsd },
	[0x9] = { bt_fp_mulps, bt_fp_mulpd, bt_fp_mulss, bt_fp_mulsd },
	[0xa] = { bt_fp_cvtps2pd, bt_fp_cvtpd2ps, bt_fp_cvtss2sd, bt_fp_cvtsd2ss },
	[0xb] = { bt_fp_cvtdq2ps, bt_fp_cvtps2dq, bt_fp_cvttps2dq, NULL },
	[0xc] = { bt_fp_subps, bt_fp_subpd, bt_fp_subss, bt_fp_subsd },
	[0xd] = { bt_fp_minps, bt_fp_minpd, bt_fp_minss, bt_fp_minsd },
	[0xe] = { bt_fp_divps, bt_fp_divpd, bt_fp_divss, bt_fp_divsd },
	[0xf] = { bt_fp_maxps, bt_fp_maxpd, bt_fp_maxss, bt_fp_maxsd },
};

// clang-format on

/* Swap the host MXCSR for the guest's controls with every exception masked and flags clear. */
static u32 bt_fp_enter(const struct bt_cpu *cpu)
{
	u32 host, guest = (cpu->st.fx.mxcsr & ~0x3fu) | 0x1f80;

	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(host) : "m"(guest));
	return host;
}

/* Restore the host MXCSR; returns the exception flags the operation raised. */
static u32 bt_fp_leave(u32 host)
{
	u32 now;

	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(now) : "m"(host));
	return now & 0x3f;
}

/* Merge raised flags; an unmasked one is #XM (or #UD without CR4.OSXMMEXCPT). */
static void bt_fp_flags(struct bt_cpu *cpu, u32 raised)
{
	u32 unmasked = raised & ~(cpu->st.fx.mxcsr >> 7) & 0x3f;

	cpu->st.fx.mxcsr |= raised;
	if (unmasked) {
		if (!(cpu->st.cr4 & (1u << 10)))
			bt_raise_ud(cpu);
		bt_raise(cpu, BT_EXC_XM, 0, false);
	}
}

/*
 * Run a three-operand host function on each 16-byte lane of d (len bytes) with b and c under
 * the guest's MXCSR, merge the flags it raised; d is written only when nothing is unmasked.
 */
void bt_fp_run3(struct bt_cpu *cpu, bt_fp3_fn fn, u8 *d, const u8 *b, const u8 *c, unsigned len)
{
	u8 r[32];
	u32 host;

	memcpy(r, d, len);
	host = bt_fp_enter(cpu);
	for (unsigned l = 0; l < len; l += 16)
		fn(r + l, b + l, c + l);
	bt_fp_flags(cpu, bt_fp_leave(host));
	memcpy(d, r, len);
}

static void bt_fp_check(struct bt_cpu *cpu)
{
	if (!bt_has(cpu, CPU_F_SSE2) || (cpu->st.cr0 & 4) || !(cpu->st.cr4 & 0x200))
		bt_raise_ud(cpu);
	if (cpu->st.cr0 & 8)
		bt_raise(cpu, BT_EXC_NM, 0, false);
}

/* The source operand: an XMM register, or memory (16 bytes aligned, or a 4/8-byte scalar). */
static void bt_fp_src(struct bt_cpu *cpu, const struct bt_insn *in, u8 s[16], unsigned size)
{
	memset(s, 0, 16);
	if (in->ea_kind == BT_EA_NONE)
		memcpy(s, cpu->st.fx.xmm[in->rm & 15], 16);
	else
		bt_vec_load(cpu, in, s, size, size == 16 && !in->vex ? 16 : 0);
}

/* The legacy checks (SSE2), or a VEX form's (AVX) with VEX.vvvv = 1111b where nosrc1. */
static void bt_fp_check_form(struct bt_cpu *cpu, const struct bt_insn *in, bool nosrc1)
{
	if (!in->vex) {
		bt_fp_check(cpu);
		return;
	}
	if (nosrc1 && in->vvvv)
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_AVX);
}

/*
 * The VEX compares take a 5-bit predicate (SDM vol. 2A CMPPS table 3-1): 8-31 add the other
 * signalling behaviour and the negated and constant predicates, which only the host's own VEX
 * form computes (AVX in the host is checked by bt_host_check).
 */
#define BT_FP_VHOST(name, insn)                                                              \
	static void bt_fp_##name(u8 d[16], const u8 s[16])                                   \
	{                                                                                    \
		__asm__ volatile("vmovdqu %0, %%xmm0\n\t"                                    \
				 "vmovdqu %1, %%xmm1\n\t" insn " %%xmm1, %%xmm0, %%xmm0\n\t" \
				 "vmovdqu %%xmm0, %0\n\t"                                    \
				 : "+m"(*(u8(*)[16])d)                                       \
				 : "m"(*(const u8(*)[16])s)                                  \
				 : "xmm0", "xmm1");                                          \
	}

// clang-format off
#define BT_FP_VCMP(form, n) BT_FP_VHOST(vcmp##form##n, "vcmp" #form " $" #n ",")
#define BT_FP_VCMP32(form) \
	BT_FP_VCMP(form, 0) BT_FP_VCMP(form, 1) BT_FP_VCMP(form, 2) BT_FP_VCMP(form, 3) \
	BT_FP_VCMP(form, 4) BT_FP_VCMP(form, 5) BT_FP_VCMP(form, 6) BT_FP_VCMP(form, 7) \
	BT_FP_VCMP(form, 8) BT_FP_VCMP(form, 9) BT_FP_VCMP(form, 10) BT_FP_VCMP(form, 11) \
	BT_FP_VCMP(form, 12) BT_FP_VCMP(form, 13) BT_FP_VCMP(form, 14) BT_FP_VCMP(form, 15) \
	BT_FP_VCMP(form, 16) BT_FP_VCMP(form, 17) BT_FP_VCMP(form, 18) BT_FP_VCMP(form, 19) \
	BT_FP_VCMP(form, 20) BT_FP_VCMP(form, 21) BT_FP_VCMP(form, 22) BT_FP_VCMP(form, 23) \
	BT_FP_VCMP(form, 24) BT_FP_VCMP(form, 25) BT_FP_VCMP(form, 26) BT_FP_VCMP(form, 27) \
	BT_FP_VCMP(form, 28) BT_FP_VCMP(form, 29) BT_FP_VCMP(form, 30) BT_FP_VCMP(form, 31)
BT_FP_VCMP32(ps) BT_FP_VCMP32(pd) BT_FP_VCMP32(ss) BT_FP_VCMP32(sd)
#define BT_FP_VCMP_ROW(form) \
	{ bt_fp_vcmp##form##0, bt_fp_vcmp##form##1, bt_fp_vcmp##form##2, bt_fp_vcmp##form##3, \
	bt_fp_vcmp##form##4, bt_fp_vcmp##form##5, bt_fp_vcmp##form##6, bt_fp_vcmp##form##7, \
	bt_fp_vcmp##form##8, bt_fp_vcmp##form##9, bt_fp_vcmp##form##10, bt_fp_vcmp##form##11, \
	bt_fp_vcmp##form##12, bt_fp_vcmp##form##13, bt_fp_vcmp##form##14, bt_fp_vcmp##form##15, \
	bt_fp_vcmp##form##16, bt_fp_vcmp##form##17, bt_fp_vcmp##form##18, bt_fp_vcmp##form##19, \
	bt_fp_vcmp##form##20, bt_fp_vcmp##form##21, bt_fp_vcmp##form##22, bt_fp_vcmp##form##23, \
	bt_fp_vcmp##form##24, bt_fp_vcmp##form##25, bt_fp_vcmp##form##26, bt_fp_vcmp##form##27, \
	bt_fp_vcmp##form##28, bt_fp_vcmp##form##29, bt_fp_vcmp##form##30, bt_fp_vcmp##form##31 }
static const bt_fp_host_fn bt_fp_vcmps[4][32] = {
	BT_FP_VCMP_ROW(ps), BT_FP_VCMP_ROW(pd), BT_FP_VCMP_ROW(ss), BT_FP_VCMP_ROW(sd),
};

// clang-format on

/*
 * 0F 51-53, 58-5F: arithmetic and conversions; 0F C2 CMPcc; 0F E6 CVT*PD*DQ. Legacy and VEX
 * forms: the packed ones lane by lane (VEX.256: both 128-bit lanes), the scalar ones on the low
 * element with the rest from the first source (VEX.vvvv, or the destination), whatever VEX.L.
 * The width-changing conversions widen (PS2PD, DQ2PD: a 128-bit source to 256 bits) or narrow
 * (PD2PS, PD2DQ, TPD2DQ: 256 bits to 128) each half.
 */
void bt_op_ssefp_arith(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), op = in->opcode & 0xff, form = pfx, len, n, rm_len;
	bool scalar = pfx >= 2 && op != 0x5b && op != 0xe6;
	bool unary = !scalar && (op <= 0x53 || op == 0x5a || op == 0x5b || op == 0xe6);
	bool widen = (op == 0x5a && pfx == 0) || (op == 0xe6 && pfx == 2);
	bool narrow = (op == 0x5a && pfx == 1) || (op == 0xe6 && (pfx & 1));
	bt_fp_host_fn fn = bt_fp_ops[op & 0xf][pfx];
	u8 a[32], b[32], r[32];
	u32 host;

	if (op == 0xe6) { /* CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2) */
		static const bt_fp_host_fn e6[4] = { NULL, bt_fp_cvttpd2dq, bt_fp_cvtdq2pd,
						     bt_fp_cvtpd2dq };

		fn = e6[pfx];
	} else if (op == 0xc2) {
		/* legacy SSE ignores imm8[7:3], VEX imm8[7:5] */
		fn = in->vex ? bt_fp_vcmps[form][in->imm & 31] : bt_fp_cmps[form][in->imm & 7];
	}
	if (!fn)
		bt_raise_ud(cpu);
	bt_fp_check_form(cpu, in, unary);
	len = in->vex && in->vex_l && !scalar ? 32 : 16;
	rm_len = scalar ? (pfx == 2 ? 4 : 8) : widen ? len / 2 : len;
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, a, len);
	memset(b, 0, sizeof(b));
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, b, 32);
	else /* legacy: 16-byte packed operands aligned */
		bt_vec_load(cpu, in, b, rm_len, rm_len == 16 && !in->vex ? 16 : 0);
	memset(r, 0, sizeof(r));
	host = bt_fp_enter(cpu);
	for (unsigned l = 0; l < len; l += 16) {
		u8 d[16], s[16];

		memcpy(d, a + l, 16);
		memcpy(s, b + (widen ? l / 2 : l), 16);
		fn(d, s);
		if (narrow)
			memcpy(r + l / 2, d, 8);
		else
			memcpy(r + l, d, 16);
	}
	bt_fp_flags(cpu, bt_fp_leave(host));
	n = narrow ? 16 : len;
	bt_vec_set(cpu, in, in->reg, r, n);
}

/* 0F 2E UCOMISS, 0F 2F COMISS (66: the SD forms): ZF PF CF from the compare, OF SF AF clear. */
void bt_op_ssefp_comis(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in);
	bool sd = pfx == 1, ordered = (in->opcode & 0xff) == 0x2f;
	u8 s[16], d[16];
	u64 fl;
	u32 host;

	if (pfx > 1)
		bt_raise_ud(cpu);
	bt_fp_check_form(cpu, in, true); /* VEX: LIG, no first source */
	bt_fp_src(cpu, in, s, sd ? 8 : 4);
	memcpy(d, cpu->st.fx.xmm[in->reg & 15], 16);
	host = bt_fp_enter(cpu);
	if (sd && ordered)
		__asm__ volatile(
			"movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tcomisd %%xmm1, %%xmm0\n\t"
			"pushfq\n\tpopq %0"
			: "=r"(fl)
			: "m"(d), "m"(s)
			: "xmm0", "xmm1", "cc");
	else if (sd)
		__asm__ volatile(
			"movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tucomisd %%xmm1, %%xmm0\n\t"
			"pushfq\n\tpopq %0"
			: "=r"(fl)
			: "m"(d), "m"(s)
			: "xmm0", "xmm1", "cc");
	else if (ordered)
		__asm__ volatile(
			"movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tcomiss %%xmm1, %%xmm0\n\t"
			"pushfq\n\tpopq %0"
			: "=r"(fl)
			: "m"(d), "m"(s)
			: "xmm0", "xmm1", "cc");
	else
		__asm__ volatile(
			"movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tucomiss %%xmm1, %%xmm0\n\t"
			"pushfq\n\tpopq %0"
			: "=r"(fl)
			: "m"(d), "m"(s)
			: "xmm0", "xmm1", "cc");
	bt_fp_flags(cpu, bt_fp_leave(host));
	bt_flags_set(cpu, BT_ARITH, fl & (BT_ZF | BT_PF | BT_CF));
}

/*
 * 0F/66 0F 2A CVTPI2PS/CVTPI2PD xmm, mm/m64; 2C/2D CVT(T)PS2PI mm, xmm/m64
 * and CVT(T)PD2PI mm, xmm/m128. Done with the packed dword conversions on
 * the low lanes (zero lanes convert exactly and raise nothing). An MM
 * register operand switches the x87 unit to MMX state (TOP 0, all valid).
 */
static void bt_ssefp_cvt_mmx(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff;
	bool pd = bt_vec_pfx(in) == 1;
	u8 s[16], d[16], t[16];
	u64 v;
	u32 host;

	bt_mmx_check(cpu);
	memset(s, 0, 16);
	memset(t, 0, 16);
	if (op == 0x2a) {
		if (in->ea_kind == BT_EA_NONE)
			v = bt_mmx_get(cpu, in->rm);
		else
			v = bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 8);
		memcpy(s, &v, 8);
		memcpy(d, cpu->st.fx.xmm[in->reg & 15], 16);
		host = bt_fp_enter(cpu);
		if (pd)
			bt_fp_cvtdq2pd(t, s);
		else
			bt_fp_cvtdq2ps(t, s);
		bt_fp_flags(cpu, bt_fp_leave(host));
		memcpy(d, t, pd ? 16 : 8);
		if (in->ea_kind == BT_EA_NONE)
			bt_mmx_enter(cpu);
		memcpy(cpu->st.fx.xmm[in->reg & 15], d, 16);
		return;
	}
	bt_fp_src(cpu, in, s, pd ? 16 : 8);
	if (!pd)
		memset(s + 8, 0, 8);
	host = bt_fp_enter(cpu);
	if (op == 0x2c)
		(pd ? bt_fp_cvttpd2dq : bt_fp_cvttps2dq)(t, s);
	else
		(pd ? bt_fp_cvtpd2dq : bt_fp_cvtps2dq)(t, s);
	bt_fp_flags(cpu, bt_fp_leave(host));
	memcpy(&v, t, 8);
	bt_mmx_enter(cpu);
	bt_mmx_set(cpu, in->reg, v);
}

/* F3/F2 0F 2A CVTSI2SS/SD xmm, r/m32/64. */
void bt_op_ssefp_cvtsi2f(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), size = in->rexw ? 8 : 4;
	u8 d[16];
	u64 v;
	u32 host;

	if (pfx < 2) {
		if (in->vex)
			bt_raise_ud(cpu);
		bt_fp_check(cpu);
		bt_ssefp_cvt_mmx(cpu, in); /* CVTPI2PS/PD */
		return;
	}
	bt_fp_check_form(cpu, in, false); /* VEX: LIG, the upper elements from vvvv */
	v = bt_rm_read(cpu, in, size);
	memcpy(d, cpu->st.fx.xmm[(in->vex ? in->vvvv : in->reg) & 15], 16);
	host = bt_fp_enter(cpu);
	if (pfx == 2 && size == 8)
		__asm__ volatile("movdqu %0, %%xmm0\n\tcvtsi2ssq %1, %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "+m"(d)
				 : "r"(v)
				 : "xmm0");
	else if (pfx == 2)
		__asm__ volatile("movdqu %0, %%xmm0\n\tcvtsi2ssl %k1, %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "+m"(d)
				 : "r"(v)
				 : "xmm0");
	else if (size == 8)
		__asm__ volatile("movdqu %0, %%xmm0\n\tcvtsi2sdq %1, %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "+m"(d)
				 : "r"(v)
				 : "xmm0");
	else
		__asm__ volatile("movdqu %0, %%xmm0\n\tcvtsi2sdl %k1, %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "+m"(d)
				 : "r"(v)
				 : "xmm0");
	bt_fp_flags(cpu, bt_fp_leave(host));
	bt_vec_set(cpu, in, in->reg, d, 16);
}

/* F3/F2 0F 2C CVTTSS2SI/CVTTSD2SI, 0F 2D CVTSS2SI/CVTSD2SI r32/64, xmm/m. */
void bt_op_ssefp_cvtf2si(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned pfx = bt_vec_pfx(in), size = in->rexw ? 8 : 4;
	bool trunc = (in->opcode & 0xff) == 0x2c, sd = pfx == 3;
	u8 s[16];
	u64 v;
	u32 host;

	if (pfx < 2) {
		if (in->vex)
			bt_raise_ud(cpu);
		bt_fp_check(cpu);
		bt_ssefp_cvt_mmx(cpu, in); /* CVT(T)PS2PI, CVT(T)PD2PI */
		return;
	}
	bt_fp_check_form(cpu, in, true); /* VEX: LIG, no first source */
	bt_fp_src(cpu, in, s, sd ? 8 : 4);
	host = bt_fp_enter(cpu);
#define BT_FP_CVT(insn, mod)                                               \
	__asm__ volatile("movdqu %1, %%xmm1\n\t" insn " %%xmm1, %" mod "0" \
			 : "=r"(v)                                         \
			 : "m"(s)                                          \
			 : "xmm1")
	if (sd && trunc) {
		if (size == 8)
			BT_FP_CVT("cvttsd2si", "q");
		else
			BT_FP_CVT("cvttsd2si", "k");
	} else if (sd) {
		if (size == 8)
			BT_FP_CVT("cvtsd2si", "q");
		else
			BT_FP_CVT("cvtsd2si", "k");
	} else if (trunc) {
		if (size == 8)
			BT_FP_CVT("cvttss2si", "q");
		else
			BT_FP_CVT("cvttss2si", "k");
	} else {
		if (size == 8)
			BT_FP_CVT("cvtss2si", "q");
		else
			BT_FP_CVT("cvtss2si", "k");
	}
#undef BT_FP_CVT
	bt_fp_flags(cpu, bt_fp_leave(host));
	bt_set_reg(cpu, in->reg, size, v);
}

/* ------------------------------------------------------ SSE3 and SSE4.1 */

// clang-format off
BT_FP_HOST(addsubps, "addsubps") BT_FP_HOST(addsubpd, "addsubpd")
BT_FP_HOST(haddps, "haddps") BT_FP_HOST(haddpd, "haddpd")
BT_FP_HOST(hsubps, "hsubps") BT_FP_HOST(hsubpd, "hsubpd")
BT_FP_HOST(mulss_h, "mulss") BT_FP_HOST(mulsd_h, "mulsd")

/* ROUNDPS/PD/SS/SD: one host function per form and imm8[3:0] (the bits the instruction uses). */
#define BT_FP_RND(form, n) BT_FP_HOST(round##form##n, "round" #form " $" #n ",")
#define BT_FP_RND16(form)                                                                          \
	BT_FP_RND(form, 0) BT_FP_RND(form, 1) BT_FP_RND(form, 2) BT_FP_RND(form, 3)                \
	BT_FP_RND(form, 4) BT_FP_RND(form, 5) BT_FP_RND(form, 6) BT_FP_RND(form, 7)                \
	BT_FP_RND(form, 8) BT_FP_RND(form, 9) BT_FP_RND(form, 10) BT_FP_RND(form, 11)              \
	BT_FP_RND(form, 12) BT_FP_RND(form, 13) BT_FP_RND(form, 14) BT_FP_RND(form, 15)
BT_FP_RND16(ps) BT_FP_RND16(pd) BT_FP_RND16(ss) BT_FP_RND16(sd)
#define BT_FP_RND_ROW(form)                                                                        \
	{ bt_fp_round##form##0, bt_fp_round##form##1, bt_fp_round##form##2, bt_fp_round##form##3,  \
	  bt_fp_round##form##4, bt_fp_round##form##5, bt_fp_round##form##6, bt_fp_round##form##7,  \
	  bt_fp_round##form##8, bt_fp_round##form##9, bt_fp_round##form##10,                       \
	  bt_fp_round##form##11, bt_fp_round##form##12, bt_fp_round##form##13,                     \
	  bt_fp_round##form##14, bt_fp_round##form##15 }
static const bt_fp_host_fn bt_fp_rounds[4][16] = {
	BT_FP_RND_ROW(ps), BT_FP_RND_ROW(pd), BT_FP_RND_ROW(ss), BT_FP_RND_ROW(sd),
};

// clang-format on

/* The vector forms' operands: a (first source), b (the r/m source, len bytes). */
static void bt_fp_vsrc(struct bt_cpu *cpu, const struct bt_insn *in, u8 *a, u8 *b, unsigned len,
		       unsigned rm_len)
{
	bt_vec_get(cpu, in->vex ? in->vvvv : in->reg, a, len);
	memset(b, 0, len);
	if (in->ea_kind == BT_EA_NONE)
		bt_vec_get(cpu, in->rm, b, len);
	else
		bt_vec_load(cpu, in, b, rm_len, !in->vex && rm_len == 16 ? 16 : 0);
}

/* Run fn on each 16-byte lane of a with b under the guest MXCSR, then merge the flags. */
static void bt_fp_lanes(struct bt_cpu *cpu, bt_fp_host_fn fn, u8 *a, const u8 *b, unsigned len)
{
	u32 host = bt_fp_enter(cpu);

	for (unsigned l = 0; l < len; l += 16)
		fn(a + l, b + l);
	bt_fp_flags(cpu, bt_fp_leave(host));
}

/* 66/F2 0F D0 ADDSUBPD/PS, 0F 7C HADDPD/PS, 0F 7D HSUBPD/PS. */
void bt_op_ssefp_sse3(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, len = in->vex && in->vex_l ? 32 : 16;
	bool pd = in->p66 && in->rep == BT_REP_NONE, ps = in->rep == BT_REP_F2;
	bt_fp_host_fn fn;
	u8 a[32], b[32];

	if (!pd && !ps)
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE3);
	fn = op == 0xd0 ? (pd ? bt_fp_addsubpd : bt_fp_addsubps) :
	     op == 0x7c ? (pd ? bt_fp_haddpd : bt_fp_haddps) :
			  (pd ? bt_fp_hsubpd : bt_fp_hsubps);
	bt_fp_vsrc(cpu, in, a, b, len, len);
	bt_fp_lanes(cpu, fn, a, b, len);
	bt_vec_set(cpu, in, in->reg, a, len);
}

/* 66 0F 3A 08 ROUNDPS, 09 ROUNDPD, 0A ROUNDSS, 0B ROUNDSD (imm8[3:0]). */
void bt_op_ssefp_round(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned form = (in->opcode & 0xff) - 8, len = in->vex && in->vex_l ? 32 : 16;
	u8 a[32], b[32];

	if (!in->p66 || in->rep != BT_REP_NONE || (form < 2 && in->vex && in->vvvv))
		bt_raise_ud(cpu); /* VROUNDSS/SD: VEX.L ignored */
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	if (form < 2) { /* packed: one source, rounded in place */
		if (in->ea_kind == BT_EA_NONE)
			bt_vec_get(cpu, in->rm, b, len);
		else
			bt_vec_load(cpu, in, b, len, in->vex ? 0 : 16);
		memcpy(a, b, len);
	} else {
		bt_fp_vsrc(cpu, in, a, b, 16, form == 2 ? 4 : 8);
		len = 16;
	}
	bt_fp_lanes(cpu, bt_fp_rounds[form][in->imm & 15], a, b, len);
	bt_vec_set(cpu, in, in->reg, a, len);
}

/* A scalar add of two floats (w 4) or doubles (w 8) under the entered MXCSR. */
static void bt_fp_add1(u8 *x, const u8 *y, unsigned w)
{
	u8 d[16] = { 0 }, s[16] = { 0 };

	memcpy(d, x, w);
	memcpy(s, y, w);
	(w == 4 ? bt_fp_addss : bt_fp_addsd)(d, s);
	memcpy(x, d, w);
}

/*
 * 66 0F 3A 40 DPPS, 41 DPPD (SDM vol. 2A): the products selected by imm8[7:4] (others +0.0),
 * summed pairwise ((p0 + p1) + (p2 + p3)), the sum to the elements selected by imm8[3:0]
 * (others +0.0); each product and sum rounded as the host's scalar operations do it.
 */
void bt_op_ssefp_dpp(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool pd = (in->opcode & 0xff) == 0x41;
	unsigned w = pd ? 8 : 4, n = 16 / w, imm = (unsigned)in->imm & 0xff;
	unsigned len = in->vex && in->vex_l ? 32 : 16;
	u8 a[32], b[32], r[32];
	u32 host;

	if (!in->p66 || in->rep != BT_REP_NONE || (pd && in->vex && in->vex_l))
		bt_raise_ud(cpu);
	bt_vec_check(cpu, in, CPU_F_SSE4_1);
	bt_fp_vsrc(cpu, in, a, b, len, len);
	memset(r, 0, sizeof(r));
	host = bt_fp_enter(cpu);
	for (unsigned l = 0; l < len; l += 16) {
		u8 t[4][8] = { { 0 } };

		for (unsigned i = 0; i < n; i++) {
			u8 d[16] = { 0 }, s[16] = { 0 };

			if (!((imm >> (4 + i)) & 1))
				continue;
			memcpy(d, a + l + i * w, w);
			memcpy(s, b + l + i * w, w);
			(pd ? bt_fp_mulsd_h : bt_fp_mulss_h)(d, s);
			memcpy(t[i], d, w);
		}
		bt_fp_add1(t[0], t[1], w);
		if (!pd) {
			bt_fp_add1(t[2], t[3], w);
			bt_fp_add1(t[0], t[2], w);
		}
		for (unsigned i = 0; i < n; i++)
			if ((imm >> i) & 1)
				memcpy(r + l + i * w, t[0], w);
	}
	bt_fp_flags(cpu, bt_fp_leave(host));
	bt_vec_set(cpu, in, in->reg, r, len);
}
