// SPDX-License-Identifier: MIT
/*
 * A frame (devices/vga.h: bytes R, G, B, 0 per pixel) as a PNG image through libpng: 8-bit
 * RGB, no interlace, written to memory. libpng reports errors by longjmp; this file is the
 * only place that sees it.
 */
#include "vmm/display/display.h"

#include "devices/vga.h"

#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

struct png_out {
	u8 *data;
	size_t len, cap;
	bool oom;
};

static void png_out_write(png_structp png, png_bytep data, png_size_t len)
{
	struct png_out *o = png_get_io_ptr(png);

	if (o->oom)
		return;
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		u8 *p;

		while (cap < o->len + len)
			cap *= 2;
		p = realloc(o->data, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, data, len);
	o->len += len;
}

static void png_out_flush(png_structp png)
{
	(void)png;
}

int display_png_encode(const struct vga_frame *f, u8 **out, size_t *len)
{
	struct png_out o = { 0 };
	volatile int ret = 0;
	png_structp png;
	png_infop info;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -ENOMEM;
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		ret = -EIO;
		goto out;
	}
	png_set_write_fn(png, &o, png_out_write, png_out_flush);
	png_set_IHDR(png, info, f->width, f->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, 6);
	png_write_info(png, info);
	png_set_filler(png, 0, PNG_FILLER_AFTER); /* rows have a fourth byte to drop */
	for (unsigned y = 0; y < f->height; y++)
		png_write_row(png, (png_const_bytep)(f->pixels + (size_t)y * f->width));
	png_write_end(png, NULL);
	if (o.oom)
		ret = -ENOMEM;
out:
	png_destroy_write_struct(&png, &info);
	if (ret < 0) {
		free(o.data);
		return ret;
	}
	*out = o.data;
	*len = o.len;
	return 0;
}
