/* SPDX-License-Identifier: MIT */
/*
 * Snapshots (docs/snapshots.md): a running VM written to a directory and continued from it
 * later in a new process.
 *
 *   DIR/config.json   the spec as the VM ran it (spec_to_json: the same schema as a spec file)
 *   DIR/state         the versioned state file: magic, format version, sections (the memory
 *                     layout, every vCPU and device as vm_state_save's record set, each record
 *                     with its own version), a CRC-32 over all of it
 *   DIR/memory        guest RAM, the regions back to back: a sparse file in which only the
 *                     pages the guest ever touched and that are not zero are written; the rest
 *                     are holes
 *
 * Disks: a writable VMDK disk is frozen at the snapshot (blockdev_snapshot): the VM goes on in
 * a new delta child next to it (disk.vmdk -> disk-1.vmdk), config.json names the frozen image,
 * and a restore opens a new delta child of it, so the frozen image stays as it was however
 * often the snapshot is restored. A writable raw disk cannot be frozen: a snapshot of a VM that
 * has one is refused (convert the image to VMDK, or attach it read-only). Read-only disks and
 * CD-ROMs are named as they are.
 *
 * Taking a snapshot is two steps: snapshot_prepare on the main thread with the VM Paused (the
 * state is saved, the disks frozen, config.json's text made), then snapshot_write on any thread
 * (the files written under temporary names and renamed; the state file last, so a directory
 * with a state file is complete), while the VM stays Paused with its RAM unchanged
 * (VM_HOLD_FROZEN). snapshot_job_free removes whatever a failed or cancelled write left.
 *
 * Restoring: snapshot_open reads and checks the state file (hostile input: every refusal says
 * what is wrong), snapshot_restore_disks gives the spec parsed from config.json its new delta
 * children and snapshot_restore_vars its own copy of the variable store, and snapshot_restore
 * loads RAM and the state into a VM created from that spec.
 */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <stddef.h>

struct vm;
struct vm_spec;
struct gmem;

#define SNAPSHOT_CONFIG	     "config.json"
#define SNAPSHOT_STATE	     "state"
#define SNAPSHOT_MEMORY	     "memory"
#define SNAPSHOT_VARS	     "firmware_vars.fd" /* the variable store, as config.json names it */
#define SNAPSHOT_MAGIC	     "VMMSNAP"		/* and a NUL: 8 bytes */
#define SNAPSHOT_FORMAT	     2u /* the state file's format version this VMM writes */
#define SNAPSHOT_FORMAT_MIN  1u /* ... and the oldest it reads */
#define SNAPSHOT_PAGE	     4096u
#define SNAPSHOT_STATE_MAX   (256u << 20) /* a state file larger than this is refused */
#define SNAPSHOT_MAX_REGIONS 8

/* Where guest RAM is in the memory file. */
struct snapshot_region {
	u64 gpa, len, file_off;
};

struct snapshot_mem_stats {
	u64 ram_bytes;	/* guest RAM */
	u64 data_bytes; /* pages written (touched and not zero) */
	u64 ns;		/* time taken */
};

/* ---- taking one */

struct snapshot_job;

/*
 * Main thread, VM Paused: check that the VM can be snapshotted into dir (an absolute path; it
 * is created when missing and must not hold a snapshot yet), save its state, freeze its
 * writable disks (spec's disk paths then name the new deltas the VM goes on in) and make
 * config.json's text from the spec as it was before. -EINVAL/-EEXIST/-ENOTSUP with err saying
 * what, or a failure of the state save or of a disk.
 */
MUST_CHECK int snapshot_prepare(struct vm *vm, struct vm_spec *spec, const char *dir,
				struct snapshot_job **out, struct err *err);
/*
 * Any thread: write the memory, state and config files. The VM must stay Paused with its RAM
 * unchanged meanwhile. snapshot_cancel (any thread) makes a write in progress stop soon with
 * -ECANCELED.
 */
MUST_CHECK int snapshot_write(struct snapshot_job *job, struct snapshot_mem_stats *stats,
			      struct err *err);
void snapshot_cancel(struct snapshot_job *job);
/* Free the job; files of a write that did not complete are removed. */
void snapshot_job_free(struct snapshot_job *job);

/* ---- restoring one */

struct snapshot;

