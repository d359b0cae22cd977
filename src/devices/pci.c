// SPDX-License-Identifier: MIT
/*
 * PCI core, after the PCI Local Bus Specification 3.0:
 *   - type 0 configuration header (chapter 6, figure 6-1) with a
 *     writable-bit mask and a write-1-to-clear mask per byte, so command,
 *     status (6.2.3: error bits are write-1-to-clear), BARs, cache line,
 *     latency timer and interrupt line are handled generically;
 *   - BAR sizing (6.2.5.1): writing all ones reads back the size mask with
 *     the type bits and decodes nothing until the BAR is written again (the
 *     mask itself is an address a guest may assign, e.g. a 1 GiB BAR at
 *     3 GiB); I/O, 32-bit and 64-bit memory BARs; a bar_remap hook
 *     when a BAR's decoded address changes, including through the command
 *     register's I/O and memory space enables;
 *   - the capabilities list (6.7) and INTx with the command register's
 *     Interrupt Disable bit and the status register's Interrupt Status bit;
 *   - configuration mechanism #1 (3.2.2.3.2): CONFIG_ADDRESS, a 32-bit
 *     register at 0xCF8 (dword accesses only), and CONFIG_DATA at 0xCFC-0xCFF
 *     (byte, word and dword). Absent functions read all ones.
 *
 * Port 0xCF9 is the PIIX3 reset control register (82371SB datasheet 4.1.17).
 * It lies inside 0xCF8-0xCFF, which a sorted, non-overlapping bus cannot
 * split, so this host owns all eight ports and treats a byte access at
 * 0xCF9 as RC: writing RCPU (bit 2) requests PLATFORM_REQ_RESET (SRST, bit
 * 1, chooses hard or soft reset on real hardware; both reset the VM here).
 * Only dword accesses reach CONFIG_ADDRESS, as on the chipset, so RC and the
 * address register do not disturb each other.
 *
 *   - the expansion ROM BAR (6.2.5.2) of the functions that declare one
 *     (pci_set_rom), decoded while its enable bit and memory space are on;
 *
 * ECAM (PCIe memory-mapped configuration) reaches the same functions through
 * pci_host_ecam_read/write; the Q35 MCH (mch.c) maps the window. Not modelled: type 1
 * headers (bridges; one bus), mechanism #2, PCIe extended configuration space (0x100-0xfff
 * reads 0). MSI and MSI-X
 * are built on pci_add_capability plus platform->msi by the devices.
 */
#include "devices/pci.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCI_MAX_DEVFN 256

struct pci_host {
	struct platform *p;
	char name[32];
	u32 config_address;
	u8 rc; /* reset control register at 0xCF9 */
	struct pci_dev *devs[PCI_MAX_DEVFN];
};

static void pci_wmask_set(struct pci_dev *d, unsigned off, unsigned len, u32 mask)
{
	for (unsigned i = 0; i < len; i++)
		d->wmask[off + i] = (u8)(mask >> (8 * i));
}

