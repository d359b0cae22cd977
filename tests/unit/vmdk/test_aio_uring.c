// SPDX-License-Identifier: MIT
/*
 * The io_uring engine's ring accepts only the operations the engine submits (readv, writev,
 * fsync): anything else, submitted straight to its ring, completes with -EACCES. The seccomp
 * sandbox cannot see io_uring operations, so this restriction is what keeps a taken-over
 * ring from opening files or connecting sockets (docs/sandbox.md). Skipped where the host has
 * no io_uring or a kernel without ring restrictions (before 5.10).
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

struct op_rec {
	struct aio_op op;
	int done;
};

static void op_done(struct aio_op *op)
{
	((struct op_rec *)op)->done++;
}

/* The engine's private state starts with its struct io_uring (aio_uring.c). */
static struct io_uring *engine_ring(struct aio_engine *e)
{
	return e->priv;
}

static int submit_raw(struct io_uring *ring, void (*prep)(struct io_uring_sqe *sqe))
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res, ret;

	if (!sqe)
		return -EBUSY;
	prep(sqe);
	io_uring_sqe_set_data(sqe, NULL);
	ret = io_uring_submit(ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	assert_int_equal(ret, 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static void prep_nop(struct io_uring_sqe *sqe)
{
	io_uring_prep_nop(sqe);
}

static void prep_openat(struct io_uring_sqe *sqe)
{
	io_uring_prep_openat(sqe, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0);
}

static void test_ring_takes_only_disk_operations(void **state)
{
	struct aio_engine *e;
	struct err err = { 0 };
	char buf[16] = "restricted ring";
	struct iovec iov = { buf, sizeof(buf) };
	struct op_rec rec = { 0 };
	int fds[2], res, major, minor;
	struct utsname u;

	(void)state;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    major * 1000 + minor < 5010) {
		print_message("skipped: kernel %s has no io_uring restrictions (5.10)\n",
			      u.release);
		skip();
	}
	if (aio_engine_create("io_uring", 8, &e, &err) < 0) {
		print_message("skipped: no io_uring here: %s\n", err.msg);
		skip();
	}
	res = submit_raw(engine_ring(e), prep_nop);
	if (res == 0) {
		aio_engine_destroy(e);
		fail_msg("a NOP went through: the ring is not restricted");
	}
	assert_int_equal(res, -EACCES);
	assert_int_equal(submit_raw(engine_ring(e), prep_openat), -EACCES);

	/* The engine's own operations still work on the same ring. */
	assert_int_equal(pipe(fds), 0);
	rec.op.kind = AIO_WRITE;
	rec.op.fd = fds[1];
	rec.op.iov = &iov;
	rec.op.iovcnt = 1;
	rec.op.done = op_done;
	assert_int_equal(e->ops->submit(e, &rec.op), 0);
	while (!rec.done)
		assert_true(aio_engine_wait(e) >= 0);
	assert_int_equal(rec.op.res, (ssize_t)sizeof(buf));
	close(fds[0]);
	close(fds[1]);
	aio_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_takes_only_disk_operations),
	};

	return cmocka_run_group_tests_name("aio_uring", tests, NULL, NULL);
}
