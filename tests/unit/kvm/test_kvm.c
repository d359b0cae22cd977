/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of accel_kvm (src/vmm/kvm) against the host's /dev/kvm: a VM
 * with 64 KiB of RAM from mmap and tiny hand-assembled real-mode programs
 * (encodings per Intel SDM vol. 2). An accel_io records port and MMIO
 * accesses. Checked: OUT/IN and string OUT reach io->pio with the right
 * values, an access to unmapped memory reaches io->mmio (write data, read
 * result back in the guest), kicks from the vCPU thread and from another
 * thread, the CPUID model seen by the guest, vcpu_get/vcpu_set round trips
 * (and that the guest runs with the state set), the dirty log.
 *
 * Exits 77 (meson skip) when /dev/kvm is absent or unusable.
 */
#include "kvm_test_util.h"

#include "vmm/accel.h"
#include "vmm/base/err.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define RAM_BYTES  0x10000
#define CODE_GPA   0x1000
#define DONE_PORT  0xf4	 /* a write here ends the test program: the handler kicks */
#define IRQ_PORT   0x500 /* a write here makes the test raise GSI 5 (KVM_IRQ_LINE) */
#define MSI_PORT   0x501 /* a write here makes the test send an MSI for vector 0x30 to APIC 0 */
#define AP_PORT	   0xf5	 /* the application processor's hello in test_smp_init_sipi */
#define MAX_EVENTS 64

struct io_event {
	bool mmio, is_write;
	u64 addr;
	unsigned size;
	u64 value;
};

struct fixture {
	struct accel_vm *vm;
	struct accel_vcpu *vcpu;
	u8 *ram;
	struct accel_io io;
	struct io_event ev[MAX_EVENTS];
	unsigned nr_ev;
	u64 read_value; /* what port/MMIO reads return */
	bool done;
	u64 done_value;
	bool stop_dog; /* the run is over: the watchdog must not kick */
};

static void fx_record(struct fixture *f, bool mmio, u64 addr, unsigned size, bool is_write,
		      void *data)
{
	struct io_event *e;

	if (!is_write)
		memcpy(data, &f->read_value, size);
	if (f->nr_ev == MAX_EVENTS)
		return;
	e = &f->ev[f->nr_ev++];
	e->mmio = mmio;
	e->addr = addr;
	e->size = size;
	e->is_write = is_write;
	e->value = 0;
	memcpy(&e->value, data, size);
}

static void fx_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct fixture *f = opaque;

	if (port == IRQ_PORT && is_write) {
		assert_int_equal(accel_kvm.irq_line(f->vm, 5, 1), 0);
		return;
	}
	if (port == MSI_PORT && is_write) {
		assert_int_equal(accel_kvm.msi(f->vm, 0xfee00000, 0x30), 0);
		return;
	}
	if (port == DONE_PORT && is_write) {
		f->done = true;
		f->done_value = 0;
		memcpy(&f->done_value, data, size);
		accel_kvm.vcpu_kick(f->vcpu); /* from the vCPU thread itself */
		return;
	}
	fx_record(f, false, port, size, is_write, data);
}

static void fx_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	fx_record(opaque, true, gpa, size, is_write, data);
}

