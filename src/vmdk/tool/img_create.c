// SPDX-License-Identifier: MIT
/*
 * vmm-img create, snapshot and commit.
 * snapshot writes a monolithicSparse delta whose parentCID is the base's CID and whose
 * parentFileNameHint names the base relative to the child's folder (VMDK 1.1 section 3).
 * commit copies every grain the child holds (data or zeroed) into its parent, then records
 * the parent's new CID as the child's parentCID so the chain stays valid.
 */
#include "vmdk/tool/img.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int img_make_delta(const char *child, const char *parent, u64 size,
			  struct img_create_args *a)
{
	struct vmdk_open_opts o = { .readonly = true, .format = 2, .allow_outside = true };
	struct vmdk_image *base;
	char hint[PATH_MAX];
	struct err err = { 0 };
	int ret;

	if (vmdk_image_open(parent, &o, &base, &err) < 0)
		return img_fail("%s", err.msg);
	if (!base->is_vmdk || !base->desc.text) {
		vmdk_image_close(base);
		return img_fail("%s: the parent of a delta must be a VMDK image with a descriptor",
				parent);
	}
	ret = vmdk_parent_hint(child, parent, hint, sizeof(hint));
	if (ret < 0) {
		vmdk_image_close(base);
		return img_fail("%s: %s", parent, strerror(-ret));
	}
	a->c.parent = hint;
	a->c.parent_cid = base->desc.cid;
	if (!size)
		size = base->size;
	vmdk_image_close(base);
	if (vmdk_create(child, size, &a->c, &err) < 0)
		return img_fail("%s", err.msg);
	return IMG_EXIT_OK;
}

static int img_create_raw(const char *path, u64 size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return img_fail("%s: %s", path, strerror(errno));
	close(fd);
	return IMG_EXIT_OK;
}

int img_create_main(int argc, char **argv)
{
	struct img_create_args a = { 0 };
	const char *fmt = "vmdk", *parent = NULL;
	struct err err = { 0 };
	u64 size = 0;
	int c;

	while ((c = getopt(argc, argv, "f:o:b:F:")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'o':
			if (img_parse_o(optarg, &a) < 0)
				return img_usage("bad -o option");
			break;
		case 'b':
			parent = optarg;
			break;
		case 'F':
			break; /* backing format: always vmdk */
		default:
			return img_usage(NULL);
		}
	}
	if (optind >= argc || argc - optind > 2 || (argc - optind == 1 && !parent))
		return img_usage("create needs FILE and SIZE");
	if (argc - optind == 2 && img_parse_size(argv[optind + 1], &size) < 0)
		return img_usage("bad size");
	if (!strcmp(fmt, "raw"))
		return parent ? img_usage("raw images have no parent") :
				img_create_raw(argv[optind], size);
	if (strcmp(fmt, "vmdk"))
		return img_usage("format must be raw or vmdk");
	if (parent)
		return img_make_delta(argv[optind], parent, size, &a);
	if (vmdk_create(argv[optind], size, &a.c, &err) < 0)
		return img_fail("%s", err.msg);
	return IMG_EXIT_OK;
}

int img_snapshot_main(int argc, char **argv)
{
	struct img_create_args a = { 0 };

	if (argc != 3)
		return img_usage("snapshot needs BASE and CHILD");
	return img_make_delta(argv[2], argv[1], 0, &a);
}

/* Resolve the parent named by child's descriptor to a path usable from here. */
static int img_parent_path(const char *child, const char *hint, char *out, size_t cap)
{
	char *c = strdup(child);
	int n;

	if (!c)
		return -ENOMEM;
	if (hint[0] == '/')
		n = snprintf(out, cap, "%s", hint);
	else
		n = snprintf(out, cap, "%s/%s", dirname(c), hint);
	free(c);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int img_commit_copy(struct vmdk_image *child, struct vmdk_image *parent, u64 *copied)
{
	u64 off = 0, size = MIN(child->size, parent->size);
	u8 *buf = malloc(1 << 20);
	int ret = buf ? 0 : -ENOMEM;

	while (!ret && off < size) {
		struct vmdk_map m;
		u64 n;

		ret = vmdk_image_map(child, off, MIN(size - off, 1u << 20), &m);
		if (ret < 0)
			break;
		n = m.len;
		if (m.kind != VMDK_MAP_UNALLOC) { /* the child holds these bytes */
			ret = vmdk_image_pread(child, buf, n, off);
			if (!ret)
				ret = vmdk_image_pwrite(parent, buf, n, off);
			*copied += n;
		}
		off += n;
	}
	free(buf);
	return ret;
}

int img_commit_main(int argc, char **argv)
{
	struct vmdk_open_opts ro = { .readonly = true, .format = 2, .allow_outside = true };
	struct vmdk_open_opts rw = { .format = 2, .allow_outside = true };
	struct vmdk_image *child, *parent, *child_rw;
	char ppath[PATH_MAX];
	struct err err = { 0 };
	u64 copied = 0;
	int ret;

	if (argc != 2)
		return img_usage("commit needs CHILD");
	if (vmdk_image_open(argv[1], &ro, &child, &err) < 0)
		return img_fail("%s", err.msg);
	if (!child->parent) {
		vmdk_image_close(child);
		return img_fail("%s: not a delta image", argv[1]);
	}
	if (img_parent_path(argv[1], child->desc.parent_hint, ppath, sizeof(ppath)) < 0 ||
	    vmdk_image_open(ppath, &rw, &parent, &err) < 0) {
		vmdk_image_close(child);
		return img_fail("%s", err.msg[0] ? err.msg : "parent path too long");
	}
	ret = img_commit_copy(child, parent, &copied);
	if (!ret)
		ret = vmdk_image_flush(parent);
	if (!ret)
		ret = vmdk_image_begin_write(parent); /* a commit of nothing still renews CID */
	vmdk_image_close(child);
	if (ret < 0) {
		vmdk_image_close(parent);
		return img_fail("commit into %s failed: %s", ppath, strerror(-ret));
	}
	rw.no_parent = true;
	if (vmdk_image_open(argv[1], &rw, &child_rw, &err) < 0) {
		vmdk_image_close(parent);
		return img_fail("%s", err.msg);
	}
	ret = vmdk_image_set_parent_cid(child_rw, parent->desc.cid);
	vmdk_image_close(child_rw);
	if (vmdk_image_close(parent) < 0 || ret < 0)
		return img_fail("%s: cannot record the parent's new CID", argv[1]);
	printf("Image committed (%llu bytes).\n", (unsigned long long)copied);
	return IMG_EXIT_OK;
}
