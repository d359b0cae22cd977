// SPDX-License-Identifier: MIT
/*
 * Saving and loading every device on the platform's list (platform_state.h). A device without
 * a state table cannot be saved: the save is refused with its name rather than producing a
 * state that would lose it.
 */
#include "vmm/platform_state.h"

#include "devices/device.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/platform.h"
#include "vmm/state.h"

#include <errno.h>
#include <string.h>

static int platform_state_table(const struct platform_dev *d, struct err *err)
{
	if (!d->ops->state)
		return err_set(err, -EOPNOTSUPP,
			       "%s: the %s device has no state table: cannot save", d->name,
			       d->ops->type);
	return 0;
}

int platform_state_quiesce(struct platform *p, struct err *err)
{
	for (unsigned i = 0; i < p->nr_devs; i++) {
		const struct platform_dev *d = &p->devs[i];
		int ret = platform_state_table(d, err);

		if (ret == 0 && d->ops->state->pre_save)
			ret = d->ops->state->pre_save(d->dev, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int platform_state_save(struct platform *p, struct state_buf *out, u32 *count, struct err *err)
{
	for (unsigned i = 0; i < p->nr_devs; i++) {
		const struct platform_dev *d = &p->devs[i];
		int ret = platform_state_table(d, err);

		if (ret == 0)
			ret = state_save(d->ops->state, d->name, d->dev, out, err);
		if (ret < 0)
			return ret;
		(*count)++;
	}
	return 0;
}

int platform_state_check(struct platform *p, struct state_set *set, bool (*skip)(const char *type),
			 struct err *err)
{
	for (unsigned i = 0; i < p->nr_devs; i++) {
		const struct platform_dev *d = &p->devs[i];
		const struct state_set_entry *e;
		int ret = platform_state_table(d, err);

		if (ret < 0)
			return ret;
		if (skip && skip(d->ops->type))
			continue;
		e = state_set_find(set, d->name);
		if (!e && d->ops->state->absent_is_reset)
			continue;
		if (!e)
			return err_set(err, -EINVAL,
				       "%s: the state has no record for this %s device (is the VM "
				       "created from the same spec?)",
				       d->name, d->ops->type);
		ret = state_check(d->ops->state, d->name, d->dev, e->data, e->hdr.len, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int platform_state_load(struct platform *p, struct state_set *set, bool (*skip)(const char *type),
			struct err *err)
{
	for (unsigned i = 0; i < p->nr_devs; i++) {
		const struct platform_dev *d = &p->devs[i];
		const struct state_set_entry *e;
		int ret;

		if (skip && skip(d->ops->type))
			continue;
		e = state_set_find(set, d->name);
		if (!e && d->ops->state && d->ops->state->absent_is_reset) {
			log_info(
				"%s: the state has no record of this %s device (written before the "
				"board had one): it starts as reset",
				d->name, d->ops->type);
			if (d->ops->reset)
				d->ops->reset(d->dev);
			continue;
		}
		if (!e || !d->ops->state)
			return err_set(err, -EINVAL, "%s: no state record", d->name);
		ret = state_load(d->ops->state, d->name, d->dev, e->data, e->hdr.len, err);
		if (ret < 0) {
			platform_state_reset(p);
			return ret;
		}
	}
	return 0;
}

void platform_state_reset(struct platform *p)
{
	for (unsigned i = 0; i < p->nr_devs; i++)
		if (p->devs[i].ops->reset)
			p->devs[i].ops->reset(p->devs[i].dev);
}
