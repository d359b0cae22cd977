// SPDX-License-Identifier: MIT
/*
 * The block-device interface (blockdev.h) over raw and VMDK images and the I/O engines.
 * A request is split along the image map: data runs become engine operations on the extent
 * files (one per run, with its slice of the caller's iovec), zero runs are filled in place,
 * runs that fall through to a parent are mapped again in the parent, and the rest (compressed
 * grains, allocating writes) is done synchronously through vmdk_image_pread/pwrite. The
 * request completes when its last piece does; callbacks run only from
 * blockdev_poll_completions().
 */
#include "vmdk/blockdev.h"

#include "vmdk/vmdk_internal.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The largest host buffer a request is copied through; longer pieces go in several rounds,
 * so host memory does not grow with the size of a guest's request. */
#define BD_BOUNCE_MAX (1u << 20)

struct blockdev {
	struct vmdk_image *img;
	struct vmdk_open_opts opts; /* how img was opened (blockdev_reopen, blockdev_snapshot) */
	char *path;		    /* of img (the top of the chain) */
	u64 size;
	bool is_vmdk;
	bool cfg_readonly; /* as opened by blockdev_open; blockdev_reopen may add read-only */
	struct aio_engine *eng;
	struct blockdev_req *done_head, *done_tail;
	unsigned inflight;
	bool readonly;
	bool sector0_guard; /* probed as raw for a guest: sector 0 must keep probing as raw */
	size_t bounce_peak; /* the largest bounce buffer allocated (for tests) */
};

struct bd_seg {
	struct aio_op op;
	struct blockdev *bd;
	struct blockdev_req *req;
	size_t expect;
	struct iovec iov[];
};

static void bd_req_put(struct blockdev *bd, struct blockdev_req *req)
{
	if (--req->pending)
		return;
	req->next = NULL;
	if (bd->done_tail)
		bd->done_tail->next = req;
	else
		bd->done_head = req;
	bd->done_tail = req;
	aio_engine_kick(bd->eng);
}

/* Walk [pos, pos+len) of the caller's iovec. */
struct bd_iter {
	const struct iovec *iov;
	int iovcnt;
	int i;
	size_t off; /* inside iov[i] */
};

static void bd_iter_seek(struct bd_iter *it, const struct iovec *iov, int iovcnt, u64 pos)
{
	it->iov = iov;
	it->iovcnt = iovcnt;
	it->i = 0;
	while (it->i < iovcnt && pos >= iov[it->i].iov_len)
		pos -= iov[it->i++].iov_len;
	it->off = (size_t)pos;
}

/* Copy between a flat buffer and the iovec slice (to_iov selects the direction), zero it
 * (zero), or only move past it (neither a buffer nor zero). */
static void bd_iter_copy(struct bd_iter *it, u8 *buf, u64 len, bool to_iov, bool zero)
{
	while (len && it->i < it->iovcnt) {
		size_t n = MIN(len, (u64)(it->iov[it->i].iov_len - it->off));
		u8 *p = (u8 *)it->iov[it->i].iov_base + it->off;

		if (zero)
			memset(p, 0, n);
		else if (buf && to_iov)
			memcpy(p, buf, n);
		else if (buf)
			memcpy(buf, p, n);
		if (buf)
			buf += n;
		len -= n;
		it->off += n;
		if (it->off == it->iov[it->i].iov_len)
			it->i++, it->off = 0;
	}
}

static int bd_count_iov(const struct blockdev_req *req, u64 pos, u64 len)
{
	struct bd_iter it;
	int n = 0;

	bd_iter_seek(&it, req->iov, req->iovcnt, pos);
	while (len && it.i < it.iovcnt) {
		size_t k = MIN(len, (u64)(it.iov[it.i].iov_len - it.off));

		len -= k;
		it.i++, it.off = 0, n++;
	}
	return n;
}

