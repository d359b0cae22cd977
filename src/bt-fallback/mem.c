// SPDX-License-Identifier: MIT
/*
 * Guest physical memory for the BT engine: a table of RAM regions backed by host memory, with a
 * per-page mask of the CPUs that translated code from the page, used to catch self-modifying
 * and cross-modifying code (SDM vol. 3A 9.1.3 and 11.6: a write to a code page must be seen by
 * later fetches). Pages written by one CPU are dropped from that CPU's cache at once and queued
 * for the others, which drain their queue at their next block boundary (bt_mem_inval_apply):
 * no thread ever touches another CPU's block cache or generated code.
 *
 * Ordering: a CPU marks a page (and drops write permission from every TLB) before it reads the
 * bytes it translates, and a TLB fill that grants write permission re-reads the mask after
 * storing the tag (mmu.c), so a write either sees the mark and queues the page or happened
 * before the bytes were read.
 *
 * Dirty logging, one mechanism for device memory (a framebuffer BAR, the display's updates) and
 * guest RAM (snapshots of a running VM, live migration): a region's bitmap of the pages
 * written since the log was last read, marked where a write is allowed: a write's TLB fill
 * (mmu.c), the page walk's accessed/dirty updates and bt_mem_write. A TLB entry of a logged
 * region caches write permission only for a page already marked, and reading the log drops
 * every cached write permission, so a store through a cached write tag costs nothing more and
 * the first store to a page after a read fills again and marks it. The log is read from any
 * thread while CPUs run (the display's refresh, under the device lock): the read clears bits
 * before it drops tags, after a fence, and a fill re-reads its page's bit after storing a
 * write tag, so one of the two sees the other. A store that had passed its tag check when the
 * tag went lands by that CPU's next block boundary: bt_mem_sync waits for that (live
 * migration, before it copies the pages it read). Logging is turned on or off with every CPU
 * stopped at a block boundary (bt_mem_stop).
 *
 * Moving regions while CPUs run (bt_mem_change: a BAR moved by a device register write on one
 * CPU's thread, under the device lock): the change is checked against the plan (the table with
 * every queued change made) and queued; the CPU that asked makes the queue in an exclusive
 * section when its machine call returns (bt_mem_changes_sync), so every other CPU is parked at a block
 * boundary and none walks the table or fills a TLB from it meanwhile. It cannot wait for that
 * section inside the call: another CPU may be waiting for the device lock it holds, and such a
 * CPU never parks. Readers outside bt_run (the dirty log, DMA, the loader) hold map_lock for
 * reading; the change is made holding it for writing. A change from any other thread stops
 * the CPUs itself (bt_mem_stop). Lock order: an exclusive section, change_lock, map_lock,
 * a CPU's inval_lock.
 *
 * Not here yet: ROM/MMIO region descriptors beyond the mmio callback.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BT_MEM_BPL (8 * sizeof(unsigned long))

/* Free what a region owns. */
static void bt_region_free(struct bt_region *r)
{
	free(r->code_pages);
	free(r->dirty);
	r->code_pages = NULL;
	r->dirty = NULL;
}

/* change_lock held: check an addition against the plan, prepare it and queue it. */
static int bt_mem_plan_map(struct bt_mem *mem, u64 gpa, u64 len, void *hva, unsigned flags)
{
	const unsigned bpl = BT_MEM_BPL;
	u64 pages = len >> BT_PAGE_SHIFT;
	struct bt_mem_change *c;

	if ((gpa | len) & ~BT_PAGE_MASK || gpa + len < gpa)
		return -EINVAL;
	if (mem->nr_plan == BT_MAX_REGIONS || mem->nr_changes == BT_MEM_MAX_CHANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < mem->nr_plan; i++)
		if (gpa < mem->plan[i].gpa + mem->plan[i].len && mem->plan[i].gpa < gpa + len)
			return -EEXIST;
	c = &mem->changes[mem->nr_changes];
	*c = (struct bt_mem_change){ .gpa = gpa };
	c->r.code_pages = calloc(pages, sizeof(*c->r.code_pages));
	if (flags & BT_MEM_LOG_DIRTY)
		c->r.dirty = calloc((pages + bpl - 1) / bpl, sizeof(unsigned long));
	if (!c->r.code_pages || ((flags & BT_MEM_LOG_DIRTY) && !c->r.dirty)) {
		bt_region_free(&c->r);
		return -ENOMEM;
	}
	c->r.gpa = gpa;
	c->r.len = len;
	c->r.hva = hva;
	c->r.readonly = flags & BT_MEM_READONLY;
	mem->nr_changes++;
	mem->plan[mem->nr_plan].gpa = gpa;
	mem->plan[mem->nr_plan].len = len;
	mem->nr_plan++;
	return 0;
}

