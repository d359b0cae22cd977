// SPDX-License-Identifier: MIT
/*
 * The VGA core (vga.h), after the IBM VGA Technical Reference: misc output, input status,
 * feature control, the sequencer, graphics controller, CRT controller (CR11 bit 7 protects
 * CR0-CR7), attribute controller (index/data flip-flop reset by reading input status 1;
 * palette address source bit), the DAC (6-bit entries, or 8-bit with VBE_DISPI_8BIT_DAC,
 * read and write indexes stepping through R, G, B) and the legacy memory window:
 *   - memory map select (GR6): 128 KiB at 0xA0000, 64 KiB at 0xA0000, 32 KiB at 0xB0000 or
 *     0xB8000; accesses outside the selected window read all ones and are dropped;
 *   - CPU addressing: chain 4 (SR4 bit 3: plane = address bits 0-1), odd/even (SR4 bit 2
 *     clear for writes, GR5 bit 4 for reads: plane = address bit 0), or planar (map mask);
 *     plane offsets wrap at 64 KiB;
 *   - read modes 0 (GR4 plane) and 1 (colour compare GR2 / don't care GR7); every read
 *     loads the four latches;
 *   - write modes 0-3 with rotate, set/reset and enable set/reset, the logical operation
 *     (GR3) against the latches and the bit mask (GR8);
 *   - with the Bochs VBE enabled, the window is the 64 KiB bank (dispi BANK) of video RAM.
 * Input status 1 reports vertical retrace for the last 1/16 of each 60 Hz frame of virtual
 * time and toggles display enable on every read (programs that poll it make progress).
 *
 * Not modelled: the mono/colour port alias check beyond misc bit 0 (0x3Bx answers only in
 * mono, 0x3Dx only in colour), the odd/even page bit of misc output, horizontal pixel panning
 * and line compare (split screen), light pens.
 */
#include "devices/vga.h"

#include "devices/vga_internal.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define VGA_FRAME_NS	   16666667ull /* 60 Hz */
#define VGA_RETRACE_NS	   (VGA_FRAME_NS / 16)
#define VGA_DIRTY_LONGS(v) (((v)->vram_size >> VGA_PAGE_SHIFT) / (8 * sizeof(unsigned long)))

void vga_mark_dirty(struct vga *v, u32 idx, u32 len)
{
	const unsigned bpl = 8 * sizeof(unsigned long);

	if (!len || idx >= v->vram_size)
		return;
	len = MIN(len, v->vram_size - idx);
	for (u32 page = idx >> VGA_PAGE_SHIFT; page <= (idx + len - 1) >> VGA_PAGE_SHIFT; page++) {
		v->dirty[page / bpl] |= 1ul << (page % bpl);
		v->mem_dirty[page / bpl] |= 1ul << (page % bpl);
	}
}

/* ------------------------------------------------------------------ the window */

