/*
 * HTTP/1.1 messages (RFC 9112): an incremental parser for requests and
 * responses (http.c), writers for heads and chunks (http_write.c), and the
 * checking and decoding of request-targets (http_target.c). PID 1's local
 * API, the control port, the KV's API and the CLI all speak HTTP through
 * this file.
 *
 * The parser does no I/O, reads no clock and never allocates: the caller
 * owns struct http_parser (about 25 KiB, the header bytes included), feeds
 * it whatever bytes arrived, and reads back one event per call:
 *
 *	for (;;) {
 *		n = http_parse(p, data, len);
 *		data += n, len -= n;
 *		switch (p->event) {
 *		case HTTP_EV_NONE:  read more, then loop
 *		case HTTP_EV_HEAD:  route on p->method, http_request_target(p), headers
 *		case HTTP_EV_BODY:  take p->body_len bytes at p->body (they point into data)
 *		case HTTP_EV_DONE:  answer; if p->keep_alive, http_parser_reset(p) and
 *		                    go on with the len bytes left (a pipelined request)
 *		case HTTP_EV_ERROR: answer p->error and close the connection
 *		}
 *	}
 *
 * Bodies are never buffered: each slice is handed over as it arrives. A
 * request with p->expect_continue waits for "HTTP/1.1 100 Continue" before
 * it sends its body: write that on HTTP_EV_HEAD if the body is wanted, or
 * answer at once and close. After a 101 response the parser has no more
 * to say; the bytes left over belong to the new protocol.
 *
 * Framing is strict, so that no two parsers can disagree about where a
 * message ends (request smuggling): lines end in CRLF (a bare LF or CR is
 * 400), a field line starting with whitespace (obs-fold) is 400,
 * Content-Length is digits only and may appear once (a repeat is 400 even
 * with the same value), Transfer-Encoding may only end in one "chunked"
 * and no other coding is implemented (501), and both fields together are
 * 400. Every error closes the connection.
 */
#ifndef PITH_HTTP_H
#define PITH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Limits on what a peer may send, each with the status code it maps to.
 * They are sized for API requests (a unit file PUT, a KV value, a bearer
 * token), not for browsers with kilobytes of cookies.
 */

/* Request line, CRLF excluded; longer is 414 (only the target can be that
 * long). Also the longest status line a response may have (400). */
#define HTTP_REQUEST_LINE_MAX 8192
/* Longest method; a longer one is 501, as RFC 9112 section 3 suggests. */
#define HTTP_METHOD_MAX 16
/* Header section in bytes, every field line and the empty line ending it
 * counted with their CRLF; more is 431. The trailer section of a chunked
 * body has the same bound. */
#define HTTP_HEADER_SECTION_MAX 16384
/* Field lines in a header section; more is 431. */
#define HTTP_HEADER_COUNT_MAX 64
/* Where the target and the header fields are kept, NUL-terminated, while
 * the message is read: a message within the two limits above always fits. */
#define HTTP_HEADER_BYTES_MAX (HTTP_REQUEST_LINE_MAX + HTTP_HEADER_SECTION_MAX)
/* A chunk-size line, extensions and CRLF included; longer is 400. */
#define HTTP_CHUNK_LINE_MAX 1024
/* Empty lines tolerated before a request line (RFC 9112 section 2.2: some
 * clients send a CRLF after a POST body); more is 400. */
#define HTTP_EMPTY_LINES_MAX 4

/* Default body limit of a request parser; more is 413. A server sets
 * body_max to what its routes accept (a unit file PUT needs a few MiB,
 * a KV value much less). */
#define HTTP_BODY_MAX_DEFAULT (1024 * 1024)
/* Default of a response parser: a streamed journal has no end. */
#define HTTP_BODY_UNLIMITED UINT64_MAX

/*
 * Enforced by the caller, which owns the clock and the sockets. The header
 * timeout runs from the first byte of a request to its HTTP_EV_HEAD (a slow
 * or stalled head gets 408 and the connection is closed); the idle timeout
 * runs while a connection waits for a request or while no byte of a body
 * moves (closed without a response: there is nothing to answer).
 */
#define HTTP_HEADER_TIMEOUT_MS 10000
#define HTTP_IDLE_TIMEOUT_MS 60000

/* Open connections a server keeps per client address and in all; one more
 * is answered 503 and closed. */
#define HTTP_CONN_PER_CLIENT_MAX 16
#define HTTP_CONN_MAX 256

enum http_kind {
	HTTP_REQUEST,		/* a server reading requests */
	HTTP_RESPONSE,		/* a client reading responses */
};