static int fx_setup_flags(void **state, unsigned map_flags)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct accel_config cfg = { .nr_vcpus = 1, .ram_bytes = RAM_BYTES, .name = "testvm" };
	struct err err = { 0 };

	assert_non_null(f);
	f->ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->ram != MAP_FAILED);
	f->io.vm = f;
	f->io.pio = fx_pio;
	f->io.mmio = fx_mmio;
	if (accel_kvm.vm_create(&cfg, &f->vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	assert_int_equal(accel_kvm.map_ram(f->vm, 0, RAM_BYTES, f->ram, map_flags), 0);
	if (accel_kvm.vcpu_create(f->vm, 0, &f->io, &f->vcpu, &err) < 0)
		fail_msg("vcpu_create: %s", err.msg);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_flags(state, 0);
}

static int fx_setup_dirty(void **state)
{
	return fx_setup_flags(state, ACCEL_MEM_LOG_DIRTY);
}

static int fx_teardown(void **state)
{
	struct fixture *f = *state;

	accel_kvm.vcpu_destroy(f->vcpu);
	accel_kvm.vm_destroy(f->vm);
	munmap(f->ram, RAM_BYTES);
	free(f);
	return 0;
}

/* Kicks the vCPU if the program has not finished within 10 s, so a broken test fails. */
static void *fx_watchdog(void *opaque)
{
	struct fixture *f = opaque;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 1000 && !__atomic_load_n(&f->stop_dog, __ATOMIC_SEQ_CST); i++)
		nanosleep(&ts, NULL);
	if (!__atomic_load_n(&f->stop_dog, __ATOMIC_SEQ_CST))
		accel_kvm.vcpu_kick(f->vcpu);
	return NULL;
}

/* Load code at CODE_GPA, enter real mode there, run until the DONE_PORT kick. */
static void fx_run(struct fixture *f, const u8 *code, size_t len)
{
	struct cpu_state st;
	enum vcpu_stop why = VCPU_STOP_FAILED;
	pthread_t dog;

	memcpy(f->ram + CODE_GPA, code, len);
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	kvm_test_real_mode(&st, CODE_GPA, 0x8000);
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	f->stop_dog = false;
	assert_int_equal(pthread_create(&dog, NULL, fx_watchdog, f), 0);
	assert_int_equal(accel_kvm.vcpu_run(f->vcpu, &why), 0);
	__atomic_store_n(&f->stop_dog, true, __ATOMIC_SEQ_CST);
	pthread_join(dog, NULL);
	assert_int_equal(why, VCPU_STOP_KICKED);
	assert_true(f->done);
}

static void test_out_in_reach_pio(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
		0xb0, 'A',	  /* mov al, 'A' */
		0xee,		  /* out dx, al */
		0xb8, 0x34, 0x12, /* mov ax, 0x1234 */
		0xef,		  /* out dx, ax */
		0xb2, 0xfd,	  /* mov dl, 0xfd */
		0xec,		  /* in al, dx */
		0xba, 0xf4, 0x00, /* mov dx, DONE_PORT */
		0xee,		  /* out dx, al */
	};

	f->read_value = 0x60;
	fx_run(f, code, sizeof(code));
	assert_int_equal(f->nr_ev, 3);
	assert_int_equal(f->ev[0].addr, 0x3f8);
	assert_int_equal(f->ev[0].size, 1);
	assert_true(f->ev[0].is_write);
	assert_int_equal(f->ev[0].value, 'A');
	assert_int_equal(f->ev[1].size, 2);
	assert_int_equal(f->ev[1].value, 0x1234);
	assert_int_equal(f->ev[2].addr, 0x3fd);
	assert_false(f->ev[2].is_write);
	assert_int_equal(f->done_value, 0x60); /* the IN result came back into AL */
}

static void test_string_out_each_element(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xfc,		  /* cld */
		0xbe, 0x00, 0x20, /* mov si, 0x2000 */
		0xb9, 0x05, 0x00, /* mov cx, 5 */
		0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
		0xf3, 0x6e,	  /* rep outsb */
		0xba, 0xf4, 0x00, /* mov dx, DONE_PORT */
		0x89, 0xc8,	  /* mov ax, cx */
		0xee,		  /* out dx, al */
	};
	char got[8] = { 0 };

	memcpy(f->ram + 0x2000, "hello", 5);
	fx_run(f, code, sizeof(code));
	assert_int_equal(f->nr_ev, 5);
	for (unsigned i = 0; i < f->nr_ev; i++) {
		assert_int_equal(f->ev[i].addr, 0x3f8);
		got[i] = (char)f->ev[i].value;
	}
	assert_string_equal(got, "hello");
	assert_int_equal(f->done_value, 0); /* CX counted down to 0 */
}

