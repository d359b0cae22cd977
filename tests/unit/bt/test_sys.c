// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's system architecture (SDM vol. 3A chapters 3, 5, 6, 7): segment
 * loads with their faults and error codes, IDT delivery in protected mode (privilege change
 * through the TSS) and IA-32e mode (IST stacks, 16-byte-aligned frames with SS:RSP), EXT error
 * codes, double and triple fault, far calls through call gates with parameter copy and RET to
 * an outer level, IRETQ to ring 3 and back through an interrupt gate, SYSCALL/SYSRET,
 * SYSENTER/SYSEXIT, the STI interrupt shadow, HLT woken by INTR, the TSS I/O permission
 * bitmap, system instructions, a task switch with its return, IRETD into virtual-8086 mode and
 * INT back out of it, the real-to-long-mode path of an AP, and the TF single-step trap. Each test builds its GDT, IDT,
 * TSS and identity page tables in guest memory and runs code given as bytes (assembled with GNU
 * as; the source is in the comments). The expected frames and error codes are the SDM's.
 */
#include "bt-fallback/bt.h"
#include "bt_test_mode.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define RAM_SIZE  0x400000u
#define GDT	  0x1000u
#define IDT	  0x2000u
#define TSS	  0x4000u /* with an I/O bitmap at TSS + 0x68 */
#define TSS_IOMAP 0x68u
#define TSS_LIMIT (TSS_IOMAP + 8192u)
#define TSS2	  0x7000u
#define DTR	  0x6800u /* LGDT/LIDT operands, past the I/O bitmap */
#define PML4	  0x8000u
#define KCODE	  0x100000u
#define UCODE	  0x110000u
#define HANDLERS  0x120000u /* vector v: HANDLERS + 16 * v, a HLT */
#define KSTACK	  0x170000u
#define RSP0	  0x180000u
#define IST1	  0x190000u
#define IST2	  0x1a0000u
#define USTACK	  0x1b0000u

/* Linux's GDT layout (arch/x86/include/asm/segment.h), plus test slots. */
#define SEL_KCODE32 0x08
#define SEL_KCODE64 0x10
#define SEL_KDATA   0x18
#define SEL_UCODE32 0x23
#define SEL_UDATA   0x2b
#define SEL_UCODE64 0x33
#define SEL_TSS	    0x38 /* 16 bytes in IA-32e mode */
#define SEL_TSS2    0x48
#define SEL_SMALL   0x50 /* data, limit 0xfff */
#define SEL_NP	    0x58 /* data, not present */
#define SEL_GATE    0x60 /* call gate, 16 bytes in IA-32e mode */

struct sys_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu;
	u8 *ram;
	int vector;	 /* what intr_ack returns */
	unsigned acks;	 /* intr_ack calls */
	unsigned pio_n;	 /* port accesses */
	u16 pio_port[8]; /* their ports */
	struct cpu_model model;
};

static int sys_intr_ack(void *opaque, unsigned cpu)
{
	struct sys_fixture *f = opaque;

	(void)cpu;
	f->acks++;
	bt_cpu_set_intr(f->cpu, false);
	return f->vector;
}

static void sys_pio(void *opaque, unsigned cpu, u16 port, unsigned size, bool is_write, void *data)
{
	struct sys_fixture *f = opaque;

	(void)cpu, (void)size, (void)is_write, (void)data;
	if (f->pio_n < 8)
		f->pio_port[f->pio_n] = port;
	f->pio_n++;
}

static int sys_setup(void **state)
{
	struct sys_fixture *f = calloc(1, sizeof(*f));
	struct bt_cpu_config cfg;

	if (!f)
		return -1;
	f->ram = aligned_alloc(4096, RAM_SIZE);
	if (!f->ram)
		return -1;
	memset(f->ram, 0, RAM_SIZE);
	if (bt_mem_map(&f->mem, 0, RAM_SIZE, f->ram, false))
		return -1;
	f->mem.io_opaque = f;
	f->mem.intr_ack = sys_intr_ack;
	f->mem.pio = sys_pio;
	/* The K8 model: the baseline system architecture (no RDTSCP, UMIP, SMEP...). */
	if (!cpu_model_lookup("k8", &f->model))
		return -1;
	cfg = bt_test_config((struct bt_cpu_config){ .mem = &f->mem, .model = &f->model });
	if (bt_cpu_create(&cfg, &f->cpu, NULL))
		return -1;
	*state = f;
	return 0;
}

static int sys_teardown(void **state)
{
	struct sys_fixture *f = *state;

	bt_cpu_destroy(f->cpu);
	bt_mem_destroy(&f->mem);
	free(f->ram);
	free(f);
	return 0;
}

static u64 sys_rd(struct sys_fixture *f, u64 a, unsigned size)
{
	u64 v = 0;

	memcpy(&v, f->ram + a, size);
	return v;
}

static void sys_wr(struct sys_fixture *f, u64 a, unsigned size, u64 v)
{
	assert_int_equal(bt_mem_write(&f->mem, a, &v, size), 0);
}

static void sys_code(struct sys_fixture *f, u64 a, const u8 *code, size_t len)
{
	assert_int_equal(bt_mem_write(&f->mem, a, code, len), 0);
}

/* A code or data descriptor: access byte (P, DPL, S, type) and flags nibble (G, D/B, L). */
static u64 sys_seg(u32 base, u32 limit, unsigned access, unsigned flags)
{
	return (limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)access << 40 |
	       (u64)((limit >> 16) & 0xf) << 48 | (u64)flags << 52 | (u64)(base >> 24) << 56;
}

/* A gate: the second u64 is the IA-32e upper half. */
static void sys_gate(struct sys_fixture *f, u64 at, u16 sel, u64 off, unsigned access,
		     unsigned low5, bool wide)
{
	sys_wr(f, at, 8,
	       (off & 0xffff) | (u64)sel << 16 | (u64)(low5 & 0x1f) << 32 | (u64)access << 40 |
		       ((off >> 16) & 0xffff) << 48);
	if (wide)
		sys_wr(f, at + 8, 8, off >> 32);
}

/* Load a segment register from the GDT as a loader or the accel layer would. */
static void sys_load(struct sys_fixture *f, unsigned seg, u16 sel)
{
	struct cpu_segment *s = seg == 6 ? &f->cpu->st.tr : &f->cpu->st.seg[seg];

	bt_desc_unpack(sel, sys_rd(f, GDT + (sel & ~7u), 8), s);
	if (seg == 6)
		s->base |= sys_rd(f, GDT + (sel & ~7u) + 8, 4) << 32;
}

