#include "client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cJSON.h"
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

/* --- the transport: a unix socket, or TCP with TLS ----------------------- */

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

struct stream {
	int fd;
	struct tls_client *tls;		/* NULL on a unix socket */
	br_sslio_context io;
	bool want_eintr;		/* a signal ends a read (journalctl -f) */
	bool interrupted;
	int sys_err;			/* errno of the last failed read or write under TLS */
};

/* Set by client_stop_on: a flag a signal handler raises, and the mask
 * to wait with (the caller's, with those signals let through). */
static volatile sig_atomic_t *stop_flag;
static sigset_t stop_wait_mask;

void client_stop_on(volatile sig_atomic_t *flag, const sigset_t *sigs)
{
	sigset_t old;

	sigprocmask(SIG_BLOCK, sigs, &old);
	stop_wait_mask = old;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(sigs, sig))
			sigdelset(&stop_wait_mask, sig);
	stop_flag = flag;
}

/*
 * Before a read that may block: false when the stop flag is up. The signals
 * are blocked everywhere but inside ppoll(), so one that comes between the
 * check and the wait ends the wait instead of being lost.
 */
static bool wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		if (*stop_flag)
			return false;
		if (ppoll(&pfd, 1, NULL, &stop_wait_mask) > 0)
			return true;
	}
}

static int tls_low_read(void *ctx, unsigned char *buf, size_t len)
{
	struct stream *s = ctx;

	for (;;) {
		ssize_t n;

		if (s->want_eintr && stop_flag && !wait_readable(s->fd)) {
			s->interrupted = true;
			return -1;
		}
		n = read(s->fd, buf, len);

		if (n > 0)
			return (int)n;
		if (n < 0 && errno == EINTR && !s->want_eintr)
			continue;
		if (n < 0 && errno == EINTR)
			s->interrupted = true;
		s->sys_err = n < 0 ? errno : 0;
		return -1;
	}
}

static int tls_low_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct stream *s = ctx;

	for (;;) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

		if (n > 0)
			return (int)n;
		if (n < 0 && errno == EINTR)
			continue;
		s->sys_err = n < 0 ? errno : EPIPE;
		return -1;
	}
}

static int unix_open(const struct client *c, int *fd, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

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

/* Connect to one address within the timeout. 0 or -errno. */
static int tcp_connect(const struct addrinfo *ai, int *fd)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int err = 0, r, flags;

	*fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		pfd = (struct pollfd){ .fd = *fd, .events = POLLOUT };
		do
			r = poll(&pfd, 1, CLIENT_CONNECT_TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			r = -ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
			r = err ? -err : -errno;
			goto fail;
		}
	}
	flags = fcntl(*fd, F_GETFL);
	fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK);
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return r;
}

