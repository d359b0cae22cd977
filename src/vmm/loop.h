/* SPDX-License-Identifier: MIT */
/*
 * The main thread's epoll event loop: file descriptors with a callback each,
 * and a timeout so the caller can service virtual-time deadlines. Main thread
 * only; callbacks run on the main thread.
 */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

struct loop;

typedef void (*loop_fn)(void *opaque, int fd, u32 events);

MUST_CHECK int loop_create(struct loop **out);
void loop_destroy(struct loop *l);

/* Watch fd for events (EPOLLIN...). -EEXIST if already watched. */
MUST_CHECK int loop_add(struct loop *l, int fd, u32 events, loop_fn fn, void *opaque);
int loop_del(struct loop *l, int fd);

/* Wait at most timeout_ms (-1: forever) and dispatch ready fds. Returns how many were dispatched. */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
