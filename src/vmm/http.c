// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 message parser (http.h). RFC 9112 sections: 2.2 message parsing
 * (bare LF accepted as a line terminator), 3 request line, 4 status line,
 * 5 field syntax (5.2: obsolete line folding refused), 6.3 message body
 * length; RFC 9110 5.6.2 tokens, 8.6 Content-Length, 10.1.1 Expect, 7.6.1
 * Connection.
 */
#include "vmm/http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void http_parser_init(struct http_parser *p, bool response, size_t max_body)
{
	memset(p, 0, sizeof(*p));
	p->response = response;
	p->max_body = max_body;
}

static enum http_state http_fail(struct http_parser *p, int status, const char *why)
{
	p->error_status = status;
	p->error = why;
	return HTTP_ERROR;
}

/* tchar (RFC 9110 5.6.2). */
static bool http_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool http_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!http_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Field values: VCHAR, obs-text, SP and HTAB; no other control characters. */
static bool http_value_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Find the end of the header block: the first empty line. Returns its end offset, or 0. */
static size_t http_find_end(struct http_parser *p, const char *buf, size_t len)
{
	size_t i = p->scanned;

	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* "\n\n" or "\n\r\n": an empty line after at least one line. */
		if (i >= 1 && buf[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return i + 1;
	}
	p->scanned = len;
	return 0;
}

/* Cut the line starting at *pos (within end): NUL-terminate it, return it, advance *pos. */
static char *http_next_line(char *buf, size_t end, size_t *pos)
{
	char *line = buf + *pos;
	char *nl = memchr(line, '\n', end - *pos);
	size_t n;

	if (!nl)
		return NULL;
	*nl = '\0';
	n = (size_t)(nl - line);
	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	*pos = (size_t)(nl - buf) + 1;
	return line;
}

/* "HTTP/1.x": the minor version, -1 for another HTTP version, -2 for garbage. */
static int http_version(const char *v)
{
	if (strncmp(v, "HTTP/", 5) || !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]) || v[8])
		return -2;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -1;
	return v[7] - '0';
}

static enum http_state http_request_line(struct http_parser *p, char *line)
{
	struct http_msg *m = &p->msg;
	char *sp1 = strchr(line, ' '), *sp2, *target;
	int minor;

	if (!sp1)
		return http_fail(p, 400, "the request line is not METHOD TARGET HTTP/1.1");
	*sp1 = '\0';
	target = sp1 + 1;
	sp2 = strchr(target, ' ');
	if (!sp2)
		return http_fail(p, 400, "the request line is not METHOD TARGET HTTP/1.1");
	*sp2 = '\0';
	if (!http_token(line))
		return http_fail(p, 400, "the method is not a token");
	minor = http_version(sp2 + 1);
	if (minor == -1)
		return http_fail(p, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
	if (minor < 0)
		return http_fail(p, 400, "the request line does not end in HTTP/1.x");
	if (!strncasecmp(target, "http://", 7)) { /* absolute-form: keep the path */
		char *slash = strchr(target + 7, '/');

		target = slash ? slash : (char *)"/";
	}
	if (target[0] != '/')
		return http_fail(p, 400, "the request target is not a path");
	for (const char *c = target; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return http_fail(p, 400, "the request target holds a control character");
	m->method = line;
	m->target = target;
	m->version_minor = minor;
	return HTTP_NEED_MORE;
}

static enum http_state http_status_line(struct http_parser *p, char *line)
{
	struct http_msg *m = &p->msg;
	char *sp = strchr(line, ' ');
	int minor;

	if (!sp)
		return http_fail(p, 400, "the status line is not HTTP/1.1 CODE REASON");
	*sp = '\0';
	minor = http_version(line);
	if (minor < 0)
		return http_fail(p, minor == -1 ? 505 : 400, "the status line is not HTTP/1.x");
	if (!isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
	    !isdigit((unsigned char)sp[3]) || (sp[4] && sp[4] != ' '))
		return http_fail(p, 400, "the status code is not three digits");
	m->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	m->reason = sp[4] ? sp + 5 : "";
	m->version_minor = minor;
	return HTTP_NEED_MORE;
}

static char *http_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Does the comma-separated list value hold token (case-insensitive)? */
static bool http_list_has(const char *value, const char *token)
{
	size_t tlen = strlen(token);

	for (const char *s = value; *s;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *e = s;

		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - s) == tlen && !strncasecmp(s, token, tlen))
			return true;
		while (*e && *e != ',')
			e++;
		s = e;
	}
	return false;
}

/* Content-Length: 1*DIGIT, or a list of identical values (RFC 9110 8.6). */
static enum http_state http_content_length(struct http_parser *p, const char *v)
{
	struct http_msg *m = &p->msg;

	for (const char *s = v; *s;) {
		size_t n = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!isdigit((unsigned char)*s))
			return http_fail(p, 400, "Content-Length is not a number");
		for (; isdigit((unsigned char)*s); s++) {
			if (n > ((size_t)-1 - 9) / 10)
				return http_fail(p, 400, "Content-Length is too large a number");
			n = n * 10 + (size_t)(*s - '0');
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s && *s != ',')
			return http_fail(p, 400, "Content-Length is not a number");
		if (*s)
			s++;
		if (m->has_length && m->content_length != n)
			return http_fail(p, 400, "Content-Length is given twice with two values");
		m->has_length = true;
		m->content_length = n;
	}
	if (!m->has_length)
		return http_fail(p, 400, "Content-Length is empty");
	return HTTP_NEED_MORE;
}

