// SPDX-License-Identifier: MIT
/*
 * System registers of the BT CPU: CR0/CR3/CR4/EFER writes with their side effects on the
 * softmmu TLB and the execution mode (SDM vol. 3A 2.5, 4.10.4), the MSRs the CPU keeps itself
 * (SDM vol. 4), and the time-stamp counter.
 *
 * First cut (contract for BT part 2): no reserved-bit checks, whole-TLB flushes.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <time.h>

void bt_set_cr0(struct bt_cpu *cpu, u64 v)
{
	cpu->st.cr0 = v;
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_set_cr3(struct bt_cpu *cpu, u64 v)
{
	cpu->st.cr3 = v;
	bt_tlb_flush(cpu);
}

void bt_set_cr4(struct bt_cpu *cpu, u64 v)
{
	cpu->st.cr4 = v;
	bt_tlb_flush(cpu);
}

void bt_set_efer(struct bt_cpu *cpu, u64 v)
{
	cpu->st.efer = v;
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

int bt_msr_read(struct bt_cpu *cpu, u32 index, u64 *val)
{
	(void)cpu, (void)index;
	*val = 0;
	return -EPERM;
}

int bt_msr_write(struct bt_cpu *cpu, u32 index, u64 val)
{
	(void)cpu, (void)index, (void)val;
	return -EPERM;
}

unsigned bt_msr_list(const u32 **indexes)
{
	*indexes = NULL;
	return 0;
}

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
	return ns * (BT_TSC_KHZ / 1000u) / 1000u + cpu->tsc_offset;
}