/* Finish the part of a segment the engine did not transfer (short I/O), synchronously. */
static ssize_t bd_seg_finish_short(struct bd_seg *s, size_t done)
{
	struct iovec *v = s->op.iov;
	int cnt = s->op.iovcnt;
	u64 off = s->op.off;

	while (cnt) {
		ssize_t n;

		if (done >= v->iov_len) {
			done -= v->iov_len, off += v->iov_len, v++, cnt--;
			continue;
		}
		v->iov_base = (u8 *)v->iov_base + done;
		v->iov_len -= done;
		off += done;
		done = 0;
		if (s->op.kind == AIO_READ)
			n = preadv(s->op.fd, v, cnt, (off_t)off);
		else
			n = pwritev(s->op.fd, v, cnt, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 && s->op.kind != AIO_READ)
			return -EIO;
		if (n == 0) { /* the file shrank under us: the rest reads as zeros */
			for (int i = 0; i < cnt; i++)
				memset(v[i].iov_base, 0, v[i].iov_len);
			return 0;
		}
		done = (size_t)n;
	}
	return 0;
}

static void bd_seg_done(struct aio_op *op)
{
	struct bd_seg *s = container_of(op, struct bd_seg, op);
	struct blockdev_req *req = s->req;

	if (op->res >= 0 && op->kind != AIO_FDSYNC && (size_t)op->res < s->expect)
		op->res = bd_seg_finish_short(s, (size_t)op->res);
	if (op->res < 0 && !req->ret)
		req->ret = (int)op->res;
	bd_req_put(s->bd, req);
	free(s);
}

static int bd_submit_seg(struct blockdev *bd, struct blockdev_req *req, enum aio_kind kind, int fd,
			 u64 foff, u64 pos, u64 len)
{
	int n = kind == AIO_FDSYNC ? 0 : bd_count_iov(req, pos, len);
	struct bd_seg *s = calloc(1, sizeof(*s) + (size_t)n * sizeof(struct iovec));
	struct bd_iter it;
	int ret;

	if (!s)
		return -ENOMEM;
	s->bd = bd;
	s->req = req;
	s->expect = (size_t)len;
	s->op = (struct aio_op){
		.kind = kind, .fd = fd, .off = foff, .iov = s->iov, .iovcnt = n, .done = bd_seg_done
	};
	bd_iter_seek(&it, req->iov, req->iovcnt, pos);
	for (int i = 0; i < n; i++) {
		size_t k = MIN(len, (u64)(it.iov[it.i].iov_len - it.off));

		s->iov[i].iov_base = (u8 *)it.iov[it.i].iov_base + it.off;
		s->iov[i].iov_len = k;
		len -= k;
		it.i++, it.off = 0;
	}
	req->pending++;
	ret = bd->eng->ops->submit(bd->eng, &s->op);
	if (ret < 0) {
		req->pending--;
		free(s);
	}
	return ret;
}

/*
 * Synchronous piece [pos, pos+len) of the request at image offset off, in rounds of at most
 * BD_BOUNCE_MAX bytes (aligned to that size on the disk, so grain boundaries stay round
 * boundaries): a round inside one segment of the caller's iovec goes straight from it, the
 * others through one page-aligned bounce buffer of at most BD_BOUNCE_MAX bytes.
 */
static int bd_bounce(struct blockdev *bd, struct blockdev_req *req, struct vmdk_image *img, u64 off,
		     u64 pos, u64 len, bool write)
{
	struct bd_iter it;
	u8 *buf = NULL;
	int ret = 0;

	bd_iter_seek(&it, req->iov, req->iovcnt, pos);
	while (len && !ret) {
		u64 n = MIN(len, BD_BOUNCE_MAX - off % BD_BOUNCE_MAX);
		u8 *p;

		if (it.i < it.iovcnt && it.iov[it.i].iov_len - it.off >= n) { /* no copy */
			p = (u8 *)it.iov[it.i].iov_base + it.off;
			ret = write ? vmdk_image_pwrite(img, p, n, off) :
				      vmdk_image_pread(img, p, n, off);
			bd_iter_copy(&it, NULL, n, false, false); /* advance only */
		} else {
			/* page-aligned so that O_DIRECT grain writes (cache=none) can use it */
			if (!buf && posix_memalign((void **)&buf, 4096, BD_BOUNCE_MAX)) {
				buf = NULL;
				return -ENOMEM;
			}
			bd->bounce_peak = MAX(bd->bounce_peak, (size_t)BD_BOUNCE_MAX);
			if (write) {
				bd_iter_copy(&it, buf, n, false, false);
				ret = vmdk_image_pwrite(img, buf, n, off);
			} else {
				ret = vmdk_image_pread(img, buf, n, off);
				if (!ret)
					bd_iter_copy(&it, buf, n, true, false);
			}
		}
		off += n, len -= n;
	}
	free(buf);
	return ret;
}

