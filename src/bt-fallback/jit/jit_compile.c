// SPDX-License-Identifier: MIT
/*
 * The JIT's compiler (jit.h, docs/bt-jit.md): one decoded block of 64-bit code or of flat 32-bit
 * code (bt_jit_mode_ok) to host code. What depends on the mode -- the width of RIP, of stack
 * slots and of near branches, which memory operands are compiled, branch target checks -- is in
 * the "mode" section below; the rest is the same for both.
 *
 * Layout of a block's code: the code record pointer (8 bytes), the entry (loads the cached guest
 * registers), the loop head (the budget check: leave if icount + n would pass jit_limit, else
 * count the whole block at once), the body, then the out-of-line stubs (slow paths of memory
 * accesses, unlinked exits, the budget exit, dynamic exits), then the exit records.
 *
 * Guest registers: the block's most used ones (JIT_POOL host registers at most) live in host
 * registers from the entry on; the others stay in cpu->st.gpr and go through scratch
 * registers. What was written is stored back before every call into C and at every exit; after
 * a call into an interpreter handler all are loaded again.
 *
 * Flags: an instruction the host runs as itself leaves the guest flags in the host RFLAGS. They
 * are stored (SETO/LAHF into lf_res, lf_op = BT_LF_HOST) before anything that clobbers the host
 * flags (the TLB lookup, a call, an exit), so the lazy-flags state is exact at every point where
 * a fault can be taken, and they are loaded back (ADD AL,7Fh; SAHF) when an instruction reads
 * them; a lazy state of another kind is first put in that form by bt_jit_flags_host.
 *
 * Instructions compiled natively: integer ALU ops in every ModRM form (ADD..CMP, TEST, NOT,
 * NEG, INC, DEC, one-operand MUL/IMUL, IMUL, shifts and rotates, BT/BTS/BTR/BTC with an
 * immediate or a register, XCHG, XADD, CMPXCHG, SETcc, CMOVcc, MOV, MOVZX, MOVSX, MOVSXD, LEA,
 * BSWAP, CBW..CQO, CLC/STC/CMC, NOP) with LOCK kept as the host's own LOCK, PUSH/POP of
 * registers and immediates, LEAVE, CALL rel, RET, JMP rel, Jcc, and JMP/CALL through a
 * register (JMP also through memory). AH..BH only in group 1 and TEST with an immediate and as
 * MOVZX/MOVSX sources. The vector, string and scalar FP instructions jit_vec.c compiles (through
 * jit_int.h). Everything else calls the interpreter's handler.
 *
 * Runs of PUSH r or POP r (and a RET after pops) take one TLB lookup for the whole run, with
 * the instructions one by one as the fallback (jit_stack_run).
 */
#include "bt-fallback/jit/jit.h"

#include "bt-fallback/jit/emit.h"
#include "bt-fallback/jit/jit_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f)	  ((s32)offsetof(struct bt_cpu, f))
#define GPR(g)	  (OFF(st.gpr) + 8 * (s32)(g))
#define BOFF(f)	  ((s32)offsetof(struct bt_block, f))
#define JIT_NONE  0xff
#define JIT_POOL  9
#define JIT_STUBS (2 * BT_BLOCK_MAX_INSNS + 8)

/* Host registers guest registers are cached in, callee-saved first (they survive C calls). */
static const u8 jit_pool[JIT_POOL] = { BT_H_RBX, BT_H_RBP, BT_H_R12, BT_H_R13, BT_H_R14,
				       BT_H_R8,	 BT_H_R9,  BT_H_R10, BT_H_R11 };

static bool jit_caller_saved(unsigned h)
{
	return h >= BT_H_R8 && h <= BT_H_R11;
}

/* What the compiler knows at a point of the code. */
struct jit_state {
	u16 dirty;    /* cached guest registers newer in the host than in cpu->st.gpr */
	bool fl_host; /* the host RFLAGS hold the guest's arithmetic flags */
	bool fl_mem;  /* the lazy-flags state in cpu does */
	bool lf_host; /* ... in the BT_LF_HOST form */
};

/*
 * The part of a native instruction after its memory operand is translated (to a host address in
 * RSI): loading operands, the host instruction, storing results. Emitted inline and again in the
 * slow path stub of the access.
 */
struct jit_body {
	unsigned flags; /* bt_emit flags: size prefix, REX.W, byte registers, LOCK */
	u32 op;
	unsigned oplen;
	bool no_modrm;
	u8 digit;	     /* ModRM.reg when reg is not a guest register */
	u8 g_reg;	     /* guest register in ModRM.reg, or JIT_NONE */
	u8 h_reg;	     /* or a host register used as is (JIT_NONE: neither) */
	bool reg_rd, reg_wr; /* g_reg read, written */
	u8 g_rm;	     /* register form: the guest register; JIT_NONE: memory [RSI] */
	bool rm_rd, rm_wr;   /* g_rm read, written */
	u16 imp_in, imp_out; /* implicit guest registers (RAX, RCX, RDX) in host RAX/RCX/RDX */
	unsigned imm_len;    /* immediate after the ModRM bytes */
	u64 imm;
	bool pre_imm; /* load imm into h_reg first (a 64-bit constant to store) */
	bool pre_cpu; /* load h_reg from [cpu + pre_off] first (an XMM element to store) */
	s32 pre_off;
	bool fl_in, fl_out; /* needs the guest flags in the host before; leaves them after */
	jit_vec_fn vec;	    /* a vector body (jit_vec.c) instead of the above, for vec_in */
	const struct bt_insn *vec_in;
	unsigned align; /* the memory operand must be aligned to it, else the handler (#GP) */
};

/* Where a store that hit the running block's own code leaves to (after the instruction). */
enum jit_smc_exit {
	JIT_SMC_NEXT,	/* the next instruction */
	JIT_SMC_TARGET, /* a CALL's static target */
	JIT_SMC_DYN,	/* an indirect CALL's target, in cpu->jit_target */
};

struct jit_mem_stub {
	u8 *jne;	     /* the lookup's JNE rel32 */
	u8 *back, *after;    /* the inline body and what follows it */
	struct jit_state st; /* at the JNE */
	struct jit_body body;
	unsigned idx;
	u32 info;
	/* The rest of the instruction after its store, for that exit: RSP += smc_rsp, and where. */
	s32 smc_rsp;
	enum jit_smc_exit smc_exit;
	u64 smc_target;
};

/* A jump to a stub emitted after the body: what kind and for which instruction. */
enum jit_tail_kind {
	JIT_TAIL_DYN1,	/* icount += 1, leave at cpu->next_rip (after a handler set end_block) */
	JIT_TAIL_MISS,	/* an indirect jump the jump cache did not answer: leave at RAX */
	JIT_TAIL_RETGP, /* RET to a non-canonical address: undo RSP, #GP */
	JIT_TAIL_CALL,	/* a native instruction's check failed: its handler (which raises) */
};

struct jit_tail {
	u8 *field;
	enum jit_tail_kind kind;
	unsigned idx;
	struct jit_state st;
	s32 rsp_delta;
};

struct jit_ctx {
	struct bt_cpu *cpu;
	struct bt_block *b;
	bool user;
	struct bt_emit e;
	struct bt_codebuf *cb;
	bool m64; /* 64-bit code; else flat 32-bit code (protected or compatibility mode) */
	u8 host[CPU_NR_GPRS]; /* host register caching each guest register, or JIT_NONE */
	u16 cached,
		written; /* guest registers cached; cached ones written somewhere in the block */
	struct jit_state st;
	unsigned idx, n;
	u64 rip, next;
	u8 *head;	/* the loop head */
	u8 *budget_jcc; /* its JA rel32 */
	u8 *dyn_exit;	/* the shared dynamic exit (RIP from cpu->next_rip) */
	struct jit_mem_stub mem[JIT_STUBS];
	unsigned nr_mem;
	struct jit_tail tail[JIT_STUBS];
	unsigned nr_tail;

	struct {
		u8 *field; /* rel32 of the JMP/Jcc to link */
		u64 target;
		u8 *stub;
	} exits[2];

	unsigned nr_exits;
	bool ended; /* the last instruction left the block itself */
	bool fail;  /* something cannot be compiled: give up on the block */

	unsigned vec_checked;	  /* JIT_VEC_* checks made at run time earlier in the block */
	struct jit_state fast_st; /* at jit_fast_begin */
};

/* ------------------------------------------------------------------- mode */

/* The width of RIP, of stack slots and of near branches: 8 in 64-bit code, 4 in 32-bit code. */
static unsigned jit_width(const struct jit_ctx *c)
{
	return c->m64 ? 8 : 4;
}

/* An instruction address as the IP wraps (EIP: at 4 GiB). */
static u64 jit_ip(const struct jit_ctx *c, u64 v)
{
	return c->m64 ? v : v & 0xffffffffu;
}

/* A static near-branch target the compiled code can go to: canonical; any EIP (CS is 4 GiB). */
static bool jit_target_ok(const struct jit_ctx *c, u64 target)
{
	return !c->m64 || bt_canonical(target);
}

/*
 * Operands compiled natively. In 32-bit code memory operands are 32-bit addresses through the
 * flat segments (DS, ES, SS: bt_jit_mode_ok); 16-bit addressing and FS, GS and CS (a base, a
 * read-only segment) go to the handler.
 */
static bool jit_operands_ok(const struct jit_ctx *c, const struct bt_insn *in)
{
	if (c->m64 || in->ea_kind == BT_EA_NONE)
		return true;
	return in->asz == 4 && in->seg != CPU_FS && in->seg != CPU_GS && in->seg != CPU_CS;
}

/* ------------------------------------------------------------ small emitters */

static struct bt_emit_rm jit_gpr_mem(unsigned g)
{
	return bt_rm_mem(BT_H_R15, GPR(g));
}

static struct bt_emit_rm jit_cpu(s32 off)
{
	return bt_rm_mem(BT_H_R15, off);
}

/* MOV qword [R15 + off], imm64 (through RAX when it does not fit a sign-extended imm32). */
static void jit_store_imm64(struct jit_ctx *c, s32 off, u64 v)
{
	if ((u64)(s64)(s32)v == v) {
		bt_emit_mov_rm_imm(&c->e, 8, jit_cpu(off), (u32)v);
	} else {
		bt_emit_mov_r_imm(&c->e, BT_H_RAX, v);
		bt_emit_mov_rm_r(&c->e, 8, jit_cpu(off), BT_H_RAX);
	}
}

/* ADD/SUB qword [R15 + off], imm (icount corrections). */
static void jit_add_mem(struct jit_ctx *c, s32 off, s32 v)
{
	if (v)
		bt_emit_alu_rm_imm(&c->e, v > 0 ? 0 : 5, 8, jit_cpu(off), v > 0 ? v : -v);
}

/* RSP += delta in cpu->st.gpr, at the stack width (clobbers RDI). */
static void jit_rsp_add_mem(struct jit_ctx *c, s32 delta)
{
	unsigned w = jit_width(c);

	if (!delta)
		return;
	bt_emit_mov_r_rm(&c->e, w, BT_H_RDI, jit_gpr_mem(CPU_RSP));
	bt_emit_lea(&c->e, w, BT_H_RDI, bt_rm_mem(BT_H_RDI, delta));
	bt_emit_mov_rm_r(&c->e, 8, jit_gpr_mem(CPU_RSP), BT_H_RDI);
}

/* ADD qword [stat], 1 through RAX (the host flags are stored: a helper call follows or an exit). */
static void jit_count_stat(struct jit_ctx *c, u64 *stat)
{
	bt_emit_mov_r_imm(&c->e, BT_H_RAX, (u64)(uintptr_t)stat);
	bt_emit_alu_rm_imm(&c->e, 0, 8, bt_rm_mem(BT_H_RAX, 0), 1);
}

