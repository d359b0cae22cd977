// SPDX-License-Identifier: MIT
/*
 * The JIT's native vector instructions (docs/bt-jit.md): the SSE2/AVX/AVX2 integer, bitwise and
 * move instructions glibc's string functions run (PCMPEQB, PMINUB, PXOR, POR, PMOVMSKB, MOVDQU,
 * PTEST, VPBROADCASTB, VZEROUPPER and their kin), compiled to the same host instruction.
 *
 * The guest's vector registers stay in struct bt_cpu (XMM in st.fx.xmm, bits 255:128 in
 * st.ymmh): an instruction loads its register operands into host XMM0/XMM1 (YMM: the two halves
 * joined with VINSERTF128), runs the host instruction in its VEX form (for a legacy guest
 * instruction too: the result's low 128 bits are the same, and the host never mixes legacy SSE
 * with AVX state), and stores the result as the guest's encoding says: a legacy form writes
 * bits 127:0 and keeps 255:128, VEX.128 zeroes 255:128, VEX.256 writes both halves (bt_vec_set).
 * A memory operand goes through the inline TLB lookup like an integer one (jit_vec_mem); the
 * slow path reads or writes 16 and 32 bytes through cpu->jit_vtmp, 8 at a time, as the
 * interpreter does. Host XMM registers are caller-saved in the C ABI: nothing is kept in them
 * across instructions; after a 256-bit instruction VZEROUPPER leaves the host's upper state
 * clean for the C code that follows.
 *
 * Each instruction is compiled only in the forms its interpreter handler would run without
 * raising (ops/sse.c, vec.c, avx.c: the mandatory prefix, VEX.vvvv, VEX.W, the CPU model's
 * features); what depends on the CPU state is checked at run time as bt_vec_check does -- CR0.EM,
 * CR0.TS and CR4.OSFXSR for a legacy form, CR4.OSXSAVE, XCR0 and CR0.TS for a VEX one, and the
 * alignment of the A moves and of legacy 16-byte operands -- and a failed check calls the
 * handler, which raises what the interpreter raises. None of these instructions reads or
 * writes MXCSR (no floating point).
 */
#include "bt-fallback/jit/jit_int.h"
#include "bt-fallback/ops/ops.h"

#include <stddef.h>

#define OFF(f)	((s32)offsetof(struct bt_cpu, f))
#define XLO(r)	(OFF(st.fx.xmm) + 16 * (s32)((r)&15)) /* bits 127:0 of vector register r */
#define XHI(r)	(OFF(st.ymmh) + 16 * (s32)((r)&15))   /* bits 255:128 */
#define NO_HOST 0xffu

enum jit_vec_kind {
	JV_NONE,
	JV_BIN,	  /* reg = op(src1, r/m): src1 is reg (legacy) or VEX.vvvv */
	JV_LOAD,  /* reg = r/m */
	JV_STORE, /* r/m = reg */
	JV_MSK,	  /* PMOVMSKB r32, xmm/ymm */
	JV_PTEST, /* flags from reg and r/m */
	JV_BCAST, /* VPBROADCASTB/W/D/Q */
	JV_ZERO,  /* VZEROUPPER, VZEROALL */
	JV_FP,	  /* legacy scalar ADD/SUB/MUL/DIV/MIN/MAX/SQRT SS/SD */
	JV_COMIS, /* legacy (U)COMISS/SD */
	JV_CVTSI, /* legacy CVTSI2SS/SD */
	JV_SHIMM, /* PSRLW/D/Q, PSRAW/D, PSLLW/D/Q, PSRLDQ, PSLLDQ by imm8 */
	JV_PSHUF, /* PSHUFD, PSHUFHW, PSHUFLW */
	JV_MOVD,  /* MOVD/MOVQ xmm, r/m */
	JV_MOVDX, /* MOVD/MOVQ r/m, xmm */
	JV_RORX,  /* RORX (BMI2; a general-register instruction, no flags) */
	JV_BSF,	  /* BSF, TZCNT (general registers; CF/ZF in the lazy flags) */
};

struct jit_vec_form {
	enum jit_vec_kind kind;
	unsigned size;	/* of the memory operand */
	unsigned align; /* it must be aligned to (0: no check) */
};

/* 0F-map ops of the form reg = op(src1, r/m) per 128-bit lane (bt_op_sse_alu, bt_op_sse_lanes). */
static bool jit_vec_lane_op(unsigned op)
{
	switch (op) {
	case 0x54 ... 0x57: /* ANDPS..XORPS, ANDPD..XORPD */
	case 0x60 ... 0x6d: /* unpacks, packs, PCMPGTB/W/D */
	case 0x74 ... 0x76: /* PCMPEQB/W/D */
	case 0xd4:	    /* PADDQ */
	case 0xd5:	    /* PMULLW */
	case 0xd8 ... 0xdf: /* PSUBUSB/W, PMINUB, PAND, PADDUSB/W, PMAXUB, PANDN */
	case 0xe0:	    /* PAVGB */
	case 0xe3 ... 0xe5: /* PAVGW, PMULHUW, PMULHW */
	case 0xe8 ... 0xef: /* PSUBSB/W, PMINSW, POR, PADDSB/W, PMAXSW, PXOR */
	case 0xf4 ... 0xf6: /* PMULUDQ, PMADDWD, PSADBW */
	case 0xf8 ... 0xfe: /* PSUBB..PSUBQ, PADDB..PADDD */
		return true;
	default:
		return false;
	}
}

