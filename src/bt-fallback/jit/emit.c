// SPDX-License-Identifier: MIT
/*
 * The JIT's x86-64 encoder (emit.h). Intel SDM vol. 2A 2.1 (instruction format), 2.2.1 (REX,
 * and table 2-4 for the RSP/R12 and RBP/R13 special cases of ModRM and SIB), vol. 2B opcode
 * pages for the instructions below.
 */
#include "bt-fallback/jit/emit.h"

#include <string.h>

void bt_emit_init(struct bt_emit *e, void *buf, size_t len)
{
	e->start = e->p = buf;
	e->end = e->start + len;
	e->full = false;
}

void bt_emit_u8(struct bt_emit *e, u8 v)
{
	if (e->p >= e->end) {
		e->full = true;
		return;
	}
	*e->p++ = v;
}

void bt_emit_u16(struct bt_emit *e, u16 v)
{
	bt_emit_u8(e, (u8)v);
	bt_emit_u8(e, (u8)(v >> 8));
}

void bt_emit_u32(struct bt_emit *e, u32 v)
{
	for (unsigned i = 0; i < 4; i++)
		bt_emit_u8(e, (u8)(v >> (8 * i)));
}

void bt_emit_u64(struct bt_emit *e, u64 v)
{
	for (unsigned i = 0; i < 8; i++)
		bt_emit_u8(e, (u8)(v >> (8 * i)));
}

static void bt_emit_prefixes(struct bt_emit *e, unsigned flags)
{
	if (flags & BT_EMIT_LOCK)
		bt_emit_u8(e, 0xf0);
	if (flags & BT_EMIT_66)
		bt_emit_u8(e, 0x66);
	if (flags & BT_EMIT_F2)
		bt_emit_u8(e, 0xf2);
	if (flags & BT_EMIT_F3)
		bt_emit_u8(e, 0xf3);
}

/* REX from W and the high bits of reg, index and base (rm); forced for SPL..DIL as bytes. */
static void bt_emit_rex(struct bt_emit *e, unsigned flags, unsigned reg, unsigned x, unsigned b,
			bool force)
{
	u8 rex = 0x40;

	if (flags & BT_EMIT_W)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (x != BT_H_NONE && (x & 8))
		rex |= 2;
	if (b != BT_H_NONE && (b & 8))
		rex |= 1;
	if (rex != 0x40 || force)
		bt_emit_u8(e, rex);
}

static void bt_emit_opcode(struct bt_emit *e, u32 op, unsigned oplen)
{
	for (unsigned i = 0; i < oplen; i++)
		bt_emit_u8(e, (u8)(op >> (8 * i)));
}

static bool bt_emit_fits8(s64 v)
{
	return v >= -128 && v <= 127;
}

/* ModRM, SIB and displacement for reg and rm. */
static void bt_emit_modrm(struct bt_emit *e, unsigned reg, struct bt_emit_rm rm)
{
	unsigned r = (reg & 7) << 3, mod;
	unsigned base = rm.base, index = rm.index;

	if (!rm.mem) {
		bt_emit_u8(e, (u8)(0xc0 | r | (rm.reg & 7)));
		return;
	}
	if (base == BT_H_NONE) {
		/* [index * scale + disp32] or [disp32]: a SIB with base 101 and mod 00. */
		bt_emit_u8(e, (u8)(r | 4));
		bt_emit_u8(e,
			   (u8)(rm.scale << 6 | ((index == BT_H_NONE ? 4 : index) & 7) << 3 | 5));
		bt_emit_u32(e, (u32)rm.disp);
		return;
	}
	if (rm.disp == 0 && (base & 7) != BT_H_RBP)
		mod = 0; /* RBP/R13 with mod 00 would mean disp32 / RIP-relative */
	else if (bt_emit_fits8(rm.disp))
		mod = 1;
	else
		mod = 2;
	if (index != BT_H_NONE || (base & 7) == BT_H_RSP) {
		/* A SIB: always for an index, and for RSP/R12 as the base. */
		bt_emit_u8(e, (u8)(mod << 6 | r | 4));
		bt_emit_u8(e, (u8)(rm.scale << 6 | ((index == BT_H_NONE ? 4 : index) & 7) << 3 |
				   (base & 7)));
	} else {
		bt_emit_u8(e, (u8)(mod << 6 | r | (base & 7)));
	}
	if (mod == 1)
		bt_emit_u8(e, (u8)rm.disp);
	else if (mod == 2)
		bt_emit_u32(e, (u32)rm.disp);
}

void bt_emit_op(struct bt_emit *e, unsigned flags, u32 op, unsigned oplen, unsigned reg,
		struct bt_emit_rm rm)
{
	bool force = ((flags & BT_EMIT_BYTE_REG) && reg >= 4 && reg < 8) ||
		     ((flags & BT_EMIT_BYTE_RM) && !rm.mem && rm.reg >= 4 && rm.reg < 8);