/* change_lock held: a removal; one of a region whose addition is still queued cancels it. */
static int bt_mem_plan_unmap(struct bt_mem *mem, u64 gpa)
{
	unsigned i;

	for (i = 0; i < mem->nr_plan && mem->plan[i].gpa != gpa; i++)
		;
	if (i == mem->nr_plan)
		return -ENOENT;
	mem->plan[i] = mem->plan[--mem->nr_plan];
	for (unsigned k = mem->nr_changes; k-- > 0;) {
		struct bt_mem_change *c = &mem->changes[k];

		if (c->gpa != gpa)
			continue;
		if (!c->r.len)
			break; /* the latest change of gpa is a removal: the region is the table's */
		bt_region_free(&c->r);
		memmove(c, c + 1, (mem->nr_changes - k - 1) * sizeof(*c));
		mem->nr_changes--;
		return 0;
	}
	if (mem->nr_changes == BT_MEM_MAX_CHANGES)
		return -ENOSPC; /* cannot happen: see BT_MEM_MAX_CHANGES */
	mem->changes[mem->nr_changes++] = (struct bt_mem_change){ .gpa = gpa };
	return 0;
}

/* Every CPU stopped, map_lock held for writing: remove the region that starts at gpa. */
static void bt_mem_remove(struct bt_mem *mem, u64 gpa)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct bt_region *r = &mem->regions[i];

		if (r->gpa != gpa)
			continue;
		/* Blocks translated from it must go before another mapping takes the addresses. */
		for (u64 page = r->gpa; page < r->gpa + r->len; page += BT_PAGE_SIZE)
			bt_mem_code_written(mem, NULL, page);
		if (r->dirty)
			mem->nr_logging--;
		bt_region_free(r);
		mem->regions[i] = mem->regions[--mem->nr_regions];
		return;
	}
}

/* Every CPU stopped (or none attached): make the queued changes, in order. */
static void bt_mem_changes_make(struct bt_mem *mem)
{
	bool any;

	pthread_mutex_lock(&mem->change_lock);
	pthread_rwlock_wrlock(&mem->map_lock);
	any = mem->nr_changes != 0;
	for (unsigned k = 0; k < mem->nr_changes; k++) {
		struct bt_mem_change *c = &mem->changes[k];

		if (!c->r.len)
			bt_mem_remove(mem, c->gpa);
		else if (mem->nr_regions < BT_MAX_REGIONS) { /* always: the plan had room */
			mem->nr_logging += c->r.dirty != NULL;
			mem->regions[mem->nr_regions++] = c->r;
		} else
			bt_region_free(&c->r);
	}
	mem->nr_changes = 0;
	__atomic_store_n(&mem->change_pending, 0, __ATOMIC_RELEASE);
	/*
	 * TLBs may cache an added range as MMIO, a removed one as RAM, and write permission taken
	 * before logging began would go unrecorded.
	 */
	for (unsigned i = 0; any && i < mem->nr_cpus; i++)
		bt_tlb_flush(mem->cpus[i]);
	pthread_rwlock_unlock(&mem->map_lock);
	pthread_mutex_unlock(&mem->change_lock);
}

