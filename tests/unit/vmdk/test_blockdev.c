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
#include <sys/resource.h>
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

/* Requests not completed yet are bounded: the one past BLOCKDEV_MAX_INFLIGHT is refused with
 * -EAGAIN (nothing queued, no callback); completing them makes room again. */
static void test_inflight_bound(void **state)
{
	struct blockdev_req *reqs = calloc(BLOCKDEV_MAX_INFLIGHT + 1, sizeof(*reqs));
	struct done_rec *recs = calloc(BLOCKDEV_MAX_INFLIGHT + 1, sizeof(*recs));
	static u8 buf[512];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct blockdev *bd;
	char p[128];

	(void)state;
	assert_non_null(reqs);
	assert_non_null(recs);
	make_images();
	snprintf(p, sizeof(p), "%s/r.raw", tdir);
	assert_int_equal(open_bd(p, "sync", true, &bd), 0);
	for (unsigned i = 0; i <= BLOCKDEV_MAX_INFLIGHT; i++)
		reqs[i] = (struct blockdev_req){ .op = BLOCKDEV_READ,
						 .offset = 512ull * (i % 64),
						 .iov = &iov,
						 .iovcnt = 1,
						 .done = rec_done,
						 .opaque = &recs[i] };
	for (unsigned i = 0; i < BLOCKDEV_MAX_INFLIGHT; i++)
		assert_int_equal(blockdev_submit(bd, &reqs[i]), 0);
	assert_int_equal(blockdev_inflight(bd), BLOCKDEV_MAX_INFLIGHT);
	assert_int_equal(blockdev_submit(bd, &reqs[BLOCKDEV_MAX_INFLIGHT]), -EAGAIN);
	loop_until(bd, recs, BLOCKDEV_MAX_INFLIGHT);
	assert_int_equal(recs[BLOCKDEV_MAX_INFLIGHT].calls, 0);
	assert_int_equal(blockdev_submit(bd, &reqs[BLOCKDEV_MAX_INFLIGHT]), 0);
	loop_until(bd, recs + BLOCKDEV_MAX_INFLIGHT, 1);
	assert_int_equal(blockdev_close(bd), 0);
	free(reqs);
	free(recs);
}

/* Resident set size now, and its peak since the last reset, in KiB (/proc/self/status). */
static long proc_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/*
 * One write as large as the disk (64 MiB) into the unallocated grains of a sparse VMDK, from
 * 128 segments of 512 KiB (all one buffer): the piece the engine cannot take goes through a
 * bounce buffer of at most 1 MiB, so host memory does not grow with the request (before,
 * the bounce buffer was as large as the run of unallocated grains: the whole request). The
 * peak RSS is measured around the write (clear_refs 5 resets it).
 */
static void test_huge_write_bounded_bounce(void **state)
{
	const size_t seg = 512 << 10, disk = 64 << 20;
	struct iovec *iov = calloc(disk / seg, sizeof(*iov));
	u8 *buf = malloc(seg), *back = malloc(4096);
	struct vmdk_create_opts co = { 0 };
	struct err e = { 0 };
	struct done_rec rec = { 0 };
	struct blockdev_req req;
	struct blockdev *bd;
	long rss, peak;
	char p[128];
	int fd;

	(void)state;
	assert_non_null(iov);
	assert_non_null(buf);
	assert_non_null(back);
	for (size_t i = 0; i < seg; i++)
		buf[i] = (u8)(i / 4096 + 1);
	for (size_t i = 0; i < disk / seg; i++)
		iov[i] = (struct iovec){ .iov_base = buf, .iov_len = seg };
	snprintf(p, sizeof(p), "%s/huge.vmdk", tdir);
	assert_int_equal(vmdk_create(p, disk, &co, &e), 0);
	assert_int_equal(open_bd(p, "sync", false, &bd), 0);
	fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0 || write(fd, "5", 1) != 1)
		skip(); /* no peak-RSS reset on this kernel */
	close(fd);
	rss = proc_kib("VmRSS:");
	req = (struct blockdev_req){ .op = BLOCKDEV_WRITE,
				     .offset = 0,
				     .iov = iov,
				     .iovcnt = (int)(disk / seg),
				     .done = rec_done,
				     .opaque = &rec };
	assert_int_equal(blockdev_submit(bd, &req), 0);
	loop_until(bd, &rec, 1);
	assert_int_equal(rec.ret, 0);
	peak = proc_kib("VmHWM:");
	assert_true(peak - rss < 16 * 1024); /* KiB: far below the 64 MiB request */
	assert_true(blockdev_bounce_peak(bd) <= 1u << 20);
	for (size_t off = 0; off < disk; off += 7 * seg + 4096) {
		assert_int_equal(blockdev_pread(bd, back, 4096, off), 0);
		assert_memory_equal(back, buf + off % seg, 4096);
	}
	assert_int_equal(blockdev_close(bd), 0);
	free(iov);
	free(buf);
	free(back);
}

