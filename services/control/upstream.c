/*
 * Passing a request to PID 1's local API, or to the KV's client API, and
 * its answer back. One connection per request ("Connection: close"): a
 * local socket costs microseconds to open, and no state is kept between
 * requests. The answer's header fields go back as they are, but for those
 * about the connection and the framing, which are the client's own. The answer
 * is parsed by lib/http and re-framed for the client (its own length, or
 * chunks), slice by slice: a journal that follows never ends and is never
 * held whole. When the client reads slowly, the upstream is not read.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct upstream {
	struct conn *c;
	int fd;
	struct loop_io io;
	uint32_t events;
	struct buf out;			/* request bytes not yet written */
	struct http_parser p;		/* the answer */
	bool body_chunked;		/* the request body goes as chunks */
	bool body_ended;
	bool head_sent;			/* the answer's head went to the client */
	bool chunked;			/* ... as chunks */
	bool add_metrics;		/* /metrics: this program's part at the end */
	bool paused;			/* the client's output is full: out of epoll */
	bool dead;
	struct upstream *next_dead;
};

/* Close now; free after the event batch (it may hold an event for u). */
static void upstream_free(struct upstream *u)
{
	struct control *ctl = u->c->ctl;

	if (u->dead)
		return;
	if (!u->paused)
		loop_io_del(ctl->loop, &u->io);
	close(u->fd);
	buf_free(&u->out);
	u->dead = true;
	u->next_dead = ctl->dead_ups;
	ctl->dead_ups = u;
	control_reap_later(ctl);
}

void upstream_reap(struct control *ctl)
{
	while (ctl->dead_ups) {
		struct upstream *u = ctl->dead_ups;

		ctl->dead_ups = u->next_dead;
		free(u);
	}
}

void upstream_abort(struct upstream *u)
{
	if (u)
		upstream_free(u);
}

bool upstream_started(const struct upstream *u)
{
	return u->head_sent;
}

size_t upstream_pending(const struct upstream *u)
{
	return u->out.len;
}

static void upstream_event(struct loop *l, int fd, uint32_t events, void *arg);

static void set_events(struct upstream *u)
{
	uint32_t ev = EPOLLIN | (u->out.len ? EPOLLOUT : 0);

	if (u->paused || u->dead)
		return;
	if (ev != u->events && loop_io_mod(u->c->ctl->loop, &u->io, ev) == 0)
		u->events = ev;
}

/* While the client is slow, the socket leaves epoll: a hang-up from PID 1
 * would otherwise be reported again and again with nothing to do. */
static void pause_reading(struct upstream *u)
{
	if (u->paused || u->dead)
		return;
	loop_io_del(u->c->ctl->loop, &u->io);
	u->paused = true;
}

void upstream_resume(struct upstream *u)
{
	if (!u->paused || u->dead)
		return;
	u->paused = false;
	u->events = EPOLLIN | (u->out.len ? EPOLLOUT : 0);
	if (loop_io_add(u->c->ctl->loop, &u->io, u->fd, u->events, upstream_event, u) < 0)
		u->paused = true;	/* tried again on the next drain */
}

/* The answer failed. Before its head: 502. After: the client's answer
 * cannot be completed, so its connection closes. */
static void fail(struct upstream *u, const char *why)
{
	struct conn *c = u->c;
	bool sent = u->head_sent;

	log_warn("upstream: %s %s: %s", c->method, http_request_target(c->p), why);
	upstream_free(u);
	c->up = NULL;
	c->closing_after = true;
	if (!sent) {
		conn_respond_error(c, 502, "the node's init answered badly: %s", why);
		conn_kick(c);
		return;
	}
	conn_answer_done(c);
}

void upstream_expire(struct upstream *u, unsigned ms)
{
	struct conn *c = u->c;
	bool sent = u->head_sent;
	const char *who = c->route == ROUTE_KV ? "key-value store" : "init";

	log_warn("upstream: %s %s: no answer from the node's %s in %u s", c->method,
		 http_request_target(c->p), who, ms / 1000);
	upstream_free(u);
	c->up = NULL;
	c->closing_after = true;
	if (!sent) {
		conn_respond_error(c, 504, "the node's %s did not answer in %u s", who, ms / 1000);
		conn_kick(c);
		return;
	}
	conn_answer_done(c);
}

