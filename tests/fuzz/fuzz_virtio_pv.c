// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the paravirtual virtio devices (src/virtio: console.c, rng.c, on the
 * split virtqueue and the real PCI transport), driven as a hostile guest would: the input is
 * a program of driver actions on either virtio-rng (with or without a rate limit) or a
 * multiport virtio-console of three ports, whose guest memory (descriptor tables, available
 * rings, buffers, control messages) the input writes.
 *
 * Input: one configuration byte (which device, queue size, rate limit, whether to skip the
 * normal driver set-up), a le32 mask of the device's feature bits 0-31 the driver accepts
 * (VERSION_1 is always accepted), then operations until the input ends, each an opcode byte
 * and its operands (see enum fpv_op): write guest memory, write one descriptor, make a head
 * available, set the available index to anything, notify any queue number, post a whole
 * buffer (device-readable or -writable, direct or indirect, looping, or a control message
 * the console parses), write common configuration registers, MSI-X table, PCI configuration
 * space, the device configuration (the console's emergency write), read any register, reset
 * the device, run the work it deferred to the main loop, move the clock (the rng's windows),
 * give a console port host input, resize a port.
 *
 * Checks besides the sanitizers: the host heap may not grow past FPV_HEAP_MAX above what the
 * set-up used; every byte of guest RAM the device changes is reported to gmem's write hook
 * (fuzz_dma_*); the back end hears only of the ports that exist; host input is never taken
 * past what was offered. Work per input is bounded by its length.
 */
#include "fuzz_dev.h"
#include "virtio/console.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"

#include <string.h>

#define FPV_RAM	     (256u << 10)
#define FPV_DEV	     4
#define FPV_DEVFN    (FPV_DEV << 3)
#define FPV_BAR4     0xe0000000ull
#define FPV_BAR1     0xe0100000ull
#define FPV_RINGS    0x1000ull /* queue q: descriptors at +q*0x1000, avail +0x800, used +0xc00 */
#define FPV_AVAIL    0x800ull
#define FPV_USED     0xc00ull
#define FPV_QSTRIDE  0x1000ull
#define FPV_NQ	     8 /* console: port 0 pair, control pair, ports 1 and 2 */
#define FPV_DATA     (FPV_RINGS + FPV_NQ * FPV_QSTRIDE)
#define FPV_MSI_ADDR 0xfee00000u
#define FPV_PORTS    3
#define FPV_HEAP_MAX (8u << 20)

enum fpv_op {
	FPV_OP_MEM,	  /* le24 gpa, u8 len, bytes: guest memory */
	FPV_OP_DESC,	  /* u8 q, u16 index, le64 addr, le32 len, le16 flags, le16 next */
	FPV_OP_POST,	  /* u8 q, le16 head: next available-ring slot, then the index */
	FPV_OP_AVAIL_IDX, /* u8 q, le16 idx: the available index, any value */
	FPV_OP_NOTIFY,	  /* u8 q: write the queue's notify address (any queue number) */
	FPV_OP_BUFFER,	  /* see fpv_buffer */
	FPV_OP_COMMON,	  /* u8 off, u8 size, le32 val: common configuration write */
	FPV_OP_READ,	  /* le16 off, u8 size: read BAR 4 */
	FPV_OP_MSIX,	  /* le16 off, le32 val: MSI-X table / PBA write */
	FPV_OP_CFG,	  /* u8 off, u8 size, le32 val: PCI configuration write */
	FPV_OP_DEVCFG,	  /* u8 off, u8 size, le32 val: device configuration write */
	FPV_OP_RESET,	  /* system reset of the device */
	FPV_OP_DEFER,	  /* the main loop runs the work the device deferred */
	FPV_OP_CLOCK,	  /* le32 ns: the clock moves on, due timers fire */
	FPV_OP_INPUT,	  /* u8 port, u8 len: host input for a console port */
	FPV_OP_RESIZE,	  /* u8 port, le16 cols, le16 rows */
	FPV_NR_OPS,
};

/* Configuration byte. */
#define FPV_CFG_CONSOLE	 0x01
#define FPV_CFG_QSIZE(c) (4u << (2 * (((c) >> 1) & 3))) /* 4, 16, 64, 256 */
#define FPV_CFG_LIMIT	 0x08				/* rng: 1000 bytes a second */
#define FPV_CFG_RAW	 0x10 /* no driver set-up: the operations do everything */

/* fpv_buffer flags */
#define FPV_BUF_WRITE	 0x01 /* device-writable */
#define FPV_BUF_INDIRECT 0x02
#define FPV_BUF_LOOP	 0x04
#define FPV_BUF_CTRL	 0x08 /* a console control message: le32 id, le16 event, le16 value */
#define FPV_BUF_NO_KICK	 0x10

struct fpv {
	struct fuzz_pc pc;
	struct fuzz_vpci drv; /* the driver side of its virtio-pci function */
	struct virtio_rng *rng;
	struct virtio_console *con;
	struct virtio_pci *vp;
	struct pci_dev *pci;
	unsigned nq, qsize;
	u16 next_desc[FPV_NQ], avail_idx[FPV_NQ];
	u64 host_got; /* bytes the back end received */
	size_t heap_base;
};

static void fpv_con_write(void *opaque, unsigned port, const u8 *buf, size_t len)
{
	struct fpv *f = opaque;

	(void)buf;
	FUZZ_CHECK(port < FPV_PORTS);
	f->host_got += len;
}

static void fpv_con_rx_ready(void *opaque, unsigned port)
{
	(void)opaque;
	FUZZ_CHECK(port < FPV_PORTS);
}

static u64 fpv_queue(const struct fpv *f, unsigned q)
{
	return FPV_RINGS + (q % f->nq) * FPV_QSTRIDE;
}

/* BARs, MSI-X vectors, features, every queue, DRIVER_OK: what a driver does first. */
static void fpv_driver_init(struct fpv *f, u8 cfg, u32 accept)
{
	f->drv = (struct fuzz_vpci){
		.pc = &f->pc, .devfn = FPV_DEVFN, .bar4 = FPV_BAR4, .bar1 = FPV_BAR1
	};
	fuzz_vpci_bars(&f->drv);
	if (cfg & FPV_CFG_RAW)
		return;
	fuzz_vpci_features(&f->drv, accept);
	fuzz_vpci_msix(&f->drv, f->nq, FPV_MSI_ADDR);
	for (unsigned q = 0; q < f->nq; q++) {
		u64 base = fpv_queue(f, q);

		fuzz_vpci_queue(&f->drv, q, f->qsize, base, base + FPV_AVAIL, base + FPV_USED);
	}
	fuzz_vpci_driver_ok(&f->drv);
}

static int fpv_setup(struct fpv *f, u8 cfg, u32 accept)
{
	memset(f, 0, sizeof(*f));
	f->qsize = FPV_CFG_QSIZE(cfg);
	if (fuzz_pc_init(&f->pc, FPV_RAM, FPV_DATA, 16) < 0)
		return -1;
	if (cfg & FPV_CFG_CONSOLE) {
		struct virtio_console_config cc = {
			.name = "virtio-console0",
			.nr_ports = FPV_PORTS,
			.port_names = { NULL, "org.fuzz.one", "org.fuzz.two" },
			.backend = { f, fpv_con_write, fpv_con_rx_ready },
		};

		f->nq = FPV_NQ;
		if (virtio_console_create(&f->pc.tp.p, &cc, &f->con, NULL) < 0)
			goto err_pc;
		f->pci = virtio_console_pci(f->con);
		f->vp = virtio_console_transport(f->con);
	} else {
		struct virtio_rng_config rc = { .name = "virtio-rng0",
						.bytes_per_second =
							cfg & FPV_CFG_LIMIT ? 1000 : 0 };

		f->nq = 1;
		if (virtio_rng_create(&f->pc.tp.p, &rc, &f->rng, NULL) < 0)
			goto err_pc;
		f->pci = virtio_rng_pci(f->rng);
		f->vp = virtio_rng_transport(f->rng);
	}
	if (pci_host_add(f->pc.host, f->pci, FPV_DEV, 0, NULL) < 0)
		goto err_dev;
	fpv_driver_init(f, cfg, accept);
	fuzz_dma_start(&f->pc);
	f->heap_base = fuzz_heap_bytes();
	return 0;
err_dev:
	if (f->con)
		virtio_console_destroy(f->con);
	else
		virtio_rng_destroy(f->rng);
err_pc:
	fuzz_pc_destroy(&f->pc);
	return -1;
}

static void fpv_teardown(struct fpv *f)
{
	pci_host_remove(f->pc.host, f->pci);
	if (f->con)
		virtio_console_destroy(f->con);
	else
		virtio_rng_destroy(f->rng);
	fuzz_dma_finish();
	fuzz_pc_destroy(&f->pc);
}

static void fpv_post(struct fpv *f, unsigned q, u16 head)
{
	u64 avail = fpv_queue(f, q) + FPV_AVAIL;

	fuzz_vring_post(&f->pc, avail, &f->avail_idx[q % f->nq], f->qsize, head);
}

/*
 * u8 q, u8 segments - 1, le16 bytes - 1, u8 flags, and for FPV_BUF_CTRL le32 id, le16 event, le16
 * value: one buffer chain the way a driver builds it, made available, notified.
 */
static void fpv_buffer(struct fpv *f, struct fuzz_in *in)
{
	unsigned q = fuzz_u8(in) % f->nq, nseg = fuzz_u8(in) % 4 + 1;
	u32 len = fuzz_u16(in) % 4096 + 1;
	u8 flags = fuzz_u8(in);
	u16 dflag = flags & FPV_BUF_WRITE ? VIRTQ_DESC_F_WRITE : 0;
	u64 data = fuzz_pc_alloc(&f->pc, len), table = fpv_queue(f, q);
	u16 head = f->next_desc[q] % f->qsize;

	if (flags & FPV_BUF_CTRL) {
		fuzz_pc_put(&f->pc, data, fuzz_u32(in), 4);
		fuzz_pc_put(&f->pc, data + 4, fuzz_u16(in), 2);
		fuzz_pc_put(&f->pc, data + 6, fuzz_u16(in), 2);
	}
	if (flags & FPV_BUF_INDIRECT) {
		u64 t = fuzz_pc_alloc(&f->pc, 16ull * nseg);

		for (unsigned i = 0; i < nseg; i++) {
			u32 l = i + 1 < nseg ? len / nseg : len - i * (len / nseg);
			bool more = i + 1 < nseg || (flags & FPV_BUF_LOOP);

			fuzz_vring_desc(&f->pc, t, i, data + i * (len / nseg), l,
					(u16)(dflag | (more ? VIRTQ_DESC_F_NEXT : 0)),
					(u16)(i + 1 < nseg ? i + 1 : 0));
		}
		fuzz_vring_desc(&f->pc, table, head, t, 16 * nseg, VIRTQ_DESC_F_INDIRECT, 0);
		f->next_desc[q] = (u16)(head + 1);
	} else {
		for (unsigned i = 0; i < nseg; i++) {
			unsigned d = (head + i) % f->qsize;
			u32 l = i + 1 < nseg ? len / nseg : len - i * (len / nseg);
			bool last = i + 1 == nseg;

			fuzz_vring_desc(
				&f->pc, table, d, data + i * (len / nseg), l,
				(u16)(dflag |
				      (!last || (flags & FPV_BUF_LOOP) ? VIRTQ_DESC_F_NEXT : 0)),
				(u16)(last ? head : (d + 1) % f->qsize));
		}
		f->next_desc[q] = (u16)(head + nseg);
	}
	fpv_post(f, q, head);
	fuzz_dma_sync();
	if (!(flags & FPV_BUF_NO_KICK))
		fuzz_vpci_notify(&f->drv, q);
}

static unsigned fpv_size(u8 sel)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	return sizes[sel & 3];
}

static void fpv_op(struct fpv *f, struct fuzz_in *in)
{
	struct bus *mmio = &f->pc.tp.p.mmio;
	unsigned op = fuzz_u8(in) % FPV_NR_OPS, q, off, size;

	switch (op) {
	case FPV_OP_MEM:
		fuzz_pc_mem_op(&f->pc, in);
		break;
	case FPV_OP_DESC: {
		u64 addr;
		u32 len;
		u16 idx, flags, next;

		q = fuzz_u8(in);
		idx = fuzz_u16(in);
		addr = fuzz_u64(in);
		len = fuzz_u32(in);
		flags = fuzz_u16(in);
		next = fuzz_u16(in);
		fuzz_vring_desc(&f->pc, fpv_queue(f, q), idx % f->qsize, addr, len, flags, next);
		fuzz_dma_sync();
		break;
	}
	case FPV_OP_POST:
		q = fuzz_u8(in);
		fpv_post(f, q, fuzz_u16(in));
		fuzz_dma_sync();
		break;
	case FPV_OP_AVAIL_IDX:
		q = fuzz_u8(in) % f->nq;
		f->avail_idx[q] = fuzz_u16(in);
		fuzz_pc_put(&f->pc, fpv_queue(f, q) + FPV_AVAIL + 2, f->avail_idx[q], 2);
		fuzz_dma_sync();
		break;
	case FPV_OP_NOTIFY:
		fuzz_vpci_notify(&f->drv, fuzz_u8(in));
		break;
	case FPV_OP_BUFFER:
		fpv_buffer(f, in);
		break;
	case FPV_OP_COMMON:
		off = fuzz_u8(in) % VIRTIO_PCI_COMMON_SIZE;
		size = fpv_size(fuzz_u8(in));
		fuzz_vpci_common(&f->drv, off, size, fuzz_u32(in));
		break;
	case FPV_OP_READ:
		off = fuzz_u16(in) % VIRTIO_PCI_BAR_SIZE;
		size = fpv_size(fuzz_u8(in));
		(void)bus_read(mmio, FPV_BAR4 + off, size);
		break;
	case FPV_OP_MSIX:
		off = fuzz_u16(in) % VIRTIO_PCI_MSIX_BAR_SIZE;
		bus_write(mmio, FPV_BAR1 + (off & ~3u), 4, fuzz_u32(in));
		break;
	case FPV_OP_CFG:
		off = fuzz_u8(in);
		size = fpv_size(fuzz_u8(in) % 3);
		fuzz_cfg_write(&f->pc, FPV_DEVFN, off, size, fuzz_u32(in));
		break;
	case FPV_OP_DEVCFG:
		off = fuzz_u8(in) % 64;
		size = fpv_size(fuzz_u8(in) % 3);
		bus_write(mmio, FPV_BAR4 + VIRTIO_PCI_DEVICE_OFF + off, size, fuzz_u32(in));
		break;
	case FPV_OP_RESET:
		if (f->con)
			virtio_console_reset(f->con);
		else
			virtio_rng_reset(f->rng);
		break;
	case FPV_OP_DEFER:
		virtio_pci_defer_event(f->vp);
		break;
	case FPV_OP_CLOCK:
		test_platform_advance(&f->pc.tp, fuzz_u32(in));
		break;
	case FPV_OP_INPUT: {
		u8 buf[255];
		unsigned port = fuzz_u8(in) % (FPV_PORTS + 1), len = fuzz_u8(in);

		memset(buf, 'x', len);
		if (f->con)
			FUZZ_CHECK(virtio_console_receive(f->con, port, buf, len) <= len);
		break;
	}
	case FPV_OP_RESIZE: {
		unsigned port = fuzz_u8(in) % (FPV_PORTS + 1);
		u16 cols = fuzz_u16(in), rows = fuzz_u16(in);

		if (f->con)
			(void)!virtio_console_resize(f->con, port, cols, rows);
		break;
	}
	}
	fuzz_dma_check();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u8 cfg = fuzz_u8(&in);
	u32 accept = fuzz_u32(&in);
	struct fpv f;

	fuzz_quiet_logs();
	if (fpv_setup(&f, cfg, accept) < 0)
		return 0;
	while (fuzz_left(&in)) {
		fpv_op(&f, &in);
		FUZZ_CHECK(fuzz_heap_bytes() < f.heap_base + FPV_HEAP_MAX);
	}
	if (fuzz_verbose()) {
		fprintf(stderr,
			"fuzz_virtio_pv: %s, status %#x, %u MSIs, %llu bytes to the back end\n",
			f.con ? "console" : "rng",
			(unsigned)bus_read(
				&f.pc.tp.p.mmio,
				FPV_BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 1),
			f.pc.tp.nr_msis, (unsigned long long)f.host_got);
		for (unsigned q = 0; q < f.nq; q++) {
			const u8 *u = fuzz_pc_ram(&f.pc, fpv_queue(&f, q) + FPV_USED + 2);

			fprintf(stderr, "  q%u used idx %u\n", q, u[0] | u[1] << 8);
		}
	}
	fpv_teardown(&f);
	return 0;
}
