// SPDX-License-Identifier: MIT
/*
 * The hosted sparse extent: header, grain directory (GD), redundant grain directory (rGD),
 * grain tables (GT), allocation on write, the unclean-shutdown flag, check and repair.
 *
 * Spec: VMware "Virtual Disk Format 1.1" section 4 "Hosted Sparse Extents" (header layout,
 * GD/GT, numGTEsPerGT = 512, redundant GD, overHead, uncleanShutdown, the newline-detection
 * bytes), "Virtual Disk Format 5.0" (GTE 1 = zeroed grain when flags bit 2 is set, version 2).
 * Layout of new files follows what qemu-img 7.2 writes (research/platform.md 1.3): header,
 * 20-sector descriptor, rGD at sector 21, rGTs, GD, GTs, all tables preallocated.
 *
 * Crash safety (kill -9 at any moment leaves old or new grain contents): a grain is written
 * in full at the end of the file before any table entry names it; the redundant GT entry is
 * written before the primary one; a new GT is written before the GD entry pointing to it.
 * A crash can thus only leak space at the end of the file or leave the two copies disagreeing
 * in the direction "one copy still says unallocated", which open and check reconcile.
 * Not implemented: COWD (vmfsSparse) and seSparse extents.
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPARSE_GT_BYTES(sp)   ((size_t)(sp)->h.gtes_per_gt * 4u)
#define SPARSE_GT_SECTORS(sp) (SPARSE_GT_BYTES(sp) / VMDK_SECTOR)

int vmdk_pread_full(int fd, void *buf, size_t len, u64 off)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n, len -= (size_t)n, off += (u64)n;
	}
	return 0;
}

int vmdk_pwrite_full(int fd, const void *buf, size_t len, u64 off)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n, len -= (size_t)n, off += (u64)n;
	}
	return 0;
}

int vmdk_sparse_parse_header(const u8 *b, u64 file_size, struct vmdk_sparse_hdr *h,
			     const char *name, struct err *err)
{
	u64 file_sectors = file_size / VMDK_SECTOR, gd_entries, gd_sectors;

	if (vmdk_le32(b) != VMDK_MAGIC)
		return err_set(err, -EINVAL, "%s: bad sparse extent magic", name);
	h->version = vmdk_le32(b + 4);
	h->flags = vmdk_le32(b + 8);
	h->capacity = vmdk_le64(b + 12);
	h->grain_size = vmdk_le64(b + 20);
	h->desc_offset = vmdk_le64(b + 28);
	h->desc_size = vmdk_le64(b + 36);
	h->gtes_per_gt = vmdk_le32(b + 44);
	h->rgd_offset = vmdk_le64(b + 48);
	h->gd_offset = vmdk_le64(b + 56);
	h->overhead = vmdk_le64(b + 64);
	h->unclean = b[72];
	h->compress_alg = (u16)(b[77] | b[78] << 8);

	if (h->version < 1 || h->version > 3)
		return err_set(err, -ENOTSUP, "%s: unsupported VMDK version %u", name, h->version);
	if ((h->flags & VMDK_FLAG_NL_TEST) && memcmp(b + 73, "\n \r\n", 4))
		return err_set(
			err, -EINVAL,
			"%s: newline-detection bytes altered (file transferred in text mode?)",
			name);
	if (h->grain_size < 8 || h->grain_size > VMDK_MAX_GRAIN_SECTORS ||
	    (h->grain_size & (h->grain_size - 1)))
		return err_set(err, -EINVAL, "%s: invalid grain size %llu sectors", name,
			       (unsigned long long)h->grain_size);
	if (h->gtes_per_gt != 512)
		return err_set(err, -EINVAL, "%s: unsupported numGTEsPerGT %u (must be 512)", name,
			       h->gtes_per_gt);
	if (h->capacity > VMDK_MAX_EXTENT_SECTORS)
		return err_set(err, -EFBIG, "%s: capacity %llu sectors exceeds the 2 TiB limit",
			       name, (unsigned long long)h->capacity);
	/* Both table copies fully loaded must stay bounded (2 TiB at 64 KiB grains = 128 MiB). */
	if ((h->capacity / h->grain_size) * 4 * 2 > (512ull << 20))
		return err_set(
			err, -EFBIG,
			"%s: grain tables for %llu sectors in %llu-sector grains exceed 512 MiB",
			name, (unsigned long long)h->capacity, (unsigned long long)h->grain_size);
	if ((h->flags & VMDK_FLAG_COMPRESS) && h->compress_alg != 1)
		return err_set(err, -ENOTSUP, "%s: unsupported compression algorithm %u", name,
			       h->compress_alg);
	if (h->desc_offset && (h->desc_size > 2048 || h->desc_offset + h->desc_size > file_sectors))
		return err_set(err, -EINVAL, "%s: descriptor lies outside the file", name);
	gd_entries = (h->capacity + h->grain_size * 512 - 1) / (h->grain_size * 512);
	gd_sectors = (gd_entries * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	if (h->gd_offset != VMDK_GD_AT_END &&
	    (h->gd_offset < 1 || h->gd_offset + gd_sectors > file_sectors))
		return err_set(err, -EINVAL, "%s: grain directory lies outside the file", name);
	if ((h->flags & VMDK_FLAG_RGD) && h->gd_offset != VMDK_GD_AT_END &&
	    (h->rgd_offset < 1 || h->rgd_offset + gd_sectors > file_sectors))
		return err_set(err, -EINVAL, "%s: redundant grain directory lies outside the file",
			       name);
	if (h->overhead > file_sectors && h->gd_offset != VMDK_GD_AT_END)
		return err_set(err, -EINVAL, "%s: overHead past the end of the file", name);
	return 0;
}

