// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's system registers, MSRs and CPUID model:
 * entering IA-32e mode by MOV CR4 / WRMSR EFER / MOV CR0 (LMA = LME && PG,
 * SDM vol. 3A 10.8.5), the #GP(0) and #UD cases of MOV CRn (vol. 2B "MOV--
 * Move to/from Control Registers", vol. 3A 2.5), MOV DRn with the DR4/DR5
 * aliases (vol. 3B 18.2.2), CLTS, INVD/WBINVD, RDTSC in virtual time with
 * CR4.TSD, RDPMC, the MSRs the CPU keeps (vol. 4 tables 2-2/2-3: reserved
 * bits, canonical addresses, PAT and MTRR memory types, vol. 3A 12.11-12.12)
 * and the machine's MSRs taking precedence, and the CPUID leaves Linux reads
 * (vol. 2A "CPUID", AMD APM vol. 3 appendix E). Expected values are from the
 * manuals: the host CPU cannot run these instructions in user mode.
 */
#include "bt-fallback/bt.h"
#include "bt_test_mode.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM_SIZE (4ull << 20)
#define CODE	 0x1000ull
#define PML4	 0x10000ull

struct sr_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu;
	u8 *ram;
	u64 clock;	 /* virtual time in ns */
	u64 apic_base;	 /* the machine's MSR 0x1b */
	unsigned nr_msr; /* calls into the machine's MSR hook */
	struct cpu_model model;
};

static u64 sr_clock(void *opaque)
{
	return ((struct sr_fixture *)opaque)->clock;
}

/* The machine: IA32_APIC_BASE is its own, 0x800 (x2APIC) refuses, the rest is the CPU's. */
static int sr_msr(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val)
{
	struct sr_fixture *f = opaque;

	(void)cpu;
	f->nr_msr++;
	if (index == 0x1b) {
		if (is_write)
			f->apic_base = *val;
		else
			*val = f->apic_base;
		return 0;
	}
	if (index == 0x800)
		return -EINVAL;
	return -ENOENT;
}

static int sr_setup(void **state)
{
	struct sr_fixture *f = calloc(1, sizeof(*f));
	struct bt_cpu_config cfg;

	if (!f)
		return -1;
	f->ram = aligned_alloc(4096, RAM_SIZE);
	if (!f->ram)
		return -1;
	memset(f->ram, 0xcc, RAM_SIZE);
	f->mem.io_opaque = f;
	f->mem.clock_ns = sr_clock;
	f->mem.msr = sr_msr;
	f->apic_base = 0xfee00900;
	if (bt_mem_map(&f->mem, 0, RAM_SIZE, f->ram, false))
		return -1;
	/* The K8 model (no PCID, XSAVE, SMEP...): the tests of other models switch to them. */
	if (!cpu_model_lookup("k8", &f->model))
		return -1;
	cfg = bt_test_config(
		(struct bt_cpu_config){ .mem = &f->mem, .index = 3, .model = &f->model });
	if (bt_cpu_create(&cfg, &f->cpu, NULL))
		return -1;
	*state = f;
	return 0;
}

static int sr_teardown(void **state)
{
	struct sr_fixture *f = *state;

	bt_cpu_destroy(f->cpu);
	bt_mem_destroy(&f->mem);
	free(f->ram);
	free(f);
	return 0;
}

static void sr_seg(struct cpu_segment *s, u16 sel, u8 type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->dpl = sel & 3;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

static void sr_cpl(struct sr_fixture *f, bool user, bool code64)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		sr_seg(&f->cpu->st.seg[i], user ? 0x23 : 0x10, 3, false);
	sr_seg(&f->cpu->st.seg[CPU_CS], user ? 0x1b : 0x08, 0xb, code64);
	bt_cpu_update_mode(f->cpu);
}

/* 32-bit protected mode, paging off, CPL 0. */
static void sr_prot32(struct sr_fixture *f)
{
	struct bt_cpu *cpu = f->cpu;

	bt_cpu_reset(cpu);
	cpu->st.rflags = 2;
	cpu->exc_exit = true; /* exceptions end bt_run: no IDT here */
	cpu->st.cr0 = BT_CR0_PE | BT_CR0_ET;
	bt_tlb_flush(cpu);
	sr_cpl(f, false, false);
	cpu->st.gpr[CPU_RSP] = 0x8000;
}

/* 64-bit mode, CPL 0, the first 2 MiB identity-mapped by one user-accessible large page. */
static void sr_long64(struct sr_fixture *f)
{
	struct bt_cpu *cpu = f->cpu;
	u64 e;

	memset(f->ram + PML4, 0, 3 * 4096);
	e = (PML4 + 0x1000) | 7;
	memcpy(f->ram + PML4, &e, 8);
	e = (PML4 + 0x2000) | 7;
	memcpy(f->ram + PML4 + 0x1000, &e, 8);
	e = 0x87; /* P, RW, US, PS at 0 */
	memcpy(f->ram + PML4 + 0x2000, &e, 8);
	bt_cpu_reset(cpu);
	cpu->st.rflags = 2;
	cpu->exc_exit = true; /* exceptions end bt_run: no IDT here */
	cpu->st.cr0 = BT_CR0_PE | BT_CR0_ET | BT_CR0_PG | BT_CR0_WP;
	cpu->st.cr3 = PML4;
	cpu->st.cr4 = BT_CR4_PAE;
	cpu->st.efer = BT_EFER_LME | BT_EFER_LMA | BT_EFER_NXE | BT_EFER_SCE;
	bt_tlb_flush(cpu);
	sr_cpl(f, false, true);
	cpu->st.gpr[CPU_RSP] = 0x8000;
}

static enum bt_exit sr_run(struct sr_fixture *f, const void *code, size_t len)
{
	if (code)
		assert_int_equal(bt_mem_write(&f->mem, CODE, code, len), 0);
	f->cpu->st.rip = CODE;
	return bt_run(f->cpu, 1000);
}

