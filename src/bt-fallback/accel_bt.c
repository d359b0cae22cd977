// SPDX-License-Identifier: MIT
/*
 * The "bt" accelerator (vmm/accel.h) over the BT engine (bt.h): a bt_mem per
 * VM, a bt_cpu per vCPU (its index is its APIC ID), vcpu_run drives bt_run in
 * slices and turns its exits into lifecycle stops.
 *
 * The engine needs nothing from the host, so probe always succeeds.
 *
 * SMP: every vCPU runs bt_run on its own host thread (vcpu.c), all at the same
 * time (smp.c: LOCKed instructions and XCHG are host atomics, code written by
 * one CPU is dropped by the others at their next block boundary, machine calls
 * go through the bus under the device lock). bt_run runs slices of
 * ACCEL_BT_SLICE instructions so requests are seen even in a tight guest loop.
 *
 * HLT (SDM vol. 2A "HLT": the processor stays halted until an interrupt, NMI,
 * INIT or reset): vcpu_run sleeps on the vCPU's condvar, outside bt_run,
 * until a wake event arrives -- the INTR pin rising
 * (vcpu_set_intr) or a kick -- and then runs the engine again, which takes
 * the interrupt or stays halted (an NMI, vcpu_nmi, wakes it the same way). A wake event is
 * counted, not a level, so a
 * guest halted with IF=0 and an interrupt pending does not spin. A kick from
 * the VMM (vcpu_kick) makes vcpu_run return VCPU_STOP_KICKED; the engine's own
 * kick for an INTR change (BT_EXIT_REQUEST without a VMM kick) just continues.
 * The HLT wait happens inside vcpu_run, so VCPU_STOP_HALTED is never returned.
 *
 * Calls from the engine into the machine (bt_mem's pio/mmio/intr_ack/msr/
 * clock_ns) carry the CPU index; they go through that vCPU's struct accel_io,
 * so per-CPU devices (the local APIC window) know which CPU asked.
 */
#include "vmm/accel.h"

#include "bt-fallback/bt.h"
#include "bt-fallback/jit/jit.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Instructions per bt_run call (a kick or an interrupt ends one earlier). */
#define ACCEL_BT_SLICE 1000000ull

/* The machine's local APICs count TSC deadlines at this rate (vmm/board_irqchip.h). */
_Static_assert(BT_TSC_KHZ == 2000000u, "BOARD_IRQCHIP_TSC_HZ in vmm/board_irqchip.h must follow");

/* MSR numbers the state save/restore handles apart from bt_msr_list (SDM vol. 4). */
#define ACCEL_BT_MSR_APIC_BASE 0x1bu

struct accel_vcpu;

struct accel_vm {
	struct bt_mem mem;
	unsigned nr_vcpus; /* from the config */
	struct accel_vcpu *vcpus[BT_MAX_CPUS];
	const struct accel_io *clock_io; /* the first vCPU's io: the clock is VM-wide */
	struct cpu_model model;		 /* every vCPU's */
	/* The tiers each vCPU gets (accel_config). */
	bool jit;
	unsigned jit_threshold;
	size_t jit_code_bytes;
};

struct accel_vcpu {
	struct accel_vm *avm;
	struct bt_cpu *cpu;
	struct accel_io io;
	unsigned index;
	/* Wake-ups of a halted vCPU: wakes counts INTR rises and kicks; kick is the VMM's. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	u64 wakes;
	bool kick;
};

/* ------------------------------------------------- engine -> machine calls */

static struct accel_vcpu *accel_bt_vcpu_of(void *opaque, unsigned cpu)
{
	struct accel_vm *avm = opaque;

	return cpu < BT_MAX_CPUS ? avm->vcpus[cpu] : NULL;
}

static void accel_bt_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write,
			  void *data)
{
	struct accel_vcpu *v = accel_bt_vcpu_of(opaque, cpu);

	if (v && v->io.mmio)
		v->io.mmio(v->io.vm, gpa, size, is_write, data);
	else if (!is_write)
		memset(data, 0xff, size);
}

static void accel_bt_pio(void *opaque, unsigned cpu, u16 port, unsigned size, bool is_write,
			 void *data)
{
	struct accel_vcpu *v = accel_bt_vcpu_of(opaque, cpu);

	if (v && v->io.pio)
		v->io.pio(v->io.vm, port, size, is_write, data);
	else if (!is_write)
		memset(data, 0xff, size);
}

