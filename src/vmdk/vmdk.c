// SPDX-License-Identifier: MIT
/*
 * VMDK images: format probing, descriptor files and embedded descriptors, extents (FLAT, VMFS,
 * SPARSE, ZERO), delta chains, the guest-offset map, synchronous reads and writes, the CID
 * renewal on first write and the unclean-shutdown flag.
 *
 * Spec: VMware "Virtual Disk Format 1.1" section 3 (descriptor, extents, CID/parentCID,
 * parentFileNameHint: "the CID is updated the first time the content changes after the disk is
 * opened"; a child is valid only while its parentCID equals the parent's CID) and section 4
 * (sparse extents, in vmdk_sparse.c).
 *
 * Path confinement (research/platform.md 1.9, "descriptor injection"): extent and parent file
 * names are resolved in the descriptor's folder with openat(); absolute names, names with a
 * '/' (so also ".."), symlinks and non-regular files are refused unless allow_outside is set.
 * Each file is opened once and used through that descriptor (a parent is never re-opened by
 * name after its check; O_DIRECT and O_DSYNC variants are reopened through /proc/self/fd).
 * Not implemented: extents on raw devices (VMFSRAW/VMFSRDM), COWD and seSparse extents.
 */
#include "vmdk/vmdk_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct image_ctx {
	const struct vmdk_open_opts *o;
	unsigned depth;
	dev_t chain_dev[VMDK_MAX_CHAIN + 1];
	ino_t chain_ino[VMDK_MAX_CHAIN + 1];
};

u32 vmdk_random_cid(void)
{
	u32 v = 0;

	while (v == 0 || v == VMDK_CID_NONE || v == 0xfffffffeu)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = (u32)getpid() * 2654435761u;
	return v;
}

static int image_data_flags(const struct vmdk_open_opts *o, bool readonly)
{
	return (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->dsync ? O_DSYNC : 0);
}

/* Open a file named in a descriptor, confined to dirfd unless allowed otherwise. */
static int image_open_named(int dirfd, const char *name, int flags, bool allow_outside,
			    struct err *err)
{
	struct stat st;
	int fd;

	if (!allow_outside && (name[0] == '/' || strchr(name, '/') || !strcmp(name, "..")))
		return err_set(err, -EPERM,
			       "'%s' lies outside the image's folder (refused; "
			       "allow it explicitly to follow it)",
			       name);
	fd = openat(dirfd, name, flags | (allow_outside ? 0 : O_NOFOLLOW));
	if (fd < 0 && errno == ELOOP)
		return err_set(err, -EPERM, "'%s' is a symbolic link (refused)", name);
	if (fd < 0)
		return err_set(err, -errno, "cannot open '%s': %s", name, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, -EPERM, "'%s' is not a regular file (refused)", name);
	}
	return fd;
}

