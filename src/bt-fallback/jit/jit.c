// SPDX-License-Identifier: MIT
/*
 * The JIT's runtime (jit.h): the code buffer with the trampoline between C and generated code,
 * linking and unlinking block exits, dropping the code of dead blocks, the flush when the buffer
 * is full, and the C functions generated code calls (the slow path of memory accesses, flags).
 * The compiler is jit_compile.c.
 *
 * Trampoline (at the start of the buffer, kept across flushes): enter(cpu, entry) saves the
 * callee-saved registers of the SysV ABI, aligns the stack for calls from generated code, puts
 * cpu in R15 and jumps to entry; generated code leaves by jumping to exit with the exit taken
 * (or NULL) in RAX. A fault longjmps past both to bt_run's setjmp, which restores what it saved.
 */
#include "bt-fallback/jit/jit.h"

#include "bt-fallback/jit/emit.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bt_jit_exit *(*bt_jit_enter_fn)(struct bt_cpu *cpu, void *entry);

static const u8 bt_jit_saved[] = { BT_H_RBX, BT_H_RBP, BT_H_R12, BT_H_R13, BT_H_R14, BT_H_R15 };

/* The trampoline at the start of the (empty) buffer; returns false when it does not fit. */
static bool bt_jit_emit_trampoline(struct bt_jit *j)
{
	u8 *rw = bt_codebuf_alloc(&j->code, 64, 16);
	struct bt_emit e;

	if (!rw)
		return false;
	bt_emit_init(&e, rw, 64);
	j->enter = bt_codebuf_rx(&j->code, e.p);
	for (unsigned i = 0; i < sizeof(bt_jit_saved); i++)
		bt_emit_push(&e, bt_jit_saved[i]);
	bt_emit_alu_rm_imm(&e, 5, 8, bt_rm_reg(BT_H_RSP), 8); /* 16-byte aligned at calls */
	bt_emit_mov_rm_r(&e, 8, bt_rm_reg(BT_H_R15), BT_H_RDI);
	bt_emit_jmp_r(&e, BT_H_RSI);
	j->exit = bt_codebuf_rx(&j->code, e.p);
	bt_emit_alu_rm_imm(&e, 0, 8, bt_rm_reg(BT_H_RSP), 8);
	for (unsigned i = sizeof(bt_jit_saved); i--;)
		bt_emit_pop(&e, bt_jit_saved[i]);
	bt_emit_ret(&e);
	return !e.full;
}

static bool bt_jit_host_bmi2(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 8) & 1;
}

int bt_jit_init(struct bt_cpu *cpu, unsigned threshold, size_t code_bytes)
{
	struct bt_jit *j = calloc(1, sizeof(*j));
	int ret;

	if (!j)
		return -ENOMEM;
	j->helper = calloc(BT_JIT_HELPER_KEYS, sizeof(*j->helper));
	if (!j->helper) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = bt_codebuf_init(&j->code, code_bytes ? code_bytes : BT_JIT_CODE_BYTES_DEFAULT);
	if (ret < 0)
		goto err_free;
	if (!bt_jit_emit_trampoline(j)) {
		ret = -ENOSPC;
		goto err_code;
	}
	j->threshold = threshold ? threshold : BT_JIT_THRESHOLD_DEFAULT;
	j->bmi2 = bt_jit_host_bmi2();
	bt_jit_perf_open(cpu, j);
	bt_jit_perf_add(j, j->enter, 64, "bt_jit_trampoline");
	cpu->jit = j;
	return 0;

err_code:
	bt_codebuf_destroy(&j->code);
err_free:
	free(j->helper);
	free(j);
	return ret;
}

void bt_jit_destroy(struct bt_cpu *cpu)
{
	if (!cpu->jit)
		return;
	bt_codebuf_destroy(&cpu->jit->code);
	bt_jit_perf_close(cpu->jit);
	free(cpu->jit->helper);
	free(cpu->jit);
	cpu->jit = NULL;
}

struct bt_jit_exit *bt_jit_run(struct bt_cpu *cpu, void *entry)
{
	bt_jit_enter_fn enter = (bt_jit_enter_fn)(void *)cpu->jit->enter;

