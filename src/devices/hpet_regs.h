/* SPDX-License-Identifier: MIT */
/*
 * HPET registers (IA-PC HPET specification 1.0a, section 2.3 "Register
 * Descriptions", tables 2-3 to 2-9).
 */
#ifndef DEVICES_HPET_REGS_H
#define DEVICES_HPET_REGS_H

#define HPET_DEFAULT_BASE 0xfed00000ull
#define HPET_MMIO_SIZE	  0x400
#define HPET_NR_TIMERS	  3
#define HPET_NR_GSI	  24
#define HPET_PERIOD_FS	  100000000ull /* 10 MHz: 100 ns per tick */
#define HPET_TICK_NS	  100ull

#define HPET_GCAP_ID	0x000
#define HPET_GEN_CONF	0x010
#define HPET_GINTR_STA	0x020
#define HPET_MAIN_CNT	0x0f0
#define HPET_TIMER_BASE 0x100
#define HPET_TIMER_SIZE 0x20
#define HPET_TN_CONF	0x00
#define HPET_TN_CMP	0x08
#define HPET_TN_FSB	0x10

/* General capabilities: period (63:32), vendor (31:16), LEG_RT_CAP, COUNT_SIZE_CAP, timers-1. */
#define HPET_CAP_VENDOR_INTEL  0x8086ull
#define HPET_CAP_LEG_RT	       (1ull << 15)
#define HPET_CAP_COUNT_SIZE    (1ull << 13)
#define HPET_CAP_NUM_TIM_SHIFT 8
#define HPET_CAP_REV	       0x01ull

#define HPET_CONF_ENABLE 0x1ull
#define HPET_CONF_LEG_RT 0x2ull

/* Timer N configuration and capabilities */
#define HPET_TN_INT_TYPE_LEVEL	(1ull << 1)
#define HPET_TN_INT_ENB		(1ull << 2)
#define HPET_TN_TYPE_PERIODIC	(1ull << 3)
#define HPET_TN_PER_INT_CAP	(1ull << 4)
#define HPET_TN_SIZE_CAP	(1ull << 5)
#define HPET_TN_VAL_SET		(1ull << 6)
#define HPET_TN_32MODE		(1ull << 8)
#define HPET_TN_ROUTE_SHIFT	9
#define HPET_TN_ROUTE_MASK	(0x1full << 9)
#define HPET_TN_FSB_EN		(1ull << 14)
#define HPET_TN_FSB_CAP		(1ull << 15)
#define HPET_TN_ROUTE_CAP_SHIFT 32
#define HPET_TN_WMASK                                                                         \
	(HPET_TN_INT_TYPE_LEVEL | HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET | \
	 HPET_TN_32MODE | HPET_TN_ROUTE_MASK | HPET_TN_FSB_EN)
/* I/O APIC inputs a timer may be routed to: 20-23 (ISA and PCI INTx stay clear). */
#define HPET_ROUTE_CAP 0x00f00000ull

#endif
