/*
 * The KV client's transport: endpoints, one connection per request (plain
 * or TLS, non-blocking, on the caller's loop), HTTP through lib/http's
 * response parser, timeouts, failover and the reconnection of watches.
 * What is sent and what answers mean is the backends' (kvc_v2.c,
 * kvc_v3.c).
 *
 * Lifetimes: a finished request and its connection leave epoll and the
 * timer list at once, and are freed from a timer that runs after the
 * current event batch (the batch may still hold an event for them).
 */
#include "kvc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "http.h"
#include "tls.h"

struct kvc_endpoint {
	bool tls;
	char host[64];			/* for TLS: the address the certificate must name */
	char authority[80];		/* the Host field */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct kvc {
	struct loop *loop;
	const struct kvc_backend_ops *ops;
	struct kvc_endpoint ep[KVC_ENDPOINTS_MAX];
	unsigned nep;
	unsigned current;		/* the endpoint that answered last */
	unsigned timeout_ms;
	struct tls_anchors anchors;
	struct tls_chain chain;
	struct tls_key key;
	bool have_anchors, have_cert;
	struct kvc_req *reqs;		/* live */
	struct kvc_req *dead_reqs;
	struct kvc_conn *dead_conns;
	struct loop_timer reap;
	unsigned depth;			/* inside our own callbacks */
	bool closing;
};

struct kvc_conn {
	struct kvc_req *r;
	struct kvc_conn *next_dead;
	int fd;
	struct loop_io io;
	uint32_t events;
	bool connecting;
	bool stream;			/* the answer is read as a stream of objects */
	struct tls_client *tls;
	struct buf out;
	size_t off;
	struct buf body;
	struct http_parser p;
};

/* --- endpoints ---------------------------------------------------------------- */

static int endpoint_parse(struct kvc_endpoint *ep, const char *url, size_t n, struct err *e)
{
	char s[160], *host, *port, *end;
	unsigned long pn;

	if (n >= sizeof(s)) {
		err_set(e, 0, "endpoint too long: %.40s...", url);
		return -EINVAL;
	}
	memcpy(s, url, n);
	s[n] = 0;
	memset(ep, 0, sizeof(*ep));
	if (!strncmp(s, "http://", 7)) {
		host = s + 7;
	} else if (!strncmp(s, "https://", 8)) {
		host = s + 8;
		ep->tls = true;
	} else {
		err_set(e, 0, "endpoint %s: want http:// or https://", s);
		return -EINVAL;
	}
	if ((end = strchr(host, '/')) && strcmp(end, "/")) {
		err_set(e, 0, "endpoint %s: a path is not allowed", s);
		return -EINVAL;
	}
	if (end)
		*end = 0;
	if (*host == '[') {
		if (!(end = strchr(host, ']')) || (end[1] != ':' && end[1])) {
			err_set(e, 0, "endpoint %s: bad IPv6 address", s);
			return -EINVAL;
		}
		*end = 0;
		port = end[1] ? end + 2 : NULL;
		host++;
	} else {
		port = strrchr(host, ':');
		if (port)
			*port++ = 0;
	}
	pn = port ? strtoul(port, &end, 10) : 2379;
	if (port && (!*port || *end || pn == 0 || pn > 65535)) {
		err_set(e, 0, "endpoint %s: bad port", url);
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (strlen(host) >= sizeof(ep->host)) {
		err_set(e, 0, "endpoint %s: bad address", s);
		return -EINVAL;
	}
	strcpy(ep->host, host);
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ep->addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		ep->addr_len = sizeof(*a);
		snprintf(ep->authority, sizeof(ep->authority), "[%.63s]:%lu", host, pn);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ep->addr;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		ep->addr_len = sizeof(*a);
		snprintf(ep->authority, sizeof(ep->authority), "%.63s:%lu", host, pn);
	}
	return 0;
bad:
	err_set(e, 0, "endpoint %.100s: the host must be an IP address or localhost", url);
	return -EINVAL;
}

int kvc_open(struct kvc **out, struct loop *l, const struct kvc_config *cfg, struct err *e)
{
	struct kvc *c = calloc(1, sizeof(*c));
	const char *s = cfg->endpoints ? cfg->endpoints : "";
	bool any_tls = false;
	int r;

	*out = NULL;
	if (!c) {
		err_set(e, 0, "out of memory");
		return -ENOMEM;
	}
	c->loop = l;
	c->ops = cfg->backend == KVC_V3 ? &kvc_v3_ops : &kvc_v2_ops;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : KVC_TIMEOUT_MS_DEFAULT;
	while (*s) {
		size_t n = strcspn(s, ",");

		if (n) {
			if (c->nep == KVC_ENDPOINTS_MAX) {
				err_set(e, 0, "more than %d endpoints", KVC_ENDPOINTS_MAX);
				r = -E2BIG;
				goto fail;
			}
			if ((r = endpoint_parse(&c->ep[c->nep], s, n, e)) < 0)
				goto fail;
			any_tls |= c->ep[c->nep++].tls;
		}
		s += n + (s[n] == ',');
	}
	if (!c->nep) {
		err_set(e, 0, "no endpoint");
		r = -EINVAL;
		goto fail;
	}
	if (any_tls && !cfg->ca_file) {
		err_set(e, 0, "https endpoints need a CA file");
		r = -EINVAL;
		goto fail;
	}
	if (cfg->ca_file) {
		if ((r = tls_anchors_load(&c->anchors, cfg->ca_file, e)) < 0)
			goto fail;
		c->have_anchors = true;
	}
	if (!cfg->cert_file != !cfg->key_file) {
		err_set(e, 0, "a client certificate needs its key, and a key its certificate");
		r = -EINVAL;
		goto fail;
	}
	if (cfg->cert_file) {
		if ((r = tls_chain_load(&c->chain, cfg->cert_file, e)) < 0)
			goto fail;
		if ((r = tls_key_load(&c->key, cfg->key_file, e)) < 0) {
			tls_chain_free(&c->chain);
			goto fail;
		}
		c->have_cert = true;
	}
	*out = c;
	return 0;
fail:
	if (c->have_anchors)
		tls_anchors_free(&c->anchors);
	free(c);
	return r;
}

/* --- freeing --------------------------------------------------------------------- */

static void kvc_free_now(struct kvc *c);

static void reap(struct loop *l, void *arg)
{
	struct kvc *c = arg;

	while (c->dead_conns) {
		struct kvc_conn *k = c->dead_conns;

		c->dead_conns = k->next_dead;
		free(k);
	}
	while (c->dead_reqs) {
		struct kvc_req *r = c->dead_reqs;

		c->dead_reqs = r->next;
		free(r);
	}
	if (c->closing)
		kvc_free_now(c);
}

static void reap_later(struct kvc *c)
{
	if (!c->reap.armed)
		loop_timer_set(c->loop, &c->reap, 0, reap, c);
}

static void conn_close(struct kvc_conn *k)
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
	reap_later(c);
}

