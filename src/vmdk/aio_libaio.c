// SPDX-License-Identifier: MIT
/*
 * The Linux AIO engine (libaio): io_prep_preadv/pwritev iocbs tagged with the engine's eventfd
 * (io_set_eventfd), reaped with a zero-timeout io_getevents. Data-sync is done synchronously
 * because IOCB_CMD_FDSYNC is refused by most file systems. Operations beyond the context's
 * depth wait in a FIFO.
 */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <unistd.h>

struct aio_libaio {
	io_context_t ctx;
	unsigned depth, in_kernel;
	struct aio_op *wait_head, *wait_tail; /* not yet submitted */
	struct aio_op *done_head;	      /* completed without the kernel */
	struct io_event *events;
};

static int aio_libaio_create(unsigned depth, struct aio_engine *e)
{
	struct aio_libaio *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->events = calloc(depth, sizeof(*a->events));
	if (!a->events) {
		free(a);
		return -ENOMEM;
	}
	ret = io_setup((int)depth, &a->ctx);
	if (ret < 0) {
		free(a->events);
		free(a);
		return ret;
	}
	a->depth = depth;
	e->priv = a;
	return 0;
}

static int aio_libaio_start(struct aio_engine *e, struct aio_op *op)
{
	struct aio_libaio *a = e->priv;
	struct iocb *cb = op->engine_priv, *cbs[1];
	int ret;

	if (!cb) {
		cb = calloc(1, sizeof(*cb));
		if (!cb)
			return -ENOMEM;
		op->engine_priv = cb;
	}
	if (op->kind == AIO_READ)
		io_prep_preadv(cb, op->fd, op->iov, op->iovcnt, (long long)op->off);
	else
		io_prep_pwritev(cb, op->fd, op->iov, op->iovcnt, (long long)op->off);
	io_set_eventfd(cb, e->efd);
	cb->data = op;
	cbs[0] = cb;
	ret = io_submit(a->ctx, 1, cbs);
	if (ret == 1) {
		a->in_kernel++;
		return 0;
	}
	return ret < 0 ? ret : -EAGAIN;
}

static void aio_libaio_complete_now(struct aio_engine *e, struct aio_op *op, ssize_t res)
{
	struct aio_libaio *a = e->priv;

	op->res = res;
	op->next = a->done_head;
	a->done_head = op;
	aio_engine_kick(e);
}

static int aio_libaio_submit(struct aio_engine *e, struct aio_op *op)
{
	struct aio_libaio *a = e->priv;
	int ret;

	e->inflight++;
	op->next = NULL;
	if (op->kind == AIO_FDSYNC) {
		aio_libaio_complete_now(e, op, fdatasync(op->fd) < 0 ? -errno : 0);
		return 0;
	}
	if (a->wait_head || a->in_kernel >= a->depth) {
		if (a->wait_tail)
			a->wait_tail->next = op;
		else
			a->wait_head = op;
		a->wait_tail = op;
		return 0;
	}
	ret = aio_libaio_start(e, op);
	if (ret < 0)
		aio_libaio_complete_now(e, op, ret);
	return 0;
}

static void aio_libaio_finish(struct aio_engine *e, struct aio_op *op)
{
	free(op->engine_priv);
	op->engine_priv = NULL;
	e->inflight--;
	op->done(op);
}

static int aio_libaio_reap(struct aio_engine *e)
{
	struct aio_libaio *a = e->priv;
	struct timespec zero = { 0, 0 };
	struct aio_op *op;
	int n = 0, got;

	while ((op = a->done_head)) {
		a->done_head = op->next;
		aio_libaio_finish(e, op);
		n++;
	}
	got = a->in_kernel ? io_getevents(a->ctx, 0, (long)a->depth, a->events, &zero) : 0;
	if (got < 0)
		return got;
	for (int i = 0; i < got; i++) {
		op = a->events[i].data;
		op->res = (ssize_t)(long)a->events[i].res;
		a->in_kernel--;
		aio_libaio_finish(e, op);
		n++;
	}
	while (a->wait_head && a->in_kernel < a->depth) {
		op = a->wait_head;
		a->wait_head = op->next;
		if (!a->wait_head)
			a->wait_tail = NULL;
		if (aio_libaio_start(e, op) < 0)
			aio_libaio_complete_now(e, op, -EIO);
	}
	return n;
}

static void aio_libaio_destroy(struct aio_engine *e)
{
	struct aio_libaio *a = e->priv;

	io_destroy(a->ctx);
	free(a->events);
	free(a);
}

const struct aio_engine_ops aio_libaio_ops = {
	.name = "libaio",
	.create = aio_libaio_create,
	.submit = aio_libaio_submit,
	.reap = aio_libaio_reap,
	.destroy = aio_libaio_destroy,
};
