/* SPDX-License-Identifier: MIT */
/*
 * The PC's cascaded pair of Intel 8259A interrupt controllers with the PIIX
 * edge/level control registers (see pic.c). Used when the accelerator has no
 * in-kernel irqchip (BT): devices drive pic_input() lines, the PIC drives the
 * CPU's INTR pin through intr_out, and the engine's acknowledge cycle calls
 * pic_ack() for the vector.
 */
#ifndef DEVICES_PIC_H
#define DEVICES_PIC_H

#include "devices/device.h"
#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define PIC_NR_IRQS 16

struct pic_config {
	const char *name; /* "pic" */
	u16 master_base;  /* 0x20: the master's two ports */
	u16 slave_base;	  /* 0xa0: the slave's two ports */
	u16 elcr_base;	  /* 0x4d0: ELCR1 and ELCR2; 0 for none */
	/*
	 * No firmware runs before the guest (flat, multiboot and Linux boots): reset leaves the
	 * pair as a PC BIOS does (pic_reset), so a real-mode guest's IRQs arrive at 08h-0Fh and
	 * 70h-77h. false: the power-on state, for firmware that programs them itself.
	 */
	bool bios_state;
};

struct pic;

/*
 * Create the pair, claim its ports and drive intr_out (the CPU's INTR pin)
 * with the master's INT output, on change only. -ENOMEM, -EBUSY (with err
 * filled). Main thread.
 */
MUST_CHECK int pic_create(struct platform *p, const struct pic_config *cfg,
			  struct irq_line intr_out, struct pic **out, struct err *err);
/* Unmap the ports and free. NULL is fine. Main thread, no vCPU running. */
void pic_destroy(struct pic *pic);
/*
 * Power-on state: both chips uninitialised, IMR, IRR, ISR and ELCR clear. With bios_state, then
 * initialised as SeaBIOS leaves them: edge-triggered, cascaded on IRQ2, 8086 mode, vector bases
 * 08h and 70h, IRQs 0 (timer), 1 (keyboard), 2 (cascade), 8 (RTC), 12 (mouse), 13 (FPU)
 * unmasked. Device lock held.
 */
void pic_reset(struct pic *pic);

/*
 * The line a device raises for IRQ irq (0..15; 2 is the cascade and is not
 * an input). The line lives as long as the PIC. Device lock held when driven.
 */
struct irq_line pic_input(struct pic *pic, unsigned irq);

/*
 * The INTA cycle: the vector of the highest-priority request, moved from
 * IRR to ISR (unless auto-EOI). With no request left (an input dropped
 * before the acknowledge) the spurious vector of IR7 (master) or IR15
 * (slave) is returned without setting any ISR bit. Device lock held
 * (vCPU thread).
 */
int pic_ack(struct pic *pic);

/* The master's INT output level (what intr_out was last driven to). Device lock held. */
bool pic_intr_level(const struct pic *pic);
/* The vector the master would give for its IRQ irq (0..7) as programmed now. Device lock held. */
u8 pic_irq_vector(const struct pic *pic, unsigned irq);

/* Both chips in the engine-neutral form and back (import drives INT as the registers say). */
void pic_export(const struct pic *pic, struct chips_pic out[2]);
MUST_CHECK int pic_import(struct pic *pic, const struct chips_pic in[2], struct err *err);

extern const struct device_ops pic_device_ops;

#endif
