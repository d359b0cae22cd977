// SPDX-License-Identifier: MIT
/*
 * AHCI HBA, ATA disk and ATAPI CD-ROM (src/devices/ahci.c, ata.c, atapi.c), driven as a
 * driver does: PCI configuration through ports 0xCF8/0xCFC, ABAR registers through the MMIO
 * bus, command lists, tables, PRDTs and received-FIS areas in guest RAM (AHCI 1.3.1 4.2,
 * 5.5.1, 5.6.4), data in a raw temporary image and an ISO 9660 image made with xorriso.
 */
#include "devices/ahci.h"
#include "devices/ahci_regs.h"
#include "devices/atapi.h"
#include "devices/pci.h"
#include "fake_irq.h"
#include "test_platform.h"
#include "vmdk/blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define RAM_BYTES    (8u << 20)
#define ABAR	     0xfebf0000ull
#define AHCI_DEV     4
#define DISK_BYTES   (2u << 20)
#define DISK_SECTORS (DISK_BYTES / 512)
#define CLB(port)    (0x10000u + (port)*0x1000u)
#define FB(port)     (0x18000u + (port)*0x100u)
#define CTBA(slot)   (0x20000u + (slot)*0x400u)
#define BUF	     0x100000u /* data buffers from 1 MiB */
#define PORT_DISK    0
#define PORT_CD	     1
#define PORT_EMPTY   2

struct fixture {
	struct test_platform tp;
	struct pci_host *host;
	struct ahci *ahci;
	struct fake_irq intx;
	struct blockdev *disk, *cd;
	char disk_path[64], iso_path[80], dir_path[64];
	int disk_fd;
	bool have_iso;
	u8 iso_file[4096]; /* the file put in the ISO */
};

struct prd {
	u64 gpa;
	u32 len;
};

static u32 cfg_addr(unsigned reg)
{
	return PCI_CONFIG_ENABLE | AHCI_DEV << 11 | (reg & 0xfc);
}

static u32 cfg_read(struct fixture *f, unsigned reg)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, cfg_addr(reg));
	return (u32)bus_read(&f->tp.p.pio, 0xcfc, 4);
}

static void cfg_write(struct fixture *f, unsigned reg, u32 val)
{
	bus_write(&f->tp.p.pio, 0xcf8, 4, cfg_addr(reg));
	bus_write(&f->tp.p.pio, 0xcfc, 4, val);
}

static u32 rd(struct fixture *f, u64 off)
{
	return (u32)bus_read(&f->tp.p.mmio, ABAR + off, 4);
}

static void wr(struct fixture *f, u64 off, u32 val)
{
	bus_write(&f->tp.p.mmio, ABAR + off, 4, val);
}

static u64 preg(unsigned port, unsigned reg)
{
	return AHCI_PORT_BASE + port * AHCI_PORT_SIZE + reg;
}

