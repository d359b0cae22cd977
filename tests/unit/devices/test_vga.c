// SPDX-License-Identifier: MIT
/*
 * The stdvga function (src/devices/vga.c, vga_render.c, vbe.c) driven as a guest drives it:
 * PCI configuration through 0xCF8/0xCFC, the VGA ports, the legacy window, the dispi ports
 * and the BARs on the MMIO bus; the picture read back with vga_update and vga_text.
 * Hostile cases: resolutions, offsets and banks out of range, planar writes across the
 * window's edge, a BAR over another device.
 */
#include "devices/pci.h"
#include "devices/vga.h"
#include "devices/vga_regs.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SLOT	 3
#define LFB_GPA	 0xe0000000ull
#define MMIO_GPA 0xe1000000ull
#define ROM_GPA	 0xe1010000ull
#define ROM_LEN	 5000

struct fake_map {
	u64 gpa, len;
	void *hva;
	unsigned flags;
};

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct vga *vga;
	struct vga_frame frame;
	u8 rom[ROM_LEN];
	/* the fake accelerator behind platform map_ram / dirty_log */
	struct fake_map maps[8];
	unsigned nr_maps;
	unsigned long log[64];
	int log_ret;
};

static struct fixture *the_fixture;

static int fake_map_ram(struct platform *p, u64 gpa, u64 len, void *hva, unsigned flags)
{
	struct fixture *f = the_fixture;

	(void)p;
	if (f->nr_maps < 8)
		f->maps[f->nr_maps] = (struct fake_map){ gpa, len, hva, flags };
	f->nr_maps++;
	return 0;
}

static int fake_dirty_log(struct platform *p, u64 gpa, u64 len, unsigned long *bitmap)
{
	struct fixture *f = the_fixture;

	(void)p, (void)gpa;
	memcpy(bitmap, f->log, (len >> 12) / 8);
	memset(f->log, 0, sizeof(f->log));
	return f->log_ret;
}

static void cfg_write(struct fixture *f, unsigned off, unsigned size, u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | SLOT << 11 | (off & 0xfc));
	bus_write(&f->tp.p.pio, 0xcfc + (off & 3), size, val);
}

static u32 cfg_read(struct fixture *f, unsigned off, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | SLOT << 11 | (off & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (off & 3), size);
}

static void outb(struct fixture *f, u16 port, u8 val)
{
	bus_write(&f->tp.p.pio, port, 1, val);
}

static u8 inb(struct fixture *f, u16 port)
{
	return (u8)bus_read(&f->tp.p.pio, port, 1);
}

static void dispi(struct fixture *f, unsigned index, u16 val)
{
	bus_write(&f->tp.p.pio, VBE_DISPI_IOPORT_INDEX, 2, index);
	bus_write(&f->tp.p.pio, VBE_DISPI_IOPORT_DATA, 2, val);
}

static u16 dispi_get(struct fixture *f, unsigned index)
{
	bus_write(&f->tp.p.pio, VBE_DISPI_IOPORT_INDEX, 2, index);
	return (u16)bus_read(&f->tp.p.pio, VBE_DISPI_IOPORT_DATA, 2);
}

static void memb(struct fixture *f, u64 gpa, u8 val)
{
	bus_write(&f->tp.p.mmio, gpa, 1, val);
}

static u8 memr(struct fixture *f, u64 gpa)
{
	return (u8)bus_read(&f->tp.p.mmio, gpa, 1);
}

static void seq(struct fixture *f, u8 i, u8 v)
{
	outb(f, VGA_SEQ_I, i);
	outb(f, VGA_SEQ_D, v);
}

static void gfx(struct fixture *f, u8 i, u8 v)
{
	outb(f, VGA_GFX_I, i);
	outb(f, VGA_GFX_D, v);
}

static void crt(struct fixture *f, u8 i, u8 v)
{
	outb(f, VGA_CRT_IC, i);
	outb(f, VGA_CRT_DC, v);
}

static void att(struct fixture *f, u8 i, u8 v)
{
	inb(f, VGA_IS1_RC); /* flip-flop to index */
	outb(f, VGA_ATT_W, i);
	outb(f, VGA_ATT_W, v);
}

