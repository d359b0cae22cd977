// SPDX-License-Identifier: MIT
/*
 * Disks on the PC board (board_disks.h): block layer -> virtio-blk or AHCI port.
 * The device lock serialises every use of a blockdev: submissions come from bus handlers
 * (device lock held by the bus), completions from the main loop under the same lock.
 * When the accelerator has the eventfd paths (accel.h ioeventfd and msi_irqfd: KVM),
 * virtio-blk queue notifications arrive as ioeventfds watched here on the main loop, so
 * its requests are submitted from the main thread too, and MSI-X goes through irqfds.
 * With line_irqfd the PCI INTx lines of these functions are resampling irqfds too (struct
 * board_intx): asserting writes the irqfd, the guest's EOI signals the resample eventfd
 * and, on the main loop, the line is asserted again if the device still holds it high.
 */
#include "vmm/board_disks.h"

#include "devices/ahci.h"
#include "devices/pci.h"
#include "virtio/blk.h"
#include "vmdk/blockdev.h"
#include "vmm/accel.h"
#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BOARD_DISKS_FIRST_SLOT 2

struct board_intx {
	struct vm *vm;
	const char *name;
	unsigned gsi;
	bool open, watched;
	bool level; /* as the device drives it */
	int fd, resample_fd;
	u64 asserts;
};

struct board_disk_queue {
	struct board_disk *disk;
	unsigned q;
	bool watched;
};

struct board_disk {
	struct board_disks *owner;
	struct blockdev *bd;
	struct virtio_blk *vblk; /* NULL for an AHCI port */
	unsigned slot, port;	 /* PCI slot (virtio-blk) or AHCI port */
	char name[32];
	bool watched;
	bool defer_watched; /* the transport's deferred-work eventfd */
	struct board_disk_queue queues[VIRTIO_MAX_QUEUES]; /* ioeventfd watches */
	struct board_intx intx;
};

struct board_disks {
	struct vm *vm;
	struct pci_host *pci;
	struct board_disks_lines lines;
	struct loop *loop;
	struct ahci *ahci;
	unsigned ahci_slot, ahci_fn;
	struct board_intx ahci_intx;
	unsigned next_slot; /* the first PCI slot the disks left free */
	unsigned nr;
	struct board_disk disks[];
};

static int board_disks_open(struct board_disk *disk, const struct disk_spec *ds, unsigned i,
			    struct err *err)
{
	static const enum blockdev_format formats[] = { [DISK_FORMAT_AUTO] = BLOCKDEV_FORMAT_AUTO,
							[DISK_FORMAT_RAW] = BLOCKDEV_FORMAT_RAW,
							[DISK_FORMAT_VMDK] = BLOCKDEV_FORMAT_VMDK };

	static const enum blockdev_cache caches[] = {
		[DISK_CACHE_WRITEBACK] = BLOCKDEV_CACHE_WRITEBACK,
		[DISK_CACHE_WRITETHROUGH] = BLOCKDEV_CACHE_WRITETHROUGH,
		[DISK_CACHE_NONE] = BLOCKDEV_CACHE_NONE,
	};
	struct blockdev_spec bs = { .path = ds->path,
				    .format = formats[ds->format],
				    .readonly = ds->readonly || ds->cdrom,
				    .cache = caches[ds->cache],
				    .guest_disk = true };
	int ret = blockdev_open(&bs, &disk->bd, err);

	if (ret < 0)
		return err_prefix(err, "disks[%u]", i), ret;
	/* Which probing rule holds for this disk (docs/security.md, "Disk formats"). */
	if (ds->format == DISK_FORMAT_AUTO && blockdev_format(disk->bd) == BLOCKDEV_FORMAT_RAW)
		log_info("disks[%u]: %s: format auto probed raw; guest writes that would make it "
			 "look like a VMDK are refused (\"format\": \"raw\" allows them)",
			 i, ds->path);
	else if (ds->format == DISK_FORMAT_AUTO)
		log_info("disks[%u]: %s: format auto probed a VMDK sparse image", i, ds->path);
	return 0;
}

