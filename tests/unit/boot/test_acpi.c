// SPDX-License-Identifier: MIT
/*
 * acpi_build: the tables are found the way an OS finds them (RSDP by a
 * 16-byte scan of 0xe0000-0xfffff, then XSDT/RSDT), every checksum is right
 * (ACPI 6.x 5.2.6), the FADT and MADT fields match the board, and Debian's
 * acpica-tools `iasl -d` disassembles each table without errors and reports
 * the values set (skipped when iasl is not installed).
 */
#include "boot_test_util.h"
#include "vmm/boot/boot.h"

#include "devices/acpi_pm.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ull << 20)

struct tables {
	struct gmem mem;
	u64 rsdp, xsdt, rsdt, fadt, madt, dsdt, facs, hpet, mcfg;
};

static u8 sum(const struct gmem *mem, u64 gpa, u32 len)
{
	u8 *buf = malloc(len), s = 0;

	bt_read(mem, gpa, buf, len);
	for (u32 i = 0; i < len; i++)
		s = (u8)(s + buf[i]);
	free(buf);
	return s;
}

static u32 table_len(const struct gmem *mem, u64 gpa)
{
	return bt_read32(mem, gpa + 4);
}

static bool sig_is(const struct gmem *mem, u64 gpa, const char *sig)
{
	char s[4];

	bt_read(mem, gpa, s, 4);
	return !memcmp(s, sig, 4);
}

static void acpi_cfg(struct acpi_config *cfg, unsigned nr_vcpus, bool devices)
{
	*cfg = (struct acpi_config){ .nr_vcpus = nr_vcpus,
				     .com1 = devices,
				     .pci_host = devices,
				     .pci_intx_gsi = { 16, 17, 18, 19 },
				     .pvpanic_port = devices ? 0x505 : 0,
				     .s5_slp_typ = devices ? 5 : ACPI_PM_SLP_TYP_S5,
				     .s3 = devices,
				     .s3_slp_typ = devices ? 3 : ACPI_PM_SLP_TYP_S3 };
}

/* Walk the tables from the RSDP at t->rsdp as an OS does, checking every checksum. */
static void find_tables(struct tables *t)
{
	u32 n;

	assert_int_equal(sum(&t->mem, t->rsdp, 20), 0);
	assert_int_equal(sum(&t->mem, t->rsdp, 36), 0);
	assert_int_equal(bt_read32(&t->mem, t->rsdp + 20), 36);
	t->rsdt = bt_read32(&t->mem, t->rsdp + 16);
	t->xsdt = bt_read64(&t->mem, t->rsdp + 24);
	assert_true(sig_is(&t->mem, t->rsdt, "RSDT"));
	assert_true(sig_is(&t->mem, t->xsdt, "XSDT"));
	n = (table_len(&t->mem, t->xsdt) - 36) / 8;
	assert_int_equal(n, (table_len(&t->mem, t->rsdt) - 36) / 4);
	for (u32 i = 0; i < n; i++) {
		u64 gpa = bt_read64(&t->mem, t->xsdt + 36 + i * 8);

		assert_int_equal(gpa, bt_read32(&t->mem, t->rsdt + 36 + i * 4));
		assert_int_equal(sum(&t->mem, gpa, table_len(&t->mem, gpa)), 0);
		if (sig_is(&t->mem, gpa, "FACP"))
			t->fadt = gpa;
		if (sig_is(&t->mem, gpa, "APIC"))
			t->madt = gpa;
		if (sig_is(&t->mem, gpa, "HPET"))
			t->hpet = gpa;
		if (sig_is(&t->mem, gpa, "MCFG"))
			t->mcfg = gpa;
	}
	assert_int_not_equal(t->fadt, 0);
	assert_int_not_equal(t->madt, 0);
	t->dsdt = bt_read64(&t->mem, t->fadt + 140);
	t->facs = bt_read32(&t->mem, t->fadt + 36);
	assert_int_equal(t->dsdt, bt_read32(&t->mem, t->fadt + 40));
	/* FIRMWARE_CTRL set, so X_FIRMWARE_CTRL must be zero (ACPI 6.x table 5-33). */
	assert_int_equal(bt_read64(&t->mem, t->fadt + 132), 0);
	assert_true(sig_is(&t->mem, t->dsdt, "DSDT"));
	assert_true(sig_is(&t->mem, t->facs, "FACS"));
	assert_int_equal(t->facs & 63, 0);
	assert_int_equal(sum(&t->mem, t->dsdt, table_len(&t->mem, t->dsdt)), 0);
	assert_int_equal(sum(&t->mem, t->rsdt, table_len(&t->mem, t->rsdt)), 0);
	assert_int_equal(sum(&t->mem, t->xsdt, table_len(&t->mem, t->xsdt)), 0);
}

