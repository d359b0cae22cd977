// SPDX-License-Identifier: MIT
/* The bus: range checks, dispatch by offset, access-size adaptation, unclaimed accesses. */
#include "vmm/base/err.h"
#include "vmm/bus.h"

#include "vmm/platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* A byte-array device that records the sizes it was called with. */
struct fake_dev {
	u8 regs[64];
	unsigned sizes_seen; /* bit n: an access of 1<<n bytes */
	unsigned calls;
};

static u64 fake_read(void *opaque, u64 off, unsigned size)
{
	struct fake_dev *d = opaque;
	u64 v = 0;

	d->sizes_seen |= size;
	d->calls++;
	memcpy(&v, d->regs + off, size);
	return v;
}

static void fake_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct fake_dev *d = opaque;

	d->sizes_seen |= size;
	d->calls++;
	memcpy(d->regs + off, &val, size);
}

static const struct io_ops fake_any = {
	.read = fake_read, .write = fake_write, .min_size = 1, .max_size = 8
};
static const struct io_ops fake_dword = {
	.read = fake_read, .write = fake_write, .min_size = 4, .max_size = 4
};
static const struct io_ops fake_byte = {
	.read = fake_read, .write = fake_write, .min_size = 1, .max_size = 1
};

static void test_map_rejects_overlap_and_empty(void **state)
{
	struct fake_dev a = { 0 }, b = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "pio", 0, NULL);
	assert_int_equal(bus_map(&bus, 0x100, 0x10, &fake_any, &a, "a"), 0);
	assert_int_equal(bus_map(&bus, 0x10f, 1, &fake_any, &b, "b"), -EBUSY);
	assert_int_equal(bus_map(&bus, 0xf8, 0x9, &fake_any, &b, "b"), -EBUSY);
	assert_int_equal(bus_map(&bus, 0x200, 0, &fake_any, &b, "b"), -EINVAL);
	assert_int_equal(bus_map(&bus, ~0ull, 2, &fake_any, &b, "b"), -EINVAL); /* wraps */
	assert_int_equal(bus_map(&bus, 0x110, 0x10, &fake_any, &b, "b"), 0); /* adjacent is fine */
	assert_int_equal(bus_map(&bus, 0xf0, 0x10, &fake_any, &b, "b2"), 0);
	assert_true(bus_claimed(&bus, 0x11f));
	assert_false(bus_claimed(&bus, 0x120));
	assert_int_equal(bus_unmap(&bus, 0x110), 0);
	assert_false(bus_claimed(&bus, 0x110));
	assert_int_equal(bus_unmap(&bus, 0x110), -ENOENT);
	bus_destroy(&bus);
}

