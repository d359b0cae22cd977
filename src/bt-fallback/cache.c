// SPDX-License-Identifier: MIT
/*
 * The decoded-block cache (research bt-engine.md 2.1 item 4 and 2.2 "Blocks"):
 * instructions are decoded once into struct bt_insn and grouped in blocks
 * keyed by the guest physical address of their first byte and the CPU mode.
 * A block ends at a control transfer, a serialising instruction, after
 * BT_BLOCK_MAX_INSNS instructions or at a 4 KiB page end (after an instruction
 * that crosses it). Blocks live in a bump arena that is flushed whole when full.
 *
 * Under paging one physical block can be reached through several linear
 * addresses; a block whose last instruction crosses into the next linear
 * page records that page's physical address, and a lookup by the first
 * byte's physical address also checks the second page's current mapping.
 * The jump cache (by linear address) is flushed with the TLB; entries for code in global pages
 * survive CR3 loads as the global TLB entries do (SDM vol. 3A 4.10.2.4). The executor chains
 * blocks to their successors (exec.c bt_next_block) with the same validity.
 *
 * Each block is linked into the list of every page it covers, so a write to
 * a code page (bt_mem_code_written) drops exactly that page's blocks.
 */
#include "bt-fallback/bt.h"

#include "bt-fallback/jit/jit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BT_CACHE_DEFAULT_ARENA (8u << 20)

int bt_cache_init(struct bt_cache *c, size_t arena_size)
{
	memset(c, 0, sizeof(*c));
	c->arena_size = arena_size ? arena_size : BT_CACHE_DEFAULT_ARENA;
	c->hash = calloc(BT_CACHE_BUCKETS, sizeof(*c->hash));
	c->page_hash = calloc(BT_CACHE_BUCKETS, sizeof(*c->page_hash));
	c->alias = calloc(BT_CACHE_BUCKETS, sizeof(*c->alias));
	c->arena = malloc(c->arena_size);
	c->jc_gen = c->jc_ng_gen = 1; /* the zeroed entries are stale */
	if (!c->hash || !c->page_hash || !c->alias || !c->arena) {
		bt_cache_destroy(c);
		return -ENOMEM;
	}
	return 0;
}

void bt_cache_destroy(struct bt_cache *c)
{
	free(c->hash);
	free(c->page_hash);
	free(c->alias);
	free(c->arena);
	c->hash = NULL;
	c->page_hash = NULL;
	c->alias = NULL;
	c->arena = NULL;
}

void bt_cache_flush(struct bt_cpu *cpu)
{
	struct bt_cache *c = &cpu->cache;

	memset(c->hash, 0, BT_CACHE_BUCKETS * sizeof(*c->hash));
	memset(c->page_hash, 0, BT_CACHE_BUCKETS * sizeof(*c->page_hash));
	memset(c->alias, 0, BT_CACHE_BUCKETS * sizeof(*c->alias));
	memset(c->jc, 0, sizeof(c->jc)); /* no entry may point into the arena reused */
	bt_cache_jc_flush(c);
	c->arena_used = 0;
	c->nr_flushes++;
	bt_jit_flush(cpu); /* generated code points into the blocks */
}

/* A block's room in the arena. */
static size_t bt_cache_block_size(unsigned nr_insns)
{
	return ALIGN_UP(sizeof(struct bt_block) + nr_insns * sizeof(struct bt_insn), 16);
}

void bt_cache_jc_flush(struct bt_cache *c)
{
	c->link_gen++;
	if (++c->jc_gen == 0) { /* wrapped: old entries could look current */
		memset(c->jc, 0, sizeof(c->jc));
		c->jc_gen = 1;
	}
}

void bt_cache_jc_flush_nonglobal(struct bt_cache *c)
{
	c->link_gen++;
	if (++c->jc_ng_gen == 0) {
		bt_cache_jc_flush(c);
		c->jc_ng_gen = 1;
	}
}

/*
 * Blocks are keyed by physical address, mode and the linear address they were translated at:
 * generated code has its linear addresses built in (RIP-relative operands, exit targets), so
 * code shared at different addresses (a library in processes with ASLR) gets a block for each.
 */
