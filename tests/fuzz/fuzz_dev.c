// SPDX-License-Identifier: MIT
/* The device fuzz targets' machine (fuzz_dev.h). */
#include "fuzz_dev.h"

#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fuzz_pc_init(struct fuzz_pc *pc, u64 ram_bytes, u64 data_start, u64 data_align)
{
	struct pci_host_config hc = { .name = "pci" };

	pc->ram_bytes = ram_bytes;
	pc->data_start = pc->data_next = data_start;
	pc->data_align = data_align;
	if (test_platform_init(&pc->tp, ram_bytes) < 0)
		return -1;
	if (pci_host_create(&pc->tp.p, &hc, &pc->host, NULL) < 0) {
		test_platform_destroy(&pc->tp);
		return -1;
	}
	return 0;
}

void fuzz_pc_destroy(struct fuzz_pc *pc)
{
	pci_host_destroy(pc->host);
	test_platform_destroy(&pc->tp);
}

void fuzz_pc_put(struct fuzz_pc *pc, u64 gpa, u64 v, unsigned n)
{
	for (unsigned i = 0; i < n && gpa + i < pc->ram_bytes; i++)
		*fuzz_pc_ram(pc, gpa + i) = (u8)(v >> (8 * i));
}

u64 fuzz_pc_alloc(struct fuzz_pc *pc, u64 len)
{
	u64 at;

	len = MIN(len, pc->ram_bytes - pc->data_start);
	if (pc->data_next + len > pc->ram_bytes)
		pc->data_next = pc->data_start;
	at = pc->data_next;
	pc->data_next = ALIGN_UP(at + len, pc->data_align);
	return at;
}

void fuzz_pc_mem_op(struct fuzz_pc *pc, struct fuzz_in *in)
{
	u64 gpa = fuzz_uint(in, 3) % pc->ram_bytes;
	size_t len = fuzz_u8(in);
	u8 buf[256];

	fuzz_bytes(in, buf, len);
	memcpy(fuzz_pc_ram(pc, gpa), buf, MIN(len, (size_t)(pc->ram_bytes - gpa)));
	fuzz_dma_sync();
}

static void fuzz_cfg_address(struct fuzz_pc *pc, unsigned devfn, unsigned off)
{
	bus_write(&pc->tp.p.pio, 0xcf8, 4, 0x80000000u | (devfn & 0xff) << 8 | (off & 0xfc));
}

u32 fuzz_cfg_read(struct fuzz_pc *pc, unsigned devfn, unsigned off, unsigned size)
{
	fuzz_cfg_address(pc, devfn, off);
	return (u32)bus_read(&pc->tp.p.pio, 0xcfc + (off & 3), size);
}

void fuzz_cfg_write(struct fuzz_pc *pc, unsigned devfn, unsigned off, unsigned size, u32 val)
{
	fuzz_cfg_address(pc, devfn, off);
	bus_write(&pc->tp.p.pio, 0xcfc + (off & 3), size, val);
}

unsigned fuzz_cfg_find_cap(struct fuzz_pc *pc, unsigned devfn, u8 id)
{
	unsigned c = fuzz_cfg_read(pc, devfn, PCI_CAPABILITY_LIST, 1);

	for (unsigned n = 0; c && n < 48; n++) {
		if (fuzz_cfg_read(pc, devfn, c, 1) == id)
			return c;
		c = fuzz_cfg_read(pc, devfn, c + 1, 1);
	}
	return 0;
}

static struct {
	const u8 *ram;
	u64 len;
	u8 shadow[FUZZ_DMA_MAX];
	u8 told[FUZZ_DMA_MAX / 8], untold[FUZZ_DMA_MAX / 8]; /* a bit per byte */
} fuzz_dma;

static void fuzz_dma_on_write(void *opaque, u64 gpa, u64 len)
{
	(void)opaque;
	for (u64 a = gpa; a < gpa + len && a < fuzz_dma.len; a++) {
		fuzz_dma.told[a / 8] |= (u8)(1u << (a % 8));
		fuzz_dma.untold[a / 8] &= (u8) ~(1u << (a % 8));
	}
}

void fuzz_dma_start(struct fuzz_pc *pc)
{
	FUZZ_CHECK(pc->ram_bytes <= FUZZ_DMA_MAX);
	fuzz_dma.ram = pc->tp.ram;
	fuzz_dma.len = pc->ram_bytes;
	memset(fuzz_dma.untold, 0, sizeof(fuzz_dma.untold));
	memset(fuzz_dma.told, 0, sizeof(fuzz_dma.told));
	memcpy(fuzz_dma.shadow, fuzz_dma.ram, fuzz_dma.len);
	pc->tp.p.mem.on_write = fuzz_dma_on_write;
}

void fuzz_dma_sync(void)
{
	if (fuzz_dma.ram)
		memcpy(fuzz_dma.shadow, fuzz_dma.ram, fuzz_dma.len);
}