/* The tables both modes share. lm: 16-byte IDT gates and TSS descriptor. */
static void sys_tables(struct sys_fixture *f, bool lm)
{
	struct bt_cpu *cpu = f->cpu;

	bt_cpu_reset(cpu);
	memset(f->ram, 0, KCODE);
	sys_wr(f, GDT + SEL_KCODE32, 8, sys_seg(0, 0xfffff, 0x9b, 0xc));
	sys_wr(f, GDT + SEL_KCODE64, 8, sys_seg(0, 0xfffff, 0x9b, 0xa));
	sys_wr(f, GDT + SEL_KDATA, 8, sys_seg(0, 0xfffff, 0x93, 0xc));
	sys_wr(f, GDT + (SEL_UCODE32 & ~3), 8, sys_seg(0, 0xfffff, 0xfb, 0xc));
	sys_wr(f, GDT + (SEL_UDATA & ~3), 8, sys_seg(0, 0xfffff, 0xf3, 0xc));
	sys_wr(f, GDT + (SEL_UCODE64 & ~3), 8, sys_seg(0, 0xfffff, 0xfb, 0xa));
	sys_wr(f, GDT + SEL_TSS, 8, sys_seg(TSS, TSS_LIMIT, 0x8b, 0));	  /* busy */
	sys_wr(f, GDT + SEL_TSS2, 8, sys_seg(TSS2, 0x67, 0x89, 0));	  /* available */
	sys_wr(f, GDT + SEL_SMALL, 8, sys_seg(0x3000, 0xfff, 0x92, 0x4)); /* not accessed */
	sys_wr(f, GDT + SEL_NP, 8, sys_seg(0, 0xfffff, 0x13, 0xc));
	cpu->st.gdtr.base = GDT;
	cpu->st.gdtr.limit = 0xff;
	for (unsigned v = 0; v < 256; v++) {
		sys_gate(f, IDT + v * (lm ? 16 : 8), lm ? SEL_KCODE64 : SEL_KCODE32,
			 HANDLERS + 16 * v, 0x8e, 0, lm);
		f->ram[HANDLERS + 16 * v] = 0xf4; /* hlt */
	}
	cpu->st.idtr.base = IDT;
	cpu->st.idtr.limit = lm ? 0xfff : 0x7ff;
	/* TSS: ring-0 stack, IST1/IST2 (IA-32e), an I/O bitmap denying every port but 80h. */
	if (lm) {
		sys_wr(f, TSS + 4, 8, RSP0);
		sys_wr(f, TSS + 0x24, 8, IST1);
		sys_wr(f, TSS + 0x2c, 8, IST2);
	} else {
		sys_wr(f, TSS + 4, 4, RSP0);
		sys_wr(f, TSS + 8, 2, SEL_KDATA);
	}
	sys_wr(f, TSS + 0x66, 2, TSS_IOMAP);
	memset(f->ram + TSS + TSS_IOMAP, 0xff, 8193);
	f->ram[TSS + TSS_IOMAP + 0x80 / 8] = 0xfe;
	sys_load(f, 6, SEL_TSS);
	f->vector = -1;
	f->acks = 0;
	f->pio_n = 0;
}

/* 32-bit protected mode without paging, at CPL 0 or 3. */
static void sys_prot32(struct sys_fixture *f, unsigned cpl)
{
	struct bt_cpu *cpu = f->cpu;

	sys_tables(f, false);
	cpu->st.cr0 = 0x11;
	sys_load(f, CPU_CS, cpl ? SEL_UCODE32 : SEL_KCODE32);
	for (unsigned s = 0; s < CPU_NR_SEGS; s++)
		if (s != CPU_CS)
			sys_load(f, s, cpl ? SEL_UDATA : SEL_KDATA);
	cpu->st.rip = cpl ? UCODE : KCODE;
	cpu->st.gpr[CPU_RSP] = cpl ? USTACK : KSTACK;
	bt_set_rflags(cpu, 2);
	bt_cpu_update_mode(cpu);
}

/* IA-32e mode with identity-mapped 2-MiB pages (user-accessible), in 64-bit code at CPL 0 or 3. */
static void sys_long64(struct sys_fixture *f, unsigned cpl)
{
	struct bt_cpu *cpu = f->cpu;

	sys_tables(f, true);
	sys_wr(f, GDT + SEL_TSS, 8, sys_seg(TSS, TSS_LIMIT, 0x8b, 0));
	sys_wr(f, GDT + SEL_TSS + 8, 8, 0);
	sys_load(f, 6, SEL_TSS);
	sys_wr(f, PML4, 8, (PML4 + 0x1000) | 7);
	sys_wr(f, PML4 + 0x1000, 8, (PML4 + 0x2000) | 7);
	sys_wr(f, PML4 + 0x2000, 8, 0x000000 | 0x87);
	sys_wr(f, PML4 + 0x2008, 8, 0x200000 | 0x87);
	cpu->st.cr3 = PML4;
	cpu->st.cr4 = 0x20; /* PAE */
	cpu->st.efer = BT_EFER_LME | BT_EFER_LMA | BT_EFER_SCE;
	cpu->st.cr0 = 0x80000011;
	sys_load(f, CPU_CS, cpl ? SEL_UCODE64 : SEL_KCODE64);
	for (unsigned s = 0; s < CPU_NR_SEGS; s++)
		if (s != CPU_CS)
			sys_load(f, s, cpl ? SEL_UDATA : SEL_KDATA);
	cpu->st.rip = cpl ? UCODE : KCODE;
	cpu->st.gpr[CPU_RSP] = cpl ? USTACK : KSTACK;
	bt_set_rflags(cpu, 2);
	bt_tlb_flush(cpu);
	bt_cpu_update_mode(cpu);
}

/* Run until the CPU halts; it must be in the handler of vector v. */
static void sys_expect_handler(struct sys_fixture *f, unsigned v)
{
	assert_int_equal(bt_run(f->cpu, 1000), BT_EXIT_HLT);
	assert_int_equal(f->cpu->st.rip, HANDLERS + 16 * v + 1);
}

/* Run with exceptions ending bt_run; expect vector v (error err, or none if err < 0). */
static void sys_expect_exc(struct sys_fixture *f, unsigned v, long err)
{
	f->cpu->exc_exit = true;
	assert_int_equal(bt_run(f->cpu, 1000), BT_EXIT_EXCEPTION);
	f->cpu->exc_exit = false;
	assert_int_equal(f->cpu->exc.vector, v);
	if (err >= 0) {
		assert_true(f->cpu->exc.has_error);
		assert_int_equal(f->cpu->exc.error, err);
	}
}

static const u8 seg_mov_ds[] = {
	/* mov ds, ax */
	/* hlt */
	0x8e, 0xd8, 0xf4
};

static const u8 seg_mov_ss[] = {
	/* mov ss, ax */
	/* hlt */
	0x8e, 0xd0, 0xf4
};

static const u8 seg_lfs[] = {
	/* lfs ebx, [esi] */
	/* hlt */
	0x0f, 0xb4, 0x1e, 0xf4
};

static const u8 p32_int80[] = {
	/* int 0x80 */
	0xcd, 0x80
};

static const u8 p32_int81[] = {
	/* int 0x81 */
	0xcd, 0x81
};

static const u8 lm_ud2[] = {
	/* ud2 */
	0x0f, 0x0b
};

static const u8 lm_mov_ds[] = {
	/* mov ds, ax */
	0x8e, 0xd8
};

static const u8 gate_user[] = {
	/* push 0x11111111 */
	/* push 0x22222222 */
	/* call far 0x63:0 (the call gate, RPL 3) */
	/* ud2 */
	0x68, 0x11, 0x11, 0x11, 0x11, 0x68, 0x22, 0x22, 0x22, 0x22,
	0x9a, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00, 0x0f, 0x0b
};

static const u8 gate_kernel[] = {
	/* mov ax, 0x18 */
	/* mov ds, ax */
	/* retf 8 */
	0x66, 0xb8, 0x18, 0x00, 0x8e, 0xd8, 0xca, 0x08, 0x00
};