static unsigned bt_cache_bucket(u64 gpa, u32 mode, u64 lin)
{
	return (unsigned)(((gpa ^ ((u64)mode << 40) ^ (lin << 20)) * 0x9e3779b97f4a7c15ull) >>
			  (64 - BT_CACHE_BITS)) &
	       (BT_CACHE_BUCKETS - 1);
}

static unsigned bt_cache_alias_bucket(u64 gpa, u32 mode)
{
	return bt_cache_bucket(gpa, mode, 0);
}

static unsigned bt_cache_page_bucket(u64 page)
{
	return (unsigned)((page * 0x9e3779b97f4a7c15ull) >> (64 - BT_CACHE_BITS)) &
	       (BT_CACHE_BUCKETS - 1);
}

static void bt_cache_unhash(struct bt_cache *c, struct bt_block *b)
{
	struct bt_block **pp = &c->hash[bt_cache_bucket(b->gpa, b->mode, b->rip)];

	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == b) {
			*pp = b->hash_next;
			return;
		}
	}
}

unsigned bt_cache_invalidate_page(struct bt_cpu *cpu, u64 gpa)
{
	struct bt_cache *c = &cpu->cache;
	u64 page = gpa >> BT_PAGE_SHIFT;
	struct bt_page_link **pp = &c->page_hash[bt_cache_page_bucket(page)];
	unsigned n = 0;

	while (*pp) {
		struct bt_page_link *l = *pp;

		if (l->page != page) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		if (l->block->valid) {
			l->block->valid = false;
			bt_cache_unhash(c, l->block);
			if (cpu->jit)
				bt_jit_block_dropped(cpu, l->block);
			n++;
		}
	}
	c->nr_invalidated += n;
	return n;
}

/* Instructions after which a block ends: control transfers and serialising ones. */
static bool bt_cache_ends_block(const struct bt_insn *in)
{
	unsigned op = in->opcode;

	if (in->fn == bt_op_ud)
		return true;
	if (op >= 0x70 && op <= 0x7f)
		return true;
	if (op >= 0x180 && op <= 0x18f)
		return true;
	switch (op) {
	case 0x9a:
	case 0xc2:
	case 0xc3:
	case 0xca:
	case 0xcb:
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
	case 0xe0:
	case 0xe1:
	case 0xe2:
	case 0xe3:
	case 0xe8:
	case 0xe9:
	case 0xea:
	case 0xeb:
	case 0xf1:
	case 0xf4:
	case 0xff:
	case 0x9d:
	case 0x8e:
	case 0xfb:
	case 0x1a2:
	case 0x10b:
	case 0x105:
	case 0x17:
	case 0x1f:
	case 0x07:
		return true;
	default:
		return false;
	}
}

static void bt_cache_link_page(struct bt_cache *c, struct bt_block *b, unsigned i, u64 gpa)
{
	struct bt_page_link *l = &b->pages[i];
	unsigned bucket;

	l->page = gpa >> BT_PAGE_SHIFT;
	l->block = b;
	bucket = bt_cache_page_bucket(l->page);
	l->next = c->page_hash[bucket];
	c->page_hash[bucket] = l;
}

static struct bt_block *bt_cache_translate(struct bt_cpu *cpu, u64 lin, u64 gpa, u32 mode)
{
	struct bt_cache *c = &cpu->cache;
	struct bt_insn insns[BT_BLOCK_MAX_INSNS];
	unsigned n = 0, total = 0;
	u64 gpa2 = 0;
	bool two_pages = false;
	struct bt_block *b, *alias;
	size_t size;

