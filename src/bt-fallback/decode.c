// SPDX-License-Identifier: MIT
/*
 * x86 instruction decoder for 16-, 32- and 64-bit code into struct bt_insn.
 *
 * Intel SDM vol. 2A chapter 2: legacy prefixes (2.1.1, any order, last
 * segment override and last of F2/F3 win), REX (2.2.1, only directly before
 * the opcode, a REX followed by a legacy prefix is ignored), ModRM/SIB
 * (tables 2-1..2-3, 16-bit forms in table 2-1), RIP-relative addressing
 * (2.2.1.6), operand- and address-size rules in 64-bit mode (2.2.1.2,
 * 2.2.1.3: default-64 and forced-64 instructions), 15-byte limit (2.3.11).
 * Opcode maps: vol. 2D appendix A (tables ).
 *
 * VEX (2.3): the 2-byte (C5) and 3-byte (C4) prefixes, always in 64-bit mode
 * and, in 16/32-bit protected mode, when the next byte's top bits are 11b
 * (otherwise LDS/LES); a legacy 66, F2, F3, LOCK or REX before one is #UD.
 * Outside 64-bit mode VEX.R, X, B and vvvv bit 3 are ignored. EVEX is #UD (no
 * AVX-512). Which opcodes exist is the handler tables' business (ops/table.c):
 * the decoder only marks the forms the SDM makes #UD whatever the model.
 */
#include "bt-fallback/decode.h"

#include <string.h>

/* Decoder attributes per opcode. */
#define D_MODRM	 0x0001u
#define D_I8	 0x0002u /* imm8 */
#define D_I16	 0x0004u /* imm16 */
#define D_IZ	 0x0008u /* imm16/32 by operand size */
#define D_IV	 0x0010u /* imm16/32/64 by operand size */
#define D_REL8	 0x0020u
#define D_RELZ	 0x0040u
#define D_MOFFS	 0x0080u  /* offset of address size */
#define D_BYTE	 0x0100u  /* byte operands */
#define D_DEF64	 0x0200u  /* 64-bit default operand size in 64-bit mode */
#define D_INV64	 0x0400u  /* invalid in 64-bit mode */
#define D_LOCK	 0x0800u  /* LOCK allowed with a memory destination */
#define D_ENTER	 0x1000u  /* imm16 + imm8 */
#define D_FAR	 0x2000u  /* ptr16:16/32 */
#define D_F64	 0x4000u  /* operand size forced to 64 in 64-bit mode */
#define D_RMB	 0x8000u  /* r/m is a byte operand, reg is not */
#define D_GRP3	 0x10000u /* F6/F7: immediate only for /0 and /1 */
#define D_RMW	 0x20000u /* r/m operand is a word (MOVZX/MOVSX Ew) */
#define D_MODREG 0x40000u /* ModRM.mod ignored, always a register (MOV CRn/DRn) */

#define ALU(x)                                                                       \
	[x + 0] = D_MODRM | D_BYTE | D_LOCK, [x + 1] = D_MODRM | D_LOCK,             \
	     [x + 2] = D_MODRM | D_BYTE, [x + 3] = D_MODRM, [x + 4] = D_BYTE | D_I8, \
	     [x + 5] = D_IZ