static int bd_read_range(struct blockdev *bd, struct blockdev_req *req, struct vmdk_image *img,
			 u64 off, u64 pos, u64 len)
{
	while (len) {
		struct vmdk_map m;
		struct bd_iter it;
		int ret = vmdk_image_map(img, off, len, &m);

		if (ret < 0)
			return ret;
		switch (m.kind) {
		case VMDK_MAP_DATA:
			ret = bd_submit_seg(bd, req, AIO_READ, m.fd, m.foff, pos, m.len);
			break;
		case VMDK_MAP_UNALLOC:
			if (img->parent && off < img->parent->size) {
				u64 n = MIN(m.len, img->parent->size - off);

				ret = bd_read_range(bd, req, img->parent, off, pos, n);
				bd_iter_seek(&it, req->iov, req->iovcnt, pos + n);
				bd_iter_copy(&it, NULL, m.len - n, true, true);
				break;
			}
			/* fall through */
		case VMDK_MAP_ZERO:
			bd_iter_seek(&it, req->iov, req->iovcnt, pos);
			bd_iter_copy(&it, NULL, m.len, true, true);
			break;
		case VMDK_MAP_COMPRESSED:
			ret = bd_bounce(bd, req, img, off, pos, m.len, false);
			break;
		}
		if (ret < 0)
			return ret;
		off += m.len, pos += m.len, len -= m.len;
	}
	return 0;
}

static int bd_write_range(struct blockdev *bd, struct blockdev_req *req, u64 off, u64 len)
{
	struct vmdk_image *img = bd->img;
	u64 pos = 0;
	int ret = vmdk_image_begin_write(img);

	while (!ret && len) {
		struct vmdk_map m;

		ret = vmdk_image_map(img, off, len, &m);
		if (ret < 0)
			break;
		if (m.kind == VMDK_MAP_DATA)
			ret = bd_submit_seg(bd, req, AIO_WRITE, m.fd, m.foff, pos, m.len);
		else
			ret = bd_bounce(bd, req, img, off, pos, m.len, true);
		off += m.len, pos += m.len, len -= m.len;
	}
	return ret;
}

static int bd_flush(struct blockdev *bd, struct blockdev_req *req)
{
	int ret = 0;

	for (unsigned i = 0; i < bd->img->n_ext && !ret; i++) {
		struct vmdk_extent *e = &bd->img->ext[i];

		if (e->fd >= 0 && !e->readonly)
			ret = bd_submit_seg(bd, req, AIO_FDSYNC, e->fd, 0, 0, 0);
	}
	if (!ret && bd->img->desc_fd >= 0 && !bd->readonly)
		ret = bd_submit_seg(bd, req, AIO_FDSYNC, bd->img->desc_fd, 0, 0, 0);
	return ret;
}

