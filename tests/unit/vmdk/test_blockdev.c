// SPDX-License-Identifier: MIT
/*
 * Unit tests of the block-device interface (blockdev.c) on each I/O engine: asynchronous
 * scatter-gather requests over raw and VMDK images, completion through the event fd and
 * blockdev_poll_completions(), flush, discard, read-only and range errors, reads that fall
 * through to a parent, geometry. An engine the host lacks is skipped, not failed; one that
 * VMM_TEST_HOST_LACKS names (scripts/host-without io_uring) must be refused, and auto must then
 * pick another.
 */
#include "vmdk/blockdev.h"

#include "host_lacks.h"
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char tdir[64];

struct done_rec {
	int calls;
	int ret;
};

static void rec_done(struct blockdev_req *req, int ret)
{
	struct done_rec *r = req->opaque;

	r->calls++;
	r->ret = ret;
}

static int open_bd(const char *path, const char *engine, bool ro, struct blockdev **bd)
{
	struct blockdev_spec spec = {
		.path = path, .engine = engine, .readonly = ro, .queue_depth = 4
	};
	struct err e = { 0 };

	return blockdev_open(&spec, bd, &e);
}

/* Run the loop like the VMM would: wait on the fd, then poll. */
static void loop_until(struct blockdev *bd, struct done_rec *recs, int n)
{
	for (int spins = 0; spins < 1000; spins++) {
		struct pollfd p = { .fd = blockdev_event_fd(bd), .events = POLLIN };
		int all = 1;

		for (int i = 0; i < n; i++)
			all &= recs[i].calls == 1;
		if (all)
			return;
		assert_true(poll(&p, 1, 5000) == 1); /* completions always signal the fd */
		assert_true(blockdev_poll_completions(bd) >= 0);
	}
	fail_msg("requests did not complete");
}

static void make_images(void)
{
	struct vmdk_create_opts co = { 0 };
	char p[128];
	struct err e = { 0 };
	int fd;

	snprintf(p, sizeof(p), "%s/r.raw", tdir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/v.vmdk", tdir);
	assert_int_equal(vmdk_create(p, 4 << 20, &co, &e), 0);
}

static void engine_roundtrip(const char *engine, const char *name)
{
	enum {
		NREQ = 12
	};

	static u8 bufs[NREQ][3][8192];
	struct blockdev_req reqs[NREQ];
	struct iovec iov[NREQ][3];
	struct done_rec recs[NREQ];
	struct blockdev *bd;
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", tdir, name);
	if (open_bd(p, engine, false, &bd) < 0) { /* engine refused by this host */
		print_message("engine %s unavailable on this host: %s skipped\n", engine, name);
		return;
	}
	if (test_host_lacks(engine))
		fail_msg("engine %s opened although VMM_TEST_HOST_LACKS names it", engine);
	assert_string_equal(blockdev_engine_name(bd), engine);
	/* 12 writes of 3 x 8 KiB each, straddling 64 KiB grains, more than the queue depth */
	for (int i = 0; i < NREQ; i++) {
		for (int k = 0; k < 3; k++) {
			memset(bufs[i][k], 0x10 + i * 3 + k, sizeof(bufs[i][k]));
			iov[i][k] = (struct iovec){ bufs[i][k], sizeof(bufs[i][k]) };
		}
		reqs[i] = (struct blockdev_req){ .op = BLOCKDEV_WRITE,
						 .offset = (u64)i * 65536 * 3 + 60000 - 60000 % 512,
						 .iov = iov[i],
						 .iovcnt = 3,
						 .done = rec_done,
						 .opaque = &recs[i] };
		recs[i] = (struct done_rec){ 0 };
		assert_int_equal(blockdev_submit(bd, &reqs[i]), 0);
	}
	loop_until(bd, recs, NREQ);
	for (int i = 0; i < NREQ; i++)
		assert_int_equal(recs[i].ret, 0);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(blockdev_inflight(bd), 0);
	assert_int_equal(blockdev_close(bd), 0);

	assert_int_equal(open_bd(p, engine, true, &bd), 0);
	for (int i = 0; i < NREQ; i++) {
		u8 rd[3 * 8192];

		assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), reqs[i].offset), 0);
		for (int k = 0; k < 3; k++)
			assert_memory_equal(rd + k * 8192, bufs[i][k], 8192);
	}
	{
		u8 b[512] = { 0 };
		struct iovec v = { b, 512 };
		struct blockdev_req w = {
			.op = BLOCKDEV_WRITE, .iov = &v, .iovcnt = 1, .done = rec_done
		};

		assert_int_equal(blockdev_submit(bd, &w), -EROFS);
		w.op = BLOCKDEV_READ;
		w.offset = blockdev_size(bd) - 256;
		assert_int_equal(blockdev_submit(bd, &w), -EINVAL);
	}
	assert_int_equal(blockdev_close(bd), 0);
}

static void test_engines(void **state)
{
	static const char *const engines[] = { "io_uring", "libaio", "sync" };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(engines); i++) {
		make_images();
		engine_roundtrip(engines[i], "r.raw");
		engine_roundtrip(engines[i], "v.vmdk");
	}
}

static void test_auto_engine_and_geometry(void **state)
{
	struct blockdev_geometry g;
	struct blockdev *bd;
	char p[128];

	(void)state;
	make_images();
	snprintf(p, sizeof(p), "%s/v.vmdk", tdir);
	assert_int_equal(open_bd(p, NULL, true, &bd), 0);
	assert_true(!strcmp(blockdev_engine_name(bd), "io_uring") ||
		    !strcmp(blockdev_engine_name(bd), "libaio") ||
		    !strcmp(blockdev_engine_name(bd), "sync"));
	assert_false(test_host_lacks(blockdev_engine_name(bd)));
	blockdev_geometry(bd, &g);
	assert_int_equal(g.heads, 16);
	assert_int_equal(g.sectors, 63);
	assert_int_equal(g.cylinders, (4 << 20) / 512 / (16 * 63));
	assert_int_equal(blockdev_size(bd), 4 << 20);
	blockdev_close(bd);
	assert_int_equal(open_bd(p, "nosuch", true, &bd), -ENOENT);
}

