// SPDX-License-Identifier: MIT
/*
 * virtio-rng (rng.h; VIRTIO 1.2 section 5.4: device ID 4, one queue "requestq", no feature
 * bits, no configuration). A request is a chain of device-writable buffers; device-readable
 * ones are ignored (5.4.6.1: the driver must not add any). Bytes come from getrandom(2),
 * which does not block once the host's pool is ready; a failing call answers the request
 * with 0 bytes (logged). Work per notification is bounded: one round of at most a queue's
 * chains (vq_batch_start), each filled with at most VIRTIO_RNG_CHUNK bytes.
 */
#include "virtio/rng.h"

#include "devices/device.h"
#include "virtio/virtio.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define VIRTIO_RNG_QUEUE_SIZE 64

struct virtio_rng {
	struct virtio_dev vd; /* first: container_of by cast */
	char name[32];
	struct platform *p;
	struct virtio_pci *vp;
	u64 quota;	   /* bytes per window; 0: unlimited */
	u64 window_start;  /* virtual ns */
	u64 window_used;   /* bytes given in the current window */
	struct timer wait; /* the next window, when requests wait for it */
	u8 buf[VIRTIO_RNG_CHUNK];

	struct {
		u64 requests, bytes, throttled, errors;
	} stats;
};

/*
 * The rate limit (rng.h): whether the budget lets a request through now. The window moves to
 * the current one first, each window passed paying off quota bytes of what was used beyond it.
 */
static bool rng_may_serve(struct virtio_rng *r)
{
	u64 now = vclock_now_ns(&r->p->clock), passed;

	if (!r->quota)
		return true;
	if (now - r->window_start >= VIRTIO_RNG_WINDOW_NS) {
		passed = (now - r->window_start) / VIRTIO_RNG_WINDOW_NS;
		r->window_start += passed * VIRTIO_RNG_WINDOW_NS;
		/* window_used < quota + VIRTIO_RNG_CHUNK, so passed * quota below cannot wrap. */
		if (passed > r->window_used / r->quota)
			r->window_used = 0;
		else
			r->window_used -= passed * r->quota;
	}
	return r->window_used < r->quota;
}

/* The virtual time at which the budget lets the next request through (rng_may_serve false). */
static u64 rng_next_window(const struct virtio_rng *r)
{
	return r->window_start +
	       ((r->window_used - r->quota) / r->quota + 1) * VIRTIO_RNG_WINDOW_NS;
}

/* Fill one request, whole up to VIRTIO_RNG_CHUNK; its used length. */
static u32 rng_fill(struct virtio_rng *r, const struct vq_elem *e)
{
	size_t want = (size_t)MIN(e->in_len, (u64)VIRTIO_RNG_CHUNK);
	const struct iovec *in = e->iov + e->out_num;
	ssize_t got;

	if (!want)
		return 0;
	got = getrandom(r->buf, want, GRND_NONBLOCK);
	if (got < 0) {
		r->stats.errors++;
		log_guest("%s: getrandom: %s; the request gets no bytes", r->name, strerror(errno));
		return 0;
	}
	want = vq_iov_from_buf(in, e->in_num, 0, r->buf, (size_t)got);
	for (unsigned i = 0; i < e->in_num; i++)
		gmem_written(r->vd.vqs[0].mem, in[i].iov_base, in[i].iov_len);
	if (r->quota)
		r->window_used += want;
	r->stats.bytes += want;
	return (u32)want;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_rng *r = (struct virtio_rng *)vd;
	struct virtqueue *vq = &vd->vqs[q];
	struct vq_elem *e = malloc(sizeof(*e));
	int ret = 0;

	if (!e) {
		log_err("%s: out of memory; the queue waits for the next notification", r->name);
		return;
	}
	vq_batch_start(vq);
	do {
		vq_set_notification(vq, false);
		for (;;) {
			if (!vq_has_avail(vq))
				break;
			if (!rng_may_serve(r)) {
				r->stats.throttled++;
				timer_arm(&r->wait, rng_next_window(r));
				goto out;
			}
			ret = vq_pop(vq, e);
			if (ret <= 0)
				break;
			r->stats.requests++;
			if (vq_push(vq, e->head, rng_fill(r, e))) {
				ret = -EIO;
				break;
			}
			virtio_queue_done(vd, q);
		}
		if (ret < 0) {
			virtio_set_needs_reset(vd);
			goto out;
		}
		if (vq_batch_yielded(vq)) {
			virtio_queue_defer(vd, q);
			goto out;
		}
	} while (vq_set_notification(vq, true));
out:
	free(e);
}

