/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over the modern PCI transport (VIRTIO 1.2 sections 3.1, 4.1, 5.2), driven as a
 * driver would: PCI configuration space through ports 0xCF8/0xCFC, the capability list, BARs
 * placed in the mmio bus, feature negotiation, queues built in guest RAM, notifications
 * through the notify area, interrupts by MSI-X or INTx. The disk is a raw image file
 * (mkstemp) whose content is checked with pread; hostile chains must set NEEDS_RESET.
 */
#include "devices/pci.h"
#include "devices/uart.h"
#include "fake_irq.h"
#include "test_platform.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"
#include "vmdk/blockdev.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define RAM	 (4u << 20)
#define DEVNO	 3
#define BAR4	 0xe0000000ull
#define BAR1	 0xe0100000ull
#define QSZ	 16
#define RINGS	 0x10000 /* queue q: desc at RINGS + q * 0x4000, avail +0x1000, used +0x2000 */
#define HDR	 0x80000
#define BUF	 0x100000
#define DISK	 (1u << 20)
#define MSI_ADDR 0xfee00000ull

struct fx {
	struct test_platform tp;
	struct pci_host *host;
	struct blockdev *bd;
	struct virtio_blk *blk;
	struct fake_irq intx;
	char path[64];
	int fd;
	u8 caps[6]; /* config offset of each virtio cfg_type */
	u8 msix_cap;
	u16 next_desc[VIRTIO_MAX_QUEUES];
	u16 avail_idx[VIRTIO_MAX_QUEUES];
	u64 features;
};

/* ---- configuration space through mechanism #1 ---- */

static u32 cfg_read(struct fx *f, unsigned off, unsigned size)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | DEVNO << 11 | (off & 0xfc));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc + (off & 3), size);
}

static void cfg_write(struct fx *f, unsigned off, unsigned size, u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, 0x80000000u | DEVNO << 11 | (off & 0xfc));
	bus_write(&f->tp.p.pio, 0xcfc + (off & 3), size, val);
}

/* Address in BAR 4 of the structure of cfg_type type, from its capability. */
static u64 region(struct fx *f, unsigned type)
{
	assert_int_equal(cfg_read(f, f->caps[type] + 4, 1), VIRTIO_PCI_BAR);
	return BAR4 + cfg_read(f, f->caps[type] + 8, 4);
}

static u64 common_rd(struct fx *f, unsigned off, unsigned size)
{
	return bus_read(&f->tp.p.mmio, region(f, VIRTIO_PCI_CAP_COMMON_CFG) + off, size);
}

static void common_wr(struct fx *f, unsigned off, unsigned size, u64 val)
{
	bus_write(&f->tp.p.mmio, region(f, VIRTIO_PCI_CAP_COMMON_CFG) + off, size, val);
}

static u64 devcfg_rd(struct fx *f, unsigned off, unsigned size)
{
	return bus_read(&f->tp.p.mmio, region(f, VIRTIO_PCI_CAP_DEVICE_CFG) + off, size);
}

static u8 *ram(struct fx *f, u64 gpa)
{
	return (u8 *)f->tp.ram + gpa;
}

static void put16(struct fx *f, u64 gpa, u16 v)
{
	memcpy(ram(f, gpa), &v, 2);
}

static u16 get16(struct fx *f, u64 gpa)
{
	u16 v;

	memcpy(&v, ram(f, gpa), 2);
	return v;
}

static u32 get32(struct fx *f, u64 gpa)
{
	u32 v;

	memcpy(&v, ram(f, gpa), 4);
	return v;
}

/* ---- fixture ---- */

static void open_disk(struct fx *f, bool readonly)
{
	struct blockdev_spec spec = { .path = f->path,
				      .format = BLOCKDEV_FORMAT_RAW,
				      .readonly = readonly };
	struct virtio_blk_config cfg = { .name = "virtio-blk0",
					 .serial = "VMM-SERIAL-0001",
					 .num_queues = 2,
					 .queue_size = QSZ };
	struct err err = { 0 };

	assert_int_equal(blockdev_open(&spec, &f->bd, &err), 0);
	assert_int_equal(virtio_blk_create(&f->tp.p, f->bd, &cfg, &f->blk, &err), 0);
	pci_set_intx(virtio_blk_pci(f->blk), 1, fake_irq_line(&f->intx, 11));
	assert_int_equal(pci_host_add(f->host, virtio_blk_pci(f->blk), DEVNO, 0, &err), 0);
}

static int setup(void **state)
{
	struct pci_host_config hc = { .name = "pci" };
	struct fx *f = calloc(1, sizeof(*f));
	u8 sector[512];

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	strcpy(f->path, "/tmp/virtio-blk-test-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, DISK), 0);
	/* Sector n is filled with the byte n + 1. */
	for (unsigned n = 0; n < 32; n++) {
		memset(sector, (int)(n + 1), sizeof(sector));
		assert_int_equal(pwrite(f->fd, sector, sizeof(sector), n * 512), 512);
	}
	open_disk(f, false);
	*state = f;
	return 0;
}

static void close_disk(struct fx *f)
{
	pci_host_remove(f->host, virtio_blk_pci(f->blk));
	virtio_blk_destroy(f->blk);
	assert_int_equal(blockdev_close(f->bd), 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close_disk(f);
	pci_host_destroy(f->host);
	close(f->fd);
	unlink(f->path);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

/* ---- driver ---- */

static void find_caps(struct fx *f)
{
	unsigned c = cfg_read(f, PCI_CAPABILITY_LIST, 1), n = 0;

	memset(f->caps, 0, sizeof(f->caps));
	f->msix_cap = 0;
	while (c && n++ < 48) {
		unsigned id = cfg_read(f, c, 1);

		if (id == PCI_CAP_ID_MSIX)
			f->msix_cap = (u8)c;
		if (id == PCI_CAP_ID_VNDR) {
			unsigned type = cfg_read(f, c + 3, 1);

			assert_true(type >= 1 && type <= 5);
			if (!f->caps[type])
				f->caps[type] = (u8)c;
		}
		c = cfg_read(f, c + 1, 1);
	}
	for (unsigned t = 1; t <= 5; t++)
		assert_int_not_equal(f->caps[t], 0);
	assert_int_not_equal(f->msix_cap, 0);
}

static void map_bars(struct fx *f)
{
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)BAR4);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	cfg_write(f, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)BAR1);
	cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static u64 device_features(struct fx *f)
{
	common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	u64 lo = common_rd(f, VIRTIO_PCI_COMMON_DF, 4);
	common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return lo | common_rd(f, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* 3.1.1 up to FEATURES_OK; returns the status read back. */
static u8 negotiate(struct fx *f, u64 want)
{
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	f->features = want;
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_wr(f, VIRTIO_PCI_COMMON_GF, 4, (u32)want);
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_wr(f, VIRTIO_PCI_COMMON_GF, 4, (u32)(want >> 32));
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return (u8)common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void driver_init(struct fx *f, u64 want, unsigned nq)
{
	memset(ram(f, RINGS), 0, 0x4000 * VIRTIO_MAX_QUEUES);
	memset(f->next_desc, 0, sizeof(f->next_desc));
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	find_caps(f);
	map_bars(f);
	assert_true(negotiate(f, want) & VIRTIO_STATUS_FEATURES_OK);
	common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	for (unsigned q = 0; q < nq; q++) {
		u64 base = RINGS + q * 0x4000ull;

		common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSZ);
		assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_NOFF, 2), q);
		common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)base);
		common_wr(f, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
		common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)(base + 0x1000));
		common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
		common_wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)(base + 0x2000));
		common_wr(f, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
		common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
		assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), q + 1);
		common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	}
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
}

