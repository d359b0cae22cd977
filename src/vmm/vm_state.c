// SPDX-License-Identifier: MIT
/*
 * A VM's state as one record set (vm_state.h). Records, in this order: "clock" (virtual time,
 * the wall-clock base, whether the guest sleeps in ACPI S3), one "cpu" per vCPU ("vcpu0"...),
 * then the devices in the order of the platform's list (platform_state.h). Loading follows
 * the same order, because each step needs the previous: the clock before anything arms a
 * timer, the vCPUs before the interrupt controllers drive their INTR pins and hand them NMIs
 * again, the controllers before the devices raise their lines.
 *
 * The vCPU's wait-for-SIPI state is the VMM's under BT (vcpu.c plays INIT/SIPI there) and
 * KVM's MP state under KVM; both travel in struct cpu_state. An NMI posted through vcpu_nmi
 * and not yet injected is saved as latched.
 *
 * What the accelerator keeps itself (KVM: the in-kernel PIC, IOAPIC, PIT and local APICs,
 * kvmclock, paravirtual MSRs, the XSAVE area) comes after the vCPUs as its own records
 * (accel_ops.state_save and state_load): they load after the vCPU registers and before the
 * devices, which raise their lines into those controllers again.
 */
#include "vmm/vm_state.h"

#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_pc.h"
#include "vmm/chips_state.h"
#include "vmm/cpu_state.h"
#include "vmm/loop.h"
#include "vmm/platform_state.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VM_STATE_CLOCK "clock"

struct vm_clock_state {
	u64 now_ns;	  /* virtual time */
	u64 wall_base_ns; /* wall-clock time at virtual 0 (the RTC counts from it) */
	bool suspended;	  /* the guest is in ACPI S3: its vCPUs stay stopped until a wake event */
};

static const struct state_field vm_clock_fields[] = {
	STATE_U64(struct vm_clock_state, now_ns),
	STATE_U64(struct vm_clock_state, wall_base_ns),
	STATE_BOOL(struct vm_clock_state, suspended, STATE_SINCE(2)),
	STATE_END,
};

static const struct state_desc vm_clock_desc = {
	.name = "clock",
	.version = 2, /* 2: suspended */
	.min_version = 1,
	STATE_LAYOUT(struct vm_clock_state),
	.fields = vm_clock_fields,
};

static int vm_state_usable(struct vm *vm, const char *what, struct err *err)
{
	enum vm_state s = vm_state(vm);

	if (s != VM_STATE_PAUSED && s != VM_STATE_CREATED)
		return err_set(err, -EBUSY,
			       "%s: cannot %s the state: the VM is %s (pause it first)",
			       vm->spec->name, what, vm_state_name(s));
	if (vm->accel->has_irqchip && !vm->accel->state_save)
		return err_set(err, -EOPNOTSUPP,
			       "%s: cannot %s the state under %s: the accelerator cannot save "
			       "its in-kernel interrupt controllers",
			       vm->spec->name, what, vm->accel->name);
	return 0;
}

/* The vCPU's state, the VMM's part (INIT/SIPI, a posted NMI) included. vCPU paused. */
static int vm_state_get_cpu(struct vm *vm, struct vcpu *v, struct cpu_state *st, struct err *err)
{
	int ret = vm->accel->vcpu_get(v->av, st);

	if (ret < 0)
		return err_set(err, ret, "%s: cannot read the vCPU state: %s", v->name,
			       strerror(-ret));
	pthread_mutex_lock(&v->lock);
	if (v->hooks.startup) {
		/* A pending INIT puts the vCPU back in wait-for-SIPI from power-on anyway. */
		st->wait_sipi = v->wait_sipi || v->init_pending;
		st->sipi_pending = v->sipi_pending && !v->init_pending;
		st->sipi_vector = v->sipi_vector;
	}
	st->nmi_pending = st->nmi_pending || v->nmi_pending;
	pthread_mutex_unlock(&v->lock);
	st->flags |= CPU_STATE_F_TSC; /* a restore puts the TSC back where it was */
	return 0;
}

