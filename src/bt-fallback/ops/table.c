// SPDX-License-Identifier: MIT
/*
 * Handler tables by opcode (SDM vol. 2D appendix A, tables ).
 * An empty slot decodes to #UD. Prefix bytes never reach these tables.
 */
#include "bt-fallback/ops/ops.h"

#define ALU_ROW(x, f) [x + 0 ... x + 5] = f

// clang-format off
const bt_handler_fn bt_ops_map1[256] = {
	ALU_ROW(0x00, bt_op_add), ALU_ROW(0x08, bt_op_or), ALU_ROW(0x10, bt_op_adc),
	ALU_ROW(0x18, bt_op_sbb), ALU_ROW(0x20, bt_op_and), ALU_ROW(0x28, bt_op_sub),
	ALU_ROW(0x30, bt_op_xor), ALU_ROW(0x38, bt_op_cmp),
	[0x06] = bt_op_push_seg, [0x07] = bt_op_pop_seg, [0x0e] = bt_op_push_seg,
	[0x16] = bt_op_push_seg, [0x17] = bt_op_pop_seg, [0x1e] = bt_op_push_seg,
	[0x1f] = bt_op_pop_seg,
	[0x27] = bt_op_daa_das, [0x2f] = bt_op_daa_das, [0x37] = bt_op_aaa_aas,
	[0x3f] = bt_op_aaa_aas,
	[0x40 ... 0x4f] = bt_op_incdec_reg,
	[0x50 ... 0x57] = bt_op_push_reg, [0x58 ... 0x5f] = bt_op_pop_reg,
	[0x60] = bt_op_pusha, [0x61] = bt_op_popa, [0x62] = bt_op_bound, [0x63] = bt_op_movx,
	[0x68] = bt_op_push_imm, [0x69] = bt_op_imul, [0x6a] = bt_op_push_imm,
	[0x6b] = bt_op_imul, [0x6c ... 0x6f] = bt_op_string,
	[0x70 ... 0x7f] = bt_op_jcc,
	[0x80 ... 0x83] = bt_op_grp1, [0x84] = bt_op_test, [0x85] = bt_op_test,
	[0x86] = bt_op_xchg, [0x87] = bt_op_xchg, [0x88 ... 0x8b] = bt_op_mov,
	[0x8c] = bt_op_mov_from_seg, [0x8d] = bt_op_lea, [0x8e] = bt_op_mov_to_seg,
	[0x8f] = bt_op_pop_rm,
	[0x90 ... 0x97] = bt_op_xchg_ax, [0x98] = bt_op_cbw, [0x99] = bt_op_cwd,
	[0x9a] = bt_op_far_ptr, [0x9b] = bt_op_fwait, [0x9c] = bt_op_pushf, [0x9d] = bt_op_popf,
	[0x9e] = bt_op_sahf, [0x9f] = bt_op_lahf,
	[0xa0 ... 0xa3] = bt_op_mov_moffs, [0xa4 ... 0xa7] = bt_op_string,
	[0xa8] = bt_op_test, [0xa9] = bt_op_test, [0xaa ... 0xaf] = bt_op_string,
	[0xb0 ... 0xbf] = bt_op_mov_imm_reg,
	[0xc0] = bt_op_grp2, [0xc1] = bt_op_grp2, [0xc2] = bt_op_ret, [0xc3] = bt_op_ret,
	[0xc4] = bt_op_lxs, [0xc5] = bt_op_lxs, [0xc6] = bt_op_mov_imm_rm,
	[0xc7] = bt_op_mov_imm_rm, [0xc8] = bt_op_enter, [0xc9] = bt_op_leave,
	[0xca] = bt_op_retf, [0xcb] = bt_op_retf, [0xcc ... 0xce] = bt_op_int,
	[0xcf] = bt_op_iret,
	[0xd0 ... 0xd3] = bt_op_grp2, [0xd4] = bt_op_aam_aad, [0xd5] = bt_op_aam_aad,
	[0xd6] = bt_op_salc, [0xd7] = bt_op_xlat, [0xd8 ... 0xdf] = bt_op_x87,
	[0xe0 ... 0xe3] = bt_op_loop, [0xe4 ... 0xe7] = bt_op_inout, [0xe8] = bt_op_call,
	[0xe9] = bt_op_jmp, [0xea] = bt_op_far_ptr, [0xeb] = bt_op_jmp,
	[0xec ... 0xef] = bt_op_inout,
	[0xf4] = bt_op_hlt, [0xf5] = bt_op_flagop, [0xf6] = bt_op_grp3, [0xf7] = bt_op_grp3,
	[0xf8 ... 0xfd] = bt_op_flagop, [0xfe] = bt_op_grp4, [0xff] = bt_op_grp5,
};

