// SPDX-License-Identifier: MIT
/*
 * Local APIC of one vCPU and the APIC bus (Intel SDM vol. 3A chapter 11,
 * "Advanced Programmable Interrupt Controller (APIC)"), for the BT engine.
 *
 * Modelled: IA32_APIC_BASE with global enable and the xAPIC/x2APIC mode
 * transitions (11.4.4, 11.12.5); ID, version 0x14 with six LVT entries,
 * TPR/PPR (11.8.3.1), EOI with the broadcast to the I/O APIC for vectors
 * accepted level-triggered (11.8.5), LDR/DFR flat and cluster logical
 * destinations and the x2APIC logical ID (11.6.2.2, 11.12.10), SVR software
 * enable with the LVT masks it forces (11.4.7.2, 11.9), IRR/ISR/TMR and the
 * acceptance of fixed interrupts by priority class (11.8.3, 11.8.4), ESR with
 * its write-to-update rule and illegal-vector errors (11.5.3), ICR IPIs:
 * fixed, lowest priority, NMI, INIT, STARTUP with the destination
 * shorthands (11.6.1), the timer in one-shot, periodic and TSC-deadline
 * modes with the divide configuration (11.5.4), LINT0/LINT1 with ExtINT
 * (virtual wire to the 8259), NMI and fixed delivery, and the x2APIC MSR
 * interface 0x800-0x8ff including SELF IPI (11.12.1).
 *
 * Time: the timer counts on the platform's virtual clock at bus_hz / divide,
 * computed from the instant of the last (re)load, so a fake clock gives
 * exact counts; expiries are timer.h deadlines. A periodic timer fires at
 * most once per LAPIC_MIN_PERIOD_NS (coalescing, like KVM's minimum period)
 * so a guest cannot make the VMM spin. The TSC is vclock_now_ns * tsc_hz /
 * 10^9; guest writes to IA32_TSC are not seen here.
 *
 * Not modelled: SMI delivery (logged), APR and RRD (read 0), focus
 * processor checking, the CMCI, thermal and performance-counter sources
 * (their LVT entries are stored), EOI-broadcast suppression (not advertised
 * in VER), remote IRR of level-triggered LINT inputs.
 */
#include "devices/lapic.h"

#include "devices/ioapic_regs.h"
#include "devices/lapic_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEC_PER_SEC	    1000000000ull
#define LAPIC_MIN_PERIOD_NS 50000ull
#define LAPIC_NR_LVT	    6

enum lapic_lvt_index {
	LVT_TIMER,
	LVT_THERM,
	LVT_PERF,
	LVT_LINT0,
	LVT_LINT1,
	LVT_ERROR,
};

struct lapic {
	struct platform *p;
	char name[32];
	u32 id;
	bool bsp, x2apic_cap;
	u64 bus_hz, tsc_hz;
	const struct lapic_ops *ops;
	void *opaque;
	u64 base_msr;
	u32 tpr, ldr, dfr, svr;
	u32 irr[8], isr[8], tmr[8];
	u32 esr, esr_pending;
	u32 icr_lo, icr_hi;
	u32 lvt[LAPIC_NR_LVT];
	u32 tmict, tdcr;
	u64 timer_start_ns; /* instant the count was (re)loaded */
	u32 timer_base;	    /* count at timer_start_ns */
	u64 timer_fired;    /* expiries delivered since timer_start_ns */
	u64 tsc_deadline;
	struct timer timer;
	bool nmi_pending, extint_msg;
	bool lint[2];
};

struct apic_bus {
	struct lapic **cpus;
	unsigned nr, cap;
};

static bool vec_test(const u32 *v, unsigned vec)
{
	return v[vec >> 5] & (1u << (vec & 31));
}

static void vec_set(u32 *v, unsigned vec)
{
	v[vec >> 5] |= 1u << (vec & 31);
}

static void vec_clear(u32 *v, unsigned vec)
{
	v[vec >> 5] &= ~(1u << (vec & 31));
}

static int vec_highest(const u32 *v)
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

static bool lapic_hw_enabled(const struct lapic *l)
{
	return l->base_msr & LAPIC_BASE_ENABLE;
}

static bool lapic_x2apic_mode(const struct lapic *l)
{
	return (l->base_msr & (LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD)) ==
	       (LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD);
}

static bool lapic_sw_enabled(const struct lapic *l)
{
	return l->svr & LAPIC_SVR_ENABLE;
}

static void lapic_wake(struct lapic *l)
{
	if (l->ops && l->ops->wake)
		l->ops->wake(l->opaque, l->id);
}

u32 lapic_id(const struct lapic *l)
{
	return l->id;
}

static u32 lapic_ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

