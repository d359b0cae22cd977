// SPDX-License-Identifier: MIT
/*
 * vCPU threads and their request slot (STYLE.md section 5). The thread runs
 * the accelerator until a lifecycle stop, which it reports to the VM; the
 * main thread ends it with vcpu_stop (QUIT + kick + join). No signal handler
 * here does anything: host signals are blocked in every thread and read by
 * the main loop through a signalfd; the accelerator's kick mechanism is its
 * own business (KVM uses immediate_exit plus a signal it installs itself).
 */
#include "vmm/vcpu.h"

#include "vmm/base/log.h"
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

static void vcpu_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct vm *vm = opaque;
	u64 val = 0;

	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.pio, port, size, val);
	} else {
		val = bus_read(&vm->plat.pio, port, size);
		memcpy(data, &val, size);
	}
}

static void vcpu_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct vm *vm = opaque;
	u64 val = 0;

	if (size > 8) { /* wide accesses (SSE moves) arrive as 8-byte pieces */
		for (unsigned off = 0; off < size; off += 8)
			vcpu_mmio(opaque, gpa + off, MIN(8u, size - off), is_write,
				  (u8 *)data + off);
		return;
	}
	if (is_write) {
		memcpy(&val, data, size);
		bus_write(&vm->plat.mmio, gpa, size, val);
	} else {
		val = bus_read(&vm->plat.mmio, gpa, size);
		memcpy(data, &val, size);
	}
}

static u64 vcpu_next_deadline(void *opaque)
{
	struct vm *vm = opaque;
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
	v->io.vm = vm;
	v->io.pio = vcpu_pio;
	v->io.mmio = vcpu_mmio;
	v->io.intr_ack = NULL; /* the userspace irqchip fills this in when it exists (BT) */
	v->io.next_deadline_ns = vcpu_next_deadline;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	ret = vm->accel->vcpu_create(vm->avm, index, &v->io, &v->av, err);
	if (ret < 0) {
		err_prefix(err, "%s", v->name);
		goto err_free;
	}
	*out = v;
	return 0;

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

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	while (!vcpu_should_quit(v)) {
		enum vcpu_stop why = VCPU_STOP_KICKED;
		int ret = vm->accel->vcpu_run(v->av, &why);

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
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
