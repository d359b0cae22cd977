// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's JIT tier in flat 64-bit user mode, each against the interpreter
 * on a second CPU over the same memory (the reference): a loop that stays in generated code,
 * an exact stop after N instructions in the middle of compiled blocks, a kick leaving a loop
 * that never ends, a page fault in the middle of a compiled block (state of the faulting
 * instruction: registers, flags, RIP, instruction count), code rewritten after its blocks were
 * compiled and linked (the links are undone), direct and indirect calls and returns, and a code
 * cache too small for the program (flushed when full, results unchanged), MOVSD/MOVSS and their
 * #NM with CR0.TS, the natively compiled vector, string and scalar FP instructions, the
 * counters of why generated code returned to the dispatcher; and flat 32-bit protected-mode
 * code, compiled while its segments are flat and interpreted while DS has a base; and the
 * jitdump and perf map that VMM_BT_JITDUMP and VMM_BT_PERF_MAP ask for.
 */
#include "bt-fallback/bt.h"
#include "bt-fallback/jit/jit.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define CODE	  0x10000ull
#define DATA	  0x20000ull
#define CODE_SIZE 0x4000u

struct jit_fixture {
	struct bt_mem mem;
	struct bt_cpu *jit, *ref; /* JIT with threshold 1; interpreter only */
	u8 *code, *data;
};

static int jit_setup_sized(void **state, size_t code_bytes)
{
	struct jit_fixture *f = calloc(1, sizeof(*f));
	struct bt_cpu_config cfg;

	if (!f)
		return -1;
	f->code = aligned_alloc(4096, CODE_SIZE);
	f->data = aligned_alloc(4096, 4096);
	if (!f->code || !f->data)
		return -1;
	memset(f->code, 0xcc, CODE_SIZE);
	memset(f->data, 0, 4096);
	f->mem.fault_unmapped = true;
	if (bt_mem_map(&f->mem, CODE, CODE_SIZE, f->code, false) ||
	    bt_mem_map(&f->mem, DATA, 4096, f->data, false))
		return -1;
	cfg = (struct bt_cpu_config){
		.mem = &f->mem, .jit = true, .jit_threshold = 1, .jit_code_bytes = code_bytes
	};
	if (bt_cpu_create(&cfg, &f->jit, NULL) || !f->jit->jit)
		return -1;
	cfg = (struct bt_cpu_config){ .mem = &f->mem, .index = 1 };
	if (bt_cpu_create(&cfg, &f->ref, NULL))
		return -1;
	bt_cpu_set_flat64(f->jit);
	bt_cpu_set_flat64(f->ref);
	*state = f;
	return 0;
}

static int jit_setup(void **state)
{
	return jit_setup_sized(state, 0);
}

static int jit_setup_small(void **state)
{
	return jit_setup_sized(state, 16 << 10);
}

static int jit_teardown(void **state)
{
	struct jit_fixture *f = *state;

	bt_cpu_destroy(f->jit);
	bt_cpu_destroy(f->ref);
	bt_mem_destroy(&f->mem);
	free(f->code);
	free(f->data);
	free(f);
	return 0;
}

struct jit_result {
	enum bt_exit why;
	u64 gpr[16], rip, rflags, icount;
	u8 vector;
	u32 error;
	u8 data[4096];
};

/* Run cpu from CODE with the given registers for at most max instructions. */
static void jit_run(struct jit_fixture *f, struct bt_cpu *cpu, const u64 *gpr, u64 max,
		    struct jit_result *r)
{
	u64 ic0 = cpu->icount;

	memcpy(cpu->st.gpr, gpr, sizeof(cpu->st.gpr));
	cpu->st.gpr[CPU_RSP] = DATA + 4096 - 64;
	cpu->st.rip = CODE;
	bt_set_rflags(cpu, 0x202);
	memset(f->data, 0, 4096);
	r->why = bt_run(cpu, max);
	memcpy(r->gpr, cpu->st.gpr, sizeof(r->gpr));
	r->rip = cpu->st.rip;
	r->rflags = bt_get_rflags(cpu);
	r->icount = cpu->icount - ic0;
	r->vector = cpu->exc.vector;
	r->error = cpu->exc.error;
	memcpy(r->data, f->data, 4096);
}

