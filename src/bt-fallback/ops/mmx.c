// SPDX-License-Identifier: MIT
/*
 * MMX (SDM vol. 1 chapter 9; the instructions in vol. 2 without a 66/F2/F3
 * prefix): MOVD/MOVQ, EMMS, the packed integer set (PADDB/W/D, PSUBB/W/D, the
 * saturating forms, PMULLW/PMULHW, PMADDWD, PCMPEQB/W/D, PCMPGTB/W/D, PACKSSWB/
 * PACKSSDW/PACKUSWB, PUNPCKL and PUNPCKH, PAND/PANDN/POR/PXOR, PSRL/PSRA/
 * PSLL by register and by imm8), and the SSE/SSE2 additions on MM registers
 * (PADDQ, PSUBQ, PMULUDQ, PMULHUW, PAVGB/W, PMINUB/PMAXUB, PMINSW/PMAXSW,
 * PSADBW, PSHUFW; #UD unless the CPUID model has SSE2).
 *
 * Register aliasing (vol. 1 9.5): MMn is the mantissa of physical x87
 * register n; every MMX instruction but EMMS sets TOP to 0 and every tag
 * to valid, a write sets the register's exponent and sign to all ones;
 * EMMS empties the tags
 * (TOP is 0 after it too). A pending unmasked x87 exception is #MF first.
 *
 * As in ssefp.c and x87.c, the host computes: each packed operation runs
 * as the same host MMX instruction on the two 64-bit operands (then EMMS).
 *
 * Also PINSRW/PEXTRW/PMOVMSKB/MOVNTQ on MM registers (SSE). Not yet:
 * MASKMOVQ and the CVTPI2PS-style conversions (#UD).
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

// clang-format off
#define BT_MMX_OPS(X) \
	X(0x60, "punpcklbw") \
	X(0x61, "punpcklwd") \
	X(0x62, "punpckldq") \
	X(0x63, "packsswb") \
	X(0x64, "pcmpgtb") \
	X(0x65, "pcmpgtw") \
	X(0x66, "pcmpgtd") \
	X(0x67, "packuswb") \
	X(0x68, "punpckhbw") \
	X(0x69, "punpckhwd") \
	X(0x6a, "punpckhdq") \
	X(0x6b, "packssdw") \
	X(0x74, "pcmpeqb") \
	X(0x75, "pcmpeqw") \
	X(0x76, "pcmpeqd") \
	X(0xd1, "psrlw") \
	X(0xd2, "psrld") \
	X(0xd3, "psrlq") \
	X(0xd4, "paddq") \
	X(0xd5, "pmullw") \
	X(0xd8, "psubusb") \
	X(0xd9, "psubusw") \
	X(0xda, "pminub") \
	X(0xdb, "pand") \
	X(0xdc, "paddusb") \
	X(0xdd, "paddusw") \
	X(0xde, "pmaxub") \
	X(0xdf, "pandn") \
	X(0xe0, "pavgb") \
	X(0xe1, "psraw") \
	X(0xe2, "psrad") \
	X(0xe3, "pavgw") \
	X(0xe4, "pmulhuw") \
	X(0xe5, "pmulhw") \
	X(0xe8, "psubsb") \
	X(0xe9, "psubsw") \
	X(0xea, "pminsw") \
	X(0xeb, "por") \
	X(0xec, "paddsb") \
	X(0xed, "paddsw") \
	X(0xee, "pmaxsw") \
	X(0xef, "pxor") \
	X(0xf1, "psllw") \
	X(0xf2, "pslld") \
	X(0xf3, "psllq") \
	X(0xf4, "pmuludq") \
	X(0xf5, "pmaddwd") \
	X(0xf6, "psadbw") \
	X(0xf8, "psubb") \
	X(0xf9, "psubw") \
	X(0xfa, "psubd") \
	X(0xfb, "psubq") \
	X(0xfc, "paddb") \
	X(0xfd, "paddw") \
	X(0xfe, "paddd")

// clang-format on

/* d = d op s on the host's MM0 and MM1. */
static bool bt_mmx_host(unsigned op, u64 *d, u64 s)
{
#define BT_MMX_CASE(o, insn)                                                                     \
	case o:                                                                                  \
		__asm__ volatile("movq %0, %%mm0\n\tmovq %1, %%mm1\n\t" insn " %%mm1, %%mm0\n\t" \
				 "movq %%mm0, %0\n\temms"                                        \
				 : "+m"(*d)                                                      \
				 : "m"(s)                                                        \
				 : "mm0", "mm1", "st", "st(1)");                                 \
		return true;

	switch (op) {
		BT_MMX_OPS(BT_MMX_CASE)
	default:
		return false;
	}
#undef BT_MMX_CASE
}

