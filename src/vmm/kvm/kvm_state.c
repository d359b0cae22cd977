// SPDX-License-Identifier: MIT
/*
 * KVM accelerator, the state KVM keeps in the kernel for a snapshot or a migration
 * (accel_ops.state_save/state_check/state_load, docs/snapshots.md), as records of the VM's
 * state set (vmm/state.h) with declarative, versioned tables like every device's:
 *
 *   "kvm-irqchip" (one, instance "kvm-irqchip"): the in-kernel 8259 pair and I/O APIC
 *       (api.rst 4.26 KVM_GET_IRQCHIP / 4.27 KVM_SET_IRQCHIP), the PIT (4.73 KVM_GET_PIT2 /
 *       KVM_SET_PIT2; count_load_time is not kept: KVM_SET_PIT2 reloads every count from the
 *       moment of the set) and kvmclock (4.20 KVM_GET_CLOCK / 4.21 KVM_SET_CLOCK: the value
 *       when the VM paused, so the guest sees no time pass across the snapshot or the move);
 *   "kvm-vcpu" (one per vCPU, "kvm-vcpu0"...): the local APIC's register page (4.57 / 4.58
 *       KVM_GET_LAPIC / KVM_SET_LAPIC; TMCCT carries the timer's remaining count), the MSRs
 *       that belong with it or with KVM's paravirtual interface (IA32_TSC_DEADLINE; kvmclock,
 *       wall clock, async page faults, steal time, PV EOI, poll control: cpuid.rst and
 *       msr.rst of the kernel's Documentation/virt/kvm/x86), and the XSAVE area (4.42
 *       KVM_GET_XSAVE), whose extended parts (AVX) struct cpu_state does not carry: on hosts
 *       where KVM shows the guest XSAVE anyway (PVM puts the host's leaf 1 back), the guest
 *       may use it.
 *
 * Order on a load (Firecracker's reasons, vcpu.rs): after the vCPU registers (struct
 * cpu_state: SREGS sets the APIC base), the local APIC, then the MSRs (the TSC deadline needs
 * the LAPIC), the XSAVE area last (it overwrites the FXSAVE part cpu_state set with the same
 * bytes and adds the rest). The chips before the devices re-raise their lines.
 *
 * A record is hostile input like any: the tables bound what KVM's own code indexes with
 * (priority_add, init_state, the PIT's access states and modes, the register selects).
 *
 * For a restore under the other engine (bt), the same chips also convert to and from the
 * engine-neutral form of vmm/base/chips_state.h (accel_ops.chips_save/chips_load, at the end
 * of this file; docs/snapshots.md "Engines"), which vmm/chips_state.c saves as its own record.
 */
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/err.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define KVM_STATE_CHIPS	   "kvm-irqchip"
#define KVM_STATE_VCPU	   "kvm-vcpu"
#define KVM_STATE_XSAVE	   4096u /* struct kvm_xsave: the legacy area and the AVX/SSE parts */
#define KVM_STATE_NR_PINS  24
#define KVM_STATE_PIT_RW_W 4		 /* RW_STATE_WORD1: the highest access state */
#define KVM_STATE_IOAPIC   0xfec00000ull /* where KVM's I/O APIC is (api.rst 4.24) */

/* MSRs saved with the vCPU's KVM record, in the order they are written back. */
static const u32 kvm_state_msrs[] = {
	0x000006e0, /* IA32_TSC_DEADLINE (after the LAPIC) */
	0x00000011, /* MSR_KVM_WALL_CLOCK */
	0x00000012, /* MSR_KVM_SYSTEM_TIME */
	0x4b564d00, /* MSR_KVM_WALL_CLOCK_NEW */
	0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW */
	0x4b564d06, /* MSR_KVM_ASYNC_PF_INT (before ASYNC_PF_EN enables it) */
	0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
	0x4b564d03, /* MSR_KVM_STEAL_TIME */
	0x4b564d04, /* MSR_KVM_PV_EOI_EN */
	0x4b564d05, /* MSR_KVM_POLL_CONTROL */
};

#define KVM_STATE_NR_MSRS (sizeof(kvm_state_msrs) / sizeof(kvm_state_msrs[0]))

/* ---- the records, in this VMM's types (the kernel's __u64 is not u64's C type) */

struct kvm_pic_rec {
	u8 last_irr, irr, imr, isr, priority_add, irq_base, read_reg_select, poll, special_mask;
	u8 init_state, auto_eoi, rotate_on_auto_eoi, special_fully_nested_mode, init4, elcr;
	u8 elcr_mask;
};

struct kvm_pit_ch_rec {
	u32 count;
	u16 latched_count;
	u8 count_latched, status_latched, status, read_state, write_state, write_latch, rw_mode;
	u8 mode, bcd, gate;
};

struct kvm_chips_rec {
	struct kvm_pic_rec pic[2];
	u64 ioapic_base;
	u32 ioapic_sel, ioapic_id, ioapic_irr;
	u64 ioapic_redtbl[KVM_STATE_NR_PINS];
	struct kvm_pit_ch_rec pit[3];
	u32 pit_flags;
	u64 kvmclock;
};

