// SPDX-License-Identifier: MIT
/*
 * The control API server (control.h): the listening unix socket, connections
 * with bounded buffers and deadlines, SCM_RIGHTS, HTTP framing (http.h) and
 * dispatch to the endpoint table.
 *
 * A connection reads (recvmsg, collecting any fds) into its input buffer and
 * parses; a complete request becomes a call holding its own copies of path,
 * query, body and fds, and the input buffer moves on. While a call is open
 * the connection does not read (one request in flight; the next waits). An
 * answer goes into the output buffer and is written as the socket takes it
 * (EPOLLOUT). Parse errors are answered and the connection is closed (the
 * byte stream cannot be trusted past them). A client that goes away while its
 * call is open leaves the call orphaned: its endpoint's cancel hook runs, or
 * the late answer is dropped.
 */
#include "vmm/control.h"

#include "vmm/base/log.h"
#include "vmm/http.h"
#include "vmm/loop.h"
#include "vmm/unix_sock.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTROL_MAX_INPUT (HTTP_MAX_HEADER_BYTES + HTTP_MAX_BODY_BYTES)

struct control_conn;

struct control_call {
	struct control *ctl;
	struct control_conn *conn; /* NULL once the client went away */
	bool keep_alive;
	struct control_req req;
	char *path, *query, *body;
	int fds[CONTROL_MAX_FDS];
	void (*on_cancel)(void *opaque, struct control_call *call);
	void *cancel_opaque;
	struct control_call *next_orphan;
};

struct control_conn {
	struct control *ctl;
	int fd;
	unsigned id;
	/*
	 * CONTROL_MAX_INPUT bytes from the start, never moved: the parser's view of a request
	 * points into it. Pages are only touched as bytes arrive.
	 */
	char *in;
	size_t in_len;
	char *out;
	size_t out_off, out_len, out_cap;
	struct http_parser parser;
	bool continue_sent;
	int fds[CONTROL_MAX_FDS];
	unsigned nr_fds;
	struct control_call *call; /* open call, or NULL */
	bool close_after;	   /* close once the output is written */
	bool processing;	   /* inside control_conn_process */
	bool dead;		   /* closed; on the dead list */
	u32 events;		   /* watched on the loop */
	u64 request_start_ns;	   /* first byte of a partial request; 0 if none */
	u64 activity_ns;	   /* last byte read or written */
	struct loop_timer timer;
	struct control_conn *next;
};

struct control {
	struct vmm *vmm;
	struct loop *loop;
	char *path;
	int listen_fd;
	struct unix_sock sock; /* listen_fd's socket file at path */
	struct control_endpoint *eps;
	unsigned nr_eps, cap_eps;
	struct control_conn *conns;
	struct control_conn *dead; /* closed, freed at the loop's next turn (control_reap) */
	bool reap_posted;
	unsigned nr_conns, next_id;
	unsigned orphans; /* calls whose client went away, not answered yet */
	struct control_vm *vm_api;
};

static void control_conn_process(struct control_conn *conn);
static void control_conn_close(struct control_conn *conn);
static void control_conn_arm(struct control_conn *conn);

/* ------------------------------------------------------------------------ output */

static void control_conn_watch(struct control_conn *conn)
{
	u32 ev = 0;

	if (conn->dead)
		return;
	if (!conn->call && !conn->close_after)
		ev |= EPOLLIN;
	if (conn->out_len > conn->out_off)
		ev |= EPOLLOUT;
	if (ev != conn->events) {
		conn->events = ev;
		loop_mod(conn->ctl->loop, conn->fd, ev);
	}
}

/* Write what the socket takes. */
static void control_conn_flush(struct control_conn *conn)
{
	while (conn->out_off < conn->out_len) {
		ssize_t n = send(conn->fd, conn->out + conn->out_off, conn->out_len - conn->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			log_dbg(LOG_CAT_DEV, "api: client %u: write: %s", conn->id,
				strerror(errno));
			control_conn_close(conn);
			return;
		}
		conn->out_off += (size_t)n;
		conn->activity_ns = loop_now_ns();
	}
	if (conn->out_off == conn->out_len) {
		conn->out_off = conn->out_len = 0;
		if (conn->close_after) {
			control_conn_close(conn);
			return;
		}
	}
	control_conn_watch(conn);
	control_conn_arm(conn);
}

