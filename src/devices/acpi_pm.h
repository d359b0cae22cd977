/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed hardware (ACPI 6.5 chapter 4.8): PM1a event and control
 * blocks, the PM timer and the GPE0 block, in I/O space at ACPI_PM_BASE. The
 * FADT built by src/vmm/boot/acpi.c describes exactly this layout; keep the
 * two in step. The reset register (FADT RESET_REG, port 0xCF9) lives in the
 * PCI host (devices/pci.h), which owns ports 0xCF8-0xCFF.
 */
#ifndef DEVICES_ACPI_PM_H
#define DEVICES_ACPI_PM_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

/* Port layout (FADT PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK, GPE0_BLK and their lengths). */
#define ACPI_PM_BASE	    0x600
#define ACPI_PM_PM1A_EVT    (ACPI_PM_BASE + 0x00)
#define ACPI_PM_PM1_EVT_LEN 4 /* PM1_STS (2) then PM1_EN (2) */
#define ACPI_PM_PM1A_CNT    (ACPI_PM_BASE + 0x04)
#define ACPI_PM_PM1_CNT_LEN 2
#define ACPI_PM_TMR	    (ACPI_PM_BASE + 0x08)
#define ACPI_PM_TMR_LEN	    4
#define ACPI_PM_GPE0	    (ACPI_PM_BASE + 0x20)
#define ACPI_PM_GPE0_LEN    8 /* GPE0_STS (4) then GPE0_EN (4) */

/*
 * SLP_TYP value of \_S5 (soft off), shared with the DSDT. 0 as on the PIIX4
 * (PMCNTRL SUS_TYP 000b = soft off) that QEMU's tables also describe.
 */
#define ACPI_PM_SLP_TYP_S5 0
/* SLP_TYP of \_S3 (suspend to RAM): 1, PIIX4's SUS_TYP 001b, as QEMU's tables say. */
#define ACPI_PM_SLP_TYP_S3 1

/* PM timer frequency (4.8.3.3). */
#define ACPI_PM_TMR_HZ 3579545ull

/* PM1 status and enable bits (4.8.3.1, tables 4.16 and 4.17). */
#define ACPI_PM1_TMR_STS    (1u << 0)
#define ACPI_PM1_BM_STS	    (1u << 4)
#define ACPI_PM1_GBL_STS    (1u << 5)
#define ACPI_PM1_PWRBTN_STS (1u << 8)
#define ACPI_PM1_SLPBTN_STS (1u << 9)
#define ACPI_PM1_RTC_STS    (1u << 10)
#define ACPI_PM1_WAK_STS    (1u << 15)
#define ACPI_PM1_TMR_EN	    (1u << 0)
#define ACPI_PM1_GBL_EN	    (1u << 5)
#define ACPI_PM1_PWRBTN_EN  (1u << 8)
#define ACPI_PM1_SLPBTN_EN  (1u << 9)
#define ACPI_PM1_RTC_EN	    (1u << 10)

/* PM1 control bits (4.8.3.2, table 4.18). */
#define ACPI_PM1_SCI_EN	       (1u << 0)
#define ACPI_PM1_BM_RLD	       (1u << 1)
#define ACPI_PM1_GBL_RLS       (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << 10)
#define ACPI_PM1_SLP_EN	       (1u << 13)

struct acpi_pm_config {
	const char *name; /* "acpi-pm" */
	bool tmr_32bit;	  /* the FADT sets TMR_VAL_EXT: PM timer counts 32 bits, else 24 */
	bool s3;	  /* SLP_TYP ACPI_PM_SLP_TYP_S3 suspends (PLATFORM_REQ_SUSPEND) */
};

struct acpi_pm;

/*
 * Map the blocks at their fixed ports and raise sci (IRQ 9 on the PC) while
 * an enabled event is pending. -ENOMEM, -EBUSY with a message. Main thread.
 */
MUST_CHECK int acpi_pm_create(struct platform *p, const struct acpi_pm_config *cfg,
			      struct irq_line sci, struct acpi_pm **out, struct err *err);
/* Power-on state: SCI_EN set (no SMI_CMD: the hardware is always in ACPI mode), nothing enabled. */
void acpi_pm_reset(struct acpi_pm *pm);
void acpi_pm_destroy(struct acpi_pm *pm);

/* The power button was pressed (PWRBTN_STS): SCI if the OS enabled it. Device lock held. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* Set GPE0 status bit (0..31), e.g. for hotplug: SCI if enabled. Device lock held. */
void acpi_pm_gpe_set(struct acpi_pm *pm, unsigned bit);
/*
 * The RTC asserted its interrupt (an alarm): RTC_STS, an SCI if the OS enabled it. Device lock
 * held.
 */
void acpi_pm_rtc_event(struct acpi_pm *pm);
/* A wake event is pending and enabled (RTC_STS with RTC_EN, PWRBTN_STS). Device lock held. */
bool acpi_pm_wake_event(const struct acpi_pm *pm);
/* The machine woke from S3: WAK_STS (4.8.3.1). Device lock held. */
void acpi_pm_woke(struct acpi_pm *pm);

extern const struct device_ops acpi_pm_device_ops;

#endif
