// SPDX-License-Identifier: MIT
/*
 * System registers of the BT CPU: CR0/CR3/CR4/EFER writes with the SDM's
 * consistency checks and their side effects on the softmmu TLB and the
 * execution mode (SDM vol. 3A 2.5 "Control Registers", 2.2.1 "Extended
 * Feature Enable Register", 4.1.1 and 4.10.4.1 for which changes flush the
 * TLB, 10.8.5 for entering and leaving IA-32e mode; vol. 2B "MOV--Move
 * to/from Control Registers" for the #GP conditions), the MSRs the CPU keeps
 * itself (SDM vol. 4 chapter 2 tables 2-2 and 2-3; AMD APM vol. 2 appendix A
 * for HWCR and SYSCFG), memory-type range registers and PAT validity (SDM vol. 3A 12.11,
 * 12.12), and the time-stamp counter in virtual time (vol. 3B 18.17).
 *
 * The machine's MSRs (APIC base, x2APIC, TSC deadline) come first through
 * mem->msr. An MSR the model does not have is #GP(0), as on hardware; Linux
 * reads the optional ones with the _safe accessors.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <time.h>

#define BT_MSR_TSC	       0x10u
#define BT_MSR_PATCH_LEVEL     0x8bu
#define BT_MSR_MTRRCAP	       0xfeu
#define BT_MSR_SYSENTER_CS     0x174u
#define BT_MSR_SYSENTER_ESP    0x175u
#define BT_MSR_SYSENTER_EIP    0x176u
#define BT_MSR_MISC_ENABLE     0x1a0u
#define BT_MSR_MTRR_PHYS_BASE0 0x200u
#define BT_MSR_MTRR_FIX64K     0x250u
#define BT_MSR_MTRR_FIX16K_80  0x258u
#define BT_MSR_MTRR_FIX16K_A0  0x259u
#define BT_MSR_MTRR_FIX4K_C0   0x268u
#define BT_MSR_PAT	       0x277u
#define BT_MSR_MTRR_DEF_TYPE   0x2ffu
#define BT_MSR_EFER	       0xc0000080u
#define BT_MSR_STAR	       0xc0000081u
#define BT_MSR_LSTAR	       0xc0000082u
#define BT_MSR_CSTAR	       0xc0000083u
#define BT_MSR_SFMASK	       0xc0000084u
#define BT_MSR_FS_BASE	       0xc0000100u
#define BT_MSR_GS_BASE	       0xc0000101u
#define BT_MSR_KERNEL_GS_BASE  0xc0000102u
#define BT_MSR_SYSCFG	       0xc0010010u
#define BT_MSR_HWCR	       0xc0010015u

/*
 * SYSCFG (AMD APM vol. 2 A.2, K8 BKDG): only the MTRR extension bits MtrrFixDramEn,
 * MtrrFixDramModEn, MtrrVarDramEn, MtrrTom2En and Tom2ForceMemTypeWB (18-22) exist in the
 * model; Linux's MTRR code reads it unconditionally on family 0Fh and later.
 */
#define BT_SYSCFG_MTRR_BITS (0x1full << 18)

#define BT_MTRR_VAR_COUNT 8
/* MTRRcap: VCNT = 8, FIX (bit 8), WC (bit 10); no SMRR. */
#define BT_MTRRCAP (BT_MTRR_VAR_COUNT | (1u << 8) | (1u << 10))
/* Bits above MAXPHYADDR in MTRR bases and masks are reserved. */
#define BT_PHYS_RSVD (~((1ull << BT_MAXPHYADDR) - 1))

#define BT_CR0_VALID                                                                         \
	(BT_CR0_PE | BT_CR0_MP | BT_CR0_EM | BT_CR0_TS | BT_CR0_ET | BT_CR0_NE | BT_CR0_WP | \
	 BT_CR0_AM | BT_CR0_NW | BT_CR0_CD | BT_CR0_PG)
/* CR4 bits of the features the CPUID model advertises (VME, UMIP, PCIDE... are not). */
#define BT_CR4_VALID                                                                               \
	(BT_CR4_TSD | BT_CR4_DE | BT_CR4_PSE | BT_CR4_PAE | BT_CR4_MCE | BT_CR4_PGE | BT_CR4_PCE | \
	 BT_CR4_OSFXSR | BT_CR4_OSXMMEXCPT)
#define BT_EFER_VALID (BT_EFER_SCE | BT_EFER_LME | BT_EFER_LMA | BT_EFER_NXE)

/* PAE paging outside IA-32e mode: the PDPTEs are (re)loaded and checked. */
static bool bt_sysreg_pae_legacy(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & BT_CR0_PG) && (cr4 & BT_CR4_PAE) && !(efer & BT_EFER_LME);
}