static int accel_bt_intr_ack(void *opaque, unsigned cpu)
{
	struct accel_vcpu *v = accel_bt_vcpu_of(opaque, cpu);

	return v && v->io.intr_ack ? v->io.intr_ack(v->io.vm, cpu) : -1;
}

static int accel_bt_msr(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val)
{
	struct accel_vcpu *v = accel_bt_vcpu_of(opaque, cpu);

	return v && v->io.msr ? v->io.msr(v->io.vm, index, is_write, val) : -ENOENT;
}

static void accel_bt_backdoor(void *opaque, unsigned cpu, struct accel_backdoor *regs)
{
	struct accel_vcpu *v = accel_bt_vcpu_of(opaque, cpu);

	if (v && v->io.backdoor)
		v->io.backdoor(v->io.vm, regs);
	else
		regs->rax = ~0ull; /* as an unclaimed port read */
}

static u64 accel_bt_clock_ns(void *opaque)
{
	struct accel_vm *avm = opaque;
	const struct accel_io *io = avm->clock_io;

	return io->clock_ns(io->vm);
}

/* ----------------------------------------------------------------- VM */

static int accel_bt_probe(struct err *why_not)
{
	(void)why_not;
	return 0;
}

static int accel_bt_vm_create(const struct accel_config *cfg, struct accel_vm **out,
			      struct err *err)
{
	struct accel_vm *avm;

	*out = NULL;
	if (cfg->nr_vcpus == 0 || cfg->nr_vcpus > BT_MAX_CPUS)
		return err_set(err, -EINVAL, "bt: %u vCPUs: the engine runs 1 to %u", cfg->nr_vcpus,
			       BT_MAX_CPUS);
	avm = calloc(1, sizeof(*avm));
	if (!avm)
		return err_set(err, -ENOMEM, "bt: out of memory");
	if (cfg->cpu) {
		char why[128];

		if (cpu_model_check(cfg->cpu, why, sizeof(why)) < 0) {
			free(avm);
			return err_set(err, -EINVAL, "cpu: %s", why);
		}
		avm->model = *cfg->cpu;
	} else if (!cpu_model_lookup(CPU_MODEL_DEFAULT, &avm->model)) {
		free(avm);
		return err_set(err, -EINVAL, "bt: no CPU model %s", CPU_MODEL_DEFAULT);
	}
	{
		char why[256];
		int ret = bt_host_check(&avm->model, !cfg->cpu, why, sizeof(why));

		if (ret < 0) {
			free(avm);
			return err_set(err, ret, "cpu: %s", why);
		}
		if (ret > 0)
			log_info(
				"cpu: the default model %s goes without %s: the BT engine computes "
				"them with host instructions this host's CPU lacks",
				avm->model.name, why);
	}
	avm->nr_vcpus = cfg->nr_vcpus;
	avm->jit = cfg->bt_jit;
	avm->jit_threshold = cfg->bt_jit_threshold;
	avm->jit_code_bytes = (size_t)cfg->bt_code_cache_bytes;
	if (avm->jit)
		log_info(
			"bt: JIT tier on: a block is compiled once it has run %u times, into a %zu KiB "
			"code cache per vCPU",
			avm->jit_threshold, avm->jit_code_bytes >> 10);
	else
		log_info("bt: interpreter only (no JIT tier)");
	avm->mem.io_opaque = avm;
	avm->mem.mmio = accel_bt_mmio;
	avm->mem.pio = accel_bt_pio;
	avm->mem.intr_ack = accel_bt_intr_ack;
	avm->mem.msr = accel_bt_msr;
	avm->mem.clock_ns = NULL; /* set with the first vCPU that brings a clock */
	avm->mem.backdoor = cfg->vmware_backdoor ? accel_bt_backdoor : NULL;
	avm->mem.vmware_cpuid = cfg->vmware_cpuid;
	avm->mem.apic_bus_khz = cfg->apic_bus_khz;
	*out = avm;
	return 0;
}

static void accel_bt_vm_destroy(struct accel_vm *avm)
{
	if (!avm)
		return;
	bt_mem_destroy(&avm->mem);
	free(avm);
}

static u32 accel_bt_tsc_khz(struct accel_vm *avm)
{
	(void)avm;
	return BT_TSC_KHZ;
}

