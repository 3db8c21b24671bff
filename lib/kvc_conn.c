/*
 * One exchange of the KV client with an endpoint: a non-blocking connect,
 * TLS through BearSSL's engine when the endpoint is https, the request
 * written, the answer read through lib/http's response parser and handed
 * to the backend (whole, or a v3 watch's stream object by object). Then
 * what the backend or the transport says next: done, the next step,
 * another endpoint, or (a watch) another try after a pause.
 */
#include "kvc_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

void kvc_conn_close(struct kvc_conn *k)
{
	struct kvc *c;

	if (!k)
		return;
	c = k->r->c;
	k->r->conn = NULL;
	loop_io_del(c->loop, &k->io);
	close(k->fd);
	buf_free(&k->out);
	buf_free(&k->body);
	free(k->tls);
	k->tls = NULL;
	k->next_dead = c->dead_conns;
	c->dead_conns = k;
	kvc_reap_later(c);
}

static void on_step(struct kvc_req *r, enum kvc_step s);

/* The endpoint failed before it could answer. before_send: it never got
 * the request, so another endpoint may have it whatever it is. */
static void transport_failed(struct kvc_req *r, bool before_send, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void transport_failed(struct kvc_req *r, bool before_send, const char *fmt, ...)
{
	struct kvc *c = r->c;
	const char *how = c->ep[r->endpoint].tls ? "https" : "http";
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	kvc_res_fail(&r->res, KVC_UNAVAILABLE, "%s://%s: %s", how, c->ep[r->endpoint].authority, why);
	if (!before_send && !c->ops->resendable(r)) {
		kvc_res_fail(&r->res, KVC_UNAVAILABLE, "%s://%s: %s after the request was sent: its "
			     "outcome is unknown", how, c->ep[r->endpoint].authority, why);
		kvc_req_finish(r);
		return;
	}
	on_step(r, KVC_STEP_RETRY);
}

static void watch_retry_later(struct kvc_req *r)
{
	struct kvc *c = r->c;

	kvc_conn_close(r->conn);
	r->endpoint = (r->endpoint + 1) % c->nep;
	r->retry_ms = r->retry_ms ? r->retry_ms * 2 : KVC_WATCH_RETRY_MIN_MS;
	if (r->retry_ms > KVC_WATCH_RETRY_MAX_MS)
		r->retry_ms = KVC_WATCH_RETRY_MAX_MS;
	r->split_depth = 0;
	r->split_str = r->split_esc = false;
	kvc_res_reset(&r->res);
	loop_timer_set(c->loop, &r->timer, r->retry_ms, kvc_attempt, r);
}

static void on_step(struct kvc_req *r, enum kvc_step s)
{
	struct kvc *c = r->c;

	if (r->cancelled) {
		kvc_req_kill(r);
		return;
	}
	switch (s) {
	case KVC_STEP_MORE:
		return;
	case KVC_STEP_DONE:
		kvc_req_finish(r);
		return;
	case KVC_STEP_NEXT:
		kvc_conn_close(r->conn);
		kvc_res_reset(&r->res);
		r->tries = 0;
		loop_timer_set(c->loop, &r->timer, 0, kvc_attempt, r);
		return;
	case KVC_STEP_RETRY:
		if (r->op == KVC_OP_WATCH) {
			watch_retry_later(r);
			return;
		}
		kvc_conn_close(r->conn);
		if (++r->tries >= c->nep) {
			kvc_req_finish(r);
			return;
		}
		r->endpoint = (r->endpoint + 1) % c->nep;
		loop_timer_set(c->loop, &r->timer, 0, kvc_attempt, r);
		return;
	}
}

/* --- the answer -------------------------------------------------------------------- */

/* The complete answer of a unary exchange (or one poll of a v2 watch). */
static void answer(struct kvc_req *r)
{
	struct kvc_conn *k = r->conn;
	const char *idx = http_header_get(&k->p, "X-Etcd-Index");
	enum kvc_step s;

	r->c->current = r->endpoint;
	s = r->c->ops->answer(r, k->p.status, idx, k->body.data ? k->body.data : "", k->body.len);
	/* A watch's pause grows while the answers are errors. */
	if (s != KVC_STEP_RETRY)
		r->retry_ms = 0;
	on_step(r, s);
}

static void watch_idle(struct loop *l, void *arg);

/* A v3 watch's stream: connect again when it says nothing for
 * KVC_WATCH_IDLE_MS (etcd sends a progress notification every 10 min). */
static void watch_idle_arm(struct kvc_req *r)
{
	loop_timer_set(r->c->loop, &r->timer, KVC_WATCH_IDLE_MS, watch_idle, r);
}

/* Bytes of the answer. false when the exchange is over (k is closed). */
static bool conn_input(struct kvc_conn *k, const char *data, size_t len)
{
	struct kvc_req *r = k->r;

	for (;;) {
		size_t n = http_parse(&k->p, data, len);

		data += n;
		len -= n;
		switch (k->p.event) {
		case HTTP_EV_NONE:
			return true;
		case HTTP_EV_HEAD:
			if (k->p.status < 200)
				break;
			if (r->op == KVC_OP_WATCH && k->p.status == 200) {
				const char *idx = http_header_get(&k->p, "X-Etcd-Index");

				/* A v2 watch from now: the store's index when it began. */
				if (!r->next_index && idx && r->c->ops == &kvc_v2_ops)
					r->next_index = strtoull(idx, NULL, 10) + 1;
				k->stream = r->c->ops->stream_msg != NULL;
				r->c->current = r->endpoint;
				if (k->stream) {
					/* The stream is read for as long as it lasts;
					 * an error's body only up to KVC_BODY_MAX. */
					k->p.body_max = HTTP_BODY_UNLIMITED;
					watch_idle_arm(r);
				}
			}
			break;
		case HTTP_EV_BODY:
			if (k->stream) {
				enum kvc_step s = kvc_split_feed(r, k->p.body, k->p.body_len);

				if (s != KVC_STEP_MORE || r->cancelled) {
					on_step(r, s);
					return false;
				}
			} else if (buf_append(&k->body, k->p.body, k->p.body_len) < 0) {
				kvc_res_fail(&r->res, KVC_NOMEM, "out of memory for the answer");
				on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
				return false;
			}
			break;
		case HTTP_EV_DONE:
			if (k->p.status < 200) {
				http_parser_reset(&k->p);
				break;
			}
			if (k->stream) {
				transport_failed(r, false, "the watch stream ended");
				return false;
			}
			answer(r);
			return false;
		case HTTP_EV_ERROR:
			if (k->p.error == 413) {
				kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "the answer is larger than %d bytes",
					     KVC_BODY_MAX);
				on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
			} else if (!k->p.status) {
				transport_failed(r, false, "not an HTTP answer (%s)", k->p.reason);
			} else {
				kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "a malformed HTTP answer: %s", k->p.reason);
				on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
			}
			return false;
		}
	}
}

