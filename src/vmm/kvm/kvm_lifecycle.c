// SPDX-License-Identifier: MIT
/*
 * KVM accelerator, lifecycle (vmm/accel.h "Lifecycle"): board reset of what
 * KVM emulates in the kernel, kvmclock held across a pause, exit counters and
 * NMIs.
 *
 * Reset: the in-kernel PIC pair, IOAPIC and PIT (api.rst 4.26 KVM_GET_IRQCHIP /
 * 4.27 KVM_SET_IRQCHIP, 4.73 KVM_GET_PIT2 / KVM_SET_PIT2) and each local APIC
 * (4.57 KVM_GET_LAPIC / 4.58 KVM_SET_LAPIC) are read right after creation and
 * written back on a board reset; the MP state (4.38 KVM_SET_MP_STATE) puts the
 * APs back in wait-for-SIPI (UNINITIALIZED) and the BSP runnable, and pending
 * events are dropped (4.31 KVM_SET_VCPU_EVENTS).
 *
 * Pause: kvmclock (4.20 KVM_GET_CLOCK / 4.21 KVM_SET_CLOCK, KVM_CAP_ADJUST_CLOCK)
 * is read when the VM pauses and written back when it resumes, so a guest
 * using kvm-clock sees no time pass while paused. The TSC keeps counting (as
 * under QEMU): a guest clocked by the raw TSC sees the pause as lost time.
 *
 * NMI: 4.45 KVM_NMI on the vCPU's own thread (vcpu.c injects there).
 */
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int kvm_capture_vm_reset_state(struct accel_vm *avm)
{
	for (u32 i = 0; i < ARRAY_SIZE(avm->reset_chips); i++) {
		avm->reset_chips[i].chip_id = i; /* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
		if (ioctl(avm->vm_fd, KVM_GET_IRQCHIP, &avm->reset_chips[i]) < 0)
			return -errno;
	}
	if (ioctl(avm->vm_fd, KVM_GET_PIT2, &avm->reset_pit) < 0)
		return -errno;
	avm->have_reset_state = true;
	return 0;
}

int kvm_capture_vcpu_reset_state(struct accel_vcpu *v)
{
	v->reset_lapic = calloc(1, sizeof(*v->reset_lapic));
	if (!v->reset_lapic)
		return -ENOMEM;
	if (ioctl(v->fd, KVM_GET_LAPIC, v->reset_lapic) < 0) {
		int ret = -errno;

		free(v->reset_lapic);
		v->reset_lapic = NULL;
		return ret;
	}
	return 0;
}

int kvm_vm_reset(struct accel_vm *avm)
{
	if (!avm->have_reset_state)
		return 0;
	for (unsigned i = 0; i < ARRAY_SIZE(avm->reset_chips); i++)
		if (ioctl(avm->vm_fd, KVM_SET_IRQCHIP, &avm->reset_chips[i]) < 0)
			return -errno;
	if (ioctl(avm->vm_fd, KVM_SET_PIT2, &avm->reset_pit) < 0)
		return -errno;
	return 0;
}

int kvm_vcpu_reset(struct accel_vcpu *v, bool bsp)
{
	struct kvm_mp_state mp = { .mp_state = bsp ? KVM_MP_STATE_RUNNABLE :
						     KVM_MP_STATE_UNINITIALIZED };
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_SET_LAPIC, v->reset_lapic) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.exception.injected = 0;
	ev.exception.pending = 0;
	ev.interrupt.injected = 0;
	ev.nmi.injected = 0;
	ev.nmi.pending = 0;
	ev.nmi.masked = 0;
	ev.sipi_vector = 0;
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ev.interrupt.shadow = 0;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

void kvm_clock_pause(struct accel_vm *avm, bool paused)
{
	if (kvm_ioctl_check(avm->kvm_fd, KVM_CAP_ADJUST_CLOCK) <= 0)
		return;
	if (paused) {
		memset(&avm->paused_clock, 0, sizeof(avm->paused_clock));
		avm->clock_saved = ioctl(avm->vm_fd, KVM_GET_CLOCK, &avm->paused_clock) == 0;
		if (!avm->clock_saved)
			log_warn("%s: KVM_GET_CLOCK: %s; kvmclock will jump over the pause",
				 avm->name, strerror(errno));
		return;
	}
	if (!avm->clock_saved)
		return;
	avm->clock_saved = false;
	/* Only the clock value: the realtime/host-TSC pairing would add the pause back. */
	avm->paused_clock.flags = 0;
	if (ioctl(avm->vm_fd, KVM_SET_CLOCK, &avm->paused_clock) < 0)
		log_warn("%s: KVM_SET_CLOCK: %s; kvmclock jumps over the pause", avm->name,
			 strerror(errno));
}

void kvm_vcpu_counters(struct accel_vcpu *v, accel_counter_fn fn, void *opaque)
{
	u64 total = 0;

	for (u32 r = 0; r < KVM_EXIT_COUNTED; r++) {
		u64 n = __atomic_load_n(&v->exits[r], __ATOMIC_RELAXED);
		char name[48];

		total += n;
		if (!n)
			continue;
		/* "exits_io", "exits_mmio", ... in lower case */
		snprintf(name, sizeof(name), "exits_%s", kvm_exit_name(r));
		for (char *c = name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		fn(opaque, name, n);
	}
	fn(opaque, "exits", total);
}

void kvm_vcpu_nmi(struct accel_vcpu *v)
{
	if (ioctl(v->fd, KVM_NMI) < 0)
		log_warn("%s: KVM_NMI: %s", v->name, strerror(errno));
}
