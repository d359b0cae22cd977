// SPDX-License-Identifier: MIT
/*
 * MC146818A RTC (src/devices/rtc.c) through ports 0x70/0x71 with a fake IRQ 8
 * line and the fake clock. The test platform's virtual wall time starts at
 * 2024-02-29 23:59:50 UTC (a Thursday, ten seconds before a leap-day rollover).
 */
#include "devices/rtc.h"
#include "devices/rtc_regs.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define NS_PER_S 1000000000ull

struct fixture {
	struct test_platform tp;
	struct fake_irq irq;
	struct rtc *rtc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rtc_config cfg = { .name = "rtc", .base = RTC_DEFAULT_BASE };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(rtc_create(&f->tp.p, &cfg, fake_irq_line(&f->irq, 8), &f->rtc, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rtc_destroy(f->rtc);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u8 cmos_read(struct fixture *f, u8 index)
{
	bus_write(&f->tp.p.pio, 0x70, 1, index);
	return (u8)bus_read(&f->tp.p.pio, 0x71, 1);
}

static void cmos_write(struct fixture *f, u8 index, u8 val)
{
	bus_write(&f->tp.p.pio, 0x70, 1, index);
	bus_write(&f->tp.p.pio, 0x71, 1, val);
}

static void expect_time(struct fixture *f, u8 cent, u8 year, u8 mon, u8 day, u8 dow, u8 hour,
			u8 min, u8 sec)
{
	assert_int_equal(cmos_read(f, RTC_SECONDS), sec);
	assert_int_equal(cmos_read(f, RTC_MINUTES), min);
	assert_int_equal(cmos_read(f, RTC_HOURS), hour);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_WEEK), dow);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), day);
	assert_int_equal(cmos_read(f, RTC_MONTH), mon);
	assert_int_equal(cmos_read(f, RTC_YEAR), year);
	assert_int_equal(cmos_read(f, RTC_CENTURY), cent);
}

static void test_time_bcd_and_leap_day_rollover(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_A), RTC_A_DEFAULT);
	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_REG_D), RTC_D_VRT);
	expect_time(f, 0x20, 0x24, 0x02, 0x29, 5, 0x23, 0x59, 0x50);
	test_platform_advance(&f->tp, 9 * NS_PER_S + NS_PER_S - 1);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x59);
	test_platform_advance(&f->tp, 1);
	expect_time(f, 0x20, 0x24, 0x03, 0x01, 6, 0x00, 0x00, 0x00);
}

static void test_binary_and_12_hour_modes(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_DM | RTC_B_24H);
	expect_time(f, 20, 24, 2, 29, 5, 23, 59, 50);
	cmos_write(f, RTC_REG_B, RTC_B_DM);
	assert_int_equal(cmos_read(f, RTC_HOURS), RTC_HOURS_PM | 11);
	cmos_write(f, RTC_REG_B, 0);
	assert_int_equal(cmos_read(f, RTC_HOURS), RTC_HOURS_PM | 0x11);
	test_platform_advance(&f->tp, 10 * NS_PER_S);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x12); /* midnight is 12 AM */
	test_platform_advance(&f->tp, 12 * 3600 * NS_PER_S);
	assert_int_equal(cmos_read(f, RTC_HOURS), RTC_HOURS_PM | 0x12); /* noon is 12 PM */
}

static void test_set_bit_freezes_and_sets_time(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_UIE);
	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H | RTC_B_SET); /* SET clears UIE */
	cmos_write(f, RTC_SECONDS, 0x56);
	cmos_write(f, RTC_MINUTES, 0x34);
	cmos_write(f, RTC_HOURS, 0x12);
	cmos_write(f, RTC_DAY_OF_MONTH, 0x31);
	cmos_write(f, RTC_MONTH, 0x12);
	cmos_write(f, RTC_YEAR, 0x99);
	cmos_write(f, RTC_CENTURY, 0x19);
	test_platform_advance(&f->tp, 5 * NS_PER_S); /* frozen while SET */
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x56);
	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	test_platform_advance(&f->tp, 3 * NS_PER_S + 500000000ull);
	expect_time(f, 0x19, 0x99, 0x12, 0x31, 6, 0x12, 0x34, 0x59); /* 1999-12-31 was a Friday */
	test_platform_advance(&f->tp, (11 * 3600 + 25 * 60 + 1) * NS_PER_S);
	expect_time(f, 0x20, 0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x00);
}

static void test_direct_write_moves_one_field(void **state)
{
	struct fixture *f = *state;

	test_platform_advance(&f->tp, 300000000ull); /* 23:59:50.3 */
	cmos_write(f, RTC_MINUTES, 0x10);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x10);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x23);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), 0x29);
	test_platform_advance(&f->tp, 700000000ull - 1); /* the fraction of the second is kept */
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x50);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x51);
}

static void test_uip_before_each_update(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	test_platform_advance(&f->tp, NS_PER_S - 244000 - 1);
	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(cmos_read(f, RTC_REG_A), RTC_A_UIP | RTC_A_DEFAULT);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x50); /* not yet updated */
	test_platform_advance(&f->tp, 244000);
	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x51);
	cmos_write(f, RTC_REG_A, 0xff); /* UIP is read-only */
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x7f);
}