static u64 base_features(void)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH |
	       1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES |
	       1ull << VIRTIO_BLK_F_MQ;
}

static void msix_enable(struct fx *f, unsigned nvec)
{
	for (unsigned v = 0; v < nvec; v++) {
		bus_write(&f->tp.p.mmio, BAR1 + 16 * v, 4, MSI_ADDR);
		bus_write(&f->tp.p.mmio, BAR1 + 16 * v + 4, 4, 0);
		bus_write(&f->tp.p.mmio, BAR1 + 16 * v + 8, 4, 0x40 + v);
		bus_write(&f->tp.p.mmio, BAR1 + 16 * v + 12, 4, 0);
	}
	cfg_write(f, f->msix_cap + 2, 2, 0x8000);
}

struct seg {
	u64 gpa;
	u32 len;
	bool write;
};

static void desc_write(struct fx *f, u64 table, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = ram(f, table + 16 * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Put a chain of n segments on queue q (directly or through one indirect table); no kick. */
static void offer_chain(struct fx *f, unsigned q, const struct seg *s, unsigned n, bool indirect)
{
	u64 base = RINGS + q * 0x4000ull;
	u16 head = f->next_desc[q];

	if (indirect) {
		u64 table = HDR + 0x8000 + q * 0x1000ull;

		for (unsigned i = 0; i < n; i++)
			desc_write(f, table, i, s[i].gpa, s[i].len,
				   (u16)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					 (s[i].write ? VIRTQ_DESC_F_WRITE : 0)),
				   (u16)(i + 1));
		desc_write(f, base, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
		f->next_desc[q] = (u16)((head + 1) % QSZ);
	} else {
		for (unsigned i = 0; i < n; i++) {
			unsigned d = (head + i) % QSZ;

			desc_write(f, base, d, s[i].gpa, s[i].len,
				   (u16)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					 (s[i].write ? VIRTQ_DESC_F_WRITE : 0)),
				   (u16)((d + 1) % QSZ));
		}
		f->next_desc[q] = (u16)((head + n) % QSZ);
	}
	put16(f, base + 0x1000 + 4 + 2 * (f->avail_idx[q] % QSZ), head);
	f->avail_idx[q]++;
	put16(f, base + 0x1000 + 2, f->avail_idx[q]);
}

static void kick(struct fx *f, unsigned q)
{
	u64 notify = region(f, VIRTIO_PCI_CAP_NOTIFY_CFG);
	u32 mult = cfg_read(f, f->caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 16, 4);

	bus_write(&f->tp.p.mmio, notify + q * mult, 2, q);
}

/* Poll completions until queue q's used index reaches want (at most ~5 s). */
static void wait_used(struct fx *f, unsigned q, u16 want)
{
	u64 used = RINGS + q * 0x4000ull + 0x2000;

	for (int i = 0; i < 5000 && get16(f, used + 2) != want; i++) {
		if (virtio_blk_poll(f->blk) == 0)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	assert_int_equal(get16(f, used + 2), want);
}

static u32 last_used_len(struct fx *f, unsigned q)
{
	u64 used = RINGS + q * 0x4000ull + 0x2000;

	return get32(f, used + 4 + 8 * ((get16(f, used + 2) - 1) % QSZ) + 4);
}

/* One request: header, optional data segment (device-writable for reads), status. */
static u8 request(struct fx *f, unsigned q, u32 type, u64 sector, u64 data, u32 len, bool dwrite,
		  bool indirect)
{
	u64 hdr = HDR + q * 0x100ull, status = hdr + 0x40;
	struct seg s[3];
	unsigned n = 0;

	memcpy(ram(f, hdr), &type, 4);
	memset(ram(f, hdr + 4), 0, 4);
	memcpy(ram(f, hdr + 8), &sector, 8);
	*ram(f, status) = 0xff;
	s[n++] = (struct seg){ hdr, 16, false };
	if (len)
		s[n++] = (struct seg){ data, len, dwrite };
	s[n++] = (struct seg){ status, 1, true };
	offer_chain(f, q, s, n, indirect);
	kick(f, q);
	wait_used(f, q, f->avail_idx[q]);
	return *ram(f, status);
}

static u8 segment_req(struct fx *f, u32 type, u64 sector, u32 sectors, u32 flags)
{
	u8 *seg = ram(f, BUF);

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &sectors, 4);
	memcpy(seg + 12, &flags, 4);
	return request(f, 0, type, 0, BUF, 16, false, false);
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), 0x1042);
	assert_true(cfg_read(f, PCI_REVISION_ID, 1) >= 1);
	assert_int_equal(cfg_read(f, PCI_CLASS_DEVICE, 2), 0x0180);
	find_caps(f);
	/* BAR sizing: the 64-bit BAR 4 is 16 KiB. */
	cfg_write(f, PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 16, 4) & ~0xfu,
			 (u32) ~(VIRTIO_PCI_BAR_SIZE - 1));
	assert_int_equal(cfg_read(f, PCI_BASE_ADDRESS_0 + 16, 4) & 0x6, 0x4);
	map_bars(f);
	assert_int_equal(cfg_read(f, f->caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 2, 1), 20);
	assert_int_equal(cfg_read(f, f->caps[VIRTIO_PCI_CAP_NOTIFY_CFG] + 16, 4),
			 VIRTIO_PCI_NOTIFY_MULT);
	/* MSI-X: 3 vectors (config + 2 queues), table and PBA in BAR 1. */
	assert_int_equal(cfg_read(f, f->msix_cap + 2, 2) & 0x7ff, 2);
	assert_int_equal(cfg_read(f, f->msix_cap + 4, 4), VIRTIO_PCI_MSIX_BAR);
	assert_int_equal(cfg_read(f, f->msix_cap + 8, 4),
			 VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_MSIX_BAR);

	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_CAPACITY, 4), DISK / 512);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_SEG_MAX, 4), QSZ - 2);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_NUM_QUEUES, 2), 2);
	assert_int_equal(devcfg_rd(f, VIRTIO_BLK_CFG_MAX_WZ_SEG, 4), 1);
	assert_int_equal(cfg_read(f, f->caps[VIRTIO_PCI_CAP_DEVICE_CFG] + 12, 4),
			 VIRTIO_BLK_CFG_SIZE);
}

