// SPDX-License-Identifier: MIT
/*
 * Test device (no datasheet: the register map is defined in testdev.h). It
 * lets tiny guest programs check the PIO and MMIO exit paths at every access
 * size and offset, and raise or lower an interrupt line on demand. Accesses
 * are served byte by byte from an image of the register file, so unaligned
 * and partial accesses behave like little-endian memory.
 */
#include "devices/testdev.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESTDEV_REGS_BYTES 0x20

struct testdev_window {
	struct testdev *dev;
	u64 scratch;
	u64 count;
};

struct testdev {
	struct platform *p;
	char name[32];
	struct irq_line irq;
	int level;
	u16 pio_base;
	u64 mmio_gpa;
	struct testdev_window pio, mmio;
};

static void testdev_put_le(u8 *dst, u64 val, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		dst[i] = (u8)(val >> (8 * i));
}

static void testdev_image(const struct testdev_window *w, u8 *img)
{
	testdev_put_le(img + TESTDEV_SCRATCH, w->scratch, 8);
	testdev_put_le(img + TESTDEV_INVERT, ~w->scratch, 8);
	testdev_put_le(img + TESTDEV_COUNT, w->count, 8);
	testdev_put_le(img + TESTDEV_IRQ, (u64)w->dev->level, 4);
	testdev_put_le(img + TESTDEV_ID, TESTDEV_ID_VALUE, 4);
}

static u64 testdev_read(void *opaque, u64 off, unsigned size)
{
	struct testdev_window *w = opaque;
	u8 img[TESTDEV_REGS_BYTES];
	u64 val = 0;

	testdev_image(w, img);
	for (unsigned i = 0; i < size; i++)
		if (off + i < TESTDEV_REGS_BYTES)
			val |= (u64)img[off + i] << (8 * i);
	w->count++;
	return val;
}

static void testdev_set_level(struct testdev *t, int level)
{
	if (level == t->level)
		return;
	t->level = level;
	irq_line_set(&t->irq, level);
}

static void testdev_write(void *opaque, u64 off, unsigned size, u64 val)
{
	struct testdev_window *w = opaque;
	bool count_written = false;

	for (unsigned i = 0; i < size; i++) {
		u64 at = off + i;
		u8 byte = (u8)(val >> (8 * i));

		if (at < TESTDEV_INVERT) {
			w->scratch &= ~(0xffull << (8 * at));
			w->scratch |= (u64)byte << (8 * at);
		} else if (at >= TESTDEV_COUNT && at < TESTDEV_IRQ) {
			count_written = true;
		} else if (at == TESTDEV_IRQ) {
			testdev_set_level(w->dev, byte & 1);
		}
	}
	w->count = count_written ? 0 : w->count + 1;
}

static const struct io_ops testdev_io = {
	.read = testdev_read,
	.write = testdev_write,
	.min_size = 1,
	.max_size = 8,
};

void testdev_reset(struct testdev *t)
{
	t->pio.scratch = 0;
	t->pio.count = 0;
	t->mmio.scratch = 0;
	t->mmio.count = 0;
	testdev_set_level(t, 0);
}

int testdev_create(struct platform *p, const struct testdev_config *cfg, struct irq_line irq,
		   struct testdev **out, struct err *err)
{
	struct testdev *t;
	int ret;

	if (cfg->mmio_gpa & (TESTDEV_MMIO_BYTES - 1))
		return err_set(err, -EINVAL, "%s: MMIO window %#llx is not 4 KiB aligned",
			       cfg->name, (unsigned long long)cfg->mmio_gpa);
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	t->p = p;
	snprintf(t->name, sizeof(t->name), "%s", cfg->name);
	t->irq = irq;
	t->pio_base = cfg->pio_base;
	t->mmio_gpa = cfg->mmio_gpa;
	t->pio.dev = t;
	t->mmio.dev = t;
	if (t->pio_base) {
		ret = bus_map_dev(&p->pio, t->pio_base, TESTDEV_PIO_PORTS, &testdev_io, &t->pio,
				  t->name, err);
		if (ret < 0)
			goto err_free;
	}
	if (t->mmio_gpa) {
		ret = bus_map_dev(&p->mmio, t->mmio_gpa, TESTDEV_MMIO_BYTES, &testdev_io, &t->mmio,
				  t->name, err);
		if (ret < 0)
			goto err_unmap_pio;
	}
	*out = t;
	return 0;

err_unmap_pio:
	if (t->pio_base)
		bus_unmap(&p->pio, t->pio_base);
err_free:
	free(t);
	return ret;
}

void testdev_destroy(struct testdev *t)
{
	if (!t)
		return;
	if (t->pio_base)
		bus_unmap(&t->p->pio, t->pio_base);
	if (t->mmio_gpa)
		bus_unmap(&t->p->mmio, t->mmio_gpa);
	free(t);
}

static void testdev_ops_reset(void *dev)
{
	testdev_reset(dev);
}

static void testdev_ops_destroy(void *dev)
{
	testdev_destroy(dev);
}

static int testdev_post_load(void *obj, u32 version, struct err *err)
{
	struct testdev *t = obj;

	(void)version, (void)err;
	if (t->level)
		irq_line_set(&t->irq, 1);
	return 0;
}

static const struct state_field testdev_window_fields[] = {
	STATE_HOST(struct testdev_window, dev, "back pointer to the device"),
	STATE_U64(struct testdev_window, scratch),
	STATE_U64(struct testdev_window, count),
	STATE_END,
};

static const struct state_desc testdev_window_state = {
	.name = "testdev-window",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct testdev_window),
	.fields = testdev_window_fields,
};

static const struct state_field testdev_fields[] = {
	STATE_HOST(struct testdev, p, "the platform"),
	STATE_HOST(struct testdev, name, "the board's name"),
	STATE_HOST(struct testdev, irq, "the line the board wired"),
	STATE_INT(struct testdev, level, STATE_MAX(1)),
	STATE_U16(struct testdev, pio_base, STATE_CHECKED),
	STATE_U64(struct testdev, mmio_gpa, STATE_CHECKED),
	STATE_STRUCT(struct testdev, pio, testdev_window_state),
	STATE_STRUCT(struct testdev, mmio, testdev_window_state),
	STATE_END,
};

static const struct state_desc testdev_state = {
	.name = "testdev",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct testdev),
	.fields = testdev_fields,
	.post_load = testdev_post_load,
};

const struct device_ops testdev_device_ops = {
	.type = "testdev",
	.reset = testdev_ops_reset,
	.state = &testdev_state,
	.destroy = testdev_ops_destroy,
};
