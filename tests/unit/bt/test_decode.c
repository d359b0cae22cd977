// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's decoder alone (linked with libbt_decode only: no CPU, no MMU,
 * no handlers): the compact form (prefixes, REX, ModRM/SIB, RIP-relative and 16-bit addressing,
 * immediates, default-64 operand sizes), the 15-byte limit, truncated input, the forms the SDM
 * makes #UD (invalid LOCK, VEX outside 64-bit mode, opcodes invalid in 64-bit mode), and that
 * random bytes are never read past the bytes given (a guard page follows them).
 */
#include "bt-fallback/decode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

static void test_decode_forms(void **state)
{
	struct bt_insn in;
	static const u8 riprel[] = { 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12 };
	static const u8 sib[] = { 0x67, 0x41, 0x8b, 0x44, 0x8d, 0x10 };
	static const u8 bp16[] = { 0x8b, 0x46, 0xfe };
	static const u8 rex_then_66[] = { 0x48, 0x66, 0x89, 0xc0 };
	static const u8 ah[] = { 0x88, 0xe0 };	      /* mov al, ah */
	static const u8 spl[] = { 0x40, 0x88, 0xe0 }; /* mov al, spl */

	(void)state;
	assert_int_equal(bt_decode(BT_MODE_LONG64, riprel, sizeof(riprel), &in), BT_DECODE_OK);
	assert_int_equal(in.len, 7);
	assert_int_equal(in.opsz, 8);
	assert_int_equal(in.ea_kind, BT_EA_RIP);
	assert_int_equal(in.disp, 0x12345678);

	assert_int_equal(bt_decode(BT_MODE_LONG64, sib, sizeof(sib), &in), BT_DECODE_OK);
	assert_int_equal(in.len, 6);
	assert_int_equal(in.asz, 4);
	assert_int_equal(in.base, CPU_R13);
	assert_int_equal(in.index, CPU_RCX);
	assert_int_equal(in.scale, 2);
	assert_int_equal(in.disp, 0x10);

	assert_int_equal(bt_decode(BT_MODE_REAL, bp16, sizeof(bp16), &in), BT_DECODE_OK);
	assert_int_equal(in.len, 3);
	assert_int_equal(in.opsz, 2);
	assert_int_equal(in.base, CPU_RBP);
	assert_int_equal(in.index, BT_REG_NONE);
	assert_int_equal(in.disp, -2);
	assert_int_equal(in.seg, CPU_SS);

	/* A REX prefix followed by a legacy prefix is ignored. */
	assert_int_equal(bt_decode(BT_MODE_LONG64, rex_then_66, 4, &in), BT_DECODE_OK);
	assert_int_equal(in.opsz, 2);
	assert_false(in.rexw);

	assert_int_equal(bt_decode(BT_MODE_LONG64, ah, 2, &in), BT_DECODE_OK);
	assert_int_equal(in.reg, BT_REG_AH);
	assert_int_equal(in.rm, CPU_RAX);
	assert_int_equal(bt_decode(BT_MODE_LONG64, spl, 3, &in), BT_DECODE_OK);
	assert_int_equal(in.reg, CPU_RSP); /* with REX: SPL */
}

