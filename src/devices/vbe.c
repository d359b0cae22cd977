// SPDX-License-Identifier: MIT
/*
 * Bochs VBE (the "dispi" interface, IDs 0xB0C0-0xB0C5) and the stdvga PCI function around the
 * VGA core (vga.h), as QEMU's docs/specs/standard-vga.rst describes the device that SeaBIOS's
 * VGA BIOS (vgasrc/bochsvga.c), Linux's bochs DRM driver and OVMF's QemuVideoDxe drive:
 *   - PCI 1234:1111, class 0300 (VGA), subsystem 1af4:1100; BAR0 the linear framebuffer
 *     (all of video RAM, prefetchable), BAR2 4 KiB of MMIO: EDID at 0x000 (none: reads 0),
 *     the VGA ports 0x3C0-0x3DF at 0x400, dispi register i at 0x500 + 2i, the QEMU extension
 *     at 0x600 (its size, and the framebuffer byte order register); the expansion ROM holds
 *     the VGA BIOS;
 *   - dispi registers at ports 0x1CE (index) / 0x1CF (data): ID, XRES, YRES, BPP (8, 15, 16,
 *     24, 32), ENABLE (with GETCAPS: XRES/YRES/BPP read the limits; 8BIT_DAC; LFB; NOCLEARMEM:
 *     enabling clears the visible lines unless set), BANK (64 KiB window at 0xA0000),
 *     VIRT_WIDTH, VIRT_HEIGHT (reads what fits), X_OFFSET, Y_OFFSET, VIDEO_MEMORY_64K.
 *
 * A guest may write anything: registers read back as written, and the picture uses the
 * clamped geometry (vbe_fixup): a resolution within VGA_MAX_WIDTH x VGA_MAX_HEIGHT, a line
 * at least as wide as the resolution, offsets and heights that keep every visible byte
 * inside video RAM, banks past video RAM reaching nothing.
 *
 * The framebuffer BAR is served two ways: mapped into the guest as RAM with dirty logging
 * (platform.h map_ram: no exit per access; the display asks the accelerator which pages
 * changed), and by a bus handler that works whenever the mapping cannot be made (a BAR placed
 * over RAM or another mapping, machines without map_ram).
 *
 * Not modelled: 4-bit planar VBE modes (BPP 4 shows as 8), big-endian framebuffers (the byte
 * order register is kept but the picture is always read little-endian), an EDID block.
 */
#include "devices/vga_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <string.h>

#define VBE_PCI_VENDOR	  0x1234
#define VBE_PCI_DEVICE	  0x1111
#define VBE_PCI_CLASS_VGA 0x030000
#define VBE_LFB_BAR	  0
#define VBE_MMIO_BAR	  2

static u32 vbe_bytespp(u32 bpp)
{
	return (bpp + 7) / 8;
}

void vbe_fixup(struct vga *v)
{
	const u16 *r = v->vbe;
	struct vbe_geom g = { .on = r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED };
	u32 vw, xo, yo;

	switch (r[VBE_DISPI_INDEX_BPP]) {
	case 15:
	case 16:
	case 24:
	case 32:
		g.bpp = r[VBE_DISPI_INDEX_BPP];
		break;
	default:
		g.bpp = 8;
		break;
	}
	g.bytespp = vbe_bytespp(g.bpp);
	g.xres = MIN(MAX(r[VBE_DISPI_INDEX_XRES], 1u), (u32)VGA_MAX_WIDTH);
	g.yres = MIN(MAX(r[VBE_DISPI_INDEX_YRES], 1u), (u32)VGA_MAX_HEIGHT);
	vw = MAX((u32)r[VBE_DISPI_INDEX_VIRT_WIDTH], g.xres);
	g.line = vw * g.bytespp;
	if ((u64)g.line * g.yres > v->vram_size)
		g.line = g.xres * g.bytespp;
	if ((u64)g.line * g.yres > v->vram_size)
		g.yres = v->vram_size / g.line;
	g.virt_height = v->vram_size / g.line;
	xo = MIN((u32)r[VBE_DISPI_INDEX_X_OFFSET], g.line / g.bytespp - g.xres);
	yo = MIN((u32)r[VBE_DISPI_INDEX_Y_OFFSET], g.virt_height - g.yres);
	g.start = yo * g.line + xo * g.bytespp;
	v->geom = g;
}

void vbe_reset(struct vga *v)
{
	memset(v->vbe, 0, sizeof(v->vbe));
	v->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
	v->vbe_index = 0;
	v->qext_endian = VBE_QEXT_LITTLE_ENDIAN;
	vbe_fixup(v);
}

u16 vbe_read(struct vga *v, unsigned index)
{
	bool caps = v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;

	switch (index) {
	case VBE_DISPI_INDEX_XRES:
		return caps ? VGA_MAX_WIDTH : v->vbe[index];
	case VBE_DISPI_INDEX_YRES:
		return caps ? VGA_MAX_HEIGHT : v->vbe[index];
	case VBE_DISPI_INDEX_BPP:
		return caps ? 32 : v->vbe[index];
	case VBE_DISPI_INDEX_VIRT_HEIGHT:
		return (u16)MIN(v->geom.virt_height, 0xffffu);
	case VBE_DISPI_INDEX_VIDEO_MEMORY_64K:
		return (u16)(v->vram_size >> 16);
	default:
		return index < VBE_DISPI_INDEX_NB ? v->vbe[index] : 0;
	}
}

