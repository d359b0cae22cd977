// SPDX-License-Identifier: MIT
/*
 * The engine's CPUID model (SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E
 * for the 8000_00xx leaves and the AMD cache descriptors). Vendor
 * AuthenticAMD, family 0Fh model 2Bh stepping 1 (a dual-core-era K8, Athlon
 * 64 X2 "Manchester"): Linux's K8 path then asks for little (HWCR and DE_CFG
 * through the _safe MSR accessors; model >= 14h avoids the LAHF erratum 110
 * fix-up; model < 41h avoids erratum 400, whose C1E workaround reads an MSR
 * unconditionally), and for family 0Fh the AMD perf and microcode drivers
 * stand aside.
 *
 * Only features the engine implements are advertised, so everything else is
 * #UD as on a CPU without them. Leaf 1 EDX: FPU, DE, PSE, TSC, MSR, PAE,
 * MCE (CR4.MCE may be set, as firmware such as OVMF does unconditionally; the
 * engine never signals a machine check), CX8, APIC (the machine's local APIC),
 * SEP, MTRR, PGE, CMOV, PAT, PSE-36,
 * CLFLUSH (0F AE /7; a no-op on coherent memory), MMX, FXSR, SSE, SSE2
 * (clearing the model's sse2 knob hides the last three). Leaf 1 ECX: CX16,
 * MOVBE and POPCNT (knobs), and the hypervisor bit with a signature that is
 * no known hypervisor's in leaf 4000_0000h (so Linux looks for no
 * paravirtual clock). 8000_0001h: SYSCALL, NX, LM, LAHF/SAHF in 64-bit mode,
 * ABM (LZCNT, knob). BMI1 (leaf 7) only when the model asks for it (the
 * differential tests do; its VEX forms are not implemented). Invariant TSC
 * (8000_0007h EDX bit 8): the TSC runs on virtual time at a constant rate.
 * Not advertised: VME, MCA (no machine-check banks), HTT, SSE3 and later, XSAVE/AVX, PCID,
 * FSGSBASE, x2APIC, 1 GiB pages, RDTSCP, SVM, performance counters.
 */
#include "bt-fallback/bt.h"

#include <string.h>

static u32 bt_cpuid_str(const char *s)
{
	u32 v;

	memcpy(&v, s, 4);
	return v;
}

/* Family 0Fh, model 2Bh (extended model 2, model 0Bh), stepping 1. */
#define BT_CPUID_SIGNATURE 0x00020fb1u

/* Leaf 1 EDX / 8000_0001h EDX bits. */
#define BT_CPUID_FPU	 (1u << 0)
#define BT_CPUID_DE	 (1u << 2)
#define BT_CPUID_PSE	 (1u << 3)
#define BT_CPUID_TSC	 (1u << 4)
#define BT_CPUID_MSR	 (1u << 5)
#define BT_CPUID_PAE	 (1u << 6)
#define BT_CPUID_MCE	 (1u << 7)
#define BT_CPUID_CX8	 (1u << 8)
#define BT_CPUID_APIC	 (1u << 9)
#define BT_CPUID_SEP	 (1u << 11) /* leaf 1; SYSCALL in 8000_0001h */
#define BT_CPUID_MTRR	 (1u << 12)
#define BT_CPUID_PGE	 (1u << 13)
#define BT_CPUID_CMOV	 (1u << 15)
#define BT_CPUID_PAT	 (1u << 16)
#define BT_CPUID_PSE36	 (1u << 17)
#define BT_CPUID_CLFLUSH (1u << 19)
#define BT_CPUID_NX	 (1u << 20) /* 8000_0001h */
#define BT_CPUID_MMX	 (1u << 23)
#define BT_CPUID_FXSR	 (1u << 24)
#define BT_CPUID_SSE	 (1u << 25)
#define BT_CPUID_SSE2	 (1u << 26)
#define BT_CPUID_LM	 (1u << 29) /* 8000_0001h */

/* The features leaf 1 EDX and 8000_0001h EDX share (AMD mirrors them). */
#define BT_CPUID_COMMON_EDX                                                                       \
	(BT_CPUID_FPU | BT_CPUID_DE | BT_CPUID_PSE | BT_CPUID_TSC | BT_CPUID_MSR | BT_CPUID_PAE | \
	 BT_CPUID_MCE | BT_CPUID_CX8 | BT_CPUID_APIC | BT_CPUID_MTRR | BT_CPUID_PGE |             \
	 BT_CPUID_CMOV | BT_CPUID_PAT | BT_CPUID_PSE36 | BT_CPUID_MMX)

void bt_cpuid(const struct bt_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	static const char brand[48] = "BT engine virtual CPU";
	static const char hv[12] = "BTengineVirt";
	const struct bt_cpuid_model *m = &cpu->cpuid;

	memset(out, 0, 4 * sizeof(u32));
	switch (leaf) {
	case 0:
		out[0] = 7;
		out[1] = bt_cpuid_str("Auth");
		out[3] = bt_cpuid_str("enti");
		out[2] = bt_cpuid_str("cAMD");
		break;
	case 1:
		out[0] = BT_CPUID_SIGNATURE;
		/* Initial APIC ID, one logical processor, CLFLUSH line 8 * 8 bytes. */
		out[1] = (cpu->index << 24) | (1u << 16) | (8u << 8);
		out[2] = (1u << 13) | (m->movbe ? 1u << 22 : 0) | (m->popcnt ? 1u << 23 : 0) |
			 (1u << 31);
		out[3] = BT_CPUID_COMMON_EDX | BT_CPUID_SEP | BT_CPUID_CLFLUSH |
			 (m->sse2 ? BT_CPUID_FXSR | BT_CPUID_SSE | BT_CPUID_SSE2 : 0);
		break;
	case 7:
		if (subleaf == 0)
			out[1] = m->bmi1 ? 1u << 3 : 0;
		break;
	case 0x40000000:
		out[0] = 0x40000000;
		memcpy(&out[1], hv, 12);
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		out[1] = bt_cpuid_str("Auth");
		out[3] = bt_cpuid_str("enti");
		out[2] = bt_cpuid_str("cAMD");
		break;
	case 0x80000001:
		out[0] = BT_CPUID_SIGNATURE;
		out[2] = 1u | (m->lzcnt ? 1u << 5 : 0); /* LAHF/SAHF in 64-bit mode, ABM */
		out[3] = BT_CPUID_COMMON_EDX | BT_CPUID_SEP | BT_CPUID_NX | BT_CPUID_LM |
			 (m->sse2 ? BT_CPUID_FXSR : 0);
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000005:
		/* L1 TLBs (fully associative, 8 large / 32 small entries); L1D and L1I 64 KiB,
		 * 2-way, one line per tag, 64-byte lines (APM vol. 3 E.4.4). */
		out[0] = 0xff08ff08;
		out[1] = 0xff20ff20;
		out[2] = 0x40020140;
		out[3] = 0x40020140;
		break;
	case 0x80000006:
		/* L2: 512 KiB, 16-way (encoding 8), one line per tag, 64-byte lines; no L3. */
		out[2] = (512u << 16) | (8u << 12) | (1u << 8) | 64u;
		break;
	case 0x80000007:
		out[3] = 1u << 8; /* invariant TSC */
		break;
	case 0x80000008:
		out[0] = (48u << 8) | BT_MAXPHYADDR; /* 40 physical, 48 linear address bits */
		break;
	default:
		break;
	}
}
