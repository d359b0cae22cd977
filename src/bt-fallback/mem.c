// SPDX-License-Identifier: MIT
/*
 * Guest physical memory for the BT engine: a table of RAM regions backed by
 * host memory, with a per-page "holds translated code" byte used to catch
 * self-modifying code (SDM vol. 3A 11.6: a write to a code page must be seen
 * by later fetches). A write to such a page invalidates that page's blocks in
 * every attached CPU (bt_mem_code_written).
 *
 * Dirty logging, one mechanism for device memory (a framebuffer BAR, the display's updates) and
 * guest RAM (snapshots of a running VM, live migration): a region's bitmap of the pages
 * written since the log was last read, marked where a write is allowed: a write's TLB fill
 * (mmu.c), the page walk's accessed/dirty updates and bt_mem_write. A TLB entry of a logged
 * region caches write permission only for a page already marked, and reading the log drops
 * every cached write permission, so a store through a cached write tag costs nothing more and
 * the first store to a page after a read fills again and marks it. The log is read, and
 * turned on or off, while no CPU runs guest code (accel_bt.c takes the execution lock): no
 * store is then half done, every write before a read is in it, every later one in the next.
 *
 * Not here yet: ROM/MMIO region descriptors beyond the mmio callback.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BT_MEM_BPL (8 * sizeof(unsigned long))

int bt_mem_map(struct bt_mem *mem, u64 gpa, u64 len, void *hva, bool readonly)
{
	struct bt_region *r;

	if (!len || (gpa | len) & ~BT_PAGE_MASK || gpa + len < gpa)
		return -EINVAL;
	if (mem->nr_regions == BT_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		r = &mem->regions[i];
		if (gpa < r->gpa + r->len && r->gpa < gpa + len)
			return -EEXIST;
	}
	r = &mem->regions[mem->nr_regions];
	r->code_pages = calloc(len >> BT_PAGE_SHIFT, 1);
	if (!r->code_pages)
		return -ENOMEM;
	r->gpa = gpa;
	r->len = len;
	r->hva = hva;
	r->readonly = readonly;
	r->dirty = NULL; /* the slot may be an unmapped region's */
	mem->nr_regions++;
	/* TLBs may cache the range as MMIO. */
	for (unsigned i = 0; i < mem->nr_cpus; i++)
		bt_tlb_flush(mem->cpus[i]);
	return 0;
}

int bt_mem_unmap(struct bt_mem *mem, u64 gpa)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct bt_region *r = &mem->regions[i];

		if (r->gpa != gpa)
			continue;
		/* Blocks translated from it must go before another mapping takes the addresses. */
		for (u64 page = r->gpa; page < r->gpa + r->len; page += BT_PAGE_SIZE)
			bt_mem_code_written(mem, page);
		free(r->code_pages);
		if (r->dirty)
			mem->nr_logging--;
		free(r->dirty);
		mem->regions[i] = mem->regions[--mem->nr_regions];
		for (unsigned c = 0; c < mem->nr_cpus; c++)
			bt_tlb_flush(mem->cpus[c]);
		return 0;
	}
	return -ENOENT;
}

int bt_mem_attach(struct bt_mem *mem, struct bt_cpu *cpu)
{
	if (mem->nr_cpus == BT_MAX_CPUS)
		return -ENOSPC;
	mem->cpus[mem->nr_cpus++] = cpu;
	cpu->mem = mem;
	return 0;
}

void bt_mem_detach(struct bt_mem *mem, struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < mem->nr_cpus; i++) {
		if (mem->cpus[i] == cpu) {
			mem->cpus[i] = mem->cpus[--mem->nr_cpus];
			return;
		}
	}
}

void bt_mem_dma_written(struct bt_mem *mem, u64 gpa, u64 len)
{
	bool queued = false;

	if (!len)
		return;
	for (u64 page = gpa & BT_PAGE_MASK; page < gpa + len; page += BT_PAGE_SIZE) {
		struct bt_region *r = bt_mem_region(mem, page);

		/* Racy read: a page marked after this was translated after the write. */
		if (!r || !__atomic_load_n(&r->code_pages[(page - r->gpa) >> BT_PAGE_SHIFT],
					   __ATOMIC_ACQUIRE))
			continue;
		pthread_mutex_lock(&mem->dma_lock);
		if (mem->nr_dma < ARRAY_SIZE(mem->dma_pages))
			mem->dma_pages[mem->nr_dma++] = page;
		else
			mem->dma_overflow = true;
		pthread_mutex_unlock(&mem->dma_lock);
		queued = true;
	}
	if (queued)
		__atomic_store_n(&mem->dma_pending, 1, __ATOMIC_RELEASE);
}

