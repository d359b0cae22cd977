// SPDX-License-Identifier: MIT
/*
 * vmm-img info and map. The JSON of info uses qemu-img's field names (virtual-size,
 * actual-size, dirty-flag, format-specific.data.{cid,parent-cid,create-type,extents}) so
 * scripts written against either tool read both; CIDs are decimal there as in qemu-img.
 */
#include "vmdk/tool/img.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static u64 img_actual_size(const struct vmdk_image *img)
{
	struct stat st;
	u64 sum = 0;

	for (unsigned i = 0; i < img->n_ext; i++)
		if (img->ext[i].fd >= 0 && !fstat(img->ext[i].fd, &st))
			sum += (u64)st.st_blocks * 512;
	if (img->desc_fd >= 0 && !fstat(img->desc_fd, &st))
		sum += (u64)st.st_blocks * 512;
	return sum;
}

static bool img_dirty(const struct vmdk_image *img)
{
	for (unsigned i = 0; i < img->n_ext; i++)
		if (img->ext[i].sp && img->ext[i].sp->h.unclean)
			return true;
	return false;
}

static void img_info_json(const struct vmdk_image *img)
{
	printf("{\n  \"filename\": ");
	img_json_str(img->path);
	printf(",\n  \"format\": \"%s\",\n  \"virtual-size\": %llu,\n  \"actual-size\": %llu,\n"
	       "  \"dirty-flag\": %s",
	       img->is_vmdk ? "vmdk" : "raw", (unsigned long long)img->size,
	       (unsigned long long)img_actual_size(img), img_dirty(img) ? "true" : "false");
	if (img->is_vmdk) {
		printf(",\n  \"cluster-size\": %u", 65536u);
		if (img->desc.parent_hint) {
			printf(",\n  \"backing-filename\": ");
			img_json_str(img->desc.parent_hint);
		}
		printf(",\n  \"format-specific\": {\n    \"type\": \"vmdk\",\n    \"data\": {\n"
		       "      \"cid\": %u,\n      \"parent-cid\": %u,\n      \"create-type\": ",
		       img->desc.cid, img->desc.parent_cid);
		img_json_str(img->desc.create_type);
		printf(",\n      \"extents\": [");
		for (unsigned i = 0; i < img->n_ext; i++) {
			const struct vmdk_extent *e = &img->ext[i];

			printf("%s\n        {\"filename\": ", i ? "," : "");
			img_json_str(e->path ? e->path : "");
			printf(", \"virtual-size\": %llu, \"type\": \"%s\"",
			       (unsigned long long)e->size, vmdk_ext_type_name(e->type));
			if (e->sp)
				printf(", \"cluster-size\": %llu, \"compressed\": %s",
				       (unsigned long long)(e->sp->h.grain_size * 512),
				       e->sp->compressed ? "true" : "false");
			printf("}");
		}
		printf("\n      ]\n    }\n  }");
	}
	printf("\n}\n");
}

static void img_info_human(const struct vmdk_image *img)
{
	printf("image: %s\nfile format: %s\nvirtual size: %llu bytes\ndisk size: %llu bytes\n",
	       img->path, img->is_vmdk ? "vmdk" : "raw", (unsigned long long)img->size,
	       (unsigned long long)img_actual_size(img));
	if (!img->is_vmdk)
		return;
	if (img->desc.parent_hint)
		printf("backing file: %s\n", img->desc.parent_hint);
	printf("create type: %s\ncid: %08x\nparent cid: %08x\nadapter: %s\nunclean: %s\n",
	       img->desc.create_type, img->desc.cid, img->desc.parent_cid,
	       img->desc.adapter[0] ? img->desc.adapter : "-", img_dirty(img) ? "yes" : "no");
	for (unsigned i = 0; i < img->n_ext; i++)
		printf("extent %u: %s %s %llu bytes\n", i, vmdk_ext_type_name(img->ext[i].type),
		       img->ext[i].path ? img->ext[i].path : "-",
		       (unsigned long long)img->ext[i].size);
}

static int img_open_for_show(int argc, char **argv, bool *json, struct vmdk_image **img)
{
	static const struct option lo[] = { { "json", no_argument, 0, 'j' },
					    { "allow-outside", no_argument, 0, 'a' },
					    { "output", required_argument, 0, 'O' },
					    { 0, 0, 0, 0 } };
	struct vmdk_open_opts o = { .readonly = true };
	struct err err = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		if (c == 'j' || (c == 'O' && !strcmp(optarg, "json")))
			*json = true;
		else if (c == 'a')
			o.allow_outside = true;
		else if (c == 'f')
			o.format = !strcmp(optarg, "raw") ? 1 : !strcmp(optarg, "vmdk") ? 2 : 0;
		else if (c != 'O')
			return img_usage(NULL);
	}
	if (optind != argc - 1)
		return img_usage("need one FILE");
	if (vmdk_image_open(argv[optind], &o, img, &err) < 0)
		return img_fail("%s", err.msg);
	return IMG_EXIT_OK;
}

int img_info_main(int argc, char **argv)
{
	struct vmdk_image *img;
	bool json = false;
	int ret = img_open_for_show(argc, argv, &json, &img);

	if (ret)
		return ret;
	if (json)
		img_info_json(img);
	else
		img_info_human(img);
	vmdk_image_close(img);
	return IMG_EXIT_OK;
}

static const char *img_map_kind(enum vmdk_map_kind k)
{
	static const char *const names[] = { "data", "zero", "unallocated", "compressed" };

	return names[k];
}

int img_map_main(int argc, char **argv)
{
	struct vmdk_image *img;
	bool json = false, first = true;
	struct vmdk_map run = { 0 };
	u64 run_start = 0, off = 0;
	int ret = img_open_for_show(argc, argv, &json, &img);

	if (ret)
		return ret;
	printf(json ? "[" : "%-16s %-16s %-12s %s\n", "offset", "length", "kind", "file-offset");
	while (off <= img->size) {
		struct vmdk_map m = { .kind = VMDK_MAP_DATA, .fd = -2 };

		if (off < img->size && vmdk_image_map(img, off, img->size - off, &m) < 0) {
			vmdk_image_close(img);
			return img_fail("%s: cannot map offset %llu", argv[argc - 1],
					(unsigned long long)off);
		}
		/* extend the current run when kind and file continuity allow */
		if (off < img->size && off > run_start && m.kind == run.kind && m.fd == run.fd &&
		    (m.kind != VMDK_MAP_DATA || m.foff == run.foff + (off - run_start))) {
			off += m.len;
			continue;
		}
		if (off > run_start) {
			if (json)
				printf("%s\n  {\"start\": %llu, \"length\": %llu, \"kind\": \"%s\"",
				       first ? "" : ",", (unsigned long long)run_start,
				       (unsigned long long)(off - run_start),
				       img_map_kind(run.kind));
			else
				printf("%-16llu %-16llu %-12s", (unsigned long long)run_start,
				       (unsigned long long)(off - run_start),
				       img_map_kind(run.kind));
			if (run.kind == VMDK_MAP_DATA)
				printf(json ? ", \"offset\": %llu" : " %llu",
				       (unsigned long long)run.foff);
			printf(json ? "}" : "\n");
			first = false;
		}
		if (off == img->size)
			break;
		run = m;
		run_start = off;
		off += m.len;
	}
	if (json)
		printf("\n]\n");
	vmdk_image_close(img);
	return IMG_EXIT_OK;
}
