// SPDX-License-Identifier: MIT
/*
 * vmmctl: the command-line client of the vmm control API (docs/management.md).
 * One HTTP/1.1 request per connection over the VMM's unix socket (parsed with
 * the server's own parser, vmm/http.h, in response mode), JSON answers shown
 * in words or, with --json, as they came. wait-state follows vm.events long
 * polls, so it sees a state change without polling the VM.
 */
#include "vmm/base/compiler.h"
#include "vmm/http.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef VMM_VERSION
#define VMM_VERSION "unknown"
#endif

/* Exit statuses (also in the usage text and the man page). */
#define CTL_EXIT_OK	     0
#define CTL_EXIT_REFUSED     1 /* the VMM answered with an error */
#define CTL_EXIT_USAGE	     2
#define CTL_EXIT_UNREACHABLE 3 /* no socket, refused, or closed before answering */
#define CTL_EXIT_TIMEOUT     4 /* wait-state: the state did not come in time */
#define CTL_EXIT_PROTOCOL    5 /* the answer was not HTTP/JSON as the API speaks it */
#define CTL_RUN_DIR	     "/run/vmm"
#define CTL_IO_TIMEOUT_MS    60000
#define CTL_POLL_MAX_S	     30
#define CTL_MAX_ANSWER	     (16u << 20)
#define CTL_LONG_TIMEOUT_MS  (3600 * 1000) /* snapshots and migrations of large guests */

static const char ctl_usage[] =
	"Usage: vmmctl [--socket PATH | NAME] [--json] COMMAND [ARGS]\n"
	"\n"
	"Talk to a running vmm through its control API. NAME is the instance name of a\n"
	"vmm@NAME systemd unit, whose socket is " CTL_RUN_DIR "/NAME.sock.\n"
	"\n"
	"Commands:\n"
	"  ping                     the VMM's version, process id and features\n"
	"  info                     the VM's state, engine, memory and spec\n"
	"  counters                 the VM's counters, by vCPU and device\n"
	"  create SPEC.json         create the VM from a spec file (then: boot)\n"
	"  boot                     boot the VM (Created or Shutdown -> Running)\n"
	"  pause | resume           stop and restart every vCPU (virtual time stops too)\n"
	"  reboot [--tools]         reset the VM in place and run it again; --tools: ask the\n"
	"                           guest's VMware tools to reboot it (OS_Reboot)\n"
	"  power-button [--tools]   press the ACPI power button (the guest shuts down);\n"
	"                           --tools: ask the guest's VMware tools instead (OS_Halt)\n"
	"  shutdown                 stop the VM at once (-> Shutdown); the VMM stays\n"
	"  nmi                      an NMI for every vCPU\n"
	"  delete                   destroy the VM\n"
	"  shutdown-vmm             end the VMM process\n"
	"  screenshot FILE          save the display's screen as a PNG image in FILE\n"
	"  screen-text              print a text-mode screen's characters\n"
	"  guestinfo [KEY | KEY=VALUE | --unset KEY]\n"
	"                           the guestinfo variables the guest's VMware tools read and\n"
	"                           write (KEY without \"guestinfo.\"): all, one's value, set\n"
	"                           one, remove one\n"
	"  events [--since N] [--follow]\n"
	"                           the logged events; --follow keeps waiting for more\n"
	"  snapshot DIR [--no-resume]\n"
	"                           write a snapshot of the VM into DIR (created if missing):\n"
	"                           a Running VM is paused for it and resumed after, unless\n"
	"                           --no-resume (docs/snapshots.md)\n"
	"  restore DIR [--paused]   on a VMM without a VM: continue the VM of the snapshot in\n"
	"                           DIR (Paused with --paused)\n"
	"  migrate URL [--downtime-ms N]\n"
	"                           move the running VM to the VMM that receives at URL\n"
	"                           (unix:PATH or tcp:HOST:PORT); this VMM exits once it runs\n"
	"                           there (docs/snapshots.md)\n"
	"  receive-migration URL [--set KEY=VALUE]...\n"
	"                           on a VMM without a VM: wait at URL for a migration and\n"
	"                           run the VM it brings (--set overrides its spec's keys)\n"
	"  wait-state STATE [--timeout S]\n"
	"                           wait until the VM is in STATE (Created, Running, Paused,\n"
	"                           Shutdown), at most S seconds (default: no limit); a VMM\n"
	"                           that exits while waited on counts as Shutdown\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH        the API socket (vmm run --api-socket PATH)\n"
	"  -j, --json               print the VMM's JSON answers as they are\n"
	"  -h, --help               show this text\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status:\n"
	"  0  done (wait-state: the VM is in STATE)\n"
	"  1  the VMM refused the request (its error class and message are printed)\n"
	"  2  usage error\n"
	"  3  the VMM cannot be reached (no socket, connection refused, closed early)\n"
	"  4  wait-state: the VM did not reach STATE in time\n"
	"  5  the VMM's answer was not HTTP/1.1 with a JSON body\n";