/* Discard is advisory: raw files get a hole punched, VMDK images keep their grains. */
static int bd_discard(struct blockdev *bd, struct blockdev_req *req)
{
	if (bd->img->is_vmdk)
		return 0;
	if (fallocate(bd->img->ext[0].fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)req->offset, (off_t)req->len) < 0 &&
	    errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

/*
 * A write reaching into the first sector of a disk probed as raw: would the sector, once
 * written, make the next open probe the file as VMDK? Then the write is refused: a guest
 * must not choose how its own disk is interpreted (a descriptor naming other files).
 */
static bool bd_write_changes_probe(struct blockdev *bd, const struct blockdev_req *req)
{
	u64 n = MIN((u64)VMDK_SECTOR, bd->img->size);
	u8 s0[VMDK_SECTOR];
	struct bd_iter it;

	if (!bd->sector0_guard || req->offset >= n)
		return false;
	if (vmdk_image_pread(bd->img, s0, n, 0) < 0)
		return true; /* cannot tell: refuse */
	bd_iter_seek(&it, req->iov, req->iovcnt, 0);
	bd_iter_copy(&it, s0 + req->offset, n - req->offset, false, false);
	return vmdk_probe_is_vmdk(s0, (size_t)n);
}

int blockdev_submit(struct blockdev *bd, struct blockdev_req *req)
{
	u64 len = req->len;
	int ret;

	if (req->op == BLOCKDEV_READ || req->op == BLOCKDEV_WRITE) {
		len = 0;
		for (int i = 0; i < req->iovcnt; i++)
			len += req->iov[i].iov_len;
	}
	if (!bd->img)
		return -EIO; /* a failed blockdev_reopen */
	if (req->op != BLOCKDEV_FLUSH &&
	    (req->offset > bd->img->size || len > bd->img->size - req->offset))
		return -EINVAL;
	if (req->op != BLOCKDEV_READ && req->op != BLOCKDEV_FLUSH && bd->readonly)
		return -EROFS;
	if (bd->inflight >= BLOCKDEV_MAX_INFLIGHT)
		return -EAGAIN;
	if (req->op == BLOCKDEV_WRITE && bd_write_changes_probe(bd, req)) {
		log_guest("%s: write to sector 0 refused: it would make this raw image look like "
			  "a VMDK (the disk was probed; give it \"format\": \"raw\" to allow it)",
			  bd->img->path);
		return -EPERM;
	}
	req->pending = 1;
	req->ret = 0;
	bd->inflight++;
	switch (req->op) {
	case BLOCKDEV_READ:
		ret = bd_read_range(bd, req, bd->img, req->offset, 0, len);
		break;
	case BLOCKDEV_WRITE:
		ret = bd_write_range(bd, req, req->offset, len);
		break;
	case BLOCKDEV_FLUSH:
		ret = bd->readonly ? 0 : bd_flush(bd, req);
		break;
	default:
		ret = bd_discard(bd, req);
		break;
	}
	if (ret < 0 && !req->ret)
		req->ret = ret;
	bd_req_put(bd, req);
	return 0;
}

int blockdev_poll_completions(struct blockdev *bd)
{
	struct blockdev_req *req;
	int n = 0, ret;

	aio_engine_drain_fd(bd->eng);
	ret = bd->eng->ops->reap(bd->eng);
	if (ret < 0)
		return ret;
	while ((req = bd->done_head)) {
		bd->done_head = req->next;
		if (!bd->done_head)
			bd->done_tail = NULL;
		bd->inflight--;
		req->done(req, req->ret);
		n++;
	}
	return n;
}

int blockdev_event_fd(const struct blockdev *bd)
{
	return bd->eng->efd;
}

struct vmdk_image *blockdev_image(struct blockdev *bd)
{
	return bd->img;
}

size_t blockdev_bounce_peak(const struct blockdev *bd)
{
	return bd->bounce_peak;
}

unsigned blockdev_inflight(const struct blockdev *bd)
{
	return bd->inflight;
}

int blockdev_wait(struct blockdev *bd)
{
	struct pollfd p = { .fd = bd->eng->efd, .events = POLLIN };
	int ret = poll(&p, 1, -1);

	if (ret < 0 && errno != EINTR)
		return -errno;
	ret = blockdev_poll_completions(bd);
	return ret < 0 ? ret : 0;
}

struct bd_sync {
	bool done;
	int ret;
};

static void bd_sync_done(struct blockdev_req *req, int ret)
{
	struct bd_sync *s = req->opaque;

	s->done = true;
	s->ret = ret;
}

static int bd_sync_run(struct blockdev *bd, enum blockdev_op op, void *buf, u64 len, u64 off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct bd_sync s = { 0 };
	struct blockdev_req req = { .op = op,
				    .offset = off,
				    .iov = &iov,
				    .iovcnt = 1,
				    .len = len,
				    .done = bd_sync_done,
				    .opaque = &s };
	int ret = blockdev_submit(bd, &req);

	while (!ret && !s.done)
		ret = blockdev_wait(bd);
	return ret ? ret : s.ret;
}

int blockdev_pread(struct blockdev *bd, void *buf, u64 len, u64 off)
{
	return bd_sync_run(bd, BLOCKDEV_READ, buf, len, off);
}

int blockdev_pwrite(struct blockdev *bd, const void *buf, u64 len, u64 off)
{
	return bd_sync_run(bd, BLOCKDEV_WRITE, (void *)buf, len, off);
}

int blockdev_flush(struct blockdev *bd)
{
	return bd_sync_run(bd, BLOCKDEV_FLUSH, NULL, 0, 0);
}

int blockdev_open(const struct blockdev_spec *spec, struct blockdev **out, struct err *err)
{
	struct vmdk_open_opts o = {
		.readonly = spec->readonly,
		.allow_outside = spec->allow_outside,
		.direct = spec->cache == BLOCKDEV_CACHE_NONE,
		.dsync = spec->cache == BLOCKDEV_CACHE_WRITETHROUGH,
		.format = spec->format == BLOCKDEV_FORMAT_RAW  ? 1 :
			  spec->format == BLOCKDEV_FORMAT_VMDK ? 2 :
								 0,
	};
	struct blockdev *bd = calloc(1, sizeof(*bd));
	int ret;

	if (!bd)
		return err_set(err, -ENOMEM, "out of memory");
	if (!spec->path) {
		free(bd);
		return err_set(err, -EINVAL, "no image path");
	}
	ret = vmdk_image_open(spec->path, &o, &bd->img, err);
	if (ret < 0)
		goto err_free;
	bd->opts = o;
	bd->path = strdup(spec->path);
	if (!bd->path) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_close;
	}
	bd->size = bd->img->size;
	bd->is_vmdk = bd->img->is_vmdk;
	if (bd->img->is_vmdk && spec->cache == BLOCKDEV_CACHE_NONE)
		log_dbg(LOG_CAT_BLOCK, "%s: cache=none on VMDK: O_DIRECT for new grains only",
			spec->path);
	ret = aio_engine_create(spec->engine, spec->queue_depth ? spec->queue_depth : 128, &bd->eng,
				err);
	if (ret < 0)
		goto err_close;
	bd->readonly = bd->cfg_readonly = bd->img->readonly;
	if (spec->guest_disk && spec->format == BLOCKDEV_FORMAT_AUTO) {
		if (bd->img->is_vmdk && bd->img->desc_fd >= 0) {
			ret = err_set(
				err, -EPERM,
				"%s is a VMDK descriptor file, which names other files: it is "
				"opened only with \"format\": \"vmdk\", not by probing",
				spec->path);
			goto err_engine;
		}
		bd->sector0_guard = !bd->img->is_vmdk;
	}
	*out = bd;
	return 0;

err_engine:
	aio_engine_destroy(bd->eng);
err_close:
	vmdk_image_close(bd->img);
err_free:
	free(bd->path);
	free(bd);
	return ret;
}

