// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the split virtqueue and the virtio-blk request path (src/virtio:
 * virtqueue.c, blk.c, virtio_pci.c), driven as a hostile guest would: the input is a program
 * of driver actions on a virtio-blk device on the real PCI transport, whose guest memory
 * (descriptor tables, available rings, indirect tables, request headers, data) the input
 * writes, over a 64 KiB raw disk in memory (fuzz_dev.h).
 *
 * Input: one configuration byte (queues, queue size, read-only disk, MSI-X or INTx, whether
 * to skip the normal driver set-up, an interrupt handler that re-posts every completion), a
 * le32 mask of the device's feature bits 0-31 the driver accepts (VERSION_1 is always
 * accepted), then operations until the input ends,
 * each an opcode byte and its operands (see enum fvb_op): write guest memory, write one
 * descriptor, make a head available, set the available index to anything (wrapping, ahead
 * of the device), notify any queue number, build a whole request (IN, OUT, FLUSH, GET_ID,
 * DISCARD, WRITE_ZEROES, unknown types; direct, indirect, split in segments, looping),
 * complete what the block layer finished, write common configuration registers (status,
 * queue size/enable/addresses while requests are in flight), MSI-X table, PCI configuration
 * space (move or disable the BARs), read any register, reset the device, run the work the
 * device deferred to the main loop (a notification's round is at most a queue's worth).
 *
 * Checks besides the sanitizers: the host heap may not grow past FVB_HEAP_MAX above what the
 * set-up used while the input runs (requests in flight are bounded by the queues' sizes);
 * every byte of guest RAM the device changes is reported to gmem's write hook, also for
 * requests a reset dropped (fuzz_dma_*: the BT engine's translated code depends on it); the
 * device is destroyed at the end with every request accounted for.
 * Work per input is bounded by the input's length: every operation does a bounded amount.
 */
#include "fuzz_dev.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"

#include <string.h>

#define FVB_RAM	     (256u << 10)
#define FVB_DISK     (64u << 10)
#define FVB_DEV	     3
#define FVB_DEVFN    (FVB_DEV << 3)
#define FVB_BAR4     0xe0000000ull
#define FVB_BAR1     0xe0100000ull
#define FVB_RINGS    0x1000ull /* queue q: descriptors at +q*0x2000, driver area +0x1000 */
#define FVB_AVAIL    0x1000ull
#define FVB_USED     0x1400ull /* device area */
#define FVB_QSTRIDE  0x2000ull
#define FVB_DATA     0x8000ull /* request headers, data, indirect tables from here on */
#define FVB_MSI_ADDR 0xfee00000u
/* Requests in flight cost ~33 KiB each: 2 queues x 256 is ~17 MiB; more is unbounded growth. */
#define FVB_HEAP_MAX (48u << 20)

enum fvb_op {
	FVB_OP_MEM,	  /* le24 gpa, u8 len, bytes: guest memory */
	FVB_OP_DESC,	  /* u8 q, u16 index, le64 addr, le32 len, le16 flags, le16 next */
	FVB_OP_POST,	  /* u8 q, le16 head: next available-ring slot, then the index */
	FVB_OP_AVAIL_IDX, /* u8 q, le16 idx: the available index, any value */
	FVB_OP_NOTIFY,	  /* u8 q: write the queue's notify address (any queue number) */
	FVB_OP_POLL,	  /* complete what the block layer finished */
	FVB_OP_REQUEST,	  /* see fvb_request */
	FVB_OP_COMMON,	  /* u8 off, u8 size, le32 val: common configuration write */
	FVB_OP_READ,	  /* le16 off, u8 size: read BAR 4 (common, ISR, device configuration) */
	FVB_OP_MSIX,	  /* le16 off, le32 val: MSI-X table / PBA write */
	FVB_OP_CFG,	  /* u8 off, u8 size, le32 val: PCI configuration write */
	FVB_OP_RESET,	  /* system reset of the device */
	FVB_OP_RING,	  /* u8 q, le16 avail flags, le16 used_event */
	FVB_OP_DEFER,	  /* the main loop runs the work the device deferred (a round cut short) */
	FVB_NR_OPS,
};

/* Configuration byte. */
#define FVB_CFG_TWO_QUEUES 0x01
#define FVB_CFG_QSIZE(c)   (4u << (2 * (((c) >> 1) & 3))) /* 4, 16, 64, 256 */
#define FVB_CFG_READONLY   0x08
#define FVB_CFG_INTX	   0x10
#define FVB_CFG_RAW	   0x20 /* no driver set-up: the operations do everything */
#define FVB_CFG_REPOST \
	0x40 /* the driver's interrupt handler makes each completion available again */

/* fvb_request flags */
#define FVB_REQ_INDIRECT 0x01
#define FVB_REQ_LOOP	 0x02 /* the last descriptor points back at the first */
#define FVB_REQ_NO_KICK	 0x04
#define FVB_REQ_WRONG	 0x08 /* data buffers get the other direction */
#define FVB_REQ_NO_STAT	 0x10 /* no status byte */

struct fvb_seg {
	u64 addr;
	u32 len;
	u16 flags;
};

struct fvb {
	struct fuzz_pc pc;
	struct fuzz_vpci drv; /* the driver side of its virtio-pci function */
	struct fuzz_disk disk;
	struct virtio_blk *blk;
	unsigned nq, qsize;
	u16 next_desc[2], avail_idx[2];
	unsigned reposts; /* FVB_CFG_REPOST: how many more the handler makes */
	size_t heap_base;
};

static struct fvb *fvb_current; /* for the MSI handler */

static u64 fvb_queue(unsigned q)
{
	return FVB_RINGS + (q & 1) * FVB_QSTRIDE;
}

/* BARs at fixed addresses, MSI-X vectors, features, both queues: what a driver does first. */
static void fvb_driver_init(struct fvb *f, u8 cfg, u32 accept)
{
	f->drv = (struct fuzz_vpci){
		.pc = &f->pc, .devfn = FVB_DEVFN, .bar4 = FVB_BAR4, .bar1 = FVB_BAR1
	};
	fuzz_vpci_bars(&f->drv);
	if (cfg & FVB_CFG_RAW)
		return;
	fuzz_vpci_features(&f->drv, accept);
	if (!(cfg & FVB_CFG_INTX))
		fuzz_vpci_msix(&f->drv, f->nq, FVB_MSI_ADDR);
	for (unsigned q = 0; q < f->nq; q++) {
		u64 base = fvb_queue(q);

		fuzz_vpci_queue(&f->drv, q, 0, base, base + FVB_AVAIL, base + FVB_USED);
	}
	fuzz_vpci_driver_ok(&f->drv);
}

static void fvb_post(struct fvb *f, unsigned q, u16 head)
{
	u64 avail = fvb_queue(q) + FVB_AVAIL;

	fuzz_vring_post(&f->pc, avail, &f->avail_idx[q], f->qsize, head);
}

/*
 * FVB_CFG_REPOST: an interrupt handler that makes the chain just completed available again
 * at once, inside the device's completion (the hostile driver of VIRTIO 1.2 2.7.13's race:
 * the ring never reads empty). Its writes go through gmem_write, so fuzz_dma counts them as
 * reported rather than as the device's.
 */
static void fvb_msi(struct platform *p, u64 addr, u32 data)
{
	struct fvb *f = fvb_current;
	unsigned q = (data - 0x40 - 1) & 1;
	u64 used = fvb_queue(q) + FVB_USED, avail = fvb_queue(q) + FVB_AVAIL;
	u16 idx = (u16)*fuzz_pc_ram(&f->pc, used + 2) | (u16)(*fuzz_pc_ram(&f->pc, used + 3) << 8);
	u8 b[2];

	(void)addr;
	f->pc.tp.nr_msis++;
	if (!f->reposts || !idx || q >= f->nq)
		return;
	f->reposts--;
	memcpy(b, fuzz_pc_ram(&f->pc, used + 4 + 8ull * ((u16)(idx - 1) % f->qsize)), 2);
	FUZZ_CHECK(!gmem_write(&p->mem, avail + 4 + 2ull * (f->avail_idx[q] % f->qsize), b, 2));
	f->avail_idx[q]++;
	b[0] = (u8)f->avail_idx[q];
	b[1] = (u8)(f->avail_idx[q] >> 8);
	FUZZ_CHECK(!gmem_write(&p->mem, avail + 2, b, 2));
}

static int fvb_setup(struct fvb *f, u8 cfg, u32 accept)
{
	struct virtio_blk_config bc = { .name = "virtio-blk0", .serial = "FUZZ-SERIAL" };

	memset(f, 0, sizeof(*f));
	f->nq = cfg & FVB_CFG_TWO_QUEUES ? 2 : 1;
	f->qsize = FVB_CFG_QSIZE(cfg);
	bc.num_queues = f->nq;
	bc.queue_size = f->qsize;
	if (fuzz_pc_init(&f->pc, FVB_RAM, FVB_DATA, 16) < 0)
		return -1;
	if (fuzz_disk_open(&f->disk, FVB_DISK, 512, cfg & FVB_CFG_READONLY) < 0)
		goto err_pc;
	if (virtio_blk_create(&f->pc.tp.p, f->disk.bd, &bc, &f->blk, NULL) < 0)
		goto err_disk;
	if (pci_host_add(f->pc.host, virtio_blk_pci(f->blk), FVB_DEV, 0, NULL) < 0)
		goto err_blk;
	fvb_driver_init(f, cfg, accept);
	fuzz_dma_start(&f->pc);
	if (cfg & FVB_CFG_REPOST) {
		fvb_current = f;
		f->reposts = 4 * f->qsize;
		f->pc.tp.p.msi = fvb_msi;
	}
	f->heap_base = fuzz_heap_bytes();
	return 0;

err_blk:
	virtio_blk_destroy(f->blk);
err_disk:
	fuzz_disk_close(&f->disk);
err_pc:
	fuzz_pc_destroy(&f->pc);
	return -1;
}

static void fvb_teardown(struct fvb *f)
{
	pci_host_remove(f->pc.host, virtio_blk_pci(f->blk));
	virtio_blk_destroy(f->blk); /* waits for what is in flight */
	fuzz_dma_finish();
	fuzz_disk_close(&f->disk);
	fuzz_pc_destroy(&f->pc);
}

/*
 * u8 q, u8 type selector, le64 sector, le16 data bytes, u8 segments, u8 flags, then for
 * DISCARD / WRITE_ZEROES le32 sectors, le32 segment flags. Builds the chain the way a driver
 * does (header, data split in segments, status byte), makes it available and notifies.
 */
static void fvb_request(struct fvb *f, struct fuzz_in *in)
{
	static const u32 types[8] = { VIRTIO_BLK_T_IN,
				      VIRTIO_BLK_T_OUT,
				      VIRTIO_BLK_T_FLUSH,
				      VIRTIO_BLK_T_GET_ID,
				      VIRTIO_BLK_T_DISCARD,
				      VIRTIO_BLK_T_WRITE_ZEROES,
				      2,
				      0xffffffffu };
	unsigned q = fuzz_u8(in) & 1, t = fuzz_u8(in);
	u32 type = types[t & 7];
	u64 sector = fuzz_u64(in);
	u32 data_len = fuzz_u16(in), nseg = fuzz_u8(in) % 4 + 1, flags = fuzz_u8(in);
	u32 seg_sectors = fuzz_u32(in), seg_flags = fuzz_u32(in);
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct fvb_seg s[8];
	unsigned n = 0;
	u64 hdr, table;
	u16 head;

	if (t & 8) /* leave the header's sector as the input gave it, else keep it on the disk */
		sector %= FVB_DISK / 512 + 1;
	if (flags & FVB_REQ_WRONG)
		dev_writes = !dev_writes;
	hdr = fuzz_pc_alloc(&f->pc, 16);
	fuzz_pc_put(&f->pc, hdr, type, 4);
	fuzz_pc_put(&f->pc, hdr + 4, 0, 4);
	fuzz_pc_put(&f->pc, hdr + 8, sector, 8);
	s[n++] = (struct fvb_seg){ hdr, 16, 0 };
	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
		u64 seg = fuzz_pc_alloc(&f->pc, 16);

		fuzz_pc_put(&f->pc, seg, sector, 8);
		fuzz_pc_put(&f->pc, seg + 8, seg_sectors, 4);
		fuzz_pc_put(&f->pc, seg + 12, seg_flags, 4);
		s[n++] = (struct fvb_seg){ seg, 16, 0 };
	} else if (data_len) {
		u64 data = fuzz_pc_alloc(&f->pc, data_len);

		for (u32 i = 0; i < nseg; i++) {
			u32 len = i + 1 < nseg ? data_len / nseg : data_len - i * (data_len / nseg);

			s[n++] = (struct fvb_seg){ data + i * (data_len / nseg), len,
						   dev_writes ? VIRTQ_DESC_F_WRITE : 0 };
		}
	}
	if (!(flags & FVB_REQ_NO_STAT))
		s[n++] = (struct fvb_seg){ fuzz_pc_alloc(&f->pc, 1), 1, VIRTQ_DESC_F_WRITE };
	head = f->next_desc[q] % f->qsize;
	if (flags & FVB_REQ_INDIRECT) {
		table = fuzz_pc_alloc(&f->pc, 16ull * n);
		for (unsigned i = 0; i < n; i++)
			fuzz_vring_desc(&f->pc, table, i, s[i].addr, s[i].len,
					(u16)(s[i].flags | (i + 1 < n || (flags & FVB_REQ_LOOP) ?
								    VIRTQ_DESC_F_NEXT :
								    0)),
					(u16)(i + 1 < n ? i + 1 : 0));
		fuzz_vring_desc(&f->pc, fvb_queue(q), head, table, 16 * n, VIRTQ_DESC_F_INDIRECT,
				0);
		f->next_desc[q] = (u16)(head + 1);
	} else {
		for (unsigned i = 0; i < n; i++) {
			unsigned d = (head + i) % f->qsize;
			bool last = i + 1 == n;

			fuzz_vring_desc(
				&f->pc, fvb_queue(q), d, s[i].addr, s[i].len,
				(u16)(s[i].flags |
				      (!last || (flags & FVB_REQ_LOOP) ? VIRTQ_DESC_F_NEXT : 0)),
				(u16)(last ? head : (d + 1) % f->qsize));
		}
		f->next_desc[q] = (u16)(head + n);
	}
	fvb_post(f, q, head);
	fuzz_dma_sync(); /* the driver's writes */
	if (!(flags & FVB_REQ_NO_KICK))
		fuzz_vpci_notify(&f->drv, q);
}

static unsigned fvb_size(u8 sel)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	return sizes[sel & 3];
}