/* #UD with CR0.EM, #NM with CR0.TS, #MF for a pending x87 exception (vol. 3A 2.5, 9.5). */
void bt_mmx_check(struct bt_cpu *cpu)
{
	if (cpu->st.cr0 & 4)
		bt_raise_ud(cpu);
	if (cpu->st.cr0 & 8)
		bt_raise(cpu, BT_EXC_NM, 0, false);
	if ((cpu->st.fx.fsw & 0x80) && (cpu->st.cr0 & 0x20))
		bt_raise(cpu, BT_EXC_MF, 0, false);
}

static unsigned bt_mmx_top(const struct bt_cpu *cpu)
{
	return (cpu->st.fx.fsw >> 11) & 7;
}

/* MMn: the mantissa of physical register n (st[] is in stack order from TOP). */
u64 bt_mmx_get(const struct bt_cpu *cpu, unsigned n)
{
	u64 v;

	memcpy(&v, cpu->st.fx.st[((n & 7) - bt_mmx_top(cpu)) & 7], 8);
	return v;
}

/* Enter MMX state: TOP = 0 (physical order in st[]), every tag valid. */
void bt_mmx_enter(struct bt_cpu *cpu)
{
	u8 phys[8][16];
	unsigned top = bt_mmx_top(cpu);

	for (unsigned i = 0; i < 8; i++)
		memcpy(phys[(top + i) & 7], cpu->st.fx.st[i], 16);
	memcpy(cpu->st.fx.st, phys, sizeof(phys));
	cpu->st.fx.fsw &= (u16)~0x3800u;
	cpu->st.fx.ftw = 0xff;
}

void bt_mmx_set(struct bt_cpu *cpu, unsigned n, u64 v)
{
	memcpy(cpu->st.fx.st[n & 7], &v, 8);
	cpu->st.fx.st[n & 7][8] = 0xff;
	cpu->st.fx.st[n & 7][9] = 0xff;
}

/* The mm/m64 source (m32 for the PUNPCKL forms). */
static u64 bt_mmx_src(struct bt_cpu *cpu, const struct bt_insn *in, unsigned size)
{
	if (in->ea_kind == BT_EA_NONE)
		return bt_mmx_get(cpu, in->rm);
	return bt_ld(cpu, in->seg, bt_ea_off(cpu, in), size);
}

/* The SSE/SSE2 additions to MMX: #UD unless the model has SSE2 (CPUID.1:EDX.SSE/SSE2). */
static void bt_mmx_check_sse(struct bt_cpu *cpu, unsigned op)
{
	switch (op) {
	case 0x70:
	case 0xc4:
	case 0xc5:
	case 0xd4:
	case 0xd7:
	case 0xda:
	case 0xde:
	case 0xe0:
	case 0xe3:
	case 0xe4:
	case 0xe7:
	case 0xea:
	case 0xee:
	case 0xf4:
	case 0xf6:
	case 0xf7:
	case 0xfb:
		if (!bt_has(cpu, CPU_F_SSE2))
			bt_raise_ud(cpu);
		break;
	default:
		break;
	}
}