static void test_features(void **state)
{
	struct fx *f = *state;
	u64 feat;

	find_caps(f);
	map_bars(f);
	feat = device_features(f);
	assert_true(feat >> VIRTIO_F_VERSION_1 & 1);
	assert_true(feat >> VIRTIO_F_EVENT_IDX & 1);
	assert_true(feat >> VIRTIO_F_INDIRECT_DESC & 1);
	assert_true(feat >> VIRTIO_BLK_F_MQ & 1);
	assert_false(feat >> VIRTIO_BLK_F_RO & 1);
	/* A legacy driver (no VERSION_1) and unknown bits are refused. */
	assert_false(negotiate(f, 1ull << VIRTIO_BLK_F_FLUSH) & VIRTIO_STATUS_FEATURES_OK);
	assert_false(negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << 40) &
		     VIRTIO_STATUS_FEATURES_OK);
	assert_true(negotiate(f, base_features()) & VIRTIO_STATUS_FEATURES_OK);
	/* Features are frozen after FEATURES_OK. */
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_wr(f, VIRTIO_PCI_COMMON_GF, 4, 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), (u32)base_features());
	/* Reset clears status and features. */
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), 0);
	/* Queue sizes must be powers of two; a queue outside the range reads as size 0. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 6);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 7);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	/* A vector beyond the table reads back as NO_VECTOR. */
	common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 9);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_write_read(void **state)
{
	struct fx *f = *state;
	u8 buf[4096], want[4096];

	driver_init(f, base_features(), 2);
	msix_enable(f, 3);
	/* Write 4 KiB at sector 8 and check the file. */
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (u8)(i * 7 + 3);
	memcpy(ram(f, BUF), want, sizeof(want));
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 8, BUF, 4096, false, false),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(last_used_len(f, 0), 1);
	/* Kicks were suppressed while draining (used->flags) and asked for again after. */
	assert_int_equal(get16(f, RINGS + 0x2000), 0);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 8 * 512), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, want, sizeof(want));
	/* Read sectors 2 and 3 back (pattern from setup). */
	memset(ram(f, BUF), 0, 1024);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 2, BUF, 1024, true, false),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(last_used_len(f, 0), 1025);
	assert_int_equal(*ram(f, BUF), 3);
	assert_int_equal(*ram(f, BUF + 1023), 4);
	/* Each completion interrupted through queue 0's vector 1. */
	assert_int_equal(f->tp.nr_msis, 2);
	assert_int_equal(f->tp.msis[1].addr, MSI_ADDR);
	assert_int_equal(f->tp.msis[1].data, 0x41);
	/* The second queue with its own vector. */
	assert_int_equal(request(f, 1, VIRTIO_BLK_T_IN, 9, BUF, 512, true, false), VIRTIO_BLK_S_OK);
	assert_memory_equal(ram(f, BUF), want + 512, 512);
	assert_int_equal(f->tp.msis[2].data, 0x42);
}

static void test_indirect_event_idx(void **state)
{
	struct fx *f = *state;
	u64 avail = RINGS + 0x1000;

	driver_init(f,
		    base_features() | 1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_F_EVENT_IDX,
		    1);
	msix_enable(f, 2);
	put16(f, avail + 4 + 2 * QSZ, 0); /* used_event: interrupt after the first */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 5, BUF, 512, true, true), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF + 100), 6);
	assert_int_equal(f->tp.nr_msis, 1);
	/* The device publishes avail_event = the next index it will read (2.7.10). */
	assert_int_equal(get16(f, RINGS + 0x2000 + 4 + 8 * QSZ), 1);
	/* used_event still 0: no interrupt for the second completion. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 6, BUF, 512, true, true), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF + 100), 7);
	assert_int_equal(f->tp.nr_msis, 1);
	put16(f, avail + 4 + 2 * QSZ, 2);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, true), VIRTIO_BLK_S_OK);
	assert_int_equal(f->tp.nr_msis, 2);
	assert_int_equal(get16(f, RINGS + 0x2000 + 4 + 8 * QSZ), 3);
	/* Under EVENT_IDX used->flags is left alone. */
	assert_int_equal(get16(f, RINGS + 0x2000), 0);
}

static void test_commands(void **state)
{
	struct fx *f = *state;
	u8 buf[4096], zero[4096] = { 0 };

	driver_init(f, base_features(), 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	memset(ram(f, BUF), 0xee, 32);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_GET_ID, 0, BUF, 20, true, false),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(ram(f, BUF), "VMM-SERIAL-0001\0\0\0\0\0", 20);
	assert_int_equal(last_used_len(f, 0), 21);
	assert_int_equal(*ram(f, BUF + 20), 0xee);
	/* Write zeroes over sectors 16..23. */
	assert_int_equal(segment_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 16 * 512), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(zero));
	assert_int_equal(pread(f->fd, buf, 1, 24 * 512), 1);
	assert_int_equal(buf[0], 25);
	/* Discard: the raw back end punches a hole, which reads as zeroes. */
	assert_int_equal(segment_req(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(zero));
	/* Discard with the unmap flag, unknown types: UNSUPP. */
	assert_int_equal(segment_req(f, VIRTIO_BLK_T_DISCARD, 0, 8, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 0, 99, 0, 0, 0, false, false), VIRTIO_BLK_S_UNSUPP);
	/* Out of range, partial sectors, too many zeroes: IOERR. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, DISK / 512, BUF, 512, true, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used_len(f, 0), 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, UINT64_MAX, BUF, 512, true, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 0, BUF, 100, false, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(
		segment_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, VIRTIO_BLK_MAX_WZ_SECTORS + 1, 0),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	u8 buf[512];

	close_disk(f);
	open_disk(f, true);
	find_caps(f);
	map_bars(f);
	assert_true(device_features(f) >> VIRTIO_BLK_F_RO & 1);
	assert_false(device_features(f) >> VIRTIO_BLK_F_DISCARD & 1);
	driver_init(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_RO, 1);
	memset(ram(f, BUF), 0x55, 512);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_OUT, 0, BUF, 512, false, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 0), 512);
	assert_int_equal(buf[0], 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 0, BUF, 512, true, false), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF), 1);
}

static void test_msix_mask(void **state)
{
	struct fx *f = *state;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	/* Mask vector 1: the message waits in the PBA. */
	bus_write(&f->tp.p.mmio, BAR1 + 16 + 12, 4, 1);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	assert_int_equal(f->tp.nr_msis, 0);
	assert_int_equal(bus_read(&f->tp.p.mmio, BAR1 + VIRTIO_PCI_MSIX_PBA, 4), 2);
	bus_write(&f->tp.p.mmio, BAR1 + 16 + 12, 4, 0);
	assert_int_equal(f->tp.nr_msis, 1);
	assert_int_equal(f->tp.msis[0].data, 0x41);
	assert_int_equal(bus_read(&f->tp.p.mmio, BAR1 + VIRTIO_PCI_MSIX_PBA, 4), 0);
	/* Function mask works the same way, released by a config write. */
	cfg_write(f, f->msix_cap + 2, 2, 0xc000);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	assert_int_equal(f->tp.nr_msis, 1);
	cfg_write(f, f->msix_cap + 2, 2, 0x8000);
	assert_int_equal(f->tp.nr_msis, 2);
	/* NO_VECTOR: nothing is sent. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	assert_int_equal(f->tp.nr_msis, 2);
}

static void test_intx(void **state)
{
	struct fx *f = *state;
	u64 isr;

	driver_init(f, base_features(), 1);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	assert_int_equal(f->tp.nr_msis, 0);
	isr = region(f, VIRTIO_PCI_CAP_ISR_CFG);
	assert_int_equal(bus_read(&f->tp.p.mmio, isr, 1), 1);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	assert_int_equal(bus_read(&f->tp.p.mmio, isr, 1), 0);
	/* A pending INTx is dropped when the driver switches to MSI-X. */
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false), VIRTIO_BLK_S_OK);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	msix_enable(f, 2);
	assert_int_equal(fake_irq_level(&f->intx), 0);
}