static void fvb_op(struct fvb *f, struct fuzz_in *in)
{
	struct bus *mmio = &f->pc.tp.p.mmio;
	unsigned op = fuzz_u8(in) % FVB_NR_OPS, q, off, size;

	switch (op) {
	case FVB_OP_MEM:
		fuzz_pc_mem_op(&f->pc, in);
		break;
	case FVB_OP_DESC: {
		u64 table, addr;
		u32 len;
		u16 idx, flags, next;

		q = fuzz_u8(in);
		idx = fuzz_u16(in);
		addr = fuzz_u64(in);
		len = fuzz_u32(in);
		flags = fuzz_u16(in);
		next = fuzz_u16(in);
		table = fvb_queue(q);
		fuzz_vring_desc(&f->pc, table, idx % f->qsize, addr, len, flags, next);
		fuzz_dma_sync();
		break;
	}
	case FVB_OP_POST:
		q = fuzz_u8(in) & 1;
		fvb_post(f, q, fuzz_u16(in));
		fuzz_dma_sync();
		break;
	case FVB_OP_AVAIL_IDX:
		q = fuzz_u8(in) & 1;
		f->avail_idx[q] = fuzz_u16(in);
		fuzz_pc_put(&f->pc, fvb_queue(q) + FVB_AVAIL + 2, f->avail_idx[q], 2);
		fuzz_dma_sync();
		break;
	case FVB_OP_NOTIFY:
		fuzz_vpci_notify(&f->drv, fuzz_u8(in));
		break;
	case FVB_OP_POLL:
		(void)!virtio_blk_poll(f->blk);
		break;
	case FVB_OP_REQUEST:
		fvb_request(f, in);
		break;
	case FVB_OP_COMMON:
		off = fuzz_u8(in) % VIRTIO_PCI_COMMON_SIZE;
		size = fvb_size(fuzz_u8(in));
		fuzz_vpci_common(&f->drv, off, size, fuzz_u32(in));
		break;
	case FVB_OP_READ:
		off = fuzz_u16(in) % VIRTIO_PCI_BAR_SIZE;
		size = fvb_size(fuzz_u8(in));
		(void)bus_read(mmio, FVB_BAR4 + off, size);
		break;
	case FVB_OP_MSIX:
		off = fuzz_u16(in) % VIRTIO_PCI_MSIX_BAR_SIZE;
		bus_write(mmio, FVB_BAR1 + (off & ~3u), 4, fuzz_u32(in));
		break;
	case FVB_OP_CFG:
		off = fuzz_u8(in);
		size = fvb_size(fuzz_u8(in) % 3);
		fuzz_cfg_write(&f->pc, FVB_DEVFN, off, size, fuzz_u32(in));
		break;
	case FVB_OP_RESET:
		virtio_blk_reset(f->blk);
		break;
	case FVB_OP_DEFER:
		virtio_pci_defer_event(virtio_blk_transport(f->blk));
		break;
	case FVB_OP_RING:
		q = fuzz_u8(in) & 1;
		fuzz_pc_put(&f->pc, fvb_queue(q) + FVB_AVAIL, fuzz_u16(in), 2);
		fuzz_pc_put(&f->pc, fvb_queue(q) + FVB_AVAIL + 4 + 2ull * f->qsize, fuzz_u16(in),
			    2);
		fuzz_dma_sync();
		break;
	}
	fuzz_dma_check();
}