/* Run and expect the exception vector (with error code 0 for #GP) at CODE + at. */
static void sr_expect_at(struct sr_fixture *f, const void *code, size_t len, u8 vector, unsigned at)
{
	assert_int_equal(sr_run(f, code, len), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, vector);
	if (vector == BT_EXC_GP) {
		assert_true(f->cpu->exc.has_error);
		assert_int_equal(f->cpu->exc.error, 0);
	}
	if (vector != BT_EXC_BP)
		assert_int_equal(f->cpu->st.rip, CODE + at);
}

/* The same for a fault by the first instruction, or any breakpoint. */
static void sr_expect(struct sr_fixture *f, const void *code, size_t len, u8 vector)
{
	sr_expect_at(f, code, len, vector, 0);
}

/* Enter IA-32e (compatibility) mode the way a kernel does, then leave it. */
static void test_enter_long_mode(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 enter[] = {
		0x0f, 0x20, 0xe0,	      /* mov eax,cr4 */
		0x0d, 0x20, 0x00, 0x00, 0x00, /* or eax,0x20 (PAE) */
		0x0f, 0x22, 0xe0,	      /* mov cr4,eax */
		0xb8, 0x00, 0x00, 0x01, 0x00, /* mov eax,PML4 */
		0x0f, 0x22, 0xd8,	      /* mov cr3,eax */
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* mov ecx,0xc0000080 */
		0x0f, 0x32,		      /* rdmsr */
		0x0d, 0x00, 0x01, 0x00, 0x00, /* or eax,0x100 (LME) */
		0x0f, 0x30,		      /* wrmsr */
		0x0f, 0x20, 0xc0,	      /* mov eax,cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax,0x80000000 (PG) */
		0x0f, 0x22, 0xc0,	      /* mov cr0,eax */
		0xcc,
	};
	static const u8 clear_lme[] = {
		0xb9, 0x80, 0x00, 0x00, 0xc0, /* mov ecx,0xc0000080 */
		0x31, 0xc0, 0x31, 0xd2,	      /* xor eax,eax; xor edx,edx */
		0x0f, 0x30, 0xcc,	      /* wrmsr; int3 */
	};
	/* mov eax,cr0; btr eax,31; mov cr0,eax; int3 */
	static const u8 clear_pg[] = { 0x0f, 0x20, 0xc0, 0x0f, 0xba, 0xf0,
				       0x1f, 0x0f, 0x22, 0xc0, 0xcc };
	u64 e;

	sr_long64(f); /* builds the tables */
	sr_prot32(f);
	/* CR0.PG with EFER.LME but without CR4.PAE would be #GP: done in the right order here. */
	sr_expect(f, enter, sizeof(enter), BT_EXC_BP);
	assert_int_equal(cpu->st.efer, BT_EFER_LME | BT_EFER_LMA);
	assert_true(cpu->st.cr0 & BT_CR0_PG);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_PROT32); /* compatibility mode: CS.L = 0 */
	/* The identity map is in use: a fetch set the accessed flag of the 2 MiB page. */
	memcpy(&e, f->ram + PML4 + 0x2000, 8);
	assert_true(e & (1u << 5));

	/* EFER.LME cannot change while paging is on. */
	sr_expect_at(f, clear_lme, sizeof(clear_lme), BT_EXC_GP, 9);
	assert_true(cpu->st.efer & BT_EFER_LMA);

	/* 64-bit mode cannot clear CR0.PG... */
	sr_cpl(f, false, true);
	sr_expect_at(f, clear_pg, sizeof(clear_pg), BT_EXC_GP, 7);
	assert_true(cpu->st.cr0 & BT_CR0_PG);
	/* ...compatibility mode can, which leaves IA-32e mode. */
	sr_cpl(f, false, false);
	sr_expect(f, clear_pg, sizeof(clear_pg), BT_EXC_BP);
	assert_false(cpu->st.cr0 & BT_CR0_PG);
	assert_int_equal(cpu->st.efer, BT_EFER_LME);

	/* Paging with LME but without PAE: #GP. */
	cpu->st.cr4 = 0;
	sr_expect_at(f, enter + 19, sizeof(enter) - 19, BT_EXC_GP, sizeof(enter) - 19 - 4);
	assert_false(cpu->st.cr0 & BT_CR0_PG);
}

struct sr_cr_case {
	const char *what;
	u8 code[4];
	u64 rax;
	u8 vector;
};

/* MOV to CRn in 64-bit mode: reserved bits and invalid combinations (#GP), bad CRs (#UD). */
static void test_mov_cr_faults(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	const u64 cr0 = BT_CR0_PE | BT_CR0_ET | BT_CR0_PG | BT_CR0_WP;
	const struct sr_cr_case cases[] = {
		{ "cr0 bit 32", { 0x0f, 0x22, 0xc0 }, cr0 | (1ull << 32), BT_EXC_GP },
		{ "cr0 PG without PE", { 0x0f, 0x22, 0xc0 }, cr0 & ~BT_CR0_PE, BT_EXC_GP },
		{ "cr0 NW without CD", { 0x0f, 0x22, 0xc0 }, cr0 | BT_CR0_NW, BT_EXC_GP },
		{ "cr0 clear PG in 64-bit mode",
		  { 0x0f, 0x22, 0xc0 },
		  cr0 & ~BT_CR0_PG,
		  BT_EXC_GP },
		{ "cr4 VME", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | BT_CR4_VME, BT_EXC_GP },
		{ "cr4 PKE", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | (1u << 22), BT_EXC_GP },
		{ "cr4 LA57", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | (1u << 12), BT_EXC_GP },
		{ "cr4 PCIDE", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | (1u << 17), BT_EXC_GP },
		{ "cr4 OSXSAVE", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | (1u << 18), BT_EXC_GP },
		{ "cr4 SMEP", { 0x0f, 0x22, 0xe0 }, BT_CR4_PAE | (1u << 20), BT_EXC_GP },
		{ "cr4 clear PAE in IA-32e mode", { 0x0f, 0x22, 0xe0 }, BT_CR4_PGE, BT_EXC_GP },
		{ "cr3 bit 40", { 0x0f, 0x22, 0xd8 }, PML4 | (1ull << 40), BT_EXC_GP },
		{ "cr3 bit 63", { 0x0f, 0x22, 0xd8 }, PML4 | (1ull << 63), BT_EXC_GP },
		{ "cr8 16", { 0x44, 0x0f, 0x22, 0xc0 }, 16, BT_EXC_GP },
		{ "cr1", { 0x0f, 0x22, 0xc8 }, 0, BT_EXC_UD },
		{ "cr5", { 0x0f, 0x20, 0xe8 }, 0, BT_EXC_UD },
		{ "cr9", { 0x44, 0x0f, 0x22, 0xc8 }, 0, BT_EXC_UD },
		{ "lock mov cr0", { 0xf0, 0x0f, 0x22, 0xc0 }, cr0, BT_EXC_UD },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u8 code[5] = { 0 };

		sr_long64(f);
		memcpy(code, cases[i].code, 4);
		code[cases[i].code[0] == 0x0f ? 3 : 4] = 0xcc;
		cpu->st.gpr[CPU_RAX] = cases[i].rax;
		print_message("%s\n", cases[i].what);
		sr_expect(f, code, sizeof(code), cases[i].vector);
		assert_int_equal(cpu->st.cr0, cr0);
		assert_int_equal(cpu->st.cr3, PML4);
		assert_int_equal(cpu->st.cr4, BT_CR4_PAE);
		assert_int_equal(cpu->st.cr8, 0);
	}
}