static u8 *ram(struct fixture *f, u64 gpa)
{
	return (u8 *)f->tp.ram + gpa;
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

/* Build an ISO 9660 image holding one file with a known pattern. false if xorriso is missing. */
static bool make_iso(struct fixture *f)
{
	char cmd[512], file[128];
	FILE *fp;
	int ret;

	if (access("/usr/bin/xorriso", X_OK) != 0)
		return false;
	snprintf(f->dir_path, sizeof(f->dir_path), "/tmp/test_ahci_dirXXXXXX");
	if (!mkdtemp(f->dir_path))
		return false;
	snprintf(file, sizeof(file), "%s/DATA.BIN", f->dir_path);
	for (unsigned i = 0; i < sizeof(f->iso_file); i++)
		f->iso_file[i] = (u8)(i * 7 + 3);
	fp = fopen(file, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->iso_file, 1, sizeof(f->iso_file), fp), sizeof(f->iso_file));
	fclose(fp);
	snprintf(f->iso_path, sizeof(f->iso_path), "%s.iso", f->dir_path);
	snprintf(cmd, sizeof(cmd), "xorriso -as mkisofs -quiet -V TESTCD -o %s %s >/dev/null 2>&1",
		 f->iso_path, f->dir_path);
	ret = system(cmd);
	return ret == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config hc = { .name = "pci" };
	struct ahci_config cfg = { .name = "ahci0", .dev = AHCI_DEV, .nr_ports = 3 };
	struct blockdev_spec spec = { .format = BLOCKDEV_FORMAT_RAW };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM_BYTES), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);

	snprintf(f->disk_path, sizeof(f->disk_path), "/tmp/test_ahci_diskXXXXXX");
	f->disk_fd = mkstemp(f->disk_path);
	assert_true(f->disk_fd >= 0);
	assert_int_equal(ftruncate(f->disk_fd, DISK_BYTES), 0);
	spec.path = f->disk_path;
	assert_int_equal(blockdev_open(&spec, &f->disk, NULL), 0);

	f->have_iso = make_iso(f);
	if (f->have_iso) {
		struct blockdev_spec cd = { .path = f->iso_path,
					    .format = BLOCKDEV_FORMAT_RAW,
					    .readonly = true };

		assert_int_equal(blockdev_open(&cd, &f->cd, NULL), 0);
		cfg.ports[PORT_CD] = (struct ata_config){ .kind = ATA_KIND_CDROM, .bd = f->cd };
	}
	cfg.host = f->host;
	cfg.intx = fake_irq_line(&f->intx, 11);
	cfg.ports[PORT_DISK] = (struct ata_config){ .kind = ATA_KIND_DISK,
						    .bd = f->disk,
						    .model = "TEST DISK MODEL",
						    .serial = "SN123",
						    .trim = true };
	assert_int_equal(ahci_create(&f->tp.p, &cfg, &f->ahci, NULL), 0);

	/* Program ABAR and enable memory decoding and bus mastering. */
	cfg_write(f, PCI_BASE_ADDRESS_0 + 5 * 4, (u32)ABAR);
	cfg_write(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	ahci_destroy(f->ahci);
	pci_host_destroy(f->host);
	assert_int_equal(blockdev_close(f->disk), 0);
	close(f->disk_fd);
	unlink(f->disk_path);
	if (f->cd)
		assert_int_equal(blockdev_close(f->cd), 0);
	if (f->dir_path[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s %s", f->dir_path, f->iso_path);
		assert_int_equal(system(cmd), 0);
	}
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

/* Enable AHCI interrupts and start a port with its command list and FIS area. */
static void port_start(struct fixture *f, unsigned port)
{
	wr(f, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);
	wr(f, preg(port, AHCI_PxCLB), CLB(port));
	wr(f, preg(port, AHCI_PxCLBU), 0);
	wr(f, preg(port, AHCI_PxFB), FB(port));
	wr(f, preg(port, AHCI_PxFBU), 0);
	wr(f, preg(port, AHCI_PxIS), 0xffffffff);
	wr(f, preg(port, AHCI_PxIE), 0x7dc000ff);
	wr(f, preg(port, AHCI_PxCMD), AHCI_PxCMD_FRE);
	wr(f, preg(port, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
}

/* Write the command header, a Register H2D FIS, the ATAPI packet and the PRDT for slot. */
static void build_cmd(struct fixture *f, unsigned port, unsigned slot, u8 command, u64 lba,
		      u16 count, u16 features, bool write, const u8 *cdb, const struct prd *prds,
		      unsigned nr_prds)
{
	u8 *hdr = ram(f, CLB(port) + slot * 32);
	u8 *ct = ram(f, CTBA(slot));

	memset(hdr, 0, 32);
	memset(ct, 0, 0x80 + nr_prds * 16);
	put32(hdr,
	      5 | (cdb ? AHCI_CMD_ATAPI : 0) | (write ? AHCI_CMD_WRITE : 0) | (u32)nr_prds << 16);
	put32(hdr + 8, CTBA(slot));
	ct[0] = AHCI_FIS_REG_H2D;
	ct[1] = AHCI_FIS_H2D_C;
	ct[2] = command;
	ct[3] = (u8)features;
	ct[4] = (u8)lba;
	ct[5] = (u8)(lba >> 8);
	ct[6] = (u8)(lba >> 16);
	ct[7] = 0x40;
	ct[8] = (u8)(lba >> 24);
	ct[9] = (u8)(lba >> 32);
	ct[10] = (u8)(lba >> 40);
	ct[11] = (u8)(features >> 8);
	ct[12] = (u8)count;
	ct[13] = (u8)(count >> 8);
	if (cdb)
		memcpy(ct + AHCI_CT_ACMD, cdb, ATAPI_CDB_LEN);
	for (unsigned i = 0; i < nr_prds; i++) {
		u8 *p = ct + AHCI_CT_PRDT + i * 16;

		put32(p, (u32)prds[i].gpa);
		put32(p + 4, (u32)(prds[i].gpa >> 32));
		put32(p + 12, prds[i].len - 1);
	}
}

/* Run block completions until the slots' CI (and SACT) bits clear or an error stops the port. */
static void wait_port(struct fixture *f, unsigned port, u32 slots)
{
	struct blockdev *bd = port == PORT_CD ? f->cd : f->disk;

	for (unsigned i = 0; i < 10000; i++) {
		u32 busy = rd(f, preg(port, AHCI_PxCI)) | rd(f, preg(port, AHCI_PxSACT));

		if (!(busy & slots) || (rd(f, preg(port, AHCI_PxIS)) & 0x7d000000))
			return;
		assert_true(blockdev_inflight(bd) > 0);
		assert_true(blockdev_wait(bd) >= 0);
	}
	fail_msg("port %u: slots %#x never completed", port, slots);
}

static void issue(struct fixture *f, unsigned port, unsigned slot)
{
	wr(f, preg(port, AHCI_PxCI), 1u << slot);
	wait_port(f, port, 1u << slot);
}

static void test_pci_and_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0), 0x29228086);
	assert_int_equal(cfg_read(f, 8) >> 8, 0x010601);
	assert_int_equal(rd(f, AHCI_VS), 0x00010301);
	assert_int_equal(rd(f, AHCI_CAP) & 0x1f, 2); /* three ports */
	assert_true(rd(f, AHCI_CAP) & AHCI_CAP_SNCQ);
	assert_int_equal((rd(f, AHCI_CAP) >> 8) & 0x1f, 31);
	assert_int_equal(rd(f, AHCI_PI), 0x7);
	assert_true(rd(f, AHCI_GHC) & AHCI_GHC_AE);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSIG)), 0x00000101);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSSTS)) & 0xf, 3);
	assert_int_equal(rd(f, preg(PORT_EMPTY, AHCI_PxSSTS)) & 0xf, 0);
	if (f->have_iso)
		assert_int_equal(rd(f, preg(PORT_CD, AHCI_PxSIG)), 0xeb140101);

	/* CR follows ST, FR follows FRE; clearing ST stops the engine. */
	port_start(f, PORT_DISK);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxCMD)) & AHCI_PxCMD_CR);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxCMD)) & AHCI_PxCMD_FR);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCMD)) & (AHCI_PxCMD_CR | AHCI_PxCMD_FR), 0);

	/* HBA reset clears GHC.IE and the port registers. */
	port_start(f, PORT_DISK);
	wr(f, AHCI_GHC, AHCI_GHC_HR);
	assert_int_equal(rd(f, AHCI_GHC), AHCI_GHC_AE);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCLB)), 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCMD)) & AHCI_PxCMD_ST, 0);
}

