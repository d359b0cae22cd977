/* SPDX-License-Identifier: MIT */
/*
 * The state of every device on a platform's device list (platform.h), through each device's
 * state table (device_ops.state, vmm/state.h): quiesce, save into a record set, check and
 * load a record set, reset in place. vm_state.c adds the vCPUs and the clock for snapshots
 * and migration.
 *
 * Order: records are saved and loaded in device-list order, which is creation order: the
 * interrupt controllers before the devices that raise lines into them, so a device's
 * post_load re-raising a line that was high finds the controller's pin already high.
 *
 * Threads: main thread, device lock held, no vCPU running.
 */
#ifndef VMM_PLATFORM_STATE_H
#define VMM_PLATFORM_STATE_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct err;
struct platform;
struct state_buf;
struct state_set;

/*
 * Quiesce every device (each table's pre_save: block requests in flight are drained, so their
 * completions land in the state). Run before saving anything. 0, or the first refusal.
 */
MUST_CHECK int platform_state_quiesce(struct platform *p, struct err *err);
/* Append one record per device to out; *count grows by the number written. */
MUST_CHECK int platform_state_save(struct platform *p, struct state_buf *out, u32 *count,
				   struct err *err);
/*
 * Check that set has a record of the right type for every device and that each would load
 * (state_check); marks them used. Nothing is written. skip (NULL for none) names device types
 * that take their state another way (the interrupt controllers of a state another engine
 * saved: vmm/chips_state.h): they need no record.
 */
MUST_CHECK int platform_state_check(struct platform *p, struct state_set *set,
				    bool (*skip)(const char *type), struct err *err);
/*
 * Load every device's record (after platform_state_check). On a failure (a post_load hook
 * refusing the state) the devices are reset and the error returned. skip: as for the check.
 */
MUST_CHECK int platform_state_load(struct platform *p, struct state_set *set,
				   bool (*skip)(const char *type), struct err *err);
/* device_ops.reset of every device, in list order. */
void platform_state_reset(struct platform *p);

#endif
