/* SPDX-License-Identifier: MIT */
/*
 * Transport-independent helpers for virtio devices (VIRTIO 1.2 2.1.2 DEVICE_NEEDS_RESET,
 * 2.5.1 configuration generation, 2.7.7/2.7.10 used-buffer notification suppression), and the
 * deferred re-run of a queue whose round of work was cut at its budget.
 */
#include "virtio/virtio.h"

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
