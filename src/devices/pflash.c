// SPDX-License-Identifier: MIT
/*
 * Parallel NOR flash, Intel command set, one byte wide (pflash.h). The bank is a small state
 * machine: a mode says what a read returns (the array, the status register, the identifier,
 * the CFI query table) and what the next write means (a command, the byte to program, the
 * erase confirmation). Program and erase complete at once (the status register is ready as
 * soon as the guest reads it); a writable bank persists the changed range before the write
 * returns, a read-only bank fails them as a locked block.
 */
#include "devices/pflash.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pflash_mode {
	PFLASH_MODE_ARRAY,   /* reads return the contents */
	PFLASH_MODE_STATUS,  /* reads return the status register */
	PFLASH_MODE_ID,	     /* reads return the identifier codes */
	PFLASH_MODE_CFI,     /* reads return the CFI query table */
	PFLASH_MODE_PROGRAM, /* the next write is the byte to program */
	PFLASH_MODE_ERASE,   /* the next write must be the erase confirmation */
	PFLASH_NR_MODES,
};

/* The CFI query table starts at this offset (in bytes: the bank is one byte wide). */
#define PFLASH_CFI_BASE 0x10
#define PFLASH_CFI_LEN	0x21

struct pflash {
	struct platform *p;
	char name[32];
	u64 base, size;
	u32 block_size;
	bool read_only;
	u8 *data;
	pflash_persist_fn persist;
	void *persist_opaque;
	u8 cfi[PFLASH_CFI_LEN]; /* derived from the geometry at creation */
	u32 mode;		/* enum pflash_mode */
	u8 status;
	u64 programs, erases, refused; /* statistics (vm.counters) */
};

static unsigned pflash_log2_ceil(u64 v)
{
	unsigned n = 0;

	while (n < 63 && (1ull << n) < v)
		n++;
	return n;
}

/* The CFI query table (JEDEC JESD68): identification, system interface, geometry. */
static void pflash_build_cfi(struct pflash *f)
{
	u8 *q = f->cfi;
	u32 blocks = (u32)(f->size / f->block_size) - 1;
	u32 units = f->block_size / 256;

	memset(q, 0, sizeof(f->cfi));
	q[0x00] = 'Q';
	q[0x01] = 'R';
	q[0x02] = 'Y';
	q[0x03] = 0x01;				 /* primary command set: Intel/Sharp extended */
	q[0x0b] = 0x45;				 /* Vcc min 4.5 V */
	q[0x0c] = 0x55;				 /* Vcc max 5.5 V */
	q[0x0f] = 0x04;				 /* typical byte program: 2^4 us */
	q[0x11] = 0x0a;				 /* typical block erase: 2^10 ms */
	q[0x13] = 0x04;				 /* maximum byte program: 2^4 times typical */
	q[0x15] = 0x04;				 /* maximum block erase: 2^4 times typical */
	q[0x17] = (u8)pflash_log2_ceil(f->size); /* device size: 2^n bytes */
	q[0x18] = 0x00;				 /* interface: x8 asynchronous */
	q[0x1c] = 1;				 /* one erase block region */
	q[0x1d] = (u8)blocks;
	q[0x1e] = (u8)(blocks >> 8);
	q[0x1f] = (u8)units;
	q[0x20] = (u8)(units >> 8);
}

static u8 pflash_read_byte(const struct pflash *f, u64 off)
{
	switch (f->mode) {
	case PFLASH_MODE_ARRAY:
		return f->data[off];
	case PFLASH_MODE_ID:
		/* Offset 0: manufacturer, 1: device, 2 of each block: its lock state (unlocked). */
		switch (off & 0xff) {
		case 0:
			return PFLASH_MANUFACTURER;
		case 1:
			return PFLASH_DEVICE_ID;
		default:
			return 0;
		}
	case PFLASH_MODE_CFI:
		off &= 0xff;
		if (off >= PFLASH_CFI_BASE && off < PFLASH_CFI_BASE + PFLASH_CFI_LEN)
			return f->cfi[off - PFLASH_CFI_BASE];
		return 0;
	default: /* status, and the status a program or erase setup shows on real parts */
		return f->status;
	}
}

