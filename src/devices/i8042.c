// SPDX-License-Identifier: MIT
/*
 * Intel 8042 keyboard controller as wired on the PC/AT (IBM PC AT Technical
 * Reference, "Keyboard controller"; command set as in the IBM PS/2 Hardware
 * Interface Technical Reference, "Keyboard/Auxiliary Device Controller"):
 * data port 0x60, status/command port 0x64, the controller command byte
 * (0x20/0x60), self test (0xAA -> 0x55), interface tests (0xAB/0xA9 -> 0),
 * port enable/disable (0xAD/0xAE/0xA7/0xA8), output port (0xD0/0xD1: bit 0
 * clear asserts CPU reset), loop-back writes (0xD2/0xD3), and pulsing the
 * reset line (0xF0-0xFF with bit 0 clear, e.g. 0xFE). Resets become
 * PLATFORM_REQ_RESET.
 *
 * Behind the ports sit a PS/2 keyboard and mouse (ps2.c). The controller has one output
 * buffer: a byte there stays until the host reads it, then the next one moves in --
 * controller replies first, then the keyboard's bytes (translated from scan code set 2 to
 * set 1 while command byte bit 6 is set, 0xF0 break prefixes folded into bit 7, as the 8042
 * does), then the mouse's -- so the status register's AUXDATA bit always describes the byte
 * a read returns. A disabled interface (command byte bits 4/5, commands 0xAD/0xA7) leaves its
 * device's bytes queued.
 *
 * IRQ 1 / IRQ 12 are high while the output buffer holds keyboard /
 * auxiliary data and the command byte enables that interrupt; reading the
 * data port drops the line and raises it again for the next byte, so an
 * edge-triggered PIC input sees one edge per byte.
 *
 * Not modelled: the A20 gate (output port bit 1 is stored only; guest RAM
 * is not aliased), the controller's internal RAM (0x21-0x3F/0x61-0x7F),
 * password and input-port commands.
 */
#include "devices/i8042.h"

#include "devices/ps2.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define I8042_QUEUE_SIZE   8 /* controller replies */
#define I8042_OUTP_DEFAULT (I8042_OUTP_RESET | I8042_OUTP_A20)

struct i8042_byte {
	u8 val;
	bool aux;
};

struct i8042 {
	struct platform *p;
	char name[32];
	struct irq_line kbd_irq, aux_irq;
	int kbd_level, aux_level;
	u8 ctr;		/* controller command byte */
	u8 outp;	/* output port */
	bool last_cmd;	/* status bit 3: last write went to port 0x64 */
	u8 pending_cmd; /* controller command waiting for its data byte, or 0 */
	u8 obuf;	/* the output buffer */
	bool obuf_full, obuf_aux;
	bool xlat_break; /* translating: an 0xF0 was folded into the next byte */
	struct i8042_byte queue[I8042_QUEUE_SIZE]; /* controller replies waiting */
	unsigned head, count;
	struct ps2_kbd kbd;
	struct ps2_mouse mouse;
};

/* The 8042's translation of keyboard bytes, set 2 -> set 1: the inverse of the key table. */
static u8 i8042_xlat(u8 b)
{
	static u8 table[256];
	static bool built;

	if (!built) {
		for (unsigned i = 0; i < 256; i++)
			table[i] = (u8)i;
		for (unsigned c1 = 1; c1 < 0x60; c1++)
			if (ps2_set1_to_set2((u8)c1))
				table[ps2_set1_to_set2((u8)c1)] = (u8)c1;
		table[0x00] = 0xff; /* overrun */
		table[0x02] = 0x41; /* the scan code set reply "2" reads 0x41 translated */
		__atomic_store_n(&built, true, __ATOMIC_RELEASE);
	}
	return table[b];
}

static void i8042_set_lines(struct i8042 *k, int kbd, int aux)
{
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_line_set(&k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_line_set(&k->aux_irq, aux);
	}
}

static void i8042_update_irq(struct i8042 *k)
{
	i8042_set_lines(k, k->obuf_full && !k->obuf_aux && (k->ctr & I8042_CTR_KBDINT),
			k->obuf_full && k->obuf_aux && (k->ctr & I8042_CTR_AUXINT));
}

static bool i8042_push(struct i8042 *k, u8 val, bool aux)
{
	if (k->count == I8042_QUEUE_SIZE) {
		log_guest("%s: output queue full, byte %#x dropped", k->name, val);
		return false;
	}
	k->queue[(k->head + k->count) % I8042_QUEUE_SIZE] = (struct i8042_byte){ val, aux };
	k->count++;
	return true;
}