/* The JIT CPU ends exactly where the interpreter does. */
static void jit_expect_same(struct jit_fixture *f, const u8 *code, size_t len, const u64 *gpr,
			    u64 max)
{
	static struct jit_result a, b;

	assert_int_equal(bt_mem_write(&f->mem, CODE, code, len), 0);
	jit_run(f, f->ref, gpr, max, &a);
	jit_run(f, f->jit, gpr, max, &b);
	assert_int_equal(b.why, a.why);
	assert_memory_equal(b.gpr, a.gpr, sizeof(a.gpr));
	assert_int_equal(b.rip, a.rip);
	assert_int_equal(b.rflags, a.rflags);
	assert_int_equal(b.icount, a.icount);
	if (a.why == BT_EXIT_EXCEPTION) {
		assert_int_equal(b.vector, a.vector);
		assert_int_equal(b.error, a.error);
	}
	assert_memory_equal(b.data, a.data, sizeof(a.data));
}

/* mov ecx, 1000; l: add rax, rcx; xor rdx, rax; mov [rsp], rdx; dec ecx; jnz l; int3 */
static const u8 jit_loop[] = { 0xb9, 0xe8, 0x03, 0x00, 0x00, 0x48, 0x01, 0xc8, 0x48, 0x31,
			       0xc2, 0x48, 0x89, 0x14, 0x24, 0xff, 0xc9, 0x75, 0xf2, 0xcc };

static void test_jit_loop_stays_compiled(void **state)
{
	struct jit_fixture *f = *state;
	u64 gpr[16] = { 5 };
	u64 entries;

	jit_expect_same(f, jit_loop, sizeof(jit_loop), gpr, 100000);
	assert_true(f->jit->jit->nr_compiled >= 2);
	/* The loop ran in its own code: a handful of entries from the dispatcher, not 1000. */
	entries = f->jit->jit->nr_entries;
	assert_true(entries < 10);
}

/* Stops at every instruction count, in the middle of compiled blocks, as the interpreter. */
static void test_jit_exact_limits(void **state)
{
	struct jit_fixture *f = *state;
	u64 gpr[16] = { 7, 0, 3 };

	for (u64 max = 1; max < 60; max++)
		jit_expect_same(f, jit_loop, sizeof(jit_loop), gpr, max);
	jit_expect_same(f, jit_loop, sizeof(jit_loop), gpr, 2345);
}

struct kick_arg {
	struct bt_cpu *cpu;
	pthread_mutex_t lock;
	bool done;
};

static void *jit_kicker(void *p)
{
	struct kick_arg *k = p;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (;;) {
		bool done;

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&k->lock);
		done = k->done;
		pthread_mutex_unlock(&k->lock);
		if (done)
			return NULL;
		bt_cpu_kick(k->cpu);
	}
}

