/* SPDX-License-Identifier: MIT */
/*
 * One virtual machine: its platform (buses, RAM, clock, device lock), the
 * accelerator it runs on, its vCPUs and the board's devices, and its
 * lifecycle (docs/management.md):
 *
 *   vm_create --> Created --vm_boot--> Running <--vm_pause/vm_resume--> Paused
 *                                        |  ^                             |
 *                          vm_shutdown / |  | vm_reboot (reset in place)  |
 *                          the guest ends v  |                            v
 *                                       Shutdown --vm_boot (reset in place)--> Running
 *
 * The VM does not own the event loop: `vmm run` (struct vmm, vmm.h) creates it
 * and the VM attaches its file descriptors to it (vm_attach). Every lifecycle
 * call is made on the main thread; vCPU and device threads only *request*
 * (vm_request_end, the platform's reset request, vm_vcpu_stopped), and the
 * main loop carries the request out when it wakes.
 *
 * A reset -- vm.reboot, the guest's 0xCF9 / i8042 / ACPI reset, a triple fault
 * with on_triple_fault "reset" -- is done in place: every vCPU stops at an
 * instruction boundary, every registered device gets device_ops.reset, the
 * accelerator's own devices and each vCPU return to their power-on state
 * (APs wait for SIPI), and the boot loader runs again. RAM is kept, as on a
 * real PC reset (only a power cycle loses it); the loader rewrites what it
 * loads.
 *
 * Paused (and Shutdown) freeze virtual time: the VM's clock (timer.h) stops,
 * so device timers and the BT engine's TSC stand still; under KVM kvmclock is
 * held too (accel_ops.clock_pause) while the TSC keeps counting, as with QEMU.
 *
 * Events: every state change and guest event is reported to listeners
 * (vm_add_listener), on the main thread, after the change.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include "vmm/accel.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

struct vm;
struct display;
struct vm_spec;
struct vm_state_debug;
struct console;
struct board_pc;
struct vcpu;
struct loop;

/* The API's state names (Cloud Hypervisor's VmState): vm_state_name. */
enum vm_state {
	VM_STATE_CREATED,
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_SHUTDOWN,
};

/* "Created", "Running", "Paused", "Shutdown". */
const char *vm_state_name(enum vm_state s);

/* Why a VM went to Shutdown; each maps to an exit status of `vmm run` (vm_end_exit_status). */
enum vm_end {
	VM_END_NONE,
	VM_END_POWEROFF,     /* ACPI S5 or equivalent */
	VM_END_RESET,	     /* the guest reset the machine and on_reset is "exit" */
	VM_END_TRIPLE_FAULT, /* shutdown: a triple fault, on_triple_fault "exit" */
	VM_END_DEBUG_EXIT,   /* the guest wrote its exit status to the debug-exit port */
	VM_END_SIGNAL,	     /* SIGTERM / SIGINT / SIGHUP from the host */
	VM_END_FAILED,	     /* the accelerator could not continue (internal error) */
	VM_END_API,	     /* vm.shutdown through the control API */
};

const char *vm_end_name(enum vm_end end);

/* The exit status `vmm run` uses for an end (see the table in vm.c). */
int vm_end_exit_status(enum vm_end end, int status);

enum vm_event_type {
	VM_EVENT_BOOTED,    /* Created or Shutdown -> Running */
	VM_EVENT_PAUSED,    /* Running -> Paused */
	VM_EVENT_RESUMED,   /* Paused -> Running */
	VM_EVENT_REBOOTING, /* a reset in place begins (reason: "api", "guest", "triple-fault") */
	VM_EVENT_REBOOTED,  /* ... and is done; the VM runs again (or stays Paused) */
	VM_EVENT_SHUTDOWN,  /* -> Shutdown; end and status say why */
	VM_EVENT_POWER_BUTTON, /* vm_power_button pressed the ACPI power button */
	VM_EVENT_PANIC,	       /* the guest reported a panic (pvpanic) */
	VM_EVENT_SUSPENDED,    /* the guest entered ACPI S3: every vCPU stopped, RAM kept */
	VM_EVENT_WOKEN,	       /* ... and a wake event (RTC alarm, power button) resumed it */
};

/* Cloud Hypervisor's event names: "booted", "paused", "resumed", "rebooting", ... */
const char *vm_event_name(enum vm_event_type t);

struct vm_event {
	enum vm_event_type type;
	enum vm_state state; /* after the event */
	const char *reason;  /* who asked: "api", "guest", "triple-fault", "signal"...; or NULL */
	enum vm_end end;     /* VM_EVENT_SHUTDOWN: why */
	int status;	     /* VM_EVENT_SHUTDOWN: the exit status that end maps to */
	const char *msg;     /* what happened, in words: "the guest powered off" */
};

/*
 * A long operation holds the VM (vm_set_hold): a snapshot whose memory is being written keeps
 * it Paused with its RAM unchanged (FROZEN: boot, resume, reboot and shutdown are refused); a
 * migration lets it run, pause and resume but not boot, reboot or shut down (RUNNING). The
 * refusals are -EBUSY with "cannot resume: <why>".
 */
