// SPDX-License-Identifier: MIT
/*
 * QEMU's PCI test device (layout and records in pci_testdev.h). The header layout is the one
 * QEMU documents; the test records (offsets, widths, values) are this device's own, which a
 * guest reads from the header as the layout asks it to.
 *
 * The eventfd tests under KVM: while such a test is selected on a decoded BAR, its writes are
 * bound to the BAR's eventfd (the accelerator's ioeventfd, with datamatch for test 2), so they
 * never leave the kernel. The eventfd's counter then holds the writes the kernel saw; it
 * belongs to the selected test's count, and is added to it when the guest reads count, before
 * a state save (pre_save) and never lost when the BAR moves (the eventfd stays the same). It
 * is dropped when the test changes, at reset, and after a state load (it counted writes of
 * the machine before the load).
 */
#include "devices/pci_testdev.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum pci_testdev_kind {
	PCI_TESTDEV_EXIT,      /* no-eventfd */
	PCI_TESTDEV_WILDCARD,  /* wildcard-eventfd */
	PCI_TESTDEV_DATAMATCH, /* datamatch-eventfd */
};

struct pci_testdev_test {
	const char *suffix;
	enum pci_testdev_kind kind;
	u8 width;
	u32 data;
};

static const struct pci_testdev_test pci_testdev_tests[PCI_TESTDEV_NR_TESTS] = {
	{ "no-eventfd", PCI_TESTDEV_EXIT, 4, 0x1b360005 },
	{ "wildcard-eventfd", PCI_TESTDEV_WILDCARD, 2, 0xa55a },
	{ "datamatch-eventfd", PCI_TESTDEV_DATAMATCH, 1, 0xc3 },
};

/* Test n's writes go to the second half of its BAR, 16 bytes apart. */
#define PCI_TESTDEV_TEST_STRIDE 16
#define PCI_TESTDEV_NAME_MAX	32

struct pci_testdev_bar {
	u8 current; /* the selected test, or PCI_TESTDEV_NO_TEST */
	u32 count;  /* writes the device counted for it (the eventfd's aside) */
	u64 at;	    /* where the BAR is mapped, or PCI_BAR_UNMAPPED */
	int efd;    /* the BAR's eventfd, or -1 without an accelerator path */
	bool efd_on;
	u64 efd_addr;	/* where efd is assigned while efd_on */
	u8 efd_test;	/* for which test */
	u64 efd_writes; /* writes that came through the eventfd (statistics) */
};

struct pci_testdev {
	struct pci_dev pci;
	struct platform *p;
	char name[32];
	bool assign_bars;
	struct pci_testdev_accel accel;
	struct pci_testdev_bar bars[2]; /* BAR0 memory, BAR1 I/O */
};

static u32 pci_testdev_bar_size(unsigned bar)
{
	return bar ? PCI_TESTDEV_IO_BYTES : PCI_TESTDEV_MMIO_BYTES;
}

static u32 pci_testdev_offset(unsigned bar, unsigned test)
{
	return pci_testdev_bar_size(bar) / 2 + test * PCI_TESTDEV_TEST_STRIDE;
}

/* ---- the eventfd path ---- */

/* What the eventfd counted since it was last read (0 without one). */
static u64 pci_testdev_drain(struct pci_testdev_bar *b)
{
	eventfd_t n = 0;

	if (b->efd < 0 || eventfd_read(b->efd, &n) < 0)
		return 0;
	b->efd_writes += n;
	return n;
}

static int pci_testdev_efd_assign(struct pci_testdev *t, unsigned bar, u64 addr, unsigned test,
				  bool assign)
{
	const struct pci_testdev_test *x = &pci_testdev_tests[test];

	return t->accel.ioeventfd(t->accel.opaque, addr, x->width, bar == 1,
				  x->kind == PCI_TESTDEV_DATAMATCH, x->data, t->bars[bar].efd,
				  assign);
}

/* Unbind the eventfd (its counter stays unless the caller drains it). */
static void pci_testdev_efd_off(struct pci_testdev *t, unsigned bar)
{
	struct pci_testdev_bar *b = &t->bars[bar];

	if (!b->efd_on)
		return;
	if (pci_testdev_efd_assign(t, bar, b->efd_addr, b->efd_test, false) < 0)
		log_warn("%s: cannot remove the eventfd of BAR%u at %#llx", t->name, bar,
			 (unsigned long long)b->efd_addr);
	b->efd_on = false;
}

