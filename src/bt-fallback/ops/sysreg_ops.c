// SPDX-License-Identifier: MIT
/*
 * System-register instructions (SDM vol. 2 pages of the same names): MOV to/from CR0, CR2,
 * CR3, CR4 and CR8 (0F 20/22; the mod field is ignored and CR8 is the task-priority register,
 * kept here, SDM vol. 3A 2.5 and 11.8.6), MOV to/from DR0-DR7 (0F 21/23; DR4/DR5 alias DR6/DR7
 * unless CR4.DE, vol. 3B 18.2.2; DR7.GD makes them fault, the breakpoints are debug.c's),
 * CLTS (0F 06), INVD/WBINVD
 * (0F 08/09: caches are coherent, nothing to do), WRMSR/RDTSC/RDMSR/RDPMC (0F 30-33).
 * All privileged ones raise #GP(0) at CPL > 0 (in virtual-8086 mode CPL is 3).
 */
#include "bt-fallback/ops/ops.h"

/* CPL: 0 in real mode, 3 in virtual-8086 mode, else CS.RPL (SDM vol. 3A 5.5). */
static unsigned bt_sysreg_cpl(const struct bt_cpu *cpu)
{
	if (bt_cpu_mode(cpu) == BT_MODE_REAL)
		return 0;
	if (cpu->st.rflags & BT_VM)
		return 3;
	return cpu->st.seg[CPU_CS].selector & 3;
}

static void bt_sysreg_need_cpl0(struct bt_cpu *cpu)
{
	if (bt_sysreg_cpl(cpu) != 0)
		bt_raise_gp0(cpu);
}

/* 0F 20 MOV r, CRn; 0F 22 MOV CRn, r. 64-bit operands in 64-bit mode, 32-bit elsewhere. */
void bt_op_mov_cr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 8 : 4, cr = in->reg;
	u64 v;

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		bt_raise_ud(cpu);
	bt_sysreg_need_cpl0(cpu);
	if (in->opcode == 0x120) {
		switch (cr) {
		case 0:
			v = cpu->st.cr0;
			break;
		case 2:
			v = cpu->st.cr2;
			break;
		case 3:
			v = cpu->st.cr3;
			break;
		case 4:
			v = cpu->st.cr4;
			break;
		default:
			v = cpu->st.cr8;
			break;
		}
		bt_set_reg(cpu, in->rm, size, v);
		return;
	}
	v = bt_get_reg(cpu, in->rm, size);
	switch (cr) {
	case 0:
		bt_set_cr0(cpu, v);
		break;
	case 2:
		cpu->st.cr2 = v;
		break;
	case 3:
		bt_set_cr3(cpu, v);
		break;
	case 4:
		bt_set_cr4(cpu, v);
		break;
	default:
		if (v >> 4) /* TPR: bits 63:4 reserved */
			bt_raise_gp0(cpu);
		cpu->st.cr8 = v;
		break;
	}
	/* The mode or the translations may have changed: fetch the next instruction afresh. */
	cpu->end_block = true;
}

/* DR6 and DR7 bits that read as 1 and writable bits (SDM vol. 3B 18.2.3, 18.2.4). */
#define BT_DR6_FIXED 0xffff0ff0ull
#define BT_DR6_BITS  0x0000e00full
#define BT_DR7_FIXED 0x400ull
#define BT_DR7_BITS  0xffff23ffull

