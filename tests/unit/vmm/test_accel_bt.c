// SPDX-License-Identifier: MIT
/*
 * The bt accelerator (src/bt-fallback/accel_bt.c) through its accel_ops, with
 * real-mode code in a small RAM and recording accel_io callbacks, each vCPU
 * on its own thread as vcpu.c runs them: a VMM kick stops a spinning vCPU
 * with VCPU_STOP_KICKED; HLT sleeps until the INTR pin rises, then the
 * interrupt is acknowledged and delivered through the IVT (SDM vol. 3A
 * 20.1.4); two vCPUs that wait for each other both progress (they run in
 * parallel); the state converts both ways; a RAM-like mapping with dirty logging reports the
 * pages guest stores hit, again after each harvest, and unmaps; dirty logging turned on while
 * a vCPU runs reports the page it keeps writing, again after every read of the log, and not
 * the page it wrote before.
 */
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
#include <time.h>

#include <cmocka.h>

#define RAM_SIZE   (1u << 20)
#define INTR_VEC   0x20
#define MAX_VCPUS  2
#define WAIT_LIMIT 5000 /* ms */

struct fixture;

struct vcpu_ctx {
	struct fixture *f;
	unsigned index;
	struct accel_vcpu *v;
	struct accel_io io;
	pthread_t thread;
	int ret;
	enum vcpu_stop why;
};

struct fixture {
	struct accel_vm *avm;
	u8 *ram;
	struct vcpu_ctx cpu[MAX_VCPUS];
	unsigned nr;
	int port_writes[256]; /* by port; atomics */
	int acks;
};

static void io_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct vcpu_ctx *c = opaque;

	if (is_write)
		__atomic_fetch_add(&c->f->port_writes[port & 0xff], 1, __ATOMIC_SEQ_CST);
	else
		memset(data, 0xff, size);
}

static void io_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	(void)opaque, (void)gpa;
	if (!is_write)
		memset(data, 0xff, size);
}

/* The INTA cycle of a one-shot interrupt controller: the vector once, and the pin drops. */
static int io_intr_ack(void *opaque, unsigned cpu)
{
	struct vcpu_ctx *c = opaque;

	/* No cmocka asserts off the test thread: a wrong CPU index counts as no ack. */
	if (cpu == c->index)
		__atomic_fetch_add(&c->f->acks, 1, __ATOMIC_SEQ_CST);
	accel_bt.vcpu_set_intr(c->v, false);
	return INTR_VEC;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool wait_for(const int *counter, int want)
{
	for (unsigned ms = 0; ms < WAIT_LIMIT; ms++) {
		if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* Real mode, CS = 0, IP = ip (the rest as after RESET). */
static void start_at(struct vcpu_ctx *c, u16 ip)
{
	struct cpu_state *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	assert_int_equal(accel_bt.vcpu_get(c->v, st), 0);
	st->seg[CPU_CS].selector = 0;
	st->seg[CPU_CS].base = 0;
	st->rip = ip;
	assert_int_equal(accel_bt.vcpu_set(c->v, st), 0);
	free(st);
}

static int setup_n(void **state, unsigned n, u64 ram_len)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct accel_config cfg = { .nr_vcpus = n, .ram_bytes = RAM_SIZE, .name = "test" };
	struct err err = { 0 };

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	assert_non_null(f->ram);
	assert_int_equal(accel_bt.probe(&err), 0);
	assert_int_equal(accel_bt.vm_create(&cfg, &f->avm, &err), 0);
	assert_int_equal(accel_bt.map_ram(f->avm, 0, ram_len, f->ram, 0), 0);
	f->nr = n;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu_ctx *c = &f->cpu[i];

		c->f = f;
		c->index = i;
		c->io = (struct accel_io){
			.vm = c, .pio = io_pio, .mmio = io_mmio, .intr_ack = io_intr_ack
		};
		assert_int_equal(accel_bt.vcpu_create(f->avm, i, &c->io, &c->v, &err), 0);
	}
	*state = f;
	return 0;
}

static int setup1(void **state)
{
	return setup_n(state, 1, RAM_SIZE);
}

static int setup2(void **state)
{
	return setup_n(state, 2, RAM_SIZE);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < f->nr; i++)
		accel_bt.vcpu_destroy(f->cpu[i].v);
	accel_bt.vm_destroy(f->avm);
	free(f->ram);
	free(f);
	return 0;
}

static void *run_thread(void *arg)
{
	struct vcpu_ctx *c = arg;

	c->ret = accel_bt.vcpu_run(c->v, &c->why);
	return NULL;
}

static void start(struct vcpu_ctx *c)
{
	c->why = VCPU_STOP_FAILED;
	assert_int_equal(pthread_create(&c->thread, NULL, run_thread, c), 0);
}