static const u8 iret_kernel[] = {
	/* push 0x2b */
	/* push 0x1b0000 */
	/* push 0x202 */
	/* push 0x33 */
	/* push 0x110000 */
	/* iretq */
	0x6a, 0x2b, 0x68, 0x00, 0x00, 0x1b, 0x00, 0x68, 0x02, 0x02, 0x00,
	0x00, 0x6a, 0x33, 0x68, 0x00, 0x00, 0x11, 0x00, 0x48, 0xcf
};

static const u8 iret_user[] = {
	/* int 0x80 */
	/* hlt */
	0xcd, 0x80, 0xf4
};

static const u8 syscall_user[] = {
	/* syscall */
	/* ud2 */
	0x0f, 0x05, 0x0f, 0x0b
};

static const u8 syscall_kernel[] = {
	/* mov rbx, rcx */
	/* mov rdx, r11 */
	/* pushfq */
	/* pop rsi */
	/* sysretq */
	0x48, 0x89, 0xcb, 0x4c, 0x89, 0xda, 0x9c, 0x5e, 0x48, 0x0f, 0x07
};

static const u8 sysret_bad[] = {
	/* movabs rcx, 0x8000000000000000 */
	/* sysretq */
	0x48, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x48, 0x0f, 0x07
};

static const u8 sysenter_user[] = {
	/* sysenter */
	0x0f, 0x34
};

static const u8 sysenter_kernel[] = {
	/* mov ebx, esp */
	/* mov edx, 0x110010 */
	/* mov ecx, 0x1b0000 */
	/* sysexit */
	0x89, 0xe3, 0xba, 0x10, 0x00, 0x11, 0x00, 0xb9, 0x00, 0x00, 0x1b, 0x00, 0x0f, 0x35
};

static const u8 sti_code[] = {
	/* nop */
	/* nop */
	/* sti */
	/* nop */
	/* nop */
	/* hlt */
	0x90, 0x90, 0xfb, 0x90, 0x90, 0xf4
};

static const u8 hlt_code[] = {
	/* hlt */
	/* nop */
	/* hlt */
	0xf4, 0x90, 0xf4
};

static const u8 io_user[] = {
	/* out 0x80, al */
	/* in al, 0x80 */
	/* out 0x81, al */
	0xe6, 0x80, 0xe4, 0x80, 0xe6, 0x81
};

static const u8 sys_code_bytes[] = {
	/* lgdt [0x6800] */
	/* sgdt [0x6810] */
	/* lidt [0x6820] */
	/* sidt [0x6830] */
	/* mov ax, 0x38 */
	/* ltr ax */
	/* str ebx */
	/* mov ax, 0x33 */
	/* lar ecx, ax */
	/* mov ax, 0x18 */
	/* lsl edx, ax */
	/* mov ax, 0x2b */
	/* verw ax */
	/* setz r8b */
	/* mov ax, 0x13 */
	/* verr ax */
	/* setz r9b */
	/* swapgs */
	/* smsw r10 */
	/* hlt */
	0x0f, 0x01, 0x14, 0x25, 0x00, 0x68, 0x00, 0x00, 0x0f, 0x01, 0x04, 0x25, 0x10, 0x68, 0x00,
	0x00, 0x0f, 0x01, 0x1c, 0x25, 0x20, 0x68, 0x00, 0x00, 0x0f, 0x01, 0x0c, 0x25, 0x30, 0x68,
	0x00, 0x00, 0x66, 0xb8, 0x38, 0x00, 0x0f, 0x00, 0xd8, 0x0f, 0x00, 0xcb, 0x66, 0xb8, 0x33,
	0x00, 0x0f, 0x02, 0xc8, 0x66, 0xb8, 0x18, 0x00, 0x0f, 0x03, 0xd0, 0x66, 0xb8, 0x2b, 0x00,
	0x0f, 0x00, 0xe8, 0x41, 0x0f, 0x94, 0xc0, 0x66, 0xb8, 0x13, 0x00, 0x0f, 0x00, 0xe0, 0x41,
	0x0f, 0x94, 0xc1, 0x0f, 0x01, 0xf8, 0x49, 0x0f, 0x01, 0xe2, 0xf4
};

static const u8 rdtscp[] = {
	/* rdtscp */
	0x0f, 0x01, 0xf9
};

static const u8 task_code[] = {
	/* call far 0x48:0 (the second TSS) */
	/* hlt */
	0x9a, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0xf4
};

static const u8 task2_code[] = {
	/* mov ebx, 0x5678 */
	/* iretd */
	0xbb, 0x78, 0x56, 0x00, 0x00, 0xcf
};

/* Real mode at 0B00:0000 to protected mode to IA-32e mode, as an AP's trampoline does. */
static const u8 tramp_code[] = {
	/* .code16: lgdtl gdtdesc; mov cr0, eax | PE; ljmpl $0x08, $pm32 */
	/* .code32 pm32: mov ds/ss, 0x18; CR4.PAE; CR3 = 0x8000; EFER.LME (rdmsr/wrmsr); CR0.PG; */
	/*   ljmpl $0x10, $lm64 */
	/* .code64 lm64: movabs rax, 0x123456789; hlt; gdtdesc at +0x60: .word 0xff, .long 0x1000 */
	0x66, 0x0f, 0x01, 0x16, 0x60, 0x00, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f, 0x22, 0xc0, 0x66,
	0xea, 0x16, 0xb0, 0x00, 0x00, 0x08, 0x00, 0x66, 0xb8, 0x18, 0x00, 0x8e, 0xd8, 0x8e, 0xd0,
	0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x80, 0x00, 0x00, 0x0f,
	0x22, 0xd8, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f,
	0x30, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xea, 0x4f, 0xb0,
	0x00, 0x00, 0x10, 0x00, 0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0xf4,
	0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xff, 0x00, 0x00, 0x10, 0x00, 0x00
};

/* CPL 0: an IRETD frame into virtual-8086 mode (VM, IOPL 3) at 0B00:0010. */
static const u8 v86_kernel[] = {
	/* push 0 (GS); push 0 (FS); push 0x2000 (DS); push 0x3000 (ES); push 0x1000 (SS) */
	/* push 0xfff0 (ESP); push 0x23202 (EFLAGS); push 0x0b00 (CS); push 0x0010 (EIP); iretd */
	0x6a, 0x00, 0x6a, 0x00, 0x68, 0x00, 0x20, 0x00, 0x00, 0x68, 0x00, 0x30, 0x00,
	0x00, 0x68, 0x00, 0x10, 0x00, 0x00, 0x68, 0xf0, 0xff, 0x00, 0x00, 0x68, 0x02,
	0x32, 0x02, 0x00, 0x68, 0x00, 0x0b, 0x00, 0x00, 0x6a, 0x10, 0xcf
};

static const u8 v86_code[] = {
	/* mov ax, [0]; int 0x21 */
	0xa1, 0x00, 0x00, 0xcd, 0x21
};

static const u8 tf_code[] = {
	/* pushfq; or qword ptr [rsp], 0x100; popfq; nop; nop; hlt */
	0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90, 0xf4
};

