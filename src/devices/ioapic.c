// SPDX-License-Identifier: MIT
/*
 * Intel 82093AA I/O APIC (82093AA datasheet): the indirect register window
 * IOREGSEL/IOWIN (3.0), IOAPICID, IOAPICVER (version 0x11, 24 entries),
 * IOAPICARB (3.2.3, read-only, loaded from the ID) and the 24-entry
 * redirection table (3.2.4): vector, delivery mode, destination mode and
 * destination, trigger mode, mask, and the read-only Delivery Status and
 * Remote IRR bits.
 *
 * Edge entries send one message per rising edge of an unmasked input; an
 * edge on a masked input is lost. Level entries send a message when the
 * input is asserted, unmasked and Remote IRR is clear, and set Remote IRR;
 * the local APIC's EOI broadcast for that vector (ioapic_eoi) clears it and,
 * if the input is still asserted, sends again. Messages go synchronously to
 * the APIC bus callback, so Delivery Status always reads 0.
 *
 * Also here: the MSI address/data decoding of Intel SDM vol. 3A 11.11.1 and
 * 11.11.2, into the same struct apic_msg.
 *
 * Not modelled: the input polarity bit (stored; lines carry logical levels,
 * see ioapic.h), the 0x40 EOI register of later I/O APIC versions (0x20+),
 * arbitration, and the redirection hint of MSIs beyond passing lowest-priority
 * delivery on.
 */
#include "devices/ioapic.h"

#include "devices/ioapic_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ioapic {
	struct platform *p;
	char name[32];
	u64 base;
	u8 reset_id;
	u32 id; /* IOAPICID register value */
	u8 regsel;
	u32 pins; /* asserted inputs */
	u64 redtbl[IOAPIC_NR_PINS];
	apic_deliver_fn deliver;
	void *deliver_opaque;
};

static void ioapic_send(struct ioapic *io, unsigned pin)
{
	u64 rte = io->redtbl[pin];
	struct apic_msg m = {
		.dest = (u32)(rte >> IOAPIC_RTE_DEST_SHIFT),
		.dest_logical = rte & IOAPIC_RTE_DESTMOD,
		.delivery = (u8)((rte & IOAPIC_RTE_DELMOD_MASK) >> IOAPIC_RTE_DELMOD_SHIFT),
		.vector = (u8)(rte & IOAPIC_RTE_VECTOR_MASK),
		.level_trig = rte & IOAPIC_RTE_TRIGGER_LEVEL,
		.assert = true,
	};

	log_dbg(LOG_CAT_IRQ, "%s: pin %u -> vector %#x dest %#x%s", io->name, pin, m.vector, m.dest,
		m.dest_logical ? " logical" : "");
	if (m.level_trig)
		io->redtbl[pin] |= IOAPIC_RTE_REMOTE_IRR;
	if (io->deliver)
		io->deliver(io->deliver_opaque, &m);
}

