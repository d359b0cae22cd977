/* SPDX-License-Identifier: MIT */
/*
 * Differential testing of the BT engine against the host CPU (research
 * bt-engine.md section 3a): generated instructions and short sequences run
 * natively in a fixed RWX page with faults caught through signals, and in
 * the engine in flat 64-bit user mode over the same memory layout; the
 * final registers, flags (masking the flags the SDM calls undefined for
 * the instruction), data memory and the exception raised must match.
 */
#ifndef TESTS_BT_DIFF_BT_DIFF_H
#define TESTS_BT_DIFF_BT_DIFF_H

#include "vmm/base/cpu_model.h"
#include "vmm/base/types.h"

#define DIFF_CODE      0x10000000ull /* one code page */
#define DIFF_CODE_OFF  0x800u	     /* where a case's code starts in it */
#define DIFF_DATA      0x20000000ull /* data pages; the pages around are unmapped */
#define DIFF_DATA_SIZE 0x2000u
#define DIFF_MAX_CODE  160

/* CPU extensions some generated cases need (CPUID bits; the host may lack them). */
enum {
	DIFF_NEED_POPCNT = 1u << 0,    /* F3 0F B8 (CPUID 1 ECX 23) */
	DIFF_NEED_LZCNT = 1u << 1,     /* F3 0F BD (8000_0001h ECX 5, ABM) */
	DIFF_NEED_BMI1 = 1u << 2,      /* F3 0F BC is TZCNT (7.0 EBX 3) */
	DIFF_NEED_MOVBE = 1u << 3,     /* 0F 38 F0/F1 (1 ECX 22) */
	DIFF_NEED_CX16 = 1u << 4,      /* REX.W 0F C7 /1 CMPXCHG16B (1 ECX 13) */
	DIFF_NEED_LAHF_LM = 1u << 5,   /* LAHF/SAHF in 64-bit mode (8000_0001h ECX 0) */
	DIFF_NEED_SSE3 = 1u << 6,      /* 1 ECX 0 */
	DIFF_NEED_SSSE3 = 1u << 7,     /* 1 ECX 9 */
	DIFF_NEED_SSE41 = 1u << 8,     /* 1 ECX 19 */
	DIFF_NEED_SSE42 = 1u << 9,     /* 1 ECX 20 */
	DIFF_NEED_AVX = 1u << 10,      /* 1 ECX 28, with OSXSAVE and XCR0 SSE and AVX state */
	DIFF_NEED_AVX2 = 1u << 11,     /* 7.0 EBX 5 */
	DIFF_NEED_FMA = 1u << 12,      /* 1 ECX 12 */
	DIFF_NEED_F16C = 1u << 13,     /* 1 ECX 29 */
	DIFF_NEED_BMI2 = 1u << 14,     /* 7.0 EBX 8 */
	DIFF_NEED_XSAVE = 1u << 15,    /* 1 ECX 26, with OSXSAVE */
	DIFF_NEED_XSAVEOPT = 1u << 16, /* 0Dh.1 EAX 0 */
	DIFF_NEED_XSAVEC = 1u << 17,   /* 0Dh.1 EAX 1 */
	DIFF_NR_NEEDS = 18,
};

struct diff_case {
	u8 code[DIFF_MAX_CODE];
	unsigned code_len;
	u64 gpr[16];
	u64 rflags;
	u64 undef_flags; /* flags left undefined by the case */
	u8 xmm[16][16];
	u8 ymmh[16][16]; /* bits 255:128 of YMM0-15 (zero and not compared without AVX) */
	u16 fcw, fsw;	 /* x87: FSW TOP and flags; undefined C0-C3 in undef_flags bits 16-31 */
	u8 ftw;		 /* abridged tag word */
	u8 st[8][10];	 /* ST0..ST7 */
	u8 data[DIFF_DATA_SIZE];
	unsigned group; /* coverage group of the (first) instruction */
	unsigned nr_insns;
	bool reject;  /* the generator drops it: the outcome is undefined */
	bool compat;  /* 32-bit code (compatibility mode, CS = 0x23) instead of 64-bit */
	bool cr2_any; /* two memory reads in an unspecified order (CMPS): either may fault first */
	bool sdm_int; /* INT n through a DPL-0 gate: judged by the SDM, not by the host kernel */
	u16 skip_at, skip_len; /* data bytes not compared (XSAVE's MXCSR_MASK: AMD's has bit 17) */
	u8 int_vector;
	bool int_locked; /* with a LOCK prefix: #UD instead */
	unsigned needs;	 /* DIFF_NEED_* */
};

struct diff_result {
	u64 gpr[16];
	u64 rip, rflags;
	int trapno; /* -1: none (cannot happen natively: every run ends in a trap) */
	u64 err, cr2;
	u8 xmm[16][16];
	u8 ymmh[16][16];
	u16 fcw, fsw;
	u8 ftw;
	u8 st[8][10];
	u8 data[DIFF_DATA_SIZE];
};

/* native.c: the host CPU. */
int diff_native_init(void);
unsigned diff_native_features(void); /* DIFF_NEED_* the host CPU has */
u64 diff_native_xcr0(void);	     /* XCR0 (XGETBV 0), or 0 without OSXSAVE */
/* Whether the host kernel runs 32-bit user code (IA32 emulation): a forked child far-jumps to
 * __USER32_CS and back. Call after diff_native_init. False with the reason in why. */
bool diff_native_compat32(char *why, size_t len);
int diff_native_signals(void);
void diff_native_run(const struct diff_case *c, struct diff_result *r);

/* gen.c: the generator. */
struct diff_rng {
	u64 s;
};

u64 diff_rand(struct diff_rng *rng);
void diff_gen_single(struct diff_rng *rng, struct diff_case *c);
void diff_gen_sequence(struct diff_rng *rng, struct diff_case *c);
unsigned diff_nr_groups(void);
/* Random registers, flags, x87/XMM state and data (as a case's initial state). */
void diff_gen_state(struct diff_rng *rng, struct diff_case *c);
/*
 * One random instruction of the sequence whitelist (register operands, no flag left undefined)
 * at p (at most 15 bytes); returns its length.
 */
unsigned diff_gen_seq_insn(struct diff_rng *rng, u8 *p, bool compat);
const char *diff_group_name(unsigned g);
/* Generate only cases whose DIFF_NEED_* are in have (default: all); the others are counted. */
void diff_gen_allow(unsigned have);
/* Give the YMM registers random upper halves (the host has AVX state, used or not). */
void diff_gen_ymm(bool on);
u64 diff_gen_not_generated(unsigned need_bit);
const char *diff_need_name(unsigned need_bit);
/* The CPU model feature behind a DIFF_NEED_* bit (the engine's model drops what the host lacks). */
enum cpu_feature diff_need_feature(unsigned need_bit);

#endif
