// SPDX-License-Identifier: MIT
/*
 * Debug registers and debug exceptions (SDM vol. 3B chapter 18; vol. 3A 6.8.3 and 6.15
 * "Interrupt 1"): DR0-DR3 breakpoint addresses with DR7's enables, conditions (instruction
 * execution, data write, data read or write, I/O with CR4.DE) and lengths (1, 2, 4, 8 bytes,
 * the address aligned down to the length), DR6's status (B0-B3, BD, BS, sticky until software
 * clears them), DR7.GD general detect, and EFLAGS.RF.
 *
 * How the engine meets them:
 *  - instruction breakpoints: while one is enabled every block is one instruction long and
 *    bt_debug_check_insn looks at its linear address first; a hit is a fault (#DB, RIP at the
 *    instruction), suppressed for one instruction by RF.
 *  - data breakpoints: a TLB entry for a page that holds a watched byte gets no read or write
 *    tag, so every access to it takes the slow path, which calls bt_debug_data; a hit is
 *    recorded and becomes a trap after the instruction (between iterations of a REP string
 *    instruction, which then stops with RF set, as after an interrupt).
 *  - I/O breakpoints (RW = 10b with CR4.DE): IN, OUT, INS, OUTS call bt_debug_io; a trap.
 *  - RF: set by the engine when a REP string instruction stops part-way, pushed as 1 by every
 *    fault other than an instruction breakpoint (intr.c), cleared after the next instruction
 *    completes unless that instruction (IRET) loaded it.
 * Not modelled: breakpoints on task switches (DR7.L bits cleared), RTM's DR6 bit 16 (reads 1).
 */
#include "bt-fallback/bt.h"

#define BT_DR7_GD	(1ull << 13)
#define BT_DR6_BD	(1ull << 13)
#define BT_DR6_BS	(1ull << 14)
#define BT_DR_RW_EXEC	0
#define BT_DR_RW_WRITE	1
#define BT_DR_RW_IO	2
#define BT_DR_RW_ACCESS 3

static unsigned bt_debug_rw(u64 dr7, unsigned n)
{
	return (unsigned)(dr7 >> (16 + 4 * n)) & 3;
}

/* Length in bytes: 00 1, 01 2, 11 4, 10 8 (SDM vol. 3B 18.2.5). */
static unsigned bt_debug_len(u64 dr7, unsigned n)
{
	static const u8 len[4] = { 1, 2, 8, 4 };

	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool bt_debug_enabled(u64 dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

void bt_debug_update(struct bt_cpu *cpu)
{
	u64 dr7 = cpu->st.dr[7];
	u8 insn = 0, data = 0, io = 0;

	for (unsigned n = 0; n < 4; n++) {
		if (!bt_debug_enabled(dr7, n))
			continue;
		switch (bt_debug_rw(dr7, n)) {
		case BT_DR_RW_EXEC:
			insn |= 1u << n;
			break;
		case BT_DR_RW_IO:
			if (cpu->st.cr4 & BT_CR4_DE)
				io |= 1u << n;
			break;
		default:
			data |= 1u << n;
			break;
		}
	}
	/* The watched pages changed: entries cached without the check must go. */
	if (data || cpu->dbg_data)
		bt_tlb_flush(cpu);
	cpu->dbg_insn = insn;
	cpu->dbg_data = data;
	cpu->dbg_io = io;
}

/* Does [addr, addr + size) overlap breakpoint n's aligned range? */
static bool bt_debug_hit(const struct bt_cpu *cpu, unsigned n, u64 addr, unsigned size)
{
	unsigned len = bt_debug_len(cpu->st.dr[7], n);
	u64 bp = cpu->st.dr[n] & ~(u64)(len - 1);

	return addr < bp + len && bp < addr + size;
}

bool bt_debug_watched(const struct bt_cpu *cpu, u64 page)
{
	for (unsigned n = 0; n < 4; n++)
		if ((cpu->dbg_data >> n) & 1)
			if (bt_debug_hit(cpu, n, page, (unsigned)BT_PAGE_SIZE))
				return true;
	return false;
}

void bt_debug_data(struct bt_cpu *cpu, u64 lin, unsigned size, bool write)
{
	for (unsigned n = 0; n < 4; n++) {
		if (!((cpu->dbg_data >> n) & 1))
			continue;
		if (!write && bt_debug_rw(cpu->st.dr[7], n) == BT_DR_RW_WRITE)
			continue;
		if (bt_debug_hit(cpu, n, lin, size)) {
			cpu->db_pending |= 1u << n;
			cpu->end_block = true;
		}
	}
}

void bt_debug_io(struct bt_cpu *cpu, u16 port, unsigned size)
{
	for (unsigned n = 0; n < 4; n++) {
		if (((cpu->dbg_io >> n) & 1) && bt_debug_hit(cpu, n, port, size)) {
			cpu->db_pending |= 1u << n;
			cpu->end_block = true;
		}
	}
}

void bt_debug_check_insn(struct bt_cpu *cpu)
{
	u64 lin = cpu->st.seg[CPU_CS].base + cpu->st.rip;
	u32 hits = 0;

	if (cpu->st.rflags & BT_RF)
		return;
	if (bt_cpu_mode(cpu) != BT_MODE_LONG64)
		lin &= 0xffffffffu;
	for (unsigned n = 0; n < 4; n++)
		if (((cpu->dbg_insn >> n) & 1) && cpu->st.dr[n] == lin)
			hits |= 1u << n;
	if (hits) {
		cpu->st.dr[6] |= hits;
		bt_raise_debug(cpu, false);
	}
}

void bt_debug_gd(struct bt_cpu *cpu)
{
	if (!(cpu->st.dr[7] & BT_DR7_GD))
		return;
	cpu->st.dr[6] |= BT_DR6_BD;
	cpu->st.dr[7] &= ~BT_DR7_GD; /* so that the handler may use the debug registers */
	bt_raise_debug(cpu, true);
}

void bt_debug_trap(struct bt_cpu *cpu, bool single_step)
{
	u32 bits = cpu->db_pending;

	cpu->db_pending = 0;
	cpu->st.dr[6] |= bits | (single_step ? BT_DR6_BS : 0);
	bt_raise_debug_trap(cpu);
}
