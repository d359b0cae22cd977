// SPDX-License-Identifier: MIT
/*
 * vCPU threads, their request slot and state machine (vcpu.h). The thread
 * answers requests at the top of its loop, between two accel->vcpu_run calls,
 * which is an instruction boundary for both engines; vcpu_request kicks the
 * accelerator so that a running vCPU gets there promptly (KVM: immediate_exit
 * and a signal; BT: the engine's attention flag, read at block entry and in
 * REP loops). Waits inside the thread (HLT without an in-kernel irqchip,
 * wait-for-SIPI) also watch the slot, so a halted vCPU answers at once.
 *
 * No signal handler here does anything: host signals are blocked in every
 * thread and read by the main loop through a signalfd; the accelerator's
 * kick mechanism is its own business.
 *
 * With hooks.startup (the board's local APICs are in userspace: BT) the
 * thread also plays the processor's INIT/SIPI logic (SDM vol. 3A 9.4 and
 * 11.6.1): APs start in wait-for-SIPI, an INIT from the local APIC
 * (vcpu_startup) stops the vCPU and puts it back there, and a STARTUP IPI
 * starts it in real mode at vector << 12 from its power-on state. Calls from
 * the accelerator (port, MMIO, INTA, MSRs) carry the struct vcpu, so the
 * board's per-CPU hooks know which CPU asked.
 */
#include "vmm/vcpu.h"

#include "vmm/base/log.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *vcpu_stop_name(enum vcpu_stop why)
{
	switch (why) {
	case VCPU_STOP_KICKED:
		return "kicked";
	case VCPU_STOP_HALTED:
		return "halted";
	case VCPU_STOP_SHUTDOWN:
		return "shutdown";
	case VCPU_STOP_RESET:
		return "reset";
	case VCPU_STOP_FAILED:
		return "failed";
	}
	return "?";
}

const char *vcpu_state_name(enum vcpu_state s)
{
	switch (s) {
	case VCPU_STATE_CREATED:
		return "created";
	case VCPU_STATE_RUNNING:
		return "running";
	case VCPU_STATE_PAUSED:
		return "paused";
	case VCPU_STATE_STOPPED:
		return "stopped";
	}
	return "?";
}

static void vcpu_count(u64 *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------- accelerator -> machine calls */

static void vcpu_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct vcpu *v = opaque;
	struct vm *vm = v->vm;
	u64 val = 0;

	vcpu_count(&v->stats.pio);
	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.pio, port, size, val);
	} else {
		val = bus_read(&vm->plat.pio, port, size);
		memcpy(data, &val, size);
	}
}

static void vcpu_mmio_piece(struct vcpu *v, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct vm *vm = v->vm;
	u64 val = 0;

	if (v->hooks.mmio && v->hooks.mmio(v->hooks.opaque, v->index, gpa, size, is_write, data))
		return;
	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.mmio, gpa, size, val);
	} else {
		val = bus_read(&vm->plat.mmio, gpa, size);
		memcpy(data, &val, size);
	}
}

static void vcpu_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct vcpu *v = opaque;

	vcpu_count(&v->stats.mmio);
	/* Wide accesses (SSE moves) arrive as 8-byte pieces. */
	for (unsigned off = 0; off < size; off += 8)
		vcpu_mmio_piece(v, gpa + off, MIN(8u, size - off), is_write, (u8 *)data + off);
}

static int vcpu_intr_ack(void *opaque, unsigned cpu)
{
	struct vcpu *v = opaque;

	(void)cpu;
	return v->hooks.intr_ack ? v->hooks.intr_ack(v->hooks.opaque, v->index) : -1;
}

static int vcpu_msr(void *opaque, u32 index, bool is_write, u64 *val)
{
	struct vcpu *v = opaque;

	return v->hooks.msr ? v->hooks.msr(v->hooks.opaque, v->index, index, is_write, val) :
			      -ENOENT;
}

static void vcpu_backdoor(void *opaque, struct accel_backdoor *regs)
{
	struct vcpu *v = opaque;

	vcpu_count(&v->stats.pio);
	if (v->hooks.backdoor)
		v->hooks.backdoor(v->hooks.opaque, v->index, regs);
	else
		regs->rax = ~0ull; /* as an unclaimed port */
}

static u64 vcpu_clock_ns(void *opaque)
{
	struct vcpu *v = opaque;

	return vclock_now_ns(&v->vm->plat.clock);
}

static u64 vcpu_next_deadline(void *opaque)
{
	struct vcpu *v = opaque;
	struct vm *vm = v->vm;
	u64 next;

	pthread_mutex_lock(&vm->plat.dev_lock);
	next = timer_next_deadline(&vm->plat.clock);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	return next;
}

/* ---------------------------------------------------------------------- creation */

/* The condvar's timed waits count CLOCK_MONOTONIC (a wall-clock step must not stretch them). */
static void vcpu_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