/*
 * Map [gpa, gpa+len) to hva; len 0 unmaps the region at gpa. A mapping made while vCPUs exist
 * comes from a vCPU's device register write (a BAR moving), made before that vCPU's next
 * instruction with the others stopped (bt_mem_change), or while all are paused (made at once).
 * Mapping a region again as it is (same gpa, size, host address and read-only flag) from a
 * thread that is no vCPU's turns its dirty logging on or off (ACCEL_MEM_LOG_DIRTY) with every
 * vCPU stopped at a block boundary, as KVM changes a slot's flags (from the main thread, not
 * under the device lock: live migration logs guest RAM so).
 */
static int accel_bt_map_ram(struct accel_vm *avm, u64 gpa, u64 len, void *hva, unsigned flags)
{
	unsigned bt_flags = ((flags & ACCEL_MEM_READONLY) ? BT_MEM_READONLY : 0) |
			    ((flags & ACCEL_MEM_LOG_DIRTY) ? BT_MEM_LOG_DIRTY : 0);
	int ret;

	if (len && !bt_smp_current()) {
		bt_mem_stop(&avm->mem);
		ret = bt_mem_relog(&avm->mem, gpa, len, hva, bt_flags);
		bt_mem_resume(&avm->mem);
		if (ret != -ENOENT)
			return ret;
	}
	return bt_mem_change(&avm->mem, gpa, len, hva, bt_flags);
}

/*
 * Pages of [gpa, gpa+len) (inside one region mapped with ACCEL_MEM_LOG_DIRTY: a framebuffer
 * BAR, or guest RAM while a migration runs) the guest wrote since the last call: bit i of
 * bitmap = page gpa + i * 4 KiB; reading clears those bits. Any thread, while vCPUs run (the
 * display reads it under the device lock); a store that had passed its check as the call
 * dropped write permission may land just after it: dirty_sync waits for those.
 */
static int accel_bt_dirty_log(struct accel_vm *avm, u64 gpa, u64 len, unsigned long *bitmap)
{
	return bt_mem_dirty_log(&avm->mem, gpa, len, bitmap);
}

/* Every vCPU passes a block boundary: no store from before is still in flight. */
static void accel_bt_dirty_sync(struct accel_vm *avm)
{
	bt_mem_sync(&avm->mem);
}

/* --------------------------------------------------------------- vCPU */

static int accel_bt_vcpu_create(struct accel_vm *avm, unsigned index, const struct accel_io *io,
				struct accel_vcpu **out, struct err *err)
{
	/*
	 * The decoded blocks take about as much room as their generated code (the systemd guest's
	 * boot filled 32 MiB of each at the same time): the block arena has the code cache's size.
	 */
	struct bt_cpu_config cfg = { .mem = &avm->mem,
				     .index = index,
				     .cache_bytes = avm->jit_code_bytes,
				     .model = &avm->model,
				     .nr_cpus = avm->nr_vcpus,
				     .jit = avm->jit,
				     .jit_threshold = avm->jit_threshold,
				     .jit_code_bytes = avm->jit_code_bytes };
	struct accel_vcpu *v;
	int ret;

	*out = NULL;
	if (index >= BT_MAX_CPUS || avm->vcpus[index])
		return err_set(err, -EINVAL, "bt: bad or duplicate vCPU index %u", index);
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(err, -ENOMEM, "bt: out of memory");
	v->avm = avm;
	v->index = index;
	v->io = *io;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	ret = bt_cpu_create(&cfg, &v->cpu, err);
	if (ret < 0)
		goto err_free;
	avm->vcpus[index] = v;
	if (!avm->clock_io && v->io.clock_ns) {
		avm->clock_io = &v->io;
		avm->mem.clock_ns = accel_bt_clock_ns;
	}
	*out = v;
	return 0;

err_free:
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
	return ret;
}

/* How many of the most called interpreter handlers vm.counters and the --log=bt report name. */
#define ACCEL_BT_HELPER_TOP 12

static void accel_bt_vcpu_counters(struct accel_vcpu *v, accel_counter_fn fn, void *opaque);

struct accel_bt_line {
	char buf[3072];
	size_t len;
};

