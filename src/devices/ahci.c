// SPDX-License-Identifier: MIT
/*
 * AHCI HBA (see ahci.h). Serial ATA AHCI 1.3.1: 2.1 PCI header (ABAR in BAR5), 3.1 generic
 * host control (CAP, GHC with AE/IE/HR, IS, PI, VS), 3.3 port registers, 4.2 system memory
 * structures (received FIS area, command list, command table, PRDT), 5.3 the HBA state
 * machines in the simplified form below, 5.5.1 command processing, 5.6.4 native command
 * queuing (Set Device Bits FIS completion, PxSACT), 6.1 error classes (task file errors:
 * PxIS.TFES; host bus fatal errors on unusable system memory: PxIS.HBFS; PRDT too short for
 * the data: PxIS.OFS), 10.4.1 COMRESET through PxSCTL.DET, 10.4.2 software reset through
 * two Register H2D FISes with SRST set then cleared. MSI: PCI Local Bus 3.0 6.8.1 (one
 * message, 64-bit address).
 *
 * Command processing: a CI bit set while PxCMD.ST is on starts the command at once. Queued
 * (NCQ) commands run concurrently; a non-queued command waits for the port to be idle and
 * blocks the others until it ends. After an error the port processes nothing more until
 * software clears PxCMD.ST (the command's CI bit stays set and PxCMD.CCS names it), as
 * libahci's error handler expects.
 *
 * Not modelled: port multipliers, FIS-based switching, command completion coalescing,
 * enclosure management, staggered spin-up, aggressive link power management, the legacy
 * index/data pair in BAR4 and IDE mode.
 */
#include "devices/ahci.h"

#include "devices/ahci_regs.h"
#include "devices/pci.h"
#include "vmm/base/log.h"
#include "vmm/gmem.h"
#include "vmm/platform.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AHCI_MSI_CAP_LEN 14

struct ahci_slot {
	bool busy, ncq;
	u64 ctba;
	u32 prdtl;
	u32 walk_index; /* PRDT entry the last copy ended in, and its first byte */
	u64 walk_pos;
};

struct ahci_port {
	struct ahci *a;
	unsigned index;
	char name[48];
	struct ata_dev *dev;
	u32 clb, clbu, fb, fbu, is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci, sntf;
	u32 issued;	/* slots handed to the device and not ended */
	bool nonqueued; /* a non-queued command is running */
	bool stopped;	/* an error stopped command processing until ST is cleared */
	bool srst;	/* a software reset FIS with SRST set was received */
	struct ahci_slot slots[ATA_MAX_SLOTS];
};

struct ahci {
	struct pci_dev pci;
	struct platform *p;
	char name[32];
	unsigned nr_ports;
	u32 cap, ghc, is, pi;
	unsigned msi_cap;
	u64 abar;
	struct ahci_port ports[AHCI_MAX_PORTS];

	/* vm.counters (device_ops.counters); not guest-visible, not state. Device lock. */
	struct {
		u64 commands, ncq_commands, bytes, errors;
	} stats;
};

static u64 ahci_addr(u32 lo, u32 hi)
{
	return (u64)hi << 32 | lo;
}

static bool ahci_msi_enabled(const struct ahci *a)
{
	return a->pci.config[a->msi_cap + 2] & 1;
}

/* event: a new interrupt condition was raised (an MSI is sent per event). */
static void ahci_update_irq(struct ahci *a, bool event)
{
	bool level = (a->ghc & AHCI_GHC_IE) && a->is;
	unsigned c = a->msi_cap;

	if (ahci_msi_enabled(a)) {
		pci_set_irq(&a->pci, 0);
		if (event && level && a->p->msi)
			a->p->msi(a->p,
				  ahci_addr(pci_config_get32(&a->pci, c + 4),
					    pci_config_get32(&a->pci, c + 8)),
				  pci_config_get16(&a->pci, c + 12));
		return;
	}
	pci_set_irq(&a->pci, level);
}

/* Set PxIS bits and propagate to IS and the interrupt. */
static void ahci_port_raise(struct ahci_port *port, u32 bits)
{
	struct ahci *a = port->a;

	port->is |= bits;
	if (port->is & port->ie) {
		a->is |= 1u << port->index;
		ahci_update_irq(a, true);
	}
}

