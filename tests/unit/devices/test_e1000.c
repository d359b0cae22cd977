// SPDX-License-Identifier: MIT
/*
 * The e1000 (82540EM) through its registers, as Linux's e1000 driver uses them, over the
 * recording back end (fake_net.h) and the test platform's fake clock: the Microwire EEPROM
 * (MAC, checksum 0xBABA) and EERD, the PHY through MDIC, link changes with LSC, ICR/IMS/ICS
 * and ITR throttling, receive filtering, FCS, spanning, VLAN stripping, checksum reporting
 * and waiting for descriptors, transmit with legacy and context/data descriptors, checksum
 * insertion, TSO, back-pressure, and rings a hostile driver builds.
 */
#include "devices/e1000.h"
#include "devices/e1000_regs.h"
#include "devices/pci.h"
#include "fake_irq.h"
#include "fake_net.h"
#include "net/net_offload.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM   (4u << 20)
#define DEVNO 3
#define MMIO  0xfebc0000ull
#define IOBAR 0xc000
#define RXR   0x10000  /* receive descriptors */
#define TXR   0x20000  /* transmit descriptors */
#define RXB   0x100000 /* receive buffers, 0x4000 apart */
#define TXB   0x200000 /* transmit buffers, 0x10000 apart */
#define NDESC 8

static const u8 MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

struct fx {
	struct test_platform tp;
	struct pci_host *host;
	struct fake_net fn;
	struct e1000 *d;
	struct fake_irq irq;
};

static u8 *ram(struct fx *f, u64 gpa)
{
	return (u8 *)f->tp.ram + gpa;
}

static void cfg_write(struct fx *f, unsigned off, unsigned size, u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | DEVNO << 11 | (off & 0xfc));
	bus_write(&f->tp.p.pio, 0xcfc + (off & 3), size, val);
}

static u32 cfg_read(struct fx *f, unsigned off, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | DEVNO << 11 | (off & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (off & 3), size);
}

static u32 rd(struct fx *f, unsigned reg)
{
	return (u32)bus_read(&f->tp.p.mmio, MMIO + reg, 4);
}

static void wr(struct fx *f, unsigned reg, u32 val)
{
	bus_write(&f->tp.p.mmio, MMIO + reg, 4, val);
}

static int setup_with(void **state, bool vnet_hdr)
{
	struct pci_host_config hc = { .name = "pci" };
	struct e1000_config cfg = { .name = "net0" };
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	fake_net_init(&f->fn, vnet_hdr ? NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 : 0, 1);
	if (vnet_hdr)
		fake_net_set_vnet_hdr(&f->fn);
	memcpy(cfg.mac, MAC, 6);
	cfg.be = f->fn.be;
	assert_int_equal(e1000_create(&f->tp.p, &cfg, &f->d, NULL), 0);
	pci_set_intx(e1000_pci(f->d), 1, fake_irq_line(&f->irq, 11));
	assert_int_equal(pci_host_add(f->host, e1000_pci(f->d), DEVNO, 0, NULL), 0);
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, (u32)MMIO);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4, 4, IOBAR | 1);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