/* MOV CRn that succeed: CR0 reserved low bits ignored, ET reads 1, CR2, CR8 round trip. */
static void test_mov_cr_values(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 code[] = {
		0x0f, 0x22, 0xc0,	/* mov cr0,rax */
		0x0f, 0x20, 0xc3,	/* mov rbx,cr0 */
		0x0f, 0x22, 0xd1,	/* mov cr2,rcx */
		0x0f, 0x20, 0xd6,	/* mov rsi,cr2 */
		0x44, 0x0f, 0x22, 0xc2, /* mov cr8,rdx */
		0x44, 0x0f, 0x20, 0xc7, /* mov rdi,cr8 */
		0x0f, 0x06,		/* clts */
		0x0f, 0x20, 0xc5,	/* mov rbp,cr0 */
		0x0f, 0x09, 0x0f, 0x08, /* wbinvd; invd */
		0xcc,
	};
	static const u8 user[] = { 0x0f, 0x20, 0xc0, 0xcc }; /* mov rax,cr0 */
	static const u8 user_wbinvd[] = { 0x0f, 0x09, 0xcc };
	static const u8 user_clts[] = { 0x0f, 0x06, 0xcc };
	const u64 cr0 = BT_CR0_PE | BT_CR0_PG | BT_CR0_WP | BT_CR0_TS | BT_CR0_NE;

	sr_long64(f);
	cpu->st.gpr[CPU_RAX] = cr0 | (1u << 6) | (1u << 20); /* reserved bits 6 and 20 */
	cpu->st.gpr[CPU_RCX] = 0xffff800012345678ull;
	cpu->st.gpr[CPU_RDX] = 9;
	sr_expect(f, code, sizeof(code), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RBX], cr0 | BT_CR0_ET);
	assert_int_equal(cpu->st.gpr[CPU_RSI], 0xffff800012345678ull);
	assert_int_equal(cpu->st.gpr[CPU_RDI], 9);
	assert_int_equal(cpu->st.cr8, 9);
	assert_int_equal(cpu->st.gpr[CPU_RBP], (cr0 | BT_CR0_ET) & ~BT_CR0_TS);

	/* CPL 3: all privileged. */
	sr_cpl(f, true, true);
	sr_expect(f, user, sizeof(user), BT_EXC_GP);
	sr_expect(f, user_wbinvd, sizeof(user_wbinvd), BT_EXC_GP);
	cpu->st.cr0 |= BT_CR0_TS;
	sr_expect(f, user_clts, sizeof(user_clts), BT_EXC_GP);
	assert_true(cpu->st.cr0 & BT_CR0_TS);

	/* 32-bit mode: MOV CR uses 32-bit registers; mod bits are ignored (0F 20 00 is a reg form). */
	sr_prot32(f);
	cpu->st.cr4 = BT_CR4_PSE;
	cpu->st.gpr[CPU_RAX] = 0xdead00000000ull;
	assert_int_equal(sr_run(f, (const u8[]){ 0x0f, 0x20, 0x20, 0xcc }, 4), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], BT_CR4_PSE);
	assert_int_equal(cpu->st.rip, CODE + 4);

	/* OVMF's reset vector, in 32-bit protected mode: mov eax,0x640; mov cr4,eax (MCE, OSFXSR,
	 * OSXMMEXCPT: MCE is advertised, so the write is no #GP). */
	assert_int_equal(
		sr_run(f, (const u8[]){ 0xb8, 0x40, 0x06, 0x00, 0x00, 0x0f, 0x22, 0xe0, 0xcc }, 9),
		BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_int_equal(cpu->st.cr4, BT_CR4_MCE | BT_CR4_OSFXSR | BT_CR4_OSXMMEXCPT);
}

/* MOV DRn: values kept, DR6/DR7 fixed bits, DR4/DR5 alias DR6/DR7 unless CR4.DE. */
static void test_mov_dr(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 code[] = {
		0x0f, 0x23, 0xc0, /* mov dr0,rax */
		0x0f, 0x21, 0xc3, /* mov rbx,dr0 */
		0x0f, 0x23, 0xe1, /* mov dr4,rcx (DR6) */
		0x0f, 0x21, 0xf6, /* mov rsi,dr6 */
		0x0f, 0x23, 0xfa, /* mov dr7,rdx */
		0x0f, 0x21, 0xef, /* mov rdi,dr5 (DR7) */
		0xcc,
	};
	static const u8 dr4[] = { 0x0f, 0x21, 0xe0, 0xcc };	  /* mov rax,dr4 */
	static const u8 dr7_hi[] = { 0x0f, 0x23, 0xf8, 0xcc };	  /* mov dr7,rax */
	static const u8 dr8[] = { 0x44, 0x0f, 0x21, 0xc0, 0xcc }; /* mov rax,dr8 */

	sr_long64(f);
	cpu->st.gpr[CPU_RAX] = 0xffff800000001000ull;
	cpu->st.gpr[CPU_RCX] = 0x4001;
	cpu->st.gpr[CPU_RDX] = 0x3;
	sr_expect(f, code, sizeof(code), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RBX], 0xffff800000001000ull);
	assert_int_equal(cpu->st.gpr[CPU_RSI], 0xffff4ff1); /* BS and B0, reserved bits as 1 */
	assert_int_equal(cpu->st.gpr[CPU_RDI], 0x403);	    /* L0, G0 and bit 10 */
	cpu->st.gpr[CPU_RAX] = 1ull << 32;
	sr_expect(f, dr7_hi, sizeof(dr7_hi), BT_EXC_GP);
	sr_expect(f, dr8, sizeof(dr8), BT_EXC_UD);
	cpu->st.cr4 |= BT_CR4_DE;
	sr_expect(f, dr4, sizeof(dr4), BT_EXC_UD);
	sr_cpl(f, true, true);
	cpu->st.cr4 &= ~BT_CR4_DE;
	sr_expect(f, dr4, sizeof(dr4), BT_EXC_GP);
}