static void test_discard_raw_punches_hole(void **state)
{
	struct done_rec r = { 0 };
	struct blockdev_req d = {
		.op = BLOCKDEV_DISCARD, .offset = 0, .len = 1 << 20, .done = rec_done, .opaque = &r
	};
	static u8 buf[1 << 20];
	struct blockdev *bd;
	struct stat st0, st1;
	char p[128];

	(void)state;
	make_images();
	snprintf(p, sizeof(p), "%s/r.raw", tdir);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(open_bd(p, NULL, false, &bd), 0);
	assert_int_equal(blockdev_pwrite(bd, buf, sizeof(buf), 0), 0);
	assert_int_equal(blockdev_flush(bd), 0);
	assert_int_equal(stat(p, &st0), 0);
	assert_int_equal(blockdev_submit(bd, &d), 0);
	loop_until(bd, &r, 1);
	assert_int_equal(r.ret, 0);
	assert_int_equal(blockdev_pread(bd, buf, 4096, 0), 0);
	assert_int_equal(buf[0] | buf[4095], 0);
	assert_int_equal(stat(p, &st1), 0);
	assert_true(st1.st_blocks < st0.st_blocks);
	blockdev_close(bd);
}

static void test_delta_read_through_engine(void **state)
{
	struct vmdk_create_opts co = { 0 };
	struct vmdk_image *img;
	struct vmdk_open_opts o = { 0 };
	struct blockdev *bd;
	struct err e = { 0 };
	char base[128], child[128];
	static u8 a[65536], rd[3 * 65536];

	(void)state;
	snprintf(base, sizeof(base), "%s/b.vmdk", tdir);
	snprintf(child, sizeof(child), "%s/c.vmdk", tdir);
	assert_int_equal(vmdk_create(base, 1 << 20, &co, &e), 0);
	assert_int_equal(vmdk_image_open(base, &o, &img, &e), 0);
	memset(a, 0xa5, sizeof(a));
	assert_int_equal(vmdk_image_pwrite(img, a, sizeof(a), 65536), 0);
	co.parent = "b.vmdk";
	co.parent_cid = img->desc.cid;
	vmdk_image_close(img);
	assert_int_equal(vmdk_create(child, 2 << 20, &co, &e), 0); /* larger than its parent */
	assert_int_equal(open_bd(child, "io_uring", false, &bd) == 0 ||
				 open_bd(child, "sync", false, &bd) == 0,
			 1);
	memset(a, 0xc3, 512);
	assert_int_equal(blockdev_pwrite(bd, a, 512, 2 * 65536), 0);
	assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), 0), 0);
	for (u64 i = 0; i < sizeof(rd); i++) {
		u8 want = i < 65536 ? 0 : i < 2 * 65536 ? 0xa5 : i < 2 * 65536 + 512 ? 0xc3 : 0;

		if (rd[i] != want)
			fail_msg("byte %llu: %#x, want %#x", (unsigned long long)i, rd[i], want);
	}
	assert_int_equal(blockdev_pread(bd, rd, 512, (2 << 20) - 512), 0); /* past the parent */
	assert_int_equal(rd[0] | rd[511], 0);
	blockdev_close(bd);
}

static void test_cache_none(void **state)
{
	static const char *const names[] = { "r.raw", "v.vmdk" };
	u8 *buf = NULL, *rd = NULL;

	(void)state;
	assert_int_equal(posix_memalign((void **)&buf, 4096, 3 << 16), 0);
	assert_int_equal(posix_memalign((void **)&rd, 4096, 3 << 16), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		struct blockdev_spec spec = { .cache = BLOCKDEV_CACHE_NONE };
		struct blockdev *bd;
		struct err e = { 0 };
		char p[128];

		make_images();
		snprintf(p, sizeof(p), "%s/%s", tdir, names[i]);
		spec.path = p;
		assert_int_equal(blockdev_open(&spec, &bd, &e), 0);
		memset(buf, 0x31 + (int)i, 3 << 16);
		assert_int_equal(blockdev_pwrite(bd, buf, 3 << 16, 1 << 16), 0); /* whole grains */
		assert_int_equal(blockdev_pwrite(bd, buf, 4096, 8192), 0);	 /* partial grain */
		assert_int_equal(blockdev_flush(bd), 0);
		assert_int_equal(blockdev_close(bd), 0);
		spec.cache = BLOCKDEV_CACHE_WRITETHROUGH;
		spec.readonly = true;
		assert_int_equal(blockdev_open(&spec, &bd, &e), 0);
		assert_int_equal(blockdev_pread(bd, rd, 3 << 16, 1 << 16), 0);
		assert_memory_equal(rd, buf, 3 << 16);
		assert_int_equal(blockdev_pread(bd, rd, 4096, 8192), 0);
		assert_memory_equal(rd, buf, 4096);
		blockdev_close(bd);
	}
	free(buf);
	free(rd);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/test-blockdev-XXXXXX");
	return mkdtemp(tdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_auto_engine_and_geometry),
		cmocka_unit_test(test_discard_raw_punches_hole),
		cmocka_unit_test(test_delta_read_through_engine),
		cmocka_unit_test(test_cache_none),
	};
	return cmocka_run_group_tests_name("blockdev", tests, group_setup, group_teardown);
}
