// SPDX-License-Identifier: MIT
/*
 * Intel 82C54 programmable interval timer as wired in the PC (82C54
 * datasheet): three 16-bit down counters clocked at 1.193182 MHz at ports
 * 0x40-0x42 with the control word register at 0x43; counter 0's OUT is
 * IRQ 0, counter 1 is unused (DRAM refresh on old PCs), counter 2's GATE
 * and OUT are bits 0 and 5 of port 0x61 (PIIX4 datasheet 4.7.1), as used
 * by the speaker and by Linux's PIT calibration loops.
 *
 * Modelled: modes 0-5 ("Mode Definitions" and figures 12-17), binary and
 * BCD counting, LSB, MSB and LSB-then-MSB access ("Write Operations", "Read
 * Operations"), the counter latch command, the read-back command with the
 * status byte (OUT, NULL COUNT, programmed mode), GATE: counting suspended
 * while low in modes 0, 2, 3 and 4, a rising edge reloading in modes 2 and 3
 * and triggering modes 1 and 5 ("Gate" table 3). A count written takes effect
 * on the next CLK pulse, so in mode 0 OUT rises N + 1 pulses after N is
 * written.
 *
 * Time: no counter state is stepped. Each channel remembers the CLK pulse
 * at which its counting element was loaded; counts and OUT are computed
 * from the pulse number of the virtual clock (vclock_now_ns * 1193182 /
 * 10^9), so a fake clock gives exact results. Channel 0 arms a timer.h
 * deadline at its next OUT transition only; channel 2 is computed when
 * port 0x61 or the counter is read.
 *
 * A guest programming a periodic count below 24 pulses (above 50 kHz) gets
 * its IRQ 0 edges coalesced to one look every 20 us, so it cannot make the
 * VMM's timer loop spin; counts and OUT read back exactly regardless.
 *
 * Lost ticks are given back, as KVM's in-kernel PIT does in its default
 * reinject mode. When the timer runs late (a loaded host) and a look finds
 * that OUT rose several times since the last one, channel 0 gives one edge
 * then and owes the others (at most a second's worth); each time the CPU
 * takes IRQ 0's interrupt (pit_irq0_acked: the board's INTA of its vector)
 * the next owed edge follows. So a guest counting timer interrupts over a
 * stretch of its own clock (Linux's check of the IO-APIC timer route at
 * boot) sees them all, only bunched.
 *
 * Not modelled: a new count written while counting in modes 2 and 3 takes
 * effect on the next pulse instead of at the end of the current period;
 * writing the first byte of a two-byte count does not stop mode 0 counting;
 * the PC speaker makes no sound; port 0x61 bits 6-7 (SERR#, IOCHK#) read 0.
 */
#include "devices/pit.h"

#include "devices/pit_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEC_PER_SEC	     1000000000ull
#define PIT_NOT_COUNTING     UINT64_MAX
#define PIT_NO_CHANGE	     UINT64_MAX
#define PIT_MIN_PERIOD_TICKS 24	      /* periodic counts below 20 us ... */
#define PIT_MIN_EVENT_NS     20000ull /* ... are looked at every 20 us only */

struct pit;

struct pit_channel {
	struct pit *pit;
	unsigned idx;
	u8 mode, rw, bcd;
	bool loaded;	 /* a count was written after the control word */
	bool cr_pending; /* the count register waits for the counting element */
	bool gate;
	u32 reload;	/* N as a number of pulses: 1..65536 (10000 in BCD) */
	u32 base;	/* the counting element's value at start_tick */
	u64 start_tick; /* pulse at which counting (re)started, or PIT_NOT_COUNTING */
	bool done;	/* mode 0: OUT already high; modes 4, 5: strobe already given */
	bool write_msb; /* PIT_RW_WORD: the next write is the MSB */
	u8 write_lsb;
	bool read_msb; /* PIT_RW_WORD: the next live read returns the MSB */
	bool count_latched, latch_msb, status_latched;
	u16 latched;
	u8 status;
	/* Channel 0 only: the IRQ line and the timer at the next OUT transition. */
	int irq_level;
	struct timer timer;
	u64 look_tick; /* the pulse of the last look at OUT (pit_irq_sync) */
	u32 owed;      /* rising edges that went by unseen, given one per acknowledge */
};

