/*
 * Reading HTTP/1.1 messages: syntax and framing as RFC 9112 gives them,
 * field semantics (Host, Connection, Expect) as RFC 9110 gives them.
 * Writing them is in http_write.c, request-targets in http_target.c.
 */
#include "http.h"

#include <errno.h>
#include <string.h>

_Static_assert(HTTP_HEADER_BYTES_MAX <= UINT16_MAX, "field offsets are 16-bit");

enum {
	S_START,		/* before the start line */
	S_START_LF,		/* CR of an empty line before it */
	S_START_LINE,		/* collecting the start line into buf */
	S_START_LINE_LF,
	S_FIELD_LINE,		/* collecting a field line into buf after the ones kept */
	S_FIELD_LINE_LF,
	S_HEAD_DONE,		/* HTTP_EV_HEAD reported; the body starts on the next call */
	S_LENGTH,
	S_CHUNK_SIZE,
	S_CHUNK_BWS,		/* whitespace after the size: only ';' may follow */
	S_CHUNK_EXT,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_TRAILER_START,	/* at the start of a trailer line */
	S_TRAILER_NAME,
	S_TRAILER_VALUE,
	S_TRAILER_LF,
	S_TRAILER_END_LF,
	S_CLOSE,		/* a response body that ends when the connection does */
	S_BODY_END,		/* the last body byte was handed over; DONE on the next call */
	S_DONE,
	S_ERROR,
};

/* tchar of RFC 9110 section 5.6.2. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* field-vchar, SP or HTAB: what a field value may hold (obs-text included). */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* n bytes at s equal the NUL-terminated lit, ignoring ASCII case. */
static bool mem_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!lit[i] || ascii_lower(s[i]) != ascii_lower(lit[i]))
			return false;
	return lit[n] == 0;
}

bool http_token_is_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

bool http_field_value_is_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_value_char((unsigned char)s[i]))
			return false;
	return true;
}

/* The steps of the parser return 0, or -1 once the message has failed;
 * what the caller learns is in p->event either way. */
static int fail(struct http_parser *p, int code, const char *reason)
{
	p->state = S_ERROR;
	p->event = HTTP_EV_ERROR;
	p->error = code;
	p->reason = reason;
	p->keep_alive = false;
	return -1;
}

static int done(struct http_parser *p)
{
	p->state = S_DONE;
	p->event = HTTP_EV_DONE;
	return 0;
}

void http_parser_reset(struct http_parser *p)
{
	p->head_response = false;
	p->event = HTTP_EV_NONE;
	p->body = NULL;
	p->body_len = 0;
	p->method[0] = 0;
	p->status = 0;
	p->version = 0;
	p->keep_alive = false;
	p->expect_continue = false;
	p->framing = HTTP_BODY_NONE;
	p->content_length = 0;
	p->error = 0;
	p->reason = NULL;
	p->state = S_START;
	p->empty_lines = 0;
	p->line_len = 0;
	p->section_len = 0;
	p->remaining = 0;
	p->body_seen = 0;
	p->chunk_digits = false;
	p->nfields = 0;
	p->used = 0;
	p->buf[0] = 0;
}

void http_parser_init(struct http_parser *p, enum http_kind kind)
{
	p->kind = kind;
	p->body_max = kind == HTTP_REQUEST ? HTTP_BODY_MAX_DEFAULT : HTTP_BODY_UNLIMITED;
	http_parser_reset(p);
}

bool http_parser_idle(const struct http_parser *p)
{
	return p->state == S_START && p->empty_lines == 0;
}

const char *http_request_target(const struct http_parser *p)
{
	return p->kind == HTTP_REQUEST && p->used ? p->buf : "";
}

const char *http_header_get(const struct http_parser *p, const char *name)
{
	unsigned i;

	for (i = 0; i < p->nfields; i++) {
		const char *n = p->buf + p->fields[i].name;

		if (mem_ieq(n, strlen(n), name))
			return p->buf + p->fields[i].value;
	}
	return NULL;
}