/* The highest IRR vector if its priority class beats the PPR, or -1. */
static int lapic_deliverable(const struct lapic *l)
{
	int v;

	if (!lapic_hw_enabled(l) || !lapic_sw_enabled(l))
		return -1;
	v = vec_highest(l->irr);
	if (v < 0 || ((u32)v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return v;
}

/* The 8259's INTR reaches the CPU: LINT0 as plain INTR, LINT0 in ExtINT, or an ExtINT message. */
static bool lapic_extint_active(const struct lapic *l)
{
	u32 lint0 = l->lvt[LVT_LINT0];

	if (!lapic_hw_enabled(l))
		return l->lint[0];
	if (l->extint_msg)
		return true;
	return l->lint[0] && !(lint0 & LAPIC_LVT_MASKED) &&
	       ((lint0 & LAPIC_LVT_DM_MASK) >> LAPIC_LVT_DM_SHIFT) == APIC_DM_EXTINT;
}

bool lapic_has_interrupt(const struct lapic *l)
{
	return lapic_extint_active(l) || lapic_deliverable(l) >= 0;
}

int lapic_ack(struct lapic *l)
{
	int v;

	if (lapic_extint_active(l)) {
		l->extint_msg = false;
		return l->ops && l->ops->extint_ack ? l->ops->extint_ack(l->opaque) : -1;
	}
	v = lapic_deliverable(l);
	if (v < 0)
		return (int)(l->svr & LAPIC_SVR_VECTOR); /* spurious: no ISR bit */
	vec_clear(l->irr, (unsigned)v);
	vec_set(l->isr, (unsigned)v);
	return v;
}

bool lapic_take_nmi(struct lapic *l)
{
	bool pending = l->nmi_pending;

	l->nmi_pending = false;
	return pending;
}

static void lapic_set_irq(struct lapic *l, unsigned vec, bool level);

/* Record an error (11.5.3) and raise the error LVT if unmasked. */
static void lapic_error(struct lapic *l, u32 bits)
{
	u32 lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bits;
	if (!(lvt & LAPIC_LVT_MASKED) && (lvt & LAPIC_LVT_VECTOR) >= 16)
		lapic_set_irq(l, lvt & LAPIC_LVT_VECTOR, false);
}

/* Accept a fixed interrupt into IRR; vectors 0-15 are illegal (11.5.3). */
static void lapic_set_irq(struct lapic *l, unsigned vec, bool level)
{
	if (vec < 16) {
		lapic_error(l, LAPIC_ESR_RECV_ILLEGAL_VEC);
		return;
	}
	vec_set(l->irr, vec);
	if (level)
		vec_set(l->tmr, vec);
	else
		vec_clear(l->tmr, vec);
	lapic_wake(l);
}

static void lapic_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	if (vec_test(l->tmr, (unsigned)v) && l->ops && l->ops->eoi)
		l->ops->eoi(l->opaque, (u8)v);
	lapic_wake(l);
}

/* ------------------------------------------------------------------ timer */

static unsigned lapic_timer_mode(const struct lapic *l)
{
	return (l->lvt[LVT_TIMER] & LAPIC_LVT_TIMER_MASK) >> LAPIC_LVT_TIMER_SHIFT;
}

static u64 lapic_timer_div(const struct lapic *l)
{
	unsigned v = ((l->tdcr & 8) >> 1) | (l->tdcr & 3);

	return 1ull << ((v + 1) & 7); /* 0 -> 2, ..., 6 -> 128, 7 -> 1 (table 11-... TDCR) */
}

/* Timer input ticks since the (re)load. */
static u64 lapic_timer_ticks(const struct lapic *l, u64 now)
{
	unsigned __int128 ns = now - l->timer_start_ns;

	return (u64)(ns * l->bus_hz / (NSEC_PER_SEC * lapic_timer_div(l)));
}

/* The first instant at which tick number t has happened. */
static u64 lapic_timer_tick_ns(const struct lapic *l, u64 t)
{
	unsigned __int128 x = (unsigned __int128)t * lapic_timer_div(l) * NSEC_PER_SEC;

	return l->timer_start_ns + (u64)((x + l->bus_hz - 1) / l->bus_hz);
}

static bool lapic_timer_counting(const struct lapic *l)
{
	return lapic_timer_mode(l) != LAPIC_TIMER_TSC_DEADLINE && l->tmict;
}

static u32 lapic_timer_current(const struct lapic *l)
{
	u64 t;

	if (!lapic_timer_counting(l))
		return 0;
	t = lapic_timer_ticks(l, vclock_now_ns(&l->p->clock));
	if (t < l->timer_base)
		return (u32)(l->timer_base - t);
	if (lapic_timer_mode(l) != LAPIC_TIMER_PERIODIC)
		return 0;
	return (u32)(l->tmict - (t - l->timer_base) % l->tmict);
}

/* Expiries (counted from 1) that have happened by tick t. */
static u64 lapic_timer_expiries(const struct lapic *l, u64 t)
{
	if (t < l->timer_base)
		return 0;
	if (lapic_timer_mode(l) != LAPIC_TIMER_PERIODIC)
		return 1;
	return 1 + (t - l->timer_base) / l->tmict;
}

static void lapic_timer_arm(struct lapic *l)
{
	u64 now = vclock_now_ns(&l->p->clock), next;
	unsigned __int128 x;

	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE) {
		if (!l->tsc_deadline || !l->tsc_hz) {
			timer_cancel(&l->timer);
			return;
		}
		x = (unsigned __int128)l->tsc_deadline * NSEC_PER_SEC + l->tsc_hz - 1;
		next = x / l->tsc_hz > UINT64_MAX - 1 ? UINT64_MAX - 1 : (u64)(x / l->tsc_hz);
		timer_arm(&l->timer, next);
		return;
	}
	if (!l->tmict || (lapic_timer_mode(l) != LAPIC_TIMER_PERIODIC && l->timer_fired)) {
		timer_cancel(&l->timer);
		return;
	}
	next = lapic_timer_tick_ns(l, l->timer_base + l->timer_fired * (u64)l->tmict);
	/* A tiny periodic count: at most one expiry per LAPIC_MIN_PERIOD_NS (coalesced). */
	if (l->timer_fired &&
	    lapic_timer_tick_ns(l, l->tmict) - l->timer_start_ns < LAPIC_MIN_PERIOD_NS)
		next = MAX(next, now + LAPIC_MIN_PERIOD_NS);
	timer_arm(&l->timer, next);
}