// clang-format off
static const u32 bt_decode_map1[256] = {
	ALU(0x00), ALU(0x08), ALU(0x10), ALU(0x18), ALU(0x20), ALU(0x28), ALU(0x30), ALU(0x38),
	[0x06] = D_INV64, [0x07] = D_INV64, [0x0e] = D_INV64, [0x16] = D_INV64, [0x17] = D_INV64,
	[0x1e] = D_INV64, [0x1f] = D_INV64, [0x27] = D_INV64, [0x2f] = D_INV64, [0x37] = D_INV64,
	[0x3f] = D_INV64,
	[0x50 ... 0x5f] = D_DEF64,
	[0x60] = D_INV64, [0x61] = D_INV64, [0x62] = D_MODRM | D_INV64, [0x63] = D_MODRM,
	[0x68] = D_DEF64 | D_IZ, [0x69] = D_MODRM | D_IZ, [0x6a] = D_DEF64 | D_I8,
	[0x6b] = D_MODRM | D_I8, [0x6c] = D_BYTE, [0x6e] = D_BYTE,
	[0x70 ... 0x7f] = D_REL8 | D_F64,
	[0x80] = D_MODRM | D_BYTE | D_I8 | D_LOCK, [0x81] = D_MODRM | D_IZ | D_LOCK,
	[0x82] = D_MODRM | D_BYTE | D_I8 | D_LOCK | D_INV64, [0x83] = D_MODRM | D_I8 | D_LOCK,
	[0x84] = D_MODRM | D_BYTE, [0x85] = D_MODRM, [0x86] = D_MODRM | D_BYTE | D_LOCK,
	[0x87] = D_MODRM | D_LOCK, [0x88] = D_MODRM | D_BYTE, [0x89] = D_MODRM,
	[0x8a] = D_MODRM | D_BYTE, [0x8b] = D_MODRM, [0x8c] = D_MODRM, [0x8d] = D_MODRM,
	[0x8e] = D_MODRM, [0x8f] = D_MODRM | D_DEF64,
	[0x9a] = D_FAR | D_INV64, [0x9c] = D_DEF64, [0x9d] = D_DEF64,
	[0xa0] = D_MOFFS | D_BYTE, [0xa1] = D_MOFFS, [0xa2] = D_MOFFS | D_BYTE, [0xa3] = D_MOFFS,
	[0xa4] = D_BYTE, [0xa6] = D_BYTE, [0xa8] = D_BYTE | D_I8, [0xa9] = D_IZ,
	[0xaa] = D_BYTE, [0xac] = D_BYTE, [0xae] = D_BYTE,
	[0xb0 ... 0xb7] = D_BYTE | D_I8, [0xb8 ... 0xbf] = D_IV,
	[0xc0] = D_MODRM | D_BYTE | D_I8, [0xc1] = D_MODRM | D_I8, [0xc2] = D_I16 | D_F64,
	[0xc3] = D_F64, [0xc4] = D_MODRM | D_INV64, [0xc5] = D_MODRM | D_INV64,
	[0xc6] = D_MODRM | D_BYTE | D_I8, [0xc7] = D_MODRM | D_IZ, [0xc8] = D_ENTER | D_DEF64,
	[0xc9] = D_DEF64, [0xca] = D_I16, [0xcd] = D_I8, [0xce] = D_INV64,
	[0xd0] = D_MODRM | D_BYTE, [0xd1] = D_MODRM, [0xd2] = D_MODRM | D_BYTE, [0xd3] = D_MODRM,
	[0xd4] = D_I8 | D_INV64, [0xd5] = D_I8 | D_INV64, [0xd6] = D_INV64, [0xd7] = D_BYTE,
	[0xd8 ... 0xdf] = D_MODRM,
	[0xe0 ... 0xe3] = D_REL8 | D_F64, [0xe4] = D_BYTE | D_I8, [0xe5] = D_I8,
	[0xe6] = D_BYTE | D_I8, [0xe7] = D_I8, [0xe8] = D_RELZ | D_F64, [0xe9] = D_RELZ | D_F64,
	[0xea] = D_FAR | D_INV64, [0xeb] = D_REL8 | D_F64, [0xec] = D_BYTE, [0xee] = D_BYTE,
	[0xf6] = D_MODRM | D_BYTE | D_GRP3 | D_LOCK, [0xf7] = D_MODRM | D_GRP3 | D_LOCK,
	[0xfe] = D_MODRM | D_BYTE | D_LOCK, [0xff] = D_MODRM | D_LOCK,
};

