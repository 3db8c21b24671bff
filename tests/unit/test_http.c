/*
 * The HTTP/1.1 parser, writers and target decoding. Most tests feed a byte
 * stream and compare the transcript of events it produces; every stream is
 * fed whole, byte by byte and split at each position, and all must give the
 * same transcript.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

struct opts {
	enum http_kind kind;
	uint64_t body_max;	/* 0: the parser's default */
	bool head_response;
	bool eof;		/* the peer closes after the last byte */
};

static const struct opts server = { HTTP_REQUEST, 0, false, false };
static const struct opts client = { HTTP_RESPONSE, 0, false, false };
static const struct opts client_eof = { HTTP_RESPONSE, 0, false, true };

struct session {
	const struct opts *o;
	struct http_parser p;
	struct buf t;		/* the transcript */
	struct buf body;	/* body bytes not yet written to it */
	bool stopped;
};

static const char *framing_name(const struct http_parser *p)
{
	static char s[32];

	switch (p->framing) {
	case HTTP_BODY_NONE:
		return "no-body";
	case HTTP_BODY_LENGTH:
		snprintf(s, sizeof s, "length=%llu", (unsigned long long)p->content_length);
		return s;
	case HTTP_BODY_CHUNKED:
		return "chunked";
	case HTTP_BODY_CLOSE:
		return "until-close";
	}
	return "?";
}

static void body_flush(struct session *s)
{
	if (!s->body.len)
		return;
	buf_printf(&s->t, "body <%s>\n", s->body.data);
	buf_reset(&s->body);
}

static void record(struct session *s)
{
	struct http_parser *p = &s->p;

	if (p->event != HTTP_EV_BODY && p->event != HTTP_EV_NONE)
		body_flush(s);
	switch (p->event) {
	case HTTP_EV_NONE:
		break;
	case HTTP_EV_HEAD:
		if (p->kind == HTTP_REQUEST)
			buf_printf(&s->t, "head %s %s", p->method, http_request_target(p));
		else
			buf_printf(&s->t, "head %d", p->status);
		buf_printf(&s->t, " 1.%d %s %s%s\n", p->version - 10, framing_name(p),
			   p->keep_alive ? "keep-alive" : "close",
			   p->expect_continue ? " expect-continue" : "");
		break;
	case HTTP_EV_BODY:
		assert_true(p->body_len > 0);
		buf_append(&s->body, p->body, p->body_len);
		break;
	case HTTP_EV_DONE:
		buf_puts(&s->t, "done\n");
		if (!p->keep_alive) {
			s->stopped = true;
			break;
		}
		http_parser_reset(p);
		p->head_response = s->o->head_response;
		break;
	case HTTP_EV_ERROR:
		assert_false(p->keep_alive);
		buf_printf(&s->t, "error %d: %s\n", p->error, p->reason);
		s->stopped = true;
		break;
	}
}

static void feed(struct session *s, const char *d, size_t n)
{
	while (!s->stopped) {
		size_t used = http_parse(&s->p, d, n);
		enum http_event ev = s->p.event;

		assert_true(used <= n);
		d += used;
		n -= used;
		record(s);
		if (ev == HTTP_EV_NONE) {
			assert_int_equal(n, 0);
			return;
		}
	}
}

/* The transcript of text fed as [0, split) and then pieces of step bytes
 * (the rest at once when step is 0). The caller frees it. */
static char *run(const struct opts *o, const char *text, size_t len, size_t split, size_t step)
{
	struct session *s = calloc(1, sizeof *s);
	size_t at;
	char *out;

	s->o = o;
	http_parser_init(&s->p, o->kind);
	if (o->body_max)
		s->p.body_max = o->body_max;
	s->p.head_response = o->head_response;
	feed(s, text, split);
	for (at = split; at < len; at += step ? step : len) {
		size_t n = step && step < len - at ? step : len - at;

		feed(s, text + at, n);
	}
	if (o->eof && !s->stopped) {
		http_parse_eof(&s->p);
		record(s);
	}
	body_flush(s);
	buf_puts(&s->t, "");
	out = strdup(s->t.data);
	buf_free(&s->t);
	buf_free(&s->body);
	free(s);
	return out;
}

static void same(const char *got, const char *want, size_t split, size_t step)
{
	if (strcmp(got, want))
		print_message("fed from split %zu in steps of %zu\n", split, step);
	assert_string_equal(got, want);
}

static void check_len(const struct opts *o, const char *text, size_t len, const char *want)
{
	size_t stride = len > 4096 ? len / 97 : 1, k;
	char *got;

	got = run(o, text, len, 0, 0);
	same(got, want, 0, 0);
	free(got);
	got = run(o, text, len, 0, 1);
	same(got, want, 0, 1);
	free(got);
	for (k = 1; k < len; k += stride) {
		got = run(o, text, len, k, 0);
		same(got, want, k, 0);
		free(got);
	}
}

#define CHECK(o, text, want) check_len(o, text, strlen(text), want)

