// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's softmmu alone (linked with libbt_mmu only: no decoder, no
 * block cache, no handlers). Two CPUs are built by hand over one guest RAM and a recorder
 * stands in for the translation layer (struct bt_inval_ops), so the tests see what the MMU and
 * guest memory report: TLB flushes (all, non-global), writes to pages marked as holding
 * translated code (from a CPU's store: the writer at once, the other CPU through its queue;
 * from bt_mem_write and from DMA: queued; the overflow of a queue). Also a 4-level walk with a
 * 2 MiB page, accessed and dirty flags, a #PF with its error code and CR2, and a global entry
 * surviving a CR3 load (SDM vol. 3A 4.5, 4.7, 4.8, 4.10).
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM_SIZE (4ull << 20)
#define PML4	 0x1000ull
#define PDPT	 0x2000ull
#define PD	 0x3000ull
#define PT	 0x4000ull
#define CODE_PG	 0x10000ull	/* a page the test marks as holding translated code */
#define LIN	 0x400000000ull /* linear base of the test mappings (PML4 index 0, PDPT 16) */

#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A  (1ull << 5)
#define D  (1ull << 6)
#define PS (1ull << 7)
#define G  (1ull << 8)

struct mmu_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu[2];
	u8 *ram;
	/* What the recorder saw, per CPU. */
	unsigned flushes[2], nonglobal[2], flush_all_code[2], written[2];
	u64 written_gpa[2];
};

static struct mmu_fixture *mmu_of(struct bt_cpu *cpu)
{
	return (struct mmu_fixture *)cpu->mem; /* mem is the first member */
}

static void rec_tlb_flushed(struct bt_cpu *cpu, bool nonglobal_only)
{
	struct mmu_fixture *f = mmu_of(cpu);

	if (nonglobal_only)
		f->nonglobal[cpu->index]++;
	else
		f->flushes[cpu->index]++;
}

static void rec_code_written(struct bt_cpu *cpu, u64 gpa)
{
	struct mmu_fixture *f = mmu_of(cpu);

	f->written[cpu->index]++;
	f->written_gpa[cpu->index] = gpa;
}

static void rec_code_flush(struct bt_cpu *cpu)
{
	mmu_of(cpu)->flush_all_code[cpu->index]++;
}

static const struct bt_inval_ops recorder = {
	.tlb_flushed = rec_tlb_flushed,
	.code_written = rec_code_written,
	.code_flush = rec_code_flush,
};

static void mmu_pte(struct mmu_fixture *f, u64 gpa, u64 v)
{
	memcpy(f->ram + gpa, &v, 8);
}

static u64 mmu_rd(struct mmu_fixture *f, u64 gpa)
{
	u64 v;

	memcpy(&v, f->ram + gpa, 8);
	return v;
}

/* 64-bit kernel mode with 4-level paging: LIN maps 4 KiB pages 0..511 of PT, LIN + 2 MiB a
 * 2 MiB page at 2 MiB. */
static void mmu_long_mode(struct bt_cpu *cpu)
{
	cpu->st.cr0 = BT_CR0_PE | BT_CR0_PG | BT_CR0_WP;
	cpu->st.cr4 = BT_CR4_PAE | BT_CR4_PGE;
	cpu->st.efer = BT_EFER_LME | BT_EFER_LMA | BT_EFER_NXE;
	cpu->st.cr3 = PML4;
	cpu->st.seg[CPU_CS].l = 1;
	cpu->mode = BT_MODE_LONG64; /* what bt_cpu_update_mode would derive */
	cpu->stack_size = 8;
}

static int mmu_setup(void **state)
{
	struct mmu_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = aligned_alloc(4096, RAM_SIZE);
	if (!f->ram)
		return -1;
	memset(f->ram, 0, RAM_SIZE);
	if (bt_mem_map(&f->mem, 0, RAM_SIZE, f->ram, false))
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		f->cpu[i] = aligned_alloc(64, sizeof(struct bt_cpu));
		if (!f->cpu[i])
			return -1;
		memset(f->cpu[i], 0, sizeof(struct bt_cpu));
		f->cpu[i]->index = i;
		f->cpu[i]->inval = &recorder;
		if (bt_mem_attach(&f->mem, f->cpu[i]))
			return -1;
		mmu_long_mode(f->cpu[i]);
		bt_tlb_flush(f->cpu[i]); /* an empty TLB is not all zeroes */
		f->cpu[i]->tlb_stats.nr_flushes = 0;
		f->flushes[i] = 0;
	}
	mmu_pte(f, PML4, PDPT | P | RW);
	mmu_pte(f, PDPT + 16 * 8, PD | P | RW);
	mmu_pte(f, PD, PT | P | RW);
	mmu_pte(f, PD + 8, 0x200000 | P | RW | PS);
	for (u64 i = 0; i < 512; i++)
		mmu_pte(f, PT + i * 8, (i << 12) | P | RW);
	*state = f;
	return 0;
}

