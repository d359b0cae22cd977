/* SPDX-License-Identifier: MIT */
/*
 * The NICs of the spec ("nics": [...]) on the PC board (docs/networking.md): each gets its
 * back end (a tap, or user-mode networking with libslirp) and its device (virtio-net or e1000)
 * as a PCI function of its own, in spec order from the first slot after the disks. NIC i is
 * "net<i>": its device's instance name (vm.counters, state records) and its id in the API.
 * The back ends are driven from the main loop.
 *
 * Threads: main thread; board_nics_set_link takes the device lock.
 */
#ifndef VMM_BOARD_NICS_H
#define VMM_BOARD_NICS_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

struct vm;
struct loop;
struct pci_host;
struct board_nics;
struct board_pci_lines;
struct nic_spec;

/*
 * Open every NIC's back end and create its device, from first_slot on. A bad back end (no
 * such tap, permission denied, a forwarded port in use) is an error naming the spec path,
 * and nothing stays open. Main thread, before the vCPUs run.
 */
MUST_CHECK int board_nics_create(struct vm *vm, struct pci_host *pci,
				 const struct board_pci_lines *lines, unsigned first_slot,
				 struct board_nics **out, struct err *err);
/*
 * Add one more NIC (vm.add-net, before the VM boots): ns is the validated entry, index its
 * place in the spec (its name is net<index>); tap_fd, if >= 0, is an open tap the NIC takes
 * over instead of opening ns->tap. Attached to the loop at once if the others are.
 */
MUST_CHECK int board_nics_add(struct board_nics *n, const struct nic_spec *ns, unsigned index,
			      int tap_fd, struct err *err);
/* Watch the back ends and the virtio eventfds on the loop, and stop. Main thread. */
MUST_CHECK int board_nics_attach(struct board_nics *n, struct loop *l);
void board_nics_detach(struct board_nics *n);
/* Link up or down of the NIC with id "net<i>". -ENOENT (no such NIC) with a message. */
MUST_CHECK int board_nics_set_link(struct board_nics *n, const char *id, bool up, struct err *err);
/* Take the devices off the bus and close the back ends. */
void board_nics_destroy(struct board_nics *n);

#endif
