// SPDX-License-Identifier: MIT
/*
 * SMBIOS tables (DMTF DSP0134 SMBIOS Reference Specification 2.8, the structures a firmware
 * or dmidecode reads first): type 1 system (the VM's name and UUID), 3 chassis, 4 one
 * processor per vCPU, 16 the physical memory array, 17 one memory device, 19 one mapped
 * address range per RAM region, 32 system boot, 127 end; and the 31-byte SMBIOS 2.1 entry
 * point (5.2.1) "_SM_" / "_DMI_" with its checksums.
 *
 * Type 0 (BIOS information) describes the firmware, so it is left to the firmware (SeaBIOS
 * and OVMF add their own when the tables lack it); a boot without firmware gets one that
 * says so. Firmware gets the tables through fw_cfg (etc/smbios/smbios-tables and the entry
 * point as etc/smbios/smbios-anchor, which it fills with the address where it copies them);
 * a boot without firmware has them placed at BOOT_SMBIOS_GPA, in the reserved BIOS area
 * where an OS scans 0xf0000-0xfffff for the entry point.
 *
 * Not here: the 64-bit SMBIOS 3.0 entry point, caches (type 7), slots (type 9), OEM strings.
 */
#include "vmm/boot/boot_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMBIOS_MAX_LEN (64u << 10)
#define SMBIOS_MAJOR   2
#define SMBIOS_MINOR   8

struct smbios_writer {
	u8 *buf;
	size_t len;
	unsigned nr, max_struct;
	bool overflow;
	size_t start; /* of the structure being written */
	unsigned nr_strings;
};

/* Begin a structure of type with a formatted area of len bytes (header included). */
static u8 *smbios_begin(struct smbios_writer *w, u8 type, u8 len, u16 instance)
{
	u8 *s;

	w->start = w->len;
	w->nr_strings = 0;
	if (w->len + len + 2 > SMBIOS_MAX_LEN) {
		w->overflow = true;
		w->len = w->start;
		return NULL;
	}
	s = w->buf + w->len;
	memset(s, 0, len);
	s[0] = type;
	s[1] = len;
	boot_put16(s + 2, (u16)(type << 8 | instance));
	w->len += len;
	return s;
}

/* Append a string to the structure; returns its number (1..) for the formatted area. */
static u8 smbios_string(struct smbios_writer *w, const char *str)
{
	size_t n = strlen(str) + 1;

	if (w->overflow || !*str)
		return 0;
	if (w->len + n + 1 > SMBIOS_MAX_LEN) {
		w->overflow = true;
		return 0;
	}
	memcpy(w->buf + w->len, str, n);
	w->len += n;
	return (u8)++w->nr_strings;
}

/* End the structure: its string set ends with a second NUL (two when there is none). */
static void smbios_end(struct smbios_writer *w)
{
	if (w->overflow)
		return;
	if (!w->nr_strings)
		w->buf[w->len++] = 0;
	w->buf[w->len++] = 0;
	w->nr++;
	w->max_struct = MAX(w->max_struct, (unsigned)(w->len - w->start));
}

/* A string field at off: the number of str in this structure's string set. */
#define SMBIOS_STR(w, off, str)                            \
	do {                                               \
		u8 n_ = smbios_string((w), (str));         \
		if (!(w)->overflow)                        \
			(w)->buf[(w)->start + (off)] = n_; \
	} while (0)

static void smbios_type0(struct smbios_writer *w)
{
	u8 *s = smbios_begin(w, 0, 0x18, 0);

	if (!s)
		return;
	boot_put16(s + 0x06, 0xf000);  /* starting segment */
	s[0x09] = 0;		       /* ROM size: 64 KiB */
	boot_put64(s + 0x0a, 1u << 3); /* characteristics not supported */
	s[0x12] = 1u << 0;	       /* extension byte 1: ACPI */
	s[0x13] = 1u << 4;	       /* extension byte 2: this is a virtual machine */
	s[0x14] = 0xff;		       /* system BIOS major/minor release: unknown */
	s[0x15] = 0xff;
	s[0x16] = 0xff; /* embedded controller firmware: none */
	s[0x17] = 0xff;
	SMBIOS_STR(w, 0x04, "vmm");
	SMBIOS_STR(w, 0x05, "direct boot (no firmware)");
	SMBIOS_STR(w, 0x08, "01/01/2024");
	smbios_end(w);
}

