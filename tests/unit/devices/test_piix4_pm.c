// SPDX-License-Identifier: MIT
/*
 * The PIIX4 power-management function (src/devices/piix4_pm.c) through configuration
 * mechanism #1, beside the i440FX and PIIX3 functions (piix.c) and the ACPI PM block
 * (acpi_pm.c), as SeaBIOS, OVMF and Linux program and read it: the identity at 00:01.3; PMBA
 * names where the PM block answers (its timer counts at PMBA + 8) whatever firmware writes
 * (SeaBIOS's 0x601, OVMF's 0xb000); PMIOSE reads set; the SMBus base and host enable read 0
 * (no SMBus controller); the rest of the function reads 0 and keeps nothing; reset in place;
 * the state record.
 */
#include "devices/acpi_pm.h"
#include "devices/pci.h"
#include "devices/piix.h"
#include "devices/piix4_pm.h"
#include "fake_irq.h"
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

#define PM_DEV PIIX4_PM_DEV
#define PM_FN  PIIX4_PM_FN

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct piix *piix;
	struct piix4_pm *pm;
	struct acpi_pm *acpi;
	struct fake_irq sci;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config hc = { .name = "pci0" };
	struct piix4_pm_config pc = { .name = "piix4-pm", .pm_base = ACPI_PM_BASE };
	struct acpi_pm_config ac = { .name = "acpi-pm", .tmr_32bit = true };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	assert_int_equal(piix_create(f->host, &f->piix, NULL), 0);
	pc.host = f->host;
	assert_int_equal(piix4_pm_create(&pc, &f->pm, NULL), 0);
	assert_int_equal(acpi_pm_create(&f->tp.p, &ac, fake_irq_line(&f->sci, 9), &f->acpi, NULL),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_destroy(f->acpi);
	piix4_pm_destroy(f->pm);
	piix_destroy(f->piix);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 cfg_r(struct fixture *f, unsigned off, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | PM_DEV << 11 | PM_FN << 8 | (off & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (off & 3), size);
}

static void cfg_w(struct fixture *f, unsigned off, unsigned size, u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | PM_DEV << 11 | PM_FN << 8 | (off & 0xfc));
	bus_write(&f->tp.p.pio, 0xcfc + (off & 3), size, val);
}

/* The PM timer at the port PMBA names, as OVMF's AcpiTimerLib finds it: (PMBA & ~RTE) + 8. */
static u32 timer_at_pmba(struct fixture *f)
{
	u16 port = (u16)((cfg_r(f, PIIX4_PM_PMBA, 4) & ~1u) + 8);

	return (u32)bus_read(&f->tp.p.pio, port, 4);
}

static void test_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_r(f, 0, 4), 0x71138086);
	assert_int_equal(cfg_r(f, 0x08, 4), 0x06800000u | PIIX4_PM_REVISION);
	assert_int_equal(cfg_r(f, 0x0e, 1), 0); /* single-function header */
	assert_int_equal(cfg_r(f, PCI_INTERRUPT_PIN, 1), 0);
	/* 00:01.0 says the device is multi-function: a scan finds function 3 */
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | PM_DEV << 11 | 0x0c);
	assert_int_equal(bus_read(&f->tp.p.pio, 0xcfe, 1) & 0x80, 0x80);
	/* functions 1 and 2 are absent */
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | PM_DEV << 11 | 1 << 8);
	assert_int_equal(bus_read(&f->tp.p.pio, 0xcfc, 4), 0xffffffffu);
}