static bool conn_eof(struct kvc_conn *k)
{
	struct kvc_req *r = k->r;

	http_parse_eof(&k->p);
	if (k->p.event == HTTP_EV_DONE && !k->stream) {
		answer(r);
		return false;
	}
	transport_failed(r, !r->sent, "the connection was closed before the answer was complete");
	return false;
}

/* --- moving bytes ------------------------------------------------------------------------ */

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg);

static void set_events(struct kvc_conn *k, uint32_t ev)
{
	if (ev != k->events && loop_io_mod(k->r->c->loop, &k->io, ev) == 0)
		k->events = ev;
}

/* Plain TCP. false when the exchange is over. */
static bool pump_plain(struct kvc_conn *k)
{
	static char in[16384];
	struct kvc_req *r = k->r;

	while (k->off < k->out.len) {
		ssize_t n = send(k->fd, k->out.data + k->off, k->out.len - k->off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			transport_failed(r, k->off == 0, "send: %s", strerror(errno));
			return false;
		}
		k->off += (size_t)n;
	}
	r->sent = k->off == k->out.len;
	for (;;) {
		ssize_t n = read(k->fd, in, sizeof(in));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			transport_failed(r, !r->sent, "receive: %s", strerror(errno));
			return false;
		}
		if (n == 0)
			return conn_eof(k);
		if (!conn_input(k, in, (size_t)n))
			return false;
	}
	set_events(k, EPOLLIN | (r->sent ? 0 : EPOLLOUT));
	return true;
}

