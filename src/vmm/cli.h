/* SPDX-License-Identifier: MIT */
/*
 * The `vmm` command line: one file per subcommand (cli_run.c,
 * cli_validate.c, cli_host_info.c); main.c dispatches. Only these files
 * and main.c exit the process (STYLE.md section 8).
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

/* Exit statuses shared by every subcommand (vm.c documents those of a running VM). */
#define CLI_EXIT_OK        0
#define CLI_EXIT_FAILURE   1 /* the VM could not be created, or a host error */
#define CLI_EXIT_USAGE     2 /* bad command line or invalid spec */
#define CLI_EXIT_NO_ACCEL  3 /* the chosen accelerator is not available on this host */

#define CLI_MAX_SETS 64

int cli_run(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_host_info(int argc, char **argv);

/* Handle an option every subcommand accepts (--log, --verbose, --quiet); true if it was one. */
struct option;
extern const char cli_common_help[];
int cli_common_option(int opt, const char *arg);

/* Collect a --set KEY=VALUE; returns CLI_EXIT_USAGE (with a message) when there are too many. */
int cli_add_set(const char **sets, unsigned *nr, const char *arg);

#define CLI_OPT_LOG     1000
#define CLI_OPT_VERBOSE 1001
#define CLI_OPT_QUIET   1002
#define CLI_COMMON_LONG_OPTIONS                                                                    \
	{ "log", required_argument, NULL, CLI_OPT_LOG },                                          \
		{ "verbose", no_argument, NULL, CLI_OPT_VERBOSE },                                 \
		{ "quiet", no_argument, NULL, CLI_OPT_QUIET }

#endif
