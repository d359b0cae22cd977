/* SPDX-License-Identifier: MIT */
/*
 * The control API server (docs/management.md): HTTP/1.1 over a unix stream
 * socket (mode 0600), served on the main loop and never blocking it.
 *
 * Transport: non-blocking sockets; several clients at once (up to
 * CONTROL_MAX_CLIENTS; one more gets 503 and is closed); one request in flight
 * per connection (later pipelined requests wait in the buffer); keep-alive
 * unless the client says Connection: close or speaks HTTP/1.0; Expect:
 * 100-continue answered with 100 Continue; Content-Length bodies up to
 * HTTP_MAX_BODY_BYTES, header blocks up to HTTP_MAX_HEADER_BYTES (http.h says
 * what else is refused). Deadlines on the loop (host time): a request must
 * arrive whole within CONTROL_REQUEST_TIMEOUT_NS of its first byte (else 408),
 * an idle keep-alive connection is closed after CONTROL_IDLE_TIMEOUT_NS, a
 * client that reads nothing of its answer for CONTROL_WRITE_TIMEOUT_NS is
 * dropped. File descriptors sent with SCM_RIGHTS along a request are handed to
 * its endpoint (control_req.fds); those it does not take are closed.
 *
 * Endpoints: a table of { path, methods, handler }; adding one is a
 * control_register call (control_vm.c registers the VM's). A handler answers
 * with control_reply* at once or later (a deferred answer: long polls,
 * snapshots, migrations): the call stays valid until answered. Errors are
 * JSON bodies {"error": {"class": ..., "desc": ...}} with the right status:
 * 400 bad request/JSON/spec, 404 unknown path or no VM, 405 wrong method
 * (with Allow), 409 wrong state, 500 internal.
 *
 * Threads: main thread only.
 */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <stddef.h>

struct vmm;
struct control;
struct control_call;

#define CONTROL_MAX_CLIENTS	   16
#define CONTROL_MAX_FDS		   16 /* per request; more are closed */
#define CONTROL_REQUEST_TIMEOUT_NS (10ull * 1000000000ull)
#define CONTROL_IDLE_TIMEOUT_NS	   (120ull * 1000000000ull)
#define CONTROL_WRITE_TIMEOUT_NS   (10ull * 1000000000ull)
#define CONTROL_MAX_OUTPUT_BYTES   (16u << 20) /* answers queued to one client */

/* Methods an endpoint accepts (a mask). */
#define CONTROL_GET    (1u << 0)
#define CONTROL_PUT    (1u << 1)
#define CONTROL_POST   (1u << 2)
#define CONTROL_PATCH  (1u << 3)
#define CONTROL_DELETE (1u << 4)

/* A request as its endpoint sees it; owned by the call, valid until the call is answered. */
struct control_req {
	const char *method; /* "GET", "PUT", ... */
	const char *path;   /* "/api/v1/vm.info" */
	const char *query;  /* what followed '?', or "" */
	const char *body;   /* NUL-terminated copy */
	size_t body_len;
	int *fds; /* received with SCM_RIGHTS; an endpoint that keeps one sets its slot to -1 */
	unsigned nr_fds;
};

typedef void (*control_handler_fn)(void *opaque, struct control_call *call,
				   const struct control_req *req);

struct control_endpoint {
	const char *path; /* exact match, without the query */
	unsigned methods; /* CONTROL_GET | ... */
	control_handler_fn handler;
	void *opaque;
};

/*
 * Serve the API on path: a stale socket left by a dead VMM is replaced, a live one or any
 * other file is an error. Registers the VM endpoints (control_vm.c). Main thread.
 */
MUST_CHECK int control_create(struct vmm *m, const char *path, struct control **out,
			      struct err *err);
/* Close every connection (deferred calls are cancelled), the socket, and unlink it. */
void control_destroy(struct control *c);

/* Add an endpoint (the table is copied). -EEXIST for a path already there, -ENOMEM. */
MUST_CHECK int control_register(struct control *c, const struct control_endpoint *ep);

/* Answer a call: status, and a JSON text body (NULL: none). The call is freed. */
void control_reply(struct control_call *call, int status, const char *json);
/* Answer with len bytes of body of content_type (an image: binary allowed). The call is freed. */
void control_reply_body(struct control_call *call, int status, const char *content_type,
			const void *body, size_t len);
/* An error answer: {"error": {"class": cls, "desc": "<printf>"}}. */
void control_reply_error(struct control_call *call, int status, const char *cls, const char *fmt,
			 ...) PRINTF(4, 5);
/*
 * An error answer for a negative errno from the VMM with its message: -EBUSY 409 WrongState,
 * -ENOENT 404 NotCreated, -EEXIST 409 AlreadyCreated, -EINVAL 400 BadRequest, -ENODEV 400
 * AcceleratorUnavailable, -ETIMEDOUT 500 Timeout, anything else 500 InternalError.
 */
void control_reply_errno(struct control_call *call, int ret, const struct err *err);

/*
 * For a deferred call: fn runs if the client goes away before the answer; it must answer the
 * call then (the answer is dropped) so the call is freed.
 */
void control_call_on_cancel(struct control_call *call,
			    void (*fn)(void *opaque, struct control_call *call), void *opaque);

/* Are answers still owed or queued (vmm_run drains them before exiting)? */
bool control_owes_answers(struct control *c);
const char *control_path(const struct control *c);

/* The registered endpoints, in registration order. */
unsigned control_nr_endpoints(const struct control *c);
const struct control_endpoint *control_endpoint(const struct control *c, unsigned i);

/* control_vm.c: register the vmm.* and vm.* endpoints on c for m, and drop their state. */
MUST_CHECK int control_vm_register(struct control *c, struct vmm *m);
void control_vm_unregister(struct control *c);

/* control_snapshot.c: vm.snapshot and vm.restore; control_migrate.c: the migration calls. */
MUST_CHECK int control_snapshot_register(struct control *c, struct vmm *m);
MUST_CHECK int control_migrate_register(struct control *c, struct vmm *m);

/* Between control.c and control_vm.c: the endpoints' state, kept by the server. */
struct control_vm;
struct control_vm *control_vm_of(struct control *c);
void control_set_vm_api(struct control *c, struct control_vm *cv);

#endif