/* Bind the eventfd to the selected test's writes, if it is an eventfd test on a decoded BAR. */
static void pci_testdev_efd_on(struct pci_testdev *t, unsigned bar)
{
	struct pci_testdev_bar *b = &t->bars[bar];
	u64 addr;
	int ret;

	if (b->efd < 0 || b->efd_on || b->at == PCI_BAR_UNMAPPED ||
	    b->current >= PCI_TESTDEV_NR_TESTS ||
	    pci_testdev_tests[b->current].kind == PCI_TESTDEV_EXIT)
		return;
	addr = b->at + pci_testdev_offset(bar, b->current);
	ret = pci_testdev_efd_assign(t, bar, addr, b->current, true);
	if (ret < 0) {
		/* the writes then reach the device, which counts them the same */
		log_dbg(LOG_CAT_DEV, "%s: no eventfd for BAR%u test %u: %s", t->name, bar,
			b->current, strerror(-ret));
		return;
	}
	b->efd_on = true;
	b->efd_addr = addr;
	b->efd_test = b->current;
}

/* ---- the BARs ---- */

static void pci_testdev_select(struct pci_testdev *t, unsigned bar, u8 test)
{
	struct pci_testdev_bar *b = &t->bars[bar];

	pci_testdev_efd_off(t, bar);
	(void)pci_testdev_drain(b); /* the previous test's */
	b->current = test < PCI_TESTDEV_NR_TESTS ? test : PCI_TESTDEV_NO_TEST;
	b->count = 0;
	pci_testdev_efd_on(t, bar);
}

/* Byte off of BAR bar's header for the selected test (count as it stands). */
static u8 pci_testdev_hdr_byte(const struct pci_testdev *t, unsigned bar, u64 off)
{
	const struct pci_testdev_bar *b = &t->bars[bar];
	const struct pci_testdev_test *x;
	char name[PCI_TESTDEV_NAME_MAX];
	u32 word;

	if (b->current >= PCI_TESTDEV_NR_TESTS)
		return 0;
	x = &pci_testdev_tests[b->current];
	switch (off) {
	case PCI_TESTDEV_HDR_TEST:
		return b->current;
	case PCI_TESTDEV_HDR_WIDTH:
		return x->width;
	}
	if (off >= PCI_TESTDEV_HDR_NAME) {
		int len = snprintf(name, sizeof(name), "%s-%s", bar ? "portio" : "mmio", x->suffix);

		return off - PCI_TESTDEV_HDR_NAME < (u64)len ?
			       (u8)name[off - PCI_TESTDEV_HDR_NAME] :
			       0;
	}
	if (off >= PCI_TESTDEV_HDR_COUNT)
		word = b->count;
	else if (off >= PCI_TESTDEV_HDR_DATA)
		word = x->data;
	else if (off >= PCI_TESTDEV_HDR_OFFSET)
		word = pci_testdev_offset(bar, b->current);
	else
		return 0; /* padding */
	return (u8)(word >> (8 * (off % 4)));
}

static u64 pci_testdev_bar_read(struct pci_testdev *t, unsigned bar, u64 off, unsigned size)
{
	struct pci_testdev_bar *b = &t->bars[bar];
	u64 val = 0;

	if (off < PCI_TESTDEV_HDR_COUNT + 4 && off + size > PCI_TESTDEV_HDR_COUNT &&
	    b->current < PCI_TESTDEV_NR_TESTS)
		b->count += (u32)pci_testdev_drain(b);
	for (unsigned i = 0; i < size; i++)
		val |= (u64)pci_testdev_hdr_byte(t, bar, off + i) << (8 * i);
	return val;
}

static void pci_testdev_bar_write(struct pci_testdev *t, unsigned bar, u64 off, unsigned size,
				  u64 val)
{
	struct pci_testdev_bar *b = &t->bars[bar];
	const struct pci_testdev_test *x;

	if (off == PCI_TESTDEV_HDR_TEST) {
		pci_testdev_select(t, bar, (u8)val);
		return;
	}
	if (b->current >= PCI_TESTDEV_NR_TESTS)
		return;
	x = &pci_testdev_tests[b->current];
	if (off != pci_testdev_offset(bar, b->current) || size != x->width)
		return;
	if (x->kind != PCI_TESTDEV_WILDCARD && val != x->data)
		return;
	b->count++;
}

static u64 pci_testdev_mmio_read(void *opaque, u64 off, unsigned size)
{
	return pci_testdev_bar_read(opaque, 0, off, size);
}

static void pci_testdev_mmio_write(void *opaque, u64 off, unsigned size, u64 val)
{
	pci_testdev_bar_write(opaque, 0, off, size, val);
}