void vbe_write(struct vga *v, unsigned index, u16 val)
{
	u16 old;

	switch (index) {
	case VBE_DISPI_INDEX_ID:
		if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
			v->vbe[index] = val;
		return;
	case VBE_DISPI_INDEX_VIDEO_MEMORY_64K:
		return;
	case VBE_DISPI_INDEX_BANK:
		/* a power of two of banks: the mask keeps every bank inside video RAM */
		v->vbe[index] = val & (u16)((v->vram_size / VBE_BANK_SIZE) - 1);
		return;
	case VBE_DISPI_INDEX_ENABLE:
		old = v->vbe[index];
		v->vbe[index] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC |
				       VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
		vbe_fixup(v);
		if (!(old & VBE_DISPI_ENABLED) && (val & VBE_DISPI_ENABLED) &&
		    !(val & VBE_DISPI_NOCLEARMEM)) {
			u32 n = MIN((u32)((u64)v->geom.line * v->geom.yres), v->vram_size);

			memset(v->vram, 0, n);
			vga_mark_dirty(v, 0, n);
		}
		break;
	default:
		if (index >= VBE_DISPI_INDEX_NB)
			return;
		v->vbe[index] = val;
		vbe_fixup(v);
		break;
	}
	v->gen++;
}

/* ------------------------------------------------------------------ BARs */

static u64 vbe_lfb_read(void *dev, u64 off, unsigned size)
{
	struct vga *v = dev;
	u64 val = 0;

	memcpy(&val, v->vram + off, size); /* the bus keeps off + size inside the BAR */
	return val;
}

static void vbe_lfb_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct vga *v = dev;

	memcpy(v->vram + off, &val, size);
	vga_mark_dirty(v, (u32)off, size);
}

static const struct io_ops vbe_lfb_io = {
	.read = vbe_lfb_read,
	.write = vbe_lfb_write,
	.min_size = 1,
	.max_size = 8,
};

static u64 vbe_mmio_read(void *dev, u64 off, unsigned size)
{
	struct vga *v = dev;
	u64 val = 0;

	if (off >= VBE_MMIO_VGA && off < VBE_MMIO_VGA + 0x20) {
		for (unsigned i = 0; i < size && off + i < VBE_MMIO_VGA + 0x20; i++)
			val |= (u64)vga_port_read(v, (u16)(VGA_ATT_W + off + i - VBE_MMIO_VGA))
			       << (8 * i);
		return val;
	}
	if (off >= VBE_MMIO_DISPI && off < VBE_MMIO_DISPI + 2 * VBE_DISPI_INDEX_NB) {
		unsigned i = (unsigned)(off - VBE_MMIO_DISPI) / 2;

		val = vbe_read(v, i);
		if (size == 4 && i + 1 < VBE_DISPI_INDEX_NB)
			val |= (u64)vbe_read(v, i + 1) << 16;
		return (off & 1) ? val >> 8 : val;
	}
	if (off == VBE_MMIO_QEXT)
		return VBE_QEXT_SIZE;
	if (off == VBE_MMIO_QEXT + 4)
		return v->qext_endian;
	return 0; /* no EDID, reserved */
}

static void vbe_mmio_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct vga *v = dev;

	if (off >= VBE_MMIO_VGA && off < VBE_MMIO_VGA + 0x20) {
		for (unsigned i = 0; i < size && off + i < VBE_MMIO_VGA + 0x20; i++)
			vga_port_write(v, (u16)(VGA_ATT_W + off + i - VBE_MMIO_VGA),
				       (u8)(val >> (8 * i)));
		return;
	}
	if (off >= VBE_MMIO_DISPI && off < VBE_MMIO_DISPI + 2 * VBE_DISPI_INDEX_NB && !(off & 1) &&
	    size >= 2) {
		unsigned i = (unsigned)(off - VBE_MMIO_DISPI) / 2;

		vbe_write(v, i, (u16)val);
		if (size == 4 && i + 1 < VBE_DISPI_INDEX_NB)
			vbe_write(v, i + 1, (u16)(val >> 16));
		return;
	}
	if (off == VBE_MMIO_QEXT + 4 && size == 4 &&
	    (val == VBE_QEXT_LITTLE_ENDIAN || val == VBE_QEXT_BIG_ENDIAN))
		v->qext_endian = (u32)val;
}

static const struct io_ops vbe_mmio_io = {
	.read = vbe_mmio_read,
	.write = vbe_mmio_write,
	.min_size = 1,
	.max_size = 4,
};

static u64 vbe_rom_read(void *dev, u64 off, unsigned size)
{
	struct vga *v = dev;
	u64 val = 0;

	memcpy(&val, v->rom + off, size);
	return val;
}