int bt_mem_change(struct bt_mem *mem, u64 gpa, u64 len, void *hva, unsigned flags)
{
	struct bt_cpu *self = bt_smp_current();
	int ret;

	pthread_mutex_lock(&mem->change_lock);
	ret = len ? bt_mem_plan_map(mem, gpa, len, hva, flags) : bt_mem_plan_unmap(mem, gpa);
	if (ret == 0)
		__atomic_store_n(&mem->change_pending, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mem->change_lock);
	if (ret < 0 || (self && self->mem == mem))
		return ret; /* queued: bt_mem_changes_sync when the machine call returns */
	bt_mem_stop(mem);
	bt_mem_changes_make(mem);
	bt_mem_resume(mem);
	return 0;
}

void bt_mem_changes_sync(struct bt_cpu *cpu)
{
	bool excl = cpu->in_exclusive; /* a LOCKed access to MMIO: the others are stopped */

	if (!excl)
		bt_exclusive_begin(cpu);
	bt_mem_changes_make(cpu->mem);
	if (!excl)
		bt_exclusive_end(cpu);
	/* The block may hold instructions translated from a page that moved. */
	cpu->end_block = true;
}

int bt_mem_relog(struct bt_mem *mem, u64 gpa, u64 len, void *hva, unsigned flags)
{
	struct bt_region *r;

	bt_mem_changes_make(mem); /* what the table is now */
	r = bt_mem_region(mem, gpa);
	if (!r || r->gpa != gpa || r->len != len || r->hva != hva ||
	    r->readonly != !!(flags & BT_MEM_READONLY))
		return -ENOENT;
	return bt_mem_log_dirty(mem, gpa, flags & BT_MEM_LOG_DIRTY);
}

int bt_mem_map(struct bt_mem *mem, u64 gpa, u64 len, void *hva, bool readonly)
{
	if (!len)
		return -EINVAL;
	return bt_mem_change(mem, gpa, len, hva, readonly ? BT_MEM_READONLY : 0);
}

int bt_mem_unmap(struct bt_mem *mem, u64 gpa)
{
	return bt_mem_change(mem, gpa, 0, NULL, 0);
}

static int bt_mem_log_dirty_locked(struct bt_mem *mem, u64 gpa, bool on)
{
	struct bt_region *r = bt_mem_region(mem, gpa);

	if (!r || r->gpa != gpa)
		return -ENOENT;
	if (on && !r->dirty) {
		r->dirty = calloc((r->len / BT_PAGE_SIZE + BT_MEM_BPL - 1) / BT_MEM_BPL,
				  sizeof(unsigned long));
		if (!r->dirty)
			return -ENOMEM;
		mem->nr_logging++;
		/* Pages written from now on must fill again to be marked. */
		for (unsigned i = 0; i < mem->nr_cpus; i++)
			bt_tlb_drop_writes(mem->cpus[i]);
	} else if (!on && r->dirty) {
		free(r->dirty);
		r->dirty = NULL;
		mem->nr_logging--;
	}
	return 0;
}

/* Readers outside bt_run (the dirty log) hold map_lock: the bitmap may go with logging. */
int bt_mem_log_dirty(struct bt_mem *mem, u64 gpa, bool on)
{
	int ret;

	pthread_rwlock_wrlock(&mem->map_lock);
	ret = bt_mem_log_dirty_locked(mem, gpa, on);
	pthread_rwlock_unlock(&mem->map_lock);
	return ret;
}

