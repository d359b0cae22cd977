/* SPDX-License-Identifier: MIT */
/*
 * The BT engine's JIT tier (docs/bt-jit.md): hot decoded blocks of 64-bit code and of flat
 * 32-bit code (bt_jit_mode_ok) compiled to x86-64 host code. The interpreter stays the cold tier
 * and the reference: every instruction the compiler does not translate natively becomes a call
 * to its interpreter handler, so an instruction added to the interpreter works in generated code
 * at once.
 *
 * Generated code runs with R15 = the struct bt_cpu and the block's most used guest registers in
 * host registers; guest flags live in the host RFLAGS between instructions and are stored in the
 * lazy-flags state as BT_LF_HOST (LAHF/SETO form) when they leave it. Memory operands go through
 * an inline TLB lookup (tag compare and addend) with an out-of-line slow path into C. Blocks
 * chain by patched JMP rel32 within one linear page; indirect jumps and returns look the target
 * up in the jump cache from generated code. A fault in a C call from generated code longjmps to
 * bt_run like one from the interpreter, with the guest state of the faulting instruction
 * written back before the call (precise exceptions).
 *
 * One struct bt_jit belongs to one CPU and is used by that CPU's thread only.
 */
#ifndef BT_FALLBACK_JIT_JIT_H
#define BT_FALLBACK_JIT_JIT_H

#include "bt-fallback/bt.h"
#include "bt-fallback/jit/codebuf.h"

/* An exit of generated code to a known guest address, which the dispatcher may link. */
struct bt_jit_exit {
	struct bt_block *from; /* the block it leaves */
	u64 target;	       /* guest RIP it goes to */
	u8 *field;	       /* the rel32 to patch (writable view) */
	u8 *stub;	       /* where it goes while unlinked (writable view) */
	u8 *probe; /* its jump-cache probe, for a target that cannot be linked (writable view) */
	struct bt_block *to;			 /* the block it is linked to, or NULL */
	struct bt_jit_exit *next_in, **pprev_in; /* in to->jit_in */
	u8 user;				 /* CPL class of the code */
	bool far; /* to another linear page: never linked, its stub probes the jump cache */
};

/* The generated code of one block for one CPL class. */
struct bt_jit_code {
	struct bt_block *block;
	u8 *entry; /* executable view */
	struct bt_jit_exit *exits;
	unsigned nr_exits;
	u8 user;
};

/*
 * Why generated code returned to the dispatcher (cpu->jit_why, stored by the code just before
 * it leaves; a direct exit, RAX = its record, stores nothing).
 */
enum bt_jit_why {
	BT_JIT_WHY_DIRECT,    /* an unlinked exit to a known address (then: why no link) */
	BT_JIT_WHY_INDIRECT,  /* JMP/CALL/RET whose target the jump cache had no code for */
	BT_JIT_WHY_HELPER,    /* after a handler that leaves, or one ending the block */
	BT_JIT_WHY_END_BLOCK, /* a handler ended the block (cpu->end_block) */
	BT_JIT_WHY_BUDGET,    /* the block entry found the budget spent: slice end, kick, INTR */
	BT_JIT_WHY_SMC,	      /* a store into the running block's own code */
	BT_JIT_WHY_NR,
};

/* Why the dispatcher did not link a direct exit to the block that followed it. */
enum bt_jit_nolink {
	BT_JIT_NOLINK_COLD,  /* the target has no code (not hot yet, or cannot be compiled) */
	BT_JIT_NOLINK_PAGE,  /* the target is in another linear page */
	BT_JIT_NOLINK_SPAN,  /* the target reaches into a second page */
	BT_JIT_NOLINK_OTHER, /* another mode or CPL class, the code was flushed, no room */
	BT_JIT_NOLINK_NR,
};

/* Why the dispatcher interpreted a block instead of running generated code. */
enum bt_jit_interp {
	BT_JIT_INTERP_COLD,   /* no code: not hot yet, or it could not be compiled */
	BT_JIT_INTERP_MODE,   /* not 64-bit or flat 32-bit code (bt_jit_mode_ok) */
	BT_JIT_INTERP_DEBUG,  /* TF, RF, an interrupt shadow, breakpoints: the interpreter's */
	BT_JIT_INTERP_BUDGET, /* the block does not fit what is left of the slice */
	BT_JIT_INTERP_NR,
};

