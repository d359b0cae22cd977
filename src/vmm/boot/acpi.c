// SPDX-License-Identifier: MIT
/*
 * ACPI tables for the PC board (ACPI 6.x specification):
 *   5.2.5.3 RSDP (revision 2), 5.2.7 RSDT, 5.2.8 XSDT,
 *   5.2.9   FADT revision 6 (table 5-33): PM1a event/control blocks, PM timer
 *           and GPE0 at the ACPI PM device's ports, SCI on IRQ 9, reset
 *           register = system I/O 0xcf9 value 6, IAPC_BOOT_ARCH legacy
 *           devices + 8042, century at CMOS 0x32, the 32-bit FACS pointer
 *           (X_FIRMWARE_CTRL must then be 0), both DSDT pointers,
 *   5.2.10  FACS, 5.2.11.1 DSDT, 5.2.12 MADT (local APIC at 0xfee00000,
 *           PCAT_COMPAT, one enabled Processor Local APIC per vCPU, the
 *           IOAPIC at 0xfec00000 with GSI base 0, overrides IRQ0 -> GSI2 and
 *           IRQ9 level/active high, local APIC NMI on LINT1),
 *   the HPET table (IA-PC HPET specification 1.0a, 3.2.4) when the board has an HPET, and
 *   MCFG (PCI Firmware Specification 3.x, 4.1.2) when it has ECAM (Q35).
 * The DSDT is AML (chapter 20): \_S5 = Package { SLP_TYP, SLP_TYP, 0, 0 },
 * optionally \_SB.PCI0 (the host bridge, PNP0A03 or PNP0A08 for PCI Express: _CRS windows
 * per 6.4.3.5, _PRT per 6.2.13 routing INTx to IOAPIC GSIs), \_SB.COM1 (PNP0501, I/O
 * 0x3f8-0x3ff, IRQ 4), \_SB.PEVT (pvpanic), \_SB.HPET (PNP0103) and \_SB.RES0 (PNP0C02,
 * the ECAM window as a motherboard resource).
 * All checksums make the byte sum of each table 0 (5.2.6).
 *
 * The tables are built once as two blobs, the RSDP and the rest, whose pointers hold
 * offsets into the second blob; a list of the pointer fields and checksums says how to
 * place them. Direct boots place them at BOOT_ACPI_START (acpi_build: the RSDP first, so a
 * 16-byte-aligned scan of 0xe0000-0xfffff finds it); firmware gets the blobs through fw_cfg
 * with a linker/loader script (etc/table-loader, the format SeaBIOS src/fw/romfile_loader.c
 * and OVMF's QemuFwCfgAcpiPlatformDxe execute): ALLOCATE each blob (the RSDP in the F
 * segment), ADD_POINTER for each pointer, ADD_CHECKSUM for each sum.
 *
 * Not here: SRAT, processor objects in the DSDT, a 64-bit PCI window, PCI interrupt link
 * devices, sleep states other than S3 and S5.
 */
#include "vmm/boot/boot_internal.h"

#include "devices/acpi_pm.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACPI_HDR_LEN   36
#define ACPI_OEM_ID    "VMMVMM"
#define ACPI_OEM_TABLE "VMMPC   "
#define ACPI_CREATOR   "VMM "

#define FADT_LEN       276
#define FADT_REVISION  6
#define FACS_LEN       64
#define MADT_REVISION  4
#define HPET_TABLE_LEN 56
#define MCFG_TABLE_LEN 60
#define ACPI_AML_MAX   4096 /* the DSDT body: _S5, PCI0 (~2 KiB with _PRT), COM1 */

/* FADT Fixed Feature Flags (table 5-34) */
#define FADT_F_WBINVD	     (1u << 0)
#define FADT_F_PROC_C1	     (1u << 2)
#define FADT_F_PWR_BUTTON    (1u << 4)
#define FADT_F_SLP_BUTTON    (1u << 5)
#define FADT_F_TMR_VAL_EXT   (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH (table 5-35) */
#define FADT_IAPC_LEGACY_DEVICES 0x1
#define FADT_IAPC_8042		 0x2

/* Generic Address Structure (5.2.3.2) */
#define GAS_SYSTEM_IO 1
#define GAS_BYTE      1
#define GAS_WORD      2
#define GAS_DWORD     3

static u8 acpi_checksum(const u8 *p, size_t len)
{
	u8 sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (u8)(sum + p[i]);
	return (u8)-sum;
}

static void acpi_header(u8 *t, const char *sig, u32 len, u8 revision)
{
	memcpy(t, sig, 4);
	boot_put32(t + 4, len);
	t[8] = revision;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE, 8);
	boot_put32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR, 4);
	boot_put32(t + 32, 1);
}