void vmdk_sparse_encode_header(const struct vmdk_sparse_hdr *h, u8 *b)
{
	memset(b, 0, VMDK_SECTOR);
	vmdk_put32(b, VMDK_MAGIC);
	vmdk_put32(b + 4, h->version);
	vmdk_put32(b + 8, h->flags);
	vmdk_put64(b + 12, h->capacity);
	vmdk_put64(b + 20, h->grain_size);
	vmdk_put64(b + 28, h->desc_offset);
	vmdk_put64(b + 36, h->desc_size);
	vmdk_put32(b + 44, h->gtes_per_gt);
	vmdk_put64(b + 48, h->rgd_offset);
	vmdk_put64(b + 56, h->gd_offset);
	vmdk_put64(b + 64, h->overhead);
	b[72] = h->unclean;
	memcpy(b + 73, "\n \r\n", 4);
	b[77] = (u8)h->compress_alg;
	b[78] = (u8)(h->compress_alg >> 8);
}

/* A GT may not overlap the header or the embedded descriptor and must lie inside the file. */
static bool sparse_gt_ok(const struct vmdk_sparse *sp, u32 sector)
{
	u64 meta_end = sp->h.desc_offset ? sp->h.desc_offset + sp->h.desc_size : 1;

	if (sector == 0)
		return true;
	return sector >= meta_end &&
	       ((u64)sector + SPARSE_GT_SECTORS(sp)) * VMDK_SECTOR <= sp->file_size;
}

static int sparse_load_gd(struct vmdk_sparse *sp, u64 off_sectors, u32 **out)
{
	size_t bytes = sp->gd_entries * 4;
	u8 *raw = malloc(bytes ? bytes : 1);
	u32 *gd = calloc(sp->gd_entries ? sp->gd_entries : 1, sizeof(u32));
	int ret = -ENOMEM;

	if (!raw || !gd)
		goto err_free;
	ret = vmdk_pread_full(sp->fd, raw, bytes, off_sectors * VMDK_SECTOR);
	if (ret < 0)
		goto err_free;
	for (u64 i = 0; i < sp->gd_entries; i++)
		gd[i] = vmdk_le32(raw + 4 * i);
	free(raw);
	*out = gd;
	return 0;

err_free:
	free(raw);
	free(gd);
	return ret;
}