static void control_conn_queue(struct control_conn *conn, const char *data, size_t len)
{
	if (conn->dead)
		return;
	if (conn->out_len + len > CONTROL_MAX_OUTPUT_BYTES) {
		log_warn("api: client %u: more than %u bytes of answers unread; closing it",
			 conn->id, CONTROL_MAX_OUTPUT_BYTES);
		control_conn_close(conn);
		return;
	}
	if (conn->out_len + len > conn->out_cap) {
		size_t cap = conn->out_cap ? conn->out_cap : 4096;
		char *p;

		while (cap < conn->out_len + len)
			cap *= 2;
		p = realloc(conn->out, cap);
		if (!p) {
			control_conn_close(conn);
			return;
		}
		conn->out = p;
		conn->out_cap = cap;
	}
	memcpy(conn->out + conn->out_len, data, len);
	conn->out_len += len;
}

static void control_conn_respond(struct control_conn *conn, int status, const char *extra,
				 const char *body, bool close)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0;
	int n;

	if (status == 204)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 204 No Content\r\nServer: vmm\r\n%s%s\r\n",
			     extra ? extra : "", close ? "Connection: close\r\n" : "");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: vmm\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n%s%s\r\n",
			     status, http_reason(status), blen + (body ? 1 : 0), extra ? extra : "",
			     close ? "Connection: close\r\n" : "");
	control_conn_queue(conn, head, (size_t)n);
	if (body && status != 204) {
		control_conn_queue(conn, body, blen);
		control_conn_queue(conn, "\n", 1);
	}
	if (close)
		conn->close_after = true;
	if (!conn->dead)
		control_conn_flush(conn);
}

static char *control_error_json(const char *cls, const char *desc)
{
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* An error straight from the transport (no call): answer and close. */
static void control_conn_fail(struct control_conn *conn, int status, const char *cls,
			      const char *desc, const char *extra)
{
	char *body = control_error_json(cls, desc);

	log_dbg(LOG_CAT_DEV, "api: client %u: %d %s: %s", conn->id, status, cls, desc);
	control_conn_respond(conn, status, extra, body ? body : "{}", true);
	free(body);
}

/* ------------------------------------------------------------------------- calls */

static void control_call_free(struct control_call *call)
{
	for (unsigned i = 0; i < call->req.nr_fds; i++)
		if (call->fds[i] >= 0)
			close(call->fds[i]);
	free(call->path);
	free(call->query);
	free(call->body);
	free(call);
}

void control_reply(struct control_call *call, int status, const char *json)
{
	struct control_conn *conn = call->conn;

	if (conn) {
		conn->call = NULL;
		control_conn_respond(conn, status, NULL, json, !call->keep_alive);
		if (!conn->processing)
			control_conn_process(conn); /* a pipelined request may be waiting */
	} else {
		call->ctl->orphans--;
	}
	control_call_free(call);
}

void control_reply_body(struct control_call *call, int status, const char *content_type,
			const void *body, size_t len)
{
	struct control_conn *conn = call->conn;
	char head[512];
	int n;

	if (conn) {
		conn->call = NULL;
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: vmm\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\n%s\r\n",
			     status, http_reason(status), content_type, len,
			     call->keep_alive ? "" : "Connection: close\r\n");
		control_conn_queue(conn, head, (size_t)n);
		control_conn_queue(conn, body, len);
		if (!call->keep_alive)
			conn->close_after = true;
		if (!conn->dead)
			control_conn_flush(conn);
		if (!conn->dead && !conn->processing)
			control_conn_process(conn);
	} else {
		call->ctl->orphans--;
	}
	control_call_free(call);
}

void control_reply_error(struct control_call *call, int status, const char *cls, const char *fmt,
			 ...)
{
	char desc[512], *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	body = control_error_json(cls, desc);
	control_reply(call, status, body ? body : "{}");
	free(body);
}

