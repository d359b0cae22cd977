// SPDX-License-Identifier: MIT
/*
 * QEMU's PCI test device (src/devices/pci_testdev.c) on a real PCI host, driven through ports
 * 0xcf8-0xcff and its BARs as a guest does. The accelerator's eventfd path is a fake that
 * behaves as KVM's ioeventfds do: a write matching a bound eventfd (address, length and, with
 * datamatch, value) signals it and never reaches the bus.
 */
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "test_platform.h"
#include "vmm/state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include <cmocka.h>

#define SLOT	   4
#define MAX_BOUND  8
#define NR_WRITES  16
#define MOVED_BAR0 0xfe000000u
#define GUEST_BAR0 0xfea00000u
#define GUEST_BAR1 0xc100u

struct bound {
	u64 addr, data;
	unsigned len;
	bool is_pio, match;
	int fd;
};

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct pci_testdev *t;
	bool with_accel;
	struct bound bound[MAX_BOUND]; /* what the fake accelerator has bound */
	unsigned nr_bound;
	unsigned assigns, removes;
};

/* The fake accelerator: keeps the bindings as KVM would, refuses a double binding. */
static int fake_ioeventfd(void *opaque, u64 addr, unsigned len, bool is_pio, bool match, u64 data,
			  int fd, bool assign)
{
	struct fixture *f = opaque;
	struct bound b = { addr, match ? data : 0, len, is_pio, match, fd };

	for (unsigned i = 0; i < f->nr_bound; i++) {
		struct bound *o = &f->bound[i];

		if (o->addr != b.addr || o->data != b.data || o->len != b.len ||
		    o->is_pio != b.is_pio || o->match != b.match || o->fd != b.fd)
			continue;
		if (assign)
			return -EEXIST;
		f->bound[i] = f->bound[--f->nr_bound];
		f->removes++;
		return 0;
	}
	if (!assign)
		return -ENOENT;
	assert_true(f->nr_bound < MAX_BOUND);
	f->bound[f->nr_bound++] = b;
	f->assigns++;
	return 0;
}

static int setup_with(void **state, bool assign_bars, bool with_accel)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config hc = { .name = "pci0" };
	struct pci_testdev_config cfg = { .name = "pci-testdev", .assign_bars = assign_bars };

	assert_non_null(f);
	if (with_accel)
		cfg.accel = (struct pci_testdev_accel){ .ioeventfd = fake_ioeventfd, .opaque = f };
	f->with_accel = with_accel;
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	assert_int_equal(pci_testdev_create(&f->tp.p, &cfg, &f->t, NULL), 0);
	assert_int_equal(pci_host_add(f->host, pci_testdev_pci(f->t), SLOT, 0, NULL), 0);
	pci_testdev_assign_bars(f->t);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false, false);
}

static int setup_assigned(void **state)
{
	return setup_with(state, true, false);
}