static void acpi_gas(u8 *p, u8 bits, u8 access, u64 addr)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	boot_put64(p + 4, addr);
}

/* PkgLength (20.2.4): the length counts its own bytes; one byte up to 63, else 2-4 bytes. */
static size_t aml_pkglength(u8 *p, size_t body_len)
{
	size_t n = body_len + 1 < 64 ? 1 : body_len + 2 < (1u << 12) ? 2 : 3;
	size_t total = body_len + n;

	if (n == 1) {
		p[0] = (u8)total;
		return 1;
	}
	p[0] = (u8)(((n - 1) << 6) | (total & 0xf));
	p[1] = (u8)(total >> 4);
	if (n == 3)
		p[2] = (u8)(total >> 12);
	return n;
}

/* Emit op [ext], PkgLength, then body; returns bytes written. */
static size_t aml_pkg(u8 *out, const u8 *op, size_t op_len, const u8 *body, size_t body_len)
{
	size_t n;

	memcpy(out, op, op_len);
	n = op_len + aml_pkglength(out + op_len, body_len);
	memcpy(out + n, body, body_len);
	return n + body_len;
}

static size_t aml_name_dword(u8 *out, const char *name, u32 value)
{
	out[0] = 0x08; /* NameOp */
	memcpy(out + 1, name, 4);
	out[5] = 0x0c; /* DWordPrefix */
	boot_put32(out + 6, value);
	return 10;
}

/* Name (name, Buffer () { bytes }): a resource template (6.4) as a named buffer. */
static size_t aml_name_buffer(u8 *out, const char *name, const u8 *data, size_t len)
{
	static const u8 buffer_op[] = { 0x11 };
	u8 buf[512];
	size_t b = 0, n = 0;

	if (len < 256) {
		buf[b++] = 0x0a; /* BytePrefix: the buffer size */
		buf[b++] = (u8)len;
	} else {
		buf[b++] = 0x0b; /* WordPrefix */
		boot_put16(buf + b, (u16)len);
		b += 2;
	}
	memcpy(buf + b, data, len);
	b += len;
	out[n++] = 0x08; /* NameOp */
	memcpy(out + n, name, 4);
	n += 4;
	return n + aml_pkg(out + n, buffer_op, 1, buf, b);
}

/* An integer as the shortest data object: ZeroOp, OneOp, BytePrefix or DWordPrefix. */
static size_t aml_int(u8 *out, u32 v)
{
	if (v <= 1) {
		out[0] = (u8)v;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = 0x0a;
		out[1] = (u8)v;
		return 2;
	}
	out[0] = 0x0c;
	boot_put32(out + 1, v);
	return 5;
}

/* Device (COM1) { _HID EISAID("PNP0501"), _UID 1, _CRS { IO 0x3f8/8, IRQNoFlags {4} } } */
static size_t aml_com1(u8 *out)
{
	static const u8 crs[] = {
		0x47, 0x01, 0xf8, 0x03,
		0xf8, 0x03, 0x01, 0x08, /* IO (Decode16, 0x3f8, 0x3f8, 1, 8) */
		0x22, 0x10, 0x00,	/* IRQNoFlags () {4} */
		0x79, 0x00,		/* EndTag */
	};
	static const u8 device_op[] = { 0x5b, 0x82 };
	u8 body[128];
	size_t n = 0;

	memcpy(body, "COM1", 4);
	n = 4;
	n += aml_name_dword(body + n, "_HID", 0x0105d041); /* EISAID ("PNP0501") */
	n += aml_name_dword(body + n, "_UID", 1);
	n += aml_name_buffer(body + n, "_CRS", crs, sizeof(crs));
	return aml_pkg(out, device_op, 2, body, n);
}

/*
 * Device (PEVT) { _HID "QEMU0001", _CRS { IO port/1 }, _STA 0x0f }: QEMU's pvpanic, the ACPI
 * ID Linux's pvpanic-mmio driver matches (it takes an I/O resource too).
 */
static size_t aml_pvpanic(u8 *out, u16 port)
{
	static const u8 device_op[] = { 0x5b, 0x82 };
	u8 crs[] = {
		0x47, 0x01, (u8)port, (u8)(port >> 8), (u8)port, (u8)(port >> 8),
		0x01, 0x01, /* IO (Decode16, port, port, 1, 1) */
		0x79, 0x00, /* EndTag */
	};
	u8 body[96];
	size_t n = 0;

	memcpy(body, "PEVT", 4);
	n = 4;
	body[n++] = 0x08; /* NameOp _HID, a string */
	memcpy(body + n, "_HID", 4);
	n += 4;
	body[n++] = 0x0d; /* StringPrefix */
	memcpy(body + n, "QEMU0001", 9);
	n += 9;
	n += aml_name_buffer(body + n, "_CRS", crs, sizeof(crs));
	n += aml_name_dword(body + n, "_STA", 0x0f);
	return aml_pkg(out, device_op, 2, body, n);
}

