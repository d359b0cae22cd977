/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, VM level: host probe, VM creation with the in-kernel
 * irqchip (8259 PIC pair + IOAPIC + local APICs) and PIT, memory slots and
 * the dirty log. Kernel Documentation/virt/kvm/api.rst (API 12): 4.1
 * KVM_GET_API_VERSION, 4.2 KVM_CREATE_VM, 4.4 KVM_CHECK_EXTENSION, 4.7
 * KVM_GET_DIRTY_LOG, 4.24 KVM_CREATE_IRQCHIP, 4.35 KVM_SET_USER_MEMORY_REGION,
 * 4.40 KVM_SET_TSS_ADDR, 4.75 KVM_SET_IDENTITY_MAP_ADDR, 4.71 KVM_CREATE_PIT2.
 *
 * GSI routing (KVM_SET_GSI_ROUTING) is changed only to add MSI routes for
 * irqfds (kvm_irq.c), on top of the default routing KVM_CREATE_IRQCHIP
 * installs. Not done: split irqchip, coalesced MMIO, dirty rings.
 */
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/err.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_DEV_PATH "/dev/kvm"

struct kvm_cap_name {
	const char *name;
	long cap;
	bool required;
};

#define KVM_CAP_ENTRY(n, req)        \
	{                            \
#n, KVM_CAP_##n, req \
	}

/* Capabilities accel_kvm depends on (required) or reports (vmm host-info). */
static const struct kvm_cap_name kvm_caps[] = {
	KVM_CAP_ENTRY(IRQCHIP, true),
	KVM_CAP_ENTRY(USER_MEMORY, true),
	KVM_CAP_ENTRY(SET_TSS_ADDR, true),
	KVM_CAP_ENTRY(EXT_CPUID, true),
	KVM_CAP_ENTRY(PIT2, true),
	KVM_CAP_ENTRY(IMMEDIATE_EXIT, true),
	KVM_CAP_ENTRY(IRQFD, true),
	KVM_CAP_ENTRY(SIGNAL_MSI, true),
	KVM_CAP_ENTRY(MP_STATE, true),
	KVM_CAP_ENTRY(VCPU_EVENTS, true),
	KVM_CAP_ENTRY(DEBUGREGS, true),
	KVM_CAP_ENTRY(SET_IDENTITY_MAP_ADDR, false),
	KVM_CAP_ENTRY(IOEVENTFD, false),
	KVM_CAP_ENTRY(IRQ_ROUTING, false),
	KVM_CAP_ENTRY(SPLIT_IRQCHIP, false),
	KVM_CAP_ENTRY(READONLY_MEM, false),
	KVM_CAP_ENTRY(TSC_DEADLINE_TIMER, false),
	KVM_CAP_ENTRY(XSAVE, false),
	KVM_CAP_ENTRY(XCRS, false),
	KVM_CAP_ENTRY(X2APIC_API, false),
	KVM_CAP_ENTRY(X86_USER_SPACE_MSR, false),
	KVM_CAP_ENTRY(X86_MSR_FILTER, false),
	KVM_CAP_ENTRY(ADJUST_CLOCK, false),
	KVM_CAP_ENTRY(KVMCLOCK_CTRL, false),
	KVM_CAP_ENTRY(TSC_CONTROL, false),
	KVM_CAP_ENTRY(COALESCED_MMIO, false),
	KVM_CAP_ENTRY(NR_VCPUS, false),
	KVM_CAP_ENTRY(MAX_VCPUS, false),
	KVM_CAP_ENTRY(NR_MEMSLOTS, false),
	KVM_CAP_ENTRY(SYNC_MMU, false),
	KVM_CAP_ENTRY(HLT, false),
	KVM_CAP_ENTRY(EXIT_HYPERCALL, false),
	KVM_CAP_ENTRY(X86_DISABLE_EXITS, false),
};

