/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle every device model exposes through one const table
 * (docs/conventions.md section 6), so the board, snapshots and tests can treat devices uniformly.
 * Creation stays a typed function per device (<dev>_create); this table holds
 * what is common after creation. `state` is the device's save/load field
 * table (vmm/state.h, docs/device-state.md): every device has one.
 *
 * Threads and locking, for every device in this room unless its header says
 * otherwise: <dev>_create and <dev>_destroy run on the main thread while no
 * vCPU runs; <dev>_reset and the other entry points (uart_receive,
 * acpi_pm_power_button, ...) run with the VM-wide device lock
 * (platform.dev_lock) held, as bus handlers and timer callbacks already do.
 * Devices never take the lock themselves and never call back into a bus.
 */
#ifndef DEVICES_DEVICE_H
#define DEVICES_DEVICE_H

#include "vmm/base/types.h"

struct state_desc;

/* One named counter of a device (vm.counters): fn(opaque, "requests", 42). */
typedef void (*device_counter_fn)(void *opaque, const char *name, u64 value);

struct device_ops {
	const char *type;		/* "uart", "rtc", "pci-host", ... */
	void (*reset)(void *dev);	/* back to the power-on state; device lock held */
	const struct state_desc *state; /* fields to save and load (vmm/state.h) */
	void (*destroy)(void *dev);	/* unmap from the buses and free; main thread */
	/*
	 * The device's own I/O counters for vm.counters (requests, bytes, commands), one fn
	 * call each; NULL when it has none beyond the bus accesses the VM counts. Device lock
	 * held.
	 */
	void (*counters)(void *dev, device_counter_fn fn, void *opaque);
	/*
	 * Memory the device owns that the guest reads and writes like RAM (video RAM): not in
	 * its state record but saved with guest RAM by snapshots and migration
	 * (docs/snapshots.md). Its host address (page-aligned, anonymous memory) and *len (a
	 * multiple of 4 KiB); NULL when it has none. Main thread.
	 */
	u8 *(*memory)(void *dev, u64 *len);
	/*
	 * Or into bitmap (bit i: page i of memory) the pages written since the last call, by the
	 * guest and by the device itself, and forget them. 0 or a negative errno. Any thread,
	 * device lock held.
	 */
	int (*memory_dirty)(void *dev, unsigned long *bitmap);
};

#endif
