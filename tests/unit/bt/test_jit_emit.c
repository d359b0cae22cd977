// SPDX-License-Identifier: MIT
/*
 * Unit tests of the JIT back end alone (linked with libbt_jitbe only: the x86-64 encoder and the
 * dual-mapped code buffer). Encodings are compared with what GNU as produces for the same
 * instructions (the expected bytes below were taken from `as` + `objdump -d`), covering the
 * ModRM/SIB special cases (RSP/R12 bases, RBP/R13 bases, no base), REX for R8-R15 and for
 * SPL..DIL, operand-size prefixes and immediates. Then code is written through the writable view
 * and run through the executable one, a rel32 branch is patched after it ran, and the buffer
 * refuses what does not fit.
 */
#include "bt-fallback/jit/codebuf.h"
#include "bt-fallback/jit/emit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void expect_bytes(const struct bt_emit *e, const u8 *want, size_t n, const char *what)
{
	size_t got = bt_emit_len(e);

	if (got != n || memcmp(e->start, want, n)) {
		fprintf(stderr, "%s: got", what);
		for (size_t i = 0; i < got; i++)
			fprintf(stderr, " %02x", e->start[i]);
		fprintf(stderr, ", want");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", want[i]);
		fprintf(stderr, "\n");
		fail();
	}
}