static void test_pm_base(void **state)
{
	struct fixture *f = *state;
	u32 t0, t1;

	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 4), ACPI_PM_BASE | 1);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMREGMISC, 1), PIIX4_PM_PMIOSE);
	t0 = timer_at_pmba(f);
	test_platform_advance(&f->tp, 1000000); /* 1 ms: 3579.545 ticks */
	t1 = timer_at_pmba(f);
	assert_in_range(t1 - t0, 3579, 3580);
	/* SeaBIOS's setup (piix4_pm_config_setup) and OVMF's (PIIX4_PMBA_VALUE) */
	cfg_w(f, PIIX4_PM_PMBA, 4, ACPI_PM_BASE | 1);
	cfg_w(f, PIIX4_PM_PMREGMISC, 1, PIIX4_PM_PMIOSE);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 4), ACPI_PM_BASE | 1);
	cfg_w(f, PIIX4_PM_PMBA, 4, 0xb000);
	cfg_w(f, PIIX4_PM_PMREGMISC, 1, 0);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 4), ACPI_PM_BASE | 1);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 2), ACPI_PM_BASE | 1);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMREGMISC, 1), PIIX4_PM_PMIOSE);
	test_platform_advance(&f->tp, 1000000);
	assert_in_range(timer_at_pmba(f) - t1, 3579, 3580);
	assert_int_equal(bus_read(&f->tp.p.pio, 0xb008, 4), 0xffffffffu); /* nothing moved */
}

static void test_smbus_and_rest(void **state)
{
	struct fixture *f = *state;

	/* SeaBIOS: SMBus at 0x700, host interface on */
	cfg_w(f, PIIX4_PM_SMBBA, 4, 0x701);
	cfg_w(f, PIIX4_PM_SMBHSTCFG, 1, 0x09);
	assert_int_equal(cfg_r(f, PIIX4_PM_SMBBA, 4), 1);
	assert_int_equal(cfg_r(f, PIIX4_PM_SMBHSTCFG, 1), 0);
	assert_int_equal(bus_read(&f->tp.p.pio, 0x700, 1), 0xff);
	/* device activity, resource and GPI registers keep nothing */
	for (unsigned off = 0x44; off < PCI_CONFIG_SPACE_SIZE; off += 4) {
		u32 want = off == PIIX4_PM_PMREGMISC ? PIIX4_PM_PMIOSE :
			   off == PIIX4_PM_SMBBA     ? 1 :
						       0;

		cfg_w(f, off, 4, 0xffffffffu);
		assert_int_equal(cfg_r(f, off, 4), want);
	}
	/* the interrupt line is the firmware's note (SeaBIOS writes 9) */
	cfg_w(f, PCI_INTERRUPT_LINE, 1, 9);
	assert_int_equal(cfg_r(f, PCI_INTERRUPT_LINE, 1), 9);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	cfg_w(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	cfg_w(f, PCI_INTERRUPT_LINE, 1, 9);
	piix4_pm_reset(f->pm);
	assert_int_equal(cfg_r(f, PCI_COMMAND, 2), 0);
	assert_int_equal(cfg_r(f, PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(cfg_r(f, 0, 4), 0x71138086);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 4), ACPI_PM_BASE | 1);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMREGMISC, 1), PIIX4_PM_PMIOSE);
	assert_int_equal(cfg_r(f, PIIX4_PM_SMBBA, 4), 1);
}

static void test_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf a, b;
	struct err err = { 0 };

	state_buf_init(&a);
	state_buf_init(&b);
	cfg_w(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	cfg_w(f, PCI_INTERRUPT_LINE, 1, 9);
	assert_int_equal(state_save(piix4_pm_device_ops.state, "piix4-pm", f->pm, &a, &err), 0);
	piix4_pm_reset(f->pm);
	assert_int_equal(
		state_load(piix4_pm_device_ops.state, "piix4-pm", f->pm, a.data, a.len, &err), 0);
	assert_int_equal(cfg_r(f, PCI_COMMAND, 2), PCI_COMMAND_IO);
	assert_int_equal(cfg_r(f, PCI_INTERRUPT_LINE, 1), 9);
	assert_int_equal(cfg_r(f, PIIX4_PM_PMBA, 4), ACPI_PM_BASE | 1);
	assert_int_equal(state_save(piix4_pm_device_ops.state, "piix4-pm", f->pm, &b, &err), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	state_buf_free(&a);
	state_buf_free(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity), T(test_pm_base), T(test_smbus_and_rest),
		T(test_reset),	  T(test_state),
	};
#undef T
	return cmocka_run_group_tests_name("piix4_pm", tests, NULL, NULL);
}