/* MOV DS/SS and LFS: selector faults with their error codes, null rules, the accessed bit. */
static void test_seg_load_faults(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	static const struct {
		u16 sel;
		unsigned vector;
		long err;
	} ds_cases[] = {
		{ 0x100, BT_EXC_GP, 0x100 },		     /* past the GDT limit */
		{ SEL_TSS, BT_EXC_GP, SEL_TSS },	     /* a system descriptor */
		{ SEL_NP, BT_EXC_NP, SEL_NP },		     /* not present */
		{ SEL_KCODE64 | 3, BT_EXC_GP, SEL_KCODE64 }, /* RPL 3 > DPL 0 */
		{ 0x0c, BT_EXC_GP, 0x0c },		     /* TI = 1 without an LDT */
	};

	for (unsigned i = 0; i < sizeof(ds_cases) / sizeof(ds_cases[0]); i++) {
		sys_prot32(f, 0);
		sys_code(f, KCODE, seg_mov_ds, sizeof(seg_mov_ds));
		cpu->st.gpr[CPU_RAX] = ds_cases[i].sel;
		sys_expect_exc(f, ds_cases[i].vector, ds_cases[i].err);
		assert_int_equal(cpu->st.rip, KCODE); /* a fault: at the instruction */
		assert_int_equal(cpu->st.seg[CPU_DS].selector, SEL_KDATA);
	}

	/* A null DS loads; a null SS is #GP(0) outside 64-bit mode. */
	sys_prot32(f, 0);
	sys_code(f, KCODE, seg_mov_ds, sizeof(seg_mov_ds));
	cpu->st.gpr[CPU_RAX] = 3;
	assert_int_equal(bt_run(cpu, 10), BT_EXIT_HLT);
	assert_int_equal(cpu->st.seg[CPU_DS].selector, 3);
	assert_true(cpu->st.seg[CPU_DS].unusable);

	sys_prot32(f, 0);
	sys_code(f, KCODE, seg_mov_ss, sizeof(seg_mov_ss));
	cpu->st.gpr[CPU_RAX] = 0;
	sys_expect_exc(f, BT_EXC_GP, 0);
	/* SS must be writable data with DPL = RPL = CPL. */
	cpu->st.gpr[CPU_RAX] = SEL_KCODE32;
	sys_expect_exc(f, BT_EXC_GP, SEL_KCODE32);
	cpu->st.gpr[CPU_RAX] = SEL_KDATA | 1;
	sys_expect_exc(f, BT_EXC_GP, SEL_KDATA);

	/* A good load sets the accessed bit and the hidden part (limit scaled by G=0 here). */
	assert_int_equal(f->ram[GDT + SEL_SMALL + 5] & 1, 0);
	cpu->st.gpr[CPU_RAX] = SEL_SMALL;
	assert_int_equal(bt_run(cpu, 10), BT_EXIT_HLT);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_SMALL);
	assert_int_equal(cpu->st.seg[CPU_SS].base, 0x3000);
	assert_int_equal(cpu->st.seg[CPU_SS].limit, 0xfff);
	assert_int_equal(f->ram[GDT + SEL_SMALL + 5] & 1, 1);

	/* LFS m16:32 from DS:ESI. */
	sys_prot32(f, 0);
	sys_code(f, KCODE, seg_lfs, sizeof(seg_lfs));
	sys_wr(f, 0x6000, 4, 0xdeadbeef);
	sys_wr(f, 0x6004, 2, SEL_NP);
	cpu->st.gpr[CPU_RSI] = 0x6000;
	sys_expect_exc(f, BT_EXC_NP, SEL_NP);
	assert_int_equal(cpu->st.gpr[CPU_RBX], 0);
	sys_wr(f, 0x6004, 2, SEL_SMALL);
	assert_int_equal(bt_run(cpu, 10), BT_EXIT_HLT);
	assert_int_equal(cpu->st.gpr[CPU_RBX], 0xdeadbeef);
	assert_int_equal(cpu->st.seg[CPU_FS].base, 0x3000);

	/* 64-bit mode: a null SS at CPL 0 is fine; the CPL-3 user data segment from ring 3 too. */
	sys_long64(f, 0);
	sys_code(f, KCODE, seg_mov_ss, sizeof(seg_mov_ss));
	cpu->st.gpr[CPU_RAX] = 0;
	assert_int_equal(bt_run(cpu, 10), BT_EXIT_HLT);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, 0);
}

/* 32-bit protected mode: INT 80h from ring 3 through a DPL-3 trap gate switches to SS0:ESP0. */
static void test_prot32_int_privilege(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u32 sp = RSP0 - 20;

	sys_prot32(f, 3);
	sys_gate(f, IDT + 0x80 * 8, SEL_KCODE32, HANDLERS + 16 * 0x80, 0xef, 0, false);
	sys_code(f, UCODE, p32_int80, sizeof(p32_int80));
	bt_set_rflags(cpu, 0x202);
	sys_expect_handler(f, 0x80);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_KCODE32);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_KDATA);
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 4), UCODE + 2); /* a trap: the next instruction */
	assert_int_equal(sys_rd(f, sp + 4, 4), SEL_UCODE32);
	assert_int_equal(sys_rd(f, sp + 8, 4), 0x202);
	assert_int_equal(sys_rd(f, sp + 12, 4), USTACK);
	assert_int_equal(sys_rd(f, sp + 16, 4), SEL_UDATA);
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, BT_IF); /* trap gate: IF kept */

	/* INT 81h: the gate's DPL 0 < CPL 3 is #GP(81h * 8 + 2), with an error code pushed. */
	sys_prot32(f, 3);
	sys_code(f, UCODE, p32_int81, sizeof(p32_int81));
	bt_set_rflags(cpu, 0x202);
	sys_expect_handler(f, BT_EXC_GP);
	sp = RSP0 - 24;
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 4), 0x81 * 8 + 2);
	assert_int_equal(sys_rd(f, sp + 4, 4), UCODE);	 /* a fault: the INT itself */
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, 0); /* interrupt gate */

	/*
	 * An SS0 with RPL 3 in the TSS: #TS(28h), EXT clear for INT n, reported at the INT. Its
	 * gate leads to a conforming segment, so it runs at CPL 3 on the same stack.
	 */
	sys_prot32(f, 3);
	sys_code(f, UCODE, p32_int80, sizeof(p32_int80));
	sys_gate(f, IDT + 0x80 * 8, SEL_KCODE32, HANDLERS + 16 * 0x80, 0xef, 0, false);
	sys_wr(f, GDT + 0x68, 8, sys_seg(0, 0xfffff, 0x9f, 0xc));
	sys_gate(f, IDT + BT_EXC_TS * 8, 0x68, HANDLERS + 16 * BT_EXC_TS, 0x8e, 0, false);
	sys_wr(f, TSS + 8, 2, SEL_UDATA);
	assert_int_equal(bt_run(cpu, 1), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.rip, HANDLERS + 16 * BT_EXC_TS);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, 0x6b);
	assert_int_equal(cpu->st.gpr[CPU_RSP], USTACK - 16);
	assert_int_equal(sys_rd(f, USTACK - 16, 4), SEL_UDATA & 0xfffc);
	assert_int_equal(sys_rd(f, USTACK - 12, 4), UCODE);
	assert_int_equal(sys_rd(f, USTACK - 8, 4), SEL_UCODE32);
}

