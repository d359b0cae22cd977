/* SPDX-License-Identifier: MIT */
/*
 * The Q35 host bridge (mch.c): the Intel 82G33/Q35 "MCH" DRAM controller at 00:00.0
 * (8086:29c0), with the PCI Express enhanced configuration window (PCIEXBAR, the ECAM that
 * the ACPI MCFG table describes), the PAM and SMRAM registers firmware programs.
 */
#ifndef DEVICES_MCH_H
#define DEVICES_MCH_H

#include "devices/device.h"
#include "devices/pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"

#define MCH_DEVICE_ID 0x29c0

/* Configuration registers (Intel 3 Series Chipset datasheet 5.1, "D0:F0") */
#define MCH_PCIEXBAR	 0x60 /* 64 bits */
#define MCH_PCIEXBAR_EN	 0x1ull
#define MCH_PCIEXBAR_LEN 0x6ull /* bits 2:1: 00 256 MiB, 01 128 MiB, 10 64 MiB */
#define MCH_PAM0	 0x90	/* PAM0-PAM6: 0x90-0x96 */
#define MCH_SMRAM	 0x9d
#define MCH_ESMRAMC	 0x9e
#define MCH_SMRAM_D_LCK	 0x10
#define MCH_SMRAM_C_BASE 0x02 /* C_BASE_SEG: the compatible 0xA0000 window, read-only */

/* Where firmware (SeaBIOS, OVMF) puts the ECAM window, and its size: buses 0-255. */
#define MCH_ECAM_DEFAULT_BASE 0xb0000000ull
#define MCH_ECAM_SIZE	      (256ull << 20)

struct mch;

/* Create the bridge on h at 00:00.0; p is where ECAM is mapped. -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int mch_create(struct platform *p, struct pci_host *h, struct mch **out,
			  struct err *err);
/* Power-on values: ECAM off, PAM and SMRAM cleared. Device lock held. */
void mch_reset(struct mch *m);
/*
 * Program PCIEXBAR as firmware does (256 MiB at base, enabled), for a boot without firmware.
 * Device lock held.
 */
void mch_enable_ecam(struct mch *m, u64 base);
void mch_destroy(struct mch *m);

extern const struct device_ops mch_device_ops;

#endif