static u16 word(const u8 *id, unsigned w)
{
	return (u16)(id[2 * w] | id[2 * w + 1] << 8);
}

static void test_identify(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { BUF, 512 };
	const u8 *id = ram(f, BUF);
	char model[41];
	u8 sum = 0;

	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, &prd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxIS)) & AHCI_PxIS_DHRS);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxIS)) & AHCI_PxIS_PSS);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 0xff89, 0); /* no BSY/DRQ/ERR */
	assert_int_equal(get32(ram(f, CLB(PORT_DISK) + 4)), 512);	  /* PRDBC */
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS), AHCI_FIS_REG_D2H);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_PSFIS), AHCI_FIS_PIO_SETUP);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_PSFIS + 15) & 0x89, 0); /* E_Status */
	assert_int_equal(fake_irq_level(&f->intx), 1);
	assert_int_equal(rd(f, AHCI_IS), 1u << PORT_DISK);

	assert_true(word(id, 49) & (1u << 9));		 /* LBA */
	assert_true(word(id, 83) & (1u << 10));		 /* LBA48 */
	assert_int_equal(word(id, 84) & 0xc000, 0x4000); /* valid */
	assert_int_equal(word(id, 87) & 0xc000, 0x4000);
	assert_true(word(id, 76) & (1u << 8)); /* NCQ */
	assert_int_equal(word(id, 75), 31);    /* queue depth 32 */
	assert_int_equal(word(id, 100) | word(id, 101) << 16, DISK_SECTORS);
	assert_int_equal(word(id, 60) | word(id, 61) << 16, DISK_SECTORS);
	assert_int_equal(word(id, 169) & 1, 1); /* TRIM */
	for (unsigned i = 0; i < 40; i++)
		model[i] = (char)id[54 + (i ^ 1)];
	model[40] = 0;
	assert_memory_equal(model, "TEST DISK MODEL     ", 20);
	for (unsigned i = 0; i < 512; i++)
		sum = (u8)(sum + id[i]);
	assert_int_equal(id[510], 0xa5);
	assert_int_equal(sum, 0);

	/* Acknowledge: PxIS then IS; the line drops. */
	wr(f, preg(PORT_DISK, AHCI_PxIS), 0xffffffff);
	wr(f, AHCI_IS, 1u << PORT_DISK);
	assert_int_equal(fake_irq_level(&f->intx), 0);
}

static void fill(u8 *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (u8)(i * 13 + seed + (i >> 9));
}

static void test_write_read_dma(void **state)
{
	struct fixture *f = *state;
	/* 16 sectors in three scattered pieces, one not sector-sized. */
	struct prd wprd[3] = { { BUF + 0x10000, 1000 },
			       { BUF + 0x30000, 3096 },
			       { BUF + 0x50000, 4096 } };
	struct prd rprd[2] = { { BUF + 0x80000, 6000 }, { BUF + 0xa0000, 2192 } };
	u8 expect[8192], got[8192];

	fill(ram(f, wprd[0].gpa), 1000, 1);
	fill(ram(f, wprd[1].gpa), 3096, 2);
	fill(ram(f, wprd[2].gpa), 4096, 3);
	memcpy(expect, ram(f, wprd[0].gpa), 1000);
	memcpy(expect + 1000, ram(f, wprd[1].gpa), 3096);
	memcpy(expect + 4096, ram(f, wprd[2].gpa), 4096);

	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 3, 0x35, 100, 16, 0, true, NULL, wprd, 3);
	issue(f, PORT_DISK, 3);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(get32(ram(f, CLB(PORT_DISK) + 3 * 32 + 4)), 8192);
	/* The bytes reached the image file. */
	assert_int_equal(pread(f->disk_fd, got, sizeof(got), 100 * 512), (ssize_t)sizeof(got));
	assert_memory_equal(got, expect, sizeof(got));

	build_cmd(f, PORT_DISK, 4, 0x25, 100, 16, 0, false, NULL, rprd, 2);
	issue(f, PORT_DISK, 4);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	memcpy(got, ram(f, rprd[0].gpa), 6000);
	memcpy(got + 6000, ram(f, rprd[1].gpa), 2192);
	assert_memory_equal(got, expect, sizeof(got));

	/* FLUSH CACHE EXT completes without error. */
	build_cmd(f, PORT_DISK, 0, 0xea, 0, 0, 0, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
}

/*
 * Transfers longer than the 1 MiB bounce buffer: the whole disk written from 512 scattered
 * 4 KiB pieces in reverse order (slot 31's table holds the long PRDT), read back in one piece.
 */
