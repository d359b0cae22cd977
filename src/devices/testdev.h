/* SPDX-License-Identifier: MIT */
/*
 * Test device for tiny guest programs (tests/guests): a PIO window and an
 * MMIO window with the same register map, to check the accelerators' port
 * and MMIO paths at every access size and to trigger interrupts on demand.
 *
 * Register map (offsets from each window's base; little-endian; any access
 * size 1/2/4/8 at any offset, PIO accesses being at most 4 bytes):
 *
 *   0x00  SCRATCH  u64 RW  reads back what was written, byte for byte
 *   0x08  INVERT   u64 RO  ~SCRATCH (the inverted last written value)
 *   0x10  COUNT    u64 RW  accesses to this window before this one; each
 *                          access adds 1 after it is served; any write to
 *                          COUNT sets it to 0 (and is not counted)
 *   0x18  IRQ      u32 RW  bit 0 = level of the device's irq_line; a write
 *                          covering byte 0x18 drives the line to its bit 0
 *   0x1c  ID       u32 RO  TESTDEV_ID_VALUE ("TDEV")
 *   0x20-            RO  0 (MMIO window only: writes ignored)
 *
 * Each window has its own SCRATCH and COUNT; both drive the same line.
 */
#ifndef DEVICES_TESTDEV_H
#define DEVICES_TESTDEV_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define TESTDEV_SCRATCH	 0x00
#define TESTDEV_INVERT	 0x08
#define TESTDEV_COUNT	 0x10
#define TESTDEV_IRQ	 0x18
#define TESTDEV_ID	 0x1c
#define TESTDEV_ID_VALUE 0x56454454u /* bytes 'T' 'D' 'E' 'V' */

#define TESTDEV_PIO_PORTS	 0x20	/* size of the PIO window */
#define TESTDEV_MMIO_BYTES	 0x1000 /* size of the MMIO window */
#define TESTDEV_DEFAULT_PIO_BASE 0x520
#define TESTDEV_DEFAULT_MMIO_GPA 0xfeb00000ull

struct testdev_config {
	const char *name; /* "testdev" */
	u16 pio_base;	  /* 0: no PIO window */
	u64 mmio_gpa;	  /* 0: no MMIO window; must be 4 KiB aligned */
};

struct testdev;

/* Map the windows; irq is the line the IRQ register drives. -EINVAL, -ENOMEM, -EBUSY. */
MUST_CHECK int testdev_create(struct platform *p, const struct testdev_config *cfg,
			      struct irq_line irq, struct testdev **out, struct err *err);
/* Zero SCRATCH and COUNT, lower the line. Device lock held. */
void testdev_reset(struct testdev *t);
void testdev_destroy(struct testdev *t);

extern const struct device_ops testdev_device_ops;

#endif
