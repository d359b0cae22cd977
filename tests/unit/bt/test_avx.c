// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's VEX instructions with known results (the differential suite
 * compares them with the host CPU; these run on any host): the checks before an AVX
 * instruction (CR4.OSXSAVE, XCR0, CR0.TS, the model), 256-bit integer lanes and the upper-half
 * rules of VEX.128 and legacy SSE, VZEROUPPER, BMI1 and BMI2 results and flags, a gather that
 * faults part-way, and the AVX state in XSAVE.
 */
#include "bt_flat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define DATA BT_FLAT_DATA

/* Linux's user mode with AVX: CR4.OSXSAVE, XCR0 = x87 | SSE | AVX. */
static void avx_on(struct bt_cpu *cpu)
{
	cpu->st.cr4 |= BT_CR4_OSXSAVE;
	cpu->st.xcr0 = 7;
}

static void set_ymm_u32(struct bt_cpu *cpu, unsigned r, const u32 v[8])
{
	memcpy(cpu->st.fx.xmm[r], v, 16);
	memcpy(cpu->st.ymmh[r], v + 4, 16);
}

static void get_ymm_u32(const struct bt_cpu *cpu, unsigned r, u32 v[8])
{
	memcpy(v, cpu->st.fx.xmm[r], 16);
	memcpy(v + 4, cpu->st.ymmh[r], 16);
}

/* Run code (ending in INT3) and return the exception vector it stopped on. */
static unsigned run(struct bt_flat *f, const u8 *code, size_t len)
{
	assert_int_equal(bt_flat_run(f, f->cpu, code, len), BT_EXIT_EXCEPTION);
	return f->cpu->exc.vector;
}

static void test_vex_checks(void **state)
{
	struct bt_flat *f = *state;
	static const u8 vpaddd[] = { 0xc5, 0xf1, 0xfe, 0xc2, 0xcc }; /* vpaddd xmm0, xmm1, xmm2 */
	static const u8 andn[] = { 0xc4, 0xe2, 0xe0, 0xf2, 0xc1, 0xcc }; /* andn rax, rbx, rcx */
	struct cpu_model k8;

	/* No CR4.OSXSAVE: #UD; XCR0 without AVX state: #UD; CR0.TS: #NM. */
	assert_int_equal(run(f, vpaddd, sizeof(vpaddd)), BT_EXC_UD);
	f->cpu->st.cr4 |= BT_CR4_OSXSAVE;
	f->cpu->st.xcr0 = 3;
	assert_int_equal(run(f, vpaddd, sizeof(vpaddd)), BT_EXC_UD);
	f->cpu->st.xcr0 = 7;
	f->cpu->st.cr0 |= BT_CR0_TS;
	assert_int_equal(run(f, vpaddd, sizeof(vpaddd)), BT_EXC_NM);
	f->cpu->st.cr0 &= ~(u64)BT_CR0_TS;
	assert_int_equal(run(f, vpaddd, sizeof(vpaddd)), BT_EXC_BP);
	/* BMI needs none of the AVX state: it runs with OSXSAVE clear. */
	f->cpu->st.cr4 &= ~(u64)BT_CR4_OSXSAVE;
	assert_int_equal(run(f, andn, sizeof(andn)), BT_EXC_BP);
	/* A model without AVX and BMI (the K8): both #UD. */
	assert_true(cpu_model_lookup("k8", &k8));
	bt_cpu_set_model(f->cpu, &k8);
	avx_on(f->cpu);
	assert_int_equal(run(f, vpaddd, sizeof(vpaddd)), BT_EXC_UD);
	assert_int_equal(run(f, andn, sizeof(andn)), BT_EXC_UD);
}

static void test_ymm_lanes_and_upper_halves(void **state)
{
	struct bt_flat *f = *state;
	/* vpaddd ymm0, ymm1, ymm2; vpaddd xmm5, xmm1, xmm2; paddd xmm3, xmm4; vpermq ymm6, ymm1, 1Bh */
	static const u8 code[] = { 0xc5, 0xf5, 0xfe, 0xc2, 0xc5, 0xf1, 0xfe, 0xea, 0x66, 0x0f,
				   0xfe, 0xdc, 0xc4, 0xe3, 0xfd, 0x00, 0xf1, 0x1b, 0xcc };
	static const u32 a[8] = { 1, 2, 3, 4, 5, 6, 7, 0xffffffff };
	static const u32 b[8] = { 10, 20, 30, 40, 50, 60, 70, 2 };
	static const u32 sum[8] = { 11, 22, 33, 44, 55, 66, 77, 1 };
	static const u32 perm[8] = { 7, 0xffffffff, 5, 6, 3, 4, 1, 2 };
	static const u32 ones[8] = { ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u };
	u32 r[8];

	avx_on(f->cpu);
	set_ymm_u32(f->cpu, 1, a);
	set_ymm_u32(f->cpu, 2, b);
	set_ymm_u32(f->cpu, 3, ones);
	set_ymm_u32(f->cpu, 5, ones);
	assert_int_equal(run(f, code, sizeof(code)), BT_EXC_BP);
	get_ymm_u32(f->cpu, 0, r);
	assert_memory_equal(r, sum, sizeof(sum));
	get_ymm_u32(f->cpu, 5, r); /* VEX.128: bits 255:128 zeroed */
	assert_memory_equal(r, sum, 16);
	assert_memory_equal(r + 4, (u32[4]){ 0 }, 16);
	get_ymm_u32(f->cpu, 3, r); /* legacy SSE: bits 255:128 kept */
	assert_memory_equal(r + 4, ones + 4, 16);
	get_ymm_u32(f->cpu, 6, r); /* VPERMQ: qwords 3, 2, 1, 0 */
	assert_memory_equal(r, perm, sizeof(perm));
}

