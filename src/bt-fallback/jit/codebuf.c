// SPDX-License-Identifier: MIT
/*
 * The JIT's dual-mapped code buffer (codebuf.h): memfd_create(2), then mmap(2) of the same file
 * PROT_READ|PROT_WRITE and PROT_READ|PROT_EXEC, both MAP_SHARED. x86 keeps instruction fetch
 * coherent with stores through any mapping of the same physical page (SDM vol. 3A 11.6), so a
 * patch through the writable view is seen by the next execution through the other one on the
 * same thread without a flush.
 */
#include "bt-fallback/jit/codebuf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int bt_codebuf_init(struct bt_codebuf *cb, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd, ret;

	memset(cb, 0, sizeof(*cb));
	size = (size + (size_t)page - 1) & ~((size_t)page - 1);
	fd = memfd_create("vmm-jit", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	cb->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cb->rw == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	cb->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (cb->rx == MAP_FAILED) {
		ret = -errno;
		goto err_unmap;
	}
	close(fd); /* the mappings keep the file */
	cb->size = size;
	return 0;

err_unmap:
	munmap(cb->rw, size);
err_close:
	close(fd);
	cb->rw = cb->rx = NULL;
	return ret;
}

void bt_codebuf_destroy(struct bt_codebuf *cb)
{
	if (cb->rw)
		munmap(cb->rw, cb->size);
	if (cb->rx)
		munmap(cb->rx, cb->size);
	memset(cb, 0, sizeof(*cb));
}

void *bt_codebuf_alloc(struct bt_codebuf *cb, size_t size, size_t align)
{
	size_t at = (cb->used + align - 1) & ~(align - 1);

	if (at > cb->size || size > cb->size - at)
		return NULL;
	cb->used = at + size;
	return cb->rw + at;
}

void bt_codebuf_trim(struct bt_codebuf *cb, const void *end)
{
	size_t at = (size_t)((const u8 *)end - cb->rw);

	if (at <= cb->used)
		cb->used = at;
}

void bt_codebuf_reset(struct bt_codebuf *cb)
{
	cb->used = 0;
	cb->nr_resets++;
}