/* Write a received FIS at off in the port's FIS area, if FIS receive is on. */
static void ahci_port_post_fis(struct ahci_port *port, unsigned off, const u8 *fis, size_t len)
{
	if (!(port->cmd & AHCI_PxCMD_FRE))
		return;
	if (gmem_write(&port->a->p->mem, ahci_addr(port->fb, port->fbu) + off, fis, len) < 0)
		log_guest("%s: received-FIS area %#llx outside RAM", port->name,
			  (unsigned long long)ahci_addr(port->fb, port->fbu));
}

static void ahci_port_post_d2h(struct ahci_port *port, u8 status, u8 error, u64 lba, u16 count)
{
	u8 fis[20] = { AHCI_FIS_REG_D2H, AHCI_FIS_I, status, error };

	fis[4] = (u8)lba;
	fis[5] = (u8)(lba >> 8);
	fis[6] = (u8)(lba >> 16);
	fis[8] = (u8)(lba >> 24);
	fis[9] = (u8)(lba >> 32);
	fis[10] = (u8)(lba >> 40);
	fis[12] = (u8)count;
	fis[13] = (u8)(count >> 8);
	ahci_port_post_fis(port, AHCI_RFIS_RFIS, fis, sizeof(fis));
}

static void ahci_port_post_pio_setup(struct ahci_port *port, u8 status, u32 bytes)
{
	u8 fis[20] = { AHCI_FIS_PIO_SETUP, AHCI_FIS_I | AHCI_FIS_D,
		       ATA_STATUS_DRDY | ATA_STATUS_DRQ };

	fis[15] = status; /* E_Status: the status at the end of the transfer */
	fis[16] = (u8)bytes;
	fis[17] = (u8)(bytes >> 8);
	ahci_port_post_fis(port, AHCI_RFIS_PSFIS, fis, sizeof(fis));
}

static void ahci_port_post_sdb(struct ahci_port *port, u8 status, u8 error, u32 done)
{
	u8 fis[8] = { AHCI_FIS_SDB, AHCI_FIS_I, status & 0x77, error };

	fis[4] = (u8)done;
	fis[5] = (u8)(done >> 8);
	fis[6] = (u8)(done >> 16);
	fis[7] = (u8)(done >> 24);
	ahci_port_post_fis(port, AHCI_RFIS_SDBFIS, fis, sizeof(fis));
}

/* The device's power-on / reset signature (SATA 3.x 11.5: a D2H FIS after reset). */
static void ahci_port_signature(struct ahci_port *port)
{
	if (!port->dev) {
		port->sig = 0xffffffffu;
		port->tfd = 0x7f;
		port->ssts = 0;
		return;
	}
	port->sig = ata_dev_signature(port->dev);
	port->tfd = ata_dev_kind(port->dev) == ATA_KIND_CDROM ? 0 : ATA_STATUS_DRDY | 0x10;
	port->ssts = AHCI_PxSSTS_PRESENT;
	ahci_port_post_d2h(port, (u8)port->tfd, 1, port->sig >> 8, (u16)(port->sig & 0xff));
}

/* Forget every command (PxCMD.ST cleared, or a reset). */
static void ahci_port_stop(struct ahci_port *port)
{
	if (port->dev && port->issued)
		ata_dev_cancel(port->dev);
	memset(port->slots, 0, sizeof(port->slots));
	port->issued = port->ci = port->sact = 0;
	port->nonqueued = port->stopped = false;
	port->cmd &= ~(AHCI_PxCMD_CR | AHCI_PxCMD_CCS_MASK);
}

static void ahci_port_reset(struct ahci_port *port)
{
	ahci_port_stop(port);
	port->clb = port->clbu = port->fb = port->fbu = 0;
	port->is = port->ie = port->serr = port->sntf = port->sctl = 0;
	port->cmd = AHCI_PxCMD_SUD | AHCI_PxCMD_POD;
	port->srst = false;
	if (port->dev)
		ata_dev_reset(port->dev);
	ahci_port_signature(port);
}

/* An error ends command processing until software restarts the port. */
static void ahci_port_error(struct ahci_port *port, unsigned slot, u32 is_bits, u8 status, u8 error)
{
	port->a->stats.errors++;
	port->tfd = (u32)error << 8 | status;
	port->stopped = true;
	port->cmd = (port->cmd & ~AHCI_PxCMD_CCS_MASK) | slot << AHCI_PxCMD_CCS_SHIFT;
	ahci_port_raise(port, is_bits);
}

/*
 * Walk the PRDT of slot from byte off: copy len bytes to (to_guest) or from the guest. The
 * walk resumes at the entry where the previous copy of this command stopped, so a long
 * transfer in chunks stays linear in the number of entries.
 */
