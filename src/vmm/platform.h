/* SPDX-License-Identifier: MIT */
/*
 * What a device model may use of the machine it lives in: the two buses, guest
 * memory, virtual time, the VM-wide device lock, MSI delivery and requests to
 * the VM's lifecycle (power off, reset, exit with a status). struct vm embeds
 * one; unit tests build one with no VM and no accelerator around it
 * (tests/unit/harness/test_platform.c).
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include "vmm/base/types.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/timer.h"

#include <pthread.h>

enum platform_request {
	PLATFORM_REQ_POWEROFF, /* ACPI S5, or the guest wrote the power-off port */
	PLATFORM_REQ_RESET,    /* 0xCF9, ACPI reset register, i8042 pulse */
	PLATFORM_REQ_EXIT,     /* debug-exit port: end the VM with the guest's status */
};

struct platform {
	struct bus pio, mmio;
	struct gmem mem;
	struct vclock clock;
	/*
	 * The VM-wide device lock the buses take. Recursive, so a device may map or unmap its
	 * ranges (bus_map, e.g. when the guest moves a PCI BAR) from inside a bus handler.
	 */
	pthread_mutex_t dev_lock;
	/* Ask the VM to stop; code is the exit status for PLATFORM_REQ_EXIT. Device lock held. */
	void (*request)(struct platform *p, enum platform_request req, int code);
	/* Deliver a message-signalled interrupt. Device lock held. */
	void (*msi)(struct platform *p, u64 addr, u32 data);
	void *owner; /* the struct vm, or the test fixture */
};

/* Initialise p->dev_lock as a recursive mutex. Main thread, before any device exists. */
static inline void platform_lock_init(struct platform *p)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&p->dev_lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

static inline void platform_request(struct platform *p, enum platform_request req, int code)
{
	if (p->request)
		p->request(p, req, code);
}

#endif
