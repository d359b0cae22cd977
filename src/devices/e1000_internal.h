/* SPDX-License-Identifier: MIT */
/*
 * Between the e1000 files: e1000.c (registers, EEPROM, PHY, interrupts, receive, state) and
 * e1000_tx.c (the transmit descriptor ring and its offloads). Never included elsewhere.
 */
#ifndef DEVICES_E1000_INTERNAL_H
#define DEVICES_E1000_INTERNAL_H

#include "devices/e1000.h"
#include "devices/e1000_regs.h"
#include "vmm/timer.h"

#define E1000_TX_MAX	   (64u * 1024 + 256) /* bytes of one frame (a TSO send and its headers) */
#define E1000_TX_BUDGET	   512	 /* descriptors one TDT write handles; the rest from a timer */
#define E1000_RX_MAX	   16384 /* largest frame with LPE */
#define E1000_RX_MAX_NOLPE 1522	 /* without LPE: 1518 and a VLAN tag */

/* 3.4 TCP/IP context, as the last context descriptor set it. */
struct e1000_tx_ctx {
	u8 ipcss, ipcso;
	u16 ipcse;
	u8 tucss, tucso;
	u16 tucse;
	u32 paylen;
	u8 tucmd, hdrlen;
	u16 mss;
};

struct e1000 {
	struct pci_dev pci; /* first: container_of by cast */
	char name[32];
	struct platform *p;
	struct net_backend *be;
	u64 mmio_at, io_at; /* where BAR 0 and BAR 1 are mapped, or PCI_BAR_UNMAPPED */
	bool link_up;	    /* the host's link (e1000_set_link) */
	/* registers */
	u32 ctrl, ctrl_ext, eecd, eerd, mdic, fcal, fcah, fct, vet;
	u32 icr, itr, ims;
	u32 rctl, fcttv, txcw, rxcw, tctl, tipg, aifs, ledctl, pba, fcrtl, fcrth;
	u32 rdbal, rdbah, rdlen, rdh, rdt, rdtr, rxdctl, radv, rsrpd;
	u32 txdmac, tdbal, tdbah, tdlen, tdh, tdt, tidv, txdctl, tadv, tspmt;
	u32 rxcsum, wuc, wufc, wus, manc;
	u32 ioaddr;
	u32 mta[128];
	u32 ra[32]; /* RAL0, RAH0, RAL1, ... */
	u32 vfta[128];
	u32 stats[64];
	u16 phy[E1000_PHY_REGS];
	u16 eeprom[E1000_EEPROM_WORDS];
	/* the EEPROM's Microwire state (5.5.3) */
	u32 ee_in;	/* bits shifted in: opcode, address */
	u8 ee_bits_in;	/* how many */
	u8 ee_bits_out; /* data bits shifted out of the current word */
	bool ee_reading;
	u16 ee_word;
	/* interrupts */
	bool irq_level;
	u64 last_irq_ns; /* virtual time of the last assertion, for ITR */
	struct timer itr_timer;
	struct timer tx_timer; /* the rest of a ring beyond E1000_TX_BUDGET */
	struct e1000_tx_ctx ctx;
	bool tx_discard; /* dropping the rest of a frame of too many descriptors */
	/* host side */
	bool tx_blocked;  /* the back end said EAGAIN: wait for tx_ready */
	unsigned tx_sent; /* segments of the frame at TDH already sent (a retry skips them) */
	u8 *tx_buf;	  /* E1000_TX_MAX + a VLAN tag */
	u8 *seg_buf;	  /* E1000_TX_MAX */
	u8 *rx_buf;	  /* E1000_RX_MAX + 4: one received frame, tag stripped, FCS added */
	/*
	 * Receive of a segmentation offload frame (a TAP with a vnet header hands over the host's
	 * 64 KiB TCP sends whole; the device cuts them into the frames the wire would carry):
	 */
	unsigned rx_caps;     /* NET_CAP_* the back end agreed to deliver */
	u8 *rx_gso;	      /* NET_MAX_FRAME: such a frame made linear, when it came in pieces */
	unsigned rx_gso_done; /* its segments already in the ring (a retry after -EAGAIN) */
	u64 rx_gso_key;	      /* which frame that was: length and TCP sequence number */
	struct e1000_stats hstats;
};

/* Raise interrupt causes (ICR |= bits) and update the line. Device lock held. */
void e1000_raise(struct e1000 *d, u32 bits);
/* Increment a statistics register (offset from E1000_STATS); 64-bit pairs by their low half. */
void e1000_stat_add(struct e1000 *d, unsigned off, u64 v);
/* Process the transmit ring from TDH to TDT (a TDT write, TCTL.EN, tx_ready, the timer). */
void e1000_tx_run(struct e1000 *d);
/* The timer that resumes a ring cut at E1000_TX_BUDGET. */
void e1000_tx_timer(void *opaque);
/* The back end takes frames again (net_peer.tx_ready). */
void e1000_tx_ready(void *opaque, unsigned q);

#endif
