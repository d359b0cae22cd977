// SPDX-License-Identifier: MIT
/*
 * Creating VMDK images in every subformat qemu-img can create, in the same file layout and
 * descriptor text (research/platform.md 1.2/1.3/1.6): monolithicSparse, monolithicFlat
 * (x.vmdk + x-flat.vmdk), twoGbMaxExtentSparse (x-s001.vmdk...), twoGbMaxExtentFlat
 * (x-f001.vmdk...), streamOptimized (an empty stream; data goes in through convert), and the
 * ESX "vmfs" flat descriptor (x.vmdk + x-flat.vmdk, extent type VMFS).
 * Geometry: 63 sectors per track, 16 heads for ide and 255 for SCSI adapters, cylinders =
 * sectors / (heads * 63) (qemu does not cap it).
 */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const create_adapters[] = { "ide", "lsilogic", "buslogic", "legacyESX",
					       "pvscsi" };

/* "dir/x.vmdk" -> extent name "x<suffix>.vmdk" and its path "dir/x<suffix>.vmdk". */
static int create_extent_name(const char *path, const char *suffix, char *name, size_t ncap,
			      char *epath, size_t pcap)
{
	char *copy = strdup(path), *base;
	size_t blen, dlen;
	int n;

	if (!copy)
		return -ENOMEM;
	base = basename(copy);
	blen = strlen(base);
	if (blen > 5 && !strcasecmp(base + blen - 5, ".vmdk"))
		blen -= 5;
	n = snprintf(name, ncap, "%.*s%s.vmdk", (int)blen, base, suffix);
	free(copy);
	if (n < 0 || (size_t)n >= ncap)
		return -ENAMETOOLONG;
	dlen = strlen(path) - strlen(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	n = snprintf(epath, pcap, "%.*s%s", (int)dlen, path, name);
	return n < 0 || (size_t)n >= pcap ? -ENAMETOOLONG : 0;
}

static int create_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret;

	if (fd < 0)
		return -errno;
	ret = vmdk_pwrite_full(fd, text, strlen(text), 0);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int create_sized_file(const char *path, u64 size, bool sparse_vmdk, bool zeroed,
			     const char *desc)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (sparse_vmdk)
		ret = vmdk_sparse_create(fd, size / VMDK_SECTOR, zeroed, desc, NULL);
	else if (ftruncate(fd, (off_t)size) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int vmdk_create(const char *path, u64 size, const struct vmdk_create_opts *o, struct err *err)
{
	const char *sub = o->subformat ? o->subformat : "monolithicSparse";
	struct vmdk_desc d = { 0 };
	bool flat = false, split = false, stream = false, vmfs = false, scsi;
	char name[4096], epath[4096], *text = NULL;
	unsigned n_ext, i;
	int ret = 0;

	if (!size || size % VMDK_SECTOR)
		return err_set(err, -EINVAL, "size must be a positive multiple of 512 bytes");
	if (!strcmp(sub, "monolithicFlat"))
		flat = true;
	else if (!strcmp(sub, "twoGbMaxExtentSparse"))
		split = true;
	else if (!strcmp(sub, "twoGbMaxExtentFlat"))
		split = flat = true;
	else if (!strcmp(sub, "streamOptimized"))
		stream = true;
	else if (!strcmp(sub, "vmfs"))
		vmfs = flat = true;
	else if (strcmp(sub, "monolithicSparse"))
		return err_set(err, -EINVAL, "unknown subformat '%s'", sub);
	if (flat && o->zeroed_grain)
		return err_set(err, -EINVAL, "flat images cannot use zeroed grains");
	if ((flat || split || stream) && o->parent)
		return err_set(err, -EINVAL, "a delta image must be monolithicSparse");
	d.version = 1;
	d.cid = vmdk_random_cid();
	d.parent_cid = o->parent ? o->parent_cid : VMDK_CID_NONE;
	d.parent_hint = (char *)o->parent;
	snprintf(d.create_type, sizeof(d.create_type), "%s", sub);
	snprintf(d.adapter, sizeof(d.adapter), "%s", o->adapter ? o->adapter : "ide");
	for (i = 0; i < ARRAY_SIZE(create_adapters); i++)
		if (!strcmp(d.adapter, create_adapters[i]))
			break;
	if (i == ARRAY_SIZE(create_adapters))
		return err_set(err, -EINVAL, "unknown adapter type '%s'", d.adapter);
	snprintf(d.hwversion, sizeof(d.hwversion), "%s", o->hwversion ? o->hwversion : "4");
	scsi = strcmp(d.adapter, "ide") != 0;
	d.heads = scsi ? 255 : 16;
	d.sectors = 63;
	d.cylinders = (u32)MIN(size / VMDK_SECTOR / (d.heads * 63ull), 0xffffffffull);

	n_ext = split ? (unsigned)((size / VMDK_SECTOR + VMDK_TWOGB_SECTORS - 1) /
				   VMDK_TWOGB_SECTORS) :
			1;
	if (n_ext > VMDK_MAX_EXTENTS)
		return err_set(err, -EFBIG, "image too large");
	d.ext = calloc(n_ext, sizeof(*d.ext));
	if (!d.ext)
		return err_set(err, -ENOMEM, "out of memory");
	d.n_ext = n_ext;
	for (i = 0; i < n_ext && !ret; i++) {
		u64 left = size / VMDK_SECTOR - (u64)i * VMDK_TWOGB_SECTORS;
		char suffix[16];

		d.ext[i].access = VMDK_ACCESS_RW;
		d.ext[i].type = vmfs ? VMDK_EXT_VMFS : flat ? VMDK_EXT_FLAT : VMDK_EXT_SPARSE;
		d.ext[i].sectors = split ? MIN(left, VMDK_TWOGB_SECTORS) : size / VMDK_SECTOR;
		if (split)
			snprintf(suffix, sizeof(suffix), "-%c%03u", flat ? 'f' : 's', i + 1);
		else
			snprintf(suffix, sizeof(suffix), "%s", flat ? "-flat" : "");
		ret = create_extent_name(path, suffix, name, sizeof(name), epath, sizeof(epath));
		if (!ret)
			d.ext[i].file = strdup(name);
		if (!ret && !d.ext[i].file)
			ret = -ENOMEM;
		if (!ret && (flat || split))
			ret = create_sized_file(epath, d.ext[i].sectors * VMDK_SECTOR, !flat,
						o->zeroed_grain, "");
	}
	if (!ret)
		ret = vmdk_desc_format(&d, &text);
	if (ret < 0)
		goto out;
	if (flat || split) {
		ret = create_write_file(path, text);
	} else if (stream) {
		struct vmdk_stream_writer *w;
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		ret = vmdk_stream_writer_open(fd, size / VMDK_SECTOR, text, &w, err);
		if (!ret && o->stream_out) {
			*o->stream_out = w; /* the caller writes the grains and closes */
			*o->stream_fd = fd;
			goto out;
		}
		if (!ret)
			ret = vmdk_stream_writer_close(w, err);
		close(fd);
	} else {
		ret = create_sized_file(path, size, true, o->zeroed_grain, text);
	}
out:
	if (ret < 0 && (!err || !err->code))
		err_set(err, ret, "%s: cannot create image: %s", path, strerror(-ret));
	d.parent_hint = NULL;
	free(text);
	vmdk_desc_free(&d);
	return ret;
}

int vmdk_parent_hint(const char *child, const char *parent, char *out, size_t cap)
{
	char cdir[PATH_MAX], preal[PATH_MAX], *c = strdup(child), *p;
	int ret = 0;

	if (!c)
		return -ENOMEM;
	if (!realpath(dirname(c), cdir) || !realpath(parent, preal)) {
		free(c);
		return -errno;
	}
	free(c);
	p = strrchr(preal, '/');
	if ((size_t)(p - preal) == strlen(cdir) && !strncmp(preal, cdir, strlen(cdir)))
		ret = snprintf(out, cap, "%s", p + 1);
	else
		ret = snprintf(out, cap, "%s", preal);
	return ret < 0 || (size_t)ret >= cap ? -ENAMETOOLONG : 0;
}