static void test_large_transfer(void **state)
{
	struct fixture *f = *state;
	static struct prd prds[512];
	static u8 img[DISK_BYTES], got[DISK_BYTES];
	struct prd one = { BUF, DISK_BYTES };

	fill(img, sizeof(img), 9);
	for (unsigned i = 0; i < 512; i++) {
		prds[i] = (struct prd){ BUF + (511 - i) * 4096ull, 4096 };
		memcpy(ram(f, prds[i].gpa), img + i * 4096, 4096);
	}
	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 31, 0x35, 0, DISK_SECTORS & 0xffff, 0, true, NULL, prds, 512);
	issue(f, PORT_DISK, 31);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(pread(f->disk_fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	assert_memory_equal(got, img, sizeof(img));

	memset(ram(f, BUF), 0, DISK_BYTES);
	build_cmd(f, PORT_DISK, 0, 0x25, 0, DISK_SECTORS & 0xffff, 0, false, NULL, &one, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(get32(ram(f, CLB(PORT_DISK) + 4)), DISK_BYTES);
	assert_memory_equal(ram(f, BUF), img, sizeof(img));
}

static void test_ncq(void **state)
{
	struct fixture *f = *state;
	const unsigned tags[4] = { 0, 5, 17, 31 };
	u32 mask = 0;

	port_start(f, PORT_DISK);
	for (unsigned i = 0; i < 4; i++) {
		unsigned t = tags[i];
		struct prd prd = { BUF + t * 0x2000, 4096 };

		fill(ram(f, prd.gpa), 4096, 40 + t);
		/* WRITE FPDMA QUEUED: count in FEATURES, tag in COUNT 7:3. */
		build_cmd(f, PORT_DISK, t, 0x61, 200 + 8 * i, (u16)(t << 3), 8, true, NULL, &prd,
			  1);
		mask |= 1u << t;
	}
	wr(f, preg(PORT_DISK, AHCI_PxSACT), mask);
	wr(f, preg(PORT_DISK, AHCI_PxCI), mask);
	/* NCQ commands leave CI at once and stay in SACT until their SDB FIS. */
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	wait_port(f, PORT_DISK, mask);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSACT)), 0);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxIS)) & AHCI_PxIS_SDBS);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_SDBFIS), AHCI_FIS_SDB);

	/* Read them back in other tags, into other buffers. */
	mask = 0;
	for (unsigned i = 0; i < 4; i++) {
		unsigned t = 1 + i * 2;
		struct prd prd = { BUF + 0x80000 + t * 0x2000, 4096 };

		memset(ram(f, prd.gpa), 0, 4096);
		build_cmd(f, PORT_DISK, t, 0x60, 200 + 8 * i, (u16)(t << 3), 8, false, NULL, &prd,
			  1);
		mask |= 1u << t;
	}
	wr(f, preg(PORT_DISK, AHCI_PxSACT), mask);
	wr(f, preg(PORT_DISK, AHCI_PxCI), mask);
	wait_port(f, PORT_DISK, mask);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSACT)), 0);
	for (unsigned i = 0; i < 4; i++) {
		u8 expect[4096];

		fill(expect, sizeof(expect), 40 + tags[i]);
		assert_memory_equal(ram(f, BUF + 0x80000 + (1 + i * 2) * 0x2000), expect, 4096);
	}
}

/* Error: the port stops with CI set; clearing and setting ST makes it usable again. */
static void expect_error(struct fixture *f, unsigned port, unsigned slot, u32 is_bit, u8 err)
{
	assert_true(rd(f, preg(port, AHCI_PxIS)) & is_bit);
	assert_true(rd(f, preg(port, AHCI_PxTFD)) & ATA_STATUS_ERR);
	if (err)
		assert_int_equal((rd(f, preg(port, AHCI_PxTFD)) >> 8) & err, err);
	assert_true(rd(f, preg(port, AHCI_PxCI)) & (1u << slot));
	wr(f, preg(port, AHCI_PxCMD), AHCI_PxCMD_FRE);
	assert_int_equal(rd(f, preg(port, AHCI_PxCI)), 0);
	wr(f, preg(port, AHCI_PxIS), 0xffffffff);
	wr(f, preg(port, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
}

static void identify_ok(struct fixture *f)
{
	struct prd prd = { BUF, 512 };

	build_cmd(f, PORT_DISK, 1, 0xec, 0, 0, 0, false, NULL, &prd, 1);
	issue(f, PORT_DISK, 1);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { BUF, 4096 };

	port_start(f, PORT_DISK);
	/* Beyond the last sector: IDNF. */
	build_cmd(f, PORT_DISK, 2, 0x25, DISK_SECTORS - 4, 8, 0, false, NULL, &prd, 1);
	issue(f, PORT_DISK, 2);
	expect_error(f, PORT_DISK, 2, AHCI_PxIS_TFES, 0x10);
	identify_ok(f);

	/* A 48-bit LBA far beyond the disk (overflow-safe range check). */
	build_cmd(f, PORT_DISK, 2, 0x25, 0xffffffffffffull, 0, 0, false, NULL, &prd, 1);
	issue(f, PORT_DISK, 2);
	expect_error(f, PORT_DISK, 2, AHCI_PxIS_TFES, 0x10);

	/* An unknown command: ABRT. */
	build_cmd(f, PORT_DISK, 0, 0x99, 0, 0, 0, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, ATA_ERROR_ABRT);

	/* SeaBIOS's probe: IDENTIFY PACKET DEVICE to a disk fails with the D2H FIS's ERR
	 * status (it polls PxIS for DHRS or PSS), then IDENTIFY DEVICE after its recovery. */
	build_cmd(f, PORT_DISK, 0, 0xa1, 0, 0, 0, false, NULL, &prd, 1);
	issue(f, PORT_DISK, 0);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxIS)) & AHCI_PxIS_DHRS);
	assert_true(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS + 2) & ATA_STATUS_ERR);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, ATA_ERROR_ABRT);
	identify_ok(f);

	/* An empty port answers nothing: task file error. */
	port_start(f, PORT_EMPTY);
	build_cmd(f, PORT_EMPTY, 0, 0xec, 0, 0, 0, false, NULL, &prd, 1);
	wr(f, preg(PORT_EMPTY, AHCI_PxCI), 1);
	expect_error(f, PORT_EMPTY, 0, AHCI_PxIS_TFES, 0);
	identify_ok(f);
}

