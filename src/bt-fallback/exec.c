// SPDX-License-Identifier: MIT
/*
 * The executor: the run loop over cached blocks with precise exceptions: an
 * instruction commits its register results only after its last access that
 * can fault, so a fault (fault.c) leaves RIP at the faulting instruction
 * (traps such as INT n leave it past).
 *
 * Exceptions and interrupts are delivered by intr.c between instructions; a
 * fault on the way is classed against the event being delivered (double
 * fault, triple fault ends bt_run with BT_EXIT_SHUTDOWN). External events
 * are polled at block boundaries; a block run in an interrupt shadow (STI,
 * MOV SS) runs one instruction only, so the window opens right after it.
 *
 * Debug events (SDM vol. 3A 6.8.3, vol. 3B 18.3): with TF, RF, an enabled
 * instruction breakpoint or a shadow, blocks are one instruction long and
 * bt_exec_one_done decides what follows it: the single-step trap (TF at the
 * start, or for SYSCALL and SYSRET at the end; with DEBUGCTL.BTF only after a
 * branch), data and I/O breakpoint traps, both held back one instruction by
 * MOV SS / POP SS but not by STI, and RF cleared.
 */
#include "bt-fallback/bt.h"

#include "bt-fallback/jit/jit.h"

/* IP wraps at the code segment's operand size. */
static u64 bt_ip_mask(const struct bt_cpu *cpu)
{
	switch (bt_cpu_mode(cpu)) {
	case BT_MODE_LONG64:
		return ~0ull;
	case BT_MODE_PROT32:
		return 0xffffffffull;
	default:
		return 0xffff;
	}
}

/*
 * The block to run next: a chained successor of prev when one fits (same linear address, mode
 * and CPL class, still valid, no jump-cache flush since it was linked), else from the cache,
 * linking it to prev.
 */
static inline struct bt_block *bt_next_block(struct bt_cpu *cpu, struct bt_block *prev)
{
	struct bt_cache *c = &cpu->cache;
	u64 lin, gen;
	u32 mode;
	u8 user;
	struct bt_block *b;
	unsigned slot;

	if (!prev)
		return bt_cache_get(cpu);
	mode = cpu->mode;
	lin = cpu->st.seg[CPU_CS].base + cpu->st.rip;
	if (mode != BT_MODE_LONG64)
		lin &= 0xffffffffu;
	user = (cpu->st.seg[CPU_CS].selector & 3) == 3 || (cpu->st.rflags & BT_VM);
	gen = c->link_gen;
	if (likely(prev->link_gen == gen)) {
		for (slot = 0; slot < 2; slot++) {
			b = prev->succ[slot];
			if (b && b->rip == lin && prev->succ_user[slot] == user &&
			    b->mode == mode && b->valid)
				return b;
		}
	} else {
		prev->succ[0] = prev->succ[1] = NULL;
		prev->link_gen = gen;
	}
	b = bt_cache_get(cpu);
	if (c->link_gen == gen) { /* no flush on the way: prev is still in the arena */
		slot = prev->succ[0] ? 1 : 0;
		if (prev->succ[1]) { /* both taken: keep the newer, replace the older */
			prev->succ[0] = prev->succ[1];
			prev->succ_user[0] = prev->succ_user[1];
		}
		prev->succ[slot] = b;
		prev->succ_user[slot] = user;
	}
	return b;
}

#define BT_DEBUGCTL_BTF 2ull

/*
 * After a one-instruction block (st.rip already past the instruction, or moved by it):
 * clear RF, then raise the debug trap the instruction left, if any.
 */
static void bt_exec_one_done(struct bt_cpu *cpu, bool tf, bool rf, u64 start_rip, unsigned len)
{
	bool step;

	if (rf && !cpu->rf_loaded)
		cpu->st.rflags &= ~(u64)BT_RF;
	cpu->rf_loaded = false;
	if (cpu->tf_at_end) {
		cpu->tf_at_end = false;
		tf = (cpu->st.rflags & BT_TF) != 0;
	}
	step = tf;
	/* DEBUGCTL.BTF: single-step on branches only (vol. 3B 18.4.3). */
	if (step && (cpu->msr.debugctl & BT_DEBUGCTL_BTF) && cpu->st.rip == start_rip + len)
		step = false;
	if (cpu->mov_ss) {
		/* MOV SS / POP SS: this instruction's debug traps wait for the next one. */
		cpu->mov_ss = false;
		cpu->db_deferred = step;
		return;
	}
	step = step || cpu->db_deferred;
	cpu->db_deferred = false;
	if (step || cpu->db_pending)
		bt_debug_trap(cpu, step);
}

