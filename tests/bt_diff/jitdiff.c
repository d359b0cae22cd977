// SPDX-License-Identifier: MIT
/*
 * Differential fuzzing of the BT engine's JIT against its interpreter: random programs of
 * random instructions run on two CPUs, each over its own copy of the same memory, one with the
 * JIT (threshold 1 to 3, so blocks are compiled at once or after a run or two) and one
 * interpreting; the states must be equal, bit for bit, at every stop.
 *
 * A program is a loop: the sequence whitelist of gen.c (register operands, every flag defined),
 * RIP-relative memory operands of ALU ops, MOV, MOVZX, INC/DEC, shifts, XCHG, XADD, CMPXCHG,
 * SETcc, CMOVcc and PUSH (with and without LOCK, some across the page boundary of the two data
 * pages, some outside them), the vector instructions the JIT compiles natively (legacy and VEX,
 * 128 and 256 bits, register and memory operands, aligned and not), PUSH/POP, CALLs of a
 * function that RETurns, forward Jcc, and a Jcc or JMP back to the top; REP MOVS and REP STOS
 * of data (some overlapping, across the pages or outside them). CR0.TS, CR4.OSFXSR, CR4.OSXSAVE
 * and XCR0 are now and then in a state where the vector instructions fault (the vector and
 * string cases in the 64-bit flavour only). It runs in 64-bit user mode under 4-level paging
 * whose data pages are randomly not present or read-only (random page-fault points), and each
 * run stops after a
 * random number of instructions, in the middle of blocks and of compiled loops (random
 * interrupt points), then resumes for another random number. Every case runs three times from
 * the same start, so the later runs go through code compiled and linked by the first.
 *
 * Two 32-bit flavours (BT_JITDIFF_MODE): "prot32", flat protected mode at CPL 0 under 32-bit
 * paging (OVMF's SEC and PEI), and "compat32", compatibility mode at CPL 3 under 4-level paging
 * (a 32-bit program under a 64-bit kernel). Their programs have no REX and address memory by
 * absolute 32-bit displacements, some with segment overrides (FS, GS and CS go to the
 * handlers) or 16-bit addressing, add INC/DEC r32 (40-4F), 16-bit PUSH/POP and LEAVE, and
 * start with random upper halves in the 64-bit registers, ESP's included.
 *
 * Environment: BT_JITDIFF_SEED (default 1), BT_JITDIFF_CASES (default 20000),
 * BT_JITDIFF_CASE=n (only case n, printed), BT_JITDIFF_MODE (64, prot32 or compat32; default
 * 64). Exit status 1 on any mismatch.
 */
#include "bt_diff.h"

#include "bt-fallback/bt.h"
#include "bt-fallback/jit/jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JD_TABLES   0x100000ull /* PML4, PDPT, PD, PT (code), PT (data) */
#define JD_PROG	    (DIFF_CODE + 0x100)
#define JD_PROG_MAX 3072u
#define JD_ROUNDS   3
#define PTE_P	    1ull
#define PTE_RW	    2ull
#define PTE_US	    4ull

enum jd_mode {
	JD_64,	     /* 64-bit user mode, 4-level paging */
	JD_PROT32,   /* flat 32-bit protected mode, CPL 0, 32-bit paging */
	JD_COMPAT32, /* compatibility mode, CPL 3, 4-level paging */
};

static enum jd_mode jd_mode;

struct jd_engine {
	struct bt_mem mem;
	struct bt_cpu *cpu;
	struct bt_cpu *idle; /* never runs: the interpreter's LOCKed forms take ops/lock.c */
	u8 *tables, *code, *data;
};

struct jd_case {
	struct diff_case st; /* registers, flags, XMM, data */
	u8 prog[JD_PROG_MAX];
	unsigned len;
	u64 pte_data[2]; /* flags of the two data pages' PTEs */
	unsigned threshold;
	u8 ymmh[16][16];	   /* bits 255:128 of the YMM registers */
	u64 cr0_or, cr4_and, xcr0; /* the SSE/AVX state: CR0.TS, CR4.OSFXSR/OSXSAVE, XCR0 */
	u32 mxcsr;
};

struct jd_stats {
	u64 cases, runs, stops, exceptions[32], compiled, links, mismatches;
};

static unsigned jd_rnd(struct diff_rng *rng, unsigned n)
{
	return (unsigned)(diff_rand(rng) % n);
}

static int jd_engine_init(struct jd_engine *e, bool jit)
{
	struct bt_cpu_config cfg = { .mem = &e->mem, .jit = jit, .jit_threshold = 1 };

	memset(e, 0, sizeof(*e));
	e->tables = aligned_alloc(4096, 5 * 4096);
	e->code = aligned_alloc(4096, 4096);
	e->data = aligned_alloc(4096, DIFF_DATA_SIZE);
	if (!e->tables || !e->code || !e->data)
		return -1;
	if (bt_mem_map(&e->mem, JD_TABLES, 5 * 4096, e->tables, false) < 0 ||
	    bt_mem_map(&e->mem, DIFF_CODE, 4096, e->code, false) < 0 ||
	    bt_mem_map(&e->mem, DIFF_DATA, DIFF_DATA_SIZE, e->data, false) < 0 ||
	    bt_cpu_create(&cfg, &e->cpu, NULL) < 0)
		return -1;
	cfg = (struct bt_cpu_config){ .mem = &e->mem, .index = 1 };
	if (bt_cpu_create(&cfg, &e->idle, NULL) < 0)
		return -1;
	if (jit && !e->cpu->jit)
		return -1;
	return 0;
}

