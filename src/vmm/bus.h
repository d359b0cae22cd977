/* SPDX-License-Identifier: MIT */
/*
 * Port-I/O and MMIO buses (docs/conventions.md section 6). One struct bus per
 * address space. Ranges are sorted; overlapping and zero-length ranges are refused at
 * map time. Handlers get the offset from their base. Devices declare the
 * access sizes they implement (min_size..max_size, powers of two up to 8);
 * the bus splits wider accesses and widens narrower ones, so device code
 * never switches on size. Unclaimed reads return all ones, unclaimed writes
 * are dropped; both are logged under the pio/mmio debug category.
 *
 * Locking: the bus takes the VM-wide device lock (bus->lock, shared by both
 * buses of a VM) around every handler call; bus_map/bus_unmap take it too.
 * The lock is recursive (platform_lock_init), so a handler may map or unmap
 * ranges (a PCI BAR move); the range being dispatched stays valid until its
 * handler returns because bus_read/bus_write copy what they need first.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

#include <pthread.h>

struct err;

struct io_ops {
	u64 (*read)(void *dev, u64 off, unsigned size);
	void (*write)(void *dev, u64 off, unsigned size, u64 val);
	u8 min_size, max_size; /* sizes the device implements; the bus adapts the rest */
};

struct bus_range {
	u64 base, len;
	const struct io_ops *ops;
	void *dev;
	char name[32];
	u64 reads, writes; /* accesses dispatched to the device (vm.counters); device lock */
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	unsigned log_cat;
	struct bus_range *ranges; /* sorted by base */
	unsigned nr, cap;
	pthread_mutex_t *lock; /* the VM-wide device lock; NULL in single-threaded tests */
	u64 unclaimed;	       /* count of accesses nobody claimed */
};

/* Initialise an empty bus. lock may be NULL (unit tests). Main thread. */
void bus_init(struct bus *bus, const char *name, unsigned log_cat, pthread_mutex_t *lock);
void bus_destroy(struct bus *bus);

/* Claim [base, base+len) for a device. -EINVAL on zero length, -EBUSY on overlap. Main thread. */
MUST_CHECK int bus_map(struct bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
		       const char *name);
/*
 * bus_map for a device being created: on failure err says "<name>: ports <first>-<last>
 * already in use" ("port <n>" for one port, "MMIO <first>-<last>" on the MMIO bus).
 */
MUST_CHECK int bus_map_dev(struct bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
			   const char *name, struct err *err);
/* Release the range that starts at base. -ENOENT if none. */
int bus_unmap(struct bus *bus, u64 base);

/* Accesses of 1, 2, 4 or 8 bytes (little-endian). Any thread; takes the device lock. */
u64 bus_read(struct bus *bus, u64 addr, unsigned size);
void bus_write(struct bus *bus, u64 addr, unsigned size, u64 val);

/* The same, for callers that already hold the device lock. */
u64 bus_read_locked(struct bus *bus, u64 addr, unsigned size);
void bus_write_locked(struct bus *bus, u64 addr, unsigned size, u64 val);

/* Is any device mapped at addr? */
bool bus_claimed(struct bus *bus, u64 addr);

#endif
