// SPDX-License-Identifier: MIT
/*
 * The "chips" record's declarative, versioned tables (chips_record.h): the PIC pair, the I/O
 * APIC, the local APICs and the PIT in the engine-neutral form. The limits here are the
 * first check of a record from a file or a peer; the importers (board_irqchip_import, the
 * kvm engine's chips_load) check what the tables cannot.
 */
#include "vmm/chips_record.h"

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

const struct state_desc chips_record_desc = {
	.name = CHIPS_STATE_RECORD,
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct chips_record),
	.fields = chips_record_fields,
};

const struct state_desc *const chips_state_descs[] = { &chips_record_desc, NULL };