void http_header_wipe(struct http_parser *p, const char *name)
{
	for (unsigned i = 0; i < p->nfields; i++) {
		char *n = p->buf + p->fields[i].name, *v = p->buf + p->fields[i].value;

		if (mem_ieq(n, strlen(n), name))
			explicit_bzero(v, strlen(v));
	}
}

int http_header_nth(const struct http_parser *p, unsigned i, const char **name,
		    const char **value)
{
	if (i >= p->nfields)
		return -ENOENT;
	*name = p->buf + p->fields[i].name;
	*value = p->buf + p->fields[i].value;
	return 0;
}

/* "HTTP/" DIGIT "." DIGIT. 0, or the status code to fail with. */
static int version_parse(struct http_parser *p, const char *s, size_t n)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
		return 400;
	if (s[5] != '1')
		return 505;
	p->version = s[7] == '0' ? 10 : 11;
	return 0;
}

/* method SP request-target SP HTTP-version, in buf[0..n). */
static int request_line(struct http_parser *p, size_t n)
{
	char *l = p->buf;
	const char *sp1 = memchr(l, ' ', n), *sp2;
	size_t mlen, tlen;
	int r;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l))))
		return fail(p, 400, "malformed request line");
	mlen = (size_t)(sp1 - l);
	tlen = (size_t)(sp2 - sp1 - 1);
	memcpy(p->method, l, mlen);
	p->method[mlen] = 0;
	r = version_parse(p, sp2 + 1, n - (size_t)(sp2 + 1 - l));
	if (r)
		return fail(p, r, r == 505 ? "HTTP version not supported" : "malformed request line");
	if (!http_target_is_valid(p->method, sp1 + 1, tlen))
		return fail(p, 400, "invalid request target");
	memmove(l, sp1 + 1, tlen);
	l[tlen] = 0;
	p->used = tlen + 1;
	p->state = S_FIELD_LINE;
	return 0;
}

/* HTTP-version SP 3DIGIT [ SP reason-phrase ], in buf[0..n). */
static int status_line(struct http_parser *p, size_t n)
{
	const char *l = p->buf;
	int r;

	if (n < 12 || l[8] != ' ' || (n > 12 && l[12] != ' '))
		return fail(p, 400, "malformed status line");
	r = version_parse(p, l, 8);
	if (r)
		return fail(p, r, r == 505 ? "HTTP version not supported" : "malformed status line");
	if (!is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) ||
	    (n > 13 && !http_field_value_is_valid(l + 13, n - 13)))
		return fail(p, 400, "malformed status line");
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (p->status < 100)
		return fail(p, 400, "malformed status line");
	p->buf[0] = 0;
	p->used = 1;
	p->state = S_FIELD_LINE;
	return 0;
}

/* Keep the field line at buf + used (n bytes) as "name\0value\0". */
static int field_line(struct http_parser *p, size_t n)
{
	char *l = p->buf + p->used;
	const char *colon = memchr(l, ':', n);
	size_t nlen, vs, ve;

	if (is_ows(l[0]))
		return fail(p, 400, "field line starts with whitespace (obs-fold)");
	if (!colon)
		return fail(p, 400, "field line without a colon");
	nlen = (size_t)(colon - l);
	if (!http_token_is_valid(l, nlen))
		return fail(p, 400, "invalid field name");
	for (vs = nlen + 1; vs < n && is_ows(l[vs]); vs++)
		;
	for (ve = n; ve > vs && is_ows(l[ve - 1]); ve--)
		;
	if (!http_field_value_is_valid(l + vs, ve - vs))
		return fail(p, 400, "invalid character in a field value");
	if (p->nfields == HTTP_HEADER_COUNT_MAX)
		return fail(p, 431, "too many header fields");
	l[nlen] = 0;
	memmove(l + nlen + 1, l + vs, ve - vs);
	l[nlen + 1 + ve - vs] = 0;
	/* What the stored form leaves of the line behind it (as many bytes as
	 * the whitespace dropped) is zeroed: no byte of a credential stays
	 * where http_header_wipe() would miss it. */
	if (n > nlen + 1 + ve - vs + 1)
		memset(l + nlen + 1 + ve - vs + 1, 0, n - (nlen + 1 + ve - vs + 1));
	p->fields[p->nfields].name = (uint16_t)p->used;
	p->fields[p->nfields].value = (uint16_t)(p->used + nlen + 1);
	p->nfields++;
	p->used += nlen + 1 + ve - vs + 1;
	return 0;
}

