// SPDX-License-Identifier: MIT
/*
 * epoll event loop for the main thread (loop.h). Watches are heap entries
 * whose address is the epoll cookie; a watch removed while the current batch
 * of events is being dispatched is only marked dead and freed after the
 * batch, so a later event of the batch never reaches freed memory. Timers sit
 * in a list sorted by deadline (a handful at most: one per slow client).
 * Posted calls go through a mutex-protected queue and an eventfd.
 */
#include "vmm/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 32

struct loop_watch {
	int fd; /* -1 once removed */
	loop_fn fn;
	void *opaque;
	struct loop_watch *next_dead;
};

struct loop_call {
	loop_call_fn fn;
	void *opaque;
	struct loop_call *next;
};

struct loop {
	int epfd;
	struct loop_watch **watches;
	unsigned nr, cap;
	struct loop_watch *dead; /* removed during a dispatch, freed after it */
	bool dispatching;
	struct loop_timer *timers; /* sorted by deadline */
	int post_fd;
	pthread_mutex_t post_lock;
	struct loop_call *posted, **posted_tail;
};

u64 loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

static void loop_on_post(void *opaque, int fd, u32 events)
{
	eventfd_t v;

	(void)opaque;
	(void)events;
	(void)eventfd_read(fd, &v);
}

int loop_create(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	l->epfd = -1;
	l->post_fd = -1;
	l->posted_tail = &l->posted;
	pthread_mutex_init(&l->post_lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		ret = -errno;
		goto err_free;
	}
	l->post_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->post_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = loop_add(l, l->post_fd, EPOLLIN, loop_on_post, l);
	if (ret < 0)
		goto err_free;
	*out = l;
	return 0;

err_free:
	loop_destroy(l);
	return ret;
}

static void loop_free_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_watch *w = l->dead;

		l->dead = w->next_dead;
		free(w);
	}
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->nr; i++)
		free(l->watches[i]);
	free(l->watches);
	loop_free_dead(l);
	while (l->posted) {
		struct loop_call *c = l->posted;

		l->posted = c->next;
		free(c);
	}
	if (l->post_fd >= 0)
		close(l->post_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_mutex_destroy(&l->post_lock);
	free(l);
}

static int loop_find(const struct loop *l, int fd)
{
	for (unsigned i = 0; i < l->nr; i++)
		if (l->watches[i]->fd == fd)
			return (int)i;
	return -1;
}

int loop_add(struct loop *l, int fd, u32 events, loop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct loop_watch *w;

	if (fd < 0)
		return -EBADF;
	if (loop_find(l, fd) >= 0)
		return -EEXIST;
	if (l->nr == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 16;
		struct loop_watch **v = realloc(l->watches, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->watches = v;
		l->cap = cap;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int ret = -errno;

		free(w);
		return ret;
	}
	l->watches[l->nr++] = w;
	return 0;
}

int loop_mod(struct loop *l, int fd, u32 events)
{
	int i = loop_find(l, fd);
	struct epoll_event ev = { .events = events };

	if (i < 0)
		return -ENOENT;
	ev.data.ptr = l->watches[i];
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct loop *l, int fd)
{
	int i = loop_find(l, fd);
	struct loop_watch *w;

	if (i < 0)
		return -ENOENT;
	w = l->watches[i];
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->watches[i] = l->watches[--l->nr];
	w->fd = -1;
	if (l->dispatching) {
		w->next_dead = l->dead;
		l->dead = w;
	} else {
		free(w);
	}
	return 0;
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *opaque)
{
	t->deadline_ns = UINT64_MAX;
	t->fn = fn;
	t->opaque = opaque;
	t->next = NULL;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->deadline_ns != UINT64_MAX;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (!loop_timer_armed(t))
		return;
	for (struct loop_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->deadline_ns = UINT64_MAX;
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, u64 deadline_ns)
{
	struct loop_timer **pp;

	loop_timer_cancel(l, t);
	if (deadline_ns == UINT64_MAX)
		deadline_ns--; /* "never" would read as not armed */
	t->deadline_ns = deadline_ns;
	for (pp = &l->timers; *pp && (*pp)->deadline_ns <= deadline_ns; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

int loop_post(struct loop *l, loop_call_fn fn, void *opaque)
{
	struct loop_call *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->opaque = opaque;
	c->next = NULL;
	pthread_mutex_lock(&l->post_lock);
	*l->posted_tail = c;
	l->posted_tail = &c->next;
	pthread_mutex_unlock(&l->post_lock);
	(void)eventfd_write(l->post_fd, 1);
	return 0;
}

/* The epoll timeout: timeout_ms, shortened to the earliest loop timer. */
static int loop_timeout(const struct loop *l, int timeout_ms)
{
	u64 now, wait_ms;

	if (!l->timers)
		return timeout_ms;
	now = loop_now_ns();
	if (l->timers->deadline_ns <= now)
		return 0;
	wait_ms = (l->timers->deadline_ns - now + 999999) / 1000000;
	if (timeout_ms >= 0 && (u64)timeout_ms < wait_ms)
		return timeout_ms;
	return wait_ms > 60000 ? 60000 : (int)wait_ms;
}

static void loop_run_timers(struct loop *l)
{
	u64 now = loop_now_ns();

	/* One at a time: a callback may arm or cancel any timer, its own included. */
	while (l->timers && l->timers->deadline_ns <= now) {
		struct loop_timer *t = l->timers;

		l->timers = t->next;
		t->next = NULL;
		t->deadline_ns = UINT64_MAX;
		t->fn(t->opaque);
	}
}

static void loop_run_posted(struct loop *l)
{
	struct loop_call *c;

	pthread_mutex_lock(&l->post_lock);
	c = l->posted;
	l->posted = NULL;
	l->posted_tail = &l->posted;
	pthread_mutex_unlock(&l->post_lock);
	while (c) {
		struct loop_call *next = c->next;

		c->fn(c->opaque);
		free(c);
		c = next;
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int n = epoll_wait(l->epfd, evs, LOOP_BATCH, loop_timeout(l, timeout_ms));

	if (n < 0 && errno != EINTR)
		return -errno;
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		if (w->fd >= 0) /* a callback earlier in this batch may have removed it */
			w->fn(w->opaque, w->fd, evs[i].events);
	}
	l->dispatching = false;
	loop_free_dead(l);
	loop_run_timers(l);
	loop_run_posted(l);
	return n < 0 ? 0 : n;
}