static const u32 bt_decode_map0f[256] = {
	[0x00] = D_MODRM, [0x01] = D_MODRM, [0x0d] = D_MODRM,
	/* MOV to/from CRn and DRn (ops/sysreg_ops.c). */
	[0x20 ... 0x23] = D_MODRM | D_MODREG,
	/* SSE/SSE2 (ops/sse.c): the handler sorts out the mandatory prefix. */
	[0x10 ... 0x17] = D_MODRM, [0x28 ... 0x2f] = D_MODRM, [0x50 ... 0x5f] = D_MODRM,
	[0xc2] = D_MODRM | D_I8, [0xc3] = D_MODRM, [0xc4 ... 0xc6] = D_MODRM | D_I8,
	[0x60 ... 0x6f] = D_MODRM, [0x70 ... 0x73] = D_MODRM | D_I8, [0x74 ... 0x76] = D_MODRM,
	[0x7c ... 0x7f] = D_MODRM, [0xae] = D_MODRM, [0xd0 ... 0xdf] = D_MODRM,
	[0xe0 ... 0xef] = D_MODRM, [0xf0 ... 0xfe] = D_MODRM,
	[0x18 ... 0x1f] = D_MODRM,
	[0x40 ... 0x4f] = D_MODRM,
	[0x80 ... 0x8f] = D_RELZ | D_F64,
	[0x90 ... 0x9f] = D_MODRM | D_BYTE,
	[0xa0] = D_DEF64, [0xa1] = D_DEF64, [0xa8] = D_DEF64, [0xa9] = D_DEF64,
	[0xa3] = D_MODRM, [0xa4] = D_MODRM | D_I8, [0xa5] = D_MODRM, [0xab] = D_MODRM | D_LOCK,
	[0xac] = D_MODRM | D_I8, [0xad] = D_MODRM, [0xaf] = D_MODRM,
	[0xb0] = D_MODRM | D_BYTE | D_LOCK, [0xb1] = D_MODRM | D_LOCK, [0xb3] = D_MODRM | D_LOCK,
	[0xb6] = D_MODRM | D_RMB, [0xb7] = D_MODRM | D_RMW, [0xb8] = D_MODRM,
	[0xba] = D_MODRM | D_I8 | D_LOCK, [0xbb] = D_MODRM | D_LOCK, [0xbc] = D_MODRM,
	[0xbd] = D_MODRM, [0xbe] = D_MODRM | D_RMB, [0xbf] = D_MODRM | D_RMW,
	[0xc0] = D_MODRM | D_BYTE | D_LOCK, [0xc1] = D_MODRM | D_LOCK, [0xc7] = D_MODRM | D_LOCK,
	/* System instructions (ops/sys.c); LSS, LFS, LGS. */
	[0x02] = D_MODRM, [0x03] = D_MODRM, [0xb2] = D_MODRM, [0xb4] = D_MODRM, [0xb5] = D_MODRM,
};

// clang-format on

struct bt_dec {
	const u8 *p;
	unsigned avail, pos;
	bool shorted;
};

