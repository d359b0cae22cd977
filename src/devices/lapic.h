/* SPDX-License-Identifier: MIT */
/*
 * Local APIC, one per vCPU, and the APIC bus between the local APICs and the
 * I/O APIC (see lapic.c). Used when the accelerator has no in-kernel irqchip
 * (BT). The machine routes each vCPU's MMIO window at APIC_BASE to
 * lapic_read/lapic_write of that vCPU's LAPIC and its x2APIC MSRs to
 * lapic_msr_read/write, and the engine's INTR check and acknowledge cycle
 * call lapic_has_interrupt and lapic_ack.
 *
 * Threads and locking: every function runs with the VM-wide device lock held
 * (vCPU thread or timer callback), except create/destroy and the apic_bus
 * set-up calls (main thread, no vCPU running).
 */
#ifndef DEVICES_LAPIC_H
#define DEVICES_LAPIC_H

#include "devices/device.h"
#include "devices/ioapic.h"
#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

/* What a local APIC calls in the machine. Every member may be NULL. Device lock held. */
struct lapic_ops {
	/* An IPI from the ICR: put it on the APIC bus (apic_bus_deliver). */
	void (*deliver)(void *opaque, const struct apic_msg *m);
	/* EOI of a level-triggered vector: broadcast to the I/O APIC(s) (ioapic_eoi). */
	void (*eoi)(void *opaque, u8 vector);
	/* INIT (vector -1) or STARTUP (the SIPI vector) received by apic_id. */
	void (*startup)(void *opaque, unsigned apic_id, int vector_or_minus1_for_init);
	/* The ExtINT acknowledge: the vector from the 8259 (pic_ack). */
	int (*extint_ack)(void *opaque);
	/* Something may now be pending for apic_id (interrupt or NMI): wake its vCPU if halted. */
	void (*wake)(void *opaque, unsigned apic_id);
};

struct lapic_config {
	const char *name; /* "lapic0" */
	u32 apic_id;
	bool bsp;    /* IA32_APIC_BASE.BSP; LINT0 starts in ExtINT (virtual wire), as KVM does */
	bool x2apic; /* the CPU model advertises x2APIC: IA32_APIC_BASE.EXTD may be set */
	u64 bus_hz;  /* timer input clock before the divider; 0 = 1 GHz */
	u64 tsc_hz;  /* TSC rate: TSC = vclock_now_ns * tsc_hz / 10^9; 0 = no TSC deadline */
	const struct lapic_ops *ops;
	void *opaque;
};

struct lapic;
struct apic_bus;

/* Create a local APIC in its power-on state. -ENOMEM (err filled). Main thread. */
MUST_CHECK int lapic_create(struct platform *p, const struct lapic_config *cfg, struct lapic **out,
			    struct err *err);
void lapic_destroy(struct lapic *l);
/* Power-on (RESET) state: APIC_BASE back to 0xfee00000 enabled, xAPIC, all registers reset. */
void lapic_reset(struct lapic *l);

u32 lapic_id(const struct lapic *l);

/* 32-bit register access by offset in the 4 KiB window (xAPIC mode; reads 0 in x2APIC mode). */
u32 lapic_read(struct lapic *l, u32 off);
void lapic_write(struct lapic *l, u32 off, u32 val);

/*
 * x2APIC MSRs 0x800-0x8ff. -EINVAL means the CPU raises #GP: not in x2APIC
 * mode, an unimplemented or write-only/read-only register, reserved bits.
 */
int lapic_msr_read(struct lapic *l, u32 msr, u64 *val);
int lapic_msr_write(struct lapic *l, u32 msr, u64 val);

/* IA32_APIC_BASE (MSR 0x1b). -EINVAL for an illegal transition or reserved bits (#GP). */
u64 lapic_base_msr(const struct lapic *l);
int lapic_set_base_msr(struct lapic *l, u64 val);

/* IA32_TSC_DEADLINE (MSR 0x6e0): armed only while the LVT timer is in TSC-deadline mode. */
u64 lapic_tsc_deadline(const struct lapic *l);
void lapic_set_tsc_deadline(struct lapic *l, u64 tsc);

/* A message from the APIC bus addressed to this LAPIC (the bus has matched the destination). */
void lapic_accept(struct lapic *l, const struct apic_msg *m);
/* Does m's destination (physical or logical, no shorthand) name this LAPIC? */
bool lapic_match_dest(const struct lapic *l, const struct apic_msg *m);

/* The engine's INTR check: an ExtINT from LINT0 or a fixed vector above the PPR is pending. */
bool lapic_has_interrupt(const struct lapic *l);
/*
 * The acknowledge cycle: the vector to take, moved from IRR to ISR (ExtINT
 * first, through ops->extint_ack). The spurious vector (SVR) if nothing is
 * pending any more.
 */
int lapic_ack(struct lapic *l);
/* An NMI is pending (LINT1 or an NMI message): take it (returns true once per NMI). */
bool lapic_take_nmi(struct lapic *l);

/*
 * LINT0/LINT1 input pins (n = 0, 1). With the APIC hardware-disabled LINT0 is
 * the INTR pin and LINT1 the NMI pin, otherwise their LVT entries decide.
 */
struct irq_line lapic_lint(struct lapic *l, unsigned n);

/* The APIC bus: a fixed set of local APICs. */
MUST_CHECK int apic_bus_create(struct apic_bus **out);
void apic_bus_destroy(struct apic_bus *bus);
/* Add a local APIC (main thread). -ENOMEM. */
int apic_bus_attach(struct apic_bus *bus, struct lapic *l);
/*
 * Route m to the local APIC(s) it names (physical ID or 0xff / 0xffffffff
 * broadcast, logical flat or cluster, shorthands relative to m->src_id,
 * lowest priority to the matching APIC with the lowest TPR). An
 * apic_deliver_fn: opaque is the struct apic_bus.
 */
void apic_bus_deliver(void *bus, const struct apic_msg *m);

/*
 * The registers in the engine-neutral form and back; the timer by its current count (import
 * loads it with that count now, so it expires as it would have). Device lock held.
 */
void lapic_export(const struct lapic *l, struct chips_lapic *out);
MUST_CHECK int lapic_import(struct lapic *l, const struct chips_lapic *in, struct err *err);

extern const struct device_ops lapic_device_ops;

#endif
