// SPDX-License-Identifier: MIT
/*
 * Intel 82540EM (e1000.h), after the 8254x Software Developer's Manual (317453-006):
 * - 13.4 registers: CTRL (RST self-clears), STATUS (LU, FD, 1000 Mb/s), EECD (5.5 Microwire:
 *   REQ/GNT, then opcode 110b, 6 address bits, 16 data bits shifted out MSB first on the
 *   rising edges of SK), EERD, MDIC (PHY address 1), ICR (read clears) / ICS / IMS / IMC,
 *   ITR (the minimum gap between interrupts, in 256 ns units), RCTL, RDBA/RDLEN/RDH/RDT,
 *   RXCSUM, TCTL, TDBA/TDLEN/TDH/TDT, RAL/RAH (16), MTA (128), VFTA (128), the statistics
 *   registers (clear on read; the 64-bit octet counters clear when their high half is read).
 * - The EEPROM: words 0-2 the MAC, 0x0b/0x0c the subsystem, 0x0d/0x0e the device and vendor,
 *   0x3f making words 0x00-0x3f sum to 0xBABA (5.6).
 * - 8.2 PHY (M88E1011, IDs 0x0141/0x0c20): copper 1000BASE-T full duplex; restarting
 *   autonegotiation completes at once when the host link is up.
 * - 3.2 receive: legacy descriptors {le64 addr; le16 length; le16 csum; u8 status; u8 errors;
 *   le16 special}; frames longer than a buffer (RCTL.BSIZE/BSEX) span descriptors; RXDMT0
 *   at the RCTL.RDMTS threshold; the FCS is appended unless RCTL.SECRC; frames under 60 bytes
 *   are padded; VLAN tags stripped into special with CTRL.VME; IPv4 and TCP/UDP checksums
 *   checked and reported (IPCS/TCPCS, IPE/TCPE) when RXCSUM enables them.
 * - Receive with no free descriptor keeps the frame in the back end until RDT moves (the
 *   FIFO of real hardware, without its limit: the back end's queue is bounded).
 * - A back end with a vnet header (a TAP) hands over the host's TCP segmentation offload
 *   frames whole (one read for up to 64 KiB): the device cuts them into the MSS-sized frames
 *   the wire would have carried, with complete checksums, before the steps above, so the guest
 *   sees what an 82540EM on a wire sees. A frame half in the ring when the ring filled goes on
 *   from its next segment when the back end delivers it again.
 *
 * Not done: flow control frames, wake-on-LAN, the flash, RDTR/RADV/TIDV/TADV delays (ITR is
 * the moderation Linux uses), MSI (the 82540 has none), TBI/fiber modes, EEPROM writes.
 */
#include "devices/e1000_internal.h"

#include "net/net_offload.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const u16 e1000_phy_init[E1000_PHY_REGS] = {
	[E1000_PHY_CTRL] = 0x1140, /* autonegotiation on, 1000 Mb/s, full duplex */
	[E1000_PHY_STATUS] = 0x7949,	  [E1000_PHY_ID1] = 0x0141,
	[E1000_PHY_ID2] = 0x0c20,	  [E1000_PHY_AUTONEG_ADV] = 0x0de1,
	[E1000_PHY_AUTONEG_EXP] = 0x0001, [E1000_PHY_1000T_CTRL] = 0x0e00,
	[E1000_PHY_EXT_STATUS] = 0x3000,  [E1000_PHY_SPEC_CTRL] = 0x0068,
	[E1000_PHY_SPEC_STATUS] = 0x8000, [E1000_PHY_EXT_SPEC_CTRL] = 0x0d60,
};

/* Registers a driver cannot change through MDIC. */
static bool e1000_phy_readonly(unsigned reg)
{
	return reg == E1000_PHY_STATUS || reg == E1000_PHY_ID1 || reg == E1000_PHY_ID2 ||
	       reg == E1000_PHY_LP_ABILITY || reg == E1000_PHY_AUTONEG_EXP ||
	       reg == E1000_PHY_1000T_STATUS || reg == E1000_PHY_EXT_STATUS ||
	       reg == E1000_PHY_SPEC_STATUS;
}

/* ---- interrupts ---- */

static void e1000_update_irq(struct e1000 *d)
{
	u64 gap = (u64)(d->itr & 0xffff) * 256, now;

	if (!(d->icr & d->ims)) {
		if (d->irq_level) {
			d->irq_level = false;
			pci_set_irq(&d->pci, 0);
		}
		return;
	}
	if (d->irq_level)
		return;
	now = vclock_now_ns(&d->p->clock);
	if (gap && d->last_irq_ns && now < d->last_irq_ns + gap) {
		if (!timer_armed(&d->itr_timer)) /* throttled: assert when the gap is over */
			timer_arm(&d->itr_timer, d->last_irq_ns + gap);
		return;
	}
	timer_cancel(&d->itr_timer);
	d->irq_level = true;
	d->last_irq_ns = now ? now : 1;
	d->hstats.interrupts++;
	pci_set_irq(&d->pci, 1);
}

static void e1000_itr_expired(void *opaque)
{
	e1000_update_irq(opaque);
}

void e1000_raise(struct e1000 *d, u32 bits)
{
	d->icr |= bits & E1000_ICR_VALID;
	e1000_update_irq(d);
}

void e1000_stat_add(struct e1000 *d, unsigned off, u64 v)
{
	unsigned i = off / 4;

	if (off == E1000_ST_GORCL || off == E1000_ST_GOTCL || off == E1000_ST_TORL ||
	    off == E1000_ST_TOTL) {
		u64 c = ((u64)d->stats[i + 1] << 32 | d->stats[i]) + v;

		d->stats[i] = (u32)c;
		d->stats[i + 1] = (u32)(c >> 32);
		return;
	}
	d->stats[i] = d->stats[i] + v > 0xffffffffu ? 0xffffffffu : (u32)(d->stats[i] + v);
}

/* ---- link, PHY, EEPROM ---- */