void bt_mem_dma_apply(struct bt_mem *mem)
{
	pthread_mutex_lock(&mem->dma_lock);
	__atomic_store_n(&mem->dma_pending, 0, __ATOMIC_RELAXED);
	if (mem->dma_overflow) {
		for (unsigned i = 0; i < mem->nr_regions; i++)
			memset(mem->regions[i].code_pages, 0, mem->regions[i].len >> BT_PAGE_SHIFT);
		for (unsigned i = 0; i < mem->nr_cpus; i++)
			if (mem->cpus[i]->inval)
				mem->cpus[i]->inval->code_flush(mem->cpus[i]);
	} else {
		for (unsigned i = 0; i < mem->nr_dma; i++)
			bt_mem_code_written(mem, mem->dma_pages[i]);
	}
	mem->nr_dma = 0;
	mem->dma_overflow = false;
	pthread_mutex_unlock(&mem->dma_lock);
}

void bt_mem_destroy(struct bt_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		free(mem->regions[i].code_pages);
		free(mem->regions[i].dirty);
		mem->regions[i].dirty = NULL;
	}
	mem->nr_regions = 0;
	mem->nr_logging = 0;
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

void bt_mem_mark_code(struct bt_mem *mem, u64 gpa)
{
	struct bt_region *r = bt_mem_region(mem, gpa);

	if (!r || r->code_pages[(gpa - r->gpa) >> BT_PAGE_SHIFT])
		return;
	__atomic_store_n(&r->code_pages[(gpa - r->gpa) >> BT_PAGE_SHIFT], 1, __ATOMIC_RELAXED);
	/*
	 * Stores to the page must now take the slow path: drop cached write permission. The fence
	 * pairs with the one in the TLB fill (mmu.c) that re-reads the flag after a write tag.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < mem->nr_cpus; i++)
		bt_tlb_drop_write(mem->cpus[i], gpa);
}

int bt_mem_log_dirty(struct bt_mem *mem, u64 gpa, bool on)
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

int bt_mem_dirty_log(struct bt_mem *mem, u64 gpa, u64 len, unsigned long *bitmap)
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
			__atomic_fetch_and(&r->dirty[q / BT_MEM_BPL], ~mask, __ATOMIC_RELAXED) &
			mask;

		for (bits >>= shift; bits; bits &= bits - 1) {
			u64 o = p + (u64)__builtin_ctzl(bits);

			bitmap[o / BT_MEM_BPL] |= 1ul << (o % BT_MEM_BPL);
			any = true;
		}
		p += n;
	}
	/* The pages just read must fill again to be marked (mmu.c's bt_mmu_log_write). */
	for (unsigned i = 0; any && i < mem->nr_cpus; i++)
		bt_tlb_drop_writes(mem->cpus[i]);
	return 0;
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

void bt_mem_code_written(struct bt_mem *mem, u64 gpa)
{
	struct bt_region *r = bt_mem_region(mem, gpa);

	if (!r || !r->code_pages[(gpa - r->gpa) >> BT_PAGE_SHIFT])
		return;
	r->code_pages[(gpa - r->gpa) >> BT_PAGE_SHIFT] = 0;
	for (unsigned i = 0; i < mem->nr_cpus; i++) {
		struct bt_cpu *cpu = mem->cpus[i];

		if (cpu->inval)
			cpu->inval->code_written(cpu, gpa);
	}
}

int bt_mem_write(struct bt_mem *mem, u64 gpa, const void *buf, u64 len)
{
	const u8 *src = buf;

	while (len) {
		struct bt_region *r = bt_mem_region(mem, gpa);
		u64 off, n;

		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		n = MIN(len, r->len - off);
		n = MIN(n, BT_PAGE_SIZE - (gpa & ~BT_PAGE_MASK));
		if (r->code_pages[off >> BT_PAGE_SHIFT])
			bt_mem_code_written(mem, gpa);
		bt_mem_mark_dirty(mem, gpa);
		memcpy(r->hva + off, src, n);
		src += n;
		gpa += n;
		len -= n;
	}
	return 0;
}