/* IA32_EFER writes: reserved bits, LME while paging, LMA read-only, NXE. */
static void test_efer(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	const u64 efer = BT_EFER_LME | BT_EFER_LMA | BT_EFER_NXE | BT_EFER_SCE;
	u64 v;

	sr_long64(f);
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, efer | (1u << 1)), -EPERM);
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, efer | (1u << 12)), -EPERM); /* SVME */
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, efer | (1u << 14)), -EPERM); /* FFXSR */
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, BT_EFER_NXE | BT_EFER_LMA), -EPERM);
	assert_int_equal(cpu->st.efer, efer);
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, BT_EFER_LME | BT_EFER_SCE), 0);
	assert_int_equal(bt_msr_read(cpu, 0xc0000080, &v), 0);
	assert_int_equal(v, BT_EFER_LME | BT_EFER_LMA | BT_EFER_SCE); /* LMA kept */

	/* Paging off: LME may change, and LMA stays clear. */
	sr_prot32(f);
	assert_int_equal(bt_msr_write(cpu, 0xc0000080, BT_EFER_LME | BT_EFER_LMA), 0);
	assert_int_equal(cpu->st.efer, BT_EFER_LME);
}

/* The CPU's own MSRs: values, reserved bits, canonical checks, memory types. */
static void test_msrs(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	static const struct {
		u32 index;
		u64 good, bad; /* bad == 0: no invalid value to try */
	} rw[] = {
		{ 0xc0000081, 0x0023001000000000ull, 0 },		      /* STAR */
		{ 0xc0000082, 0xffffffff81000000ull, 0x0000800000000000ull }, /* LSTAR */
		{ 0xc0000083, 0xffffffff81000100ull, 0x8000000000000000ull }, /* CSTAR */
		{ 0xc0000084, 0x47700, 1ull << 32 },			      /* SFMASK */
		{ 0xc0000100, 0x7f0000001000ull, 0x0001000000000000ull },     /* FS_BASE */
		{ 0xc0000101, 0xffff888000000000ull, 0xfff0888000000000ull }, /* GS_BASE */
		{ 0xc0000102, 0x7fffffffe000ull, 0x0000800000000000ull },     /* KERNEL_GS_BASE */
		{ 0x174, 0x10, 1ull << 32 },				      /* SYSENTER_CS */
		{ 0x175, 0xffff880000001000ull, 0x0000900000000000ull },      /* SYSENTER_ESP */
		{ 0x176, 0xffffffff81001000ull, 0x1000000000000000ull },      /* SYSENTER_EIP */
		{ 0x277, 0x0007010600070106ull, 0x0007040600070206ull }, /* PAT: 2 is reserved */
		{ 0x2ff, 0xc06, 0x1c06 },				 /* MTRRdefType */
		{ 0x200, 0xc0000006, 0xc0000002 },			 /* PHYSBASE0: type 2 */
		{ 0x201, 0xffc0000800ull, 0xffc0000801ull },		 /* PHYSMASK0: bit 0 */
		{ 0x20e, 0x1000006, 0x10000000006ull },			 /* PHYSBASE7: bit 40 */
		{ 0x250, 0x0606060606060606ull, 0x0606060606060603ull }, /* FIX64K: type 3 */
		{ 0x26f, 0x0505050505050505ull, 0x0808080808080808ull }, /* FIX4K_F8000 */
		{ 0xc0010015, 0x40, 0 },				 /* HWCR */
		{ 0xc0010010, 0x140000, 0x800000 }, /* SYSCFG: MtrrFixDramEn, MtrrVarDramEn; SMEE */
	};

	u64 v;

	sr_long64(f);
	for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++) {
		print_message("msr %#x\n", rw[i].index);
		assert_int_equal(bt_msr_write(cpu, rw[i].index, rw[i].good), 0);
		assert_int_equal(bt_msr_read(cpu, rw[i].index, &v), 0);
		assert_int_equal(v, rw[i].good);
		if (rw[i].bad) {
			assert_int_equal(bt_msr_write(cpu, rw[i].index, rw[i].bad), -EPERM);
			assert_int_equal(bt_msr_read(cpu, rw[i].index, &v), 0);
			assert_int_equal(v, rw[i].good);
		}
	}
	assert_int_equal(cpu->st.seg[CPU_FS].base, 0x7f0000001000ull);
	assert_int_equal(cpu->st.seg[CPU_GS].base, 0xffff888000000000ull);
	assert_int_equal(cpu->msr.lstar, 0xffffffff81000000ull);

	/* MTRRcap: 8 variable ranges, fixed ranges, WC; read-only. Variable range 8 is absent. */
	assert_int_equal(bt_msr_read(cpu, 0xfe, &v), 0);
	assert_int_equal(v, 0x508);
	assert_int_equal(bt_msr_write(cpu, 0xfe, 0x508), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0x210, &v), -EPERM);
	/* Not the K8's: TSC_AUX (no RDTSCP), TSC_DEADLINE, x2APIC, Intel's MISC_ENABLE. */
	assert_int_equal(bt_msr_read(cpu, 0xc0000103, &v), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0x6e0, &v), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0x802, &v), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0x1a0, &v), -EPERM);
	assert_int_equal(bt_msr_write(cpu, 0x12345, 0), -EPERM);

	/* Power-on PAT (SDM vol. 3A table 12-12) after a reset. */
	bt_cpu_reset(cpu);
	assert_int_equal(bt_msr_read(cpu, 0x277, &v), 0);
	assert_int_equal(v, 0x0007040600070406ull);
	assert_int_equal(bt_msr_read(cpu, 0xc0000082, &v), 0);
	assert_int_equal(v, 0);
}

