/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue tests (VIRTIO 1.2 sections 2.7.5-2.7.10): the test builds descriptor tables
 * and rings in guest RAM as a driver would, then pops and pushes; hostile rings (loops, chains
 * longer than the queue, buffers outside RAM, nested or malformed indirect tables, a runaway
 * available index) must break the queue without touching memory outside RAM.
 */
#include "test_platform.h"
#include "virtio/virtqueue.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM   (1u << 20)
#define QSZ   8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define BUFS  0x10000

struct fx {
	struct test_platform tp;
	struct virtqueue vq;
	struct vq_elem e;
	u16 avail_idx;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	f->vq.mem = &f->tp.p.mem;
	vq_reset(&f->vq);
	f->vq.size = QSZ;
	f->vq.desc = DESC;
	f->vq.avail = AVAIL;
	f->vq.used = USED;
	f->vq.ready = true;
	vq_batch_start(&f->vq);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static void put16(struct fx *f, u64 gpa, u16 v)
{
	memcpy((u8 *)f->tp.ram + gpa, &v, 2);
}

static u16 get16(struct fx *f, u64 gpa)
{
	u16 v;

	memcpy(&v, (u8 *)f->tp.ram + gpa, 2);
	return v;
}

static u32 get32(struct fx *f, u64 gpa)
{
	u32 v;

	memcpy(&v, (u8 *)f->tp.ram + gpa, 4);
	return v;
}

static void desc_at(struct fx *f, u64 table, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = (u8 *)f->tp.ram + table + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(struct fx *f, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	desc_at(f, DESC, i, addr, len, flags, next);
}

static void offer(struct fx *f, u16 head)
{
	put16(f, AVAIL + 4 + 2 * (f->avail_idx % QSZ), head);
	f->avail_idx++;
	put16(f, AVAIL + 2, f->avail_idx);
}

static void test_pop_push(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	memcpy((u8 *)f->tp.ram + BUFS, "hello", 5);
	desc(f, 3, BUFS, 5, VIRTQ_DESC_F_NEXT, 5);
	desc(f, 5, BUFS + 0x100, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUFS + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(f->e.head, 3);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.out_len, 5);
	assert_int_equal(f->e.in_len, 101);
	assert_ptr_equal(f->e.iov[0].iov_base, (u8 *)f->tp.ram + BUFS);
	assert_memory_equal(f->e.iov[0].iov_base, "hello", 5);
	assert_ptr_equal(f->e.iov[2].iov_base, (u8 *)f->tp.ram + BUFS + 0x200);
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);

	assert_int_equal(vq_push(&f->vq, 3, 42), 0);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(get32(f, USED + 4), 3);
	assert_int_equal(get32(f, USED + 8), 42);
	assert_true(vq_should_notify(&f->vq));
	/* The driver asks for no interrupts. */
	put16(f, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vq_push(&f->vq, 3, 1), 0);
	assert_false(vq_should_notify(&f->vq));
	/* Device-side suppression without EVENT_IDX: used->flags. */
	assert_false(vq_set_notification(&f->vq, false));
	assert_int_equal(get16(f, USED), VIRTQ_USED_F_NO_NOTIFY);
	assert_false(vq_set_notification(&f->vq, true));
	assert_int_equal(get16(f, USED), 0);
}

static void test_wraparound(void **state)
{
	struct fx *f = *state;

	/* Many rounds over the 16-bit indices and the ring slots. */
	desc(f, 0, BUFS, 16, 0, 0);
	for (unsigned n = 0; n < 70000; n++) {
		offer(f, 0);
		vq_batch_start(&f->vq);
		assert_int_equal(vq_pop(&f->vq, &f->e), 1);
		assert_int_equal(vq_push(&f->vq, 0, n), 0);
	}
	assert_int_equal(get16(f, USED + 2), (u16)70000);
	assert_int_equal(get32(f, USED + 4 + 8 * ((70000 - 1) % QSZ) + 4), 69999);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;

	f->vq.event_idx = true;
	desc(f, 0, BUFS, 16, 0, 0);
	/* used_event = 1: interrupt when used idx moves past 1. */
	put16(f, AVAIL + 4 + 2 * QSZ, 1);
	for (int i = 0; i < 3; i++)
		offer(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* used idx 1 */
	assert_true(vq_should_notify(&f->vq));	    /* first decision always signals */
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* used idx 2: crossed used_event 1 */
	assert_true(vq_should_notify(&f->vq));
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* used idx 3: event 1 already passed */
	assert_false(vq_should_notify(&f->vq));
	put16(f, AVAIL + 4 + 2 * QSZ, 5);
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* 4 */
	assert_false(vq_should_notify(&f->vq));
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* 5 */
	assert_int_equal(vq_push(&f->vq, 0, 0), 0); /* 6: passes 5 */
	assert_true(vq_should_notify(&f->vq));

	/* Device side: avail_event tells the driver where to kick next; flags stay 0. */
	assert_false(vq_set_notification(&f->vq, true));
	assert_int_equal(get16(f, USED + 4 + 8 * QSZ), 3);
	assert_int_equal(get16(f, USED), 0);
	offer(f, 0);
	assert_true(vq_set_notification(&f->vq, true));
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	const u64 table = 0x8000;

	desc_at(f, table, 0, BUFS, 16, VIRTQ_DESC_F_NEXT, 2);
	desc_at(f, table, 2, BUFS + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc_at(f, table, 1, BUFS + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(f, 0, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	/* Not negotiated: the queue breaks. */
	assert_int_equal(vq_pop(&f->vq, &f->e), -EIO);
	assert_true(f->vq.broken);
	assert_int_equal(vq_pop(&f->vq, &f->e), -EIO);

	vq_reset(&f->vq);
	f->vq.size = QSZ;
	f->vq.desc = DESC;
	f->vq.avail = AVAIL;
	f->vq.used = USED;
	f->vq.ready = true;
	f->vq.indirect = true;
	vq_batch_start(&f->vq);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.in_len, 513);
}

/* Each hostile ring must give -EIO and a broken queue. */
static void expect_broken(struct fx *f)
{
	assert_int_equal(vq_pop(&f->vq, &f->e), -EIO);
	assert_true(f->vq.broken);
	assert_int_equal(vq_pop(&f->vq, &f->e), -EIO);
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	desc(f, 0, BUFS, 1, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUFS, 1, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_chain_too_long(void **state)
{
	struct fx *f = *state;

	/* All QSZ descriptors chained, the last pointing back to an earlier one. */
	for (unsigned i = 0; i < QSZ; i++)
		desc(f, i, BUFS, 1, VIRTQ_DESC_F_NEXT, (u16)((i + 1) % QSZ));
	offer(f, 2);
	expect_broken(f);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	desc(f, 0, BUFS, 1, VIRTQ_DESC_F_NEXT, QSZ);
	offer(f, 0);
	expect_broken(f);
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	offer(f, 0xffff);
	expect_broken(f);
}

static void test_buffer_outside_ram(void **state)
{
	struct fx *f = *state;

	desc(f, 0, RAM - 8, 16, 0, 0); /* straddles the end of RAM */
	offer(f, 0);
	expect_broken(f);
}

static void test_buffer_wraps(void **state)
{
	struct fx *f = *state;

	desc(f, 0, UINT64_MAX - 4, 0x100, 0, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_rings_outside_ram(void **state)
{
	struct fx *f = *state;

	f->vq.avail = 0x40000000ull;
	expect_broken(f);
	/* Pushing into a used ring outside RAM fails cleanly too. */
	f->vq.used = 0x40000000ull;
	assert_int_equal(vq_push(&f->vq, 0, 0), -EFAULT);
}

static void test_desc_table_outside_ram(void **state)
{
	struct fx *f = *state;

	f->vq.desc = RAM - 16 * 2;
	offer(f, 5);
	expect_broken(f);
}

/* 2.7.13.2: a buffer is the device's until it is used; a head offered again while in flight
 * breaks the queue (a driver doing it could make the device work without end). */
static void test_head_in_flight(void **state)
{
	struct fx *f = *state;

	desc(f, 0, BUFS, 16, 0, 0);
	desc(f, 1, BUFS, 16, 0, 0);
	offer(f, 0);
	offer(f, 1);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_inflight(&f->vq), 2);
	assert_int_equal(vq_push(&f->vq, 1, 0), 0);
	assert_int_equal(vq_inflight(&f->vq), 1);
	offer(f, 1); /* used again: fine */
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(f->e.head, 1);
	offer(f, 0); /* still in flight */
	expect_broken(f);
	vq_reset(&f->vq);
	assert_int_equal(vq_inflight(&f->vq), 0);
}

/* A round returns at most a queue's worth of chains, then says it yielded; the next round
 * carries on where it stopped. */
static void test_round_budget(void **state)
{
	struct fx *f = *state;
	unsigned popped = 0;

	desc(f, 0, BUFS, 16, 0, 0);
	for (unsigned i = 0; i < 3 * QSZ; i++) {
		int ret;

		offer(f, 0); /* the driver re-posts each chain as soon as it is used */
		ret = vq_pop(&f->vq, &f->e);
		if (ret == 0)
			break;
		assert_int_equal(ret, 1);
		assert_int_equal(vq_push(&f->vq, 0, 0), 0);
		popped++;
	}
	assert_int_equal(popped, QSZ);
	assert_true(vq_batch_yielded(&f->vq));
	assert_false(f->vq.broken);
	vq_batch_start(&f->vq);
	assert_false(vq_batch_yielded(&f->vq));
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 0), 0);
	assert_int_equal(vq_pop(&f->vq, &f->e), 0); /* the ring is empty: not a yield */
	assert_false(vq_batch_yielded(&f->vq));
}

struct flipper {
	u16 *idx;
	volatile bool stop, started;
};

/* Another vCPU moving avail->idx across a byte boundary (0x00ff <-> 0x0100), one 16-bit
 * store at a time as a driver does. */
static void *flip_avail(void *arg)
{
	struct flipper *fl = arg;

	fl->started = true;
	while (!fl->stop) {
		__atomic_store_n(fl->idx, 0x00ff, __ATOMIC_RELEASE);
		__atomic_store_n(fl->idx, 0x0100, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * The device reads avail->idx with one 16-bit load: a driver's update on another vCPU is seen
 * before or after, never half done. (Read byte by byte, 0x00ff -> 0x0100 can be seen as
 * 0x0000 or 0x01ff, "ahead by more than the queue size", and a healthy queue was broken.)
 */
static void test_index_read_is_atomic(void **state)
{
	struct fx *f = *state;
	struct flipper fl = { .idx = (u16 *)((u8 *)f->tp.ram + AVAIL + 2) };
	unsigned popped = 0;
	pthread_t t;

	desc(f, 0, BUFS, 16, 0, 0);
	for (unsigned i = 0; i < QSZ; i++)
		put16(f, AVAIL + 4 + 2 * i, 0);
	f->vq.last_avail = f->vq.used_idx = 0x00ff;
	put16(f, AVAIL + 2, 0x00ff);
	assert_int_equal(pthread_create(&t, NULL, flip_avail, &fl), 0);
	while (!fl.started)
		sched_yield();
	for (unsigned i = 0; i < 50000000 && popped < 200000 && !f->vq.broken; i++) {
		int ret;

		vq_batch_start(&f->vq);
		ret = vq_pop(&f->vq, &f->e);
		if (ret == 1) {
			assert_int_equal(vq_push(&f->vq, 0, 0), 0);
			f->vq.last_avail = f->vq.used_idx = 0x00ff; /* and again */
			popped++;
		}
	}
	fl.stop = true;
	pthread_join(t, NULL);
	assert_false(f->vq.broken);
	assert_true(popped > 0);
}

static void test_avail_runaway(void **state)
{
	struct fx *f = *state;

	put16(f, AVAIL + 2, QSZ + 1);
	expect_broken(f);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;

	desc(f, 0, BUFS, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUFS, 4, 0, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_nested_indirect(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc_at(f, 0x8000, 0, 0x9000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc_at(f, 0x9000, 0, BUFS, 16, 0, 0);
	desc(f, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_indirect_bad_len(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc(f, 0, 0x8000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_indirect_empty(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc(f, 0, 0x8000, 0, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_indirect_loop(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc_at(f, 0x8000, 0, BUFS, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(f, 0x8000, 1, BUFS, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(f, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_indirect_outside_ram(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc(f, 0, RAM - 16, 64, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_indirect_in_chain(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = true;
	desc_at(f, 0x8000, 0, BUFS, 16, 0, 0);
	desc(f, 0, BUFS, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f);
}

static void test_iov_helpers(void **state)
{
	(void)state;
	char a[4] = "abcd", b[3] = "efg", out[8] = { 0 };
	struct iovec iov[2] = { { a, 4 }, { b, 3 } }, sl[2];

	assert_int_equal(vq_iov_to_buf(iov, 2, 2, out, 4), 4);
	assert_memory_equal(out, "cdef", 4);
	assert_int_equal(vq_iov_to_buf(iov, 2, 6, out, 4), 1);
	assert_int_equal(vq_iov_from_buf(iov, 2, 3, "XY", 2), 2);
	assert_memory_equal(a, "abcX", 4);
	assert_memory_equal(b, "Yfg", 3);
	assert_int_equal(vq_iov_slice(iov, 2, 1, 5, sl, 2), 2);
	assert_ptr_equal(sl[0].iov_base, a + 1);
	assert_int_equal(sl[0].iov_len, 3);
	assert_int_equal(sl[1].iov_len, 2);
	assert_int_equal(vq_iov_slice(iov, 2, 1, 7, sl, 2), -EINVAL);
	assert_int_equal(vq_iov_slice(iov, 2, 1, 5, sl, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pop_push),
		T(test_wraparound),
		T(test_event_idx),
		T(test_indirect),
		T(test_loop),
		T(test_chain_too_long),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_buffer_outside_ram),
		T(test_buffer_wraps),
		T(test_rings_outside_ram),
		T(test_desc_table_outside_ram),
		T(test_avail_runaway),
		T(test_head_in_flight),
		T(test_round_budget),
		T(test_index_read_is_atomic),
		T(test_readable_after_writable),
		T(test_nested_indirect),
		T(test_indirect_bad_len),
		T(test_indirect_empty),
		T(test_indirect_loop),
		T(test_indirect_outside_ram),
		T(test_indirect_in_chain),
		T(test_iov_helpers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