/* A back end with a vnet header (a TAP): segmentation offload frames come whole. */
static int setup_vnet(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_host_remove(f->host, e1000_pci(f->d));
	e1000_destroy(f->d);
	fake_net_fini(&f->fn);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

/* ---- EEPROM, PHY, link, interrupts ---- */

/* Microwire read as e1000_read_eeprom does: REQ/GNT, CS, 110b, 6 address bits, 16 data bits. */
static u16 ee_read(struct fx *f, unsigned addr)
{
	u32 e = E1000_EECD_REQ;
	u16 v = 0;

	wr(f, E1000_EECD, e);
	assert_true(rd(f, E1000_EECD) & E1000_EECD_GNT);
	e |= E1000_EECD_CS;
	wr(f, E1000_EECD, e);
	for (int i = 8; i >= 0; i--) { /* opcode then address, MSB first */
		u32 bit = ((E1000_EEPROM_READ_OPCODE << 6 | addr) >> i) & 1;

		e = (e & ~E1000_EECD_DI) | (bit ? E1000_EECD_DI : 0);
		wr(f, E1000_EECD, e);
		wr(f, E1000_EECD, e | E1000_EECD_SK);
		wr(f, E1000_EECD, e);
	}
	e &= ~E1000_EECD_DI;
	for (int i = 0; i < 16; i++) {
		wr(f, E1000_EECD, e | E1000_EECD_SK);
		v = (u16)(v << 1 | !!(rd(f, E1000_EECD) & E1000_EECD_DO));
		wr(f, E1000_EECD, e);
	}
	wr(f, E1000_EECD, 0); /* release: CS low, REQ off */
	return v;
}

static void test_eeprom(void **state)
{
	struct fx *f = *state;
	u16 sum = 0, w[E1000_EEPROM_WORDS];

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x8086);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), 0x100e);
	assert_true(rd(f, E1000_EECD) & E1000_EECD_PRES);
	assert_false(rd(f, E1000_EECD) & E1000_EECD_SIZE); /* 64 words */
	for (unsigned i = 0; i < E1000_EEPROM_WORDS; i++) {
		w[i] = ee_read(f, i);
		sum = (u16)(sum + w[i]);
	}
	assert_int_equal(sum, E1000_EEPROM_SUM);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(w[i], MAC[2 * i] | MAC[2 * i + 1] << 8);
	wr(f, E1000_EERD, 2 << E1000_EERD_ADDR_SHIFT | E1000_EERD_START);
	assert_int_equal(rd(f, E1000_EERD), (u32)w[2] << 16 | 2 << 8 | E1000_EERD_DONE);
	/* RA[0] comes from the EEPROM and is valid */
	assert_int_equal(rd(f, E1000_RA), MAC[0] | MAC[1] << 8 | MAC[2] << 16 | (u32)MAC[3] << 24);
	assert_int_equal(rd(f, E1000_RA + 4), MAC[4] | MAC[5] << 8 | E1000_RAH_AV);
}

static u16 phy_read(struct fx *f, unsigned reg)
{
	u32 v;

	wr(f, E1000_MDIC, reg << 16 | 1 << 21 | E1000_MDIC_OP_READ);
	v = rd(f, E1000_MDIC);
	assert_true(v & E1000_MDIC_READY);
	assert_false(v & E1000_MDIC_ERROR);
	return (u16)v;
}

static void test_phy_and_link(void **state)
{
	struct fx *f = *state;

	assert_int_equal(phy_read(f, E1000_PHY_ID1), 0x0141);
	assert_int_equal(phy_read(f, E1000_PHY_ID2), 0x0c20);
	assert_true(phy_read(f, E1000_PHY_STATUS) & E1000_PHY_STATUS_LINK);
	assert_true(rd(f, E1000_STATUS) & E1000_STATUS_LU);
	/* another PHY address is an error */
	wr(f, E1000_MDIC, E1000_PHY_STATUS << 16 | 2 << 21 | E1000_MDIC_OP_READ);
	assert_true(rd(f, E1000_MDIC) & E1000_MDIC_ERROR);

	wr(f, E1000_IMS, E1000_ICR_LSC);
	e1000_set_link(f->d, false);
	assert_false(rd(f, E1000_STATUS) & E1000_STATUS_LU);
	assert_false(phy_read(f, E1000_PHY_STATUS) & E1000_PHY_STATUS_LINK);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, E1000_ICR), E1000_ICR_LSC); /* read clears */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(rd(f, E1000_ICR), 0);
	e1000_set_link(f->d, true);
	assert_true(rd(f, E1000_STATUS) & E1000_STATUS_LU);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, E1000_ICR), E1000_ICR_LSC);
	/* restarting autonegotiation completes and says so */
	wr(f, E1000_MDIC, E1000_PHY_CTRL << 16 | 1 << 21 | E1000_MDIC_OP_WRITE | 0x1340);
	assert_true(phy_read(f, E1000_PHY_STATUS) & E1000_PHY_STATUS_AN_DONE);
	assert_int_equal(rd(f, E1000_ICR), E1000_ICR_LSC);
}

