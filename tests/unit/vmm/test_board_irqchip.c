// SPDX-License-Identifier: MIT
/*
 * The PC's userspace interrupt wiring (src/vmm/board_irqchip.c) on the test
 * platform: real 8259 pair, PIT, I/O APIC, local APICs and HPET behind the
 * real buses, with the CPU side (INTR pins, INIT/SIPI) recorded. Checks the
 * routes of board_irqchip.h: ISA IRQs to the 8259 and the I/O APIC (IRQ0 on
 * pin 2, the MADT's override), PCI GSIs, the 8259 through the BSP's LINT0 in
 * ExtINT, MSIs, IPIs with INIT/SIPI, the per-CPU local APIC window and MSRs,
 * level EOI back to the I/O APIC, and the INTR pin following the TPR.
 * Register layouts: Intel SDM vol. 3A chapter 11, 82093AA datasheet, 8259A
 * and 82C54 data sheets.
 */
#include "devices/ioapic_regs.h"
#include "devices/lapic_regs.h"
#include "test_platform.h"
#include "vmm/board_irqchip.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define NR_CPUS 2

struct fixture {
	struct test_platform tp;
	struct board_irqchip *ic;
	bool intr[NR_CPUS];
	unsigned nr_intr_changes[NR_CPUS];
	int startup_cpu[8], startup_vec[8];
	unsigned nr_startups;
	unsigned nmis[NR_CPUS];
};

static void rec_set_intr(void *opaque, unsigned cpu, bool level)
{
	struct fixture *f = opaque;

	assert_true(cpu < NR_CPUS);
	f->intr[cpu] = level;
	f->nr_intr_changes[cpu]++;
}

static void rec_nmi(void *opaque, unsigned cpu)
{
	struct fixture *f = opaque;

	assert_true(cpu < NR_CPUS);
	f->nmis[cpu]++;
}

static void rec_startup(void *opaque, unsigned cpu, int vector)
{
	struct fixture *f = opaque;

	if (f->nr_startups < 8) {
		f->startup_cpu[f->nr_startups] = (int)cpu;
		f->startup_vec[f->nr_startups] = vector;
	}
	f->nr_startups++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct board_irqchip_config cfg = { .nr_cpus = NR_CPUS,
					    .ioapic_id = NR_CPUS,
					    .set_intr = rec_set_intr,
					    .nmi = rec_nmi,
					    .startup = rec_startup };

	assert_non_null(f);
	cfg.opaque = f;
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(board_irqchip_create(&f->tp.p, &cfg, &f->ic, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	board_irqchip_destroy(f->ic);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void outb(struct fixture *f, u16 port, u8 val)
{
	bus_write(&f->tp.p.pio, port, 1, val);
}

/* Linux's init_8259A(): vectors 0x20/0x28, cascade on IR2, all inputs unmasked but mask. */
static void pic_init(struct fixture *f, u8 master_mask)
{
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x20);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, 0x01);
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x28);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, 0x01);
	outb(f, 0x21, master_mask);
	outb(f, 0xa1, 0x00);
}

static u32 apic_rd(struct fixture *f, unsigned cpu, u32 off)
{
	u32 v = 0;

	assert_true(board_irqchip_mmio(f->ic, cpu, LAPIC_DEFAULT_BASE + off, 4, false, &v));
	return v;
}

static void apic_wr(struct fixture *f, unsigned cpu, u32 off, u32 v)
{
	assert_true(board_irqchip_mmio(f->ic, cpu, LAPIC_DEFAULT_BASE + off, 4, true, &v));
}

static void apic_enable(struct fixture *f, unsigned cpu)
{
	apic_wr(f, cpu, LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
}

static void rte_write(struct fixture *f, unsigned pin, u64 rte)
{
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4,
		  IOAPIC_REG_REDTBL + 2 * pin + 1);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, (u32)(rte >> 32));
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4,
		  IOAPIC_REG_REDTBL + 2 * pin);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, (u32)rte);
}

static void line(struct fixture *f, unsigned n, int level)
{
	struct irq_line l = board_irqchip_line(f->ic, n);

	pthread_mutex_lock(&f->tp.p.dev_lock);
	irq_line_set(&l, level);
	pthread_mutex_unlock(&f->tp.p.dev_lock);
}

/* Power-on: the BSP's LINT0 is in ExtINT, so an ISA IRQ reaches CPU 0 through the 8259. */
static void test_isa_irq_through_8259_extint(void **state)
{
	struct fixture *f = *state;

	pic_init(f, 0x00);
	assert_false(f->intr[0]);
	line(f, 4, 1);
	assert_true(f->intr[0]);
	assert_false(f->intr[1]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x24);
	/* Edge: the request left IRR at INTA, INT dropped, and so did the INTR pin. */
	assert_false(f->intr[0]);
	line(f, 4, 0);
	/* The slave's inputs reach the CPU through the cascade. */
	outb(f, 0x20, 0x20); /* non-specific EOI */
	line(f, 12, 1);
	assert_true(f->intr[0]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x2c);
}

