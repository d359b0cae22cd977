/* SPDX-License-Identifier: MIT */
/*
 * HPET (IA-PC High Precision Event Timer) at 0xfed00000 with three timers
 * (see hpet.c). Used under BT; under KVM the board may still create it (it
 * needs no in-kernel support).
 */
#ifndef DEVICES_HPET_H
#define DEVICES_HPET_H

#include "devices/device.h"
#include "devices/hpet_regs.h"
#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

struct hpet_config {
	const char *name; /* "hpet" */
	u64 base;	  /* 0xfed00000 */
	/* I/O APIC inputs for routed timers (only pins in HPET_ROUTE_CAP are used). */
	struct irq_line gsi[HPET_NR_GSI];
	/* Legacy replacement route: timer 0 as IRQ 0 and timer 1 as IRQ 8 (8259 and I/O APIC). */
	struct irq_line legacy_irq0, legacy_irq8;
	/*
	 * Called when the guest turns legacy replacement on or off: while on, the
	 * board should keep the PIT's and RTC's own outputs off IRQ 0 and IRQ 8
	 * (HPET 1.0a 2.3.5.1). May be NULL. Device lock held.
	 */
	void (*legacy_changed)(void *opaque, bool on);
	void *opaque;
};

struct hpet;

/* Create the HPET (counter halted, timers disabled) and map it. -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int hpet_create(struct platform *p, const struct hpet_config *cfg, struct hpet **out,
			   struct err *err);
void hpet_destroy(struct hpet *h);
/* Power-on state. Device lock held. */
void hpet_reset(struct hpet *h);
/*
 * The CPU took IRQ 0's interrupt while timer 0 drives it (legacy replacement): if it owes
 * matches a late timer skipped, give the next one (an edge). Device lock held.
 */
void hpet_irq0_acked(struct hpet *h);

/* The guest turned the counter on (ENABLE_CNF). Device lock held. */
bool hpet_guest_enabled(const struct hpet *h);

extern const struct device_ops hpet_device_ops;

#endif
