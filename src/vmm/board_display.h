/* SPDX-License-Identifier: MIT */
/*
 * The display on the PC board (board_display.c): when the spec has a display, the stdvga
 * card, its VGA BIOS and the back end that shows it, with VNC input going to the i8042.
 * Threads: main thread, while no vCPU runs, unless said otherwise.
 */
#ifndef VMM_BOARD_DISPLAY_H
#define VMM_BOARD_DISPLAY_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

struct board_display;
struct display;
struct i8042;
struct loop;
struct pci_host;
struct vm;

/* The card at 00:slot.0, registered on the device list, and its back end. -errno with err. */
MUST_CHECK int board_display_create(struct vm *vm, struct pci_host *pci, unsigned slot,
				    struct i8042 *kbd, struct board_display **out, struct err *err);
void board_display_destroy(struct board_display *d);
/* d may be NULL (no display) in these. */
MUST_CHECK int board_display_attach(struct board_display *d, struct loop *l);
void board_display_detach(struct board_display *d);
/*
 * The guest is about to start: without firmware, set the card up as a VGA BIOS would (80x25
 * text). true if it did (the Linux loader then tells the kernel). Takes the device lock.
 */
bool board_display_boot(struct board_display *d, bool firmware);
/* The back end, for the control API; NULL without a display. */
struct display *board_display_display(struct board_display *d);

#endif
