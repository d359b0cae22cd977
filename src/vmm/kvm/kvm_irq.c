/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, interrupt injection into the in-kernel irqchip:
 * KVM_IRQ_LINE (api.rst 4.25) drives a GSI of the default routing (PIC pins
 * 0-15 and IOAPIC pins 0-23), KVM_SIGNAL_MSI (api.rst 4.71) delivers an MSI
 * as written by a device (address/data per Intel SDM vol. 3A 11.11).
 *
 * Not here: irqfd/resamplefd wiring (later, for virtio), GSI routing changes.
 */
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* Any thread. 0 or a negative errno. */
int kvm_irq_line(struct accel_vm *avm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(avm->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		int e = errno;

		log_dbg(LOG_CAT_IRQ, "%s: KVM_IRQ_LINE gsi %u level %d: %s", avm->name, gsi, level,
			strerror(e));
		return -e;
	}
	return 0;
}

/* Any thread. 0 when delivered or blocked by the guest's masking, else a negative errno. */
int kvm_irq_msi(struct accel_vm *avm, u64 addr, u32 data)
{
	struct kvm_msi msi = {
		.address_lo = (u32)addr,
		.address_hi = (u32)(addr >> 32),
		.data = data,
	};
	int ret = ioctl(avm->vm_fd, KVM_SIGNAL_MSI, &msi);

	if (ret < 0) {
		int e = errno;

		log_dbg(LOG_CAT_IRQ, "%s: KVM_SIGNAL_MSI addr %#llx data %#x: %s", avm->name,
			(unsigned long long)addr, data, strerror(e));
		return -e;
	}
	return 0;
}
