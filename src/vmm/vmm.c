// SPDX-License-Identifier: MIT
/*
 * The VMM process (vmm.h): the main loop, host signals, the control server,
 * the current VM and the event log. The VM reports its events to
 * vmm_on_vm_event, which logs them, tells the vmm's listeners and decides
 * whether the process ends (the guest ended the VM by itself).
 */
#include "vmm/vmm.h"

#include "vmm/accel_select.h"
#include "vmm/base/log.h"
#include "vmm/console.h"
#include "vmm/control.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"
#include "vmm/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define VMM_MAX_LISTENERS 8
#define VMM_EXIT_DRAIN_NS (2ull * 1000000000ull) /* answers still owed at exit */

struct vmm {
	struct loop *loop;
	int sig_fd;
	struct control *ctl;
	struct worker *worker; /* with the control API: long operations (worker.h) */
	struct vm *vm;
	struct vm_spec spec; /* the VM's, while there is one */
	struct console *console;
	const struct accel_ops *accel;
	enum sandbox_action seccomp;
	bool exit_requested;
	int exit_status;
	/* vmm_begin_operation: a worker on the VM, cancelled before the VM goes. */
	const char *op_what;
	void (*op_cancel)(void *opaque);
	void *op_opaque;
	struct vmm_event events[VMM_EVENTS_KEPT]; /* ring: seq n at [(n - 1) % KEPT] */
	u64 next_seq;

	struct {
		vmm_listener_fn fn;
		void *opaque;
	} listeners[VMM_MAX_LISTENERS];

	unsigned nr_listeners;
};

/* ------------------------------------------------------------------------ events */

static void vmm_log_event(struct vmm *m, const char *source, const char *event, const char *reason,
			  const char *msg, int status)
{
	struct vmm_event *e = &m->events[(m->next_seq - 1) % VMM_EVENTS_KEPT];
	struct timespec ts;

	memset(e, 0, sizeof(*e));
	e->seq = m->next_seq++;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->wall_ns = (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
	snprintf(e->source, sizeof(e->source), "%s", source);
	snprintf(e->event, sizeof(e->event), "%s", event);
	snprintf(e->state, sizeof(e->state), "%s", m->vm ? vm_state_name(vm_state(m->vm)) : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "");
	e->status = status;
	for (unsigned i = 0; i < m->nr_listeners; i++)
		m->listeners[i].fn(m->listeners[i].opaque, e);
}

int vmm_add_listener(struct vmm *m, vmm_listener_fn fn, void *opaque)
{
	if (m->nr_listeners == VMM_MAX_LISTENERS)
		return -ENOSPC;
	m->listeners[m->nr_listeners].fn = fn;
	m->listeners[m->nr_listeners].opaque = opaque;
	m->nr_listeners++;
	return 0;
}

void vmm_del_listener(struct vmm *m, vmm_listener_fn fn, void *opaque)
{
	for (unsigned i = 0; i < m->nr_listeners; i++) {
		if (m->listeners[i].fn != fn || m->listeners[i].opaque != opaque)
			continue;
		memmove(&m->listeners[i], &m->listeners[i + 1],
			(m->nr_listeners - i - 1) * sizeof(m->listeners[0]));
		m->nr_listeners--;
		return;
	}
}

unsigned vmm_events(struct vmm *m, u64 since, struct vmm_event *out, unsigned max, u64 *next)
{
	u64 oldest = m->next_seq > VMM_EVENTS_KEPT ? m->next_seq - VMM_EVENTS_KEPT : 1;
	unsigned n = 0;

	*next = m->next_seq;
	for (u64 seq = since > oldest ? since : oldest; seq < m->next_seq && n < max; seq++)
		out[n++] = m->events[(seq - 1) % VMM_EVENTS_KEPT];
	return n;
}

void vmm_request_exit(struct vmm *m, int status)
{
	if (m->exit_requested)
		return;
	m->exit_requested = true;
	m->exit_status = status;
}

/* The VM's events: log them; a VM the guest (or a signal, or a failure) ended ends the process. */
static void vmm_on_vm_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
	struct vmm *m = opaque;

	vmm_log_event(m, "vm", vm_event_name(ev->type), ev->reason, ev->msg, ev->status);
	if (ev->type != VM_EVENT_SHUTDOWN || ev->end == VM_END_API)
		return;
	if (ev->end == VM_END_POWEROFF || ev->end == VM_END_DEBUG_EXIT)
		log_info("%s: %s (exit status %d)", vm->spec->name, ev->msg, ev->status);
	else
		log_err("%s: %s (exit status %d)", vm->spec->name, ev->msg, ev->status);
	vmm_request_exit(m, ev->status);
}

/* ------------------------------------------------------------------ host signals */