static u64 pci_testdev_io_read(void *opaque, u64 off, unsigned size)
{
	return pci_testdev_bar_read(opaque, 1, off, size);
}

static void pci_testdev_io_write(void *opaque, u64 off, unsigned size, u64 val)
{
	pci_testdev_bar_write(opaque, 1, off, size, val);
}

static const struct io_ops pci_testdev_mmio_ops = {
	.read = pci_testdev_mmio_read,
	.write = pci_testdev_mmio_write,
	.min_size = 1,
	.max_size = 4,
};

static const struct io_ops pci_testdev_io_ops = {
	.read = pci_testdev_io_read,
	.write = pci_testdev_io_write,
	.min_size = 1,
	.max_size = 4,
};

static void pci_testdev_bar_remap(struct pci_dev *pd, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct pci_testdev *t = (struct pci_testdev *)pd;
	struct pci_testdev_bar *b;
	struct bus *bus;

	(void)old_addr;
	if (bar > 1)
		return;
	b = &t->bars[bar];
	bus = bar ? &t->p->pio : &t->p->mmio;
	pci_testdev_efd_off(t, bar);
	if (b->at != PCI_BAR_UNMAPPED)
		bus_unmap(bus, b->at);
	b->at = PCI_BAR_UNMAPPED;
	if (new_addr == PCI_BAR_UNMAPPED)
		return;
	if (bus_map(bus, new_addr, pci_testdev_bar_size(bar),
		    bar ? &pci_testdev_io_ops : &pci_testdev_mmio_ops, t, t->name) < 0) {
		log_guest("%s: BAR%u at %#llx overlaps another device; not mapped", t->name, bar,
			  (unsigned long long)new_addr);
		return;
	}
	b->at = new_addr;
	pci_testdev_efd_on(t, bar);
}

static const struct pci_dev_ops pci_testdev_pci_ops = {
	.bar_remap = pci_testdev_bar_remap,
};

/* ---- lifecycle ---- */

int pci_testdev_create(struct platform *p, const struct pci_testdev_config *cfg,
		       struct pci_testdev **out, struct err *err)
{
	const char *name = cfg->name ? cfg->name : "pci-testdev";
	struct pci_id id = { .vendor = PCI_TESTDEV_VENDOR,
			     .device = PCI_TESTDEV_DEVICE,
			     .class_code = PCI_TESTDEV_CLASS,
			     /* QEMU's subsystem for its own devices */
			     .subsystem_vendor = 0x1af4,
			     .subsystem = 0x1100 };
	struct pci_testdev *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	t->p = p;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->assign_bars = cfg->assign_bars;
	t->accel = cfg->accel;
	for (unsigned bar = 0; bar < 2; bar++) {
		t->bars[bar] = (struct pci_testdev_bar){ .current = PCI_TESTDEV_NO_TEST,
							 .at = PCI_BAR_UNMAPPED,
							 .efd = -1 };
		if (!t->accel.ioeventfd)
			continue;
		t->bars[bar].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->bars[bar].efd < 0) {
			ret = err_set(err, -errno, "%s: eventfd: %s", name, strerror(errno));
			goto err_free;
		}
	}
	pci_dev_init(&t->pci, t->name, &id, &pci_testdev_pci_ops);
	ret = pci_set_bar(&t->pci, 0, PCI_TESTDEV_MMIO_BYTES, PCI_BAR_MEM32, false);
	if (!ret)
		ret = pci_set_bar(&t->pci, 1, PCI_TESTDEV_IO_BYTES, PCI_BAR_IO, false);
	if (ret) {
		err_set(err, ret, "%s: PCI BARs do not fit", name);
		goto err_free;
	}
	*out = t;
	return 0;

err_free:
	for (unsigned bar = 0; bar < 2; bar++)
		if (t->bars[bar].efd >= 0)
			close(t->bars[bar].efd);
	free(t);
	return ret;
}

struct pci_dev *pci_testdev_pci(struct pci_testdev *t)
{
	return &t->pci;
}

