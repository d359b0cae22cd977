// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for fw_cfg (src/devices/fw_cfg.c), the interface a firmware (or a hostile
 * guest) drives at ports 0x510-0x51b: the input is a program of selector writes, data-port
 * reads, accesses of any size to any of the device's ports, DMA access structures anywhere
 * in (and beyond) guest RAM with any control word, length and buffer address, guest-memory
 * writes and resets, against a fw_cfg holding the items a board adds (numbered items, an
 * architecture item, files of 0, 1 and 5000 bytes).
 *
 * Checks besides the sanitizers: a model of the selected key and read offset (kept through
 * selector writes, data reads and checked DMA reads; unknown after other DMA accesses until
 * the next selection) predicts every data-port byte: the item's next byte, 0 past its end
 * or for a key that names nothing; a DMA SELECT|READ of a key into RAM copies exactly the
 * item's bytes and zero-fills the rest, and stores control 0 back; every byte of guest RAM
 * the device changes is reported to gmem's write hook; the host heap does not grow.
 */
#include "devices/fw_cfg.h"
#include "fuzz_dev.h"

#include <string.h>

#define FFC_RAM	      (64u << 10)
#define FFC_ACC	      0x1000u /* the checked DMA's access structure */
#define FFC_BUF	      0x2000u /* its buffer, to RAM's end */
#define FFC_BIG	      5000u
#define FFC_HEAP_MAX  (1u << 20)
#define FFC_UNKNOWN   0xffffffffu
#define FFC_READS_MAX 64

enum ffc_op {
	FFC_OP_SELECT, /* le16 key: a selector write, as firmware makes it */
	FFC_OP_READ,   /* u8 count: data-port reads, each checked against the model */
	FFC_OP_PIO,    /* u8 port (0..11), u8 size selector, le32 val, u8 read: any access */
	FFC_OP_DMA,    /* le24 access gpa, be32 control, be32 length, le32 address, u8 high */
	FFC_OP_CHECK,  /* le16 key, le16 length: a SELECT|READ DMA into RAM, checked */
	FFC_OP_MEM,    /* fuzz_pc_mem_op: the guest's own writes */
	FFC_OP_RESET,  /* fw_cfg_reset */
	FFC_NR_OPS,
};

struct ffc_item {
	u16 key;
	const u8 *data;
	u32 len;
};

struct ffc {
	struct fuzz_pc pc;
	struct fw_cfg *c;
	u8 big[FFC_BIG], one[1], ram_size[8], cpus[2], irq0[4];
	struct ffc_item items[8];
	unsigned nr_items;
	u16 key;    /* the model: the selected key (write-channel bit cleared) */
	u32 offset; /* and the read offset, or FFC_UNKNOWN */
	size_t heap_base;
};

static const u8 ffc_sig[4] = { 'Q', 'E', 'M', 'U' };
static const u8 ffc_id[4] = { FW_CFG_VERSION | FW_CFG_VERSION_DMA, 0, 0, 0 };

/* What key holds as the model sees it: NULL with *len 0 for a key naming nothing. */
static const u8 *ffc_expect(const struct ffc *f, u16 key, u32 *len, bool *known)
{
	*known = key != FW_CFG_FILE_DIR; /* the directory's bytes are fw_cfg's own layout */
	for (unsigned i = 0; i < f->nr_items; i++) {
		if (f->items[i].key == key) {
			*len = f->items[i].len;
			return f->items[i].data;
		}
	}
	*len = 0;
	return NULL;
}

static void ffc_item(struct ffc *f, u16 key, const void *data, u32 len)
{
	f->items[f->nr_items++] = (struct ffc_item){ key, data, len };
}