struct ctl {
	const char *socket;
	bool json;
	const char *cmd;
};

struct ctl_answer {
	int status;
	json_t *body; /* NULL for an empty body */
	u8 *raw;      /* an image/png body (vm.screenshot), else NULL */
	size_t raw_len;
};

static void ctl_verr(const char *fmt, va_list ap) PRINTF(1, 0);

static void ctl_verr(const char *fmt, va_list ap)
{
	fputs("vmmctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void ctl_err(const char *fmt, ...) PRINTF(1, 2);

static void ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
}

static long long ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline_ms; 0, or -ETIMEDOUT. */
static int ctl_wait(int fd, short events, long long deadline_ms)
{
	for (;;) {
		long long left = deadline_ms - ctl_now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		ctl_err("%s: too long for a unix socket path", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		ctl_err("%s: cannot connect: %s (is the VMM running?)", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static int ctl_send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (ctl_wait(fd, POLLOUT, deadline) < 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool ctl_is_png(const struct http_msg *m)
{
	for (unsigned i = 0; i < m->nr_headers; i++)
		if (!strcasecmp(m->headers[i].name, "Content-Type"))
			return !strcasecmp(m->headers[i].value, "image/png");
	return false;
}

/*
 * One request. Returns 0 with the answer, or an exit status: CTL_EXIT_UNREACHABLE,
 * CTL_EXIT_PROTOCOL (the message is printed).
 */
static int ctl_request(const struct ctl *c, const char *method, const char *target,
		       const char *body, int timeout_ms, struct ctl_answer *ans)
{
	long long deadline = ctl_now_ms() + timeout_ms;
	/* Allocated whole (pages are touched as bytes come): the parser points into it. */
	size_t blen = body ? strlen(body) : 0, len = 0,
	       cap = CTL_MAX_ANSWER + HTTP_MAX_HEADER_BYTES;
	struct http_parser p;
	char head[512], *buf = NULL;
	enum http_state st = HTTP_NEED_MORE;
	json_error_t je;
	int fd, ret = CTL_EXIT_UNREACHABLE, n;

	memset(ans, 0, sizeof(*ans));
	fd = ctl_connect(c->socket);
	if (fd < 0)
		return CTL_EXIT_UNREACHABLE;
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: vmmctl/" VMM_VERSION
		     "\r\nConnection: close\r\n%s%zu\r\n\r\n",
		     method, target,
		     body ? "Content-Type: application/json\r\nContent-Length: " :
			    "Content-Length: ",
		     blen);
	if (ctl_send_all(fd, head, (size_t)n, deadline) < 0 ||
	    (blen && ctl_send_all(fd, body, blen, deadline) < 0)) {
		ctl_err("%s: the VMM closed the connection before taking the request", c->socket);
		goto out;
	}
	buf = malloc(cap);
	if (!buf)
		goto out;
	http_parser_init(&p, true, CTL_MAX_ANSWER);
	for (;;) {
		ssize_t r;

		if (len == cap) {
			ctl_err("%s: the answer is too large", c->socket);
			ret = CTL_EXIT_PROTOCOL;
			goto out;
		}
		if (ctl_wait(fd, POLLIN, deadline) < 0) {
			ctl_err("%s: no answer within %d s", c->socket, timeout_ms / 1000);
			goto out;
		}
		r = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			ctl_err("%s: %s", c->socket, strerror(errno));
			goto out;
		}
		if (r == 0) {
			st = http_parse_eof(&p, buf, len);
		} else {
			len += (size_t)r;
			st = http_parse(&p, buf, len);
		}
		if (st == HTTP_COMPLETE && p.msg.status == 100) { /* interim: the answer follows */
			size_t used = p.msg.header_len;

			memmove(buf, buf + used, len - used);
			len -= used;
			http_parser_init(&p, true, CTL_MAX_ANSWER);
			st = len ? http_parse(&p, buf, len) : HTTP_NEED_MORE;
		}
		if (st == HTTP_COMPLETE)
			break;
		if (st == HTTP_ERROR) {
			if (r == 0 && !len)
				ctl_err("%s: the VMM closed the connection without answering",
					c->socket);
			else
				ctl_err("%s: not an HTTP answer: %s", c->socket, p.error);
			ret = r == 0 && !len ? CTL_EXIT_UNREACHABLE : CTL_EXIT_PROTOCOL;
			goto out;
		}
	}
	ans->status = p.msg.status;
	if (p.msg.body_len && ctl_is_png(&p.msg)) {
		ans->raw = malloc(p.msg.body_len);
		if (!ans->raw)
			goto out;
		memcpy(ans->raw, p.msg.body, p.msg.body_len);
		ans->raw_len = p.msg.body_len;
	} else if (p.msg.body_len) {
		ans->body = json_loadb(p.msg.body, p.msg.body_len, 0, &je);
		if (!ans->body) {
			ctl_err("%s: the answer is not JSON: %s", c->socket, je.text);
			ret = CTL_EXIT_PROTOCOL;
			goto out;
		}
	}
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* Print an error answer; the exit status for it. */
static int ctl_refused(const struct ctl *c, const struct ctl_answer *a)
{
	json_t *e = a->body ? json_object_get(a->body, "error") : NULL;
	const char *cls = json_string_value(json_object_get(e, "class"));
	const char *desc = json_string_value(json_object_get(e, "desc"));
	json_t *errors = json_object_get(e, "errors");
	size_t i;
	json_t *x;

	if (c->json && a->body)
		json_dumpf(a->body, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (c->json && a->body)
		putchar('\n');
	ctl_err("%s: %s (%s, HTTP %d)", c->cmd, desc ? desc : "refused", cls ? cls : "?",
		a->status);
	json_array_foreach(errors, i, x)
	{
		const char *path = json_string_value(json_object_get(x, "path"));
		const char *msg = json_string_value(json_object_get(x, "message"));

		if (i > 0 || !desc || !strstr(desc, msg ? msg : ""))
			fprintf(stderr, "  %s%s%s\n", path ? path : "", path && *path ? ": " : "",
				msg ? msg : "");
	}
	return CTL_EXIT_REFUSED;
}

static void ctl_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static void ctl_print_info(const json_t *j)
{
	const json_t *cfg = json_object_get(j, "config");

	printf("name:   %s\n", json_string_value(json_object_get(cfg, "name")));
	printf("state:  %s\n", json_string_value(json_object_get(j, "state")));
	printf("engine: %s\n", json_string_value(json_object_get(j, "engine")));
	printf("vcpus:  %lld\n", (long long)json_integer_value(json_object_get(cfg, "vcpus")));
	printf("memory: %lld MiB\n",
	       (long long)json_integer_value(json_object_get(j, "memory_actual_size")) >> 20);
	printf("config: ");
	json_dumpf(cfg, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static void ctl_print_counters(const json_t *j)
{
	const char *group, *name;
	json_t *g, *v;

	json_object_foreach((json_t *)j, group, g)
	{
		json_object_foreach(g, name, v)
			printf("%-16s %-20s %lld\n", group, name, (long long)json_integer_value(v));
	}
}

static void ctl_print_event(const json_t *e)
{
	const json_t *props = json_object_get(e, "properties");
	const char *reason = json_string_value(json_object_get(props, "reason"));
	time_t secs = (time_t)json_integer_value(
		json_object_get(json_object_get(e, "timestamp"), "secs"));
	char when[32];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&secs, &tm));
	printf("%s #%lld %s:%s -> %s%s%s: %s\n", when,
	       (long long)json_integer_value(json_object_get(e, "seq")),
	       json_string_value(json_object_get(e, "source")),
	       json_string_value(json_object_get(e, "event")),
	       json_string_value(json_object_get(props, "state")), reason ? " by " : "",
	       reason ? reason : "", json_string_value(json_object_get(props, "message")));
	fflush(stdout);
}

/* GET/PUT one endpoint and show the answer. */
static int ctl_simple(const struct ctl *c, const char *method, const char *endpoint,
		      const char *body, void (*show)(const json_t *))
{
	struct ctl_answer a;
	char target[128];
	int ret;

	snprintf(target, sizeof(target), "/api/v1/%s", endpoint);
	ret = ctl_request(c, method, target, body, CTL_IO_TIMEOUT_MS, &a);
	if (ret)
		return ret;
	if (a.status >= 300) {
		ret = ctl_refused(c, &a);
	} else if (a.body) {
		if (c->json || !show)
			ctl_print_json(a.body);
		else
			show(a.body);
	}
	json_decref(a.body);
	return ret;
}

static void ctl_print_screen_text(const json_t *j)
{
	const char *text = json_string_value(json_object_get(j, "text"));

	fputs(text ? text : "", stdout);
}

/* vm.screenshot into path (written whole, then renamed over it). */
static int ctl_screenshot(const struct ctl *c, const char *path)
{
	struct ctl_answer a;
	char tmp[4200];
	FILE *f;
	int ret = ctl_request(c, "GET", "/api/v1/vm.screenshot", NULL, CTL_IO_TIMEOUT_MS, &a);

	if (ret)
		return ret;
	if (a.status >= 300) {
		ret = ctl_refused(c, &a);
		json_decref(a.body);
		return ret;
	}
	if (!a.raw) {
		ctl_err("%s: the answer is not a PNG image", c->socket);
		json_decref(a.body);
		return CTL_EXIT_PROTOCOL;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f || fwrite(a.raw, 1, a.raw_len, f) != a.raw_len || fclose(f) != 0 ||
	    rename(tmp, path) < 0) {
		ctl_err("%s: cannot write the image: %s", path, strerror(errno));
		if (f)
			unlink(tmp);
		free(a.raw);
		return CTL_EXIT_USAGE;
	}
	free(a.raw);
	if (c->json) {
		json_t *j = json_pack("{s:s,s:I}", "file", path, "bytes", (json_int_t)a.raw_len);

		ctl_print_json(j);
		json_decref(j);
	}
	return CTL_EXIT_OK;
}

static void ctl_print_ping(const json_t *j)
{
	const json_t *f = json_object_get(j, "features");
	size_t i;
	json_t *x;

	printf("vmm %s (pid %lld):", json_string_value(json_object_get(j, "version")),
	       (long long)json_integer_value(json_object_get(j, "pid")));
	json_array_foreach(f, i, x) printf("%s %s", i ? "," : "", json_string_value(x));
	putchar('\n');
}

static int ctl_usage_error(const char *fmt, ...) PRINTF(1, 2);

static void ctl_print_guestinfo(const json_t *j)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)j, key, v) printf("%s=%s\n", key, json_string_value(v));
}

/* guestinfo: every variable; KEY: its value (status 1 when it has none); KEY=VALUE; --unset. */
static int ctl_guestinfo(const struct ctl *c, int argc, char **argv)
{
	const char *eq = argc == 2 ? strchr(argv[1], '=') : NULL;
	struct ctl_answer a;
	json_t *body, *v;
	char *text;
	int ret;

	if (argc == 1)
		return ctl_simple(c, "GET", "vm.guestinfo", NULL, ctl_print_guestinfo);
	if (argc == 2 && !eq) {
		ret = ctl_request(c, "GET", "/api/v1/vm.guestinfo", NULL, CTL_IO_TIMEOUT_MS, &a);
		if (ret)
			return ret;
		if (a.status >= 300) {
			ret = ctl_refused(c, &a);
		} else if (!(v = json_object_get(a.body, argv[1]))) {
			ctl_err("guestinfo.%s is not set", argv[1]);
			ret = CTL_EXIT_REFUSED;
		} else {
			printf("%s\n", json_string_value(v));
		}
		json_decref(a.body);
		return ret;
	}
	if (argc == 3 && !strcmp(argv[1], "--unset"))
		body = json_pack("{s:n}", argv[2]);
	else if (argc == 2)
		body = json_pack("{s#:s}", argv[1], (int)(eq - argv[1]), eq + 1);
	else
		return ctl_usage_error(
			"guestinfo: expected nothing, KEY, KEY=VALUE or --unset KEY");
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		ctl_err("guestinfo: out of memory");
		return CTL_EXIT_USAGE;
	}
	ret = ctl_simple(c, "PUT", "vm.guestinfo", text, NULL);
	free(text);
	return ret;
}

static char *ctl_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096, len = 0, n;
	char *buf;

	if (!f) {
		ctl_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *nb = cap < HTTP_MAX_BODY_BYTES ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ctl_err("%s: larger than the API takes (%u bytes)", path,
					HTTP_MAX_BODY_BYTES);
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	fclose(f);
	return buf;
}

/* events: one answer, or follow them. */
static int ctl_events(const struct ctl *c, unsigned long long since, bool follow)
{
	for (;;) {
		char target[128];
		struct ctl_answer a;
		size_t i;
		json_t *e;
		int ret;

		snprintf(target, sizeof(target), "/api/v1/vm.events?since=%llu&timeout=%d", since,
			 follow ? CTL_POLL_MAX_S : 0);
		ret = ctl_request(c, "GET", target, NULL, (CTL_POLL_MAX_S + 30) * 1000, &a);
		if (ret)
			return ret;
		if (a.status >= 300) {
			ret = ctl_refused(c, &a);
			json_decref(a.body);
			return ret;
		}
		json_array_foreach(json_object_get(a.body, "events"), i, e)
		{
			if (c->json) {
				json_dumpf(e, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
				putchar('\n');
				fflush(stdout);
			} else {
				ctl_print_event(e);
			}
		}
		since = (unsigned long long)json_integer_value(json_object_get(a.body, "next"));
		json_decref(a.body);
		if (!follow)
			return CTL_EXIT_OK;
	}
}

static bool ctl_state_name_ok(const char *s)
{
	return !strcmp(s, "Created") || !strcmp(s, "Running") || !strcmp(s, "Paused") ||
	       !strcmp(s, "Shutdown");
}

/* The current state ("" without a VM); an exit status on failure. */
static int ctl_state(const struct ctl *c, char *state, size_t size)
{
	struct ctl_answer a;
	int ret = ctl_request(c, "GET", "/api/v1/vm.info", NULL, CTL_IO_TIMEOUT_MS, &a);

	if (ret)
		return ret;
	state[0] = '\0';
	if (a.status == 200)
		snprintf(state, size, "%s", json_string_value(json_object_get(a.body, "state")));
	else if (a.status != 404)
		ret = ctl_refused(c, &a);
	json_decref(a.body);
	return ret;
}

static int ctl_wait_state(const struct ctl *c, const char *want, long long timeout_s)
{
	long long deadline = timeout_s ? ctl_now_ms() + timeout_s * 1000 : 0;
	unsigned long long next;
	struct ctl_answer a;
	char state[16];
	int ret;

	/* Where the event log is now first, then the state: nothing falls in between. */
	ret = ctl_request(c, "GET", "/api/v1/vm.events?timeout=0&since=1000000000000000", NULL,
			  CTL_IO_TIMEOUT_MS, &a);
	if (ret)
		return ret;
	if (a.status != 200) {
		ret = ctl_refused(c, &a);
		json_decref(a.body);
		return ret;
	}
	next = (unsigned long long)json_integer_value(json_object_get(a.body, "next"));
	json_decref(a.body);
	ret = ctl_state(c, state, sizeof(state));
	if (ret)
		return ret;
	while (strcmp(state, want)) {
		long long left = deadline ? (deadline - ctl_now_ms() + 999) / 1000 : CTL_POLL_MAX_S;
		char target[128];
		size_t i;
		json_t *e;

		if (left <= 0) {
			ctl_err("wait-state: the VM is %s, not %s, after %lld s",
				state[0] ? state : "not created", want, timeout_s);
			return CTL_EXIT_TIMEOUT;
		}
		snprintf(target, sizeof(target), "/api/v1/vm.events?since=%llu&timeout=%lld", next,
			 left < CTL_POLL_MAX_S ? left : CTL_POLL_MAX_S);
		ret = ctl_request(c, "GET", target, NULL, (CTL_POLL_MAX_S + 30) * 1000, &a);
		if (ret == CTL_EXIT_UNREACHABLE && !strcmp(want, "Shutdown")) {
			/* The VMM ended while we waited: its VM is certainly off. */
			fprintf(stderr, "vmmctl: wait-state: the VMM has exited: its VM is off\n");
			snprintf(state, sizeof(state), "Shutdown");
			break;
		}
		if (ret)
			return ret;
		if (a.status != 200) {
			ret = ctl_refused(c, &a);
			json_decref(a.body);
			return ret;
		}
		json_array_foreach(json_object_get(a.body, "events"), i, e)
		{
			const char *s = json_string_value(
				json_object_get(json_object_get(e, "properties"), "state"));

			snprintf(state, sizeof(state), "%s", s ? s : "");
		}
		next = (unsigned long long)json_integer_value(json_object_get(a.body, "next"));
		json_decref(a.body);
	}
	if (!c->json)
		printf("%s\n", state);
	return CTL_EXIT_OK;
}

static const struct {
	const char *cmd, *endpoint;
} ctl_actions[] = {
	{ "boot", "vm.boot" },
	{ "pause", "vm.pause" },
	{ "resume", "vm.resume" },
	{ "reboot", "vm.reboot" },
	{ "power-button", "vm.power-button" },
	{ "shutdown", "vm.shutdown" },
	{ "nmi", "vm.nmi" },
	{ "delete", "vm.delete" },
	{ "shutdown-vmm", "vmm.shutdown" },
};

static int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
	fputs("Run 'vmmctl --help' for the commands.\n", stderr);
	return CTL_EXIT_USAGE;
}

/* A JSON string literal of s (quotes, backslashes and control bytes escaped); malloc'd. */
static char *ctl_json_string(const char *s)
{
	json_t *j = json_string(s);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return text;
}

/* snapshot DIR [--no-resume] and restore DIR [--paused]: a file:// URL of DIR made absolute. */
static int ctl_snapshot(const struct ctl *c, int argc, char **argv)
{
	bool snap = !strcmp(argv[0], "snapshot"), flag = false;
	const char *dir = NULL, *flag_name = snap ? "--no-resume" : "--paused";
	char cwd[4096], url[8300], body[8600], *quoted;
	struct ctl_answer a;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], flag_name))
			flag = true;
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			return ctl_usage_error("%s: unknown argument %s", argv[0], argv[i]);
	}
	if (!dir || !dir[0])
		return ctl_usage_error("%s: expected a snapshot directory", argv[0]);
	if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return ctl_usage_error("%s: cannot tell the current directory", argv[0]);
	if (strlen(dir) > 4000)
		return ctl_usage_error("%s: the directory name is too long", argv[0]);
	snprintf(url, sizeof(url), "file://%s%s%s", dir[0] == '/' ? "" : cwd,
		 dir[0] == '/' ? "" : "/", dir);
	quoted = ctl_json_string(url);
	if (!quoted)
		return CTL_EXIT_USAGE;
	snprintf(body, sizeof(body), "{\"%s\": %s, \"resume\": %s}",
		 snap ? "destination_url" : "source_url", quoted, flag ? "false" : "true");
	free(quoted);
	ret = ctl_request(c, "PUT", snap ? "/api/v1/vm.snapshot" : "/api/v1/vm.restore", body,
			  CTL_LONG_TIMEOUT_MS, &a);
	if (ret)
		return ret;
	if (a.status >= 300)
		ret = ctl_refused(c, &a);
	else if (!c->json)
		printf("%s %s\n", snap ? "snapshot written to" : "restored from", url + 7);
	json_decref(a.body);
	return ret;
}

