// SPDX-License-Identifier: MIT
/* `vmm validate SPEC.json`: check a spec and print every problem, not just the first. */
#include "vmm/cli.h"

#include "vmm/spec.h"

#include <getopt.h>
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
	"      --no-file-check  do not check that the kernel, initrd and disk files exist\n"
	"  -h, --help           show this text\n";

int cli_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 's' },
		{ "no-file-check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *sets[CLI_MAX_SETS];
	unsigned nr_sets = 0, flags = SPEC_CHECK_FILES;
	struct vm_spec spec;
	struct diag d;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
		if ((ret = cli_common_option(opt, optarg)) != 0) {
			if (ret < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 's':
			if (cli_add_set(sets, &nr_sets, optarg))
				return CLI_EXIT_USAGE;
			break;
		case 'n':
			flags &= ~(unsigned)SPEC_CHECK_FILES;
			break;
		case 'h':
			fputs(validate_usage, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(validate_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmm validate: expected one spec file\n\n%s", validate_usage);
		return CLI_EXIT_USAGE;
	}
	diag_init(&d);
	ret = spec_load(argv[optind], sets, nr_sets, flags, &spec, &d);
	diag_print(&d, stdout);
	diag_free(&d);
	if (ret < 0) {
		fprintf(stderr, "vmm validate: %s: not a valid VM spec\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	printf("%s: valid (name %s, %u vCPU%s, %llu MiB, accel %s, boot %s)\n", argv[optind],
	       spec.name, spec.vcpus, spec.vcpus == 1 ? "" : "s",
	       (unsigned long long)spec.memory_mib, spec_accel_name(spec.accel),
	       boot_kind_name(spec.boot.kind));
	spec_free(&spec);
	return CLI_EXIT_OK;
}