/*
 * The checks an SSE2 form or its VEX form makes at compile time (bt_sse_check_form: the
 * features; VEX.vvvv = 1111b where the form has no first source). The run-time ones come later.
 */
static bool jit_vec_sse_form(const struct bt_cpu *cpu, const struct bt_insn *in, bool integer,
			     bool nosrc1)
{
	if (!in->vex)
		return bt_has(cpu, CPU_F_SSE2);
	if (nosrc1 && in->vvvv)
		return false;
	return bt_has(cpu, CPU_F_AVX) && (!(in->vex_l && integer) || bt_has(cpu, CPU_F_AVX2));
}

/* What in is, when it can be native; JV_NONE: its handler. */
static struct jit_vec_form jit_vec_classify(const struct bt_cpu *cpu, const struct bt_insn *in)
{
	struct jit_vec_form f = { JV_NONE, 0, 0 };
	unsigned map = in->opcode >> 8, op = in->opcode & 0xff, pfx = bt_vec_pfx(in);
	unsigned len = in->vex && in->vex_l ? 32 : 16;
	bool ps;

	if (in->lock || in->asz != 8)
		return f;
	if (map == 1 && jit_vec_lane_op(op)) {
		ps = op >= 0x54 && op <= 0x57;
		if ((ps ? pfx > 1 : pfx != 1) || !jit_vec_sse_form(cpu, in, !ps, false))
			return f;
		return (struct jit_vec_form){ JV_BIN, len, in->vex ? 0 : 16 };
	}
	if (map == 1 && (op == 0x10 || op == 0x11 || op == 0x28 || op == 0x29)) {
		/* MOVUPS/MOVUPD/MOVAPS/MOVAPD (F3/F2 0F 10/11 are MOVSS/MOVSD) */
		if (pfx > 1 || !jit_vec_sse_form(cpu, in, false, true))
			return f;
		return (struct jit_vec_form){ op & 1 ? JV_STORE : JV_LOAD, len,
					      op >= 0x28 ? len : 0 };
	}
	if (map == 1 && (op == 0x6f || op == 0x7f)) { /* 66: MOVDQA, F3: MOVDQU */
		if ((pfx != 1 && pfx != 2) || !jit_vec_sse_form(cpu, in, false, true))
			return f;
		return (struct jit_vec_form){ op == 0x7f ? JV_STORE : JV_LOAD, len,
					      pfx == 1 ? len : 0 };
	}
	if (map == 1 && op == 0xd7) { /* PMOVMSKB */
		if (pfx != 1 || in->ea_kind != BT_EA_NONE || !jit_vec_sse_form(cpu, in, true, true))
			return f;
		return (struct jit_vec_form){ JV_MSK, 0, 0 };
	}
	if (map == 1 && op == 0x77) { /* VZEROUPPER, VZEROALL (without VEX: EMMS) */
		if (!in->vex || in->vvvv || pfx || !bt_has(cpu, CPU_F_AVX))
			return f;
		return (struct jit_vec_form){ JV_ZERO, 0, 0 };
	}
	if (map == 1 && !in->vex && bt_has(cpu, CPU_F_SSE2)) { /* bt_op_ssefp_*, bt_fp_check */
		if ((op == 0x51 || op == 0x58 || op == 0x59 || (op >= 0x5c && op <= 0x5f)) &&
		    pfx >= 2)
			return (struct jit_vec_form){ JV_FP, pfx == 2 ? 4 : 8, 0 };
		if ((op == 0x2e || op == 0x2f) && pfx <= 1)
			return (struct jit_vec_form){ JV_COMIS, pfx == 1 ? 8 : 4, 0 };
		if (op == 0x2a && pfx >= 2)
			return (struct jit_vec_form){ JV_CVTSI, in->rexw ? 8 : 4, 0 };
	}
	if (map == 1 && op >= 0x71 && op <= 0x73) { /* bt_op_sse_shimm */
		unsigned r = in->modrm_reg;

		if (pfx != 1 || in->ea_kind != BT_EA_NONE ||
		    !(r == 2 || r == 6 || (r == 4 && op != 0x73) ||
		      (op == 0x73 && (r == 3 || r == 7))) ||
		    !jit_vec_sse_form(cpu, in, true, false))
			return f;
		return (struct jit_vec_form){ JV_SHIMM, 0, 0 };
	}
	if (map == 1 && op == 0x70) { /* bt_op_sse_pshuf (no prefix: PSHUFW, MMX) */
		if (pfx == 0 || !jit_vec_sse_form(cpu, in, true, true))
			return f;
		return (struct jit_vec_form){ JV_PSHUF, len, in->vex ? 0 : 16 };
	}
	if (map == 1 && (op == 0x6e || op == 0x7e) && pfx == 1) { /* bt_op_sse_movd */
		if ((in->vex && in->vex_l) || !jit_vec_sse_form(cpu, in, false, true))
			return f;
		return (struct jit_vec_form){ op == 0x6e ? JV_MOVD : JV_MOVDX, in->rexw ? 8 : 4,
					      0 };
	}
	if (map == 2 && op == 0x00 && in->fn == bt_op_vec_ssse3) { /* PSHUFB (bt_vec_binop) */
		if (pfx != 1 || !bt_has(cpu, len == 32 ? CPU_F_AVX2 : CPU_F_SSSE3) ||
		    (in->vex && !bt_has(cpu, CPU_F_AVX)))
			return f;
		return (struct jit_vec_form){ JV_BIN, len, in->vex ? 0 : 16 };
	}
	if (map == 3 && op == 0xf0 && in->fn == bt_op_bmi_rorx) { /* bt_op_bmi_rorx */
		if (in->p66 || in->rep != BT_REP_F2 || !bt_has(cpu, CPU_F_BMI2) || in->vex_l ||
		    in->vvvv)
			return f;
		return (struct jit_vec_form){ JV_RORX, in->rexw ? 8 : 4, 0 };
	}
	if (map == 1 && op == 0xbc && in->fn == bt_op_bsf_bsr && !in->vex &&
	    (in->opsz == 4 || in->opsz == 8))
		return (struct jit_vec_form){ JV_BSF, in->opsz, 0 };
	if (map == 2 && op == 0x17) { /* PTEST, VPTEST (bt_op_vec_ptest) */
		if (pfx != 1 || (in->vex && in->vvvv) || !bt_has(cpu, CPU_F_SSE4_1) ||
		    (in->vex && !bt_has(cpu, CPU_F_AVX)))
			return f;
		return (struct jit_vec_form){ JV_PTEST, len, in->vex ? 0 : 16 };
	}
	if (map == 2 && (op == 0x78 || op == 0x79 || op == 0x58 || op == 0x59)) {
		/* VPBROADCASTB/W/D/Q (bt_op_avx_broadcast: VEX.66.W0, no vvvv, AVX2) */
		if (!in->vex || pfx != 1 || in->vex_w || in->vvvv || !bt_has(cpu, CPU_F_AVX) ||
		    !bt_has(cpu, CPU_F_AVX2))
			return f;
		return (struct jit_vec_form){ JV_BCAST,
					      op == 0x78 ? 1 :
					      op == 0x79 ? 2 :
					      op == 0x58 ? 4 :
							   8,
					      0 };
	}
	return f;
}

