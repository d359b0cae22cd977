// SPDX-License-Identifier: MIT
/*
 * Port-I/O and MMIO dispatch by address range (docs/conventions.md section 6).
 * Ranges are kept sorted by base and looked up by binary search. The bus
 * adapts access sizes to what each device implements: a wider access is
 * split into little-endian pieces of max_size, a narrower one is widened to
 * min_size (read-modify-write for writes) and the wanted bytes extracted.
 */
#include "vmm/bus.h"

#include "vmm/base/err.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name, unsigned log_cat, pthread_mutex_t *lock)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->log_cat = log_cat;
	bus->lock = lock;
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

static void bus_lock(struct bus *bus)
{
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
}

static void bus_unlock(struct bus *bus)
{
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
}

/* Index of the first range whose end is above addr (or nr). */
static unsigned bus_lower_bound(const struct bus *bus, u64 addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len - 1 < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct bus_range *bus_find(struct bus *bus, u64 addr)
{
	unsigned i = bus_lower_bound(bus, addr);

	if (i < bus->nr && bus->ranges[i].base <= addr)
		return &bus->ranges[i];
	return NULL;
}

static bool bus_sizes_valid(const struct io_ops *ops)
{
	unsigned lo = ops->min_size ? ops->min_size : 1, hi = ops->max_size ? ops->max_size : 8;

	return lo <= hi && hi <= 8 && !(lo & (lo - 1)) && !(hi & (hi - 1));
}

int bus_map(struct bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
	    const char *name)
{
	struct bus_range *r;
	unsigned i;
	int ret = 0;

	if (!len || base + len - 1 < base || !ops || !bus_sizes_valid(ops))
		return -EINVAL;
	bus_lock(bus);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base <= base + len - 1) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *nr = realloc(bus->ranges, cap * sizeof(*nr));

		if (!nr) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		bus->ranges = nr;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(*bus->ranges));
	r = &bus->ranges[i];
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->len = len;
	r->ops = ops;
	r->dev = dev;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "?");
	bus->nr++;
out_unlock:
	bus_unlock(bus);
	return ret;
}

int bus_map_dev(struct bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
		const char *name, struct err *err)
{
	int ret = bus_map(bus, base, len, ops, dev, name);
	bool pio = !strcmp(bus->name, "pio");

	if (ret < 0 && pio && len == 1)
		err_set(err, ret, "%s: port %#llx already in use", name, (unsigned long long)base);
	else if (ret < 0)
		err_set(err, ret, "%s: %s %#llx-%#llx already in use", name, pio ? "ports" : "MMIO",
			(unsigned long long)base, (unsigned long long)(base + len - 1));
	return ret;
}

int bus_unmap(struct bus *bus, u64 base)
{
	struct bus_range *r;
	int ret = -ENOENT;

	bus_lock(bus);
	r = bus_find(bus, base);
	if (r && r->base == base) {
		unsigned i = (unsigned)(r - bus->ranges);

		memmove(r, r + 1, (bus->nr - i - 1) * sizeof(*r));
		bus->nr--;
		ret = 0;
	}
	bus_unlock(bus);
	return ret;
}

bool bus_claimed(struct bus *bus, u64 addr)
{
	bool claimed;

	bus_lock(bus);
	claimed = bus_find(bus, addr) != NULL;
	bus_unlock(bus);
	return claimed;
}

