/* SPDX-License-Identifier: MIT */
/*
 * The Q35 board's south bridge function (ich9_lpc.c): the Intel ICH9 LPC interface bridge at
 * 00:1f.0 (8086:2918) with the registers SeaBIOS, OVMF and Linux program -- the ACPI PM base
 * and enable, PIRQ routing, the root complex register block base -- and the APM control and
 * status ports 0xb2/0xb3.
 */
#ifndef DEVICES_ICH9_LPC_H
#define DEVICES_ICH9_LPC_H

#include "devices/device.h"
#include "devices/pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"

#define ICH9_LPC_DEVICE_ID 0x2918
#define ICH9_LPC_DEV	   0x1f /* 00:1f.0 */

/* Configuration registers (ICH9 datasheet 13.1, "LPC Interface Bridge Registers (D31:F0)") */
#define ICH9_LPC_PMBASE	    0x40
#define ICH9_LPC_ACPI_CNTL  0x44
#define ICH9_LPC_ACPI_EN    0x80
#define ICH9_LPC_PIRQA_ROUT 0x60 /* PIRQA-D: 0x60-0x63 */
#define ICH9_LPC_PIRQE_ROUT 0x68 /* PIRQE-H: 0x68-0x6b */
#define ICH9_LPC_PIRQ_OFF   0x80 /* IRQEN clear: the PIRQ drives no ISA IRQ */
#define ICH9_LPC_GEN_PMCON1 0xa0
#define ICH9_LPC_RCBA	    0xf0
#define ICH9_LPC_RCBA_EN    0x1u
#define ICH9_LPC_RCBA_SIZE  0x4000

/* APM I/O decode (13.7): the control port (an SMI on real hardware) and a scratch byte. */
#define ICH9_APM_CNT 0xb2
#define ICH9_APM_STS 0xb3

struct ich9_lpc_config {
	const char *name; /* "ich9-lpc" */
	struct pci_host *host;
	u16 pm_base; /* where the board decodes the ACPI PM block (devices/acpi_pm.h) */
};

struct ich9_lpc;

/* Create the function at 00:1f.0 and map the APM ports. -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int ich9_lpc_create(struct platform *p, const struct ich9_lpc_config *cfg,
			       struct ich9_lpc **out, struct err *err);
/* Power-on values. Device lock held. */
void ich9_lpc_reset(struct ich9_lpc *l);
/* PIRQ routing the guest programmed: ISA IRQ of PIRQ 0..7 (A..H), or -1 when off. */
int ich9_lpc_pirq_irq(const struct ich9_lpc *l, unsigned pirq);
void ich9_lpc_destroy(struct ich9_lpc *l);

extern const struct device_ops ich9_lpc_device_ops;

#endif
