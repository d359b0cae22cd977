/* SPDX-License-Identifier: MIT */
/*
 * QEMU's PC test device (pc-testdev), so bare-metal test suites written for it (kvm-unit-tests)
 * run unchanged. Its register map, as that device defines it:
 *
 *   ports 0xe0-0xe3   32-bit scratch register: a write of N bytes at 0xe0+k replaces bytes
 *                     k..k+N-1 (those below 4); a read at 0xe0+k returns the register shifted
 *                     right by 8*k bits (zeros above)
 *   port  0xe4        flush page: a write of a guest-physical address asks the accelerator to
 *                     drop what it cached of that 4 KiB page (the page's contents stay); reads
 *                     return all ones
 *   ports 0xe8-0xeb   the scratch register again, one byte per port (wider accesses are served
 *                     byte by byte)
 *   ports 0x2000-0x2017  a 1-byte write of V to 0x2000+n sets ISA IRQ line n to (V != 0), into
 *                     both the 8259 pair (lines 0-15) and the I/O APIC (as every ISA line of the
 *                     board: IRQ0 is I/O APIC pin 2); wider writes set one line per byte; reads
 *                     return all ones
 *   MMIO 0xff000000-0xff00ffff  64 KiB that reads back what was written, any size 1-8 at any
 *                     offset, little-endian; it is not RAM, so every access is an MMIO exit
 *                     (the accelerators' instruction emulation is what the suites test)
 */
#ifndef DEVICES_PC_TESTDEV_H
#define DEVICES_PC_TESTDEV_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define PC_TESTDEV_PORT_DATA   0xe0
#define PC_TESTDEV_PORT_FLUSH  0xe4
#define PC_TESTDEV_PORT_BYTE   0xe8
#define PC_TESTDEV_PORT_WIDTH  4 /* each of the three windows above */
#define PC_TESTDEV_PORT_IRQ    0x2000
#define PC_TESTDEV_NR_IRQS     24
#define PC_TESTDEV_IOMEM_GPA   0xff000000ull
#define PC_TESTDEV_IOMEM_BYTES 0x10000
#define PC_TESTDEV_FLUSH_BYTES 0x1000

struct pc_testdev_config {
	const char *name; /* "pc-testdev" */
};

struct pc_testdev;

/*
 * Map the ports and the MMIO window; irqs[n] is ISA IRQ line n. -ENOMEM, -EBUSY (a range is
 * taken).
 */
MUST_CHECK int pc_testdev_create(struct platform *p, const struct pc_testdev_config *cfg,
				 const struct irq_line irqs[PC_TESTDEV_NR_IRQS],
				 struct pc_testdev **out, struct err *err);
/* Zero the scratch register and the memory, lower every line it raised. Device lock held. */
void pc_testdev_reset(struct pc_testdev *t);
void pc_testdev_destroy(struct pc_testdev *t);

extern const struct device_ops pc_testdev_device_ops;

#endif
