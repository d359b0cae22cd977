// SPDX-License-Identifier: MIT
/*
 * fw_cfg (fw_cfg.h), the interface QEMU's docs/specs/fw_cfg.rst documents:
 *   - selector register (16 bits, little endian, write only): picks an item and rewinds the
 *     read offset; the write-channel bit 0x4000 of the old write interface is ignored and
 *     bit 0x8000 picks the architecture's own keys;
 *   - data register (8 bits): the next byte of the selected item, 0 past its end or when the
 *     key names nothing ("unknown keys read 0"); writes are ignored;
 *   - FW_CFG_FILE_DIR: a big-endian count, then one 64-byte entry per file
 *     { be32 size, be16 select, u16 reserved, char name[56] }, built from the files added;
 *   - DMA (FW_CFG_ID bit 1): the guest writes the guest-physical address of an access
 *     structure { be32 control, be32 length, be64 address } to the DMA register, high half
 *     first; the write of the low half runs the access at once: SELECT (key in control bits
 *     31:16) selects and rewinds, then READ copies `length` bytes from the item's current
 *     offset to `address` (zero-filling past the item's end), SKIP only advances the offset,
 *     WRITE fails (nothing is writable). The device then stores control = 0, or the error
 *     bit, back into the structure.
 * Every guest-memory access goes through gmem; a DMA moves at most the item plus zero fill up
 * to one RAM region, so one access costs at most a copy of guest RAM.
 *
 * Not modelled: the MMIO variant of other architectures, writable items (etc/vmgenid,
 * etc/smi), the legacy data-register write interface.
 */
#include "devices/fw_cfg.h"

#include "vmm/base/log.h"
#include "vmm/gmem.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_CFG_STD_KEYS	 FW_CFG_FILE_FIRST
#define FW_CFG_ARCH_KEYS 0x20
#define FW_CFG_DIR_ENTRY 64
#define FW_CFG_INVALID	 0xffff

struct fw_cfg_item {
	u8 *data;
	u32 len;
};

struct fw_cfg_file {
	char name[FW_CFG_FILE_NAME_MAX + 1];
	struct fw_cfg_item item;
};

struct fw_cfg {
	struct platform *p;
	char name[32];
	u16 port;
	struct fw_cfg_item std[FW_CFG_STD_KEYS];
	struct fw_cfg_item arch[FW_CFG_ARCH_KEYS];
	struct fw_cfg_file files[FW_CFG_MAX_FILES];
	u32 nr_files;
	struct fw_cfg_item dir; /* FW_CFG_FILE_DIR, rebuilt as files are added */
	u16 key;		/* the selected key, FW_CFG_INVALID after reset */
	u32 offset;		/* read offset in the selected item */
	u32 dma_high;		/* the high half of the DMA address, written first */
	u64 dmas;		/* statistics: DMA accesses run */
};

/* The item key names (NULL: none; the key then reads as an empty item). */
static const struct fw_cfg_item *fw_cfg_item(const struct fw_cfg *c, u16 key)
{
	if (key == FW_CFG_INVALID)
		return NULL;
	if (key & FW_CFG_ARCH_LOCAL) {
		key &= (u16)~FW_CFG_ARCH_LOCAL;
		return key < FW_CFG_ARCH_KEYS ? &c->arch[key] : NULL;
	}
	if (key == FW_CFG_FILE_DIR)
		return &c->dir;
	if (key < FW_CFG_STD_KEYS)
		return &c->std[key];
	key -= FW_CFG_FILE_FIRST;
	return key < c->nr_files ? &c->files[key].item : NULL;
}

static void fw_cfg_select(struct fw_cfg *c, u16 key)
{
	c->key = key & (u16)~FW_CFG_WRITE_CHANNEL;
	c->offset = 0;
}

/* ---- the selector and data ports ---- */

static u64 fw_cfg_io_read(void *dev, u64 off, unsigned size)
{
	struct fw_cfg *c = dev;
	const struct fw_cfg_item *it;

	(void)size;
	if (off != 1)
		return 0; /* the selector is write only */
	it = fw_cfg_item(c, c->key);
	if (!it || c->offset >= it->len)
		return 0;
	return it->data[c->offset++];
}

static void fw_cfg_io_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct fw_cfg *c = dev;

	if (off == 0 && size == 2)
		fw_cfg_select(c, (u16)val);
	/* data writes (the old write interface) and byte writes to the selector: ignored */
}

static const struct io_ops fw_cfg_io = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
	.min_size = 1,
	.max_size = 2,
};

