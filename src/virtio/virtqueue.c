/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side (VIRTIO 1.2 section 2.7). Layout in guest memory:
 *   descriptor table: size x {le64 addr; le32 len; le16 flags; le16 next}   (2.7.5)
 *   driver area:  le16 flags; le16 idx; le16 ring[size]; le16 used_event     (2.7.6)
 *   device area:  le16 flags; le16 idx; {le32 id; le32 len}[size]; le16 avail_event (2.7.8)
 * Indirect tables (2.7.5.3.1): one descriptor with INDIRECT (and not NEXT) whose buffer holds
 * len / 16 descriptors chained through their own next fields; indirect tables must not
 * nest. Devices must not access device-readable buffers as written, nor the reverse, and
 * writable descriptors come after readable ones (2.7.4.2).
 * Memory ordering: the available index is read before the ring entries it covers (acquire);
 * the used element is written before the used index (release); 2.7.13.
 */
#include "virtio/virtqueue.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/*
 * The ring indices and flags are 16-bit fields the driver updates while the device reads them
 * (from another vCPU): each is read and written with one 16-bit access (single-copy atomic on
 * x86 when aligned, as 2.7 requires of the rings), never byte by byte, so a concurrent update
 * cannot be seen half done. An unaligned field (a broken driver) goes through the copy path.
 */
static int vq_read16(const struct virtqueue *vq, u64 gpa, u16 *v)
{
	u16 *p = gmem_ptr(vq->mem, gpa, 2);
	u8 b[2];
	int ret;

	if (p && !((uintptr_t)p & 1)) {
		*v = le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
		return 0;
	}
	ret = gmem_read(vq->mem, gpa, b, 2);
	if (ret)
		return ret;
	*v = (u16)(b[0] | b[1] << 8);
	return 0;
}

static int vq_write16(const struct virtqueue *vq, u64 gpa, u16 v)
{
	u16 *p = gmem_ptr(vq->mem, gpa, 2);
	u8 b[2] = { (u8)v, (u8)(v >> 8) };

	if (p && !((uintptr_t)p & 1)) {
		__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
		gmem_written(vq->mem, p, 2);
		return 0;
	}
	return gmem_write(vq->mem, gpa, b, 2);
}

static int vq_read_desc(const struct virtqueue *vq, u64 gpa, struct vring_desc *d)
{
	u8 b[16];
	int ret = gmem_read(vq->mem, gpa, b, sizeof(b));

	if (ret)
		return ret;
	d->addr = 0;
	for (int i = 7; i >= 0; i--)
		d->addr = d->addr << 8 | b[i];
	d->len = (u32)b[8] | (u32)b[9] << 8 | (u32)b[10] << 16 | (u32)b[11] << 24;
	d->flags = (u16)(b[12] | b[13] << 8);
	d->next = (u16)(b[14] | b[15] << 8);
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	const struct gmem *mem = vq->mem;

	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
}

static int vq_fail(struct virtqueue *vq, const char *why)
{
	log_guest("virtqueue: %s; queue marked broken", why);
	vq->broken = true;
	return -EIO;
}

/* Add one buffer to e, checking order and bounds. */
static int vq_add_buf(struct virtqueue *vq, struct vq_elem *e, const struct vring_desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	void *hva;

	if (e->out_num + e->in_num >= VQ_MAX_SEG)
		return vq_fail(vq, "too many buffers in one chain");
	if (!write && e->in_num)
		return vq_fail(vq, "readable descriptor after a writable one");
	if (d->addr + d->len < d->addr)
		return vq_fail(vq, "descriptor wraps around");
	hva = gmem_ptr(vq->mem, d->addr, d->len ? d->len : 1);
	if (!hva)
		return vq_fail(vq, "descriptor outside guest RAM");
	e->iov[e->out_num + e->in_num] = (struct iovec){ .iov_base = hva, .iov_len = d->len };
	if (write) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	return 0;
}

