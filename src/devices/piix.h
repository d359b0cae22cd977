/* SPDX-License-Identifier: MIT */
/*
 * The PC chipset's PCI functions (see piix.c): the i440FX host bridge at
 * 00:00.0 and the PIIX3 PCI-to-ISA bridge at 00:01.0, so guests see the
 * chipset they expect on a PC.
 */
#ifndef DEVICES_PIIX_H
#define DEVICES_PIIX_H

#include "devices/device.h"
#include "devices/pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"

#define PIIX_I440FX_DEVICE_ID 0x1237
#define PIIX_PIIX3_DEVICE_ID  0x7000
#define PIIX_INTEL_VENDOR_ID  0x8086

/* i440FX (82441FX datasheet 3.2): PAM0-PAM6 and SMRAM */
#define PIIX_I440FX_PAM0  0x59
#define PIIX_I440FX_SMRAM 0x72
/* PIIX3 (82371SB datasheet 2.2): PIRQ route control, IRQ number or 0x80 = disabled */
#define PIIX_PIIX3_PIRQRC 0x60 /* 0x60-0x63 for PIRQA-PIRQD */
#define PIIX_PIRQ_DISABLE 0x80

struct piix;

/* Create both functions and put them on h at 00:00.0 and 00:01.0. -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int piix_create(struct pci_host *h, struct piix **out, struct err *err);
/* Chipset registers back to their power-on values. Device lock held. */
void piix_reset(struct piix *x);
/* PIRQ routing the guest programmed: IRQ number for pirq 0..3, or -1 when disabled. */
int piix_pirq_irq(const struct piix *x, unsigned pirq);
void piix_destroy(struct piix *x);

extern const struct device_ops piix_device_ops;

#endif