int blockdev_close(struct blockdev *bd)
{
	int ret = 0;

	if (!bd)
		return 0;
	while (bd->inflight && (ret = blockdev_wait(bd)) == 0)
		;
	if (bd->inflight) {
		/* Releasing the engine now would let the kernel write into freed buffers. */
		log_err("%s: cannot wait for %u requests in flight (%s); not closed", bd->path,
			bd->inflight, strerror(-ret));
		return -EBUSY;
	}
	aio_engine_destroy(bd->eng);
	ret = vmdk_image_close(bd->img);
	free(bd->path);
	free(bd);
	return ret;
}

const char *blockdev_path(const struct blockdev *bd)
{
	return bd->path;
}

/* Close the image, then open path with opts as the device's image. On failure the image is
 * the one at old_path opened with old_opts again, if that still opens, else none. */
static int bd_swap_image(struct blockdev *bd, const char *path, const struct vmdk_open_opts *opts,
			 struct err *err)
{
	struct vmdk_open_opts old_opts = bd->opts;
	struct vmdk_image *img;
	char *npath = strdup(path);
	int ret;

	if (!npath)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vmdk_image_close(bd->img);
	bd->img = NULL;
	if (ret < 0) {
		err_set(err, ret, "%s: cannot close: %s", bd->path, strerror(-ret));
		goto err_reopen;
	}
	ret = vmdk_image_open(npath, opts, &img, err);
	if (ret < 0)
		goto err_reopen;
	bd->img = img;
	bd->opts = *opts;
	free(bd->path);
	bd->path = npath;
	bd->size = img->size;
	bd->is_vmdk = img->is_vmdk;
	bd->readonly = bd->cfg_readonly || img->readonly;
	return 0;

err_reopen:
	free(npath);
	{
		struct err again = { 0 };

		if (vmdk_image_open(bd->path, &old_opts, &img, &again) == 0) {
			bd->img = img;
		} else {
			log_err("%s: the disk has no image now: %s", bd->path, again.msg);
			bd->readonly = true;
		}
	}
	return ret;
}

