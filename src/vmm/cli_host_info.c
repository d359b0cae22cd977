// SPDX-License-Identifier: MIT
/*
 * `vmm host-info`: what the host offers -- KVM and its API version, whether
 * there is real hardware assist and why (or why not), the capabilities this
 * VMM uses -- and which accelerator `accel: auto` would pick.
 */
#include "vmm/cli.h"

#include "vmm/accel_select.h"
#include "vmm/hostinfo.h"

#include <getopt.h>
#include <stdio.h>

static const char host_info_usage[] =
	"Usage: vmm host-info [OPTIONS]\n"
	"\n"
	"Show what this host offers for running VMs: /dev/kvm and its API version, the KVM\n"
	"capabilities this VMM uses, whether hardware virtualization (VT-x/AMD-V) is present\n"
	"and why or why not, and which accelerator 'accel: auto' would pick.\n"
	"\n"
	"Options:\n"
	"  -h, --help           show this text\n";

int cli_host_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct accel_ops *pick;
	struct host_info hi;
	char why[512];
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
		if ((ret = cli_common_option(opt, optarg)) != 0) {
			if (ret < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (opt == 'h') {
			fputs(host_info_usage, stdout);
			return CLI_EXIT_OK;
		}
		fputs(host_info_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "vmm host-info: takes no arguments\n");
		return CLI_EXIT_USAGE;
	}
	host_info_probe(&hi);
	host_info_print(&hi, stdout);
	pick = accel_select_auto(why, sizeof(why));
	printf("auto accelerator: %s\n  %s\n", pick->name, why);
	return CLI_EXIT_OK;
}
