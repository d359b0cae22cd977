// SPDX-License-Identifier: MIT
/*
 * HPET (IA-PC HPET specification 1.0a): a 64-bit main counter at 10 MHz
 * and three comparators, memory-mapped at 0xfed00000 (2.3 "Register
 * Descriptions"). Modelled: general capabilities (vendor 8086, 64-bit
 * counter, legacy replacement capable), general configuration with
 * ENABLE_CNF and LEG_RT_CNF (2.3.5), the level interrupt status register
 * with write-1-to-clear (2.3.6), the main counter (writable, halted while
 * disabled), and per timer: one-shot and periodic modes (2.3.9.2), the
 * VAL_SET_CNF accumulator write of periodic mode, 32-bit mode with its
 * wrap-around, edge and level interrupts, routing to an I/O APIC input
 * (INT_ROUTE_CNF within INT_ROUTE_CAP), legacy replacement routing (timer 0
 * as IRQ 0, timer 1 as IRQ 8, 2.3.5.1) and FSB (MSI) delivery through
 * platform.msi (2.3.9.3).
 *
 * Time: the counter is computed from the virtual clock at the instant it
 * was last enabled or written (100 ns per tick), so a fake clock gives exact
 * values; comparator matches are timer.h deadlines. A periodic timer that
 * falls behind (the host was busy) fires once and skips to its next future
 * multiple. Timer 0 as IRQ 0 (legacy replacement, edge, periodic) gives the
 * skipped matches back as the PIT does (pit.c): it owes them, at most a
 * second's worth, and gives the next one each time the CPU takes IRQ 0
 * (hpet_irq0_acked), so a guest counting ticks over its own clock sees them.
 *
 * A periodic timer shorter than 50 us fires at most once per 50 us (the
 * counter and comparator stay exact), so a guest cannot make the VMM spin.
 *
 * Not modelled: timers with different capabilities (all three are 64-bit,
 * periodic and FSB capable), and 64-bit one-shot matches after the counter
 * wraps (58,000 years at 10 MHz).
 */
#include "devices/hpet.h"

#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HPET_MIN_PERIOD_NS 50000ull

struct hpet;

struct hpet_timer {
	struct hpet *h;
	unsigned idx;
	u64 conf, cmp, period, fsb;
	bool line_high;		 /* level interrupt asserted on line_on */
	struct irq_line line_on; /* the line line_high refers to */
	struct timer timer;
	u32 owed; /* timer 0 as IRQ 0: skipped matches, given one per acknowledge */
};

struct hpet {
	struct platform *p;
	char name[32];
	struct hpet_config cfg;
	u64 gen_conf, isr;
	u64 counter_base;     /* counter value at counter_start_ns */
	u64 counter_start_ns; /* meaningful while enabled */
	struct hpet_timer t[HPET_NR_TIMERS];
};

static bool hpet_enabled(const struct hpet *h)
{
	return h->gen_conf & HPET_CONF_ENABLE;
}

bool hpet_guest_enabled(const struct hpet *h)
{
	return hpet_enabled(h);
}

static u64 hpet_counter(const struct hpet *h)
{
	if (!hpet_enabled(h))
		return h->counter_base;
	return h->counter_base + (vclock_now_ns(&h->p->clock) - h->counter_start_ns) / HPET_TICK_NS;
}

static bool hpet_is32(const struct hpet_timer *t)
{
	return t->conf & HPET_TN_32MODE;
}

