/* SPDX-License-Identifier: MIT */
/*
 * The CPU the guest sees: a vendor, a CPUID signature and brand, and a set of features named as
 * Linux's /proc/cpuinfo names them (docs/cpu-model.md). The spec's "cpu" section names one of
 * the models below and adds or removes features; the accelerator that runs the guest gets the
 * resolved struct cpu_model through struct accel_config (vmm/accel.h).
 *
 * Features are CPUID bits (SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E), numbered by feature
 * word (one register of one leaf) and bit, so a model is nine 32-bit masks and an accelerator
 * reads a feature with one shift. Bits that CPUID computes from state (OSXSAVE, the initial APIC
 * ID, APIC with IA32_APIC_BASE.EN) are not features.
 *
 * Pure data and string functions: no state, any thread. Kept in base because the spec parser
 * (names), the BT engine (its default model) and the VM (resolution) all use it.
 */
#ifndef VMM_BASE_CPU_MODEL_H
#define VMM_BASE_CPU_MODEL_H

#include "vmm/base/types.h"

#include <stddef.h>

enum cpu_vendor {
	CPU_VENDOR_AMD,	  /* "AuthenticAMD" */
	CPU_VENDOR_INTEL, /* "GenuineIntel" */
};

/* Feature words: one CPUID output register each. */
enum cpu_fword {
	CPU_FW_1_EDX,  /* leaf 1 EDX */
	CPU_FW_1_ECX,  /* leaf 1 ECX */
	CPU_FW_7_EBX,  /* leaf 7 subleaf 0 EBX */
	CPU_FW_7_ECX,  /* leaf 7 subleaf 0 ECX */
	CPU_FW_7_EDX,  /* leaf 7 subleaf 0 EDX */
	CPU_FW_X1_EDX, /* leaf 8000_0001h EDX */
	CPU_FW_X1_ECX, /* leaf 8000_0001h ECX */
	CPU_FW_D1_EAX, /* leaf 0Dh subleaf 1 EAX (XSAVE instruction variants) */
	CPU_FW_X7_EDX, /* leaf 8000_0007h EDX (power management: invariant TSC) */
	CPU_NR_FWORDS,
};

#define CPU_FEAT(word, bit) ((unsigned)(word) << 5 | (bit))

/*
 * X(ENUM, "name", word, bit, implemented): every feature this VMM knows by name. implemented:
 * a model may have it (the BT engine carries it out); the others are known so that asking for
 * one gets "not implemented" rather than "unknown".
 */