/* Before a jump to the dispatcher: why generated code leaves (cpu->jit_why). */
static void jit_set_why(struct jit_ctx *c, enum bt_jit_why why)
{
	bt_emit_mov_rm_imm(&c->e, 4, jit_cpu(OFF(jit_why)), why);
}

static void jit_writeback(struct jit_ctx *c, u16 regs)
{
	for (unsigned g = 0; g < CPU_NR_GPRS; g++)
		if ((regs >> g) & 1)
			bt_emit_mov_rm_r(&c->e, 8, jit_gpr_mem(g), c->host[g]);
}

static void jit_reload(struct jit_ctx *c, bool caller_saved_only)
{
	for (unsigned g = 0; g < CPU_NR_GPRS; g++)
		if (((c->cached >> g) & 1) && (!caller_saved_only || jit_caller_saved(c->host[g])))
			bt_emit_mov_r_rm(&c->e, 8, c->host[g], jit_gpr_mem(g));
}

/* Store the host flags in the lazy state (does not change the host flags; clobbers RAX). */
static void jit_flags_to_mem(struct jit_ctx *c)
{
	if (!c->st.fl_host || c->st.fl_mem)
		return;
	bt_emit_setcc(&c->e, BT_CC_O, BT_H_RAX);
	bt_emit_u8(&c->e, 0x9f); /* LAHF */
	bt_emit_mov_rm_r(&c->e, 2, jit_cpu(OFF(lf_res)), BT_H_RAX);
	if (!c->st.lf_host)
		bt_emit_mov_rm_imm(&c->e, 4, jit_cpu(OFF(lf_op)), BT_LF_HOST);
	c->st.fl_mem = c->st.lf_host = true;
}

/* Load the host flags from a BT_LF_HOST lazy state (clobbers RAX). */
static void jit_flags_load(struct jit_ctx *c)
{
	bt_emit_mov_r_rm(&c->e, 2, BT_H_RAX, jit_cpu(OFF(lf_res)));
	bt_emit_alu_rm_imm(&c->e, 0, 1, bt_rm_reg(BT_H_RAX), 0x7f); /* OF from bit 0 */
	bt_emit_u8(&c->e, 0x9e);				    /* SAHF */
	c->st.fl_host = true;
}

/* A call of fn(cpu) that touches no guest register: keep the caller-saved cached ones. */
static void jit_call_light(struct jit_ctx *c, const void *fn)
{
	u16 save = 0;

	for (unsigned g = 0; g < CPU_NR_GPRS; g++)
		if (((c->st.dirty >> g) & 1) && jit_caller_saved(c->host[g]))
			save |= 1u << g;
	jit_writeback(c, save);
	c->st.dirty &= (u16)~save;
	bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
	bt_emit_call_abs(&c->e, fn);
	jit_reload(c, true);
	c->st.fl_host = false;
}

/* The lazy flags in the BT_LF_HOST form (a call when they are in another form). */
static void jit_flags_mem_host_form(struct jit_ctx *c)
{
	if (c->st.fl_mem && c->st.lf_host)
		return;
	jit_call_light(c, (const void *)bt_jit_flags_host);
	c->st.fl_mem = c->st.lf_host = true;
}

/* The guest flags in the host RFLAGS. */
static void jit_flags_to_host(struct jit_ctx *c)
{
	if (c->st.fl_host)
		return;
	jit_flags_mem_host_form(c);
	jit_flags_load(c);
}

/* Before a C call that may fault: flags and registers in cpu, RIP, icount and cur_block exact. */
static void jit_sync_for_call(struct jit_ctx *c, bool set_next)
{
	jit_flags_to_mem(c);
	jit_writeback(c, c->st.dirty);
	c->st.dirty = 0;
	jit_store_imm64(c, OFF(st.rip), c->rip);
	if (set_next)
		jit_store_imm64(c, OFF(next_rip), c->next);
	jit_add_mem(c, OFF(icount), -(s32)(c->n - c->idx));
	bt_emit_mov_r_imm(&c->e, BT_H_RAX, (u64)(uintptr_t)c->b);
	bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(cur_block)), BT_H_RAX);
}

/* ----------------------------------------------------- register operands */

/* The host register with guest register g's value (loaded into scratch when not cached). */
static unsigned jit_src(struct jit_ctx *c, unsigned g, unsigned scratch)
{
	if (c->host[g] != JIT_NONE)
		return c->host[g];
	bt_emit_mov_r_rm(&c->e, 8, scratch, jit_gpr_mem(g));
	return scratch;
}

static void jit_mark_written(struct jit_ctx *c, unsigned g)
{
	if (c->host[g] != JIT_NONE)
		c->st.dirty |= (u16)(1u << g);
}

/* After writing host register h for guest register g: store it when g is not cached. */
static void jit_dst_done(struct jit_ctx *c, unsigned g, unsigned h)
{
	if (c->host[g] == JIT_NONE)
		bt_emit_mov_rm_r(&c->e, 8, jit_gpr_mem(g), h);
	else
		jit_mark_written(c, g);
}

static const u8 jit_imp_host[3] = { BT_H_RAX, BT_H_RCX, BT_H_RDX }; /* guest RAX, RCX, RDX */

static void jit_body_emit(struct jit_ctx *c, const struct jit_body *bd)
{
	unsigned hreg = bd->digit, hrm = BT_H_RSI;
	struct bt_emit_rm rm;

	if (bd->vec) {
		bd->vec(c, bd->vec_in);
		if (bd->fl_out) {
			c->st.fl_host = true;
			c->st.fl_mem = false;
		}
		return;
	}
	/* Outputs are loaded too: a 16-bit result (CWD, MUL r16) keeps the upper bits. */
	for (unsigned g = 0; g < 3; g++)
		if (((bd->imp_in | bd->imp_out) >> g) & 1)
			bt_emit_mov_r_rm(&c->e, 8, jit_imp_host[g],
					 c->host[g] != JIT_NONE ? bt_rm_reg(c->host[g]) :
								  jit_gpr_mem(g));
	if (bd->g_reg != JIT_NONE) {
		hreg = c->host[bd->g_reg];
		if (hreg == JIT_NONE) {
			hreg = BT_H_RDI;
			bt_emit_mov_r_rm(&c->e, 8, hreg,
					 jit_gpr_mem(bd->g_reg)); /* also for partial writes */
		}
	} else if (bd->h_reg != JIT_NONE) {
		hreg = bd->h_reg;
		if (bd->pre_imm)
			bt_emit_mov_r_imm(&c->e, hreg, bd->imm);
		else if (bd->pre_cpu)
			bt_emit_mov_r_rm(&c->e, 8, hreg, jit_cpu(bd->pre_off));
	}
	if (bd->g_rm != JIT_NONE) {
		hrm = c->host[bd->g_rm];
		if (hrm == JIT_NONE) {
			hrm = BT_H_RSI;
			bt_emit_mov_r_rm(&c->e, 8, hrm, jit_gpr_mem(bd->g_rm));
		}
		rm = bt_rm_reg(hrm);
	} else {
		rm = bt_rm_mem(BT_H_RSI, 0);
	}
	if (bd->no_modrm)
		bt_emit_op_reg(&c->e, bd->flags, bd->op, bd->oplen, 0);
	else
		bt_emit_op(&c->e, bd->flags, bd->op, bd->oplen, hreg, rm);
	if (!bd->pre_imm) {
		if (bd->imm_len == 1)
			bt_emit_u8(&c->e, (u8)bd->imm);
		else if (bd->imm_len == 2)
			bt_emit_u16(&c->e, (u16)bd->imm);
		else if (bd->imm_len == 4)
			bt_emit_u32(&c->e, (u32)bd->imm);
	}
	if (bd->g_reg != JIT_NONE && bd->reg_wr)
		jit_dst_done(c, bd->g_reg, hreg);
	if (bd->g_rm != JIT_NONE && bd->rm_wr)
		jit_dst_done(c, bd->g_rm, hrm);
	for (unsigned g = 0; g < 3; g++) {
		if (!((bd->imp_out >> g) & 1))
			continue;
		if (c->host[g] != JIT_NONE) {
			bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(c->host[g]), jit_imp_host[g]);
			jit_mark_written(c, g);
		} else {
			bt_emit_mov_rm_r(&c->e, 8, jit_gpr_mem(g), jit_imp_host[g]);
		}
	}
	if (bd->fl_out) {
		c->st.fl_host = true;
		c->st.fl_mem = false;
	}
}

/* ---------------------------------------------------------- memory operands */

/* RSI = the offset of the memory operand, at its address size, no segment base (64-bit mode). */
static void jit_ea_offset(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned base = JIT_NONE, index = JIT_NONE;
	u64 a;

	if (in->ea_kind == BT_EA_RIP) {
		a = c->next + (u64)in->disp;
		if (in->asz == 4)
			a &= 0xffffffffu;
		bt_emit_mov_r_imm(&c->e, BT_H_RSI, a);
	} else {
		if (in->base != BT_REG_NONE)
			base = jit_src(c, in->base, BT_H_RSI);
		if (in->index != BT_REG_NONE)
			index = jit_src(c, in->index, BT_H_RDI);
		if (base == JIT_NONE && index == JIT_NONE) {
			a = (u64)in->disp;
			bt_emit_mov_r_imm(&c->e, BT_H_RSI, in->asz == 4 ? (u32)a : a);
		} else {
			bt_emit_lea(&c->e, in->asz == 4 ? 4 : 8, BT_H_RSI,
				    bt_rm_sib(base == JIT_NONE ? BT_H_NONE : base,
					      index == JIT_NONE ? BT_H_NONE : index, in->scale,
					      (s32)in->disp));
		}
	}
}

/* RSI = the linear address of the memory operand (64-bit mode). */
static void jit_ea(struct jit_ctx *c, const struct bt_insn *in)
{
	jit_ea_offset(c, in);
	if (in->seg == CPU_FS || in->seg == CPU_GS)
		bt_emit_alu_r_rm(&c->e, 0, 8, BT_H_RSI, jit_cpu(OFF(st.seg[in->seg].base)));
}

/*
 * The inline TLB lookup of an access of size bytes at RSI: RSI = host address on a hit, else to
 * the slow path stub (whose JNE field is returned). Clobbers RAX, RDI and the host flags.
 */
static u8 *jit_lookup(struct jit_ctx *c, unsigned size, enum bt_access acc)
{
	s32 entry0 = OFF(tlb[c->user][0]);
	u8 *jne;

	bt_emit_mov_r_rm(&c->e, 4, BT_H_RDI, bt_rm_reg(BT_H_RSI));
	bt_emit_shift_imm(&c->e, 5, 4, bt_rm_reg(BT_H_RDI), BT_PAGE_SHIFT - 6);
	bt_emit_alu_rm_imm(&c->e, 4, 4, bt_rm_reg(BT_H_RDI), (BT_TLB_SIZE - 1) << 6);
	bt_emit_lea(&c->e, 8, BT_H_RAX, bt_rm_mem(BT_H_RSI, (s32)size - 1));
	bt_emit_alu_rm_imm(&c->e, 4, 8, bt_rm_reg(BT_H_RAX), (s32)BT_PAGE_MASK);
	bt_emit_alu_r_rm(&c->e, 7, 8, BT_H_RAX,
			 bt_rm_sib(BT_H_R15, BT_H_RDI, 0,
				   entry0 + (s32)offsetof(struct bt_tlb_entry, tag[acc])));
	jne = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_alu_r_rm(&c->e, 0, 8, BT_H_RSI,
			 bt_rm_sib(BT_H_R15, BT_H_RDI, 0,
				   entry0 + (s32)offsetof(struct bt_tlb_entry, addend)));
	return jne;
}