/* ---------------------------------------------------------------- emitters */

static struct bt_emit_rm jit_vec_cpu(s32 off)
{
	return bt_rm_mem(BT_H_R15, off);
}

/* Host XMM/YMM h = guest vector register g (l: all 256 bits). */
static void jit_vec_ld(struct bt_emit *e, unsigned h, unsigned g, bool l)
{
	bt_emit_vex(e, 2, 1, false, false, 0x6f, h, 0, jit_vec_cpu(XLO(g))); /* VMOVDQU xmm */
	if (l) {
		bt_emit_vex(e, 1, 3, false, true, 0x18, h, h,
			    jit_vec_cpu(XHI(g))); /* VINSERTF128 */
		bt_emit_u8(e, 1);
	}
}

/* Guest vector register g = host h, as in's encoding writes it (bt_vec_set). */
static void jit_vec_st(struct bt_emit *e, const struct bt_insn *in, unsigned g, unsigned h)
{
	bt_emit_vex(e, 2, 1, false, false, 0x7f, h, 0, jit_vec_cpu(XLO(g))); /* VMOVDQU m, xmm */
	if (in->vex && in->vex_l) {
		bt_emit_vex(e, 1, 3, false, true, 0x19, h, 0,
			    jit_vec_cpu(XHI(g))); /* VEXTRACTF128 */
		bt_emit_u8(e, 1);
	} else if (in->vex) { /* VEX.128 zeroes bits 255:128 */
		bt_emit_vex(e, 0, 1, false, false, 0x57, 1, 1, bt_rm_reg(1)); /* VXORPS xmm1 */
		bt_emit_vex(e, 2, 1, false, false, 0x7f, 1, 0, jit_vec_cpu(XHI(g)));
	}
}

