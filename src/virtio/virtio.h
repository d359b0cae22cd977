/* SPDX-License-Identifier: MIT */
/*
 * Transport-agnostic virtio device (VIRTIO 1.2 sections 2.1 device status, 2.2 feature bits,
 * 2.5 device configuration space, 3.1 device initialisation, 6 reserved feature bits). A
 * device model embeds struct virtio_dev, fills its identity, features and ops, and hands it
 * to a transport (virtio_pci.h), which owns the status/feature registers and the queues'
 * addresses and raises interrupts through vd->notify.
 *
 * Locking: everything runs with the VM-wide device lock held.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include "virtio/virtqueue.h"
#include "vmm/base/types.h"

/* 2.1 device status */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128
/* 6 reserved feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_MAX_QUEUES 16

struct virtio_dev;

struct virtio_dev_ops {
	/* Device-specific configuration (2.5); off + len <= config_len. */
	void (*config_read)(struct virtio_dev *vd, unsigned off, void *buf, unsigned len);
	void (*config_write)(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len);
	/* The driver made buffers available on queue q (DRIVER_OK set, queue ready). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned q);
	/* The driver reset the device (status 0): forget requests in flight. Optional. */
	void (*reset)(struct virtio_dev *vd);
};

struct virtio_dev {
	/* Filled by the device model. */
	const struct virtio_dev_ops *ops;
	u16 device_id;	     /* 5 "Device Types": 2 = block */
	u32 pci_class;	     /* PCI class code for the PCI transport */
	u64 features;	     /* offered */
	unsigned config_len; /* bytes of device-specific configuration */
	unsigned nr_queues;  /* 1..VIRTIO_MAX_QUEUES */
	u16 queue_max_size;  /* power of two, <= VQ_MAX_SIZE */
	/* Owned by the transport. */
	u64 driver_features; /* accepted by the driver */
	u8 status;
	u8 config_generation;
	unsigned reset_count; /* bumped on every device reset, to drop stale completions */
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	/* Raise the interrupt of queue q, or the configuration-change interrupt (q < 0). */
	void (*notify)(struct virtio_dev *vd, int q);
	/* Call queue_notify(q) again later, from the main loop (virtio_queue_defer). */
	void (*defer)(struct virtio_dev *vd, unsigned q);
	void *transport;
};

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
	return vd->driver_features >> bit & 1;
}

/*
 * State table of struct virtio_dev (vmm/state.h) for device models' tables: status, features,
 * configuration generation and the queues. Its post_load refuses a ready queue whose size is
 * not a power of two up to queue_max_size, or a queue beyond nr_queues that is ready.
 */
struct state_desc;
extern const struct state_desc virtio_dev_state;

/* After vq_push on queue q: interrupt the driver unless it suppressed it (2.7.7, 2.7.10). */
void virtio_queue_done(struct virtio_dev *vd, unsigned q);
/*
 * The device stopped draining queue q at its per-round budget (vq_batch_yielded): have the
 * transport call queue_notify(q) again from the main loop, after the loop has served
 * everything else that is ready. Without a transport hook the work waits for the next kick.
 */
void virtio_queue_defer(struct virtio_dev *vd, unsigned q);
/* A malformed ring or request: set DEVICE_NEEDS_RESET and send a config interrupt (2.1.2). */
void virtio_set_needs_reset(struct virtio_dev *vd);
/* The device-specific configuration changed: bump the generation and interrupt (2.5.1). */
void virtio_config_changed(struct virtio_dev *vd);

#endif