static void vmm_on_signal(void *opaque, int fd, u32 events)
{
	struct vmm *m = opaque;
	struct signalfd_siginfo si;
	int sig;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	sig = (int)si.ssi_signo;
	if (m->vm && (vm_state(m->vm) == VM_STATE_RUNNING || vm_state(m->vm) == VM_STATE_PAUSED)) {
		/* The VM goes to Shutdown first; its event ends the process with 128+N. */
		vm_request_end(m->vm, VM_END_SIGNAL, sig, "stopped by %s", strsignal(sig));
		return;
	}
	log_err("vmm: stopped by %s (exit status %d)", strsignal(sig), 128 + sig);
	vmm_request_exit(m, 128 + sig);
}

static int vmm_watch_signals(struct vmm *m, struct err *err)
{
	sigset_t set;
	int ret;

	/* Blocked in every thread (the vCPU threads inherit it); the loop reads a signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a console or API client that went away is not our death */
	m->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sig_fd < 0)
		return err_set(err, -errno, "vmm: signalfd: %s", strerror(errno));
	ret = loop_add(m->loop, m->sig_fd, EPOLLIN, vmm_on_signal, m);
	return ret < 0 ? err_set(err, ret, "vmm: cannot watch signals: %s", strerror(-ret)) : 0;
}

/* ---------------------------------------------------------------------- lifecycle */

static void vmm_cancel_operation(struct vmm *m)
{
	void (*cancel)(void *) = m->op_cancel;

	if (!m->op_what)
		return;
	log_info("%s: %s is cancelled", m->spec.name, m->op_what);
	vmm_end_operation(m);
	cancel(m->op_opaque);
}

int vmm_begin_operation(struct vmm *m, const char *what, void (*cancel)(void *opaque), void *opaque,
			struct err *err)
{
	if (m->op_what)
		return err_set(err, -EBUSY, "%s is in progress", m->op_what);
	m->op_what = what;
	m->op_cancel = cancel;
	m->op_opaque = opaque;
	return 0;
}

void vmm_end_operation(struct vmm *m)
{
	m->op_what = NULL;
	m->op_cancel = NULL;
	m->op_opaque = NULL;
}

const char *vmm_operation(struct vmm *m)
{
	return m->op_what;
}

void vmm_event(struct vmm *m, const char *event, const char *reason, const char *msg)
{
	vmm_log_event(m, "vm", event, reason, msg, 0);
}

/* Destroy the VM, its console and spec. */
static void vmm_drop_vm(struct vmm *m)
{
	vmm_cancel_operation(m);
	vm_del_listener(m->vm, vmm_on_vm_event, m);
	vm_destroy(m->vm);
	m->vm = NULL;
	console_close(m->console);
	m->console = NULL;
	spec_free(&m->spec);
	m->accel = NULL;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out, struct err *err)
{
	struct vmm *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return err_set(err, -ENOMEM, "vmm: out of memory");
	m->sig_fd = -1;
	m->next_seq = 1;
	m->seccomp = cfg->seccomp;
	ret = loop_create(&m->loop);
	if (ret < 0) {
		err_set(err, ret, "vmm: cannot create the event loop: %s", strerror(-ret));
		goto err_destroy;
	}
	ret = vmm_watch_signals(m, err);
	if (ret < 0)
		goto err_destroy;
	if (cfg->api_socket) {
		ret = worker_create(&m->worker, err);
		if (ret == 0)
			ret = control_create(m, cfg->api_socket, &m->ctl, err);
		if (ret < 0)
			goto err_destroy;
	}
	*out = m;
	return 0;

err_destroy:
	vmm_destroy(m);
	return ret;
}

void vmm_destroy(struct vmm *m)
{
	if (!m)
		return;
	if (m->vm)
		vmm_drop_vm(m);
	control_destroy(m->ctl);
	worker_destroy(m->worker);
	if (m->sig_fd >= 0) {
		loop_del(m->loop, m->sig_fd);
		close(m->sig_fd);
	}
	loop_destroy(m->loop);
	free(m);
}

int vmm_create_vm(struct vmm *m, struct vm_spec *spec, unsigned flags, struct err *err)
{
	char why[512];
	int ret;

	if (m->vm)
		return err_set(err, -EEXIST, "a VM (%s) exists already; vm.delete it first",
			       m->spec.name);
	m->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	if (accel_select(m->spec.accel, &m->accel, why, sizeof(why), err) < 0) {
		ret = -ENODEV;
		goto err_free_spec;
	}
	log_info("%s: %s", m->spec.name, why);
	/* Before any vCPU thread: the filters lock down once the VM runs (docs/sandbox.md). */
	ret = sandbox_prepare_vm(&m->spec, m->accel, m->ctl != NULL, m->seccomp, err);
	if (ret < 0)
		goto err_free_spec;
	ret = console_open(&m->spec.serial, m->spec.name, &m->console, err);
	if (ret < 0)
		goto err_free_spec;
	ret = vm_create(&m->spec, m->accel, m->console, flags, &m->vm, err);
	if (ret < 0) {
		err_prefix(err, "%s: cannot create the VM", m->spec.name);
		goto err_close_console;
	}
	ret = vm_add_listener(m->vm, vmm_on_vm_event, m);
	if (ret == 0)
		ret = vm_attach(m->vm, m->loop, err);
	if (ret < 0)
		goto err_destroy_vm;
	vmm_log_event(m, "vm", "created", "api", "the VM was created", 0);
	return 0;

err_destroy_vm:
	vm_destroy(m->vm);
	m->vm = NULL;
err_close_console:
	console_close(m->console);
	m->console = NULL;
err_free_spec:
	spec_free(&m->spec);
	m->accel = NULL;
	return ret;
}

