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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONV_CHUNK (1u << 20) /* bytes per request; a multiple of the grain */
#define CONV_DEPTH 16u
#define CONV_GRAIN 65536u
#define CONV_RUNS  (CONV_CHUNK / CONV_GRAIN / 2 + 1) /* most data runs in one chunk */

struct conv_out {
	struct blockdev *bd;	      /* raw or VMDK (non-stream) destination */
	struct vmdk_stream_writer *w; /* streamOptimized destination */
	int w_fd;
	u64 size;
	bool buffered; /* --buffered: raw destination through the page cache */
};

enum conv_state {
	CONV_FREE,
	CONV_READING,
	CONV_READ_DONE,
	CONV_WRITING
};

/* One chunk in flight: read from the source, then written as up to CONV_RUNS data runs. */
struct conv_slot {
	enum conv_state st;
	struct blockdev_req req;
	struct iovec iov;
	u8 *buf;
	int ret;
	unsigned writes_left;
	struct blockdev_req wreq[CONV_RUNS];
	struct iovec wiov[CONV_RUNS];
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

static void conv_read_done(struct blockdev_req *req, int ret)
{
	struct conv_slot *s = req->opaque;

	s->ret = ret;
	s->st = CONV_READ_DONE;
}

static void conv_write_done(struct blockdev_req *req, int ret)
{
	struct conv_slot *s = req->opaque;

	if (ret < 0 && !s->ret)
		s->ret = ret;
	if (!--s->writes_left)
		s->st = CONV_FREE;
}

/* Queue the chunk's writes: all-zero 64 KiB pieces are skipped, the rest coalesced. */
static int conv_write(struct conv_out *o, struct conv_slot *s)
{
	u64 len = s->iov.iov_len, off = s->req.offset, run = 0, run_len = 0;
	unsigned n = 0;
	int ret = 0;

	s->writes_left = 1; /* held while queueing */
	s->st = CONV_WRITING;
	/* one pass past the end (k = 0) flushes the last run */
	for (u64 p = 0; p < len + CONV_GRAIN && !ret; p += CONV_GRAIN) {
		u64 k = p < len ? MIN((u64)CONV_GRAIN, len - p) : 0;
		bool data = k && !conv_zero(s->buf + p, k);

		if (data && o->w) { /* stream grains go one by one, in order */
			ret = vmdk_stream_writer_grain(o->w, (off + p) / CONV_GRAIN, s->buf + p, k);
			continue;
		}
		if (data) {
			run = run_len ? run : p;
			run_len += k;
			continue;
		}
		if (!run_len)
			continue;
		s->wiov[n] = (struct iovec){ s->buf + run, run_len };
		s->wreq[n] = (struct blockdev_req){ .op = BLOCKDEV_WRITE,
						    .offset = off + run,
						    .iov = &s->wiov[n],
						    .iovcnt = 1,
						    .done = conv_write_done,
						    .opaque = s };
		s->writes_left++;
		ret = blockdev_submit(o->bd, &s->wreq[n]);
		if (ret < 0)
			s->writes_left--;
		n++;
		run_len = 0;
	}
	if (ret < 0 && !s->ret)
		s->ret = ret;
	if (!--s->writes_left)
		s->st = CONV_FREE;
	return ret;
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
	*off = MIN(MAX(start, *off & ~(u64)(CONV_GRAIN - 1)), img->size);
	return 0;
}

/* Wait for either device's completions. */
static int conv_wait(struct blockdev *src, struct conv_out *o)
{
	struct pollfd p[2] = { { .fd = blockdev_event_fd(src), .events = POLLIN },
			       { .fd = o->bd ? blockdev_event_fd(o->bd) : -1, .events = POLLIN } };
	int ret = poll(p, 2, -1);

	if (ret < 0 && errno != EINTR)
		return -errno;
	ret = blockdev_poll_completions(src);
	if (ret >= 0 && o->bd)
		ret = blockdev_poll_completions(o->bd);
	return ret < 0 ? ret : 0;
}

static int conv_copy(struct blockdev *bd, struct conv_out *o, bool progress)
{
	struct vmdk_image *img = blockdev_image(bd);
	struct conv_slot *slots = calloc(CONV_DEPTH, sizeof(*slots));
	u64 off = 0;
	unsigned head = 0, tail = 0; /* chunks are read in any order, written in order */
	int ret = slots ? 0 : -ENOMEM;

	for (unsigned i = 0; !ret && i < CONV_DEPTH; i++)
		if (posix_memalign((void **)&slots[i].buf, 4096, CONV_CHUNK))
			ret = -ENOMEM;
	while (!ret) {
		bool busy = false;

		/* fill the pipeline with reads */
		while (!ret && off < img->size && slots[tail % CONV_DEPTH].st == CONV_FREE) {
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
							.done = conv_read_done,
							.opaque = s };
			s->st = CONV_READING;
			s->ret = 0;
			ret = blockdev_submit(bd, &s->req);
			off += n;
			tail++;
		}
		/* hand finished reads, oldest first, to the writer */
		while (!ret && head != tail && slots[head % CONV_DEPTH].st == CONV_READ_DONE) {
			struct conv_slot *s = &slots[head % CONV_DEPTH];

			ret = s->ret ? s->ret : conv_write(o, s);
			conv_progress(progress, s->req.offset + s->iov.iov_len, img->size);
			head++;
		}
		for (unsigned i = 0; i < CONV_DEPTH; i++) {
			busy |= slots[i].st != CONV_FREE;
			if (!ret && slots[i].st == CONV_FREE && slots[i].ret)
				ret = slots[i].ret; /* a failed write */
		}
		if (ret < 0 || (!busy && (off >= img->size)))
			break;
		ret = conv_wait(bd, o);
	}
	while ((blockdev_inflight(bd) || (o->bd && blockdev_inflight(o->bd))) &&
	       conv_wait(bd, o) >= 0)
		;
	for (unsigned i = 0; slots && i < CONV_DEPTH; i++)
		free(slots[i].buf);
	free(slots);
	conv_progress(progress, img->size, img->size);
	if (progress)
		fputc('\n', stderr);
	return ret;
}