#define VM_STATE_MSR_MISC_ENABLE 0x1a0u
/* IA32_MISC_ENABLE bits a guest sets (fast strings, LIMIT_CPUID, XD disable, SDM vol. 4 2.1);
 * the others report the CPU's features and are read-only on the bt models */
#define VM_STATE_MISC_ENABLE_GUEST ((1ull << 0) | (1ull << 22) | (1ull << 34))

/*
 * A vCPU state the other engine saved: MSRs this vCPU's CPU model does not have (the other
 * engine's model may be another vendor's: AMD's HWCR, NB_CFG... or Intel's MISC_ENABLE) are
 * left out, with a log line; IA32_MISC_ENABLE's feature bits (KVM: the host's BTS and PEBS
 * bits) are this vCPU's, with the guest's settings.
 */
static void vm_state_cpu_convert(struct vm *vm, struct vcpu *v, struct cpu_state *st)
{
	struct cpu_state *cur = calloc(1, sizeof(*cur));
	unsigned n = 0;

	if (!cur || vm->accel->vcpu_get(v->av, cur) < 0) {
		free(cur);
		return;
	}
	for (unsigned i = 0; i < st->nr_msrs && i < CPU_MAX_MSRS; i++) {
		const struct cpu_msr *have = NULL;

		for (unsigned j = 0; j < cur->nr_msrs && j < CPU_MAX_MSRS; j++)
			if (cur->msrs[j].index == st->msrs[i].index)
				have = &cur->msrs[j];
		if (!have) {
			log_info(
				"%s: MSR %#x of the other engine's CPU model left out (this one has "
				"none)",
				v->name, st->msrs[i].index);
			continue;
		}
		st->msrs[n] = st->msrs[i];
		if (have->index == VM_STATE_MSR_MISC_ENABLE)
			st->msrs[n].value = (st->msrs[i].value & VM_STATE_MISC_ENABLE_GUEST) |
					    (have->value & ~VM_STATE_MISC_ENABLE_GUEST);
		n++;
	}
	st->nr_msrs = n;
	free(cur);
}

static int vm_state_set_cpu(struct vm *vm, struct vcpu *v, const struct cpu_state *st,
			    struct err *err)
{
	int ret = vm->accel->vcpu_set(v->av, st);

	if (ret < 0)
		return err_set(err, ret, "%s: the %s accelerator refused the vCPU state: %s",
			       v->name, vm->accel->name, strerror(-ret));
	pthread_mutex_lock(&v->lock);
	if (v->hooks.startup) {
		v->wait_sipi = st->wait_sipi;
		v->sipi_pending = st->wait_sipi && st->sipi_pending;
		v->sipi_vector = st->sipi_vector;
		v->init_pending = false;
	}
	v->nmi_pending = false; /* the accelerator holds it now */
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int vm_state_save_locked(struct vm *vm, struct state_buf *out, struct err *err)
{
	struct vm_clock_state clock = { .now_ns = vclock_now_ns(&vm->plat.clock),
					.wall_base_ns = vm->plat.clock.wall_base_ns,
					.suspended = vm->suspended };
	struct cpu_state *st = calloc(1, sizeof(*st));
	size_t start = out->len, set;
	u32 count = 0;
	int ret;

	if (!st)
		return err_set(err, -ENOMEM, "out of memory");
	ret = platform_state_quiesce(&vm->plat, err);
	if (ret == 0)
		ret = state_set_begin(out, &set);
	if (ret == 0) {
		clock.now_ns = vclock_now_ns(&vm->plat.clock); /* after the drain */
		ret = state_save(&vm_clock_desc, VM_STATE_CLOCK, &clock, out, err);
		count++;
	}
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		memset(st, 0, sizeof(*st));
		ret = vm_state_get_cpu(vm, vm->vcpus[i], st, err);
		if (ret == 0)
			ret = state_save(&cpu_state_desc, vm->vcpus[i]->name, st, out, err);
		count++;
	}
	if (ret == 0 && vm->accel->state_save)
		ret = vm->accel->state_save(vm->avm, out, &count, err);
	if (ret == 0)
		ret = chips_state_save(vm, out, &count, err);
	if (ret == 0)
		ret = platform_state_save(&vm->plat, out, &count, err);
	if (ret == 0)
		state_set_end(out, set, count);
	else
		out->len = start;
	free(st);
	return ret;
}

