// SPDX-License-Identifier: MIT
/*
 * The control API's snapshot endpoints (docs/snapshots.md, config/vmm-api.yaml), with
 * Cloud Hypervisor's names and bodies:
 *
 *   PUT /api/v1/vm.snapshot  {"destination_url": "file:///DIR", "resume": true}
 *        a Running VM is paused, DIR written, and the VM resumed unless "resume" is false (a
 *        Paused VM stays Paused); answered (204) once the files are complete
 *   PUT /api/v1/vm.restore   {"source_url": "file:///DIR", "resume": true}
 *        on a VMM without a VM: the VM of the snapshot in DIR, Running (or Paused with
 *        "resume": false)
 *
 * The migration endpoints are in control_migrate.c.
 */
#include "vmm/control.h"

#include "vmm/snapshot.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The body of a snapshot call: url_key's value must be "file://" + an absolute path (copied to
 * dir), "resume" a boolean (default true). 0, or an answer was sent (400) and -EINVAL.
 */
static int control_snapshot_body(struct control_call *call, const struct control_req *req,
				 const char *url_key, char *dir, size_t cap, bool *resume)
{
	static const char scheme[] = "file://";
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je), *v;
	const char *url, *key;
	int ret = -EINVAL;

	*resume = true;
	if (!body || !json_is_object(body)) {
		control_reply_error(call, 400, "InvalidJson",
				    "the body must be a JSON object like {\"%s\": \"file:///DIR\"}",
				    url_key);
		goto out;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, url_key) && strcmp(key, "resume")) {
			control_reply_error(call, 400, "BadRequest", "%s: unknown key (%s, resume)",
					    key, url_key);
			goto out;
		}
	}
	v = json_object_get(body, "resume");
	if (v && !json_is_boolean(v)) {
		control_reply_error(call, 400, "BadRequest", "resume: expected true or false");
		goto out;
	}
	if (v)
		*resume = json_is_true(v);
	url = json_string_value(json_object_get(body, url_key));
	if (!url) {
		control_reply_error(call, 400, "BadRequest", "%s: required, a file:///DIR URL",
				    url_key);
		goto out;
	}
	if (strncmp(url, scheme, sizeof(scheme) - 1) || url[sizeof(scheme) - 1] != '/') {
		control_reply_error(call, 400, "BadRequest",
				    "%s: expected file:// and an absolute path, like file:///var/"
				    "lib/vmm/snap1; got \"%.200s\"",
				    url_key, url);
		goto out;
	}
	if (strlen(url + sizeof(scheme) - 1) >= cap) {
		control_reply_error(call, 400, "BadRequest", "%s: the path is too long", url_key);
		goto out;
	}
	snprintf(dir, cap, "%s", url + sizeof(scheme) - 1);
	ret = 0;
out:
	json_decref(body);
	return ret;
}

/* A refused or failed snapshot or restore, by its errno. */
static void control_snapshot_error(struct control_call *call, int ret, const struct err *err)
{
	switch (ret) {
	case -EEXIST:
		control_reply_error(call, 409, "AlreadyExists", "%s", err->msg);
		break;
	case -ENOTSUP:
	case -EINVAL:
	case -ENOENT:
	case -ENOTDIR:
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -EFBIG:
	case -ENAMETOOLONG:
		control_reply_error(call, 400, "SnapshotRefused", "%s", err->msg);
		break;
	default:
		control_reply_errno(call, ret, err);
	}
}

static void control_snapshot_done(void *opaque, int ret, const struct err *err,
				  const struct snapshot_mem_stats *stats)
{
	struct control_call *call = opaque;

	(void)stats;
	if (ret < 0)
		control_snapshot_error(call, ret, err);
	else
		control_reply(call, 204, NULL);
}

static void control_snapshot_take(void *opaque, struct control_call *call,
				  const struct control_req *req)
{
	struct vmm *m = opaque;
	struct err err = { 0 };
	char dir[PATH_MAX];
	bool resume;
	int ret;

	if (!vmm_vm(m)) {
		control_reply_error(call, 404, "NotCreated", "no VM: vm.create one first");
		return;
	}
	if (control_snapshot_body(call, req, "destination_url", dir, sizeof(dir), &resume) < 0)
		return;
	/* Answered by control_snapshot_done when the files are written (or it fails). */
	ret = snapshot_take(m, dir, resume, control_snapshot_done, call, &err);
	if (ret < 0)
		control_snapshot_error(call, ret, &err);
}

static void control_snapshot_restore(void *opaque, struct control_call *call,
				     const struct control_req *req)
{
	struct vmm *m = opaque;
	struct err err = { 0 };
	char dir[PATH_MAX];
	bool resume;
	int ret;

	if (vmm_vm(m)) {
		control_reply_error(call, 409, "AlreadyCreated",
				    "a VM exists already: vm.delete it first");
		return;
	}
	if (control_snapshot_body(call, req, "source_url", dir, sizeof(dir), &resume) < 0)
		return;
	ret = snapshot_restore_vm(m, dir, NULL, 0, resume, &err);
	if (ret == -ENODEV)
		control_reply_errno(call, ret, &err);
	else if (ret < 0)
		control_reply_error(call, 400, "RestoreFailed", "%s", err.msg);
	else
		control_reply(call, 204, NULL);
}

int control_snapshot_register(struct control *c, struct vmm *m)
{
	const struct control_endpoint eps[] = {
		{ "/api/v1/vm.snapshot", CONTROL_PUT, control_snapshot_take, m },
		{ "/api/v1/vm.restore", CONTROL_PUT, control_snapshot_restore, m },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]) && !ret; i++)
		ret = control_register(c, &eps[i]);
	return ret;
}
