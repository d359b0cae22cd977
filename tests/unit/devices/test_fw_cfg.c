// SPDX-License-Identifier: MIT
/*
 * fw_cfg (src/devices/fw_cfg.c) through the real pio bus, as SeaBIOS and OVMF drive it:
 * the signature and ID through the selector and data ports, unknown keys and reads past an
 * item's end reading 0, the file directory (big-endian count and entries), DMA (big-endian
 * halves of the address, the low half starting the access; SELECT, READ with zero fill,
 * SKIP, WRITE refused, the control word stored back; accesses and buffers outside RAM fail
 * without touching anything), the DMA register's "QEMU CFG" signature, reset, the refusals
 * of the board-side API, and the state record.
 */
#include "devices/fw_cfg.h"
#include "test_platform.h"
#include "vmm/state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM  (1u << 20)
#define PORT FW_CFG_DEFAULT_PORT
#define ACC  0x1000u /* the DMA access structure */
#define BUF  0x2000u /* the DMA buffer */

struct fixture {
	struct test_platform tp;
	struct fw_cfg *c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct fw_cfg_config cfg = { .name = "fw-cfg", .port = PORT };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(fw_cfg_create(&f->tp.p, &cfg, &f->c, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fw_cfg_destroy(f->c);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void sel(struct fixture *f, u16 key)
{
	bus_write(&f->tp.p.pio, PORT, 2, key);
}

static u8 rd(struct fixture *f)
{
	return (u8)bus_read(&f->tp.p.pio, PORT + 1, 1);
}

static void rd_n(struct fixture *f, u8 *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = rd(f);
}

static u8 *ram(struct fixture *f, u64 gpa)
{
	return (u8 *)f->tp.ram + gpa;
}

static void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static u32 get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* One DMA access as a driver issues it: the structure in RAM, then the two register halves. */
static u32 dma(struct fixture *f, u32 control, u32 len, u64 addr, u64 acc)
{
	u8 *a = ram(f, acc);

	put_be32(a, control);
	put_be32(a + 4, len);
	put_be32(a + 8, (u32)(addr >> 32));
	put_be32(a + 12, (u32)addr);
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET, 4, __builtin_bswap32((u32)(acc >> 32)));
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET + 4, 4, __builtin_bswap32((u32)acc));
	return get_be32(a);
}

static void test_signature_and_id(void **state)
{
	struct fixture *f = *state;
	u8 b[8];

	sel(f, FW_CFG_SIGNATURE);
	rd_n(f, b, 5);
	assert_memory_equal(b, "QEMU\0", 5); /* and 0 past the end */
	sel(f, FW_CFG_ID);
	rd_n(f, b, 4);
	assert_int_equal(b[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	assert_int_equal(b[1] | b[2] | b[3], 0);
	/* the write-channel bit of the old interface selects the same item */
	sel(f, FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	assert_int_equal(rd(f), 'Q');
	/* reading the selector gives nothing; a data write changes nothing */
	assert_int_equal(bus_read(&f->tp.p.pio, PORT, 1), 0);
	bus_write(&f->tp.p.pio, PORT + 1, 1, 0x55);
	assert_int_equal(rd(f), 'E');
}

static void test_unknown_keys_read_zero(void **state)
{
	struct fixture *f = *state;
	const u16 keys[] = { FW_CFG_RAM_SIZE,
			     0x1f,
			     0x3fff,
			     FW_CFG_ARCH_LOCAL + 0x1f,
			     FW_CFG_ARCH_LOCAL + 0x3fff,
			     FW_CFG_FILE_FIRST + 5 };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		sel(f, keys[k]);
		for (int i = 0; i < 16; i++)
			assert_int_equal(rd(f), 0);
	}
	assert_int_equal(dma(f, (u32)keys[0] << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 8,
			     BUF, ACC),
			 0);
	assert_int_equal(ram(f, BUF)[0], 0);
}

static void test_items_and_files(void **state)
{
	struct fixture *f = *state;
	u8 b[64];

	assert_int_equal(fw_cfg_add_u64(f->c, FW_CFG_RAM_SIZE, 0x1122334455667788ull, NULL), 0);
	assert_int_equal(fw_cfg_add_u16(f->c, FW_CFG_HPET, 0xabcd, NULL), 0);
	assert_int_equal(fw_cfg_add_file(f->c, "etc/one", "first", 5, NULL), 0);
	assert_int_equal(
		fw_cfg_add_file(f->c, "bootorder", "/pci@i0cf8/scsi@2/disk@0,0\n", 27, NULL), 0);
	sel(f, FW_CFG_RAM_SIZE);
	rd_n(f, b, 8);
	assert_int_equal(b[0], 0x88);
	assert_int_equal(b[7], 0x11);
	sel(f, FW_CFG_HPET);
	assert_int_equal(rd(f), 0xcd);
	assert_int_equal(rd(f), 0xab);

	/* the directory: be32 count, then { be32 size, be16 select, u16, name[56] } */
	sel(f, FW_CFG_FILE_DIR);
	rd_n(f, b, 4);
	assert_int_equal(get_be32(b), 2);
	rd_n(f, b, 64);
	assert_int_equal(get_be32(b), 5);
	assert_int_equal(b[4] << 8 | b[5], FW_CFG_FILE_FIRST);
	assert_string_equal((char *)b + 8, "etc/one");
	rd_n(f, b, 64);
	assert_int_equal(get_be32(b), 27);
	assert_int_equal(b[4] << 8 | b[5], FW_CFG_FILE_FIRST + 1);
	assert_string_equal((char *)b + 8, "bootorder");
	assert_int_equal(rd(f), 0); /* past the end */

	assert_int_equal(fw_cfg_file_key(f->c, "bootorder"), FW_CFG_FILE_FIRST + 1);
	assert_int_equal(fw_cfg_file_key(f->c, "nothing"), -ENOENT);
	sel(f, FW_CFG_FILE_FIRST);
	rd_n(f, b, 6);
	assert_memory_equal(b, "first\0", 6);
}

static void test_dma(void **state)
{
	struct fixture *f = *state;
	u8 data[300];

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)(i * 7 + 1);
	assert_int_equal(fw_cfg_add_file(f->c, "etc/data", data, sizeof(data), NULL), 0);
	memset(ram(f, BUF), 0xee, 1024);
	/* SELECT + READ of 100 bytes, then 100 more from where it stopped */
	assert_int_equal(
		dma(f, (u32)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
		    100, BUF, ACC),
		0);
	assert_memory_equal(ram(f, BUF), data, 100);
	assert_int_equal(ram(f, BUF)[100], 0xee);
	/* SKIP 50, then a READ past the end: the rest, then zeros */
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_SKIP, 50, 0, ACC), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 200, BUF + 512, ACC), 0);
	assert_memory_equal(ram(f, BUF + 512), data + 150, 150);
	for (unsigned i = 150; i < 200; i++)
		assert_int_equal(ram(f, BUF + 512)[i], 0);
	assert_int_equal(ram(f, BUF + 512)[200], 0xee);
	/* the data port continues at the same offset: past the end */
	assert_int_equal(rd(f), 0);
	/* nothing is writable */
	assert_int_equal(
		dma(f, (u32)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
		    4, BUF, ACC),
		FW_CFG_DMA_CTL_ERROR);
	/* a buffer outside RAM: the error bit, RAM untouched */
	assert_int_equal(
		dma(f, (u32)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
		    64, RAM - 32, ACC),
		FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 0xffffffffu, BUF, ACC), FW_CFG_DMA_CTL_ERROR);
	/* an access structure outside RAM: nothing happens, nothing breaks */
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET, 4, __builtin_bswap32(1u));
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET + 4, 4, 0);
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET + 4, 4, __builtin_bswap32(RAM - 8));
	/* a selection only (no READ): the control word still comes back 0 */
	assert_int_equal(dma(f, (u32)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT, 0, 0, ACC), 0);
	assert_int_equal(rd(f), 'Q');
}