static void expect_needs_reset(struct fx *f)
{
	assert_true(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* The configuration-change interrupt went to vector 0. */
	assert_true(f->tp.nr_msis >= 1);
	assert_int_equal(f->tp.msis[f->tp.nr_msis - 1].data, 0x40);
}

static void test_hostile_loop(void **state)
{
	struct fx *f = *state;
	u64 base = RINGS;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	desc_write(f, base, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_write(f, base, 1, HDR + 0x40, 1, VIRTQ_DESC_F_NEXT, 0);
	put16(f, base + 0x1000 + 4, 0);
	put16(f, base + 0x1000 + 2, 1);
	kick(f, 0);
	expect_needs_reset(f);
	assert_int_equal(get16(f, base + 0x2000 + 2), 0);
	/* Reset and start again: the device works. */
	f->tp.nr_msis = 0;
	driver_init(f, base_features(), 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_int_equal(request(f, 0, VIRTIO_BLK_T_IN, 1, BUF, 512, true, false), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF), 2);
}

static void test_hostile_outside_ram(void **state)
{
	struct fx *f = *state;
	struct seg s[3] = { { HDR, 16, false }, { RAM - 256, 512, true }, { HDR + 0x40, 1, true } };
	u32 type = VIRTIO_BLK_T_IN;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	memcpy(ram(f, HDR), &type, 4);
	offer_chain(f, 0, s, 3, false);
	kick(f, 0);
	expect_needs_reset(f);
}

static void test_hostile_no_status(void **state)
{
	struct fx *f = *state;
	struct seg s[1] = { { HDR, 16, false } };

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	offer_chain(f, 0, s, 1, false);
	kick(f, 0);
	expect_needs_reset(f);
	/* The buffer went back with nothing written. */
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), 1);
	assert_int_equal(last_used_len(f, 0), 0);
}

static void test_hostile_nested_indirect(void **state)
{
	struct fx *f = *state;
	u64 table = HDR + 0x8000;

	driver_init(f, base_features() | 1ull << VIRTIO_F_INDIRECT_DESC, 1);
	msix_enable(f, 2);
	desc_write(f, table, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc_write(f, RINGS, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put16(f, RINGS + 0x1000 + 4, 0);
	put16(f, RINGS + 0x1000 + 2, 1);
	kick(f, 0);
	expect_needs_reset(f);
}

/* Post a read of len bytes from sector into BUF (header, data, status: head 0 on a fresh
 * queue) and notify; the request is left in flight. */
static void post_read(struct fx *f, u64 sector, u32 len)
{
	struct seg s[3] = { { HDR, 16, false }, { BUF, len, true }, { HDR + 0x40, 1, true } };
	u32 type = VIRTIO_BLK_T_IN;

	memcpy(ram(f, HDR), &type, 4);
	memset(ram(f, HDR + 4), 0, 4);
	memcpy(ram(f, HDR + 8), &sector, 8);
	offer_chain(f, 0, s, 3, false);
	kick(f, 0);
}

static void test_reset_drops_inflight(void **state)
{
	struct fx *f = *state;

	driver_init(f, base_features(), 1);
	post_read(f, 0, 512);
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	while (virtio_blk_inflight(f->blk))
		assert_true(virtio_blk_poll(f->blk) >= 0);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), 0);
	assert_int_equal(fake_irq_level(&f->intx), 0);
}

struct dma_log {
	u64 lo, hi; /* union of the reported ranges */
	unsigned calls;
};

static void dma_record(void *opaque, u64 gpa, u64 len)
{
	struct dma_log *l = opaque;

	if (!l->calls || gpa < l->lo)
		l->lo = gpa;
	if (!l->calls || gpa + len > l->hi)
		l->hi = gpa + len;
	l->calls++;
}

/*
 * A read still in flight when the driver resets the device: its result is dropped, but its
 * data reached guest RAM, so the write is still reported to the accelerator (gmem on_write:
 * the BT engine drops translated code there). Before, a dropped completion skipped it.
 */
static void test_reset_inflight_read_reports_dma(void **state)
{
	struct fx *f = *state;
	struct dma_log log = { 0 };

	driver_init(f, base_features(), 1);
	post_read(f, 4, 4096);
	assert_int_equal(virtio_blk_inflight(f->blk), 1);
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	f->tp.p.mem.on_write = dma_record;
	f->tp.p.mem.on_write_opaque = &log;
	while (virtio_blk_inflight(f->blk))
		assert_true(virtio_blk_poll(f->blk) >= 0);
	f->tp.p.mem.on_write = NULL;
	assert_int_equal(*ram(f, BUF), 5); /* the data did arrive */
	assert_true(log.calls >= 1);
	assert_true(log.lo <= BUF && log.hi >= BUF + 4096);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), 0); /* but nothing was used */
}

/* Make poll() fail (EINVAL: more fds than RLIMIT_NOFILE), as a broken wait would. */
static void break_waits(struct rlimit *saved)
{
	struct rlimit none;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, saved), 0);
	none = *saved;
	none.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
}

/*
 * Teardown with a read in flight while waiting for it fails: the device must not be freed
 * under the request nor guest RAM unmapped under the kernel's DMA. Guest RAM is marked to
 * stay mapped, the block device refuses to close (-EBUSY) while it cannot wait, and once
 * waits work again the request ends into the inert device, which then goes away. Before, the
 * device was freed and the late completion wrote into it (ASan: heap-use-after-free).
 */