/* A loop that never ends leaves generated code when the CPU is kicked. */
static void test_jit_kick_leaves_loop(void **state)
{
	struct jit_fixture *f = *state;
	static const u8 spin[] = { 0x48, 0xff, 0xc0, 0xeb, 0xfb }; /* l: inc rax; jmp l */
	struct kick_arg k = { .cpu = f->jit, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t;
	enum bt_exit why;

	assert_int_equal(bt_mem_write(&f->mem, CODE, spin, sizeof(spin)), 0);
	f->jit->st.rip = CODE;
	assert_int_equal(pthread_create(&t, NULL, jit_kicker, &k), 0);
	why = bt_run(f->jit, ~0ull >> 1);
	pthread_mutex_lock(&k.lock);
	k.done = true;
	pthread_mutex_unlock(&k.lock);
	pthread_join(t, NULL);
	assert_int_equal(why, BT_EXIT_REQUEST);
	assert_true(f->jit->st.gpr[CPU_RAX] > 1000);
	assert_true(f->jit->st.rip == CODE || f->jit->st.rip == CODE + 3);
	/* Every instruction counted: two per iteration. */
	assert_int_equal(f->jit->icount,
			 2 * f->jit->st.gpr[CPU_RAX] + (f->jit->st.rip == CODE + 3 ? -1 : 0));
}

/* A #PF in the middle of a compiled block: the state of the faulting instruction, exactly. */
static void test_jit_fault_mid_block(void **state)
{
	struct jit_fixture *f = *state;
	/* add rbx, rcx (flags); inc rdx; mov rax, [rsi]; inc rdi; int3 */
	static const u8 code[] = { 0x48, 0x01, 0xcb, 0x48, 0xff, 0xc2, 0x48,
				   0x8b, 0x06, 0x48, 0xff, 0xc7, 0xcc };
	u64 gpr[16] = { 1, 0x7fffffffffffffffull, 2, 1 };

	gpr[CPU_RSI] = 0x30000; /* unmapped */
	jit_expect_same(f, code, sizeof(code), gpr, 1000);
	assert_int_equal(f->jit->exc.vector, BT_EXC_PF);
	assert_int_equal(f->jit->st.rip, CODE + 6);
	assert_int_equal(f->jit->st.gpr[CPU_RDX], 3);
	assert_int_equal(f->jit->st.gpr[CPU_RDI], 0);
	assert_int_equal(f->jit->exc.cr2, 0x30000);
	/* The same on the second run, from compiled code with its stubs. */
	jit_expect_same(f, code, sizeof(code), gpr, 1000);
}

/* Code rewritten after it was compiled and linked: the new code runs. */
static void test_jit_rewritten_code(void **state)
{
	struct jit_fixture *f = *state;
	/* l: inc rax; jmp m; m: add rbx, 1; dec rcx; jnz l; int3 */
	u8 code[] = { 0x48, 0xff, 0xc0, 0xeb, 0x00, 0x48, 0x83, 0xc3,
		      0x01, 0x48, 0xff, 0xc9, 0x75, 0xf2, 0xcc };
	u64 gpr[16] = { 0, 100 };

	jit_expect_same(f, code, sizeof(code), gpr, 10000);
	assert_int_equal(f->jit->st.gpr[CPU_RBX], 100);
	assert_true(f->jit->jit->nr_links >= 1);
	code[8] = 3; /* add rbx, 3 */
	jit_expect_same(f, code, sizeof(code), gpr, 10000);
	assert_int_equal(f->jit->st.gpr[CPU_RBX], 300);
	/* And from inside: the loop stores into its own code (mov byte [rip+x], 5). */
	/* l: mov byte [rip+3], 5 (the imm8 of the ADD); add rbx, 1; dec ecx; jnz l; int3 */
	static const u8 smc[] = { 0xc6, 0x05, 0x03, 0x00, 0x00, 0x00, 0x05, 0x48,
				  0x83, 0xc3, 0x01, 0xff, 0xc9, 0x75, 0xf1, 0xcc };
	jit_expect_same(f, smc, sizeof(smc), gpr, 10000);
	assert_int_equal(f->jit->st.gpr[CPU_RBX], 100 * 5); /* seen from the first round on */
}

/* Direct and indirect calls, returns, pushes and pops. */
static void test_jit_calls(void **state)
{
	struct jit_fixture *f = *state;
	/* mov ecx, 64; l: lea rdx, [rip+f]; call f; call rdx; push rdx; pop rsi; dec ecx; jnz l;
	 * int3; int3; f: add rax, rcx; push rax; pop rbx; ret */
	static const u8 code[] = {
		0xb9, 0x40, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x15, 0x0f, 0x00, 0x00,
		0x00, 0xe8, 0x0a, 0x00, 0x00, 0x00, 0xff, 0xd2, 0x52, 0x5e, 0xff,
		0xc9, 0x75, 0xec, 0xcc, 0xcc, 0x48, 0x01, 0xc8, 0x50, 0x5b, 0xc3
	};
	u64 gpr[16] = { 0 };

	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RAX], 2 * (64 * 65 / 2));
}

/*
 * JMP through a register without REX.W (what compilers emit), compiled natively, right after an
 * instruction that leaves its flags in the host: the target reads them (SETC).
 */