static bool vga_vbe_banked(const struct vga *v)
{
	return v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* The offset of off (from 0xA0000) inside the window GR6 selects, or -1. */
static s32 vga_window_offset(const struct vga *v, u64 off)
{
	static const u32 base[4] = { 0, 0, 0x10000, 0x18000 };
	static const u32 len[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
	unsigned map = (v->gr[VGA_GR_MISC] >> 2) & 3;

	if (off < base[map] || off - base[map] >= len[map])
		return -1;
	return (s32)(off - base[map]);
}

static u32 vga_rotate(u8 val, unsigned n)
{
	n &= 7;
	return (u8)((val >> n) | (val << (8 - n)));
}

/* A byte replicated into the four planes' lanes. */
static u32 vga_expand(u8 b)
{
	return b * 0x01010101u;
}

/* Set/reset bits as four plane bytes: plane p gets 0xFF where GR0 bit p is set. */
static u32 vga_set_reset(const struct vga *v)
{
	u32 r = 0;

	for (unsigned p = 0; p < 4; p++)
		if (v->gr[VGA_GR_SET_RESET] & (1u << p))
			r |= 0xffu << (8 * p);
	return r;
}

static u32 vga_logic(const struct vga *v, u32 data)
{
	switch ((v->gr[VGA_GR_ROTATE] >> 3) & 3) {
	case 1:
		return data & v->latch;
	case 2:
		return data | v->latch;
	case 3:
		return data ^ v->latch;
	default:
		return data;
	}
}

/* The four plane bytes a CPU write of val produces (write modes 0-3). */
static u32 vga_write_data(const struct vga *v, u8 val)
{
	u32 mask = vga_expand(v->gr[VGA_GR_BIT_MASK]), data, esr = 0;

	for (unsigned p = 0; p < 4; p++)
		if (v->gr[VGA_GR_ENABLE_SR] & (1u << p))
			esr |= 0xffu << (8 * p);
	switch (v->gr[VGA_GR_MODE] & 3) {
	case 0:
		data = vga_expand((u8)vga_rotate(val, v->gr[VGA_GR_ROTATE]));
		data = (data & ~esr) | (vga_set_reset(v) & esr);
		data = vga_logic(v, data);
		break;
	case 1:
		return v->latch;
	case 2:
		data = 0;
		for (unsigned p = 0; p < 4; p++)
			if (val & (1u << p))
				data |= 0xffu << (8 * p);
		data = vga_logic(v, data);
		break;
	default:
		mask &= vga_expand((u8)vga_rotate(val, v->gr[VGA_GR_ROTATE]));
		data = vga_logic(v, vga_set_reset(v));
		break;
	}
	return (data & mask) | (v->latch & ~mask);
}

static void vga_load_latch(struct vga *v, u32 po)
{
	v->latch = 0;
	for (unsigned p = 0; p < 4; p++)
		v->latch |= (u32)v->vram[VGA_PLANE_IDX(po, p)] << (8 * p);
}

static u8 vga_planar_read(struct vga *v, u32 a)
{
	u32 po;
	unsigned plane;
	u8 cmp, dc, res;

	if (v->sr[VGA_SR_MEM_MODE] & VGA_SR4_CHAIN4) {
		plane = a & 3;
		po = a & ~3u;
	} else if (v->gr[VGA_GR_MODE] & VGA_GR5_ODD_EVEN) {
		plane = (v->gr[VGA_GR_READ_MAP] & 2) | (a & 1);
		po = a & ~1u;
	} else {
		plane = v->gr[VGA_GR_READ_MAP] & 3;
		po = a;
	}
	po &= VGA_PLANE_SIZE - 1;
	vga_load_latch(v, po);
	if (!(v->gr[VGA_GR_MODE] & VGA_GR5_READ_MODE))
		return (u8)(v->latch >> (8 * plane));
	/* read mode 1: bits where every plane that counts matches the colour compare */
	res = 0xff;
	cmp = v->gr[VGA_GR_COMPARE];
	dc = v->gr[VGA_GR_DONT_CARE];
	for (unsigned p = 0; p < 4; p++) {
		u8 want = (cmp & (1u << p)) ? 0xff : 0, got = (u8)(v->latch >> (8 * p));

		if (dc & (1u << p))
			res &= (u8) ~(want ^ got);
	}
	return res;
}

static void vga_planar_write(struct vga *v, u32 a, u8 val)
{
	u8 planes = v->sr[VGA_SR_MAP_MASK] & 0xf;
	u32 po, data;

	if (v->sr[VGA_SR_MEM_MODE] & VGA_SR4_CHAIN4) {
		planes &= (u8)(1u << (a & 3));
		po = a & ~3u;
	} else if (!(v->sr[VGA_SR_MEM_MODE] & VGA_SR4_ODD_EVEN_OFF)) {
		planes &= (u8)(1u << (a & 1));
		po = a & ~1u;
	} else {
		po = a;
	}
	po &= VGA_PLANE_SIZE - 1;
	if (!planes)
		return;
	data = vga_write_data(v, val);
	for (unsigned p = 0; p < 4; p++)
		if (planes & (1u << p))
			v->vram[VGA_PLANE_IDX(po, p)] = (u8)(data >> (8 * p));
	vga_mark_dirty(v, VGA_PLANE_IDX(po, 0), 4);
	if (planes & 4)
		v->font_gen++;
}

/* The byte of video RAM a banked VBE window access reaches, or -1. */
static s64 vga_bank_index(const struct vga *v, u64 off)
{
	u64 idx;

	if (off >= VBE_BANK_SIZE)
		return -1;
	idx = (u64)v->vbe[VBE_DISPI_INDEX_BANK] * VBE_BANK_SIZE + off;
	return idx < v->vram_size ? (s64)idx : -1; /* banks past video RAM: nothing */
}

static u64 vga_mem_read(void *dev, u64 off, unsigned size)
{
	struct vga *v = dev;
	s32 a;

	(void)size;
	if (vga_vbe_banked(v)) {
		s64 idx = vga_bank_index(v, off);

		return idx < 0 ? 0xff : v->vram[idx];
	}
	a = vga_window_offset(v, off);
	return a < 0 ? 0xff : vga_planar_read(v, (u32)a);
}

static void vga_mem_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct vga *v = dev;
	s32 a;

	(void)size;
	if (vga_vbe_banked(v)) {
		s64 idx = vga_bank_index(v, off);

		if (idx >= 0) {
			v->vram[idx] = (u8)val;
			vga_mark_dirty(v, (u32)idx, 1);
		}
		return;
	}
	a = vga_window_offset(v, off);
	if (a >= 0)
		vga_planar_write(v, (u32)a, (u8)val);
}

static const struct io_ops vga_mem_io = {
	.read = vga_mem_read,
	.write = vga_mem_write,
	.min_size = 1,
	.max_size = 1,
};

/* ------------------------------------------------------------------ the ports */

static bool vga_port_ignored(const struct vga *v, u16 port)
{
	bool color = v->misc & VGA_MIS_COLOR;

	if (port >= 0x3b0 && port < 0x3c0)
		return color;
	if (port >= 0x3d0 && port < 0x3e0)
		return !color;
	return false;
}

static u8 vga_status1(struct vga *v)
{
	u64 t = vclock_now_ns(&v->p->clock);
	u8 val = 0;

	if (t % VGA_FRAME_NS >= VGA_FRAME_NS - VGA_RETRACE_NS)
		val |= VGA_IS1_VR | VGA_IS1_DE;
	else if (v->status_reads++ & 1) /* horizontal blanking */
		val |= VGA_IS1_DE;
	v->ar_flip = false;
	return val;
}

u8 vga_port_read(struct vga *v, u16 port)
{
	if (vga_port_ignored(v, port))
		return 0xff;
	switch (port) {
	case VGA_ATT_W:
		return v->ar_index;
	case VGA_ATT_R:
		return (v->ar_index & 0x1f) < VGA_AR_COUNT ? v->ar[v->ar_index & 0x1f] : 0;
	case VGA_MIS_W:
		return 0x10; /* input status 0: switch sense (a colour monitor) */
	case VGA_SEQ_I:
		return v->sr_index;
	case VGA_SEQ_D:
		return v->sr_index < VGA_SR_COUNT ? v->sr[v->sr_index] : 0xff;
	case VGA_PEL_MSK:
		return v->dac_mask;
	case VGA_PEL_IR:
		return v->dac_state;
	case VGA_PEL_IW:
		return v->dac_write;
	case VGA_PEL_D: {
		u8 val = v->dac[v->dac_read * 3 + v->dac_step];

		if (++v->dac_step == 3) {
			v->dac_step = 0;
			v->dac_read++;
		}
		return val;
	}
	case VGA_FTC_R:
		return v->fcr;
	case VGA_MIS_R:
		return v->misc;
	case VGA_GFX_I:
		return v->gr_index;
	case VGA_GFX_D:
		return v->gr_index < VGA_GR_COUNT ? v->gr[v->gr_index] : 0xff;
	case VGA_CRT_IM:
	case VGA_CRT_IC:
		return v->cr_index;
	case VGA_CRT_DM:
	case VGA_CRT_DC:
		return v->cr_index < VGA_CR_COUNT ? v->cr[v->cr_index] : 0xff;
	case VGA_IS1_RM:
	case VGA_IS1_RC:
		return vga_status1(v);
	default:
		return 0xff;
	}
}

static void vga_ar_write(struct vga *v, u8 val)
{
	unsigned i = v->ar_index & 0x1f;

	if (!v->ar_flip) {
		if ((v->ar_index ^ val) & VGA_ATT_PAS)
			v->gen++;
		v->ar_index = val & 0x3f;
	} else if (i < VGA_AR_COUNT) {
		v->ar[i] = val;
		v->gen++;
	}
	v->ar_flip = !v->ar_flip;
}

static void vga_cr_write(struct vga *v, u8 val)
{
	unsigned i = v->cr_index;

	if (i >= VGA_CR_COUNT)
		return;
	/* CR11 bit 7 write-protects CR0-CR7, except the line compare bit of CR7 */
	if ((v->cr[VGA_CR_VSYNC_END] & 0x80) && i <= VGA_CR_OVERFLOW) {
		if (i == VGA_CR_OVERFLOW)
			v->cr[i] = (u8)((v->cr[i] & ~0x10) | (val & 0x10));
		return;
	}
	v->cr[i] = val;
	v->gen++;
}

static void vga_dac_write(struct vga *v, u8 val)
{
	v->dac_latch[v->dac_step] = val;
	if (++v->dac_step < 3)
		return;
	memcpy(&v->dac[v->dac_write * 3], v->dac_latch, 3);
	v->dac_step = 0;
	v->dac_write++;
	v->gen++;
}

void vga_port_write(struct vga *v, u16 port, u8 val)
{
	if (vga_port_ignored(v, port))
		return;
	switch (port) {
	case VGA_ATT_W:
		vga_ar_write(v, val);
		break;
	case VGA_MIS_W:
		v->misc = val;
		v->gen++;
		break;
	case VGA_SEQ_I:
		v->sr_index = val & 7;
		break;
	case VGA_SEQ_D:
		if (v->sr_index < VGA_SR_COUNT) {
			v->sr[v->sr_index] = val;
			v->gen++;
		}
		break;
	case VGA_PEL_MSK:
		v->dac_mask = val;
		v->gen++;
		break;
	case VGA_PEL_IR:
		v->dac_read = val;
		v->dac_step = 0;
		v->dac_state = 3;
		break;
	case VGA_PEL_IW:
		v->dac_write = val;
		v->dac_step = 0;
		v->dac_state = 0;
		break;
	case VGA_PEL_D:
		vga_dac_write(v, val);
		break;
	case VGA_GFX_I:
		v->gr_index = val & 0xf;
		break;
	case VGA_GFX_D:
		if (v->gr_index < VGA_GR_COUNT) {
			v->gr[v->gr_index] = val;
			v->gen++;
		}
		break;
	case VGA_CRT_IM:
	case VGA_CRT_IC:
		v->cr_index = val;
		break;
	case VGA_CRT_DM:
	case VGA_CRT_DC:
		vga_cr_write(v, val);
		break;
	case VGA_IS1_RM:
	case VGA_IS1_RC:
		v->fcr = val & 0x0b;
		break;
	default:
		break;
	}
}

static u64 vga_pio_read(void *dev, u64 off, unsigned size)
{
	(void)size;
	return vga_port_read(dev, (u16)(VGA_PORT_BASE + off));
}

static void vga_pio_write(void *dev, u64 off, unsigned size, u64 val)
{
	(void)size;
	vga_port_write(dev, (u16)(VGA_PORT_BASE + off), (u8)val);
}

static const struct io_ops vga_pio_io = {
	.read = vga_pio_read,
	.write = vga_pio_write,
	.min_size = 1,
	.max_size = 1,
};

/*
 * Index at 0x1CE, data at 0x1CF (and its alias 0x1D0): 16-bit registers, so a word access
 * to the data port covers 0x1CF-0x1D0. A byte access reaches the register's low byte.
 */
static u64 vga_dispi_read(void *dev, u64 off, unsigned size)
{
	struct vga *v = dev;

	(void)size;
	return off == 0 ? v->vbe_index : vbe_read(v, v->vbe_index);
}

static void vga_dispi_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct vga *v = dev;

	if (size == 1)
		val |= (off == 0 ? v->vbe_index : vbe_read(v, v->vbe_index)) & 0xff00;
	if (off == 0)
		v->vbe_index = (u16)val;
	else
		vbe_write(v, v->vbe_index, (u16)val);
}