static void lapic_timer_fire(void *opaque)
{
	struct lapic *l = opaque;
	u32 lvt = l->lvt[LVT_TIMER];
	u64 now = vclock_now_ns(&l->p->clock);

	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE) {
		l->tsc_deadline = 0;
	} else {
		if (!l->tmict)
			return;
		l->timer_fired = lapic_timer_expiries(l, lapic_timer_ticks(l, now));
	}
	if (!(lvt & LAPIC_LVT_MASKED))
		lapic_set_irq(l, lvt & LAPIC_LVT_VECTOR, false);
	lapic_timer_arm(l);
}

static void lapic_timer_load(struct lapic *l, u32 count)
{
	l->timer_start_ns = vclock_now_ns(&l->p->clock);
	l->timer_base = count;
	l->timer_fired = 0;
	lapic_timer_arm(l);
}

static void lapic_write_tmict(struct lapic *l, u32 val)
{
	if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
		return; /* ignored in TSC-deadline mode (11.5.4.1) */
	l->tmict = val;
	lapic_timer_load(l, val);
}

static void lapic_write_tdcr(struct lapic *l, u32 val)
{
	u32 cur = lapic_timer_current(l);

	l->tdcr = val & 0xb;
	if (lapic_timer_counting(l) && cur)
		lapic_timer_load(l, cur); /* keep counting from here at the new rate */
}

void lapic_set_tsc_deadline(struct lapic *l, u64 tsc)
{
	if (lapic_timer_mode(l) != LAPIC_TIMER_TSC_DEADLINE)
		return; /* writes are ignored outside TSC-deadline mode */
	l->tsc_deadline = tsc;
	lapic_timer_arm(l);
}

