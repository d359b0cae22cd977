// SPDX-License-Identifier: MIT
/*
 * The VGA's picture (vga.h vga_update, vga_text), derived from the registers as the CRT
 * controller, sequencer, graphics and attribute controllers and the DAC would scan it out
 * (IBM VGA Technical Reference):
 *   - blank: the attribute index's palette address source bit clear, or the sequencer's
 *     screen-off bit; black, at the last size;
 *   - text: CR1 + 1 columns of 8 or 9 dots (SR1 bit 0), rows of CR9 + 1 scan lines, the
 *     vertical display end from CR12/CR7, double scan; cells from planes 0 (character) and
 *     1 (attribute) at the CRTC's addresses (start CRC/CRD, offset CR13, byte / word /
 *     double-word addressing), glyphs from plane 2 in the character maps SR3 selects by
 *     attribute bit 3, the 9th column of line-drawing characters, the cursor (CRA/CRB/
 *     CRE/CRF) drawn steadily: blinking is not shown, so a picture does not depend on when it
 *     was taken;
 *   - graphics: 16 colours from 4 planes (8 pixels per address), CGA 4-colour interleaved
 *     shift (GR5 bit 5), 256 colours (GR5 bit 6, 4 pixels per address); CR17's row-scan
 *     substitution of address bits 13 and 14 (CGA's odd lines); colours through the
 *     attribute palette (colour plane enable, P5-4 select, colour select) and the DAC;
 *   - Bochs VBE: the clamped dispi geometry (vbe.c) in 8 (DAC), 15, 16, 24 or 32 bits.
 * What changed: text cells against a shadow copy; graphics lines whose bytes lie in a page
 * written through the bus or logged dirty by the accelerator (the framebuffer BAR mapped as
 * guest RAM). Every changed line is drawn into a scratch row and compared with the frame, so
 * the damage is what really differs.
 */
#include "devices/vga_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VGA_BPL (8 * sizeof(unsigned long))

struct vga_mode {
	enum vga_kind kind;
	unsigned width, height;
	/* text */
	unsigned cols, rows, cw, ch;
	/* VGA addressing */
	u32 start, stride, size; /* in bytes: start address, bytes per row, bytes per clock */
	unsigned lines_per_row;
	bool cga_scan;
};

/* A frame pixel: the bytes R, G, B, 0 in memory (vga.h). */
#define VGA_RGB(r, g, b) ((u32)(r) | (u32)(g) << 8 | (u32)(b) << 16)

/* A 6-bit DAC value to 8 bits: the top bits repeated below. */
static u32 vga_dac6(u8 c)
{
	return (u32)((c & 0x3f) << 2 | (c & 0x3f) >> 4);
}

static u32 vga_dac_rgb(const struct vga *v, u8 index)
{
	const u8 *c = &v->dac[(index & v->dac_mask) * 3];

	if (v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC)
		return VGA_RGB(c[0], c[1], c[2]);
	return VGA_RGB(vga_dac6(c[0]), vga_dac6(c[1]), vga_dac6(c[2]));
}

/* Palette index (0-15) through the attribute controller to a colour. */
static u32 vga_attr_rgb(const struct vga *v, unsigned c)
{
	u8 pal, idx;

	c &= v->ar[VGA_AR_PLANE_EN] & 0xf;
	pal = v->ar[c] & 0x3f;
	if (v->ar[VGA_AR_MODE] & VGA_AR10_P54S)
		idx = (u8)((pal & 0x0f) | ((v->ar[VGA_AR_COLOR_SEL] & 0x0f) << 4));
	else
		idx = (u8)(pal | ((v->ar[VGA_AR_COLOR_SEL] & 0x0c) << 4));
	return vga_dac_rgb(v, idx);
}

