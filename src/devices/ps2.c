// SPDX-License-Identifier: MIT
/*
 * PS/2 keyboard and mouse (ps2.h), after the IBM PS/2 Hardware Interface Technical
 * Reference ("Keyboards (101- and 102-Key)", "Pointing Device"):
 *   - keyboard: reset (0xFF: ACK, BAT 0xAA), resend (0xFE), defaults (0xF6), disable (0xF5)
 *     and enable (0xF4) scanning, typematic (0xF3 + rate), scan code set (0xF0 + 0 to read,
 *     1 or 2 to select; 3 is refused with RESEND, so the host stays on set 2), identify
 *     (0xF2: ACK 0xAB 0x83), echo (0xEE), LEDs (0xED + bits); make and break codes of sets 1
 *     and 2 (set 2 breaks are 0xF0 + make, extended keys lead with 0xE0). Auto-repeat is the
 *     host's: a display client repeats key-down events itself;
 *   - mouse: reset (ACK 0xAA 0x00), resend, defaults, disable/enable data reporting, sample
 *     rate (the 200, 100, 80 sequence switches to the IntelliMouse ID 3 with a wheel byte),
 *     get ID, resolution, scaling 1:1 / 2:1 (kept, reported by status request 0xE9), stream
 *     and remote mode with read data (0xEB), wrap mode (echo everything but 0xEC and 0xFF);
 *     3- or 4-byte movement packets, movement beyond +-255 split over several packets.
 * Queues are bounded (PS2_QUEUE_SIZE); what does not fit is dropped (a key) or kept as
 * pending movement (the mouse), never grown.
 */
#include "devices/ps2.h"

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PS2_ACK	   0xfa
#define PS2_RESEND 0xfe
#define PS2_BAT_OK 0xaa

/* Set 1 make code -> set 2 make code (the same for the 0xE0 keys' second byte). */
static const u8 ps2_set2_of[0x60] = {
	[0x01] = 0x76, [0x02] = 0x16, [0x03] = 0x1e, [0x04] = 0x26, [0x05] = 0x25, [0x06] = 0x2e,
	[0x07] = 0x36, [0x08] = 0x3d, [0x09] = 0x3e, [0x0a] = 0x46, [0x0b] = 0x45, [0x0c] = 0x4e,
	[0x0d] = 0x55, [0x0e] = 0x66, [0x0f] = 0x0d, [0x10] = 0x15, [0x11] = 0x1d, [0x12] = 0x24,
	[0x13] = 0x2d, [0x14] = 0x2c, [0x15] = 0x35, [0x16] = 0x3c, [0x17] = 0x43, [0x18] = 0x44,
	[0x19] = 0x4d, [0x1a] = 0x54, [0x1b] = 0x5b, [0x1c] = 0x5a, [0x1d] = 0x14, [0x1e] = 0x1c,
	[0x1f] = 0x1b, [0x20] = 0x23, [0x21] = 0x2b, [0x22] = 0x34, [0x23] = 0x33, [0x24] = 0x3b,
	[0x25] = 0x42, [0x26] = 0x4b, [0x27] = 0x4c, [0x28] = 0x52, [0x29] = 0x0e, [0x2a] = 0x12,
	[0x2b] = 0x5d, [0x2c] = 0x1a, [0x2d] = 0x22, [0x2e] = 0x21, [0x2f] = 0x2a, [0x30] = 0x32,
	[0x31] = 0x31, [0x32] = 0x3a, [0x33] = 0x41, [0x34] = 0x49, [0x35] = 0x4a, [0x36] = 0x59,
	[0x37] = 0x7c, [0x38] = 0x11, [0x39] = 0x29, [0x3a] = 0x58, [0x3b] = 0x05, [0x3c] = 0x06,
	[0x3d] = 0x04, [0x3e] = 0x0c, [0x3f] = 0x03, [0x40] = 0x0b, [0x41] = 0x83, [0x42] = 0x0a,
	[0x43] = 0x01, [0x44] = 0x09, [0x45] = 0x77, [0x46] = 0x7e, [0x47] = 0x6c, [0x48] = 0x75,
	[0x49] = 0x7d, [0x4a] = 0x7b, [0x4b] = 0x6b, [0x4c] = 0x73, [0x4d] = 0x74, [0x4e] = 0x79,
	[0x4f] = 0x69, [0x50] = 0x72, [0x51] = 0x7a, [0x52] = 0x70, [0x53] = 0x71, [0x54] = 0x84,
	[0x56] = 0x61, [0x57] = 0x78, [0x58] = 0x07, [0x5b] = 0x1f, [0x5c] = 0x27, [0x5d] = 0x2f,
};

