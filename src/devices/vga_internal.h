/* SPDX-License-Identifier: MIT */
/*
 * Shared by vga.c (registers, legacy window, lifecycle), vga_render.c (the screen) and vbe.c
 * (dispi and the PCI function). Never included outside those files.
 *
 * Video RAM: vram_size bytes. The VGA's four 64 KiB planes are interleaved in its first
 * 256 KiB: byte o of plane p is vram[o * 4 + p] (VGA_PLANE_IDX). VBE modes and the linear
 * framebuffer see the same bytes linearly.
 */
#ifndef DEVICES_VGA_INTERNAL_H
#define DEVICES_VGA_INTERNAL_H

#include "devices/pci.h"
#include "devices/vga.h"
#include "devices/vga_regs.h"

#define VGA_PLANE_SIZE	    0x10000u
#define VGA_PLANE_IDX(o, p) ((u32)(o)*4u + (u32)(p))
#define VGA_PAGE_SHIFT	    12
#define VBE_BANK_SIZE	    0x10000u

/* What the dispi registers ask for, clamped to what video RAM and the limits allow. */
struct vbe_geom {
	bool on;
	u32 xres, yres, bpp, bytespp;
	u32 line;  /* bytes per line (virtual width) */
	u32 start; /* byte offset of the visible top-left pixel */
	u32 virt_height;
};

/* The mode the screen is in, derived from the registers (vga_render.c). */
enum vga_kind {
	VGA_KIND_BLANK,
	VGA_KIND_TEXT,
	VGA_KIND_PLANAR, /* 16 colours from 4 planes */
	VGA_KIND_CGA,	 /* 4 colours, interleaved shift */
	VGA_KIND_256,	 /* 256 colours, 4 pixels per address */
	VGA_KIND_VBE,
};

struct vga {
	struct platform *p;
	char name[32];
	struct pci_dev pci;
	u8 *vram;
	u32 vram_size;
	unsigned long *dirty;	  /* pages of vram written through the bus since the last update */
	unsigned long *mem_dirty; /* pages of vram written since the last vga_memory_dirty */
	u8 *rom;
	u32 rom_size, rom_len;

	/* VGA registers */
	u8 misc, fcr;
	u8 sr_index, sr[VGA_SR_COUNT];
	u8 gr_index, gr[VGA_GR_COUNT];
	u8 cr_index, cr[VGA_CR_COUNT];
	u8 ar_index;  /* with VGA_ATT_PAS */
	bool ar_flip; /* the next 0x3C0 write is data */
	u8 ar[VGA_AR_COUNT];
	u8 dac_write, dac_read, dac_step, dac_state, dac_mask;
	u8 dac[256 * 3];
	u8 dac_latch[3];
	u32 latch; /* the planes' bytes from the last read, plane p in bits 8p..8p+7 */

	/* Bochs VBE */
	u16 vbe_index;
	u16 vbe[VBE_DISPI_INDEX_NB]; /* as the guest wrote them */
	u32 qext_endian;

	/* host side, re-derived */
	struct vbe_geom geom;
	u64 lfb_gpa, mmio_gpa, rom_gpa; /* mapped on the MMIO bus, or PCI_BAR_UNMAPPED */
	bool lfb_ram;			/* BAR0 is guest RAM in the accelerator (map_ram) */
	u32 gen;      /* bumped by every register write that changes the picture */
	u32 font_gen; /* bumped by writes to plane 2 */

	/* renderer cache (vga_render.c) */
	u32 seen_gen, seen_font_gen;
	enum vga_kind seen_kind;
	u32 palette[256];
	u16 *text_shadow;
	size_t text_shadow_cap;
	int seen_cursor;
	u32 *row;	     /* one line of scratch pixels */
	unsigned long *scan; /* dirty pages gathered by an update */
	u32 status_reads;
};

/* vga.c */
void vga_mark_dirty(struct vga *v, u32 idx, u32 len);
/* The accelerator's dirty log of the framebuffer BAR into dirty and mem_dirty (vga_render.c). */
void vga_lfb_log(struct vga *v);
/* Or mem_dirty into bitmap (a page a bit) and clear it: the device's memory_dirty op. */
int vga_memory_dirty(struct vga *v, unsigned long *bitmap);
void vga_port_write(struct vga *v, u16 port, u8 val);
u8 vga_port_read(struct vga *v, u16 port);
void vga_regs_reset(struct vga *v);
void vga_dac_reset(struct vga *v);

/* vbe.c */
void vbe_fixup(struct vga *v);
void vbe_reset(struct vga *v);
u16 vbe_read(struct vga *v, unsigned index);
void vbe_write(struct vga *v, unsigned index, u16 val);
int vbe_pci_init(struct vga *v, struct pci_host *h, unsigned slot, struct err *err);
void vbe_unmap_all(struct vga *v);

/* vga_render.c */
void vga_render_reset(struct vga *v);

#endif
