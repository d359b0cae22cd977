// SPDX-License-Identifier: MIT
/*
 * Q35 host bridge (mch.h), after the Intel 3 Series Express Chipset Family datasheet
 * (document 316966), 5.1 "Host Bridge/DRAM Controller Registers (D0:F0)":
 *   - 8086:29c0, class 06/00/00, subsystem 1af4:1100 (the QEMU virtual machine ID by which
 *     SeaBIOS recognises a virtual board);
 *   - PCIEXBAR (0x60, 64 bits, 5.1.13): enable (bit 0), length (bits 2:1: 256, 128 or 64
 *     MiB) and the base (bits 35:26, aligned to the length); while enabled the window is
 *     mapped on the MMIO bus and every access goes to pci_host_ecam_read/write, which is how
 *     PCI Express enhanced configuration (ECAM) reaches the functions on bus 0; writing the
 *     register moves or unmaps the window;
 *   - PAM0-PAM6 (0x90-0x96) and ESMRAMC (0x9e): storage (the BIOS area below 1 MiB is plain
 *     RAM here, whatever PAM says);
 *   - SMRAM (0x9d): storage with C_BASE_SEG read-only 010b; D_LCK, once set, freezes it.
 * SMM is not emulated: no SMRAM or TSEG is ever hidden from the CPU, and the D_OPEN/D_CLS
 * bits change nothing (Debian's OVMF without secure boot and SeaBIOS run without SMM).
 */
#include "devices/mch.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdlib.h>

struct mch {
	struct pci_dev pci;
	struct platform *p;
	struct pci_host *host;
	u64 ecam_base; /* where the window is mapped, 0 when not */
	u64 ecam_len;
};

static const struct pci_id mch_id = {
	.vendor = 0x8086,
	.device = MCH_DEVICE_ID,
	.class_code = 0x060000,
	.subsystem_vendor = PCI_SUBSYSTEM_VENDOR_QEMU,
	.subsystem = PCI_SUBSYSTEM_QEMU_VM,
};

static u64 mch_ecam_read(void *dev, u64 off, unsigned size)
{
	struct mch *m = dev;

	return pci_host_ecam_read(m->host, off, size);
}

static void mch_ecam_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct mch *m = dev;

	pci_host_ecam_write(m->host, off, size, (u32)val);
}

static const struct io_ops mch_ecam_io = {
	.read = mch_ecam_read,
	.write = mch_ecam_write,
	.min_size = 1,
	.max_size = 4,
};

static u64 mch_pciexbar(const struct mch *m)
{
	return pci_config_get32(&m->pci, MCH_PCIEXBAR) |
	       (u64)pci_config_get32(&m->pci, MCH_PCIEXBAR + 4) << 32;
}

/* Map the window PCIEXBAR describes, unmapping the old one. */
static void mch_update_ecam(struct mch *m)
{
	u64 bar = mch_pciexbar(m), len, base;

	if (m->ecam_base)
		bus_unmap(&m->p->mmio, m->ecam_base);
	m->ecam_base = 0;
	m->ecam_len = 0;
	if (!(bar & MCH_PCIEXBAR_EN))
		return;
	switch ((bar & MCH_PCIEXBAR_LEN) >> 1) {
	case 0:
		len = 256ull << 20;
		break;
	case 1:
		len = 128ull << 20;
		break;
	case 2:
		len = 64ull << 20;
		break;
	default:
		log_guest("%s: PCIEXBAR length 11b is reserved; ECAM stays off", m->pci.name);
		return;
	}
	base = bar & 0xffc000000ull & ~(len - 1);
	if (!base || bus_map(&m->p->mmio, base, len, &mch_ecam_io, m, m->pci.name) < 0) {
		log_guest("%s: ECAM at %#llx-%#llx overlaps something else; it stays off",
			  m->pci.name, (unsigned long long)base,
			  (unsigned long long)(base + len - 1));
		return;
	}
	m->ecam_base = base;
	m->ecam_len = len;
	log_dbg(LOG_CAT_DEV, "%s: ECAM at %#llx, %llu MiB", m->pci.name, (unsigned long long)base,
		(unsigned long long)(len >> 20));
}

