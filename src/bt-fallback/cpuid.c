// SPDX-License-Identifier: MIT
/*
 * The engine's CPUID (SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E for the 8000_00xx leaves
 * and the AMD cache descriptors), built from the CPU's model (vmm/base/cpu_model.h: vendor,
 * signature, brand and the feature words) so that what CPUID reports is exactly what the engine
 * does: an instruction of a feature the model lacks is #UD, its MSRs #GP, its CR4 bits reserved.
 *
 * Leaves by vendor, as on the real parts:
 *  - AMD: basic leaves up to 0Dh (K8: 1), no leaf 2/4/0Bh (cache and topology come from
 *    8000_0005h/6h and 8000_0008h); 8000_0001h EDX mirrors leaf 1 EDX (APM E.4.2).
 *  - Intel: leaves 2 (descriptor 0FFh: see leaf 4), 4 (deterministic cache parameters), 6
 *    (ARAT), 0Ah (no architectural performance monitoring: version 0), 0Bh (topology);
 *    8000_0001h EDX holds only SYSCALL, NX, 1 GiB pages, RDTSCP and LM.
 * Every CPU is its own package of one core (leaf 1 HTT clear), as the machine's MADT says.
 *
 * State CPUID reflects (SDM vol. 2A table 3-8): CPUID.1:ECX.OSXSAVE is CR4.OSXSAVE;
 * CPUID.1:EDX.APIC (and its 8000_0001h mirror) is clear while IA32_APIC_BASE.EN is (SDM vol. 3A
 * 11.4.3); leaf 0Dh EBX is the XSAVE area size for the XCR0 in force; the initial APIC ID is the
 * CPU index; IA32_MISC_ENABLE.LIMIT_CPUID (Intel) caps the basic leaves at 2 and its XD_DISABLE
 * clears NX.
 *
 * The hypervisor bit (a feature of every named model) comes with a signature in leaf 4000_0000h
 * that is no known hypervisor's, so Linux looks for no paravirtual clock. Invariant TSC: the TSC
 * runs on virtual time at a constant rate.
 */
#include "bt-fallback/bt.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BT_MSR_APIC_BASE	  0x1bu
#define BT_APIC_BASE_EN		  (1ull << 11)
#define BT_MISC_ENABLE_LIMIT	  (1ull << 22)
#define BT_MISC_ENABLE_XD_DISABLE (1ull << 34)

/* The leaf 1 EDX bits AMD repeats in 8000_0001h EDX (APM vol. 3 E.4.2). */
#define BT_CPUID_AMD_MIRROR 0x0183f3ffu

static u32 bt_cpuid_str(const char *s)
{
	u32 v;

	memcpy(&v, s, 4);
	return v;
}

static void bt_cpuid_vendor(const struct bt_cpu *cpu, u32 out[4])
{
	const char *v = bt_intel(cpu) ? "GenuineIntel" : "AuthenticAMD";

	out[1] = bt_cpuid_str(v);
	out[3] = bt_cpuid_str(v + 4);
	out[2] = bt_cpuid_str(v + 8);
}

/* XSAVE area sizes (standard format): legacy area and header, then AVX at 576 (SDM 13.4). */
static u32 bt_cpuid_xsave_size(u64 xcr0)
{
	return xcr0 & 4 ? 832 : 576;
}

static u64 bt_cpuid_xcr0_supported(const struct bt_cpu *cpu)
{
	return bt_has(cpu, CPU_F_AVX) ? 7 : 3;
}

/* Intel leaf 4: L1D 48 KiB 12-way, L1I 32 KiB 8-way, L2 1.25 MiB 20-way, L3 32 MiB 16-way. */
static void bt_cpuid_intel_cache(u32 sub, u32 out[4])
{
	static const struct {
		u8 type, level, ways;
		u32 sets;
	} c[] = { { 1, 1, 12, 64 }, { 2, 1, 8, 64 }, { 3, 2, 20, 1024 }, { 3, 3, 16, 32768 } };

	if (sub >= sizeof(c) / sizeof(c[0]))
		return;						 /* type 0: no more caches */
	out[0] = c[sub].type | (u32)c[sub].level << 5 | 1u << 8; /* self-initialising */
	out[1] = (u32)(c[sub].ways - 1) << 22 | 63u;		 /* one partition, 64-byte lines */
	out[2] = c[sub].sets - 1;
	out[3] = c[sub].level == 3 ? 2u : 0; /* L3 inclusive */
}