static int tcp_open(const struct client *c, int *fd, struct err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char port[8];
	int r, one = 1;

	snprintf(port, sizeof(port), "%u", c->port);
	r = getaddrinfo(c->host, port, &hints, &res);
	if (r) {
		err_set(e, 0, "Failed to connect to %s: %s", client_where(c),
			r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next)
		if ((r = tcp_connect(ai, fd)) == 0)
			break;
	freeaddrinfo(res);
	if (r < 0) {
		err_set(e, 0, "Failed to connect to %s: %s", client_where(c),
			r == -ETIMEDOUT ? "no answer in 10 s" : strerror(-r));
		return r;
	}
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Words for a failed handshake: whose certificate, and why. */
static void tls_explain(const struct client *c, struct stream *s, struct err *e)
{
	int err = br_ssl_engine_last_error(&s->tls->cc.eng);
	const struct tls_peer *p = &s->tls->peer;
	char who[TLS_NAME_MAX + 16] = "";

	if ((!err || err == BR_ERR_IO) && s->sys_err) {
		err_set(e, 0, "TLS with %s failed: %s", client_where(c), strerror(s->sys_err));
		return;
	}
	if (err == BR_ERR_IO) {
		err_set(e, 0, "TLS with %s failed: the connection was closed during the handshake "
			"(is the control port running?)", client_where(c));
		return;
	}
	if (p->cn[0])
		snprintf(who, sizeof(who), " (CN=%s)", p->cn);
	if (err >= BR_ERR_X509_OK && err < BR_ERR_RECV_FATAL_ALERT)
		err_set(e, 0, "TLS with %s failed: the node's certificate%s was refused: %s%s%s",
			client_where(c), who, tls_strerror(err),
			err == BR_ERR_X509_NOT_TRUSTED ? " in " : "",
			err == BR_ERR_X509_NOT_TRUSTED ? c->ca_path : "");
	else if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT &&
		 c->chain && (err == BR_ERR_RECV_FATAL_ALERT + 42 || err == BR_ERR_RECV_FATAL_ALERT + 48))
		err_set(e, 0, "TLS with %s failed: the node refused our client certificate "
			"(%s): %s", client_where(c), getenv(CLIENT_ENV_CERT) ? getenv(CLIENT_ENV_CERT) :
			"the configured one", tls_strerror(err));
	else
		err_set(e, 0, "TLS with %s failed: %s", client_where(c),
			err ? tls_strerror(err) : "the node closed the connection");
}

static int stream_open(const struct client *c, struct stream *s, struct err *e)
{
	int r;

	if (c->transport == CLIENT_UNIX)
		return unix_open(c, &s->fd, e);
	if (!c->anchors) {
		err_set(e, 0, "Failed to connect to %s: no CA to check its certificate with "
			"(set %s to the cluster's ca.crt)", client_where(c), CLIENT_ENV_CA);
		return -EINVAL;
	}
	if ((r = tcp_open(c, &s->fd, e)) < 0)
		return r;
	if (!(s->tls = malloc(sizeof(*s->tls)))) {
		err_set(e, 0, "Out of memory");
		return -ENOMEM;
	}
	if (tls_client_init(s->tls, c->host, c->anchors, c->chain, c->key, e) < 0)
		return -EPROTO;
	br_sslio_init(&s->io, &s->tls->cc.eng, tls_low_read, s, tls_low_write, s);
	return 0;
}

static int stream_write(const struct client *c, struct stream *s, const char *p, size_t n,
			struct err *e)
{
	if (!s->tls) {
		int r = send_all(s->fd, p, n);

		if (r < 0)
			err_set(e, 0, "Failed to send to %s: %s", client_where(c), strerror(-r));
		return r;
	}
	if (br_sslio_write_all(&s->io, p, n) < 0 || br_sslio_flush(&s->io) < 0) {
		tls_explain(c, s, e);
		return -EPROTO;
	}
	return 0;
}

/* Bytes read, 0 at the end, or -errno (-EINTR: a signal, when wanted). */
static ssize_t stream_read(const struct client *c, struct stream *s, char *p, size_t n,
			   struct err *e)
{
	ssize_t k;

	if (!s->tls) {
		for (;;) {
			if (s->want_eintr && stop_flag && !wait_readable(s->fd))
				return -EINTR;
			k = read(s->fd, p, n);
			if (k >= 0)
				return k;
			if (errno == EINTR && !s->want_eintr)
				continue;
			if (errno != EINTR)
				err_set(e, 0, "Failed to read from %s: %s", client_where(c),
					strerror(errno));
			return -errno;
		}
	}
	k = br_sslio_read(&s->io, p, n);
	if (k > 0)
		return k;
	if (s->interrupted)
		return -EINTR;
	if (br_ssl_engine_last_error(&s->tls->cc.eng) == BR_ERR_OK && !s->sys_err)
		return 0;
	/* A peer that closes without close_notify ends the stream all the same;
	 * the HTTP framing says whether the answer was complete. */
	if (br_ssl_engine_last_error(&s->tls->cc.eng) == BR_ERR_IO && !s->sys_err)
		return 0;
	tls_explain(c, s, e);
	return -EPROTO;
}

static void stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->tls);
	s->fd = -1;
	s->tls = NULL;
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
		.host = c->transport == CLIENT_HTTPS ? c->host : "localhost",
		.content_type = body ? "application/json" : NULL,
		.length = body || strcmp(method, "GET") ? (int64_t)len : HTTP_LENGTH_NONE,
		.conn = HTTP_CONN_CLOSE,
		.fields = c->auth[0] ? c->auth : NULL,
	};
	struct stream s = { .fd = -1, .want_eintr = x->fn != NULL };
	struct buf req = BUF_INIT;
	char data[CLIENT_READ_MAX];
	bool done = false;
	ssize_t n;
	int r;

	/* A Host field cannot carry an IPv6 literal without its brackets. */
	if (c->transport == CLIENT_HTTPS && strchr(c->host, ':'))
		h.host = "localhost";
	r = http_request_head_append(&req, &h);
	if (r == -EINVAL)
		err_set(e, 0, "invalid request %s %s", method, target);
	if (!r && body)
		r = buf_append(&req, body, len);
	if (!r)
		r = stream_open(c, &s, e);
	if (!r)
		r = stream_write(c, &s, req.data, req.len, e);
	buf_free(&req);
	while (!r && !done) {
		n = stream_read(c, &s, data, sizeof(data), e);
		if (n < 0) {
			r = (int)n;
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
	stream_close(&s);
	return r;
}

/* The "error" of an API error body, or "". */
static void error_of(const struct buf *body, char *out, size_t len)
{
	cJSON *doc = body->len ? cJSON_ParseWithLength(body->data, body->len) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "error");

	snprintf(out, len, "%s", cJSON_IsString(msg) ? msg->valuestring : "");
	cJSON_Delete(doc);
}

static int refused(const struct client *c, const struct client_response *out, struct err *e)
{
	char why[160];

	error_of(&out->body, why, sizeof(why));
	if (out->status == 401) {
		err_set(e, 0, "Access denied by %s: %s (check %s, or %s and %s)", client_where(c),
			*why ? why : "no valid credential", CLIENT_ENV_TOKEN, CLIENT_ENV_CERT,
			CLIENT_ENV_KEY);
		return -EACCES;
	}
	err_set(e, 0, "Permission denied by %s: %s", client_where(c),
		*why ? why : "this credential may not do that");
	return -EPERM;
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
	if (!r && (out->status == 401 || out->status == 403))
		r = refused(c, out, e);
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
