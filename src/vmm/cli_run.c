// SPDX-License-Identifier: MIT
/*
 * `vmm run [SPEC.json] [--api-socket PATH]`: build the VMM (event loop, host
 * signals, the control API when a socket is given by --api-socket or the
 * spec's control.path), then either create and boot the spec's VM at once or
 * wait for vm.create and vm.boot through the API, and run until the process
 * must end (vmm.h says when). A guest reset is done in place (vm.h).
 * `vmm run --restore DIR` continues the VM of a snapshot instead (snapshot.h).
 */
#include "vmm/cli.h"

#include "vmm/base/log.h"
#include "vmm/notify.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/spec.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char run_usage[] =
	"Usage: vmm run [OPTIONS] SPEC.json\n"
	"       vmm run [OPTIONS] --api-socket PATH [SPEC.json]\n"
	"       vmm run [OPTIONS] --restore DIR [--paused]\n"
	"\n"
	"Boot the virtual machine the spec describes and run it until it ends. With an API\n"
	"socket (--api-socket, or the spec's control.path) the VMM also serves its control API\n"
	"there (HTTP over a unix socket, mode 0600; `vmmctl` is its client); without a spec it\n"
	"waits for PUT /api/v1/vm.create (the body is a VM spec) and PUT /api/v1/vm.boot.\n"
	"With --restore, the VM of the snapshot in DIR (vmmctl snapshot, vm.snapshot) goes on\n"
	"from where it was: its spec is DIR/config.json, with the --set overrides (e.g. of\n"
	"serial.path); writable disks get a new delta on the image the snapshot froze.\n"
	"\n"
	"Options:\n"
	"      --set KEY=VALUE    override a spec field (repeatable), e.g. --set memory_mib=1024,\n"
	"                         --set accel=bt, --set boot.cmdline='console=ttyS0 quiet'\n"
	"      --api-socket PATH  serve the control API on PATH (replaces the spec's control.path)\n"
	"      --restore DIR      continue the VM of the snapshot in DIR\n"
	"      --paused           with --restore: leave the VM Paused (vm.resume runs it)\n"
	"      --seccomp=ACTION   what the sandbox does with a forbidden system call: trap (report\n"
	"                         it by name and exit 159; the default), kill (the kernel kills\n"
	"                         the process with SIGSYS), log (allow it; the kernel's audit log\n"
	"                         records it). \"sandbox\": false in the spec turns the sandbox off\n"
	"\n"
	"Exit status:\n"
	"  0      the guest powered off, or vmm.shutdown through the API\n"
	"  1      the VM could not be created (files, memory, devices)\n"
	"  2      usage error or invalid spec\n"
	"  3      the accelerator is not available on this host\n"
	"  4      the guest reset the machine and on_reset is \"exit\"\n"
	"  5      the guest triple-faulted and on_triple_fault is \"exit\"\n"
	"  6      the accelerator failed (e.g. a KVM internal error)\n"
	"  128+N  stopped by signal N (SIGTERM, SIGINT, SIGHUP); Ctrl-A x on a stdio console\n"
	"         counts as SIGINT\n"
	"  159    the sandbox stopped the VMM: a thread made a system call its seccomp\n"
	"         allow-list forbids (the log names it; \"sandbox\": false turns it off)\n"
	"  other  the status a test guest wrote to its debug-exit port\n";

static int run_load_spec(const struct cli_args *args, struct vm_spec *spec)
{
	struct diag d;
	int ret;

	diag_init(&d);
	ret = spec_load(args->rest[0], args->sets, args->nr_sets, SPEC_CHECK_FILES, spec, &d);
	if (ret < 0) {
		for (unsigned i = 0; i < d.nr; i++)
			log_err("%s%s%s", d.entries[i].path, d.entries[i].path[0] ? ": " : "",
				d.entries[i].msg);
		log_err("%s: not a valid VM spec; nothing was started", args->rest[0]);
	}
	diag_free(&d);
	return ret;
}

/* The snapshot's VM in the vmm; an exit status on failure, else -1. */
static int run_restore_vm(struct vmm *m, const struct cli_args *args)
{
	struct err err = { 0 };
	int ret = snapshot_restore_vm(m, args->restore, args->sets, args->nr_sets, !args->paused,
				      &err);

	if (ret < 0) {
		log_err("%s", err.msg);
		log_err("%s: not restored; nothing was started", args->restore);
		return ret == -ENODEV ? CLI_EXIT_NO_ACCEL : CLI_EXIT_FAILURE;
	}
	return -1;
}