void bt_set_cr0(struct bt_cpu *cpu, u64 v)
{
	u64 old = cpu->st.cr0, efer = cpu->st.efer, cr4 = cpu->st.cr4;

	/* Bits 63:32 reserved: #GP; reserved bits in 31:0 are ignored; ET is hardwired to 1. */
	if (v >> 32)
		bt_raise_gp0(cpu);
	v = (v & BT_CR0_VALID) | BT_CR0_ET;
	if ((v & BT_CR0_PG) && !(v & BT_CR0_PE))
		bt_raise_gp0(cpu);
	if ((v & BT_CR0_NW) && !(v & BT_CR0_CD))
		bt_raise_gp0(cpu);
	if ((v & BT_CR0_PG) && !(old & BT_CR0_PG)) {
		/* Activating IA-32e mode needs PAE (SDM vol. 3A 10.8.5). */
		if ((efer & BT_EFER_LME) && !(cr4 & BT_CR4_PAE))
			bt_raise_gp0(cpu);
		if (bt_sysreg_pae_legacy(v, cr4, efer) && !bt_mmu_pdptes_ok(cpu, cpu->st.cr3))
			bt_raise_gp0(cpu);
	}
	/* Paging can be turned off in compatibility mode, not in 64-bit mode. */
	if (!(v & BT_CR0_PG) && (old & BT_CR0_PG) && bt_cpu_mode(cpu) == BT_MODE_LONG64)
		bt_raise_gp0(cpu);
	cpu->st.cr0 = v;
	/* IA32_EFER.LMA = LME && PG. */
	if ((efer & BT_EFER_LME) && (v & BT_CR0_PG))
		cpu->st.efer |= BT_EFER_LMA;
	else
		cpu->st.efer &= ~BT_EFER_LMA;
	if ((old ^ v) & (BT_CR0_PG | BT_CR0_WP | BT_CR0_PE))
		bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_set_cr3(struct bt_cpu *cpu, u64 v)
{
	/* In IA-32e mode bits 63:MAXPHYADDR are reserved (no PCIDs); else CR3 has 32 bits. */
	if (cpu->st.efer & BT_EFER_LMA) {
		if (v & BT_PHYS_RSVD)
			bt_raise_gp0(cpu);
	} else {
		v &= 0xffffffffu;
	}
	if (bt_sysreg_pae_legacy(cpu->st.cr0, cpu->st.cr4, cpu->st.efer) &&
	    !bt_mmu_pdptes_ok(cpu, v))
		bt_raise_gp0(cpu);
	cpu->st.cr3 = v;
	cpu->flat = false;
	bt_tlb_flush_nonglobal(cpu);
}

void bt_set_cr4(struct bt_cpu *cpu, u64 v)
{
	u64 old = cpu->st.cr4;

	if (v & ~BT_CR4_VALID)
		bt_raise_gp0(cpu);
	/* PAE cannot be cleared in IA-32e mode. */
	if ((cpu->st.efer & BT_EFER_LMA) && !(v & BT_CR4_PAE))
		bt_raise_gp0(cpu);
	if (bt_sysreg_pae_legacy(cpu->st.cr0, v, cpu->st.efer) &&
	    ((old ^ v) & (BT_CR4_PAE | BT_CR4_PSE | BT_CR4_PGE)) &&
	    !bt_mmu_pdptes_ok(cpu, cpu->st.cr3))
		bt_raise_gp0(cpu);
	cpu->st.cr4 = v;
	if ((old ^ v) & (BT_CR4_PGE | BT_CR4_PAE | BT_CR4_PSE))
		bt_tlb_flush(cpu);
}

/* WRMSR to IA32_EFER: 0 or -EPERM (#GP). LMA is read-only: the write keeps it. */
static int bt_sysreg_efer(struct bt_cpu *cpu, u64 v)
{
	u64 old = cpu->st.efer;

	if (v & ~BT_EFER_VALID)
		return -EPERM;
	/* LME cannot change while paging is on (SDM vol. 3A 10.8.5). */
	if (((old ^ v) & BT_EFER_LME) && (cpu->st.cr0 & BT_CR0_PG))
		return -EPERM;
	cpu->st.efer = (v & ~BT_EFER_LMA) | (old & BT_EFER_LMA);
	if ((old ^ v) & BT_EFER_NXE)
		bt_tlb_flush(cpu); /* cached execute permissions depend on NXE */
	bt_cpu_update_mode(cpu);
	return 0;
}

void bt_set_efer(struct bt_cpu *cpu, u64 v)
{
	if (bt_sysreg_efer(cpu, v) < 0)
		bt_raise_gp0(cpu);
}

/* ------------------------------------------------------------------ MSRs */

void bt_msr_reset(struct bt_cpu *cpu)
{
	struct bt_msrs *m = &cpu->msr;

	*m = (struct bt_msrs){ 0 };
	m->pat = 0x0007040600070406ull; /* WB, WT, UC-, UC twice (SDM vol. 3A table 12-12) */
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

/* The register behind a plain read/write MSR of the model, or NULL. */
static u64 *bt_msr_slot(struct bt_cpu *cpu, u32 index)
{
	struct bt_msrs *m = &cpu->msr;
	int fixed = bt_msr_fixed_index(index);

	if (fixed >= 0)
		return &m->mtrr_fixed[fixed];
	if (index >= BT_MSR_MTRR_PHYS_BASE0 &&
	    index < BT_MSR_MTRR_PHYS_BASE0 + 2 * BT_MTRR_VAR_COUNT)
		return &m->mtrr_var[index - BT_MSR_MTRR_PHYS_BASE0];
	switch (index) {
	case BT_MSR_SYSENTER_CS:
		return &m->sysenter_cs;
	case BT_MSR_SYSENTER_ESP:
		return &m->sysenter_esp;
	case BT_MSR_SYSENTER_EIP:
		return &m->sysenter_eip;
	case BT_MSR_MISC_ENABLE:
		return &m->misc_enable;
	case BT_MSR_PAT:
		return &m->pat;
	case BT_MSR_MTRR_DEF_TYPE:
		return &m->mtrr_def_type;
	case BT_MSR_STAR:
		return &m->star;
	case BT_MSR_LSTAR:
		return &m->lstar;
	case BT_MSR_CSTAR:
		return &m->cstar;
	case BT_MSR_SFMASK:
		return &m->sfmask;
	case BT_MSR_FS_BASE:
		return &cpu->st.seg[CPU_FS].base;
	case BT_MSR_GS_BASE:
		return &cpu->st.seg[CPU_GS].base;
	case BT_MSR_KERNEL_GS_BASE:
		return &m->kernel_gs_base;
	case BT_MSR_HWCR:
		return &m->hwcr;
	case BT_MSR_SYSCFG:
		return &m->syscfg;
	default:
		return NULL;
	}
}

/* The machine's MSRs first: 1 when it answered (*ret set), 0 when the CPU model decides. */
static int bt_msr_machine(struct bt_cpu *cpu, u32 index, bool is_write, u64 *val, int *ret)
{
	int r;

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
	case BT_MSR_PATCH_LEVEL:
		return 0; /* no microcode patch loaded */
	case BT_MSR_MTRRCAP:
		*val = BT_MTRRCAP;
		return 0;
	case BT_MSR_EFER:
		*val = cpu->st.efer;
		return 0;
	default:
		break;
	}
	slot = bt_msr_slot(cpu, index);
	if (!slot)
		return -EPERM;
	*val = *slot;
	return 0;
}

/* Reserved-bit and canonical checks of a write (SDM vol. 4 tables 2-2, 2-3; vol. 3A 12.11). */
static bool bt_msr_write_ok(u32 index, u64 val)
{
	if (index >= BT_MSR_MTRR_PHYS_BASE0 &&
	    index < BT_MSR_MTRR_PHYS_BASE0 + 2 * BT_MTRR_VAR_COUNT) {
		if (!(index & 1)) /* IA32_MTRR_PHYSBASEn: type in 7:0, 11:8 reserved */
			return !(val & (BT_PHYS_RSVD | 0xf00)) && bt_msr_mtrr_type_ok(val & 0xff);
		return !(val & (BT_PHYS_RSVD | 0x7ff)); /* PHYSMASKn: valid in bit 11 */
	}
	if (bt_msr_fixed_index(index) >= 0)
		return bt_msr_types_ok(val, false);
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
		return !(val >> 32);
	case BT_MSR_SYSCFG:
		return !(val & ~BT_SYSCFG_MTRR_BITS);
	case BT_MSR_SYSENTER_CS:
		return !(val >> 32);
	default:
		return true;
	}
}

