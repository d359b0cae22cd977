// SPDX-License-Identifier: MIT
/*
 * The display back end (display.h): one frame of the card's screen, brought up to date by
 * vga_update under the device lock. With VNC clients connected a loop timer refreshes it about
 * 30 times a second (and redraws it whole once a second, so a store the dirty log could not
 * see in time is shown at the latest then) and hands the damage to the VNC server; without
 * clients nothing runs until a screenshot asks. Screen text is the card's cells through code
 * page 437.
 */
#include "vmm/display/display.h"

#include "devices/vga.h"
#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct display {
	char name[64];
	struct vga *vga;
	pthread_mutex_t *lock;
	struct display_input input;
	struct vga_frame frame;
	struct vnc *vnc; /* NULL when headless */
	struct loop *loop;
	struct loop_timer tick;
	unsigned ticks, clients;
	int last_x, last_y; /* the pointer, for relative PS/2 movement; -1: not seen */
	int last_buttons;
};

/* Code page 437, the VGA BIOS's character set, as Unicode (0x00 and 0x20-0x7E are ASCII). */
static const u16 display_cp437[256] = {
	0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022, 0x25d8, 0x25cb, 0x25d9,
	0x2642, 0x2640, 0x266a, 0x266b, 0x263c, 0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7,
	0x25ac, 0x21a8, 0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc, 0x0020,
	0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027, 0x0028, 0x0029, 0x002a, 0x002b,
	0x002c, 0x002d, 0x002e, 0x002f, 0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036,
	0x0037, 0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f, 0x0040, 0x0041,
	0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, 0x0048, 0x0049, 0x004a, 0x004b, 0x004c,
	0x004d, 0x004e, 0x004f, 0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005a, 0x005b, 0x005c, 0x005d, 0x005e, 0x005f, 0x0060, 0x0061, 0x0062,
	0x0063, 0x0064, 0x0065, 0x0066, 0x0067, 0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d,
	0x006e, 0x006f, 0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, 0x0078,
	0x0079, 0x007a, 0x007b, 0x007c, 0x007d, 0x007e, 0x2302, 0x00c7, 0x00fc, 0x00e9, 0x00e2,
	0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4,
	0x00c5, 0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9, 0x00ff, 0x00d6,
	0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1,
	0x00d1, 0x00aa, 0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551,
	0x2557, 0x255d, 0x255c, 0x255b, 0x2510, 0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c,
	0x255e, 0x255f, 0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567, 0x2568,
	0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518, 0x250c, 0x2588,
	0x2584, 0x258c, 0x2590, 0x2580, 0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5,
	0x03c4, 0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1,
	0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248, 0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f,
	0x00b2, 0x25a0, 0x00a0,
};

/* Bring the frame up to date. Main thread. */
static int display_refresh(struct display *d, bool full)
{
	int ret;

	pthread_mutex_lock(d->lock);
	ret = vga_update(d->vga, &d->frame, full);
	pthread_mutex_unlock(d->lock);
	if (ret < 0)
		log_warn("%s: display: cannot update the screen: %s", d->name, strerror(-ret));
	return ret;
}

static void display_tick(void *opaque)
{
	struct display *d = opaque;

	if (!d->clients || !d->vnc)
		return;
	d->ticks++;
	if (display_refresh(d, d->ticks % DISPLAY_FULL_EVERY == 0) == 0)
		vnc_update(d->vnc, &d->frame);
	loop_timer_arm(d->loop, &d->tick, loop_now_ns() + DISPLAY_REFRESH_NS);
}

/* ---------------------------------------------------------------- VNC input */

static void display_on_key(void *opaque, u32 keysym, bool down)
{
	struct display *d = opaque;
	unsigned key = display_keysym_to_key(keysym);

	if (!key) {
		log_dbg(LOG_CAT_DEV, "%s: display: keysym %#x has no PS/2 key", d->name, keysym);
		return;
	}
	d->input.key(d->input.opaque, key, down);
}

