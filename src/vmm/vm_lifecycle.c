// SPDX-License-Identifier: MIT
/*
 * The VM's state machine (vm.h, docs/management.md): boot, pause, resume,
 * reboot (reset in place), shutdown, the power button and NMIs, the events
 * each reports to listeners, and the requests of vCPU and device threads
 * carried out on the main loop. Also vm.counters.
 *
 * Pausing is two-phase: PAUSE is posted to every vCPU (vcpu_request kicks
 * each), then each is awaited, so the latency is that of the slowest vCPU.
 * While Paused (or Shutdown) the VM's virtual clock is frozen and its timerfd
 * disarmed; disk completions and console input still land in the devices, to
 * be seen by the guest when it runs again.
 */
#include "vmm/vm.h"

#include "devices/device.h"
#include "vmm/base/log.h"
#include "vmm/board_pc.h"
#include "vmm/spec.h"
#include "vmm/vcpu.h"
#include "vmm/vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_STATE_CREATED:
		return "Created";
	case VM_STATE_RUNNING:
		return "Running";
	case VM_STATE_PAUSED:
		return "Paused";
	case VM_STATE_SHUTDOWN:
		return "Shutdown";
	}
	return "?";
}

const char *vm_event_name(enum vm_event_type t)
{
	switch (t) {
	case VM_EVENT_BOOTED:
		return "booted";
	case VM_EVENT_PAUSED:
		return "paused";
	case VM_EVENT_RESUMED:
		return "resumed";
	case VM_EVENT_REBOOTING:
		return "rebooting";
	case VM_EVENT_REBOOTED:
		return "rebooted";
	case VM_EVENT_SHUTDOWN:
		return "shutdown";
	case VM_EVENT_POWER_BUTTON:
		return "power-button";
	case VM_EVENT_PANIC:
		return "panic";
	case VM_EVENT_SUSPENDED:
		return "suspended";
	case VM_EVENT_WOKEN:
		return "woken";
	}
	return "?";
}

/* ---------------------------------------------------------------------- events */

int vm_add_listener(struct vm *vm, vm_listener_fn fn, void *opaque)
{
	if (vm->nr_listeners == VM_MAX_LISTENERS)
		return -ENOSPC;
	vm->listeners[vm->nr_listeners].fn = fn;
	vm->listeners[vm->nr_listeners].opaque = opaque;
	vm->nr_listeners++;
	return 0;
}

void vm_del_listener(struct vm *vm, vm_listener_fn fn, void *opaque)
{
	for (unsigned i = 0; i < vm->nr_listeners; i++) {
		if (vm->listeners[i].fn != fn || vm->listeners[i].opaque != opaque)
			continue;
		memmove(&vm->listeners[i], &vm->listeners[i + 1],
			(vm->nr_listeners - i - 1) * sizeof(vm->listeners[0]));
		vm->nr_listeners--;
		return;
	}
}

static void vm_set_state(struct vm *vm, enum vm_state s)
{
	__atomic_store_n(&vm->state, s, __ATOMIC_RELEASE);
}

static void vm_emit(struct vm *vm, enum vm_event_type type, const char *reason, const char *msg)
{
	struct vm_event ev = { .type = type, .state = vm_state(vm), .reason = reason, .msg = msg };

	if (type == VM_EVENT_SHUTDOWN) {
		ev.end = vm->end;
		ev.status = vm_end_exit_status(vm->end, vm->end_status);
	}
	/* A listener may remove itself: walk a copy. */
	struct vm_listener ls[VM_MAX_LISTENERS];
	unsigned n = vm->nr_listeners;

	memcpy(ls, vm->listeners, n * sizeof(ls[0]));
	for (unsigned i = 0; i < n; i++)
		ls[i].fn(ls[i].opaque, vm, &ev);
}

static int vm_wrong_state(struct vm *vm, const char *what, struct err *err)
{
	return err_set(err, -EBUSY, "%s: cannot %s: the VM is %s", vm->spec->name, what,
		       vm_state_name(vm_state(vm)));
}