static void build_cfg(struct tables *t, const struct acpi_config *cfg)
{
	struct err err = { 0 };
	u64 scan;

	memset(t, 0, sizeof(*t));
	bt_gmem_init(&t->mem, 64 * MiB);
	if (acpi_build(&t->mem, cfg, &t->rsdp, &err))
		fail_msg("%s", err.msg);
	/* An OS without the boot_params pointer scans the BIOS area on 16-byte boundaries. */
	for (scan = 0xe0000; scan < 0x100000; scan += 16) {
		char s[8];

		bt_read(&t->mem, scan, s, 8);
		if (!memcmp(s, "RSD PTR ", 8))
			break;
	}
	assert_int_equal(scan, t->rsdp);
	find_tables(t);
	/* Everything inside the area e820 reports reserved. */
	assert_true(t->rsdp >= BOOT_ACPI_START);
	assert_true(t->xsdt + table_len(&t->mem, t->xsdt) <= BOOT_ACPI_END);
}

static void build(struct tables *t, unsigned nr_vcpus, bool devices)
{
	struct acpi_config cfg;

	acpi_cfg(&cfg, nr_vcpus, devices);
	build_cfg(t, &cfg);
}

static void test_fadt_fields(void **state)
{
	struct tables t;
	u8 f[276];

	(void)state;
	build(&t, 1, false);
	assert_int_equal(table_len(&t.mem, t.fadt), 276);
	bt_read(&t.mem, t.fadt, f, sizeof(f));
	assert_int_equal(f[8], 6); /* revision */
	assert_int_equal(f[46] | f[47] << 8, 9);
	assert_int_equal(bt_read32(&t.mem, t.fadt + 48), 0); /* no SMI_CMD: always ACPI mode */
	assert_int_equal(bt_read32(&t.mem, t.fadt + 56), ACPI_PM_PM1A_EVT);
	assert_int_equal(bt_read32(&t.mem, t.fadt + 64), ACPI_PM_PM1A_CNT);
	assert_int_equal(bt_read32(&t.mem, t.fadt + 76), ACPI_PM_TMR);
	assert_int_equal(bt_read32(&t.mem, t.fadt + 80), ACPI_PM_GPE0);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(f[92], 8);
	assert_int_equal(f[108], 0x32);
	assert_int_equal((f[109] | f[110] << 8) & 0x2, 0x2); /* 8042 */
	assert_int_equal(bt_read32(&t.mem, t.fadt + 112) & (1u << 10), 1u << 10);
	/* PWR_BUTTON clear: a fixed-feature power button (vm.power-button); no sleep button. */
	assert_int_equal(bt_read32(&t.mem, t.fadt + 112) & (3u << 4), 1u << 5);
	assert_int_equal(f[116], 1); /* RESET_REG: system I/O */
	assert_int_equal(bt_read64(&t.mem, t.fadt + 120), 0xcf9);
	assert_int_equal(f[128], 6);
	assert_int_equal(bt_read64(&t.mem, t.fadt + 148 + 4), ACPI_PM_PM1A_EVT);
	assert_int_equal(bt_read64(&t.mem, t.fadt + 172 + 4), ACPI_PM_PM1A_CNT);
	assert_int_equal(bt_read64(&t.mem, t.fadt + 208 + 4), ACPI_PM_TMR);
	gmem_destroy(&t.mem);
}

