/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the KVM accelerator (src/vmm/kvm only; never included
 * from another room). The accelerator drives /dev/kvm with raw ioctls as
 * documented in the kernel's Documentation/virt/kvm/api.rst (API version 12):
 * section 4 (ioctls), 5 (the kvm_run structure) and 8 (capabilities).
 *
 * Files: kvm_vm.c (probe, VM, memory slots, dirty log), kvm_vcpu.c (vCPU
 * creation, the KVM_RUN loop, kicks), kvm_cpuid.c (the CPUID model),
 * kvm_regs.c (struct cpu_state <-> KVM register ioctls), kvm_irq.c
 * (KVM_IRQ_LINE, KVM_SIGNAL_MSI, ioeventfd, MSI irqfd and their GSI routes),
 * kvm_sandbox.c (the ioctls the seccomp sandbox allows).
 */
#ifndef VMM_KVM_KVM_INTERNAL_H
#define VMM_KVM_KVM_INTERNAL_H

#include "vmm/accel.h"
#include "vmm/base/types.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

/* Fixed addresses for the VMX real-mode helpers (api.rst 4.40 / 4.75): below the BIOS ROM. */
#define KVM_TSS_GPA	     0xfffbd000ull /* three pages */
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ull /* one page */

#define KVM_MAX_SLOTS 32

struct kvm_slot {
	bool used;
	u32 flags; /* KVM_MEM_* */
	u64 gpa, len;
	void *hva;
};

/* An irqfd (api.rst 4.75 KVM_IRQFD) and the GSI of its MSI route. */
struct kvm_irqfd_route {
	int fd;
	u32 gsi;
};

struct accel_vm {
	int kvm_fd, vm_fd;
	char name[64];
	unsigned nr_vcpus;
	size_t run_size;	  /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, unfiltered */
	bool tsc_deadline;	  /* KVM_CAP_TSC_DEADLINE_TIMER */
	bool readonly_mem;	  /* KVM_CAP_READONLY_MEM */
	size_t xsave_bytes;	  /* KVM_GET/SET_XSAVE buffer size; 0: KVM_GET/SET_FPU */
	u32 *msr_index;		  /* KVM_GET_MSR_INDEX_LIST */
	unsigned nr_msr_index;
	pthread_mutex_t slot_lock; /* protects slots[] */
	struct kvm_slot slots[KVM_MAX_SLOTS];
	/* kvm_irq.c: the GSI routing table (default irqchip routes + MSI routes of irqfds). */
	pthread_mutex_t irq_lock; /* protects the fields below */
	struct kvm_irq_routing_entry *routes;
	unsigned nr_routes, max_routes;
	struct kvm_irqfd_route *irqfds; /* one per irqfd, by eventfd */
	unsigned nr_irqfds;
	/* kvm_lifecycle.c: the in-kernel devices as created (board reset), kvmclock while paused. */
	struct kvm_irqchip reset_chips[3]; /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 reset_pit;
	bool have_reset_state;
	struct kvm_clock_data paused_clock;
	bool clock_saved;
	/* kvm_state.c: the vCPUs by index (set by kvm_vcpu_create, cleared by its destroy). */
	struct accel_vcpu **vcpus;
	/* Hypercall interfaces (docs/hypercall.md): accel_config's switches, the TSC rate. */
	bool vmware_backdoor, vmware_cpuid;
	u32 apic_bus_khz;
	u32 tsc_khz; /* KVM_GET_TSC_KHZ on the VM (0: unknown) */
};

#define KVM_EXIT_COUNTED 64 /* exit reasons counted one by one (higher ones share the last) */

struct accel_vcpu {
	struct accel_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	const struct accel_io *io;
	char name[16]; /* "vcpu0" */
	pthread_t thread;
	atomic_bool thread_known;
	struct kvm_lapic_state *reset_lapic; /* as created (kvm_lifecycle.c) */
	u64 exits[KVM_EXIT_COUNTED];	     /* by exit reason; vCPU thread writes, relaxed */
};

/* kvm_vm.c */
int kvm_ioctl_check(int fd, long cap); /* KVM_CHECK_EXTENSION: value, 0 if absent */
bool kvm_msr_supported(const struct accel_vm *avm, u32 index);
/* kvm_regs.c: one MSR of a vCPU: 0, or -EIO (read) / -EINVAL (KVM refused the write). */
int kvm_msr_get1(struct accel_vcpu *v, u32 index, u64 *val);
int kvm_msr_set1(struct accel_vcpu *v, u32 index, u64 val);

/*
 * kvm_cpuid.c: the guest's CPUID table for vCPU index of nr_vcpus, filtered from KVM's
 * supported table (policy in kvm_cpuid.c). Returns a malloc'd table or NULL (no memory).
 */
