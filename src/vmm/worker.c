// SPDX-License-Identifier: MIT
/*
 * The worker thread (worker.h): a mutex and a condition variable around one job slot.
 */
#include "vmm/worker.h"

#include "vmm/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a job posted, a job done, the end asked */
	void (*fn)(void *opaque);
	void *opaque;
	bool busy, quit;
};

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	void (*fn)(void *);
	void *opaque;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->fn && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->fn)
			break;
		fn = w->fn;
		opaque = w->opaque;
		pthread_mutex_unlock(&w->lock);
		fn(opaque);
		pthread_mutex_lock(&w->lock);
		w->fn = NULL;
		w->busy = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int worker_create(struct worker **out, struct err *err)
{
	struct worker *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ret = pthread_create(&w->thread, NULL, worker_thread, w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return err_set(err, -ret, "cannot start the worker thread: %s", strerror(ret));
	}
	*out = w;
	return 0;
}

void worker_destroy(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int worker_run(struct worker *w, void (*fn)(void *opaque), void *opaque)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (w->busy) {
		ret = -EBUSY;
	} else {
		w->busy = true;
		w->fn = fn;
		w->opaque = opaque;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

void worker_wait(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

int worker_lockdown(void)
{
	return sandbox_lockdown(SANDBOX_KIND_WORKER, "worker");
}