/*
 * Read and check DIR's state file and config.json (dir absolute or relative to the current
 * directory): magic, a format version this VMM reads, the CRC, every section's bounds and
 * version, the memory file present with the size the layout says. *out holds config.json's
 * text (snapshot_config) and the state. Errors name the file and what is wrong.
 */
MUST_CHECK int snapshot_open(const char *dir, struct snapshot **out, struct err *err);
void snapshot_close(struct snapshot *s);
const char *snapshot_config(const struct snapshot *s);
const char *snapshot_dir(const struct snapshot *s);
/* The engine that took it ("bt", "kvm"). */
const char *snapshot_engine(const struct snapshot *s);

/*
 * The spec parsed from config.json: each writable VMDK disk gets a new delta child of the
 * frozen image it names (its path then names the child; created[i] a copy of it, for the
 * caller to remove if the restore fails, or NULL; created has spec->nr_disks entries). Main
 * thread, before the VM exists.
 */
MUST_CHECK int snapshot_restore_disks(struct vm_spec *spec, char **created, struct err *err);
/*
 * The spec's boot.firmware_vars (the snapshot's copy of the store, SNAPSHOT_VARS, which stays
 * as the snapshot left it) is copied to the next free name next to it ("firmware_vars-1.fd",
 * "-2", ...), created 0600, which the restored VM then uses: *created a copy of its path, for
 * the caller to remove if the restore fails, or NULL without a store. Main thread.
 */
MUST_CHECK int snapshot_restore_vars(struct vm_spec *spec, char **created, struct err *err);

/*
 * Load the snapshot into vm, Created from the spec of snapshot_restore_disks: its RAM must have
 * the snapshot's layout; then RAM is read from the memory file (holes read as zeros) and the
 * state loaded (vm_state_load: a spec that does not match the state is refused there). Main
 * thread.
 */
MUST_CHECK int snapshot_restore(struct snapshot *s, struct vm *vm, struct snapshot_mem_stats *stats,
				struct err *err);

/* ---- in a vmm (snapshot_run.c) */

struct vmm;

/* How a snapshot_take ended: ret 0 or a negative errno with err; stats of the memory file. */
typedef void (*snapshot_done_fn)(void *opaque, int ret, const struct err *err,
				 const struct snapshot_mem_stats *stats);

/*
 * Snapshot the vmm's VM into dir (absolute): a Running VM is paused for it and, when resume,
 * runs again once the files are written; a Paused one stays Paused. Returns at once: 0 when
 * the files are being written (done is called on the main thread when they are, or with
 * -ECANCELED if the VM goes first), or a negative errno with err (nothing was changed but a
 * pause undone). Main thread.
 */
MUST_CHECK int snapshot_take(struct vmm *m, const char *dir, bool resume, snapshot_done_fn done,
			     void *opaque, struct err *err);

/*
 * Create the vmm's VM from the snapshot in dir (config.json with the --set overrides sets),
 * with its RAM and state, and start it Running when resume, else Paused. The vmm must have no
 * VM. Main thread.
 */
MUST_CHECK int snapshot_restore_vm(struct vmm *m, const char *dir, const char *const *sets,
				   unsigned nr_sets, bool resume, struct err *err);

/*
 * A spec from JSON text (config.json, a migration's CONFIG) with the --set overrides, its
 * problems as one message that starts with what; an "auto" accel becomes engine's. Main
 * thread.
 */
MUST_CHECK int snapshot_parse_spec(const char *json, const char *base_dir, const char *what,
				   const char *engine, const char *const *sets, unsigned nr_sets,
				   struct vm_spec *spec, struct err *err);

/* ---- guest RAM pages (snapshot_mem.c; migration uses them too) */

/*
 * Mark in bitmap (one bit per 4 KiB page of [hva, hva+len), cleared first) the pages the
 * process ever touched: resident or swapped out, from /proc/self/pagemap; every page when
 * the pagemap cannot be read. Pages never touched read as zeros. 0 or -ENOMEM.
 */
MUST_CHECK int snapshot_mem_touched(const void *hva, u64 len, unsigned long *bitmap);
/* Is the 4 KiB page at p all zeros? */
bool snapshot_page_is_zero(const void *p);
/* Drop the contents of len bytes of anonymous memory at hva: they read as zeros afterwards. */
void snapshot_mem_zero_range(void *hva, u64 len);
/* Drop the contents of guest RAM: every page reads as zeros afterwards. */
void snapshot_mem_zero(struct gmem *mem);

#endif
