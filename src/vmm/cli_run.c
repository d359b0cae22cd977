// SPDX-License-Identifier: MIT
/*
 * `vmm run SPEC.json`: validate the spec, choose the accelerator, open the
 * serial console, then create and run the VM until it ends. A guest reset
 * (with on_reset "restart") or a triple fault (with on_triple_fault "reset")
 * rebuilds the VM from the spec, as a power cycle would; the console stays.
 */
#include "vmm/cli.h"

#include "vmm/accel_select.h"
#include "vmm/base/log.h"
#include "vmm/console.h"
#include "vmm/notify.h"
#include "vmm/sandbox.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char run_usage[] =
	"Usage: vmm run [OPTIONS] SPEC.json\n"
	"\n"
	"Boot the virtual machine the spec describes and run it until it ends.\n"
	"\n"
	"Options:\n"
	"      --set KEY=VALUE  override a spec field (repeatable), e.g. --set memory_mib=1024,\n"
	"                       --set accel=bt, --set boot.cmdline='console=ttyS0 quiet'\n"
	"      --seccomp=ACTION what the sandbox does with a forbidden system call: trap (report\n"
	"                       it by name and exit 159; the default), kill (the kernel kills the\n"
	"                       process with SIGSYS), log (allow it; the kernel's audit log\n"
	"                       records it). \"sandbox\": false in the spec turns the sandbox off\n"
	"\n"
	"Exit status:\n"
	"  0      the guest powered off\n"
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

static void run_block_signals(void)
{
	sigset_t set;

	/* Blocked in every thread (the vCPU threads inherit it); the main loop reads a signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a console client that went away is not our death */
}

/* Should the VM be rebuilt after this end? */
static bool run_restarts(const struct vm_spec *spec, enum vm_end end)
{
	if (end == VM_END_RESET)
		return spec->on_reset == SPEC_ON_RESET_RESTART;
	if (end == VM_END_TRIPLE_FAULT)
		return spec->on_triple_fault == SPEC_ON_TRIPLE_FAULT_RESET;
	return false;
}

static int run_vm(const struct vm_spec *spec, const struct accel_ops *accel,
		  struct console *console)
{
	for (unsigned boots = 1;; boots++) {
		struct err err = { 0 };
		struct vm *vm;
		enum vm_end end;
		int status;

		if (vm_create(spec, accel, console, &vm, &err) < 0) {
			log_err("%s: cannot create the VM: %s", spec->name, err.msg);
			return CLI_EXIT_FAILURE;
		}
		end = vm_run(vm);
		if (vm->stop_signal && end != VM_END_SIGNAL) {
			/* The host asked us to stop while the guest was resetting: stop. */
			log_info("%s: %s", spec->name, vm->end_msg);
			end = VM_END_SIGNAL;
			vm->end_status = vm->stop_signal;
			snprintf(vm->end_msg, sizeof(vm->end_msg), "stopped by %s",
				 strsignal(vm->stop_signal));
		}
		status = vm_end_exit_status(end, vm->end_status);
		if (run_restarts(spec, end)) {
			log_info("%s: %s; restarting (boot %u)", spec->name, vm->end_msg,
				 boots + 1);
			notify_status("Rebooting: %s", vm->end_msg);
			vm_destroy(vm);
			continue;
		}
		notify_stopping("Shutdown: %s (exit status %d)", vm->end_msg, status);
		if (end == VM_END_POWEROFF || end == VM_END_DEBUG_EXIT)
			log_info("%s: %s (exit status %d)", spec->name, vm->end_msg, status);
		else
			log_err("%s: %s (exit status %d)", spec->name, vm->end_msg, status);
		vm_destroy(vm);
		return status;
	}
}

/* The seccomp sandbox and the systemd watchdog, set up before the first vCPU thread. */
static int run_prepare_sandbox(const struct vm_spec *spec, const struct accel_ops *accel,
			       enum sandbox_action action, struct err *err)
{
	static const enum sandbox_probe probes[] = {
		[SPEC_FORBIDDEN_SYSCALL_NONE] = SANDBOX_PROBE_NONE,
		[SPEC_FORBIDDEN_SYSCALL_MAIN] = SANDBOX_PROBE_MAIN,
		[SPEC_FORBIDDEN_SYSCALL_VCPU] = SANDBOX_PROBE_VCPU,
	};
	struct sandbox_config cfg = {
		.enabled = !spec->sandbox_off,
		.action = action,
		.accel = accel,
		.rebuild =
			run_restarts(spec, VM_END_RESET) || run_restarts(spec, VM_END_TRIPLE_FAULT),
		.probe = probes[spec->debug.forbidden_syscall],
		.name = spec->name,
	};
	int ret = notify_init(err);

	return ret < 0 ? ret : sandbox_prepare(&cfg, err);
}

int cli_run(int argc, char **argv)
{
	enum sandbox_action action = SANDBOX_ACTION_TRAP;
	const struct accel_ops *accel;
	struct console *console = NULL;
	struct err err = { 0 };
	struct cli_args args;
	struct vm_spec spec;
	char why[512];
	struct diag d;
	int ret;

	ret = cli_parse(argc, argv, run_usage, CLI_ACCEPT_SET | CLI_ACCEPT_SECCOMP, &args);
	if (ret >= 0)
		return ret;
	if (args.seccomp && sandbox_action_parse(args.seccomp, &action) < 0) {
		fprintf(stderr, "vmm run: --seccomp: expected trap, kill or log, got '%s'\n",
			args.seccomp);
		return CLI_EXIT_USAGE;
	}
	if (args.nr_rest != 1) {
		fprintf(stderr, "vmm run: expected one spec file\n");
		return CLI_EXIT_USAGE;
	}
	diag_init(&d);
	ret = spec_load(args.rest[0], args.sets, args.nr_sets, SPEC_CHECK_FILES, &spec, &d);
	if (ret < 0) {
		for (unsigned i = 0; i < d.nr; i++)
			log_err("%s%s%s", d.entries[i].path, d.entries[i].path[0] ? ": " : "",
				d.entries[i].msg);
		log_err("%s: not a valid VM spec; nothing was started", args.rest[0]);
		diag_free(&d);
		return CLI_EXIT_USAGE;
	}
	diag_free(&d);

	if (accel_select(spec.accel, &accel, why, sizeof(why), &err) < 0) {
		log_err("%s: %s", spec.name, err.msg);
		spec_free(&spec);
		return CLI_EXIT_NO_ACCEL;
	}
	log_info("%s: %s", spec.name, why);
	run_block_signals();
	if (console_open(&spec.serial, spec.name, &console, &err) < 0) {
		log_err("%s: %s", spec.name, err.msg);
		spec_free(&spec);
		return CLI_EXIT_FAILURE;
	}
	if (run_prepare_sandbox(&spec, accel, action, &err) < 0) {
		log_err("%s: %s", spec.name, err.msg);
		ret = CLI_EXIT_FAILURE;
	} else {
		ret = run_vm(&spec, accel, console);
	}
	console_close(console);
	sandbox_release();
	notify_fini();
	spec_free(&spec);
	return ret;
}
