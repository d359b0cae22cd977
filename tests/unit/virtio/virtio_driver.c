// SPDX-License-Identifier: MIT
/* The unit tests' virtio-pci driver (virtio_driver.h). */
#include "virtio_driver.h"

#include "devices/pci.h"
#include "virtio/virtio_pci.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

void vdrv_init(struct vdrv *d, struct test_platform *tp, unsigned devno, unsigned qsz, u64 rings,
	       u64 bar4, u64 bar1)
{
	memset(d, 0, sizeof(*d));
	d->tp = tp;
	d->devno = devno;
	d->qsz = qsz;
	d->rings = rings;
	d->bar4 = bar4;
	d->bar1 = bar1;
}

u8 *vdrv_ram(struct vdrv *d, u64 gpa)
{
	return (u8 *)d->tp->ram + gpa;
}

u32 vdrv_cfg_read(struct vdrv *d, unsigned off, unsigned size)
{
	bus_write(&d->tp->p.pio, 0xcf8, 4, 0x80000000u | d->devno << 11 | (off & 0xfc));
	return (u32)bus_read(&d->tp->p.pio, 0xcfc + (off & 3), size);
}

void vdrv_cfg_write(struct vdrv *d, unsigned off, unsigned size, u32 val)
{
	bus_write(&d->tp->p.pio, 0xcf8, 4, 0x80000000u | d->devno << 11 | (off & 0xfc));
	bus_write(&d->tp->p.pio, 0xcfc + (off & 3), size, val);
}

static u64 vdrv_region(struct vdrv *d, unsigned type)
{
	return d->bar4 + vdrv_cfg_read(d, d->caps[type] + 8, 4);
}

static u64 vdrv_common_rd(struct vdrv *d, unsigned off, unsigned size)
{
	return bus_read(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_COMMON_CFG) + off, size);
}

static void vdrv_common_wr(struct vdrv *d, unsigned off, unsigned size, u64 val)
{
	bus_write(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_COMMON_CFG) + off, size, val);
}

void vdrv_probe(struct vdrv *d)
{
	unsigned c = vdrv_cfg_read(d, PCI_CAPABILITY_LIST, 1);

	for (unsigned n = 0; c && n < 48; n++, c = vdrv_cfg_read(d, c + 1, 1)) {
		unsigned id = vdrv_cfg_read(d, c, 1), type = vdrv_cfg_read(d, c + 3, 1);

		if (id == PCI_CAP_ID_MSIX)
			d->msix_cap = (u8)c;
		if (id == PCI_CAP_ID_VNDR && type >= 1 && type <= 5 && !d->caps[type])
			d->caps[type] = (u8)c;
	}
	assert_int_not_equal(d->caps[VIRTIO_PCI_CAP_COMMON_CFG], 0);
	assert_int_not_equal(d->msix_cap, 0);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)d->bar4);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)d->bar1);
	vdrv_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

u64 vdrv_device_features(struct vdrv *d)
{
	u64 lo;

	vdrv_common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	lo = vdrv_common_rd(d, VIRTIO_PCI_COMMON_DF, 4);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return lo | vdrv_common_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

u8 vdrv_status(struct vdrv *d)
{
	return (u8)vdrv_common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

u8 vdrv_negotiate(struct vdrv *d, u64 features)
{
	const u8 ad = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, ad);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (u32)features);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (u32)(features >> 32));
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, ad | VIRTIO_STATUS_FEATURES_OK);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	return vdrv_status(d);
}

void vdrv_queue(struct vdrv *d, unsigned q, u16 vec)
{
	u64 base = d->rings + q * 0x4000ull;

	memset(vdrv_ram(d, base), 0, 0x4000);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, d->qsz);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)base);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)(base + 0x1000));
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)(base + 0x2000));
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, vec);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(vdrv_common_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
}

void vdrv_driver_ok(struct vdrv *d)
{
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, vdrv_status(d) | VIRTIO_STATUS_DRIVER_OK);
}

void vdrv_msix(struct vdrv *d, unsigned nvec)
{
	for (unsigned v = 0; v < nvec; v++) {
		bus_write(&d->tp->p.mmio, d->bar1 + 16 * v, 4, 0xfee00000u);
		bus_write(&d->tp->p.mmio, d->bar1 + 16 * v + 4, 4, 0);
		bus_write(&d->tp->p.mmio, d->bar1 + 16 * v + 8, 4, 0x40 + v);
		bus_write(&d->tp->p.mmio, d->bar1 + 16 * v + 12, 4, 0);
	}
	vdrv_cfg_write(d, d->msix_cap + 2, 2, 0x8000);
}

u64 vdrv_devcfg(struct vdrv *d, unsigned off, unsigned size)
{
	return bus_read(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_DEVICE_CFG) + off, size);
}

u16 vdrv_offer(struct vdrv *d, unsigned q, const struct vdrv_seg *s, unsigned n)
{
	u64 base = d->rings + q * 0x4000ull;
	u16 head = d->next_desc[q];

	for (unsigned i = 0; i < n; i++) {
		u16 di = (u16)((head + i) % d->qsz), next = (u16)((di + 1) % d->qsz);
		u16 flags = (u16)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
				  (s[i].write ? VIRTQ_DESC_F_WRITE : 0));
		u8 *p = vdrv_ram(d, base + 16ull * di);

		memcpy(p, &s[i].gpa, 8);
		memcpy(p + 8, &s[i].len, 4);
		memcpy(p + 12, &flags, 2);
		memcpy(p + 14, &next, 2);
	}
	d->next_desc[q] = (u16)((head + n) % d->qsz);
	memcpy(vdrv_ram(d, base + 0x1000 + 4 + 2ull * (d->avail_idx[q] % d->qsz)), &head, 2);
	d->avail_idx[q]++;
	memcpy(vdrv_ram(d, base + 0x1000 + 2), &d->avail_idx[q], 2);
	return head;
}

void vdrv_kick(struct vdrv *d, unsigned q)
{
	bus_write(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_NOTIFY_CFG) + 4 * q, 2, q);
}

bool vdrv_used(struct vdrv *d, unsigned q, u32 *id, u32 *len)
{
	u64 used = d->rings + q * 0x4000ull + 0x2000;
	u16 idx;

	memcpy(&idx, vdrv_ram(d, used + 2), 2);
	if (idx == d->used_seen[q])
		return false;
	memcpy(id, vdrv_ram(d, used + 4 + 8ull * (d->used_seen[q] % d->qsz)), 4);
	memcpy(len, vdrv_ram(d, used + 8 + 8ull * (d->used_seen[q] % d->qsz)), 4);
	d->used_seen[q]++;
	return true;
}
