// SPDX-License-Identifier: MIT
/*
 * QEMU's PC test device (register map in pc_testdev.h). The behaviour follows the map that
 * device defines; this is an implementation of that map, not of its code. The flush-page port
 * goes through gmem's write notification, the path device DMA takes: under BT it drops the
 * translations of that page; the KVM backend registers no such notification, so there the
 * write only checks the address (the kernel's mapping of the page is not dropped).
 */
#include "devices/pc_testdev.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pc_testdev {
	struct platform *p;
	char name[32];
	struct irq_line irqs[PC_TESTDEV_NR_IRQS];
	u32 data;			  /* the scratch register behind 0xe0-0xe3 and 0xe8-0xeb */
	u32 levels;			  /* bit n: the level this device drives on ISA line n */
	u8 iomem[PC_TESTDEV_IOMEM_BYTES]; /* the MMIO window's contents */
};

/* ---- 0xe0-0xe3 and 0xe8-0xeb: the scratch register ---- */

static u64 pc_testdev_data_read(void *opaque, u64 off, unsigned size)
{
	struct pc_testdev *t = opaque;

	(void)size;
	return off < 4 ? (u64)(t->data >> (8 * off)) : 0;
}

static void pc_testdev_data_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct pc_testdev *t = opaque;

	for (unsigned i = 0; i < size && off + i < 4; i++) {
		unsigned shift = 8 * (unsigned)(off + i);

		t->data = (t->data & ~(0xffu << shift)) | ((u32)(u8)(val >> (8 * i)) << shift);
	}
}

static const struct io_ops pc_testdev_data_io = {
	.read = pc_testdev_data_read,
	.write = pc_testdev_data_write,
	.min_size = 1,
	.max_size = 4,
};

static const struct io_ops pc_testdev_byte_io = {
	.read = pc_testdev_data_read,
	.write = pc_testdev_data_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- 0xe4: flush page ---- */

static void pc_testdev_flush_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct pc_testdev *t = opaque;
	u64 page = val & ~(u64)(PC_TESTDEV_FLUSH_BYTES - 1);
	void *hva;

	(void)off, (void)size;
	hva = gmem_ptr(&t->p->mem, page, PC_TESTDEV_FLUSH_BYTES);
	if (!hva) {
		log_guest("%s: flush of page %#llx ignored: it is not guest RAM", t->name,
			  (unsigned long long)page);
		return;
	}
	gmem_written(&t->p->mem, hva, PC_TESTDEV_FLUSH_BYTES);
}

static const struct io_ops pc_testdev_flush_io = {
	.write = pc_testdev_flush_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- 0x2000-0x2017: ISA IRQ line levels ---- */

static void pc_testdev_set_line(struct pc_testdev *t, unsigned n, bool level)
{
	u32 bit = 1u << n;

	if (!!(t->levels & bit) == level)
		return;
	t->levels ^= bit;
	irq_line_set(&t->irqs[n], level);
}

static void pc_testdev_irq_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct pc_testdev *t = opaque;

	(void)size;
	if (off < PC_TESTDEV_NR_IRQS)
		pc_testdev_set_line(t, (unsigned)off, (val & 0xff) != 0);
}

static const struct io_ops pc_testdev_irq_io = {
	.write = pc_testdev_irq_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- 0xff000000: 64 KiB served through MMIO exits ---- */

static u64 pc_testdev_iomem_read(void *opaque, u64 off, unsigned size)
{
	struct pc_testdev *t = opaque;
	u64 val = 0;

	for (unsigned i = 0; i < size && off + i < PC_TESTDEV_IOMEM_BYTES; i++)
		val |= (u64)t->iomem[off + i] << (8 * i);
	return val;
}

static void pc_testdev_iomem_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct pc_testdev *t = opaque;

	for (unsigned i = 0; i < size && off + i < PC_TESTDEV_IOMEM_BYTES; i++)
		t->iomem[off + i] = (u8)(val >> (8 * i));
}

static const struct io_ops pc_testdev_iomem_io = {
	.read = pc_testdev_iomem_read,
	.write = pc_testdev_iomem_write,
	.min_size = 1,
	.max_size = 8,
};

