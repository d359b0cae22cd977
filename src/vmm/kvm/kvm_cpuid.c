/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, the guest CPUID model (api.rst 4.46 KVM_GET_SUPPORTED_CPUID,
 * 4.73 KVM_SET_CPUID2; leaves per Intel SDM vol. 2A "CPUID", AMD APM vol. 3
 * appendix E, and the kernel's Documentation/virt/kvm/x86/cpuid.rst).
 *
 * Policy: start from what KVM supports on this host (host vendor, family,
 * model and brand string are kept) and take away what this VMM does not
 * handle or save:
 *  - no XSAVE and nothing that needs XSAVE-managed state (AVX, AVX2, FMA,
 *    F16C, AVX-512, AMX, VAES/VPCLMULQDQ, XOP/FMA4/TBM, MPX, PKU, CET): the
 *    shared struct cpu_state holds only the legacy FXSAVE image, so a snapshot
 *    could not carry that state; leaf 0xD is zeroed;
 *  - no MONITOR/MWAIT/MONITORX, no VMX/SVM (no nesting), no SMX, EST, TM/TM2,
 *    thermal and power leaves (leaf 6 keeps only ARAT), no DS/PEBS/PDCM;
 *  - no PMU: leaf 0xA zeroed, AMD PERFCTR_* cleared;
 *  - TSC-deadline timer only if the in-kernel LAPIC offers it
 *    (KVM_CAP_TSC_DEADLINE_TIMER);
 *  - topology: APIC id = vCPU index in leaf 1 EBX[31:24] and in leaf
 *    0xB/0x1F EDX, one thread per core, all vCPUs cores of one package;
 *    AMD TOPOEXT and leaves 0x8000001D/0x8000001E are removed;
 *  - the hypervisor bit (leaf 1 ECX[31]) and KVM's paravirt leaves
 *    0x40000000 ("KVMKVMKVM") and 0x40000001 with the features KVM
 *    implements in the kernel, minus those that need the VMM's help
 *    (MSI_EXT_DEST_ID, HC_MAP_GPA_RANGE, MIGRATION_CONTROL);
 *  - leaves that are removed are kept as all-zero entries rather than dropped,
 *    because on Intel-vendor guests KVM answers a missing leaf with the data
 *    of the highest basic leaf (SDM: "invalid input").
 *
 * Measured on the PVM flavour of KVM (kvm_pvm, no VT-x/AMD-V): after
 * KVM_SET_CPUID2 the kernel puts the host's leaf 1 ECX/EDX feature words
 * back (KVM_GET_CPUID2 shows XSAVE, AVX and HTT again), so there the guest
 * sees host features this policy removes; APIC ids and counts are kept.
 */
#include "vmm/kvm/kvm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define BIT(n) (1u << (n))

enum {
	R_EAX,
	R_EBX,
	R_ECX,
	R_EDX
};

struct kvm_cpuid_rule {
	u32 function;
	bool all_indexes; /* otherwise index 0 only */
	u32 keep[4];	  /* bits of eax, ebx, ecx, edx to keep */
};

#define ALL 0xffffffffu

/* Leaf 1 ECX bits removed. */
#define L1_ECX_DROP                                                                            \
	(BIT(3) /* MONITOR */ | BIT(4) /* DS-CPL */ | BIT(5) /* VMX */ | BIT(6) /* SMX */ |    \
	 BIT(7) /* EST */ | BIT(8) /* TM2 */ | BIT(12) /* FMA */ | BIT(15) /* PDCM */ |        \
	 BIT(18) /* DCA */ | BIT(26) /* XSAVE */ | BIT(27) /* OSXSAVE */ | BIT(28) /* AVX */ | \
	 BIT(29) /* F16C */)
#define L1_EDX_DROP (BIT(21) /* DS */ | BIT(22) /* ACPI */ | BIT(29) /* TM */ | BIT(31) /* PBE */)
/* Leaf 7.0 */
#define L7_EBX_DROP                                                                         \
	(BIT(5) /* AVX2 */ | BIT(14) /* MPX */ | BIT(16) /* AVX512F */ | BIT(17) /* DQ */ | \
	 BIT(21) /* IFMA */ | BIT(26) /* PF */ | BIT(27) /* ER */ | BIT(28) /* CD */ |      \
	 BIT(30) /* BW */ | BIT(31) /* VL */)
#define L7_ECX_DROP                                                                                \
	(BIT(1) /* VBMI */ | BIT(3) /* PKU */ | BIT(4) /* OSPKE */ | BIT(5) /* WAITPKG */ |        \
	 BIT(6) /* VBMI2 */ | BIT(7) /* CET_SS */ | BIT(9) /* VAES */ | BIT(10) /* VPCLMULQDQ */ | \
	 BIT(11) /* VNNI */ | BIT(12) /* BITALG */ | BIT(14) /* VPOPCNTDQ */)
#define L7_EDX_DROP                                                                   \
	(BIT(2) /* 4VNNIW */ | BIT(3) /* 4FMAPS */ | BIT(8) /* VP2INTERSECT */ |      \
	 BIT(20) /* CET_IBT */ | BIT(22) /* AMX_BF16 */ | BIT(23) /* AVX512_FP16 */ | \
	 BIT(24) /* AMX_TILE */ | BIT(25) /* AMX_INT8 */)
/* Leaf 0x80000001 ECX */
#define LX1_ECX_DROP                                                                     \
	(BIT(2) /* SVM */ | BIT(11) /* XOP */ | BIT(15) /* LWP */ | BIT(16) /* FMA4 */ | \
	 BIT(21) /* TBM */ | BIT(22) /* TOPOEXT */ | BIT(23) /* PERFCTR_CORE */ |        \
	 BIT(24) /* PERFCTR_NB */ | BIT(28) /* PERFCTR_LLC */ | BIT(29) /* MONITORX */)
/* KVM paravirt features (cpuid.rst) the VMM lets through: all but 15, 16, 17. */
#define KVM_PV_KEEP                                                                        \
	(BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(9) | BIT(10) | \
	 BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(24))

static const struct kvm_cpuid_rule kvm_cpuid_rules[] = {
	{ 0x1, false, { ALL, ALL, ~L1_ECX_DROP, ~L1_EDX_DROP } },
	{ 0x5, true, { 0, 0, 0, 0 } },		       /* MONITOR/MWAIT */
	{ 0x6, true, { BIT(2) /* ARAT */, 0, 0, 0 } }, /* thermal and power */
	{ 0x7, false, { 0, ~L7_EBX_DROP, ~L7_ECX_DROP, ~L7_EDX_DROP } },
	{ 0xa, true, { 0, 0, 0, 0 } },	/* architectural PMU */
	{ 0xd, true, { 0, 0, 0, 0 } },	/* XSAVE components */
	{ 0xf, true, { 0, 0, 0, 0 } },	/* RDT monitoring */
	{ 0x10, true, { 0, 0, 0, 0 } }, /* RDT allocation */
	{ 0x12, true, { 0, 0, 0, 0 } }, /* SGX */
	{ 0x14, true, { 0, 0, 0, 0 } }, /* processor trace */
	{ 0x40000001, true, { KVM_PV_KEEP, 0, 0, 0 } },
	{ 0x80000001, false, { ALL, ALL, ~LX1_ECX_DROP, ALL } },
	{ 0x8000000a, true, { 0, 0, 0, 0 } }, /* SVM */
	{ 0x8000001d, true, { 0, 0, 0, 0 } }, /* AMD cache topology */
	{ 0x8000001e, true, { 0, 0, 0, 0 } }, /* AMD extended APIC id */
	{ 0x8000001f, true, { 0, 0, 0, 0 } }, /* SEV */
	{ 0x80000022, true, { 0, 0, 0, 0 } }, /* AMD PMU v2 */
};

static void kvm_cpuid_apply_rules(struct kvm_cpuid_entry2 *e)
{
	u32 *regs[4] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

	/* Leaf 7 subleaves above 0 (AVX-VNNI, AVX512_BF16, ...): none offered. */
	if (e->function == 0x7 && e->index > 0) {
		e->eax = e->ebx = e->ecx = e->edx = 0;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_cpuid_rules); i++) {
		const struct kvm_cpuid_rule *r = &kvm_cpuid_rules[i];

		if (r->function != e->function || (!r->all_indexes && e->index != 0))
			continue;
		for (int k = 0; k < 4; k++)
			*regs[k] &= r->keep[k];
	}
}

