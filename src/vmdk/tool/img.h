/* SPDX-License-Identifier: MIT */
/*
 * vmm-img, the image tool: one file per subcommand (img_create.c: create, snapshot, commit;
 * img_info.c: info, map; img_check.c; img_convert.c), dispatched from img_main.c.
 *
 * Exit statuses (stable, for scripts): 0 success; 1 error (one line on stderr starting
 * "vmm-img: "); 2 check found corruptions; 3 check found only leaked clusters;
 * 64 usage error.
 */
#ifndef VMDK_TOOL_IMG_H
#define VMDK_TOOL_IMG_H

#include "vmdk/vmdk_internal.h"

#define IMG_EXIT_OK	 0
#define IMG_EXIT_ERROR	 1
#define IMG_EXIT_CORRUPT 2
#define IMG_EXIT_LEAKS	 3
#define IMG_EXIT_USAGE	 64

int img_create_main(int argc, char **argv);
int img_snapshot_main(int argc, char **argv);
int img_commit_main(int argc, char **argv);
int img_info_main(int argc, char **argv);
int img_map_main(int argc, char **argv);
int img_check_main(int argc, char **argv);
int img_convert_main(int argc, char **argv);

/* Print "vmm-img: <msg>" to stderr and return IMG_EXIT_ERROR. */
int img_fail(const char *fmt, ...) PRINTF(1, 2);
int img_usage(const char *msg);
/* "10G", "512M", "1024" -> bytes. */
int img_parse_size(const char *s, u64 *out);

/* Parse "key=value,key=value" options for create/convert. */
struct img_create_args {
	struct vmdk_create_opts c;
	char sub[40], adapter[24], hw[24];
};

int img_parse_o(const char *arg, struct img_create_args *a);
/* Print a JSON string literal (escaped). */
void img_json_str(const char *s);

#endif
