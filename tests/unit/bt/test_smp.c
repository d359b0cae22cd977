// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's CPUs in parallel (smp.c, ops/lock.c): four CPUs, each on its
 * own thread, over one guest memory. A stress loop of LOCK INC, LOCK XADD, a LOCK CMPXCHG
 * retry loop, an XCHG spinlock guarding a plain INC, LOCK BTS/BTR of each CPU's own bit in one
 * shared word, and a LOCK ADD across two pages (an exclusive section) must lose no update, with
 * every CPU interpreting, every CPU in the JIT, and half of each. Cross-modifying code: a CPU
 * spinning in a loop (compiled, in the JIT runs) sees another CPU's store into that loop's code.
 * A RAM-like region moving while another CPU runs (bt_mem_change from a machine call): the mover
 * sees the new mapping right after its OUT, and the other CPU, which keeps reading and storing
 * through the region, never sees the old mapping once a move is known complete, while a third
 * thread harvests the region's dirty log and reports DMA; the verdicts of queued changes.
 */
#include "bt-fallback/bt.h"
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

/* ------------------------------------------------------ a region moving */

#define MOVE_A	    0x100000ull /* the window's two places */
#define MOVE_B	    0x200000ull
#define MOVE_MARK   0x5aa5c33cu /* the window's first dword */
#define MOVE_REG    0x300000ull /* a BAR register: a store moves the window there */
#define MOVE_VERD   0x301000ull /* a store runs the verdict checks */
#define MOVE_WORKER 0x3b	/* the worker's entry in move_code */
#define MOVE_ITERS  20000

/*
 * DATA: +0 seq (odd while a move is under way), +8 the old place, +16 the new, +24 the worker's
 * iterations, +32 the mover is done, +40 the worker has started.
 * mover (rbx = the window, rcx = the other place, rdi = moves, r11 = MOVE_REG):
 *       1: cmp dword [rsi+40], 0; je 1b
 *       2: inc dword [rsi]; xchg rbx, rcx; mov eax, ebx; mov [r11], eax; nop; nop
 *          mov eax, [rbx]; cmp eax, MARK; jne 9f      (the new place is RAM at once)
 *          mov eax, [rcx]; cmp eax, -1; jne 9f        (the old one is MMIO at once)
 *          mov [rsi+8], rcx; mov [rsi+16], rbx; inc dword [rsi]; dec rdi; jnz 2b
 *          mov dword [rsi+32], 1; int3
 *       9: ud2
 * worker (r10 counts the checked rounds):
 *          mov dword [rsi+40], 1
 *       2: mov eax, [rsi]; test eax, 1; jnz 3f
 *          mov rcx, [rsi+8]; mov rbx, [rsi+16]; mov r8d, [rcx]; mov r9d, [rbx]
 *          add dword [rbx+64], 1; mov edx, [rsi]; cmp eax, edx; jne 3f  (a move meanwhile)
 *          cmp r8d, -1; jne 8f; cmp r9d, MARK; jne 8f; inc r10
 *       3: inc qword [rsi+24]; cmp dword [rsi+32], 0; je 2b
 *          test r10, r10; jz 2b; int3          (at least one checked round)
 *       8: ud2
 */
static const u8 move_code[] = {
	0x83, 0x7e, 0x28, 0x00, 0x74, 0xfa, 0xff, 0x06, 0x48, 0x87, 0xcb, 0x89, 0xd8, 0x41, 0x89,
	0x03, 0x90, 0x90, 0x8b, 0x03, 0x3d, 0x3c, 0xc3, 0xa5, 0x5a, 0x75, 0x1e, 0x8b, 0x01, 0x83,
	0xf8, 0xff, 0x75, 0x17, 0x48, 0x89, 0x4e, 0x08, 0x48, 0x89, 0x5e, 0x10, 0xff, 0x06, 0x48,
	0xff, 0xcf, 0x75, 0xd5, 0xc7, 0x46, 0x20, 0x01, 0x00, 0x00, 0x00, 0xcc, 0x0f, 0x0b, 0xc7,
	0x46, 0x28, 0x01, 0x00, 0x00, 0x00, 0x8b, 0x06, 0xa9, 0x01, 0x00, 0x00, 0x00, 0x75, 0x2a,
	0x48, 0x8b, 0x4e, 0x08, 0x48, 0x8b, 0x5e, 0x10, 0x44, 0x8b, 0x01, 0x44, 0x8b, 0x0b, 0x83,
	0x43, 0x40, 0x01, 0x8b, 0x16, 0x39, 0xd0, 0x75, 0x12, 0x41, 0x83, 0xf8, 0xff, 0x75, 0x1c,
	0x41, 0x81, 0xf9, 0x3c, 0xc3, 0xa5, 0x5a, 0x75, 0x13, 0x49, 0xff, 0xc2, 0x48, 0xff, 0x46,
	0x18, 0x83, 0x7e, 0x20, 0x00, 0x74, 0xc3, 0x4d, 0x85, 0xd2, 0x74, 0xbe, 0xcc, 0x0f, 0x0b,
};

