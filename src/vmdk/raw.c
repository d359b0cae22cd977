// SPDX-License-Identifier: MIT
/*
 * Raw images: the file is the disk. Modelled as an image with one FLAT extent so the map,
 * the engines and the image tool treat raw and VMDK alike.
 * cache=none opens the file with O_DIRECT; callers then pass sector-aligned buffers.
 */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int raw_open(const char *path, const struct vmdk_open_opts *o, struct vmdk_image **out,
	     struct err *err)
{
	struct vmdk_image *img = calloc(1, sizeof(*img));
	struct vmdk_extent *e = calloc(1, sizeof(*e));
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->dsync ? O_DSYNC : 0);
	struct stat st;
	int ret;

	if (!img || !e || !(img->path = strdup(path)) || !(e->path = strdup(path))) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	img->desc_fd = -1;
	img->readonly = o->readonly;
	img->ext = e;
	img->n_ext = 1;
	e->type = VMDK_EXT_FLAT;
	e->readonly = o->readonly;
	e->fd = open(path, flags | (o->direct ? O_DIRECT : 0));
	if (e->fd < 0 && o->direct && errno == EINVAL)
		e->fd = open(path, flags); /* file system without O_DIRECT (tmpfs) */
	else
		img->direct = o->direct;
	if (e->fd < 0) {
		ret = err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto err_free;
	}
	if (fstat(e->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "%s: not a regular file", path);
		goto err_free;
	}
	e->size = (u64)st.st_size;
	img->size = e->size;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	*out = img;
	return 0;

err_free:
	if (e && e->fd > 0)
		close(e->fd);
	if (e)
		free(e->path);
	free(e);
	if (img)
		free(img->path);
	free(img);
	return ret;
}