static void test_vzeroupper(void **state)
{
	struct bt_flat *f = *state;
	static const u8 code[] = { 0xc5, 0xf8, 0x77, 0xcc }; /* vzeroupper */
	static const u32 ones[8] = { ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u };
	u32 r[8];

	avx_on(f->cpu);
	for (unsigned i = 0; i < 16; i++)
		set_ymm_u32(f->cpu, i, ones);
	assert_int_equal(run(f, code, sizeof(code)), BT_EXC_BP);
	for (unsigned i = 0; i < 16; i++) {
		get_ymm_u32(f->cpu, i, r);
		assert_memory_equal(r, ones, 16);
		assert_memory_equal(r + 4, (u32[4]){ 0 }, 16);
	}
}

static void test_bmi(void **state)
{
	struct bt_flat *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 andn[] = { 0xc4, 0xe2, 0xe0, 0xf2, 0xc1, 0xcc };  /* andn rax, rbx, rcx */
	static const u8 bextr[] = { 0xc4, 0xe2, 0x68, 0xf7, 0xc1, 0xcc }; /* bextr eax, ecx, edx */
	static const u8 blsr[] = { 0xc4, 0xe2, 0xf8, 0xf3, 0xc9, 0xcc };  /* blsr rax, rcx */
	static const u8 bzhi[] = { 0xc4, 0xe2, 0xe8, 0xf5, 0xc1, 0xcc };  /* bzhi rax, rcx, rdx */
	static const u8 pdep[] = { 0xc4, 0xe2, 0xe3, 0xf5, 0xc1, 0xcc };  /* pdep rax, rbx, rcx */
	static const u8 pext[] = { 0xc4, 0xe2, 0xe2, 0xf5, 0xc1, 0xcc };  /* pext rax, rbx, rcx */
	static const u8 mulx[] = { 0xc4, 0xe2, 0xfb, 0xf6, 0xd9, 0xcc };  /* mulx rbx, rax, rcx */
	static const u8 rorx[] = {
		0xc4, 0xe3, 0x7b, 0xf0, 0xc1, 0x08, 0xcc
	};								 /* rorx eax, ecx, 8 */
	static const u8 shlx[] = { 0xc4, 0xe2, 0xe9, 0xf7, 0xc1, 0xcc }; /* shlx rax, rcx, rdx */

	cpu->st.gpr[CPU_RBX] = 0xff00ff00ff00ff00ull;
	cpu->st.gpr[CPU_RCX] = 0x0ff00ff00ff00ff0ull;
	assert_int_equal(run(f, andn, sizeof(andn)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x00f000f000f000f0ull);
	assert_int_equal(bt_get_rflags(cpu) & (BT_ZF | BT_CF | BT_OF), 0);

	cpu->st.gpr[CPU_RCX] = 0x12345678;
	cpu->st.gpr[CPU_RDX] = 0x0804; /* 8 bits from bit 4 */
	assert_int_equal(run(f, bextr, sizeof(bextr)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x67);

	cpu->st.gpr[CPU_RCX] = 0x50;
	assert_int_equal(run(f, blsr, sizeof(blsr)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x40);
	assert_int_equal(bt_get_rflags(cpu) & BT_CF, 0);
	cpu->st.gpr[CPU_RCX] = 0;
	assert_int_equal(run(f, blsr, sizeof(blsr)), BT_EXC_BP);
	assert_int_equal(bt_get_rflags(cpu) & (BT_CF | BT_ZF), BT_CF | BT_ZF); /* zero source */

	cpu->st.gpr[CPU_RCX] = ~0ull;
	cpu->st.gpr[CPU_RDX] = 12;
	assert_int_equal(run(f, bzhi, sizeof(bzhi)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0xfff);
	assert_int_equal(bt_get_rflags(cpu) & BT_CF, 0);
	cpu->st.gpr[CPU_RDX] = 64; /* an index past the size: CF, nothing cleared */
	assert_int_equal(run(f, bzhi, sizeof(bzhi)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], ~0ull);
	assert_int_equal(bt_get_rflags(cpu) & BT_CF, BT_CF);

	cpu->st.gpr[CPU_RBX] = 0x5;    /* bits 101 */
	cpu->st.gpr[CPU_RCX] = 0xf0f0; /* deposited into bits 4, 5, 6 */
	assert_int_equal(run(f, pdep, sizeof(pdep)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x50);
	cpu->st.gpr[CPU_RBX] = 0xa5a5;
	cpu->st.gpr[CPU_RCX] = 0xff00;
	assert_int_equal(run(f, pext, sizeof(pext)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0xa5);

	cpu->st.gpr[CPU_RDX] = ~0ull;
	cpu->st.gpr[CPU_RCX] = 3;
	bt_set_rflags(cpu, 2 | BT_CF);
	assert_int_equal(run(f, mulx, sizeof(mulx)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], ~0ull - 2);   /* low half */
	assert_int_equal(cpu->st.gpr[CPU_RBX], 2);	     /* high half */
	assert_int_equal(bt_get_rflags(cpu) & BT_CF, BT_CF); /* flags untouched */

	cpu->st.gpr[CPU_RCX] = 0xffffffff12345678ull;
	assert_int_equal(run(f, rorx, sizeof(rorx)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x78123456); /* 32-bit, zero-extended */
	cpu->st.gpr[CPU_RCX] = 1;
	cpu->st.gpr[CPU_RDX] = 65; /* the count masked to 6 bits */
	assert_int_equal(run(f, shlx, sizeof(shlx)), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2);
}

static void test_gather_faults_part_way(void **state)
{
	struct bt_flat *f = *state;
	/* vpgatherdd xmm0, [rdi + xmm1 * 4], xmm2 */
	static const u8 code[] = { 0xc4, 0xe2, 0x69, 0x90, 0x04, 0x8f, 0xcc };
	static const u32 idx[8] = { 0, 2, 1024, 3 }; /* element 2 past the data page */
	static const u32 mask[8] = { 0x80000000, 0x80000000, 0x80000000, 0x80000000 };
	static const u32 keep[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	u32 r[8];

	avx_on(f->cpu);
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->data + 4 * i, &(u32){ 100 + i }, 4);
	f->cpu->st.gpr[CPU_RDI] = DATA;
	set_ymm_u32(f->cpu, 0, keep);
	set_ymm_u32(f->cpu, 1, idx);
	set_ymm_u32(f->cpu, 2, mask);
	assert_int_equal(run(f, code, sizeof(code)), BT_EXC_PF);
	assert_int_equal(f->cpu->exc.cr2, DATA + 4096);
	get_ymm_u32(f->cpu, 0, r); /* elements 0 and 1 gathered, the rest as they were */
	assert_memory_equal(r, ((u32[8]){ 100, 102, 9, 9, 9, 9, 9, 9 }), 32);
	get_ymm_u32(f->cpu, 2, r); /* their mask elements cleared */
	assert_memory_equal(r, ((u32[8]){ 0, 0, 0x80000000, 0x80000000 }), 32);

	/* The index back in the page: the restart completes; the mask ends zero. */
	set_ymm_u32(f->cpu, 1, (u32[8]){ 0, 2, 5, 3 });
	assert_int_equal(run(f, code, sizeof(code)), BT_EXC_BP);
	get_ymm_u32(f->cpu, 0, r);
	assert_memory_equal(r, ((u32[8]){ 100, 102, 105, 103 }), 32);
	get_ymm_u32(f->cpu, 2, r);
	assert_memory_equal(r, ((u32[8]){ 0 }), 32);
}

static void test_xsave_avx_state(void **state)
{
	struct bt_flat *f = *state;
	/* xsave [rdi]; vxorps ymm0, ymm0, ymm0; xrstor [rdi] */
	static const u8 code[] = {
		0x0f, 0xae, 0x27, 0xc5, 0xfc, 0x57, 0xc0, 0x0f, 0xae, 0x2f, 0xcc
	};
	static const u32 v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	u64 bv;
	u32 r[8];

	avx_on(f->cpu);
	set_ymm_u32(f->cpu, 0, v);
	f->cpu->st.gpr[CPU_RDI] = DATA;
	f->cpu->st.gpr[CPU_RAX] = 7;
	f->cpu->st.gpr[CPU_RDX] = 0;
	assert_int_equal(run(f, code, sizeof(code)), BT_EXC_BP);
	assert_memory_equal(f->data + 576, v + 4, 16); /* YMM0's upper half at 576 */
	memcpy(&bv, f->data + 512, 8);
	assert_int_equal(bv & 4, 4);
	get_ymm_u32(f->cpu, 0, r);
	assert_memory_equal(r, v, sizeof(v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vex_checks, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_ymm_lanes_and_upper_halves, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_vzeroupper, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_bmi, bt_flat_setup, bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_gather_faults_part_way, bt_flat_setup,
						bt_flat_teardown),
		cmocka_unit_test_setup_teardown(test_xsave_avx_state, bt_flat_setup,
						bt_flat_teardown),
	};

	return cmocka_run_group_tests_name("bt_avx", tests, NULL, NULL);
}
