// SPDX-License-Identifier: MIT
/*
 * The control API's endpoints (control.h), Cloud Hypervisor's names and
 * state strings (docs/management.md lists them; config/vmm-api.yaml is the
 * OpenAPI description a test keeps in step with this table):
 *
 *   GET  /api/v1/vmm.ping         {build_version, version, pid, features}
 *   PUT  /api/v1/vmm.shutdown     end the process (status 0)
 *   PUT  /api/v1/vm.create        body: a VM spec (the same schema and checks as a spec file)
 *   PUT  /api/v1/vm.boot          Created or Shutdown -> Running
 *   PUT  /api/v1/vm.delete        destroy the VM
 *   GET  /api/v1/vm.info          {config, state, memory_actual_size, engine}
 *   GET  /api/v1/vm.counters      {group: {counter: integer}}
 *   PUT  /api/v1/vm.set-link      {"id": "net0", "up": false}: a NIC's link (the guest sees
 *                                 carrier lost or back)
 *   PUT  /api/v1/vm.add-net       body: one "nics" entry, with an open tap fd by SCM_RIGHTS
 *                                 if wanted; Created state only (no PCI hotplug)
 *   PUT  /api/v1/vm.pause, vm.resume, vm.reboot, vm.power-button, vm.shutdown, vm.nmi
 *   GET  /api/v1/vm.events?since=N&timeout=S   a long poll: events with seq >= N, waiting up
 *                                 to S seconds (default 30, at most 300) for the first one
 *   GET  /api/v1/vm.screenshot    the display's screen as image/png (docs/display.md)
 *   GET  /api/v1/vm.screen-text   {text}: a text-mode screen's characters, one line a row
 *   GET  /api/v1/vm.guestinfo     {KEY: value}: the guestinfo variables (docs/hypercall.md)
 *   PUT  /api/v1/vm.guestinfo     body {KEY: value or null}: set or remove variables
 *   PUT  /api/v1/vm.tools-halt, vm.tools-reboot   ask the guest's VMware tools to shut the
 *                                 guest down or reboot it (TCLO OS_Halt, OS_Reboot)
 *
 * Adding an endpoint: a handler (answer with control_reply*, now or later) and one entry in
 * control_vm_register's table.
 */
#include "vmm/control.h"

#include "vmm/base/log.h"
#include "vmm/display/display.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VMM_VERSION
#define VMM_VERSION "unknown"
#endif

#define CONTROL_VM_EVENTS_MAX	64  /* events in one vm.events answer */
#define CONTROL_VM_WAIT_DEFAULT 30  /* seconds a vm.events long poll waits by default */
#define CONTROL_VM_WAIT_MAX	300 /* ... and at most */
#define CONTROL_VM_SPEC_ERRORS	32  /* problems listed in an InvalidSpec answer */

struct control_vm;

/* An open vm.events long poll. */
struct control_vm_waiter {
	struct control_vm *cv;
	struct control_call *call;
	u64 since;
	struct loop_timer timer;
	struct control_vm_waiter *next;
};

/* A lifecycle action endpoint: PUT, no body, 204 on success. */
struct control_vm_action {
	struct control_vm *cv;
	int (*fn)(struct vm *vm, struct err *err);
};

static int control_vm_shutdown_vm(struct vm *vm, struct err *err)
{
	return vm_shutdown(vm, err);
}

static const struct {
	const char *path;
	int (*fn)(struct vm *vm, struct err *err);
} control_vm_actions[] = {
	{ "/api/v1/vm.pause", vm_pause },
	{ "/api/v1/vm.resume", vm_resume },
	{ "/api/v1/vm.reboot", vm_reboot },
	{ "/api/v1/vm.power-button", vm_power_button },
	{ "/api/v1/vm.shutdown", control_vm_shutdown_vm },
	{ "/api/v1/vm.nmi", vm_nmi },
};

#define CONTROL_VM_NR_ACTIONS (sizeof(control_vm_actions) / sizeof(control_vm_actions[0]))

struct control_vm {
	struct control *ctl;
	struct vmm *vmm;
	struct control_vm_waiter *waiters;
	bool wake_posted; /* control_vm_wake_waiters is queued on the loop */
	struct control_vm_action actions[CONTROL_VM_NR_ACTIONS];
};

/* ------------------------------------------------------------------------ helpers */

static void control_vm_reply_json(struct control_call *call, int status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (text)
		control_reply(call, status, text);
	else
		control_reply_error(call, 500, "InternalError", "out of memory");
	free(text);
	json_decref(j);
}

