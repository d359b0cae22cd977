// SPDX-License-Identifier: MIT
/*
 * The named CPU models and the feature names (cpu_model.h; docs/cpu-model.md explains each).
 *
 *  - k8: AMD Athlon 64 X2 (family 0Fh, model 2Bh, stepping 1), the baseline x86-64 CPU: SSE2
 *    with SSE3, CMPXCHG16B and 64-bit LAHF/SAHF, MCE/MCA, no x2APIC, no XSAVE.
 *  - x86-64-v2: an AMD EPYC identity (family 19h) with the x86-64-v2 level (SSSE3, SSE4.1,
 *    SSE4.2, POPCNT) and the system features (x2APIC, TSC deadline, PCID/INVPCID, FSGSBASE,
 *    SMEP/SMAP/UMIP, 1 GiB pages, RDTSCP/RDPID, XSAVE/XSAVEOPT/XSAVEC for x87 and SSE state).
 *  - epyc: AMD EPYC 7003 "Milan" (family 19h, model 01h, stepping 1) at x86-64-v3: the above
 *    with AVX, AVX2, BMI1, BMI2, FMA, F16C, MOVBE, LZCNT and the AVX state in XSAVE. The default.
 *  - icelake: Intel Xeon Ice Lake-SP (family 6, model 6Ah, stepping 6) with the same features
 *    and IA32_ARCH_CAPABILITIES saying it is not affected by the speculation bugs Linux would
 *    otherwise mitigate (Meltdown's page-table isolation above all).
 * What none has (AES, PCLMULQDQ, SHA, RDRAND, AVX-512, PKU, VMX/SVM...) is listed by name in
 * CPU_FEATURE_LIST as not implemented.
 */
#include "vmm/base/cpu_model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct cpu_feature_info {
	const char *name;
	u16 feat;
	bool impl;
};

#define CPU_FEATURE_INFO(e, n, word, bit, i) { n, CPU_F_##e, i },
static const struct cpu_feature_info cpu_features[] = { CPU_FEATURE_LIST(CPU_FEATURE_INFO) };
#undef CPU_FEATURE_INFO

#define CPU_NR_FEATURES (sizeof(cpu_features) / sizeof(cpu_features[0]))

#define CPU_FEATURE_NAME(e, n, word, bit, i) n,
const char *const cpu_feature_names[] = { CPU_FEATURE_LIST(CPU_FEATURE_NAME) NULL };
#undef CPU_FEATURE_NAME

static const struct cpu_feature_info *cpu_feature_info(enum cpu_feature f)
{
	for (unsigned i = 0; i < CPU_NR_FEATURES; i++)
		if (cpu_features[i].feat == f)
			return &cpu_features[i];
	return NULL;
}

void cpu_model_set(struct cpu_model *m, enum cpu_feature f, bool on)
{
	u32 bit = 1u << ((unsigned)f & 31);

	if (on)
		m->features[(unsigned)f >> 5] |= bit;
	else
		m->features[(unsigned)f >> 5] &= ~bit;
}

unsigned cpu_model_family(const struct cpu_model *m)
{
	unsigned fam = (m->signature >> 8) & 0xf;

	return fam == 0xf ? fam + ((m->signature >> 20) & 0xff) : fam;
}

unsigned cpu_model_model(const struct cpu_model *m)
{
	unsigned fam = (m->signature >> 8) & 0xf, model = (m->signature >> 4) & 0xf;

	return fam == 0xf || fam == 6 ? model | (((m->signature >> 16) & 0xf) << 4) : model;
}

/* Feature sets, built up level by level. */
static const enum cpu_feature cpu_set_k8[] = {
	CPU_F_FPU,     CPU_F_DE,   CPU_F_PSE,  CPU_F_TSC,     CPU_F_MSR,     CPU_F_PAE,
	CPU_F_MCE,     CPU_F_CX8,  CPU_F_APIC, CPU_F_SEP,     CPU_F_MTRR,    CPU_F_PGE,
	CPU_F_MCA,     CPU_F_CMOV, CPU_F_PAT,  CPU_F_PSE36,   CPU_F_CLFLUSH, CPU_F_MMX,
	CPU_F_FXSR,    CPU_F_SSE,  CPU_F_SSE2, CPU_F_SSE3,    CPU_F_CX16,    CPU_F_HYPERVISOR,
	CPU_F_SYSCALL, CPU_F_NX,   CPU_F_LM,   CPU_F_LAHF_LM, CPU_F_INVTSC,
};

