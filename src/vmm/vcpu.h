/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads (docs/conventions.md section 5, Firecracker's model): one host
 * thread per vCPU runs accel->vcpu_run in a loop. Requests from the main thread (QUIT
 * for now; PAUSE/RESUME/SAVE with snapshots) go through a per-vCPU slot
 * guarded by a mutex and condvar plus accel->vcpu_kick. A lifecycle stop
 * (shutdown, reset, failure) is reported to the VM with vm_request_end.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include "vmm/accel.h"

#include <pthread.h>

struct vm;

enum vcpu_state {
	VCPU_STATE_CREATED,
	VCPU_STATE_RUNNING,
	VCPU_STATE_DONE,
};

struct vcpu {
	struct vm *vm;
	unsigned index;
	char name[16]; /* "vcpu0" */
	struct accel_vcpu *av;
	struct accel_io io;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vcpu_state state;
	bool quit; /* request slot: QUIT */
	/*
	 * INIT/SIPI from a userspace local APIC (accelerators without an in-kernel irqchip):
	 * the vCPU waits for SIPI (APs from power-on, any vCPU after INIT) and then starts in
	 * real mode at vector << 12 from its power-on state (SDM vol. 3A 9.4.4, 11.6.1).
	 */
	struct cpu_state *reset_state; /* the accelerator's power-on state; NULL under KVM */
	bool wait_sipi, init_pending, sipi_pending;
	u8 sipi_vector;
};

/* Create the accelerator's vCPU. Main thread. */
MUST_CHECK int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out, struct err *err);
/* Start the vCPU thread. Main thread. */
MUST_CHECK int vcpu_start(struct vcpu *v);
/* Ask the thread to quit, kick it, and join it. Main thread. */
void vcpu_stop(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/*
 * An INIT (vector -1) or STARTUP IPI (its vector) for this vCPU, from the userspace local
 * APIC. INIT stops the vCPU and puts it in wait-for-SIPI; a SIPI starts a vCPU that waits
 * for one and is ignored otherwise. Any thread (device lock held).
 */
void vcpu_startup(struct vcpu *v, int vector);

#endif
