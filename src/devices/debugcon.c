// SPDX-License-Identifier: MIT
/*
 * Firmware debug console (debugcon.h), the convention SeaBIOS (src/hw/serialio.c, "QEMU
 * debug port") and OVMF's PlatformDebugLibIoPort follow: byte writes to the port are the
 * firmware's debug text; a read returns 0xe9 so the firmware knows someone listens. No state
 * beyond the configuration; reset does nothing.
 */
#include "devices/debugcon.h"

#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct debugcon {
	struct platform *p;
	char name[32];
	u16 port;
	void (*write)(void *opaque, u8 byte);
	void *opaque;
	u64 bytes; /* statistics: bytes written */
};

static u64 debugcon_read(void *dev, u64 off, unsigned size)
{
	(void)dev, (void)off, (void)size;
	return DEBUGCON_READBACK;
}

static void debugcon_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct debugcon *d = dev;

	(void)off, (void)size;
	d->bytes++;
	d->write(d->opaque, (u8)val);
}

static const struct io_ops debugcon_io = {
	.read = debugcon_read,
	.write = debugcon_write,
	.min_size = 1,
	.max_size = 1,
};

int debugcon_create(struct platform *p, const struct debugcon_config *cfg, struct debugcon **out,
		    struct err *err)
{
	struct debugcon *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	d->p = p;
	d->port = cfg->port;
	d->write = cfg->write;
	d->opaque = cfg->opaque;
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	ret = bus_map_dev(&p->pio, cfg->port, 1, &debugcon_io, d, d->name, err);
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void debugcon_destroy(struct debugcon *d)
{
	if (!d)
		return;
	bus_unmap(&d->p->pio, d->port);
	free(d);
}

static void debugcon_ops_reset(void *dev)
{
	(void)dev; /* nothing of the guest's is kept */
}

static void debugcon_ops_destroy(void *dev)
{
	debugcon_destroy(dev);
}

static void debugcon_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct debugcon *d = dev;

	fn(opaque, "bytes", d->bytes);
}

static const struct state_field debugcon_fields[] = {
	STATE_HOST(struct debugcon, p, "the platform"),
	STATE_HOST(struct debugcon, name, "the board's name"),
	STATE_U16(struct debugcon, port, STATE_CHECKED),
	STATE_HOST(struct debugcon, write, "the board's sink"),
	STATE_HOST(struct debugcon, opaque, "the board's sink"),
	STATE_HOST(struct debugcon, bytes, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc debugcon_state = {
	.name = "debugcon",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct debugcon),
	.fields = debugcon_fields,
};

const struct device_ops debugcon_device_ops = {
	.type = "debugcon",
	.reset = debugcon_ops_reset,
	.state = &debugcon_state,
	.destroy = debugcon_ops_destroy,
	.counters = debugcon_ops_counters,
};