/* The same ISA line also reaches I/O APIC pin n; IRQ0 goes to pin 2, not pin 0. */
static void test_isa_irq_through_ioapic(void **state)
{
	struct fixture *f = *state;

	pic_init(f, 0xff); /* the OS masks the 8259 in symmetric I/O mode */
	apic_enable(f, 0);
	apic_enable(f, 1);
	rte_write(f, 4, 0x34 | (1ull << IOAPIC_RTE_DEST_SHIFT));
	rte_write(f, 0, 0x31);
	rte_write(f, 2, 0x30);
	line(f, 4, 1);
	assert_true(f->intr[1]);
	assert_false(f->intr[0]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 1), 0x34);
	assert_false(f->intr[1]);
	line(f, 0, 1);
	assert_true(f->intr[0]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x30);
	/* GSI 16+ (PCI INTx) are I/O APIC pins only. */
	rte_write(f, 17, 0x51);
	line(f, 17, 1);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x51);
}

/*
 * The PIT's OUT0 is IRQ0: a rate generator interrupts the CPU once per period, after the
 * rising edge of OUT going high when the mode is set (82C54 data sheet, mode 2).
 */
static void test_pit_ticks_reach_cpu(void **state)
{
	struct fixture *f = *state;
	unsigned ticks = 0;

	pic_init(f, 0xfe);
	outb(f, 0x43, 0x34); /* channel 0, LSB then MSB, mode 2 */
	outb(f, 0x40, 0x9c); /* 11932: 10 ms */
	outb(f, 0x40, 0x2e);
	for (unsigned ms = 0; ms < 55; ms++) {
		test_platform_advance(&f->tp, 1000000);
		if (f->intr[0]) {
			assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x20);
			outb(f, 0x20, 0x20);
			ticks++;
		}
	}
	assert_int_equal(ticks, 1 + 5);
}

/* An MSI is decoded and put on the APIC bus; the INTR pin follows the TPR. */
static void test_msi_and_tpr(void **state)
{
	struct fixture *f = *state;

	apic_enable(f, 1);
	pthread_mutex_lock(&f->tp.p.dev_lock);
	board_irqchip_msi(f->ic, 0xfee00000 | (1u << 12), 0x45);
	pthread_mutex_unlock(&f->tp.p.dev_lock);
	assert_true(f->intr[1]);
	assert_false(f->intr[0]);
	apic_wr(f, 1, LAPIC_TPR, 0x50); /* class 5 masks vector 0x45 */
	assert_false(f->intr[1]);
	apic_wr(f, 1, LAPIC_TPR, 0x00);
	assert_true(f->intr[1]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 1), 0x45);
	assert_false(f->intr[1]);
	assert_int_equal(apic_rd(f, 1, LAPIC_ISR + 0x20) & (1u << 5), 1u << 5);
	apic_wr(f, 1, LAPIC_EOI, 0);
	assert_int_equal(apic_rd(f, 1, LAPIC_ISR + 0x20), 0);
}

/* A level-triggered pin still asserted at EOI is delivered again (Remote IRR cleared). */
static void test_level_eoi_redelivers(void **state)
{
	struct fixture *f = *state;

	pic_init(f, 0xff);
	apic_enable(f, 0);
	rte_write(f, 9, 0x39 | IOAPIC_RTE_TRIGGER_LEVEL);
	line(f, 9, 1);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x39);
	assert_false(f->intr[0]);
	apic_wr(f, 0, LAPIC_EOI, 0);
	assert_true(f->intr[0]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 0), 0x39);
	line(f, 9, 0);
	apic_wr(f, 0, LAPIC_EOI, 0);
	assert_false(f->intr[0]);
}

/* INIT and STARTUP IPIs from the BSP's ICR reach the CPU side for the AP only. */
static void test_init_sipi(void **state)
{
	struct fixture *f = *state;

	apic_enable(f, 0);
	apic_wr(f, 0, LAPIC_ICR_HI, 1u << 24);
	apic_wr(f, 0, LAPIC_ICR_LO, 0x0000c500); /* INIT, level assert */
	apic_wr(f, 0, LAPIC_ICR_LO, 0x00008500); /* INIT level de-assert: no effect */
	apic_wr(f, 0, LAPIC_ICR_LO, 0x00000608); /* STARTUP, vector 8 */
	assert_int_equal(f->nr_startups, 2);
	assert_int_equal(f->startup_cpu[0], 1);
	assert_int_equal(f->startup_vec[0], -1);
	assert_int_equal(f->startup_cpu[1], 1);
	assert_int_equal(f->startup_vec[1], 8);
	/* All-but-self shorthand from the AP names the BSP. */
	apic_wr(f, 1, LAPIC_ICR_LO, 0x000c0610);
	assert_int_equal(f->nr_startups, 3);
	assert_int_equal(f->startup_cpu[2], 0);
	assert_int_equal(f->startup_vec[2], 0x10);
}