	bt_emit_prefixes(e, flags);
	if (rm.mem)
		bt_emit_rex(e, flags, reg, rm.index, rm.base, force);
	else
		bt_emit_rex(e, flags, reg, BT_H_NONE, rm.reg, force);
	bt_emit_opcode(e, op, oplen);
	bt_emit_modrm(e, reg, rm);
}

void bt_emit_vex(struct bt_emit *e, unsigned pp, unsigned map, bool w, bool l, u8 op, unsigned reg,
		 unsigned vvvv, struct bt_emit_rm rm)
{
	unsigned x = rm.mem && rm.index != BT_H_NONE ? rm.index & 8 : 0;
	unsigned b = rm.mem ? (rm.base != BT_H_NONE ? rm.base & 8 : 0) : rm.reg & 8;
	u8 last = (u8)((~vvvv & 15) << 3 | (l ? 4 : 0) | (pp & 3));

	if (map == 1 && !w && !x && !b) {
		bt_emit_u8(e, 0xc5);
		bt_emit_u8(e, (u8)((reg & 8 ? 0 : 0x80) | last));
	} else {
		bt_emit_u8(e, 0xc4);
		bt_emit_u8(e, (u8)((reg & 8 ? 0 : 0x80) | (x ? 0 : 0x40) | (b ? 0 : 0x20) |
				   (map & 31)));
		bt_emit_u8(e, (u8)((w ? 0x80 : 0) | last));
	}
	bt_emit_u8(e, op);
	bt_emit_modrm(e, reg, rm);
}

void bt_emit_op_reg(struct bt_emit *e, unsigned flags, u32 op, unsigned oplen, unsigned reg)
{
	bool force = (flags & BT_EMIT_BYTE_REG) && reg >= 4 && reg < 8;
	u32 last = (op >> (8 * (oplen - 1))) & 0xff;

	bt_emit_prefixes(e, flags);
	bt_emit_rex(e, flags, 0, BT_H_NONE, reg, force);
	if (oplen > 1)
		bt_emit_opcode(e, op, oplen - 1);
	bt_emit_u8(e, (u8)(last | (reg & 7)));
}

void bt_emit_sized(struct bt_emit *e, unsigned size, unsigned flags, u32 op8, u32 op,
		   unsigned oplen, unsigned reg, struct bt_emit_rm rm)
{
	switch (size) {
	case 1:
		bt_emit_op(e, flags | BT_EMIT_BYTE_REG | BT_EMIT_BYTE_RM, op8, oplen, reg, rm);
		return;
	case 2:
		bt_emit_op(e, flags | BT_EMIT_66, op, oplen, reg, rm);
		return;
	case 8:
		bt_emit_op(e, flags | BT_EMIT_W, op, oplen, reg, rm);
		return;
	default:
		bt_emit_op(e, flags, op, oplen, reg, rm);
		return;
	}
}

void bt_emit_mov_rm_r(struct bt_emit *e, unsigned size, struct bt_emit_rm dst, unsigned src)
{
	bt_emit_sized(e, size, 0, 0x88, 0x89, 1, src, dst);
}

void bt_emit_mov_r_rm(struct bt_emit *e, unsigned size, unsigned dst, struct bt_emit_rm src)
{
	bt_emit_sized(e, size, 0, 0x8a, 0x8b, 1, dst, src);
}

void bt_emit_mov_rm_imm(struct bt_emit *e, unsigned size, struct bt_emit_rm dst, u32 imm)
{
	bt_emit_sized(e, size, 0, 0xc6, 0xc7, 1, 0, dst);
	if (size == 1)
		bt_emit_u8(e, (u8)imm);
	else if (size == 2)
		bt_emit_u16(e, (u16)imm);
	else
		bt_emit_u32(e, imm);
}

void bt_emit_mov_r_imm(struct bt_emit *e, unsigned reg, u64 imm)
{
	if (imm <= 0xffffffffull) {
		bt_emit_op_reg(e, 0, 0xb8, 1, reg); /* MOV r32, imm32 zero-extends */
		bt_emit_u32(e, (u32)imm);
	} else if ((u64)(s64)(s32)imm == imm) {
		bt_emit_op(e, BT_EMIT_W, 0xc7, 1, 0, bt_rm_reg(reg));
		bt_emit_u32(e, (u32)imm);
	} else {
		bt_emit_op_reg(e, BT_EMIT_W, 0xb8, 1, reg);
		bt_emit_u64(e, imm);
	}
}

void bt_emit_alu_rm_r(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
		      unsigned src)
{
	bt_emit_sized(e, size, 0, op * 8, op * 8 + 1, 1, src, dst);
}

void bt_emit_alu_r_rm(struct bt_emit *e, unsigned op, unsigned size, unsigned dst,
		      struct bt_emit_rm src)
{
	bt_emit_sized(e, size, 0, op * 8 + 2, op * 8 + 3, 1, dst, src);
}