/* IA-32e mode: #UD from ring 3 through an IST gate; #GP(sel) through RSP0. */
static void test_long_mode_frames(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u64 sp;

	sys_long64(f, 3);
	sys_gate(f, IDT + BT_EXC_UD * 16, SEL_KCODE64, HANDLERS + 16 * BT_EXC_UD, 0x8e, 1, true);
	sys_code(f, UCODE, lm_ud2, sizeof(lm_ud2));
	cpu->st.gpr[CPU_RSP] = USTACK - 8;
	bt_set_rflags(cpu, 0x203);
	sys_expect_handler(f, BT_EXC_UD);
	sp = IST1 - 40;
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 8), UCODE);
	assert_int_equal(sys_rd(f, sp + 8, 8), SEL_UCODE64);
	/* #UD is a fault: the RFLAGS image has RF set (SDM vol. 3A 18.3.1.1), the handler's not. */
	assert_int_equal(sys_rd(f, sp + 16, 8), 0x10203);
	assert_false(bt_get_rflags(cpu) & BT_RF);
	assert_int_equal(sys_rd(f, sp + 24, 8), USTACK - 8);
	assert_int_equal(sys_rd(f, sp + 32, 8), SEL_UDATA);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_KCODE64);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, 0); /* null SS, RPL = new CPL */
	assert_int_equal(bt_cpu_cpl(cpu), 0);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_LONG64);

	/* MOV DS, 18h at CPL 3: #GP(18h) on the RSP0 stack, with the error code. */
	sys_long64(f, 3);
	sys_code(f, UCODE, lm_mov_ds, sizeof(lm_mov_ds));
	cpu->st.gpr[CPU_RAX] = SEL_KDATA;
	sys_expect_handler(f, BT_EXC_GP);
	sp = RSP0 - 48;
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 8), SEL_KDATA);
	assert_int_equal(sys_rd(f, sp + 8, 8), UCODE);
	assert_int_equal(sys_rd(f, sp + 32, 8), USTACK);

	/* At CPL 0 without IST: the same stack, aligned down to 16, still with SS:RSP. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_ud2, sizeof(lm_ud2));
	cpu->st.gpr[CPU_RSP] = KSTACK - 8;
	sys_expect_handler(f, BT_EXC_UD);
	sp = KSTACK - 16 - 40;
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp + 24, 8), KSTACK - 8);
	assert_int_equal(sys_rd(f, sp + 32, 8), SEL_KDATA);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_KDATA);
}

/* Table 6-5: #UD then a not-present gate is #NP(EXT); #GP then #NP is #DF; then a triple fault. */
static void test_double_triple_fault(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	char buf[2048];
	u64 sp;

	/* Benign, then contributory: the second is delivered, error = IDT index | IDT | EXT. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_ud2, sizeof(lm_ud2));
	f->ram[IDT + BT_EXC_UD * 16 + 5] &= 0x7f;
	sys_expect_handler(f, BT_EXC_NP);
	sp = cpu->st.gpr[CPU_RSP];
	assert_int_equal(sys_rd(f, sp, 8), BT_EXC_UD * 8 + 2 + 1);
	assert_int_equal(sys_rd(f, sp + 8, 8), KCODE);

	/* Contributory twice: #DF with error 0, on IST2. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_mov_ds, sizeof(lm_mov_ds));
	sys_gate(f, IDT + BT_EXC_DF * 16, SEL_KCODE64, HANDLERS + 16 * BT_EXC_DF, 0x8e, 2, true);
	f->ram[IDT + BT_EXC_GP * 16 + 5] &= 0x7f;
	cpu->st.gpr[CPU_RAX] = 0x100; /* past the GDT: #GP(100h) */
	sys_expect_handler(f, BT_EXC_DF);
	sp = IST2 - 48;
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 8), 0);
	assert_int_equal(sys_rd(f, sp + 8, 8), KCODE);

	/* A fault delivering #DF: shutdown, with a report. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_mov_ds, sizeof(lm_mov_ds));
	f->ram[IDT + BT_EXC_GP * 16 + 5] &= 0x7f;
	f->ram[IDT + BT_EXC_DF * 16 + 5] &= 0x7f;
	cpu->st.gpr[CPU_RAX] = 0x100;
	assert_int_equal(bt_run(cpu, 1000), BT_EXIT_SHUTDOWN);
	assert_int_equal(cpu->st.rip, KCODE);
	bt_cpu_describe(cpu, buf, sizeof(buf));
	assert_non_null(strstr(buf, "rip=0000000000100000"));
	assert_non_null(strstr(buf, "cs=0010"));
	assert_non_null(strstr(buf, " 100000"));

	/* An empty IDT: every exception ends in shutdown. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_ud2, sizeof(lm_ud2));
	cpu->st.idtr.limit = 0;
	assert_int_equal(bt_run(cpu, 1000), BT_EXIT_SHUTDOWN);
}

/* A far CALL through a call gate to ring 0 copies two parameters; RETF 8 goes back to ring 3. */
static void test_call_gate(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u32 sp = RSP0 - 24;

	sys_prot32(f, 3);
	sys_gate(f, GDT + SEL_GATE, SEL_KCODE32, KCODE + 0x100, 0xec, 2, false);
	sys_code(f, UCODE, gate_user, sizeof(gate_user));
	sys_code(f, KCODE + 0x100, gate_kernel, sizeof(gate_kernel));
	cpu->st.gpr[CPU_RSP] = USTACK;
	/* Stop in the gate's target, after its MOV DS: 2 pushes, the CALL, 2 moves. */
	assert_int_equal(bt_run(cpu, 5), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_KCODE32);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_KDATA);
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 4), UCODE + 17);
	assert_int_equal(sys_rd(f, sp + 4, 4), SEL_UCODE32);
	assert_int_equal(sys_rd(f, sp + 8, 4), 0x22222222);
	assert_int_equal(sys_rd(f, sp + 12, 4), 0x11111111);
	assert_int_equal(sys_rd(f, sp + 16, 4), USTACK - 8);
	assert_int_equal(sys_rd(f, sp + 20, 4), SEL_UDATA);
	/* RETF 8 to ring 3: SS:ESP back past the parameters; DS (DPL 0) becomes null. */
	sys_expect_exc(f, BT_EXC_UD, -1);
	assert_int_equal(cpu->st.rip, UCODE + 17);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_UCODE32);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_UDATA);
	assert_int_equal(cpu->st.gpr[CPU_RSP], USTACK);
	assert_int_equal(cpu->st.seg[CPU_DS].selector, 0);
	assert_int_equal(bt_cpu_cpl(cpu), 3);

	/* A gate whose DPL is below the CPL: #GP(gate selector). */
	sys_prot32(f, 3);
	sys_gate(f, GDT + SEL_GATE, SEL_KCODE32, KCODE + 0x100, 0x8c, 2, false);
	sys_code(f, UCODE, gate_user, sizeof(gate_user));
	sys_expect_exc(f, BT_EXC_GP, SEL_GATE);
	assert_int_equal(cpu->st.rip, UCODE + 10);
	assert_int_equal(cpu->st.gpr[CPU_RSP], USTACK - 8);
}

