// SPDX-License-Identifier: MIT
/*
 * Disks on the PC board (board_disks.h): block layer -> virtio-blk or AHCI port.
 * The device lock serialises every use of a blockdev: submissions come from bus handlers
 * (device lock held by the bus), completions from the main loop under the same lock.
 * When the accelerator has the eventfd paths (accel.h ioeventfd and msi_irqfd: KVM),
 * virtio-blk queue notifications arrive as ioeventfds watched on the main loop
 * (board_pci.h), so its requests are submitted from the main thread too, and MSI-X goes
 * through irqfds; with line_irqfd the INTx lines are resampling irqfds.
 */
#include "vmm/board_disks.h"

#include "devices/ahci.h"
#include "devices/pci.h"
#include "virtio/blk.h"
#include "vmdk/blockdev.h"
#include "vmm/accel.h"
#include "vmm/base/log.h"
#include "vmm/board_pci.h"
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

struct board_disk {
	struct board_disks *owner;
	struct blockdev *bd;
	struct virtio_blk *vblk; /* NULL for an AHCI port */
	unsigned slot, port;	 /* PCI slot (virtio-blk) or AHCI port */
	char name[32];
	bool watched;
	struct board_virtio_watch vw; /* deferred work and ioeventfds on the loop */
	struct board_intx intx;
};

struct board_disks {
	struct vm *vm;
	struct pci_host *pci;
	struct board_pci_lines lines;
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

/* ---- creation ---- */

static int board_disks_add_virtio(struct board_disks *d, struct board_disk *disk,
				  const struct disk_spec *ds, unsigned slot, struct err *err)
{
	struct virtio_blk_config cfg = { .name = disk->name, .serial = ds->serial };
	int ret = virtio_blk_create(&d->vm->plat, disk->bd, &cfg, &disk->vblk, err);

	if (ret < 0)
		return ret;
	ret = board_virtio_accel(d->vm, virtio_blk_transport(disk->vblk), err);
	if (ret < 0) {
		virtio_blk_destroy(disk->vblk);
		disk->vblk = NULL;
		return ret;
	}
	/* PCI_INTERRUPT_PIN 1: INTA, routed as the DSDT's _PRT says. */
	pci_set_intx(virtio_blk_pci(disk->vblk), 1,
		     board_intx_line(d->vm, &d->lines, &disk->intx, disk->name, slot));
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

int board_disks_create(struct vm *vm, struct pci_host *pci, const struct board_pci_lines *lines,
		       const struct board_disks_ahci *ahci, struct board_disks **out,
		       struct err *err)
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
	d->next_slot = BOARD_DISKS_FIRST_SLOT;
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
		/* a fixed place (ICH9's SATA function on q35), or the next slot */
		acfg.dev = ahci->dev ? ahci->dev : slot;
		acfg.fn = ahci->fn;
		d->ahci_slot = acfg.dev;
		d->ahci_fn = acfg.fn;
		acfg.intx = board_intx_line(vm, &d->lines, &d->ahci_intx, "ahci0", acfg.dev);
		if (!ahci->dev)
			slot++;
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
	d->next_slot = slot;
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
			ret = board_virtio_watch(&disk->vw, virtio_blk_transport(disk->vblk), l);
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
		board_virtio_unwatch(&disk->vw, d->loop);
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