#define CPU_FEATURE_LIST(X)                                            \
	X(FPU, "fpu", CPU_FW_1_EDX, 0, 1)                              \
	X(VME, "vme", CPU_FW_1_EDX, 1, 0)                              \
	X(DE, "de", CPU_FW_1_EDX, 2, 1)                                \
	X(PSE, "pse", CPU_FW_1_EDX, 3, 1)                              \
	X(TSC, "tsc", CPU_FW_1_EDX, 4, 1)                              \
	X(MSR, "msr", CPU_FW_1_EDX, 5, 1)                              \
	X(PAE, "pae", CPU_FW_1_EDX, 6, 1)                              \
	X(MCE, "mce", CPU_FW_1_EDX, 7, 1)                              \
	X(CX8, "cx8", CPU_FW_1_EDX, 8, 1)                              \
	X(APIC, "apic", CPU_FW_1_EDX, 9, 1)                            \
	X(SEP, "sep", CPU_FW_1_EDX, 11, 1)                             \
	X(MTRR, "mtrr", CPU_FW_1_EDX, 12, 1)                           \
	X(PGE, "pge", CPU_FW_1_EDX, 13, 1)                             \
	X(MCA, "mca", CPU_FW_1_EDX, 14, 1)                             \
	X(CMOV, "cmov", CPU_FW_1_EDX, 15, 1)                           \
	X(PAT, "pat", CPU_FW_1_EDX, 16, 1)                             \
	X(PSE36, "pse36", CPU_FW_1_EDX, 17, 1)                         \
	X(CLFLUSH, "clflush", CPU_FW_1_EDX, 19, 1)                     \
	X(MMX, "mmx", CPU_FW_1_EDX, 23, 1)                             \
	X(FXSR, "fxsr", CPU_FW_1_EDX, 24, 1)                           \
	X(SSE, "sse", CPU_FW_1_EDX, 25, 1)                             \
	X(SSE2, "sse2", CPU_FW_1_EDX, 26, 1)                           \
	X(HT, "ht", CPU_FW_1_EDX, 28, 0)                               \
	X(SSE3, "pni", CPU_FW_1_ECX, 0, 1)                             \
	X(PCLMULQDQ, "pclmulqdq", CPU_FW_1_ECX, 1, 0)                  \
	X(MONITOR, "monitor", CPU_FW_1_ECX, 3, 0)                      \
	X(VMX, "vmx", CPU_FW_1_ECX, 5, 0)                              \
	X(SSSE3, "ssse3", CPU_FW_1_ECX, 9, 1)                          \
	X(FMA, "fma", CPU_FW_1_ECX, 12, 1)                             \
	X(CX16, "cx16", CPU_FW_1_ECX, 13, 1)                           \
	X(PCID, "pcid", CPU_FW_1_ECX, 17, 1)                           \
	X(SSE4_1, "sse4_1", CPU_FW_1_ECX, 19, 1)                       \
	X(SSE4_2, "sse4_2", CPU_FW_1_ECX, 20, 1)                       \
	X(X2APIC, "x2apic", CPU_FW_1_ECX, 21, 1)                       \
	X(MOVBE, "movbe", CPU_FW_1_ECX, 22, 1)                         \
	X(POPCNT, "popcnt", CPU_FW_1_ECX, 23, 1)                       \
	X(TSC_DEADLINE, "tsc_deadline_timer", CPU_FW_1_ECX, 24, 1)     \
	X(AES, "aes", CPU_FW_1_ECX, 25, 0)                             \
	X(XSAVE, "xsave", CPU_FW_1_ECX, 26, 1)                         \
	X(AVX, "avx", CPU_FW_1_ECX, 28, 1)                             \
	X(F16C, "f16c", CPU_FW_1_ECX, 29, 1)                           \
	X(RDRAND, "rdrand", CPU_FW_1_ECX, 30, 0)                       \
	X(HYPERVISOR, "hypervisor", CPU_FW_1_ECX, 31, 1)               \
	X(FSGSBASE, "fsgsbase", CPU_FW_7_EBX, 0, 1)                    \
	X(TSC_ADJUST, "tsc_adjust", CPU_FW_7_EBX, 1, 1)                \
	X(BMI1, "bmi1", CPU_FW_7_EBX, 3, 1)                            \
	X(HLE, "hle", CPU_FW_7_EBX, 4, 0)                              \
	X(AVX2, "avx2", CPU_FW_7_EBX, 5, 1)                            \
	X(SMEP, "smep", CPU_FW_7_EBX, 7, 1)                            \
	X(BMI2, "bmi2", CPU_FW_7_EBX, 8, 1)                            \
	X(ERMS, "erms", CPU_FW_7_EBX, 9, 1)                            \
	X(INVPCID, "invpcid", CPU_FW_7_EBX, 10, 1)                     \
	X(RTM, "rtm", CPU_FW_7_EBX, 11, 0)                             \
	X(AVX512F, "avx512f", CPU_FW_7_EBX, 16, 0)                     \
	X(RDSEED, "rdseed", CPU_FW_7_EBX, 18, 0)                       \
	X(ADX, "adx", CPU_FW_7_EBX, 19, 0)                             \
	X(SMAP, "smap", CPU_FW_7_EBX, 20, 1)                           \
	X(CLFLUSHOPT, "clflushopt", CPU_FW_7_EBX, 23, 1)               \
	X(CLWB, "clwb", CPU_FW_7_EBX, 24, 0)                           \
	X(SHA_NI, "sha_ni", CPU_FW_7_EBX, 29, 0)                       \
	X(UMIP, "umip", CPU_FW_7_ECX, 2, 1)                            \
	X(PKU, "pku", CPU_FW_7_ECX, 3, 0)                              \
	X(VAES, "vaes", CPU_FW_7_ECX, 9, 0)                            \
	X(RDPID, "rdpid", CPU_FW_7_ECX, 22, 1)                         \
	X(FSRM, "fsrm", CPU_FW_7_EDX, 4, 1)                            \
	X(SPEC_CTRL, "spec_ctrl", CPU_FW_7_EDX, 26, 0)                 \
	X(ARCH_CAPABILITIES, "arch_capabilities", CPU_FW_7_EDX, 29, 1) \
	X(SYSCALL, "syscall", CPU_FW_X1_EDX, 11, 1)                    \
	X(NX, "nx", CPU_FW_X1_EDX, 20, 1)                              \
	X(MMXEXT, "mmxext", CPU_FW_X1_EDX, 22, 0)                      \
	X(PDPE1GB, "pdpe1gb", CPU_FW_X1_EDX, 26, 1)                    \
	X(RDTSCP, "rdtscp", CPU_FW_X1_EDX, 27, 1)                      \
	X(LM, "lm", CPU_FW_X1_EDX, 29, 1)                              \
	X(LAHF_LM, "lahf_lm", CPU_FW_X1_ECX, 0, 1)                     \
	X(SVM, "svm", CPU_FW_X1_ECX, 2, 0)                             \
	X(ABM, "abm", CPU_FW_X1_ECX, 5, 1)                             \
	X(SSE4A, "sse4a", CPU_FW_X1_ECX, 6, 0)                         \
	X(PREFETCHW, "3dnowprefetch", CPU_FW_X1_ECX, 8, 1)             \
	X(PERFCTR_CORE, "perfctr_core", CPU_FW_X1_ECX, 23, 0)          \
	X(XSAVEOPT, "xsaveopt", CPU_FW_D1_EAX, 0, 1)                   \
	X(XSAVEC, "xsavec", CPU_FW_D1_EAX, 1, 1)                       \
	X(XGETBV1, "xgetbv1", CPU_FW_D1_EAX, 2, 0)                     \
	X(XSAVES, "xsaves", CPU_FW_D1_EAX, 3, 0)                       \
	X(INVTSC, "invtsc", CPU_FW_X7_EDX, 8, 1)