static int board_disks_ioeventfd(void *opaque, u64 gpa, int fd, bool assign)
{
	struct vm *vm = opaque;

	return vm->accel->ioeventfd(vm->avm, gpa, 0, false, fd, assign);
}

static int board_disks_msi_irqfd(void *opaque, int fd, u64 addr, u32 data, bool assign)
{
	struct vm *vm = opaque;

	return vm->accel->msi_irqfd(vm->avm, fd, addr, data, assign);
}

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

static void board_intx_close(struct board_intx *x)
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

/*
 * The INTx line of the function in slot: a resampling irqfd when the accelerator has them, else
 * the board's line for it.
 */
static struct irq_line board_intx_line(struct board_disks *d, struct board_intx *x,
				       const char *name, unsigned slot)
{
	struct vm *vm = d->vm;
	unsigned gsi;
	struct irq_line board_line = d->lines.intx(d->lines.opaque, slot, &gsi);
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

static int board_intx_watch(struct board_intx *x, struct loop *l)
{
	int ret;

	if (!x->open)
		return 0;
	ret = loop_add(l, x->resample_fd, EPOLLIN, board_intx_on_resample, x);
	if (ret == 0)
		x->watched = true;
	return ret;
}

static void board_intx_unwatch(struct board_intx *x, struct loop *l)
{
	if (x->watched)
		loop_del(l, x->resample_fd);
	x->watched = false;
}

/* ---- creation ---- */

static int board_disks_add_virtio(struct board_disks *d, struct board_disk *disk,
				  const struct disk_spec *ds, unsigned slot, struct err *err)
{
	struct virtio_blk_config cfg = { .name = disk->name, .serial = ds->serial };
	const struct accel_ops *acc = d->vm->accel;
	struct virtio_pci_accel fast = {
		.opaque = d->vm,
		.ioeventfd = acc->ioeventfd ? board_disks_ioeventfd : NULL,
		.msi_irqfd = acc->msi_irqfd && acc->has_irqchip ? board_disks_msi_irqfd : NULL,
	};
	int ret = virtio_blk_create(&d->vm->plat, disk->bd, &cfg, &disk->vblk, err);

	if (ret < 0)
		return ret;
	if (fast.ioeventfd || fast.msi_irqfd) {
		ret = virtio_pci_set_accel(virtio_blk_transport(disk->vblk), &fast, err);
		if (ret < 0) {
			virtio_blk_destroy(disk->vblk);
			disk->vblk = NULL;
			return ret;
		}
	}
	/* PCI_INTERRUPT_PIN 1: INTA, routed as the DSDT's _PRT says. */
	pci_set_intx(virtio_blk_pci(disk->vblk), 1,
		     board_intx_line(d, &disk->intx, disk->name, slot));
	ret = pci_host_add(d->pci, virtio_blk_pci(disk->vblk), slot, 0, err);
	if (ret < 0) {
		virtio_blk_destroy(disk->vblk);
		disk->vblk = NULL;
		return ret;
	}
	ret = platform_add_dev(&d->vm->plat, &virtio_blk_device_ops, disk->vblk, disk->name);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot register the device: %s", disk->name,
			       strerror(-ret));
	return 0;
}

int board_disks_create(struct vm *vm, struct pci_host *pci, const struct board_disks_lines *lines,
		       struct board_disks **out, struct err *err)
{
	const struct vm_spec *spec = vm->spec;
	struct ahci_config acfg = { .name = "ahci0", .host = pci };
	struct board_disks *d = calloc(1, sizeof(*d) + spec->nr_disks * sizeof(d->disks[0]));
	unsigned slot = BOARD_DISKS_FIRST_SLOT, nr_virtio = 0;
	int ret = 0;

