// SPDX-License-Identifier: MIT
/*
 * Local APIC and APIC bus (src/devices/lapic.c) through their register API
 * with the fake clock: reset state, acceptance and priorities, EOI with the
 * level broadcast, the timer (one-shot, periodic at the divided rate,
 * TSC-deadline), IPIs between three LAPICs on an apic_bus (physical,
 * logical flat and cluster, shorthands, lowest priority, INIT/SIPI, NMI),
 * x2APIC MSRs, and end-to-end paths with the real 8259 (virtual wire on
 * LINT0) and the real I/O APIC (level pin redelivered after EOI).
 */
#include "devices/ioapic.h"
#include "devices/ioapic_regs.h"
#include "devices/lapic.h"
#include "devices/lapic_regs.h"
#include "devices/pic.h"
#include "devices/pic_regs.h"
#include "devices/pit.h"
#include "devices/pit_regs.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#define NR_CPUS	 3
#define TSC_HZ	 2500000000ull
#define SVR_ON	 (LAPIC_SVR_ENABLE | 0xff)
#define MAX_RECS 16

struct fixture {
	struct test_platform tp;
	struct apic_bus *bus;
	struct lapic *cpu[NR_CPUS];
	struct ioapic *io;
	struct pic *pic;
	int startups[MAX_RECS][2]; /* apic_id, vector or -1 */
	unsigned nr_startups;
	u8 eois[MAX_RECS];
	unsigned nr_eois;
	unsigned wakes;
};

static void fx_deliver(void *opaque, const struct apic_msg *m)
{
	struct fixture *f = opaque;

	apic_bus_deliver(f->bus, m);
}

static void fx_eoi(void *opaque, u8 vector)
{
	struct fixture *f = opaque;

	assert_true(f->nr_eois < MAX_RECS);
	f->eois[f->nr_eois++] = vector;
	if (f->io)
		ioapic_eoi(f->io, vector);
}

static void fx_startup(void *opaque, unsigned apic_id, int vector)
{
	struct fixture *f = opaque;

	assert_true(f->nr_startups < MAX_RECS);
	f->startups[f->nr_startups][0] = (int)apic_id;
	f->startups[f->nr_startups][1] = vector;
	f->nr_startups++;
}

static int fx_extint_ack(void *opaque)
{
	struct fixture *f = opaque;

	return f->pic ? pic_ack(f->pic) : -1;
}

static void fx_wake(void *opaque, unsigned apic_id)
{
	struct fixture *f = opaque;

	(void)apic_id;
	f->wakes++;
}