/* Take r out of everything; freed by reap(). */
static void req_kill(struct kvc_req *r)
{
	struct kvc *c = r->c;
	struct kvc_req **pp;

	if (r->finished)
		return;
	r->finished = true;
	conn_close(r->conn);
	loop_timer_cancel(c->loop, &r->timer);
	loop_timer_cancel(c->loop, &r->deadline);
	for (pp = &c->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	free(r->key);
	buf_free(&r->value);
	buf_free(&r->split);
	kvc_res_reset(&r->res);
	r->next = c->dead_reqs;
	c->dead_reqs = r;
	reap_later(c);
}

static void kvc_free_now(struct kvc *c)
{
	loop_timer_cancel(c->loop, &c->reap);
	while (c->reqs)
		req_kill(c->reqs);
	loop_timer_cancel(c->loop, &c->reap);
	c->closing = false;
	reap(c->loop, c);
	if (c->have_anchors)
		tls_anchors_free(&c->anchors);
	if (c->have_cert) {
		tls_chain_free(&c->chain);
		tls_key_free(&c->key);
	}
	free(c);
}

void kvc_close(struct kvc *c)
{
	if (!c || c->closing)
		return;
	if (!c->depth) {
		kvc_free_now(c);
		return;
	}
	c->closing = true;
	while (c->reqs) {
		c->reqs->cancelled = true;
		req_kill(c->reqs);
	}
	reap_later(c);
}

void kvc_cancel(struct kvc_req *r)
{
	if (!r || r->finished || r->cancelled)
		return;
	r->cancelled = true;
	if (!r->in_callback)
		req_kill(r);
}

/* --- finishing ------------------------------------------------------------------------- */

static void finish(struct kvc_req *r)
{
	struct kvc_result res = {
		.status = r->res.status,
		.msg = r->res.status ? r->res.msg : "",
		.index = r->res.index,
		.kvs = r->res.kvs,
		.n = r->res.n,
	};

	conn_close(r->conn);
	if (!r->cancelled) {
		r->in_callback = true;
		if (r->op == KVC_OP_WATCH)
			r->watch_fn(r->arg, NULL, &res);
		else
			r->done(r->arg, &res);
		r->in_callback = false;
	}
	req_kill(r);
}

static void attempt(struct loop *l, void *arg);
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
	if (!before_send && r->op != KVC_OP_WATCH && r->op != KVC_OP_GET && r->op != KVC_OP_LIST &&
	    !(r->op == KVC_OP_REFRESH && r->step == 0) && !(r->op == KVC_OP_REVOKE && r->step == 0)) {
		kvc_res_fail(&r->res, KVC_UNAVAILABLE, "%s://%s: %s after the request was sent: its "
			     "outcome is unknown", how, c->ep[r->endpoint].authority, why);
		finish(r);
		return;
	}
	on_step(r, KVC_STEP_RETRY);
}