static void jd_engine_destroy(struct jd_engine *e)
{
	bt_cpu_destroy(e->cpu);
	bt_cpu_destroy(e->idle);
	bt_mem_destroy(&e->mem);
	free(e->tables);
	free(e->code);
	free(e->data);
}

static void jd_pte(u8 *tables, unsigned table, unsigned idx, u64 v)
{
	memcpy(tables + table * 4096 + idx * 8, &v, 8);
}

static void jd_pte32(u8 *tables, unsigned table, unsigned idx, u32 v)
{
	memcpy(tables + table * 4096 + idx * 4, &v, 4);
}

/* Identity paging for the code page and the two data pages; the rest is not present. */
static void jd_tables(u8 *t, const struct jd_case *c)
{
	memset(t, 0, 5 * 4096);
	if (jd_mode == JD_PROT32) { /* 32-bit paging: the page directory, two page tables */
		jd_pte32(t, 0, DIFF_CODE >> 22,
			 (u32)(JD_TABLES + 0x1000) | PTE_P | PTE_RW | PTE_US);
		jd_pte32(t, 0, DIFF_DATA >> 22,
			 (u32)(JD_TABLES + 0x2000) | PTE_P | PTE_RW | PTE_US);
		jd_pte32(t, 1, (DIFF_CODE >> 12) & 1023, (u32)DIFF_CODE | PTE_P | PTE_US);
		for (unsigned i = 0; i < 2; i++)
			jd_pte32(t, 2, ((DIFF_DATA >> 12) + i) & 1023,
				 (u32)(DIFF_DATA + i * 4096) | (u32)c->pte_data[i]);
		return;
	}
	jd_pte(t, 0, 0, (JD_TABLES + 0x1000) | PTE_P | PTE_RW | PTE_US);
	jd_pte(t, 1, 0, (JD_TABLES + 0x2000) | PTE_P | PTE_RW | PTE_US);
	jd_pte(t, 2, DIFF_CODE >> 21, (JD_TABLES + 0x3000) | PTE_P | PTE_RW | PTE_US);
	jd_pte(t, 2, DIFF_DATA >> 21, (JD_TABLES + 0x4000) | PTE_P | PTE_RW | PTE_US);
	jd_pte(t, 3, (DIFF_CODE >> 12) & 511, DIFF_CODE | PTE_P | PTE_US);
	for (unsigned i = 0; i < 2; i++)
		jd_pte(t, 4, ((DIFF_DATA >> 12) + i) & 511,
		       (DIFF_DATA + i * 4096) | c->pte_data[i]);
}

/* ---------------------------------------------------------------- programs */

struct jd_gen {
	struct diff_rng *rng;
	u8 *p;
	unsigned len;
};

static void jd_byte(struct jd_gen *g, u8 b)
{
	g->p[g->len++] = b;
}

static void jd_u32(struct jd_gen *g, u32 v)
{
	memcpy(g->p + g->len, &v, 4);
	g->len += 4;
}

/* A data address for an access of size bytes: mostly inside, some across the page boundary
 * between the two data pages, some just outside them. */
static u64 jd_data_addr(struct diff_rng *rng, unsigned size)
{
	switch (jd_rnd(rng, 10)) {
	case 0:
		return DIFF_DATA + 0x1000 - 1 - jd_rnd(rng, size); /* crosses */
	case 1:
		return jd_rnd(rng, 2) ? DIFF_DATA - size + jd_rnd(rng, size) :
					DIFF_DATA + DIFF_DATA_SIZE - jd_rnd(rng, size);
	default:
		return DIFF_DATA + jd_rnd(rng, DIFF_DATA_SIZE - 8) / size * size;
	}
}

