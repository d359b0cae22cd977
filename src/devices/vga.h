/* SPDX-License-Identifier: MIT */
/*
 * The standard VGA with Bochs VBE extensions, as a PCI function 1234:1111 ("stdvga", see
 * vga.c, vga_render.c, vbe.c): the VGA registers at 0x3B0-0x3DF, the legacy window at
 * 0xA0000-0xBFFFF, the dispi registers at 0x1CE/0x1CF, and the PCI BARs: BAR0 the linear
 * framebuffer (video RAM, mapped into the guest as RAM with dirty logging when the machine
 * can, platform.h map_ram), BAR2 the MMIO registers, and the expansion ROM holding the VGA
 * BIOS given at creation.
 *
 * The display back end reads the screen with vga_update (pixels and what changed since the
 * last call) and vga_text (the characters of a text mode). Video RAM is guest memory like RAM:
 * a device reset leaves it alone (the VGA BIOS clears what it uses) and it is not part of the
 * device's state record (docs/display.md).
 */
#ifndef DEVICES_VGA_H
#define DEVICES_VGA_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#include <stddef.h>

struct pci_host;
struct pci_dev;
struct vga;

#define VGA_LEGACY_GPA	     0xa0000ull
#define VGA_LEGACY_LEN	     0x20000ull
#define VGA_VRAM_MIB_DEFAULT 16
#define VGA_VRAM_MIB_MIN     4
#define VGA_VRAM_MIB_MAX     256
#define VGA_ROM_MAX_BYTES    (1u << 20)
/* The largest screen the device shows (any mode), so the host's surface stays bounded. */
#define VGA_MAX_WIDTH	2560
#define VGA_MAX_HEIGHT	1600
#define VGA_FONT_GLYPHS 256

struct vga_config {
	const char *name; /* "vga0" */
	u32 vram_mib;	  /* VGA_VRAM_MIB_MIN..MAX, a power of two */
	const u8 *rom;	  /* the VGA BIOS for the expansion ROM (copied), or NULL */
	size_t rom_len;	  /* at most VGA_ROM_MAX_BYTES */
	unsigned slot;	  /* PCI slot on bus 0 */
};

/*
 * Create the function, put it at 00:slot.0 and claim the legacy ports and window. -ENOMEM,
 * -EBUSY, -EINVAL (a bad size), with a message. Main thread.
 */
MUST_CHECK int vga_create(struct platform *p, struct pci_host *h, const struct vga_config *cfg,
			  struct vga **out, struct err *err);
void vga_destroy(struct vga *v);

/*
 * The screen as 32-bit pixels whose bytes in memory are R, G, B, 0 (the u32 0x00BBGGRR on this
 * little-endian host: what libvncserver and libpng take as they are), width * height, row
 * after row. vga_update keeps it: when
 * the mode changes it resizes pixels (resized is set and every row is damaged); otherwise it
 * redraws what changed and damages those rows' columns [dmg_x0[y], dmg_x1[y]) (empty when
 * x0 >= x1). The caller owns the frame; vga_frame_free releases its buffers.
 */
struct vga_frame {
	u32 *pixels;
	unsigned width, height;
	u16 *dmg_x0, *dmg_x1;
	bool resized;
	bool text;   /* the mode is a text mode (vga_text reads it) */
	size_t cap;  /* pixels allocated */
	size_t rcap; /* damage rows allocated */
};

void vga_frame_free(struct vga_frame *f);

/*
 * Bring f up to date with the screen. full: redraw everything (a new client). Device lock
 * held (main thread). 0, or -ENOMEM (f keeps its last contents).
 */
MUST_CHECK int vga_update(struct vga *v, struct vga_frame *f, bool full);

/* A text screen: cols * rows cells of char | attr << 8, the cursor (-1 when hidden). */
struct vga_text {
	unsigned cols, rows;
	u16 *cells;
	int cursor_col, cursor_row;
};

/*
 * The characters on a text-mode screen; t->cells is allocated (free it). -ENOTSUP when the
 * screen shows graphics or is blanked, -ENOMEM. Device lock held.
 */
MUST_CHECK int vga_text(struct vga *v, struct vga_text *t);

/*
 * Program 80x25 colour text (mode 3) as a VGA BIOS leaves it, with font (VGA_FONT_GLYPHS
 * glyphs of height rows, one byte per row) in plane 2 and a blank screen: for guests started
 * without firmware (a Linux kernel whose vgacon expects the BIOS's mode). font may be NULL
 * (the glyphs stay empty). Device lock held, vCPUs not running.
 */
void vga_text_mode_init(struct vga *v, const u8 *font, unsigned height);

/*
 * Find the 8x16 font of a VGA BIOS image (the glyphs its mode set loads into plane 2): 4096
 * bytes whose glyph 0 and space are empty, glyph 0xDB a full block and glyph 0xB0 the light
 * shade. NULL if there is none.
 */
const u8 *vga_font_find(const u8 *rom, size_t len);

struct pci_dev *vga_pci(struct vga *v);

extern const struct device_ops vga_device_ops;

#endif