void pc_testdev_reset(struct pc_testdev *t)
{
	t->data = 0;
	memset(t->iomem, 0, sizeof(t->iomem));
	for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
		pc_testdev_set_line(t, n, false);
}

static const struct {
	u16 port;
	u16 len;
	const struct io_ops *ops;
} pc_testdev_ports[] = {
	{ PC_TESTDEV_PORT_DATA, PC_TESTDEV_PORT_WIDTH, &pc_testdev_data_io },
	{ PC_TESTDEV_PORT_FLUSH, PC_TESTDEV_PORT_WIDTH, &pc_testdev_flush_io },
	{ PC_TESTDEV_PORT_BYTE, PC_TESTDEV_PORT_WIDTH, &pc_testdev_byte_io },
	{ PC_TESTDEV_PORT_IRQ, PC_TESTDEV_NR_IRQS, &pc_testdev_irq_io },
};

int pc_testdev_create(struct platform *p, const struct pc_testdev_config *cfg,
		      const struct irq_line irqs[PC_TESTDEV_NR_IRQS], struct pc_testdev **out,
		      struct err *err)
{
	struct pc_testdev *t = calloc(1, sizeof(*t));
	unsigned mapped = 0;
	int ret;

	if (!t)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	t->p = p;
	snprintf(t->name, sizeof(t->name), "%s", cfg->name);
	memcpy(t->irqs, irqs, sizeof(t->irqs));
	for (; mapped < ARRAY_SIZE(pc_testdev_ports); mapped++) {
		ret = bus_map_dev(&p->pio, pc_testdev_ports[mapped].port,
				  pc_testdev_ports[mapped].len, pc_testdev_ports[mapped].ops, t,
				  t->name, err);
		if (ret < 0)
			goto err_unmap;
	}
	ret = bus_map_dev(&p->mmio, PC_TESTDEV_IOMEM_GPA, PC_TESTDEV_IOMEM_BYTES,
			  &pc_testdev_iomem_io, t, t->name, err);
	if (ret < 0)
		goto err_unmap;
	*out = t;
	return 0;

err_unmap:
	while (mapped--)
		bus_unmap(&p->pio, pc_testdev_ports[mapped].port);
	free(t);
	return ret;
}

void pc_testdev_destroy(struct pc_testdev *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(pc_testdev_ports); i++)
		bus_unmap(&t->p->pio, pc_testdev_ports[i].port);
	bus_unmap(&t->p->mmio, PC_TESTDEV_IOMEM_GPA);
	free(t);
}

static void pc_testdev_ops_reset(void *dev)
{
	pc_testdev_reset(dev);
}

static void pc_testdev_ops_destroy(void *dev)
{
	pc_testdev_destroy(dev);
}

/* Raise again the lines the saved device drove high (the controllers were loaded first). */
static int pc_testdev_post_load(void *obj, u32 version, struct err *err)
{
	struct pc_testdev *t = obj;

	(void)version, (void)err;
	for (unsigned n = 0; n < PC_TESTDEV_NR_IRQS; n++)
		if (t->levels & (1u << n))
			irq_line_set(&t->irqs[n], 1);
	return 0;
}

static const struct state_field pc_testdev_fields[] = {
	STATE_HOST(struct pc_testdev, p, "the platform"),
	STATE_HOST(struct pc_testdev, name, "the board's name"),
	STATE_HOST(struct pc_testdev, irqs, "the lines the board wired"),
	STATE_U32(struct pc_testdev, data),
	STATE_U32(struct pc_testdev, levels, STATE_MAX((1u << PC_TESTDEV_NR_IRQS) - 1)),
	STATE_ARRAY(struct pc_testdev, iomem, U8),
	STATE_END,
};

static const struct state_desc pc_testdev_state = {
	.name = "pc-testdev",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pc_testdev),
	.fields = pc_testdev_fields,
	.post_load = pc_testdev_post_load,
};

const struct device_ops pc_testdev_device_ops = {
	.type = "pc-testdev",
	.reset = pc_testdev_ops_reset,
	.state = &pc_testdev_state,
	.destroy = pc_testdev_ops_destroy,
};