struct pit {
	struct platform *p;
	char name[32];
	u16 base, port_b;
	u8 port_b_val; /* bits 0-3 as written */
	struct irq_line irq0;
	struct pit_channel ch[PIT_NR_CHANNELS];
};

static u64 pit_tick_now(const struct pit *pit)
{
	unsigned __int128 ns = vclock_now_ns(&pit->p->clock);

	return (u64)(ns * PIT_FREQ_HZ / NSEC_PER_SEC);
}

/* The first nanosecond at which pulse tick has happened. */
static u64 pit_tick_to_ns(u64 tick)
{
	unsigned __int128 ns = (unsigned __int128)tick * NSEC_PER_SEC + PIT_FREQ_HZ - 1;

	return (u64)(ns / PIT_FREQ_HZ);
}

static u32 pit_modulus(const struct pit_channel *ch)
{
	return ch->bcd ? 10000 : 65536;
}

static bool pit_gate_pauses(const struct pit_channel *ch)
{
	return ch->mode == PIT_MODE_INT_ON_TC || ch->mode == PIT_MODE_RATE_GEN ||
	       ch->mode == PIT_MODE_SQUARE_WAVE || ch->mode == PIT_MODE_SW_STROBE;
}

static bool pit_periodic(const struct pit_channel *ch)
{
	return ch->mode == PIT_MODE_RATE_GEN || ch->mode == PIT_MODE_SQUARE_WAVE;
}

/* Pulses counted since the load, or false if the counting element is not running at tick. */
static bool pit_elapsed(const struct pit_channel *ch, u64 tick, u64 *e)
{
	if (ch->start_tick == PIT_NOT_COUNTING || tick < ch->start_tick)
		return false;
	*e = tick - ch->start_tick;
	return true;
}

/* The counting element at pulse tick, as a binary number 0..modulus-1. */
static u32 pit_count_at(const struct pit_channel *ch, u64 tick)
{
	u32 m = pit_modulus(ch), n = ch->reload, p, hi;
	u64 e;

	if (!pit_elapsed(ch, tick, &e))
		return ch->base % m;
	switch (ch->mode) {
	case PIT_MODE_RATE_GEN:
		return (u32)(n - e % n) % m;
	case PIT_MODE_SQUARE_WAVE:
		p = (u32)(e % n);
		hi = (n + 1) / 2;
		return (p < hi ? 2 * (hi - p) - (n & 1) : 2 * (n / 2 - (p - hi))) % m;
	default: /* modes 0, 1, 4, 5 count down through zero and wrap */
		return (u32)((ch->base + m - e % m) % m);
	}
}

/* The OUT pin at pulse tick. */
static bool pit_out_at(const struct pit_channel *ch, u64 tick)
{
	u32 n = ch->reload;
	u64 e;
	bool running = pit_elapsed(ch, tick, &e);

	switch (ch->mode) {
	case PIT_MODE_INT_ON_TC:
		return ch->done || (running && e >= ch->base);
	case PIT_MODE_ONESHOT:
		return !running || e >= n;
	case PIT_MODE_RATE_GEN:
		return !running || n < 2 || e % n != n - 1;
	case PIT_MODE_SQUARE_WAVE:
		return !running || e % n < (n + 1) / 2;
	default: /* 4, 5: low for the one pulse at which the count reaches zero */
		return !running || ch->done || e != ch->base;
	}
}

