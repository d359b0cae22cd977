// SPDX-License-Identifier: MIT
/*
 * The executor: CPU lifecycle, register and flag access (lazy flags, SDM
 * vol. 1 3.4.3 and appendix B for the condition codes), effective
 * addresses (vol. 2A 2.1.5), the stack, and the run loop over cached blocks
 * with precise exceptions: an instruction commits its register results only
 * after its last access that can fault, so a fault leaves RIP at the
 * faulting instruction (traps such as INT n leave it past).
 *
 * Exceptions and interrupts are delivered by intr.c between instructions; a
 * fault on the way is classed against the event being delivered (double
 * fault, triple fault ends bt_run with BT_EXIT_SHUTDOWN). External events
 * are polled at block boundaries; a block run in an interrupt shadow (STI,
 * MOV SS) runs one instruction only, so the window opens right after it.
 */
#include "bt-fallback/bt.h"

#include "vmm/base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bt_cpu_create(const struct bt_cpu_config *cfg, struct bt_cpu **out, struct err *err)
{
	struct bt_cpu *cpu;
	int ret;

	if (cfg->mem->nr_cpus == BT_MAX_CPUS)
		return err_set(err, -ENOSPC, "bt: at most %u CPUs", BT_MAX_CPUS);
	cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return err_set(err, -ENOMEM, "bt: out of memory for vcpu%u", cfg->index);
	ret = bt_cache_init(&cpu->cache, cfg->cache_bytes);
	if (ret < 0) {
		err_set(err, ret, "bt: out of memory for vcpu%u's block cache", cfg->index);
		goto err_free;
	}
	cpu->mem = cfg->mem;
	cpu->index = cfg->index;
	cpu->cpuid = (struct bt_cpuid_model){
		.popcnt = true, .lzcnt = true, .bmi1 = false, .movbe = true, .sse2 = true
	};
	cfg->mem->cpus[cfg->mem->nr_cpus++] = cpu;
	bt_cpu_reset(cpu);
	*out = cpu;
	return 0;

err_free:
	free(cpu);
	return ret;
}

void bt_cpu_destroy(struct bt_cpu *cpu)
{
	struct bt_mem *mem;

	if (!cpu)
		return;
	mem = cpu->mem;
	for (unsigned i = 0; i < mem->nr_cpus; i++) {
		if (mem->cpus[i] == cpu) {
			mem->cpus[i] = mem->cpus[--mem->nr_cpus];
			break;
		}
	}
	bt_cache_destroy(&cpu->cache);
	free(cpu);
}

void bt_cpu_load_seg_real(struct bt_cpu *cpu, enum cpu_seg s, u16 sel)
{
	struct cpu_segment *seg = &cpu->st.seg[s];

	seg->selector = sel;
	seg->base = (u64)sel << 4;
}

static void bt_cpu_init_seg(struct cpu_segment *s, u16 sel, u64 base, u32 limit, u8 type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->s = 1;
	s->present = 1;
}