/*
 * A native instruction with a memory operand of size bytes: the address, the lookup, the body;
 * the slow path is emitted after the block.
 */
static void jit_mem_insn(struct jit_ctx *c, const struct bt_insn *in, unsigned size,
			 enum bt_jit_mem_kind kind, const struct jit_body *bd)
{
	struct jit_mem_stub *s;

	if (c->nr_mem == JIT_STUBS) {
		c->fail = true;
		return;
	}
	if (bd->fl_in && !c->st.fl_host)
		jit_flags_mem_host_form(c); /* before RSI holds anything: it may call */
	jit_flags_to_mem(c);
	jit_ea(c, in);
	if (bd->align) {
		if (c->nr_tail == JIT_STUBS) {
			c->fail = true;
			return;
		}
		c->st.fl_host = false;
		bt_emit_sized(&c->e, 4, 0, 0xf6, 0xf7, 1, 0, bt_rm_reg(BT_H_RSI)); /* TEST imm32 */
		bt_emit_u32(&c->e, bd->align - 1);
		jit_tail_call(c, BT_CC_NE);
	}
	s = &c->mem[c->nr_mem++];
	s->jne = jit_lookup(c, size, kind == BT_JIT_LD ? BT_ACC_READ : BT_ACC_WRITE);
	c->st.fl_host = false;
	s->st = c->st;
	s->body = *bd;
	s->idx = c->idx;
	s->info = BT_JIT_MEM_INFO(size, kind, in->seg) |
		  (in->lock || (in->opcode & ~1u) == 0x86 ? BT_JIT_MEM_ATOMIC : 0);
	s->smc_rsp = 0;
	s->smc_exit = JIT_SMC_NEXT;
	s->back = c->e.p;
	if (bd->fl_in)
		jit_flags_load(c);
	jit_body_emit(c, bd);
	s->after = c->e.p;
}

/* The slow path of one access (after the block). */
static void jit_emit_mem_stub(struct jit_ctx *c, struct jit_mem_stub *s)
{
	struct jit_state after;
	u8 *post, *exit_jne;

	c->idx = s->idx;
	c->rip = c->b->rip;
	for (unsigned i = 0; i < s->idx; i++)
		c->rip += c->b->insns[i].len;
	c->next = jit_ip(c, c->rip + c->b->insns[s->idx].len);
	bt_emit_patch_rel32(s->jne, c->e.p);
	c->st = s->st;
	/* RSI is the linear address still (the lookup adds the addend only on a hit). */
	jit_sync_for_call(c, false);
	bt_emit_mov_r_imm(&c->e, BT_H_RDX, s->info);
	bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
	bt_emit_call_abs(&c->e, (const void *)bt_jit_mem_slow);
	bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RSI), BT_H_RAX);
	jit_add_mem(c, OFF(icount), (s32)(c->n - c->idx));
	jit_reload(c, true);
	bt_emit_alu_rm_imm(&c->e, 7, 4, jit_cpu(OFF(jit_post)), 0);
	post = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), s->back);
	/* MMIO, a page crossing, or a store into this block's own code. */
	bt_emit_patch_rel32(post, c->e.p);
	if (s->body.fl_in)
		jit_flags_load(c);
	jit_body_emit(c, &s->body);
	after = c->st; /* what the inline code after the body assumes */
	jit_flags_to_mem(c);
	jit_writeback(c, c->st.dirty);
	bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
	bt_emit_call_abs(&c->e, (const void *)bt_jit_mem_post);
	jit_reload(c, true);
	bt_emit_alu_rm_imm(&c->e, 7, 1, jit_cpu(OFF(end_block)), 0);
	exit_jne = bt_emit_jcc32(&c->e, BT_CC_NE);
	if (after.fl_host) /* after the compare, which clobbers them */
		jit_flags_load(c);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), s->after);
	/* Leave after this instruction (its code was written), with the rest of it done. */
	bt_emit_patch_rel32(exit_jne, c->e.p);
	jit_add_mem(c, OFF(icount), -(s32)(c->n - c->idx - 1));
	jit_rsp_add_mem(c, s->smc_rsp);
	if (s->smc_exit == JIT_SMC_DYN) {
		bt_emit_mov_r_rm(&c->e, 8, BT_H_RAX, jit_cpu(OFF(jit_target)));
		bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(st.rip)), BT_H_RAX);
	} else {
		jit_store_imm64(c, OFF(st.rip),
				s->smc_exit == JIT_SMC_TARGET ? s->smc_target : c->next);
	}
	jit_set_why(c, BT_JIT_WHY_SMC);
	bt_emit_alu_rm_r(&c->e, 6, 4, bt_rm_reg(BT_H_RAX), BT_H_RAX);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), bt_codebuf_rw(c->cb, c->cpu->jit->exit));
}

/* -------------------------------------------------------------- exits */

/* A direct exit to target: linkable JMP (or Jcc) whose stub leaves to the dispatcher. */
static void jit_exit_direct(struct jit_ctx *c, u8 *field, u64 target)
{
	if (c->nr_exits == 2 || !field) {
		c->fail = true;
		return;
	}
	c->exits[c->nr_exits].field = field;
	c->exits[c->nr_exits].target = target;
	c->nr_exits++;
}

/* Leave for target with everything stored; a jump to this block's start stays in registers. */
static void jit_jump_to(struct jit_ctx *c, u64 target)
{
	jit_flags_to_mem(c);
	if (target == c->b->rip && !c->b->pages[1].block) {
		bt_emit_patch_rel32(bt_emit_jmp32(&c->e), c->head);
		return;
	}
	jit_writeback(c, c->st.dirty);
	jit_exit_direct(c, bt_emit_jmp32(&c->e), target);
}

#define JIT_JC_MISSES 5

/*
 * The jump-cache probe for the target in RAX (flags and registers stored): jumps to the
 * target's code when the cache holds a block for it that is valid under this CPU's TLB state
 * (the entry's generations), of this block's mode (the segment state is the same: no
 * instruction that changes it stays in generated code) and has code for this CPL class. Else
 * the code falls to one of the JIT_JC_MISSES jump fields put in miss, with RAX still the
 * target. Clobbers RCX, RDX, RDI.
 */
static void jit_jc_probe(struct jit_ctx *c, u8 *miss[JIT_JC_MISSES])
{
	s32 jc = OFF(cache.jc[c->user][0]);
	u8 *global;

	bt_emit_mov_r_rm(&c->e, 4, BT_H_RCX, bt_rm_reg(BT_H_RAX));
	bt_emit_shift_imm(&c->e, 5, 4, bt_rm_reg(BT_H_RCX), 12);
	bt_emit_alu_r_rm(&c->e, 6, 4, BT_H_RCX, bt_rm_reg(BT_H_RAX));
	bt_emit_alu_rm_imm(&c->e, 4, 4, bt_rm_reg(BT_H_RCX), BT_JC_SIZE - 1);
	bt_emit_shift_imm(&c->e, 4, 4, bt_rm_reg(BT_H_RCX), 4);
	_Static_assert(sizeof(struct bt_jc_entry) == 16, "indexed by a shift of 4");
	bt_emit_mov_r_rm(&c->e, 8, BT_H_RDX, bt_rm_sib(BT_H_R15, BT_H_RCX, 0, jc));
	bt_emit_mov_r_rm(
		&c->e, 4, BT_H_RDI,
		bt_rm_sib(BT_H_R15, BT_H_RCX, 0, jc + (s32)offsetof(struct bt_jc_entry, gen)));
	bt_emit_alu_r_rm(&c->e, 7, 4, BT_H_RDI, jit_cpu(OFF(cache.jc_gen)));
	miss[0] = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_mov_r_rm(
		&c->e, 4, BT_H_RDI,
		bt_rm_sib(BT_H_R15, BT_H_RCX, 0, jc + (s32)offsetof(struct bt_jc_entry, ng_gen)));
	bt_emit_test_rm_r(&c->e, 4, bt_rm_reg(BT_H_RDI), BT_H_RDI);
	global = bt_emit_jcc8(&c->e, BT_CC_E);
	bt_emit_alu_r_rm(&c->e, 7, 4, BT_H_RDI, jit_cpu(OFF(cache.jc_ng_gen)));
	miss[1] = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_patch_rel8(global, c->e.p);
	bt_emit_alu_r_rm(&c->e, 7, 8, BT_H_RAX, bt_rm_mem(BT_H_RDX, BOFF(rip)));
	miss[2] = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_alu_rm_imm(&c->e, 7, 4, bt_rm_mem(BT_H_RDX, BOFF(mode)), (s32)c->b->mode);
	miss[3] = bt_emit_jcc32(&c->e, BT_CC_NE);
	bt_emit_mov_r_rm(&c->e, 8, BT_H_RDX, bt_rm_mem(BT_H_RDX, BOFF(jit[c->user])));
	bt_emit_test_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDX), BT_H_RDX);
	miss[4] = bt_emit_jcc32(&c->e, BT_CC_E);
	bt_emit_jmp_r(&c->e, BT_H_RDX);
}

/* An indirect jump to RAX (64-bit target, flags and registers already stored). */
static void jit_jump_indirect(struct jit_ctx *c, bool ret_check, s32 rsp_delta)
{
	u8 *miss[JIT_JC_MISSES];

	jit_jc_probe(c, miss);
	for (unsigned i = 0; i < JIT_JC_MISSES; i++)
		c->tail[c->nr_tail++] =
			(struct jit_tail){ .field = miss[i],
					   .kind = ret_check ? JIT_TAIL_RETGP : JIT_TAIL_MISS,
					   .idx = c->idx,
					   .st = c->st,
					   .rsp_delta = rsp_delta };
	c->ended = true;
}

static void jit_emit_tail(struct jit_ctx *c, struct jit_tail *t)
{
	u8 *exit = bt_codebuf_rw(c->cb, c->cpu->jit->exit);

	bt_emit_patch_rel32(t->field, c->e.p);
	if (t->kind == JIT_TAIL_CALL) {
		const struct bt_insn *in = &c->b->insns[t->idx];

		c->st = t->st;
		c->idx = t->idx;
		c->rip = c->b->rip;
		for (unsigned i = 0; i < t->idx; i++)
			c->rip += c->b->insns[i].len;
		c->next = jit_ip(c, c->rip + in->len);
		jit_sync_for_call(c, true);
		bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
		bt_emit_mov_r_imm(&c->e, BT_H_RSI, (u64)(uintptr_t)in);
		bt_emit_call_abs(&c->e, (const void *)in->fn);
		/* It did not raise (it cannot, as the state is what failed the check): leave. */
		jit_add_mem(c, OFF(icount), 1);
		jit_set_why(c, BT_JIT_WHY_HELPER);
		bt_emit_patch_rel32(bt_emit_jmp32(&c->e), c->dyn_exit);
		return;
	}
	if (t->kind == JIT_TAIL_DYN1) {
		jit_add_mem(c, OFF(icount), 1);
		jit_set_why(c, BT_JIT_WHY_END_BLOCK);
		bt_emit_patch_rel32(bt_emit_jmp32(&c->e), c->dyn_exit);
		return;
	}
	if (t->kind == JIT_TAIL_RETGP) {
		/* A miss: if RAX is not canonical, the RET faults (RSP as before it). */
		u8 *ok;

		bt_emit_mov_r_rm(&c->e, 8, BT_H_RCX, bt_rm_reg(BT_H_RAX));
		bt_emit_shift_imm(&c->e, 4, 8, bt_rm_reg(BT_H_RCX), 16);
		bt_emit_shift_imm(&c->e, 7, 8, bt_rm_reg(BT_H_RCX), 16);
		bt_emit_alu_r_rm(&c->e, 7, 8, BT_H_RCX, bt_rm_reg(BT_H_RAX));
		ok = bt_emit_jcc32(&c->e, BT_CC_E);
		jit_add_mem(c, GPR(CPU_RSP), -t->rsp_delta);
		c->idx = t->idx;
		jit_add_mem(c, OFF(icount), -(s32)(c->n - c->idx));
		c->rip = c->b->rip;
		for (unsigned i = 0; i < t->idx; i++)
			c->rip += c->b->insns[i].len;
		jit_store_imm64(c, OFF(st.rip), c->rip);
		bt_emit_mov_r_imm(&c->e, BT_H_RAX, (u64)(uintptr_t)c->b);
		bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(cur_block)), BT_H_RAX);
		bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
		bt_emit_call_abs(&c->e, (const void *)bt_jit_raise_gp);
		bt_emit_patch_rel32(ok, c->e.p);
	}
	jit_set_why(c, BT_JIT_WHY_INDIRECT);
	bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(st.rip)), BT_H_RAX);
	bt_emit_alu_rm_r(&c->e, 6, 4, bt_rm_reg(BT_H_RAX), BT_H_RAX);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), exit);
}