void vm_set_hold(struct vm *vm, enum vm_hold hold, const char *why)
{
	vm->hold = hold;
	snprintf(vm->hold_why, sizeof(vm->hold_why), "%s", why ? why : "");
}

/* -EBUSY when the VM's hold forbids what (a lifecycle change it would disturb). */
static int vm_check_hold(struct vm *vm, const char *what, bool runs, struct err *err)
{
	if (vm->hold == VM_HOLD_NONE || (runs && vm->hold == VM_HOLD_RUNNING))
		return 0;
	return err_set(err, -EBUSY, "%s: cannot %s: %s", vm->spec->name, what, vm->hold_why);
}

static bool vm_booted(struct vm *vm)
{
	enum vm_state s = vm_state(vm);

	return s == VM_STATE_RUNNING || s == VM_STATE_PAUSED;
}

/* ------------------------------------------------------------------ vCPUs and time */

/* Pause every vCPU and wait for each: 0, or -ETIMEDOUT naming the first that did not stop. */
static int vm_stop_vcpus(struct vm *vm, struct err *err)
{
	vm_pause_all_async(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_wait_state(vm->vcpus[i], VCPU_STATE_PAUSED, VM_PAUSE_TIMEOUT_NS) < 0)
			return err_set(err, -ETIMEDOUT, "%s did not stop within %llu s",
				       vm->vcpus[i]->name, VM_PAUSE_TIMEOUT_NS / 1000000000ull);
	return 0;
}

static void vm_run_vcpus(struct vm *vm)
{
	if (vm->suspended)
		return; /* in S3 they stay stopped until a wake event */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_request(vm->vcpus[i], VCPU_REQ_RUN);
}

static void vm_freeze_time(struct vm *vm)
{
	vclock_freeze(&vm->plat.clock);
	if (vm->accel->clock_pause)
		vm->accel->clock_pause(vm->avm, true);
	vm_service_timers(vm); /* disarms the timerfd */
}

static void vm_thaw_time(struct vm *vm)
{
	if (vm->accel->clock_pause)
		vm->accel->clock_pause(vm->avm, false);
	vclock_thaw(&vm->plat.clock);
	vm_service_timers(vm);
}

/* ---------------------------------------------------------------- reset in place */

/* Forget translations of code in RAM the loader is about to rewrite (the BT engine's). */
static void vm_ram_rewritten(struct vm *vm)
{
	if (!vm->accel->mem_written)
		return;
	for (unsigned i = 0; i < vm->plat.mem.nr; i++)
		vm->accel->mem_written(vm->avm, vm->plat.mem.regions[i].gpa,
				       vm->plat.mem.regions[i].len);
}

/* The accelerator's own devices and every vCPU to power-on (APs wait for SIPI). */
static int vm_reset_accel_cpus(struct vm *vm, struct err *err)
{
	int ret;

	if (vm->accel->vm_reset) {
		ret = vm->accel->vm_reset(vm->avm);
		if (ret < 0)
			return err_set(err, ret,
				       "%s: the %s accelerator cannot reset its devices: %s",
				       vm->spec->name, vm->accel->name, strerror(-ret));
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_reset(vm->vcpus[i], NULL);
		if (ret < 0)
			return err_set(err, ret, "%s: cannot reset %s: %s", vm->spec->name,
				       vm->vcpus[i]->name, strerror(-ret));
	}
	return 0;
}

/* Every vCPU paused: devices, the accelerator's devices and the CPUs to power-on, boot again. */
static int vm_reset_board(struct vm *vm, struct err *err)
{
	int ret;

	pthread_mutex_lock(&vm->plat.dev_lock);
	board_pc_reset(vm->board);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	ret = vm_reset_accel_cpus(vm, err);
	if (ret < 0)
		return ret;
	ret = vm_load_boot(vm, err);
	if (ret < 0) {
		err_prefix(err, "%s: reboot", vm->spec->name);
		return ret;
	}
	vm_ram_rewritten(vm);
	vm->reboots++;
	vm->suspended = false;
	return 0;
}

