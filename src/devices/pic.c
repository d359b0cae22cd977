// SPDX-License-Identifier: MIT
/*
 * Intel 8259A programmable interrupt controller pair as wired in the PC
 * (8259A datasheet): master at 0x20/0x21, slave at 0xa0/0xa1 with its INT
 * output on the master's IR2, plus the PIIX ELCR1/ELCR2 registers at
 * 0x4d0/0x4d1 choosing edge or level sensing per input (82371AB PIIX4
 * datasheet 4.1.4).
 *
 * Modelled: the ICW1-ICW4 initialization sequence ("Initialization Command
 * Words"), OCW1 (IMR), OCW2 (non-specific and specific EOI, rotate on EOI,
 * rotate in auto-EOI, set priority), OCW3 (read IRR/ISR, poll command,
 * special mask mode), auto-EOI, special fully nested mode on the master,
 * priority resolution with rotation ("Interrupt Sequence", "Priority
 * Modes"), edge sensing that needs a low-to-high transition after ICW1 and
 * level sensing where IRR follows the input, and the spurious IR7/IR15
 * vector when a request vanishes before the acknowledge ("Edge and Level
 * Triggered Modes").
 *
 * The cascade: the master's IR2 follows the slave's INT output as a level,
 * whatever ELCR1 says (PIIX fixes IR2 to edge, but the slave's INT in a real
 * pair drops during each INTA sequence, which a level models without a race).
 *
 * Not modelled: 8080/8085 mode (ICW4 uPM = 0 is logged and treated as 8086
 * mode), buffered mode and master/slave selection (ICW4 BUF, M/S), and
 * cascades other than the PC's.
 */
#include "devices/pic.h"

#include "devices/pic_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pic_chip {
	u8 irr, isr, imr;
	u8 pins; /* current input levels */
	u8 elcr, elcr_mask;
	u8 icw2; /* vector base in bits 7-3 */
	u8 icw3;
	u8 init_step;	  /* 0: operating; 2, 3, 4: the next ICW expected on port A0 = 1 */
	u8 priority_base; /* the input with the highest priority (rotation) */
	bool icw1_ic4, icw1_single, icw1_ltim;
	bool auto_eoi, rotate_on_aeoi, sfnm, special_mask;
	bool read_isr, poll;
	bool int_out;
};

struct pic {
	struct platform *p;
	char name[32];
	u16 master_base, slave_base, elcr_base;
	bool bios_state;
	struct irq_line intr_out;
	struct pic_chip chip[2]; /* 0 master, 1 slave */
};

static const char *pic_chip_name(const struct pic *pic, const struct pic_chip *c)
{
	return c == &pic->chip[0] ? "master" : "slave";
}

/* Priority number of input irq: 0 is the highest. */
static unsigned pic_prio(const struct pic_chip *c, unsigned irq)
{
	return (irq - c->priority_base) & 7;
}

/* The highest-priority input set in mask, or -1. */
static int pic_highest(const struct pic_chip *c, u8 mask)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned irq = (c->priority_base + i) & 7;

		if (mask & (1u << irq))
			return (int)irq;
	}
	return -1;
}

/* The request the chip would present now (fully nested priority), or -1. */
static int pic_chip_pending(const struct pic_chip *c, bool is_master)
{
	int req = pic_highest(c, c->irr & ~c->imr);
	u8 in_service = c->isr;
	int cur;

	if (req < 0)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr; /* masked levels in service block nothing */
	if (is_master && c->sfnm)
		in_service &= ~(1u << PIC_CASCADE_IRQ); /* the slave nests on its own */
	cur = pic_highest(c, in_service);
	if (cur >= 0 && pic_prio(c, (unsigned)req) >= pic_prio(c, (unsigned)cur))
		return -1;
	return req;
}

static bool pic_chip_level_mode(const struct pic_chip *c, unsigned irq)
{
	return c->icw1_ltim || (c->elcr & (1u << irq));
}

/* An input changed: edge sensing latches rising edges, level sensing follows the input. */
static void pic_chip_set_pin(struct pic_chip *c, unsigned irq, int level)
{
	u8 bit = (u8)(1u << irq);

	if (pic_chip_level_mode(c, irq)) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->pins & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->pins |= bit;
	else
		c->pins &= ~bit;
}

