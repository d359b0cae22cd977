/* SPDX-License-Identifier: MIT */
/*
 * The two PS/2 devices behind the i8042 (ps2.c): an MF-II keyboard and a mouse with the
 * IntelliMouse wheel. Each answers the commands the host sends it and queues the bytes it
 * sends back (replies, scan codes, movement packets) for the controller to take one at a
 * time. They are embedded in struct i8042, which owns their state record.
 *
 * Keys are named by their scan code set 1 make code, 0x100 added for the keys that send an
 * 0xE0 prefix (PS2_KEY_* below); the keyboard sends set 1 or set 2 codes, whichever the guest
 * selected, and the controller may translate set 2 to set 1 (i8042 command byte bit 6).
 *
 * Locking: the device lock, as for every device (devices/device.h).
 */
#ifndef DEVICES_PS2_H
#define DEVICES_PS2_H

#include "vmm/base/types.h"

struct state_desc;

#define PS2_QUEUE_SIZE 64

#define PS2_KEY_EXT	  0x100 /* the key sends 0xE0 first */
#define PS2_KEY_ESC	  0x01
#define PS2_KEY_1	  0x02
#define PS2_KEY_BACKSPACE 0x0e
#define PS2_KEY_TAB	  0x0f
#define PS2_KEY_Q	  0x10
#define PS2_KEY_ENTER	  0x1c
#define PS2_KEY_LCTRL	  0x1d
#define PS2_KEY_A	  0x1e
#define PS2_KEY_LSHIFT	  0x2a
#define PS2_KEY_Z	  0x2c
#define PS2_KEY_RSHIFT	  0x36
#define PS2_KEY_LALT	  0x38
#define PS2_KEY_SPACE	  0x39
#define PS2_KEY_CAPSLOCK  0x3a
#define PS2_KEY_F1	  0x3b
#define PS2_KEY_F11	  0x57
#define PS2_KEY_F12	  0x58
#define PS2_KEY_KPENTER	  (PS2_KEY_EXT | 0x1c)
#define PS2_KEY_RCTRL	  (PS2_KEY_EXT | 0x1d)
#define PS2_KEY_KPSLASH	  (PS2_KEY_EXT | 0x35)
#define PS2_KEY_PRINT	  (PS2_KEY_EXT | 0x37)
#define PS2_KEY_RALT	  (PS2_KEY_EXT | 0x38)
#define PS2_KEY_HOME	  (PS2_KEY_EXT | 0x47)
#define PS2_KEY_UP	  (PS2_KEY_EXT | 0x48)
#define PS2_KEY_PAGEUP	  (PS2_KEY_EXT | 0x49)
#define PS2_KEY_LEFT	  (PS2_KEY_EXT | 0x4b)
#define PS2_KEY_RIGHT	  (PS2_KEY_EXT | 0x4d)
#define PS2_KEY_END	  (PS2_KEY_EXT | 0x4f)
#define PS2_KEY_DOWN	  (PS2_KEY_EXT | 0x50)
#define PS2_KEY_PAGEDOWN  (PS2_KEY_EXT | 0x51)
#define PS2_KEY_INSERT	  (PS2_KEY_EXT | 0x52)
#define PS2_KEY_DELETE	  (PS2_KEY_EXT | 0x53)
#define PS2_KEY_LMETA	  (PS2_KEY_EXT | 0x5b)
#define PS2_KEY_RMETA	  (PS2_KEY_EXT | 0x5c)
#define PS2_KEY_MENU	  (PS2_KEY_EXT | 0x5d)

#define PS2_BUTTON_LEFT	  0x01
#define PS2_BUTTON_RIGHT  0x02
#define PS2_BUTTON_MIDDLE 0x04

struct ps2_queue {
	u8 data[PS2_QUEUE_SIZE];
	u32 head, count;
};

struct ps2_kbd {
	struct ps2_queue q;
	u8 set; /* scan code set 1 or 2 */
	bool scanning;
	u8 pending; /* command waiting for its parameter, or 0 */
	u8 leds;
	u8 last; /* the last byte sent, for resend */
};

struct ps2_mouse {
	struct ps2_queue q;
	bool enabled, remote, wrap, scale21;
	u8 rate, resolution, id;
	u8 pending;
	u8 rates[3]; /* the last sample rates set: 200, 100, 80 turns the wheel on */
	u8 buttons;
	u8 last;
	s32 dx, dy, dz; /* movement not sent yet (remote mode, or a full queue) */
};

/* Is there a byte for the controller, and take it. */
static inline bool ps2_queue_empty(const struct ps2_queue *q)
{
	return q->count == 0;
}

u8 ps2_queue_pop(struct ps2_queue *q);

void ps2_kbd_reset(struct ps2_kbd *k);
/* A byte the host sent to the keyboard (port 0x60 write). */
void ps2_kbd_write(struct ps2_kbd *k, u8 val);
/* A key went down or up (a display back end). false if the queue had no room for it. */
bool ps2_kbd_key(struct ps2_kbd *k, unsigned key, bool down);
/* The set 2 code of a set 1 code (0 if none): the controller's translation is its inverse. */
u8 ps2_set1_to_set2(u8 code);

void ps2_mouse_reset(struct ps2_mouse *m);
void ps2_mouse_write(struct ps2_mouse *m, u8 val);
/* Movement (dx right, dy down, dz wheel down) and the buttons now (PS2_BUTTON_*). */
void ps2_mouse_event(struct ps2_mouse *m, s32 dx, s32 dy, s32 dz, u8 buttons);

extern const struct state_desc ps2_kbd_state, ps2_mouse_state;

#endif
