// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's CPUs in parallel (smp.c, ops/lock.c): four CPUs, each on its
 * own thread, over one guest memory. A stress loop of LOCK INC, LOCK XADD, a LOCK CMPXCHG
 * retry loop, an XCHG spinlock guarding a plain INC, LOCK BTS/BTR of each CPU's own bit in one
 * shared word, and a LOCK ADD across two pages (an exclusive section) must lose no update, with
 * every CPU interpreting, every CPU in the JIT, and half of each. Cross-modifying code: a CPU
 * spinning in a loop (compiled, in the JIT runs) sees another CPU's store into that loop's code.
 */
#include "bt-fallback/bt.h"
#include "bt_test_mode.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define CODE	 0x10000ull
#define DATA	 0x20000ull
#define NR_CPUS	 4
#define SMC_OFF	 0x5d /* the spinning loop in the code below */
#define POKE_OFF 0x67 /* mov dword [rbx], 1; int3 */

/*
 * loop: lock inc qword [rsi]; mov eax, 1; lock xadd [rsi+8], rax;
 *       mov rax, [rsi+16]; 1: lea rcx, [rax+1]; lock cmpxchg [rsi+16], rcx; jnz 1b;
 *       2: mov eax, 1; xchg [rsi+24], eax; test eax, eax; jz 3f; pause; jmp 2b;
 *       3: inc qword [rsi+32]; mov dword [rsi+24], 0;
 *       lock bts [rsi+40], r8; lock btr [rsi+40], r8;
 *       test edi, 63; jnz 4f; lock add qword [rsi+4092], 1; 4: dec rdi; jnz loop; int3
 * smc:  mov eax, 0; test eax, eax; jz smc; int3
 * poke: mov dword [rbx], 1; int3
 */
static const u8 smp_code[] = {
	0xf0, 0x48, 0xff, 0x06, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf0, 0x48, 0x0f, 0xc1, 0x46,
	0x08, 0x48, 0x8b, 0x46, 0x10, 0x48, 0x8d, 0x48, 0x01, 0xf0, 0x48, 0x0f, 0xb1, 0x4e,
	0x10, 0x75, 0xf4, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x87, 0x46, 0x18, 0x85, 0xc0, 0x74,
	0x04, 0xf3, 0x90, 0xeb, 0xf0, 0x48, 0xff, 0x46, 0x20, 0xc7, 0x46, 0x18, 0x00, 0x00,
	0x00, 0x00, 0xf0, 0x4c, 0x0f, 0xab, 0x46, 0x28, 0xf0, 0x4c, 0x0f, 0xb3, 0x46, 0x28,
	0xf7, 0xc7, 0x3f, 0x00, 0x00, 0x00, 0x75, 0x09, 0xf0, 0x48, 0x83, 0x86, 0xfc, 0x0f,
	0x00, 0x00, 0x01, 0x48, 0xff, 0xcf, 0x75, 0xa4, 0xcc, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x85, 0xc0, 0x74, 0xf7, 0xcc, 0xc7, 0x03, 0x01, 0x00, 0x00, 0x00, 0xcc,
};

struct smp_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu[NR_CPUS];
	u8 *code, *data;
};

/* jit: a mask of the CPUs that get the JIT (threshold 1); BT_TEST_JIT=1 gives it to all. */
static int smp_setup_mask(void **state, unsigned jit)
{
	struct smp_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->code = aligned_alloc(4096, 4096);
	f->data = aligned_alloc(4096, 8192);
	if (!f->code || !f->data)
		return -1;
	memset(f->code, 0xcc, 4096);
	memcpy(f->code, smp_code, sizeof(smp_code));
	memset(f->data, 0, 8192);
	f->mem.fault_unmapped = true;
	if (bt_mem_map(&f->mem, CODE, 4096, f->code, false) ||
	    bt_mem_map(&f->mem, DATA, 8192, f->data, false))
		return -1;
	for (unsigned i = 0; i < NR_CPUS; i++) {
		struct bt_cpu_config cfg =
			bt_test_config((struct bt_cpu_config){ .mem = &f->mem, .index = i });

		if ((jit >> i) & 1) {
			cfg.jit = true;
			cfg.jit_threshold = 1;
		}
		if (bt_cpu_create(&cfg, &f->cpu[i], NULL))
			return -1;
		bt_cpu_set_flat64(f->cpu[i]);
	}
	*state = f;
	return 0;
}

static int smp_setup(void **state)
{
	return smp_setup_mask(state, 0);
}

