/* SPDX-License-Identifier: MIT */
/*
 * PCI core (see pci.c): a struct pci_dev embedded in each PCI device model,
 * holding its 256-byte configuration space with masks that let the core
 * handle every standard configuration write, and the host bridge's
 * configuration mechanism #1 at ports 0xCF8-0xCFF (which also carries the
 * PIIX reset control register at 0xCF9).
 *
 * Locking: everything here runs with the VM-wide device lock held (from bus
 * handlers, or from the main thread during creation).
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include "devices/device.h"
#include "devices/pci_regs.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define PCI_BAR_UNMAPPED UINT64_MAX

/* BAR kinds for pci_set_bar. */
enum pci_bar_kind {
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* takes two BAR slots: bar and bar + 1 */
};

struct pci_dev;
struct pci_host;

/* Device hooks; every member is optional. */
struct pci_dev_ops {
	/*
	 * A BAR's decoded address changed (a BAR write, or the command
	 * register's I/O or memory enable). old/new are PCI_BAR_UNMAPPED when
	 * not decoded. The device moves its bus mapping. bar is PCI_ROM_SLOT for
	 * the expansion ROM (pci_set_rom).
	 */
	void (*bar_remap)(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr);
	/* After the generic handling of a configuration write of size bytes at off. */
	void (*config_write)(struct pci_dev *d, unsigned off, unsigned size, u32 val);
	/* Before a configuration read: refresh config[] for device-owned registers. */
	void (*config_read)(struct pci_dev *d, unsigned off, unsigned size);
};

struct pci_id {
	u16 vendor, device;
	u32 class_code; /* base class << 16 | sub-class << 8 | programming interface */
	u8 revision;
	u8 header_type; /* 0, or PCI_HEADER_TYPE_MULTI_FUNCTION */
	u16 subsystem_vendor, subsystem;
};

struct pci_bar {
	u64 size; /* 0: not implemented */
	enum pci_bar_kind kind;
	bool prefetch;
	u64 addr; /* decoded address or PCI_BAR_UNMAPPED */
	/*
	 * The last write to this BAR register was a dword of all ones: software is sizing it
	 * (6.2.5.1) and it decodes nothing until it is written again. (The value it reads back,
	 * the size mask, is also the top aligned address, which a guest may assign.)
	 */
	bool sizing;
};

struct pci_dev {
	u8 config[PCI_CONFIG_SPACE_SIZE];
	u8 wmask[PCI_CONFIG_SPACE_SIZE];   /* bits the guest may write */
	u8 w1cmask[PCI_CONFIG_SPACE_SIZE]; /* bits cleared by writing 1 */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_bar rom; /* the expansion ROM BAR (PCI_ROM_ADDRESS); size 0: none */
	const struct pci_dev_ops *ops;
	struct pci_host *host;
	char name[32];
	u8 devfn; /* device << 3 | function, on bus 0 */
	struct irq_line intx;
	int intx_level; /* what the device asks for */
	int intx_out;	/* what the line carries (after INTx disable) */
	u8 cap_last;	/* offset of the last capability, 0 if none */
	u8 cap_free;	/* next free offset for pci_add_capability */
};

/* Initialise an embedded pci_dev: identity, standard writable bits, no BARs. */
void pci_dev_init(struct pci_dev *d, const char *name, const struct pci_id *id,
		  const struct pci_dev_ops *ops);
/*
 * Declare BAR bar of size bytes (a power of two; I/O at least 4 bytes, memory
 * at least 16). -EINVAL for a bad index, size or kind.
 */
MUST_CHECK int pci_set_bar(struct pci_dev *d, unsigned bar, u64 size, enum pci_bar_kind kind,
			   bool prefetch);
/*
 * Declare an expansion ROM of size bytes (a power of two from 2 KiB to 16 MiB; PCI 3.0
 * 6.2.5.2): PCI_ROM_ADDRESS sizes like a memory BAR, and is decoded while its enable bit and
 * the command register's memory enable are set. -EINVAL.
 */
MUST_CHECK int pci_set_rom(struct pci_dev *d, u64 size);
/*
 * Append a capability of len bytes (id and next pointer included) to the
 * list, 4-byte aligned from 0x40 up. Returns its offset, or -ENOSPC. The
 * bytes after the header are read-only zero until the caller sets config[]
 * and wmask[].
 */