/* Helper statistics keys: the decoded opcode and ModRM.reg (the group selector). */
#define BT_JIT_HELPER_KEYS    (0x400 * 8)
#define BT_JIT_HELPER_KEY(in) ((unsigned)((in)->opcode & 0x3ff) << 3 | ((in)->modrm_reg & 7))

/* Per key: calls into the handler from generated code, and those after which the code left. */
struct bt_jit_helper_stat {
	u64 calls, leaves;
};

struct bt_jit {
	struct bt_codebuf code;
	unsigned threshold;
	u8 *enter;	 /* the trampoline (executable view): enter(cpu, entry) */
	u8 *exit;	 /* where generated code returns to the dispatcher (rax: exit or NULL) */
	u64 flush_gen;	 /* bumped by each flush: exits recorded before are gone */
	bool want_flush; /* the code buffer is full: flush at the next block boundary */
	bool bmi2;	 /* the host has SHRX etc. */
	u64 nr_compiled, nr_failed, nr_links, nr_flushes, nr_entries;
	/* Where the time outside generated code comes from (bt_jit_counters reports them). */
	u64 nr_why[BT_JIT_WHY_NR];
	u64 nr_nolink[BT_JIT_NOLINK_NR];
	u64 nr_interp[BT_JIT_INTERP_NR];   /* blocks the dispatcher interpreted, by reason */
	struct bt_jit_helper_stat *helper; /* [BT_JIT_HELPER_KEYS], counted by generated code */
	/* What perf is told of compiled code (jit_perf.c; -1: nothing), and jitdump's mapping. */
	int perf_map, perf_dump;
	void *perf_dump_mark;
	u64 perf_index;
};

/* A flat segment of 32-bit code: base 0, a 4 GiB limit (no limit check needed). */
static inline bool bt_jit_seg_flat(const struct cpu_segment *s)
{
	return !s->base && s->limit == 0xffffffffu && !s->unusable;
}

/*
 * Whether generated code may be compiled and run in the CPU's current state (for a block of the
 * CPU's mode): 64-bit code without a CS base, or 32-bit code (protected or compatibility mode,
 * CS.D = 1) whose segments are flat -- CS, SS, DS and ES with base 0 and a 4 GiB limit, SS a
 * 32-bit stack (SS.B = 1), DS, ES and SS writable data segments -- so that an offset is the
 * linear address and no access needs a segment check (FS, GS and CS overrides go to the
 * interpreter's handlers). Not virtual-8086 mode. Generated code assumes this without
 * checking it: the dispatcher checks it before it enters code, and it holds in every block
 * reached from there, since an instruction that loads a segment register leaves generated code
 * (jit_helper_leaves) and jump-cache probes only enter code of the same mode.
 */
static inline bool bt_jit_mode_ok(const struct bt_cpu *cpu)
{
	const struct cpu_segment *seg = cpu->st.seg;

	if (cpu->st.rflags & BT_VM)
		return false;
	if (cpu->mode == BT_MODE_LONG64)
		return !seg[CPU_CS].base;
	if (cpu->mode != BT_MODE_PROT32 || cpu->stack_size != 4 || !bt_jit_seg_flat(&seg[CPU_CS]))
		return false;
	for (unsigned s = CPU_ES; s <= CPU_DS; s++)
		if (s != CPU_CS && (!bt_jit_seg_flat(&seg[s]) || (seg[s].type & 0xa) != 2))
			return false;
	return true;
}

/* Set up cpu->jit (at CPU creation, before any sandbox): 0, or a negative errno. */
MUST_CHECK int bt_jit_init(struct bt_cpu *cpu, unsigned threshold, size_t code_bytes);
void bt_jit_destroy(struct bt_cpu *cpu);

