/* SPDX-License-Identifier: MIT */
/*
 * The main thread's event loop (docs/architecture.md "Threads and locking"):
 * file descriptors with a callback each, host-time deadline timers (slow API
 * clients, drain periods) and calls posted from other threads. `vmm run`
 * creates one loop (struct vmm, vmm.h) and everything that needs the main
 * thread attaches to it: the VM (its wake and timer fds, disk completions,
 * the serial console) and the control server.
 *
 * Loop timers count host CLOCK_MONOTONIC time and keep running while the VM
 * is paused; device timers use the VM's virtual clock (timer.h) instead.
 *
 * Threads: everything here is main-thread only, except loop_post, which any
 * thread may call. Callbacks run on the main thread; a callback may add and
 * remove watches and timers (its own included).
 */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct loop;

typedef void (*loop_fn)(void *opaque, int fd, u32 events);
typedef void (*loop_timer_fn)(void *opaque);
typedef void (*loop_call_fn)(void *opaque);

/* A deadline on the loop; embed it in its owner and loop_timer_init it once. */
struct loop_timer {
	u64 deadline_ns; /* loop_now_ns() time; UINT64_MAX when not armed */
	loop_timer_fn fn;
	void *opaque;
	struct loop_timer *next;
};

MUST_CHECK int loop_create(struct loop **out);
/* Frees the loop; calls still posted are dropped. fds stay open (their owners close them). */
void loop_destroy(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT...). -EEXIST if already watched, -ENOMEM. */
MUST_CHECK int loop_add(struct loop *l, int fd, u32 events, loop_fn fn, void *opaque);
/* Change the events watched on fd. -ENOENT if it is not watched. */
int loop_mod(struct loop *l, int fd, u32 events);
/* Stop watching fd (before closing it). -ENOENT if it is not watched. */
int loop_del(struct loop *l, int fd);

/* Host monotonic time in nanoseconds, the clock of loop timers. */
u64 loop_now_ns(void);
void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *opaque);
/* (Re-)arm t to fire once at deadline_ns (loop_now_ns time); in the past fires at once. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, u64 deadline_ns);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);

/*
 * Run fn(opaque) on the main thread at the loop's next turn. Any thread (workers of long
 * operations hand their results back this way). 0, or -ENOMEM.
 */
MUST_CHECK int loop_post(struct loop *l, loop_call_fn fn, void *opaque);

/*
 * Wait at most timeout_ms (-1: forever, but never past the earliest loop timer), dispatch
 * ready fds, then due timers, then posted calls. Returns how many fds were dispatched, or a
 * negative errno from epoll_wait (EINTR counts as 0).
 */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
