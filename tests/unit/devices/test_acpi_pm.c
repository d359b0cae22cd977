// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware (src/devices/acpi_pm.c) through the real pio bus with
 * a fake SCI line and the fake clock (ACPI 6.5 sections 4.8.3 and 4.8.4).
 */
#include "devices/acpi_pm.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define PM1_STS ACPI_PM_PM1A_EVT
#define PM1_EN	(ACPI_PM_PM1A_EVT + 2)
#define PM1_CNT ACPI_PM_PM1A_CNT
#define GPE_STS ACPI_PM_GPE0
#define GPE_EN	(ACPI_PM_GPE0 + 4)

struct fixture {
	struct test_platform tp;
	struct fake_irq sci;
	struct acpi_pm *pm;
};

static struct fixture *make_fixture(bool tmr_32bit, bool s3)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct acpi_pm_config cfg = { .name = "acpi-pm", .tmr_32bit = tmr_32bit, .s3 = s3 };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(acpi_pm_create(&f->tp.p, &cfg, fake_irq_line(&f->sci, 9), &f->pm, NULL),
			 0);
	return f;
}

static int setup(void **state)
{
	*state = make_fixture(false, false);
	return 0;
}

static int setup32(void **state)
{
	*state = make_fixture(true, false);
	return 0;
}

static int setup_s3(void **state)
{
	*state = make_fixture(false, true);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_destroy(f->pm);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u64 rd(struct fixture *f, u16 port, unsigned size)
{
	return bus_read(&f->tp.p.pio, port, size);
}

static void wr(struct fixture *f, u16 port, unsigned size, u64 val)
{
	bus_write(&f->tp.p.pio, port, size, val);
}

/* Nanoseconds at which the PM timer reaches ticks. */
static u64 ticks_ns(u64 ticks)
{
	return (u64)(((unsigned __int128)ticks * 1000000000u + ACPI_PM_TMR_HZ - 1) /
		     ACPI_PM_TMR_HZ);
}

static void test_s5_requests_poweroff(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, PM1_CNT, 2), ACPI_PM1_SCI_EN); /* always in ACPI mode */
	/* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	wr(f, PM1_CNT, 2, ACPI_PM1_SCI_EN | (1u << ACPI_PM1_SLP_TYP_SHIFT));
	wr(f, PM1_CNT, 2, ACPI_PM1_SCI_EN | (1u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->tp.nr_reqs, 0); /* type 1 (S3) is not offered here: ignored */
	assert_int_equal(rd(f, PM1_CNT, 2), ACPI_PM1_SCI_EN | (1u << ACPI_PM1_SLP_TYP_SHIFT));

	wr(f, PM1_CNT, 2, (ACPI_PM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->tp.nr_reqs, 1);
	assert_int_equal(f->tp.reqs[0].req, PLATFORM_REQ_POWEROFF);
	assert_int_equal(rd(f, PM1_CNT, 2) & ACPI_PM1_SLP_EN, 0); /* write-only */
}

/*
 * With S3 offered, SLP_TYP S3 | SLP_EN asks to suspend (without, it is ignored as any other
 * type); the RTC's interrupt sets RTC_STS, a wake event once RTC_EN is set (and an SCI with
 * it); the way back sets WAK_STS; the power button is a wake event whether enabled or not.
 */
