// SPDX-License-Identifier: MIT
/*
 * The "chips" record (chips_state.h): the PIC pair, the I/O APIC, the local APICs and the PIT
 * in the engine-neutral form, with a declarative, versioned table like every device's. Under
 * bt it comes from the board's devices (board_irqchip_export), under kvm from the kernel
 * (accel_ops.chips_save: KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_LAPIC and the MSRs). A state
 * loads with its own engine's records as ever; only a state of the other engine loads from
 * this record.
 *
 * What does not convert is refused by name: the bt board's HPET when the guest turned it on
 * (KVM's in-kernel chips have none; the guest would lose its timer), and, from kvm, the
 * paravirtual interfaces the guest turned on (kvmclock, async page faults, steal time, PV
 * EOI), which the bt engine does not offer.
 */
#include "vmm/chips_state.h"

#include "vmm/base/log.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_pc.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record: the neutral form and who saved it. */
struct chips_record {
	bool in_kernel; /* the kvm engine's in-kernel chips saved it */
	struct chips_state s;
};

static const struct state_field chips_pic_fields[] = {
	STATE_U8(struct chips_pic, irr),
	STATE_U8(struct chips_pic, isr),
	STATE_U8(struct chips_pic, imr),
	STATE_U8(struct chips_pic, pins),
	STATE_U8(struct chips_pic, elcr),
	STATE_U8(struct chips_pic, irq_base),
	STATE_U8(struct chips_pic, icw3),
	STATE_U8(struct chips_pic, init_step, STATE_MAX(4)),
	STATE_U8(struct chips_pic, priority_base, STATE_MAX(7)),
	STATE_BOOL(struct chips_pic, ic4),
	STATE_BOOL(struct chips_pic, single),
	STATE_BOOL(struct chips_pic, ltim),
	STATE_BOOL(struct chips_pic, auto_eoi),
	STATE_BOOL(struct chips_pic, rotate_on_aeoi),
	STATE_BOOL(struct chips_pic, sfnm),
	STATE_BOOL(struct chips_pic, special_mask),
	STATE_BOOL(struct chips_pic, read_isr),
	STATE_BOOL(struct chips_pic, poll),
	STATE_END,
};

static const struct state_desc chips_pic_desc = {
	.name = "chips-pic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_pic),
	.fields = chips_pic_fields,
};

static const struct state_field chips_ioapic_fields[] = {
	STATE_U8(struct chips_ioapic, id, STATE_MAX(0x0f)),
	STATE_U8(struct chips_ioapic, regsel),
	STATE_U32(struct chips_ioapic, irr, STATE_MAX((1u << CHIPS_IOAPIC_PINS) - 1)),
	STATE_ARRAY(struct chips_ioapic, redtbl, U64),
	STATE_END,
};

static const struct state_desc chips_ioapic_desc = {
	.name = "chips-ioapic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_ioapic),
	.fields = chips_ioapic_fields,
};

static const struct state_field chips_lapic_fields[] = {
	STATE_U32(struct chips_lapic, id),
	STATE_U64(struct chips_lapic, base_msr),
	STATE_U32(struct chips_lapic, tpr, STATE_MAX(0xff)),
	STATE_U32(struct chips_lapic, ldr),
	STATE_U32(struct chips_lapic, dfr),
	STATE_U32(struct chips_lapic, svr),
	STATE_U32(struct chips_lapic, esr),
	STATE_ARRAY(struct chips_lapic, irr, U32),
	STATE_ARRAY(struct chips_lapic, isr, U32),
	STATE_ARRAY(struct chips_lapic, tmr, U32),
	STATE_U32(struct chips_lapic, icr_lo),
	STATE_U32(struct chips_lapic, icr_hi),
	STATE_ARRAY(struct chips_lapic, lvt, U32),
	STATE_U32(struct chips_lapic, tmict),
	STATE_U32(struct chips_lapic, tmcct),
	STATE_U32(struct chips_lapic, tdcr),
	STATE_U64(struct chips_lapic, tsc_deadline),
	STATE_END,
};

static const struct state_desc chips_lapic_desc = {
	.name = "chips-lapic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_lapic),
	.fields = chips_lapic_fields,
};

static const struct state_field chips_pit_fields[] = {
	STATE_U8(struct chips_pit_channel, mode), /* 0-5; 0xff: KVM's never programmed */
	STATE_U8(struct chips_pit_channel, rw, STATE_MAX(3)),
	STATE_BOOL(struct chips_pit_channel, bcd),
	STATE_BOOL(struct chips_pit_channel, gate),
	STATE_BOOL(struct chips_pit_channel, loaded),
	STATE_BOOL(struct chips_pit_channel, out),
	STATE_U32(struct chips_pit_channel, reload, STATE_MAX(0x10000)),
	STATE_U32(struct chips_pit_channel, count, STATE_MAX(0xffff)),
	STATE_U32(struct chips_pit_channel, elapsed, STATE_MAX(0xffff)),
	STATE_U8(struct chips_pit_channel, read_state, STATE_MAX(CHIPS_PIT_RW_WORD1)),
	STATE_U8(struct chips_pit_channel, write_state, STATE_MAX(CHIPS_PIT_RW_WORD1)),
	STATE_U8(struct chips_pit_channel, write_lsb),
	STATE_U8(struct chips_pit_channel, latch_state, STATE_MAX(CHIPS_PIT_RW_WORD1)),
	STATE_U16(struct chips_pit_channel, latched),
	STATE_BOOL(struct chips_pit_channel, status_latched),
	STATE_U8(struct chips_pit_channel, status),
	STATE_END,
};

static const struct state_desc chips_pit_desc = {
	.name = "chips-pit-channel",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_pit_channel),
	.fields = chips_pit_fields,
};

static const struct state_field chips_state_fields[] = {
	STATE_STRUCT_ARRAY(struct chips_state, pic, chips_pic_desc),
	STATE_STRUCT(struct chips_state, ioapic, chips_ioapic_desc),
	STATE_U32(struct chips_state, nr_lapics, STATE_MAX(CHIPS_MAX_CPUS)),
	STATE_STRUCT_ARRAY(struct chips_state, lapic, chips_lapic_desc),
	STATE_STRUCT_ARRAY(struct chips_state, pit, chips_pit_desc),
	STATE_BOOL(struct chips_state, speaker_data),
	STATE_BOOL(struct chips_state, hpet_enabled),
	STATE_U32(struct chips_state, kvm_pv,
		  STATE_MAX(CHIPS_PV_KVMCLOCK | CHIPS_PV_ASYNC_PF | CHIPS_PV_STEAL | CHIPS_PV_EOI)),
	STATE_END,
};

static const struct state_desc chips_state_desc = {
	.name = "chips-state",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_state),
	.fields = chips_state_fields,
};

static const struct state_field chips_record_fields[] = {
	STATE_BOOL(struct chips_record, in_kernel),
	STATE_STRUCT(struct chips_record, s, chips_state_desc),
	STATE_END,
};

static const struct state_desc chips_record_desc = {
	.name = CHIPS_STATE_RECORD,
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_record),
	.fields = chips_record_fields,
};

const struct state_desc *const chips_state_descs[] = { &chips_record_desc, NULL };

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