static void test_jit_jmp_reg_flags(void **state)
{
	struct jit_fixture *f = *state;
	/* lea rax, [rip+t]; xor rcx, rcx; mov ecx, 5; l: add rcx, -1; jmp rax; int3;
	 * t: setc dl; add rbx, rdx; test rcx, rcx; jnz l; int3 */
	static const u8 code[] = { 0x48, 0x8d, 0x05, 0x0f, 0x00, 0x00, 0x00, 0x48, 0x31,
				   0xc9, 0xb9, 0x05, 0x00, 0x00, 0x00, 0x48, 0x83, 0xc1,
				   0xff, 0xff, 0xe0, 0xcc, 0x0f, 0x92, 0xc2, 0x48, 0x01,
				   0xd3, 0x48, 0x85, 0xc9, 0x75, 0xee, 0xcc };
	const struct bt_insn jmp = { .opcode = 0xff, .modrm_reg = 4 };
	u64 gpr[16] = { 0 };

	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RBX], 5);
	assert_int_equal(f->jit->jit->helper[BT_JIT_HELPER_KEY(&jmp)].calls, 0); /* compiled */
}

/* Many different blocks through a 16 KiB code cache: it is flushed and refilled. */
static void test_jit_small_cache_flushes(void **state)
{
	struct jit_fixture *f = *state;
	static u8 code[CODE_SIZE];
	u64 gpr[16] = { 1, 2, 3 };
	size_t at = 0;

	/* 300 blocks of 12 ALU instructions and a jump to the next, then int3; run twice. */
	for (unsigned b = 0; b < 300; b++) {
		for (unsigned i = 0; i < 6; i++) {
			static const u8 ops[][3] = { { 0x48, 0x01, 0xd0 }, { 0x48, 0x31, 0xc1 } };

			memcpy(code + at, ops[(b + i) & 1], 3);
			at += 3;
			memcpy(code + at, "\x48\xc1\xc0\x03", 4); /* rol rax, 3 */
			at += 4;
		}
		code[at++] = 0xeb; /* jmp +0: the next block */
		code[at++] = 0x00;
	}
	code[at++] = 0xcc;
	assert_true(at < CODE_SIZE);
	jit_expect_same(f, code, at, gpr, 100000);
	jit_expect_same(f, code, at, gpr, 100000);
	assert_true(f->jit->jit->nr_flushes >= 1);
}

/*
 * MOVSD and MOVSS compiled natively: loads (the rest of the register zeroed), stores, register
 * moves (the rest kept); with CR0.TS set the same code raises #NM at the same instruction.
 */
static void test_jit_movs(void **state)
{
	struct jit_fixture *f = *state;
	/* mov ecx, 50; l: movsd [rsp+8], xmm1; movsd xmm0, [rsp+8]; movss xmm2, [rsp+8];
	 * movsd xmm3, xmm0; movss [rsp+16], xmm3; movss xmm4, xmm2; add qword [rsp+8], rcx;
	 * dec ecx; jnz l; int3 */
	static const u8 code[] = { 0xb9, 0x32, 0x00, 0x00, 0x00, 0xf2, 0x0f, 0x11, 0x4c, 0x24,
				   0x08, 0xf2, 0x0f, 0x10, 0x44, 0x24, 0x08, 0xf3, 0x0f, 0x10,
				   0x54, 0x24, 0x08, 0xf2, 0x0f, 0x10, 0xd8, 0xf3, 0x0f, 0x11,
				   0x5c, 0x24, 0x10, 0xf3, 0x0f, 0x10, 0xe2, 0x48, 0x01, 0x4c,
				   0x24, 0x08, 0xff, 0xc9, 0x75, 0xd7, 0xcc };
	u64 gpr[16] = { 0 };
	struct bt_cpu *cpus[2] = { f->jit, f->ref };

	for (unsigned i = 0; i < 2; i++)
		for (unsigned r = 0; r < 16; r++)
			memset(cpus[i]->st.fx.xmm[r], 0x11 * (r + 1), 16);
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_memory_equal(f->jit->st.fx.xmm, f->ref->st.fx.xmm, sizeof(f->ref->st.fx.xmm));
	/* xmm0: loaded by MOVSD, its upper half zeroed; xmm4 kept its upper 12 bytes. */
	assert_true(f->jit->st.fx.xmm[0][8] == 0 && f->jit->st.fx.xmm[4][15] == 0x55);
	assert_int_equal(
		f->jit->jit->helper[BT_JIT_HELPER_KEY(&(struct bt_insn){ .opcode = 0x110 })].calls,
		0); /* compiled, not handler calls */
	for (unsigned i = 0; i < 2; i++)
		cpus[i]->st.cr0 |= BT_CR0_TS;
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->exc.vector, BT_EXC_NM);
	assert_int_equal(f->jit->st.rip, CODE + 5);
	for (unsigned i = 0; i < 2; i++)
		cpus[i]->st.cr0 &= ~BT_CR0_TS;
}