/*
 * ACPI S3, every vCPU stopped: the machine sleeps with its RAM kept and its clock running, so
 * the RTC's alarm can wake it (board_pc.c turns that into PLATFORM_REQ_WAKE). A wake event
 * already pending and enabled wakes it at once, as the hardware does.
 */
static void vm_enter_s3(struct vm *vm)
{
	bool wake;

	vm->suspended = true;
	log_info("%s: the guest entered ACPI S3 (suspend to RAM)", vm->spec->name);
	vm_emit(vm, VM_EVENT_SUSPENDED, "guest", "the guest entered ACPI S3");
	pthread_mutex_lock(&vm->plat.dev_lock);
	board_pc_s3_suspend(vm->board);
	wake = board_pc_wake_event(vm->board);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	if (wake) {
		pthread_mutex_lock(&vm->req_lock);
		vm->wake_pending = true;
		pthread_mutex_unlock(&vm->req_lock);
	}
}

/*
 * Wake from S3 as a PC does: the devices of the main power well reset (the RTC and the ACPI
 * block keep their state; WAK_STS is set), the accelerator's devices and every vCPU to
 * power-on, and the boot vCPU starts at the FACS waking vector in real mode. No waking
 * vector: the machine boots again. With firmware the boot vCPU starts at the reset vector
 * instead, RAM (with the firmware's shadow copy below 1 MiB) as it was: the firmware sees
 * the CMOS shutdown status of S3 and jumps to the waking vector itself.
 */
static int vm_leave_s3(struct vm *vm, struct err *err)
{
	int ret;

	pthread_mutex_lock(&vm->plat.dev_lock);
	board_pc_s3_resume(vm->board);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	ret = vm_reset_accel_cpus(vm, err);
	if (ret < 0)
		return ret;
	ret = vm_load_s3_resume(vm, err);
	if (ret == -ENOENT) {
		log_info("%s: %s: booting again", vm->spec->name, err->msg);
		return vm_reset_board(vm, err);
	}
	if (ret < 0)
		return ret;
	vm->suspended = false;
	log_info("%s: woke from ACPI S3", vm->spec->name);
	return 0;
}

/* The VM goes to Shutdown for vm->end (already set): stop the vCPUs and time. */
static void vm_enter_shutdown(struct vm *vm)
{
	static const char *const reasons[] = {
		[VM_END_NONE] = "api",	       [VM_END_POWEROFF] = "guest",
		[VM_END_RESET] = "guest",      [VM_END_TRIPLE_FAULT] = "triple-fault",
		[VM_END_DEBUG_EXIT] = "guest", [VM_END_SIGNAL] = "signal",
		[VM_END_FAILED] = "failed",    [VM_END_API] = "api",
	};
	struct err err = { 0 };

	if (vm_stop_vcpus(vm, &err) < 0)
		log_err("%s", err.msg);
	vm_freeze_time(vm);
	vm_set_state(vm, VM_STATE_SHUTDOWN);
	vm_emit(vm, VM_EVENT_SHUTDOWN, reasons[vm->end], vm->end_msg);
}

/* A reset in place; the VM runs again afterwards unless stay_paused. */
static int vm_reset_in_place(struct vm *vm, const char *reason, const char *msg, bool stay_paused,
			     struct err *err)
{
	int ret;

	log_info("%s: %s; restarting (boot %llu)", vm->spec->name, msg,
		 (unsigned long long)vm->reboots + 2);
	vm_emit(vm, VM_EVENT_REBOOTING, reason, msg);
	ret = vm_stop_vcpus(vm, err);
	if (ret == 0)
		ret = vm_reset_board(vm, err);
	if (ret < 0) {
		vm_request_end(vm, VM_END_FAILED, 0, "%s", err->msg);
		vm_enter_shutdown(vm);
		return ret;
	}
	if (stay_paused) {
		vm_set_state(vm, VM_STATE_PAUSED);
	} else {
		if (vclock_frozen(&vm->plat.clock))
			vm_thaw_time(vm);
		vm_set_state(vm, VM_STATE_RUNNING);
		vm_run_vcpus(vm);
	}
	vm_emit(vm, VM_EVENT_REBOOTED, reason, msg);
	return 0;
}