/* IRETQ to ring 3, INT 80h back to ring 0 through a DPL-3 interrupt gate, IRETQ again. */
static void test_iret_ring3_round_trip(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 iretq[] = { 0x48, 0xcf };
	u64 sp = RSP0 - 40;

	sys_long64(f, 0);
	sys_code(f, KCODE, iret_kernel, sizeof(iret_kernel));
	sys_code(f, UCODE, iret_user, sizeof(iret_user));
	sys_gate(f, IDT + 0x80 * 16, SEL_KCODE64, HANDLERS + 16 * 0x80, 0xee, 0, true);
	sys_expect_handler(f, 0x80);
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 8), UCODE + 2);
	assert_int_equal(sys_rd(f, sp + 8, 8), SEL_UCODE64);
	assert_int_equal(sys_rd(f, sp + 16, 8), 0x202);
	assert_int_equal(sys_rd(f, sp + 24, 8), USTACK);
	assert_int_equal(sys_rd(f, sp + 32, 8), SEL_UDATA);
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, 0);
	assert_int_equal(cpu->st.gpr[CPU_RSP + 0] & 15, 8); /* 48 bytes below 16-aligned RSP0 */

	/* The handler returns; ring 3's HLT is #GP(0), taken back on RSP0. */
	sys_code(f, HANDLERS + 16 * 0x80, iretq, sizeof(iretq));
	cpu->st.rip = HANDLERS + 16 * 0x80;
	cpu->st.halted = false;
	sys_expect_handler(f, BT_EXC_GP);
	sp = RSP0 - 48;
	assert_int_equal(sys_rd(f, sp, 8), 0);
	assert_int_equal(sys_rd(f, sp + 8, 8), UCODE + 2);
	assert_int_equal(sys_rd(f, sp + 16, 8), SEL_UCODE64);
	assert_int_equal(sys_rd(f, sp + 24, 8) & BT_IF, BT_IF);
	assert_int_equal(sys_rd(f, sp + 32, 8), USTACK);
}

/* SYSCALL to LSTAR with SFMASK applied, SYSRETQ back; a non-canonical RCX is #GP(0) at CPL 0. */
static void test_syscall_sysret(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_long64(f, 3);
	cpu->msr.star = (u64)(SEL_UCODE32 & ~3) << 48 | (u64)SEL_KCODE64 << 32;
	cpu->msr.lstar = KCODE + 0x200;
	cpu->msr.sfmask = BT_IF | BT_DF;
	sys_code(f, UCODE, syscall_user, sizeof(syscall_user));
	sys_code(f, KCODE + 0x200, syscall_kernel, sizeof(syscall_kernel));
	bt_set_rflags(cpu, 0x603); /* IF, DF, CF */
	sys_expect_exc(f, BT_EXC_UD, -1);
	assert_int_equal(cpu->st.gpr[CPU_RBX], UCODE + 2);     /* RCX in the kernel */
	assert_int_equal(cpu->st.gpr[CPU_RDX], 0x603);	       /* R11 */
	assert_int_equal(cpu->st.gpr[CPU_RSI] & 0x603, 0x003); /* IF and DF masked */
	assert_int_equal(cpu->st.rip, UCODE + 2);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_UCODE64);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_UDATA);
	assert_int_equal(bt_get_rflags(cpu), 0x603);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_LONG64);

	sys_long64(f, 0);
	cpu->msr.star = (u64)(SEL_UCODE32 & ~3) << 48 | (u64)SEL_KCODE64 << 32;
	sys_code(f, KCODE, sysret_bad, sizeof(sysret_bad));
	sys_expect_exc(f, BT_EXC_GP, 0);
	assert_int_equal(cpu->st.rip, KCODE + 10);
	assert_int_equal(bt_cpu_cpl(cpu), 0);

	/* Without EFER.SCE: #UD. */
	sys_long64(f, 3);
	cpu->st.efer &= ~BT_EFER_SCE;
	sys_code(f, UCODE, syscall_user, sizeof(syscall_user));
	sys_expect_exc(f, BT_EXC_UD, -1);
	assert_int_equal(cpu->st.rip, UCODE);
}

/* SYSENTER from ring 3 of 32-bit protected mode, SYSEXIT back. */
static void test_sysenter_sysexit(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_prot32(f, 3);
	cpu->msr.sysenter_cs = SEL_KCODE64; /* Linux's __KERNEL_CS: SS = +8, user CS = +16 */
	cpu->msr.sysenter_esp = RSP0;
	cpu->msr.sysenter_eip = KCODE + 0x300;
	sys_code(f, UCODE, sysenter_user, sizeof(sysenter_user));
	sys_code(f, KCODE + 0x300, sysenter_kernel, sizeof(sysenter_kernel));
	sys_code(f, UCODE + 0x10, lm_ud2, sizeof(lm_ud2));
	bt_set_rflags(cpu, 0x202);
	assert_int_equal(bt_run(cpu, 2), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_KCODE64);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_KDATA);
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, 0);
	assert_int_equal(cpu->st.gpr[CPU_RBX], RSP0);
	sys_expect_exc(f, BT_EXC_UD, -1);
	assert_int_equal(cpu->st.rip, UCODE + 0x10);
	assert_int_equal(cpu->st.gpr[CPU_RSP], USTACK);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_UCODE32);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_UDATA);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_PROT32);

	/* SYSENTER_CS = 0: #GP(0). */
	sys_prot32(f, 3);
	cpu->msr.sysenter_cs = 0;
	sys_code(f, UCODE, sysenter_user, sizeof(sysenter_user));
	sys_expect_exc(f, BT_EXC_GP, 0);
}

/* An INTR pending while IF = 0 is taken right after the instruction following STI. */
static void test_sti_shadow(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_long64(f, 0);
	sys_code(f, KCODE, sti_code, sizeof(sti_code));
	f->vector = 0x40;
	bt_cpu_set_intr(cpu, true);
	sys_expect_handler(f, 0x40);
	assert_int_equal(f->acks, 1);
	assert_int_equal(sys_rd(f, cpu->st.gpr[CPU_RSP], 8), KCODE + 4); /* after STI; NOP */
	assert_int_equal(bt_get_rflags(cpu) & BT_IF, 0);

	/* The controller withdrew the vector (spurious): no delivery, the code runs on. */
	sys_long64(f, 0);
	sys_code(f, KCODE, sti_code, sizeof(sti_code));
	f->vector = -1;
	bt_cpu_set_intr(cpu, true);
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.rip, KCODE + 6);
	assert_int_equal(f->acks, 1);
}

/* HLT: bt_run returns at once while nothing can wake the CPU; INTR wakes it. */
static void test_hlt_wakes_on_intr(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u64 n;

	sys_long64(f, 0);
	sys_code(f, KCODE, hlt_code, sizeof(hlt_code));
	bt_set_rflags(cpu, 0x202);
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.rip, KCODE + 1);
	assert_true(cpu->st.halted);
	n = cpu->icount;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->icount, n);
	f->vector = 0x41;
	bt_cpu_set_intr(cpu, true);
	sys_expect_handler(f, 0x41);
	assert_int_equal(sys_rd(f, cpu->st.gpr[CPU_RSP], 8), KCODE + 1);
	assert_int_equal(f->acks, 1);

	/* An NMI wakes it even with IF = 0, and blocks further NMIs until IRET. */
	sys_long64(f, 0);
	sys_code(f, KCODE, hlt_code, sizeof(hlt_code));
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	cpu->nmi_pending = 1;
	sys_expect_handler(f, 2);
	assert_true(cpu->st.nmi_masked);
	cpu->nmi_pending = 1;
	cpu->st.rip = KCODE;
	cpu->st.halted = false;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.rip, KCODE + 1); /* still blocked */
}