static void jit_vec_vzeroupper(struct bt_emit *e)
{
	bt_emit_u8(e, 0xc5);
	bt_emit_u8(e, 0xf8);
	bt_emit_u8(e, 0x77);
}

/*
 * The instruction on the host: its r/m operand at [RSI] when it is memory (jit_vec_mem), else
 * the guest register. Clobbers XMM0, XMM1 (and the host flags for PTEST, which are the guest's
 * after it).
 */
static void jit_vec_body(struct jit_ctx *c, const struct bt_insn *in)
{
	struct bt_emit *e = jit_emitter(c);
	struct jit_vec_form f = jit_vec_classify(jit_ctx_cpu(c), in);
	unsigned op = in->opcode & 0xff;
	bool l = in->vex && in->vex_l, mem = in->ea_kind != BT_EA_NONE;
	struct bt_emit_rm src = mem ? bt_rm_mem(BT_H_RSI, 0) : jit_vec_cpu(XLO(in->rm));

	switch (f.kind) {
	case JV_BIN:
	case JV_PTEST:
		jit_vec_ld(e, 0, f.kind == JV_BIN && in->vex ? in->vvvv : in->reg, l);
		if (!mem && l) {
			jit_vec_ld(e, 1, in->rm, true);
			src = bt_rm_reg(1);
		}
		if (f.kind == JV_PTEST) {
			bt_emit_vex(e, 1, 2, false, l, 0x17, 0, 0, src);
			break;
		}
		bt_emit_vex(e, in->p66 ? 1 : 0, in->opcode >> 8, false, l, (u8)op, 0, 0, src);
		jit_vec_st(e, in, in->reg, 0);
		break;
	case JV_SHIMM: /* VEX.vvvv is the host destination, r/m the source */
		jit_vec_ld(e, 0, in->rm, l);
		bt_emit_vex(e, 1, 1, false, l, (u8)op, in->modrm_reg, 0, bt_rm_reg(0));
		bt_emit_u8(e, (u8)in->imm);
		jit_vec_st(e, in, in->vex ? in->vvvv : in->rm, 0);
		break;
	case JV_PSHUF:
		if (!mem && l) {
			jit_vec_ld(e, 1, in->rm, true);
			src = bt_rm_reg(1);
		}
		bt_emit_vex(e, bt_vec_pfx(in), 1, false, l, 0x70, 0, 0, src);
		bt_emit_u8(e, (u8)in->imm);
		jit_vec_st(e, in, in->reg, 0);
		break;
	case JV_MOVD: /* zero-extended to 128 bits */
		if (!mem)
			src = bt_rm_reg(jit_gpr_src(c, in->rm, BT_H_RSI));
		bt_emit_vex(e, 1, 1, f.size == 8, false, 0x6e, 0, 0, src);
		jit_vec_st(e, in, in->reg, 0);
		break;
	case JV_MOVDX: {
		unsigned h = mem ? BT_H_RAX : jit_gpr_host(c, in->rm);

		if (h == NO_HOST)
			h = BT_H_RAX;
		bt_emit_mov_r_rm(e, f.size, h, jit_vec_cpu(XLO(in->reg))); /* 4: zero-extended */
		if (mem)
			bt_emit_mov_rm_r(e, f.size, src, h);
		else
			jit_gpr_written(c, in->rm, h);
		break;
	}
	case JV_BSF: { /* the host's TZCNT: CF = source zero, ZF = result zero */
		bool tz = in->rep == BT_REP_F3 && bt_has(jit_ctx_cpu(c), CPU_F_BMI1);
		unsigned h = jit_gpr_host(c, in->reg);
		u8 *skip = NULL;

		if (!mem)
			src = bt_rm_reg(jit_gpr_src(c, in->rm, BT_H_RSI));
		bt_emit_op(e, BT_EMIT_F3 | (f.size == 8 ? BT_EMIT_W : 0), 0xbc0f, 2, BT_H_RAX, src);
		bt_emit_setcc(e, BT_CC_B, BT_H_RDX);
		bt_emit_setcc(e, BT_CC_E, BT_H_RCX);
		if (!tz) /* BSF: a zero source leaves the destination */
			skip = bt_emit_jcc8(e, BT_CC_B);
		if (h == NO_HOST)
			h = BT_H_RAX;
		else
			bt_emit_mov_r_rm(e, f.size, h, bt_rm_reg(BT_H_RAX));
		jit_gpr_written(c, in->reg, h);
		if (skip)
			bt_emit_patch_rel8(skip, e->p);
		/* The lazy flags (BT_LF_HOST: LAHF's byte at bits 15:8): CF bit 8, ZF bit 14. */
		bt_emit_alu_rm_imm(e, 4, 2, jit_vec_cpu(OFF(lf_res)), tz ? ~0x4100 : ~0x4000);
		bt_emit_op(e, 0, 0xb60f, 2, BT_H_RAX, bt_rm_reg(BT_H_RDX)); /* MOVZX */
		bt_emit_shift_imm(e, 4, 4, bt_rm_reg(BT_H_RAX), tz ? 8 : 14);
		bt_emit_alu_rm_r(e, 1, 2, jit_vec_cpu(OFF(lf_res)), BT_H_RAX);
		if (tz) {
			bt_emit_op(e, 0, 0xb60f, 2, BT_H_RAX, bt_rm_reg(BT_H_RCX));
			bt_emit_shift_imm(e, 4, 4, bt_rm_reg(BT_H_RAX), 14);
			bt_emit_alu_rm_r(e, 1, 2, jit_vec_cpu(OFF(lf_res)), BT_H_RAX);
		}
		break;
	}
	case JV_RORX: {
		unsigned h = jit_gpr_host(c, in->reg);

		if (h == NO_HOST)
			h = BT_H_RAX;
		if (!mem)
			src = bt_rm_reg(jit_gpr_src(c, in->rm, BT_H_RSI));
		bt_emit_vex(e, 3, 3, f.size == 8, false, 0xf0, h, 0, src);
		bt_emit_u8(e, (u8)in->imm);
		jit_gpr_written(c, in->reg, h);
		break;
	}
	case JV_LOAD:
		if (mem)
			bt_emit_vex(e, 2, 1, false, l, 0x6f, 0, 0, src);
		else
			jit_vec_ld(e, 0, in->rm, l);
		jit_vec_st(e, in, in->reg, 0);
		break;
	case JV_STORE:
		jit_vec_ld(e, 0, in->reg, l);
		if (mem)
			bt_emit_vex(e, 2, 1, false, l, 0x7f, 0, 0, src);
		else
			jit_vec_st(e, in, in->rm, 0);
		break;
	case JV_BCAST:
		bt_emit_vex(e, 1, 2, false, l, (u8)op, 0, 0, src);
		jit_vec_st(e, in, in->reg, 0);
		break;
	case JV_MSK: {
		unsigned h = jit_gpr_host(c, in->reg);

		if (h == NO_HOST)
			h = BT_H_RAX;
		jit_vec_ld(e, 0, in->rm, l);
		bt_emit_vex(e, 1, 1, false, l, 0xd7, h, 0, bt_rm_reg(0)); /* zero-extended */
		jit_gpr_written(c, in->reg, h);
		break;
	}
	case JV_ZERO:
		bt_emit_vex(e, 0, 1, false, false, 0x57, 0, 0, bt_rm_reg(0)); /* VXORPS ymm0 */
		for (unsigned r = 0; r < 16; r += 2) {
			bt_emit_vex(e, 2, 1, false, true, 0x7f, 0, 0, jit_vec_cpu(XHI(r)));
			if (in->vex_l)
				bt_emit_vex(e, 2, 1, false, true, 0x7f, 0, 0, jit_vec_cpu(XLO(r)));
		}
		l = true;
		break;
	case JV_FP: /* a scalar memory operand into XMM1, or RDX (jit_fp does the rest) */
	case JV_COMIS:
		bt_emit_vex(e, f.size == 8 ? 2 : 1, 1, false, false, f.size == 8 ? 0x7e : 0x6e, 1,
			    0, src); /* VMOVQ, VMOVD */
		break;
	case JV_CVTSI:
		bt_emit_mov_r_rm(e, f.size, BT_H_RDX, src);
		break;
	case JV_NONE:
		break;
	}
	if (l)
		jit_vec_vzeroupper(e);
}