static struct vm *control_vm_need_vm(struct control_vm *cv, struct control_call *call)
{
	struct vm *vm = vmm_vm(cv->vmm);

	if (!vm)
		control_reply_error(call, 404, "NotCreated", "no VM: vm.create one first");
	return vm;
}

/* Unsigned decimal value of parameter name in query; 1 found, 0 absent, -1 malformed. */
static int control_vm_query_u64(const char *query, const char *name, u64 *out)
{
	size_t nlen = strlen(name);

	for (const char *p = query; *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			u64 v = 0;

			if (len == nlen + 1)
				return -1;
			for (size_t i = nlen + 1; i < len; i++) {
				if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
					return -1;
				v = v * 10 + (u64)(p[i] - '0');
			}
			*out = v;
			return 1;
		}
		p += len + (end ? 1 : 0);
	}
	return 0;
}

/* ---------------------------------------------------------------------- endpoints */

static void control_vm_ping(void *opaque, struct control_call *call, const struct control_req *req)
{
	(void)opaque;
	(void)req;
	control_vm_reply_json(call, 200,
			      json_pack("{s:s,s:s,s:i,s:[s,s,s,s,s]}", "build_version", VMM_VERSION,
					"version", VMM_VERSION, "pid", (int)getpid(), "features",
					"kvm", "bt", "vmdk", "events", "fds"));
}

static void control_vm_vmm_shutdown(void *opaque, struct control_call *call,
				    const struct control_req *req)
{
	struct control_vm *cv = opaque;

	(void)req;
	log_info("api: vmm.shutdown: exiting");
	control_reply(call, 204, NULL);
	vmm_request_exit(cv->vmm, 0);
}

/* 400 InvalidSpec with every problem the parser found. */
static void control_vm_invalid_spec(struct control_call *call, const struct diag *d)
{
	json_t *errors = json_array(), *j;
	char desc[600];

	for (unsigned i = 0; i < d->nr && i < CONTROL_VM_SPEC_ERRORS; i++)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "path", d->entries[i].path,
							"message", d->entries[i].msg));
	if (d->nr)
		snprintf(desc, sizeof(desc), "%s%s%s%s", d->entries[0].path,
			 d->entries[0].path[0] ? ": " : "", d->entries[0].msg,
			 d->nr > 1 ? " (and more: see errors)" : "");
	else
		snprintf(desc, sizeof(desc), "not a valid VM spec");
	j = json_pack("{s:{s:s,s:s,s:o}}", "error", "class", "InvalidSpec", "desc", desc, "errors",
		      errors);
	control_vm_reply_json(call, 400, j);
}

static void control_vm_create(void *opaque, struct control_call *call,
			      const struct control_req *req)
{
	struct control_vm *cv = opaque;
	struct vm_spec spec = { 0 };
	struct err err = { 0 };
	json_error_t je;
	struct diag d;
	json_t *probe;
	int ret;

	if (vmm_vm(cv->vmm)) {
		control_reply_error(call, 409, "AlreadyCreated",
				    "a VM exists already: vm.delete it first");
		return;
	}
	probe = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!probe) {
		control_reply_error(call, 400, "InvalidJson",
				    "the body is not JSON: line %d, "
				    "column %d: %s",
				    je.line, je.column, je.text);
		return;
	}
	json_decref(probe);
	diag_init(&d);
	/* Relative paths in an API spec resolve against the VMM's working directory. */
	if (spec_parse_string(req->body, NULL, NULL, 0, SPEC_CHECK_FILES, &spec, &d) < 0) {
		control_vm_invalid_spec(call, &d);
		diag_free(&d);
		return;
	}
	diag_free(&d);
	if (spec.control.path && strcmp(spec.control.path, control_path(cv->ctl))) {
		control_reply_error(
			call, 400, "InvalidSpec",
			"control.path: this VMM serves its API on %s; a spec sent to "
			"vm.create cannot move it (leave control out, or give that path)",
			control_path(cv->ctl));
		spec_free(&spec);
		return;
	}
	ret = vmm_create_vm(cv->vmm, &spec, 0, &err);
	spec_free(&spec);
	if (ret == -ENODEV || ret == -EEXIST)
		control_reply_errno(call, ret, &err);
	else if (ret < 0)
		control_reply_error(call, 500, "CreateFailed", "%s", err.msg);
	else
		control_reply(call, 204, NULL);
}

