/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng, the entropy device (VIRTIO 1.2 section 5.4), on the modern PCI transport: one
 * request queue whose device-writable buffers are filled from the host's getrandom(2). The
 * spec's rate limit ("rng": {"bytes_per_second": N}) is kept in windows of 100 ms of virtual
 * time: at most N / 10 bytes (at least 1) per window; a request that finds the window spent
 * waits on a timer for the next one. Each request gets at most VIRTIO_RNG_CHUNK bytes (the
 * used length says how many; 5.4.6: the driver takes what it gets).
 *
 * Locking: the device lock, held by the bus around queue notifications and by the main loop
 * around timers.
 */
#ifndef VIRTIO_RNG_H
#define VIRTIO_RNG_H

#include "devices/pci.h"
#include "virtio/virtio_pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

#define VIRTIO_RNG_CHUNK     4096 /* bytes per request at most */
#define VIRTIO_RNG_WINDOW_NS 100000000ull

struct virtio_rng_config {
	const char *name;     /* "virtio-rng0" */
	u64 bytes_per_second; /* 0: unlimited */
};

struct virtio_rng;
struct device_ops;

/* -ENOMEM, -EINVAL with a message. Main thread. */
MUST_CHECK int virtio_rng_create(struct platform *p, const struct virtio_rng_config *cfg,
				 struct virtio_rng **out, struct err *err);
/* The PCI function (pci_host_add, pci_set_intx) and the transport (its deferred-work fd). */
struct pci_dev *virtio_rng_pci(struct virtio_rng *r);
struct virtio_pci *virtio_rng_transport(struct virtio_rng *r);
void virtio_rng_reset(struct virtio_rng *r);
/* The caller took the function off the PCI host first. */
void virtio_rng_destroy(struct virtio_rng *r);

extern const struct device_ops virtio_rng_device_ops;

#endif
