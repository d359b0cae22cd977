// SPDX-License-Identifier: MIT
/*
 * pflash (src/devices/pflash.c) through the real MMIO bus: the probe sequence OVMF's QemuFlash
 * driver runs tells flash from RAM and ROM; program clears bits only and persists the byte;
 * block erase fills the block with 0xff and persists it; an unconfirmed erase sets both error
 * bits; a read-only bank keeps its data and reports a locked block; a failed persist is a
 * program error; read identifier and CFI query report the geometry; reset returns to read
 * array mode and keeps the contents; the state record round-trips.
 */
#include "devices/pflash.h"
#include "test_platform.h"
#include "vmm/state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BASE  0xffc00000ull
#define SIZE  (16u * 4096u)
#define BLOCK 4096u

struct fixture {
	struct test_platform tp;
	struct pflash *f;
	u8 data[SIZE];
	u64 persisted_off, persisted_len;
	unsigned persists;
	int persist_ret;
};

static int record_persist(void *opaque, u64 off, u64 len)
{
	struct fixture *fx = opaque;

	fx->persists++;
	fx->persisted_off = off;
	fx->persisted_len = len;
	return fx->persist_ret;
}

static struct fixture *make(bool read_only)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct pflash_config cfg = {
		.name = "pflash",
		.base = BASE,
		.size = SIZE,
		.block_size = BLOCK,
		.read_only = read_only,
		.persist = record_persist,
	};

	assert_non_null(fx);
	for (unsigned i = 0; i < SIZE; i++)
		fx->data[i] = (u8)(i * 7 + 3);
	cfg.data = fx->data;
	cfg.persist_opaque = fx;
	assert_int_equal(test_platform_init(&fx->tp, 0), 0);
	assert_int_equal(pflash_create(&fx->tp.p, &cfg, &fx->f, NULL), 0);
	return fx;
}

static int setup_rw(void **state)
{
	*state = make(false);
	return 0;
}

static int setup_ro(void **state)
{
	*state = make(true);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	pflash_destroy(fx->f);
	test_platform_destroy(&fx->tp);
	free(fx);
	return 0;
}

static u8 rd(struct fixture *fx, u64 off)
{
	return (u8)bus_read(&fx->tp.p.mmio, BASE + off, 1);
}

static void wr(struct fixture *fx, u64 off, u8 v)
{
	bus_write(&fx->tp.p.mmio, BASE + off, 1, v);
}

/* OVMF's probe: clear status must not read back as written (RAM), read status gives 0, a
 * program of the same byte succeeds without a program error (flash, not ROM). */
static void test_probe_is_flash(void **state)
{
	struct fixture *fx = *state;
	u8 orig = rd(fx, 0x100);

	wr(fx, 0x100, PFLASH_CMD_CLEAR_STATUS);
	assert_int_equal(rd(fx, 0x100), orig); /* still read array mode */
	wr(fx, 0x100, PFLASH_CMD_READ_STATUS);
	assert_int_equal(rd(fx, 0x100), 0);
	wr(fx, 0x100, PFLASH_CMD_PROGRAM);
	wr(fx, 0x100, orig);
	wr(fx, 0x100, PFLASH_CMD_READ_STATUS);
	assert_int_equal(rd(fx, 0x100) & PFLASH_SR_PROGRAM_ERR, 0);
	assert_int_equal(rd(fx, 0x100) & PFLASH_SR_READY, PFLASH_SR_READY);
	wr(fx, 0x100, PFLASH_CMD_READ_ARRAY);
	assert_int_equal(rd(fx, 0x100), orig);
	assert_int_equal(fx->persists, 0); /* nothing changed */
}

static void test_program_clears_bits_and_persists(void **state)
{
	struct fixture *fx = *state;

	fx->data[0x2345] = 0xf0;
	wr(fx, 0x2345, PFLASH_CMD_PROGRAM_ALT);
	wr(fx, 0x2345, 0x3c);
	assert_int_equal(fx->data[0x2345], 0x30);
	assert_int_equal(fx->persists, 1);
	assert_int_equal(fx->persisted_off, 0x2345);
	assert_int_equal(fx->persisted_len, 1);
	assert_int_equal(rd(fx, 0x2345), PFLASH_SR_READY); /* status mode after a program */
	wr(fx, 0, PFLASH_CMD_READ_ARRAY);
	assert_int_equal(bus_read(&fx->tp.p.mmio, BASE + 0x2344, 4),
			 fx->data[0x2344] | 0x30u << 8 | (u32)fx->data[0x2346] << 16 |
				 (u32)fx->data[0x2347] << 24);
}

static void test_erase_fills_block(void **state)
{
	struct fixture *fx = *state;
	u8 before = fx->data[3 * BLOCK - 1], after = fx->data[4 * BLOCK];

	wr(fx, 3 * BLOCK + 17, PFLASH_CMD_ERASE);
	wr(fx, 3 * BLOCK + 99, PFLASH_CMD_CONFIRM);
	for (unsigned i = 0; i < BLOCK; i++)
		assert_int_equal(fx->data[3 * BLOCK + i], 0xff);
	assert_int_equal(fx->data[3 * BLOCK - 1], before);
	assert_int_equal(fx->data[4 * BLOCK], after);
	assert_int_equal(fx->persisted_off, 3 * BLOCK);
	assert_int_equal(fx->persisted_len, BLOCK);
	assert_int_equal(rd(fx, 0), PFLASH_SR_READY);
	/* Unconfirmed: both error bits, nothing erased, until clear status. */
	wr(fx, 0, PFLASH_CMD_ERASE);
	wr(fx, 0, 0x55);
	assert_int_equal(rd(fx, 0), PFLASH_SR_READY | PFLASH_SR_ERASE_ERR | PFLASH_SR_PROGRAM_ERR);
	assert_int_not_equal(fx->data[0], 0xff);
	wr(fx, 0, PFLASH_CMD_CLEAR_STATUS);
	assert_int_equal(rd(fx, 0), 0);
}