static const struct io_ops vbe_rom_io = {
	.read = vbe_rom_read,
	.min_size = 1,
	.max_size = 8,
};

static void vbe_lfb_unmap(struct vga *v)
{
	if (v->lfb_gpa == PCI_BAR_UNMAPPED)
		return;
	vga_lfb_log(v); /* the guest's last stores before the mapping goes */
	if (v->lfb_ram)
		v->p->map_ram(v->p, v->lfb_gpa, 0, NULL, 0);
	v->lfb_ram = false;
	bus_unmap(&v->p->mmio, v->lfb_gpa);
	v->lfb_gpa = PCI_BAR_UNMAPPED;
}

static void vbe_lfb_map(struct vga *v, u64 gpa)
{
	int ret;

	if (bus_map(&v->p->mmio, gpa, v->vram_size, &vbe_lfb_io, v, v->name) < 0) {
		log_guest("%s: framebuffer BAR at %#llx overlaps another device, not decoded",
			  v->name, (unsigned long long)gpa);
		return;
	}
	v->lfb_gpa = gpa;
	if (v->p->map_ram) {
		ret = v->p->map_ram(v->p, gpa, v->vram_size, v->vram, PLATFORM_MEM_LOG_DIRTY);
		v->lfb_ram = ret == 0;
		if (ret < 0)
			log_guest("%s: framebuffer BAR at %#llx cannot be guest RAM (%s): every "
				  "access to it exits",
				  v->name, (unsigned long long)gpa, strerror(-ret));
	}
	vga_mark_dirty(v, 0, v->vram_size);
}

static void vbe_bar_remap(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct vga *v = container_of(d, struct vga, pci);

	(void)old_addr;
	/* The device lock is recursive: mapping from this configuration write is allowed. */
	switch (bar) {
	case VBE_LFB_BAR:
		vbe_lfb_unmap(v);
		if (new_addr != PCI_BAR_UNMAPPED)
			vbe_lfb_map(v, new_addr);
		break;
	case VBE_MMIO_BAR:
		if (v->mmio_gpa != PCI_BAR_UNMAPPED)
			bus_unmap(&v->p->mmio, v->mmio_gpa);
		v->mmio_gpa = PCI_BAR_UNMAPPED;
		if (new_addr == PCI_BAR_UNMAPPED)
			break;
		if (bus_map(&v->p->mmio, new_addr, VBE_MMIO_SIZE, &vbe_mmio_io, v, v->name) < 0)
			log_guest("%s: MMIO BAR at %#llx overlaps another device, not decoded",
				  v->name, (unsigned long long)new_addr);
		else
			v->mmio_gpa = new_addr;
		break;
	case PCI_ROM_SLOT:
		if (v->rom_gpa != PCI_BAR_UNMAPPED)
			bus_unmap(&v->p->mmio, v->rom_gpa);
		v->rom_gpa = PCI_BAR_UNMAPPED;
		if (new_addr == PCI_BAR_UNMAPPED)
			break;
		if (bus_map(&v->p->mmio, new_addr, v->rom_size, &vbe_rom_io, v, v->name) < 0)
			log_guest("%s: ROM at %#llx overlaps another device, not decoded", v->name,
				  (unsigned long long)new_addr);
		else
			v->rom_gpa = new_addr;
		break;
	default:
		break;
	}
}

static const struct pci_dev_ops vbe_pci_ops = {
	.bar_remap = vbe_bar_remap,
};

void vbe_unmap_all(struct vga *v)
{
	vbe_bar_remap(&v->pci, VBE_LFB_BAR, v->lfb_gpa, PCI_BAR_UNMAPPED);
	vbe_bar_remap(&v->pci, VBE_MMIO_BAR, v->mmio_gpa, PCI_BAR_UNMAPPED);
	vbe_bar_remap(&v->pci, PCI_ROM_SLOT, v->rom_gpa, PCI_BAR_UNMAPPED);
}

int vbe_pci_init(struct vga *v, struct pci_host *h, unsigned slot, struct err *err)
{
	static const struct pci_id id = { .vendor = VBE_PCI_VENDOR,
					  .device = VBE_PCI_DEVICE,
					  .class_code = VBE_PCI_CLASS_VGA,
					  .revision = 2,
					  .subsystem_vendor = 0x1af4,
					  .subsystem = 0x1100 };

	pci_dev_init(&v->pci, v->name, &id, &vbe_pci_ops);
	if (pci_set_bar(&v->pci, VBE_LFB_BAR, v->vram_size, PCI_BAR_MEM32, true) < 0 ||
	    pci_set_bar(&v->pci, VBE_MMIO_BAR, VBE_MMIO_SIZE, PCI_BAR_MEM32, false) < 0 ||
	    (v->rom && pci_set_rom(&v->pci, v->rom_size) < 0))
		return err_set(err, -EINVAL, "%s: cannot declare the BARs", v->name);
	return pci_host_add(h, &v->pci, slot, 0, err);
}
