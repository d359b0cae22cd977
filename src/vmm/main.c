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

const char cli_common_help[] =
	"      --log=CATS       debug categories, comma-separated: pio, mmio, irq, bt, virtio,\n"
	"                       block, kvm, boot, dev, all\n"
	"  -v, --verbose        more messages\n"
	"  -q, --quiet          errors only\n";

int cli_common_option(int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_LOG:
		if (log_set_categories(arg) < 0) {
			fprintf(stderr, "vmm: --log: unknown category in '%s'\n", arg);
			return -EINVAL;
		}
		log_min_level = LOG_LEVEL_DEBUG;
		return 1;
	case CLI_OPT_VERBOSE:
	case 'v':
		log_min_level = LOG_LEVEL_DEBUG;
		return 1;
	case CLI_OPT_QUIET:
	case 'q':
		log_min_level = LOG_LEVEL_ERR;
		return 1;
	}
	return 0;
}

int cli_add_set(const char **sets, unsigned *nr, const char *arg)
{
	if (*nr >= CLI_MAX_SETS) {
		fprintf(stderr, "vmm: too many --set options (at most %d)\n", CLI_MAX_SETS);
		return CLI_EXIT_USAGE;
	}
	sets[(*nr)++] = arg;
	return 0;
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