static int ahci_prdt_copy(struct ahci_port *port, unsigned slot, u64 off, u8 *buf, size_t len,
			  bool to_guest)
{
	const struct gmem *mem = &port->a->p->mem;
	struct ahci_slot *s = &port->slots[slot];
	u64 pos = 0;
	u32 i = 0;

	if (off >= s->walk_pos) {
		i = s->walk_index;
		pos = s->walk_pos;
	}
	for (; i < s->prdtl && len; i++) {
		u32 prd[4];
		u64 dba, n, skip, chunk;
		int ret;

		if (gmem_read(mem, s->ctba + AHCI_CT_PRDT + (u64)i * AHCI_PRD_SIZE, prd,
			      sizeof(prd)) < 0)
			return -EFAULT;
		dba = ahci_addr(prd[0] & ~1u, prd[1]);
		n = (prd[3] & AHCI_PRD_DBC_MASK) + 1;
		if (pos + n <= off) {
			pos += n;
			continue;
		}
		skip = off - pos;
		chunk = MIN(n - skip, (u64)len);
		if (to_guest)
			ret = gmem_write(mem, dba + skip, buf, chunk);
		else
			ret = gmem_read(mem, dba + skip, buf, chunk);
		if (ret < 0)
			return -EFAULT;
		s->walk_index = i;
		s->walk_pos = pos;
		buf += chunk;
		len -= chunk;
		off += chunk;
		pos += n;
	}
	return len ? -EOVERFLOW : 0;
}

static int ahci_to_guest(void *host, unsigned slot, u64 off, const void *buf, size_t len)
{
	return ahci_prdt_copy(host, slot, off, (u8 *)buf, len, true);
}

static int ahci_from_guest(void *host, unsigned slot, u64 off, void *buf, size_t len)
{
	return ahci_prdt_copy(host, slot, off, buf, len, false);
}

static void ahci_port_run(struct ahci_port *port);

static void ahci_complete(void *host, unsigned slot, const struct ata_result *res)
{
	struct ahci_port *port = host;
	struct ahci_slot *s = &port->slots[slot];
	u32 bit = 1u << slot;
	u64 hdr = ahci_addr(port->clb, port->clbu) + (u64)slot * AHCI_CMD_HDR_SIZE;
	u32 prdbc = res->bytes;

	if (!s->busy) /* the port was stopped meanwhile */
		return;
	s->busy = false;
	port->issued &= ~bit;
	if (!s->ncq)
		port->nonqueued = false;
	if (res->xfer == ATA_XFER_FAULT) {
		log_guest("%s: slot %u: %s", port->name, slot,
			  res->xfer_errno == -EOVERFLOW ? "PRDT shorter than the data" :
							  "PRDT or table outside RAM");
		ahci_port_error(port, slot,
				res->xfer_errno == -EOVERFLOW ? AHCI_PxIS_OFS : AHCI_PxIS_HBFS,
				res->status, res->error);
		return;
	}
	if (gmem_write(&port->a->p->mem, hdr + 4, &prdbc, sizeof(prdbc)) < 0)
		log_guest("%s: command list outside RAM", port->name);
	port->a->stats.bytes += prdbc;
	if (s->ncq) {
		port->tfd = (u32)res->error << 8 | res->status;
		ahci_port_post_sdb(port, res->status, res->error,
				   res->status & ATA_STATUS_ERR ? 0 : bit);
		if (res->status & ATA_STATUS_ERR) {
			ahci_port_error(port, slot, AHCI_PxIS_TFES | AHCI_PxIS_SDBS, res->status,
					res->error);
			return;
		}
		port->sact &= ~bit;
		ahci_port_raise(port, AHCI_PxIS_SDBS);
	} else {
		port->tfd = (u32)res->error << 8 | res->status;
		if (res->pio && res->bytes)
			ahci_port_post_pio_setup(port, res->status, res->bytes);
		ahci_port_post_d2h(port, res->status, res->error, res->lba, res->count);
		if (res->status & ATA_STATUS_ERR) { /* the D2H FIS arrived, with ERR (6.1.5) */
			ahci_port_error(port, slot, AHCI_PxIS_TFES | AHCI_PxIS_DHRS, res->status,
					res->error);
			return;
		}
		port->ci &= ~bit;
		ahci_port_raise(port,
				AHCI_PxIS_DHRS | (res->pio && res->bytes ? AHCI_PxIS_PSS : 0));
	}
	ahci_port_run(port);
}