static void smbios_type1(struct smbios_writer *w, const struct smbios_config *cfg)
{
	u8 *s = smbios_begin(w, 1, 0x1b, 0);

	if (!s)
		return;
	/* The UUID field stores its first three fields little endian (7.2.1). */
	s[0x08] = cfg->uuid[3];
	s[0x09] = cfg->uuid[2];
	s[0x0a] = cfg->uuid[1];
	s[0x0b] = cfg->uuid[0];
	s[0x0c] = cfg->uuid[5];
	s[0x0d] = cfg->uuid[4];
	s[0x0e] = cfg->uuid[7];
	s[0x0f] = cfg->uuid[6];
	memcpy(s + 0x10, cfg->uuid + 8, 8);
	s[0x18] = 6; /* wake-up type: power switch */
	SMBIOS_STR(w, 0x04, "vmm");
	SMBIOS_STR(w, 0x05, cfg->product);
	SMBIOS_STR(w, 0x06, "1");
	SMBIOS_STR(w, 0x07, cfg->name);
	SMBIOS_STR(w, 0x1a, "Virtual Machine");
	smbios_end(w);
}

static void smbios_type3(struct smbios_writer *w)
{
	u8 *s = smbios_begin(w, 3, 0x16, 0);

	if (!s)
		return;
	s[0x05] = 1; /* type: other */
	s[0x09] = 3; /* boot-up, power supply and thermal states: safe */
	s[0x0a] = 3;
	s[0x0b] = 3;
	s[0x0c] = 2; /* security status: unknown */
	SMBIOS_STR(w, 0x04, "vmm");
	smbios_end(w);
}

static void smbios_type4(struct smbios_writer *w, unsigned cpu)
{
	u8 *s = smbios_begin(w, 4, 0x2a, (u16)cpu);
	char socket[16];

	if (!s)
		return;
	snprintf(socket, sizeof(socket), "CPU %u", cpu);
	s[0x05] = 3;	/* central processor */
	s[0x06] = 0xfe; /* family: see family 2 */
	boot_put16(s + 0x12, 0);
	boot_put16(s + 0x14, 2000);   /* max speed, MHz */
	boot_put16(s + 0x16, 2000);   /* current speed */
	s[0x18] = 0x41;		      /* socket populated, CPU enabled */
	s[0x19] = 1;		      /* upgrade: other */
	boot_put16(s + 0x1a, 0xffff); /* no cache information */
	boot_put16(s + 0x1c, 0xffff);
	boot_put16(s + 0x1e, 0xffff);
	s[0x23] = 1; /* cores, enabled cores, threads */
	s[0x24] = 1;
	s[0x25] = 1;
	boot_put16(s + 0x26, 1u << 2); /* characteristics: 64-bit capable */
	boot_put16(s + 0x28, 1);       /* family 2: other */
	SMBIOS_STR(w, 0x04, socket);
	SMBIOS_STR(w, 0x07, "vmm");
	SMBIOS_STR(w, 0x10, "virtual CPU");
	smbios_end(w);
}

/* Physical memory array (type 16), one device holding all RAM (17), its ranges (19). */
static void smbios_memory(struct smbios_writer *w, const struct smbios_config *cfg)
{
	u64 kib = cfg->ram_bytes >> 10, mib = cfg->ram_bytes >> 20;
	u8 *s = smbios_begin(w, 16, 0x17, 0);

	if (!s)
		return;
	s[0x04] = 1; /* location: other */
	s[0x05] = 3; /* use: system memory */
	s[0x06] = 3; /* error correction: none */
	boot_put32(s + 0x07, kib < 0x80000000ull ? (u32)kib : 0x80000000u);
	boot_put16(s + 0x0b, 0xfffe); /* no error information */
	boot_put16(s + 0x0d, 1);
	boot_put64(s + 0x0f, kib < 0x80000000ull ? 0 : cfg->ram_bytes);
	smbios_end(w);

	s = smbios_begin(w, 17, 0x28, 0);
	if (!s)
		return;
	boot_put16(s + 0x04, 16 << 8); /* the array's handle */
	boot_put16(s + 0x06, 0xfffe);
	boot_put16(s + 0x08, 0xffff); /* widths unknown */
	boot_put16(s + 0x0a, 0xffff);
	boot_put16(s + 0x0c, mib < 0x7fff ? (u16)mib : 0x7fff);
	s[0x0e] = 9;		       /* form factor: DIMM */
	s[0x12] = 7;		       /* type: RAM */
	boot_put16(s + 0x13, 1u << 1); /* type detail: other */
	boot_put32(s + 0x1c, mib < 0x7fff ? 0 : (u32)MIN(mib, 0x7fffffffull));
	SMBIOS_STR(w, 0x10, "DIMM 0");
	SMBIOS_STR(w, 0x17, "vmm");
	smbios_end(w);

	for (unsigned i = 0; i < cfg->nr_ranges; i++) {
		u64 start = cfg->ranges[i].gpa, end = start + cfg->ranges[i].len - 1;
		bool ext = end >> 10 >= 0xffffffffull;

		s = smbios_begin(w, 19, 0x1f, (u16)i);
		if (!s)
			return;
		boot_put32(s + 0x04, ext ? 0xffffffffu : (u32)(start >> 10));
		boot_put32(s + 0x08, ext ? 0xffffffffu : (u32)(end >> 10));
		boot_put16(s + 0x0c, 16 << 8);
		s[0x0e] = 1; /* partition width */
		boot_put64(s + 0x0f, ext ? start : 0);
		boot_put64(s + 0x17, ext ? end : 0);
		smbios_end(w);
	}
}

