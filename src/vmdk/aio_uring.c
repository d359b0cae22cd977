// SPDX-License-Identifier: MIT
/*
 * The io_uring engine (liburing): readv/writev/fsync(DATASYNC) SQEs, completions signalled on
 * the engine's eventfd (io_uring_register_eventfd) and reaped without blocking. Operations
 * that do not fit in the submission queue wait in a FIFO until completions free slots.
 * The ring is restricted (IORING_REGISTER_RESTRICTIONS, kernel 5.10) to exactly those three
 * operations before it is enabled: io_uring submissions are not system calls, so the seccomp
 * sandbox (docs/sandbox.md) cannot see them, and an unrestricted ring would let whoever
 * reaches io_uring_enter open files or connect sockets. Kernels without restrictions get an
 * unrestricted ring (logged once).
 * The only file that includes liburing (docs/conventions.md section 2).
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct aio_uring {
	struct io_uring ring;
	struct aio_op *wait_head, *wait_tail; /* not yet in the ring */
	unsigned in_ring;
	unsigned depth;
};

/* Allow only the operations aio_uring_queue submits, then start the disabled ring. */
static int aio_uring_restrict(struct io_uring *ring)
{
	static const u8 ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC };
	struct io_uring_restriction res[ARRAY_SIZE(ops)] = { 0 };

	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	/* io_uring_register(2) directly: Debian's liburing 2.3 does not export its wrappers */
	if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
		    ARRAY_SIZE(res)) < 0)
		return -errno;
	if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) <
	    0)
		return -errno;
	return 0;
}

static int aio_uring_create(unsigned depth, struct aio_engine *e)
{
	struct aio_uring *u = calloc(1, sizeof(*u));
	bool restricted = true;
	int ret;

	if (!u)
		return -ENOMEM;
	ret = io_uring_queue_init(depth, &u->ring, IORING_SETUP_R_DISABLED);
	if (ret == -EINVAL) { /* before Linux 5.10 */
		restricted = false;
		LOG_ONCE(LOG_LEVEL_WARN, "block: io_uring without restrictions on this kernel: "
					 "the ring can do more than disk I/O");
		ret = io_uring_queue_init(depth, &u->ring, 0);
	}
	if (ret < 0) {
		free(u);
		return ret;
	}
	ret = io_uring_register_eventfd(&u->ring, e->efd);
	if (ret >= 0 && restricted)
		ret = aio_uring_restrict(&u->ring);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return ret;
	}
	u->depth = depth;
	e->priv = u;
	return 0;
}

static bool aio_uring_queue(struct aio_uring *u, struct aio_op *op)
{
	struct io_uring_sqe *sqe;

	if (u->in_ring >= u->depth)
		return false;
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return false;
	switch (op->kind) {
	case AIO_READ:
		io_uring_prep_readv(sqe, op->fd, op->iov, (unsigned)op->iovcnt, op->off);
		break;
	case AIO_WRITE:
		io_uring_prep_writev(sqe, op->fd, op->iov, (unsigned)op->iovcnt, op->off);
		break;
	case AIO_FDSYNC:
		io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, op);
	u->in_ring++;
	return true;
}

static int aio_uring_submit(struct aio_engine *e, struct aio_op *op)
{
	struct aio_uring *u = e->priv;
	int ret;

	e->inflight++;
	op->next = NULL;
	if (u->wait_head || !aio_uring_queue(u, op)) {
		if (u->wait_tail)
			u->wait_tail->next = op;
		else
			u->wait_head = op;
		u->wait_tail = op;
		return 0;
	}
	ret = io_uring_submit(&u->ring);
	return ret < 0 ? ret : 0;
}

static int aio_uring_reap(struct aio_engine *e)
{
	struct aio_uring *u = e->priv;
	struct io_uring_cqe *cqe;
	int n = 0, ret;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct aio_op *op = io_uring_cqe_get_data(cqe);

		op->res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		u->in_ring--;
		e->inflight--;
		op->done(op);
		n++;
	}
	while (u->wait_head && aio_uring_queue(u, u->wait_head)) {
		u->wait_head = u->wait_head->next;
		if (!u->wait_head)
			u->wait_tail = NULL;
	}
	if (u->in_ring) {
		ret = io_uring_submit(&u->ring);
		if (ret < 0)
			return ret;
	}
	return n;
}

static void aio_uring_destroy(struct aio_engine *e)
{
	struct aio_uring *u = e->priv;

	io_uring_queue_exit(&u->ring);
	free(u);
}

const struct aio_engine_ops aio_uring_ops = {
	.name = "io_uring",
	.create = aio_uring_create,
	.submit = aio_uring_submit,
	.reap = aio_uring_reap,
	.destroy = aio_uring_destroy,
};