	/* Before reading the bytes: a write from now on queues this page for us (mem.c). */
	bt_mem_mark_code(cpu->mem, cpu, gpa);
	/*
	 * The same bytes translated at another linear address: the decoder sees only the bytes and
	 * the mode, and where a block ends depends only on them and on the offset in the page,
	 * which the same physical address gives, so its instructions are this block's. Only for a
	 * block within one page (the next page of this linear address may be another one).
	 */
	alias = c->alias[bt_cache_alias_bucket(gpa, mode)];
	if (alias && alias->valid && alias->gpa == gpa && alias->mode == mode &&
	    !alias->pages[1].block) {
		n = alias->nr_insns;
		goto alloc;
	}
	while (n < BT_BLOCK_MAX_INSNS) {
		u8 buf[15];
		u64 insn_gpa;
		unsigned avail = bt_fetch(cpu, lin + total, buf, sizeof(buf), &insn_gpa);
		int ret = bt_decode(mode, buf, avail, &insns[n]);

		if (ret != BT_DECODE_OK) {
			if (n)
				break; /* fault when (and if) execution gets there */
			if (ret == BT_DECODE_TOOLONG)
				bt_raise_gp0(cpu);
			/* The bytes ran into an unmapped page or the CS limit. */
			bt_fetch(cpu, lin + avail, buf, 1, &insn_gpa);
			bt_raise_gp0(cpu); /* not reached when bt_fetch raised */
		}
		bt_ops_select(&insns[n], mode);
		total += insns[n].len;
		if (bt_cache_ends_block(&insns[n++]))
			break;
		if (((lin + total) & ~BT_PAGE_MASK) == 0 ||
		    total > BT_PAGE_SIZE - (lin & ~BT_PAGE_MASK))
			break; /* page end, or the instruction ran into the next page */
	}
	/*
	 * A block covers the linear page it starts in and, when its last instruction crosses the
	 * page end, the next one, wherever that is mapped: record its physical page too.
	 */
	if (total > BT_PAGE_SIZE - (lin & ~BT_PAGE_MASK)) {
		u64 next = (lin & BT_PAGE_MASK) + BT_PAGE_SIZE;

		if (mode != BT_MODE_LONG64)
			next &= 0xffffffffu;
		two_pages = bt_mmu_probe_fetch(cpu, next, &gpa2);
		if (!two_pages) /* the fetch just read it: only a concurrent change can get here */
			bt_raise_gp0(cpu);
	}
	alias = NULL;
alloc:
	size = bt_cache_block_size(n);
	if (c->arena_used + size > c->arena_size) {
		if (alias) { /* the copy keeps what the flush drops */
			memcpy(insns, alias->insns, n * sizeof(struct bt_insn));
			alias = NULL;
		}
		bt_cache_flush(cpu);
	}
	b = (struct bt_block *)(c->arena + c->arena_used);
	c->arena_used += size;
	b->gpa = gpa;
	b->rip = lin;
	b->mode = mode;
	b->nr_insns = n;
	b->valid = true;
	b->succ[0] = b->succ[1] = NULL;
	b->link_gen = 0;
	b->hot = 0;
	b->jit[0] = b->jit[1] = NULL;
	b->jit_in = NULL;
	if (alias) {
		/*
		 * Its count starts at 0: going on from the alias's had the systemd guest's boot to its
		 * login compile 0.80M blocks instead of 0.70M, with 25 code flushes instead of 22 (code
		 * hot in one process but seldom run in the next was compiled for each).
		 */
		memcpy(b->insns, alias->insns, n * sizeof(struct bt_insn));
		c->nr_aliased++;
	} else {
		memcpy(b->insns, insns, n * sizeof(struct bt_insn));
	}
	bt_cache_link_page(c, b, 0, gpa);
	if (two_pages) {
		bt_cache_link_page(c, b, 1, gpa2);
		bt_mem_mark_code(cpu->mem, cpu, gpa2);
	} else {
		b->pages[1].block = NULL;
	}
	b->hash_next = c->hash[bt_cache_bucket(gpa, mode, lin)];
	c->hash[bt_cache_bucket(gpa, mode, lin)] = b;
	c->alias[bt_cache_alias_bucket(gpa, mode)] = b;
	c->nr_translated++;
	return b;
}

/* A block found by its first byte's physical address fits lin if its second page does too. */
static bool bt_cache_second_page_ok(struct bt_cpu *cpu, const struct bt_block *b, u64 lin)
{
	u64 next = (lin & BT_PAGE_MASK) + BT_PAGE_SIZE, gpa2;

	if (!b->pages[1].block)
		return true;
	if (b->mode != BT_MODE_LONG64)
		next &= 0xffffffffu;
	return bt_mmu_probe_fetch(cpu, next, &gpa2) && (gpa2 >> BT_PAGE_SHIFT) == b->pages[1].page;
}

