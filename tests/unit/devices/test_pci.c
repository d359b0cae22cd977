// SPDX-License-Identifier: MIT
/*
 * PCI core, host bridge mechanism #1, reset control at 0xCF9 and the
 * i440FX/PIIX3 functions (src/devices/pci.c, piix.c), driven through ports
 * 0xCF8-0xCFF as a guest does (PCI Local Bus Specification 3.0, 3.2.2.3.2
 * and chapter 6).
 */
#include "devices/pci.h"
#include "devices/piix.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_REMAPS 16

struct remap {
	unsigned bar;
	u64 old_addr, new_addr;
};

/* A device model of the test: three BARs, hooks that record what the core did. */
struct test_dev {
	struct pci_dev pci;
	struct remap remaps[MAX_REMAPS];
	unsigned nr_remaps;
	unsigned config_writes;
	unsigned last_write_off;
};

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct piix *piix;
	struct test_dev dev;
	struct fake_irq intx;
};

static void test_dev_bar_remap(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct test_dev *t = container_of(d, struct test_dev, pci);

	if (t->nr_remaps < MAX_REMAPS)
		t->remaps[t->nr_remaps] = (struct remap){ bar, old_addr, new_addr };
	t->nr_remaps++;
}

static void test_dev_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct test_dev *t = container_of(d, struct test_dev, pci);

	(void)size;
	(void)val;
	t->config_writes++;
	t->last_write_off = off;
}

/* A device-owned register at 0xf0 that counts its reads. */
static void test_dev_config_read(struct pci_dev *d, unsigned off, unsigned size)
{
	if (off <= 0xf0 && off + size > 0xf0)
		d->config[0xf0]++;
}

static const struct pci_dev_ops test_dev_ops = {
	.bar_remap = test_dev_bar_remap,
	.config_write = test_dev_config_write,
	.config_read = test_dev_config_read,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config cfg = { .name = "pci" };
	struct pci_id id = { .vendor = 0x1af4,
			     .device = 0x10f0,
			     .class_code = 0xff0000,
			     .revision = 7,
			     .subsystem_vendor = 0x1af4,
			     .subsystem = 0x1234 };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &cfg, &f->host, NULL), 0);
	assert_int_equal(piix_create(f->host, &f->piix, NULL), 0);
	pci_dev_init(&f->dev.pci, "testpci", &id, &test_dev_ops);
	assert_int_equal(pci_set_bar(&f->dev.pci, 0, 32, PCI_BAR_IO, false), 0);
	assert_int_equal(pci_set_bar(&f->dev.pci, 1, 4096, PCI_BAR_MEM32, false), 0);
	assert_int_equal(pci_set_bar(&f->dev.pci, 2, 1 << 20, PCI_BAR_MEM64, true), 0);
	pci_set_intx(&f->dev.pci, 1, fake_irq_line(&f->intx, 11));
	assert_int_equal(pci_host_add(f->host, &f->dev.pci, 3, 0, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_host_remove(f->host, &f->dev.pci);
	piix_destroy(f->piix);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u32 cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static u32 cfg_read(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, cfg_addr(0, dev, fn, reg));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (reg & 3), size);
}

static void cfg_write(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, unsigned size,
		      u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, cfg_addr(0, dev, fn, reg));
	bus_write(&f->tp.p.pio, 0xcfc + (reg & 3), size, val);
}

