/* SPDX-License-Identifier: MIT */
/*
 * A struct platform (vmm/platform.h) for unit tests: real pio and mmio buses
 * from bus.c, a fake clock from timer.h that moves only when the test says so,
 * a small guest RAM at gpa 0, and recorders for lifecycle requests and MSIs.
 * No VM, no accelerator. Single-threaded: tests call bus_read/bus_write and
 * test_platform_advance from the test thread.
 */
#ifndef TESTS_HARNESS_TEST_PLATFORM_H
#define TESTS_HARNESS_TEST_PLATFORM_H

#include "vmm/platform.h"

#define TEST_PLATFORM_MAX_RECORDS 32
/* Wall-clock time at virtual time 0: 2024-02-29 23:59:50 UTC. */
#define TEST_PLATFORM_WALL_BASE_NS (1709251190ull * 1000000000ull)

struct test_request {
	enum platform_request req;
	int code;
};

struct test_msi {
	u64 addr;
	u32 data;
};

struct test_platform {
	struct platform p;
	void *ram;
	struct test_request reqs[TEST_PLATFORM_MAX_RECORDS];
	unsigned nr_reqs; /* may exceed the array; only the first ones are kept */
	struct test_msi msis[TEST_PLATFORM_MAX_RECORDS];
	unsigned nr_msis;
};

/* Build the platform with ram_bytes of zeroed RAM at gpa 0 (0 for none). 0 or -ENOMEM. */
int test_platform_init(struct test_platform *tp, u64 ram_bytes);
void test_platform_destroy(struct test_platform *tp);

/*
 * Move the fake clock forward by delta_ns, firing due timers at their own
 * deadlines in order (so a periodic timer that re-arms fires once per period).
 * Returns the number of timer callbacks run.
 */
unsigned test_platform_advance(struct test_platform *tp, u64 delta_ns);

/* Virtual now, in nanoseconds. */
u64 test_platform_now(const struct test_platform *tp);

/* The last request, or -1 if none was made. */
int test_platform_last_req(const struct test_platform *tp);

#endif
