// SPDX-License-Identifier: MIT
/*
 * Effective addresses with the segment base (SDM vol. 1 3.7.5), the stack (PUSH/POP with the
 * stack-address size of SS.B or 64-bit mode, vol. 1 6.2) and near jumps (the target checked
 * against the CS limit, or canonical in 64-bit mode: vol. 2A JMP). Uses only the softmmu and
 * fault.c.
 */
#include "bt-fallback/bt.h"

u64 bt_ea(struct bt_cpu *cpu, const struct bt_insn *in)
{
	return cpu->st.seg[in->seg].base + bt_ea_off(cpu, in);
}

unsigned bt_stack_size(const struct bt_cpu *cpu)
{
	return cpu->stack_size;
}

void bt_push(struct bt_cpu *cpu, unsigned size, u64 v)
{
	unsigned ss = bt_stack_size(cpu);
	u64 sp = (cpu->st.gpr[CPU_RSP] - size) & bt_mask(ss);

	bt_st(cpu, CPU_SS, sp, size, v);
	bt_set_reg(cpu, CPU_RSP, ss, sp);
}

void bt_probe_push(struct bt_cpu *cpu, unsigned size)
{
	unsigned ss = bt_stack_size(cpu);

	bt_probe_st(cpu, CPU_SS, (cpu->st.gpr[CPU_RSP] - size) & bt_mask(ss), size);
}

u64 bt_pop(struct bt_cpu *cpu, unsigned size)
{
	unsigned ss = bt_stack_size(cpu);
	u64 sp = cpu->st.gpr[CPU_RSP] & bt_mask(ss);
	u64 v = bt_ld(cpu, CPU_SS, sp, size);

	bt_set_reg(cpu, CPU_RSP, ss, sp + size);
	return v;
}

void bt_jump(struct bt_cpu *cpu, u64 target)
{
	if (bt_cpu_mode(cpu) == BT_MODE_LONG64) {
		if (!bt_canonical(target))
			bt_raise_gp0(cpu);
	} else if (target > cpu->st.seg[CPU_CS].limit) {
		bt_raise_gp0(cpu);
	}
	cpu->next_rip = target;
	cpu->end_block = true;
}