const bt_handler_fn bt_ops_map0f[256] = {
	[0x06] = bt_op_clts, [0x08] = bt_op_invd, [0x09] = bt_op_invd,
	[0x0d] = bt_op_nop, [0x18 ... 0x1f] = bt_op_nop,
	[0x20] = bt_op_mov_cr, [0x21] = bt_op_mov_dr, [0x22] = bt_op_mov_cr, [0x23] = bt_op_mov_dr,
	[0x30] = bt_op_wrmsr, [0x31] = bt_op_rdtsc, [0x32] = bt_op_rdmsr, [0x33] = bt_op_rdpmc,
	[0x40 ... 0x4f] = bt_op_cmov,
	[0x80 ... 0x8f] = bt_op_jcc,
	[0x90 ... 0x9f] = bt_op_setcc,
	[0xa0] = bt_op_push_seg, [0xa1] = bt_op_pop_seg, [0xa2] = bt_op_cpuid,
	[0xa3] = bt_op_bt_reg, [0xa4] = bt_op_shd, [0xa5] = bt_op_shd,
	[0xa8] = bt_op_push_seg, [0xa9] = bt_op_pop_seg,
	[0xab] = bt_op_bt_reg, [0xac] = bt_op_shd, [0xad] = bt_op_shd, [0xaf] = bt_op_imul,
	[0xb0] = bt_op_cmpxchg, [0xb1] = bt_op_cmpxchg, [0xb3] = bt_op_bt_reg,
	[0xb6] = bt_op_movx, [0xb7] = bt_op_movx, [0xb8] = bt_op_popcnt, [0xba] = bt_op_grp8,
	[0xbb] = bt_op_bt_reg, [0xbc] = bt_op_bsf_bsr, [0xbd] = bt_op_bsf_bsr,
	[0xbe] = bt_op_movx, [0xbf] = bt_op_movx,
	[0xc0] = bt_op_xadd, [0xc1] = bt_op_xadd, [0xc7] = bt_op_grp9,
	[0xc8 ... 0xcf] = bt_op_bswap,
	/* System instructions (sys.c) and LSS/LFS/LGS (data.c). */
	[0x00] = bt_op_grp6, [0x01] = bt_op_grp7, [0x02] = bt_op_lar_lsl, [0x03] = bt_op_lar_lsl,
	[0x05] = bt_op_syscall, [0x07] = bt_op_sysret, [0x34] = bt_op_sysenter,
	[0x35] = bt_op_sysexit, [0xb2] = bt_op_lxs, [0xb4] = bt_op_lxs, [0xb5] = bt_op_lxs,
};

const bt_handler_fn bt_ops_map0f38[256] = {
	[0x00 ... 0x0b] = bt_op_vec_ssse3, [0x1c ... 0x1e] = bt_op_vec_ssse3,
	[0x10] = bt_op_vec_blendv, [0x14] = bt_op_vec_blendv, [0x15] = bt_op_vec_blendv,
	[0x17] = bt_op_vec_ptest,
	[0x20 ... 0x25] = bt_op_vec_pmovx, [0x30 ... 0x35] = bt_op_vec_pmovx,
	[0x28] = bt_op_vec_sse41, [0x29] = bt_op_vec_sse41, [0x2a] = bt_op_vec_movntdqa,
	[0x2b] = bt_op_vec_sse41, [0x37 ... 0x40] = bt_op_vec_sse41,
	[0x41] = bt_op_vec_phminposuw,
	[0x82] = bt_op_invpcid, [0xf0] = bt_op_movbe, [0xf1] = bt_op_movbe,
};