static int setup_accel(void **state)
{
	return setup_with(state, true, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_host_remove(f->host, pci_testdev_pci(f->t));
	pci_testdev_destroy(f->t);
	assert_int_equal(f->nr_bound, 0); /* destroy unbinds what it bound */
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 cfg_read(struct fixture *f, unsigned reg, unsigned size)
{
	bus_write(&f->tp.p.pio, PCI_CONFIG_ADDRESS_PORT, 4,
		  PCI_CONFIG_ENABLE | SLOT << 11 | (reg & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, PCI_CONFIG_DATA_PORT + (reg & 3), size);
}

static void cfg_write(struct fixture *f, unsigned reg, unsigned size, u32 val)
{
	bus_write(&f->tp.p.pio, PCI_CONFIG_ADDRESS_PORT, 4,
		  PCI_CONFIG_ENABLE | SLOT << 11 | (reg & 0xfc));
	bus_write(&f->tp.p.pio, PCI_CONFIG_DATA_PORT + (reg & 3), size, val);
}

/* The guest's BARs as it programs them, decoding on. */
static void guest_assign(struct fixture *f)
{
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, GUEST_BAR0);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4, 4, GUEST_BAR1);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

static u64 bar_base(struct fixture *f, unsigned bar)
{
	u32 v = cfg_read(f, PCI_BASE_ADDRESS_0 + 4 * bar, 4);

	return bar ? v & ~3u : v & ~0xfu;
}

static struct bus *bar_bus(struct fixture *f, unsigned bar)
{
	return bar ? &f->tp.p.pio : &f->tp.p.mmio;
}

static u64 rd(struct fixture *f, unsigned bar, u64 off, unsigned size)
{
	return bus_read(bar_bus(f, bar), bar_base(f, bar) + off, size);
}

/* A guest write: into a bound eventfd when one matches (as KVM does), else to the bus. */
static void wr(struct fixture *f, unsigned bar, u64 off, unsigned size, u64 val)
{
	u64 addr = bar_base(f, bar) + off;

	for (unsigned i = 0; i < f->nr_bound; i++) {
		struct bound *b = &f->bound[i];

		if (b->addr == addr && b->len == size && b->is_pio == (bar == 1) &&
		    (!b->match || b->data == val)) {
			assert_int_equal(eventfd_write(b->fd, 1), 0);
			return;
		}
	}
	bus_write(bar_bus(f, bar), addr, size, val);
}

static void read_name(struct fixture *f, unsigned bar, char *out, size_t len)
{
	size_t i = 0;

	for (; i + 1 < len; i++) {
		out[i] = (char)rd(f, bar, PCI_TESTDEV_HDR_NAME + i, 1);
		if (!out[i])
			break;
	}
	out[i] = 0;
}

/* Identity as QEMU's device has it; the BARs size as 4 KiB of memory and 256 I/O ports. */
static void test_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 4), 0x00051b36);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 4), 0xff000000);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 0);
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 4, 4), 0xffffff01);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 8, 4), 0);
}

/* Without assign_bars nothing decodes until the guest programs the BARs. */
static void test_unassigned(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 4, 4), 1);
	assert_int_equal(cfg_read(f, PCI_COMMAND, 2), 0);
	wr(f, 1, PCI_TESTDEV_HDR_TEST, 1, 0); /* port 0: nobody */
	guest_assign(f);
	wr(f, 1, PCI_TESTDEV_HDR_TEST, 1, 0);
	assert_int_equal(rd(f, 1, PCI_TESTDEV_HDR_WIDTH, 1), 4);
}

/* With assign_bars (no firmware) the BARs decode at their addresses, after every reset too. */
static void test_assigned(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), PCI_TESTDEV_BAR0_GPA);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 4, 4), PCI_TESTDEV_BAR1_PORT | 1);
	assert_int_equal(cfg_read(f, PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	bus_write(&f->tp.p.mmio, PCI_TESTDEV_BAR0_GPA, 1, 2);
	assert_int_equal(bus_read(&f->tp.p.mmio, PCI_TESTDEV_BAR0_GPA + PCI_TESTDEV_HDR_WIDTH, 1),
			 1);
	guest_assign(f);
	assert_int_equal(bar_base(f, 0), GUEST_BAR0);
	assert_int_equal(rd(f, 0, PCI_TESTDEV_HDR_WIDTH, 1), 1); /* the test stays selected */
	/* the host bridge resets its functions first, then the device itself (board order) */
	pci_host_reset(f->host);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), 0);
	pci_testdev_reset(f->t);
	assert_int_equal(bar_base(f, 0), PCI_TESTDEV_BAR0_GPA);
	assert_int_equal(bar_base(f, 1), PCI_TESTDEV_BAR1_PORT);
	assert_int_equal(rd(f, 0, PCI_TESTDEV_HDR_WIDTH, 1), 0); /* no test after reset */
}

/*
 * The records, scanned as kvm-unit-tests does: tests 0..2 on each BAR, each with a width of
 * 1, 2 or 4, an offset past its name in the BAR's second half, count 0 when selected and 16
 * after 16 writes of data; a value other than data counts only for the wildcard test, another
 * width never; a test number past the last selects none (every byte 0).
 */