	cpu->jit->nr_entries++;
	return enter(cpu, entry);
}

/* The code record stored in the 8 bytes before an entry. */
static struct bt_jit_code *bt_jit_code_of(const u8 *entry)
{
	struct bt_jit_code *code;

	memcpy(&code, entry - sizeof(code), sizeof(code));
	return code;
}

enum bt_jit_nolink bt_jit_link(struct bt_cpu *cpu, struct bt_jit_exit *x, struct bt_block *target)
{
	struct bt_jit *j = cpu->jit;
	const struct bt_block *from = x->from;
	u8 *entry = target->jit[x->user];

	/*
	 * Only within the linear page the source started in (QEMU's rule): the target's physical
	 * page is then the source's under any mapping that reaches the source, so no TLB change
	 * can make the link wrong. A target reaching into a second page is never linked.
	 */
	if (x->to)
		return BT_JIT_NOLINK_NR;
	if (!entry)
		return BT_JIT_NOLINK_COLD;
	if ((from->rip ^ target->rip) & BT_PAGE_MASK)
		return BT_JIT_NOLINK_PAGE;
	if (target->pages[1].block) {
		/* From now on the exit probes the jump cache, which checks the second page too. */
		if (x->probe && !bt_emit_patch_rel32(x->field, x->probe))
			return BT_JIT_NOLINK_OTHER;
		return BT_JIT_NOLINK_SPAN;
	}
	if (!from->valid || !target->valid || target->rip != x->target ||
	    target->mode != from->mode)
		return BT_JIT_NOLINK_OTHER;
	if (!bt_emit_patch_rel32(x->field, bt_codebuf_rw(&j->code, entry)))
		return BT_JIT_NOLINK_OTHER;
	x->to = target;
	x->next_in = target->jit_in;
	if (x->next_in)
		x->next_in->pprev_in = &x->next_in;
	x->pprev_in = &target->jit_in;
	target->jit_in = x;
	j->nr_links++;
	return BT_JIT_NOLINK_NR;
}

static void bt_jit_unlink(struct bt_jit_exit *x)
{
	if (!x->to)
		return;
	*x->pprev_in = x->next_in;
	if (x->next_in)
		x->next_in->pprev_in = x->pprev_in;
	x->to = NULL;
	x->next_in = NULL;
	x->pprev_in = NULL;
}

void bt_jit_block_dropped(struct bt_cpu *cpu, struct bt_block *b)
{
	struct bt_jit *j = cpu->jit;

	/* What jumps here goes back to its exit stub: the dispatcher finds the new block. */
	while (b->jit_in) {
		struct bt_jit_exit *x = b->jit_in;

		bt_emit_patch_rel32(x->field, x->stub);
		bt_jit_unlink(x);
	}
	/* Its own links go; the code stays in the buffer, unreachable, until the next flush. */
	for (unsigned u = 0; u < 2; u++) {
		struct bt_jit_code *code;

		if (!b->jit[u])
			continue;
		code = bt_jit_code_of(b->jit[u]);
		for (unsigned i = 0; i < code->nr_exits; i++)
			bt_jit_unlink(&code->exits[i]);
		b->jit[u] = NULL;
	}
	(void)j;
}

void bt_jit_flush(struct bt_cpu *cpu)
{
	struct bt_jit *j = cpu->jit;

	if (!j)
		return;
	bt_codebuf_reset(&j->code);
	bt_jit_emit_trampoline(j); /* the same bytes at the same place */
	j->flush_gen++;
	j->nr_flushes++;
	j->want_flush = false;
}

/* "jit_helper_<opcode>_<ModRM.reg>", the opcode with its escape bytes: 0f af, 0f 38 f0... */
static void bt_jit_helper_name(char *buf, size_t len, unsigned key)
{
	static const char *const esc[4] = { "", "0f", "0f38", "0f3a" };
	unsigned op = key >> 3;

	snprintf(buf, len, "jit_helper_%s%02x_%u", esc[op >> 8], op & 0xff, key & 7);
}

