/* SPDX-License-Identifier: MIT */
/*
 * Instruction handlers of the BT engine, one per opcode or opcode group
 * (SDM vol. 2D appendix A maps). Each runs one decoded instruction on the
 * CPU; faults are raised with bt_raise() after which nothing of the
 * instruction is committed. Used only inside src/bt-fallback.
 */
#ifndef BT_FALLBACK_OPS_OPS_H
#define BT_FALLBACK_OPS_OPS_H

#include "bt-fallback/bt.h"

u64 bt_alu(struct bt_cpu *cpu, unsigned op, unsigned size, u64 a, u64 b);
/* Register-register group-1 handlers by [operand size 8][op]. */
extern const bt_handler_fn bt_ops_alu_rr[2][8];
/* Group 1 with an immediate on a register, by [operand size 8][op]. */
extern const bt_handler_fn bt_ops_alu_ri[2][8];

#define BT_OP(name) void bt_op_##name(struct bt_cpu *cpu, const struct bt_insn *in)

/* alu.c */
BT_OP(add);
BT_OP(or);
BT_OP(adc);
BT_OP(sbb);
BT_OP(and);
BT_OP(sub);
BT_OP(xor);
BT_OP(cmp);
BT_OP(grp1);
BT_OP(test);
BT_OP(incdec_reg);
BT_OP(incdec_rm);
BT_OP(grp3);
BT_OP(grp4);
BT_OP(imul);
BT_OP(imul4);
BT_OP(imul8);
BT_OP(daa_das);
BT_OP(aaa_aas);
BT_OP(aam_aad);
BT_OP(salc);
BT_OP(bound);
BT_OP(setcc);
BT_OP(cmov);
/* bit.c */
BT_OP(grp2);
BT_OP(shift_r4);
BT_OP(shift_r8);
BT_OP(shd);
BT_OP(bt_reg);
BT_OP(grp8);
BT_OP(bsf_bsr);
BT_OP(popcnt);
BT_OP(bswap);
BT_OP(movbe);
/* data.c */
BT_OP(mov);
BT_OP(mov_rr4);
BT_OP(mov_rr8);
BT_OP(mov_ld4);
BT_OP(mov_ld8);
BT_OP(mov_st4);
BT_OP(mov_st8);
BT_OP(mov_imm_rm);
BT_OP(mov_imm_reg);
BT_OP(mov_moffs);
BT_OP(movx);
BT_OP(lea);
BT_OP(lea8);
/* The MOVZX/MOVSX/MOVSXD handler for a 4/8-byte destination, or in->fn. */
bt_handler_fn bt_ops_movx_for(const struct bt_insn *in, enum bt_mode mode);
BT_OP(xchg);
BT_OP(xchg_ax);
BT_OP(nop);
BT_OP(push_reg);
BT_OP(pop_reg);
BT_OP(push_imm);
BT_OP(pop_rm);
BT_OP(push_seg);
BT_OP(pop_seg);
BT_OP(mov_from_seg);
BT_OP(mov_to_seg);
BT_OP(lxs);
BT_OP(pusha);
BT_OP(popa);
BT_OP(cbw);
BT_OP(cwd);
BT_OP(xlat);
BT_OP(sahf);
BT_OP(lahf);
BT_OP(pushf);
BT_OP(popf);
BT_OP(flagop);
BT_OP(cmpxchg);
BT_OP(xadd);
BT_OP(grp9);
BT_OP(cpuid);
/* ctrl.c */
BT_OP(jcc);
BT_OP(jmp);
BT_OP(call);
BT_OP(ret);
BT_OP(loop);
BT_OP(int);
BT_OP(iret);
BT_OP(hlt);
BT_OP(leave);
BT_OP(enter);
BT_OP(far_ptr);
BT_OP(retf);
BT_OP(grp5);
/* sys.c */
BT_OP(grp6);
BT_OP(grp7);
BT_OP(lar_lsl);
BT_OP(arpl);
BT_OP(syscall);
BT_OP(sysret);
BT_OP(sysenter);
BT_OP(sysexit);
/* string.c */
BT_OP(string);
BT_OP(inout);
/* ssefp.c */
BT_OP(ssefp_arith);
BT_OP(ssefp_comis);
BT_OP(ssefp_cvtsi2f);
BT_OP(ssefp_cvtf2si);
/* x87.c */
BT_OP(x87);
void bt_x87_loaded(struct bt_cpu *cpu); /* FCW's reserved bits and ES/B after FXRSTOR/XRSTOR */
BT_OP(fwait);
/* mmx.c */
BT_OP(mmx_alu);
BT_OP(mmx_shimm);
BT_OP(mmx_pshufw);
BT_OP(mmx_mov);
BT_OP(mmx_emms);
BT_OP(mmx_sse);
/* MMX state shared with the SSE forms that take MM operands (mmx.c). */
void bt_mmx_check(struct bt_cpu *cpu);
u64 bt_mmx_get(const struct bt_cpu *cpu, unsigned n);
void bt_mmx_enter(struct bt_cpu *cpu);
void bt_mmx_set(struct bt_cpu *cpu, unsigned n, u64 v);
void bt_maskmov(struct bt_cpu *cpu, const struct bt_insn *in, const u8 *v, const u8 *mask,
		unsigned n);

