/* SPDX-License-Identifier: MIT */
/*
 * One virtual machine: its platform (buses, RAM, clock, device lock), the
 * accelerator it runs on, its vCPUs and the board's devices. Lifecycle:
 * vm_create() builds everything from a validated spec, vm_run() starts the
 * vCPU threads and runs the main-thread event loop until the VM ends, and
 * vm_destroy() releases it. A guest reset with on_reset=restart is done by
 * the caller as destroy + create (cli_run.c), which resets every device and
 * vCPU exactly as a power cycle would.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include "vmm/accel.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

struct vm_spec;
struct console;
struct board_pc;
struct vcpu;
struct loop;

/* Why a VM ended; each maps to a documented exit status of `vmm run` (vm_end_exit_status). */
enum vm_end {
	VM_END_NONE,
	VM_END_POWEROFF,     /* ACPI S5 or equivalent */
	VM_END_RESET,	     /* the guest reset the machine */
	VM_END_TRIPLE_FAULT, /* shutdown: a triple fault */
	VM_END_DEBUG_EXIT,   /* the guest wrote its exit status to the debug-exit port */
	VM_END_SIGNAL,	     /* SIGTERM / SIGINT / SIGHUP from the host */
	VM_END_FAILED,	     /* the accelerator could not continue (internal error) */
};

const char *vm_end_name(enum vm_end end);

struct vm {
	struct platform plat; /* first: devices get &vm->plat */
	const struct vm_spec *spec;
	const struct accel_ops *accel;
	struct accel_vm *avm;
	unsigned nr_mapped; /* guest memory regions mapped into the accelerator so far */
	unsigned nr_vcpus;
	struct vcpu **vcpus;
	struct board_pc *board;
	struct console *console; /* owned by the caller; survives restarts */
	struct cpu_model cpu;	 /* the spec's CPU model, or CPU_MODEL_DEFAULT (the BT default) */
	struct loop *loop;

	/* End state, written under end_lock by whoever ends the VM first. */
	pthread_mutex_t end_lock;
	enum vm_end end;
	int end_status; /* debug-exit status or signal number */
	char end_msg[200];
	int wake_fd;	 /* eventfd: wakes the main loop when the VM must end */
	int stop_signal; /* a host signal asked the VM to stop (even if it was ending anyway) */
};

/* Build a VM from a validated spec on the given accelerator. Main thread. */
MUST_CHECK int vm_create(const struct vm_spec *spec, const struct accel_ops *accel,
			 struct console *console, struct vm **out, struct err *err);

/* Run until the VM ends. Returns how it ended. Main thread. */
enum vm_end vm_run(struct vm *vm);

/* Stop all vCPUs and free everything. Main thread. */
void vm_destroy(struct vm *vm);

/*
 * Record that the VM must end (first caller wins) and wake the main loop.
 * Any thread; takes end_lock only.
 */
void vm_request_end(struct vm *vm, enum vm_end end, int status, const char *fmt, ...) PRINTF(4, 5);

/* Wake the main loop (it re-reads deadlines, retries console input). Any thread. */
void vm_wake(struct vm *vm);

/* How the VM ended, or VM_END_NONE while it runs. Any thread. */
enum vm_end vm_current_end(struct vm *vm);

/* The exit status `vmm run` uses for an end (see the table in vm.c). */
int vm_end_exit_status(enum vm_end end, int status);

#endif