static const struct lapic_ops fx_ops = {
	.deliver = fx_deliver,
	.eoi = fx_eoi,
	.startup = fx_startup,
	.extint_ack = fx_extint_ack,
	.wake = fx_wake,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(apic_bus_create(&f->bus), 0);
	for (unsigned i = 0; i < NR_CPUS; i++) {
		char name[16];
		struct lapic_config cfg = { .name = name,
					    .apic_id = i,
					    .bsp = i == 0,
					    .x2apic = true,
					    .bus_hz = 1000000000ull,
					    .tsc_hz = TSC_HZ,
					    .ops = &fx_ops,
					    .opaque = f };

		snprintf(name, sizeof(name), "lapic%u", i);
		assert_int_equal(lapic_create(&f->tp.p, &cfg, &f->cpu[i], NULL), 0);
		assert_int_equal(apic_bus_attach(f->bus, f->cpu[i]), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pic_destroy(f->pic);
	ioapic_destroy(f->io);
	for (unsigned i = 0; i < NR_CPUS; i++)
		lapic_destroy(f->cpu[i]);
	apic_bus_destroy(f->bus);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void fixed(struct lapic *l, u8 vector, bool level)
{
	struct apic_msg m = { .delivery = APIC_DM_FIXED, .vector = vector, .level_trig = level };

	lapic_accept(l, &m);
}

static bool irr_bit(struct lapic *l, unsigned v)
{
	return lapic_read(l, LAPIC_IRR + (v / 32) * 0x10) & (1u << (v % 32));
}

static bool isr_bit(struct lapic *l, unsigned v)
{
	return lapic_read(l, LAPIC_ISR + (v / 32) * 0x10) & (1u << (v % 32));
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;
	struct lapic *bsp = f->cpu[0], *ap = f->cpu[1];

	assert_int_equal(lapic_base_msr(bsp), 0xfee00000 | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP);
	assert_int_equal(lapic_base_msr(ap), 0xfee00000 | LAPIC_BASE_ENABLE);
	assert_int_equal(lapic_read(ap, LAPIC_ID), 1u << 24);
	assert_int_equal(lapic_read(ap, LAPIC_VER), 0x00050014);
	assert_int_equal(lapic_read(ap, LAPIC_SVR), 0xff);
	assert_int_equal(lapic_read(ap, LAPIC_DFR), 0xffffffff);
	for (u32 off = LAPIC_LVT_TIMER; off <= LAPIC_LVT_ERROR; off += 0x10)
		assert_int_equal(lapic_read(ap, off), LAPIC_LVT_MASKED);
	assert_int_equal(lapic_read(bsp, LAPIC_LVT_LINT0), 0x700); /* virtual wire */
	/* Software-disabled: LVT writes stay masked. */
	lapic_write(ap, LAPIC_LVT_LINT1, 0x400);
	assert_int_equal(lapic_read(ap, LAPIC_LVT_LINT1), 0x400 | LAPIC_LVT_MASKED);
	lapic_write(ap, LAPIC_SVR, SVR_ON);
	lapic_write(ap, LAPIC_LVT_LINT1, 0x400);
	assert_int_equal(lapic_read(ap, LAPIC_LVT_LINT1), 0x400);
	/* Disabling again masks every LVT. */
	lapic_write(ap, LAPIC_SVR, 0xff);
	assert_int_equal(lapic_read(ap, LAPIC_LVT_LINT1), 0x400 | LAPIC_LVT_MASKED);
}

static void test_priorities_and_eoi(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[1];

	fixed(l, 0x31, false);
	assert_true(irr_bit(l, 0x31));
	assert_false(lapic_has_interrupt(l)); /* software-disabled: held in IRR */
	lapic_write(l, LAPIC_SVR, SVR_ON);
	fixed(l, 0x51, false);
	assert_true(lapic_has_interrupt(l));
	assert_int_equal(lapic_ack(l), 0x51);
	assert_true(isr_bit(l, 0x51));
	assert_false(irr_bit(l, 0x51));
	assert_int_equal(lapic_read(l, LAPIC_PPR), 0x50);
	assert_false(lapic_has_interrupt(l)); /* 0x31 below the PPR */
	fixed(l, 0x52, false);
	assert_false(lapic_has_interrupt(l)); /* same class as in service */
	fixed(l, 0x61, false);
	assert_int_equal(lapic_ack(l), 0x61);
	lapic_write(l, LAPIC_EOI, 0); /* the highest in service: 0x61 */
	assert_false(isr_bit(l, 0x61));
	assert_true(isr_bit(l, 0x51));
	lapic_write(l, LAPIC_EOI, 0);
	assert_int_equal(lapic_ack(l), 0x52);
	lapic_write(l, LAPIC_EOI, 0);
	/* TPR 0x40 blocks class 3; TPR 0x20 lets it through. */
	lapic_write(l, LAPIC_TPR, 0x40);
	assert_int_equal(lapic_read(l, LAPIC_PPR), 0x40);
	assert_false(lapic_has_interrupt(l));
	lapic_write(l, LAPIC_TPR, 0x20);
	assert_int_equal(lapic_ack(l), 0x31);
	lapic_write(l, LAPIC_EOI, 0);
	assert_int_equal(f->nr_eois, 0); /* all edge: no broadcast */
	/* Nothing left: the spurious vector, no ISR bit. */
	assert_int_equal(lapic_ack(l), 0xff);
	assert_int_equal(lapic_read(l, LAPIC_ISR + 0x70), 0);
	/* Level-triggered: TMR set, EOI broadcast. */
	fixed(l, 0x41, true);
	assert_true(lapic_read(l, LAPIC_TMR + 0x20) & (1u << 1));
	assert_int_equal(lapic_ack(l), 0x41);
	lapic_write(l, LAPIC_EOI, 0);
	assert_int_equal(f->nr_eois, 1);
	assert_int_equal(f->eois[0], 0x41);
}

static void test_illegal_vectors_and_esr(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[0];

	lapic_write(l, LAPIC_SVR, SVR_ON);
	lapic_write(l, LAPIC_LVT_ERROR, 0xfe);
	fixed(l, 0x05, false);
	assert_int_equal(lapic_read(l, LAPIC_ESR), 0); /* not updated until written */
	lapic_write(l, LAPIC_ESR, 0);
	assert_int_equal(lapic_read(l, LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL_VEC);
	assert_int_equal(lapic_ack(l), 0xfe); /* the error LVT fired */
	lapic_write(l, LAPIC_EOI, 0);
	lapic_write(l, LAPIC_ICR_HI, 1u << 24);
	lapic_write(l, LAPIC_ICR_LO, 0x0007); /* fixed IPI with vector 7 */
	lapic_write(l, LAPIC_ESR, 0);
	assert_int_equal(lapic_read(l, LAPIC_ESR), LAPIC_ESR_SEND_ILLEGAL_VEC);
	assert_false(lapic_has_interrupt(f->cpu[1]));
	lapic_write(l, LAPIC_ESR, 0);
	assert_int_equal(lapic_read(l, LAPIC_ESR), 0);
}

static void test_timer_oneshot(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[0];

	lapic_write(l, LAPIC_SVR, SVR_ON);
	lapic_write(l, LAPIC_TDCR, 0x3); /* divide by 16 */
	lapic_write(l, LAPIC_LVT_TIMER, 0x40);
	lapic_write(l, LAPIC_TMICT, 1000); /* 16 us at 1 GHz / 16 */
	test_platform_advance(&f->tp, 8000);
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 500);
	test_platform_advance(&f->tp, 7999);
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 1);
	assert_false(irr_bit(l, 0x40));
	test_platform_advance(&f->tp, 1);
	assert_true(irr_bit(l, 0x40));
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 0);
	assert_int_equal(lapic_ack(l), 0x40);
	lapic_write(l, LAPIC_EOI, 0);
	assert_int_equal(test_platform_advance(&f->tp, 1000000), 0); /* one shot only */
	/* One-shot switched to periodic while counting: the count goes on and then reloads. */
	lapic_write(l, LAPIC_TMICT, 10000); /* 160 us per period */
	test_platform_advance(&f->tp, 80000);
	lapic_write(l, LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC << LAPIC_LVT_TIMER_SHIFT | 0x40);
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 5000);
	assert_int_equal(test_platform_advance(&f->tp, 80000 + 10 * 160000), 11);
	lapic_write(l, LAPIC_LVT_TIMER, 0x40); /* back to one-shot: stops at the next zero */
	assert_int_equal(test_platform_advance(&f->tp, 1000000), 1);
	assert_int_equal(lapic_ack(l), 0x40);
	lapic_write(l, LAPIC_EOI, 0);
	/* Masked: counts, expires, no interrupt. */
	lapic_write(l, LAPIC_LVT_TIMER, 0x40 | LAPIC_LVT_MASKED);
	lapic_write(l, LAPIC_TMICT, 10);
	assert_int_equal(test_platform_advance(&f->tp, 1000), 1);
	assert_false(lapic_has_interrupt(l));
}