/* ---- DMA ---- */

static u32 fw_cfg_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* Zero-fill [gpa, gpa+len): one RAM region, or the access fails. */
static int fw_cfg_dma_zero(struct fw_cfg *c, u64 gpa, u32 len)
{
	void *hva = len ? gmem_ptr(&c->p->mem, gpa, len) : NULL;

	if (!len)
		return 0;
	if (!hva)
		return -EFAULT;
	memset(hva, 0, len);
	gmem_written(&c->p->mem, hva, len);
	return 0;
}

/* Run one access structure's transfer; returns the control word to store back. */
static u32 fw_cfg_dma_run(struct fw_cfg *c, u32 control, u32 len, u64 addr)
{
	const struct fw_cfg_item *it;
	u32 n;

	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(c, (u16)(control >> 16));
	if (control & FW_CFG_DMA_CTL_WRITE) {
		log_guest("%s: DMA write to key %#x refused: no item is writable", c->name, c->key);
		return FW_CFG_DMA_CTL_ERROR;
	}
	if (!(control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_SKIP)))
		return 0; /* select only, or nothing */
	it = fw_cfg_item(c, c->key);
	n = it && c->offset < it->len ? MIN(len, it->len - c->offset) : 0;
	if (control & FW_CFG_DMA_CTL_READ) {
		if (n && gmem_write(&c->p->mem, addr, it->data + c->offset, n) < 0)
			goto err_fault;
		if (fw_cfg_dma_zero(c, addr + n, len - n) < 0)
			goto err_fault;
	}
	c->offset += n;
	return 0;

err_fault:
	log_guest("%s: DMA of %u bytes to %#llx: not guest RAM", c->name, len,
		  (unsigned long long)addr);
	return FW_CFG_DMA_CTL_ERROR;
}

static void fw_cfg_dma(struct fw_cfg *c, u64 gpa)
{
	u8 acc[16], done[4];
	u32 control;

	c->dmas++;
	if (gmem_read(&c->p->mem, gpa, acc, sizeof(acc)) < 0) {
		log_guest("%s: DMA access structure at %#llx is not guest RAM", c->name,
			  (unsigned long long)gpa);
		return;
	}
	control = fw_cfg_dma_run(c, fw_cfg_be32(acc), fw_cfg_be32(acc + 4),
				 (u64)fw_cfg_be32(acc + 8) << 32 | fw_cfg_be32(acc + 12));
	done[0] = (u8)(control >> 24);
	done[1] = (u8)(control >> 16);
	done[2] = (u8)(control >> 8);
	done[3] = (u8)control;
	if (gmem_write(&c->p->mem, gpa, done, sizeof(done)) < 0)
		log_guest("%s: cannot complete the DMA access at %#llx", c->name,
			  (unsigned long long)gpa);
}

/* The register reads back "QEMU CFG" in port order (big endian). */
static u64 fw_cfg_dma_read(void *dev, u64 off, unsigned size)
{
	u64 v = 0;

	(void)dev;
	for (unsigned i = 0; i < size && off + i < FW_CFG_DMA_LEN; i++)
		v |= ((FW_CFG_DMA_SIGNATURE >> (56 - 8 * (off + i))) & 0xff) << (8 * i);
	return v;
}

static u32 fw_cfg_bswap32(u32 v)
{
	return __builtin_bswap32(v);
}

static void fw_cfg_dma_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct fw_cfg *c = dev;

	if (size != 4)
		return; /* the halves are written as big-endian dwords */
	if (off == 0) {
		c->dma_high = fw_cfg_bswap32((u32)val);
	} else if (off == 4) {
		u64 gpa = (u64)c->dma_high << 32 | fw_cfg_bswap32((u32)val);

		c->dma_high = 0;
		fw_cfg_dma(c, gpa);
	}
}