/* Fields of an answer that describe its connection or framing: the
 * client gets its own. */
static bool hop_by_hop(const char *name)
{
	static const char *const names[] = {
		"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Date",
		"Content-Type", "Proxy-Connection", "Trailer", "Upgrade", "TE",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i]))
			return true;
	return false;
}

static void answer_head(struct upstream *u)
{
	struct conn *c = u->c;
	const char *type = http_header_get(&u->p, "Content-Type");
	struct buf fields = BUF_INIT;
	const char *name, *value;
	struct http_response_head h = {
		.status = u->p.status,
		.content_type = type,
		.date = time(NULL),
	};

	for (unsigned i = 0; http_header_nth(&u->p, i, &name, &value) == 0; i++)
		if (!hop_by_hop(name))
			buf_printf(&fields, "%s: %s\r\n", name, value);
	h.fields = fields.data;

	if (c->closing_after || !c->p->keep_alive)
		h.conn = HTTP_CONN_CLOSE;
	else if (c->p->version == 10)
		h.conn = HTTP_CONN_KEEP_ALIVE;
	if (u->p.framing == HTTP_BODY_NONE && !u->add_metrics) {
		h.length = 0;
	} else if (u->p.framing == HTTP_BODY_LENGTH && !u->add_metrics) {
		h.length = (int64_t)u->p.content_length;
	} else if (c->p->version >= 11) {
		h.length = HTTP_LENGTH_CHUNKED;
		u->chunked = true;
	} else {
		/* An HTTP/1.0 client reads to the close. */
		h.length = HTTP_LENGTH_NONE;
		h.conn = HTTP_CONN_CLOSE;
	}
	if (h.status == 204 || h.status == 304)
		h.length = HTTP_LENGTH_NONE, u->chunked = false;
	if (h.conn == HTTP_CONN_CLOSE)
		c->closing_after = true;
	c->status = h.status;
	u->head_sent = true;
	if (http_response_head_append(&c->out, &h) < 0) {
		/* No status line could be written: the connection cannot go on. */
		c->closing_after = true;
		c->phase = CONN_CLOSING;
	}
	buf_free(&fields);
}

static void answer_body(struct upstream *u, const char *data, size_t len)
{
	struct conn *c = u->c;

	if (!strcmp(c->method, "HEAD"))
		return;
	if (u->chunked ? http_chunk_append(&c->out, data, len) < 0 :
			 buf_append(&c->out, data, len) < 0)
		c->closing_after = true;
}

static void answer_end(struct upstream *u)
{
	struct conn *c = u->c;

	if (u->add_metrics) {
		struct buf m = BUF_INIT;

		if (stats_write(&m, c->ctl) == 0)
			answer_body(u, m.data, m.len);
		buf_free(&m);
	}
	if (u->chunked && strcmp(c->method, "HEAD") && http_chunk_last_append(&c->out) < 0)
		c->closing_after = true;
	upstream_free(u);
	c->up = NULL;
	conn_answer_done(c);
}

/* Parse what arrived. true when u is gone (answered or failed). */
static bool feed(struct upstream *u, const char *data, size_t len)
{
	for (;;) {
		size_t n = http_parse(&u->p, data, len);

		data += n;
		len -= n;
		switch (u->p.event) {
		case HTTP_EV_NONE:
			return false;
		case HTTP_EV_HEAD:
			if (u->p.status < 200)
				break;
			answer_head(u);
			break;
		case HTTP_EV_BODY:
			answer_body(u, u->p.body, u->p.body_len);
			break;
		case HTTP_EV_DONE:
			if (u->p.status < 200) {
				http_parser_reset(&u->p);
				break;
			}
			answer_end(u);
			return true;
		case HTTP_EV_ERROR:
			fail(u, u->p.reason ? u->p.reason : "malformed answer");
			return true;
		}
	}
}

