// SPDX-License-Identifier: MIT
/*
 * The i440FX/PIIX3 chipset's PCI functions, as far as guests look at them:
 *   - 00:00.0 Intel 82441FX PMC host bridge (82441FX datasheet, 3.2 "PCI
 *     configuration registers"): 8086:1237, class 06/00/00; the DRAM, PAM and
 *     SMRAM registers (0x50-0x7f) are plain storage;
 *   - 00:01.0 Intel 82371SB PIIX3 PCI-to-ISA bridge (82371SB datasheet, 2.2
 *     "PCI to ISA bridge configuration registers"): 8086:7000, class
 *     06/01/00, multi-function header; PIRQ route control 0x60-0x63 (default
 *     0x80, routing disabled) and the other ISA-side registers 0x4c-0xff are
 *     plain storage that piix_pirq_irq reports to the board.
 * The PIIX3 reset control register (0xCF9) is handled by the PCI host
 * (pci.c), which owns the ports it shares with configuration mechanism #1.
 *
 * Not modelled: PAM shadowing (firmware ROM is plain RAM here), SMRAM, the
 * PIIX3's IDE/USB/ACPI functions (other device models), TOM and APIC base.
 */
#include "devices/piix.h"

#include "vmm/state.h"

#include <errno.h>
#include <stdlib.h>

struct piix {
	struct pci_dev i440fx;
	struct pci_dev piix3;
	struct pci_host *host;
};

/*
 * Subsystem 1af4:1100 (Red Hat, "QEMU virtual machine"): how SeaBIOS (src/fw/paravirt.c)
 * recognises a virtual board whose fw_cfg it may trust.
 */
static const struct pci_id piix_i440fx_id = {
	.vendor = PIIX_INTEL_VENDOR_ID,
	.device = PIIX_I440FX_DEVICE_ID,
	.class_code = 0x060000,
	.revision = 0x02,
	.subsystem_vendor = PCI_SUBSYSTEM_VENDOR_QEMU,
	.subsystem = PCI_SUBSYSTEM_QEMU_VM,
};

static const struct pci_id piix_piix3_id = {
	.vendor = PIIX_INTEL_VENDOR_ID,
	.device = PIIX_PIIX3_DEVICE_ID,
	.class_code = 0x060100,
	.header_type = PCI_HEADER_TYPE_MULTI_FUNCTION,
};

static void piix_set_writable(struct pci_dev *d, unsigned from, unsigned to)
{
	for (unsigned off = from; off <= to; off++)
		d->wmask[off] = 0xff;
}

void piix_reset(struct piix *x)
{
	pci_dev_reset(&x->i440fx);
	pci_dev_reset(&x->piix3);
	for (unsigned off = 0x50; off <= 0x7f; off++)
		x->i440fx.config[off] = 0;
	for (unsigned off = 0x4c; off <= 0xff; off++)
		x->piix3.config[off] = 0;
	pci_config_set16(&x->i440fx, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_config_set16(&x->piix3, PCI_COMMAND,
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	for (unsigned i = 0; i < 4; i++)
		x->piix3.config[PIIX_PIIX3_PIRQRC + i] = PIIX_PIRQ_DISABLE;
	x->piix3.config[0x4c] = 0x4d; /* IORT: ISA I/O recovery timer */
	x->piix3.config[0x4e] = 0x03; /* XBCS: RTC and keyboard controller decode */
	x->piix3.config[0x69] = 0x02; /* TOM: top of memory 1 MiB */
	x->piix3.config[0x70] = 0x80; /* MBIRQ0 disabled */
	x->piix3.config[0x71] = 0x80; /* MBIRQ1 disabled */
}

int piix_pirq_irq(const struct piix *x, unsigned pirq)
{
	u8 v;

	if (pirq > 3)
		return -1;
	v = x->piix3.config[PIIX_PIIX3_PIRQRC + pirq];
	return (v & PIIX_PIRQ_DISABLE) ? -1 : (v & 0x0f);
}

int piix_create(struct pci_host *h, struct piix **out, struct err *err)
{
	struct piix *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return err_set(err, -ENOMEM, "piix: out of memory");
	x->host = h;
	pci_dev_init(&x->i440fx, "i440fx", &piix_i440fx_id, NULL);
	pci_dev_init(&x->piix3, "piix3", &piix_piix3_id, NULL);
	piix_set_writable(&x->i440fx, 0x50, 0x7f);
	piix_set_writable(&x->piix3, 0x4c, 0xff);
	piix_reset(x);
	ret = pci_host_add(h, &x->i440fx, 0, 0, err);
	if (ret < 0)
		goto err_free;
	ret = pci_host_add(h, &x->piix3, 1, 0, err);
	if (ret < 0)
		goto err_remove_i440fx;
	*out = x;
	return 0;

err_remove_i440fx:
	pci_host_remove(h, &x->i440fx);
err_free:
	free(x);
	return ret;
}

void piix_destroy(struct piix *x)
{
	if (!x)
		return;
	pci_host_remove(x->host, &x->piix3);
	pci_host_remove(x->host, &x->i440fx);
	free(x);
}

static void piix_ops_reset(void *dev)
{
	piix_reset(dev);
}

static void piix_ops_destroy(void *dev)
{
	piix_destroy(dev);
}

static const struct state_field piix_fields[] = {
	STATE_STRUCT(struct piix, i440fx, pci_dev_state),
	STATE_STRUCT(struct piix, piix3, pci_dev_state),
	STATE_HOST(struct piix, host, "the PCI bus the functions sit on"),
	STATE_END,
};

static const struct state_desc piix_state = {
	.name = "piix",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct piix),
	.fields = piix_fields,
};

const struct device_ops piix_device_ops = {
	.type = "piix",
	.reset = piix_ops_reset,
	.state = &piix_state,
	.destroy = piix_ops_destroy,
};