static void watch_retry_later(struct kvc_req *r)
{
	struct kvc *c = r->c;

	conn_close(r->conn);
	r->endpoint = (r->endpoint + 1) % c->nep;
	r->retry_ms = r->retry_ms ? r->retry_ms * 2 : KVC_WATCH_RETRY_MIN_MS;
	if (r->retry_ms > KVC_WATCH_RETRY_MAX_MS)
		r->retry_ms = KVC_WATCH_RETRY_MAX_MS;
	r->split_depth = 0;
	r->split_str = r->split_esc = false;
	kvc_res_reset(&r->res);
	loop_timer_set(c->loop, &r->timer, r->retry_ms, attempt, r);
}

static void on_step(struct kvc_req *r, enum kvc_step s)
{
	struct kvc *c = r->c;

	if (r->cancelled) {
		req_kill(r);
		return;
	}
	switch (s) {
	case KVC_STEP_MORE:
		return;
	case KVC_STEP_DONE:
		finish(r);
		return;
	case KVC_STEP_NEXT:
		conn_close(r->conn);
		kvc_res_reset(&r->res);
		r->tries = 0;
		loop_timer_set(c->loop, &r->timer, 0, attempt, r);
		return;
	case KVC_STEP_RETRY:
		if (r->op == KVC_OP_WATCH) {
			watch_retry_later(r);
			return;
		}
		conn_close(r->conn);
		if (++r->tries >= c->nep) {
			finish(r);
			return;
		}
		r->endpoint = (r->endpoint + 1) % c->nep;
		loop_timer_set(c->loop, &r->timer, 0, attempt, r);
		return;
	}
}

static void deadline_passed(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	r->c->depth++;
	if (r->sent)
		kvc_res_fail(&r->res, KVC_TIMEOUT, "no answer within %u ms", r->c->timeout_ms);
	else if (!r->res.status)
		kvc_res_fail(&r->res, KVC_UNAVAILABLE, "no endpoint could be reached within %u ms",
			     r->c->timeout_ms);
	finish(r);
	if (!--r->c->depth && r->c->closing)
		reap_later(r->c);
}

/* --- the answer -------------------------------------------------------------------- */

