// SPDX-License-Identifier: MIT
/*
 * vmm-img convert: any readable image (raw, every VMDK variant, a delta chain) to raw or to
 * any VMDK subformat. The source is read through the block-device interface (so through the
 * chosen I/O engine) with several requests in flight; runs the source map reports as
 * unallocated or zero are skipped, and all-zero blocks are not written, so outputs stay
 * sparse (as qemu-img convert does). A progress bar is drawn with -p when stderr is a terminal.
 */
#include "vmdk/tool/img.h"

#include "vmdk/blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONV_CHUNK (1u << 20) /* bytes per request; a multiple of the grain */
#define CONV_DEPTH 8u

struct conv_out {
	int raw_fd;		      /* raw destination, or -1 */
	struct vmdk_image *img;	      /* VMDK (non-stream) destination */
	struct vmdk_stream_writer *w; /* streamOptimized destination */
	int w_fd;
	u64 size;
};

struct conv_slot {
	struct blockdev_req req;
	struct iovec iov;
	u8 *buf;
	bool busy, done;
	int ret;
};

static bool conv_zero(const u8 *p, size_t len)
{
	const u64 *q = (const u64 *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (q[i])
			return false;
	for (size_t i = len & ~(size_t)7; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Write one chunk, grain by grain, skipping zero grains. */
static int conv_write(struct conv_out *o, const u8 *buf, u64 len, u64 off)
{
	const u64 g = 65536;
	int ret = 0;

	for (u64 p = 0; p < len && !ret; p += g) {
		u64 n = MIN(g, len - p);

		if (conv_zero(buf + p, n))
			continue;
		if (o->raw_fd >= 0)
			ret = vmdk_pwrite_full(o->raw_fd, buf + p, n, off + p);
		else if (o->w)
			ret = vmdk_stream_writer_grain(o->w, (off + p) / g, buf + p, n);
		else
			ret = vmdk_image_pwrite(o->img, buf + p, n, off + p);
	}
	return ret;
}

static void conv_done(struct blockdev_req *req, int ret)
{
	struct conv_slot *s = req->opaque;

	s->done = true;
	s->ret = ret;
}

static void conv_progress(bool show, u64 done, u64 total)
{
	if (show)
		fprintf(stderr, "\r    (%6.2f/100%%)",
			total ? 100.0 * (double)done / (double)total : 100.0);
}

/* Find the next run worth reading: not unallocated-without-parent and not zero. */
static int conv_next_data(struct vmdk_image *img, u64 *off)
{
	u64 start = *off; /* 64 KiB aligned: every chunk ends on such a boundary */

	while (*off < img->size) {
		struct vmdk_map m;
		int ret = vmdk_image_map(img, *off, img->size - *off, &m);

		if (ret < 0)
			return ret;
		if (m.kind == VMDK_MAP_ZERO || (m.kind == VMDK_MAP_UNALLOC && !img->parent))
			*off += m.len;
		else
			break;
	}
	/* restart on a 64 KiB boundary: writers work in whole 64 KiB grains */
	*off = MIN(MAX(start, *off & ~(u64)0xffff), img->size);
	return 0;
}

static int conv_copy(struct blockdev *bd, struct conv_out *o, bool progress)
{
	struct vmdk_image *img = blockdev_image(bd);
	struct conv_slot slots[CONV_DEPTH] = { 0 };
	u64 off = 0, written_to = 0;
	unsigned head = 0, tail = 0; /* slots complete in order: head = oldest */
	int ret = 0;

	for (unsigned i = 0; i < CONV_DEPTH; i++) {
		if (posix_memalign((void **)&slots[i].buf, 4096, CONV_CHUNK)) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (;;) {
		/* fill the pipeline */
		while (!ret && tail - head < CONV_DEPTH) {
			struct conv_slot *s = &slots[tail % CONV_DEPTH];
			u64 n;

			ret = conv_next_data(img, &off);
			if (ret < 0 || off >= img->size)
				break;
			n = MIN((u64)CONV_CHUNK - off % CONV_CHUNK, img->size - off);
			s->iov = (struct iovec){ s->buf, n };
			s->req = (struct blockdev_req){ .op = BLOCKDEV_READ,
							.offset = off,
							.iov = &s->iov,
							.iovcnt = 1,
							.done = conv_done,
							.opaque = s };
			s->done = false;
			ret = blockdev_submit(bd, &s->req);
			off += n;
			tail++;
		}
		if (head == tail || ret < 0)
			break;
		while (!slots[head % CONV_DEPTH].done) {
			ret = blockdev_wait(bd);
			if (ret < 0)
				goto out;
		}
		{
			struct conv_slot *s = &slots[head % CONV_DEPTH];

			ret = s->ret ? s->ret :
				       conv_write(o, s->buf, s->iov.iov_len, s->req.offset);
			written_to = s->req.offset + s->iov.iov_len;
			head++;
		}
		conv_progress(progress, written_to, img->size);
		if (ret < 0)
			break;
	}
out:
	while (blockdev_inflight(bd) && blockdev_wait(bd) >= 0)
		;
	for (unsigned i = 0; i < CONV_DEPTH; i++)
		free(slots[i].buf);
	conv_progress(progress, img->size, img->size);
	if (progress)
		fputc('\n', stderr);
	return ret;
}

static int conv_open_out(const char *path, const char *fmt, struct img_create_args *a, u64 size,
			 struct conv_out *o)
{
	struct vmdk_open_opts oo = { .format = 2 };
	struct err err = { 0 };

	o->raw_fd = -1;
	o->w_fd = -1;
	o->size = size;
	if (!strcmp(fmt, "raw")) {
		o->raw_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o->raw_fd < 0 || ftruncate(o->raw_fd, (off_t)size) < 0)
			return img_fail("%s: %s", path, strerror(errno));
		return 0;
	}
	if (strcmp(fmt, "vmdk"))
		return img_usage("output format must be raw or vmdk");
	if (a->c.subformat && !strcmp(a->c.subformat, "streamOptimized")) {
		a->c.stream_out = &o->w;
		a->c.stream_fd = &o->w_fd;
	}
	if (vmdk_create(path, size, &a->c, &err) < 0)
		return img_fail("%s", err.msg);
	if (!o->w && vmdk_image_open(path, &oo, &o->img, &err) < 0)
		return img_fail("%s", err.msg);
	return 0;
}

static int conv_close_out(struct conv_out *o, int ret)
{
	struct err err = { 0 };

	if (o->raw_fd >= 0) {
		if (close(o->raw_fd) < 0 && !ret)
			ret = -errno;
	} else if (o->w) {
		int r = vmdk_stream_writer_close(o->w, &err);

		ret = ret ? ret : r;
		close(o->w_fd);
	} else if (o->img) {
		int r = vmdk_image_close(o->img);

		ret = ret ? ret : r;
	}
	return ret;
}

int img_convert_main(int argc, char **argv)
{
	static const struct option lo[] = { { "engine", required_argument, 0, 'e' },
					    { "allow-outside", no_argument, 0, 'a' },
					    { 0, 0, 0, 0 } };
	struct blockdev_spec spec = { .readonly = true };
	struct img_create_args a = { 0 };
	const char *ofmt = "raw";
	struct conv_out o = { 0 };
	bool progress = false;
	struct blockdev *bd;
	struct err err = { 0 };
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:O:o:p", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			spec.format = !strcmp(optarg, "raw")  ? BLOCKDEV_FORMAT_RAW :
				      !strcmp(optarg, "vmdk") ? BLOCKDEV_FORMAT_VMDK :
								BLOCKDEV_FORMAT_AUTO;
			break;
		case 'O':
			ofmt = optarg;
			break;
		case 'o':
			if (img_parse_o(optarg, &a) < 0)
				return img_usage("bad -o option");
			break;
		case 'p':
			progress = isatty(STDERR_FILENO);
			break;
		case 'e':
			spec.engine = optarg;
			break;
		case 'a':
			spec.allow_outside = true;
			break;
		default:
			return img_usage(NULL);
		}
	}
	if (argc - optind != 2)
		return img_usage("convert needs SRC and DST");
	spec.path = argv[optind];
	if (blockdev_open(&spec, &bd, &err) < 0)
		return img_fail("%s", err.msg);
	if (blockdev_size(bd) % 512) {
		blockdev_close(bd);
		return img_fail("%s: size is not a multiple of 512", spec.path);
	}
	ret = conv_open_out(argv[optind + 1], ofmt, &a, blockdev_size(bd), &o);
	if (ret) {
		conv_close_out(&o, 0);
		blockdev_close(bd);
		return ret;
	}
	ret = conv_copy(bd, &o, progress);
	ret = conv_close_out(&o, ret);
	blockdev_close(bd);
	if (ret < 0)
		return img_fail("convert %s -> %s failed: %s", argv[optind], argv[optind + 1],
				strerror(-ret));
	return IMG_EXIT_OK;
}