static void dac(struct fixture *f, u8 i, u8 r, u8 g, u8 b)
{
	outb(f, VGA_PEL_IW, i);
	outb(f, VGA_PEL_D, r);
	outb(f, VGA_PEL_D, g);
	outb(f, VGA_PEL_D, b);
}

static u32 px(struct fixture *f, unsigned x, unsigned y)
{
	return f->frame.pixels[(size_t)y * f->frame.width + x];
}

static void update(struct fixture *f)
{
	assert_int_equal(vga_update(f->vga, &f->frame, false), 0);
}

static bool row_damaged(struct fixture *f, unsigned y)
{
	return f->frame.dmg_x0[y] < f->frame.dmg_x1[y];
}

static int setup_common(void **state, bool with_map)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config hc = { .name = "pci0" };
	struct vga_config vc = { .name = "vga0", .vram_mib = 16, .slot = SLOT };
	struct err err = { 0 };

	assert_non_null(f);
	the_fixture = f;
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	if (with_map) {
		f->tp.p.map_ram = fake_map_ram;
		f->tp.p.dirty_log = fake_dirty_log;
	}
	for (unsigned i = 0; i < ROM_LEN; i++)
		f->rom[i] = (u8)(i * 7);
	f->rom[0] = 0x55;
	f->rom[1] = 0xaa;
	vc.rom = f->rom;
	vc.rom_len = ROM_LEN;
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, &err), 0);
	assert_int_equal(vga_create(&f->tp.p, f->host, &vc, &f->vga, &err), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false);
}

static int setup_map(void **state)
{
	return setup_common(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vga_destroy(f->vga);
	pci_host_destroy(f->host);
	vga_frame_free(&f->frame);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

/* Map BAR0 (framebuffer), BAR2 (MMIO) and the ROM, memory decoding on. */
static void map_bars(struct fixture *f)
{
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, (u32)LFB_GPA);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 8, 4, (u32)MMIO_GPA);
	cfg_write(f, PCI_ROM_ADDRESS, 4, (u32)ROM_GPA | PCI_ROM_ADDRESS_ENABLE);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
}

/* PCI identity, BAR and ROM sizing, the ROM's bytes, the MMIO BAR's registers. */
static void test_pci_function(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 4), 0x11111234);
	assert_int_equal(cfg_read(f, PCI_CLASS_DEVICE, 2), 0x0300);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0, 4), 0xff000008); /* 16 MiB, prefetch */
	cfg_write(f, PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 8, 4), 0xfffff000);
	cfg_write(f, PCI_ROM_ADDRESS, 4, 0xfffffffe);
	assert_int_equal(cfg_read(f, PCI_ROM_ADDRESS, 4), 0xffffe000); /* 8 KiB holds 5000 */
	map_bars(f);
	assert_int_equal(memr(f, ROM_GPA), 0x55);
	assert_int_equal(memr(f, ROM_GPA + 1), 0xaa);
	assert_int_equal(memr(f, ROM_GPA + 4999), (u8)(4999 * 7));
	assert_int_equal(memr(f, ROM_GPA + 8191), 0); /* padding */
	/* The ROM's enable bit off: not decoded any more. */
	cfg_write(f, PCI_ROM_ADDRESS, 4, (u32)ROM_GPA);
	assert_int_equal(memr(f, ROM_GPA), 0xff);
	/* dispi through the MMIO BAR: ID, and the video memory size. */
	assert_int_equal(bus_read(&f->tp.p.mmio, MMIO_GPA + VBE_MMIO_DISPI, 2), VBE_DISPI_ID5);
	assert_int_equal(bus_read(&f->tp.p.mmio,
				  MMIO_GPA + VBE_MMIO_DISPI + 2 * VBE_DISPI_INDEX_VIDEO_MEMORY_64K,
				  2),
			 256);
	assert_int_equal(bus_read(&f->tp.p.mmio, MMIO_GPA + VBE_MMIO_QEXT, 4), VBE_QEXT_SIZE);
	/* The VGA ports in the MMIO BAR are the same registers. */
	bus_write(&f->tp.p.mmio, MMIO_GPA + VBE_MMIO_VGA + (VGA_SEQ_I - VGA_ATT_W), 2, 0x0f02);
	outb(f, VGA_SEQ_I, 2);
	assert_int_equal(inb(f, VGA_SEQ_D), 0x0f);
}