/* migrate URL [--downtime-ms N] and receive-migration URL [--set KEY=VALUE]... */
static int ctl_migrate(const struct ctl *c, int argc, char **argv)
{
	bool send = !strcmp(argv[0], "migrate");
	json_t *body = json_object(), *sets = json_array();
	const char *url = NULL;
	struct ctl_answer a;
	char *text;
	int ret;

	if (!body || !sets)
		return CTL_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (send && !strcmp(argv[i], "--downtime-ms") && i + 1 < argc) {
			unsigned long ms = strtoul(argv[++i], &end, 10);

			if (*end || !argv[i][0] || ms == 0 || ms > 60000) {
				ret = ctl_usage_error("%s: --downtime-ms: 1 to 60000", argv[0]);
				goto out;
			}
			json_object_set_new(body, "downtime_ms", json_integer((json_int_t)ms));
		} else if (!send && !strcmp(argv[i], "--set") && i + 1 < argc) {
			json_array_append_new(sets, json_string(argv[++i]));
		} else if (!url && argv[i][0] != '-') {
			url = argv[i];
		} else {
			ret = ctl_usage_error("%s: unknown argument %s", argv[0], argv[i]);
			goto out;
		}
	}
	if (!url) {
		ret = ctl_usage_error("%s: expected unix:PATH or tcp:HOST:PORT", argv[0]);
		goto out;
	}
	json_object_set_new(body, send ? "destination_url" : "receiver_url", json_string(url));
	if (json_array_size(sets))
		json_object_set(body, "set", sets);
	text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		ret = CTL_EXIT_USAGE;
		goto out;
	}
	ret = ctl_request(c, "PUT",
			  send ? "/api/v1/vm.send-migration" : "/api/v1/vm.receive-migration", text,
			  CTL_LONG_TIMEOUT_MS, &a);
	free(text);
	if (ret)
		goto out;
	if (a.status >= 300)
		ret = ctl_refused(c, &a);
	else if (!c->json)
		printf("%s %s\n", send ? "migrated to" : "migrated here from", url);
	json_decref(a.body);