static void e1000_phy_link(struct e1000 *d)
{
	u16 *phy = d->phy;

	if (d->link_up) {
		phy[E1000_PHY_STATUS] |= E1000_PHY_STATUS_LINK | E1000_PHY_STATUS_AN_DONE;
		phy[E1000_PHY_LP_ABILITY] = 0x45e0 | E1000_PHY_LPA_ACK;
		phy[E1000_PHY_1000T_STATUS] = 0x3c00;
		phy[E1000_PHY_SPEC_STATUS] = 0xac00; /* 1000, full duplex, resolved, link */
	} else {
		phy[E1000_PHY_STATUS] &= (u16) ~(E1000_PHY_STATUS_LINK | E1000_PHY_STATUS_AN_DONE);
		phy[E1000_PHY_LP_ABILITY] = 0;
		phy[E1000_PHY_1000T_STATUS] = 0;
		phy[E1000_PHY_SPEC_STATUS] = 0x8000;
	}
}

static void e1000_phy_reset(struct e1000 *d)
{
	memcpy(d->phy, e1000_phy_init, sizeof(d->phy));
	e1000_phy_link(d);
}

static void e1000_phy_write(struct e1000 *d, unsigned reg, u16 val)
{
	if (reg == E1000_PHY_CTRL && (val & E1000_PHY_CTRL_RESET)) {
		e1000_phy_reset(d);
		return;
	}
	if (e1000_phy_readonly(reg))
		return;
	d->phy[reg] = val;
	if (reg == E1000_PHY_CTRL && (val & E1000_PHY_CTRL_RESTART_AN)) {
		d->phy[reg] &= (u16)~E1000_PHY_CTRL_RESTART_AN;
		e1000_phy_link(d); /* autonegotiation is over at once */
		if (d->link_up)
			e1000_raise(d, E1000_ICR_LSC);
	}
}

static void e1000_mdic_write(struct e1000 *d, u32 val)
{
	unsigned reg = val >> E1000_MDIC_REG_SHIFT & 31, phy = val >> E1000_MDIC_PHY_SHIFT & 31;

	val &= ~(E1000_MDIC_READY | E1000_MDIC_ERROR);
	if (phy != E1000_PHY_ADDR) {
		val |= E1000_MDIC_ERROR;
	} else if (val & E1000_MDIC_OP_READ) {
		val = (val & ~E1000_MDIC_DATA_MASK) | d->phy[reg];
	} else if (val & E1000_MDIC_OP_WRITE) {
		e1000_phy_write(d, reg, (u16)val);
	}
	d->mdic = val | E1000_MDIC_READY;
	if (val & E1000_MDIC_INT_EN)
		e1000_raise(d, E1000_ICR_MDAC);
}

static u32 e1000_status(const struct e1000 *d)
{
	return E1000_STATUS_FD | E1000_STATUS_SPEED_1000 | E1000_STATUS_ASDV_1000 |
	       (d->link_up ? E1000_STATUS_LU : 0);
}

/* 5.5: the driver drives SK, CS and DI; data comes out on DO after each rising SK. */
static void e1000_eecd_write(struct e1000 *d, u32 val)
{
	u32 old = d->eecd;

	d->eecd = (val & (E1000_EECD_SK | E1000_EECD_CS | E1000_EECD_DI | E1000_EECD_FWE |
			  E1000_EECD_REQ)) |
		  E1000_EECD_PRES | ((val & E1000_EECD_REQ) ? E1000_EECD_GNT : 0) |
		  (old & E1000_EECD_DO);
	if (!(d->eecd & E1000_EECD_CS)) { /* deselected: the next command starts afresh */
		d->ee_in = 0;
		d->ee_bits_in = d->ee_bits_out = 0;
		d->ee_reading = false;
		d->eecd &= ~E1000_EECD_DO;
		return;
	}
	if ((old & E1000_EECD_SK) || !(d->eecd & E1000_EECD_SK))
		return; /* act on rising edges only */
	if (d->ee_bits_in < E1000_EEPROM_OPCODE_BITS + E1000_EEPROM_ADDR_BITS) {
		d->ee_in = d->ee_in << 1 | !!(d->eecd & E1000_EECD_DI);
		if (++d->ee_bits_in == E1000_EEPROM_OPCODE_BITS + E1000_EEPROM_ADDR_BITS) {
			d->ee_reading =
				d->ee_in >> E1000_EEPROM_ADDR_BITS == E1000_EEPROM_READ_OPCODE;
			d->ee_word = d->eeprom[d->ee_in & (E1000_EEPROM_WORDS - 1)];
			d->ee_bits_out = 0;
		}
		return;
	}
	if (!d->ee_reading)
		return;
	if (d->ee_bits_out == 16) { /* a sequential read goes on with the next word */
		d->ee_in = (d->ee_in & ~(u32)(E1000_EEPROM_WORDS - 1)) |
			   ((d->ee_in + 1) & (E1000_EEPROM_WORDS - 1));
		d->ee_word = d->eeprom[d->ee_in & (E1000_EEPROM_WORDS - 1)];
		d->ee_bits_out = 0;
	}
	if (d->ee_word >> (15 - d->ee_bits_out++) & 1)
		d->eecd |= E1000_EECD_DO;
	else
		d->eecd &= ~E1000_EECD_DO;
}

static void e1000_eeprom_init(struct e1000 *d, const u8 mac[6])
{
	u16 sum = 0;

	memset(d->eeprom, 0, sizeof(d->eeprom));
	for (int i = 0; i < 3; i++)
		d->eeprom[i] = (u16)(mac[2 * i] | mac[2 * i + 1] << 8);
	d->eeprom[0x0b] = E1000_SUBSYS;
	d->eeprom[0x0c] = E1000_VENDOR;
	d->eeprom[0x0d] = E1000_DEVICE;
	d->eeprom[0x0e] = E1000_VENDOR;
	for (int i = 0; i < E1000_EEPROM_WORDS - 1; i++)
		sum = (u16)(sum + d->eeprom[i]);
	d->eeprom[E1000_EEPROM_WORDS - 1] = (u16)(E1000_EEPROM_SUM - sum);
}

