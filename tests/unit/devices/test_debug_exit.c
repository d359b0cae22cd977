// SPDX-License-Identifier: MIT
/* Debug-exit port (src/devices/debug_exit.c) through the real pio bus. */
#include "devices/debug_exit.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define PORT 0x501

struct fixture {
	struct test_platform tp;
	struct debug_exit *d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct debug_exit_config cfg = { .name = "debug-exit", .port = PORT };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(debug_exit_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &f->d, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	debug_exit_destroy(f->d);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void test_write_requests_exit_with_low_byte(void **state)
{
	struct fixture *f = *state;

	static const struct {
		unsigned size;
		u64 val;
		int status;
	} cases[] = {
		{ 1, 0x00, 0 }, { 1, 0x2a, 42 }, { 2, 0x1234, 0x34 }, { 4, 0xdeadbeef, 0xef }
	};

	assert_int_equal(test_platform_last_req(&f->tp), -1);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bus_write(&f->tp.p.pio, PORT, cases[i].size, cases[i].val);
		assert_int_equal(f->tp.nr_reqs, i + 1);
		assert_int_equal(f->tp.reqs[i].req, PLATFORM_REQ_EXIT);
		assert_int_equal(f->tp.reqs[i].code, cases[i].status);
	}
}

/* QEMU's convention: ((V << 1) | 1) & 0xff, at every width. */
static void test_qemu_style(void **state)
{
	struct fixture *f = *state;
	struct debug_exit_config cfg = { .name = "debug-exit", .port = PORT, .qemu_style = true };

	static const struct {
		unsigned size;
		u64 val;
		int status;
	} cases[] = { { 1, 0x00, 1 },	 { 1, 0x15, 43 },	  { 1, 0x80, 1 },
		      { 2, 0x0115, 43 }, { 4, 0x7fffffff, 0xff }, { 4, 0xdeadbeef, 0xdf } };

	debug_exit_destroy(f->d);
	assert_int_equal(debug_exit_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &f->d, NULL), 0);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bus_write(&f->tp.p.pio, PORT, cases[i].size, cases[i].val);
		assert_int_equal(f->tp.nr_reqs, i + 1);
		assert_int_equal(f->tp.reqs[i].req, PLATFORM_REQ_EXIT);
		assert_int_equal(f->tp.reqs[i].code, cases[i].status);
	}
	bus_write(&f->tp.p.pio, PORT + 1, 1, 7); /* the tail of a wide access: ignored */
	assert_int_equal(f->tp.nr_reqs, sizeof(cases) / sizeof(cases[0]));
}

static void test_reads_and_other_ports_do_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_read(&f->tp.p.pio, PORT, 1), 0);
	bus_write(&f->tp.p.pio, PORT + 1, 1, 7);
	bus_write(&f->tp.p.pio, PORT + 3, 1, 7);
	assert_int_equal(f->tp.nr_reqs, 0);
	bus_write(&f->tp.p.pio, PORT + 4, 1, 7); /* outside the device */
	assert_int_equal(f->tp.nr_reqs, 0);
}

static void test_port_conflict_is_reported(void **state)
{
	struct fixture *f = *state;
	struct debug_exit_config cfg = { .name = "debug-exit2", .port = PORT - 2 };
	struct debug_exit *d2 = NULL;
	struct err err = { 0 };

	assert_int_equal(debug_exit_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &d2, &err),
			 -EBUSY);
	assert_string_equal(err.msg, "debug-exit2: ports 0x4ff-0x502 already in use");
	debug_exit_device_ops.destroy(f->d); /* unmaps: the range is free again */
	assert_int_equal(debug_exit_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &f->d, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_requests_exit_with_low_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_qemu_style, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_other_ports_do_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_port_conflict_is_reported, setup, teardown),
	};

	return cmocka_run_group_tests_name("debug_exit", tests, NULL, NULL);
}
