/*
 * Writing HTTP/1.1 messages: heads and chunks appended to a struct buf,
 * checked so that what is written parses (RFC 9112).
 */
#include "http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *http_status_reason(int status)
{
	static const struct {
		short code;
		const char *reason;
	} tab[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
		{ 205, "Reset Content" }, { 206, "Partial Content" },
		{ 300, "Multiple Choices" }, { 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" }, { 304, "Not Modified" }, { 305, "Use Proxy" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 412, "Precondition Failed" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
		{ 417, "Expectation Failed" }, { 421, "Misdirected Request" },
		{ 422, "Unprocessable Content" }, { 426, "Upgrade Required" },
		{ 428, "Precondition Required" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (tab[i].code == status)
			return tab[i].reason;
	return "";
}

/* Field lines a writer is given: "name: value" CRLF each. The framing
 * fields are the writer's own, so they may not come this way. */
static bool fields_ok(const char *f)
{
	while (*f) {
		const char *eol = strstr(f, "\r\n"), *colon = strchr(f, ':');
		size_t n;

		if (!eol || !colon || colon > eol)
			return false;
		n = (size_t)(colon - f);
		if (!http_token_is_valid(f, n) ||
		    !http_field_value_is_valid(colon + 1, (size_t)(eol - colon - 1)) ||
		    (n == 14 && !strncasecmp(f, "content-length", n)) ||
		    (n == 17 && !strncasecmp(f, "transfer-encoding", n)))
			return false;
		f = eol + 2;
	}
	return true;
}

/* Content-Type, framing, Connection, the caller's fields and the empty line. */
static int head_tail_append(struct buf *b, const char *content_type, int64_t length,
			    enum http_conn conn, const char *fields)
{
	static const char *const conn_field[] = {
		[HTTP_CONN_DEFAULT] = "",
		[HTTP_CONN_CLOSE] = "Connection: close\r\n",
		[HTTP_CONN_KEEP_ALIVE] = "Connection: keep-alive\r\n",
	};
	int r = 0;

	if (content_type)
		r = buf_printf(b, "Content-Type: %s\r\n", content_type);
	if (!r && length >= 0)
		r = buf_printf(b, "Content-Length: %lld\r\n", (long long)length);
	if (!r && length == HTTP_LENGTH_CHUNKED)
		r = buf_puts(b, "Transfer-Encoding: chunked\r\n");
	if (!r)
		r = buf_puts(b, conn_field[conn]);
	if (!r && fields)
		r = buf_puts(b, fields);
	if (!r)
		r = buf_puts(b, "\r\n");
	return r;
}

static bool head_args_ok(const char *content_type, int64_t length, enum http_conn conn,
			 const char *fields)
{
	return (!content_type || http_field_value_is_valid(content_type, strlen(content_type))) &&
	       length >= HTTP_LENGTH_NONE && conn <= HTTP_CONN_KEEP_ALIVE &&
	       (!fields || fields_ok(fields));
}

/* IMF-fixdate, RFC 9110 section 5.6.7. */
static int date_append(struct buf *b, int64_t when)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t t = (time_t)when;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return -EINVAL;
	return buf_printf(b, "Date: %.3s, %02d %.3s %04d %02d:%02d:%02d GMT\r\n",
			  days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
			  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* On failure b is left as it was. */
static int rollback(struct buf *b, size_t start, int r)
{
	if (r < 0 && b->data) {
		b->len = start;
		b->data[start] = 0;
	}
	return r;
}

int http_response_head_append(struct buf *b, const struct http_response_head *h)
{
	size_t start = b->len;
	int r;

	if (h->status < 100 || h->status > 999 ||
	    !head_args_ok(h->content_type, h->length, h->conn, h->fields))
		return -EINVAL;
	if ((h->status < 200 || h->status == 204) && h->length != HTTP_LENGTH_NONE)
		return -EINVAL;
	r = buf_printf(b, "HTTP/1.1 %d %s\r\n", h->status, http_status_reason(h->status));
	if (!r && h->date)
		r = date_append(b, h->date);
	if (!r)
		r = head_tail_append(b, h->content_type, h->length, h->conn, h->fields);
	return rollback(b, start, r);
}

int http_request_head_append(struct buf *b, const struct http_request_head *h)
{
	size_t start = b->len, tlen = h->target ? strlen(h->target) : 0;
	int r;

	if (!h->method || strlen(h->method) > HTTP_METHOD_MAX ||
	    !http_token_is_valid(h->method, strlen(h->method)) || !h->target ||
	    !http_target_is_valid(h->method, h->target, tlen) || !h->host ||
	    !http_host_is_valid(h->host) ||
	    !head_args_ok(h->content_type, h->length, h->conn, h->fields))
		return -EINVAL;
	r = buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", h->method, h->target, h->host);
	if (!r)
		r = head_tail_append(b, h->content_type, h->length, h->conn, h->fields);
	return rollback(b, start, r);
}

int http_chunk_append(struct buf *b, const void *data, size_t len)
{
	size_t start = b->len;
	int r;

	if (!len)
		return 0;
	r = buf_printf(b, "%zx\r\n", len);
	if (!r)
		r = buf_append(b, data, len);
	if (!r)
		r = buf_puts(b, "\r\n");
	return rollback(b, start, r);
}

int http_chunk_last_append(struct buf *b)
{
	return buf_puts(b, "0\r\n\r\n");
}
