// SPDX-License-Identifier: MIT
/*
 * The MSRs the CPU keeps itself (SDM vol. 4 chapter 2 table 2-2, the architectural MSRs; AMD
 * APM vol. 2 appendix A, the AMD64 architectural MSRs, and the BKDG/PPR of each family for
 * HWCR, SYSCFG, NB_CFG, DE_CFG), audited per vendor and per CPUID feature: an MSR exists when
 * the modelled CPU has it, reads and writes as on that CPU (reserved bits #GP), and every other
 * index is #GP(0). The machine's MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC 0x800-0x8ff)
 * go to mem->msr, after the CPU checked that its model has them.
 *
 *  - Both vendors: TSC and TSC_ADJUST (vol. 3B 18.17.3: writing one moves the other),
 *    BIOS_SIGN_ID / PATCH_LEVEL (0x8b), MTRRcap and the MTRRs (vol. 3A 12.11), SYSENTER_*,
 *    the machine-check architecture (MCG_CAP with BT_MC_BANKS banks and MCG_CTL, MCG_STATUS,
 *    MCi_CTL/STATUS/ADDR/MISC, vol. 3B 16.3: MCi_CTL takes 0 or all ones, MCi_STATUS only 0
 *    unless AMD's HWCR.McStatusWrEn), DEBUGCTL with LBR and BTF (the LBR MSRs record nothing
 *    and read 0), PAT, EFER, the SYSCALL MSRs, the FS/GS bases and TSC_AUX.
 *  - AMD: the K7 legacy performance counters PerfEvtSel0-3 / PerfCtr0-3 (APM vol. 2 13.2.1:
 *    they exist on every AMD64 CPU; here they hold what is written and count nothing), HWCR
 *    (TscFreqSel set from family 10h on), SYSCFG (the MTRR extension bits), IORRs, TOP_MEM,
 *    TOP_MEM2, NB_CFG, DE_CFG (family 10h on), the SMM base, address and mask, MCi_CTL_MASK
 *    (family 10h on).
 *  - Intel: PLATFORM_ID, IA32_FEATURE_CONTROL (locked, nothing enabled), MISC_ENABLE (fast
 *    strings, LIMIT_CPUID, XD_DISABLE writable; BTS and PEBS unavailable), ARCH_CAPABILITIES
 *    when CPUID.7.EDX[29] says so. No architectural performance monitoring (CPUID leaf 0Ah is
 *    version 0), so IA32_PMCx and IA32_PERFEVTSELx do not exist.
 *
 * The TSC runs on virtual time (mem->clock_ns) at BT_TSC_KHZ.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <time.h>

#define BT_MSR_TSC		 0x10u
#define BT_MSR_PLATFORM_ID	 0x17u
#define BT_MSR_APIC_BASE	 0x1bu
#define BT_MSR_FEATURE_CONTROL	 0x3au
#define BT_MSR_TSC_ADJUST	 0x3bu
#define BT_MSR_BIOS_SIGN_ID	 0x8bu
#define BT_MSR_MTRRCAP		 0xfeu
#define BT_MSR_ARCH_CAPABILITIES 0x10au
#define BT_MSR_SYSENTER_CS	 0x174u
#define BT_MSR_SYSENTER_ESP	 0x175u
#define BT_MSR_SYSENTER_EIP	 0x176u
#define BT_MSR_MCG_CAP		 0x179u
#define BT_MSR_MCG_STATUS	 0x17au
#define BT_MSR_MCG_CTL		 0x17bu
#define BT_MSR_MISC_ENABLE	 0x1a0u
#define BT_MSR_DEBUGCTL		 0x1d9u
#define BT_MSR_LBR_FIRST	 0x1dbu /* LastBranchFromIP .. LastExceptionToIP */
#define BT_MSR_LBR_LAST		 0x1deu
#define BT_MSR_MTRR_PHYS_BASE0	 0x200u
#define BT_MSR_MTRR_FIX64K	 0x250u
#define BT_MSR_MTRR_FIX16K_80	 0x258u
#define BT_MSR_MTRR_FIX16K_A0	 0x259u
#define BT_MSR_MTRR_FIX4K_C0	 0x268u
#define BT_MSR_PAT		 0x277u
#define BT_MSR_MTRR_DEF_TYPE	 0x2ffu
#define BT_MSR_MC0_CTL		 0x400u
#define BT_MSR_TSC_DEADLINE	 0x6e0u
#define BT_MSR_X2APIC_FIRST	 0x800u
#define BT_MSR_X2APIC_LAST	 0x8ffu
#define BT_MSR_EFER		 0xc0000080u
#define BT_MSR_STAR		 0xc0000081u
#define BT_MSR_LSTAR		 0xc0000082u
#define BT_MSR_CSTAR		 0xc0000083u
#define BT_MSR_SFMASK		 0xc0000084u
#define BT_MSR_FS_BASE		 0xc0000100u
#define BT_MSR_GS_BASE		 0xc0000101u
#define BT_MSR_KERNEL_GS_BASE	 0xc0000102u
#define BT_MSR_TSC_AUX		 0xc0000103u
#define BT_MSR_PERF_SEL0	 0xc0010000u
#define BT_MSR_PERF_CTR0	 0xc0010004u
#define BT_MSR_SYSCFG		 0xc0010010u
#define BT_MSR_HWCR		 0xc0010015u
#define BT_MSR_IORR_BASE0	 0xc0010016u
#define BT_MSR_TOP_MEM		 0xc001001au
#define BT_MSR_TOP_MEM2		 0xc001001du
#define BT_MSR_NB_CFG		 0xc001001fu
#define BT_MSR_MC0_CTL_MASK	 0xc0010044u
#define BT_MSR_SMM_BASE		 0xc0010111u
#define BT_MSR_SMM_ADDR		 0xc0010112u
#define BT_MSR_SMM_MASK		 0xc0010113u
#define BT_MSR_DE_CFG		 0xc0011029u