static void ahci_tf_from_fis(const u8 *fis, struct ata_tf *tf)
{
	tf->command = fis[2];
	tf->features = (u16)(fis[3] | fis[11] << 8);
	tf->lba = (u64)fis[4] | (u64)fis[5] << 8 | (u64)fis[6] << 16 | (u64)fis[8] << 24 |
		  (u64)fis[9] << 32 | (u64)fis[10] << 40;
	tf->device = fis[7];
	tf->count = (u16)(fis[12] | fis[13] << 8);
	tf->control = fis[15];
}

/* A Register H2D FIS with C clear: device control (software reset, 10.4.2). */
static void ahci_port_control(struct ahci_port *port, unsigned slot, u8 control)
{
	port->ci &= ~(1u << slot);
	if (control & AHCI_CTL_SRST) {
		port->srst = true;
		return;
	}
	if (port->srst && port->dev) {
		port->srst = false;
		ata_dev_reset(port->dev);
		ahci_port_signature(port);
		ahci_port_raise(port, AHCI_PxIS_DHRS);
	}
}

/* Fetch the command in slot and hand it to the device. false: wait for the port. */
static bool ahci_port_start(struct ahci_port *port, unsigned slot)
{
	const struct gmem *mem = &port->a->p->mem;
	struct ahci_slot *s = &port->slots[slot];
	u64 hdr = ahci_addr(port->clb, port->clbu) + (u64)slot * AHCI_CMD_HDR_SIZE;
	u8 fis[64], acmd[16];
	u32 dw[4];
	struct ata_tf tf;
	bool ncq;

	if (gmem_read(mem, hdr, dw, sizeof(dw)) < 0)
		goto err_bus;
	s->ctba = ahci_addr(dw[2] & ~(AHCI_CTBA_ALIGN - 1), dw[3]);
	s->prdtl = AHCI_CMD_PRDTL(dw[0]);
	s->walk_index = 0;
	s->walk_pos = 0;
	if (gmem_read(mem, s->ctba + AHCI_CT_CFIS, fis, sizeof(fis)) < 0 ||
	    gmem_read(mem, s->ctba + AHCI_CT_ACMD, acmd, sizeof(acmd)) < 0)
		goto err_bus;
	if (fis[0] != AHCI_FIS_REG_H2D || (dw[0] & AHCI_CMD_CFL_MASK) < 5) {
		log_guest("%s: slot %u: not a Register H2D FIS (type %#x, %u dwords)", port->name,
			  slot, fis[0], dw[0] & AHCI_CMD_CFL_MASK);
		ahci_port_error(port, slot, AHCI_PxIS_TFES, ATA_STATUS_DRDY | ATA_STATUS_ERR,
				ATA_ERROR_ABRT);
		return true;
	}
	if (!(fis[1] & AHCI_FIS_H2D_C)) {
		ahci_port_control(port, slot, fis[15]);
		return true;
	}
	ahci_tf_from_fis(fis, &tf);
	ncq = ata_tf_is_ncq(&tf);
	if (port->nonqueued || (!ncq && port->issued))
		return false;
	if (!port->dev) {
		ahci_port_error(port, slot, AHCI_PxIS_TFES, ATA_STATUS_ERR, ATA_ERROR_ABRT);
		return true;
	}
	s->busy = true;
	s->ncq = ncq;
	port->issued |= 1u << slot;
	port->cmd = (port->cmd & ~AHCI_PxCMD_CCS_MASK) | slot << AHCI_PxCMD_CCS_SHIFT;
	if (ncq) /* the device accepted it: D2H with BSY clear, CI cleared (5.6.4.1) */
		port->ci &= ~(1u << slot);
	else
		port->nonqueued = true;
	port->a->stats.commands++;
	if (ncq)
		port->a->stats.ncq_commands++;
	ata_dev_submit(port->dev, slot, &tf, acmd);
	return true;

err_bus:
	log_guest("%s: slot %u: command list or table outside RAM", port->name, slot);
	ahci_port_error(port, slot, AHCI_PxIS_HBFS, ATA_STATUS_DRDY | ATA_STATUS_ERR,
			ATA_ERROR_ABRT);
	return true;
}

static void ahci_port_run(struct ahci_port *port)
{
	while ((port->cmd & AHCI_PxCMD_ST) && !port->stopped) {
		u32 pending = port->ci & ~port->issued;
		unsigned slot;

		if (!pending)
			return;
		slot = (unsigned)__builtin_ctz(pending);
		if (!ahci_port_start(port, slot))
			return;
	}
}