const bt_handler_fn bt_ops_map0f3a[256] = {
	[0x08 ... 0x0b] = bt_op_ssefp_round, [0x0c ... 0x0e] = bt_op_vec_blend,
	[0x0f] = bt_op_vec_palignr, [0x14 ... 0x17] = bt_op_vec_pextr,
	[0x20 ... 0x22] = bt_op_vec_pinsr, [0x40] = bt_op_ssefp_dpp, [0x41] = bt_op_ssefp_dpp,
	[0x42] = bt_op_vec_blend, [0x60 ... 0x63] = bt_op_vec_pcmpxstrx,
};

/*
 * The VEX forms of the 0F 38 and 0F 3A maps: the SSSE3..SSE4.2 handlers, which know their VEX
 * forms, and the VEX-only instructions (avx.c). The VEX forms of the 0F map are bt_ops_sse's.
 */
const bt_handler_fn bt_ops_vex0f38[256] = {
	[0x00 ... 0x0b] = bt_op_vec_ssse3, [0x0c ... 0x0d] = bt_op_avx_permilvar,
	[0x0e ... 0x0f] = bt_op_avx_vtest, [0x13] = bt_op_avx_cvtph2ps, [0x16] = bt_op_avx_permd,
	[0x17] = bt_op_vec_ptest, [0x18 ... 0x1a] = bt_op_avx_broadcast,
	[0x1c ... 0x1e] = bt_op_vec_ssse3,
	[0x20 ... 0x25] = bt_op_vec_pmovx, [0x30 ... 0x35] = bt_op_vec_pmovx,
	[0x28] = bt_op_vec_sse41, [0x29] = bt_op_vec_sse41, [0x2a] = bt_op_vec_movntdqa,
	[0x2b] = bt_op_vec_sse41, [0x2c ... 0x2f] = bt_op_avx_maskmov, [0x36] = bt_op_avx_permd,
	[0x37 ... 0x40] = bt_op_vec_sse41, [0x41] = bt_op_vec_phminposuw,
	[0x45 ... 0x47] = bt_op_avx_shiftv, [0x58 ... 0x5a] = bt_op_avx_broadcast,
	[0x78 ... 0x79] = bt_op_avx_broadcast, [0x8c] = bt_op_avx_maskmov,
	[0x8e] = bt_op_avx_maskmov, [0x90 ... 0x93] = bt_op_avx_gather,
	[0x96 ... 0x9f] = bt_op_avx_fma, [0xa6 ... 0xaf] = bt_op_avx_fma,
	[0xb6 ... 0xbf] = bt_op_avx_fma,
	[0xf2] = bt_op_bmi_andn, [0xf3] = bt_op_bmi_grp17, [0xf5] = bt_op_bmi_f5,
	[0xf6] = bt_op_bmi_mulx, [0xf7] = bt_op_bmi_f7,
};

const bt_handler_fn bt_ops_vex0f3a[256] = {
	[0x00 ... 0x01] = bt_op_avx_permq, [0x02] = bt_op_avx_pblendd,
	[0x04 ... 0x05] = bt_op_avx_permilimm, [0x06] = bt_op_avx_perm2x128,
	[0x08 ... 0x0b] = bt_op_ssefp_round, [0x0c ... 0x0e] = bt_op_vec_blend,
	[0x0f] = bt_op_vec_palignr, [0x14 ... 0x17] = bt_op_vec_pextr,
	[0x18] = bt_op_avx_insert128, [0x19] = bt_op_avx_extract128, [0x1d] = bt_op_avx_cvtps2ph,
	[0x20 ... 0x22] = bt_op_vec_pinsr, [0x38] = bt_op_avx_insert128,
	[0x39] = bt_op_avx_extract128, [0x40] = bt_op_ssefp_dpp, [0x41] = bt_op_ssefp_dpp,
	[0x42] = bt_op_vec_blend, [0x46] = bt_op_avx_perm2x128,
	[0x4a ... 0x4c] = bt_op_avx_blendv, [0x60 ... 0x63] = bt_op_vec_pcmpxstrx,
	[0xf0] = bt_op_bmi_rorx,
};