/* lock.c: LOCKed instructions and XCHG with memory, atomic against other CPUs. */
BT_OP(locked);
/* The handler an instruction has without the LOCK treatment (ops/table.c). */
bt_handler_fn bt_ops_plain(const struct bt_insn *in, enum bt_mode mode);
/* vec.c: SSE3..SSE4.2 integer and data movement, and the operand helpers of every vector op */
BT_OP(vec_ssse3);
BT_OP(vec_palignr);
BT_OP(vec_sse41);
BT_OP(vec_blend);
BT_OP(vec_blendv);
BT_OP(vec_ptest);
BT_OP(vec_pmovx);
BT_OP(vec_phminposuw);
BT_OP(vec_movntdqa);
BT_OP(vec_pextr);
BT_OP(vec_pinsr);
BT_OP(vec_sse3_mov);
BT_OP(vec_pcmpxstrx);
BT_OP(crc32);

/* The mandatory prefix of an SSE form: 0 none, 1 66, 2 F3, 3 F2 (F3/F2 take precedence). */
static inline unsigned bt_vec_pfx(const struct bt_insn *in)
{
	if (in->rep == BT_REP_F3)
		return 2;
	if (in->rep == BT_REP_F2)
		return 3;
	return in->p66 ? 1 : 0;
}

/* The vector register of len bytes (16: the XMM part; 32: YMM), read and written as the
 * encoding says (a VEX.128 write zeroes bits 255:128, a legacy one keeps them). */
void bt_vec_get(const struct bt_cpu *cpu, unsigned r, u8 *v, unsigned len);
void bt_vec_set(struct bt_cpu *cpu, const struct bt_insn *in, unsigned r, const u8 *v,
		unsigned len);
/* n bytes of the memory operand, #GP(0) unless aligned to align (0: no check). */
void bt_vec_load(struct bt_cpu *cpu, const struct bt_insn *in, u8 *v, unsigned n, unsigned align);
void bt_vec_store(struct bt_cpu *cpu, const struct bt_insn *in, const u8 *v, unsigned n,
		  unsigned align);
/* #UD for a missing feature or an SSE/AVX state not enabled, #NM with CR0.TS. */
void bt_vec_check(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f);
/* ssefp.c: a host operation d = fn(d, b, c) per 16-byte lane under the guest's MXCSR */
typedef void (*bt_fp3_fn)(u8 d[16], const u8 b[16], const u8 c[16]);
void bt_fp_run3(struct bt_cpu *cpu, bt_fp3_fn fn, u8 *d, const u8 *b, const u8 *c, unsigned len);
/* avx.c: VEX-only AVX, AVX2, FMA, F16C; BMI1, BMI2 */
BT_OP(avx_permilvar);
BT_OP(avx_permilimm);
BT_OP(avx_permd);
BT_OP(avx_permq);
BT_OP(avx_perm2x128);
BT_OP(avx_vtest);
BT_OP(avx_broadcast);
BT_OP(avx_insert128);
BT_OP(avx_extract128);
BT_OP(avx_pblendd);
BT_OP(avx_blendv);
BT_OP(avx_shiftv);
BT_OP(avx_maskmov);
BT_OP(avx_gather);
BT_OP(avx_fma);
BT_OP(avx_cvtph2ps);
BT_OP(avx_cvtps2ph);
BT_OP(bmi_andn);
BT_OP(bmi_grp17);
BT_OP(bmi_f5);
BT_OP(bmi_mulx);
BT_OP(bmi_f7);
BT_OP(bmi_rorx);
/* ssefp.c: SSE3 and SSE4.1 floating point */
BT_OP(ssefp_sse3);
BT_OP(ssefp_round);
BT_OP(ssefp_dpp);

/* xsave.c */
BT_OP(xsave);
BT_OP(xsavec);
BT_OP(xrstor);
/* sys.c: the system extensions */
BT_OP(fsgsbase);
BT_OP(rdpid);
BT_OP(invpcid);

/* sysreg_ops.c */
BT_OP(mov_cr);
BT_OP(mov_dr);
BT_OP(clts);
BT_OP(invd);
BT_OP(rdmsr);
BT_OP(wrmsr);
BT_OP(rdtsc);
BT_OP(rdpmc);

#endif