static void test_unmapped_access_reaches_mmio(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xbb, 0x00, 0xf0,		    /* mov bx, 0xf000 */
		0x8e, 0xdb,			    /* mov ds, bx */
		0xc7, 0x06, 0x10, 0x00, 0xef, 0xbe, /* mov word [0x10], 0xbeef */
		0xa1, 0x20, 0x00,		    /* mov ax, [0x20] */
		0xba, 0xf4, 0x00,		    /* mov dx, DONE_PORT */
		0xef,				    /* out dx, ax */
	};

	f->read_value = 0x5a3c;
	fx_run(f, code, sizeof(code));
	assert_int_equal(f->nr_ev, 2);
	assert_true(f->ev[0].mmio);
	assert_true(f->ev[0].is_write);
	assert_int_equal(f->ev[0].addr, 0xf0010);
	assert_int_equal(f->ev[0].size, 2);
	assert_int_equal(f->ev[0].value, 0xbeef);
	assert_true(f->ev[1].mmio);
	assert_false(f->ev[1].is_write);
	assert_int_equal(f->ev[1].addr, 0xf0020);
	assert_int_equal(f->done_value, 0x5a3c);
}

/* CPUID leaf in EAX -> register selected by the mov, written to DONE_PORT. */
static u32 fx_cpuid(struct fixture *f, u32 leaf, u8 mov_modrm)
{
	u8 code[] = {
		0x66, 0xb8, 0,	       0, 0, 0, /* mov eax, leaf */
		0x66, 0x31, 0xc9,		/* xor ecx, ecx */
		0x0f, 0xa2,			/* cpuid */
		0x66, 0x89, mov_modrm,		/* mov eax, reg */
		0xba, 0xf4, 0x00,		/* mov dx, DONE_PORT */
		0x66, 0xef,			/* out dx, eax */
	};

	memcpy(code + 2, &leaf, 4);
	f->done = false;
	fx_run(f, code, sizeof(code));
	return (u32)f->done_value;
}

#define MODRM_EAX_EBX 0xd8
#define MODRM_EAX_ECX 0xc8
#define MODRM_EAX_EDX 0xd0

/*
 * What the guest sees. Only fields every KVM flavour takes from KVM_SET_CPUID2 are checked
 * here: on the PVM flavour the feature words of leaf 1 come from the host (see
 * test_kvm_cpuid.c for the filtering itself).
 */
static void test_cpuid_seen_by_guest(void **state)
{
	struct fixture *f = *state;
	u32 ecx1 = fx_cpuid(f, 1, MODRM_EAX_ECX);
	u32 ebx1 = fx_cpuid(f, 1, MODRM_EAX_EBX);
	u32 sig[3];

	assert_true(ecx1 & (1u << 31));		  /* hypervisor present */
	assert_int_equal(ebx1 >> 24, 0);	  /* APIC id of vcpu0 */
	assert_int_equal((ebx1 >> 16) & 0xff, 1); /* one logical processor */
	sig[0] = fx_cpuid(f, 0x40000000, MODRM_EAX_EBX);
	sig[1] = fx_cpuid(f, 0x40000000, MODRM_EAX_ECX);
	sig[2] = fx_cpuid(f, 0x40000000, MODRM_EAX_EDX);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
}