void vm_carry_out_requests(struct vm *vm)
{
	enum vm_state s = vm_state(vm);
	char msg[sizeof(vm->reset_msg)], reason[sizeof(vm->reset_reason)];
	unsigned panics;
	enum vm_end end;
	bool reset, suspend, wake;

	pthread_mutex_lock(&vm->req_lock);
	end = vm->end;
	reset = vm->reset_pending;
	vm->reset_pending = false;
	suspend = vm->suspend_pending;
	vm->suspend_pending = false;
	memcpy(msg, vm->reset_msg, sizeof(msg));
	memcpy(reason, vm->reset_reason, sizeof(reason));
	panics = vm->panics_pending;
	vm->panics_pending = 0;
	pthread_mutex_unlock(&vm->req_lock);

	for (unsigned i = 0; i < panics; i++) {
		log_err("%s: the guest reported a panic", vm->spec->name);
		vm_emit(vm, VM_EVENT_PANIC, "guest", "the guest reported a panic");
	}
	if (s != VM_STATE_RUNNING && s != VM_STATE_PAUSED)
		return;
	if (end != VM_END_NONE) {
		vm_enter_shutdown(vm);
		return;
	}
	if (reset) {
		struct err err = { 0 };

		(void)vm_reset_in_place(vm, reason, msg, s == VM_STATE_PAUSED, &err);
		return;
	}
	if (suspend && !vm->suspended) {
		struct err err = { 0 };

		if (vm_stop_vcpus(vm, &err) < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s", err.msg);
			vm_enter_shutdown(vm);
			return;
		}
		vm_enter_s3(vm);
	}
	pthread_mutex_lock(&vm->req_lock);
	wake = vm->wake_pending;
	vm->wake_pending = false;
	pthread_mutex_unlock(&vm->req_lock);
	if (wake && vm->suspended) {
		struct err err = { 0 };

		if (vm_leave_s3(vm, &err) < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s", err.msg);
			vm_enter_shutdown(vm);
			return;
		}
		vm_emit(vm, VM_EVENT_WOKEN, "guest", "a wake event resumed the guest from ACPI S3");
		if (s == VM_STATE_RUNNING)
			vm_run_vcpus(vm);
	}
}

/* ------------------------------------------------------------------ lifecycle calls */

static int vm_start_threads(struct vm *vm, struct err *err)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(vm->vcpus[i]);

		if (ret < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s: cannot start its thread: %s",
				       vm->vcpus[i]->name, strerror(-ret));
			vm_enter_shutdown(vm);
			return err_set(err, ret, "%s: %s: cannot start its thread: %s",
				       vm->spec->name, vm->vcpus[i]->name, strerror(-ret));
		}
	}
	return 0;
}

int vm_boot(struct vm *vm, struct err *err)
{
	enum vm_state s = vm_state(vm);
	int ret = vm_check_hold(vm, "boot", false, err);

	if (ret < 0)
		return ret;
	if (s == VM_STATE_CREATED) {
		vm_set_state(vm, VM_STATE_RUNNING);
		ret = vm_start_threads(vm, err);
		if (ret < 0)
			return ret;
	} else if (s == VM_STATE_SHUTDOWN) {
		pthread_mutex_lock(&vm->req_lock);
		vm->end = VM_END_NONE;
		vm->end_status = 0;
		vm->end_msg[0] = '\0';
		vm->reset_pending = false;
		pthread_mutex_unlock(&vm->req_lock);
		ret = vm_reset_board(vm, err);
		if (ret < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s", err->msg);
			return ret;
		}
		vm_thaw_time(vm);
		vm_set_state(vm, VM_STATE_RUNNING);
		vm_run_vcpus(vm);
	} else {
		return vm_wrong_state(vm, "boot", err);
	}
	log_info("%s: running", vm->spec->name);
	vm_emit(vm, VM_EVENT_BOOTED, "api", "the VM booted");
	return 0;
}

