/* SPDX-License-Identifier: MIT */
/*
 * The accelerator seam (docs/architecture.md "The seams", docs/conventions.md
 * section 5).
 * Two tables, one in each direction: struct accel_io carries calls from an
 * accelerator into the machine (port and MMIO accesses, the INTA cycle);
 * struct accel_ops is what an accelerator (kvm, bt) implements.
 *
 * An accelerator never returns a port or MMIO exit: it calls io->pio or
 * io->mmio (KVM from its exit handling, BT from the middle of an
 * instruction) and vcpu_run returns only lifecycle stops.
 *
 * This header and cpu_state.h are the only vmm headers src/bt-fallback
 * includes, so it must not name struct vm or struct vm_spec.
 */
#ifndef VMM_ACCEL_H
#define VMM_ACCEL_H

#include "vmm/base/chips_state.h"
#include "vmm/base/compiler.h"
#include "vmm/base/cpu_model.h"
#include "vmm/base/types.h"
#include "vmm/cpu_state.h"

struct err;
struct accel_vm;
struct accel_vcpu;
struct state_buf;
struct state_set;

/*
 * Hypercall interfaces (docs/hypercall.md). The VMware backdoor: a guest "IN EAX, DX" on
 * ACCEL_BACKDOOR_PORT (low bandwidth) or a "REP INSB/OUTSB" on ACCEL_BACKDOOR_HB_PORT (high
 * bandwidth) with the magic in EAX, allowed at any privilege level as on VMware when the VM has
 * the backdoor (accel_config.vmware_backdoor). The accelerator hands the whole instruction to
 * accel_io.backdoor with the registers; what the callee changes in them is written back.
 */
#define ACCEL_BACKDOOR_PORT    0x5658
#define ACCEL_BACKDOOR_HB_PORT 0x5659
#define ACCEL_BACKDOOR_MAGIC   0x564d5868u /* "VMXh" */
#define ACCEL_BACKDOOR_HB_MAX  65536u	   /* bytes one high-bandwidth transfer may move */

struct accel_backdoor {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	/*
	 * High bandwidth only (hb true): the transfer's bytes. out (REP OUTSB, guest to host):
	 * the engine read hb_len = RCX bytes from the guest buffer into hb_buf. in (REP INSB): the
	 * callee writes up to hb_len = RCX bytes into hb_buf and sets hb_len to how many it wrote;
	 * the engine copies them to the guest buffer. hb_buf is NULL (and hb_len 0) when RCX is
	 * above ACCEL_BACKDOOR_HB_MAX: the callee then fails the transfer.
	 */
	bool hb, hb_out;
	u8 *hb_buf;
	u32 hb_len;
};

/* Calls from an accelerator into the machine. Given at vCPU creation; called on the vCPU thread. */
struct accel_io {
	void *vm;
	void (*pio)(void *vm, u16 port, unsigned size, bool is_write, void *data);
	void (*mmio)(void *vm, u64 gpa, unsigned size, bool is_write, void *data);
	/* INTA cycle for a userspace irqchip: the vector to deliver, or -1 if none. */
	int (*intr_ack)(void *vm, unsigned cpu);
	/* Virtual time for engines that run until the next deadline (BT); may be NULL. */
	u64 (*next_deadline_ns)(void *vm);
	/*
	 * Machine MSRs of a userspace irqchip (IA32_APIC_BASE, x2APIC 0x800-0x8ff, TSC deadline):
	 * 0 handled, -ENOENT not the machine's (the CPU model decides), other negative: #GP.
	 * May be NULL.
	 */
	int (*msr)(void *vm, u32 index, bool is_write, u64 *val);
	/* Guest virtual time in ns, the clock the machine's timers count (TSC base); may be NULL. */
	u64 (*clock_ns)(void *vm);
	/*
	 * A VMware backdoor call (struct accel_backdoor; only with accel_config.vmware_backdoor).
	 * May be NULL: the access then goes to pio as any other.
	 */
	void (*backdoor)(void *vm, struct accel_backdoor *regs);
};