/* LDMXCSR (2) or STMXCSR (3) [R15 + off]. */
static void jit_vec_mxcsr(struct bt_emit *e, unsigned digit, s32 off)
{
	bt_emit_op(e, 0, 0xae0f, 2, digit, jit_vec_cpu(off));
}

/*
 * Scalar floating point under the guest's MXCSR, as bt_fp_enter/bt_fp_leave/bt_fp_flags: the
 * host MXCSR saved in jit_tmp[7:4], the guest's rounding, DAZ and FTZ with every exception
 * masked and the flags clear loaded, the host instruction on XMM0 (the destination) and the
 * source, the host MXCSR back. The flags it raised go into the guest's MXCSR; one the guest has
 * unmasked calls the handler instead (before anything is written), which raises #XM or #UD.
 */
static void jit_fp(struct jit_ctx *c, const struct bt_insn *in, struct jit_vec_form f)
{
	struct bt_emit *e = jit_emitter(c);
	unsigned op = in->opcode & 0xff, pp = in->rep == BT_REP_F3 ? 2 :
					      in->rep == BT_REP_F2 ? 3 :
					      in->p66		   ? 1 :
								     0;
	bool mem = in->ea_kind != BT_EA_NONE;
	struct bt_emit_rm src = mem ? bt_rm_reg(1) : jit_vec_cpu(XLO(in->rm));
	u8 *slow;

	if (mem) {
		jit_vec_mem(c, in, f.size, BT_JIT_LD, 0, jit_vec_body, false);
		if (f.kind == JV_CVTSI)
			src = bt_rm_reg(BT_H_RDX);
	} else if (f.kind == JV_CVTSI) {
		src = bt_rm_reg(jit_gpr_src(c, in->rm, BT_H_RDX));
	}
	jit_flags_spill(c);
	jit_fast_begin(c);
	jit_vec_mxcsr(e, 3, OFF(jit_tmp) + 4);
	bt_emit_mov_r_rm(e, 4, BT_H_RAX, jit_vec_cpu(OFF(st.fx.mxcsr)));
	bt_emit_alu_rm_imm(e, 4, 4, bt_rm_reg(BT_H_RAX), ~0x3f);
	bt_emit_alu_rm_imm(e, 1, 4, bt_rm_reg(BT_H_RAX), 0x1f80);
	bt_emit_mov_rm_r(e, 4, jit_vec_cpu(OFF(jit_tmp)), BT_H_RAX);
	jit_vec_mxcsr(e, 2, OFF(jit_tmp));
	jit_vec_ld(e, 0, in->reg, false);
	if (f.kind == JV_COMIS) {
		bt_emit_vex(e, pp, 1, false, false, (u8)op, 0, 0, src);
		bt_emit_setcc(e, BT_CC_O, BT_H_RAX);
		bt_emit_u8(e, 0x9f); /* LAHF: the flags in AX as jit_flags_to_mem keeps them */
	} else {
		bt_emit_vex(e, pp, 1, f.kind == JV_CVTSI && f.size == 8, false, (u8)op, 0, 0, src);
	}
	jit_vec_mxcsr(e, 3, OFF(jit_tmp));
	jit_vec_mxcsr(e, 2, OFF(jit_tmp) + 4);
	bt_emit_mov_r_rm(e, 4, BT_H_RCX, jit_vec_cpu(OFF(jit_tmp)));
	bt_emit_alu_rm_imm(e, 4, 4, bt_rm_reg(BT_H_RCX), 0x3f); /* raised */
	bt_emit_mov_r_rm(e, 4, BT_H_RDX, jit_vec_cpu(OFF(st.fx.mxcsr)));
	bt_emit_shift_imm(e, 5, 4, bt_rm_reg(BT_H_RDX), 7);
	bt_emit_op(e, 0, 0xf7, 1, 2, bt_rm_reg(BT_H_RDX)); /* NOT: unmasked */
	bt_emit_alu_rm_r(e, 4, 4, bt_rm_reg(BT_H_RDX), BT_H_RCX);
	slow = bt_emit_jcc32(e, BT_CC_NE);
	bt_emit_alu_rm_r(e, 1, 4, jit_vec_cpu(OFF(st.fx.mxcsr)), BT_H_RCX);
	if (f.kind == JV_COMIS) {
		bt_emit_mov_rm_r(e, 2, jit_vec_cpu(OFF(lf_res)), BT_H_RAX);
		bt_emit_mov_rm_imm(e, 4, jit_vec_cpu(OFF(lf_op)), BT_LF_HOST);
	} else {
		jit_vec_st(e, in, in->reg, 0); /* legacy: bits 255:128 kept */
	}
	jit_fast_end(c, in, &slow, 1);
}