/* An 8-row font: glyph g's row r is g ^ r, so every glyph differs from the next. */
static void make_font(u8 *font, unsigned height)
{
	for (unsigned g = 0; g < 256; g++)
		for (unsigned r = 0; r < height; r++)
			font[g * height + r] = (u8)(g ^ (r * 0x11));
}

/* Mode 3: cells from 0xB8000, glyphs from plane 2, the attribute's colours, the cursor. */
static void test_text_mode(void **state)
{
	struct fixture *f = *state;
	static u8 font[256 * 16];
	struct vga_text t;
	u8 bits;

	make_font(font, 16);
	vga_text_mode_init(f->vga, font, 16);
	memb(f, VGA_LEGACY_GPA + 0x18000, 'H');
	memb(f, VGA_LEGACY_GPA + 0x18001, 0x1e); /* yellow on blue */
	memb(f, VGA_LEGACY_GPA + 0x18000 + 160 * 2 + 4, 'i');
	crt(f, VGA_CR_CURSOR_HI, 0);
	crt(f, VGA_CR_CURSOR_LO, 81); /* row 1, column 1 */
	update(f);
	assert_int_equal(f->frame.width, 720);
	assert_int_equal(f->frame.height, 400);
	assert_true(f->frame.text);
	/* Row 3 of 'H': bit 7 is the leftmost dot. */
	bits = font['H' * 16 + 3];
	for (unsigned x = 0; x < 8; x++)
		assert_int_equal(px(f, x, 3), (bits & (0x80 >> x)) ? 0x55ffffu : 0xaa0000u);
	assert_int_equal(px(f, 8, 3), 0xaa0000u); /* 9th column: background */
	/* The cursor (scan lines 13-14 of mode 3) at row 1 column 1: foreground grey. */
	assert_int_equal(px(f, 9 + 3, 16 + 13), 0xaaaaaau);
	assert_int_equal(vga_text(f->vga, &t), 0);
	assert_int_equal(t.cols, 80);
	assert_int_equal(t.rows, 25);
	assert_int_equal(t.cells[0], 0x1e00 | 'H');
	assert_int_equal(t.cells[2 * 80 + 2] & 0xff, 'i');
	assert_int_equal(t.cursor_row, 1);
	assert_int_equal(t.cursor_col, 1);
	free(t.cells);
	/* Nothing changed: nothing damaged. A cell changes: its glyph's rows only. */
	update(f);
	assert_false(row_damaged(f, 3));
	memb(f, VGA_LEGACY_GPA + 0x18000 + 160 * 24, 'Z');
	update(f);
	assert_false(row_damaged(f, 3));
	assert_true(row_damaged(f, 24 * 16 + 5));
	assert_int_equal(f->frame.dmg_x0[24 * 16 + 5], 0);
	assert_int_equal(f->frame.dmg_x1[24 * 16 + 5], 9);
	/* Graphics mode: no text. */
	gfx(f, VGA_GR_MISC, 0x05);
	assert_int_equal(vga_text(f->vga, &t), -ENOTSUP);
}

/* 640x480x16 registers (mode 12h): planar write modes, read modes, the window's edge. */
static void mode12(struct fixture *f)
{
	static const u8 cr[] = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00,
				 0x40, 0,    0,	   0,	 0,    0,    0,	   0xea, 0x8c,
				 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff };

	outb(f, VGA_MIS_W, 0xe3);
	seq(f, 1, 0x01);
	seq(f, 2, 0x0f);
	seq(f, 4, 0x06);
	crt(f, VGA_CR_VSYNC_END, 0);
	for (unsigned i = 0; i < sizeof(cr); i++)
		crt(f, (u8)i, cr[i]);
	gfx(f, VGA_GR_MODE, 0x00);
	gfx(f, VGA_GR_MISC, 0x05); /* graphics, 64 KiB at 0xA0000 */
	gfx(f, VGA_GR_BIT_MASK, 0xff);
	for (u8 i = 0; i < 16; i++)
		att(f, i, i);
	att(f, VGA_AR_MODE, 0x01);
	att(f, VGA_AR_PLANE_EN, 0x0f);
	inb(f, VGA_IS1_RC);
	outb(f, VGA_ATT_W, VGA_ATT_PAS);
	dac(f, 0, 0, 0, 0);
	dac(f, 5, 63, 0, 63);
	dac(f, 15, 63, 63, 63);
}