/* The meaning of one header field. */
static enum http_state http_field(struct http_parser *p, const char *name, const char *value)
{
	struct http_msg *m = &p->msg;

	if (!strcasecmp(name, "Content-Length"))
		return http_content_length(p, value);
	if (!strcasecmp(name, "Transfer-Encoding")) {
		if (http_list_has(value, "chunked"))
			return http_fail(p, 411,
					 "chunked bodies are not supported: send Content-Length");
		return http_fail(p, 501, "transfer codings are not supported");
	}
	if (!strcasecmp(name, "Connection")) {
		if (http_list_has(value, "close"))
			m->keep_alive = false;
		else if (http_list_has(value, "keep-alive"))
			m->keep_alive = true;
		return HTTP_NEED_MORE;
	}
	if (!strcasecmp(name, "Expect") && !p->response && m->version_minor >= 1) {
		if (strcasecmp(value, "100-continue"))
			return http_fail(p, 417, "the only expectation supported is 100-continue");
		m->expect_continue = true;
	}
	return HTTP_NEED_MORE;
}

static enum http_state http_header_line(struct http_parser *p, char *line)
{
	struct http_msg *m = &p->msg;
	char *colon, *value;

	if (line[0] == ' ' || line[0] == '\t')
		return http_fail(p, 400, "obsolete line folding in a header field");
	colon = strchr(line, ':');
	if (!colon)
		return http_fail(p, 400, "a header line has no colon");
	*colon = '\0';
	if (!http_token(line))
		return http_fail(p, 400, "a header field name is not a token");
	value = http_trim(colon + 1);
	if (!http_value_ok(value))
		return http_fail(p, 400, "a header field value holds a control character");
	if (m->nr_headers == HTTP_MAX_HEADERS)
		return http_fail(p, 431, "too many header fields");
	m->headers[m->nr_headers].name = line;
	m->headers[m->nr_headers].value = value;
	m->nr_headers++;
	return http_field(p, line, value);
}

/* The whole header block is in buf[0..end): parse it. */
static enum http_state http_parse_headers(struct http_parser *p, char *buf, size_t end)
{
	struct http_msg *m = &p->msg;
	enum http_state st;
	size_t pos = 0;
	char *line;

	if (memchr(buf, '\0', end))
		return http_fail(p, 400, "a NUL byte in the header block");
	line = http_next_line(buf, end, &pos);
	if (!line || !*line)
		return http_fail(p, 400, "an empty request line");
	st = p->response ? http_status_line(p, line) : http_request_line(p, line);
	if (st == HTTP_ERROR)
		return st;
	m->keep_alive = m->version_minor >= 1;
	while ((line = http_next_line(buf, end, &pos)) && *line) {
		st = http_header_line(p, line);
		if (st == HTTP_ERROR)
			return st;
	}
	m->header_len = end;
	m->body = buf + end;
	if (p->response && (m->status / 100 == 1 || m->status == 204 || m->status == 304)) {
		m->has_length = true;
		m->content_length = 0;
	} else if (p->response && !m->has_length) {
		m->until_close = true;
		m->keep_alive = false;
	}
	if (m->has_length && m->content_length > p->max_body)
		return http_fail(p, 413, "the body is larger than allowed");
	p->headers_done = true;
	return HTTP_BODY_PENDING;
}

enum http_state http_parse(struct http_parser *p, char *buf, size_t len)
{
	struct http_msg *m = &p->msg;

	if (p->error_status)
		return HTTP_ERROR;
	if (!p->headers_done) {
		size_t end = http_find_end(p, buf, len);

		if (!end) {
			if (len > HTTP_MAX_HEADER_BYTES)
				return http_fail(p, 431, "the header block is larger than allowed");
			return HTTP_NEED_MORE;
		}
		if (end > HTTP_MAX_HEADER_BYTES)
			return http_fail(p, 431, "the header block is larger than allowed");
		if (http_parse_headers(p, buf, end) == HTTP_ERROR)
			return HTTP_ERROR;
	}
	if (m->until_close) {
		if (len - m->header_len > p->max_body)
			return http_fail(p, 413, "the body is larger than allowed");
		m->body_len = len - m->header_len;
		return HTTP_BODY_PENDING;
	}
	if (len - m->header_len < m->content_length) {
		m->body_len = len - m->header_len;
		return HTTP_BODY_PENDING;
	}
	m->body_len = m->content_length;
	return HTTP_COMPLETE;
}

enum http_state http_parse_eof(struct http_parser *p, char *buf, size_t len)
{
	enum http_state st = http_parse(p, buf, len);

	if (st == HTTP_BODY_PENDING && p->msg.until_close)
		return HTTP_COMPLETE;
	if (st == HTTP_NEED_MORE || st == HTTP_BODY_PENDING)
		return http_fail(p, 400, "the connection closed in the middle of a message");
	return st;
}

const char *http_header(const struct http_msg *m, const char *name)
{
	for (unsigned i = 0; i < m->nr_headers; i++)
		if (!strcasecmp(m->headers[i].name, name))
			return m->headers[i].value;
	return NULL;
}

const char *http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" },
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 400, "Bad Request" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 417, "Expectation Failed" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}