static void test_madt_entries(void **state)
{
	struct tables t;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	u32 len;
	u8 *m;

	(void)state;
	build(&t, 4, false);
	len = table_len(&t.mem, t.madt);
	m = malloc(len);
	bt_read(&t.mem, t.madt, m, len);
	assert_int_equal(bt_read32(&t.mem, t.madt + 36), 0xfee00000);
	assert_int_equal(bt_read32(&t.mem, t.madt + 40) & 1, 1);
	for (u32 off = 44; off < len;) {
		u8 type = m[off], elen = m[off + 1];
		u32 gsi, flags32;

		assert_true(elen >= 2 && off + elen <= len);
		switch (type) {
		case 0:
			assert_int_equal(m[off + 3], lapics); /* APIC IDs 0..n-1 */
			memcpy(&flags32, m + off + 4, 4);
			assert_int_equal(flags32 & 1, 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(m[off + 2], 4); /* IOAPIC ID = nr_vcpus */
			memcpy(&gsi, m + off + 4, 4);
			assert_int_equal(gsi, 0xfec00000);
			memcpy(&gsi, m + off + 8, 4);
			assert_int_equal(gsi, 0);
			ioapics++;
			break;
		case 2:
			memcpy(&gsi, m + off + 4, 4);
			if (m[off + 3] == 0)
				assert_int_equal(gsi, 2);
			else if (m[off + 3] == 9)
				assert_int_equal(m[off + 8] | m[off + 9] << 8, 0xd);
			else
				fail_msg("unexpected override for IRQ %u", m[off + 3]);
			isos++;
			break;
		case 4:
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", type);
		}
		off += elen;
	}
	assert_int_equal(lapics, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
	free(m);
	gmem_destroy(&t.mem);
}

static void test_bad_config(void **state)
{
	struct gmem mem;
	struct acpi_config cfg = { .nr_vcpus = 0 };
	struct err err = { 0 };
	u64 rsdp = 0;

	(void)state;
	bt_gmem_init(&mem, 64 * MiB);
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -EINVAL);
	cfg.nr_vcpus = 256;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vCPU"));
	cfg.nr_vcpus = 1;
	cfg.pci_host = true; /* without INTx routing */
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "GSI"));
	cfg.pci_host = false;
	gmem_destroy(&mem);
	/* Less RAM than the BIOS area: -EFAULT, no write outside RAM. */
	bt_gmem_init(&mem, 512 * 1024);
	cfg.nr_vcpus = 1;
	assert_int_equal(acpi_build(&mem, &cfg, &rsdp, &err), -EFAULT);
	gmem_destroy(&mem);
}

/* Disassemble one table with iasl; return the .dsl text (malloc'ed). */
static char *iasl_disassemble(const char *dir, const struct gmem *mem, u64 gpa, u32 len,
			      const char *name)
{
	char path[512], cmd[1200];
	u8 *buf = malloc(len);
	FILE *f;
	char *text;
	long n;

	bt_read(mem, gpa, buf, len);
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.dat > %s.log 2>&1", dir, name, name);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/%s.log'", dir, name);
		if (system(cmd) < 0)
			print_error("cannot show the log\n");
		fail_msg("iasl -d %s failed", name);
	}
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static void expect_in(const char *text, const char *what, const char *table)
{
	if (!strstr(text, what)) {
		fputs(text, stderr);
		fail_msg("%s: iasl output lacks \"%s\"", table, what);
	}
}

static void expect_clean(const char *text, const char *table)
{
	const char *bad[] = { "Error", "Invalid", "incorrect", "Unknown" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(text, bad[i])) {
			fputs(text, stderr);
			fail_msg("%s: iasl reports \"%s\"", table, bad[i]);
		}
}

