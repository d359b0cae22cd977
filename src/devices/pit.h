/* SPDX-License-Identifier: MIT */
/*
 * Intel 82C54 interval timer at ports 0x40-0x43 with the PC's port 0x61
 * (timer 2 gate and OUT) (see pit.c). Channel 0's OUT drives IRQ 0.
 */
#ifndef DEVICES_PIT_H
#define DEVICES_PIT_H

#include "devices/device.h"
#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

struct pit_config {
	const char *name; /* "pit" */
	u16 base;	  /* 0x40: counters 0-2 and the control word at base..base+3 */
	u16 port_b;	  /* 0x61: gate and OUT of counter 2; 0 for none */
};

struct pit;

/*
 * Create the timer with channel 0's OUT on irq0 (driven on change; an edge
 * pair when a whole low or high phase passed between two looks) and claim
 * its ports. Counting follows the platform's virtual clock at 1.193182 MHz.
 * -ENOMEM, -EBUSY (err filled). Main thread.
 */
MUST_CHECK int pit_create(struct platform *p, const struct pit_config *cfg, struct irq_line irq0,
			  struct pit **out, struct err *err);
/* Cancel timers, unmap, free. NULL is fine. Main thread, no vCPU running. */
void pit_destroy(struct pit *pit);
/* Power-on state: no channel programmed, OUT low, gate 2 low. Device lock held. */
void pit_reset(struct pit *pit);
/*
 * The CPU took IRQ 0's interrupt (the board saw its vector acknowledged, through the 8259 or
 * the I/O APIC): if channel 0 owes ticks a late timer skipped, give the next one now (an edge
 * on IRQ 0; the interrupt controller holds it until the guest's EOI). Device lock held.
 */
void pit_irq0_acked(struct pit *pit);

/*
 * The counters in the engine-neutral form (vmm/base/chips_state.h) and back: import loads
 * them as the guest left them (each count going on from its value, a periodic one in the same
 * phase of its period) and drives IRQ 0 from channel 0's OUT. Device lock held.
 */
void pit_export(const struct pit *pit, struct chips_pit_channel out[CHIPS_PIT_CHANNELS],
		bool *speaker_data);
MUST_CHECK int pit_import(struct pit *pit, const struct chips_pit_channel in[CHIPS_PIT_CHANNELS],
			  bool speaker_data, struct err *err);

extern const struct device_ops pit_device_ops;

#endif