/* The next pulse after tick at which OUT changes, or PIT_NO_CHANGE. */
static u64 pit_next_change(const struct pit_channel *ch, u64 tick)
{
	u32 n = ch->reload, p, hi;
	u64 e, s = ch->start_tick;

	if (s == PIT_NOT_COUNTING)
		return PIT_NO_CHANGE;
	if (tick < s)
		tick = s; /* nothing changes before the load; look from there */
	e = tick - s;
	switch (ch->mode) {
	case PIT_MODE_INT_ON_TC:
		return !ch->done && e < ch->base ? s + ch->base : PIT_NO_CHANGE;
	case PIT_MODE_ONESHOT:
		return e < n ? s + n : PIT_NO_CHANGE;
	case PIT_MODE_RATE_GEN:
		if (n < 2)
			return PIT_NO_CHANGE;
		p = (u32)(e % n);
		return p < n - 1 ? tick - p + n - 1 : tick + 1;
	case PIT_MODE_SQUARE_WAVE:
		hi = (n + 1) / 2;
		if (hi == n)
			return PIT_NO_CHANGE;
		p = (u32)(e % n);
		return p < hi ? tick - p + hi : tick - p + n;
	default:
		if (ch->done || e > ch->base)
			return PIT_NO_CHANGE;
		return e < ch->base ? s + ch->base : s + ch->base + 1;
	}
}

/* Periodic counts lose no ticks (reinjection) unless they are too fast to look at each. */
static bool pit_reinjects(const struct pit_channel *ch)
{
	return pit_periodic(ch) && ch->reload >= PIT_MIN_PERIOD_TICKS;
}

/* Rising edges of OUT in modes 2 and 3 in pulses (from, to]: one per period, at e = k * N. */
static u64 pit_rises_between(const struct pit_channel *ch, u64 from, u64 to)
{
	u64 e1 = 0, e2;

	if (!pit_elapsed(ch, to, &e2))
		return 0;
	if (!pit_elapsed(ch, from, &e1))
		e1 = 0;
	return e2 / ch->reload - e1 / ch->reload;
}

/* At most a second's worth of ticks of the channel's period may be owed. */
static u32 pit_max_owed(const struct pit_channel *ch)
{
	return MAX(PIT_FREQ_HZ / ch->reload, 1u);
}

/* A late look gave one edge for rises rising edges: owe the others, at most a second's. */
static void pit_owe(struct pit_channel *ch, u64 rises, bool gave_one)
{
	if (rises > (u64)gave_one)
		ch->owed = (u32)MIN(ch->owed + rises - gave_one, (u64)pit_max_owed(ch));
}

/* One rising edge on IRQ 0 while OUT stays at level: an edge pair. */
static void pit_irq_edge(struct pit *pit, int level)
{
	irq_line_set(&pit->irq0, !level);
	irq_line_set(&pit->irq0, level);
}

/* Channel 0: drive IRQ 0 from OUT and arm the timer at the next transition. */
static void pit_irq_sync(struct pit_channel *ch, bool passed_change)
{
	struct pit *pit = ch->pit;
	u64 tick, next, next_ns;
	bool gave_rise = false;
	int level;

	if (ch->idx != 0)
		return;
	tick = pit_tick_now(pit);
	level = pit_out_at(ch, tick);
	if (level != ch->irq_level) {
		ch->irq_level = level;
		irq_line_set(&pit->irq0, level);
		gave_rise = level;
	} else if (passed_change) {
		/* A whole phase went by between two looks: give the edge pair it contained. */
		pit_irq_edge(pit, level);
		gave_rise = true;
	}
	if (passed_change && pit_reinjects(ch))
		pit_owe(ch, pit_rises_between(ch, ch->look_tick, tick), gave_rise);
	else if (!pit_reinjects(ch))
		ch->owed = 0;
	ch->look_tick = tick;
	next = pit_next_change(ch, tick);
	if (next == PIT_NO_CHANGE) {
		timer_cancel(&ch->timer);
		return;
	}
	next_ns = pit_tick_to_ns(next);
	/* A tiny periodic count: at most one look per PIT_MIN_EVENT_NS (edges coalesce). */
	if (passed_change && pit_periodic(ch) && ch->reload < PIT_MIN_PERIOD_TICKS)
		next_ns = MAX(next_ns, vclock_now_ns(&pit->p->clock) + PIT_MIN_EVENT_NS);
	timer_arm(&ch->timer, next_ns);
}

static void pit_timer_fire(void *opaque)
{
	pit_irq_sync(opaque, true);
}