static void test_timer_periodic_divided_rate(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[0];

	lapic_write(l, LAPIC_SVR, SVR_ON);
	lapic_write(l, LAPIC_TDCR, 0x1); /* divide by 4 */
	lapic_write(l, LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC << LAPIC_LVT_TIMER_SHIFT | 0xec);
	lapic_write(l, LAPIC_TMICT, 250000); /* 1 ms period: Linux HZ=1000 */
	for (unsigned k = 0; k < 50; k++) {
		test_platform_advance(&f->tp, 999999);
		assert_false(irr_bit(l, 0xec));
		test_platform_advance(&f->tp, 1);
		assert_int_equal(lapic_ack(l), 0xec);
		lapic_write(l, LAPIC_EOI, 0);
		assert_int_equal(lapic_read(l, LAPIC_TMCCT), 250000); /* reloaded */
	}
	test_platform_advance(&f->tp, 500000);
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 125000);
	/* 950 more periods (plus the half): 950 expiries, not one more. */
	assert_int_equal(test_platform_advance(&f->tp, 950 * 1000000ull), 950);
	/* A new divide keeps the current count and continues at the new rate. */
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 125000);
	lapic_write(l, LAPIC_TDCR, 0xb); /* divide by 1 */
	assert_int_equal(test_platform_advance(&f->tp, 124999), 0);
	assert_int_equal(test_platform_advance(&f->tp, 1), 1);
	assert_int_equal(lapic_read(l, LAPIC_TMCCT), 250000);
	assert_int_equal(test_platform_advance(&f->tp, 250000), 1);
	lapic_write(l, LAPIC_TMICT, 0); /* stops */
	assert_int_equal(test_platform_advance(&f->tp, 10000000), 0);
}