struct kvm_vcpu_rec {
	u8 lapic[KVM_APIC_REG_SIZE];
	u64 msr[KVM_STATE_NR_MSRS];
	u32 msr_present; /* bit i: msr[i] was read (KVM has the MSR) */
	bool has_xsave;
	u8 xsave[KVM_STATE_XSAVE];
};

static const struct state_field kvm_pic_fields[] = {
	STATE_U8(struct kvm_pic_rec, last_irr),
	STATE_U8(struct kvm_pic_rec, irr),
	STATE_U8(struct kvm_pic_rec, imr),
	STATE_U8(struct kvm_pic_rec, isr),
	STATE_U8(struct kvm_pic_rec, priority_add, STATE_MAX(7)),
	STATE_U8(struct kvm_pic_rec, irq_base),
	STATE_U8(struct kvm_pic_rec, read_reg_select, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, poll, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, special_mask, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, init_state, STATE_MAX(3)),
	STATE_U8(struct kvm_pic_rec, auto_eoi, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, rotate_on_auto_eoi, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, special_fully_nested_mode, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, init4, STATE_MAX(1)),
	STATE_U8(struct kvm_pic_rec, elcr),
	STATE_U8(struct kvm_pic_rec, elcr_mask),
	STATE_END,
};

static const struct state_desc kvm_pic_desc = {
	.name = "kvm-pic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct kvm_pic_rec),
	.fields = kvm_pic_fields,
};

static const struct state_field kvm_pit_ch_fields[] = {
	STATE_U32(struct kvm_pit_ch_rec, count, STATE_MAX(0x10000)),
	STATE_U16(struct kvm_pit_ch_rec, latched_count),
	STATE_U8(struct kvm_pit_ch_rec, count_latched, STATE_MAX(KVM_STATE_PIT_RW_W)),
	STATE_U8(struct kvm_pit_ch_rec, status_latched, STATE_MAX(1)),
	STATE_U8(struct kvm_pit_ch_rec, status),
	STATE_U8(struct kvm_pit_ch_rec, read_state, STATE_MAX(KVM_STATE_PIT_RW_W)),
	STATE_U8(struct kvm_pit_ch_rec, write_state, STATE_MAX(KVM_STATE_PIT_RW_W)),
	STATE_U8(struct kvm_pit_ch_rec, write_latch),
	STATE_U8(struct kvm_pit_ch_rec, rw_mode, STATE_MAX(3)),
	STATE_U8(struct kvm_pit_ch_rec, mode), /* 0xff: never programmed (KVM) */
	STATE_U8(struct kvm_pit_ch_rec, bcd, STATE_MAX(1)),
	STATE_U8(struct kvm_pit_ch_rec, gate, STATE_MAX(1)),
	STATE_END,
};

static const struct state_desc kvm_pit_ch_desc = {
	.name = "kvm-pit-channel",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct kvm_pit_ch_rec),
	.fields = kvm_pit_ch_fields,
};

static const struct state_field kvm_chips_fields[] = {
	STATE_STRUCT_ARRAY(struct kvm_chips_rec, pic, kvm_pic_desc),
	STATE_U64(struct kvm_chips_rec, ioapic_base, STATE_CHECKED),
	STATE_U32(struct kvm_chips_rec, ioapic_sel, STATE_MAX(0xff)),
	STATE_U32(struct kvm_chips_rec, ioapic_id, STATE_MAX(0xff)),
	STATE_U32(struct kvm_chips_rec, ioapic_irr, STATE_MAX((1u << KVM_STATE_NR_PINS) - 1)),
	STATE_ARRAY(struct kvm_chips_rec, ioapic_redtbl, U64),
	STATE_STRUCT_ARRAY(struct kvm_chips_rec, pit, kvm_pit_ch_desc),
	STATE_U32(struct kvm_chips_rec, pit_flags,
		  STATE_MAX(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)),
	STATE_U64(struct kvm_chips_rec, kvmclock),
	STATE_END,
};

static const struct state_desc kvm_chips_desc = {
	.name = KVM_STATE_CHIPS,
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct kvm_chips_rec),
	.fields = kvm_chips_fields,
};

static const struct state_field kvm_vcpu_fields[] = {
	STATE_ARRAY(struct kvm_vcpu_rec, lapic, U8),
	STATE_ARRAY(struct kvm_vcpu_rec, msr, U64),
	STATE_U32(struct kvm_vcpu_rec, msr_present, STATE_MAX((1u << KVM_STATE_NR_MSRS) - 1)),
	STATE_BOOL(struct kvm_vcpu_rec, has_xsave),
	STATE_ARRAY(struct kvm_vcpu_rec, xsave, U8),
	STATE_END,
};

static const struct state_desc kvm_vcpu_desc = {
	.name = KVM_STATE_VCPU,
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct kvm_vcpu_rec),
	.fields = kvm_vcpu_fields,
};

/* For tests: the tables must verify (state_desc_verify). */
const struct state_desc *const kvm_state_descs[] = { &kvm_chips_desc, &kvm_vcpu_desc, NULL };

/* ---- the kernel's structures <-> the records */