enum vm_hold {
	VM_HOLD_NONE,
	VM_HOLD_FROZEN,
	VM_HOLD_RUNNING,
};

/* Called on the main thread after each event. The vm and ev are valid during the call only. */
typedef void (*vm_listener_fn)(void *opaque, struct vm *vm, const struct vm_event *ev);

#define VM_MAX_LISTENERS 8

struct vm_listener {
	vm_listener_fn fn;
	void *opaque;
};

struct vm {
	struct platform plat; /* first: devices get &vm->plat */
	const struct vm_spec *spec;
	const struct accel_ops *accel;
	struct accel_vm *avm;
	unsigned nr_mapped; /* guest memory regions mapped into the accelerator so far */
	unsigned nr_vcpus;
	struct vcpu **vcpus;
	struct board_pc *board;
	struct console *console; /* owned by the caller */
	struct cpu_model cpu;	 /* the spec's CPU model, or CPU_MODEL_DEFAULT (the BT default) */
	struct loop *loop;	 /* while attached */
	int wake_fd;		 /* eventfd: wakes the main loop (requests, timers, console) */
	int timer_fd;		 /* timerfd: the earliest device deadline */
	bool console_attached;
	enum vm_state state; /* written on the main thread only; read with vm_state() */

	/* Requests from other threads, under req_lock; carried out by the main loop. */
	pthread_mutex_t req_lock;
	enum vm_end end; /* first end requested wins */
	int end_status;	 /* debug-exit status or signal number */
	char end_msg[200];
	bool reset_pending;
	char reset_reason[16]; /* "guest" or "triple-fault" */
	char reset_msg[200];
	unsigned panics_pending;
	bool suspend_pending, wake_pending;
	bool suspended; /* in ACPI S3 (main thread): the vCPUs stay stopped, time runs */

	struct vm_listener listeners[VM_MAX_LISTENERS];
	unsigned nr_listeners;
	u64 reboots;			    /* resets in place done */
	struct vm_state_debug *state_debug; /* debug.state_roundtrip_ms (vm_state.h) */
	enum vm_hold hold;		    /* vm_set_hold; main thread */
	char hold_why[80];
};

/*
 * vm_create's flags. VM_CREATE_FOR_STATE: the VM is built to take a whole saved state (a
 * snapshot's, a migration's) into its RAM and devices, so the boot payload is not loaded: no
 * kernel read or decompressed, no initrd, no ACPI tables, no text-mode screen; a firmware
 * boot gets its ROM region, empty (the state brings its bytes). A reboot loads the payload
 * as ever.
 */
enum {
	VM_CREATE_FOR_STATE = 1u << 0,
};

/*
 * Build a VM from a validated spec on the given accelerator: RAM, devices, vCPUs, the boot
 * image loaded (unless flags has VM_CREATE_FOR_STATE). The VM is Created (no vCPU runs).
 * Main thread.
 */
MUST_CHECK int vm_create(const struct vm_spec *spec, const struct accel_ops *accel,
			 struct console *console, unsigned flags, struct vm **out, struct err *err);

/* Attach the VM's fds (wake, timers, disks, console) to the loop, and detach. Main thread. */
MUST_CHECK int vm_attach(struct vm *vm, struct loop *l, struct err *err);
void vm_detach(struct vm *vm);

/* Stop every vCPU, detach and free everything. Main thread. */
void vm_destroy(struct vm *vm);

/* The current state. Any thread (a relaxed read). */
enum vm_state vm_state(struct vm *vm);

/*
 * Lifecycle calls, main thread. Each returns 0, -EBUSY with err saying the VM is in the wrong
 * state ("the VM is Paused"), or another negative errno with a message (a vCPU that did not
 * stop in time: -ETIMEDOUT; the boot loader failed on reboot: its error).
 *   vm_boot        Created or Shutdown -> Running (from Shutdown: a reset in place first)
 *   vm_pause       Running -> Paused: returns once every vCPU has stopped
 *   vm_resume      Paused -> Running
 *   vm_reboot      Running or Paused -> (reset in place) -> Running
 *   vm_shutdown    Running or Paused -> Shutdown (a hard stop, like pulling the plug)
 *   vm_power_button  Running or Paused: press the ACPI power button (PWRBTN_STS + SCI); the
 *                  guest decides what to do (a Linux guest shuts down and powers off)
 *   vm_nmi         Running or Paused: an NMI for every vCPU
 */
MUST_CHECK int vm_boot(struct vm *vm, struct err *err);
MUST_CHECK int vm_pause(struct vm *vm, struct err *err);
MUST_CHECK int vm_resume(struct vm *vm, struct err *err);
MUST_CHECK int vm_reboot(struct vm *vm, struct err *err);
MUST_CHECK int vm_shutdown(struct vm *vm, struct err *err);
MUST_CHECK int vm_power_button(struct vm *vm, struct err *err);
MUST_CHECK int vm_nmi(struct vm *vm, struct err *err);