// clang-format on

/*
 * Faster handlers for the commonest forms, chosen once per decoded instruction: register-register ALU ops, MOV and shifts, IMUL and 4/8-byte MOV loads and
 * stores. Each behaves exactly as the generic handler would on that form.
 */
static bt_handler_fn bt_ops_specialise(const struct bt_insn *in, enum bt_mode mode)
{
	unsigned op = in->opcode, sz = in->opsz;
	bool reg = in->ea_kind == BT_EA_NONE;

	if (sz != 4 && sz != 8)
		return in->fn;
	if (op < 0x40 && in->fn != bt_op_ud && (op & 7) <= 3 && (op & 5) == 1 && reg)
		return bt_ops_alu_rr[sz == 8][(op >> 3) & 7]; /* 01, 03, 09, 0B ... 39, 3B */
	if (in->fn == bt_op_grp1 && reg && (op == 0x81 || op == 0x83))
		return bt_ops_alu_ri[sz == 8][in->modrm_reg];
	if (in->fn == bt_op_mov && (op == 0x89 || op == 0x8b)) {
		if (reg)
			return sz == 8 ? bt_op_mov_rr8 : bt_op_mov_rr4;
		if (op == 0x8b)
			return sz == 8 ? bt_op_mov_ld8 : bt_op_mov_ld4;
		return sz == 8 ? bt_op_mov_st8 : bt_op_mov_st4;
	}
	if (in->fn == bt_op_movx)
		return bt_ops_movx_for(in, mode);
	if (in->fn == bt_op_lea && !reg && sz == 8 && in->asz == 8)
		return bt_op_lea8;
	if (in->fn == bt_op_imul)
		return sz == 8 ? bt_op_imul8 : bt_op_imul4;
	if (in->fn == bt_op_grp2 && reg && (op == 0xc1 || op == 0xd1 || op == 0xd3) &&
	    in->modrm_reg >= 4)
		return sz == 8 ? bt_op_shift_r8 : bt_op_shift_r4;
	return in->fn;
}

/* An opcode this CPU model does not have (or an invalid form of one): #UD. */
void bt_op_ud(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_raise_ud(cpu);
}

/* The generic handler of the decoded opcode (NULL: the model has no such instruction). */
static bt_handler_fn bt_ops_generic(const struct bt_insn *in)
{
	unsigned map = in->opcode >> 8, op = in->opcode & 0xff;

	if (in->vex)
		return map == 1 ? bt_ops_sse[op] :
		       map == 2 ? bt_ops_vex0f38[op] :
				  bt_ops_vex0f3a[op];
	if (map == 0)
		return bt_ops_map1[op];
	if (map == 1 && !in->p66 && in->rep == BT_REP_NONE && bt_ops_mmx[op])
		return bt_ops_mmx[op];
	if (map == 1)
		return bt_ops_map0f[op] ? bt_ops_map0f[op] : bt_ops_sse[op];
	if (map == 2)
		return bt_ops_map0f38[op];
	return bt_ops_map0f3a[op];
}

bt_handler_fn bt_ops_plain(const struct bt_insn *in, enum bt_mode mode)
{
	struct bt_insn tmp = *in;

	tmp.fn = in->invalid ? NULL : bt_ops_generic(in);
	return tmp.fn ? bt_ops_specialise(&tmp, mode) : bt_op_ud;
}

bt_handler_fn bt_ops_select(struct bt_insn *in, enum bt_mode mode)
{
	bool xchg_mem = (in->opcode == 0x86 || in->opcode == 0x87) && in->ea_kind != BT_EA_NONE;

	in->fn = bt_ops_plain(in, mode);
	/* LOCK and XCHG with memory: atomic against the other CPUs (ops/lock.c). */
	if (in->fn != bt_op_ud && (in->lock || xchg_mem))
		in->fn = bt_op_locked;
	return in->fn;
}