/* Move the next byte into the empty output buffer: replies, keyboard, mouse. */
static void i8042_refill(struct i8042 *k)
{
	if (k->obuf_full)
		return;
	if (k->count) {
		k->obuf = k->queue[k->head].val;
		k->obuf_aux = k->queue[k->head].aux;
		k->head = (k->head + 1) % I8042_QUEUE_SIZE;
		k->count--;
		k->obuf_full = true;
		return;
	}
	while (!(k->ctr & I8042_CTR_KBDDIS) && !ps2_queue_empty(&k->kbd.q)) {
		u8 b = ps2_queue_pop(&k->kbd.q);

		if (k->ctr & I8042_CTR_XLATE) {
			if (b == 0xf0) {
				k->xlat_break = true;
				continue;
			}
			b = (u8)(i8042_xlat(b) | (k->xlat_break ? 0x80 : 0));
			k->xlat_break = false;
		}
		k->obuf = b;
		k->obuf_aux = false;
		k->obuf_full = true;
		return;
	}
	if (!(k->ctr & I8042_CTR_AUXDIS) && !ps2_queue_empty(&k->mouse.q)) {
		k->obuf = ps2_queue_pop(&k->mouse.q);
		k->obuf_aux = true;
		k->obuf_full = true;
	}
}

static void i8042_queue_clear(struct i8042 *k)
{
	k->head = 0;
	k->count = 0;
	k->obuf_full = false;
	k->obuf_aux = false;
	k->xlat_break = false;
}

static u8 i8042_read_data(struct i8042 *k)
{
	u8 val = k->obuf;

	if (!k->obuf_full)
		return val; /* the last byte again */
	k->obuf_full = false;
	i8042_set_lines(k, 0, 0); /* one edge per byte */
	i8042_refill(k);
	i8042_update_irq(k);
	return val;
}

static u8 i8042_read_status(const struct i8042 *k)
{
	u8 val = I8042_STR_KEYLOCK;

	if (k->obuf_full) {
		val |= I8042_STR_OBF;
		if (k->obuf_aux)
			val |= I8042_STR_AUXDATA;
	}
	if (k->ctr & I8042_CTR_SYSFLAG)
		val |= I8042_STR_SYSFLAG;
	if (k->last_cmd)
		val |= I8042_STR_CMDDAT;
	return val;
}

static u64 i8042_data_read(void *dev, u64 off, unsigned size)
{
	(void)off;
	(void)size;
	return i8042_read_data(dev);
}

static u64 i8042_status_read(void *dev, u64 off, unsigned size)
{
	(void)off;
	(void)size;
	return i8042_read_status(dev);
}

static void i8042_request_reset(struct i8042 *k, const char *why)
{
	log_info("%s: guest reset through %s", k->name, why);
	platform_request(k->p, PLATFORM_REQ_RESET, 0);
}

static void i8042_command(struct i8042 *k, u8 cmd)
{
	switch (cmd) {
	case I8042_CMD_CTL_RCTR:
		i8042_push(k, k->ctr, false);
		break;
	case I8042_CMD_CTL_WCTR:
	case I8042_CMD_WRITE_OUTP:
	case I8042_CMD_KBD_LOOP:
	case I8042_CMD_AUX_LOOP:
	case I8042_CMD_AUX_SEND:
		k->pending_cmd = cmd; /* the next data-port write is its argument */
		break;
	case I8042_CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_KBD_TEST:
		i8042_push(k, 0x00, false); /* interface OK */
		break;
	case I8042_CMD_CTL_TEST:
		i8042_push(k, I8042_CTL_TEST_OK, false);
		break;
	case I8042_CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_READ_OUTP:
		i8042_push(k, k->outp, false);
		break;
	default:
		if (cmd >= 0xf0) { /* pulse output lines whose bit is 0; bit 0 is CPU reset */
			if (!(cmd & I8042_OUTP_RESET))
				i8042_request_reset(k, "the keyboard controller (pulse)");
			break;
		}
		log_unimp("%s: controller command %#x not implemented", k->name, cmd);
		break;
	}
}

static void i8042_write_data(struct i8042 *k, u8 val)
{
	u8 cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case I8042_CMD_CTL_WCTR:
		k->ctr = val;
		break;
	case I8042_CMD_WRITE_OUTP:
		k->outp = val;
		if (!(val & I8042_OUTP_RESET))
			i8042_request_reset(k, "the keyboard controller output port");
		break;
	case I8042_CMD_KBD_LOOP:
		i8042_push(k, val, false);
		break;
	case I8042_CMD_AUX_LOOP:
		i8042_push(k, val, true);
		break;
	case I8042_CMD_AUX_SEND:
		ps2_mouse_write(&k->mouse, val);
		break;
	default:
		ps2_kbd_write(&k->kbd, val);
		break;
	}
}

static void i8042_data_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct i8042 *k = dev;

	(void)off;
	(void)size;
	k->last_cmd = false;
	i8042_write_data(k, (u8)val);
	i8042_refill(k);
	i8042_update_irq(k);
}

static void i8042_command_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct i8042 *k = dev;

	(void)off;
	(void)size;
	k->last_cmd = true;
	i8042_command(k, (u8)val);
	i8042_refill(k);
	i8042_update_irq(k);
}