/* An NMI IPI reaches the named CPU's NMI, once, and not its INTR pin. */
static void test_nmi_ipi(void **state)
{
	struct fixture *f = *state;

	apic_enable(f, 0);
	apic_enable(f, 1);
	apic_wr(f, 0, LAPIC_ICR_HI, 1u << 24);
	apic_wr(f, 0, LAPIC_ICR_LO, 0x00000400); /* NMI */
	assert_int_equal(f->nmis[1], 1);
	assert_int_equal(f->nmis[0], 0);
	assert_false(f->intr[1]);
	apic_wr(f, 1, LAPIC_TPR, 0); /* any later look at CPU 1 does not repeat it */
	assert_int_equal(f->nmis[1], 1);
}

/* Each CPU sees its own local APIC in the window; the APIC MSRs are per CPU too. */
static void test_window_and_msrs(void **state)
{
	struct fixture *f = *state;
	u64 v = 0;
	u8 b = 0;

	assert_int_equal(apic_rd(f, 0, LAPIC_ID), 0);
	assert_int_equal(apic_rd(f, 1, LAPIC_ID), 1u << 24);
	assert_int_equal(apic_rd(f, 1, LAPIC_VER), LAPIC_VERSION);
	assert_true(board_irqchip_mmio(f->ic, 1, LAPIC_DEFAULT_BASE + LAPIC_ID + 3, 1, false, &b));
	assert_int_equal(b, 1);
	assert_false(board_irqchip_mmio(f->ic, 0, LAPIC_DEFAULT_BASE + 0x1000, 4, false, &v));
	assert_false(board_irqchip_mmio(f->ic, 0, IOAPIC_DEFAULT_BASE, 4, false, &v));

	assert_int_equal(board_irqchip_msr(f->ic, 0, MSR_IA32_APIC_BASE, false, &v), 0);
	assert_int_equal(v, LAPIC_DEFAULT_BASE | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP);
	assert_int_equal(board_irqchip_msr(f->ic, 1, MSR_IA32_APIC_BASE, false, &v), 0);
	assert_int_equal(v, LAPIC_DEFAULT_BASE | LAPIC_BASE_ENABLE);
	assert_int_equal(board_irqchip_msr(f->ic, 0, 0x10, false, &v), -ENOENT);
	/* Not in x2APIC mode (and not advertised): the x2APIC range raises #GP. */
	assert_int_equal(board_irqchip_msr(f->ic, 0, 0x802, false, &v), -EINVAL);
	/* Moving the window: the old address is no longer the APIC's. */
	v = 0xfed80000ull | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP;
	assert_int_equal(board_irqchip_msr(f->ic, 0, MSR_IA32_APIC_BASE, true, &v), 0);
	assert_false(board_irqchip_mmio(f->ic, 0, LAPIC_DEFAULT_BASE + LAPIC_ID, 4, false, &v));
	assert_true(board_irqchip_mmio(f->ic, 0, 0xfed80000ull + LAPIC_VER, 4, false, &v));
	assert_int_equal((u32)v, LAPIC_VERSION);
	assert_int_equal(apic_rd(f, 1, LAPIC_ID), 1u << 24);
}

/* The local APIC timer, one-shot, raises its vector when the virtual clock passes it. */
static void test_lapic_timer_wakes_cpu(void **state)
{
	struct fixture *f = *state;

	apic_enable(f, 1);
	apic_wr(f, 1, LAPIC_TDCR, 0xb);	      /* divide by 1 */
	apic_wr(f, 1, LAPIC_LVT_TIMER, 0xef); /* one-shot, vector 0xef */
	apic_wr(f, 1, LAPIC_TMICT, 1000000);  /* 1 ms at the 1 GHz bus clock */
	test_platform_advance(&f->tp, 999000);
	assert_false(f->intr[1]);
	test_platform_advance(&f->tp, 2000);
	assert_true(f->intr[1]);
	assert_int_equal(board_irqchip_intr_ack(f->ic, 1), 0xef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_isa_irq_through_8259_extint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isa_irq_through_ioapic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pit_ticks_reach_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_and_tpr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_eoi_redelivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_sipi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nmi_ipi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_and_msrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lapic_timer_wakes_cpu, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
