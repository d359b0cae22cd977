// SPDX-License-Identifier: MIT
/*
 * The platform's device list (platform.h): the board registers each device it creates, so
 * board-wide walks (reset in place, state save and load, counters) need not know the devices.
 * A plain array in creation order; a machine has a few dozen devices at most.
 */
#include "vmm/platform.h"

#include "devices/device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int platform_add_dev(struct platform *p, const struct device_ops *ops, void *dev, const char *name)
{
	struct platform_dev *d;

	if (strlen(name) >= sizeof(d->name))
		return -ENAMETOOLONG;
	if (platform_find_dev(p, name))
		return -EEXIST;
	if (p->nr_devs == p->cap_devs) {
		unsigned cap = p->cap_devs ? 2 * p->cap_devs : 16;
		struct platform_dev *v = realloc(p->devs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->devs = v;
		p->cap_devs = cap;
	}
	d = &p->devs[p->nr_devs++];
	d->ops = ops;
	d->dev = dev;
	strcpy(d->name, name);
	return 0;
}

void platform_del_dev(struct platform *p, const void *dev)
{
	for (unsigned i = 0; i < p->nr_devs; i++) {
		if (p->devs[i].dev != dev)
			continue;
		memmove(&p->devs[i], &p->devs[i + 1], (p->nr_devs - i - 1) * sizeof(p->devs[0]));
		p->nr_devs--;
		return;
	}
}

const struct platform_dev *platform_find_dev(const struct platform *p, const char *name)
{
	for (unsigned i = 0; i < p->nr_devs; i++)
		if (!strcmp(p->devs[i].name, name))
			return &p->devs[i];
	return NULL;
}

void platform_devs_free(struct platform *p)
{
	free(p->devs);
	p->devs = NULL;
	p->nr_devs = p->cap_devs = 0;
}

int platform_mems(const struct platform *p, struct platform_mem *out)
{
	int n = 0;

	for (unsigned i = 0; i < p->nr_devs; i++) {
		const struct platform_dev *d = &p->devs[i];
		u64 len = 0;
		u8 *hva = d->ops->memory ? d->ops->memory(d->dev, &len) : NULL;

		if (!hva || !len)
			continue;
		if (n == PLATFORM_MEMS_MAX)
			return -E2BIG;
		out[n++] = (struct platform_mem){ .dev = d, .hva = hva, .len = len };
	}
	return n;
}

int platform_mem_dirty(struct platform *p, const struct platform_mem *m, unsigned long *bitmap)
{
	int ret;

	if (!m->dev->ops->memory_dirty) { /* it cannot tell: all of it */
		memset(bitmap, 0xff, (m->len / 4096 + 63) / 64 * 8);
		return 0;
	}
	pthread_mutex_lock(&p->dev_lock);
	ret = m->dev->ops->memory_dirty(m->dev->dev, bitmap);
	pthread_mutex_unlock(&p->dev_lock);
	return ret;
}
