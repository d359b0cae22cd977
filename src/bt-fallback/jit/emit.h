/* SPDX-License-Identifier: MIT */
/*
 * The JIT's x86-64 instruction encoder (the back end, with codebuf.h): legacy prefixes, REX,
 * opcode bytes, ModRM/SIB with disp8/disp32 (Intel SDM vol. 2A chapter 2: 2.1.3 ModRM and SIB,
 * 2.1.5 tables 2-2 and 2-3, 2.2.1 REX; the special cases RSP/R12 as a base needing a SIB,
 * RBP/R13 as a base needing a displacement), immediates and rel32 branches that are patched
 * later. Knows nothing of the guest: jit.c says what to emit. Builds and is tested alone
 * (tests/unit/bt/test_jit_emit.c).
 *
 * Emitting past the end of the buffer never writes out of bounds: the encoder sets full and
 * stops writing; the caller checks it and throws the attempt away.
 */
#ifndef BT_FALLBACK_JIT_EMIT_H
#define BT_FALLBACK_JIT_EMIT_H

#include "vmm/base/types.h"

#include <stddef.h>

/* Host registers, numbered as in the ModRM/REX encoding. */
enum bt_hreg {
	BT_H_RAX,
	BT_H_RCX,
	BT_H_RDX,
	BT_H_RBX,
	BT_H_RSP,
	BT_H_RBP,
	BT_H_RSI,
	BT_H_RDI,
	BT_H_R8,
	BT_H_R9,
	BT_H_R10,
	BT_H_R11,
	BT_H_R12,
	BT_H_R13,
	BT_H_R14,
	BT_H_R15,
	BT_H_NONE = 0xff,
};

/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc, SDM vol. 1 appendix B). */
enum bt_cc {
	BT_CC_O,
	BT_CC_NO,
	BT_CC_B,
	BT_CC_AE,
	BT_CC_E,
	BT_CC_NE,
	BT_CC_BE,
	BT_CC_A,
	BT_CC_S,
	BT_CC_NS,
	BT_CC_P,
	BT_CC_NP,
	BT_CC_L,
	BT_CC_GE,
	BT_CC_LE,
	BT_CC_G,
};

struct bt_emit {
	u8 *p;	   /* next byte */
	u8 *start; /* of the buffer */
	u8 *end;
	bool full; /* something did not fit: the output is incomplete */
};

/* A ModRM r/m operand: a register, or memory [base + index * 2^scale + disp]. */
struct bt_emit_rm {
	bool mem;
	u8 reg;	  /* !mem */
	u8 base;  /* BT_H_NONE: no base (disp32 absolute) */
	u8 index; /* BT_H_NONE: none (RSP cannot be an index) */
	u8 scale; /* 0..3 */
	s32 disp;
};

static inline struct bt_emit_rm bt_rm_reg(unsigned r)
{
	return (struct bt_emit_rm){ .mem = false, .reg = (u8)r };
}

static inline struct bt_emit_rm bt_rm_mem(unsigned base, s32 disp)
{
	return (struct bt_emit_rm){
		.mem = true, .base = (u8)base, .index = BT_H_NONE, .disp = disp
	};
}

static inline struct bt_emit_rm bt_rm_sib(unsigned base, unsigned index, unsigned scale, s32 disp)
{
	return (struct bt_emit_rm){
		.mem = true, .base = (u8)base, .index = (u8)index, .scale = (u8)scale, .disp = disp
	};
}

/* Flags of bt_emit_op. */
#define BT_EMIT_W	 (1u << 0) /* REX.W */
#define BT_EMIT_66	 (1u << 1) /* operand-size prefix */
#define BT_EMIT_F2	 (1u << 2)
#define BT_EMIT_F3	 (1u << 3)
#define BT_EMIT_LOCK	 (1u << 4)
#define BT_EMIT_BYTE_REG (1u << 5) /* the reg field names a byte register (SPL..DIL need a REX) */
#define BT_EMIT_BYTE_RM	 (1u << 6) /* the r/m register is a byte register */

void bt_emit_init(struct bt_emit *e, void *buf, size_t len);

static inline size_t bt_emit_len(const struct bt_emit *e)
{
	return (size_t)(e->p - e->start);
}

void bt_emit_u8(struct bt_emit *e, u8 v);
void bt_emit_u16(struct bt_emit *e, u16 v);
void bt_emit_u32(struct bt_emit *e, u32 v);
void bt_emit_u64(struct bt_emit *e, u64 v);