static unsigned fvb_get16(struct fvb *f, u64 gpa)
{
	const u8 *p = fuzz_pc_ram(&f->pc, gpa);

	return p[0] | p[1] << 8;
}

/* FUZZ_LOG: what the device did, to check what a seed reaches. */
static void fvb_report(struct fvb *f)
{
	u8 status = (u8)bus_read(&f->pc.tp.p.mmio, FVB_BAR4 + VIRTIO_PCI_COMMON_STATUS, 1);
	struct virtio_pci_stats st;

	virtio_pci_get_stats(virtio_blk_transport(f->blk), &st);
	fprintf(stderr,
		"fuzz_virtio_blk: status %#x, used idx %u/%u, %u MSIs, %u in flight, %llu "
		"deferred rounds\n",
		status, fvb_get16(f, fvb_queue(0) + FVB_USED + 2),
		fvb_get16(f, fvb_queue(1) + FVB_USED + 2), f->pc.tp.nr_msis,
		virtio_blk_inflight(f->blk), (unsigned long long)st.deferred_rounds);
	for (unsigned q = 0; q < f->nq; q++) {
		u64 used = fvb_queue(q) + FVB_USED;
		unsigned n = fvb_get16(f, used + 2);

		for (unsigned i = 0; i < n && i < 8; i++) {
			const u8 *e = fuzz_pc_ram(&f->pc, used + 4 + 8 * (i % f->qsize));

			fprintf(stderr, "  q%u used[%u]: head %u len %u\n", q, i, e[0] | e[1] << 8,
				e[4] | e[5] << 8 | e[6] << 16);
		}
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u8 cfg = fuzz_u8(&in);
	u32 accept = fuzz_u32(&in);
	struct fvb f;

	fuzz_quiet_logs();
	if (fvb_setup(&f, cfg, accept) < 0)
		return 0;
	while (fuzz_left(&in)) {
		fvb_op(&f, &in);
		FUZZ_CHECK(fuzz_heap_bytes() < f.heap_base + FVB_HEAP_MAX);
	}
	if (fuzz_verbose())
		fvb_report(&f);
	fvb_teardown(&f);
	return 0;
}