/*
 * MASKMOVQ/MASKMOVDQU: store the bytes of v whose mask byte has bit 7 set
 * at seg:rDI (DS unless overridden). An all-zero mask accesses nothing;
 * otherwise the whole n-byte span is checked first (as the host CPU does),
 * so a fault writes nothing and reports rDI.
 */
void bt_maskmov(struct bt_cpu *cpu, const struct bt_insn *in, const u8 *v, const u8 *mask,
		unsigned n)
{
	u64 di = bt_get_reg(cpu, CPU_RDI, in->asz), am = bt_mask(in->asz);
	unsigned any = 0;

	for (unsigned i = 0; i < n; i++)
		any |= mask[i] & 0x80;
	if (!any)
		return;
	bt_probe_st(cpu, in->seg, di, n);
	for (unsigned i = 0; i < n; i++)
		if (mask[i] & 0x80)
			bt_st(cpu, in->seg, (di + i) & am, 1, v[i]);
}

/* The two-operand packed operations: MMreg = MMreg op mm/m64. */
void bt_op_mmx_alu(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff;
	u64 d, s;

	bt_mmx_check_sse(cpu, op);
	bt_mmx_check(cpu);
	s = bt_mmx_src(cpu, in, op >= 0x60 && op <= 0x62 ? 4 : 8);
	d = bt_mmx_get(cpu, in->reg);
	if (!bt_mmx_host(op, &d, s))
		bt_raise_ud(cpu);
	bt_mmx_enter(cpu);
	bt_mmx_set(cpu, in->reg, d);
}

/* 0F 71/72/73 /2 /4 /6 ib: shifts by an immediate count, as the register-count forms. */
void bt_op_mmx_shimm(struct bt_cpu *cpu, const struct bt_insn *in)
{
	static const u8 ops[3][8] = {
		[0] = { [2] = 0xd1, [4] = 0xe1, [6] = 0xf1 },
		[1] = { [2] = 0xd2, [4] = 0xe2, [6] = 0xf2 },
		[2] = { [2] = 0xd3, [6] = 0xf3 },
	};
	unsigned op = ops[(in->opcode & 0xff) - 0x71][in->modrm_reg & 7];
	u64 d;

	bt_mmx_check(cpu);
	if (!op || in->ea_kind != BT_EA_NONE)
		bt_raise_ud(cpu);
	d = bt_mmx_get(cpu, in->rm);
	bt_mmx_host(op, &d, in->imm & 0xff);
	bt_mmx_enter(cpu);
	bt_mmx_set(cpu, in->rm, d);
}

/* 0F 70 PSHUFW mm, mm/m64, imm8. */
void bt_op_mmx_pshufw(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 s, d = 0;

	bt_mmx_check_sse(cpu, 0x70);
	bt_mmx_check(cpu);
	s = bt_mmx_src(cpu, in, 8);
	for (unsigned i = 0; i < 4; i++)
		d |= ((s >> (16 * ((in->imm >> (2 * i)) & 3))) & 0xffff) << (16 * i);
	bt_mmx_enter(cpu);
	bt_mmx_set(cpu, in->reg, d);
}

/* 0F 6E MOVD/MOVQ mm, r/m32/64; 0F 7E MOVD/MOVQ r/m32/64, mm; 0F 6F/7F MOVQ. */
void bt_op_mmx_mov(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, size = in->rexw ? 8 : 4;
	u64 v;

	bt_mmx_check(cpu);
	switch (op) {
	case 0x6e:
		v = bt_rm_read(cpu, in, size);
		bt_mmx_enter(cpu);
		bt_mmx_set(cpu, in->reg, v);
		return;
	case 0x7e:
		v = bt_mmx_get(cpu, in->reg);
		bt_rm_write(cpu, in, size, v & bt_mask(size));
		bt_mmx_enter(cpu);
		return;
	case 0x6f:
		v = bt_mmx_src(cpu, in, 8);
		bt_mmx_enter(cpu);
		bt_mmx_set(cpu, in->reg, v);
		return;
	case 0x7f:
		v = bt_mmx_get(cpu, in->reg);
		if (in->ea_kind == BT_EA_NONE) {
			bt_mmx_enter(cpu);
			bt_mmx_set(cpu, in->rm, v);
		} else {
			bt_st(cpu, in->seg, bt_ea_off(cpu, in), 8, v);
			bt_mmx_enter(cpu);
		}
		return;
	}
	bt_raise_ud(cpu);
}