static void vga_palette_update(struct vga *v, enum vga_kind kind)
{
	for (unsigned i = 0; i < 256; i++)
		v->palette[i] = (kind == VGA_KIND_256 || kind == VGA_KIND_VBE) ?
					vga_dac_rgb(v, (u8)i) :
					vga_attr_rgb(v, i & 0xf);
}

static void vga_mode_get(const struct vga *v, struct vga_mode *m)
{
	unsigned vde, lines, clocks;

	memset(m, 0, sizeof(*m));
	if (!(v->ar_index & VGA_ATT_PAS) || (v->sr[VGA_SR_CLOCK] & VGA_SR1_SCREEN_OFF)) {
		m->kind = VGA_KIND_BLANK;
		return;
	}
	if (v->geom.on) {
		m->kind = VGA_KIND_VBE;
		m->width = v->geom.xres;
		m->height = v->geom.yres;
		return;
	}
	vde = v->cr[VGA_CR_VDE] | ((v->cr[VGA_CR_OVERFLOW] & 0x02) << 7) |
	      ((v->cr[VGA_CR_OVERFLOW] & 0x40) << 3);
	lines = vde + 1;
	if (v->cr[VGA_CR_MAX_SCAN] & 0x80)
		lines /= 2;
	clocks = v->cr[VGA_CR_HDE] + 1u;
	m->lines_per_row = (v->cr[VGA_CR_MAX_SCAN] & 0x1f) + 1u;
	m->size = (v->cr[VGA_CR_UNDERLINE] & 0x40) ? 4 : (v->cr[VGA_CR_MODE] & 0x40) ? 1 : 2;
	m->start = ((u32)v->cr[VGA_CR_START_HI] << 8 | v->cr[VGA_CR_START_LO]) * m->size;
	m->stride = v->cr[VGA_CR_OFFSET] * 2u * m->size;
	if (!(v->gr[VGA_GR_MISC] & VGA_GR6_GRAPHICS)) {
		m->kind = VGA_KIND_TEXT;
		m->cw = (v->sr[VGA_SR_CLOCK] & VGA_SR1_8DOT) ? 8 : 9;
		m->ch = m->lines_per_row;
		m->cols = clocks;
		m->rows = lines / m->ch;
		m->width = m->cols * m->cw;
		m->height = m->rows * m->ch;
	} else {
		m->kind = (v->gr[VGA_GR_MODE] & VGA_GR5_256) ? VGA_KIND_256 :
			  (v->gr[VGA_GR_MODE] & VGA_GR5_CGA) ? VGA_KIND_CGA :
							       VGA_KIND_PLANAR;
		m->width = clocks * (m->kind == VGA_KIND_256 ? 4 : 8);
		m->cga_scan = (v->cr[VGA_CR_MODE] & 3) != 3;
		m->height = m->cga_scan ? lines : lines / m->lines_per_row;
	}
	if (m->width > VGA_MAX_WIDTH || m->height > VGA_MAX_HEIGHT || !m->width || !m->height)
		m->kind = VGA_KIND_BLANK; /* nothing a monitor would sync to */
}

/* ------------------------------------------------------------------ frame */

void vga_frame_free(struct vga_frame *f)
{
	free(f->pixels);
	free(f->dmg_x0);
	free(f->dmg_x1);
	memset(f, 0, sizeof(*f));
}

