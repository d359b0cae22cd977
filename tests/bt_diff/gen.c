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
 * FS/GS overrides, CPUID/RDTSC, XGETBV (the host's XCR0 has AVX-512 state), EVEX, FNSTENV/FNSAVE
 * (FIP/FDP are not modelled), 66-prefixed near branches (AMD and Intel differ).
 *
 * VEX templates (AVX, AVX2, FMA, F16C, BMI1, BMI2) get VEX.L, VEX.W and VEX.vvvv at random
 * within their form's rules, the 2-byte prefix where it can encode the instruction, and one
 * case in 16 breaks a rule (VEX.L, VEX.W, vvvv, a legacy prefix before VEX) for the #UD. The
 * YMM registers' upper halves are random whenever the host has AVX, so every SSE case also
 * checks that legacy forms keep them. XSAVE, XSAVEOPT, XSAVEC and XRSTOR get a 64-byte aligned
 * area, a requested-feature bitmap within x87, SSE and AVX state, and for XRSTOR a header built
 * to be valid (standard or compacted) or, now and then, not.
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
#define T_C32	0x2000u	  /* 32-bit code only (64-bit mode: another instruction) */
#define T_VEX	0x4000u	  /* VEX-encoded: T_P66/T_PF3/T_PF2 give VEX.pp, map VEX.mmmmm */
#define T_L0	0x8000u	  /* VEX.L = 0 only */
#define T_L1	0x10000u  /* VEX.L = 1 only */
#define T_W0	0x20000u  /* VEX.W0 only */
#define T_W1	0x40000u  /* VEX.W1 only */
#define T_NOV	0x80000u  /* no VEX.vvvv operand: 1111b */
#define T_AVX2	0x100000u /* AVX2 (else AVX) */
#define T_I256	0x200000u /* AVX for 128 bits, AVX2 for 256 (integer forms) */

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
	S_PCMPSTR, /* PCMPxSTRx: short lengths, zero elements, strings that share bytes */
	S_GATHER,  /* VSIB: a vector index of small elements, a base into the data pages */
	S_XSAVE,   /* XSAVE/XSAVEOPT/XSAVEC: an aligned area, RFBM within x87, SSE, AVX */
	S_XRSTOR,  /* XRSTOR: the same, with a header that is mostly valid */
};