/*
 * SYSCFG (AMD APM vol. 2 A.2, K8 BKDG): only the MTRR extension bits MtrrFixDramEn,
 * MtrrFixDramModEn, MtrrVarDramEn, MtrrTom2En and Tom2ForceMemTypeWB (18-22) exist in the
 * model; Linux's MTRR code reads it unconditionally on family 0Fh and later.
 */
#define BT_SYSCFG_MTRR_BITS (0x1full << 18)
#define BT_SYSCFG_TOM2_EN   (1ull << 21)
/* HWCR bits a write may set (family 10h+ PPR): SMMLOCK .. CpbDis; McStatusWrEn is bit 18. */
#define BT_HWCR_VALID	      0x0000000007fef3dbull
#define BT_HWCR_MCSTATUS_WREN (1ull << 18)
#define BT_HWCR_TSC_FREQ_SEL  (1ull << 24)
#define BT_PERF_SEL_RESERVED  0xfffffff000280000ull /* bits 19, 21, 36-63 */
#define BT_PERF_CTR_MASK      ((1ull << 48) - 1)
#define BT_DEBUGCTL_VALID     0x3ull /* LBR, BTF */
/* MISC_ENABLE: fast strings (0), BTS (11) and PEBS (12) unavailable, LIMIT_CPUID (22), XD (34) */
#define BT_MISC_ENABLE_RESET	((1ull << 0) | (1ull << 11) | (1ull << 12))
#define BT_MISC_ENABLE_WRITE	((1ull << 0) | (1ull << 22) | (1ull << 34))
#define BT_FEATURE_CONTROL_LOCK 1ull
/*
 * IA32_ARCH_CAPABILITIES (SDM vol. 4 table 2-2): RDCL_NO, SKIP_L1DFL_VMENTRY, SSB_NO, MDS_NO,
 * PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO, BHI_NO, PBRSB_NO, GDS_NO, RFDS_NO:
 * an emulated CPU has none of the hardware bugs behind them.
 */
#define BT_ARCH_CAPS                                                                               \
	((1ull << 0) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) |       \
	 (1ull << 13) | (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | (1ull << 26) | \
	 (1ull << 27))
/* MCG_CAP: Count, MCG_CTL_P (bit 8); no CMCI, threshold status, extended or LMCE. */
#define BT_MCG_CAP ((u64)BT_MC_BANKS | (1ull << 8))
/* The microcode revision reported in BIOS_SIGN_ID[63:32] (Intel) / PATCH_LEVEL (AMD). */
#define BT_UCODE_REV 0x01000001ull