/* A device's failed mapping names the device and the range, in the bus's own words. */
static void test_map_dev_messages(void **state)
{
	struct fake_dev a = { 0 };
	struct err err = { 0 };
	struct bus pio, mmio;

	(void)state;
	bus_init(&pio, "pio", 0, NULL);
	bus_init(&mmio, "mmio", 0, NULL);
	assert_int_equal(bus_map_dev(&pio, 0x60, 1, &fake_any, &a, "kbd", &err), 0);
	assert_int_equal(bus_map_dev(&pio, 0x60, 1, &fake_any, &a, "kbd2", &err), -EBUSY);
	assert_string_equal(err.msg, "kbd2: port 0x60 already in use");
	assert_int_equal(bus_map_dev(&pio, 0x5e, 4, &fake_any, &a, "dev", &err), -EBUSY);
	assert_string_equal(err.msg, "dev: ports 0x5e-0x61 already in use");
	assert_int_equal(bus_map_dev(&mmio, 0xfec00000, 0x20, &fake_any, &a, "io", &err), 0);
	assert_int_equal(bus_map_dev(&mmio, 0xfec00000, 0x20, &fake_any, &a, "io2", &err), -EBUSY);
	assert_string_equal(err.msg, "io2: MMIO 0xfec00000-0xfec0001f already in use");
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_dispatch_by_offset_and_unclaimed(void **state)
{
	struct fake_dev a = { 0 }, b = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio", 0, NULL);
	/* Map in reverse order to check sorting. */
	assert_int_equal(bus_map(&bus, 0x2000, 0x40, &fake_any, &b, "b"), 0);
	assert_int_equal(bus_map(&bus, 0x1000, 0x40, &fake_any, &a, "a"), 0);
	bus_write(&bus, 0x1004, 4, 0xdeadbeef);
	bus_write(&bus, 0x2008, 2, 0x1234);
	assert_int_equal(a.regs[4], 0xef);
	assert_int_equal(b.regs[8], 0x34);
	assert_int_equal(bus_read(&bus, 0x1004, 4), 0xdeadbeef);
	assert_int_equal(bus_read(&bus, 0x3000, 4), 0xffffffff);
	assert_int_equal(bus_read(&bus, 0x3000, 1), 0xff);
	assert_int_equal(bus_read(&bus, 0x3000, 8), ~0ull);
	/* An access that runs off the end of a range is unclaimed, not half-served. */
	assert_int_equal(bus_read(&bus, 0x103e, 4), 0xffffffff);
	bus_write(&bus, 0x5000, 4, 1);
	assert_int_equal(bus.unclaimed, 5); /* three reads at 0x3000, one off the end, one write */
	bus_destroy(&bus);
}

static void test_wide_access_split_for_dword_device(void **state)
{
	struct fake_dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio", 0, NULL);
	assert_int_equal(bus_map(&bus, 0, 0x40, &fake_dword, &d, "d"), 0);
	bus_write(&bus, 0x8, 8, 0x1122334455667788ull);
	assert_int_equal(d.sizes_seen, 4);
	assert_int_equal(d.calls, 2);
	assert_int_equal(bus_read(&bus, 0x8, 8), 0x1122334455667788ull);
	bus_destroy(&bus);
}

static void test_narrow_access_widened_read_modify_write(void **state)
{
	struct fake_dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio", 0, NULL);
	assert_int_equal(bus_map(&bus, 0, 0x40, &fake_dword, &d, "d"), 0);
	bus_write(&bus, 0x4, 4, 0xaabbccdd);
	bus_write(&bus, 0x5, 1, 0x11); /* byte 1 of the dword at 4 */
	assert_int_equal(d.sizes_seen, 4);
	assert_int_equal(bus_read(&bus, 0x4, 4), 0xaabb11dd);
	assert_int_equal(bus_read(&bus, 0x6, 2), 0xaabb);
	assert_int_equal(bus_read(&bus, 0x7, 1), 0xaa);
	/* A word straddling two dwords goes byte by byte. */
	bus_write(&bus, 0x8, 4, 0x44332211);
	assert_int_equal(bus_read(&bus, 0x7, 2), 0x11aa);
	bus_destroy(&bus);
}

static void test_byte_device_sees_only_bytes(void **state)
{
	struct fake_dev d = { 0 };
	struct bus bus;

	(void)state;
	bus_init(&bus, "pio", 0, NULL);
	assert_int_equal(bus_map(&bus, 0x3f8, 8, &fake_byte, &d, "uart"), 0);
	bus_write(&bus, 0x3f8, 4, 0x04030201);
	assert_int_equal(d.sizes_seen, 1);
	assert_memory_equal(d.regs, "\x01\x02\x03\x04", 4);
	assert_int_equal(bus_read(&bus, 0x3f9, 2), 0x0302);
	bus_destroy(&bus);
}

/* A device whose register write moves its own window, as a PCI BAR write does. */
struct moving_dev {
	struct bus *bus;
	struct fake_dev regs;
	u64 base;
};

static const struct io_ops moving_ops;

static void moving_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct moving_dev *m = opaque;

	if (off == 0) { /* register 0: the new base */
		assert_int_equal(bus_unmap(m->bus, m->base), 0);
		m->base = val;
		assert_int_equal(bus_map(m->bus, m->base, 0x10, &moving_ops, m, "moving"), 0);
		return;
	}
	fake_write(&m->regs, off, size, val);
}

static u64 moving_read(void *opaque, u64 off, unsigned size)
{
	struct moving_dev *m = opaque;

	return fake_read(&m->regs, off, size);
}

static const struct io_ops moving_ops = {
	.read = moving_read, .write = moving_write, .min_size = 1, .max_size = 8
};

static void test_handler_may_remap_under_the_device_lock(void **state)
{
	struct platform p = { 0 };
	struct moving_dev m = { .bus = &p.mmio, .base = 0x1000 };

	(void)state;
	platform_lock_init(&p);
	bus_init(&p.mmio, "mmio", 0, &p.dev_lock);
	/* Other ranges around it, so the move reorders the table under the running access. */
	assert_int_equal(bus_map(&p.mmio, 0x0, 0x10, &fake_any, &m.regs, "low"), 0);
	assert_int_equal(bus_map(&p.mmio, m.base, 0x10, &moving_ops, &m, "moving"), 0);
	assert_int_equal(bus_map(&p.mmio, 0x3000, 0x10, &fake_any, &m.regs, "high"), 0);
	bus_write(&p.mmio, 0x1000, 8, 0x5000); /* takes the lock, the handler takes it again */
	assert_false(bus_claimed(&p.mmio, 0x1000));
	bus_write(&p.mmio, 0x5008, 4, 0xcafe);
	assert_int_equal(bus_read(&p.mmio, 0x5008, 4), 0xcafe);
	bus_destroy(&p.mmio);
	pthread_mutex_destroy(&p.dev_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_rejects_overlap_and_empty),
		cmocka_unit_test(test_map_dev_messages),
		cmocka_unit_test(test_dispatch_by_offset_and_unclaimed),
		cmocka_unit_test(test_wide_access_split_for_dword_device),
		cmocka_unit_test(test_narrow_access_widened_read_modify_write),
		cmocka_unit_test(test_byte_device_sees_only_bytes),
		cmocka_unit_test(test_handler_may_remap_under_the_device_lock),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