static void test_state_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cpu_state st, back;
	static const u8 code[] = {
		0x88, 0xd8,	  /* mov al, bl */
		0xba, 0xf4, 0x00, /* mov dx, DONE_PORT */
		0xee,		  /* out dx, al */
	};
	enum vcpu_stop why;
	bool found_star = false;

	memcpy(f->ram + 0x3000, code, sizeof(code));
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	kvm_test_real_mode(&st, 0x3000, 0x7000);
	for (int i = 0; i < CPU_NR_GPRS; i++)
		if (i != CPU_RSP)
			st.gpr[i] = 0x1111111111111111ull * (u64)(i + 1);
	st.gpr[CPU_RBX] = 0x42;
	st.rflags = 0x2 | 0x1 | 0x40; /* CF, ZF */
	st.fx.fcw = 0x27f;
	st.fx.mxcsr = 0x1f80 | 0x8000; /* FZ */
	memset(st.fx.xmm[3], 0xa5, 16);
	st.dr[0] = 0x1234;
	st.cr2 = 0xdead000;
	for (unsigned i = 0; i < st.nr_msrs; i++) {
		if (st.msrs[i].index == 0xc0000081) { /* STAR */
			st.msrs[i].value = 0x0023001000000000ull;
			found_star = true;
		}
	}
	assert_true(found_star);
	st.interrupt_shadow = false;
	st.nmi_masked = true;
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &back), 0);
	assert_memory_equal(back.gpr, st.gpr, sizeof(st.gpr));
	assert_int_equal(back.rip, 0x3000);
	assert_int_equal(back.rflags, st.rflags);
	assert_memory_equal(back.seg, st.seg, sizeof(st.seg));
	assert_int_equal(back.cr2, st.cr2);
	assert_int_equal(back.fx.fcw, 0x27f);
	assert_int_equal(back.fx.mxcsr, st.fx.mxcsr);
	assert_memory_equal(back.fx.xmm[3], st.fx.xmm[3], 16);
	assert_int_equal(back.dr[0], 0x1234);
	assert_true(back.nmi_masked);
	assert_int_equal(back.nr_msrs, st.nr_msrs);
	for (unsigned i = 0; i < st.nr_msrs; i++) {
		assert_int_equal(back.msrs[i].index, st.msrs[i].index);
		if (st.msrs[i].index != 0x10) /* the TSC moves on */
			assert_int_equal(back.msrs[i].value, st.msrs[i].value);
	}
	assert_true(back.apic_base & (1u << 11)); /* LAPIC enabled, kept */
	/* The guest runs with what was set: BL reaches the port. */
	assert_int_equal(accel_kvm.vcpu_run(f->vcpu, &why), 0);
	assert_int_equal(why, VCPU_STOP_KICKED);
	assert_int_equal(f->done_value, 0x42);
}

/*
 * A 64-bit start state set directly through vcpu_set, as the Linux loader does (boot.rst
 * 64-bit protocol): paging with identity-mapped 2 MiB page 0 (SDM 3A 4.5), EFER.LME|LMA, a
 * 64-bit code segment. The program uses a 64-bit register, which only works in 64-bit mode.
 */
static void test_long_mode_state(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax, imm64 */
		0x48, 0xc1, 0xe8, 0x20,					    /* shr rax, 32 */
		0x66, 0xba, 0xf4, 0x00,					    /* mov dx, DONE_PORT */
		0xef,							    /* out dx, eax */
	};
	u64 pml4e = 0x3000 | 0x3, pdpte = 0x4000 | 0x3, pde = 0x0 | 0x83; /* P, RW, (PS) */
	struct cpu_state st, back;
	enum vcpu_stop why = VCPU_STOP_FAILED;

	memcpy(f->ram + 0x2000, &pml4e, 8);
	memcpy(f->ram + 0x3000, &pdpte, 8);
	memcpy(f->ram + 0x4000, &pde, 8);
	memcpy(f->ram + CODE_GPA, code, sizeof(code));
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	for (int i = 0; i < CPU_NR_SEGS; i++) {
		struct cpu_segment *sg = &st.seg[i];

		memset(sg, 0, sizeof(*sg));
		sg->selector = i == CPU_CS ? 0x10 : 0x18;
		sg->type = i == CPU_CS ? 0xb : 0x3;
		sg->limit = 0xffffffff;
		sg->s = sg->present = sg->g = 1;
		sg->l = i == CPU_CS;
		sg->db = i != CPU_CS;
	}
	st.cr0 = 0x80000011; /* PG, ET, PE */
	st.cr3 = 0x2000;
	st.cr4 = 0x20;	 /* PAE */
	st.efer = 0x500; /* LME, LMA */
	st.rip = CODE_GPA;
	st.rflags = 0x2;
	st.gpr[CPU_RSP] = 0x8000;
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &back), 0);
	assert_int_equal(back.efer & 0x500, 0x500);
	assert_int_equal(back.cr0, st.cr0);
	assert_int_equal(back.cr3, 0x2000);
	assert_int_equal(back.seg[CPU_CS].l, 1);
	assert_int_equal(accel_kvm.vcpu_run(f->vcpu, &why), 0);
	assert_int_equal(why, VCPU_STOP_KICKED);
	assert_true(f->done);
	assert_int_equal(f->done_value, 0x11223344);
}