int kvm_ioctl_check(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

static int kvm_open_dev(int *out, struct err *err)
{
	int fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);
	int e = errno;

	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	switch (e) {
	case ENOENT:
		return err_set(err, -e, "%s does not exist: the kvm module is not loaded",
			       KVM_DEV_PATH);
	case EACCES:
	case EPERM:
		return err_set(err, -e,
			       "cannot open %s: permission denied (add the user to the kvm group)",
			       KVM_DEV_PATH);
	default:
		return err_set(err, -e, "cannot open %s: %s", KVM_DEV_PATH, strerror(e));
	}
}

/* Open /dev/kvm and check the API version and every required capability. */
static int kvm_open_checked(int *out, struct err *err)
{
	int fd, ret, api;

	ret = kvm_open_dev(&fd, err);
	if (ret < 0)
		return ret;
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		ret = err_set(err, -ENOTSUP, "%s: KVM API version %d, need %d", KVM_DEV_PATH, api,
			      KVM_API_VERSION);
		goto err_close;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_caps); i++) {
		if (kvm_caps[i].required && kvm_ioctl_check(fd, kvm_caps[i].cap) <= 0) {
			ret = err_set(err, -ENOTSUP, "%s: required capability KVM_CAP_%s missing",
				      KVM_DEV_PATH, kvm_caps[i].name);
			goto err_close;
		}
	}
	*out = fd;
	return 0;

err_close:
	close(fd);
	return ret;
}

static int kvm_probe(struct err *why_not)
{
	int fd, ret;

	ret = kvm_open_checked(&fd, why_not);
	if (ret < 0)
		return ret;
	close(fd);
	return 0;
}

int kvm_host_query(struct kvm_host_caps *out, struct err *err)
{
	int fd, ret;

	memset(out, 0, sizeof(*out));
	ret = kvm_open_dev(&fd, err);
	if (ret < 0)
		return ret;
	out->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	for (size_t i = 0; i < ARRAY_SIZE(kvm_caps) && i < KVM_HOST_MAX_CAPS; i++) {
		out->caps[i].name = kvm_caps[i].name;
		out->caps[i].value = kvm_ioctl_check(fd, kvm_caps[i].cap);
		out->nr_caps++;
	}
	close(fd);
	return 0;
}

bool kvm_msr_supported(const struct accel_vm *avm, u32 index)
{
	for (unsigned i = 0; i < avm->nr_msr_index; i++)
		if (avm->msr_index[i] == index)
			return true;
	return false;
}

/* KVM_GET_SUPPORTED_CPUID: grow the buffer until it fits (api.rst 4.46, E2BIG). */
static int kvm_vm_get_cpuid(struct accel_vm *avm, struct err *err)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return err_set(err, -ENOMEM, "%s: out of memory", avm->name);
		c->nent = n;
		if (ioctl(avm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			avm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return err_set(err, -errno, "%s: KVM_GET_SUPPORTED_CPUID: %s", avm->name,
				       strerror(errno));
	}
	return err_set(err, -E2BIG, "%s: KVM_GET_SUPPORTED_CPUID: too many entries", avm->name);
}