/*
 * The stubs of direct exit k: where it goes while not linked. An exit to another linear page
 * is never linked (bt_jit_link): its stub probes the jump cache first, so it stays in generated
 * code once the target has some. An exit within the page leaves to the dispatcher, which links
 * it; its probe comes after, for bt_jit_link to point the exit at when the target cannot be
 * linked (it reaches into a second page).
 */
static void jit_emit_exit_stub(struct jit_ctx *c, struct bt_jit_exit *x, unsigned k)
{
	u8 *exit = bt_codebuf_rw(c->cb, c->cpu->jit->exit), *miss[JIT_JC_MISSES], *probe = NULL;
	bool other_page = (c->b->rip ^ c->exits[k].target) & BT_PAGE_MASK;

	x->from = c->b;
	x->target = c->exits[k].target;
	x->field = c->exits[k].field;
	x->user = c->user;
	x->far = other_page;
	if (other_page) {
		probe = c->e.p;
		bt_emit_mov_r_imm(&c->e, BT_H_RAX, x->target);
		jit_jc_probe(c, miss);
		for (unsigned i = 0; i < JIT_JC_MISSES; i++)
			bt_emit_patch_rel32(miss[i], c->e.p);
	}
	x->stub = c->e.p;
	jit_store_imm64(c, OFF(st.rip), x->target);
	bt_emit_mov_r_imm(&c->e, BT_H_RAX, (u64)(uintptr_t)x);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), exit);
	if (other_page) {
		x->stub = probe; /* where bt_jit_block_dropped points the exit back at */
	} else {
		probe = c->e.p;
		bt_emit_mov_r_imm(&c->e, BT_H_RAX, x->target);
		jit_jc_probe(c, miss);
		for (unsigned i = 0; i < JIT_JC_MISSES; i++)
			bt_emit_patch_rel32(miss[i], x->stub);
	}
	x->probe = probe;
	bt_emit_patch_rel32(x->field, x->stub);
}

/* ------------------------------------------------------- interpreter calls */

/*
 * Handlers after which generated code returns to the dispatcher whatever they did: they may
 * change the mode, the CPL, the stack size or the interrupt flag, or flush the TLB.
 */
static bool jit_helper_leaves(const struct bt_insn *in)
{
	switch (in->opcode) {
	case 0x07:
	case 0x17:
	case 0x1f:
	case 0x8e:
	case 0x9a:
	case 0x9d:
	case 0xca:
	case 0xcb:
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xc4: /* LES, LDS (VEX prefixes in 64-bit code) */
	case 0xc5:
	case 0xcf:
	case 0xea:
	case 0xf4:
	case 0xfa:
	case 0xfb:
	case 0x100:
	case 0x105:
	case 0x106:
	case 0x107:
	case 0x108:
	case 0x109:
	case 0x120:
	case 0x121:
	case 0x122:
	case 0x123:
	case 0x130:
	case 0x134:
	case 0x135:
	case 0x1a1:
	case 0x1a9:
	case 0x1b2:
	case 0x1b4:
	case 0x1b5:
		return true;
	case 0xff:
		return in->modrm_reg == 3 || in->modrm_reg == 5;
	case 0x101: /* but SGDT, SIDT, SMSW (OVMF's PEI finds its services table by SIDT) */
		return in->ea_kind == BT_EA_NONE ||
		       (in->modrm_reg != 0 && in->modrm_reg != 1 && in->modrm_reg != 4);
	default:
		return false;
	}
}

static void jit_helper(struct jit_ctx *c, const struct bt_insn *in, bool last)
{
	struct bt_jit_helper_stat *stat = &c->cpu->jit->helper[BT_JIT_HELPER_KEY(in)];

	jit_sync_for_call(c, true);
	jit_count_stat(c, &stat->calls);
	bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
	bt_emit_mov_r_imm(&c->e, BT_H_RSI, (u64)(uintptr_t)in);
	bt_emit_call_abs(&c->e, (const void *)in->fn);
	c->st = (struct jit_state){ .fl_mem = true };
	if (in->opcode == 0xff && (in->modrm_reg == 2 || in->modrm_reg == 4)) {
		/*
		 * CALL/JMP Ev: the handler left the target in next_rip and ended the block; stay in
		 * generated code (the next block's code runs with end_block clear, as it is entered).
		 */
		jit_add_mem(c, OFF(icount), 1);
		bt_emit_mov_rm_imm(&c->e, 1, jit_cpu(OFF(end_block)), 0);
		bt_emit_mov_r_rm(&c->e, 8, BT_H_RAX, jit_cpu(OFF(next_rip)));
		jit_jump_indirect(c, false, 0);
		return;
	}
	if (last || jit_helper_leaves(in)) {
		jit_add_mem(c, OFF(icount), 1);
		jit_count_stat(c, &stat->leaves);
		jit_set_why(c, BT_JIT_WHY_HELPER);
		bt_emit_patch_rel32(bt_emit_jmp32(&c->e), c->dyn_exit);
		c->ended = true;
		return;
	}
	jit_reload(c, false);
	bt_emit_alu_rm_imm(&c->e, 7, 1, jit_cpu(OFF(end_block)), 0);
	c->tail[c->nr_tail++] = (struct jit_tail){ .field = bt_emit_jcc32(&c->e, BT_CC_NE),
						   .kind = JIT_TAIL_DYN1,
						   .idx = c->idx };
	jit_add_mem(c, OFF(icount), (s32)(c->n - c->idx));
}

/* ------------------------------------------------------ native instructions */

/* Size flags of the host instruction for operand size sz. */
static unsigned jit_size_flags(unsigned sz)
{
	switch (sz) {
	case 1:
		return BT_EMIT_BYTE_REG | BT_EMIT_BYTE_RM;
	case 2:
		return BT_EMIT_66;
	case 8:
		return BT_EMIT_W;
	default:
		return 0;
	}
}

/* The opcode bytes of the decoded opcode (map 0, 0F, 0F 38). */
static void jit_body_op(struct jit_body *bd, const struct bt_insn *in)
{
	unsigned map = in->opcode >> 8, op = in->opcode & 0xff;

	bd->op = map == 0 ? op : map == 1 ? 0x0f | op << 8 : 0x380f | op << 16;
	bd->oplen = map + 1;
}

/* A guest register a native instruction can name: not AH..BH. */
static bool jit_reg_ok(unsigned r)
{
	return r < CPU_NR_GPRS;
}

/* Run a planned body: register form inline, memory form through the lookup. */
static bool jit_run_body(struct jit_ctx *c, const struct bt_insn *in, struct jit_body *bd,
			 unsigned msize, enum bt_jit_mem_kind kind)
{
	if (bd->g_reg != JIT_NONE && !jit_reg_ok(bd->g_reg))
		return false;
	if (in->ea_kind == BT_EA_NONE) {
		if (bd->g_rm != JIT_NONE && !jit_reg_ok(bd->g_rm))
			return false;
		if (bd->fl_in)
			jit_flags_to_host(c);
		jit_body_emit(c, bd);
		return true;
	}
	bd->g_rm = JIT_NONE;
	jit_mem_insn(c, in, msize, kind, bd);
	return true;
}

/* The operand forms of ModRM instructions: E,G (E written?), G,E, E only. */
static struct jit_body jit_body_eg(const struct bt_insn *in, bool e_rd, bool e_wr, bool g_rd,
				   bool g_wr)
{
	struct jit_body bd = { .h_reg = JIT_NONE };

	jit_body_op(&bd, in);
	bd.flags = jit_size_flags(in->opsz) | (in->lock ? BT_EMIT_LOCK : 0);
	bd.g_reg = in->reg;
	bd.reg_rd = g_rd;
	bd.reg_wr = g_wr;
	bd.g_rm = in->ea_kind == BT_EA_NONE ? in->rm : JIT_NONE;
	bd.rm_rd = e_rd;
	bd.rm_wr = e_wr;
	return bd;
}

static struct jit_body jit_body_e(const struct bt_insn *in, bool e_rd, bool e_wr)
{
	struct jit_body bd = jit_body_eg(in, e_rd, e_wr, false, false);

	bd.g_reg = JIT_NONE;
	bd.digit = in->modrm_reg;
	return bd;
}

static enum bt_jit_mem_kind jit_kind(bool rd, bool wr)
{
	return wr ? (rd ? BT_JIT_RMW : BT_JIT_ST) : BT_JIT_LD;
}

/* 00-3F: the eight ALU ops in their six forms. */
static bool jit_alu(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = (in->opcode >> 3) & 7, form = in->opcode & 7;
	bool wr = op != 7;
	struct jit_body bd;

	if (form <= 1) {
		bd = jit_body_eg(in, true, wr, true, false);
	} else if (form <= 3) {
		bd = jit_body_eg(in, true, false, true, wr);
	} else {
		/* AL/eAX, imm as group 1 on the accumulator. */
		bd = jit_body_e(in, true, wr);
		bd.op = form == 4 ? 0x80 : 0x81;
		bd.digit = (u8)op;
		bd.g_rm = CPU_RAX;
		bd.imm = in->imm;
		bd.imm_len = form == 4 ? 1 : in->opsz == 2 ? 2 : 4;
		bd.fl_in = op == 2 || op == 3;
		bd.fl_out = true;
		bd.oplen = 1;
		if (bd.fl_in)
			jit_flags_to_host(c);
		jit_body_emit(c, &bd);
		return true;
	}
	bd.fl_in = op == 2 || op == 3;
	bd.fl_out = true;
	return jit_run_body(c, in, &bd, in->opsz, form <= 1 ? jit_kind(true, wr) : BT_JIT_LD);
}

/* 80-83: group 1 with an immediate. */
static bool jit_grp1(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->modrm_reg;
	struct jit_body bd = jit_body_e(in, true, op != 7);

	bd.imm = in->imm;
	bd.imm_len = in->opcode == 0x81 ? (in->opsz == 2 ? 2 : 4) : 1;
	bd.fl_in = op == 2 || op == 3;
	bd.fl_out = true;
	return jit_run_body(c, in, &bd, in->opsz, jit_kind(true, op != 7));
}

/* C0/C1 (imm8), D0/D1 (1), D2/D3 (CL): group 2 shifts and rotates. */
static bool jit_grp2(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->modrm_reg, mask = in->opsz == 8 ? 63 : 31;
	struct jit_body bd = jit_body_e(in, true, true);
	bool by_cl = in->opcode >= 0xd2, count_zero = false;

	if (op == 6)
		return false; /* SAL's alias slot: the interpreter decides */
	if (in->opcode <= 0xc1) {
		bd.imm = in->imm & 0xff;
		bd.imm_len = 1;
		count_zero = (in->imm & mask) == 0;
	}
	if (by_cl)
		bd.imp_in = 1u << CPU_RCX; /* read only: fine when the operand is RCX itself */
	/* Rotates write only CF and OF; a count that may be 0 writes nothing. */
	bd.fl_in = !count_zero && (by_cl || op <= 3);
	bd.fl_out = !count_zero;
	return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
}

