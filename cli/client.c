#include "client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"

/* Bytes read from the socket at a time. */
#define CLIENT_READ_MAX 16384

const char *client_endpoint_pick(const char *flag)
{
	const char *env;

	if (flag)
		return flag;
	env = getenv(CLIENT_ENV_ENDPOINT);
	return env && *env ? env : CLIENT_ENDPOINT_DEFAULT;
}

/* "host", "host:port", "[v6]" or "[v6]:port", with an optional trailing "/". */
static int https_parse(struct client *c, const char *s, struct err *e)
{
	const char *end = s + strcspn(s, "/"), *colon, *host = s, *host_end;
	unsigned long port = CLIENT_HTTPS_PORT;
	char *stop;

	if (*end && strcmp(end, "/") != 0)
		goto bad;
	if (*s == '[') {
		host = s + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			goto bad;
		colon = host_end + 1 < end ? host_end + 1 : NULL;
		if (colon && *colon != ':')
			goto bad;
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		host_end = colon ? colon : end;
	}
	if (colon) {
		port = strtoul(colon + 1, &stop, 10);
		if (stop != end || colon + 1 == end || port == 0 || port > 65535)
			goto bad;
	}
	if (host_end == host || (size_t)(host_end - host) > CLIENT_HOST_MAX)
		goto bad;
	memcpy(c->host, host, (size_t)(host_end - host));
	c->host[host_end - host] = 0;
	c->port = (unsigned)port;
	c->transport = CLIENT_HTTPS;
	return 0;
bad:
	err_set(e, 0, "invalid endpoint https://%s: expected https://HOST[:PORT]", s);
	return -EINVAL;
}

int client_init(struct client *c, const char *endpoint, const char *token, struct err *e)
{
	const char *path = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if (!strncmp(endpoint, "unix:", 5))
		path = endpoint + 5;
	else if (endpoint[0] == '/')
		path = endpoint;
	if (path) {
		if (!*path || strlen(path) > CLIENT_PATH_MAX) {
			err_set(e, 0, "invalid endpoint %s: the socket path is empty or too long", endpoint);
			return -EINVAL;
		}
		strcpy(c->path, path);
		c->transport = CLIENT_UNIX;
	} else if (!strncmp(endpoint, "https://", 8)) {
		if ((r = https_parse(c, endpoint + 8, e)) < 0)
			return r;
	} else {
		err_set(e, 0, "invalid endpoint %s: expected unix:/PATH or https://HOST[:PORT]", endpoint);
		return -EINVAL;
	}
	if (!token || !*token)
		return 0;
	if (strlen(token) > CLIENT_TOKEN_MAX) {
		err_set(e, 0, "%s is longer than %d bytes", CLIENT_ENV_TOKEN, CLIENT_TOKEN_MAX);
		return -EINVAL;
	}
	for (const char *t = token; *t; t++)
		if (*t <= ' ' || *t > '~') {
			err_set(e, 0, "%s holds a byte a bearer token cannot have", CLIENT_ENV_TOKEN);
			return -EINVAL;
		}
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s\r\n", token);
	return 0;
}

const char *client_where(const struct client *c)
{
	static char where[CLIENT_HOST_MAX + 16];

	if (c->transport == CLIENT_UNIX)
		return c->path;
	snprintf(where, sizeof(where), strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host, c->port);
	return where;
}

