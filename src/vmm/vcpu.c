// SPDX-License-Identifier: MIT
/*
 * vCPU threads and their request slot (docs/conventions.md section 5). The
 * thread runs the accelerator until a lifecycle stop, which it reports to the VM; the
 * main thread ends it with vcpu_stop (QUIT + kick + join). No signal handler
 * here does anything: host signals are blocked in every thread and read by
 * the main loop through a signalfd; the accelerator's kick mechanism is its
 * own business (KVM uses immediate_exit plus a signal it installs itself).
 *
 * Without an in-kernel irqchip (BT) the thread also plays the part of the
 * processor's INIT/SIPI logic (SDM vol. 3A 9.4 and 11.6.1): application
 * processors start in wait-for-SIPI, an INIT from the userspace local APIC
 * (vcpu_startup) stops the vCPU and puts it back there, and a STARTUP IPI
 * starts it in real mode at vector << 12 from its power-on state. Calls from
 * the accelerator (port, MMIO, INTA, MSRs) carry the struct vcpu, so the
 * per-CPU local APIC window and MSRs reach this vCPU's local APIC.
 */
#include "vmm/vcpu.h"

#include "vmm/base/log.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_pc.h"
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

/*
 * Calls from the accelerator. Their opaque is the struct vcpu, so per-CPU devices (the local
 * APIC window, its MSRs, the INTA cycle) know which CPU asked.
 */
static void vcpu_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct vcpu *v = opaque;
	struct vm *vm = v->vm;
	u64 val = 0;

	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.pio, port, size, val);
	} else {
		val = bus_read(&vm->plat.pio, port, size);
		memcpy(data, &val, size);
	}
}

static struct board_irqchip *vcpu_irqchip(const struct vcpu *v)
{
	return v->vm->board ? board_pc_irqchip(v->vm->board) : NULL;
}

static void vcpu_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct vcpu *v = opaque;
	struct vm *vm = v->vm;
	struct board_irqchip *ic = vcpu_irqchip(v);
	u64 val = 0;

	if (size > 8) { /* wide accesses (SSE moves) arrive as 8-byte pieces */
		for (unsigned off = 0; off < size; off += 8)
			vcpu_mmio(opaque, gpa + off, MIN(8u, size - off), is_write,
				  (u8 *)data + off);
		return;
	}
	if (ic && board_irqchip_mmio(ic, v->index, gpa, size, is_write, data))
		return;
	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.mmio, gpa, size, val);
	} else {
		val = bus_read(&vm->plat.mmio, gpa, size);
		memcpy(data, &val, size);
	}
}

static int vcpu_intr_ack(void *opaque, unsigned cpu)
{
	struct vcpu *v = opaque;
	struct board_irqchip *ic = vcpu_irqchip(v);

	(void)cpu;
	return ic ? board_irqchip_intr_ack(ic, v->index) : -1;
}

static int vcpu_msr(void *opaque, u32 index, bool is_write, u64 *val)
{
	struct vcpu *v = opaque;
	struct board_irqchip *ic = vcpu_irqchip(v);

	return ic ? board_irqchip_msr(ic, v->index, index, is_write, val) : -ENOENT;
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

int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out, struct err *err)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err_set(err, -ENOMEM, "vcpu%u: out of memory", index);
	v->vm = vm;
	v->index = index;
	snprintf(v->name, sizeof(v->name), "vcpu%u", index);
	v->io.vm = v;
	v->io.pio = vcpu_pio;
	v->io.mmio = vcpu_mmio;
	v->io.intr_ack = vcpu_intr_ack;
	v->io.next_deadline_ns = vcpu_next_deadline;
	v->io.msr = vcpu_msr;
	v->io.clock_ns = vcpu_clock_ns;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	ret = vm->accel->vcpu_create(vm->avm, index, &v->io, &v->av, err);
	if (ret < 0) {
		err_prefix(err, "%s", v->name);
		goto err_free;
	}
	if (!vm->accel->has_irqchip) {
		/* INIT returns here; the APs wait for SIPI from power-on (SDM vol. 3A 9.4.1). */
		v->reset_state = calloc(1, sizeof(*v->reset_state));
		if (!v->reset_state) {
			ret = err_set(err, -ENOMEM, "%s: out of memory", v->name);
			goto err_destroy;
		}
		ret = vm->accel->vcpu_get(v->av, v->reset_state);
		if (ret < 0) {
			err_set(err, ret, "%s: cannot read the power-on state: %s", v->name,
				strerror(-ret));
			goto err_destroy;
		}
		v->wait_sipi = index != 0;
	}
	*out = v;
	return 0;