static void kvm_pic_from(struct kvm_pic_rec *r, const struct kvm_pic_state *k)
{
	*r = (struct kvm_pic_rec){ k->last_irr,
				   k->irr,
				   k->imr,
				   k->isr,
				   k->priority_add,
				   k->irq_base,
				   k->read_reg_select,
				   k->poll,
				   k->special_mask,
				   k->init_state,
				   k->auto_eoi,
				   k->rotate_on_auto_eoi,
				   k->special_fully_nested_mode,
				   k->init4,
				   k->elcr,
				   k->elcr_mask };
}

static void kvm_pic_to(struct kvm_pic_state *k, const struct kvm_pic_rec *r)
{
	*k = (struct kvm_pic_state){ r->last_irr,
				     r->irr,
				     r->imr,
				     r->isr,
				     r->priority_add,
				     r->irq_base,
				     r->read_reg_select,
				     r->poll,
				     r->special_mask,
				     r->init_state,
				     r->auto_eoi,
				     r->rotate_on_auto_eoi,
				     r->special_fully_nested_mode,
				     r->init4,
				     r->elcr,
				     r->elcr_mask };
}

static void kvm_pit_from(struct kvm_pit_ch_rec *r, const struct kvm_pit_channel_state *k)
{
	*r = (struct kvm_pit_ch_rec){ .count = k->count,
				      .latched_count = k->latched_count,
				      .count_latched = k->count_latched,
				      .status_latched = k->status_latched,
				      .status = k->status,
				      .read_state = k->read_state,
				      .write_state = k->write_state,
				      .write_latch = k->write_latch,
				      .rw_mode = k->rw_mode,
				      .mode = k->mode,
				      .bcd = k->bcd,
				      .gate = k->gate };
}

static void kvm_pit_to(struct kvm_pit_channel_state *k, const struct kvm_pit_ch_rec *r)
{
	*k = (struct kvm_pit_channel_state){ .count = r->count,
					     .latched_count = r->latched_count,
					     .count_latched = r->count_latched,
					     .status_latched = r->status_latched,
					     .status = r->status,
					     .read_state = r->read_state,
					     .write_state = r->write_state,
					     .write_latch = r->write_latch,
					     .rw_mode = r->rw_mode,
					     .mode = r->mode,
					     .bcd = r->bcd,
					     .gate = r->gate };
}