void pit_irq0_acked(struct pit *pit)
{
	struct pit_channel *ch = &pit->ch[0];

	if (!ch->owed)
		return;
	ch->owed--;
	pit_irq_edge(pit, ch->irq_level);
}

/* Modes 0 and 4 remember what already happened before counting is suspended. */
static void pit_freeze(struct pit_channel *ch, u64 tick)
{
	u64 e;

	if (pit_elapsed(ch, tick, &e)) {
		if ((ch->mode == PIT_MODE_INT_ON_TC || ch->mode == PIT_MODE_SW_STROBE) &&
		    e >= ch->base)
			ch->done = true;
		ch->base = pit_count_at(ch, tick);
	}
	ch->start_tick = PIT_NOT_COUNTING;
}

static void pit_set_gate(struct pit_channel *ch, bool gate)
{
	u64 tick = pit_tick_now(ch->pit);

	if (gate == ch->gate)
		return;
	ch->gate = gate;
	if (!ch->loaded)
		return;
	if (!gate) {
		if (pit_gate_pauses(ch))
			pit_freeze(ch, tick);
	} else if (ch->mode == PIT_MODE_INT_ON_TC || ch->mode == PIT_MODE_SW_STROBE) {
		ch->start_tick = tick + 1; /* resume from the held count */
	} else {
		/* A rising edge: modes 1 and 5 trigger; modes 2 and 3 reload. */
		ch->base = ch->reload;
		ch->done = false;
		ch->start_tick = tick + 1;
	}
	pit_irq_sync(ch, false);
}

static u32 pit_from_bcd(u16 v)
{
	return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
}

static u16 pit_to_bcd(u32 v)
{
	return (u16)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* A complete count was written into the count register. */
static void pit_load(struct pit_channel *ch, u16 val)
{
	u64 tick = pit_tick_now(ch->pit);
	u32 n = ch->bcd ? pit_from_bcd(val) : val;

	ch->reload = n ? n : pit_modulus(ch);
	ch->loaded = true;
	ch->cr_pending = true;
	switch (ch->mode) {
	case PIT_MODE_ONESHOT:
	case PIT_MODE_HW_STROBE:
		break; /* waits for a gate trigger */
	default:
		ch->base = ch->reload;
		ch->done = false;
		ch->start_tick = ch->gate ? tick + 1 : PIT_NOT_COUNTING;
		break;
	}
	pit_irq_sync(ch, false);
}

static bool pit_null_count(const struct pit_channel *ch, u64 tick)
{
	return ch->cr_pending && (ch->start_tick == PIT_NOT_COUNTING || tick < ch->start_tick);
}

static u8 pit_status(struct pit_channel *ch)
{
	u64 tick = pit_tick_now(ch->pit);
	u8 st = (u8)(ch->rw << PIT_CW_RW_SHIFT | ch->mode << PIT_CW_MODE_SHIFT | ch->bcd);

	if (pit_out_at(ch, tick))
		st |= PIT_STATUS_OUT;
	if (pit_null_count(ch, tick))
		st |= PIT_STATUS_NULL_COUNT;
	return st;
}

static u16 pit_read_value(struct pit_channel *ch)
{
	u32 v = pit_count_at(ch, pit_tick_now(ch->pit));

	return ch->bcd ? pit_to_bcd(v) : (u16)v;
}

static void pit_latch_count(struct pit_channel *ch)
{
	if (ch->count_latched)
		return; /* later latch commands are ignored until the value is read */
	ch->latched = pit_read_value(ch);
	ch->count_latched = true;
	ch->latch_msb = ch->rw == PIT_RW_MSB;
}

static void pit_write_control(struct pit *pit, u8 val)
{
	unsigned sc = val >> PIT_CW_SC_SHIFT, rw = (val & PIT_CW_RW_MASK) >> PIT_CW_RW_SHIFT;
	struct pit_channel *ch;
	unsigned mode;

	if (sc == PIT_CW_SC_READBACK) {
		for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
			ch = &pit->ch[i];
			if (!(val & PIT_RB_CNT(i)))
				continue;
			if (!(val & PIT_RB_NOT_COUNT))
				pit_latch_count(ch);
			if (!(val & PIT_RB_NOT_STATUS) && !ch->status_latched) {
				ch->status = pit_status(ch);
				ch->status_latched = true;
			}
		}
		return;
	}
	ch = &pit->ch[sc];
	if (rw == PIT_RW_LATCH) {
		pit_latch_count(ch);
		return;
	}
	mode = (val & PIT_CW_MODE_MASK) >> PIT_CW_MODE_SHIFT;
	if (mode > 5)
		mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	ch->mode = (u8)mode;
	ch->rw = (u8)rw;
	ch->bcd = val & PIT_CW_BCD;
	ch->loaded = false;
	ch->cr_pending = false;
	ch->done = false;
	ch->base = 0;
	ch->start_tick = PIT_NOT_COUNTING;
	ch->write_msb = false;
	ch->read_msb = false;
	ch->count_latched = false;
	ch->status_latched = false;
	pit_irq_sync(ch, false); /* OUT: low in mode 0, high in the others */
}