int vcpu_create(struct vm *vm, unsigned index, const struct vcpu_hooks *hooks, struct vcpu **out,
		struct err *err)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err_set(err, -ENOMEM, "vcpu%u: out of memory", index);
	v->vm = vm;
	v->index = index;
	snprintf(v->name, sizeof(v->name), "vcpu%u", index);
	if (hooks)
		v->hooks = *hooks;
	v->io.vm = v;
	v->io.pio = vcpu_pio;
	v->io.mmio = vcpu_mmio;
	v->io.intr_ack = vcpu_intr_ack;
	v->io.next_deadline_ns = vcpu_next_deadline;
	v->io.msr = vcpu_msr;
	v->io.clock_ns = vcpu_clock_ns;
	v->io.backdoor = vcpu_backdoor;
	pthread_mutex_init(&v->lock, NULL);
	vcpu_cond_init(&v->cond);
	v->power_on = calloc(1, sizeof(*v->power_on));
	if (!v->power_on) {
		ret = err_set(err, -ENOMEM, "%s: out of memory", v->name);
		goto err_free;
	}
	ret = vm->accel->vcpu_create(vm->avm, index, &v->io, &v->av, err);
	if (ret < 0) {
		err_prefix(err, "%s", v->name);
		goto err_free;
	}
	ret = vm->accel->vcpu_get(v->av, v->power_on);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot read the power-on state: %s", v->name,
			strerror(-ret));
		goto err_destroy;
	}
	/* The APs wait for SIPI from power-on (SDM vol. 3A 9.4.1). */
	v->wait_sipi = v->hooks.startup && index != 0;
	*out = v;
	return 0;

err_destroy:
	if (vm->accel->vcpu_destroy)
		vm->accel->vcpu_destroy(v->av);
err_free:
	free(v->power_on);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
	return ret;
}

/* ------------------------------------------------------------------- requests */

static void vcpu_kick(struct vcpu *v)
{
	if (v->av)
		v->vm->accel->vcpu_kick(v->av);
}

void vcpu_request(struct vcpu *v, enum vcpu_request req)
{
	pthread_mutex_lock(&v->lock);
	if (v->req != VCPU_REQ_STOP)
		v->req = req;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	vcpu_kick(v);
}

void vcpu_nmi(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->nmi_pending = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	vcpu_kick(v);
}

enum vcpu_state vcpu_state(struct vcpu *v)
{
	enum vcpu_state s;

	pthread_mutex_lock(&v->lock);
	s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}

static bool vcpu_in_state(const struct vcpu *v, enum vcpu_state st)
{
	return v->state == st || v->state == VCPU_STATE_STOPPED ||
	       (st == VCPU_STATE_PAUSED && v->state == VCPU_STATE_CREATED);
}

int vcpu_wait_state(struct vcpu *v, enum vcpu_state st, u64 timeout_ns)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_ns / 1000000000ull);
	ts.tv_nsec += (long)(timeout_ns % 1000000000ull);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&v->lock);
	while (!vcpu_in_state(v, st) && ret == 0)
		ret = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	if (vcpu_in_state(v, st))
		ret = 0;
	pthread_mutex_unlock(&v->lock);
	return ret ? -ETIMEDOUT : 0;
}

/*
 * Answer the request slot at the top of the thread's loop: pause (and wait there for RUN or
 * STOP), run, stop; inject a pending NMI. Returns true when the thread must end.
 */
static bool vcpu_answer(struct vcpu *v)
{
	bool nmi;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		enum vcpu_request req = v->req;

		if (req == VCPU_REQ_STOP) {
			v->state = VCPU_STATE_STOPPED;
			pthread_cond_broadcast(&v->cond);
			pthread_mutex_unlock(&v->lock);
			return true;
		}
		if (req == VCPU_REQ_PAUSE) {
			v->state = VCPU_STATE_PAUSED;
			vcpu_count(&v->stats.pauses);
		} else if (req == VCPU_REQ_RUN) {
			v->state = VCPU_STATE_RUNNING;
		}
		if (req != VCPU_REQ_NONE) {
			v->req = VCPU_REQ_NONE;
			pthread_cond_broadcast(&v->cond);
		}
		if (v->state == VCPU_STATE_RUNNING)
			break;
		pthread_cond_wait(&v->cond, &v->lock);
	}
	nmi = v->nmi_pending;
	v->nmi_pending = false;
	pthread_mutex_unlock(&v->lock);
	if (nmi && v->vm->accel->vcpu_nmi) {
		vcpu_count(&v->stats.nmis);
		v->vm->accel->vcpu_nmi(v->av);
	}
	return false;
}

/* HLT with nothing pending: wait for a kick, a request or at most 10 ms, then retry. */
static void vcpu_wait_halted(struct vcpu *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 10 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&v->lock);
	if (v->req == VCPU_REQ_NONE && !v->nmi_pending)
		pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	pthread_mutex_unlock(&v->lock);
}

/* ------------------------------------------------------------------- INIT/SIPI */

void vcpu_startup(struct vcpu *v, int vector)
{
	bool kick = false;

	pthread_mutex_lock(&v->lock);
	if (vector < 0) {
		v->init_pending = true;
		v->sipi_pending = false;
		v->wait_sipi = true;
		kick = true;
	} else if (v->wait_sipi && !v->sipi_pending) {
		v->sipi_pending = true;
		v->sipi_vector = (u8)vector;
	}
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (kick)
		vcpu_kick(v);
}