struct kvm_cpuid2 *kvm_cpuid_build(const struct kvm_cpuid2 *supported, unsigned index,
				   unsigned nr_vcpus, bool tsc_deadline);
/*
 * The VMware identity (accel_config.vmware_cpuid): 4000_0000h says "VMwareVMware" with max leaf
 * 4000_0010h, KVM's feature leaf 4000_0001h is emptied, 4000_0010h gives the TSC and APIC bus
 * rates in kHz. c is reallocated (NULL: no memory, c freed).
 */
struct kvm_cpuid2 *kvm_cpuid_vmware(struct kvm_cpuid2 *c, u32 tsc_khz, u32 bus_khz);
/* Build and install it (KVM_SET_CPUID2). 0 or a negative errno. */
int kvm_cpuid_setup(struct accel_vcpu *v);

/* kvm_regs.c */
int kvm_regs_get(struct accel_vcpu *v, struct cpu_state *st);
int kvm_regs_set(struct accel_vcpu *v, const struct cpu_state *st);
int kvm_regs_init(struct accel_vcpu *v); /* reset-time MSRs and FPU defaults */

/* kvm_vcpu.c */
int kvm_vcpu_create(struct accel_vm *avm, unsigned index, const struct accel_io *io,
		    struct accel_vcpu **out, struct err *err);
void kvm_vcpu_destroy(struct accel_vcpu *v);
int kvm_vcpu_run(struct accel_vcpu *v, enum vcpu_stop *why);
void kvm_vcpu_kick(struct accel_vcpu *v);
const char *kvm_exit_name(u32 reason);

/* kvm_lifecycle.c: accel_ops vm_reset, vcpu_reset, clock_pause, vcpu_counters, vcpu_nmi */
int kvm_capture_vm_reset_state(struct accel_vm *avm);	/* after the irqchip and PIT exist */
int kvm_capture_vcpu_reset_state(struct accel_vcpu *v); /* at creation */
int kvm_vm_reset(struct accel_vm *avm);
int kvm_vcpu_reset(struct accel_vcpu *v, bool bsp);
void kvm_clock_pause(struct accel_vm *avm, bool paused);
void kvm_vcpu_counters(struct accel_vcpu *v, accel_counter_fn fn, void *opaque);
void kvm_vcpu_nmi(struct accel_vcpu *v);

/* kvm_state.c: accel_ops state_save, state_check, state_load (every vCPU paused) */
struct state_buf;
struct state_set;
struct state_desc;
int kvm_state_save(struct accel_vm *avm, struct state_buf *out, u32 *count, struct err *err);
int kvm_state_check(struct accel_vm *avm, struct state_set *set, struct err *err);
int kvm_state_load(struct accel_vm *avm, struct state_set *set, struct err *err);
extern const struct state_desc *const kvm_state_descs[]; /* NULL-terminated, for tests */
/* kvm_state.c: accel_ops chips_save, chips_load (every vCPU paused) */
int kvm_chips_save(struct accel_vm *avm, struct chips_state *out, struct err *err);
int kvm_chips_load(struct accel_vm *avm, const struct chips_state *in, struct err *err);
/*
 * The conversions they make, between the kernel's structures and the engine-neutral form
 * (no ioctl: for tests too). The _to_kernel ones write over what the kernel structures hold
 * (read from KVM first), leaving what the neutral form does not carry (the I/O APIC's base,
 * the ELCR masks, LVT CMCI, the version register) as this KVM has it.
 */
void kvm_chips_from_kernel(struct chips_state *x, const struct kvm_pic_state pic[2],
			   const struct kvm_ioapic_state *io, const struct kvm_pit_state2 *pit);
void kvm_chips_to_kernel(const struct chips_state *x, struct kvm_pic_state pic[2],
			 struct kvm_ioapic_state *io, struct kvm_pit_state2 *pit);
void kvm_lapic_from_kernel(struct chips_lapic *x, const struct kvm_lapic_state *k);
void kvm_lapic_to_kernel(struct kvm_lapic_state *k, const struct chips_lapic *x);

/* kvm_irq.c */
void kvm_irq_init(struct accel_vm *avm);
void kvm_irq_fini(struct accel_vm *avm);
int kvm_irq_line(struct accel_vm *avm, unsigned gsi, int level);
int kvm_irq_msi(struct accel_vm *avm, u64 addr, u32 data);
int kvm_ioeventfd(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, int fd, bool assign);
int kvm_ioeventfd_match(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, u64 data, int fd,
			bool assign);
int kvm_msi_irqfd(struct accel_vm *avm, int fd, u64 addr, u32 data, bool assign);
int kvm_line_irqfd(struct accel_vm *avm, unsigned gsi, int fd, int resamplefd, bool assign);

/* kvm_sandbox.c: the ioctls the seccomp sandbox must allow, by thread kind. */
extern const struct accel_sandbox kvm_sandbox;

#endif