/*
 * glibc's string-function idioms and scalar floating point, compiled natively (jit_vec.c): REP
 * STOSB, VPXOR, VMOVDQU, VPCMPEQB, VPMOVMSKB, MOVDQU, PCMPEQB, PMOVMSKB, VPBROADCASTB,
 * VPMINUB, VPTEST, CVTSI2SD, ADDSD, MULSD, UCOMISD, RORX, MOVDQA, VZEROUPPER in a loop: the
 * same registers (YMM halves and MXCSR too), flags and memory as the interpreter, and no
 * handler calls but the final INT3's.
 */
static u64 jit_counter(struct bt_cpu *cpu, const char *name, char *first_helper, size_t len);

static void test_jit_vec_string(void **state)
{
	struct jit_fixture *f = *state;
	/* mov ecx, 20; lea rdi, [rsp - 512]; l: mov eax, 0x41; push rcx; mov ecx, 100;
	 * rep stosb; pop rcx; sub rdi, 100; mov byte [rdi + rcx + 10], 0; vpxor xmm0, xmm0, xmm0;
	 * vmovdqu ymm1, [rdi]; vpcmpeqb ymm2, ymm1, ymm0; vpmovmskb eax, ymm2;
	 * movdqu xmm3, [rdi + 32]; pcmpeqb xmm3, xmm0; pmovmskb edx, xmm3; shl rdx, 32;
	 * or rax, rdx; vpbroadcastb ymm4, xmm1; vpminub ymm5, ymm4, ymm1; vptest ymm5, ymm5;
	 * setz bl; add r8, rax; cvtsi2sd xmm7, rcx; addsd xmm8, xmm7; mulsd xmm9, xmm8;
	 * ucomisd xmm9, xmm8; adc r10, 0; rorx r9, r8, 7; movdqa [rdi + 128], xmm1; vzeroupper;
	 * dec ecx; jnz l; int3 */
	static const u8 code[] = {
		0xb9, 0x14, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xbc, 0x24, 0x00, 0xfe, 0xff, 0xff, 0xb8,
		0x41, 0x00, 0x00, 0x00, 0x51, 0xb9, 0x64, 0x00, 0x00, 0x00, 0xf3, 0xaa, 0x59, 0x48,
		0x83, 0xef, 0x64, 0xc6, 0x44, 0x0f, 0x0a, 0x00, 0xc5, 0xf9, 0xef, 0xc0, 0xc5, 0xfe,
		0x6f, 0x0f, 0xc5, 0xf5, 0x74, 0xd0, 0xc5, 0xfd, 0xd7, 0xc2, 0xf3, 0x0f, 0x6f, 0x5f,
		0x20, 0x66, 0x0f, 0x74, 0xd8, 0x66, 0x0f, 0xd7, 0xd3, 0x48, 0xc1, 0xe2, 0x20, 0x48,
		0x09, 0xd0, 0xc4, 0xe2, 0x7d, 0x78, 0xe1, 0xc5, 0xdd, 0xda, 0xe9, 0xc4, 0xe2, 0x7d,
		0x17, 0xed, 0x0f, 0x94, 0xc3, 0x49, 0x01, 0xc0, 0xf2, 0x48, 0x0f, 0x2a, 0xf9, 0xf2,
		0x44, 0x0f, 0x58, 0xc7, 0xf2, 0x45, 0x0f, 0x59, 0xc8, 0x66, 0x45, 0x0f, 0x2e, 0xc8,
		0x49, 0x83, 0xd2, 0x00, 0xc4, 0x43, 0xfb, 0xf0, 0xc8, 0x07, 0x66, 0x0f, 0x7f, 0x8f,
		0x80, 0x00, 0x00, 0x00, 0xc5, 0xf8, 0x77, 0xff, 0xc9, 0x75, 0x84, 0xcc
	};
	u64 gpr[16] = { 0 };
	struct bt_cpu *cpus[2] = { f->jit, f->ref };

	for (unsigned i = 0; i < 2; i++) {
		cpus[i]->st.cr4 |= BT_CR4_OSXSAVE;
		cpus[i]->st.xcr0 = 7;
		for (unsigned r = 0; r < 16; r++) {
			memset(cpus[i]->st.fx.xmm[r], 0x11 * (r + 1), 16);
			memset(cpus[i]->st.ymmh[r], 0x80 + r, 16);
		}
		memset(cpus[i]->st.fx.xmm[9], 0, 8);
		cpus[i]->st.fx.xmm[9][6] = 0xf0;
		cpus[i]->st.fx.xmm[9][7] = 0x3f; /* 1.0 */
	}
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->exc.vector, BT_EXC_BP);
	assert_memory_equal(f->jit->st.fx.xmm, f->ref->st.fx.xmm, sizeof(f->ref->st.fx.xmm));
	assert_memory_equal(f->jit->st.ymmh, f->ref->st.ymmh, sizeof(f->ref->st.ymmh));
	assert_int_equal(f->jit->st.fx.mxcsr, f->ref->st.fx.mxcsr);
	assert_true(f->jit->st.gpr[CPU_R8] != 0 && f->jit->st.ymmh[5][0] == 0);
	assert_true(f->jit->jit->nr_compiled > 0);
	assert_true(jit_counter(f->jit, "jit_helper_calls", NULL, 0) <= 2);
}