u64 lapic_tsc_deadline(const struct lapic *l)
{
	return lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

/* ---------------------------------------------------------- LVT and state */

static u32 lapic_lvt_wmask(unsigned idx)
{
	switch (idx) {
	case LVT_TIMER:
		return LAPIC_LVT_TIMER_WMASK;
	case LVT_LINT0:
	case LVT_LINT1:
		return LAPIC_LVT_LINT_WMASK;
	case LVT_ERROR:
		return LAPIC_LVT_ERROR_WMASK;
	default:
		return LAPIC_LVT_OTHER_WMASK;
	}
}

static void lapic_write_lvt(struct lapic *l, unsigned idx, u32 val)
{
	u32 old = l->lvt[idx];
	u32 cur = idx == LVT_TIMER ? lapic_timer_current(l) : 0; /* in the old mode */

	val &= lapic_lvt_wmask(idx);
	if (!lapic_sw_enabled(l))
		val |= LAPIC_LVT_MASKED; /* 11.4.7.2: cannot be unmasked while disabled */
	l->lvt[idx] = val;
	if (idx == LVT_TIMER && ((old ^ val) & LAPIC_LVT_TIMER_MASK)) {
		bool was_tsc = ((old & LAPIC_LVT_TIMER_MASK) >> LAPIC_LVT_TIMER_SHIFT) ==
			       LAPIC_TIMER_TSC_DEADLINE;

		if (was_tsc || lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE) {
			/* Entering or leaving TSC-deadline mode disarms the timer (11.5.4.1). */
			timer_cancel(&l->timer);
			l->tmict = 0;
			l->tsc_deadline = 0;
		} else if (lapic_timer_mode(l) == LAPIC_TIMER_ONESHOT) {
			/* periodic -> one-shot: count down to the next zero, then stop */
			if (cur)
				lapic_timer_load(l, cur);
			else
				timer_cancel(&l->timer);
		} else {
			lapic_timer_arm(l); /* one-shot -> periodic: the count goes on */
		}
	}
	if (idx == LVT_LINT0 && lapic_extint_active(l))
		lapic_wake(l);
}

static void lapic_write_svr(struct lapic *l, u32 val)
{
	l->svr = val & LAPIC_SVR_WMASK;
	if (!lapic_sw_enabled(l))
		for (unsigned i = 0; i < LAPIC_NR_LVT; i++)
			l->lvt[i] |= LAPIC_LVT_MASKED;
	lapic_wake(l);
}

/* The state INIT and RESET give the registers (11.4.7.1); ID and APIC_BASE are kept. */
static void lapic_init_state(struct lapic *l)
{
	timer_cancel(&l->timer);
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->esr = 0;
	l->esr_pending = 0;
	l->icr_lo = 0;
	l->icr_hi = 0;
	for (unsigned i = 0; i < LAPIC_NR_LVT; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
	if (l->bsp) /* virtual wire: the 8259 reaches the BSP through LINT0 (as KVM resets it) */
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << LAPIC_LVT_DM_SHIFT;
	l->tmict = 0;
	l->tdcr = 0;
	l->timer_base = 0;
	l->timer_fired = 0;
	l->tsc_deadline = 0;
	l->nmi_pending = false;
	l->extint_msg = false;
	if (lapic_x2apic_mode(l))
		l->ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xf));
}

void lapic_reset(struct lapic *l)
{
	l->base_msr = LAPIC_DEFAULT_BASE | LAPIC_BASE_ENABLE | (l->bsp ? LAPIC_BASE_BSP : 0);
	lapic_init_state(l);
}

/* ---------------------------------------------------------------- IPIs */

static void lapic_send_ipi(struct lapic *l)
{
	struct apic_msg m = {
		.dest = lapic_x2apic_mode(l) ? l->icr_hi : l->icr_hi >> LAPIC_ICR_DEST_SHIFT,
		.dest_logical = l->icr_lo & LAPIC_ICR_DESTMODE,
		.delivery = (u8)((l->icr_lo >> LAPIC_ICR_DM_SHIFT) & 7),
		.vector = (u8)(l->icr_lo & LAPIC_ICR_VECTOR),
		.level_trig = l->icr_lo & LAPIC_ICR_TRIGGER_LEVEL,
		.assert = l->icr_lo & LAPIC_ICR_LEVEL_ASSERT,
		.shorthand = (u8)((l->icr_lo >> LAPIC_ICR_SH_SHIFT) & 3),
		.src_id = l->id,
	};

	if ((m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST) && m.vector < 16) {
		lapic_error(l, LAPIC_ESR_SEND_ILLEGAL_VEC);
		return;
	}
	if (m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST)
		m.assert = true; /* the level bit matters only for INIT (11.6.1) */
	log_dbg(LOG_CAT_IRQ, "%s: IPI mode %u vector %#x dest %#x sh %u", l->name, m.delivery,
		m.vector, m.dest, m.shorthand);
	if (l->ops && l->ops->deliver)
		l->ops->deliver(l->opaque, &m);
}

void lapic_accept(struct lapic *l, const struct apic_msg *m)
{
	if (!lapic_hw_enabled(l))
		return;
	switch (m->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		lapic_set_irq(l, m->vector, m->level_trig);
		break;
	case APIC_DM_NMI:
		l->nmi_pending = true;
		lapic_wake(l);
		break;
	case APIC_DM_INIT:
		if (m->level_trig && !m->assert)
			break; /* INIT level de-assert: no effect on P4 and later (11.6.1) */
		lapic_init_state(l);
		if (l->ops && l->ops->startup)
			l->ops->startup(l->opaque, l->id, -1);
		break;
	case APIC_DM_STARTUP:
		if (l->ops && l->ops->startup)
			l->ops->startup(l->opaque, l->id, m->vector);
		break;
	case APIC_DM_EXTINT:
		l->extint_msg = true;
		lapic_wake(l);
		break;
	default:
		log_unimp("%s: delivery mode %u (SMI or reserved) ignored", l->name, m->delivery);
		break;
	}
}