static void test_destroy_wait_fails_keeps_ram(void **state)
{
	struct fx *f = *state;
	struct rlimit saved;

	driver_init(f, base_features(), 1);
	post_read(f, 2, 4096);
	assert_int_equal(virtio_blk_inflight(f->blk), 1);
	pci_host_remove(f->host, virtio_blk_pci(f->blk));
	break_waits(&saved);
	virtio_blk_destroy(f->blk);
	assert_int_equal(blockdev_close(f->bd), -EBUSY);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true(f->tp.p.mem.keep_mapped);
	assert_int_equal(blockdev_close(f->bd), 0); /* the read ends into the inert device */
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), 0);
	f->tp.p.mem.keep_mapped = false;
	open_disk(f, false); /* for the teardown */
}

static void test_pci_cfg_window(void **state)
{
	struct fx *f = *state;
	unsigned c;

	driver_init(f, base_features(), 2);
	c = f->caps[VIRTIO_PCI_CAP_PCI_CFG];
	/* Read num_queues (2 bytes at common + 0x12) through pci_cfg_data. */
	cfg_write(f, c + 4, 1, VIRTIO_PCI_BAR);
	cfg_write(f, c + 8, 4, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_NUMQ);
	cfg_write(f, c + 12, 4, 2);
	assert_int_equal(cfg_read(f, c + 16, 2), 2);
	/* Write queue_select through it. */
	cfg_write(f, c + 8, 4, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_Q_SELECT);
	cfg_write(f, c + 16, 2, 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
}

static void test_scattered(void **state)
{
	struct fx *f = *state;
	u32 type = VIRTIO_BLK_T_OUT;
	u64 sector = 20;
	u8 buf[2048];
	/* Header split 8 + 8, data in three pieces, status alone. */
	struct seg w[6] = { { HDR, 8, false },
			    { HDR + 8, 8, false },
			    { BUF, 512, false },
			    { BUF + 0x1000, 1024, false },
			    { BUF + 0x3000, 512, false },
			    { HDR + 0x40, 1, true } };
	/* Read: data then the status byte in the same descriptor as the last data. */
	struct seg r[3] = { { HDR, 16, false },
			    { BUF + 0x8000, 1024, true },
			    { BUF + 0x9000, 1025, true } };

	driver_init(f, base_features(), 1);
	memcpy(ram(f, HDR), &type, 4);
	memset(ram(f, HDR + 4), 0, 4);
	memcpy(ram(f, HDR + 8), &sector, 8);
	memset(ram(f, BUF), 0xa1, 512);
	memset(ram(f, BUF + 0x1000), 0xb2, 1024);
	memset(ram(f, BUF + 0x3000), 0xc3, 512);
	offer_chain(f, 0, w, 6, false);
	kick(f, 0);
	wait_used(f, 0, 1);
	assert_int_equal(*ram(f, HDR + 0x40), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 20 * 512), (ssize_t)sizeof(buf));
	assert_int_equal(buf[0], 0xa1);
	assert_int_equal(buf[511], 0xa1);
	assert_int_equal(buf[512], 0xb2);
	assert_int_equal(buf[1535], 0xb2);
	assert_int_equal(buf[1536], 0xc3);
	assert_int_equal(buf[2047], 0xc3);

	type = VIRTIO_BLK_T_IN;
	memcpy(ram(f, HDR), &type, 4);
	*ram(f, BUF + 0x9000 + 1024) = 0xff;
	offer_chain(f, 0, r, 3, false);
	kick(f, 0);
	wait_used(f, 0, 2);
	assert_int_equal(*ram(f, BUF + 0x9000 + 1024), VIRTIO_BLK_S_OK);
	assert_int_equal(last_used_len(f, 0), 2049);
	assert_memory_equal(ram(f, BUF + 0x8000), buf, 1024);
	assert_memory_equal(ram(f, BUF + 0x9000), buf + 1024, 1024);
}

/* ---- eventfd fast paths (virtio_pci_set_accel), with a recording fake accelerator ---- */

struct fake_accel {
	struct {
		u64 gpa;
		int fd;
		bool assign;
	} io[16];

	unsigned nr_io;

	struct {
		int fd;
		u64 addr;
		u32 data;
		bool assign;
	} irq[16];

	unsigned nr_irq;
	bool fail_irqfd;
};

static int fake_ioeventfd(void *opaque, u64 gpa, int fd, bool assign)
{
	struct fake_accel *a = opaque;

	assert_true(a->nr_io < 16);
	a->io[a->nr_io].gpa = gpa;
	a->io[a->nr_io].fd = fd;
	a->io[a->nr_io++].assign = assign;
	return 0;
}

static int fake_msi_irqfd(void *opaque, int fd, u64 addr, u32 data, bool assign)
{
	struct fake_accel *a = opaque;

	if (a->fail_irqfd && assign)
		return -ENOSPC;
	assert_true(a->nr_irq < 16);
	a->irq[a->nr_irq].fd = fd;
	a->irq[a->nr_irq].addr = addr;
	a->irq[a->nr_irq].data = data;
	a->irq[a->nr_irq++].assign = assign;
	return 0;
}

/* A FLUSH on queue q notified through its ioeventfd (as KVM would signal it). */
static void flush_by_eventfd(struct fx *f, struct virtio_pci *vp, unsigned q)
{
	u64 hdr = HDR + q * 0x100ull, status = hdr + 0x40;
	u32 type = VIRTIO_BLK_T_FLUSH;
	struct seg s[2] = { { hdr, 16, false }, { status, 1, true } };

	memcpy(ram(f, hdr), &type, 4);
	memset(ram(f, hdr + 4), 0, 12);
	*ram(f, status) = 0xff;
	offer_chain(f, q, s, 2, false);
	assert_int_equal(eventfd_write(virtio_pci_notify_fd(vp, q), 1), 0);
	virtio_pci_notify_event(vp, q);
	virtio_pci_notify_event(vp, q); /* nothing left in the eventfd: no second kick */
	wait_used(f, q, f->avail_idx[q]);
	assert_int_equal(*ram(f, status), VIRTIO_BLK_S_OK);
}