void bt_cpu_set_real(struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		bt_cpu_init_seg(&cpu->st.seg[i], 0, 0, 0xffff, i == CPU_CS ? 0xb : 0x3);
	cpu->st.cr0 = 0x60000010;
	cpu->st.efer = 0;
	cpu->st.idtr.base = 0;
	cpu->st.idtr.limit = 0x3ff;
	cpu->flat = false;
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_cpu_reset(struct bt_cpu *cpu)
{
	memset(&cpu->st, 0, sizeof(cpu->st));
	bt_cpu_set_real(cpu);
	bt_cpu_load_seg_real(cpu, CPU_CS, 0xf000);
	cpu->st.seg[CPU_CS].base = 0xffff0000;
	cpu->st.rip = 0xfff0;
	cpu->st.rflags = 2;
	cpu->st.gpr[CPU_RDX] = 0x00020fb1; /* family/model/stepping, as CPUID.1:EAX */
	cpu->st.fx.fcw = 0x37f;
	cpu->st.fx.mxcsr = 0x1f80;
	/* TR and LDTR as after RESET (SDM vol. 3A table 10-1): base 0, limit FFFFH, present. */
	bt_cpu_init_seg(&cpu->st.tr, 0, 0, 0xffff, 0xb);
	bt_cpu_init_seg(&cpu->st.ldtr, 0, 0, 0xffff, 0x2);
	cpu->st.tr.s = cpu->st.ldtr.s = 0;
	cpu->st.gdtr.limit = 0xffff;
	cpu->lf_op = BT_LF_NONE;
	cpu->exc_exit = false;
	cpu->in_delivery = false;
	bt_msr_reset(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_cpu_set_flat64(struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		bt_cpu_init_seg(&cpu->st.seg[i], 0x2b, 0, 0xffffffff, 0x3);
		cpu->st.seg[i].dpl = 3;
	}
	bt_cpu_init_seg(&cpu->st.seg[CPU_CS], 0x33, 0, 0xffffffff, 0xb);
	cpu->st.seg[CPU_CS].l = 1;
	cpu->st.seg[CPU_CS].dpl = 3;
	cpu->st.halted = false;
	cpu->st.cr0 = 0x80050033;
	cpu->st.cr4 = 0x6a0;  /* PAE, OSFXSR, OSXMMEXCPT */
	cpu->st.efer = 0xd01; /* SCE, LME, LMA, NXE */
	cpu->exc_exit = true;
	cpu->st.tr.unusable = 1; /* no I/O permission bitmap: IN/OUT raise #GP(0) */
	cpu->flat = true;	 /* no page tables: linear = physical */
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
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

/* ------------------------------------------------------------ registers */

u64 bt_ea(struct bt_cpu *cpu, const struct bt_insn *in)
{
	return cpu->st.seg[in->seg].base + bt_ea_off(cpu, in);
}

/* ---------------------------------------------------------------- stack */

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

/* ---------------------------------------------------------------- flags */

static u64 bt_flags_lazy(const struct bt_cpu *cpu)
{
	unsigned size = cpu->lf_size;
	u64 m = bt_mask(size), s = bt_sign(size);
	u64 r = cpu->lf_res & m, a = cpu->lf_a & m, b = cpu->lf_b & m;
	u64 f = bt_szp(size, r);

	switch (cpu->lf_op) {
	case BT_LF_ADD:
	case BT_LF_ADC:
		if (cpu->lf_op == BT_LF_ADD ? r < a : r <= a)
			f |= BT_CF;
		if ((a ^ r) & (b ^ r) & s)
			f |= BT_OF;
		f |= (a ^ b ^ r) & BT_AF;
		break;
	case BT_LF_SUB:
	case BT_LF_SBB:
		if (cpu->lf_op == BT_LF_SUB ? a < b : a <= b)
			f |= BT_CF;
		if ((a ^ b) & (a ^ r) & s)
			f |= BT_OF;
		f |= (a ^ b ^ r) & BT_AF;
		break;
	case BT_LF_INC:
		if (r == s)
			f |= BT_OF;
		f |= (a ^ 1 ^ r) & BT_AF;
		f |= cpu->lf_carry;
		break;
	case BT_LF_DEC:
		if (r == s - 1)
			f |= BT_OF;
		f |= (a ^ 1 ^ r) & BT_AF;
		f |= cpu->lf_carry;
		break;
	case BT_LF_RES:
		f |= cpu->lf_a & (BT_CF | BT_OF);
		break;
	default: /* LOGIC: CF = OF = 0; AF undefined, 0 like AMD */
		break;
	}
	return f;
}

void bt_flags_commit(struct bt_cpu *cpu)
{
	if (cpu->lf_op == BT_LF_NONE)
		return;
	cpu->st.rflags = (cpu->st.rflags & ~(u64)BT_ARITH) | bt_flags_lazy(cpu);
	cpu->lf_op = BT_LF_NONE;
}

u64 bt_get_rflags(struct bt_cpu *cpu)
{
	bt_flags_commit(cpu);
	return cpu->st.rflags | 2;
}

void bt_set_rflags(struct bt_cpu *cpu, u64 v)
{
	cpu->lf_op = BT_LF_NONE;
	cpu->st.rflags = v | 2;
}

bool bt_cond_slow(struct bt_cpu *cpu, unsigned cc)
{
	u64 f;
	bool r;

	if (cpu->lf_op != BT_LF_NONE) {
		/* Flags that need no full evaluation: CF, ZF, SF, and OF = 0 after a logic op. */
		u64 m = bt_mask(cpu->lf_size), res = cpu->lf_res & m;
		bool sf = res & bt_sign(cpu->lf_size);

		switch (cc >> 1) {
		case 1:
			return bt_cf(cpu) ^ (cc & 1);
		case 2:
			return !res ^ (cc & 1);
		case 3:
			return (!res || bt_cf(cpu)) ^ (cc & 1);
		case 4:
			return sf ^ (cc & 1);
		case 6:
			if (cpu->lf_op == BT_LF_LOGIC)
				return sf ^ (cc & 1);
			break;
		case 7:
			if (cpu->lf_op == BT_LF_LOGIC)
				return (!res || sf) ^ (cc & 1);
			break;
		default:
			break;
		}
	}
	f = cpu->lf_op == BT_LF_NONE ? cpu->st.rflags :
				       (cpu->st.rflags & ~(u64)BT_ARITH) | bt_flags_lazy(cpu);
	switch (cc >> 1) {
	case 0:
		r = f & BT_OF;
		break;
	case 1:
		r = f & BT_CF;
		break;
	case 2:
		r = f & BT_ZF;
		break;
	case 3:
		r = f & (BT_CF | BT_ZF);
		break;
	case 4:
		r = f & BT_SF;
		break;
	case 5:
		r = f & BT_PF;
		break;
	case 6:
		r = !(f & BT_SF) != !(f & BT_OF);
		break;
	default:
		r = (f & BT_ZF) || !(f & BT_SF) != !(f & BT_OF);
		break;
	}
	return r ^ (cc & 1);
}

/* ----------------------------------------------------------- exceptions */

void bt_raise(struct bt_cpu *cpu, u8 vector, u32 error, bool has_error)
{
	cpu->exc.vector = vector;
	cpu->exc.error = error;
	cpu->exc.has_error = has_error;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = false;
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
	longjmp(cpu->fault_jmp, 1);
}

void bt_raise_trap(struct bt_cpu *cpu, u8 vector)
{
	cpu->exc.vector = vector;
	cpu->exc.error = 0;
	cpu->exc.has_error = false;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = true;
	longjmp(cpu->fault_jmp, 1);
}

/* #DB after a single-stepped instruction: a trap, RIP already past it; DR6.BS says why. */
static NORETURN void bt_raise_single_step(struct bt_cpu *cpu)
{
	cpu->st.dr[6] |= 1u << 14;
	cpu->exc.vector = BT_EXC_DB;
	cpu->exc.error = 0;
	cpu->exc.has_error = false;
	cpu->exc.cr2 = 0;
	cpu->exc_is_trap = false;
	longjmp(cpu->fault_jmp, 1);
}

void bt_op_ud(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	bt_raise_ud(cpu);
}

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

/*
 * Not inlined into bt_run: its locals then live in registers rather than in memory across
 * bt_run's setjmp. cpu->icount and cpu->st.rip are exact after every instruction (a fault
 * longjmps out of a handler); the loop keeps copies in registers and only stores them.
 */
static __attribute__((noinline)) enum bt_exit bt_run_blocks(struct bt_cpu *cpu, u64 end)
{
	struct bt_block *prev = NULL;
	u64 ipmask, rip, ic;

	while (cpu->icount < end) {
		struct bt_block *b;
		bool step;
		u32 n;

		if (unlikely(__atomic_load_n(&cpu->exit_request, __ATOMIC_ACQUIRE)) &&
		    (__atomic_exchange_n(&cpu->exit_request, 0, __ATOMIC_ACQ_REL) & BT_KICK_STOP))
			return BT_EXIT_REQUEST;
		if (unlikely(__atomic_load_n(&cpu->mem->dma_pending, __ATOMIC_ACQUIRE)))
			bt_mem_dma_apply(cpu->mem);
		if (unlikely(__atomic_load_n(&cpu->intr_line, __ATOMIC_RELAXED) |
			     __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED)) &&
		    !cpu->exc_exit)
			bt_intr_poll(cpu);
		if (unlikely(cpu->st.halted))
			return BT_EXIT_HLT;
		b = bt_next_block(cpu, prev);
		cpu->trace[cpu->trace_pos++ % BT_TRACE_LEN] = b->rip;
		cpu->cur_block = b;
		cpu->end_block = false;
		ipmask = bt_ip_mask(cpu);
		n = b->nr_insns;
		step = (cpu->st.rflags & BT_TF) != 0;
		if (unlikely(cpu->st.interrupt_shadow | step)) {
			/* One instruction in the STI / MOV SS shadow, then a window; TF: one, then #DB. */
			cpu->st.interrupt_shadow = false;
			n = 1;
		}
		ic = cpu->icount;
		if (n > end - ic)
			n = (u32)(end - ic);
		rip = cpu->st.rip;
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
		/*
		 * Single-step trap (SDM vol. 3A 17.3.1.4): TF was set when the instruction began and it
		 * completed; not after one that opened a MOV SS / STI shadow.
		 */
		if (unlikely(step) && !cpu->st.interrupt_shadow)
			bt_raise_single_step(cpu);
	}
	return BT_EXIT_LIMIT;
}

void bt_cpu_kick(struct bt_cpu *cpu)
{
	__atomic_fetch_or(&cpu->exit_request, BT_KICK_STOP, __ATOMIC_RELEASE);
}

void bt_cpu_set_intr(struct bt_cpu *cpu, bool level)
{
	__atomic_store_n(&cpu->intr_line, level, __ATOMIC_RELEASE);
	if (level)
		__atomic_fetch_or(&cpu->exit_request, BT_KICK_INTR, __ATOMIC_RELEASE);
}

enum bt_exit bt_run(struct bt_cpu *cpu, u64 max_insns)
{
	u64 end = cpu->icount + max_insns;
	volatile u64 delivered = 0; /* changed between setjmp and longjmp */

	for (;;) {
		if (setjmp(cpu->fault_jmp) == 0)
			return bt_run_blocks(cpu, end);
		/* An exception was raised; architectural state is at the faulting instruction. */
		cpu->cur_block = NULL;
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

void bt_cpu_describe(struct bt_cpu *cpu, char *buf, size_t n)
{
	static const char *const gpr[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",	 "r10", "r11", "r12", "r13", "r14", "r15" };
	static const char *const seg[] = { "es", "cs", "ss", "ds", "fs", "gs" };
	size_t at = 0;

#define BT_DESCRIBE(...)                                                       \
	do {                                                                   \
		if (at < n)                                                    \
			at += (size_t)snprintf(buf + at, n - at, __VA_ARGS__); \
	} while (0)
	if (!n)
		return;
	buf[0] = 0;
	BT_DESCRIBE("vcpu%u rip=%016llx rflags=%08llx cpl=%u mode=%u%s\n", cpu->index,
		    (unsigned long long)cpu->st.rip, (unsigned long long)bt_get_rflags(cpu),
		    bt_cpu_cpl(cpu), cpu->mode, cpu->st.halted ? " halted" : "");
	for (unsigned i = 0; i < CPU_NR_GPRS; i++)
		BT_DESCRIBE("%s=%016llx%s", gpr[i], (unsigned long long)cpu->st.gpr[i],
			    i % 4 == 3 ? "\n" : " ");
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		const struct cpu_segment *s = &cpu->st.seg[i];

		BT_DESCRIBE("%s=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u l=%u db=%u\n",
			    seg[i], s->selector, (unsigned long long)s->base, s->limit, s->type,
			    s->s, s->dpl, s->present, s->l, s->db);
	}
	BT_DESCRIBE("tr=%04x base=%016llx limit=%08x ldtr=%04x gdt=%016llx/%04x "
		    "idt=%016llx/%04x\n",
		    cpu->st.tr.selector, (unsigned long long)cpu->st.tr.base, cpu->st.tr.limit,
		    cpu->st.ldtr.selector, (unsigned long long)cpu->st.gdtr.base,
		    cpu->st.gdtr.limit, (unsigned long long)cpu->st.idtr.base, cpu->st.idtr.limit);
	BT_DESCRIBE("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n",
		    (unsigned long long)cpu->st.cr0, (unsigned long long)cpu->st.cr2,
		    (unsigned long long)cpu->st.cr3, (unsigned long long)cpu->st.cr4,
		    (unsigned long long)cpu->st.efer);
	BT_DESCRIBE("last exception %u error %x; last blocks (oldest first):", cpu->exc.vector,
		    cpu->exc.error);
	for (unsigned i = 0; i < BT_TRACE_LEN; i++) {
		u64 a = cpu->trace[(cpu->trace_pos + i) % BT_TRACE_LEN];

		if (a || i == BT_TRACE_LEN - 1)
			BT_DESCRIBE(" %llx", (unsigned long long)a);
	}
	BT_DESCRIBE("\n");
#undef BT_DESCRIBE
}