/* Registers as after power-on or CTRL.RST: RA[0] loaded from the EEPROM. */
static void e1000_reset_regs(struct e1000 *d)
{
	struct e1000_stats hs = d->hstats;
	size_t from = offsetof(struct e1000, ctrl), to = offsetof(struct e1000, eeprom);

	memset((u8 *)d + from, 0, to - from);
	d->hstats = hs;
	d->eecd = E1000_EECD_PRES | 0x10; /* flash writes disabled */
	d->vet = 0x8100;
	d->ledctl = 0x07068302;
	d->pba = 0x00000030;
	d->rxcsum = E1000_RXCSUM_IPOFL | E1000_RXCSUM_TUOFL;
	d->ra[0] = (u32)d->eeprom[0] | (u32)d->eeprom[1] << 16;
	d->ra[1] = d->eeprom[2] | E1000_RAH_AV;
	d->ee_in = 0;
	d->ee_bits_in = d->ee_bits_out = 0;
	d->ee_reading = false;
	d->ee_word = 0;
	d->irq_level = false;
	d->last_irq_ns = 0;
	timer_cancel(&d->itr_timer);
	timer_cancel(&d->tx_timer);
	memset(&d->ctx, 0, sizeof(d->ctx));
	d->tx_discard = false;
	d->tx_blocked = false;
	d->tx_sent = 0;
	d->rx_gso_done = 0;
	d->rx_gso_key = 0;
	e1000_phy_reset(d);
	pci_set_irq(&d->pci, 0);
}

/* ---- receive ---- */

static bool e1000_rx_unicast_ok(const struct e1000 *d, const u8 *dst)
{
	for (unsigned i = 0; i < 16; i++) {
		u32 lo = d->ra[2 * i], hi = d->ra[2 * i + 1];
		u8 a[6] = { (u8)lo,	    (u8)(lo >> 8), (u8)(lo >> 16),
			    (u8)(lo >> 24), (u8)hi,	   (u8)(hi >> 8) };

		if ((hi & E1000_RAH_AV) && !memcmp(a, dst, 6))
			return true;
	}
	return false;
}

/* 13.5.1 MTA: 12 bits of the destination chosen by RCTL.MO index the 4096-bit table. */
static bool e1000_rx_multicast_ok(const struct e1000 *d, const u8 *dst)
{
	static const unsigned shift[4] = { 4, 3, 2, 0 };
	unsigned mo = (d->rctl & E1000_RCTL_MO) >> E1000_MO_SHIFT;
	unsigned h = ((unsigned)dst[4] >> shift[mo] | (unsigned)dst[5] << (8 - shift[mo])) & 0xfff;

	return d->mta[h >> 5] >> (h & 31) & 1;
}

static bool e1000_rx_accept(const struct e1000 *d, const u8 *f, size_t len)
{
	static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	u16 type = (u16)(f[12] << 8 | f[13]);

	if ((d->rctl & E1000_RCTL_VFE) && type == d->vet && len >= 18) {
		unsigned vid = (unsigned)(f[14] << 8 | f[15]) & 0xfff;

		if (!(d->vfta[vid >> 5] >> (vid & 31) & 1))
			return false;
	}
	if (!memcmp(f, bcast, 6))
		return (d->rctl & (E1000_RCTL_BAM | E1000_RCTL_MPE)) != 0;
	if (f[0] & 1)
		return (d->rctl & E1000_RCTL_MPE) || e1000_rx_multicast_ok(d, f);
	return (d->rctl & E1000_RCTL_UPE) || e1000_rx_unicast_ok(d, f);
}

static unsigned e1000_rx_bufsize(const struct e1000 *d)
{
	static const unsigned normal[4] = { 2048, 1024, 512, 256 };
	static const unsigned ext[4] = { 2048, 16384, 8192, 4096 };
	unsigned b = (d->rctl & E1000_RCTL_BSIZE) >> E1000_BSIZE_SHIFT;

	return d->rctl & E1000_RCTL_BSEX ? ext[b] : normal[b];
}

/* 3.2.3: the status and error bits of the checksums the receiver checked. */
static void e1000_rx_csum(const struct e1000 *d, const u8 *f, size_t len, bool trusted, u8 *status,
			  u8 *errors)
{
	struct net_layers l;

	if (!(d->rxcsum & (E1000_RXCSUM_IPOFL | E1000_RXCSUM_TUOFL)) || net_parse(f, len, &l)) {
		*status |= E1000_RXD_STAT_IXSM;
		return;
	}
	if ((d->rxcsum & E1000_RXCSUM_IPOFL) && !l.ipv6) {
		*status |= E1000_RXD_STAT_IPCS;
		if (!trusted && !net_ip_csum_ok(f, &l))
			*errors |= E1000_RXD_ERR_IPE;
	}
	if ((d->rxcsum & E1000_RXCSUM_TUOFL) && !l.fragment &&
	    (l.proto == NET_IPPROTO_TCP || l.proto == NET_IPPROTO_UDP)) {
		*status |= E1000_RXD_STAT_TCPCS;
		if (!trusted && !net_l4_csum_ok(f, &l))
			*errors |= E1000_RXD_ERR_TCPE;
	}
}

static void e1000_rx_stats(struct e1000 *d, const u8 *f, size_t len)
{
	static const unsigned bins[] = { 64, 127, 255, 511, 1023 };
	unsigned off = E1000_ST_PRC1522;

	for (unsigned i = 0; i < ARRAY_SIZE(bins); i++) {
		if (len <= bins[i]) {
			off = E1000_ST_PRC64 + 4 * i;
			break;
		}
	}
	e1000_stat_add(d, off, 1);
	e1000_stat_add(d, E1000_ST_GPRC, 1);
	e1000_stat_add(d, E1000_ST_TPR, 1);
	e1000_stat_add(d, E1000_ST_GORCL, len);
	e1000_stat_add(d, E1000_ST_TORL, len);
	if (f[0] & 1)
		e1000_stat_add(
			d, memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) ? E1000_ST_MPRC : E1000_ST_BPRC,
			1);
}

/* Write len bytes at rx_buf over need descriptors from RDH, and write them back. */
static void e1000_rx_write(struct e1000 *d, size_t len, unsigned n, unsigned need, u8 status,
			   u8 errors, u16 special, u16 csum)
{
	u64 base = (u64)d->rdbah << 32 | d->rdbal;
	unsigned bs = e1000_rx_bufsize(d);

	for (unsigned i = 0; i < need; i++) {
		u64 desc = base + 16ull * d->rdh, addr;
		size_t off = (size_t)i * bs, chunk = MIN((size_t)bs, len - off);
		u8 wb[8];
		bool last = i + 1 == need;

		if (gmem_read(&d->p->mem, desc, &addr, 8) ||
		    gmem_write(&d->p->mem, addr, d->rx_buf + off, chunk)) {
			log_guest("%s: receive descriptor %u or its buffer outside RAM", d->name,
				  d->rdh);
			chunk = 0;
			errors |= 0x80; /* RXE */
		}
		wb[0] = (u8)chunk;
		wb[1] = (u8)(chunk >> 8);
		wb[2] = (u8)csum;
		wb[3] = (u8)(csum >> 8);
		wb[4] = (u8)(E1000_RXD_STAT_DD | (last ? E1000_RXD_STAT_EOP | status : 0));
		wb[5] = last ? errors : 0;
		wb[6] = (u8)special;
		wb[7] = (u8)(special >> 8);
		(void)!gmem_write(&d->p->mem, desc + 8, wb, sizeof(wb)); /* checked above */
		d->rdh = (d->rdh + 1) % n;
	}
}