/* F6/F7: TEST imm, NOT, NEG, MUL, IMUL (DIV and IDIV can fault: the interpreter). */
static bool jit_grp3(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->modrm_reg;
	struct jit_body bd = jit_body_e(in, true, op == 2 || op == 3);

	switch (op) {
	case 0:
	case 1:
		bd.digit = 0;
		bd.imm = in->imm;
		bd.imm_len = in->opsz == 1 ? 1 : in->opsz == 2 ? 2 : 4;
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 2:
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 3:
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 4:
	case 5:
		if (in->ea_kind == BT_EA_NONE && (in->rm == CPU_RAX || in->rm == CPU_RDX))
			bd.g_rm = in->rm; /* read only: the copies in RAX/RDX are written, fine */
		bd.imp_in = 1u << CPU_RAX;
		bd.imp_out = in->opsz == 1 ? 1u << CPU_RAX : (1u << CPU_RAX) | (1u << CPU_RDX);
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	default:
		return false;
	}
}

/* Is r one of AH, CH, DH, BH (bits 15:8 of guest RAX..RBX)? */
static bool jit_reg_high(unsigned r)
{
	return r >= BT_REG_AH && r < BT_REG_AH + 4;
}

/* RDX = the guest register whose bits 15:8 the byte register r (AH..BH) is: DH is then r. */
static void jit_high_load(struct jit_ctx *c, unsigned r)
{
	unsigned g = r - BT_REG_AH;

	bt_emit_mov_r_rm(&c->e, 8, BT_H_RDX,
			 c->host[g] != JIT_NONE ? bt_rm_reg(c->host[g]) : jit_gpr_mem(g));
}

/* The guest register of byte register r (AH..BH) = RDX, after its DH was written. */
static void jit_high_store(struct jit_ctx *c, unsigned r)
{
	unsigned g = r - BT_REG_AH;

	if (c->host[g] != JIT_NONE)
		bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(c->host[g]), BT_H_RDX);
	jit_dst_done(c, g, c->host[g] != JIT_NONE ? c->host[g] : BT_H_RDX);
}

/*
 * An instruction on AH..BH as its only register operand, with an 8-bit immediate: group 1
 * (80 /digit) and TEST (F6 /0). The host runs it on DH without REX (which would make the
 * encoding SIL), with RDX a copy of the guest register. Writes back unless it is CMP or TEST.
 */
static bool jit_high_imm8(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->modrm_reg;
	bool test = in->opcode == 0xf6, wr = !test && op != 7;

	if (in->ea_kind != BT_EA_NONE || !jit_reg_high(in->rm) || (test && op > 1))
		return false;
	if (!test && (op == 2 || op == 3)) /* ADC, SBB read CF */
		jit_flags_to_host(c);
	jit_high_load(c, in->rm);
	bt_emit_u8(&c->e, (u8)in->opcode);
	bt_emit_u8(&c->e, (u8)(0xc0 | (test ? 0 : op) << 3 | 6)); /* ModRM: DH */
	bt_emit_u8(&c->e, (u8)in->imm);
	if (wr)
		jit_high_store(c, in->rm);
	c->st.fl_host = true;
	c->st.fl_mem = false;
	return true;
}

/* MOVZX r32/r64, AH..BH and MOVSX r32, AH..BH: into EDX from DH (no REX), then to r. */
static bool jit_high_movx(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned h;

	if (in->ea_kind != BT_EA_NONE || !jit_reg_high(in->rm) || !jit_reg_ok(in->reg) ||
	    in->opsz == 2 || (in->opcode == 0x1be && in->opsz == 8))
		return false;
	jit_high_load(c, in->rm);
	bt_emit_u8(&c->e, 0x0f);
	bt_emit_u8(&c->e, (u8)in->opcode);
	bt_emit_u8(&c->e, 0xd6); /* ModRM: EDX, DH */
	h = c->host[in->reg] != JIT_NONE ? c->host[in->reg] : BT_H_RDX;
	if (h != BT_H_RDX)
		bt_emit_mov_r_rm(&c->e, 8, h, bt_rm_reg(BT_H_RDX));
	jit_dst_done(c, in->reg, h);
	return true;
}

/*
 * The checks of a legacy SSE instruction (bt_vec_check) at run time: CR0.EM or TS set or
 * CR4.OSFXSR clear go out of line to the handler, which raises #UD or #NM. Host flags stored.
 */
void jit_sse_guard(struct jit_ctx *c)
{
	struct jit_tail *t;

	jit_flags_to_mem(c);
	c->st.fl_host = false;
	bt_emit_sized(&c->e, 4, 0, 0xf6, 0xf7, 1, 0, jit_cpu(OFF(st.cr0))); /* TEST imm32 */
	bt_emit_u32(&c->e, (u32)(BT_CR0_EM | BT_CR0_TS));
	t = &c->tail[c->nr_tail++];
	*t = (struct jit_tail){ .field = bt_emit_jcc32(&c->e, BT_CC_NE),
				.kind = JIT_TAIL_CALL,
				.idx = c->idx,
				.st = c->st };
	bt_emit_sized(&c->e, 4, 0, 0xf6, 0xf7, 1, 0, jit_cpu(OFF(st.cr4)));
	bt_emit_u32(&c->e, (u32)BT_CR4_OSFXSR);
	c->tail[c->nr_tail] = *t;
	c->tail[c->nr_tail++].field = bt_emit_jcc32(&c->e, BT_CC_E);
}

/*
 * MOVSS/MOVSD (F3/F2 0F 10/11, legacy encoding): 4 or 8 bytes between the low element of an XMM
 * register and memory or another XMM register, through RAX or RDI. A load from memory zeroes the
 * rest of the 128 bits, a move between registers keeps them; bits 255:128 stay (bt_op_sse_mov).
 */
static bool jit_movs(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned size = in->rep == BT_REP_F2 ? 8 : 4;
	bool store = in->opcode & 1;
	s32 xr = OFF(st.fx.xmm[in->reg & 15]);
	struct jit_body bd = { .h_reg = JIT_NONE, .g_reg = JIT_NONE, .g_rm = JIT_NONE };

	if (in->vex || in->rep == BT_REP_NONE || !bt_has(c->cpu, CPU_F_SSE2) ||
	    c->nr_tail + 2 > JIT_STUBS)
		return false;
	jit_sse_guard(c);
	if (in->ea_kind == BT_EA_NONE) {
		s32 xm = OFF(st.fx.xmm[in->rm & 15]);

		bt_emit_mov_r_rm(&c->e, size, BT_H_RAX, jit_cpu(store ? xr : xm));
		bt_emit_mov_rm_r(&c->e, size, jit_cpu(store ? xm : xr), BT_H_RAX);
		return true;
	}
	bd.flags = size == 8 ? BT_EMIT_W : 0;
	bd.oplen = 1;
	if (store) {
		bd.op = 0x89;
		bd.h_reg = BT_H_RDI;
		bd.pre_cpu = true;
		bd.pre_off = xr;
		jit_mem_insn(c, in, size, BT_JIT_ST, &bd);
		return true;
	}
	bd.op = 0x8b;
	bd.h_reg = BT_H_RAX;
	jit_mem_insn(c, in, size, BT_JIT_LD, &bd);
	bt_emit_mov_rm_r(&c->e, 8, jit_cpu(xr), BT_H_RAX); /* MOV EAX zero-extended a MOVSS */
	bt_emit_mov_rm_imm(&c->e, 8, jit_cpu(xr + 8), 0);
	return true;
}

/* LEA with a 32- or 64-bit operand: the offset at the address size, cut to the operand size. */
static void jit_lea(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned h = c->host[in->reg] != JIT_NONE ? c->host[in->reg] : BT_H_RSI;

	jit_ea_offset(c, in);
	if (h != BT_H_RSI || in->opsz == 4)
		bt_emit_mov_r_rm(&c->e, in->opsz, h, bt_rm_reg(BT_H_RSI));
	jit_dst_done(c, in->reg, h);
}

static bool jit_native_modrm(struct jit_ctx *c, const struct bt_insn *in)
{
	struct jit_body bd;
	unsigned op = in->opcode;

	if (op < 0x40)
		return (op & 7) <= 5 && jit_alu(c, in);
	switch (op) {
	case 0x80:
		if (in->ea_kind == BT_EA_NONE && jit_reg_high(in->rm))
			return jit_high_imm8(c, in);
		return jit_grp1(c, in);
	case 0x81:
	case 0x83:
		return jit_grp1(c, in);
	case 0x84:
	case 0x85: /* TEST E,G */
		bd = jit_body_eg(in, true, false, true, false);
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 0xa8:
	case 0xa9: /* TEST AL/eAX, imm */
		bd = jit_body_e(in, true, false);
		bd.op = op == 0xa8 ? 0xf6 : 0xf7;
		bd.digit = 0;
		bd.g_rm = CPU_RAX;
		bd.imm = in->imm;
		bd.imm_len = op == 0xa8 ? 1 : in->opsz == 2 ? 2 : 4;
		bd.fl_out = true;
		jit_body_emit(c, &bd);
		return true;
	case 0x86:
	case 0x87: /* XCHG E,G: with memory, the host's own implicit LOCK */
		bd = jit_body_eg(in, true, true, true, true);
		bd.flags &= ~(unsigned)BT_EMIT_LOCK;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 0x88:
	case 0x89:
		bd = jit_body_eg(in, false, true, true, false);
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_ST);
	case 0x8a:
	case 0x8b:
		bd = jit_body_eg(in, true, false, false, true);
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 0x8d: /* LEA G, M: the offset, no segment, no flags; 16-bit operands call the handler */
		if (in->ea_kind == BT_EA_NONE || in->opsz < 4 || !jit_reg_ok(in->reg))
			return false;
		jit_lea(c, in);
		return true;
	case 0xc0:
	case 0xc1:
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return jit_grp2(c, in);
	case 0xc6:
	case 0xc7: /* MOV E, imm */
		if (in->modrm_reg)
			return false;
		bd = jit_body_e(in, false, true);
		bd.imm = in->imm;
		bd.imm_len = in->opsz == 1 ? 1 : in->opsz == 2 ? 2 : 4;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_ST);
	case 0xf6:
		if (in->ea_kind == BT_EA_NONE && jit_reg_high(in->rm))
			return jit_high_imm8(c, in);
		return jit_grp3(c, in);
	case 0xf7:
		return jit_grp3(c, in);
	case 0xfe:
	case 0xff: /* INC, DEC (CF kept) */
		if (in->modrm_reg > 1)
			return false;
		bd = jit_body_e(in, true, true);
		bd.fl_in = bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 0x69:
	case 0x6b: /* IMUL G, E, imm */
		bd = jit_body_eg(in, true, false, false, true);
		bd.imm = in->imm;
		bd.imm_len = op == 0x6b ? 1 : in->opsz == 2 ? 2 : 4;
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 0x1af: /* IMUL G, E */
		bd = jit_body_eg(in, true, false, true, true);
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 0x110:
	case 0x111:
		return jit_movs(c, in);
	case 0x1b6:
	case 0x1b7:
	case 0x1be:
	case 0x1bf: /* MOVZX, MOVSX */
		if (in->ea_kind == BT_EA_NONE && jit_reg_high(in->rm))
			return jit_high_movx(c, in);
		bd = jit_body_eg(in, true, false, false, true);
		bd.flags =
			jit_size_flags(in->opsz) & ~(unsigned)(BT_EMIT_BYTE_REG | BT_EMIT_BYTE_RM);
		if (!(op & 1))
			bd.flags |= BT_EMIT_BYTE_RM;
		return jit_run_body(c, in, &bd, (op & 1) ? 2 : 1, BT_JIT_LD);
	case 0x63: /* MOVSXD (ARPL outside 64-bit code) */
		if (!c->m64)
			return false;
		bd = jit_body_eg(in, true, false, false, true);
		return jit_run_body(c, in, &bd, 4, BT_JIT_LD);
	case 0x1b0:
	case 0x1b1: /* CMPXCHG E, G: RAX implicit */
		if (in->reg == CPU_RAX || (in->ea_kind == BT_EA_NONE && in->rm == CPU_RAX))
			return false;
		bd = jit_body_eg(in, true, true, true, false);
		bd.imp_in = bd.imp_out = 1u << CPU_RAX;
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 0x1c0:
	case 0x1c1: /* XADD E, G */
		bd = jit_body_eg(in, true, true, true, true);
		bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_RMW);
	case 0x1a3:
	case 0x1ab:
	case 0x1b3:
	case 0x1bb: /* BT/BTS/BTR/BTC E, G: register forms only (memory reaches past E) */
		if (in->ea_kind != BT_EA_NONE)
			return false;
		bd = jit_body_eg(in, true, op != 0x1a3, true, false);
		bd.flags &= ~(unsigned)BT_EMIT_LOCK;
		bd.fl_in = bd.fl_out = true; /* ZF kept */
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	case 0x1ba: /* BT/BTS/BTR/BTC E, imm8 */
		if (in->modrm_reg < 4)
			return false;
		bd = jit_body_e(in, true, in->modrm_reg != 4);
		bd.imm = in->imm & 0xff;
		bd.imm_len = 1;
		bd.fl_in = bd.fl_out = true;
		return jit_run_body(c, in, &bd, in->opsz, jit_kind(true, in->modrm_reg != 4));
	default:
		break;
	}
	if (op >= 0x190 && op <= 0x19f) { /* SETcc E8 */
		bd = jit_body_e(in, false, true);
		bd.flags = BT_EMIT_BYTE_RM;
		bd.digit = 0;
		bd.fl_in = true;
		return jit_run_body(c, in, &bd, 1, BT_JIT_ST);
	}
	if (op >= 0x140 && op <= 0x14f) { /* CMOVcc G, E (E always read) */
		bd = jit_body_eg(in, true, false, true, true);
		bd.fl_in = true;
		return jit_run_body(c, in, &bd, in->opsz, BT_JIT_LD);
	}
	return false;
}