void bt_emit_alu_rm_imm(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
			s32 imm)
{
	if (size == 1) {
		bt_emit_sized(e, 1, 0, 0x80, 0x80, 1, op, dst);
		bt_emit_u8(e, (u8)imm);
	} else if (bt_emit_fits8(imm)) {
		bt_emit_sized(e, size, 0, 0x83, 0x83, 1, op, dst);
		bt_emit_u8(e, (u8)imm);
	} else {
		bt_emit_sized(e, size, 0, 0x81, 0x81, 1, op, dst);
		if (size == 2)
			bt_emit_u16(e, (u16)imm);
		else
			bt_emit_u32(e, (u32)imm);
	}
}

void bt_emit_shift_imm(struct bt_emit *e, unsigned op, unsigned size, struct bt_emit_rm dst,
		       u8 count)
{
	bt_emit_sized(e, size, 0, 0xc0, 0xc1, 1, op, dst);
	bt_emit_u8(e, count);
}

void bt_emit_lea(struct bt_emit *e, unsigned size, unsigned dst, struct bt_emit_rm src)
{
	bt_emit_sized(e, size, 0, 0x8d, 0x8d, 1, dst, src);
}

void bt_emit_test_rm_r(struct bt_emit *e, unsigned size, struct bt_emit_rm a, unsigned b)
{
	bt_emit_sized(e, size, 0, 0x84, 0x85, 1, b, a);
}

void bt_emit_push(struct bt_emit *e, unsigned reg)
{
	bt_emit_op_reg(e, 0, 0x50, 1, reg);
}

void bt_emit_pop(struct bt_emit *e, unsigned reg)
{
	bt_emit_op_reg(e, 0, 0x58, 1, reg);
}

void bt_emit_call_r(struct bt_emit *e, unsigned reg)
{
	bt_emit_op(e, 0, 0xff, 1, 2, bt_rm_reg(reg));
}

void bt_emit_jmp_r(struct bt_emit *e, unsigned reg)
{
	bt_emit_op(e, 0, 0xff, 1, 4, bt_rm_reg(reg));
}

void bt_emit_call_abs(struct bt_emit *e, const void *fn)
{
	bt_emit_mov_r_imm(e, BT_H_RAX, (u64)(uintptr_t)fn);
	bt_emit_call_r(e, BT_H_RAX);
}

void bt_emit_ret(struct bt_emit *e)
{
	bt_emit_u8(e, 0xc3);
}

void bt_emit_nop5(struct bt_emit *e)
{
	static const u8 nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

	for (unsigned i = 0; i < sizeof(nop5); i++)
		bt_emit_u8(e, nop5[i]);
}

void bt_emit_setcc(struct bt_emit *e, enum bt_cc cc, unsigned reg8)
{
	bt_emit_op(e, BT_EMIT_BYTE_RM, 0x900f | (u32)cc << 8, 2, 0, bt_rm_reg(reg8));
}

/* The rel32 field just emitted, or NULL when it did not fit. */
static u8 *bt_emit_rel32_field(struct bt_emit *e)
{
	u8 *field = e->p;

	bt_emit_u32(e, 0);
	return e->full ? NULL : field;
}

u8 *bt_emit_jmp32(struct bt_emit *e)
{
	bt_emit_u8(e, 0xe9);
	return bt_emit_rel32_field(e);
}

u8 *bt_emit_jcc32(struct bt_emit *e, enum bt_cc cc)
{
	bt_emit_u8(e, 0x0f);
	bt_emit_u8(e, (u8)(0x80 | cc));
	return bt_emit_rel32_field(e);
}

u8 *bt_emit_jmp8(struct bt_emit *e)
{
	u8 *field;

	bt_emit_u8(e, 0xeb);
	field = e->p;
	bt_emit_u8(e, 0);
	return e->full ? NULL : field;
}

u8 *bt_emit_jcc8(struct bt_emit *e, enum bt_cc cc)
{
	u8 *field;

	bt_emit_u8(e, (u8)(0x70 | cc));
	field = e->p;
	bt_emit_u8(e, 0);
	return e->full ? NULL : field;
}

bool bt_emit_patch_rel32(u8 *field, const u8 *target)
{
	s64 d;
	s32 v;

	if (!field)
		return false;
	d = (s64)((uintptr_t)target - (uintptr_t)(field + 4));
	v = (s32)d;
	if (d != v)
		return false;
	memcpy(field, &v, 4);
	return true;
}

bool bt_emit_patch_rel8(u8 *field, const u8 *target)
{
	s64 d;

	if (!field)
		return false;
	d = (s64)((uintptr_t)target - (uintptr_t)(field + 1));
	if (!bt_emit_fits8(d))
		return false;
	*field = (u8)(s8)d;
	return true;
}