static int smp_setup_mixed(void **state)
{
	return smp_setup_mask(state, 0x5); /* CPUs 0 and 2 compile, 1 and 3 interpret */
}

static int smp_teardown(void **state)
{
	struct smp_fixture *f = *state;

	for (unsigned i = 0; i < NR_CPUS; i++)
		bt_cpu_destroy(f->cpu[i]);
	bt_mem_destroy(&f->mem);
	free(f->code);
	free(f->data);
	free(f);
	return 0;
}

struct smp_arg {
	struct bt_cpu *cpu;
	enum bt_exit why;
};

/* Run until the CPU leaves bt_run for another reason than its slice (#BP ends the loops). */
static void *smp_thread(void *p)
{
	struct smp_arg *a = p;

	do
		a->why = bt_run(a->cpu, 100000);
	while (a->why == BT_EXIT_LIMIT);
	return NULL;
}

static u64 smp_rd(const struct smp_fixture *f, unsigned off)
{
	u64 v;

	memcpy(&v, f->data + off, 8);
	return v;
}

static void smp_stress(struct smp_fixture *f, u64 iters)
{
	struct smp_arg args[NR_CPUS];
	pthread_t t[NR_CPUS];

	for (unsigned i = 0; i < NR_CPUS; i++) {
		struct bt_cpu *cpu = f->cpu[i];

		cpu->st.rip = CODE;
		cpu->st.gpr[CPU_RDI] = iters;
		cpu->st.gpr[CPU_RSI] = DATA;
		cpu->st.gpr[CPU_R8] = i; /* its own bit for BTS/BTR */
		cpu->st.gpr[CPU_RSP] = DATA + 4096 + 2048 + 256 * i;
		args[i] = (struct smp_arg){ .cpu = cpu };
		assert_int_equal(pthread_create(&t[i], NULL, smp_thread, &args[i]), 0);
	}
	for (unsigned i = 0; i < NR_CPUS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].why, BT_EXIT_EXCEPTION);
		assert_int_equal(f->cpu[i]->exc.vector, BT_EXC_BP);
	}
	assert_int_equal(smp_rd(f, 0), NR_CPUS * iters);  /* LOCK INC */
	assert_int_equal(smp_rd(f, 8), NR_CPUS * iters);  /* LOCK XADD */
	assert_int_equal(smp_rd(f, 16), NR_CPUS * iters); /* LOCK CMPXCHG loop */
	assert_int_equal(smp_rd(f, 32), NR_CPUS * iters); /* INC under an XCHG spinlock */
	assert_int_equal(smp_rd(f, 24), 0);		  /* the lock is free */
	assert_int_equal(smp_rd(f, 40), 0);		  /* every bit set and cleared again */
	assert_int_equal(smp_rd(f, 4092), NR_CPUS * (iters / 64)); /* across two pages */
}

static void test_smp_lock_counters(void **state)
{
	smp_stress(*state, 200000);
}

/* CPU 0 spins in a loop until CPU 1 stores into the loop's own code. */
static void test_smp_cross_modifying_code(void **state)
{
	struct smp_fixture *f = *state;
	struct smp_arg spin = { .cpu = f->cpu[0] }, poke = { .cpu = f->cpu[1] };
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	pthread_t t;

	f->cpu[0]->st.rip = CODE + SMC_OFF;
	assert_int_equal(pthread_create(&t, NULL, smp_thread, &spin), 0);
	nanosleep(&ts, NULL); /* it runs (and compiles) the loop meanwhile */
	f->cpu[1]->st.rip = CODE + POKE_OFF;
	f->cpu[1]->st.gpr[CPU_RBX] = CODE + SMC_OFF + 1; /* the imm32 of mov eax, 0 */
	smp_thread(&poke);
	assert_int_equal(poke.why, BT_EXIT_EXCEPTION);
	pthread_join(t, NULL);
	assert_int_equal(spin.why, BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu[0]->exc.vector, BT_EXC_BP);
	assert_int_equal(f->cpu[0]->st.gpr[CPU_RAX], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_smp_lock_counters, smp_setup, smp_teardown),
		cmocka_unit_test_setup_teardown(test_smp_lock_counters, smp_setup_mixed,
						smp_teardown),
		cmocka_unit_test_setup_teardown(test_smp_cross_modifying_code, smp_setup,
						smp_teardown),
		cmocka_unit_test_setup_teardown(test_smp_cross_modifying_code, smp_setup_mixed,
						smp_teardown),
	};

	return cmocka_run_group_tests_name("bt_smp", tests, NULL, NULL);
}