/* Instructions without ModRM the host runs as themselves. */
static bool jit_native_plain(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->opcode;
	struct jit_body bd = { .h_reg = JIT_NONE, .g_reg = JIT_NONE, .g_rm = JIT_NONE };
	unsigned r = in->rm, sz = in->opsz;

	bd.flags = jit_size_flags(sz);
	if (op >= 0xb0 && op <= 0xbf) { /* MOV r, imm */
		if (!jit_reg_ok(r))
			return false;
		bd.g_rm = (u8)r;
		bd.rm_rd = bd.rm_wr = true;
		bd.op = 0xc7;
		bd.oplen = 1;
		bd.imm = in->imm;
		bd.imm_len = sz == 1 ? 1 : sz == 2 ? 2 : 4;
		if (sz == 1)
			bd.op = 0xc6;
		if (sz == 8 && (u64)(s64)(s32)in->imm != in->imm) {
			/* A full 64-bit immediate: MOV r64, imm64 straight into place. */
			unsigned h = c->host[r] != JIT_NONE ? c->host[r] : BT_H_RSI;

			bt_emit_mov_r_imm(&c->e, h, in->imm);
			jit_dst_done(c, r, h);
			return true;
		}
		jit_body_emit(c, &bd);
		return true;
	}
	if (op >= 0x40 && op <= 0x4f) { /* INC/DEC r: REX prefixes in 64-bit code (CF kept) */
		bd.op = 0xff;
		bd.oplen = 1;
		bd.digit = (u8)((op >> 3) & 1);
		bd.g_rm = (u8)r;
		bd.rm_rd = bd.rm_wr = true;
		bd.fl_in = bd.fl_out = true;
		jit_flags_to_host(c);
		jit_body_emit(c, &bd);
		return true;
	}
	if (op >= 0x91 && op <= 0x97 && jit_reg_ok(r)) { /* XCHG eAX, r */
		bd.op = 0x87;
		bd.oplen = 1;
		bd.g_reg = CPU_RAX;
		bd.reg_rd = bd.reg_wr = true;
		bd.g_rm = (u8)r;
		bd.rm_rd = bd.rm_wr = true;
		jit_body_emit(c, &bd);
		return true;
	}
	if (op >= 0x1c8 && op <= 0x1cf && sz >= 4 && jit_reg_ok(r)) { /* BSWAP */
		unsigned h = jit_src(c, r, BT_H_RSI);

		bt_emit_op_reg(&c->e, sz == 8 ? BT_EMIT_W : 0, 0xc80f, 2, h);
		jit_dst_done(c, r, h);
		return true;
	}
	switch (op) {
	case 0x90: /* NOP (XCHG eAX, eAX without REX.B), PAUSE */
	case 0x10d:
	case 0x118:
	case 0x119:
	case 0x11a:
	case 0x11b:
	case 0x11c:
	case 0x11d:
	case 0x11e:
	case 0x11f:
		if (op == 0x90 && in->rm != CPU_RAX)
			return false;
		return in->rep == BT_REP_NONE || op == 0x90;
	case 0x98: /* CBW, CWDE, CDQE */
	case 0x99: /* CWD, CDQ, CQO */
		bd.no_modrm = true;
		bd.op = op;
		bd.oplen = 1;
		bd.flags &= ~(unsigned)(BT_EMIT_BYTE_REG | BT_EMIT_BYTE_RM);
		bd.imp_in = 1u << CPU_RAX;
		bd.imp_out = op == 0x98 ? 1u << CPU_RAX : 1u << CPU_RDX;
		jit_body_emit(c, &bd);
		return true;
	case 0xf5: /* CMC */
	case 0xf8: /* CLC */
	case 0xf9: /* STC */
		jit_flags_to_host(c);
		bt_emit_u8(&c->e, (u8)op);
		c->st.fl_host = true;
		c->st.fl_mem = false;
		return true;
	default:
		return false;
	}
}

/* RSP += delta, after the access (ESP in 32-bit code: it wraps, the upper half is zeroed). */
static void jit_rsp_add(struct jit_ctx *c, s32 delta)
{
	unsigned w = jit_width(c);

	if (c->host[CPU_RSP] != JIT_NONE) {
		bt_emit_lea(&c->e, w, c->host[CPU_RSP], bt_rm_mem(c->host[CPU_RSP], delta));
		jit_mark_written(c, CPU_RSP);
	} else {
		jit_rsp_add_mem(c, delta);
	}
}

/* A stack access at RSP + delta as a memory instruction with body bd. */
static struct jit_mem_stub *jit_stack_access(struct jit_ctx *c, s32 delta, unsigned size,
					     enum bt_jit_mem_kind kind, const struct jit_body *bd)
{
	struct bt_insn fake = { .ea_kind = BT_EA_MEM,
				.base = CPU_RSP,
				.index = BT_REG_NONE,
				.disp = delta,
				.asz = (u8)jit_width(c),
				.seg = CPU_SS };

	jit_mem_insn(c, &fake, size, kind, bd);
	return c->nr_mem ? &c->mem[c->nr_mem - 1] : NULL;
}

/* A push: what its store's slow path must finish when the store hit this block's code. */
static void jit_push_done(struct jit_ctx *c, struct jit_mem_stub *s, enum jit_smc_exit how,
			  u64 target)
{
	if (!s || c->fail)
		return;
	s->smc_rsp = -(s32)jit_width(c);
	s->smc_exit = how;
	s->smc_target = target;
	jit_rsp_add(c, s->smc_rsp);
}