/* Ring 3, IOPL 0: the TSS bitmap allows port 80h only. */
static void test_io_bitmap(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_long64(f, 3);
	sys_code(f, UCODE, io_user, sizeof(io_user));
	sys_expect_exc(f, BT_EXC_GP, 0);
	assert_int_equal(cpu->st.rip, UCODE + 4);
	assert_int_equal(f->pio_n, 2);
	assert_int_equal(f->pio_port[0], 0x80);

	/* IOPL 3 needs no bitmap. */
	sys_long64(f, 3);
	sys_code(f, UCODE, io_user, sizeof(io_user));
	sys_code(f, UCODE + sizeof(io_user), lm_ud2, sizeof(lm_ud2));
	bt_set_rflags(cpu, 0x3002);
	sys_expect_exc(f, BT_EXC_UD, -1);
	assert_int_equal(f->pio_n, 3);
	assert_int_equal(f->pio_port[2], 0x81);

	/* A bitmap offset past the TSS limit denies everything. */
	sys_long64(f, 3);
	sys_code(f, UCODE, io_user, sizeof(io_user));
	sys_wr(f, TSS + 0x66, 2, 0xffff);
	sys_expect_exc(f, BT_EXC_GP, 0);
	assert_int_equal(cpu->st.rip, UCODE);
}

/* LGDT/SGDT/LIDT/SIDT (64-bit forms), LTR (busy bit), STR, LAR, LSL, VERW, VERR, SWAPGS, SMSW. */
static void test_system_instructions(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_long64(f, 0);
	sys_code(f, KCODE, sys_code_bytes, sizeof(sys_code_bytes));
	sys_wr(f, DTR, 2, 0xff);
	sys_wr(f, DTR + 2, 8, GDT);
	sys_wr(f, DTR + 0x20, 2, 0x7ff);
	sys_wr(f, DTR + 0x22, 8, 0xffff800000002000ull);
	sys_wr(f, GDT + SEL_TSS, 8, sys_seg(TSS, TSS_LIMIT, 0x89, 0)); /* available */
	sys_wr(f, GDT + SEL_TSS + 8, 8, 0x1234);		       /* base bits 63:32 */
	cpu->st.gdtr.base = 0;
	cpu->st.gdtr.limit = 0;
	cpu->st.seg[CPU_GS].base = 0x1111;
	cpu->msr.kernel_gs_base = 0x2222;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.gdtr.base, GDT);
	assert_int_equal(cpu->st.gdtr.limit, 0xff);
	assert_int_equal(sys_rd(f, DTR + 0x10, 2), 0xff);
	assert_int_equal(sys_rd(f, DTR + 0x12, 8), GDT);
	assert_int_equal(cpu->st.idtr.base, 0xffff800000002000ull);
	assert_int_equal(sys_rd(f, DTR + 0x32, 8), 0xffff800000002000ull);
	assert_int_equal(cpu->st.tr.selector, SEL_TSS);
	assert_int_equal(cpu->st.tr.base, 0x123400000000ull | TSS);
	assert_int_equal(cpu->st.tr.type, 0xb);
	assert_int_equal(f->ram[GDT + SEL_TSS + 5] & 0xf, 0xb); /* busy in the GDT */
	assert_int_equal(cpu->st.gpr[CPU_RBX], SEL_TSS);
	assert_int_equal(cpu->st.gpr[CPU_RCX], 0x00a0fb00); /* LAR of the 64-bit user CS */
	assert_int_equal(cpu->st.gpr[CPU_RDX], 0xffffffff); /* LSL of the kernel data */
	assert_int_equal(cpu->st.gpr[CPU_R8] & 0xff, 1);    /* VERW user data */
	assert_int_equal(cpu->st.gpr[CPU_R9] & 0xff, 0);    /* VERR kernel CS with RPL 3 */
	assert_int_equal(cpu->st.seg[CPU_GS].base, 0x2222);
	assert_int_equal(cpu->msr.kernel_gs_base, 0x1111);
	assert_int_equal(cpu->st.gpr[CPU_R10], 0x80000011);

	/* LTR of a busy TSS: #GP(sel); RDTSCP is not advertised: #UD; LGDT at CPL 3: #GP(0). */
	sys_long64(f, 0);
	sys_code(f, KCODE, sys_code_bytes, sizeof(sys_code_bytes));
	cpu->st.rip = KCODE + 36;
	cpu->st.gpr[CPU_RAX] = SEL_TSS;
	sys_expect_exc(f, BT_EXC_GP, SEL_TSS);
	sys_code(f, KCODE, rdtscp, sizeof(rdtscp));
	cpu->st.rip = KCODE;
	sys_expect_exc(f, BT_EXC_UD, -1);
	sys_long64(f, 3);
	sys_code(f, UCODE, sys_code_bytes, sizeof(sys_code_bytes));
	sys_expect_exc(f, BT_EXC_GP, 0);
}

/* CALL to a TSS: the old state is saved and linked, NT set; IRET with NT returns. */
static void test_task_switch(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_prot32(f, 0);
	sys_code(f, KCODE, task_code, sizeof(task_code));
	sys_code(f, KCODE + 0x500, task2_code, sizeof(task2_code));
	sys_wr(f, TSS2 + 0x20, 4, KCODE + 0x500);  /* EIP */
	sys_wr(f, TSS2 + 0x24, 4, 2);		   /* EFLAGS */
	sys_wr(f, TSS2 + 0x28, 4, 0x1234);	   /* EAX */
	sys_wr(f, TSS2 + 0x38, 4, KSTACK - 0x100); /* ESP */
	for (unsigned s = 0; s < CPU_NR_SEGS; s++)
		sys_wr(f, TSS2 + 0x48 + 4 * s, 2, s == CPU_CS ? SEL_KCODE32 : SEL_KDATA);
	cpu->st.gpr[CPU_RAX] = 0xaaaa;
	cpu->st.gpr[CPU_RBX] = 0xbbbb;
	/* Into the new task: 1 instruction. */
	assert_int_equal(bt_run(cpu, 1), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.rip, KCODE + 0x500);
	assert_int_equal(cpu->st.tr.selector, SEL_TSS2);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x1234);
	assert_int_equal(bt_get_rflags(cpu) & BT_NT, BT_NT);
	assert_int_equal(cpu->st.cr0 & 8, 8);	       /* TS */
	assert_int_equal(sys_rd(f, TSS2, 2), SEL_TSS); /* back link */
	assert_int_equal(sys_rd(f, TSS + 0x20, 4), KCODE + 7);
	assert_int_equal(sys_rd(f, TSS + 0x28, 4), 0xaaaa);
	assert_int_equal(f->ram[GDT + SEL_TSS2 + 5] & 0xf, 0xb);
	/* IRET with NT: back to the first task, right after the CALL. */
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.rip, KCODE + 8);
	assert_int_equal(cpu->st.tr.selector, SEL_TSS);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0xaaaa);
	assert_int_equal(cpu->st.gpr[CPU_RBX], 0xbbbb);
	assert_int_equal(sys_rd(f, TSS2 + 0x34, 4), 0x5678); /* EBX saved by the IRET */
	assert_int_equal(sys_rd(f, TSS2 + 0x20, 4), KCODE + 0x506);
	assert_int_equal(f->ram[GDT + SEL_TSS2 + 5] & 0xf, 0x9); /* no longer busy */
	assert_int_equal(bt_get_rflags(cpu) & BT_NT, 0);
}

