// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's x87 FPU (SDM vol. 1 chapter 8): FNSAVE and
 * FNSTENV images compared with the ones the host CPU writes for the same
 * instructions (FIP/FDP/FOP excluded: not modelled), FRSTOR/FLDENV back,
 * stack overflow (IE|SF, C1 = 1, the indefinite), an unmasked exception
 * leaving the destination and TOP alone and raising #MF on the next waiting
 * instruction only (CR0.NE), #NM with CR0.TS, CPUID.1:EDX.FPU and MMX, MMX
 * register aliasing and EMMS, FXSAVE of the x87 state against the host's.
 */
#include "bt_flat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CODE BT_FLAT_CODE
#define DATA BT_FLAT_DATA

/* fninit; fld1; fldpi; fldz; fchs; fincstp; then FNSAVE or FNSTENV at [rdi]. */
#define X87_PROLOGUE 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xd9, 0xee, 0xd9, 0xe0, 0xd9, 0xf7

static void x87_host_image(u8 *img, bool save)
{
	if (save)
		__asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfldz\n\tfchs\n\tfincstp\n\t"
				 "fnsave %0\n\tfninit"
				 : "=m"(*(u8(*)[108])img));
	else
		__asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfldz\n\tfchs\n\tfincstp\n\t"
				 "fnstenv %0\n\tfninit"
				 : "=m"(*(u8(*)[28])img));
}

/* The images agree with the host's outside FIP, FCS/FOP, FDP and FDS (bytes 12-27). */
static void x87_check_image(const u8 *engine, const u8 *host, unsigned len)
{
	assert_memory_equal(engine, host, 12);
	if (len > 28)
		assert_memory_equal(engine + 28, host + 28, len - 28);
}

static void test_fnsave_fnstenv_match_host(void **state)
{
	struct bt_flat *f = *state;
	static const u8 save[] = { X87_PROLOGUE, 0xdd, 0x37, 0xcc }; /* fnsave [rdi] */
	static const u8 env[] = { X87_PROLOGUE, 0xd9, 0x37, 0xcc };  /* fnstenv [rdi] */
	u8 host[108];

	f->cpu->st.gpr[CPU_RDI] = DATA;
	assert_int_equal(bt_flat_run(f, f->cpu, save, sizeof(save)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	x87_host_image(host, true);
	x87_check_image(f->data, host, 108);
	/* FNSAVE reinitialises the FPU. */
	assert_int_equal(f->cpu->st.fx.fcw, 0x37f);
	assert_int_equal(f->cpu->st.fx.fsw, 0);
	assert_int_equal(f->cpu->st.fx.ftw, 0);

	memset(f->data, 0, 4096);
	assert_int_equal(bt_flat_run(f, f->cpu, env, sizeof(env)), BT_EXIT_EXCEPTION);
	x87_host_image(host, false);
	x87_check_image(f->data, host, 28);
	assert_int_equal(f->cpu->st.fx.fcw, 0x37f | 0x3f); /* FNSTENV masks everything */
}

static void test_frstor_fldenv_round_trip(void **state)
{
	struct bt_flat *f = *state;
	/* ... fnsave [rdi]; frstor [rdi]; fstp tword [rdi+200]; int3 */
	static const u8 code[] = { X87_PROLOGUE, 0xdd, 0x37, 0xdd, 0x27, 0xdb,
				   0xbf,	 0xc8, 0x00, 0x00, 0x00, 0xcc };
	u8 pi[10];

	__asm__ volatile("fldpi\n\tfstpt %0" : "=m"(pi));
	f->cpu->st.gpr[CPU_RDI] = DATA;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	/* The stack was 1, pi, -0 with TOP = 5; FINCSTP made TOP 6 so ST0 = pi after FRSTOR;
	 * FSTP stored it and popped. */
	assert_memory_equal(f->data + 200, pi, 10);
	assert_int_equal((f->cpu->st.fx.fsw >> 11) & 7, 7);
	assert_int_equal(f->cpu->st.fx.ftw, 0xa0); /* physical 7 (1.0) and 5 (-0) still valid */
}

static void test_stack_overflow(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9,
				   0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xee, 0xcc };
	static const u8 indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };

	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	/* The ninth push overflowed: IE, SF, C1 = 1, the indefinite replaces the value. */
	assert_int_equal(f->cpu->st.fx.fsw & 0x2c7, 0x241);
	assert_memory_equal(f->cpu->st.fx.st[0], indef, 10);
	assert_int_equal(f->cpu->st.fx.ftw, 0xff);
}