/* Word Address Space Descriptor (6.4.3.5.3): bus numbers (type 2) or I/O (type 1), producer. */
static size_t acpi_res_word(u8 *p, u8 type, u8 type_flags, u16 min, u16 max)
{
	p[0] = 0x88;
	boot_put16(p + 1, 13);
	p[3] = type;
	p[4] = 0x0c; /* MinFixed, MaxFixed, PosDecode, ResourceProducer */
	p[5] = type_flags;
	boot_put16(p + 6, 0); /* granularity */
	boot_put16(p + 8, min);
	boot_put16(p + 10, max);
	boot_put16(p + 12, 0); /* translation offset */
	boot_put16(p + 14, (u16)(max - min + 1));
	return 16;
}

/* DWord Address Space Descriptor (6.4.3.5.2): a memory window, cacheable, read/write. */
static size_t acpi_res_dword_mem(u8 *p, u32 min, u32 max)
{
	p[0] = 0x87;
	boot_put16(p + 1, 23);
	p[3] = 0;    /* memory */
	p[4] = 0x0c; /* MinFixed, MaxFixed, PosDecode, ResourceProducer */
	p[5] = 0x03; /* ReadWrite, Cacheable */
	boot_put32(p + 6, 0);
	boot_put32(p + 10, min);
	boot_put32(p + 14, max);
	boot_put32(p + 18, 0);
	boot_put32(p + 22, max - min + 1);
	return 26;
}

/*
 * Device (PCI0): the host bridge (PNP0A03, PCI Firmware Spec 3.x 4.1.1) on
 * segment 0 bus 0, its windows in _CRS (buses 0-255, config ports 0xcf8-0xcff,
 * I/O 0-0xcf7 and 0xd00-0xffff, VGA memory 0xa0000-0xbffff, the 32-bit hole
 * ACPI_PCI_MMIO_START-ACPI_PCI_MMIO_END) and _PRT (6.2.13): pin P (0 = INTA)
 * of the device in slot S goes to GSI pci_intx_gsi[(S + P) % 4].
 */
