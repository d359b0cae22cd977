// SPDX-License-Identifier: MIT
/* epoll event loop for the main thread. */
#include "vmm/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_MAX_WATCHES 64

struct loop_watch {
	int fd;
	loop_fn fn;
	void *opaque;
};

struct loop {
	int epfd;
	struct loop_watch watches[LOOP_MAX_WATCHES];
};

int loop_create(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int ret = -errno;

		free(l);
		return ret;
	}
	for (unsigned i = 0; i < LOOP_MAX_WATCHES; i++)
		l->watches[i].fd = -1;
	*out = l;
	return 0;
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, int fd, u32 events, loop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct loop_watch *w = NULL;

	for (unsigned i = 0; i < LOOP_MAX_WATCHES; i++) {
		if (l->watches[i].fd == fd)
			return -EEXIST;
		if (!w && l->watches[i].fd < 0)
			w = &l->watches[i];
	}
	if (!w)
		return -ENOSPC;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	return 0;
}

int loop_del(struct loop *l, int fd)
{
	for (unsigned i = 0; i < LOOP_MAX_WATCHES; i++) {
		if (l->watches[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->watches[i].fd = -1;
			return 0;
		}
	}
	return -ENOENT;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		if (w->fd >= 0) /* a callback earlier in this batch may have removed it */
			w->fn(w->opaque, w->fd, evs[i].events);
	}
	return n;
}