static int ffc_setup(struct ffc *f)
{
	struct fw_cfg_config cfg = { .name = "fw-cfg", .port = FW_CFG_DEFAULT_PORT };
	int file_big, file_one, file_empty;

	memset(f, 0, sizeof(*f));
	if (fuzz_pc_init(&f->pc, FFC_RAM, FFC_BUF, 1) < 0)
		return -1;
	if (fw_cfg_create(&f->pc.tp.p, &cfg, &f->c, NULL) < 0)
		goto err_pc;
	for (unsigned i = 0; i < FFC_BIG; i++)
		f->big[i] = (u8)(i * 7 + 1);
	f->one[0] = 0xa5;
	memcpy(f->ram_size, (u8[8]){ 0, 0, 0, 0x10 }, 8);
	memcpy(f->cpus, (u8[2]){ 2, 0 }, 2);
	memcpy(f->irq0, (u8[4]){ 1, 0, 0, 0 }, 4);
	if (fw_cfg_add_item(f->c, FW_CFG_RAM_SIZE, f->ram_size, 8, NULL) < 0 ||
	    fw_cfg_add_item(f->c, FW_CFG_NB_CPUS, f->cpus, 2, NULL) < 0 ||
	    fw_cfg_add_item(f->c, FW_CFG_IRQ0_OVERRIDE, f->irq0, 4, NULL) < 0 ||
	    fw_cfg_add_file(f->c, "etc/big", f->big, FFC_BIG, NULL) < 0 ||
	    fw_cfg_add_file(f->c, "etc/one", f->one, 1, NULL) < 0 ||
	    fw_cfg_add_file(f->c, "etc/empty", NULL, 0, NULL) < 0)
		goto err_cfg;
	file_big = fw_cfg_file_key(f->c, "etc/big");
	file_one = fw_cfg_file_key(f->c, "etc/one");
	file_empty = fw_cfg_file_key(f->c, "etc/empty");
	FUZZ_CHECK(file_big >= FW_CFG_FILE_FIRST && file_one >= 0 && file_empty >= 0);
	ffc_item(f, FW_CFG_SIGNATURE, ffc_sig, 4);
	ffc_item(f, FW_CFG_ID, ffc_id, 4);
	ffc_item(f, FW_CFG_RAM_SIZE, f->ram_size, 8);
	ffc_item(f, FW_CFG_NB_CPUS, f->cpus, 2);
	ffc_item(f, FW_CFG_IRQ0_OVERRIDE, f->irq0, 4);
	ffc_item(f, (u16)file_big, f->big, FFC_BIG);
	ffc_item(f, (u16)file_one, f->one, 1);
	ffc_item(f, (u16)file_empty, NULL, 0);
	f->key = 0xffff; /* nothing selected at power-on: reads 0 */
	f->offset = 0;
	fuzz_dma_start(&f->pc);
	f->heap_base = fuzz_heap_bytes();
	return 0;

err_cfg:
	fw_cfg_destroy(f->c);
err_pc:
	fuzz_pc_destroy(&f->pc);
	return -1;
}

static void ffc_teardown(struct ffc *f)
{
	fw_cfg_destroy(f->c);
	fuzz_dma_finish();
	fuzz_pc_destroy(&f->pc);
}

static void ffc_select(struct ffc *f, u16 key)
{
	bus_write(&f->pc.tp.p.pio, FW_CFG_DEFAULT_PORT, 2, key);
	f->key = key & (u16)~FW_CFG_WRITE_CHANNEL;
	f->offset = 0;
}

static void ffc_read(struct ffc *f, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		u8 got = (u8)bus_read(&f->pc.tp.p.pio, FW_CFG_DEFAULT_PORT + 1, 1);
		bool known;
		u32 len;
		const u8 *data = ffc_expect(f, f->key, &len, &known);

		if (f->offset == FFC_UNKNOWN || !known)
			continue;
		FUZZ_CHECK(got == (f->offset < len ? data[f->offset] : 0));
		if (f->offset < len)
			f->offset++;
	}
}

static void ffc_put_be32(struct ffc *f, u64 gpa, u32 v)
{
	u8 b[4] = { (u8)(v >> 24), (u8)(v >> 16), (u8)(v >> 8), (u8)v };

	if (gpa + 4 <= FFC_RAM)
		memcpy(fuzz_pc_ram(&f->pc, gpa), b, 4);
}

/* Start the access at gpa the way firmware does: high half, then low half (big endian). */
static void ffc_kick(struct ffc *f, u64 gpa)
{
	struct bus *pio = &f->pc.tp.p.pio;

	bus_write(pio, FW_CFG_DEFAULT_PORT + FW_CFG_DMA_OFFSET, 4,
		  __builtin_bswap32((u32)(gpa >> 32)));
	bus_write(pio, FW_CFG_DEFAULT_PORT + FW_CFG_DMA_OFFSET + 4, 4, __builtin_bswap32((u32)gpa));
}

