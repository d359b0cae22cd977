// SPDX-License-Identifier: MIT
/*
 * Raising exceptions from inside an instruction (SDM vol. 3A chapter 6): the handler records
 * the vector, error code and CR2 in cpu->exc and longjmps to the run loop (exec.c), which
 * delivers it. An instruction commits its results only after its last access that can fault,
 * so the state at the longjmp is the state before the faulting instruction (traps: after it).
 * A leaf: this file calls nothing else in the engine.
 */
#include "bt-fallback/bt.h"

void bt_raise(struct bt_cpu *cpu, u8 vector, u32 error, bool has_error)
{
	cpu->exc.vector = vector;
	cpu->exc.error = error;
	cpu->exc.has_error = has_error;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = false;
	cpu->exc_rf = true; /* a fault: the pushed RFLAGS has RF set (SDM vol. 3A 18.3.1.1) */
	cpu->implicit = false;
	longjmp(cpu->fault_jmp, 1);
}

void bt_raise_pf(struct bt_cpu *cpu, u64 addr, u32 error)
{
	cpu->st.cr2 = addr;
	cpu->exc.vector = BT_EXC_PF;
	cpu->exc.error = error;
	cpu->exc.has_error = true;
	cpu->exc.cr2 = addr;
	cpu->exc_is_trap = false;
	cpu->exc_rf = true;
	cpu->implicit = false;
	longjmp(cpu->fault_jmp, 1);
}

void bt_raise_trap(struct bt_cpu *cpu, u8 vector)
{
	cpu->exc.vector = vector;
	cpu->exc.error = 0;
	cpu->exc.has_error = false;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = true;
	cpu->exc_rf = false;
	cpu->implicit = false;
	longjmp(cpu->fault_jmp, 1);
}

/*
 * #DB traps (single step, data and I/O breakpoints): raised after the instruction, RIP already
 * past it, DR6 already says why; delivered as an exception (no gate DPL check), RF as it is.
 */
void bt_raise_debug_trap(struct bt_cpu *cpu)
{
	cpu->exc.vector = BT_EXC_DB;
	cpu->exc.error = 0;
	cpu->exc.has_error = false;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = false;
	cpu->exc_rf = false;
	cpu->implicit = false;
	longjmp(cpu->fault_jmp, 1);
}

void bt_raise_single_step(struct bt_cpu *cpu)
{
	cpu->st.dr[6] |= 1u << 14; /* BS */
	bt_raise_debug_trap(cpu);
}

/* #DB faults: an instruction breakpoint (RF pushed as it is, 0) or general detect (RF 1). */
void bt_raise_debug(struct bt_cpu *cpu, bool rf)
{
	cpu->exc.vector = BT_EXC_DB;
	cpu->exc.error = 0;
	cpu->exc.has_error = false;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = false;
	cpu->exc_rf = rf;
	cpu->implicit = false;
	longjmp(cpu->fault_jmp, 1);
}