void control_reply_errno(struct control_call *call, int ret, const struct err *err)
{
	const char *msg = err && err->msg[0] ? err->msg : strerror(-ret);

	switch (ret) {
	case -EBUSY:
		control_reply_error(call, 409, "WrongState", "%s", msg);
		break;
	case -ENOENT:
		control_reply_error(call, 404, "NotCreated", "%s", msg);
		break;
	case -EEXIST:
		control_reply_error(call, 409, "AlreadyCreated", "%s", msg);
		break;
	case -EINVAL:
		control_reply_error(call, 400, "BadRequest", "%s", msg);
		break;
	case -ENODEV:
		control_reply_error(call, 400, "AcceleratorUnavailable", "%s", msg);
		break;
	case -ETIMEDOUT:
		control_reply_error(call, 500, "Timeout", "%s", msg);
		break;
	default:
		control_reply_error(call, 500, "InternalError", "%s", msg);
		break;
	}
}

void control_call_on_cancel(struct control_call *call,
			    void (*fn)(void *opaque, struct control_call *call), void *opaque)
{
	call->on_cancel = fn;
	call->cancel_opaque = opaque;
}

/* --------------------------------------------------------------------- dispatch */

/* By bit number of CONTROL_GET, CONTROL_PUT, ... */
static const char *const control_methods[] = { "GET", "PUT", "POST", "PATCH", "DELETE" };

static unsigned control_method_bit(const char *m)
{
	for (unsigned i = 0; i < ARRAY_SIZE(control_methods); i++)
		if (!strcmp(m, control_methods[i]))
			return 1u << i;
	return 0;
}

static const char *control_method_name(unsigned bit)
{
	for (unsigned i = 0; i < ARRAY_SIZE(control_methods); i++)
		if (bit == 1u << i)
			return control_methods[i];
	return "?";
}

static void control_allow_header(unsigned methods, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "Allow: ");

	for (unsigned i = 0; i < ARRAY_SIZE(control_methods); i++)
		if (methods & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n > 7 ? ", " : "",
					      control_methods[i]);
	snprintf(buf + n, size - n, "\r\n");
}

static const struct control_endpoint *control_find(const struct control *c, const char *path)
{
	for (unsigned i = 0; i < c->nr_eps; i++)
		if (!strcmp(c->eps[i].path, path))
			return &c->eps[i];
	return NULL;
}

/* 404: say what exists. */
static void control_not_found(struct control_conn *conn, const struct http_msg *m, const char *path,
			      bool keep_alive)
{
	json_t *j = json_pack("{s:{s:s,s:s+}}", "error", "class", "NotFound", "desc",
			      "no endpoint ", path);
	json_t *list = json_array();
	char *body;

	(void)m;
	for (unsigned i = 0; i < conn->ctl->nr_eps; i++)
		json_array_append_new(list, json_string(conn->ctl->eps[i].path));
	if (j)
		json_object_set_new(json_object_get(j, "error"), "endpoints", list);
	else
		json_decref(list);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	control_conn_respond(conn, 404, NULL, body ? body : "{}", !keep_alive);
	free(body);
}

