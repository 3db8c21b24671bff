/* libFuzzer: the HTTP parser, fed the input as requests and as responses,
 * never crashes, reads out of bounds or loops; it consumes no more than it
 * is given, hands over body slices that lie inside the input, reports only
 * the status codes it documents, and splitting the input in two (at a
 * position taken from the first byte) changes nothing it reports. A target
 * it accepts can be written into a request head that parses back the same. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

static struct http_parser parser, reparser;

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Write the request head back out and parse it again. */
static void round_trip(const struct http_parser *p)
{
	struct buf b = BUF_INIT;
	struct http_request_head h = {
		.method = p->method, .target = http_request_target(p), .host = "x",
		.length = HTTP_LENGTH_NONE,
	};

	check(http_request_head_append(&b, &h) == 0);
	http_parser_init(&reparser, HTTP_REQUEST);
	check(http_parse(&reparser, b.data, b.len) == b.len);
	check(reparser.event == HTTP_EV_HEAD);
	check(!strcmp(reparser.method, p->method));
	check(!strcmp(http_request_target(&reparser), http_request_target(p)));
	buf_free(&b);
}

static void head_seen(struct http_parser *p, struct buf *t)
{
	char out[256];
	const char *name, *value;
	unsigned i;

	buf_printf(t, "head %s %s %d %d %d %d %d %llu\n", p->method, http_request_target(p),
		   p->status, p->version, p->keep_alive, p->expect_continue, p->framing,
		   (unsigned long long)p->content_length);
	check(p->version == 10 || p->version == 11);
	for (i = 0; http_header_nth(p, i, &name, &value) == 0; i++) {
		check(http_header_get(p, name) != NULL);
		buf_printf(t, "%s: %s\n", name, value);
	}
	check(i <= HTTP_HEADER_COUNT_MAX);
	if (p->kind != HTTP_REQUEST)
		return;
	if (http_path_decode(http_request_target(p), out, sizeof out) == 0)
		check(strlen(out) < sizeof out && out[0] == '/');
	if (http_query_get(http_request_target(p), "a", out, sizeof out) == 0)
		check(strlen(out) < sizeof out);
	round_trip(p);
}

static void error_seen(const struct http_parser *p, struct buf *t)
{
	static const int codes[] = { 400, 413, 414, 431, 501, 505 };
	bool known = false;
	size_t i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		known |= p->error == codes[i];
	check(known && p->reason && !p->keep_alive);
	buf_printf(t, "error %d %s\n", p->error, p->reason);
}

/* Feed one piece; false once the connection would be closed. */
static bool feed(struct http_parser *p, const char *d, size_t n, struct buf *t, bool head_response)
{
	size_t rounds = 0, most = 4 * n + 8;

	for (;;) {
		size_t used = http_parse(p, d, n);

		check(used <= n && ++rounds <= most);
		switch (p->event) {
		case HTTP_EV_NONE:
			check(used == n);
			return true;
		case HTTP_EV_HEAD:
			head_seen(p, t);
			break;
		case HTTP_EV_BODY:
			check(p->body_len > 0 && p->body >= d && p->body + p->body_len == d + used);
			check(p->body_seen <= p->body_max);
			buf_append(t, p->body, p->body_len);
			break;
		case HTTP_EV_DONE:
			check(http_parse(p, d + used, n - used) == 0 && p->event == HTTP_EV_DONE);
			buf_puts(t, "\ndone\n");
			if (!p->keep_alive)
				return false;
			http_parser_reset(p);
			p->head_response = head_response;
			break;
		case HTTP_EV_ERROR:
			error_seen(p, t);
			check(http_parse(p, d + used, n - used) == 0 && p->event == HTTP_EV_ERROR);
			return false;
		}
		d += used;
		n -= used;
	}
}

static void transcript(enum http_kind kind, bool head_response, const char *d, size_t n,
		       size_t split, struct buf *t)
{
	struct http_parser *p = &parser;

	http_parser_init(p, kind);
	if (kind == HTTP_REQUEST)
		p->body_max = 4096;
	p->head_response = head_response;
	if (!feed(p, d, split, t, head_response) || !feed(p, d + split, n - split, t, head_response))
		return;
	http_parse_eof(p);
	if (p->event == HTTP_EV_DONE)
		buf_puts(t, "\ndone\n");
	else if (p->event == HTTP_EV_ERROR)
		error_seen(p, t);
	else
		check(p->event == HTTP_EV_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, split = BUF_INIT;
	const char *d = (const char *)data + 1;
	size_t n, at;
	int mode;

	if (size < 1)
		return 0;
	n = size - 1;
	at = n ? data[0] % (n + 1) : 0;
	for (mode = 0; mode < 3; mode++) {
		enum http_kind kind = mode == 0 ? HTTP_REQUEST : HTTP_RESPONSE;

		buf_reset(&whole);
		buf_reset(&split);
		transcript(kind, mode == 2, d, n, 0, &whole);
		transcript(kind, mode == 2, d, n, at, &split);
		check(whole.len == split.len && (!whole.len || !memcmp(whole.data, split.data, whole.len)));
	}
	buf_free(&whole);
	buf_free(&split);
	return 0;
}
