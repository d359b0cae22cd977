// SPDX-License-Identifier: MIT
/* Test device (src/devices/testdev.c) through the real pio and mmio buses. */
#include "devices/testdev.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define PIO  0x520
#define MMIO 0xfeb00000ull

struct fixture {
	struct test_platform tp;
	struct fake_irq irq;
	struct testdev *t;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct testdev_config cfg = { .name = "testdev", .pio_base = PIO, .mmio_gpa = MMIO };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(testdev_create(&f->tp.p, &cfg, fake_irq_line(&f->irq, 5), &f->t, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	testdev_destroy(f->t);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u64 size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Every size at every offset inside SCRATCH reads back as little-endian memory. */
static void check_scratch(struct bus *bus, u64 base, unsigned max_size)
{
	const u64 pattern = 0x0123456789abcdefull;

	for (unsigned size = 1; size <= max_size; size *= 2) {
		for (unsigned off = 0; off + size <= 8; off++) {
			u64 v = (0xa5a5a5a5a5a5a5a5ull ^ (off * 0x1111111111111111ull)) &
				size_mask(size);
			u64 expect;

			bus_write(bus, base + TESTDEV_SCRATCH, 4, pattern & 0xffffffff);
			bus_write(bus, base + TESTDEV_SCRATCH + 4, 4, pattern >> 32);
			bus_write(bus, base + TESTDEV_SCRATCH + off, size, v);
			expect = (pattern & ~(size_mask(size) << (8 * off))) | (v << (8 * off));
			assert_int_equal(bus_read(bus, base + off, size), v);
			assert_int_equal(bus_read(bus, base, 4), expect & 0xffffffff);
			assert_int_equal(bus_read(bus, base + 4, 4), expect >> 32);
			assert_int_equal(bus_read(bus, base + TESTDEV_INVERT, 4),
					 ~expect & 0xffffffff);
			assert_int_equal(bus_read(bus, base + TESTDEV_INVERT + 4, 4),
					 ~expect >> 32);
		}
	}
}

static void test_pio_scratch_all_sizes(void **state)
{
	struct fixture *f = *state;

	check_scratch(&f->tp.p.pio, PIO, 4);
}

static void test_mmio_scratch_all_sizes(void **state)
{
	struct fixture *f = *state;
	struct bus *mmio = &f->tp.p.mmio;

	check_scratch(mmio, MMIO, 8);
	bus_write(mmio, MMIO, 8, 0xfedcba9876543210ull);
	assert_int_equal(bus_read(mmio, MMIO, 8), 0xfedcba9876543210ull);
	assert_int_equal(bus_read(mmio, MMIO + TESTDEV_INVERT, 8), ~0xfedcba9876543210ull);
	bus_write(mmio, MMIO + TESTDEV_INVERT, 8, 0); /* read-only */
	assert_int_equal(bus_read(mmio, MMIO + TESTDEV_INVERT, 8), ~0xfedcba9876543210ull);
	assert_int_equal(bus_read(mmio, MMIO + 0x800, 4), 0);
	/* Windows are independent. */
	assert_int_equal(bus_read(&f->tp.p.pio, PIO, 4), 0);
}

static void test_counter_and_id(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	assert_int_equal(bus_read(pio, PIO + TESTDEV_ID, 4), TESTDEV_ID_VALUE);
	assert_int_equal(bus_read(pio, PIO + TESTDEV_ID, 1), 'T');
	assert_int_equal(bus_read(pio, PIO + TESTDEV_COUNT, 4), 2);
	bus_write(pio, PIO, 1, 1);
	bus_write(pio, PIO, 2, 1);
	assert_int_equal(bus_read(pio, PIO + TESTDEV_COUNT, 4), 5);
	bus_write(pio, PIO + TESTDEV_COUNT, 4, 123);
	assert_int_equal(bus_read(pio, PIO + TESTDEV_COUNT, 4), 0);
	assert_int_equal(bus_read(pio, PIO + TESTDEV_COUNT, 4), 1);
	/* MMIO has its own counter. */
	assert_int_equal(bus_read(&f->tp.p.mmio, MMIO + TESTDEV_COUNT, 8), 0);
}

static void test_irq_register_drives_line(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	bus_write(pio, PIO + TESTDEV_IRQ, 1, 1);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(f->irq.last_pin, 5);
	assert_int_equal(bus_read(&f->tp.p.mmio, MMIO + TESTDEV_IRQ, 4), 1);
	bus_write(pio, PIO + TESTDEV_IRQ, 4, 1); /* no change: line untouched */
	assert_int_equal(f->irq.sets, 1);
	bus_write(&f->tp.p.mmio, MMIO + TESTDEV_IRQ, 4, 0);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	bus_write(pio, PIO + TESTDEV_IRQ + 1, 1, 1); /* not bit 0 */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	bus_write(pio, PIO + TESTDEV_IRQ, 1, 1);
	testdev_device_ops.reset(f->t);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(fake_irq_edges(&f->irq), 4);
}

static void test_bad_config(void **state)
{
	struct fixture *f = *state;
	struct testdev_config cfg = { .name = "t2", .mmio_gpa = 0x1234 };
	struct testdev *t2 = NULL;
	struct err err = { 0 };

	assert_int_equal(testdev_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &t2, &err),
			 -EINVAL);
	cfg.mmio_gpa = 0x100000;
	cfg.pio_base = PIO + 0x10;
	assert_int_equal(testdev_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &t2, &err), -EBUSY);
	/* The failed create left no MMIO mapping behind. */
	assert_false(bus_claimed(&f->tp.p.mmio, 0x100000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pio_scratch_all_sizes),
		T(test_mmio_scratch_all_sizes),
		T(test_counter_and_id),
		T(test_irq_register_drives_line),
		T(test_bad_config),
#undef T
	};

	return cmocka_run_group_tests_name("testdev", tests, NULL, NULL);
}