static size_t aml_pci0(u8 *out, const struct acpi_config *cfg)
{
	static const u8 device_op[] = { 0x5b, 0x82 }, package_op[] = { 0x12 };
	static const u8 cfg_io[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	u8 crs[160], prt[2400], entry[32], body[3072];
	size_t c = 0, r = 0, n = 0;

	c += acpi_res_word(crs + c, 2, 0, 0x00, 0xff);
	memcpy(crs + c, cfg_io, sizeof(cfg_io)); /* IO (Decode16, 0xcf8, 0xcf8, 1, 8) */
	c += sizeof(cfg_io);
	c += acpi_res_word(crs + c, 1, 0x03, 0x0000, 0x0cf7); /* EntireRange */
	c += acpi_res_word(crs + c, 1, 0x03, 0x0d00, 0xffff);
	c += acpi_res_dword_mem(crs + c, 0x000a0000, 0x000bffff);
	if (cfg->pci_mmio_start || cfg->pci_mmio_end)
		c += acpi_res_dword_mem(crs + c, cfg->pci_mmio_start, cfg->pci_mmio_end);
	else
		c += acpi_res_dword_mem(crs + c, ACPI_PCI_MMIO_START, ACPI_PCI_MMIO_END);
	crs[c++] = 0x79; /* EndTag, checksum 0 */
	crs[c++] = 0x00;

	prt[r++] = 32 * 4; /* NumElements */
	for (u32 slot = 0; slot < 32; slot++) {
		for (u32 pin = 0; pin < 4; pin++) {
			size_t e = 0;

			entry[e++] = 4;
			e += aml_int(entry + e, slot << 16 | 0xffff);
			e += aml_int(entry + e, pin);
			entry[e++] = 0x00; /* Source: none, the index is a GSI */
			e += aml_int(entry + e, cfg->pci_intx_gsi[(slot + pin) % 4]);
			r += aml_pkg(prt + r, package_op, 1, entry, e);
		}
	}

	memcpy(body, "PCI0", 4);
	n = 4;
	/* EISAID ("PNP0A08"), PCI Express, compatible with EISAID ("PNP0A03") */
	n += aml_name_dword(body + n, "_HID", cfg->pcie ? 0x080ad041 : 0x030ad041);
	if (cfg->pcie)
		n += aml_name_dword(body + n, "_CID", 0x030ad041);
	n += aml_name_dword(body + n, "_SEG", 0);
	n += aml_name_dword(body + n, "_BBN", 0);
	n += aml_name_dword(body + n, "_UID", 0);
	n += aml_name_buffer(body + n, "_CRS", crs, c);
	body[n++] = 0x08; /* NameOp _PRT */
	memcpy(body + n, "_PRT", 4);
	n += 4;
	n += aml_pkg(body + n, package_op, 1, prt, r);
	return aml_pkg(out, device_op, 2, body, n);
}

/*
 * Device (name) { _HID eisaid, _UID 0, _CRS { Memory32Fixed (RO or RW, base, len) } }: the
 * shape of the fixed-MMIO devices the DSDT names.
 */
static size_t aml_mem32_device(u8 *out, const char *name, u32 eisaid, bool rw, u32 base, u32 len)
{
	static const u8 device_op[] = { 0x5b, 0x82 };
	u8 crs[14] = { 0x86, 0x09, 0x00, rw }; /* Memory32Fixed; then EndTag */
	u8 body[96];
	size_t n = 0;

	boot_put32(crs + 4, base);
	boot_put32(crs + 8, len);
	crs[12] = 0x79;
	memcpy(body, name, 4);
	n = 4;
	n += aml_name_dword(body + n, "_HID", eisaid);
	n += aml_name_dword(body + n, "_UID", 0);
	n += aml_name_buffer(body + n, "_CRS", crs, sizeof(crs));
	return aml_pkg(out, device_op, 2, body, n);
}

/* Device (HPET) { _HID EISAID("PNP0103"), _UID 0, _CRS { Memory32Fixed (RO, base, 0x400) } } */
static size_t aml_hpet(u8 *out, u32 base)
{
	return aml_mem32_device(out, "HPET", 0x0301d041, false, base, 0x400);
}

/*
 * Device (RES0) { _HID EISAID("PNP0C02"), _UID 0, _CRS { Memory32Fixed (RW, base, len) } }: a
 * motherboard resource reserving the ECAM window, which is how an OS checks that the MCFG
 * table's window is really decoded (PCI Firmware Specification 3.x, 4.1.2).
 */
static size_t aml_ecam_reservation(u8 *out, u32 base, u32 len)
{
	return aml_mem32_device(out, "RES0", 0x020cd041, true, base, len);
}

static size_t acpi_dsdt_body(u8 *out, const struct acpi_config *cfg)
{
	static const u8 package_op[] = { 0x12 }, scope_op[] = { 0x10 };
	u8 pkg[16], sb[ACPI_AML_MAX];
	size_t n = 0, p = 0, s = 0;

	/* Name (_S5, Package (4) { typ, typ, 0, 0 }) */
	out[n++] = 0x08;
	memcpy(out + n, "_S5_", 4);
	n += 4;
	pkg[p++] = 4; /* NumElements */
	for (unsigned i = 0; i < 2; i++) {
		pkg[p++] = 0x0a; /* BytePrefix */
		pkg[p++] = cfg->s5_slp_typ;
	}
	pkg[p++] = 0x00; /* ZeroOp */
	pkg[p++] = 0x00;
	n += aml_pkg(out + n, package_op, 1, pkg, p);
	if (cfg->s3) {
		/* Name (_S3, Package (4) { typ, typ, 0, 0 }) */
		out[n++] = 0x08;
		memcpy(out + n, "_S3_", 4);
		n += 4;
		p = 0;
		pkg[p++] = 4;
		for (unsigned i = 0; i < 2; i++) {
			pkg[p++] = 0x0a;
			pkg[p++] = cfg->s3_slp_typ;
		}
		pkg[p++] = 0x00;
		pkg[p++] = 0x00;
		n += aml_pkg(out + n, package_op, 1, pkg, p);
	}
	if (cfg->com1 || cfg->pci_host || cfg->pvpanic_port || cfg->hpet_gpa || cfg->mcfg_gpa) {
		memcpy(sb, "\\_SB_", 5);
		s = 5;
		if (cfg->pci_host)
			s += aml_pci0(sb + s, cfg);
		if (cfg->com1)
			s += aml_com1(sb + s);
		if (cfg->pvpanic_port)
			s += aml_pvpanic(sb + s, cfg->pvpanic_port);
		if (cfg->hpet_gpa)
			s += aml_hpet(sb + s, (u32)cfg->hpet_gpa);
		if (cfg->mcfg_gpa)
			s += aml_ecam_reservation(sb + s, (u32)cfg->mcfg_gpa,
						  ((u32)cfg->mcfg_last_bus + 1) << 20);
		n += aml_pkg(out + n, scope_op, 1, sb, s);
	}
	return n;
}

/* ---- the tables, with their pointers and checksums as fix-ups ---- */

/* A pointer field of size bytes at offset in blob that holds an offset into the tables blob. */
static void acpi_add_pointer(struct acpi_tables *t, enum acpi_blob blob, size_t offset, u8 size)
{
	t->ptrs[t->nr_ptrs++] =
		(struct acpi_pointer){ .blob = (u8)blob, .size = size, .offset = (u32)offset };
}

static void acpi_add_checksum(struct acpi_tables *t, enum acpi_blob blob, size_t at, size_t start,
			      size_t len)
{
	t->sums[t->nr_sums++] = (struct acpi_checksum){
		.blob = (u8)blob, .at = (u32)at, .start = (u32)start, .len = (u32)len
	};
}

static u8 *acpi_blob_data(struct acpi_tables *t, u8 blob)
{
	return blob == ACPI_BLOB_RSDP ? t->rsdp : t->tables;
}

/* A table's header checksum (offset 9), over its whole length, as a fix-up. */
static void acpi_table_done(struct acpi_tables *t, size_t off)
{
	acpi_add_checksum(t, ACPI_BLOB_TABLES, off + 9, off, boot_get32(t->tables + off + 4));
}

static void acpi_fadt(struct acpi_tables *t, size_t off, const struct acpi_config *cfg, size_t facs,
		      size_t dsdt)
{
	/*
	 * PWR_BUTTON clear: the power button is the fixed-feature one (PM1 PWRBTN_STS/EN, the
	 * VMM's vm.power-button); SLP_BUTTON set: there is no sleep button at all.
	 */
	u32 flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP;
	u8 *f = t->tables + off;

	if (cfg->pm_tmr_32bit)
		flags |= FADT_F_TMR_VAL_EXT;
	acpi_header(f, "FACP", FADT_LEN, FADT_REVISION);
	boot_put32(f + 36, (u32)facs);
	acpi_add_pointer(t, ACPI_BLOB_TABLES, off + 36, 4);
	boot_put32(f + 40, (u32)dsdt);
	acpi_add_pointer(t, ACPI_BLOB_TABLES, off + 40, 4);
	boot_put16(f + 46, ACPI_SCI_IRQ);
	boot_put32(f + 56, ACPI_PM_PM1A_EVT);
	boot_put32(f + 64, ACPI_PM_PM1A_CNT);
	boot_put32(f + 76, ACPI_PM_TMR);
	boot_put32(f + 80, ACPI_PM_GPE0);
	f[88] = ACPI_PM_PM1_EVT_LEN;
	f[89] = ACPI_PM_PM1_CNT_LEN;
	f[91] = ACPI_PM_TMR_LEN;
	f[92] = ACPI_PM_GPE0_LEN;
	boot_put16(f + 96, 101);  /* P_LVL2_LAT > 100: C2 not supported */
	boot_put16(f + 98, 1001); /* P_LVL3_LAT > 1000: C3 not supported */
	f[108] = 0x32;		  /* CENTURY: CMOS index */
	boot_put16(f + 109, FADT_IAPC_LEGACY_DEVICES | FADT_IAPC_8042);
	boot_put32(f + 112, flags);
	acpi_gas(f + 116, 8, GAS_BYTE, ACPI_RESET_PORT);
	f[128] = ACPI_RESET_VALUE;
	f[131] = 0; /* FADT minor version: 6.0 */
	/* X_FIRMWARE_CTRL stays 0: at most one FACS pointer may be set (5.2.9, table 5-33). */
	boot_put64(f + 140, dsdt);
	acpi_add_pointer(t, ACPI_BLOB_TABLES, off + 140, 8);
	acpi_gas(f + 148, ACPI_PM_PM1_EVT_LEN * 8, GAS_WORD, ACPI_PM_PM1A_EVT);
	acpi_gas(f + 172, ACPI_PM_PM1_CNT_LEN * 8, GAS_WORD, ACPI_PM_PM1A_CNT);
	acpi_gas(f + 208, ACPI_PM_TMR_LEN * 8, GAS_DWORD, ACPI_PM_TMR);
	acpi_gas(f + 220, ACPI_PM_GPE0_LEN * 8, GAS_BYTE, ACPI_PM_GPE0);
	memcpy(f + 268, "VMMVMM\0\0", 8); /* hypervisor vendor identity */
	acpi_table_done(t, off);
}

static size_t acpi_madt_len(const struct acpi_config *cfg)
{
	return 44 + 8 * (size_t)cfg->nr_vcpus + 12 + 10 + 10 + 6;
}

static void acpi_madt(struct acpi_tables *t, size_t off, const struct acpi_config *cfg)
{
	u8 *m = t->tables + off, *e = m + 44;

	acpi_header(m, "APIC", (u32)acpi_madt_len(cfg), MADT_REVISION);
	boot_put32(m + 36, ACPI_LAPIC_GPA);
	boot_put32(m + 40, 1); /* PCAT_COMPAT: dual 8259s present */
	for (unsigned i = 0; i < cfg->nr_vcpus; i++, e += 8) {
		e[0] = 0; /* Processor Local APIC */
		e[1] = 8;
		e[2] = (u8)i;	      /* ACPI processor UID */
		e[3] = (u8)i;	      /* APIC ID */
		boot_put32(e + 4, 1); /* enabled */
	}
	e[0] = 1; /* I/O APIC */
	e[1] = 12;
	e[2] = (u8)cfg->nr_vcpus;
	boot_put32(e + 4, ACPI_IOAPIC_GPA);
	boot_put32(e + 8, 0); /* GSI base */
	e += 12;
	e[0] = 2; /* Interrupt Source Override: ISA IRQ0 -> GSI2, conforming */
	e[1] = 10;
	e[3] = 0;
	boot_put32(e + 4, 2);
	boot_put16(e + 8, 0);
	e += 10;
	e[0] = 2; /* ISA IRQ9 (SCI) -> GSI9, active high (01), level (11 << 2) */
	e[1] = 10;
	e[3] = ACPI_SCI_IRQ;
	boot_put32(e + 4, ACPI_SCI_IRQ);
	boot_put16(e + 8, 0x000d);
	e += 10;
	e[0] = 4; /* Local APIC NMI: all processors, LINT1 */
	e[1] = 6;
	e[2] = 0xff;
	boot_put16(e + 3, 0);
	e[5] = 1;
	acpi_table_done(t, off);
}

/* HPET description table (IA-PC HPET specification 1.0a, 3.2.4): one timer block. */
static void acpi_hpet(struct acpi_tables *t, size_t off, const struct acpi_config *cfg)
{
	u8 *h = t->tables + off;

	acpi_header(h, "HPET", HPET_TABLE_LEN, 1);
	boot_put32(h + 36, cfg->hpet_id); /* Event Timer Block ID: GCAP_ID bits 31:0 */
	h[40] = 0;			  /* Address: GAS, system memory */
	h[41] = 64;
	h[42] = 0;
	h[43] = 0;
	boot_put64(h + 44, cfg->hpet_gpa);
	h[52] = 0;		 /* HPET number */
	boot_put16(h + 53, 128); /* main counter minimum clock tick in periodic mode */
	h[55] = 0;		 /* page protection: none */
	acpi_table_done(t, off);
}

/* MCFG (PCI Firmware Specification 3.x, 4.1.2): ECAM for segment 0, buses 0..last. */
static void acpi_mcfg(struct acpi_tables *t, size_t off, const struct acpi_config *cfg)
{
	u8 *m = t->tables + off;

	acpi_header(m, "MCFG", MCFG_TABLE_LEN, 1);
	boot_put64(m + 44, cfg->mcfg_gpa);
	boot_put16(m + 52, 0); /* PCI segment group */
	m[54] = 0;	       /* start bus */
	m[55] = cfg->mcfg_last_bus;
	acpi_table_done(t, off);
}

static int acpi_check(const struct acpi_config *cfg, struct err *err)
{
	if (!cfg->nr_vcpus || cfg->nr_vcpus > ACPI_MAX_VCPUS)
		return err_set(err, -EINVAL, "acpi: %u vCPUs (1 to %u supported)", cfg->nr_vcpus,
			       ACPI_MAX_VCPUS);
	for (unsigned i = 0; cfg->pci_host && i < 4; i++)
		if (!cfg->pci_intx_gsi[i] || cfg->pci_intx_gsi[i] > 23)
			return err_set(err, -EINVAL,
				       "acpi: PCI INTx GSI %u is not an IOAPIC pin 1-23",
				       cfg->pci_intx_gsi[i]);
	if (cfg->pci_host && (cfg->pci_mmio_start || cfg->pci_mmio_end) &&
	    cfg->pci_mmio_start >= cfg->pci_mmio_end)
		return err_set(err, -EINVAL, "acpi: PCI memory window %#x-%#x is empty",
			       cfg->pci_mmio_start, cfg->pci_mmio_end);
	return 0;
}

int acpi_tables_build(const struct acpi_config *cfg, struct acpi_tables *t, struct err *err)
{
	size_t facs, dsdt, fadt, madt, hpet = 0, mcfg = 0, rsdt, xsdt, pos = 0, dsdt_len;
	size_t entries[4], nr = 0;
	u8 aml[ACPI_AML_MAX];
	int ret = acpi_check(cfg, err);

	memset(t, 0, sizeof(*t));
	if (ret < 0)
		return ret;
	dsdt_len = ACPI_HDR_LEN + acpi_dsdt_body(aml, cfg);
#define ALLOC(len, align) (pos = ALIGN_UP(pos, (size_t)(align)), pos += (len), pos - (len))
	facs = ALLOC(FACS_LEN, 64); /* the tables blob is 64-byte aligned, so is the FACS */
	dsdt = ALLOC(dsdt_len, 16);
	fadt = ALLOC(FADT_LEN, 16);
	entries[nr++] = fadt;
	madt = ALLOC(acpi_madt_len(cfg), 16);
	entries[nr++] = madt;
	if (cfg->hpet_gpa)
		entries[nr++] = hpet = ALLOC(HPET_TABLE_LEN, 16);
	if (cfg->mcfg_gpa)
		entries[nr++] = mcfg = ALLOC(MCFG_TABLE_LEN, 16);
	rsdt = ALLOC(ACPI_HDR_LEN + 4 * nr, 16);
	xsdt = ALLOC(ACPI_HDR_LEN + 8 * nr, 16);
#undef ALLOC
	t->tables_len = pos;
	t->tables = calloc(1, pos);
	if (!t->tables)
		return err_set(err, -ENOMEM, "acpi: out of memory");

	memcpy(t->tables + facs, "FACS", 4);
	boot_put32(t->tables + facs + 4, FACS_LEN);
	t->tables[facs + 32] = 2; /* version */

	acpi_header(t->tables + dsdt, "DSDT", (u32)dsdt_len, 2);
	memcpy(t->tables + dsdt + ACPI_HDR_LEN, aml, dsdt_len - ACPI_HDR_LEN);
	acpi_table_done(t, dsdt);
	acpi_fadt(t, fadt, cfg, facs, dsdt);
	acpi_madt(t, madt, cfg);
	if (hpet)
		acpi_hpet(t, hpet, cfg);
	if (mcfg)
		acpi_mcfg(t, mcfg, cfg);

	acpi_header(t->tables + rsdt, "RSDT", (u32)(ACPI_HDR_LEN + 4 * nr), 1);
	acpi_header(t->tables + xsdt, "XSDT", (u32)(ACPI_HDR_LEN + 8 * nr), 1);
	for (size_t i = 0; i < nr; i++) {
		boot_put32(t->tables + rsdt + 36 + 4 * i, (u32)entries[i]);
		acpi_add_pointer(t, ACPI_BLOB_TABLES, rsdt + 36 + 4 * i, 4);
		boot_put64(t->tables + xsdt + 36 + 8 * i, entries[i]);
		acpi_add_pointer(t, ACPI_BLOB_TABLES, xsdt + 36 + 8 * i, 8);
	}
	acpi_table_done(t, rsdt);
	acpi_table_done(t, xsdt);

	memcpy(t->rsdp, "RSD PTR ", 8);
	memcpy(t->rsdp + 9, ACPI_OEM_ID, 6);
	t->rsdp[15] = 2; /* revision: ACPI 2.0+ */
	boot_put32(t->rsdp + 16, (u32)rsdt);
	acpi_add_pointer(t, ACPI_BLOB_RSDP, 16, 4);
	boot_put32(t->rsdp + 20, ACPI_RSDP_LEN);
	boot_put64(t->rsdp + 24, xsdt);
	acpi_add_pointer(t, ACPI_BLOB_RSDP, 24, 8);
	acpi_add_checksum(t, ACPI_BLOB_RSDP, 8, 0, 20);
	acpi_add_checksum(t, ACPI_BLOB_RSDP, 32, 0, ACPI_RSDP_LEN);
	acpi_tables_relocate(t, 0);
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->tables);
	t->tables = NULL;
}