static void ahci_port_write_cmd(struct ahci_port *port, u32 val)
{
	u32 keep = AHCI_PxCMD_ST | AHCI_PxCMD_SUD | AHCI_PxCMD_POD | AHCI_PxCMD_FRE;
	bool was_started = port->cmd & AHCI_PxCMD_ST;

	port->cmd = (port->cmd & ~keep) | (val & keep);
	if (val & AHCI_PxCMD_CLO) /* command list override: clear BSY and DRQ */
		port->tfd &= ~(u32)(ATA_STATUS_BSY | ATA_STATUS_DRQ);
	if (port->cmd & AHCI_PxCMD_FRE)
		port->cmd |= AHCI_PxCMD_FR;
	else
		port->cmd &= ~AHCI_PxCMD_FR;
	if (was_started && !(port->cmd & AHCI_PxCMD_ST))
		ahci_port_stop(port);
	if (port->cmd & AHCI_PxCMD_ST) {
		port->cmd |= AHCI_PxCMD_CR;
		ahci_port_run(port);
	}
}

static void ahci_port_write_sctl(struct ahci_port *port, u32 val)
{
	u32 old_det = port->sctl & AHCI_PxSCTL_DET_MASK;

	port->sctl = val & AHCI_PxSCTL_RW_MASK;
	if ((port->sctl & AHCI_PxSCTL_DET_MASK) == AHCI_PxSCTL_DET_INIT) {
		port->ssts = 0; /* COMRESET asserted: no communication */
		return;
	}
	if (old_det == AHCI_PxSCTL_DET_INIT) { /* COMRESET released: the device resets */
		ahci_port_stop(port);
		if (port->dev)
			ata_dev_reset(port->dev);
		ahci_port_signature(port);
		if (port->dev)
			ahci_port_raise(port, AHCI_PxIS_DHRS);
	}
}

static u32 ahci_port_read(struct ahci_port *port, unsigned off)
{
	switch (off) {
	case AHCI_PxCLB:
		return port->clb;
	case AHCI_PxCLBU:
		return port->clbu;
	case AHCI_PxFB:
		return port->fb;
	case AHCI_PxFBU:
		return port->fbu;
	case AHCI_PxIS:
		return port->is;
	case AHCI_PxIE:
		return port->ie;
	case AHCI_PxCMD:
		return port->cmd;
	case AHCI_PxTFD:
		return port->tfd;
	case AHCI_PxSIG:
		return port->sig;
	case AHCI_PxSSTS:
		return port->ssts;
	case AHCI_PxSCTL:
		return port->sctl;
	case AHCI_PxSERR:
		return port->serr;
	case AHCI_PxSACT:
		return port->sact;
	case AHCI_PxCI:
		return port->ci;
	case AHCI_PxSNTF:
		return port->sntf;
	default:
		return 0;
	}
}

static void ahci_port_write(struct ahci_port *port, unsigned off, u32 val)
{
	struct ahci *a = port->a;

	switch (off) {
	case AHCI_PxCLB:
		port->clb = val & ~0x3ffu;
		break;
	case AHCI_PxCLBU:
		port->clbu = val;
		break;
	case AHCI_PxFB:
		port->fb = val & ~0xffu;
		break;
	case AHCI_PxFBU:
		port->fbu = val;
		break;
	case AHCI_PxIS:
		port->is &= ~val;
		break;
	case AHCI_PxIE:
		port->ie = val & AHCI_PxIE_MASK;
		if (port->is & port->ie) {
			a->is |= 1u << port->index;
			ahci_update_irq(a, true);
		}
		break;
	case AHCI_PxCMD:
		ahci_port_write_cmd(port, val);
		break;
	case AHCI_PxSCTL:
		ahci_port_write_sctl(port, val);
		break;
	case AHCI_PxSERR:
		port->serr &= ~val;
		break;
	case AHCI_PxSACT:
		if (port->cmd & AHCI_PxCMD_ST)
			port->sact |= val;
		break;
	case AHCI_PxCI:
		if (port->cmd & AHCI_PxCMD_ST) {
			port->ci |= val;
			ahci_port_run(port);
		}
		break;
	case AHCI_PxSNTF:
		port->sntf &= ~val;
		break;
	default:
		log_guest("%s: write %#x to read-only or reserved register %#x", port->name, val,
			  off);
		break;
	}
}

void ahci_reset(struct ahci *a)
{
	a->ghc = AHCI_GHC_AE;
	a->is = 0;
	for (unsigned i = 0; i < a->nr_ports; i++)
		ahci_port_reset(&a->ports[i]);
	ahci_update_irq(a, false);
}