/* PUSH, POP, LEAVE, CALL, RET, JMP, Jcc. */
static bool jit_native_flow(struct jit_ctx *c, const struct bt_insn *in)
{
	unsigned op = in->opcode, r = in->rm, w = jit_width(c);
	struct jit_body bd = { .h_reg = JIT_NONE, .g_reg = JIT_NONE, .g_rm = JIT_NONE };

	bd.op = 0x89;
	bd.oplen = 1;
	bd.flags = jit_size_flags(w);
	/* Stack operations and near branches at the mode's width (64 or 32 bits) only. */
	if (op >= 0x50 && op <= 0x57 && in->opsz == w) { /* PUSH r */
		bd.g_reg = (u8)r;
		bd.reg_rd = true;
		jit_push_done(c, jit_stack_access(c, -(s32)w, w, BT_JIT_ST, &bd), JIT_SMC_NEXT, 0);
		return true;
	}
	if (op >= 0x58 && op <= 0x5f && in->opsz == w) { /* POP r (POP RSP: the value) */
		bd.op = 0x8b;
		bd.h_reg = BT_H_RAX;
		jit_stack_access(c, 0, w, BT_JIT_LD, &bd);
		jit_rsp_add(c, (s32)w);
		if (c->host[r] != JIT_NONE)
			bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(c->host[r]), BT_H_RAX);
		jit_dst_done(c, r, c->host[r] != JIT_NONE ? c->host[r] : BT_H_RAX);
		return true;
	}
	if ((op == 0x68 || op == 0x6a) && in->opsz == w) { /* PUSH imm */
		bd.op = 0xc7;
		bd.imm = in->imm;
		bd.imm_len = 4;
		jit_push_done(c, jit_stack_access(c, -(s32)w, w, BT_JIT_ST, &bd), JIT_SMC_NEXT, 0);
		return true;
	}
	if (op == 0xc9 && in->opsz == w) { /* LEAVE: RSP = RBP; POP RBP */
		struct bt_insn fake = { .ea_kind = BT_EA_MEM,
					.base = CPU_RBP,
					.index = BT_REG_NONE,
					.asz = (u8)w,
					.seg = CPU_SS };
		unsigned hbp;

		bd.op = 0x8b;
		bd.h_reg = BT_H_RAX;
		jit_mem_insn(c, &fake, w, BT_JIT_LD, &bd);
		hbp = jit_src(c, CPU_RBP, BT_H_RDI);
		if (c->host[CPU_RSP] != JIT_NONE) {
			bt_emit_lea(&c->e, w, c->host[CPU_RSP], bt_rm_mem(hbp, (s32)w));
			jit_mark_written(c, CPU_RSP);
		} else {
			bt_emit_lea(&c->e, w, BT_H_RDI, bt_rm_mem(hbp, (s32)w));
			bt_emit_mov_rm_r(&c->e, 8, jit_gpr_mem(CPU_RSP), BT_H_RDI);
		}
		if (c->host[CPU_RBP] != JIT_NONE)
			bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(c->host[CPU_RBP]), BT_H_RAX);
		jit_dst_done(c, CPU_RBP,
			     c->host[CPU_RBP] != JIT_NONE ? c->host[CPU_RBP] : BT_H_RAX);
		return true;
	}
	if (op == 0xff && in->modrm_reg == 6 && (c->m64 ? in->opsz != 2 : in->opsz == w)) {
		/* PUSH r/m: a memory operand is read first (at the old RSP), kept in jit_target. */
		if (in->ea_kind == BT_EA_NONE) {
			if (!jit_reg_ok(r))
				return false;
			bd.g_reg = (u8)r;
			bd.reg_rd = true;
		} else {
			struct jit_body ld = { .g_reg = JIT_NONE,
					       .g_rm = JIT_NONE,
					       .h_reg = BT_H_RAX,
					       .flags = bd.flags,
					       .op = 0x8b,
					       .oplen = 1 };

			jit_mem_insn(c, in, w, BT_JIT_LD, &ld);
			bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(jit_target)), BT_H_RAX);
			bd.h_reg = BT_H_RDI;
			bd.pre_cpu = true;
			bd.pre_off = OFF(jit_target);
		}
		jit_push_done(c, jit_stack_access(c, -(s32)w, w, BT_JIT_ST, &bd), JIT_SMC_NEXT, 0);
		return true;
	}
	/*
	 * 16-bit near branches: the interpreter; CALL/JMP Ev in 64-bit code are 64-bit whatever
	 * the prefixes.
	 */
	if (in->opsz != w && (op != 0xff || !c->m64))
		return false;
	if (op == 0xe8) { /* CALL rel */
		u64 target = jit_ip(c, c->next + in->imm);

		if (!jit_target_ok(c, target))
			return false;
		bd.op = 0xc7;
		bd.imm = c->next;
		bd.imm_len = 4;
		if (c->m64 && (u64)(s64)(s32)c->next != c->next) {
			bd.op = 0x89;
			bd.h_reg = BT_H_RAX;
			bd.pre_imm = true;
		}
		jit_push_done(c, jit_stack_access(c, -(s32)w, w, BT_JIT_ST, &bd), JIT_SMC_TARGET,
			      target);
		jit_jump_to(c, target);
		c->ended = true;
		return true;
	}
	if (op == 0xe9 || op == 0xeb) {
		u64 target = jit_ip(c, c->next + in->imm);

		if (!jit_target_ok(c, target))
			return false;
		jit_jump_to(c, target);
		c->ended = true;
		return true;
	}
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
		u64 target = jit_ip(c, c->next + in->imm);
		u8 *jcc;

		if (!jit_target_ok(c, target))
			return false;
		jit_flags_to_host(c);
		jit_flags_to_mem(c);
		if (target == c->b->rip && !c->b->pages[1].block) {
			bt_emit_patch_rel32(bt_emit_jcc32(&c->e, (enum bt_cc)(op & 0xf)), c->head);
			jit_writeback(c, c->st.dirty);
		} else {
			jit_writeback(c, c->st.dirty);
			jcc = bt_emit_jcc32(&c->e, (enum bt_cc)(op & 0xf));
			jit_exit_direct(c, jcc, target);
		}
		jit_exit_direct(c, bt_emit_jmp32(&c->e), c->next);
		c->ended = true;
		return true;
	}
	if (op == 0xc3 || op == 0xc2) { /* RET (imm16) */
		s32 delta = (s32)w + (op == 0xc2 ? (s32)(in->imm & 0xffff) : 0);

		bd.op = 0x8b;
		bd.h_reg = BT_H_RAX;
		jit_stack_access(c, 0, w, BT_JIT_LD, &bd);
		jit_rsp_add(c, delta);
		jit_writeback(c, c->st.dirty);
		jit_jump_indirect(c, c->m64, delta); /* a 32-bit EIP is always a good target */
		return true;
	}
	if (op == 0xff && (in->modrm_reg == 2 || in->modrm_reg == 4)) { /* CALL/JMP r/m */
		bool call = in->modrm_reg == 2;

		jit_flags_to_mem(c); /* it clobbers RAX, the target from here on */
		if (in->ea_kind == BT_EA_NONE) {
			if (!jit_reg_ok(r))
				return false;
			bt_emit_mov_r_rm(&c->e, w, BT_H_RAX,
					 c->host[r] != JIT_NONE ? bt_rm_reg(c->host[r]) :
								  jit_gpr_mem(r));
		} else {
			bd.op = 0x8b;
			bd.h_reg = BT_H_RAX;
			jit_mem_insn(c, in, w, BT_JIT_LD, &bd);
		}
		if (call) {
			jit_flags_to_mem(c);
			bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(jit_target)), BT_H_RAX);
		}
		if (call && c->m64) {
			/*
			 * A non-canonical target: the handler, which faults as the interpreter does
			 * (a stack fault of the push first, then #GP; bt_op_grp5). A 32-bit target
			 * needs no check.
			 */
			struct jit_state keep;
			u8 *ok;

			bt_emit_mov_r_rm(&c->e, 8, BT_H_RCX, bt_rm_reg(BT_H_RAX));
			bt_emit_shift_imm(&c->e, 4, 8, bt_rm_reg(BT_H_RCX), 16);
			bt_emit_shift_imm(&c->e, 7, 8, bt_rm_reg(BT_H_RCX), 16);
			bt_emit_alu_r_rm(&c->e, 7, 8, BT_H_RCX, bt_rm_reg(BT_H_RAX));
			c->st.fl_host = false;
			ok = bt_emit_jcc32(&c->e, BT_CC_E);
			keep = c->st;
			jit_sync_for_call(c, true);
			bt_emit_mov_rm_r(&c->e, 8, bt_rm_reg(BT_H_RDI), BT_H_R15);
			bt_emit_mov_r_imm(&c->e, BT_H_RSI, (u64)(uintptr_t)in);
			bt_emit_call_abs(&c->e, (const void *)in->fn);
			jit_add_mem(c, OFF(icount), 1); /* it cannot return; if it did, it ran */
			jit_set_why(c, BT_JIT_WHY_HELPER);
			bt_emit_patch_rel32(bt_emit_jmp32(&c->e), c->dyn_exit);
			c->st = keep;
			bt_emit_patch_rel32(ok, c->e.p);
		}
		if (call) {
			bd = (struct jit_body){ .g_reg = JIT_NONE,
						.g_rm = JIT_NONE,
						.flags = jit_size_flags(w),
						.op = 0x89,
						.oplen = 1,
						.h_reg = BT_H_RDI,
						.pre_imm = true,
						.imm = c->next };
			jit_push_done(c, jit_stack_access(c, -(s32)w, w, BT_JIT_ST, &bd),
				      JIT_SMC_DYN, 0);
			bt_emit_mov_r_rm(&c->e, 8, BT_H_RAX, jit_cpu(OFF(jit_target)));
		}
		jit_writeback(c, c->st.dirty);
		/* A JMP to a non-canonical address faults at the JMP (CALL checked it already). */
		jit_jump_indirect(c, !call && c->m64, 0);
		return true;
	}
	return false;
}

/* ------------------------------------------- what jit_vec.c uses (jit_int.h) */

struct bt_emit *jit_emitter(struct jit_ctx *c)
{
	return &c->e;
}

struct bt_cpu *jit_ctx_cpu(struct jit_ctx *c)
{
	return c->cpu;
}

bool jit_ctx_long64(struct jit_ctx *c)
{
	return c->b->mode == BT_MODE_LONG64;
}

unsigned *jit_ctx_vec_checked(struct jit_ctx *c)
{
	return &c->vec_checked;
}

bool jit_tails_room(struct jit_ctx *c, unsigned n)
{
	return c->nr_tail + n <= JIT_STUBS;
}

void jit_tail_call(struct jit_ctx *c, enum bt_cc cc)
{
	c->tail[c->nr_tail++] = (struct jit_tail){
		.field = bt_emit_jcc32(&c->e, cc), .kind = JIT_TAIL_CALL, .idx = c->idx, .st = c->st
	};
}

void jit_flags_spill(struct jit_ctx *c)
{
	jit_flags_to_mem(c);
	c->st.fl_host = false;
}

void jit_flags_mem_host(struct jit_ctx *c)
{
	jit_flags_spill(c);
	jit_flags_mem_host_form(c);
}

void jit_flags_produced(struct jit_ctx *c)
{
	c->st.fl_host = true;
	c->st.fl_mem = false;
}

unsigned jit_gpr_host(struct jit_ctx *c, unsigned g)
{
	return c->host[g];
}

unsigned jit_gpr_src(struct jit_ctx *c, unsigned g, unsigned scratch)
{
	return jit_src(c, g, scratch);
}

void jit_gpr_written(struct jit_ctx *c, unsigned g, unsigned h)
{
	jit_dst_done(c, g, h);
}

u8 *jit_tlb_lookup(struct jit_ctx *c, enum bt_access acc)
{
	return jit_lookup(c, 1, acc);
}

void jit_fast_begin(struct jit_ctx *c)
{
	c->fast_st = c->st;
}

void jit_fast_end(struct jit_ctx *c, const struct bt_insn *in, u8 *const *slow, unsigned n)
{
	u8 *skip = bt_emit_jmp32(&c->e);
	u16 dirty = c->st.dirty;

	for (unsigned i = 0; i < n; i++)
		bt_emit_patch_rel32(slow[i], c->e.p);
	c->st = c->fast_st;
	jit_helper(c, in, false);
	bt_emit_patch_rel32(skip, c->e.p);
	/* Both ways in: the fast one's dirty registers (the handler's reloaded them anyway). */
	c->st = (struct jit_state){ .dirty = dirty, .fl_mem = true };
}

void jit_vec_mem(struct jit_ctx *c, const struct bt_insn *in, unsigned size,
		 enum bt_jit_mem_kind kind, unsigned align, jit_vec_fn fn, bool fl_out)
{
	struct jit_body bd = { .h_reg = JIT_NONE, .g_reg = JIT_NONE, .g_rm = JIT_NONE };

	bd.vec = fn;
	bd.vec_in = in;
	bd.align = align;
	bd.fl_out = fl_out;
	jit_mem_insn(c, in, size, kind, &bd);
}

/* ------------------------------------------------------------- the block */

static void jit_count(unsigned *uses, unsigned r)
{
	if (r < CPU_NR_GPRS)
		uses[r]++;
}

/* Which guest registers to keep in host registers: the most used ones. */
static void jit_allocate(struct jit_ctx *c)
{
	unsigned uses[CPU_NR_GPRS] = { 0 };
	const struct bt_block *b = c->b;

	for (unsigned i = 0; i < b->nr_insns; i++) {
		const struct bt_insn *in = &b->insns[i];
		unsigned op = in->opcode;

		jit_count(uses, in->reg);
		if (in->ea_kind == BT_EA_NONE) {
			jit_count(uses, in->rm);
		} else {
			jit_count(uses, in->base);
			jit_count(uses, in->index);
		}
		if ((op >= 0x50 && op <= 0x5f) || op == 0x68 || op == 0x6a || op == 0xc9 ||
		    op == 0xe8 || op == 0xc3 || op == 0xc2 || op == 0xff)
			uses[CPU_RSP] += 2;
	}
	memset(c->host, JIT_NONE, sizeof(c->host));
	c->cached = 0;
	for (unsigned k = 0; k < JIT_POOL; k++) {
		unsigned best = CPU_NR_GPRS;

		for (unsigned g = 0; g < CPU_NR_GPRS; g++)
			if (uses[g] && !((c->cached >> g) & 1) &&
			    (best == CPU_NR_GPRS || uses[g] > uses[best]))
				best = g;
		if (best == CPU_NR_GPRS)
			break;
		c->host[best] = jit_pool[k];
		c->cached |= (u16)(1u << best);
	}
}

/* Does the block end in a jump back to its own start (a loop that stays in registers)? */
static bool jit_self_loop(const struct jit_ctx *c)
{
	const struct bt_block *b = c->b;
	const struct bt_insn *in = &b->insns[b->nr_insns - 1];
	unsigned op = in->opcode;
	u64 end = b->rip;

	if (b->pages[1].block || in->opsz != jit_width(c))
		return false;
	for (unsigned i = 0; i < b->nr_insns; i++)
		end += b->insns[i].len;
	if (!(op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f) ||
	      (op >= 0x180 && op <= 0x18f)))
		return false;
	return jit_ip(c, end + in->imm) == b->rip;
}