/* A close that cannot wait for the requests in flight releases nothing and says so (the
 * kernel may still write their buffers); it succeeds once waiting works again. */
static void test_close_wait_fails_busy(void **state)
{
	static const char *const engines[] = { "io_uring", "libaio", "sync" };
	static u8 buf[4096];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };

	(void)state;
	make_images();
	for (unsigned i = 0; i < ARRAY_SIZE(engines); i++) {
		struct done_rec rec = { 0 };
		struct blockdev_req req = { .op = BLOCKDEV_READ,
					    .iov = &iov,
					    .iovcnt = 1,
					    .done = rec_done,
					    .opaque = &rec };
		struct rlimit saved, none;
		struct blockdev *bd;
		char p[128];

		snprintf(p, sizeof(p), "%s/r.raw", tdir);
		if (open_bd(p, engines[i], true, &bd) < 0)
			continue; /* engine not on this host */
		assert_int_equal(blockdev_submit(bd, &req), 0);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
		none = saved;
		none.rlim_cur = 0; /* poll() now fails with EINVAL */
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
		assert_int_equal(blockdev_close(bd), -EBUSY);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
		assert_int_equal(rec.calls, 0);
		assert_int_equal(blockdev_close(bd), 0);
		assert_int_equal(rec.calls, 1);
	}
}

static int open_guest_disk(const char *path, enum blockdev_format fmt, struct blockdev **bd,
			   struct err *e)
{
	struct blockdev_spec spec = {
		.path = path, .format = fmt, .engine = "sync", .guest_disk = true
	};

	return blockdev_open(&spec, bd, e);
}

/*
 * A guest's raw disk opened with format auto: writes that would make its first sector probe
 * as VMDK (the sparse magic, a descriptor, or a descriptor completed by a write in the middle
 * of the sector) are refused with -EPERM and change nothing; other writes to sector 0 work;
 * with an explicit raw format, or for the image tool (not a guest disk), they are allowed.
 * A text descriptor file is not opened by probing for a guest at all.
 */