/*
 * The run-time checks of bt_vec_check for in's encoding, once per block: a failure calls the
 * handler (#UD, #NM). The host flags are stored first.
 */
static bool jit_vec_guard(struct jit_ctx *c, const struct bt_insn *in)
{
	struct bt_emit *e = jit_emitter(c);
	unsigned *done = jit_ctx_vec_checked(c), need = in->vex ? JIT_VEC_AVX : JIT_VEC_SSE;

	if (*done & need)
		return true;
	if (!jit_tails_room(c, 4)) /* three here, one for an aligned operand */
		return false;
	if (!in->vex) {
		jit_sse_guard(c);
	} else {
		jit_flags_spill(c);
		bt_emit_sized(e, 4, 0, 0xf6, 0xf7, 1, 0, jit_vec_cpu(OFF(st.cr4))); /* TEST imm32 */
		bt_emit_u32(e, (u32)BT_CR4_OSXSAVE);
		jit_tail_call(c, BT_CC_E);
		bt_emit_mov_r_rm(e, 4, BT_H_RAX, jit_vec_cpu(OFF(st.xcr0)));
		bt_emit_alu_rm_imm(e, 6, 4, bt_rm_reg(BT_H_RAX), 6); /* XOR: zero when both set */
		bt_emit_alu_rm_imm(e, 4, 4, bt_rm_reg(BT_H_RAX), 6); /* AND */
		jit_tail_call(c, BT_CC_NE);
		bt_emit_sized(e, 4, 0, 0xf6, 0xf7, 1, 0, jit_vec_cpu(OFF(st.cr0)));
		bt_emit_u32(e, (u32)BT_CR0_TS);
		jit_tail_call(c, BT_CC_NE);
	}
	*done |= need;
	return true;
}

