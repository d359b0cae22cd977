/* SPDX-License-Identifier: MIT */
/*
 * pvpanic, the ISA variant (QEMU's docs/specs/pvpanic.rst, an interface Linux's pvpanic-mmio
 * driver speaks; ACPI _HID "QEMU0001" with one I/O port, 0x505 by convention): reading the
 * port gives the events the device supports, writing it reports events. PVPANIC_PANICKED: the
 * guest kernel panicked; PVPANIC_CRASH_LOADED: it panicked and a crash kernel takes over.
 * Each report becomes PLATFORM_REQ_PANIC (the VM logs it and raises a "panic" event).
 */
#ifndef DEVICES_PVPANIC_H
#define DEVICES_PVPANIC_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#define PVPANIC_DEFAULT_PORT 0x505
#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

struct pvpanic_config {
	const char *name; /* "pvpanic" */
	u16 port;
};

struct pvpanic;

/* Claim the port. -ENOMEM, -EBUSY with a message. Main thread. */
MUST_CHECK int pvpanic_create(struct platform *p, const struct pvpanic_config *cfg,
			      struct pvpanic **out, struct err *err);
void pvpanic_reset(struct pvpanic *pv);
void pvpanic_destroy(struct pvpanic *pv);

extern const struct device_ops pvpanic_device_ops;

#endif