static void bt_cpuid_leaf1(struct bt_cpu *cpu, u32 out[4])
{
	const struct cpu_model *m = &cpu->model;
	u64 base = BT_APIC_BASE_EN;

	out[0] = m->signature;
	/* Initial APIC ID, one logical processor, CLFLUSH line 8 * 8 bytes. */
	out[1] = (cpu->index << 24) | (1u << 16) | (8u << 8);
	out[2] = m->features[CPU_FW_1_ECX];
	if (cpu->st.cr4 & BT_CR4_OSXSAVE)
		out[2] |= 1u << 27;
	out[3] = m->features[CPU_FW_1_EDX];
	if (bt_msr_read(cpu, BT_MSR_APIC_BASE, &base) == 0 && !(base & BT_APIC_BASE_EN))
		out[3] &= ~(1u << 9);
}

static void bt_cpuid_leaf_d(struct bt_cpu *cpu, u32 sub, u32 out[4])
{
	u64 sup = bt_cpuid_xcr0_supported(cpu);

	if (!bt_has(cpu, CPU_F_XSAVE))
		return;
	switch (sub) {
	case 0:
		out[0] = (u32)sup;
		out[1] = bt_cpuid_xsave_size(cpu->st.xcr0);
		out[2] = bt_cpuid_xsave_size(sup);
		break;
	case 1:
		out[0] = cpu->model.features[CPU_FW_D1_EAX];
		out[1] = bt_cpuid_xsave_size(cpu->st.xcr0); /* XCR0 | IA32_XSS, no XSS components */
		break;
	case 2:
		if (sup & 4) {
			out[0] = 256; /* YMM_Hi128: 16 x 16 bytes at offset 576 */
			out[1] = 576;
		}
		break;
	default:
		break;
	}
}

void bt_cpuid(struct bt_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	static const char hv[12] = "BTengineVirt";
	const struct cpu_model *m = &cpu->model;
	bool intel = bt_intel(cpu), k8 = !intel && cpu_model_family(m) < 0x10;
	u32 max_std = k8 ? 1 : 0xd;

	if (bt_hyper_cpuid(cpu, leaf, out)) /* the VMware identity, when asked (hyper.c) */
		return;
	memset(out, 0, 4 * sizeof(u32));
	if (intel && (cpu->msr.misc_enable & BT_MISC_ENABLE_LIMIT))
		max_std = 2;
	/* An Intel CPU answers an unknown basic leaf as its highest one; AMD with zeros. */
	if (leaf <= 0x3fffffff && leaf > max_std) {
		if (!intel)
			return;
		leaf = max_std;
	}
	switch (leaf) {
	case 0:
		out[0] = max_std;
		bt_cpuid_vendor(cpu, out);
		break;
	case 1:
		bt_cpuid_leaf1(cpu, out);
		break;
	case 2:
		if (intel)
			out[0] = 0x0000ff01; /* one iteration; 0FFh: the caches are in leaf 4 */
		break;
	case 4:
		if (intel)
			bt_cpuid_intel_cache(subleaf, out);
		break;
	case 6:
		out[0] = 1u << 2; /* ARAT: the APIC timer runs in every C-state */
		break;
	case 7:
		if (subleaf == 0) {
			out[1] = m->features[CPU_FW_7_EBX];
			out[2] = m->features[CPU_FW_7_ECX];
			out[3] = m->features[CPU_FW_7_EDX];
		}
		break;
	case 0xb:
		if (intel) {
			/* x2APIC topology: one thread per core, one core per package. */
			out[1] = subleaf < 2 ? 1 : 0;
			out[2] = subleaf | (subleaf < 2 ? (subleaf + 1) << 8 : 0);
			out[3] = cpu->index;
		}
		break;
	case 0xd:
		bt_cpuid_leaf_d(cpu, subleaf, out);
		break;
	case 0x40000000:
		out[0] = 0x40000000;
		memcpy(&out[1], hv, 12);
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		if (!intel)
			bt_cpuid_vendor(cpu, out);
		break;
	case 0x80000001:
		out[0] = intel ? 0 : m->signature;
		out[2] = m->features[CPU_FW_X1_ECX];
		out[3] = m->features[CPU_FW_X1_EDX];
		if (!intel) {
			u32 l1[4];

			bt_cpuid_leaf1(cpu, l1);
			out[3] |= l1[3] & BT_CPUID_AMD_MIRROR;
		}
		if (intel && (cpu->msr.misc_enable & BT_MISC_ENABLE_XD_DISABLE))
			out[3] &= ~(1u << 20);
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, m->brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000005:
		if (intel)
			break;
		/*
		 * L1 TLBs (fully associative, 8 large / 32 small entries); L1D and L1I 64 KiB
		 * 2-way (K8) or 32 KiB 8-way, one line per tag, 64-byte lines (APM vol. 3 E.4.4).
		 */
		out[0] = 0xff08ff08;
		out[1] = 0xff20ff20;
		out[2] = out[3] = k8 ? 0x40020140 : 0x20080140;
		break;
	case 0x80000006:
		/* L2: 512 KiB, 16-way (AMD encoding 8; Intel 6: 8-way), 64-byte lines; no L3. */
		out[2] = (512u << 16) | (intel ? 6u << 12 : (8u << 12) | (1u << 8)) | 64u;
		break;
	case 0x80000007:
		out[3] = m->features[CPU_FW_X7_EDX];
		break;
	case 0x80000008:
		out[0] = (48u << 8) | BT_MAXPHYADDR; /* 40 physical, 48 linear address bits */
		break;
	default:
		break;
	}
}