void pci_dev_init(struct pci_dev *d, const char *name, const struct pci_id *id,
		  const struct pci_dev_ops *ops)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ops = ops;
	pci_config_set16(d, PCI_VENDOR_ID, id->vendor);
	pci_config_set16(d, PCI_DEVICE_ID, id->device);
	d->config[PCI_REVISION_ID] = id->revision;
	d->config[PCI_CLASS_PROG] = (u8)id->class_code;
	pci_config_set16(d, PCI_CLASS_DEVICE, (u16)(id->class_code >> 8));
	d->config[PCI_HEADER_TYPE] = id->header_type;
	pci_config_set16(d, PCI_SUBSYSTEM_VENDOR_ID, id->subsystem_vendor);
	pci_config_set16(d, PCI_SUBSYSTEM_ID, id->subsystem);
	pci_config_set16(d, PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
	pci_wmask_set(d, PCI_COMMAND, 2,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	pci_wmask_set(d, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_wmask_set(d, PCI_LATENCY_TIMER, 1, 0xff);
	pci_wmask_set(d, PCI_INTERRUPT_LINE, 1, 0xff);
	d->w1cmask[PCI_STATUS] = (u8)PCI_STATUS_W1C;
	d->w1cmask[PCI_STATUS + 1] = (u8)(PCI_STATUS_W1C >> 8);
	d->cap_free = PCI_CONFIG_HEADER_END;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		d->bars[i].addr = PCI_BAR_UNMAPPED;
	d->rom.addr = PCI_BAR_UNMAPPED;
}

int pci_set_rom(struct pci_dev *d, u64 size)
{
	if (size < 0x800 || size > (16u << 20) || (size & (size - 1)))
		return -EINVAL;
	d->rom = (struct pci_bar){ .size = size, .kind = PCI_BAR_MEM32, .addr = PCI_BAR_UNMAPPED };
	pci_wmask_set(d, PCI_ROM_ADDRESS, 4,
		      ((u32) ~(size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
	pci_config_set32(d, PCI_ROM_ADDRESS, 0);
	return 0;
}

int pci_set_bar(struct pci_dev *d, unsigned bar, u64 size, enum pci_bar_kind kind, bool prefetch)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * bar;
	u64 mask = ~(size - 1);
	u32 low_bits;

	if (bar >= PCI_NUM_BARS || (kind == PCI_BAR_MEM64 && bar + 1 >= PCI_NUM_BARS))
		return -EINVAL;
	if (!size || (size & (size - 1)) || size < (kind == PCI_BAR_IO ? 4u : 16u) ||
	    (kind == PCI_BAR_IO && size > 0x10000) || (kind == PCI_BAR_MEM32 && size > 1ull << 31))
		return -EINVAL;
	d->bars[bar] = (struct pci_bar){
		.size = size, .kind = kind, .prefetch = prefetch, .addr = PCI_BAR_UNMAPPED
	};
	if (kind == PCI_BAR_IO) {
		low_bits = PCI_BASE_ADDRESS_SPACE_IO;
		pci_wmask_set(d, off, 4, (u32)mask & PCI_BASE_ADDRESS_IO_MASK);
	} else {
		low_bits = (kind == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			   (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		pci_wmask_set(d, off, 4, (u32)mask & PCI_BASE_ADDRESS_MEM_MASK);
	}
	pci_config_set32(d, off, low_bits);
	if (kind == PCI_BAR_MEM64) {
		d->bars[bar + 1] = (struct pci_bar){ .addr = PCI_BAR_UNMAPPED };
		pci_wmask_set(d, off + 4, 4, (u32)(mask >> 32));
		pci_config_set32(d, off + 4, 0);
	}
	return 0;
}

int pci_add_capability(struct pci_dev *d, u8 cap_id, unsigned len)
{
	unsigned off = ALIGN_UP((unsigned)d->cap_free, 4u);

	if (len < 2 || off + len > PCI_CONFIG_SPACE_SIZE)
		return -ENOSPC;
	d->config[off] = cap_id;
	d->config[off + 1] = 0;
	if (d->cap_last)
		d->config[d->cap_last + 1] = (u8)off;
	else
		d->config[PCI_CAPABILITY_LIST] = (u8)off;
	d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_last = (u8)off;
	d->cap_free = (u8)MIN(off + len, 0xffu);
	return (int)off;
}

static void pci_update_intx(struct pci_dev *d)
{
	int out = d->intx_level && !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);

	if (out != d->intx_out) {
		d->intx_out = out;
		irq_line_set(&d->intx, out);
	}
}

void pci_set_intx(struct pci_dev *d, unsigned pin, struct irq_line line)
{
	d->config[PCI_INTERRUPT_PIN] = (u8)pin;
	d->intx = line;
}

void pci_set_irq(struct pci_dev *d, int level)
{
	d->intx_level = !!level;
	if (level)
		d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->config[PCI_STATUS] &= (u8)~PCI_STATUS_INTERRUPT;
	pci_update_intx(d);
}

/* The address BAR i decodes now, or PCI_BAR_UNMAPPED. */
static u64 pci_bar_decode(const struct pci_dev *d, unsigned i)
{
	const struct pci_bar *bar = &d->bars[i];
	u16 cmd = pci_config_get16(d, PCI_COMMAND);
	u32 low = pci_config_get32(d, PCI_BASE_ADDRESS_0 + 4 * i);
	u64 addr;

	if (!bar->size || bar->sizing ||
	    (bar->kind == PCI_BAR_MEM64 && d->bars[i + 1].sizing)) /* a sizing pattern */
		return PCI_BAR_UNMAPPED;
	if (bar->kind == PCI_BAR_IO) {
		addr = low & PCI_BASE_ADDRESS_IO_MASK;
		if (!(cmd & PCI_COMMAND_IO) || !addr || addr + bar->size > 0x10000)
			return PCI_BAR_UNMAPPED;
		return addr;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return PCI_BAR_UNMAPPED;
	addr = low & PCI_BASE_ADDRESS_MEM_MASK;
	if (bar->kind == PCI_BAR_MEM64)
		addr |= (u64)pci_config_get32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) << 32;
	/* 0 is never assigned. */
	if (!addr || addr + bar->size < addr)
		return PCI_BAR_UNMAPPED;
	return addr;
}

/* The address the expansion ROM decodes now, or PCI_BAR_UNMAPPED. */
static u64 pci_rom_decode(const struct pci_dev *d)
{
	u32 reg = pci_config_get32(d, PCI_ROM_ADDRESS);
	u64 addr = reg & PCI_ROM_ADDRESS_MASK;

	if (!d->rom.size || !(reg & PCI_ROM_ADDRESS_ENABLE) ||
	    !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY) || !addr ||
	    addr == ((u32) ~(d->rom.size - 1) & PCI_ROM_ADDRESS_MASK))
		return PCI_BAR_UNMAPPED;
	return addr;
}

static void pci_update_rom(struct pci_dev *d)
{
	u64 now = pci_rom_decode(d), old = d->rom.addr;

	if (!d->rom.size || now == old)
		return;
	d->rom.addr = now;
	log_dbg(LOG_CAT_DEV, "%s: ROM %#llx -> %#llx", d->name, (unsigned long long)old,
		(unsigned long long)now);
	if (d->ops && d->ops->bar_remap)
		d->ops->bar_remap(d, PCI_ROM_SLOT, old, now);
}

static void pci_update_bars(struct pci_dev *d)
{
	pci_update_rom(d);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		u64 now = pci_bar_decode(d, i), old = d->bars[i].addr;

		if (!d->bars[i].size || now == old)
			continue;
		d->bars[i].addr = now;
		log_dbg(LOG_CAT_DEV, "%s: BAR%u %#llx -> %#llx", d->name, i,
			(unsigned long long)old, (unsigned long long)now);
		if (d->ops && d->ops->bar_remap)
			d->ops->bar_remap(d, i, old, now);
	}
}

u64 pci_bar_addr(const struct pci_dev *d, unsigned bar)
{
	if (bar == PCI_ROM_SLOT)
		return d->rom.addr;
	return bar < PCI_NUM_BARS ? d->bars[bar].addr : PCI_BAR_UNMAPPED;
}

static bool pci_range_overlaps(unsigned off, unsigned size, unsigned start, unsigned end)
{
	return off < end && off + size > start;
}

u32 pci_config_read(struct pci_dev *d, unsigned off, unsigned size)
{
	u32 val = 0;

	if (d->ops && d->ops->config_read)
		d->ops->config_read(d, off, size);
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SPACE_SIZE; i++)
		val |= (u32)d->config[off + i] << (8 * i);
	return val;
}

void pci_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SPACE_SIZE; i++) {
		unsigned o = off + i;
		u8 b = (u8)(val >> (8 * i));

		d->config[o] = (d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]);
		d->config[o] &= ~(b & d->w1cmask[o]);
	}
	if (pci_range_overlaps(off, size, PCI_COMMAND, PCI_COMMAND + 2)) {
		pci_update_intx(d);
		pci_update_bars(d);
	} else if (pci_range_overlaps(off, size, PCI_BASE_ADDRESS_0,
				      PCI_BASE_ADDRESS_0 + 4 * PCI_NUM_BARS) ||
		   pci_range_overlaps(off, size, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS + 4)) {
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;

			if (pci_range_overlaps(off, size, reg, reg + 4))
				d->bars[i].sizing = off == reg && size == 4 && val == 0xffffffffu;
		}
		pci_update_bars(d);
	}
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, off, size, val);
}