/* Parse one complete head whole into p (for field lookups). */
static void parse_head(struct http_parser *p, enum http_kind kind, const char *text)
{
	http_parser_init(p, kind);
	assert_int_equal(http_parse(p, text, strlen(text)), strlen(text));
	assert_int_equal(p->event, HTTP_EV_HEAD);
}

/* ---- requests ---------------------------------------------------------- */

static void a_request_without_a_body(void **state)
{
	CHECK(&server, "GET /v1/units HTTP/1.1\r\nHost: localhost\r\n\r\n",
	      "head GET /v1/units 1.1 no-body keep-alive\n"
	      "done\n");
}

static void fields_are_found_by_name_without_case_and_trimmed(void **state)
{
	struct http_parser *p = malloc(sizeof *p);
	const char *name, *value;

	parse_head(p, HTTP_REQUEST,
		   "PUT /v1/units/a.service HTTP/1.1\r\n"
		   "Host: localhost\r\n"
		   "Content-Type: \t text/plain  \r\n"
		   "X-Empty:\r\n"
		   "x-twice: first\r\n"
		   "X-Twice: second\r\n"
		   "X-Bytes: caf\xc3\xa9 ok\r\n"
		   "\r\n");
	assert_string_equal(http_header_get(p, "content-type"), "text/plain");
	assert_string_equal(http_header_get(p, "CONTENT-TYPE"), "text/plain");
	assert_string_equal(http_header_get(p, "X-Empty"), "");
	assert_string_equal(http_header_get(p, "X-Twice"), "first");
	assert_string_equal(http_header_get(p, "X-Bytes"), "caf\xc3\xa9 ok");
	assert_null(http_header_get(p, "Content"));
	assert_null(http_header_get(p, "Accept"));
	assert_int_equal(http_header_nth(p, 3, &name, &value), 0);
	assert_string_equal(name, "x-twice");
	assert_string_equal(value, "first");
	assert_int_equal(http_header_nth(p, 6, &name, &value), -ENOENT);
	assert_string_equal(http_request_target(p), "/v1/units/a.service");
	assert_string_equal(p->method, "PUT");
	free(p);
}

static void a_body_delimited_by_content_length(void **state)
{
	CHECK(&server, "POST /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nvalue=1",
	      "head POST /v2/keys/a 1.1 length=7 keep-alive\n"
	      "body <value=1>\n"
	      "done\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	      "head POST / 1.1 length=0 keep-alive\n"
	      "done\n");
}

static void a_chunked_body_with_extensions_and_trailers(void **state)
{
	CHECK(&server,
	      "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5;name=value\r\nhello\r\n"
	      "1 ; a ; b=\"q s\"\r\n \r\n"
	      "00A\r\nworld, hi!\r\n"
	      "0\r\n"
	      "X-Checksum: abc\r\n"
	      "Expires: never\r\n"
	      "\r\n",
	      "head PUT /u 1.1 chunked keep-alive\n"
	      "body <hello world, hi!>\n"
	      "done\n");
	CHECK(&server, "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
	      "head PUT /u 1.1 chunked keep-alive\n"
	      "done\n");
}

static void pipelined_requests_are_read_one_after_another(void **state)
{
	CHECK(&server,
	      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
	      "\r\n"
	      "DELETE /d HTTP/1.1\r\nHost: x\r\n\r\n",
	      "head GET /a 1.1 no-body keep-alive\n"
	      "done\n"
	      "head POST /b 1.1 length=3 keep-alive\n"
	      "body <abc>\n"
	      "done\n"
	      "head POST /c 1.1 chunked keep-alive\n"
	      "body <de>\n"
	      "done\n"
	      "head DELETE /d 1.1 no-body keep-alive\n"
	      "done\n");
}

