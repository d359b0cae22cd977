// SPDX-License-Identifier: MIT
/*
 * Control registers of the BT CPU: CR0/CR3/CR4/EFER writes with the SDM's consistency checks
 * and their side effects on the softmmu TLB and the execution mode (SDM vol. 3A 2.5 "Control
 * Registers", 2.2.1 "Extended Feature Enable Register", 4.1.1 and 4.10.4.1 for which changes
 * flush the TLB, 10.8.5 for entering and leaving IA-32e mode; vol. 2B "MOV--Move to/from
 * Control Registers" for the #GP conditions), and XCR0 (vol. 1 13.3, XSETBV). The CR4 and EFER
 * bits that exist follow the CPU model's features (a bit of a feature the model lacks is
 * reserved: #GP).
 *
 * Process-context identifiers (4.10.1): with CR4.PCIDE, CR3[11:0] is the PCID and bit 63 of a
 * MOV to CR3 asks to keep that PCID's translations. The TLB holds one address space only, so a
 * CR3 load drops the non-global entries unless it keeps the same PCID with bit 63 set (the
 * TLB then holds only that PCID's translations, which the guest says are still valid); dropping
 * more than asked is always allowed (4.10.4.4). The MSRs are in msr.c.
 */
#include "bt-fallback/bt.h"

#include <errno.h>

/* Bits above MAXPHYADDR in CR3 are reserved. */
#define BT_PHYS_RSVD   (~((1ull << BT_MAXPHYADDR) - 1))
#define BT_CR3_NOFLUSH (1ull << 63)

#define BT_CR0_VALID                                                                         \
	(BT_CR0_PE | BT_CR0_MP | BT_CR0_EM | BT_CR0_TS | BT_CR0_ET | BT_CR0_NE | BT_CR0_WP | \
	 BT_CR0_AM | BT_CR0_NW | BT_CR0_CD | BT_CR0_PG)
/* CR4 bits every model has; the others follow its features (bt_sysreg_cr4_valid). */
#define BT_CR4_BASE (BT_CR4_TSD | BT_CR4_DE | BT_CR4_PCE)

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
	bool pcide = cpu->st.cr4 & BT_CR4_PCIDE, keep = false;

	/*
	 * In IA-32e mode bits 62:MAXPHYADDR are reserved, bit 63 too unless CR4.PCIDE (then it
	 * only asks to keep the PCID's translations and is not stored); else CR3 has 32 bits.
	 */
	if (cpu->st.efer & BT_EFER_LMA) {
		if (pcide && (v & BT_CR3_NOFLUSH)) {
			v &= ~BT_CR3_NOFLUSH;
			keep = (v & 0xfff) == (cpu->st.cr3 & 0xfff);
		}
		if (v & BT_PHYS_RSVD)
			bt_raise_gp0(cpu);
	} else {
		v &= 0xffffffffu;
	}
	if (bt_sysreg_pae_legacy(cpu->st.cr0, cpu->st.cr4, cpu->st.efer) &&
	    !bt_mmu_pdptes_ok(cpu, v))
		bt_raise_gp0(cpu);
	if (cpu->flat)
		keep = false;
	cpu->st.cr3 = v;
	cpu->flat = false;
	if (!keep)
		bt_tlb_flush_nonglobal(cpu);
}

/* CR4 bits of the model's features (SDM vol. 3A 2.5: the others are reserved). */
static u64 bt_sysreg_cr4_valid(const struct bt_cpu *cpu)
{
	static const struct {
		enum cpu_feature f;
		u64 bits;
	} map[] = {
		{ CPU_F_PSE, BT_CR4_PSE },     { CPU_F_PAE, BT_CR4_PAE },
		{ CPU_F_MCE, BT_CR4_MCE },     { CPU_F_PGE, BT_CR4_PGE },
		{ CPU_F_FXSR, BT_CR4_OSFXSR }, { CPU_F_SSE, BT_CR4_OSXMMEXCPT },
		{ CPU_F_UMIP, BT_CR4_UMIP },   { CPU_F_FSGSBASE, BT_CR4_FSGSBASE },
		{ CPU_F_PCID, BT_CR4_PCIDE },  { CPU_F_XSAVE, BT_CR4_OSXSAVE },
		{ CPU_F_SMEP, BT_CR4_SMEP },   { CPU_F_SMAP, BT_CR4_SMAP },
	};

	u64 v = BT_CR4_BASE;

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (bt_has(cpu, map[i].f))
			v |= map[i].bits;
	return v;
}