u8 ps2_set1_to_set2(u8 code)
{
	return code < ARRAY_SIZE(ps2_set2_of) ? ps2_set2_of[code] : 0;
}

/* ------------------------------------------------------------------ queues */

static bool ps2_push(struct ps2_queue *q, u8 val)
{
	if (q->count == PS2_QUEUE_SIZE)
		return false;
	q->data[(q->head + q->count) % PS2_QUEUE_SIZE] = val;
	q->count++;
	return true;
}

static u32 ps2_room(const struct ps2_queue *q)
{
	return PS2_QUEUE_SIZE - q->count;
}

u8 ps2_queue_pop(struct ps2_queue *q)
{
	u8 val;

	if (!q->count)
		return 0;
	val = q->data[q->head];
	q->head = (q->head + 1) % PS2_QUEUE_SIZE;
	q->count--;
	return val;
}

static void ps2_queue_clear(struct ps2_queue *q)
{
	q->head = q->count = 0;
}

/* ------------------------------------------------------------------ keyboard */

static void ps2_kbd_send(struct ps2_kbd *k, u8 val)
{
	k->last = val;
	ps2_push(&k->q, val);
}

static void ps2_kbd_defaults(struct ps2_kbd *k)
{
	k->set = 2;
	k->leds = 0;
	k->pending = 0;
}

void ps2_kbd_reset(struct ps2_kbd *k)
{
	ps2_queue_clear(&k->q);
	ps2_kbd_defaults(k);
	k->scanning = true;
	k->last = 0;
}

static void ps2_kbd_param(struct ps2_kbd *k, u8 cmd, u8 val)
{
	switch (cmd) {
	case 0xed:
		k->leds = val & 7;
		ps2_kbd_send(k, PS2_ACK);
		break;
	case 0xf0:
		if (val == 0) {
			ps2_kbd_send(k, PS2_ACK);
			ps2_kbd_send(k, k->set);
		} else if (val == 1 || val == 2) {
			k->set = val;
			ps2_kbd_send(k, PS2_ACK);
		} else {
			ps2_kbd_send(k, PS2_RESEND);
		}
		break;
	default: /* 0xf3: typematic rate and delay */
		ps2_kbd_send(k, PS2_ACK);
		break;
	}
}

void ps2_kbd_write(struct ps2_kbd *k, u8 val)
{
	u8 cmd = k->pending;

	k->pending = 0;
	if (cmd && val < 0xed) { /* a parameter; a command byte instead starts over */
		ps2_kbd_param(k, cmd, val);
		return;
	}
	switch (val) {
	case 0xff:
		ps2_kbd_reset(k);
		ps2_kbd_send(k, PS2_ACK);
		ps2_kbd_send(k, PS2_BAT_OK);
		break;
	case 0xfe:
		ps2_push(&k->q, k->last);
		break;
	case 0xf6:
		ps2_kbd_defaults(k);
		ps2_kbd_send(k, PS2_ACK);
		break;
	case 0xf5:
		ps2_kbd_defaults(k);
		k->scanning = false;
		ps2_kbd_send(k, PS2_ACK);
		break;
	case 0xf4:
		k->scanning = true;
		ps2_kbd_send(k, PS2_ACK);
		break;
	case 0xf2:
		ps2_kbd_send(k, PS2_ACK);
		ps2_kbd_send(k, 0xab);
		ps2_kbd_send(k, 0x83);
		break;
	case 0xee:
		ps2_kbd_send(k, 0xee);
		break;
	case 0xed:
	case 0xf0:
	case 0xf3:
		k->pending = val;
		ps2_kbd_send(k, PS2_ACK);
		break;
	default:
		ps2_kbd_send(k, PS2_RESEND);
		break;
	}
}

bool ps2_kbd_key(struct ps2_kbd *k, unsigned key, bool down)
{
	u8 code = key & 0xff, out[4];
	unsigned n = 0;

	if (!k->scanning || (key & ~(PS2_KEY_EXT | 0x7fu)) || !ps2_set1_to_set2(code))
		return false;
	if (key & PS2_KEY_EXT)
		out[n++] = 0xe0;
	if (k->set == 1) {
		out[n++] = down ? code : (u8)(code | 0x80);
	} else {
		if (!down)
			out[n++] = 0xf0;
		out[n++] = ps2_set1_to_set2(code);
	}
	if (ps2_room(&k->q) < n)
		return false;
	for (unsigned i = 0; i < n; i++)
		ps2_kbd_send(k, out[i]);
	return true;
}

/* ------------------------------------------------------------------ mouse */

