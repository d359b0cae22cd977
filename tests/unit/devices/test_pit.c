// SPDX-License-Identifier: MIT
/*
 * 82C54 PIT (src/devices/pit.c) through ports 0x40-0x43 and 0x61 with a fake
 * IRQ 0 line and the fake clock. Times are chosen as exact CLK pulses: pulse
 * k happens at ceil(k * 10^9 / 1193182) ns. Nothing runs before a test
 * writes, so a count written at time 0 is loaded on pulse 1 (82C54
 * datasheet: "the count is loaded on the next CLK pulse").
 */
#include "devices/pit.h"
#include "devices/pit_regs.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define PIT_MIN_TEST_PERIOD 10 /* below pit.c's 24 pulses: edges coalesce, none owed */

struct fixture {
	struct test_platform tp;
	struct fake_irq irq0;
	struct pit *pit;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pit_config cfg = { .name = "pit", .base = PIT_DEFAULT_BASE, .port_b = PIT_PORT_B };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pit_create(&f->tp.p, &cfg, fake_irq_line(&f->irq0, 0), &f->pit, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pit_destroy(f->pit);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void outb(struct fixture *f, u16 port, u8 val)
{
	bus_write(&f->tp.p.pio, port, 1, val);
}

static u8 inb(struct fixture *f, u16 port)
{
	return (u8)bus_read(&f->tp.p.pio, port, 1);
}

static u64 tick_ns(u64 tick)
{
	return (u64)(((unsigned __int128)tick * 1000000000ull + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

/* Move the clock to the instant of CLK pulse tick. */
static void to_tick(struct fixture *f, u64 tick)
{
	u64 now = test_platform_now(&f->tp), t = tick_ns(tick);

	assert_true(t >= now);
	test_platform_advance(&f->tp, t - now);
}

/* Just before pulse tick. */
static void before_tick(struct fixture *f, u64 tick)
{
	u64 now = test_platform_now(&f->tp), t = tick_ns(tick) - 1;

	assert_true(t >= now);
	test_platform_advance(&f->tp, t - now);
}

static void program(struct fixture *f, unsigned ch, u8 cw_low, u16 count)
{
	outb(f, 0x43, (u8)(ch << 6 | 0x30 | cw_low));
	outb(f, (u16)(0x40 + ch), (u8)count);
	outb(f, (u16)(0x40 + ch), (u8)(count >> 8));
}

static u16 read16(struct fixture *f, unsigned ch)
{
	u8 lo = inb(f, (u16)(0x40 + ch));

	return (u16)(lo | inb(f, (u16)(0x40 + ch)) << 8);
}

static u16 latch_read(struct fixture *f, unsigned ch)
{
	outb(f, 0x43, (u8)(ch << 6));
	return read16(f, ch);
}

static bool out2(struct fixture *f)
{
	return inb(f, 0x61) & PIT_PORTB_OUT2;
}

static void test_mode2_rate_on_irq0(void **state)
{
	struct fixture *f = *state;
	const u16 n = 1193; /* Linux's LATCH for HZ = 1000 */

	program(f, 0, PIT_MODE_RATE_GEN << 1, n);
	assert_int_equal(fake_irq_level(&f->irq0), 1); /* OUT high after the mode is set */
	fake_irq_clear_counts(&f->irq0);
	/* OUT low for one pulse when the count reaches 1: pulses 1+kN-1; rises at 1+kN. */
	before_tick(f, 1 + n - 1);
	assert_int_equal(f->irq0.falls, 0);
	to_tick(f, 1 + n - 1);
	assert_int_equal(fake_irq_level(&f->irq0), 0);
	to_tick(f, 1 + n);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	assert_int_equal(f->irq0.rises, 1);
	before_tick(f, 1 + 1000ull * n);
	assert_int_equal(f->irq0.rises, 999);
	to_tick(f, 1 + 1000ull * n);
	assert_int_equal(f->irq0.rises, 1000);
	assert_int_equal(f->irq0.falls, 1000);
	/* 1000 periods of 1193 pulses are 0.99985 s of virtual time. */
	assert_int_equal(test_platform_now(&f->tp), tick_ns(1 + 1000ull * n));
}

static void test_mode2_count_and_latch(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_RATE_GEN << 1, 1000);
	to_tick(f, 101);
	assert_int_equal(latch_read(f, 0), 900);
	to_tick(f, 151);
	outb(f, 0x43, 0x00); /* latch 850 */
	to_tick(f, 201);
	outb(f, 0x43, 0x00); /* ignored: the first latch was not read yet */
	to_tick(f, 301);
	assert_int_equal(read16(f, 0), 850);
	assert_int_equal(read16(f, 0), 700); /* live */
	to_tick(f, 1001);
	assert_int_equal(read16(f, 0), 1000); /* reloaded */
	to_tick(f, 1002);
	assert_int_equal(read16(f, 0), 999);
}

static void test_mode0_channel2_port61(void **state)
{
	struct fixture *f = *state;
	const u16 latch = 11932; /* Linux pit_calibrate_tsc(): 10 ms */

	/* The Linux sequence: gate high and speaker off, mode 0 on counter 2, LSB then MSB. */
	outb(f, 0x61, (inb(f, 0x61) & ~PIT_PORTB_SPKR) | PIT_PORTB_GATE2);
	outb(f, 0x43, 0xb0);
	assert_false(out2(f)); /* mode 0: OUT low after the control word */
	outb(f, 0x42, latch & 0xff);
	outb(f, 0x42, latch >> 8);
	before_tick(f, 1 + latch);
	assert_false(out2(f));
	assert_int_equal(latch_read(f, 2), 1);
	to_tick(f, 1 + latch);
	assert_true(out2(f));
	assert_int_equal(latch_read(f, 2), 0);
	to_tick(f, 2 + latch);
	assert_true(out2(f)); /* stays high, the counter wraps */
	assert_int_equal(latch_read(f, 2), 0xffff);
	assert_int_equal(f->irq0.rises, 0); /* counter 2 is not IRQ 0 */
	assert_int_equal(inb(f, 0x61) & 0x0f, PIT_PORTB_GATE2);
}

static void test_mode0_gate_suspends(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x61, PIT_PORTB_GATE2);
	program(f, 2, PIT_MODE_INT_ON_TC << 1, 100);
	to_tick(f, 41);
	outb(f, 0x61, 0); /* gate low: counting stops at 60 */
	to_tick(f, 500);
	assert_int_equal(latch_read(f, 2), 60);
	assert_false(out2(f));
	outb(f, 0x61, PIT_PORTB_GATE2); /* resumes on the next pulse */
	before_tick(f, 561);
	assert_false(out2(f));
	to_tick(f, 561);
	assert_true(out2(f));
}

static void test_readback_status_and_null_count(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_RATE_GEN << 1, 500);
	/* Count written, not yet loaded: NULL COUNT set. Read-back count and status of 0. */
	outb(f, 0x43, 0xc0 | PIT_RB_CNT(0));
	assert_int_equal(inb(f, 0x40), PIT_STATUS_OUT | PIT_STATUS_NULL_COUNT | 0x34);
	(void)read16(f, 0);
	to_tick(f, 11);
	outb(f, 0x43, 0xc0 | PIT_RB_CNT(0) | PIT_RB_CNT(2));
	to_tick(f, 21);
	assert_int_equal(inb(f, 0x40), PIT_STATUS_OUT | 0x34);
	assert_int_equal(read16(f, 0), 490);
	/* Counter 2 was never programmed: mode 0 and no count, OUT low. */
	assert_int_equal(inb(f, 0x42), 0x00 | (PIT_RW_LSB << 4));
	/* Status only (bit 5 set: no count latch): the next reads are live. */
	outb(f, 0x43, 0xc0 | PIT_RB_NOT_COUNT | PIT_RB_CNT(0));
	assert_int_equal(inb(f, 0x40), PIT_STATUS_OUT | 0x34);
	assert_int_equal(read16(f, 0), 480);
}

static void test_bcd_and_byte_modes(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_INT_ON_TC << 1 | PIT_CW_BCD, 0x1234);
	to_tick(f, 35);
	assert_int_equal(latch_read(f, 0), 0x1200);
	/* BCD 0 is 10000; wraps to 9999 */
	program(f, 1, PIT_MODE_INT_ON_TC << 1 | PIT_CW_BCD, 0x0000);
	to_tick(f, 35 + 1 + 10000 + 1);
	assert_int_equal(latch_read(f, 1), 0x9999);
	/* LSB only, then MSB only access; now is pulse 10037, so counts load on 10038. */
	outb(f, 0x43, 0x40 | PIT_RW_LSB << 4 | PIT_MODE_RATE_GEN << 1);
	outb(f, 0x41, 200);
	to_tick(f, 10038 + 50);
	assert_int_equal(inb(f, 0x41), 150);
	assert_int_equal(inb(f, 0x41), 150); /* no byte toggling in LSB mode */
	outb(f, 0x43, 0x40 | PIT_RW_MSB << 4 | PIT_MODE_INT_ON_TC << 1);
	outb(f, 0x41, 0x02); /* 0x200 */
	to_tick(f, 10089 + 256);
	assert_int_equal(inb(f, 0x41), 0x01); /* 512 - 256 */
	to_tick(f, 10089 + 257);
	assert_int_equal(inb(f, 0x41), 0x00); /* 255 */
}

static void test_square_wave(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_SQUARE_WAVE << 1, 101); /* odd: high 51, low 50 */
	fake_irq_clear_counts(&f->irq0);
	to_tick(f, 1);
	assert_int_equal(latch_read(f, 0), 101); /* never above the count written */
	to_tick(f, 2);
	assert_int_equal(latch_read(f, 0), 99); /* decrements by two */
	before_tick(f, 1 + 51);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	to_tick(f, 1 + 51);
	assert_int_equal(fake_irq_level(&f->irq0), 0);
	before_tick(f, 1 + 101);
	assert_int_equal(fake_irq_level(&f->irq0), 0);
	to_tick(f, 1 + 101);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	to_tick(f, 1 + 101 * 50);
	assert_int_equal(f->irq0.rises, 50);
	assert_int_equal(f->irq0.falls, 50);
}