/* Hold the VM for a long operation (VM_HOLD_NONE releases it); why completes "cannot X: ". */
void vm_set_hold(struct vm *vm, enum vm_hold hold, const char *why);

/*
 * A Created VM into which a whole state was loaded (vm_state_load, after its RAM): start its
 * vCPUs from that state, Running when run, else Paused without a guest instruction run (virtual
 * time frozen). Emits "booted" (and "paused"). -EBUSY unless Created. Main thread.
 */
MUST_CHECK int vm_start_loaded(struct vm *vm, bool run, struct err *err);
/*
 * The guest's VMware tools (vm_tools.c, docs/hypercall.md), main thread. Each fails with
 * -ENOTSUP when the spec has no backdoor (hypercall.vmware_backdoor).
 *   vm_guestinfo_each  every guestinfo variable (key without "guestinfo.", value)
 *   vm_guestinfo_set   set (value non-NULL) or remove a variable: -EINVAL (key or value too
 *                      long, or not of [A-Za-z0-9._-]), -ENOSPC (too many)
 *   vm_tools_request   Running: ask the tools to shut down (TCLO OS_Halt) or reboot the guest
 *                      (OS_Reboot): -ENOTCONN (no tools listen), -EOPNOTSUPP (they cannot),
 *                      -EBUSY (requests wait already, or the VM is not running)
 */
typedef void (*vm_guestinfo_fn)(void *opaque, const char *key, const char *value);

enum vm_tools_req {
	VM_TOOLS_HALT,
	VM_TOOLS_REBOOT
};

MUST_CHECK int vm_guestinfo_each(struct vm *vm, vm_guestinfo_fn fn, void *opaque, struct err *err);
MUST_CHECK int vm_guestinfo_set(struct vm *vm, const char *key, const char *value, struct err *err);
MUST_CHECK int vm_tools_request(struct vm *vm, enum vm_tools_req req, struct err *err);

/* Listen to the VM's events. -ENOSPC past VM_MAX_LISTENERS. Main thread. */
MUST_CHECK int vm_add_listener(struct vm *vm, vm_listener_fn fn, void *opaque);
void vm_del_listener(struct vm *vm, vm_listener_fn fn, void *opaque);

/*
 * Request that the VM end (first caller wins): every vCPU is asked to pause before it runs
 * another instruction, and the main loop moves the VM to Shutdown. Any thread.
 */
void vm_request_end(struct vm *vm, enum vm_end end, int status, const char *fmt, ...) PRINTF(4, 5);

/* Wake the main loop (it re-reads deadlines, retries console input, carries out requests). */
void vm_wake(struct vm *vm);

/* A vCPU stopped for a lifecycle reason (triple fault, reset, failure). vCPU thread. */
void vm_vcpu_stopped(struct vm *vm, struct vcpu *v, enum vcpu_stop why, int err);

/*
 * The board's CPU side, for its userspace interrupt controllers: drive CPU cpu's INTR pin,
 * give it an NMI, INIT (vector -1) or STARTUP. Device lock held, any thread.
 */
void vm_cpu_set_intr(struct vm *vm, unsigned cpu, bool level);
void vm_cpu_nmi(struct vm *vm, unsigned cpu);
void vm_cpu_startup(struct vm *vm, unsigned cpu, int vector);

/* The guest reported a panic (pvpanic): a VM_EVENT_PANIC follows on the main loop. Any thread. */
void vm_report_panic(struct vm *vm);

/*
 * Every counter of the VM: fn(opaque, group, name, value), with group a vCPU ("vcpu0"), a
 * device instance ("uart0", "virtio-blk0") or a bus ("pio", "mmio"). Main thread.
 */
typedef void (*vm_counter_fn)(void *opaque, const char *group, const char *name, u64 value);
void vm_counters(struct vm *vm, vm_counter_fn fn, void *opaque);

/*
 * NICs: link up or down of "net<i>" (-ENOENT for no such NIC), and one more NIC before boot
 * (index: its place in the spec; tap_fd or -1 is taken over). Main thread.
 */
struct nic_spec;
MUST_CHECK int vm_set_link(struct vm *vm, const char *id, bool up, struct err *err);
MUST_CHECK int vm_add_nic(struct vm *vm, const struct nic_spec *ns, unsigned index, int tap_fd,
			  struct err *err);

/* The display back end (docs/display.md), or NULL when the VM has none. Main thread. */
struct display *vm_display(struct vm *vm);
/* Guest RAM in bytes (vm.info memory_actual_size). */
u64 vm_memory_bytes(const struct vm *vm);
/*
 * The video RAM a direct boot starts with (the text mode and the VGA BIOS's font), for a state
 * that brings none (a format 1 snapshot) into a VM made with VM_CREATE_FOR_STATE. Main thread.
 */
void vm_boot_screen(struct vm *vm);

#endif
