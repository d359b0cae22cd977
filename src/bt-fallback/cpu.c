// SPDX-License-Identifier: MIT
/*
 * CPU lifecycle: creation (with its block cache, attached to the VM's guest memory), the
 * power-on state (SDM vol. 3A 10.1.1, table 10-1), the flat 64-bit user mode of the tests,
 * the cross-thread controls (kick, INTR pin) and the crash report.
 */
#include "bt-fallback/bt.h"

#include "bt-fallback/jit/jit.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bt_cpu_create(const struct bt_cpu_config *cfg, struct bt_cpu **out, struct err *err)
{
	struct bt_cpu *cpu;
	int ret;

	if (cfg->mem->nr_cpus == BT_MAX_CPUS)
		return err_set(err, -ENOSPC, "bt: at most %u CPUs", BT_MAX_CPUS);
	cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return err_set(err, -ENOMEM, "bt: out of memory for vcpu%u", cfg->index);
	ret = bt_cache_init(&cpu->cache, cfg->cache_bytes);
	if (ret < 0) {
		err_set(err, ret, "bt: out of memory for vcpu%u's block cache", cfg->index);
		goto err_free;
	}
	cpu->mem = cfg->mem;
	cpu->inval = &bt_cache_inval_ops;
	cpu->index = cfg->index;
	if (cfg->model)
		cpu->model = *cfg->model;
	else if (!cpu_model_lookup(CPU_MODEL_DEFAULT, &cpu->model)) {
		ret = err_set(err, -EINVAL, "bt: no CPU model %s", CPU_MODEL_DEFAULT);
		goto err_cache;
	}
	cpu->nr_cpus = cfg->nr_cpus ? cfg->nr_cpus : 1;
	if (bt_mem_attach(cfg->mem, cpu) < 0) { /* checked above: cannot fail */
		ret = err_set(err, -ENOSPC, "bt: at most %u CPUs", BT_MAX_CPUS);
		goto err_cache;
	}
	if (cfg->jit) {
		ret = bt_jit_init(cpu, cfg->jit_threshold, cfg->jit_code_bytes);
		if (ret < 0)
			log_warn("bt: vcpu%u: no code buffer for the JIT (%s): this CPU interprets "
				 "only",
				 cfg->index, strerror(-ret));
	}
	bt_cpu_reset(cpu);
	*out = cpu;
	return 0;

err_cache:
	bt_cache_destroy(&cpu->cache);
err_free:
	free(cpu);
	return ret;
}

void bt_cpu_set_model(struct bt_cpu *cpu, const struct cpu_model *model)
{
	cpu->model = *model;
	bt_cache_flush(cpu);
}

void bt_cpu_destroy(struct bt_cpu *cpu)
{
	if (!cpu)
		return;
	bt_mem_detach(cpu->mem, cpu);
	bt_cache_destroy(&cpu->cache);
	bt_jit_destroy(cpu);
	free(cpu->hb_buf);
	free(cpu);
}

static void bt_cpu_init_seg(struct cpu_segment *s, u16 sel, u64 base, u32 limit, u8 type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->type = type;
	s->s = 1;
	s->present = 1;
}