void fuzz_dma_check(void)
{
	for (u64 blk = 0; blk < fuzz_dma.len; blk += 64) {
		if (!memcmp(fuzz_dma.shadow + blk, fuzz_dma.ram + blk, 64))
			continue;
		for (u64 a = blk; a < blk + 64; a++)
			if (fuzz_dma.shadow[a] != fuzz_dma.ram[a] &&
			    !(fuzz_dma.told[a / 8] & (1u << (a % 8))))
				fuzz_dma.untold[a / 8] |= (u8)(1u << (a % 8));
		memcpy(fuzz_dma.shadow + blk, fuzz_dma.ram + blk, 64);
	}
	memset(fuzz_dma.told, 0, (fuzz_dma.len + 7) / 8);
}

void fuzz_dma_finish(void)
{
	fuzz_dma_check();
	for (u64 i = 0; i < (fuzz_dma.len + 7) / 8; i++) {
		if (fuzz_dma.untold[i])
			fprintf(stderr, "fuzz: a device changed guest RAM at %#llx unreported\n",
				(unsigned long long)(i * 8 +
						     (u64)__builtin_ctz(fuzz_dma.untold[i])));
		FUZZ_CHECK(!fuzz_dma.untold[i]);
	}
	fuzz_dma.ram = NULL;
}

int fuzz_disk_open(struct fuzz_disk *d, u64 size, unsigned sector_bytes, bool readonly)
{
	struct blockdev_spec spec = { .format = BLOCKDEV_FORMAT_RAW,
				      .readonly = readonly,
				      .engine = "sync" };
	u8 *img = malloc(size);

	d->bd = NULL;
	if (!img)
		return -1;
	for (u64 n = 0; n < size / sector_bytes; n++)
		memset(img + n * sector_bytes, (int)(n + 1), sector_bytes);
	d->fd = fuzz_memfd("fuzz-disk", img, size, d->path);
	free(img);
	if (d->fd < 0)
		return -1;
	spec.path = d->path;
	if (blockdev_open(&spec, &d->bd, NULL) < 0) {
		close(d->fd);
		return -1;
	}
	return 0;
}

void fuzz_disk_close(struct fuzz_disk *d)
{
	FUZZ_CHECK(blockdev_close(d->bd) == 0);
	close(d->fd);
}

/* ---- the driver side of a virtio-pci function ---- */

#define FUZZ_VPCI_FEATURES_OK \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

void fuzz_vpci_common(const struct fuzz_vpci *v, unsigned off, unsigned size, u64 val)
{
	bus_write(&v->pc->tp.p.mmio, v->bar4 + VIRTIO_PCI_COMMON_OFF + off, size, val);
}

void fuzz_vpci_notify(const struct fuzz_vpci *v, unsigned q)
{
	bus_write(&v->pc->tp.p.mmio, v->bar4 + VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT,
		  2, q);
}

void fuzz_vpci_bars(const struct fuzz_vpci *v)
{
	fuzz_cfg_write(v->pc, v->devfn, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)v->bar4);
	fuzz_cfg_write(v->pc, v->devfn, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	fuzz_cfg_write(v->pc, v->devfn, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4,
		       (u32)v->bar1);
	fuzz_cfg_write(v->pc, v->devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

void fuzz_vpci_features(const struct fuzz_vpci *v, u32 accept)
{
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_STATUS, 1,
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	accept &= (u32)bus_read(&v->pc->tp.p.mmio, v->bar4 + VIRTIO_PCI_COMMON_DF, 4);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_GF, 4, accept);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_STATUS, 1, FUZZ_VPCI_FEATURES_OK);
}

void fuzz_vpci_msix(const struct fuzz_vpci *v, unsigned last, u64 msi_addr)
{
	unsigned msix = fuzz_cfg_find_cap(v->pc, v->devfn, PCI_CAP_ID_MSIX);

	if (!msix)
		return;
	for (unsigned i = 0; i <= last; i++) {
		bus_write(&v->pc->tp.p.mmio, v->bar1 + 16 * i, 4, msi_addr);
		bus_write(&v->pc->tp.p.mmio, v->bar1 + 16 * i + 8, 4, 0x40 + i);
		bus_write(&v->pc->tp.p.mmio, v->bar1 + 16 * i + 12, 4, 0); /* unmask */
	}
	fuzz_cfg_write(v->pc, v->devfn, msix + 2, 2, 0x8000);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_MSIX, 2, 0);
}

void fuzz_vpci_queue(const struct fuzz_vpci *v, unsigned q, unsigned size, u64 desc, u64 avail,
		     u64 used)
{
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	if (size)
		fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)desc);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)avail);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)used);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

void fuzz_vpci_driver_ok(const struct fuzz_vpci *v)
{
	fuzz_vpci_common(v, VIRTIO_PCI_COMMON_STATUS, 1,
			 FUZZ_VPCI_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

void fuzz_vring_desc(struct fuzz_pc *pc, u64 table, unsigned i, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	u64 d = table + 16ull * i;

	fuzz_pc_put(pc, d, addr, 8);
	fuzz_pc_put(pc, d + 8, len, 4);
	fuzz_pc_put(pc, d + 12, flags, 2);
	fuzz_pc_put(pc, d + 14, next, 2);
}

void fuzz_vring_post(struct fuzz_pc *pc, u64 avail, u16 *idx, unsigned qsize, u16 head)
{
	fuzz_pc_put(pc, avail + 4 + 2ull * (*idx % qsize), head, 2);
	(*idx)++;
	fuzz_pc_put(pc, avail + 2, *idx, 2);
}