void pci_dev_reset(struct pci_dev *d)
{
	pci_config_set16(d, PCI_COMMAND, 0);
	d->config[PCI_STATUS] &= PCI_STATUS_CAP_LIST | PCI_STATUS_66MHZ | PCI_STATUS_FAST_BACK;
	d->config[PCI_STATUS + 1] &= (u8) ~(PCI_STATUS_W1C >> 8);
	d->config[PCI_CACHE_LINE_SIZE] = 0;
	d->config[PCI_LATENCY_TIMER] = 0;
	d->config[PCI_INTERRUPT_LINE] = 0;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
		u32 cur = pci_config_get32(d, off);

		d->bars[i].sizing = false;
		/* keep the read-only type bits, clear the address */
		pci_config_set32(d, off,
				 cur & ~((u32)d->wmask[off] | (u32)d->wmask[off + 1] << 8 |
					 (u32)d->wmask[off + 2] << 16 |
					 (u32)d->wmask[off + 3] << 24));
	}
	pci_config_set32(d, PCI_ROM_ADDRESS, 0);
	d->intx_level = 0;
	pci_update_intx(d);
	pci_update_bars(d);
}

/* ---- state ---- */

/* Header bytes a function's model fixes at creation: identity, header type, subsystem, the
 * capability pointer and interrupt pin (PCI 3.0 6.2.1, 6.2.4, 6.7). */