err_destroy:
	free(v->reset_state);
	if (vm->accel->vcpu_destroy)
		vm->accel->vcpu_destroy(v->av);
err_free:
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
	return ret;
}

static bool vcpu_should_quit(struct vcpu *v)
{
	bool quit;

	pthread_mutex_lock(&v->lock);
	quit = v->quit;
	pthread_mutex_unlock(&v->lock);
	return quit || vm_current_end(v->vm) != VM_END_NONE;
}

/* HLT with nothing pending: wait for a kick, an interrupt or at most 10 ms, then retry. */
static void vcpu_wait_halted(struct vcpu *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&v->lock);
	if (!v->quit)
		pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	pthread_mutex_unlock(&v->lock);
}

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
	if (kick && v->av)
		v->vm->accel->vcpu_kick(v->av);
}

/*
 * Apply INIT and SIPI, and wait while in wait-for-SIPI. Returns 0 when the vCPU may run, 1 to
 * quit, or a negative errno (the accelerator refused the state). vCPU thread.
 */
static int vcpu_startup_step(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct cpu_state *st;
	bool init, sipi;
	u8 vector;
	int ret = 0;

	if (!v->reset_state)
		return 0;
	pthread_mutex_lock(&v->lock);
	while (!v->quit && v->wait_sipi && !v->init_pending && !v->sipi_pending)
		pthread_cond_wait(&v->cond, &v->lock);
	init = v->init_pending;
	sipi = v->sipi_pending;
	vector = v->sipi_vector;
	v->init_pending = false;
	v->sipi_pending = false;
	if (sipi)
		v->wait_sipi = false;
	pthread_mutex_unlock(&v->lock);
	if (vcpu_should_quit(v))
		return 1;
	if (!init && !sipi)
		return 0;
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	*st = *v->reset_state;
	if (sipi) {
		/* Real mode at vector << 12 (SDM vol. 3A 9.4.4.1 and 11.6.1 "Start-Up"). */
		st->seg[CPU_CS].selector = (u16)(vector << 8);
		st->seg[CPU_CS].base = (u64)vector << 12;
		st->rip = 0;
		log_dbg(LOG_CAT_IRQ, "%s: SIPI: starting at %04x:0000", v->name, vector << 8);
	} else {
		log_dbg(LOG_CAT_IRQ, "%s: INIT: waiting for SIPI", v->name);
	}
	ret = vm->accel->vcpu_set(v->av, st);
	free(st);
	if (ret < 0)
		return ret;
	return sipi ? 0 : vcpu_startup_step(v);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	while (!vcpu_should_quit(v)) {
		enum vcpu_stop why = VCPU_STOP_KICKED;
		int ret = vcpu_startup_step(v);

		if (ret > 0)
			break;
		if (ret == 0)
			ret = vm->accel->vcpu_run(v->av, &why);

		if (ret < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s: the %s accelerator failed: %s",
				       v->name, vm->accel->name, strerror(-ret));
			break;
		}
		log_dbg(LOG_CAT_KVM, "%s: stopped: %s", v->name, vcpu_stop_name(why));
		switch (why) {
		case VCPU_STOP_KICKED:
			continue;
		case VCPU_STOP_HALTED:
			vcpu_wait_halted(v);
			continue;
		case VCPU_STOP_SHUTDOWN:
			vm_request_end(vm, VM_END_TRIPLE_FAULT, 0, "%s: triple fault (shutdown)",
				       v->name);
			break;
		case VCPU_STOP_RESET:
			vm_request_end(vm, VM_END_RESET, 0, "%s: the guest reset the machine",
				       v->name);
			break;
		case VCPU_STOP_FAILED:
			vm_request_end(vm, VM_END_FAILED, 0,
				       "%s: the %s accelerator could not continue (see above)",
				       v->name, vm->accel->name);
			break;
		}
		break;
	}
	pthread_mutex_lock(&v->lock);
	v->state = VCPU_STATE_DONE;
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret;

	v->state = VCPU_STATE_RUNNING;
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret) {
		v->state = VCPU_STATE_DONE;
		return -ret;
	}
	v->thread_started = true;
	return 0;
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	pthread_mutex_lock(&v->lock);
	v->quit = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	v->vm->accel->vcpu_kick(v->av);
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
	free(v->reset_state);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