static const enum cpu_feature cpu_set_v2[] = {
	CPU_F_SSSE3,	    CPU_F_SSE4_1,   CPU_F_SSE4_2, CPU_F_POPCNT,	  CPU_F_X2APIC,
	CPU_F_TSC_DEADLINE, CPU_F_PCID,	    CPU_F_XSAVE,  CPU_F_FSGSBASE, CPU_F_TSC_ADJUST,
	CPU_F_SMEP,	    CPU_F_SMAP,	    CPU_F_ERMS,	  CPU_F_INVPCID,  CPU_F_CLFLUSHOPT,
	CPU_F_UMIP,	    CPU_F_RDPID,    CPU_F_FSRM,	  CPU_F_PDPE1GB,  CPU_F_RDTSCP,
	CPU_F_PREFETCHW,    CPU_F_XSAVEOPT, CPU_F_XSAVEC,
};

static const enum cpu_feature cpu_set_v3[] = {
	CPU_F_AVX, CPU_F_AVX2, CPU_F_BMI1,  CPU_F_BMI2,
	CPU_F_FMA, CPU_F_F16C, CPU_F_MOVBE, CPU_F_ABM,
};

enum cpu_level {
	CPU_LEVEL_V1,
	CPU_LEVEL_V2,
	CPU_LEVEL_V3,
};

struct cpu_named_model {
	const char *name;
	enum cpu_vendor vendor;
	u32 signature;
	const char *brand;
	enum cpu_level level;
	bool arch_caps;
};

static const struct cpu_named_model cpu_models[] = {
	{ "k8", CPU_VENDOR_AMD, 0x00020fb1, "AMD Athlon(tm) 64 X2 Dual Core Processor (BT engine)",
	  CPU_LEVEL_V1, false },
	{ "x86-64-v2", CPU_VENDOR_AMD, 0x00a00f11, "AMD EPYC x86-64-v2 Processor (BT engine)",
	  CPU_LEVEL_V2, false },
	{ "epyc", CPU_VENDOR_AMD, 0x00a00f11, "AMD EPYC 7003 Processor (BT engine)", CPU_LEVEL_V3,
	  false },
	{ "icelake", CPU_VENDOR_INTEL, 0x000606a6,
	  "Intel(R) Xeon(R) Ice Lake Processor (BT engine)", CPU_LEVEL_V3, true },
};

const char *const cpu_model_names[] = { "k8", "x86-64-v2", "epyc", "icelake", NULL };

static void cpu_model_add(struct cpu_model *m, const enum cpu_feature *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cpu_model_set(m, set[i], true);
}

bool cpu_model_lookup(const char *name, struct cpu_model *m)
{
	for (unsigned i = 0; i < sizeof(cpu_models) / sizeof(cpu_models[0]); i++) {
		const struct cpu_named_model *nm = &cpu_models[i];

		if (strcmp(nm->name, name))
			continue;
		memset(m, 0, sizeof(*m));
		m->name = nm->name;
		m->vendor = nm->vendor;
		m->signature = nm->signature;
		snprintf(m->brand, sizeof(m->brand), "%s", nm->brand);
		cpu_model_add(m, cpu_set_k8, sizeof(cpu_set_k8) / sizeof(cpu_set_k8[0]));
		if (nm->level >= CPU_LEVEL_V2)
			cpu_model_add(m, cpu_set_v2, sizeof(cpu_set_v2) / sizeof(cpu_set_v2[0]));
		if (nm->level >= CPU_LEVEL_V3)
			cpu_model_add(m, cpu_set_v3, sizeof(cpu_set_v3) / sizeof(cpu_set_v3[0]));
		if (nm->arch_caps)
			cpu_model_set(m, CPU_F_ARCH_CAPABILITIES, true);
		if (nm->vendor == CPU_VENDOR_INTEL)
			cpu_model_set(m, CPU_F_PREFETCHW,
				      true); /* PREFETCHW: Intel since Broadwell */
		/* Only what is implemented: a level's instructions join as the engine gets them. */
		for (unsigned k = 0; k < CPU_NR_FEATURES; k++)
			if (!cpu_features[k].impl)
				cpu_model_set(m, (enum cpu_feature)cpu_features[k].feat, false);
		return true;
	}
	return false;
}

bool cpu_feature_lookup(const char *name, enum cpu_feature *f)
{
	for (unsigned i = 0; i < CPU_NR_FEATURES; i++) {
		if (!strcmp(cpu_features[i].name, name)) {
			*f = (enum cpu_feature)cpu_features[i].feat;
			return true;
		}
	}
	return false;
}