/* Walk an indirect table of n descriptors at gpa, starting at entry 0. */
static int vq_walk_indirect(struct virtqueue *vq, struct vq_elem *e, const struct vring_desc *ind)
{
	unsigned n = ind->len / 16, i = 0, count = 0;
	struct vring_desc d;
	int ret;

	if (!vq->indirect)
		return vq_fail(vq, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(vq, "indirect descriptor with NEXT");
	if (!ind->len || ind->len % 16 || n > VQ_MAX_SEG)
		return vq_fail(vq, "bad indirect table length");
	if (!gmem_ptr(vq->mem, ind->addr, ind->len))
		return vq_fail(vq, "indirect table outside guest RAM");
	for (;;) {
		if (++count > n)
			return vq_fail(vq, "indirect chain loops");
		ret = vq_read_desc(vq, ind->addr + 16ull * i, &d);
		if (ret)
			return vq_fail(vq, "indirect table outside guest RAM");
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_fail(vq, "nested indirect descriptor");
		ret = vq_add_buf(vq, e, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return vq_fail(vq, "indirect next index out of range");
		i = d.next;
	}
}

void vq_batch_start(struct virtqueue *vq)
{
	vq->budget = vq->size;
	vq->yielded = false;
}

bool vq_batch_yielded(const struct virtqueue *vq)
{
	return vq->yielded;
}

unsigned vq_inflight(const struct virtqueue *vq)
{
	return vq->nr_inflight;
}

static bool vq_head_inflight(const struct virtqueue *vq, u16 head)
{
	return vq->inflight[head / 64] >> (head % 64) & 1;
}

bool vq_has_avail(struct virtqueue *vq)
{
	u16 idx;

	if (!vq->ready || vq->broken || vq_read16(vq, vq->avail + 2, &idx))
		return false;
	return idx != vq->last_avail;
}

int vq_pop(struct virtqueue *vq, struct vq_elem *e)
{
	u16 avail_idx, head, i;
	unsigned count = 0;
	struct vring_desc d;
	int ret;

	if (!vq->ready || vq->broken)
		return -EIO;
	if (vq_read16(vq, vq->avail + 2, &avail_idx))
		return vq_fail(vq, "driver area outside guest RAM");
	if (avail_idx == vq->last_avail)
		return 0;
	if ((u16)(avail_idx - vq->last_avail) > vq->size)
		return vq_fail(vq, "available index ahead by more than the queue size");
	if (!vq->budget) {
		vq->yielded = true; /* come back later: the guest keeps this queue busy */
		return 0;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (vq_read16(vq, vq->avail + 4 + 2ull * (vq->last_avail % vq->size), &head))
		return vq_fail(vq, "driver area outside guest RAM");
	if (head >= vq->size)
		return vq_fail(vq, "head index out of range");
	if (vq_head_inflight(vq, head))
		return vq_fail(vq, "head already in flight offered again");

	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	i = head;
	for (;;) {
		if (++count > vq->size)
			return vq_fail(vq, "descriptor chain loops or exceeds the queue size");
		if (vq_read_desc(vq, vq->desc + 16ull * i, &d))
			return vq_fail(vq, "descriptor table outside guest RAM");
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3.1: an indirect descriptor is the only one of its chain. */
			if (count != 1)
				return vq_fail(vq, "indirect descriptor inside a chain");
			ret = vq_walk_indirect(vq, e, &d);
			if (ret)
				return ret;
			break;
		}
		ret = vq_add_buf(vq, e, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return vq_fail(vq, "next index out of range");
		i = d.next;
	}
	vq->last_avail++;
	vq->budget--;
	vq->inflight[head / 64] |= 1ull << (head % 64);
	vq->nr_inflight++;
	return 1;
}

void vq_unpop(struct virtqueue *vq, u16 head)
{
	if (head >= vq->size || !vq_head_inflight(vq, head))
		return;
	vq->inflight[head / 64] &= ~(1ull << (head % 64));
	vq->nr_inflight--;
	vq->last_avail--;
	vq->budget++;
}

int vq_push(struct virtqueue *vq, u16 head, u32 len)
{
	u64 slot = vq->used + 4 + 8ull * (vq->used_idx % vq->size);
	u8 b[8] = { (u8)head,	     (u8)(head >> 8), 0, 0, (u8)len, (u8)(len >> 8),
		    (u8)(len >> 16), (u8)(len >> 24) };

	if (!vq->size || gmem_write(vq->mem, slot, b, sizeof(b))) {
		vq_fail(vq, "device area outside guest RAM");
		return -EFAULT;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (head < vq->size && vq_head_inflight(vq, head)) {
		vq->inflight[head / 64] &= ~(1ull << (head % 64));
		vq->nr_inflight--;
	}
	vq->used_idx++;
	if (vq_write16(vq, vq->used + 2, vq->used_idx)) {
		vq_fail(vq, "device area outside guest RAM");
		return -EFAULT;
	}
	return 0;
}

bool vq_should_notify(struct virtqueue *vq)
{
	u16 old = vq->signalled_used, now = vq->used_idx, flags, event;
	bool valid = vq->signalled_valid;

	/* The used index store must be visible before we read the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx) {
		if (vq_read16(vq, vq->avail, &flags))
			return true;
		return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (vq_read16(vq, vq->avail + 4 + 2ull * vq->size, &event))
		return true;
	/* 2.7.10: interrupt when used_event lies in [old, now). */
	return !valid || (u16)(now - event - 1) < (u16)(now - old);
}

bool vq_set_notification(struct virtqueue *vq, bool enable)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx) {
		if (enable && vq_write16(vq, vq->used + 4 + 8ull * vq->size, vq->last_avail))
			return false;
	} else if (vq_write16(vq, vq->used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY)) {
		return false;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_has_avail(vq);
}

/* Copy between iov[] at byte offset off and buf, in the direction to_iov says. */
static size_t vq_iov_copy(const struct iovec *iov, unsigned n, size_t off, u8 *buf, size_t len,
			  bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;
		u8 *p;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		p = (u8 *)iov[i].iov_base + off;
		chunk = MIN(iov[i].iov_len - off, len - done);
		if (to_iov)
			memcpy(p, buf + done, chunk);
		else
			memcpy(buf + done, p, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	return vq_iov_copy(iov, n, off, buf, len, false);
}

size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	return vq_iov_copy(iov, n, off, (u8 *)buf, len, true);
}

int vq_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *dst,
		 unsigned max)
{
	unsigned nr = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - off;
		if (chunk > len)
			chunk = len;
		if (chunk) {
			if (nr == max)
				return -EINVAL;
			dst[nr++] = (struct iovec){ .iov_base = (u8 *)iov[i].iov_base + off,
						    .iov_len = chunk };
		}
		len -= chunk;
		off = 0;
	}
	return len ? -EINVAL : (int)nr;
}

/* Ring addresses and indexes; the queue size is checked against the device's maximum by it. */
static const struct state_field virtqueue_fields[] = {
	STATE_HOST(struct virtqueue, mem, "guest memory (the platform's)"),
	STATE_U16(struct virtqueue, size, STATE_MAX(VQ_MAX_SIZE)),
	STATE_BOOL(struct virtqueue, ready),
	STATE_BOOL(struct virtqueue, broken),
	STATE_BOOL(struct virtqueue, event_idx),
	STATE_BOOL(struct virtqueue, indirect),
	STATE_U64(struct virtqueue, desc),
	STATE_U64(struct virtqueue, avail),
	STATE_U64(struct virtqueue, used),
	STATE_U16(struct virtqueue, last_avail),
	STATE_U16(struct virtqueue, used_idx),
	STATE_U16(struct virtqueue, signalled_used),
	STATE_BOOL(struct virtqueue, signalled_valid),
	STATE_HOST(struct virtqueue, budget, "the current round's budget: set at each round"),
	STATE_HOST(struct virtqueue, yielded, "the current round's outcome: set at each round"),
	STATE_HOST(struct virtqueue, nr_inflight,
		   "chains popped and not pushed: none after the drain"),
	STATE_HOST(struct virtqueue, inflight,
		   "chains popped and not pushed: none after the drain"),
	STATE_END,
};

const struct state_desc virtqueue_state = {
	.name = "virtqueue",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtqueue),
	.fields = virtqueue_fields,
};
