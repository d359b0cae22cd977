/* SPDX-License-Identifier: MIT */
/*
 * QEMU's PCI test device (pci-testdev, 1b36:0005), so bare-metal test suites written for it
 * (kvm-unit-tests' pci-testdev) run unchanged. The layout is the one QEMU documents
 * (docs/specs/pci-testdev.txt); the records below are this device's own.
 *
 * BAR0 is 4 KiB of memory space, BAR1 256 bytes of I/O space. Each starts with the header of
 * the test selected on it (every register little-endian):
 *
 *   +0   u8  test        write: select test N of this BAR (its count starts at 0); a number
 *                        past the last selects none. Reads the selected number.
 *                        With no test selected (after reset) every byte of the BAR reads 0.
 *   +1   u8  width       1, 2 or 4: the size of the access the test makes; 0 when no test is
 *                        selected (a guest scans N = 0, 1, ... until the width is not 1, 2 or 4)
 *   +4   u32 offset      where in this BAR the test's writes go
 *   +8   u32 data        the value to write
 *   +12  u32 count       writes the device detected for the selected test
 *   +16  name            0-terminated ASCII, e.g. "portio-datamatch-eventfd"
 *
 * Each BAR has three tests, as QEMU's device has ("mmio-" on BAR0, "portio-" on BAR1):
 *   0 no-eventfd         a write of width bytes of data at offset counts; it always exits to
 *                        the device
 *   1 wildcard-eventfd   a write of width bytes of any value at offset counts
 *   2 datamatch-eventfd  a write of width bytes of exactly data at offset counts
 * Other writes at offset are ignored. Under an accelerator with ioeventfds (KVM) the writes
 * tests 1 and 2 count reach an eventfd in the kernel instead of the device (what such tests
 * measure); the device adds what the eventfd counted when the guest reads count, so count
 * says the same under every accelerator.
 *
 * No interrupt, no DMA. Without firmware the board gives the BARs their addresses
 * (PCI_TESTDEV_BAR0_GPA, PCI_TESTDEV_BAR1_PORT) and turns decoding on, as a BIOS would, at
 * creation and at every reset.
 */
#ifndef DEVICES_PCI_TESTDEV_H
#define DEVICES_PCI_TESTDEV_H

#include "devices/device.h"
#include "devices/pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#define PCI_TESTDEV_VENDOR     0x1b36 /* Red Hat, Inc. (QEMU's devices) */
#define PCI_TESTDEV_DEVICE     0x0005
#define PCI_TESTDEV_CLASS      0xff0000 /* unassigned class */
#define PCI_TESTDEV_MMIO_BYTES 0x1000
#define PCI_TESTDEV_IO_BYTES   0x100
#define PCI_TESTDEV_NR_TESTS   3		    /* per BAR */
#define PCI_TESTDEV_NO_TEST    PCI_TESTDEV_NR_TESTS /* none selected */
/* Where the board puts the BARs when no firmware runs: the tops of the PCI windows. */
#define PCI_TESTDEV_BAR0_GPA  0xfebff000u
#define PCI_TESTDEV_BAR1_PORT 0xff00u

/* Header offsets. */
#define PCI_TESTDEV_HDR_TEST   0
#define PCI_TESTDEV_HDR_WIDTH  1
#define PCI_TESTDEV_HDR_OFFSET 4
#define PCI_TESTDEV_HDR_DATA   8
#define PCI_TESTDEV_HDR_COUNT  12
#define PCI_TESTDEV_HDR_NAME   16

/*
 * The accelerator's eventfd path: a write of len bytes at addr (I/O space with is_pio), of
 * exactly data when match, signals eventfd fd instead of reaching the device; assign false
 * removes it (same arguments). 0 or a negative errno. Device lock held, any thread.
 */
struct pci_testdev_accel {
	int (*ioeventfd)(void *opaque, u64 addr, unsigned len, bool is_pio, bool match, u64 data,
			 int fd, bool assign);
	void *opaque;
};

struct pci_testdev_config {
	const char *name; /* "pci-testdev" */
	bool assign_bars; /* no firmware runs: decode the BARs at the addresses above */
	struct pci_testdev_accel accel; /* ioeventfd NULL: every write reaches the device */
};

struct pci_testdev;

/* The device, not yet on a bus (pci_host_add(pci_testdev_pci(t)) puts it there). -ENOMEM. */
MUST_CHECK int pci_testdev_create(struct platform *p, const struct pci_testdev_config *cfg,
				  struct pci_testdev **out, struct err *err);
struct pci_dev *pci_testdev_pci(struct pci_testdev *t);
/*
 * Once it is on the bus: with assign_bars, BAR0 and BAR1 at their addresses and memory and
 * I/O decoding on. Also what reset does last. Device lock held.
 */
void pci_testdev_assign_bars(struct pci_testdev *t);
/* No test selected, PCI state at power-on (then assign_bars). Device lock held. */
void pci_testdev_reset(struct pci_testdev *t);
/* Take it off the buses and free it (the caller removed it from the PCI host). */
void pci_testdev_destroy(struct pci_testdev *t);

extern const struct device_ops pci_testdev_device_ops;

#endif
