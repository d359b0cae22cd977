/* SPDX-License-Identifier: MIT */
/*
 * Live migration, pre-copy (docs/snapshots.md "Live migration"): a running VM moves to another
 * VMM process over one stream connection, unix or TCP, while it runs.
 *
 * The destination is a VMM started without a VM (vm.receive-migration): it listens, takes one
 * connection, creates the VM from the source's spec, fills its RAM and loads its state. The
 * source (vm.send-migration) sends every page the guest touched while it runs, then the pages
 * dirtied meanwhile, round after round, until what is left fits the downtime target; then it
 * pauses the VM, lets go of its disks (flushed, reopened read-only: both sides open the same
 * files), sends the rest with the device and vCPU state, and once the destination has loaded
 * it tells it to run and exits. A failure or a refusal at any step before that leaves the
 * source running as it was (its disks reopened writable), with a clear error; the destination
 * then drops the VM it was building.
 *
 * The stream (little-endian): frames of u32 type, u32 flags (0), u64 payload length, payload.
 *
 *   HELLO   both ways first: "VMMMIGR\0", u32 version, u32 oldest version read; each side
 *           checks the other's range and both use the highest version both read
 *   CONFIG  source: u8 length + the engine name, u64 RAM bytes, the spec as JSON
 *   PAGES   source: u64 address, u32 pages, u32 space, the pages (at most MIGRATE_RUN_PAGES):
 *           space 0 is RAM (the address guest-physical, inside one RAM region); from version
 *           2 on, space 1 + i is the memory of the VM's i-th device that owns some (video
 *           RAM, device_ops.memory, in device-list order; the address an offset in it)
 *   STATE   source: the record set of vm_state_save (docs/device-state.md)
 *   END     source: nothing more follows; the destination loads the state
 *   READY   destination: the state is loaded
 *   GO      source: run (the source then exits)
 *   ERROR   either side: a refusal or a failure, in words; the connection ends
 *
 * Threads: the calls here on the main thread; the stream on the vmm's worker (worker.h),
 * which asks the main thread for the steps that touch the VM (loop_post).
 */
#ifndef VMM_MIGRATE_H
#define VMM_MIGRATE_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

struct vmm;

#define MIGRATE_VERSION		    2u /* the protocol version this VMM speaks */
#define MIGRATE_VERSION_MIN	    1u /* ... and the oldest it still speaks */
#define MIGRATE_DOWNTIME_MS_DEFAULT 50u
#define MIGRATE_DOWNTIME_MS_MAX	    60000u
#define MIGRATE_RUN_PAGES	    256u /* pages per PAGES frame */
#define MIGRATE_MAX_ROUNDS	    30u	 /* dirty rounds before it finishes anyway */

struct migrate_stats {
	u64 total_ns;	 /* from the call to the end */
	u64 downtime_ns; /* source: from the pause to the destination's READY */
	u64 bytes;	 /* page data sent or received */
	unsigned rounds; /* dirty-page rounds after the first pass */
	bool converged;	 /* the last round fit the downtime target */
};

/* How a migration ended: 0, or a negative errno with err. Main thread. */
typedef void (*migrate_done_fn)(void *opaque, int ret, const struct err *err,
				const struct migrate_stats *stats);

/*
 * Source: move the vmm's VM (Running or Paused) to the VMM listening at url ("unix:PATH" or
 * "tcp:HOST:PORT", HOST a numeric IPv4 address or a bracketed IPv6 one), with downtime_ms
 * the target for the final pause. Returns at once: 0 when under way (done is called at the
 * end; on success the process then exits), or a negative errno with err (nothing changed).
 */
MUST_CHECK int migrate_send(struct vmm *m, const char *url, unsigned downtime_ms,
			    migrate_done_fn done, void *opaque, struct err *err);

/*
 * Destination: on a vmm without a VM, listen at url for one migration and run the VM it
 * brings; sets are --set overrides for its spec (host-side keys such as serial.path).
 * Returns at once: 0 when listening (done is called at the end), or a negative errno.
 */
MUST_CHECK int migrate_receive(struct vmm *m, const char *url, const char *const *sets,
			       unsigned nr_sets, migrate_done_fn done, void *opaque,
			       struct err *err);

#endif