static int conn_open(const struct client *c, int *fd, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (c->transport == CLIENT_HTTPS) {
		err_set(e, 0, "Failed to connect to %s: HTTPS endpoints are not supported yet",
			client_where(c));
		return -EPROTONOSUPPORT;
	}
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		r = -errno;
		err_set(e, 0, "Failed to create a socket: %s", strerror(errno));
		return r;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	while (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		err_set(e, 0, "Failed to connect to %s: %s", c->path, strerror(errno));
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One exchange: where the body goes, and how far it has got. */
struct exchange {
	struct http_parser p;
	struct client_response *out;
	client_chunk_fn *fn;	/* NULL: keep the body in out->body */
	void *arg;
	size_t keep_max;	/* bytes of body kept in out->body */
	bool to_fn;		/* this answer's body goes to fn */
};

static int body_take(struct exchange *x, const char *data, size_t len)
{
	size_t room;

	if (x->to_fn)
		return x->fn(x->arg, data, len);
	room = x->keep_max - x->out->body.len;
	return buf_append(&x->out->body, data, len < room ? len : room);
}

/* Run the parser over len bytes: 0 with *done set once the answer is complete, or an error. */
static int feed(struct exchange *x, const char *where, const char *data, size_t len, bool *done,
		struct err *e)
{
	struct http_parser *p = &x->p;
	size_t n;
	int r;

	for (;;) {
		n = http_parse(p, data, len);
		data += n;
		len -= n;
		switch (p->event) {
		case HTTP_EV_NONE:
			return 0;
		case HTTP_EV_HEAD:
			x->out->status = p->status;
			x->to_fn = x->fn && p->status >= 200 && p->status < 300;
			break;
		case HTTP_EV_BODY:
			if ((r = body_take(x, p->body, p->body_len)) != 0)
				return r;
			break;
		case HTTP_EV_DONE:
			if (p->status >= 200) {
				*done = true;
				return 0;
			}
			/* An interim 1xx answer: the real one follows. */
			http_parser_reset(p);
			break;
		case HTTP_EV_ERROR:
			if (p->error == 413) {
				err_set(e, 0, "The answer from %s is larger than %d bytes", where,
					CLIENT_BODY_MAX);
				return -EFBIG;
			}
			err_set(e, 0, "Bad answer from %s: %s", where, p->reason ? p->reason : "malformed");
			return -EBADMSG;
		}
	}
}

static int exchange_run(struct client *c, struct exchange *x, const char *method,
			const char *target, const char *body, size_t len, struct err *e)
{
	const char *where = client_where(c);
	struct http_request_head h = {
		.method = method,
		.target = target,
		.host = "localhost",
		.content_type = body ? "application/json" : NULL,
		.length = body || strcmp(method, "GET") ? (int64_t)len : HTTP_LENGTH_NONE,
		.conn = HTTP_CONN_CLOSE,
		.fields = c->auth[0] ? c->auth : NULL,
	};
	struct buf req = BUF_INIT;
	char data[CLIENT_READ_MAX];
	bool done = false;
	int fd = -1, r;
	ssize_t n;

	r = http_request_head_append(&req, &h);
	if (r == -EINVAL)
		err_set(e, 0, "invalid request %s %s", method, target);
	if (!r && body)
		r = buf_append(&req, body, len);
	if (!r)
		r = conn_open(c, &fd, e);
	if (!r && (r = send_all(fd, req.data, req.len)) < 0)
		err_set(e, 0, "Failed to send to %s: %s", where, strerror(-r));
	buf_free(&req);
	while (!r && !done) {
		n = read(fd, data, sizeof(data));
		if (n < 0 && errno == EINTR && !x->fn)
			continue;
		if (n < 0) {
			r = -errno;
			if (r != -EINTR)
				err_set(e, 0, "Failed to read from %s: %s", where, strerror(errno));
			break;
		}
		if (n == 0) {
			http_parse_eof(&x->p);
			if (x->p.event == HTTP_EV_DONE)
				break;
			err_set(e, 0, "%s closed the connection before the answer was complete", where);
			r = -EBADMSG;
			break;
		}
		r = feed(x, where, data, (size_t)n, &done, e);
	}
	if (r == -ENOMEM && !e->msg[0])
		err_set(e, 0, "Out of memory");
	if (fd >= 0)
		close(fd);
	return r;
}

static int exchange(struct client *c, const char *method, const char *target, const char *body,
		    size_t len, struct client_response *out, client_chunk_fn *fn, void *arg,
		    struct err *e)
{
	struct exchange *x = calloc(1, sizeof(*x));
	int r;

	out->status = 0;
	out->body = (struct buf)BUF_INIT;
	e->msg[0] = 0;
	if (!x) {
		err_set(e, 0, "Out of memory");
		return -ENOMEM;
	}
	http_parser_init(&x->p, HTTP_RESPONSE);
	x->p.head_response = !strcmp(method, "HEAD");
	if (!fn)
		x->p.body_max = CLIENT_BODY_MAX;
	x->out = out;
	x->fn = fn;
	x->arg = arg;
	x->keep_max = fn ? CLIENT_ERROR_BODY_MAX : CLIENT_BODY_MAX;
	r = exchange_run(c, x, method, target, body, len, e);
	free(x);
	if (!r && buf_reserve(&out->body, 0) < 0) {
		err_set(e, 0, "Out of memory");
		return -ENOMEM;
	}
	return r;
}

int client_request(struct client *c, const char *method, const char *target, const char *body,
		   size_t len, struct client_response *out, struct err *e)
{
	return exchange(c, method, target, body, len, out, NULL, NULL, e);
}

int client_stream(struct client *c, const char *method, const char *target,
		  struct client_response *out, client_chunk_fn *fn, void *arg, struct err *e)
{
	return exchange(c, method, target, NULL, 0, out, fn, arg, e);
}

struct lines {
	struct buf line;	/* the line not complete yet */
	client_line_fn *fn;
	void *arg;
	const char *where;
	struct err *e;
};

static int lines_feed(void *arg, const char *data, size_t len)
{
	struct lines *l = arg;
	const char *nl;
	size_t n;
	int r;

	while (len) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		if (l->line.len + n > CLIENT_LINE_MAX) {
			err_set(l->e, 0, "Bad answer from %s: a line longer than %d bytes", l->where,
				CLIENT_LINE_MAX);
			return -EMSGSIZE;
		}
		if ((r = buf_append(&l->line, data, n)) < 0)
			return r;
		data += n;
		len -= n;
		if (!nl)
			break;
		data++;
		len--;
		r = l->fn(l->arg, l->line.data, l->line.len);
		buf_reset(&l->line);
		if (r)
			return r;
	}
	return 0;
}

int client_stream_lines(struct client *c, const char *target, struct client_response *out,
			client_line_fn *fn, void *arg, struct err *e)
{
	struct lines l = { BUF_INIT, fn, arg, client_where(c), e };
	int r = client_stream(c, "GET", target, out, lines_feed, &l, e);

	if (!r && l.line.len && out->status / 100 == 2)
		r = fn(arg, l.line.data, l.line.len);
	buf_free(&l.line);
	return r;
}

int client_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s && !r; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch))
			r = buf_append(b, s, 1);
		else
			r = buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return r;
}
