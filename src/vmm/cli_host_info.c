// SPDX-License-Identifier: MIT
/*
 * `vmm host-info`: what the host offers -- KVM and its API version, whether
 * there is real hardware assist and why (or why not), the capabilities this
 * VMM uses -- and which accelerator `accel: auto` would pick.
 */
#include "vmm/cli.h"

#include "vmm/accel_select.h"
#include "vmm/hostinfo.h"

#include <stdio.h>

static const char host_info_usage[] =
	"Usage: vmm host-info [OPTIONS]\n"
	"\n"
	"Show what this host offers for running VMs: /dev/kvm and its API version, the KVM\n"
	"capabilities this VMM uses, whether hardware virtualization (VT-x/AMD-V) is present\n"
	"and why or why not, and which accelerator 'accel: auto' would pick.\n";

int cli_host_info(int argc, char **argv)
{
	const struct accel_ops *pick;
	struct cli_args args;
	struct host_info hi;
	char why[512];
	int ret;

	ret = cli_parse(argc, argv, host_info_usage, 0, &args);
	if (ret >= 0)
		return ret;
	if (args.nr_rest) {
		fprintf(stderr, "vmm host-info: takes no arguments\n");
		return CLI_EXIT_USAGE;
	}
	host_info_probe(&hi);
	host_info_print(&hi, stdout);
	pick = accel_select_auto(why, sizeof(why));
	printf("auto accelerator: %s\n  %s\n", pick->name, why);
	return CLI_EXIT_OK;
}
