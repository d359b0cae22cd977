// SPDX-License-Identifier: MIT
/*
 * pvpanic (src/devices/pvpanic.c) through the real pio bus: the port reads the supported
 * events; a write of supported events is one PLATFORM_REQ_PANIC with them, other bits are
 * ignored, a write of none reports nothing; reset clears the last report; the state record
 * round-trips and carries the report.
 */
#include "devices/pvpanic.h"
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

struct fixture {
	struct test_platform tp;
	struct pvpanic *pv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pvpanic_config cfg = { .name = "pvpanic", .port = PVPANIC_DEFAULT_PORT };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pvpanic_create(&f->tp.p, &cfg, &f->pv, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pvpanic_destroy(f->pv);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void test_reads_supported_events(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_read(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1),
			 PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(bus_read(&f->tp.p.pio, PVPANIC_DEFAULT_PORT + 1, 1), 0xff); /* one port */
}

static void test_writes_report_panics(void **state)
{
	struct fixture *f = *state;

	bus_write(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1, 0);
	bus_write(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1, 0xfc); /* only unknown bits */
	assert_int_equal(f->tp.nr_reqs, 0);
	bus_write(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1, PVPANIC_PANICKED | 0x80);
	assert_int_equal(f->tp.nr_reqs, 1);
	assert_int_equal(f->tp.reqs[0].req, PLATFORM_REQ_PANIC);
	assert_int_equal(f->tp.reqs[0].code, PVPANIC_PANICKED);
	bus_write(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1, PVPANIC_CRASH_LOADED);
	assert_int_equal(f->tp.nr_reqs, 2);
	assert_int_equal(f->tp.reqs[1].code, PVPANIC_CRASH_LOADED);
}

static void test_state_and_reset(void **state)
{
	struct fixture *f = *state;
	struct state_buf fresh, panicked, after;
	struct err err = { 0 };

	state_buf_init(&fresh);
	state_buf_init(&panicked);
	state_buf_init(&after);
	assert_int_equal(state_desc_verify(pvpanic_device_ops.state, &err), 0);
	assert_int_equal(state_save(pvpanic_device_ops.state, "pvpanic", f->pv, &fresh, &err), 0);
	bus_write(&f->tp.p.pio, PVPANIC_DEFAULT_PORT, 1, PVPANIC_PANICKED);
	assert_int_equal(state_save(pvpanic_device_ops.state, "pvpanic", f->pv, &panicked, &err),
			 0);
	assert_true(fresh.len != panicked.len ||
		    memcmp(fresh.data, panicked.data, fresh.len)); /* the report is state */
	pvpanic_device_ops.reset(f->pv);
	assert_int_equal(state_save(pvpanic_device_ops.state, "pvpanic", f->pv, &after, &err), 0);
	assert_int_equal(after.len, fresh.len);
	assert_memory_equal(after.data, fresh.data, fresh.len);
	/* Load the panicked record back: saving again gives the same bytes. */
	assert_int_equal(state_load(pvpanic_device_ops.state, "pvpanic", f->pv, panicked.data,
				    panicked.len, &err),
			 0);
	state_buf_free(&after);
	state_buf_init(&after);
	assert_int_equal(state_save(pvpanic_device_ops.state, "pvpanic", f->pv, &after, &err), 0);
	assert_memory_equal(after.data, panicked.data, panicked.len);
	state_buf_free(&fresh);
	state_buf_free(&panicked);
	state_buf_free(&after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_supported_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_report_panics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_and_reset, setup, teardown),
	};
	return cmocka_run_group_tests_name("pvpanic", tests, NULL, NULL);
}