static void ps2_mouse_send(struct ps2_mouse *m, u8 val)
{
	m->last = val;
	ps2_push(&m->q, val);
}

static void ps2_mouse_defaults(struct ps2_mouse *m)
{
	m->enabled = false;
	m->remote = false;
	m->scale21 = false;
	m->rate = 100;
	m->resolution = 2;
	m->pending = 0;
	m->dx = m->dy = m->dz = 0;
}

void ps2_mouse_reset(struct ps2_mouse *m)
{
	ps2_queue_clear(&m->q);
	ps2_mouse_defaults(m);
	m->wrap = false;
	m->id = 0;
	memset(m->rates, 0, sizeof(m->rates));
	m->buttons = 0;
	m->last = 0;
}

static s32 ps2_clamp(s32 v, s32 lo, s32 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One packet of the pending movement (at most +-255 each way), if it fits. */
static bool ps2_mouse_packet(struct ps2_mouse *m)
{
	unsigned n = m->id == 3 ? 4 : 3;
	s32 dx = ps2_clamp(m->dx, -255, 255), dy = ps2_clamp(m->dy, -255, 255);
	s32 dz = ps2_clamp(m->dz, -8, 7);
	u8 b0 = 0x08 | (m->buttons & 7);

	if (ps2_room(&m->q) < n)
		return false;
	if (dx < 0)
		b0 |= 0x10;
	if (-dy < 0)
		b0 |= 0x20;
	ps2_mouse_send(m, b0);
	ps2_mouse_send(m, (u8)dx);
	ps2_mouse_send(m, (u8)-dy); /* PS/2 counts up as positive */
	if (n == 4)
		ps2_mouse_send(m, (u8)dz);
	m->dx -= dx;
	m->dy -= dy;
	m->dz -= n == 4 ? dz : m->dz;
	return true;
}

static void ps2_mouse_flush(struct ps2_mouse *m)
{
	/* bounded: every packet moves the pending counts toward 0 or fails for room */
	while ((m->dx || m->dy || m->dz) && ps2_mouse_packet(m))
		;
}

static void ps2_mouse_param(struct ps2_mouse *m, u8 cmd, u8 val)
{
	if (cmd == 0xf3) {
		m->rate = val;
		memmove(m->rates, m->rates + 1, 2);
		m->rates[2] = val;
		if (m->rates[0] == 200 && m->rates[1] == 100 && m->rates[2] == 80)
			m->id = 3;
	} else { /* 0xe8 */
		m->resolution = val & 3;
	}
	ps2_mouse_send(m, PS2_ACK);
}

static void ps2_mouse_command(struct ps2_mouse *m, u8 val)
{
	switch (val) {
	case 0xff:
		ps2_mouse_reset(m);
		ps2_mouse_send(m, PS2_ACK);
		ps2_mouse_send(m, PS2_BAT_OK);
		ps2_mouse_send(m, 0x00);
		break;
	case 0xfe:
		ps2_push(&m->q, m->last);
		break;
	case 0xf6:
	case 0xf5:
	case 0xf4:
		if (val != 0xf4)
			ps2_mouse_defaults(m);
		m->enabled = val == 0xf4;
		ps2_mouse_send(m, PS2_ACK);
		break;
	case 0xf3:
	case 0xe8:
		m->pending = val;
		ps2_mouse_send(m, PS2_ACK);
		break;
	case 0xf2:
		ps2_mouse_send(m, PS2_ACK);
		ps2_mouse_send(m, m->id);
		break;
	case 0xf0:
	case 0xea:
		m->remote = val == 0xf0;
		ps2_mouse_send(m, PS2_ACK);
		break;
	case 0xee:
	case 0xec:
		m->wrap = val == 0xee;
		ps2_mouse_send(m, PS2_ACK);
		break;
	case 0xeb:
		ps2_mouse_send(m, PS2_ACK);
		ps2_mouse_packet(m); /* a packet even without movement */
		break;
	case 0xe9:
		ps2_mouse_send(m, PS2_ACK);
		ps2_mouse_send(m, (u8)(m->remote << 6 | m->enabled << 5 | m->scale21 << 4 |
				       (m->buttons & 1) << 2 | (m->buttons & 4) >> 1 |
				       (m->buttons & 2) >> 1));
		ps2_mouse_send(m, m->resolution);
		ps2_mouse_send(m, m->rate);
		break;
	case 0xe7:
	case 0xe6:
		m->scale21 = val == 0xe7;
		ps2_mouse_send(m, PS2_ACK);
		break;
	default:
		ps2_mouse_send(m, PS2_RESEND);
		break;
	}
}

void ps2_mouse_write(struct ps2_mouse *m, u8 val)
{
	u8 cmd = m->pending;

	m->pending = 0;
	if (m->wrap && val != 0xec && val != 0xff) {
		ps2_mouse_send(m, val);
		return;
	}
	if (cmd) {
		ps2_mouse_param(m, cmd, val);
		return;
	}
	ps2_mouse_command(m, val);
}

void ps2_mouse_event(struct ps2_mouse *m, s32 dx, s32 dy, s32 dz, u8 buttons)
{
	bool changed = (buttons & 7) != m->buttons;

	m->buttons = buttons & 7;
	if (!m->enabled && !m->remote)
		return; /* a stream-mode mouse that does not report drops the movement */
	/* pending movement stays bounded whatever the host sends */
	m->dx = ps2_clamp(m->dx + ps2_clamp(dx, -4096, 4096), -4096, 4096);
	m->dy = ps2_clamp(m->dy + ps2_clamp(dy, -4096, 4096), -4096, 4096);
	m->dz = ps2_clamp(m->dz + ps2_clamp(dz, -64, 64), -64, 64);
	if (m->remote || m->wrap)
		return;
	if (changed && !m->dx && !m->dy && !m->dz)
		ps2_mouse_packet(m);
	else
		ps2_mouse_flush(m);
}

/* ------------------------------------------------------------------ state */

static const struct state_field ps2_queue_fields[] = {
	STATE_ARRAY(struct ps2_queue, data, U8),
	STATE_U32(struct ps2_queue, head, STATE_MAX(PS2_QUEUE_SIZE - 1)),
	STATE_U32(struct ps2_queue, count, STATE_MAX(PS2_QUEUE_SIZE)),
	STATE_END,
};

static const struct state_desc ps2_queue_state = {
	.name = "ps2-queue",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ps2_queue),
	.fields = ps2_queue_fields,
};