static void the_parser_stops_at_the_end_of_a_message(void **state)
{
	static const char two[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_parser *p = malloc(sizeof *p);
	size_t first = strlen(two) / 2, n;

	http_parser_init(p, HTTP_REQUEST);
	n = http_parse(p, two, strlen(two));
	assert_int_equal(n, first);
	assert_int_equal(p->event, HTTP_EV_HEAD);
	assert_int_equal(http_parse(p, two + n, strlen(two) - n), 0);
	assert_int_equal(p->event, HTTP_EV_DONE);
	assert_int_equal(http_parse(p, two + n, strlen(two) - n), 0);
	assert_int_equal(p->event, HTTP_EV_DONE);
	http_parser_reset(p);
	assert_int_equal(http_parse(p, two + n, strlen(two) - n), strlen(two) - n);
	assert_int_equal(p->event, HTTP_EV_HEAD);
	assert_string_equal(http_request_target(p), "/b");
	free(p);
}

static void http_1_0_closes_unless_the_client_asks_to_keep_alive(void **state)
{
	CHECK(&server, "GET / HTTP/1.0\r\n\r\nGET /unread HTTP/1.0\r\n\r\n",
	      "head GET / 1.0 no-body close\n"
	      "done\n");
	CHECK(&server, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /next HTTP/1.0\r\n\r\n",
	      "head GET / 1.0 no-body keep-alive\n"
	      "done\n"
	      "head GET /next 1.0 no-body close\n"
	      "done\n");
}

static void connection_close_ends_the_connection_after_the_message(void **state)
{
	CHECK(&server,
	      "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\nGET /unread HTTP/1.1\r\n\r\n",
	      "head GET / 1.1 no-body close\n"
	      "done\n");
	CHECK(&server,
	      "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
	      "head GET / 1.1 no-body close\n"
	      "done\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed, ,keep-alive\r\n\r\n",
	      "head GET / 1.1 no-body keep-alive\n"
	      "done\n");
}

static void expect_100_continue_is_flagged_for_http_1_1_only(void **state)
{
	CHECK(&server,
	      "PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok",
	      "head PUT /u 1.1 length=2 keep-alive expect-continue\n"
	      "body <ok>\n"
	      "done\n");
	CHECK(&server, "PUT /u HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
	      "head PUT /u 1.0 length=2 close\n"
	      "body <ok>\n"
	      "done\n");
	CHECK(&server, "PUT /u HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n",
	      "head PUT /u 1.1 no-body keep-alive\n"
	      "done\n");
}

static void http_1_1_requests_need_exactly_one_valid_host(void **state)
{
	CHECK(&server, "GET / HTTP/1.1\r\n\r\n", "error 400: no Host field\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
	      "error 400: more than one Host\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "error 400: invalid Host\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "error 400: invalid Host\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost:\r\n\r\n", "head GET / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: [::1]:7443\r\n\r\n",
	      "head GET / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "error 400: more than one Host\n");
}

static void empty_lines_before_a_request_are_skipped_up_to_a_limit(void **state)
{
	CHECK(&server, "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	      "head GET / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	      "error 400: too many empty lines before the request line\n");
}

static void lines_must_end_in_crlf(void **state)
{
	CHECK(&server, "GET / HTTP/1.1\nHost: x\n\n", "error 400: line ends in a bare LF\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\n\r\n", "error 400: line ends in a bare LF\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\n\n", "error 400: line ends in a bare LF\n");
	CHECK(&server, "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: line ends in a bare LF\n");
	CHECK(&server, "GET / HTTP/1.1\rHost: x\r\n\r\n", "error 400: CR without LF\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", "error 400: CR without LF\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", "error 400: CR without LF\n");
	CHECK(&server, "\r\rGET / HTTP/1.1\r\n", "error 400: CR without LF\n");
	CHECK(&server,
	      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n",
	      "head POST / 1.1 chunked keep-alive\nerror 400: invalid chunk size\n");
}

static void folded_and_indented_field_lines_are_rejected(void **state)
{
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n",
	      "error 400: field line starts with whitespace (obs-fold)\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n",
	      "error 400: field line starts with whitespace (obs-fold)\n");
	CHECK(&server, "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	      "error 400: field line starts with whitespace (obs-fold)\n");
}

static void malformed_field_lines_are_rejected(void **state)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";

	CHECK(&server, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "error 400: invalid field name\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", "error 400: invalid field name\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nX(y): v\r\n\r\n", "error 400: invalid field name\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
	      "error 400: field line without a colon\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01\x62\r\n\r\n",
	      "error 400: invalid character in a field value\n");
	CHECK(&server, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n",
	      "error 400: invalid character in a field value\n");
	check_len(&server, nul, sizeof nul - 1, "error 400: invalid character in a field value\n");
}

static void request_lines_are_checked(void **state)
{
	CHECK(&server, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET /\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET / http/1.1\r\nHost: x\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET / HTTP/1\r\nHost: x\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET / HTTP/1.10\r\nHost: x\r\n\r\n", "error 400: malformed request line\n");
	CHECK(&server, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "error 505: HTTP version not supported\n");
	CHECK(&server, "GET / HTTP/0.9\r\nHost: x\r\n\r\n", "error 505: HTTP version not supported\n");
	CHECK(&server, "GET / HTTP/1.2\r\nHost: x\r\n\r\n", "head GET / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "G(T / HTTP/1.1\r\n", "error 400: invalid method\n");
	CHECK(&server, " GET / HTTP/1.1\r\n", "error 400: invalid method\n");
	CHECK(&server, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "error 400: invalid method\n");
	CHECK(&server, "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: invalid request target\n");
	CHECK(&server, "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: invalid request target\n");
}

static void request_targets_take_the_four_forms(void **state)
{
	CHECK(&server, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	      "head OPTIONS * 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "GET * HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: invalid request target\n");
	CHECK(&server, "GET http://node1:7443/v1/units?x=1 HTTP/1.1\r\nHost: node1:7443\r\n\r\n",
	      "head GET http://node1:7443/v1/units?x=1 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "CONNECT node1:7443 HTTP/1.1\r\nHost: node1:7443\r\n\r\n",
	      "head CONNECT node1:7443 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "GET units HTTP/1.1\r\nHost: x\r\n\r\n", "error 400: invalid request target\n");
}

/* ---- request smuggling ---------------------------------------------------- */

static void content_length_with_transfer_encoding_is_refused(void **state)
{
	CHECK(&server,
	      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "0\r\n\r\n",
	      "error 400: Content-Length with Transfer-Encoding\n");
	CHECK(&server,
	      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
	      "0\r\n\r\n",
	      "error 400: Content-Length with Transfer-Encoding\n");
}

static void transfer_codings_other_than_one_final_chunked_are_refused(void **state)
{
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	      "error 400: chunked applied more than once\n");
	CHECK(&server,
	      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	      "error 400: chunked applied more than once\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	      "error 400: chunked is not the final transfer coding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	      "error 400: chunked is not the final transfer coding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
	      "error 400: chunked is not the final transfer coding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
	      "error 400: chunked is not the final transfer coding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
	      "error 400: chunked is not the final transfer coding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n",
	      "error 400: empty Transfer-Encoding\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	      "error 501: unsupported transfer coding\n");
	CHECK(&server,
	      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	      "error 501: unsupported transfer coding\n");
	CHECK(&server, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	      "error 400: Transfer-Encoding in an HTTP/1.0 message\n");
}

static void content_length_is_digits_and_appears_once(void **state)
{
	static const char *const bad[] = {
		"1,2", "5, 5", "+5", "-1", "1 2", "0x5", "5a", "",
		"18446744073709551616", "99999999999999999999999999",
	};
	char req[256];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n", bad[i]);
		CHECK(&server, req, "error 400: invalid Content-Length\n");
	}
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	      "error 400: more than one Content-Length\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	      "error 400: more than one Content-Length\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:  003 \r\n\r\nabc",
	      "head POST / 1.1 length=3 keep-alive\nbody <abc>\ndone\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n",
	      "error 413: body larger than allowed\n");
}

static void bad_chunk_sizes_are_refused(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "g\r\n", "error 400: invalid chunk size\n" },
		{ "\r\n", "error 400: invalid chunk size\n" },
		{ "-1\r\n", "error 400: invalid chunk size\n" },
		{ "0x5\r\n", "error 400: invalid chunk size\n" },
		{ ";ext\r\n", "error 400: invalid chunk size\n" },
		{ "5 \r\nhello\r\n", "error 400: invalid chunk size\n" },
		{ "5 x\r\n", "error 400: invalid chunk size\n" },
		{ "10000000000000000\r\n", "error 400: chunk size too large\n" },
		{ "5\r\nhelloX\r\n", "body <hello>\nerror 400: chunk data not followed by CRLF\n" },
		{ "5\r\nhello\rX", "body <hello>\nerror 400: chunk data not followed by CRLF\n" },
		{ "5;a=\x01\r\n", "error 400: invalid chunk extension\n" },
		/* A bare LF never ends the line, inside an extension either. */
		{ "5;a\nhello\r\n0\r\n\r\n", "error 400: invalid chunk extension\n" },
		{ "5;a=\"b\nc\"\r\nhello\r\n", "error 400: invalid chunk extension\n" },
		{ "5 ;a\n", "error 400: invalid chunk extension\n" },
		{ "5\n", "error 400: invalid chunk size\n" },
		{ "5 \n", "error 400: invalid chunk size\n" },
		{ "5\rX", "error 400: CR without LF\n" },
	};
	char req[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char want[256];

		snprintf(req, sizeof req,
			 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s", cases[i].body);
		snprintf(want, sizeof want, "head POST / 1.1 chunked keep-alive\n%s", cases[i].want);
		CHECK(&server, req, want);
	}
}

static void chunk_size_lines_are_bounded(void **state)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	while (b.len < 62 + HTTP_CHUNK_LINE_MAX)
		buf_puts(&b, "a");
	check_len(&server, b.data, b.len,
		  "head POST / 1.1 chunked keep-alive\nerror 400: chunk-size line too long\n");
	buf_free(&b);
}

static void trailers_are_checked_and_dropped(void **state)
{
	static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
	struct buf b = BUF_INIT;

	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\n b\r\n\r\n",
	      "head POST / 1.1 chunked keep-alive\n"
	      "error 400: field line starts with whitespace (obs-fold)\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA 1\r\n\r\n",
	      "head POST / 1.1 chunked keep-alive\nerror 400: invalid field name\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: \x01\r\n\r\n",
	      "head POST / 1.1 chunked keep-alive\nerror 400: invalid character in a field value\n");
	CHECK(&server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\n\r\n",
	      "head POST / 1.1 chunked keep-alive\nerror 400: invalid character in a field value\n");
	buf_puts(&b, head);
	while (b.len < strlen(head) + HTTP_HEADER_SECTION_MAX)
		buf_puts(&b, "X-Trailer: 0123456789abcdef0123456789abcdef\r\n");
	buf_puts(&b, "\r\n");
	check_len(&server, b.data, b.len,
		  "head POST / 1.1 chunked keep-alive\nerror 431: trailer section too large\n");
	buf_free(&b);
}

/* ---- limits ---------------------------------------------------------------- */

static void a_long_target_is_414_and_a_long_method_501(void **state)
{
	struct buf b = BUF_INIT, want = BUF_INIT;
	char target[HTTP_REQUEST_LINE_MAX];
	size_t tlen = HTTP_REQUEST_LINE_MAX - strlen("GET  HTTP/1.1");

	memset(target, 'a', tlen);
	target[0] = '/';
	target[tlen] = 0;
	buf_printf(&b, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
	buf_printf(&want, "head GET %s 1.1 no-body keep-alive\ndone\n", target);
	check_len(&server, b.data, b.len, want.data);
	buf_reset(&b);
	buf_printf(&b, "GET %sa HTTP/1.1\r\nHost: x\r\n\r\n", target);
	check_len(&server, b.data, b.len, "error 414: request target too long\n");
	buf_free(&b);
	buf_free(&want);

	CHECK(&server, "ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: x\r\n\r\n",
	      "head ABCDEFGHIJKLMNOP / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server, "ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: x\r\n\r\n", "error 501: method too long\n");
}

static void too_many_or_too_large_header_fields_are_431(void **state)
{
	struct buf b = BUF_INIT;
	char *got;
	int i;

	buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 1; i < HTTP_HEADER_COUNT_MAX; i++)
		buf_printf(&b, "X-%d: %d\r\n", i, i);
	buf_puts(&b, "\r\n");
	got = run(&server, b.data, b.len, 0, 1);
	assert_string_equal(got, "head GET / 1.1 no-body keep-alive\ndone\n");
	free(got);
	b.len -= 2;
	buf_puts(&b, "X-last: 1\r\n\r\n");
	check_len(&server, b.data, b.len, "error 431: too many header fields\n");

	buf_reset(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	while (b.len < 16 + HTTP_HEADER_SECTION_MAX - 4)
		buf_puts(&b, "v");
	buf_puts(&b, "\r\n\r\n");
	got = run(&server, b.data, b.len, 0, 0);
	assert_string_equal(got, "head GET / 1.1 no-body keep-alive\ndone\n");
	free(got);
	b.len -= 4;
	buf_puts(&b, "v\r\n\r\n");
	check_len(&server, b.data, b.len, "error 431: header section too large\n");
	buf_free(&b);
}

static void the_body_limit_is_set_per_parser(void **state)
{
	static const struct opts small = { HTTP_REQUEST, 10, false, false };

	CHECK(&small, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
	      "head PUT / 1.1 length=10 keep-alive\nbody <0123456789>\ndone\n");
	CHECK(&small, "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
	      "error 413: body larger than allowed\n");
	CHECK(&small,
	      "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n",
	      "head PUT / 1.1 chunked keep-alive\nbody <0123456789>\ndone\n");
	CHECK(&small,
	      "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "6\r\n012345\r\n5\r\n6789A\r\n0\r\n\r\n",
	      "head PUT / 1.1 chunked keep-alive\nbody <012345>\nerror 413: body larger than allowed\n");
}

/* ---- the end of the connection ---------------------------------------------- */

static void a_close_between_requests_is_clean_and_inside_one_is_an_error(void **state)
{
	static const struct opts server_eof = { HTTP_REQUEST, 0, false, true };

	CHECK(&server_eof, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	      "head GET / 1.1 no-body keep-alive\ndone\n");
	CHECK(&server_eof, "GET / HTTP/1.1\r\nHost: x\r\n",
	      "error 400: connection closed inside a message\n");
	CHECK(&server_eof, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc",
	      "head POST / 1.1 length=5 keep-alive\nbody <abc>\n"
	      "error 400: connection closed inside a message\n");
}

static void idle_says_whether_a_message_has_begun(void **state)
{
	struct http_parser *p = malloc(sizeof *p);

	http_parser_init(p, HTTP_REQUEST);
	assert_true(http_parser_idle(p));
	http_parse(p, "\r", 1);
	assert_false(http_parser_idle(p));
	http_parser_init(p, HTTP_REQUEST);
	http_parse(p, "G", 1);
	assert_false(http_parser_idle(p));
	http_parse(p, "ET / HTTP/1.1\r\nHost: x\r\n\r\n", 26);
	assert_int_equal(p->event, HTTP_EV_HEAD);
	http_parse(p, NULL, 0);
	assert_int_equal(p->event, HTTP_EV_DONE);
	http_parser_reset(p);
	assert_true(http_parser_idle(p));
	free(p);
}

/* ---- responses -------------------------------------------------------------- */

static void responses_with_each_framing(void **state)
{
	CHECK(&client, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
	      "head 200 1.1 length=2 keep-alive\nbody <{}>\ndone\n");
	CHECK(&client,
	      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n3\r\n{}\n\r\n0\r\n\r\n",
	      "head 200 1.1 chunked keep-alive\nbody <{}\n{}\n>\ndone\n");
	CHECK(&client_eof, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
	      "head 200 1.1 until-close close\nbody <until the end>\ndone\n");
	CHECK(&client_eof, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	      "head 200 1.0 length=2 close\nbody <ok>\ndone\n");
	CHECK(&client_eof, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
	      "head 200 1.1 length=5 keep-alive\nbody <ok>\n"
	      "error 400: connection closed inside a message\n");
}

static void some_responses_have_no_body_whatever_they_say(void **state)
{
	static const struct opts head = { HTTP_RESPONSE, 0, true, false };

	CHECK(&client,
	      "HTTP/1.1 100 Continue\r\n\r\n"
	      "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
	      "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"
	      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	      "head 100 1.1 no-body keep-alive\ndone\n"
	      "head 204 1.1 no-body keep-alive\ndone\n"
	      "head 304 1.1 no-body keep-alive\ndone\n"
	      "head 200 1.1 length=2 keep-alive\nbody <ok>\ndone\n");
	CHECK(&head,
	      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
	      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	      "head 200 1.1 no-body keep-alive\ndone\nhead 200 1.1 no-body keep-alive\ndone\n");
}

static void response_bodies_are_handed_over_as_they_arrive(void **state)
{
	static const char part[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nfirst";
	struct http_parser *p = malloc(sizeof *p);
	size_t n;

	http_parser_init(p, HTTP_RESPONSE);
	n = http_parse(p, part, sizeof part - 1);
	assert_int_equal(p->event, HTTP_EV_HEAD);
	assert_int_equal(http_parse(p, part + n, sizeof part - 1 - n), sizeof part - 1 - n);
	assert_int_equal(p->event, HTTP_EV_BODY);
	assert_int_equal(p->body_len, 5);
	assert_memory_equal(p->body, "first", 5);
	assert_int_equal(http_parse(p, NULL, 0), 0);
	assert_int_equal(p->event, HTTP_EV_NONE);
	free(p);
}

static void status_lines_are_checked(void **state)
{
	CHECK(&client, "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
	      "head 404 1.1 length=0 keep-alive\ndone\n");
	CHECK(&client, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
	      "head 200 1.1 length=0 keep-alive\ndone\n");
	CHECK(&client, "HTTP/1.1 20 OK\r\n\r\n", "error 400: malformed status line\n");
	CHECK(&client, "HTTP/1.1 099 Odd\r\n\r\n", "error 400: malformed status line\n");
	CHECK(&client, "HTTP/1.1 2000 OK\r\n\r\n", "error 400: malformed status line\n");
	CHECK(&client, "HTTP/1.1 200 O\x01K\r\n\r\n", "error 400: malformed status line\n");
	CHECK(&client, "HTTP/2 200 OK\r\n\r\n", "error 400: malformed status line\n");
	CHECK(&client, "HTTP/2.0 200 OK\r\n\r\n", "error 505: HTTP version not supported\n");
	CHECK(&client, "\r\nHTTP/1.1 200 OK\r\n\r\n", "error 400: malformed status line\n");
}

static void responses_refuse_unknown_codings_and_ambiguous_framing(void **state)
{
	CHECK(&client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	      "error 501: chunked is not the final transfer coding\n");
	CHECK(&client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	      "error 501: unsupported transfer coding\n");
	CHECK(&client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	      "error 400: Content-Length with Transfer-Encoding\n");
	CHECK(&client, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	      "error 400: more than one Content-Length\n");
}

static void a_response_body_until_close_is_bounded_too(void **state)
{
	static const struct opts small = { HTTP_RESPONSE, 4, false, true };

	CHECK(&small, "HTTP/1.1 200 OK\r\n\r\n0123", "head 200 1.1 until-close close\nbody <0123>\ndone\n");
	CHECK(&small, "HTTP/1.1 200 OK\r\n\r\n01234",
	      "head 200 1.1 until-close close\nbody <0123>\nerror 413: body larger than allowed\n");
}

/* ---- writers ------------------------------------------------------------------ */

static void response_heads_are_written_with_their_framing(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 200, .content_type = "application/json", .length = 2 }), 0);
	assert_string_equal(b.data,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 200, .content_type = "application/x-ndjson", .length = HTTP_LENGTH_CHUNKED,
		.date = 784111777, .fields = "X-Pith-Cursor: 12\r\n" }), 0);
	assert_string_equal(b.data,
		"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
		"X-Pith-Cursor: 12\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 503, .length = 0, .conn = HTTP_CONN_CLOSE }), 0);
	assert_string_equal(b.data,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 100, .length = HTTP_LENGTH_NONE }), 0);
	assert_string_equal(b.data, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 299, .length = 0, .conn = HTTP_CONN_KEEP_ALIVE }), 0);
	assert_string_equal(b.data, "HTTP/1.1 299 \r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
	buf_free(&b);
}