static void test_guest_cannot_change_probe(void **state)
{
	static const char desc[] = "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
				   "createType=\"monolithicFlat\"\nRW 8 FLAT \"other.raw\" 0\n";
	u8 s0[512] = { 0 }, back[512];
	struct vmdk_create_opts co = { .subformat = "monolithicFlat" };
	struct blockdev *bd;
	struct err e = { 0 };
	char p[128];

	(void)state;
	make_images();
	snprintf(p, sizeof(p), "%s/r.raw", tdir);
	memcpy(s0, "createType=\"x\"\n", 15); /* half a descriptor: still raw */
	assert_int_equal(open_guest_disk(p, BLOCKDEV_FORMAT_AUTO, &bd, &e), 0);
	assert_int_equal(blockdev_format(bd), BLOCKDEV_FORMAT_RAW);
	assert_int_equal(blockdev_pwrite(bd, s0, 512, 0), 0);
	assert_int_equal(blockdev_pwrite(bd, "version=1\n", 10, 100), -EPERM);
	assert_int_equal(blockdev_pwrite(bd, desc, sizeof(desc), 0), -EPERM);
	assert_int_equal(blockdev_pwrite(bd, "KDMV", 4, 0), -EPERM);
	assert_int_equal(blockdev_pwrite(bd, "version=1\n", 10, 512), 0); /* sector 1: fine */
	assert_int_equal(blockdev_pread(bd, back, 512, 0), 0);
	assert_memory_equal(back, s0, 512);
	memset(s0, 0, sizeof(s0));
	assert_int_equal(blockdev_pwrite(bd, s0, 512, 0), 0);
	assert_int_equal(blockdev_close(bd), 0);

	assert_int_equal(open_guest_disk(p, BLOCKDEV_FORMAT_RAW, &bd, &e), 0);
	assert_int_equal(blockdev_pwrite(bd, "KDMV", 4, 0), 0); /* the user said raw */
	assert_int_equal(blockdev_pwrite(bd, s0, 512, 0), 0);
	assert_int_equal(blockdev_close(bd), 0);
	assert_int_equal(open_bd(p, "sync", false, &bd), 0); /* the image tool */
	assert_int_equal(blockdev_pwrite(bd, desc, sizeof(desc), 0), 0);
	assert_int_equal(blockdev_close(bd), 0);

	snprintf(p, sizeof(p), "%s/flat.vmdk", tdir);
	assert_int_equal(vmdk_create(p, 1 << 20, &co, &e), 0);
	assert_int_equal(open_guest_disk(p, BLOCKDEV_FORMAT_AUTO, &bd, &e), -EPERM);
	assert_non_null(strstr(e.msg, "descriptor"));
	assert_int_equal(open_guest_disk(p, BLOCKDEV_FORMAT_VMDK, &bd, &e), 0);
	assert_int_equal(blockdev_close(bd), 0);
	snprintf(p, sizeof(p), "%s/v.vmdk", tdir); /* sparse: probed, its sector 0 is data */
	assert_int_equal(open_guest_disk(p, BLOCKDEV_FORMAT_AUTO, &bd, &e), 0);
	assert_int_equal(blockdev_format(bd), BLOCKDEV_FORMAT_VMDK);
	assert_int_equal(blockdev_pwrite(bd, "KDMV", 4, 0), 0);
	assert_int_equal(blockdev_close(bd), 0);
}

/*
 * blockdev_snapshot freezes the image under a delta in place: the frozen file keeps exactly
 * the bytes of that moment while the device goes on writing (in the child), twice in a row;
 * it refuses raw and read-only images and a busy device. blockdev_reopen read-only refuses
 * writes, and reading again after another writer changed the file sees the change.
 */