int bt_msr_write(struct bt_cpu *cpu, u32 index, u64 val)
{
	u64 *slot;
	int ret;

	if (bt_msr_machine(cpu, index, true, &val, &ret))
		return ret;
	switch (index) {
	case BT_MSR_TSC:
		/* Writing the TSC moves its offset from virtual time (SDM vol. 3B 18.17). */
		cpu->tsc_offset = 0;
		cpu->tsc_offset = val - bt_rdtsc(cpu);
		return 0;
	case BT_MSR_EFER:
		return bt_sysreg_efer(cpu, val);
	default:
		break;
	}
	slot = bt_msr_slot(cpu, index);
	if (!slot || !bt_msr_write_ok(index, val))
		return -EPERM;
	*slot = val;
	return 0;
}

unsigned bt_msr_list(const u32 **indexes)
{
	/*
	 * EFER and the FS/GS bases travel in struct cpu_state. The TSC is not carried: it follows
	 * the VM's virtual clock, and writing back a value saved earlier would move it back (the
	 * machine applies its power-on state at INIT, which must leave the TSC alone, SDM vol. 3A
	 * table 10-1; the CPUs' counters then stay in step).
	 */
	static const u32 list[] = {
		BT_MSR_SYSENTER_CS,
		BT_MSR_SYSENTER_ESP,
		BT_MSR_SYSENTER_EIP,
		BT_MSR_MISC_ENABLE,
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
		BT_MSR_STAR,
		BT_MSR_LSTAR,
		BT_MSR_CSTAR,
		BT_MSR_SFMASK,
		BT_MSR_KERNEL_GS_BASE,
		BT_MSR_SYSCFG,
		BT_MSR_HWCR,
	};

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
	return (u64)((unsigned __int128)ns * BT_TSC_KHZ / 1000000u) + cpu->tsc_offset;
}