/*
 * The frame of len bytes at rx_buf: filter, tag, pad, checksums, FCS, into the ring. hdr: its
 * checksum metadata, or NULL. 0, -EAGAIN (no room: the back end keeps it), or dropped.
 */
static int e1000_rx_frame(struct e1000 *d, const struct net_hdr *hdr, size_t len)
{
	unsigned n = d->rdlen / 16, bs = e1000_rx_bufsize(d), need, avail;
	u8 status = 0, errors = 0;
	u16 special = 0, csum;
	size_t total, pcss;
	u8 *f = d->rx_buf;
	bool trusted = hdr && (hdr->flags & (NET_HDR_F_DATA_VALID | NET_HDR_F_NEEDS_CSUM));

	if (hdr && (hdr->flags & NET_HDR_F_NEEDS_CSUM) &&
	    net_csum_fill(f, len, hdr->csum_start, hdr->csum_offset, 0) < 0) {
		d->hstats.rx_dropped++;
		return -EPROTO;
	}
	if (!e1000_rx_accept(d, f, len)) {
		d->hstats.rx_filtered++;
		return -EPERM;
	}
	if (len > (d->rctl & E1000_RCTL_LPE ? E1000_RX_MAX : E1000_RX_MAX_NOLPE)) {
		e1000_stat_add(d, E1000_ST_ROC, 1);
		d->hstats.rx_filtered++;
		return -EMSGSIZE;
	}
	if (n == 0 || d->rdh >= n || d->rdt >= n) {
		d->hstats.rx_dropped++;
		return -ENOBUFS;
	}
	if ((d->ctrl & E1000_CTRL_VME) && len >= 18 && (u16)(f[12] << 8 | f[13]) == d->vet) {
		special = (u16)(f[14] << 8 | f[15]);
		memmove(f + 12, f + 16, len - 16);
		len -= 4;
		status |= E1000_RXD_STAT_VP;
	}
	if (len < 60) { /* the shortest frame on the wire, less its FCS */
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	e1000_rx_csum(d, f, len, trusted, &status, &errors);
	pcss = MIN(len, (size_t)(d->rxcsum & E1000_RXCSUM_PCSS));
	csum = (u16)~net_csum_fold(net_csum_add(0, f + pcss, len - pcss)); /* the raw sum */
	total = len;
	if (!(d->rctl & E1000_RCTL_SECRC)) {
		u32 fcs = net_crc32(f, len);

		memcpy(f + len, &fcs, 4);
		total += 4;
	}
	need = (unsigned)((total + bs - 1) / bs);
	avail = (d->rdt + n - d->rdh) % n;
	if (need > n - 1) {
		log_guest("%s: a %zu-byte frame needs %u receive descriptors of a ring of %u; "
			  "dropped",
			  d->name, total, need, n);
		e1000_stat_add(d, E1000_ST_MPC, 1);
		d->hstats.rx_dropped++;
		return -EMSGSIZE;
	}
	if (need > avail) {
		e1000_stat_add(d, E1000_ST_RNBC, 1);
		return -EAGAIN; /* RDT moves, then net_backend_rx_ready */
	}
	e1000_rx_write(d, total, n, need, status, errors, special, csum);
	e1000_rx_stats(d, f, total);
	d->hstats.rx_frames++;
	d->hstats.rx_bytes += len;
	avail = (d->rdt + n - d->rdh) % n;
	e1000_raise(d, E1000_ICR_RXT0 |
			       (avail <= n >> (((d->rctl & E1000_RCTL_RDMTS) >> E1000_RDMTS_SHIFT) +
					       1) ?
					E1000_ICR_RXDMT0 :
					0));
	return 0;
}

struct e1000_rx_emit {
	struct e1000 *d;
	unsigned index;
};

/* One segment of a segmentation offload frame (net_emit_fn): complete, checksums included. */
static int e1000_rx_segment(void *opaque, const u8 *frame, size_t len)
{
	static const struct net_hdr valid = { .flags = NET_HDR_F_DATA_VALID };
	struct e1000_rx_emit *em = opaque;
	struct e1000 *d = em->d;
	int ret;

	(void)frame; /* built in rx_buf (len <= E1000_RX_MAX: e1000_rx_gso bounds the MSS) */
	if (em->index++ < d->rx_gso_done)
		return 0; /* in the ring already */
	ret = e1000_rx_frame(d, &valid, len);
	if (ret == 0)
		d->rx_gso_done++;
	return ret;
}

/* A TCP segmentation offload frame (hdr->gso_type): cut and received segment by segment. */
static int e1000_rx_gso(struct e1000 *d, const struct net_hdr *hdr, const struct iovec *iov,
			unsigned iovcnt, size_t len)
{
	struct e1000_rx_emit em = { .d = d };
	const u8 *f = iov[0].iov_base;
	u8 gso = hdr->gso_type & (u8)~NET_HDR_GSO_ECN;
	struct net_layers l;
	u64 key;
	int ret;

	if (iovcnt != 1) {
		for (size_t i = 0, off = 0; i < iovcnt; off += iov[i++].iov_len)
			memcpy(d->rx_gso + off, iov[i].iov_base, iov[i].iov_len);
		f = d->rx_gso;
	}
	if (!(d->rx_caps & (gso == NET_HDR_GSO_TCPV4 ? NET_CAP_TSO4 : NET_CAP_TSO6)) ||
	    (gso != NET_HDR_GSO_TCPV4 && gso != NET_HDR_GSO_TCPV6) || net_parse(f, len, &l) ||
	    l.proto != NET_IPPROTO_TCP || l.ipv6 != (gso == NET_HDR_GSO_TCPV6) ||
	    l.hdr_len + hdr->gso_size > E1000_RX_MAX) {
		log_guest("%s: a segmentation offload frame of %zu bytes the device cannot cut; "
			  "dropped",
			  d->name, len);
		d->hstats.rx_dropped++;
		return -EPROTO;
	}
	key = (u64)len << 32 | ((u32)f[l.l4_off + 4] << 24 | f[l.l4_off + 5] << 16 |
				f[l.l4_off + 6] << 8 | f[l.l4_off + 7]);
	if (key != d->rx_gso_key) { /* not the frame a retry would bring: from its start */
		d->rx_gso_key = key;
		d->rx_gso_done = 0;
	}
	/* Each segment is built whole in rx_buf, where e1000_rx_frame then works on it. */
	ret = net_tso_segment(f, len, &l, hdr->gso_size, d->rx_buf, e1000_rx_segment, &em);
	if (ret == -EAGAIN)
		return ret; /* the back end keeps it; the segments in the ring stay counted */
	d->rx_gso_done = 0;
	d->rx_gso_key = 0;
	return ret < 0 ? ret : 0;
}

/* A frame from the back end (net_peer.receive). Device lock held. */
static int e1000_receive(void *opaque, unsigned q, const struct net_hdr *hdr,
			 const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct e1000 *d = opaque;

	(void)q;
	if (!(d->rctl & E1000_RCTL_EN) || !d->link_up || len < NET_ETH_HLEN ||
	    len > NET_MAX_FRAME || iovcnt == 0) {
		d->hstats.rx_dropped++;
		return -ENETDOWN;
	}
	if (hdr && (hdr->gso_type & (u8)~NET_HDR_GSO_ECN) != NET_HDR_GSO_NONE)
		return e1000_rx_gso(d, hdr, iov, iovcnt, len);
	if (len > E1000_RX_MAX) {
		d->hstats.rx_dropped++;
		return -EMSGSIZE;
	}
	for (size_t i = 0, off = 0; i < iovcnt; off += iov[i++].iov_len)
		memcpy(d->rx_buf + off, iov[i].iov_base, iov[i].iov_len);
	return e1000_rx_frame(d, hdr, len);
}

/* ---- registers ---- */

/* Registers that only hold what the driver wrote (and reset to zero unless set above). */
static const struct {
	u16 off;
	u16 field; /* offsetof(struct e1000, ...) */
	u32 mask;  /* writable bits */
} e1000_plain[] = {

#define E1000_PLAIN(reg, f, m)                            \
	{                                                 \
		E1000_##reg, offsetof(struct e1000, f), m \
	}
	E1000_PLAIN(CTRL_EXT, ctrl_ext, 0xffffffffu),
	E1000_PLAIN(FCAL, fcal, 0xffffffffu),
	E1000_PLAIN(FCAH, fcah, 0xffffu),
	E1000_PLAIN(FCT, fct, 0xffffu),
	E1000_PLAIN(VET, vet, 0xffffu),
	E1000_PLAIN(ITR, itr, 0xffffu),
	E1000_PLAIN(FCTTV, fcttv, 0xffffu),
	E1000_PLAIN(TXCW, txcw, 0xffffffffu),
	E1000_PLAIN(RXCW, rxcw, 0xffffffffu),
	E1000_PLAIN(TIPG, tipg, 0x3fffffffu),
	E1000_PLAIN(AIFS, aifs, 0xffffu),
	E1000_PLAIN(LEDCTL, ledctl, 0xffffffffu),
	E1000_PLAIN(PBA, pba, 0xffffu),
	E1000_PLAIN(FCRTL, fcrtl, 0x8000fff8u),
	E1000_PLAIN(FCRTH, fcrth, 0xfff8u),
	E1000_PLAIN(RDBAL, rdbal, 0xfffffff0u),
	E1000_PLAIN(RDBAH, rdbah, 0xffffffffu),
	E1000_PLAIN(RDLEN, rdlen, 0x000fff80u),
	E1000_PLAIN(RDTR, rdtr, 0x8000ffffu),
	E1000_PLAIN(RXDCTL, rxdctl, 0x01ffffffu),
	E1000_PLAIN(RADV, radv, 0xffffu),
	E1000_PLAIN(RSRPD, rsrpd, 0xfffu),
	E1000_PLAIN(TXDMAC, txdmac, 1u),
	E1000_PLAIN(TDBAL, tdbal, 0xfffffff0u),
	E1000_PLAIN(TDBAH, tdbah, 0xffffffffu),
	E1000_PLAIN(TDLEN, tdlen, 0x000fff80u),
	E1000_PLAIN(TIDV, tidv, 0xffffu),
	E1000_PLAIN(TXDCTL, txdctl, 0xffffffffu),
	E1000_PLAIN(TADV, tadv, 0xffffu),
	E1000_PLAIN(TSPMT, tspmt, 0xffffffffu),
	E1000_PLAIN(RXCSUM, rxcsum, 0x3ffu),
	E1000_PLAIN(WUC, wuc, 0xfu),
	E1000_PLAIN(WUFC, wufc, 0xffffffffu),
	E1000_PLAIN(WUS, wus, 0xffffffffu),
	E1000_PLAIN(MANC, manc, 0xffffffffu),
#undef E1000_PLAIN
};

static u32 *e1000_plain_reg(struct e1000 *d, u64 off, u32 *mask)
{
	for (size_t i = 0; i < ARRAY_SIZE(e1000_plain); i++) {
		if (e1000_plain[i].off == off) {
			*mask = e1000_plain[i].mask;
			return (u32 *)((u8 *)d + e1000_plain[i].field);
		}
	}
	return NULL;
}

/* The arrays: MTA, RA, VFTA. */
static u32 *e1000_array_reg(struct e1000 *d, u64 off)
{
	if (off >= E1000_MTA && off < E1000_MTA + sizeof(d->mta))
		return &d->mta[(off - E1000_MTA) / 4];
	if (off >= E1000_RA && off < E1000_RA + sizeof(d->ra))
		return &d->ra[(off - E1000_RA) / 4];
	if (off >= E1000_VFTA && off < E1000_VFTA + sizeof(d->vfta))
		return &d->vfta[(off - E1000_VFTA) / 4];
	return NULL;
}

static u32 e1000_stat_read(struct e1000 *d, u64 off)
{
	unsigned o = (unsigned)(off - E1000_STATS), i = o / 4;
	u32 v = d->stats[i];

	if (o == E1000_ST_GORCH || o == E1000_ST_GOTCH || o == E1000_ST_TORH ||
	    o == E1000_ST_TOTH) {
		d->stats[i - 1] = 0; /* the pair clears when its high half is read */
		d->stats[i] = 0;
	} else if (o != E1000_ST_GORCL && o != E1000_ST_GOTCL && o != E1000_ST_TORL &&
		   o != E1000_ST_TOTL) {
		d->stats[i] = 0;
	}
	return v;
}

static u32 e1000_reg_read(struct e1000 *d, u64 off)
{
	u32 *r, mask, v;

	off &= ~3ull;
	switch (off) {
	case E1000_CTRL:
		return d->ctrl;
	case E1000_STATUS:
		return e1000_status(d);
	case E1000_EECD:
		return d->eecd;
	case E1000_EERD:
		return d->eerd;
	case E1000_MDIC:
		return d->mdic;
	case E1000_ICR:
		v = d->icr;
		d->icr = 0;
		e1000_update_irq(d);
		return v;
	case E1000_IMS:
		return d->ims;
	case E1000_RCTL:
		return d->rctl;
	case E1000_TCTL:
		return d->tctl;
	case E1000_RDH:
		return d->rdh;
	case E1000_RDT:
		return d->rdt;
	case E1000_TDH:
		return d->tdh;
	case E1000_TDT:
		return d->tdt;
	}
	if (off >= E1000_STATS && off < E1000_STATS_END)
		return e1000_stat_read(d, off);
	r = e1000_plain_reg(d, off, &mask);
	if (!r)
		r = e1000_array_reg(d, off);
	return r ? *r : 0;
}

static void e1000_ctrl_write(struct e1000 *d, u32 val)
{
	if (val & E1000_CTRL_RST) { /* a software reset: everything but PCI configuration */
		e1000_reset_regs(d);
		return;
	}
	if (val & E1000_CTRL_PHY_RST)
		e1000_phy_reset(d);
	d->ctrl = val & ~(E1000_CTRL_RST | E1000_CTRL_PHY_RST);
}

static void e1000_reg_write(struct e1000 *d, u64 off, u32 val)
{
	u32 *r, mask;

	off &= ~3ull;
	switch (off) {
	case E1000_CTRL:
		e1000_ctrl_write(d, val);
		return;
	case E1000_EECD:
		e1000_eecd_write(d, val);
		return;
	case E1000_EERD:
		if (val & E1000_EERD_START) {
			unsigned a = val >> E1000_EERD_ADDR_SHIFT & 0xff;
			u16 w = a < E1000_EEPROM_WORDS ? d->eeprom[a] : 0;

			d->eerd = E1000_EERD_DONE | a << E1000_EERD_ADDR_SHIFT |
				  (u32)w << E1000_EERD_DATA_SHIFT;
		}
		return;
	case E1000_MDIC:
		e1000_mdic_write(d, val);
		return;
	case E1000_ICR: /* write 1 to clear */
		d->icr &= ~val;
		e1000_update_irq(d);
		return;
	case E1000_ICS:
		e1000_raise(d, val);
		return;
	case E1000_IMS:
		d->ims |= val & E1000_ICR_VALID;
		e1000_update_irq(d);
		return;
	case E1000_IMC:
		d->ims &= ~val;
		e1000_update_irq(d);
		return;
	case E1000_RCTL:
		d->rctl = val;
		if (val & E1000_RCTL_EN)
			net_backend_rx_ready(d->be, 0);
		return;
	case E1000_TCTL:
		d->tctl = val;
		if (val & E1000_TCTL_EN)
			e1000_tx_run(d);
		return;
	case E1000_RDH:
		d->rdh = val & 0xffff;
		return;
	case E1000_RDT:
		d->rdt = val & 0xffff;
		net_backend_rx_ready(d->be, 0); /* descriptors for frames that wait */
		return;
	case E1000_TDH:
		d->tdh = val & 0xffff;
		return;
	case E1000_TDT:
		d->tdt = val & 0xffff;
		e1000_tx_run(d);
		return;
	}
	if (off >= E1000_STATS && off < E1000_STATS_END)
		return; /* read-only */
	r = e1000_plain_reg(d, off, &mask);
	if (r) {
		*r = val & mask;
		if (off == E1000_ITR)
			e1000_update_irq(d);
		return;
	}
	r = e1000_array_reg(d, off);
	if (r) {
		*r = val;
		return;
	}
	log_guest("%s: write of %#x to register %#llx ignored", d->name, val,
		  (unsigned long long)off);
}

static u64 e1000_mmio_read(void *dev, u64 off, unsigned size)
{
	(void)size;
	return e1000_reg_read(dev, off);
}

static void e1000_mmio_write(void *dev, u64 off, unsigned size, u64 val)
{
	(void)size;
	e1000_reg_write(dev, off, (u32)val);
}

static const struct io_ops e1000_mmio_ops = {
	.read = e1000_mmio_read,
	.write = e1000_mmio_write,
	.min_size = 4,
	.max_size = 4,
};

/* 13.2.1 the I/O window: IOADDR selects a register, IODATA reaches it. */
static u64 e1000_io_read(void *dev, u64 off, unsigned size)
{
	struct e1000 *d = dev;

	(void)size;
	if (off == E1000_IOADDR)
		return d->ioaddr;
	if (off == E1000_IODATA && d->ioaddr < E1000_MMIO_SIZE)
		return e1000_reg_read(d, d->ioaddr);
	return 0;
}

static void e1000_io_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct e1000 *d = dev;

	(void)size;
	if (off == E1000_IOADDR)
		d->ioaddr = (u32)val & 0x1fffc;
	else if (off == E1000_IODATA && d->ioaddr < E1000_MMIO_SIZE)
		e1000_reg_write(d, d->ioaddr, (u32)val);
}