struct jit_counter_seen {
	const char *want;
	u64 value;
	bool found;
	char first_helper[48]; /* the first jit_helper_<op> named: the most called */
};

static void jit_counter_one(void *opaque, const char *name, u64 value)
{
	struct jit_counter_seen *s = opaque;

	if (!strcmp(name, s->want)) {
		s->value = value;
		s->found = true;
	}
	if (!strncmp(name, "jit_helper_", 11) && strcmp(name, "jit_helper_calls") &&
	    strcmp(name, "jit_helper_leaves") && !s->first_helper[0])
		snprintf(s->first_helper, sizeof(s->first_helper), "%s", name);
}

static u64 jit_counter(struct bt_cpu *cpu, const char *name, char *first_helper, size_t len)
{
	struct jit_counter_seen s = { .want = name };

	bt_jit_counters(cpu, 4, jit_counter_one, &s);
	assert_true(s.found);
	if (first_helper)
		snprintf(first_helper, len, "%s", s.first_helper);
	return s.value;
}

/*
 * The exit counters say why generated code returned to the dispatcher: a loop whose every
 * round calls the PUSHF handler, leaves after the POPF handler and jumps to another page and
 * back (exits that are never linked: they probe the jump cache instead).
 */
static void test_jit_counters(void **state)
{
	struct jit_fixture *f = *state;
	static u8 code[0x1009];
	u64 gpr[16] = { 0 };
	char top[48];

	memset(code, 0xcc, sizeof(code));
	/* mov ecx, 100; l: pushfq; popfq; jmp CODE+0x1000; ... CODE+0x1000: dec ecx; jnz l; int3 */
	memcpy(code, "\xb9\x64\x00\x00\x00\x9c\x9d\xe9\xf4\x0f\x00\x00", 12);
	memcpy(code + 0x1000, "\xff\xc9\x0f\x85\xfd\xef\xff\xff", 8);
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RCX], 0);
	assert_true(jit_counter(f->jit, "jit_helper_calls", NULL, 0) >= 200);
	assert_true(jit_counter(f->jit, "jit_helper_9c_0", top, sizeof(top)) >= 100);
	assert_true(jit_counter(f->jit, "jit_helper_9d_0", NULL, 0) >= 100);
	assert_true(!strcmp(top, "jit_helper_9c_0") || !strcmp(top, "jit_helper_9d_0"));
	/* POPF leaves (it may change IF): one exit per round. */
	assert_true(jit_counter(f->jit, "jit_exits_helper", NULL, 0) >= 100);
	assert_true(jit_counter(f->jit, "jit_helper_leaves", NULL, 0) >= 100);
	/*
	 * Both jumps cross a page: never linked, but their exits find the target's code in the
	 * jump cache once it has some, so a round enters generated code once (after POPF).
	 */
	assert_true(jit_counter(f->jit, "jit_nolink_page", NULL, 0) <= 4);
	assert_true(jit_counter(f->jit, "jit_exits_direct", NULL, 0) <= 4);
	assert_true(jit_counter(f->jit, "jit_entries", NULL, 0) <= 110);
	assert_int_equal(jit_counter(f->jit, "jit_exits_smc", NULL, 0), 0);
}