struct gen_tmpl {
	const char *group;
	u8 map, op, form;
	s8 digit; /* fixed ModRM.reg or -1 */
	u8 imm;
	u32 tflags;
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
	{ "jmp", 0, 0xff, F_RM, 2, I_NONE, T_NO66, S_INDIRECT, 0 }, /* REX.W: the same */
	{ "jmp", 0, 0xff, F_RM, 4, I_NONE, T_NO66, S_INDIRECT, 0 },
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
	{ "sse-mov", 1, 0x10, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse-mov", 1, 0x11, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
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
	/* SSE3 */
	{ "sse3", 1, 0xd0, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse3", 1, 0xd0, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse3", 1, 0x7c, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse3", 1, 0x7c, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse3", 1, 0x7d, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse3", 1, 0x7d, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse3", 1, 0x12, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse3", 1, 0x16, F_RM, -1, I_NONE, T_SSE | T_PF3, 0, 0 },
	{ "sse3", 1, 0x12, F_RM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	{ "sse3", 1, 0xf0, F_MEM, -1, I_NONE, T_SSE | T_PF2, 0, 0 },
	/* SSSE3: the XMM forms (66) and the MMX forms */
#define SSSE3(o) { "ssse3", 2, o, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 }, \
		 { "ssse3", 2, o, F_RM, -1, I_NONE, T_SSE, 0, 0 }
	SSSE3(0x00), SSSE3(0x01), SSSE3(0x02), SSSE3(0x03), SSSE3(0x04), SSSE3(0x05),
	SSSE3(0x06), SSSE3(0x07), SSSE3(0x08), SSSE3(0x09), SSSE3(0x0a), SSSE3(0x0b),
	SSSE3(0x1c), SSSE3(0x1d), SSSE3(0x1e),
	{ "ssse3", 3, 0x0f, F_RM, -1, I_8, T_SSE | T_P66, 0, 0 },
	{ "ssse3", 3, 0x0f, F_RM, -1, I_8, T_SSE, 0, 0 },
	/* SSE4.1 */
#define SSE41(m, o, f, i) { "sse4.1", m, o, f, -1, i, T_SSE | T_P66, 0, 0 }
	SSE41(2, 0x10, F_RM, I_NONE), SSE41(2, 0x14, F_RM, I_NONE), SSE41(2, 0x15, F_RM, I_NONE),
	SSE41(2, 0x17, F_RM, I_NONE), SSE41(2, 0x20, F_RM, I_NONE), SSE41(2, 0x21, F_RM, I_NONE),
	SSE41(2, 0x22, F_RM, I_NONE), SSE41(2, 0x23, F_RM, I_NONE), SSE41(2, 0x24, F_RM, I_NONE),
	SSE41(2, 0x25, F_RM, I_NONE), SSE41(2, 0x28, F_RM, I_NONE), SSE41(2, 0x29, F_RM, I_NONE),
	SSE41(2, 0x2a, F_MEM, I_NONE), SSE41(2, 0x2b, F_RM, I_NONE), SSE41(2, 0x30, F_RM, I_NONE),
	SSE41(2, 0x31, F_RM, I_NONE), SSE41(2, 0x32, F_RM, I_NONE), SSE41(2, 0x33, F_RM, I_NONE),
	SSE41(2, 0x34, F_RM, I_NONE), SSE41(2, 0x35, F_RM, I_NONE), SSE41(2, 0x38, F_RM, I_NONE),
	SSE41(2, 0x39, F_RM, I_NONE), SSE41(2, 0x3a, F_RM, I_NONE), SSE41(2, 0x3b, F_RM, I_NONE),
	SSE41(2, 0x3c, F_RM, I_NONE), SSE41(2, 0x3d, F_RM, I_NONE), SSE41(2, 0x3e, F_RM, I_NONE),
	SSE41(2, 0x3f, F_RM, I_NONE), SSE41(2, 0x40, F_RM, I_NONE), SSE41(2, 0x41, F_RM, I_NONE),
	SSE41(3, 0x08, F_RM, I_8), SSE41(3, 0x09, F_RM, I_8), SSE41(3, 0x0a, F_RM, I_8),
	SSE41(3, 0x0b, F_RM, I_8), SSE41(3, 0x0c, F_RM, I_8), SSE41(3, 0x0d, F_RM, I_8),
	SSE41(3, 0x0e, F_RM, I_8), SSE41(3, 0x14, F_RM, I_8), SSE41(3, 0x15, F_RM, I_8),
	SSE41(3, 0x16, F_RM, I_8), SSE41(3, 0x17, F_RM, I_8), SSE41(3, 0x20, F_RM, I_8),
	SSE41(3, 0x21, F_RM, I_8), SSE41(3, 0x22, F_RM, I_8), SSE41(3, 0x40, F_RM, I_8),
	SSE41(3, 0x41, F_RM, I_8), SSE41(3, 0x42, F_RM, I_8),
	{ "sse4.1", 3, 0x16, F_RM, -1, I_8, T_NO66 | T_P66 | T_W, 0, 0 }, /* PEXTRQ */
	{ "sse4.1", 3, 0x22, F_RM, -1, I_8, T_NO66 | T_P66 | T_W, 0, 0 }, /* PINSRQ */
	/* SSE4.2 */
	{ "sse4.2", 2, 0x37, F_RM, -1, I_NONE, T_SSE | T_P66, 0, 0 },
	{ "sse4.2", 2, 0xf0, F_RM, -1, I_NONE, T_NO66 | T_PF2, 0, 0 },
	{ "sse4.2", 2, 0xf1, F_RM, -1, I_NONE, T_PF2, 0, 0 },
	{ "sse4.2", 3, 0x60, F_RM, -1, I_8, T_NO66 | T_P66, S_PCMPSTR, 0 },
	{ "sse4.2", 3, 0x61, F_RM, -1, I_8, T_NO66 | T_P66, S_PCMPSTR, 0 },
	{ "sse4.2", 3, 0x62, F_RM, -1, I_8, T_SSE | T_P66, S_PCMPSTR, 0 },
	{ "sse4.2", 3, 0x63, F_RM, -1, I_8, T_SSE | T_P66, S_PCMPSTR, 0 },
	/* VEX: AVX, AVX2, FMA, F16C, BMI1, BMI2 (T_VEX: pp, L, W, vvvv as flagged) */
	{ "avx", 1, 0x58, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x58, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x58, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x58, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x59, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x59, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x59, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x59, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x5c, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x5c, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x5c, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x5c, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x5d, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x5d, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x5d, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x5d, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x5e, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x5e, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x5e, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x5e, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x5f, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x5f, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x5f, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x5f, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x51, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x51, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x51, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x51, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x52, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x52, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x53, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x53, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x54, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x54, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x55, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x55, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x56, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x56, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x57, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x57, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x14, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x14, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x15, F_RM, -1, I_NONE, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0x15, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x5a, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x5a, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x5a, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x5a, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x5b, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x5b, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x5b, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0xe6, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0xe6, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0xe6, F_RM, -1, I_NONE, T_VEX | T_PF2|T_NOV, 0, 0 },
	{ "avx", 1, 0xc2, F_RM, -1, I_8, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0xc2, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0xc2, F_RM, -1, I_8, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0xc2, F_RM, -1, I_8, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0xc6, F_RM, -1, I_8, T_VEX | 0, 0, 0 },
	{ "avx", 1, 0xc6, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x7c, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x7c, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x7d, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0x7d, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0xd0, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "avx", 1, 0xd0, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x10, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x10, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x10, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x10, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x11, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x11, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x11, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x11, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x28, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x28, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x29, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x29, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x2b, F_MEM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x2b, F_MEM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x12, F_RM, -1, I_NONE, T_VEX | T_L0, 0, 0 },
	{ "avx", 1, 0x12, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 1, 0x12, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x12, F_RM, -1, I_NONE, T_VEX | T_PF2|T_NOV, 0, 0 },
	{ "avx", 1, 0x16, F_RM, -1, I_NONE, T_VEX | T_L0, 0, 0 },
	{ "avx", 1, 0x16, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 1, 0x16, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x13, F_MEM, -1, I_NONE, T_VEX | T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x13, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x17, F_MEM, -1, I_NONE, T_VEX | T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x17, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x2a, F_RM, -1, I_NONE, T_VEX | T_PF3, 0, 0 },
	{ "avx", 1, 0x2a, F_RM, -1, I_NONE, T_VEX | T_PF2, 0, 0 },
	{ "avx", 1, 0x2c, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x2c, F_RM, -1, I_NONE, T_VEX | T_PF2|T_NOV, 0, 0 },
	{ "avx", 1, 0x2d, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x2d, F_RM, -1, I_NONE, T_VEX | T_PF2|T_NOV, 0, 0 },
	{ "avx", 1, 0x2e, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x2e, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x2f, F_RM, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x2f, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x50, F_REG, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0x50, F_REG, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x77, F_NONE, -1, I_NONE, T_VEX | T_NOV, 0, 0 },
	{ "avx", 1, 0xae, F_MEM, 2, I_NONE, T_VEX | T_L0|T_NOV, S_MXCSR, 0 },
	{ "avx", 1, 0xae, F_MEM, 3, I_NONE, T_VEX | T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0xf0, F_MEM, -1, I_NONE, T_VEX | T_PF2|T_NOV, 0, 0 },
	{ "avx", 1, 0x60, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x61, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x62, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x63, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x64, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x65, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x66, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x67, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x68, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x69, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x6a, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x6b, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x6c, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x6d, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x74, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x75, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x76, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd1, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd2, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd3, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd4, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd5, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd8, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xd9, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xda, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xdb, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xdc, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xdd, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xde, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xdf, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe0, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe1, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe2, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe3, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe4, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe5, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe8, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xe9, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xea, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xeb, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xec, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xed, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xee, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xef, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf1, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf2, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf3, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf4, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf5, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf6, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf8, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xf9, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xfa, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xfb, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xfc, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xfd, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xfe, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x6e, F_RM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x7e, F_RM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x7e, F_RM, -1, I_NONE, T_VEX | T_PF3|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0xd6, F_RM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0x6f, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x6f, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x7f, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0x7f, F_RM, -1, I_NONE, T_VEX | T_PF3|T_NOV, 0, 0 },
	{ "avx", 1, 0x70, F_RM, -1, I_8, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 1, 0x70, F_RM, -1, I_8, T_VEX | T_PF3|T_NOV|T_I256, 0, 0 },
	{ "avx", 1, 0x70, F_RM, -1, I_8, T_VEX | T_PF2|T_NOV|T_I256, 0, 0 },
	{ "avx", 1, 0x71, F_REG, 2, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x71, F_REG, 4, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x71, F_REG, 6, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x72, F_REG, 2, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x72, F_REG, 4, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x72, F_REG, 6, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x73, F_REG, 2, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x73, F_REG, 3, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x73, F_REG, 6, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0x73, F_REG, 7, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 1, 0xc4, F_RM, -1, I_8, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 1, 0xc5, F_REG, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 1, 0xd7, F_REG, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 1, 0xe7, F_MEM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 1, 0xf7, F_REG, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, S_MASKMOV, 0 },
	{ "avx", 2, 0x00, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x01, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x02, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x03, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x04, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x05, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x06, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x07, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x08, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x09, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x0a, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x0b, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x1c, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x1d, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x1e, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x17, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 2, 0x20, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x21, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x22, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x23, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x24, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x25, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x30, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x31, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x32, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x33, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x34, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x35, F_RM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x28, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x29, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x2b, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x37, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x38, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x39, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3a, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3b, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3c, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3d, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3e, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x3f, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x40, F_RM, -1, I_NONE, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 2, 0x2a, F_MEM, -1, I_NONE, T_VEX | T_P66|T_NOV|T_I256, 0, 0 },
	{ "avx", 2, 0x41, F_RM, -1, I_NONE, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 2, 0x0c, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 2, 0x0d, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 2, 0x0e, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx", 2, 0x0f, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx", 2, 0x18, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx", 2, 0x19, F_RM, -1, I_NONE, T_VEX | T_P66|T_L1|T_W0|T_NOV, 0, 0 },
	{ "avx", 2, 0x1a, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L1|T_W0|T_NOV, 0, 0 },
	{ "avx", 2, 0x2c, F_MEM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 2, 0x2d, F_MEM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 2, 0x2e, F_MEM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 2, 0x2f, F_MEM, -1, I_NONE, T_VEX | T_P66|T_W0, 0, 0 },
	{ "f16c", 2, 0x13, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx2", 2, 0x16, F_RM, -1, I_NONE, T_VEX | T_P66|T_L1|T_W0|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x36, F_RM, -1, I_NONE, T_VEX | T_P66|T_L1|T_W0|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x45, F_RM, -1, I_NONE, T_VEX | T_P66|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x46, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x47, F_RM, -1, I_NONE, T_VEX | T_P66|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x58, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x59, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x78, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x79, F_RM, -1, I_NONE, T_VEX | T_P66|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x5a, F_MEM, -1, I_NONE, T_VEX | T_P66|T_L1|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x8c, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x8e, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, 0, 0 },
	{ "avx2", 2, 0x90, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, S_GATHER, 0 },
	{ "avx2", 2, 0x91, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, S_GATHER, 0 },
	{ "avx2", 2, 0x92, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, S_GATHER, 0 },
	{ "avx2", 2, 0x93, F_MEM, -1, I_NONE, T_VEX | T_P66|T_AVX2, S_GATHER, 0 },
	{ "fma", 2, 0x96, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x97, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x98, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x99, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9a, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9b, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9c, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9d, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9e, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0x9f, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xa6, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xa7, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xa8, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xa9, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xaa, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xab, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xac, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xad, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xae, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xaf, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xb6, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xb7, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xb8, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xb9, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xba, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xbb, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xbc, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xbd, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xbe, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "fma", 2, 0xbf, F_RM, -1, I_NONE, T_VEX | T_P66, 0, 0 },
	{ "bmi1", 2, 0xf2, F_RM, -1, I_NONE, T_VEX | T_L0, 0, AF | PF },
	{ "bmi1", 2, 0xf3, F_RM, 1, I_NONE, T_VEX | T_L0, 0, AF | PF },
	{ "bmi1", 2, 0xf3, F_RM, 2, I_NONE, T_VEX | T_L0, 0, AF | PF },
	{ "bmi1", 2, 0xf3, F_RM, 3, I_NONE, T_VEX | T_L0, 0, AF | PF },
	{ "bmi1", 2, 0xf7, F_RM, -1, I_NONE, T_VEX | T_L0, 0, AF | SF | PF },
	{ "bmi2", 2, 0xf5, F_RM, -1, I_NONE, T_VEX | T_L0, 0, AF | PF },
	{ "bmi2", 2, 0xf5, F_RM, -1, I_NONE, T_VEX | T_PF3|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 2, 0xf5, F_RM, -1, I_NONE, T_VEX | T_PF2|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 2, 0xf6, F_RM, -1, I_NONE, T_VEX | T_PF2|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 2, 0xf7, F_RM, -1, I_NONE, T_VEX | T_P66|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 2, 0xf7, F_RM, -1, I_NONE, T_VEX | T_PF3|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 2, 0xf7, F_RM, -1, I_NONE, T_VEX | T_PF2|T_L0|T_SEQ, 0, 0 },
	{ "bmi2", 3, 0xf0, F_RM, -1, I_8, T_VEX | T_PF2|T_L0|T_NOV|T_SEQ, 0, 0 },
	{ "avx", 3, 0x08, F_RM, -1, I_8, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 3, 0x09, F_RM, -1, I_8, T_VEX | T_P66|T_NOV, 0, 0 },
	{ "avx", 3, 0x0a, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 3, 0x0b, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 3, 0x0c, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 3, 0x0d, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 3, 0x40, F_RM, -1, I_8, T_VEX | T_P66, 0, 0 },
	{ "avx", 3, 0x0e, F_RM, -1, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 3, 0x0f, F_RM, -1, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 3, 0x42, F_RM, -1, I_8, T_VEX | T_P66|T_I256, 0, 0 },
	{ "avx", 3, 0x14, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 3, 0x15, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 3, 0x16, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 3, 0x17, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, 0, 0 },
	{ "avx", 3, 0x20, F_RM, -1, I_8, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 3, 0x21, F_RM, -1, I_8, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 3, 0x22, F_RM, -1, I_8, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 3, 0x41, F_RM, -1, I_8, T_VEX | T_P66|T_L0, 0, 0 },
	{ "avx", 3, 0x60, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, S_PCMPSTR, 0 },
	{ "avx", 3, 0x61, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, S_PCMPSTR, 0 },
	{ "avx", 3, 0x62, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, S_PCMPSTR, 0 },
	{ "avx", 3, 0x63, F_RM, -1, I_8, T_VEX | T_P66|T_L0|T_NOV, S_PCMPSTR, 0 },
	{ "avx", 3, 0x4a, F_RM, -1, I_8, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 3, 0x4b, F_RM, -1, I_8, T_VEX | T_P66|T_W0, 0, 0 },
	{ "avx", 3, 0x4c, F_RM, -1, I_8, T_VEX | T_P66|T_W0|T_I256, 0, 0 },
	{ "avx", 3, 0x04, F_RM, -1, I_8, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx", 3, 0x05, F_RM, -1, I_8, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx", 3, 0x06, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0, 0, 0 },
	{ "avx", 3, 0x18, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0, 0, 0 },
	{ "avx", 3, 0x19, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0|T_NOV, 0, 0 },
	{ "f16c", 3, 0x1d, F_RM, -1, I_8, T_VEX | T_P66|T_W0|T_NOV, 0, 0 },
	{ "avx2", 3, 0x00, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W1|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 3, 0x01, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W1|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 3, 0x02, F_RM, -1, I_8, T_VEX | T_P66|T_W0|T_AVX2, 0, 0 },
	{ "avx2", 3, 0x38, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0|T_AVX2, 0, 0 },
	{ "avx2", 3, 0x39, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0|T_NOV|T_AVX2, 0, 0 },
	{ "avx2", 3, 0x46, F_RM, -1, I_8, T_VEX | T_P66|T_L1|T_W0|T_AVX2, 0, 0 },
	/* FXSAVE, FXRSTOR, XSAVE and friends (REX.W: the 64-bit forms) */
	{ "xsave", 1, 0xae, F_MEM, 0, I_NONE, T_NO66 | T_W, S_XSAVE, 0 },
	{ "xsave", 1, 0xae, F_MEM, 1, I_NONE, T_NO66 | T_W, S_XRSTOR, 0 },
	{ "xsave", 1, 0xae, F_MEM, 4, I_NONE, T_NO66 | T_W, S_XSAVE, 0 },
	{ "xsave", 1, 0xae, F_MEM, 6, I_NONE, T_NO66 | T_W, S_XSAVE, 0 },
	{ "xsave", 1, 0xc7, F_MEM, 4, I_NONE, T_NO66 | T_W, S_XSAVE, 0 },
	{ "xsave", 1, 0xae, F_MEM, 5, I_NONE, T_NO66 | T_W, S_XRSTOR, 0 },
	{ "priv", 0, 0xf4, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xfa, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xfb, F_NONE, -1, I_NONE, 0, 0, 0 },
	{ "priv", 0, 0xe4, F_NONE, -1, I_8, T_BYTE, 0, 0 },
	{ "priv", 0, 0xef, F_NONE, -1, I_NONE, 0, 0, 0 },
};
// clang-format on

#define GEN_NR ARRAY_SIZE(gen_tmpls)

static const char *const gen_groups[] = {
	"add",	  "or",	    "adc",   "sbb",  "and",	"sub",	   "xor",    "cmp",
	"grp1",	  "test",   "xchg",  "mov",  "movx",	"lea",	   "stack",  "cbw",
	"flags",  "string", "shift", "shd",  "grp3",	"incdec",  "imul",   "jcc",
	"jmp",	  "int",    "setcc", "cmov", "bt",	"bsf",	   "popcnt", "cmpxchg",
	"xadd",	  "bswap",  "movbe", "nop",  "sse-mov", "sse-int", "sse-fp", "mxcsr",
	"legacy", "priv",   "x87",   "mmx",  "sse3",	"ssse3",   "sse4.1", "sse4.2",
	"avx",	  "avx2",   "fma",   "f16c", "bmi1",	"bmi2",	   "xsave",  "sequence",
};

static unsigned gen_have = ~0u;
static bool gen_ymm; /* the host has YMM registers (whatever VMM_TEST_HOST_LACKS says) */

void diff_gen_ymm(bool on)
{
	gen_ymm = on;
}

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
	static const char *const names[DIFF_NR_NEEDS] = {
		"popcnt", "lzcnt", "bmi1",   "movbe",  "cx16",	   "lahf_lm",
		"sse3",	  "ssse3", "sse4_1", "sse4_2", "avx",	   "avx2",
		"fma",	  "f16c",  "bmi2",   "xsave",  "xsaveopt", "xsavec",
	};

	return need_bit < DIFF_NR_NEEDS ? names[need_bit] : "?";
}

enum cpu_feature diff_need_feature(unsigned need_bit)
{
	static const enum cpu_feature feats[DIFF_NR_NEEDS] = {
		CPU_F_POPCNT,  CPU_F_ABM,      CPU_F_BMI1,   CPU_F_MOVBE,  CPU_F_CX16,
		CPU_F_LAHF_LM, CPU_F_SSE3,     CPU_F_SSSE3,  CPU_F_SSE4_1, CPU_F_SSE4_2,
		CPU_F_AVX,     CPU_F_AVX2,     CPU_F_FMA,    CPU_F_F16C,   CPU_F_BMI2,
		CPU_F_XSAVE,   CPU_F_XSAVEOPT, CPU_F_XSAVEC,
	};

	return feats[need_bit < DIFF_NR_NEEDS ? need_bit : 0];
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
	bool vex, vex_l; /* VEX-encoded, VEX.L */
	unsigned vvvv;	 /* VEX.vvvv (un-inverted) */
};

/* The CPU extensions an instruction encoded from t needs (DIFF_NEED_*). */
static unsigned gen_needs(const struct gen_tmpl *t, const struct gen_insn *g)
{
	bool f3 = t->tflags & T_F3;

	if (t->tflags & T_VEX) {
		unsigned n = DIFF_NEED_AVX;

		if (!strcmp(t->group, "bmi1"))
			return DIFF_NEED_BMI1;
		if (!strcmp(t->group, "bmi2"))
			return DIFF_NEED_BMI2;
		if ((t->tflags & T_AVX2) || ((t->tflags & T_I256) && g->vex_l))
			n |= DIFF_NEED_AVX2;
		if (t->map == 2 && (t->op == 0x18 || t->op == 0x19) && !g->mem)
			n |= DIFF_NEED_AVX2; /* VBROADCASTSS/SD from a register */
		if (!strcmp(t->group, "fma"))
			n |= DIFF_NEED_FMA;
		if (!strcmp(t->group, "f16c"))
			n |= DIFF_NEED_F16C;
		return n;
	}
	if (!strcmp(t->group, "xsave") && t->digit < 2)
		return 0; /* FXSAVE, FXRSTOR */
	if (!strcmp(t->group, "xsave"))
		return DIFF_NEED_XSAVE | (t->digit == 6 ? DIFF_NEED_XSAVEOPT : 0) |
		       (t->op == 0xc7 ? DIFF_NEED_XSAVEC : 0);
	if (t->map == 1 && f3 && t->op == 0xb8)
		return DIFF_NEED_POPCNT;
	if (t->map == 1 && f3 && t->op == 0xbc)
		return DIFF_NEED_BMI1; /* TZCNT; BSF (another result) without it */
	if (t->map == 1 && f3 && t->op == 0xbd)
		return DIFF_NEED_LZCNT; /* LZCNT; BSR without it */
	if (t->map == 2 && (t->op == 0xf0 || t->op == 0xf1) && !(t->tflags & T_PF2))
		return DIFF_NEED_MOVBE; /* F2: CRC32 */
	if (t->map == 1 && t->op == 0xc7 && t->digit == 1 && g->rexw)
		return DIFF_NEED_CX16;
	if (t->map == 0 && (t->op == 0x9e || t->op == 0x9f) && !g->compat)
		return DIFF_NEED_LAHF_LM;
	if (t->map == 0 && t->digit == 1 && (t->op == 0xdb || t->op == 0xdd || t->op == 0xdf))
		return DIFF_NEED_SSE3; /* FISTTP */
	if (!strcmp(t->group, "sse3"))
		return DIFF_NEED_SSE3;
	if (!strcmp(t->group, "ssse3"))
		return DIFF_NEED_SSSE3;
	if (!strcmp(t->group, "sse4.1"))
		return DIFF_NEED_SSE41;
	if (!strcmp(t->group, "sse4.2"))
		return DIFF_NEED_SSE42;
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

/* Legacy prefixes in random order, the mandatory prefix, REX and the escape bytes. */
static void gen_legacy_prefixes(struct diff_rng *rng, const struct gen_tmpl *t, struct gen_insn *g,
				bool seq)
{
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
	if (t->map == 3)
		g->p[g->len++] = 0x3a;
}

/*
 * The VEX prefix of t (SDM vol. 2A 2.3.5): R, X, B, W, L and vvvv at random within the form's
 * rules, the 2-byte form where it can encode them; one case in 16 breaks one rule (#UD).
 * Segment overrides and 67 may precede it.
 */
static void gen_vex_prefix(struct diff_rng *rng, const struct gen_tmpl *t, struct gen_insn *g)
{
	unsigned f = t->tflags, bad = rnd(rng, 16) ? 0 : 1 + rnd(rng, 4);
	unsigned r = 0, x = 0, b = 0, w, l, v, pp, nv = g->compat ? 8 : 16;

	for (unsigned n = rnd(rng, 4) == 0 ? rnd(rng, 3) : 0; n; n--) {
		static const u8 pfx[] = { 0x2e, 0x3e, 0x26, 0x36, 0x67 };
		u8 p = pfx[rnd(rng, ARRAY_SIZE(pfx))];

		if (p == 0x67 && rnd(rng, 2))
			continue;
		g->p[g->len++] = p;
		g->p67 |= p == 0x67;
	}
	if (bad == 1) { /* 66, F2, F3, LOCK or REX before VEX */
		static const u8 ud[] = { 0x66, 0xf2, 0xf3, 0xf0, 0x40 };

		g->p[g->len++] = ud[rnd(rng, g->compat ? 4 : 5)];
	}
	if (!g->compat) {
		r = rnd(rng, 2);
		x = rnd(rng, 2);
		b = rnd(rng, 2);
	}
	w = (f & T_W0) ? 0 : (f & T_W1) ? 1 : rnd(rng, 2);
	/* AMD runs VPERMQ/VPERMPD with VEX.W0 (the SDM: #UD); the engine keeps to the SDM. */
	if (bad == 2 && (f & (T_W0 | T_W1)) && !(t->map == 3 && t->op <= 1))
		w ^= 1;
	l = (f & T_L0) ? 0 : (f & T_L1) ? 1 : rnd(rng, 2);
	if (bad == 3 && (f & (T_L0 | T_L1)))
		l ^= 1;
	v = (f & T_NOV) ? 0 : rnd(rng, nv);
	if (bad == 4 && (f & T_NOV))
		v = 1 + rnd(rng, nv - 1);
	pp = (f & T_P66) ? 1 : (f & T_PF3) ? 2 : (f & T_PF2) ? 3 : 0;
	if (t->map == 1 && !x && !b && !w && rnd(rng, 2)) {
		g->p[g->len++] = 0xc5;
		g->p[g->len++] = (u8)(!r << 7 | (~v & 15) << 3 | l << 2 | pp);
	} else {
		g->p[g->len++] = 0xc4;
		g->p[g->len++] = (u8)(!r << 7 | !x << 6 | !b << 5 | t->map);
		g->p[g->len++] = (u8)(w << 7 | (~v & 15) << 3 | l << 2 | pp);
	}
	g->vex = true;
	g->vex_l = l;
	g->vvvv = v;
	g->rexw = w && !g->compat;
	g->rex = 0x40 | (g->rexw ? 8u : 0) | r << 2 | x << 1 | b;
}

/* Encode one instruction from template t at g->p; no register fix-up yet. */
static void gen_encode(struct diff_rng *rng, const struct gen_tmpl *t, struct gen_insn *g, bool seq)
{
	unsigned mod, reg, rm, opsz, zsz;

	memset(&g->len, 0, sizeof(*g) - offsetof(struct gen_insn, len));
	g->disp_at = -1;
	g->modrm_at = -1;
	g->reg = g->rm = -1;
	if (t->tflags & T_VEX)
		gen_vex_prefix(rng, t, g);
	else
		gen_legacy_prefixes(rng, t, g, seq);
	g->p[g->len++] = (u8)(t->op + (t->form == F_OPREG ? rnd(rng, t->op == 0xe0 ? 4 : 8) : 0));
	if (t->form == F_OPREG && !(t->op >= 0x70 && t->op <= 0x80) && t->op != 0xe0 &&
	    !(t->map == 1 && t->op == 0x80))
		g->rm = (int)((g->p[g->len - 1] & 7) | ((g->rex & 1) << 3));
	if (t->form == F_RM || t->form == F_REG || t->form == F_MEM) {
		mod = t->form == F_REG ? 3 : t->form == F_MEM ? rnd(rng, 3) : rnd(rng, 4);
		if (seq)
			mod = 3;
		reg = t->digit >= 0 ? (unsigned)t->digit : rnd(rng, 8);
		rm = t->special == S_GATHER && rnd(rng, 16) ? 4 : rnd(rng, 8); /* VSIB: a SIB */
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

/* An XSAVE area: 64-byte aligned with room for 832 bytes, now and then misaligned or at the end
 * of the data pages. */
static u64 gen_xsave_addr(struct diff_rng *rng)
{
	if (!rnd(rng, 32))
		return DIFF_DATA + DIFF_DATA_SIZE - 64 * (1 + rnd(rng, 12));
	return DIFF_DATA + 64 * rnd(rng, (DIFF_DATA_SIZE - 896) / 64) +
	       (rnd(rng, 16) ? 0 : rnd(rng, 64));
}

/* Point the memory operand of g (at code address pc) to target, in the data pages. */
static u64 gen_fix_mem(struct diff_rng *rng, struct diff_case *c, struct gen_insn *g, u64 pc,
		       u64 target)
{
	u64 rest = target - (u64)g->disp;

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
		if (gen_ymm) {
			v[0] = gen_value(rng) | 1; /* in use: XSAVE's XINUSE cannot differ */
			v[1] = gen_value(rng);
			memcpy(c->ymmh[i], v, 16);
		}
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
	case S_PCMPSTR:
		/* Explicit lengths around the element counts, negative too; strings built from few
		 * distinct bytes so that elements match, with zeros for the implicit lengths. */
		c->gpr[0] = (u64)(s64)((int)rnd(rng, 40) - 20);
		c->gpr[2] = (u64)(s64)((int)rnd(rng, 40) - 20);
		if (rnd(rng, 4)) {
			static const u8 alphabet[] = { 0, 'a', 'b', 'c', 0x80, 0xff };

			for (unsigned r = 0; r < 16; r++)
				for (unsigned i = 0; i < 16; i++)
					c->xmm[r][i] = rnd(rng, 3) ? alphabet[rnd(rng, 6)] :
								     (u8)('a' + rnd(rng, 3));
		}
		break;
	case S_INT:
		if (g->p[g->imm_at] == 3 || g->p[g->imm_at] == 4 || g->p[g->imm_at] == 0x80)
			g->p[g->imm_at] = 0x81;
		break;
	default:
		break;
	}
}

/*
 * A gather's registers: the vector index (SIB.index with VEX.X) of small dword or qword
 * elements, the mask (VEX.vvvv) with random sign bits. Now and then they coincide (#UD).
 */
static void gen_gather_regs(struct diff_rng *rng, struct diff_case *c, const struct gen_insn *g,
			    bool qidx)
{
	unsigned sib = g->p[g->modrm_at + 1], vi = ((sib >> 3) & 7) | ((g->rex & 2) << 2);
	u8 v[32];

	for (unsigned i = 0; i < 32; i += qidx ? 8 : 4) {
		s64 x = (s64)rnd(rng, 32) - 16;

		memcpy(v + i, &x, qidx ? 8 : 4);
	}
	memcpy(c->xmm[vi], v, 16);
	memcpy(c->ymmh[vi], v + 16, 16);
	for (unsigned i = 3; i < 32; i += 4) {
		u8 *p = i < 16 ? &c->xmm[g->vvvv][i] : &c->ymmh[g->vvvv][i - 16];

		*p = (u8)((*p & 0x7f) | (rnd(rng, 4) ? 0x80 : 0));
	}
}

/*
 * XRSTOR's area at off in the data: a legacy area with a valid MXCSR, and a header with
 * XSTATE_BV within x87, SSE and AVX and XCOMP_BV zero (standard) or compacted; one in 16 has a
 * bit XRSTOR refuses (#GP).
 */
static void gen_xrstor_area(struct diff_rng *rng, struct diff_case *c, u64 off)
{
	u64 bv = rnd(rng, 8), comp = 0, bad = rnd(rng, 16) ? 0 : 1 + rnd(rng, 3);
	u32 mx = (u32)diff_rand(rng) & 0xffff;
	u8 *a = c->data + off;

	if ((gen_have & DIFF_NEED_XSAVEC) && !rnd(rng, 3))
		comp = 1ull << 63 | bv | rnd(rng, 8);
	if (bad == 1)
		bv |= 8; /* a component outside XCR0 */
	else if (bad == 2)
		mx |= 1u << (16 + 2 * rnd(rng, 8)); /* a reserved MXCSR bit (not AMD's MM, 17) */
	memcpy(a + 24, &mx, 4);
	memset(a + 512, 0, 64);
	memcpy(a + 512, &bv, 8);
	memcpy(a + 520, &comp, 8);
	if (bad == 3)
		a[512 + 16 + rnd(rng, 48)] = 1; /* reserved header bytes */
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
	case S_XSAVE:
	case S_XRSTOR:
		/* RFBM: x87, SSE, AVX and bits no XCR0 here has (the host's AVX-512 left out). */
		c->gpr[0] = (diff_rand(rng) & ~0xffull) | rnd(rng, 32);
		c->gpr[2] = gen_value(rng);
		if (ea < DIFF_DATA || ea + 32 > DIFF_DATA + DIFF_DATA_SIZE)
			break;
		if (t->special == S_XSAVE) {
			c->skip_at = (u16)(ea - DIFF_DATA + 28); /* MXCSR_MASK */
			c->skip_len = 4;
		} else if (ea + 576 <= DIFF_DATA + DIFF_DATA_SIZE) {
			gen_xrstor_area(rng, c, ea - DIFF_DATA);
		}
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
	c->skip_at = c->skip_len = 0;
	c->cr2_any = t->special == S_STRING && (t->op == 0xa6 || t->op == 0xa7);
	/* FLDENV/FRSTOR: several reads in an unspecified order; the (F)XSAVE/(F)XRSTOR area too. */
	c->cr2_any |= t->map == 0 && (t->op == 0xd9 || t->op == 0xdd) && t->digit == 4;
	c->cr2_any |= t->special == S_XSAVE || t->special == S_XRSTOR;
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
	if (t->special == S_GATHER && g.mem && (g.p[g.modrm_at] & 7) == 4 && !(g.compat && g.p67)) {
		/* The SIB index is a vector register: small elements; base and disp as usual. */
		gen_gather_regs(rng, c, &g, t->op & 1);
		g.index = 0xff;
	}
	if ((t->special == S_XSAVE || t->special == S_XRSTOR) &&
	    (g.base == 0 || g.base == 2 || g.index == 0 || g.index == 2)) {
		c->reject = true; /* EDX:EAX is the requested-feature bitmap */
		return;
	}
	if (g.mem)
		ea = gen_fix_mem(rng, c, &g, DIFF_CODE + DIFF_CODE_OFF,
				 t->special == S_XSAVE || t->special == S_XRSTOR ?
					 gen_xsave_addr(rng) :
					 gen_data_addr(rng));
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
	c->skip_at = c->skip_len = 0;
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
