// SPDX-License-Identifier: MIT
/* `vmm validate SPEC.json`: check a spec and print every problem, not just the first. */
#include "vmm/cli.h"

#include "vmm/spec.h"

#include <stdio.h>

static const char validate_usage[] =
	"Usage: vmm validate [OPTIONS] SPEC.json\n"
	"\n"
	"Check a VM spec and print every problem found, one per line, as 'PATH: problem'.\n"
	"Exit status 0 when the spec is valid, 2 when it is not.\n"
	"\n"
	"Options:\n"
	"      --set KEY=VALUE  override a field before checking (repeatable), e.g.\n"
	"                       --set memory_mib=1024 --set boot.cmdline='console=ttyS0'\n"
	"      --no-file-check  do not check that the kernel, initrd and disk files exist\n";

int cli_validate(int argc, char **argv)
{
	struct cli_args args;
	struct vm_spec spec;
	struct diag d;
	int ret;

	ret = cli_parse(argc, argv, validate_usage, CLI_ACCEPT_SET | CLI_ACCEPT_NO_FILE_CHECK,
			&args);
	if (ret >= 0)
		return ret;
	if (args.nr_rest != 1) {
		fprintf(stderr, "vmm validate: expected one spec file\n\n%s", validate_usage);
		return CLI_EXIT_USAGE;
	}
	diag_init(&d);
	ret = spec_load(args.rest[0], args.sets, args.nr_sets,
			args.no_file_check ? 0 : SPEC_CHECK_FILES, &spec, &d);
	diag_print(&d, stdout);
	diag_free(&d);
	if (ret < 0) {
		fprintf(stderr, "vmm validate: %s: not a valid VM spec\n", args.rest[0]);
		return CLI_EXIT_USAGE;
	}
	printf("%s: valid (name %s, %u vCPU%s, %llu MiB, accel %s, boot %s)\n", args.rest[0],
	       spec.name, spec.vcpus, spec.vcpus == 1 ? "" : "s",
	       (unsigned long long)spec.memory_mib, spec_accel_name(spec.accel),
	       boot_kind_name(spec.boot.kind));
	spec_free(&spec);
	return CLI_EXIT_OK;
}
