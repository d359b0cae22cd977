// SPDX-License-Identifier: MIT
/*
 * The Q35 chipset functions (src/devices/mch.c, ich9_lpc.c) through the real buses, as
 * SeaBIOS and OVMF program them: the MCH's identity, PCIEXBAR mapping the ECAM window (the
 * same registers as mechanism #1, absent functions all ones, extended space 0, moved and
 * disabled with the register, lengths, the reserved length refused), PAM storage, SMRAM's
 * read-only base and its lock; the LPC bridge's identity, PMBASE reading where the PM block
 * is whatever is written, PIRQ routing, the RCBA window, the APM ports; reset and the state
 * records (which carry the ECAM mapping and the lock).
 */
#include "devices/ich9_lpc.h"
#include "devices/mch.h"
#include "devices/pci.h"
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

#define ECAM MCH_ECAM_DEFAULT_BASE

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct mch *mch;
	struct ich9_lpc *lpc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config hc = { .name = "pci0" };
	struct ich9_lpc_config lc = { .name = "ich9-lpc", .pm_base = 0x600 };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	assert_int_equal(mch_create(&f->tp.p, f->host, &f->mch, NULL), 0);
	lc.host = f->host;
	assert_int_equal(ich9_lpc_create(&f->tp.p, &lc, &f->lpc, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ich9_lpc_destroy(f->lpc);
	mch_destroy(f->mch);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 cfg_r(struct fixture *f, unsigned dev, unsigned fn, unsigned off, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | dev << 11 | fn << 8 | (off & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (off & 3), size);
}

static void cfg_w(struct fixture *f, unsigned dev, unsigned fn, unsigned off, unsigned size,
		  u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | dev << 11 | fn << 8 | (off & 0xfc));
	bus_write(&f->tp.p.pio, 0xcfc + (off & 3), size, val);
}

static u32 ecam_r(struct fixture *f, u64 base, unsigned dev, unsigned fn, unsigned off,
		  unsigned size)
{
	return (u32)bus_read(&f->tp.p.mmio, base + (dev << 15 | fn << 12 | off), size);
}

static void test_mch_identity_and_ecam(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_r(f, 0, 0, 0, 4), 0x29c08086);
	assert_int_equal(cfg_r(f, 0, 0, 0x2c, 4), 0x11001af4); /* the QEMU VM subsystem */
	assert_int_equal(cfg_r(f, 0, 0, 0x0a, 2), 0x0600);
	/* no window until firmware enables it */
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM, 4), 0xffffffffu);
	cfg_w(f, 0, 0, MCH_PCIEXBAR + 4, 4, 0);
	cfg_w(f, 0, 0, MCH_PCIEXBAR, 4, (u32)ECAM | 1);
	assert_int_equal(cfg_r(f, 0, 0, MCH_PCIEXBAR, 4), (u32)ECAM | 1);
	/* the same functions as mechanism #1 */
	assert_int_equal(ecam_r(f, ECAM, 0, 0, 0, 4), 0x29c08086);
	assert_int_equal(ecam_r(f, ECAM, ICH9_LPC_DEV, 0, 0, 4), 0x29188086);
	assert_int_equal(ecam_r(f, ECAM, ICH9_LPC_DEV, 0, 2, 2), 0x2918);
	assert_int_equal(ecam_r(f, ECAM, ICH9_LPC_DEV, 0, 0x0e, 1), 0x80); /* multi-function */
	assert_int_equal(ecam_r(f, ECAM, 5, 0, 0, 4), 0xffffffffu);	   /* nothing there */
	assert_int_equal(ecam_r(f, ECAM, 5, 0, 0, 2), 0xffff);
	assert_int_equal(ecam_r(f, ECAM, 0, 0, 0x100, 4), 0); /* no extended capabilities */
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM + (1u << 20), 4), 0xffffffffu); /* bus 1 */
	/* writes through the window reach the function */
	bus_write(&f->tp.p.mmio, ECAM + (ICH9_LPC_DEV << 15) + ICH9_LPC_PIRQA_ROUT, 1, 0x0b);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_PIRQA_ROUT, 1), 0x0b);
	bus_write(&f->tp.p.mmio, ECAM + 0x100, 4, 0x12345678); /* extended space: ignored */
	/* moved to 0xe0000000 at 64 MiB: the old window is gone */
	cfg_w(f, 0, 0, MCH_PCIEXBAR, 4, 0xe0000000u | 4 | 1);
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM, 4), 0xffffffffu);
	assert_int_equal(ecam_r(f, 0xe0000000u, 0, 0, 0, 4), 0x29c08086);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xe0000000u + (64u << 20), 4), 0xffffffffu);
	/* the reserved length 11b maps nothing; disabling unmaps */
	cfg_w(f, 0, 0, MCH_PCIEXBAR, 4, 0xe0000000u | 6 | 1);
	assert_int_equal(ecam_r(f, 0xe0000000u, 0, 0, 0, 4), 0xffffffffu);
	cfg_w(f, 0, 0, MCH_PCIEXBAR, 4, (u32)ECAM | 1);
	cfg_w(f, 0, 0, MCH_PCIEXBAR, 4, (u32)ECAM);
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM, 4), 0xffffffffu);
	/* what the VMM programs for a boot without firmware */
	mch_enable_ecam(f->mch, ECAM);
	assert_int_equal(ecam_r(f, ECAM, 0, 0, 0, 4), 0x29c08086);
	mch_reset(f->mch);
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM, 4), 0xffffffffu);
	assert_int_equal(cfg_r(f, 0, 0, MCH_PCIEXBAR, 4), 0);
}