static u8 read_plane(struct fixture *f, u64 gpa, u8 plane)
{
	gfx(f, VGA_GR_MODE, 0x00);
	gfx(f, VGA_GR_READ_MAP, plane);
	return memr(f, gpa);
}

static void test_planar_modes(void **state)
{
	struct fixture *f = *state;
	const u64 a = VGA_LEGACY_GPA + 80 * 10 + 2; /* line 10, pixels 16-23 */

	mode12(f);
	update(f);
	/* Write mode 2: colour 5 (planes 0 and 2) where the bit mask allows: pixels 16-19. */
	gfx(f, VGA_GR_MODE, 0x02);
	gfx(f, VGA_GR_BIT_MASK, 0xf0);
	memr(f, a); /* load the latches (zeros) */
	memb(f, a, 5);
	assert_int_equal(read_plane(f, a, 0), 0xf0);
	assert_int_equal(read_plane(f, a, 1), 0x00);
	assert_int_equal(read_plane(f, a, 2), 0xf0);
	update(f);
	assert_int_equal(f->frame.width, 640);
	assert_int_equal(f->frame.height, 480);
	assert_int_equal(px(f, 16, 10), 0xff00ffu);
	assert_int_equal(px(f, 20, 10), 0);
	assert_true(row_damaged(f, 10));
	assert_false(row_damaged(f, 11));
	/* Read mode 1: colour compare 5 over every plane matches pixels 16-19. */
	gfx(f, VGA_GR_COMPARE, 5);
	gfx(f, VGA_GR_DONT_CARE, 0x0f);
	gfx(f, VGA_GR_MODE, 0x08);
	assert_int_equal(memr(f, a), 0xf0);
	/* Write mode 0 with set/reset on every plane and XOR: colour 15 ^ 5 = 10. */
	gfx(f, VGA_GR_MODE, 0x00);
	gfx(f, VGA_GR_BIT_MASK, 0xff);
	gfx(f, VGA_GR_SET_RESET, 0x0f);
	gfx(f, VGA_GR_ENABLE_SR, 0x0f);
	gfx(f, VGA_GR_ROTATE, 0x18);
	memr(f, a);
	memb(f, a, 0);
	assert_int_equal(read_plane(f, a, 1), 0xff);
	assert_int_equal(read_plane(f, a, 0), 0x0f);
	/* Write mode 1 copies the latches: a's bytes to a + 1. */
	gfx(f, VGA_GR_ROTATE, 0);
	gfx(f, VGA_GR_ENABLE_SR, 0);
	gfx(f, VGA_GR_MODE, 0x01);
	memr(f, a);
	memb(f, a + 1, 0x12);
	assert_int_equal(read_plane(f, a + 1, 0), 0x0f);
	assert_int_equal(read_plane(f, a + 1, 1), 0xff);
	/* The 64 KiB window's edge: its last byte is written, the next address reaches nothing. */
	gfx(f, VGA_GR_MODE, 0x00);
	memb(f, VGA_LEGACY_GPA + 0xffff, 0xa5);
	assert_int_equal(read_plane(f, VGA_LEGACY_GPA + 0xffff, 0), 0xa5);
	memb(f, VGA_LEGACY_GPA + 0x10000, 0x5a);
	assert_int_equal(memr(f, VGA_LEGACY_GPA + 0x10000), 0xff);
	/* 128 KiB window: plane offsets wrap at 64 KiB, so 0xB0000 aliases 0xA0000. */
	gfx(f, VGA_GR_MISC, 0x01);
	memb(f, VGA_LEGACY_GPA + 0x10000, 0x3c);
	assert_int_equal(read_plane(f, VGA_LEGACY_GPA, 0), 0x3c);
	memb(f, VGA_LEGACY_GPA + 0x1ffff, 0x77);
	assert_int_equal(read_plane(f, VGA_LEGACY_GPA + 0xffff, 0), 0x77);
}