	if (!d)
		return err_set(err, -ENOMEM, "disks: out of memory");
	d->vm = vm;
	d->pci = pci;
	d->lines = *lines;
	for (unsigned i = 0; i < spec->nr_disks; i++) {
		const struct disk_spec *ds = &spec->disks[i];
		struct board_disk *disk = &d->disks[d->nr++];

		disk->owner = d;
		ret = board_disks_open(disk, ds, i, err);
		if (ret < 0)
			goto err_destroy;
		if (ds->bus == DISK_BUS_VIRTIO) {
			snprintf(disk->name, sizeof(disk->name), "virtio-blk%u", nr_virtio++);
			disk->slot = slot;
			ret = board_disks_add_virtio(d, disk, ds, slot++, err);
			if (ret < 0) {
				err_prefix(err, "disks[%u]", i);
				goto err_destroy;
			}
			continue;
		}
		if (acfg.nr_ports == AHCI_MAX_PORTS) {
			ret = err_set(err, -ENOSPC, "disks[%u]: at most %d disks on the AHCI bus",
				      i, AHCI_MAX_PORTS);
			goto err_destroy;
		}
		snprintf(disk->name, sizeof(disk->name), "ahci0.port%u", acfg.nr_ports);
		disk->port = acfg.nr_ports;
		acfg.ports[acfg.nr_ports].kind = ds->cdrom ? ATA_KIND_CDROM : ATA_KIND_DISK;
		acfg.ports[acfg.nr_ports].bd = disk->bd;
		acfg.ports[acfg.nr_ports].serial = ds->serial;
		acfg.ports[acfg.nr_ports].trim = !ds->cdrom && !ds->readonly;
		acfg.nr_ports++;
	}
	if (acfg.nr_ports) {
		acfg.dev = lines->ahci_dev ? lines->ahci_dev : slot;
		acfg.fn = lines->ahci_fn;
		slot = acfg.dev;
		d->ahci_slot = acfg.dev;
		d->ahci_fn = acfg.fn;
		acfg.intx = board_intx_line(d, &d->ahci_intx, "ahci0", slot);
		ret = ahci_create(&vm->plat, &acfg, &d->ahci, err);
		if (ret < 0)
			goto err_destroy;
		ret = platform_add_dev(&vm->plat, &ahci_device_ops, d->ahci, acfg.name);
		if (ret < 0) {
			err_set(err, ret, "%s: cannot register the device: %s", acfg.name,
				strerror(-ret));
			goto err_destroy;
		}
	}
	d->next_slot = slot + (acfg.nr_ports ? 1 : 0);
	*out = d;
	return 0;

err_destroy:
	board_disks_destroy(d);
	return ret;
}

unsigned board_disks_next_slot(const struct board_disks *d)
{
	return d->next_slot;
}

int board_disks_fw_path(const struct board_disks *d, unsigned i, char *buf, size_t len)
{
	const struct board_disk *disk = i < d->nr ? &d->disks[i] : NULL;
	char fn[16] = "";

	if (!disk)
		return -ENOENT;
	if (disk->vblk) {
		snprintf(buf, len, "/pci@i0cf8/scsi@%x/disk@0,0", disk->slot);
		return 0;
	}
	if (d->ahci_fn)
		snprintf(fn, sizeof(fn), ",%x", d->ahci_fn);
	snprintf(buf, len, "/pci@i0cf8/pci8086,2922@%x%s/drive@%x/disk@0", d->ahci_slot, fn,
		 disk->port);
	return 0;
}

/* The block layer finished requests of this disk: complete them into the guest. Main thread. */
static void board_disks_on_completion(void *opaque, int fd, u32 events)
{
	struct board_disk *disk = opaque;
	struct vm *vm = disk->owner->vm;

	(void)fd;
	(void)events;
	if (disk->vblk) {
		virtio_blk_poll(disk->vblk); /* takes the device lock */
		return;
	}
	pthread_mutex_lock(&vm->plat.dev_lock);
	blockdev_poll_completions(disk->bd);
	pthread_mutex_unlock(&vm->plat.dev_lock);
}

