/* SPDX-License-Identifier: MIT */
/*
 * The PIIX4 power-management function at 00:01.3 of the `pc` board (see piix4_pm.c): the
 * PCI function where firmware and operating systems on an i440FX find the ACPI PM I/O block
 * (PMBA) and whether it is decoded (PMREGMISC).
 */
#ifndef DEVICES_PIIX4_PM_H
#define DEVICES_PIIX4_PM_H

#include "devices/device.h"
#include "devices/pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#define PIIX4_PM_DEVICE_ID 0x7113
#define PIIX4_PM_DEV	   1 /* 00:01.3, beside the PIIX3 ISA bridge at 00:01.0 */
#define PIIX4_PM_FN	   3
#define PIIX4_PM_REVISION  0x03

/* Configuration registers (82371AB datasheet 4.3, "Power management function (function 3)") */
#define PIIX4_PM_PMBA	   0x40 /* PM base address: bits 15:6, bit 0 (RTE) reads 1 */
#define PIIX4_PM_PMREGMISC 0x80 /* bit 0 PMIOSE: PM I/O space enable */
#define PIIX4_PM_PMIOSE	   0x01
#define PIIX4_PM_SMBBA	   0x90 /* SMBus base address: bits 15:4, bit 0 (RTE) reads 1 */
#define PIIX4_PM_SMBHSTCFG 0xd2 /* bit 0 SMB_HST_EN: SMBus host interface enable */

struct piix4_pm_config {
	const char *name; /* "piix4-pm" */
	struct pci_host *host;
	u16 pm_base; /* where the board decodes the ACPI PM block (devices/acpi_pm.h) */
};

struct piix4_pm;

/* Create the function and put it on the host at 00:01.3. -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int piix4_pm_create(const struct piix4_pm_config *cfg, struct piix4_pm **out,
			       struct err *err);
/* Power-on values. Device lock held. */
void piix4_pm_reset(struct piix4_pm *pm);
void piix4_pm_destroy(struct piix4_pm *pm);

extern const struct device_ops piix4_pm_device_ops;

#endif