void acpi_tables_relocate(struct acpi_tables *t, u64 tables_gpa)
{
	for (unsigned i = 0; i < t->nr_ptrs; i++) {
		const struct acpi_pointer *p = &t->ptrs[i];
		u8 *at = acpi_blob_data(t, p->blob) + p->offset;

		if (p->size == 8)
			boot_put64(at, boot_get64(at) + tables_gpa);
		else
			boot_put32(at, (u32)(boot_get32(at) + tables_gpa));
	}
	for (unsigned i = 0; i < t->nr_sums; i++) {
		const struct acpi_checksum *c = &t->sums[i];
		u8 *b = acpi_blob_data(t, c->blob);

		b[c->at] = 0;
		b[c->at] = acpi_checksum(b + c->start, c->len);
	}
}

int acpi_build(struct gmem *mem, const struct acpi_config *cfg, u64 *rsdp_gpa, struct err *err)
{
	const u64 tables_gpa = BOOT_ACPI_START + ALIGN_UP((u64)ACPI_RSDP_LEN, 64ull);

	_Static_assert(ALIGN_UP(ACPI_RSDP_LEN, 64) == ACPI_BUILD_FACS_GPA - BOOT_ACPI_START,
		       "the FACS is the first table after the RSDP");
	struct acpi_tables t;
	int ret = acpi_tables_build(cfg, &t, err);

	if (ret < 0)
		return ret;
	/* The area is 64 KiB; 255 vCPUs need under 4 KiB, so this always fits. */
	acpi_tables_relocate(&t, tables_gpa);
	if (gmem_write(mem, BOOT_ACPI_START, t.rsdp, ACPI_RSDP_LEN) < 0 ||
	    gmem_write(mem, tables_gpa, t.tables, t.tables_len) < 0)
		ret = err_set(err, -EFAULT, "acpi: %#llx-%#llx is not guest RAM",
			      (unsigned long long)BOOT_ACPI_START,
			      (unsigned long long)(tables_gpa + t.tables_len - 1));
	else
		*rsdp_gpa = BOOT_ACPI_START;
	acpi_tables_free(&t);
	return ret;
}

