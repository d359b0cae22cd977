// SPDX-License-Identifier: MIT
/*
 * Guest RAM regions and the bounds-checked accessors every device and loader
 * uses (docs/conventions.md section 11). A PC layout puts RAM below the
 * 32-bit PCI hole at 3 GiB (or lower, for a board that needs more room there) and the
 * remainder above 4 GiB. Each region is an anonymous private mapping (MAP_NORESERVE:
 * untouched guest RAM costs no host memory). ROM regions (firmware) are readable only.
 */
#include "vmm/gmem.h"

#include "vmm/base/compiler.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static int gmem_add_region(struct gmem *mem, u64 gpa, u64 len, void *hva, bool rom)
{
	if (mem->nr == GMEM_MAX_REGIONS)
		return -ENOSPC;
	if (!len || gpa + len < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];

		if (gpa < r->gpa + r->len && r->gpa < gpa + len)
			return -EBUSY;
	}
	mem->regions[mem->nr].gpa = gpa;
	mem->regions[mem->nr].len = len;
	mem->regions[mem->nr].hva = hva;
	mem->regions[mem->nr].rom = rom;
	mem->nr++;
	if (!rom)
		mem->ram_bytes += len;
	return 0;
}

int gmem_add(struct gmem *mem, u64 gpa, u64 len, void *hva)
{
	return gmem_add_region(mem, gpa, len, hva, false);
}

int gmem_add_rom(struct gmem *mem, u64 gpa, u64 len, void *hva)
{
	return gmem_add_region(mem, gpa, len, hva, true);
}

const struct gmem_region *gmem_region_at(const struct gmem *mem, u64 gpa)
{
	for (unsigned i = 0; i < mem->nr; i++)
		if (mem->regions[i].gpa == gpa)
			return &mem->regions[i];
	return NULL;
}

static int gmem_map_region(struct gmem *mem, u64 gpa, u64 len)
{
	void *hva = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int ret;

	if (hva == MAP_FAILED)
		return -errno;
	madvise(hva, len, MADV_MERGEABLE);
	ret = gmem_add(mem, gpa, len, hva);
	if (ret < 0)
		munmap(hva, len);
	return ret;
}

int gmem_init_pc(struct gmem *mem, u64 ram_bytes)
{
	return gmem_init_pc_hole(mem, ram_bytes, GMEM_PCI_HOLE_START);
}

int gmem_init_pc_hole(struct gmem *mem, u64 ram_bytes, u64 low_max)
{
	u64 low = ram_bytes < low_max ? ram_bytes : low_max;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (!ram_bytes || (ram_bytes & 0xfff) || !low_max || low_max > GMEM_PCI_HOLE_START ||
	    (low_max & 0xfff))
		return -EINVAL;
	ret = gmem_map_region(mem, 0, low);
	if (ret < 0)
		return ret;
	if (ram_bytes > low) {
		ret = gmem_map_region(mem, GMEM_HIGH_START, ram_bytes - low);
		if (ret < 0) {
			gmem_destroy(mem);
			return ret;
		}
	}
	return 0;
}

int gmem_hole(struct gmem *mem, u64 gpa, u64 len)
{
	if (!len || ((gpa | len) & 0xfff) || gpa + len < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < mem->nr; i++) {
		struct gmem_region *r = &mem->regions[i];
		u64 end = r->gpa + r->len;

		if (gpa < r->gpa || gpa >= end)
			continue;
		if (gpa == r->gpa || gpa + len >= end)
			return -EINVAL;
		if (mem->nr == GMEM_MAX_REGIONS)
			return -ENOSPC;
		munmap((char *)r->hva + (gpa - r->gpa), len);
		mem->regions[mem->nr++] =
			(struct gmem_region){ .gpa = gpa + len,
					      .len = end - gpa - len,
					      .hva = (char *)r->hva + (gpa + len - r->gpa) };
		r->len = gpa - r->gpa;
		mem->ram_bytes -= len;
		return 0;
	}
	return -EINVAL;
}

void gmem_keep_mapped(struct gmem *mem)
{
	mem->keep_mapped = true;
}

void gmem_destroy(struct gmem *mem)
{
	for (unsigned i = 0; i < mem->nr && !mem->keep_mapped; i++)
		munmap(mem->regions[i].hva, mem->regions[i].len);
	if (mem->keep_mapped && mem->nr)
		log_warn("guest RAM stays mapped until exit: a device's DMA may still be running");
	mem->nr = 0;
	mem->ram_bytes = 0;
}

static const struct gmem_region *gmem_find(const struct gmem *mem, u64 gpa)
{
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->len)
			return r;
	}
	return NULL;
}

bool gmem_is_ram(const struct gmem *mem, u64 gpa)
{
	return gmem_find(mem, gpa) != NULL;
}

void *gmem_ptr(const struct gmem *mem, u64 gpa, size_t len)
{
	const struct gmem_region *r = gmem_find(mem, gpa);

	if (!r || r->rom || len > r->len - (gpa - r->gpa))
		return NULL;
	return (char *)r->hva + (gpa - r->gpa);
}

/* Walk [gpa, gpa+len) region by region; each piece must be RAM. */
static int gmem_copy(const struct gmem *mem, u64 gpa, void *buf, size_t len, bool write)
{
	char *p = buf;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct gmem_region *r = gmem_find(mem, gpa);
		size_t n;
		char *hva;

		if (!r)
			return -EFAULT;
		n = (size_t)MIN((u64)len, r->len - (gpa - r->gpa));
		hva = (char *)r->hva + (gpa - r->gpa);
		if (write)
			memcpy(hva, p, n);
		else
			memcpy(p, hva, n);
		p += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int gmem_read(const struct gmem *mem, u64 gpa, void *buf, size_t len)
{
	/* Check the whole range first so a failed read leaves buf untouched. */
	for (u64 a = gpa, end = gpa + len; a < end;) {
		const struct gmem_region *r = gmem_find(mem, a);

		if (!r || end < gpa)
			return -EFAULT;
		a = r->gpa + r->len;
	}
	return gmem_copy(mem, gpa, buf, len, false);
}

int gmem_write(const struct gmem *mem, u64 gpa, const void *buf, size_t len)
{
	int ret;

	for (u64 a = gpa, end = gpa + len; a < end;) {
		const struct gmem_region *r = gmem_find(mem, a);

		if (!r || r->rom || end < gpa)
			return -EFAULT;
		a = r->gpa + r->len;
	}
	ret = gmem_copy(mem, gpa, (void *)buf, len, true);
	if (!ret && len && mem->on_write)
		mem->on_write(mem->on_write_opaque, gpa, len);
	return ret;
}

void gmem_written(const struct gmem *mem, const void *hva, size_t len)
{
	const u8 *p = hva;

	if (!mem->on_write || !len)
		return;
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];
		const u8 *base = r->hva;

		if (p >= base && p < base + r->len) {
			mem->on_write(mem->on_write_opaque, r->gpa + (u64)(p - base),
				      MIN((u64)len, r->len - (u64)(p - base)));
			return;
		}
	}
}
