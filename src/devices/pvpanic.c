// SPDX-License-Identifier: MIT
/*
 * pvpanic, ISA port variant (pvpanic.h; QEMU's docs/specs/pvpanic.rst): one byte-wide port.
 * A read returns the supported events (PANICKED | CRASH_LOADED); a write of events reports
 * the supported ones among them to the VM (PLATFORM_REQ_PANIC with the event bits) and
 * ignores the rest. The state is the last report, kept so a snapshot of a panicked guest says
 * so; reset clears it.
 */
#include "devices/pvpanic.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PVPANIC_EVENTS (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic {
	struct platform *p;
	char name[32];
	u16 port;
	u8 events;   /* the last events the guest reported */
	u64 reports; /* statistics: writes that reported an event */
};

static u64 pvpanic_read(void *dev, u64 off, unsigned size)
{
	(void)dev;
	(void)off;
	(void)size;
	return PVPANIC_EVENTS;
}

static void pvpanic_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pvpanic *pv = dev;
	u8 events = (u8)(val & PVPANIC_EVENTS);

	(void)off;
	(void)size;
	if (val & ~(u64)PVPANIC_EVENTS)
		log_guest("%s: unknown event bits %#llx ignored", pv->name,
			  (unsigned long long)(val & ~(u64)PVPANIC_EVENTS));
	if (!events)
		return;
	pv->events = events;
	pv->reports++;
	log_guest("%s: the guest reports %s", pv->name,
		  events & PVPANIC_CRASH_LOADED ? "a panic (a crash kernel is loaded)" :
						  "a kernel panic");
	platform_request(pv->p, PLATFORM_REQ_PANIC, events);
}

static const struct io_ops pvpanic_io = {
	.read = pvpanic_read,
	.write = pvpanic_write,
	.min_size = 1,
	.max_size = 1,
};

int pvpanic_create(struct platform *p, const struct pvpanic_config *cfg, struct pvpanic **out,
		   struct err *err)
{
	struct pvpanic *pv = calloc(1, sizeof(*pv));
	int ret;

	if (!pv)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	pv->p = p;
	pv->port = cfg->port;
	snprintf(pv->name, sizeof(pv->name), "%s", cfg->name);
	ret = bus_map_dev(&p->pio, cfg->port, 1, &pvpanic_io, pv, pv->name, err);
	if (ret < 0) {
		free(pv);
		return ret;
	}
	*out = pv;
	return 0;
}

void pvpanic_reset(struct pvpanic *pv)
{
	pv->events = 0;
}

void pvpanic_destroy(struct pvpanic *pv)
{
	if (!pv)
		return;
	bus_unmap(&pv->p->pio, pv->port);
	free(pv);
}

static void pvpanic_ops_reset(void *dev)
{
	pvpanic_reset(dev);
}

static void pvpanic_ops_destroy(void *dev)
{
	pvpanic_destroy(dev);
}

static void pvpanic_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct pvpanic *pv = dev;

	fn(opaque, "reports", pv->reports);
}

static const struct state_field pvpanic_fields[] = {
	STATE_HOST(struct pvpanic, p, "the platform"),
	STATE_HOST(struct pvpanic, name, "the board's name"),
	STATE_U16(struct pvpanic, port, STATE_CHECKED),
	STATE_U8(struct pvpanic, events, STATE_MAX(PVPANIC_EVENTS)),
	STATE_HOST(struct pvpanic, reports, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc pvpanic_state = {
	.name = "pvpanic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pvpanic),
	.fields = pvpanic_fields,
};

const struct device_ops pvpanic_device_ops = {
	.type = "pvpanic",
	.reset = pvpanic_ops_reset,
	.state = &pvpanic_state,
	.destroy = pvpanic_ops_destroy,
	.counters = pvpanic_ops_counters,
};