/* vm.boot and vm.delete: a vmm call on the existing VM, 204 when it succeeds. */
static void control_vm_vmm_call(struct control_vm *cv, struct control_call *call,
				int (*fn)(struct vmm *m, struct err *err))
{
	struct err err = { 0 };
	int ret;

	if (!control_vm_need_vm(cv, call))
		return;
	ret = fn(cv->vmm, &err);
	if (ret < 0)
		control_reply_errno(call, ret, &err);
	else
		control_reply(call, 204, NULL);
}

static void control_vm_boot(void *opaque, struct control_call *call, const struct control_req *req)
{
	(void)req;
	control_vm_vmm_call(opaque, call, vmm_boot_vm);
}

static void control_vm_delete(void *opaque, struct control_call *call,
			      const struct control_req *req)
{
	(void)req;
	control_vm_vmm_call(opaque, call, vmm_delete_vm);
}

static void control_vm_action(void *opaque, struct control_call *call,
			      const struct control_req *req)
{
	struct control_vm_action *a = opaque;
	struct err err = { 0 };
	struct vm *vm = control_vm_need_vm(a->cv, call);
	int ret;

	(void)req;
	if (!vm)
		return;
	ret = a->fn(vm, &err);
	if (ret < 0)
		control_reply_errno(call, ret, &err);
	else
		control_reply(call, 204, NULL);
}

static void control_vm_info(void *opaque, struct control_call *call, const struct control_req *req)
{
	struct control_vm *cv = opaque;
	struct vm *vm = control_vm_need_vm(cv, call);
	char *config;
	json_t *cfg;

	(void)req;
	if (!vm)
		return;
	config = spec_to_json(vm->spec);
	cfg = config ? json_loads(config, 0, NULL) : NULL;
	free(config);
	if (!cfg) {
		control_reply_error(call, 500, "InternalError", "out of memory");
		return;
	}
	control_vm_reply_json(call, 200,
			      json_pack("{s:o,s:s,s:I,s:s}", "config", cfg, "state",
					vm_state_name(vm_state(vm)), "memory_actual_size",
					(json_int_t)vm_memory_bytes(vm), "engine",
					vmm_engine(cv->vmm)));
}

static void control_vm_counter(void *opaque, const char *group, const char *name, u64 value)
{
	json_t *all = opaque, *g = json_object_get(all, group);

	if (!g) {
		g = json_object();
		json_object_set_new(all, group, g);
	}
	json_object_set_new(g, name, json_integer((json_int_t)value));
}

static void control_vm_counters(void *opaque, struct control_call *call,
				const struct control_req *req)
{
	struct control_vm *cv = opaque;
	struct vm *vm = control_vm_need_vm(cv, call);
	json_t *all;

	(void)req;
	if (!vm)
		return;
	all = json_object();
	vm_counters(vm, control_vm_counter, all);
	control_vm_reply_json(call, 200, all);
}

/* ------------------------------------------------------------------ NICs */

static void control_vm_set_link(void *opaque, struct control_call *call,
				const struct control_req *req)
{
	struct control_vm *cv = opaque;
	struct vm *vm = control_vm_need_vm(cv, call);
	struct err err = { 0 };
	json_t *body, *id, *up;
	int ret;

	if (!vm)
		return;
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	id = json_object_get(body, "id");
	up = json_object_get(body, "up");
	if (!json_is_object(body) || !json_is_string(id) || !json_is_boolean(up) ||
	    json_object_size(body) != 2) {
		json_decref(body);
		control_reply_error(call, 400, "BadRequest",
				    "expected {\"id\": \"net0\", \"up\": true|false}");
		return;
	}
	ret = vm_set_link(vm, json_string_value(id), json_is_true(up), &err);
	json_decref(body);
	if (ret == -ENOENT)
		control_reply_error(call, 404, "NoSuchDevice", "%s", err.msg);
	else if (ret < 0)
		control_reply_errno(call, ret, &err);
	else
		control_reply(call, 204, NULL);
}