/* VNC buttons: 1 left, 2 middle, 4 right, 8 wheel up, 16 wheel down. */
static void display_on_pointer(void *opaque, int buttons, int x, int y)
{
	struct display *d = opaque;
	u8 ps2 = (u8)((buttons & 1) | (buttons & 4) >> 1 | (buttons & 2) << 1);
	s32 dz = 0, dx = 0, dy = 0;

	if ((buttons & 8) && !(d->last_buttons & 8))
		dz = -1;
	if ((buttons & 16) && !(d->last_buttons & 16))
		dz = 1;
	if (d->last_x >= 0) {
		dx = x - d->last_x;
		dy = y - d->last_y;
	}
	d->last_x = x;
	d->last_y = y;
	d->last_buttons = buttons;
	d->input.mouse(d->input.opaque, dx, dy, dz, ps2);
}

static void display_on_clients(void *opaque, unsigned nr)
{
	struct display *d = opaque;
	bool was = d->clients != 0;

	d->clients = nr;
	if (nr && !was && d->loop) {
		d->ticks = 0;
		if (display_refresh(d, true) == 0)
			vnc_update(d->vnc, &d->frame);
		loop_timer_arm(d->loop, &d->tick, loop_now_ns() + DISPLAY_REFRESH_NS);
	}
	if (!nr && d->loop)
		loop_timer_cancel(d->loop, &d->tick);
}

/* ---------------------------------------------------------------- lifecycle */

int display_create(const struct display_config *cfg, struct display **out, struct err *err)
{
	struct display *d = calloc(1, sizeof(*d));
	const struct display_spec *spec = cfg->spec;
	struct vnc_hooks hooks;
	int ret;

	if (!d)
		return err_set(err, -ENOMEM, "display: out of memory");
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	d->vga = cfg->vga;
	d->lock = cfg->lock;
	d->input = cfg->input;
	d->last_x = d->last_y = -1;
	loop_timer_init(&d->tick, display_tick, d);
	hooks = (struct vnc_hooks){ .opaque = d,
				    .key = display_on_key,
				    .pointer = display_on_pointer,
				    .clients = display_on_clients };
	if (spec->type == DISPLAY_VNC) {
		ret = vnc_create(spec, d->name, &hooks, &d->vnc, err);
		if (ret < 0) {
			free(d);
			return ret;
		}
	}
	*out = d;
	return 0;
}

void display_destroy(struct display *d)
{
	if (!d)
		return;
	display_detach(d);
	vnc_destroy(d->vnc);
	vga_frame_free(&d->frame);
	free(d);
}

int display_attach(struct display *d, struct loop *l)
{
	d->loop = l;
	return d->vnc ? vnc_attach(d->vnc, l) : 0;
}

void display_detach(struct display *d)
{
	if (!d->loop)
		return;
	loop_timer_cancel(d->loop, &d->tick);
	if (d->vnc)
		vnc_detach(d->vnc);
	d->loop = NULL;
}

/* ---------------------------------------------------------------- pictures and text */

int display_screenshot(struct display *d, u8 **png, size_t *len, struct err *err)
{
	int ret = display_refresh(d, false);

	if (ret < 0)
		return err_set(err, ret, "display: cannot read the screen: %s", strerror(-ret));
	ret = display_png_encode(&d->frame, png, len);
	if (ret < 0)
		return err_set(err, ret, "display: cannot encode the screen as PNG: %s",
			       strerror(-ret));
	return 0;
}

/* Append the UTF-8 of code point c to out (at least 4 bytes free). */
static size_t display_utf8(char *out, u32 c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | c >> 12);
	out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

int display_screen_text(struct display *d, char **text, struct err *err)
{
	struct vga_text t;
	size_t at = 0;
	char *out;
	int ret;

	pthread_mutex_lock(d->lock);
	ret = vga_text(d->vga, &t);
	pthread_mutex_unlock(d->lock);
	if (ret == -ENOTSUP)
		return err_set(err, ret, "the screen is not in a text mode (graphics, or blank)");
	if (ret < 0)
		return err_set(err, ret, "display: cannot read the screen: %s", strerror(-ret));
	out = malloc((size_t)t.rows * (t.cols * 3 + 1) + 1);
	if (!out) {
		free(t.cells);
		return err_set(err, -ENOMEM, "display: out of memory");
	}
	for (unsigned r = 0; r < t.rows; r++) {
		unsigned end = t.cols;

		while (end && (t.cells[r * t.cols + end - 1] & 0xff) == ' ')
			end--;
		for (unsigned c = 0; c < end; c++)
			at += display_utf8(out + at, display_cp437[t.cells[r * t.cols + c] & 0xff]);
		out[at++] = '\n';
	}
	out[at] = '\0';
	free(t.cells);
	*text = out;
	return 0;
}