static const struct io_ops e1000_io_ops = {
	.read = e1000_io_read,
	.write = e1000_io_write,
	.min_size = 4,
	.max_size = 4,
};

/* ---- PCI ---- */

static void e1000_bar_remap(struct pci_dev *pd, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct e1000 *d = (struct e1000 *)pd;
	bool io = bar == 1;
	struct bus *bus = io ? &d->p->pio : &d->p->mmio;
	u64 *at = io ? &d->io_at : &d->mmio_at;

	(void)old_addr;
	if (bar > 1)
		return;
	if (*at != PCI_BAR_UNMAPPED)
		bus_unmap(bus, *at);
	*at = PCI_BAR_UNMAPPED;
	if (new_addr == PCI_BAR_UNMAPPED)
		return;
	if (bus_map(bus, new_addr, io ? E1000_IO_SIZE : E1000_MMIO_SIZE,
		    io ? &e1000_io_ops : &e1000_mmio_ops, d, d->name) < 0) {
		log_guest("%s: BAR%u at %#llx overlaps another device; not mapped", d->name, bar,
			  (unsigned long long)new_addr);
		return;
	}
	*at = new_addr;
}

static const struct pci_dev_ops e1000_pci_ops = {
	.bar_remap = e1000_bar_remap,
};

/* ---- lifecycle ---- */