/*
 * Apply INIT and SIPI, and wait while in wait-for-SIPI. Returns 0 when the vCPU may run, 1 when
 * a request came meanwhile (answer it first), or a negative errno (the accelerator refused the
 * state). vCPU thread.
 */
static int vcpu_startup_step(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct cpu_state *st;
	bool init, sipi;
	u8 vector;
	int ret;

	if (!v->hooks.startup)
		return 0;
	pthread_mutex_lock(&v->lock);
	/* An NMI for a vCPU waiting for SIPI stays pending until it runs (SDM 3A 9.4.1). */
	while (v->req == VCPU_REQ_NONE && v->wait_sipi && !v->init_pending && !v->sipi_pending)
		pthread_cond_wait(&v->cond, &v->lock);
	if (v->req != VCPU_REQ_NONE) {
		pthread_mutex_unlock(&v->lock);
		return 1;
	}
	init = v->init_pending;
	sipi = v->sipi_pending;
	vector = v->sipi_vector;
	v->init_pending = false;
	v->sipi_pending = false;
	if (sipi)
		v->wait_sipi = false;
	pthread_mutex_unlock(&v->lock);
	if (!init && !sipi)
		return 0;
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	*st = *v->power_on;
	if (sipi) {
		/* Real mode at vector << 12 (SDM vol. 3A 9.4.4.1 and 11.6.1 "Start-Up"). */
		st->seg[CPU_CS].selector = (u16)(vector << 8);
		st->seg[CPU_CS].base = (u64)vector << 12;
		st->rip = 0;
		vcpu_count(&v->stats.sipis);
		log_dbg(LOG_CAT_IRQ, "%s: SIPI: starting at %04x:0000", v->name, vector << 8);
	} else {
		vcpu_count(&v->stats.inits);
		log_dbg(LOG_CAT_IRQ, "%s: INIT: waiting for SIPI", v->name);
	}
	ret = vm->accel->vcpu_set(v->av, st);
	free(st);
	if (ret < 0)
		return ret;
	return sipi ? 0 : vcpu_startup_step(v);
}

/* --------------------------------------------------------------------- the thread */

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	/* Everything this thread may do from here on is on the vCPU list (docs/sandbox.md). */
	if (sandbox_lockdown(SANDBOX_KIND_VCPU, v->name) < 0)
		vm_request_end(vm, VM_END_FAILED, 0, "%s: cannot install its sandbox", v->name);
	while (!vcpu_answer(v)) {
		enum vcpu_stop why = VCPU_STOP_KICKED;
		int ret = vcpu_startup_step(v);

		if (ret > 0)
			continue;
		if (ret == 0) {
			vcpu_count(&v->stats.runs);
			ret = vm->accel->vcpu_run(v->av, &why);
		}
		if (ret < 0) {
			vm_vcpu_stopped(vm, v, VCPU_STOP_FAILED, ret);
			continue;
		}
		log_dbg(LOG_CAT_KVM, "%s: stopped: %s", v->name, vcpu_stop_name(why));
		switch (why) {
		case VCPU_STOP_KICKED:
			vcpu_count(&v->stats.kicks);
			continue;
		case VCPU_STOP_HALTED:
			vcpu_wait_halted(v);
			continue;
		case VCPU_STOP_SHUTDOWN:
		case VCPU_STOP_RESET:
		case VCPU_STOP_FAILED:
			/* The VM asks every vCPU (this one first) to pause before returning. */
			vm_vcpu_stopped(vm, v, why, 0);
			continue;
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	v->state = VCPU_STATE_RUNNING;
	pthread_mutex_unlock(&v->lock);
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret) {
		pthread_mutex_lock(&v->lock);
		v->state = VCPU_STATE_CREATED;
		pthread_mutex_unlock(&v->lock);
		return -ret;
	}
	pthread_setname_np(v->thread, v->name);
	v->thread_started = true;
	return 0;
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	vcpu_request(v, VCPU_REQ_STOP);
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	vcpu_stop(v);
	if (v->av && v->vm->accel->vcpu_destroy)
		v->vm->accel->vcpu_destroy(v->av);
	free(v->power_on);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

int vcpu_reset(struct vcpu *v, const struct cpu_state *boot)
{
	const struct accel_ops *accel = v->vm->accel;
	int ret = accel->vcpu_set(v->av, v->power_on);

	if (ret == 0 && accel->vcpu_reset)
		ret = accel->vcpu_reset(v->av, v->index == 0);
	if (ret == 0 && boot)
		ret = accel->vcpu_set(v->av, boot);
	pthread_mutex_lock(&v->lock);
	v->wait_sipi = v->hooks.startup && v->index != 0;
	v->init_pending = false;
	v->sipi_pending = false;
	v->nmi_pending = false;
	pthread_mutex_unlock(&v->lock);
	return ret;
}