bool lapic_match_dest(const struct lapic *l, const struct apic_msg *m)
{
	u32 mda = m->dest;

	if (!m->dest_logical) {
		if (mda == 0xffffffffu || mda == 0xff)
			return true; /* broadcast (0xff also from an xAPIC-format source) */
		return lapic_x2apic_mode(l) ? mda == l->id : (mda & 0xff) == (l->id & 0xff);
	}
	if (lapic_x2apic_mode(l)) {
		if (mda == 0xffffffffu)
			return true;
		return (mda >> 16) == (l->ldr >> 16) && (mda & l->ldr & 0xffff);
	}
	mda &= 0xff;
	if (mda == 0xff)
		return true;
	if ((l->dfr >> 28) == LAPIC_DFR_FLAT)
		return (l->ldr >> 24) & mda;
	return (mda >> 4) == (l->ldr >> 28) && (mda & (l->ldr >> 24) & 0xf);
}

/* -------------------------------------------------------- register access */

static u32 lapic_read_reg(struct lapic *l, u32 off)
{
	if (off >= LAPIC_ISR && off < LAPIC_ISR + 0x80)
		return l->isr[(off - LAPIC_ISR) >> 4];
	if (off >= LAPIC_TMR && off < LAPIC_TMR + 0x80)
		return l->tmr[(off - LAPIC_TMR) >> 4];
	if (off >= LAPIC_IRR && off < LAPIC_IRR + 0x80)
		return l->irr[(off - LAPIC_IRR) >> 4];
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR)
		return l->lvt[(off - LAPIC_LVT_TIMER) >> 4];
	switch (off) {
	case LAPIC_ID:
		return lapic_x2apic_mode(l) ? l->id : l->id << 24;
	case LAPIC_VER:
		return LAPIC_VERSION;
	case LAPIC_TPR:
		return l->tpr;
	case LAPIC_PPR:
		return lapic_ppr(l);
	case LAPIC_LDR:
		return l->ldr;
	case LAPIC_DFR:
		return l->dfr;
	case LAPIC_SVR:
		return l->svr;
	case LAPIC_ESR:
		return l->esr;
	case LAPIC_ICR_LO:
		return l->icr_lo;
	case LAPIC_ICR_HI:
		return l->icr_hi;
	case LAPIC_TMICT:
		return l->tmict;
	case LAPIC_TMCCT:
		return lapic_timer_current(l);
	case LAPIC_TDCR:
		return l->tdcr;
	default: /* APR, RRD, EOI, reserved */
		return 0;
	}
}

static void lapic_write_reg(struct lapic *l, u32 off, u32 val)
{
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
		lapic_write_lvt(l, (off - LAPIC_LVT_TIMER) >> 4, val);
		return;
	}
	switch (off) {
	case LAPIC_ID:
		if (!lapic_x2apic_mode(l))
			l->id = val >> 24;
		break;
	case LAPIC_TPR:
		l->tpr = val & 0xff;
		lapic_wake(l);
		break;
	case LAPIC_EOI:
		lapic_eoi(l);
		break;
	case LAPIC_LDR:
		l->ldr = val & 0xff000000u;
		break;
	case LAPIC_DFR:
		l->dfr = val | 0x0fffffffu;
		break;
	case LAPIC_SVR:
		lapic_write_svr(l, val);
		break;
	case LAPIC_ESR:
		l->esr =
			l->esr_pending; /* a write updates ESR from the errors seen since (11.5.3) */
		l->esr_pending = 0;
		break;
	case LAPIC_ICR_HI:
		l->icr_hi = lapic_x2apic_mode(l) ? val : val & 0xff000000u;
		break;
	case LAPIC_ICR_LO:
		l->icr_lo = val & LAPIC_ICR_LO_WMASK;
		lapic_send_ipi(l);
		break;
	case LAPIC_TMICT:
		lapic_write_tmict(l, val);
		break;
	case LAPIC_TDCR:
		lapic_write_tdcr(l, val);
		break;
	case LAPIC_VER:
	case LAPIC_APR:
	case LAPIC_PPR:
	case LAPIC_RRD:
	case LAPIC_TMCCT:
		break; /* read-only */
	default:
		if ((off >= LAPIC_ISR && off < LAPIC_IRR + 0x80) || off == LAPIC_LVT_CMCI)
			break; /* read-only, or absent (CMCI) */
		lapic_error(l, LAPIC_ESR_ILLEGAL_REG);
		break;
	}
}