static bool pci_config_fixed_byte(unsigned off)
{
	return off < PCI_COMMAND || (off >= PCI_REVISION_ID && off < PCI_CACHE_LINE_SIZE) ||
	       off == PCI_HEADER_TYPE ||
	       (off >= PCI_SUBSYSTEM_VENDOR_ID && off < PCI_ROM_ADDRESS) ||
	       off == PCI_CAPABILITY_LIST || off == PCI_INTERRUPT_PIN;
}

static void pci_config_encode(const void *elem, u8 *out)
{
	memcpy(out, elem, PCI_CONFIG_SPACE_SIZE);
}

/*
 * Configuration space from a record: it must describe this function, so the fixed header
 * bytes and the read-only (type) bits of the BARs must be the ones the model set.
 */
static int pci_config_decode(const void *obj, void *elem, const u8 *in)
{
	const struct pci_dev *d = obj;

	for (unsigned off = 0; off < PCI_CONFIG_HEADER_END; off++) {
		bool bar = off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_0 + 4 * PCI_NUM_BARS;

		if (pci_config_fixed_byte(off) && in[off] != d->config[off])
			return -EINVAL;
		if (bar && (in[off] & ~d->wmask[off]) != (d->config[off] & ~d->wmask[off]))
			return -EINVAL;
	}
	memcpy(elem, in, PCI_CONFIG_SPACE_SIZE);
	return 0;
}

/* Re-derive from config[]: the decoded BARs (bar_remap maps them) and the INTx line. */
static int pci_dev_post_load(void *obj, u32 version, struct err *err)
{
	struct pci_dev *d = obj;

	(void)version, (void)err;
	d->intx_out =
		d->intx_level && !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	if (d->intx_out)
		irq_line_set(&d->intx, 1); /* it was high: the line carries it again */
	pci_update_bars(d);
	return 0;
}