static void test_interrupt_mask_and_itr(void **state)
{
	struct fx *f = *state;

	wr(f, E1000_ICS, E1000_ICR_TXDW); /* masked: no line */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	wr(f, E1000_IMS, E1000_ICR_TXDW | E1000_ICR_RXT0);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, E1000_IMS), E1000_ICR_TXDW | E1000_ICR_RXT0);
	wr(f, E1000_IMC, E1000_ICR_TXDW);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	wr(f, E1000_ICR, 0xffffffffu); /* write 1 to clear */
	assert_int_equal(rd(f, E1000_ICR), 0);

	/* ITR 1000 x 256 ns: a second interrupt within 256 us waits for the gap */
	wr(f, E1000_ITR, 1000);
	test_platform_advance(&f->tp, 1000000); /* well after the last one */
	wr(f, E1000_ICS, E1000_ICR_RXT0);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	rd(f, E1000_ICR);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	wr(f, E1000_ICS, E1000_ICR_RXT0);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 200000);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 56000);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, E1000_ICR), E1000_ICR_RXT0);
	/* the I/O window reaches the same registers */
	bus_write(&f->tp.p.pio, IOBAR + E1000_IOADDR, 4, E1000_STATUS);
	assert_int_equal(bus_read(&f->tp.p.pio, IOBAR + E1000_IODATA, 4), rd(f, E1000_STATUS));
	bus_write(&f->tp.p.pio, IOBAR + E1000_IOADDR, 4, E1000_IMS);
	bus_write(&f->tp.p.pio, IOBAR + E1000_IODATA, 4, E1000_ICR_LSC);
	assert_true(rd(f, E1000_IMS) & E1000_ICR_LSC);
}

static void test_ctrl_reset(void **state)
{
	struct fx *f = *state;

	wr(f, E1000_IMS, E1000_ICR_LSC);
	wr(f, E1000_RCTL, E1000_RCTL_EN);
	wr(f, E1000_RA + 4, 0);
	wr(f, E1000_CTRL, E1000_CTRL_RST);
	assert_false(rd(f, E1000_CTRL) & E1000_CTRL_RST); /* self-clearing */
	assert_int_equal(rd(f, E1000_IMS), 0);
	assert_int_equal(rd(f, E1000_RCTL), 0);
	assert_int_equal(rd(f, E1000_RA + 4), MAC[4] | MAC[5] << 8 | E1000_RAH_AV);
}

/* ---- receive ---- */

static void rx_ring(struct fx *f, u32 rctl)
{
	memset(ram(f, RXR), 0, 16 * NDESC);
	for (unsigned i = 0; i < NDESC; i++) {
		u64 a = RXB + 0x4000ull * i;

		memcpy(ram(f, RXR + 16 * i), &a, 8);
	}
	wr(f, E1000_RDBAL, RXR);
	wr(f, E1000_RDBAH, 0);
	wr(f, E1000_RDLEN, 16 * NDESC);
	wr(f, E1000_RDH, 0);
	wr(f, E1000_RDT, NDESC - 1);
	wr(f, E1000_RCTL, E1000_RCTL_EN | rctl);
	wr(f, E1000_IMS, E1000_ICR_RXT0);
}

static void eth(u8 *b, size_t len, const u8 *dst)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (u8)(i * 13 + 1);
	memcpy(b, dst, 6);
	memcpy(b + 6, "\x02\x00\x00\x00\x00\x01", 6);
	b[12] = 0x08;
	b[13] = 0x06;
}

static u16 rx_len(struct fx *f, unsigned i)
{
	return (u16)(ram(f, RXR + 16 * i + 8)[0] | ram(f, RXR + 16 * i + 9)[0] << 8);
}

static u8 rx_status(struct fx *f, unsigned i)
{
	return ram(f, RXR + 16 * i + 12)[0];
}