/* The complete answer of a unary exchange (or one poll of a v2 watch). */
static void answer(struct kvc_req *r)
{
	struct kvc_conn *k = r->conn;
	const char *idx = http_header_get(&k->p, "X-Etcd-Index");

	r->c->current = r->endpoint;
	r->retry_ms = 0;
	on_step(r, r->c->ops->answer(r, k->p.status, idx, k->body.data ? k->body.data : "", k->body.len));
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
			}
			break;
		case HTTP_EV_BODY:
			if (k->stream) {
				enum kvc_step s = kvc_split_feed(r, k->p.body, k->p.body_len);

				if (s != KVC_STEP_MORE || r->cancelled) {
					on_step(r, s);
					return false;
				}
				r->retry_ms = 0;
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
		ssize_t n = write(k->fd, k->out.data + k->off, k->out.len - k->off);

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
			p = br_ssl_engine_sendrec_buf(eng, &len);
			n = write(k->fd, p, len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				set_events(k, EPOLLIN | EPOLLOUT);
				return true;
			}
			if (n < 0) {
				transport_failed(r, !r->sent, "send: %s", strerror(errno));
				return false;
			}
			br_ssl_engine_sendrec_ack(eng, (size_t)n);
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
			p = br_ssl_engine_sendapp_buf(eng, &len);
			if (len > k->out.len - k->off)
				len = k->out.len - k->off;
			memcpy(p, k->out.data + k->off, len);
			br_ssl_engine_sendapp_ack(eng, len);
			k->off += len;
			if (k->off == k->out.len) {
				br_ssl_engine_flush(eng, 0);
				r->sent = true;
			}
			continue;
		}
		if (st & BR_SSL_RECVREC) {
			p = br_ssl_engine_recvrec_buf(eng, &len);
			n = read(k->fd, p, len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				transport_failed(r, !r->sent, "receive: %s", strerror(errno));
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
			br_ssl_engine_recvrec_ack(eng, (size_t)n);
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
	if (!--r->c->depth && r->c->closing)
		reap_later(r->c);
}

/* A v2 watch that has waited long enough: ask again from the same index. */
static void watch_poll(struct loop *l, void *arg)
{
	struct kvc_req *r = arg;

	conn_close(r->conn);
	attempt(l, r);
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
	}
	pump(k);
out:
	if (!--c->depth && c->closing)
		reap_later(c);
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
static void attempt(struct loop *l, void *arg)
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
	k->p.body_max = r->op == KVC_OP_WATCH && c->ops->stream_msg ? HTTP_BODY_UNLIMITED : KVC_BODY_MAX;
	if ((e = build_request(r, k)) < 0) {
		kvc_res_fail(&r->res, e == -ENOMEM ? KVC_NOMEM : KVC_REFUSED, "cannot build the request: %s",
			     strerror(-e));
		free(k);
		r->conn = NULL;
		on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
		goto out;
	}
	if (ep->tls) {
		struct err te = { 0 };

		if (!(k->tls = malloc(sizeof(*k->tls))) ||
		    tls_client_init(k->tls, ep->host, &c->anchors, c->have_cert ? &c->chain : NULL,
				    c->have_cert ? &c->key : NULL, &te) < 0) {
			free(k->tls);
			k->tls = NULL;
			buf_free(&k->out);
			free(k);
			r->conn = NULL;
			kvc_res_fail(&r->res, KVC_NOMEM, "TLS: %s", te.msg[0] ? te.msg : "out of memory");
			on_step(r, r->op == KVC_OP_WATCH ? KVC_STEP_RETRY : KVC_STEP_DONE);
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
	if (!--c->depth && c->closing)
		reap_later(c);
}

/* --- starting requests -------------------------------------------------------------- */

static int start(struct kvc *c, enum kvc_op op, const char *key, kvc_done_fn *fn, void *arg,
		 struct kvc_req **out, struct kvc_req **made)
{
	struct kvc_req *r;
	size_t klen = key ? strlen(key) : 0;

	if (out)
		*out = NULL;
	if (c->closing || klen > KVC_KEY_MAX || (c->ops == &kvc_v2_ops && key && key[0] != '/' &&
						     (op != KVC_OP_LIST && op != KVC_OP_WATCH)))
		return -EINVAL;
	if (op != KVC_OP_LIST && op != KVC_OP_WATCH && !klen)
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))) || !(r->key = strdup(key ? key : ""))) {
		free(r);
		return -ENOMEM;
	}
	r->c = c;
	r->op = op;
	r->done = fn;
	r->arg = arg;
	r->endpoint = c->current;
	r->next = c->reqs;
	c->reqs = r;
	*made = r;
	if (out)
		*out = r;
	return 0;
}

static void go(struct kvc_req *r)
{
	struct kvc *c = r->c;

	loop_timer_set(c->loop, &r->timer, 0, attempt, r);
	if (r->op != KVC_OP_WATCH)
		loop_timer_set(c->loop, &r->deadline, c->timeout_ms, deadline_passed, r);
}

