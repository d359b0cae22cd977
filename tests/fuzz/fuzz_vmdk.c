// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the VMDK parsers: the text descriptor (vmdk_desc_parse, then
 * vmdk_desc_format of what was accepted), and for inputs starting with the sparse magic the
 * whole hosted sparse extent path: header validation, footer (GD_AT_END), both grain
 * directories, lazily loaded grain tables, compressed grain records (inflate), and check.
 * The input is placed in a memfd and opened with vmdk_image_open_sparse_fd, so no file names
 * from the input are ever followed.
 *
 * Built with replay.c (any compiler, suite 'fuzz-smoke') it replays the files and folders named
 * on its command line; in a -Dfuzz=true tree it is a libFuzzer target (docs/fuzzing.md).
 */
#include "fuzz.h"
#include "vmdk/vmdk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void fuzz_sparse(const u8 *data, size_t size)
{
	struct vmdk_image *img;
	struct err err = { 0 };
	int fd = memfd_create("fuzz-vmdk", MFD_CLOEXEC);
	u8 buf[512];

	if (fd < 0)
		return;
	if (vmdk_pwrite_full(fd, data, size, 0) == 0 &&
	    vmdk_image_open_sparse_fd(fd, "fuzz", &img, &err) == 0) {
		struct vmdk_sparse *sp = img->ext[0].sp;
		u64 gbytes = sp->h.grain_size * VMDK_SECTOR;
		u64 grains = (img->size + gbytes - 1) / gbytes;
		u64 step = grains > 256 ? grains / 256 : 1;
		struct vmdk_check_result r;

		/* a spread of grains: every table and record kind gets parsed */
		for (u64 g = 0; g < grains; g += step) {
			u64 off = g * gbytes, n = MIN((u64)sizeof(buf), img->size - off);

			(void)!vmdk_image_pread(img, buf, n, off);
		}
		if (sp->gd_entries <= 1024)
			(void)!vmdk_sparse_check(sp, false, &r, &err);
		vmdk_image_close(img);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct vmdk_desc d;
	struct err err = { 0 };

	fuzz_quiet_logs(); /* hostile inputs warn on every read */
	if (vmdk_desc_parse((const char *)data, size, &d, &err) == 0) {
		char *text;

		if (vmdk_desc_format(&d, &text) == 0)
			free(text);
		vmdk_desc_free(&d);
	}
	if (size >= VMDK_SECTOR && vmdk_le32(data) == VMDK_MAGIC)
		fuzz_sparse(data, size);
	return 0;
}