static void test_timer_tiny_period_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[0];
	unsigned fired;

	lapic_write(l, LAPIC_SVR, SVR_ON);
	lapic_write(l, LAPIC_TDCR, 0xb); /* divide by 1 */
	lapic_write(l, LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC << LAPIC_LVT_TIMER_SHIFT | 0xec);
	lapic_write(l, LAPIC_TMICT, 1); /* 1 ns: hostile */
	fired = test_platform_advance(&f->tp, 100000000);
	assert_true(fired >= 1999 && fired <= 2001); /* one per 50 us */
	assert_true(irr_bit(l, 0xec));
	lapic_write(l, LAPIC_TMICT, 0);
}

static void test_timer_tsc_deadline(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[0];

	lapic_write(l, LAPIC_SVR, SVR_ON);
	lapic_set_tsc_deadline(l, 1000); /* not in deadline mode: ignored */
	assert_int_equal(lapic_tsc_deadline(l), 0);
	lapic_write(l, LAPIC_LVT_TIMER, LAPIC_TIMER_TSC_DEADLINE << LAPIC_LVT_TIMER_SHIFT | 0xef);
	lapic_write(l, LAPIC_TMICT, 5); /* ignored in deadline mode */
	assert_int_equal(lapic_read(l, LAPIC_TMICT), 0);
	test_platform_advance(&f->tp, 1000000);
	/* TSC = ns * 2.5: deadline 1 ms from now is TSC 5,000,000. */
	lapic_set_tsc_deadline(l, 5000000);
	assert_int_equal(lapic_tsc_deadline(l), 5000000);
	test_platform_advance(&f->tp, 999999);
	assert_false(irr_bit(l, 0xef));
	test_platform_advance(&f->tp, 1);
	assert_true(irr_bit(l, 0xef));
	assert_int_equal(lapic_tsc_deadline(l), 0); /* cleared on expiry */
	/* Arming then leaving deadline mode disarms. */
	lapic_set_tsc_deadline(l, 10000000);
	lapic_write(l, LAPIC_LVT_TIMER, 0xef);
	assert_int_equal(test_platform_advance(&f->tp, 10000000), 0);
}