static void test_records(void **state)
{
	static const char *const names[2][PCI_TESTDEV_NR_TESTS] = {
		{ "mmio-no-eventfd", "mmio-wildcard-eventfd", "mmio-datamatch-eventfd" },
		{ "portio-no-eventfd", "portio-wildcard-eventfd", "portio-datamatch-eventfd" },
	};
	struct fixture *f = *state;
	char name[64];

	if (!f->with_accel)
		guest_assign(f);
	for (unsigned bar = 0; bar < 2; bar++) {
		u32 bar_bytes = bar ? PCI_TESTDEV_IO_BYTES : PCI_TESTDEV_MMIO_BYTES;

		for (unsigned n = 0; n < PCI_TESTDEV_NR_TESTS; n++) {
			unsigned width;
			u32 off, data, wrong;

			wr(f, bar, PCI_TESTDEV_HDR_TEST, 1, n);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_TEST, 1), n);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 4), 0);
			width = (unsigned)rd(f, bar, PCI_TESTDEV_HDR_WIDTH, 1);
			assert_true(width == 1 || width == 2 || width == 4);
			off = (u32)rd(f, bar, PCI_TESTDEV_HDR_OFFSET, 4);
			data = (u32)rd(f, bar, PCI_TESTDEV_HDR_DATA, 4);
			read_name(f, bar, name, sizeof(name));
			assert_string_equal(name, names[bar][n]);
			assert_true(off >= PCI_TESTDEV_HDR_NAME + strlen(name) + 1);
			assert_true(off + width <= bar_bytes && off % width == 0);
			assert_true(width == 4 || data >> (8 * width) == 0);
			for (unsigned i = 0; i < NR_WRITES; i++)
				wr(f, bar, off, width, data);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 4), NR_WRITES);
			/* count read in halves, byte by byte through the 16-bit view */
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 2), NR_WRITES);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT + 2, 2), 0);
			wrong = data ^ 1;
			wr(f, bar, off, width, wrong);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 4),
					 NR_WRITES + (strstr(name, "wildcard") ? 1 : 0));
			wr(f, bar, off, width == 4 ? 2 : width * 2, data);
			wr(f, bar, off + width, width, data);
			assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 4),
					 NR_WRITES + (strstr(name, "wildcard") ? 1 : 0));
			/* what the device reads at the test's offset: nothing */
			assert_int_equal(rd(f, bar, off, width), 0);
		}
		wr(f, bar, PCI_TESTDEV_HDR_TEST, 1, PCI_TESTDEV_NR_TESTS);
		for (unsigned off = 0; off < 48; off += 4)
			assert_int_equal(rd(f, bar, off, 4), 0);
		/* selecting again starts the count over */
		wr(f, bar, PCI_TESTDEV_HDR_TEST, 1, 0);
		assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_COUNT, 4), 0);
		assert_int_equal(rd(f, bar, PCI_TESTDEV_HDR_DATA, 4), (u32)rd(f, bar, 8, 4));
	}
}

/* The bindings under an accelerator with ioeventfds: which test binds what, and where. */
static void test_eventfd_bindings(void **state)
{
	struct fixture *f = *state;
	u32 off;

	wr(f, 0, PCI_TESTDEV_HDR_TEST, 1, 0);
	assert_int_equal(f->nr_bound, 0); /* no-eventfd: every write exits */
	wr(f, 0, PCI_TESTDEV_HDR_TEST, 1, 1);
	off = (u32)rd(f, 0, PCI_TESTDEV_HDR_OFFSET, 4);
	assert_int_equal(f->nr_bound, 1);
	assert_int_equal(f->bound[0].addr, PCI_TESTDEV_BAR0_GPA + off);
	assert_int_equal(f->bound[0].len, rd(f, 0, PCI_TESTDEV_HDR_WIDTH, 1));
	assert_false(f->bound[0].is_pio);
	assert_false(f->bound[0].match);
	wr(f, 1, PCI_TESTDEV_HDR_TEST, 1, 2);
	off = (u32)rd(f, 1, PCI_TESTDEV_HDR_OFFSET, 4);
	assert_int_equal(f->nr_bound, 2);
	assert_int_equal(f->bound[1].addr, PCI_TESTDEV_BAR1_PORT + off);
	assert_true(f->bound[1].is_pio);
	assert_true(f->bound[1].match);
	assert_int_equal(f->bound[1].data, rd(f, 1, PCI_TESTDEV_HDR_DATA, 4));
	/* BAR0 test 1: writes before and after the BAR moves all count */
	off = (u32)rd(f, 0, PCI_TESTDEV_HDR_OFFSET, 4);
	for (unsigned i = 0; i < 5; i++)
		wr(f, 0, off, 2, 0x1234);
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, MOVED_BAR0);
	assert_int_equal(f->nr_bound, 2);
	assert_true(f->bound[0].addr == MOVED_BAR0 + off || f->bound[1].addr == MOVED_BAR0 + off);
	for (unsigned i = 0; i < 3; i++)
		wr(f, 0, off, 2, 0x4321);
	assert_int_equal(rd(f, 0, PCI_TESTDEV_HDR_COUNT, 4), 8);
	/* memory decoding off: the binding goes with the mapping */
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(f->nr_bound, 1);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(f->nr_bound, 2);
	/* a new test drops what the eventfd held for the old one */
	wr(f, 0, off, 2, 0x4321);
	wr(f, 0, PCI_TESTDEV_HDR_TEST, 1, 1);
	assert_int_equal(rd(f, 0, PCI_TESTDEV_HDR_COUNT, 4), 0);
	pci_testdev_reset(f->t);
	assert_int_equal(f->nr_bound, 0);
	assert_int_equal(f->assigns, f->removes);
}