/* 0F 21 MOV r, DRn; 0F 23 MOV DRn, r. */
void bt_op_mov_dr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned size = bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 8 : 4, dr = in->reg;
	u64 v;

	if (dr > 7) /* DR8-DR15 (REX.R) */
		bt_raise_ud(cpu);
	if (dr == 4 || dr == 5) {
		if (cpu->st.cr4 & BT_CR4_DE)
			bt_raise_ud(cpu);
		dr += 2;
	}
	bt_sysreg_need_cpl0(cpu);
	bt_debug_gd(cpu); /* general detect: #DB before the access (vol. 3B 18.2.4) */
	if (in->opcode == 0x121) {
		v = cpu->st.dr[dr];
		if (dr == 6)
			v = (v & BT_DR6_BITS) | BT_DR6_FIXED;
		else if (dr == 7)
			v = (v & BT_DR7_BITS) | BT_DR7_FIXED;
		bt_set_reg(cpu, in->rm, size, v);
		return;
	}
	v = bt_get_reg(cpu, in->rm, size);
	if (dr >= 6 && (v >> 32)) /* upper halves of DR6/DR7 are reserved */
		bt_raise_gp0(cpu);
	if (dr == 6)
		v = (v & BT_DR6_BITS) | BT_DR6_FIXED;
	else if (dr == 7)
		v = (v & BT_DR7_BITS) | BT_DR7_FIXED;
	else if (bt_cpu_mode(cpu) != BT_MODE_LONG64)
		v &= 0xffffffffu;
	cpu->st.dr[dr] = v;
	if (dr != 6) {
		bt_debug_update(cpu);
		cpu->end_block = true; /* blocks split at instruction breakpoints from now on */
	}
}

/* 0F 06: CLTS. */
void bt_op_clts(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_sysreg_need_cpl0(cpu);
	cpu->st.cr0 &= ~BT_CR0_TS;
}

/* 0F 08 INVD, 0F 09 WBINVD: guest memory is coherent host memory. */
void bt_op_invd(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_sysreg_need_cpl0(cpu);
}

/* 0F 32: RDMSR, EDX:EAX = MSR[ECX]. */
void bt_op_rdmsr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 v;

	(void)in;
	bt_sysreg_need_cpl0(cpu);
	if (bt_msr_read(cpu, (u32)cpu->st.gpr[CPU_RCX], &v) < 0)
		bt_raise_gp0(cpu);
	bt_set_reg(cpu, CPU_RAX, 4, v & 0xffffffffu);
	bt_set_reg(cpu, CPU_RDX, 4, v >> 32);
}

/* 0F 30: WRMSR, MSR[ECX] = EDX:EAX. */
void bt_op_wrmsr(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 v = (cpu->st.gpr[CPU_RDX] << 32) | (cpu->st.gpr[CPU_RAX] & 0xffffffffu);

	(void)in;
	bt_sysreg_need_cpl0(cpu);
	if (bt_msr_write(cpu, (u32)cpu->st.gpr[CPU_RCX], v) < 0)
		bt_raise_gp0(cpu);
	cpu->end_block = true; /* EFER or the FS/GS bases may have changed */
}

/* 0F 31: RDTSC (CR4.TSD with CPL > 0: #GP), in virtual time. */
void bt_op_rdtsc(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 tsc;

	(void)in;
	if ((cpu->st.cr4 & BT_CR4_TSD) && bt_sysreg_cpl(cpu) != 0)
		bt_raise_gp0(cpu);
	tsc = bt_rdtsc(cpu);
	bt_set_reg(cpu, CPU_RAX, 4, tsc & 0xffffffffu);
	bt_set_reg(cpu, CPU_RDX, 4, tsc >> 32);
}

/*
 * 0F 33: RDPMC. AMD: ECX 0-3 read the legacy counters PerfCtr0-3 (AMD APM vol. 3 RDPMC; they
 * count nothing here); Intel models have no architectural counters (CPUID leaf 0Ah version 0).
 * Any other index, or CPL > 0 without CR4.PCE, is #GP(0).
 */
void bt_op_rdpmc(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u32 ecx = (u32)cpu->st.gpr[CPU_RCX];
	u64 v;

	(void)in;
	if (!(cpu->st.cr4 & BT_CR4_PCE) && bt_sysreg_cpl(cpu) != 0)
		bt_raise_gp0(cpu);
	if (bt_intel(cpu) || ecx >= BT_PERF_COUNTERS || bt_msr_read(cpu, 0xc0010004u + ecx, &v) < 0)
		bt_raise_gp0(cpu);
	bt_set_reg(cpu, CPU_RAX, 4, v & 0xffffffffu);
	bt_set_reg(cpu, CPU_RDX, 4, v >> 32);
}