static u64 ahci_mmio_read(void *dev, u64 off, unsigned size)
{
	struct ahci *a = dev;

	(void)size;
	if (off >= AHCI_PORT_BASE) {
		unsigned n = (unsigned)(off - AHCI_PORT_BASE) / AHCI_PORT_SIZE;

		if (n >= a->nr_ports)
			return 0;
		return ahci_port_read(&a->ports[n],
				      (unsigned)(off - AHCI_PORT_BASE) % AHCI_PORT_SIZE);
	}
	switch (off) {
	case AHCI_CAP:
		return a->cap;
	case AHCI_GHC:
		return a->ghc;
	case AHCI_IS:
		return a->is;
	case AHCI_PI:
		return a->pi;
	case AHCI_VS:
		return AHCI_VS_1_3_1;
	default:
		return 0;
	}
}

static void ahci_mmio_write(void *dev, u64 off, unsigned size, u64 val64)
{
	struct ahci *a = dev;
	u32 val = (u32)val64;

	(void)size;
	if (off >= AHCI_PORT_BASE) {
		unsigned n = (unsigned)(off - AHCI_PORT_BASE) / AHCI_PORT_SIZE;

		if (n < a->nr_ports)
			ahci_port_write(&a->ports[n],
					(unsigned)(off - AHCI_PORT_BASE) % AHCI_PORT_SIZE, val);
		return;
	}
	switch (off) {
	case AHCI_GHC:
		if (val & AHCI_GHC_HR) {
			ahci_reset(a); /* HR reads back 0 once the reset is done */
			return;
		}
		a->ghc = AHCI_GHC_AE | (val & AHCI_GHC_IE);
		ahci_update_irq(a, true);
		break;
	case AHCI_IS:
		a->is &= ~val;
		for (unsigned i = 0; i < a->nr_ports; i++) /* still pending: stays set */
			if (a->ports[i].is & a->ports[i].ie)
				a->is |= 1u << i;
		ahci_update_irq(a, false);
		break;
	case AHCI_CAP: /* write-once on Intel HBAs; libahci writes them back after reset */
	case AHCI_PI:
		break;
	default:
		log_guest("%s: write %#x to read-only or reserved register %#llx", a->name, val,
			  (unsigned long long)off);
		break;
	}
}

static const struct io_ops ahci_io = {
	.read = ahci_mmio_read,
	.write = ahci_mmio_write,
	.min_size = 4,
	.max_size = 4,
};

static void ahci_bar_remap(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct ahci *a = container_of(d, struct ahci, pci);

	if (bar != 5)
		return;
	/* The device lock is recursive: mapping from this configuration write is allowed. */
	if (old_addr != PCI_BAR_UNMAPPED && a->abar == old_addr)
		bus_unmap(&a->p->mmio, old_addr);
	a->abar = PCI_BAR_UNMAPPED;
	if (new_addr == PCI_BAR_UNMAPPED)
		return;
	if (bus_map(&a->p->mmio, new_addr, AHCI_ABAR_SIZE, &ahci_io, a, a->name) < 0) {
		log_guest("%s: ABAR at %#llx overlaps another device, not decoded", a->name,
			  (unsigned long long)new_addr);
		return;
	}
	a->abar = new_addr;
}

static void ahci_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct ahci *a = container_of(d, struct ahci, pci);

	(void)val;
	/* MSI enable or the command register (INTx disable) changed: re-route the line. */
	if ((off < a->msi_cap + AHCI_MSI_CAP_LEN && off + size > a->msi_cap) ||
	    (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND))
		ahci_update_irq(a, false);
}

static const struct pci_dev_ops ahci_pci_ops = {
	.bar_remap = ahci_bar_remap,
	.config_write = ahci_config_write,
};

static int ahci_add_msi(struct ahci *a, struct err *err)
{
	int off = pci_add_capability(&a->pci, PCI_CAP_ID_MSI, AHCI_MSI_CAP_LEN);
	struct pci_dev *d = &a->pci;

	if (off < 0)
		return err_set(err, off, "%s: no room for the MSI capability", a->name);
	a->msi_cap = (unsigned)off;
	pci_config_set16(d, off + 2, 0x0080); /* 64-bit address, one message */
	d->wmask[off + 2] = 0x71;	      /* enable, multiple message enable */
	for (unsigned i = 0; i < 4; i++) {
		d->wmask[off + 4 + i] = i ? 0xff : 0xfc;
		d->wmask[off + 8 + i] = 0xff;
	}
	d->wmask[off + 12] = d->wmask[off + 13] = 0xff;
	return 0;
}