static int bt_mem_dirty_log_locked(struct bt_mem *mem, u64 gpa, u64 len, unsigned long *bitmap)
{
	struct bt_region *r = bt_mem_region(mem, gpa);
	bool any = false;
	u64 first, pages;

	if (!r || !len || len > r->len - (gpa - r->gpa))
		return -ENOENT;
	if (!r->dirty || ((gpa | len) & ~BT_PAGE_MASK))
		return -EINVAL;
	first = (gpa - r->gpa) / BT_PAGE_SIZE;
	pages = len / BT_PAGE_SIZE;
	memset(bitmap, 0, (pages + BT_MEM_BPL - 1) / BT_MEM_BPL * sizeof(unsigned long));
	for (u64 p = 0; p < pages;) {
		u64 q = first + p;
		unsigned shift = q % BT_MEM_BPL, n = MIN(BT_MEM_BPL - shift, pages - p);
		unsigned long mask = (n == BT_MEM_BPL ? ~0ul : (1ul << n) - 1) << shift;
		unsigned long bits =
			__atomic_fetch_and(&r->dirty[q / BT_MEM_BPL], ~mask, __ATOMIC_SEQ_CST) &
			mask;

		for (bits >>= shift; bits; bits &= bits - 1) {
			u64 o = p + (u64)__builtin_ctzl(bits);

			bitmap[o / BT_MEM_BPL] |= 1ul << (o % BT_MEM_BPL);
			any = true;
		}
		p += n;
	}
	/*
	 * The pages just read must fill again to be marked (mmu.c's bt_mmu_log_write): the bits
	 * are clear before the tags go, and a fill checks its page's bit again after storing its
	 * tag, so one of the two sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; any && i < mem->nr_cpus; i++)
		bt_tlb_drop_writes(mem->cpus[i]);
	return 0;
}

int bt_mem_dirty_log(struct bt_mem *mem, u64 gpa, u64 len, unsigned long *bitmap)
{
	int ret;

	pthread_rwlock_rdlock(&mem->map_lock);
	ret = bt_mem_dirty_log_locked(mem, gpa, len, bitmap);
	pthread_rwlock_unlock(&mem->map_lock);
	return ret;
}

void bt_mem_mark_dirty(struct bt_mem *mem, u64 gpa)
{
	struct bt_region *r;
	u64 q;

	if (likely(!mem->nr_logging))
		return;
	r = bt_mem_region(mem, gpa);
	if (!r || !r->dirty)
		return;
	q = (gpa - r->gpa) / BT_PAGE_SIZE;
	__atomic_fetch_or(&r->dirty[q / BT_MEM_BPL], 1ul << (q % BT_MEM_BPL), __ATOMIC_RELAXED);
}

int bt_mem_attach(struct bt_mem *mem, struct bt_cpu *cpu)
{
	unsigned slot;

	if (mem->nr_cpus == BT_MAX_CPUS)
		return -ENOSPC;
	for (slot = 0; (mem->slots_used >> slot) & 1; slot++)
		;
	mem->slots_used |= (u16)(1u << slot);
	cpu->mem_slot = slot;
	mem->cpus[mem->nr_cpus++] = cpu;
	cpu->mem = mem;
	return 0;
}

void bt_mem_detach(struct bt_mem *mem, struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < mem->nr_cpus; i++) {
		if (mem->cpus[i] == cpu) {
			mem->cpus[i] = mem->cpus[--mem->nr_cpus];
			mem->slots_used &= (u16) ~(1u << cpu->mem_slot);
			return;
		}
	}
}

void bt_mem_destroy(struct bt_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++)
		bt_region_free(&mem->regions[i]);
	for (unsigned k = 0; k < mem->nr_changes; k++)
		bt_region_free(&mem->changes[k].r);
	mem->nr_regions = mem->nr_plan = mem->nr_changes = mem->nr_logging = 0;
	mem->change_pending = 0;
}

struct bt_region *bt_mem_region(struct bt_mem *mem, u64 gpa)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct bt_region *r = &mem->regions[i];

		if (gpa - r->gpa < r->len)
			return r;
	}
	return NULL;
}

static u16 *bt_mem_code_mask(struct bt_mem *mem, u64 gpa)
{
	struct bt_region *r = bt_mem_region(mem, gpa);

	return r ? &r->code_pages[(gpa - r->gpa) >> BT_PAGE_SHIFT] : NULL;
}

void bt_mem_mark_code(struct bt_mem *mem, struct bt_cpu *cpu, u64 gpa)
{
	u16 *mask = bt_mem_code_mask(mem, gpa), bit = (u16)(1u << cpu->mem_slot), old;

	if (!mask || (__atomic_load_n(mask, __ATOMIC_RELAXED) & bit))
		return;
	old = __atomic_fetch_or(mask, bit, __ATOMIC_SEQ_CST);
	if (old)
		return; /* already write-protected for another CPU's code */
	/*
	 * Stores to the page must now take the slow path: drop cached write permission. The fence
	 * (the atomic above) pairs with the one in the TLB fill that re-reads the mask after a
	 * write tag.
	 */
	for (unsigned i = 0; i < mem->nr_cpus; i++)
		bt_tlb_drop_write(mem->cpus[i], gpa);
}

