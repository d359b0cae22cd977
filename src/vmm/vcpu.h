/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads and their state machine (docs/conventions.md section 5,
 * Firecracker's model; docs/management.md "The vCPU state machine").
 *
 * One host thread per vCPU runs accel->vcpu_run in a loop. Other threads talk
 * to it through a request slot guarded by the vCPU's mutex and condvar plus
 * accel->vcpu_kick, and the thread answers at an instruction boundary (KVM:
 * KVM_RUN returned; BT: between blocks or REP iterations):
 *
 *   CREATED --start--> RUNNING --PAUSE--> PAUSED --RUN--> RUNNING
 *                         \                  |
 *                          +------STOP-------+--> STOPPED (thread ended)
 *
 * A request is posted with vcpu_request (any thread; it never waits) and its
 * answer awaited with vcpu_wait_state (main thread), so a caller that must stop
 * every vCPU posts to all of them first and then waits for each: the pause
 * latency is that of the slowest vCPU, not the sum. A vCPU halted (HLT) or
 * waiting for SIPI answers at once: both waits watch the request slot.
 *
 * Lifecycle stops of the accelerator (triple fault, reset, failure) are
 * reported to the VM (vm_vcpu_stopped), which decides what happens next and
 * usually asks every vCPU to pause.
 *
 * The vCPU never includes board headers: what it needs of the board's
 * per-CPU devices (the local APIC window, its MSRs, the INTA cycle, and
 * whether the vCPU plays INIT/SIPI itself) comes in a struct vcpu_hooks the
 * board provides (board_pc_vcpu_hooks) and vm.c hands to vcpu_create.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include "vmm/accel.h"
#include "vmm/base/err.h"

#include <pthread.h>

struct vm;

enum vcpu_state {
	VCPU_STATE_CREATED, /* no thread yet */
	VCPU_STATE_RUNNING,
	VCPU_STATE_PAUSED,  /* stopped at an instruction boundary, waiting for RUN or STOP */
	VCPU_STATE_STOPPED, /* the thread has ended (STOP answered) */
};

enum vcpu_request {
	VCPU_REQ_NONE,
	VCPU_REQ_RUN,	/* leave PAUSED */
	VCPU_REQ_PAUSE, /* stop at the next instruction boundary and wait */
	VCPU_REQ_STOP,	/* end the thread */
};

const char *vcpu_state_name(enum vcpu_state s);

/*
 * What a vCPU needs of the board's per-CPU devices. Every call is made on the vCPU thread with
 * cpu = the vCPU's index; the callee takes the device lock itself. Any pointer may be NULL.
 */
struct vcpu_hooks {
	void *opaque;
	/* An MMIO access that may fall in this CPU's local APIC window: true if it did (done). */
	bool (*mmio)(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data);
	/* The INTA cycle: the vector to deliver, or -1. */
	int (*intr_ack)(void *opaque, unsigned cpu);
	/* The machine's MSRs (APIC base, TSC deadline, x2APIC): as accel_io.msr. */
	int (*msr)(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val);
	/* A VMware backdoor call (accel_io.backdoor). */
	void (*backdoor)(void *opaque, unsigned cpu, struct accel_backdoor *regs);
	/*
	 * Start-up: the local APICs are the board's (no in-kernel irqchip), so the vCPU plays the
	 * processor's INIT/SIPI logic itself (vcpu_startup): APs start waiting for SIPI.
	 */
	bool startup;
};

/* Exits and answers counted by the vCPU thread (vm.counters), read relaxed from any thread. */
struct vcpu_stats {
	u64 pio, mmio; /* accesses the accelerator handed to the machine */
	u64 runs;      /* accel->vcpu_run calls */
	u64 kicks;     /* vcpu_run returned VCPU_STOP_KICKED */
	u64 pauses;    /* PAUSE requests answered */
	u64 inits, sipis;
	u64 nmis; /* NMIs injected through vcpu_nmi */
};

struct vcpu {
	struct vm *vm;
	unsigned index;
	char name[16]; /* "vcpu0" */
	struct accel_vcpu *av;
	struct accel_io io;
	struct vcpu_hooks hooks;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* protects the fields below */
	pthread_cond_t cond;  /* broadcast on every request and state change */
	enum vcpu_state state;
	enum vcpu_request req;
	bool nmi_pending; /* vcpu_nmi: inject on the vCPU thread */
	/* The power-on state (INIT and board reset return here); SDM vol. 3A 10.1.1. */
	struct cpu_state *power_on;
	/*
	 * INIT/SIPI when hooks.startup: the vCPU waits for SIPI (APs from power-on, any vCPU after
	 * INIT) and then starts in real mode at vector << 12 (SDM vol. 3A 9.4.4, 11.6.1).
	 */
	bool wait_sipi, init_pending, sipi_pending;
	u8 sipi_vector;
	struct vcpu_stats stats;
};

/* Create the accelerator's vCPU and capture its power-on state. hooks is copied. Main thread. */
MUST_CHECK int vcpu_create(struct vm *vm, unsigned index, const struct vcpu_hooks *hooks,
			   struct vcpu **out, struct err *err);
/* Start the thread: CREATED -> RUNNING. Main thread. */
MUST_CHECK int vcpu_start(struct vcpu *v);

/* Post a request and kick the vCPU; returns at once. A later request replaces one not yet
 * answered (STOP is never replaced). Any thread. */
void vcpu_request(struct vcpu *v, enum vcpu_request req);
/*
 * Wait until the vCPU is in state st (or STOPPED, or never started: CREATED counts as paused)
 * at most timeout_ns. 0, or -ETIMEDOUT. Main thread.
 */
MUST_CHECK int vcpu_wait_state(struct vcpu *v, enum vcpu_state st, u64 timeout_ns);
enum vcpu_state vcpu_state(struct vcpu *v);

/* Ask the thread to end, kick it and join it. Main thread. */
void vcpu_stop(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/*
 * Back to the power-on state (board reset): registers, the accelerator's per-CPU parts
 * (accel->vcpu_reset), APs waiting for SIPI. The BSP then gets boot (the loader's entry
 * state) when boot is non-NULL. The vCPU must be PAUSED or CREATED. Main thread. 0 or a
 * negative errno from the accelerator.
 */
MUST_CHECK int vcpu_reset(struct vcpu *v, const struct cpu_state *boot);

/*
 * An INIT (vector -1) or STARTUP IPI (its vector) for this vCPU, from the board's local APIC
 * (hooks.startup only). INIT stops the vCPU and puts it in wait-for-SIPI; a SIPI starts a vCPU
 * that waits for one and is ignored otherwise. Any thread (device lock held).
 */
void vcpu_startup(struct vcpu *v, int vector);

/* An NMI for this vCPU, injected by its own thread at the next boundary. Any thread. */
void vcpu_nmi(struct vcpu *v);

#endif