#define BT_MTRR_VAR_COUNT 8
/* MTRRcap: VCNT = 8, FIX (bit 8), WC (bit 10); no SMRR. */
#define BT_MTRRCAP (BT_MTRR_VAR_COUNT | (1u << 8) | (1u << 10))
/* Bits above MAXPHYADDR in MTRR bases and masks are reserved. */
#define BT_PHYS_RSVD (~((1ull << BT_MAXPHYADDR) - 1))

static bool bt_msr_amd(const struct bt_cpu *cpu)
{
	return !bt_intel(cpu);
}

/* AMD family 10h and later (the K8 lacks DE_CFG, MCi_CTL_MASK; HWCR.TscFreqSel is fixed). */
static bool bt_msr_amd_fam10(const struct bt_cpu *cpu)
{
	return bt_msr_amd(cpu) && cpu_model_family(&cpu->model) >= 0x10;
}

void bt_msr_reset(struct bt_cpu *cpu)
{
	struct bt_msrs *m = &cpu->msr;

	*m = (struct bt_msrs){ 0 };
	m->pat = 0x0007040600070406ull; /* WB, WT, UC-, UC twice (SDM vol. 3A table 12-12) */
	m->misc_enable = BT_MISC_ENABLE_RESET;
	m->feature_control = BT_FEATURE_CONTROL_LOCK;
	if (bt_msr_amd_fam10(cpu))
		m->hwcr = BT_HWCR_TSC_FREQ_SEL;
	m->smm_base = 0x30000;
	for (unsigned i = 0; i < BT_MC_BANKS; i++)
		m->mc[i][0] = ~0ull; /* MCi_CTL: every error type reported */
	cpu->tsc_offset = 0;
}