int vmm_boot_vm(struct vmm *m, struct err *err)
{
	if (!m->vm)
		return err_set(err, -ENOENT, "no VM: vm.create one first");
	return vm_boot(m->vm, err);
}

int vmm_delete_vm(struct vmm *m, struct err *err)
{
	char name[SPEC_NAME_MAX + 1];

	if (!m->vm)
		return err_set(err, -ENOENT, "no VM to delete");
	if (m->op_what)
		return err_set(err, -EBUSY, "%s: cannot delete: %s is in progress", m->spec.name,
			       m->op_what);
	snprintf(name, sizeof(name), "%s", m->spec.name);
	vmm_drop_vm(m);
	vmm_log_event(m, "vm", "deleted", "api", "the VM was deleted", 0);
	log_info("%s: deleted", name);
	return 0;
}

int vmm_add_nic(struct vmm *m, struct nic_spec *ns, int tap_fd, struct err *err)
{
	struct nic_spec *grown;
	int ret;

	if (!m->vm)
		ret = err_set(err, -ENOENT, "no VM: vm.create one first");
	else if (vm_state(m->vm) != VM_STATE_CREATED)
		ret = err_set(
			err, -EBUSY,
			"the VM is %s: NICs are added before vm.boot (a PCI NIC into a "
			"running guest needs ACPI PCI hotplug, which this board does not have)",
			vm_state_name(vm_state(m->vm)));
	else if (m->spec.display.type != DISPLAY_NONE)
		/* it would take a slot after the card's, where a restore of its spec would not */
		ret = err_set(err, -EBUSY,
			      "the VM has a display: its NICs go in the spec (\"nics\"), so the "
			      "card keeps the slot after them");
	else if (!(grown = realloc(m->spec.nics, (m->spec.nr_nics + 1) * sizeof(*grown))))
		ret = err_set(err, -ENOMEM, "out of memory");
	else {
		m->spec.nics = grown;
		ret = vm_add_nic(m->vm, ns, m->spec.nr_nics, tap_fd, err);
		if (ret == 0) {
			m->spec.nics[m->spec.nr_nics++] = *ns;
			memset(ns, 0, sizeof(*ns));
			return 0;
		}
		return ret; /* the board closed tap_fd */
	}
	if (tap_fd >= 0)
		close(tap_fd);
	return ret;
}

struct vm *vmm_vm(struct vmm *m)
{
	return m->vm;
}

struct vm_spec *vmm_spec(struct vmm *m)
{
	return m->vm ? &m->spec : NULL;
}

struct loop *vmm_loop(struct vmm *m)
{
	return m->loop;
}

struct control *vmm_control(struct vmm *m)
{
	return m->ctl;
}

struct worker *vmm_worker(struct vmm *m)
{
	return m->worker;
}

const char *vmm_engine(struct vmm *m)
{
	return m->accel ? m->accel->name : NULL;
}

int vmm_run(struct vmm *m)
{
	u64 deadline;

	while (!m->exit_requested) {
		int ret = loop_run_once(m->loop, -1);

		if (ret < 0) {
			log_err("vmm: the event loop failed: %s", strerror(-ret));
			vmm_request_exit(m, 1);
		}
	}
	vmm_log_event(m, "vmm", "shutdown", NULL, "the VMM is exiting", m->exit_status);
	vmm_cancel_operation(m);
	/* Stop the guest first; then give API clients their last answers (bounded). */
	if (m->vm && (vm_state(m->vm) == VM_STATE_RUNNING || vm_state(m->vm) == VM_STATE_PAUSED)) {
		struct err err = { 0 };

		if (vm_shutdown(m->vm, &err) < 0)
			log_err("%s", err.msg);
	}
	deadline = loop_now_ns() + VMM_EXIT_DRAIN_NS;
	loop_run_once(m->loop, 0); /* posted work: long polls woken by the last events */
	while (m->ctl && control_owes_answers(m->ctl) && loop_now_ns() < deadline)
		loop_run_once(m->loop, 50);
	return m->exit_status;
}
