/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle every device model exposes through one const table (STYLE.md
 * section 6), so the board, snapshots and tests can treat devices uniformly.
 * Creation stays a typed function per device (<dev>_create); this table holds
 * what is common after creation. `state` (the save/load field table of
 * STYLE.md section 7) stays NULL until snapshots exist.
 */
#ifndef DEVICES_DEVICE_H
#define DEVICES_DEVICE_H

struct state_desc;

struct device_ops {
	const char *type;		/* "uart", "rtc", "pci-host", ... */
	void (*reset)(void *dev);	/* back to the power-on state; device lock held */
	const struct state_desc *state; /* fields to save and load; NULL for now */
	void (*destroy)(void *dev);	/* unmap from the buses and free; main thread */
};

#endif