static void test_decode_limits_and_ud(void **state)
{
	u8 buf[16];
	struct bt_insn in;
	static const u8 lock_mov[] = { 0xf0, 0x89, 0x00 };
	static const u8 lock_add[] = { 0xf0, 0x01, 0x00 };
	static const u8 lock_add_reg[] = { 0xf0, 0x01, 0xc0 };
	static const u8 vex[] = { 0xc4, 0xe2, 0x79, 0x18, 0x00 }; /* vbroadcastss xmm0, [rax] */
	static const u8 vex_66[] = { 0x66, 0xc4, 0xe2, 0x79, 0x18, 0x00 }; /* legacy 66 first */
	static const u8 vex2[] = { 0xc5, 0xb4, 0x58, 0xc1 };	   /* vaddps ymm0, ymm9, ymm1 */
	static const u8 vex32[] = { 0xc5, 0xf8, 0x77 };		   /* vzeroupper */
	static const u8 vex3[] = { 0xc4, 0xe1, 0x34, 0x58, 0xc1 }; /* the same as vex2, 3 bytes */
	static const u8 les[] = { 0xc4, 0x00 };
	static const u8 inc32[] = { 0x40 };

	(void)state;
	memset(buf, 0x66, sizeof(buf));
	buf[14] = 0x90; /* 14 prefixes + NOP: 15 bytes, the limit */
	assert_int_equal(bt_decode(BT_MODE_LONG64, buf, 15, &in), BT_DECODE_OK);
	assert_int_equal(in.len, 15);
	buf[14] = 0x66;
	buf[15] = 0x90; /* 16 bytes */
	assert_int_equal(bt_decode(BT_MODE_LONG64, buf, 16, &in), BT_DECODE_TOOLONG);
	assert_int_equal(bt_decode(BT_MODE_LONG64, inc32, 1, &in), BT_DECODE_SHORT); /* REX only */
	/*
	 * Ten REX prefixes and F7 (group 3) with the ModRM byte missing: the bytes it reads as
	 * zero would make TEST r/m32, imm32 (16 bytes), but the missing byte decides; SHORT, so
	 * the cache faults fetching it (found by fuzz_bt, crash-rex-group3-short).
	 */
	memset(buf, 0x43, 10);
	buf[10] = 0xf7;
	buf[11] = 0xff; /* IDIV EDI: 12 bytes */
	assert_int_equal(bt_decode(BT_MODE_LONG64, buf, 12, &in), BT_DECODE_OK);
	assert_int_equal(in.len, 12);
	assert_int_equal(bt_decode(BT_MODE_LONG64, buf, 11, &in), BT_DECODE_SHORT);
	buf[11] = 0xc0; /* TEST EAX, imm32: 16 bytes whatever follows */
	assert_int_equal(bt_decode(BT_MODE_LONG64, buf, 15, &in), BT_DECODE_TOOLONG);
	assert_int_equal(bt_decode(BT_MODE_PROT32, inc32, 1, &in), BT_DECODE_OK);
	assert_int_equal(in.len, 1);
	assert_false(in.invalid);

	assert_int_equal(bt_decode(BT_MODE_LONG64, lock_mov, 3, &in), BT_DECODE_OK);
	assert_true(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_LONG64, lock_add, 3, &in), BT_DECODE_OK);
	assert_false(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_LONG64, lock_add_reg, 3, &in), BT_DECODE_OK);
	assert_true(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_LONG64, vex, 5, &in), BT_DECODE_OK);
	assert_false(in.invalid);
	assert_true(in.vex);
	assert_int_equal(in.opcode, 0x218);
	assert_true(in.p66);
	assert_int_equal(in.vvvv, 0);
	assert_int_equal(in.len, 5);
	assert_int_equal(bt_decode(BT_MODE_LONG64, vex_66, 6, &in), BT_DECODE_OK);
	assert_true(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_LONG64, vex2, 4, &in), BT_DECODE_OK);
	assert_false(in.invalid);
	assert_int_equal(in.opcode, 0x158);
	assert_true(in.vex_l);
	assert_int_equal(in.vvvv, 9);
	assert_int_equal(in.reg, 0);
	assert_int_equal(in.rm, 1);
	/* C5 with mod != 11b in 32-bit mode: LDS esi with a SIB and disp32 */
	assert_int_equal(bt_decode(BT_MODE_PROT32, vex2, 4, &in), BT_DECODE_SHORT);
	assert_int_equal(bt_decode(BT_MODE_LONG64, vex3, 5, &in), BT_DECODE_OK);
	assert_int_equal(in.opcode, 0x158);
	assert_int_equal(in.vvvv, 9);
	assert_int_equal(bt_decode(BT_MODE_PROT32, vex3, 5, &in), BT_DECODE_OK);
	assert_true(in.vex);
	assert_int_equal(in.vvvv, 1); /* vvvv bit 3 ignored outside 64-bit mode */
	assert_int_equal(bt_decode(BT_MODE_PROT32, vex32, 3, &in), BT_DECODE_OK);
	assert_int_equal(in.opcode, 0x177);
	assert_int_equal(in.len, 3);
	assert_int_equal(bt_decode(BT_MODE_PROT32, les, 2, &in), BT_DECODE_OK);
	assert_false(in.invalid); /* LES with a memory operand */
}