/* A level entry sends while asserted, unmasked and not waiting for its EOI. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
	u64 rte = io->redtbl[pin];

	if (!(rte & IOAPIC_RTE_TRIGGER_LEVEL) ||
	    (rte & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)))
		return;
	if (io->pins & (1u << pin))
		ioapic_send(io, pin);
}

static void ioapic_input_set(void *sink, unsigned pin, int level)
{
	struct ioapic *io = sink;
	u32 bit;
	bool was;
	u64 rte;

	if (pin >= IOAPIC_NR_PINS)
		return;
	bit = 1u << pin;
	was = io->pins & bit;
	rte = io->redtbl[pin];
	if (level)
		io->pins |= bit;
	else
		io->pins &= ~bit;
	if (rte & IOAPIC_RTE_TRIGGER_LEVEL)
		ioapic_service_level(io, pin);
	else if (level && !was && !(rte & IOAPIC_RTE_MASKED))
		ioapic_send(io, pin);
}

struct irq_line ioapic_input(struct ioapic *io, unsigned pin)
{
	return (struct irq_line){ .set = ioapic_input_set, .sink = io, .pin = pin };
}

int ioapic_pin_vector(const struct ioapic *io, unsigned pin)
{
	if (pin >= IOAPIC_NR_PINS || (io->redtbl[pin] & IOAPIC_RTE_MASKED))
		return -1;
	return (int)(io->redtbl[pin] & IOAPIC_RTE_VECTOR_MASK);
}

void ioapic_eoi(struct ioapic *io, u8 vector)
{
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		u64 rte = io->redtbl[pin];

		if (!(rte & IOAPIC_RTE_TRIGGER_LEVEL) || (rte & IOAPIC_RTE_VECTOR_MASK) != vector)
			continue;
		io->redtbl[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
		ioapic_service_level(io, pin);
	}
}

static u32 ioapic_read_reg(struct ioapic *io)
{
	unsigned reg = io->regsel, pin;

	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VER:
		return (IOAPIC_NR_PINS - 1) << IOAPIC_VER_MAX_SHIFT | IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		return io->id & IOAPIC_ID_MASK;
	default:
		if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NR_PINS)
			return 0;
		pin = (reg - IOAPIC_REG_REDTBL) / 2;
		return (reg & 1) ? (u32)(io->redtbl[pin] >> 32) : (u32)io->redtbl[pin];
	}
}

static void ioapic_write_rte(struct ioapic *io, unsigned pin, bool high, u32 val)
{
	u64 old = io->redtbl[pin], rte;

	if (high)
		rte = (old & 0xffffffffull) | (u64)val << 32;
	else
		rte = (old & ~0xffffffffull) | val;
	rte = (rte & ~IOAPIC_RTE_RO_BITS) | (old & IOAPIC_RTE_RO_BITS);
	if (!(rte & IOAPIC_RTE_TRIGGER_LEVEL))
		rte &= ~IOAPIC_RTE_REMOTE_IRR; /* edge entries have no Remote IRR */
	io->redtbl[pin] = rte;
	/* Unmasking (or switching to level) an asserted level input sends it now. */
	ioapic_service_level(io, pin);
}

static void ioapic_write_reg(struct ioapic *io, u32 val)
{
	unsigned reg = io->regsel;

	switch (reg) {
	case IOAPIC_REG_ID:
		io->id = val & IOAPIC_ID_MASK;
		break;
	case IOAPIC_REG_VER:
	case IOAPIC_REG_ARB:
		break; /* read-only */
	default:
		if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NR_PINS) {
			log_guest("%s: write to unknown register %#x ignored", io->name, reg);
			break;
		}
		ioapic_write_rte(io, (reg - IOAPIC_REG_REDTBL) / 2, reg & 1, val);
		break;
	}
}

static u64 ioapic_read(void *dev, u64 off, unsigned size)
{
	struct ioapic *io = dev;

	(void)size;
	switch (off) {
	case IOAPIC_IOREGSEL:
		return io->regsel;
	case IOAPIC_IOWIN:
		return ioapic_read_reg(io);
	default:
		return 0;
	}
}

static void ioapic_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct ioapic *io = dev;

	(void)size;
	switch (off) {
	case IOAPIC_IOREGSEL:
		io->regsel = (u8)val;
		break;
	case IOAPIC_IOWIN:
		ioapic_write_reg(io, (u32)val);
		break;
	default:
		break;
	}
}

static const struct io_ops ioapic_io = {
	.read = ioapic_read,
	.write = ioapic_write,
	.min_size = 4,
	.max_size = 4,
};

