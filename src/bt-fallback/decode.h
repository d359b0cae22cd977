/* SPDX-License-Identifier: MIT */
/*
 * The BT engine's decoded-instruction form and the x86 decoder (decode.c) that fills it: what
 * the decoder knows of an instruction (prefixes, operand and address sizes, ModRM/SIB operands,
 * immediates; SDM vol. 2 chapter 2), nothing of how it is executed. The handler is chosen by
 * the translation (ops/table.c bt_ops_select), so decode.c builds and is tested alone.
 */
#ifndef BT_FALLBACK_DECODE_H
#define BT_FALLBACK_DECODE_H

#include "vmm/base/types.h"
#include "vmm/cpu_state.h"

struct bt_cpu;
struct bt_insn;

typedef void (*bt_handler_fn)(struct bt_cpu *cpu, const struct bt_insn *in);

/* Where a memory operand's address comes from. */
enum bt_ea_kind {
	BT_EA_NONE, /* register operand */
	BT_EA_MEM,  /* base/index/scale/disp, any of them absent */
	BT_EA_RIP,  /* RIP-relative (64-bit mode) */
};

#define BT_REG_NONE 0xff
/* Byte-register numbers 16..19 name AH, CH, DH, BH (no REX prefix). */
#define BT_REG_AH 16

enum bt_rep {
	BT_REP_NONE,
	BT_REP_F3, /* REP / REPE */
	BT_REP_F2, /* REPNE */
};

/*
 * One decoded instruction. Operand sizes are in bytes (1, 2, 4, 8); reg is
 * ModRM.reg extended by REX.R, rm the register operand (ModRM.rm or the
 * low opcode bits, extended by REX.B) when ea_kind is BT_EA_NONE.
 */
struct bt_insn {
	bt_handler_fn fn;
	s64 disp;
	u64 imm;
	u16 imm2;   /* ENTER level, far pointer selector */
	u16 opcode; /* map << 8 | byte: 0x0xx one-byte, 0x1xx 0F, 0x2xx 0F38, 0x3xx 0F3A */
	u8 len;
	u8 opsz, asz;
	u8 seg;	    /* effective segment (enum cpu_seg) */
	u8 reg, rm; /* register numbers, byte registers resolved (BT_REG_AH..) */
	u8 base, index, scale;
	u8 ea_kind;
	u8 rep; /* enum bt_rep */
	u8 lock : 1, seg_override : 1, has_rex : 1, rexw : 1, p66 : 1;
	u8 invalid : 1; /* #UD: a LOCK, VEX or 64-bit-invalid form (the decoder's verdict) */
	u8 modrm_reg;	/* raw ModRM.reg (group selector) */
	/*
	 * VEX-encoded (SDM vol. 2A 2.3): vex set, vex_l the vector length (0: 128, 1: 256 bits),
	 * vvvv the extra source register (0-15, already un-inverted; 0 when unused). The mandatory
	 * prefix VEX.pp is in p66/rep as a legacy prefix would be, VEX.W in vex_w (and in rexw in
	 * 64-bit mode, where it selects 64-bit general registers), VEX.mmmmm in the opcode's map.
	 */
	u8 vex : 1, vex_l : 1, vex_w : 1;
	u8 sib : 1; /* a SIB byte was present: sib_index is its index field with REX.X / VEX.X */
	u8 vvvv;
	u8 sib_index; /* a gather's (VSIB) vector index register, whatever its number */
};

/* CPU execution modes, part of a block's key. */
enum bt_mode {
	BT_MODE_REAL,	/* CR0.PE = 0 */
	BT_MODE_PROT16, /* CS.D = 0 */
	BT_MODE_PROT32, /* CS.D = 1 */
	BT_MODE_LONG64, /* EFER.LMA and CS.L */
};

enum bt_decode_result {
	BT_DECODE_OK = 0,
	BT_DECODE_SHORT = -1,	/* needs more bytes than avail */
	BT_DECODE_TOOLONG = -2, /* more than 15 bytes: #GP(0) */
};

/*
 * Decode one instruction at the given bytes (at most avail are valid) into *in; in->fn is left
 * NULL for the translation to fill. Any thread; no state.
 */
int bt_decode(enum bt_mode mode, const u8 *bytes, unsigned avail, struct bt_insn *in);

#endif
