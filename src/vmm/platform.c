// SPDX-License-Identifier: MIT
/*
 * The platform's device list (platform.h): the board registers each device it creates, so
 * board-wide walks (reset in place, state save and load, counters) need not know the devices.
 * A plain array in creation order; a machine has a few dozen devices at most.
 */
#include "vmm/platform.h"

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
