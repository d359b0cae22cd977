// SPDX-License-Identifier: MIT
/*
 * ACPI tables for the PC board (ACPI 6.x specification):
 *   5.2.5.3 RSDP (revision 2, in the BIOS area so a 16-byte-aligned scan of
 *           0xe0000-0xfffff finds it), 5.2.7 RSDT, 5.2.8 XSDT,
 *   5.2.9   FADT revision 6 (table 5-33): PM1a event/control blocks, PM timer
 *           and GPE0 at the ACPI PM device's ports, SCI on IRQ 9, reset
 *           register = system I/O 0xcf9 value 6, IAPC_BOOT_ARCH legacy
 *           devices + 8042, century at CMOS 0x32, the 32-bit FACS pointer
 *           (X_FIRMWARE_CTRL must then be 0), both DSDT pointers,
 *   5.2.10  FACS, 5.2.11.1 DSDT, 5.2.12 MADT (local APIC at 0xfee00000,
 *           PCAT_COMPAT, one enabled Processor Local APIC per vCPU, the
 *           IOAPIC at 0xfec00000 with GSI base 0, overrides IRQ0 -> GSI2 and
 *           IRQ9 level/active high, local APIC NMI on LINT1).
 * The DSDT is AML (chapter 20): \_S5 = Package { SLP_TYP, SLP_TYP, 0, 0 },
 * optionally \_SB.PCI0 (the host bridge: _CRS windows per 6.4.3.5, _PRT per
 * 6.2.13 routing INTx to IOAPIC GSIs) and \_SB.COM1 (PNP0501, I/O
 * 0x3f8-0x3ff, IRQ 4).
 * All checksums make the byte sum of each table 0 (5.2.6).
 *
 * Not here: HPET, MCFG, SRAT, processor objects in the DSDT, a 64-bit PCI
 * window, PCI interrupt link devices, sleep states other than S5.
 */
#include "vmm/boot/boot_internal.h"

#include "devices/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACPI_HDR_LEN   36
#define ACPI_OEM_ID    "VMMVMM"
#define ACPI_OEM_TABLE "VMMPC   "
#define ACPI_CREATOR   "VMM "
#define ACPI_AREA_LEN  (BOOT_ACPI_END - BOOT_ACPI_START)

#define FADT_LEN      276
#define FADT_REVISION 6
#define FACS_LEN      64
#define MADT_REVISION 4
#define ACPI_AML_MAX  4096 /* the DSDT body: _S5, PCI0 (~2 KiB with _PRT), COM1 */

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

struct acpi_blob {
	u8 *buf;
	size_t pos;
};

static size_t acpi_alloc(struct acpi_blob *b, size_t len, size_t align)
{
	size_t at = ALIGN_UP(b->pos, align);

	b->pos = at + len;
	return at;
}

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

static void acpi_finish(u8 *t)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, boot_get32(t + 4));
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
	n += aml_name_dword(body + n, "_HID", 0x030ad041); /* EISAID ("PNP0A03") */
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
	if (cfg->com1 || cfg->pci_host || cfg->pvpanic_port) {
		memcpy(sb, "\\_SB_", 5);
		s = 5;
		if (cfg->pci_host)
			s += aml_pci0(sb + s, cfg);
		if (cfg->com1)
			s += aml_com1(sb + s);
		if (cfg->pvpanic_port)
			s += aml_pvpanic(sb + s, cfg->pvpanic_port);
		n += aml_pkg(out + n, scope_op, 1, sb, s);
	}
	return n;
}

static void acpi_fadt(u8 *t, const struct acpi_config *cfg, u32 facs, u32 dsdt)
{
	/*
	 * PWR_BUTTON clear: the power button is the fixed-feature one (PM1 PWRBTN_STS/EN, the
	 * VMM's vm.power-button); SLP_BUTTON set: there is no sleep button at all.
	 */
	u32 flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP;

	if (cfg->pm_tmr_32bit)
		flags |= FADT_F_TMR_VAL_EXT;
	acpi_header(t, "FACP", FADT_LEN, FADT_REVISION);
	boot_put32(t + 36, facs);
	boot_put32(t + 40, dsdt);
	boot_put16(t + 46, ACPI_SCI_IRQ);
	boot_put32(t + 56, ACPI_PM_PM1A_EVT);
	boot_put32(t + 64, ACPI_PM_PM1A_CNT);
	boot_put32(t + 76, ACPI_PM_TMR);
	boot_put32(t + 80, ACPI_PM_GPE0);
	t[88] = ACPI_PM_PM1_EVT_LEN;
	t[89] = ACPI_PM_PM1_CNT_LEN;
	t[91] = ACPI_PM_TMR_LEN;
	t[92] = ACPI_PM_GPE0_LEN;
	boot_put16(t + 96, 101);  /* P_LVL2_LAT > 100: C2 not supported */
	boot_put16(t + 98, 1001); /* P_LVL3_LAT > 1000: C3 not supported */
	t[108] = 0x32;		  /* CENTURY: CMOS index */
	boot_put16(t + 109, FADT_IAPC_LEGACY_DEVICES | FADT_IAPC_8042);
	boot_put32(t + 112, flags);
	acpi_gas(t + 116, 8, GAS_BYTE, ACPI_RESET_PORT);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0; /* FADT minor version: 6.0 */
	/* X_FIRMWARE_CTRL stays 0: at most one FACS pointer may be set (5.2.9, table 5-33). */
	boot_put64(t + 140, dsdt);
	acpi_gas(t + 148, ACPI_PM_PM1_EVT_LEN * 8, GAS_WORD, ACPI_PM_PM1A_EVT);
	acpi_gas(t + 172, ACPI_PM_PM1_CNT_LEN * 8, GAS_WORD, ACPI_PM_PM1A_CNT);
	acpi_gas(t + 208, ACPI_PM_TMR_LEN * 8, GAS_DWORD, ACPI_PM_TMR);
	acpi_gas(t + 220, ACPI_PM_GPE0_LEN * 8, GAS_BYTE, ACPI_PM_GPE0);
	memcpy(t + 268, "VMMVMM\0\0", 8); /* hypervisor vendor identity */
	acpi_finish(t);
}

