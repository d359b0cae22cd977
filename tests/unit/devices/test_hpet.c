// SPDX-License-Identifier: MIT
/*
 * HPET (src/devices/hpet.c) through 32- and 64-bit accesses on the real MMIO
 * bus with fake lines and the fake clock (10 MHz: 100 ns per tick).
 */
#include "devices/hpet.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define B	   HPET_DEFAULT_BASE
#define TN(n, reg) (B + HPET_TIMER_BASE + (n)*HPET_TIMER_SIZE + (reg))

struct fixture {
	struct test_platform tp;
	struct hpet *h;
	struct fake_irq gsi20, gsi21, irq0, irq8;
	int legacy_calls, legacy_on;
};

static void legacy_changed(void *opaque, bool on)
{
	struct fixture *f = opaque;

	f->legacy_calls++;
	f->legacy_on = on;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hpet_config cfg = { .name = "hpet", .base = B };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	cfg.gsi[20] = fake_irq_line(&f->gsi20, 20);
	cfg.gsi[21] = fake_irq_line(&f->gsi21, 21);
	cfg.legacy_irq0 = fake_irq_line(&f->irq0, 0);
	cfg.legacy_irq8 = fake_irq_line(&f->irq8, 8);
	cfg.legacy_changed = legacy_changed;
	cfg.opaque = f;
	assert_int_equal(hpet_create(&f->tp.p, &cfg, &f->h, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hpet_destroy(f->h);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 rd32(struct fixture *f, u64 addr)
{
	return (u32)bus_read(&f->tp.p.mmio, addr, 4);
}

static void wr32(struct fixture *f, u64 addr, u32 val)
{
	bus_write(&f->tp.p.mmio, addr, 4, val);
}

static u64 rd64(struct fixture *f, u64 addr)
{
	return bus_read(&f->tp.p.mmio, addr, 8);
}

static void wr64(struct fixture *f, u64 addr, u64 val)
{
	bus_write(&f->tp.p.mmio, addr, 8, val);
}

static void test_caps_and_counter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd32(f, B + HPET_GCAP_ID), 0x8086a201);
	assert_int_equal(rd32(f, B + HPET_GCAP_ID + 4), 100000000); /* fs per tick */
	assert_int_equal(rd64(f, TN(1, HPET_TN_CONF)) >> 32, HPET_ROUTE_CAP);
	assert_int_equal(rd64(f, TN(2, HPET_TN_CMP)), ~0ull);
	test_platform_advance(&f->tp, 5000);
	assert_int_equal(rd64(f, B + HPET_MAIN_CNT), 0); /* halted */
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	test_platform_advance(&f->tp, 1000000);
	assert_int_equal(rd64(f, B + HPET_MAIN_CNT), 10000);
	test_platform_advance(&f->tp, 99);
	assert_int_equal(rd32(f, B + HPET_MAIN_CNT), 10000);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(rd32(f, B + HPET_MAIN_CNT), 10001);
	wr32(f, B + HPET_GEN_CONF, 0);
	test_platform_advance(&f->tp, 1000000);
	assert_int_equal(rd64(f, B + HPET_MAIN_CNT), 10001);
	wr64(f, B + HPET_MAIN_CNT, 0x123456789ull);
	assert_int_equal(rd32(f, B + HPET_MAIN_CNT + 4), 0x1);
	assert_int_equal(rd32(f, B + HPET_MAIN_CNT), 0x23456789);
	wr32(f, B + HPET_GCAP_ID, 0); /* read-only */
	assert_int_equal(rd32(f, B + HPET_GCAP_ID), 0x8086a201);
}

static void test_oneshot_routed_edge(void **state)
{
	struct fixture *f = *state;

	wr64(f, TN(0, HPET_TN_CONF), HPET_TN_INT_ENB | 2ull << HPET_TN_ROUTE_SHIFT);
	assert_int_equal(rd64(f, TN(0, HPET_TN_CONF)) & HPET_TN_ROUTE_MASK, 0); /* 2 not in CAP */
	wr64(f, TN(0, HPET_TN_CONF), HPET_TN_INT_ENB | 20ull << HPET_TN_ROUTE_SHIFT);
	wr64(f, TN(0, HPET_TN_CMP), 5000);
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	test_platform_advance(&f->tp, 499999);
	assert_int_equal(f->gsi20.rises, 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(f->gsi20.rises, 1);
	assert_int_equal(fake_irq_level(&f->gsi20), 0);
	test_platform_advance(&f->tp, 10000000000ull); /* 64-bit one-shot: once */
	assert_int_equal(f->gsi20.rises, 1);
	assert_int_equal(rd32(f, B + HPET_GINTR_STA), 0); /* edge: no status */
}

static void test_periodic_linux_sequence(void **state)
{
	struct fixture *f = *state;
	const u32 delta = 10000; /* 1 ms */
	u32 now;

	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	test_platform_advance(&f->tp, 12345);
	/* Linux hpet_clkevt_set_state_periodic() */
	wr32(f, TN(0, HPET_TN_CONF),
	     HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32MODE |
		     21u << HPET_TN_ROUTE_SHIFT);
	now = rd32(f, B + HPET_MAIN_CNT);
	assert_int_equal(now, 123);
	wr32(f, TN(0, HPET_TN_CMP), now + delta);
	wr32(f, TN(0, HPET_TN_CMP), delta);
	assert_int_equal(rd32(f, TN(0, HPET_TN_CONF)) & HPET_TN_VAL_SET, 0);
	assert_int_equal(rd32(f, TN(0, HPET_TN_CMP)), now + delta);
	/* First match at counter now + delta = 10123, i.e. virtual time 1012300 ns. */
	test_platform_advance(&f->tp, 1012300 - 12345 - 1);
	assert_int_equal(f->gsi21.rises, 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(f->gsi21.rises, 1);
	assert_int_equal(rd32(f, TN(0, HPET_TN_CMP)), now + 2 * delta);
	test_platform_advance(&f->tp, 999ull * 1000000);
	assert_int_equal(f->gsi21.rises, 1000);
}

static void test_level_status_w1c(void **state)
{
	struct fixture *f = *state;

	wr32(f, TN(1, HPET_TN_CONF),
	     HPET_TN_INT_ENB | HPET_TN_INT_TYPE_LEVEL | 20u << HPET_TN_ROUTE_SHIFT);
	wr32(f, TN(1, HPET_TN_CMP), 10);
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	test_platform_advance(&f->tp, 1000000);
	/* A 32-bit write kept the upper half of the 64-bit comparator (all ones after reset). */
	assert_int_equal(rd32(f, B + HPET_GINTR_STA), 0);
	assert_int_equal(rd64(f, TN(1, HPET_TN_CMP)), 0xffffffff0000000aull);
	wr64(f, TN(1, HPET_TN_CMP), 10010);
	test_platform_advance(&f->tp, 1000);
	assert_int_equal(rd32(f, B + HPET_GINTR_STA), 0x2);
	assert_int_equal(fake_irq_level(&f->gsi20), 1);
	wr32(f, B + HPET_GINTR_STA, 0x1); /* another bit: no effect */
	assert_int_equal(fake_irq_level(&f->gsi20), 1);
	wr32(f, B + HPET_GINTR_STA + 4, 0xffffffff); /* upper half: no effect */
	assert_int_equal(rd32(f, B + HPET_GINTR_STA), 0x2);
	wr32(f, B + HPET_GINTR_STA, 0x2);
	assert_int_equal(fake_irq_level(&f->gsi20), 0);
	assert_int_equal(rd32(f, B + HPET_GINTR_STA), 0);
}

static void test_legacy_replacement_and_fsb(void **state)
{
	struct fixture *f = *state;

	wr32(f, TN(0, HPET_TN_CONF), HPET_TN_INT_ENB | HPET_TN_32MODE | 20u << HPET_TN_ROUTE_SHIFT);
	wr32(f, TN(0, HPET_TN_CMP), 100);
	wr32(f, TN(1, HPET_TN_CONF), HPET_TN_INT_ENB | HPET_TN_32MODE | 20u << HPET_TN_ROUTE_SHIFT);
	wr32(f, TN(1, HPET_TN_CMP), 200);
	wr32(f, TN(2, HPET_TN_CONF), HPET_TN_INT_ENB | HPET_TN_32MODE | HPET_TN_FSB_EN);
	wr64(f, TN(2, HPET_TN_FSB), 0xfee00000ull << 32 | 0x4041);
	wr32(f, TN(2, HPET_TN_CMP), 300);
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEG_RT);
	assert_int_equal(f->legacy_calls, 1);
	assert_int_equal(f->legacy_on, 1);
	test_platform_advance(&f->tp, 100000);
	assert_int_equal(f->irq0.rises, 1);
	assert_int_equal(f->irq8.rises, 1);
	assert_int_equal(f->gsi20.rises, 0);
	assert_int_equal(f->tp.nr_msis, 1);
	assert_int_equal(f->tp.msis[0].addr, 0xfee00000);
	assert_int_equal(f->tp.msis[0].data, 0x4041);
	hpet_reset(f->h);
	assert_int_equal(f->legacy_calls, 2);
	assert_int_equal(f->legacy_on, 0);
}

/*
 * Timer 0 as IRQ 0, periodic at 250 Hz (Linux's boot clockevent): a late main loop passes five
 * matches before the timer runs. One edge comes then and four are owed, each given when the
 * CPU takes IRQ 0 (hpet_irq0_acked); a routed (non-legacy) timer owes nothing.
 */
static void test_legacy_lost_ticks_reinjected(void **state)
{
	struct fixture *f = *state;
	const u32 delta = 40000; /* 4 ms */
	struct vclock *c = &f->tp.p.clock;

	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE | HPET_CONF_LEG_RT);
	wr32(f, TN(0, HPET_TN_CONF),
	     HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32MODE);
	wr32(f, TN(0, HPET_TN_CMP), delta);
	wr32(f, TN(0, HPET_TN_CMP), delta);
	clock_fake_advance(c, 5ull * delta * HPET_TICK_NS + 1000);
	timer_run_due(c);
	assert_int_equal(f->irq0.rises, 1);
	for (unsigned i = 2; i <= 5; i++) {
		hpet_irq0_acked(f->h);
		assert_int_equal(f->irq0.rises, i);
	}
	hpet_irq0_acked(f->h);
	assert_int_equal(f->irq0.rises, 5);
	/* On time again: one edge per match. */
	test_platform_advance(&f->tp, delta * HPET_TICK_NS);
	assert_int_equal(f->irq0.rises, 6);
	/* Ten seconds late: a second's worth (250) at most. */
	clock_fake_advance(c, 10000000000ull);
	timer_run_due(c);
	fake_irq_clear_counts(&f->irq0);
	for (unsigned i = 0; i < 400; i++)
		hpet_irq0_acked(f->h);
	assert_int_equal(f->irq0.rises, 250);
	/* Leaving legacy replacement forgets what is owed. */
	clock_fake_advance(c, 100000000ull);
	timer_run_due(c);
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	fake_irq_clear_counts(&f->irq0);
	hpet_irq0_acked(f->h);
	assert_int_equal(f->irq0.rises, 0);
	/* Routed through the I/O APIC, a late periodic timer fires once and owes nothing. */
	wr32(f, TN(0, HPET_TN_CONF),
	     HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_32MODE | 21u << HPET_TN_ROUTE_SHIFT);
	clock_fake_advance(c, 100000000ull);
	timer_run_due(c);
	assert_int_equal(f->gsi21.rises, 1);
	hpet_irq0_acked(f->h);
	assert_int_equal(f->gsi21.rises + f->irq0.rises, 1);
}

static void test_32bit_wrap(void **state)
{
	struct fixture *f = *state;

	wr64(f, B + HPET_MAIN_CNT, 0xffffff00ull);
	wr32(f, TN(0, HPET_TN_CONF), HPET_TN_INT_ENB | HPET_TN_32MODE | 20u << HPET_TN_ROUTE_SHIFT);
	wr32(f, TN(0, HPET_TN_CMP), 0x10);
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	test_platform_advance(&f->tp, 0x110 * 100 - 1);
	assert_int_equal(f->gsi20.rises, 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(f->gsi20.rises, 1);
	assert_int_equal(rd64(f, B + HPET_MAIN_CNT), 0x100000010ull);
	/* The next match of the low 32 bits is 2^32 ticks later. */
	assert_int_equal(timer_next_deadline(&f->tp.p.clock),
			 test_platform_now(&f->tp) + (1ull << 32) * 100);
}

static void test_tiny_period_is_bounded(void **state)
{
	struct fixture *f = *state;
	unsigned fired;

	wr32(f, TN(0, HPET_TN_CONF),
	     HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET | HPET_TN_32MODE |
		     20u << HPET_TN_ROUTE_SHIFT);
	wr32(f, TN(0, HPET_TN_CMP), 1);
	wr32(f, TN(0, HPET_TN_CMP), 1); /* a period of 100 ns */
	wr32(f, B + HPET_GEN_CONF, HPET_CONF_ENABLE);
	fired = test_platform_advance(&f->tp, 100000000); /* 100 ms */
	assert_true(fired >= 1999 && fired <= 2001);
	assert_int_equal(f->gsi20.rises, fired);
	assert_int_equal(rd32(f, B + HPET_MAIN_CNT), 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps_and_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oneshot_routed_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_linux_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_status_w1c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_replacement_and_fsb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_lost_ticks_reinjected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_period_is_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
