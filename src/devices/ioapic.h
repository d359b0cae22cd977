/* SPDX-License-Identifier: MIT */
/*
 * Intel 82093AA I/O APIC (see ioapic.c) and the message format shared with
 * the local APICs (lapic.h): an interrupt as it travels on the APIC bus,
 * from an I/O APIC redirection entry, an MSI or a local APIC's ICR.
 */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include "devices/device.h"
#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2, /* all including self */
	APIC_SH_ALL_BUT_SELF = 3,
};

struct apic_msg {
	u32 dest; /* physical APIC ID, or logical destination (MDA) when dest_logical */
	bool dest_logical;
	u8 delivery; /* APIC_DM_* (ioapic_regs.h) */
	u8 vector;
	bool level_trig; /* trigger mode: true = level */
	bool assert;	 /* level: assert (true) or de-assert (INIT level de-assert) */
	u8 shorthand;	 /* enum apic_shorthand; IPIs only */
	u32 src_id;	 /* APIC ID of the sender (shorthands); 0 for I/O APIC and MSI */
};

/* The APIC bus: route one message to the local APIC(s) it names. Device lock held. */
typedef void (*apic_deliver_fn)(void *opaque, const struct apic_msg *m);

struct ioapic_config {
	const char *name; /* "ioapic" */
	u64 base;	  /* 0xfec00000 */
	u8 id;		  /* IOAPICID after reset (the MP table / MADT value) */
	apic_deliver_fn deliver;
	void *deliver_opaque;
};

struct ioapic;

/*
 * Create the I/O APIC and claim its MMIO window. All 24 entries start masked.
 * -ENOMEM, -EBUSY (err filled). Main thread.
 */
MUST_CHECK int ioapic_create(struct platform *p, const struct ioapic_config *cfg,
			     struct ioapic **out, struct err *err);
void ioapic_destroy(struct ioapic *io);
/* Entries masked and cleared, ID back to the configured one. Device lock held. */
void ioapic_reset(struct ioapic *io);

/*
 * The input line of pin 0..23. Levels are logical (1 = asserted), as under
 * KVM's irqchip: the polarity bit of the entry is stored but not applied.
 * Device lock held when driven.
 */
struct irq_line ioapic_input(struct ioapic *io, unsigned pin);

/*
 * End of interrupt broadcast from a local APIC for a level-triggered vector:
 * clears Remote IRR of every level entry with that vector and delivers again
 * those still asserted and unmasked. Device lock held.
 */
void ioapic_eoi(struct ioapic *io, u8 vector);

/* The vector of pin 0..23's entry, or -1 if the entry is masked. Device lock held. */
int ioapic_pin_vector(const struct ioapic *io, unsigned pin);

/*
 * Decode an MSI write (address 0xFEExxxxx, data) into an APIC bus message.
 * -EINVAL if the address is outside the MSI window. Any thread.
 */
int ioapic_msi_decode(u64 addr, u32 data, struct apic_msg *m);

/* The registers in the engine-neutral form and back. Device lock held. */
void ioapic_export(const struct ioapic *io, struct chips_ioapic *out);
void ioapic_import(struct ioapic *io, const struct chips_ioapic *in);

extern const struct device_ops ioapic_device_ops;

#endif