enum vcpu_stop {
	VCPU_STOP_KICKED,   /* a request is waiting: pause, save, quit */
	VCPU_STOP_HALTED,   /* HLT and nothing pending */
	VCPU_STOP_SHUTDOWN, /* triple fault */
	VCPU_STOP_RESET,    /* the guest asked for a reset */
	VCPU_STOP_FAILED,   /* the accelerator could not continue; it has logged why */
};

const char *vcpu_stop_name(enum vcpu_stop why);

/* What an accelerator needs to know of the VM it creates. */
struct accel_config {
	unsigned nr_vcpus;
	u64 ram_bytes;
	const char *name; /* for messages */
	/*
	 * The CPU the guest sees (spec "cpu", resolved and checked by cpu_model_check); NULL: the
	 * accelerator's own (KVM: the host CPU through its CPUID policy; BT: CPU_MODEL_DEFAULT).
	 */
	const struct cpu_model *cpu;
	/* The BT engine's tiers (spec "bt"); KVM ignores them. */
	bool bt_jit;		   /* compile hot blocks (else interpret everything) */
	unsigned bt_jit_threshold; /* runs before a block is compiled */
	u64 bt_code_cache_bytes;   /* per vCPU */
	/* Hypercall interfaces (docs/hypercall.md). */
	bool vmware_backdoor; /* backdoor ports to accel_io.backdoor, at any CPL */
	/*
	 * CPUID 4000_0000h says "VMwareVMware" (max leaf 4000_0010h) instead of the accelerator's
	 * own signature, and 4000_0010h gives the TSC and APIC bus frequencies (EAX, EBX, kHz).
	 */
	bool vmware_cpuid;
	u32 apic_bus_khz; /* the local APIC timer's input clock, for 4000_0010h EBX */
};

/* One named counter of a vCPU (vm.counters): fn(opaque, "instructions", 12345). */
typedef void (*accel_counter_fn)(void *opaque, const char *name, u64 value);

/* Flags for map_ram. */
#define ACCEL_MEM_READONLY  (1u << 0)
#define ACCEL_MEM_LOG_DIRTY (1u << 1)

/*
 * What an accelerator's threads ask of the host kernel once the seccomp sandbox is on
 * (vmm/sandbox.h, docs/sandbox.md). The request lists are 0-terminated ioctl numbers, NULL
 * for none; only the accelerator knows them (only src/vmm/kvm includes <linux/kvm.h>).
 */
struct accel_sandbox {
	const unsigned long *vcpu_ioctls;   /* on vCPU threads only: run, signal mask, NMI */
	const unsigned long *state_ioctls;  /* on any thread: vCPU registers and the accelerator's
					     * own devices, read and written (reset in place,
					     * pause, snapshots) */
	const unsigned long *device_ioctls; /* on any thread running device code: interrupt
					     * lines, MSIs, ioeventfds, irqfds */
	const unsigned long *build_ioctls;  /* creating a VM, its memory and vCPUs: needed after
					     * lockdown only where a VM is created again (the API's
					     * vm.delete then vm.create) */
	const unsigned long *ram_ioctls;    /* on any thread running device code of a VM with
					     * device RAM (map_ram: a framebuffer BAR the guest
					     * maps, moves and unmaps) */
	/*
	 * vCPU threads may mmap or mprotect memory with PROT_EXEC after lockdown (a JIT that
	 * flips its code buffer between writable and executable). A code buffer set up before
	 * lockdown as two views of one memfd (RW and RX) needs none of this.
	 */
	bool vcpu_exec_mappings;
	/*
	 * Creating a vCPU after lockdown (a VM built again) maps executable memory on the main
	 * thread: memfd_create, then mmap of the memfd PROT_READ|PROT_EXEC (the BT JIT's dual-mapped
	 * code buffer). Never a mapping that is writable and executable at once.
	 */
	bool build_exec_mappings;
};