static void test_unmasked_exception_is_mf(void **state)
{
	struct bt_flat *f = *state;
	/* fninit; fldcw [rdi] (ZE unmasked); fld1; fldz; fdivp st1, st0; nop; fwait; int3 */
	static const u8 code[] = { 0xdb, 0xe3, 0xd9, 0x2f, 0xd9, 0xe8, 0xd9,
				   0xee, 0xde, 0xf9, 0x90, 0x9b, 0xcc };
	u16 cw = 0x37b;

	memcpy(f->data, &cw, 2);
	f->cpu->st.gpr[CPU_RDI] = DATA;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_MF);
	assert_int_equal(f->cpu->st.rip, CODE + 11);	      /* the FWAIT, not the FDIVP */
	assert_int_equal(f->cpu->st.fx.fsw & 0x80ff, 0x8084); /* B, ES, ZE */
	assert_int_equal((f->cpu->st.fx.fsw >> 11) & 7, 6);   /* not popped */
	assert_int_equal(f->cpu->st.fx.ftw, 0xc0);

	/* FNCLEX (not a waiting instruction) clears it and execution goes on. */
	{
		static const u8 clex[] = { 0xdb, 0xe2, 0x9b, 0xd9, 0xe8, 0xcc };

		assert_int_equal(bt_flat_run(f, f->cpu, clex, sizeof(clex)), BT_EXIT_EXCEPTION);
		assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
		assert_int_equal(f->cpu->st.fx.fsw & 0x80ff, 0);
	}
}

static void test_ts_is_nm_and_cpuid(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0xd9, 0xe8, 0xcc };
	u32 r[4];

	f->cpu->st.cr0 |= 8; /* TS */
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_NM);
	assert_int_equal(f->cpu->st.rip, CODE);
	f->cpu->st.cr0 &= ~8ull;
	bt_cpuid(f->cpu, 1, 0, r);
	assert_true(r[3] & 1);		/* FPU */
	assert_true(r[3] & (1u << 23)); /* MMX */
}

/* MMX aliasing: MMn is physical register n's mantissa, TOP 0, tags valid; EMMS empties. */
static void test_mmx_aliasing(void **state)
{
	struct bt_flat *f = *state;
	/* fninit; fld1; fldz; movq mm3, [rdi]; paddb mm3, mm3; movq [rdi+8], mm7; int3 */
	static const u8 code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0x0f, 0x6f, 0x1f,
				   0x0f, 0xfc, 0xdb, 0x0f, 0x7f, 0x7f, 0x08, 0xcc };
	static const u8 emms[] = { 0x0f, 0x77, 0xcc };
	u64 v = 0x0102030405060708ull, out;

	memcpy(f->data, &v, 8);
	f->cpu->st.gpr[CPU_RDI] = DATA;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	assert_int_equal((f->cpu->st.fx.fsw >> 11) & 7, 0);
	assert_int_equal(f->cpu->st.fx.ftw, 0xff);
	memcpy(&out, f->cpu->st.fx.st[3], 8);
	assert_int_equal(out, 0x020406080a0c0e10ull);
	assert_int_equal(f->cpu->st.fx.st[3][8], 0xff);
	assert_int_equal(f->cpu->st.fx.st[3][9], 0xff);
	/* MM7 is physical register 7: the 1.0 pushed first (mantissa 8000...). */
	memcpy(&out, f->data + 8, 8);
	assert_int_equal(out, 0x8000000000000000ull);
	assert_int_equal(bt_flat_run(f, f->cpu, emms, sizeof(emms)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->st.fx.ftw, 0);
}

/* FXSAVE after x87 work: the image matches the host's outside FOP, FIP and FDP. */
static void test_fxsave_x87_matches_host(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { X87_PROLOGUE, 0x0f, 0xae, 0x07, 0xcc }; /* fxsave [rdi] */
	u8 host[512] __attribute__((aligned(16)));

	f->cpu->st.gpr[CPU_RDI] = DATA;
	assert_int_equal(bt_flat_run(f, f->cpu, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
	__asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfldz\n\tfchs\n\tfincstp\n\t"
			 "fxsave64 %0\n\tfninit"
			 : "=m"(host));
	assert_memory_equal(f->data, host, 5); /* FCW, FSW, abridged FTW */
	/* The valid registers: ST0 = pi, ST1 = 1.0, ST7 = -0 (the empty ones hold stale values). */
	for (unsigned i = 0; i < 8; i++)
		if (i <= 1 || i == 7)
			assert_memory_equal(f->data + 32 + 16 * i, host + 32 + 16 * i, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fnsave_fnstenv_match_host, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_frstor_fldenv_round_trip, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_stack_overflow, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_unmasked_exception_is_mf, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_ts_is_nm_and_cpuid, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_mmx_aliasing, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_fxsave_x87_matches_host, bt_flat_setup,
						bt_flat_teardown),
	};

	return cmocka_run_group_tests_name("bt_x87", tests, NULL, NULL);
}