static void test_hostile_prdt(void **state)
{
	struct fixture *f = *state;
	struct prd outside = { 0x7000000000ull, 512 };
	struct prd straddle = { RAM_BYTES - 256, 512 };
	struct prd shortp = { BUF, 100 };
	struct prd huge = { (15u << 20) / 2, 1u << 22 }; /* 4 MiB from 7.5 MiB: past RAM */

	port_start(f, PORT_DISK);
	/* Data buffer outside RAM: host bus fatal error. */
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, &outside, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_HBFS, 0);
	/* Buffer that runs off the end of RAM. */
	build_cmd(f, PORT_DISK, 0, 0x25, 0, 1, 0, false, NULL, &straddle, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_HBFS, 0);
	/* PRDT shorter than the data: overflow. */
	build_cmd(f, PORT_DISK, 0, 0x25, 0, 1, 0, false, NULL, &shortp, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_OFS, 0);
	/* Writes from a PRDT whose maximum-size entry leaves RAM. */
	build_cmd(f, PORT_DISK, 0, 0x35, 0, DISK_SECTORS, 0, true, NULL, &huge, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_HBFS, 0);
	/* No PRDT at all for a data command: overflow. */
	build_cmd(f, PORT_DISK, 0, 0x25, 0, 1, 0, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_OFS, 0);
	/* Command table outside RAM. */
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, NULL, 0);
	put32(ram(f, CLB(PORT_DISK) + 8), 0xf0000000u);
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_HBFS, 0);
	/* Command list outside RAM. */
	wr(f, preg(PORT_DISK, AHCI_PxCMD), 0);
	wr(f, preg(PORT_DISK, AHCI_PxCLBU), 0x100);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_HBFS, 0);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), 0);
	wr(f, preg(PORT_DISK, AHCI_PxCLBU), 0);
	port_start(f, PORT_DISK);
	/* Not a Register H2D FIS. */
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, NULL, 0);
	*ram(f, CTBA(0)) = 0x46;
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, 0);
	identify_ok(f);
}

static void test_trim(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { BUF, 512 };
	u8 *ranges = ram(f, BUF);
	u8 buf[4096], zero[4096] = { 0 };

	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(pwrite(f->disk_fd, buf, sizeof(buf), 64 * 512), (ssize_t)sizeof(buf));
	port_start(f, PORT_DISK);
	memset(ranges, 0, 512);
	ranges[0] = 64; /* LBA 64, 8 sectors */
	ranges[6] = 8;
	build_cmd(f, PORT_DISK, 0, 0x06, 0, 1, 1, true, NULL, &prd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	assert_int_equal(pread(f->disk_fd, buf, sizeof(buf), 64 * 512), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));
	/* A range past the end aborts. */
	memset(ranges, 0, 512);
	ranges[0] = 0xff;
	ranges[1] = 0xff;
	ranges[6] = 8;
	build_cmd(f, PORT_DISK, 0, 0x06, 0, 1, 1, true, NULL, &prd, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, ATA_ERROR_ABRT);
}

static void test_msi(void **state)
{
	struct fixture *f = *state;
	unsigned cap = cfg_read(f, PCI_CAPABILITY_LIST) & 0xff;

	assert_int_equal(cfg_read(f, cap) & 0xff, PCI_CAP_ID_MSI);
	cfg_write(f, cap + 4, 0xfee00000);
	cfg_write(f, cap + 8, 0);
	cfg_write(f, cap + 12, 0x4031);
	cfg_write(f, cap, cfg_read(f, cap) | 1u << 16); /* MSI enable */
	port_start(f, PORT_DISK);
	identify_ok(f);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	assert_true(f->tp.nr_msis >= 1);
	assert_int_equal(f->tp.msis[0].addr, 0xfee00000);
	assert_int_equal(f->tp.msis[0].data, 0x4031);
}

static void test_comreset(void **state)
{
	struct fixture *f = *state;

	port_start(f, PORT_DISK);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE);
	memset(ram(f, FB(PORT_DISK)), 0, 256);
	wr(f, preg(PORT_DISK, AHCI_PxSCTL), 1);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSSTS)) & 0xf, 0);
	wr(f, preg(PORT_DISK, AHCI_PxSCTL), 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSSTS)) & 0xf, 3);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSIG)), 0x101);
	/* The signature FIS landed in the FIS area. */
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS), AHCI_FIS_REG_D2H);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS + 12), 1);
}

