// SPDX-License-Identifier: MIT
/*
 * Intel 82371AB PIIX4 power-management function (piix4_pm.h), after the 82371AB PCI-to-ISA /
 * IDE Xcelerator (PIIX4) datasheet, 4.3 "Power management function (function 3)", as far as
 * firmware and operating systems look at it on an i440FX board:
 *   - 8086:7113, revision 3 (the stepping whose PM timer Linux trusts), class 06/80/00, at
 *     00:01.3 beside the PIIX3 ISA bridge (00:01.0, piix.c), as on QEMU's `pc` machine;
 *   - PMBA (0x40): the ACPI PM I/O base. The board decodes its ACPI PM block at one fixed
 *     place (devices/acpi_pm.h, 0x600, where SeaBIOS puts it and the FADT says it is), so the
 *     register reads that base with RTE set and ignores writes: OVMF's ACPI timer library and
 *     PlatformPei (which would move it to 0xb000 on an i440FX) and Linux's PIIX4 quirk read
 *     it back and find the block where it is;
 *   - PMREGMISC (0x80): PMIOSE reads 1 and ignores writes, because the block is always
 *     decoded; firmware that finds it set leaves PMBA alone (OVMF's PlatformPei does);
 *   - SMBBA (0x90) and SMBHSTCFG (0xd2): the SMBus host controller is not modelled. The base
 *     reads 0 (RTE 1) and the host enable 0 whatever firmware writes, so nothing claims or
 *     probes ports that do not answer (Linux's i2c-piix4 reports an unset base and stops);
 *   - the other registers of the function (device activity and resource monitoring, GPI
 *     control, 0x44-0xff) read 0 and ignore writes: no power-management event comes from
 *     them. The function raises no PCI interrupt (interrupt pin 0): the SCI is ISA IRQ 9, as
 *     the FADT says, and the ACPI PM block raises it.
 */
#include "devices/piix4_pm.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct piix4_pm {
	struct pci_dev pci;
	struct pci_host *host;
	char name[32];
	u16 pm_base;
};

static const struct pci_id piix4_pm_id = {
	.vendor = 0x8086,
	.device = PIIX4_PM_DEVICE_ID,
	.class_code = 0x068000,
	.revision = PIIX4_PM_REVISION,
	.subsystem_vendor = PCI_SUBSYSTEM_VENDOR_QEMU,
	.subsystem = PCI_SUBSYSTEM_QEMU_VM,
};

static void piix4_pm_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct piix4_pm *pm = (struct piix4_pm *)d;

	if (off == PIIX4_PM_PMBA && size >= 2 && (val & 0xffc0) != pm->pm_base)
		LOG_ONCE(LOG_LEVEL_WARN, "%s: PMBA stays %#x: the ACPI PM block does not move",
			 pm->name, pm->pm_base);
	if (off <= PIIX4_PM_SMBHSTCFG && off + size > PIIX4_PM_SMBHSTCFG &&
	    ((val >> 8 * (PIIX4_PM_SMBHSTCFG - off)) & 1))
		log_dbg(LOG_CAT_DEV, "%s: SMBus host enable ignored: no SMBus controller",
			pm->name);
}

static const struct pci_dev_ops piix4_pm_pci_ops = {
	.config_write = piix4_pm_config_write,
};

/* The registers beyond the header that read other than 0 (all of them read-only). */
static void piix4_pm_fixed_registers(struct piix4_pm *pm)
{
	pci_config_set32(&pm->pci, PIIX4_PM_PMBA, pm->pm_base | 1u); /* RTE: I/O space */
	pm->pci.config[PIIX4_PM_PMREGMISC] = PIIX4_PM_PMIOSE;
	pci_config_set32(&pm->pci, PIIX4_PM_SMBBA, 1u);
}

void piix4_pm_reset(struct piix4_pm *pm)
{
	pci_dev_reset(&pm->pci);
	for (unsigned off = PCI_CONFIG_HEADER_END; off < PCI_CONFIG_SPACE_SIZE; off++)
		pm->pci.config[off] = 0;
	piix4_pm_fixed_registers(pm);
}

int piix4_pm_create(const struct piix4_pm_config *cfg, struct piix4_pm **out, struct err *err)
{
	struct piix4_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	pm->host = cfg->host;
	pm->pm_base = cfg->pm_base;
	snprintf(pm->name, sizeof(pm->name), "%s", cfg->name);
	pci_dev_init(&pm->pci, pm->name, &piix4_pm_id, &piix4_pm_pci_ops);
	piix4_pm_reset(pm);
	ret = pci_host_add(cfg->host, &pm->pci, PIIX4_PM_DEV, PIIX4_PM_FN, err);
	if (ret < 0) {
		free(pm);
		return ret;
	}
	*out = pm;
	return 0;
}

void piix4_pm_destroy(struct piix4_pm *pm)
{
	if (!pm)
		return;
	pci_host_remove(pm->host, &pm->pci);
	free(pm);
}

static void piix4_pm_ops_reset(void *dev)
{
	piix4_pm_reset(dev);
}

static void piix4_pm_ops_destroy(void *dev)
{
	piix4_pm_destroy(dev);
}

static int piix4_pm_post_load(void *obj, u32 version, struct err *err)
{
	(void)version, (void)err;
	piix4_pm_fixed_registers(obj);
	return 0;
}

static const struct state_field piix4_pm_fields[] = {
	STATE_STRUCT(struct piix4_pm, pci, pci_dev_state),
	STATE_HOST(struct piix4_pm, host, "the PCI bus the function sits on"),
	STATE_HOST(struct piix4_pm, name, "the board's name"),
	STATE_U16(struct piix4_pm, pm_base, STATE_CHECKED),
	STATE_END,
};

static const struct state_desc piix4_pm_state = {
	.name = "piix4-pm",
	.version = 1,
	.min_version = 1,
	/* The function came to the pc board after snapshots of it existed; its reset state is
	 * all a guest sees of it (the PM base is fixed). */
	.absent_is_reset = true,
	STATE_LAYOUT(struct piix4_pm),
	.fields = piix4_pm_fields,
	.post_load = piix4_pm_post_load,
};

const struct device_ops piix4_pm_device_ops = {
	.type = "piix4-pm",
	.reset = piix4_pm_ops_reset,
	.state = &piix4_pm_state,
	.destroy = piix4_pm_ops_destroy,
};