static void test_decode_immediates_and_sizes(void **state)
{
	struct bt_insn in;
	static const u8 push64[] = { 0x50 };	   /* push rax: 8 bytes in 64-bit mode */
	static const u8 push16[] = { 0x66, 0x50 }; /* push ax */
	static const u8 mov_imm64[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const u8 grp3_test[] = { 0xf7, 0xc0, 0x78, 0x56, 0x34, 0x12 }; /* test eax, imm32 */
	static const u8 grp3_not[] = { 0xf7, 0xd0 };			      /* not eax: no imm */
	static const u8 moffs[] = { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }; /* mov eax, [moffs64] */
	static const u8 jcc32[] = { 0x0f, 0x84, 0xfe, 0xff, 0xff, 0xff };
	static const u8 movbe[] = { 0x0f, 0x38, 0xf0, 0x07 };
	static const u8 segs[] = { 0x26, 0x64, 0x8b, 0x00 }; /* es, fs: the last override wins */

	(void)state;
	assert_int_equal(bt_decode(BT_MODE_LONG64, push64, 1, &in), BT_DECODE_OK);
	assert_int_equal(in.opsz, 8);
	assert_int_equal(in.rm, CPU_RAX);
	assert_int_equal(bt_decode(BT_MODE_LONG64, push16, 2, &in), BT_DECODE_OK);
	assert_int_equal(in.opsz, 2);
	assert_int_equal(bt_decode(BT_MODE_LONG64, mov_imm64, sizeof(mov_imm64), &in),
			 BT_DECODE_OK);
	assert_int_equal(in.len, 10);
	assert_int_equal(in.imm, 0x0807060504030201ull);
	assert_int_equal(bt_decode(BT_MODE_LONG64, grp3_test, sizeof(grp3_test), &in),
			 BT_DECODE_OK);
	assert_int_equal(in.len, 6);
	assert_int_equal(in.imm, 0x12345678);
	assert_int_equal(bt_decode(BT_MODE_LONG64, grp3_not, sizeof(grp3_not), &in), BT_DECODE_OK);
	assert_int_equal(in.len, 2);
	assert_int_equal(in.modrm_reg, 2);
	assert_int_equal(bt_decode(BT_MODE_LONG64, moffs, sizeof(moffs), &in), BT_DECODE_OK);
	assert_int_equal(in.len, 9);
	assert_int_equal(in.imm, 0x0807060504030201ull);
	assert_int_equal(bt_decode(BT_MODE_LONG64, jcc32, sizeof(jcc32), &in), BT_DECODE_OK);
	assert_int_equal(in.opcode, 0x184);
	assert_int_equal(in.imm, (u64)-2);
	assert_int_equal(in.opsz, 8);
	assert_int_equal(bt_decode(BT_MODE_LONG64, movbe, sizeof(movbe), &in), BT_DECODE_OK);
	assert_int_equal(in.opcode, 0x2f0);
	assert_int_equal(in.len, 4);
	assert_int_equal(bt_decode(BT_MODE_PROT32, segs, sizeof(segs), &in), BT_DECODE_OK);
	assert_int_equal(in.seg, CPU_FS);
	assert_true(in.seg_override);
	assert_int_equal(bt_decode(BT_MODE_LONG64, segs, sizeof(segs), &in), BT_DECODE_OK);
	assert_int_equal(in.seg, CPU_FS); /* ES is ignored in 64-bit mode, FS is not */
}

static void test_decode_invalid_in_64bit(void **state)
{
	struct bt_insn in;
	static const u8 push_es[] = { 0x06 };
	static const u8 daa[] = { 0x27 };

	(void)state;
	assert_int_equal(bt_decode(BT_MODE_LONG64, push_es, 1, &in), BT_DECODE_OK);
	assert_true(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_PROT32, push_es, 1, &in), BT_DECODE_OK);
	assert_false(in.invalid);
	assert_int_equal(bt_decode(BT_MODE_LONG64, daa, 1, &in), BT_DECODE_OK);
	assert_true(in.invalid);
	assert_null(in.fn); /* the decoder never chooses a handler */
}

/* Every proper prefix of a valid instruction is too short. */
static void test_decode_truncated(void **state)
{
	static const u8 insns[][15] = {
		{ 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12 },
		{ 0x66, 0x41, 0xc7, 0x44, 0x8d, 0x10, 0x34, 0x12 },
		{ 0x0f, 0x38, 0xf1, 0x44, 0x24, 0x08 },
		{ 0xf3, 0x48, 0xab },
	};
	static const unsigned lens[] = { 7, 8, 6, 3 };
	struct bt_insn in;

	(void)state;
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(bt_decode(BT_MODE_LONG64, insns[i], lens[i], &in), BT_DECODE_OK);
		assert_int_equal(in.len, lens[i]);
		for (unsigned n = 0; n < lens[i]; n++)
			assert_int_equal(bt_decode(BT_MODE_LONG64, insns[i], n, &in),
					 BT_DECODE_SHORT);
	}
}

/* Random bytes right before a PROT_NONE page: a read past avail would crash the test. */
static void test_decode_never_reads_past_avail(void **state)
{
	u8 *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u64 x = 0x9e3779b97f4a7c15ull;
	struct bt_insn in;

	(void)state;
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + 4096, 4096, PROT_NONE), 0);
	for (unsigned i = 0; i < 200000; i++) {
		unsigned avail = 1 + i % 15;
		u8 *p = map + 4096 - avail;
		int ret;

		for (unsigned k = 0; k < avail; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[k] = (u8)x;
		}
		ret = bt_decode((enum bt_mode)(i & 3), p, avail, &in);
		assert_true(ret == BT_DECODE_OK || ret == BT_DECODE_SHORT ||
			    ret == BT_DECODE_TOOLONG);
		if (ret == BT_DECODE_OK)
			assert_true(in.len >= 1 && in.len <= avail);
	}
	munmap(map, 8192);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_forms),
		cmocka_unit_test(test_decode_limits_and_ud),
		cmocka_unit_test(test_decode_immediates_and_sizes),
		cmocka_unit_test(test_decode_invalid_in_64bit),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_never_reads_past_avail),
	};

	return cmocka_run_group_tests_name("bt_decode", tests, NULL, NULL);
}
