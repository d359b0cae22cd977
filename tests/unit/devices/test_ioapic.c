// SPDX-License-Identifier: MIT
/*
 * 82093AA I/O APIC (src/devices/ioapic.c) through IOREGSEL/IOWIN on the
 * real MMIO bus, inputs from ioapic_input() and a recording APIC bus, plus
 * MSI decoding (SDM vol. 3A 11.11).
 */
#include "devices/ioapic.h"
#include "devices/ioapic_regs.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define MAX_MSGS 16

struct fixture {
	struct test_platform tp;
	struct ioapic *io;
	struct apic_msg msgs[MAX_MSGS];
	unsigned nr_msgs;
};

static void record(void *opaque, const struct apic_msg *m)
{
	struct fixture *f = opaque;

	assert_true(f->nr_msgs < MAX_MSGS);
	f->msgs[f->nr_msgs++] = *m;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ioapic_config cfg = { .name = "ioapic",
				     .base = IOAPIC_DEFAULT_BASE,
				     .id = 2,
				     .deliver = record,
				     .deliver_opaque = f };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(ioapic_create(&f->tp.p, &cfg, &f->io, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ioapic_destroy(f->io);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 reg_read(struct fixture *f, u8 reg)
{
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, reg);
	return (u32)bus_read(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4);
}

static void reg_write(struct fixture *f, u8 reg, u32 val)
{
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, reg);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, val);
}

static void rte_write(struct fixture *f, unsigned pin, u64 rte)
{
	/* Linux writes the high half first, then the low half (which may unmask). */
	reg_write(f, (u8)(IOAPIC_REG_REDTBL + 2 * pin + 1), (u32)(rte >> 32));
	reg_write(f, (u8)(IOAPIC_REG_REDTBL + 2 * pin), (u32)rte);
}

static u64 rte_read(struct fixture *f, unsigned pin)
{
	u64 lo = reg_read(f, (u8)(IOAPIC_REG_REDTBL + 2 * pin));

	return lo | (u64)reg_read(f, (u8)(IOAPIC_REG_REDTBL + 2 * pin + 1)) << 32;
}

