/* SPDX-License-Identifier: MIT */
/*
 * AHCI host bus adapter (ahci.c): an ICH9-style SATA controller, PCI 8086:2922 class
 * 01/06/01, its registers in BAR5 (ABAR), up to six ports, each with an ATA disk or an ATAPI
 * CD-ROM (ata.h) or nothing. Interrupts go out on INTx or, once the guest enables the MSI
 * capability, through platform->msi.
 *
 * Disk completions: the devices' block devices complete from blockdev_poll_completions(),
 * which the owner of the event loop calls with the device lock held (device.h).
 */
#ifndef DEVICES_AHCI_H
#define DEVICES_AHCI_H

#include "devices/ata.h"
#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/irq.h"

#define AHCI_MAX_PORTS 6

struct pci_host;
struct pci_dev;
struct platform;

struct ahci_config {
	const char *name; /* "ahci0" */
	struct pci_host *host;
	unsigned dev, fn;			 /* PCI address on bus 0 */
	struct irq_line intx;			 /* INTA */
	unsigned nr_ports;			 /* 1..AHCI_MAX_PORTS */
	struct ata_config ports[AHCI_MAX_PORTS]; /* kind ATA_KIND_NONE: port empty */
};

struct ahci;

/* -EINVAL (bad port count or device), -ENOMEM, -EBUSY (PCI slot taken), with a message. */
MUST_CHECK int ahci_create(struct platform *p, const struct ahci_config *cfg, struct ahci **out,
			   struct err *err);
/* Takes the HBA off the PCI bus and frees it (waiting for disk requests in flight). */
void ahci_destroy(struct ahci *a);
/* HBA reset (GHC.HR): every port and device back to its power-on state. */
void ahci_reset(struct ahci *a);
struct pci_dev *ahci_pci_dev(struct ahci *a);

extern const struct device_ops ahci_device_ops;

#endif