int e1000_create(struct platform *p, const struct e1000_config *cfg, struct e1000 **out,
		 struct err *err)
{
	const char *name = cfg->name ? cfg->name : "e1000";
	struct pci_id id = { .vendor = E1000_VENDOR,
			     .device = E1000_DEVICE,
			     .class_code = 0x020000,
			     .revision = E1000_REVISION,
			     .subsystem_vendor = E1000_VENDOR,
			     .subsystem = E1000_SUBSYS };
	struct net_peer peer;
	struct e1000 *d;
	int ret;

	if (!cfg->be)
		return err_set(err, -EINVAL, "%s: no back end", name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	d->tx_buf = malloc(E1000_TX_MAX + 4);
	d->seg_buf = malloc(E1000_TX_MAX + 4);
	d->rx_buf = malloc(E1000_RX_MAX + 64);
	d->rx_gso = malloc(NET_MAX_FRAME);
	if (!d->tx_buf || !d->seg_buf || !d->rx_buf || !d->rx_gso) {
		ret = err_set(err, -ENOMEM, "%s: out of memory", name);
		goto err_free;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->p = p;
	d->be = cfg->be;
	d->link_up = true;
	d->mmio_at = d->io_at = PCI_BAR_UNMAPPED;
	timer_init(&d->itr_timer, &p->clock, e1000_itr_expired, d);
	timer_init(&d->tx_timer, &p->clock, e1000_tx_timer, d);
	pci_dev_init(&d->pci, name, &id, &e1000_pci_ops);
	ret = pci_set_bar(&d->pci, 0, E1000_MMIO_SIZE, PCI_BAR_MEM32, false);
	if (!ret)
		ret = pci_set_bar(&d->pci, 1, E1000_IO_SIZE, PCI_BAR_IO, false);
	if (ret) {
		err_set(err, ret, "%s: PCI BARs do not fit", name);
		goto err_free;
	}
	e1000_eeprom_init(d, cfg->mac);
	e1000_reset_regs(d);
	peer = (struct net_peer){ .receive = e1000_receive,
				  .tx_ready = e1000_tx_ready,
				  .opaque = d };
	net_backend_set_peer(cfg->be, &peer);
	/* With a vnet header the TAP may hand over checksum-pending and 64 KiB TCP frames. */
	if (net_backend_vnet_hdr_len(cfg->be))
		d->rx_caps = net_backend_set_rx_caps(cfg->be,
						     NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6);
	*out = d;
	return 0;

err_free:
	free(d->tx_buf);
	free(d->seg_buf);
	free(d->rx_buf);
	free(d->rx_gso);
	free(d);
	return ret;
}

struct pci_dev *e1000_pci(struct e1000 *d)
{
	return &d->pci;
}

void e1000_set_link(struct e1000 *d, bool up)
{
	pthread_mutex_lock(&d->p->dev_lock);
	if (d->link_up != up) {
		d->link_up = up;
		log_info("%s: link %s", d->name, up ? "up" : "down");
		e1000_phy_link(d);
		e1000_raise(d, E1000_ICR_LSC);
		if (up)
			net_backend_rx_ready(d->be, 0);
	}
	pthread_mutex_unlock(&d->p->dev_lock);
}

bool e1000_link(const struct e1000 *d)
{
	return d->link_up;
}

void e1000_get_stats(const struct e1000 *d, struct e1000_stats *out)
{
	*out = d->hstats;
}

void e1000_reset(struct e1000 *d)
{
	pci_dev_reset(&d->pci);
	e1000_reset_regs(d);
}

void e1000_destroy(struct e1000 *d)
{
	if (!d)
		return;
	timer_cancel(&d->itr_timer);
	timer_cancel(&d->tx_timer);
	if (d->mmio_at != PCI_BAR_UNMAPPED)
		bus_unmap(&d->p->mmio, d->mmio_at);
	if (d->io_at != PCI_BAR_UNMAPPED)
		bus_unmap(&d->p->pio, d->io_at);
	free(d->tx_buf);
	free(d->seg_buf);
	free(d->rx_buf);
	free(d->rx_gso);
	free(d);
}

static void e1000_ops_reset(void *dev)
{
	e1000_reset(dev);
}

static void e1000_ops_destroy(void *dev)
{
	e1000_destroy(dev);
}

static void e1000_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct e1000 *d = dev;
	struct net_stats b;

	net_backend_stats(d->be, &b);
	fn(opaque, "link_up", d->link_up);
	fn(opaque, "rx_frames", d->hstats.rx_frames);
	fn(opaque, "rx_bytes", d->hstats.rx_bytes);
	fn(opaque, "rx_filtered", d->hstats.rx_filtered);
	fn(opaque, "rx_dropped", d->hstats.rx_dropped);
	fn(opaque, "tx_frames", d->hstats.tx_frames);
	fn(opaque, "tx_bytes", d->hstats.tx_bytes);
	fn(opaque, "tx_dropped", d->hstats.tx_dropped);
	fn(opaque, "tx_segments", d->hstats.tx_segments);
	fn(opaque, "interrupts", d->hstats.interrupts);
	fn(opaque, "backend_tx_blocked", b.tx_blocked);
	fn(opaque, "backend_tx_dropped", b.tx_dropped);
	fn(opaque, "backend_rx_waits", b.rx_waits);
	fn(opaque, "backend_rx_dropped", b.rx_dropped);
}

/*
 * Frames half-taken from the transmit ring are not state: TDH only moves past a frame once it
 * is sent, so a restored device reads its descriptors again. A ring with work left resumes
 * from the main loop; frames waiting for receive descriptors are retried.
 */
static int e1000_post_load(void *obj, u32 version, struct err *err)
{
	struct e1000 *d = obj;

	(void)version;
	if (d->ee_bits_in > E1000_EEPROM_OPCODE_BITS + E1000_EEPROM_ADDR_BITS ||
	    d->ee_bits_out > 16 || (d->ioaddr & 3) || d->ioaddr >= E1000_MMIO_SIZE)
		return err_set(err, -EINVAL, "%s: EEPROM or I/O window state out of range",
			       d->name);
	d->tx_blocked = false;
	d->tx_sent = 0;
	net_backend_rx_ready(d->be, 0);
	return 0;
}

static const struct state_field e1000_ctx_fields[] = {
	STATE_U8(struct e1000_tx_ctx, ipcss),
	STATE_U8(struct e1000_tx_ctx, ipcso),
	STATE_U16(struct e1000_tx_ctx, ipcse),
	STATE_U8(struct e1000_tx_ctx, tucss),
	STATE_U8(struct e1000_tx_ctx, tucso),
	STATE_U16(struct e1000_tx_ctx, tucse),
	STATE_U32(struct e1000_tx_ctx, paylen),
	STATE_U8(struct e1000_tx_ctx, tucmd),
	STATE_U8(struct e1000_tx_ctx, hdrlen),
	STATE_U16(struct e1000_tx_ctx, mss),
	STATE_END,
};

static const struct state_desc e1000_ctx_state = {
	.name = "e1000-tx-context",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct e1000_tx_ctx),
	.fields = e1000_ctx_fields,
};