/*
 * The MSR audit per vendor: what each modern model has (and the other vendor's do not), the
 * machine-check rules, the K7 counters holding what is written, TSC_ADJUST moving with the TSC.
 */
static void test_msr_audit(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u32 common[] = { 0x10,  0x3b,  0x8b,	0xfe,	    0x174, 0x179,
				      0x17a, 0x17b, 0x1d9,	0x1db,	    0x277, 0x2ff,
				      0x400, 0x417, 0xc0000080, 0xc0000103, 0x6e0, 0x802 };
	static const u32 amd[] = { 0xc0010000, 0xc0010003, 0xc0010004, 0xc0010007, 0xc0010010,
				   0xc0010015, 0xc0010016, 0xc001001a, 0xc001001d, 0xc001001f,
				   0xc0010044, 0xc0010111, 0xc0011029 };
	static const u32 intel[] = { 0x17, 0x3a, 0x10a, 0x1a0 };
	struct cpu_model m;
	u64 v, t0;

	for (unsigned pass = 0; pass < 2; pass++) {
		assert_true(cpu_model_lookup(pass ? "icelake" : "epyc", &m));
		bt_cpu_set_model(cpu, &m);
		bt_cpu_reset(cpu);
		f->apic_base = 0xfee00900;
		for (unsigned i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
			print_message("%s msr %#x\n", m.name, common[i]);
			if (common[i] == 0x6e0 || common[i] == 0x802)
				f->nr_msr = 0; /* machine MSRs the model has: asked */
			assert_true(bt_msr_read(cpu, common[i], &v) == 0 || common[i] == 0x6e0 ||
				    common[i] == 0x802);
		}
		for (unsigned i = 0; i < sizeof(amd) / sizeof(amd[0]); i++)
			assert_int_equal(bt_msr_read(cpu, amd[i], &v), pass ? -EPERM : 0);
		for (unsigned i = 0; i < sizeof(intel) / sizeof(intel[0]); i++)
			assert_int_equal(bt_msr_read(cpu, intel[i], &v), pass ? 0 : -EPERM);
		assert_int_equal(bt_msr_read(cpu, 0x418, &v), -EPERM); /* bank 6 */
		assert_int_equal(bt_msr_read(cpu, 0xda0, &v), -EPERM); /* IA32_XSS: no XSAVES */
		assert_int_equal(bt_msr_read(cpu, 0xc1, &v), -EPERM);  /* IA32_PMC0: no arch PMU */
		/* MCG_CAP: six banks, MCG_CTL present; read-only. */
		assert_int_equal(bt_msr_read(cpu, 0x179, &v), 0);
		assert_int_equal(v, 0x106);
		assert_int_equal(bt_msr_write(cpu, 0x179, 0), -EPERM);
		/* MCG_CTL and MCi_CTL: 0 or all ones; MCi_STATUS: 0 only. */
		assert_int_equal(bt_msr_write(cpu, 0x17b, ~0ull), 0);
		assert_int_equal(bt_msr_write(cpu, 0x17b, 5), -EPERM);
		assert_int_equal(bt_msr_read(cpu, 0x40c, &v), 0); /* MC3_CTL after reset */
		assert_int_equal(v, ~0ull);
		assert_int_equal(bt_msr_write(cpu, 0x40c, 0), 0);
		assert_int_equal(bt_msr_write(cpu, 0x40c, 0x3), -EPERM);
		assert_int_equal(bt_msr_write(cpu, 0x40d, 0), 0);
		assert_int_equal(bt_msr_write(cpu, 0x40d, 1ull << 63), -EPERM);
		assert_int_equal(bt_msr_write(cpu, 0x40e, 0x1234), 0); /* MC3_ADDR */
		assert_int_equal(bt_msr_read(cpu, 0x40e, &v), 0);
		assert_int_equal(v, 0x1234);
		assert_int_equal(bt_msr_write(cpu, 0x17a, 7), 0);
		assert_int_equal(bt_msr_write(cpu, 0x17a, 8), -EPERM);
		/* TSC_ADJUST: writing it moves the TSC, writing the TSC moves it. */
		f->clock = 1000;
		t0 = bt_rdtsc(cpu);
		assert_int_equal(bt_msr_write(cpu, 0x3b, 500), 0);
		assert_int_equal(bt_rdtsc(cpu), t0 + 500);
		assert_int_equal(bt_msr_write(cpu, 0x10, t0 + 1500), 0);
		assert_int_equal(bt_msr_read(cpu, 0x3b, &v), 0);
		assert_int_equal(v, 1500);
		/* DEBUGCTL: LBR and BTF only. */
		assert_int_equal(bt_msr_write(cpu, 0x1d9, 3), 0);
		assert_int_equal(bt_msr_write(cpu, 0x1d9, 4), -EPERM);
	}
	/* AMD: the K7 counters hold what is written (48 bits), event selects check reserved bits;
	 * HWCR keeps TscFreqSel and McStatusWrEn lets MCi_STATUS take a nonzero value. */
	assert_true(cpu_model_lookup("epyc", &m));
	bt_cpu_set_model(cpu, &m);
	bt_cpu_reset(cpu);
	assert_int_equal(bt_msr_write(cpu, 0xc0010005, ~0ull), 0);
	assert_int_equal(bt_msr_read(cpu, 0xc0010005, &v), 0);
	assert_int_equal(v, (1ull << 48) - 1);
	assert_int_equal(bt_msr_write(cpu, 0xc0010001, 0x430076),
			 0); /* EN, INT, OS, USR, event 76 */
	assert_int_equal(bt_msr_read(cpu, 0xc0010001, &v), 0);
	assert_int_equal(v, 0x430076);
	assert_int_equal(bt_msr_write(cpu, 0xc0010001, 1ull << 21), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0xc0010015, &v), 0);
	assert_true(v & (1ull << 24));
	assert_int_equal(bt_msr_write(cpu, 0xc0010015, 1ull << 18), 0);
	assert_int_equal(bt_msr_read(cpu, 0xc0010015, &v), 0);
	assert_int_equal(v, (1ull << 18) | (1ull << 24));
	assert_int_equal(bt_msr_write(cpu, 0x401, 0xb000000000000001ull), 0);
	/* Intel: MISC_ENABLE's read-only bits, a locked FEATURE_CONTROL, the capabilities. */
	assert_true(cpu_model_lookup("icelake", &m));
	bt_cpu_set_model(cpu, &m);
	bt_cpu_reset(cpu);
	assert_int_equal(bt_msr_read(cpu, 0x1a0, &v), 0);
	assert_int_equal(v, 0x1801);
	assert_int_equal(bt_msr_write(cpu, 0x1a0, 0x1800), 0); /* fast strings off */
	assert_int_equal(bt_msr_write(cpu, 0x1a0, 0x1801 & ~0x800ull), -EPERM);
	assert_int_equal(bt_msr_write(cpu, 0x3a, 5), -EPERM);
	assert_int_equal(bt_msr_read(cpu, 0x10a, &v), 0);
	assert_true(v & 1); /* RDCL_NO: Linux needs no page-table isolation */
	assert_int_equal(bt_msr_write(cpu, 0x10a, 0), -EPERM);
	assert_int_equal(bt_msr_write(cpu, 0x8b, 0), 0); /* BIOS_SIGN_ID: cleared, then read */
	assert_int_equal(bt_msr_read(cpu, 0x8b, &v), 0);
	assert_true(v >> 32);
	assert_int_equal(bt_msr_write(cpu, 0x401, 1), -EPERM); /* no McStatusWrEn on Intel */
}