static u64 bus_size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* One access of size bytes at off, adapted to the device's sizes. */
static u64 bus_dev_read(const struct bus_range *r, u64 off, unsigned size)
{
	const struct io_ops *ops = r->ops;
	unsigned lo = ops->min_size ? ops->min_size : 1, hi = ops->max_size ? ops->max_size : 8;
	u64 val = 0;

	if (!ops->read)
		return bus_size_mask(size);
	if (size >= lo && size <= hi)
		return ops->read(r->dev, off, size) & bus_size_mask(size);
	if (size > hi) { /* split: little-endian pieces of hi bytes */
		for (unsigned done = 0; done < size; done += hi)
			val |= (ops->read(r->dev, off + done, hi) & bus_size_mask(hi))
			       << (done * 8);
		return val;
	}
	/* widen: read the aligned min-size unit holding the bytes and extract them */
	{
		u64 aligned = off & ~(u64)(lo - 1);
		unsigned shift = (unsigned)(off - aligned) * 8;

		if (off - aligned + size > lo) /* straddles two units: byte by byte */
			for (unsigned b = 0; b < size; b++)
				val |= bus_dev_read(r, off + b, 1) << (b * 8);
		else
			val = (ops->read(r->dev, aligned, lo) >> shift) & bus_size_mask(size);
	}
	return val;
}

static void bus_dev_write(const struct bus_range *r, u64 off, unsigned size, u64 val)
{
	const struct io_ops *ops = r->ops;
	unsigned lo = ops->min_size ? ops->min_size : 1, hi = ops->max_size ? ops->max_size : 8;

	if (!ops->write)
		return;
	val &= bus_size_mask(size);
	if (size >= lo && size <= hi) {
		ops->write(r->dev, off, size, val);
		return;
	}
	if (size > hi) {
		for (unsigned done = 0; done < size; done += hi)
			ops->write(r->dev, off + done, hi, (val >> (done * 8)) & bus_size_mask(hi));
		return;
	}
	{
		u64 aligned = off & ~(u64)(lo - 1);
		unsigned shift = (unsigned)(off - aligned) * 8;
		u64 old, mask;

		if (off - aligned + size > lo) {
			for (unsigned b = 0; b < size; b++)
				bus_dev_write(r, off + b, 1, (val >> (b * 8)) & 0xff);
			return;
		}
		old = ops->read ? ops->read(r->dev, aligned, lo) : 0;
		mask = bus_size_mask(size) << shift;
		ops->write(r->dev, aligned, lo, (old & ~mask) | (val << shift));
	}
}

u64 bus_read_locked(struct bus *bus, u64 addr, unsigned size)
{
	struct bus_range *r = bus_find(bus, addr), range;
	u64 val;

	if (!r || addr + size - 1 > r->base + r->len - 1) {
		bus->unclaimed++;
		log_dbg(bus->log_cat, "%s: unclaimed read of %u bytes at %#llx", bus->name, size,
			(unsigned long long)addr);
		return bus_size_mask(size);
	}
	r->reads++;
	range = *r; /* a handler may map or unmap ranges (BAR moves): keep our own copy */
	val = bus_dev_read(&range, addr - range.base, size);
	log_dbg(bus->log_cat, "%s: %s read %#llx/%u -> %#llx", bus->name, range.name,
		(unsigned long long)addr, size, (unsigned long long)val);
	return val;
}

void bus_write_locked(struct bus *bus, u64 addr, unsigned size, u64 val)
{
	struct bus_range *r = bus_find(bus, addr), range;

	if (!r || addr + size - 1 > r->base + r->len - 1) {
		bus->unclaimed++;
		log_dbg(bus->log_cat, "%s: unclaimed write of %#llx (%u bytes) at %#llx", bus->name,
			(unsigned long long)val, size, (unsigned long long)addr);
		return;
	}
	r->writes++;
	range = *r; /* a handler may map or unmap ranges (BAR moves): keep our own copy */
	log_dbg(bus->log_cat, "%s: %s write %#llx/%u <- %#llx", bus->name, range.name,
		(unsigned long long)addr, size, (unsigned long long)val);
	bus_dev_write(&range, addr - range.base, size, val);
}

u64 bus_read(struct bus *bus, u64 addr, unsigned size)
{
	u64 val;

	bus_lock(bus);
	val = bus_read_locked(bus, addr, size);
	bus_unlock(bus);
	return val;
}

void bus_write(struct bus *bus, u64 addr, unsigned size, u64 val)
{
	bus_lock(bus);
	bus_write_locked(bus, addr, size, val);
	bus_unlock(bus);
}