static void test_eventfd_paths(void **state)
{
	struct fx *f = *state;
	struct virtio_pci *vp = virtio_blk_transport(f->blk);
	struct fake_accel *a = calloc(1, sizeof(*a));
	struct virtio_pci_accel acc = { .opaque = a,
					.ioeventfd = fake_ioeventfd,
					.msi_irqfd = fake_msi_irqfd };
	struct virtio_pci_stats st;
	struct err err = { 0 };
	eventfd_t n;
	int irq_fd;

	assert_non_null(a);
	assert_int_equal(virtio_pci_set_accel(vp, &acc, &err), 0);
	assert_int_equal(a->nr_io, 0); /* BAR 4 is not mapped yet */
	driver_init(f, base_features(), 2);
	/* Mapping BAR 4 put one ioeventfd on each queue's notify address. */
	assert_int_equal(a->nr_io, 2);
	for (unsigned q = 0; q < 2; q++) {
		assert_true(a->io[q].assign);
		assert_int_equal(a->io[q].gpa,
				 region(f, VIRTIO_PCI_CAP_NOTIFY_CFG) + q * VIRTIO_PCI_NOTIFY_MULT);
		assert_int_equal(a->io[q].fd, virtio_pci_notify_fd(vp, q));
		assert_true(a->io[q].fd >= 0);
	}
	assert_int_equal(virtio_pci_notify_fd(vp, 2), -1);
	msix_enable(f, 3);

	/* Queue 1 (vector 2): the completion's message is routed, then sent by the irqfd. */
	flush_by_eventfd(f, vp, 1);
	assert_int_equal(a->nr_irq, 1);
	assert_true(a->irq[0].assign);
	assert_int_equal(a->irq[0].addr, MSI_ADDR);
	assert_int_equal(a->irq[0].data, 0x42);
	irq_fd = a->irq[0].fd;
	assert_int_equal(eventfd_read(irq_fd, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f->tp.nr_msis, 0);
	/* Same message again: no new route. A new data value: re-routed on the same fd. */
	flush_by_eventfd(f, vp, 1);
	assert_int_equal(a->nr_irq, 1);
	bus_write(&f->tp.p.mmio, BAR1 + 16 * 2 + 8, 4, 0x52);
	flush_by_eventfd(f, vp, 1);
	assert_int_equal(a->nr_irq, 2);
	assert_int_equal(a->irq[1].fd, irq_fd);
	assert_int_equal(a->irq[1].data, 0x52);
	assert_int_equal(eventfd_read(irq_fd, &n), 0);
	assert_int_equal(n, 2);
	/* A masked vector is held in the PBA and sent through the irqfd on unmask. */
	bus_write(&f->tp.p.mmio, BAR1 + 16 * 2 + 12, 4, 1);
	flush_by_eventfd(f, vp, 1);
	assert_int_equal(eventfd_read(irq_fd, &n), -1);
	bus_write(&f->tp.p.mmio, BAR1 + 16 * 2 + 12, 4, 0);
	assert_int_equal(eventfd_read(irq_fd, &n), 0);
	assert_int_equal(n, 1);

	/* No route possible for queue 0's vector: it falls back to a direct MSI. */
	a->fail_irqfd = true;
	flush_by_eventfd(f, vp, 0);
	assert_int_equal(f->tp.nr_msis, 1);
	assert_int_equal(f->tp.msis[0].data, 0x41);
	virtio_pci_get_stats(vp, &st);
	assert_int_equal(st.ioeventfd_kicks, 5);
	assert_int_equal(st.irqfd_sends, 4);

	/* Memory decoding off: the ioeventfds go with the BAR. */
	cfg_write(f, PCI_COMMAND, 2, 0);
	assert_int_equal(a->nr_io, 4);
	assert_false(a->io[2].assign);
	assert_false(a->io[3].assign);
	assert_int_equal(a->io[2].gpa, a->io[0].gpa);
	assert_int_equal(a->io[3].gpa, a->io[1].gpa);
	/* The teardown's destroy removes the route; the fake outlives it. */
	close_disk(f);
	assert_int_equal(a->nr_irq, 3);
	assert_false(a->irq[2].assign);
	assert_int_equal(a->irq[2].fd, irq_fd);
	free(a);
	open_disk(f, false);
}

/* ---- drivers that never let go: bounded work per notification ---- */

/* Head 0 (descriptors 0 and 1): a request of an unknown type, completed at once (UNSUPP). */
static void hostile_chain(struct fx *f)
{
	u32 type = 99;

	memcpy(ram(f, HDR), &type, 4);
	memset(ram(f, HDR + 4), 0, 12);
	desc_write(f, RINGS, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_write(f, RINGS, 1, HDR + 0x40, 1, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < QSZ; i++)
		put16(f, RINGS + 0x1000 + 4 + 2 * i, 0);
}

static bool defer_ready(struct fx *f)
{
	struct pollfd p = { .fd = virtio_pci_defer_fd(virtio_blk_transport(f->blk)),
			    .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

#define REPOST_LIMIT (10 * QSZ)

static unsigned reposts;

/* The driver's interrupt handler: each completion posts head 0 again, at once. */
static void repost_on_msi(struct platform *p, u64 addr, u32 data)
{
	struct fx *f = p->owner;

	(void)addr;
	f->tp.nr_msis++;
	if (data != 0x41 || reposts >= REPOST_LIMIT)
		return;
	reposts++;
	f->avail_idx[0]++;
	put16(f, RINGS + 0x1000 + 2, f->avail_idx[0]);
}

/*
 * A driver that re-posts every completed chain from its interrupt handler keeps the ring
 * non-empty forever. One notification handles at most a queue's worth of chains, then the
 * rest waits for the main loop (the defer eventfd); before, the first kick looped until the
 * driver stopped (here: REPOST_LIMIT; a real guest never stops).
 */
static void test_hostile_reposting_driver(void **state)
{
	struct fx *f = *state;
	struct virtio_pci *vp = virtio_blk_transport(f->blk);
	struct virtio_pci_stats st;
	unsigned rounds = 0;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	hostile_chain(f);
	reposts = 0;
	f->tp.p.msi = repost_on_msi;
	f->avail_idx[0] = 1;
	put16(f, RINGS + 0x1000 + 2, 1);
	assert_false(defer_ready(f));
	kick(f, 0);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), QSZ); /* one queue's worth, no more */
	assert_true(defer_ready(f));
	virtio_pci_get_stats(vp, &st);
	assert_int_equal(st.deferred_rounds, 1);
	/* The main loop resumes it, a round per event, until the driver calms down. */
	while (defer_ready(f)) {
		u16 before = get16(f, RINGS + 0x2000 + 2);

		virtio_pci_defer_event(vp);
		assert_true((u16)(get16(f, RINGS + 0x2000 + 2) - before) <= QSZ);
		assert_true(++rounds < 2 * REPOST_LIMIT);
	}
	assert_int_equal(reposts, REPOST_LIMIT);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), REPOST_LIMIT + 1);
	assert_int_equal(*ram(f, HDR + 0x40), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* A device reset forgets deferred work. */
	reposts = 0;
	f->avail_idx[0]++;
	put16(f, RINGS + 0x1000 + 2, f->avail_idx[0]);
	kick(f, 0);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), REPOST_LIMIT + 1 + QSZ);
	assert_true(defer_ready(f));
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	virtio_pci_defer_event(vp);
	assert_int_equal(get16(f, RINGS + 0x2000 + 2), REPOST_LIMIT + 1 + QSZ);
	assert_false(defer_ready(f));
}