static void test_rx_filters(void **state)
{
	struct fx *f = *state;
	static const u8 other[6] = { 0x02, 0, 0, 0, 0, 9 },
			mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	u8 b[100];
	unsigned h;

	rx_ring(f, E1000_RCTL_SECRC);
	eth(b, sizeof(b), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	assert_int_equal(rx_status(f, 0),
			 E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP | E1000_RXD_STAT_IXSM); /* not IP */
	assert_int_equal(rx_len(f, 0), sizeof(b));
	assert_memory_equal(ram(f, RXB), b, sizeof(b));
	assert_int_equal(rd(f, E1000_RDH), 1);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_true(rd(f, E1000_ICR) & E1000_ICR_RXT0);
	eth(b, sizeof(b), other);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -EPERM);
	wr(f, E1000_RCTL, rd(f, E1000_RCTL) | E1000_RCTL_UPE);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	eth(b, sizeof(b), (const u8 *)"\xff\xff\xff\xff\xff\xff");
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -EPERM); /* no BAM */
	wr(f, E1000_RCTL, rd(f, E1000_RCTL) | E1000_RCTL_BAM);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	/* multicast by the table (MO = 0: bits 47:36 of the address) */
	eth(b, sizeof(b), mcast);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -EPERM);
	h = (mcast[4] >> 4 | mcast[5] << 4) & 0xfff;
	wr(f, E1000_MTA + 4 * (h >> 5), 1u << (h & 31));
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	/* short frames are padded to 60 bytes */
	eth(b, 42, MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, 42), 0);
	assert_int_equal(rx_len(f, 4), 60);
	/* a long frame needs LPE */
	{
		static u8 big[3000];

		eth(big, sizeof(big), MAC);
		assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, big, sizeof(big)), -EMSGSIZE);
	}
}

static void test_rx_fcs_and_spanning(void **state)
{
	struct fx *f = *state;
	u8 b[700];
	u32 fcs;

	/* BSIZE 11b: 256-byte buffers; no SECRC: the FCS is appended */
	rx_ring(f, 3u << E1000_BSIZE_SHIFT);
	eth(b, sizeof(b), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	assert_int_equal(rx_len(f, 0), 256);
	assert_int_equal(rx_len(f, 1), 256);
	assert_int_equal(rx_len(f, 2), 704 - 512);
	assert_int_equal(rx_status(f, 0), E1000_RXD_STAT_DD);
	assert_true(rx_status(f, 2) & E1000_RXD_STAT_EOP);
	assert_memory_equal(ram(f, RXB + 0x4000), b + 256, 256);
	fcs = net_crc32(b, sizeof(b));
	assert_memory_equal(ram(f, RXB + 0x8000 + 700 - 512), &fcs, 4);
	assert_int_equal(rd(f, E1000_RDH), 3);
	/* statistics: one good packet of 704 octets; GORC clears when its high half is read */
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GPRC), 1);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GPRC), 0);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GORCL), 704);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GORCH), 0);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GORCL), 0);
}

static void test_rx_waits_for_descriptors(void **state)
{
	struct fx *f = *state;
	u8 b[100];
	unsigned before;

	rx_ring(f, E1000_RCTL_SECRC);
	wr(f, E1000_RDT, 0); /* RDH == RDT: nothing for the device */
	eth(b, sizeof(b), MAC);
	before = f->fn.rx_ready[0];
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -EAGAIN);
	wr(f, E1000_RDT, 4);
	assert_int_equal(f->fn.rx_ready[0], before + 1);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	/* a ring that can never hold the frame drops it instead of waiting for ever */
	rx_ring(f, 3u << E1000_BSIZE_SHIFT | E1000_RCTL_LPE);
	{
		static u8 big[4000];

		eth(big, sizeof(big), MAC);
		assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, big, sizeof(big)), -EMSGSIZE);
	}
	/* a RDH beyond the ring is the driver's bug: dropped */
	wr(f, E1000_RDH, 100);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -ENOBUFS);
}