int vm_pause(struct vm *vm, struct err *err)
{
	int ret;

	if (vm_state(vm) != VM_STATE_RUNNING)
		return vm_wrong_state(vm, "pause", err);
	ret = vm_stop_vcpus(vm, err);
	if (ret < 0) {
		vm_run_vcpus(vm); /* those that did stop go on */
		return ret;
	}
	vm_freeze_time(vm);
	vm_set_state(vm, VM_STATE_PAUSED);
	log_info("%s: paused", vm->spec->name);
	vm_emit(vm, VM_EVENT_PAUSED, "api", "the VM paused");
	return 0;
}

int vm_start_loaded(struct vm *vm, bool run, struct err *err)
{
	/* A state saved in ACPI S3: the vCPUs stay stopped until a wake event, time runs. */
	bool hold = !run || vm->suspended;
	int ret;

	if (vm_state(vm) != VM_STATE_CREATED)
		return vm_wrong_state(vm, "start", err);
	if (hold) {
		/* Each thread answers PAUSE before its first instruction. */
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_request(vm->vcpus[i], VCPU_REQ_PAUSE);
	}
	if (!run)
		vm_freeze_time(vm);
	vm_set_state(vm, run ? VM_STATE_RUNNING : VM_STATE_PAUSED);
	ret = vm_start_threads(vm, err);
	if (ret < 0)
		return ret;
	if (hold)
		ret = vm_stop_vcpus(vm, err);
	if (ret < 0)
		return ret;
	log_info("%s: %s from its saved state", vm->spec->name, run ? "running" : "paused");
	vm_emit(vm, VM_EVENT_BOOTED, "api", "the VM started from its saved state");
	if (!run)
		vm_emit(vm, VM_EVENT_PAUSED, "api", "the VM paused");
	return 0;
}

int vm_resume(struct vm *vm, struct err *err)
{
	int ret = vm_check_hold(vm, "resume", true, err);

	if (ret < 0)
		return ret;
	if (vm_state(vm) != VM_STATE_PAUSED)
		return vm_wrong_state(vm, "resume", err);
	vm_thaw_time(vm);
	vm_set_state(vm, VM_STATE_RUNNING);
	vm_run_vcpus(vm);
	log_info("%s: resumed", vm->spec->name);
	vm_emit(vm, VM_EVENT_RESUMED, "api", "the VM resumed");
	return 0;
}

int vm_reboot(struct vm *vm, struct err *err)
{
	int ret = vm_check_hold(vm, "reboot", false, err);

	if (ret < 0)
		return ret;
	if (!vm_booted(vm))
		return vm_wrong_state(vm, "reboot", err);
	return vm_reset_in_place(vm, "api", "reboot requested through the API", false, err);
}

int vm_shutdown(struct vm *vm, struct err *err)
{
	int ret = vm_check_hold(vm, "shut down", false, err);

	if (ret < 0)
		return ret;
	if (!vm_booted(vm))
		return vm_wrong_state(vm, "shut down", err);
	pthread_mutex_lock(&vm->req_lock);
	if (vm->end == VM_END_NONE) {
		vm->end = VM_END_API;
		snprintf(vm->end_msg, sizeof(vm->end_msg), "shut down through the API");
	}
	pthread_mutex_unlock(&vm->req_lock);
	vm_enter_shutdown(vm);
	log_info("%s: %s", vm->spec->name, vm->end_msg);
	return 0;
}

int vm_power_button(struct vm *vm, struct err *err)
{
	if (!vm_booted(vm))
		return vm_wrong_state(vm, "press the power button", err);
	board_pc_power_button(vm->board);
	log_info("%s: power button pressed", vm->spec->name);
	vm_emit(vm, VM_EVENT_POWER_BUTTON, "api", "the power button was pressed");
	return 0;
}