/*
 * A chain whose head is still in flight offered again (the avail index rewritten to
 * used->idx + N, every slot naming the same head): DEVICE_NEEDS_RESET with a configuration
 * interrupt, and the request already in flight still completes.
 */
static void test_hostile_head_in_flight(void **state)
{
	struct fx *f = *state;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	for (unsigned i = 1; i < QSZ; i++) /* every other slot names head 0 too */
		put16(f, RINGS + 0x1000 + 4 + 2 * i, 0);
	post_read(f, 3, 512);
	put16(f, RINGS + 0x1000 + 2, QSZ);
	kick(f, 0);
	assert_int_equal(virtio_blk_inflight(f->blk), 1);
	expect_needs_reset(f);
	wait_used(f, 0, 1);
	assert_int_equal(*ram(f, HDR + 0x40), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF), 4);
	assert_int_equal(virtio_blk_inflight(f->blk), 0);
}

struct storm {
	struct fx *f;
	struct uart *uart;
	volatile bool stop;
	bool storming;	  /* the guest's handler has re-posted at least once */
	unsigned kicks;	  /* notifications that returned */
	unsigned printed; /* bytes the other vCPU got out of its UART */
	unsigned resumed; /* deferred rounds the main loop ran */
};

static struct storm *storm_now;

static size_t storm_uart_out(void *opaque, const u8 *buf, size_t len)
{
	struct storm *s = opaque;

	(void)buf;
	__atomic_fetch_add(&s->printed, (unsigned)len, __ATOMIC_RELAXED);
	return len;
}

/* The guest's interrupt handler: every completion posts the chain again, until told to stop
 * (a hostile guest never is). */
static void storm_on_msi(struct platform *p, u64 addr, u32 data)
{
	struct fx *f = p->owner;

	(void)addr;
	if (data != 0x41 || storm_now->stop)
		return;
	__atomic_store_n(&storm_now->storming, true, __ATOMIC_RELEASE);
	f->avail_idx[0]++;
	put16(f, RINGS + 0x1000 + 2, f->avail_idx[0]);
}

/* vCPU 0: notifies the queue again and again. */
static void *storm_kicker(void *arg)
{
	struct storm *s = arg;

	while (!s->stop) {
		kick(s->f, 0);
		__atomic_fetch_add(&s->kicks, 1, __ATOMIC_RELAXED);
		sched_yield();
	}
	return NULL;
}

/* The main loop: deferred queue work is one of the things it serves. */
static void *storm_loop(void *arg)
{
	struct storm *s = arg;
	struct virtio_pci *vp = virtio_blk_transport(s->f->blk);
	struct pollfd p = { .fd = virtio_pci_defer_fd(vp), .events = POLLIN };

	while (!s->stop) {
		if (poll(&p, 1, 10) == 1) {
			virtio_pci_defer_event(vp);
			__atomic_fetch_add(&s->resumed, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* vCPU 1: once the storm runs, prints through the UART, a byte per port write (each takes the
 * device lock). */
static void *storm_printer(void *arg)
{
	struct storm *s = arg;

	while (!__atomic_load_n(&s->storming, __ATOMIC_ACQUIRE) && !s->stop)
		sched_yield();
	for (unsigned i = 0; i < 256 && !s->stop; i++)
		bus_write(&s->f->tp.p.pio, 0x3f8, 1, 'a' + i % 26);
	return NULL;
}

/*
 * Two vCPUs and the main loop while the guest feeds the queue without end: the other vCPU's
 * console output and the main loop keep going (before, the first notification held the
 * device lock for as long as the guest kept feeding, and the console stopped).
 */
static void test_hostile_storm_console_responsive(void **state)
{
	struct fx *f = *state;
	struct storm s = { .f = f };
	struct uart_config uc = {
		.name = "uart0", .base = 0x3f8, .write = storm_uart_out, .opaque = &s
	};
	struct fake_irq uirq = { 0 };
	pthread_t kicker, loop, printer;
	struct err err = { 0 };
	unsigned printed_in_time;

	driver_init(f, base_features(), 1);
	msix_enable(f, 2);
	hostile_chain(f);
	storm_now = &s;
	f->tp.p.msi = storm_on_msi;
	f->avail_idx[0] = 1;
	put16(f, RINGS + 0x1000 + 2, 1);
	assert_int_equal(uart_create(&f->tp.p, &uc, fake_irq_line(&uirq, 4), &s.uart, &err), 0);
	assert_int_equal(pthread_create(&kicker, NULL, storm_kicker, &s), 0);
	assert_int_equal(pthread_create(&loop, NULL, storm_loop, &s), 0);
	assert_int_equal(pthread_create(&printer, NULL, storm_printer, &s), 0);
	/* A watchdog, not a speed target: 10 s for 256 port writes means the console is stuck. */
	for (unsigned ms = 0; ms < 10000 && __atomic_load_n(&s.printed, __ATOMIC_RELAXED) < 256;
	     ms += 10)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	for (unsigned ms = 0; ms < 10000 && __atomic_load_n(&s.resumed, __ATOMIC_RELAXED) < 2;
	     ms += 10)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	printed_in_time = __atomic_load_n(&s.printed, __ATOMIC_RELAXED);
	s.stop = true;
	pthread_join(printer, NULL);
	pthread_join(kicker, NULL);
	pthread_join(loop, NULL);
	uart_destroy(s.uart);
	assert_int_equal(printed_in_time, 256);
	assert_true(s.kicks >= 1);
	assert_true(s.resumed >= 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* ---- what the device advertises it enforces: seg_max, size_max ---- */

/* Submit a read or write of the given data segments on queue 0 (through an indirect table,
 * so there may be more than the queue has descriptors) and wait for it. */
static u8 rw_segments(struct fx *f, u32 type, u64 sector, const struct seg *data, unsigned n)
{
	struct seg s[64];
	u64 hdr = HDR, status = HDR + 0x40;

	assert_true(n + 2 <= ARRAY_SIZE(s));
	memcpy(ram(f, hdr), &type, 4);
	memset(ram(f, hdr + 4), 0, 4);
	memcpy(ram(f, hdr + 8), &sector, 8);
	*ram(f, status) = 0xff;
	s[0] = (struct seg){ hdr, 16, false };
	for (unsigned i = 0; i < n; i++)
		s[1 + i] = data[i];
	s[n + 1] = (struct seg){ status, 1, true };
	offer_chain(f, 0, s, n + 2, true);
	kick(f, 0);
	wait_used(f, 0, f->avail_idx[0]);
	return *ram(f, status);
}

static void grow_disk(struct fx *f, off_t size)
{
	close_disk(f);
	assert_int_equal(ftruncate(f->fd, size), 0);
	open_disk(f, false);
}

/*
 * A request the size of the disk within the limits works; one data segment more than
 * seg_max, or one segment longer than size_max, is refused with IOERR and nothing is read or
 * written (before, the device advertised the limits and took anything).
 */
static void test_limits_enforced(void **state)
{
	struct fx *f = *state;
	u32 size_max, seg_max;
	struct seg d[16];
	u8 buf[512];

	grow_disk(f, 2u << 20);
	driver_init(f,
		    base_features() | 1ull << VIRTIO_F_INDIRECT_DESC |
			    1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX,
		    1);
	size_max = (u32)devcfg_rd(f, VIRTIO_BLK_CFG_SIZE_MAX, 4);
	seg_max = (u32)devcfg_rd(f, VIRTIO_BLK_CFG_SEG_MAX, 4);
	assert_int_equal(size_max, 1u << 20);
	assert_int_equal(seg_max, QSZ - 2);
	/* The whole 2 MiB disk: read in two size_max segments, then written back in 8. */
	d[0] = (struct seg){ BUF, size_max, true };
	d[1] = (struct seg){ BUF + size_max, size_max, true };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, 2), VIRTIO_BLK_S_OK);
	assert_int_equal(last_used_len(f, 0), 2 * size_max + 1);
	assert_int_equal(*ram(f, BUF + 31 * 512), 32);
	for (unsigned i = 0; i < 8; i++)
		d[i] = (struct seg){ BUF + i * 0x40000ull, 0x40000, false };
	memset(ram(f, BUF), 0x5a, 2u << 20);
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_OUT, 0, d, 8), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), (2u << 20) - 512), 512);
	assert_int_equal(buf[511], 0x5a);
	/* seg_max + 1 segments: refused, nothing read. */
	memset(ram(f, BUF), 0, 0x10000);
	for (unsigned i = 0; i <= seg_max; i++)
		d[i] = (struct seg){ BUF + i * 512ull, 512, true };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, seg_max + 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used_len(f, 0), 1);
	assert_int_equal(*ram(f, BUF), 0);
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, seg_max), VIRTIO_BLK_S_OK);
	assert_int_equal(*ram(f, BUF), 0x5a);
	/* A segment of size_max + 512: refused, nothing written. */
	memset(ram(f, BUF), 0x77, size_max + 512);
	d[0] = (struct seg){ BUF, size_max + 512, false };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_OUT, 0, d, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), 0), 512);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/*
 * A driver that did not accept VIRTIO_BLK_F_SIZE_MAX (OVMF's) was promised no segment limit: one
 * 2 MiB segment is read and written whole; the request's total (seg_max x size_max) still
 * holds, so a read of one segment past it is refused with nothing read.
 */
