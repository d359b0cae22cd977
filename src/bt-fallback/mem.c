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
 * Dirty logging for RAM-like device memory (a framebuffer BAR): a bit per page, set when a
 * CPU's TLB takes write permission for the page (mmu.c); harvesting clears the bits and drops
 * the write permission those pages had in every TLB, so the next store to them refills and
 * sets the bit again. A store is never missed: a fill sets the bit before it stores the write
 * tag and re-reads the bit after a fence; the harvest clears bits before it drops tags, after
 * a fence (the same pairing as bt_mem_mark_code's).
 *
 * Not here yet: ROM/MMIO region descriptors beyond the mmio callback.
 */
#include "bt-fallback/bt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	r->code_pages = calloc(len >> BT_PAGE_SHIFT, sizeof(*r->code_pages));
	if (!r->code_pages)
		return -ENOMEM;
	r->gpa = gpa;
	r->len = len;
	r->hva = hva;
	r->readonly = readonly;
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
			bt_mem_code_written(mem, NULL, page);
		free(r->code_pages);
		free(r->dirty);
		mem->regions[i] = mem->regions[--mem->nr_regions];
		for (unsigned c = 0; c < mem->nr_cpus; c++)
			bt_tlb_flush(mem->cpus[c]);
		return 0;
	}
	return -ENOENT;
}

int bt_mem_log_dirty(struct bt_mem *mem, u64 gpa)
{
	const unsigned bpl = 8 * sizeof(unsigned long);

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct bt_region *r = &mem->regions[i];
		u64 pages = r->len >> BT_PAGE_SHIFT;

		if (r->gpa != gpa)
			continue;
		if (r->dirty)
			return 0;
		r->dirty = calloc((pages + bpl - 1) / bpl, sizeof(unsigned long));
		if (!r->dirty)
			return -ENOMEM;
		/* Write permission cached before logging began would go unrecorded. */
		for (unsigned c = 0; c < mem->nr_cpus; c++)
			bt_tlb_flush(mem->cpus[c]);
		return 0;
	}
	return -ENOENT;
}

int bt_mem_dirty_log(struct bt_mem *mem, u64 gpa, u64 len, unsigned long *bitmap)
{
	const unsigned bpl = 8 * sizeof(unsigned long);
	struct bt_region *r = bt_mem_region(mem, gpa);
	u64 first, pages;

	if (!r || !len || gpa + len < gpa || gpa + len > r->gpa + r->len)
		return -ENOENT;
	if (!r->dirty || ((gpa | len) & ~BT_PAGE_MASK))
		return -EINVAL;
	first = (gpa - r->gpa) >> BT_PAGE_SHIFT;
	pages = len >> BT_PAGE_SHIFT;
	memset(bitmap, 0, (pages + bpl - 1) / bpl * sizeof(unsigned long));
	for (u64 w = first / bpl; w * bpl < first + pages; w++) {
		unsigned long bits = __atomic_exchange_n(&r->dirty[w], 0, __ATOMIC_SEQ_CST);

		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		for (unsigned b = 0; bits && b < bpl; b++) {
			u64 page = w * bpl + b;

			if (!(bits & (1ul << b)))
				continue;
			if (page < first || page >= first + pages) {
				/* outside the range asked for: keep it for its own caller */
				__atomic_fetch_or(&r->dirty[w], 1ul << b, __ATOMIC_RELAXED);
				continue;
			}
			for (unsigned c = 0; c < mem->nr_cpus; c++)
				bt_tlb_drop_write(mem->cpus[c], r->gpa + (page << BT_PAGE_SHIFT));
			bitmap[(page - first) / bpl] |= 1ul << ((page - first) % bpl);
		}
	}
	return 0;
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
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		free(mem->regions[i].code_pages);
		free(mem->regions[i].dirty);
	}
	mem->nr_regions = 0;
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
	for (u64 page = gpa & BT_PAGE_MASK; page < gpa + len; page += BT_PAGE_SIZE)
		bt_mem_code_written(mem, NULL, page);
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
		memcpy(r->hva + off, src, n);
		bt_mem_code_written(mem, NULL, gpa);
		src += n;
		gpa += n;
		len -= n;
	}
	return 0;
}