static u64 pflash_read(void *dev, u64 off, unsigned size)
{
	const struct pflash *f = dev;
	u64 val = 0;

	for (unsigned i = 0; i < size; i++) {
		u8 b = off + i < f->size ? pflash_read_byte(f, off + i) : 0xff;

		val |= (u64)b << (8 * i);
	}
	return val;
}

static void pflash_persist(struct pflash *f, u64 off, u64 len, u8 err_bit)
{
	int ret = f->persist ? f->persist(f->persist_opaque, off, len) : 0;

	if (ret < 0) {
		log_err("%s: cannot save %llu bytes at offset %#llx to the backing file: %s",
			f->name, (unsigned long long)len, (unsigned long long)off, strerror(-ret));
		f->status |= err_bit;
	}
}

static void pflash_program(struct pflash *f, u64 off, u8 val)
{
	u8 old = f->data[off];

	f->status |= PFLASH_SR_READY;
	f->mode = PFLASH_MODE_STATUS;
	if (f->read_only) {
		f->status |= PFLASH_SR_LOCKED | PFLASH_SR_PROGRAM_ERR;
		f->refused++;
		log_guest("%s: program at offset %#llx refused: the bank is read-only", f->name,
			  (unsigned long long)off);
		return;
	}
	f->programs++;
	if ((old & val) == old)
		return; /* nothing to clear: nothing changes */
	f->data[off] = old & val;
	pflash_persist(f, off, 1, PFLASH_SR_PROGRAM_ERR);
}

static void pflash_erase(struct pflash *f, u64 off)
{
	u64 start = off & ~((u64)f->block_size - 1);

	f->status |= PFLASH_SR_READY;
	f->mode = PFLASH_MODE_STATUS;
	if (f->read_only) {
		f->status |= PFLASH_SR_LOCKED | PFLASH_SR_ERASE_ERR;
		f->refused++;
		log_guest("%s: erase of the block at offset %#llx refused: the bank is read-only",
			  f->name, (unsigned long long)start);
		return;
	}
	f->erases++;
	memset(f->data + start, 0xff, f->block_size);
	pflash_persist(f, start, f->block_size, PFLASH_SR_ERASE_ERR);
}

static void pflash_command(struct pflash *f, u64 off, u8 cmd)
{
	switch (cmd) {
	case PFLASH_CMD_READ_ARRAY:
		f->mode = PFLASH_MODE_ARRAY;
		break;
	case PFLASH_CMD_READ_ID:
		f->mode = PFLASH_MODE_ID;
		break;
	case PFLASH_CMD_CFI_QUERY:
		f->mode = PFLASH_MODE_CFI;
		break;
	case PFLASH_CMD_READ_STATUS:
		f->mode = PFLASH_MODE_STATUS;
		break;
	case PFLASH_CMD_CLEAR_STATUS:
		/* OVMF's probe expects 0 here (not "ready"); the mode does not change. */
		f->status = 0;
		break;
	case PFLASH_CMD_PROGRAM:
	case PFLASH_CMD_PROGRAM_ALT:
		f->mode = PFLASH_MODE_PROGRAM;
		break;
	case PFLASH_CMD_ERASE:
		f->mode = PFLASH_MODE_ERASE;
		break;
	default:
		log_guest("%s: unsupported command %#x at offset %#llx: back to read array mode",
			  f->name, cmd, (unsigned long long)off);
		f->mode = PFLASH_MODE_ARRAY;
		break;
	}
}