static int ahci_add_ports(struct ahci *a, const struct ahci_config *cfg, struct err *err)
{
	static const struct ata_host_ops ops = {
		.to_guest = ahci_to_guest,
		.from_guest = ahci_from_guest,
		.complete = ahci_complete,
	};

	for (unsigned i = 0; i < a->nr_ports; i++) {
		struct ahci_port *port = &a->ports[i];
		int ret;

		port->a = a;
		port->index = i;
		snprintf(port->name, sizeof(port->name), "%s.port%u", a->name, i);
		if (cfg->ports[i].kind == ATA_KIND_NONE)
			continue;
		ret = ata_dev_create(&cfg->ports[i], port->name, &ops, port, &port->dev, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ahci_create(struct platform *p, const struct ahci_config *cfg, struct ahci **out,
		struct err *err)
{
	struct pci_id id = { .vendor = 0x8086,
			     .device = 0x2922,
			     .class_code = 0x010601,
			     .revision = 0x02,
			     .subsystem_vendor = 0x1af4,
			     .subsystem = 0x1100 };
	const char *name = cfg->name ? cfg->name : "ahci0";
	struct ahci *a;
	int ret;

	if (!cfg->nr_ports || cfg->nr_ports > AHCI_MAX_PORTS)
		return err_set(err, -EINVAL, "%s: %u ports (1 to %u)", name, cfg->nr_ports,
			       AHCI_MAX_PORTS);
	a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	a->p = p;
	a->abar = PCI_BAR_UNMAPPED;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->nr_ports = cfg->nr_ports;
	a->cap = AHCI_CAP_S64A | AHCI_CAP_SNCQ | AHCI_CAP_ISS_GEN2 | AHCI_CAP_SAM |
		 AHCI_CAP_NCS(ATA_MAX_SLOTS) | (cfg->nr_ports - 1);
	a->pi = (1u << cfg->nr_ports) - 1;
	pci_dev_init(&a->pci, a->name, &id, &ahci_pci_ops);
	ret = pci_set_bar(&a->pci, 5, AHCI_ABAR_SIZE, PCI_BAR_MEM32, false);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot declare ABAR", name);
		goto err_free;
	}
	ret = ahci_add_msi(a, err);
	if (ret < 0)
		goto err_free;
	ret = ahci_add_ports(a, cfg, err);
	if (ret < 0)
		goto err_free_ports;
	pci_set_intx(&a->pci, 1, cfg->intx);
	ahci_reset(a);
	ret = pci_host_add(cfg->host, &a->pci, cfg->dev, cfg->fn, err);
	if (ret < 0)
		goto err_free_ports;
	*out = a;
	return 0;

err_free_ports:
	for (unsigned i = 0; i < a->nr_ports; i++)
		ata_dev_destroy(a->ports[i].dev);
err_free:
	free(a);
	return ret;
}

struct pci_dev *ahci_pci_dev(struct ahci *a)
{
	return &a->pci;
}

void ahci_destroy(struct ahci *a)
{
	if (!a)
		return;
	if (a->abar != PCI_BAR_UNMAPPED)
		bus_unmap(&a->p->mmio, a->abar);
	if (a->pci.host)
		pci_host_remove(a->pci.host, &a->pci);
	for (unsigned i = 0; i < a->nr_ports; i++)
		ata_dev_destroy(a->ports[i].dev);
	free(a);
}

static void ahci_device_reset(void *dev)
{
	ahci_reset(dev);
}

static void ahci_device_destroy(void *dev)
{
	ahci_destroy(dev);
}

/*
 * In-flight block requests are not state: a save drains them first, so each command has ended
 * (its completion written to the guest and its interrupt raised) before anything is saved, and
 * every slot is idle in the record. Commands still waiting in PxCI (a non-queued one behind
 * another) are started by the completions the drain runs.
 */
static int ahci_pre_save(void *obj, struct err *err)
{
	struct ahci *a = obj;
	int ret;

	for (unsigned i = 0; i < a->nr_ports; i++) {
		struct ahci_port *port = &a->ports[i];

		if (!port->dev)
			continue;
		ret = ata_dev_drain(port->dev, err);
		if (ret < 0)
			return ret;
		if (port->issued)
			return err_set(err, -EBUSY, "%s: commands %#x still issued after the drain",
				       port->name, port->issued);
	}
	return 0;
}

/* A record from a drained HBA has no command in flight (hostile records may claim some). */
static int ahci_port_post_load(void *obj, u32 version, struct err *err)
{
	struct ahci_port *port = obj;

	(void)version;
	if (port->issued || port->nonqueued)
		return err_set(err, -EINVAL, "%s: commands in flight (%#x) in the state",
			       port->name, port->issued);
	for (unsigned i = 0; i < ATA_MAX_SLOTS; i++)
		if (port->slots[i].busy)
			return err_set(err, -EINVAL, "%s: slot %u busy in the state", port->name,
				       i);
	return 0;
}

static const struct state_field ahci_slot_fields[] = {
	STATE_BOOL(struct ahci_slot, busy),
	STATE_BOOL(struct ahci_slot, ncq),
	STATE_U64(struct ahci_slot, ctba),
	STATE_U32(struct ahci_slot, prdtl, STATE_MAX(0xffff)),
	STATE_U32(struct ahci_slot, walk_index),
	STATE_U64(struct ahci_slot, walk_pos),
	STATE_END,
};

static const struct state_desc ahci_slot_state = {
	.name = "ahci-slot",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ahci_slot),
	.fields = ahci_slot_fields,
};

static const struct state_field ahci_port_fields[] = {
	STATE_HOST(struct ahci_port, a, "back pointer to the HBA"),
	STATE_U32(struct ahci_port, index, STATE_CHECKED),
	STATE_HOST(struct ahci_port, name, "the HBA's name for the port"),
	STATE_POINTEE(struct ahci_port, dev, ata_dev_state),
	STATE_U32(struct ahci_port, clb),
	STATE_U32(struct ahci_port, clbu),
	STATE_U32(struct ahci_port, fb),
	STATE_U32(struct ahci_port, fbu),
	STATE_U32(struct ahci_port, is),
	STATE_U32(struct ahci_port, ie),
	STATE_U32(struct ahci_port, cmd),
	STATE_U32(struct ahci_port, tfd),
	STATE_U32(struct ahci_port, sig),
	STATE_U32(struct ahci_port, ssts),
	STATE_U32(struct ahci_port, sctl),
	STATE_U32(struct ahci_port, serr),
	STATE_U32(struct ahci_port, sact),
	STATE_U32(struct ahci_port, ci),
	STATE_U32(struct ahci_port, sntf),
	STATE_U32(struct ahci_port, issued),
	STATE_BOOL(struct ahci_port, nonqueued),
	STATE_BOOL(struct ahci_port, stopped),
	STATE_BOOL(struct ahci_port, srst),
	STATE_STRUCT_ARRAY(struct ahci_port, slots, ahci_slot_state),
	STATE_END,
};

static const struct state_desc ahci_port_state = {
	.name = "ahci-port",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ahci_port),
	.fields = ahci_port_fields,
	.post_load = ahci_port_post_load,
};

