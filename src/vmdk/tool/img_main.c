// SPDX-License-Identifier: MIT
/*
 * vmm-img entry point: subcommand dispatch, usage text, shared argument helpers.
 * See img.h for the exit statuses.
 */
#include "vmdk/tool/img.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char img_usage_text[] =
	"usage: vmm-img <command> [options]\n"
	"  create [-f raw|vmdk] [-o subformat=S,adapter_type=A,hwversion=H,zeroed_grain=on]\n"
	"         [-b PARENT] FILE [SIZE]\n"
	"  info [--json] [--allow-outside] FILE\n"
	"  check [--repair] [--json] FILE\n"
	"  convert [-f FMT] [-O raw|vmdk] [-o subformat=S,...] [-p] [--engine E] [--buffered]\n"
	"          SRC DST\n"
	"  snapshot BASE CHILD          create CHILD as a delta on top of BASE\n"
	"  commit CHILD                 merge CHILD's grains into its parent\n"
	"  map [--json] FILE\n"
	"subformats: monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat\n"
	"            streamOptimized vmfs\n"
	"exit status: 0 ok, 1 error, 2 check found corruption, 3 check found leaks only,\n"
	"             64 usage\n";

int img_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vmm-img: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return IMG_EXIT_ERROR;
}

int img_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vmm-img: %s\n", msg);
	fputs(img_usage_text, stderr);
	return IMG_EXIT_USAGE;
}

int img_parse_size(const char *s, u64 *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int img_parse_o(const char *arg, struct img_create_args *a)
{
	char *copy = strdup(arg), *save = NULL, *kv;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (kv = strtok_r(copy, ",", &save); kv && !ret; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (!v) {
			ret = -EINVAL;
			break;
		}
		*v++ = 0;
		if (!strcmp(kv, "subformat")) {
			snprintf(a->sub, sizeof(a->sub), "%s", v);
			a->c.subformat = a->sub;
		} else if (!strcmp(kv, "adapter_type")) {
			snprintf(a->adapter, sizeof(a->adapter), "%s", v);
			a->c.adapter = a->adapter;
		} else if (!strcmp(kv, "hwversion")) {
			snprintf(a->hw, sizeof(a->hw), "%s", v);
			a->c.hwversion = a->hw;
		} else if (!strcmp(kv, "zeroed_grain")) {
			a->c.zeroed_grain = !strcmp(v, "on");
		} else {
			ret = -EINVAL;
		}
	}
	free(copy);
	return ret;
}

void img_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "create", img_create_main },	   { "info", img_info_main },
		{ "check", img_check_main },	   { "convert", img_convert_main },
		{ "snapshot", img_snapshot_main }, { "commit", img_commit_main },
		{ "map", img_map_main },
	};

	log_min_level = LOG_LEVEL_WARN;
	if (argc < 2)
		return img_usage(NULL);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(img_usage_text, stdout);
		return IMG_EXIT_OK;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return img_usage("unknown command");
}