/* The machine answers its MSRs first; its refusal is #GP; the rest falls to the CPU. */
static void test_machine_msrs(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* rdmsr; wrmsr (ECX unchanged); int3 */
	static const u8 rdwr[] = { 0x0f, 0x32, 0x0f, 0x30, 0xcc };
	u64 v;

	sr_long64(f);
	assert_int_equal(bt_msr_read(cpu, 0x1b, &v), 0);
	assert_int_equal(v, 0xfee00900);
	assert_int_equal(bt_msr_write(cpu, 0x1b, 0xfee00d00), 0);
	assert_int_equal(f->apic_base, 0xfee00d00);
	assert_int_equal(bt_msr_read(cpu, 0x800, &v), -EPERM);

	/* RDMSR/WRMSR: ECX selects, EDX:EAX carry the value; RAX/RDX upper halves cleared. */
	cpu->st.gpr[CPU_RCX] = 0xc0000081;
	cpu->msr.star = 0x1122334455667788ull;
	cpu->st.gpr[CPU_RAX] = ~0ull;
	cpu->st.gpr[CPU_RDX] = ~0ull;
	sr_expect(f, rdwr, sizeof(rdwr), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x55667788);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 0x11223344);
	assert_int_equal(cpu->msr.star, 0x1122334455667788ull);
	/* A refused MSR is #GP(0) with the registers unchanged. */
	cpu->st.gpr[CPU_RCX] = 0x800;
	cpu->st.gpr[CPU_RAX] = 5;
	sr_expect(f, rdwr, sizeof(rdwr), BT_EXC_GP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 5);
	/* CPL 3: #GP before the machine is asked. */
	f->nr_msr = 0;
	sr_cpl(f, true, true);
	cpu->st.gpr[CPU_RCX] = 0x1b;
	sr_expect(f, rdwr, sizeof(rdwr), BT_EXC_GP);
	assert_int_equal(f->nr_msr, 0);
}

/* Every MSR a state save carries reads back what was written through the list. */
static void test_msr_list(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	const u32 *idx;
	unsigned n = bt_msr_list(&idx);
	u64 v;

	unsigned have = 0;

	sr_long64(f);
	assert_true(n > 30);
	/* Those the model has (a state save skips the others) write back what they read. */
	for (unsigned i = 0; i < n; i++) {
		assert_int_not_equal(idx[i], 0x10); /* the TSC follows virtual time */
		if (bt_msr_read(cpu, idx[i], &v) < 0)
			continue;
		have++;
		assert_int_equal(bt_msr_write(cpu, idx[i], v), 0);
	}
	assert_true(have > 30);
	/* The K8 lacks MISC_ENABLE (Intel's), TSC_AUX, TSC_ADJUST, DE_CFG and MCi_CTL_MASK x 6. */
	assert_int_equal(have, n - 10);
	assert_true(n <= CPU_MAX_MSRS);
}

/* RDTSC in virtual time at 2 GHz; IA32_TSC writes move it; CR4.TSD; RDPMC. */
static void test_tsc(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 rdtsc[] = { 0x0f, 0x31, 0xcc };
	static const u8 rdpmc[] = { 0x0f, 0x33, 0xcc };
	u64 v;

	sr_long64(f);
	f->clock = 1000;
	cpu->st.gpr[CPU_RAX] = ~0ull;
	sr_expect(f, rdtsc, sizeof(rdtsc), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2000);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 0);
	assert_int_equal(bt_msr_write(cpu, 0x10, 0x100000000ull), 0);
	assert_int_equal(bt_msr_read(cpu, 0x10, &v), 0);
	assert_int_equal(v, 0x100000000ull);
	f->clock += 500;
	sr_expect(f, rdtsc, sizeof(rdtsc), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1000);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 1);
	/* CR4.TSD: CPL 0 may, CPL 3 may not. */
	cpu->st.cr4 |= BT_CR4_TSD;
	sr_expect(f, rdtsc, sizeof(rdtsc), BT_EXC_BP);
	sr_cpl(f, true, true);
	sr_expect(f, rdtsc, sizeof(rdtsc), BT_EXC_GP);
	cpu->st.cr4 &= ~BT_CR4_TSD;
	sr_expect(f, rdtsc, sizeof(rdtsc), BT_EXC_BP);
	/*
	 * RDPMC reads the K7 counters (AMD): what WRMSR put there (they count nothing), 48 bits;
	 * CPL 3 only with CR4.PCE; counter 4 does not exist. Intel models have none.
	 */
	sr_cpl(f, false, true);
	assert_int_equal(bt_msr_write(cpu, 0xc0010006, 0xffff123456789abcull), 0);
	cpu->st.gpr[CPU_RCX] = 2;
	sr_expect(f, rdpmc, sizeof(rdpmc), BT_EXC_BP);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x56789abc);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 0x1234);
	sr_cpl(f, true, true);
	sr_expect(f, rdpmc, sizeof(rdpmc), BT_EXC_GP);
	cpu->st.cr4 |= BT_CR4_PCE;
	sr_expect(f, rdpmc, sizeof(rdpmc), BT_EXC_BP);
	cpu->st.gpr[CPU_RCX] = 4;
	sr_expect(f, rdpmc, sizeof(rdpmc), BT_EXC_GP);
	{
		struct cpu_model m;

		assert_true(cpu_model_lookup("icelake", &m));
		bt_cpu_set_model(cpu, &m);
		cpu->st.gpr[CPU_RCX] = 0;
		sr_expect(f, rdpmc, sizeof(rdpmc), BT_EXC_GP);
	}
}