static const struct state_field ahci_fields[] = {
	STATE_STRUCT(struct ahci, pci, pci_dev_state),
	STATE_HOST(struct ahci, p, "the platform"),
	STATE_HOST(struct ahci, name, "the board's name"),
	STATE_U32(struct ahci, nr_ports, STATE_CHECKED),
	STATE_U32(struct ahci, cap, STATE_CHECKED),
	STATE_U32(struct ahci, ghc),
	STATE_U32(struct ahci, is),
	STATE_U32(struct ahci, pi, STATE_CHECKED),
	STATE_U32(struct ahci, msi_cap, STATE_CHECKED),
	STATE_HOST(struct ahci, abar,
		   "where ABAR is mapped: re-derived from BAR5 by the PCI function's post_load"),
	STATE_STRUCT_ARRAY(struct ahci, ports, ahci_port_state),
	STATE_HOST(struct ahci, stats, "statistics for vm.counters, not guest-visible"),
	STATE_END,
};

static const struct state_desc ahci_state = {
	.name = "ahci",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ahci),
	.fields = ahci_fields,
	.pre_save = ahci_pre_save,
};

static void ahci_device_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct ahci *a = dev;

	fn(opaque, "commands", a->stats.commands);
	fn(opaque, "ncq_commands", a->stats.ncq_commands);
	fn(opaque, "bytes", a->stats.bytes);
	fn(opaque, "errors", a->stats.errors);
}

const struct device_ops ahci_device_ops = {
	.counters = ahci_device_counters,
	.type = "ahci",
	.reset = ahci_device_reset,
	.state = &ahci_state,
	.destroy = ahci_device_destroy,
};