static const struct io_ops i8042_data_io = {
	.read = i8042_data_read,
	.write = i8042_data_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops i8042_command_io = {
	.read = i8042_status_read,
	.write = i8042_command_write,
	.min_size = 1,
	.max_size = 1,
};

void i8042_reset(struct i8042 *k)
{
	k->ctr = I8042_CTR_DEFAULT;
	k->outp = I8042_OUTP_DEFAULT;
	k->last_cmd = false;
	k->pending_cmd = 0;
	k->obuf = 0;
	i8042_queue_clear(k);
	ps2_kbd_reset(&k->kbd);
	ps2_mouse_reset(&k->mouse);
	i8042_update_irq(k);
}

bool i8042_key(struct i8042 *k, unsigned key, bool down)
{
	bool ok = ps2_kbd_key(&k->kbd, key, down);

	i8042_refill(k);
	i8042_update_irq(k);
	return ok;
}

void i8042_mouse(struct i8042 *k, s32 dx, s32 dy, s32 dz, u8 buttons)
{
	ps2_mouse_event(&k->mouse, dx, dy, dz, buttons);
	i8042_refill(k);
	i8042_update_irq(k);
}

int i8042_create(struct platform *p, const struct i8042_config *cfg, struct irq_line kbd_irq,
		 struct irq_line aux_irq, struct i8042 **out, struct err *err)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	k->p = p;
	snprintf(k->name, sizeof(k->name), "%s", cfg->name);
	k->kbd_irq = kbd_irq;
	k->aux_irq = aux_irq;
	i8042_reset(k);
	ret = bus_map_dev(&p->pio, I8042_DATA_PORT, 1, &i8042_data_io, k, k->name, err);
	if (ret < 0)
		goto err_free;
	ret = bus_map_dev(&p->pio, I8042_COMMAND_PORT, 1, &i8042_command_io, k, k->name, err);
	if (ret < 0)
		goto err_unmap_data;
	*out = k;
	return 0;

err_unmap_data:
	bus_unmap(&p->pio, I8042_DATA_PORT);
err_free:
	free(k);
	return ret;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	bus_unmap(&k->p->pio, I8042_COMMAND_PORT);
	bus_unmap(&k->p->pio, I8042_DATA_PORT);
	free(k);
}

static void i8042_ops_reset(void *dev)
{
	i8042_reset(dev);
}

static void i8042_ops_destroy(void *dev)
{
	i8042_destroy(dev);
}

static int i8042_post_check(const struct i8042 *k, struct err *err)
{
	if (k->kbd_level != (k->obuf_full && !k->obuf_aux && (k->ctr & I8042_CTR_KBDINT)) ||
	    k->aux_level != (k->obuf_full && k->obuf_aux && (k->ctr & I8042_CTR_AUXINT)))
		return err_set(err, -EINVAL, "%s: interrupt levels do not match the output buffer",
			       k->name);
	return 0;
}

static int i8042_post_load(void *obj, u32 version, struct err *err)
{
	struct i8042 *k = obj;

	(void)version;
	if (i8042_post_check(k, err) < 0)
		return -EINVAL;
	if (k->kbd_level)
		irq_line_set(&k->kbd_irq, 1);
	if (k->aux_level)
		irq_line_set(&k->aux_irq, 1);
	return 0;
}

static const struct state_field i8042_byte_fields[] = {
	STATE_U8(struct i8042_byte, val),
	STATE_BOOL(struct i8042_byte, aux),
	STATE_END,
};

static const struct state_desc i8042_byte_state = {
	.name = "i8042-byte",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct i8042_byte),
	.fields = i8042_byte_fields,
};

static const struct state_field i8042_fields[] = {
	STATE_HOST(struct i8042, p, "the platform"),
	STATE_HOST(struct i8042, name, "the board's name"),
	STATE_HOST(struct i8042, kbd_irq, "the line the board wired"),
	STATE_HOST(struct i8042, aux_irq, "the line the board wired"),
	STATE_INT(struct i8042, kbd_level, STATE_MAX(1)),
	STATE_INT(struct i8042, aux_level, STATE_MAX(1)),
	STATE_U8(struct i8042, ctr),
	STATE_U8(struct i8042, outp),
	STATE_BOOL(struct i8042, last_cmd),
	STATE_U8(struct i8042, pending_cmd),
	STATE_U8(struct i8042, obuf),
	STATE_BOOL(struct i8042, obuf_full),
	STATE_BOOL(struct i8042, obuf_aux),
	STATE_BOOL(struct i8042, xlat_break),
	STATE_STRUCT_ARRAY(struct i8042, queue, i8042_byte_state),
	STATE_U32(struct i8042, head, STATE_MAX(I8042_QUEUE_SIZE - 1)),
	STATE_U32(struct i8042, count, STATE_MAX(I8042_QUEUE_SIZE)),
	STATE_STRUCT(struct i8042, kbd, ps2_kbd_state),
	STATE_STRUCT(struct i8042, mouse, ps2_mouse_state),
	STATE_END,
};

static const struct state_desc i8042_state = {
	.name = "i8042",
	.version = 2, /* 2: an output buffer, and PS/2 keyboard and mouse devices */
	.min_version = 2,
	STATE_LAYOUT(struct i8042),
	.fields = i8042_fields,
	.post_load = i8042_post_load,
};

const struct device_ops i8042_device_ops = {
	.type = "i8042",
	.reset = i8042_ops_reset,
	.state = &i8042_state,
	.destroy = i8042_ops_destroy,
};
