/* SPDX-License-Identifier: MIT */
/*
 * The seccomp sandbox (docs/sandbox.md): one allow-list of system calls per thread kind,
 * installed by each thread on itself once the VM is built (guest RAM, the accelerator's VM
 * and vCPUs, every device and back end), so a guest that takes over device code can reach
 * only what running the VM needs. The lists are built from named groups (seccomp.c), so a
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
 * after it has started every vCPU thread (so vCPU threads never inherit the main list).
 */
#ifndef VMM_SECCOMP_H
#define VMM_SECCOMP_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct accel_ops;
struct err;

/* `vmm run`'s exit status after a forbidden system call: 128 + SIGSYS, as a shell reports a
 * process killed by SIGSYS. */
#define SANDBOX_EXIT_STATUS 159

enum sandbox_kind {
	SANDBOX_KIND_MAIN, /* the event loop: consoles, timers, block completions, control API */
	SANDBOX_KIND_VCPU, /* a vCPU thread: the accelerator and device code on guest exits */
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

struct sandbox_config {
	bool enabled; /* the spec's "sandbox" (default true) */
	enum sandbox_action action;
	const struct accel_ops *accel; /* its sandbox lists (accel->sandbox) are added */
	/*
	 * The VM may be built again after lockdown (a guest reset with on_reset "restart", a
	 * triple fault with on_triple_fault "reset"): the main list then also allows what
	 * building a VM needs (files, memory, threads, the accelerator's build ioctls).
	 */
	bool rebuild;
	enum sandbox_probe probe;
	const char *name; /* the VM's name, for messages */
};

/*
 * Build every thread kind's filter, install the SIGSYS handler and set no_new_privs (which
 * the threads created later inherit). With cfg->enabled false, only logs that the sandbox is
 * off. 0, or a negative errno with the reason in err. Main thread, before any vCPU thread.
 */
MUST_CHECK int sandbox_prepare(const struct sandbox_config *cfg, struct err *err);

/*
 * Install the filter of `kind` on the calling thread (once per thread: later calls do
 * nothing); thread_name ("main", "vcpu0") must outlive the thread (it names the thread in the
 * report). Then, for the debug probe of this kind, makes the forbidden call. 0, or a negative
 * errno (the kernel refused the filter: logged). Any thread, after sandbox_prepare.
 */
int sandbox_lockdown(enum sandbox_kind kind, const char *thread_name);

/* Release what sandbox_prepare built (the filters stay installed). Main thread. */
void sandbox_release(void);

/* "trap", "kill", "log"; and back (-EINVAL for another name). */
const char *sandbox_action_name(enum sandbox_action a);
MUST_CHECK int sandbox_action_parse(const char *name, enum sandbox_action *out);

#endif