/* Kick and join; the run must end with KICKED. */
static void stop(struct vcpu_ctx *c)
{
	accel_bt.vcpu_kick(c->v);
	assert_int_equal(pthread_join(c->thread, NULL), 0);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->why, VCPU_STOP_KICKED);
}

static void put(struct fixture *f, u32 addr, const u8 *bytes, size_t n)
{
	memcpy(f->ram + addr, bytes, n);
}

/* A vCPU spinning in JMP $ returns KICKED when the VMM kicks it. */
static void test_kick_stops_spinning_vcpu(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xe6, 0x80, /* out 0x80, al */
		0xeb, 0xfe, /* jmp $ */
	};

	put(f, 0x7c00, code, sizeof(code));
	start_at(&f->cpu[0], 0x7c00);
	start(&f->cpu[0]);
	assert_true(wait_for(&f->port_writes[0x80], 1));
	sleep_ms(20);
	stop(&f->cpu[0]);
	/* A kick that arrives while the vCPU is not running is not lost either. */
	accel_bt.vcpu_kick(f->cpu[0].v);
	start(&f->cpu[0]);
	assert_int_equal(pthread_join(f->cpu[0].thread, NULL), 0);
	assert_int_equal(f->cpu[0].why, VCPU_STOP_KICKED);
}

/* HLT sleeps; the INTR pin wakes it; the vector goes through the IVT; HLT again. */
static void test_hlt_sleeps_until_intr(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xfb,	    /* sti */
		0xf4,	    /* hlt */
		0xeb, 0xfd, /* jmp hlt */
	};
	static const u8 handler[] = {
		0xe6, 0x81, /* out 0x81, al */
		0xcf,	    /* iret */
	};
	static const u8 ivt[] = { 0x00, 0x7d, 0x00, 0x00 }; /* 0000:7D00 */

	put(f, 0x7c00, code, sizeof(code));
	put(f, 0x7d00, handler, sizeof(handler));
	put(f, INTR_VEC * 4, ivt, sizeof(ivt));
	start_at(&f->cpu[0], 0x7c00);
	start(&f->cpu[0]);
	sleep_ms(50);
	assert_int_equal(__atomic_load_n(&f->acks, __ATOMIC_SEQ_CST), 0);
	accel_bt.vcpu_set_intr(f->cpu[0].v, true);
	assert_true(wait_for(&f->port_writes[0x81], 1));
	assert_int_equal(__atomic_load_n(&f->acks, __ATOMIC_SEQ_CST), 1);
	/* Halted again with the pin low: nothing more happens until the next rise. */
	sleep_ms(30);
	assert_int_equal(__atomic_load_n(&f->port_writes[0x81], __ATOMIC_SEQ_CST), 1);
	accel_bt.vcpu_set_intr(f->cpu[0].v, true);
	assert_true(wait_for(&f->port_writes[0x81], 2));
	stop(&f->cpu[0]);
}

/* An NMI wakes a vCPU halted with IF = 0 and goes through IVT entry 2; IF does not mask it. */
static void test_nmi_wakes_cli_hlt(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xfa,	    /* cli */
		0xf4,	    /* hlt */
		0xeb, 0xfd, /* jmp hlt */
	};
	static const u8 handler[] = {
		0xe6, 0x82, /* out 0x82, al */
		0xcf,	    /* iret */
	};
	static const u8 ivt[] = { 0x00, 0x7d, 0x00, 0x00 }; /* 0000:7D00 */

	put(f, 0x7c00, code, sizeof(code));
	put(f, 0x7d00, handler, sizeof(handler));
	put(f, 2 * 4, ivt, sizeof(ivt));
	start_at(&f->cpu[0], 0x7c00);
	start(&f->cpu[0]);
	sleep_ms(30);
	accel_bt.vcpu_set_intr(f->cpu[0].v, true); /* masked by IF = 0: stays halted */
	sleep_ms(30);
	assert_int_equal(__atomic_load_n(&f->acks, __ATOMIC_SEQ_CST), 0);
	accel_bt.vcpu_nmi(f->cpu[0].v);
	assert_true(wait_for(&f->port_writes[0x82], 1));
	assert_int_equal(__atomic_load_n(&f->acks, __ATOMIC_SEQ_CST), 0);
	stop(&f->cpu[0]);
}

/*
 * Two vCPUs wait for each other's flag: vCPU 0 sets its flag and spins until vCPU 1's is set;
 * vCPU 1 spins until vCPU 0's flag is set, then sets its own. Both finish only if vCPU 1 runs
 * while vCPU 0 spins (they run in parallel) and each sees the other's store.
 */
