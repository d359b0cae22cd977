// SPDX-License-Identifier: MIT
/*
 * The state table of struct cpu_state (vmm/cpu_state.h): one "cpu" record per vCPU, the same
 * for both engines, so a state saved under BT loads under KVM and back. Segment registers,
 * whose descriptor attributes are bit-fields, travel through a custom codec: base (u64),
 * limit (u32), selector (u16), type (u8), attributes (u8: S, DPL (2 bits), P, AVL, L, D/B, G
 * from bit 0 up), unusable (u8).
 */
#include "vmm/cpu_state.h"

#include "vmm/state.h"

#include <errno.h>
#include <string.h>

#define CPU_SEG_WIRE 17

static void cpu_seg_encode(const void *elem, u8 *out)
{
	const struct cpu_segment *s = elem;

	for (unsigned i = 0; i < 8; i++)
		out[i] = (u8)(s->base >> (8 * i));
	for (unsigned i = 0; i < 4; i++)
		out[8 + i] = (u8)(s->limit >> (8 * i));
	out[12] = (u8)s->selector;
	out[13] = (u8)(s->selector >> 8);
	out[14] = s->type;
	out[15] = (u8)(s->s | s->dpl << 1 | s->present << 3 | s->avl << 4 | s->l << 5 | s->db << 6 |
		       s->g << 7);
	out[16] = s->unusable;
}

static int cpu_seg_decode(const void *obj, void *elem, const u8 *in)
{
	struct cpu_segment *s = elem;
	u64 base = 0;
	u32 limit = 0;

	(void)obj;
	if (in[14] > 0xf || in[16] > 1)
		return -EINVAL;
	for (unsigned i = 0; i < 8; i++)
		base |= (u64)in[i] << (8 * i);
	for (unsigned i = 0; i < 4; i++)
		limit |= (u32)in[8 + i] << (8 * i);
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = limit;
	s->selector = (u16)(in[12] | in[13] << 8);
	s->type = in[14];
	s->s = in[15] & 1;
	s->dpl = (in[15] >> 1) & 3;
	s->present = (in[15] >> 3) & 1;
	s->avl = (in[15] >> 4) & 1;
	s->l = (in[15] >> 5) & 1;
	s->db = (in[15] >> 6) & 1;
	s->g = (in[15] >> 7) & 1;
	s->unusable = in[16];
	return 0;
}

static const struct state_field cpu_dtable_fields[] = {
	STATE_U64(struct cpu_dtable, base),
	STATE_U16(struct cpu_dtable, limit),
	STATE_END,
};

static const struct state_desc cpu_dtable_desc = {
	.name = "cpu-dtable",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct cpu_dtable),
	.fields = cpu_dtable_fields,
};

static const struct state_field cpu_fxsave_fields[] = {
	STATE_U16(struct cpu_fxsave, fcw),
	STATE_U16(struct cpu_fxsave, fsw),
	STATE_U8(struct cpu_fxsave, ftw),
	STATE_U8(struct cpu_fxsave, reserved1),
	STATE_U16(struct cpu_fxsave, fop),
	STATE_U64(struct cpu_fxsave, fip),
	STATE_U64(struct cpu_fxsave, fdp),
	STATE_U32(struct cpu_fxsave, mxcsr),
	STATE_U32(struct cpu_fxsave, mxcsr_mask),
	STATE_ARRAY2(struct cpu_fxsave, st, U8),
	STATE_ARRAY2(struct cpu_fxsave, xmm, U8),
	STATE_ARRAY(struct cpu_fxsave, reserved2, U8),
	STATE_END,
};

static const struct state_desc cpu_fxsave_desc = {
	.name = "cpu-fxsave",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct cpu_fxsave),
	.fields = cpu_fxsave_fields,
};

static const struct state_field cpu_msr_fields[] = {
	STATE_U32(struct cpu_msr, index),
	STATE_U64(struct cpu_msr, value),
	STATE_END,
};

static const struct state_desc cpu_msr_desc = {
	.name = "cpu-msr",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct cpu_msr),
	.fields = cpu_msr_fields,
};

static const struct state_field cpu_event_fields[] = {
	STATE_BOOL(struct cpu_event, pending),
	STATE_BOOL(struct cpu_event, injected),
	STATE_U8(struct cpu_event, vector),
	STATE_BOOL(struct cpu_event, has_error),
	STATE_BOOL(struct cpu_event, soft),
	STATE_U32(struct cpu_event, error),
	STATE_U64(struct cpu_event, payload),
	STATE_BOOL(struct cpu_event, has_payload),
	STATE_END,
};

static const struct state_desc cpu_event_desc = {
	.name = "cpu-event",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct cpu_event),
	.fields = cpu_event_fields,
};

static const struct state_field cpu_state_fields[] = {
	STATE_ARRAY(struct cpu_state, gpr, U64),
	STATE_U64(struct cpu_state, rip),
	STATE_U64(struct cpu_state, rflags),
	STATE_CUSTOM(struct cpu_state, seg, CPU_NR_SEGS, cpu_seg_encode, cpu_seg_decode,
		     CPU_SEG_WIRE),
	STATE_CUSTOM(struct cpu_state, tr, 1, cpu_seg_encode, cpu_seg_decode, CPU_SEG_WIRE),
	STATE_CUSTOM(struct cpu_state, ldtr, 1, cpu_seg_encode, cpu_seg_decode, CPU_SEG_WIRE),
	STATE_STRUCT(struct cpu_state, gdtr, cpu_dtable_desc),
	STATE_STRUCT(struct cpu_state, idtr, cpu_dtable_desc),
	STATE_U64(struct cpu_state, cr0),
	STATE_U64(struct cpu_state, cr2),
	STATE_U64(struct cpu_state, cr3),
	STATE_U64(struct cpu_state, cr4),
	STATE_U64(struct cpu_state, cr8),
	STATE_U64(struct cpu_state, efer),
	STATE_U64(struct cpu_state, apic_base),
	STATE_ARRAY(struct cpu_state, dr, U64),
	STATE_STRUCT(struct cpu_state, fx, cpu_fxsave_desc),
	STATE_ARRAY2(struct cpu_state, ymmh, U8, STATE_SINCE(2)),
	STATE_U32(struct cpu_state, nr_msrs, STATE_MAX(CPU_MAX_MSRS)),
	STATE_STRUCT_ARRAY(struct cpu_state, msrs, cpu_msr_desc),
	STATE_BOOL(struct cpu_state, interrupt_shadow),
	STATE_BOOL(struct cpu_state, nmi_masked),
	STATE_BOOL(struct cpu_state, halted),
	STATE_BOOL(struct cpu_state, nmi_pending),
	STATE_BOOL(struct cpu_state, wait_sipi),
	STATE_BOOL(struct cpu_state, sipi_pending),
	STATE_U8(struct cpu_state, sipi_vector),
	STATE_U32(struct cpu_state, flags, STATE_MAX(CPU_STATE_F_TSC)),
	STATE_U64(struct cpu_state, tsc),
	STATE_U64(struct cpu_state, xcr0),
	STATE_STRUCT(struct cpu_state, exception, cpu_event_desc),
	STATE_STRUCT(struct cpu_state, interrupt, cpu_event_desc),
	STATE_END,
};

const struct state_desc cpu_state_desc = {
	.name = "cpu",
	.version = 2, /* 2: ymmh (the AVX state) */
	.min_version = 1,
	STATE_LAYOUT(struct cpu_state),
	.fields = cpu_state_fields,
};