/* The next window opened: serve the requests that waited. Device lock held (timers). */
static void rng_on_window(void *opaque)
{
	struct virtio_rng *r = opaque;
	struct virtqueue *vq = &r->vd.vqs[0];

	if ((r->vd.status & VIRTIO_STATUS_DRIVER_OK) && vq->ready && !vq->broken)
		rng_queue_notify(&r->vd, 0);
}

static void rng_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	(void)vd, (void)off;
	memset(buf, 0, len); /* no configuration */
}

static void rng_reset(struct virtio_dev *vd)
{
	struct virtio_rng *r = (struct virtio_rng *)vd;

	timer_cancel(&r->wait);
	r->window_used = 0;
}

static const struct virtio_dev_ops rng_ops = {
	.config_read = rng_config_read,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
};

int virtio_rng_create(struct platform *p, const struct virtio_rng_config *cfg,
		      struct virtio_rng **out, struct err *err)
{
	const char *name = cfg->name ? cfg->name : "virtio-rng";
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->p = p;
	if (cfg->bytes_per_second)
		r->quota =
			MAX(cfg->bytes_per_second / (1000000000ull / VIRTIO_RNG_WINDOW_NS), 1ull);
	timer_init(&r->wait, &p->clock, rng_on_window, r);
	r->vd.ops = &rng_ops;
	r->vd.device_id = 4;
	r->vd.pci_class = 0xff0000; /* unclassified device */
	r->vd.config_len = 0;
	r->vd.nr_queues = 1;
	r->vd.queue_max_size = VIRTIO_RNG_QUEUE_SIZE;
	r->vd.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
			 1ull << VIRTIO_F_EVENT_IDX;
	ret = virtio_pci_create(p, &r->vd, name, &r->vp, err);
	if (ret < 0) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

struct pci_dev *virtio_rng_pci(struct virtio_rng *r)
{
	return virtio_pci_dev(r->vp);
}

struct virtio_pci *virtio_rng_transport(struct virtio_rng *r)
{
	return r->vp;
}

void virtio_rng_reset(struct virtio_rng *r)
{
	virtio_pci_reset(r->vp); /* calls rng_reset */
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	timer_cancel(&r->wait);
	virtio_pci_destroy(r->vp);
	free(r);
}

static void virtio_rng_ops_reset(void *dev)
{
	virtio_rng_reset(dev);
}

static void virtio_rng_ops_destroy(void *dev)
{
	virtio_rng_destroy(dev);
}

static void virtio_rng_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct virtio_rng *r = dev;

	fn(opaque, "requests", r->stats.requests);
	fn(opaque, "bytes", r->stats.bytes);
	fn(opaque, "throttled", r->stats.throttled);
	fn(opaque, "errors", r->stats.errors);
}

static int virtio_rng_pre_save(void *obj, struct err *err)
{
	struct virtio_rng *r = obj;

	(void)err;
	virtio_pci_flush_notify(r->vp);
	return 0;
}

static int virtio_rng_post_load(void *obj, u32 version, struct err *err)
{
	struct virtio_rng *r = obj;

	(void)version;
	/* A request is served while window_used < quota and adds at most a chunk to it. */
	if (r->quota && r->window_used >= r->quota + VIRTIO_RNG_CHUNK)
		return err_set(err, -EINVAL, "%s: %llu bytes used of a %llu-byte window", r->name,
			       (unsigned long long)r->window_used, (unsigned long long)r->quota);
	return 0;
}

static const struct state_field virtio_rng_fields[] = {
	STATE_STRUCT(struct virtio_rng, vd, virtio_dev_state),
	STATE_HOST(struct virtio_rng, name, "the board's name"),
	STATE_HOST(struct virtio_rng, p, "the platform"),
	STATE_POINTEE(struct virtio_rng, vp, virtio_pci_state),
	STATE_U64(struct virtio_rng, quota, STATE_CHECKED),
	STATE_U64(struct virtio_rng, window_start),
	STATE_U64(struct virtio_rng, window_used),
	STATE_TIMER(struct virtio_rng, wait),
	STATE_HOST(struct virtio_rng, buf, "scratch for one request"),
	STATE_HOST(struct virtio_rng, stats, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc virtio_rng_state = {
	.name = "virtio-rng",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_rng),
	.fields = virtio_rng_fields,
	.pre_save = virtio_rng_pre_save,
	.post_load = virtio_rng_post_load,
};

const struct device_ops virtio_rng_device_ops = {
	.type = "virtio-rng",
	.reset = virtio_rng_ops_reset,
	.state = &virtio_rng_state,
	.destroy = virtio_rng_ops_destroy,
	.counters = virtio_rng_ops_counters,
};