/* TLS: BearSSL's engine between the socket and the HTTP parser. */
static bool pump_tls(struct kvc_conn *k)
{
	br_ssl_engine_context *eng = &k->tls->cc.eng;
	struct kvc_req *r = k->r;
	unsigned char *p;
	size_t len;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		ssize_t n;

		if (st & BR_SSL_CLOSED) {
			int err = br_ssl_engine_last_error(eng);

			if (err == BR_ERR_OK)
				return conn_eof(k);
			transport_failed(r, !r->sent, "TLS: %s", tls_strerror(err));
			return false;
		}
		if (st & BR_SSL_SENDREC) {
			n = tls_sendrec(eng, k->fd);
			if (n == -EAGAIN) {
				set_events(k, EPOLLIN | EPOLLOUT);
				return true;
			}
			if (n < 0) {
				transport_failed(r, !r->sent, "send: %s", strerror((int)-n));
				return false;
			}
			continue;
		}
		if (st & BR_SSL_RECVAPP) {
			p = br_ssl_engine_recvapp_buf(eng, &len);
			if (!conn_input(k, (const char *)p, len))
				return false;
			br_ssl_engine_recvapp_ack(eng, len);
			continue;
		}
		if ((st & BR_SSL_SENDAPP) && k->off < k->out.len) {
			k->off += tls_sendapp(eng, k->out.data + k->off, k->out.len - k->off);
			if (k->off == k->out.len) {
				br_ssl_engine_flush(eng, 0);
				r->sent = true;
			}
			continue;
		}
		if (st & BR_SSL_RECVREC) {
			n = tls_recvrec(eng, k->fd);
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				transport_failed(r, !r->sent, "receive: %s", strerror((int)-n));
				return false;
			}
			if (n == 0) {
				/* A server that closes without close_notify: the HTTP
				 * framing says whether the answer was whole. */
				if (!r->sent)
					transport_failed(r, true, "closed during the TLS handshake");
				else
					conn_eof(k);
				return false;
			}
			continue;
		}
		break;
	}
	set_events(k, EPOLLIN);
	return true;
}

static bool pump(struct kvc_conn *k)
{
	return k->tls ? pump_tls(k) : pump_plain(k);
}

static void connect_timeout(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	r->c->depth++;
	transport_failed(r, true, "not connected within %d ms", KVC_CONNECT_TIMEOUT_MS);
	kvc_leave(r->c);
}

/* A v2 watch that has waited long enough: ask again from the same index. */
static void watch_poll(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	kvc_conn_close(r->conn);
	kvc_attempt(l, r);
}

/* A v3 watch's stream silent for too long: connect again from the last
 * index seen + 1. */
static void watch_idle(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	r->c->depth++;
	transport_failed(r, false, "the watch stream said nothing for %d s", KVC_WATCH_IDLE_MS / 1000);
	kvc_leave(r->c);
}

/* No answer's head (TLS handshake included) within the request timeout: a
 * watch's connection is given up (a request has its deadline). */
static void head_timeout(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	r->c->depth++;
	transport_failed(r, !r->sent, "no answer within %u ms", r->c->timeout_ms);
	kvc_leave(r->c);
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct kvc_conn *k = arg;
	struct kvc_req *r = k->r;
	struct kvc *c = r->c;

	c->depth++;
	if (k->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			transport_failed(r, true, "connect: %s", strerror(err));
			goto out;
		}
		k->connecting = false;
		loop_timer_cancel(l, &r->timer);
		if (r->op == KVC_OP_WATCH && c->ops == &kvc_v2_ops)
			loop_timer_set(l, &r->timer, KVC_WATCH_POLL_MS, watch_poll, r);
		else if (r->op == KVC_OP_WATCH)
			loop_timer_set(l, &r->timer, c->timeout_ms, head_timeout, r);
	}
	/* Every byte of a v3 watch's stream shows it alive. */
	if (k->stream && (events & EPOLLIN))
		watch_idle_arm(r);
	pump(k);