static void writers_refuse_what_would_not_parse_and_leave_the_buffer_alone(void **state)
{
	static const struct http_response_head bad[] = {
		{ .status = 99, .length = 0 },
		{ .status = 1000, .length = 0 },
		{ .status = 204, .length = 0 },
		{ .status = 101, .length = HTTP_LENGTH_CHUNKED },
		{ .status = 200, .length = -3 },
		{ .status = 200, .length = 0, .content_type = "text/plain\r\nX-Injected: 1" },
		{ .status = 200, .length = 0, .fields = "X-A: 1" },
		{ .status = 200, .length = 0, .fields = "X-A: 1\nX-B: 2\r\n" },
		{ .status = 200, .length = 0, .fields = "X A: 1\r\n" },
		{ .status = 200, .length = 0, .fields = "Content-Length: 1\r\n" },
		{ .status = 200, .length = 0, .fields = "transfer-encoding: chunked\r\n" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, "before");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(http_response_head_append(&b, &bad[i]), -EINVAL);
		assert_string_equal(b.data, "before");
	}
	assert_int_equal(http_request_head_append(&b, &(struct http_request_head){
		.method = "GET", .target = "/a b", .host = "x", .length = HTTP_LENGTH_NONE }), -EINVAL);
	assert_int_equal(http_request_head_append(&b, &(struct http_request_head){
		.method = "G T", .target = "/", .host = "x", .length = HTTP_LENGTH_NONE }), -EINVAL);
	assert_int_equal(http_request_head_append(&b, &(struct http_request_head){
		.method = "GET", .target = "/", .host = "x\r\nY: z", .length = HTTP_LENGTH_NONE }), -EINVAL);
	assert_string_equal(b.data, "before");
	buf_free(&b);
}