static void mch_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct mch *m = (struct mch *)d;

	(void)val;
	if (off < MCH_PCIEXBAR + 8 && off + size > MCH_PCIEXBAR)
		mch_update_ecam(m);
	if (off <= MCH_SMRAM && off + size > MCH_SMRAM && (d->config[MCH_SMRAM] & MCH_SMRAM_D_LCK))
		d->wmask[MCH_SMRAM] = 0; /* locked until reset */
}

static const struct pci_dev_ops mch_pci_ops = {
	.config_write = mch_config_write,
};

static void mch_set_wmask(struct mch *m)
{
	u8 *w = m->pci.wmask;

	w[MCH_PCIEXBAR] = 0x07; /* enable, length */
	w[MCH_PCIEXBAR + 1] = 0;
	w[MCH_PCIEXBAR + 2] = 0;
	w[MCH_PCIEXBAR + 3] = 0xfc; /* base bits 31:26 */
	w[MCH_PCIEXBAR + 4] = 0x0f; /* base bits 35:32 */
	w[MCH_PAM0] = 0x30;
	for (unsigned i = 1; i < 7; i++)
		w[MCH_PAM0 + i] = 0x33;
	w[MCH_SMRAM] = 0x78; /* D_OPEN, D_CLS, D_LCK, G_SMRAME */
	w[MCH_ESMRAMC] = 0x87;
}

void mch_reset(struct mch *m)
{
	pci_dev_reset(&m->pci);
	for (unsigned off = PCI_CONFIG_HEADER_END; off < PCI_CONFIG_SPACE_SIZE; off++)
		m->pci.config[off] = 0;
	m->pci.config[MCH_SMRAM] = MCH_SMRAM_C_BASE;
	m->pci.config[MCH_ESMRAMC] = 0x38; /* the TSEG size bits' reset value */
	pci_config_set16(&m->pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	mch_set_wmask(m);
	mch_update_ecam(m);
}

void mch_enable_ecam(struct mch *m, u64 base)
{
	pci_config_set32(&m->pci, MCH_PCIEXBAR, (u32)base | (u32)MCH_PCIEXBAR_EN);
	pci_config_set32(&m->pci, MCH_PCIEXBAR + 4, (u32)(base >> 32));
	mch_update_ecam(m);
}

int mch_create(struct platform *p, struct pci_host *h, struct mch **out, struct err *err)
{
	struct mch *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return err_set(err, -ENOMEM, "mch: out of memory");
	m->p = p;
	m->host = h;
	pci_dev_init(&m->pci, "mch", &mch_id, &mch_pci_ops);
	mch_reset(m);
	ret = pci_host_add(h, &m->pci, 0, 0, err);
	if (ret < 0) {
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void mch_destroy(struct mch *m)
{
	if (!m)
		return;
	if (m->ecam_base)
		bus_unmap(&m->p->mmio, m->ecam_base);
	pci_host_remove(m->host, &m->pci);
	free(m);
}

static void mch_ops_reset(void *dev)
{
	mch_reset(dev);
}

static void mch_ops_destroy(void *dev)
{
	mch_destroy(dev);
}

/* The window and the SMRAM lock are re-derived from configuration space. */
static int mch_post_load(void *obj, u32 version, struct err *err)
{
	struct mch *m = obj;

	(void)version, (void)err;
	mch_set_wmask(m);
	if (m->pci.config[MCH_SMRAM] & MCH_SMRAM_D_LCK)
		m->pci.wmask[MCH_SMRAM] = 0;
	m->pci.config[MCH_SMRAM] = (u8)((m->pci.config[MCH_SMRAM] & 0x78) | MCH_SMRAM_C_BASE);
	mch_update_ecam(m);
	return 0;
}

static const struct state_field mch_fields[] = {
	STATE_STRUCT(struct mch, pci, pci_dev_state),
	STATE_HOST(struct mch, p, "the platform"),
	STATE_HOST(struct mch, host, "the PCI bus the bridge sits on"),
	STATE_HOST(struct mch, ecam_base, "re-derived from PCIEXBAR by post_load"),
	STATE_HOST(struct mch, ecam_len, "re-derived from PCIEXBAR by post_load"),
	STATE_END,
};

static const struct state_desc mch_state = {
	.name = "mch",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct mch),
	.fields = mch_fields,
	.post_load = mch_post_load,
};

const struct device_ops mch_device_ops = {
	.type = "mch",
	.reset = mch_ops_reset,
	.state = &mch_state,
	.destroy = mch_ops_destroy,
};