static int kvm_vm_get_msr_list(struct accel_vm *avm, struct err *err)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *list;

	if (ioctl(avm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_set(err, -errno, "%s: KVM_GET_MSR_INDEX_LIST: %s", avm->name,
			       strerror(errno));
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(u32));
	if (!list)
		return err_set(err, -ENOMEM, "%s: out of memory", avm->name);
	list->nmsrs = probe.nmsrs;
	if (ioctl(avm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		int e = errno;

		free(list);
		return err_set(err, -e, "%s: KVM_GET_MSR_INDEX_LIST: %s", avm->name, strerror(e));
	}
	avm->msr_index = malloc(list->nmsrs * sizeof(u32) + 1);
	if (!avm->msr_index) {
		free(list);
		return err_set(err, -ENOMEM, "%s: out of memory", avm->name);
	}
	memcpy(avm->msr_index, list->indices, list->nmsrs * sizeof(u32));
	avm->nr_msr_index = list->nmsrs;
	free(list);
	return 0;
}

/* The in-kernel PC platform: TSS and identity map for VMX real mode, irqchip, PIT. */
static int kvm_vm_setup_platform(struct accel_vm *avm, struct err *err)
{
	struct kvm_pit_config pit = { .flags = 0 }; /* in-kernel port 0x61 speaker gate */
	u64 ident = KVM_IDENTITY_MAP_GPA;

	if (ioctl(avm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
		return err_set(err, -errno, "%s: KVM_SET_TSS_ADDR: %s", avm->name, strerror(errno));
	if (kvm_ioctl_check(avm->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(avm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return err_set(err, -errno, "%s: KVM_SET_IDENTITY_MAP_ADDR: %s", avm->name,
			       strerror(errno));
	if (ioctl(avm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_set(err, -errno, "%s: KVM_CREATE_IRQCHIP: %s", avm->name,
			       strerror(errno));
	if (ioctl(avm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_set(err, -errno, "%s: KVM_CREATE_PIT2: %s", avm->name, strerror(errno));
	if (kvm_capture_vm_reset_state(avm) < 0)
		log_warn("%s: cannot read the in-kernel irqchip and PIT state: %s; vm.reboot will "
			 "leave them as they are",
			 avm->name, strerror(errno));
	return 0;
}

static int kvm_vm_create(const struct accel_config *cfg, struct accel_vm **out, struct err *err)
{
	struct accel_vm *avm;
	int ret, max_vcpus, sz;

	/* Named CPU models are the BT engine's: under KVM the guest runs on the host CPU. */
	if (cfg->cpu)
		return err_set(
			err, -EINVAL,
			"cpu: the CPU model (%s) is built by the BT engine; under KVM the guest "
			"sees the host CPU: remove \"cpu\" or use accel \"bt\"",
			cfg->cpu->name);
	avm = calloc(1, sizeof(*avm));
	if (!avm)
		return err_set(err, -ENOMEM, "kvm: out of memory");
	avm->vm_fd = -1;
	snprintf(avm->name, sizeof(avm->name), "%s", cfg->name ? cfg->name : "vm");
	avm->nr_vcpus = cfg->nr_vcpus;
	avm->vcpus = calloc(cfg->nr_vcpus ? cfg->nr_vcpus : 1, sizeof(*avm->vcpus));
	if (!avm->vcpus) {
		free(avm);
		return err_set(err, -ENOMEM, "kvm: out of memory");
	}
	pthread_mutex_init(&avm->slot_lock, NULL);
	kvm_irq_init(avm);
	ret = kvm_open_checked(&avm->kvm_fd, err);
	if (ret < 0)
		goto err_free;
	max_vcpus = kvm_ioctl_check(avm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = kvm_ioctl_check(avm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (cfg->nr_vcpus == 0 || (int)cfg->nr_vcpus > max_vcpus) {
		ret = err_set(err, -EINVAL, "%s: %u vCPUs requested, KVM allows 1..%d", avm->name,
			      cfg->nr_vcpus, max_vcpus);
		goto err_close_kvm;
	}
	sz = ioctl(avm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		ret = err_set(err, -EIO, "%s: KVM_GET_VCPU_MMAP_SIZE returned %d", avm->name, sz);
		goto err_close_kvm;
	}
	avm->run_size = (size_t)sz;
	avm->tsc_deadline = kvm_ioctl_check(avm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	avm->readonly_mem = kvm_ioctl_check(avm->kvm_fd, KVM_CAP_READONLY_MEM) > 0;
	if (kvm_ioctl_check(avm->kvm_fd, KVM_CAP_XSAVE) > 0)
		avm->xsave_bytes = MAX(sizeof(struct kvm_xsave),
				       (size_t)kvm_ioctl_check(avm->kvm_fd, KVM_CAP_XSAVE2));
	ret = kvm_vm_get_cpuid(avm, err);
	if (ret < 0)
		goto err_close_kvm;
	ret = kvm_vm_get_msr_list(avm, err);
	if (ret < 0)
		goto err_free_cpuid;
	avm->vm_fd = ioctl(avm->kvm_fd, KVM_CREATE_VM, 0);
	if (avm->vm_fd < 0) {
		ret = err_set(err, -errno, "%s: KVM_CREATE_VM: %s", avm->name, strerror(errno));
		goto err_free_msrs;
	}
	ret = kvm_vm_setup_platform(avm, err);
	if (ret < 0)
		goto err_close_vm;
	avm->vmware_backdoor = cfg->vmware_backdoor;
	avm->vmware_cpuid = cfg->vmware_cpuid;
	avm->apic_bus_khz = cfg->apic_bus_khz;
	sz = ioctl(avm->vm_fd, KVM_GET_TSC_KHZ, 0); /* a VM ioctl since Linux 6.0 */
	avm->tsc_khz = sz > 0 ? (u32)sz : 0;
	*out = avm;
	return 0;

err_close_vm:
	close(avm->vm_fd);
err_free_msrs:
	free(avm->msr_index);
err_free_cpuid:
	free(avm->cpuid);
err_close_kvm:
	close(avm->kvm_fd);
err_free:
	pthread_mutex_destroy(&avm->slot_lock);
	kvm_irq_fini(avm);
	free(avm->vcpus);
	free(avm);
	return ret;
}

static u32 kvm_tsc_khz(struct accel_vm *avm)
{
	return avm->tsc_khz;
}

/* The width KVM reports (and the guest's CPUID passes on, kvm_cpuid.c); 36 without the leaf
 * (SDM vol. 3A 12.11.2.3: MAXPHYADDR is 36 when 8000_0008h is not supported). */
static unsigned kvm_phys_addr_bits(struct accel_vm *avm)
{
	for (u32 i = 0; avm->cpuid && i < avm->cpuid->nent; i++)
		if (avm->cpuid->entries[i].function == 0x80000008)
			return avm->cpuid->entries[i].eax & 0xff;
	return 36;
}

static void kvm_vm_destroy(struct accel_vm *avm)
{
	if (!avm)
		return;
	close(avm->vm_fd);
	close(avm->kvm_fd);
	free(avm->msr_index);
	free(avm->cpuid);
	pthread_mutex_destroy(&avm->slot_lock);
	kvm_irq_fini(avm);
	free(avm->vcpus);
	free(avm);
}

static int kvm_slot_apply(struct accel_vm *avm, unsigned id, const struct kvm_slot *s)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.flags = s->flags,
		.guest_phys_addr = s->gpa,
		.memory_size = s->used ? s->len : 0,
		.userspace_addr = (u64)(uintptr_t)s->hva,
	};

	if (ioctl(avm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int e = errno;

		log_err("%s: KVM_SET_USER_MEMORY_REGION slot %u gpa %#llx len %#llx: %s", avm->name,
			id, (unsigned long long)s->gpa, (unsigned long long)s->len, strerror(e));
		return -e;
	}
	return 0;
}

/*
 * Map [gpa, gpa+len) to hva. A mapping at the gpa of an existing slot replaces
 * it (same size: flags change, e.g. dirty logging on or off); len 0 removes it.
 */
static int kvm_map_ram(struct accel_vm *avm, u64 gpa, u64 len, void *hva, unsigned flags)
{
	struct kvm_slot s = { .used = true, .gpa = gpa, .len = len, .hva = hva };
	int free_id = -1, ret = 0;

	if ((gpa | len | (uintptr_t)hva) & 0xfff)
		return -EINVAL;
	if (flags & ACCEL_MEM_READONLY) {
		if (!avm->readonly_mem)
			return -ENOTSUP;
		s.flags |= KVM_MEM_READONLY;
	}
	if (flags & ACCEL_MEM_LOG_DIRTY)
		s.flags |= KVM_MEM_LOG_DIRTY_PAGES;
	pthread_mutex_lock(&avm->slot_lock);
	for (unsigned i = 0; i < KVM_MAX_SLOTS; i++) {
		struct kvm_slot *cur = &avm->slots[i];

		if (cur->used && cur->gpa == gpa) {
			if (len == 0 || cur->len != len || cur->hva != hva ||
			    ((cur->flags ^ s.flags) & KVM_MEM_READONLY)) {
				/* KVM cannot resize, move or re-protect a slot: delete first. */
				cur->used = false;
				ret = kvm_slot_apply(avm, i, cur);
				if (ret < 0 || len == 0)
					goto out_unlock;
			}
			free_id = (int)i;
			break;
		}
		if (!cur->used && free_id < 0)
			free_id = (int)i;
	}
	if (len == 0) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (free_id < 0) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = kvm_slot_apply(avm, (unsigned)free_id, &s);
	if (ret == 0)
		avm->slots[free_id] = s;
	else
		avm->slots[free_id].used = false;
out_unlock:
	pthread_mutex_unlock(&avm->slot_lock);
	return ret;
}

/*
 * Dirty pages of [gpa, gpa+len), which must lie inside one slot mapped with
 * ACCEL_MEM_LOG_DIRTY: bit i of bitmap = page gpa + i * 4 KiB. Reading clears
 * KVM's log for the whole slot (api.rst 4.7), so callers ask per slot.
 */
static int kvm_dirty_log(struct accel_vm *avm, u64 gpa, u64 len, unsigned long *bitmap)
{
	const unsigned bpl = 8 * sizeof(unsigned long);
	struct kvm_dirty_log log = { 0 };
	unsigned long *slot_map;
	u64 first, pages;
	int ret = -ENOENT;

	pthread_mutex_lock(&avm->slot_lock);
	for (unsigned i = 0; i < KVM_MAX_SLOTS; i++) {
		struct kvm_slot *s = &avm->slots[i];

		if (!s->used || gpa < s->gpa || gpa + len > s->gpa + s->len)
			continue;
		if (!(s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			ret = -EINVAL;
			break;
		}
		slot_map = calloc((s->len / 4096 + bpl - 1) / bpl, sizeof(unsigned long));
		if (!slot_map) {
			ret = -ENOMEM;
			break;
		}
		log.slot = i;
		log.dirty_bitmap = slot_map;
		ret = ioctl(avm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
		first = (gpa - s->gpa) / 4096;
		pages = (len + 4095) / 4096;
		memset(bitmap, 0, (pages + bpl - 1) / bpl * sizeof(unsigned long));
		for (u64 p = 0; ret == 0 && p < pages; p++)
			if (slot_map[(first + p) / bpl] & (1ul << ((first + p) % bpl)))
				bitmap[p / bpl] |= 1ul << (p % bpl);
		free(slot_map);
		break;
	}
	pthread_mutex_unlock(&avm->slot_lock);
	return ret;
}

const struct accel_ops accel_kvm = {
	.name = "kvm",
	.has_irqchip = true,
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.map_ram = kvm_map_ram,
	.dirty_log = kvm_dirty_log,
	.irq_line = kvm_irq_line,
	.msi = kvm_irq_msi,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.vcpu_set_intr = NULL,	  /* has_irqchip: the INTR pin is inside KVM */
	.vcpu_nmi = kvm_vcpu_nmi, /* called on the vCPU's own thread (vcpu.c) */
	.vcpu_get = kvm_regs_get,
	.vcpu_set = kvm_regs_set,
	.vcpu_counters = kvm_vcpu_counters,
	.vcpu_reset = kvm_vcpu_reset,
	.vm_reset = kvm_vm_reset,
	.clock_pause = kvm_clock_pause,
	.state_save = kvm_state_save,
	.state_check = kvm_state_check,
	.state_load = kvm_state_load,
	.chips_save = kvm_chips_save,
	.chips_load = kvm_chips_load,
	.ioeventfd = kvm_ioeventfd,
	.ioeventfd_match = kvm_ioeventfd_match,
	.msi_irqfd = kvm_msi_irqfd,
	.line_irqfd = kvm_line_irqfd,
	.sandbox = &kvm_sandbox,
	.backdoor_hb = false, /* REP INSB/OUTSB on the HB port is KVM's own string emulation */
	.tsc_khz = kvm_tsc_khz,
	.phys_addr_bits = kvm_phys_addr_bits,
};
