/* SPDX-License-Identifier: MIT */
/*
 * Debug-exit port for test guests: a write of V ends the VM with exit status
 * V & 0xff (PLATFORM_REQ_EXIT), or with QEMU's isa-debug-exit convention
 * ((V << 1) | 1) & 0xff, so test suites written for QEMU read their result
 * unchanged. Guests in tests/guests use it to report pass/fail without a
 * console.
 */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define DEBUG_EXIT_DEFAULT_PORT 0x501
#define DEBUG_EXIT_WIDTH	4 /* ports claimed: a 1-, 2- or 4-byte write at the base */

struct debug_exit_config {
	const char *name; /* "debug-exit" */
	u16 port;
	bool qemu_style; /* exit status ((V << 1) | 1) & 0xff instead of V & 0xff */
};

struct debug_exit;

/*
 * Claim ports [port, port+4). The irq argument is unused (the uniform
 * constructor shape). -ENOMEM, -EBUSY with a message. Main thread.
 */
MUST_CHECK int debug_exit_create(struct platform *p, const struct debug_exit_config *cfg,
				 struct irq_line irq, struct debug_exit **out, struct err *err);
void debug_exit_reset(struct debug_exit *d);
void debug_exit_destroy(struct debug_exit *d);

extern const struct device_ops debug_exit_device_ops;

#endif