static void test_chipset_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(cfg_read(f, 0, 0, PCI_REVISION_ID, 4), 0x06000002);
	assert_int_equal(cfg_read(f, 0, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_read(f, 1, 0, PCI_VENDOR_ID, 4), 0x70008086);
	assert_int_equal(cfg_read(f, 1, 0, PCI_CLASS_DEVICE, 2), 0x0601);
	assert_int_equal(cfg_read(f, 1, 0, PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(cfg_read(f, 1, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MULTI_FUNCTION);
	/* Byte and word accesses inside the data window. */
	assert_int_equal(cfg_read(f, 0, 0, PCI_DEVICE_ID, 2), 0x1237);
	assert_int_equal(cfg_read(f, 0, 0, PCI_DEVICE_ID + 1, 1), 0x12);
	assert_int_equal(cfg_read(f, 3, 0, PCI_SUBSYSTEM_ID, 2), 0x1234);
}

static void test_absent_and_disabled_read_all_ones(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	assert_int_equal(cfg_read(f, 5, 0, 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 1, 0, 4), 0xffffffff); /* PIIX3 function 1 absent */
	assert_int_equal(cfg_read(f, 5, 0, 0, 2), 0xffff);
	bus_write(pio, 0xcf8, 4, cfg_addr(1, 0, 0, 0)); /* bus 1: nothing behind */
	assert_int_equal(bus_read(pio, 0xcfc, 4), 0xffffffff);
	bus_write(pio, 0xcf8, 4, 0); /* enable bit clear */
	assert_int_equal(bus_read(pio, 0xcfc, 4), 0xffffffff);
	bus_write(pio, 0xcfc, 4, 0); /* goes nowhere */
	assert_int_equal(cfg_read(f, 0, 0, 0, 4), 0x12378086);
	/* CONFIG_ADDRESS: reserved bits read 0; Linux's type 1 probe reads back what it wrote. */
	bus_write(pio, 0xcf8, 4, 0xffffffff);
	assert_int_equal(bus_read(pio, 0xcf8, 4), PCI_CONFIG_ADDRESS_MASK);
	bus_write(pio, 0xcf8, 4, 0x80000000);
	bus_write(pio, 0xcfb, 1, 0x01); /* byte write to 0xCFB: not the address register */
	assert_int_equal(bus_read(pio, 0xcf8, 4), 0x80000000);
}

static void test_read_only_and_w1c(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = &f->dev.pci;

	cfg_write(f, 3, 0, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(cfg_read(f, 3, 0, PCI_VENDOR_ID, 4), 0x10f01af4);
	cfg_write(f, 3, 0, PCI_CLASS_PROG, 1, 0x55);
	assert_int_equal(cfg_read(f, 3, 0, PCI_CLASS_PROG, 1), 0);
	cfg_write(f, 3, 0, PCI_INTERRUPT_LINE, 1, 11);
	assert_int_equal(cfg_read(f, 3, 0, PCI_INTERRUPT_LINE, 2), 0x010b); /* pin INTA */
	cfg_write(f, 3, 0, PCI_LATENCY_TIMER, 1, 0x40);
	assert_int_equal(cfg_read(f, 3, 0, PCI_LATENCY_TIMER, 1), 0x40);

	/* The device records an error; the guest clears it by writing 1. */
	pci_config_set16(d, PCI_STATUS,
			 pci_config_get16(d, PCI_STATUS) | PCI_STATUS_REC_MASTER_ABORT |
				 PCI_STATUS_DETECTED_PARITY);
	cfg_write(f, 3, 0, PCI_STATUS, 2, 0);
	assert_int_equal(cfg_read(f, 3, 0, PCI_STATUS, 2), PCI_STATUS_DEVSEL_MEDIUM |
								   PCI_STATUS_REC_MASTER_ABORT |
								   PCI_STATUS_DETECTED_PARITY);
	cfg_write(f, 3, 0, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_DEVSEL_MEDIUM);
	assert_int_equal(cfg_read(f, 3, 0, PCI_STATUS, 2),
			 PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_DETECTED_PARITY);
	/* A dword write to COMMAND also writes STATUS: 1s there clear errors. */
	cfg_write(f, 3, 0, PCI_COMMAND, 4, 0xffff0000u | PCI_COMMAND_MASTER);
	assert_int_equal(cfg_read(f, 3, 0, PCI_COMMAND, 4),
			 (u32)PCI_STATUS_DEVSEL_MEDIUM << 16 | PCI_COMMAND_MASTER);
	assert_true(f->dev.config_writes > 0);
	assert_int_equal(f->dev.last_write_off, PCI_COMMAND);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;

	static const struct {
		unsigned reg;
		u32 mask;
	} expect[] = {
		{ 0x10, 0xffffffe1 }, /* 32 bytes of I/O */
		{ 0x14, 0xfffff000 }, /* 4 KiB of 32-bit memory */
		{ 0x18, 0xfff0000c }, /* 1 MiB, 64-bit, prefetchable: low half */
		{ 0x1c, 0xffffffff }, /* high half */
		{ 0x20, 0x00000000 }, /* not implemented */
		{ 0x24, 0x00000000 },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(expect); i++) {
		cfg_write(f, 3, 0, expect[i].reg, 4, 0xffffffff);
		assert_int_equal(cfg_read(f, 3, 0, expect[i].reg, 4), expect[i].mask);
	}
	assert_int_equal(f->dev.nr_remaps, 0); /* decoding is off: nothing mapped */
	cfg_write(f, 3, 0, 0x10, 4, 0);
	assert_int_equal(cfg_read(f, 3, 0, 0x10, 4), PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(cfg_read(f, 3, 0, PCI_ROM_ADDRESS, 4), 0);
}

static void test_bar_remap_follows_bars_and_command(void **state)
{
	struct fixture *f = *state;
	struct test_dev *t = &f->dev;

	cfg_write(f, 3, 0, 0x10, 4, 0xc040);
	cfg_write(f, 3, 0, 0x14, 4, 0xfebf1000);
	cfg_write(f, 3, 0, 0x18, 4, 0x00200000);
	cfg_write(f, 3, 0, 0x1c, 4, 0x1);
	assert_int_equal(t->nr_remaps, 0);
	cfg_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(t->nr_remaps, 1);
	assert_int_equal(t->remaps[0].bar, 0);
	assert_int_equal(t->remaps[0].old_addr, PCI_BAR_UNMAPPED);
	assert_int_equal(t->remaps[0].new_addr, 0xc040);
	cfg_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(t->nr_remaps, 3);
	assert_int_equal(t->remaps[1].bar, 1);
	assert_int_equal(t->remaps[1].new_addr, 0xfebf1000);
	assert_int_equal(t->remaps[2].bar, 2);
	assert_int_equal(t->remaps[2].new_addr, 0x100200000ull); /* above 4 GiB */
	assert_int_equal(pci_bar_addr(&t->pci, 2), 0x100200000ull);
	assert_int_equal(pci_bar_addr(&t->pci, 3), PCI_BAR_UNMAPPED); /* upper half slot */

	/* Moving a decoded BAR remaps it; sizing it unmaps it until restored. */
	cfg_write(f, 3, 0, 0x14, 4, 0xfebf2000);
	assert_int_equal(t->remaps[3].old_addr, 0xfebf1000);
	assert_int_equal(t->remaps[3].new_addr, 0xfebf2000);
	cfg_write(f, 3, 0, 0x14, 4, 0xffffffff);
	assert_int_equal(t->remaps[4].new_addr, PCI_BAR_UNMAPPED);
	cfg_write(f, 3, 0, 0x14, 4, 0xfebf2000);
	assert_int_equal(t->remaps[5].new_addr, 0xfebf2000);
	/* An unaligned address is truncated to the BAR size. */
	cfg_write(f, 3, 0, 0x10, 4, 0xc05d);
	assert_int_equal(pci_bar_addr(&t->pci, 0), 0xc040);
	assert_int_equal(t->nr_remaps, 6);

	/* Memory decode off: both memory BARs unmapped, I/O untouched. */
	cfg_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(t->nr_remaps, 8);
	assert_int_equal(pci_bar_addr(&t->pci, 1), PCI_BAR_UNMAPPED);
	assert_int_equal(pci_bar_addr(&t->pci, 0), 0xc040);

	/* Reset: everything unmapped and zeroed, type bits kept. */
	pci_host_device_ops.reset(f->host);
	assert_int_equal(pci_bar_addr(&t->pci, 0), PCI_BAR_UNMAPPED);
	assert_int_equal(cfg_read(f, 3, 0, 0x10, 4), PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(cfg_read(f, 3, 0, 0x18, 4),
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(cfg_read(f, 3, 0, PCI_COMMAND, 2), 0);
}

/*
 * Found by fuzz_pci: the top aligned address of a BAR equals its sizing mask. A 1 GiB BAR at
 * 3 GiB (where a firmware puts it, the start of the PCI hole) must decode; only the write of
 * all ones that sizes a BAR (6.2.5.1) stops decoding, for I/O BARs too.
 */
static void test_bar_at_its_size_mask(void **state)
{
	struct fixture *f = *state;
	struct test_dev *t = &f->dev;

	assert_int_equal(pci_set_bar(&t->pci, 4, 1u << 30, PCI_BAR_MEM32, false), 0);
	cfg_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	cfg_write(f, 3, 0, 0x20, 4, 0xc0000000);
	assert_int_equal(pci_bar_addr(&t->pci, 4), 0xc0000000);
	cfg_write(f, 3, 0, 0x20, 4, 0xffffffff); /* sizing: reads the same, decodes nothing */
	assert_int_equal(cfg_read(f, 3, 0, 0x20, 4), 0xc0000000);
	assert_int_equal(pci_bar_addr(&t->pci, 4), PCI_BAR_UNMAPPED);
	cfg_write(f, 3, 0, 0x20, 4, 0xc0000000);
	assert_int_equal(pci_bar_addr(&t->pci, 4), 0xc0000000);
	/* A byte write of 0xff is an assignment, not sizing. */
	cfg_write(f, 3, 0, 0x23, 1, 0xff);
	assert_int_equal(pci_bar_addr(&t->pci, 4), 0xc0000000);

	/* The 32-byte I/O BAR: all ones reads back 0xffe1 (0xffe0 fits below 64 KiB). */
	cfg_write(f, 3, 0, 0x10, 4, 0xc040);
	assert_int_equal(pci_bar_addr(&t->pci, 0), 0xc040);
	cfg_write(f, 3, 0, 0x10, 4, 0xffffffff);
	assert_int_equal(pci_bar_addr(&t->pci, 0), PCI_BAR_UNMAPPED);
	cfg_write(f, 3, 0, 0x10, 4, 0xffe0);
	assert_int_equal(pci_bar_addr(&t->pci, 0), 0xffe0);

	/* 64-bit: sized half by half, decoded again once both halves are restored. */
	cfg_write(f, 3, 0, 0x18, 4, 0x00200000);
	cfg_write(f, 3, 0, 0x1c, 4, 0x1);
	assert_int_equal(pci_bar_addr(&t->pci, 2), 0x100200000ull);
	cfg_write(f, 3, 0, 0x18, 4, 0xffffffff);
	cfg_write(f, 3, 0, 0x1c, 4, 0xffffffff);
	cfg_write(f, 3, 0, 0x18, 4, 0x00200000);
	assert_int_equal(pci_bar_addr(&t->pci, 2), PCI_BAR_UNMAPPED);
	cfg_write(f, 3, 0, 0x1c, 4, 0x1);
	assert_int_equal(pci_bar_addr(&t->pci, 2), 0x100200000ull);
}

static void test_bad_bars_rejected(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = &f->dev.pci;

	assert_int_equal(pci_set_bar(d, 5, 4096, PCI_BAR_MEM64, false), -EINVAL);
	assert_int_equal(pci_set_bar(d, 6, 4096, PCI_BAR_MEM32, false), -EINVAL);
	assert_int_equal(pci_set_bar(d, 4, 3000, PCI_BAR_MEM32, false), -EINVAL);
	assert_int_equal(pci_set_bar(d, 4, 8, PCI_BAR_MEM32, false), -EINVAL);
	assert_int_equal(pci_set_bar(d, 4, 2, PCI_BAR_IO, false), -EINVAL);
	assert_int_equal(pci_set_bar(d, 4, 16ull << 30, PCI_BAR_MEM64, true), 0);
	cfg_write(f, 3, 0, 0x20, 4, 0xffffffff);
	cfg_write(f, 3, 0, 0x24, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 3, 0, 0x20, 4), 0x0000000c);
	assert_int_equal(cfg_read(f, 3, 0, 0x24, 4), 0xfffffffc); /* 16 GiB */
}

static void test_capability_list(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = &f->dev.pci;
	int a, b;

	assert_false(cfg_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	a = pci_add_capability(d, PCI_CAP_ID_VNDR, 6);
	b = pci_add_capability(d, PCI_CAP_ID_MSI, 24);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x48);
	assert_true(cfg_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(f, 3, 0, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(cfg_read(f, 3, 0, 0x40, 2), 0x4800 | PCI_CAP_ID_VNDR);
	assert_int_equal(cfg_read(f, 3, 0, 0x48, 2), 0x0000 | PCI_CAP_ID_MSI);
	cfg_write(f, 3, 0, 0x48, 2, 0xffff); /* header is read-only */
	assert_int_equal(cfg_read(f, 3, 0, 0x48, 2), PCI_CAP_ID_MSI);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 0x100 - 0x60), 0x60);
	assert_int_equal(pci_add_capability(d, PCI_CAP_ID_VNDR, 4), -ENOSPC);
}

static void test_config_read_hook(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 3, 0, 0xf0, 1), 1);
	assert_int_equal(cfg_read(f, 3, 0, 0xf0, 4), 2);
	assert_int_equal(cfg_read(f, 3, 0, 0xf4, 4), 0); /* not the register: no refresh */
	assert_int_equal(cfg_read(f, 3, 0, 0xf0, 1), 3);
}

static void test_intx_and_disable(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = &f->dev.pci;

	assert_int_equal(cfg_read(f, 3, 0, PCI_INTERRUPT_PIN, 1), 1);
	pci_set_irq(d, 1);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	assert_true(cfg_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(f, 3, 0, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	assert_true(cfg_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT); /* still pending */
	cfg_write(f, 3, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	pci_set_irq(d, 0);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	assert_false(cfg_read(f, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(fake_irq_edges(&f->intx), 4);
}

static void test_reset_control_cf9(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = &f->tp.p.pio;

	bus_write(pio, PCI_RC_PORT, 1, PCI_RC_SRST); /* select hard reset, do not start */
	assert_int_equal(f->tp.nr_reqs, 0);
	assert_int_equal(bus_read(pio, PCI_RC_PORT, 1), PCI_RC_SRST);
	bus_write(pio, PCI_RC_PORT, 1, PCI_RC_SRST | PCI_RC_RCPU); /* the FADT's 0x06 */
	assert_int_equal(f->tp.nr_reqs, 1);
	assert_int_equal(f->tp.reqs[0].req, PLATFORM_REQ_RESET);
	assert_int_equal(bus_read(pio, PCI_RC_PORT, 1), PCI_RC_SRST); /* RCPU self-clears */
	bus_write(pio, PCI_RC_PORT, 1, 0x06); /* works again without a VM reset in between */
	assert_int_equal(f->tp.nr_reqs, 2);
	/* Config cycles through 0xCF8 never touch RC. */
	bus_write(pio, 0xcf8, 4, 0x80000604);
	assert_int_equal(f->tp.nr_reqs, 2);
	assert_int_equal(bus_read(pio, 0xcf8, 4), 0x80000604);
	assert_int_equal(bus_read(pio, PCI_RC_PORT, 1), PCI_RC_SRST);
}

static void test_piix_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 1, 0, PIIX_PIIX3_PIRQRC, 4), 0x80808080);
	assert_int_equal(piix_pirq_irq(f->piix, 0), -1);
	cfg_write(f, 1, 0, PIIX_PIIX3_PIRQRC + 1, 1, 10);
	cfg_write(f, 1, 0, PIIX_PIIX3_PIRQRC + 3, 1, 11);
	assert_int_equal(piix_pirq_irq(f->piix, 1), 10);
	assert_int_equal(piix_pirq_irq(f->piix, 3), 11);
	assert_int_equal(piix_pirq_irq(f->piix, 4), -1);
	cfg_write(f, 0, 0, PIIX_I440FX_PAM0, 1, 0x30);
	assert_int_equal(cfg_read(f, 0, 0, PIIX_I440FX_PAM0, 1), 0x30);
	piix_device_ops.reset(f->piix);
	assert_int_equal(piix_pirq_irq(f->piix, 1), -1);
	assert_int_equal(cfg_read(f, 0, 0, PIIX_I440FX_PAM0, 1), 0);
}

static void test_slot_conflicts(void **state)
{
	struct fixture *f = *state;
	struct pci_dev other;
	struct pci_id id = { .vendor = 0x1234, .device = 0x1111 };
	struct piix *again = NULL;
	struct err err = { 0 };

	pci_dev_init(&other, "other", &id, NULL);
	assert_int_equal(pci_host_add(f->host, &other, 3, 0, &err), -EBUSY);
	assert_string_equal(err.msg, "other: slot 00:03.0 already holds testpci");
	assert_int_equal(pci_host_add(f->host, &other, 32, 0, &err), -EINVAL);
	assert_int_equal(piix_create(f->host, &again, &err), -EBUSY);
	assert_int_equal(pci_host_add(f->host, &other, 3, 1, &err), 0);
	assert_ptr_equal(pci_host_find(f->host, 3, 1), &other);
	assert_int_equal(cfg_read(f, 3, 1, PCI_VENDOR_ID, 4), 0x11111234);
	pci_host_remove(f->host, &other);
	assert_int_equal(cfg_read(f, 3, 1, PCI_VENDOR_ID, 4), 0xffffffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_chipset_identity),     T(test_absent_and_disabled_read_all_ones),
		T(test_read_only_and_w1c),    T(test_bar_sizing),
		T(test_bar_at_its_size_mask), T(test_bar_remap_follows_bars_and_command),
		T(test_bad_bars_rejected),    T(test_capability_list),
		T(test_config_read_hook),     T(test_intx_and_disable),
		T(test_reset_control_cf9),    T(test_piix_registers),
		T(test_slot_conflicts),
#undef T
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