/* SET FEATURES: write cache off (writes then flush), LBA28 READ/WRITE DMA, unknown subcommand. */
static void test_set_features_lba28(void **state)
{
	struct fixture *f = *state;
	struct prd wprd = { BUF, 1024 }, rprd = { BUF + 0x10000, 1024 };
	struct prd idprd = { BUF + 0x20000, 512 };
	u8 got[1024];

	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 0, 0xef, 0, 0, 0x82, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, &idprd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(word(ram(f, idprd.gpa), 85) & (1u << 5), 0); /* write cache off */

	fill(ram(f, BUF), 1024, 77);
	build_cmd(f, PORT_DISK, 0, 0xca, 1000, 2, 0, true, NULL, &wprd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(pread(f->disk_fd, got, sizeof(got), 1000 * 512), (ssize_t)sizeof(got));
	assert_memory_equal(got, ram(f, BUF), sizeof(got));
	build_cmd(f, PORT_DISK, 0, 0xc8, 1000, 2, 0, false, NULL, &rprd, 1);
	issue(f, PORT_DISK, 0);
	assert_memory_equal(ram(f, rprd.gpa), ram(f, BUF), 1024);

	/* UDMA mode 5 selected shows in word 88. */
	build_cmd(f, PORT_DISK, 0, 0xef, 0, 0x45, 0x03, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	build_cmd(f, PORT_DISK, 0, 0xec, 0, 0, 0, false, NULL, &idprd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(word(ram(f, idprd.gpa), 88), 0x207f);

	build_cmd(f, PORT_DISK, 0, 0xef, 0, 0, 0x77, false, NULL, NULL, 0);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, ATA_ERROR_ABRT);
}

/* Software reset: a Register H2D FIS with SRST set, then one with it cleared (10.4.2). */
static void test_software_reset(void **state)
{
	struct fixture *f = *state;
	u8 *ct = ram(f, CTBA(0));

	port_start(f, PORT_DISK);
	memset(ram(f, FB(PORT_DISK)), 0, 256);
	build_cmd(f, PORT_DISK, 0, 0, 0, 0, 0, false, NULL, NULL, 0);
	ct[1] = 0; /* C clear: device control */
	ct[15] = AHCI_CTL_SRST;
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS), 0);
	ct[15] = 0;
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	assert_int_equal(*ram(f, FB(PORT_DISK) + AHCI_RFIS_RFIS), AHCI_FIS_REG_D2H);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSIG)), 0x101);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & (ATA_STATUS_BSY | ATA_STATUS_DRQ), 0);
	identify_ok(f);
}

/* INTx disable in the command register holds the line low. */
static void test_intx_disable(void **state)
{
	struct fixture *f = *state;

	port_start(f, PORT_DISK);
	identify_ok(f);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	cfg_write(f, PCI_COMMAND,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fake_irq_level(&f->intx), 0);
	cfg_write(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(fake_irq_level(&f->intx), 1);
	wr(f, AHCI_GHC, AHCI_GHC_AE); /* GHC.IE off */
	assert_int_equal(fake_irq_level(&f->intx), 0);
}

/* A failed queued command: TFES, the tag stays in SACT, and log 10h names it (A.14). */
static void test_ncq_error_log(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { BUF, 4096 };
	const u8 *log = ram(f, BUF + 0x10000);
	struct prd logprd = { BUF + 0x10000, 512 };
	u8 sum = 0;

	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 9, 0x60, DISK_SECTORS - 2, 9 << 3, 8, false, NULL, &prd, 1);
	wr(f, preg(PORT_DISK, AHCI_PxSACT), 1u << 9);
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1u << 9);
	assert_true(rd(f, preg(PORT_DISK, AHCI_PxIS)) & AHCI_PxIS_TFES);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSACT)), 1u << 9);
	/* libahci's error handler: restart the engine, then read the log. */
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxSACT)), 0);
	wr(f, preg(PORT_DISK, AHCI_PxIS), 0xffffffff);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
	build_cmd(f, PORT_DISK, 0, 0x2f, 0x10, 1, 0, false, NULL, &logprd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_int_equal(log[0], 9);
	assert_true(log[2] & ATA_STATUS_ERR);
	assert_true(log[3] & ATA_ERROR_IDNF);
	assert_int_equal(log[4] | log[5] << 8, DISK_SECTORS - 2);
	for (unsigned i = 0; i < 512; i++)
		sum = (u8)(sum + log[i]);
	assert_int_equal(sum, 0);
	/* Read again: nothing queued failed since. */
	issue(f, PORT_DISK, 0);
	assert_int_equal(log[0], 0x80);
	/* The directory lists log 10h; other logs abort. */
	build_cmd(f, PORT_DISK, 0, 0x2f, 0x00, 1, 0, false, NULL, &logprd, 1);
	issue(f, PORT_DISK, 0);
	assert_int_equal(log[0x20], 1);
	build_cmd(f, PORT_DISK, 0, 0x2f, 0x30, 1, 0, false, NULL, &logprd, 1);
	issue(f, PORT_DISK, 0);
	expect_error(f, PORT_DISK, 0, AHCI_PxIS_TFES, ATA_ERROR_ABRT);
}