static void test_update_ended_interrupt(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_A, 0x20); /* no periodic rate: PF stays clear */
	test_platform_advance(&f->tp, 200000000ull);
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_int_equal(cmos_read(f, RTC_REG_C), 0); /* nothing yet */
	test_platform_advance(&f->tp, 800000000ull - 1);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(fake_irq_level(&f->irq), 0); /* reading C clears it */
	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
	test_platform_advance(&f->tp, 3 * NS_PER_S);
	assert_int_equal(f->irq.rises, 2); /* held high until C is read */
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
}

static void test_alarm_interrupt(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_A, 0x20); /* no periodic rate: PF stays clear */
	cmos_write(f, RTC_SECONDS_ALARM, 0x55);
	cmos_write(f, RTC_MINUTES_ALARM, RTC_ALARM_DONT_CARE);
	cmos_write(f, RTC_HOURS_ALARM, 0x23);
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	test_platform_advance(&f->tp, 4 * NS_PER_S);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_UF); /* UF set, but not enabled */
	test_platform_advance(&f->tp, NS_PER_S);	     /* 23:59:55 */
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	test_platform_advance(&f->tp, 60 * NS_PER_S); /* 00:00:55: hour no longer matches */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	cmos_write(f, RTC_HOURS_ALARM, RTC_ALARM_DONT_CARE);
	test_platform_advance(&f->tp, 60 * NS_PER_S); /* 00:01:55 */
	assert_int_equal(fake_irq_level(&f->irq), 1);
}

/* Count periodic interrupts over duration_ns, acknowledging each by reading C. */
static unsigned count_periodic(struct fixture *f, u64 duration_ns, u64 step_ns)
{
	unsigned n = 0;

	for (u64 t = 0; t < duration_ns; t += step_ns) {
		test_platform_advance(&f->tp, step_ns);
		if (fake_irq_level(&f->irq)) {
			assert_int_equal(cmos_read(f, RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF),
					 RTC_C_IRQF | RTC_C_PF);
			n++;
		}
	}
	return n;
}

static void test_periodic_rates(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	test_platform_advance(&f->tp, 976562); /* 1024 Hz: first boundary at 976562.5 ns */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	cmos_read(f, RTC_REG_C);
	assert_int_equal(count_periodic(f, NS_PER_S, 100000), 1024);
	cmos_write(f, RTC_REG_A, 0x20 | 15); /* 2 Hz */
	assert_int_equal(count_periodic(f, 2 * NS_PER_S, 1000000), 4);
	cmos_write(f, RTC_REG_A, 0x20 | 1); /* rate 1 = 256 Hz (table 5) */
	assert_int_equal(count_periodic(f, NS_PER_S, 100000), 256);
	cmos_write(f, RTC_REG_A, 0x20); /* rate 0: off */
	assert_int_equal(count_periodic(f, NS_PER_S, 1000000), 0);
}

static void test_pf_without_pie(void **state)
{
	struct fixture *f = *state;

	test_platform_advance(&f->tp, 500000);
	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
	test_platform_advance(&f->tp, 500000);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_PF); /* flag, no IRQF, no line */
	assert_int_equal(f->irq.sets, 0);
	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
}

static void test_cmos_memory_and_index(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rtc_set_cmos(f->rtc, 0x40, 0xab), 0);
	assert_int_equal(cmos_read(f, 0x40), 0xab);
	assert_int_equal(rtc_set_cmos(f->rtc, RTC_REG_B, 0), -EINVAL);
	assert_int_equal(rtc_set_cmos(f->rtc, 0x80, 0), -EINVAL);
	cmos_write(f, 0x7f, 0x5a);
	assert_int_equal(cmos_read(f, 0x7f), 0x5a);
	assert_int_equal(cmos_read(f, 0x80 | 0x7f), 0x5a); /* NMI-disable bit ignored */
	assert_int_equal(bus_read(&f->tp.p.pio, 0x70, 1), 0xff);

	rtc_set_pc_memory(f->rtc, 3ull << 30, 1ull << 30, 4);
	assert_int_equal(cmos_read(f, 0x15) | cmos_read(f, 0x16) << 8, 640);
	assert_int_equal(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, 0xffff);
	assert_int_equal(cmos_read(f, 0x30) | cmos_read(f, 0x31) << 8, 0xffff);
	assert_int_equal(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8, 0xbf00);
	assert_int_equal(cmos_read(f, 0x5b) | cmos_read(f, 0x5c) << 8 | cmos_read(f, 0x5d) << 16,
			 0x4000);
	assert_int_equal(cmos_read(f, 0x5f), 3);
	rtc_set_pc_memory(f->rtc, 8ull << 20, 0, 1);
	assert_int_equal(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, 7 * 1024);
	assert_int_equal(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8, 0);
	assert_int_equal(cmos_read(f, 0x5f), 0);
}

static void test_reset_keeps_time(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_PIE);
	test_platform_advance(&f->tp, NS_PER_S);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	cmos_write(f, 0x50, 0x77);
	rtc_device_ops.reset(f->rtc);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x51);
	assert_int_equal(cmos_read(f, 0x50), 0x77);
	test_platform_advance(&f->tp, 2 * NS_PER_S);
	assert_int_equal(fake_irq_level(&f->irq), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_time_bcd_and_leap_day_rollover),
		T(test_binary_and_12_hour_modes),
		T(test_set_bit_freezes_and_sets_time),
		T(test_direct_write_moves_one_field),
		T(test_uip_before_each_update),
		T(test_update_ended_interrupt),
		T(test_alarm_interrupt),
		T(test_periodic_rates),
		T(test_pf_without_pie),
		T(test_cmos_memory_and_index),
		T(test_reset_keeps_time),
#undef T
	};

	return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