static void test_ipi_physical_and_shorthands(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < NR_CPUS; i++)
		lapic_write(f->cpu[i], LAPIC_SVR, SVR_ON);
	lapic_write(f->cpu[0], LAPIC_ICR_HI, 2u << 24);
	lapic_write(f->cpu[0], LAPIC_ICR_LO, 0x4055); /* fixed, assert, physical */
	assert_true(irr_bit(f->cpu[2], 0x55));
	assert_false(irr_bit(f->cpu[1], 0x55));
	assert_false(irr_bit(f->cpu[0], 0x55));
	assert_int_equal(lapic_read(f->cpu[0], LAPIC_ICR_LO) & LAPIC_ICR_BUSY, 0);
	/* All excluding self, from CPU 1 */
	lapic_write(f->cpu[1], LAPIC_ICR_LO, 3u << 18 | 0x56);
	assert_true(irr_bit(f->cpu[0], 0x56) && irr_bit(f->cpu[2], 0x56));
	assert_false(irr_bit(f->cpu[1], 0x56));
	/* Self */
	lapic_write(f->cpu[1], LAPIC_ICR_LO, 1u << 18 | 0x57);
	assert_true(irr_bit(f->cpu[1], 0x57));
	assert_false(irr_bit(f->cpu[0], 0x57));
	/* All including self */
	lapic_write(f->cpu[2], LAPIC_ICR_LO, 2u << 18 | 0x58);
	for (unsigned i = 0; i < NR_CPUS; i++)
		assert_true(irr_bit(f->cpu[i], 0x58));
	/* Physical broadcast 0xff */
	lapic_write(f->cpu[2], LAPIC_ICR_HI, 0xffu << 24);
	lapic_write(f->cpu[2], LAPIC_ICR_LO, 0x59);
	for (unsigned i = 0; i < NR_CPUS; i++)
		assert_true(irr_bit(f->cpu[i], 0x59));
	/* NMI to CPU 1 */
	lapic_write(f->cpu[0], LAPIC_ICR_HI, 1u << 24);
	lapic_write(f->cpu[0], LAPIC_ICR_LO, APIC_DM_NMI << 8);
	assert_true(lapic_take_nmi(f->cpu[1]));
	assert_false(lapic_take_nmi(f->cpu[1]));
	assert_false(lapic_take_nmi(f->cpu[2]));
}

static void test_ipi_logical_and_lowest(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < NR_CPUS; i++) {
		lapic_write(f->cpu[i], LAPIC_SVR, SVR_ON);
		lapic_write(f->cpu[i], LAPIC_LDR, (1u << i) << 24); /* flat: one bit each */
	}
	lapic_write(f->cpu[0], LAPIC_ICR_HI, 0x06u << 24); /* CPUs 1 and 2 */
	lapic_write(f->cpu[0], LAPIC_ICR_LO, LAPIC_ICR_DESTMODE | 0x61);
	assert_false(irr_bit(f->cpu[0], 0x61));
	assert_true(irr_bit(f->cpu[1], 0x61) && irr_bit(f->cpu[2], 0x61));
	/* Lowest priority among 0-2: CPU 2 has the lowest TPR. */
	lapic_write(f->cpu[0], LAPIC_TPR, 0x30);
	lapic_write(f->cpu[1], LAPIC_TPR, 0x20);
	lapic_write(f->cpu[2], LAPIC_TPR, 0x10);
	lapic_write(f->cpu[0], LAPIC_ICR_HI, 0x07u << 24);
	lapic_write(f->cpu[0], LAPIC_ICR_LO, LAPIC_ICR_DESTMODE | APIC_DM_LOWEST << 8 | 0x62);
	assert_true(irr_bit(f->cpu[2], 0x62));
	assert_false(irr_bit(f->cpu[0], 0x62) || irr_bit(f->cpu[1], 0x62));
	/* Cluster model: cluster 1, members 0x3 -> CPUs with LDR 0x11, 0x12; not 0x21. */
	lapic_write(f->cpu[0], LAPIC_DFR, 0x0fffffff);
	lapic_write(f->cpu[1], LAPIC_DFR, 0x0fffffff);
	lapic_write(f->cpu[2], LAPIC_DFR, 0x0fffffff);
	assert_int_equal(lapic_read(f->cpu[2], LAPIC_DFR), 0x0fffffff);
	lapic_write(f->cpu[0], LAPIC_LDR, 0x11u << 24);
	lapic_write(f->cpu[1], LAPIC_LDR, 0x12u << 24);
	lapic_write(f->cpu[2], LAPIC_LDR, 0x21u << 24);
	lapic_write(f->cpu[0], LAPIC_ICR_HI, 0x13u << 24);
	lapic_write(f->cpu[0], LAPIC_ICR_LO, LAPIC_ICR_DESTMODE | 0x63);
	assert_true(irr_bit(f->cpu[0], 0x63) && irr_bit(f->cpu[1], 0x63));
	assert_false(irr_bit(f->cpu[2], 0x63));
}

