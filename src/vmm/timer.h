/* SPDX-License-Identifier: MIT */
/*
 * Virtual time (docs/architecture.md, "The seams"). Devices take time only
 * from here:
 * a clock that reads nanoseconds since VM start, and timers armed at a
 * deadline on that clock. The main thread's event loop fires due timers
 * (timer_run_due) and sleeps until the next deadline (timer_next_deadline).
 * Unit tests use a fake clock (clock_fake_*) and call timer_run_due by hand.
 *
 * A paused VM freezes its clock (vclock_freeze): virtual time stands still, so
 * no device timer comes due and the guest sees no time pass (the BT engine's
 * TSC and every timer device count this clock); vclock_thaw lets it run on
 * from the same value.
 *
 * Locking: timer callbacks run with the VM-wide device lock held; arm and
 * cancel are called with it held too (from device code).
 */
#ifndef VMM_TIMER_H
#define VMM_TIMER_H

#include "vmm/base/types.h"

struct vclock;
struct timer;

typedef void (*timer_fn)(void *opaque);
typedef u64 (*vclock_read_fn)(void *opaque);

#define TIMER_NEVER UINT64_MAX

struct timer {
	struct vclock *clock;
	timer_fn fn;
	void *opaque;
	u64 deadline_ns; /* TIMER_NEVER when not armed */
	struct timer *next;
};

struct vclock {
	vclock_read_fn read;
	void *opaque;
	struct timer *armed; /* sorted by deadline */
	u64 wall_base_ns;    /* host wall-clock time (CLOCK_REALTIME) at virtual time 0 */
	u64 fake_now_ns;     /* for the fake clock */
	/* Time spent frozen, taken off read(); and the value held while frozen. */
	u64 frozen_total_ns;
	u64 frozen_at_ns;
	bool frozen;
	void (*wake)(void *wake_opaque); /* called when the earliest deadline moves earlier */
	void *wake_opaque;
};

/* A clock that follows CLOCK_MONOTONIC from now on. */
void vclock_init_host(struct vclock *c);
/* A clock that moves only when the test says so (clock_fake_advance). */
void vclock_init_fake(struct vclock *c, u64 wall_base_ns);
void clock_fake_advance(struct vclock *c, u64 delta_ns);

u64 vclock_now_ns(const struct vclock *c);

/*
 * Stop virtual time at its current value, and let it run on from there. Main thread, with no
 * vCPU running (vCPU threads read the clock without a lock). Freezing a frozen clock or
 * thawing a running one does nothing.
 */
void vclock_freeze(struct vclock *c);
void vclock_thaw(struct vclock *c);
bool vclock_frozen(const struct vclock *c);
/*
 * A state restore: virtual time reads now_ns from here on (frozen or running on from it), and
 * wall-clock time at virtual 0 is wall_base_ns. Main thread, no vCPU running.
 */
void vclock_restore(struct vclock *c, u64 now_ns, u64 wall_base_ns);
/* Wall-clock (Unix epoch) nanoseconds corresponding to the virtual now, for the RTC. */
u64 vclock_wall_ns(const struct vclock *c);

void timer_init(struct timer *t, struct vclock *c, timer_fn fn, void *opaque);
void timer_arm(struct timer *t, u64 deadline_ns);
void timer_cancel(struct timer *t);
bool timer_armed(const struct timer *t);

/* Fire every timer whose deadline is <= now; returns how many fired. */
unsigned timer_run_due(struct vclock *c);
/* Earliest deadline, or TIMER_NEVER. */
u64 timer_next_deadline(const struct vclock *c);

#endif