static u64 bt_dec_get(struct bt_dec *d, unsigned n)
{
	u64 v = 0;

	if (d->pos + n > d->avail) {
		d->shorted = true;
		d->pos += n;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (u64)d->p[d->pos + i] << (8 * i);
	d->pos += n;
	return v;
}

/* Resolve a byte-register number: without REX, 4..7 are AH, CH, DH, BH. */
static u8 bt_dec_reg8(unsigned r, bool has_rex)
{
	if (!has_rex && r >= 4 && r < 8)
		return (u8)(BT_REG_AH + r - 4);
	return (u8)r;
}

static void bt_dec_modrm16(struct bt_dec *d, struct bt_insn *in, unsigned mod, unsigned rm)
{
	static const u8 base[8] = { CPU_RBX, CPU_RBX, CPU_RBP, CPU_RBP,
				    CPU_RSI, CPU_RDI, CPU_RBP, CPU_RBX };
	static const u8 index[8] = { CPU_RSI,	  CPU_RDI,     CPU_RSI,	    CPU_RDI,
				     BT_REG_NONE, BT_REG_NONE, BT_REG_NONE, BT_REG_NONE };

	in->ea_kind = BT_EA_MEM;
	in->base = base[rm];
	in->index = index[rm];
	in->scale = 0;
	if (mod == 0 && rm == 6) {
		in->base = BT_REG_NONE;
		in->disp = (s16)bt_dec_get(d, 2);
	} else if (mod == 1) {
		in->disp = (s8)bt_dec_get(d, 1);
	} else if (mod == 2) {
		in->disp = (s16)bt_dec_get(d, 2);
	}
	if (!in->seg_override && in->base == CPU_RBP)
		in->seg = CPU_SS;
}

static void bt_dec_modrm32(struct bt_dec *d, struct bt_insn *in, unsigned mod, unsigned rm,
			   unsigned rex, bool mode64)
{
	in->ea_kind = BT_EA_MEM;
	in->index = BT_REG_NONE;
	in->scale = 0;
	if (rm == 4) {
		unsigned sib = (unsigned)bt_dec_get(d, 1);
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
		unsigned b = sib & 7;

		in->scale = (u8)(sib >> 6);
		in->sib = 1;
		in->sib_index = (u8)idx;
		if (idx != 4)
			in->index = (u8)idx;
		if (b == 5 && mod == 0) {
			in->base = BT_REG_NONE;
			in->disp = (s32)bt_dec_get(d, 4);
		} else {
			in->base = (u8)(b | ((rex & 1) << 3));
		}
	} else if (rm == 5 && mod == 0) {
		in->base = BT_REG_NONE;
		in->disp = (s32)bt_dec_get(d, 4);
		if (mode64)
			in->ea_kind = BT_EA_RIP;
	} else {
		in->base = (u8)(rm | ((rex & 1) << 3));
	}
	if (mod == 1)
		in->disp = (s8)bt_dec_get(d, 1);
	else if (mod == 2)
		in->disp = (s32)bt_dec_get(d, 4);
	if (!in->seg_override && (in->base == CPU_RSP || in->base == CPU_RBP))
		in->seg = CPU_SS;
}

/* LOCK is valid only on these forms with a memory destination (SDM vol. 2A LOCK). */
static bool bt_dec_lock_ok(const struct bt_insn *in, u32 attr)
{
	unsigned r = in->modrm_reg;

	if (!(attr & D_LOCK) || in->ea_kind == BT_EA_NONE)
		return false;
	switch (in->opcode) {
	case 0x38: /* CMP never writes */
	case 0x39:
		return false;
	case 0x80:
	case 0x81:
	case 0x82:
	case 0x83:
		return r != 7;
	case 0xf6:
	case 0xf7:
		return r == 2 || r == 3;
	case 0xfe:
	case 0xff:
		return r <= 1;
	case 0x1ba:
		return r >= 5;
	case 0x1c7:
		return r == 1;
	default:
		return true;
	}
}

/* Operand size (SDM vol. 2A 2.2.1.2 and table 3-4 of vol. 1). */
static u8 bt_dec_opsz(enum bt_mode mode, u32 attr, bool p66, bool rexw)
{
	if (attr & D_BYTE)
		return 1;
	if (mode == BT_MODE_LONG64) {
		if (attr & D_F64)
			return 8;
		if (rexw)
			return 8;
		if (p66)
			return 2;
		return (attr & D_DEF64) ? 8 : 4;
	}
	if (mode == BT_MODE_PROT32)
		return p66 ? 2 : 4;
	return p66 ? 4 : 2;
}

static u8 bt_dec_asz(enum bt_mode mode, bool p67)
{
	if (mode == BT_MODE_LONG64)
		return p67 ? 4 : 8;
	if (mode == BT_MODE_PROT32)
		return p67 ? 2 : 4;
	return p67 ? 4 : 2;
}

static void bt_dec_imm(struct bt_dec *d, struct bt_insn *in, u32 attr)
{
	unsigned zsz = in->opsz == 2 ? 2 : 4;

	if (attr & D_I8)
		in->imm = (u64)(s64)(s8)bt_dec_get(d, 1);
	if (attr & D_I16)
		in->imm = bt_dec_get(d, 2);
	if (attr & D_IZ)
		in->imm = zsz == 2 ? (u64)(s64)(s16)bt_dec_get(d, 2) :
				     (u64)(s64)(s32)bt_dec_get(d, 4);
	if (attr & D_IV)
		in->imm = bt_dec_get(d, in->opsz);
	if (attr & D_REL8)
		in->imm = (u64)(s64)(s8)bt_dec_get(d, 1);
	if (attr & D_RELZ)
		in->imm = (u64)(s64)(s32)bt_dec_get(d, in->opsz == 2 ? 2 : 4);
	if (attr & D_MOFFS)
		in->imm = bt_dec_get(d, in->asz);
	if (attr & D_ENTER) {
		in->imm = bt_dec_get(d, 2);
		in->imm2 = (u16)bt_dec_get(d, 1);
	}
	if (attr & D_FAR) {
		in->imm = bt_dec_get(d, in->opsz == 2 ? 2 : 4);
		in->imm2 = (u16)bt_dec_get(d, 2);
	}
	if ((attr & D_GRP3) && in->modrm_reg <= 1) {
		if (in->opsz == 1)
			in->imm = bt_dec_get(d, 1);
		else
			in->imm = zsz == 2 ? (u64)(s64)(s16)bt_dec_get(d, 2) :
					     (u64)(s64)(s32)bt_dec_get(d, 4);
	}
}

/*
 * The VEX prefix after its first byte c (C4 or C5): fills vex, vex_l, vvvv, the
 * mandatory prefix (p66, rep), the map and the REX-like R, X, B (W in vex_w; as REX.W in rexw
 * in 64-bit mode only). Returns a decode error, 0, or 1
 * when the form is #UD (a legacy prefix before it, a reserved map).
 */
static int bt_dec_vex(struct bt_dec *d, struct bt_insn *in, unsigned c, bool mode64, bool legacy,
		      unsigned *map, unsigned *rex)
{
	unsigned v1 = (unsigned)bt_dec_get(d, 1), v2, r, x = 0, bb = 0, w = 0, mm = 1, pp;
	bool bad = legacy;

	if (c == 0xc4) {
		v2 = (unsigned)bt_dec_get(d, 1);
		x = !(v1 & 0x40);
		bb = !(v1 & 0x20);
		mm = v1 & 0x1f;
		w = v2 >> 7;
	} else {
		v2 = v1;
	}
	if (d->shorted)
		return BT_DECODE_SHORT;
	r = !(v1 & 0x80);
	pp = v2 & 3;
	in->vex = 1;
	in->vex_l = (v2 >> 2) & 1;
	in->vvvv = (u8)((~v2 >> 3) & 15);
	if (!mode64) {
		r = x = bb = 0;
		in->vvvv &= 7;
	}
	if (mm < 1 || mm > 3)
		bad = true;
	*map = mm < 1 || mm > 3 ? 1 : mm;
	/* VEX.W: an opcode extension always, a 64-bit operand size only in 64-bit mode. */
	in->vex_w = w & 1;
	if (!mode64)
		w = 0;
	*rex = 0x40 | w << 3 | r << 2 | x << 1 | bb;
	in->has_rex = 1; /* byte registers as with REX: no AH..BH */
	in->rexw = w;
	in->p66 = pp == 1;
	in->rep = pp == 2 ? BT_REP_F3 : pp == 3 ? BT_REP_F2 : BT_REP_NONE;
	return bad ? 1 : 0;
}

int bt_decode(enum bt_mode mode, const u8 *bytes, unsigned avail, struct bt_insn *in)
{
	struct bt_dec d = { .p = bytes, .avail = avail };
	bool p66 = false, p67 = false, mode64 = mode == BT_MODE_LONG64, invalid = false;
	unsigned rex = 0, b, map = 0;
	u32 attr;

	memset(in, 0, sizeof(*in));
	in->seg = CPU_DS;
	for (;;) {
		if (d.pos >= 15)
			return BT_DECODE_TOOLONG;
		b = (unsigned)bt_dec_get(&d, 1);
		if (d.shorted)
			return BT_DECODE_SHORT;
		switch (b) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			/* ES/CS/SS/DS overrides are ignored in 64-bit mode (SDM 3.3.7.1). */
			if (!mode64) {
				in->seg = (u8)((b >> 3) & 3);
				in->seg_override = 1;
			}
			rex = 0;
			continue;
		case 0x64:
		case 0x65:
			in->seg = b == 0x64 ? CPU_FS : CPU_GS;
			in->seg_override = 1;
			rex = 0;
			continue;
		case 0x66:
			p66 = true;
			rex = 0;
			continue;
		case 0x67:
			p67 = true;
			rex = 0;
			continue;
		case 0xf0:
			in->lock = 1;
			rex = 0;
			continue;
		case 0xf2:
			in->rep = BT_REP_F2;
			rex = 0;
			continue;
		case 0xf3:
			in->rep = BT_REP_F3;
			rex = 0;
			continue;
		default:
			break;
		}
		if (mode64 && (b & 0xf0) == 0x40) {
			rex = b;
			continue;
		}
		break;
	}
	in->has_rex = rex != 0;
	in->p66 = p66;
	in->rexw = (rex & 8) != 0;
	if ((b == 0xc4 || b == 0xc5) && mode != BT_MODE_REAL) {
		unsigned v1 = d.pos < avail ? bytes[d.pos] : 0;

		if (d.pos >= avail)
			return BT_DECODE_SHORT;
		if (mode64 || (v1 >> 6) == 3) {
			int r = bt_dec_vex(&d, in, b, mode64, p66 || in->rep || in->lock || rex,
					   &map, &rex);

			if (r < 0)
				return r;
			invalid |= r > 0;
			p66 = false; /* VEX.pp is the mandatory prefix; no operand-size override */
			b = (unsigned)bt_dec_get(&d, 1);
			if (d.shorted)
				return BT_DECODE_SHORT;
			goto opcode;
		}
	}
	if (b == 0x0f) {
		b = (unsigned)bt_dec_get(&d, 1);
		map = 1;
		if (b == 0x38 || b == 0x3a) {
			map = b == 0x38 ? 2 : 3;
			b = (unsigned)bt_dec_get(&d, 1);
		}
		if (d.shorted)
			return BT_DECODE_SHORT;
	}
opcode:
	in->opcode = (u16)(map << 8 | b);
	if (map == 0)
		attr = bt_decode_map1[b];
	else if (map == 1)
		attr = bt_decode_map0f[b];
	else if (map == 2) /* 0F 38: every opcode has a ModRM byte (SDM vol. 2D table A-4) */
		attr = D_MODRM | (b == 0xf0 && in->rep == BT_REP_F2 ? D_RMB : 0); /* CRC32 Eb */
	else /* 0F 3A: ModRM and an imm8 (table A-5) */
		attr = D_MODRM | D_I8;
	if (mode64 && (attr & D_INV64))
		invalid = true;
	/* In 64-bit mode 0x63 is MOVSXD; elsewhere ARPL (a protected-mode system insn). */
	in->opsz = bt_dec_opsz(mode, attr, p66, in->rexw);
	in->asz = bt_dec_asz(mode, p67);
	in->rm = BT_REG_NONE;
	in->base = in->index = BT_REG_NONE;
	if (attr & D_MODRM) {
		unsigned m = (unsigned)bt_dec_get(&d, 1);
		unsigned mod = (attr & D_MODREG) ? 3 : m >> 6, reg = (m >> 3) & 7, rm = m & 7;

		in->modrm_reg = (u8)reg;
		reg |= (rex & 4) << 1;
		in->reg = (attr & D_BYTE) ? bt_dec_reg8(reg, in->has_rex) : (u8)reg;
		if (mod == 3) {
			unsigned r = rm | ((rex & 1) << 3);

			in->ea_kind = BT_EA_NONE;
			in->rm = (attr & (D_BYTE | D_RMB)) ? bt_dec_reg8(r, in->has_rex) : (u8)r;
			/* EVEX (62) in 16/32-bit code: no AVX-512, so #UD. */
			if (map == 0 && b == 0x62)
				invalid = true;
		} else if (in->asz == 2) {
			bt_dec_modrm16(&d, in, mod, rm);
		} else {
			bt_dec_modrm32(&d, in, mod, rm, rex, mode64);
		}
	} else if ((map == 0 && ((b >= 0x40 && b < 0x60) || (b >= 0x90 && b < 0xc0))) ||
		   (map == 1 && b >= 0xc8 && b <= 0xcf)) {
		unsigned r = (b & 7) | ((rex & 1) << 3);

		in->rm = (attr & D_BYTE) ? bt_dec_reg8(r, in->has_rex) : (u8)r;
	}
	bt_dec_imm(&d, in, attr);
	/*
	 * Bytes missing within the first 15 come first: they may change the length, and a CPU
	 * faults fetching them before it can tell the instruction is too long (SDM 6.9, code
	 * page fault before instruction length > 15 bytes). E.g. ten REX prefixes and F7 at a
	 * page end: the ModRM byte is on the next page.
	 */
	if (d.shorted && d.avail < 15)
		return BT_DECODE_SHORT;
	if (d.pos > 15)
		return BT_DECODE_TOOLONG;
	if (d.shorted)
		return BT_DECODE_SHORT;
	in->len = (u8)d.pos;
	if (in->lock && !bt_dec_lock_ok(in, attr))
		invalid = true;
	in->invalid = invalid;
	return BT_DECODE_OK;
}
