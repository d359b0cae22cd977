// SPDX-License-Identifier: MIT
/*
 * String instructions MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with every
 * REP form (SDM vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"): the count register
 * and the index registers follow the address size, DF selects the
 * direction, the source segment may be overridden but ES:rDI may not.
 * Registers are updated after every iteration, so a fault part-way leaves
 * RIP at the instruction with the remaining count in rCX, as on hardware.
 * Also IN/OUT (port I/O goes to the machine's pio callback after the IOPL and
 * TSS I/O-permission-bitmap checks).
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

/*
 * Stop a REP string instruction between iterations: RIP stays at it and RF is set, so an
 * interrupt taken now pushes RF = 1 and the resumed instruction does not hit its own
 * instruction breakpoint again (SDM vol. 3A 18.3.1.1).
 */
static void bt_str_pause(struct bt_cpu *cpu)
{
	cpu->next_rip = cpu->st.rip;
	cpu->end_block = true;
	cpu->st.rflags |= BT_RF;
	cpu->rf_loaded = true;
}

static void bt_str_step(struct bt_cpu *cpu, unsigned reg, unsigned asz, unsigned sz)
{
	u64 v = bt_get_reg(cpu, reg, asz);

	v = (cpu->st.rflags & BT_DF) ? v - sz : v + sz;
	bt_set_reg(cpu, reg, asz, v);
}

/*
 * I/O permission (SDM vol. 1 19.5): CPL <= IOPL outside virtual-8086 mode, else every bit of
 * the ports in the TSS's I/O permission bitmap must be clear (its two bytes read inside the
 * TSS limit), else #GP(0).
 */
static void bt_io_check(struct bt_cpu *cpu, u16 port, unsigned size)
{
	const struct cpu_segment *tr = &cpu->st.tr;
	u64 f = cpu->st.rflags, off;
	u32 bits;

	if (bt_hyper_port(cpu, port)) /* the VMware backdoor's ports: open at any CPL */
		return;
	if (bt_cpu_mode(cpu) == BT_MODE_REAL ||
	    (!(f & BT_VM) && bt_cpu_cpl(cpu) <= ((f >> 12) & 3)))
		return;
	if (tr->unusable || !tr->present || (tr->type & 0xd) != 9 || tr->limit < 0x67)
		bt_raise_gp0(cpu);
	off = bt_ld_lin(cpu, tr->base + 0x66, 2) + port / 8u;
	if (off + 1 > tr->limit)
		bt_raise_gp0(cpu);
	bits = (u32)bt_ld_lin(cpu, tr->base + off, 2);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		bt_raise_gp0(cpu);
}

/*
 * The device the access reached asked this vCPU to stop (ACPI S3's SLP_EN, a reset): leave the
 * block after this instruction, so no later one runs before the stop (the loop's next look at
 * exit_request returns BT_EXIT_REQUEST).
 */
static void bt_io_stop_check(struct bt_cpu *cpu)
{
	if (unlikely(__atomic_load_n(&cpu->exit_request, __ATOMIC_ACQUIRE) & BT_KICK_STOP))
		cpu->end_block = true;
}

static u64 bt_io_in(struct bt_cpu *cpu, u16 port, unsigned sz)
{
	u64 v = ~0ull;

	if (unlikely(cpu->dbg_io))
		bt_debug_io(cpu, port, sz);
	if (cpu->mem->pio)
		cpu->mem->pio(cpu->mem->io_opaque, cpu->index, port, sz, false, &v);
	bt_mem_changes_pending(cpu); /* a device may have moved a RAM-like region */
	bt_io_stop_check(cpu);
	return v & bt_mask(sz);
}

static void bt_io_out(struct bt_cpu *cpu, u16 port, unsigned sz, u64 v)
{
	if (unlikely(cpu->dbg_io))
		bt_debug_io(cpu, port, sz);
	if (cpu->mem->pio)
		cpu->mem->pio(cpu->mem->io_opaque, cpu->index, port, sz, true, &v);
	bt_mem_changes_pending(cpu); /* a PCI configuration write may have moved a BAR */
	bt_io_stop_check(cpu);
}

/* One iteration; returns false when a REPE/REPNE condition ends the loop. */
static bool bt_str_once(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, asz = in->asz;
	u64 si = bt_get_reg(cpu, CPU_RSI, asz), di = bt_get_reg(cpu, CPU_RDI, asz), a, b;

	switch (in->opcode) {
	case 0xa4:
	case 0xa5:
		bt_st(cpu, CPU_ES, di, sz, bt_ld(cpu, in->seg, si, sz));
		bt_str_step(cpu, CPU_RSI, asz, sz);
		bt_str_step(cpu, CPU_RDI, asz, sz);
		return true;
	case 0xa6:
	case 0xa7:
		b = bt_ld(cpu, CPU_ES, di, sz); /* AMD reads ES:rDI first: its fault wins */
		a = bt_ld(cpu, in->seg, si, sz);
		bt_alu(cpu, 7, sz, a, b);
		bt_str_step(cpu, CPU_RSI, asz, sz);
		bt_str_step(cpu, CPU_RDI, asz, sz);
		break;
	case 0xaa:
	case 0xab:
		bt_st(cpu, CPU_ES, di, sz, bt_get_reg(cpu, CPU_RAX, sz));
		bt_str_step(cpu, CPU_RDI, asz, sz);
		return true;
	case 0xac:
	case 0xad:
		bt_set_reg(cpu, CPU_RAX, sz, bt_ld(cpu, in->seg, si, sz));
		bt_str_step(cpu, CPU_RSI, asz, sz);
		return true;
	case 0xae:
	case 0xaf:
		b = bt_ld(cpu, CPU_ES, di, sz);
		bt_alu(cpu, 7, sz, bt_get_reg(cpu, CPU_RAX, sz), b);
		bt_str_step(cpu, CPU_RDI, asz, sz);
		break;
	case 0x6c:
	case 0x6d:
		bt_probe_st(cpu, CPU_ES, di, sz);
		bt_st(cpu, CPU_ES, di, sz, bt_io_in(cpu, (u16)cpu->st.gpr[CPU_RDX], sz));
		bt_str_step(cpu, CPU_RDI, asz, sz);
		return true;
	default: /* 6E/6F OUTS */
		bt_io_out(cpu, (u16)cpu->st.gpr[CPU_RDX], sz, bt_ld(cpu, in->seg, si, sz));
		bt_str_step(cpu, CPU_RSI, asz, sz);
		return true;
	}
	/* CMPS/SCAS: REPE continues while ZF = 1, REPNE while ZF = 0. */
	if (in->rep == BT_REP_F3)
		return bt_cond(cpu, 4);
	return !bt_cond(cpu, 4);
}