enum http_event {
	HTTP_EV_NONE,		/* every byte given was consumed; feed more */
	HTTP_EV_HEAD,		/* the head is complete (start line and header fields) */
	HTTP_EV_BODY,		/* body and body_len: the next slice of the body */
	HTTP_EV_DONE,		/* the message is complete; it consumes nothing more */
	HTTP_EV_ERROR,		/* error and reason say what is wrong; it consumes nothing more */
};

/* How the length of the body is known; decided with HTTP_EV_HEAD. */
enum http_framing {
	HTTP_BODY_NONE,		/* no body: a request without one, 1xx/204/304, a HEAD response */
	HTTP_BODY_LENGTH,	/* content_length bytes */
	HTTP_BODY_CHUNKED,
	HTTP_BODY_CLOSE,	/* responses only: until the server closes */
};

/* A header field: offsets of its name and value in buf. */
struct http_field {
	uint16_t name;
	uint16_t value;
};

struct http_parser {
	/* Set by http_parser_init(); the caller may change them before the
	 * first byte of a message. */
	enum http_kind kind;
	uint64_t body_max;	/* longest body accepted (413 past it) */
	bool head_response;	/* the response answers a HEAD request: no body.
				 * Cleared by http_parser_reset(). */

	/* What the last call produced. */
	enum http_event event;
	const char *body;	/* HTTP_EV_BODY: into the caller's data */
	size_t body_len;

	/* The head, valid from HTTP_EV_HEAD until reset. */
	char method[HTTP_METHOD_MAX + 1];	/* requests */
	int status;		/* responses: 100..999 */
	int version;		/* 10 or 11: HTTP/1.0 or HTTP/1.1 (1.x, x > 1, reads as 11) */
	bool keep_alive;	/* the connection may carry another message after this one */
	bool expect_continue;	/* an HTTP/1.1 request with "Expect: 100-continue" */
	enum http_framing framing;
	uint64_t content_length;	/* HTTP_BODY_LENGTH */

	/* HTTP_EV_ERROR: the status code to answer with (400, 413, 414, 431,
	 * 501, 505; for a response parser it names the same faults) and a
	 * short phrase for the log. keep_alive is false. */
	int error;
	const char *reason;

	/* Internal state. */
	int state;
	unsigned empty_lines;
	size_t line_len;	/* bytes of the current line so far */
	size_t section_len;	/* bytes of the header or trailer section so far */
	uint64_t remaining;	/* of the body or of the current chunk */
	uint64_t body_seen;	/* body bytes announced so far */
	bool chunk_digits;
	unsigned nfields;
	size_t used;		/* bytes of buf holding the target and fields */
	struct http_field fields[HTTP_HEADER_COUNT_MAX];
	char buf[HTTP_HEADER_BYTES_MAX];	/* target\0 then name\0value\0 ... */
};

/* Ready p to read a first message of the given kind, with the default
 * body_max for that kind. */
void http_parser_init(struct http_parser *p, enum http_kind kind);

/* Ready p for the next message on the same connection, keeping kind and
 * body_max. Only meaningful after HTTP_EV_DONE with keep_alive set. */
void http_parser_reset(struct http_parser *p);

/*
 * Consume up to len bytes of data and report one event in p->event.
 * Returns the bytes consumed: all of them with HTTP_EV_NONE; with HEAD and
 * BODY there may be more to parse, so call again (with len 0 if need be:
 * a message may end without further input); DONE and ERROR consume
 * nothing and repeat until http_parser_reset() or http_parser_init().
 */
size_t http_parse(struct http_parser *p, const void *data, size_t len);

/*
 * The peer closed its side. Sets p->event: HTTP_EV_DONE if that ends a
 * body delimited by the close, HTTP_EV_NONE if no byte of a message had
 * arrived (a clean close), HTTP_EV_ERROR (400) for a truncated message.
 */
void http_parse_eof(struct http_parser *p);

/* True while no byte of the current message has been consumed, so the
 * caller's idle timeout applies rather than the header timeout. */
bool http_parser_idle(const struct http_parser *p);

/* The request-target as received ("/v1/units?x=1"); "" for a response. */
const char *http_request_target(const struct http_parser *p);

/* The value of the first header field called name (compared without case),
 * with surrounding whitespace removed; NULL if there is none. */
const char *http_header_get(const struct http_parser *p, const char *name);
/* Zero the value of every field named name (without case), in place: a
 * credential is not kept past its use. http_header_get() then gives "". */
void http_header_wipe(struct http_parser *p, const char *name);