static void test_initial_state(void **state)
{
	struct fixture *f = *state;
	struct cpu_state st;
	bool misc = false;

	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	assert_int_equal(st.fx.fcw, 0x37f);
	assert_int_equal(st.fx.mxcsr, 0x1f80);
	assert_int_equal(st.seg[CPU_CS].selector, 0xf000); /* reset vector */
	assert_int_equal(st.rip, 0xfff0);
	assert_int_equal(st.apic_base & ~0xfffull, 0xfee00000);
	assert_true(st.apic_base & (1u << 8)); /* BSP */
	for (unsigned i = 0; i < st.nr_msrs; i++)
		if (st.msrs[i].index == 0x1a0) /* MISC_ENABLE */
			misc = st.msrs[i].value & 1;
	assert_true(misc);
	assert_false(st.halted);
}

static void *fx_kicker(void *opaque)
{
	struct fixture *f = opaque;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	accel_kvm.vcpu_kick(f->vcpu);
	return NULL;
}

static void test_kick_from_other_thread(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = { 0xeb, 0xfe }; /* jmp $ */
	struct cpu_state st;
	enum vcpu_stop why = VCPU_STOP_FAILED;
	pthread_t t;

	memcpy(f->ram + CODE_GPA, code, sizeof(code));
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	kvm_test_real_mode(&st, CODE_GPA, 0x8000);
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	assert_int_equal(pthread_create(&t, NULL, fx_kicker, f), 0);
	assert_int_equal(accel_kvm.vcpu_run(f->vcpu, &why), 0);
	pthread_join(t, NULL);
	assert_int_equal(why, VCPU_STOP_KICKED);
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	assert_int_equal(st.rip, CODE_GPA); /* still spinning on the jmp */
	/* A kick is not sticky: the next run goes on until the next stop. */
	assert_int_equal(pthread_create(&t, NULL, fx_kicker, f), 0);
	assert_int_equal(accel_kvm.vcpu_run(f->vcpu, &why), 0);
	pthread_join(t, NULL);
	assert_int_equal(why, VCPU_STOP_KICKED);
}

static void test_dirty_log(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xc6, 0x06, 0x00, 0x50, 0x01, /* mov byte [0x5000], 1 */
		0xc6, 0x06, 0x00, 0xc0, 0x01, /* mov byte [0xc000], 1 */
		0xba, 0xf4, 0x00,	      /* mov dx, DONE_PORT */
		0xee,			      /* out dx, al */
	};
	unsigned long bitmap[1] = { 0 };

	/* Clear what loading the program dirtied so far (nothing: the host wrote). */
	assert_int_equal(accel_kvm.dirty_log(f->vm, 0, RAM_BYTES, bitmap), 0);
	fx_run(f, code, sizeof(code));
	assert_int_equal(accel_kvm.dirty_log(f->vm, 0, RAM_BYTES, bitmap), 0);
	assert_true(bitmap[0] & (1ul << 5));
	assert_true(bitmap[0] & (1ul << 0xc));
	assert_false(bitmap[0] & (1ul << 0xa));
	/* A sub-range: pages 0xc..0xf. */
	assert_int_equal(accel_kvm.dirty_log(f->vm, 0xc000, 0x4000, bitmap), 0);
	assert_int_equal(bitmap[0], 0); /* read and cleared above */
	/* Outside any slot. */
	assert_int_equal(accel_kvm.dirty_log(f->vm, 0x100000, 0x1000, bitmap), -ENOENT);
}

