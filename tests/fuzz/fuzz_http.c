// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control API's HTTP/1.1 parser (src/vmm/http.c).
 *
 * Input: bytes a client might send. The first byte picks how they arrive (in one piece, or in
 * pieces of 1 + (byte % 64) bytes, as a slow client would send them) and whether they are
 * parsed as requests or as responses (vmmctl's side). Messages are parsed one after the other,
 * as pipelined requests are. Whatever the input, the parser must not read or write outside
 * the buffer (ASan), and what it reports must hold together (checked below; a violation
 * traps so the fuzzer records the input): a complete message lies inside the bytes given, its
 * body follows its header block and has the declared length, a request's target is a path,
 * an error carries a status and a reason, and the same bytes in other pieces give the same
 * verdict.
 *
 * Built two ways (tests/fuzz/meson.build): a libFuzzer binary in the clang fuzz tree, and a
 * replay of corpus/http (replay.c) in the normal and sanitizer trees (fuzz-smoke).
 */
#include "fuzz.h"

#include "vmm/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (HTTP_MAX_HEADER_BYTES + 4096)

struct fuzz_verdict {
	enum http_state st;
	int status;	  /* error status, or the response's status */
	size_t used;	  /* bytes of the complete message */
	unsigned nr_msgs; /* complete messages before the verdict */
};

/* Parse the messages in text[0..len) delivered in pieces of step bytes (0: all at once). */
static struct fuzz_verdict fuzz_parse(const u8 *text, size_t len, size_t step, bool response)
{
	struct fuzz_verdict v = { .st = HTTP_NEED_MORE };
	char *buf = malloc(len ? len : 1);
	size_t start = 0, have = 0;
	struct http_parser p;

	FUZZ_CHECK(buf);
	http_parser_init(&p, response, 4096);
	while (have < len) {
		size_t n = step && len - have > step ? step : len - have;
		enum http_state st;

		memcpy(buf + have, text + have, n);
		have += n;
		st = http_parse(&p, buf + start, have - start);
		while (st == HTTP_COMPLETE) {
			const struct http_msg *m = &p.msg;
			size_t used = m->header_len + m->body_len;

			FUZZ_CHECK(used <= have - start);
			FUZZ_CHECK(m->body == buf + start + m->header_len);
			FUZZ_CHECK(m->header_len <= HTTP_MAX_HEADER_BYTES);
			FUZZ_CHECK(m->nr_headers <= HTTP_MAX_HEADERS);
			if (!response) {
				FUZZ_CHECK(m->method && m->method[0]);
				FUZZ_CHECK(m->target && m->target[0] == '/');
				FUZZ_CHECK(m->body_len == (m->has_length ? m->content_length : 0));
			} else {
				FUZZ_CHECK(m->status >= 0 && m->status <= 999);
			}
			for (unsigned i = 0; i < m->nr_headers; i++)
				FUZZ_CHECK(m->headers[i].name[0] && m->headers[i].value);
			v.nr_msgs++;
			v.used = start + used;
			start += used;
			http_parser_init(&p, response, 4096);
			st = start < have ? http_parse(&p, buf + start, have - start) :
					    HTTP_NEED_MORE;
		}
		v.st = st;
		if (st == HTTP_ERROR) {
			FUZZ_CHECK(p.error_status >= 400 && p.error_status <= 599 && p.error);
			v.status = p.error_status;
			break;
		}
		if (st == HTTP_BODY_PENDING)
			FUZZ_CHECK(p.msg.body_len <= have - start - p.msg.header_len);
	}
	if (response && v.st != HTTP_ERROR && start < have) {
		enum http_state st = http_parse_eof(&p, buf + start, have - start);

		FUZZ_CHECK(st == HTTP_COMPLETE || st == HTTP_ERROR);
	}
	free(buf);
	return v;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_verdict whole, pieces;
	size_t step;
	bool response;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	step = 1 + data[0] % 64;
	response = data[0] & 0x80;
	data++;
	size--;
	whole = fuzz_parse(data, size, 0, response);
	pieces = fuzz_parse(data, size, step, response);
	/* How the bytes arrive does not change what they mean. */
	FUZZ_CHECK(whole.nr_msgs == pieces.nr_msgs);
	FUZZ_CHECK(whole.used == pieces.used);
	FUZZ_CHECK((whole.st == HTTP_ERROR) == (pieces.st == HTTP_ERROR));
	FUZZ_CHECK(whole.status == pieces.status);
	return 0;
}