/* Mode 13h: chain 4, 256 colours from the DAC, 320x200 with two scan lines per row. */
static void test_mode13(void **state)
{
	struct fixture *f = *state;

	mode12(f);
	seq(f, 4, 0x0e); /* chain 4 */
	gfx(f, VGA_GR_MODE, 0x40);
	crt(f, VGA_CR_MAX_SCAN, 0x41);
	crt(f, VGA_CR_VDE, 0x8f);
	crt(f, VGA_CR_OVERFLOW, 0x1f);
	crt(f, VGA_CR_UNDERLINE, 0x40);
	crt(f, VGA_CR_MODE, 0xa3);
	att(f, VGA_AR_MODE, 0x41);
	inb(f, VGA_IS1_RC);
	outb(f, VGA_ATT_W, VGA_ATT_PAS);
	dac(f, 200, 63, 32, 0);
	memb(f, VGA_LEGACY_GPA + 320 * 7 + 5, 200);
	update(f);
	assert_int_equal(f->frame.width, 320);
	assert_int_equal(f->frame.height, 200);
	assert_int_equal(px(f, 5, 7), 0x0082ffu);
	assert_int_equal(px(f, 4, 7), 0);
	assert_int_equal(memr(f, VGA_LEGACY_GPA + 320 * 7 + 5), 200);
}

static void vbe_mode(struct fixture *f, u16 x, u16 y, u16 bpp)
{
	dispi(f, VBE_DISPI_INDEX_ENABLE, 0);
	dispi(f, VBE_DISPI_INDEX_BPP, bpp);
	dispi(f, VBE_DISPI_INDEX_XRES, x);
	dispi(f, VBE_DISPI_INDEX_YRES, y);
	dispi(f, VBE_DISPI_INDEX_VIRT_WIDTH, x);
	dispi(f, VBE_DISPI_INDEX_X_OFFSET, 0);
	dispi(f, VBE_DISPI_INDEX_Y_OFFSET, 0);
	dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
	inb(f, VGA_IS1_RC);
	outb(f, VGA_ATT_W, VGA_ATT_PAS);
}