static char *control_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A complete request in conn->parser.msg: make a call and hand it to its endpoint. */
static void control_dispatch(struct control_conn *conn, const struct http_msg *m)
{
	const char *q = strchr(m->target, '?');
	size_t plen = q ? (size_t)(q - m->target) : strlen(m->target);
	const struct control_endpoint *ep;
	struct control_call *call;
	unsigned bit = control_method_bit(m->method);
	char path[256];

	if (plen >= sizeof(path)) {
		control_conn_fail(conn, 404, "NotFound", "the path is too long", NULL);
		return;
	}
	memcpy(path, m->target, plen);
	path[plen] = '\0';
	ep = control_find(conn->ctl, path);
	if (!ep) {
		control_not_found(conn, m, path, m->keep_alive);
		return;
	}
	if (!(ep->methods & bit)) {
		char allow[96], *body;

		control_allow_header(ep->methods, allow, sizeof(allow));
		body = control_error_json("MethodNotAllowed", "this endpoint does not take that "
							      "method (see Allow)");
		control_conn_respond(conn, 405, allow, body ? body : "{}", !m->keep_alive);
		free(body);
		return;
	}
	if (bit == CONTROL_GET && m->body_len) {
		control_conn_fail(conn, 400, "BadRequest", "a GET request has no body", NULL);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (call) {
		call->path = control_strndup(path, plen);
		call->query = control_strndup(q ? q + 1 : "", q ? strlen(q + 1) : 0);
		call->body = control_strndup(m->body, m->body_len);
	}
	if (!call || !call->path || !call->query || !call->body) {
		if (call)
			control_call_free(call);
		control_conn_fail(conn, 500, "InternalError", "out of memory", NULL);
		return;
	}
	call->ctl = conn->ctl;
	call->conn = conn;
	call->keep_alive = m->keep_alive;
	call->req.path = call->path;
	call->req.query = call->query;
	call->req.body = call->body;
	call->req.body_len = m->body_len;
	/* Every fd received up to the end of this request comes with it. */
	memcpy(call->fds, conn->fds, conn->nr_fds * sizeof(int));
	call->req.fds = call->fds;
	call->req.nr_fds = conn->nr_fds;
	conn->nr_fds = 0;
	conn->call = call;
	log_dbg(LOG_CAT_DEV, "api: client %u: %s %s", conn->id, m->method, m->target);
	/* m->method points into the input buffer, which moves on after dispatch. */
	call->req.method = control_method_name(bit);
	ep->handler(ep->opaque, call, &call->req);
}

/* ------------------------------------------------------------------------ input */

static void control_conn_consume(struct control_conn *conn, size_t n)
{
	memmove(conn->in, conn->in + n, conn->in_len - n);
	conn->in_len -= n;
}

static void control_conn_process(struct control_conn *conn)
{
	conn->processing = true;
	while (!conn->dead && !conn->call && !conn->close_after && conn->in_len) {
		enum http_state st = http_parse(&conn->parser, conn->in, conn->in_len);
		const struct http_msg *m = &conn->parser.msg;

		if (!conn->request_start_ns)
			conn->request_start_ns = loop_now_ns();
		if (st == HTTP_NEED_MORE)
			break;
		if (st == HTTP_BODY_PENDING) {
			if (m->expect_continue && !conn->continue_sent) {
				conn->continue_sent = true;
				control_conn_queue(conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				control_conn_flush(conn);
			}
			break;
		}
		if (st == HTTP_ERROR) {
			control_conn_fail(conn, conn->parser.error_status,
					  conn->parser.error_status == 413 ? "PayloadTooLarge" :
					  conn->parser.error_status == 431 ? "HeadersTooLarge" :
					  conn->parser.error_status == 411 ? "LengthRequired" :
									     "BadRequest",
					  conn->parser.error, NULL);
			break;
		}
		control_dispatch(conn, m);
		if (conn->dead)
			break;
		control_conn_consume(conn, m->header_len + m->body_len);
		http_parser_init(&conn->parser, false, HTTP_MAX_BODY_BYTES);
		conn->continue_sent = false;
		conn->request_start_ns = 0;
	}
	conn->processing = false;
	if (!conn->dead && !conn->in_len)
		conn->request_start_ns = 0;
	control_conn_watch(conn);
	control_conn_arm(conn);
}

/* Keep the fds of one recvmsg; past CONTROL_MAX_FDS they are closed. */
static void control_conn_take_fds(struct control_conn *conn, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			if (conn->nr_fds < CONTROL_MAX_FDS) {
				conn->fds[conn->nr_fds++] = fds[i];
				continue;
			}
			log_warn("api: client %u: more than %d file descriptors with one request; "
				 "closing the rest",
				 conn->id, CONTROL_MAX_FDS);
			close(fds[i]);
		}
	}
}

/* Read what is there. false: the connection is gone. */
static bool control_conn_read(struct control_conn *conn)
{
	for (;;) {
		char cbuf[CMSG_SPACE(CONTROL_MAX_FDS * sizeof(int))];
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		size_t room;
		ssize_t n;

		if (conn->in_len == CONTROL_MAX_INPUT)
			return true; /* the parser refuses it */
		room = CONTROL_MAX_INPUT - conn->in_len;
		iov.iov_base = conn->in + conn->in_len;
		iov.iov_len = room;
		n = recvmsg(conn->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n > 0 || mh.msg_controllen)
			control_conn_take_fds(conn, &mh);
		if (n <= 0) {
			control_conn_close(conn);
			return false;
		}
		conn->in_len += (size_t)n;
		conn->activity_ns = loop_now_ns();
		if ((size_t)n < room)
			return true;
	}
}