static int kvm_state_chips_get(struct accel_vm *avm, struct kvm_chips_rec *r, struct err *err)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk;

	memset(r, 0, sizeof(*r));
	for (u32 i = 0; i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		if (ioctl(avm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return err_set(err, -errno, "%s: KVM_GET_IRQCHIP %u: %s", avm->name, i,
				       strerror(errno));
		if (i < 2) {
			kvm_pic_from(&r->pic[i], &chip.chip.pic);
			continue;
		}
		r->ioapic_base = chip.chip.ioapic.base_address;
		r->ioapic_sel = chip.chip.ioapic.ioregsel;
		r->ioapic_id = chip.chip.ioapic.id;
		r->ioapic_irr = chip.chip.ioapic.irr;
		for (unsigned p = 0; p < KVM_STATE_NR_PINS; p++)
			r->ioapic_redtbl[p] = chip.chip.ioapic.redirtbl[p].bits;
	}
	if (ioctl(avm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return err_set(err, -errno, "%s: KVM_GET_PIT2: %s", avm->name, strerror(errno));
	for (unsigned c = 0; c < 3; c++)
		kvm_pit_from(&r->pit[c], &pit.channels[c]);
	r->pit_flags = pit.flags;
	/* Paused: the value kvm_clock_pause holds (KVM's clock itself ran on meanwhile). */
	if (avm->clock_saved) {
		r->kvmclock = avm->paused_clock.clock;
	} else {
		memset(&clk, 0, sizeof(clk));
		if (ioctl(avm->vm_fd, KVM_GET_CLOCK, &clk) < 0)
			return err_set(err, -errno, "%s: KVM_GET_CLOCK: %s", avm->name,
				       strerror(errno));
		r->kvmclock = clk.clock;
	}
	return 0;
}

static int kvm_state_chips_set(struct accel_vm *avm, const struct kvm_chips_rec *r, struct err *err)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk = { .clock = r->kvmclock };

	for (u32 i = 0; i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		if (i < 2) {
			kvm_pic_to(&chip.chip.pic, &r->pic[i]);
		} else {
			chip.chip.ioapic.base_address = r->ioapic_base;
			chip.chip.ioapic.ioregsel = r->ioapic_sel;
			chip.chip.ioapic.id = r->ioapic_id;
			chip.chip.ioapic.irr = r->ioapic_irr;
			for (unsigned p = 0; p < KVM_STATE_NR_PINS; p++)
				chip.chip.ioapic.redirtbl[p].bits = r->ioapic_redtbl[p];
		}
		if (ioctl(avm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_set(err, -errno, "%s: KVM_SET_IRQCHIP %u: %s", avm->name, i,
				       strerror(errno));
	}
	memset(&pit, 0, sizeof(pit));
	for (unsigned c = 0; c < 3; c++)
		kvm_pit_to(&pit.channels[c], &r->pit[c]);
	pit.flags = r->pit_flags;
	if (ioctl(avm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_set(err, -errno, "%s: KVM_SET_PIT2: %s", avm->name, strerror(errno));
	if (kvm_ioctl_check(avm->kvm_fd, KVM_CAP_ADJUST_CLOCK) > 0) {
		if (ioctl(avm->vm_fd, KVM_SET_CLOCK, &clk) < 0)
			return err_set(err, -errno, "%s: KVM_SET_CLOCK: %s", avm->name,
				       strerror(errno));
		/* A paused VM holds this value until it resumes (kvm_clock_pause). */
		avm->paused_clock = clk;
	}
	return 0;
}

struct kvm_state_msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[KVM_STATE_NR_MSRS];
};

/* The XSAVE area through a buffer of the size this KVM wants (KVM_GET_XSAVE2 when larger). */
static int kvm_state_xsave_io(struct accel_vcpu *v, struct kvm_vcpu_rec *r, bool set)
{
	size_t size = v->vm->xsave_bytes;
	struct kvm_xsave *xs;
	int ret = 0;

	if (!size)
		return 0;
	xs = calloc(1, size);
	if (!xs)
		return -ENOMEM;
	if (ioctl(v->fd, size > sizeof(*xs) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, xs) < 0)
		ret = -errno;
	if (ret == 0 && !set) {
		memcpy(r->xsave, xs->region, KVM_STATE_XSAVE);
		r->has_xsave = true;
	} else if (ret == 0 && r->has_xsave) {
		memcpy(xs->region, r->xsave, KVM_STATE_XSAVE);
		if (ioctl(v->fd, KVM_SET_XSAVE, xs) < 0)
			ret = -errno;
	}
	free(xs);
	return ret;
}

static int kvm_state_vcpu_get(struct accel_vcpu *v, struct kvm_vcpu_rec *r, struct err *err)
{
	struct kvm_lapic_state lapic;
	struct kvm_state_msr_buf m;
	int got, ret;

	memset(r, 0, sizeof(*r));
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return err_set(err, -errno, "%s: KVM_GET_LAPIC: %s", v->name, strerror(errno));
	memcpy(r->lapic, lapic.regs, sizeof(r->lapic));
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < KVM_STATE_NR_MSRS; i++)
		if (kvm_msr_supported(v->vm, kvm_state_msrs[i]))
			m.e[m.hdr.nmsrs++].index = kvm_state_msrs[i];
	got = ioctl(v->fd, KVM_GET_MSRS, &m);
	if (got < 0 || (u32)got != m.hdr.nmsrs)
		return err_set(err, got < 0 ? -errno : -EIO, "%s: KVM_GET_MSRS: %d of %u read",
			       v->name, got, m.hdr.nmsrs);
	for (u32 j = 0; j < m.hdr.nmsrs; j++) {
		for (unsigned i = 0; i < KVM_STATE_NR_MSRS; i++) {
			if (kvm_state_msrs[i] != m.e[j].index)
				continue;
			r->msr[i] = m.e[j].data;
			r->msr_present |= 1u << i;
		}
	}
	ret = kvm_state_xsave_io(v, r, false);
	if (ret < 0)
		return err_set(err, ret, "%s: KVM_GET_XSAVE: %s", v->name, strerror(-ret));
	return 0;
}

static int kvm_state_vcpu_set(struct accel_vcpu *v, const struct kvm_vcpu_rec *r, struct err *err)
{
	struct kvm_lapic_state lapic;
	struct kvm_state_msr_buf m;
	int got, ret;

	memcpy(lapic.regs, r->lapic, sizeof(lapic.regs));
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return err_set(err, -errno, "%s: KVM_SET_LAPIC: %s", v->name, strerror(errno));
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < KVM_STATE_NR_MSRS; i++) {
		if (!(r->msr_present & (1u << i)))
			continue;
		if (!kvm_msr_supported(v->vm, kvm_state_msrs[i]))
			return err_set(err, -EINVAL,
				       "%s: the state has MSR %#x, which this host's KVM lacks",
				       v->name, kvm_state_msrs[i]);
		m.e[m.hdr.nmsrs].index = kvm_state_msrs[i];
		m.e[m.hdr.nmsrs++].data = r->msr[i];
	}
	got = m.hdr.nmsrs ? ioctl(v->fd, KVM_SET_MSRS, &m) : 0;
	if (got < 0 || (u32)got != m.hdr.nmsrs)
		return err_set(err, got < 0 ? -errno : -EINVAL,
			       "%s: KVM_SET_MSRS: KVM refused MSR %#x of the state", v->name,
			       got >= 0 && (u32)got < m.hdr.nmsrs ? m.e[got].index : 0);
	ret = kvm_state_xsave_io(v, (struct kvm_vcpu_rec *)r, true);
	if (ret < 0)
		return err_set(err, ret, "%s: KVM_SET_XSAVE: %s", v->name, strerror(-ret));
	return 0;
}

static void kvm_state_vcpu_name(const struct accel_vcpu *v, char *out, size_t size)
{
	snprintf(out, size, KVM_STATE_VCPU "%u", v->index);
}

/* ---- accel_ops */

int kvm_state_save(struct accel_vm *avm, struct state_buf *out, u32 *count, struct err *err)
{
	struct kvm_chips_rec chips;
	struct kvm_vcpu_rec *vr = malloc(sizeof(*vr));
	char name[32];
	int ret;

	if (!vr)
		return err_set(err, -ENOMEM, "out of memory");
	ret = kvm_state_chips_get(avm, &chips, err);
	if (ret == 0)
		ret = state_save(&kvm_chips_desc, KVM_STATE_CHIPS, &chips, out, err);
	if (ret == 0)
		(*count)++;
	for (unsigned i = 0; ret == 0 && i < avm->nr_vcpus; i++) {
		struct accel_vcpu *v = avm->vcpus[i];

		if (!v)
			continue;
		kvm_state_vcpu_name(v, name, sizeof(name));
		ret = kvm_state_vcpu_get(v, vr, err);
		if (ret == 0)
			ret = state_save(&kvm_vcpu_desc, name, vr, out, err);
		if (ret == 0)
			(*count)++;
	}
	free(vr);
	return ret;
}

/* Every record KVM needs is in set and would load; with load, it is written too. */
static int kvm_state_walk(struct accel_vm *avm, struct state_set *set, bool load, struct err *err)
{
	struct kvm_chips_rec chips = { .ioapic_base = KVM_STATE_IOAPIC };
	struct kvm_vcpu_rec *vr = calloc(1, sizeof(*vr));
	struct state_set_entry *e = state_set_find(set, KVM_STATE_CHIPS);
	char name[32];
	int ret;

	if (!vr)
		return err_set(err, -ENOMEM, "out of memory");
	if (!e)
		ret = err_set(err, -EINVAL,
			      "%s: the state has no %s record: it was not taken under kvm",
			      avm->name, KVM_STATE_CHIPS);
	else if (load)
		ret = state_load(&kvm_chips_desc, KVM_STATE_CHIPS, &chips, e->data, e->hdr.len,
				 err);
	else
		ret = state_check(&kvm_chips_desc, KVM_STATE_CHIPS, &chips, e->data, e->hdr.len,
				  err);
	if (ret == 0 && load)
		ret = kvm_state_chips_set(avm, &chips, err);
	for (unsigned i = 0; ret == 0 && i < avm->nr_vcpus; i++) {
		struct accel_vcpu *v = avm->vcpus[i];

		if (!v)
			continue;
		kvm_state_vcpu_name(v, name, sizeof(name));
		e = state_set_find(set, name);
		if (!e) {
			ret = err_set(err, -EINVAL, "%s: the state has no %s record", avm->name,
				      name);
			break;
		}
		ret = load ? state_load(&kvm_vcpu_desc, name, vr, e->data, e->hdr.len, err) :
			     state_check(&kvm_vcpu_desc, name, vr, e->data, e->hdr.len, err);
		if (ret == 0 && load)
			ret = kvm_state_vcpu_set(v, vr, err);
	}
	free(vr);
	return ret;
}

int kvm_state_check(struct accel_vm *avm, struct state_set *set, struct err *err)
{
	return kvm_state_walk(avm, set, false, err);
}

int kvm_state_load(struct accel_vm *avm, struct state_set *set, struct err *err)
{
	return kvm_state_walk(avm, set, true, err);
}

/* ---- the engine-neutral form (vmm/base/chips_state.h), for a restore under bt or from it */

/* Local APIC register offsets in KVM's register page (SDM vol. 3A table 11-1). */
#define KVM_LAPIC_ID	0x20
#define KVM_LAPIC_TPR	0x80
#define KVM_LAPIC_LDR	0xd0
#define KVM_LAPIC_DFR	0xe0
#define KVM_LAPIC_SVR	0xf0
#define KVM_LAPIC_ISR	0x100
#define KVM_LAPIC_TMR	0x180
#define KVM_LAPIC_IRR	0x200
#define KVM_LAPIC_ESR	0x280
#define KVM_LAPIC_ICR	0x300
#define KVM_LAPIC_ICR2	0x310
#define KVM_LAPIC_LVT0	0x320 /* the timer's; the other five follow 16 bytes apart */
#define KVM_LAPIC_TMICT 0x380
#define KVM_LAPIC_TMCCT 0x390
#define KVM_LAPIC_TDCR	0x3e0

#define KVM_MSR_APIC_BASE 0x0000001b
#define KVM_PV_ENABLE	  1ull /* bit 0 of the paravirtual MSRs below: the guest turned it on */

/* kvm_state_msrs[] entries whose bit 0 says a paravirtual feature is on, and its CHIPS_PV_. */
static const struct {
	unsigned msr;
	u32 pv;
} kvm_chips_pv[] = {
	{ 2, CHIPS_PV_KVMCLOCK }, /* MSR_KVM_SYSTEM_TIME */
	{ 4, CHIPS_PV_KVMCLOCK }, /* MSR_KVM_SYSTEM_TIME_NEW */
	{ 6, CHIPS_PV_ASYNC_PF }, /* MSR_KVM_ASYNC_PF_EN */
	{ 7, CHIPS_PV_STEAL },	  /* MSR_KVM_STEAL_TIME */
	{ 8, CHIPS_PV_EOI },	  /* MSR_KVM_PV_EOI_EN */
};

static u32 kvm_reg(const struct kvm_lapic_state *k, unsigned off)
{
	u32 v;

	memcpy(&v, k->regs + off, sizeof(v));
	return v;
}

static void kvm_reg_set(struct kvm_lapic_state *k, unsigned off, u32 v)
{
	memcpy(k->regs + off, &v, sizeof(v));
}

/* KVM's init_state counts the ICWs still due from 1 (ICW2); the neutral form names the next. */
static u8 kvm_pic_step_from(u8 init_state)
{
	return init_state ? (u8)(init_state + 1) : 0;
}

void kvm_chips_from_kernel(struct chips_state *x, const struct kvm_pic_state pic[2],
			   const struct kvm_ioapic_state *io, const struct kvm_pit_state2 *pit)
{
	for (unsigned i = 0; i < 2; i++) {
		const struct kvm_pic_state *k = &pic[i];

		x->pic[i] = (struct chips_pic){ .irr = k->irr,
						.isr = k->isr,
						.imr = k->imr,
						.pins = k->last_irr,
						.elcr = k->elcr,
						.irq_base = k->irq_base,
						.icw3 = i ? 0x02 : 0x04, /* KVM's fixed cascade */
						.init_step = kvm_pic_step_from(k->init_state),
						.priority_base = k->priority_add & 7,
						.ic4 = k->init4,
						.auto_eoi = k->auto_eoi,
						.rotate_on_aeoi = k->rotate_on_auto_eoi,
						.sfnm = k->special_fully_nested_mode,
						.special_mask = k->special_mask,
						.read_isr = k->read_reg_select,
						.poll = k->poll };
	}
	x->ioapic =
		(struct chips_ioapic){ .id = io->id, .regsel = (u8)io->ioregsel, .irr = io->irr };
	for (unsigned p = 0; p < CHIPS_IOAPIC_PINS; p++)
		x->ioapic.redtbl[p] = io->redirtbl[p].bits;
	for (unsigned c = 0; c < CHIPS_PIT_CHANNELS; c++) {
		const struct kvm_pit_channel_state *k = &pit->channels[c];

		/* The phase in the period is not known (count_load_time is the host's): the
		 * count is taken as just reloaded, as KVM_SET_PIT2 itself does. */
		x->pit[c] = (struct chips_pit_channel){ .mode = k->mode,
							.rw = k->rw_mode,
							.bcd = k->bcd,
							.gate = k->gate,
							.loaded = k->mode <= 5,
							.reload = k->count,
							.count = k->count & 0xffff,
							.read_state = k->read_state,
							.write_state = k->write_state,
							.write_lsb = k->write_latch,
							.latch_state = k->count_latched,
							.latched = k->latched_count,
							.status_latched = k->status_latched,
							.status = k->status };
	}
	x->speaker_data = pit->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON;
}

void kvm_chips_to_kernel(const struct chips_state *x, struct kvm_pic_state pic[2],
			 struct kvm_ioapic_state *io, struct kvm_pit_state2 *pit)
{
	for (unsigned i = 0; i < 2; i++) {
		const struct chips_pic *c = &x->pic[i];
		struct kvm_pic_state *k = &pic[i];

		k->irr = c->irr;
		k->isr = c->isr;
		k->imr = c->imr;
		k->last_irr = c->pins;
		k->elcr = c->elcr & k->elcr_mask;
		k->irq_base = c->irq_base & 0xf8;
		k->init_state = c->init_step ? (u8)(c->init_step - 1) : 0;
		k->priority_add = c->priority_base & 7;
		k->init4 = c->ic4;
		k->auto_eoi = c->auto_eoi;
		k->rotate_on_auto_eoi = c->rotate_on_aeoi;
		k->special_fully_nested_mode = c->sfnm;
		k->special_mask = c->special_mask;
		k->read_reg_select = c->read_isr;
		k->poll = c->poll;
	}
	io->id = x->ioapic.id;
	io->ioregsel = x->ioapic.regsel;
	io->irr = x->ioapic.irr;
	for (unsigned p = 0; p < CHIPS_IOAPIC_PINS; p++)
		io->redirtbl[p].bits = x->ioapic.redtbl[p];
	for (unsigned c = 0; c < CHIPS_PIT_CHANNELS; c++) {
		const struct chips_pit_channel *n = &x->pit[c];
		struct kvm_pit_channel_state *k = &pit->channels[c];

		k->count = n->reload;
		k->latched_count = n->latched;
		k->count_latched = n->latch_state;
		k->status_latched = n->status_latched;
		k->status = n->status;
		k->read_state = n->read_state;
		k->write_state = n->write_state;
		k->write_latch = n->write_lsb;
		k->rw_mode = n->rw;
		k->mode = n->loaded ? n->mode : 0xff; /* KVM's: no count since the reset */
		k->bcd = n->bcd;
		k->gate = n->gate;
	}
	pit->flags = (pit->flags & ~(u32)KVM_PIT_FLAGS_SPEAKER_DATA_ON) |
		     (x->speaker_data ? KVM_PIT_FLAGS_SPEAKER_DATA_ON : 0);
}

void kvm_lapic_from_kernel(struct chips_lapic *x, const struct kvm_lapic_state *k)
{
	/* Without KVM_CAP_X2APIC_API the page has the xAPIC ID layout in either mode. */
	*x = (struct chips_lapic){ .id = kvm_reg(k, KVM_LAPIC_ID) >> 24,
				   .tpr = kvm_reg(k, KVM_LAPIC_TPR),
				   .ldr = kvm_reg(k, KVM_LAPIC_LDR),
				   .dfr = kvm_reg(k, KVM_LAPIC_DFR),
				   .svr = kvm_reg(k, KVM_LAPIC_SVR),
				   .esr = kvm_reg(k, KVM_LAPIC_ESR),
				   .icr_lo = kvm_reg(k, KVM_LAPIC_ICR),
				   .icr_hi = kvm_reg(k, KVM_LAPIC_ICR2),
				   .tmict = kvm_reg(k, KVM_LAPIC_TMICT),
				   .tmcct = kvm_reg(k, KVM_LAPIC_TMCCT),
				   .tdcr = kvm_reg(k, KVM_LAPIC_TDCR) };
	for (unsigned i = 0; i < 8; i++) {
		x->isr[i] = kvm_reg(k, KVM_LAPIC_ISR + 16 * i);
		x->tmr[i] = kvm_reg(k, KVM_LAPIC_TMR + 16 * i);
		x->irr[i] = kvm_reg(k, KVM_LAPIC_IRR + 16 * i);
	}
	for (unsigned i = 0; i < CHIPS_LAPIC_LVTS; i++)
		x->lvt[i] = kvm_reg(k, KVM_LAPIC_LVT0 + 16 * i);
}

void kvm_lapic_to_kernel(struct kvm_lapic_state *k, const struct chips_lapic *x)
{
	kvm_reg_set(k, KVM_LAPIC_ID, x->id << 24);
	kvm_reg_set(k, KVM_LAPIC_TPR, x->tpr);
	kvm_reg_set(k, KVM_LAPIC_LDR, x->ldr);
	kvm_reg_set(k, KVM_LAPIC_DFR, x->dfr);
	kvm_reg_set(k, KVM_LAPIC_SVR, x->svr);
	kvm_reg_set(k, KVM_LAPIC_ESR, x->esr);
	kvm_reg_set(k, KVM_LAPIC_ICR, x->icr_lo);
	kvm_reg_set(k, KVM_LAPIC_ICR2, x->icr_hi);
	kvm_reg_set(k, KVM_LAPIC_TMICT, x->tmict);
	kvm_reg_set(k, KVM_LAPIC_TMCCT, x->tmcct); /* KVM_SET_LAPIC starts the timer from it */
	kvm_reg_set(k, KVM_LAPIC_TDCR, x->tdcr);
	for (unsigned i = 0; i < 8; i++) {
		kvm_reg_set(k, KVM_LAPIC_ISR + 16 * i, x->isr[i]);
		kvm_reg_set(k, KVM_LAPIC_TMR + 16 * i, x->tmr[i]);
		kvm_reg_set(k, KVM_LAPIC_IRR + 16 * i, x->irr[i]);
	}
	for (unsigned i = 0; i < CHIPS_LAPIC_LVTS; i++)
		kvm_reg_set(k, KVM_LAPIC_LVT0 + 16 * i, x->lvt[i]);
}

static int kvm_chips_get_kernel(struct accel_vm *avm, struct kvm_irqchip chip[3],
				struct kvm_pit_state2 *pit, struct err *err)
{
	for (u32 i = 0; i < 3; i++) {
		memset(&chip[i], 0, sizeof(chip[i]));
		chip[i].chip_id = i;
		if (ioctl(avm->vm_fd, KVM_GET_IRQCHIP, &chip[i]) < 0)
			return err_set(err, -errno, "%s: KVM_GET_IRQCHIP %u: %s", avm->name, i,
				       strerror(errno));
	}
	memset(pit, 0, sizeof(*pit));
	if (ioctl(avm->vm_fd, KVM_GET_PIT2, pit) < 0)
		return err_set(err, -errno, "%s: KVM_GET_PIT2: %s", avm->name, strerror(errno));
	return 0;
}

int kvm_chips_save(struct accel_vm *avm, struct chips_state *out, struct err *err)
{
	struct kvm_irqchip chip[3];
	struct kvm_pic_state pic[2];
	struct kvm_pit_state2 pit;
	struct kvm_vcpu_rec *vr = malloc(sizeof(*vr));
	int ret;

	if (!vr)
		return err_set(err, -ENOMEM, "out of memory");
	memset(out, 0, sizeof(*out));
	ret = kvm_chips_get_kernel(avm, chip, &pit, err);
	if (ret == 0) {
		pic[0] = chip[0].chip.pic;
		pic[1] = chip[1].chip.pic;
		kvm_chips_from_kernel(out, pic, &chip[2].chip.ioapic, &pit);
	}
	if (ret == 0 && avm->nr_vcpus > CHIPS_MAX_CPUS)
		ret = err_set(err, -EINVAL, "%s: %u vCPUs: the neutral form holds %u", avm->name,
			      avm->nr_vcpus, CHIPS_MAX_CPUS);
	for (unsigned i = 0; ret == 0 && i < avm->nr_vcpus; i++) {
		struct accel_vcpu *v = avm->vcpus[i];
		struct kvm_lapic_state lapic;
		u64 base = 0;

		if (!v)
			continue;
		if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
			ret = err_set(err, -errno, "%s: KVM_GET_LAPIC: %s", v->name,
				      strerror(errno));
			break;
		}
		kvm_lapic_from_kernel(&out->lapic[i], &lapic);
		ret = kvm_state_vcpu_get(v, vr, err);
		if (ret == 0 && kvm_msr_get1(v, KVM_MSR_APIC_BASE, &base) < 0)
			ret = err_set(err, -EIO, "%s: cannot read IA32_APIC_BASE", v->name);
		if (ret < 0)
			break;
		out->lapic[i].base_msr = base;
		if (vr->msr_present & 1u) /* IA32_TSC_DEADLINE */
			out->lapic[i].tsc_deadline = vr->msr[0];
		for (unsigned j = 0; j < ARRAY_SIZE(kvm_chips_pv); j++)
			if ((vr->msr_present & (1u << kvm_chips_pv[j].msr)) &&
			    (vr->msr[kvm_chips_pv[j].msr] & KVM_PV_ENABLE))
				out->kvm_pv |= kvm_chips_pv[j].pv;
		out->nr_lapics = i + 1;
	}
	free(vr);
	return ret;
}

int kvm_chips_load(struct accel_vm *avm, const struct chips_state *in, struct err *err)
{
	struct kvm_irqchip chip[3];
	struct kvm_pic_state pic[2];
	struct kvm_pit_state2 pit;
	int ret;

	if (in->nr_lapics != avm->nr_vcpus)
		return err_set(err, -EINVAL, "%s: the state has %u local APICs, this VM %u vCPUs",
			       avm->name, in->nr_lapics, avm->nr_vcpus);
	for (unsigned i = 0; i < 2; i++)
		if (in->pic[i].single || in->pic[i].ltim)
			return err_set(err, -EINVAL,
				       "%s: the guest set its %s 8259 to %s mode, which KVM's "
				       "in-kernel 8259 does not model",
				       avm->name, i ? "slave" : "master",
				       in->pic[i].single ? "single" : "level-triggered (LTIM)");
	ret = kvm_chips_get_kernel(avm, chip, &pit, err);
	if (ret < 0)
		return ret;
	pic[0] = chip[0].chip.pic;
	pic[1] = chip[1].chip.pic;
	kvm_chips_to_kernel(in, pic, &chip[2].chip.ioapic, &pit);
	/*
	 * IRQ 0 is the in-kernel PIT's, which pulses it: the level the bt PIT held there (its
	 * OUT) would make the 8259 take the first pulse for no edge, and KVM's PIT, which waits
	 * for each tick's EOI before the next (reinjection), would never tick again.
	 */
	pic[0].last_irr &= (u8)~1u;
	chip[2].chip.ioapic.irr &= ~(1u << 2); /* IRQ 0 on I/O APIC pin 2 (the MADT override) */
	chip[0].chip.pic = pic[0];
	chip[1].chip.pic = pic[1];
	for (u32 i = 0; i < 3; i++)
		if (ioctl(avm->vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0)
			return err_set(err, -errno, "%s: KVM_SET_IRQCHIP %u: %s", avm->name, i,
				       strerror(errno));
	if (ioctl(avm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_set(err, -errno, "%s: KVM_SET_PIT2: %s", avm->name, strerror(errno));
	for (unsigned i = 0; i < avm->nr_vcpus; i++) {
		struct accel_vcpu *v = avm->vcpus[i];
		const struct chips_lapic *x = &in->lapic[i];
		struct kvm_lapic_state lapic;

		if (!v)
			continue;
		/* The base first: it sets the mode (xAPIC, x2APIC) the page is read in. */
		if (kvm_msr_set1(v, KVM_MSR_APIC_BASE, x->base_msr) < 0)
			return err_set(err, -EINVAL, "%s: KVM refused IA32_APIC_BASE %#llx",
				       v->name, (unsigned long long)x->base_msr);
		if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
			return err_set(err, -errno, "%s: KVM_GET_LAPIC: %s", v->name,
				       strerror(errno));
		kvm_lapic_to_kernel(&lapic, x);
		if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
			return err_set(err, -errno, "%s: KVM_SET_LAPIC: %s", v->name,
				       strerror(errno));
		if (x->tsc_deadline && kvm_msr_supported(avm, kvm_state_msrs[0]) &&
		    kvm_msr_set1(v, kvm_state_msrs[0], x->tsc_deadline) < 0)
			return err_set(err, -EINVAL, "%s: KVM refused IA32_TSC_DEADLINE", v->name);
	}
	return 0;
}