/* mov [r12], eax (r12 = MOVE_VERD); mov eax, [rbx]; int3 */
static const u8 verdict_code[] = { 0x41, 0x89, 0x04, 0x24, 0x8b, 0x03, 0xcc };

struct move_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu[2];
	u8 *code, *data, *win;
	u64 at;		  /* where the window is */
	unsigned nr_bad;  /* verdicts that were not the expected ones */
	unsigned nr_mmio; /* accesses that reached the mmio callback */
	int verdicts[6];
};

/* The window's device: a BAR register; a store to it moves the window (under the device lock). */
static void move_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct move_fixture *f = opaque;
	u32 v = 0;

	(void)cpu;
	__atomic_fetch_add(&f->nr_mmio, 1, __ATOMIC_RELAXED);
	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	memcpy(&v, data, MIN(size, sizeof(v)));
	if (gpa == MOVE_REG) {
		if (bt_mem_unmap(&f->mem, f->at) ||
		    bt_mem_change(&f->mem, v, 4096, f->win, BT_MEM_LOG_DIRTY))
			f->nr_bad++;
		f->at = v;
	} else if (gpa == MOVE_VERD) {
		/* Each verdict at once, against the table with the queued changes made. */
		f->verdicts[0] = bt_mem_change(&f->mem, MOVE_B, 4096, f->win, 0);
		f->verdicts[1] = bt_mem_change(&f->mem, MOVE_B - 4096, 8192, f->win, 0);
		f->verdicts[2] = bt_mem_unmap(&f->mem, MOVE_B); /* cancels the queued map */
		f->verdicts[3] = bt_mem_unmap(&f->mem, MOVE_B);
		f->verdicts[4] = bt_mem_unmap(&f->mem, MOVE_A);
		f->verdicts[5] = bt_mem_change(&f->mem, MOVE_B, 4096, f->win, 0);
	}
}

static int move_setup(void **state)
{
	struct move_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->code = aligned_alloc(4096, 4096);
	f->data = aligned_alloc(4096, 8192);
	f->win = aligned_alloc(4096, 4096);
	if (!f->code || !f->data || !f->win)
		return -1;
	memset(f->code, 0xcc, 4096);
	memset(f->data, 0, 8192);
	memset(f->win, 0, 4096);
	memcpy(f->win, &(u32){ MOVE_MARK }, 4);
	f->mem.io_opaque = f;
	f->mem.mmio = move_mmio;
	f->at = MOVE_A;
	if (bt_mem_map(&f->mem, CODE, 4096, f->code, false) ||
	    bt_mem_map(&f->mem, DATA, 8192, f->data, false) ||
	    bt_mem_change(&f->mem, MOVE_A, 4096, f->win, BT_MEM_LOG_DIRTY))
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		struct bt_cpu_config cfg =
			bt_test_config((struct bt_cpu_config){ .mem = &f->mem, .index = i });

		if (bt_cpu_create(&cfg, &f->cpu[i], NULL))
			return -1;
		bt_cpu_set_flat64(f->cpu[i]);
		f->cpu[i]->st.gpr[CPU_RSI] = DATA;
		f->cpu[i]->st.gpr[CPU_RSP] = DATA + 8192 - 256 * i;
	}
	*state = f;
	return 0;
}

static int move_teardown(void **state)
{
	struct move_fixture *f = *state;

	for (unsigned i = 0; i < 2; i++)
		bt_cpu_destroy(f->cpu[i]);
	bt_mem_destroy(&f->mem);
	free(f->code);
	free(f->data);
	free(f->win);
	free(f);
	return 0;
}

static void *move_mover(void *p)
{
	struct smp_arg *a = p;
	struct move_fixture *f = (struct move_fixture *)a->cpu->mem;

	smp_thread(a);
	__atomic_store_n((u32 *)(f->data + 32), 1, __ATOMIC_RELEASE); /* the worker stops too */
	return NULL;
}

static bool move_done(const struct move_fixture *f)
{
	return __atomic_load_n((const u32 *)(f->data + 32), __ATOMIC_ACQUIRE) != 0;
}