static void test_mch_pam_smram(void **state)
{
	struct fixture *f = *state;

	cfg_w(f, 0, 0, MCH_PAM0, 4, 0xffffffff);
	assert_int_equal(cfg_r(f, 0, 0, MCH_PAM0, 4), 0x33333330);
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), MCH_SMRAM_C_BASE);
	cfg_w(f, 0, 0, MCH_SMRAM, 1, 0x4f); /* D_OPEN | G_SMRAME, and the read-only base bits */
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), 0x48 | MCH_SMRAM_C_BASE);
	cfg_w(f, 0, 0, MCH_SMRAM, 1, MCH_SMRAM_D_LCK | 0x08);
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), 0x18 | MCH_SMRAM_C_BASE);
	cfg_w(f, 0, 0, MCH_SMRAM, 1, 0x40); /* locked */
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), 0x18 | MCH_SMRAM_C_BASE);
	mch_reset(f->mch);
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), MCH_SMRAM_C_BASE);
	assert_int_equal(cfg_r(f, 0, 0, MCH_PAM0, 4), 0);
	cfg_w(f, 0, 0, MCH_SMRAM, 1, 0x40);
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), 0x40 | MCH_SMRAM_C_BASE);
}

static void test_lpc_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, 0, 4), 0x29188086);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, 0x0a, 2), 0x0601);
	/* PMBASE: where the PM block is (RTE set), whatever firmware writes */
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_PMBASE, 4), 0x601);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_PMBASE, 4, 0xb001);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_PMBASE, 4), 0x601);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_ACPI_CNTL, 1, ICH9_LPC_ACPI_EN);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_ACPI_CNTL, 1), ICH9_LPC_ACPI_EN);
	/* PIRQ routing: off at reset; A-D and E-H */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(ich9_lpc_pirq_irq(f->lpc, i), -1);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_PIRQA_ROUT, 4, 0x0b0a0b0a);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_PIRQE_ROUT + 3, 1, 0x05);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 0), 10);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 1), 11);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 7), 5);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 4), -1);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 8), -1);
	/* RCBA: a window that reads 0 while enabled */
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u, 4), 0xffffffffu);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4, 0xfed1c000u | ICH9_LPC_RCBA_EN);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4), 0xfed1c001u);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u + 0x3410, 4), 0);
	bus_write(&f->tp.p.mmio, 0xfed1c000u + 0x3410, 4, 0x20);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u + 0x3410, 4), 0);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4, 0xfed1c000u);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u, 4), 0xffffffffu);
	/* APM: the status byte is a scratch register; the control byte raises nothing */
	bus_write(&f->tp.p.pio, ICH9_APM_STS, 1, 0x5a);
	assert_int_equal(bus_read(&f->tp.p.pio, ICH9_APM_STS, 1), 0x5a);
	bus_write(&f->tp.p.pio, ICH9_APM_CNT, 1, 0x01);
	assert_int_equal(bus_read(&f->tp.p.pio, ICH9_APM_CNT, 1), 0x01);
	assert_int_equal(f->tp.nr_reqs, 0);
	/* reset */
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4, 0xfed1c001u);
	ich9_lpc_reset(f->lpc);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 0), -1);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4), 0);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u, 4), 0xffffffffu);
	assert_int_equal(bus_read(&f->tp.p.pio, ICH9_APM_STS, 1), 0);
	assert_int_equal(cfg_r(f, ICH9_LPC_DEV, 0, ICH9_LPC_PMBASE, 4), 0x601);
}