/* How a vCPU starts (set by the boot loader through vcpu_set). */
struct accel_ops {
	const char *name; /* "kvm" or "bt" */
	bool has_irqchip; /* interrupt lines end in the kernel (KVM) */
	/* Usable on this host? 0, or a negative errno with the reason in why_not. */
	int (*probe)(struct err *why_not);
	int (*vm_create)(const struct accel_config *cfg, struct accel_vm **out, struct err *err);
	void (*vm_destroy)(struct accel_vm *avm);
	int (*map_ram)(struct accel_vm *avm, u64 gpa, u64 len, void *hva, unsigned flags);
	int (*dirty_log)(struct accel_vm *avm, u64 gpa, u64 len, unsigned long *bitmap);
	/*
	 * After dirty_log calls: return once no guest store from before them can still land
	 * unlogged (BT: every vCPU passes a block boundary). Main thread, not under the device
	 * lock (live migration, before it copies the pages it read). NULL: the log is exact (KVM).
	 */
	void (*dirty_sync)(struct accel_vm *avm);
	int (*irq_line)(struct accel_vm *avm, unsigned gsi, int level); /* has_irqchip only */
	int (*msi)(struct accel_vm *avm, u64 addr, u32 data);		/* has_irqchip only */
	/*
	 * A device wrote guest RAM [gpa, gpa+len) (DMA), any thread: drop what was derived from
	 * it before the guest is told (BT: translated code). NULL: nothing to do (KVM).
	 */
	void (*mem_written)(struct accel_vm *avm, u64 gpa, u64 len);
	int (*vcpu_create)(struct accel_vm *avm, unsigned index, const struct accel_io *io,
			   struct accel_vcpu **out, struct err *err);
	void (*vcpu_destroy)(struct accel_vcpu *v);
	int (*vcpu_run)(struct accel_vcpu *v, enum vcpu_stop *why); /* vCPU thread */
	void (*vcpu_kick)(struct accel_vcpu *v);		    /* any thread */
	void (*vcpu_set_intr)(struct accel_vcpu *v, bool level);    /* INTR pin, !has_irqchip */
	/* An NMI for the vCPU: BT from any thread; KVM on the vCPU's own thread (vcpu.c). */
	void (*vcpu_nmi)(struct accel_vcpu *v);
	int (*vcpu_get)(struct accel_vcpu *v, struct cpu_state *st); /* paused vCPU */
	int (*vcpu_set)(struct accel_vcpu *v, const struct cpu_state *st);
	/*
	 * Lifecycle (docs/management.md), each optional (NULL: nothing to do).
	 * vcpu_counters: the vCPU's statistics for vm.counters (BT: instructions retired,
	 * blocks translated, cache and TLB figures; KVM: exits by reason). Any thread; the
	 * values may be a moment old.
	 * vcpu_reset: a paused vCPU back to its power-on state beyond struct cpu_state, for a
	 * board reset: KVM's in-kernel local APIC and MP state (bsp: runnable, else waiting for
	 * SIPI). BT has nothing there (the VMM plays INIT/SIPI itself, vcpu_hooks.startup).
	 * vm_reset: the devices the accelerator emulates itself (KVM's in-kernel PIC, IOAPIC and
	 * PIT) back to their power-on state; every vCPU paused.
	 * clock_pause: the VM pauses (true) or resumes (false): clocks the accelerator keeps for
	 * the guest (KVM's kvmclock) stand still in between. Main thread, every vCPU paused.
	 */
	void (*vcpu_counters)(struct accel_vcpu *v, accel_counter_fn fn, void *opaque);
	int (*vcpu_reset)(struct accel_vcpu *v, bool bsp);
	int (*vm_reset)(struct accel_vm *avm);
	void (*clock_pause)(struct accel_vm *avm, bool paused);
	/*
	 * State the accelerator keeps for the machine beyond struct cpu_state (KVM: the
	 * in-kernel PIC pair, I/O APIC and PIT, kvmclock, each vCPU's local APIC, TSC deadline,
	 * paravirtual MSRs and XSAVE area), as records of the VM's state set (vmm/state.h),
	 * checked as hostile input like every device's. Main thread, every vCPU paused.
	 * state_save appends its records (*count grows by their number); state_check finds its
	 * records in set and checks them (marking them used) without writing anything;
	 * state_load writes them, after the vCPUs' cpu_state and before the devices. NULL: the
	 * accelerator keeps no such state (BT: the board's devices are the VMM's).
	 */
	int (*state_save)(struct accel_vm *avm, struct state_buf *out, u32 *count, struct err *err);
	int (*state_check)(struct accel_vm *avm, struct state_set *set, struct err *err);
	int (*state_load)(struct accel_vm *avm, struct state_set *set, struct err *err);
	/*
	 * The in-kernel interrupt controllers and timers in the engine-neutral form
	 * (vmm/base/chips_state.h), for a restore under the other engine: chips_save reads
	 * them (with the paravirtual MSRs the guest enabled), chips_load writes them in place
	 * of state_load's records (after the vCPUs' cpu_state, before the devices). Main
	 * thread, every vCPU paused. NULL: the board's own devices are the chips (bt).
	 */
	int (*chips_save)(struct accel_vm *avm, struct chips_state *out, struct err *err);
	int (*chips_load)(struct accel_vm *avm, const struct chips_state *in, struct err *err);
	/*
	 * Optional eventfd fast paths (NULL when the accelerator has none, e.g. bt: devices
	 * then keep using the bus handlers and msi). Any thread; 0 or a negative errno.
	 * ioeventfd: a guest write of len bytes (0: of any length) at addr on the memory bus
	 * (I/O bus with is_pio) signals eventfd fd and no longer reaches the bus handler;
	 * assign false removes it again (same arguments).
	 * msi_irqfd: a write to eventfd fd delivers the MSI (addr, data), has_irqchip only.
	 * Calling it again for the same fd re-routes it to a new message; assign false
	 * removes the route (addr and data are then ignored).
	 * line_irqfd: a write to eventfd fd asserts the level-triggered gsi (has_irqchip
	 * only) until the guest ends the interrupt (EOI); then the accelerator lowers it and
	 * signals eventfd resamplefd, and the device writes fd again if its line is still
	 * high. assign false removes it.
	 */
	int (*ioeventfd)(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, int fd,
			 bool assign);
	/*
	 * ioeventfd_match: as ioeventfd for writes of len bytes (1, 2, 4 or 8) of exactly the
	 * value data; other writes there still reach the bus handler. Optional.
	 */
	int (*ioeventfd_match)(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, u64 data,
			       int fd, bool assign);
	int (*msi_irqfd)(struct accel_vm *avm, int fd, u64 addr, u32 data, bool assign);
	int (*line_irqfd)(struct accel_vm *avm, unsigned gsi, int fd, int resamplefd, bool assign);
	/* What the sandbox must allow this accelerator (NULL: nothing beyond the VMM's lists). */
	const struct accel_sandbox *sandbox;
	/*
	 * Hypercall interfaces (docs/hypercall.md). backdoor_hb: the accelerator hands a REP
	 * INSB/OUTSB on ACCEL_BACKDOOR_HB_PORT to accel_io.backdoor as one transfer (else such an
	 * access is port I/O as any other, and the backdoor must not offer high bandwidth).
	 * tsc_khz: the guest's TSC rate (0 unknown); optional.
	 */
	bool backdoor_hb;
	u32 (*tsc_khz)(struct accel_vm *avm);
	/* The guest CPU's physical address width (CPUID 8000_0008h EAX[7:0]): the bits an MTRR
	 * mask has (boot_cpu_mtrrs). */
	unsigned (*phys_addr_bits)(struct accel_vm *avm);
};

extern const struct accel_ops accel_kvm;
extern const struct accel_ops accel_bt;

#endif