static const struct state_field pci_dev_fields[] = {
	STATE_CUSTOM(struct pci_dev, config, 1, pci_config_encode, pci_config_decode,
		     PCI_CONFIG_SPACE_SIZE),
	STATE_HOST(struct pci_dev, wmask, "set by the model at creation"),
	STATE_HOST(struct pci_dev, w1cmask, "set by the model at creation"),
	STATE_HOST(struct pci_dev, bars,
		   "sizes and kinds set at creation; the decoded addresses "
		   "are re-derived from config space by post_load"),
	STATE_HOST(struct pci_dev, rom,
		   "the ROM's size set at creation; its decoded address is re-derived from "
		   "config space by post_load"),
	STATE_HOST(struct pci_dev, ops, "the model's hooks"),
	STATE_HOST(struct pci_dev, host, "the bus it sits on"),
	STATE_HOST(struct pci_dev, name, "the model's name"),
	STATE_U8(struct pci_dev, devfn, STATE_CHECKED),
	STATE_HOST(struct pci_dev, intx, "the line the board wired"),
	STATE_INT(struct pci_dev, intx_level, STATE_MAX(1)),
	STATE_HOST(struct pci_dev, intx_out, "re-derived by post_load (and the line raised)"),
	STATE_HOST(struct pci_dev, cap_last, "capability layout set at creation"),
	STATE_HOST(struct pci_dev, cap_free, "capability layout set at creation"),
	STATE_END,
};

const struct state_desc pci_dev_state = {
	.name = "pci-function",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pci_dev),
	.fields = pci_dev_fields,
	.post_load = pci_dev_post_load,
};

/* ---- host: configuration mechanism #1 and the reset control register ---- */

static struct pci_dev *pci_host_target(struct pci_host *h, unsigned *reg)
{
	u32 addr = h->config_address;

	if (!(addr & PCI_CONFIG_ENABLE) || ((addr >> 16) & 0xff) != 0)
		return NULL; /* disabled, or a bus behind no bridge */
	*reg = addr & 0xfc;
	return h->devs[(addr >> 8) & 0xff];
}

static u64 pci_host_read(void *dev, u64 off, unsigned size)
{
	struct pci_host *h = dev;
	struct pci_dev *d;
	unsigned reg;

	if (off < 4) {
		if (off == 0 && size == 4)
			return h->config_address;
		if (off == PCI_RC_PORT - PCI_CONFIG_ADDRESS_PORT && size == 1)
			return h->rc;
		return ~0ull;
	}
	d = pci_host_target(h, &reg);
	if (!d)
		return ~0ull;
	return pci_config_read(d, reg + (unsigned)(off - 4), size);
}

static void pci_host_rc_write(struct pci_host *h, u8 val)
{
	h->rc = val & (PCI_RC_SRST | 0x08);
	if (val & PCI_RC_RCPU) {
		log_info("%s: guest %s reset through port 0xcf9", h->name,
			 (val & PCI_RC_SRST) ? "hard" : "soft");
		platform_request(h->p, PLATFORM_REQ_RESET, 0);
	}
}

static void pci_host_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pci_host *h = dev;
	struct pci_dev *d;
	unsigned reg;

	if (off < 4) {
		if (off == 0 && size == 4)
			h->config_address = (u32)val & PCI_CONFIG_ADDRESS_MASK;
		else if (off == PCI_RC_PORT - PCI_CONFIG_ADDRESS_PORT && size == 1)
			pci_host_rc_write(h, (u8)val);
		return; /* other byte/word cycles to 0xCF8-0xCFB are not config cycles */
	}
	d = pci_host_target(h, &reg);
	if (!d)
		return;
	pci_config_write(d, reg + (unsigned)(off - 4), size, (u32)val);
}

