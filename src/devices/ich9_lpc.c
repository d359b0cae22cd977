// SPDX-License-Identifier: MIT
/*
 * ICH9 LPC interface bridge (ich9_lpc.h), after the Intel I/O Controller Hub 9 (ICH9) Family
 * datasheet (document 316972), 13.1 "LPC Interface Bridge Registers (D31:F0)":
 *   - 8086:2918, class 06/01/00, multi-function header (the AHCI controller is 00:1f.2);
 *   - PMBASE (0x40): the ACPI PM I/O base. The board decodes its ACPI PM block at one fixed
 *     place (devices/acpi_pm.h, 0x600, where SeaBIOS and OVMF put it), so the register reads
 *     that base with RTE set and ignores writes: firmware that reads it back (OVMF's ACPI
 *     timer library does) finds the block where it is;
 *   - ACPI_CNTL (0x44), GEN_PMCON_1..3 (0xa0-0xa4): storage (the PM block is always decoded
 *     and the SCI is always IRQ 9, as the FADT says);
 *   - PIRQA-H_ROUT (0x60-0x63, 0x68-0x6b): storage, reset 0x80 (off), reported by
 *     ich9_lpc_pirq_irq; PCI interrupts reach the IOAPIC pins the DSDT's _PRT names;
 *   - RCBA (0xf0): the root complex register block's base and enable; while enabled, its
 *     16 KiB window reads 0 and ignores writes (no chipset configuration register is
 *     modelled);
 *   - the APM ports (13.7): APM_STS (0xb3) is a scratch byte; APM_CNT (0xb2) is kept but
 *     raises no SMI, because SMM is not emulated (firmware that needs SMM does not run).
 * The reset control register (RST_CNT, 0xcf9) is the PCI host's (pci.c).
 */
#include "devices/ich9_lpc.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct ich9_lpc {
	struct pci_dev pci;
	struct platform *p;
	struct pci_host *host;
	char name[32];
	u16 pm_base;
	u8 apm_cnt, apm_sts;
	u32 rcba_mapped; /* where the RCBA window is mapped, 0 when not */
};

static const struct pci_id ich9_lpc_id = {
	.vendor = 0x8086,
	.device = ICH9_LPC_DEVICE_ID,
	.class_code = 0x060100,
	.revision = 0x02,
	.header_type = PCI_HEADER_TYPE_MULTI_FUNCTION,
	.subsystem_vendor = PCI_SUBSYSTEM_VENDOR_QEMU,
	.subsystem = PCI_SUBSYSTEM_QEMU_VM,
};

/* ---- the RCBA window: no register modelled ---- */

static u64 ich9_lpc_rcba_read(void *dev, u64 off, unsigned size)
{
	(void)dev, (void)off, (void)size;
	return 0;
}

static void ich9_lpc_rcba_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct ich9_lpc *l = dev;

	log_dbg(LOG_CAT_DEV, "%s: RCBA+%#llx <- %#llx (%u bytes) ignored", l->name,
		(unsigned long long)off, (unsigned long long)val, size);
}

static const struct io_ops ich9_lpc_rcba_io = {
	.read = ich9_lpc_rcba_read,
	.write = ich9_lpc_rcba_write,
	.min_size = 1,
	.max_size = 4,
};

static void ich9_lpc_update_rcba(struct ich9_lpc *l)
{
	u32 rcba = pci_config_get32(&l->pci, ICH9_LPC_RCBA);
	u32 base = rcba & ~(u32)(ICH9_LPC_RCBA_SIZE - 1);

	if (l->rcba_mapped)
		bus_unmap(&l->p->mmio, l->rcba_mapped);
	l->rcba_mapped = 0;
	if (!(rcba & ICH9_LPC_RCBA_EN) || !base)
		return;
	if (bus_map(&l->p->mmio, base, ICH9_LPC_RCBA_SIZE, &ich9_lpc_rcba_io, l, l->name) < 0) {
		log_guest("%s: RCBA at %#x overlaps something else; it stays off", l->name, base);
		return;
	}
	l->rcba_mapped = base;
}

static void ich9_lpc_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct ich9_lpc *l = (struct ich9_lpc *)d;

	if (off < ICH9_LPC_RCBA + 4 && off + size > ICH9_LPC_RCBA)
		ich9_lpc_update_rcba(l);
	if (off == ICH9_LPC_PMBASE && size >= 2 && (val & 0xff80) != l->pm_base)
		LOG_ONCE(LOG_LEVEL_WARN, "%s: PMBASE stays %#x: the ACPI PM block does not move",
			 l->name, l->pm_base);
}

static const struct pci_dev_ops ich9_lpc_pci_ops = {
	.config_write = ich9_lpc_config_write,
};

/* ---- APM ---- */

static u64 ich9_lpc_apm_read(void *dev, u64 off, unsigned size)
{
	struct ich9_lpc *l = dev;

	(void)size;
	return off ? l->apm_sts : l->apm_cnt;
}

static void ich9_lpc_apm_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct ich9_lpc *l = dev;

	(void)size;
	if (off) {
		l->apm_sts = (u8)val;
		return;
	}
	l->apm_cnt = (u8)val;
	log_guest("%s: APM_CNT %#x written: no SMI, SMM is not emulated", l->name,
		  (unsigned)(u8)val);
}

