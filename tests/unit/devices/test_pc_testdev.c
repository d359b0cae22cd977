// SPDX-License-Identifier: MIT
/* QEMU's PC test device (src/devices/pc_testdev.c) through the real pio and mmio buses. */
#include "devices/pc_testdev.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define RAM_BYTES (1u << 20)

struct fixture {
	struct test_platform tp;
	struct fake_irq irq[PC_TESTDEV_NR_IRQS];
	struct pc_testdev *t;
	u64 written_gpa, written_len;
	unsigned writes;
};

static void on_write(void *opaque, u64 gpa, u64 len)
{
	struct fixture *f = opaque;

	f->written_gpa = gpa;
	f->written_len = len;
	f->writes++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pc_testdev_config cfg = { .name = "pc-testdev" };
	struct irq_line irqs[PC_TESTDEV_NR_IRQS];

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM_BYTES), 0);
	f->tp.p.mem.on_write = on_write;
	f->tp.p.mem.on_write_opaque = f;
	for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
		irqs[n] = fake_irq_line(&f->irq[n], n);
	assert_int_equal(pc_testdev_create(&f->tp.p, &cfg, irqs, &f->t, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pc_testdev_destroy(f->t);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

/* A read at 0xe0+k is the register shifted right by 8k; writes replace only their bytes. */
static void test_scratch_by_width(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	bus_write(pio, PC_TESTDEV_PORT_DATA, 4, 0x12345678);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA, 4), 0x12345678);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA + 1, 2), 0x3456);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA + 2, 2), 0x1234);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA + 3, 1), 0x12);
	bus_write(pio, PC_TESTDEV_PORT_DATA + 2, 1, 0xaa);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA, 4), 0x12aa5678);
	/* the byte view is the same register, served byte by byte */
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_BYTE, 4), 0x12aa5678);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_BYTE + 3, 1), 0x12);
	bus_write(pio, PC_TESTDEV_PORT_BYTE, 4, 0xa1b2c3d4);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA, 4), 0xa1b2c3d4);
	pc_testdev_reset(f->t);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_DATA, 4), 0);
}

/* Each byte written to 0x2000+n sets line n to (byte != 0); reset lowers what was raised. */
static void test_irq_lines(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	bus_write(pio, PC_TESTDEV_PORT_IRQ + 3, 1, 0x80);
	bus_write(pio, PC_TESTDEV_PORT_IRQ + 23, 1, 1);
	for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
		assert_int_equal(fake_irq_level(&f->irq[n]), n == 3 || n == 23);
	bus_write(pio, PC_TESTDEV_PORT_IRQ + 3, 1, 0);
	assert_int_equal(fake_irq_level(&f->irq[3]), 0);
	/* a 4-byte write sets four lines, one per byte */
	bus_write(pio, PC_TESTDEV_PORT_IRQ + 8, 4, 0x01000100);
	assert_int_equal(fake_irq_level(&f->irq[8]), 0);
	assert_int_equal(fake_irq_level(&f->irq[9]), 1);
	assert_int_equal(fake_irq_level(&f->irq[10]), 0);
	assert_int_equal(fake_irq_level(&f->irq[11]), 1);
	assert_int_equal(bus_read(pio, PC_TESTDEV_PORT_IRQ + 9, 1), 0xff); /* write-only */
	pc_testdev_reset(f->t);
	for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
		assert_int_equal(fake_irq_level(&f->irq[n]), 0);
}

/* 64 KiB of little-endian memory behind the MMIO bus, every size, both ends. */
static void test_iomem(void **state)
{
	struct fixture *f = *state;
	struct bus *mmio = &f->tp.p.mmio;
	const u64 base = PC_TESTDEV_IOMEM_GPA, last = base + PC_TESTDEV_IOMEM_BYTES;

	bus_write(mmio, base, 8, 0x1122334455667788ull);
	assert_true(bus_read(mmio, base, 8) == 0x1122334455667788ull);
	assert_int_equal(bus_read(mmio, base + 1, 2), 0x6677);
	bus_write(mmio, last - 4, 4, 0xcafef00d);
	assert_int_equal(bus_read(mmio, last - 1, 1), 0xca);
	bus_write(mmio, base + 0x1235, 2, 0xbeef);
	assert_int_equal(bus_read(mmio, base + 0x1234, 4), 0xbeef00);
	pc_testdev_reset(f->t);
	assert_int_equal(bus_read(mmio, base, 8), 0);
	assert_int_equal(bus_read(mmio, last - 4, 4), 0);
}

/* A flush of a RAM page notifies gmem's writer hook for the whole page; other addresses not. */
static void test_flush_page(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	bus_write(pio, PC_TESTDEV_PORT_FLUSH, 4, 0x5123);
	assert_int_equal(f->writes, 1);
	assert_int_equal(f->written_gpa, 0x5000);
	assert_int_equal(f->written_len, PC_TESTDEV_FLUSH_BYTES);
	bus_write(pio, PC_TESTDEV_PORT_FLUSH, 4, RAM_BYTES - 1); /* the last page */
	assert_int_equal(f->writes, 2);
	assert_int_equal(f->written_gpa, RAM_BYTES - PC_TESTDEV_FLUSH_BYTES);
	bus_write(pio, PC_TESTDEV_PORT_FLUSH, 4, RAM_BYTES); /* past RAM */
	bus_write(pio, PC_TESTDEV_PORT_FLUSH, 4, (u32)PC_TESTDEV_IOMEM_GPA);
	assert_int_equal(f->writes, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scratch_by_width, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_page, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