static void test_dma_register(void **state)
{
	struct fixture *f = *state;
	char sig[9] = { 0 };

	for (unsigned i = 0; i < 8; i++)
		sig[i] = (char)bus_read(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET + i, 1);
	assert_string_equal(sig, "QEMU CFG");
	assert_int_equal(bus_read(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET, 4), 0x554d4551);
	/* byte writes of the address do nothing */
	bus_write(&f->tp.p.pio, PORT + FW_CFG_DMA_OFFSET + 7, 1, 0x10);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	sel(f, FW_CFG_SIGNATURE);
	assert_int_equal(rd(f), 'Q');
	fw_cfg_reset(f->c);
	assert_int_equal(rd(f), 0); /* nothing selected */
	sel(f, FW_CFG_SIGNATURE);
	assert_int_equal(rd(f), 'Q');
}

static void test_board_api_refusals(void **state)
{
	struct fixture *f = *state;
	char name[80];
	struct err err;

	memset(name, 'a', sizeof(name));
	name[FW_CFG_FILE_NAME_MAX + 1] = '\0';
	assert_int_equal(fw_cfg_add_file(f->c, name, "x", 1, &err), -EINVAL);
	assert_int_equal(fw_cfg_add_file(f->c, "", "x", 1, &err), -EINVAL);
	assert_int_equal(fw_cfg_add_item(f->c, FW_CFG_FILE_DIR, "x", 1, &err), -EINVAL);
	assert_int_equal(fw_cfg_add_item(f->c, FW_CFG_FILE_FIRST, "x", 1, &err), -EINVAL);
	assert_int_equal(fw_cfg_add_item(f->c, FW_CFG_ARCH_LOCAL + 0x20, "x", 1, &err), -EINVAL);
	assert_int_equal(fw_cfg_add_file(f->c, "a", "x", 1, &err), 0);
	assert_int_equal(fw_cfg_add_file(f->c, "a", "y", 1, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "added twice"));
	for (int i = 1; i < FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(fw_cfg_add_file(f->c, name, "x", 1, &err), 0);
	}
	assert_int_equal(fw_cfg_add_file(f->c, "one-too-many", "x", 1, &err), -ENOSPC);
	/* the directory holds all 64 */
	sel(f, FW_CFG_FILE_DIR);
	for (int i = 0; i < 3; i++)
		rd(f);
	assert_int_equal(rd(f), FW_CFG_MAX_FILES);
}

static void test_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf rec, again;
	struct err err = { 0 };

	state_buf_init(&rec);
	state_buf_init(&again);
	sel(f, FW_CFG_SIGNATURE);
	rd(f);
	rd(f);
	assert_int_equal(state_save(fw_cfg_device_ops.state, "fw-cfg", f->c, &rec, &err), 0);
	fw_cfg_reset(f->c);
	assert_int_equal(
		state_load(fw_cfg_device_ops.state, "fw-cfg", f->c, rec.data, rec.len, &err), 0);
	assert_int_equal(rd(f), 'M'); /* the third byte: selection and offset came back */
	assert_int_equal(state_save(fw_cfg_device_ops.state, "fw-cfg", f->c, &again, &err), 0);
	assert_int_not_equal(rec.len, 0);
	state_buf_free(&rec);
	state_buf_free(&again);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_signature_and_id),   T(test_unknown_keys_read_zero),
		T(test_items_and_files),    T(test_dma),
		T(test_dma_register),	    T(test_reset),
		T(test_board_api_refusals), T(test_state),
	};
#undef T
	return cmocka_run_group_tests_name("fw_cfg", tests, NULL, NULL);
}