/* Create and boot the spec's VM in the vmm; an exit status on failure, else -1. */
static int run_start_vm(struct vmm *m, struct vm_spec *spec)
{
	struct err err = { 0 };
	int ret = vmm_create_vm(m, spec, 0, &err);

	if (ret < 0) {
		log_err("%s", err.msg);
		return ret == -ENODEV ? CLI_EXIT_NO_ACCEL : CLI_EXIT_FAILURE;
	}
	if (vmm_boot_vm(m, &err) < 0) {
		log_err("%s", err.msg);
		return CLI_EXIT_FAILURE;
	}
	return -1;
}

/*
 * The sandbox and systemd see the vmm's events: the main thread locks down when the first VM
 * runs (its vCPU threads exist by then and never inherit the main list), then systemd hears
 * READY=1; every later event updates STATUS=, and the process's end sends STOPPING=1.
 */
static void run_on_event(void *opaque, const struct vmm_event *ev)
{
	struct vmm *m = opaque;

	if (!strcmp(ev->source, "vm") && !strcmp(ev->event, "booted") &&
	    sandbox_lockdown(SANDBOX_KIND_MAIN, "main") < 0) {
		vmm_request_exit(m, CLI_EXIT_FAILURE);
		return;
	}
	notify_vmm_event(ev);
}

int cli_run(int argc, char **argv)
{
	struct vmm_config cfg = { 0 };
	struct vm_spec spec = { 0 };
	struct err err = { 0 };
	struct cli_args args;
	bool have_spec;
	struct vmm *m;
	int ret;

	ret = cli_parse(argc, argv, run_usage,
			CLI_ACCEPT_SET | CLI_ACCEPT_API_SOCKET | CLI_ACCEPT_SECCOMP |
				CLI_ACCEPT_RESTORE,
			&args);
	if (ret >= 0)
		return ret;
	if (args.restore && args.nr_rest) {
		fprintf(stderr,
			"vmm run: --restore takes the spec from the snapshot: no spec file\n");
		return CLI_EXIT_USAGE;
	}
	if (args.paused && !args.restore) {
		fprintf(stderr, "vmm run: --paused goes with --restore\n");
		return CLI_EXIT_USAGE;
	}
	if (args.seccomp && sandbox_action_parse(args.seccomp, &cfg.seccomp) < 0) {
		fprintf(stderr, "vmm run: --seccomp: expected trap, kill or log, got '%s'\n",
			args.seccomp);
		return CLI_EXIT_USAGE;
	}
	if (args.nr_rest > 1 || (args.nr_rest == 0 && !args.api_socket && !args.restore)) {
		fprintf(stderr, "vmm run: expected one spec file, or --api-socket PATH\n");
		return CLI_EXIT_USAGE;
	}
	have_spec = args.nr_rest == 1;
	if (!have_spec && args.nr_sets && !args.restore) {
		fprintf(stderr, "vmm run: --set needs a spec file\n");
		return CLI_EXIT_USAGE;
	}
	if (have_spec && run_load_spec(&args, &spec) < 0)
		return CLI_EXIT_USAGE;
	cfg.api_socket = args.api_socket ? args.api_socket : spec.control.path;
	if (have_spec && args.api_socket && spec.control.path &&
	    strcmp(args.api_socket, spec.control.path))
		log_info("%s: --api-socket %s replaces control.path %s", spec.name, args.api_socket,
			 spec.control.path);
	if (notify_init(&err) < 0 || vmm_create(&cfg, &m, &err) < 0) {
		log_err("%s", err.msg);
		spec_free(&spec);
		notify_fini();
		return CLI_EXIT_FAILURE;
	}
	if (vmm_add_listener(m, run_on_event, m) < 0 || notify_attach(vmm_loop(m)) < 0) {
		log_err("vmm: cannot watch its own events");
		ret = CLI_EXIT_FAILURE;
		goto out;
	}
	if (have_spec || args.restore) {
		ret = args.restore ? run_restore_vm(m, &args) : run_start_vm(m, &spec);
		if (ret >= 0)
			goto out;
	}
	ret = vmm_run(m);
out:
	spec_free(&spec);
	notify_detach(vmm_loop(m));
	vmm_destroy(m);
	sandbox_release();
	notify_fini();
	return ret;
}
