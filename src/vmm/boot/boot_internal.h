/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the loaders in src/vmm/boot/ (internal to this folder):
 * bounded file reads into guest memory, a record of the guest ranges already
 * claimed (so images never overlap each other nor leave RAM), segment and
 * descriptor helpers (SDM vol. 3A 3.4.5), and little-endian stores.
 */
#ifndef VMM_BOOT_BOOT_INTERNAL_H
#define VMM_BOOT_BOOT_INTERNAL_H

#include "vmm/boot/boot.h"

#include <string.h>

/* Fixed low-memory layout (see boot.h). */
#define BOOT_GDT_GPA	   0x500ull
#define BOOT_ZERO_PAGE_GPA 0x7000ull
#define BOOT_PML4_GPA	   0x9000ull /* PML4, PDPT, then 4 page directories: 0x9000-0xefff */
#define BOOT_INFO_GPA	   0x10000ull
#define BOOT_INFO_END	   0x90000ull
#define BOOT_LOW_RAM_END   BOOT_EBDA_START
#define BOOT_MAX_FILE	   (1ull << 34) /* refuse files over 16 GiB before doing any arithmetic */

struct boot_file {
	int fd;
	u64 size;
	const char *path;
};

/* Open path for reading; what ("kernel", "initrd", "module 2") prefixes messages. */
MUST_CHECK int boot_file_open(struct boot_file *f, const char *what, const char *path,
			      struct err *err);
void boot_file_close(struct boot_file *f);
/* Read exactly len bytes at off; -EINVAL if the file is shorter (message names the file). */
MUST_CHECK int boot_file_read(struct boot_file *f, u64 off, void *buf, size_t len, struct err *err);
/* Copy len bytes at file offset off to guest gpa (already claimed). */
MUST_CHECK int boot_file_load(struct boot_file *f, u64 off, u64 len, struct gmem *mem, u64 gpa,
			      struct err *err);
/* Zero [gpa, gpa+len) of guest memory. */
MUST_CHECK int boot_zero(struct gmem *mem, u64 gpa, u64 len);

#define BOOT_MAX_CLAIMS 48

/* The guest ranges in use: every claim must be e820 RAM and must not overlap another. */
struct boot_layout {
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned nr_map;

	struct {
		u64 start, end;
		const char *name;
	} claims[BOOT_MAX_CLAIMS];

	unsigned nr_claims;
};

MUST_CHECK int boot_layout_init(struct boot_layout *l, const struct gmem *mem, struct err *err);
/* Claim [gpa, gpa+len) for name; -EINVAL with a message naming both parties on a conflict. */
MUST_CHECK int boot_layout_claim(struct boot_layout *l, u64 gpa, u64 len, const char *name,
				 struct err *err);
/* Would the claim succeed? (no message) */
bool boot_layout_fits(const struct boot_layout *l, u64 gpa, u64 len);
/* End of the usable RAM entry containing gpa, or 0 if gpa is not in usable RAM. */
u64 boot_layout_ram_end(const struct boot_layout *l, u64 gpa);

/* Set what every loader defines (see boot_cpu_reset) to the RESET values; keep the rest. */
void boot_cpu_prepare(struct cpu_state *cpu);

/* Segment caches in KVM's unpacked form. */
void boot_seg_flat(struct cpu_segment *s, u16 selector, bool code, bool long_mode);
void boot_seg_real(struct cpu_segment *s, u16 selector, bool code);
/* The packed 8-byte GDT descriptor matching a cached segment (SDM vol. 3A figure 3-8). */
u64 boot_seg_descriptor(const struct cpu_segment *s);

static inline void boot_put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void boot_put32(u8 *p, u32 v)
{
	boot_put16(p, (u16)v);
	boot_put16(p + 2, (u16)(v >> 16));
}

static inline void boot_put64(u8 *p, u64 v)
{
	boot_put32(p, (u32)v);
	boot_put32(p + 4, (u32)(v >> 32));
}

static inline u16 boot_get16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 boot_get32(const u8 *p)
{
	return (u32)boot_get16(p) | (u32)boot_get16(p + 2) << 16;
}

static inline u64 boot_get64(const u8 *p)
{
	return (u64)boot_get32(p) | (u64)boot_get32(p + 4) << 32;
}

/*
 * Decompress a bzImage's payload (payload_off/len from the setup header, relative to the
 * protected-mode kernel at file offset pm_offset) on the host and place the vmlinux's
 * PT_LOAD segments, which must lie in [lo, hi). *entry: the kernel's startup_64. -ENOTSUP
 * for a payload format it does not know (linux_unpack.c).
 */
MUST_CHECK int linux_unpack(struct boot_file *f, u64 pm_offset, u32 payload_off, u32 payload_len,
			    struct gmem *mem, u64 lo, u64 hi, u64 *entry, struct err *err);

#endif
