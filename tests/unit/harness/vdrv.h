/* SPDX-License-Identifier: MIT */
/*
 * A virtio driver for unit tests (VIRTIO 1.2 sections 3.1 and 4.1): finds the capabilities of
 * the virtio-pci function in slot devno through configuration mechanism #1, places its BARs,
 * negotiates features, builds split queues in the test platform's RAM, offers chains (direct
 * or through one indirect table), notifies and reads the used rings. Queue q's rings are at
 * VDRV_RINGS + q * 0x4000 (descriptors, avail +0x1000, used +0x2000); indirect tables at
 * VDRV_INDIRECT + q * 0x1000. The test thread drives it; nothing here waits.
 */
#ifndef TESTS_HARNESS_VDRV_H
#define TESTS_HARNESS_VDRV_H

#include "test_platform.h"
#include "virtio/virtio.h"

#define VDRV_BAR4     0xe0000000ull
#define VDRV_BAR1     0xe0100000ull
#define VDRV_RINGS    0x10000ull
#define VDRV_INDIRECT 0x88000ull
#define VDRV_MSI_ADDR 0xfee00000ull

struct vdrv {
	struct test_platform *tp;
	unsigned devno;
	u16 qsz;
	u8 caps[6]; /* config offset of each virtio cfg_type */
	u8 msix_cap;
	u16 next_desc[VIRTIO_MAX_QUEUES];
	u16 avail_idx[VIRTIO_MAX_QUEUES];
	u16 used_seen[VIRTIO_MAX_QUEUES];
};

struct vdrv_seg {
	u64 gpa;
	u32 len;
	bool write; /* device-writable */
};

void vdrv_init(struct vdrv *d, struct test_platform *tp, unsigned devno, u16 qsz);
u32 vdrv_cfg_read(struct vdrv *d, unsigned off, unsigned size);
void vdrv_cfg_write(struct vdrv *d, unsigned off, unsigned size, u32 val);
u64 vdrv_common_rd(struct vdrv *d, unsigned off, unsigned size);
void vdrv_common_wr(struct vdrv *d, unsigned off, unsigned size, u64 val);
u64 vdrv_devcfg_rd(struct vdrv *d, unsigned off, unsigned size);
void vdrv_devcfg_wr(struct vdrv *d, unsigned off, unsigned size, u64 val);
u8 *vdrv_ram(struct vdrv *d, u64 gpa);
/* Capabilities and BARs (memory and bus mastering on). */
void vdrv_probe(struct vdrv *d);
u64 vdrv_device_features(struct vdrv *d);
/* Reset, then up to FEATURES_OK with want; the status read back. */
u8 vdrv_negotiate(struct vdrv *d, u64 want);
/* Probe, negotiate, set up queues 0..nq-1 (MSI-X vector q + 1), DRIVER_OK. */
void vdrv_start(struct vdrv *d, u64 want, unsigned nq);
void vdrv_msix_enable(struct vdrv *d, unsigned nvec);
void vdrv_offer(struct vdrv *d, unsigned q, const struct vdrv_seg *s, unsigned n, bool indirect);
void vdrv_kick(struct vdrv *d, unsigned q);
u16 vdrv_used_idx(struct vdrv *d, unsigned q);
/* Used element i (free-running index) of queue q. */
void vdrv_used_elem(struct vdrv *d, unsigned q, u16 i, u32 *id, u32 *len);
u8 vdrv_status(struct vdrv *d);
bool vdrv_needs_reset(struct vdrv *d);

#endif