static void test_s3_and_wake_events(void **state)
{
	struct fixture *f = *state;
	const u16 s3 = ACPI_PM1_SCI_EN | (ACPI_PM_SLP_TYP_S3 << ACPI_PM1_SLP_TYP_SHIFT);

	wr(f, PM1_CNT, 2, s3 | ACPI_PM1_SLP_EN);
	assert_int_equal(f->tp.nr_reqs, 1);
	assert_int_equal(f->tp.reqs[0].req, PLATFORM_REQ_SUSPEND);
	assert_int_equal(rd(f, PM1_CNT, 2), s3); /* SLP_EN is write-only */

	assert_false(acpi_pm_wake_event(f->pm));
	acpi_pm_rtc_event(f->pm);
	assert_int_equal(rd(f, PM1_STS, 2), ACPI_PM1_RTC_STS);
	assert_false(acpi_pm_wake_event(f->pm)); /* RTC_EN clear */
	assert_int_equal(fake_irq_level(&f->sci), 0);
	wr(f, PM1_EN, 2, ACPI_PM1_RTC_EN);
	assert_true(acpi_pm_wake_event(f->pm));
	assert_int_equal(fake_irq_level(&f->sci), 1);
	acpi_pm_woke(f->pm);
	assert_int_equal(rd(f, PM1_STS, 2), ACPI_PM1_RTC_STS | ACPI_PM1_WAK_STS);
	wr(f, PM1_STS, 2, ACPI_PM1_RTC_STS | ACPI_PM1_WAK_STS);
	assert_int_equal(rd(f, PM1_STS, 2), 0);
	assert_false(acpi_pm_wake_event(f->pm));
	acpi_pm_power_button(f->pm);
	assert_true(acpi_pm_wake_event(f->pm));
}