/* Recompute both INT outputs: slave INT into master IR2, master INT onto intr_out. */
static void pic_update(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	bool level;

	s->int_out = pic_chip_pending(s, false) >= 0;
	/* IR2 is level-sensed from the slave (see the header comment). */
	if (s->int_out) {
		m->irr |= 1u << PIC_CASCADE_IRQ;
		m->pins |= 1u << PIC_CASCADE_IRQ;
	} else {
		m->irr &= ~(1u << PIC_CASCADE_IRQ);
		m->pins &= ~(1u << PIC_CASCADE_IRQ);
	}
	level = pic_chip_pending(m, true) >= 0;
	if (level != m->int_out) {
		m->int_out = level;
		log_dbg(LOG_CAT_IRQ, "%s: INTR %d", pic->name, level);
		irq_line_set(&pic->intr_out, level);
	}
}

static void pic_input_set(void *sink, unsigned pin, int level)
{
	struct pic *pic = sink;

	if (pin >= PIC_NR_IRQS || pin == PIC_CASCADE_IRQ)
		return;
	pic_chip_set_pin(&pic->chip[pin >> 3], pin & 7, level);
	pic_update(pic);
}

struct irq_line pic_input(struct pic *pic, unsigned irq)
{
	return (struct irq_line){ .set = pic_input_set, .sink = pic, .pin = irq };
}

/* Acknowledge on one chip: returns the input taken, or 7 for a spurious request. */
static unsigned pic_chip_ack(struct pic_chip *c, bool is_master, bool *spurious)
{
	int irq = pic_chip_pending(c, is_master);
	u8 bit;

	*spurious = irq < 0;
	if (irq < 0)
		return 7;
	bit = (u8)(1u << irq);
	if (!pic_chip_level_mode(c, (unsigned)irq))
		c->irr &= ~bit;
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_on_aeoi)
		c->priority_base = (u8)((irq + 1) & 7);
	return (unsigned)irq;
}

static u8 pic_chip_vector(const struct pic_chip *c, unsigned irq)
{
	return (u8)((c->icw2 & 0xf8) | irq);
}

int pic_ack(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	bool spurious;
	unsigned irq = pic_chip_ack(m, true, &spurious);
	int vector;

	if (!spurious && irq == PIC_CASCADE_IRQ && !m->icw1_single) {
		unsigned sirq = pic_chip_ack(s, false, &spurious);

		vector = pic_chip_vector(s, sirq);
		if (spurious)
			log_dbg(LOG_CAT_IRQ, "%s: spurious IRQ15", pic->name);
	} else {
		vector = pic_chip_vector(m, irq);
		if (spurious)
			log_dbg(LOG_CAT_IRQ, "%s: spurious IRQ7", pic->name);
	}
	pic_update(pic);
	return vector;
}

u8 pic_irq_vector(const struct pic *pic, unsigned irq)
{
	return pic_chip_vector(&pic->chip[0], irq & 7);
}

bool pic_intr_level(const struct pic *pic)
{
	return pic->chip[0].int_out;
}

/* OCW3 poll: the next read returns the poll word and acts as an acknowledge on this chip. */
static u8 pic_chip_poll(struct pic *pic, struct pic_chip *c)
{
	bool is_master = c == &pic->chip[0], spurious;
	unsigned irq;

	c->poll = false;
	irq = pic_chip_ack(c, is_master, &spurious);
	pic_update(pic);
	return spurious ? 0 : (u8)(PIC_POLL_INT | irq);
}

static void pic_chip_eoi(struct pic_chip *c, u8 cmd, unsigned level)
{
	int irq;

	switch (cmd) {
	case PIC_OCW2_EOI:
	case PIC_OCW2_ROTATE_EOI:
		irq = pic_highest(c, c->isr);
		if (irq < 0)
			return;
		c->isr &= ~(1u << irq);
		if (cmd == PIC_OCW2_ROTATE_EOI)
			c->priority_base = (u8)((irq + 1) & 7);
		break;
	case PIC_OCW2_SPECIFIC_EOI:
	case PIC_OCW2_ROTATE_SPECIFIC:
		c->isr &= ~(1u << level);
		if (cmd == PIC_OCW2_ROTATE_SPECIFIC)
			c->priority_base = (u8)((level + 1) & 7);
		break;
	case PIC_OCW2_SET_PRIORITY:
		c->priority_base = (u8)((level + 1) & 7); /* level becomes the lowest */
		break;
	case PIC_OCW2_ROTATE_AEOI_SET:
		c->rotate_on_aeoi = true;
		break;
	case PIC_OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_on_aeoi = false;
		break;
	default: /* NOP */
		break;
	}
}