static void test_smp_region_moves(void **state)
{
	struct move_fixture *f = *state;
	struct smp_arg mover = { .cpu = f->cpu[0] }, worker = { .cpu = f->cpu[1] };
	unsigned long log[1];
	unsigned harvests = 0;
	pthread_t t[2];
	u32 added;

	memcpy(f->code, move_code, sizeof(move_code));
	memcpy(f->data + 8, &(u64){ MOVE_B }, 8); /* the old place: not mapped */
	memcpy(f->data + 16, &(u64){ MOVE_A }, 8);
	f->cpu[0]->st.rip = CODE;
	f->cpu[0]->st.gpr[CPU_RBX] = MOVE_A;
	f->cpu[0]->st.gpr[CPU_RCX] = MOVE_B;
	f->cpu[0]->st.gpr[CPU_RDI] = MOVE_ITERS;
	f->cpu[0]->st.gpr[CPU_R11] = MOVE_REG;
	f->cpu[1]->st.rip = CODE + MOVE_WORKER;
	assert_int_equal(pthread_create(&t[0], NULL, move_mover, &mover), 0);
	assert_int_equal(pthread_create(&t[1], NULL, smp_thread, &worker), 0);
	/* Outside bt_run: the display's dirty log and device DMA, while the window moves. */
	while (!move_done(f)) {
		int ret = bt_mem_dirty_log(&f->mem, harvests & 1 ? MOVE_B : MOVE_A, 4096, log);

		assert_true(ret == 0 || ret == -ENOENT);
		bt_mem_dma_written(&f->mem, DATA, 8192); /* the table walked under map_lock */
		harvests++;
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(mover.why, BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu[0]->exc.vector, BT_EXC_BP); /* #UD: a stale mapping */
	assert_int_equal(worker.why, BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu[1]->exc.vector, BT_EXC_BP);
	assert_int_equal(f->nr_bad, 0);
	assert_int_equal(f->cpu[0]->st.gpr[CPU_RDI], 0);
	/* Every round the worker checked stored into the window (RAM, not the mmio callback). */
	memcpy(&added, f->win + 64, 4);
	assert_true(f->cpu[1]->st.gpr[CPU_R10] >= 1);
	assert_true(added >= f->cpu[1]->st.gpr[CPU_R10]);
	/* At rest, the window is where the mover left it, logged. */
	assert_int_equal(bt_mem_dirty_log(&f->mem, f->at, 4096, log), 0);
	assert_int_equal(bt_mem_dirty_log(&f->mem, f->at ^ (MOVE_A ^ MOVE_B), 4096, log), -ENOENT);
}

/* Queued changes get their verdict at once, against the table as it will be. */
static void test_smp_region_verdicts(void **state)
{
	struct move_fixture *f = *state;
	struct smp_arg a = { .cpu = f->cpu[0] };

	memcpy(f->code, verdict_code, sizeof(verdict_code));
	f->cpu[0]->st.rip = CODE;
	f->cpu[0]->st.gpr[CPU_RBX] = MOVE_B;
	f->cpu[0]->st.gpr[CPU_R12] = MOVE_VERD;
	smp_thread(&a);
	assert_int_equal(f->cpu[0]->exc.vector, BT_EXC_BP);
	assert_int_equal(f->verdicts[0], 0);
	assert_int_equal(f->verdicts[1], -EEXIST); /* the queued map at B is there already */
	assert_int_equal(f->verdicts[2], 0);
	assert_int_equal(f->verdicts[3], -ENOENT);
	assert_int_equal(f->verdicts[4], 0);
	assert_int_equal(f->verdicts[5], 0);
	/* Made before the next instruction: B is RAM (the mark), A is gone. */
	assert_int_equal((u32)f->cpu[0]->st.gpr[CPU_RAX], MOVE_MARK);
	assert_int_equal(f->mem.nr_changes, 0);
	assert_null(bt_mem_region(&f->mem, MOVE_A));
	assert_non_null(bt_mem_region(&f->mem, MOVE_B));
	assert_int_equal(bt_mem_dirty_log(&f->mem, MOVE_B, 4096, (unsigned long[1]){ 0 }), -EINVAL);
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
		cmocka_unit_test_setup_teardown(test_smp_region_moves, move_setup, move_teardown),
		cmocka_unit_test_setup_teardown(test_smp_region_verdicts, move_setup,
						move_teardown),
	};

	return cmocka_run_group_tests_name("bt_smp", tests, NULL, NULL);
}