static void pit_write_counter(struct pit_channel *ch, u8 val)
{
	switch (ch->rw) {
	case PIT_RW_LSB:
		pit_load(ch, val);
		break;
	case PIT_RW_MSB:
		pit_load(ch, (u16)(val << 8));
		break;
	case PIT_RW_WORD:
		if (!ch->write_msb) {
			ch->write_lsb = val;
			ch->write_msb = true;
		} else {
			ch->write_msb = false;
			pit_load(ch, (u16)(val << 8 | ch->write_lsb));
		}
		break;
	default:
		log_guest("%s: counter %u written before its control word", ch->pit->name, ch->idx);
		break;
	}
}

static u8 pit_read_counter(struct pit_channel *ch)
{
	u16 v;

	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->count_latched) {
		v = ch->latched;
		if (ch->rw == PIT_RW_WORD && !ch->latch_msb) {
			ch->latch_msb = true;
			return (u8)v;
		}
		ch->count_latched = false;
		return ch->rw == PIT_RW_LSB ? (u8)v : (u8)(v >> 8);
	}
	v = pit_read_value(ch);
	switch (ch->rw) {
	case PIT_RW_LSB:
		return (u8)v;
	case PIT_RW_MSB:
		return (u8)(v >> 8);
	default:
		ch->read_msb = !ch->read_msb;
		return ch->read_msb ? (u8)v : (u8)(v >> 8);
	}
}

static u64 pit_read(void *dev, u64 off, unsigned size)
{
	struct pit *pit = dev;

	(void)size;
	if (off == PIT_CONTROL_PORT)
		return 0xff; /* the control word register cannot be read */
	return pit_read_counter(&pit->ch[off]);
}

static void pit_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pit *pit = dev;

	(void)size;
	if (off == PIT_CONTROL_PORT)
		pit_write_control(pit, (u8)val);
	else
		pit_write_counter(&pit->ch[off], (u8)val);
}

static u64 pit_port_b_read(void *dev, u64 off, unsigned size)
{
	struct pit *pit = dev;
	u8 val = pit->port_b_val;

	(void)off;
	(void)size;
	if ((vclock_now_ns(&pit->p->clock) / PIT_REFRESH_NS) & 1)
		val |= PIT_PORTB_REFRESH;
	if (pit_out_at(&pit->ch[2], pit_tick_now(pit)))
		val |= PIT_PORTB_OUT2;
	return val;
}

static void pit_port_b_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pit *pit = dev;

	(void)off;
	(void)size;
	pit->port_b_val = (u8)val & PIT_PORTB_WMASK;
	pit_set_gate(&pit->ch[2], val & PIT_PORTB_GATE2);
}

