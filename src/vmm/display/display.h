/* SPDX-License-Identifier: MIT */
/*
 * The display back end (docs/display.md): the VGA card's screen kept as a frame on the main
 * loop, shown to VNC clients (vnc.c, libvncserver), saved as PNG (png.c, libpng) and read as
 * text; VNC keyboard and pointer input handed to the board (the i8042's PS/2 devices).
 *
 * Threads: main thread only. The card is read under the VM's device lock, which this code
 * takes around every vga_update / vga_text call and which the input hooks take themselves.
 */
#ifndef VMM_DISPLAY_DISPLAY_H
#define VMM_DISPLAY_DISPLAY_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <pthread.h>
#include <stddef.h>

struct display;
struct display_spec;
struct loop;
struct vga;
struct vga_frame;

#define DISPLAY_REFRESH_NS	(33ull * 1000000ull) /* about 30 frames a second */
#define DISPLAY_FULL_EVERY	30 /* ticks between full redraws (once a second) */
#define DISPLAY_VNC_MAX_CLIENTS 8

/* Where input goes: the board's keyboard and mouse. Main thread; they take the device lock. */
struct display_input {
	void *opaque;
	void (*key)(void *opaque, unsigned ps2_key, bool down);
	void (*mouse)(void *opaque, s32 dx, s32 dy, s32 dz, u8 ps2_buttons);
};

struct display_config {
	const struct display_spec *spec;
	const char *name; /* the VM's name: the VNC desktop name */
	struct vga *vga;
	pthread_mutex_t *lock; /* the VM's device lock */
	struct display_input input;
};

/*
 * Make the back end for spec: with type vnc the server's socket is bound now (a port in use
 * or a bad path is an error here, before the VM runs). -ENOMEM, -EADDRINUSE, ... with err.
 * Main thread.
 */
MUST_CHECK int display_create(const struct display_config *cfg, struct display **out,
			      struct err *err);
void display_destroy(struct display *d);

/* Serve clients and refresh on the main loop, and stop. */
MUST_CHECK int display_attach(struct display *d, struct loop *l);
void display_detach(struct display *d);

/* The screen now as a PNG image (allocated; free it). -ENOMEM, -EIO with err. */
MUST_CHECK int display_screenshot(struct display *d, u8 **png, size_t *len, struct err *err);
/*
 * The text screen as UTF-8, one line per row without trailing blanks, each ending in '\n'
 * (allocated). -ENOTSUP when the card shows graphics, with err saying so.
 */
MUST_CHECK int display_screen_text(struct display *d, char **text, struct err *err);

/* The X keysym's PS/2 key (devices/ps2.h), or 0 (keymap.c). */
unsigned display_keysym_to_key(u32 keysym);

/* png.c: the frame as a PNG image (allocated). 0, -ENOMEM or -EIO. */
MUST_CHECK int display_png_encode(const struct vga_frame *f, u8 **png, size_t *len);

/* vnc.c: the VNC server of a display. */
struct vnc;

struct vnc_hooks {
	void *opaque;
	void (*key)(void *opaque, u32 keysym, bool down);
	void (*pointer)(void *opaque, int buttons, int x, int y);
	void (*clients)(void *opaque, unsigned nr); /* a client came or went */
};

MUST_CHECK int vnc_create(const struct display_spec *spec, const char *name,
			  const struct vnc_hooks *hooks, struct vnc **out, struct err *err);
void vnc_destroy(struct vnc *v);
MUST_CHECK int vnc_attach(struct vnc *v, struct loop *l);
void vnc_detach(struct vnc *v);
/* Show the frame's damage (or all of it after a resize) and send what clients asked for. */
void vnc_update(struct vnc *v, struct vga_frame *f);

#endif