void bt_jit_counters(const struct bt_cpu *cpu, unsigned top,
		     void (*fn)(void *opaque, const char *name, u64 value), void *opaque)
{
	static const char *const why[BT_JIT_WHY_NR] = {
		[BT_JIT_WHY_DIRECT] = "jit_exits_direct",
		[BT_JIT_WHY_INDIRECT] = "jit_exits_indirect_miss",
		[BT_JIT_WHY_HELPER] = "jit_exits_helper",
		[BT_JIT_WHY_END_BLOCK] = "jit_exits_end_block",
		[BT_JIT_WHY_BUDGET] = "jit_exits_budget",
		[BT_JIT_WHY_SMC] = "jit_exits_smc",
	};
	static const char *const nolink[BT_JIT_NOLINK_NR] = {
		[BT_JIT_NOLINK_COLD] = "jit_nolink_cold",
		[BT_JIT_NOLINK_PAGE] = "jit_nolink_page",
		[BT_JIT_NOLINK_SPAN] = "jit_nolink_span",
		[BT_JIT_NOLINK_OTHER] = "jit_nolink_other",
	};
	const struct bt_jit *j = cpu->jit;
	u64 calls = 0, leaves = 0, last = UINT64_MAX;
	unsigned last_key = 0;
	char name[48];

	fn(opaque, "jit_blocks_compiled", j->nr_compiled);
	fn(opaque, "jit_blocks_not_compiled", j->nr_failed);
	fn(opaque, "jit_links", j->nr_links);
	fn(opaque, "jit_flushes", j->nr_flushes);
	fn(opaque, "jit_code_bytes", j->code.used);
	fn(opaque, "jit_entries", j->nr_entries);
	static const char *const interp[BT_JIT_INTERP_NR] = {
		[BT_JIT_INTERP_COLD] = "jit_interp_cold",
		[BT_JIT_INTERP_MODE] = "jit_interp_mode",
		[BT_JIT_INTERP_DEBUG] = "jit_interp_debug",
		[BT_JIT_INTERP_BUDGET] = "jit_interp_budget",
	};
	u64 nr_interp = 0;

	for (unsigned i = 0; i < BT_JIT_INTERP_NR; i++)
		nr_interp += j->nr_interp[i];
	fn(opaque, "jit_blocks_interpreted", nr_interp);
	for (unsigned i = 0; i < BT_JIT_INTERP_NR; i++)
		fn(opaque, interp[i], j->nr_interp[i]);
	for (unsigned i = 0; i < BT_JIT_WHY_NR; i++)
		fn(opaque, why[i], j->nr_why[i]);
	for (unsigned i = 0; i < BT_JIT_NOLINK_NR; i++)
		fn(opaque, nolink[i], j->nr_nolink[i]);
	for (unsigned k = 0; k < BT_JIT_HELPER_KEYS; k++) {
		calls += j->helper[k].calls;
		leaves += j->helper[k].leaves;
	}
	fn(opaque, "jit_helper_calls", calls);
	fn(opaque, "jit_helper_leaves", leaves);
	/* The top opcodes by calls, in descending order (ties by key), each call counted once. */
	for (unsigned n = 0; n < top; n++) {
		unsigned best = BT_JIT_HELPER_KEYS;

		for (unsigned k = 0; k < BT_JIT_HELPER_KEYS; k++) {
			u64 v = j->helper[k].calls;

			if (!v || v > last || (v == last && k <= last_key))
				continue;
			if (best == BT_JIT_HELPER_KEYS || v > j->helper[best].calls)
				best = k;
		}
		if (best == BT_JIT_HELPER_KEYS)
			break;
		last = j->helper[best].calls;
		last_key = best;
		bt_jit_helper_name(name, sizeof(name), best);
		fn(opaque, name, last);
	}
}

/* ------------------------------------------------- called from generated code */

/*
 * A 16- or 32-byte vector operand the inline lookup missed and bt_host_span could not map (a
 * page crossing, MMIO, a code page): a load reads it now, a store checks every byte's page
 * first (as bt_vec_store) and writes after the instruction, from jit_vtmp.
 */