static const struct io_ops ich9_lpc_apm_io = {
	.read = ich9_lpc_apm_read,
	.write = ich9_lpc_apm_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- lifecycle ---- */

static void ich9_lpc_set_wmask(struct ich9_lpc *l)
{
	u8 *w = l->pci.wmask;

	w[ICH9_LPC_ACPI_CNTL] = 0x87; /* ACPI_EN, SCI_IRQ_SEL */
	for (unsigned i = 0; i < 4; i++) {
		w[ICH9_LPC_PIRQA_ROUT + i] = 0x8f;
		w[ICH9_LPC_PIRQE_ROUT + i] = 0x8f;
	}
	for (unsigned i = 0; i < 5; i++)
		w[ICH9_LPC_GEN_PMCON1 + i] = 0xff;
	w[ICH9_LPC_RCBA] = 0x01;
	w[ICH9_LPC_RCBA + 1] = 0xc0; /* base bits 31:14 */
	w[ICH9_LPC_RCBA + 2] = 0xff;
	w[ICH9_LPC_RCBA + 3] = 0xff;
}

void ich9_lpc_reset(struct ich9_lpc *l)
{
	pci_dev_reset(&l->pci);
	for (unsigned off = PCI_CONFIG_HEADER_END; off < PCI_CONFIG_SPACE_SIZE; off++)
		l->pci.config[off] = 0;
	pci_config_set32(&l->pci, ICH9_LPC_PMBASE, l->pm_base | 1u); /* RTE: I/O space */
	for (unsigned i = 0; i < 4; i++) {
		l->pci.config[ICH9_LPC_PIRQA_ROUT + i] = ICH9_LPC_PIRQ_OFF;
		l->pci.config[ICH9_LPC_PIRQE_ROUT + i] = ICH9_LPC_PIRQ_OFF;
	}
	pci_config_set16(&l->pci, PCI_COMMAND,
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	l->apm_cnt = 0;
	l->apm_sts = 0;
	ich9_lpc_update_rcba(l);
}

int ich9_lpc_pirq_irq(const struct ich9_lpc *l, unsigned pirq)
{
	u8 v;

	if (pirq > 7)
		return -1;
	v = l->pci.config[(pirq < 4 ? ICH9_LPC_PIRQA_ROUT : ICH9_LPC_PIRQE_ROUT - 4) + pirq];
	return (v & ICH9_LPC_PIRQ_OFF) ? -1 : (v & 0x0f);
}

int ich9_lpc_create(struct platform *p, const struct ich9_lpc_config *cfg, struct ich9_lpc **out,
		    struct err *err)
{
	struct ich9_lpc *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	l->p = p;
	l->host = cfg->host;
	l->pm_base = cfg->pm_base;
	snprintf(l->name, sizeof(l->name), "%s", cfg->name);
	pci_dev_init(&l->pci, l->name, &ich9_lpc_id, &ich9_lpc_pci_ops);
	ich9_lpc_set_wmask(l);
	ich9_lpc_reset(l);
	ret = bus_map_dev(&p->pio, ICH9_APM_CNT, 2, &ich9_lpc_apm_io, l, l->name, err);
	if (ret < 0)
		goto err_free;
	ret = pci_host_add(cfg->host, &l->pci, ICH9_LPC_DEV, 0, err);
	if (ret < 0)
		goto err_unmap;
	*out = l;
	return 0;

err_unmap:
	bus_unmap(&p->pio, ICH9_APM_CNT);
err_free:
	free(l);
	return ret;
}

void ich9_lpc_destroy(struct ich9_lpc *l)
{
	if (!l)
		return;
	if (l->rcba_mapped)
		bus_unmap(&l->p->mmio, l->rcba_mapped);
	bus_unmap(&l->p->pio, ICH9_APM_CNT);
	pci_host_remove(l->host, &l->pci);
	free(l);
}

static void ich9_lpc_ops_reset(void *dev)
{
	ich9_lpc_reset(dev);
}

static void ich9_lpc_ops_destroy(void *dev)
{
	ich9_lpc_destroy(dev);
}

static int ich9_lpc_post_load(void *obj, u32 version, struct err *err)
{
	struct ich9_lpc *l = obj;

	(void)version, (void)err;
	pci_config_set32(&l->pci, ICH9_LPC_PMBASE, l->pm_base | 1u);
	ich9_lpc_update_rcba(l);
	return 0;
}

static const struct state_field ich9_lpc_fields[] = {
	STATE_STRUCT(struct ich9_lpc, pci, pci_dev_state),
	STATE_HOST(struct ich9_lpc, p, "the platform"),
	STATE_HOST(struct ich9_lpc, host, "the PCI bus the function sits on"),
	STATE_HOST(struct ich9_lpc, name, "the board's name"),
	STATE_U16(struct ich9_lpc, pm_base, STATE_CHECKED),
	STATE_U8(struct ich9_lpc, apm_cnt),
	STATE_U8(struct ich9_lpc, apm_sts),
	STATE_HOST(struct ich9_lpc, rcba_mapped, "re-derived from RCBA by post_load"),
	STATE_END,
};

static const struct state_desc ich9_lpc_state = {
	.name = "ich9-lpc",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ich9_lpc),
	.fields = ich9_lpc_fields,
	.post_load = ich9_lpc_post_load,
};

const struct device_ops ich9_lpc_device_ops = {
	.type = "ich9-lpc",
	.reset = ich9_lpc_ops_reset,
	.state = &ich9_lpc_state,
	.destroy = ich9_lpc_ops_destroy,
};