static int mmu_teardown(void **state)
{
	struct mmu_fixture *f = *state;

	for (unsigned i = 0; i < 2; i++) {
		bt_mem_detach(&f->mem, f->cpu[i]);
		free(f->cpu[i]);
	}
	bt_mem_destroy(&f->mem);
	free(f->ram);
	free(f);
	return 0;
}

/* Run one access on cpu; returns the vector it raised, or -1. */
static int mmu_try_ld(struct bt_cpu *cpu, u64 lin, u64 *val)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->exc.vector;
	*val = bt_ld_slow(cpu, CPU_DS, lin, 8);
	return -1;
}

static int mmu_try_st(struct bt_cpu *cpu, u64 lin, u64 val)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->exc.vector;
	bt_st_slow(cpu, CPU_DS, lin, 8, val);
	return -1;
}

static void test_mmu_walk_and_flags(void **state)
{
	struct mmu_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu[0];
	u64 v = 0;

	memcpy(f->ram + 0x5008, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(mmu_try_ld(cpu, LIN + 0x5008, &v), -1);
	assert_int_equal(v, 0x0807060504030201ull);
	assert_true(mmu_rd(f, PT + 5 * 8) & A);
	assert_false(mmu_rd(f, PT + 5 * 8) & D);
	assert_int_equal(mmu_try_st(cpu, LIN + 0x5010, 0x1122334455667788ull), -1);
	assert_true(mmu_rd(f, PT + 5 * 8) & D);
	assert_int_equal(mmu_rd(f, 0x5010), 0x1122334455667788ull);

	/* The 2 MiB page: LIN + 2 MiB + 0x1234 is physical 2 MiB + 0x1234. */
	assert_int_equal(mmu_try_st(cpu, LIN + 0x201234, 42), -1);
	assert_int_equal(mmu_rd(f, 0x201234), 42);
	assert_true(mmu_rd(f, PD + 8) & (A | D));

	/* Not present: #PF, error code 0 (supervisor read of a non-present page), CR2. */
	mmu_pte(f, PT + 7 * 8, 0);
	assert_int_equal(mmu_try_ld(cpu, LIN + 0x7000, &v), BT_EXC_PF);
	assert_int_equal(cpu->exc.error, 0);
	assert_int_equal(cpu->st.cr2, LIN + 0x7000);
	/* Read-only with CR0.WP: a write is a protection fault (P | W). */
	mmu_pte(f, PT + 8 * 8, 0x8000 | P);
	assert_int_equal(mmu_try_st(cpu, LIN + 0x8000, 1), BT_EXC_PF);
	assert_int_equal(cpu->exc.error, BT_PF_P | BT_PF_W);
}

static void test_mmu_reports_tlb_flushes(void **state)
{
	struct mmu_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu[0];
	u64 v;

	bt_tlb_flush(cpu);
	assert_int_equal(f->flushes[0], 1);
	bt_tlb_flush_nonglobal(cpu);
	assert_int_equal(f->nonglobal[0], 1);
	bt_tlb_flush_page(cpu, LIN);
	assert_int_equal(f->flushes[0], 2); /* one page, but what was derived goes whole */
	assert_int_equal(f->flushes[1] + f->nonglobal[1], 0); /* the other CPU's TLB is its own */
	assert_int_equal(cpu->tlb_stats.nr_flushes, 1);
	assert_int_equal(cpu->tlb_stats.nr_cr3, 1);
	assert_int_equal(cpu->tlb_stats.nr_invlpg, 1);

	/* A global entry survives a CR3 load, a non-global one does not (SDM vol. 3A 4.10.2.4). */
	mmu_pte(f, PT + 9 * 8, 0x9000 | P | RW | G);
	memcpy(f->ram + 0x9000, "globalpg", 8);
	memcpy(f->ram + 0xa000, "plainpag", 8);
	assert_int_equal(mmu_try_ld(cpu, LIN + 0x9000, &v), -1);
	assert_int_equal(mmu_try_ld(cpu, LIN + 0xa000, &v), -1);
	mmu_pte(f, PT + 9 * 8, 0xb000 | P | RW | G); /* remapped without INVLPG */
	mmu_pte(f, PT + 10 * 8, 0xb000 | P | RW);
	memcpy(f->ram + 0xb000, "newpage!", 8);
	bt_tlb_flush_nonglobal(cpu);
	assert_int_equal(mmu_try_ld(cpu, LIN + 0x9000, &v), -1);
	assert_memory_equal(&v, "globalpg", 8); /* stale translation kept */
	assert_int_equal(mmu_try_ld(cpu, LIN + 0xa000, &v), -1);
	assert_memory_equal(&v, "newpage!", 8); /* walked again */
}

static void test_mmu_reports_code_writes(void **state)
{
	struct mmu_fixture *f = *state;
	u64 v;

	/* Both CPUs translated code from CODE_PG (what the block cache does). */
	assert_int_equal(mmu_try_ld(f->cpu[0], LIN + CODE_PG, &v), -1);
	assert_int_equal(mmu_try_ld(f->cpu[1], LIN + CODE_PG, &v), -1);
	bt_mem_mark_code(&f->mem, f->cpu[0], CODE_PG);
	bt_mem_mark_code(&f->mem, f->cpu[1], CODE_PG);
	/*
	 * A store from CPU 0 through the TLB entry it had: the write tag was dropped. CPU 0 drops
	 * its code at once; CPU 1 gets the page queued (and a poke) and drops it when it drains.
	 */
	assert_int_equal(mmu_try_st(f->cpu[0], LIN + CODE_PG + 0x40, 0x90909090), -1);
	assert_int_equal(f->written[0], 1);
	assert_int_equal(f->written_gpa[0], CODE_PG);
	assert_int_equal(f->written[1], 0);
	assert_true(f->cpu[1]->inval_pending);
	assert_true(f->cpu[1]->exit_request & BT_KICK_INVAL);
	bt_mem_inval_apply(f->cpu[1]);
	assert_int_equal(f->written[1], 1);
	assert_int_equal(f->written_gpa[1], CODE_PG);
	assert_false(f->cpu[1]->inval_pending);
	assert_int_equal(mmu_rd(f, CODE_PG + 0x40), 0x90909090);
	/* The mark is gone: a second store reports nothing. */
	assert_int_equal(mmu_try_st(f->cpu[1], LIN + CODE_PG + 0x48, 1), -1);
	bt_mem_inval_apply(f->cpu[0]);
	assert_int_equal(f->written[0] + f->written[1], 2);
	/* Only the CPUs that translated from a page hear of it. */
	bt_mem_mark_code(&f->mem, f->cpu[1], CODE_PG);
	assert_int_equal(mmu_try_st(f->cpu[0], LIN + CODE_PG + 0x48, 2), -1);
	assert_false(f->cpu[0]->inval_pending);
	bt_mem_inval_apply(f->cpu[1]);
	assert_int_equal(f->written[0], 1);
	assert_int_equal(f->written[1], 2);

	/* Loader writes (bt_mem_write, no CPU) queue a marked page, and only a marked one. */
	bt_mem_mark_code(&f->mem, f->cpu[0], CODE_PG);
	assert_int_equal(bt_mem_write(&f->mem, CODE_PG + 0xff0, "0123456789abcdefXY", 18), 0);
	bt_mem_inval_apply(f->cpu[0]);
	assert_int_equal(f->written[0], 2);
	assert_int_equal(bt_mem_write(&f->mem, CODE_PG, "x", 1), 0);
	bt_mem_inval_apply(f->cpu[0]);
	assert_int_equal(f->written[0], 2);
	assert_int_equal(bt_mem_write(&f->mem, RAM_SIZE - 1, "ab", 2), -EFAULT);

	/* DMA: queued, reported when drained; more pages than the queue: everything is dropped. */
	bt_mem_mark_code(&f->mem, f->cpu[0], CODE_PG);
	bt_mem_dma_written(&f->mem, CODE_PG, 4096);
	assert_int_equal(f->written[0], 2);
	bt_mem_inval_apply(f->cpu[0]);
	assert_int_equal(f->written[0], 3);
	for (u64 p = 0; p < 100; p++) {
		bt_mem_mark_code(&f->mem, f->cpu[0], 0x100000 + p * 4096);
		bt_mem_mark_code(&f->mem, f->cpu[1], 0x100000 + p * 4096);
	}
	bt_mem_dma_written(&f->mem, 0x100000, 100 * 4096);
	bt_mem_inval_apply(f->cpu[0]);
	bt_mem_inval_apply(f->cpu[1]);
	assert_int_equal(f->flush_all_code[0], 1);
	assert_int_equal(f->flush_all_code[1], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmu_walk_and_flags, mmu_setup, mmu_teardown),
		cmocka_unit_test_setup_teardown(test_mmu_reports_tlb_flushes, mmu_setup,
						mmu_teardown),
		cmocka_unit_test_setup_teardown(test_mmu_reports_code_writes, mmu_setup,
						mmu_teardown),
	};

	return cmocka_run_group_tests_name("bt_mmu", tests, NULL, NULL);
}
