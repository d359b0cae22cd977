// SPDX-License-Identifier: MIT
/*
 * X keysyms (what a VNC client sends, RFC 6143 7.5.4; values from X11's keysymdef.h) to the
 * PS/2 keys of devices/ps2.h, for a US keyboard layout: a client sends the keysym of the
 * character it typed with the modifier keys it pressed, so '!' is the key of '1' (the guest
 * sees Shift already down). Keysyms with no key on a 102-key PC keyboard are dropped.
 */
#include "vmm/display/display.h"

#include "devices/ps2.h"
#include "vmm/base/compiler.h"

struct keymap_entry {
	u32 keysym;
	u16 key;
};

static const struct keymap_entry keymap_special[] = {
	{ 0xff08, PS2_KEY_BACKSPACE },
	{ 0xff09, PS2_KEY_TAB },
	{ 0xfe20, PS2_KEY_TAB }, /* ISO_Left_Tab: Shift+Tab */
	{ 0xff0d, PS2_KEY_ENTER },
	{ 0xff1b, PS2_KEY_ESC },
	{ 0xffff, PS2_KEY_DELETE },
	{ 0xff50, PS2_KEY_HOME },
	{ 0xff51, PS2_KEY_LEFT },
	{ 0xff52, PS2_KEY_UP },
	{ 0xff53, PS2_KEY_RIGHT },
	{ 0xff54, PS2_KEY_DOWN },
	{ 0xff55, PS2_KEY_PAGEUP },
	{ 0xff56, PS2_KEY_PAGEDOWN },
	{ 0xff57, PS2_KEY_END },
	{ 0xff63, PS2_KEY_INSERT },
	{ 0xff67, PS2_KEY_MENU },
	{ 0xff61, PS2_KEY_PRINT },
	{ 0xff14, 0x46 }, /* Scroll_Lock */
	{ 0xff7f, 0x45 }, /* Num_Lock */
	{ 0xffe5, PS2_KEY_CAPSLOCK },
	{ 0xffe1, PS2_KEY_LSHIFT },
	{ 0xffe2, PS2_KEY_RSHIFT },
	{ 0xffe3, PS2_KEY_LCTRL },
	{ 0xffe4, PS2_KEY_RCTRL },
	{ 0xffe9, PS2_KEY_LALT },
	{ 0xffea, PS2_KEY_RALT },
	{ 0xfe03, PS2_KEY_RALT }, /* ISO_Level3_Shift (AltGr) */
	{ 0xffe7, PS2_KEY_LMETA },
	{ 0xffeb, PS2_KEY_LMETA },
	{ 0xffec, PS2_KEY_RMETA },
	{ 0xffc8, PS2_KEY_F11 },
	{ 0xffc9, PS2_KEY_F12 },
	{ 0xff8d, PS2_KEY_KPENTER },
	{ 0xffaa, 0x37 }, /* KP_Multiply */
	{ 0xffab, 0x4e }, /* KP_Add */
	{ 0xffad, 0x4a }, /* KP_Subtract */
	{ 0xffae, 0x53 }, /* KP_Decimal */
	{ 0xffaf, PS2_KEY_KPSLASH },
	{ 0xff95, 0x47 }, /* KP_Home */
	{ 0xff96, 0x4b }, /* KP_Left */
	{ 0xff97, 0x48 }, /* KP_Up */
	{ 0xff98, 0x4d }, /* KP_Right */
	{ 0xff99, 0x50 }, /* KP_Down */
	{ 0xff9a, 0x49 }, /* KP_Prior */
	{ 0xff9b, 0x51 }, /* KP_Next */
	{ 0xff9c, 0x4f }, /* KP_End */
	{ 0xff9d, 0x4c }, /* KP_Begin */
	{ 0xff9e, 0x52 }, /* KP_Insert */
	{ 0xff9f, 0x53 }, /* KP_Delete */
};

/* Printable ASCII (Latin-1 keysyms are their characters) 0x20..0x7e, US layout. */
static const u8 keymap_ascii[0x5f] = {
	[' ' - 0x20] = 0x39, ['!' - 0x20] = 0x02, ['"' - 0x20] = 0x28,	['#' - 0x20] = 0x04,
	['$' - 0x20] = 0x05, ['%' - 0x20] = 0x06, ['&' - 0x20] = 0x08,	['\'' - 0x20] = 0x28,
	['(' - 0x20] = 0x0a, [')' - 0x20] = 0x0b, ['*' - 0x20] = 0x09,	['+' - 0x20] = 0x0d,
	[',' - 0x20] = 0x33, ['-' - 0x20] = 0x0c, ['.' - 0x20] = 0x34,	['/' - 0x20] = 0x35,
	['0' - 0x20] = 0x0b, ['1' - 0x20] = 0x02, ['2' - 0x20] = 0x03,	['3' - 0x20] = 0x04,
	['4' - 0x20] = 0x05, ['5' - 0x20] = 0x06, ['6' - 0x20] = 0x07,	['7' - 0x20] = 0x08,
	['8' - 0x20] = 0x09, ['9' - 0x20] = 0x0a, [':' - 0x20] = 0x27,	[';' - 0x20] = 0x27,
	['<' - 0x20] = 0x33, ['=' - 0x20] = 0x0d, ['>' - 0x20] = 0x34,	['?' - 0x20] = 0x35,
	['@' - 0x20] = 0x03, ['[' - 0x20] = 0x1a, ['\\' - 0x20] = 0x2b, [']' - 0x20] = 0x1b,
	['^' - 0x20] = 0x07, ['_' - 0x20] = 0x0c, ['`' - 0x20] = 0x29,	['{' - 0x20] = 0x1a,
	['|' - 0x20] = 0x2b, ['}' - 0x20] = 0x1b, ['~' - 0x20] = 0x29,
};

/* a..z in set 1 */
static const u8 keymap_letters[26] = { 0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17,
				       0x24, 0x25, 0x26, 0x32, 0x31, 0x18, 0x19, 0x10, 0x13,
				       0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c };

unsigned display_keysym_to_key(u32 keysym)
{
	if (keysym >= 'a' && keysym <= 'z')
		return keymap_letters[keysym - 'a'];
	if (keysym >= 'A' && keysym <= 'Z')
		return keymap_letters[keysym - 'A'];
	if (keysym >= 0x20 && keysym < 0x7f)
		return keymap_ascii[keysym - 0x20];
	if (keysym >= 0xffbe && keysym <= 0xffc7) /* F1..F10 */
		return PS2_KEY_F1 + (keysym - 0xffbe);
	if (keysym >= 0xffb0 && keysym <= 0xffb9) { /* KP_0..KP_9 */
		static const u8 kp[10] = { 0x52, 0x4f, 0x50, 0x51, 0x4b,
					   0x4c, 0x4d, 0x47, 0x48, 0x49 };

		return kp[keysym - 0xffb0];
	}
	for (size_t i = 0; i < ARRAY_SIZE(keymap_special); i++)
		if (keymap_special[i].keysym == keysym)
			return keymap_special[i].key;
	return 0;
}