static void test_rx_vlan(void **state)
{
	struct fx *f = *state;
	u8 b[100];
	u16 special;

	rx_ring(f, E1000_RCTL_SECRC | E1000_RCTL_VFE);
	wr(f, E1000_CTRL, E1000_CTRL_VME | E1000_CTRL_SLU);
	eth(b, sizeof(b), MAC);
	b[12] = 0x81, b[13] = 0x00, b[14] = 0x20, b[15] = 0x07; /* PCP 1, VID 7 */
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), -EPERM);
	wr(f, E1000_VFTA, 1u << 7);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, sizeof(b)), 0);
	assert_true(rx_status(f, 0) & E1000_RXD_STAT_VP);
	assert_int_equal(rx_len(f, 0), sizeof(b) - 4);
	memcpy(&special, ram(f, RXR + 14), 2);
	assert_int_equal(special, 0x2007);
	assert_memory_equal(ram(f, RXB + 12), b + 16, sizeof(b) - 16);
}

/* A TCP/IPv4 frame with valid checksums. */
static size_t tcp_frame(u8 *b, size_t payload, const u8 *dst)
{
	size_t len = 54 + payload;
	struct net_layers l;

	memset(b, 0, len);
	memcpy(b, dst, 6);
	memcpy(b + 6, "\x02\x00\x00\x00\x00\x01\x08\x00", 8);
	b[14] = 0x45;
	b[16] = (u8)((len - 14) >> 8);
	b[17] = (u8)(len - 14);
	b[22] = 64;
	b[23] = NET_IPPROTO_TCP;
	memcpy(b + 26, "\x0a\x00\x02\x02\x0a\x00\x02\x0f", 8);
	b[35] = 80, b[37] = 0x50, b[41] = 1, b[46] = 0x50, b[47] = 0x18, b[48] = 0xff;
	for (size_t i = 0; i < payload; i++)
		b[54 + i] = (u8)(i % 253);
	assert_int_equal(net_parse(b, len, &l), 0);
	net_fill_csums(b, &l);
	return len;
}

static void test_rx_checksums(void **state)
{
	struct fx *f = *state;
	u8 b[300];
	size_t len = tcp_frame(b, 200, MAC);

	rx_ring(f, E1000_RCTL_SECRC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, len), 0);
	assert_int_equal(rx_status(f, 0) & (E1000_RXD_STAT_IPCS | E1000_RXD_STAT_TCPCS),
			 E1000_RXD_STAT_IPCS | E1000_RXD_STAT_TCPCS);
	assert_int_equal(ram(f, RXR + 13)[0], 0);
	b[100] ^= 0xff; /* payload corrupted */
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, b, len), 0);
	assert_int_equal(ram(f, RXR + 16 + 13)[0], E1000_RXD_ERR_TCPE);
}

static u32 rx_seq(struct fx *f, unsigned i)
{
	const u8 *t = ram(f, RXB + 0x4000ull * i + 34);

	return (u32)t[4] << 24 | (u32)t[5] << 16 | (u32)t[6] << 8 | t[7];
}

/*
 * A back end with a vnet header hands over a 64 KiB-style TCP frame (GSO TCPV4, checksum
 * pending): the device asked for it (TUNSETOFFLOAD through set_rx_caps) and puts MSS-sized
 * frames with complete, reported checksums in the ring; a ring that fills midway takes the
 * rest when the back end delivers the frame again, without repeating a segment.
 */