static void acpi_madt(u8 *t, size_t len, const struct acpi_config *cfg)
{
	u8 *e = t + 44;

	acpi_header(t, "APIC", (u32)len, MADT_REVISION);
	boot_put32(t + 36, ACPI_LAPIC_GPA);
	boot_put32(t + 40, 1); /* PCAT_COMPAT: dual 8259s present */
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
	acpi_finish(t);
}

static size_t acpi_madt_len(const struct acpi_config *cfg)
{
	return 44 + 8 * (size_t)cfg->nr_vcpus + 12 + 10 + 10 + 6;
}

int acpi_build(struct gmem *mem, const struct acpi_config *cfg, u64 *rsdp_gpa, struct err *err)
{
	struct acpi_blob b = { 0 };
	size_t rsdp, rsdt, xsdt, fadt, facs, dsdt, madt, dsdt_len, madt_len;
	u8 aml[ACPI_AML_MAX];
	int ret = 0;

	if (!cfg->nr_vcpus || cfg->nr_vcpus > ACPI_MAX_VCPUS)
		return err_set(err, -EINVAL, "acpi: %u vCPUs (1 to %u supported)", cfg->nr_vcpus,
			       ACPI_MAX_VCPUS);
	for (unsigned i = 0; cfg->pci_host && i < 4; i++)
		if (!cfg->pci_intx_gsi[i] || cfg->pci_intx_gsi[i] > 23)
			return err_set(err, -EINVAL,
				       "acpi: PCI INTx GSI %u is not an IOAPIC pin 1-23",
				       cfg->pci_intx_gsi[i]);
	b.buf = calloc(1, ACPI_AREA_LEN);
	if (!b.buf)
		return err_set(err, -ENOMEM, "acpi: out of memory");
	dsdt_len = ACPI_HDR_LEN + acpi_dsdt_body(aml, cfg);
	madt_len = acpi_madt_len(cfg);
	rsdp = acpi_alloc(&b, 36, 16);
	rsdt = acpi_alloc(&b, ACPI_HDR_LEN + 2 * 4, 16);
	xsdt = acpi_alloc(&b, ACPI_HDR_LEN + 2 * 8, 16);
	fadt = acpi_alloc(&b, FADT_LEN, 16);
	facs = acpi_alloc(&b, FACS_LEN, 64);
	dsdt = acpi_alloc(&b, dsdt_len, 16);
	madt = acpi_alloc(&b, madt_len, 16);
	/* The area is 64 KiB; 255 vCPUs need under 4 KiB, so this always fits. */

#define GPA(off) ((u32)(BOOT_ACPI_START + (off)))
	acpi_header(b.buf + dsdt, "DSDT", (u32)dsdt_len, 2);
	memcpy(b.buf + dsdt + ACPI_HDR_LEN, aml, dsdt_len - ACPI_HDR_LEN);
	acpi_finish(b.buf + dsdt);

	memcpy(b.buf + facs, "FACS", 4);
	boot_put32(b.buf + facs + 4, FACS_LEN);
	b.buf[facs + 32] = 2; /* version */

	acpi_fadt(b.buf + fadt, cfg, GPA(facs), GPA(dsdt));
	acpi_madt(b.buf + madt, madt_len, cfg);

	acpi_header(b.buf + rsdt, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
	boot_put32(b.buf + rsdt + 36, GPA(fadt));
	boot_put32(b.buf + rsdt + 40, GPA(madt));
	acpi_finish(b.buf + rsdt);
	acpi_header(b.buf + xsdt, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);
	boot_put64(b.buf + xsdt + 36, GPA(fadt));
	boot_put64(b.buf + xsdt + 44, GPA(madt));
	acpi_finish(b.buf + xsdt);

	memcpy(b.buf + rsdp, "RSD PTR ", 8);
	memcpy(b.buf + rsdp + 9, ACPI_OEM_ID, 6);
	b.buf[rsdp + 15] = 2; /* revision: ACPI 2.0+ */
	boot_put32(b.buf + rsdp + 16, GPA(rsdt));
	boot_put32(b.buf + rsdp + 20, 36);
	boot_put64(b.buf + rsdp + 24, GPA(xsdt));
	b.buf[rsdp + 8] = acpi_checksum(b.buf + rsdp, 20);
	b.buf[rsdp + 32] = acpi_checksum(b.buf + rsdp, 36);

	if (gmem_write(mem, BOOT_ACPI_START, b.buf, b.pos) < 0)
		ret = err_set(err, -EFAULT, "acpi: %#llx-%#llx is not guest RAM",
			      (unsigned long long)BOOT_ACPI_START,
			      (unsigned long long)(BOOT_ACPI_START + b.pos - 1));
	else
		*rsdp_gpa = GPA(rsdp);
#undef GPA
	free(b.buf);
	return ret;
}