static void test_iasl_disassembles(void **state)
{
	char dir[] = "/tmp/vmm-acpi-XXXXXX", cmd[512];
	struct tables t;
	char *txt;

	(void)state;
	if (system("iasl -v >/dev/null 2>&1") != 0) {
		print_message("iasl not installed (apt-get install acpica-tools), skipping\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	build(&t, 2, true);

	txt = iasl_disassemble(dir, &t.mem, t.fadt, table_len(&t.mem, t.fadt), "facp");
	expect_clean(txt, "FACP");
	expect_in(txt, "SCI Interrupt : 0009", "FACP");
	expect_in(txt, "PM1A Event Block Address : 00000600", "FACP");
	expect_in(txt, "PM1A Control Block Address : 00000604", "FACP");
	expect_in(txt, "PM Timer Block Address : 00000608", "FACP");
	expect_in(txt, "GPE0 Block Address : 00000620", "FACP");
	expect_in(txt, "Reset Register Supported (V2) : 1", "FACP");
	expect_in(txt, "Power Button (V1) : 0", "FACP"); /* the fixed-feature power button */
	expect_in(txt, "Address : 0000000000000CF9", "FACP");
	expect_in(txt, "Value to cause reset : 06", "FACP");
	expect_in(txt, "8042 Present on ports 60/64 (V2) : 1", "FACP");
	expect_in(txt, "RTC Century Index : 32", "FACP");
	free(txt);

	txt = iasl_disassemble(dir, &t.mem, t.madt, table_len(&t.mem, t.madt), "apic");
	expect_clean(txt, "APIC");
	expect_in(txt, "Local Apic Address : FEE00000", "APIC");
	expect_in(txt, "PC-AT Compatibility : 1", "APIC");
	expect_in(txt, "Local Apic ID : 01", "APIC");
	expect_in(txt, "I/O Apic ID : 02", "APIC");
	expect_in(txt, "Address : FEC00000", "APIC");
	expect_in(txt, "Interrupt : 00000002", "APIC");
	expect_in(txt, "Trigger Mode : 3", "APIC");
	free(txt);

	txt = iasl_disassemble(dir, &t.mem, t.dsdt, table_len(&t.mem, t.dsdt), "dsdt");
	expect_clean(txt, "DSDT");
	expect_in(txt, "Name (_S5, Package (0x04)", "DSDT");
	expect_in(txt, "0x05, \n        0x05, \n        Zero, \n        Zero", "DSDT");
	expect_in(txt, "Name (_S3, Package (0x04)", "DSDT");
	expect_in(txt, "0x03, \n        0x03, \n        Zero, \n        Zero", "DSDT");
	expect_in(txt, "Device (COM1)", "DSDT");
	expect_in(txt, "EisaId (\"PNP0501\")", "DSDT");
	expect_in(txt, "0x03F8", "DSDT");
	expect_in(txt, "IRQNoFlags ()", "DSDT");
	expect_in(txt, "Device (PCI0)", "DSDT");
	expect_in(txt, "EisaId (\"PNP0A03\")", "DSDT");
	expect_in(txt, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,", "DSDT");
	expect_in(txt, "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		  "DSDT");
	expect_in(
		txt,
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
		"DSDT");
	expect_in(txt, "0xFEBFFFFF", "DSDT");
	expect_in(txt, "Name (_PRT, Package (0x80)", "DSDT");
	expect_in(txt, "Device (PEVT)", "DSDT"); /* pvpanic, as Linux's pvpanic-mmio finds it */
	expect_in(txt, "Name (_HID, \"QEMU0001\")", "DSDT");
	expect_in(txt, "0x0505", "DSDT");
	free(txt);
	/* And the disassembly compiles back without errors or warnings. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl dsdt.dsl 2>&1 | grep -q '0 Errors, 0 Warnings'",
		 dir);
	assert_int_equal(system(cmd), 0);

	txt = iasl_disassemble(dir, &t.mem, t.xsdt, table_len(&t.mem, t.xsdt), "xsdt");
	expect_clean(txt, "XSDT");
	free(txt);
	txt = iasl_disassemble(dir, &t.mem, t.rsdt, table_len(&t.mem, t.rsdt), "rsdt");
	expect_clean(txt, "RSDT");
	free(txt);
	txt = iasl_disassemble(dir, &t.mem, t.facs, 64, "facs");
	expect_clean(txt, "FACS");
	free(txt);
	/* The RSDP has no standard header; iasl -d cannot read it alone (checked above). */

	gmem_destroy(&t.mem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Whether the DSDT holds Name (_S3_, Package (4) { typ, ... }): typ, or -1. */
static int dsdt_s3_typ(const struct tables *t)
{
	u32 len = table_len(&t->mem, t->dsdt);
	u8 *buf = malloc(len);
	int typ = -1;

	assert_non_null(buf);
	bt_read(&t->mem, t->dsdt, buf, len);
	for (u32 i = 36; i + 10 <= len; i++) {
		if (buf[i] == 0x08 && !memcmp(buf + i + 1, "_S3_", 4) && buf[i + 5] == 0x12 &&
		    buf[i + 7] == 4 && buf[i + 8] == 0x0a) {
			typ = buf[i + 9];
			break;
		}
	}
	free(buf);
	return typ;
}

/*
 * \_S3 only when the board offers it; the FACS at ACPI_BUILD_FACS_GPA, where boot_s3_resume
 * reads the waking vector the OS wrote and starts the boot vCPU there in real mode.
 */
static void test_s3(void **state)
{
	static const u8 vector[4] = { 0x45, 0x23, 0x01, 0x00 }; /* 0x12345 */
	struct cpu_state cpu;
	struct tables t;
	struct err err;

	(void)state;
	build(&t, 1, false);
	assert_int_equal(dsdt_s3_typ(&t), -1);
	assert_int_equal(t.facs, ACPI_BUILD_FACS_GPA);
	memset(&cpu, 0, sizeof(cpu));
	assert_int_equal(boot_s3_resume(&t.mem, &cpu, &err), -ENOENT);
	assert_int_equal(gmem_write(&t.mem, t.facs + ACPI_FACS_WAKING_VECTOR, vector, 4), 0);
	cpu.cr0 = 0x80000011;
	cpu.efer = 0x500;
	assert_int_equal(boot_s3_resume(&t.mem, &cpu, &err), 0);
	assert_int_equal(cpu.seg[CPU_CS].selector, 0x1234);
	assert_int_equal(cpu.seg[CPU_CS].base, 0x12340);
	assert_int_equal(cpu.seg[CPU_DS].base, 0);
	assert_int_equal(cpu.rip, 5);
	assert_int_equal(cpu.cr0, 0x10);
	assert_int_equal(cpu.efer, 0);
	gmem_destroy(&t.mem);

	build(&t, 1, true);
	assert_int_equal(dsdt_s3_typ(&t), 3);
	gmem_destroy(&t.mem);
}

/* A Q35-like board: HPET and MCFG tables, a PCI Express host bridge, its own window. */
static void q35_cfg(struct acpi_config *cfg)
{
	acpi_cfg(cfg, 2, true);
	cfg->pcie = true;
	cfg->hpet_gpa = 0xfed00000;
	cfg->hpet_id = 0x8086a201;
	cfg->mcfg_gpa = 0xb0000000;
	cfg->mcfg_last_bus = 255;
	cfg->pci_mmio_start = 0xc0000000;
	cfg->pci_mmio_end = 0xfebfffff;
}

static void test_hpet_and_mcfg(void **state)
{
	struct acpi_config cfg;
	struct tables t;

	(void)state;
	build(&t, 1, true); /* the PC board without them */
	assert_int_equal(t.hpet, 0);
	assert_int_equal(t.mcfg, 0);
	gmem_destroy(&t.mem);
	q35_cfg(&cfg);
	build_cfg(&t, &cfg);
	assert_int_equal(table_len(&t.mem, t.hpet), 56);
	assert_int_equal(bt_read32(&t.mem, t.hpet + 36), 0x8086a201);
	assert_int_equal(bt_read64(&t.mem, t.hpet + 44), 0xfed00000);
	assert_int_equal(table_len(&t.mem, t.mcfg), 60);
	assert_int_equal(bt_read64(&t.mem, t.mcfg + 44), 0xb0000000);
	assert_int_equal(bt_read32(&t.mem, t.mcfg + 52), 0xff000000); /* segment 0, buses 0-255 */
	if (system("iasl -v >/dev/null 2>&1") == 0) {
		char dir[] = "/tmp/vmm-acpi-XXXXXX", cmd[512];
		char *txt;

		assert_non_null(mkdtemp(dir));
		txt = iasl_disassemble(dir, &t.mem, t.hpet, 56, "hpet");
		expect_clean(txt, "HPET");
		expect_in(txt, "Address : 00000000FED00000", "HPET");
		expect_in(txt, "Hardware Block ID : 8086A201", "HPET");
		free(txt);
		txt = iasl_disassemble(dir, &t.mem, t.mcfg, 60, "mcfg");
		expect_clean(txt, "MCFG");
		expect_in(txt, "Base Address : 00000000B0000000", "MCFG");
		expect_in(txt, "End Bus Number : FF", "MCFG");
		free(txt);
		txt = iasl_disassemble(dir, &t.mem, t.dsdt, table_len(&t.mem, t.dsdt), "dsdt");
		expect_clean(txt, "DSDT");
		expect_in(txt, "EisaId (\"PNP0A08\")", "DSDT");
		expect_in(txt, "Device (HPET)", "DSDT");
		expect_in(txt, "Memory32Fixed (ReadOnly,", "DSDT");
		expect_in(txt, "Device (RES0)", "DSDT");
		expect_in(txt, "EisaId (\"PNP0C02\")", "DSDT");
		expect_in(txt, "0xB0000000,         // Address Base", "DSDT");
		free(txt);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
	gmem_destroy(&t.mem);
}

/*
 * The fw_cfg linker/loader script, run the way SeaBIOS and OVMF run it (ALLOCATE, then
 * ADD_POINTER adds the pointee blob's address, ADD_CHECKSUM makes a range sum to zero), with
 * the blobs at addresses of this test's choosing: the OS then finds consistent tables.
 */
static void run_loader(struct tables *t, const struct acpi_tables *at, const u8 *script, size_t len,
		       u64 rsdp_gpa, u64 tables_gpa)
{
	u8 *rsdp = calloc(1, ACPI_RSDP_LEN), *tables = calloc(1, at->tables_len);
	unsigned allocs = 0;

	memcpy(rsdp, at->rsdp, ACPI_RSDP_LEN);
	memcpy(tables, at->tables, at->tables_len);
	assert_int_equal(len % 128, 0);
	for (size_t off = 0; off < len; off += 128) {
		const u8 *e = script + off;
		const char *f1 = (const char *)e + 4, *f2 = (const char *)e + 60;
		u32 cmd;

		memcpy(&cmd, e, 4);
#define BLOB(name) (!strcmp((name), ACPI_FILE_RSDP) ? rsdp : tables)
		switch (cmd) {
		case 1: /* ALLOCATE: file, align, zone */
			assert_true(!strcmp(f1, ACPI_FILE_RSDP) || !strcmp(f1, ACPI_FILE_TABLES));
			if (!strcmp(f1, ACPI_FILE_RSDP))
				assert_int_equal(e[64], 2); /* the F segment */
			else
				assert_int_equal(e[60] | e[61] << 8, 64);
			allocs++;
			break;
		case 2: { /* ADD_POINTER: dest file, src file, offset, size */
			u8 *p = BLOB(f1) +
				(e[116] | e[117] << 8 | e[118] << 16 | (u32)e[119] << 24);
			u64 v = 0, base = !strcmp(f2, ACPI_FILE_RSDP) ? rsdp_gpa : tables_gpa;
			u8 size = e[120];

			assert_true(size == 4 || size == 8);
			memcpy(&v, p, size);
			v += base;
			memcpy(p, &v, size);
			break;
		}
		case 3: { /* ADD_CHECKSUM: file, result offset, start, length */
			u8 *b = BLOB(f1), total = 0;
			u32 at_, start, n;

			memcpy(&at_, e + 60, 4);
			memcpy(&start, e + 64, 4);
			memcpy(&n, e + 68, 4);
			b[at_] = 0;
			for (u32 i = 0; i < n; i++)
				total = (u8)(total + b[start + i]);
			b[at_] = (u8)-total;
			break;
		}
		default:
			fail_msg("unknown loader command %u", cmd);
		}
#undef BLOB
		assert_true(allocs == 2 || cmd == 1); /* both blobs allocated before any fix-up */
	}
	assert_int_equal(gmem_write(&t->mem, rsdp_gpa, rsdp, ACPI_RSDP_LEN), 0);
	assert_int_equal(gmem_write(&t->mem, tables_gpa, tables, at->tables_len), 0);
	free(rsdp);
	free(tables);
}

static void test_firmware_loader(void **state)
{
	const u64 places[][2] = { { 0xf5a30, 0x3fff000 }, { 0xe0000, 0x100040 } };
	struct acpi_config cfg;
	struct acpi_tables at;
	struct tables t;
	struct err err;
	size_t len;
	u8 *script;

	(void)state;
	q35_cfg(&cfg);
	assert_int_equal(acpi_tables_build(&cfg, &at, &err), 0);
	assert_int_equal(acpi_tables_loader(&at, &script, &len, &err), 0);
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		memset(&t, 0, sizeof(t));
		bt_gmem_init(&t.mem, 64 * MiB);
		run_loader(&t, &at, script, len, places[i][0], places[i][1]);
		t.rsdp = places[i][0];
		find_tables(&t);
		assert_int_equal(t.facs, places[i][1]); /* first, 64-byte aligned */
		assert_true(t.dsdt > t.facs && t.xsdt < places[i][1] + at.tables_len);
		assert_int_not_equal(t.hpet, 0);
		assert_int_not_equal(t.mcfg, 0);
		gmem_destroy(&t.mem);
	}
	free(script);
	acpi_tables_free(&at);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fadt_fields),
		cmocka_unit_test(test_madt_entries),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_iasl_disassembles),
		cmocka_unit_test(test_hpet_and_mcfg),
		cmocka_unit_test(test_firmware_loader),
		cmocka_unit_test(test_s3),
	};

	return cmocka_run_group_tests_name("boot_acpi", tests, NULL, NULL);
}