/*
 * One instruction: prefixes (flags), REX when needed, the opcode (oplen bytes of op, first byte
 * in the low bits: 0x0f, 0x380f...), ModRM with reg in its reg field (a register or an opcode
 * extension) and rm, then SIB and displacement. Immediates follow with bt_emit_u8..u32.
 */
void bt_emit_op(struct bt_emit *e, unsigned flags, u32 op, unsigned oplen, unsigned reg,
		struct bt_emit_rm rm);
/*
 * A VEX-encoded instruction (SDM vol. 2A 2.3.5): pp the implied prefix (0 none, 1 66, 2 F3,
 * 3 F2), map 1 (0F), 2 (0F 38) or 3 (0F 3A), VEX.W, VEX.L (256 bits), op, ModRM reg, VEX.vvvv
 * (a register number, 0 when the form has none), rm. The two-byte form when it can be.
 */
void bt_emit_vex(struct bt_emit *e, unsigned pp, unsigned map, bool w, bool l, u8 op, unsigned reg,
		 unsigned vvvv, struct bt_emit_rm rm);
/* An opcode with no ModRM and the register in its low three bits (PUSH r, BSWAP r, MOV r,imm). */
void bt_emit_op_reg(struct bt_emit *e, unsigned flags, u32 op, unsigned oplen, unsigned reg);

/* The same with the operand size in bytes (1: byte form op - 1 or op8, 2: 66, 8: REX.W). */
void bt_emit_sized(struct bt_emit *e, unsigned size, unsigned flags, u32 op8, u32 op,
		   unsigned oplen, unsigned reg, struct bt_emit_rm rm);

/* Common instructions. size is the operand size in bytes (1, 2, 4, 8). */
void bt_emit_mov_rm_r(struct bt_emit *e, unsigned size, struct bt_emit_rm dst, unsigned src);
void bt_emit_mov_r_rm(struct bt_emit *e, unsigned size, unsigned dst, struct bt_emit_rm src);
/* MOV r/m, imm32 (sign-extended for size 8). */
void bt_emit_mov_rm_imm(struct bt_emit *e, unsigned size, struct bt_emit_rm dst, u32 imm);
/* The shortest MOV r64, imm64. */
void bt_emit_mov_r_imm(struct bt_emit *e, unsigned reg, u64 imm);
/* ALU op (0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP). */
void bt_emit_alu_rm_r(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
		      unsigned src);
void bt_emit_alu_r_rm(struct bt_emit *e, unsigned op, unsigned size, unsigned dst,
		      struct bt_emit_rm src);
void bt_emit_alu_rm_imm(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
			s32 imm);
/* Shift group 2 (0 ROL .. 7 SAR) by an immediate count. */
void bt_emit_shift_imm(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
		       u8 count);
void bt_emit_lea(struct bt_emit *e, unsigned size, unsigned dst, struct bt_emit_rm src);
void bt_emit_test_rm_r(struct bt_emit *e, unsigned size, struct bt_emit_rm a, unsigned b);
void bt_emit_push(struct bt_emit *e, unsigned reg);
void bt_emit_pop(struct bt_emit *e, unsigned reg);
void bt_emit_call_r(struct bt_emit *e, unsigned reg);
void bt_emit_jmp_r(struct bt_emit *e, unsigned reg);
/* CALL to an absolute address (through RAX: the code buffer may be far from the binary). */
void bt_emit_call_abs(struct bt_emit *e, const void *fn);
void bt_emit_ret(struct bt_emit *e);
/* A 5-byte NOP (0F 1F 44 00 00): an entry that can be patched into a JMP rel32. */
void bt_emit_nop5(struct bt_emit *e);
void bt_emit_setcc(struct bt_emit *e, enum bt_cc cc, unsigned reg8);

/*
 * Branches whose target is known later: each returns the address of its rel32 field (NULL when
 * the buffer is full), for bt_emit_patch_rel32 with the address the branch will jump to.
 */
u8 *bt_emit_jmp32(struct bt_emit *e);
u8 *bt_emit_jcc32(struct bt_emit *e, enum bt_cc cc);
/* Short forms; bt_emit_patch_rel8 fails (false) when the target is out of reach. */
u8 *bt_emit_jmp8(struct bt_emit *e);
u8 *bt_emit_jcc8(struct bt_emit *e, enum bt_cc cc);

/*
 * Make the branch whose rel32 field is at field jump to target. field and target are addresses
 * in the same view of the code (both where it is written or both where it runs). false when the
 * distance does not fit in 32 bits.
 */
bool bt_emit_patch_rel32(u8 *field, const u8 *target);
bool bt_emit_patch_rel8(u8 *field, const u8 *target);

#endif