static const struct io_ops vga_dispi_io = {
	.read = vga_dispi_read,
	.write = vga_dispi_write,
	.min_size = 1,
	.max_size = 2,
};

/* ------------------------------------------------------------------ lifecycle */

void vga_dac_reset(struct vga *v)
{
	memset(v->dac, 0, sizeof(v->dac));
	v->dac_write = v->dac_read = v->dac_step = v->dac_state = 0;
	v->dac_mask = 0xff;
	memset(v->dac_latch, 0, sizeof(v->dac_latch));
}

/* Power-on: every register 0 (the VGA BIOS programs a mode), palette address source off. */
void vga_regs_reset(struct vga *v)
{
	v->misc = v->fcr = 0;
	v->sr_index = v->gr_index = v->cr_index = 0;
	memset(v->sr, 0, sizeof(v->sr));
	memset(v->gr, 0, sizeof(v->gr));
	memset(v->cr, 0, sizeof(v->cr));
	memset(v->ar, 0, sizeof(v->ar));
	v->ar_index = 0;
	v->ar_flip = false;
	v->latch = 0;
	vga_dac_reset(v);
	v->gen++;
}

static void vga_reset(struct vga *v)
{
	vga_regs_reset(v);
	vbe_reset(v);
	pci_dev_reset(&v->pci); /* unmaps the BARs */
	memset(v->dirty, 0xff, VGA_DIRTY_LONGS(v) * sizeof(unsigned long));
	vga_render_reset(v);
}