/* Queue the page for cpu (another thread's) and make it look. */
static void bt_mem_queue(struct bt_cpu *cpu, u64 page)
{
	pthread_mutex_lock(&cpu->inval_lock);
	if (cpu->nr_inval < BT_INVAL_QUEUE)
		cpu->inval_pages[cpu->nr_inval++] = page;
	else
		cpu->inval_overflow = true;
	__atomic_store_n(&cpu->inval_pending, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cpu->inval_lock);
	bt_cpu_poke(cpu, BT_KICK_INVAL);
}

void bt_mem_code_written(struct bt_mem *mem, struct bt_cpu *writer, u64 gpa)
{
	u16 *mask = bt_mem_code_mask(mem, gpa), m;

	if (!mask || !__atomic_load_n(mask, __ATOMIC_ACQUIRE))
		return;
	m = __atomic_exchange_n(mask, 0, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < mem->nr_cpus && m; i++) {
		struct bt_cpu *cpu = mem->cpus[i];

		if (!((m >> cpu->mem_slot) & 1))
			continue;
		m &= (u16) ~(1u << cpu->mem_slot);
		if (cpu == writer) {
			if (cpu->inval)
				cpu->inval->code_written(cpu, gpa);
		} else {
			bt_mem_queue(cpu, gpa & BT_PAGE_MASK);
		}
	}
}

void bt_mem_inval_apply(struct bt_cpu *cpu)
{
	u64 pages[BT_INVAL_QUEUE];
	unsigned n;
	bool all;

	pthread_mutex_lock(&cpu->inval_lock);
	__atomic_store_n(&cpu->inval_pending, 0, __ATOMIC_RELAXED);
	n = cpu->nr_inval;
	all = cpu->inval_overflow;
	memcpy(pages, cpu->inval_pages, n * sizeof(pages[0]));
	cpu->nr_inval = 0;
	cpu->inval_overflow = false;
	pthread_mutex_unlock(&cpu->inval_lock);
	if (!cpu->inval)
		return;
	if (all) {
		cpu->inval->code_flush(cpu);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		cpu->inval->code_written(cpu, pages[i]);
}

void bt_mem_dma_written(struct bt_mem *mem, u64 gpa, u64 len)
{
	if (!len)
		return;
	pthread_rwlock_rdlock(&mem->map_lock);
	for (u64 page = gpa & BT_PAGE_MASK; page < gpa + len; page += BT_PAGE_SIZE)
		bt_mem_code_written(mem, NULL, page);
	pthread_rwlock_unlock(&mem->map_lock);
}

int bt_mem_write(struct bt_mem *mem, u64 gpa, const void *buf, u64 len)
{
	const u8 *src = buf;
	int ret = 0;

	pthread_rwlock_rdlock(&mem->map_lock);
	while (len) {
		struct bt_region *r = bt_mem_region(mem, gpa);
		u64 off, n;

		if (!r) {
			ret = -EFAULT;
			break;
		}
		off = gpa - r->gpa;
		n = MIN(len, r->len - off);
		n = MIN(n, BT_PAGE_SIZE - (gpa & ~BT_PAGE_MASK));
		bt_mem_mark_dirty(mem, gpa);
		memcpy(r->hva + off, src, n);
		bt_mem_code_written(mem, NULL, gpa);
		src += n;
		gpa += n;
		len -= n;
	}
	pthread_rwlock_unlock(&mem->map_lock);
	return ret;
}
