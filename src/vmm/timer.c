// SPDX-License-Identifier: MIT
/*
 * Virtual clock and deadline timers (docs/architecture.md, "The seams"). The
 * host clock follows CLOCK_MONOTONIC from VM creation; the fake clock moves only when a
 * test advances it. Armed timers sit in a list sorted by deadline, which is
 * short (a handful of devices), so insertion is linear.
 */
#include "vmm/timer.h"

#include <string.h>
#include <time.h>

static u64 timer_host_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

static u64 vclock_host_read(void *opaque)
{
	const struct vclock *c = opaque;

	return timer_host_ns(CLOCK_MONOTONIC) - c->fake_now_ns; /* fake_now_ns holds the start */
}

static u64 vclock_fake_read(void *opaque)
{
	const struct vclock *c = opaque;

	return c->fake_now_ns;
}

void vclock_init_host(struct vclock *c)
{
	memset(c, 0, sizeof(*c));
	c->read = vclock_host_read;
	c->opaque = c;
	c->fake_now_ns = timer_host_ns(CLOCK_MONOTONIC);
	c->wall_base_ns = timer_host_ns(CLOCK_REALTIME);
}

void vclock_init_fake(struct vclock *c, u64 wall_base_ns)
{
	memset(c, 0, sizeof(*c));
	c->read = vclock_fake_read;
	c->opaque = c;
	c->wall_base_ns = wall_base_ns;
}

void clock_fake_advance(struct vclock *c, u64 delta_ns)
{
	c->fake_now_ns += delta_ns;
}

u64 vclock_now_ns(const struct vclock *c)
{
	if (__atomic_load_n(&c->frozen, __ATOMIC_ACQUIRE))
		return c->frozen_at_ns;
	return c->read(c->opaque) - __atomic_load_n(&c->frozen_total_ns, __ATOMIC_ACQUIRE);
}

void vclock_freeze(struct vclock *c)
{
	if (c->frozen)
		return;
	c->frozen_at_ns = vclock_now_ns(c);
	__atomic_store_n(&c->frozen, true, __ATOMIC_RELEASE);
}

void vclock_thaw(struct vclock *c)
{
	if (!c->frozen)
		return;
	/* read() - total == frozen_at from now on: the time spent frozen never happened. */
	__atomic_store_n(&c->frozen_total_ns, c->read(c->opaque) - c->frozen_at_ns,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&c->frozen, false, __ATOMIC_RELEASE);
}

void vclock_restore(struct vclock *c, u64 now_ns, u64 wall_base_ns)
{
	c->wall_base_ns = wall_base_ns;
	if (c->frozen)
		c->frozen_at_ns = now_ns;
	else /* unsigned: read() - total == now_ns even when read() is smaller */
		__atomic_store_n(&c->frozen_total_ns, c->read(c->opaque) - now_ns,
				 __ATOMIC_RELEASE);
}

bool vclock_frozen(const struct vclock *c)
{
	return __atomic_load_n(&c->frozen, __ATOMIC_ACQUIRE);
}

u64 vclock_wall_ns(const struct vclock *c)
{
	return c->wall_base_ns + vclock_now_ns(c);
}

void timer_init(struct timer *t, struct vclock *c, timer_fn fn, void *opaque)
{
	memset(t, 0, sizeof(*t));
	t->clock = c;
	t->fn = fn;
	t->opaque = opaque;
	t->deadline_ns = TIMER_NEVER;
}

static void timer_unlink(struct timer *t)
{
	struct timer **pp;

	for (pp = &t->clock->armed; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->deadline_ns = TIMER_NEVER;
}

void timer_arm(struct timer *t, u64 deadline_ns)
{
	struct vclock *c = t->clock;
	u64 old_first = timer_next_deadline(c);
	struct timer **pp;

	if (timer_armed(t))
		timer_unlink(t);
	if (deadline_ns == TIMER_NEVER)
		return;
	t->deadline_ns = deadline_ns;
	for (pp = &c->armed; *pp && (*pp)->deadline_ns <= deadline_ns; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	if (deadline_ns < old_first && c->wake)
		c->wake(c->wake_opaque);
}

void timer_cancel(struct timer *t)
{
	if (timer_armed(t))
		timer_unlink(t);
}

bool timer_armed(const struct timer *t)
{
	return t->deadline_ns != TIMER_NEVER;
}

u64 timer_next_deadline(const struct vclock *c)
{
	return c->armed ? c->armed->deadline_ns : TIMER_NEVER;
}

unsigned timer_run_due(struct vclock *c)
{
	unsigned fired = 0;
	u64 now = vclock_now_ns(c);

	/* A callback may re-arm its own timer (periodic devices); take one at a time. */
	while (c->armed && c->armed->deadline_ns <= now) {
		struct timer *t = c->armed;

		timer_unlink(t);
		t->fn(t->opaque);
		fired++;
		if (fired >
		    10000) /* a timer re-armed in the past forever: leave the rest for later */
			break;
	}
	return fired;
}
