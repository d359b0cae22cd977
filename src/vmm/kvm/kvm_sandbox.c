// SPDX-License-Identifier: MIT
/*
 * The ioctls the KVM accelerator makes once the seccomp sandbox is on (vmm/accel.h struct
 * accel_sandbox, vmm/sandbox.c), by who makes them. Kernel Documentation/virt/kvm/api.rst
 * section 4 describes each. Keep these lists in step with the ioctl() calls in this folder:
 * a call missing here ends the VMM with the sandbox's report naming `ioctl`.
 */
#include "vmm/kvm/kvm_internal.h"

#include <linux/kvm.h>

/* vCPU threads only: the run loop (kvm_vcpu.c) and NMIs, injected on the vCPU's own thread. */
static const unsigned long kvm_sandbox_vcpu[] = {
	KVM_RUN,
	KVM_SET_SIGNAL_MASK, /* the first vcpu_run */
	KVM_NMI,
	0,
};

/*
 * Any thread: vcpu_get and vcpu_set (kvm_regs.c), a reset in place (the in-kernel PIC, IOAPIC,
 * PIT and local APICs, the MP state: kvm_lifecycle.c), kvmclock held across a pause, and the
 * dirty log (dirty_log: snapshots and migration read it).
 */
static const unsigned long kvm_sandbox_state[] = {
	KVM_GET_REGS,
	KVM_SET_REGS,
	KVM_GET_SREGS,
	KVM_SET_SREGS,
	KVM_GET_FPU,
	KVM_SET_FPU,
	KVM_GET_XSAVE,
	KVM_GET_XSAVE2,
	KVM_SET_XSAVE,
	KVM_GET_MSRS,
	KVM_SET_MSRS,
	KVM_GET_VCPU_EVENTS,
	KVM_SET_VCPU_EVENTS,
	KVM_GET_MP_STATE,
	KVM_SET_MP_STATE,
	KVM_GET_DEBUGREGS,
	KVM_SET_DEBUGREGS,
	KVM_GET_LAPIC,
	KVM_SET_LAPIC,
	KVM_GET_IRQCHIP,
	KVM_SET_IRQCHIP,
	KVM_GET_PIT2,
	KVM_SET_PIT2,
	KVM_GET_CLOCK,
	KVM_SET_CLOCK,
	KVM_GET_XCRS,
	KVM_SET_XCRS,
	KVM_GET_DIRTY_LOG,
	0,
};

/*
 * Device code on any thread: interrupt lines, MSIs, and the eventfd paths (kvm_irq.c), which
 * check their capability on the VM fd when the guest first enables them.
 */
static const unsigned long kvm_sandbox_device[] = {
	KVM_IRQ_LINE,
	KVM_SIGNAL_MSI,
	KVM_IOEVENTFD,
	KVM_IRQFD,
	KVM_SET_GSI_ROUTING,
	KVM_CHECK_EXTENSION,
	0,
};

/* Creating a VM and its vCPUs (kvm_vm.c, kvm_vcpu.c, kvm_cpuid.c, kvm_regs.c). */
static const unsigned long kvm_sandbox_build[] = {
	KVM_GET_API_VERSION,
	KVM_CHECK_EXTENSION,
	KVM_CREATE_VM,
	KVM_GET_VCPU_MMAP_SIZE,
	KVM_GET_SUPPORTED_CPUID,
	KVM_GET_MSR_INDEX_LIST,
	KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_IRQCHIP,
	KVM_CREATE_PIT2,
	KVM_SET_USER_MEMORY_REGION,
	KVM_CREATE_VCPU,
	KVM_SET_CPUID2,
	KVM_GET_TSC_KHZ, /* the VM's TSC rate (the backdoor's GETHZ, CPUID 4000_0010h) */
	0,
};

/*
 * Device RAM mapped while the VM runs (kvm_map_ram, for the display's framebuffer BAR: the
 * guest's BAR and command register writes map, move and unmap it, on a vCPU thread).
 */
static const unsigned long kvm_sandbox_ram[] = {
	KVM_SET_USER_MEMORY_REGION,
	0,
};

const struct accel_sandbox kvm_sandbox = {
	.vcpu_ioctls = kvm_sandbox_vcpu,
	.state_ioctls = kvm_sandbox_state,
	.device_ioctls = kvm_sandbox_device,
	.build_ioctls = kvm_sandbox_build,
	.ram_ioctls = kvm_sandbox_ram,
	.vcpu_exec_mappings = false,
};