static void jit_insn(struct jit_ctx *c, const struct bt_insn *in, bool last)
{
	u8 *mark = c->e.p;
	struct jit_state st = c->st;
	unsigned nr_mem = c->nr_mem, nr_tail = c->nr_tail, nr_exits = c->nr_exits;

	/* REP is an operand of string instructions; F3/F2 select MOVSS/MOVSD. */
	if (in->fn != bt_op_ud && jit_operands_ok(c, in) &&
	    (jit_vec(c, in) ||
	     ((in->rep == BT_REP_NONE || in->opcode == 0x110 || in->opcode == 0x111) &&
	      (jit_native_flow(c, in) || jit_native_plain(c, in) || jit_native_modrm(c, in)))))
		return;
	/* Not native (or a translator gave up half-way): undo and call the handler. */
	c->e.p = mark;
	c->st = st;
	c->nr_mem = nr_mem;
	c->nr_tail = nr_tail;
	c->nr_exits = nr_exits;
	c->ended = false;
	jit_helper(c, in, last);
}

/* ------------------------------------------------------------ stack runs */

#define JIT_RUN_MAX 8

/*
 * The length of the run of PUSH r (push) or of POP r from instruction i on, at the mode's width
 * and without RSP as the operand (0: none): function prologues and epilogues, which
 * jit_stack_run compiles with one TLB lookup for the run's bytes.
 */
static unsigned jit_stack_run_len(const struct jit_ctx *c, unsigned i, bool *push)
{
	unsigned k = 0, kind = c->b->insns[i].opcode & ~7u;

	if (kind != 0x50 && kind != 0x58)
		return 0;
	*push = kind == 0x50;
	while (i + k < c->n && k < JIT_RUN_MAX) {
		const struct bt_insn *in = &c->b->insns[i + k];

		if ((in->opcode & ~7u) != kind || in->opsz != jit_width(c) || in->rm == CPU_RSP ||
		    in->rep != BT_REP_NONE || in->fn == bt_op_ud)
			break;
		k++;
	}
	return k;
}

static bool jit_state_eq(const struct jit_state *a, const struct jit_state *b)
{
	return a->dirty == b->dirty && a->fl_host == b->fl_host && a->fl_mem == b->fl_mem &&
	       a->lf_host == b->lf_host;
}

/*
 * A run of pushes or pops from c->idx on (jit_stack_run_len): one lookup of the whole run's
 * bytes, then plain moves, when they are in one page the TLB has for this access; else (a miss,
 * a page crossing, a code page) the run's instructions one by one, each with its own lookup,
 * slow path and precise faults. No access of the fast path can fault, so it needs no state of
 * its own for them. Leaves c->idx at the run's last instruction, c->next after it.
 */
static bool jit_stack_run(struct jit_ctx *c)
{
	unsigned w = jit_width(c), i = c->idx, k, nr;
	u64 rip0 = c->rip;
	bool push, ret;
	s32 span;
	struct jit_state st0, fast;
	u8 *miss, *done = NULL;

	k = jit_stack_run_len(c, i, &push);
	/* Pops and the RET after them: its return address is the run's last slot. */
	ret = k && !push && i + k < c->n && c->b->insns[i + k].opcode == 0xc3 &&
	      c->b->insns[i + k].opsz == w && c->b->insns[i + k].rep == BT_REP_NONE;
	nr = k + ret;
	if (nr < 2 || c->nr_mem + nr > JIT_STUBS || c->nr_tail + 2 * JIT_JC_MISSES > JIT_STUBS)
		return false;
	span = (s32)(w * nr);
	struct bt_insn fake = { .ea_kind = BT_EA_MEM,
				.base = CPU_RSP,
				.index = BT_REG_NONE,
				.disp = push ? -span : 0,
				.asz = (u8)w,
				.seg = CPU_SS };

	jit_flags_to_mem(c);
	st0 = c->st;
	st0.fl_host = false; /* what the lookup leaves, also on a miss */
	jit_ea(c, &fake);
	miss = jit_lookup(c, (unsigned)span, push ? BT_ACC_WRITE : BT_ACC_READ);
	c->st.fl_host = false;
	for (unsigned j = 0; j < k; j++) {
		unsigned r = c->b->insns[i + j].rm, h;
		/* The j-th push stores at RSP - w * (j + 1), the j-th pop loads RSP + w * j. */
		s32 off = push ? span - (s32)w * (s32)(j + 1) : (s32)w * (s32)j;

		if (push) {
			h = jit_src(c, r, BT_H_RAX);
			bt_emit_mov_rm_r(&c->e, w, bt_rm_mem(BT_H_RSI, off), h);
		} else {
			h = c->host[r] != JIT_NONE ? c->host[r] : BT_H_RAX;
			/* 32-bit code: a 32-bit load zeroes the upper half, as bt_set_reg does. */
			bt_emit_mov_r_rm(&c->e, w, h, bt_rm_mem(BT_H_RSI, off));
			jit_dst_done(c, r, h);
		}
	}
	if (ret) {
		/* As the RET of jit_native_flow: its own RSP step is what a #GP undoes. */
		bt_emit_mov_r_rm(&c->e, w, BT_H_RAX, bt_rm_mem(BT_H_RSI, (s32)w * (s32)k));
		jit_rsp_add(c, span);
		jit_writeback(c, c->st.dirty);
		c->idx = i + k;
		for (unsigned j = 0; j < k; j++)
			c->rip = jit_ip(c, c->rip + c->b->insns[i + j].len);
		c->next = jit_ip(c, c->rip + c->b->insns[c->idx].len);
		jit_jump_indirect(c, c->m64, (s32)w);
		c->idx = i;
		c->rip = rip0;
	} else {
		jit_rsp_add(c, push ? -span : span);
		fast = c->st;
		done = bt_emit_jmp32(&c->e);
	}

	bt_emit_patch_rel32(miss, c->e.p);
	c->st = st0;
	c->ended = false;
	for (unsigned j = 0; j < nr && !c->fail; j++) {
		const struct bt_insn *in = &c->b->insns[c->idx];

		c->next = jit_ip(c, c->rip + in->len);
		jit_insn(c, in, c->idx + 1 == c->n);
		if (j + 1 < nr) {
			c->rip = c->next;
			c->idx++;
		}
	}
	if (ret) /* both ways left the block */
		return true;
	/* Both ways leave the same state: what follows is compiled once for both. */
	if (!jit_state_eq(&c->st, &fast))
		c->fail = true;
	bt_emit_patch_rel32(done, c->e.p);
	return true;
}

void bt_jit_compile(struct bt_cpu *cpu, struct bt_block *b, bool user)
{
	struct bt_jit *j = cpu->jit;
	struct bt_jit_code *rec;
	struct jit_ctx *c;
	u8 *start, *entry, *budget_exit;
	size_t used0 = j->code.used;

	if (b->mode != cpu->mode || !bt_jit_mode_ok(cpu) || b->jit[user] || !b->nr_insns)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->cpu = cpu;
	c->b = b;
	c->user = user;
	c->cb = &j->code;
	c->m64 = b->mode == BT_MODE_LONG64;
	c->n = b->nr_insns;
	rec = bt_codebuf_alloc(&j->code, sizeof(*rec) + 2 * sizeof(struct bt_jit_exit), 16);
	start = rec ? bt_codebuf_alloc(&j->code, 0, 16) : NULL;
	if (!start)
		goto full;
	memset(rec, 0, sizeof(*rec) + 2 * sizeof(struct bt_jit_exit));
	rec->exits = (struct bt_jit_exit *)(rec + 1);
	bt_emit_init(&c->e, start, (size_t)(j->code.rw + j->code.size - start));
	jit_allocate(c);

	/* The shared dynamic exit, then the record pointer, then the entry. */
	c->dyn_exit = c->e.p;
	bt_emit_mov_r_rm(&c->e, 8, BT_H_RAX, jit_cpu(OFF(next_rip)));
	bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(st.rip)), BT_H_RAX);
	bt_emit_alu_rm_r(&c->e, 6, 4, bt_rm_reg(BT_H_RAX), BT_H_RAX);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), bt_codebuf_rw(c->cb, j->exit));
	while (((uintptr_t)(c->e.p + 8) & 15) && !c->e.full)
		bt_emit_u8(&c->e, 0xcc);
	bt_emit_u64(&c->e, (u64)(uintptr_t)rec);
	entry = c->e.p;
	jit_reload(c, false);
	c->head = c->e.p;
	/* The budget: leave before the block if it would pass jit_limit, else count it whole. */
	bt_emit_mov_r_rm(&c->e, 8, BT_H_RAX, jit_cpu(OFF(icount)));
	bt_emit_alu_rm_imm(&c->e, 0, 8, bt_rm_reg(BT_H_RAX), (s32)c->n);
	bt_emit_alu_r_rm(&c->e, 7, 8, BT_H_RAX, jit_cpu(OFF(jit_limit)));
	c->budget_jcc = bt_emit_jcc32(&c->e, BT_CC_A);
	bt_emit_mov_rm_r(&c->e, 8, jit_cpu(OFF(icount)), BT_H_RAX);
	c->st = (struct jit_state){ .fl_mem = true, .dirty = jit_self_loop(c) ? c->cached : 0 };
	c->written = c->st.dirty;

	c->rip = b->rip;
	for (c->idx = 0; c->idx < c->n && !c->fail && !c->e.full; c->idx++) {
		const struct bt_insn *in = &b->insns[c->idx];
		bool last = c->idx + 1 == c->n;

		c->next = jit_ip(c, c->rip + in->len);
		if (!jit_stack_run(c))
			jit_insn(c, in, last);
		c->rip = c->next;
		if (c->ended)
			break;
	}
	if (!c->ended && !c->fail)
		jit_jump_to(c, c->rip); /* the block ended at a page end or its length */

	/* Out of line: the budget exit, the slow paths, the tails, the unlinked exits. */
	budget_exit = c->e.p;
	bt_emit_patch_rel32(c->budget_jcc, budget_exit);
	jit_writeback(c, c->cached);
	c->rip = b->rip;
	jit_store_imm64(c, OFF(st.rip), b->rip);
	jit_set_why(c, BT_JIT_WHY_BUDGET);
	bt_emit_alu_rm_r(&c->e, 6, 4, bt_rm_reg(BT_H_RAX), BT_H_RAX);
	bt_emit_patch_rel32(bt_emit_jmp32(&c->e), bt_codebuf_rw(c->cb, j->exit));
	for (unsigned i = 0; i < c->nr_mem; i++)
		jit_emit_mem_stub(c, &c->mem[i]);
	for (unsigned i = 0; i < c->nr_tail; i++)
		jit_emit_tail(c, &c->tail[i]);
	for (unsigned k = 0; k < c->nr_exits; k++)
		jit_emit_exit_stub(c, &rec->exits[k], k);
	if (c->e.full)
		goto full;
	if (c->fail) {
		j->nr_failed++;
		b->hot = UINT32_MAX; /* do not try again */
		j->code.used = used0;
		free(c);
		return;
	}
	bt_codebuf_alloc(&j->code, bt_emit_len(&c->e), 1);
	rec->block = b;
	rec->entry = bt_codebuf_rx(c->cb, entry);
	rec->nr_exits = c->nr_exits;
	rec->user = user;
	b->jit[user] = rec->entry;
	j->nr_compiled++;
	if (j->perf_map >= 0 || j->perf_dump >= 0)
		bt_jit_perf_block(j, bt_codebuf_rx(c->cb, start), bt_emit_len(&c->e), b, user);
	free(c);
	return;

full:
	j->code.used = used0;
	j->want_flush = true;
	free(c);
}
