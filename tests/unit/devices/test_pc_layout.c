// SPDX-License-Identifier: MIT
/*
 * Every device model of src/devices on one platform at its PC address, as
 * board_pc.c will place them: no port conflicts, each answers at its ports,
 * the legacy ports of devices not written yet (PIC 0x20/0xA0, PIT 0x40) stay
 * free, and destroying everything through the device_ops tables leaves both
 * buses empty.
 */
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/piix.h"
#include "devices/rtc.h"
#include "devices/testdev.h"
#include "devices/uart.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct dev_entry {
	const struct device_ops *ops;
	void *dev;
};

static void test_pc_devices_coexist(void **state)
{
	struct test_platform tp;
	struct fake_irq irq[16];
	struct dev_entry devs[16];
	unsigned n = 0;
	struct uart *com1, *com2;
	struct rtc *rtc;
	struct i8042 *kbc;
	struct acpi_pm *pm;
	struct pci_host *host;
	struct piix *piix;
	struct debug_exit *dbg;
	struct testdev *td;
	struct err err = { 0 };
	struct uart_config com1_cfg = { .name = "uart0", .base = 0x3f8 };
	struct uart_config com2_cfg = { .name = "uart1", .base = 0x2f8 };
	struct rtc_config rtc_cfg = { .name = "rtc", .base = RTC_DEFAULT_BASE };
	struct i8042_config kbc_cfg = { .name = "i8042" };
	struct acpi_pm_config pm_cfg = { .name = "acpi-pm" };
	struct pci_host_config host_cfg = { .name = "pci" };
	struct debug_exit_config dbg_cfg = { .name = "debug-exit",
					     .port = DEBUG_EXIT_DEFAULT_PORT };
	struct testdev_config td_cfg = { .name = "testdev",
					 .pio_base = TESTDEV_DEFAULT_PIO_BASE,
					 .mmio_gpa = TESTDEV_DEFAULT_MMIO_GPA };

	(void)state;
	assert_int_equal(test_platform_init(&tp, 1 << 20), 0);
	assert_int_equal(uart_create(&tp.p, &com1_cfg, fake_irq_line(&irq[4], 4), &com1, &err), 0);
	devs[n++] = (struct dev_entry){ &uart_device_ops, com1 };
	assert_int_equal(uart_create(&tp.p, &com2_cfg, fake_irq_line(&irq[3], 3), &com2, &err), 0);
	devs[n++] = (struct dev_entry){ &uart_device_ops, com2 };
	assert_int_equal(rtc_create(&tp.p, &rtc_cfg, fake_irq_line(&irq[8], 8), &rtc, &err), 0);
	devs[n++] = (struct dev_entry){ &rtc_device_ops, rtc };
	assert_int_equal(i8042_create(&tp.p, &kbc_cfg, fake_irq_line(&irq[1], 1),
				      fake_irq_line(&irq[12], 12), &kbc, &err),
			 0);
	devs[n++] = (struct dev_entry){ &i8042_device_ops, kbc };
	assert_int_equal(acpi_pm_create(&tp.p, &pm_cfg, fake_irq_line(&irq[9], 9), &pm, &err), 0);
	devs[n++] = (struct dev_entry){ &acpi_pm_device_ops, pm };
	assert_int_equal(pci_host_create(&tp.p, &host_cfg, &host, &err), 0);
	assert_int_equal(piix_create(host, &piix, &err), 0);
	devs[n++] = (struct dev_entry){ &piix_device_ops, piix }; /* before its host */
	devs[n++] = (struct dev_entry){ &pci_host_device_ops, host };
	assert_int_equal(debug_exit_create(&tp.p, &dbg_cfg, (struct irq_line){ 0 }, &dbg, &err), 0);
	devs[n++] = (struct dev_entry){ &debug_exit_device_ops, dbg };
	assert_int_equal(testdev_create(&tp.p, &td_cfg, fake_irq_line(&irq[5], 5), &td, &err), 0);
	devs[n++] = (struct dev_entry){ &testdev_device_ops, td };

	/* Each answers at its ports. */
	bus_write(&tp.p.pio, 0x3f8 + 7, 1, 0x11);
	bus_write(&tp.p.pio, 0x2f8 + 7, 1, 0x22);
	assert_int_equal(bus_read(&tp.p.pio, 0x3f8 + 7, 1), 0x11);
	assert_int_equal(bus_read(&tp.p.pio, 0x2f8 + 7, 1), 0x22);
	bus_write(&tp.p.pio, 0x70, 1, 0x0d);
	assert_int_equal(bus_read(&tp.p.pio, 0x71, 1), 0x80);
	bus_write(&tp.p.pio, 0x64, 1, 0xaa);
	assert_int_equal(bus_read(&tp.p.pio, 0x60, 1), 0x55);
	assert_int_equal(bus_read(&tp.p.pio, ACPI_PM_PM1A_CNT, 2), ACPI_PM1_SCI_EN);
	bus_write(&tp.p.pio, 0xcf8, 4, 0x80000000);
	assert_int_equal(bus_read(&tp.p.pio, 0xcfc, 4), 0x12378086);
	assert_int_equal(bus_read(&tp.p.pio, TESTDEV_DEFAULT_PIO_BASE + TESTDEV_ID, 4),
			 TESTDEV_ID_VALUE);
	assert_int_equal(bus_read(&tp.p.mmio, TESTDEV_DEFAULT_MMIO_GPA + TESTDEV_ID, 4),
			 TESTDEV_ID_VALUE);
	for (u16 port = 0x20; port <= 0x21; port++)
		assert_false(bus_claimed(&tp.p.pio, port));
	for (u16 port = 0x40; port <= 0x43; port++)
		assert_false(bus_claimed(&tp.p.pio, port));
	assert_false(bus_claimed(&tp.p.pio, 0xa0));
	assert_int_equal(tp.nr_reqs, 0);

	/* Reset all, then destroy all through the uniform table. */
	for (unsigned i = 0; i < n; i++) {
		assert_non_null(devs[i].ops->type);
		devs[i].ops->reset(devs[i].dev);
	}
	assert_int_equal(bus_read(&tp.p.pio, 0x3f8 + 1, 1), 0);
	for (unsigned i = 0; i < n; i++)
		devs[i].ops->destroy(devs[i].dev);
	assert_int_equal(tp.p.pio.nr, 0);
	assert_int_equal(tp.p.mmio.nr, 0);
	assert_null(tp.p.clock.armed); /* no timer left armed on freed memory */
	test_platform_destroy(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc_devices_coexist),
	};

	return cmocka_run_group_tests_name("pc_layout", tests, NULL, NULL);
}
