/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 message parser (RFC 9112) for the control API and its
 * client: no I/O, no allocation, hard limits. The caller keeps the bytes of
 * the message received so far in one buffer and calls http_parse again each
 * time more arrive; the parser remembers how far it has looked, so a client
 * sending one byte at a time costs linear work. Once the header block is
 * complete it is parsed in place (fields are NUL-terminated inside the
 * buffer, and struct http_msg points into it).
 *
 * Accepted: request lines METHOD SP origin-form-or-absolute-form SP
 * HTTP/1.0|1.1 (responses: HTTP/1.x SP 3DIGIT [SP reason]), header fields
 * name ":" OWS value OWS, lines ending in CRLF or a bare LF (RFC 9112 2.2
 * allows the latter), Content-Length bodies (duplicates must agree),
 * Connection (close, keep-alive), Expect: 100-continue.
 *
 * Refused, each with the status to answer: header block over
 * HTTP_MAX_HEADER_BYTES or more than HTTP_MAX_HEADERS fields (431), a body
 * over the caller's limit (413), Transfer-Encoding chunked (411: send
 * Content-Length) or any other transfer coding (501), other expectations
 * (417), HTTP versions other than 1.0 and 1.1 (505), obsolete line folding,
 * control characters, bad tokens, bad Content-Length (400). A response
 * without Content-Length (and not 1xx/204/304) is delimited by the close of
 * the connection (http_msg.until_close); requests never are.
 */
#ifndef VMM_HTTP_H
#define VMM_HTTP_H

#include "vmm/base/types.h"

#include <stddef.h>

#define HTTP_MAX_HEADER_BYTES 8192 /* request/status line + header fields + the empty line */
#define HTTP_MAX_HEADERS      64
#define HTTP_MAX_BODY_BYTES   (1u << 20) /* the control API's limit (a VM spec is a few KiB) */

struct http_header {
	const char *name; /* as sent; compare case-insensitively */
	const char *value;
};

struct http_msg {
	/* Request line (requests). method is the token as sent ("GET"). */
	const char *method;
	const char *target; /* the origin-form path and query: "/api/v1/vm.info?x=1" */
	/* Status line (responses). */
	int status;
	const char *reason;
	int version_minor; /* HTTP/1.<minor> */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned nr_headers;
	bool has_length;
	size_t content_length;
	bool keep_alive;      /* Connection semantics of the version and headers */
	bool expect_continue; /* Expect: 100-continue */
	bool until_close;     /* response body ends with the connection */
	size_t header_len;    /* bytes of the header block, the empty line included */
	const char *body;     /* header_len bytes into the buffer */
	size_t body_len;
};

enum http_state {
	HTTP_NEED_MORE,	   /* the message is not complete yet */
	HTTP_BODY_PENDING, /* headers complete and parsed (msg is valid), body still arriving */
	HTTP_COMPLETE,	   /* msg holds the whole message, of header_len + body_len bytes */
	HTTP_ERROR,	   /* malformed or over a limit: see error_status and error */
};

struct http_parser {
	bool response;	   /* parse a response instead of a request */
	size_t max_body;   /* bodies over this are refused (413) */
	size_t scanned;	   /* bytes already searched for the end of the header block */
	bool headers_done; /* msg's header part is valid */
	struct http_msg msg;
	int error_status;  /* HTTP_ERROR: the status to answer (400, 411, 413, 417, 431, ...) */
	const char *error; /* HTTP_ERROR: what was wrong, in words */
};

/* Start a new message. */
void http_parser_init(struct http_parser *p, bool response, size_t max_body);

/*
 * Look at buf[0..len), the bytes of this message received so far (the same buffer each time,
 * grown at the end; bytes beyond the message may follow: a pipelined request). Returns the
 * parser's state; buf is modified in place once the header block is complete. For a response
 * with until_close, HTTP_BODY_PENDING lasts until http_parse_eof.
 */
enum http_state http_parse(struct http_parser *p, char *buf, size_t len);

/* The connection closed with len bytes received: a response read until close is complete. */
enum http_state http_parse_eof(struct http_parser *p, char *buf, size_t len);

/* The value of header name (case-insensitive), or NULL. */
const char *http_header(const struct http_msg *m, const char *name);

/* The reason phrase of a status code ("Not Found"), "" for unknown ones. */
const char *http_reason(int status);

#endif