/* ------------------------------------------------------------ connections, timers */

static void control_conn_arm(struct control_conn *conn)
{
	u64 deadline;

	if (conn->dead)
		return;
	if (conn->out_len > conn->out_off)
		deadline = conn->activity_ns + CONTROL_WRITE_TIMEOUT_NS;
	else if (conn->call)
		deadline = UINT64_MAX; /* the endpoint answers when it can */
	else if (conn->request_start_ns)
		deadline = conn->request_start_ns + CONTROL_REQUEST_TIMEOUT_NS;
	else
		deadline = conn->activity_ns + CONTROL_IDLE_TIMEOUT_NS;
	if (deadline == UINT64_MAX)
		loop_timer_cancel(conn->ctl->loop, &conn->timer);
	else
		loop_timer_arm(conn->ctl->loop, &conn->timer, deadline);
}

static void control_conn_on_timer(void *opaque)
{
	struct control_conn *conn = opaque;

	if (conn->out_len > conn->out_off) {
		log_warn("api: client %u reads nothing of its answer; closing it", conn->id);
		control_conn_close(conn);
	} else if (conn->request_start_ns && !conn->call) {
		log_warn("api: client %u sent part of a request and nothing more for %llu s; "
			 "closing it",
			 conn->id, CONTROL_REQUEST_TIMEOUT_NS / 1000000000ull);
		control_conn_fail(conn, 408, "Timeout", "the request did not arrive in time", NULL);
	} else if (!conn->call) {
		control_conn_close(conn);
	}
	control_conn_arm(conn);
}

static void control_conn_free(struct control_conn *conn)
{
	for (unsigned i = 0; i < conn->nr_fds; i++)
		close(conn->fds[i]);
	free(conn->in);
	free(conn->out);
	free(conn);
}

static void control_reap(void *opaque)
{
	struct control *c = opaque;

	c->reap_posted = false;
	while (c->dead) {
		struct control_conn *conn = c->dead;

		c->dead = conn->next;
		control_conn_free(conn);
	}
}

static void control_conn_close(struct control_conn *conn)
{
	struct control *c = conn->ctl;
	struct control_call *call = conn->call;

	if (conn->dead)
		return;
	conn->dead = true;
	loop_timer_cancel(c->loop, &conn->timer);
	loop_del(c->loop, conn->fd);
	close(conn->fd);
	conn->fd = -1;
	if (call) {
		conn->call = NULL;
		call->conn = NULL;
		c->orphans++;
		if (call->on_cancel)
			call->on_cancel(call->cancel_opaque, call);
	}
	for (struct control_conn **pp = &c->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			break;
		}
	}
	c->nr_conns--;
	log_dbg(LOG_CAT_DEV, "api: client %u closed", conn->id);
	/* Callers up the stack may still look at conn: free it at the loop's next turn. */
	conn->next = c->dead;
	c->dead = conn;
	if (!c->reap_posted && loop_post(c->loop, control_reap, c) == 0)
		c->reap_posted = true;
}

static void control_conn_on_event(void *opaque, int fd, u32 events)
{
	struct control_conn *conn = opaque;

	(void)fd;
	if (events & EPOLLOUT)
		control_conn_flush(conn);
	if (!conn->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && control_conn_read(conn))
		control_conn_process(conn);
	control_conn_arm(conn);
}