u32 lapic_read(struct lapic *l, u32 off)
{
	if (!lapic_hw_enabled(l) || lapic_x2apic_mode(l))
		return 0; /* the xAPIC window is gone (11.4.3, 11.12.1) */
	return lapic_read_reg(l, off & 0xff0);
}

void lapic_write(struct lapic *l, u32 off, u32 val)
{
	if (!lapic_hw_enabled(l) || lapic_x2apic_mode(l))
		return;
	lapic_write_reg(l, off & 0xff0, val);
}

/* x2APIC: is this register readable through its MSR (11.12.1.2, table 11-6)? */
static bool lapic_msr_readable(u32 off)
{
	if ((off >= LAPIC_ISR && off < LAPIC_IRR + 0x80) ||
	    (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR))
		return true;
	switch (off) {
	case LAPIC_ID:
	case LAPIC_VER:
	case LAPIC_TPR:
	case LAPIC_PPR:
	case LAPIC_LDR:
	case LAPIC_SVR:
	case LAPIC_ESR:
	case LAPIC_ICR_LO:
	case LAPIC_TMICT:
	case LAPIC_TMCCT:
	case LAPIC_TDCR:
		return true;
	default: /* EOI and SELF IPI are write-only; DFR, ICR high, APR, RRD, CMCI absent */
		return false;
	}
}

int lapic_msr_read(struct lapic *l, u32 msr, u64 *val)
{
	u32 off = (msr - LAPIC_X2APIC_MSR_BASE) << 4;

	if (!lapic_x2apic_mode(l) || msr < LAPIC_X2APIC_MSR_BASE || msr > LAPIC_X2APIC_MSR_END ||
	    !lapic_msr_readable(off))
		return -EINVAL;
	if (off == LAPIC_ICR_LO)
		*val = (u64)l->icr_hi << 32 | l->icr_lo;
	else
		*val = lapic_read_reg(l, off);
	return 0;
}

int lapic_msr_write(struct lapic *l, u32 msr, u64 val)
{
	u32 off = (msr - LAPIC_X2APIC_MSR_BASE) << 4;

	if (!lapic_x2apic_mode(l) || msr < LAPIC_X2APIC_MSR_BASE || msr > LAPIC_X2APIC_MSR_END)
		return -EINVAL;
	if (off == LAPIC_ICR_LO) {
		l->icr_hi = (u32)(val >> 32);
		l->icr_lo = (u32)val & LAPIC_ICR_LO_WMASK;
		lapic_send_ipi(l);
		return 0;
	}
	if (val >> 32)
		return -EINVAL;
	switch (off) {
	case LAPIC_TPR:
	case LAPIC_SVR:
	case LAPIC_TMICT:
	case LAPIC_TDCR:
		lapic_write_reg(l, off, (u32)val);
		return 0;
	case LAPIC_EOI:
	case LAPIC_ESR:
		if (val)
			return -EINVAL;
		lapic_write_reg(l, off, 0);
		return 0;
	case LAPIC_SELF_IPI:
		lapic_set_irq(l, val & 0xff, false);
		return 0;
	default:
		if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
			lapic_write_lvt(l, (off - LAPIC_LVT_TIMER) >> 4, (u32)val);
			return 0;
		}
		return -EINVAL; /* read-only (ID, VER, LDR, PPR, ISR/TMR/IRR, TMCCT) or absent */
	}
}

u64 lapic_base_msr(const struct lapic *l)
{
	return l->base_msr;
}

int lapic_set_base_msr(struct lapic *l, u64 val)
{
	u64 reserved =
		~(LAPIC_BASE_ADDR_MASK | LAPIC_BASE_ENABLE | LAPIC_BASE_EXTD | LAPIC_BASE_BSP);
	bool was_en = lapic_hw_enabled(l), was_x2 = lapic_x2apic_mode(l);
	bool en = val & LAPIC_BASE_ENABLE, x2 = en && (val & LAPIC_BASE_EXTD);

	if (val & reserved)
		return -EINVAL;
	if ((val & LAPIC_BASE_EXTD) && (!l->x2apic_cap || !en))
		return -EINVAL; /* EXTD without EN is an invalid state (11.12.5) */
	if (was_x2 && en && !x2)
		return -EINVAL; /* x2APIC -> xAPIC must go through disabled */
	l->base_msr = (val & ~LAPIC_BASE_BSP) | (l->bsp ? LAPIC_BASE_BSP : 0);
	if (was_en && !en)
		lapic_init_state(l); /* state is lost while the APIC is disabled */
	else if (!was_x2 && x2)
		l->ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xf)); /* logical x2APIC ID */
	return 0;
}

/* --------------------------------------------------------------- LINT pins */