static int conv_open_out(const char *path, const char *fmt, struct img_create_args *a, u64 size,
			 const char *engine, struct conv_out *o)
{
	struct blockdev_spec spec = { .path = path, .engine = engine };
	struct err err = { 0 };
	int fd;

	o->w_fd = -1;
	o->size = size;
	if (!strcmp(fmt, "raw")) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
			return img_fail("%s: %s", path, strerror(errno));
		close(fd);
		spec.format = BLOCKDEV_FORMAT_RAW;
		/* O_DIRECT by default: io_uring runs buffered writes to one file one at a time,
		 * direct ones in parallel (and the page cache is left alone). Every write is
		 * 4 KiB aligned when the size is. */
		spec.cache =
			o->buffered || size % 4096 ? BLOCKDEV_CACHE_WRITEBACK : BLOCKDEV_CACHE_NONE;
	} else if (!strcmp(fmt, "vmdk")) {
		if (a->c.subformat && !strcmp(a->c.subformat, "streamOptimized")) {
			a->c.stream_out = &o->w;
			a->c.stream_fd = &o->w_fd;
		}
		if (vmdk_create(path, size, &a->c, &err) < 0)
			return img_fail("%s", err.msg);
		if (o->w)
			return 0;
		spec.format = BLOCKDEV_FORMAT_VMDK; /* new grains: buffered measured faster here */
	} else {
		return img_usage("output format must be raw or vmdk");
	}
	if (blockdev_open(&spec, &o->bd, &err) < 0)
		return img_fail("%s", err.msg);
	return 0;
}

static int conv_close_out(struct conv_out *o, int ret)
{
	struct err err = { 0 };
	int r = 0;

	if (o->w) {
		r = vmdk_stream_writer_close(o->w, &err);
		close(o->w_fd);
	} else if (o->bd) {
		r = blockdev_close(o->bd);
	}
	return ret ? ret : r;
}

int img_convert_main(int argc, char **argv)
{
	static const struct option lo[] = { { "engine", required_argument, 0, 'e' },
					    { "allow-outside", no_argument, 0, 'a' },
					    { "buffered", no_argument, 0, 'd' },
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
		case 'd':
			o.buffered = true;
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
	ret = conv_open_out(argv[optind + 1], ofmt, &a, blockdev_size(bd), spec.engine, &o);
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