static void test_s3_not_offered(void **state)
{
	struct fixture *f = *state;

	wr(f, PM1_CNT, 2,
	   ACPI_PM1_SCI_EN | (ACPI_PM_SLP_TYP_S3 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->tp.nr_reqs, 0);
}

static void test_power_button_sci(void **state)
{
	struct fixture *f = *state;

	acpi_pm_power_button(f->pm);
	assert_int_equal(rd(f, PM1_STS, 2), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(fake_irq_level(&f->sci), 0); /* not enabled */
	wr(f, PM1_EN, 2, ACPI_PM1_PWRBTN_EN);
	assert_int_equal(fake_irq_level(&f->sci), 1);
	assert_int_equal(rd(f, PM1_EN, 2), ACPI_PM1_PWRBTN_EN);
	assert_int_equal(rd(f, ACPI_PM_PM1A_EVT, 4),
			 ACPI_PM1_PWRBTN_STS | (ACPI_PM1_PWRBTN_EN << 16));
	wr(f, PM1_STS, 2, 0); /* writing 0 clears nothing */
	assert_int_equal(fake_irq_level(&f->sci), 1);
	wr(f, PM1_STS, 2, ACPI_PM1_PWRBTN_STS); /* write 1 to clear */
	assert_int_equal(rd(f, PM1_STS, 2), 0);
	assert_int_equal(fake_irq_level(&f->sci), 0);

	/* Without SCI_EN the event is pending but no SCI is raised. */
	wr(f, PM1_CNT, 2, 0);
	acpi_pm_power_button(f->pm);
	assert_int_equal(fake_irq_level(&f->sci), 0);
	wr(f, PM1_CNT, 2, ACPI_PM1_SCI_EN);
	assert_int_equal(fake_irq_level(&f->sci), 1);
	acpi_pm_device_ops.reset(f->pm);
	assert_int_equal(fake_irq_level(&f->sci), 0);
	assert_int_equal(rd(f, PM1_EN, 2), 0);
}

static void test_pm_timer_counts_24_bits(void **state)
{
	struct fixture *f = *state;
	u32 a, b;

	assert_int_equal(rd(f, ACPI_PM_TMR, 4), 0);
	test_platform_advance(&f->tp, 1000000000ull);
	assert_int_equal(rd(f, ACPI_PM_TMR, 4), 3579545);
	test_platform_advance(&f->tp, 1000); /* 3.58 ticks per microsecond */
	assert_int_equal(rd(f, ACPI_PM_TMR, 4), 3579548);
	/* A narrower read samples the same 32-bit value. */
	assert_int_equal(rd(f, ACPI_PM_TMR, 2), 3579548 & 0xffff);
	assert_int_equal(rd(f, ACPI_PM_TMR + 2, 1), (3579548 >> 16) & 0xff);
	wr(f, ACPI_PM_TMR, 4, 0); /* read-only */
	assert_int_equal(rd(f, ACPI_PM_TMR, 4), 3579548);

	/* Wraps at 2^24. */
	test_platform_advance(&f->tp, ticks_ns(1ull << 24) - test_platform_now(&f->tp) - 1);
	a = (u32)rd(f, ACPI_PM_TMR, 4);
	test_platform_advance(&f->tp, 1000);
	b = (u32)rd(f, ACPI_PM_TMR, 4);
	assert_int_equal(a, 0xffffff);
	assert_in_range(b, 1, 10);
}

static void test_pm_timer_counts_32_bits(void **state)
{
	struct fixture *f = *state;

	test_platform_advance(&f->tp, ticks_ns(1ull << 24) + 1000000);
	assert_true(rd(f, ACPI_PM_TMR, 4) > 0xffffff);
}

static void test_tmr_sts_on_top_bit_toggle(void **state)
{
	struct fixture *f = *state;
	const u64 toggle = ticks_ns(1ull << 23); /* about 2.34 s */

	/* Not enabled: the status bit is still set when bit 23 toggles. */
	test_platform_advance(&f->tp, toggle - 1);
	assert_int_equal(rd(f, PM1_STS, 2) & ACPI_PM1_TMR_STS, 0);
	test_platform_advance(&f->tp, 1);
	assert_int_equal(rd(f, PM1_STS, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
	wr(f, PM1_STS, 2, ACPI_PM1_TMR_STS);
	assert_int_equal(rd(f, PM1_STS, 2), 0);

	/* Enabled: the SCI comes at the next toggle (bit 23 falls as the counter wraps). */
	wr(f, PM1_EN, 2, ACPI_PM1_TMR_EN);
	test_platform_advance(&f->tp, toggle - 1000);
	assert_int_equal(fake_irq_level(&f->sci), 0);
	test_platform_advance(&f->tp, 1000);
	assert_int_equal(fake_irq_level(&f->sci), 1);
	assert_int_equal(rd(f, ACPI_PM_TMR, 4), 0); /* 2^24 wrapped */
	wr(f, PM1_STS, 2, ACPI_PM1_TMR_STS);
	assert_int_equal(fake_irq_level(&f->sci), 0);
	test_platform_advance(&f->tp, toggle);
	assert_int_equal(fake_irq_level(&f->sci), 1);
}

static void test_gpe0_block(void **state)
{
	struct fixture *f = *state;

	acpi_pm_gpe_set(f->pm, 3);
	acpi_pm_gpe_set(f->pm, 17);
	assert_int_equal(rd(f, GPE_STS, 4), (1u << 3) | (1u << 17));
	assert_int_equal(fake_irq_level(&f->sci), 0);
	wr(f, GPE_EN, 1, 1u << 3);
	assert_int_equal(fake_irq_level(&f->sci), 1);
	assert_int_equal(rd(f, GPE_EN, 4), 1u << 3);
	wr(f, GPE_STS, 4, 1u << 3);
	assert_int_equal(fake_irq_level(&f->sci), 0);
	assert_int_equal(rd(f, GPE_STS, 4), 1u << 17);
	wr(f, GPE_EN + 2, 1, 1u << 1); /* bit 17 */
	assert_int_equal(fake_irq_level(&f->sci), 1);
	wr(f, GPE_STS + 2, 1, 1u << 1);
	assert_int_equal(fake_irq_level(&f->sci), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5_requests_poweroff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_s3_and_wake_events, setup_s3, teardown),
		cmocka_unit_test_setup_teardown(test_s3_not_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer_counts_24_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer_counts_32_bits, setup32, teardown),
		cmocka_unit_test_setup_teardown(test_tmr_sts_on_top_bit_toggle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpe0_block, setup, teardown),
	};

	return cmocka_run_group_tests_name("acpi_pm", tests, NULL, NULL);
}