static void control_vm_add_net(void *opaque, struct control_call *call,
			       const struct control_req *req)
{
	struct control_vm *cv = opaque;
	struct vm *vm = control_vm_need_vm(cv, call);
	struct err err = { 0 };
	struct nic_spec ns;
	struct diag d;
	int fd = -1, ret;

	if (!vm)
		return;
	if (req->nr_fds > 1) {
		control_reply_error(call, 400, "BadRequest",
				    "one tap fd at most (a NIC added here has one queue)");
		return;
	}
	diag_init(&d);
	if (spec_add_nic(vm->spec, req->body, &ns, &d) < 0) {
		control_vm_invalid_spec(call, &d);
		diag_free(&d);
		return;
	}
	diag_free(&d);
	if (req->nr_fds == 1) {
		if (ns.backend != NIC_BACKEND_TAP || ns.queues > 1) {
			spec_nic_free(&ns);
			control_reply_error(call, 400, "BadRequest",
					    "an fd comes only with a one-queue \"tap\" NIC");
			return;
		}
		fd = req->fds[0];
		req->fds[0] = -1; /* ours now */
	}
	ret = vmm_add_nic(cv->vmm, &ns, fd, &err);
	spec_nic_free(&ns); /* empty when it was taken */
	if (ret == -EBUSY || ret == -ENOENT)
		control_reply_errno(call, ret, &err);
	else if (ret < 0)
		control_reply_error(call, 400, "BadBackend", "%s", err.msg);
	else
		control_reply(call, 204, NULL);
}

/* ------------------------------------------------------------------ the display */

static struct display *control_vm_need_display(struct control_vm *cv, struct control_call *call)
{
	struct vm *vm = control_vm_need_vm(cv, call);
	struct display *d = vm ? vm_display(vm) : NULL;

	if (vm && !d)
		control_reply_error(call, 404, "NoDisplay",
				    "the VM has no display (the spec's display section)");
	return d;
}

static void control_vm_screenshot(void *opaque, struct control_call *call,
				  const struct control_req *req)
{
	struct display *d = control_vm_need_display(opaque, call);
	struct err err = { 0 };
	size_t len;
	u8 *png;

	(void)req;
	if (!d)
		return;
	if (display_screenshot(d, &png, &len, &err) < 0) {
		control_reply_error(call, 500, "InternalError", "%s", err.msg);
		return;
	}
	control_reply_body(call, 200, "image/png", png, len);
	free(png);
}

static void control_vm_screen_text(void *opaque, struct control_call *call,
				   const struct control_req *req)
{
	struct display *d = control_vm_need_display(opaque, call);
	struct err err = { 0 };
	char *text;
	int ret;

	(void)req;
	if (!d)
		return;
	ret = display_screen_text(d, &text, &err);
	if (ret == -ENOTSUP) {
		control_reply_error(call, 409, "NotTextMode", "%s", err.msg);
		return;
	}
	if (ret < 0) {
		control_reply_error(call, 500, "InternalError", "%s", err.msg);
		return;
	}
	control_vm_reply_json(call, 200, json_pack("{s:s}", "text", text));
	free(text);
}

/* ------------------------------------------------------------------ vm.events */

static json_t *control_vm_event_json(const struct vmm_event *e)
{
	json_t *props = json_pack("{s:s,s:s}", "state", e->state, "message", e->msg);

	if (e->reason[0])
		json_object_set_new(props, "reason", json_string(e->reason));
	if (!strcmp(e->event, "shutdown"))
		json_object_set_new(props, "exit_status", json_integer(e->status));
	return json_pack("{s:I,s:{s:I,s:I},s:s,s:s,s:o}", "seq", (json_int_t)e->seq, "timestamp",
			 "secs", (json_int_t)(e->wall_ns / 1000000000ull), "nanos",
			 (json_int_t)(e->wall_ns % 1000000000ull), "source", e->source, "event",
			 e->event, "properties", props);
}

/* Answer with the events from since on (possibly none). */
static void control_vm_events_reply(struct control_vm *cv, struct control_call *call, u64 since)
{
	struct vmm_event *evs = calloc(CONTROL_VM_EVENTS_MAX, sizeof(*evs));
	json_t *list = json_array();
	unsigned n;
	u64 next;

	if (!evs) {
		json_decref(list);
		control_reply_error(call, 500, "InternalError", "out of memory");
		return;
	}
	n = vmm_events(cv->vmm, since, evs, CONTROL_VM_EVENTS_MAX, &next);
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(list, control_vm_event_json(&evs[i]));
	if (n)
		next = evs[n - 1].seq + 1;
	free(evs);
	control_vm_reply_json(call, 200,
			      json_pack("{s:o,s:I}", "events", list, "next", (json_int_t)next));
}