int vm_state_save(struct vm *vm, struct state_buf *out, struct err *err)
{
	int ret = vm_state_usable(vm, "save", err);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&vm->plat.dev_lock);
	ret = vm_state_save_locked(vm, out, err);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	return ret;
}

/* The devices whose state comes from the chips record instead of their own (bt, converting). */
static bool (*vm_state_skip(const struct vm *vm, const struct chips_plan *plan))(const char *)
{
	return plan->foreign && !vm->accel->has_irqchip ? board_irqchip_covers : NULL;
}

/* Every record the VM needs is there and would load; nothing is written. */
static int vm_state_check(struct vm *vm, struct state_set *set, struct cpu_state *scratch,
			  struct chips_plan *plan, struct err *err)
{
	struct vm_clock_state clock;
	const struct state_set_entry *e = state_set_find(set, VM_STATE_CLOCK);
	int ret;

	if (!e)
		return err_set(err, -EINVAL, "%s: the state has no clock record", vm->spec->name);
	ret = state_check(&vm_clock_desc, VM_STATE_CLOCK, &clock, e->data, e->hdr.len, err);
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		e = state_set_find(set, vm->vcpus[i]->name);
		if (!e)
			return err_set(err, -EINVAL,
				       "%s: the state has no record for %s (it has fewer vCPUs "
				       "than this VM)",
				       vm->spec->name, vm->vcpus[i]->name);
		ret = state_check(&cpu_state_desc, vm->vcpus[i]->name, scratch, e->data, e->hdr.len,
				  err);
	}
	if (ret == 0)
		ret = chips_state_plan(vm, set, plan, err);
	if (ret == 0 && vm->accel->state_check && !plan->foreign)
		ret = vm->accel->state_check(vm->avm, set, err);
	if (ret == 0)
		ret = platform_state_check(&vm->plat, set, vm_state_skip(vm, plan), err);
	if (ret == 0)
		ret = state_set_check_used(set, err);
	return ret;
}

static int vm_state_apply(struct vm *vm, struct state_set *set, struct cpu_state *st,
			  const struct chips_plan *plan, struct err *err)
{
	const struct state_set_entry *e = state_set_find(set, VM_STATE_CLOCK);
	struct vm_clock_state clock = { 0 };
	int ret;

	ret = state_load(&vm_clock_desc, VM_STATE_CLOCK, &clock, e->data, e->hdr.len, err);
	if (ret < 0)
		return ret;
	board_pc_reset(vm->board);
	vclock_restore(&vm->plat.clock, clock.now_ns, clock.wall_base_ns);
	/* Asleep in S3: a resume leaves the vCPUs stopped; a wake event (the power button, the
	 * RTC alarm) resumes the guest at its waking vector as on the VM that slept. */
	vm->suspended = clock.suspended;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		e = state_set_find(set, v->name);
		memset(st, 0, sizeof(*st));
		ret = state_load(&cpu_state_desc, v->name, st, e->data, e->hdr.len, err);
		if (ret == 0 && plan->foreign)
			vm_state_cpu_convert(vm, v, st);
		if (ret == 0)
			ret = vm_state_set_cpu(vm, v, st, err);
		if (ret < 0)
			return ret;
	}
	if (plan->foreign)
		ret = chips_state_load(vm, plan, err); /* the other engine's: converted */
	else if (vm->accel->state_load)
		ret = vm->accel->state_load(vm->avm, set, err);
	if (ret < 0)
		return ret;
	return platform_state_load(&vm->plat, set, vm_state_skip(vm, plan), err);
}