static const struct io_ops pit_io = {
	.read = pit_read,
	.write = pit_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops pit_port_b_io = {
	.read = pit_port_b_read,
	.write = pit_port_b_write,
	.min_size = 1,
	.max_size = 1,
};

/* The access state of a two-byte port in the neutral form's terms. */
static u8 pit_rw_state(u8 rw, bool msb_next)
{
	if (rw == PIT_RW_WORD)
		return msb_next ? CHIPS_PIT_RW_WORD1 : CHIPS_PIT_RW_WORD0;
	return rw;
}

void pit_export(const struct pit *pit, struct chips_pit_channel out[PIT_NR_CHANNELS],
		bool *speaker_data)
{
	u64 tick = pit_tick_now(pit), e;

	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		const struct pit_channel *ch = &pit->ch[i];

		out[i] = (struct chips_pit_channel){
			.mode = ch->mode,
			.rw = ch->rw,
			.bcd = ch->bcd,
			.gate = ch->gate,
			.loaded = ch->loaded,
			.out = pit_out_at(ch, tick),
			.reload = ch->reload,
			.count = pit_count_at(ch, tick),
			.read_state = pit_rw_state(ch->rw, ch->read_msb),
			.write_state = pit_rw_state(ch->rw, ch->write_msb),
			.write_lsb = ch->write_lsb,
			.latch_state = !ch->count_latched    ? 0 :
				       ch->latch_msb	     ? CHIPS_PIT_RW_MSB :
				       ch->rw == PIT_RW_WORD ? CHIPS_PIT_RW_WORD0 :
							       CHIPS_PIT_RW_LSB,
			.latched = ch->latched,
			.status_latched = ch->status_latched,
			.status = ch->status,
		};
		if (pit_periodic(ch) && pit_elapsed(ch, tick, &e))
			out[i].elapsed = (u32)(e % ch->reload);
	}
	*speaker_data = pit->port_b_val & PIT_PORTB_SPKR;
}

int pit_import(struct pit *pit, const struct chips_pit_channel in[PIT_NR_CHANNELS],
	       bool speaker_data, struct err *err)
{
	u64 tick = pit_tick_now(pit);

	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		if (in[i].rw > PIT_RW_WORD || in[i].reload > 65536 || in[i].count > 65535 ||
		    in[i].read_state > CHIPS_PIT_RW_WORD1 ||
		    in[i].write_state > CHIPS_PIT_RW_WORD1 ||
		    in[i].latch_state > CHIPS_PIT_RW_WORD1)
			return err_set(
				err, -EINVAL,
				"%s: counter %u: access %u, reload %u, count %u out of range",
				pit->name, i, in[i].rw, in[i].reload, in[i].count);
	}
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		struct pit_channel *ch = &pit->ch[i];
		const struct chips_pit_channel *c = &in[i];
		bool known = c->mode <= PIT_MODE_HW_STROBE; /* KVM: 0xff until programmed */

		ch->mode = known ? c->mode : PIT_MODE_INT_ON_TC;
		ch->rw = c->rw ? c->rw : PIT_RW_LSB;
		ch->bcd = c->bcd;
		ch->gate = c->gate;
		ch->loaded = known && c->loaded;
		ch->cr_pending = false;
		ch->reload = c->reload ? c->reload : pit_modulus(ch);
		ch->base = c->count % pit_modulus(ch);
		ch->done = false;
		ch->start_tick = PIT_NOT_COUNTING;
		if (ch->loaded && (ch->gate || !pit_gate_pauses(ch))) {
			if (pit_periodic(ch)) {
				/* the same phase of the period */
				ch->base = ch->reload;
				ch->start_tick = tick - MIN((u64)c->elapsed % ch->reload, tick);
			} else if (ch->mode == PIT_MODE_INT_ON_TC ||
				   ch->mode == PIT_MODE_SW_STROBE) {
				/* counting on from the count, OUT as it was */
				ch->done = ch->mode == PIT_MODE_INT_ON_TC && c->out;
				ch->start_tick = tick;
			}
			/* modes 1 and 5 wait for the next gate trigger */
		}
		ch->read_msb = c->read_state == CHIPS_PIT_RW_WORD1;
		ch->write_msb = c->write_state == CHIPS_PIT_RW_WORD1;
		ch->write_lsb = c->write_lsb;
		ch->count_latched = c->latch_state != 0;
		ch->latch_msb = c->latch_state == CHIPS_PIT_RW_MSB;
		ch->latched = c->latched;
		ch->status_latched = c->status_latched;
		ch->status = c->status;
		ch->owed = 0;
		ch->look_tick = tick;
		ch->irq_level = pit_out_at(ch, tick);
		if (i == 0) {
			irq_line_set(&pit->irq0, ch->irq_level);
			pit_irq_sync(ch, false);
		}
	}
	pit->port_b_val =
		(u8)((pit->port_b_val & ~(PIT_PORTB_GATE2 | PIT_PORTB_SPKR)) |
		     (pit->ch[2].gate ? PIT_PORTB_GATE2 : 0) | (speaker_data ? PIT_PORTB_SPKR : 0));
	return 0;
}

