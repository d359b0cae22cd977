// SPDX-License-Identifier: MIT
/* Virtual time: deadlines fire in order on a fake clock; re-arming from a callback works. */
#include "vmm/timer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

struct tick {
	struct timer t;
	unsigned fired;
	u64 period_ns; /* re-arm from the callback when non-zero */
	int order;
};

static int tick_seq;

static void tick_fn(void *opaque)
{
	struct tick *k = opaque;

	k->fired++;
	k->order = ++tick_seq;
	if (k->period_ns)
		timer_arm(&k->t, k->t.clock->fake_now_ns + k->period_ns);
}

static unsigned wakes;

static void count_wake(void *opaque)
{
	(void)opaque;
	wakes++;
}

static void test_deadlines_fire_in_order(void **state)
{
	struct vclock c;
	struct tick a = { 0 }, b = { 0 };

	(void)state;
	vclock_init_fake(&c, 1000000000ull);
	c.wake = count_wake;
	wakes = 0;
	tick_seq = 0;
	timer_init(&a.t, &c, tick_fn, &a);
	timer_init(&b.t, &c, tick_fn, &b);
	assert_false(timer_armed(&a.t));
	assert_int_equal(timer_next_deadline(&c), TIMER_NEVER);
	timer_arm(&a.t, 200);
	timer_arm(&b.t, 100);
	assert_int_equal(wakes, 2); /* each moved the earliest deadline earlier */
	assert_int_equal(timer_next_deadline(&c), 100);
	assert_int_equal(timer_run_due(&c), 0);
	clock_fake_advance(&c, 250);
	assert_int_equal(timer_run_due(&c), 2);
	assert_int_equal(b.order, 1);
	assert_int_equal(a.order, 2);
	assert_false(timer_armed(&a.t));
	assert_int_equal(vclock_wall_ns(&c), 1000000250ull);
}

static void test_cancel_and_periodic_rearm(void **state)
{
	struct vclock c;
	struct tick p = { .period_ns = 10 }, x = { 0 };

	(void)state;
	vclock_init_fake(&c, 0);
	timer_init(&p.t, &c, tick_fn, &p);
	timer_init(&x.t, &c, tick_fn, &x);
	timer_arm(&p.t, 10);
	timer_arm(&x.t, 15);
	timer_cancel(&x.t);
	assert_false(timer_armed(&x.t));
	for (int i = 0; i < 5; i++) {
		clock_fake_advance(&c, 10);
		timer_run_due(&c);
	}
	assert_int_equal(p.fired, 5);
	assert_int_equal(x.fired, 0);
	assert_int_equal(timer_next_deadline(&c), 60);
	timer_arm(&p.t, TIMER_NEVER); /* arming at "never" disarms */
	assert_int_equal(timer_next_deadline(&c), TIMER_NEVER);
}

static void test_host_clock_moves_forward(void **state)
{
	struct vclock c;
	u64 t0, t1;

	(void)state;
	vclock_init_host(&c);
	t0 = vclock_now_ns(&c);
	for (volatile int i = 0; i < 100000; i++)
		;
	t1 = vclock_now_ns(&c);
	assert_true(t1 >= t0);
	assert_true(t0 < 1000000000ull); /* starts near zero at creation */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadlines_fire_in_order),
		cmocka_unit_test(test_cancel_and_periodic_rearm),
		cmocka_unit_test(test_host_clock_moves_forward),
	};
	return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