static int image_add_extent(struct vmdk_image *img, struct vmdk_extent **out)
{
	struct vmdk_extent *e = realloc(img->ext, (img->n_ext + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	img->ext = e;
	e = &img->ext[img->n_ext++];
	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->start = img->size;
	*out = e;
	return 0;
}

static int image_open_extent(struct vmdk_image *img, int dirfd, const struct vmdk_desc_extent *de,
			     const struct vmdk_open_opts *o, struct err *err)
{
	struct vmdk_extent *e;
	struct stat st;
	int ret = image_add_extent(img, &e);

	if (ret < 0)
		return err_set(err, ret, "out of memory");
	e->type = de->type == VMDK_EXT_VMFS ? VMDK_EXT_FLAT : de->type;
	e->size = de->sectors * VMDK_SECTOR;
	e->readonly = img->readonly || de->access != VMDK_ACCESS_RW;
	if (de->access == VMDK_ACCESS_NOACCESS)
		return err_set(err, -EACCES, "extent '%s' is NOACCESS", de->file ? de->file : "");
	if (de->type == VMDK_EXT_ZERO)
		goto done;
	e->path = strdup(de->file);
	if (!e->path)
		return err_set(err, -ENOMEM, "out of memory");
	e->fd = image_open_named(dirfd, de->file, image_data_flags(o, e->readonly),
				 o->allow_outside, err);
	if (e->fd < 0)
		return e->fd;
	if (e->type == VMDK_EXT_FLAT) {
		e->foff = de->offset * VMDK_SECTOR;
		if (fstat(e->fd, &st) < 0 || (u64)st.st_size < e->foff + e->size)
			return err_set(err, -EINVAL,
				       "%s: flat extent file is shorter than described", de->file);
		goto done;
	}
	ret = vmdk_sparse_open(e->fd, e->path, e->readonly, &e->sp, err);
	if (ret < 0)
		return ret;
	if (o->direct && !e->readonly) { /* may fail (tmpfs): then everything stays buffered */
		ret = vmdk_reopen(e->fd, O_WRONLY | O_DIRECT);
		e->sp->dfd = ret < 0 ? -1 : ret;
	}
	if (e->sp->h.capacity != de->sectors)
		return err_set(err, -EINVAL,
			       "%s: descriptor says %llu sectors, extent header says %llu",
			       de->file, (unsigned long long)de->sectors,
			       (unsigned long long)e->sp->h.capacity);
done:
	img->size += e->size;
	return 0;
}

static int image_read_text(int fd, char **out, size_t *len, struct err *err)
{
	struct stat st;
	char *buf;
	int ret;

	if (fstat(fd, &st) < 0)
		return err_set(err, -errno, "stat failed");
	if ((u64)st.st_size > VMDK_MAX_DESC_BYTES)
		return err_set(err, -EINVAL, "descriptor file larger than %u bytes",
			       VMDK_MAX_DESC_BYTES);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vmdk_pread_full(fd, buf, (size_t)st.st_size, 0);
	if (ret < 0) {
		free(buf);
		return err_set(err, ret, "cannot read descriptor");
	}
	buf[st.st_size] = 0;
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

static int image_open_chain(const char *path, int fd, int dirfd, struct image_ctx *c,
			    struct vmdk_image **out, struct err *err);

static int image_open_parent(struct vmdk_image *img, int dirfd, struct image_ctx *c,
			     struct err *err)
{
	struct vmdk_image *parent;
	int fd, ret;

	if (!img->desc.parent_hint)
		return err_set(err, -EINVAL, "delta image without parentFileNameHint");
	if (c->depth >= VMDK_MAX_CHAIN)
		return err_set(err, -ELOOP, "backing chain deeper than %u", VMDK_MAX_CHAIN);
	/* Opened once, confined to dirfd; that descriptor is the parent from here on (nothing
	 * opens the name again, so it cannot be swapped after the check). */
	fd = image_open_named(dirfd, img->desc.parent_hint, O_RDONLY | O_CLOEXEC,
			      c->o->allow_outside, err);
	if (fd < 0)
		return err_prefix(err, "parent"), fd;
	c->depth++;
	ret = image_open_chain(img->desc.parent_hint, fd, dirfd, c, &parent, err);
	c->depth--;
	if (ret < 0)
		return err_prefix(err, "parent %s", img->desc.parent_hint), ret;
	img->parent = parent;
	if (!parent->is_vmdk || parent->desc.cid != img->desc.parent_cid)
		return err_set(err, -EINVAL,
			       "parent %s was modified after this delta was made (parentCID %x, "
			       "parent CID %x)",
			       img->desc.parent_hint, img->desc.parent_cid, parent->desc.cid);
	return 0;
}

/* A file starting with the sparse magic: monolithicSparse, streamOptimized or a lone extent. */
static int image_open_sparse_file(struct vmdk_image *img, int fd, struct err *err)
{
	struct vmdk_extent *e;
	char *text = NULL;
	size_t len;
	int ret = image_add_extent(img, &e);

	if (ret < 0)
		return err_set(err, ret, "out of memory");
	e->type = VMDK_EXT_SPARSE;
	e->fd = fd;
	e->readonly = img->readonly;
	e->path = strdup(img->path);
	if (!e->path)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vmdk_sparse_open(fd, e->path, img->readonly, &e->sp, err);
	if (ret < 0)
		return ret;
	e->size = e->sp->h.capacity * VMDK_SECTOR;
	img->size = e->size;
	ret = vmdk_sparse_read_desc(e->sp, &text, &len, err);
	if (ret == -ENOENT || (ret == 0 && len == 0)) {
		free(text);
		snprintf(img->desc.create_type, sizeof(img->desc.create_type), "monolithicSparse");
		img->desc.cid = img->desc.parent_cid = VMDK_CID_NONE;
		return 0;
	}
	if (ret < 0)
		return ret;
	ret = vmdk_desc_parse(text, len, &img->desc, err);
	free(text);
	if (ret < 0)
		return err_prefix(err, "%s: embedded descriptor", img->path), ret;
	if (img->desc.n_ext != 1 || img->desc.ext[0].type != VMDK_EXT_SPARSE ||
	    img->desc.ext[0].sectors != e->sp->h.capacity)
		return err_set(err, -EINVAL,
			       "%s: embedded descriptor does not describe this one extent",
			       img->path);
	return 0;
}

static bool image_is_descriptor(const u8 *b, size_t n);

bool vmdk_probe_is_vmdk(const u8 *b, size_t n)
{
	return (n >= 4 && vmdk_le32(b) == VMDK_MAGIC) || (n > 0 && image_is_descriptor(b, n));
}

static bool image_is_descriptor(const u8 *b, size_t n)
{
	static const char sig[] = "# Disk DescriptorFile";

	if (n >= sizeof(sig) - 1 && !memcmp(b, sig, sizeof(sig) - 1))
		return true;
	/* Hand-written descriptors may start with other comments: look for the key lines. */
	return memmem(b, n, "createType", 10) && memmem(b, n, "version", 7);
}

/* Open the image on fd (owned from now on; path names it for messages and its folder). */
static int image_open_chain(const char *path, int fd, int dirfd, struct image_ctx *c,
			    struct vmdk_image **out, struct err *err)
{
	const struct vmdk_open_opts *o = c->o;
	bool readonly = o->readonly || c->depth > 0;
	struct vmdk_image *img = calloc(1, sizeof(*img));
	char *dir = NULL, *text = NULL;
	int ret, subdir = -1;
	u8 b[VMDK_SECTOR];
	ssize_t n;
	struct stat st;
	size_t len = 0;

	if (!img) {
		close(fd);
		return err_set(err, -ENOMEM, "out of memory");
	}
	img->desc_fd = -1;
	img->readonly = readonly;
	img->path = strdup(path);
	dir = strdup(path);
	if (!img->path || !dir) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_close;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "%s: not a regular file", path);
		goto err_close;
	}
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	for (unsigned i = 0; i < c->depth; i++) {
		if (c->chain_dev[i] == st.st_dev && c->chain_ino[i] == st.st_ino) {
			ret = err_set(err, -ELOOP, "%s: backing chain loops", path);
			goto err_close;
		}
	}
	c->chain_dev[c->depth] = st.st_dev;
	c->chain_ino[c->depth] = st.st_ino;
	n = pread(fd, b, sizeof(b), 0);
	if (n < 0) {
		ret = err_set(err, -errno, "%s: read failed", path);
		goto err_close;
	}
	if (o->format == 1 && c->depth == 0) {
		vmdk_image_close(img);
		free(dir);
		return raw_open(fd, path, o, out, err);
	}
	/* Files named in a descriptor are relative to the descriptor's own folder. */
	subdir = openat(dirfd, dirname(dir), O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (subdir < 0) {
		ret = err_set(err, -errno, "%s: cannot open its folder", path);
		goto err_close;
	}
	img->is_vmdk = true;
	if (n >= 4 && vmdk_le32(b) == VMDK_MAGIC) {
		ret = image_open_sparse_file(img, fd, err);
		fd = -1; /* owned by the extent now */
		if (ret < 0)
			goto err_close;
		if (o->direct && !readonly) { /* may fail (tmpfs): then it stays buffered */
			ret = vmdk_reopen(img->ext[0].fd, O_WRONLY | O_DIRECT);
			img->ext[0].sp->dfd = ret < 0 ? -1 : ret;
		}
	} else if (n > 0 && image_is_descriptor(b, (size_t)n)) {
		ret = image_read_text(fd, &text, &len, err);
		if (!ret)
			ret = vmdk_desc_parse(text, len, &img->desc, err);
		free(text);
		if (ret < 0) {
			err_prefix(err, "%s", path);
			goto err_close;
		}
		img->desc_fd = fd;
		fd = -1;
		for (unsigned i = 0; i < img->desc.n_ext; i++) {
			ret = image_open_extent(img, subdir, &img->desc.ext[i], o, err);
			if (ret < 0) {
				err_prefix(err, "%s", path);
				goto err_close;
			}
		}
	} else if (o->format == 2 || c->depth > 0) {
		ret = err_set(err, -EINVAL, "%s: not a VMDK image (bad magic)", path);
		goto err_close;
	} else {
		close(subdir);
		vmdk_image_close(img);
		free(dir);
		return raw_open(fd, path, o, out, err);
	}
	if ((img->desc.parent_cid != VMDK_CID_NONE || img->desc.parent_hint) && !o->no_parent) {
		ret = image_open_parent(img, subdir, c, err);
		if (ret < 0)
			goto err_close;
	}
	close(subdir);
	free(dir);
	*out = img;
	return 0;

err_close:
	if (subdir >= 0)
		close(subdir);
	if (fd >= 0)
		close(fd);
	img->readonly = true; /* do not touch the unclean flag of a half-open image */
	vmdk_image_close(img);
	free(dir);
	return ret;
}

static int image_prepare_rw(struct vmdk_image *img, const struct vmdk_open_opts *o, struct err *err)
{
	for (unsigned i = 0; i < img->n_ext; i++) {
		struct vmdk_sparse *sp = img->ext[i].sp;
		struct vmdk_check_result r;
		int ret;

		if (!sp || sp->readonly)
			continue;
		if (sp->h.unclean && !o->no_auto_repair) {
			log_warn("%s: was not closed cleanly; checking and repairing its tables",
				 img->ext[i].path);
			ret = vmdk_sparse_check(sp, true, &r, err);
			if (ret < 0)
				return ret;
		}
		ret = vmdk_sparse_set_unclean(sp, true);
		if (ret < 0)
			return err_set(err, ret, "%s: cannot set the unclean flag",
				       img->ext[i].path);
	}
	img->unclean_set = true;
	return 0;
}

int vmdk_image_open(const char *path, const struct vmdk_open_opts *o, struct vmdk_image **out,
		    struct err *err)
{
	struct image_ctx c = { .o = o };
	struct vmdk_image *img;
	int fd = open(path, (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC), ret;

	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	ret = image_open_chain(path, fd, AT_FDCWD, &c, &img, err);
	if (ret < 0)
		return ret;
	if (img->is_vmdk && !img->readonly) {
		ret = image_prepare_rw(img, o, err);
		if (ret < 0) {
			vmdk_image_close(img);
			return ret;
		}
	} else if (img->is_vmdk) {
		for (unsigned i = 0; i < img->n_ext; i++)
			if (img->ext[i].sp && img->ext[i].sp->h.unclean)
				log_warn("%s: was not closed cleanly; run 'vmm-img check --repair'",
					 img->ext[i].path);
	}
	*out = img;
	return 0;
}

int vmdk_image_open_sparse_fd(int fd, const char *name, struct vmdk_image **out, struct err *err)
{
	struct vmdk_image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img)
		return err_set(err, -ENOMEM, "out of memory");
	img->desc_fd = -1;
	img->readonly = true;
	img->is_vmdk = true;
	img->path = strdup(name);
	if (!img->path) {
		free(img);
		return err_set(err, -ENOMEM, "out of memory");
	}
	ret = image_open_sparse_file(img, fd, err);
	if (img->n_ext)
		img->ext[0].fd = -1; /* the caller keeps the fd */
	if (ret < 0) {
		vmdk_image_close(img);
		return ret;
	}
	*out = img;
	return 0;
}

int vmdk_image_close(struct vmdk_image *img)
{
	int ret = 0, r;

	if (!img)
		return 0;
	for (unsigned i = 0; i < img->n_ext; i++) {
		struct vmdk_extent *e = &img->ext[i];

		if (e->sp && img->unclean_set && !e->sp->readonly) {
			r = vmdk_sparse_set_unclean(e->sp, false);
			ret = ret ? ret : r;
		}
		vmdk_sparse_close(e->sp);
		if (e->fd >= 0)
			close(e->fd);
		free(e->path);
	}
	if (img->desc_fd >= 0)
		close(img->desc_fd);
	r = vmdk_image_close(img->parent);
	ret = ret ? ret : r;
	vmdk_desc_free(&img->desc);
	free(img->ext);
	free(img->path);
	free(img);
	return ret;
}

static struct vmdk_extent *image_find_extent(struct vmdk_image *img, u64 off)
{
	unsigned lo = 0, hi = img->n_ext;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		struct vmdk_extent *e = &img->ext[mid];

		if (off < e->start)
			hi = mid;
		else if (off >= e->start + e->size)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

static int image_map_sparse(struct vmdk_extent *e, u64 rel, u64 len, struct vmdk_map *m)
{
	struct vmdk_sparse *sp = e->sp;
	u64 gbytes = sp->h.grain_size * VMDK_SECTOR, done = 0;

	while (done < len) {
		u64 pos = rel + done, g = pos / gbytes, in = pos % gbytes;
		u64 n = MIN(len - done, gbytes - in);
		enum vmdk_map_kind k;
		u32 gte;
		int ret = vmdk_sparse_lookup(sp, g, &gte);

		if (ret < 0) {
			if (done)
				break; /* report the good part first */
			return ret;
		}
		if (gte == 0)
			k = VMDK_MAP_UNALLOC;
		else if (gte == VMDK_GTE_ZERO)
			k = VMDK_MAP_ZERO;
		else if (sp->compressed)
			k = VMDK_MAP_COMPRESSED;
		else
			k = VMDK_MAP_DATA;
		if (done == 0) {
			m->kind = k;
			m->fd = e->fd;
			m->foff = k == VMDK_MAP_DATA ? (u64)gte * VMDK_SECTOR + in : 0;
		} else if (k != m->kind || k == VMDK_MAP_COMPRESSED ||
			   (k == VMDK_MAP_DATA && (u64)gte * VMDK_SECTOR != m->foff + done)) {
			break;
		}
		done += n;
	}
	m->len = done;
	return 0;
}

int vmdk_image_map(struct vmdk_image *img, u64 off, u64 len, struct vmdk_map *m)
{
	struct vmdk_extent *e = image_find_extent(img, off);
	u64 rel;

	if (!e || !len)
		return -EINVAL;
	rel = off - e->start;
	len = MIN(len, e->size - rel);
	switch (e->type) {
	case VMDK_EXT_ZERO:
		*m = (struct vmdk_map){ .kind = VMDK_MAP_ZERO, .fd = -1, .len = len };
		return 0;
	case VMDK_EXT_FLAT:
	case VMDK_EXT_VMFS:
		*m = (struct vmdk_map){
			.kind = VMDK_MAP_DATA, .fd = e->fd, .foff = e->foff + rel, .len = len
		};
		return 0;
	case VMDK_EXT_SPARSE:
		return image_map_sparse(e, rel, len, m);
	}
	return -EINVAL;
}

static int image_read_compressed(struct vmdk_image *img, u8 *buf, u64 len, u64 off)
{
	struct vmdk_extent *e = image_find_extent(img, off);
	u64 gbytes, rel, g;
	u32 gte;
	int ret;

	if (!e || !e->sp)
		return -EIO;
	gbytes = e->sp->h.grain_size * VMDK_SECTOR;
	rel = off - e->start;
	g = rel / gbytes;
	ret = vmdk_sparse_lookup(e->sp, g, &gte);

	if (!ret)
		ret = vmdk_stream_read_grain(e->sp, g, gte);
	if (ret < 0)
		return ret;
	memcpy(buf, e->sp->zbuf + rel % gbytes, len);
	return 0;
}

int vmdk_image_pread(struct vmdk_image *img, void *buf, u64 len, u64 off)
{
	u8 *p = buf;

	if (off > img->size || len > img->size - off)
		return -EINVAL;
	while (len) {
		struct vmdk_map m;
		int ret = vmdk_image_map(img, off, len, &m);

		if (ret < 0)
			return ret;
		switch (m.kind) {
		case VMDK_MAP_DATA:
			ret = vmdk_pread_full(m.fd, p, m.len, m.foff);
			break;
		case VMDK_MAP_ZERO:
			memset(p, 0, m.len);
			break;
		case VMDK_MAP_UNALLOC:
			if (img->parent && off < img->parent->size) {
				u64 n = MIN(m.len, img->parent->size - off);

				ret = vmdk_image_pread(img->parent, p, n, off);
				memset(p + n, 0, m.len - n);
			} else {
				memset(p, 0, m.len);
			}
			break;
		case VMDK_MAP_COMPRESSED:
			ret = image_read_compressed(img, p, m.len, off);
			break;
		}
		if (ret < 0)
			return ret;
		p += m.len, off += m.len, len -= m.len;
	}
	return 0;
}

/* Store new descriptor text (takes ownership of text). */
static int image_write_desc(struct vmdk_image *img, char *text, size_t len)
{
	int ret;

	if (img->desc_fd >= 0) {
		ret = vmdk_pwrite_full(img->desc_fd, text, len, 0);
		if (!ret && ftruncate(img->desc_fd, (off_t)len) < 0)
			ret = -errno;
	} else {
		ret = vmdk_sparse_write_desc(img->ext[0].sp, text, len);
	}
	if (ret < 0) {
		free(text);
		return ret;
	}
	free(img->desc.text);
	img->desc.text = text;
	img->desc.text_len = len;
	return 0;
}

int vmdk_image_begin_write(struct vmdk_image *img)
{
	char *text;
	size_t len;
	u32 cid;
	int ret;

	if (img->readonly)
		return -EROFS;
	if (!img->is_vmdk || img->cid_written || !img->desc.text)
		return 0;
	cid = vmdk_random_cid();
	ret = vmdk_desc_set_hex(&img->desc, "CID", cid, &text, &len);
	if (ret < 0)
		return ret;
	ret = image_write_desc(img, text, len);
	if (ret < 0)
		return ret;
	img->desc.cid = cid;
	img->cid_written = true;
	return 0;
}

int vmdk_image_set_parent_cid(struct vmdk_image *img, u32 cid)
{
	char *text;
	size_t len;
	int ret;

	if (img->readonly)
		return -EROFS;
	ret = vmdk_desc_set_hex(&img->desc, "parentCID", cid, &text, &len);
	if (ret < 0)
		return ret;
	ret = image_write_desc(img, text, len);
	if (!ret)
		img->desc.parent_cid = cid;
	return ret;
}

/* Write into unallocated or zeroed grains: build each whole grain and allocate it. */
static int image_write_alloc(struct vmdk_image *img, const u8 *p, u64 len, u64 off)
{
	struct vmdk_extent *e = image_find_extent(img, off);
	struct vmdk_sparse *sp = e ? e->sp : NULL;
	u64 gbytes, done = 0;
	u8 *gbuf = NULL;
	int ret = 0;

	if (!sp || e->readonly)
		return -EROFS;
	gbytes = sp->h.grain_size * VMDK_SECTOR;
	while (done < len && !ret) {
		u64 rel = off + done - e->start, g = rel / gbytes, in = rel % gbytes;
		u64 n = MIN(len - done, gbytes - in);
		u64 gstart = e->start + g * gbytes, glen = MIN(gbytes, e->start + e->size - gstart);

		if (n == gbytes && glen == gbytes) {
			/* whole grains: as many as the run and the grain table allow at once */
			u64 k = MIN((len - done) / gbytes,
				    sp->h.gtes_per_gt - g % sp->h.gtes_per_gt);

			k = MIN(k, (e->start + e->size - gstart) / gbytes);
			ret = vmdk_sparse_alloc_write(sp, g, (u32)k, p + done, false);
			n = k * gbytes;
		} else {
			if (!gbuf)
				gbuf = calloc(1, gbytes);
			if (!gbuf)
				return -ENOMEM;
			memset(gbuf, 0, gbytes);
			ret = vmdk_image_pread(img, gbuf, glen, gstart);
			if (!ret) {
				memcpy(gbuf + in, p + done, n);
				ret = vmdk_sparse_alloc_write(sp, g, 1, gbuf, false);
			}
		}
		done += n;
	}
	free(gbuf);
	return ret;
}

int vmdk_image_pwrite(struct vmdk_image *img, const void *buf, u64 len, u64 off)
{
	const u8 *p = buf;
	int ret;

	if (off > img->size || len > img->size - off)
		return -EINVAL;
	ret = vmdk_image_begin_write(img);
	if (ret < 0)
		return ret;
	while (len) {
		struct vmdk_map m;
		struct vmdk_extent *e;

		ret = vmdk_image_map(img, off, len, &m);
		if (ret < 0)
			return ret;
		e = image_find_extent(img, off);
		if (!e || e->readonly)
			return -EROFS;
		switch (m.kind) {
		case VMDK_MAP_DATA:
			ret = vmdk_pwrite_full(m.fd, p, m.len, m.foff);
			break;
		case VMDK_MAP_ZERO:
		case VMDK_MAP_UNALLOC:
			ret = image_write_alloc(img, p, m.len, off);
			break;
		case VMDK_MAP_COMPRESSED:
			ret = -EROFS;
			break;
		}
		if (ret < 0)
			return ret;
		p += m.len, off += m.len, len -= m.len;
	}
	return 0;
}

int vmdk_image_flush(struct vmdk_image *img)
{
	for (unsigned i = 0; i < img->n_ext; i++)
		if (img->ext[i].fd >= 0 && !img->ext[i].readonly && fdatasync(img->ext[i].fd) < 0)
			return -errno;
	if (img->desc_fd >= 0 && !img->readonly && fdatasync(img->desc_fd) < 0)
		return -errno;
	return 0;
}
