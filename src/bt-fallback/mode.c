// SPDX-License-Identifier: MIT
/*
 * The CPU's cached execution mode (real, 16/32-bit protected, 64-bit: from CR0.PE, EFER.LMA,
 * CS.L and CS.D, SDM vol. 3A 2.2 and 5.2.1) and the stack-address size, and real-mode segment
 * loads (base = selector << 4, SDM vol. 3A 20.1.1). A leaf.
 */
#include "bt-fallback/bt.h"

void bt_cpu_load_seg_real(struct bt_cpu *cpu, enum cpu_seg s, u16 sel)
{
	struct cpu_segment *seg = &cpu->st.seg[s];

	seg->selector = sel;
	seg->base = (u64)sel << 4;
}

void bt_cpu_update_mode(struct bt_cpu *cpu)
{
	if (!(cpu->st.cr0 & 1))
		cpu->mode = BT_MODE_REAL;
	else if ((cpu->st.efer & 0x400) && cpu->st.seg[CPU_CS].l)
		cpu->mode = BT_MODE_LONG64;
	else
		cpu->mode = cpu->st.seg[CPU_CS].db ? BT_MODE_PROT32 : BT_MODE_PROT16;
	cpu->stack_size = cpu->mode == BT_MODE_LONG64 ? 8 : cpu->st.seg[CPU_SS].db ? 4 : 2;
}