/*
 * Not inlined into bt_run: its locals then live in registers rather than in memory across
 * bt_run's setjmp. cpu->icount and cpu->st.rip are exact after every instruction (a fault
 * longjmps out of a handler); the loop keeps copies in registers and only stores them.
 */
/*
 * The JIT tier for block b: compile it once it is hot, run its code when it fits the budget.
 * Returns false when b is to be interpreted. *link is the last exit taken (to be linked to the
 * next block), *prev the block it left.
 */
static bool bt_run_jit(struct bt_cpu *cpu, struct bt_block *b, u64 end, struct bt_jit_exit **link,
		       u64 *link_gen, struct bt_block **prev)
{
	struct bt_jit *j = cpu->jit;
	bool user = (cpu->st.seg[CPU_CS].selector & 3) == 3;
	enum bt_jit_interp why_interp = BT_JIT_INTERP_MODE;
	void *entry;

	/* 64-bit code without a CS base or flat 32-bit code, at the address it was translated at. */
	if (!bt_jit_mode_ok(cpu) || b->mode != cpu->mode || b->rip != cpu->st.rip)
		goto interp;
	/* Debug events (TF, RF, breakpoints, a held-back trap) are the interpreter's. */
	why_interp = BT_JIT_INTERP_DEBUG;
	if ((cpu->st.rflags & (BT_TF | BT_RF)) || cpu->st.interrupt_shadow ||
	    (cpu->dbg_insn | cpu->dbg_data | cpu->dbg_io | cpu->db_deferred))
		goto interp;
	if (!b->jit[user] && b->hot != UINT32_MAX && ++b->hot >= j->threshold)
		bt_jit_compile(cpu, b, user);
	entry = b->jit[user];
	why_interp = BT_JIT_INTERP_COLD;
	if (!entry)
		goto interp;
	why_interp = BT_JIT_INTERP_BUDGET;
	if (b->nr_insns > end - cpu->icount)
		goto interp;
	if (*link) {
		enum bt_jit_nolink why = BT_JIT_NOLINK_OTHER;

		if (*link_gen == j->flush_gen && (*link)->user == user)
			why = bt_jit_link(cpu, *link, b);
		if (why != BT_JIT_NOLINK_NR)
			j->nr_nolink[why]++;
	}
	cpu->cur_block = b;
	cpu->end_block = false;
	*link = bt_jit_run(cpu, entry);
	*link_gen = j->flush_gen;
	j->nr_why[*link ? BT_JIT_WHY_DIRECT : cpu->jit_why]++;
	cpu->cur_block = NULL;
	*prev = *link ? (*link)->from : NULL;
	return true;

interp:
	j->nr_interp[why_interp]++;
	if (*link)
		j->nr_nolink[BT_JIT_NOLINK_COLD]++;
	return false;
}