/* The i-th header field in the order received. 0, or -ENOENT past the end. */
int http_header_nth(const struct http_parser *p, unsigned i, const char **name,
		    const char **value);

/*
 * Syntax checks the parser applies, for code that builds or forwards
 * messages. A token (RFC 9110 section 5.6.2) is a method or a field name;
 * a field value is visible characters, SP, HTAB and bytes 0x80-0xFF, never
 * CR, LF or NUL; a Host value uses the characters of RFC 3986's host and
 * port; a request-target is visible ASCII in origin-form ("/..."),
 * absolute-form ("scheme:..."), authority-form (only for CONNECT) or
 * asterisk-form ("*", only for OPTIONS).
 */
bool http_token_is_valid(const char *s, size_t n);
bool http_field_value_is_valid(const char *s, size_t n);
bool http_host_is_valid(const char *host);
bool http_target_is_valid(const char *method, const char *target, size_t n);

/* "OK" for 200, the reason phrase of every code RFC 9110 defines (and a
 * few more the API uses); "" for others. */
const char *http_status_reason(int status);

/* Body lengths a writer announces besides a byte count. */
#define HTTP_LENGTH_CHUNKED (-1)	/* Transfer-Encoding: chunked */
#define HTTP_LENGTH_NONE (-2)		/* no framing header: no body, or until close */

enum http_conn {
	HTTP_CONN_DEFAULT,	/* no Connection field */
	HTTP_CONN_CLOSE,	/* "Connection: close" */
	HTTP_CONN_KEEP_ALIVE,	/* "Connection: keep-alive", for an HTTP/1.0 peer */
};

struct http_response_head {
	int status;			/* 100..999 */
	const char *content_type;	/* NULL: no Content-Type */
	int64_t length;			/* bytes, HTTP_LENGTH_CHUNKED or HTTP_LENGTH_NONE */
	enum http_conn conn;
	int64_t date;			/* seconds since the epoch for Date; 0: no Date */
	const char *fields;		/* more field lines, each ending in CRLF; NULL: none */
};

/*
 * Append "HTTP/1.1 <status> <reason>" and the fields h describes to b, up to
 * and including the empty line. 0, -ENOMEM, or -EINVAL for a status out of
 * range, a length other than HTTP_LENGTH_NONE with 1xx or 204, or fields
 * that are not well-formed field lines. An HTTP/1.0 client cannot read
 * chunks: answer it with a length, or with HTTP_LENGTH_NONE and a close.
 */
int http_response_head_append(struct buf *b, const struct http_response_head *h);

struct http_request_head {
	const char *method;
	const char *target;		/* origin-form: "/v2/keys/a?recursive=true" */
	const char *host;		/* the Host field; "" is allowed (a unix socket) */
	const char *content_type;	/* NULL: none */
	int64_t length;			/* bytes, HTTP_LENGTH_CHUNKED or HTTP_LENGTH_NONE */
	enum http_conn conn;
	const char *fields;		/* more field lines, each ending in CRLF; NULL: none */
};

/* Append an HTTP/1.1 request head to b. 0, -ENOMEM, or -EINVAL when the
 * method, target, host or fields would not parse. */
int http_request_head_append(struct buf *b, const struct http_request_head *h);

/* Append one chunk of a chunked body; nothing when len is 0 (a zero-length
 * chunk would end the body). 0 or -ENOMEM. */
int http_chunk_append(struct buf *b, const void *data, size_t len);

/* Append the last chunk and an empty trailer section. 0 or -ENOMEM. */
int http_chunk_last_append(struct buf *b);

/*
 * Percent-decode the path of a request-target (origin-form, or absolute-form
 * whose scheme and authority are skipped) into out, NUL-terminated; the
 * query is left out. "%2F" decodes to '/' like any other escape: split into
 * segments before decoding where that matters. 0; -EINVAL for a target that
 * is not one of those forms, an invalid escape or "%00"; -ENAMETOOLONG if
 * out (outlen bytes) is too small.
 */
int http_path_decode(const char *target, char *out, size_t outlen);

/*
 * Find the first parameter called name in the query of a request-target
 * ("?a=1&b=x+y"; '+' is a space and escapes are decoded in names and
 * values) and copy its decoded value into out, NUL-terminated; a parameter
 * without '=' has the value "". 0; -ENOENT if there is none; -EINVAL for an
 * invalid escape or "%00" in the parameter found or in a name before it;
 * -ENAMETOOLONG if out is too small.
 */
int http_query_get(const char *target, const char *name, char *out, size_t outlen);

#endif
