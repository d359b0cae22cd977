// SPDX-License-Identifier: MIT
/*
 * I/O engine selection and the parts every engine shares (the completion eventfd).
 * auto = io_uring, else libaio, else the synchronous engine (io_uring is refused by some
 * seccomp profiles and older kernels; libaio by kernels without AIO).
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

void aio_engine_kick(struct aio_engine *e)
{
	u64 one = 1;

	if (write(e->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("block: eventfd write failed: %s", strerror(errno));
}

void aio_engine_drain_fd(struct aio_engine *e)
{
	u64 v;

	if (read(e->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("block: eventfd read failed: %s", strerror(errno));
}

int aio_engine_wait(struct aio_engine *e)
{
	struct pollfd p = { .fd = e->efd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&p, 1, -1);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	aio_engine_drain_fd(e);
	return e->ops->reap(e);
}

static int aio_try(const struct aio_engine_ops *ops, unsigned depth, struct aio_engine **out)
{
	struct aio_engine *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	e->ops = ops;
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0) {
		ret = -errno;
		free(e);
		return ret;
	}
	ret = ops->create(depth, e);
	if (ret < 0) {
		close(e->efd);
		free(e);
		return ret;
	}
	*out = e;
	return 0;
}

int aio_engine_create(const char *name, unsigned depth, struct aio_engine **out, struct err *err)
{
	static const struct aio_engine_ops *const order[] = { &aio_uring_ops, &aio_libaio_ops,
							      &aio_sync_ops };
	bool any = !name || !strcmp(name, "auto");
	const char *refused = NULL; /* the first engine auto could not use */
	int ret = -ENOENT, refused_ret = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		if (!any && strcmp(name, order[i]->name))
			continue;
		ret = aio_try(order[i], depth, out);
		if (!ret) {
			/* A host that refuses io_uring (kernel.io_uring_disabled, seccomp) works,
			 * more slowly: say so once per disk rather than fail. */
			if (refused)
				log_info("block: I/O engine %s unavailable (%s), using %s", refused,
					 strerror(-refused_ret), order[i]->name);
			return 0;
		}
		if (!any)
			return err_set(err, ret, "I/O engine %s unavailable: %s", name,
				       strerror(-ret));
		if (!refused) {
			refused = order[i]->name;
			refused_ret = ret;
		}
		log_dbg(LOG_CAT_BLOCK, "block: engine %s unavailable: %s", order[i]->name,
			strerror(-ret));
	}
	return err_set(err, ret, "unknown I/O engine '%s' (auto, io_uring, libaio, sync)",
		       name ? name : "");
}

void aio_engine_destroy(struct aio_engine *e)
{
	if (!e)
		return;
	while (e->inflight && aio_engine_wait(e) >= 0) /* the kernel must let go of buffers */
		;
	e->ops->destroy(e);
	close(e->efd);
	free(e);
}