static const struct io_ops fw_cfg_dma_io = {
	.read = fw_cfg_dma_read,
	.write = fw_cfg_dma_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- contents ---- */

static int fw_cfg_set(struct fw_cfg *c, struct fw_cfg_item *it, const void *data, size_t len,
		      const char *what, struct err *err)
{
	u8 *copy;

	if (len > FW_CFG_MAX_ITEM)
		return err_set(err, -EINVAL,
			       "%s: %s: %zu bytes is more than the %u MiB an item "
			       "may hold",
			       c->name, what, len, FW_CFG_MAX_ITEM >> 20);
	copy = malloc(len ? len : 1);
	if (!copy)
		return err_set(err, -ENOMEM, "%s: %s: out of memory", c->name, what);
	if (len)
		memcpy(copy, data, len);
	free(it->data);
	it->data = copy;
	it->len = (u32)len;
	return 0;
}

int fw_cfg_add_item(struct fw_cfg *c, u16 key, const void *data, size_t len, struct err *err)
{
	struct fw_cfg_item *it = NULL;
	char what[16];

	if (key & FW_CFG_ARCH_LOCAL) {
		if ((u16)(key & ~FW_CFG_ARCH_LOCAL) < FW_CFG_ARCH_KEYS)
			it = &c->arch[key & ~FW_CFG_ARCH_LOCAL];
	} else if (key < FW_CFG_STD_KEYS && key != FW_CFG_FILE_DIR) {
		it = &c->std[key];
	}
	if (!it)
		return err_set(err, -EINVAL, "%s: key %#x is not a numbered item", c->name, key);
	snprintf(what, sizeof(what), "key %#x", key);
	return fw_cfg_set(c, it, data, len, what, err);
}

int fw_cfg_add_u16(struct fw_cfg *c, u16 key, u16 v, struct err *err)
{
	u8 b[2] = { (u8)v, (u8)(v >> 8) };

	return fw_cfg_add_item(c, key, b, sizeof(b), err);
}

int fw_cfg_add_u32(struct fw_cfg *c, u16 key, u32 v, struct err *err)
{
	u8 b[4];

	for (unsigned i = 0; i < 4; i++)
		b[i] = (u8)(v >> (8 * i));
	return fw_cfg_add_item(c, key, b, sizeof(b), err);
}

int fw_cfg_add_u64(struct fw_cfg *c, u16 key, u64 v, struct err *err)
{
	u8 b[8];

	for (unsigned i = 0; i < 8; i++)
		b[i] = (u8)(v >> (8 * i));
	return fw_cfg_add_item(c, key, b, sizeof(b), err);
}

int fw_cfg_file_key(const struct fw_cfg *c, const char *name)
{
	for (unsigned i = 0; i < c->nr_files; i++)
		if (!strcmp(c->files[i].name, name))
			return FW_CFG_FILE_FIRST + (int)i;
	return -ENOENT;
}

/* FW_CFG_FILE_DIR from the files (fw_cfg.rst "File Directory"). */
static int fw_cfg_build_dir(struct fw_cfg *c, struct err *err)
{
	u8 dir[4 + FW_CFG_MAX_FILES * FW_CFG_DIR_ENTRY] = { 0 };
	u8 *e = dir + 4;

	dir[3] = (u8)c->nr_files; /* be32 count, at most 64 */
	for (unsigned i = 0; i < c->nr_files; i++, e += FW_CFG_DIR_ENTRY) {
		u32 size = c->files[i].item.len;
		u16 key = (u16)(FW_CFG_FILE_FIRST + i);

		e[0] = (u8)(size >> 24);
		e[1] = (u8)(size >> 16);
		e[2] = (u8)(size >> 8);
		e[3] = (u8)size;
		e[4] = (u8)(key >> 8);
		e[5] = (u8)key;
		memcpy(e + 8, c->files[i].name, strlen(c->files[i].name));
	}
	return fw_cfg_set(c, &c->dir, dir, 4 + c->nr_files * FW_CFG_DIR_ENTRY, "the file directory",
			  err);
}

int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len,
		    struct err *err)
{
	struct fw_cfg_file *f;
	size_t nlen = strlen(name);
	int ret;

	if (!nlen || nlen > FW_CFG_FILE_NAME_MAX)
		return err_set(err, -EINVAL, "%s: file name \"%s\" is not 1 to %d characters",
			       c->name, name, FW_CFG_FILE_NAME_MAX);
	if (fw_cfg_file_key(c, name) >= 0)
		return err_set(err, -EEXIST, "%s: file %s added twice", c->name, name);
	if (c->nr_files == FW_CFG_MAX_FILES)
		return err_set(err, -ENOSPC, "%s: file %s: the directory holds at most %d files",
			       c->name, name, FW_CFG_MAX_FILES);
	f = &c->files[c->nr_files];
	memcpy(f->name, name, nlen + 1);
	ret = fw_cfg_set(c, &f->item, data, len, name, err);
	if (ret < 0)
		return ret;
	c->nr_files++;
	ret = fw_cfg_build_dir(c, err);
	if (ret < 0) {
		c->nr_files--;
		free(f->item.data);
		f->item = (struct fw_cfg_item){ 0 };
	}
	return ret;
}

/* ---- lifecycle ---- */