/*
 * KVM_IRQ_LINE reaches the guest through the in-kernel 8259: the program remaps the master
 * PIC to vector 0x20, unmasks IRQ5, asks for the interrupt (IRQ_PORT), then STI; HLT. The
 * handler at vector 0x25 writes 0x25 to DONE_PORT.
 */
static void test_irq_line_delivers(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xc7, 0x06, 0x94, 0x00, 0x28, 0x10, /* mov word [0x25*4], 0x1028 (handler) */
		0xc7, 0x06, 0x96, 0x00, 0x00, 0x00, /* mov word [0x25*4+2], 0 */
		0xb0, 0x11, 0xe6, 0x20,		    /* ICW1: out 0x20, 0x11 */
		0xb0, 0x20, 0xe6, 0x21,		    /* ICW2: vector base 0x20 */
		0xb0, 0x04, 0xe6, 0x21,		    /* ICW3: slave on IRQ2 */
		0xb0, 0x01, 0xe6, 0x21,		    /* ICW4: 8086 mode */
		0xb0, 0xdf, 0xe6, 0x21,		    /* OCW1: unmask IRQ5 only */
		0xba, 0x00, 0x05, 0xee,		    /* out IRQ_PORT, al */
		0xfb,				    /* sti */
		0xf4,				    /* hlt */
		0xeb, 0xfd,			    /* jmp back to hlt */
		/* 0x1028: handler */
		0xb0, 0x25,	  /* mov al, 0x25 */
		0xba, 0xf4, 0x00, /* mov dx, DONE_PORT */
		0xee,		  /* out dx, al */
	};

	assert_true(accel_kvm.has_irqchip);
	fx_run(f, code, sizeof(code));
	assert_int_equal(f->done_value, 0x25);
	assert_int_equal(accel_kvm.irq_line(f->vm, 5, 0), 0);
}

/*
 * KVM_SIGNAL_MSI reaches the in-kernel local APIC (SDM 3A 11.11: address 0xfee00000 = APIC 0,
 * data 0x30 = fixed, edge, vector 0x30). The LAPIC is put in x2APIC mode through apic_base so
 * the real-mode program can software-enable it with WRMSR to the SVR (MSR 0x80f).
 */
static void test_msi_delivers(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xc7, 0x06, 0xc0, 0x00, 0x25, 0x10, /* mov word [0x30*4], 0x1025 (handler) */
		0xc7, 0x06, 0xc2, 0x00, 0x00, 0x00, /* mov word [0x30*4+2], 0 */
		0x66, 0xb9, 0x0f, 0x08, 0x00, 0x00, /* mov ecx, 0x80f (x2APIC SVR) */
		0x66, 0xb8, 0xff, 0x01, 0x00, 0x00, /* mov eax, 0x1ff (enable, spurious 0xff) */
		0x66, 0x31, 0xd2,		    /* xor edx, edx */
		0x0f, 0x30,			    /* wrmsr */
		0xba, 0x01, 0x05, 0xee,		    /* out MSI_PORT, al */
		0xfb,				    /* sti */
		0xf4,				    /* hlt */
		0xeb, 0xfd,			    /* jmp back to hlt */
		/* 0x1025: handler */
		0xb0, 0x30,	  /* mov al, 0x30 */
		0xba, 0xf4, 0x00, /* mov dx, DONE_PORT */
		0xee,		  /* out dx, al */
	};
	struct cpu_state st;

	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	st.apic_base |= 1u << 10; /* EXTD: x2APIC mode (SDM 3A 11.12.1) */
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	fx_run(f, code, sizeof(code));
	assert_int_equal(f->done_value, 0x30);
}