/* One instruction with a RIP-relative memory operand. */
static void jd_gen_mem(struct jd_gen *g, u64 at)
{
	static const struct {
		u8 op[3], oplen, digit, imm; /* digit 0xff: ModRM.reg is a register */
		bool byte, lock_ok, no16;
	} forms[] = {
		{ { 0x01 }, 1, 0xff, 0, false, true, false }, /* add m, r */
		{ { 0x03 }, 1, 0xff, 0, false, false, false },
		{ { 0x11 }, 1, 0xff, 0, false, true, false }, /* adc */
		{ { 0x19 }, 1, 0xff, 0, false, true, false }, /* sbb */
		{ { 0x21 }, 1, 0xff, 0, false, true, false },
		{ { 0x2b }, 1, 0xff, 0, false, false, false },
		{ { 0x31 }, 1, 0xff, 0, false, true, false },
		{ { 0x39 }, 1, 0xff, 0, false, false, false },	     /* cmp */
		{ { 0x00 }, 1, 0xff, 0, true, true, false },	     /* add m8, r8 */
		{ { 0x85 }, 1, 0xff, 0, false, false, false },	     /* test */
		{ { 0x87 }, 1, 0xff, 0, false, false, false },	     /* xchg */
		{ { 0x89 }, 1, 0xff, 0, false, false, false },	     /* mov m, r */
		{ { 0x8b }, 1, 0xff, 0, false, false, false },	     /* mov r, m */
		{ { 0x83 }, 1, 0, 1, false, true, false },	     /* add m, imm8 */
		{ { 0x83 }, 1, 7, 1, false, false, false },	     /* cmp m, imm8 */
		{ { 0x81 }, 1, 6, 4, false, true, true },	     /* xor m, imm32 */
		{ { 0xc7 }, 1, 0, 4, false, false, true },	     /* mov m, imm32 */
		{ { 0xff }, 1, 0, 0, false, true, false },	     /* inc */
		{ { 0xff }, 1, 1, 0, false, true, false },	     /* dec */
		{ { 0xf7 }, 1, 3, 0, false, true, false },	     /* neg */
		{ { 0xff }, 1, 6, 0, false, false, false },	     /* push m */
		{ { 0x0f, 0xb6 }, 2, 0xff, 0, false, false, false }, /* movzx r, m8 */
		{ { 0x0f, 0xb1 }, 2, 0xff, 0, false, true, false },  /* cmpxchg */
		{ { 0x0f, 0xc1 }, 2, 0xff, 0, false, true, false },  /* xadd */
		{ { 0x0f, 0x44 }, 2, 0xff, 0, false, false, false }, /* cmove */
		{ { 0x0f, 0x95 }, 2, 0, 0, true, false, false },     /* setne m8 */
		{ { 0x0f, 0xba }, 2, 5, 1, false, true, false },     /* bts m, imm8 */
	};
	struct diff_rng *rng = g->rng;
	unsigned f = jd_rnd(rng, sizeof(forms) / sizeof(forms[0]));
	unsigned reg = jd_rnd(rng, 16), size, rex = 0, start = g->len;
	bool byte = forms[f].byte, lock = forms[f].lock_ok && !jd_rnd(rng, 3);
	u64 target, next;
	u8 imm;

	size = byte ? 1 : jd_rnd(rng, 2) ? 8 : forms[f].no16 ? 4 : jd_rnd(rng, 2) ? 4 : 2;
	if (jd_mode != JD_64) {
		static const u8 seg[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

		reg &= 7; /* no REX: with a byte operand, 4-7 are AH..BH */
		if (size == 8)
			size = 4;
		if (!jd_rnd(rng, 6))
			jd_byte(g, seg[jd_rnd(rng, sizeof(seg))]);
	}
	imm = (u8)diff_rand(rng);
	if (lock)
		jd_byte(g, 0xf0);
	if (size == 2)
		jd_byte(g, 0x66);
	if (size == 8)
		rex |= 8;
	if (forms[f].digit == 0xff && (reg & 8))
		rex |= 4;
	if (byte && forms[f].digit == 0xff && reg >= 4 && reg < 8)
		rex |= 0x40; /* SPL..DIL, not AH..BH */
	if (rex)
		jd_byte(g, (u8)(0x40 | (rex & 0xf)));
	for (unsigned i = 0; i < forms[f].oplen; i++)
		jd_byte(g, forms[f].op[i]);
	target = jd_data_addr(rng, size);
	if (jd_mode != JD_64 && !jd_rnd(rng, 16)) {
		/* 16-bit addressing (67, [disp16]): the handler; the address is not mapped. */
		memmove(g->p + start + 1, g->p + start, g->len - start);
		g->p[start] = 0x67;
		g->len++;
		jd_byte(g, (u8)((forms[f].digit == 0xff ? (reg & 7) : forms[f].digit) << 3 | 6));
		jd_byte(g, (u8)target);
		jd_byte(g, (u8)(target >> 8));
	} else {
		/* ModRM [disp32]: RIP-relative in 64-bit code, absolute in 32-bit code */
		jd_byte(g, (u8)((forms[f].digit == 0xff ? (reg & 7) : forms[f].digit) << 3 | 5));
		next = at + (g->len - start) + 4 + forms[f].imm;
		jd_u32(g, jd_mode == JD_64 ? (u32)(target - next) : (u32)target);
	}
	if (forms[f].imm == 1)
		jd_byte(g, imm);
	else if (forms[f].imm == 4)
		jd_u32(g, (u32)diff_rand(rng));
}

/*
 * One vector instruction the JIT compiles natively (jit_vec.c), legacy or VEX, with a register
 * or a RIP-relative memory operand (some across the data pages' boundary or outside them, some
 * misaligned for the aligned forms); now and then an encoding its handler refuses (#UD).
 */
static void jd_gen_vec(struct jd_gen *g, u64 at)
{
	static const struct {
		u8 map, op, pfx; /* pfx: 0 none, 1 66, 2 F3, 3 F2 */
		/* 0 lane op, 1 move, 2 PMOVMSKB, 3 PTEST, 4 broadcast, 5 VZERO*, 6 scalar FP,
		 * 7 CVTSI2SS/SD (a general register source), 8 shift by imm8, 9 PSHUFD/HW/LW,
		 * 10 MOVD/MOVQ with a general register, 11 RORX, 12 BSF/TZCNT */
		u8 form;
		u8 size; /* broadcast: the element */
	} forms[] = {
		{ 1, 0x74, 1, 0, 0 },  { 1, 0x75, 1, 0, 0 },  { 1, 0x76, 1, 0, 0 },
		{ 1, 0xda, 1, 0, 0 },  { 1, 0xde, 1, 0, 0 },  { 1, 0xef, 1, 0, 0 },
		{ 1, 0xeb, 1, 0, 0 },  { 1, 0xdb, 1, 0, 0 },  { 1, 0xdf, 1, 0, 0 },
		{ 1, 0xfc, 1, 0, 0 },  { 1, 0xf8, 1, 0, 0 },  { 1, 0xd4, 1, 0, 0 },
		{ 1, 0xfe, 1, 0, 0 },  { 1, 0x64, 1, 0, 0 },  { 1, 0x60, 1, 0, 0 },
		{ 1, 0x6c, 1, 0, 0 },  { 1, 0x67, 1, 0, 0 },  { 1, 0xe0, 1, 0, 0 },
		{ 1, 0xf6, 1, 0, 0 },  { 1, 0xd5, 1, 0, 0 },  { 1, 0xe4, 1, 0, 0 },
		{ 1, 0xf5, 1, 0, 0 },  { 1, 0x57, 0, 0, 0 },  { 1, 0x57, 1, 0, 0 },
		{ 1, 0x54, 0, 0, 0 },  { 1, 0x56, 1, 0, 0 },  { 1, 0x6f, 1, 1, 0 },
		{ 1, 0x6f, 2, 1, 0 },  { 1, 0x7f, 1, 1, 0 },  { 1, 0x7f, 2, 1, 0 },
		{ 1, 0x10, 0, 1, 0 },  { 1, 0x11, 1, 1, 0 },  { 1, 0x28, 0, 1, 0 },
		{ 1, 0x29, 1, 1, 0 },  { 1, 0xd7, 1, 2, 0 },  { 2, 0x17, 1, 3, 0 },
		{ 2, 0x78, 1, 4, 1 },  { 2, 0x79, 1, 4, 2 },  { 2, 0x58, 1, 4, 4 },
		{ 2, 0x59, 1, 4, 8 },  { 1, 0x77, 0, 5, 0 },  { 1, 0x58, 3, 6, 0 },
		{ 1, 0x59, 2, 6, 0 },  { 1, 0x5c, 3, 6, 0 },  { 1, 0x5e, 3, 6, 0 },
		{ 1, 0x51, 3, 6, 0 },  { 1, 0x5d, 2, 6, 0 },  { 1, 0x5f, 3, 6, 0 },
		{ 1, 0x2e, 1, 6, 0 },  { 1, 0x2f, 0, 6, 0 },  { 1, 0x2a, 3, 7, 0 },
		{ 1, 0x2a, 2, 7, 0 },  { 1, 0x71, 1, 8, 0 },  { 1, 0x72, 1, 8, 0 },
		{ 1, 0x73, 1, 8, 0 },  { 1, 0x70, 1, 9, 0 },  { 1, 0x70, 2, 9, 0 },
		{ 1, 0x70, 3, 9, 0 },  { 1, 0x6e, 1, 10, 0 }, { 1, 0x7e, 1, 10, 0 },
		{ 2, 0x00, 1, 0, 0 },  { 3, 0xf0, 3, 11, 0 }, { 1, 0xbc, 0, 12, 0 },
		{ 1, 0xbc, 2, 12, 0 },
	};

	static const u8 digits[2][4] = { { 2, 4, 6, 2 }, { 2, 3, 6, 7 } };
	struct diff_rng *rng = g->rng;
	unsigned f = jd_rnd(rng, sizeof(forms) / sizeof(forms[0])), pfx = forms[f].pfx;
	unsigned reg = jd_rnd(rng, 16), rm = jd_rnd(rng, 16), vvvv = jd_rnd(rng, 16),
		 start = g->len;
	unsigned form = forms[f].form, size;
	bool vex = (form >= 4 && form <= 5) || form == 11 ||
		   ((form < 4 || (form >= 8 && form < 12)) && jd_rnd(rng, 2)) ||
		   (form >= 6 && form < 12 && !jd_rnd(rng, 8));
	bool imm = form == 8 || form == 9 || form == 11;
	bool l = vex && jd_rnd(rng, 2), w = false, rexw = jd_rnd(rng, 2);
	bool mem = form != 2 && form != 8 && jd_rnd(rng, 3) != 0;
	u64 target;

	if (vex && (form == 1 || form == 2 || form == 3 || form == 4 || form == 5) &&
	    jd_rnd(rng, 8))
		vvvv = 0; /* the forms without a first source (else #UD) */
	if (form == 4 && !jd_rnd(rng, 10))
		w = true; /* #UD */
	if (!jd_rnd(rng, 30))
		pfx = (pfx + 1) % 4; /* mostly #UD */
	if (form == 7 || form == 10 || form == 11)
		w = rexw;
	if (form == 8 && jd_rnd(rng, 16))
		reg = digits[forms[f].op == 0x73][jd_rnd(rng, 4)]; /* else mostly #UD */
	if (!vex) {
		if (pfx == 1)
			jd_byte(g, 0x66);
		else if (pfx == 2)
			jd_byte(g, 0xf3);
		else if (pfx == 3)
			jd_byte(g, 0xf2);
		if ((reg & 8) || (!mem && (rm & 8)) || rexw)
			jd_byte(g, (u8)(0x40 | (reg & 8 ? 4 : 0) | (!mem && (rm & 8) ? 1 : 0) |
					(rexw ? 8 : 0)));
		jd_byte(g, 0x0f);
		if (forms[f].map == 2)
			jd_byte(g, 0x38);
	} else {
		jd_byte(g, 0xc4);
		jd_byte(g, (u8)((reg & 8 ? 0 : 0x80) | 0x40 | (!mem && (rm & 8) ? 0 : 0x20) |
				forms[f].map));
		jd_byte(g, (u8)((w ? 0x80 : 0) | (~vvvv & 15) << 3 | (l ? 4 : 0) | pfx));
	}
	jd_byte(g, forms[f].op);
	if (form == 5)
		return;
	if (!mem) {
		jd_byte(g, (u8)(0xc0 | (reg & 7) << 3 | (rm & 7)));
		if (imm)
			jd_byte(g, (u8)diff_rand(rng));
		return;
	}
	jd_byte(g, (u8)((reg & 7) << 3 | 5));
	size = form == 4 ? forms[f].size : l ? 32 : 16;
	if (form == 6)
		size = pfx & 1 ? 8 : 4;
	else if (form == 7 || form == 10 || form == 11)
		size = w ? 8 : 4;
	else if (form == 12)
		size = rexw ? 8 : 4;
	target = jd_data_addr(rng, size);
	if (!jd_rnd(rng, 6))
		target += 1 + jd_rnd(rng, size - 1 ? size - 1 : 1); /* misaligned */
	jd_u32(g, (u32)(target - (at + (g->len - start) + 4 + (imm ? 1 : 0))));
	if (imm)
		jd_byte(g, (u8)diff_rand(rng));
}

/*
 * REP STOS or REP MOVS (bytes to quadwords) with RDI and RSI at data addresses (some across the
 * pages' boundary or outside them) and a count from 0 to past a page, now and then with DF set.
 */
static void jd_gen_str(struct jd_gen *g, u64 at)
{
	static const u8 ops[] = { 0xa4, 0xa5, 0xaa, 0xab };
	struct diff_rng *rng = g->rng;
	u8 op = ops[jd_rnd(rng, 4)];
	unsigned sz = op & 1 ? 1u << (1 + jd_rnd(rng, 3)) : 1, count;

	for (unsigned r = 0; r < 2; r++) { /* LEA RDI, [RIP + d]; LEA RSI, [RIP + d] */
		u64 target = jd_data_addr(rng, sz) - jd_rnd(rng, 2) * jd_rnd(rng, 64) * sz;

		jd_byte(g, 0x48);
		jd_byte(g, 0x8d);
		jd_byte(g, r ? 0x35 : 0x3d);
		jd_u32(g, (u32)(target - (at + g->len + 4)));
	}
	switch (jd_rnd(rng, 4)) {
	case 0:
		count = jd_rnd(rng, 8);
		break;
	case 1:
		count = jd_rnd(rng, 5000 / sz);
		break;
	default:
		count = jd_rnd(rng, 300 / sz + 1);
		break;
	}
	jd_byte(g, 0xb9); /* MOV ECX, count */
	jd_u32(g, count);
	jd_byte(g, jd_rnd(rng, 16) ? 0xfc : 0xfd); /* CLD, now and then STD */
	jd_byte(g, 0xf3);
	if (sz == 2)
		jd_byte(g, 0x66);
	else if (sz == 8)
		jd_byte(g, 0x48);
	jd_byte(g, op);
}

/* A random program into c->prog: the loop, then the function it calls. */
static void jd_gen_program(struct diff_rng *rng, struct jd_case *c)
{
	struct jd_gen g = { .rng = rng, .p = c->prog };
	unsigned n = 2 + jd_rnd(rng, 40), fwd[48], nf = 0, calls[48], nc = 0;
	unsigned func;
	bool m32 = jd_mode != JD_64, saves;

	for (unsigned i = 0; i < n && g.len < JD_PROG_MAX - 64; i++) {
		unsigned k = jd_rnd(rng, m32 ? 20 : 24); /* vector and string cases: 64-bit */

		if (k == 23) {
			jd_gen_str(&g, JD_PROG + g.len);
		} else if (k >= 20) {
			jd_gen_vec(&g, JD_PROG + g.len);
		} else if (k < 9 && m32 && !jd_rnd(rng, 6)) {
			jd_byte(&g, (u8)(0x40 + jd_rnd(rng, 16))); /* INC/DEC r32 */
		} else if (k < 9) {
			g.len += diff_gen_seq_insn(rng, g.p + g.len, m32);
		} else if (k < 13) {
			jd_gen_mem(&g, JD_PROG + g.len);
		} else if (k < 15 && !jd_rnd(rng, 3)) {
			/* A run of pushes or of pops, as in a prologue or an epilogue (jit_stack_run). */
			u8 op = jd_rnd(rng, 2) ? 0x50 : 0x58;

			for (unsigned j = 2 + jd_rnd(rng, 8); j--;) {
				unsigned r = jd_rnd(rng, 16);

				if ((r & 8) && !m32)
					jd_byte(&g, 0x41);
				jd_byte(&g, (u8)(op | (r & 7)));
			}
		} else if (k < 15) {
			unsigned r = jd_rnd(rng, 16);

			if (m32 && !jd_rnd(rng, 8)) {
				jd_byte(&g, 0x66); /* a 16-bit push or pop: the handler */
			} else if (m32 && !jd_rnd(rng, 8)) {
				jd_byte(&g, 0x89); /* mov ebp, esp; leave */
				jd_byte(&g, 0xe5);
				jd_byte(&g, 0xc9);
				continue;
			}
			if ((r & 8) && !m32)
				jd_byte(&g, 0x41);
			jd_byte(&g, (u8)((jd_rnd(rng, 2) ? 0x50 : 0x58) | (r & 7)));
		} else if (k == 15) {
			jd_byte(&g, 0x6a);
			jd_byte(&g, (u8)diff_rand(rng));
		} else if (k == 16) {
			jd_byte(&g, 0xe8); /* call func, patched below */
			calls[nc++] = g.len;
			jd_u32(&g, 0);
		} else if (k < 19) {
			jd_byte(&g, (u8)(0x70 + jd_rnd(rng, 16))); /* forward, patched below */
			fwd[nf++] = g.len;
			jd_byte(&g, 0);
		} else {
			jd_byte(&g, 0x90);
		}
	}
	for (unsigned i = 0; i < nf; i++)
		c->prog[fwd[i]] = (u8)(g.len - (fwd[i] + 1));
	/* Back to the top: a Jcc (or a JMP: a loop only the instruction limit ends). */
	if (jd_rnd(rng, 8)) {
		jd_byte(&g, 0x0f);
		jd_byte(&g, (u8)(0x80 + jd_rnd(rng, 16)));
	} else {
		jd_byte(&g, 0xe9);
	}
	jd_u32(&g, (u32)(0 - (g.len + 4)));
	jd_byte(&g, 0xcc);
	func = g.len;
	saves = jd_rnd(rng, 2);
	if (saves) { /* push rbx; push rbp ... pop rbp; pop rbx: runs, and pops before the RET */
		jd_byte(&g, 0x53);
		jd_byte(&g, 0x55);
	}
	if (!m32)
		jd_byte(&g, 0x48); /* add rax, rcx; ret (add eax, ecx in 32-bit code) */
	jd_byte(&g, 0x01);
	jd_byte(&g, 0xc8);
	if (saves) {
		jd_byte(&g, 0x5d);
		jd_byte(&g, 0x5b);
	}
	jd_byte(&g, 0xc3);
	for (unsigned i = 0; i < nc; i++) {
		u32 rel = (u32)(func - (calls[i] + 4));

		memcpy(c->prog + calls[i], &rel, 4);
	}
	c->len = g.len;
}

static void jd_gen_case(struct diff_rng *rng, struct jd_case *c)
{
	diff_gen_state(rng, &c->st);
	if (jd_mode != JD_64) /* upper halves: invisible to 32-bit code, zeroed by its writes */
		for (unsigned i = 0; i < 16; i++)
			if (jd_rnd(rng, 2))
				c->st.gpr[i] ^= (u64)(u32)diff_rand(rng) << 32;
	jd_gen_program(rng, c);
	for (unsigned i = 0; i < 2; i++) {
		c->pte_data[i] = PTE_P | PTE_US | PTE_RW;
		if (!jd_rnd(rng, 12))
			c->pte_data[i] &= ~PTE_P;
		else if (!jd_rnd(rng, 10))
			c->pte_data[i] &= ~PTE_RW;
	}
	c->threshold = 1 + jd_rnd(rng, 3);
	for (unsigned r = 0; r < 16; r++)
		for (unsigned i = 0; i < 16; i++)
			c->ymmh[r][i] = (u8)diff_rand(rng);
	/* Mostly SSE and AVX enabled; sometimes a state in which they fault (#NM, #UD). */
	c->cr0_or = jd_rnd(rng, 12) ? 0 : BT_CR0_TS;
	c->cr4_and = ~0ull;
	if (!jd_rnd(rng, 12))
		c->cr4_and &= ~BT_CR4_OSFXSR;
	if (!jd_rnd(rng, 12))
		c->cr4_and &= ~BT_CR4_OSXSAVE;
	c->xcr0 = jd_rnd(rng, 12) ? 7 : 1 + 2 * jd_rnd(rng, 2);
	/* Mostly the default; else a rounding mode, DAZ, FTZ, some exceptions unmasked (#XM). */
	c->mxcsr = 0x1f80;
	if (!jd_rnd(rng, 3))
		c->mxcsr = (0x1f80 & ~((u32)jd_rnd(rng, 64) << 7)) | (u32)jd_rnd(rng, 4) << 13 |
			   (jd_rnd(rng, 4) ? 0 : 0x40) | (jd_rnd(rng, 4) ? 0 : 0x8000) |
			   (u32)jd_rnd(rng, 64);
}

/* ----------------------------------------------------------------- running */

static void jd_load(struct jd_engine *e, const struct jd_case *c, bool new_code)
{
	struct bt_cpu *cpu = e->cpu;

	if (new_code) {
		static const u8 fill[4096] = { [0 ... 4095] = 0xcc };

		/* Through bt_mem_write: the old program's blocks are dropped (SMC path). */
		if (bt_mem_write(&e->mem, DIFF_CODE, fill, 4096) < 0 ||
		    bt_mem_write(&e->mem, JD_PROG, c->prog, c->len) < 0)
			abort();
	}
	jd_tables(e->tables, c);
	memcpy(e->data, c->st.data, DIFF_DATA_SIZE);
	bt_cpu_set_flat64(cpu);
	if (jd_mode != JD_64) {
		/* Flat 4 GiB segments, 32-bit code and stack; CPL 0 in protected mode. */
		for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
			struct cpu_segment *sg = &cpu->st.seg[i];

			sg->db = sg->g = 1;
			sg->l = 0;
			if (jd_mode == JD_PROT32) {
				sg->selector = i == CPU_CS ? 0x08 : 0x10;
				sg->dpl = 0;
			} else if (i == CPU_CS) {
				sg->selector = 0x23;
			}
		}
		if (jd_mode == JD_PROT32) {
			cpu->st.cr4 = 0x600; /* OSFXSR, OSXMMEXCPT; no PAE: 32-bit paging */
			cpu->st.efer = 0;
		}
		bt_cpu_update_mode(cpu);
	}
	cpu->flat = false;
	cpu->st.cr3 = JD_TABLES;
	bt_tlb_flush(cpu);
	memcpy(cpu->st.gpr, c->st.gpr, sizeof(c->st.gpr));
	memcpy(cpu->st.fx.xmm, c->st.xmm, sizeof(c->st.xmm));
	memcpy(cpu->st.ymmh, c->ymmh, sizeof(c->ymmh));
	cpu->st.cr0 |= c->cr0_or;
	cpu->st.cr4 = (cpu->st.cr4 | BT_CR4_OSXSAVE) & c->cr4_and;
	cpu->st.xcr0 = c->xcr0;
	cpu->st.fx.mxcsr = c->mxcsr;
	cpu->st.rip = JD_PROG;
	bt_set_rflags(cpu, (c->st.rflags | 0x200) & ~(u64)0x400); /* IF on, DF off */
	if (cpu->jit)
		cpu->jit->threshold = c->threshold;
}

