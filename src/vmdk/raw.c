// SPDX-License-Identifier: MIT
/*
 * Raw images: the file is the disk. Modelled as an image with one FLAT extent so the map,
 * the engines and the image tool treat raw and VMDK alike.
 * The file is the one the caller opened (and probed): cache modes that need other open flags
 * (O_DIRECT, O_DSYNC) reopen that descriptor, never the name.
 * cache=none opens the file with O_DIRECT; callers then pass sector-aligned buffers.
 */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vmdk_reopen(int fd, int flags)
{
	char proc[32];
	struct stat a, b;
	int nfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = open(proc, flags | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	/* The magic link names the open file itself; check anyway that it is the same one. */
	if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		close(nfd);
		return -ESTALE;
	}
	return nfd;
}

int raw_open(int fd, const char *path, const struct vmdk_open_opts *o, struct vmdk_image **out,
	     struct err *err)
{
	struct vmdk_image *img = calloc(1, sizeof(*img));
	struct vmdk_extent *e = calloc(1, sizeof(*e));
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | (o->dsync ? O_DSYNC : 0);
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
	e->fd = fd;
	fd = -1;
	if (o->direct || o->dsync) {
		/* The same file (by descriptor, never by name again) with the cache mode's flags. */
		int nfd = vmdk_reopen(e->fd, flags | (o->direct ? O_DIRECT : 0));

		if (nfd == -EINVAL && o->direct) /* file system without O_DIRECT (tmpfs) */
			nfd = vmdk_reopen(e->fd, flags);
		else
			img->direct = o->direct;
		if (nfd < 0) {
			ret = err_set(err, nfd, "%s: cannot reopen it for cache mode: %s", path,
				      strerror(-nfd));
			goto err_free;
		}
		close(e->fd);
		e->fd = nfd;
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
	if (fd >= 0)
		close(fd);
	if (e && e->fd >= 0)
		close(e->fd);
	if (e)
		free(e->path);
	free(e);
	if (img)
		free(img->path);
	free(img);
	return ret;
}