static const struct irq_line *hpet_route(const struct hpet_timer *t)
{
	const struct hpet *h = t->h;
	unsigned gsi = (unsigned)((t->conf & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT);

	if ((h->gen_conf & HPET_CONF_LEG_RT) && t->idx < 2)
		return t->idx == 0 ? &h->cfg.legacy_irq0 : &h->cfg.legacy_irq8;
	return &h->cfg.gsi[gsi];
}

static void hpet_lower(struct hpet_timer *t)
{
	if (t->line_high) {
		t->line_high = false;
		irq_line_set(&t->line_on, 0);
	}
}

/* Level interrupt: the line follows status && enabled (re-evaluated after any change). */
static void hpet_update_level(struct hpet_timer *t)
{
	const struct irq_line *line = hpet_route(t);
	bool want = (t->conf & HPET_TN_INT_TYPE_LEVEL) && (t->conf & HPET_TN_INT_ENB) &&
		    !(t->conf & HPET_TN_FSB_EN) && (t->h->isr & (1ull << t->idx));

	if (t->line_high && (!want || line->set != t->line_on.set ||
			     line->sink != t->line_on.sink || line->pin != t->line_on.pin))
		hpet_lower(t);
	if (want && !t->line_high) {
		t->line_high = true;
		t->line_on = *line;
		irq_line_set(&t->line_on, 1);
	}
}

static void hpet_interrupt(struct hpet_timer *t)
{
	struct hpet *h = t->h;

	if (t->conf & HPET_TN_INT_TYPE_LEVEL) {
		h->isr |= 1ull << t->idx;
		hpet_update_level(t);
		return;
	}
	if (!(t->conf & HPET_TN_INT_ENB))
		return;
	if (t->conf & HPET_TN_FSB_EN) {
		if (h->p->msi)
			h->p->msi(h->p, t->fsb >> 32, (u32)t->fsb);
		return;
	}
	irq_line_pulse(hpet_route(t));
}

/* Arm at the next match; after_fire: a match at the current count has just been handled. */
static void hpet_arm(struct hpet_timer *t, bool after_fire)
{
	struct hpet *h = t->h;
	u64 cur, delta, target;
	unsigned __int128 ns;

	if (!hpet_enabled(h)) {
		timer_cancel(&t->timer);
		return;
	}
	cur = hpet_counter(h);
	if (hpet_is32(t)) {
		delta = (u32)(t->cmp - cur);
		if (!delta && after_fire)
			delta = 1ull << 32;
	} else if (t->cmp > cur || (t->cmp == cur && !after_fire)) {
		delta = t->cmp - cur;
	} else {
		timer_cancel(&t->timer);
		return;
	}
	target = cur + delta;
	ns = h->counter_start_ns + (unsigned __int128)(target - h->counter_base) * HPET_TICK_NS;
	if (ns >= TIMER_NEVER)
		timer_cancel(&t->timer);
	else
		timer_arm(&t->timer, (u64)ns);
}

/* Timer 0 driving IRQ 0 periodically on edges, slow enough to look at each match. */
static bool hpet_reinjects(const struct hpet_timer *t)
{
	return t->idx == 0 && (t->h->gen_conf & HPET_CONF_LEG_RT) &&
	       (t->conf & HPET_TN_TYPE_PERIODIC) && !(t->conf & HPET_TN_INT_TYPE_LEVEL) &&
	       !(t->conf & HPET_TN_FSB_EN) && t->period * HPET_TICK_NS >= HPET_MIN_PERIOD_NS;
}

/* At most a second's worth of matches of t's period. */
static u64 hpet_max_owed(const struct hpet_timer *t)
{
	return MAX(1000000000ull / HPET_TICK_NS / MAX(t->period, 1ull), 1ull);
}

void hpet_irq0_acked(struct hpet *h)
{
	struct hpet_timer *t = &h->t[0];

	if (!t->owed)
		return;
	if (!hpet_reinjects(t) || !hpet_enabled(h)) {
		t->owed = 0;
		return;
	}
	t->owed--;
	hpet_interrupt(t);
}

static void hpet_timer_fire(void *opaque)
{
	struct hpet_timer *t = opaque;
	u64 cur = hpet_counter(t->h), k, now;

	hpet_interrupt(t);
	if (!(t->conf & HPET_TN_TYPE_PERIODIC) || !t->period) {
		hpet_arm(t, true);
		return;
	}
	if (hpet_is32(t)) {
		k = (u32)(cur - t->cmp) / (u32)t->period + 1;
		t->cmp = (u32)(t->cmp + k * t->period);
	} else {
		k = (cur - t->cmp) / t->period + 1;
		t->cmp += k * t->period;
	}
	if (hpet_reinjects(t))
		t->owed = (u32)MIN(t->owed + k - 1, hpet_max_owed(t));
	else
		t->owed = 0;
	hpet_arm(t, false);
	/* A tiny period: at most one expiry per HPET_MIN_PERIOD_NS (later ones coalesce). */
	now = vclock_now_ns(&t->h->p->clock);
	if (t->period * HPET_TICK_NS < HPET_MIN_PERIOD_NS && timer_armed(&t->timer) &&
	    t->timer.deadline_ns < now + HPET_MIN_PERIOD_NS)
		timer_arm(&t->timer, now + HPET_MIN_PERIOD_NS);
}

static void hpet_write_gen_conf(struct hpet *h, u64 val)
{
	u64 old = h->gen_conf;

	val &= HPET_CONF_ENABLE | HPET_CONF_LEG_RT;
	if ((val ^ old) & HPET_CONF_ENABLE) {
		h->counter_base = hpet_counter(h); /* freeze or restart from here */
		h->counter_start_ns = vclock_now_ns(&h->p->clock);
	}
	h->gen_conf = val;
	if (((val ^ old) & HPET_CONF_LEG_RT) && h->cfg.legacy_changed)
		h->cfg.legacy_changed(h->cfg.opaque, val & HPET_CONF_LEG_RT);
	for (unsigned i = 0; i < HPET_NR_TIMERS; i++) {
		hpet_update_level(&h->t[i]);
		hpet_arm(&h->t[i], false);
	}
}

static void hpet_write_conf(struct hpet_timer *t, u64 val)
{
	u64 route = (val & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;

	if (!(HPET_ROUTE_CAP & (1ull << route))) {
		/* Not an allowed input: keep the old route (the field is "RW" only within CAP). */
		val = (val & ~HPET_TN_ROUTE_MASK) | (t->conf & HPET_TN_ROUTE_MASK);
	}
	t->conf = val & HPET_TN_WMASK;
	if (hpet_is32(t)) {
		t->cmp = (u32)t->cmp;
		t->period = (u32)t->period;
	}
	hpet_update_level(t);
	hpet_arm(t, false);
}

/* A comparator write (2.3.9.2.2): the accumulator with VAL_SET or in one-shot, else the period. */
static void hpet_write_cmp(struct hpet_timer *t, u64 val, bool low_half_written)
{
	if (hpet_is32(t))
		val = (u32)val;
	if (!(t->conf & HPET_TN_TYPE_PERIODIC) || (t->conf & HPET_TN_VAL_SET)) {
		t->cmp = val;
	} else {
		t->period = val;
	}
	if (low_half_written)
		t->conf &= ~HPET_TN_VAL_SET;
	hpet_arm(t, false);
}

static u64 hpet_read64(struct hpet *h, u64 reg)
{
	struct hpet_timer *t;

	switch (reg) {
	case HPET_GCAP_ID:
		return HPET_PERIOD_FS << 32 | HPET_CAP_VENDOR_INTEL << 16 | HPET_CAP_LEG_RT |
		       HPET_CAP_COUNT_SIZE | (u64)(HPET_NR_TIMERS - 1) << HPET_CAP_NUM_TIM_SHIFT |
		       HPET_CAP_REV;
	case HPET_GEN_CONF:
		return h->gen_conf;
	case HPET_GINTR_STA:
		return h->isr;
	case HPET_MAIN_CNT:
		return hpet_counter(h);
	default:
		break;
	}
	if (reg < HPET_TIMER_BASE || reg >= HPET_TIMER_BASE + HPET_NR_TIMERS * HPET_TIMER_SIZE)
		return 0;
	t = &h->t[(reg - HPET_TIMER_BASE) / HPET_TIMER_SIZE];
	switch ((reg - HPET_TIMER_BASE) % HPET_TIMER_SIZE) {
	case HPET_TN_CONF:
		return t->conf | HPET_TN_PER_INT_CAP | HPET_TN_SIZE_CAP | HPET_TN_FSB_CAP |
		       HPET_ROUTE_CAP << HPET_TN_ROUTE_CAP_SHIFT;
	case HPET_TN_CMP:
		return hpet_is32(t) ? (u32)t->cmp : t->cmp;
	case HPET_TN_FSB:
		return t->fsb;
	default:
		return 0;
	}
}

static void hpet_write64(struct hpet *h, u64 reg, u64 val, u64 mask)
{
	struct hpet_timer *t;
	u64 merged = (hpet_read64(h, reg) & ~mask) | (val & mask);

	switch (reg) {
	case HPET_GEN_CONF:
		hpet_write_gen_conf(h, merged);
		return;
	case HPET_GINTR_STA:
		h->isr &= ~(val & mask); /* write 1 to clear */
		for (unsigned i = 0; i < HPET_NR_TIMERS; i++)
			hpet_update_level(&h->t[i]);
		return;
	case HPET_MAIN_CNT:
		h->counter_base = merged;
		h->counter_start_ns = vclock_now_ns(&h->p->clock);
		for (unsigned i = 0; i < HPET_NR_TIMERS; i++)
			hpet_arm(&h->t[i], false);
		return;
	default:
		break;
	}
	if (reg < HPET_TIMER_BASE || reg >= HPET_TIMER_BASE + HPET_NR_TIMERS * HPET_TIMER_SIZE)
		return; /* capabilities and reserved space are read-only */
	t = &h->t[(reg - HPET_TIMER_BASE) / HPET_TIMER_SIZE];
	switch ((reg - HPET_TIMER_BASE) % HPET_TIMER_SIZE) {
	case HPET_TN_CONF:
		hpet_write_conf(t, merged);
		break;
	case HPET_TN_CMP:
		/* The accumulator keeps its own value: merge with cmp, not with the period. */
		hpet_write_cmp(t, (t->cmp & ~mask) | (val & mask), mask & 0xffffffffull);
		break;
	case HPET_TN_FSB:
		t->fsb = merged;
		break;
	default:
		break;
	}
}

static u64 hpet_read(void *dev, u64 off, unsigned size)
{
	struct hpet *h = dev;
	u64 v = hpet_read64(h, off & ~7ull) >> ((off & 7) * 8);

	return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

static void hpet_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct hpet *h = dev;
	unsigned shift = (unsigned)(off & 7) * 8;
	u64 mask = size == 8 ? ~0ull : ((1ull << (size * 8)) - 1) << shift;

	hpet_write64(h, off & ~7ull, val << shift, mask);
}

static const struct io_ops hpet_io = {
	.read = hpet_read,
	.write = hpet_write,
	.min_size = 4,
	.max_size = 8,
};

void hpet_reset(struct hpet *h)
{
	bool leg = h->gen_conf & HPET_CONF_LEG_RT;

	h->gen_conf = 0;
	h->isr = 0;
	h->counter_base = 0;
	h->counter_start_ns = 0;
	for (unsigned i = 0; i < HPET_NR_TIMERS; i++) {
		struct hpet_timer *t = &h->t[i];

		timer_cancel(&t->timer);
		hpet_lower(t);
		t->conf = 0;
		t->cmp = ~0ull;
		t->period = 0;
		t->fsb = 0;
		t->owed = 0;
	}
	if (leg && h->cfg.legacy_changed)
		h->cfg.legacy_changed(h->cfg.opaque, false);
}

int hpet_create(struct platform *p, const struct hpet_config *cfg, struct hpet **out,
		struct err *err)
{
	struct hpet *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	h->p = p;
	snprintf(h->name, sizeof(h->name), "%s", cfg->name);
	h->cfg = *cfg;
	for (unsigned i = 0; i < HPET_NR_TIMERS; i++) {
		h->t[i].h = h;
		h->t[i].idx = i;
		timer_init(&h->t[i].timer, &p->clock, hpet_timer_fire, &h->t[i]);
	}
	hpet_reset(h);
	ret = bus_map_dev(&p->mmio, cfg->base, HPET_MMIO_SIZE, &hpet_io, h, h->name, err);
	if (ret < 0) {
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

void hpet_destroy(struct hpet *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < HPET_NR_TIMERS; i++)
		timer_cancel(&h->t[i].timer);
	bus_unmap(&h->p->mmio, h->cfg.base);
	free(h);
}

static void hpet_ops_reset(void *dev)
{
	hpet_reset(dev);
}

static void hpet_ops_destroy(void *dev)
{
	hpet_destroy(dev);
}

/* Invariants the register interface keeps and a hostile record may not: a route within
 * cfg.gsi[], 32-bit values in 32-bit mode. */
static int hpet_timer_post_load(void *obj, u32 version, struct err *err)
{
	struct hpet_timer *t = obj;
	u64 route = (t->conf & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;

	(void)version;
	if ((t->conf & ~HPET_TN_WMASK) || route >= HPET_NR_GSI)
		return err_set(err, -EINVAL, "timer %u: configuration %#llx not valid", t->idx,
			       (unsigned long long)t->conf);
	/* A 32-bit timer's comparator and period are 32-bit (hpet_write_conf truncates them). */
	if (hpet_is32(t) && ((t->cmp | t->period) >> 32))
		return err_set(err, -EINVAL, "timer %u: 32-bit mode with a 64-bit comparator",
			       t->idx);
	if (t->owed > hpet_max_owed(t))
		return err_set(err, -EINVAL, "timer %u: %u matches owed, more than a second's",
			       t->idx, t->owed);
	return 0;
}

/*
 * Legacy replacement takes IRQ 0 and 8 from the PIT and RTC again (the board is told), and a
 * level line that was high is raised again on the route the configuration names.
 */
static int hpet_post_load(void *obj, u32 version, struct err *err)
{
	struct hpet *h = obj;

	(void)version;
	if (h->gen_conf & ~(u64)(HPET_CONF_ENABLE | HPET_CONF_LEG_RT))
		return err_set(err, -EINVAL, "%s: general configuration %#llx not valid", h->name,
			       (unsigned long long)h->gen_conf);
	if (h->counter_start_ns > vclock_now_ns(&h->p->clock))
		return err_set(err, -EINVAL, "%s: counter started at %llu ns, in the future",
			       h->name, (unsigned long long)h->counter_start_ns);
	if ((h->gen_conf & HPET_CONF_LEG_RT) && h->cfg.legacy_changed)
		h->cfg.legacy_changed(h->cfg.opaque, true);
	for (unsigned i = 0; i < HPET_NR_TIMERS; i++) {
		struct hpet_timer *t = &h->t[i];

		t->line_on = *hpet_route(t);
		if (t->line_high)
			irq_line_set(&t->line_on, 1);
	}
	return 0;
}

static const struct state_field hpet_timer_fields[] = {
	STATE_HOST(struct hpet_timer, h, "back pointer to the device"),
	STATE_U32(struct hpet_timer, idx, STATE_CHECKED),
	STATE_U64(struct hpet_timer, conf),
	STATE_U64(struct hpet_timer, cmp),
	STATE_U64(struct hpet_timer, period),
	STATE_U64(struct hpet_timer, fsb),
	STATE_BOOL(struct hpet_timer, line_high),
	STATE_HOST(struct hpet_timer, line_on, "re-derived from the route by post_load"),
	STATE_TIMER(struct hpet_timer, timer),
	STATE_U32(struct hpet_timer, owed, STATE_SINCE(2)),
	STATE_END,
};

static const struct state_desc hpet_timer_state = {
	.name = "hpet-timer",
	.version = 2,
	.min_version = 1,
	STATE_LAYOUT(struct hpet_timer),
	.fields = hpet_timer_fields,
	.post_load = hpet_timer_post_load,
};

static const struct state_field hpet_fields[] = {
	STATE_HOST(struct hpet, p, "the platform"),
	STATE_HOST(struct hpet, name, "the board's name"),
	STATE_HOST(struct hpet, cfg, "the board's wiring: window and lines"),
	STATE_U64(struct hpet, gen_conf),
	STATE_U64(struct hpet, isr),
	STATE_U64(struct hpet, counter_base),
	STATE_U64(struct hpet, counter_start_ns),
	STATE_STRUCT_ARRAY(struct hpet, t, hpet_timer_state),
	STATE_END,
};

static const struct state_desc hpet_state = {
	.name = "hpet",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct hpet),
	.fields = hpet_fields,
	.post_load = hpet_post_load,
};

const struct device_ops hpet_device_ops = {
	.type = "hpet",
	.reset = hpet_ops_reset,
	.state = &hpet_state,
	.destroy = hpet_ops_destroy,
};