/*
 * Compile b for the CPU's current CPL class; b->jit[user] is the entry afterwards, or stays NULL
 * when b cannot be compiled (not in a mode bt_jit_mode_ok allows, or no room: then a flush is
 * requested).
 */
void bt_jit_compile(struct bt_cpu *cpu, struct bt_block *b, bool user);

/*
 * Telling perf about compiled code (jit_perf.c, docs/bt-jit.md "Profiling"), when the
 * environment asks for it: VMM_BT_PERF_MAP=1 appends a line per compiled block to
 * /tmp/perf-<pid>.map, VMM_BT_JITDUMP=<folder> a record with the code to <folder>/jit-<pid>.dump
 * (for perf inject --jit). Opened at CPU creation, before the sandbox; written with write(2).
 */
void bt_jit_perf_open(const struct bt_cpu *cpu, struct bt_jit *j);
void bt_jit_perf_close(struct bt_jit *j);
/* len bytes of code at rx (executable view) named name. */
void bt_jit_perf_add(struct bt_jit *j, const void *rx, size_t len, const char *name);
/* The code of b for the CPL class user: rx (executable view), len bytes. */
void bt_jit_perf_block(struct bt_jit *j, const void *rx, size_t len, const struct bt_block *b,
		       bool user);

/* Run generated code from entry. Returns the exit taken when it may be linked, else NULL. */
struct bt_jit_exit *bt_jit_run(struct bt_cpu *cpu, void *entry);

/*
 * x left its block for target, which has code for x's CPL class: link them if allowed. Returns
 * BT_JIT_NOLINK_NR when linked (or already), else why not.
 */
enum bt_jit_nolink bt_jit_link(struct bt_cpu *cpu, struct bt_jit_exit *x, struct bt_block *target);

/*
 * The JIT's figures for vm.counters (name, value): compiled blocks, links, flushes, exits to the
 * dispatcher by reason, links not made by reason, helper calls in all and the most called
 * opcodes. top: how many opcodes to name.
 */
void bt_jit_counters(const struct bt_cpu *cpu, unsigned top,
		     void (*fn)(void *opaque, const char *name, u64 value), void *opaque);

/* b is being dropped from the cache: forget its code, unlink what jumps to it. */
void bt_jit_block_dropped(struct bt_cpu *cpu, struct bt_block *b);

/* All blocks are being dropped: all code goes. */
void bt_jit_flush(struct bt_cpu *cpu);

/* ---- called from generated code (jit.c) ---- */

/* Memory access kinds of the slow path. */
enum bt_jit_mem_kind {
	BT_JIT_LD,
	BT_JIT_ST,
	BT_JIT_RMW,
};

#define BT_JIT_MEM_INFO(size, kind, seg) ((u32)(size) | (u32)(kind) << 8 | (u32)(seg) << 16)
#define BT_JIT_MEM_ATOMIC		 (1u << 24) /* LOCK or XCHG: atomic against the other CPUs */

/* What the slow path left to do after the instruction (cpu->jit_post). */
#define BT_JIT_POST_STORE 1u /* jit_tmp goes to memory */
#define BT_JIT_POST_EXIT  2u /* the store hit the running block's code: leave after it */
#define BT_JIT_POST_EXCL  4u /* an exclusive section is open for the access (smp.c) */

/*
 * The slow path of an access the inline lookup missed: the host address of the operand (RAM,
 * one page: the TLB entry is filled) or &cpu->jit_tmp (loaded for LD and RMW; stored by
 * bt_jit_mem_post), cpu->jit_vtmp for a vector operand (16 or 32 bytes: LD or ST). Raises the
 * access's fault.
 */
u8 *bt_jit_mem_slow(struct bt_cpu *cpu, u64 lin, u32 info);
void bt_jit_mem_post(struct bt_cpu *cpu);
/* Put the lazy flags in the BT_LF_HOST form generated code reloads with SAHF. */
void bt_jit_flags_host(struct bt_cpu *cpu);
/* #GP(0) at the current instruction (a non-canonical branch target). */
NORETURN void bt_jit_raise_gp(struct bt_cpu *cpu);

#endif