/* ICW1: start the initialization sequence (datasheet, "Initialization Command Words"). */
static void pic_chip_icw1(struct pic_chip *c, u8 val)
{
	c->icw1_ic4 = val & PIC_ICW1_IC4;
	c->icw1_single = val & PIC_ICW1_SNGL;
	c->icw1_ltim = val & PIC_ICW1_LTIM;
	c->init_step = 2;
	c->imr = 0;
	c->isr = 0;
	c->priority_base = 0; /* IR7 lowest */
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->auto_eoi = false;
	c->rotate_on_aeoi = false;
	c->sfnm = false;
	/* Edge sense reset: edge inputs need a new rising edge; levels still count. */
	c->irr = 0;
	for (unsigned irq = 0; irq < 8; irq++)
		if (pic_chip_level_mode(c, irq) && (c->pins & (1u << irq)))
			c->irr |= (u8)(1u << irq);
}

static void pic_chip_write_cmd(struct pic_chip *c, u8 val)
{
	if (val & PIC_ICW1) {
		pic_chip_icw1(c, val);
	} else if (val & PIC_OCW3) {
		if (val & PIC_OCW3_ESMM)
			c->special_mask = val & PIC_OCW3_SMM;
		if (val & PIC_OCW3_RR)
			c->read_isr = val & PIC_OCW3_RIS;
		c->poll = val & PIC_OCW3_P;
	} else {
		pic_chip_eoi(c, val & PIC_OCW2_CMD_MASK, val & PIC_OCW2_LEVEL_MASK);
	}
}

static void pic_chip_write_data(struct pic *pic, struct pic_chip *c, u8 val)
{
	switch (c->init_step) {
	case 2:
		c->icw2 = val;
		c->init_step = c->icw1_single ? (c->icw1_ic4 ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw1_ic4 ? 4 : 0;
		break;
	case 4:
		if (!(val & PIC_ICW4_UPM))
			log_unimp("%s: %s ICW4 selects 8080 mode, using 8086 mode", pic->name,
				  pic_chip_name(pic, c));
		c->auto_eoi = val & PIC_ICW4_AEOI;
		c->sfnm = val & PIC_ICW4_SFNM;
		c->init_step = 0;
		break;
	default:
		c->imr = val; /* OCW1 */
		break;
	}
}

static u64 pic_chip_read(struct pic *pic, struct pic_chip *c, u64 off)
{
	if (c->poll)
		return pic_chip_poll(pic, c);
	if (off == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static u64 pic_master_read(void *dev, u64 off, unsigned size)
{
	struct pic *pic = dev;

	(void)size;
	return pic_chip_read(pic, &pic->chip[0], off);
}

static u64 pic_slave_read(void *dev, u64 off, unsigned size)
{
	struct pic *pic = dev;

	(void)size;
	return pic_chip_read(pic, &pic->chip[1], off);
}

static void pic_chip_write(struct pic *pic, struct pic_chip *c, u64 off, u8 val)
{
	if (off == 0)
		pic_chip_write_cmd(c, val);
	else
		pic_chip_write_data(pic, c, val);
	pic_update(pic);
}

static void pic_master_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pic *pic = dev;

	(void)size;
	pic_chip_write(pic, &pic->chip[0], off, (u8)val);
}

static void pic_slave_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pic *pic = dev;

	(void)size;
	pic_chip_write(pic, &pic->chip[1], off, (u8)val);
}

static u64 pic_elcr_read(void *dev, u64 off, unsigned size)
{
	struct pic *pic = dev;

	(void)size;
	return pic->chip[off & 1].elcr;
}

static void pic_elcr_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pic *pic = dev;
	struct pic_chip *c = &pic->chip[off & 1];

	(void)size;
	c->elcr = (u8)val & c->elcr_mask;
	/* A level input already high is a request now; an edge input keeps its IRR. */
	for (unsigned irq = 0; irq < 8; irq++)
		if (pic_chip_level_mode(c, irq) && !(c->pins & (1u << irq)))
			c->irr &= ~(1u << irq);
		else if (pic_chip_level_mode(c, irq))
			c->irr |= (u8)(1u << irq);
	pic_update(pic);
}

