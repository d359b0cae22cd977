// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the NICs' descriptor paths: the e1000's receive and transmit rings
 * (legacy, context and data descriptors, TSO) and virtio-net's queues (transmit headers and
 * offloads, mergeable and plain receive buffers, the control queue) over virtqueues, with the
 * software offloads of net.c behind them (the recording back end of tests/unit/harness takes
 * the frames). The first byte picks the device (bit 0: e1000 or virtio-net; for e1000, bit 1:
 * a back end with a vnet header, which hands over segmentation offload frames for the device
 * to cut) and, for virtio-net, the features the driver accepts come next (8 bytes); the rest
 * is a program of operations on the machine:
 *   0 RAM write    u24 offset, u8 len, len bytes
 *   1 reg write    u16 offset (BAR 0 for e1000; BAR 4 for virtio), u32 value
 *   2 reg read     u16 offset
 *   3 frame in     u8 hdr flags, u8 gso type, u16 len (at most 9000), len bytes: the back end
 *                  hands the device a frame (gso_size 64 + len % 1024)
 *   4 back end     u8: bit 0 full (sends answer -EAGAIN) or not, then the host's tx_ready
 *   5 time         u16 microseconds pass (the e1000's ITR and transmit timers)
 *   6 link         u8: bit 0 up or down
 *   7 kick         u8 virtio queue (a notification)
 *   8 reset        the device's reset
 * At most FUZZ_NIC_OPS operations run. Whatever the program, the device must neither crash nor
 * hang nor hand the back end a frame longer than NET_MAX_FRAME, and the host heap must stay
 * within FUZZ_NIC_HEAP of the set-up.
 *
 * `fuzz_nic_replay --write-seeds DIR` (or the libFuzzer binary with that argument) writes a
 * seed corpus of working programs into DIR (tests/fuzz/corpus/nic).
 */
#include "devices/e1000.h"
#include "devices/e1000_regs.h"
#include "devices/pci.h"
#include "fake_net.h"
#include "fuzz.h"
#include "test_platform.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RAM      (1u << 20)
#define FUZZ_NIC_OPS  256
#define FUZZ_SLOT     3
#define FUZZ_BAR0     0xfebc0000ull
#define FUZZ_BAR4     0xe0000000ull
#define FUZZ_BAR1     0xe0100000ull
#define FUZZ_IO	      0xc000
#define FUZZ_RINGS    0x10000 /* virtio queue q at FUZZ_RINGS + 0x1000 * q: desc, +0x400, +0x800 */
#define FUZZ_QSZ      16
#define FUZZ_NIC_HEAP (16u << 20)

/* n bytes of the input into out; false (and nothing read) when fewer are left. */
static bool fuzz_take(struct fuzz_in *in, void *out, size_t n)
{
	if (fuzz_left(in) < n)
		return false;
	fuzz_bytes(in, out, n);
	return true;
}

struct fuzz_nic {
	struct test_platform tp;
	struct pci_host *host;
	struct fake_net fn;
	struct e1000 *e;
	struct virtio_net *v;
};

static void fuzz_cfg(struct fuzz_nic *m, unsigned off, unsigned size, u32 val)
{
	bus_write(&m->tp.p.pio, 0xcf8, 4, 0x80000000u | FUZZ_SLOT << 11 | (off & 0xfc));
	bus_write(&m->tp.p.pio, 0xcfc + (off & 3), size, val);
}

static void fuzz_common(struct fuzz_nic *m, unsigned off, unsigned size, u64 val)
{
	bus_write(&m->tp.p.mmio, FUZZ_BAR4 + VIRTIO_PCI_COMMON_OFF + off, size, val);
}

/* The virtio driver's start: features, three queues at fixed places, DRIVER_OK. */
static void fuzz_virtio_start(struct fuzz_nic *m, u64 features)
{
	const u8 st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	fuzz_common(m, VIRTIO_PCI_COMMON_STATUS, 1, st);
	fuzz_common(m, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	fuzz_common(m, VIRTIO_PCI_COMMON_GF, 4, (u32)features);
	fuzz_common(m, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	fuzz_common(m, VIRTIO_PCI_COMMON_GF, 4, (u32)(features >> 32) | 1); /* VERSION_1 */
	fuzz_common(m, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		u64 base = FUZZ_RINGS + 0x1000ull * q;

		fuzz_common(m, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_SIZE, 2, FUZZ_QSZ);
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)base);
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)(base + 0x400));
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)(base + 0x800));
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
		fuzz_common(m, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	fuzz_common(m, VIRTIO_PCI_COMMON_STATUS, 1,
		    st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static int fuzz_setup(struct fuzz_nic *m, bool e1000, bool vnet_hdr, u64 features)
{
	struct pci_host_config hc = { .name = "pci" };
	static const u8 mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	memset(m, 0, sizeof(*m));
	if (test_platform_init(&m->tp, FUZZ_RAM) || pci_host_create(&m->tp.p, &hc, &m->host, NULL))
		return -1;
	fake_net_init(&m->fn,
		      e1000 && vnet_hdr ? NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 :
					  (unsigned)(features >> 40) & 15,
		      1);
	if (!m->fn.be)
		return -1;
	if (e1000 && vnet_hdr)
		fake_net_set_vnet_hdr(&m->fn);
	if (e1000) {
		struct e1000_config c = { .name = "net0", .be = m->fn.be };

		memcpy(c.mac, mac, 6);
		if (e1000_create(&m->tp.p, &c, &m->e, NULL) ||
		    pci_host_add(m->host, e1000_pci(m->e), FUZZ_SLOT, 0, NULL))
			return -1;
		fuzz_cfg(m, PCI_BASE_ADDRESS_0, 4, (u32)FUZZ_BAR0);
		fuzz_cfg(m, PCI_BASE_ADDRESS_0 + 4, 4, FUZZ_IO | 1);
		fuzz_cfg(m, PCI_COMMAND, 2,
			 PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
		return 0;
	}
	{
		struct virtio_net_config c = { .name = "net0",
					       .queue_size = FUZZ_QSZ,
					       .be = m->fn.be };

		memcpy(c.mac, mac, 6);
		if (virtio_net_create(&m->tp.p, &c, &m->v, NULL) ||
		    pci_host_add(m->host, virtio_net_pci(m->v), FUZZ_SLOT, 0, NULL))
			return -1;
	}
	fuzz_cfg(m, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)FUZZ_BAR4);
	fuzz_cfg(m, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)FUZZ_BAR1);
	fuzz_cfg(m, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	fuzz_virtio_start(m, features);
	return 0;
}

static void fuzz_teardown(struct fuzz_nic *m)
{
	if (m->e) {
		pci_host_remove(m->host, e1000_pci(m->e));
		e1000_destroy(m->e);
	}
	if (m->v) {
		pci_host_remove(m->host, virtio_net_pci(m->v));
		virtio_net_destroy(m->v);
	}
	if (m->fn.be)
		fake_net_fini(&m->fn);
	if (m->host)
		pci_host_destroy(m->host);
	test_platform_destroy(&m->tp);
}

static u64 fuzz_reg_base(const struct fuzz_nic *m)
{
	return m->e ? FUZZ_BAR0 : FUZZ_BAR4;
}

/* One operation; false when the input is used up. */
static bool fuzz_op(struct fuzz_nic *m, struct fuzz_in *in)
{
	static u8 frame[9000];
	u8 op, b[4];
	u16 off, len;
	u32 val;

	if (!fuzz_take(in, &op, 1))
		return false;
	switch (op % 9) {
	case 0:
		if (!fuzz_take(in, b, 4))
			return false;
		val = (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16;
		len = b[3];
		if (fuzz_left(in) < len)
			return false;
		if (val + len <= FUZZ_RAM)
			memcpy((u8 *)m->tp.ram + val, in->p + in->pos, len);
		in->pos += len;
		return true;
	case 1:
		if (!fuzz_take(in, &off, 2) || !fuzz_take(in, &val, 4))
			return false;
		bus_write(&m->tp.p.mmio, fuzz_reg_base(m) + (off & ~3u), 4, val);
		return true;
	case 2:
		if (!fuzz_take(in, &off, 2))
			return false;
		(void)bus_read(&m->tp.p.mmio, fuzz_reg_base(m) + (off & ~3u), 4);
		return true;
	case 3: {
		struct net_hdr h = { 0 };

		if (!fuzz_take(in, b, 2) || !fuzz_take(in, &len, 2))
			return false;
		h.flags = b[0];
		h.gso_type = b[1];
		len = (u16)(len % sizeof(frame));
		if (fuzz_left(in) < len)
			len = (u16)fuzz_left(in);
		fuzz_bytes(in, frame, len);
		h.csum_start = 14;
		h.csum_offset = 16;
		h.gso_size = (u16)(64 + len % 1024);
		(void)fake_net_deliver(&m->fn, 0, &h, frame, len);
		return true;
	}
	case 4:
		if (!fuzz_take(in, b, 1))
			return false;
		m->fn.send_ret = (b[0] & 1) ? -EAGAIN : 0;
		fake_net_tx_ready(&m->fn, 0);
		return true;
	case 5:
		if (!fuzz_take(in, &off, 2))
			return false;
		test_platform_advance(&m->tp, off * 1000ull);
		return true;
	case 6:
		if (!fuzz_take(in, b, 1))
			return false;
		if (m->e)
			e1000_set_link(m->e, b[0] & 1);
		else
			virtio_net_set_link(m->v, b[0] & 1);
		return true;
	case 7:
		if (!fuzz_take(in, b, 1))
			return false;
		if (m->v)
			bus_write(&m->tp.p.mmio,
				  FUZZ_BAR4 + VIRTIO_PCI_NOTIFY_OFF +
					  VIRTIO_PCI_NOTIFY_MULT * (b[0] % 3),
				  2, b[0] % 3);
		return true;
	default:
		if (m->e)
			e1000_reset(m->e);
		else
			virtio_net_reset(m->v);
		return true;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	struct fuzz_nic m;
	u64 features = 0;
	size_t heap;
	u8 kind;

	fuzz_quiet_logs(); /* hostile programs warn on every access */
	if (!fuzz_take(&in, &kind, 1))
		return 0;
	if (!(kind & 1) && !fuzz_take(&in, &features, 8))
		return 0;
	if (fuzz_setup(&m, kind & 1, kind & 2, features) == 0) {
		heap = fuzz_heap_bytes();
		for (unsigned i = 0; i < FUZZ_NIC_OPS && fuzz_op(&m, &in); i++)
			FUZZ_CHECK(fuzz_heap_bytes() < heap + FUZZ_NIC_HEAP);
		/* net_send must not let a frame through that is too long */
		for (unsigned i = 0; i < m.fn.nr_sent && i < FAKE_NET_FRAMES; i++)
			FUZZ_CHECK(m.fn.sent[i].len <= NET_MAX_FRAME);
	}
	fuzz_teardown(&m);
	return 0;
}

/* ---- seeds: programs a driver would run ---- */

struct fuzz_prog {
	u8 b[16384];
	size_t n;
};

static void put(struct fuzz_prog *p, const void *v, size_t n)
{
	if (p->n + n <= sizeof(p->b)) {
		memcpy(p->b + p->n, v, n);
		p->n += n;
	}
}

static void put8(struct fuzz_prog *p, u8 v)
{
	put(p, &v, 1);
}

static void reg(struct fuzz_prog *p, u16 off, u32 val)
{
	put8(p, 1);
	put(p, &off, 2);
	put(p, &val, 4);
}

static void ram(struct fuzz_prog *p, u32 gpa, const void *v, u8 len)
{
	put8(p, 0);
	put(p, (u8[]){ (u8)gpa, (u8)(gpa >> 8), (u8)(gpa >> 16), len }, 4);
	put(p, v, len);
}

static void frame_in(struct fuzz_prog *p, u8 flags, u16 len)
{
	put8(p, 3);
	put8(p, flags);
	put8(p, 0);
	put(p, &len, 2);
	for (u16 i = 0; i < len; i++)
		put8(p, i < 6 ? (u8[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }[i] : (u8)i);
}

/* A TCP/IPv4 frame of len bytes (payload after 54 bytes of headers) as a GSO TCPV4 frame. */
static void gso_frame_in(struct fuzz_prog *p, u16 len)
{
	u8 h[54] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45 };

	h[16] = (u8)((len - 14) >> 8), h[17] = (u8)(len - 14), h[22] = 64, h[23] = 6;
	memcpy(h + 26, "\x0a\x00\x02\x02\x0a\x00\x02\x0f", 8);
	h[35] = 80, h[41] = 1, h[46] = 0x50, h[47] = 0x10, h[48] = 0xff;
	put8(p, 3);
	put8(p, 1); /* NEEDS_CSUM */
	put8(p, 1); /* GSO TCPV4 */
	put(p, &len, 2);
	put(p, h, sizeof(h));
	for (u16 i = sizeof(h); i < len; i++)
		put8(p, (u8)i);
}

static void desc(struct fuzz_prog *p, u32 table, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	ram(p, table + 16 * i, d, 16);
}

static void avail(struct fuzz_prog *p, unsigned q, u16 idx, u16 head)
{
	u32 a = FUZZ_RINGS + 0x1000 * q + 0x400;

	ram(p, a + 4 + 2 * ((idx - 1) % FUZZ_QSZ), &head, 2);
	ram(p, a + 2, &idx, 2);
}

static int seed_write(const char *dir, const char *name, const struct fuzz_prog *p)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p->b, 1, p->n, f) != p->n) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static void e1000_rings(struct fuzz_prog *p)
{
	put8(p, 1); /* e1000 */
	for (unsigned i = 0; i < 8; i++)
		ram(p, 0x20000 + 16 * i, &(u64){ 0x40000 + 0x800ull * i }, 8);
	reg(p, E1000_RDBAL, 0x20000);
	reg(p, E1000_RDLEN, 128);
	reg(p, E1000_RDT, 7);
	reg(p, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM);
	reg(p, E1000_TDBAL, 0x30000);
	reg(p, E1000_TDLEN, 128);
	reg(p, E1000_TCTL, E1000_TCTL_EN);
	reg(p, E1000_IMS, 0xffff);
	reg(p, E1000_ITR, 100);
}

static int write_seeds(const char *dir)
{
	static struct fuzz_prog p;
	u8 d[16] = { 0 },
	   ctx[16] = { 14, 24, 33, 0, 34, 50, 0, 0, 0x20, 0x03, 0, 0x27, 0, 54, 0x40, 0x02 };

	/* e1000: a frame in, a legacy frame out, time for ITR */
	p.n = 0;
	e1000_rings(&p);
	frame_in(&p, 0, 200);
	d[8] = 100, d[11] = E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS;
	memcpy(d, &(u64){ 0x50000 }, 8);
	ram(&p, 0x30000, d, 16);
	reg(&p, E1000_TDT, 1);
	put8(&p, 5);
	put(&p, &(u16){ 500 }, 2);
	reg(&p, E1000_ICR, 0);
	if (seed_write(dir, "e1000-rx-tx", &p))
		return 1;
	/* e1000: context + TSO data descriptors, the back end full then free */
	p.n = 0;
	e1000_rings(&p);
	ram(&p, 0x30000, ctx, 16);
	memset(d, 0, 16);
	memcpy(d, &(u64){ 0x50000 }, 8);
	d[8] = 0x56, d[9] = 0x03, d[10] = 0x10, d[11] = 0x2d, d[13] = 3; /* 854 bytes, TSE|EOP|RS */
	ram(&p, 0x30010, d, 16);
	put8(&p, 4);
	put8(&p, 1);
	reg(&p, E1000_TDT, 2);
	put8(&p, 4);
	put8(&p, 0);
	put8(&p, 6);
	put8(&p, 0);
	frame_in(&p, 0, 60);
	put8(&p, 6);
	put8(&p, 1);
	if (seed_write(dir, "e1000-tso-backpressure", &p))
		return 1;
	/* e1000 behind a vnet header: a GSO frame cut into more segments than the ring holds */
	p.n = 0;
	e1000_rings(&p);
	p.b[0] = 3;
	gso_frame_in(&p, 2054);
	reg(&p, E1000_RDT, 6);
	gso_frame_in(&p, 2054);
	if (seed_write(dir, "e1000-vnet-gso-rx", &p))
		return 1;
	/* virtio-net: mergeable receive, a transmit, a control command */
	p.n = 0;
	put8(&p, 0);
	put(&p,
	    &(u64){ 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CTRL_VQ |
		    1ull << VIRTIO_NET_F_CTRL_RX | 1ull << VIRTIO_NET_F_CSUM |
		    1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_F_EVENT_IDX },
	    8);
	for (unsigned i = 0; i < 3; i++) {
		desc(&p, FUZZ_RINGS, i, 0x40000 + 0x800 * i, 700, VIRTQ_DESC_F_WRITE, 0);
		avail(&p, 0, (u16)(i + 1), (u16)i);
	}
	put8(&p, 7);
	put8(&p, 0);
	frame_in(&p, 0, 1500);
	desc(&p, FUZZ_RINGS + 0x1000, 0, 0x50000, 12, VIRTQ_DESC_F_NEXT, 1);
	desc(&p, FUZZ_RINGS + 0x1000, 1, 0x50100, 120, 0, 0);
	avail(&p, 1, 1, 0);
	put8(&p, 7);
	put8(&p, 1);
	ram(&p, 0x51000, (u8[]){ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0 }, 3);
	desc(&p, FUZZ_RINGS + 0x2000, 0, 0x51000, 3, VIRTQ_DESC_F_NEXT, 1);
	desc(&p, FUZZ_RINGS + 0x2000, 1, 0x51100, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(&p, 2, 1, 0);
	put8(&p, 7);
	put8(&p, 2);
	frame_in(&p, 0, 80);
	put8(&p, 6);
	put8(&p, 0);
	return seed_write(dir, "virtio-net-rx-tx-ctrl", &p) ? 1 : 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (*argc == 3 && !strcmp((*argv)[1], "--write-seeds"))
		exit(write_seeds((*argv)[2]));
	return 0;
}