static void upstream_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct upstream *u = arg;
	struct conn *c = u->c;
	char data[16384];
	ssize_t n;

	if (u->dead)
		return;
	if (u->out.len && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		n = send(fd, u->out.data, u->out.len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			/* PID 1 may have answered and closed before reading all of it. */
			buf_reset(&u->out);
		} else if (n > 0) {
			buf_consume(&u->out, (size_t)n);
			if (u->out.len < CONTROL_UP_HIGH / 2 && !u->body_ended) {
				set_events(u);
				conn_resume(c);	/* may free u; the next event finds it again */
				return;
			}
		}
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !u->paused) {
		/* A few reads per event, so one stream cannot starve the rest. */
		for (int k = 0; k < 4 && !u->paused; k++) {
			n = recv(fd, data, sizeof(data), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				if (n == 0) {
					http_parse_eof(&u->p);
					if (u->p.event == HTTP_EV_DONE) {
						answer_end(u);
						return;
					}
				}
				fail(u, n == 0 ? "closed before the answer was complete" : strerror(errno));
				return;
			}
			c->up_active_ms = loop_now_ms();
			if (feed(u, data, (size_t)n))
				return;
			if (c->out.len > CONTROL_OUT_HIGH)
				pause_reading(u);
		}
		set_events(u);
		conn_kick(c);	/* may close u and c: nothing after this */
		return;
	}
	set_events(u);
}

struct upstream *upstream_open(struct conn *c, const char *method, const char *target,
			       const struct http_parser *req, bool add_metrics, bool kv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->ctl->kv_port) };
	struct upstream *u = calloc(1, sizeof(*u));
	/* PID 1 answers GET; a HEAD is its GET with the body dropped here, so
	 * that the head says what a GET would get. */
	struct http_request_head h = {
		.method = strcmp(method, "HEAD") ? method : "GET",
		.target = target,
		.host = "localhost",
		.content_type = http_header_get(req, "Content-Type"),
		.conn = HTTP_CONN_CLOSE,
	};

	if (!u)
		return NULL;
	u->c = c;
	u->add_metrics = add_metrics;
	http_parser_init(&u->p, HTTP_RESPONSE);
	if (req->framing == HTTP_BODY_LENGTH) {
		h.length = (int64_t)req->content_length;
	} else if (req->framing == HTTP_BODY_CHUNKED) {
		h.length = HTTP_LENGTH_CHUNKED;
		u->body_chunked = true;
	} else {
		h.length = strcmp(method, "GET") && strcmp(method, "HEAD") ? 0 : HTTP_LENGTH_NONE;
		u->body_ended = true;
	}
	if (h.content_type && !http_field_value_is_valid(h.content_type, strlen(h.content_type)))
		h.content_type = NULL;
	if (http_request_head_append(&u->out, &h) < 0)
		goto fail;
	u->fd = socket(kv ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto fail;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->ctl->socket_path);
	if (kv && inet_pton(AF_INET, c->ctl->kv_addr, &sin.sin_addr) != 1) {
		close(u->fd);
		goto fail;
	}
	if ((kv ? connect(u->fd, (struct sockaddr *)&sin, sizeof(sin))
		: connect(u->fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		log_warn("upstream: connect %s: %s", kv ? c->ctl->kv_addr : c->ctl->socket_path,
			 strerror(errno));
		close(u->fd);
		goto fail;
	}
	u->events = EPOLLIN | EPOLLOUT;
	if (loop_io_add(c->ctl->loop, &u->io, u->fd, u->events, upstream_event, u) < 0) {
		close(u->fd);
		goto fail;
	}
	return u;
fail:
	buf_free(&u->out);
	free(u);
	return NULL;
}

void upstream_body(struct upstream *u, const char *data, size_t len)
{
	if (u->body_chunked ? http_chunk_append(&u->out, data, len) < 0 :
			      buf_append(&u->out, data, len) < 0) {
		u->c->closing_after = true;
		return;
	}
	set_events(u);
}

void upstream_body_end(struct upstream *u)
{
	if (u->body_ended)
		return;
	u->body_ended = true;
	if (u->body_chunked)
		http_chunk_last_append(&u->out);
	set_events(u);
}