static unsigned kvm_cpuid_order(unsigned n)
{
	unsigned bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

struct kvm_cpuid_vcpu {
	unsigned index, nr_vcpus;
	bool tsc_deadline;
};

/* The per-vCPU fields: APIC id, counts, hypervisor bit, TSC deadline. */
static void kvm_cpuid_fix_entry(const struct kvm_cpuid_vcpu *v, struct kvm_cpuid_entry2 *e)
{
	unsigned n = v->nr_vcpus;

	switch (e->function) {
	case 0x1:
		e->ebx = (e->ebx & 0x0000ffff) | (v->index << 24) | ((n & 0xff) << 16);
		if (n > 1)
			e->edx |= BIT(28); /* HTT: EBX[23:16] is valid */
		else
			e->edx &= ~BIT(28);
		e->ecx |= BIT(31); /* hypervisor present */
		if (!v->tsc_deadline)
			e->ecx &= ~BIT(24);
		break;
	case 0x4:
		e->eax = (e->eax & 0x03ffffff) | (MIN(n - 1, 63u) << 26);
		break;
	case 0x7:
		if (e->index == 0)
			e->eax = 0; /* max subleaf */
		break;
	case 0x40000000:
		e->eax = 0x40000001;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
		break;
	case 0x40000001:
		e->edx = 0; /* no KVM_HINTS_REALTIME */
		break;
	default:
		break;
	}
}

/* Leaf 0xB / 0x1F subleaf: SMT level (1 thread), core level (n cores), then invalid. */
static void kvm_cpuid_topology(const struct kvm_cpuid_vcpu *v, u32 function, u32 index,
			       struct kvm_cpuid_entry2 *e)
{
	unsigned n = v->nr_vcpus;

	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	e->edx = v->index;
	e->ecx = index & 0xff;
	if (index == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx |= 1u << 8; /* SMT */
	} else if (index == 1) {
		e->eax = kvm_cpuid_order(n);
		e->ebx = n;
		e->ecx |= 2u << 8; /* core */
	}
}

struct kvm_cpuid2 *kvm_cpuid_build(const struct kvm_cpuid2 *src, unsigned index, unsigned nr_vcpus,
				   bool tsc_deadline)
{
	const struct kvm_cpuid_vcpu v = { index, nr_vcpus, tsc_deadline };
	struct kvm_cpuid2 *c;
	bool has_1f = false;
	u32 max_basic = 0;

	c = calloc(1, sizeof(*c) + (src->nent + 6) * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	for (u32 i = 0; i < src->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &src->entries[i];
		struct kvm_cpuid_entry2 *e;

		if (s->function == 0)
			max_basic = s->eax;
		if (s->function == 0xb || s->function == 0x1f) {
			has_1f |= s->function == 0x1f;
			continue; /* rebuilt below */
		}
		e = &c->entries[c->nent++];
		*e = *s;
		kvm_cpuid_apply_rules(e);
		kvm_cpuid_fix_entry(&v, e);
	}
	for (u32 idx = 0; max_basic >= 0xb && idx < 3; idx++)
		kvm_cpuid_topology(&v, 0xb, idx, &c->entries[c->nent++]);
	for (u32 idx = 0; has_1f && max_basic >= 0x1f && idx < 3; idx++)
		kvm_cpuid_topology(&v, 0x1f, idx, &c->entries[c->nent++]);
	return c;
}

struct kvm_cpuid2 *kvm_cpuid_vmware(struct kvm_cpuid2 *c, u32 tsc_khz, u32 bus_khz)
{
	struct kvm_cpuid2 *n = realloc(c, sizeof(*c) + (c->nent + 2) * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 *timing = NULL;
	bool has_sig = false;

	if (!n) {
		free(c);
		return NULL;
	}
	for (u32 i = 0; i < n->nent; i++) {
		struct kvm_cpuid_entry2 *e = &n->entries[i];

		if (e->function == 0x40000000) {
			has_sig = true;
			e->eax = 0x40000010;
			memcpy(&e->ebx, "VMwa", 4);
			memcpy(&e->ecx, "reVM", 4);
			memcpy(&e->edx, "ware", 4);
		} else if (e->function == 0x40000001) {
			e->eax = e->ebx = e->ecx = e->edx = 0; /* no KVM features under this name */
		} else if (e->function == 0x40000010) {
			timing = e;
		}
	}
	if (!has_sig) {
		struct kvm_cpuid_entry2 *e = &n->entries[n->nent++];

		memset(e, 0, sizeof(*e));
		e->function = 0x40000000;
		e->eax = 0x40000010;
		memcpy(&e->ebx, "VMwareVMware", 12);
	}
	if (!timing) {
		timing = &n->entries[n->nent++];
		memset(timing, 0, sizeof(*timing));
		timing->function = 0x40000010;
	}
	timing->eax = tsc_khz;
	timing->ebx = bus_khz;
	timing->ecx = timing->edx = 0; /* neither VMCALL nor VMMCALL backdoor */
	return n;
}

int kvm_cpuid_setup(struct accel_vcpu *v)
{
	struct kvm_cpuid2 *c;
	int ret = 0;

	c = kvm_cpuid_build(v->vm->cpuid, v->index, v->vm->nr_vcpus, v->vm->tsc_deadline);
	if (c && v->vm->vmware_cpuid)
		c = kvm_cpuid_vmware(c, v->vm->tsc_khz, v->vm->apic_bus_khz);
	if (!c)
		return -ENOMEM;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