/*
 * REP MOVS/STOS fast path (research bt-engine.md 2.1 item 9): whole page-sized chunks with
 * memcpy/memset while both sides are RAM in one page and do not overlap; anything else (a
 * fault, MMIO, a page crossing inside an element, DF = 1) is left to the per-iteration path.
 * Returns false if it stopped for a kick.
 */
static bool bt_str_fast(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz, op = in->opcode;
	bool movs = op == 0xa4 || op == 0xa5;
	u64 c = bt_get_reg(cpu, CPU_RCX, 8);

	while (c) {
		u64 di = cpu->st.gpr[CPU_RDI], si = cpu->st.gpr[CPU_RSI];
		u64 n = MIN(c, (BT_PAGE_SIZE - (di & ~BT_PAGE_MASK)) / sz), len;
		u8 *d, *s = NULL;

		if (movs)
			n = MIN(n, (BT_PAGE_SIZE - (si & ~BT_PAGE_MASK)) / sz);
		len = n * sz;
		if (!n || !(d = bt_host_span(cpu, CPU_ES, di, len, true)))
			return true;
		if (movs) {
			s = bt_host_span(cpu, in->seg, si, len, false);
			if (!s || (d < s + len && s < d + len))
				return true;
			memcpy(d, s, len);
			cpu->st.gpr[CPU_RSI] = si + len;
		} else if (sz == 1) {
			memset(d, (int)(cpu->st.gpr[CPU_RAX] & 0xff), len);
		} else {
			for (u64 i = 0; i < len; i += sz)
				memcpy(d + i, &cpu->st.gpr[CPU_RAX], sz);
		}
		cpu->st.gpr[CPU_RDI] = di + len;
		c -= n;
		cpu->st.gpr[CPU_RCX] = c;
		if (c && unlikely(__atomic_load_n(&cpu->exit_request, __ATOMIC_RELAXED))) {
			bt_str_pause(cpu);
			return false;
		}
	}
	return true;
}

void bt_op_string(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned asz = in->asz;
	u64 c;

	if (in->rep != BT_REP_NONE && asz == 8 && !(cpu->st.rflags & BT_DF) &&
	    (in->opcode == 0xa4 || in->opcode == 0xa5 || in->opcode == 0xaa ||
	     in->opcode == 0xab) &&
	    !bt_str_fast(cpu, in))
		return;

	if (in->opcode >= 0x6c && in->opcode <= 0x6f)
		bt_io_check(cpu, (u16)cpu->st.gpr[CPU_RDX],
			    in->opsz == 1 ? 1 :
			    in->opsz == 2 ? 2 :
					    4);
	if (bt_hyper_string(cpu, in)) /* a VMware backdoor high-bandwidth transfer */
		return;
	if (in->rep == BT_REP_NONE) {
		bt_str_once(cpu, in);
		return;
	}
	for (c = bt_get_reg(cpu, CPU_RCX, asz); c;) {
		bool more = bt_str_once(cpu, in);

		c = (c - 1) & bt_mask(asz);
		bt_set_reg(cpu, CPU_RCX, asz, c);
		if (!more)
			break;
		/*
		 * An interrupt window between iterations (SDM vol. 2B REP): on a kick, stop with
		 * RIP still at this instruction; it resumes with the remaining count. A data
		 * breakpoint's trap comes after the iteration that hit it (vol. 3B 18.3.1.2).
		 */
		if (c && unlikely(__atomic_load_n(&cpu->exit_request, __ATOMIC_RELAXED) |
				  cpu->db_pending)) {
			bt_str_pause(cpu);
			break;
		}
	}
}

/* E4/E5 IN imm8, EC/ED IN DX, E6/E7 OUT imm8, EE/EF OUT DX. */
void bt_op_inout(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz = in->opsz == 1 ? 1 : in->opsz == 2 ? 2 : 4;
	u16 port = (in->opcode & 8) ? (u16)cpu->st.gpr[CPU_RDX] : (u16)(in->imm & 0xff);

	bt_io_check(cpu, port, sz);
	if (in->opcode == 0xed && bt_hyper_in(cpu, port, sz)) /* a VMware backdoor call */
		return;
	if (in->opcode & 2)
		bt_io_out(cpu, port, sz, bt_get_reg(cpu, CPU_RAX, sz));
	else
		bt_set_reg(cpu, CPU_RAX, sz, bt_io_in(cpu, port, sz));
}
