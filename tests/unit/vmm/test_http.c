// SPDX-License-Identifier: MIT
/*
 * The HTTP/1.1 parser (vmm/http.h): requests and responses whole, byte by byte
 * and pipelined; every refusal with its status (400, 411, 413, 417, 431, 501,
 * 505); Connection and Expect semantics; responses delimited by close.
 */
#include "vmm/http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_BODY 1024

/* Parse text fed in pieces of step bytes (0: all at once); the final state. */
static enum http_state feed(struct http_parser *p, char *buf, const char *text, size_t step,
			    bool response)
{
	size_t len = strlen(text), have = 0;
	enum http_state st = HTTP_NEED_MORE;

	http_parser_init(p, response, MAX_BODY);
	if (!step)
		step = len;
	while (have < len) {
		size_t n = len - have < step ? len - have : step;

		memcpy(buf + have, text + have, n);
		have += n;
		st = http_parse(p, buf, have);
		if (st == HTTP_ERROR || st == HTTP_COMPLETE)
			break;
	}
	return st;
}

static void expect_error(const char *text, int status)
{
	struct http_parser p;
	char buf[16384];

	assert_int_equal(feed(&p, buf, text, 0, false), HTTP_ERROR);
	assert_int_equal(p.error_status, status);
	assert_non_null(p.error);
}

static void test_simple_get(void **state)
{
	struct http_parser p;
	char buf[512];

	(void)state;
	assert_int_equal(
		feed(&p, buf, "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n", 0, false),
		HTTP_COMPLETE);
	assert_string_equal(p.msg.method, "GET");
	assert_string_equal(p.msg.target, "/api/v1/vmm.ping");
	assert_int_equal(p.msg.version_minor, 1);
	assert_true(p.msg.keep_alive);
	assert_int_equal(p.msg.body_len, 0);
	assert_string_equal(http_header(&p.msg, "host"), "localhost");
	assert_null(http_header(&p.msg, "content-length"));
}

static void test_put_with_body_byte_by_byte(void **state)
{
	const char *req = "PUT /api/v1/vm.create HTTP/1.1\nContent-Type: application/json\n"
			  "content-length: 11\n\n{\"vcpus\":1}";
	struct http_parser p;
	char buf[512];

	(void)state;
	assert_int_equal(feed(&p, buf, req, 1, false), HTTP_COMPLETE);
	assert_string_equal(p.msg.method, "PUT");
	assert_int_equal(p.msg.content_length, 11);
	assert_int_equal(p.msg.body_len, 11);
	assert_memory_equal(p.msg.body, "{\"vcpus\":1}", 11);
	assert_string_equal(http_header(&p.msg, "Content-Type"), "application/json");
}

static void test_body_pending_then_pipelined(void **state)
{
	char buf[512] = "PUT /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
	const char *two = "PUT /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdGET /b HTTP/1.1\r\n\r\n";
	struct http_parser p;
	size_t first;

	(void)state;
	http_parser_init(&p, false, MAX_BODY);
	assert_int_equal(http_parse(&p, buf, strlen(buf)), HTTP_BODY_PENDING);
	assert_int_equal(p.msg.body_len, 2);
	strcpy(buf, two);
	assert_int_equal(http_parse(&p, buf, strlen(two)), HTTP_COMPLETE);
	first = p.msg.header_len + p.msg.body_len;
	assert_memory_equal(p.msg.body, "abcd", 4);
	/* The next request starts right after: parse it from there. */
	http_parser_init(&p, false, MAX_BODY);
	assert_int_equal(http_parse(&p, buf + first, strlen(two) - first), HTTP_COMPLETE);
	assert_string_equal(p.msg.target, "/b");
}

