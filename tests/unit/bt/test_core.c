// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine core: the decoded-block
 * cache (translate once, self-modifying code inside a block and from
 * another CPU), exceptions with vector, error code and CR2, real-mode
 * INT/IRET through the IVT, and the CPUID model gating TZCNT.
 */
#include "bt_flat.h"
#include "bt_test_mode.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define CODE BT_FLAT_CODE
#define DATA BT_FLAT_DATA

static void test_cache_translates_once(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0x48, 0xff, 0xc0, 0xcc }; /* inc rax; int3 */
	u64 before;

	f->cpu->st.gpr[CPU_RAX] = 0;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	before = f->cpu->cache.nr_translated;
	assert_int_equal(bt_flat_run(f, f->cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->cache.nr_translated, before); /* served from the cache */
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 2);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(f->cpu->st.rip, CODE + 4); /* INT3 is a trap */
}

static void test_smc_inside_block(void **state)
{
	struct bt_flat *f = *state;
	/* mov byte [rip+1], 42 patches the immediate of the next instruction, in the same block. */
	static const u8 code[] = { 0xc6, 0x05, 0x01, 0x00, 0x00, 0x00,
				   0x2a, 0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, 0 */
				   0xcc };

	f->cpu->st.gpr[CPU_RAX] = 7;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 42);
	assert_true(f->cpu->cache.nr_invalidated >= 1);
}

static void test_smc_from_other_cpu(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcc }; /* mov eax, 1 */
	/* CPU 2: mov byte [CODE + 1], 9 (absolute address through a register). */
	static const u8 poke[] = { 0xc6, 0x03, 0x09, 0xcc };

	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 1);
	assert_int_equal(bt_mem_write(&f->mem, CODE + 0x100, poke, sizeof(poke)), 0);
	f->cpu2->st.rip = CODE + 0x100;
	f->cpu2->st.gpr[CPU_RBX] = CODE + 1;
	assert_int_equal(bt_run(f->cpu2, 10), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu2->exc.vector, BT_EXC_BP);
	assert_int_equal(bt_flat_run(f, f->cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 9);
}

