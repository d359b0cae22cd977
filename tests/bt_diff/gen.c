// SPDX-License-Identifier: MIT
/*
 * Case generator for the differential tests. Instructions are built from
 * templates (opcode, ModRM form, immediate kind, the flags the SDM calls
 * undefined) with random legacy prefixes, REX, ModRM/SIB/displacement
 * forms and immediates. Registers get edge-biased values (0, 1, all ones,
 * sign boundaries, small and full random values, after SingleStepTests);
 * registers used to address memory are then set so the access lands in the
 * data pages (sometimes straddling their end, to provoke #PF), and the
 * stack pointer points into them. Sequences chain flag producers and flag
 * consumers (Jcc, SETcc, CMOVcc, ADC/SBB, LAHF, PUSHF) to test lazy flags.
 *
 * Excluded because the host would leave the sandbox or the result is not
 * reproducible: SYSCALL/SYSENTER/INT 80h, far transfers and segment loads,
 * FS/GS overrides, CPUID/RDTSC, VEX/EVEX (the host has AVX), FNSTENV/FNSAVE (FIP/FDP are not
 * modelled), 66-prefixed near branches (AMD and Intel differ).
 */
#include "bt_diff.h"

#include "vmm/base/compiler.h"

#include <string.h>

u64 diff_rand(struct diff_rng *rng)
{
	/* splitmix64 */
	u64 z = (rng->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct diff_rng *rng, unsigned n)
{
	return (unsigned)(diff_rand(rng) % n);
}

/* Template forms. */
enum {
	F_NONE,
	F_RM,	 /* ModRM, register or memory */
	F_REG,	 /* ModRM, register form only */
	F_MEM,	 /* ModRM, memory form only */
	F_OPREG, /* register in the low opcode bits */
};

enum {
	I_NONE,
	I_8,
	I_16,
	I_Z,
	I_V,
	I_REL8,
	I_RELZ,
	I_MOFFS,
	I_ENTER,
};

/* Template flags. */
#define T_BYTE	0x001u	/* byte operands */
#define T_NO66	0x002u	/* no operand-size prefix (branches) */
#define T_REP	0x004u	/* may take F2/F3 */
#define T_F3	0x008u	/* needs F3 */
#define T_SEQ	0x010u	/* usable in sequences (register form) */
#define T_LOCK	0x020u	/* LOCK valid with a memory destination */
#define T_PTR	0x040u	/* the reg operand is a pointer-sized bit offset (BT r,m) */
#define T_STACK 0x080u	/* reads a return address or flags image from the stack */
#define T_W	0x100u	/* REX.W sometimes, but keep it if chosen */
#define T_NOW	0x200u	/* no REX.W */
#define T_P66	0x400u	/* mandatory 66 (SSE) */
#define T_PF3	0x800u	/* mandatory F3 (SSE) */
#define T_PF2	0x1000u /* mandatory F2 (SSE) */
#define T_SSE	(T_NO66 | T_NOW)
#define T_C32	0x2000u /* 32-bit code only (64-bit mode: another instruction) */

/* Special handling. */
enum {
	S_NONE,
	S_SHIFT, /* group 2: count-dependent undefined flags */
	S_SHD,	 /* SHLD/SHRD */
	S_MUL,	 /* group 3 */
	S_RET,
	S_POPF,
	S_LEAVE,
	S_STRING,
	S_INDIRECT, /* FF /2 /4 */
	S_INT,
	S_ENTER,
	S_MXCSR,   /* LDMXCSR: keep the value mostly valid */
	S_XLAT,	   /* XLAT: rBX points into the data pages */
	S_MASKMOV, /* MASKMOVQ/MASKMOVDQU: rDI points into the data pages */
};

struct gen_tmpl {
	const char *group;
	u8 map, op, form;
	s8 digit; /* fixed ModRM.reg or -1 */
	u8 imm;
	u16 tflags;
	u8 special;
	u32 undef;
};

#define CF   0x001u
#define PF   0x004u
#define AF   0x010u
#define ZF   0x040u
#define SF   0x080u
#define OF   0x800u
#define ALLF (CF | PF | AF | ZF | SF | OF)

#define ALU(o, name, u)                                                      \
	{ name, 0, o + 0, F_RM, -1, I_NONE, T_BYTE | T_SEQ | T_LOCK, 0, u }, \
		{ name, 0, o + 1, F_RM, -1, I_NONE, T_SEQ | T_LOCK, 0, u },  \
		{ name, 0, o + 2, F_RM, -1, I_NONE, T_BYTE | T_SEQ, 0, u },  \
		{ name, 0, o + 3, F_RM, -1, I_NONE, T_SEQ, 0, u },           \
		{ name, 0, o + 4, F_NONE, -1, I_8, T_BYTE | T_SEQ, 0, u },   \
	{                                                                    \
		name, 0, o + 5, F_NONE, -1, I_Z, T_SEQ, 0, u                 \
	}

// clang-format off
static const struct gen_tmpl gen_tmpls[] = {
	ALU(0x00, "add", 0), ALU(0x08, "or", AF), ALU(0x10, "adc", 0), ALU(0x18, "sbb", 0),
	ALU(0x20, "and", AF), ALU(0x28, "sub", 0), ALU(0x30, "xor", AF), ALU(0x38, "cmp", 0),
	{ "grp1", 0, 0x80, F_RM, -1, I_8, T_BYTE | T_SEQ | T_LOCK, 0, 0 },
	{ "grp1", 0, 0x81, F_RM, -1, I_Z, T_SEQ | T_LOCK, 0, 0 },
	{ "grp1", 0, 0x83, F_RM, -1, I_8, T_SEQ | T_LOCK, 0, 0 },
	{ "test", 0, 0x84, F_RM, -1, I_NONE, T_BYTE | T_SEQ, 0, AF },
	{ "test", 0, 0x85, F_RM, -1, I_NONE, T_SEQ, 0, AF },
	{ "test", 0, 0xa8, F_NONE, -1, I_8, T_BYTE | T_SEQ, 0, AF },
	{ "test", 0, 0xa9, F_NONE, -1, I_Z, T_SEQ, 0, AF },
	{ "xchg", 0, 0x86, F_RM, -1, I_NONE, T_BYTE | T_LOCK, 0, 0 },
	{ "xchg", 0, 0x87, F_RM, -1, I_NONE, T_LOCK, 0, 0 },
	{ "xchg", 0, 0x90, F_OPREG, -1, I_NONE, 0, 0, 0 },
	{ "mov", 0, 0x88, F_RM, -1, I_NONE, T_BYTE | T_SEQ, 0, 0 },
	{ "mov", 0, 0x89, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "mov", 0, 0x8a, F_RM, -1, I_NONE, T_BYTE | T_SEQ, 0, 0 },
	{ "mov", 0, 0x8b, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "mov", 0, 0xc6, F_RM, -1, I_8, T_BYTE, 0, 0 },
	{ "mov", 0, 0xc7, F_RM, -1, I_Z, 0, 0, 0 },
	{ "mov", 0, 0xb0, F_OPREG, -1, I_8, T_BYTE | T_SEQ, 0, 0 },
	{ "mov", 0, 0xb8, F_OPREG, -1, I_V, T_SEQ, 0, 0 },
	{ "mov", 0, 0xa0, F_NONE, -1, I_MOFFS, T_BYTE, 0, 0 },
	{ "mov", 0, 0xa1, F_NONE, -1, I_MOFFS, 0, 0, 0 },
	{ "mov", 0, 0xa2, F_NONE, -1, I_MOFFS, T_BYTE, 0, 0 },
	{ "mov", 0, 0xa3, F_NONE, -1, I_MOFFS, 0, 0, 0 },
	{ "movx", 1, 0xb6, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "movx", 1, 0xb7, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "movx", 1, 0xbe, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "movx", 1, 0xbf, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "movx", 0, 0x63, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "lea", 0, 0x8d, F_RM, -1, I_NONE, 0, 0, 0 },
	{ "stack", 0, 0x50, F_OPREG, -1, I_NONE, T_NOW, 0, 0 },
	{ "stack", 0, 0x58, F_OPREG, -1, I_NONE, T_NOW, 0, 0 },
	{ "stack", 0, 0x68, F_NONE, -1, I_Z, T_NOW, 0, 0 },
	{ "stack", 0, 0x6a, F_NONE, -1, I_8, T_NOW, 0, 0 },
	{ "stack", 0, 0x8f, F_RM, -1, I_NONE, T_NOW, 0, 0 },
	{ "stack", 0, 0xff, F_RM, 6, I_NONE, T_NOW, 0, 0 },
	{ "stack", 0, 0x9c, F_NONE, -1, I_NONE, T_NOW | T_SEQ, 0, 0 },
	{ "stack", 0, 0x9d, F_NONE, -1, I_NONE, T_NOW, S_POPF, 0 },
	{ "stack", 0, 0xc9, F_NONE, -1, I_NONE, T_NOW, S_LEAVE, 0 },
	{ "stack", 0, 0xc8, F_NONE, -1, I_ENTER, T_NOW, S_ENTER, 0 },
	{ "cbw", 0, 0x98, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "cbw", 0, 0x99, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0x9e, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0x9f, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0xf5, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0xf8, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0xf9, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0xfc, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "flags", 0, 0xfd, F_NONE, -1, I_NONE, T_SEQ, 0, 0 },
	{ "string", 0, 0xa4, F_NONE, -1, I_NONE, T_BYTE | T_REP, S_STRING, 0 },
	{ "string", 0, 0xa5, F_NONE, -1, I_NONE, T_REP, S_STRING, 0 },
	{ "string", 0, 0xa6, F_NONE, -1, I_NONE, T_BYTE | T_REP, S_STRING, 0 },
	{ "string", 0, 0xa7, F_NONE, -1, I_NONE, T_REP, S_STRING, 0 },
	{ "string", 0, 0xaa, F_NONE, -1, I_NONE, T_BYTE | T_REP, S_STRING, 0 },
	{ "string", 0, 0xab, F_NONE, -1, I_NONE, T_REP, S_STRING, 0 },
	{ "string", 0, 0xac, F_NONE, -1, I_NONE, T_BYTE | T_REP, S_STRING, 0 },
	{ "string", 0, 0xad, F_NONE, -1, I_NONE, T_REP, S_STRING, 0 },
	{ "string", 0, 0xae, F_NONE, -1, I_NONE, T_BYTE | T_REP, S_STRING, 0 },
	{ "string", 0, 0xaf, F_NONE, -1, I_NONE, T_REP, S_STRING, 0 },
	{ "shift", 0, 0xc0, F_RM, -1, I_8, T_BYTE, S_SHIFT, 0 },
	{ "shift", 0, 0xc1, F_RM, -1, I_8, 0, S_SHIFT, 0 },
	{ "shift", 0, 0xd0, F_RM, -1, I_NONE, T_BYTE, S_SHIFT, 0 },
	{ "shift", 0, 0xd1, F_RM, -1, I_NONE, 0, S_SHIFT, 0 },
	{ "shift", 0, 0xd2, F_RM, -1, I_NONE, T_BYTE, S_SHIFT, 0 },
	{ "shift", 0, 0xd3, F_RM, -1, I_NONE, 0, S_SHIFT, 0 },
	{ "shd", 1, 0xa4, F_RM, -1, I_8, 0, S_SHD, 0 },
	{ "shd", 1, 0xa5, F_RM, -1, I_NONE, 0, S_SHD, 0 },
	{ "shd", 1, 0xac, F_RM, -1, I_8, 0, S_SHD, 0 },
	{ "shd", 1, 0xad, F_RM, -1, I_NONE, 0, S_SHD, 0 },
	{ "grp3", 0, 0xf6, F_RM, -1, I_NONE, T_BYTE | T_LOCK, S_MUL, 0 },
	{ "grp3", 0, 0xf7, F_RM, -1, I_NONE, T_LOCK, S_MUL, 0 },
	{ "incdec", 0, 0xfe, F_RM, -1, I_NONE, T_BYTE | T_LOCK, 0, 0 },
	{ "incdec", 0, 0xff, F_RM, 0, I_NONE, T_SEQ | T_LOCK, 0, 0 },
	{ "incdec", 0, 0xff, F_RM, 1, I_NONE, T_SEQ | T_LOCK, 0, 0 },
	{ "imul", 0, 0x69, F_RM, -1, I_Z, 0, 0, SF | ZF | AF | PF },
	{ "imul", 0, 0x6b, F_RM, -1, I_8, 0, 0, SF | ZF | AF | PF },
	{ "imul", 1, 0xaf, F_RM, -1, I_NONE, 0, 0, SF | ZF | AF | PF },
	{ "jcc", 0, 0x70, F_OPREG, -1, I_REL8, T_NO66 | T_NOW, 0, 0 },
	{ "jcc", 1, 0x80, F_OPREG, -1, I_RELZ, T_NO66 | T_NOW, 0, 0 },
	{ "jmp", 0, 0xeb, F_NONE, -1, I_REL8, T_NO66 | T_NOW, 0, 0 },
	{ "jmp", 0, 0xe9, F_NONE, -1, I_RELZ, T_NO66 | T_NOW, 0, 0 },
	{ "jmp", 0, 0xe8, F_NONE, -1, I_RELZ, T_NO66 | T_NOW, 0, 0 },
	{ "jmp", 0, 0xe0, F_OPREG, -1, I_REL8, T_NO66 | T_NOW, 0, 0 },
	{ "jmp", 0, 0xc3, F_NONE, -1, I_NONE, T_NO66 | T_NOW, S_RET, 0 },
	{ "jmp", 0, 0xc2, F_NONE, -1, I_16, T_NO66 | T_NOW, S_RET, 0 },
	{ "jmp", 0, 0xff, F_RM, 2, I_NONE, T_NO66 | T_NOW, S_INDIRECT, 0 },
	{ "jmp", 0, 0xff, F_RM, 4, I_NONE, T_NO66 | T_NOW, S_INDIRECT, 0 },
	{ "int", 0, 0xcc, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "int", 0, 0xcd, F_NONE, -1, I_8, 0, S_INT, 0 },
	{ "setcc", 1, 0x90, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "cmov", 1, 0x40, F_RM, -1, I_NONE, T_SEQ, 0, 0 },
	{ "bt", 1, 0xa3, F_RM, -1, I_NONE, T_PTR, 0, OF | SF | AF | PF },
	{ "bt", 1, 0xab, F_RM, -1, I_NONE, T_PTR | T_LOCK, 0, OF | SF | AF | PF },
	{ "bt", 1, 0xb3, F_RM, -1, I_NONE, T_PTR | T_LOCK, 0, OF | SF | AF | PF },
	{ "bt", 1, 0xbb, F_RM, -1, I_NONE, T_PTR | T_LOCK, 0, OF | SF | AF | PF },
	{ "bt", 1, 0xba, F_RM, -1, I_8, T_LOCK, 0, OF | SF | AF | PF },
	{ "bsf", 1, 0xbc, F_RM, -1, I_NONE, 0, 0, CF | OF | SF | AF | PF },
	{ "bsf", 1, 0xbd, F_RM, -1, I_NONE, 0, 0, CF | OF | SF | AF | PF },
	{ "bsf", 1, 0xbc, F_RM, -1, I_NONE, T_F3, 0, OF | SF | AF | PF },
	{ "bsf", 1, 0xbd, F_RM, -1, I_NONE, T_F3, 0, OF | SF | AF | PF },
	{ "popcnt", 1, 0xb8, F_RM, -1, I_NONE, T_F3, 0, 0 },
	{ "cmpxchg", 1, 0xb0, F_RM, -1, I_NONE, T_BYTE | T_LOCK, 0, 0 },
	{ "cmpxchg", 1, 0xb1, F_RM, -1, I_NONE, T_LOCK, 0, 0 },
	{ "cmpxchg", 1, 0xc7, F_RM, 1, I_NONE, T_LOCK, 0, 0 },
	{ "xadd", 1, 0xc0, F_RM, -1, I_NONE, T_BYTE | T_LOCK, 0, 0 },
	{ "xadd", 1, 0xc1, F_RM, -1, I_NONE, T_LOCK, 0, 0 },
	{ "bswap", 1, 0xc8, F_OPREG, -1, I_NONE, T_SEQ, 0, 0 },
	{ "movbe", 2, 0xf0, F_MEM, -1, I_NONE, 0, 0, 0 },
	{ "movbe", 2, 0xf1, F_MEM, -1, I_NONE, 0, 0, 0 },
	{ "nop", 1, 0x1f, F_RM, 0, I_NONE, 0, 0, 0 },
	{ "sse-mov", 1, 0x10, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-mov", 1, 0x11, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x10, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-mov", 1, 0x11, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-mov", 1, 0x28, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-mov", 1, 0x29, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x6f, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x6f, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-mov", 1, 0x7f, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x7f, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-mov", 1, 0x6e, F_RM, -1, I_NONE, T_NO66 | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x7e, F_RM, -1, I_NONE, T_NO66 | T_P66, 0, 0 },
	{ "sse-mov", 1, 0x7e, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-mov", 1, 0xd6, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x54, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x57, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x60, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x61, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x62, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x68, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x69, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x6a, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x6c, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x6d, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x70, F_RM, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x70, F_RM, -1, I_8, T_SSE | T_PF3, 0, 0 },
	{ "sse-int", 1, 0x70, F_RM, -1, I_8, T_SSE | T_PF2, 0, 0 },
	{ "sse-int", 1, 0x74, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x75, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x76, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd4, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd7, F_REG, -1, I_NONE, T_NO66 | T_P66, 0, 0 },
	{ "sse-int", 1, 0xdb, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xdf, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xeb, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xef, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf8, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf9, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xfa, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xfb, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xfc, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xfd, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xfe, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x63, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x64, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x65, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x66, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x67, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x6b, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd1, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd2, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd3, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd5, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd8, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xd9, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xda, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xdc, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xdd, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xde, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe0, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe1, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe2, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe3, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe4, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe5, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe8, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xe9, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xea, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xec, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xed, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xee, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf1, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf2, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf3, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf4, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf6, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x71, F_REG, 2, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x71, F_REG, 4, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x71, F_REG, 6, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x72, F_REG, 2, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x72, F_REG, 4, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x72, F_REG, 6, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x73, F_REG, 2, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x73, F_REG, 3, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x73, F_REG, 6, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x73, F_REG, 7, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x50, F_REG, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x50, F_REG, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x14, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x15, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x14, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x15, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xc6, F_RM, -1, I_8, T_SSE, 0, 0 },
	{ "sse-int", 1, 0xc6, F_RM, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x12, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x13, F_MEM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x16, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x17, F_MEM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0x12, F_MEM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x17, F_MEM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0x2b, F_MEM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-int", 1, 0xe7, F_MEM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xc4, F_RM, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xc5, F_REG, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-int", 1, 0xf5, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "mov", 1, 0xc3, F_MEM, -1, I_NONE, 0, 0, 0 },
	{ "sse-fp", 1, 0x51, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x52, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x52, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x53, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x53, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x51, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x51, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x51, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x58, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x58, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x58, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x58, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x59, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x59, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x59, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x59, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x5c, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5c, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5c, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x5c, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x5d, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5d, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5d, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x5d, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x5e, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5e, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5e, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x5e, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x5f, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5f, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5f, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x5f, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x5a, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x2a, F_RM, -1, I_NONE, T_NO66 | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x2c, F_RM, -1, I_NONE, T_NO66 | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x2d, F_RM, -1, I_NONE, T_NO66 | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0x5a, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x2a, F_RM, -1, I_NONE, T_NO66 | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x2c, F_RM, -1, I_NONE, T_NO66 | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x2d, F_RM, -1, I_NONE, T_NO66 | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0x2e, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x2e, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x2f, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x2f, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5a, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5a, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5b, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0x5b, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0x5b, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0xe6, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0xe6, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0xe6, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-fp", 1, 0xc2, F_RM, -1, I_8, T_SSE, 0, 0 },
	{ "sse-fp", 1, 0xc2, F_RM, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "sse-fp", 1, 0xc2, F_RM, -1, I_8, T_SSE | T_PF3, 0, 0 },
	{ "sse-fp", 1, 0xc2, F_RM, -1, I_8, T_SSE | T_PF2, 0, 0 },
	{ "mov", 0, 0xd7, F_NONE, -1, I_NONE, T_NOW, S_XLAT, 0 },
	{ "nop", 1, 0x18, F_MEM, -1, I_NONE, 0, 0, 0 },
	{ "nop", 1, 0x0d, F_MEM, 1, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0xd6, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0x62, F_MEM, -1, I_NONE, T_C32, 0, 0 }, /* BOUND (EVEX in 64-bit mode) */
	{ "legacy", 0, 0x61, F_NONE, -1, I_NONE, 0, 0, 0 },    /* POPA */
	{ "legacy", 0, 0x2f, F_NONE, -1, I_NONE, 0, 0, OF },   /* DAS */
	{ "legacy", 0, 0x3f, F_NONE, -1, I_NONE, 0, 0, OF | SF | ZF | PF }, /* AAS */
	{ "legacy", 0, 0xd5, F_NONE, -1, I_8, 0, 0, OF | AF | CF }, /* AAD */
	{ "legacy", 0, 0x40, F_OPREG, -1, I_NONE, T_C32, 0, 0 }, /* INC/DEC r32 (REX in 64-bit) */
	{ "legacy", 0, 0x48, F_OPREG, -1, I_NONE, T_C32, 0, 0 },
	{ "mxcsr", 1, 0xae, F_MEM, 2, I_NONE, T_SSE, S_MXCSR, 0 },
	{ "mxcsr", 1, 0xae, F_MEM, 3, I_NONE, T_SSE, 0, 0 },
	{ "mxcsr", 1, 0xae, F_REG, 5, I_NONE, T_SSE, 0, 0 },
	{ "legacy", 0, 0x06, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0x27, F_NONE, -1, I_NONE, 0, 0, OF },          /* DAA in 32-bit code */
	{ "legacy", 0, 0x37, F_NONE, -1, I_NONE, 0, 0, OF | SF | ZF | PF }, /* AAA */
	{ "legacy", 0, 0x60, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0x82, F_RM, -1, I_8, 0, 0, 0 },
	{ "legacy", 0, 0xd4, F_NONE, -1, I_8, 0, 0, OF | AF | CF }, /* AAM */
	{ "legacy", 0, 0xce, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "legacy", 1, 0x0b, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0xfe, F_RM, 7, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0xff, F_RM, 7, I_NONE, 0, 0, 0 },
	{ "legacy", 0, 0xc7, F_RM, 3, I_Z, 0, 0, 0 },
	/* x87: fsw undefined C bits in undef bits 16-31 (C0 C2 C3 = 0x4500, all four = 0x4700). */
#define X87U(b) ((u32)(b) << 16)
#define X87M(o, d, u) { "x87", 0, o, F_MEM, d, I_NONE, T_SSE, 0, X87U(u) }
#define X87R(o, d, u, f) { "x87", 0, o, F_REG, d, I_NONE, T_SSE | (f), 0, X87U(u) }
	X87M(0xd8, 0, 0x4500), X87M(0xd8, 1, 0x4500), X87M(0xd8, 2, 0), X87M(0xd8, 3, 0),
	X87M(0xd8, 4, 0x4500), X87M(0xd8, 5, 0x4500), X87M(0xd8, 6, 0x4500), X87M(0xd8, 7, 0x4500),
	X87M(0xdc, 0, 0x4500), X87M(0xdc, 1, 0x4500), X87M(0xdc, 2, 0), X87M(0xdc, 3, 0),
	X87M(0xdc, 4, 0x4500), X87M(0xdc, 5, 0x4500), X87M(0xdc, 6, 0x4500), X87M(0xdc, 7, 0x4500),
	X87M(0xda, 0, 0x4500), X87M(0xda, 1, 0x4500), X87M(0xda, 2, 0), X87M(0xda, 3, 0),
	X87M(0xda, 4, 0x4500), X87M(0xda, 5, 0x4500), X87M(0xda, 6, 0x4500), X87M(0xda, 7, 0x4500),
	X87M(0xde, 0, 0x4500), X87M(0xde, 1, 0x4500), X87M(0xde, 2, 0), X87M(0xde, 3, 0),
	X87M(0xde, 4, 0x4500), X87M(0xde, 5, 0x4500), X87M(0xde, 6, 0x4500), X87M(0xde, 7, 0x4500),
	X87M(0xd9, 0, 0x4500), X87M(0xd9, 2, 0x4500), X87M(0xd9, 3, 0x4500), X87M(0xd9, 4, 0),
	X87M(0xd9, 5, 0x4700), X87M(0xd9, 7, 0x4700),
	X87M(0xdd, 0, 0x4500), X87M(0xdd, 1, 0x4500), X87M(0xdd, 2, 0x4500), X87M(0xdd, 3, 0x4500),
	X87M(0xdd, 4, 0), X87M(0xdd, 7, 0x4700),
	X87M(0xdb, 0, 0x4500), X87M(0xdb, 1, 0x4500), X87M(0xdb, 2, 0x4500), X87M(0xdb, 3, 0x4500),
	X87M(0xdb, 5, 0x4500), X87M(0xdb, 7, 0x4500),
	X87M(0xdf, 0, 0x4500), X87M(0xdf, 1, 0x4500), X87M(0xdf, 2, 0x4500), X87M(0xdf, 3, 0x4500),
	X87M(0xdf, 4, 0x4500), X87M(0xdf, 5, 0x4500), X87M(0xdf, 6, 0x4500), X87M(0xdf, 7, 0x4500),
	X87R(0xd8, 0, 0x4500, 0), X87R(0xd8, 1, 0x4500, 0), X87R(0xd8, 2, 0, T_SEQ),
	X87R(0xd8, 3, 0, T_SEQ), X87R(0xd8, 4, 0x4500, 0), X87R(0xd8, 5, 0x4500, 0),
	X87R(0xd8, 6, 0x4500, 0), X87R(0xd8, 7, 0x4500, 0),
	X87R(0xdc, 0, 0x4500, 0), X87R(0xdc, 1, 0x4500, 0), X87R(0xdc, 4, 0x4500, 0),
	X87R(0xdc, 5, 0x4500, 0), X87R(0xdc, 6, 0x4500, 0), X87R(0xdc, 7, 0x4500, 0),
	X87R(0xde, 0, 0x4500, 0), X87R(0xde, 1, 0x4500, 0), X87R(0xde, 4, 0x4500, 0),
	X87R(0xde, 5, 0x4500, 0), X87R(0xde, 6, 0x4500, 0), X87R(0xde, 7, 0x4500, 0),
	X87R(0xd9, 0, 0x4500, 0), X87R(0xd9, 1, 0x4500, 0), X87R(0xd9, 4, 0, 0),
	X87R(0xd9, 5, 0, 0), X87R(0xd9, 6, 0, 0), X87R(0xd9, 7, 0, 0),
	X87R(0xda, 0, 0x4500, 0), X87R(0xda, 1, 0x4500, 0), X87R(0xda, 2, 0x4500, 0),
	X87R(0xda, 3, 0x4500, 0), X87R(0xda, 5, 0, 0),
	X87R(0xdb, 0, 0x4500, 0), X87R(0xdb, 1, 0x4500, 0), X87R(0xdb, 2, 0x4500, 0),
	X87R(0xdb, 3, 0x4500, 0), X87R(0xdb, 4, 0, 0), X87R(0xdb, 5, 0, T_SEQ),
	X87R(0xdb, 6, 0, T_SEQ),
	X87R(0xdd, 0, 0x4700, 0), X87R(0xdd, 2, 0x4500, 0), X87R(0xdd, 3, 0x4500, 0),
	X87R(0xdd, 4, 0, T_SEQ), X87R(0xdd, 5, 0, T_SEQ),
	X87R(0xdf, 4, 0x4700, 0), X87R(0xdf, 5, 0, T_SEQ), X87R(0xdf, 6, 0, T_SEQ),
	X87R(0xde, 3, 0, 0), X87R(0xda, 5, 0, 0),
	{ "x87", 0, 0x9b, F_NONE, -1, I_NONE, T_SSE, 0, 0 },
	/* MMX: no mandatory prefix. */
	{ "mmx", 1, 0x60, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x61, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x62, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x63, F_RM, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0x64, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x65, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x66, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x67, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x68, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x69, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x6a, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x6b, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x74, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x75, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x76, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd1, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd2, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd3, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd4, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd5, F_RM, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0xd8, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xd9, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xda, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xdb, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xdc, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xdd, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xde, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xdf, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe0, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe1, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe2, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe3, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe4, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe5, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe8, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xe9, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xea, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xeb, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xec, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xed, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xee, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xef, F_RM, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0xf1, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf2, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf3, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf4, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf5, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf6, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf8, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xf9, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xfa, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xfb, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xfc, F_RM, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0xfd, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0xfe, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x70, F_RM, -1, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x71, F_REG, 2, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x71, F_REG, 4, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x71, F_REG, 6, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x72, F_REG, 2, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x72, F_REG, 4, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x72, F_REG, 6, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x73, F_REG, 2, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x73, F_REG, 6, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0x6e, F_RM, -1, I_NONE, T_NO66 | T_W, 0, 0 },
	{ "mmx", 1, 0x7e, F_RM, -1, I_NONE, T_NO66 | T_W, 0, 0 },
	{ "mmx", 1, 0x6f, F_RM, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0x7f, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 0x1, 0x77, F_NONE, -1, I_NONE, T_SSE | T_SEQ, 0, 0 },
	{ "mmx", 1, 0xc4, F_RM, -1, I_8, T_SSE, 0, 0 },
	{ "mmx", 1, 0xc5, F_REG, -1, I_8, T_NO66 | T_W, 0, 0 },
	/* SSE/SSE2 with MM operands: conversions and masked stores. */
	{ "mmx", 1, 0x2a, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x2a, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "mmx", 1, 0x2c, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x2c, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "mmx", 1, 0x2d, F_RM, -1, I_NONE, T_SSE, 0, 0 },
	{ "mmx", 1, 0x2d, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "mmx", 1, 0xf7, F_REG, -1, I_NONE, T_SSE, S_MASKMOV, 0 },
	{ "mmx", 1, 0xd6, F_REG, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "mmx", 1, 0xd6, F_REG, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-int", 1, 0xf7, F_REG, -1, I_NONE, T_SSE | T_P66, S_MASKMOV, 0 },
	{ "mmx", 1, 0xd7, F_REG, -1, I_NONE, T_NO66 | T_W, 0, 0 },
	{ "mmx", 1, 0xe7, F_MEM, -1, I_NONE, T_SSE, 0, 0 },
	{ "priv", 0, 0xf4, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xfa, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xfb, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xe4, F_NONE, -1, I_8, T_BYTE, 0, 0 },
	{ "priv", 0, 0xef, F_NONE, -1, I_NONE, 0, 0, 0 },
};
// clang-format on

#define GEN_NR ARRAY_SIZE(gen_tmpls)

static const char *const gen_groups[] = {
	"add",	   "or",      "adc",	"sbb",	  "and",     "sub",   "xor",   "cmp",	"grp1",
	"test",	   "xchg",    "mov",	"movx",	  "lea",     "stack", "cbw",   "flags", "string",
	"shift",   "shd",     "grp3",	"incdec", "imul",    "jcc",   "jmp",   "int",	"setcc",
	"cmov",	   "bt",      "bsf",	"popcnt", "cmpxchg", "xadd",  "bswap", "movbe", "nop",
	"sse-mov", "sse-int", "sse-fp", "mxcsr",  "legacy",  "priv",  "x87",   "mmx",	"sequence",
};

static unsigned gen_have = ~0u;
static u64 gen_not_generated[DIFF_NR_NEEDS];

void diff_gen_allow(unsigned have)
{
	gen_have = have;
	memset(gen_not_generated, 0, sizeof(gen_not_generated));
}

u64 diff_gen_not_generated(unsigned need_bit)
{
	return need_bit < DIFF_NR_NEEDS ? gen_not_generated[need_bit] : 0;
}

const char *diff_need_name(unsigned need_bit)
{
	static const char *const names[DIFF_NR_NEEDS] = { "popcnt", "lzcnt", "bmi1",
							  "movbe",  "cx16",  "lahf_lm" };

	return need_bit < DIFF_NR_NEEDS ? names[need_bit] : "?";
}

unsigned diff_nr_groups(void)
{
	return ARRAY_SIZE(gen_groups);
}

const char *diff_group_name(unsigned g)
{
	return gen_groups[g];
}

static unsigned gen_group_of(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(gen_groups); i++)
		if (!strcmp(gen_groups[i], name))
			return i;
	return ARRAY_SIZE(gen_groups) - 1;
}

/* An edge-biased operand value. */
static u64 gen_value(struct diff_rng *rng)
{
	static const u64 edges[] = { 0,
				     1,
				     2,
				     0x7f,
				     0x80,
				     0xff,
				     0x7fff,
				     0x8000,
				     0xffff,
				     0x7fffffff,
				     0x80000000,
				     0xffffffff,
				     0x7fffffffffffffff,
				     0x8000000000000000,
				     ~0ull,
				     0x100,
				     0x10000,
				     0x100000000 };
	u64 r = diff_rand(rng);

	switch (rnd(rng, 8)) {
	case 0:
		return edges[rnd(rng, ARRAY_SIZE(edges))];
	case 1:
		return edges[rnd(rng, ARRAY_SIZE(edges))] + (rnd(rng, 5) - 2);
	case 2:
		return r & 0xff;
	case 3:
		return r & 0xffff;
	case 4:
		return r & 0xffffffff;
	case 5:
		return (u64)(s64)(s8)r;
	default:
		return r;
	}
}

struct gen_insn {
	u8 *p;
	bool compat; /* 32-bit code: no REX, no RIP-relative (kept by gen_encode's reset) */
	unsigned len;
	bool p66, p67, rexw;
	unsigned rex;
	int disp_at; /* offset of a disp32 to patch (RIP-relative or absolute), or -1 */
	bool rip_rel;
	unsigned base, index, scale, mem; /* memory operand */
	s64 disp;
	int reg; /* ModRM.reg with REX.R */
	int rm;	 /* register operand with REX.B */
	unsigned imm_at, imm_len;
	int modrm_at;
};

/* The CPU extensions an instruction encoded from t needs (DIFF_NEED_*). */
static unsigned gen_needs(const struct gen_tmpl *t, const struct gen_insn *g)
{
	bool f3 = t->tflags & T_F3;

	if (t->map == 1 && f3 && t->op == 0xb8)
		return DIFF_NEED_POPCNT;
	if (t->map == 1 && f3 && t->op == 0xbc)
		return DIFF_NEED_BMI1; /* TZCNT; BSF (another result) without it */
	if (t->map == 1 && f3 && t->op == 0xbd)
		return DIFF_NEED_LZCNT; /* LZCNT; BSR without it */
	if (t->map == 2 && (t->op == 0xf0 || t->op == 0xf1))
		return DIFF_NEED_MOVBE;
	if (t->map == 1 && t->op == 0xc7 && t->digit == 1 && g->rexw)
		return DIFF_NEED_CX16;
	if (t->map == 0 && (t->op == 0x9e || t->op == 0x9f) && !g->compat)
		return DIFF_NEED_LAHF_LM;
	return 0;
}

/* Whether the host can run a case needing n; counts the first missing extension otherwise. */
static bool gen_host_has(unsigned n)
{
	unsigned missing = n & ~gen_have;

	if (!missing)
		return true;
	gen_not_generated[__builtin_ctz(missing)]++;
	return false;
}

static void put(struct gen_insn *g, u64 v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		g->p[g->len++] = (u8)(v >> (8 * i));
}

static unsigned gen_opsz(const struct gen_tmpl *t, const struct gen_insn *g)
{
	if (t->tflags & T_BYTE)
		return 1;
	if (g->rexw)
		return 8;
	return g->p66 ? 2 : 4;
}

/* Encode one instruction from template t at g->p; no register fix-up yet. */
static void gen_encode(struct diff_rng *rng, const struct gen_tmpl *t, struct gen_insn *g, bool seq)
{
	unsigned mod, reg, rm, opsz, zsz;

	memset(&g->len, 0, sizeof(*g) - offsetof(struct gen_insn, len));
	g->disp_at = -1;
	g->modrm_at = -1;
	g->reg = g->rm = -1;
	/* Legacy prefixes in random order. */
	for (unsigned n = rnd(rng, 4) == 0 ? rnd(rng, 4) : 0; n; n--) {
		static const u8 pfx[] = { 0x2e, 0x3e, 0x26, 0x36, 0x66, 0x67, 0xf0 };
		u8 b = pfx[rnd(rng, seq ? 4 : ARRAY_SIZE(pfx))];

		if (b == 0xf0 && !(t->tflags & T_LOCK) && rnd(rng, 4))
			continue; /* keep most cases valid */
		if (b == 0x66 && (t->tflags & T_NO66))
			continue;
		if (b == 0x67 && rnd(rng, 2))
			continue;
		g->p[g->len++] = b;
		g->p66 |= b == 0x66;
		g->p67 |= b == 0x67;
	}
	if ((t->tflags & T_REP) && rnd(rng, 2))
		g->p[g->len++] = rnd(rng, 2) ? 0xf3 : 0xf2;
	if (t->tflags & T_F3)
		g->p[g->len++] = 0xf3;
	if (t->tflags & (T_P66 | T_PF3 | T_PF2)) /* mandatory prefix: last before REX */
		g->p[g->len++] = (t->tflags & T_P66) ? 0x66 : (t->tflags & T_PF3) ? 0xf3 : 0xf2;
	if (!g->compat && rnd(rng, 3)) {
		g->rex = 0x40 | rnd(rng, 16);
		if (t->tflags & T_NOW)
			g->rex &= ~8u;
		g->rexw = g->rex & 8;
		g->p[g->len++] = (u8)g->rex;
	}
	if (t->map >= 1)
		g->p[g->len++] = 0x0f;
	if (t->map == 2)
		g->p[g->len++] = 0x38;
	g->p[g->len++] = (u8)(t->op + (t->form == F_OPREG ? rnd(rng, t->op == 0xe0 ? 4 : 8) : 0));
	if (t->form == F_OPREG && !(t->op >= 0x70 && t->op <= 0x80) && t->op != 0xe0 &&
	    !(t->map == 1 && t->op == 0x80))
		g->rm = (int)((g->p[g->len - 1] & 7) | ((g->rex & 1) << 3));
	if (t->form == F_RM || t->form == F_REG || t->form == F_MEM) {
		mod = t->form == F_REG ? 3 : t->form == F_MEM ? rnd(rng, 3) : rnd(rng, 4);
		if (seq)
			mod = 3;
		reg = t->digit >= 0 ? (unsigned)t->digit : rnd(rng, 8);
		rm = rnd(rng, 8);
		g->modrm_at = (int)g->len;
		g->p[g->len++] = (u8)(mod << 6 | reg << 3 | rm);
		g->reg = (int)(reg | ((g->rex & 4) << 1));
		if (mod == 3) {
			g->rm = (int)(rm | ((g->rex & 1) << 3));
		} else if (g->compat && g->p67) {
			/* 16-bit addressing (SDM vol. 2A table 2-1): no SIB; [BP+disp] style forms
			 * reach only the unmapped first 64 KiB, so they are left as they come. */
			g->mem = 1;
			g->base = g->index = 0xff;
			if ((mod == 0 && rm == 6) || mod == 2)
				put(g, rnd(rng, 65536), 2);
			else if (mod == 1)
				put(g, rnd(rng, 256), 1);
		} else {
			g->mem = 1;
			g->base = g->index = 0xff;
			if (rm == 4) {
				unsigned sib = rnd(rng, 256), b = sib & 7, ix = (sib >> 3) & 7;

				g->p[g->len++] = (u8)sib;
				g->scale = sib >> 6;
				ix |= (g->rex & 2) << 2;
				if (ix != 4)
					g->index = ix;
				if (b == 5 && mod == 0) {
					g->disp_at = (int)g->len;
					put(g, 0, 4);
				} else {
					g->base = b | ((g->rex & 1) << 3);
				}
			} else if (rm == 5 && mod == 0) {
				g->rip_rel = !g->compat; /* disp32 absolute in 32-bit code */
				g->disp_at = (int)g->len;
				put(g, 0, 4);
			} else {
				g->base = rm | ((g->rex & 1) << 3);
			}
			if (mod == 1) {
				g->disp = (s8)rnd(rng, 256);
				put(g, (u64)g->disp, 1);
			} else if (mod == 2) {
				g->disp = (s32)(rnd(rng, 2048) - 1024);
				put(g, (u64)g->disp, 4);
			}
		}
	}
	opsz = gen_opsz(t, g);
	zsz = opsz == 2 ? 2 : 4;
	g->imm_at = g->len;
	switch (t->imm) {
	case I_8:
	case I_REL8:
		g->imm_len = 1;
		break;
	case I_16:
		g->imm_len = 2;
		break;
	case I_Z:
		g->imm_len = zsz;
		break;
	case I_V:
		g->imm_len = opsz;
		break;
	case I_RELZ:
		g->imm_len = 4;
		break;
	case I_MOFFS:
		g->imm_len = g->p67 || g->compat ? 4 : 8;
		break;
	case I_ENTER:
		g->imm_len = 3;
		break;
	default:
		g->imm_len = 0;
	}
	/* F6/F7 /0 /1 (TEST) carry an immediate. */
	if (t->special == S_MUL && ((g->p[g->modrm_at] >> 3) & 7) <= 1)
		g->imm_len = opsz == 1 ? 1 : zsz;
	put(g, gen_value(rng), g->imm_len);
}

static void gen_patch(struct gen_insn *g, unsigned at, u64 v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		g->p[at + i] = (u8)(v >> (8 * i));
}

/* A data address: mostly inside, sometimes right at the end (a split #PF). */
static u64 gen_data_addr(struct diff_rng *rng)
{
	if (!rnd(rng, 32))
		return DIFF_DATA + DIFF_DATA_SIZE - 1 - rnd(rng, 8);
	return DIFF_DATA + 64 + rnd(rng, DIFF_DATA_SIZE - 192);
}

/* Point the memory operand of g (at code address pc) into the data pages. */
static u64 gen_fix_mem(struct diff_rng *rng, struct diff_case *c, struct gen_insn *g, u64 pc)
{
	u64 target = gen_data_addr(rng), rest = target - (u64)g->disp;

	if (g->compat && g->p67)
		return 0; /* 16-bit addresses: always below the data pages */

	if (g->disp_at >= 0) {
		u64 v = g->rip_rel ? target - (pc + g->len) : target;

		if (g->index != 0xff) {
			c->gpr[g->index] = rnd(rng, 16);
			v -= c->gpr[g->index] << g->scale;
		}
		gen_patch(g, (unsigned)g->disp_at, v, 4);
		return target;
	}
	if (g->index != 0xff && g->index == g->base) {
		c->gpr[g->base] = rest / (1 + (1ull << g->scale));
		target = c->gpr[g->base] + (c->gpr[g->base] << g->scale) + (u64)g->disp;
		return g->p67 ? target & 0xffffffff : target;
	}
	if (g->index != 0xff) {
		c->gpr[g->index] = (u64)(s64)((int)rnd(rng, 64) - 32);
		rest -= c->gpr[g->index] << g->scale;
	}
	if (g->base != 0xff)
		c->gpr[g->base] = rest;
	return target;
}

/* An 80-bit value of a random class: zeros, normals near 1 and over the whole range, denormals,
 * infinities, NaNs (quiet, signalling, the indefinite), integers, and rarely any bit pattern. */
static void gen_f80(struct diff_rng *rng, u8 v[10])
{
	u64 m = diff_rand(rng) | (1ull << 63);
	unsigned e = 0x3fff - 8 + rnd(rng, 17), sign = rnd(rng, 2) << 15;

	switch (rnd(rng, 12)) {
	case 0:
		m = 0, e = 0;
		break;
	case 1:
		e = 0, m >>= 1 + rnd(rng, 63); /* denormal */
		break;
	case 2:
		e = 0x7fff, m = 1ull << 63; /* infinity */
		break;
	case 3:
		e = 0x7fff, m |= 1ull << 62; /* QNaN */
		break;
	case 4:
		e = 0x7fff, m = (m & ~(1ull << 62)) | 1; /* SNaN */
		break;
	case 5:
		e = 1 + rnd(rng, 0x7ffe); /* any normal */
		break;
	case 6: /* a small integer */
		m = (u64)(1 + rnd(rng, 1000));
		e = 0x3fff + 63;
		while (!(m >> 63))
			m <<= 1, e--;
		break;
	case 7:
		m = diff_rand(rng), e = rnd(rng, 0x8000); /* any pattern, unnormals included */
		break;
	case 8:
		e = 0x3fff + 40 + rnd(rng, 30); /* near the integer conversion limits */
		break;
	default:
		break;
	}
	memcpy(v, &m, 8);
	e |= sign;
	memcpy(v + 8, &e, 2);
}

static void gen_x87(struct diff_rng *rng, struct diff_case *c)
{
	c->fcw = (u16)(0x037f | (rnd(rng, 4) << 8) | (rnd(rng, 4) << 10));
	if (!rnd(rng, 6))
		c->fcw &= (u16) ~(diff_rand(rng) & 0x3d); /* unmask some exceptions (not PE) */
	c->fsw = (u16)((rnd(rng, 8) << 11) | (diff_rand(rng) & 0x4700) |
		       (diff_rand(rng) & c->fcw & 0x3f));
	switch (rnd(rng, 4)) {
	case 0:
		c->ftw = 0;
		break;
	case 1:
		c->ftw = 0xff;
		break;
	default:
		c->ftw = (u8)diff_rand(rng);
	}
	for (unsigned i = 0; i < 8; i++)
		gen_f80(rng, c->st[i]);
}

static void gen_regs(struct diff_rng *rng, struct diff_case *c)
{
	gen_x87(rng, c);
	for (unsigned i = 0; i < 16; i++)
		c->gpr[i] = gen_value(rng);
	c->gpr[4] = DIFF_DATA + 0x1000 + 8 * rnd(rng, 256); /* RSP */
	if (!rnd(rng, 64))
		c->gpr[4] = DIFF_DATA + 8 * rnd(rng, 3); /* pushes fault */
	c->rflags = 2 | (diff_rand(rng) & (ALLF | 0x400));
	for (unsigned i = 0; i < 16; i++) {
		u64 v[2] = { gen_value(rng), gen_value(rng) };

		memcpy(c->xmm[i], v, 16);
	}
	for (unsigned i = 0; i < DIFF_DATA_SIZE; i += 8) {
		u64 v = gen_value(rng);

		memcpy(c->data + i, &v, 8);
	}
}

/*
 * A control-transfer target that cannot reach the harness's own code: the INT3 filler of the
 * code page, an unmapped address below the data pages, or a non-canonical address.
 */
static u64 gen_safe_target(struct diff_rng *rng)
{
	switch (rnd(rng, 4)) {
	case 0:
		return DIFF_DATA - 0x1000 + rnd(rng, 0x1000);
	case 1:
		return 0x8000000000000000ull + rnd(rng, 0x10000);
	default: /* INT3 filler before or after the case's code (never into it: loops) */
		return DIFF_CODE + (rnd(rng, 2) ?
					    rnd(rng, DIFF_CODE_OFF) :
					    DIFF_CODE_OFF + DIFF_MAX_CODE +
						    rnd(rng, 4096 - DIFF_CODE_OFF - DIFF_MAX_CODE));
	}
}

/* Register set-up that memory operands may then override (they are fixed up after). */
static void gen_special(struct diff_rng *rng, struct diff_case *c, const struct gen_tmpl *t,
			struct gen_insn *g)
{
	unsigned opsz = gen_opsz(t, g), digit;

	switch (t->special) {
	case S_SHD: {
		unsigned count = rnd(rng, opsz == 2 ? 17 : opsz * 8);

		if (t->op & 1)
			c->gpr[1] = count | (diff_rand(rng) & 0xff00);
		else
			g->p[g->imm_at] = (u8)count;
		break;
	}
	case S_SHIFT:
		if (t->op >= 0xd2)
			c->gpr[1] = rnd(rng, 2) ? rnd(rng, 40) : gen_value(rng);
		break;
	case S_MUL:
		digit = (g->p[g->modrm_at] >> 3) & 7;
		if (digit >= 6 && rnd(rng, 2)) {
			/* Keep quotients in range half the time: small high half. */
			c->gpr[2] = rnd(rng, 4);
			c->gpr[0] &= opsz == 1 ? 0xff : ~0ull;
		}
		break;
	case S_LEAVE:
		c->gpr[5] = gen_data_addr(rng) & ~7ull;
		break;
	case S_ENTER:
		g->p[g->imm_at + 2] = (u8)rnd(rng, 4);
		gen_patch(g, g->imm_at, rnd(rng, 64), 2);
		c->gpr[5] = gen_data_addr(rng) & ~7ull;
		break;
	case S_STRING:
		c->gpr[6] = gen_data_addr(rng) - 32;
		c->gpr[7] = gen_data_addr(rng) - 32;
		c->gpr[1] = rnd(rng, 4) ? rnd(rng, 24) : gen_value(rng) & 0x3f;
		if (rnd(rng, 4) == 0)
			c->gpr[0] = c->data[c->gpr[7] - DIFF_DATA]; /* SCAS may match */
		break;
	case S_XLAT:
		c->gpr[3] = gen_data_addr(rng) - 255;
		break;
	case S_MASKMOV:
		c->gpr[7] = gen_data_addr(rng) - 15;
		break;
	case S_INT:
		if (g->p[g->imm_at] == 3 || g->p[g->imm_at] == 4 || g->p[g->imm_at] == 0x80)
			g->p[g->imm_at] = 0x81;
		break;
	default:
		break;
	}
}

static void gen_put_data64(struct diff_case *c, u64 addr, u64 v)
{
	if (addr >= DIFF_DATA && addr + 8 <= DIFF_DATA + DIFF_DATA_SIZE)
		memcpy(c->data + (addr - DIFF_DATA), &v, 8);
}

/* After the memory fix-up: stack and memory contents, and value-dependent undefined flags. */
static void gen_post(struct diff_rng *rng, struct diff_case *c, const struct gen_tmpl *t,
		     struct gen_insn *g, u64 ea)
{
	unsigned opsz = gen_opsz(t, g), bits = opsz * 8, count, digit;
	u64 sp = c->gpr[4];

	switch (t->special) {
	case S_SHIFT:
		digit = (g->p[g->modrm_at] >> 3) & 7;
		count = t->op <= 0xc1 ? g->p[g->imm_at] : t->op <= 0xd1 ? 1 : (u8)c->gpr[1];
		count &= opsz == 8 ? 0x3f : 0x1f;
		if (count > 1)
			c->undef_flags |= OF;
		if (digit >= 4 && count)
			c->undef_flags |= AF;
		if (digit >= 4 && count >= bits)
			c->undef_flags |= CF | OF;
		break;
	case S_SHD:
		count = (t->op & 1) ? (u8)c->gpr[1] : g->p[g->imm_at];
		count &= opsz == 8 ? 0x3f : 0x1f;
		c->undef_flags |= AF;
		if (count > 1)
			c->undef_flags |= OF;
		if (opsz == 2 && count > 16)
			c->reject = true; /* result and flags undefined */
		break;
	case S_MUL:
		digit = (g->p[g->modrm_at] >> 3) & 7;
		if (digit == 0 || digit == 1)
			c->undef_flags |= AF;
		if (digit == 4 || digit == 5)
			c->undef_flags |= SF | ZF | AF | PF;
		if (digit >= 6)
			c->undef_flags |= ALLF;
		break;
	case S_RET:
		gen_put_data64(c, sp, gen_safe_target(rng));
		break;
	case S_POPF:
		gen_put_data64(c, sp, 2 | (diff_rand(rng) & (ALLF | 0x400)));
		break;
	case S_INDIRECT:
		if (g->rm >= 0)
			c->gpr[g->rm] = gen_safe_target(rng);
		else
			gen_put_data64(c, ea, gen_safe_target(rng));
		break;
	case S_MXCSR:
		if (ea >= DIFF_DATA && ea + 4 <= DIFF_DATA + DIFF_DATA_SIZE) {
			/* Valid, or reserved bit 18 set (#GP); AMD's MM bit 17 is not modelled */
			u32 v = ((u32)diff_rand(rng) & 0xffff) | (rnd(rng, 8) ? 0 : 0x40000);

			memcpy(c->data + (ea - DIFF_DATA), &v, 4);
		}
		break;
	default:
		break;
	}
}

/* Branch targets must leave the code (they land on INT3 filler or unmapped memory). */
static void gen_fix_branch(struct diff_rng *rng, const struct gen_tmpl *t, struct gen_insn *g,
			   unsigned end_off)
{
	if (t->imm != I_REL8 && t->imm != I_RELZ)
		return;
	if (t->imm == I_REL8) {
		s8 rel = (s8)g->p[g->imm_at];

		if (rel < 0 && (unsigned)-rel <= end_off)
			g->p[g->imm_at] = (u8)(-(s8)(end_off + 1 + rnd(rng, 40)));
	} else {
		u64 end = DIFF_CODE + DIFF_CODE_OFF + end_off;

		gen_patch(g, g->imm_at, gen_safe_target(rng) - end, 4);
	}
}

static void diff_gen_one(struct diff_rng *rng, struct diff_case *c)
{
	const struct gen_tmpl *t = &gen_tmpls[rnd(rng, GEN_NR)];
	struct gen_insn g = { .compat = c->compat };
	u64 ea = 0;

	/*
	 * ARPL (63 outside 64-bit mode) is a protected-mode system instruction: BT part 2.
	 * MASKMOVQ/MASKMOVDQU in 32-bit code still differ from the host when the store
	 * faults (CS override, 16-bit rDI), so they are compared in 64-bit code only.
	 */
	while ((c->compat && t->map == 0 && t->op == 0x63) || (!c->compat && (t->tflags & T_C32)) ||
	       (c->compat && t->special == S_MASKMOV))
		t = &gen_tmpls[rnd(rng, GEN_NR)];
	memset(c, 0, offsetof(struct diff_case, data));
	c->reject = false;
	c->sdm_int = false;
	c->cr2_any = t->special == S_STRING && (t->op == 0xa6 || t->op == 0xa7);
	/* FLDENV/FRSTOR: several reads in an unspecified order. */
	c->cr2_any |= t->map == 0 && (t->op == 0xd9 || t->op == 0xdd) && t->digit == 4;
	gen_regs(rng, c);
	g.p = c->code;
	gen_encode(rng, t, &g, false);
	c->code_len = g.len;
	c->nr_insns = 1;
	c->group = gen_group_of(t->group);
	c->undef_flags = t->undef;
	c->needs = gen_needs(t, &g);
	if (!gen_host_has(c->needs)) {
		c->reject = true;
		return;
	}
	gen_special(rng, c, t, &g);
	if (t->special == S_INT) {
		/* Linux's IDT gates have DPL 0 except vectors 3, 4 and 0x80 (not generated): INT n
		 * at CPL 3 is #GP(n * 8 + 2) (SDM vol. 3A 6.12.1.1), #UD with a LOCK prefix; what
		 * a kernel then reports is its own choice, so the SDM is the oracle. */
		c->sdm_int = true;
		c->int_vector = g.p[g.imm_at];
		c->int_locked = memchr(g.p, 0xf0, g.imm_at - 1) != NULL; /* prefixes only */
	}
	if ((t->tflags & T_PTR) && g.mem && g.reg >= 0)
		c->gpr[g.reg] = (u64)(s64)(int)(rnd(rng, 1024) - 512);
	if (g.mem)
		ea = gen_fix_mem(rng, c, &g, DIFF_CODE + DIFF_CODE_OFF);
	if (t->map == 0 && (t->op & 0xfc) == 0xa0) {
		u64 a = gen_data_addr(rng);

		gen_patch(&g, g.imm_at, a, g.imm_len);
	}
	gen_post(rng, c, t, &g, ea);
	gen_fix_branch(rng, t, &g, g.len);
}

void diff_gen_single(struct diff_rng *rng, struct diff_case *c)
{
	do
		diff_gen_one(rng, c);
	while (c->reject);
}

void diff_gen_sequence(struct diff_rng *rng, struct diff_case *c)
{
	unsigned n = 2 + rnd(rng, 7), jcc_at[8], nj = 0;

	memset(c, 0, offsetof(struct diff_case, data));
	c->sdm_int = false;
	c->needs = 0;
	gen_regs(rng, c);
	c->group = gen_group_of("sequence");
	for (unsigned i = 0; i < n; i++) {
		const struct gen_tmpl *t;
		struct gen_insn g = { .compat = c->compat };

		if (rnd(rng, 4) == 0) {
			/* A forward Jcc to the end of the sequence, patched below. */
			c->code[c->code_len] = (u8)(0x70 + rnd(rng, 16));
			jcc_at[nj++] = c->code_len + 1;
			c->code_len += 2;
			continue;
		}
		do {
			do
				t = &gen_tmpls[rnd(rng, GEN_NR)];
			while (!(t->tflags & T_SEQ) || t->undef);
			g.p = c->code + c->code_len;
			gen_encode(rng, t, &g, true);
		} while (!gen_host_has(gen_needs(t, &g)));
		c->needs |= gen_needs(t, &g);
		c->code_len += g.len;
	}
	for (unsigned j = 0; j < nj; j++)
		c->code[jcc_at[j]] = (u8)(c->code_len - (jcc_at[j] + 1));
	c->nr_insns = n;
}

void diff_gen_state(struct diff_rng *rng, struct diff_case *c)
{
	memset(c, 0, offsetof(struct diff_case, data));
	gen_regs(rng, c);
}

unsigned diff_gen_seq_insn(struct diff_rng *rng, u8 *p, bool compat)
{
	const struct gen_tmpl *t;
	struct gen_insn g = { .compat = compat };

	do
		t = &gen_tmpls[rnd(rng, GEN_NR)];
	while (!(t->tflags & T_SEQ) || t->undef);
	g.p = p;
	gen_encode(rng, t, &g, true);
	return g.len;
}