void pci_testdev_assign_bars(struct pci_testdev *t)
{
	if (!t->assign_bars)
		return;
	pci_config_write(&t->pci, PCI_BASE_ADDRESS_0, 4, PCI_TESTDEV_BAR0_GPA);
	pci_config_write(&t->pci, PCI_BASE_ADDRESS_0 + 4, 4, PCI_TESTDEV_BAR1_PORT);
	pci_config_write(&t->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

void pci_testdev_reset(struct pci_testdev *t)
{
	for (unsigned bar = 0; bar < 2; bar++) {
		pci_testdev_efd_off(t, bar);
		(void)pci_testdev_drain(&t->bars[bar]);
		t->bars[bar].current = PCI_TESTDEV_NO_TEST;
		t->bars[bar].count = 0;
	}
	pci_dev_reset(&t->pci);
	pci_testdev_assign_bars(t);
}

void pci_testdev_destroy(struct pci_testdev *t)
{
	if (!t)
		return;
	for (unsigned bar = 0; bar < 2; bar++) {
		struct pci_testdev_bar *b = &t->bars[bar];

		pci_testdev_efd_off(t, bar);
		if (b->at != PCI_BAR_UNMAPPED)
			bus_unmap(bar ? &t->p->pio : &t->p->mmio, b->at);
		if (b->efd >= 0) {
			(void)pci_testdev_drain(b);
			close(b->efd);
		}
		if (b->efd_writes)
			log_info("%s: %llu writes of BAR%u's tests came through the accelerator's "
				 "eventfd",
				 t->name, (unsigned long long)b->efd_writes, bar);
	}
	free(t);
}

static void pci_testdev_ops_reset(void *dev)
{
	pci_testdev_reset(dev);
}

static void pci_testdev_ops_destroy(void *dev)
{
	pci_testdev_destroy(dev);
}

/* ---- state ---- */

/* The eventfds' counts belong to the selected tests: into count before the record is made. */
static int pci_testdev_pre_save(void *obj, struct err *err)
{
	struct pci_testdev *t = obj;

	(void)err;
	for (unsigned bar = 0; bar < 2; bar++)
		if (t->bars[bar].current < PCI_TESTDEV_NR_TESTS)
			t->bars[bar].count += (u32)pci_testdev_drain(&t->bars[bar]);
	return 0;
}

/*
 * After the PCI function re-decoded the BARs (nested post_load first): drop what the eventfds
 * counted before the load, and bind them to the loaded tests.
 */
static int pci_testdev_post_load(void *obj, u32 version, struct err *err)
{
	struct pci_testdev *t = obj;

	(void)version, (void)err;
	for (unsigned bar = 0; bar < 2; bar++) {
		pci_testdev_efd_off(t, bar);
		(void)pci_testdev_drain(&t->bars[bar]);
		pci_testdev_efd_on(t, bar);
	}
	return 0;
}

static const struct state_field pci_testdev_bar_fields[] = {
	STATE_U8(struct pci_testdev_bar, current, STATE_MAX(PCI_TESTDEV_NO_TEST)),
	STATE_U32(struct pci_testdev_bar, count),
	STATE_HOST(struct pci_testdev_bar, at,
		   "where the BAR is on its bus: re-derived by the PCI function's post_load"),
	STATE_HOST(struct pci_testdev_bar, efd, "a host eventfd"),
	STATE_HOST(struct pci_testdev_bar, efd_on, "the eventfd's binding: redone by post_load"),
	STATE_HOST(struct pci_testdev_bar, efd_addr, "the eventfd's binding: redone by post_load"),
	STATE_HOST(struct pci_testdev_bar, efd_test, "the eventfd's binding: redone by post_load"),
	STATE_HOST(struct pci_testdev_bar, efd_writes, "host statistics"),
	STATE_END,
};

static const struct state_desc pci_testdev_bar_state = {
	.name = "pci-testdev-bar",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pci_testdev_bar),
	.fields = pci_testdev_bar_fields,
};

static const struct state_field pci_testdev_fields[] = {
	STATE_STRUCT(struct pci_testdev, pci, pci_dev_state),
	STATE_HOST(struct pci_testdev, p, "the platform"),
	STATE_HOST(struct pci_testdev, name, "the board's name"),
	STATE_HOST(struct pci_testdev, assign_bars, "the board's choice (no firmware)"),
	STATE_HOST(struct pci_testdev, accel, "the accelerator's eventfd path"),
	STATE_STRUCT_ARRAY(struct pci_testdev, bars, pci_testdev_bar_state),
	STATE_END,
};

static const struct state_desc pci_testdev_state = {
	.name = "pci-testdev",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pci_testdev),
	.fields = pci_testdev_fields,
	.pre_save = pci_testdev_pre_save,
	.post_load = pci_testdev_post_load,
};

const struct device_ops pci_testdev_device_ops = {
	.type = "pci-testdev",
	.reset = pci_testdev_ops_reset,
	.state = &pci_testdev_state,
	.destroy = pci_testdev_ops_destroy,
};