/* A second vCPU waits for INIT/SIPI: KVM_RUN blocks until a kick; it is not the BSP. */
static void test_ap_waits_for_sipi(void **state)
{
	struct fixture *f = *state;
	struct accel_vcpu *ap = NULL, *bsp = f->vcpu;
	struct accel_vm *vm2 = NULL;
	struct accel_config cfg = { .nr_vcpus = 2, .ram_bytes = RAM_BYTES, .name = "smp" };
	struct err err = { 0 };
	struct cpu_state st;
	enum vcpu_stop why = VCPU_STOP_FAILED;
	pthread_t t;

	if (accel_kvm.vm_create(&cfg, &vm2, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	assert_int_equal(accel_kvm.map_ram(vm2, 0, RAM_BYTES, f->ram, 0), 0);
	if (accel_kvm.vcpu_create(vm2, 1, &f->io, &ap, &err) < 0)
		fail_msg("vcpu_create: %s", err.msg);
	assert_int_equal(accel_kvm.vcpu_get(ap, &st), 0);
	assert_false(st.apic_base & (1u << 8)); /* not the BSP */
	f->vcpu = ap;				/* fx_kicker kicks f->vcpu */
	assert_int_equal(pthread_create(&t, NULL, fx_kicker, f), 0);
	assert_int_equal(accel_kvm.vcpu_run(ap, &why), 0);
	pthread_join(t, NULL);
	assert_int_equal(why, VCPU_STOP_KICKED);
	assert_int_equal(f->nr_ev, 0); /* it ran nothing */
	accel_kvm.vcpu_destroy(ap);
	accel_kvm.vm_destroy(vm2);
	f->vcpu = bsp;
}

static void test_map_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(accel_kvm.map_ram(f->vm, 0x123, 0x1000, f->ram, 0), -EINVAL);
	assert_int_equal(accel_kvm.map_ram(f->vm, 0x200000, 0, f->ram, 0), -ENOENT);
	/* Remap the same slot with new flags, then remove and re-add. */
	assert_int_equal(accel_kvm.map_ram(f->vm, 0, RAM_BYTES, f->ram, ACCEL_MEM_LOG_DIRTY), 0);
	assert_int_equal(accel_kvm.map_ram(f->vm, 0, 0, NULL, 0), 0);
	assert_int_equal(accel_kvm.map_ram(f->vm, 0, RAM_BYTES, f->ram, 0), 0);
}

struct ap_thread {
	struct accel_vcpu *vcpu;
	enum vcpu_stop why;
	int ret;
};

static void *ap_run(void *opaque)
{
	struct ap_thread *a = opaque;

	a->ret = accel_kvm.vcpu_run(a->vcpu, &a->why);
	return NULL;
}

/*
 * SMP bring-up through the in-kernel local APICs (SDM 3A 8.4.4): the BSP, in x2APIC mode,
 * sends INIT then a start-up IPI with vector 0x02 to APIC 1 through the ICR (MSR 0x830); the
 * AP starts in real mode at 0x2000, says hello on AP_PORT, sets a flag in memory and halts;
 * the BSP waits for the flag and ends the program. The AP runs on its own thread.
 */
static void test_smp_init_sipi(void **state)
{
	struct fixture *f = *state;
	static const u8 bsp_code[] = {
		0x66, 0xb9, 0x30, 0x08, 0x00, 0x00, /* mov ecx, 0x830 (x2APIC ICR) */
		0x66, 0xba, 0x01, 0x00, 0x00, 0x00, /* mov edx, 1 (destination APIC id) */
		0x66, 0xb8, 0x00, 0x45, 0x00, 0x00, /* mov eax, 0x4500 (INIT, assert) */
		0x0f, 0x30,			    /* wrmsr */
		0x66, 0xb8, 0x02, 0x46, 0x00, 0x00, /* mov eax, 0x4602 (start-up, vector 2) */
		0x0f, 0x30,			    /* wrmsr */
		0x80, 0x3e, 0x00, 0x30, 0x01,	    /* wait: cmp byte [0x3000], 1 */
		0x75, 0xf9,			    /* jne wait */
		0xb0, 0xaa,			    /* mov al, 0xaa */
		0xba, 0xf4, 0x00,		    /* mov dx, DONE_PORT */
		0xee,				    /* out dx, al */
	};
	static const u8 ap_code[] = {
		0xb0, 0x55,		      /* mov al, 0x55 */
		0xba, 0xf5, 0x00,	      /* mov dx, AP_PORT */
		0xee,			      /* out dx, al */
		0xc6, 0x06, 0x00, 0x30, 0x01, /* mov byte [0x3000], 1 */
		0xf4,			      /* hlt */
		0xeb, 0xfd,		      /* jmp back to hlt */
	};
	struct accel_config cfg = { .nr_vcpus = 2, .ram_bytes = RAM_BYTES, .name = "smp" };
	struct accel_vcpu *bsp_saved = f->vcpu;
	struct accel_vm *vm_saved = f->vm;
	struct ap_thread ap = { .ret = -1 };
	struct err err = { 0 };
	struct cpu_state st;
	pthread_t t;

	if (accel_kvm.vm_create(&cfg, &f->vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	assert_int_equal(accel_kvm.map_ram(f->vm, 0, RAM_BYTES, f->ram, 0), 0);
	if (accel_kvm.vcpu_create(f->vm, 0, &f->io, &f->vcpu, &err) < 0 ||
	    accel_kvm.vcpu_create(f->vm, 1, &f->io, &ap.vcpu, &err) < 0)
		fail_msg("vcpu_create: %s", err.msg);
	memset(f->ram + 0x3000, 0, 1);
	memcpy(f->ram + 0x2000, ap_code, sizeof(ap_code));
	assert_int_equal(accel_kvm.vcpu_get(f->vcpu, &st), 0);
	st.apic_base |= 1u << 10; /* x2APIC mode, for the ICR MSR */
	assert_int_equal(accel_kvm.vcpu_set(f->vcpu, &st), 0);
	assert_int_equal(pthread_create(&t, NULL, ap_run, &ap), 0);
	fx_run(f, bsp_code, sizeof(bsp_code));
	accel_kvm.vcpu_kick(ap.vcpu); /* it halted after its hello */
	pthread_join(t, NULL);
	assert_int_equal(f->done_value, 0xaa);
	assert_int_equal(ap.ret, 0);
	assert_int_equal(ap.why, VCPU_STOP_KICKED);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].addr, AP_PORT);
	assert_int_equal(f->ev[0].value, 0x55);
	assert_int_equal(accel_kvm.vcpu_get(ap.vcpu, &st), 0);
	assert_int_equal(st.seg[CPU_CS].selector, 0x0200); /* SIPI vector 2 -> CS 0x200 */
	accel_kvm.vcpu_destroy(ap.vcpu);
	accel_kvm.vcpu_destroy(f->vcpu);
	accel_kvm.vm_destroy(f->vm);
	f->vcpu = bsp_saved;
	f->vm = vm_saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initial_state, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_out_in_reach_pio, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_string_out_each_element, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_access_reaches_mmio, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_seen_by_guest, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_long_mode_state, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_kick_from_other_thread, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log, fx_setup_dirty, fx_teardown),
		cmocka_unit_test_setup_teardown(test_irq_line_delivers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msi_delivers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ap_waits_for_sipi, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_smp_init_sipi, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_map_errors, fx_setup, fx_teardown),
	};

	kvm_test_require_kvm("test_kvm");
	return cmocka_run_group_tests_name("kvm", tests, NULL, NULL);
}