out:
	kvc_leave(c);
}

static int build_request(struct kvc_req *r, struct kvc_conn *k)
{
	struct kvc *c = r->c;
	struct kvc_http h = { 0 };
	struct http_request_head head = { 0 };
	int e;

	if ((e = c->ops->build(r, &h)) < 0)
		goto out;
	head.method = h.method;
	head.target = h.target.data;
	head.host = c->ep[r->endpoint].authority;
	head.content_type = h.content_type;
	head.length = h.content_type ? (int64_t)h.body.len : HTTP_LENGTH_NONE;
	head.conn = HTTP_CONN_CLOSE;
	if ((e = http_request_head_append(&k->out, &head)) == 0 && h.body.len)
		e = buf_append(&k->out, h.body.data, h.body.len);
out:
	buf_free(&h.target);
	buf_free(&h.body);
	return e;
}

/* One try at one endpoint: a new connection carrying the current step. */
void kvc_attempt(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;
	struct kvc *c = r->c;
	struct kvc_endpoint *ep = &c->ep[r->endpoint];
	struct kvc_conn *k;
	int one = 1, e;

	c->depth++;
	r->sent = false;
	k = calloc(1, sizeof(*k));
	if (!k) {
		kvc_res_fail(&r->res, KVC_NOMEM, "out of memory");
		on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
		goto out;
	}
	k->r = r;
	r->conn = k;
	k->fd = -1;
	http_parser_init(&k->p, HTTP_RESPONSE);
	/* A v3 watch's stream is unbounded (KVC_MSG_MAX per message), but
	 * only once the answer's head says 200. */
	k->p.body_max = KVC_BODY_MAX;
	if ((e = build_request(r, k)) < 0) {
		kvc_res_fail(&r->res, e == -ENOMEM ? KVC_NOMEM : KVC_REFUSED, "cannot build the request: %s",
			     strerror(-e));
		buf_free(&k->out);
		free(k);
		r->conn = NULL;
		on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
		goto out;
	}
	if (ep->tls) {
		struct err te = { 0 };
		bool nomem = !(k->tls = malloc(sizeof(*k->tls)));

		if (nomem || tls_client_init(k->tls, ep->host, &c->anchors, c->have_cert ? &c->chain : NULL,
					     c->have_cert ? &c->key : NULL, &te) < 0) {
			free(k->tls);
			k->tls = NULL;
			buf_free(&k->out);
			free(k);
			r->conn = NULL;
			/* Another endpoint may do (a watch tries it later). */
			if (nomem)
				kvc_res_fail(&r->res, KVC_NOMEM, "TLS: out of memory");
			else
				kvc_res_fail(&r->res, KVC_UNAVAILABLE, "https://%s: TLS: %s", ep->authority,
					     te.msg[0] ? te.msg : "cannot set up");
			on_step(r, KVC_STEP_RETRY);
			goto out;
		}
	}
	k->fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0 || loop_io_add(c->loop, &k->io, k->fd, EPOLLOUT, conn_event, k) < 0) {
		e = errno;
		if (k->fd >= 0)
			close(k->fd);
		k->fd = -1;
		buf_free(&k->out);
		free(k->tls);
		free(k);
		r->conn = NULL;
		kvc_res_fail(&r->res, KVC_UNAVAILABLE, "socket: %s", strerror(e));
		on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
		goto out;
	}
	k->events = EPOLLOUT;
	k->connecting = true;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->op == KVC_OP_WATCH) {
		/* A watch may wait for hours: a peer gone without a word is
		 * noticed by the kernel within about a minute. */
		int idle = 30, intvl = 10, cnt = 3;

		setsockopt(k->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(k->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(k->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(k->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	if (connect(k->fd, (struct sockaddr *)&ep->addr, ep->addr_len) < 0 && errno != EINPROGRESS) {
		transport_failed(r, true, "connect: %s", strerror(errno));
		goto out;
	}
	loop_timer_set(l, &r->timer, KVC_CONNECT_TIMEOUT_MS, connect_timeout, r);
out:
	kvc_leave(c);
}
