/* SPDX-License-Identifier: MIT */
/*
 * The VMM process (docs/management.md): what `vmm run` builds first and owns
 * to the end -- the main event loop, the host-signal watch, the control
 * server (when an API socket is asked for), the current VM with its spec and
 * serial console, and the event log the API serves.
 *
 * At most one VM exists at a time (one process per VM). `vmm run SPEC` makes
 * it at once (vmm_create_vm + vmm_boot_vm); `vmm run --api-socket S` without
 * a spec waits for vm.create and vm.boot. vm.delete removes it and a new one
 * may be created.
 *
 * The process ends (vmm_run returns its exit status) when vmm.shutdown is
 * called (0), when a host signal arrives (128+N), or when the guest ends the
 * VM by itself (power-off, debug-exit, reset or triple fault set to "exit",
 * an accelerator failure: the status vm_end_exit_status gives). vm.shutdown
 * through the API leaves the process (and the VM, in Shutdown) alive.
 *
 * Threads: every function here is main-thread only.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/sandbox.h"

struct vmm;
struct vm;
struct vm_spec;
struct loop;
struct control;
struct nic_spec;
struct worker;

struct vmm_config {
	const char *api_socket;	     /* the control API's unix socket, or NULL for none */
	enum sandbox_action seccomp; /* vmm run --seccomp (sandbox.h); default trap */
};

MUST_CHECK int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct err *err);
/* Destroys the VM (if any), closes the API socket (and unlinks it), frees everything. */
void vmm_destroy(struct vmm *m);

/*
 * Create the VM from a validated spec, which the vmm takes over (*spec is zeroed; freed with
 * the VM): choose the accelerator, open the serial console, build the VM (Created) and attach
 * it to the loop. -EEXIST if a VM exists, -ENODEV if the spec's accelerator is not available
 * on this host, other negative errnos if the VM cannot be built; err says why. flags are
 * vm_create's (VM_CREATE_FOR_STATE for a VM that takes a snapshot's or a migration's state).
 */
MUST_CHECK int vmm_create_vm(struct vmm *m, struct vm_spec *spec, unsigned flags, struct err *err);
/* Boot the VM: vm_boot. -ENOENT if there is none. */
MUST_CHECK int vmm_boot_vm(struct vmm *m, struct err *err);
/* Stop and destroy the VM, close its console. -ENOENT if there is none. */
MUST_CHECK int vmm_delete_vm(struct vmm *m, struct err *err);

/*
 * A NIC more for the VM (vm.add-net): only while it is Created (hotplug into a running guest
 * would need ACPI PCI hotplug, which the board does not have): -EBUSY otherwise. ns is a
 * validated entry (spec_add_nic), taken over on success; tap_fd (or -1) an open tap the NIC
 * takes over in every case. -ENOENT without a VM.
 */
MUST_CHECK int vmm_add_nic(struct vmm *m, struct nic_spec *ns, int tap_fd, struct err *err);

/* The current VM, or NULL. */
struct vm *vmm_vm(struct vmm *m);
/*
 * The current VM's spec, which the vmm owns: a snapshot updates its disk paths when the VM
 * goes on in new deltas (docs/snapshots.md). NULL without a VM.
 */
struct vm_spec *vmm_spec(struct vmm *m);
struct loop *vmm_loop(struct vmm *m);
struct control *vmm_control(struct vmm *m);
/* The worker thread of long operations (worker.h), or NULL without the control API. */
struct worker *vmm_worker(struct vmm *m);
/* The accelerator name of the current VM ("kvm", "bt"), or NULL. */
const char *vmm_engine(struct vmm *m);

/*
 * A long operation on the VM (a snapshot being written, a migration) that runs on a worker
 * thread: before the VM is destroyed (vm.delete is refused meanwhile) or the process ends,
 * cancel(opaque) is called on the main thread and must stop the worker and return only once
 * it no longer touches the VM. One at a time: -EBUSY with err naming the one in progress.
 * vmm_end_operation forgets it (the operation finished by itself).
 */
MUST_CHECK int vmm_begin_operation(struct vmm *m, const char *what, void (*cancel)(void *opaque),
				   void *opaque, struct err *err);
void vmm_end_operation(struct vmm *m);
/* The operation in progress ("a snapshot", "a migration"), or NULL. */
const char *vmm_operation(struct vmm *m);

/* Log an event of the VM that is not a state change of its own ("snapshotted", "restored"). */
void vmm_event(struct vmm *m, const char *event, const char *reason, const char *msg);

/* Run the loop until the process must end; returns its exit status. */
int vmm_run(struct vmm *m);
/* End the process with status at the loop's next turn (vmm.shutdown). */
void vmm_request_exit(struct vmm *m, int status);

/* ---- events (GET /api/v1/vm.events, listeners) ---- */

/* One event, in the shape of Cloud Hypervisor's event monitor. */
struct vmm_event {
	u64 seq;	 /* 1, 2, ... in order */
	u64 wall_ns;	 /* CLOCK_REALTIME when it happened */
	char source[8];	 /* "vm" or "vmm" */
	char event[24];	 /* "booted", "paused", "resumed", "rebooting", "rebooted", "shutdown", */
			 /* "power-button", "panic", "created", "deleted", "snapshotted", */
			 /* "restored", "migration-*"; vmm: "shutdown" */
	char state[12];	 /* the VM's state after it ("Running"...), "" without a VM */
	char reason[16]; /* "api", "guest", "triple-fault", "signal", "failed", or "" */
	char msg[160];
	int status; /* "shutdown": the exit status its cause maps to */
};

/* Called on the main thread after each event is logged. */
typedef void (*vmm_listener_fn)(void *opaque, const struct vmm_event *ev);
MUST_CHECK int vmm_add_listener(struct vmm *m, vmm_listener_fn fn, void *opaque);
void vmm_del_listener(struct vmm *m, vmm_listener_fn fn, void *opaque);

/* The log keeps the last VMM_EVENTS_KEPT events. */
#define VMM_EVENTS_KEPT 256

/*
 * Copy up to max logged events with seq >= since into out, oldest first; returns how many.
 * *next is the seq the next event will have.
 */
unsigned vmm_events(struct vmm *m, u64 since, struct vmm_event *out, unsigned max, u64 *next);

#endif