#define EXPECT(stmt, ...)                                      \
	do {                                                   \
		static const u8 want_[] = { __VA_ARGS__ };     \
		bt_emit_init(&e, buf, sizeof(buf));            \
		stmt;                                          \
		assert_false(e.full);                          \
		expect_bytes(&e, want_, sizeof(want_), #stmt); \
	} while (0)

static void test_emit_encodings(void **state)
{
	u8 buf[64];
	struct bt_emit e;

	(void)state;
	EXPECT(bt_emit_mov_rm_r(&e, 8, bt_rm_reg(BT_H_RAX), BT_H_RBX), 0x48, 0x89, 0xd8);
	EXPECT(bt_emit_mov_r_rm(&e, 4, BT_H_R12, bt_rm_mem(BT_H_R13, 0)), 0x45, 0x8b, 0x65, 0x00);
	EXPECT(bt_emit_mov_rm_r(&e, 1, bt_rm_mem(BT_H_RSP, 8), BT_H_RSI), 0x40, 0x88, 0x74, 0x24,
	       0x08);
	EXPECT(bt_emit_mov_rm_r(&e, 2, bt_rm_mem(BT_H_RBP, -4), BT_H_R9), 0x66, 0x44, 0x89, 0x4d,
	       0xfc);
	EXPECT(bt_emit_mov_r_rm(&e, 8, BT_H_RCX, bt_rm_mem(BT_H_R15, 0x1234)), 0x49, 0x8b, 0x8f,
	       0x34, 0x12, 0x00, 0x00);
	EXPECT(bt_emit_mov_rm_r(&e, 8, bt_rm_sib(BT_H_RSI, BT_H_RDI, 3, 0x10), BT_H_R11), 0x4c,
	       0x89, 0x5c, 0xfe, 0x10);
	EXPECT(bt_emit_mov_rm_imm(&e, 4, bt_rm_mem(BT_H_RAX, 0), 0x12345678), 0xc7, 0x00, 0x78,
	       0x56, 0x34, 0x12);
	EXPECT(bt_emit_mov_rm_imm(&e, 8, bt_rm_mem(BT_H_R15, 128), 0xffffffffu), 0x49, 0xc7, 0x87,
	       0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff);
	EXPECT(bt_emit_mov_r_imm(&e, BT_H_RAX, 0x12345678), 0xb8, 0x78, 0x56, 0x34, 0x12);
	EXPECT(bt_emit_mov_r_imm(&e, BT_H_RAX, (u64)-2), 0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff);
	EXPECT(bt_emit_mov_r_imm(&e, BT_H_R10, 0x123456789abcdef0ull), 0x49, 0xba, 0xf0, 0xde, 0xbc,
	       0x9a, 0x78, 0x56, 0x34, 0x12);
	EXPECT(bt_emit_alu_rm_r(&e, 0, 8, bt_rm_reg(BT_H_RAX), BT_H_RBX), 0x48, 0x01, 0xd8);
	EXPECT(bt_emit_alu_r_rm(&e, 5, 4, BT_H_R8, bt_rm_mem(BT_H_RSP, 0)), 0x44, 0x2b, 0x04, 0x24);
	EXPECT(bt_emit_alu_r_rm(&e, 7, 8, BT_H_RAX, bt_rm_sib(BT_H_R15, BT_H_RDI, 0, 0x3fc0)), 0x49,
	       0x3b, 0x84, 0x3f, 0xc0, 0x3f, 0x00, 0x00);
	EXPECT(bt_emit_alu_rm_imm(&e, 4, 1, bt_rm_mem(BT_H_R12, 1), 0x7f), 0x41, 0x80, 0x64, 0x24,
	       0x01, 0x7f);
	EXPECT(bt_emit_alu_rm_imm(&e, 1, 8, bt_rm_reg(BT_H_RDX), 0x12345), 0x48, 0x81, 0xca, 0x45,
	       0x23, 0x01, 0x00);
	EXPECT(bt_emit_alu_rm_imm(&e, 6, 2, bt_rm_reg(BT_H_R14), 5), 0x66, 0x41, 0x83, 0xf6, 0x05);
	EXPECT(bt_emit_shift_imm(&e, 4, 4, bt_rm_reg(BT_H_R9), 3), 0x41, 0xc1, 0xe1, 0x03);
	EXPECT(bt_emit_shift_imm(&e, 7, 8, bt_rm_mem(BT_H_RBX, 0), 1), 0x48, 0xc1, 0x3b, 0x01);
	EXPECT(bt_emit_lea(&e, 8, BT_H_RSI, bt_rm_sib(BT_H_RSI, BT_H_RBX, 2, -8)), 0x48, 0x8d, 0x74,
	       0x9e, 0xf8);
	EXPECT(bt_emit_lea(&e, 4, BT_H_RSI, bt_rm_sib(BT_H_R13, BT_H_R8, 0, 0)), 0x43, 0x8d, 0x74,
	       0x05, 0x00);
	EXPECT(bt_emit_test_rm_r(&e, 1, bt_rm_reg(BT_H_RAX), BT_H_RDI), 0x40, 0x84, 0xf8);
	EXPECT(bt_emit_push(&e, BT_H_R12), 0x41, 0x54);
	EXPECT(bt_emit_pop(&e, BT_H_RBX), 0x5b);
	EXPECT(bt_emit_call_r(&e, BT_H_RAX), 0xff, 0xd0);
	EXPECT(bt_emit_jmp_r(&e, BT_H_R11), 0x41, 0xff, 0xe3);
	EXPECT(bt_emit_ret(&e), 0xc3);
	EXPECT(bt_emit_nop5(&e), 0x0f, 0x1f, 0x44, 0x00, 0x00);
	/* VEX: the two-byte form, the three-byte one for R15 as a base, maps 0F 38 and 0F 3A,
	 * VEX.R, VEX.B and VEX.W. */
	EXPECT(bt_emit_vex(&e, 1, 1, false, true, 0x74, 0, 0, bt_rm_mem(BT_H_RSI, 0)), 0xc5, 0xfd,
	       0x74, 0x06);
	EXPECT(bt_emit_vex(&e, 2, 1, false, false, 0x6f, 1, 0, bt_rm_mem(BT_H_R15, 0x1a0)), 0xc4,
	       0xc1, 0x7a, 0x6f, 0x8f, 0xa0, 0x01, 0x00, 0x00);
	EXPECT(bt_emit_vex(&e, 1, 3, false, true, 0x18, 0, 0, bt_rm_mem(BT_H_R15, 0x300)), 0xc4,
	       0xc3, 0x7d, 0x18, 0x87, 0x00, 0x03, 0x00, 0x00);
	EXPECT(bt_emit_vex(&e, 1, 2, false, true, 0x78, 0, 0, bt_rm_mem(BT_H_RSI, 0)), 0xc4, 0xe2,
	       0x7d, 0x78, 0x06);
	EXPECT(bt_emit_vex(&e, 1, 1, false, true, 0xd7, BT_H_R12, 0, bt_rm_reg(0)), 0xc5, 0x7d,
	       0xd7, 0xe0);
	EXPECT(bt_emit_vex(&e, 3, 3, true, false, 0xf0, BT_H_R9, 0, bt_rm_mem(BT_H_RSI, 0)), 0xc4,
	       0x63, 0xfb, 0xf0, 0x0e);
	EXPECT(bt_emit_vex(&e, 3, 1, true, false, 0x2a, 0, 0, bt_rm_reg(BT_H_R13)), 0xc4, 0xc1,
	       0xfb, 0x2a, 0xc5);
	EXPECT(bt_emit_setcc(&e, BT_CC_O, BT_H_RAX), 0x0f, 0x90, 0xc0);
	EXPECT(bt_emit_setcc(&e, BT_CC_E, BT_H_R10), 0x41, 0x0f, 0x94, 0xc2);
	EXPECT(bt_emit_op(&e, BT_EMIT_LOCK | BT_EMIT_W, 0xc10f, 2, BT_H_RCX,
			  bt_rm_mem(BT_H_RSI, 0)),
	       0xf0, 0x48, 0x0f, 0xc1, 0x0e);
	EXPECT(bt_emit_mov_r_rm(&e, 4, BT_H_RAX, bt_rm_mem(BT_H_NONE, 0x1000)), 0x8b, 0x04, 0x25,
	       0x00, 0x10, 0x00, 0x00);
}

static void test_emit_full_buffer(void **state)
{
	u8 buf[64];
	struct bt_emit e;

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	bt_emit_init(&e, buf, 3);
	bt_emit_mov_r_imm(&e, BT_H_R10, 0x123456789abcdef0ull); /* 10 bytes into 3 */
	assert_true(e.full);
	assert_int_equal(bt_emit_len(&e), 3);
	assert_int_equal(buf[3], 0xaa); /* nothing written past the end */
	assert_null(bt_emit_jmp32(&e));
}

typedef u64 (*test_fn2)(u64, u64);

static void test_codebuf_runs_and_patches(void **state)
{
	struct bt_codebuf cb;
	struct bt_emit e;
	u8 *fn, *field, *other;
	test_fn2 run;

	(void)state;
	assert_int_equal(bt_codebuf_init(&cb, 4096), 0);
	assert_true(cb.rw != cb.rx);
	/* f(a, b) = a + b, with a JMP rel32 in front that first goes to the add. */
	fn = bt_codebuf_alloc(&cb, 64, 16);
	assert_non_null(fn);
	bt_emit_init(&e, fn, 64);
	field = bt_emit_jmp32(&e);
	assert_true(bt_emit_patch_rel32(field, e.p));
	bt_emit_mov_rm_r(&e, 8, bt_rm_reg(BT_H_RAX), BT_H_RDI);
	bt_emit_alu_rm_r(&e, 0, 8, bt_rm_reg(BT_H_RAX), BT_H_RSI);
	bt_emit_ret(&e);
	/* g(a, b) = a - b, elsewhere in the buffer. */
	other = e.p;
	bt_emit_mov_rm_r(&e, 8, bt_rm_reg(BT_H_RAX), BT_H_RDI);
	bt_emit_alu_rm_r(&e, 5, 8, bt_rm_reg(BT_H_RAX), BT_H_RSI);
	bt_emit_ret(&e);
	assert_false(e.full);
	run = (test_fn2)bt_codebuf_rx(&cb, fn);
	assert_int_equal(run(40, 2), 42);
	/* Patched through the writable view, the next run takes the new path. */
	assert_true(bt_emit_patch_rel32(field, other));
	assert_int_equal(run(40, 2), 38);
	assert_ptr_equal(bt_codebuf_rw(&cb, bt_codebuf_rx(&cb, fn)), fn);

	assert_null(bt_codebuf_alloc(&cb, 8192, 16)); /* larger than what is left */
	bt_codebuf_trim(&cb, fn + 8);
	assert_int_equal(cb.used, (size_t)(fn + 8 - cb.rw));
	bt_codebuf_reset(&cb);
	assert_int_equal(cb.used, 0);
	assert_ptr_equal(bt_codebuf_alloc(&cb, 16, 16), cb.rw);
	bt_codebuf_destroy(&cb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_encodings),
		cmocka_unit_test(test_emit_full_buffer),
		cmocka_unit_test(test_codebuf_runs_and_patches),
	};

	return cmocka_run_group_tests_name("bt_jit_emit", tests, NULL, NULL);
}