/* Flat 32-bit protected mode at CPL 0 without paging: 4 GiB segments with base 0. */
static void jit_set_flat32(struct bt_cpu *cpu)
{
	bt_cpu_set_flat64(cpu);
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		struct cpu_segment *s = &cpu->st.seg[i];

		s->selector = i == CPU_CS ? 0x08 : 0x10;
		s->dpl = 0;
		s->l = 0;
		s->db = s->g = 1;
	}
	cpu->st.cr0 = 0x33; /* PE, MP, ET, NE */
	cpu->st.cr4 = 0x600;
	cpu->st.efer = 0;
	cpu->flat = false;
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

static void jit_set_ds_base(struct jit_fixture *f, u64 base)
{
	f->jit->st.seg[CPU_DS].base = base;
	f->ref->st.seg[CPU_DS].base = base;
}

/*
 * 32-bit code is compiled while CS, SS, DS and ES are flat: a loop of memory operands, CALL
 * through memory, PUSH of a register and of memory, POP, RET and INC/DEC r32 (40-4F) runs in
 * generated code. With a DS base (as a segment
 * load would leave it) the same blocks are interpreted, not run as compiled for base 0.
 */
static void test_jit_flat32(void **state)
{
	/*
	 * mov dword es:[0x20010], 7; mov dword [0x20020], f; mov ecx, 100; xor eax, eax;
	 * l: add eax, [0x20010]; call [0x20020]; dec ecx; jnz l; int3;
	 * f: push eax; pop edx; push dword [0x20010]; pop esi; inc ebx; ret
	 */
	static const u8 code[] = {
		0x26, 0xc7, 0x05, 0x10, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x20,
		0x00, 0x02, 0x00, 0x2c, 0x00, 0x01, 0x00, 0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xc0,
		0x03, 0x05, 0x10, 0x00, 0x02, 0x00, 0xff, 0x15, 0x20, 0x00, 0x02, 0x00, 0x49, 0x75,
		0xf1, 0xcc, 0x50, 0x5a, 0xff, 0x35, 0x10, 0x00, 0x02, 0x00, 0x5e, 0x43, 0xc3
	};
	struct jit_fixture *f = *state;
	u64 gpr[16] = { [CPU_RAX] = 0xdeadbeef00000000ull, [CPU_RBX] = 0x1234500000000ull };
	u64 mode0, entries0;

	jit_set_flat32(f->jit);
	jit_set_flat32(f->ref);
	assert_int_equal(f->jit->mode, BT_MODE_PROT32);
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RAX], 700); /* 32-bit results zero the upper halves */
	assert_int_equal(f->jit->st.gpr[CPU_RDX], 700);
	assert_int_equal(f->jit->st.gpr[CPU_RSI], 7);
	assert_int_equal(f->jit->st.gpr[CPU_RBX], 100);
	assert_true(jit_counter(f->jit, "jit_blocks_compiled", NULL, 0) >= 3);
	assert_int_equal(jit_counter(f->jit, "jit_interp_mode", NULL, 0), 0);
	/* The loop ran in its own code: a handful of entries, no handler call but the INT3's. */
	assert_true(jit_counter(f->jit, "jit_entries", NULL, 0) < 10);
	assert_int_equal(jit_counter(f->jit, "jit_helper_calls", NULL, 0), 1);
	assert_int_equal(jit_counter(f->jit, "jit_helper_cc_0", NULL, 0), 1);

	/* DS base 0x100: the loads read 0x20110 (zero), interpreted (the stores go through ES). */
	jit_set_ds_base(f, 0x100);
	mode0 = jit_counter(f->jit, "jit_interp_mode", NULL, 0);
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RAX], 0);
	assert_true(jit_counter(f->jit, "jit_interp_mode", NULL, 0) >= mode0 + 200);

	/* Flat again: the code compiled before runs again. */
	jit_set_ds_base(f, 0);
	mode0 = jit_counter(f->jit, "jit_interp_mode", NULL, 0);
	entries0 = jit_counter(f->jit, "jit_entries", NULL, 0);
	jit_expect_same(f, code, sizeof(code), gpr, 100000);
	assert_int_equal(f->jit->st.gpr[CPU_RAX], 700);
	assert_int_equal(jit_counter(f->jit, "jit_interp_mode", NULL, 0), mode0);
	assert_true(jit_counter(f->jit, "jit_entries", NULL, 0) > entries0);
}