void pit_reset(struct pit *pit)
{
	pit->port_b_val = 0;
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		struct pit_channel *ch = &pit->ch[i];

		timer_cancel(&ch->timer);
		ch->mode = PIT_MODE_INT_ON_TC;
		ch->rw = PIT_RW_LSB;
		ch->bcd = 0;
		ch->loaded = false;
		ch->cr_pending = false;
		ch->done = false;
		ch->reload = pit_modulus(ch);
		ch->base = 0;
		ch->start_tick = PIT_NOT_COUNTING;
		ch->gate = i != 2; /* gates 0 and 1 are tied high; gate 2 is port 0x61 bit 0 */
		ch->write_msb = false;
		ch->read_msb = false;
		ch->count_latched = false;
		ch->status_latched = false;
		ch->owed = 0;
	}
	pit_irq_sync(&pit->ch[0], false);
}

int pit_create(struct platform *p, const struct pit_config *cfg, struct irq_line irq0,
	       struct pit **out, struct err *err)
{
	struct pit *pit = calloc(1, sizeof(*pit));
	int ret;

	if (!pit)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	pit->p = p;
	snprintf(pit->name, sizeof(pit->name), "%s", cfg->name);
	pit->base = cfg->base;
	pit->port_b = cfg->port_b;
	pit->irq0 = irq0;
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++) {
		pit->ch[i].pit = pit;
		pit->ch[i].idx = i;
		timer_init(&pit->ch[i].timer, &p->clock, pit_timer_fire, &pit->ch[i]);
	}
	pit_reset(pit);
	ret = bus_map_dev(&p->pio, cfg->base, 4, &pit_io, pit, pit->name, err);
	if (ret < 0)
		goto err_free;
	if (cfg->port_b) {
		ret = bus_map_dev(&p->pio, cfg->port_b, 1, &pit_port_b_io, pit, pit->name, err);
		if (ret < 0)
			goto err_unmap;
	}
	*out = pit;
	return 0;

err_unmap:
	bus_unmap(&p->pio, cfg->base);
err_free:
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++)
		timer_cancel(&pit->ch[i].timer);
	free(pit);
	return ret;
}

void pit_destroy(struct pit *pit)
{
	if (!pit)
		return;
	for (unsigned i = 0; i < PIT_NR_CHANNELS; i++)
		timer_cancel(&pit->ch[i].timer);
	if (pit->port_b)
		bus_unmap(&pit->p->pio, pit->port_b);
	bus_unmap(&pit->p->pio, pit->base);
	free(pit);
}

static void pit_ops_reset(void *dev)
{
	pit_reset(dev);
}

static void pit_ops_destroy(void *dev)
{
	pit_destroy(dev);
}

/*
 * A count of 0 would divide by zero: a channel always counts 1..modulus pulses, and its element
 * starts from the count (65536 for a count of 0).
 */
