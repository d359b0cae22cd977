/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device model (VIRTIO 1.2 section 5.2). A request (5.2.6) is one chain:
 *   device-readable: struct {le32 type; le32 reserved; le64 sector;} then, for OUT, the data,
 *     and for DISCARD / WRITE_ZEROES the segments {le64 sector; le32 num_sectors; le32 flags}
 *   device-writable: for IN the data, for GET_ID 20 bytes of serial; then one status byte.
 * Sectors are 512 bytes whatever blk_size says (5.2.6). Malformed chains (no header, no status
 * byte) set DEVICE_NEEDS_RESET; bad requests get VIRTIO_BLK_S_IOERR or _UNSUPP (5.2.6.1/2).
 * Configuration (5.2.4): capacity, size_max, seg_max, geometry, blk_size, topology,
 * num_queues, discard and write-zeroes limits. A read or write moves at most seg_max x
 * size_max bytes, in at most seg_max data segments, whatever the driver accepted; a driver that
 * accepted VIRTIO_BLK_F_SIZE_MAX (Linux) also keeps each segment within size_max. One that did
 * not (OVMF's VirtioBlkDxe reads a whole kernel in one segment) was promised no segment limit,
 * so only the request's total holds it. A request beyond them ends with VIRTIO_BLK_S_IOERR
 * (logged). One discard or write-zeroes segment per request (max_*_seg = 1); write zeroes
 * writes zeroes (write_zeroes_may_unmap = 0).
 */
#include "virtio/blk.h"

#include "devices/device.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR		 512u
#define ZERO_CHUNK	 (64u * 1024)
#define MAX_DISCARD_SECT (1u << 22)
#define SIZE_MAX_BYTES	 (1u << 20)

struct virtio_blk {
	struct virtio_dev vd; /* first: container_of by cast */
	char name[32];
	struct platform *p;
	struct blockdev *bd;
	struct virtio_pci *vp;
	char serial[VIRTIO_BLK_ID_BYTES];
	u64 capacity; /* sectors */
	unsigned seg_max;
	unsigned inflight;
	bool dead;    /* destroyed while requests were still in flight: see virtio_blk_destroy */
	void *zeroes; /* ZERO_CHUNK bytes */

	/* vm.counters (device_ops.counters); not guest-visible, not state. Device lock. */
	struct {
		u64 reads, writes, flushes, discards, write_zeroes, get_ids, unsupported;
		u64 read_bytes, write_bytes, errors;
	} stats;
};

struct blk_req {
	struct blockdev_req br;
	struct virtio_blk *b;
	unsigned q;
	unsigned reset_count;
	u8 *status;
	u32 used_len;
	struct vq_elem e;
	struct iovec data[VQ_MAX_SEG];
};

static void blk_complete(struct blk_req *r, u8 status)
{
	struct virtio_blk *b = r->b;

	/* The device-writable buffers may have been filled by DMA (translated code there is
	 * stale), also when a device reset came in between: the bytes reached guest RAM. */
	for (unsigned i = r->e.out_num; i < r->e.out_num + r->e.in_num; i++)
		gmem_written(b->vd.vqs[r->q].mem, r->e.iov[i].iov_base, r->e.iov[i].iov_len);
	/* A request from before a device reset must not touch the new rings. */
	if (status != VIRTIO_BLK_S_OK)
		b->stats.errors++;
	if (r->reset_count == b->vd.reset_count) {
		*r->status = status;
		if (status != VIRTIO_BLK_S_OK)
			r->used_len = 1; /* only the status byte is known to be written */
		if (vq_push(&b->vd.vqs[r->q], r->e.head, r->used_len))
			virtio_set_needs_reset(&b->vd);
		else
			virtio_queue_done(&b->vd, r->q);
	}
	free(r);
}

static void blk_done(struct blockdev_req *br, int ret)
{
	struct blk_req *r = br->opaque;
	struct virtio_blk *b = r->b;

	b->inflight--;
	if (b->dead) { /* the device is gone: nothing to report to, free it with its last */
		free(r);
		if (!b->inflight) {
			free(b->zeroes);
			free(b);
		}
		return;
	}
	if (ret)
		log_guest("virtio-blk: request at %#llx failed: %s", (unsigned long long)br->offset,
			  strerror(-ret));
	blk_complete(r, ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void blk_submit(struct blk_req *r)
{
	int ret;

	r->br.done = blk_done;
	r->br.opaque = r;
	ret = blockdev_submit(r->b->bd, &r->br);
	if (ret) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	r->b->inflight++;
}

static bool blk_range_ok(const struct virtio_blk *b, u64 sector, u64 sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* The data segments of a read or write of len bytes within what the device advertises
 * (5.2.4 seg_max, size_max) and the driver accepted? */
static bool blk_segments_ok(const struct virtio_blk *b, const struct blk_req *r, int nr, u64 len)
{
	if ((unsigned)nr > b->seg_max) {
		log_guest("%s: request of %d data segments refused (seg_max %u)", b->name, nr,
			  b->seg_max);
		return false;
	}
	if (len > (u64)b->seg_max * SIZE_MAX_BYTES) {
		log_guest("%s: request of %llu bytes refused (at most seg_max x size_max, %llu)",
			  b->name, (unsigned long long)len,
			  (unsigned long long)b->seg_max * SIZE_MAX_BYTES);
		return false;
	}
	if (!virtio_has_feature(&b->vd, VIRTIO_BLK_F_SIZE_MAX))
		return true;
	for (int i = 0; i < nr; i++) {
		if (r->data[i].iov_len > SIZE_MAX_BYTES) {
			log_guest("%s: request segment of %zu bytes refused (size_max %u)", b->name,
				  r->data[i].iov_len, SIZE_MAX_BYTES);
			return false;
		}
	}
	return true;
}

/* IN / OUT: data after the header (OUT) or before the status byte (IN). */
static void blk_rw(struct virtio_blk *b, struct blk_req *r, u32 type, u64 sector)
{
	bool out = type == VIRTIO_BLK_T_OUT;
	size_t off = out ? 16 : 0;
	u64 len = out ? r->e.out_len - 16 : r->e.in_len - 1;
	const struct iovec *src = out ? r->e.iov : r->e.iov + r->e.out_num;
	unsigned n = out ? r->e.out_num : r->e.in_num;
	int nr;

	if (out && blockdev_readonly(b->bd)) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (len % SECTOR || !blk_range_ok(b, sector, len / SECTOR)) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	nr = vq_iov_slice(src, n, off, len, r->data, VQ_MAX_SEG);
	/* seg_max x size_max is far below 4 GiB: used_len (le32) always holds len + 1. */
	if (nr < 0 || !blk_segments_ok(b, r, nr, len) || len >= UINT32_MAX) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (!out)
		r->used_len = (u32)len + 1;
	if (out)
		b->stats.write_bytes += len;
	else
		b->stats.read_bytes += len;
	if (!len) {
		blk_complete(r, VIRTIO_BLK_S_OK);
		return;
	}
	r->br.op = out ? BLOCKDEV_WRITE : BLOCKDEV_READ;
	r->br.offset = sector * SECTOR;
	r->br.iov = r->data;
	r->br.iovcnt = nr;
	blk_submit(r);
}

/* DISCARD / WRITE_ZEROES with one segment. */
static void blk_discard_wz(struct virtio_blk *b, struct blk_req *r, u32 type)
{
	u8 seg[16];
	u64 sector;
	u32 sectors, flags;
	unsigned nr;

	if (blockdev_readonly(b->bd)) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (r->e.out_len != 16 + sizeof(seg)) /* exactly max_*_seg = 1 segment */
	{
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	vq_iov_to_buf(r->e.iov, r->e.out_num, 16, seg, sizeof(seg));
	memcpy(&sector, seg, 8);
	memcpy(&sectors, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	sector = le64toh(sector);
	sectors = le32toh(sectors);
	flags = le32toh(flags);
	/* 5.2.6.2: unmap is not defined for discard; other flag bits are reserved. */
	if ((type == VIRTIO_BLK_T_DISCARD && flags) || (flags & ~1u)) {
		blk_complete(r, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (!blk_range_ok(b, sector, sectors) ||
	    sectors >
		    (type == VIRTIO_BLK_T_DISCARD ? MAX_DISCARD_SECT : VIRTIO_BLK_MAX_WZ_SECTORS)) {
		blk_complete(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (!sectors) {
		blk_complete(r, VIRTIO_BLK_S_OK);
		return;
	}
	r->br.offset = sector * SECTOR;
	if (type == VIRTIO_BLK_T_DISCARD) {
		r->br.op = BLOCKDEV_DISCARD;
		r->br.len = (u64)sectors * SECTOR;
		{
			blk_submit(r);
			return;
		}
	}
	nr = 0;
	for (u64 left = (u64)sectors * SECTOR; left; nr++) {
		size_t chunk = left < ZERO_CHUNK ? left : ZERO_CHUNK;

		r->data[nr] = (struct iovec){ .iov_base = b->zeroes, .iov_len = chunk };
		left -= chunk;
	}
	r->br.op = BLOCKDEV_WRITE;
	r->br.iov = r->data;
	r->br.iovcnt = (int)nr;
	blk_submit(r);
}

static void blk_handle(struct virtio_blk *b, struct blk_req *r)
{
	const struct iovec *last = NULL;
	u8 hdr[16];
	u32 type;
	u64 sector;
	size_t n;

	for (unsigned i = r->e.out_num + r->e.in_num; i-- > r->e.out_num;) {
		if (r->e.iov[i].iov_len) {
			last = &r->e.iov[i];
			break;
		}
	}
	if (r->e.out_len < sizeof(hdr) || !last) {
		log_guest("virtio-blk: request without header or status byte");
		if (vq_push(&b->vd.vqs[r->q], r->e.head, 0) == 0)
			virtio_queue_done(&b->vd, r->q);
		virtio_set_needs_reset(&b->vd);
		free(r);
		return;
	}
	r->status = (u8 *)last->iov_base + last->iov_len - 1;
	r->used_len = 1;
	vq_iov_to_buf(r->e.iov, r->e.out_num, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	type = le32toh(type);
	sector = le64toh(sector);

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		if (type == VIRTIO_BLK_T_IN)
			b->stats.reads++;
		else
			b->stats.writes++;
		blk_rw(b, r, type, sector);
		return;
	}
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		r->br.op = BLOCKDEV_FLUSH;
		r->br.offset = 0;
		{
			blk_submit(r);
			return;
		}
	case VIRTIO_BLK_T_GET_ID:
		b->stats.get_ids++;
		n = r->e.in_len - 1 < VIRTIO_BLK_ID_BYTES ? r->e.in_len - 1 : VIRTIO_BLK_ID_BYTES;
		n = vq_iov_from_buf(r->e.iov + r->e.out_num, r->e.in_num, 0, b->serial, n);
		r->used_len = (u32)n + 1;
		{
			blk_complete(r, VIRTIO_BLK_S_OK);
			return;
		}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (type == VIRTIO_BLK_T_DISCARD)
			b->stats.discards++;
		else
			b->stats.write_zeroes++;
		if (!virtio_has_feature(&b->vd, type == VIRTIO_BLK_T_DISCARD ?
							VIRTIO_BLK_F_DISCARD :
							VIRTIO_BLK_F_WRITE_ZEROES)) {
			blk_complete(r, VIRTIO_BLK_S_UNSUPP);
			return;
		}
		{
			blk_discard_wz(b, r, type);
			return;
		}
	default: {
		b->stats.unsupported++;
		blk_complete(r, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	}
}

/*
 * Handle what is available on queue q, within the round's budget (vq_batch_start): 0 when
 * the ring reads empty, 1 when the device must come back later (budget spent, or no memory
 * for a request), -EIO when the ring is malformed.
 */
static int blk_drain(struct virtio_blk *b, unsigned q)
{
	struct virtqueue *vq = &b->vd.vqs[q];
	struct blk_req *r;
	int ret;

	for (;;) {
		r = malloc(sizeof(*r));
		if (!r) {
			log_err("virtio-blk: out of memory; queue %u left for later", q);
			return 1;
		}
		ret = vq_pop(vq, &r->e);
		if (ret <= 0) {
			free(r);
			return ret < 0 ? ret : vq_batch_yielded(vq);
		}
		memset(&r->br, 0, sizeof(r->br));
		r->b = b;
		r->q = q;
		r->reset_count = b->vd.reset_count;
		blk_handle(b, r);
	}
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_blk *b = (struct virtio_blk *)vd;
	int ret;

	/* Drain with kicks suppressed, then re-enable them (publishing avail_event under
	 * EVENT_IDX) and drain again if the driver added buffers meanwhile (2.7.10). At most a
	 * queue's worth of chains per round: a driver that keeps the ring full gets the rest
	 * from the main loop, after everything else that is ready there. */
	vq_batch_start(&vd->vqs[q]);
	do {
		vq_set_notification(&vd->vqs[q], false);
		ret = blk_drain(b, q);
		if (ret < 0) {
			virtio_set_needs_reset(vd);
			return;
		}
		if (ret > 0) {
			virtio_queue_defer(vd, q);
			return;
		}
	} while (vq_set_notification(&vd->vqs[q], true));
}

static void blk_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct virtio_blk *b = (struct virtio_blk *)vd;
	struct blockdev_geometry g;
	u8 c[VIRTIO_BLK_CFG_SIZE] = { 0 };
	u64 cap = htole64(b->capacity);
	u32 v32;
	u16 v16;

	blockdev_geometry(b->bd, &g);
	memcpy(c + VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
#define PUT32(o, v) (v32 = htole32(v), memcpy(c + (o), &v32, 4))
#define PUT16(o, v) (v16 = htole16(v), memcpy(c + (o), &v16, 2))
	PUT32(VIRTIO_BLK_CFG_SIZE_MAX, SIZE_MAX_BYTES);
	PUT32(VIRTIO_BLK_CFG_SEG_MAX, b->seg_max);
	PUT16(VIRTIO_BLK_CFG_GEOMETRY, (u16)(g.cylinders > 0xffff ? 0xffff : g.cylinders));
	c[VIRTIO_BLK_CFG_GEOMETRY + 2] = (u8)g.heads;
	c[VIRTIO_BLK_CFG_GEOMETRY + 3] = (u8)g.sectors;
	PUT32(VIRTIO_BLK_CFG_BLK_SIZE, SECTOR);
	/* topology: physical_block_exp 0, alignment_offset 0, min_io_size 1, opt_io_size 0 */
	PUT16(VIRTIO_BLK_CFG_TOPOLOGY + 2, 1);
	PUT16(VIRTIO_BLK_CFG_NUM_QUEUES, (u16)vd->nr_queues);
	PUT32(VIRTIO_BLK_CFG_MAX_DISCARD_SECT, MAX_DISCARD_SECT);
	PUT32(VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
	PUT32(VIRTIO_BLK_CFG_DISCARD_ALIGN, 8);
	PUT32(VIRTIO_BLK_CFG_MAX_WZ_SECT, VIRTIO_BLK_MAX_WZ_SECTORS);
	PUT32(VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
#undef PUT32
#undef PUT16
	memcpy(buf, c + off, len);
}

static void blk_reset(struct virtio_dev *vd)
{
	(void)vd; /* requests in flight are dropped at completion (reset_count) */
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

int virtio_blk_create(struct platform *p, struct blockdev *bd, const struct virtio_blk_config *cfg,
		      struct virtio_blk **out, struct err *err)
{
	const char *name = cfg->name ? cfg->name : "virtio-blk";
	unsigned nq = cfg->num_queues ? cfg->num_queues : 1;
	unsigned qs = cfg->queue_size ? cfg->queue_size : 256;
	struct virtio_blk *b;
	int ret;

	if (nq > VIRTIO_MAX_QUEUES || qs > VQ_MAX_SIZE || qs < 4 || qs & (qs - 1))
		return err_set(err, -EINVAL, "%s: %u queues of %u entries not supported", name, nq,
			       qs);
	if (cfg->serial && strlen(cfg->serial) > VIRTIO_BLK_ID_BYTES)
		return err_set(err, -EINVAL, "%s: serial '%s' longer than %u bytes", name,
			       cfg->serial, VIRTIO_BLK_ID_BYTES);
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	b->zeroes = calloc(1, ZERO_CHUNK);
	if (!b->zeroes) {
		ret = err_set(err, -ENOMEM, "%s: out of memory", name);
		goto fail_zeroes;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->p = p;
	b->bd = bd;
	b->capacity = blockdev_size(bd) / SECTOR;
	b->seg_max = qs - 2;
	if (cfg->serial)
		memcpy(b->serial, cfg->serial, strlen(cfg->serial));
	b->vd.ops = &blk_ops;
	b->vd.device_id = 2;
	b->vd.pci_class = 0x018000; /* mass storage, other */
	b->vd.config_len = VIRTIO_BLK_CFG_SIZE;
	b->vd.nr_queues = nq;
	b->vd.queue_max_size = (u16)qs;
	b->vd.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
			 1ull << VIRTIO_F_EVENT_IDX | 1ull << VIRTIO_BLK_F_SIZE_MAX |
			 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_GEOMETRY |
			 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
			 1ull << VIRTIO_BLK_F_TOPOLOGY | 1ull << VIRTIO_BLK_F_MQ;
	if (blockdev_readonly(bd))
		b->vd.features |= 1ull << VIRTIO_BLK_F_RO;
	else
		b->vd.features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	ret = virtio_pci_create(p, &b->vd, name, &b->vp, err);
	if (ret)
		goto fail_pci;
	*out = b;
	return 0;

fail_pci:
	free(b->zeroes);
fail_zeroes:
	free(b);
	return ret;
}

struct pci_dev *virtio_blk_pci(struct virtio_blk *b)
{
	return virtio_pci_dev(b->vp);
}

struct virtio_pci *virtio_blk_transport(struct virtio_blk *b)
{
	return b->vp;
}

int virtio_blk_poll(struct virtio_blk *b)
{
	int ret;

	pthread_mutex_lock(&b->p->dev_lock);
	ret = blockdev_poll_completions(b->bd);
	pthread_mutex_unlock(&b->p->dev_lock);
	return ret;
}

unsigned virtio_blk_inflight(const struct virtio_blk *b)
{
	return b->inflight;
}

void virtio_blk_reset(struct virtio_blk *b)
{
	virtio_pci_reset(b->vp);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	int ret = 0;

	if (!b)
		return;
	while (b->inflight && (ret = blockdev_wait(b->bd)) >= 0)
		;
	virtio_pci_destroy(b->vp);
	if (b->inflight) {
		/* The kernel may still be moving data into guest RAM for these requests: keep RAM
		 * mapped, and keep this object until the block layer ends them (blk_done). */
		log_err("%s: cannot wait for %u requests in flight (%s); guest RAM stays mapped",
			b->name, b->inflight, strerror(-ret));
		gmem_keep_mapped(&b->p->mem);
		b->dead = true;
		return;
	}
	free(b->zeroes);
	free(b);
}

static void virtio_blk_ops_reset(void *dev)
{
	virtio_blk_reset(dev);
}

static void virtio_blk_ops_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

/*
 * Requests in flight are not state: a save first hands the device the notifications still
 * queued in ioeventfds, then waits for every block request, so each has been pushed to the
 * used ring (and its interrupt sent) before anything is saved.
 */
static int virtio_blk_pre_save(void *obj, struct err *err)
{
	struct virtio_blk *b = obj;

	virtio_pci_flush_notify(b->vp);
	while (b->inflight) {
		int ret = blockdev_wait(b->bd);

		if (ret < 0)
			return err_set(err, ret, "%s: cannot wait for %u requests in flight: %s",
				       b->vp ? virtio_pci_dev(b->vp)->name : "virtio-blk",
				       b->inflight, strerror(-ret));
	}
	return 0;
}

static int virtio_blk_post_load(void *obj, u32 version, struct err *err)
{
	struct virtio_blk *b = obj;

	(void)version, (void)err;
	b->vd.reset_count++; /* a completion from before the load must not touch the rings */
	return 0;
}

static const struct state_field virtio_blk_fields[] = {
	STATE_STRUCT(struct virtio_blk, vd, virtio_dev_state),
	STATE_HOST(struct virtio_blk, name, "the board's name"),
	STATE_HOST(struct virtio_blk, p, "the platform"),
	STATE_HOST(struct virtio_blk, bd, "the image (block layer)"),
	STATE_POINTEE(struct virtio_blk, vp, virtio_pci_state),
	STATE_HOST(struct virtio_blk, serial, "identity from the spec"),
	STATE_U64(struct virtio_blk, capacity, STATE_CHECKED),
	STATE_U32(struct virtio_blk, seg_max, STATE_CHECKED),
	STATE_HOST(struct virtio_blk, inflight, "requests in flight: none after the drain"),
	STATE_HOST(struct virtio_blk, dead, "set only while the device is being destroyed"),
	STATE_HOST(struct virtio_blk, zeroes, "a host buffer"),
	STATE_HOST(struct virtio_blk, stats, "statistics for vm.counters, not guest-visible"),
	STATE_END,
};

static const struct state_desc virtio_blk_state = {
	.name = "virtio-blk",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_blk),
	.fields = virtio_blk_fields,
	.pre_save = virtio_blk_pre_save,
	.post_load = virtio_blk_post_load,
};

static void virtio_blk_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct virtio_blk *b = dev;

	fn(opaque, "reads", b->stats.reads);
	fn(opaque, "writes", b->stats.writes);
	fn(opaque, "flushes", b->stats.flushes);
	fn(opaque, "discards", b->stats.discards);
	fn(opaque, "write_zeroes", b->stats.write_zeroes);
	fn(opaque, "get_ids", b->stats.get_ids);
	fn(opaque, "unsupported", b->stats.unsupported);
	fn(opaque, "read_bytes", b->stats.read_bytes);
	fn(opaque, "write_bytes", b->stats.write_bytes);
	fn(opaque, "errors", b->stats.errors);
}

const struct device_ops virtio_blk_device_ops = {
	.counters = virtio_blk_ops_counters,
	.type = "virtio-blk",
	.reset = virtio_blk_ops_reset,
	.state = &virtio_blk_state,
	.destroy = virtio_blk_ops_destroy,
};
