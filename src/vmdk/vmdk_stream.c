// SPDX-License-Identifier: MIT
/*
 * streamOptimized extents: deflate-compressed grains and metadata markers.
 *
 * Spec: VMware "Virtual Disk Format 1.1" section 5 "Stream-Optimized Compressed Sparse
 * Extents": a grain record is {u64 lba (sectors); u32 size (compressed bytes); data} padded to
 * a sector; a marker is {u64 numSectors; u32 size = 0; u32 type} in one sector (EOS 0, GT 1,
 * GD 2, FOOTER 3); with gdOffset = GD_AT_END the live header is the footer at EOF-1024.
 * The data is zlib-wrapped deflate (RFC 1950), measured on qemu-img and VMware files.
 *
 * Reading accepts both layouts in the wild: VMware's (GD_AT_END + markers + footer) and qemu's
 * (GD/GTs preallocated in the header area, no markers). Writing produces VMware's layout,
 * grains strictly in increasing order, all-zero grains omitted.
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int vmdk_stream_read_grain(struct vmdk_sparse *sp, u64 grain, u32 gte)
{
	u64 gbytes = sp->h.grain_size * VMDK_SECTOR, off = (u64)gte * VMDK_SECTOR;
	size_t max_c = (size_t)compressBound((uLong)gbytes) + 12;
	uLongf out_len = (uLongf)gbytes;
	u8 rec[12];
	u32 csize;
	int ret;

	if (sp->zbuf_grain == grain)
		return 0;
	if (!sp->zbuf) {
		sp->zbuf = malloc(gbytes);
		sp->cbuf = malloc(max_c);
		sp->cbuf_size = max_c;
		if (!sp->zbuf || !sp->cbuf)
			return -ENOMEM;
	}
	ret = vmdk_pread_full(sp->fd, rec, sizeof(rec), off);
	if (ret < 0)
		return ret;
	csize = vmdk_le32(rec + 8);
	if (vmdk_le64(rec) != grain * sp->h.grain_size || csize == 0 || csize > max_c - 12 ||
	    off + 12 + csize > sp->file_size) {
		log_guest("%s: grain %llu: bad compressed grain record", sp->name,
			  (unsigned long long)grain);
		return -EIO;
	}
	ret = vmdk_pread_full(sp->fd, sp->cbuf, csize, off + 12);
	if (ret < 0)
		return ret;
	sp->zbuf_grain = ~0ull;
	if (uncompress(sp->zbuf, &out_len, sp->cbuf, csize) != Z_OK) {
		log_guest("%s: grain %llu: corrupt deflate data", sp->name,
			  (unsigned long long)grain);
		return -EIO;
	}
	memset(sp->zbuf + out_len, 0, gbytes - out_len); /* a short last grain */
	sp->zbuf_grain = grain;
	return 0;
}

struct vmdk_stream_writer {
	int fd;
	struct vmdk_sparse_hdr h;
	u64 gd_entries;
	u32 *gt; /* every GT, gd_entries * 512 entries */
	u64 pos; /* byte offset of the next record */
	u64 last_grain;
	bool any;
	u8 *cbuf;
	size_t cbuf_size;
};

int vmdk_stream_writer_open(int fd, u64 capacity, const char *desc, struct vmdk_stream_writer **out,
			    struct err *err)
{
	struct vmdk_stream_writer *w = calloc(1, sizeof(*w));
	size_t dlen = strlen(desc);
	u8 *buf;
	int ret;

	if (!w)
		return err_set(err, -ENOMEM, "out of memory");
	if (capacity > VMDK_MAX_EXTENT_SECTORS || dlen >= VMDK_DESC_SECTORS * VMDK_SECTOR) {
		free(w);
		return err_set(err, -EFBIG, "image too large for one stream-optimized extent");
	}
	w->fd = fd;
	w->h.version = 3;
	w->h.flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_COMPRESS | VMDK_FLAG_MARKERS;
	w->h.capacity = capacity;
	w->h.grain_size = 128;
	w->h.desc_offset = 1;
	w->h.desc_size = VMDK_DESC_SECTORS;
	w->h.gtes_per_gt = 512;
	w->h.gd_offset = VMDK_GD_AT_END;
	w->h.overhead = 128;
	w->h.compress_alg = 1;
	w->gd_entries = (capacity + 128 * 512 - 1) / (128 * 512);
	w->gt = calloc(w->gd_entries * 512 + 1, sizeof(u32));
	w->cbuf_size = compressBound(128 * VMDK_SECTOR) + VMDK_SECTOR * 2;
	w->cbuf = malloc(w->cbuf_size);
	buf = calloc(1, w->h.overhead * VMDK_SECTOR);
	if (!w->gt || !w->cbuf || !buf) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	vmdk_sparse_encode_header(&w->h, buf);
	memcpy(buf + VMDK_SECTOR, desc, dlen);
	ret = vmdk_pwrite_full(fd, buf, w->h.overhead * VMDK_SECTOR, 0);
	if (ret < 0) {
		err_set(err, ret, "cannot write stream header");
		goto err_free;
	}
	free(buf);
	w->pos = w->h.overhead * VMDK_SECTOR;
	*out = w;
	return 0;

err_free:
	free(buf);
	free(w->gt);
	free(w->cbuf);
	free(w);
	return ret;
}