static void written_messages_parse_back(void **state)
{
	struct buf b = BUF_INIT;
	char *got;

	assert_int_equal(http_request_head_append(&b, &(struct http_request_head){
		.method = "PUT", .target = "/v2/keys/a?ttl=5", .host = "127.0.0.1:2379",
		.content_type = "application/x-www-form-urlencoded", .length = HTTP_LENGTH_CHUNKED,
		.fields = "Expect: 100-continue\r\n" }), 0);
	assert_int_equal(http_chunk_append(&b, "value=", 6), 0);
	assert_int_equal(http_chunk_append(&b, "", 0), 0);
	assert_int_equal(http_chunk_append(&b, "0123456789abcdefg", 17), 0);
	assert_int_equal(http_chunk_last_append(&b), 0);
	assert_non_null(strstr(b.data, "\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n"));
	check_len(&server, b.data, b.len,
		  "head PUT /v2/keys/a?ttl=5 1.1 chunked keep-alive expect-continue\n"
		  "body <value=0123456789abcdefg>\ndone\n");

	buf_reset(&b);
	assert_int_equal(http_response_head_append(&b, &(struct http_response_head){
		.status = 201, .length = 3, .conn = HTTP_CONN_CLOSE }), 0);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	got = run(&client, b.data, b.len, 0, 0);
	assert_string_equal(got, "head 201 1.1 length=3 close\nbody <abc>\ndone\n");
	free(got);
	buf_free(&b);
}