/* Calls fn on each non-empty element of a comma-separated list (RFC 9110
 * section 5.6.1), OWS trimmed. */
static void list_each(const char *v, void (*fn)(const char *s, size_t n, void *arg), void *arg)
{
	while (*v) {
		size_t n = strcspn(v, ","), e = n, s = 0;

		while (s < e && is_ows(v[s]))
			s++;
		while (e > s && is_ows(v[e - 1]))
			e--;
		if (e > s)
			fn(v + s, e - s, arg);
		v += n + (v[n] == ',');
	}
}

struct codings {
	unsigned count;		/* codings named */
	unsigned chunked;	/* of which "chunked" */
	bool unknown;		/* any other */
	bool last_chunked;
};

static void coding_seen(const char *s, size_t n, void *arg)
{
	struct codings *c = arg;

	c->count++;
	c->last_chunked = mem_ieq(s, n, "chunked");
	if (c->last_chunked)
		c->chunked++;
	else
		c->unknown = true;
}

struct conn_opts {
	bool close;
	bool keep_alive;
};

static void conn_option_seen(const char *s, size_t n, void *arg)
{
	struct conn_opts *c = arg;

	if (mem_ieq(s, n, "close"))
		c->close = true;
	else if (mem_ieq(s, n, "keep-alive"))
		c->keep_alive = true;
}

/* 1*DIGIT without overflow. */
static bool length_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!is_digit(*s) || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* The empty line ended the head: decide framing and connection handling
 * from the fields (RFC 9112 sections 6.1 to 6.3, 9.3). */
static int head_end(struct http_parser *p)
{
	struct codings te = { 0 };
	struct conn_opts conn = { 0 };
	const char *cl = NULL, *host = NULL;
	unsigned ncl = 0, nte = 0, nhost = 0, i;
	bool req = p->kind == HTTP_REQUEST;

	for (i = 0; i < p->nfields; i++) {
		const char *name = p->buf + p->fields[i].name;
		const char *value = p->buf + p->fields[i].value;
		size_t nlen = strlen(name);

		if (mem_ieq(name, nlen, "content-length")) {
			ncl++;
			cl = value;
		} else if (mem_ieq(name, nlen, "transfer-encoding")) {
			nte++;
			list_each(value, coding_seen, &te);
		} else if (mem_ieq(name, nlen, "host")) {
			nhost++;
			host = value;
		} else if (mem_ieq(name, nlen, "connection")) {
			list_each(value, conn_option_seen, &conn);
		} else if (mem_ieq(name, nlen, "expect")) {
			p->expect_continue = req && p->version == 11 &&
					     mem_ieq(value, strlen(value), "100-continue");
		}
	}

	if (nte && ncl)
		return fail(p, 400, "Content-Length with Transfer-Encoding");
	if (nte && p->version == 10)
		return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 message");
	if (nte && !te.count)
		return fail(p, 400, "empty Transfer-Encoding");
	if (nte && !te.last_chunked)
		return fail(p, req ? 400 : 501, "chunked is not the final transfer coding");
	if (te.chunked > 1)
		return fail(p, 400, "chunked applied more than once");
	if (te.unknown)
		return fail(p, 501, "unsupported transfer coding");
	if (ncl > 1)
		return fail(p, 400, "more than one Content-Length");
	if (cl && !length_parse(cl, &p->content_length))
		return fail(p, 400, "invalid Content-Length");
	if (req && nhost > 1)
		return fail(p, 400, "more than one Host");
	if (req && !nhost && p->version == 11)
		return fail(p, 400, "no Host field");
	if (req && host && !http_host_is_valid(host))
		return fail(p, 400, "invalid Host");

	p->keep_alive = p->version == 11 ? !conn.close : conn.keep_alive && !conn.close;
	if (!req && (p->status < 200 || p->status == 204 || p->status == 304 || p->head_response))
		p->framing = HTTP_BODY_NONE;
	else if (nte)
		p->framing = HTTP_BODY_CHUNKED;
	else if (cl)
		p->framing = HTTP_BODY_LENGTH;
	else
		p->framing = req ? HTTP_BODY_NONE : HTTP_BODY_CLOSE;
	if (p->framing == HTTP_BODY_CLOSE)
		p->keep_alive = false;
	if (p->framing == HTTP_BODY_LENGTH && p->content_length > p->body_max)
		return fail(p, 413, "body larger than allowed");
	if (p->framing != HTTP_BODY_LENGTH)
		p->content_length = 0;
	p->state = S_HEAD_DONE;
	p->event = HTTP_EV_HEAD;
	return 0;
}