const char *cpu_feature_name(enum cpu_feature f)
{
	const struct cpu_feature_info *fi = cpu_feature_info(f);

	return fi ? fi->name : "?";
}

bool cpu_feature_implemented(enum cpu_feature f)
{
	const struct cpu_feature_info *fi = cpu_feature_info(f);

	return fi && fi->impl;
}

unsigned cpu_nr_features(void)
{
	return CPU_NR_FEATURES;
}

enum cpu_feature cpu_feature_at(unsigned i)
{
	return (enum cpu_feature)cpu_features[i < CPU_NR_FEATURES ? i : 0].feat;
}

/* Prerequisites: a feature, and one it cannot work without. */
static const struct {
	enum cpu_feature f, needs;
} cpu_deps[] = {
	{ CPU_F_LM, CPU_F_PAE },	   { CPU_F_LM, CPU_F_SSE2 },
	{ CPU_F_LM, CPU_F_FXSR },	   { CPU_F_LM, CPU_F_CX8 },
	{ CPU_F_LM, CPU_F_CMOV },	   { CPU_F_LM, CPU_F_MSR },
	{ CPU_F_LM, CPU_F_FPU },	   { CPU_F_LM, CPU_F_SYSCALL },
	{ CPU_F_SSE, CPU_F_FXSR },	   { CPU_F_SSE2, CPU_F_SSE },
	{ CPU_F_SSE3, CPU_F_SSE2 },	   { CPU_F_SSSE3, CPU_F_SSE3 },
	{ CPU_F_SSE4_1, CPU_F_SSSE3 },	   { CPU_F_SSE4_2, CPU_F_SSE4_1 },
	{ CPU_F_AVX, CPU_F_XSAVE },	   { CPU_F_AVX, CPU_F_SSE4_2 },
	{ CPU_F_AVX2, CPU_F_AVX },	   { CPU_F_FMA, CPU_F_AVX },
	{ CPU_F_F16C, CPU_F_AVX },	   { CPU_F_XSAVE, CPU_F_FXSR },
	{ CPU_F_XSAVEOPT, CPU_F_XSAVE },   { CPU_F_XSAVEC, CPU_F_XSAVE },
	{ CPU_F_X2APIC, CPU_F_APIC },	   { CPU_F_TSC_DEADLINE, CPU_F_APIC },
	{ CPU_F_TSC_DEADLINE, CPU_F_TSC }, { CPU_F_RDTSCP, CPU_F_TSC },
	{ CPU_F_TSC_ADJUST, CPU_F_TSC },   { CPU_F_MCA, CPU_F_MCE },
	{ CPU_F_PDPE1GB, CPU_F_LM },	   { CPU_F_INVPCID, CPU_F_PCID },
	{ CPU_F_PCID, CPU_F_LM },	   { CPU_F_FSGSBASE, CPU_F_LM },
	{ CPU_F_PSE36, CPU_F_PSE },	   { CPU_F_PAT, CPU_F_MSR },
	{ CPU_F_MTRR, CPU_F_MSR },	   { CPU_F_INVTSC, CPU_F_TSC },
};

void cpu_model_drop(struct cpu_model *m, enum cpu_feature f)
{
	bool again = true;

	cpu_model_set(m, f, false);
	while (again) {
		again = false;
		for (unsigned i = 0; i < sizeof(cpu_deps) / sizeof(cpu_deps[0]); i++) {
			if (cpu_model_has(m, cpu_deps[i].f) &&
			    !cpu_model_has(m, cpu_deps[i].needs)) {
				cpu_model_set(m, cpu_deps[i].f, false);
				again = true;
			}
		}
	}
}

int cpu_model_check(const struct cpu_model *m, char *why, size_t len)
{
	for (unsigned i = 0; i < CPU_NR_FEATURES; i++) {
		const struct cpu_feature_info *fi = &cpu_features[i];

		if (!fi->impl && cpu_model_has(m, (enum cpu_feature)fi->feat)) {
			snprintf(why, len, "%s: this VMM's CPU model does not implement it",
				 fi->name);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < sizeof(cpu_deps) / sizeof(cpu_deps[0]); i++) {
		if (cpu_model_has(m, cpu_deps[i].f) && !cpu_model_has(m, cpu_deps[i].needs)) {
			snprintf(why, len, "%s needs %s", cpu_feature_name(cpu_deps[i].f),
				 cpu_feature_name(cpu_deps[i].needs));
			return -EINVAL;
		}
	}
	return 0;
}
