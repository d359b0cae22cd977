/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side (Virtual I/O Device (VIRTIO) Version 1.2, 2.7 "Split
 * Virtqueues", 2.7.5 descriptor table, 2.7.5.3 indirect descriptors, 2.7.6 available ring,
 * 2.7.8 used ring, 2.7.7 and 2.7.10 notification suppression with VIRTIO_F_EVENT_IDX).
 *
 * Every guest address goes through gmem (vmm/gmem.h). A malformed ring (a chain that loops or
 * is longer than the queue, a descriptor outside RAM, a nested or empty indirect table, an
 * available index that runs ahead by more than the queue size, a head that is still in flight)
 * makes vq_pop return -EIO and marks the queue broken; the transport then sets
 * DEVICE_NEEDS_RESET (2.1.2).
 *
 * Bounded work (the guest is hostile): a head stays "in flight" from vq_pop until vq_push, and
 * offering it again meanwhile breaks the queue (2.7.13.2: the driver must not reuse a buffer
 * before the device has used it), so at most `size` chains are in flight per queue. Work per
 * notification is bounded too: vq_batch_start opens a round in which vq_pop returns at most
 * `size` chains; a driver that keeps re-posting completed chains ends the round with
 * vq_batch_yielded() true, and the device comes back later from the main loop
 * (virtio_queue_defer) instead of looping while the guest feeds it.
 *
 * Locking: callers hold the VM-wide device lock.
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"
#include "vmm/gmem.h"

#include <sys/uio.h>

#define VQ_MAX_SIZE 1024 /* largest queue we offer (2.7: at most 32768) */
#define VQ_MAX_SEG  1024 /* buffers in one element, indirect tables included */

/* 2.7.5 descriptor flags */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* 2.7.6 / 2.7.8 ring flags */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtqueue {
	const struct gmem *mem;
	u16 size;	       /* queue size (power of two) */
	bool ready;	       /* enabled by the driver */
	bool broken;	       /* a malformed ring was seen; nothing more is popped */
	bool event_idx;	       /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	       /* VIRTIO_F_INDIRECT_DESC negotiated */
	u64 desc, avail, used; /* guest physical addresses of the three areas */
	u16 last_avail;	       /* next available-ring slot to consume */
	u16 used_idx;	       /* our copy of used->idx */
	u16 signalled_used;    /* used_idx at the last interrupt decision */
	bool signalled_valid;
	u16 budget;			       /* chains vq_pop may still return this round */
	bool yielded;			       /* the round ended with chains still available */
	u16 nr_inflight;		       /* chains popped and not pushed */
	u64 inflight[(VQ_MAX_SIZE + 63) / 64]; /* bit per head: popped, not pushed yet */
};

/* One popped buffer: out (device-readable) iovecs first, then in (device-writable). */
struct vq_elem {
	u16 head;
	unsigned out_num, in_num;
	u64 out_len, in_len; /* bytes */
	struct iovec iov[VQ_MAX_SEG];
};

/* State table of struct virtqueue (vmm/state.h), nested in the device's. */
struct state_desc;
extern const struct state_desc virtqueue_state;

/* Back to the reset state (not ready, addresses zero, nothing in flight), keeping mem. */
void vq_reset(struct virtqueue *vq);
/* Open a round of work (a notification, or a deferred re-run): vq_pop may return up to size
 * chains until the next call. */
void vq_batch_start(struct virtqueue *vq);
/* Did vq_pop end the round because its budget was spent while chains were still available? */
bool vq_batch_yielded(const struct virtqueue *vq);
/*
 * Take the next available chain. 1 with *e filled (its head is now in flight), 0 when the ring
 * is empty or this round's budget is spent (see vq_batch_yielded), -EIO when the ring is
 * malformed or names a head still in flight (the queue is then broken) or the queue is not
 * ready.
 */
MUST_CHECK int vq_pop(struct virtqueue *vq, struct vq_elem *e);
/*
 * Give back the chain vq_pop returned last (head), unused: the next vq_pop returns it again.
 * For a device that found it cannot use the chain now (a receive frame that does not fit,
 * a host queue that is full). Chains must be given back newest first.
 */
void vq_unpop(struct virtqueue *vq, u16 head);
/* Return a chain: used element {head, len}, then used->idx; the head leaves the in-flight set.
 * 0 or -EFAULT (queue broken). */
MUST_CHECK int vq_push(struct virtqueue *vq, u16 head, u32 len);
/* Chains popped and not pushed yet. */
unsigned vq_inflight(const struct virtqueue *vq);
/* After pushes: should the driver be interrupted (2.7.7, 2.7.10)? Updates the event state. */
bool vq_should_notify(struct virtqueue *vq);
/*
 * Ask (enable) or do not ask the driver for available-buffer notifications (used->flags or
 * avail_event). Returns true if buffers are available (to be re-checked after enabling).
 */
bool vq_set_notification(struct virtqueue *vq, bool enable);
/* Is anything available? */
bool vq_has_avail(struct virtqueue *vq);

/* Copy up to len bytes from iov[] at byte offset off into buf. Returns bytes copied. */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
/* Copy up to len bytes from buf into iov[] at byte offset off. Returns bytes copied. */
size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf,
		       size_t len);
/*
 * Describe bytes [off, off+len) of iov[] in dst[] (at most max entries). Returns the number of
 * entries, or -EINVAL when the range is not all inside iov[] or needs more than max entries.
 */
int vq_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *dst,
		 unsigned max);

#endif
