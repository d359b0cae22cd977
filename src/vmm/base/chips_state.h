/* SPDX-License-Identifier: MIT */
/*
 * The interrupt controllers and timers of a PC in one engine-neutral form: the 8259 pair, the
 * I/O APIC, the local APICs and the 8254 PIT, as the guest sees them (register values and
 * counter states), whoever models them. Under bt they are the VMM's own devices
 * (src/devices/pic.c, ioapic.c, lapic.c, pit.c: their *_export and *_import functions);
 * under kvm they live in the kernel (KVM_GET/SET_IRQCHIP, KVM_GET/SET_LAPIC, KVM_GET/SET_PIT2:
 * src/vmm/kvm/kvm_state.c). A snapshot carries this form next to the engine's own records, so
 * a restore under the other engine can rebuild the chips from it (src/vmm/chips_state.c,
 * docs/snapshots.md "Engines").
 *
 * Plain data: every header may include this one (docs/architecture.md, the base room).
 */
#ifndef VMM_BASE_CHIPS_STATE_H
#define VMM_BASE_CHIPS_STATE_H

#include "vmm/base/types.h"

#define CHIPS_MAX_CPUS	   16 /* the board's local APICs (BOARD_IRQCHIP_MAX_CPUS) */
#define CHIPS_IOAPIC_PINS  24
#define CHIPS_LAPIC_LVTS   6 /* timer, thermal, performance, LINT0, LINT1, error (0x320-0x370) */
#define CHIPS_PIT_CHANNELS 3

/* One 8259 (8259A datasheet: ICW1-4, OCW1-3). */
struct chips_pic {
	u8 irr, isr, imr;
	u8 pins;	  /* input levels (edge detection) */
	u8 elcr;	  /* level-triggered inputs (ELCR) */
	u8 irq_base;	  /* ICW2: the vector of input 0 (bits 7-3) */
	u8 icw3;	  /* the cascade byte: master 0x04, slave 0x02 */
	u8 init_step;	  /* 0: operating; 2, 3, 4: the next ICW expected */
	u8 priority_base; /* the input with the highest priority (rotation) */
	bool ic4, single, ltim;
	bool auto_eoi, rotate_on_aeoi, sfnm, special_mask;
	bool read_isr, poll;
};

/* The I/O APIC (82093AA datasheet 3.2). */
struct chips_ioapic {
	u8 id;	   /* IOAPICID bits 27-24 */
	u8 regsel; /* IOREGSEL */
	u32 irr;   /* asserted inputs */
	u64 redtbl[CHIPS_IOAPIC_PINS];
};

/* One local APIC (SDM vol. 3A chapter 11): its registers, the timer by its current count. */
struct chips_lapic {
	u32 id;	      /* the APIC ID (not shifted) */
	u64 base_msr; /* IA32_APIC_BASE */
	u32 tpr, ldr, dfr, svr, esr;
	u32 irr[8], isr[8], tmr[8];
	u32 icr_lo, icr_hi;
	u32 lvt[CHIPS_LAPIC_LVTS];
	u32 tmict, tmcct, tdcr; /* initial count, current count when saved, divide */
	u64 tsc_deadline;	/* IA32_TSC_DEADLINE (TSC-deadline mode) */
};

/* Access states of a PIT channel's two-byte port, as in KVM's i8254 (1 LSB, 2 MSB, 3/4 word). */
#define CHIPS_PIT_RW_LSB   1
#define CHIPS_PIT_RW_MSB   2
#define CHIPS_PIT_RW_WORD0 3 /* LSB next */
#define CHIPS_PIT_RW_WORD1 4 /* MSB next */

/* One 8254 counter (82C54 datasheet). */
struct chips_pit_channel {
	u8 mode; /* 0-5 */
	u8 rw;	 /* the programmed access: 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd, gate;
	bool loaded;   /* a count was written after the control word: the counter runs */
	bool out;      /* the OUT pin when saved */
	u32 reload;    /* N: 1..65536 */
	u32 count;     /* the counting element when saved */
	u32 elapsed;   /* pulses into the current period when saved (periodic modes) */
	u8 read_state; /* CHIPS_PIT_RW_* of the next live read */
	u8 write_state;
	u8 write_lsb;	/* the LSB written, waiting for the MSB */
	u8 latch_state; /* CHIPS_PIT_RW_* of a latched count not yet read, or 0 */
	u16 latched;	/* the latched count */
	bool status_latched;
	u8 status; /* the latched read-back status byte */
};

struct chips_state {
	struct chips_pic pic[2]; /* master, slave */
	struct chips_ioapic ioapic;
	u32 nr_lapics;
	struct chips_lapic lapic[CHIPS_MAX_CPUS];
	struct chips_pit_channel pit[CHIPS_PIT_CHANNELS];
	bool speaker_data; /* port 0x61 bit 1 (channel 2's gate is bit 0) */
	/* What cannot move to the other engine, with the reason (chips_state.c). */
	bool hpet_enabled; /* bt: the guest turned the board's HPET on */
	u32 kvm_pv;	   /* kvm: the paravirtual MSRs the guest enabled (CHIPS_PV_*) */
};

#define CHIPS_PV_KVMCLOCK 0x1u /* MSR_KVM_SYSTEM_TIME(_NEW) bit 0 */
#define CHIPS_PV_ASYNC_PF 0x2u /* MSR_KVM_ASYNC_PF_EN bit 0 */
#define CHIPS_PV_STEAL	  0x4u /* MSR_KVM_STEAL_TIME bit 0 */
#define CHIPS_PV_EOI	  0x8u /* MSR_KVM_PV_EOI_EN bit 0 */

#endif