/* The host runs the AVX2 forms (and the VEX forms of everything, legacy guest forms too). */
static bool jit_vec_host(void)
{
	return __builtin_cpu_supports("avx2");
}

/* ------------------------------------------------------ REP MOVS, REP STOS */

/* Guest register g += RCX << sc (RCX: the count), in g's host register or its slot in cpu. */
static void jit_str_advance(struct jit_ctx *c, unsigned g, unsigned sc)
{
	struct bt_emit *e = jit_emitter(c);
	unsigned h = jit_gpr_host(c, g);

	if (h != NO_HOST) {
		bt_emit_lea(e, 8, h, bt_rm_sib(h, BT_H_RCX, sc, 0));
		jit_gpr_written(c, g, h);
		return;
	}
	bt_emit_lea(e, 8, BT_H_RAX, bt_rm_sib(BT_H_NONE, BT_H_RCX, sc, 0));
	bt_emit_alu_rm_r(e, 0, 8, jit_vec_cpu(OFF(st.gpr) + 8 * (s32)g), BT_H_RAX);
}

/*
 * The range [RSI, RSI + (RCX << sc)) within one page and the page in the TLB for acc: RSI = its
 * host address; else to slow (two Jcc fields added at *n).
 */
static void jit_str_span(struct jit_ctx *c, unsigned sc, enum bt_access acc, u8 **slow, unsigned *n)
{
	struct bt_emit *e = jit_emitter(c);

	bt_emit_lea(e, 8, BT_H_RAX, bt_rm_sib(BT_H_RSI, BT_H_RCX, sc, -1));
	bt_emit_alu_r_rm(e, 6, 8, BT_H_RAX, bt_rm_reg(BT_H_RSI)); /* XOR: the page bits differ? */
	bt_emit_sized(e, 8, 0, 0xf6, 0xf7, 1, 0, bt_rm_reg(BT_H_RAX)); /* TEST imm32 */
	bt_emit_u32(e, (u32)BT_PAGE_MASK);
	slow[(*n)++] = bt_emit_jcc32(e, BT_CC_NE);
	slow[(*n)++] = jit_tlb_lookup(c, acc);
}

/*
 * REP MOVS and REP STOS with 64-bit addresses (memcpy, memset): when DF is clear, the count is
 * 1 to a page's worth, each side lies in one page of RAM the TLB has (writable and without code
 * for the destination) and they do not overlap, the host's own REP MOVS/STOS on the host
 * addresses, RDI (and RSI) advanced, RCX zero: what bt_op_string's page-sized fast path does,
 * in one step. Else its handler, which does the other cases.
 */
