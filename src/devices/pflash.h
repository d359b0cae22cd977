/* SPDX-License-Identifier: MIT */
/*
 * A parallel NOR flash bank with the Intel/Sharp command set (CFI primary command set 0x0001),
 * one byte wide: the interface OVMF's QemuFlash driver probes and drives (read array 0xff,
 * read status 0x70, clear status 0x50, program 0x10/0x40, block erase 0x20 then 0xd0,
 * read identifier 0x90, CFI query 0x98). A bank is one MMIO range over a buffer the caller
 * owns (the contents of a firmware code or variables file).
 *
 * A read-only bank (the firmware code) refuses program and erase the way locked flash does:
 * the data stays, the status register reports the block locked and the operation failed.
 * A writable bank calls cfg->persist after each program and erase that changed bytes, with
 * the range: the owner writes it through to the backing file, so a crash loses nothing the
 * guest was told had completed. A failed persist is a failed program or erase in the status
 * register (the buffer keeps the change, the file does not).
 *
 * Program only clears bits (new = old & value), erase sets a whole block to 0xff, as on NOR
 * flash; accesses of 1, 2 and 4 bytes read the array little-endian, a command is the low
 * byte of a write.
 */
#ifndef DEVICES_PFLASH_H
#define DEVICES_PFLASH_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

/* Status register bits. */
#define PFLASH_SR_READY	      0x80
#define PFLASH_SR_ERASE_ERR   0x20
#define PFLASH_SR_PROGRAM_ERR 0x10
#define PFLASH_SR_LOCKED      0x02

/* Commands (the low byte of a write). */
#define PFLASH_CMD_READ_ARRAY	0xff
#define PFLASH_CMD_READ_ID	0x90
#define PFLASH_CMD_CFI_QUERY	0x98
#define PFLASH_CMD_READ_STATUS	0x70
#define PFLASH_CMD_CLEAR_STATUS 0x50
#define PFLASH_CMD_PROGRAM	0x10
#define PFLASH_CMD_PROGRAM_ALT	0x40
#define PFLASH_CMD_ERASE	0x20
#define PFLASH_CMD_CONFIRM	0xd0

/* What read identifier mode reports at offsets 0 and 1. */
#define PFLASH_MANUFACTURER 0x89 /* Intel, whose command set this is */
#define PFLASH_DEVICE_ID    0x18

/* Persist len bytes at off of the bank's buffer to its backing store: 0 or a negative errno. */
typedef int (*pflash_persist_fn)(void *opaque, u64 off, u64 len);

struct pflash_config {
	const char *name;	   /* "pflash-code", "pflash-vars" */
	u64 base;		   /* guest-physical address of the bank */
	u8 *data;		   /* the bank's contents, size bytes, owned by the caller */
	u64 size;		   /* a multiple of block_size */
	u32 block_size;		   /* a power of two, at least 256 (OVMF: 4 KiB) */
	bool read_only;		   /* program and erase fail as on a locked bank */
	pflash_persist_fn persist; /* writable banks: called after each change */
	void *persist_opaque;
};

struct pflash;

/* Map the bank on p's MMIO bus. -EINVAL for a bad geometry, -ENOMEM, -EBUSY. Main thread. */
MUST_CHECK int pflash_create(struct platform *p, const struct pflash_config *cfg,
			     struct pflash **out, struct err *err);
/* Back to read array mode with a clear status register; the contents stay (non-volatile). */
void pflash_reset(struct pflash *f);
void pflash_destroy(struct pflash *f);

extern const struct device_ops pflash_device_ops;

#endif