struct jd_result {
	enum bt_exit why;
	u64 gpr[16], rip, rflags, icount;
	u8 vector;
	u32 error;
	u64 cr2;
	u8 xmm[16][16];
	u8 ymmh[16][16];
	u32 mxcsr;
};

static void jd_run(struct jd_engine *e, u64 max, struct jd_result *r)
{
	struct bt_cpu *cpu = e->cpu;
	u64 ic0 = cpu->icount;

	r->why = bt_run(cpu, max);
	memcpy(r->gpr, cpu->st.gpr, sizeof(r->gpr));
	r->rip = cpu->st.rip;
	r->rflags = bt_get_rflags(cpu);
	r->icount = cpu->icount - ic0;
	r->vector = r->why == BT_EXIT_EXCEPTION ? cpu->exc.vector : 0;
	r->error = r->why == BT_EXIT_EXCEPTION && cpu->exc.has_error ? cpu->exc.error : 0;
	r->cr2 = r->vector == BT_EXC_PF ? cpu->exc.cr2 : 0;
	memcpy(r->xmm, cpu->st.fx.xmm, sizeof(r->xmm));
	memcpy(r->ymmh, cpu->st.ymmh, sizeof(r->ymmh));
	r->mxcsr = cpu->st.fx.mxcsr;
}

