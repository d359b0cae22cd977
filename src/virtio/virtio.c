/* SPDX-License-Identifier: MIT */
/*
 * Transport-independent helpers for virtio devices (VIRTIO 1.2 2.1.2 DEVICE_NEEDS_RESET,
 * 2.5.1 configuration generation, 2.7.7/2.7.10 used-buffer notification suppression), and the
 * deferred re-run of a queue whose round of work was cut at its budget.
 */
#include "virtio/virtio.h"

#include "vmm/base/err.h"
#include "vmm/state.h"

#include <errno.h>

void virtio_queue_done(struct virtio_dev *vd, unsigned q)
{
	if (q < vd->nr_queues && vq_should_notify(&vd->vqs[q]) && vd->notify)
		vd->notify(vd, (int)q);
}

void virtio_queue_defer(struct virtio_dev *vd, unsigned q)
{
	if (q < vd->nr_queues && vd->defer)
		vd->defer(vd, q);
}

void virtio_set_needs_reset(struct virtio_dev *vd)
{
	if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: a device that has DRIVER_OK must send a configuration change notification. */
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->notify)
		vd->notify(vd, -1);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	vd->config_generation++;
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->notify)
		vd->notify(vd, -1);
}

static int virtio_dev_post_load(void *obj, u32 version, struct err *err)
{
	struct virtio_dev *vd = obj;

	(void)version;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		const struct virtqueue *vq = &vd->vqs[q];

		if (!vq->ready)
			continue;
		if (q >= vd->nr_queues || !vq->size || (vq->size & (vq->size - 1)) ||
		    vq->size > vd->queue_max_size)
			return err_set(err, -EINVAL, "queue %u: ready with size %u (at most %u)", q,
				       vq->size, vd->queue_max_size);
	}
	return 0;
}

static const struct state_field virtio_dev_fields[] = {
	STATE_HOST(struct virtio_dev, ops, "the device model's callbacks"),
	STATE_U16(struct virtio_dev, device_id, STATE_CHECKED),
	STATE_U32(struct virtio_dev, pci_class, STATE_CHECKED),
	STATE_U64(struct virtio_dev, features, STATE_CHECKED),
	STATE_U32(struct virtio_dev, config_len, STATE_CHECKED),
	STATE_U32(struct virtio_dev, nr_queues, STATE_CHECKED),
	STATE_U16(struct virtio_dev, queue_max_size, STATE_CHECKED),
	STATE_U64(struct virtio_dev, driver_features),
	STATE_U8(struct virtio_dev, status),
	STATE_U8(struct virtio_dev, config_generation),
	STATE_HOST(struct virtio_dev, reset_count,
		   "tags requests in flight across a reset: none after the drain"),
	STATE_STRUCT_ARRAY(struct virtio_dev, vqs, virtqueue_state),
	STATE_HOST(struct virtio_dev, notify, "the transport's callback"),
	STATE_HOST(struct virtio_dev, defer, "the transport's callback"),
	STATE_HOST(struct virtio_dev, transport, "the transport's callback"),
	STATE_END,
};

const struct state_desc virtio_dev_state = {
	.name = "virtio-device",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_dev),
	.fields = virtio_dev_fields,
	.post_load = virtio_dev_post_load,
};