static void test_init_sipi(void **state)
{
	struct fixture *f = *state;
	struct lapic *bsp = f->cpu[0], *ap = f->cpu[2];

	lapic_write(ap, LAPIC_SVR, SVR_ON);
	lapic_write(ap, LAPIC_TPR, 0x70);
	/* The Linux/SDM sequence: INIT assert, INIT de-assert, SIPI, SIPI. */
	lapic_write(bsp, LAPIC_ICR_HI, 2u << 24);
	lapic_write(bsp, LAPIC_ICR_LO, 0xc500); /* INIT, level, assert */
	lapic_write(bsp, LAPIC_ICR_LO, 0x8500); /* INIT, level, de-assert: no effect */
	lapic_write(bsp, LAPIC_ICR_LO, 0x0609); /* STARTUP at 0x9000 */
	lapic_write(bsp, LAPIC_ICR_LO, 0x0609);
	assert_int_equal(f->nr_startups, 3);
	assert_int_equal(f->startups[0][0], 2);
	assert_int_equal(f->startups[0][1], -1);
	assert_int_equal(f->startups[1][1], 0x09);
	assert_int_equal(f->startups[2][1], 0x09);
	/* INIT reset the target's registers but kept its ID. */
	assert_int_equal(lapic_read(ap, LAPIC_SVR), 0xff);
	assert_int_equal(lapic_read(ap, LAPIC_TPR), 0);
	assert_int_equal(lapic_read(ap, LAPIC_ID), 2u << 24);
}