int pci_add_capability(struct pci_dev *d, u8 cap_id, unsigned len);
/* Connect INTx: pin 1..4 = INTA..INTD, written to PCI_INTERRUPT_PIN. */
void pci_set_intx(struct pci_dev *d, unsigned pin, struct irq_line line);
/* Device asserts (1) or deasserts (0) its INTx; honours the command register's INTx disable. */
void pci_set_irq(struct pci_dev *d, int level);
/* Current decoded address of a BAR (PCI_ROM_SLOT: the ROM), or PCI_BAR_UNMAPPED. */
u64 pci_bar_addr(const struct pci_dev *d, unsigned bar);
/* Back to power-on: command, status, BARs and INTx cleared (unmapping BARs). */
void pci_dev_reset(struct pci_dev *d);

/*
 * State of an embedded pci_dev (vmm/state.h), for the tables of PCI device models
 * (STATE_STRUCT(struct ahci, pci, pci_dev_state)): configuration space and the INTx level.
 * Its post_load refuses a header whose identity or BAR types differ from this function's,
 * re-decodes the BARs (the device's bar_remap maps them) and raises INTx if it was high.
 */
extern const struct state_desc pci_dev_state;

/* Generic configuration access (off + size <= 256, size 1, 2 or 4). */
u32 pci_config_read(struct pci_dev *d, unsigned off, unsigned size);
void pci_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val);

/* Raw little-endian accessors for device models filling their own registers. */
static inline void pci_config_set16(struct pci_dev *d, unsigned off, u16 v)
{
	d->config[off] = (u8)v;
	d->config[off + 1] = (u8)(v >> 8);
}

static inline void pci_config_set32(struct pci_dev *d, unsigned off, u32 v)
{
	pci_config_set16(d, off, (u16)v);
	pci_config_set16(d, off + 2, (u16)(v >> 16));
}

static inline u16 pci_config_get16(const struct pci_dev *d, unsigned off)
{
	return (u16)(d->config[off] | d->config[off + 1] << 8);
}

static inline u32 pci_config_get32(const struct pci_dev *d, unsigned off)
{
	return pci_config_get16(d, off) | (u32)pci_config_get16(d, off + 2) << 16;
}

struct pci_host_config {
	const char *name; /* "pci" */
};

/* The host side: mechanism #1 at 0xCF8-0xCFF and the devices on bus 0. -ENOMEM, -EBUSY. */
MUST_CHECK int pci_host_create(struct platform *p, const struct pci_host_config *cfg,
			       struct pci_host **out, struct err *err);
/* Put d at 00:dev.fn. -EINVAL (dev > 31 or fn > 7), -EBUSY (slot taken), with a message. */
MUST_CHECK int pci_host_add(struct pci_host *h, struct pci_dev *d, unsigned dev, unsigned fn,
			    struct err *err);
/* Take d off the bus (before its model frees it). */
void pci_host_remove(struct pci_host *h, struct pci_dev *d);
/* The device at 00:dev.fn, or NULL. */
struct pci_dev *pci_host_find(struct pci_host *h, unsigned dev, unsigned fn);
/*
 * Enhanced configuration access (ECAM, PCI Express Base 3.0 7.2.2): off is an offset into the
 * memory-mapped window (bus << 20 | device << 15 | function << 12 | register), size 1, 2 or
 * 4 within a dword. The functions here have the 256-byte conventional space: registers
 * 0x100-0xfff read 0 (no extended capabilities) and ignore writes; a function that is not
 * there, or a bus other than 0, reads all ones. Device lock held.
 */
u32 pci_host_ecam_read(struct pci_host *h, u64 off, unsigned size);
void pci_host_ecam_write(struct pci_host *h, u64 off, unsigned size, u32 val);
/* Reset the config address, the reset control register and every device's PCI state. */
void pci_host_reset(struct pci_host *h);
/* Frees the host only; devices belong to their models. */
void pci_host_destroy(struct pci_host *h);

extern const struct device_ops pci_host_device_ops;

#endif