static void test_two_vcpus_take_turns(void **state)
{
	struct fixture *f = *state;
	static const u8 code0[] = {
		0xc6, 0x06, 0x00, 0x06, 0x01, /* mov byte [0x600], 1 */
		0x80, 0x3e, 0x01, 0x06, 0x01, /* 1: cmp byte [0x601], 1 */
		0x75, 0xf9,		      /* jne 1b */
		0xe6, 0x80,		      /* out 0x80, al */
		0xf4,			      /* 2: hlt */
		0xeb, 0xfd,		      /* jmp 2b */
	};
	static const u8 code1[] = {
		0x80, 0x3e, 0x00, 0x06, 0x01, /* 1: cmp byte [0x600], 1 */
		0x75, 0xf9,		      /* jne 1b */
		0xc6, 0x06, 0x01, 0x06, 0x01, /* mov byte [0x601], 1 */
		0xe6, 0x81,		      /* out 0x81, al */
		0xf4,			      /* 2: hlt */
		0xeb, 0xfd,		      /* jmp 2b */
	};

	put(f, 0x7c00, code0, sizeof(code0));
	put(f, 0x7d00, code1, sizeof(code1));
	start_at(&f->cpu[0], 0x7c00);
	start_at(&f->cpu[1], 0x7d00);
	start(&f->cpu[0]);
	sleep_ms(20); /* vCPU 0 spins alone for a while first */
	start(&f->cpu[1]);
	assert_true(wait_for(&f->port_writes[0x80], 1));
	assert_true(wait_for(&f->port_writes[0x81], 1));
	stop(&f->cpu[0]);
	stop(&f->cpu[1]);
}

/*
 * Dirty logging of device memory (a framebuffer BAR): a 64 KiB region at 0x80000 mapped with
 * ACCEL_MEM_LOG_DIRTY. The guest stores to its page 1, the log shows page 1 alone and is then
 * empty; after the harvest the guest stores to page 3 and to page 1 again: both are logged,
 * so the harvest took the cached write permission of page 1 away.
 */
static void test_dirty_log(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xb8, 0x00, 0x80,		    /* mov ax, 0x8000 */
		0x8e, 0xc0,			    /* mov es, ax */
		0x26, 0xc6, 0x06, 0x00, 0x10, 0x01, /* mov byte es:[0x1000], 1 */
		0xe6, 0x80,			    /* out 0x80, al */
		0x80, 0x3e, 0x00, 0x06, 0x01,	    /* 1: cmp byte [0x600], 1 */
		0x75, 0xf9,			    /* jne 1b */
		0x26, 0xc6, 0x06, 0x00, 0x30, 0x02, /* mov byte es:[0x3000], 2 */
		0x26, 0xc6, 0x06, 0x04, 0x10, 0x03, /* mov byte es:[0x1004], 3 */
		0xe6, 0x81,			    /* out 0x81, al */
		0xf4,				    /* 2: hlt */
		0xeb, 0xfd,			    /* jmp 2b */
	};
	const u64 fb_gpa = 0x80000, fb_len = 0x10000;
	unsigned long first[1], again[1], second[1], part[1];
	int ret_first, ret_again, ret_second;
	bool ran1, ran2;
	u8 *fb = aligned_alloc(4096, fb_len);

	assert_non_null(fb);
	memset(fb, 0, fb_len);
	assert_int_equal(accel_bt.map_ram(f->avm, fb_gpa, fb_len, fb, ACCEL_MEM_LOG_DIRTY), 0);
	assert_int_equal(accel_bt.dirty_log(f->avm, fb_gpa, fb_len, first), 0);
	assert_int_equal(first[0], 0);
	put(f, 0x7c00, code, sizeof(code));
	start_at(&f->cpu[0], 0x7c00);
	start(&f->cpu[0]);
	/* No asserts while the vCPU thread runs: a failed one would leave it running. */
	ran1 = wait_for(&f->port_writes[0x80], 1);
	ret_first = accel_bt.dirty_log(f->avm, fb_gpa, fb_len, first);
	ret_again = accel_bt.dirty_log(f->avm, fb_gpa, fb_len, again);
	__atomic_store_n(&f->ram[0x600], 1, __ATOMIC_SEQ_CST);
	ran2 = wait_for(&f->port_writes[0x81], 1);
	ret_second = accel_bt.dirty_log(f->avm, fb_gpa, fb_len, second);
	stop(&f->cpu[0]);
	assert_true(ran1);
	assert_true(ran2);
	assert_int_equal(ret_first, 0);
	assert_int_equal(first[0], 1ul << 1);
	assert_int_equal(ret_again, 0);
	assert_int_equal(again[0], 0);
	assert_int_equal(ret_second, 0);
	assert_int_equal(second[0], (1ul << 1) | (1ul << 3));
	assert_int_equal(fb[0x1000], 1);
	assert_int_equal(fb[0x1004], 3);
	assert_int_equal(fb[0x3000], 2);
	/* Part of the mapping; outside any logged mapping. */
	assert_int_equal(accel_bt.dirty_log(f->avm, fb_gpa + 0x1000, 0x2000, part), 0);
	assert_int_equal(accel_bt.dirty_log(f->avm, 0x7000, 0x1000, part), -EINVAL);
	assert_int_equal(accel_bt.map_ram(f->avm, fb_gpa, 0, NULL, 0), 0);
	assert_int_equal(accel_bt.dirty_log(f->avm, fb_gpa, fb_len, part), -ENOENT);
	free(fb);
}