static void vga_unmap_legacy(struct vga *v)
{
	bus_unmap(&v->p->mmio, VGA_LEGACY_GPA);
	bus_unmap(&v->p->pio, VGA_PORT_BASE);
	bus_unmap(&v->p->pio, VBE_DISPI_IOPORT_INDEX);
}

static int vga_map_legacy(struct vga *v, struct err *err)
{
	int ret = bus_map_dev(&v->p->mmio, VGA_LEGACY_GPA, VGA_LEGACY_LEN, &vga_mem_io, v, v->name,
			      err);

	if (!ret)
		ret = bus_map_dev(&v->p->pio, VGA_PORT_BASE, VGA_PORT_LEN, &vga_pio_io, v, v->name,
				  err);
	if (!ret)
		ret = bus_map_dev(&v->p->pio, VBE_DISPI_IOPORT_INDEX, 3, &vga_dispi_io, v, v->name,
				  err);
	return ret;
}

static int vga_alloc(struct vga *v, const struct vga_config *cfg, struct err *err)
{
	u32 mib = cfg->vram_mib;
	void *m;

	if (mib < VGA_VRAM_MIB_MIN || mib > VGA_VRAM_MIB_MAX || (mib & (mib - 1)))
		return err_set(err, -EINVAL,
			       "%s: video RAM of %u MiB: a power of two from %u to %u MiB", v->name,
			       mib, VGA_VRAM_MIB_MIN, VGA_VRAM_MIB_MAX);
	if (cfg->rom_len > VGA_ROM_MAX_BYTES)
		return err_set(err, -EINVAL, "%s: the VGA BIOS is larger than %u bytes", v->name,
			       VGA_ROM_MAX_BYTES);
	v->vram_size = mib << 20;
	m = mmap(NULL, v->vram_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return err_set(err, -ENOMEM, "%s: cannot allocate %u MiB of video RAM", v->name,
			       mib);
	v->vram = m;
	v->dirty = calloc(VGA_DIRTY_LONGS(v), sizeof(unsigned long));
	v->mem_dirty = calloc(VGA_DIRTY_LONGS(v), sizeof(unsigned long));
	if (!v->dirty || !v->mem_dirty)
		return err_set(err, -ENOMEM, "%s: out of memory", v->name);
	if (cfg->rom && cfg->rom_len) {
		v->rom_size = 0x800;
		while (v->rom_size < cfg->rom_len)
			v->rom_size <<= 1;
		v->rom = calloc(1, v->rom_size);
		if (!v->rom)
			return err_set(err, -ENOMEM, "%s: out of memory", v->name);
		memcpy(v->rom, cfg->rom, cfg->rom_len);
		v->rom_len = (u32)cfg->rom_len;
	}
	return 0;
}

int vga_create(struct platform *p, struct pci_host *h, const struct vga_config *cfg,
	       struct vga **out, struct err *err)
{
	struct vga *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	v->p = p;
	snprintf(v->name, sizeof(v->name), "%s", cfg->name);
	v->lfb_gpa = v->mmio_gpa = v->rom_gpa = PCI_BAR_UNMAPPED;
	ret = vga_alloc(v, cfg, err);
	if (ret < 0)
		goto err_free;
	ret = vbe_pci_init(v, h, cfg->slot, err);
	if (ret < 0)
		goto err_free;
	ret = vga_map_legacy(v, err);
	if (ret < 0)
		goto err_unmap;
	vga_regs_reset(v);
	vbe_reset(v);
	memset(v->dirty, 0xff, VGA_DIRTY_LONGS(v) * sizeof(unsigned long));
	*out = v;
	return 0;

err_unmap:
	vga_unmap_legacy(v);
	pci_host_remove(h, &v->pci);
err_free:
	vga_destroy(v);
	return ret;
}

void vga_destroy(struct vga *v)
{
	if (!v)
		return;
	if (v->pci.host) {
		vbe_unmap_all(v);
		pci_host_remove(v->pci.host, &v->pci);
		vga_unmap_legacy(v);
	}
	if (v->vram)
		munmap(v->vram, v->vram_size);
	free(v->dirty);
	free(v->mem_dirty);
	free(v->rom);
	free(v->text_shadow);
	free(v->row);
	free(v->scan);
	free(v);
}

struct pci_dev *vga_pci(struct vga *v)
{
	return &v->pci;
}

/* ------------------------------------------------------------------ mode 3 */

/* The register values of 80x25 colour text (mode 3) as the IBM VGA BIOS programs them. */
static const u8 vga_mode3_sr[VGA_SR_COUNT] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const u8 vga_mode3_gr[VGA_GR_COUNT] = { 0, 0, 0, 0, 0, 0x10, 0x0e, 0, 0xff };
static const u8 vga_mode3_cr[VGA_CR_COUNT] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
					       0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					       0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
static const u8 vga_mode3_ar[VGA_AR_COUNT] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
					       0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
					       0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00 };