/* Leaf 1 EDX features every model has: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca
 * cmov pat pse36 clflush mmx fxsr sse sse2; and none has vme or htt (no SMT). */
#define SR_NEED1                                                                                   \
	(1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8 | 1u << 9 | \
	 1u << 11 | 1u << 12 | 1u << 13 | 1u << 14 | 1u << 15 | 1u << 16 | 1u << 17 | 1u << 19 |   \
	 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26)
#define SR_NOT1 (1u << 1 | 1u << 28)

/* The bits of a feature word the named models have, as far as the engine implements them. */
static u32 sr_implemented(enum cpu_fword w, u32 bits)
{
	for (unsigned b = 0; b < 32; b++)
		if ((bits >> b) & 1 && !cpu_feature_implemented((enum cpu_feature)CPU_FEAT(w, b)))
			bits &= ~(1u << b);
	return bits;
}

/* The CPUID leaves Linux reads, against the K8 model's feature list. */
static void test_cpuid_model(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u32 r[4];
	char sig[13] = { 0 }, brand[49] = { 0 };

	bt_cpuid(cpu, 0, 0, r);
	assert_int_equal(r[0], 1); /* the K8's highest basic leaf */
	assert_memory_equal(&r[1], "Auth", 4);
	bt_cpuid(cpu, 7, 0, r); /* past it: zeros (AMD) */
	assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
	bt_cpuid(cpu, 1, 0, r);
	/* Family 0Fh (base 0xf, no extended family), model 2Bh. */
	assert_int_equal((r[0] >> 8) & 0xf, 0xf);
	assert_int_equal((r[0] >> 20) & 0xff, 0);
	assert_int_equal(((r[0] >> 12) & 0xf0) | ((r[0] >> 4) & 0xf), 0x2b);
	assert_int_equal(r[1] >> 24, 3);	 /* initial APIC ID = CPU index */
	assert_int_equal((r[1] >> 8) & 0xff, 8); /* CLFLUSH line: 64 bytes */
	assert_int_equal(r[3] & SR_NEED1, SR_NEED1);
	assert_int_equal(r[3] & SR_NOT1, 0);
	/* ECX: SSE3, CX16, hypervisor; not SSSE3, PCID, x2APIC, POPCNT, XSAVE, AVX, RDRAND. */
	assert_int_equal(r[2], sr_implemented(CPU_FW_1_ECX, 1u << 0 | 1u << 13 | 1u << 31));
	/* A hypervisor signature that is not KVM's: Linux then looks for no kvmclock. */
	bt_cpuid(cpu, 0x40000000, 0, r);
	memcpy(sig, &r[1], 12);
	assert_string_equal(sig, "BTengineVirt");
	/* 8000_0001h: SYSCALL, NX, LM and leaf 1's EDX; not 1 GiB pages, RDTSCP, 3DNow!. */
	bt_cpuid(cpu, 0x80000000, 0, r);
	assert_int_equal(r[0], 0x80000008);
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_int_equal(r[3] & (1u << 11 | 1u << 20 | 1u << 29), 1u << 11 | 1u << 20 | 1u << 29);
	assert_int_equal(r[3] & (1u << 26 | 1u << 27 | 1u << 31 | 1u << 30), 0);
	assert_int_equal(r[3] & SR_NEED1 & 0x0183f3ffu, SR_NEED1 & 0x0183f3ffu);
	assert_int_equal(r[2], 1u << 0); /* LAHF_LM; no SVM, no ABM */
	bt_cpuid(cpu, 0x80000007, 0, r);
	assert_true(r[3] & (1u << 8)); /* invariant TSC */
	bt_cpuid(cpu, 0x80000008, 0, r);
	assert_int_equal(r[0] & 0xffff, 0x3028); /* 40-bit physical, 48-bit linear */
	bt_cpuid(cpu, 0x80000006, 0, r);
	assert_int_equal(r[2] >> 16, 512); /* L2 KiB */
	assert_int_equal(r[2] & 0xff, 64); /* line size */
	for (unsigned i = 0; i < 3; i++)
		bt_cpuid(cpu, 0x80000002 + i, 0, (u32 *)(brand + 16 * i));
	assert_non_null(strstr(brand, "Athlon"));
}

