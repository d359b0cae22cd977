/* SPDX-License-Identifier: MIT */
/*
 * VGA register names (IBM VGA Technical Reference; the same layout in every VGA-compatible
 * adapter's datasheet) and the Bochs VBE "dispi" interface (Bochs vbe.h, as QEMU's
 * docs/specs/standard-vga.rst and Linux drivers/gpu/drm/tiny/bochs.c use it).
 */
#ifndef DEVICES_VGA_REGS_H
#define DEVICES_VGA_REGS_H

/* I/O ports, as offsets from VGA_PORT_BASE (0x3B0). */
#define VGA_PORT_BASE 0x3b0
#define VGA_PORT_LEN  0x30
#define VGA_CRT_IM    0x3b4 /* CRTC index, mono (misc bit 0 = 0) */
#define VGA_CRT_DM    0x3b5
#define VGA_IS1_RM    0x3ba /* input status 1 / feature control write, mono */
#define VGA_ATT_W     0x3c0 /* attribute index and data (flip-flop) */
#define VGA_ATT_R     0x3c1
#define VGA_MIS_W     0x3c2 /* misc output write; input status 0 read */
#define VGA_SEQ_I     0x3c4
#define VGA_SEQ_D     0x3c5
#define VGA_PEL_MSK   0x3c6
#define VGA_PEL_IR    0x3c7 /* DAC read index write; DAC state read */
#define VGA_PEL_IW    0x3c8
#define VGA_PEL_D     0x3c9
#define VGA_FTC_R     0x3ca /* feature control read */
#define VGA_MIS_R     0x3cc
#define VGA_GFX_I     0x3ce
#define VGA_GFX_D     0x3cf
#define VGA_CRT_IC    0x3d4 /* CRTC index, colour */
#define VGA_CRT_DC    0x3d5
#define VGA_IS1_RC    0x3da

#define VGA_MIS_COLOR 0x01 /* CRTC at 0x3Dx */
#define VGA_IS1_DE    0x01 /* display disabled (blanking) */
#define VGA_IS1_VR    0x08 /* vertical retrace */
#define VGA_ATT_PAS   0x20 /* attribute index bit 5: the palette drives the screen */

/* Sequencer */
#define VGA_SR_COUNT	     5
#define VGA_SR_CLOCK	     1 /* bit 0: 8-dot characters; bit 5: screen off */
#define VGA_SR_MAP_MASK	     2
#define VGA_SR_CHAR_MAP	     3
#define VGA_SR_MEM_MODE	     4 /* bit 2: odd/even off; bit 3: chain 4 */
#define VGA_SR1_8DOT	     0x01
#define VGA_SR1_SCREEN_OFF   0x20
#define VGA_SR4_ODD_EVEN_OFF 0x04
#define VGA_SR4_CHAIN4	     0x08

/* Graphics controller */
#define VGA_GR_COUNT	  9
#define VGA_GR_SET_RESET  0
#define VGA_GR_ENABLE_SR  1
#define VGA_GR_COMPARE	  2
#define VGA_GR_ROTATE	  3 /* bits 0-2 rotate count, 3-4 logical operation */
#define VGA_GR_READ_MAP	  4
#define VGA_GR_MODE	  5 /* 0-1 write mode, 3 read mode, 4 host odd/even, 5-6 shift */
#define VGA_GR_MISC	  6 /* 0 graphics, 2-3 memory map */
#define VGA_GR_DONT_CARE  7
#define VGA_GR_BIT_MASK	  8
#define VGA_GR5_READ_MODE 0x08
#define VGA_GR5_ODD_EVEN  0x10
#define VGA_GR5_CGA	  0x20
#define VGA_GR5_256	  0x40
#define VGA_GR6_GRAPHICS  0x01

/* CRT controller */
#define VGA_CR_COUNT	    0x19
#define VGA_CR_HDE	    0x01 /* horizontal display end: character clocks - 1 */
#define VGA_CR_OVERFLOW	    0x07
#define VGA_CR_MAX_SCAN	    0x09 /* 0-4 scan lines per row - 1, 6 line compare 9, 7 double scan */
#define VGA_CR_CURSOR_START 0x0a
#define VGA_CR_CURSOR_END   0x0b
#define VGA_CR_START_HI	    0x0c
#define VGA_CR_START_LO	    0x0d
#define VGA_CR_CURSOR_HI    0x0e
#define VGA_CR_CURSOR_LO    0x0f
#define VGA_CR_VSYNC_END    0x11 /* bit 7 protects CR0-CR7 */
#define VGA_CR_VDE	    0x12
#define VGA_CR_OFFSET	    0x13
#define VGA_CR_UNDERLINE    0x14 /* bit 6: double-word addressing */
#define VGA_CR_MODE	    0x17 /* 0 MA13 from row scan, 1 MA14 from row scan, 6 byte mode */
#define VGA_CR_LINE_COMPARE 0x18

/* Attribute controller */
#define VGA_AR_COUNT	  0x15
#define VGA_AR_MODE	  0x10 /* 0 graphics, 2 line graphics, 3 blink, 6 8-bit, 7 P5-4 select */
#define VGA_AR_OVERSCAN	  0x11
#define VGA_AR_PLANE_EN	  0x12
#define VGA_AR_PAN	  0x13
#define VGA_AR_COLOR_SEL  0x14
#define VGA_AR10_GRAPHICS 0x01
#define VGA_AR10_LINE_GFX 0x04
#define VGA_AR10_8BIT	  0x40
#define VGA_AR10_P54S	  0x80

/* Bochs VBE (dispi) */
#define VBE_DISPI_IOPORT_INDEX		 0x1ce
#define VBE_DISPI_IOPORT_DATA		 0x1cf
#define VBE_DISPI_INDEX_ID		 0x0
#define VBE_DISPI_INDEX_XRES		 0x1
#define VBE_DISPI_INDEX_YRES		 0x2
#define VBE_DISPI_INDEX_BPP		 0x3
#define VBE_DISPI_INDEX_ENABLE		 0x4
#define VBE_DISPI_INDEX_BANK		 0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH	 0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT	 0x7
#define VBE_DISPI_INDEX_X_OFFSET	 0x8
#define VBE_DISPI_INDEX_Y_OFFSET	 0x9
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_DISPI_INDEX_NB		 0xb
#define VBE_DISPI_ID0			 0xb0c0
#define VBE_DISPI_ID5			 0xb0c5
#define VBE_DISPI_ENABLED		 0x01
#define VBE_DISPI_GETCAPS		 0x02
#define VBE_DISPI_8BIT_DAC		 0x20
#define VBE_DISPI_LFB_ENABLED		 0x40
#define VBE_DISPI_NOCLEARMEM		 0x80

/* The stdvga PCI function's MMIO BAR (QEMU docs/specs/standard-vga.rst). */
#define VBE_MMIO_SIZE	       0x1000
#define VBE_MMIO_EDID	       0x000 /* 1 KiB, read-only */
#define VBE_MMIO_VGA	       0x400 /* ports 0x3C0-0x3DF */
#define VBE_MMIO_DISPI	       0x500 /* dispi register i at 0x500 + 2 * i */
#define VBE_MMIO_QEXT	       0x600 /* u32 size, u32 framebuffer byte order */
#define VBE_QEXT_SIZE	       8
#define VBE_QEXT_LITTLE_ENDIAN 0x1e1e1e1eu
#define VBE_QEXT_BIG_ENDIAN    0xbebebebeu

#endif