void vga_text_mode_init(struct vga *v, const u8 *font, unsigned height)
{
	vga_regs_reset(v);
	v->misc = 0x67;
	memcpy(v->sr, vga_mode3_sr, sizeof(v->sr));
	memcpy(v->gr, vga_mode3_gr, sizeof(v->gr));
	memcpy(v->cr, vga_mode3_cr, sizeof(v->cr));
	memcpy(v->ar, vga_mode3_ar, sizeof(v->ar));
	v->ar_index = VGA_ATT_PAS;
	/* The EGA palette in the first 64 DAC entries: bits 0-2 at 2/3, bits 3-5 at 1/3. */
	for (unsigned i = 0; i < 64; i++) {
		v->dac[i * 3 + 0] = (u8)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
		v->dac[i * 3 + 1] = (u8)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
		v->dac[i * 3 + 2] = (u8)((i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
	}
	memset(v->vram, 0, 4 * VGA_PLANE_SIZE);
	for (u32 cell = 0; cell < 0x4000; cell++) { /* blanks, light grey on black */
		v->vram[VGA_PLANE_IDX(cell * 2, 0)] = ' ';
		v->vram[VGA_PLANE_IDX(cell * 2, 1)] = 0x07;
	}
	if (font && height && height <= 32)
		for (unsigned g = 0; g < VGA_FONT_GLYPHS; g++)
			for (unsigned r = 0; r < height; r++)
				v->vram[VGA_PLANE_IDX(g * 32 + r, 2)] = font[g * height + r];
	vga_mark_dirty(v, 0, 4 * VGA_PLANE_SIZE);
	memset(v->dirty, 0xff, VGA_DIRTY_LONGS(v) * sizeof(unsigned long));
	v->font_gen++;
	v->gen++;
}

const u8 *vga_font_find(const u8 *rom, size_t len)
{
	static const u8 shade[4] = { 0x11, 0x44, 0x11, 0x44 };

	for (size_t off = 0; len >= 4096 && off <= len - 4096; off++) {
		const u8 *f = rom + off;
		bool ok = true;

		for (unsigned r = 0; r < 16 && ok; r++)
			ok = !f[r] && !f[0x20 * 16 + r] && f[0xdb * 16 + r] == 0xff;
		/* the light shade: 0x22 0x88 rows in some fonts, 0x11 0x44 in others */
		if (ok && memcmp(f + 0xb0 * 16, shade, 4) && memcmp(f + 0xb0 * 16 + 1, shade, 3))
			ok = f[0xb0 * 16] == 0x22 && f[0xb0 * 16 + 1] == 0x88;
		if (ok && f['A' * 16 + 5] && f['A' * 16 + 8])
			return f;
	}
	return NULL;
}

/* ------------------------------------------------------------------ device ops, state */

static void vga_ops_reset(void *dev)
{
	vga_reset(dev);
}

static void vga_ops_destroy(void *dev)
{
	vga_destroy(dev);
}

static int vga_post_load(void *obj, u32 version, struct err *err)
{
	struct vga *v = obj;

	(void)version;
	if (v->dac_step > 2)
		return err_set(err, -EINVAL, "%s: DAC step %u", v->name, v->dac_step);
	vbe_fixup(v);
	memset(v->dirty, 0xff, VGA_DIRTY_LONGS(v) * sizeof(unsigned long));
	vga_render_reset(v);
	return 0;
}

static const struct state_field vga_fields[] = {
	STATE_HOST(struct vga, p, "the platform"),
	STATE_HOST(struct vga, name, "the board's name"),
	STATE_STRUCT(struct vga, pci, pci_dev_state),
	STATE_HOST(struct vga, vram,
		   "video RAM is guest memory like RAM: not device state (docs/display.md)"),
	STATE_U32(struct vga, vram_size, STATE_CHECKED),
	STATE_HOST(struct vga, dirty, "what the display has not redrawn yet"),
	STATE_HOST(struct vga, mem_dirty, "what a migration has not sent yet"),
	STATE_HOST(struct vga, rom, "the VGA BIOS file, given by the spec"),
	STATE_U32(struct vga, rom_size, STATE_CHECKED),
	STATE_U32(struct vga, rom_len, STATE_CHECKED),
	STATE_U8(struct vga, misc),
	STATE_U8(struct vga, fcr),
	STATE_U8(struct vga, sr_index, STATE_MAX(7)),
	STATE_ARRAY(struct vga, sr, U8),
	STATE_U8(struct vga, gr_index, STATE_MAX(15)),
	STATE_ARRAY(struct vga, gr, U8),
	STATE_U8(struct vga, cr_index),
	STATE_ARRAY(struct vga, cr, U8),
	STATE_U8(struct vga, ar_index, STATE_MAX(0x3f)),
	STATE_BOOL(struct vga, ar_flip),
	STATE_ARRAY(struct vga, ar, U8),
	STATE_U8(struct vga, dac_write),
	STATE_U8(struct vga, dac_read),
	STATE_U8(struct vga, dac_step, STATE_MAX(2)),
	STATE_U8(struct vga, dac_state, STATE_MAX(3)),
	STATE_U8(struct vga, dac_mask),
	STATE_ARRAY(struct vga, dac, U8),
	STATE_ARRAY(struct vga, dac_latch, U8),
	STATE_U32(struct vga, latch),
	STATE_U16(struct vga, vbe_index),
	STATE_ARRAY(struct vga, vbe, U16),
	STATE_U32(struct vga, qext_endian),
	STATE_HOST(struct vga, geom, "re-derived from the dispi registers by post_load"),
	STATE_HOST(struct vga, lfb_gpa, "BAR mappings: re-derived from config space"),
	STATE_HOST(struct vga, mmio_gpa, "BAR mappings: re-derived from config space"),
	STATE_HOST(struct vga, rom_gpa, "BAR mappings: re-derived from config space"),
	STATE_HOST(struct vga, lfb_ram, "BAR mappings: re-derived from config space"),
	STATE_HOST(struct vga, gen, "the display's change counter"),
	STATE_HOST(struct vga, font_gen, "the display's change counter"),
	STATE_HOST(struct vga, seen_gen, "renderer cache"),
	STATE_HOST(struct vga, seen_font_gen, "renderer cache"),
	STATE_HOST(struct vga, seen_kind, "renderer cache"),
	STATE_HOST(struct vga, palette, "renderer cache"),
	STATE_HOST(struct vga, text_shadow, "renderer cache"),
	STATE_HOST(struct vga, text_shadow_cap, "renderer cache"),
	STATE_HOST(struct vga, seen_cursor, "renderer cache"),
	STATE_HOST(struct vga, row, "renderer scratch"),
	STATE_HOST(struct vga, scan, "renderer scratch"),
	STATE_HOST(struct vga, status_reads, "the horizontal blanking phase: timing"),
	STATE_END,
};

static const struct state_desc vga_state = {
	.name = "vga",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vga),
	.fields = vga_fields,
	.post_load = vga_post_load,
};

static u8 *vga_ops_memory(void *dev, u64 *len)
{
	struct vga *v = dev;

	*len = v->vram_size;
	return v->vram;
}

static int vga_ops_memory_dirty(void *dev, unsigned long *bitmap)
{
	return vga_memory_dirty(dev, bitmap);
}

const struct device_ops vga_device_ops = {
	.type = "vga",
	.reset = vga_ops_reset,
	.state = &vga_state,
	.destroy = vga_ops_destroy,
	.memory = vga_ops_memory,
	.memory_dirty = vga_ops_memory_dirty,
};