#define CPU_FEATURE_ENUM(e, name, word, bit, impl) CPU_F_##e = CPU_FEAT(word, bit),

enum cpu_feature {
	CPU_FEATURE_LIST(CPU_FEATURE_ENUM)
};

#undef CPU_FEATURE_ENUM

struct cpu_model {
	const char *name; /* the named model it started from */
	enum cpu_vendor vendor;
	u32 signature; /* CPUID.1:EAX: stepping, model, family with their extended fields */
	char brand[48];
	u32 features[CPU_NR_FWORDS];
};

static inline bool cpu_model_has(const struct cpu_model *m, enum cpu_feature f)
{
	return (m->features[(unsigned)f >> 5] >> ((unsigned)f & 31)) & 1;
}

void cpu_model_set(struct cpu_model *m, enum cpu_feature f, bool on);
/* Clear f and every feature that needs it (directly or not). */
void cpu_model_drop(struct cpu_model *m, enum cpu_feature f);

/* Family and model from the signature (SDM vol. 2A figure 3-6: extended fields added). */
unsigned cpu_model_family(const struct cpu_model *m);
unsigned cpu_model_model(const struct cpu_model *m);

/* The named models ("k8", "x86-64-v2", "epyc", "icelake"); NULL-terminated list of names. */
extern const char *const cpu_model_names[];
#define CPU_MODEL_DEFAULT "epyc"

/* Fill *m with the named model; false if there is no such model. */
bool cpu_model_lookup(const char *name, struct cpu_model *m);

/* Every feature name, in CPU_FEATURE_LIST order; NULL-terminated. */
extern const char *const cpu_feature_names[];
/* A feature by its name: true and *f, or false (no such feature). */
bool cpu_feature_lookup(const char *name, enum cpu_feature *f);
const char *cpu_feature_name(enum cpu_feature f);
/* Can a model have it (the BT engine implements it)? */
bool cpu_feature_implemented(enum cpu_feature f);
/* Features by index 0 .. cpu_nr_features()-1 (for lists in messages and docs). */
unsigned cpu_nr_features(void);
enum cpu_feature cpu_feature_at(unsigned i);

/*
 * Whether the model is consistent: every feature implemented, and each feature's prerequisites
 * present (avx2 needs avx, avx needs xsave, x2apic needs apic ...). 0, or -EINVAL with the first
 * problem in why ("avx2 needs avx").
 */
int cpu_model_check(const struct cpu_model *m, char *why, size_t len);

#endif
