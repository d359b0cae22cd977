/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory (docs/conventions.md section 11): a table of RAM
 * regions, each backed by one host mapping. Devices and loaders reach guest memory only
 * through these helpers, which check the whole range and fail cleanly with
 * -EFAULT; nothing dereferences a raw guest address any other way.
 */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

#include <stddef.h>

#define GMEM_MAX_REGIONS 8

struct gmem_region {
	u64 gpa, len;
	void *hva;
	bool rom; /* firmware ROM (gmem_add_rom): read-only to the guest and to devices */
};

struct gmem {
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned nr;
	u64 ram_bytes; /* total guest RAM (ROM regions not included) */
	/*
	 * Told about every device write to RAM (gmem_write, gmem_written), from the writing
	 * thread, so an accelerator can drop what it derived from those bytes (the BT engine's
	 * translated code). NULL: nobody listens.
	 */
	void (*on_write)(void *opaque, u64 gpa, u64 len);
	void *on_write_opaque;
	/* A device could not wait for its DMA to end (gmem_keep_mapped): leave RAM mapped. */
	bool keep_mapped;
};

/*
 * Allocate ram_bytes of guest RAM laid out like a PC: below the 32-bit PCI
 * hole (GMEM_PCI_HOLE_START) and the rest from 4 GiB up. Main thread.
 */
#define GMEM_PCI_HOLE_START 0xc0000000ull
#define GMEM_HIGH_START	    0x100000000ull
MUST_CHECK int gmem_init_pc(struct gmem *mem, u64 ram_bytes);
/* The same with the hole starting at low_max (a board with more below 4 GiB, e.g. ECAM). */
MUST_CHECK int gmem_init_pc_hole(struct gmem *mem, u64 ram_bytes, u64 low_max);
/*
 * Carve [gpa, gpa+len) out of the region gmem_init_pc allocated around it, splitting it in two
 * and unmapping the hole's pages (the legacy VGA window at 0xA0000-0xBFFFF belongs to the VGA
 * device, not to RAM). Page-aligned, inside one region, not at either end of it. -EINVAL,
 * -ENOSPC. Main thread, before the regions are mapped into the accelerator.
 */
MUST_CHECK int gmem_hole(struct gmem *mem, u64 gpa, u64 len);
/* Add an existing host buffer as a region (unit tests, firmware ROM). */
MUST_CHECK int gmem_add(struct gmem *mem, u64 gpa, u64 len, void *hva);
/*
 * Add a host buffer as firmware ROM: the guest reads and executes it (the accelerator maps it
 * read-only, writes become MMIO that nothing claims), gmem_read reads it, gmem_write and
 * gmem_ptr refuse it (no device DMA into ROM). Its owner fills it through hva.
 */
MUST_CHECK int gmem_add_rom(struct gmem *mem, u64 gpa, u64 len, void *hva);
/* The region starting at gpa, or NULL. */
const struct gmem_region *gmem_region_at(const struct gmem *mem, u64 gpa);
/* Unmap everything gmem_init_pc allocated (unless gmem_keep_mapped was called). */
void gmem_destroy(struct gmem *mem);
/*
 * The kernel may still write into guest RAM for a device whose requests could not be waited
 * for (an io_uring read in flight at teardown): gmem_destroy then leaves the mappings in
 * place until the process exits, rather than letting those writes land in whatever is mapped
 * there next. Any thread, device lock held.
 */
void gmem_keep_mapped(struct gmem *mem);

/* 0 or -EFAULT unless [gpa, gpa+len) is all RAM. Any thread. */
MUST_CHECK int gmem_read(const struct gmem *mem, u64 gpa, void *buf, size_t len);
MUST_CHECK int gmem_write(const struct gmem *mem, u64 gpa, const void *buf, size_t len);
/* Host pointer to [gpa, gpa+len) if it lies in one region, else NULL. */
void *gmem_ptr(const struct gmem *mem, u64 gpa, size_t len);
/* A device wrote [hva, hva+len) through a gmem_ptr pointer (DMA done): tell on_write. */
void gmem_written(const struct gmem *mem, const void *hva, size_t len);
/* Is gpa inside RAM? */
bool gmem_is_ram(const struct gmem *mem, u64 gpa);

#endif
