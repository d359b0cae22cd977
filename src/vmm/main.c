// SPDX-License-Identifier: MIT
/*
 * vmm: run, validate and inspect virtual machines described by JSON specs.
 * main() dispatches to one function per subcommand (cli_*.c).
 */
#include "vmm/cli.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef VMM_VERSION
#define VMM_VERSION "unknown"
#endif

static const char main_usage[] =
	"Usage: vmm COMMAND [OPTIONS] ...\n"
	"\n"
	"Commands:\n"
	"  run SPEC.json        boot the virtual machine a spec describes\n"
	"  run --api-socket S   serve the control API on S and wait for vm.create\n"
	"  validate SPEC.json   check a spec and print every problem found\n"
	"  host-info            show what this host offers (KVM, hardware assist) and which\n"
	"                       accelerator 'accel: auto' would pick\n"
	"  help [COMMAND]       show this text, or a command's own help\n"
	"\n"
	"Options:\n"
	"  -h, --help           show this text\n"
	"  -V, --version        show the version\n"
	"\n"
	"Run 'vmm COMMAND --help' for a command's options.\n";

static const char cli_common_help[] =
	"\nCommon options:\n"
	"  -h, --help           show this text\n"
	"      --log=CATS       debug categories, comma-separated: pio, mmio, irq, bt, virtio,\n"
	"                       block, kvm, boot, dev, all\n"
	"  -v, --verbose        more messages\n"
	"  -q, --quiet          errors only\n";

static int cli_usage_error(const char *usage)
{
	fprintf(stderr, "%s%s", usage, cli_common_help);
	return CLI_EXIT_USAGE;
}

int cli_parse(int argc, char **argv, const char *usage, unsigned accept, struct cli_args *out)
{
	enum {
		OPT_LOG = 1000,
		OPT_SET,
		OPT_NO_FILE_CHECK,
		OPT_API_SOCKET,
		OPT_RESTORE,
		OPT_PAUSED,
		OPT_SECCOMP,
	};
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "set", required_argument, NULL, OPT_SET },
		{ "no-file-check", no_argument, NULL, OPT_NO_FILE_CHECK },
		{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "paused", no_argument, NULL, OPT_PAUSED },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(out, 0, sizeof(*out));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			printf("%s%s", usage, cli_common_help);
			return CLI_EXIT_OK;
		case 'v':
			log_min_level = LOG_LEVEL_DEBUG;
			break;
		case 'q':
			log_min_level = LOG_LEVEL_ERR;
			break;
		case OPT_LOG:
			if (log_set_categories(optarg) < 0) {
				fprintf(stderr, "vmm: --log: unknown category in '%s'\n", optarg);
				return CLI_EXIT_USAGE;
			}
			log_min_level = LOG_LEVEL_DEBUG;
			break;
		case OPT_SET:
			if (!(accept & CLI_ACCEPT_SET))
				return cli_usage_error(usage);
			if (out->nr_sets >= CLI_MAX_SETS) {
				fprintf(stderr, "vmm: too many --set options (at most %d)\n",
					CLI_MAX_SETS);
				return CLI_EXIT_USAGE;
			}
			out->sets[out->nr_sets++] = optarg;
			break;
		case OPT_NO_FILE_CHECK:
			if (!(accept & CLI_ACCEPT_NO_FILE_CHECK))
				return cli_usage_error(usage);
			out->no_file_check = true;
			break;
		case OPT_API_SOCKET:
			if (!(accept & CLI_ACCEPT_API_SOCKET))
				return cli_usage_error(usage);
			out->api_socket = optarg;
			break;
		case OPT_RESTORE:
		case OPT_PAUSED:
			if (!(accept & CLI_ACCEPT_RESTORE))
				return cli_usage_error(usage);
			if (opt == OPT_RESTORE)
				out->restore = optarg;
			else
				out->paused = true;
			break;
		case OPT_SECCOMP:
			if (!(accept & CLI_ACCEPT_SECCOMP))
				return cli_usage_error(usage);
			out->seccomp = optarg;
			break;
		default:
			return cli_usage_error(usage);
		}
	}
	out->rest = argv + optind;
	out->nr_rest = argc - optind;
	return -1;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} main_commands[] = {
	{ "run", cli_run },
	{ "validate", cli_validate },
	{ "host-info", cli_host_info },
};

static int main_dispatch(const char *cmd, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++)
		if (!strcmp(cmd, main_commands[i].name))
			return main_commands[i].fn(argc, argv);
	fprintf(stderr, "vmm: unknown command '%s'\n\n%s", cmd, main_usage);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(main_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("vmm %s\n", VMM_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		char *help_argv[] = { argv[2], (char *)"--help", NULL };

		if (argc < 3) {
			fputs(main_usage, stdout);
			return CLI_EXIT_OK;
		}
		return main_dispatch(argv[2], 2, help_argv);
	}
	return main_dispatch(argv[1], argc - 1, argv + 1);
}