int vm_state_load(struct vm *vm, const void *buf, size_t len, struct err *err)
{
	struct chips_plan plan = { 0 };
	struct state_set set;
	struct cpu_state *st;
	int ret = vm_state_usable(vm, "load", err);

	if (ret < 0)
		return ret;
	ret = state_set_parse(buf, len, &set, err);
	if (ret < 0)
		return ret;
	st = calloc(1, sizeof(*st));
	if (!st) {
		state_set_free(&set);
		return err_set(err, -ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&vm->plat.dev_lock);
	ret = vm_state_check(vm, &set, st, &plan, err);
	if (ret == 0) {
		ret = vm_state_apply(vm, &set, st, &plan, err);
		if (ret < 0)
			board_pc_reset(vm->board);
	}
	pthread_mutex_unlock(&vm->plat.dev_lock);
	chips_plan_free(&plan);
	free(st);
	state_set_free(&set);
	return ret;
}

int vm_state_roundtrip(struct vm *vm, size_t *bytes, struct err *err)
{
	struct state_buf buf;
	int ret;

	state_buf_init(&buf);
	ret = vm_state_save(vm, &buf, err);
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		ret = vcpu_reset(vm->vcpus[i], NULL);
		if (ret < 0)
			err_set(err, ret, "%s: cannot reset: %s", vm->vcpus[i]->name,
				strerror(-ret));
	}
	if (ret == 0)
		ret = vm_state_load(vm, buf.data, buf.len, err);
	if (ret == 0 && bytes)
		*bytes = buf.len;
	state_buf_free(&buf);
	return ret;
}

/* ------------------------------------------------------------- debug switch */

struct vm_state_debug {
	struct vm *vm;
	struct loop *loop;
	struct loop_timer timer;
	u64 period_ns;
	u64 rounds;
	u64 pause_ns, trip_ns; /* host time spent pausing and resuming, and round-tripping */
	size_t bytes;	       /* of the last state */
};

static void vm_state_debug_fire(void *opaque)
{
	struct vm_state_debug *d = opaque;
	struct vm *vm = d->vm;
	struct err err = { 0 };
	int ret;

	if (vm_state(vm) == VM_STATE_RUNNING) {
		u64 t0 = loop_now_ns(), t1 = t0, t2 = t0;

		ret = vm_pause(vm, &err);
		if (ret == 0) {
			t1 = loop_now_ns();
			ret = vm_state_roundtrip(vm, &d->bytes, &err);
			t2 = loop_now_ns();
		}
		if (ret == 0)
			ret = vm_resume(vm, &err);
		d->pause_ns += (t1 - t0) + (loop_now_ns() - t2);
		d->trip_ns += t2 - t1;
		if (ret < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "%s: state round trip %llu failed: %s",
				       vm->spec->name, (unsigned long long)d->rounds + 1, err.msg);
			return;
		}
		d->rounds++;
	}
	loop_timer_arm(d->loop, &d->timer, loop_now_ns() + d->period_ns);
}

int vm_state_debug_attach(struct vm *vm, struct loop *l, struct err *err)
{
	unsigned ms = vm->spec->debug.state_roundtrip_ms;
	struct vm_state_debug *d;

	if (!ms)
		return 0;
	if (vm->accel->has_irqchip && !vm->accel->state_save)
		return err_set(err, -EOPNOTSUPP,
			       "debug.state_roundtrip_ms: not available with the %s accelerator "
			       "(it cannot save its in-kernel interrupt controllers); use accel bt",
			       vm->accel->name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(err, -ENOMEM, "out of memory");
	d->vm = vm;
	d->loop = l;
	d->period_ns = (u64)ms * 1000000ull;
	loop_timer_init(&d->timer, vm_state_debug_fire, d);
	loop_timer_arm(l, &d->timer, loop_now_ns() + d->period_ns);
	vm->state_debug = d;
	log_info("%s: debug: the whole state is saved, reset and loaded every %u ms",
		 vm->spec->name, ms);
	return 0;
}

void vm_state_debug_detach(struct vm *vm)
{
	struct vm_state_debug *d = vm->state_debug;

	if (!d)
		return;
	loop_timer_cancel(d->loop, &d->timer);
	if (d->rounds)
		log_info("%s: debug: %llu state round trips of %zu bytes, %llu us each on average "
			 "(and %llu us pausing and resuming)",
			 vm->spec->name, (unsigned long long)d->rounds, d->bytes,
			 (unsigned long long)(d->trip_ns / d->rounds / 1000),
			 (unsigned long long)(d->pause_ns / d->rounds / 1000));
	free(d);
	vm->state_debug = NULL;
}