void bt_set_cr4(struct bt_cpu *cpu, u64 v)
{
	u64 old = cpu->st.cr4;

	if (v & ~bt_sysreg_cr4_valid(cpu))
		bt_raise_gp0(cpu);
	/* PAE cannot be cleared in IA-32e mode. */
	if ((cpu->st.efer & BT_EFER_LMA) && !(v & BT_CR4_PAE))
		bt_raise_gp0(cpu);
	/* PCIDE: only in IA-32e mode and with PCID 000H in CR3 (SDM vol. 3A 4.10.1). */
	if ((v & BT_CR4_PCIDE) && !(old & BT_CR4_PCIDE) &&
	    (!(cpu->st.efer & BT_EFER_LMA) || (cpu->st.cr3 & 0xfff)))
		bt_raise_gp0(cpu);
	if (bt_sysreg_pae_legacy(cpu->st.cr0, v, cpu->st.efer) &&
	    ((old ^ v) & (BT_CR4_PAE | BT_CR4_PSE | BT_CR4_PGE | BT_CR4_SMEP)) &&
	    !bt_mmu_pdptes_ok(cpu, cpu->st.cr3))
		bt_raise_gp0(cpu);
	cpu->st.cr4 = v;
	/* Cached permissions depend on SMEP and SMAP; leaving PCIDE drops every PCID. */
	if ((old ^ v) & (BT_CR4_PGE | BT_CR4_PAE | BT_CR4_PSE | BT_CR4_SMEP | BT_CR4_SMAP) ||
	    ((old & ~v) & BT_CR4_PCIDE))
		bt_tlb_flush(cpu);
	if ((old ^ v) & BT_CR4_DE)
		bt_debug_update(cpu); /* I/O breakpoints exist with DE only */
}

/* An XCR0 value the CPU takes (SDM vol. 1 13.3): x87 always set, nothing unsupported, AVX only
 * with SSE. */
bool bt_xcr0_valid(const struct bt_cpu *cpu, u64 v)
{
	u64 sup = bt_has(cpu, CPU_F_AVX) ? 7 : 3;

	return (v & 1) && !(v & ~sup) && (!(v & 4) || (v & 2));
}

/* XSETBV: XCR0. 0, or -EPERM for a value the CPU refuses (#GP). */
int bt_xcr0_write(struct bt_cpu *cpu, u64 v)
{
	if (!bt_xcr0_valid(cpu, v))
		return -EPERM;
	cpu->st.xcr0 = v;
	return 0;
}

/* EFER bits of the model: SCE with SYSCALL, LME/LMA with LM, NXE with NX (Intel: not XD-disabled). */
static u64 bt_sysreg_efer_valid(const struct bt_cpu *cpu)
{
	u64 v = 0;

	if (bt_has(cpu, CPU_F_SYSCALL))
		v |= BT_EFER_SCE;
	if (bt_has(cpu, CPU_F_LM))
		v |= BT_EFER_LME | BT_EFER_LMA;
	if (bt_has(cpu, CPU_F_NX) && !(bt_intel(cpu) && (cpu->msr.misc_enable & (1ull << 34))))
		v |= BT_EFER_NXE;
	return v;
}

int bt_efer_write(struct bt_cpu *cpu, u64 v)
{
	u64 old = cpu->st.efer;

	if (v & ~bt_sysreg_efer_valid(cpu))
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
	if (bt_efer_write(cpu, v) < 0)
		bt_raise_gp0(cpu);
}