/* Stream files written by VMware keep the live header in the footer at EOF-1024. */
static int sparse_read_footer(struct vmdk_sparse *sp, struct err *err)
{
	u8 b[3 * VMDK_SECTOR];
	int ret;

	if (sp->file_size < 4 * VMDK_SECTOR)
		return err_set(err, -EINVAL, "%s: stream file too short for a footer", sp->name);
	ret = vmdk_pread_full(sp->fd, b, sizeof(b), sp->file_size - sizeof(b));
	if (ret < 0)
		return err_set(err, ret, "%s: cannot read footer", sp->name);
	if (vmdk_le32(b + 8) != 0 || vmdk_le32(b + 12) != VMDK_MARKER_FOOTER)
		return err_set(err, -EINVAL, "%s: gdOffset is GD_AT_END but no footer marker",
			       sp->name);
	ret = vmdk_sparse_parse_header(b + VMDK_SECTOR, sp->file_size, &sp->h, sp->name, err);
	if (ret < 0)
		return ret;
	if (sp->h.gd_offset == VMDK_GD_AT_END)
		return err_set(err, -EINVAL, "%s: footer has no grain directory", sp->name);
	sp->hdr_is_footer = true;
	return 0;
}

int vmdk_sparse_open(int fd, const char *name, bool readonly, struct vmdk_sparse **out,
		     struct err *err)
{
	struct vmdk_sparse *sp = calloc(1, sizeof(*sp));
	u8 b[VMDK_SECTOR];
	struct stat st;
	int ret;

	if (!sp)
		return err_set(err, -ENOMEM, "out of memory");
	sp->fd = fd;
	sp->dfd = -1;
	sp->name = name;
	sp->readonly = readonly;
	sp->zbuf_grain = ~0ull;
	if (fstat(fd, &st) < 0) {
		ret = err_set(err, -errno, "%s: stat failed", name);
		goto err_free;
	}
	sp->file_size = (u64)st.st_size;
	if (sp->file_size < VMDK_SECTOR) {
		ret = err_set(err, -EINVAL, "%s: truncated sparse extent (no header)", name);
		goto err_free;
	}
	ret = vmdk_pread_full(fd, b, sizeof(b), 0);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot read header", name);
		goto err_free;
	}
	ret = vmdk_sparse_parse_header(b, sp->file_size, &sp->h, name, err);
	if (ret < 0)
		goto err_free;
	sp->compressed = sp->h.flags & VMDK_FLAG_COMPRESS;
	if (sp->h.gd_offset == VMDK_GD_AT_END) {
		if (!sp->compressed) {
			ret = err_set(err, -EINVAL, "%s: GD_AT_END without compressed grains",
				      name);
			goto err_free;
		}
		ret = sparse_read_footer(sp, err);
		if (ret < 0)
			goto err_free;
	}
	if (sp->compressed && !readonly) {
		ret = err_set(err, -EROFS,
			      "%s: streamOptimized images can only be opened read-only "
			      "(convert them to write)",
			      name);
		goto err_free;
	}
	sp->gd_entries = (sp->h.capacity + sp->h.grain_size * 512 - 1) / (sp->h.grain_size * 512);
	ret = sparse_load_gd(sp, sp->h.gd_offset, &sp->gd);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot read grain directory", name);
		goto err_free;
	}
	if ((sp->h.flags & VMDK_FLAG_RGD) && sp->h.rgd_offset && !sp->hdr_is_footer) {
		ret = sparse_load_gd(sp, sp->h.rgd_offset, &sp->rgd);
		if (ret < 0) {
			err_set(err, ret, "%s: cannot read redundant grain directory", name);
			goto err_free;
		}
	}
	for (u64 i = 0; i < sp->gd_entries; i++) {
		bool ok = sparse_gt_ok(sp, sp->gd[i]);
		bool rok = sp->rgd && sparse_gt_ok(sp, sp->rgd[i]);

		if (sp->rgd && !rok) {
			ret = err_set(err, -EINVAL,
				      "%s: redundant grain directory entry %llu is invalid", name,
				      (unsigned long long)i);
			goto err_free;
		}
		if (!ok && !rok) {
			ret = err_set(err, -EINVAL,
				      "%s: grain directory entry %llu points outside the file",
				      name, (unsigned long long)i);
			goto err_free;
		}
	}
	sp->gt = calloc(sp->gd_entries ? sp->gd_entries : 1, sizeof(u32 *));
	sp->rgt = calloc(sp->gd_entries ? sp->gd_entries : 1, sizeof(u32 *));
	if (!sp->gt || !sp->rgt) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	sp->next_alloc = ALIGN_UP(sp->file_size, (u64)VMDK_SECTOR);
	*out = sp;
	return 0;