/* The guest notified a virtio-blk queue through its ioeventfd. Main thread. */
static void board_disks_on_notify(void *opaque, int fd, u32 events)
{
	struct board_disk_queue *dq = opaque;

	(void)fd;
	(void)events;
	virtio_pci_notify_event(virtio_blk_transport(dq->disk->vblk), dq->q);
}

/* A virtio-blk queue's round of work was cut at its budget: run the next one. Main thread. */
static void board_disks_on_defer(void *opaque, int fd, u32 events)
{
	struct board_disk *disk = opaque;

	(void)fd;
	(void)events;
	virtio_pci_defer_event(virtio_blk_transport(disk->vblk)); /* takes the device lock */
}

static int board_disks_watch_queues(struct board_disk *disk, struct loop *l)
{
	struct virtio_pci *vp = virtio_blk_transport(disk->vblk);
	int ret = loop_add(l, virtio_pci_defer_fd(vp), EPOLLIN, board_disks_on_defer, disk);

	if (ret < 0)
		return ret;
	disk->defer_watched = true;

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct board_disk_queue *dq = &disk->queues[q];
		int fd = virtio_pci_notify_fd(vp, q);

		if (fd < 0)
			continue;
		dq->disk = disk;
		dq->q = q;
		ret = loop_add(l, fd, EPOLLIN, board_disks_on_notify, dq);
		if (ret < 0)
			return ret;
		dq->watched = true;
	}
	return 0;
}

struct blockdev *board_disks_blockdev(struct board_disks *d, unsigned i)
{
	return d && i < d->nr ? d->disks[i].bd : NULL;
}

int board_disks_attach(struct board_disks *d, struct loop *l)
{
	d->loop = l;
	for (unsigned i = 0; i < d->nr; i++) {
		struct board_disk *disk = &d->disks[i];
		int ret = loop_add(l, blockdev_event_fd(disk->bd), EPOLLIN,
				   board_disks_on_completion, disk);

		if (ret < 0)
			return ret;
		disk->watched = true;
		if (disk->vblk) {
			ret = board_disks_watch_queues(disk, l);
			if (ret == 0)
				ret = board_intx_watch(&disk->intx, l);
			if (ret < 0)
				return ret;
		}
	}
	return board_intx_watch(&d->ahci_intx, l);
}

void board_disks_detach(struct board_disks *d)
{
	for (unsigned i = 0; d && d->loop && i < d->nr; i++) {
		struct board_disk *disk = &d->disks[i];

		if (disk->watched)
			loop_del(d->loop, blockdev_event_fd(disk->bd));
		disk->watched = false;
		if (disk->defer_watched)
			loop_del(d->loop, virtio_pci_defer_fd(virtio_blk_transport(disk->vblk)));
		disk->defer_watched = false;
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			if (disk->queues[q].watched)
				loop_del(d->loop,
					 virtio_pci_notify_fd(virtio_blk_transport(disk->vblk), q));
			disk->queues[q].watched = false;
		}
		board_intx_unwatch(&disk->intx, d->loop);
	}
	if (d && d->loop)
		board_intx_unwatch(&d->ahci_intx, d->loop);
	if (d)
		d->loop = NULL;
}

void board_disks_destroy(struct board_disks *d)
{
	if (!d)
		return;
	board_disks_detach(d);
	platform_del_dev(&d->vm->plat, d->ahci);
	if (d->ahci)
		ahci_destroy(d->ahci);
	board_intx_close(&d->ahci_intx);
	for (unsigned i = 0; i < d->nr; i++) {
		struct board_disk *disk = &d->disks[i];

		if (disk->vblk) {
			platform_del_dev(&d->vm->plat, disk->vblk);
			pci_host_remove(d->pci, virtio_blk_pci(disk->vblk));
			virtio_blk_destroy(disk->vblk);
		}
		board_intx_close(&disk->intx);
		if (disk->bd && blockdev_close(disk->bd) < 0)
			log_warn("%s: closing the image failed: data may not have reached the disk",
				 disk->name);
	}
	free(d);
}