static void ffc_dma(struct ffc *f, struct fuzz_in *in)
{
	u64 acc = fuzz_uint(in, 3) % (FFC_RAM + 64), addr;
	u32 control = fuzz_u32(in), len = fuzz_u32(in);

	addr = fuzz_u32(in);
	if (fuzz_u8(in) & 1)
		addr |= 0xffffffffull << 32; /* a buffer address beyond any RAM, wrapping */
	ffc_put_be32(f, acc, control);
	ffc_put_be32(f, acc + 4, len);
	ffc_put_be32(f, acc + 8, (u32)(addr >> 32));
	ffc_put_be32(f, acc + 12, (u32)addr);
	fuzz_dma_sync();
	ffc_kick(f, acc);
	f->offset = FFC_UNKNOWN;
}

static void ffc_check(struct ffc *f, struct fuzz_in *in)
{
	u16 key = fuzz_u16(in) & (u16)~FW_CFG_WRITE_CHANNEL;
	u32 len = fuzz_u16(in) % (FFC_RAM - FFC_BUF + 1), have;
	const u8 *buf = fuzz_pc_ram(&f->pc, FFC_BUF), *acc = fuzz_pc_ram(&f->pc, FFC_ACC);
	bool known;
	const u8 *data = ffc_expect(f, key, &have, &known);
	u32 n = MIN(len, have);

	memset(fuzz_pc_ram(&f->pc, FFC_BUF), 0x5a, FFC_RAM - FFC_BUF);
	ffc_put_be32(f, FFC_ACC, (u32)key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
	ffc_put_be32(f, FFC_ACC + 4, len);
	ffc_put_be32(f, FFC_ACC + 8, 0);
	ffc_put_be32(f, FFC_ACC + 12, FFC_BUF);
	fuzz_dma_sync();
	ffc_kick(f, FFC_ACC);
	FUZZ_CHECK(!acc[0] && !acc[1] && !acc[2] && !acc[3]);
	f->key = key;
	f->offset = known ? n : FFC_UNKNOWN;
	if (!known)
		return;
	FUZZ_CHECK(!n || !memcmp(buf, data, n));
	for (u32 i = n; i < len; i++)
		FUZZ_CHECK(buf[i] == 0);
	for (u32 i = len; i < FFC_RAM - FFC_BUF; i++)
		FUZZ_CHECK(buf[i] == 0x5a); /* nothing past the length */
}

static void ffc_op(struct ffc *f, struct fuzz_in *in)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	unsigned port, size;
	u32 val;

	switch (fuzz_u8(in) % FFC_NR_OPS) {
	case FFC_OP_SELECT:
		ffc_select(f, fuzz_u16(in));
		break;
	case FFC_OP_READ:
		ffc_read(f, fuzz_u8(in) % FFC_READS_MAX);
		break;
	case FFC_OP_PIO:
		port = FW_CFG_DEFAULT_PORT + fuzz_u8(in) % 12;
		size = sizes[fuzz_u8(in) % 4];
		val = fuzz_u32(in);
		if (fuzz_u8(in) & 1)
			(void)bus_read(&f->pc.tp.p.pio, port, size);
		else
			bus_write(&f->pc.tp.p.pio, port, size, val);
		f->offset = FFC_UNKNOWN; /* a data read moved it, a selector write chose a key */
		break;
	case FFC_OP_DMA:
		ffc_dma(f, in);
		break;
	case FFC_OP_CHECK:
		ffc_check(f, in);
		break;
	case FFC_OP_MEM:
		fuzz_pc_mem_op(&f->pc, in);
		break;
	case FFC_OP_RESET:
		fw_cfg_reset(f->c);
		f->key = 0xffff;
		f->offset = 0;
		break;
	}
	fuzz_dma_check();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	static struct ffc f;

	fuzz_quiet_logs();
	if (ffc_setup(&f) < 0)
		return 0;
	while (fuzz_left(&in)) {
		ffc_op(&f, &in);
		FUZZ_CHECK(fuzz_heap_bytes() < f.heap_base + FFC_HEAP_MAX);
	}
	ffc_teardown(&f);
	return 0;
}
