// SPDX-License-Identifier: MIT
/*
 * The synchronous engine: performs each operation at submission with preadv/pwritev and
 * queues its completion, which the event loop runs from aio reap like any other engine.
 * The fallback where neither io_uring nor libaio is usable.
 */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct aio_sync {
	struct aio_op *head, *tail;
};

static int aio_sync_create(unsigned depth, struct aio_engine *e)
{
	(void)depth;
	e->priv = calloc(1, sizeof(struct aio_sync));
	return e->priv ? 0 : -ENOMEM;
}

static ssize_t aio_sync_run(struct aio_op *op)
{
	ssize_t n;

	do {
		switch (op->kind) {
		case AIO_READ:
			n = preadv(op->fd, op->iov, op->iovcnt, (off_t)op->off);
			break;
		case AIO_WRITE:
			n = pwritev(op->fd, op->iov, op->iovcnt, (off_t)op->off);
			break;
		default:
			n = fdatasync(op->fd);
			break;
		}
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int aio_sync_submit(struct aio_engine *e, struct aio_op *op)
{
	struct aio_sync *s = e->priv;

	op->res = aio_sync_run(op);
	op->next = NULL;
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	e->inflight++;
	aio_engine_kick(e);
	return 0;
}

static int aio_sync_reap(struct aio_engine *e)
{
	struct aio_sync *s = e->priv;
	struct aio_op *op = s->head;
	int n = 0;

	s->head = s->tail = NULL;
	while (op) {
		struct aio_op *next = op->next;

		e->inflight--;
		op->done(op);
		op = next;
		n++;
	}
	return n;
}

static void aio_sync_destroy(struct aio_engine *e)
{
	free(e->priv);
}

const struct aio_engine_ops aio_sync_ops = {
	.name = "sync",
	.create = aio_sync_create,
	.submit = aio_sync_submit,
	.reap = aio_sync_reap,
	.destroy = aio_sync_destroy,
};