static void test_mode4_single_strobe(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_SW_STROBE << 1, 300);
	fake_irq_clear_counts(&f->irq0);
	to_tick(f, 1 + 300);
	assert_int_equal(fake_irq_level(&f->irq0), 0);
	to_tick(f, 2 + 300);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	to_tick(f, 200000); /* the counter wraps, no second strobe */
	assert_int_equal(f->irq0.rises, 1);
	assert_int_equal(f->irq0.falls, 1);
}

static void test_mode1_gate_trigger(void **state)
{
	struct fixture *f = *state;

	program(f, 2, PIT_MODE_ONESHOT << 1, 50);
	to_tick(f, 100);
	assert_true(out2(f));		/* waiting for a trigger */
	outb(f, 0x61, PIT_PORTB_GATE2); /* trigger: OUT low from pulse 101 to 150 */
	to_tick(f, 101);
	assert_false(out2(f));
	before_tick(f, 151);
	assert_false(out2(f));
	to_tick(f, 151);
	assert_true(out2(f));
	outb(f, 0x61, 0);
	outb(f, 0x61, PIT_PORTB_GATE2); /* retrigger */
	to_tick(f, 152);
	assert_false(out2(f));
}

static void test_mode2_gate_reload_on_channel2(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x61, PIT_PORTB_GATE2);
	program(f, 2, PIT_MODE_RATE_GEN << 1, 400);
	to_tick(f, 100);
	outb(f, 0x61, 0);
	to_tick(f, 1000);
	assert_int_equal(latch_read(f, 2), 301); /* held */
	assert_true(out2(f));
	outb(f, 0x61, PIT_PORTB_GATE2); /* rising gate reloads */
	to_tick(f, 1011);
	assert_int_equal(latch_read(f, 2), 390);
}

