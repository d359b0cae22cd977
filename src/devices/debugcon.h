/* SPDX-License-Identifier: MIT */
/*
 * The firmware debug console (debugcon.c): QEMU's isa-debugcon convention on one I/O port
 * (0x402 for SeaBIOS and OVMF): a read returns DEBUGCON_READBACK, by which the firmware sees
 * that the port is there; each byte written is handed to the board's sink.
 */
#ifndef DEVICES_DEBUGCON_H
#define DEVICES_DEBUGCON_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#define DEBUGCON_DEFAULT_PORT 0x402
#define DEBUGCON_READBACK     0xe9

struct debugcon_config {
	const char *name; /* "debugcon" */
	u16 port;
	/* Called with each byte the guest writes, device lock held (any vCPU thread). */
	void (*write)(void *opaque, u8 byte);
	void *opaque;
};

struct debugcon;

/* Map the port. -ENOMEM, -EBUSY with a message. Main thread. */
MUST_CHECK int debugcon_create(struct platform *p, const struct debugcon_config *cfg,
			       struct debugcon **out, struct err *err);
void debugcon_destroy(struct debugcon *d);

extern const struct device_ops debugcon_device_ops;

#endif