static void test_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf m1, l1, m2, l2;
	struct err err = { 0 };

	state_buf_init(&m1);
	state_buf_init(&l1);
	state_buf_init(&m2);
	state_buf_init(&l2);
	mch_enable_ecam(f->mch, ECAM);
	cfg_w(f, 0, 0, MCH_SMRAM, 1, MCH_SMRAM_D_LCK);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_PIRQA_ROUT, 1, 0x0a);
	cfg_w(f, ICH9_LPC_DEV, 0, ICH9_LPC_RCBA, 4, 0xfed1c001u);
	bus_write(&f->tp.p.pio, ICH9_APM_STS, 1, 0x77);
	assert_int_equal(state_save(mch_device_ops.state, "mch", f->mch, &m1, &err), 0);
	assert_int_equal(state_save(ich9_lpc_device_ops.state, "ich9-lpc", f->lpc, &l1, &err), 0);
	mch_reset(f->mch);
	ich9_lpc_reset(f->lpc);
	assert_int_equal(bus_read(&f->tp.p.mmio, ECAM, 4), 0xffffffffu);
	assert_int_equal(state_load(mch_device_ops.state, "mch", f->mch, m1.data, m1.len, &err), 0);
	assert_int_equal(
		state_load(ich9_lpc_device_ops.state, "ich9-lpc", f->lpc, l1.data, l1.len, &err),
		0);
	assert_int_equal(ecam_r(f, ECAM, 0, 0, 0, 4), 0x29c08086); /* the window is back */
	cfg_w(f, 0, 0, MCH_SMRAM, 1, 0x40);			   /* and still locked */
	assert_int_equal(cfg_r(f, 0, 0, MCH_SMRAM, 1), MCH_SMRAM_D_LCK | MCH_SMRAM_C_BASE);
	assert_int_equal(ich9_lpc_pirq_irq(f->lpc, 0), 10);
	assert_int_equal(bus_read(&f->tp.p.mmio, 0xfed1c000u, 4), 0);
	assert_int_equal(bus_read(&f->tp.p.pio, ICH9_APM_STS, 1), 0x77);
	assert_int_equal(state_save(mch_device_ops.state, "mch", f->mch, &m2, &err), 0);
	assert_int_equal(state_save(ich9_lpc_device_ops.state, "ich9-lpc", f->lpc, &l2, &err), 0);
	assert_int_equal(m1.len, m2.len);
	assert_memory_equal(m1.data, m2.data, m1.len);
	assert_int_equal(l1.len, l2.len);
	assert_memory_equal(l1.data, l2.data, l1.len);
	state_buf_free(&m1);
	state_buf_free(&l1);
	state_buf_free(&m2);
	state_buf_free(&l2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mch_identity_and_ecam),
		T(test_mch_pam_smram),
		T(test_lpc_registers),
		T(test_state),
	};
#undef T
	return cmocka_run_group_tests_name("q35", tests, NULL, NULL);
}
