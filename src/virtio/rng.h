/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng, the entropy device (VIRTIO 1.2 section 5.4), on the modern PCI transport: one
 * request queue whose device-writable buffers are filled from the host's getrandom(2), each
 * request whole up to VIRTIO_RNG_CHUNK bytes (the used length says how many).
 *
 * The spec's rate limit ("rng": {"bytes_per_second": N}) is a budget of N / 10 bytes (at least
 * 1) per window of 100 ms of virtual time. A request is served while the current window's
 * budget is not spent and is charged in full; what it takes beyond the window is a debt the
 * following windows pay first, so over any stretch of time the guest gets at most the rate
 * plus one request. A request that finds the budget spent waits on a timer for the window
 * that has budget again. Requests are never answered short to fit the budget: Linux 6.1's
 * driver stops asking after a short answer (its reader waits for a completion that no posted
 * buffer will bring; seen under QEMU's own limit too), so short answers would stall it.
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