static void test_x2apic_msrs(void **state)
{
	struct fixture *f = *state;
	struct lapic *l = f->cpu[1];
	u64 base = lapic_base_msr(l), v;

	assert_int_equal(lapic_msr_read(l, 0x802, &v), -EINVAL); /* xAPIC mode: #GP */
	assert_int_equal(lapic_set_base_msr(l, base | LAPIC_BASE_EXTD), 0);
	assert_int_equal(lapic_read(l, LAPIC_ID), 0); /* MMIO window gone */
	assert_int_equal(lapic_msr_read(l, 0x802, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(lapic_msr_read(l, 0x80d, &v), 0);
	assert_int_equal(v, (0u << 16) | (1u << 1)); /* logical x2APIC ID: cluster 0, bit 1 */
	assert_int_equal(lapic_msr_write(l, 0x80d, 5), -EINVAL); /* LDR read-only */
	assert_int_equal(lapic_msr_read(l, 0x80b, &v), -EINVAL); /* EOI write-only */
	assert_int_equal(lapic_msr_read(l, 0x80e, &v), -EINVAL); /* no DFR */
	assert_int_equal(lapic_msr_write(l, 0x80f, SVR_ON), 0);
	assert_int_equal(lapic_msr_write(l, 0x83f, 0x71), 0); /* SELF IPI */
	assert_true(lapic_has_interrupt(l));
	assert_int_equal(lapic_ack(l), 0x71);
	assert_int_equal(lapic_msr_write(l, 0x80b, 1), -EINVAL); /* EOI of non-zero: #GP */
	assert_int_equal(lapic_msr_write(l, 0x80b, 0), 0);
	assert_int_equal(lapic_msr_read(l, 0x810, &v), 0); /* ISR 0-31 */
	assert_int_equal(lapic_msr_read(l, 0x813, &v), 0);
	assert_int_equal(v, 0);
	/* 64-bit ICR with a 32-bit destination, to CPU 0 (still xAPIC). */
	lapic_write(f->cpu[0], LAPIC_SVR, SVR_ON);
	assert_int_equal(lapic_msr_write(l, 0x830, (u64)0 << 32 | 0x4072), 0);
	assert_true(irr_bit(f->cpu[0], 0x72));
	assert_int_equal(lapic_msr_read(l, 0x830, &v), 0);
	assert_int_equal(v, 0x4072);
	/* Mode transitions (SDM 11.12.5). */
	assert_int_equal(lapic_set_base_msr(l, base), -EINVAL); /* x2APIC -> xAPIC */
	assert_int_equal(lapic_set_base_msr(l, base & ~LAPIC_BASE_ENABLE & 0xfffff000), 0);
	assert_int_equal(lapic_set_base_msr(l, (base & 0xfffff000) | LAPIC_BASE_EXTD), -EINVAL);
	assert_int_equal(lapic_set_base_msr(l, base), 0);
	assert_int_equal(lapic_read(l, LAPIC_SVR), 0xff);	    /* state lost while disabled */
	assert_int_equal(lapic_set_base_msr(l, base | 1), -EINVAL); /* reserved bit */
}

static void test_virtual_wire_with_8259(void **state)
{
	struct fixture *f = *state;
	struct lapic *bsp = f->cpu[0];
	struct pic_config cfg = { .name = "pic",
				  .master_base = PIC_MASTER_BASE,
				  .slave_base = PIC_SLAVE_BASE,
				  .elcr_base = PIC_ELCR_BASE };
	static const u8 init[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 },
				      { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
				      { 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0x00 } };
	struct irq_line irq1;

	assert_int_equal(pic_create(&f->tp.p, &cfg, lapic_lint(bsp, 0), &f->pic, NULL), 0);
	for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		bus_write(&f->tp.p.pio, init[i][0], 1, init[i][1]);
	irq1 = pic_input(f->pic, 1);
	/* LINT0 in ExtINT straight after reset: even with the APIC software-disabled. */
	irq_line_pulse(&irq1);
	assert_true(lapic_has_interrupt(bsp));
	assert_int_equal(lapic_ack(bsp), 0x21);
	assert_false(lapic_has_interrupt(bsp));
	bus_write(&f->tp.p.pio, 0x20, 1, PIC_OCW2_EOI);
	/* Linux masks LINT0 once the I/O APIC takes over: the 8259 no longer gets through. */
	lapic_write(bsp, LAPIC_SVR, SVR_ON);
	lapic_write(bsp, LAPIC_LVT_LINT0, 0x700 | LAPIC_LVT_MASKED);
	irq_line_pulse(&irq1);
	assert_false(lapic_has_interrupt(bsp));
	lapic_write(bsp, LAPIC_LVT_LINT0, 0x700);
	assert_true(lapic_has_interrupt(bsp));
	assert_int_equal(lapic_ack(bsp), 0x21);
	/* Hardware-disabled APIC: LINT0 is the INTR pin. */
	bus_write(&f->tp.p.pio, 0x20, 1, PIC_OCW2_EOI);
	assert_int_equal(lapic_set_base_msr(bsp, 0xfee00000 | LAPIC_BASE_BSP), 0);
	irq_line_pulse(&irq1);
	assert_true(lapic_has_interrupt(bsp));
	assert_int_equal(lapic_ack(bsp), 0x21);
}

/* The BT engine's view of the PC timer tick: 8254 channel 0 -> 8259 IR0 -> LINT0 -> vector. */
static void test_pit_tick_through_8259_and_lint0(void **state)
{
	struct fixture *f = *state;
	struct lapic *bsp = f->cpu[0];
	struct pic_config pcfg = { .name = "pic",
				   .master_base = PIC_MASTER_BASE,
				   .slave_base = PIC_SLAVE_BASE,
				   .elcr_base = PIC_ELCR_BASE };
	struct pit_config tcfg = { .name = "pit", .base = PIT_DEFAULT_BASE, .port_b = PIT_PORT_B };
	static const u8 init[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 },
				      { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
				      { 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0xfe } };
	struct pit *pit;
	unsigned ticks = 0;

	assert_int_equal(pic_create(&f->tp.p, &pcfg, lapic_lint(bsp, 0), &f->pic, NULL), 0);
	assert_int_equal(pit_create(&f->tp.p, &tcfg, pic_input(f->pic, 0), &pit, NULL), 0);
	for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++)
		bus_write(&f->tp.p.pio, init[i][0], 1, init[i][1]);
	/* 100 Hz rate generator: 11932 pulses, as a BIOS or an old kernel programs it. */
	bus_write(&f->tp.p.pio, 0x43, 1, 0x34);
	bus_write(&f->tp.p.pio, 0x40, 1, 11932 & 0xff);
	bus_write(&f->tp.p.pio, 0x40, 1, 11932 >> 8);
	/* One virtual second, looked at every millisecond as the engine's INTR check would. */
	for (unsigned ms = 0; ms < 1000; ms++) {
		test_platform_advance(&f->tp, 1000000);
		if (lapic_has_interrupt(bsp)) {
			assert_int_equal(lapic_ack(bsp), 0x20);
			bus_write(&f->tp.p.pio, 0x20, 1, PIC_OCW2_EOI);
			ticks++;
		}
	}
	/*
	 * The control word raised OUT (low since reset): one edge at once. Then rising
	 * edges at pulse 1 + 11932k: k = 1..99 within 1 s (1,193,182 pulses).
	 */
	assert_int_equal(ticks, 1 + 99);
	pit_destroy(pit);
}

static void test_ioapic_level_through_bus(void **state)
{
	struct fixture *f = *state;
	struct ioapic_config cfg = { .name = "ioapic",
				     .base = IOAPIC_DEFAULT_BASE,
				     .deliver = apic_bus_deliver,
				     .deliver_opaque = f->bus };
	struct irq_line pin10;
	u64 rte = 0x3a | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_INTPOL | (1ull << 56);

	assert_int_equal(ioapic_create(&f->tp.p, &cfg, &f->io, NULL), 0);
	lapic_write(f->cpu[1], LAPIC_SVR, SVR_ON);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE, 4, IOAPIC_REG_REDTBL + 2 * 10 + 1);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, rte >> 32);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE, 4, IOAPIC_REG_REDTBL + 2 * 10);
	bus_write(&f->tp.p.mmio, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, (u32)rte);
	pin10 = ioapic_input(f->io, 10);
	irq_line_set(&pin10, 1);
	assert_int_equal(lapic_ack(f->cpu[1]), 0x3a);
	assert_false(lapic_has_interrupt(f->cpu[0]));
	/* The handler has not quieted the device yet: EOI brings it back. */
	lapic_write(f->cpu[1], LAPIC_EOI, 0);
	assert_int_equal(f->nr_eois, 1);
	assert_true(lapic_has_interrupt(f->cpu[1]));
	assert_int_equal(lapic_ack(f->cpu[1]), 0x3a);
	irq_line_set(&pin10, 0);
	lapic_write(f->cpu[1], LAPIC_EOI, 0);
	assert_false(lapic_has_interrupt(f->cpu[1]));
	assert_true(f->wakes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priorities_and_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_illegal_vectors_and_esr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic_divided_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_tiny_period_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_tsc_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipi_physical_and_shorthands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipi_logical_and_lowest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_sipi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x2apic_msrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtual_wire_with_8259, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pit_tick_through_8259_and_lint0, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ioapic_level_through_bus, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
