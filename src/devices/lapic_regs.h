/* SPDX-License-Identifier: MIT */
/*
 * Local APIC register offsets and bits (Intel SDM vol. 3A chapter 11
 * "Advanced Programmable Interrupt Controller (APIC)": table 11-1 "Local
 * APIC Register Address Map", 11.4.4 IA32_APIC_BASE, 11.5.1 LVT,
 * 11.5.3 Error Handling, 11.5.4 APIC Timer, 11.6.1 ICR, 11.6.2.2 logical
 * destination (LDR, DFR), 11.8.3.1 TPR/PPR, 11.9 SVR, 11.12 x2APIC MSRs).
 */
#ifndef DEVICES_LAPIC_REGS_H
#define DEVICES_LAPIC_REGS_H

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_MMIO_SIZE	   0x1000

#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_APR	0x090
#define LAPIC_PPR	0x0a0
#define LAPIC_EOI	0x0b0
#define LAPIC_RRD	0x0c0
#define LAPIC_LDR	0x0d0
#define LAPIC_DFR	0x0e0
#define LAPIC_SVR	0x0f0
#define LAPIC_ISR	0x100 /* 8 registers, 0x10 apart */
#define LAPIC_TMR	0x180
#define LAPIC_IRR	0x200
#define LAPIC_ESR	0x280
#define LAPIC_LVT_CMCI	0x2f0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERM 0x330
#define LAPIC_LVT_PERF	0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TMICT	0x380 /* timer initial count */
#define LAPIC_TMCCT	0x390 /* timer current count */
#define LAPIC_TDCR	0x3e0 /* timer divide configuration */
#define LAPIC_SELF_IPI	0x3f0 /* x2APIC only */

/* Version 0x14 (integrated APIC), max LVT entry 5 (six entries, no CMCI). */
#define LAPIC_VERSION 0x00050014u

#define LAPIC_SVR_ENABLE    (1u << 8)
#define LAPIC_SVR_FOCUS_DIS (1u << 9)
#define LAPIC_SVR_VECTOR    0xffu
#define LAPIC_SVR_WMASK	    0x3ffu

#define LAPIC_LVT_VECTOR	 0xffu
#define LAPIC_LVT_DM_SHIFT	 8
#define LAPIC_LVT_DM_MASK	 (7u << 8)
#define LAPIC_LVT_PENDING	 (1u << 12)
#define LAPIC_LVT_POLARITY	 (1u << 13)
#define LAPIC_LVT_REMOTE_IRR	 (1u << 14)
#define LAPIC_LVT_LEVEL		 (1u << 15)
#define LAPIC_LVT_MASKED	 (1u << 16)
#define LAPIC_LVT_TIMER_SHIFT	 17
#define LAPIC_LVT_TIMER_MASK	 (3u << 17)
#define LAPIC_TIMER_ONESHOT	 0
#define LAPIC_TIMER_PERIODIC	 1
#define LAPIC_TIMER_TSC_DEADLINE 2

/* Writable bits per LVT register */
#define LAPIC_LVT_TIMER_WMASK (LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED | LAPIC_LVT_TIMER_MASK)
#define LAPIC_LVT_LINT_WMASK                                                           \
	(LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_POLARITY | LAPIC_LVT_LEVEL | \
	 LAPIC_LVT_MASKED)
#define LAPIC_LVT_OTHER_WMASK (LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_MASKED)
#define LAPIC_LVT_ERROR_WMASK (LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED)

/* ICR */
#define LAPIC_ICR_VECTOR	0xffu
#define LAPIC_ICR_DM_SHIFT	8
#define LAPIC_ICR_DESTMODE	(1u << 11)
#define LAPIC_ICR_BUSY		(1u << 12)
#define LAPIC_ICR_LEVEL_ASSERT	(1u << 14)
#define LAPIC_ICR_TRIGGER_LEVEL (1u << 15)
#define LAPIC_ICR_SH_SHIFT	18
#define LAPIC_ICR_LO_WMASK	0x000ccfffu
#define LAPIC_ICR_DEST_SHIFT	24 /* xAPIC: destination in ICR high bits 31-24 */

/* ESR */
#define LAPIC_ESR_SEND_ILLEGAL_VEC 0x20
#define LAPIC_ESR_RECV_ILLEGAL_VEC 0x40
#define LAPIC_ESR_ILLEGAL_REG	   0x80

#define LAPIC_DFR_FLAT	  0xf
#define LAPIC_DFR_CLUSTER 0x0

/* IA32_APIC_BASE (MSR 0x1b) */
#define MSR_IA32_APIC_BASE    0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define LAPIC_BASE_BSP	      (1ull << 8)
#define LAPIC_BASE_EXTD	      (1ull << 10) /* x2APIC mode */
#define LAPIC_BASE_ENABLE     (1ull << 11)
#define LAPIC_BASE_ADDR_MASK  0x000ffffffffff000ull /* MAXPHYADDR 52 */

/* x2APIC MSRs: 0x800 + offset / 16 */
#define LAPIC_X2APIC_MSR_BASE 0x800
#define LAPIC_X2APIC_MSR_END  0x8ff

#endif
