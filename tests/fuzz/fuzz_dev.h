/* SPDX-License-Identifier: MIT */
/*
 * A small machine for the device fuzz targets (fuzz_virtio_blk.c, fuzz_virtio_pv.c,
 * fuzz_ahci.c, fuzz_pci.c): the unit-test platform (tests/unit/harness: real buses, fake
 * clock, RAM at gpa 0, MSI recorder) with the real PCI host on it, configuration mechanism #1
 * accesses as a guest makes them (ports 0xCF8/0xCFC), the driver side of a virtio-pci function,
 * and disks that are raw images in memory (memfd) opened through the real block layer with the
 * synchronous engine, so completions arrive only when the input polls for them and every run
 * is deterministic.
 */
#ifndef TESTS_FUZZ_FUZZ_DEV_H
#define TESTS_FUZZ_FUZZ_DEV_H

#include "devices/pci.h"
#include "fuzz.h"
#include "test_platform.h"
#include "vmdk/blockdev.h"

struct fuzz_pc {
	struct test_platform tp;
	struct pci_host *host;
	u64 ram_bytes;
	u64 data_start, data_next, data_align; /* fuzz_pc_alloc's area: data_start to RAM's end */
};

/*
 * Platform with ram_bytes of RAM and a PCI host; fuzz_pc_alloc hands out [data_start,
 * ram_bytes) in data_align steps. 0, or -1 (nothing left to free).
 */
int fuzz_pc_init(struct fuzz_pc *pc, u64 ram_bytes, u64 data_start, u64 data_align);
void fuzz_pc_destroy(struct fuzz_pc *pc);

static inline u8 *fuzz_pc_ram(struct fuzz_pc *pc, u64 gpa)
{
	return (u8 *)pc->tp.ram + gpa;
}

/* Store the n low bytes of v at gpa, little-endian, as a driver does (bytes past RAM dropped). */
void fuzz_pc_put(struct fuzz_pc *pc, u64 gpa, u64 v, unsigned n);
/* Room for len bytes of driver data (request headers, buffers, tables); wraps around. */
u64 fuzz_pc_alloc(struct fuzz_pc *pc, u64 len);
/*
 * The device targets' guest-memory operation: le24 gpa (modulo RAM), u8 length, the bytes
 * (the driver's writes: fuzz_dma_sync).
 */
void fuzz_pc_mem_op(struct fuzz_pc *pc, struct fuzz_in *in);

/* Configuration space of 00:dev.fn (devfn = dev << 3 | fn) through mechanism #1. */
u32 fuzz_cfg_read(struct fuzz_pc *pc, unsigned devfn, unsigned off, unsigned size);
void fuzz_cfg_write(struct fuzz_pc *pc, unsigned devfn, unsigned off, unsigned size, u32 val);
/* Offset of the first capability with this ID in the device's list, or 0. */
unsigned fuzz_cfg_find_cap(struct fuzz_pc *pc, unsigned devfn, u8 id);

/*
 * Device writes to guest RAM nobody was told about. Every write a device makes must reach
 * gmem's on_write hook (gmem_write, or gmem_written after DMA through a gmem_ptr pointer), or
 * the BT engine keeps translated code for bytes that changed under it. The watch keeps a
 * copy of RAM: after the input's own writes, fuzz_dma_sync takes them as they are; after
 * the device ran, fuzz_dma_check marks every changed byte not reported yet; a later report
 * (DMA completes after the write) clears it; fuzz_dma_finish fails the input if any is left.
 * One watch at a time, on RAM of at most FUZZ_DMA_MAX bytes.
 */
#define FUZZ_DMA_MAX (256u << 10)
void fuzz_dma_start(struct fuzz_pc *pc);
void fuzz_dma_sync(void);
void fuzz_dma_check(void);
void fuzz_dma_finish(void);

/*
 * The driver side of a modern virtio-pci function at 00:devfn, as the virtio fuzz targets
 * drive it: BAR4 (common configuration and notifications) at bar4, the MSI-X table (BAR1) at
 * bar1. fuzz_vpci_bars places both BARs and enables memory and bus mastering;
 * fuzz_vpci_features resets the device and negotiates accept (of the offered features in word
 * 0) and VERSION_1 up to FEATURES_OK; fuzz_vpci_msix points vectors 0..last at msi_addr with
 * data 0x40 + vector, enables MSI-X and gives the configuration vector 0 (nothing without the
 * capability); fuzz_vpci_queue sets up queue q (size 0: the device's) at desc, avail, used
 * with MSI-X vector q + 1 and enables it; fuzz_vpci_driver_ok ends the set-up.
 */
struct fuzz_vpci {
	struct fuzz_pc *pc;
	unsigned devfn;
	u64 bar4, bar1;
};

void fuzz_vpci_common(const struct fuzz_vpci *v, unsigned off, unsigned size, u64 val);
void fuzz_vpci_notify(const struct fuzz_vpci *v, unsigned q);
void fuzz_vpci_bars(const struct fuzz_vpci *v);
void fuzz_vpci_features(const struct fuzz_vpci *v, u32 accept);
void fuzz_vpci_msix(const struct fuzz_vpci *v, unsigned last, u64 msi_addr);
void fuzz_vpci_queue(const struct fuzz_vpci *v, unsigned q, unsigned size, u64 desc, u64 avail,
		     u64 used);
void fuzz_vpci_driver_ok(const struct fuzz_vpci *v);

/* Descriptor i of the split-ring table at table. */
void fuzz_vring_desc(struct fuzz_pc *pc, u64 table, unsigned i, u64 addr, u32 len, u16 flags,
		     u16 next);
/* Make head available in the split ring's avail area at avail (idx: the driver's copy). */
void fuzz_vring_post(struct fuzz_pc *pc, u64 avail, u16 *idx, unsigned qsize, u16 head);

struct fuzz_disk {
	int fd;
	char path[FUZZ_PATH_MAX];
	struct blockdev *bd;
};

/*
 * A raw disk of size bytes in memory whose sector n (of sector_bytes) is filled with the
 * byte n + 1, opened as format raw with the "sync" engine. 0, or -1 (nothing left to free).
 */
int fuzz_disk_open(struct fuzz_disk *d, u64 size, unsigned sector_bytes, bool readonly);
/* Close the block device (after the device using it is gone) and the memory file. */
void fuzz_disk_close(struct fuzz_disk *d);

#endif