/*
 * State: what the eventfd counted is in the record (pre_save); a load binds the loaded test
 * again and drops what the eventfd counted before it.
 */
static void test_state_with_eventfd(void **state)
{
	struct fixture *f = *state;
	const struct state_desc *d = pci_testdev_device_ops.state;
	struct state_buf rec, again;
	struct err err;
	u32 off;

	state_buf_init(&rec);
	state_buf_init(&again);
	wr(f, 1, PCI_TESTDEV_HDR_TEST, 1, 2);
	off = (u32)rd(f, 1, PCI_TESTDEV_HDR_OFFSET, 4);
	for (unsigned i = 0; i < 7; i++)
		wr(f, 1, off, 1, rd(f, 1, PCI_TESTDEV_HDR_DATA, 4));
	assert_int_equal(state_save(d, "pci-testdev", f->t, &rec, &err), 0);
	pci_testdev_reset(f->t);
	assert_int_equal(f->nr_bound, 0);
	/* the machine after the save writes more; the load must not count those */
	wr(f, 1, PCI_TESTDEV_HDR_TEST, 1, 2);
	for (unsigned i = 0; i < 3; i++)
		wr(f, 1, off, 1, rd(f, 1, PCI_TESTDEV_HDR_DATA, 4));
	assert_int_equal(state_load(d, "pci-testdev", f->t, rec.data, rec.len, &err), 0);
	assert_int_equal(f->nr_bound, 1);
	assert_int_equal(rd(f, 1, PCI_TESTDEV_HDR_COUNT, 4), 7);
	wr(f, 1, off, 1, rd(f, 1, PCI_TESTDEV_HDR_DATA, 4));
	assert_int_equal(rd(f, 1, PCI_TESTDEV_HDR_COUNT, 4), 8);
	assert_int_equal(state_save(d, "pci-testdev", f->t, &again, &err), 0);
	state_buf_free(&rec);
	state_buf_free(&again);
}

/* A record naming a test the device does not have is refused by name. */
static void test_state_bad_test(void **state)
{
	struct fixture *f = *state;
	const struct state_desc *d = pci_testdev_device_ops.state;
	struct state_buf rec;
	struct err err;
	size_t at;

	state_buf_init(&rec);
	guest_assign(f);
	wr(f, 0, PCI_TESTDEV_HDR_TEST, 1, 1);
	assert_int_equal(state_save(d, "pci-testdev", f->t, &rec, &err), 0);
	/* 'f' "current" u32 length (1) and the byte: BAR0's, test 1 */
	for (at = 0; at + 12 < rec.len; at++)
		if (!memcmp(rec.data + at, "\007current\001\0\0\0", 12))
			break;
	assert_true(at + 12 < rec.len);
	at += 12;
	assert_int_equal(rec.data[at], 1);
	rec.data[at] = 7;
	assert_int_not_equal(state_load(d, "pci-testdev", f->t, rec.data, rec.len, &err), 0);
	assert_non_null(strstr(err.msg, "current"));
	assert_int_equal(rd(f, 0, PCI_TESTDEV_HDR_TEST, 1), 1); /* nothing was loaded */
	state_buf_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unassigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assigned, setup_assigned, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup_accel, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd_bindings, setup_accel, teardown),
		cmocka_unit_test_setup_teardown(test_state_with_eventfd, setup_accel, teardown),
		cmocka_unit_test_setup_teardown(test_state_bad_test, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