/* The start line (before its CRLF) may not grow past HTTP_REQUEST_LINE_MAX,
 * and a request's method is checked as it arrives, so that a stream of
 * garbage (a TLS handshake on a plain port) is refused at once. */
static int start_line_byte(struct http_parser *p, char c)
{
	bool req = p->kind == HTTP_REQUEST;

	if (req && p->line_len <= HTTP_METHOD_MAX && !memchr(p->buf, ' ', p->line_len)) {
		if (c == ' ' ? p->line_len == 0 : !is_tchar((unsigned char)c))
			return fail(p, 400, "invalid method");
		if (c != ' ' && p->line_len == HTTP_METHOD_MAX)
			return fail(p, 501, "method too long");
	}
	if (p->line_len == HTTP_REQUEST_LINE_MAX)
		return fail(p, req ? 414 : 400, req ? "request target too long" : "status line too long");
	p->buf[p->line_len++] = c;
	return 0;
}

static int field_line_byte(struct http_parser *p, char c)
{
	if (++p->section_len > HTTP_HEADER_SECTION_MAX ||
	    p->used + p->line_len + 2 > sizeof p->buf)
		return fail(p, 431, "header section too large");
	p->buf[p->used + p->line_len++] = c;
	return 0;
}

/* One byte of a line of the head; CR must be followed by LF, and a bare
 * LF ends nothing (RFC 9112 section 2.2 lets a recipient refuse both). */
static int head_byte(struct http_parser *p, char c)
{
	switch (p->state) {
	case S_START:
		if (c == '\r' && p->kind == HTTP_REQUEST) {
			if (++p->empty_lines > HTTP_EMPTY_LINES_MAX)
				return fail(p, 400, "too many empty lines before the request line");
			p->state = S_START_LF;
			return 0;
		}
		p->state = S_START_LINE;
		return head_byte(p, c);
	case S_START_LF:
		if (c != '\n')
			return fail(p, 400, "CR without LF");
		p->state = S_START;
		return 0;
	case S_START_LINE:
		if (c == '\r') {
			p->state = S_START_LINE_LF;
			return 0;
		}
		if (c == '\n')
			return fail(p, 400, "line ends in a bare LF");
		return start_line_byte(p, c);
	case S_START_LINE_LF:
		if (c != '\n')
			return fail(p, 400, "CR without LF");
		if (p->kind == HTTP_REQUEST)
			request_line(p, p->line_len);
		else
			status_line(p, p->line_len);
		p->line_len = 0;
		return 0;
	case S_FIELD_LINE:
		if (c == '\r') {
			if (++p->section_len > HTTP_HEADER_SECTION_MAX)
				return fail(p, 431, "header section too large");
			p->state = S_FIELD_LINE_LF;
			return 0;
		}
		if (c == '\n')
			return fail(p, 400, "line ends in a bare LF");
		return field_line_byte(p, c);
	case S_FIELD_LINE_LF:
		if (c != '\n')
			return fail(p, 400, "CR without LF");
		if (++p->section_len > HTTP_HEADER_SECTION_MAX)
			return fail(p, 431, "header section too large");
		p->state = S_FIELD_LINE;
		if (p->line_len)
			field_line(p, p->line_len);
		else
			head_end(p);
		p->line_len = 0;
		return 0;
	}
	return 0;
}