static void test_connection_and_expect(void **state)
{
	struct http_parser p;
	char buf[512];

	(void)state;
	assert_int_equal(feed(&p, buf, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, false),
			 HTTP_COMPLETE);
	assert_false(p.msg.keep_alive);
	assert_int_equal(feed(&p, buf, "GET / HTTP/1.0\r\n\r\n", 0, false), HTTP_COMPLETE);
	assert_false(p.msg.keep_alive);
	assert_int_equal(
		feed(&p, buf, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, false),
		HTTP_COMPLETE);
	assert_true(p.msg.keep_alive);
	assert_int_equal(feed(&p, buf,
			      "PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
			      0, false),
			 HTTP_BODY_PENDING);
	assert_true(p.msg.expect_continue);
	/* HTTP/1.0 expectations are ignored (RFC 9110 10.1.1). */
	assert_int_equal(feed(&p, buf, "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, false),
			 HTTP_COMPLETE);
	assert_false(p.msg.expect_continue);
}

static void test_absolute_form_and_lists(void **state)
{
	struct http_parser p;
	char buf[512];

	(void)state;
	assert_int_equal(
		feed(&p, buf, "GET http://localhost/api/v1/vm.info HTTP/1.1\r\n\r\n", 0, false),
		HTTP_COMPLETE);
	assert_string_equal(p.msg.target, "/api/v1/vm.info");
	assert_int_equal(
		feed(&p, buf, "PUT / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok", 0, false),
		HTTP_COMPLETE);
	assert_int_equal(p.msg.body_len, 2);
	assert_int_equal(
		feed(&p, buf, "GET / HTTP/1.1\r\nX-Long:   spaced value \t\r\n\r\n", 0, false),
		HTTP_COMPLETE);
	assert_string_equal(http_header(&p.msg, "x-long"), "spaced value");
}

static void test_refusals(void **state)
{
	char big[HTTP_MAX_HEADER_BYTES + 64];

	(void)state;
	expect_error("GET\r\n\r\n", 400);
	expect_error("GET /\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1 extra\r\n\r\n", 400);
	expect_error("G(T / HTTP/1.1\r\n\r\n", 400);
	expect_error("GET / HTTP/2.0\r\n\r\n", 505);
	expect_error("GET / HTTX/1.1\r\n\r\n", 400);
	expect_error("GET nopath HTTP/1.1\r\n\r\n", 400);
	expect_error("\r\nGET / HTTP/1.1\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400);
	expect_error("PUT / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400);
	expect_error("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	expect_error("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
	expect_error("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
	expect_error("PUT / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", 413);
	expect_error("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
	expect_error("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
	expect_error("PUT / HTTP/1.1\r\nExpect: something\r\n\r\n", 417);
	/* A header block over the limit, complete or not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	expect_error(big, 431);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	expect_error(big, 431);
}

static void test_too_many_headers(void **state)
{
	char req[4096];
	size_t n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");

	(void)state;
	for (unsigned i = 0; i <= HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X%u: y\r\n", i);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	expect_error(req, 431);
}

static void test_responses(void **state)
{
	struct http_parser p;
	char buf[512];
	size_t len;

	(void)state;
	assert_int_equal(feed(&p, buf,
			      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: a/b\r\n\r\n{}",
			      3, true),
			 HTTP_COMPLETE);
	assert_int_equal(p.msg.status, 200);
	assert_string_equal(p.msg.reason, "OK");
	assert_memory_equal(p.msg.body, "{}", 2);
	assert_int_equal(feed(&p, buf, "HTTP/1.1 204 No Content\r\n\r\n", 0, true), HTTP_COMPLETE);
	assert_int_equal(p.msg.status, 204);
	assert_int_equal(feed(&p, buf, "HTTP/1.1 100 Continue\r\n\r\n", 0, true), HTTP_COMPLETE);
	assert_int_equal(p.msg.status, 100);
	/* No Content-Length: the body runs until the connection closes. */
	strcpy(buf, "HTTP/1.0 200\r\n\r\nhello");
	len = strlen(buf); /* the parser writes NULs into the header block */
	http_parser_init(&p, true, MAX_BODY);
	assert_int_equal(http_parse(&p, buf, len), HTTP_BODY_PENDING);
	assert_true(p.msg.until_close);
	assert_int_equal(http_parse_eof(&p, buf, len), HTTP_COMPLETE);
	assert_int_equal(p.msg.body_len, 5);
	assert_string_equal(p.msg.reason, "");
	/* A request cut short by the close is an error. */
	strcpy(buf, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab");
	http_parser_init(&p, true, MAX_BODY);
	assert_int_equal(http_parse_eof(&p, buf, strlen(buf)), HTTP_ERROR);
	assert_int_equal(feed(&p, buf, "HTTP/1.1 2x0 OK\r\n\r\n", 0, true), HTTP_ERROR);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(409), "Conflict");
	assert_string_equal(http_reason(299), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_put_with_body_byte_by_byte),
		cmocka_unit_test(test_body_pending_then_pipelined),
		cmocka_unit_test(test_connection_and_expect),
		cmocka_unit_test(test_absolute_form_and_lists),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