static void test_rx_gso(void **state)
{
	static u8 b[11000];
	struct fx *f = *state;
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = NET_HDR_GSO_TCPV4,
			     .hdr_len = 54,
			     .gso_size = 1000,
			     .csum_start = 34,
			     .csum_offset = 16 };
	size_t len = tcp_frame(b, 3000, MAC);
	struct e1000_stats st;
	struct net_layers l;

	assert_int_equal(f->fn.rx_caps & (NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6),
			 NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6);
	rx_ring(f, E1000_RCTL_SECRC); /* 7 free descriptors of 2048 bytes, no LPE */
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), 0);
	assert_int_equal(rd(f, E1000_RDH), 3);
	for (unsigned i = 0; i < 3; i++) {
		const u8 *s = ram(f, RXB + 0x4000ull * i);

		assert_int_equal(rx_len(f, i), 54 + 1000);
		assert_int_equal(rx_status(f, i) & (E1000_RXD_STAT_EOP | E1000_RXD_STAT_IPCS |
						    E1000_RXD_STAT_TCPCS),
				 E1000_RXD_STAT_EOP | E1000_RXD_STAT_IPCS | E1000_RXD_STAT_TCPCS);
		assert_int_equal(ram(f, RXR + 16 * i + 13)[0], 0); /* no checksum errors */
		assert_int_equal(rx_seq(f, i), 1 + 1000 * i);
		assert_memory_equal(s + 54, b + 54 + 1000 * i, 1000);
		assert_int_equal(net_parse(s, 1054, &l), 0);
		assert_true(net_ip_csum_ok(s, &l) && net_l4_csum_ok(s, &l));
	}
	/* 10 segments, 7 descriptors: 7 now, -EAGAIN, the other 3 once RDT moves */
	len = tcp_frame(b, 10000, MAC);
	rx_ring(f, E1000_RCTL_SECRC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), -EAGAIN);
	assert_int_equal(rd(f, E1000_RDH), 7);
	wr(f, E1000_RDT, 6); /* the driver took descriptors 0-6 and gave them back */
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), 0);
	assert_int_equal(rd(f, E1000_RDH), 2);
	assert_int_equal(rx_seq(f, 6), 1 + 6000);
	assert_int_equal(rx_seq(f, 7), 1 + 7000);
	assert_int_equal(rx_seq(f, 0), 1 + 8000);
	assert_int_equal(rx_seq(f, 1), 1 + 9000);
	e1000_get_stats(f->d, &st);
	assert_int_equal(st.rx_frames, 3 + 10);
	/* a different frame after an -EAGAIN starts from its first segment */
	rx_ring(f, E1000_RCTL_SECRC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), -EAGAIN);
	b[41] = 7; /* another sequence number: another frame */
	wr(f, E1000_RDT, 6);
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), -EAGAIN);
	assert_int_equal(rx_seq(f, 7), 7);
	/* an MSS whose segments exceed the longest frame the device takes is refused */
	h.gso_size = 20000;
	assert_int_equal(fake_net_deliver(&f->fn, 0, &h, b, len), -EPROTO);
}

/* ---- transmit ---- */

static void tx_ring(struct fx *f)
{
	memset(ram(f, TXR), 0, 16 * NDESC);
	wr(f, E1000_TDBAL, TXR);
	wr(f, E1000_TDBAH, 0);
	wr(f, E1000_TDLEN, 16 * NDESC);
	wr(f, E1000_TDH, 0);
	wr(f, E1000_TDT, 0);
	wr(f, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP);
	wr(f, E1000_IMS, E1000_ICR_TXDW | E1000_ICR_TXQE);
}

static void txd(struct fx *f, unsigned i, u64 addr, u32 lenfield, u8 cmd, u8 b13, u8 b10)
{
	u8 *p = ram(f, TXR + 16 * i);

	memset(p, 0, 16);
	memcpy(p, &addr, 8);
	p[8] = (u8)lenfield;
	p[9] = (u8)(lenfield >> 8);
	p[10] = (u8)(b10 | ((lenfield >> 16) & 15));
	p[11] = cmd;
	p[13] = b13;
}

/* Context descriptor: IP header at 14, checksum at 24; TCP at 34, checksum at 50. */
static void txd_ctx(struct fx *f, unsigned i, u8 tucmd, u32 paylen, u8 hdrlen, u16 mss)
{
	u8 *p = ram(f, TXR + 16 * i);

	memset(p, 0, 16);
	p[0] = 14, p[1] = 24, p[2] = 33, p[3] = 0; /* IPCSS, IPCSO, IPCSE */
	p[4] = 34, p[5] = 50;			   /* TUCSS, TUCSO, TUCSE 0: to the end */
	p[8] = (u8)paylen;
	p[9] = (u8)(paylen >> 8);
	p[10] = (u8)((paylen >> 16) & 15); /* DTYP 0 */
	p[11] = (u8)(tucmd | E1000_TXD_CMD_DEXT);
	p[13] = hdrlen;
	p[14] = (u8)mss;
	p[15] = (u8)(mss >> 8);
}