static int setup_fb(void **state)
{
	return setup_n(state, 1, 0x80000);
}

/* vcpu_set then vcpu_get gives back the registers, flags and segments. */
static void test_state_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cpu_state *st = calloc(1, sizeof(*st)), *back = calloc(1, sizeof(*back));

	assert_non_null(st);
	assert_non_null(back);
	assert_int_equal(accel_bt.vcpu_get(f->cpu[0].v, st), 0);
	/* Power-on state (SDM vol. 3A table 10-1). */
	assert_int_equal(st->rip, 0xfff0);
	assert_int_equal(st->seg[CPU_CS].selector, 0xf000);
	assert_int_equal(st->seg[CPU_CS].base, 0xffff0000);
	assert_int_equal(st->rflags, 2);
	for (unsigned i = 0; i < CPU_NR_GPRS; i++)
		st->gpr[i] = 0x1111111111111111ull * (i + 1);
	st->rflags = 0x2 | 0x1 | 0x40 | 0x800; /* CF, ZF, OF */
	st->rip = 0x1234;
	st->seg[CPU_DS].selector = 0x40;
	st->seg[CPU_DS].base = 0x400;
	assert_int_equal(accel_bt.vcpu_set(f->cpu[0].v, st), 0);
	assert_int_equal(accel_bt.vcpu_get(f->cpu[0].v, back), 0);
	assert_memory_equal(back->gpr, st->gpr, sizeof(st->gpr));
	assert_int_equal(back->rflags, st->rflags);
	assert_int_equal(back->rip, 0x1234);
	assert_int_equal(back->seg[CPU_DS].base, 0x400);
	assert_int_equal(back->cr0, st->cr0);
	free(st);
	free(back);
}

static unsigned bits_set(const unsigned long *map, unsigned words)
{
	unsigned n = 0;

	for (unsigned i = 0; i < words; i++)
		n += (unsigned)__builtin_popcountl(map[i]);
	return n;
}

#define LOG_WORDS (RAM_SIZE / 4096 / (8 * sizeof(unsigned long)))

/* Dirty logging (ACCEL_MEM_LOG_DIRTY through map_ram, dirty_log) under a running vCPU. */
static void test_dirty_log_running(void **state)
{
	struct fixture *f = *state;
	static const u8 code[] = {
		0xc6, 0x06, 0x00, 0x60, 0x01, /* mov byte [0x6000], 1 */
		0xe6, 0x80,		      /* out 0x80, al */
		0xff, 0x06, 0x00, 0x50,	      /* loop: inc word [0x5000] */
		0xeb, 0xfa,		      /* jmp loop */
	};
	unsigned long map[LOG_WORDS];

	assert_int_equal(accel_bt.dirty_log(f->avm, 0, RAM_SIZE, map), -EINVAL); /* not logged */
	put(f, 0x7c00, code, sizeof(code));
	start_at(&f->cpu[0], 0x7c00);
	start(&f->cpu[0]);
	assert_true(wait_for(&f->port_writes[0x80], 1));
	assert_int_equal(accel_bt.map_ram(f->avm, 0, RAM_SIZE, f->ram, ACCEL_MEM_LOG_DIRTY), 0);
	for (unsigned round = 0; round < 3; round++) {
		sleep_ms(20);
		assert_int_equal(accel_bt.dirty_log(f->avm, 0, RAM_SIZE, map), 0);
		/* Only the counter's page: not the page written before logging, not the code. */
		assert_true(map[0] & (1ul << 5));
		assert_int_equal(bits_set(map, LOG_WORDS), 1);
	}
	/* A part of the region: bit 0 is its first page. */
	sleep_ms(20);
	assert_int_equal(accel_bt.dirty_log(f->avm, 0x4000, 0x4000, map), 0);
	assert_int_equal(map[0], 1ul << 1);
	assert_int_equal(accel_bt.map_ram(f->avm, 0, RAM_SIZE, f->ram, 0), 0);
	assert_int_equal(accel_bt.dirty_log(f->avm, 0, RAM_SIZE, map), -EINVAL);
	stop(&f->cpu[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kick_stops_spinning_vcpu, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_hlt_sleeps_until_intr, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_nmi_wakes_cli_hlt, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_two_vcpus_take_turns, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log_running, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log, setup_fb, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