static void control_on_accept(void *opaque, int fd, u32 events)
{
	struct control *c = opaque;

	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_conn *conn;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("api: accept: %s", strerror(errno));
			return;
		}
		if (c->nr_conns >= CONTROL_MAX_CLIENTS) {
			static const char body[] = "{\"error\":{\"class\":\"ServiceUnavailable\","
						   "\"desc\":\"too many API clients at once\"}}\n";
			char busy[256];
			int n = snprintf(busy, sizeof(busy),
					 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
					 "application/json\r\nContent-Length: %zu\r\nConnection: "
					 "close\r\n\r\n%s",
					 sizeof(body) - 1, body);

			log_warn("api: more than %d clients at once; refusing one",
				 CONTROL_MAX_CLIENTS);
			(void)!send(cfd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(cfd);
			continue;
		}
		conn = calloc(1, sizeof(*conn));
		if (conn)
			conn->in = malloc(CONTROL_MAX_INPUT);
		if (!conn || !conn->in ||
		    loop_add(c->loop, cfd, EPOLLIN, control_conn_on_event, conn) < 0) {
			log_warn("api: cannot take a client: out of memory");
			if (conn)
				free(conn->in);
			free(conn);
			close(cfd);
			continue;
		}
		conn->ctl = c;
		conn->fd = cfd;
		conn->id = ++c->next_id;
		conn->events = EPOLLIN;
		conn->activity_ns = loop_now_ns();
		http_parser_init(&conn->parser, false, HTTP_MAX_BODY_BYTES);
		loop_timer_init(&conn->timer, control_conn_on_timer, conn);
		conn->next = c->conns;
		c->conns = conn;
		c->nr_conns++;
		control_conn_arm(conn);
		log_dbg(LOG_CAT_DEV, "api: client %u connected", conn->id);
	}
}

/* ------------------------------------------------------------------- the socket */

/* The listening socket at c->path, made as every local socket is (vmm/unix_sock.h). */
static int control_listen(struct control *c, struct err *err)
{
	int ret = unix_sock_listen(c->path, "api", CONTROL_MAX_CLIENTS, &c->sock, err);

	if (ret < 0)
		return ret;
	c->listen_fd = c->sock.fd;
	ret = loop_add(c->loop, c->listen_fd, EPOLLIN, control_on_accept, c);
	if (ret < 0)
		return err_set(err, ret, "api: %s: cannot watch it: %s", c->path, strerror(-ret));
	return 0;
}

int control_create(struct vmm *m, const char *path, struct control **out, struct err *err)
{
	struct control *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return err_set(err, -ENOMEM, "api: out of memory");
	c->vmm = m;
	c->loop = vmm_loop(m);
	c->listen_fd = -1;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return err_set(err, -ENOMEM, "api: out of memory");
	}
	ret = control_listen(c, err);
	if (ret == 0) {
		ret = control_vm_register(c, m);
		if (ret == 0)
			ret = control_snapshot_register(c, m);
		if (ret == 0)
			ret = control_migrate_register(c, m);
		if (ret < 0)
			err_set(err, ret, "api: cannot register the endpoints: %s", strerror(-ret));
	}
	if (ret < 0) {
		control_destroy(c);
		return ret;
	}
	log_info("api: serving on %s", c->path);
	*out = c;
	return 0;
}

void control_destroy(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		control_conn_close(c->conns);
	control_reap(c);
	control_vm_unregister(c);
	if (c->listen_fd >= 0) {
		loop_del(c->loop, c->listen_fd);
		close(c->listen_fd);
		unix_sock_unlink(&c->sock, c->path);
	}
	free(c->eps);
	free(c->path);
	free(c);
}

int control_register(struct control *c, const struct control_endpoint *ep)
{
	if (control_find(c, ep->path))
		return -EEXIST;
	if (c->nr_eps == c->cap_eps) {
		unsigned cap = c->cap_eps ? c->cap_eps * 2 : 32;
		struct control_endpoint *v = realloc(c->eps, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->eps = v;
		c->cap_eps = cap;
	}
	c->eps[c->nr_eps++] = *ep;
	return 0;
}

bool control_owes_answers(struct control *c)
{
	for (struct control_conn *conn = c->conns; conn; conn = conn->next)
		if (conn->out_len > conn->out_off)
			return true;
	return false;
}

const char *control_path(const struct control *c)
{
	return c->path;
}

unsigned control_nr_endpoints(const struct control *c)
{
	return c->nr_eps;
}

const struct control_endpoint *control_endpoint(const struct control *c, unsigned i)
{
	return i < c->nr_eps ? &c->eps[i] : NULL;
}

struct control_vm *control_vm_of(struct control *c)
{
	return c->vm_api;
}

void control_set_vm_api(struct control *c, struct control_vm *cv)
{
	c->vm_api = cv;
}
