/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-pci driver for unit tests (VIRTIO 1.2 sections 3.1, 4.1): configuration
 * space through mechanism #1, the vendor capabilities, BAR placement, feature negotiation,
 * split queues in the test platform's RAM, MSI-X, chains offered and used elements read back.
 * Queue q's rings: descriptors at rings + q * 0x4000, driver area + 0x1000, device area +
 * 0x2000.
 */
#ifndef TESTS_UNIT_VIRTIO_DRIVER_H
#define TESTS_UNIT_VIRTIO_DRIVER_H

#include "test_platform.h"
#include "virtio/virtio.h"

struct vdrv {
	struct test_platform *tp;
	unsigned devno, qsz;
	u64 rings, bar4, bar1;
	u8 caps[6];
	u8 msix_cap;
	u16 next_desc[VIRTIO_MAX_QUEUES];
	u16 avail_idx[VIRTIO_MAX_QUEUES];
	u16 used_seen[VIRTIO_MAX_QUEUES];
};

struct vdrv_seg {
	u64 gpa;
	u32 len;
	bool write;
};

void vdrv_init(struct vdrv *d, struct test_platform *tp, unsigned devno, unsigned qsz, u64 rings,
	       u64 bar4, u64 bar1);
u32 vdrv_cfg_read(struct vdrv *d, unsigned off, unsigned size);
void vdrv_cfg_write(struct vdrv *d, unsigned off, unsigned size, u32 val);
/* Find the capabilities, place the BARs, enable memory decoding and bus mastering. */
void vdrv_probe(struct vdrv *d);
u64 vdrv_device_features(struct vdrv *d);
/* Reset, ACKNOWLEDGE, DRIVER, the features, FEATURES_OK: the status read back. */
u8 vdrv_negotiate(struct vdrv *d, u64 features);
/* Queue q at its rings with MSI-X vector vec (0xffff: none), enabled. */
void vdrv_queue(struct vdrv *d, unsigned q, u16 vec);
void vdrv_driver_ok(struct vdrv *d);
u8 vdrv_status(struct vdrv *d);
/* MSI-X on, every vector n at 0xfee00000 with data 0x40 + n. */
void vdrv_msix(struct vdrv *d, unsigned nvec);
u64 vdrv_devcfg(struct vdrv *d, unsigned off, unsigned size);
/* Put a chain on queue q (no kick); its head. */
u16 vdrv_offer(struct vdrv *d, unsigned q, const struct vdrv_seg *s, unsigned n);
void vdrv_kick(struct vdrv *d, unsigned q);
/* The next used element of queue q: true with id and len, false if none. */
bool vdrv_used(struct vdrv *d, unsigned q, u32 *id, u32 *len);
u8 *vdrv_ram(struct vdrv *d, u64 gpa);

#endif
