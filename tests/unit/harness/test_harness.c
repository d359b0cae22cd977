// SPDX-License-Identifier: MIT
/*
 * The test doubles themselves: fake_irq records levels and edges,
 * test_platform_advance fires timers at their own deadlines in order, and
 * the request and MSI recorders keep what devices asked for.
 */
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

struct ticker {
	struct timer t;
	u64 period_ns;
	u64 fired_at[8];
	unsigned fired;
};

static void ticker_fire(void *opaque)
{
	struct ticker *k = opaque;

	if (k->fired < 8)
		k->fired_at[k->fired] = vclock_now_ns(k->t.clock);
	k->fired++;
	timer_arm(&k->t, vclock_now_ns(k->t.clock) + k->period_ns);
}

static void test_fake_irq_records_levels_and_edges(void **state)
{
	struct fake_irq f;
	struct irq_line line = fake_irq_line(&f, 7);

	(void)state;
	irq_line_set(&line, 1);
	irq_line_set(&line, 1);
	irq_line_pulse(&line);
	assert_int_equal(fake_irq_level(&f), 0);
	assert_int_equal(f.rises, 1);
	assert_int_equal(f.falls, 1);
	assert_int_equal(fake_irq_edges(&f), 2);
	assert_int_equal(f.sets, 4);
	assert_int_equal(f.last_pin, 7);
	fake_irq_clear_counts(&f);
	assert_int_equal(fake_irq_edges(&f), 0);
}

static void test_advance_fires_periodic_timer_on_time(void **state)
{
	struct test_platform tp;
	struct ticker a = { .period_ns = 300 }, b = { .period_ns = 1000 };

	(void)state;
	assert_int_equal(test_platform_init(&tp, 4096), 0);
	timer_init(&a.t, &tp.p.clock, ticker_fire, &a);
	timer_init(&b.t, &tp.p.clock, ticker_fire, &b);
	timer_arm(&a.t, 300);
	timer_arm(&b.t, 1000);
	assert_int_equal(test_platform_advance(&tp, 1000), 4); /* a at 300/600/900, b at 1000 */
	assert_int_equal(a.fired, 3);
	assert_int_equal(a.fired_at[2], 900);
	assert_int_equal(b.fired_at[0], 1000);
	assert_int_equal(test_platform_now(&tp), 1000);
	test_platform_advance(&tp, 199);
	assert_int_equal(a.fired, 3);
	test_platform_advance(&tp, 1);
	assert_int_equal(a.fired_at[3], 1200);
	timer_cancel(&a.t);
	timer_cancel(&b.t);
	assert_true(gmem_is_ram(&tp.p.mem, 4095));
	assert_false(gmem_is_ram(&tp.p.mem, 4096));
	test_platform_destroy(&tp);
}

static void test_recorders(void **state)
{
	struct test_platform tp;

	(void)state;
	assert_int_equal(test_platform_init(&tp, 0), 0);
	assert_int_equal(test_platform_last_req(&tp), -1);
	platform_request(&tp.p, PLATFORM_REQ_EXIT, 3);
	platform_request(&tp.p, PLATFORM_REQ_POWEROFF, 0);
	assert_int_equal(tp.nr_reqs, 2);
	assert_int_equal(tp.reqs[0].code, 3);
	assert_int_equal(test_platform_last_req(&tp), PLATFORM_REQ_POWEROFF);
	tp.p.msi(&tp.p, 0xfee00000, 0x4041);
	assert_int_equal(tp.nr_msis, 1);
	assert_int_equal(tp.msis[0].addr, 0xfee00000);
	assert_int_equal(tp.msis[0].data, 0x4041);
	assert_int_equal(bus_read(&tp.p.pio, 0x80, 1), 0xff); /* empty buses read all ones */
	test_platform_destroy(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_irq_records_levels_and_edges),
		cmocka_unit_test(test_advance_fires_periodic_timer_on_time),
		cmocka_unit_test(test_recorders),
	};

	return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
