/* SPDX-License-Identifier: MIT */
/*
 * The PC's interrupt controllers and timers in userspace, for accelerators
 * without an in-kernel irqchip (BT): the 8259 pair with its ELCR, the 8254
 * PIT with port 0x61, the I/O APIC at 0xFEC00000, one local APIC per CPU on
 * an APIC bus, and the HPET at 0xFED00000 (see board_irqchip.c).
 *
 * Interrupt lines: board_irqchip_line(n) for an ISA IRQ n < 16 drives PIC
 * input n and I/O APIC pin n (IRQ0 goes to pin 2, as the MADT's interrupt
 * source override says); n >= 16 is an I/O APIC pin only (PCI INTx).
 *
 * Depends on the platform only (no struct vm), so unit tests can build it on
 * tests/unit/harness/test_platform. The CPUs are reached through the two
 * callbacks of struct board_irqchip_config.
 *
 * Locking: every device here runs under the platform's device lock. Lines
 * and board_irqchip_msi are driven with it held (any thread); the per-CPU
 * entry points (intr_ack, mmio, msr) take it themselves (vCPU threads).
 */
#ifndef VMM_BOARD_IRQCHIP_H
#define VMM_BOARD_IRQCHIP_H

#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define BOARD_IRQCHIP_MAX_CPUS 16
#define BOARD_IRQCHIP_NR_LINES 24 /* ISA IRQs 0-15, then I/O APIC pins 16-23 */

/*
 * The LAPIC's TSC rate (TSC-deadline mode). Must equal the engine's TSC rate (bt.h BT_TSC_KHZ;
 * accel_bt.c checks it at build time): both derive the TSC from the same virtual clock.
 */
#define BOARD_IRQCHIP_TSC_HZ 2000000000ull

struct board_irqchip_config {
	unsigned nr_cpus;    /* APIC IDs 0..nr_cpus-1; CPU 0 is the BSP */
	u8 ioapic_id;	     /* the MADT's I/O APIC ID */
	bool x2apic;	     /* the CPU model advertises x2APIC */
	bool pic_bios_state; /* no firmware runs: the 8259s start as a BIOS leaves them */
	/* Drive CPU cpu's INTR pin (level: an interrupt is pending). Device lock held, any thread. */
	void (*set_intr)(void *opaque, unsigned cpu, bool level);
	/* An NMI for cpu (LINT1 or an NMI message). Device lock held, any thread. */
	void (*nmi)(void *opaque, unsigned cpu);
	/* INIT (vector -1) or STARTUP IPI (the SIPI vector) for cpu. Device lock held. */
	void (*startup)(void *opaque, unsigned cpu, int vector);
	void *opaque;
};

struct board_irqchip;

/* Create every controller and timer, claim their ports and windows. Main thread. */
MUST_CHECK int board_irqchip_create(struct platform *p, const struct board_irqchip_config *cfg,
				    struct board_irqchip **out, struct err *err);
/* NULL is fine. Main thread, no vCPU running. */
void board_irqchip_destroy(struct board_irqchip *ic);

/*
 * After every controller got its device_ops.reset (board reset): bring the wiring state here
 * (INTR levels driven, the HPET's legacy route) in line with the reset devices. Device lock
 * held, every vCPU paused.
 */
void board_irqchip_reset(struct board_irqchip *ic);

/* The interrupt line for ISA IRQ / GSI n (< BOARD_IRQCHIP_NR_LINES). */
struct irq_line board_irqchip_line(struct board_irqchip *ic, unsigned n);

/* A message-signalled interrupt (platform.msi). Device lock held. */
void board_irqchip_msi(struct board_irqchip *ic, u64 addr, u32 data);

/* The INTA cycle of CPU cpu: the vector it takes, or -1. vCPU thread. */
int board_irqchip_intr_ack(struct board_irqchip *ic, unsigned cpu);

/*
 * A CPU's access to its local APIC window (at its IA32_APIC_BASE, xAPIC mode). Returns true
 * when gpa was in that window (the access is done), false otherwise (the caller goes to the
 * bus). vCPU thread.
 */
bool board_irqchip_mmio(struct board_irqchip *ic, unsigned cpu, u64 gpa, unsigned size,
			bool is_write, void *data);

/*
 * The machine's MSRs for CPU cpu: IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC 0x800-0x8ff.
 * 0 done, -ENOENT not one of them, -EINVAL #GP. vCPU thread.
 */
int board_irqchip_msr(struct board_irqchip *ic, unsigned cpu, u32 index, bool is_write, u64 *val);

/*
 * The controllers and timers in the engine-neutral form (a save under bt: every field, and
 * whether the guest turned the HPET on), and loading them from it (a restore of a state the
 * kvm engine saved: after the board's reset and the clock; the HPET stays reset). Device
 * lock held.
 */
void board_irqchip_export(const struct board_irqchip *ic, struct chips_state *out);
MUST_CHECK int board_irqchip_import(struct board_irqchip *ic, const struct chips_state *in,
				    struct err *err);
/* Whether a device of this type (device_ops.type) is one of them. */
bool board_irqchip_covers(const char *type);

#endif