static void lapic_lint_set(void *sink, unsigned pin, int level)
{
	struct lapic *l = sink;
	bool rising = level && !l->lint[pin & 1];
	u32 lvt = l->lvt[pin ? LVT_LINT1 : LVT_LINT0];
	unsigned dm = (lvt & LAPIC_LVT_DM_MASK) >> LAPIC_LVT_DM_SHIFT;

	pin &= 1;
	l->lint[pin] = level;
	if (!lapic_hw_enabled(l)) {
		if (pin == 1 && rising)
			l->nmi_pending = true; /* LINT1 is the NMI pin */
		lapic_wake(l);
		return;
	}
	if (lvt & LAPIC_LVT_MASKED)
		return;
	if (dm == APIC_DM_EXTINT) {
		if (level)
			lapic_wake(l);
	} else if (rising && dm == APIC_DM_NMI) {
		l->nmi_pending = true;
		lapic_wake(l);
	} else if (rising && dm == APIC_DM_FIXED) {
		lapic_set_irq(l, lvt & LAPIC_LVT_VECTOR, false);
	}
}

struct irq_line lapic_lint(struct lapic *l, unsigned n)
{
	return (struct irq_line){ .set = lapic_lint_set, .sink = l, .pin = n & 1 };
}

/* ---------------------------------------------------------- create/destroy */

int lapic_create(struct platform *p, const struct lapic_config *cfg, struct lapic **out,
		 struct err *err)
{
	struct lapic *l = calloc(1, sizeof(*l));

	if (!l)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	l->p = p;
	snprintf(l->name, sizeof(l->name), "%s", cfg->name);
	l->id = cfg->apic_id;
	l->bsp = cfg->bsp;
	l->x2apic_cap = cfg->x2apic;
	l->bus_hz = cfg->bus_hz ? cfg->bus_hz : NSEC_PER_SEC;
	l->tsc_hz = cfg->tsc_hz;
	l->ops = cfg->ops;
	l->opaque = cfg->opaque;
	timer_init(&l->timer, &p->clock, lapic_timer_fire, l);
	lapic_reset(l);
	*out = l;
	return 0;
}

void lapic_destroy(struct lapic *l)
{
	if (!l)
		return;
	timer_cancel(&l->timer);
	free(l);
}

static void lapic_ops_reset(void *dev)
{
	lapic_reset(dev);
}

static void lapic_ops_destroy(void *dev)
{
	lapic_destroy(dev);
}

void lapic_export(const struct lapic *l, struct chips_lapic *out)
{
	*out = (struct chips_lapic){ .id = l->id,
				     .base_msr = l->base_msr,
				     .tpr = l->tpr,
				     .ldr = l->ldr,
				     .dfr = l->dfr,
				     .svr = l->svr,
				     .esr = l->esr,
				     .icr_lo = l->icr_lo,
				     .icr_hi = l->icr_hi,
				     .tmict = l->tmict,
				     .tmcct = lapic_timer_current(l),
				     .tdcr = l->tdcr,
				     .tsc_deadline = l->tsc_deadline };
	memcpy(out->irr, l->irr, sizeof(out->irr));
	memcpy(out->isr, l->isr, sizeof(out->isr));
	memcpy(out->tmr, l->tmr, sizeof(out->tmr));
	memcpy(out->lvt, l->lvt, sizeof(out->lvt));
}

int lapic_import(struct lapic *l, const struct chips_lapic *in, struct err *err)
{
	if (in->id != l->id)
		return err_set(err, -EINVAL, "%s: the state's local APIC has ID %u, this one %u",
			       l->name, in->id, l->id);
	if (in->tmict && in->tmcct > in->tmict)
		return err_set(err, -EINVAL, "%s: timer count %u above its initial count %u",
			       l->name, in->tmcct, in->tmict);
	l->base_msr = in->base_msr;
	l->tpr = in->tpr & 0xff;
	l->ldr = in->ldr;
	l->dfr = in->dfr;
	l->svr = in->svr;
	l->esr = in->esr;
	l->esr_pending = 0;
	l->icr_lo = in->icr_lo;
	l->icr_hi = in->icr_hi;
	memcpy(l->irr, in->irr, sizeof(l->irr));
	memcpy(l->isr, in->isr, sizeof(l->isr));
	memcpy(l->tmr, in->tmr, sizeof(l->tmr));
	memcpy(l->lvt, in->lvt, sizeof(l->lvt));
	l->tmict = in->tmict;
	l->tdcr = in->tdcr;
	l->tsc_deadline = in->tsc_deadline;
	/* The count goes on from where it was: loaded now with the current count (a one-shot
	 * that reached zero has expired). */
	l->timer_start_ns = vclock_now_ns(&l->p->clock);
	l->timer_base = in->tmcct;
	l->timer_fired = in->tmict && !in->tmcct;
	lapic_timer_arm(l);
	lapic_wake(l);
	return 0;
}