static int bd_check_idle(struct blockdev *bd, const char *what, struct err *err)
{
	if (bd->inflight)
		return err_set(err, -EBUSY, "%s: cannot %s with %u requests in flight", bd->path,
			       what, bd->inflight);
	return 0;
}

int blockdev_reopen(struct blockdev *bd, bool readonly, struct err *err)
{
	struct vmdk_open_opts o = bd->opts;
	int ret = bd_check_idle(bd, "reopen the image", err);

	if (ret < 0)
		return ret;
	if (bd->img && !bd->img->readonly) {
		ret = vmdk_image_flush(bd->img);
		if (ret < 0)
			return err_set(err, ret, "%s: flush: %s", bd->path, strerror(-ret));
	}
	o.readonly = bd->cfg_readonly || readonly;
	return bd_swap_image(bd, bd->path, &o, err);
}

int blockdev_snapshot(struct blockdev *bd, const char *child_path, struct err *err)
{
	struct vmdk_create_opts c = { 0 };
	struct vmdk_open_opts o = bd->opts;
	char hint[PATH_MAX];
	int fd, ret = bd_check_idle(bd, "freeze the image", err);

	if (ret < 0)
		return ret;
	if (!bd->img || bd->readonly)
		return err_set(err, -EROFS, "%s: a read-only image needs no delta", bd->path);
	if (!bd->img->is_vmdk || !bd->img->desc.text)
		return err_set(err, -ENOTSUP,
			       "%s: a raw image cannot be frozen under a delta (convert it to VMDK "
			       "with vmm-img convert)",
			       bd->path);
	ret = vmdk_image_flush(bd->img);
	if (ret < 0)
		return err_set(err, ret, "%s: flush: %s", bd->path, strerror(-ret));
	/* Claim the name first: vmdk_create truncates, and child_path may be another image. */
	fd = open(child_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", child_path, strerror(errno));
	close(fd);
	ret = vmdk_parent_hint(child_path, bd->path, hint, sizeof(hint));
	if (ret < 0) {
		unlink(child_path);
		return err_set(err, ret, "%s: %s", child_path, strerror(-ret));
	}
	c.parent = hint;
	c.parent_cid = bd->img->desc.cid;
	ret = vmdk_create(child_path, bd->img->size, &c, err);
	if (ret < 0) {
		unlink(child_path);
		return ret;
	}
	o.format = 2;
	o.allow_outside = o.allow_outside || hint[0] == '/';
	ret = bd_swap_image(bd, child_path, &o, err);
	if (ret < 0) {
		unlink(child_path);
		return err_prefix(err, "%s: cannot go on in the delta %s", bd->path, child_path),
		       ret;
	}
	return 0;
}

u64 blockdev_size(const struct blockdev *bd)
{
	return bd->size;
}

bool blockdev_readonly(const struct blockdev *bd)
{
	return bd->readonly;
}

enum blockdev_format blockdev_format(const struct blockdev *bd)
{
	return bd->is_vmdk ? BLOCKDEV_FORMAT_VMDK : BLOCKDEV_FORMAT_RAW;
}

const char *blockdev_engine_name(const struct blockdev *bd)
{
	return bd->eng->ops->name;
}

void blockdev_geometry(const struct blockdev *bd, struct blockdev_geometry *g)
{
	const struct vmdk_desc *d = &bd->img->desc;
	u64 sectors = bd->img->size / 512;

	g->logical_block_size = 512;
	if (bd->img->is_vmdk && d->heads && d->sectors && d->cylinders) {
		g->cylinders = d->cylinders;
		g->heads = d->heads;
		g->sectors = d->sectors;
		return;
	}
	g->heads = 16;
	g->sectors = 63;
	g->cylinders = (u32)MIN(sectors / (16 * 63), 16383ull);
}