static const struct io_ops pic_master_io = {
	.read = pic_master_read,
	.write = pic_master_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops pic_slave_io = {
	.read = pic_slave_read,
	.write = pic_slave_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops pic_elcr_io = {
	.read = pic_elcr_read,
	.write = pic_elcr_write,
	.min_size = 1,
	.max_size = 1,
};

void pic_reset(struct pic *pic)
{
	for (unsigned i = 0; i < 2; i++) {
		struct pic_chip *c = &pic->chip[i];
		u8 pins = c->pins, mask = c->elcr_mask;

		memset(c, 0, sizeof(*c));
		c->pins = pins;
		c->elcr_mask = mask;
		if (pic->bios_state) {
			/* ICW1 11h (edge, cascade, ICW4), ICW2 base, ICW3, ICW4 01h (8086). */
			c->icw1_ic4 = true;
			c->icw2 = i ? PIC_BIOS_SLAVE_BASE : PIC_BIOS_MASTER_BASE;
			c->icw3 = i ? 2 : 1u << 2;
			c->imr = i ? PIC_BIOS_SLAVE_IMR : PIC_BIOS_MASTER_IMR;
		}
	}
	pic->chip[0].int_out = true; /* force the update below to drive the line low */
	pic_update(pic);
}

int pic_create(struct platform *p, const struct pic_config *cfg, struct irq_line intr_out,
	       struct pic **out, struct err *err)
{
	struct pic *pic = calloc(1, sizeof(*pic));
	int ret;

	if (!pic)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	pic->p = p;
	snprintf(pic->name, sizeof(pic->name), "%s", cfg->name);
	pic->master_base = cfg->master_base;
	pic->slave_base = cfg->slave_base;
	pic->elcr_base = cfg->elcr_base;
	pic->bios_state = cfg->bios_state;
	pic->intr_out = intr_out;
	pic->chip[0].elcr_mask = PIC_ELCR1_MASK;
	pic->chip[1].elcr_mask = PIC_ELCR2_MASK;
	ret = bus_map_dev(&p->pio, cfg->master_base, 2, &pic_master_io, pic, pic->name, err);
	if (ret < 0)
		goto err_free;
	ret = bus_map_dev(&p->pio, cfg->slave_base, 2, &pic_slave_io, pic, pic->name, err);
	if (ret < 0)
		goto err_unmap_master;
	if (cfg->elcr_base) {
		ret = bus_map_dev(&p->pio, cfg->elcr_base, 2, &pic_elcr_io, pic, pic->name, err);
		if (ret < 0)
			goto err_unmap_slave;
	}
	if (pic->bios_state)
		pic_reset(pic);
	*out = pic;
	return 0;

err_unmap_slave:
	bus_unmap(&p->pio, cfg->slave_base);
err_unmap_master:
	bus_unmap(&p->pio, cfg->master_base);
err_free:
	free(pic);
	return ret;
}

void pic_destroy(struct pic *pic)
{
	if (!pic)
		return;
	if (pic->elcr_base)
		bus_unmap(&pic->p->pio, pic->elcr_base);
	bus_unmap(&pic->p->pio, pic->slave_base);
	bus_unmap(&pic->p->pio, pic->master_base);
	free(pic);
}

static void pic_ops_reset(void *dev)
{
	pic_reset(dev);
}

static void pic_ops_destroy(void *dev)
{
	pic_destroy(dev);
}

void pic_export(const struct pic *pic, struct chips_pic out[2])
{
	for (unsigned i = 0; i < 2; i++) {
		const struct pic_chip *c = &pic->chip[i];

		out[i] = (struct chips_pic){ .irr = c->irr,
					     .isr = c->isr,
					     .imr = c->imr,
					     .pins = c->pins,
					     .elcr = c->elcr,
					     .irq_base = c->icw2,
					     .icw3 = c->icw3,
					     .init_step = c->init_step,
					     .priority_base = c->priority_base,
					     .ic4 = c->icw1_ic4,
					     .single = c->icw1_single,
					     .ltim = c->icw1_ltim,
					     .auto_eoi = c->auto_eoi,
					     .rotate_on_aeoi = c->rotate_on_aeoi,
					     .sfnm = c->sfnm,
					     .special_mask = c->special_mask,
					     .read_isr = c->read_isr,
					     .poll = c->poll };
	}
}

int pic_import(struct pic *pic, const struct chips_pic in[2], struct err *err)
{
	for (unsigned i = 0; i < 2; i++) {
		if (in[i].init_step == 1 || in[i].init_step > 4 || in[i].priority_base > 7)
			return err_set(err, -EINVAL, "%s: %s: init step %u, priority base %u",
				       pic->name, i ? "slave" : "master", in[i].init_step,
				       in[i].priority_base);
	}
	for (unsigned i = 0; i < 2; i++) {
		struct pic_chip *c = &pic->chip[i];

		c->irr = in[i].irr;
		c->isr = in[i].isr;
		c->imr = in[i].imr;
		c->pins = in[i].pins;
		c->elcr = in[i].elcr & c->elcr_mask;
		c->icw2 = in[i].irq_base;
		c->icw3 = in[i].icw3;
		c->init_step = in[i].init_step;
		c->priority_base = in[i].priority_base;
		c->icw1_ic4 = in[i].ic4;
		c->icw1_single = in[i].single;
		c->icw1_ltim = in[i].ltim;
		c->auto_eoi = in[i].auto_eoi;
		c->rotate_on_aeoi = in[i].rotate_on_aeoi;
		c->sfnm = in[i].sfnm;
		c->special_mask = in[i].special_mask;
		c->read_isr = in[i].read_isr;
		c->poll = in[i].poll;
	}
	pic_update(pic); /* INT outputs from the registers, the CPU's INTR with them */
	return 0;
}

/* An initialization sequence expects ICW2, 3 or 4 (never 1); the CPU's INTR was high if int_out. */
static int pic_post_load(void *obj, u32 version, struct err *err)
{
	struct pic *pic = obj;

	(void)version;
	for (unsigned i = 0; i < 2; i++)
		if (pic->chip[i].init_step == 1)
			return err_set(err, -EINVAL, "%s: %s: no ICW1 step to resume at", pic->name,
				       pic_chip_name(pic, &pic->chip[i]));
	if (pic->chip[0].int_out)
		irq_line_set(&pic->intr_out, 1);
	return 0;
}

static const struct state_field pic_chip_fields[] = {
	STATE_U8(struct pic_chip, irr),
	STATE_U8(struct pic_chip, isr),
	STATE_U8(struct pic_chip, imr),
	STATE_U8(struct pic_chip, pins),
	STATE_U8(struct pic_chip, elcr),
	STATE_U8(struct pic_chip, elcr_mask, STATE_CHECKED),
	STATE_U8(struct pic_chip, icw2),
	STATE_U8(struct pic_chip, icw3),
	STATE_U8(struct pic_chip, init_step, STATE_MAX(4)),
	STATE_U8(struct pic_chip, priority_base, STATE_MAX(7)),
	STATE_BOOL(struct pic_chip, icw1_ic4),
	STATE_BOOL(struct pic_chip, icw1_single),
	STATE_BOOL(struct pic_chip, icw1_ltim),
	STATE_BOOL(struct pic_chip, auto_eoi),
	STATE_BOOL(struct pic_chip, rotate_on_aeoi),
	STATE_BOOL(struct pic_chip, sfnm),
	STATE_BOOL(struct pic_chip, special_mask),
	STATE_BOOL(struct pic_chip, read_isr),
	STATE_BOOL(struct pic_chip, poll),
	STATE_BOOL(struct pic_chip, int_out),
	STATE_END,
};

static const struct state_desc pic_chip_state = {
	.name = "pic-chip",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pic_chip),
	.fields = pic_chip_fields,
};

static const struct state_field pic_fields[] = {
	STATE_HOST(struct pic, p, "the platform"),
	STATE_HOST(struct pic, name, "the board's name"),
	STATE_U16(struct pic, master_base, STATE_CHECKED),
	STATE_U16(struct pic, slave_base, STATE_CHECKED),
	STATE_U16(struct pic, elcr_base, STATE_CHECKED),
	STATE_HOST(struct pic, intr_out, "the CPU side the board wired"),
	STATE_HOST(struct pic, bios_state,
		   "the board's choice (no firmware runs); only reset reads it"),
	STATE_STRUCT_ARRAY(struct pic, chip, pic_chip_state),
	STATE_END,
};

static const struct state_desc pic_state = {
	.name = "pic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pic),
	.fields = pic_fields,
	.post_load = pic_post_load,
};

const struct device_ops pic_device_ops = {
	.type = "pic",
	.reset = pic_ops_reset,
	.state = &pic_state,
	.destroy = pic_ops_destroy,
};
