/* SPDX-License-Identifier: MIT */
/*
 * The disks of the spec ("disks": [...]) on the PC board: each opened through the block layer
 * (raw or VMDK), then attached as a virtio-blk PCI function of its own or as a port of the one
 * AHCI controller (disks and CD-ROMs, up to six ports). Completions of the block layer are
 * collected on the main thread's event loop.
 *
 * PCI slots: 00:00.0 host bridge, 00:01.0 ISA bridge, virtio-blk disks from 00:02.0 in spec
 * order, then the AHCI controller. The board says which line INTA of each slot drives.
 */
#ifndef VMM_BOARD_DISKS_H
#define VMM_BOARD_DISKS_H

#include "vmm/base/err.h"
#include "vmm/irq.h"

#include <stddef.h>

struct vm;
struct loop;
struct pci_host;
struct board_disks;
struct board_pci_lines;
struct blockdev;

/* Where the AHCI controller goes: 00:dev.fn; dev 0: the slot after the virtio disks. */
struct board_disks_ahci {
	unsigned dev, fn;
};

/*
 * Open and attach every disk of vm->spec. lines is copied, ahci only read. Main thread, before
 * the vCPUs run.
 */
MUST_CHECK int board_disks_create(struct vm *vm, struct pci_host *pci,
				  const struct board_pci_lines *lines,
				  const struct board_disks_ahci *ahci, struct board_disks **out,
				  struct err *err);
/* The first PCI slot after the disks' (the board puts its other functions from there). */
unsigned board_disks_next_slot(const struct board_disks *d);

/*
 * The OpenFirmware device path of disks[i] as QEMU-style firmware reads it in the fw_cfg
 * "bootorder" file (SeaBIOS matches its devices against it; OVMF translates it to UEFI device
 * paths): "/pci@i0cf8/scsi@S/disk@0,0" for a virtio-blk disk in slot S,
 * "/pci@i0cf8/pci8086,2922@S[,F]/drive@P/disk@0" for port P of the AHCI controller. 0, or
 * -ENOENT if there is no such disk. Main thread.
 */
int board_disks_fw_path(const struct board_disks *d, unsigned i, char *buf, size_t len);
/* Watch the block layer's completion fds on the loop. Main thread. */
MUST_CHECK int board_disks_attach(struct board_disks *d, struct loop *l);
void board_disks_detach(struct board_disks *d);
/*
 * The block device of spec disk i (NULL past the last): snapshots freeze and migrations hand
 * over its image in place (blockdev_snapshot, blockdev_reopen). Main thread, nothing in flight.
 */
struct blockdev *board_disks_blockdev(struct board_disks *d, unsigned i);

/* Detach the devices from the bus, wait for requests in flight, close the images. */
void board_disks_destroy(struct board_disks *d);

#endif
