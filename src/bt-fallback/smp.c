// SPDX-License-Identifier: MIT
/*
 * CPUs in parallel: every CPU runs bt_run on its own thread at the same time as the others.
 * Plain guest accesses are plain host accesses (x86 TSO on an x86 host keeps the guest's memory
 * order); LOCKed instructions and XCHG with memory are host atomics (ops/lock.c, and the host's
 * own LOCK in generated code). What cannot be one host atomic -- a LOCKed access to MMIO, or
 * across two pages that are not contiguous in host memory -- runs in an exclusive section: the
 * requesting CPU waits until every other CPU inside bt_run has parked at a block boundary, as a
 * bus lock stops the other processors (SDM vol. 3A 9.1.2.2), and releases them after the one
 * instruction.
 *
 * The same stop serves region-table changes (mem.c, bt_mem_change): a CPU that asked for one in
 * a machine call makes it in an exclusive section once the call has returned; another thread
 * stops every CPU with bt_smp_stop_all (excl_cpu NULL: no CPU runs).
 *
 * Lock order: mem->excl_lock alone; nothing else is taken while it is held, and no CPU waits for
 * the exclusive section while holding the device lock (sections start before any MMIO access,
 * or after it has returned).
 */
#include "bt-fallback/bt.h"

/* The CPU whose bt_run this thread is in (bt_mem_change queues what such a thread asks). */
static __thread struct bt_cpu *bt_smp_self;

struct bt_cpu *bt_smp_current(void)
{
	return bt_smp_self;
}

void bt_smp_enter(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	bt_smp_self = cpu;
	pthread_mutex_lock(&mem->excl_lock);
	while (mem->excl_pending && mem->excl_cpu != cpu)
		pthread_cond_wait(&mem->excl_cond, &mem->excl_lock);
	mem->nr_running++;
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_smp_leave(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	if (cpu->in_exclusive)
		bt_exclusive_end(cpu);
	pthread_mutex_lock(&mem->excl_lock);
	mem->nr_running--;
	pthread_cond_broadcast(&mem->excl_cond);
	pthread_mutex_unlock(&mem->excl_lock);
	bt_smp_self = NULL;
}

/* Called with excl_lock held: stop counting as running until no section is pending. */
static void bt_smp_wait_locked(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	mem->nr_running--;
	pthread_cond_broadcast(&mem->excl_cond);
	while (mem->excl_pending && mem->excl_cpu != cpu)
		pthread_cond_wait(&mem->excl_cond, &mem->excl_lock);
	mem->nr_running++;
}

void bt_smp_park(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	pthread_mutex_lock(&mem->excl_lock);
	if (mem->excl_pending && mem->excl_cpu != cpu)
		bt_smp_wait_locked(cpu);
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_exclusive_begin(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	pthread_mutex_lock(&mem->excl_lock);
	while (mem->excl_pending)
		bt_smp_wait_locked(cpu); /* another CPU's section first */
	__atomic_store_n(&mem->excl_pending, 1, __ATOMIC_SEQ_CST);
	mem->excl_cpu = cpu;
	for (unsigned i = 0; i < mem->nr_cpus; i++)
		if (mem->cpus[i] != cpu)
			bt_cpu_poke(mem->cpus[i], BT_KICK_EXCL);
	while (mem->nr_running > 1)
		pthread_cond_wait(&mem->excl_cond, &mem->excl_lock);
	cpu->in_exclusive = true;
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_exclusive_end(struct bt_cpu *cpu)
{
	struct bt_mem *mem = cpu->mem;

	pthread_mutex_lock(&mem->excl_lock);
	cpu->in_exclusive = false;
	mem->excl_cpu = NULL;
	__atomic_store_n(&mem->excl_pending, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&mem->excl_cond);
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_mem_stop(struct bt_mem *mem)
{
	pthread_mutex_lock(&mem->excl_lock);
	while (mem->excl_pending) /* a CPU's section first */
		pthread_cond_wait(&mem->excl_cond, &mem->excl_lock);
	__atomic_store_n(&mem->excl_pending, 1, __ATOMIC_SEQ_CST);
	mem->excl_cpu = NULL;
	for (unsigned i = 0; i < mem->nr_cpus; i++)
		bt_cpu_poke(mem->cpus[i], BT_KICK_EXCL);
	while (mem->nr_running)
		pthread_cond_wait(&mem->excl_cond, &mem->excl_lock);
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_mem_resume(struct bt_mem *mem)
{
	pthread_mutex_lock(&mem->excl_lock);
	__atomic_store_n(&mem->excl_pending, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&mem->excl_cond);
	pthread_mutex_unlock(&mem->excl_lock);
}

void bt_mem_sync(struct bt_mem *mem)
{
	bt_mem_stop(mem);
	bt_mem_resume(mem);
}