static void test_tx_legacy(void **state)
{
	struct fx *f = *state;
	u8 b[120];

	tx_ring(f);
	eth(b, sizeof(b), (const u8 *)"\x02\x00\x00\x00\x00\x02");
	memcpy(ram(f, TXB), b, 50);
	memcpy(ram(f, TXB + 0x10000), b + 50, 70);
	txd(f, 0, TXB, 50, E1000_TXD_CMD_IFCS, 0, 0);
	txd(f, 1, TXB + 0x10000, 70, E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS, 0,
	    0);
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->fn.nr_sent, 1);
	assert_int_equal(f->fn.sent[0].len, sizeof(b));
	assert_memory_equal(f->fn.sent[0].data, b, sizeof(b));
	assert_int_equal(rd(f, E1000_TDH), 2);
	assert_int_equal(ram(f, TXR + 16 + 12)[0] & E1000_TXD_STAT_DD, E1000_TXD_STAT_DD);
	assert_int_equal(ram(f, TXR + 12)[0] & E1000_TXD_STAT_DD, 0); /* no RS there */
	assert_int_equal(rd(f, E1000_ICR), E1000_ICR_TXDW | E1000_ICR_TXQE);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_GPTC), 1);
}

static void test_tx_checksum_offload(void **state)
{
	struct fx *f = *state;
	u8 b[300];
	size_t len = tcp_frame(b, 200, (const u8 *)"\x02\x00\x00\x00\x00\x02");
	struct net_layers l;
	u32 ps;
	u16 seed;

	/* as Linux hands the frame over: IP checksum 0, TCP checksum = pseudo-header sum */
	assert_int_equal(net_parse(b, len, &l), 0);
	b[24] = b[25] = 0;
	ps = net_csum_add(0, b + 26, 8);
	ps = net_csum_add(ps, (u8[]){ 0, NET_IPPROTO_TCP, 0, (u8)(len - 34) }, 4);
	seed = (u16)~net_csum_fold(ps);
	b[50] = (u8)(seed >> 8);
	b[51] = (u8)seed;
	tx_ring(f);
	memcpy(ram(f, TXB), b, len);
	txd_ctx(f, 0, E1000_TUCMD_TCP | E1000_TUCMD_IP | E1000_TXD_CMD_RS, 0, 0, 0);
	txd(f, 1, TXB, (u32)len, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS | E1000_TXD_CMD_DEXT,
	    E1000_TXD_POPTS_IXSM | E1000_TXD_POPTS_TXSM, E1000_TXD_DTYP_DATA << 4);
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->fn.nr_sent, 1);
	assert_int_equal(net_parse(f->fn.sent[0].data, f->fn.sent[0].len, &l), 0);
	assert_true(net_ip_csum_ok(f->fn.sent[0].data, &l));
	assert_true(net_l4_csum_ok(f->fn.sent[0].data, &l));
	assert_int_equal(ram(f, TXR + 12)[0] & E1000_TXD_STAT_DD, E1000_TXD_STAT_DD);
}

