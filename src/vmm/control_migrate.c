// SPDX-License-Identifier: MIT
/*
 * The control API's live migration endpoints (docs/snapshots.md, config/vmm-api.yaml), with
 * Cloud Hypervisor's names and bodies:
 *
 *   PUT /api/v1/vm.receive-migration {"receiver_url": "unix:PATH" | "tcp:HOST:PORT",
 *                                     "set": ["serial.path=..."]}
 *        on a VMM without a VM: listen for one migration and run the VM it brings; "set"
 *        (optional) overrides keys of the incoming spec as --set does; answered (204) once
 *        the VM runs here
 *   PUT /api/v1/vm.send-migration    {"destination_url": "unix:PATH" | "tcp:HOST:PORT",
 *                                     "downtime_ms": 50}
 *        move the VM there; answered (204) once the destination runs it, and this VMM then
 *        exits; on an error the VM goes on here
 */
#include "vmm/control.h"

#include "vmm/migrate.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTROL_MIGRATE_SETS 32

static void control_migrate_done(void *opaque, int ret, const struct err *err,
				 const struct migrate_stats *stats)
{
	struct control_call *call = opaque;

	(void)stats;
	if (ret == -EPROTO || ret == -EPROTONOSUPPORT || ret == -EINVAL)
		control_reply_error(call, 400, "MigrationRefused", "%s", err->msg);
	else if (ret < 0)
		control_reply_error(call, 500, "MigrationFailed", "%s", err->msg);
	else
		control_reply(call, 204, NULL);
}

/* The body: an object with url_key (a string) and only the other keys allowed. */
static json_t *control_migrate_body(struct control_call *call, const struct control_req *req,
				    const char *url_key, const char *other)
{
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je), *v;
	const char *key;

	if (!body || !json_is_object(body)) {
		control_reply_error(call, 400, "InvalidJson",
				    "the body must be a JSON object like {\"%s\": \"unix:PATH\"}",
				    url_key);
		json_decref(body);
		return NULL;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, url_key) && strcmp(key, other)) {
			control_reply_error(call, 400, "BadRequest", "%s: unknown key (%s, %s)",
					    key, url_key, other);
			json_decref(body);
			return NULL;
		}
	}
	if (!json_is_string(json_object_get(body, url_key))) {
		control_reply_error(call, 400, "BadRequest",
				    "%s: required, unix:PATH or tcp:HOST:PORT", url_key);
		json_decref(body);
		return NULL;
	}
	return body;
}

static void control_migrate_send(void *opaque, struct control_call *call,
				 const struct control_req *req)
{
	struct vmm *m = opaque;
	struct err err = { 0 };
	json_t *body, *v;
	json_int_t downtime = MIGRATE_DOWNTIME_MS_DEFAULT;
	int ret;

	if (!vmm_vm(m)) {
		control_reply_error(call, 404, "NotCreated", "no VM to migrate");
		return;
	}
	body = control_migrate_body(call, req, "destination_url", "downtime_ms");
	if (!body)
		return;
	v = json_object_get(body, "downtime_ms");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > MIGRATE_DOWNTIME_MS_MAX)) {
		control_reply_error(call, 400, "BadRequest", "downtime_ms: an integer, 1 to %u",
				    MIGRATE_DOWNTIME_MS_MAX);
		json_decref(body);
		return;
	}
	if (v)
		downtime = json_integer_value(v);
	/* Answered by control_migrate_done at the end. */
	ret = migrate_send(m, json_string_value(json_object_get(body, "destination_url")),
			   (unsigned)downtime, control_migrate_done, call, &err);
	json_decref(body);
	if (ret == -EBUSY)
		control_reply_error(call, 409, "Busy", "%s", err.msg);
	else if (ret < 0)
		control_reply_error(call, 400, "MigrationRefused", "%s", err.msg);
}

static void control_migrate_receive(void *opaque, struct control_call *call,
				    const struct control_req *req)
{
	struct vmm *m = opaque;
	struct err err = { 0 };
	const char *sets[CONTROL_MIGRATE_SETS];
	unsigned nr_sets = 0;
	json_t *body, *v, *s;
	size_t i;
	int ret;

	if (vmm_vm(m)) {
		control_reply_error(call, 409, "AlreadyCreated",
				    "a VM exists already: vm.delete it first");
		return;
	}
	body = control_migrate_body(call, req, "receiver_url", "set");
	if (!body)
		return;
	v = json_object_get(body, "set");
	if (v && (!json_is_array(v) || json_array_size(v) > CONTROL_MIGRATE_SETS)) {
		control_reply_error(call, 400, "BadRequest",
				    "set: a list of at most %u \"KEY=VALUE\" strings",
				    CONTROL_MIGRATE_SETS);
		json_decref(body);
		return;
	}
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s) || !strchr(json_string_value(s), '=')) {
			control_reply_error(call, 400, "BadRequest",
					    "set[%zu]: expected a \"KEY=VALUE\" string", i);
			json_decref(body);
			return;
		}
		sets[nr_sets++] = json_string_value(s);
	}
	ret = migrate_receive(m, json_string_value(json_object_get(body, "receiver_url")), sets,
			      nr_sets, control_migrate_done, call, &err);
	json_decref(body);
	if (ret == -EBUSY || ret == -EEXIST)
		control_reply_error(call, 409, "Busy", "%s", err.msg);
	else if (ret < 0)
		control_reply_error(call, 400, "MigrationRefused", "%s", err.msg);
}

int control_migrate_register(struct control *c, struct vmm *m)
{
	const struct control_endpoint eps[] = {
		{ "/api/v1/vm.send-migration", CONTROL_PUT, control_migrate_send, m },
		{ "/api/v1/vm.receive-migration", CONTROL_PUT, control_migrate_receive, m },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]) && !ret; i++)
		ret = control_register(c, &eps[i]);
	return ret;
}