static int ps2_kbd_post_load(void *obj, u32 version, struct err *err)
{
	struct ps2_kbd *k = obj;

	(void)version;
	if (k->set != 1 && k->set != 2)
		return err_set(err, -EINVAL, "keyboard: scan code set %u", k->set);
	return 0;
}

static const struct state_field ps2_kbd_fields[] = {
	STATE_STRUCT(struct ps2_kbd, q, ps2_queue_state),
	STATE_U8(struct ps2_kbd, set, STATE_MAX(2)),
	STATE_BOOL(struct ps2_kbd, scanning),
	STATE_U8(struct ps2_kbd, pending),
	STATE_U8(struct ps2_kbd, leds, STATE_MAX(7)),
	STATE_U8(struct ps2_kbd, last),
	STATE_END,
};

const struct state_desc ps2_kbd_state = {
	.name = "ps2-keyboard",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ps2_kbd),
	.fields = ps2_kbd_fields,
	.post_load = ps2_kbd_post_load,
};

static int ps2_mouse_post_load(void *obj, u32 version, struct err *err)
{
	struct ps2_mouse *m = obj;

	(void)version;
	if (m->dx < -4096 || m->dx > 4096 || m->dy < -4096 || m->dy > 4096 || m->dz < -64 ||
	    m->dz > 64)
		return err_set(err, -EINVAL, "mouse: pending movement out of range");
	if (m->id != 0 && m->id != 3)
		return err_set(err, -EINVAL, "mouse: ID %u", m->id);
	return 0;
}

static const struct state_field ps2_mouse_fields[] = {
	STATE_STRUCT(struct ps2_mouse, q, ps2_queue_state),
	STATE_BOOL(struct ps2_mouse, enabled),
	STATE_BOOL(struct ps2_mouse, remote),
	STATE_BOOL(struct ps2_mouse, wrap),
	STATE_BOOL(struct ps2_mouse, scale21),
	STATE_U8(struct ps2_mouse, rate),
	STATE_U8(struct ps2_mouse, resolution, STATE_MAX(3)),
	STATE_U8(struct ps2_mouse, id),
	STATE_U8(struct ps2_mouse, pending),
	STATE_ARRAY(struct ps2_mouse, rates, U8),
	STATE_U8(struct ps2_mouse, buttons, STATE_MAX(7)),
	STATE_U8(struct ps2_mouse, last),
	STATE_S32(struct ps2_mouse, dx),
	STATE_S32(struct ps2_mouse, dy),
	STATE_S32(struct ps2_mouse, dz),
	STATE_END,
};

const struct state_desc ps2_mouse_state = {
	.name = "ps2-mouse",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ps2_mouse),
	.fields = ps2_mouse_fields,
	.post_load = ps2_mouse_post_load,
};
