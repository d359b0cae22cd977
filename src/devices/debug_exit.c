// SPDX-License-Identifier: MIT
/*
 * Debug-exit port (no hardware datasheet: a test-harness device in the spirit
 * of the ISA debug-exit devices test VMMs provide). A write of value V of 1, 2
 * or 4 bytes at the base port requests PLATFORM_REQ_EXIT with status V & 0xff,
 * or, in QEMU's style, ((V << 1) | 1) & 0xff (QEMU's isa-debug-exit exits with
 * (V << 1) | 1, of which the OS keeps the low byte); the VM ends with that exit
 * status. Writes at the other claimed ports (the tail of a wide access) are
 * ignored; reads return 0.
 */
#include "devices/debug_exit.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct debug_exit {
	struct platform *p;
	char name[32];
	u16 port;
	bool qemu_style;
};

static u64 debug_exit_read(void *dev, u64 off, unsigned size)
{
	(void)dev;
	(void)off;
	(void)size;
	return 0;
}

static void debug_exit_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct debug_exit *d = dev;
	unsigned status = (unsigned)((d->qemu_style ? val << 1 | 1 : val) & 0xff);

	if (off != 0)
		return;
	log_dbg(LOG_CAT_DEV, "%s: guest wrote %#llx (%u bytes): exit status %u", d->name,
		(unsigned long long)val, size, status);
	platform_request(d->p, PLATFORM_REQ_EXIT, (int)status);
}

static const struct io_ops debug_exit_io = {
	.read = debug_exit_read,
	.write = debug_exit_write,
	.min_size = 1,
	.max_size = 4,
};

int debug_exit_create(struct platform *p, const struct debug_exit_config *cfg, struct irq_line irq,
		      struct debug_exit **out, struct err *err)
{
	struct debug_exit *d = calloc(1, sizeof(*d));
	int ret;

	(void)irq;
	if (!d)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	d->p = p;
	d->port = cfg->port;
	d->qemu_style = cfg->qemu_style;
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	ret = bus_map_dev(&p->pio, cfg->port, DEBUG_EXIT_WIDTH, &debug_exit_io, d, d->name, err);
	if (ret < 0)
		goto err_free;
	*out = d;
	return 0;

err_free:
	free(d);
	return ret;
}

void debug_exit_reset(struct debug_exit *d)
{
	(void)d; /* no state */
}

void debug_exit_destroy(struct debug_exit *d)
{
	if (!d)
		return;
	bus_unmap(&d->p->pio, d->port);
	free(d);
}

static void debug_exit_ops_reset(void *dev)
{
	debug_exit_reset(dev);
}

static void debug_exit_ops_destroy(void *dev)
{
	debug_exit_destroy(dev);
}

/* No state: the record only checks that the port is the same. */
static const struct state_field debug_exit_fields[] = {
	STATE_HOST(struct debug_exit, p, "the platform"),
	STATE_HOST(struct debug_exit, name, "the board's name"),
	STATE_U16(struct debug_exit, port, STATE_CHECKED),
	STATE_HOST(struct debug_exit, qemu_style, "the spec's choice"),
	STATE_END,
};

static const struct state_desc debug_exit_state = {
	.name = "debug-exit",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct debug_exit),
	.fields = debug_exit_fields,
};

const struct device_ops debug_exit_device_ops = {
	.type = "debug-exit",
	.reset = debug_exit_ops_reset,
	.state = &debug_exit_state,
	.destroy = debug_exit_ops_destroy,
};