/* Device DMA over translated code: the next run sees the new bytes, not the cached block. */
static void test_dma_over_code(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcc }; /* mov eax, 1 */

	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 1);
	/* A device writes the immediate behind the engine's back, then reports it. */
	f->code[1] = 5;
	bt_mem_dma_written(&f->mem, CODE + 1, 1);
	assert_int_equal(bt_flat_run(f, f->cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 5);
	/* Unreported, the cached block would still run (what the report is for). */
	f->code[1] = 6;
	assert_int_equal(bt_flat_run(f, f->cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 5);
	/* More pages than the queue holds: every cache is flushed. */
	for (unsigned i = 0; i < 100; i++)
		bt_mem_dma_written(&f->mem, CODE, 4096);
	assert_int_equal(bt_flat_run(f, f->cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.gpr[CPU_RAX], 6);
}

static void test_exceptions(void **state)
{
	struct bt_flat *f = *state;
	static const u8 div0[] = { 0x48, 0xf7, 0xf1 };	/* div rcx */
	static const u8 store[] = { 0x48, 0x89, 0x03 }; /* mov [rbx], rax */
	static const u8 ud2[] = { 0x0f, 0x0b };
	static const u8 noncanon[] = { 0x48, 0x8b, 0x03 }; /* mov rax, [rbx] */
	struct bt_cpu *cpu = f->cpu;

	cpu->st.gpr[CPU_RCX] = 0;
	assert_int_equal(bt_flat_run(f, cpu, div0, sizeof(div0)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_DE);
	assert_int_equal(cpu->st.rip, CODE); /* a fault: RIP at the instruction */

	cpu->st.gpr[CPU_RBX] = DATA + 4096 - 4; /* 8 bytes across into an unmapped page */
	cpu->st.gpr[CPU_RAX] = 0x1122334455667788ull;
	assert_int_equal(bt_flat_run(f, cpu, store, sizeof(store)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_PF);
	assert_int_equal(cpu->exc.error, BT_PF_W | BT_PF_U);
	assert_int_equal(cpu->exc.cr2, DATA + 4096);
	assert_int_equal(f->data[4092], 0); /* nothing of the store was written */

	assert_int_equal(bt_flat_run(f, cpu, ud2, sizeof(ud2)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_UD);

	cpu->st.gpr[CPU_RBX] = 0x8000000000000000ull;
	assert_int_equal(bt_flat_run(f, cpu, noncanon, sizeof(noncanon)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_GP);
	assert_int_equal(cpu->exc.error, 0);
}

static void test_real_mode_int_iret(void **state)
{
	struct bt_mem mem = { 0 };
	struct bt_cpu_config cfg = bt_test_config((struct bt_cpu_config){ .mem = &mem });
	struct bt_cpu *cpu;
	u8 *ram = calloc(1, 0x20000);
	/* At 1000:0000: int 21h; hlt. Handler at 1000:0100: mov ax, 1234h; iret. */
	static const u8 main_code[] = { 0xcd, 0x21, 0xf4 };
	static const u8 handler[] = { 0xb8, 0x34, 0x12, 0xcf };
	static const u8 vec[] = { 0x00, 0x01, 0x00, 0x10 }; /* IVT[21h] = 1000:0100 */

	(void)state;
	assert_non_null(ram);
	assert_int_equal(bt_mem_map(&mem, 0, 0x20000, ram, false), 0);
	assert_int_equal(bt_cpu_create(&cfg, &cpu, NULL), 0);
	assert_int_equal(bt_mem_write(&mem, 0x10000, main_code, sizeof(main_code)), 0);
	assert_int_equal(bt_mem_write(&mem, 0x10100, handler, sizeof(handler)), 0);
	assert_int_equal(bt_mem_write(&mem, 0x21 * 4, vec, sizeof(vec)), 0);
	bt_cpu_load_seg_real(cpu, CPU_CS, 0x1000);
	bt_cpu_load_seg_real(cpu, CPU_SS, 0x0000);
	cpu->st.rip = 0;
	cpu->st.gpr[CPU_RSP] = 0x8000;
	bt_set_rflags(cpu, 0x202);
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.gpr[CPU_RAX] & 0xffff, 0x1234);
	assert_int_equal(cpu->st.rip, 3); /* past the HLT, after returning */
	assert_int_equal(cpu->st.gpr[CPU_RSP], 0x8000);
	assert_int_equal(ram[0x7ffa], 2);		     /* the pushed return IP */
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, BT_IF); /* restored by IRET */
	bt_cpu_destroy(cpu);
	bt_mem_destroy(&mem);
	free(ram);
}

static void test_cpuid_sse2_default(void **state)
{
	struct bt_flat *f = *state;
	static const u8 xorps[] = { 0x0f, 0x57, 0xc0, 0xcc }; /* xorps xmm0, xmm0 */
	struct bt_cpu *cpu = f->cpu2;
	u32 r[4];

	/* The default model advertises FXSR (24), SSE (25) and SSE2 (26). */
	bt_cpuid(cpu, 1, 0, r);
	assert_int_equal(r[3] & (7u << 24), 7u << 24);
	cpu->st.fx.xmm[0][0] = 0x5a;
	assert_int_equal(bt_flat_run(f, cpu, xorps, sizeof(xorps)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(cpu->st.fx.xmm[0][0], 0);

	/* A model without them: CPUID hides all three, and the instructions #UD. */
	{
		struct cpu_model m = cpu->model;

		cpu_model_set(&m, CPU_F_SSE2, false);
		cpu_model_set(&m, CPU_F_SSE, false);
		cpu_model_set(&m, CPU_F_FXSR, false);
		bt_cpu_set_model(cpu, &m);
	}
	bt_cpuid(cpu, 1, 0, r);
	assert_int_equal(r[3] & (7u << 24), 0);
	cpu->st.fx.xmm[0][0] = 0x5a;
	assert_int_equal(bt_flat_run(f, cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_UD);
	assert_int_equal(cpu->st.rip, CODE);
	assert_int_equal(cpu->st.fx.xmm[0][0], 0x5a);
}

/*
 * RDTSCP (0F 01 F9): the default model advertises it (CPUID 8000_0001h EDX bit 27) and it
 * loads EDX:EAX with the TSC and ECX with IA32_TSC_AUX; the K8 model has neither the
 * instruction (#UD, nothing changed) nor the MSR (#GP).
 */
static void test_rdtscp_follows_the_model(void **state)
{
	struct bt_flat *f = *state;
	static const u8 rdtscp[] = { 0x0f, 0x01, 0xf9, 0xcc };
	struct bt_cpu *cpu = f->cpu;
	struct cpu_model k8;
	u64 tsc;
	u32 r[4];

	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_true(r[3] & (1u << 27));
	assert_int_equal(bt_msr_write(cpu, 0xc0000103, 0x1234), 0);
	cpu->st.gpr[CPU_RCX] = ~0ull;
	tsc = bt_rdtsc(cpu);
	assert_int_equal(bt_flat_run(f, cpu, rdtscp, sizeof(rdtscp)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 0x1234);
	assert_true(((cpu->st.gpr[CPU_RDX] << 32) | cpu->st.gpr[CPU_RAX]) >= tsc);

	assert_true(cpu_model_lookup("k8", &k8));
	bt_cpu_set_model(cpu, &k8);
	assert_int_equal(bt_msr_write(cpu, 0xc0000103, 0), -EPERM);
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_false(r[3] & (1u << 27));
	cpu->st.gpr[CPU_RAX] = 1;
	cpu->st.gpr[CPU_RCX] = 2;
	cpu->st.gpr[CPU_RDX] = 3;
	assert_int_equal(bt_flat_run(f, cpu, rdtscp, sizeof(rdtscp)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_UD);
	assert_int_equal(cpu->st.rip, CODE);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 2);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 3);
}

static void test_cpuid_gates_tzcnt(void **state)
{
	struct bt_flat *f = *state;
	static const u8 tzcnt[] = { 0xf3, 0x48, 0x0f, 0xbc, 0xc1, 0xcc }; /* tzcnt rax, rcx */
	struct bt_cpu *cpu = f->cpu;
	u32 r[4];

	bt_cpuid(cpu, 0, 0, r);
	assert_memory_equal(&r[1], "Auth", 4);
	assert_memory_equal(&r[3], "enti", 4);
	assert_memory_equal(&r[2], "cAMD", 4);
	bt_cpuid(cpu, 1, 0, r);
	assert_true(r[2] & (1u << 23)); /* POPCNT */

	/* Without BMI1, F3 0F BC is BSF: a zero source leaves the destination alone. */
	{
		struct cpu_model m = cpu->model;

		cpu_model_set(&m, CPU_F_BMI1, false);
		bt_cpu_set_model(cpu, &m);
	}
	cpu->st.gpr[CPU_RCX] = 0;
	cpu->st.gpr[CPU_RAX] = 0x55;
	bt_flat_run(f, cpu, tzcnt, sizeof(tzcnt));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x55);
	bt_cpuid(cpu, 7, 0, r);
	assert_false(r[1] & (1u << 3));

	{
		struct cpu_model m = cpu->model;

		cpu_model_set(&m, CPU_F_BMI1, true);
		bt_cpu_set_model(cpu, &m);
	}
	bt_flat_run(f, cpu, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 64);
}

/* MXCSR: a masked divide-by-zero sets ZE and gives infinity; unmasked it is #XM (or #UD
 * without CR4.OSXMMEXCPT) and leaves the destination alone; the host MXCSR is untouched. */
static void test_sse_fp_exceptions(void **state)
{
	struct bt_flat *f = *state;
	static const u8 divss[] = { 0xf3, 0x0f, 0x5e, 0xc1, 0xcc }; /* divss xmm0, xmm1 */
	struct bt_cpu *cpu = f->cpu;
	const float one = 1.0f, zero = 0.0f, inf = __builtin_inff();
	u32 host_before, host_after;
	float r;

	__asm__ volatile("stmxcsr %0" : "=m"(host_before));
	memcpy(cpu->st.fx.xmm[0], &one, 4);
	memcpy(cpu->st.fx.xmm[1], &zero, 4);
	cpu->st.fx.mxcsr = 0x1f80;
	assert_int_equal(bt_flat_run(f, cpu, divss, sizeof(divss)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	memcpy(&r, cpu->st.fx.xmm[0], 4);
	assert_true(r == inf);
	assert_int_equal(cpu->st.fx.mxcsr, 0x1f80 | 0x4); /* ZE */

	memcpy(cpu->st.fx.xmm[0], &one, 4);
	cpu->st.fx.mxcsr = 0x1f80 & ~0x200u; /* ZM clear: divide-by-zero unmasked */
	assert_int_equal(bt_flat_run(f, cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_XM);
	assert_int_equal(cpu->st.rip, CODE);
	memcpy(&r, cpu->st.fx.xmm[0], 4);
	assert_true(r == one);
	assert_true(cpu->st.fx.mxcsr & 0x4);

	cpu->st.cr4 &= ~(1ull << 10); /* no OSXMMEXCPT: #UD instead */
	assert_int_equal(bt_flat_run(f, cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_UD);

	/* Not advertised by the CPUID model: #UD whatever MXCSR says. */
	cpu->st.cr4 |= 1ull << 10;
	cpu->st.fx.mxcsr = 0x1f80;
	{
		struct cpu_model m = cpu->model;

		cpu_model_set(&m, CPU_F_SSE2, false);
		bt_cpu_set_model(cpu, &m);
	}
	assert_int_equal(bt_flat_run(f, cpu, NULL, 0), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_UD);
	__asm__ volatile("stmxcsr %0" : "=m"(host_after));
	assert_int_equal(host_before, host_after);
}

static void *core_kicker(void *arg)
{
	struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	bt_cpu_kick(arg);
	return NULL;
}

struct core_mmio_counter {
	struct bt_cpu *cpu;
	unsigned writes, kick_at;
};

static void core_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct core_mmio_counter *m = opaque;

	(void)cpu, (void)gpa, (void)size, (void)data;
	if (is_write && ++m->writes == m->kick_at)
		bt_cpu_kick(m->cpu);
}

/*
 * bt_cpu_kick from another thread stops an endless loop at a block boundary; a kick during a
 * REP STOSB into MMIO (from the device callback, so deterministic) stops it between
 * iterations, and bt_run resumes it where it stopped.
 */
static void test_kick(void **state)
{
	struct bt_flat *f = *state;
	static const u8 spin[] = { 0xeb, 0xfe };		 /* jmp $ */
	static const u8 rep_stos[] = { 0xf3, 0x48, 0xaa, 0xcc }; /* rep stosb; int3 */
	struct core_mmio_counter m = { .kick_at = 10 };
	struct bt_mem mem = { .mmio = core_mmio, .io_opaque = &m };
	struct bt_cpu_config cfg = bt_test_config((struct bt_cpu_config){ .mem = &mem });
	u8 *ram = aligned_alloc(4096, 0x10000);
	struct bt_cpu *cpu;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, core_kicker, f->cpu), 0);
	f->cpu->st.rip = CODE;
	assert_int_equal(bt_mem_write(&f->mem, CODE, spin, sizeof(spin)), 0);
	assert_int_equal(bt_run(f->cpu, ~0ull >> 1), BT_EXIT_REQUEST);
	assert_int_equal(f->cpu->st.rip, CODE);
	pthread_join(t, NULL);

	assert_non_null(ram);
	assert_int_equal(bt_mem_map(&mem, 0, 0x10000, ram, false), 0);
	assert_int_equal(bt_cpu_create(&cfg, &cpu, NULL), 0);
	m.cpu = cpu;
	bt_cpu_set_flat64(cpu);
	assert_int_equal(bt_mem_write(&mem, 0x1000, rep_stos, sizeof(rep_stos)), 0);
	cpu->st.rip = 0x1000;
	cpu->st.gpr[CPU_RDI] = 0x100000; /* no RAM there: MMIO */
	cpu->st.gpr[CPU_RCX] = 1000;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_REQUEST);
	assert_int_equal(cpu->st.rip, 0x1000);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 990);
	assert_int_equal(cpu->st.gpr[CPU_RDI], 0x100000 + 10);
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_EXCEPTION); /* the INT3 after it */
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 0);
	assert_int_equal(m.writes, 1000);
	bt_cpu_destroy(cpu);
	bt_mem_destroy(&mem);
	free(ram);
}

/* REP STOSB/MOVSB fast path: page-sized chunks, an overlapping forward MOVSB byte by byte. */
static void test_rep_fast_path(void **state)
{
	struct bt_flat *f = *state;
	/* rep stosb; mov rcx, rbx; mov rdi, rsi; inc rdi; mov byte [rsi], 11h; rep movsb; int3 */
	static const u8 code[] = { 0xf3, 0xaa, 0x48, 0x89, 0xd9, 0x48, 0x89, 0xf7, 0x48,
				   0xff, 0xc7, 0xc6, 0x06, 0x11, 0xf3, 0xa4, 0xcc };
	struct bt_cpu *cpu = f->cpu;

	cpu->st.gpr[CPU_RAX] = 0x77;
	cpu->st.gpr[CPU_RCX] = 2000; /* across a page end: DATA is one page, so 2000 < 4096 */
	cpu->st.gpr[CPU_RDI] = DATA;
	cpu->st.gpr[CPU_RBX] = 100;
	cpu->st.gpr[CPU_RSI] = DATA + 0x10;
	assert_int_equal(bt_flat_run(f, cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	/* Overlapping forward copy by one byte: the first byte spreads (not a memmove). */
	for (unsigned i = 0; i < 2000; i++)
		assert_int_equal(f->data[i], i >= 0x10 && i <= 0x10 + 100 ? 0x11 : 0x77);
	assert_int_equal(f->data[2000], 0);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 0);
	assert_int_equal(cpu->st.gpr[CPU_RSI], DATA + 0x10 + 100);
}

/*
 * Random bytes in 64-bit, 32-bit and real mode: whatever the guest code, the engine must end
 * with an exception, a HLT or the instruction limit, never a host fault (run this under ASan).
 */
static void test_random_bytes_are_contained(void **state)
{
	struct bt_flat *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u64 seed = 12345, counts[BT_EXIT_SHUTDOWN + 1] = { 0 };

	for (unsigned i = 0; i < 60000; i++) {
		u8 code[32];
		enum bt_exit why;

		for (unsigned k = 0; k < sizeof(code); k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			code[k] = (u8)(seed >> 56);
		}
		assert_int_equal(bt_mem_write(&f->mem, CODE + 0x800, code, sizeof(code)), 0);
		bt_cpu_set_flat64(cpu);
		if (i % 3 == 1) { /* 32-bit code segment */
			cpu->st.seg[CPU_CS].l = 0;
			cpu->st.seg[CPU_CS].db = 1;
			cpu->st.seg[CPU_SS].db = 1;
			bt_cpu_update_mode(cpu);
		} else if (i % 3 == 2) {
			bt_cpu_reset(cpu);
			bt_cpu_load_seg_real(cpu, CPU_CS, (u16)(CODE >> 4));
			bt_cpu_load_seg_real(cpu, CPU_DS, (u16)(DATA >> 4));
			bt_cpu_load_seg_real(cpu, CPU_SS, (u16)(DATA >> 4));
		}
		for (unsigned r = 0; r < CPU_NR_GPRS; r++)
			cpu->st.gpr[r] = (seed >> r) & (r % 2 ? 0xfff : ~0ull);
		cpu->st.gpr[CPU_RSP] = i % 3 == 2 ? 0x800 : DATA + 0x800;
		cpu->st.rip = i % 3 == 2 ? 0x800 : CODE + 0x800;
		why = bt_run(cpu, 200);
		/* Real mode delivers exceptions: a fault delivering one can end in a triple fault. */
		assert_true(why == BT_EXIT_LIMIT || why == BT_EXIT_HLT ||
			    why == BT_EXIT_EXCEPTION || why == BT_EXIT_SHUTDOWN);
		counts[why]++;
	}
	print_message("random code: %llu hit the limit, %llu halted, %llu ended in an exception\n",
		      (unsigned long long)counts[BT_EXIT_LIMIT],
		      (unsigned long long)counts[BT_EXIT_HLT],
		      (unsigned long long)counts[BT_EXIT_EXCEPTION]);
	assert_true(counts[BT_EXIT_EXCEPTION] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cache_translates_once, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_smc_inside_block, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_smc_from_other_cpu, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_dma_over_code, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_exceptions, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test(test_real_mode_int_iret),
		cmocka_unit_test_setup_teardown(test_cpuid_gates_tzcnt, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_sse2_default, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_rdtscp_follows_the_model, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_sse_fp_exceptions, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_kick, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_rep_fast_path, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_random_bytes_are_contained, bt_flat_setup,
						bt_flat_teardown),
	};

	return cmocka_run_group_tests_name("bt_core", tests, NULL, NULL);
}