/* IRETD into virtual-8086 mode; INT 21h from there to ring 0 pushes GS, FS, DS, ES too. */
static void test_v86_round_trip(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u32 sp = RSP0 - 36;

	sys_prot32(f, 0);
	sys_code(f, KCODE, v86_kernel, sizeof(v86_kernel));
	sys_code(f, 0xb010, v86_code, sizeof(v86_code));
	sys_wr(f, 0x20000, 2, 0xbeef);
	sys_gate(f, IDT + 0x21 * 8, SEL_KCODE32, HANDLERS + 16 * 0x21, 0xee, 0, false);
	assert_int_equal(bt_run(cpu, 11), BT_EXIT_LIMIT); /* the pushes, IRETD, the MOV */
	assert_int_equal(bt_get_rflags(cpu) & BT_VM, BT_VM);
	assert_int_equal(bt_cpu_cpl(cpu), 3);
	assert_int_equal(cpu->st.seg[CPU_DS].base, 0x20000);
	assert_int_equal(cpu->st.gpr[CPU_RAX] & 0xffff, 0xbeef);
	sys_expect_handler(f, 0x21);
	assert_int_equal(cpu->st.gpr[CPU_RSP], sp);
	assert_int_equal(sys_rd(f, sp, 4), 0x15);
	assert_int_equal(sys_rd(f, sp + 4, 4), 0x0b00);
	assert_int_equal(sys_rd(f, sp + 8, 4), 0x23202);
	assert_int_equal(sys_rd(f, sp + 12, 4), 0xfff0);
	assert_int_equal(sys_rd(f, sp + 16, 4), 0x1000);
	assert_int_equal(sys_rd(f, sp + 20, 4), 0x3000);
	assert_int_equal(sys_rd(f, sp + 24, 4), 0x2000);
	assert_int_equal(sys_rd(f, sp + 28, 4), 0);
	assert_int_equal(sys_rd(f, sp + 32, 4), 0);
	assert_int_equal(bt_get_rflags(cpu) & BT_VM, 0);
	assert_int_equal(cpu->st.seg[CPU_DS].selector, 0);
	assert_true(cpu->st.seg[CPU_DS].unusable);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_PROT32);
}

/* POPF sets TF: the next instruction completes, then #DB (a trap, DR6.BS); delivery clears TF. */
static void test_single_step(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	u64 sp;

	sys_long64(f, 0);
	sys_code(f, KCODE, tf_code, sizeof(tf_code));
	sys_expect_handler(f, BT_EXC_DB);
	sp = cpu->st.gpr[CPU_RSP];
	assert_int_equal(sys_rd(f, sp, 8), KCODE + 11); /* after the first NOP */
	assert_int_equal(sys_rd(f, sp + 16, 8) & BT_TF, BT_TF);
	assert_int_equal(bt_get_rflags(cpu) & BT_TF, 0);
	assert_int_equal(cpu->st.dr[6] & (1u << 14), 1u << 14);
}

/* The AP start-up path: real mode, LGDT, CR0.PE, far JMP to 32-bit code, paging, far JMP to 64-bit. */
static void test_real_to_long_mode(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	sys_long64(f, 0); /* for its tables; then back to the reset state */
	bt_cpu_reset(cpu);
	sys_code(f, 0xb000, tramp_code, sizeof(tramp_code));
	bt_cpu_load_seg_real(cpu, CPU_CS, 0x0b00);
	bt_cpu_load_seg_real(cpu, CPU_DS, 0x0b00);
	cpu->st.rip = 0;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_HLT);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x123456789ull);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_LONG64);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, SEL_KCODE64);
	assert_int_equal(cpu->st.seg[CPU_SS].selector, SEL_KDATA);
	assert_int_equal(bt_cpu_cpl(cpu), 0);
	assert_int_equal(cpu->st.efer & BT_EFER_LMA, BT_EFER_LMA);
	assert_int_equal(cpu->st.gdtr.base, GDT);
}

/* Kicks the CPU after two seconds, so that a run that never ends fails instead of hanging. */
static void *sys_watchdog(void *arg)
{
	struct timespec ts = { .tv_sec = 2 };

	nanosleep(&ts, NULL);
	bt_cpu_kick(arg);
	return NULL;
}

static enum bt_exit sys_run_watched(struct bt_cpu *cpu, u64 max_insns)
{
	pthread_t t;
	enum bt_exit why;

	assert_int_equal(pthread_create(&t, NULL, sys_watchdog, cpu), 0);
	why = bt_run(cpu, max_insns);
	pthread_cancel(t);
	pthread_join(t, NULL);
	cpu->exit_request = 0;
	return why;
}

/*
 * Found by fuzz_bt: a handler whose first instruction faults is delivered forever without an
 * instruction retiring, and bt_run never returned (guest time stopped; only a kick ended it).
 * Each delivery now counts against the instruction budget.
 */
static void test_faulting_handler_ends_run(void **state)
{
	struct sys_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;

	/* Real mode: #UD's IVT entry points at a UD2. */
	bt_cpu_reset(cpu);
	sys_code(f, 0xb000, lm_ud2, sizeof(lm_ud2));
	sys_wr(f, BT_EXC_UD * 4, 4, 0x0b000000);
	bt_cpu_load_seg_real(cpu, CPU_CS, 0x0b00);
	bt_cpu_load_seg_real(cpu, CPU_SS, 0x2000);
	cpu->st.gpr[CPU_RSP] = 0xfffe;
	cpu->st.rip = 0;
	assert_int_equal(sys_run_watched(cpu, 100), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.rip, 0);
	assert_int_equal(cpu->st.seg[CPU_CS].selector, 0x0b00);

	/* 64-bit mode: the #UD handler is a UD2 too. */
	sys_long64(f, 0);
	sys_code(f, KCODE, lm_ud2, sizeof(lm_ud2));
	sys_code(f, HANDLERS + 16 * BT_EXC_UD, lm_ud2, sizeof(lm_ud2));
	assert_int_equal(sys_run_watched(cpu, 50), BT_EXIT_LIMIT);
	assert_int_equal(cpu->st.rip, HANDLERS + 16 * BT_EXC_UD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seg_load_faults, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_prot32_int_privilege, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_long_mode_frames, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_double_triple_fault, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_call_gate, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_iret_ring3_round_trip, sys_setup,
						sys_teardown),
		cmocka_unit_test_setup_teardown(test_syscall_sysret, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_sysenter_sysexit, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_sti_shadow, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_hlt_wakes_on_intr, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_io_bitmap, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_system_instructions, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_task_switch, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_v86_round_trip, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_real_to_long_mode, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_single_step, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_faulting_handler_ends_run, sys_setup,
						sys_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