/* VBE through the framebuffer BAR's bus handler: pixels, damage, banks. */
static void test_vbe(void **state)
{
	struct fixture *f = *state;

	map_bars(f);
	vbe_mode(f, 640, 480, 32);
	update(f);
	assert_int_equal(f->frame.width, 640);
	assert_int_equal(f->frame.height, 480);
	assert_true(f->frame.resized);
	bus_write(&f->tp.p.mmio, LFB_GPA + (100 * 640 + 7) * 4, 4, 0x00123456);
	update(f);
	assert_false(f->frame.resized);
	assert_int_equal(px(f, 7, 100), 0x563412u);
	assert_true(row_damaged(f, 100));
	assert_int_equal(f->frame.dmg_x0[100], 7);
	assert_int_equal(f->frame.dmg_x1[100], 8);
	assert_false(row_damaged(f, 99));
	/* 16 bpp, and the banked window: bank 1 at 0xA0000 is bytes 64 KiB on. */
	vbe_mode(f, 320, 240, 16);
	dispi(f, VBE_DISPI_INDEX_BANK, 1);
	bus_write(&f->tp.p.mmio, VGA_LEGACY_GPA, 2, 0xf800); /* pixel 32768: red */
	update(f);
	assert_int_equal(px(f, 32768 % 320, 32768 / 320), 0x0000ffu);
	assert_int_equal(bus_read(&f->tp.p.mmio, LFB_GPA + 0x10000, 2), 0xf800);
	/* GETCAPS reports the limits. */
	dispi(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
	assert_int_equal(dispi_get(f, VBE_DISPI_INDEX_XRES), VGA_MAX_WIDTH);
	assert_int_equal(dispi_get(f, VBE_DISPI_INDEX_BPP), 32);
}

/* Whatever the guest writes, the picture stays inside video RAM and the limits. */
static void test_vbe_hostile(void **state)
{
	struct fixture *f = *state;
	static const u16 vals[] = { 0, 1, 7, 0x7fff, 0x8000, 0xffff };

	map_bars(f);
	for (size_t a = 0; a < ARRAY_SIZE(vals); a++) {
		for (size_t b = 0; b < ARRAY_SIZE(vals); b++) {
			dispi(f, VBE_DISPI_INDEX_ENABLE, 0);
			dispi(f, VBE_DISPI_INDEX_BPP, b % 2 ? 32 : vals[b]);
			dispi(f, VBE_DISPI_INDEX_XRES, vals[a]);
			dispi(f, VBE_DISPI_INDEX_YRES, vals[b]);
			dispi(f, VBE_DISPI_INDEX_VIRT_WIDTH, vals[(a + b) % ARRAY_SIZE(vals)]);
			dispi(f, VBE_DISPI_INDEX_X_OFFSET, vals[b]);
			dispi(f, VBE_DISPI_INDEX_Y_OFFSET, vals[a]);
			dispi(f, VBE_DISPI_INDEX_ENABLE,
			      VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
			inb(f, VGA_IS1_RC);
			outb(f, VGA_ATT_W, VGA_ATT_PAS);
			assert_int_equal(vga_update(f->vga, &f->frame, true), 0);
			assert_true(f->frame.width >= 1 && f->frame.width <= VGA_MAX_WIDTH);
			assert_true(f->frame.height >= 1 && f->frame.height <= VGA_MAX_HEIGHT);
			/* registers read back as written */
			assert_int_equal(dispi_get(f, VBE_DISPI_INDEX_XRES), vals[a]);
		}
	}
	/* The largest mode, with a virtual width whose lines would not fit: the line shrinks. */
	vbe_mode(f, 2560, 1600, 32);
	dispi(f, VBE_DISPI_INDEX_VIRT_WIDTH, 4096);
	dispi(f, VBE_DISPI_INDEX_Y_OFFSET, 1000);
	bus_write(&f->tp.p.mmio, LFB_GPA + 1638 * 10240 - 4, 4, 0x00abcdef);
	update(f);
	assert_int_equal(f->frame.width, 2560);
	assert_int_equal(f->frame.height, 1600);
	/* the offset stops at the last of the 1638 whole lines video RAM holds */
	assert_int_equal(px(f, 2559, 1599), 0xefcdabu);
	/* Banks past video RAM are masked into it; the window reaches only what exists. */
	dispi(f, VBE_DISPI_INDEX_BANK, 0xffff);
	assert_int_equal(dispi_get(f, VBE_DISPI_INDEX_BANK), 255);
	bus_write(&f->tp.p.mmio, VGA_LEGACY_GPA + 0xffff, 1, 0x99);
	assert_int_equal(bus_read(&f->tp.p.mmio, LFB_GPA + (16u << 20) - 1, 1), 0x99);
	assert_int_equal(memr(f, VGA_LEGACY_GPA + 0x10000), 0xff); /* past the 64 KiB window */
	/* A hostile VGA CRTC: every register at its maximum. */
	dispi(f, VBE_DISPI_INDEX_ENABLE, 0);
	crt(f, VGA_CR_VSYNC_END, 0);
	for (u8 i = 0; i < VGA_CR_COUNT; i++)
		crt(f, i, 0xff);
	for (u8 mode = 0; mode < 4; mode++) {
		gfx(f, VGA_GR_MISC, mode & 1);
		gfx(f, VGA_GR_MODE, (u8)(mode << 5));
		assert_int_equal(vga_update(f->vga, &f->frame, true), 0);
	}
	/* A framebuffer BAR over the MMIO BAR: refused, the MMIO registers stay. */
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, (u32)(MMIO_GPA & 0xff000000u));
	assert_int_equal(bus_read(&f->tp.p.mmio, MMIO_GPA + VBE_MMIO_DISPI, 2), VBE_DISPI_ID5);
}

/* The framebuffer as guest RAM: mapped with dirty logging, the log drives the redraw. */
static void test_lfb_mapped(void **state)
{
	struct fixture *f = *state;
	u8 *fb;

	map_bars(f);
	assert_int_equal(f->nr_maps, 1);
	assert_int_equal(f->maps[0].gpa, LFB_GPA);
	assert_int_equal(f->maps[0].len, 16u << 20);
	assert_int_equal(f->maps[0].flags, PLATFORM_MEM_LOG_DIRTY);
	fb = f->maps[0].hva;
	vbe_mode(f, 1024, 768, 32);
	update(f);
	update(f);
	/* A store the bus never saw: only the accelerator's log tells. */
	fb[(300 * 1024 + 10) * 4] = 0x40;
	update(f);
	assert_int_equal(px(f, 10, 300), 0); /* not logged: not redrawn */
	f->log[(300 * 1024 * 4) >> 12 >> 6] |= 1ul << (((300 * 1024 * 4) >> 12) & 63);
	update(f);
	assert_int_equal(px(f, 10, 300), 0x400000);
	assert_true(row_damaged(f, 300));
	/* A failed log redraws everything. */
	fb[(500 * 1024 + 3) * 4 + 1] = 0x80;
	f->log_ret = -EIO;
	update(f);
	assert_int_equal(px(f, 3, 500), 0x8000);
	/* Moving the BAR unmaps the old mapping first. */
	cfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xd0000000u);
	assert_int_equal(f->nr_maps, 3);
	assert_int_equal(f->maps[1].gpa, LFB_GPA);
	assert_int_equal(f->maps[1].len, 0);
	assert_int_equal(f->maps[2].gpa, 0xd0000000u);
	/* A reset unmaps it and leaves a blank screen. */
	vga_device_ops.reset(f->vga);
	assert_int_equal(f->nr_maps, 4);
	assert_int_equal(f->maps[3].len, 0);
	update(f);
	assert_false(f->frame.text);
	assert_int_equal(px(f, 10, 300), 0);
}

