/* SPDX-License-Identifier: MIT */
/*
 * The `vmm` command line: one file per subcommand (cli_run.c,
 * cli_validate.c, cli_host_info.c); main.c dispatches. Only these files
 * and main.c exit the process (docs/conventions.md section 8).
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>

/* Exit statuses shared by every subcommand (vm.c documents those of a running VM). */
#define CLI_EXIT_OK	  0
#define CLI_EXIT_FAILURE  1 /* the VM could not be created, or a host error */
#define CLI_EXIT_USAGE	  2 /* bad command line or invalid spec */
#define CLI_EXIT_NO_ACCEL 3 /* the chosen accelerator is not available on this host */

#define CLI_MAX_SETS 64

int cli_run(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_host_info(int argc, char **argv);

/* What a subcommand's command line held, beyond the common options. */
struct cli_args {
	const char *sets[CLI_MAX_SETS]; /* --set KEY=VALUE, in order */
	unsigned nr_sets;
	bool no_file_check;	/* --no-file-check */
	const char *api_socket; /* --api-socket PATH */
	const char *restore;	/* --restore DIR */
	bool paused;		/* --paused */
	const char *seccomp;	/* --seccomp=ACTION (vmm run: the sandbox's action), or NULL */
	char **rest;		/* the operands */
	int nr_rest;
};

/* Options a subcommand accepts besides --help, --log, --verbose, --quiet. */
#define CLI_ACCEPT_SET		 (1u << 0)
#define CLI_ACCEPT_NO_FILE_CHECK (1u << 1)
#define CLI_ACCEPT_API_SOCKET	 (1u << 2)
#define CLI_ACCEPT_SECCOMP	 (1u << 3)
#define CLI_ACCEPT_RESTORE	 (1u << 4) /* --restore DIR and --paused */

/*
 * Parse a subcommand's options (argv[0] is the subcommand). usage is printed for --help (to
 * stdout) and after a bad option (to stderr), followed by the common options' help. Returns
 * -1 when the command should go on, otherwise the exit status to return at once.
 */
int cli_parse(int argc, char **argv, const char *usage, unsigned accept, struct cli_args *out);

#endif