static void test_id_version_arb(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(reg_read(f, IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(reg_read(f, IOAPIC_REG_ID), 2u << 24);
	assert_int_equal(reg_read(f, IOAPIC_REG_ARB), 2u << 24);
	reg_write(f, IOAPIC_REG_ID, 0xffffffff);
	assert_int_equal(reg_read(f, IOAPIC_REG_ID), 0x0f000000);
	reg_write(f, IOAPIC_REG_VER, 0);
	assert_int_equal(reg_read(f, IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(bus_read(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4),
			 IOAPIC_REG_VER);
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
		assert_int_equal(rte_read(f, pin), IOAPIC_RTE_MASKED);
	ioapic_reset(f->io);
	assert_int_equal(reg_read(f, IOAPIC_REG_ID), 2u << 24);
}

static void test_edge_pin(void **state)
{
	struct fixture *f = *state;
	struct irq_line pin4 = ioapic_input(f->io, 4);

	rte_write(f, 4, 0x31 | (u64)APIC_DM_LOWEST << 8 | IOAPIC_RTE_DESTMOD | 0x03ull << 56);
	irq_line_set(&pin4, 1);
	irq_line_set(&pin4, 1); /* still high: no new edge */
	assert_int_equal(f->nr_msgs, 1);
	assert_int_equal(f->msgs[0].vector, 0x31);
	assert_int_equal(f->msgs[0].dest, 0x03);
	assert_true(f->msgs[0].dest_logical);
	assert_int_equal(f->msgs[0].delivery, APIC_DM_LOWEST);
	assert_false(f->msgs[0].level_trig);
	irq_line_set(&pin4, 0);
	irq_line_pulse(&pin4);
	assert_int_equal(f->nr_msgs, 2);
	assert_int_equal(rte_read(f, 4) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Masked: the edge is lost, not held for the unmask. */
	rte_write(f, 4, 0x31 | IOAPIC_RTE_MASKED);
	irq_line_pulse(&pin4);
	rte_write(f, 4, 0x31);
	assert_int_equal(f->nr_msgs, 2);
}

static void test_level_pin_redelivers_after_eoi(void **state)
{
	struct fixture *f = *state;
	struct irq_line pin11 = ioapic_input(f->io, 11);

	rte_write(f, 11, 0x41 | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_INTPOL | 0x01ull << 56);
	irq_line_set(&pin11, 1);
	assert_int_equal(f->nr_msgs, 1);
	assert_true(f->msgs[0].level_trig);
	assert_int_equal(f->msgs[0].dest, 1);
	assert_false(f->msgs[0].dest_logical);
	assert_true(rte_read(f, 11) & IOAPIC_RTE_REMOTE_IRR);
	irq_line_set(&pin11, 0);
	irq_line_set(&pin11, 1); /* Remote IRR set: no message */
	assert_int_equal(f->nr_msgs, 1);
	ioapic_eoi(f->io, 0x40); /* another vector: nothing */
	assert_int_equal(f->nr_msgs, 1);
	ioapic_eoi(f->io, 0x41); /* still asserted: again */
	assert_int_equal(f->nr_msgs, 2);
	assert_true(rte_read(f, 11) & IOAPIC_RTE_REMOTE_IRR);
	irq_line_set(&pin11, 0);
	ioapic_eoi(f->io, 0x41);
	assert_int_equal(f->nr_msgs, 2);
	assert_int_equal(rte_read(f, 11) & IOAPIC_RTE_REMOTE_IRR, 0);
}

static void test_level_unmask_delivers_and_ro_bits(void **state)
{
	struct fixture *f = *state;
	struct irq_line pin9 = ioapic_input(f->io, 9);
	u64 rte = 0x52 | IOAPIC_RTE_TRIGGER_LEVEL;

	rte_write(f, 9, rte | IOAPIC_RTE_MASKED);
	irq_line_set(&pin9, 1);
	assert_int_equal(f->nr_msgs, 0);
	/* Guest writes of the read-only bits are ignored. */
	rte_write(f, 9, rte | IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVS);
	assert_int_equal(rte_read(f, 9), rte | IOAPIC_RTE_MASKED);
	rte_write(f, 9, rte);
	assert_int_equal(f->nr_msgs, 1);
	assert_int_equal(f->msgs[0].vector, 0x52);
	/* Switching the entry to edge drops Remote IRR. */
	rte_write(f, 9, 0x52);
	assert_int_equal(rte_read(f, 9), 0x52);
	/* Out-of-range pins and registers are harmless. */
	struct irq_line bad = ioapic_input(f->io, 40);
	irq_line_set(&bad, 1);
	reg_write(f, 0x80, 0x1234);
	assert_int_equal(reg_read(f, 0x80), 0);
	assert_int_equal(f->nr_msgs, 1);
}

static void test_delivery_modes_pass_through(void **state)
{
	struct fixture *f = *state;
	struct irq_line pin0 = ioapic_input(f->io, 0), pin2 = ioapic_input(f->io, 2);

	rte_write(f, 0, (u64)APIC_DM_EXTINT << 8);
	rte_write(f, 2, (u64)APIC_DM_NMI << 8 | 0xffull << 56 | IOAPIC_RTE_DESTMOD);
	irq_line_pulse(&pin0);
	irq_line_pulse(&pin2);
	assert_int_equal(f->nr_msgs, 2);
	assert_int_equal(f->msgs[0].delivery, APIC_DM_EXTINT);
	assert_int_equal(f->msgs[1].delivery, APIC_DM_NMI);
	assert_int_equal(f->msgs[1].dest, 0xff);
}

static void test_msi_decode(void **state)
{
	struct apic_msg m;

	(void)state;
	/* Linux: dest 5, physical, fixed, edge, vector 0x61 */
	assert_int_equal(ioapic_msi_decode(0xfee05000, 0x0061, &m), 0);
	assert_int_equal(m.dest, 5);
	assert_false(m.dest_logical);
	assert_int_equal(m.delivery, APIC_DM_FIXED);
	assert_int_equal(m.vector, 0x61);
	assert_false(m.level_trig);
	assert_true(m.assert);
	/* logical, lowest priority, level-triggered assert */
	assert_int_equal(ioapic_msi_decode(0xfee0300c, 0xc1a2, &m), 0);
	assert_int_equal(m.dest, 3);
	assert_true(m.dest_logical);
	assert_int_equal(m.delivery, APIC_DM_LOWEST);
	assert_int_equal(m.vector, 0xa2);
	assert_true(m.level_trig);
	assert_true(m.assert);
	assert_int_equal(ioapic_msi_decode(0xfed00000, 0x30, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_id_version_arb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edge_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_pin_redelivers_after_eoi, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_level_unmask_delivers_and_ro_bits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delivery_modes_pass_through, setup, teardown),
		cmocka_unit_test(test_msi_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