/* Is the translation of lin for a fetch a global TLB entry (kept across CR3 loads)? */
static bool bt_cache_tlb_global(const struct bt_cpu *cpu, bool user, u64 lin)
{
	const struct bt_tlb_entry *e = &cpu->tlb[user][(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];

	return bt_tlb_tag_ok(e, BT_ACC_FETCH, lin & BT_PAGE_MASK) && e->global;
}

struct bt_block *bt_cache_get(struct bt_cpu *cpu)
{
	struct bt_cache *c = &cpu->cache;
	u32 mode = bt_cpu_mode(cpu);
	u64 lin = cpu->st.seg[CPU_CS].base + cpu->st.rip, gpa;
	struct bt_jc_entry *jc;
	struct bt_block *b;
	bool user, global;
	u8 first;

	if (mode != BT_MODE_LONG64)
		lin &= 0xffffffffu;
	/* Separate jump caches for CPL 3 and the rest: a hit skips the fetch permission check. */
	user = (cpu->st.seg[CPU_CS].selector & 3) == 3 || (cpu->st.rflags & BT_VM);
	jc = &c->jc[user][(lin ^ (lin >> 12)) & (BT_JC_SIZE - 1)];
	b = jc->block;
	if (likely(b && b->rip == lin && b->mode == mode && b->valid)) {
		if (likely(jc->gen == c->jc_gen && (!jc->ng_gen || jc->ng_gen == c->jc_ng_gen)))
			return b;
		/*
		 * The entry went stale with a TLB flush (a CR3 load, a global flush): its block is
		 * still the one if lin translates to the block's pages now, which is cheaper to check
		 * than finding it in the hash table again (entries never outlive their block:
		 * bt_cache_flush clears the jump cache).
		 */
		c->nr_jc_misses++;
		bt_fetch(cpu, lin, &first, 1, &gpa);
		if (gpa == b->gpa && bt_cache_second_page_ok(cpu, b, lin)) {
			c->nr_jc_revalidated++;
			goto fill;
		}
	} else {
		c->nr_jc_misses++;
		bt_fetch(cpu, lin, &first, 1, &gpa);
	}
	for (b = c->hash[bt_cache_bucket(gpa, mode, lin)]; b; b = b->hash_next)
		if (b->gpa == gpa && b->rip == lin && b->mode == mode &&
		    bt_cache_second_page_ok(cpu, b, lin))
			break;
	if (!b)
		b = bt_cache_translate(cpu, lin, gpa, mode);
fill:
	/* The fetches above left both pages' translations in the TLB. */
	global = bt_cache_tlb_global(cpu, user, lin);
	if (global && b->pages[1].block) {
		u64 next = (lin & BT_PAGE_MASK) + BT_PAGE_SIZE;

		global = bt_cache_tlb_global(cpu, user,
					     mode == BT_MODE_LONG64 ? next : next & 0xffffffffu);
	}
	*jc = (struct bt_jc_entry){ .block = b,
				    .gen = c->jc_gen,
				    .ng_gen = global ? 0 : c->jc_ng_gen };
	return b;
}

/* ------------------------------------------- what the MMU and memory report (bt.h) */

static void bt_cache_tlb_flushed(struct bt_cpu *cpu, bool nonglobal_only)
{
	if (nonglobal_only)
		bt_cache_jc_flush_nonglobal(&cpu->cache);
	else
		bt_cache_jc_flush(&cpu->cache);
}

/* A write to a code page: drop its blocks; if the running block is one, leave it after this
 * instruction (the write must be seen by the next fetch, SDM vol. 3A 11.6). */
static void bt_cache_code_written(struct bt_cpu *cpu, u64 gpa)
{
	if (bt_cache_invalidate_page(cpu, gpa) && cpu->cur_block && !cpu->cur_block->valid)
		cpu->end_block = true;
}

static void bt_cache_code_flush(struct bt_cpu *cpu)
{
	bt_cache_flush(cpu);
}

const struct bt_inval_ops bt_cache_inval_ops = {
	.tlb_flushed = bt_cache_tlb_flushed,
	.code_written = bt_cache_code_written,
	.code_flush = bt_cache_code_flush,
};