/* The CPU's INTR pin and NMI follow the loaded registers: the board re-evaluates them. */
static int lapic_post_load(void *obj, u32 version, struct err *err)
{
	struct lapic *l = obj;

	(void)version;
	/* The count was loaded at or before now (the timer's arithmetic counts from there). */
	if (l->timer_start_ns > vclock_now_ns(&l->p->clock))
		return err_set(err, -EINVAL, "%s: timer loaded at %llu ns, in the future", l->name,
			       (unsigned long long)l->timer_start_ns);
	lapic_wake(l);
	return 0;
}

static const struct state_field lapic_fields[] = {
	STATE_HOST(struct lapic, p, "the platform"),
	STATE_HOST(struct lapic, name, "the board's name"),
	STATE_U32(struct lapic, id),
	STATE_BOOL(struct lapic, bsp, STATE_CHECKED),
	STATE_BOOL(struct lapic, x2apic_cap, STATE_CHECKED),
	STATE_U64(struct lapic, bus_hz, STATE_CHECKED),
	STATE_U64(struct lapic, tsc_hz, STATE_CHECKED),
	STATE_HOST(struct lapic, ops, "the board's callbacks"),
	STATE_HOST(struct lapic, opaque, "the board's callbacks"),
	STATE_U64(struct lapic, base_msr),
	STATE_U32(struct lapic, tpr),
	STATE_U32(struct lapic, ldr),
	STATE_U32(struct lapic, dfr),
	STATE_U32(struct lapic, svr),
	STATE_ARRAY(struct lapic, irr, U32),
	STATE_ARRAY(struct lapic, isr, U32),
	STATE_ARRAY(struct lapic, tmr, U32),
	STATE_U32(struct lapic, esr),
	STATE_U32(struct lapic, esr_pending),
	STATE_U32(struct lapic, icr_lo),
	STATE_U32(struct lapic, icr_hi),
	STATE_ARRAY(struct lapic, lvt, U32),
	STATE_U32(struct lapic, tmict),
	STATE_U32(struct lapic, tdcr),
	STATE_U64(struct lapic, timer_start_ns),
	STATE_U32(struct lapic, timer_base),
	STATE_U64(struct lapic, timer_fired),
	STATE_U64(struct lapic, tsc_deadline),
	STATE_TIMER(struct lapic, timer),
	STATE_BOOL(struct lapic, nmi_pending),
	STATE_BOOL(struct lapic, extint_msg),
	STATE_ARRAY(struct lapic, lint, BOOL),
	STATE_END,
};

static const struct state_desc lapic_state = {
	.name = "lapic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct lapic),
	.fields = lapic_fields,
	.post_load = lapic_post_load,
};

const struct device_ops lapic_device_ops = {
	.type = "lapic",
	.reset = lapic_ops_reset,
	.state = &lapic_state,
	.destroy = lapic_ops_destroy,
};

/* ---------------------------------------------------------------- APIC bus */

int apic_bus_create(struct apic_bus **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void apic_bus_destroy(struct apic_bus *bus)
{
	if (!bus)
		return;
	free(bus->cpus);
	free(bus);
}

int apic_bus_attach(struct apic_bus *bus, struct lapic *l)
{
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 8;
		struct lapic **cpus = realloc(bus->cpus, cap * sizeof(*cpus));

		if (!cpus)
			return -ENOMEM;
		bus->cpus = cpus;
		bus->cap = cap;
	}
	bus->cpus[bus->nr++] = l;
	return 0;
}

static bool apic_bus_targets(const struct apic_msg *m, const struct lapic *l)
{
	switch (m->shorthand) {
	case APIC_SH_SELF:
		return l->id == m->src_id;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_ALL_BUT_SELF:
		return l->id != m->src_id;
	default:
		return lapic_match_dest(l, m);
	}
}

void apic_bus_deliver(void *opaque, const struct apic_msg *m)
{
	struct apic_bus *bus = opaque;
	struct lapic *lowest = NULL;

	for (unsigned i = 0; i < bus->nr; i++) {
		struct lapic *l = bus->cpus[i];

		if (!lapic_hw_enabled(l) || !apic_bus_targets(m, l))
			continue;
		if (m->delivery != APIC_DM_LOWEST) {
			lapic_accept(l, m);
			continue;
		}
		/* Lowest priority (11.6.2.4): the target with the lowest TPR; first on ties. */
		if (!lowest || (l->tpr & 0xf0) < (lowest->tpr & 0xf0))
			lowest = l;
	}
	if (lowest)
		lapic_accept(lowest, m);
}