static u8 *bt_jit_vec_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, unsigned kind)
{
	if (kind == BT_JIT_LD) {
		for (unsigned i = 0; i < size; i += 8) {
			u64 q = bt_ld(cpu, seg, off + i, 8);

			memcpy(cpu->jit_vtmp + i, &q, 8);
		}
		return cpu->jit_vtmp;
	}
	bt_probe_st(cpu, seg, off, size);
	cpu->jit_post = BT_JIT_POST_STORE | (cpu->end_block ? BT_JIT_POST_EXIT : 0);
	cpu->jit_post_seg = seg;
	cpu->jit_post_off = off;
	cpu->jit_post_size = size;
	return cpu->jit_vtmp;
}

u8 *bt_jit_mem_slow(struct bt_cpu *cpu, u64 lin, u32 info)
{
	unsigned size = info & 0xff, kind = (info >> 8) & 0xff, seg = (info >> 16) & 0xff;
	u64 off = lin;
	u8 *p;

	if (seg == CPU_FS || seg == CPU_GS)
		off = lin - cpu->st.seg[seg].base;
	cpu->jit_post = 0;
	/* Plain RAM in one page: the fill leaves the TLB entry for the next time. */
	p = bt_host_span(cpu, seg, off, size, kind != BT_JIT_LD);
	if (p) {
		if (kind != BT_JIT_LD && cpu->end_block)
			cpu->jit_post = BT_JIT_POST_EXIT;
		return p;
	}
	/*
	 * MMIO, a page crossing, ROM, or a fault (raised here, precisely). Through jit_tmp the
	 * access is not one host atomic: a LOCKed one runs with the other CPUs stopped.
	 */
	if ((info & BT_JIT_MEM_ATOMIC) && kind != BT_JIT_LD && cpu->mem->nr_cpus > 1) {
		bt_probe_st(cpu, seg, off, size); /* fault before the section, not inside it */
		bt_exclusive_begin(cpu);
	}
	if (size > 8) /* a vector operand: 8 bytes at a time, as bt_vec_load/bt_vec_store do */
		return bt_jit_vec_slow(cpu, seg, off, size, kind);
	switch (kind) {
	case BT_JIT_LD:
		cpu->jit_tmp = bt_ld_slow(cpu, seg, off, size);
		return (u8 *)&cpu->jit_tmp;
	case BT_JIT_RMW:
		cpu->jit_tmp = bt_ld_rmw_slow(cpu, seg, off, size);
		break;
	default:
		bt_probe_st(cpu, seg, off, size);
		cpu->jit_tmp = 0;
		break;
	}
	cpu->jit_post = BT_JIT_POST_STORE | (cpu->end_block ? BT_JIT_POST_EXIT : 0) |
			(cpu->in_exclusive ? BT_JIT_POST_EXCL : 0);
	cpu->jit_post_seg = seg;
	cpu->jit_post_off = off;
	cpu->jit_post_size = size;
	return (u8 *)&cpu->jit_tmp;
}

void bt_jit_mem_post(struct bt_cpu *cpu)
{
	if ((cpu->jit_post & BT_JIT_POST_STORE) && cpu->jit_post_size > 8) {
		for (unsigned i = 0; i < cpu->jit_post_size; i += 8) {
			u64 q;

			memcpy(&q, cpu->jit_vtmp + i, 8);
			bt_st(cpu, cpu->jit_post_seg, cpu->jit_post_off + i, 8, q);
		}
	} else if (cpu->jit_post & BT_JIT_POST_STORE) {
		bt_st_slow(cpu, cpu->jit_post_seg, cpu->jit_post_off, cpu->jit_post_size,
			   cpu->jit_tmp);
	}
	if (cpu->jit_post & BT_JIT_POST_EXCL)
		bt_exclusive_end(cpu);
	cpu->jit_post = 0;
}

void bt_jit_flags_host(struct bt_cpu *cpu)
{
	u64 f;

	if (cpu->lf_op == BT_LF_HOST)
		return;
	f = bt_get_rflags(cpu);
	/* LAHF: SF ZF 0 AF 0 PF 1 CF in bits 15:8; SETO in bit 0. */
	cpu->lf_res = ((f & 0xd5) | 2) << 8 | ((f & BT_OF) ? 1 : 0);
	cpu->lf_op = BT_LF_HOST;
}

void bt_jit_raise_gp(struct bt_cpu *cpu)
{
	bt_raise_gp0(cpu);
}
