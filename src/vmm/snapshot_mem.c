// SPDX-License-Identifier: MIT
/*
 * Guest RAM pages for snapshots and migration (snapshot.h): which pages were ever touched, and
 * whether a page is zero.
 *
 * Touched pages come from /proc/self/pagemap (the kernel's Documentation/admin-guide/mm/
 * pagemap.rst): one 64-bit entry per virtual page, bit 63 "present in RAM", bit 62 "swapped".
 * A page of an anonymous private mapping that is neither was never written (or was dropped
 * with MADV_DONTNEED) and reads as zeros, so a 4 GiB guest that touched 100 MiB costs a scan of
 * 8 MiB of pagemap entries, not of its RAM. An unprivileged process reads its own flags (the
 * page frame numbers read as zero, which is all the same here).
 */
#include "vmm/snapshot.h"

#include "vmm/base/log.h"
#include "vmm/gmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SNAPSHOT_PM_PRESENT (1ull << 63)
#define SNAPSHOT_PM_SWAPPED (1ull << 62)
#define SNAPSHOT_PM_BATCH   4096 /* entries read at once: 16 MiB of RAM */

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static void snapshot_bit_set(unsigned long *map, u64 i)
{
	map[i / BITS_PER_LONG] |= 1ul << (i % BITS_PER_LONG);
}

int snapshot_mem_touched(const void *hva, u64 len, unsigned long *bitmap)
{
	u64 pages = len / SNAPSHOT_PAGE, first = (u64)(uintptr_t)hva / SNAPSHOT_PAGE;
	u64 *ent;
	int fd;

	memset(bitmap, 0, (pages + BITS_PER_LONG - 1) / BITS_PER_LONG * sizeof(unsigned long));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ent = fd >= 0 ? malloc(SNAPSHOT_PM_BATCH * sizeof(*ent)) : NULL;
	for (u64 p = 0; p < pages && ent;) {
		u64 n = MIN((u64)SNAPSHOT_PM_BATCH, pages - p);
		ssize_t got = pread(fd, ent, n * sizeof(*ent), (off_t)((first + p) * sizeof(*ent)));

		if (got <= 0 || got % sizeof(*ent))
			break;
		n = (u64)got / sizeof(*ent);
		for (u64 i = 0; i < n; i++)
			if (ent[i] & (SNAPSHOT_PM_PRESENT | SNAPSHOT_PM_SWAPPED))
				snapshot_bit_set(bitmap, p + i);
		p += n;
		if (p == pages) {
			free(ent);
			close(fd);
			return 0;
		}
	}
	/* No pagemap (or a short read): every page may hold data. */
	if (fd >= 0)
		close(fd);
	if (!ent && fd >= 0)
		return -ENOMEM;
	free(ent);
	log_dbg(LOG_CAT_DEV, "snapshot: /proc/self/pagemap unreadable: every page is examined");
	for (u64 p = 0; p < pages; p++)
		snapshot_bit_set(bitmap, p);
	return 0;
}

bool snapshot_page_is_zero(const void *p)
{
	const u64 *w = p;

	for (unsigned i = 0; i < SNAPSHOT_PAGE / sizeof(u64); i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	return true;
}

void snapshot_mem_zero_range(void *hva, u64 len)
{
	/* Anonymous private memory: the pages go, and read as zeros (madvise(2)). */
	if (((uintptr_t)hva | len) % SNAPSHOT_PAGE || madvise(hva, len, MADV_DONTNEED) < 0)
		memset(hva, 0, len);
}

void snapshot_mem_zero(struct gmem *mem)
{
	for (unsigned i = 0; i < mem->nr; i++)
		snapshot_mem_zero_range(mem->regions[i].hva, mem->regions[i].len);
}