static bool jit_str(struct jit_ctx *c, const struct bt_insn *in)
{
	struct bt_emit *e = jit_emitter(c);
	unsigned op = in->opcode, sz = in->opsz, sc, h, n = 0;
	bool movs = op == 0xa4 || op == 0xa5;
	u8 *slow[8], *apart;

	if (in->rep == BT_REP_NONE || in->asz != 8 || !(movs || op == 0xaa || op == 0xab) ||
	    (movs && (in->seg == CPU_FS || in->seg == CPU_GS)) || in->lock)
		return false;
	sc = sz == 8 ? 3 : sz == 4 ? 2 : sz == 2 ? 1 : 0;
	jit_flags_spill(c);
	jit_fast_begin(c);
	bt_emit_sized(e, 4, 0, 0xf6, 0xf7, 1, 0, jit_vec_cpu(OFF(st.rflags))); /* TEST imm32 */
	bt_emit_u32(e, BT_DF);
	slow[n++] = bt_emit_jcc32(e, BT_CC_NE);
	h = jit_gpr_src(c, CPU_RCX, BT_H_RCX);
	if (h != BT_H_RCX)
		bt_emit_mov_r_rm(e, 8, BT_H_RCX, bt_rm_reg(h));
	bt_emit_lea(e, 8, BT_H_RAX, bt_rm_mem(BT_H_RCX, -1));
	bt_emit_alu_rm_imm(e, 7, 8, bt_rm_reg(BT_H_RAX), (s32)(BT_PAGE_SIZE >> sc) - 1);
	slow[n++] = bt_emit_jcc32(e, BT_CC_A); /* RCX = 0 too */
	if (movs) {
		h = jit_gpr_src(c, CPU_RSI, BT_H_RSI);
		if (h != BT_H_RSI)
			bt_emit_mov_r_rm(e, 8, BT_H_RSI, bt_rm_reg(h));
		jit_str_span(c, sc, BT_ACC_READ, slow, &n);
		bt_emit_mov_r_rm(e, 8, BT_H_RDX, bt_rm_reg(BT_H_RSI));
	}
	h = jit_gpr_src(c, CPU_RDI, BT_H_RSI);
	if (h != BT_H_RSI)
		bt_emit_mov_r_rm(e, 8, BT_H_RSI, bt_rm_reg(h));
	jit_str_span(c, sc, BT_ACC_WRITE, slow, &n);
	if (movs) { /* overlapping: element by element in the handler */
		bt_emit_lea(e, 8, BT_H_RAX, bt_rm_sib(BT_H_RDX, BT_H_RCX, sc, 0));
		bt_emit_alu_r_rm(e, 7, 8, BT_H_RSI, bt_rm_reg(BT_H_RAX));
		apart = bt_emit_jcc8(e, BT_CC_AE);
		bt_emit_lea(e, 8, BT_H_RAX, bt_rm_sib(BT_H_RSI, BT_H_RCX, sc, 0));
		bt_emit_alu_r_rm(e, 7, 8, BT_H_RDX, bt_rm_reg(BT_H_RAX));
		slow[n++] = bt_emit_jcc32(e, BT_CC_B);
		bt_emit_patch_rel8(apart, e->p);
	}
	bt_emit_mov_rm_r(e, 8, jit_vec_cpu(OFF(jit_tmp)), BT_H_RCX);
	bt_emit_mov_r_rm(e, 8, BT_H_RDI, bt_rm_reg(BT_H_RSI));
	if (movs) {
		bt_emit_mov_r_rm(e, 8, BT_H_RSI, bt_rm_reg(BT_H_RDX));
	} else {
		h = jit_gpr_src(c, CPU_RAX, BT_H_RAX);
		if (h != BT_H_RAX)
			bt_emit_mov_r_rm(e, 8, BT_H_RAX, bt_rm_reg(h));
	}
	bt_emit_op_reg(e, BT_EMIT_F3 | (sz == 8 ? BT_EMIT_W : 0) | (sz == 2 ? BT_EMIT_66 : 0), op,
		       1, 0); /* REP MOVS/STOS */
	bt_emit_mov_r_rm(e, 8, BT_H_RCX, jit_vec_cpu(OFF(jit_tmp)));
	jit_str_advance(c, CPU_RDI, sc);
	if (movs)
		jit_str_advance(c, CPU_RSI, sc);
	h = jit_gpr_host(c, CPU_RCX);
	if (h != NO_HOST) {
		bt_emit_alu_rm_r(e, 6, 4, bt_rm_reg(h), h); /* XOR: RCX = 0 */
		jit_gpr_written(c, CPU_RCX, h);
	} else {
		bt_emit_mov_rm_imm(e, 8, jit_vec_cpu(OFF(st.gpr) + 8 * CPU_RCX), 0);
	}
	jit_fast_end(c, in, slow, n);
	return true;
}

bool jit_vec(struct jit_ctx *c, const struct bt_insn *in)
{
	struct jit_vec_form f = jit_vec_classify(jit_ctx_cpu(c), in);
	unsigned *done = jit_ctx_vec_checked(c), before = *done;

	if (!jit_ctx_long64(c))
		return false;
	if (in->opcode >= 0xa4 && in->opcode <= 0xab)
		return jit_str(c, in);
	if (f.kind == JV_NONE || !jit_vec_host())
		return false;
	if (f.kind == JV_BSF) { /* flags: the lazy state in the BT_LF_HOST form first */
		if (!__builtin_cpu_supports("bmi"))
			return false;
		jit_flags_mem_host(c);
		if (in->ea_kind == BT_EA_NONE)
			jit_vec_body(c, in);
		else
			jit_vec_mem(c, in, f.size, BT_JIT_LD, 0, jit_vec_body, false);
		return true;
	}
	if (f.kind == JV_RORX) { /* no SSE/AVX state checks, no flags */
		if (!__builtin_cpu_supports("bmi2"))
			return false;
		if (in->ea_kind == BT_EA_NONE)
			jit_vec_body(c, in);
		else
			jit_vec_mem(c, in, f.size, BT_JIT_LD, 0, jit_vec_body, false);
		return true;
	}
	if (f.kind == JV_FP || f.kind == JV_COMIS || f.kind == JV_CVTSI) {
		if (!jit_vec_guard(c, in)) {
			*done = before;
			return false;
		}
		jit_fp(c, in, f);
		return true;
	}
	if (!jit_vec_guard(c, in)) {
		*done = before;
		return false;
	}
	if (in->ea_kind == BT_EA_NONE || f.kind == JV_ZERO || f.kind == JV_MSK ||
	    f.kind == JV_SHIMM) {
		jit_vec_body(c, in);
		if (f.kind == JV_PTEST)
			jit_flags_produced(c);
		return true;
	}
	jit_vec_mem(c, in, f.size, f.kind == JV_STORE || f.kind == JV_MOVDX ? BT_JIT_ST : BT_JIT_LD,
		    f.align, jit_vec_body, f.kind == JV_PTEST);
	return true;
}