static bool stream_all_zero(const u8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

int vmdk_stream_writer_grain(struct vmdk_stream_writer *w, u64 grain, const u8 *buf, size_t len)
{
	uLongf clen = (uLongf)(w->cbuf_size - 12);
	size_t rec;

	if (grain >= w->gd_entries * 512 || (w->any && grain <= w->last_grain) ||
	    len > 128 * VMDK_SECTOR)
		return -EINVAL;
	if (stream_all_zero(buf, len))
		return 0;
	if (compress2(w->cbuf + 12, &clen, buf, (uLong)len, Z_DEFAULT_COMPRESSION) != Z_OK)
		return -EIO;
	vmdk_put64(w->cbuf, grain * 128);
	vmdk_put32(w->cbuf + 8, (u32)clen);
	rec = ALIGN_UP(12 + (size_t)clen, (size_t)VMDK_SECTOR);
	memset(w->cbuf + 12 + clen, 0, rec - 12 - clen);
	if ((w->pos + rec) / VMDK_SECTOR > 0xffffffffull)
		return -EFBIG;
	w->gt[grain] = (u32)(w->pos / VMDK_SECTOR);
	w->last_grain = grain;
	w->any = true;
	w->pos += rec;
	return vmdk_pwrite_full(w->fd, w->cbuf, rec, w->pos - rec);
}

static int stream_marker(struct vmdk_stream_writer *w, u64 num_sectors, u32 type)
{
	u8 m[VMDK_SECTOR] = { 0 };

	vmdk_put64(m, num_sectors);
	vmdk_put32(m + 12, type);
	w->pos += VMDK_SECTOR;
	return vmdk_pwrite_full(w->fd, m, VMDK_SECTOR, w->pos - VMDK_SECTOR);
}

int vmdk_stream_writer_close(struct vmdk_stream_writer *w, struct err *err)
{
	u64 gd_sectors = (w->gd_entries * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	u8 *gd = calloc(1, gd_sectors * VMDK_SECTOR + 1);
	u8 gtb[2048], hdr[VMDK_SECTOR];
	int ret = gd ? 0 : -ENOMEM;

	for (u64 i = 0; !ret && i < w->gd_entries; i++) {
		bool used = false;

		for (u32 j = 0; j < 512; j++) {
			vmdk_put32(gtb + 4 * j, w->gt[i * 512 + j]);
			used |= w->gt[i * 512 + j] != 0;
		}
		if (!used)
			continue;
		ret = stream_marker(w, 4, VMDK_MARKER_GT);
		if (!ret) {
			vmdk_put32(gd + 4 * i, (u32)(w->pos / VMDK_SECTOR));
			w->pos += sizeof(gtb);
			ret = vmdk_pwrite_full(w->fd, gtb, sizeof(gtb), w->pos - sizeof(gtb));
		}
	}
	if (!ret)
		ret = stream_marker(w, gd_sectors, VMDK_MARKER_GD);
	if (!ret) {
		w->h.gd_offset = w->pos / VMDK_SECTOR;
		w->pos += gd_sectors * VMDK_SECTOR;
		ret = vmdk_pwrite_full(w->fd, gd, gd_sectors * VMDK_SECTOR,
				       w->pos - gd_sectors * VMDK_SECTOR);
	}
	if (!ret)
		ret = stream_marker(w, 1, VMDK_MARKER_FOOTER);
	if (!ret) {
		vmdk_sparse_encode_header(&w->h, hdr);
		w->pos += VMDK_SECTOR;
		ret = vmdk_pwrite_full(w->fd, hdr, VMDK_SECTOR, w->pos - VMDK_SECTOR);
	}
	if (!ret)
		ret = stream_marker(w, 0, VMDK_MARKER_EOS);
	if (!ret && ftruncate(w->fd, (off_t)w->pos) < 0)
		ret = -errno;
	free(gd);
	free(w->gt);
	free(w->cbuf);
	free(w);
	if (ret < 0)
		return err_set(err, ret, "cannot finish stream-optimized image");
	return 0;
}