static const struct io_ops pci_host_io = {
	.read = pci_host_read,
	.write = pci_host_write,
	.min_size = 1,
	.max_size = 4,
};

int pci_host_create(struct platform *p, const struct pci_host_config *cfg, struct pci_host **out,
		    struct err *err)
{
	struct pci_host *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	h->p = p;
	snprintf(h->name, sizeof(h->name), "%s", cfg->name);
	ret = bus_map_dev(&p->pio, PCI_CONFIG_ADDRESS_PORT, 8, &pci_host_io, h, h->name, err);
	if (ret < 0) {
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

int pci_host_add(struct pci_host *h, struct pci_dev *d, unsigned dev, unsigned fn, struct err *err)
{
	unsigned devfn = dev << 3 | fn;

	if (dev > 31 || fn > 7)
		return err_set(err, -EINVAL, "%s: no slot %02x.%x on a PCI bus", d->name, dev, fn);
	if (h->devs[devfn])
		return err_set(err, -EBUSY, "%s: slot 00:%02x.%x already holds %s", d->name, dev,
			       fn, h->devs[devfn]->name);
	d->host = h;
	d->devfn = (u8)devfn;
	h->devs[devfn] = d;
	return 0;
}

void pci_host_remove(struct pci_host *h, struct pci_dev *d)
{
	if (d->host == h && h->devs[d->devfn] == d)
		h->devs[d->devfn] = NULL;
	d->host = NULL;
}

struct pci_dev *pci_host_find(struct pci_host *h, unsigned dev, unsigned fn)
{
	if (dev > 31 || fn > 7)
		return NULL;
	return h->devs[dev << 3 | fn];
}

/* The function an ECAM offset names, or NULL; *reg is the register inside its space. */
static struct pci_dev *pci_host_ecam_target(struct pci_host *h, u64 off, unsigned *reg)
{
	if (off >> 20) /* bus 0 only: there is no bridge */
		return NULL;
	*reg = (unsigned)(off & 0xfff);
	return h->devs[(off >> 12) & 0xff];
}

u32 pci_host_ecam_read(struct pci_host *h, u64 off, unsigned size)
{
	unsigned reg;
	struct pci_dev *d = pci_host_ecam_target(h, off, &reg);

	if (!d)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (reg >= PCI_CONFIG_SPACE_SIZE)
		return 0;
	return pci_config_read(d, reg, size);
}

void pci_host_ecam_write(struct pci_host *h, u64 off, unsigned size, u32 val)
{
	unsigned reg;
	struct pci_dev *d = pci_host_ecam_target(h, off, &reg);

	if (d && reg < PCI_CONFIG_SPACE_SIZE)
		pci_config_write(d, reg, size, val);
}

void pci_host_reset(struct pci_host *h)
{
	h->config_address = 0;
	h->rc = 0;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
		if (h->devs[i])
			pci_dev_reset(h->devs[i]);
}

void pci_host_destroy(struct pci_host *h)
{
	if (!h)
		return;
	bus_unmap(&h->p->pio, PCI_CONFIG_ADDRESS_PORT);
	free(h);
}

static void pci_host_ops_reset(void *dev)
{
	pci_host_reset(dev);
}

static void pci_host_ops_destroy(void *dev)
{
	pci_host_destroy(dev);
}

static const struct state_field pci_host_fields[] = {
	STATE_HOST(struct pci_host, p, "the platform"),
	STATE_HOST(struct pci_host, name, "the board's name"),
	STATE_U32(struct pci_host, config_address),
	STATE_U8(struct pci_host, rc),
	STATE_HOST(struct pci_host, devs, "the functions on the bus, each saved by its model"),
	STATE_END,
};

static const struct state_desc pci_host_state = {
	.name = "pci-host",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pci_host),
	.fields = pci_host_fields,
};

const struct device_ops pci_host_device_ops = {
	.type = "pci-host",
	.reset = pci_host_ops_reset,
	.state = &pci_host_state,
	.destroy = pci_host_ops_destroy,
};