/* The modern models: the v3 feature set, vendor-shaped leaves, the state CPUID reflects. */
static void test_cpuid_modern_models(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	struct cpu_model m;
	u32 r[4];

	assert_true(cpu_model_lookup("epyc", &m));
	bt_cpu_set_model(cpu, &m);
	sr_long64(f);
	bt_cpuid(cpu, 0, 0, r);
	assert_int_equal(r[0], 0xd);
	bt_cpuid(cpu, 1, 0, r);
	assert_int_equal(r[0], 0x00a00f11); /* family 19h (0Fh + 0Ah), model 01h */
	assert_int_equal(r[3] & SR_NEED1, SR_NEED1);
	/* SSE3 SSSE3 FMA CX16 PCID SSE4.1 SSE4.2 x2APIC MOVBE POPCNT TSC-deadline XSAVE AVX F16C. */
	assert_int_equal(r[2] & 0x7fffffff, sr_implemented(CPU_FW_1_ECX, 0x35fa3201u));
	assert_false(r[2] & (1u << 27)); /* OSXSAVE follows CR4 */
	cpu->st.cr4 |= BT_CR4_OSXSAVE;
	bt_cpuid(cpu, 1, 0, r);
	assert_true(r[2] & (1u << 27));
	bt_cpuid(cpu, 7, 0, r);
	/* FSGSBASE TSC_ADJUST BMI1 AVX2 SMEP BMI2 ERMS INVPCID SMAP CLFLUSHOPT; UMIP RDPID; FSRM. */
	assert_int_equal(r[1], sr_implemented(CPU_FW_7_EBX, 0x009007abu));
	assert_int_equal(r[2], 1u << 2 | 1u << 22);
	assert_int_equal(r[3], 1u << 4);
	bt_cpuid(cpu, 0xd, 0, r);
	assert_int_equal(r[0], cpu_feature_implemented(CPU_F_AVX) ? 7 : 3); /* x87, SSE, AVX */
	assert_int_equal(r[1], 576);					    /* XCR0 = x87 */
	assert_int_equal(r[2], cpu_feature_implemented(CPU_F_AVX) ? 832 : 576);
	bt_cpuid(cpu, 0xd, 1, r);
	assert_int_equal(r[0], 3); /* XSAVEOPT, XSAVEC */
	bt_cpuid(cpu, 0xd, 2, r);
	assert_int_equal(r[0], cpu_feature_implemented(CPU_F_AVX) ? 256 : 0);
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_int_equal(r[2], sr_implemented(CPU_FW_X1_ECX, 1u << 0 | 1u << 5 | 1u << 8));
	assert_true(r[3] & (1u << 26 | 1u << 27)); /* 1 GiB pages, RDTSCP */
	bt_cpuid(cpu, 4, 0, r);			   /* AMD: reserved */
	assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);

	assert_true(cpu_model_lookup("icelake", &m));
	bt_cpu_set_model(cpu, &m);
	bt_cpuid(cpu, 0, 0, r);
	assert_memory_equal(&r[1], "Genu", 4);
	assert_memory_equal(&r[3], "ineI", 4);
	assert_memory_equal(&r[2], "ntel", 4);
	bt_cpuid(cpu, 0x20, 0, r); /* Intel: past the last basic leaf, the last one's data */
	assert_int_equal(r[0], cpu_feature_implemented(CPU_F_AVX) ? 7 : 3);
	bt_cpuid(cpu, 7, 0, r);
	assert_true(r[3] & (1u << 29)); /* IA32_ARCH_CAPABILITIES */
	bt_cpuid(cpu, 4, 0, r);		/* deterministic cache parameters: L1D */
	assert_int_equal(r[0] & 0xff, 0x21);
	bt_cpuid(cpu, 4, 4, r);
	assert_int_equal(r[0] & 0x1f, 0);
	bt_cpuid(cpu, 0xb, 1, r);
	assert_int_equal((r[2] >> 8) & 0xff, 2); /* core level */
	assert_int_equal(r[3], 3);		 /* x2APIC ID */
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[3], 1u << 11 | 1u << 20 | 1u << 26 | 1u << 27 | 1u << 29);
	bt_cpuid(cpu, 0x80000000, 0, r);
	assert_int_equal(r[1] | r[2] | r[3], 0);
	/* IA32_MISC_ENABLE.LIMIT_CPUID caps the basic leaves at 2, XD_DISABLE hides NX. */
	assert_int_equal(bt_msr_write(cpu, 0x1a0, (1ull << 22) | 1 | (3ull << 11)), 0);
	bt_cpuid(cpu, 0, 0, r);
	assert_int_equal(r[0], 2);
	assert_int_equal(bt_msr_write(cpu, 0x1a0, (1ull << 34) | 1 | (3ull << 11)), 0);
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_false(r[3] & (1u << 20));
	assert_int_equal(bt_efer_write(cpu, cpu->st.efer | BT_EFER_NXE), -EPERM);
}

/* Disabling the local APIC (IA32_APIC_BASE.EN = 0) clears CPUID.1:EDX.APIC and its mirror. */
static void test_cpuid_apic_follows_apic_base(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u32 r[4];

	bt_cpuid(cpu, 1, 0, r);
	assert_true(r[3] & (1u << 9));
	f->apic_base &= ~(1ull << 11);
	bt_cpuid(cpu, 1, 0, r);
	assert_false(r[3] & (1u << 9));
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_false(r[3] & (1u << 9));
	f->apic_base |= 1ull << 11;
	bt_cpuid(cpu, 0x80000001, 0, r);
	assert_true(r[3] & (1u << 9));
}

/* CLFLUSH (advertised): no effect on memory, faults like a load. */
static void test_clflush(void **state)
{
	struct sr_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 code[] = { 0x0f, 0xae, 0x3b, 0xcc }; /* clflush [rbx]; int3 */

	sr_long64(f);
	cpu->st.gpr[CPU_RBX] = 0x3000;
	sr_expect(f, code, sizeof(code), BT_EXC_BP);
	cpu->st.gpr[CPU_RBX] = 0x0000800000000000ull; /* not canonical */
	sr_expect(f, code, sizeof(code), BT_EXC_GP);
	cpu->st.gpr[CPU_RBX] = 0x40000000; /* not mapped */
	assert_int_equal(sr_run(f, code, sizeof(code)), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_PF);
	assert_int_equal(cpu->exc.error, 0);
	assert_int_equal(cpu->st.cr2, 0x40000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, sr_setup, sr_teardown)
		T(test_enter_long_mode),
		T(test_mov_cr_faults),
		T(test_mov_cr_values),
		T(test_mov_dr),
		T(test_efer),
		T(test_msrs),
		T(test_machine_msrs),
		T(test_msr_list),
		T(test_tsc),
		T(test_cpuid_model),
		T(test_clflush),
		T(test_cpuid_modern_models),
		T(test_cpuid_apic_follows_apic_base),
		T(test_msr_audit),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