/* HTTP_EV_HEAD was reported: go on to the body, or end the message. */
static int body_begin(struct http_parser *p)
{
	switch (p->framing) {
	case HTTP_BODY_NONE:
		return done(p);
	case HTTP_BODY_LENGTH:
		if (!p->content_length)
			return done(p);
		p->remaining = p->content_length;
		p->state = S_LENGTH;
		return 0;
	case HTTP_BODY_CHUNKED:
		p->state = S_CHUNK_SIZE;
		p->line_len = 0;
		p->remaining = 0;
		p->chunk_digits = false;
		return 0;
	case HTTP_BODY_CLOSE:
		p->state = S_CLOSE;
		return 0;
	}
	return 0;
}

/* chunk-size [ chunk-ext ] CRLF (RFC 9112 section 7.1); extensions are
 * skipped, their characters checked. */
static int chunk_line_byte(struct http_parser *p, unsigned char c)
{
	int h = hex_value(c);

	if (++p->line_len > HTTP_CHUNK_LINE_MAX)
		return fail(p, 400, "chunk-size line too long");
	switch (p->state) {
	case S_CHUNK_SIZE:
		if (h >= 0) {
			if (p->remaining > UINT64_MAX >> 4)
				return fail(p, 400, "chunk size too large");
			p->remaining = p->remaining << 4 | (uint64_t)h;
			p->chunk_digits = true;
		} else if (!p->chunk_digits) {
			return fail(p, 400, "invalid chunk size");
		} else if (c == ';') {
			p->state = S_CHUNK_EXT;
		} else if (is_ows((char)c)) {
			p->state = S_CHUNK_BWS;
		} else if (c == '\r') {
			p->state = S_CHUNK_SIZE_LF;
		} else {
			return fail(p, 400, "invalid chunk size");
		}
		return 0;
	case S_CHUNK_BWS:
		if (c == ';')
			p->state = S_CHUNK_EXT;
		else if (!is_ows((char)c))
			return fail(p, 400, "invalid chunk size");
		return 0;
	case S_CHUNK_EXT:
		if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else if (!is_value_char(c))
			return fail(p, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_SIZE_LF:
		if (c != '\n')
			return fail(p, 400, "CR without LF");
		if (!p->remaining) {
			p->state = S_TRAILER_START;
			p->section_len = 0;
			return 0;
		}
		if (p->remaining > p->body_max - p->body_seen)
			return fail(p, 413, "body larger than allowed");
		p->body_seen += p->remaining;
		p->state = S_CHUNK_DATA;
		return 0;
	}
	return 0;
}

/* The CRLF after chunk data, and the trailer section, whose fields are
 * checked like header fields and dropped. */
static int chunk_tail_byte(struct http_parser *p, unsigned char c)
{
	if (p->state != S_CHUNK_DATA_CR && p->state != S_CHUNK_DATA_LF &&
	    ++p->section_len > HTTP_HEADER_SECTION_MAX)
		return fail(p, 431, "trailer section too large");
	switch (p->state) {
	case S_CHUNK_DATA_CR:
		if (c != '\r')
			return fail(p, 400, "chunk data not followed by CRLF");
		p->state = S_CHUNK_DATA_LF;
		return 0;
	case S_CHUNK_DATA_LF:
		if (c != '\n')
			return fail(p, 400, "chunk data not followed by CRLF");
		p->state = S_CHUNK_SIZE;
		p->line_len = 0;
		p->remaining = 0;
		p->chunk_digits = false;
		return 0;
	case S_TRAILER_START:
		if (c == '\r')
			p->state = S_TRAILER_END_LF;
		else if (is_tchar(c))
			p->state = S_TRAILER_NAME;
		else
			return fail(p, 400, is_ows((char)c) ? "field line starts with whitespace (obs-fold)"
							    : "invalid field name");
		return 0;
	case S_TRAILER_NAME:
		if (c == ':')
			p->state = S_TRAILER_VALUE;
		else if (!is_tchar(c))
			return fail(p, 400, "invalid field name");
		return 0;
	case S_TRAILER_VALUE:
		if (c == '\r')
			p->state = S_TRAILER_LF;
		else if (!is_value_char(c))
			return fail(p, 400, "invalid character in a field value");
		return 0;
	case S_TRAILER_LF:
	case S_TRAILER_END_LF:
		if (c != '\n')
			return fail(p, 400, "CR without LF");
		if (p->state == S_TRAILER_END_LF)
			return done(p);
		p->state = S_TRAILER_START;
		return 0;
	}
	return 0;
}

/* Hand over up to n body bytes at s, at most the rest of the body or chunk. */
static size_t body_slice(struct http_parser *p, const char *s, size_t n)
{
	if (p->state != S_CLOSE && n > p->remaining)
		n = (size_t)p->remaining;
	if (p->state == S_CLOSE) {
		/* Up to the limit, so that where the input was split does not
		 * change what is handed over. */
		if (p->body_seen == p->body_max) {
			fail(p, 413, "body larger than allowed");
			return 0;
		}
		if (n > p->body_max - p->body_seen)
			n = (size_t)(p->body_max - p->body_seen);
		p->body_seen += n;
	} else {
		p->remaining -= n;
		if (!p->remaining)
			p->state = p->state == S_LENGTH ? S_BODY_END : S_CHUNK_DATA_CR;
	}
	p->event = HTTP_EV_BODY;
	p->body = s;
	p->body_len = n;
	return n;
}

size_t http_parse(struct http_parser *p, const void *data, size_t len)
{
	const char *s = data;
	size_t i = 0;

	p->event = HTTP_EV_NONE;
	p->body = NULL;
	p->body_len = 0;
	if (p->state == S_HEAD_DONE)
		body_begin(p);
	if (p->state == S_BODY_END)
		done(p);
	if (p->state == S_DONE)
		p->event = HTTP_EV_DONE;
	if (p->state == S_ERROR)
		p->event = HTTP_EV_ERROR;

	while (p->event == HTTP_EV_NONE && i < len) {
		switch (p->state) {
		case S_LENGTH:
		case S_CHUNK_DATA:
		case S_CLOSE:
			i += body_slice(p, s + i, len - i);
			break;
		case S_CHUNK_SIZE:
		case S_CHUNK_BWS:
		case S_CHUNK_EXT:
		case S_CHUNK_SIZE_LF:
			chunk_line_byte(p, (unsigned char)s[i++]);
			break;
		case S_CHUNK_DATA_CR:
		case S_CHUNK_DATA_LF:
		case S_TRAILER_START:
		case S_TRAILER_NAME:
		case S_TRAILER_VALUE:
		case S_TRAILER_LF:
		case S_TRAILER_END_LF:
			chunk_tail_byte(p, (unsigned char)s[i++]);
			break;
		default:
			head_byte(p, s[i++]);
			break;
		}
	}
	return i;
}

void http_parse_eof(struct http_parser *p)
{
	http_parse(p, NULL, 0);
	if (p->event != HTTP_EV_NONE)
		return;
	if (p->state == S_CLOSE)
		done(p);
	else if (!http_parser_idle(p))
		fail(p, 400, "connection closed inside a message");
}