/* Stopping the port with a read in flight drops its result; the slot is usable at once. */
static void test_stop_with_request_in_flight(void **state)
{
	struct fixture *f = *state;
	struct prd prd1 = { BUF, 4096 }, prd2 = { BUF + 0x10000, 4096 };
	u8 expect[4096];

	fill(expect, sizeof(expect), 5);
	assert_int_equal(pwrite(f->disk_fd, expect, sizeof(expect), 8 * 512), 4096);
	port_start(f, PORT_DISK);
	memset(ram(f, BUF), 0xee, 4096);
	build_cmd(f, PORT_DISK, 0, 0x25, 0, 8, 0, false, NULL, &prd1, 1);
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	assert_true(blockdev_inflight(f->disk) > 0);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
	build_cmd(f, PORT_DISK, 0, 0x25, 8, 8, 0, false, NULL, &prd2, 1);
	issue(f, PORT_DISK, 0);
	while (blockdev_inflight(f->disk))
		assert_true(blockdev_wait(f->disk) >= 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_memory_equal(ram(f, prd2.gpa), expect, sizeof(expect));
	/* The dropped read never reached guest memory. */
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(ram(f, prd1.gpa)[i], 0xee);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	identify_ok(f);
}

/*
 * Software stops and restarts the port again and again while a read is in flight, issuing a
 * new read in the same slot each time: the slot keeps its one request (and 1 MiB buffer)
 * until the stale read ends, then runs the command issued last. Before, each cycle left the
 * old request behind as an orphan with its own 1 MiB buffer: 200 cycles, 200 MiB, beyond
 * the 32 x 1 MiB bound.
 */
static void test_stop_start_storm_bounded(void **state)
{
	struct fixture *f = *state;
	struct prd prd = { BUF, 4096 };
	u8 expect[4096];

	fill(expect, sizeof(expect), 9);
	assert_int_equal(pwrite(f->disk_fd, expect, sizeof(expect), 16 * 512), 4096);
	port_start(f, PORT_DISK);
	build_cmd(f, PORT_DISK, 0, 0x25, 0, 8, 0, false, NULL, &prd, 1);
	wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	for (unsigned i = 0; i < 200; i++) {
		wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE);
		wr(f, preg(PORT_DISK, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
		build_cmd(f, PORT_DISK, 0, 0x25, 16, 8, 0, false, NULL, &prd, 1);
		wr(f, preg(PORT_DISK, AHCI_PxCI), 1);
	}
	assert_true(blockdev_inflight(f->disk) <= ATA_MAX_SLOTS);
	assert_int_equal(blockdev_inflight(f->disk), 1);
	memset(ram(f, BUF), 0, 4096);
	wait_port(f, PORT_DISK, 1);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxCI)), 0);
	assert_int_equal(rd(f, preg(PORT_DISK, AHCI_PxTFD)) & 1, 0);
	assert_memory_equal(ram(f, BUF), expect, sizeof(expect)); /* the last command ran */
	assert_int_equal(blockdev_inflight(f->disk), 0);
	identify_ok(f);
}

/* Send a 12-byte packet with a data-in buffer of len bytes; returns PxTFD. */
static u32 atapi_cmd(struct fixture *f, const u8 *cdb, u32 len)
{
	struct prd prd = { BUF, len ? len : 2 };

	memset(ram(f, BUF), 0, len ? len : 2);
	build_cmd(f, PORT_CD, 0, 0xa0, (u64)(len & 0xffff) << 8, 0, 1, false, cdb, &prd, 1);
	wr(f, preg(PORT_CD, AHCI_PxCI), 1);
	wait_port(f, PORT_CD, 1);
	return rd(f, preg(PORT_CD, AHCI_PxTFD));
}