static bool page_bit(const unsigned long *map, unsigned page)
{
	return map[page / 64] >> (page % 64) & 1;
}

static unsigned bits_set(const unsigned long *map, unsigned longs)
{
	unsigned n = 0;

	for (unsigned i = 0; i < longs; i++)
		n += (unsigned)__builtin_popcountl(map[i]);
	return n;
}

/*
 * Video RAM as memory for snapshots and migration (device_ops.memory, memory_dirty): the
 * record holds the card's own writes and the guest's stores the accelerator logged, also when
 * the display read the log first, and is cleared by reading it.
 */
static void test_memory_dirty(void **state)
{
	struct fixture *f = *state;
	unsigned long map[64];
	u64 len = 0;

	map_bars(f);
	assert_ptr_equal(vga_device_ops.memory(f->vga, &len), f->maps[0].hva);
	assert_int_equal(len, 16u << 20);
	vbe_mode(f, 1024, 768, 32);
	memset(map, 0, sizeof(map));
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_true(bits_set(map, 64) > 0); /* the mode set cleared the screen */
	memset(map, 0, sizeof(map));
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_int_equal(bits_set(map, 64), 0);
	/* Through the bus (the BAR's handler), and a store only the accelerator's log saw. */
	bus_write(&f->tp.p.mmio, LFB_GPA + 5 * 4096 + 8, 4, 0x12345678);
	f->log[300 / 64] |= 1ul << (300 % 64);
	update(f); /* the display reads the log first: the record keeps page 300 */
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_true(page_bit(map, 5));
	assert_true(page_bit(map, 300));
	assert_int_equal(bits_set(map, 64), 2);
	/* Or'ed into the caller's bitmap, and forgotten. */
	f->log[7 / 64] |= 1ul << 7;
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_int_equal(bits_set(map, 64), 3);
	memset(map, 0, sizeof(map));
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_int_equal(bits_set(map, 64), 0);
	/* A log that cannot be read: all of it. */
	f->log_ret = -EIO;
	assert_int_equal(vga_device_ops.memory_dirty(f->vga, map), 0);
	assert_int_equal(bits_set(map, 64), 64 * 64);
}

/* The font of a VGA BIOS image is found among other bytes. */
static void test_font_find(void **state)
{
	static u8 rom[20000];
	u8 *font = rom + 7777;

	(void)state;
	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = (u8)(i * 13 + 1);
	assert_null(vga_font_find(rom, sizeof(rom)));
	memset(font, 0, 4096);
	for (unsigned r = 0; r < 16; r++) {
		font[0xdb * 16 + r] = 0xff;
		font[0xb0 * 16 + r] = r & 1 ? 0x44 : 0x11;
		font['A' * 16 + r] = (u8)(r >= 2 && r < 14 ? 0x66 : 0);
	}
	assert_ptr_equal(vga_font_find(rom, sizeof(rom)), font);
	assert_null(vga_font_find(rom, 4095));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_function, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planar_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode13, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vbe_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lfb_mapped, setup_map, teardown),
		cmocka_unit_test_setup_teardown(test_memory_dirty, setup_map, teardown),
		cmocka_unit_test(test_font_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