static bool jd_same(const struct jd_engine *a, const struct jd_engine *b,
		    const struct jd_result *ra, const struct jd_result *rb, bool print)
{
	bool ok = true;

#define JD_CHECK(cond, ...)                                   \
	do {                                                  \
		if (!(cond)) {                                \
			ok = false;                           \
			if (print)                            \
				fprintf(stderr, __VA_ARGS__); \
		}                                             \
	} while (0)
	JD_CHECK(ra->why == rb->why, "  exit: interpreter %d, jit %d\n", ra->why, rb->why);
	JD_CHECK(ra->rip == rb->rip, "  rip: interpreter %#llx, jit %#llx\n",
		 (unsigned long long)ra->rip, (unsigned long long)rb->rip);
	JD_CHECK(ra->icount == rb->icount, "  instructions: interpreter %llu, jit %llu\n",
		 (unsigned long long)ra->icount, (unsigned long long)rb->icount);
	JD_CHECK(ra->rflags == rb->rflags, "  rflags: interpreter %#llx, jit %#llx\n",
		 (unsigned long long)ra->rflags, (unsigned long long)rb->rflags);
	JD_CHECK(ra->vector == rb->vector && ra->error == rb->error && ra->cr2 == rb->cr2,
		 "  exception: interpreter %u/%#x/%#llx, jit %u/%#x/%#llx\n", ra->vector, ra->error,
		 (unsigned long long)ra->cr2, rb->vector, rb->error, (unsigned long long)rb->cr2);
	for (unsigned i = 0; i < 16; i++)
		JD_CHECK(ra->gpr[i] == rb->gpr[i], "  gpr%u: interpreter %#llx, jit %#llx\n", i,
			 (unsigned long long)ra->gpr[i], (unsigned long long)rb->gpr[i]);
	JD_CHECK(!memcmp(ra->xmm, rb->xmm, sizeof(ra->xmm)), "  xmm registers differ\n");
	JD_CHECK(!memcmp(ra->ymmh, rb->ymmh, sizeof(ra->ymmh)), "  ymm upper halves differ\n");
	JD_CHECK(ra->mxcsr == rb->mxcsr, "  mxcsr: interpreter %#x, jit %#x\n", ra->mxcsr,
		 rb->mxcsr);
	JD_CHECK(!memcmp(a->data, b->data, DIFF_DATA_SIZE), "  data pages differ\n");
	JD_CHECK(!memcmp(a->tables, b->tables, 5 * 4096), "  page tables (A/D bits) differ\n");
#undef JD_CHECK
	return ok;
}