err_free:
	vmdk_sparse_close(sp);
	return ret;
}

void vmdk_sparse_close(struct vmdk_sparse *sp)
{
	if (!sp)
		return;
	for (u64 i = 0; sp->gt && i < sp->gd_entries; i++)
		free(sp->gt[i]);
	for (u64 i = 0; sp->rgt && i < sp->gd_entries; i++)
		free(sp->rgt[i]);
	free(sp->gt);
	free(sp->rgt);
	free(sp->gd);
	free(sp->rgd);
	free(sp->zbuf);
	free(sp->cbuf);
	if (sp->dfd >= 0)
		close(sp->dfd);
	free(sp);
}

int vmdk_sparse_read_desc(struct vmdk_sparse *sp, char **out, size_t *len, struct err *err)
{
	size_t n = sp->h.desc_size * VMDK_SECTOR;
	char *buf;
	int ret;

	if (!sp->h.desc_offset || !sp->h.desc_size)
		return -ENOENT;
	buf = malloc(n + 1);
	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vmdk_pread_full(sp->fd, buf, n, sp->h.desc_offset * VMDK_SECTOR);
	if (ret < 0) {
		free(buf);
		return err_set(err, ret, "%s: cannot read embedded descriptor", sp->name);
	}
	buf[n] = 0;
	*out = buf;
	*len = strlen(buf);
	return 0;
}

int vmdk_sparse_write_desc(struct vmdk_sparse *sp, const char *text, size_t len)
{
	size_t n = sp->h.desc_size * VMDK_SECTOR;
	char *buf;
	int ret;

	if (!sp->h.desc_offset || len >= n)
		return -ENOSPC;
	buf = calloc(1, n);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	ret = vmdk_pwrite_full(sp->fd, buf, n, sp->h.desc_offset * VMDK_SECTOR);
	free(buf);
	return ret;
}

static int sparse_load_gt(struct vmdk_sparse *sp, u32 sector, u32 **out)
{
	size_t bytes = SPARSE_GT_BYTES(sp);
	u32 *gt = calloc(sp->h.gtes_per_gt, sizeof(u32));
	u8 *raw;
	int ret;

	if (!gt)
		return -ENOMEM;
	if (!sector) {
		*out = gt;
		return 0;
	}
	raw = malloc(bytes);
	if (!raw) {
		free(gt);
		return -ENOMEM;
	}
	ret = vmdk_pread_full(sp->fd, raw, bytes, (u64)sector * VMDK_SECTOR);
	for (u32 i = 0; !ret && i < sp->h.gtes_per_gt; i++)
		gt[i] = vmdk_le32(raw + 4 * i);
	free(raw);
	if (ret < 0) {
		free(gt);
		return ret;
	}
	*out = gt;
	return 0;
}

