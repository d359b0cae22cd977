// SPDX-License-Identifier: MIT
/*
 * 8042 keyboard controller (src/devices/i8042.c) and its PS/2 keyboard and mouse (ps2.c)
 * through ports 0x60/0x64 with fake IRQ 1/12: command set, scan code sets and the
 * controller's translation, the output buffer's order, mouse packets.
 */
#include "devices/i8042.h"
#include "devices/ps2.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

struct fixture {
	struct test_platform tp;
	struct fake_irq kbd, aux;
	struct i8042 *k;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct i8042_config cfg = { .name = "i8042" };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(i8042_create(&f->tp.p, &cfg, fake_irq_line(&f->kbd, 1),
				      fake_irq_line(&f->aux, 12), &f->k, NULL),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->k);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u8 status(struct fixture *f)
{
	return (u8)bus_read(&f->tp.p.pio, I8042_COMMAND_PORT, 1);
}

static void command(struct fixture *f, u8 cmd)
{
	bus_write(&f->tp.p.pio, I8042_COMMAND_PORT, 1, cmd);
}

static void data_write(struct fixture *f, u8 val)
{
	bus_write(&f->tp.p.pio, I8042_DATA_PORT, 1, val);
}

/* Read one byte, checking that the output buffer was full. */
static u8 data_read(struct fixture *f)
{
	assert_true(status(f) & I8042_STR_OBF);
	return (u8)bus_read(&f->tp.p.pio, I8042_DATA_PORT, 1);
}

static void test_pulse_reset(void **state)
{
	struct fixture *f = *state;

	command(f, 0xff); /* pulses nothing */
	assert_int_equal(f->tp.nr_reqs, 0);
	command(f, I8042_CMD_PULSE_RESET);
	assert_int_equal(f->tp.nr_reqs, 1);
	assert_int_equal(f->tp.reqs[0].req, PLATFORM_REQ_RESET);
	command(f, 0xf0); /* bit 0 clear as well */
	assert_int_equal(f->tp.nr_reqs, 2);
}

static void test_output_port(void **state)
{
	struct fixture *f = *state;

	command(f, I8042_CMD_READ_OUTP);
	assert_int_equal(data_read(f), I8042_OUTP_RESET | I8042_OUTP_A20);
	command(f, I8042_CMD_WRITE_OUTP);
	data_write(f, I8042_OUTP_RESET); /* A20 off, reset line high: no reset */
	assert_int_equal(f->tp.nr_reqs, 0);
	command(f, I8042_CMD_READ_OUTP);
	assert_int_equal(data_read(f), I8042_OUTP_RESET);
	command(f, I8042_CMD_WRITE_OUTP);
	data_write(f, I8042_OUTP_A20); /* bit 0 clear: CPU reset */
	assert_int_equal(test_platform_last_req(&f->tp), PLATFORM_REQ_RESET);
}

static void test_self_tests_and_status(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(status(f), I8042_STR_KEYLOCK | I8042_STR_SYSFLAG);
	command(f, I8042_CMD_CTL_TEST);
	assert_int_equal(status(f),
			 I8042_STR_KEYLOCK | I8042_STR_SYSFLAG | I8042_STR_CMDDAT | I8042_STR_OBF);
	assert_int_equal(data_read(f), I8042_CTL_TEST_OK);
	assert_false(status(f) & I8042_STR_OBF);
	command(f, I8042_CMD_KBD_TEST);
	assert_int_equal(data_read(f), 0x00);
	command(f, I8042_CMD_AUX_TEST);
	assert_int_equal(data_read(f), 0x00);
	/* An empty buffer reads the last byte again. */
	assert_int_equal(bus_read(&f->tp.p.pio, I8042_DATA_PORT, 1), 0x00);
}

static void test_command_byte(void **state)
{
	struct fixture *f = *state;

	command(f, I8042_CMD_CTL_RCTR);
	assert_int_equal(data_read(f), I8042_CTR_DEFAULT);
	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, I8042_CTR_XLATE);
	assert_false(status(f) & I8042_STR_CMDDAT); /* last write was data */
	assert_false(status(f) & I8042_STR_SYSFLAG);
	command(f, I8042_CMD_KBD_DISABLE);
	command(f, I8042_CMD_AUX_DISABLE);
	command(f, I8042_CMD_CTL_RCTR);
	assert_int_equal(data_read(f), I8042_CTR_XLATE | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
	command(f, I8042_CMD_KBD_ENABLE);
	command(f, I8042_CMD_AUX_ENABLE);
	command(f, I8042_CMD_CTL_RCTR);
	assert_int_equal(data_read(f), I8042_CTR_XLATE);
}

static void test_keyboard_reset_raises_irq1_per_byte(void **state)
{
	struct fixture *f = *state;

	data_write(f, 0xff);
	assert_int_equal(fake_irq_level(&f->kbd), 1);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(fake_irq_level(&f->kbd), 1); /* next byte waiting */
	assert_int_equal(data_read(f), I8042_KBD_BAT_OK);
	assert_int_equal(fake_irq_level(&f->kbd), 0);
	assert_int_equal(f->kbd.rises, 2); /* one edge per byte */
	assert_int_equal(f->aux.sets, 0);

	/* Interrupt disabled in the command byte: data but no line. */
	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, I8042_CTR_SYSFLAG);
	data_write(f, 0xf4);
	assert_int_equal(fake_irq_level(&f->kbd), 0);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
}

