// SPDX-License-Identifier: MIT
/* The unit tests' virtio driver (vdrv.h). */
#include "vdrv.h"

#include "devices/pci.h"
#include "virtio/virtio_pci.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

void vdrv_init(struct vdrv *d, struct test_platform *tp, unsigned devno, u16 qsz)
{
	memset(d, 0, sizeof(*d));
	d->tp = tp;
	d->devno = devno;
	d->qsz = qsz;
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
	assert_int_equal(vdrv_cfg_read(d, d->caps[type] + 4, 1), VIRTIO_PCI_BAR);
	return VDRV_BAR4 + vdrv_cfg_read(d, d->caps[type] + 8, 4);
}

u64 vdrv_common_rd(struct vdrv *d, unsigned off, unsigned size)
{
	return bus_read(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_COMMON_CFG) + off, size);
}

void vdrv_common_wr(struct vdrv *d, unsigned off, unsigned size, u64 val)
{
	bus_write(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_COMMON_CFG) + off, size, val);
}

u64 vdrv_devcfg_rd(struct vdrv *d, unsigned off, unsigned size)
{
	return bus_read(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_DEVICE_CFG) + off, size);
}

void vdrv_devcfg_wr(struct vdrv *d, unsigned off, unsigned size, u64 val)
{
	bus_write(&d->tp->p.mmio, vdrv_region(d, VIRTIO_PCI_CAP_DEVICE_CFG) + off, size, val);
}

u8 *vdrv_ram(struct vdrv *d, u64 gpa)
{
	return (u8 *)d->tp->ram + gpa;
}

static void vdrv_put16(struct vdrv *d, u64 gpa, u16 v)
{
	memcpy(vdrv_ram(d, gpa), &v, 2);
}

static u16 vdrv_get16(struct vdrv *d, u64 gpa)
{
	u16 v;

	memcpy(&v, vdrv_ram(d, gpa), 2);
	return v;
}

void vdrv_probe(struct vdrv *d)
{
	unsigned c = vdrv_cfg_read(d, PCI_CAPABILITY_LIST, 1), n = 0;

	memset(d->caps, 0, sizeof(d->caps));
	d->msix_cap = 0;
	while (c && n++ < 48) {
		unsigned id = vdrv_cfg_read(d, c, 1);

		if (id == PCI_CAP_ID_MSIX)
			d->msix_cap = (u8)c;
		if (id == PCI_CAP_ID_VNDR) {
			unsigned type = vdrv_cfg_read(d, c + 3, 1);

			assert_true(type >= 1 && type <= 5);
			if (!d->caps[type])
				d->caps[type] = (u8)c;
		}
		c = vdrv_cfg_read(d, c + 1, 1);
	}
	for (unsigned t = 1; t <= 5; t++) /* a device without configuration has no DEVICE_CFG */
		if (t != VIRTIO_PCI_CAP_DEVICE_CFG)
			assert_int_not_equal(d->caps[t], 0);
	assert_int_not_equal(d->msix_cap, 0);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)VDRV_BAR4);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	vdrv_cfg_write(d, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)VDRV_BAR1);
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

u8 vdrv_negotiate(struct vdrv *d, u64 want)
{
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
		       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (u32)want);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (u32)(want >> 32));
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
		       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			       VIRTIO_STATUS_FEATURES_OK);
	return (u8)vdrv_common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

void vdrv_start(struct vdrv *d, u64 want, unsigned nq)
{
	memset(vdrv_ram(d, VDRV_RINGS), 0, 0x4000 * VIRTIO_MAX_QUEUES);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	vdrv_probe(d);
	assert_true(vdrv_negotiate(d, want) & VIRTIO_STATUS_FEATURES_OK);
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	for (unsigned q = 0; q < nq; q++) {
		u64 base = VDRV_RINGS + q * 0x4000ull;

		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, d->qsz);
		assert_int_equal(vdrv_common_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), d->qsz);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)base);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)(base + 0x1000));
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)(base + 0x2000));
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
		vdrv_common_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		assert_int_equal(vdrv_common_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	}
	vdrv_common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
		       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

void vdrv_msix_enable(struct vdrv *d, unsigned nvec)
{
	for (unsigned v = 0; v < nvec; v++) {
		bus_write(&d->tp->p.mmio, VDRV_BAR1 + 16 * v, 4, VDRV_MSI_ADDR);
		bus_write(&d->tp->p.mmio, VDRV_BAR1 + 16 * v + 4, 4, 0);
		bus_write(&d->tp->p.mmio, VDRV_BAR1 + 16 * v + 8, 4, 0x40 + v);
		bus_write(&d->tp->p.mmio, VDRV_BAR1 + 16 * v + 12, 4, 0);
	}
	vdrv_cfg_write(d, d->msix_cap + 2, 2, 0x8000);
}

static void vdrv_desc(struct vdrv *d, u64 table, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = vdrv_ram(d, table + 16 * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

void vdrv_offer(struct vdrv *d, unsigned q, const struct vdrv_seg *s, unsigned n, bool indirect)
{
	u64 base = VDRV_RINGS + q * 0x4000ull;
	u16 head = d->next_desc[q];

	if (indirect) {
		u64 table = VDRV_INDIRECT + q * 0x1000ull;

		for (unsigned i = 0; i < n; i++)
			vdrv_desc(d, table, i, s[i].gpa, s[i].len,
				  (u16)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					(s[i].write ? VIRTQ_DESC_F_WRITE : 0)),
				  (u16)(i + 1));
		vdrv_desc(d, base, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
		d->next_desc[q] = (u16)((head + 1) % d->qsz);
	} else {
		for (unsigned i = 0; i < n; i++) {
			unsigned k = (head + i) % d->qsz;

			vdrv_desc(d, base, k, s[i].gpa, s[i].len,
				  (u16)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					(s[i].write ? VIRTQ_DESC_F_WRITE : 0)),
				  (u16)((k + 1) % d->qsz));
		}
		d->next_desc[q] = (u16)((head + n) % d->qsz);
	}
	vdrv_put16(d, base + 0x1000 + 4 + 2 * (d->avail_idx[q] % d->qsz), head);
	d->avail_idx[q]++;
	vdrv_put16(d, base + 0x1000 + 2, d->avail_idx[q]);
}

void vdrv_kick(struct vdrv *d, unsigned q)
{
	u64 notify = vdrv_region(d, VIRTIO_PCI_CAP_NOTIFY_CFG);
	u32 mult = vdrv_cfg_read(d, d->caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 16, 4);

	bus_write(&d->tp->p.mmio, notify + q * mult, 2, q);
}

u16 vdrv_used_idx(struct vdrv *d, unsigned q)
{
	return vdrv_get16(d, VDRV_RINGS + q * 0x4000ull + 0x2000 + 2);
}

void vdrv_used_elem(struct vdrv *d, unsigned q, u16 i, u32 *id, u32 *len)
{
	const u8 *e = vdrv_ram(d, VDRV_RINGS + q * 0x4000ull + 0x2000 + 4 + 8 * (i % d->qsz));

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

u8 vdrv_status(struct vdrv *d)
{
	return (u8)vdrv_common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

bool vdrv_needs_reset(struct vdrv *d)
{
	return vdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET;
}