int kvc_get(struct kvc *c, const char *key, kvc_done_fn *fn, void *arg, struct kvc_req **req)
{
	struct kvc_req *r;
	int e = start(c, KVC_OP_GET, key, fn, arg, req, &r);

	if (e == 0)
		go(r);
	return e;
}

int kvc_list(struct kvc *c, const char *prefix, kvc_done_fn *fn, void *arg, struct kvc_req **req)
{
	struct kvc_req *r;
	int e = start(c, KVC_OP_LIST, prefix, fn, arg, req, &r);

	if (e == 0)
		go(r);
	return e;
}

/* RFC 3629 UTF-8, without NUL: what a v2 value (a JSON string in etcd's
 * answers) can carry unchanged. */
static bool text_is_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned ch = s[i], more, min, cp;

		if (ch == 0)
			return false;
		if (ch < 0x80) {
			i++;
			continue;
		}
		if ((ch & 0xe0) == 0xc0)
			more = 1, min = 0x80, cp = ch & 0x1f;
		else if ((ch & 0xf0) == 0xe0)
			more = 2, min = 0x800, cp = ch & 0x0f;
		else if ((ch & 0xf8) == 0xf0)
			more = 3, min = 0x10000, cp = ch & 0x07;
		else
			return false;
		if (n - i <= more)
			return false;
		for (unsigned j = 1; j <= more; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

int kvc_set(struct kvc *c, const char *key, const void *value, size_t len,
	    const struct kvc_set_opts *opts, kvc_done_fn *fn, void *arg, struct kvc_req **req)
{
	struct kvc_req *r;
	int e;

	if (len > KVC_VALUE_MAX || (opts && opts->if_absent && opts->if_index))
		return -EINVAL;
	if (c->ops == &kvc_v2_ops && !text_is_valid(value, len))
		return -EINVAL;
	if ((e = start(c, KVC_OP_SET, key, fn, arg, req, &r)) < 0)
		return e;
	if (opts)
		r->opts = *opts;
	if (buf_append(&r->value, value ? value : "", len) < 0) {
		if (req)
			*req = NULL;
		req_kill(r);
		return -ENOMEM;
	}
	go(r);
	return 0;
}

int kvc_delete(struct kvc *c, const char *key, uint64_t if_index, kvc_done_fn *fn, void *arg,
	       struct kvc_req **req)
{
	struct kvc_req *r;
	int e = start(c, KVC_OP_DELETE, key, fn, arg, req, &r);

	if (e == 0) {
		r->opts.if_index = if_index;
		go(r);
	}
	return e;
}

int kvc_refresh(struct kvc *c, const char *key, uint64_t ttl, kvc_done_fn *fn, void *arg,
		struct kvc_req **req)
{
	struct kvc_req *r;
	int e;

	if (!ttl && c->ops == &kvc_v2_ops)
		return -EINVAL;
	if ((e = start(c, KVC_OP_REFRESH, key, fn, arg, req, &r)) == 0) {
		r->opts.ttl = ttl;
		go(r);
	}
	return e;
}

int kvc_revoke(struct kvc *c, const char *key, kvc_done_fn *fn, void *arg, struct kvc_req **req)
{
	struct kvc_req *r;
	int e = start(c, KVC_OP_REVOKE, key, fn, arg, req, &r);

	if (e == 0)
		go(r);
	return e;
}

int kvc_watch(struct kvc *c, const char *prefix, uint64_t from_index, kvc_watch_fn *fn, void *arg,
	      struct kvc_req **req)
{
	struct kvc_req *r;
	int e = start(c, KVC_OP_WATCH, prefix, NULL, arg, req, &r);

	if (e == 0) {
		r->watch_fn = fn;
		r->next_index = from_index;
		go(r);
	}
	return e;
}

const char *kvc_status_name(enum kvc_status s)
{
	static const char *const names[] = {
		[KVC_OK] = "ok",
		[KVC_NOT_FOUND] = "not found",
		[KVC_EXISTS] = "already exists",
		[KVC_CAS_FAILED] = "compare failed",
		[KVC_UNAVAILABLE] = "unavailable",
		[KVC_TIMEOUT] = "timed out",
		[KVC_BAD_RESPONSE] = "bad response",
		[KVC_REFUSED] = "refused",
		[KVC_HISTORY_GONE] = "history gone",
		[KVC_NOMEM] = "out of memory",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}
