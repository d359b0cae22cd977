/* SPDX-License-Identifier: MIT */
/*
 * The seccomp sandbox (docs/sandbox.md): one allow-list of system calls per thread kind,
 * installed by each thread on itself once the VM is built (guest RAM, the accelerator's VM
 * and vCPUs, every device and back end), so a guest that takes over device code can reach
 * only what running the VM needs. The lists are built from named groups (sandbox.c), so a
 * feature that needs more after lockdown adds a group to the kinds that run it.
 *
 * A call outside the list (default action "trap") raises SIGSYS; the handler writes one line
 * naming the thread and the system call to stderr and ends the process with
 * SANDBOX_EXIT_STATUS. "kill" ends it at once by SIGSYS, "log" lets the call through and has
 * the kernel log it (audit). With the spec's "sandbox": false nothing is filtered and the
 * log says so.
 *
 * Order of calls: sandbox_prepare (main thread, before any vCPU thread exists), then
 * sandbox_lockdown on each vCPU thread before it first runs the guest and on the main thread
 * after it has started every vCPU thread (so vCPU threads never inherit the main list). The
 * worker thread exists before either and locks itself down before its first job on a VM.
 */
#ifndef VMM_SECCOMP_H
#define VMM_SECCOMP_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct accel_ops;
struct err;
struct vm_spec;

/* `vmm run`'s exit status after a forbidden system call: 128 + SIGSYS, as a shell reports a
 * process killed by SIGSYS. */
#define SANDBOX_EXIT_STATUS 159

enum sandbox_kind {
	SANDBOX_KIND_MAIN, /* the event loop: consoles, timers, block completions, control API */
	SANDBOX_KIND_VCPU, /* a vCPU thread: the accelerator and device code on guest exits */
	/* the worker of long operations (worker.h): a snapshot's files, a migration's stream */
	SANDBOX_KIND_WORKER,
	SANDBOX_NR_KINDS,
};

enum sandbox_action {
	SANDBOX_ACTION_TRAP, /* report the call by name, exit SANDBOX_EXIT_STATUS (default) */
	SANDBOX_ACTION_KILL, /* the kernel kills the process with SIGSYS */
	SANDBOX_ACTION_LOG,  /* allow, the kernel logs the call (audit) */
};

/* debug.forbidden_syscall: a thread that makes a forbidden call right after its lockdown. */
enum sandbox_probe {
	SANDBOX_PROBE_NONE,
	SANDBOX_PROBE_MAIN,
	SANDBOX_PROBE_VCPU, /* vcpu0 */
};

#define SANDBOX_MAX_ACCELS 4

/* sandbox_config.net: back ends whose calls after lockdown the lists allow (docs/sandbox.md) */
#define SANDBOX_NET_USER 1u /* libslirp: the guest's flows become host sockets */
#define SANDBOX_NET_TAP	 2u /* a TAP: its offloads follow the guest driver's features */

struct sandbox_config {
	bool enabled; /* the spec's "sandbox" (default true) */
	enum sandbox_action action;
	/* The accelerators whose lists (accel->sandbox) are added: the VM's, or every one. */
	const struct accel_ops *accels[SANDBOX_MAX_ACCELS];
	unsigned nr_accels;
	/*
	 * A VM may be created after lockdown (the control API's vm.delete then vm.create): the
	 * main list then also allows what building a VM needs (files, memory, threads, every
	 * accelerator's build ioctls), and the lists hold every accelerator's calls.
	 */
	bool rebuild;
	/*
	 * The VM has a display (docs/display.md): device RAM mapped at run time (the accelerators'
	 * ram_ioctls on every kind) and, on the main thread, the VNC server's calls.
	 */
	bool display;
	enum sandbox_probe probe;
	/* The VM's NICs' back ends (SANDBOX_NET_*): their groups go on both thread kinds. */
	unsigned net;
	const char *name; /* the VM's name, for messages */
};

/*
 * Build every thread kind's filter, install the SIGSYS handler and set no_new_privs (which
 * the threads created later inherit). With cfg->enabled false, only logs that the sandbox is
 * off. 0, or a negative errno with the reason in err. Main thread, before any vCPU thread.
 */
MUST_CHECK int sandbox_prepare(const struct sandbox_config *cfg, struct err *err);

/*
 * sandbox_prepare for a VM about to be built from spec on accel, once per process: the spec's
 * "sandbox" and debug.forbidden_syscall, the action of `vmm run --seccomp`; api: the process
 * serves the control API (so another VM may be created later: every accelerator, rebuild).
 * A later VM only updates the probe (its "sandbox": false comes too late: logged). Main thread,
 * before the VM's vCPU threads exist.
 */
MUST_CHECK int sandbox_prepare_vm(const struct vm_spec *spec, const struct accel_ops *accel,
				  bool api, enum sandbox_action action, struct err *err);

/*
 * Install the filter of `kind` on the calling thread (once per thread: later calls do
 * nothing); thread_name ("main", "vcpu0") must outlive the thread (it names the thread in the
 * report). Then, for the debug probe of this kind, makes the forbidden call. 0, or a negative
 * errno (the kernel refused the filter: logged). Any thread, after sandbox_prepare.
 */
int sandbox_lockdown(enum sandbox_kind kind, const char *thread_name);

/* Does a filter confine the calling thread (sandbox_lockdown ran here, the sandbox on)? */
bool sandbox_confined(void);

/* Release what sandbox_prepare built (the filters stay installed). Main thread. */
void sandbox_release(void);

/* "trap", "kill", "log"; and back (-EINVAL for another name). */
const char *sandbox_action_name(enum sandbox_action a);
MUST_CHECK int sandbox_action_parse(const char *name, enum sandbox_action *out);

#endif