out:
	json_decref(sets);
	json_decref(body);
	return ret;
}

static bool ctl_is_command(const char *s)
{
	static const char *const others[] = {
		"ping",	      "info",	    "counters",		"create",    "events",
		"wait-state", "screenshot", "screen-text",	"guestinfo", "snapshot",
		"restore",    "migrate",    "receive-migration"
	};

	for (size_t i = 0; i < sizeof(ctl_actions) / sizeof(ctl_actions[0]); i++)
		if (!strcmp(s, ctl_actions[i].cmd))
			return true;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (!strcmp(s, others[i]))
			return true;
	return false;
}

/* The command's own options (events, wait-state); getopt is done with the global ones. */
static int ctl_run(struct ctl *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	c->cmd = cmd;
	if (argc == 2 && !strcmp(argv[1], "--tools") &&
	    (!strcmp(cmd, "power-button") || !strcmp(cmd, "reboot")))
		return ctl_simple(c, "PUT",
				  !strcmp(cmd, "reboot") ? "vm.tools-reboot" : "vm.tools-halt",
				  NULL, NULL);
	if (!strcmp(cmd, "guestinfo"))
		return ctl_guestinfo(c, argc, argv);
	for (size_t i = 0; i < sizeof(ctl_actions) / sizeof(ctl_actions[0]); i++)
		if (!strcmp(cmd, ctl_actions[i].cmd)) {
			if (argc != 1)
				return ctl_usage_error("%s takes no arguments", cmd);
			return ctl_simple(c, "PUT", ctl_actions[i].endpoint, NULL, NULL);
		}
	if (!strcmp(cmd, "ping") || !strcmp(cmd, "info") || !strcmp(cmd, "counters")) {
		if (argc != 1)
			return ctl_usage_error("%s takes no arguments", cmd);
		return ctl_simple(c, "GET",
				  !strcmp(cmd, "ping") ? "vmm.ping" :
				  !strcmp(cmd, "info") ? "vm.info" :
							 "vm.counters",
				  NULL,
				  !strcmp(cmd, "ping") ? ctl_print_ping :
				  !strcmp(cmd, "info") ? ctl_print_info :
							 ctl_print_counters);
	}
	if (!strcmp(cmd, "screenshot")) {
		if (argc != 2)
			return ctl_usage_error("%s: expected one file to write", cmd);
		return ctl_screenshot(c, argv[1]);
	}
	if (!strcmp(cmd, "screen-text")) {
		if (argc != 1)
			return ctl_usage_error("%s takes no arguments", cmd);
		return ctl_simple(c, "GET", "vm.screen-text", NULL, ctl_print_screen_text);
	}
	if (!strcmp(cmd, "create")) {
		char *spec;
		int ret;

		if (argc != 2)
			return ctl_usage_error("%s: expected one spec file", cmd);
		spec = ctl_read_file(argv[1]);
		if (!spec)
			return CTL_EXIT_USAGE;
		ret = ctl_simple(c, "PUT", "vm.create", spec, NULL);
		free(spec);
		return ret;
	}
	if (!strcmp(cmd, "snapshot") || !strcmp(cmd, "restore"))
		return ctl_snapshot(c, argc, argv);
	if (!strcmp(cmd, "migrate") || !strcmp(cmd, "receive-migration"))
		return ctl_migrate(c, argc, argv);
	if (!strcmp(cmd, "events")) {
		unsigned long long since = 0;
		bool follow = false;

		for (int i = 1; i < argc; i++) {
			char *end;

			if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
				follow = true;
			} else if (!strcmp(argv[i], "--since") && i + 1 < argc) {
				errno = 0;
				since = strtoull(argv[++i], &end, 10);
				if (errno || *end || argv[i][0] == '-')
					return ctl_usage_error("--since %s: not a number", argv[i]);
			} else {
				return ctl_usage_error("events: unknown argument %s", argv[i]);
			}
		}
		return ctl_events(c, since, follow);
	}
	if (!strcmp(cmd, "wait-state")) {
		long long timeout = 0;
		const char *want = NULL;

		for (int i = 1; i < argc; i++) {
			char *end;

			if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
				errno = 0;
				timeout = strtoll(argv[++i], &end, 10);
				if (errno || *end || timeout <= 0)
					return ctl_usage_error(
						"--timeout %s: not a positive number "
						"of seconds",
						argv[i]);
			} else if (!want) {
				want = argv[i];
			} else {
				return ctl_usage_error("wait-state: unknown argument %s", argv[i]);
			}
		}
		if (!want || !ctl_state_name_ok(want))
			return ctl_usage_error("wait-state: STATE is Created, Running, Paused or "
					       "Shutdown, not %s",
					       want ? want : "missing");
		return ctl_wait_state(c, want, timeout);
	}
	return ctl_usage_error("unknown command %s", cmd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	char byname[128];
	int opt;

	/* "+": options end at the command, which has its own (events --since, wait-state). */
	while ((opt = getopt_long(argc, argv, "+s:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			fputs(ctl_usage, stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("vmmctl %s\n", VMM_VERSION);
			return CTL_EXIT_OK;
		default:
			fputs("Run 'vmmctl --help' for the options.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && !c.socket && !ctl_is_command(argv[0])) {
		/* NAME: a vmm@NAME unit's socket. */
		for (const char *p = argv[0]; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
				return ctl_usage_error("%s: not a command, nor a VM name "
						       "([A-Za-z0-9._-])",
						       argv[0]);
		snprintf(byname, sizeof(byname), CTL_RUN_DIR "/%.100s.sock", argv[0]);
		c.socket = byname;
		argc--;
		argv++;
	}
	if (!c.socket)
		return ctl_usage_error("%s", "which VMM? give --socket PATH or a VM NAME");
	if (argc < 1)
		return ctl_usage_error("%s", "no command given");
	return ctl_run(&c, argc, argv);
}