static __attribute__((noinline)) enum bt_exit bt_run_blocks(struct bt_cpu *cpu, u64 end)
{
	struct bt_block *prev = NULL;
	struct bt_jit_exit *link = NULL;
	u64 ipmask, rip, rip0, ic, link_gen = 0;

	while (cpu->icount < end) {
		struct bt_block *b;
		bool one, tf = false, rf = false;
		u32 n;

		if (unlikely(__atomic_load_n(&cpu->exit_request, __ATOMIC_ACQUIRE)) &&
		    (__atomic_exchange_n(&cpu->exit_request, 0, __ATOMIC_ACQ_REL) & BT_KICK_STOP))
			return BT_EXIT_REQUEST;
		/* Parked first: a region removed meanwhile queues its code pages for dropping. */
		if (unlikely(__atomic_load_n(&cpu->mem->excl_pending, __ATOMIC_ACQUIRE)))
			bt_smp_park(cpu);
		/* A region change some machine call asked for and nobody made yet. */
		bt_mem_changes_pending(cpu);
		/* Code other threads wrote (before an interrupt the writer may have raised). */
		if (unlikely(__atomic_load_n(&cpu->inval_pending, __ATOMIC_ACQUIRE)))
			bt_mem_inval_apply(cpu);
		if (unlikely(__atomic_load_n(&cpu->intr_line, __ATOMIC_RELAXED) |
			     __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED)) &&
		    !cpu->exc_exit)
			bt_intr_poll(cpu);
		if (unlikely(cpu->st.halted))
			return BT_EXIT_HLT;
		if (cpu->jit) {
			if (unlikely(cpu->jit->want_flush)) {
				bt_cache_flush(cpu);
				prev = NULL;
			}
			/* A kick zeroes jit_limit after setting exit_request: restore, look again. */
			if (unlikely(__atomic_load_n(&cpu->jit_limit, __ATOMIC_RELAXED) != end)) {
				__atomic_exchange_n(&cpu->jit_limit, end, __ATOMIC_SEQ_CST);
				if (__atomic_load_n(&cpu->exit_request, __ATOMIC_ACQUIRE))
					continue;
			}
		}
		/*
		 * An exit to another page that missed its jump-cache probe: through the jump cache
		 * (filling it for the next probe), not the successor shortcut.
		 */
		if (link && link->far && link_gen == cpu->jit->flush_gen)
			prev = NULL;
		b = bt_next_block(cpu, prev);
		cpu->trace[cpu->trace_pos++ % BT_TRACE_LEN] = b->rip;
		if (cpu->jit && bt_run_jit(cpu, b, end, &link, &link_gen, &prev)) {
			/* SYSRET or MOV SS run from generated code leave their debug state here. */
			if (unlikely(cpu->tf_at_end | cpu->mov_ss | cpu->db_pending))
				bt_exec_one_done(cpu, false, false, 0, 0);
			continue;
		}
		link = NULL;
		cpu->cur_block = b;
		cpu->end_block = false;
		ipmask = bt_ip_mask(cpu);
		n = b->nr_insns;
		one = cpu->st.interrupt_shadow | cpu->db_deferred | cpu->dbg_insn |
		      ((cpu->st.rflags & (BT_TF | BT_RF)) != 0);
		if (unlikely(one)) {
			/*
			 * One instruction in the STI / MOV SS shadow, then a window; TF: one, then
			 * #DB; RF: one without instruction breakpoints; else one checked for them.
			 */
			cpu->st.interrupt_shadow = false;
			tf = (cpu->st.rflags & BT_TF) != 0;
			rf = (cpu->st.rflags & BT_RF) != 0;
			n = 1;
			if (cpu->dbg_insn)
				bt_debug_check_insn(cpu);
		}
		ic = cpu->icount;
		if (n > end - ic)
			n = (u32)(end - ic);
		rip = rip0 = cpu->st.rip;
		for (const struct bt_insn *in = b->insns, *last = in + n;;) {
			cpu->next_rip = (rip + in->len) & ipmask;
			in->fn(cpu, in);
			rip = cpu->next_rip;
			cpu->st.rip = rip;
			cpu->icount = ++ic;
			if (unlikely(cpu->end_block) || ++in == last)
				break;
		}
		cpu->cur_block = NULL;
		prev = b;
		if (unlikely(one | cpu->db_pending | cpu->tf_at_end | cpu->mov_ss))
			bt_exec_one_done(cpu, tf, rf, rip0, b->insns[0].len);
	}
	return BT_EXIT_LIMIT;
}

static enum bt_exit bt_run_inner(struct bt_cpu *cpu, u64 max_insns)
{
	u64 end = cpu->icount + max_insns;
	volatile u64 delivered = 0; /* changed between setjmp and longjmp */

	if (cpu->jit)
		__atomic_exchange_n(&cpu->jit_limit, end, __ATOMIC_SEQ_CST);
	for (;;) {
		if (setjmp(cpu->fault_jmp) == 0)
			return bt_run_blocks(cpu, end);
		/* An exception was raised; architectural state is at the faulting instruction. */
		cpu->cur_block = NULL;
		if (cpu->in_exclusive) /* raised inside a section (ops/lock.c, the JIT) */
			bt_exclusive_end(cpu);
		cpu->db_pending = 0; /* a fault cancels the instruction's breakpoint traps */
		cpu->rf_loaded = cpu->tf_at_end = cpu->mov_ss = false;
		if (cpu->exc_is_trap) {
			cpu->soft_rip = cpu->st.rip;
			cpu->st.rip = cpu->next_rip;
			cpu->icount++;
		}
		if (cpu->exc_exit && bt_cpu_mode(cpu) != BT_MODE_REAL) {
			cpu->in_delivery = false;
			return BT_EXIT_EXCEPTION;
		}
		/* Deliver it; a fault on the way lands here again, classed against it. */
		if (!bt_exc_dispatch(cpu))
			return BT_EXIT_SHUTDOWN;
		/*
		 * A handler whose first instruction faults is entered again and again without an
		 * instruction retiring (a real CPU spins there too): every delivery counts against
		 * the budget, so the run still ends and timers, interrupts and requests get a turn.
		 */
		if (cpu->icount + ++delivered >= end)
			return BT_EXIT_LIMIT;
	}
}

enum bt_exit bt_run(struct bt_cpu *cpu, u64 max_insns)
{
	enum bt_exit why;

	bt_smp_enter(cpu);
	why = bt_run_inner(cpu, max_insns);
	bt_smp_leave(cpu);
	return why;
}