static u64 jd_env(const char *name, u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* A random stop: often within a few blocks, sometimes far into the loop. */
static u64 jd_limit(struct diff_rng *rng)
{
	switch (jd_rnd(rng, 4)) {
	case 0:
		return 1 + jd_rnd(rng, 8);
	case 1:
		return 1 + jd_rnd(rng, 100);
	default:
		return 1 + jd_rnd(rng, 4000);
	}
}

static void jd_print_case(const struct jd_case *c, u64 seed, u64 idx)
{
	fprintf(stderr, "  reproduce: BT_JITDIFF_SEED=%llu BT_JITDIFF_CASE=%llu (threshold %u)\n",
		(unsigned long long)seed, (unsigned long long)idx, c->threshold);
	fprintf(stderr,
		"  data PTEs %#llx %#llx; program at %#llx:", (unsigned long long)c->pte_data[0],
		(unsigned long long)c->pte_data[1], (unsigned long long)JD_PROG);
	for (unsigned i = 0; i < c->len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n   ", c->prog[i]);
	fprintf(stderr, "\n");
}

int main(void)
{
	u64 seed = jd_env("BT_JITDIFF_SEED", 1), n = jd_env("BT_JITDIFF_CASES", 20000);
	u64 only = jd_env("BT_JITDIFF_CASE", ~0ull);
	const char *mode = getenv("BT_JITDIFF_MODE");
	struct diff_rng rng = { .s = seed * 0x2545f4914f6cdd1dull + 17 };
	static struct jd_case c;
	static struct jd_result ra, rb;
	struct jd_engine ei, ej;
	struct jd_stats st = { 0 };

	if (!mode || !*mode || !strcmp(mode, "64")) {
		jd_mode = JD_64;
	} else if (!strcmp(mode, "prot32")) {
		jd_mode = JD_PROT32;
	} else if (!strcmp(mode, "compat32")) {
		jd_mode = JD_COMPAT32;
	} else {
		fprintf(stderr, "bt_jitdiff: BT_JITDIFF_MODE=%s: not 64, prot32 or compat32\n",
			mode);
		return 1;
	}
	if (jd_engine_init(&ei, false) < 0 || jd_engine_init(&ej, true) < 0) {
		fprintf(stderr, "bt_jitdiff: cannot set up the engines (no JIT code buffer?)\n");
		return 1;
	}
	for (u64 i = 0; i < n && st.mismatches < 10; i++) {
		struct diff_rng run_rng;

		jd_gen_case(&rng, &c);
		run_rng = (struct diff_rng){ .s = rng.s ^ 0x5555 };
		if (only != ~0ull && i != only)
			continue;
		st.cases++;
		for (unsigned round = 0; round < JD_ROUNDS; round++) {
			bool ok = true;

			jd_load(&ei, &c, round == 0);
			jd_load(&ej, &c, round == 0);
			for (unsigned leg = 0; leg < 2 && ok; leg++) {
				u64 max = jd_limit(&run_rng);

				jd_run(&ei, max, &ra);
				jd_run(&ej, max, &rb);
				st.runs++;
				ok = jd_same(&ei, &ej, &ra, &rb, false);
				if (!ok || only != ~0ull) {
					fprintf(stderr,
						"bt_jitdiff: %s case %llu round %u leg %u "
						"(limit %llu)\n",
						ok ? "match" : "MISMATCH", (unsigned long long)i,
						round, leg, (unsigned long long)max);
					jd_print_case(&c, seed, i);
					jd_same(&ei, &ej, &ra, &rb, true);
				}
				if (ra.why == BT_EXIT_EXCEPTION)
					st.exceptions[ra.vector & 31]++;
				else if (ra.why == BT_EXIT_LIMIT)
					st.stops++;
				if (ra.why != BT_EXIT_LIMIT)
					break; /* ended: nothing to resume */
			}
			if (!ok) {
				st.mismatches++;
				break;
			}
		}
	}
	st.compiled = ej.cpu->jit->nr_compiled;
	st.links = ej.cpu->jit->nr_links;
	printf("bt_jitdiff: %s code, seed %llu, %llu programs, %llu runs, %llu mismatches\n",
	       jd_mode == JD_64	    ? "64-bit" :
	       jd_mode == JD_PROT32 ? "flat 32-bit" :
				      "compat 32-bit",
	       (unsigned long long)seed, (unsigned long long)st.cases, (unsigned long long)st.runs,
	       (unsigned long long)st.mismatches);
	printf("  stops at the instruction limit %llu; exceptions #PF %llu, #GP %llu, #UD %llu, "
	       "#NM %llu, #DE %llu, #BP %llu, other %llu\n",
	       (unsigned long long)st.stops, (unsigned long long)st.exceptions[BT_EXC_PF],
	       (unsigned long long)st.exceptions[BT_EXC_GP],
	       (unsigned long long)st.exceptions[BT_EXC_UD],
	       (unsigned long long)st.exceptions[BT_EXC_NM],
	       (unsigned long long)st.exceptions[BT_EXC_DE],
	       (unsigned long long)st.exceptions[BT_EXC_BP],
	       (unsigned long long)(st.runs - st.stops - st.exceptions[BT_EXC_PF] -
				    st.exceptions[BT_EXC_GP] - st.exceptions[BT_EXC_UD] -
				    st.exceptions[BT_EXC_NM] - st.exceptions[BT_EXC_DE] -
				    st.exceptions[BT_EXC_BP]));
	printf("  jit: %llu blocks compiled, %llu links, %llu code flushes, %llu blocks "
	       "interpreted for their mode\n",
	       (unsigned long long)st.compiled, (unsigned long long)st.links,
	       (unsigned long long)ej.cpu->jit->nr_flushes,
	       (unsigned long long)ej.cpu->jit->nr_interp[BT_JIT_INTERP_MODE]);
	/* The 32-bit flavours test nothing if that code stays interpreted. */
	if (jd_mode != JD_64 && st.cases > 1 &&
	    (!st.compiled || ej.cpu->jit->nr_interp[BT_JIT_INTERP_MODE])) {
		fprintf(stderr, "bt_jitdiff: the JIT did not compile the 32-bit code\n");
		st.mismatches++;
	}
	jd_engine_destroy(&ei);
	jd_engine_destroy(&ej);
	return st.mismatches ? 1 : 0;
}
