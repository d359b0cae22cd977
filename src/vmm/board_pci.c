// SPDX-License-Identifier: MIT
/*
 * The board's PCI plumbing (board_pci.h). With line_irqfd the PCI INTx lines are resampling
 * irqfds: asserting writes the irqfd, the guest's EOI signals the resample eventfd and, on
 * the main loop, the line is asserted again if the device still holds it high. With the
 * accelerator's ioeventfd and msi_irqfd (KVM) a virtio-pci function's queue notifications
 * arrive as eventfds watched here on the main loop, and MSI-X goes through irqfds.
 */
#include "vmm/board_pci.h"

#include "virtio/virtio_pci.h"
#include "vmm/accel.h"
#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- INTx through a resampling irqfd ---- */

/* The device drives its line. Device lock held. */
static void board_intx_set(void *sink, unsigned gsi, int level)
{
	struct board_intx *x = sink;

	(void)gsi;
	x->level = level;
	if (level && eventfd_write(x->fd, 1) == 0)
		x->asserts++;
}

/* The guest ended the interrupt and the accelerator lowered the line. Main thread. */
static void board_intx_on_resample(void *opaque, int fd, u32 events)
{
	struct board_intx *x = opaque;
	eventfd_t n;

	(void)events;
	if (eventfd_read(fd, &n))
		return;
	pthread_mutex_lock(&x->vm->plat.dev_lock);
	if (x->level && eventfd_write(x->fd, 1) == 0)
		x->asserts++;
	pthread_mutex_unlock(&x->vm->plat.dev_lock);
}

void board_intx_close(struct board_intx *x)
{
	if (!x->open)
		return;
	if (x->asserts)
		log_info("%s: %llu INTx assertions through irqfd", x->name,
			 (unsigned long long)x->asserts);
	x->vm->accel->line_irqfd(x->vm->avm, x->gsi, x->fd, x->resample_fd, false);
	close(x->fd);
	close(x->resample_fd);
	x->open = false;
}

struct irq_line board_intx_line(struct vm *vm, const struct board_pci_lines *lines,
				struct board_intx *x, const char *name, unsigned slot)
{
	unsigned gsi;
	struct irq_line board_line = lines->intx(lines->opaque, slot, &gsi);
	struct irq_line line = { .set = board_intx_set, .sink = x, .pin = gsi };
	int ret;

	if (!vm->accel->has_irqchip || !vm->accel->line_irqfd)
		return board_line;
	x->vm = vm;
	x->name = name;
	x->gsi = gsi;
	x->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	x->resample_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ret = x->fd < 0 || x->resample_fd < 0 ?
		      -errno :
		      vm->accel->line_irqfd(vm->avm, gsi, x->fd, x->resample_fd, true);
	if (ret == 0) {
		x->open = true;
		return line;
	}
	log_warn("%s: INTx stays on the irqchip line: no irqfd (%s)", name, strerror(-ret));
	if (x->fd >= 0)
		close(x->fd);
	if (x->resample_fd >= 0)
		close(x->resample_fd);
	return board_line;
}

int board_intx_watch(struct board_intx *x, struct loop *l)
{
	int ret;

	if (!x->open)
		return 0;
	ret = loop_add(l, x->resample_fd, EPOLLIN, board_intx_on_resample, x);
	if (ret == 0)
		x->watched = true;
	return ret;
}

void board_intx_unwatch(struct board_intx *x, struct loop *l)
{
	if (x->watched)
		loop_del(l, x->resample_fd);
	x->watched = false;
}

/* ---- virtio-pci eventfd fast paths ---- */

static int board_virtio_ioeventfd(void *opaque, u64 gpa, int fd, bool assign)
{
	struct vm *vm = opaque;

	return vm->accel->ioeventfd(vm->avm, gpa, 0, false, fd, assign);
}

static int board_virtio_msi_irqfd(void *opaque, int fd, u64 addr, u32 data, bool assign)
{
	struct vm *vm = opaque;

	return vm->accel->msi_irqfd(vm->avm, fd, addr, data, assign);
}

int board_virtio_accel(struct vm *vm, struct virtio_pci *vp, struct err *err)
{
	const struct accel_ops *acc = vm->accel;
	struct virtio_pci_accel fast = {
		.opaque = vm,
		.ioeventfd = acc->ioeventfd ? board_virtio_ioeventfd : NULL,
		.msi_irqfd = acc->msi_irqfd && acc->has_irqchip ? board_virtio_msi_irqfd : NULL,
	};

	if (!fast.ioeventfd && !fast.msi_irqfd)
		return 0;
	return virtio_pci_set_accel(vp, &fast, err);
}

/* The guest notified a queue through its ioeventfd. Main thread. */
static void board_virtio_on_notify(void *opaque, int fd, u32 events)
{
	struct board_virtio_queue *bq = opaque;

	(void)fd;
	(void)events;
	virtio_pci_notify_event(bq->w->vp, bq->q);
}

/* A queue's round of work was cut at its budget: run the next one. Main thread. */
static void board_virtio_on_defer(void *opaque, int fd, u32 events)
{
	struct board_virtio_watch *w = opaque;

	(void)fd;
	(void)events;
	virtio_pci_defer_event(w->vp); /* takes the device lock */
}

int board_virtio_watch(struct board_virtio_watch *w, struct virtio_pci *vp, struct loop *l)
{
	int ret;

	w->vp = vp;
	ret = loop_add(l, virtio_pci_defer_fd(vp), EPOLLIN, board_virtio_on_defer, w);
	if (ret < 0)
		return ret;
	w->defer_watched = true;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct board_virtio_queue *bq = &w->queues[q];
		int fd = virtio_pci_notify_fd(vp, q);

		if (fd < 0)
			continue;
		bq->w = w;
		bq->q = q;
		ret = loop_add(l, fd, EPOLLIN, board_virtio_on_notify, bq);
		if (ret < 0)
			return ret;
		bq->watched = true;
	}
	return 0;
}

void board_virtio_unwatch(struct board_virtio_watch *w, struct loop *l)
{
	if (!w->vp)
		return;
	if (w->defer_watched)
		loop_del(l, virtio_pci_defer_fd(w->vp));
	w->defer_watched = false;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (w->queues[q].watched)
			loop_del(l, virtio_pci_notify_fd(w->vp, q));
		w->queues[q].watched = false;
	}
}