static void accel_bt_line_add(void *opaque, const char *name, u64 value)
{
	struct accel_bt_line *l = opaque;
	int n;

	if (l->len >= sizeof(l->buf))
		return;
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, " %s=%" PRIu64, name, value);
	if (n > 0)
		l->len += (size_t)n;
}

/*
 * --log=bt: the vCPU's vm.counters, where the time outside generated code came from
 * (docs/bt-jit.md "Counters").
 */
static void accel_bt_log_jit_stats(struct accel_vcpu *v)
{
	struct accel_bt_line l = { .len = 0 };

	if (!(log_categories & LOG_CAT_BT))
		return;
	accel_bt_vcpu_counters(v, accel_bt_line_add, &l);
	log_dbg(LOG_CAT_BT, "bt: vcpu%u: figures:%s", v->index, l.buf);
}

static void accel_bt_vcpu_destroy(struct accel_vcpu *v)
{
	struct accel_vm *avm;

	if (!v)
		return;
	avm = v->avm;
	avm->vcpus[v->index] = NULL;
	if (avm->clock_io == &v->io) {
		avm->clock_io = NULL;
		avm->mem.clock_ns = NULL;
		for (unsigned i = 0; i < BT_MAX_CPUS; i++) {
			if (avm->vcpus[i] && avm->vcpus[i]->io.clock_ns) {
				avm->clock_io = &avm->vcpus[i]->io;
				avm->mem.clock_ns = accel_bt_clock_ns;
				break;
			}
		}
	}
	if (v->cpu->jit) {
		const struct bt_jit *j = v->cpu->jit;

		log_dbg(LOG_CAT_BT,
			"bt: vcpu%u: the JIT compiled %" PRIu64 " blocks (%" PRIu64
			" it could not), %zu of its %zu KiB of code cache in use, %" PRIu64
			" flushes",
			v->index, j->nr_compiled, j->nr_failed, j->code.used >> 10,
			j->code.size >> 10, j->nr_flushes);
		accel_bt_log_jit_stats(v);
	}
	bt_cpu_destroy(v->cpu);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* The crash report of a CPU that stopped for good: registers and the last blocks entered. */
static void accel_bt_report(struct accel_vcpu *v, const char *what)
{
	char buf[2048];
	char *line, *save = NULL;

	log_err("bt: vcpu%u: %s (%" PRIu64 " instructions retired)", v->index, what,
		v->cpu->icount);
	bt_cpu_describe(v->cpu, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_err("bt: %s", line);
}

/* A VMM kick waiting? Consumes it. */
static bool accel_bt_take_kick(struct accel_vcpu *v)
{
	bool kick;

	pthread_mutex_lock(&v->lock);
	kick = v->kick;
	v->kick = false;
	pthread_mutex_unlock(&v->lock);
	return kick;
}

static u64 accel_bt_wakes(struct accel_vcpu *v)
{
	u64 w;

	pthread_mutex_lock(&v->lock);
	w = v->wakes;
	pthread_mutex_unlock(&v->lock);
	return w;
}

/* Halted: sleep until a wake event newer than seen. Returns true for a VMM kick (consumed). */
static bool accel_bt_wait_halted(struct accel_vcpu *v, u64 seen)
{
	bool kick;

	pthread_mutex_lock(&v->lock);
	while (v->wakes == seen && !v->kick)
		pthread_cond_wait(&v->cond, &v->lock);
	kick = v->kick;
	v->kick = false;
	pthread_mutex_unlock(&v->lock);
	return kick;
}

static int accel_bt_vcpu_run(struct accel_vcpu *v, enum vcpu_stop *why)
{
	enum bt_exit e;
	u64 seen;

	for (;;) {
		if (accel_bt_take_kick(v)) {
			*why = VCPU_STOP_KICKED;
			return 0;
		}
		seen = accel_bt_wakes(v);
		e = bt_run(v->cpu, ACCEL_BT_SLICE);

		switch (e) {
		case BT_EXIT_LIMIT:
		case BT_EXIT_REQUEST:
			/* An INTR change (the engine takes it next time) or a VMM kick (above). */
			continue;
		case BT_EXIT_HLT:
			if (accel_bt_wait_halted(v, seen)) {
				*why = VCPU_STOP_KICKED;
				return 0;
			}
			continue;
		case BT_EXIT_SHUTDOWN:
			accel_bt_report(v, "triple fault (shutdown)");
			*why = VCPU_STOP_SHUTDOWN;
			return 0;
		case BT_EXIT_EXCEPTION:
			accel_bt_report(v, "exception the engine cannot deliver");
			*why = VCPU_STOP_FAILED;
			return 0;
		}
	}
}

static void accel_bt_vcpu_kick(struct accel_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->kick = true;
	v->wakes++;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	bt_cpu_kick(v->cpu);
}

static void accel_bt_vcpu_set_intr(struct accel_vcpu *v, bool level)
{
	bool was = __atomic_load_n(&v->cpu->intr_line, __ATOMIC_ACQUIRE);

	bt_cpu_set_intr(v->cpu, level);
	if (level && !was) {
		pthread_mutex_lock(&v->lock);
		v->wakes++;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
	}
}

/* An NMI: taken at the next instruction boundary unless NMIs are blocked; wakes HLT. */
static void accel_bt_vcpu_nmi(struct accel_vcpu *v)
{
	__atomic_store_n(&v->cpu->nmi_pending, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&v->lock);
	v->wakes++;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/*
 * The engine's state in the engine-neutral form (vmm/cpu_state.h). At an instruction boundary
 * the engine has no exception or interrupt in delivery; the TSC is read, not requested for a
 * restore (the caller sets CPU_STATE_F_TSC for that); XCR0 is 1 (no XSAVE in the model).
 * wait_sipi, sipi_pending and sipi_vector come back as last set: the VMM's vCPU loop keeps
 * the INIT/SIPI logic under BT.
 */
static int accel_bt_vcpu_get(struct accel_vcpu *v, struct cpu_state *st)
{
	struct bt_cpu *cpu = v->cpu;
	const u32 *idx;
	unsigned n;
	u64 val;

	*st = cpu->st;
	st->rflags = bt_get_rflags(cpu);
	if (bt_msr_read(cpu, ACCEL_BT_MSR_APIC_BASE, &val) == 0)
		st->apic_base = val;
	n = bt_msr_list(&idx);
	st->nr_msrs = 0;
	for (unsigned i = 0; i < n && st->nr_msrs < CPU_MAX_MSRS; i++) {
		if (bt_msr_read(cpu, idx[i], &val) < 0)
			continue;
		st->msrs[st->nr_msrs].index = idx[i];
		st->msrs[st->nr_msrs].value = val;
		st->nr_msrs++;
	}
	st->nmi_pending = __atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE) != 0;
	st->tsc = bt_rdtsc(cpu);
	st->flags = 0;
	memset(&st->exception, 0, sizeof(st->exception));
	memset(&st->interrupt, 0, sizeof(st->interrupt));
	return 0;
}

/* What the engine cannot take: an event in delivery (from KVM), XSAVE state the model lacks. */
static int accel_bt_vcpu_check(struct accel_vcpu *v, const struct cpu_state *st)
{
	if (st->exception.pending || st->exception.injected || st->interrupt.injected) {
		log_err("bt: vcpu%u: the state has an %s %#x in delivery, which the BT engine "
			"cannot resume",
			v->index, st->interrupt.injected ? "interrupt" : "exception",
			st->interrupt.injected ? st->interrupt.vector : st->exception.vector);
		return -EINVAL;
	}
	/* XCR0 0: an accelerator that does not keep it (taken as x87 only). */
	if (st->xcr0 && !bt_xcr0_valid(v->cpu, st->xcr0)) {
		log_err("bt: vcpu%u: XCR0 %#llx enables XSAVE state this CPU model does not have",
			v->index, (unsigned long long)st->xcr0);
		return -EINVAL;
	}
	return 0;
}

static int accel_bt_vcpu_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	struct bt_cpu *cpu = v->cpu;
	int ret = accel_bt_vcpu_check(v, st);
	u64 val;

	if (ret < 0)
		return ret;
	cpu->st = *st;
	if (bt_xcr0_write(cpu, st->xcr0) < 0)
		cpu->st.xcr0 = 1; /* 0: not kept by the saving accelerator */
	bt_set_rflags(cpu, st->rflags);
	bt_cpu_update_mode(cpu);
	bt_tlb_flush(cpu);
	bt_debug_update(cpu);
	if (bt_msr_read(cpu, ACCEL_BT_MSR_APIC_BASE, &val) == 0 && val != st->apic_base &&
	    bt_msr_write(cpu, ACCEL_BT_MSR_APIC_BASE, st->apic_base) < 0)
		ret = -EINVAL;
	for (unsigned i = 0; i < st->nr_msrs && i < CPU_MAX_MSRS; i++)
		if (bt_msr_write(cpu, st->msrs[i].index, st->msrs[i].value) < 0)
			ret = -EINVAL;
	__atomic_store_n(&cpu->nmi_pending, st->nmi_pending ? 1 : 0, __ATOMIC_RELEASE);
	if (st->flags & CPU_STATE_F_TSC) {
		cpu->tsc_offset = 0;
		cpu->tsc_offset = st->tsc - bt_rdtsc(cpu);
	}
	return ret;
}

/* vm.counters: the engine's figures for this CPU (read racily: they only ever grow). */
static void accel_bt_vcpu_counters(struct accel_vcpu *v, accel_counter_fn fn, void *opaque)
{
	const struct bt_cache *c = &v->cpu->cache;
	const struct bt_jit *j = v->cpu->jit;

	fn(opaque, "instructions", __atomic_load_n(&v->cpu->icount, __ATOMIC_RELAXED));
	fn(opaque, "blocks_translated", c->nr_translated);
	fn(opaque, "cache_flushes", c->nr_flushes);
	fn(opaque, "blocks_invalidated", c->nr_invalidated);
	fn(opaque, "jump_cache_misses", c->nr_jc_misses);
	fn(opaque, "jump_cache_revalidated", c->nr_jc_revalidated);
	fn(opaque, "blocks_aliased", c->nr_aliased);
	fn(opaque, "tlb_misses", v->cpu->tlb_stats.nr_misses);
	fn(opaque, "tlb_flushes", v->cpu->tlb_stats.nr_flushes);
	fn(opaque, "cr3_loads", v->cpu->tlb_stats.nr_cr3);
	fn(opaque, "invlpgs", v->cpu->tlb_stats.nr_invlpg);
	fn(opaque, "code_bytes", c->arena_used);
	if (j) /* the JIT tier (bt.engine jit) */
		bt_jit_counters(v->cpu, ACCEL_BT_HELPER_TOP, fn, opaque);
}

/* Device DMA into RAM: the engine drops translated code from those pages at its next block. */
static void accel_bt_mem_written(struct accel_vm *avm, u64 gpa, u64 len)
{
	bt_mem_dma_written(&avm->mem, gpa, len);
}

/*
 * After lockdown the engine makes no system calls of its own: the JIT's code buffer is a memfd
 * mapped twice (jit/codebuf.c: written through one view, run through the other) when each vCPU
 * is created, so its threads never map or flip executable memory. A VM built again after
 * lockdown creates new buffers on the main thread.
 */
static const struct accel_sandbox accel_bt_sandbox = {
	.vcpu_exec_mappings = false,
	.build_exec_mappings = true,
};

static unsigned accel_bt_phys_addr_bits(struct accel_vm *avm)
{
	(void)avm;
	return BT_MAXPHYADDR; /* every model's CPUID 8000_0008h (cpuid.c) */
}

const struct accel_ops accel_bt = {
	.name = "bt",
	.has_irqchip = false,
	.sandbox = &accel_bt_sandbox,
	.probe = accel_bt_probe,
	.vm_create = accel_bt_vm_create,
	.vm_destroy = accel_bt_vm_destroy,
	.map_ram = accel_bt_map_ram,
	.dirty_log = accel_bt_dirty_log,
	.dirty_sync = accel_bt_dirty_sync,
	.irq_line = NULL,
	.msi = NULL,
	.mem_written = accel_bt_mem_written,
	.vcpu_create = accel_bt_vcpu_create,
	.vcpu_destroy = accel_bt_vcpu_destroy,
	.vcpu_run = accel_bt_vcpu_run,
	.vcpu_kick = accel_bt_vcpu_kick,
	.vcpu_set_intr = accel_bt_vcpu_set_intr,
	.vcpu_nmi = accel_bt_vcpu_nmi,
	.vcpu_get = accel_bt_vcpu_get,
	.vcpu_set = accel_bt_vcpu_set,
	.vcpu_counters = accel_bt_vcpu_counters,
	.backdoor_hb = true,
	.tsc_khz = accel_bt_tsc_khz,
	.phys_addr_bits = accel_bt_phys_addr_bits,
};