static void test_keyboard_commands(void **state)
{
	struct fixture *f = *state;
	data_write(f, 0xf2);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), 0xab);
	assert_int_equal(data_read(f), 0x41); /* translated MF-II id */
	data_write(f, 0xed);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	data_write(f, 0x07); /* LED parameter, not a command */
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	data_write(f, 0xee);
	assert_int_equal(data_read(f), 0xee);
	data_write(f, 0x01);
	assert_int_equal(data_read(f), I8042_KBD_RESEND);

	/* Translated set 2: A down and up read as set 1 0x1E, 0x9E. */
	assert_true(i8042_key(f->k, PS2_KEY_A, true));
	assert_true(i8042_key(f->k, PS2_KEY_A, false));
	assert_int_equal(data_read(f), 0x1e);
	assert_int_equal(data_read(f), 0x9e);
	/* The keyboard interface disabled: bytes wait in the keyboard. */
	command(f, I8042_CMD_KBD_DISABLE);
	assert_true(i8042_key(f->k, PS2_KEY_Z, true));
	assert_false(status(f) & I8042_STR_OBF);
	command(f, I8042_CMD_KBD_ENABLE);
	assert_int_equal(data_read(f), 0x2c);
	/* Scanning disabled (0xF5): keys are not sent. */
	data_write(f, 0xf5);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_false(i8042_key(f->k, PS2_KEY_Z, true));
	assert_false(status(f) & I8042_STR_OBF);
}

/* Scan code sets: set 2 untranslated, extended keys, set 1, set 3 refused. */
static void test_scan_code_sets(void **state)
{
	struct fixture *f = *state;

	i8042_key(f->k, PS2_KEY_UP, true); /* translated: E0 48, E0 C8 */
	i8042_key(f->k, PS2_KEY_UP, false);
	assert_int_equal(data_read(f), 0xe0);
	assert_int_equal(data_read(f), 0x48);
	assert_int_equal(data_read(f), 0xe0);
	assert_int_equal(data_read(f), 0xc8);
	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, I8042_CTR_KBDINT | I8042_CTR_SYSFLAG); /* translation off */
	i8042_key(f->k, PS2_KEY_A, true);
	i8042_key(f->k, PS2_KEY_A, false);
	i8042_key(f->k, PS2_KEY_RCTRL, false);
	assert_int_equal(data_read(f), 0x1c);
	assert_int_equal(data_read(f), 0xf0);
	assert_int_equal(data_read(f), 0x1c);
	assert_int_equal(data_read(f), 0xe0);
	assert_int_equal(data_read(f), 0xf0);
	assert_int_equal(data_read(f), 0x14);
	data_write(f, 0xf0); /* select set 1 */
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	data_write(f, 0x01);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	data_write(f, 0xf0);
	data_write(f, 0x00); /* which set? */
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), 0x01);
	i8042_key(f->k, PS2_KEY_F12, false);
	assert_int_equal(data_read(f), 0xd8);
	data_write(f, 0xf0);
	data_write(f, 0x03); /* set 3: refused, the keyboard stays on set 1 */
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), I8042_KBD_RESEND);
	/* Reset: back to set 2. */
	data_write(f, 0xff);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), I8042_KBD_BAT_OK);
	i8042_key(f->k, PS2_KEY_F12, true);
	assert_int_equal(data_read(f), 0x07);
}