int ioapic_msi_decode(u64 addr, u32 data, struct apic_msg *m)
{
	if ((addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
		return -EINVAL;
	*m = (struct apic_msg){
		.dest = (u32)(addr >> MSI_ADDR_DEST_SHIFT) & MSI_ADDR_DEST_MASK,
		.dest_logical = addr & MSI_ADDR_DM,
		.delivery = (u8)((data >> MSI_DATA_DELMOD_SHIFT) & 7),
		.vector = (u8)(data & MSI_DATA_VECTOR_MASK),
		.level_trig = data & MSI_DATA_TRIGGER,
		.assert = !(data & MSI_DATA_TRIGGER) || (data & MSI_DATA_LEVEL),
	};
	return 0;
}

void ioapic_reset(struct ioapic *io)
{
	io->id = (u32)io->reset_id << IOAPIC_ID_SHIFT;
	io->regsel = 0;
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++)
		io->redtbl[pin] = IOAPIC_RTE_MASKED;
}

int ioapic_create(struct platform *p, const struct ioapic_config *cfg, struct ioapic **out,
		  struct err *err)
{
	struct ioapic *io = calloc(1, sizeof(*io));
	int ret;

	if (!io)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	io->p = p;
	snprintf(io->name, sizeof(io->name), "%s", cfg->name);
	io->base = cfg->base;
	io->reset_id = cfg->id & 0x0f;
	io->deliver = cfg->deliver;
	io->deliver_opaque = cfg->deliver_opaque;
	ioapic_reset(io);
	ret = bus_map_dev(&p->mmio, cfg->base, IOAPIC_MMIO_SIZE, &ioapic_io, io, io->name, err);
	if (ret < 0) {
		free(io);
		return ret;
	}
	*out = io;
	return 0;
}

void ioapic_destroy(struct ioapic *io)
{
	if (!io)
		return;
	bus_unmap(&io->p->mmio, io->base);
	free(io);
}

static void ioapic_ops_reset(void *dev)
{
	ioapic_reset(dev);
}

static void ioapic_ops_destroy(void *dev)
{
	ioapic_destroy(dev);
}

/* The pins' levels are state: the sources' post_load finds them high and sends nothing. */
void ioapic_export(const struct ioapic *io, struct chips_ioapic *out)
{
	*out = (struct chips_ioapic){ .id = (u8)((io->id & IOAPIC_ID_MASK) >> 24),
				      .regsel = io->regsel,
				      .irr = io->pins };
	memcpy(out->redtbl, io->redtbl, sizeof(out->redtbl));
}

void ioapic_import(struct ioapic *io, const struct chips_ioapic *in)
{
	io->id = ((u32)in->id << 24) & IOAPIC_ID_MASK;
	io->regsel = in->regsel;
	io->pins = in->irr & (u32)((1ull << IOAPIC_NR_PINS) - 1);
	memcpy(io->redtbl, in->redtbl, sizeof(io->redtbl));
}

static const struct state_field ioapic_fields[] = {
	STATE_HOST(struct ioapic, p, "the platform"),
	STATE_HOST(struct ioapic, name, "the board's name"),
	STATE_U64(struct ioapic, base, STATE_CHECKED),
	STATE_U8(struct ioapic, reset_id, STATE_CHECKED),
	STATE_U32(struct ioapic, id, STATE_MAX(IOAPIC_ID_MASK)),
	STATE_U8(struct ioapic, regsel),
	STATE_U32(struct ioapic, pins, STATE_MAX((1ull << IOAPIC_NR_PINS) - 1)),
	STATE_ARRAY(struct ioapic, redtbl, U64),
	STATE_HOST(struct ioapic, deliver, "the APIC bus the board wired"),
	STATE_HOST(struct ioapic, deliver_opaque, "the APIC bus the board wired"),
	STATE_END,
};

static const struct state_desc ioapic_state = {
	.name = "ioapic",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ioapic),
	.fields = ioapic_fields,
};

const struct device_ops ioapic_device_ops = {
	.type = "ioapic",
	.reset = ioapic_ops_reset,
	.state = &ioapic_state,
	.destroy = ioapic_ops_destroy,
};