/* ---- the firmware's linker/loader script (etc/table-loader) ---- */

#define LOADER_ENTRY_LEN    128
#define LOADER_FILE_LEN	    56
#define LOADER_ALLOCATE	    1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2
#define LOADER_MAX_COMMANDS (2 + ACPI_MAX_FIXUPS * 2)

static const char *const acpi_blob_names[] = {
	[ACPI_BLOB_RSDP] = ACPI_FILE_RSDP,
	[ACPI_BLOB_TABLES] = ACPI_FILE_TABLES,
};

static u8 *loader_entry(u8 *script, size_t *len, u32 command)
{
	u8 *e = script + *len;

	memset(e, 0, LOADER_ENTRY_LEN);
	boot_put32(e, command);
	*len += LOADER_ENTRY_LEN;
	return e + 4;
}

int acpi_tables_loader(const struct acpi_tables *t, u8 **out, size_t *out_len, struct err *err)
{
	u8 *s = calloc(LOADER_MAX_COMMANDS, LOADER_ENTRY_LEN), *e;
	size_t len = 0;

	if (!s)
		return err_set(err, -ENOMEM, "acpi: out of memory");
	/* The firmware allocates both blobs, then patches the pointers and sums into them. */
	e = loader_entry(s, &len, LOADER_ALLOCATE);
	strcpy((char *)e, ACPI_FILE_TABLES);
	boot_put32(e + LOADER_FILE_LEN, 64);
	e[LOADER_FILE_LEN + 4] = LOADER_ZONE_HIGH;
	e = loader_entry(s, &len, LOADER_ALLOCATE);
	strcpy((char *)e, ACPI_FILE_RSDP);
	boot_put32(e + LOADER_FILE_LEN, 16);
	e[LOADER_FILE_LEN + 4] = LOADER_ZONE_FSEG; /* where an OS scans for it */
	for (unsigned i = 0; i < t->nr_ptrs; i++) {
		e = loader_entry(s, &len, LOADER_ADD_POINTER);
		strcpy((char *)e, acpi_blob_names[t->ptrs[i].blob]);
		strcpy((char *)e + LOADER_FILE_LEN, ACPI_FILE_TABLES);
		boot_put32(e + 2 * LOADER_FILE_LEN, t->ptrs[i].offset);
		e[2 * LOADER_FILE_LEN + 4] = t->ptrs[i].size;
	}
	for (unsigned i = 0; i < t->nr_sums; i++) {
		e = loader_entry(s, &len, LOADER_ADD_CHECKSUM);
		strcpy((char *)e, acpi_blob_names[t->sums[i].blob]);
		boot_put32(e + LOADER_FILE_LEN, t->sums[i].at);
		boot_put32(e + LOADER_FILE_LEN + 4, t->sums[i].start);
		boot_put32(e + LOADER_FILE_LEN + 8, t->sums[i].len);
	}
	*out = s;
	*out_len = len;
	return 0;
}

int boot_s3_resume(struct gmem *mem, struct cpu_state *bsp, struct err *err)
{
	u8 raw[4];
	u32 vector;

	if (gmem_read(mem, ACPI_BUILD_FACS_GPA + ACPI_FACS_WAKING_VECTOR, raw, 4) < 0)
		return err_set(err, -EFAULT, "acpi: the FACS at %#llx is not guest RAM",
			       (unsigned long long)ACPI_BUILD_FACS_GPA);
	vector = boot_get32(raw);
	if (!vector)
		return err_set(err, -ENOENT, "acpi: the FACS holds no waking vector");
	boot_cpu_prepare(bsp);
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		boot_seg_real(&bsp->seg[i], 0, false);
	boot_seg_real(&bsp->seg[CPU_CS], (u16)(vector >> 4), true);
	bsp->rip = vector & 0xf;
	bsp->cr0 = 0x10;
	bsp->idtr.limit = 0x3ff;
	log_dbg(LOG_CAT_BOOT, "acpi: S3 resume at the waking vector %#x (%04x:%04x)", vector,
		vector >> 4, vector & 0xf);
	return 0;
}