static void fw_cfg_free_items(struct fw_cfg *c)
{
	for (unsigned i = 0; i < FW_CFG_STD_KEYS; i++)
		free(c->std[i].data);
	for (unsigned i = 0; i < FW_CFG_ARCH_KEYS; i++)
		free(c->arch[i].data);
	for (unsigned i = 0; i < c->nr_files; i++)
		free(c->files[i].item.data);
	free(c->dir.data);
}

void fw_cfg_reset(struct fw_cfg *c)
{
	c->key = FW_CFG_INVALID;
	c->offset = 0;
	c->dma_high = 0;
}

int fw_cfg_create(struct platform *p, const struct fw_cfg_config *cfg, struct fw_cfg **out,
		  struct err *err)
{
	struct fw_cfg *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	c->p = p;
	c->port = cfg->port;
	snprintf(c->name, sizeof(c->name), "%s", cfg->name);
	fw_cfg_reset(c);
	ret = fw_cfg_add_item(c, FW_CFG_SIGNATURE, "QEMU", 4, err);
	if (!ret)
		ret = fw_cfg_add_u32(c, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA, err);
	if (!ret)
		ret = fw_cfg_build_dir(c, err);
	if (ret < 0)
		goto err_free;
	ret = bus_map_dev(&p->pio, cfg->port, FW_CFG_SEL_DATA_LEN, &fw_cfg_io, c, c->name, err);
	if (ret < 0)
		goto err_free;
	ret = bus_map_dev(&p->pio, cfg->port + FW_CFG_DMA_OFFSET, FW_CFG_DMA_LEN, &fw_cfg_dma_io, c,
			  c->name, err);
	if (ret < 0)
		goto err_unmap;
	*out = c;
	return 0;

err_unmap:
	bus_unmap(&p->pio, cfg->port);
err_free:
	fw_cfg_free_items(c);
	free(c);
	return ret;
}

void fw_cfg_destroy(struct fw_cfg *c)
{
	if (!c)
		return;
	if (c->dmas)
		log_dbg(LOG_CAT_DEV, "%s: %llu DMA accesses", c->name, (unsigned long long)c->dmas);
	bus_unmap(&c->p->pio, c->port + FW_CFG_DMA_OFFSET);
	bus_unmap(&c->p->pio, c->port);
	fw_cfg_free_items(c);
	free(c);
}

static void fw_cfg_ops_reset(void *dev)
{
	fw_cfg_reset(dev);
}

static void fw_cfg_ops_destroy(void *dev)
{
	fw_cfg_destroy(dev);
}

static void fw_cfg_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct fw_cfg *c = dev;

	fn(opaque, "dma_accesses", c->dmas);
}

/* The selected key is the guest's; its items are the board's, the same from the same spec. */
static int fw_cfg_post_load(void *obj, u32 version, struct err *err)
{
	struct fw_cfg *c = obj;
	const struct fw_cfg_item *it = fw_cfg_item(c, c->key);

	(void)version;
	if (c->offset && (!it || c->offset > it->len))
		return err_set(err, -EINVAL, "%s: offset %u past the end of key %#x", c->name,
			       c->offset, c->key);
	return 0;
}

static const struct state_field fw_cfg_fields[] = {
	STATE_HOST(struct fw_cfg, p, "the platform"),
	STATE_HOST(struct fw_cfg, name, "the board's name"),
	STATE_U16(struct fw_cfg, port, STATE_CHECKED),
	STATE_HOST(struct fw_cfg, std, "items the board builds from the spec at creation"),
	STATE_HOST(struct fw_cfg, arch, "items the board builds from the spec at creation"),
	STATE_HOST(struct fw_cfg, files, "files the board builds from the spec at creation"),
	STATE_U32(struct fw_cfg, nr_files, STATE_CHECKED),
	STATE_HOST(struct fw_cfg, dir, "derived from the files"),
	STATE_U16(struct fw_cfg, key),
	STATE_U32(struct fw_cfg, offset),
	STATE_U32(struct fw_cfg, dma_high),
	STATE_HOST(struct fw_cfg, dmas, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc fw_cfg_state = {
	.name = "fw_cfg",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct fw_cfg),
	.fields = fw_cfg_fields,
	.post_load = fw_cfg_post_load,
};

const struct device_ops fw_cfg_device_ops = {
	.type = "fw_cfg",
	.reset = fw_cfg_ops_reset,
	.state = &fw_cfg_state,
	.destroy = fw_cfg_ops_destroy,
	.counters = fw_cfg_ops_counters,
};