#define E1000_REG(f) STATE_U32(struct e1000, f)

static const struct state_field e1000_fields[] = {
	STATE_STRUCT(struct e1000, pci, pci_dev_state),
	STATE_HOST(struct e1000, name, "instance name from the board"),
	STATE_HOST(struct e1000, p, "the platform"),
	STATE_HOST(struct e1000, be, "the back end (host sockets and fds)"),
	STATE_HOST(struct e1000, mmio_at,
		   "where the BARs are on the buses: re-derived by the PCI function's post_load"),
	STATE_HOST(struct e1000, io_at,
		   "where the BARs are on the buses: re-derived by the PCI function's post_load"),
	STATE_BOOL(struct e1000, link_up),
	E1000_REG(ctrl),
	E1000_REG(ctrl_ext),
	E1000_REG(eecd),
	E1000_REG(eerd),
	E1000_REG(mdic),
	E1000_REG(fcal),
	E1000_REG(fcah),
	E1000_REG(fct),
	E1000_REG(vet),
	E1000_REG(icr),
	E1000_REG(itr),
	E1000_REG(ims),
	E1000_REG(rctl),
	E1000_REG(fcttv),
	E1000_REG(txcw),
	E1000_REG(rxcw),
	E1000_REG(tctl),
	E1000_REG(tipg),
	E1000_REG(aifs),
	E1000_REG(ledctl),
	E1000_REG(pba),
	E1000_REG(fcrtl),
	E1000_REG(fcrth),
	E1000_REG(rdbal),
	E1000_REG(rdbah),
	E1000_REG(rdlen),
	E1000_REG(rdh),
	E1000_REG(rdt),
	E1000_REG(rdtr),
	E1000_REG(rxdctl),
	E1000_REG(radv),
	E1000_REG(rsrpd),
	E1000_REG(txdmac),
	E1000_REG(tdbal),
	E1000_REG(tdbah),
	E1000_REG(tdlen),
	E1000_REG(tdh),
	E1000_REG(tdt),
	E1000_REG(tidv),
	E1000_REG(txdctl),
	E1000_REG(tadv),
	E1000_REG(tspmt),
	E1000_REG(rxcsum),
	E1000_REG(wuc),
	E1000_REG(wufc),
	E1000_REG(wus),
	E1000_REG(manc),
	E1000_REG(ioaddr),
	STATE_ARRAY(struct e1000, mta, U32),
	STATE_ARRAY(struct e1000, ra, U32),
	STATE_ARRAY(struct e1000, vfta, U32),
	STATE_ARRAY(struct e1000, stats, U32),
	STATE_ARRAY(struct e1000, phy, U16),
	STATE_ARRAY(struct e1000, eeprom, U16, STATE_CHECKED),
	STATE_U32(struct e1000, ee_in),
	STATE_U8(struct e1000, ee_bits_in),
	STATE_U8(struct e1000, ee_bits_out),
	STATE_BOOL(struct e1000, ee_reading),
	STATE_U16(struct e1000, ee_word),
	STATE_BOOL(struct e1000, irq_level),
	STATE_U64(struct e1000, last_irq_ns),
	STATE_TIMER(struct e1000, itr_timer),
	STATE_TIMER(struct e1000, tx_timer),
	STATE_STRUCT(struct e1000, ctx, e1000_ctx_state),
	STATE_BOOL(struct e1000, tx_discard),
	STATE_HOST(struct e1000, tx_blocked, "back-pressure: the ring is read again after a load"),
	STATE_HOST(struct e1000, tx_sent, "a retry after a load may send segments again"),
	STATE_HOST(struct e1000, tx_buf, "scratch buffer: TDH has not moved past it"),
	STATE_HOST(struct e1000, seg_buf, "scratch buffer"),
	STATE_HOST(struct e1000, rx_buf, "scratch buffer"),
	STATE_HOST(struct e1000, rx_caps, "what the back end agreed to deliver"),
	STATE_HOST(struct e1000, rx_gso, "scratch buffer"),
	STATE_HOST(struct e1000, rx_gso_done, "a frame the back end holds"),
	STATE_HOST(struct e1000, rx_gso_key, "a frame the back end holds"),
	STATE_HOST(struct e1000, hstats, "host counters"),
	STATE_END,
};

static const struct state_desc e1000_state = {
	.name = "e1000",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct e1000),
	.fields = e1000_fields,
	.post_load = e1000_post_load,
};

const struct device_ops e1000_device_ops = {
	.type = "e1000",
	.reset = e1000_ops_reset,
	.state = &e1000_state,
	.destroy = e1000_ops_destroy,
	.counters = e1000_counters,
};