static int vga_frame_size(struct vga *v, struct vga_frame *f, unsigned w, unsigned h)
{
	size_t need = (size_t)w * h;

	if (need > f->cap) {
		u32 *p = realloc(f->pixels, need * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->pixels = p;
		f->cap = need;
	}
	if (h > f->rcap) {
		u16 *a = realloc(f->dmg_x0, h * sizeof(*a)), *b;

		if (!a)
			return -ENOMEM;
		f->dmg_x0 = a;
		b = realloc(f->dmg_x1, h * sizeof(*b));
		if (!b)
			return -ENOMEM;
		f->dmg_x1 = b;
		f->rcap = h;
	}
	if (!v->row) {
		v->row = malloc(VGA_MAX_WIDTH * sizeof(*v->row));
		if (!v->row)
			return -ENOMEM;
	}
	if (f->width != w || f->height != h) {
		f->width = w;
		f->height = h;
		f->resized = true;
		memset(f->pixels, 0, need * sizeof(*f->pixels));
	}
	return 0;
}

/* Put the scratch row into line y, damaging the columns that differ. */
static void vga_frame_row(struct vga_frame *f, unsigned y, const u32 *row)
{
	u32 *dst = f->pixels + (size_t)y * f->width;
	unsigned x0 = 0, x1 = f->width;

	while (x0 < x1 && dst[x0] == row[x0])
		x0++;
	while (x1 > x0 && dst[x1 - 1] == row[x1 - 1])
		x1--;
	if (x0 >= x1)
		return;
	memcpy(dst + x0, row + x0, (x1 - x0) * sizeof(*row));
	f->dmg_x0[y] = (u16)MIN(f->dmg_x0[y], x0);
	f->dmg_x1[y] = (u16)MAX(f->dmg_x1[y], x1);
}

/* ------------------------------------------------------------------ dirty pages */

static bool vga_scan_range(const struct vga *v, u32 idx, u32 len)
{
	if (!len)
		return false;
	if (idx >= v->vram_size)
		return false;
	len = MIN(len, v->vram_size - idx);
	for (u32 p = idx >> VGA_PAGE_SHIFT; p <= (idx + len - 1) >> VGA_PAGE_SHIFT; p++)
		if (v->scan[p / VGA_BPL] & (1ul << (p % VGA_BPL)))
			return true;
	return false;
}

/* Gather the pages written since the last update: through the bus, and the accelerator's log. */
static int vga_scan_collect(struct vga *v)
{
	size_t longs = (v->vram_size >> VGA_PAGE_SHIFT) / VGA_BPL;

	if (!v->scan) {
		v->scan = calloc(longs, sizeof(*v->scan));
		if (!v->scan)
			return -ENOMEM;
	}
	vga_lfb_log(v);
	memcpy(v->scan, v->dirty, longs * sizeof(*v->scan));
	memset(v->dirty, 0, longs * sizeof(*v->dirty));
	return 0;
}

/*
 * The accelerator's log of the guest's stores to the framebuffer BAR (mapped as RAM) into both
 * of the device's records: what the display must redraw and what a migration must send. The
 * log has one reader, this.
 */
void vga_lfb_log(struct vga *v)
{
	size_t longs = (v->vram_size >> VGA_PAGE_SHIFT) / VGA_BPL;
	unsigned long *log;

	if (!v->lfb_ram)
		return;
	log = calloc(longs, sizeof(*log));
	if (!log || v->p->dirty_log(v->p, v->lfb_gpa, v->vram_size, log) < 0) {
		/* cannot tell: all of it */
		memset(v->dirty, 0xff, longs * sizeof(*v->dirty));
		memset(v->mem_dirty, 0xff, longs * sizeof(*v->mem_dirty));
	} else {
		for (size_t i = 0; i < longs; i++) {
			v->dirty[i] |= log[i];
			v->mem_dirty[i] |= log[i];
		}
	}
	free(log);
}

int vga_memory_dirty(struct vga *v, unsigned long *bitmap)
{
	size_t longs = (v->vram_size >> VGA_PAGE_SHIFT) / VGA_BPL;

	vga_lfb_log(v);
	for (size_t i = 0; i < longs; i++) {
		bitmap[i] |= v->mem_dirty[i];
		v->mem_dirty[i] = 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ text */

static u32 vga_font_offset(unsigned map)
{
	return (map & 3) * 0x4000 + (map >> 2) * 0x2000;
}

static void vga_text_glyph_row(const struct vga *v, const struct vga_mode *m, u8 c, u8 a,
			       unsigned line, bool cursor, u32 *out)
{
	u8 sr3 = v->sr[VGA_SR_CHAR_MAP];
	unsigned map = (a & 0x08) ? ((sr3 >> 5) & 1) << 2 | ((sr3 >> 2) & 3) :
				    ((sr3 >> 4) & 1) << 2 | (sr3 & 3);
	u8 bits = v->vram[VGA_PLANE_IDX(vga_font_offset(map) + c * 32u + line, 2)];
	u32 fg = v->palette[a & 0xf], bg = v->palette[(a >> 4) & 0xf];
	bool ninth;

	if (v->ar[VGA_AR_MODE] & 0x08) /* blink enable: bit 7 blinks instead of brightening */
		bg = v->palette[(a >> 4) & 0x7];
	if (cursor)
		bits = 0xff;
	for (unsigned x = 0; x < 8; x++)
		out[x] = (bits & (0x80 >> x)) ? fg : bg;
	if (m->cw == 9) {
		ninth = (v->ar[VGA_AR_MODE] & VGA_AR10_LINE_GFX) && c >= 0xc0 && c <= 0xdf;
		out[8] = (ninth && (bits & 1)) ? fg : bg;
	}
}

/* The cursor's cell (row * cols + col), or -1. */
static int vga_cursor_cell(const struct vga *v, const struct vga_mode *m)
{
	u32 pos = ((u32)v->cr[VGA_CR_CURSOR_HI] << 8 | v->cr[VGA_CR_CURSOR_LO]) * m->size, d;
	unsigned row, col, per_row = m->stride / m->size;

	if ((v->cr[VGA_CR_CURSOR_START] & 0x20) || pos < m->start || !per_row)
		return -1;
	if ((v->cr[VGA_CR_CURSOR_START] & 0x1f) > (v->cr[VGA_CR_CURSOR_END] & 0x1f))
		return -1;
	d = (pos - m->start) / m->size;
	row = d / per_row;
	col = d % per_row;
	if (row >= m->rows || col >= m->cols)
		return -1;
	return (int)(row * m->cols + col);
}

static u16 vga_cell(const struct vga *v, const struct vga_mode *m, unsigned r, unsigned c)
{
	u32 a = (m->start + r * m->stride + c * m->size) & (VGA_PLANE_SIZE - 1);

	return (u16)(v->vram[VGA_PLANE_IDX(a, 0)] | v->vram[VGA_PLANE_IDX(a, 1)] << 8);
}

static int vga_draw_text(struct vga *v, const struct vga_mode *m, struct vga_frame *f, bool full)
{
	size_t cells = (size_t)m->cols * m->rows;
	int cursor = vga_cursor_cell(v, m);

	if (cells > v->text_shadow_cap) {
		u16 *s = realloc(v->text_shadow, cells * sizeof(*s));

		if (!s)
			return -ENOMEM;
		v->text_shadow = s;
		v->text_shadow_cap = cells;
		full = true;
	}
	full |= v->seen_font_gen != v->font_gen;
	for (unsigned r = 0; r < m->rows; r++) {
		for (unsigned c = 0; c < m->cols; c++) {
			unsigned i = r * m->cols + c;
			u16 cell = vga_cell(v, m, r, c);
			bool is_cursor = (int)i == cursor, was_cursor = (int)i == v->seen_cursor;

			if (!full && cell == v->text_shadow[i] && is_cursor == was_cursor)
				continue;
			v->text_shadow[i] = cell;
			for (unsigned line = 0; line < m->ch; line++) {
				unsigned y = r * m->ch + line;
				bool cur = is_cursor &&
					   line >= (v->cr[VGA_CR_CURSOR_START] & 0x1fu) &&
					   line <= (v->cr[VGA_CR_CURSOR_END] & 0x1fu);
				u32 *dst = f->pixels + (size_t)y * f->width + c * m->cw;
				u32 px[9];

				vga_text_glyph_row(v, m, (u8)cell, (u8)(cell >> 8), line, cur, px);
				if (memcmp(dst, px, m->cw * sizeof(u32))) {
					memcpy(dst, px, m->cw * sizeof(u32));
					f->dmg_x0[y] = (u16)MIN(f->dmg_x0[y], c * m->cw);
					f->dmg_x1[y] = (u16)MAX(f->dmg_x1[y], (c + 1) * m->cw);
				}
			}
		}
	}
	v->seen_cursor = cursor;
	v->seen_font_gen = v->font_gen;
	return 0;
}

/* ------------------------------------------------------------------ graphics */

/* The plane offset of output line y's first byte. */
static u32 vga_line_addr(const struct vga_mode *m, const struct vga *v, unsigned y)
{
	unsigned row = m->cga_scan ? y / m->lines_per_row : y, scan = y % m->lines_per_row;
	u32 a = m->start + row * m->stride;

	if (m->cga_scan && !(v->cr[VGA_CR_MODE] & 1))
		a = (a & ~0x2000u) | ((scan & 1) << 13);
	if (m->cga_scan && !(v->cr[VGA_CR_MODE] & 2))
		a = (a & ~0x4000u) | (((scan >> 1) & 1) << 14);
	return a;
}

static void vga_draw_vga_line(struct vga *v, const struct vga_mode *m, u32 a, u32 *out)
{
	unsigned clocks = m->width / (m->kind == VGA_KIND_256 ? 4 : 8);

	for (unsigned k = 0; k < clocks; k++) {
		u32 o = (a + k * m->size) & (VGA_PLANE_SIZE - 1);
		const u8 *q = &v->vram[VGA_PLANE_IDX(o, 0)];

		if (m->kind == VGA_KIND_256) {
			for (unsigned p = 0; p < 4; p++)
				*out++ = v->palette[q[p]];
		} else if (m->kind == VGA_KIND_CGA) {
			for (unsigned x = 0; x < 8; x++) {
				u8 b = q[x >> 2];

				*out++ = v->palette[(b >> (6 - 2 * (x & 3))) & 3];
			}
		} else {
			for (unsigned x = 0; x < 8; x++) {
				unsigned bit = 7 - x,
					 c = ((q[0] >> bit) & 1) | ((q[1] >> bit) & 1) << 1 |
					     ((q[2] >> bit) & 1) << 2 | ((q[3] >> bit) & 1) << 3;

				*out++ = v->palette[c];
			}
		}
	}
}

static void vga_draw_vbe_line(struct vga *v, u32 off, unsigned w, u32 *out)
{
	const u8 *p = v->vram + off;

	switch (v->geom.bpp) {
	case 8:
		for (unsigned x = 0; x < w; x++)
			out[x] = v->palette[p[x]];
		break;
	case 15:
		for (unsigned x = 0; x < w; x++) {
			u16 c = (u16)(p[2 * x] | p[2 * x + 1] << 8);
			u32 r = (c >> 10) & 31, g = (c >> 5) & 31, b = c & 31;

			out[x] = VGA_RGB(r << 3 | r >> 2, g << 3 | g >> 2, b << 3 | b >> 2);
		}
		break;
	case 16:
		for (unsigned x = 0; x < w; x++) {
			u16 c = (u16)(p[2 * x] | p[2 * x + 1] << 8);
			u32 r = (c >> 11) & 31, g = (c >> 5) & 63, b = c & 31;

			out[x] = VGA_RGB(r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2);
		}
		break;
	case 24:
		for (unsigned x = 0; x < w; x++)
			out[x] = VGA_RGB(p[3 * x + 2], p[3 * x + 1], p[3 * x]);
		break;
	default:
		for (unsigned x = 0; x < w; x++)
			out[x] = VGA_RGB(p[4 * x + 2], p[4 * x + 1], p[4 * x]);
		break;
	}
}

static void vga_draw_graphics(struct vga *v, const struct vga_mode *m, struct vga_frame *f,
			      bool full)
{
	for (unsigned y = 0; y < m->height; y++) {
		if (m->kind == VGA_KIND_VBE) {
			u32 off = v->geom.start + y * v->geom.line;

			if (!full && !vga_scan_range(v, off, m->width * v->geom.bytespp))
				continue;
			vga_draw_vbe_line(v, off, m->width, v->row);
		} else {
			u32 a = vga_line_addr(m, v, y);
			unsigned clocks = m->width / (m->kind == VGA_KIND_256 ? 4 : 8);
			u32 span = clocks * m->size;

			/* a line wrapping at 64 KiB is drawn whole */
			if (!full && a + span <= VGA_PLANE_SIZE &&
			    !vga_scan_range(v, VGA_PLANE_IDX(a, 0), span * 4))
				continue;
			vga_draw_vga_line(v, m, a, v->row);
		}
		vga_frame_row(f, y, v->row);
	}
}

/* ------------------------------------------------------------------ update */

void vga_render_reset(struct vga *v)
{
	v->seen_gen = v->gen - 1; /* different: the next update redraws */
	v->seen_kind = VGA_KIND_BLANK;
	v->seen_cursor = -1;
}

int vga_update(struct vga *v, struct vga_frame *f, bool full)
{
	struct vga_mode m;
	int ret;

	vga_mode_get(v, &m);
	if (m.kind == VGA_KIND_BLANK) {
		m.width = f->width ? f->width : 640;
		m.height = f->height ? f->height : 480;
	}
	f->resized = false;
	ret = vga_frame_size(v, f, m.width, m.height);
	if (ret < 0)
		return ret;
	ret = vga_scan_collect(v);
	if (ret < 0)
		return ret;
	for (unsigned y = 0; y < f->height; y++) {
		f->dmg_x0[y] = (u16)f->width;
		f->dmg_x1[y] = 0;
	}
	if (f->resized || v->seen_gen != v->gen || v->seen_kind != m.kind)
		full = true;
	if (full)
		vga_palette_update(v, m.kind);
	v->seen_gen = v->gen;
	v->seen_kind = m.kind;
	f->text = m.kind == VGA_KIND_TEXT;
	switch (m.kind) {
	case VGA_KIND_BLANK:
		if (full)
			for (unsigned y = 0; y < f->height; y++) {
				memset(v->row, 0, f->width * sizeof(*v->row));
				vga_frame_row(f, y, v->row);
			}
		break;
	case VGA_KIND_TEXT:
		ret = vga_draw_text(v, &m, f, full);
		break;
	default:
		vga_draw_graphics(v, &m, f, full);
		break;
	}
	if (f->resized)
		for (unsigned y = 0; y < f->height; y++) {
			f->dmg_x0[y] = 0;
			f->dmg_x1[y] = (u16)f->width;
		}
	return ret;
}

int vga_text(struct vga *v, struct vga_text *t)
{
	struct vga_mode m;

	memset(t, 0, sizeof(*t));
	vga_mode_get(v, &m);
	if (m.kind != VGA_KIND_TEXT)
		return -ENOTSUP;
	t->cells = malloc((size_t)m.cols * m.rows * sizeof(*t->cells));
	if (!t->cells)
		return -ENOMEM;
	t->cols = m.cols;
	t->rows = m.rows;
	for (unsigned r = 0; r < m.rows; r++)
		for (unsigned c = 0; c < m.cols; c++)
			t->cells[r * m.cols + c] = vga_cell(v, &m, r, c);
	t->cursor_col = t->cursor_row = -1;
	{
		int cell = vga_cursor_cell(v, &m);

		if (cell >= 0) {
			t->cursor_row = cell / (int)m.cols;
			t->cursor_col = cell % (int)m.cols;
		}
	}
	return 0;
}