static void atapi_recover(struct fixture *f)
{
	wr(f, preg(PORT_CD, AHCI_PxCMD), AHCI_PxCMD_FRE);
	wr(f, preg(PORT_CD, AHCI_PxIS), 0xffffffff);
	wr(f, preg(PORT_CD, AHCI_PxCMD), AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
}

static void test_atapi(void **state)
{
	struct fixture *f = *state;
	u8 cdb[12] = { 0 };
	u8 sector[2048];
	struct stat st;
	u32 tfd;

	if (!f->have_iso) {
		print_message("xorriso missing or failed: skipping the ATAPI test\n");
		skip();
	}
	port_start(f, PORT_CD);
	/* The first TEST UNIT READY reports the power-on unit attention. */
	cdb[0] = ATAPI_TEST_UNIT_READY;
	tfd = atapi_cmd(f, cdb, 0);
	assert_true(tfd & ATA_STATUS_ERR);
	assert_int_equal(tfd >> 12, ATAPI_SENSE_UNIT_ATTENTION);
	atapi_recover(f);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_REQUEST_SENSE;
	cdb[4] = 18;
	assert_int_equal(atapi_cmd(f, cdb, 18) & 1, 0);
	assert_int_equal(ram(f, BUF)[2] & 0xf, ATAPI_SENSE_UNIT_ATTENTION);
	assert_int_equal(ram(f, BUF)[12], 0x29);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_TEST_UNIT_READY;
	assert_int_equal(atapi_cmd(f, cdb, 0) & 1, 0);

	/* INQUIRY: a removable CD/DVD device. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_INQUIRY;
	cdb[4] = 36;
	assert_int_equal(atapi_cmd(f, cdb, 36) & 1, 0);
	assert_int_equal(ram(f, BUF)[0], 0x05);
	assert_int_equal(ram(f, BUF)[1], 0x80);
	assert_memory_equal(ram(f, BUF) + 8, "VMM     ", 8);
	assert_int_equal(get32(ram(f, CLB(PORT_CD) + 4)), 36);

	/* READ CAPACITY matches the ISO file. */
	assert_int_equal(stat(f->iso_path, &st), 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_READ_CAPACITY;
	assert_int_equal(atapi_cmd(f, cdb, 8) & 1, 0);
	assert_int_equal(__builtin_bswap32(get32(ram(f, BUF))) + 1, st.st_size / 2048);
	assert_int_equal(__builtin_bswap32(get32(ram(f, BUF + 4))), 2048);

	/* READ(10) of sector 16: the primary volume descriptor, as in the file. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_READ_10;
	cdb[5] = 16;
	cdb[8] = 1;
	assert_int_equal(atapi_cmd(f, cdb, 2048) & 1, 0);
	assert_memory_equal(ram(f, BUF),
			    "\x01"
			    "CD001",
			    6);
	{
		int fd = open(f->iso_path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, sector, sizeof(sector), 16 * 2048), 2048);
		close(fd);
	}
	assert_memory_equal(ram(f, BUF), sector, 2048);

	/* Find DATA.BIN through the root directory and read it with READ(12). */
	{
		u32 root_lba = get32(sector + 156 + 2);
		const u8 *dir;
		u32 file_lba = 0;

		memset(cdb, 0, sizeof(cdb));
		cdb[0] = ATAPI_READ_12;
		cdb[2] = (u8)(root_lba >> 24);
		cdb[3] = (u8)(root_lba >> 16);
		cdb[4] = (u8)(root_lba >> 8);
		cdb[5] = (u8)root_lba;
		cdb[9] = 1;
		assert_int_equal(atapi_cmd(f, cdb, 2048) & 1, 0);
		dir = ram(f, BUF);
		for (unsigned off = 0; off < 2048 && dir[off];) {
			if (dir[off + 32] >= 8 && !memcmp(dir + off + 33, "DATA.BIN", 8))
				file_lba = get32(dir + off + 2);
			off += dir[off];
		}
		assert_true(file_lba != 0);
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = ATAPI_READ_10;
		cdb[2] = (u8)(file_lba >> 24);
		cdb[3] = (u8)(file_lba >> 16);
		cdb[4] = (u8)(file_lba >> 8);
		cdb[5] = (u8)file_lba;
		cdb[8] = 2;
		assert_int_equal(atapi_cmd(f, cdb, 4096) & 1, 0);
		assert_memory_equal(ram(f, BUF), f->iso_file, sizeof(f->iso_file));
	}

	/* Reading past the end: ILLEGAL REQUEST, LBA out of range. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_READ_10;
	cdb[2] = 0x7f;
	cdb[8] = 1;
	tfd = atapi_cmd(f, cdb, 2048);
	assert_true(tfd & 1);
	assert_int_equal(tfd >> 12, ATAPI_SENSE_ILLEGAL_REQUEST);
	atapi_recover(f);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_REQUEST_SENSE;
	cdb[4] = 18;
	assert_int_equal(atapi_cmd(f, cdb, 18) & 1, 0);
	assert_int_equal(ram(f, BUF)[12], 0x21);

	/* An unsupported opcode: INVALID COMMAND OPERATION CODE. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xd8;
	assert_true(atapi_cmd(f, cdb, 0) & 1);
	atapi_recover(f);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_REQUEST_SENSE;
	cdb[4] = 18;
	assert_int_equal(atapi_cmd(f, cdb, 18) & 1, 0);
	assert_int_equal(ram(f, BUF)[2], ATAPI_SENSE_ILLEGAL_REQUEST);
	assert_int_equal(ram(f, BUF)[12], 0x20);

	/* READ TOC: one data track and the lead-out at the capacity. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_READ_TOC;
	cdb[8] = 20;
	assert_int_equal(atapi_cmd(f, cdb, 20) & 1, 0);
	assert_int_equal(ram(f, BUF)[1], 18);
	assert_int_equal(ram(f, BUF)[4 + 2], 1);
	assert_int_equal(ram(f, BUF)[12 + 2], 0xaa);
	assert_int_equal(__builtin_bswap32(get32(ram(f, BUF + 16))), st.st_size / 2048);

	/* GET CONFIGURATION: CD-ROM profile current for a small image. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_GET_CONFIGURATION;
	cdb[8] = 32;
	assert_int_equal(atapi_cmd(f, cdb, 32) & 1, 0);
	assert_int_equal(ram(f, BUF)[7], 0x08);

	/* GET EVENT STATUS NOTIFICATION: new media once, then no change. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_GET_EVENT_STATUS;
	cdb[1] = 1;
	cdb[4] = 0x10;
	cdb[8] = 8;
	assert_int_equal(atapi_cmd(f, cdb, 8) & 1, 0);
	assert_int_equal(ram(f, BUF)[4], 2);
	assert_int_equal(ram(f, BUF)[5], 2);
	assert_int_equal(atapi_cmd(f, cdb, 8) & 1, 0);
	assert_int_equal(ram(f, BUF)[4], 0);

	/* MODE SENSE(10) of the capabilities page; PREVENT shows as locked. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_PREVENT_ALLOW;
	cdb[4] = 1;
	assert_int_equal(atapi_cmd(f, cdb, 0) & 1, 0);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_MODE_SENSE_10;
	cdb[2] = 0x2a;
	cdb[8] = 28;
	assert_int_equal(atapi_cmd(f, cdb, 28) & 1, 0);
	assert_int_equal(ram(f, BUF)[8], 0x2a);
	assert_true(ram(f, BUF)[8 + 6] & 0x02);
	/* Eject while locked is refused. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = ATAPI_START_STOP_UNIT;
	cdb[4] = 2;
	assert_true(atapi_cmd(f, cdb, 0) & 1);
	atapi_recover(f);

	/* IDENTIFY DEVICE to the CD-ROM aborts; IDENTIFY PACKET DEVICE answers. */
	{
		struct prd prd = { BUF, 512 };

		build_cmd(f, PORT_CD, 0, 0xec, 0, 0, 0, false, NULL, &prd, 1);
		wr(f, preg(PORT_CD, AHCI_PxCI), 1);
		assert_true(rd(f, preg(PORT_CD, AHCI_PxTFD)) & 1);
		atapi_recover(f);
		build_cmd(f, PORT_CD, 0, 0xa1, 0, 0, 0, false, NULL, &prd, 1);
		wr(f, preg(PORT_CD, AHCI_PxCI), 1);
		assert_int_equal(rd(f, preg(PORT_CD, AHCI_PxTFD)) & 1, 0);
		assert_int_equal(word(ram(f, BUF), 0), 0x85c0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ncq_error_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_request_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_start_storm_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_prdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comreset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_features_lba28, setup, teardown),
		cmocka_unit_test_setup_teardown(test_software_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi, setup, teardown),
	};

	return cmocka_run_group_tests_name("ahci", tests, NULL, NULL);
}