static void test_quick_calibrate_msb(void **state)
{
	struct fixture *f = *state;

	/* Linux quick_pit_calibrate(): mode 0, count 0xffff, read LSB and MSB, MSB steps per 256. */
	outb(f, 0x61, PIT_PORTB_GATE2);
	program(f, 2, PIT_MODE_INT_ON_TC << 1, 0xffff);
	for (unsigned i = 1; i < 20; i++) {
		to_tick(f, 1 + 255 + 256ull * i);
		(void)inb(f, 0x42);
		assert_int_equal(inb(f, 0x42), 0xff - i);
	}
	assert_int_equal(f->irq0.sets, 0);
}

static void test_tiny_period_is_bounded(void **state)
{
	struct fixture *f = *state;
	unsigned fired;

	program(f, 0, PIT_MODE_SQUARE_WAVE << 1, 2); /* 596 kHz: hostile */
	fake_irq_clear_counts(&f->irq0);
	fired = test_platform_advance(&f->tp, 100000000); /* 100 ms */
	assert_true(fired <= 100000000 / 20000 + 2);
	assert_true(f->irq0.rises >= fired / 2);
	/* The count still reads exactly. */
	to_tick(f, 1193183);
	assert_int_equal(latch_read(f, 0), 2);
	program(f, 0, PIT_MODE_RATE_GEN << 1, 1); /* illegal in mode 2: OUT stays high */
	fake_irq_clear_counts(&f->irq0);
	assert_int_equal(test_platform_advance(&f->tp, 100000000), 0);
}

