/* SPDX-License-Identifier: MIT */
/*
 * 8042 keyboard controller at ports 0x60/0x64 (see i8042.c) with a PS/2 keyboard and mouse
 * (ps2.h) behind it, fed by the display back end.
 */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#include <stddef.h>

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64 /* status on read */

/* Status register */
#define I8042_STR_OBF	  0x01 /* output buffer full */
#define I8042_STR_IBF	  0x02 /* input buffer full (never: writes are handled at once) */
#define I8042_STR_SYSFLAG 0x04
#define I8042_STR_CMDDAT  0x08 /* last write was to the command port */
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited */
#define I8042_STR_AUXDATA 0x20 /* output buffer holds auxiliary-device data */
#define I8042_STR_TIMEOUT 0x40

/* Controller command byte ("CTR") */
#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_AUXINT  0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE	  0x40
#define I8042_CTR_DEFAULT (I8042_CTR_KBDINT | I8042_CTR_SYSFLAG | I8042_CTR_XLATE)

/* Controller commands (written to port 0x64) */
#define I8042_CMD_CTL_RCTR    0x20
#define I8042_CMD_CTL_WCTR    0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE  0xa8
#define I8042_CMD_AUX_TEST    0xa9
#define I8042_CMD_CTL_TEST    0xaa
#define I8042_CMD_KBD_TEST    0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE  0xae
#define I8042_CMD_READ_OUTP   0xd0
#define I8042_CMD_WRITE_OUTP  0xd1
#define I8042_CMD_KBD_LOOP    0xd2
#define I8042_CMD_AUX_LOOP    0xd3
#define I8042_CMD_AUX_SEND    0xd4
#define I8042_CMD_PULSE_RESET 0xfe

/* Output port (command 0xD0/0xD1) */
#define I8042_OUTP_RESET 0x01 /* 0 asserts the CPU reset line */
#define I8042_OUTP_A20	 0x02

/* Keyboard replies */
#define I8042_KBD_ACK	  0xfa
#define I8042_KBD_BAT_OK  0xaa
#define I8042_KBD_RESEND  0xfe
#define I8042_CTL_TEST_OK 0x55

struct i8042_config {
	const char *name; /* "i8042" */
};

struct i8042;

/*
 * Claim ports 0x60 and 0x64. kbd_irq is IRQ 1, aux_irq IRQ 12 (raised for
 * replies on the auxiliary port). -ENOMEM, -EBUSY. Main thread.
 */
MUST_CHECK int i8042_create(struct platform *p, const struct i8042_config *cfg,
			    struct irq_line kbd_irq, struct irq_line aux_irq, struct i8042 **out,
			    struct err *err);
void i8042_reset(struct i8042 *k);
void i8042_destroy(struct i8042 *k);

/*
 * A key went down or up on the keyboard (key: a PS2_KEY_* code, devices/ps2.h); false if the
 * keyboard does not scan or its queue is full. Device lock held.
 */
bool i8042_key(struct i8042 *k, unsigned key, bool down);
/* The mouse moved (dx right, dy down, dz wheel) with buttons (PS2_BUTTON_*). Device lock held. */
void i8042_mouse(struct i8042 *k, s32 dx, s32 dy, s32 dz, u8 buttons);

extern const struct device_ops i8042_device_ops;

#endif