static void test_tx_tso(void **state)
{
	struct fx *f = *state;
	static u8 b[54 + 2500];
	size_t len = tcp_frame(b, 2500, (const u8 *)"\x02\x00\x00\x00\x00\x02"), got = 0;
	struct net_layers l;

	assert_int_equal(len, sizeof(b));
	tx_ring(f);
	memcpy(ram(f, TXB), b, 54);
	memcpy(ram(f, TXB + 0x10000), b + 54, 2500);
	txd_ctx(f, 0, E1000_TUCMD_TCP | E1000_TUCMD_IP | E1000_TUCMD_TSE, 2500, 54, 1000);
	txd(f, 1, TXB, 54, E1000_TXD_CMD_DEXT | E1000_TXD_CMD_TSE,
	    E1000_TXD_POPTS_IXSM | E1000_TXD_POPTS_TXSM, E1000_TXD_DTYP_DATA << 4);
	txd(f, 2, TXB + 0x10000, 2500,
	    E1000_TXD_CMD_DEXT | E1000_TXD_CMD_TSE | E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0,
	    E1000_TXD_DTYP_DATA << 4);
	wr(f, E1000_TDT, 3);
	assert_int_equal(f->fn.nr_sent, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct fake_net_frame *s = &f->fn.sent[i];
		u32 seq;

		assert_int_equal(net_parse(s->data, s->len, &l), 0);
		assert_true(net_ip_csum_ok(s->data, &l));
		assert_true(net_l4_csum_ok(s->data, &l));
		seq = (u32)s->data[38] << 24 | s->data[39] << 16 | s->data[40] << 8 | s->data[41];
		assert_int_equal(seq, 1 + got);
		assert_memory_equal(s->data + 54, b + 54 + got, s->len - 54);
		got += s->len - 54;
	}
	assert_int_equal(got, 2500);
	assert_int_equal(f->fn.sent[2].len, 54 + 500);
	assert_int_equal(rd(f, E1000_STATS + E1000_ST_TSCTC), 1);
}

static void test_tx_backpressure(void **state)
{
	struct fx *f = *state;
	u8 b[64];

	tx_ring(f);
	eth(b, sizeof(b), (const u8 *)"\x02\x00\x00\x00\x00\x02");
	memcpy(ram(f, TXB), b, sizeof(b));
	txd(f, 0, TXB, sizeof(b), E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0, 0);
	txd(f, 1, TXB, sizeof(b), E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0, 0);
	f->fn.send_ret = -EAGAIN;
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->fn.nr_sent, 0);
	assert_int_equal(rd(f, E1000_TDH), 0); /* still the device's */
	assert_int_equal(ram(f, TXR + 12)[0] & E1000_TXD_STAT_DD, 0);
	f->fn.send_ret = 0;
	fake_net_tx_ready(&f->fn, 0);
	assert_int_equal(f->fn.nr_sent, 2);
	assert_int_equal(rd(f, E1000_TDH), 2);
}

static void test_tx_hostile(void **state)
{
	struct fx *f = *state;
	struct e1000_stats st;
	u8 b[64];

	tx_ring(f);
	eth(b, sizeof(b), (const u8 *)"\x02\x00\x00\x00\x00\x02");
	memcpy(ram(f, TXB), b, sizeof(b));
	/* a buffer outside RAM: the frame is dropped, the ring moves on */
	txd(f, 0, RAM - 8, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0, 0);
	wr(f, E1000_TDT, 1);
	assert_int_equal(f->fn.nr_sent, 0);
	assert_int_equal(rd(f, E1000_TDH), 1);
	e1000_get_stats(f->d, &st);
	assert_int_equal(st.tx_dropped, 1);
	/* descriptors without EOP: nothing goes out and TDH waits at the frame */
	for (unsigned i = 1; i < NDESC; i++)
		txd(f, i, TXB, sizeof(b), 0, 0, 0);
	wr(f, E1000_TDT, 7);
	assert_int_equal(f->fn.nr_sent, 0);
	assert_int_equal(rd(f, E1000_TDH), 1);
	/* TDT beyond the ring: ignored */
	wr(f, E1000_TDT, 1000);
	assert_int_equal(f->fn.nr_sent, 0);
	/* and a sane frame after all that */
	txd(f, 1, TXB, sizeof(b), E1000_TXD_CMD_EOP, 0, 0);
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->fn.nr_sent, 1);
	assert_int_equal(rd(f, E1000_TDH), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eeprom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phy_and_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_mask_and_itr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fcs_and_spanning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_checksums, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_gso, setup_vnet, teardown),
		cmocka_unit_test_setup_teardown(test_tx_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_checksum_offload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_tso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_hostile, setup, teardown),
	};

	return cmocka_run_group_tests_name("e1000", tests, NULL, NULL);
}
