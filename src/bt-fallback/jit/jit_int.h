/* SPDX-License-Identifier: MIT */
/*
 * Inside the JIT's compiler: what the vector and string emitters (jit_vec.c) use of the
 * compiler's context (jit_compile.c), which stays private to it. Not for the rest of the engine.
 */
#ifndef BT_FALLBACK_JIT_JIT_INT_H
#define BT_FALLBACK_JIT_JIT_INT_H

#include "bt-fallback/jit/emit.h"
#include "bt-fallback/jit/jit.h"

struct jit_ctx;

/* The part of an instruction after its memory operand is translated (host address in RSI). */
typedef void (*jit_vec_fn)(struct jit_ctx *c, const struct bt_insn *in);

/* Checks of the SSE/AVX state a block has made at run time (jit_ctx_vec_checked). */
#define JIT_VEC_SSE 1u /* CR0.EM, CR0.TS, CR4.OSFXSR (jit_sse_guard) */
#define JIT_VEC_AVX 2u /* CR4.OSXSAVE, XCR0 bits 1 and 2, CR0.TS */

struct bt_emit *jit_emitter(struct jit_ctx *c);
struct bt_cpu *jit_ctx_cpu(struct jit_ctx *c);
bool jit_ctx_long64(struct jit_ctx *c);
/*
 * JIT_VEC_* made earlier in the block: CR0, CR4 and XCR0 cannot change before its end (the
 * instructions that write them leave generated code), so one check covers what follows.
 */
unsigned *jit_ctx_vec_checked(struct jit_ctx *c);

/* Room for n more out-of-line tails (jit_tail_call, jit_sse_guard: 2, an aligned access: 1). */
bool jit_tails_room(struct jit_ctx *c, unsigned n);
/* A Jcc cc to a call of the instruction's handler, which raises what the check found. */
void jit_tail_call(struct jit_ctx *c, enum bt_cc cc);
/* The checks of a legacy SSE instruction (bt_vec_check) at run time; two tails. */
void jit_sse_guard(struct jit_ctx *c);

/* Store the guest flags held in the host RFLAGS: the host flags are free to clobber. */
void jit_flags_spill(struct jit_ctx *c);
/* The guest flags in cpu's lazy state, in the BT_LF_HOST form (a call when in another). */
void jit_flags_mem_host(struct jit_ctx *c);
/* The instruction just run left the guest's arithmetic flags in the host RFLAGS. */
void jit_flags_produced(struct jit_ctx *c);

/* The host register caching guest register g, or 0xff. */
unsigned jit_gpr_host(struct jit_ctx *c, unsigned g);
/* The host register holding g's value (loaded into scratch when not cached). */
unsigned jit_gpr_src(struct jit_ctx *c, unsigned g, unsigned scratch);
/* After writing host register h for guest register g (stored when g is not cached). */
void jit_gpr_written(struct jit_ctx *c, unsigned g, unsigned h);

/*
 * in's memory operand of size bytes through the inline TLB lookup, then fn's body with RSI =
 * the operand's host address (or the slow path's buffer); align: the handler (#GP) unless the
 * linear address is a multiple of it (0: none). fl_out: fn leaves the guest flags in the host.
 */
void jit_vec_mem(struct jit_ctx *c, const struct bt_insn *in, unsigned size,
		 enum bt_jit_mem_kind kind, unsigned align, jit_vec_fn fn, bool fl_out);

/*
 * The inline TLB lookup of the page of the linear address in RSI for acc: RSI = its host address
 * on a hit, else to the returned Jcc rel32 field. Clobbers RAX, RDI and the host flags.
 */
u8 *jit_tlb_lookup(struct jit_ctx *c, enum bt_access acc);

/*
 * A fast path with a fallback to the handler: jit_fast_begin where the checks start (the host
 * flags stored, nothing of the guest changed yet), then the checks' Jcc rel32 fields in slow[]
 * and the fast path; jit_fast_end emits the handler call they go to, which rejoins after.
 */
void jit_fast_begin(struct jit_ctx *c);
void jit_fast_end(struct jit_ctx *c, const struct bt_insn *in, u8 *const *slow, unsigned n);

/* jit_vec.c: in natively (true), or nothing emitted (false: its handler). */
bool jit_vec(struct jit_ctx *c, const struct bt_insn *in);

#endif
