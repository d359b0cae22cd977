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

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/timer.h"

#include <pthread.h>

struct device_ops;

#define PLATFORM_MEM_LOG_DIRTY (1u << 0) /* map_ram: record the pages the guest writes */

enum platform_request {
	PLATFORM_REQ_POWEROFF, /* ACPI S5, or the guest wrote the power-off port */
	PLATFORM_REQ_RESET,    /* 0xCF9, ACPI reset register, i8042 pulse */
	PLATFORM_REQ_EXIT,     /* debug-exit port: end the VM with the guest's status */
	PLATFORM_REQ_PANIC,    /* pvpanic: the guest reported a panic (code: the event bits) */
	PLATFORM_REQ_SUSPEND,  /* ACPI S3: stop every vCPU, memory kept, until a wake event */
	PLATFORM_REQ_WAKE,     /* an enabled wake event (RTC alarm, power button) while in S3 */
};

/*
 * A device of the machine, registered by the board right after it creates it, in creation
 * order. Board reset, state save/load and counters walk this list instead of knowing each
 * device; the board still owns and destroys the devices.
 */
struct platform_dev {
	const struct device_ops *ops;
	void *dev;
	char name[32]; /* instance name: "uart0", "lapic1", "virtio-blk0", "ahci0" */
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
	/*
	 * Device memory the guest reaches as RAM (a framebuffer BAR): map len bytes of host
	 * memory at hva (page-aligned) at gpa in the accelerator, so guest accesses to it need no
	 * exit; PLATFORM_MEM_LOG_DIRTY records the pages the guest writes (dirty_log). len 0
	 * unmaps what map_ram mapped at gpa. 0, or a negative errno (-EEXIST: RAM or another
	 * mapping is there); the device then keeps serving the range from its bus handlers.
	 * NULL when the machine has no accelerator (unit tests). Device lock held.
	 */
	int (*map_ram)(struct platform *p, u64 gpa, u64 len, void *hva, unsigned flags);
	/*
	 * The pages of [gpa, gpa+len), inside one map_ram mapping with PLATFORM_MEM_LOG_DIRTY,
	 * that the guest wrote since the last call: bit i of bitmap is page gpa + i * 4 KiB
	 * ((len / 4096 + 63) / 64 longs); the log is cleared. Any thread, device lock held.
	 */
	int (*dirty_log)(struct platform *p, u64 gpa, u64 len, unsigned long *bitmap);
	void *owner;		   /* the struct vm, or the test fixture */
	struct platform_dev *devs; /* platform_add_dev; main thread while no vCPU runs */
	unsigned nr_devs, cap_devs;
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

/*
 * Register a device the board created (name is copied; at most 31 characters). -ENOMEM, or
 * -EEXIST if that instance name is taken. Main thread, while no vCPU runs.
 */
MUST_CHECK int platform_add_dev(struct platform *p, const struct device_ops *ops, void *dev,
				const char *name);
/* Forget a device before it is destroyed (no-op if it is not registered). Main thread. */
void platform_del_dev(struct platform *p, const void *dev);
/* The registered device with this instance name, or NULL. */
const struct platform_dev *platform_find_dev(const struct platform *p, const char *name);
/* Free the list itself (the devices are the board's). Main thread. */
void platform_devs_free(struct platform *p);

/* Memory a device owns that the guest uses like RAM (device_ops.memory: video RAM). */
#define PLATFORM_MEMS_MAX 4

struct platform_mem {
	const struct platform_dev *dev; /* its name is the memory's name in snapshots */
	u8 *hva;
	u64 len;
};

/*
 * The devices' memories in device-list order into out (at most PLATFORM_MEMS_MAX): how many,
 * or -E2BIG when there are more. Main thread.
 */
MUST_CHECK int platform_mems(const struct platform *p, struct platform_mem *out);
/* Or the pages of m written since the last call into bitmap (device_ops.memory_dirty). */
MUST_CHECK int platform_mem_dirty(struct platform *p, const struct platform_mem *m,
				  unsigned long *bitmap);

static inline void platform_request(struct platform *p, enum platform_request req, int code)
{
	if (p->request)
		p->request(p, req, code);
}

#endif
