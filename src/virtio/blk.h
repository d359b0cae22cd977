/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (VIRTIO 1.2 section 5.2) over a struct blockdev, on the modern PCI transport.
 * Requests are submitted to the block layer when the driver notifies a queue and completed
 * from virtio_blk_poll(), which the event loop calls when blockdev_event_fd() is readable.
 *
 * Locking: queue notifications arrive from bus handlers with the device lock held;
 * virtio_blk_poll takes the device lock itself. Requests are submitted from the notifying
 * thread: the main loop when the board gave the transport its ioeventfds (KVM), else the
 * vCPU thread of the bus write (BT), while blockdev.h wants one thread per blockdev; so
 * without ioeventfd several vCPUs must not share one disk yet. A round of queue work cut at
 * its budget (a queue's worth of chains per notification, virtqueue.h) resumes from the main
 * loop (virtio_pci_defer_event), also under the device lock, which serialises it with the
 * vCPU's submissions.
 */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include "devices/pci.h"
#include "virtio/virtio_pci.h"
#include "vmdk/blockdev.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

/* 5.2.3 feature bits */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
/* 5.2.6 request types and status */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2
#define VIRTIO_BLK_ID_BYTES	  20
/* 5.2.4 configuration layout (offsets) */
#define VIRTIO_BLK_CFG_CAPACITY		0x00
#define VIRTIO_BLK_CFG_SIZE_MAX		0x08
#define VIRTIO_BLK_CFG_SEG_MAX		0x0c
#define VIRTIO_BLK_CFG_GEOMETRY		0x10
#define VIRTIO_BLK_CFG_BLK_SIZE		0x14
#define VIRTIO_BLK_CFG_TOPOLOGY		0x18
#define VIRTIO_BLK_CFG_NUM_QUEUES	0x22
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECT 0x24
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	0x28
#define VIRTIO_BLK_CFG_DISCARD_ALIGN	0x2c
#define VIRTIO_BLK_CFG_MAX_WZ_SECT	0x30
#define VIRTIO_BLK_CFG_MAX_WZ_SEG	0x34
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP	0x38
#define VIRTIO_BLK_CFG_SIZE		0x3c

#define VIRTIO_BLK_MAX_WZ_SECTORS 65536u

struct virtio_blk_config {
	const char *name;    /* "virtio-blk0" */
	const char *serial;  /* up to 20 bytes returned by GET_ID; NULL for none */
	unsigned num_queues; /* 1..16; 0 = 1 */
	unsigned queue_size; /* power of two <= 1024; 0 = 256 */
};

struct virtio_blk;
struct device_ops;

/* A disk on bd (which must outlive it). -EINVAL, -ENOMEM with a message. */
MUST_CHECK int virtio_blk_create(struct platform *p, struct blockdev *bd,
				 const struct virtio_blk_config *cfg, struct virtio_blk **out,
				 struct err *err);
/* The PCI function, for pci_host_add and pci_set_intx. */
struct pci_dev *virtio_blk_pci(struct virtio_blk *b);
/* The transport, for its eventfd fast paths (virtio_pci_set_accel). */
struct virtio_pci *virtio_blk_transport(struct virtio_blk *b);
/* Complete finished requests (takes the device lock). Returns how many, or a negative errno. */
int virtio_blk_poll(struct virtio_blk *b);
/* Requests submitted to the block layer and not completed. */
unsigned virtio_blk_inflight(const struct virtio_blk *b);
/* System reset. Device lock held. */
void virtio_blk_reset(struct virtio_blk *b);
/*
 * Waits for requests in flight, then frees; the caller took the function off the PCI host. If
 * waiting fails, guest RAM is kept mapped (gmem_keep_mapped: the kernel may still write there)
 * and the object lives on, inert, until the block layer ends its last request.
 */
void virtio_blk_destroy(struct virtio_blk *b);

extern const struct device_ops virtio_blk_device_ops;

#endif