/* Memory types an MTRR may hold: UC, WC, WT, WP, WB (SDM vol. 3A table 12-8). */
static bool bt_msr_mtrr_type_ok(u64 t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

/* Eight memory types packed in a fixed-range MTRR or the PAT. */
static bool bt_msr_types_ok(u64 v, bool pat)
{
	for (unsigned i = 0; i < 8; i++) {
		u64 t = (v >> (8 * i)) & 0xff;

		if (!(bt_msr_mtrr_type_ok(t) || (pat && t == 7)))
			return false;
	}
	return true;
}

/* Index in mtrr_fixed[] of a fixed-range MTRR, or -1. */
static int bt_msr_fixed_index(u32 index)
{
	if (index == BT_MSR_MTRR_FIX64K)
		return 0;
	if (index == BT_MSR_MTRR_FIX16K_80 || index == BT_MSR_MTRR_FIX16K_A0)
		return (int)(index - BT_MSR_MTRR_FIX16K_80) + 1;
	if (index >= BT_MSR_MTRR_FIX4K_C0 && index < BT_MSR_MTRR_FIX4K_C0 + 8)
		return (int)(index - BT_MSR_MTRR_FIX4K_C0) + 3;
	return -1;
}

static bool bt_msr_in(u32 index, u32 first, u32 n)
{
	return index >= first && index - first < n;
}

/* The register behind a plain read/write MSR of the model (with its write check), or NULL. */
static u64 *bt_msr_slot(struct bt_cpu *cpu, u32 index)
{
	struct bt_msrs *m = &cpu->msr;
	int fixed = bt_msr_fixed_index(index);

	if (bt_has(cpu, CPU_F_MTRR)) {
		if (fixed >= 0)
			return &m->mtrr_fixed[fixed];
		if (bt_msr_in(index, BT_MSR_MTRR_PHYS_BASE0, 2 * BT_MTRR_VAR_COUNT))
			return &m->mtrr_var[index - BT_MSR_MTRR_PHYS_BASE0];
		if (index == BT_MSR_MTRR_DEF_TYPE)
			return &m->mtrr_def_type;
	}
	if (bt_has(cpu, CPU_F_MCA) && bt_msr_in(index, BT_MSR_MC0_CTL, 4 * BT_MC_BANKS))
		return &m->mc[(index - BT_MSR_MC0_CTL) / 4][index & 3];
	if (bt_msr_amd(cpu)) {
		if (bt_msr_in(index, BT_MSR_PERF_SEL0, BT_PERF_COUNTERS))
			return &m->perf_sel[index - BT_MSR_PERF_SEL0];
		if (bt_msr_in(index, BT_MSR_PERF_CTR0, BT_PERF_COUNTERS))
			return &m->perf_ctr[index - BT_MSR_PERF_CTR0];
		if (bt_msr_in(index, BT_MSR_IORR_BASE0, 4))
			return &m->iorr[index - BT_MSR_IORR_BASE0];
		if (bt_has(cpu, CPU_F_MCA) && bt_msr_amd_fam10(cpu) &&
		    bt_msr_in(index, BT_MSR_MC0_CTL_MASK, BT_MC_BANKS))
			return &m->mc_ctl_mask[index - BT_MSR_MC0_CTL_MASK];
		switch (index) {
		case BT_MSR_HWCR:
			return &m->hwcr;
		case BT_MSR_SYSCFG:
			return &m->syscfg;
		case BT_MSR_TOP_MEM:
			return &m->top_mem;
		case BT_MSR_TOP_MEM2:
			return &m->top_mem2;
		case BT_MSR_NB_CFG:
			return &m->nb_cfg;
		case BT_MSR_SMM_BASE:
			return &m->smm_base;
		case BT_MSR_SMM_ADDR:
			return &m->smm_addr;
		case BT_MSR_SMM_MASK:
			return &m->smm_mask;
		case BT_MSR_DE_CFG:
			return bt_msr_amd_fam10(cpu) ? &m->de_cfg : NULL;
		default:
			break;
		}
	} else {
		switch (index) {
		case BT_MSR_MISC_ENABLE:
			return &m->misc_enable;
		case BT_MSR_FEATURE_CONTROL:
			return &m->feature_control;
		default:
			break;
		}
	}
	switch (index) {
	case BT_MSR_SYSENTER_CS:
		return bt_has(cpu, CPU_F_SEP) ? &m->sysenter_cs : NULL;
	case BT_MSR_SYSENTER_ESP:
		return bt_has(cpu, CPU_F_SEP) ? &m->sysenter_esp : NULL;
	case BT_MSR_SYSENTER_EIP:
		return bt_has(cpu, CPU_F_SEP) ? &m->sysenter_eip : NULL;
	case BT_MSR_MCG_STATUS:
		return bt_has(cpu, CPU_F_MCA) ? &m->mcg_status : NULL;
	case BT_MSR_MCG_CTL:
		return bt_has(cpu, CPU_F_MCA) ? &m->mcg_ctl : NULL;
	case BT_MSR_DEBUGCTL:
		return &m->debugctl;
	case BT_MSR_PAT:
		return bt_has(cpu, CPU_F_PAT) ? &m->pat : NULL;
	case BT_MSR_TSC_ADJUST:
		return bt_has(cpu, CPU_F_TSC_ADJUST) ? &m->tsc_adjust : NULL;
	case BT_MSR_TSC_AUX:
		return bt_has(cpu, CPU_F_RDTSCP) || bt_has(cpu, CPU_F_RDPID) ? &m->tsc_aux : NULL;
	case BT_MSR_STAR:
		return bt_has(cpu, CPU_F_SYSCALL) ? &m->star : NULL;
	case BT_MSR_LSTAR:
		return bt_has(cpu, CPU_F_LM) ? &m->lstar : NULL;
	case BT_MSR_CSTAR:
		return bt_has(cpu, CPU_F_LM) ? &m->cstar : NULL;
	case BT_MSR_SFMASK:
		return bt_has(cpu, CPU_F_LM) ? &m->sfmask : NULL;
	case BT_MSR_FS_BASE:
		return bt_has(cpu, CPU_F_LM) ? &cpu->st.seg[CPU_FS].base : NULL;
	case BT_MSR_GS_BASE:
		return bt_has(cpu, CPU_F_LM) ? &cpu->st.seg[CPU_GS].base : NULL;
	case BT_MSR_KERNEL_GS_BASE:
		return bt_has(cpu, CPU_F_LM) ? &m->kernel_gs_base : NULL;
	default:
		return NULL;
	}
}

/* Does the model have this machine MSR (x2APIC, TSC deadline)? */
static bool bt_msr_machine_exists(const struct bt_cpu *cpu, u32 index)
{
	if (index == BT_MSR_TSC_DEADLINE)
		return bt_has(cpu, CPU_F_TSC_DEADLINE);
	if (index >= BT_MSR_X2APIC_FIRST && index <= BT_MSR_X2APIC_LAST)
		return bt_has(cpu, CPU_F_X2APIC);
	return true;
}

/* The machine's MSRs first: 1 when it answered (*ret set), 0 when the CPU model decides. */
static int bt_msr_machine(struct bt_cpu *cpu, u32 index, bool is_write, u64 *val, int *ret)
{
	int r;

	if (!bt_msr_machine_exists(cpu, index)) {
		*ret = -EPERM;
		return 1;
	}
	if (!cpu->mem->msr)
		return 0;
	r = cpu->mem->msr(cpu->mem->io_opaque, cpu->index, index, is_write, val);
	if (r == -ENOENT)
		return 0;
	*ret = r < 0 ? -EPERM : 0;
	return 1;
}

int bt_msr_read(struct bt_cpu *cpu, u32 index, u64 *val)
{
	u64 *slot;
	int ret;

	*val = 0;
	if (bt_msr_machine(cpu, index, false, val, &ret))
		return ret;
	switch (index) {
	case BT_MSR_TSC:
		*val = bt_rdtsc(cpu);
		return 0;
	case BT_MSR_BIOS_SIGN_ID:
		/* Intel: the revision in bits 63:32; AMD PATCH_LEVEL: the revision itself. */
		*val = bt_intel(cpu) ? BT_UCODE_REV << 32 : BT_UCODE_REV;
		return 0;
	case BT_MSR_PLATFORM_ID:
		return bt_intel(cpu) ? 0 : -EPERM; /* platform ID 0 in bits 52:50 */
	case BT_MSR_ARCH_CAPABILITIES:
		if (!bt_has(cpu, CPU_F_ARCH_CAPABILITIES))
			return -EPERM;
		*val = BT_ARCH_CAPS;
		return 0;
	case BT_MSR_MTRRCAP:
		if (!bt_has(cpu, CPU_F_MTRR))
			return -EPERM;
		*val = BT_MTRRCAP;
		return 0;
	case BT_MSR_MCG_CAP:
		if (!bt_has(cpu, CPU_F_MCA))
			return -EPERM;
		*val = BT_MCG_CAP;
		return 0;
	case BT_MSR_EFER:
		*val = cpu->st.efer;
		return 0;
	default:
		break;
	}
	if (index >= BT_MSR_LBR_FIRST && index <= BT_MSR_LBR_LAST)
		return 0; /* no branch recorded */
	slot = bt_msr_slot(cpu, index);
	if (!slot)
		return -EPERM;
	*val = *slot;
	if (bt_msr_in(index, BT_MSR_PERF_CTR0, BT_PERF_COUNTERS) && bt_msr_amd(cpu))
		*val &= BT_PERF_CTR_MASK;
	return 0;
}

/* MCi_CTL, MCi_STATUS (SDM vol. 3B 16.3.2; the rules KVM applies to guests, which Linux expects). */
static bool bt_msr_mc_write_ok(const struct bt_cpu *cpu, u32 index, u64 val)
{
	unsigned bank = (index - BT_MSR_MC0_CTL) / 4;

	switch (index & 3) {
	case 0:
		/* 0 or all ones; Linux clears bit 10 of bank 4 on AMD K8 (GART TLB erratum). */
		return val == 0 || val == ~0ull ||
		       (bt_msr_amd(cpu) && bank == 4 && val == ~(1ull << 10));
	case 1:
		return val == 0 || (bt_msr_amd(cpu) && (cpu->msr.hwcr & BT_HWCR_MCSTATUS_WREN));
	default:
		return true;
	}
}

/* Reserved-bit and canonical checks of a write (SDM vol. 4 tables 2-2, 2-3; vol. 3A 12.11). */
static bool bt_msr_write_ok(const struct bt_cpu *cpu, u32 index, u64 val)
{
	if (bt_msr_in(index, BT_MSR_MTRR_PHYS_BASE0, 2 * BT_MTRR_VAR_COUNT)) {
		if (!(index & 1)) /* IA32_MTRR_PHYSBASEn: type in 7:0, 11:8 reserved */
			return !(val & (BT_PHYS_RSVD | 0xf00)) && bt_msr_mtrr_type_ok(val & 0xff);
		return !(val & (BT_PHYS_RSVD | 0x7ff)); /* PHYSMASKn: valid in bit 11 */
	}
	if (bt_msr_fixed_index(index) >= 0)
		return bt_msr_types_ok(val, false);
	if (bt_msr_in(index, BT_MSR_MC0_CTL, 4 * BT_MC_BANKS))
		return bt_msr_mc_write_ok(cpu, index, val);
	if (bt_msr_amd(cpu) && bt_msr_in(index, BT_MSR_PERF_SEL0, BT_PERF_COUNTERS))
		return !(val & BT_PERF_SEL_RESERVED);
	if (bt_msr_amd(cpu) && bt_msr_in(index, BT_MSR_IORR_BASE0, 4))
		return !(val & BT_PHYS_RSVD);
	switch (index) {
	case BT_MSR_PAT:
		return bt_msr_types_ok(val, true);
	case BT_MSR_MTRR_DEF_TYPE: /* type in 7:0, FE (10), E (11) */
		return !(val & ~0xcffull) && bt_msr_mtrr_type_ok(val & 0xff);
	case BT_MSR_SYSENTER_ESP:
	case BT_MSR_SYSENTER_EIP:
	case BT_MSR_LSTAR:
	case BT_MSR_CSTAR:
	case BT_MSR_FS_BASE:
	case BT_MSR_GS_BASE:
	case BT_MSR_KERNEL_GS_BASE:
		return bt_canonical(val);
	case BT_MSR_SFMASK:
	case BT_MSR_SYSENTER_CS:
	case BT_MSR_TSC_AUX:
		return !(val >> 32);
	case BT_MSR_SYSCFG:
		return !(val & ~BT_SYSCFG_MTRR_BITS);
	case BT_MSR_HWCR:
		return !(val & ~BT_HWCR_VALID);
	case BT_MSR_MCG_STATUS:
		return !(val & ~7ull); /* RIPV, EIPV, MCIP */
	case BT_MSR_MCG_CTL:
		return val == 0 || val == ~0ull;
	case BT_MSR_DEBUGCTL:
		return !(val & ~BT_DEBUGCTL_VALID);
	case BT_MSR_MISC_ENABLE:
		return !((val ^ cpu->msr.misc_enable) & ~BT_MISC_ENABLE_WRITE);
	case BT_MSR_FEATURE_CONTROL:
		return false; /* locked */
	case BT_MSR_TOP_MEM:
	case BT_MSR_TOP_MEM2:
		return !(val & (BT_PHYS_RSVD | 0x7fffff)); /* 8 MiB granular */
	case BT_MSR_SMM_BASE:
	case BT_MSR_SMM_ADDR:
	case BT_MSR_SMM_MASK:
		return !(val >> 32);
	default:
		return true;
	}
}

/* Writing the TSC or TSC_ADJUST moves both (SDM vol. 3B 18.17.3). */
static void bt_msr_set_tsc(struct bt_cpu *cpu, u64 val)
{
	u64 old = bt_rdtsc(cpu);

	cpu->tsc_offset += val - old;
	cpu->msr.tsc_adjust += val - old;
}

int bt_msr_write(struct bt_cpu *cpu, u32 index, u64 val)
{
	u64 *slot;
	int ret;

	if (bt_msr_machine(cpu, index, true, &val, &ret))
		return ret;
	switch (index) {
	case BT_MSR_TSC:
		bt_msr_set_tsc(cpu, val);
		return 0;
	case BT_MSR_TSC_ADJUST:
		if (!bt_has(cpu, CPU_F_TSC_ADJUST))
			return -EPERM;
		cpu->tsc_offset += val - cpu->msr.tsc_adjust;
		cpu->msr.tsc_adjust = val;
		return 0;
	case BT_MSR_EFER:
		return bt_efer_write(cpu, val);
	case BT_MSR_BIOS_SIGN_ID:
		return bt_intel(cpu) ? 0 : -EPERM; /* Intel: cleared before CPUID, then read */
	default:
		break;
	}
	if (index >= BT_MSR_LBR_FIRST && index <= BT_MSR_LBR_LAST)
		return -EPERM; /* read-only */
	slot = bt_msr_slot(cpu, index);
	if (!slot || !bt_msr_write_ok(cpu, index, val))
		return -EPERM;
	if (index == BT_MSR_HWCR && bt_msr_amd_fam10(cpu))
		val |= BT_HWCR_TSC_FREQ_SEL;
	if (index == BT_MSR_MISC_ENABLE && ((val ^ *slot) & (1ull << 34)))
		bt_tlb_flush(cpu); /* XD_DISABLE: cached execute rights depend on it */
	*slot = val;
	return 0;
}

unsigned bt_msr_list(const u32 **indexes)
{
	/*
	 * EFER and the FS/GS bases travel in struct cpu_state. The TSC is not carried: it follows
	 * the VM's virtual clock, and writing back a value saved earlier would move it back (the
	 * machine applies its power-on state at INIT, which must leave the TSC alone, SDM vol. 3A
	 * table 10-1; the CPUs' counters then stay in step). A restore skips the ones the model
	 * lacks (they read #GP when saved, so they are not in the saved list).
	 */
	static const u32 list[] = {
		/* HWCR first: a nonzero MCi_STATUS is restored only under its McStatusWrEn. */
		BT_MSR_HWCR,
		BT_MSR_SYSCFG,
		BT_MSR_SYSENTER_CS,
		BT_MSR_SYSENTER_ESP,
		BT_MSR_SYSENTER_EIP,
		BT_MSR_MISC_ENABLE,
		BT_MSR_MCG_STATUS,
		BT_MSR_MCG_CTL,
		BT_MSR_DEBUGCTL,
		0x200,
		0x201,
		0x202,
		0x203,
		0x204,
		0x205,
		0x206,
		0x207,
		0x208,
		0x209,
		0x20a,
		0x20b,
		0x20c,
		0x20d,
		0x20e,
		0x20f,
		BT_MSR_MTRR_FIX64K,
		BT_MSR_MTRR_FIX16K_80,
		BT_MSR_MTRR_FIX16K_A0,
		0x268,
		0x269,
		0x26a,
		0x26b,
		0x26c,
		0x26d,
		0x26e,
		0x26f,
		BT_MSR_PAT,
		BT_MSR_MTRR_DEF_TYPE,
		0x400,
		0x401,
		0x402,
		0x403,
		0x404,
		0x405,
		0x406,
		0x407,
		0x408,
		0x409,
		0x40a,
		0x40b,
		0x40c,
		0x40d,
		0x40e,
		0x40f,
		0x410,
		0x411,
		0x412,
		0x413,
		0x414,
		0x415,
		0x416,
		0x417,
		BT_MSR_STAR,
		BT_MSR_LSTAR,
		BT_MSR_CSTAR,
		BT_MSR_SFMASK,
		BT_MSR_KERNEL_GS_BASE,
		BT_MSR_TSC_AUX,
		BT_MSR_TSC_ADJUST,
		0xc0010000,
		0xc0010001,
		0xc0010002,
		0xc0010003,
		0xc0010004,
		0xc0010005,
		0xc0010006,
		0xc0010007,
		0xc0010016,
		0xc0010017,
		0xc0010018,
		0xc0010019,
		BT_MSR_TOP_MEM,
		BT_MSR_TOP_MEM2,
		BT_MSR_NB_CFG,
		0xc0010044,
		0xc0010045,
		0xc0010046,
		0xc0010047,
		0xc0010048,
		0xc0010049,
		BT_MSR_SMM_BASE,
		BT_MSR_SMM_ADDR,
		BT_MSR_SMM_MASK,
		BT_MSR_DE_CFG,
	};
	_Static_assert(BT_MC_BANKS == 6, "the list names the six banks' MSRs");

	*indexes = list;
	return sizeof(list) / sizeof(list[0]);
}

/* ------------------------------------------------------------------- TSC */

u64 bt_rdtsc(struct bt_cpu *cpu)
{
	struct timespec ts;
	u64 ns;

	if (cpu->mem->clock_ns) {
		ns = cpu->mem->clock_ns(cpu->mem->io_opaque);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ns = (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
	}
	/* ns * kHz / 10^6 exactly, in 64-bit steps the compiler divides by multiplication (a
	 * 128-bit division was a libgcc call on every RDTSC the guest's clock makes) */
	return ns / 1000000u * BT_TSC_KHZ + ns % 1000000u * BT_TSC_KHZ / 1000000u + cpu->tsc_offset;
}