static int pit_channel_post_load(void *obj, u32 version, struct err *err)
{
	struct pit_channel *ch = obj;

	if (ch->reload < 1 || ch->reload > pit_modulus(ch) || ch->base > pit_modulus(ch))
		return err_set(err, -EINVAL, "counter %u: count %u or element %u out of range",
			       ch->idx, ch->reload, ch->base);
	/* Version 1 had no owed ticks: start looking from now. */
	if (version < 2)
		ch->look_tick = pit_tick_now(ch->pit);
	if (ch->owed > pit_max_owed(ch))
		return err_set(err, -EINVAL, "counter %u: %u ticks owed, more than a second's",
			       ch->idx, ch->owed);
	if (ch->look_tick > pit_tick_now(ch->pit) + 1)
		return err_set(err, -EINVAL, "counter %u: last looked at pulse %llu, in the future",
			       ch->idx, (unsigned long long)ch->look_tick);
	/* Counting starts at most one pulse from now: a later start would put OUT transitions
	 * (and the timer) where their arithmetic wraps. */
	if (ch->start_tick != PIT_NOT_COUNTING && ch->start_tick > pit_tick_now(ch->pit) + 1)
		return err_set(err, -EINVAL, "counter %u: starts at pulse %llu, in the future",
			       ch->idx, (unsigned long long)ch->start_tick);
	return 0;
}

static int pit_post_load(void *obj, u32 version, struct err *err)
{
	struct pit *pit = obj;

	(void)version, (void)err;
	if (pit->ch[0].irq_level)
		irq_line_set(&pit->irq0, 1);
	return 0;
}

static const struct state_field pit_channel_fields[] = {
	STATE_HOST(struct pit_channel, pit, "back pointer to the device"),
	STATE_U32(struct pit_channel, idx, STATE_CHECKED),
	STATE_U8(struct pit_channel, mode, STATE_MAX(5)),
	STATE_U8(struct pit_channel, rw, STATE_MAX(PIT_RW_WORD)),
	STATE_U8(struct pit_channel, bcd, STATE_MAX(1)),
	STATE_BOOL(struct pit_channel, loaded),
	STATE_BOOL(struct pit_channel, cr_pending),
	STATE_BOOL(struct pit_channel, gate),
	STATE_U32(struct pit_channel, reload),
	STATE_U32(struct pit_channel, base),
	STATE_U64(struct pit_channel, start_tick),
	STATE_BOOL(struct pit_channel, done),
	STATE_BOOL(struct pit_channel, write_msb),
	STATE_U8(struct pit_channel, write_lsb),
	STATE_BOOL(struct pit_channel, read_msb),
	STATE_BOOL(struct pit_channel, count_latched),
	STATE_BOOL(struct pit_channel, latch_msb),
	STATE_BOOL(struct pit_channel, status_latched),
	STATE_U16(struct pit_channel, latched),
	STATE_U8(struct pit_channel, status),
	STATE_INT(struct pit_channel, irq_level, STATE_MAX(1)),
	STATE_TIMER(struct pit_channel, timer),
	STATE_U64(struct pit_channel, look_tick, STATE_SINCE(2)),
	STATE_U32(struct pit_channel, owed, STATE_SINCE(2)),
	STATE_END,
};

static const struct state_desc pit_channel_state = {
	.name = "pit-channel",
	.version = 2,
	.min_version = 1,
	STATE_LAYOUT(struct pit_channel),
	.fields = pit_channel_fields,
	.post_load = pit_channel_post_load,
};

static const struct state_field pit_fields[] = {
	STATE_HOST(struct pit, p, "the platform"),
	STATE_HOST(struct pit, name, "the board's name"),
	STATE_U16(struct pit, base, STATE_CHECKED),
	STATE_U16(struct pit, port_b, STATE_CHECKED),
	STATE_U8(struct pit, port_b_val, STATE_MAX(PIT_PORTB_WMASK)),
	STATE_HOST(struct pit, irq0, "the line the board wired"),
	STATE_STRUCT_ARRAY(struct pit, ch, pit_channel_state),
	STATE_END,
};

static const struct state_desc pit_state = {
	.name = "pit",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pit),
	.fields = pit_fields,
	.post_load = pit_post_load,
};

const struct device_ops pit_device_ops = {
	.type = "pit",
	.reset = pit_ops_reset,
	.state = &pit_state,
	.destroy = pit_ops_destroy,
};