static void test_segment_limit_needs_size_max(void **state)
{
	struct fx *f = *state;
	const u64 total = (u64)(QSZ - 2) << 20, gpa = 1ull << 32;
	void *hva = mmap(NULL, total + 512, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct seg d[1];
	u8 buf[512];

	assert_true(hva != MAP_FAILED);
	assert_int_equal(gmem_add(&f->tp.p.mem, gpa, total + 512, hva), 0);
	grow_disk(f, (off_t)total + 512); /* sparse; the driver accepts no SIZE_MAX: */
	driver_init(f, base_features() | 1ull << VIRTIO_F_INDIRECT_DESC, 1);
	memset(ram(f, BUF), 0x3c, 2u << 20);
	d[0] = (struct seg){ BUF, 2u << 20, false };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_OUT, 0, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, buf, sizeof(buf), (2u << 20) - 512), 512);
	assert_int_equal(buf[511], 0x3c);
	memset(ram(f, BUF), 0, 2u << 20);
	d[0] = (struct seg){ BUF, 2u << 20, true };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(last_used_len(f, 0), (2u << 20) + 1);
	assert_int_equal(*ram(f, BUF + (2u << 20) - 1), 0x3c);
	/* The bound itself is a valid request; 512 bytes more is refused before any I/O. */
	d[0] = (struct seg){ gpa, (u32)(total + 512), true };
	((u8 *)hva)[0] = 0xee;
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used_len(f, 0), 1);
	assert_int_equal(((u8 *)hva)[0], 0xee);
	d[0] = (struct seg){ gpa, (u32)total, true };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(((u8 *)hva)[0], 0x3c);
	f->tp.p.mem.nr--; /* the test's region goes before the fixture's teardown */
	f->tp.p.mem.ram_bytes -= total + 512;
	munmap(hva, total + 512);
}

/*
 * A read of more than 4 GiB (four 1 GiB segments aliasing one guest region, plus 512 bytes)
 * from a disk that large is refused: used_len is a le32 and would have been truncated to 513
 * while 4 GiB were written into the guest.
 */
static void test_read_over_4g_refused(void **state)
{
	struct fx *f = *state;
	const u64 big = 1ull << 30, gpa = 1ull << 32;
	void *hva = mmap(NULL, big, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct seg d[5];

	assert_true(hva != MAP_FAILED);
	assert_int_equal(gmem_add(&f->tp.p.mem, gpa, big, hva), 0);
	grow_disk(f, (off_t)(5ull << 30)); /* sparse */
	driver_init(f, base_features() | 1ull << VIRTIO_F_INDIRECT_DESC, 1);
	for (unsigned i = 0; i < 4; i++)
		d[i] = (struct seg){ gpa, (u32)big, true };
	d[4] = (struct seg){ BUF, 512, true };
	assert_int_equal(rw_segments(f, VIRTIO_BLK_T_IN, 0, d, 5), VIRTIO_BLK_S_IOERR);
	assert_int_equal(last_used_len(f, 0), 1);
	f->tp.p.mem.nr--; /* the test's region goes before the fixture's teardown */
	f->tp.p.mem.ram_bytes -= big;
	munmap(hva, big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_identity),
		T(test_features),
		T(test_write_read),
		T(test_indirect_event_idx),
		T(test_commands),
		T(test_readonly),
		T(test_msix_mask),
		T(test_intx),
		T(test_hostile_loop),
		T(test_hostile_outside_ram),
		T(test_hostile_no_status),
		T(test_hostile_nested_indirect),
		T(test_reset_drops_inflight),
		T(test_reset_inflight_read_reports_dma),
		T(test_destroy_wait_fails_keeps_ram),
		T(test_pci_cfg_window),
		T(test_scattered),
		T(test_eventfd_paths),
		T(test_hostile_reposting_driver),
		T(test_hostile_head_in_flight),
		T(test_hostile_storm_console_responsive),
		T(test_limits_enforced),
		T(test_segment_limit_needs_size_max),
		T(test_read_over_4g_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