static void pflash_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct pflash *f = dev;
	u8 cmd = (u8)val;

	(void)size; /* one byte wide: the low byte is the command or the data */
	if (off >= f->size)
		return;
	switch (f->mode) {
	case PFLASH_MODE_PROGRAM:
		pflash_program(f, off, cmd);
		break;
	case PFLASH_MODE_ERASE:
		if (cmd == PFLASH_CMD_CONFIRM) {
			pflash_erase(f, off);
		} else {
			/* A broken sequence: both error bits, as the command set defines. */
			f->status |= PFLASH_SR_READY | PFLASH_SR_ERASE_ERR | PFLASH_SR_PROGRAM_ERR;
			f->mode = PFLASH_MODE_STATUS;
			log_guest("%s: erase not confirmed (%#x instead of %#x)", f->name, cmd,
				  PFLASH_CMD_CONFIRM);
		}
		break;
	default:
		pflash_command(f, off, cmd);
		break;
	}
}

static const struct io_ops pflash_io = {
	.read = pflash_read,
	.write = pflash_write,
	.min_size = 1,
	.max_size = 4,
};

int pflash_create(struct platform *p, const struct pflash_config *cfg, struct pflash **out,
		  struct err *err)
{
	struct pflash *f;
	int ret;

	if (cfg->block_size < 256 || (cfg->block_size & (cfg->block_size - 1)) || !cfg->size ||
	    cfg->size % cfg->block_size || cfg->size / cfg->block_size > 0x10000 || !cfg->data)
		return err_set(
			err, -EINVAL,
			"%s: %llu bytes is not a whole number (1 to 65536) of %u-byte blocks",
			cfg->name, (unsigned long long)cfg->size, cfg->block_size);
	f = calloc(1, sizeof(*f));
	if (!f)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	f->p = p;
	snprintf(f->name, sizeof(f->name), "%s", cfg->name);
	f->base = cfg->base;
	f->size = cfg->size;
	f->block_size = cfg->block_size;
	f->read_only = cfg->read_only;
	f->data = cfg->data;
	f->persist = cfg->persist;
	f->persist_opaque = cfg->persist_opaque;
	pflash_build_cfi(f);
	ret = bus_map_dev(&p->mmio, cfg->base, cfg->size, &pflash_io, f, f->name, err);
	if (ret < 0) {
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

void pflash_reset(struct pflash *f)
{
	f->mode = PFLASH_MODE_ARRAY;
	f->status = 0;
}

void pflash_destroy(struct pflash *f)
{
	if (!f)
		return;
	bus_unmap(&f->p->mmio, f->base);
	free(f);
}

static void pflash_ops_reset(void *dev)
{
	pflash_reset(dev);
}

static void pflash_ops_destroy(void *dev)
{
	pflash_destroy(dev);
}

static void pflash_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct pflash *f = dev;

	fn(opaque, "programs", f->programs);
	fn(opaque, "erases", f->erases);
	fn(opaque, "refused", f->refused);
}

static const struct state_field pflash_fields[] = {
	STATE_HOST(struct pflash, p, "the platform"),
	STATE_HOST(struct pflash, name, "the board's name"),
	STATE_U64(struct pflash, base, STATE_CHECKED),
	STATE_U64(struct pflash, size, STATE_CHECKED),
	STATE_U32(struct pflash, block_size, STATE_CHECKED),
	STATE_BOOL(struct pflash, read_only, STATE_CHECKED),
	STATE_HOST(struct pflash, data,
		   "the contents: the code file, or the variables file every change is written to"),
	STATE_HOST(struct pflash, persist, "the owner's write-through"),
	STATE_HOST(struct pflash, persist_opaque, "the owner's write-through"),
	STATE_HOST(struct pflash, cfi, "derived from the geometry at creation"),
	STATE_U32(struct pflash, mode, STATE_MAX(PFLASH_NR_MODES - 1)),
	STATE_U8(struct pflash, status),
	STATE_HOST(struct pflash, programs, "statistics (vm.counters), not guest-visible"),
	STATE_HOST(struct pflash, erases, "statistics (vm.counters), not guest-visible"),
	STATE_HOST(struct pflash, refused, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc pflash_state = {
	.name = "pflash",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct pflash),
	.fields = pflash_fields,
};

const struct device_ops pflash_device_ops = {
	.type = "pflash",
	.reset = pflash_ops_reset,
	.state = &pflash_state,
	.destroy = pflash_ops_destroy,
	.counters = pflash_ops_counters,
};