static void control_vm_waiter_unlink(struct control_vm_waiter *w)
{
	struct control_vm *cv = w->cv;

	for (struct control_vm_waiter **pp = &cv->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	loop_timer_cancel(vmm_loop(cv->vmm), &w->timer);
}

static void control_vm_waiter_done(struct control_vm_waiter *w)
{
	control_vm_waiter_unlink(w);
	control_vm_events_reply(w->cv, w->call, w->since);
	free(w);
}

static void control_vm_waiter_timeout(void *opaque)
{
	control_vm_waiter_done(opaque);
}

static void control_vm_waiter_cancel(void *opaque, struct control_call *call)
{
	(void)call;
	control_vm_waiter_done(opaque); /* the answer goes nowhere; the call is freed */
}

/* Answer every waiter that has events now. At the end of a loop turn, so that the events of
 * one turn (rebooting + rebooted, shutdown + the VMM's exit) come in one answer. */
static void control_vm_wake_waiters(void *opaque)
{
	struct control_vm *cv = opaque;
	struct control_vm_waiter *w = cv->waiters, *next;
	struct vmm_event probe;
	u64 seq;

	cv->wake_posted = false;
	for (; w; w = next) {
		next = w->next;
		if (vmm_events(cv->vmm, w->since, &probe, 1, &seq))
			control_vm_waiter_done(w);
	}
}

static void control_vm_on_event(void *opaque, const struct vmm_event *ev)
{
	struct control_vm *cv = opaque;

	(void)ev;
	if (!cv->wake_posted && cv->waiters) {
		if (loop_post(vmm_loop(cv->vmm), control_vm_wake_waiters, cv) == 0)
			cv->wake_posted = true;
		else
			control_vm_wake_waiters(cv);
	}
}

static void control_vm_events(void *opaque, struct control_call *call,
			      const struct control_req *req)
{
	struct control_vm *cv = opaque;
	u64 since = 0, timeout = CONTROL_VM_WAIT_DEFAULT, next;
	struct control_vm_waiter *w;
	struct vmm_event probe;

	if (control_vm_query_u64(req->query, "since", &since) < 0 ||
	    control_vm_query_u64(req->query, "timeout", &timeout) < 0) {
		control_reply_error(call, 400, "BadRequest",
				    "since and timeout must be unsigned decimal integers");
		return;
	}
	if (timeout > CONTROL_VM_WAIT_MAX)
		timeout = CONTROL_VM_WAIT_MAX;
	if (vmm_events(cv->vmm, since, &probe, 1, &next) || !timeout) {
		control_vm_events_reply(cv, call, since);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		control_reply_error(call, 500, "InternalError", "out of memory");
		return;
	}
	w->cv = cv;
	w->call = call;
	w->since = since;
	loop_timer_init(&w->timer, control_vm_waiter_timeout, w);
	loop_timer_arm(vmm_loop(cv->vmm), &w->timer, loop_now_ns() + timeout * 1000000000ull);
	w->next = cv->waiters;
	cv->waiters = w;
	control_call_on_cancel(call, control_vm_waiter_cancel, w);
}

/* ------------------------------------------------------- the guest's VMware tools */

static void control_vm_tools_error(struct control_call *call, int ret, const struct err *err)
{
	if (ret == -ENOTSUP)
		control_reply_error(call, 409, "NoBackdoor", "%s", err->msg);
	else if (ret == -ENOTCONN || ret == -EOPNOTSUPP)
		control_reply_error(call, 409, "NoTools", "%s", err->msg);
	else if (ret == -ENOSPC)
		control_reply_error(call, 409, "TooMany", "%s", err->msg);
	else
		control_reply_errno(call, ret, err);
}

static void control_vm_guestinfo_one(void *opaque, const char *key, const char *value)
{
	json_object_set_new(opaque, key, json_string(value));
}

/* GET: {"KEY": "value", ...}; PUT: {"KEY": "value" or null, ...}, applied in order, 204. */
static void control_vm_guestinfo(void *opaque, struct control_call *call,
				 const struct control_req *req)
{
	struct vm *vm = control_vm_need_vm(opaque, call);
	struct err err = { 0 };
	const char *key;
	json_error_t je;
	json_t *j, *v;
	int ret = 0;

	if (!vm)
		return;
	if (!strcmp(req->method, "GET")) {
		j = json_object();
		ret = j ? vm_guestinfo_each(vm, control_vm_guestinfo_one, j, &err) : -ENOMEM;
		if (ret < 0) {
			json_decref(j);
			control_vm_tools_error(call, ret, &err);
		} else {
			control_vm_reply_json(call, 200, j);
		}
		return;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		control_reply_error(call, 400, "BadRequest",
				    "the body must be a JSON object of guestinfo keys (without "
				    "\"guestinfo.\") and string values, or null to remove one");
		return;
	}
	json_object_foreach(j, key, v)
	{
		if (!json_is_string(v) && !json_is_null(v)) {
			ret = err_set(&err, -EINVAL,
				      "guestinfo.%.64s: the value must be a string or null", key);
			break;
		}
		ret = vm_guestinfo_set(vm, key, json_string_value(v), &err);
		if (ret < 0)
			break;
	}
	json_decref(j);
	if (ret < 0)
		control_vm_tools_error(call, ret, &err);
	else
		control_reply(call, 204, NULL);
}

/* PUT vm.tools-halt, vm.tools-reboot: a TCLO request to the guest's tools, 204. */
static void control_vm_tools(struct control_vm *cv, struct control_call *call,
			     enum vm_tools_req what)
{
	struct vm *vm = control_vm_need_vm(cv, call);
	struct err err = { 0 };
	int ret;

	if (!vm)
		return;
	ret = vm_tools_request(vm, what, &err);
	if (ret < 0)
		control_vm_tools_error(call, ret, &err);
	else
		control_reply(call, 204, NULL);
}

static void control_vm_tools_halt(void *opaque, struct control_call *call,
				  const struct control_req *req)
{
	(void)req;
	control_vm_tools(opaque, call, VM_TOOLS_HALT);
}

static void control_vm_tools_reboot(void *opaque, struct control_call *call,
				    const struct control_req *req)
{
	(void)req;
	control_vm_tools(opaque, call, VM_TOOLS_REBOOT);
}

/* ------------------------------------------------------------------- registration */

int control_vm_register(struct control *c, struct vmm *m)
{
	struct control_vm *cv = calloc(1, sizeof(*cv));
	int ret = 0;

	if (!cv)
		return -ENOMEM;
	cv->ctl = c;
	cv->vmm = m;
	control_set_vm_api(c, cv);
	const struct control_endpoint eps[] = {
		{ "/api/v1/vmm.ping", CONTROL_GET, control_vm_ping, cv },
		{ "/api/v1/vmm.shutdown", CONTROL_PUT, control_vm_vmm_shutdown, cv },
		{ "/api/v1/vm.create", CONTROL_PUT, control_vm_create, cv },
		{ "/api/v1/vm.boot", CONTROL_PUT, control_vm_boot, cv },
		{ "/api/v1/vm.delete", CONTROL_PUT, control_vm_delete, cv },
		{ "/api/v1/vm.info", CONTROL_GET, control_vm_info, cv },
		{ "/api/v1/vm.counters", CONTROL_GET, control_vm_counters, cv },
		{ "/api/v1/vm.set-link", CONTROL_PUT, control_vm_set_link, cv },
		{ "/api/v1/vm.add-net", CONTROL_PUT, control_vm_add_net, cv },
		{ "/api/v1/vm.events", CONTROL_GET, control_vm_events, cv },
		{ "/api/v1/vm.screenshot", CONTROL_GET, control_vm_screenshot, cv },
		{ "/api/v1/vm.screen-text", CONTROL_GET, control_vm_screen_text, cv },
		{ "/api/v1/vm.guestinfo", CONTROL_GET | CONTROL_PUT, control_vm_guestinfo, cv },
		{ "/api/v1/vm.tools-halt", CONTROL_PUT, control_vm_tools_halt, cv },
		{ "/api/v1/vm.tools-reboot", CONTROL_PUT, control_vm_tools_reboot, cv },
	};

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]) && !ret; i++)
		ret = control_register(c, &eps[i]);
	for (size_t i = 0; i < CONTROL_VM_NR_ACTIONS && !ret; i++) {
		struct control_endpoint ep = { control_vm_actions[i].path, CONTROL_PUT,
					       control_vm_action, &cv->actions[i] };

		cv->actions[i].cv = cv;
		cv->actions[i].fn = control_vm_actions[i].fn;
		ret = control_register(c, &ep);
	}
	if (!ret)
		ret = vmm_add_listener(m, control_vm_on_event, cv);
	return ret;
}

void control_vm_unregister(struct control *c)
{
	struct control_vm *cv = control_vm_of(c);

	if (!cv)
		return;
	while (cv->waiters) {
		struct control_vm_waiter *w = cv->waiters;

		control_vm_waiter_unlink(w);
		free(w); /* its call went with the connections */
	}
	vmm_del_listener(cv->vmm, control_vm_on_event, cv);
	control_set_vm_api(c, NULL);
	free(cv);
}