static void test_read_only_refuses(void **state)
{
	struct fixture *fx = *state;
	u8 b0 = fx->data[0], b1 = fx->data[BLOCK];

	wr(fx, 0, PFLASH_CMD_PROGRAM);
	wr(fx, 0, 0x00);
	assert_int_equal(rd(fx, 0), PFLASH_SR_READY | PFLASH_SR_LOCKED | PFLASH_SR_PROGRAM_ERR);
	wr(fx, 0, PFLASH_CMD_CLEAR_STATUS);
	wr(fx, BLOCK, PFLASH_CMD_ERASE);
	wr(fx, BLOCK, PFLASH_CMD_CONFIRM);
	assert_int_equal(rd(fx, 0), PFLASH_SR_READY | PFLASH_SR_LOCKED | PFLASH_SR_ERASE_ERR);
	wr(fx, 0, PFLASH_CMD_READ_ARRAY);
	assert_int_equal(rd(fx, 0), b0);
	assert_int_equal(rd(fx, BLOCK), b1);
	assert_int_equal(fx->persists, 0);
}

static void test_failed_persist_is_error(void **state)
{
	struct fixture *fx = *state;

	fx->persist_ret = -EIO;
	fx->data[8] = 0xff;
	wr(fx, 8, PFLASH_CMD_PROGRAM);
	wr(fx, 8, 0x12);
	assert_int_equal(fx->persists, 1);
	assert_int_equal(rd(fx, 8), PFLASH_SR_READY | PFLASH_SR_PROGRAM_ERR);
}

static void test_id_and_cfi(void **state)
{
	struct fixture *fx = *state;

	wr(fx, 0, PFLASH_CMD_READ_ID);
	assert_int_equal(rd(fx, 0), PFLASH_MANUFACTURER);
	assert_int_equal(rd(fx, 1), PFLASH_DEVICE_ID);
	wr(fx, 0, PFLASH_CMD_CFI_QUERY);
	assert_int_equal(rd(fx, 0x10), 'Q');
	assert_int_equal(rd(fx, 0x11), 'R');
	assert_int_equal(rd(fx, 0x12), 'Y');
	assert_int_equal(rd(fx, 0x13), 1);  /* Intel command set */
	assert_int_equal(rd(fx, 0x27), 16); /* 64 KiB = 2^16 */
	assert_int_equal(rd(fx, 0x2c), 1);  /* one region */
	assert_int_equal(rd(fx, 0x2d), 15); /* 16 blocks */
	assert_int_equal(rd(fx, 0x30) << 8 | rd(fx, 0x2f), BLOCK / 256);
	wr(fx, 0, 0x42); /* unknown: back to read array */
	assert_int_equal(rd(fx, 5), fx->data[5]);
}

static void test_state_and_reset(void **state)
{
	struct fixture *fx = *state;
	struct state_buf fresh, busy, after;
	struct err err = { 0 };

	state_buf_init(&fresh);
	state_buf_init(&busy);
	state_buf_init(&after);
	assert_int_equal(state_desc_verify(pflash_device_ops.state, &err), 0);
	assert_int_equal(state_save(pflash_device_ops.state, "pflash", fx->f, &fresh, &err), 0);
	wr(fx, 0, PFLASH_CMD_ERASE);
	wr(fx, 0, 0x00); /* error bits, status mode */
	assert_int_equal(state_save(pflash_device_ops.state, "pflash", fx->f, &busy, &err), 0);
	assert_true(fresh.len != busy.len || memcmp(fresh.data, busy.data, fresh.len));
	pflash_device_ops.reset(fx->f);
	assert_int_equal(rd(fx, 3), fx->data[3]); /* read array mode again */
	assert_int_equal(state_save(pflash_device_ops.state, "pflash", fx->f, &after, &err), 0);
	assert_int_equal(after.len, fresh.len);
	assert_memory_equal(after.data, fresh.data, fresh.len);
	assert_int_equal(
		state_load(pflash_device_ops.state, "pflash", fx->f, busy.data, busy.len, &err), 0);
	assert_int_equal(rd(fx, 0), PFLASH_SR_READY | PFLASH_SR_ERASE_ERR | PFLASH_SR_PROGRAM_ERR);
	state_buf_free(&fresh);
	state_buf_free(&busy);
	state_buf_free(&after);
}

static void test_bad_geometry(void **state)
{
	struct test_platform tp;
	struct pflash *f;
	u8 buf[1000];
	struct pflash_config cfg = {
		.name = "pflash", .base = BASE, .data = buf, .size = 1000, .block_size = 256
	};
	struct err err = { 0 };

	(void)state;
	assert_int_equal(test_platform_init(&tp, 0), 0);
	assert_int_equal(pflash_create(&tp.p, &cfg, &f, &err), -EINVAL);
	cfg.size = 768;
	cfg.block_size = 384;
	assert_int_equal(pflash_create(&tp.p, &cfg, &f, &err), -EINVAL);
	test_platform_destroy(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_is_flash, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_program_clears_bits_and_persists, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(test_erase_fills_block, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_refuses, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_failed_persist_is_error, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_id_and_cfi, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_state_and_reset, setup_rw, teardown),
		cmocka_unit_test(test_bad_geometry),
	};
	return cmocka_run_group_tests_name("pflash", tests, NULL, NULL);
}