/* Whether the host's OS has the AVX state enabled (CPUID.1:ECX.OSXSAVE, XCR0 bits 1 and 2). */
static bool bt_host_avx_state(void)
{
	unsigned r[4], lo, hi;

	if (!__get_cpuid(1, &r[0], &r[1], &r[2], &r[3]) || !(r[2] & (1u << 27)))
		return false;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	return (lo & 6) == 6;
}

/*
 * Floating-point instructions the engine carries out with the same host instruction (ops/
 * ssefp.c, avx.c, x87.c: the host rounds, the guest's MXCSR controls): a model with their
 * feature needs a host CPU that has it too. The default model (drop) goes without what the
 * host lacks, and without what needs that; a model the user chose is refused.
 */
int bt_host_check(struct cpu_model *m, bool drop, char *why, size_t len)
{
	static const struct {
		enum cpu_feature f;
		unsigned bit; /* CPUID.1:ECX */
		bool avx;     /* and the AVX state enabled */
		const char *what;
	} host[] = {
		{ CPU_F_SSE3, 0, false, "ADDSUBPS, HADDPS, HSUBPS and FISTTP" },
		{ CPU_F_SSE4_1, 19, false, "ROUNDPS/PD/SS/SD" },
		{ CPU_F_AVX, 28, true, "VCMPPS/PD/SS/SD's predicates 8 to 31" },
		{ CPU_F_FMA, 12, true, "the fused multiply-adds" },
		{ CPU_F_F16C, 29, true, "VCVTPH2PS and VCVTPS2PH" },
	};

	unsigned r[4] = { 0 };
	bool avx_state = bt_host_avx_state();
	size_t at = 0;
	int dropped = 0;

	__get_cpuid(1, &r[0], &r[1], &r[2], &r[3]);
	if (len)
		why[0] = 0;
	for (unsigned i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
		if (!cpu_model_has(m, host[i].f) ||
		    (((r[2] >> host[i].bit) & 1) && (!host[i].avx || avx_state)))
			continue;
		if (!drop) {
			snprintf(
				why, len,
				"%s: the BT engine computes %s with the host's own instructions, "
				"and this host's CPU lacks them: remove the feature (\"%s\": false)",
				cpu_feature_name(host[i].f), host[i].what,
				cpu_feature_name(host[i].f));
			return -EOPNOTSUPP;
		}
		{
			struct cpu_model before = *m;

			cpu_model_drop(m, host[i].f);
			for (unsigned k = 0; k < cpu_nr_features(); k++) {
				enum cpu_feature f = cpu_feature_at(k);
				int n;

				if (!cpu_model_has(&before, f) || cpu_model_has(m, f) ||
				    at + 1 >= len)
					continue;
				n = snprintf(why + at, len - at, "%s%s", at ? " " : "",
					     cpu_feature_name(f));
				at = n > 0 && (size_t)n < len - at ? at + (size_t)n : len - 1;
				dropped++;
			}
		}
	}
	return dropped;
}