/* A byte in the output buffer stays until read, whatever arrives meanwhile. */
static void test_output_buffer_order(void **state)
{
	struct fixture *f = *state;

	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, I8042_CTR_DEFAULT | I8042_CTR_AUXINT);
	command(f, I8042_CMD_AUX_SEND);
	data_write(f, 0xf2); /* mouse: ACK, ID 0 */
	assert_true(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(fake_irq_level(&f->aux), 1);
	i8042_key(f->k, PS2_KEY_A, true);
	assert_true(status(f) & I8042_STR_AUXDATA); /* still the mouse's byte */
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	/* the keyboard's byte goes before the mouse's next one */
	assert_false(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(fake_irq_level(&f->kbd), 1);
	assert_int_equal(fake_irq_level(&f->aux), 0);
	assert_int_equal(data_read(f), 0x1e);
	assert_true(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(data_read(f), 0x00);
	assert_false(status(f) & I8042_STR_OBF);
}

static void mouse_cmd(struct fixture *f, u8 val)
{
	command(f, I8042_CMD_AUX_SEND);
	data_write(f, val);
	assert_true(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(data_read(f), 0xfa);
}

/* The mouse: packets, the IntelliMouse wheel, large moves split, status, remote mode. */
static void test_mouse(void **state)
{
	struct fixture *f = *state;

	i8042_mouse(f->k, 5, 5, 0, 0); /* reporting disabled: nothing */
	assert_false(status(f) & I8042_STR_OBF);
	mouse_cmd(f, 0xf4);
	i8042_mouse(f->k, 10, -3, 0, PS2_BUTTON_LEFT);
	assert_int_equal(data_read(f), 0x09);
	assert_int_equal(data_read(f), 10);
	assert_int_equal(data_read(f), 3); /* 3 up: PS/2 counts up as positive */
	assert_false(status(f) & I8042_STR_OBF);
	/* 200, 100, 80: ID 3, 4-byte packets with the wheel. */
	mouse_cmd(f, 0xf3);
	mouse_cmd(f, 200);
	mouse_cmd(f, 0xf3);
	mouse_cmd(f, 100);
	mouse_cmd(f, 0xf3);
	mouse_cmd(f, 80);
	mouse_cmd(f, 0xf2);
	assert_int_equal(data_read(f), 3);
	i8042_mouse(f->k, -300, 0, 1, 0); /* two packets: -255, -45 */
	assert_int_equal(data_read(f), 0x18);
	assert_int_equal(data_read(f), (u8)-255);
	assert_int_equal(data_read(f), 0);
	assert_int_equal(data_read(f), 1);
	assert_int_equal(data_read(f), 0x18);
	assert_int_equal(data_read(f), (u8)-45);
	assert_int_equal(data_read(f), 0);
	assert_int_equal(data_read(f), 0);
	/* status request: enabled, 100/s, resolution 2 */
	mouse_cmd(f, 0xe9);
	assert_int_equal(data_read(f), 0x20);
	assert_int_equal(data_read(f), 2);
	assert_int_equal(data_read(f), 80);
	/* remote mode: movement waits for read data */
	mouse_cmd(f, 0xf0);
	i8042_mouse(f->k, 1, 0, 0, 0);
	assert_false(status(f) & I8042_STR_OBF);
	mouse_cmd(f, 0xeb);
	assert_int_equal(data_read(f), 0x08);
	assert_int_equal(data_read(f), 1);
	assert_int_equal(data_read(f), 0);
	assert_int_equal(data_read(f), 0);
	/* a flood fills the queue and stops; nothing grows */
	mouse_cmd(f, 0xea);
	for (int i = 0; i < 1000; i++)
		i8042_mouse(f->k, 4000, 4000, 0, 0);
	for (int i = 0; i < 100 && (status(f) & I8042_STR_OBF); i++)
		data_read(f);
	assert_false(status(f) & I8042_STR_OBF);
}

static void test_aux_port(void **state)
{
	struct fixture *f = *state;

	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, I8042_CTR_DEFAULT | I8042_CTR_AUXINT);
	command(f, I8042_CMD_AUX_LOOP);
	data_write(f, 0x5a);
	assert_int_equal(fake_irq_level(&f->aux), 1);
	assert_int_equal(fake_irq_level(&f->kbd), 0);
	assert_true(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(data_read(f), 0x5a);
	assert_int_equal(fake_irq_level(&f->aux), 0);
	command(f, I8042_CMD_AUX_SEND);
	data_write(f, 0xff); /* mouse reset: ACK, self test passed, ID 0 */
	assert_true(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(data_read(f), I8042_KBD_ACK);
	assert_int_equal(data_read(f), I8042_KBD_BAT_OK);
	assert_int_equal(data_read(f), 0x00);
	command(f, I8042_CMD_KBD_LOOP);
	data_write(f, 0x33);
	assert_false(status(f) & I8042_STR_AUXDATA);
	assert_int_equal(fake_irq_level(&f->kbd), 1);
	assert_int_equal(data_read(f), 0x33);
}

static void test_reset_clears_queue_and_lines(void **state)
{
	struct fixture *f = *state;

	data_write(f, 0xff);
	assert_int_equal(fake_irq_level(&f->kbd), 1);
	i8042_device_ops.reset(f->k);
	assert_int_equal(fake_irq_level(&f->kbd), 0);
	assert_false(status(f) & I8042_STR_OBF);
}

/*
 * A Linux-style controller probe: flush, self test, a stable command byte
 * read twice, keyboard disabled through the command byte, then the AUX
 * loop-back test with its interrupt, each answered at once (no timeouts).
 */
static void test_probe_sequence(void **state)
{
	struct fixture *f = *state;
	u8 ctr;

	assert_false(status(f) & I8042_STR_OBF); /* nothing to flush */
	command(f, I8042_CMD_CTL_TEST);
	assert_int_equal(data_read(f), I8042_CTL_TEST_OK);
	command(f, I8042_CMD_CTL_RCTR);
	ctr = data_read(f);
	command(f, I8042_CMD_CTL_RCTR);
	assert_int_equal(data_read(f), ctr);
	assert_true(status(f) & I8042_STR_KEYLOCK); /* not inhibited */
	assert_true(ctr & I8042_CTR_XLATE);	    /* translated mode */
	ctr = (ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT;
	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, ctr);
	fake_irq_clear_counts(&f->kbd);
	/* AUX loop with the AUX interrupt enabled. */
	command(f, I8042_CMD_CTL_WCTR);
	data_write(f, (ctr & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT);
	command(f, I8042_CMD_AUX_LOOP);
	data_write(f, 0xa5);
	assert_int_equal(fake_irq_level(&f->aux), 1);
	assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA),
			 I8042_STR_OBF | I8042_STR_AUXDATA);
	assert_int_equal(data_read(f), 0xa5);
	assert_int_equal(fake_irq_level(&f->aux), 0);
	assert_int_equal(f->kbd.sets, 0); /* keyboard interrupt disabled since the CTR write */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pulse_reset),
		T(test_output_port),
		T(test_self_tests_and_status),
		T(test_command_byte),
		T(test_keyboard_reset_raises_irq1_per_byte),
		T(test_keyboard_commands),
		T(test_scan_code_sets),
		T(test_output_buffer_order),
		T(test_mouse),
		T(test_aux_port),
		T(test_reset_clears_queue_and_lines),
		T(test_probe_sequence),
#undef T
	};

	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