static int sparse_ensure_gt(struct vmdk_sparse *sp, u64 gdi)
{
	int ret;

	if (!sp->gt[gdi]) {
		u32 s = sparse_gt_ok(sp, sp->gd[gdi]) ? sp->gd[gdi] : sp->rgd[gdi];

		ret = sparse_load_gt(sp, s, &sp->gt[gdi]);
		if (ret < 0)
			return ret;
	}
	if (sp->rgd && !sp->rgt[gdi]) {
		ret = sparse_load_gt(sp, sp->rgd[gdi], &sp->rgt[gdi]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Is this GTE usable for reading? */
static bool sparse_gte_ok(const struct vmdk_sparse *sp, u32 gte)
{
	u64 off = (u64)gte * VMDK_SECTOR;

	if (gte == 0)
		return true;
	if (gte == VMDK_GTE_ZERO)
		return (sp->h.flags & VMDK_FLAG_ZERO_GTE) != 0;
	if (sp->compressed)
		return gte > sp->h.desc_offset && off + 12 <= sp->file_size;
	return gte >= sp->h.overhead && off + sp->h.grain_size * VMDK_SECTOR <= sp->file_size;
}

int vmdk_sparse_lookup(struct vmdk_sparse *sp, u64 grain, u32 *gte)
{
	u64 gdi = grain / sp->h.gtes_per_gt;
	u32 gti = (u32)(grain % sp->h.gtes_per_gt), v;
	int ret;

	if (gdi >= sp->gd_entries)
		return -EIO;
	ret = sparse_ensure_gt(sp, gdi);
	if (ret < 0)
		return ret;
	v = sp->gt[gdi][gti];
	if (!sparse_gte_ok(sp, v) || (v == 0 && sp->rgt[gdi] && sp->rgt[gdi][gti])) {
		/* Primary unusable or behind the redundant copy (crash between the two writes):
		 * the redundant entry was written second-to-last and names complete data. */
		if (sp->rgt[gdi] && sparse_gte_ok(sp, sp->rgt[gdi][gti]))
			v = sp->rgt[gdi][gti];
	}
	if (!sparse_gte_ok(sp, v)) {
		log_guest("%s: grain %llu has an invalid table entry %#x", sp->name,
			  (unsigned long long)grain, v);
		return -EIO;
	}
	*gte = v;
	return 0;
}

static int sparse_put_entry(struct vmdk_sparse *sp, u64 table_sector, u32 idx, u32 val)
{
	u8 b[4];

	vmdk_put32(b, val);
	return vmdk_pwrite_full(sp->fd, b, 4, table_sector * VMDK_SECTOR + 4ull * idx);
}

/* Write a fresh table (all zero but entry idx) at the end of the file; returns its sector. */
static int sparse_new_gt(struct vmdk_sparse *sp, u32 *gt, u32 *sector)
{
	size_t bytes = SPARSE_GT_BYTES(sp);
	u8 *raw = calloc(1, bytes);
	u64 off = sp->next_alloc;
	int ret;

	if (!raw)
		return -ENOMEM;
	if (off / VMDK_SECTOR + bytes / VMDK_SECTOR > 0xffffffffull) {
		free(raw);
		return -EFBIG;
	}
	for (u32 i = 0; i < sp->h.gtes_per_gt; i++)
		vmdk_put32(raw + 4 * i, gt[i]);
	ret = vmdk_pwrite_full(sp->fd, raw, bytes, off);
	free(raw);
	if (ret < 0)
		return ret;
	sp->next_alloc += bytes;
	sp->file_size = MAX(sp->file_size, sp->next_alloc);
	*sector = (u32)(off / VMDK_SECTOR);
	return 0;
}

/* Write n consecutive table entries (a run of new grains) of one table. */
static int sparse_put_entries(struct vmdk_sparse *sp, u64 table_sector, u32 idx, u32 first, u32 n,
			      u64 gsectors)
{
	u8 b[2048];

	for (u32 i = 0; i < n; i++)
		vmdk_put32(b + 4 * i, first + (u32)(i * gsectors));
	return vmdk_pwrite_full(sp->fd, b, 4ull * n, table_sector * VMDK_SECTOR + 4ull * idx);
}

/* Point entries [gti, gti+n) of table gdi at the grains starting at sector first, creating the
 * table (then the directory entry) when the directory has none. */
static int sparse_link(struct vmdk_sparse *sp, u32 *gd, u32 **gt, u64 gd_offset, u64 gdi, u32 gti,
		       u32 n, u32 first)
{
	u64 gsec = sp->h.grain_size;
	u32 s;
	int ret;

	for (u32 i = 0; i < n; i++)
		gt[gdi][gti + i] = first + (u32)(i * gsec);
	if (gd[gdi] && sparse_gt_ok(sp, gd[gdi]))
		return sparse_put_entries(sp, gd[gdi], gti, first, n, gsec);
	ret = sparse_new_gt(sp, gt[gdi], &s);
	if (!ret)
		ret = sparse_put_entry(sp, gd_offset, (u32)gdi, s);
	if (!ret)
		gd[gdi] = s;
	return ret;
}

int vmdk_sparse_alloc_write(struct vmdk_sparse *sp, u64 grain, u32 n, const void *buf, bool sync)
{
	u64 gdi = grain / sp->h.gtes_per_gt, gbytes = sp->h.grain_size * VMDK_SECTOR;
	u32 gti = (u32)(grain % sp->h.gtes_per_gt), first;
	u64 off = sp->next_alloc;
	int ret;

	if (sp->readonly || sp->compressed)
		return -EROFS;
	if (gdi >= sp->gd_entries || !n || gti + n > sp->h.gtes_per_gt)
		return -EINVAL;
	if ((off + n * gbytes) / VMDK_SECTOR > 0xffffffffull)
		return -EFBIG;
	ret = sparse_ensure_gt(sp, gdi);
	if (ret < 0)
		return ret;
	/* 1. the data, all of it, at the end of the file (O_DIRECT when aligned) */
	if (sp->dfd >= 0 && !(off % 4096) && !((uintptr_t)buf % 4096) && !(gbytes % 4096))
		ret = vmdk_pwrite_full(sp->dfd, buf, n * gbytes, off);
	else
		ret = vmdk_pwrite_full(sp->fd, buf, n * gbytes, off);
	if (ret < 0)
		return ret;
	sp->next_alloc += n * gbytes;
	sp->file_size = MAX(sp->file_size, sp->next_alloc);
	if (sync && fdatasync(sp->fd) < 0)
		return -errno;
	first = (u32)(off / VMDK_SECTOR);
	/* 2. the redundant table entries, then the primary ones */
	if (sp->rgd) {
		ret = sparse_link(sp, sp->rgd, sp->rgt, sp->h.rgd_offset, gdi, gti, n, first);
		if (ret < 0)
			return ret;
	}
	ret = sparse_link(sp, sp->gd, sp->gt, sp->h.gd_offset, gdi, gti, n, first);
	if (!ret && sync && fdatasync(sp->fd) < 0)
		ret = -errno;
	return ret;
}

int vmdk_sparse_set_unclean(struct vmdk_sparse *sp, bool unclean)
{
	u8 v = unclean ? 1 : 0;
	int ret;

	if (sp->readonly || sp->hdr_is_footer)
		return 0;
	ret = vmdk_pwrite_full(sp->fd, &v, 1, 72);
	if (ret < 0)
		return ret;
	sp->h.unclean = v;
	return fdatasync(sp->fd) < 0 ? -errno : 0;
}

int vmdk_sparse_create(int fd, u64 capacity, bool zeroed_grain, const char *desc, struct err *err)
{
	struct vmdk_sparse_hdr h = { 0 };
	u64 gd_entries, gd_sectors, rgt, gt, i;
	size_t dlen = strlen(desc);
	u8 *buf;
	size_t gdbytes;
	int ret;

	if (capacity > VMDK_MAX_EXTENT_SECTORS)
		return err_set(err, -EFBIG, "extent larger than 2 TiB");
	if (dlen >= VMDK_DESC_SECTORS * VMDK_SECTOR)
		return err_set(err, -ENOSPC, "descriptor too long");
	h.version = zeroed_grain ? 2 : 1;
	h.flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_RGD | (zeroed_grain ? VMDK_FLAG_ZERO_GTE : 0);
	h.capacity = capacity;
	h.grain_size = 128;
	h.desc_offset = 1;
	h.desc_size = VMDK_DESC_SECTORS;
	h.gtes_per_gt = 512;
	gd_entries = (capacity + 128 * 512 - 1) / (128 * 512);
	gd_sectors = (gd_entries * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	h.rgd_offset = 1 + VMDK_DESC_SECTORS;
	rgt = h.rgd_offset + gd_sectors;
	h.gd_offset = rgt + gd_entries * 4;
	gt = h.gd_offset + gd_sectors;
	h.overhead = ALIGN_UP(gt + gd_entries * 4, 128ull);

	gdbytes = gd_sectors * VMDK_SECTOR;
	buf = calloc(1, MAX(gdbytes, (size_t)(1 + VMDK_DESC_SECTORS) * VMDK_SECTOR));
	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	vmdk_sparse_encode_header(&h, buf);
	memcpy(buf + VMDK_SECTOR, desc, dlen);
	ret = vmdk_pwrite_full(fd, buf, (1 + VMDK_DESC_SECTORS) * VMDK_SECTOR, 0);
	for (int copy = 0; copy < 2 && !ret; copy++) {
		u64 first = copy ? gt : rgt;

		memset(buf, 0, gdbytes);
		for (i = 0; i < gd_entries; i++)
			vmdk_put32(buf + 4 * i, (u32)(first + 4 * i));
		ret = vmdk_pwrite_full(fd, buf, gdbytes,
				       (copy ? h.gd_offset : h.rgd_offset) * VMDK_SECTOR);
	}
	free(buf);
	if (!ret && ftruncate(fd, (off_t)(h.overhead * VMDK_SECTOR)) < 0)
		ret = -errno;
	if (ret < 0)
		return err_set(err, ret, "cannot write sparse extent");
	return 0;
}

/* ---- check and repair ------------------------------------------------------------------ */

struct sparse_region {
	u64 start, end; /* bytes */
	u8 is_grain;
};

struct sparse_regions {
	struct sparse_region *r;
	size_t n, cap;
};

static int sparse_region_add(struct sparse_regions *rs, u64 start, u64 len, bool grain)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		struct sparse_region *r = realloc(rs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct sparse_region){ start, start + len, grain };
	return 0;
}

static int sparse_region_cmp(const void *a, const void *b)
{
	const struct sparse_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Bytes taken by the grain an entry names (compressed records carry their own size). */
static u64 sparse_grain_len(struct vmdk_sparse *sp, u32 gte)
{
	u8 rec[12];

	if (!sp->compressed)
		return sp->h.grain_size * VMDK_SECTOR;
	if (vmdk_pread_full(sp->fd, rec, sizeof(rec), (u64)gte * VMDK_SECTOR) < 0)
		return 0;
	return ALIGN_UP(12 + (u64)vmdk_le32(rec + 8), (u64)VMDK_SECTOR);
}

static int sparse_check_tables(struct vmdk_sparse *sp, bool repair, struct vmdk_check_result *r,
			       struct sparse_regions *rs)
{
	u64 gd_bytes = ALIGN_UP(sp->gd_entries * 4, (u64)VMDK_SECTOR);
	int ret = sparse_region_add(rs, 0, VMDK_SECTOR, false);

	if (!ret && sp->h.desc_offset)
		ret = sparse_region_add(rs, sp->h.desc_offset * VMDK_SECTOR,
					sp->h.desc_size * VMDK_SECTOR, false);
	if (!ret)
		ret = sparse_region_add(rs, sp->h.gd_offset * VMDK_SECTOR, gd_bytes, false);
	if (!ret && sp->rgd)
		ret = sparse_region_add(rs, sp->h.rgd_offset * VMDK_SECTOR, gd_bytes, false);
	for (u64 i = 0; !ret && i < sp->gd_entries; i++) {
		ret = sparse_ensure_gt(sp, i);
		if (!ret && sp->gd[i] && sparse_gt_ok(sp, sp->gd[i]))
			ret = sparse_region_add(rs, (u64)sp->gd[i] * VMDK_SECTOR,
						SPARSE_GT_BYTES(sp), false);
		if (!ret && sp->rgd && sp->rgd[i])
			ret = sparse_region_add(rs, (u64)sp->rgd[i] * VMDK_SECTOR,
						SPARSE_GT_BYTES(sp), false);
		for (u32 j = 0; !ret && j < sp->h.gtes_per_gt; j++) {
			u32 v = sp->gt[i][j], rv = sp->rgt[i] ? sp->rgt[i][j] : v, use = v;

			if (v != rv) {
				r->rgd_mismatch++;
				use = v && sparse_gte_ok(sp, v) ? v : rv;
				if (repair && sp->gd[i] && sp->rgd[i]) {
					ret = sparse_put_entry(sp, sp->rgd[i], j, use);
					if (!ret)
						ret = sparse_put_entry(sp, sp->gd[i], j, use);
					sp->gt[i][j] = sp->rgt[i][j] = use;
					r->repaired++;
				}
			}
			if (use == 0 || use == VMDK_GTE_ZERO) {
				if (use == VMDK_GTE_ZERO && !(sp->h.flags & VMDK_FLAG_ZERO_GTE))
					r->corruptions++;
				continue;
			}
			if (!sparse_gte_ok(sp, use)) {
				r->corruptions++; /* past EOF or inside the metadata */
				continue;
			}
			r->allocated_grains++;
			ret = sparse_region_add(rs, (u64)use * VMDK_SECTOR,
						sparse_grain_len(sp, use), true);
		}
	}
	return ret;
}

int vmdk_sparse_check(struct vmdk_sparse *sp, bool repair, struct vmdk_check_result *r,
		      struct err *err)
{
	struct sparse_regions rs = { 0 };
	u64 gbytes = sp->h.grain_size * VMDK_SECTOR, end, used_end;
	int ret;

	memset(r, 0, sizeof(*r));
	if (repair && sp->readonly)
		return err_set(err, -EROFS, "%s: open read-write to repair", sp->name);
	ret = sparse_check_tables(sp, repair, r, &rs);
	if (ret < 0)
		goto out;
	qsort(rs.r, rs.n, sizeof(*rs.r), sparse_region_cmp);
	/* Overlaps: shared grains, grains inside metadata. Gaps past overHead: leaks. */
	end = 0;
	used_end = sp->h.overhead * VMDK_SECTOR;
	for (size_t i = 0; i < rs.n; i++) {
		struct sparse_region *x = &rs.r[i];

		if (x->start < end && (x->is_grain || (i && rs.r[i - 1].is_grain)))
			r->corruptions++;
		else if (x->start > end && end >= sp->h.overhead * VMDK_SECTOR && !sp->compressed)
			r->leaked_clusters += (x->start - end + gbytes - 1) / gbytes;
		end = MAX(end, x->end);
		used_end = MAX(used_end, x->end);
	}
	if (sp->file_size > used_end && !sp->compressed) {
		u64 tail = sp->file_size - used_end;

		r->leaked_clusters += (tail + gbytes - 1) / gbytes;
		if (repair) {
			if (ftruncate(sp->fd, (off_t)used_end) < 0) {
				ret = err_set(err, -errno, "%s: cannot truncate leaked tail",
					      sp->name);
				goto out;
			}
			sp->file_size = used_end;
			sp->next_alloc = ALIGN_UP(used_end, (u64)VMDK_SECTOR);
			r->repaired += (tail + gbytes - 1) / gbytes;
			r->leaks_fixed = (tail + gbytes - 1) / gbytes;
		}
	}
	if (repair && fdatasync(sp->fd) < 0)
		ret = err_set(err, -errno, "%s: sync failed", sp->name);
out:
	free(rs.r);
	if (ret < 0 && (!err || !err->code))
		err_set(err, ret, "%s: check failed: %s", sp->name, strerror(-ret));
	return ret;
}
