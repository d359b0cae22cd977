// SPDX-License-Identifier: MIT
/*
 * The e820 memory map (ACPI 6.x chapter 15, "System Address Map Interfaces",
 * table 15-312 address range types) derived from gmem's RAM regions, laid out
 * like a PC: conventional memory up to the EBDA at 0x9fc00, the legacy
 * 0x9fc00-0xfffff window (EBDA, VGA, option ROMs, BIOS and our ACPI tables)
 * reserved, extended memory from 1 MiB. ROM regions (firmware, gmem_add_rom) and regions
 * inside the 32-bit PCI hole are reported reserved.
 * Not reported: MMIO windows (IOAPIC, LAPIC, HPET) — Linux learns those from
 * ACPI, not e820.
 */
#include "vmm/boot/boot.h"

#include <errno.h>

static int e820_add(struct e820_entry *out, unsigned max, unsigned *nr, u64 addr, u64 size,
		    u32 type)
{
	if (!size)
		return 0;
	if (*nr && out[*nr - 1].type == type && out[*nr - 1].addr + out[*nr - 1].size == addr) {
		out[*nr - 1].size += size; /* merge adjacent ranges of one type */
		return 0;
	}
	if (*nr >= max)
		return -ENOSPC;
	out[*nr].addr = addr;
	out[*nr].size = size;
	out[*nr].type = type;
	(*nr)++;
	return 0;
}

/* Emit [start, end) of one RAM region, carving the legacy window out of it. */
static int e820_add_region(struct e820_entry *out, unsigned max, unsigned *nr, u64 start, u64 end,
			   bool rom)
{
	u32 type = rom || (start >= GMEM_PCI_HOLE_START && start < GMEM_HIGH_START) ?
			   E820_RESERVED :
			   E820_RAM;
	int ret = 0;

	if (type == E820_RESERVED || end <= BOOT_EBDA_START || start >= BOOT_BIOS_END)
		return e820_add(out, max, nr, start, end - start, type);
	if (start < BOOT_EBDA_START)
		ret = e820_add(out, max, nr, start, BOOT_EBDA_START - start, E820_RAM);
	if (!ret)
		ret = e820_add(out, max, nr, MAX(start, BOOT_EBDA_START),
			       MIN(end, BOOT_BIOS_END) - MAX(start, BOOT_EBDA_START),
			       E820_RESERVED);
	if (!ret && end > BOOT_BIOS_END)
		ret = e820_add(out, max, nr, BOOT_BIOS_END, end - BOOT_BIOS_END, E820_RAM);
	return ret;
}

int e820_build(const struct gmem *mem, struct e820_entry *out, unsigned max, unsigned *nr)
{
	unsigned order[GMEM_MAX_REGIONS];
	unsigned n = 0;

	*nr = 0;
	/* gmem does not promise sorted regions: sort indices by address (at most 8). */
	for (unsigned i = 0; i < mem->nr && i < GMEM_MAX_REGIONS; i++) {
		unsigned j = n++;

		while (j && mem->regions[order[j - 1]].gpa > mem->regions[i].gpa) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (unsigned k = 0; k < n; k++) {
		const struct gmem_region *r = &mem->regions[order[k]];
		u64 start = r->gpa, end = r->gpa + r->len;
		int ret;

		if (*nr && out[*nr - 1].addr + out[*nr - 1].size > start) /* overlap: clip */
			start = out[*nr - 1].addr + out[*nr - 1].size;
		if (end <= start)
			continue;
		ret = e820_add_region(out, max, nr, start, end, r->rom);
		if (ret)
			return ret;
	}
	return 0;
}