/*
 * A late main loop (a loaded host): the clock passes five periods before the timer runs. One
 * edge comes then and four are owed, each given when the CPU takes IRQ 0 (pit_irq0_acked).
 */
static void test_lost_ticks_reinjected(void **state)
{
	struct fixture *f = *state;
	const u16 n = 11932; /* 100 Hz */
	struct vclock *c = &f->tp.p.clock;

	program(f, 0, PIT_MODE_RATE_GEN << 1, n);
	fake_irq_clear_counts(&f->irq0);
	clock_fake_advance(c, tick_ns(1 + 5ull * n + 10) - test_platform_now(&f->tp));
	timer_run_due(c);
	assert_int_equal(f->irq0.rises, 1);
	for (unsigned i = 2; i <= 5; i++) {
		pit_irq0_acked(f->pit);
		assert_int_equal(f->irq0.rises, i);
	}
	pit_irq0_acked(f->pit); /* nothing more is owed */
	assert_int_equal(f->irq0.rises, 5);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	/* On time again: one edge per period, nothing owed. */
	before_tick(f, 1 + 7ull * n);
	assert_int_equal(f->irq0.rises, 6);
	pit_irq0_acked(f->pit);
	assert_int_equal(f->irq0.rises, 6);
	/* Ten seconds late: at most a second's worth (PIT_FREQ_HZ / n = 99 ticks) is owed. */
	clock_fake_advance(c, 10000000000ull);
	timer_run_due(c);
	fake_irq_clear_counts(&f->irq0);
	for (unsigned i = 0; i < 150; i++)
		pit_irq0_acked(f->pit);
	assert_int_equal(f->irq0.rises, PIT_FREQ_HZ / n);
	/* Reprogramming forgets what was owed; so does a one-shot count, which owes nothing. */
	clock_fake_advance(c, 100000000ull);
	timer_run_due(c);
	program(f, 0, PIT_MODE_INT_ON_TC << 1, n);
	fake_irq_clear_counts(&f->irq0);
	clock_fake_advance(c, 100000000ull);
	timer_run_due(c);
	pit_irq0_acked(f->pit);
	assert_int_equal(f->irq0.rises, 1); /* the terminal count's edge only */
}

/* The square wave owes its lost rises too; a count too fast to look at each owes none. */
static void test_lost_ticks_square_and_tiny(void **state)
{
	struct fixture *f = *state;
	const u16 n = 1193;
	struct vclock *c = &f->tp.p.clock;

	program(f, 0, PIT_MODE_SQUARE_WAVE << 1, n);
	fake_irq_clear_counts(&f->irq0);
	clock_fake_advance(c, tick_ns(1 + 3ull * n + (n + 1) / 2 + 5) - test_platform_now(&f->tp));
	timer_run_due(c); /* OUT is low now: the look gives no rise, all three are owed */
	assert_int_equal(f->irq0.rises, 0);
	for (unsigned i = 0; i < 5; i++)
		pit_irq0_acked(f->pit);
	assert_int_equal(f->irq0.rises, 3);
	program(f, 0, PIT_MODE_RATE_GEN << 1, PIT_MIN_TEST_PERIOD);
	clock_fake_advance(c, 1000000ull);
	timer_run_due(c);
	fake_irq_clear_counts(&f->irq0);
	pit_irq0_acked(f->pit);
	assert_int_equal(f->irq0.rises, 0);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	program(f, 0, PIT_MODE_RATE_GEN << 1, 100);
	assert_int_equal(fake_irq_level(&f->irq0), 1);
	pit_reset(f->pit);
	assert_int_equal(fake_irq_level(&f->irq0), 0);
	fake_irq_clear_counts(&f->irq0);
	to_tick(f, 10000);
	assert_int_equal(fake_irq_edges(&f->irq0), 0);
	assert_int_equal(timer_next_deadline(&f->tp.p.clock), TIMER_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode2_rate_on_irq0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_ticks_reinjected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_ticks_square_and_tiny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode2_count_and_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode0_channel2_port61, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode0_gate_suspends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readback_status_and_null_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bcd_and_byte_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_square_wave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode4_single_strobe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode1_gate_trigger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode2_gate_reload_on_channel2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quick_calibrate_msb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_period_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