/* 0F C4 PINSRW mm, r32/m16, imm8; 0F C5 PEXTRW r32, mm, imm8; 0F D7 PMOVMSKB r32, mm;
 * 0F E7 MOVNTQ m64, mm (SSE). */
void bt_op_mmx_sse(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 0xff, sh = 16 * (in->imm & 3);
	bool mem = in->ea_kind != BT_EA_NONE;
	u64 v, d;

	bt_mmx_check_sse(cpu, op);
	if (op == 0xe7 ? !mem : (op != 0xc4 && mem))
		bt_raise_ud(cpu); /* C5, D7: register source only; E7: memory only */
	bt_mmx_check(cpu);
	switch (op) {
	case 0xc4:
		v = bt_rm_read(cpu, in, 2);
		d = (bt_mmx_get(cpu, in->reg) & ~(0xffffull << sh)) | (v << sh);
		bt_mmx_enter(cpu);
		bt_mmx_set(cpu, in->reg, d);
		return;
	case 0xc5:
		v = (bt_mmx_get(cpu, in->rm) >> sh) & 0xffff;
		bt_mmx_enter(cpu);
		bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, v);
		return;
	case 0xd7:
		d = bt_mmx_get(cpu, in->rm);
		v = 0;
		for (unsigned i = 0; i < 8; i++)
			v |= ((d >> (8 * i + 7)) & 1) << i;
		bt_mmx_enter(cpu);
		bt_set_reg(cpu, in->reg, in->rexw ? 8 : 4, v);
		return;
	case 0xe7:
		bt_st(cpu, in->seg, bt_ea_off(cpu, in), 8, bt_mmx_get(cpu, in->reg));
		bt_mmx_enter(cpu);
		return;
	case 0xf7: { /* MASKMOVQ mm1, mm2 */
		u8 bv[8], bm[8];

		v = bt_mmx_get(cpu, in->reg);
		d = bt_mmx_get(cpu, in->rm);
		memcpy(bv, &v, 8);
		memcpy(bm, &d, 8);
		bt_maskmov(cpu, in, bv, bm, 8);
		bt_mmx_enter(cpu);
		return;
	}
	}
	bt_raise_ud(cpu);
}

/* 0F 77 EMMS: every tag empty (and TOP 0, as observed). */
void bt_op_mmx_emms(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_mmx_check(cpu);
	bt_mmx_enter(cpu);
	cpu->st.fx.ftw = 0;
}

#define BT_MMX_SLOT(o, insn) [o] = bt_op_mmx_alu,
// clang-format off
const bt_handler_fn bt_ops_mmx[256] = {
	BT_MMX_OPS(BT_MMX_SLOT)
	[0x6e] = bt_op_mmx_mov, [0x6f] = bt_op_mmx_mov, [0x7e] = bt_op_mmx_mov,
	[0x7f] = bt_op_mmx_mov, [0x70] = bt_op_mmx_pshufw, [0x71 ... 0x73] = bt_op_mmx_shimm,
	[0x77] = bt_op_mmx_emms, [0xc4 ... 0xc5] = bt_op_mmx_sse, [0xd7] = bt_op_mmx_sse,
	[0xe7] = bt_op_mmx_sse, [0xf7] = bt_op_mmx_sse,
};
// clang-format on