int vm_nmi(struct vm *vm, struct err *err)
{
	if (!vm_booted(vm))
		return vm_wrong_state(vm, "inject an NMI", err);
	if (!vm->accel->vcpu_nmi)
		return err_set(err, -EOPNOTSUPP, "%s: the %s accelerator cannot inject NMIs",
			       vm->spec->name, vm->accel->name);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_nmi(vm->vcpus[i]);
	log_info("%s: NMI sent to every vCPU", vm->spec->name);
	return 0;
}

/* ----------------------------------------------------------------------- counters */

struct vm_counter_ctx {
	vm_counter_fn fn;
	void *opaque;
	const char *group;
};

static void vm_counter_one(void *opaque, const char *name, u64 value)
{
	struct vm_counter_ctx *c = opaque;

	c->fn(c->opaque, c->group, name, value);
}

static void vm_vcpu_counters(struct vm *vm, struct vcpu *v, struct vm_counter_ctx *c)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "pio", offsetof(struct vcpu_stats, pio) },
		{ "mmio", offsetof(struct vcpu_stats, mmio) },
		{ "runs", offsetof(struct vcpu_stats, runs) },
		{ "kicks", offsetof(struct vcpu_stats, kicks) },
		{ "pauses", offsetof(struct vcpu_stats, pauses) },
		{ "inits", offsetof(struct vcpu_stats, inits) },
		{ "sipis", offsetof(struct vcpu_stats, sipis) },
		{ "nmis", offsetof(struct vcpu_stats, nmis) },
	};

	c->group = v->name;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		c->fn(c->opaque, v->name, fields[i].name,
		      __atomic_load_n((u64 *)((u8 *)&v->stats + fields[i].off), __ATOMIC_RELAXED));
	if (vm->accel->vcpu_counters)
		vm->accel->vcpu_counters(v->av, vm_counter_one, c);
}

/* Bus accesses per device: ranges of one device (same name) are summed. Device lock held. */
static void vm_bus_counters(struct bus *bus, struct vm_counter_ctx *c)
{
	char rname[40], wname[40];

	snprintf(rname, sizeof(rname), "%s_reads", bus->name);
	snprintf(wname, sizeof(wname), "%s_writes", bus->name);
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];
		u64 reads = 0, writes = 0;
		bool first = true;

		for (unsigned j = 0; j < bus->nr; j++) {
			if (strcmp(bus->ranges[j].name, r->name))
				continue;
			first = first && j >= i;
			reads += bus->ranges[j].reads;
			writes += bus->ranges[j].writes;
		}
		if (!first)
			continue;
		c->fn(c->opaque, r->name, rname, reads);
		c->fn(c->opaque, r->name, wname, writes);
	}
	c->fn(c->opaque, bus->name, "unclaimed", bus->unclaimed);
}

void vm_counters(struct vm *vm, vm_counter_fn fn, void *opaque)
{
	struct vm_counter_ctx c = { .fn = fn, .opaque = opaque };

	fn(opaque, "vm", "reboots", vm->reboots);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm_vcpu_counters(vm, vm->vcpus[i], &c);
	pthread_mutex_lock(&vm->plat.dev_lock);
	vm_bus_counters(&vm->plat.pio, &c);
	vm_bus_counters(&vm->plat.mmio, &c);
	for (unsigned i = 0; i < vm->plat.nr_devs; i++) {
		const struct platform_dev *d = &vm->plat.devs[i];

		if (!d->ops->counters)
			continue;
		c.group = d->name;
		d->ops->counters(d->dev, vm_counter_one, &c);
	}
	pthread_mutex_unlock(&vm->plat.dev_lock);
}

int vm_set_link(struct vm *vm, const char *id, bool up, struct err *err)
{
	return board_pc_set_link(vm->board, id, up, err);
}

int vm_add_nic(struct vm *vm, const struct nic_spec *ns, unsigned index, int tap_fd,
	       struct err *err)
{
	return board_pc_add_nic(vm->board, ns, index, tap_fd, err);
}