static void status_reasons_are_the_standard_ones(void **state)
{
	assert_string_equal(http_status_reason(200), "OK");
	assert_string_equal(http_status_reason(404), "Not Found");
	assert_string_equal(http_status_reason(408), "Request Timeout");
	assert_string_equal(http_status_reason(413), "Content Too Large");
	assert_string_equal(http_status_reason(414), "URI Too Long");
	assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_status_reason(505), "HTTP Version Not Supported");
	assert_string_equal(http_status_reason(299), "");
}

/* ---- targets -------------------------------------------------------------------- */

static void paths_are_percent_decoded(void **state)
{
	char out[32];

	assert_int_equal(http_path_decode("/v1/units/a%40b.service?x=%zz", out, sizeof out), 0);
	assert_string_equal(out, "/v1/units/a@b.service");
	assert_int_equal(http_path_decode("/a+b%2Fc%2f", out, sizeof out), 0);
	assert_string_equal(out, "/a+b/c/");
	assert_int_equal(http_path_decode("http://node1:7443/v1/units?x", out, sizeof out), 0);
	assert_string_equal(out, "/v1/units");
	assert_int_equal(http_path_decode("http://node1:7443", out, sizeof out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(http_path_decode("/%", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("/%4", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("/%4?1", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("/%g1", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("/a%00b", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("*", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("units", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("mailto:x", out, sizeof out), -EINVAL);
	assert_int_equal(http_path_decode("/0123456789", out, 11), -ENAMETOOLONG);
	assert_int_equal(http_path_decode("/0123456789", out, 12), 0);
	assert_string_equal(out, "/0123456789");
}

static void query_parameters_are_found_by_name(void **state)
{
	static const char t[] = "/v2/keys/a?recursive=true&value=a+b%26c&wait&x=&unit=%66oo.service&x=2";
	char out[16];

	assert_int_equal(http_query_get(t, "recursive", out, sizeof out), 0);
	assert_string_equal(out, "true");
	assert_int_equal(http_query_get(t, "value", out, sizeof out), 0);
	assert_string_equal(out, "a b&c");
	assert_int_equal(http_query_get(t, "wait", out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_get(t, "x", out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_get(t, "unit", out, sizeof out), 0);
	assert_string_equal(out, "foo.service");
	assert_int_equal(http_query_get(t, "recurs", out, sizeof out), -ENOENT);
	assert_int_equal(http_query_get(t, "", out, sizeof out), -ENOENT);
	assert_int_equal(http_query_get("/a", "a", out, sizeof out), -ENOENT);
	assert_int_equal(http_query_get("/a?b%20c=1", "b c", out, sizeof out), 0);
	assert_string_equal(out, "1");
	assert_int_equal(http_query_get("/a?a=1%", "a", out, sizeof out), -EINVAL);
	assert_int_equal(http_query_get("/a?a=%00", "a", out, sizeof out), -EINVAL);
	assert_int_equal(http_query_get("/a?b%zz=1&a=2", "a", out, sizeof out), -EINVAL);
	assert_int_equal(http_query_get("/a?a=2&b=%zz", "a", out, sizeof out), 0);
	assert_int_equal(http_query_get("/a?a=0123456789abcdef", "a", out, sizeof out), -ENAMETOOLONG);
	assert_int_equal(http_query_get("/a?a=0123456789abcde", "a", out, sizeof out), 0);
}

/* No two bytes in a row of the secret are left anywhere in the parser. */
static void assert_no_trace(const struct http_parser *p, const char *secret)
{
	for (size_t i = 0; secret[i + 1]; i++)
		assert_null(memmem(p, sizeof(*p), secret + i, 2));
}

static void a_wiped_header_leaves_no_trace_of_its_value(void **state)
{
	static const char *const heads[] = {
		/* Whitespace around the value: the line is longer than what is kept. */
		"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: \t Bearer Zq9XkW7v \t \r\n\r\n",
		"GET / HTTP/1.1\r\nauthorization:Basic Zq9XkW7v\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Bearer Zq9XkW7v\r\nHost: x\r\nAUTHORIZATION: Zq9XkW7v   \r\n\r\n",
	};

	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		struct http_parser *p = malloc(sizeof(*p));

		memset(p, 0, sizeof(*p));
		http_parser_init(p, HTTP_REQUEST);
		assert_int_equal(http_parse(p, heads[i], strlen(heads[i])), strlen(heads[i]));
		assert_int_equal(p->event, HTTP_EV_HEAD);
		assert_non_null(strstr(http_header_get(p, "Authorization"), "Zq9XkW7v"));
		http_header_wipe(p, "Authorization");
		assert_string_equal(http_header_get(p, "authorization"), "");
		assert_no_trace(p, "Zq9XkW7v");
		/* The other fields are kept. */
		assert_string_equal(http_header_get(p, "Host"), "x");
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_request_without_a_body),
		cmocka_unit_test(fields_are_found_by_name_without_case_and_trimmed),
		cmocka_unit_test(a_body_delimited_by_content_length),
		cmocka_unit_test(a_chunked_body_with_extensions_and_trailers),
		cmocka_unit_test(pipelined_requests_are_read_one_after_another),
		cmocka_unit_test(the_parser_stops_at_the_end_of_a_message),
		cmocka_unit_test(http_1_0_closes_unless_the_client_asks_to_keep_alive),
		cmocka_unit_test(connection_close_ends_the_connection_after_the_message),
		cmocka_unit_test(expect_100_continue_is_flagged_for_http_1_1_only),
		cmocka_unit_test(http_1_1_requests_need_exactly_one_valid_host),
		cmocka_unit_test(empty_lines_before_a_request_are_skipped_up_to_a_limit),
		cmocka_unit_test(lines_must_end_in_crlf),
		cmocka_unit_test(folded_and_indented_field_lines_are_rejected),
		cmocka_unit_test(malformed_field_lines_are_rejected),
		cmocka_unit_test(request_lines_are_checked),
		cmocka_unit_test(request_targets_take_the_four_forms),
		cmocka_unit_test(content_length_with_transfer_encoding_is_refused),
		cmocka_unit_test(transfer_codings_other_than_one_final_chunked_are_refused),
		cmocka_unit_test(content_length_is_digits_and_appears_once),
		cmocka_unit_test(bad_chunk_sizes_are_refused),
		cmocka_unit_test(chunk_size_lines_are_bounded),
		cmocka_unit_test(trailers_are_checked_and_dropped),
		cmocka_unit_test(a_long_target_is_414_and_a_long_method_501),
		cmocka_unit_test(too_many_or_too_large_header_fields_are_431),
		cmocka_unit_test(the_body_limit_is_set_per_parser),
		cmocka_unit_test(a_close_between_requests_is_clean_and_inside_one_is_an_error),
		cmocka_unit_test(idle_says_whether_a_message_has_begun),
		cmocka_unit_test(responses_with_each_framing),
		cmocka_unit_test(some_responses_have_no_body_whatever_they_say),
		cmocka_unit_test(response_bodies_are_handed_over_as_they_arrive),
		cmocka_unit_test(status_lines_are_checked),
		cmocka_unit_test(responses_refuse_unknown_codings_and_ambiguous_framing),
		cmocka_unit_test(a_response_body_until_close_is_bounded_too),
		cmocka_unit_test(response_heads_are_written_with_their_framing),
		cmocka_unit_test(writers_refuse_what_would_not_parse_and_leave_the_buffer_alone),
		cmocka_unit_test(written_messages_parse_back),
		cmocka_unit_test(status_reasons_are_the_standard_ones),
		cmocka_unit_test(paths_are_percent_decoded),
		cmocka_unit_test(query_parameters_are_found_by_name),
		cmocka_unit_test(a_wiped_header_leaves_no_trace_of_its_value),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