void bt_cpu_set_real(struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		bt_cpu_init_seg(&cpu->st.seg[i], 0, 0, 0xffff, i == CPU_CS ? 0xb : 0x3);
	cpu->st.cr0 = 0x60000010;
	cpu->st.efer = 0;
	cpu->st.idtr.base = 0;
	cpu->st.idtr.limit = 0x3ff;
	cpu->flat = false;
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_cpu_reset(struct bt_cpu *cpu)
{
	memset(&cpu->st, 0, sizeof(cpu->st));
	bt_cpu_set_real(cpu);
	bt_cpu_load_seg_real(cpu, CPU_CS, 0xf000);
	cpu->st.seg[CPU_CS].base = 0xffff0000;
	cpu->st.rip = 0xfff0;
	cpu->st.rflags = 2;
	cpu->st.gpr[CPU_RDX] = cpu->model.signature; /* family/model/stepping, as CPUID.1:EAX */
	cpu->st.fx.fcw = 0x37f;
	cpu->st.fx.mxcsr = 0x1f80;
	cpu->st.xcr0 = 1; /* x87 only (SDM vol. 1 13.3) */
	/* TR and LDTR as after RESET (SDM vol. 3A table 10-1): base 0, limit FFFFH, present. */
	bt_cpu_init_seg(&cpu->st.tr, 0, 0, 0xffff, 0xb);
	bt_cpu_init_seg(&cpu->st.ldtr, 0, 0, 0xffff, 0x2);
	cpu->st.tr.s = cpu->st.ldtr.s = 0;
	cpu->st.gdtr.limit = 0xffff;
	cpu->lf_op = BT_LF_NONE;
	cpu->exc_exit = false;
	cpu->in_delivery = false;
	cpu->db_pending = 0;
	cpu->db_deferred = cpu->mov_ss = cpu->tf_at_end = cpu->rf_loaded = false;
	bt_debug_update(cpu);
	bt_msr_reset(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_cpu_set_flat64(struct bt_cpu *cpu)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		bt_cpu_init_seg(&cpu->st.seg[i], 0x2b, 0, 0xffffffff, 0x3);
		cpu->st.seg[i].dpl = 3;
	}
	bt_cpu_init_seg(&cpu->st.seg[CPU_CS], 0x33, 0, 0xffffffff, 0xb);
	cpu->st.seg[CPU_CS].l = 1;
	cpu->st.seg[CPU_CS].dpl = 3;
	cpu->st.halted = false;
	cpu->st.cr0 = 0x80050033;
	cpu->st.cr4 = 0x6a0;  /* PAE, OSFXSR, OSXMMEXCPT */
	cpu->st.efer = 0xd01; /* SCE, LME, LMA, NXE */
	cpu->exc_exit = true;
	cpu->st.tr.unusable = 1; /* no I/O permission bitmap: IN/OUT raise #GP(0) */
	cpu->flat = true;	 /* no page tables: linear = physical */
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

void bt_cpu_kick(struct bt_cpu *cpu)
{
	bt_cpu_poke(cpu, BT_KICK_STOP);
}

void bt_cpu_set_intr(struct bt_cpu *cpu, bool level)
{
	__atomic_store_n(&cpu->intr_line, level, __ATOMIC_RELEASE);
	if (level)
		bt_cpu_poke(cpu, BT_KICK_INTR);
}

void bt_cpu_describe(struct bt_cpu *cpu, char *buf, size_t n)
{
	static const char *const gpr[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",	 "r10", "r11", "r12", "r13", "r14", "r15" };
	static const char *const seg[] = { "es", "cs", "ss", "ds", "fs", "gs" };
	size_t at = 0;

#define BT_DESCRIBE(...)                                                       \
	do {                                                                   \
		if (at < n)                                                    \
			at += (size_t)snprintf(buf + at, n - at, __VA_ARGS__); \
	} while (0)
	if (!n)
		return;
	buf[0] = 0;
	BT_DESCRIBE("vcpu%u rip=%016llx rflags=%08llx cpl=%u mode=%u%s\n", cpu->index,
		    (unsigned long long)cpu->st.rip, (unsigned long long)bt_get_rflags(cpu),
		    bt_cpu_cpl(cpu), cpu->mode, cpu->st.halted ? " halted" : "");
	for (unsigned i = 0; i < CPU_NR_GPRS; i++)
		BT_DESCRIBE("%s=%016llx%s", gpr[i], (unsigned long long)cpu->st.gpr[i],
			    i % 4 == 3 ? "\n" : " ");
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		const struct cpu_segment *s = &cpu->st.seg[i];

		BT_DESCRIBE("%s=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u l=%u db=%u\n",
			    seg[i], s->selector, (unsigned long long)s->base, s->limit, s->type,
			    s->s, s->dpl, s->present, s->l, s->db);
	}
	BT_DESCRIBE("tr=%04x base=%016llx limit=%08x ldtr=%04x gdt=%016llx/%04x "
		    "idt=%016llx/%04x\n",
		    cpu->st.tr.selector, (unsigned long long)cpu->st.tr.base, cpu->st.tr.limit,
		    cpu->st.ldtr.selector, (unsigned long long)cpu->st.gdtr.base,
		    cpu->st.gdtr.limit, (unsigned long long)cpu->st.idtr.base, cpu->st.idtr.limit);
	BT_DESCRIBE("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n",
		    (unsigned long long)cpu->st.cr0, (unsigned long long)cpu->st.cr2,
		    (unsigned long long)cpu->st.cr3, (unsigned long long)cpu->st.cr4,
		    (unsigned long long)cpu->st.efer);
	BT_DESCRIBE("last exception %u error %x; last blocks (oldest first):", cpu->exc.vector,
		    cpu->exc.error);
	for (unsigned i = 0; i < BT_TRACE_LEN; i++) {
		u64 a = cpu->trace[(cpu->trace_pos + i) % BT_TRACE_LEN];

		if (a || i == BT_TRACE_LEN - 1)
			BT_DESCRIBE(" %llx", (unsigned long long)a);
	}
	BT_DESCRIBE("\n");
#undef BT_DESCRIBE
}