int smbios_build(const struct smbios_config *cfg, struct smbios_tables *t, struct err *err)
{
	struct smbios_writer w = { 0 };
	u8 *s, *a = t->anchor;

	memset(t, 0, sizeof(*t));
	if (!cfg->nr_vcpus || cfg->nr_ranges > SMBIOS_MAX_RANGES)
		return err_set(err, -EINVAL, "smbios: %u vCPUs, %u memory ranges", cfg->nr_vcpus,
			       cfg->nr_ranges);
	w.buf = malloc(SMBIOS_MAX_LEN);
	if (!w.buf)
		return err_set(err, -ENOMEM, "smbios: out of memory");
	if (cfg->bios_info)
		smbios_type0(&w);
	smbios_type1(&w, cfg);
	smbios_type3(&w);
	for (unsigned i = 0; i < cfg->nr_vcpus; i++)
		smbios_type4(&w, i);
	smbios_memory(&w, cfg);
	s = smbios_begin(&w, 32, 0x0b, 0); /* system boot: no errors */
	if (s)
		smbios_end(&w);
	if (smbios_begin(&w, 127, 4, 0))
		smbios_end(&w);
	if (w.overflow) {
		free(w.buf);
		return err_set(err, -E2BIG, "smbios: the tables exceed %u KiB",
			       SMBIOS_MAX_LEN >> 10);
	}
	t->tables = w.buf;
	t->tables_len = w.len;

	memcpy(a, "_SM_", 4);
	a[5] = SMBIOS_ANCHOR_LEN;
	a[6] = SMBIOS_MAJOR;
	a[7] = SMBIOS_MINOR;
	boot_put16(a + 8, (u16)w.max_struct);
	memcpy(a + 0x10, "_DMI_", 5);
	boot_put16(a + 0x16, (u16)w.len);
	boot_put16(a + 0x1c, (u16)w.nr);
	a[0x1e] = SMBIOS_MAJOR << 4 | SMBIOS_MINOR;
	smbios_tables_relocate(t, 0);
	return 0;
}

static u8 smbios_sum(const u8 *p, size_t len)
{
	u8 s = 0;

	for (size_t i = 0; i < len; i++)
		s = (u8)(s + p[i]);
	return (u8)-s;
}

void smbios_tables_relocate(struct smbios_tables *t, u32 tables_gpa)
{
	u8 *a = t->anchor;

	boot_put32(a + 0x18, tables_gpa);
	a[0x15] = 0;
	a[0x15] = smbios_sum(a + 0x10, 0x0f);
	a[4] = 0;
	a[4] = smbios_sum(a, SMBIOS_ANCHOR_LEN);
}

void smbios_tables_free(struct smbios_tables *t)
{
	free(t->tables);
	t->tables = NULL;
}

int smbios_place(struct gmem *mem, const struct smbios_config *cfg, struct err *err)
{
	const u64 tables_gpa = BOOT_SMBIOS_GPA + 32;
	struct smbios_tables t;
	int ret = smbios_build(cfg, &t, err);

	if (ret < 0)
		return ret;
	if (tables_gpa + t.tables_len > BOOT_BIOS_END) {
		ret = err_set(err, -E2BIG, "smbios: %zu bytes do not fit below 1 MiB",
			      t.tables_len);
		goto out;
	}
	smbios_tables_relocate(&t, (u32)tables_gpa);
	if (gmem_write(mem, BOOT_SMBIOS_GPA, t.anchor, SMBIOS_ANCHOR_LEN) < 0 ||
	    gmem_write(mem, tables_gpa, t.tables, t.tables_len) < 0)
		ret = err_set(err, -EFAULT, "smbios: %#llx is not guest RAM",
			      (unsigned long long)BOOT_SMBIOS_GPA);
out:
	smbios_tables_free(&t);
	return ret;
}