/*
 * VMM_BT_JITDUMP and VMM_BT_PERF_MAP (jit_perf.c): the dump has perf's header and a code-load
 * record per compiled block, named by its guest RIP, with its code (as compiled: the links
 * patched in later differ); the map has a line for it at the same address.
 */
static void test_jit_perf(void **state)
{
	char dir[] = "/tmp/bt_jit_perf.XXXXXX", path[128], line[128], want[64];
	struct jit_fixture *f;
	u64 gpr[16] = { 0 }, addr = 0, size = 0;
	bool found = false, line_found = false;
	long len;
	u8 *buf;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("VMM_BT_JITDUMP", dir, 1);
	setenv("VMM_BT_PERF_MAP", "1", 1);
	assert_int_equal(jit_setup((void **)&f), 0);
	unsetenv("VMM_BT_JITDUMP");
	unsetenv("VMM_BT_PERF_MAP");
	jit_expect_same(f, jit_loop, sizeof(jit_loop), gpr, 100000);

	snprintf(path, sizeof(path), "%s/jit-%d.dump", dir, (int)getpid());
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	assert_true(len >= 40);
	assert_int_equal(*(u32 *)buf, 0x4A695444u); /* magic */
	assert_int_equal(*(u32 *)(buf + 20), (u32)getpid());
	/* The loop's block: from its head at CODE + 5, the JNZ's target. */
	snprintf(want, sizeof(want), "bt_u64_%llx_n", (unsigned long long)CODE + 5);
	for (long off = 40; off + 56 <= len;) {
		u32 id, total; /* records are not aligned: names have any length */
		const char *name = (const char *)buf + off + 56;

		memcpy(&id, buf + off, 4);
		memcpy(&total, buf + off + 4, 4);
		assert_true(total >= 56 && off + total <= len);
		if (id == 0 && !strncmp(name, want, strlen(want))) {
			const u8 *code = (const u8 *)name + strlen(name) + 1;

			memcpy(&addr, buf + off + 32, 8);
			memcpy(&size, buf + off + 40, 8);
			assert_int_equal(total, 56 + strlen(name) + 1 + size);
			const u8 *now = bt_codebuf_rw(&f->jit->jit->code, (void *)addr);
			unsigned diff = 0;

			/* The code as compiled: since then only links (two rel32 fields) changed. */
			for (u64 b = 0; b < size; b++)
				diff += code[b] != now[b];
			assert_in_range(diff, 0, 8);
			found = true;
		}
		off += total;
	}
	assert_true(found);
	free(buf);
	unlink(path);

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		unsigned long a, n;
		char name[64];

		if (sscanf(line, "%lx %lx %63s", &a, &n, name) == 3 && a == addr && n == size &&
		    !strncmp(name, want, strlen(want)))
			line_found = true;
	}
	fclose(fp);
	unlink(path);
	rmdir(dir);
	assert_true(line_found);
	jit_teardown((void **)&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jit_loop_stays_compiled, jit_setup,
						jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_exact_limits, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_kick_leaves_loop, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_fault_mid_block, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_rewritten_code, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_calls, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_small_cache_flushes, jit_setup_small,
						jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_jmp_reg_flags, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_movs, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_vec_string, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_counters, jit_setup, jit_teardown),
		cmocka_unit_test_setup_teardown(test_jit_flat32, jit_setup, jit_teardown),
		cmocka_unit_test(test_jit_perf),
	};

	return cmocka_run_group_tests_name("bt_jit", tests, NULL, NULL);
}