static void test_snapshot_and_reopen(void **state)
{
	static u8 a[4096], rd[4096];
	char base[128], c1[128], c2[128], raw[128];
	struct blockdev *bd, *other;
	struct err e = { 0 };
	struct stat st;

	(void)state;
	snprintf(base, sizeof(base), "%s/snap-base.vmdk", tdir);
	snprintf(c1, sizeof(c1), "%s/snap-base-1.vmdk", tdir);
	snprintf(c2, sizeof(c2), "%s/snap-base-2.vmdk", tdir);
	snprintf(raw, sizeof(raw), "%s/snap.raw", tdir);
	{
		struct vmdk_create_opts co = { 0 };
		int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
		close(fd);
		assert_int_equal(vmdk_create(base, 1 << 20, &co, &e), 0);
	}
	assert_int_equal(open_bd(base, "sync", false, &bd), 0);
	memset(a, 0x11, sizeof(a));
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 0), 0);
	assert_int_equal(blockdev_snapshot(bd, c1, &e), 0);
	assert_string_equal(blockdev_path(bd), c1);
	assert_int_equal(blockdev_format(bd), BLOCKDEV_FORMAT_VMDK);
	assert_int_equal(blockdev_size(bd), 1 << 20);
	memset(a, 0x22, sizeof(a));
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 0), 0);
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 8192), 0);
	assert_int_equal(blockdev_snapshot(bd, c2, &e), 0);
	memset(a, 0x33, sizeof(a));
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 0), 0);
	/* Every frozen level reads as it was; the live device as written last. */
	assert_int_equal(open_bd(base, "sync", true, &other), 0);
	assert_int_equal(blockdev_pread(other, rd, sizeof(rd), 0), 0);
	assert_int_equal(rd[0], 0x11);
	assert_int_equal(blockdev_pread(other, rd, sizeof(rd), 8192), 0);
	assert_int_equal(rd[0], 0);
	assert_int_equal(blockdev_close(other), 0);
	assert_int_equal(open_bd(c1, "sync", true, &other), 0);
	assert_int_equal(blockdev_pread(other, rd, sizeof(rd), 0), 0);
	assert_int_equal(rd[0], 0x22);
	assert_int_equal(blockdev_close(other), 0);
	assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), 0), 0);
	assert_int_equal(rd[0], 0x33);
	assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), 8192), 0);
	assert_int_equal(rd[0], 0x22);
	/* An existing child path is refused and the device goes on where it was. */
	assert_true(blockdev_snapshot(bd, c1, &e) < 0);
	assert_string_equal(blockdev_path(bd), c2);
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 4096), 0);

	/* Reopened read-only: writes are refused; reopened as before, they work again. */
	assert_int_equal(blockdev_reopen(bd, true, &e), 0);
	assert_true(blockdev_readonly(bd));
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 0), -EROFS);
	assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), 0), 0);
	assert_int_equal(rd[0], 0x33);
	assert_int_equal(blockdev_reopen(bd, false, &e), 0);
	assert_false(blockdev_readonly(bd));
	assert_int_equal(blockdev_pwrite(bd, a, sizeof(a), 12288), 0);
	assert_int_equal(blockdev_close(bd), 0);

	/* Another writer took over meanwhile: a reopen reads its metadata, not the old one. */
	assert_int_equal(open_bd(c2, "sync", false, &bd), 0);
	assert_int_equal(blockdev_reopen(bd, true, &e), 0);
	assert_int_equal(open_bd(c2, "sync", false, &other), 0);
	memset(a, 0x44, sizeof(a));
	assert_int_equal(blockdev_pwrite(other, a, sizeof(a), 65536 * 4), 0); /* a new grain */
	assert_int_equal(blockdev_close(other), 0);
	assert_int_equal(blockdev_reopen(bd, false, &e), 0);
	assert_int_equal(blockdev_pread(bd, rd, sizeof(rd), 65536 * 4), 0);
	assert_int_equal(rd[0], 0x44);
	assert_int_equal(blockdev_close(bd), 0);

	/* Raw and read-only images have no delta. */
	assert_int_equal(open_bd(raw, "sync", false, &bd), 0);
	assert_int_equal(blockdev_snapshot(bd, c1, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "raw"));
	assert_int_equal(blockdev_close(bd), 0);
	assert_int_equal(open_bd(c2, "sync", true, &bd), 0);
	assert_int_equal(blockdev_snapshot(bd, c1, &e), -EROFS);
	assert_int_equal(blockdev_close(bd), 0);
	assert_int_equal(stat(c2, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_auto_engine_and_geometry),
		cmocka_unit_test(test_discard_raw_punches_hole),
		cmocka_unit_test(test_delta_read_through_engine),
		cmocka_unit_test(test_cache_none),
		cmocka_unit_test(test_inflight_bound),
		cmocka_unit_test(test_huge_write_bounded_bounce),
		cmocka_unit_test(test_close_wait_fails_busy),
		cmocka_unit_test(test_guest_cannot_change_probe),
		cmocka_unit_test(test_snapshot_and_reopen),
	};
	return cmocka_run_group_tests_name("blockdev", tests, group_setup, group_teardown);
}
