// SPDX-License-Identifier: MIT
/*
 * The engine's CPUID model (SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E
 * for the 8000_00xx leaves). Vendor AuthenticAMD, family 0xF model 0x6B
 * like QEMU's qemu64 (research bt-engine.md 2.4). Only features the
 * executor implements are advertised, so everything else is #UD as on a
 * CPU without them: today TSC, CX8, CMOV, CX16, POPCNT, MOVBE, LZCNT (ABM)
 * and LAHF/SAHF in 64-bit mode; BMI1 only when the model asks for it (the
 * differential tests do, for TZCNT; its VEX forms are not implemented).
 * The x87 FPU and MMX (ops/x87.c, ops/mmx.c, checked against the host by
 * the differential tests). FXSR, SSE and SSE2 by default (x86-64 code
 * requires SSE2); clearing the model's sse2 knob hides all three and their
 * instructions raise #UD. Not advertised: RDTSCP (0F 01 F9 is #UD),
 * SYSCALL, NX, LM (the system side of BT part 2).
 */
#include "bt-fallback/bt.h"

#include <string.h>

static u32 bt_cpuid_str(const char *s)
{
	u32 v;

	memcpy(&v, s, 4);
	return v;
}

void bt_cpuid(const struct bt_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4])
{
	static const char brand[48] = "BT engine virtual CPU";
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
		out[0] = 0x00060fb1;
		out[1] = (cpu->index << 24) | (1u << 16) | (8u << 8);
		out[2] = (1u << 13) | (m->movbe ? 1u << 22 : 0) | (m->popcnt ? 1u << 23 : 0) |
			 (1u << 31);
		out[3] = 1u /* FPU */ | (1u << 4) | (1u << 23) /* MMX */ | (1u << 8) | (1u << 15) |
			 (m->sse2 ? 7u << 24 : 0);
		break;
	case 7:
		if (subleaf == 0)
			out[1] = m->bmi1 ? 1u << 3 : 0;
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		out[1] = bt_cpuid_str("Auth");
		out[3] = bt_cpuid_str("enti");
		out[2] = bt_cpuid_str("cAMD");
		break;
	case 0x80000001:
		out[0] = 0x00060fb1;
		out[2] = 1u | (m->lzcnt ? 1u << 5 : 0);
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000008:
		out[0] = 0x3028; /* 40 physical, 48 linear address bits */
		break;
	default:
		break;
	}
}
