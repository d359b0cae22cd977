// SPDX-License-Identifier: MIT
/*
 * The "chips" record (chips_state.h): the PIC pair, the I/O APIC, the local APICs and the PIT
 * in the engine-neutral form, with a declarative, versioned table like every device's (in
 * chips_record.c). Under bt it comes from the board's devices (board_irqchip_export), under
 * kvm from the kernel (accel_ops.chips_save: KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_LAPIC and
 * the MSRs). A state loads with its own engine's records as ever; only a state of the other
 * engine loads from this record.
 *
 * What does not convert is refused by name: the bt board's HPET when the guest turned it on
 * (KVM's in-kernel chips have none; the guest would lose its timer), and, from kvm, the
 * paravirtual interfaces the guest turned on (kvmclock, async page faults, steal time, PV
 * EOI), which the bt engine does not offer.
 */
#include "vmm/chips_state.h"

#include "vmm/chips_record.h"

#include "vmm/base/log.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_pc.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chips_state_save(struct vm *vm, struct state_buf *out, u32 *count, struct err *err)
{
	struct chips_record *r = calloc(1, sizeof(*r));
	struct board_irqchip *ic = board_pc_irqchip(vm->board);
	int ret = 0;

	if (!r)
		return err_set(err, -ENOMEM, "out of memory");
	r->in_kernel = vm->accel->has_irqchip;
	if (ic)
		board_irqchip_export(ic, &r->s);
	else if (vm->accel->chips_save)
		ret = vm->accel->chips_save(vm->avm, &r->s, err);
	else
		ret = err_set(err, -EOPNOTSUPP, "%s: the %s engine cannot read its chips",
			      vm->spec->name, vm->accel->name);
	if (ret == 0)
		ret = state_save(&chips_record_desc, CHIPS_STATE_RECORD, r, out, err);
	if (ret == 0)
		(*count)++;
	free(r);
	return ret;
}

/* The names of the paravirtual interfaces in mask, for a refusal. */
static void chips_pv_names(u32 mask, char *out, size_t size)
{
	static const struct {
		u32 bit;
		const char *name;
	} names[] = {
		{ CHIPS_PV_KVMCLOCK, "kvmclock" },
		{ CHIPS_PV_ASYNC_PF, "async page faults" },
		{ CHIPS_PV_STEAL, "steal time" },
		{ CHIPS_PV_EOI, "PV EOI" },
	};

	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(names) && n < size; i++)
		if (mask & names[i].bit)
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "",
					      names[i].name);
}

/* The other engine's records of the chips: replaced by the neutral form, marked used. */
static void chips_mark_foreign(struct state_set *set, bool from_kernel)
{
	for (unsigned i = 0; i < set->n; i++) {
		const char *type = set->v[i].hdr.type;

		if (from_kernel ? !strncmp(type, "kvm-", 4) : board_irqchip_covers(type))
			set->v[i].used = true;
	}
}

int chips_state_plan(struct vm *vm, struct state_set *set, struct chips_plan *plan, struct err *err)
{
	struct state_set_entry *e = state_set_find(set, CHIPS_STATE_RECORD);
	bool here_kernel = vm->accel->has_irqchip;
	const char *name = vm->spec->name;
	struct chips_record *r;
	char pv[96];
	int ret;

	memset(plan, 0, sizeof(*plan));
	if (!e)
		return 0; /* a state of an older VMM: its own engine's records only */
	r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(err, -ENOMEM, "out of memory");
	ret = state_load(&chips_record_desc, CHIPS_STATE_RECORD, r, e->data, e->hdr.len, err);
	if (ret < 0 || r->in_kernel == here_kernel) {
		free(r);
		return ret;
	}
	if (r->s.nr_lapics != vm->nr_vcpus)
		ret = err_set(err, -EINVAL, "%s: the state's chips have %u local APICs, this VM %u",
			      name, r->s.nr_lapics, vm->nr_vcpus);
	else if (here_kernel && r->s.hpet_enabled)
		ret = err_set(err, -EINVAL,
			      "%s: the state was taken under bt with the guest using the board's "
			      "HPET, which KVM's in-kernel chips do not have: it cannot restore "
			      "under kvm (restore it with --set accel=bt)",
			      name);
	else if (here_kernel && !vm->accel->chips_load)
		ret = err_set(err, -EOPNOTSUPP, "%s: the %s engine cannot load chips", name,
			      vm->accel->name);
	else if (!here_kernel && !board_pc_irqchip(vm->board))
		ret = err_set(err, -EOPNOTSUPP, "%s: this VM has no interrupt controllers", name);
	if (ret == 0 && !here_kernel && r->s.kvm_pv) {
		chips_pv_names(r->s.kvm_pv, pv, sizeof(pv));
		ret = err_set(err, -EINVAL,
			      "%s: the state was taken under kvm with the guest using KVM's "
			      "paravirtual %s, which the bt engine does not offer: it cannot "
			      "restore under bt (restore it with --set accel=kvm)",
			      name, pv);
	}
	if (ret < 0) {
		free(r);
		return ret;
	}
	chips_mark_foreign(set, r->in_kernel);
	plan->foreign = r;
	log_info("%s: the state was saved under %s: its interrupt controllers and timers are "
		 "converted for %s",
		 name, here_kernel ? "bt" : "kvm", vm->accel->name);
	return 0;
}

void chips_plan_free(struct chips_plan *plan)
{
	free(plan->foreign);
	plan->foreign = NULL;
}

int chips_state_load(struct vm *vm, const struct chips_plan *plan, struct err *err)
{
	struct board_irqchip *ic = board_pc_irqchip(vm->board);

	if (!plan->foreign)
		return 0;
	if (ic)
		return board_irqchip_import(ic, &plan->foreign->s, err);
	return vm->accel->chips_load(vm->avm, &plan->foreign->s, err);
}
