/*
 * Connections: the TLS engine between the socket and the plaintext
 * buffers, the HTTP framing of requests and answers, the limits and the
 * timeouts. What a request means is route.c's business.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "netaddr.h"

static void conn_pump(struct conn *c);
static void process_input(struct conn *c);

static void sweep(struct loop *l, void *arg);

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- listening ---------------------------------------------------------- */

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a, sizeof(a));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, strchr(a, ':') ? "[%s]:%u" : "%s:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static void linger_read(struct conn *c)
{
	char drop[16384];

	for (;;) {
		ssize_t n = recv(c->fd, drop, sizeof(drop), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		c->lingered += n > 0 ? (size_t)n : 0;
		if (n <= 0 || c->lingered > CONTROL_LINGER_BYTES) {
			conn_close(c);
			return;
		}
	}
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (c->fd < 0)
		return;
	if (c->phase == CONN_LINGER) {
		linger_read(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		conn_close(c);
		return;
	}
	conn_pump(c);
}

static void conn_new(struct control *ctl, int fd, const struct sockaddr_storage *ss)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct conn *quietest = NULL;
	unsigned same = 0;
	int one = 1;

	if (c)
		c->tls = malloc(sizeof(*c->tls));
	if (!c || !c->tls ||
	    tls_server_init(c->tls, &ctl->chain, &ctl->key, ctl->cas.n ? &ctl->cas : NULL) < 0) {
		if (c)
			free(c->tls);
		free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->addr = *ss;
	addr_text(ss, c->peer, sizeof(c->peer));
	c->accepted_ms = c->active_ms = c->quiet_since_ms = loop_now_ms();
	for (struct conn *o = ctl->conns; o; o = o->next) {
		if (!netaddr_same_client(&o->addr, ss))
			continue;
		same++;
		/* The list is newest first: on a tie, the later one. */
		if (!o->in_request && (!quietest || o->quiet_since_ms <= quietest->quiet_since_ms))
			quietest = o;
	}
	/* At the limit, the client's connection that has gone longest
	 * without completing a request head makes room: slow or half-open
	 * connections cannot lock out a request from the same address (an
	 * operator may share it, behind a NAT, with whoever sends them). Only
	 * when every one is in a request is the new one refused. */
	if (same >= ctl->conn_per_client_max) {
		if (quietest)
			conn_close(quietest);
		else
			c->over_limit = true;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A peer that vanished while a journal follows with nothing to say
	 * is found by TCP keepalive: about two minutes. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 60 }, sizeof(int));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &(int){ 10 }, sizeof(int));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &(int){ 6 }, sizeof(int));
	c->events = EPOLLIN;
	if (loop_io_add(ctl->loop, &c->io, fd, c->events, conn_event, c) < 0) {
		free(c->tls);
		free(c);
		close(fd);
		return;
	}
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->nconns++;
	stats_conn(1);
}

static void accept_ready(struct loop *l, int lfd, uint32_t events, void *arg)
{
	struct control *ctl = arg;

	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept: %s; pausing for a second", strerror(errno));
				loop_io_mod(ctl->loop, &ctl->listen_io, 0);
				ctl->listen_paused = true;
			}
			return;
		}
		if (ctl->nconns >= ctl->conn_max) {
			close(fd);
			continue;
		}
		conn_new(ctl, fd, &ss);
	}
}

int control_listen(struct control *ctl, const char *addr, unsigned port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr *sa;
	socklen_t sl;
	int fd, one = 1, r;

	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&s6;
		sl = sizeof(s6);
	} else if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		sa = (struct sockaddr *)&s4;
		sl = sizeof(s4);
	} else {
		return -EINVAL;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, sl) < 0 || listen(fd, 1024) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	ctl->listen_fd = fd;
	if ((r = loop_io_add(ctl->loop, &ctl->listen_io, fd, EPOLLIN, accept_ready, ctl)) < 0)
		return r;
	loop_timer_set(ctl->loop, &ctl->sweep, CONTROL_SWEEP_MS, sweep, ctl);
	return 0;
}

/* --- closing ------------------------------------------------------------ */

static void reap(struct loop *l, void *arg)
{
	struct control *ctl = arg;

	while (ctl->dead) {
		struct conn *c = ctl->dead;

		ctl->dead = c->next;
		/* Requests, their credentials among them, in plaintext: in
		 * the input, the parser and the TLS engine's buffer (with
		 * the session's keys). */
		buf_wipe(&c->in);
		buf_free(&c->in);
		buf_free(&c->out);
		explicit_bzero(c->tls, sizeof(*c->tls));
		free(c->tls);
		if (c->p)
			explicit_bzero(c->p, sizeof(*c->p));
		free(c->p);
		free(c);
	}
	upstream_reap(ctl);
}

void control_reap_later(struct control *ctl)
{
	/* Timers run after the event batch: nothing refers to the dead then. */
	loop_timer_set(ctl->loop, &ctl->reaper, 0, reap, ctl);
}

void conn_close(struct conn *c)
{
	struct control *ctl = c->ctl;

	if (c->fd < 0)
		return;	/* already closed in this batch */
	if (c->up)
		upstream_abort(c->up);
	c->up = NULL;
	loop_io_del(ctl->loop, &c->io);
	close(c->fd);
	c->fd = -1;
	ctl->held -= c->held;
	c->held = 0;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nconns--;
	stats_conn(-1);
	c->next = ctl->dead;
	ctl->dead = c;
	control_reap_later(ctl);
}

/* Send what is queued, then close_notify, then close. */
static void conn_shutdown(struct conn *c)
{
	c->phase = CONN_CLOSING;
	if (c->up) {
		upstream_abort(c->up);
		c->up = NULL;
	}
}

/* --- answers ------------------------------------------------------------ */

static void request_finish(struct conn *c)
{
	stats_request(c->route, c->method, c->status, now_usec() - c->started_usec);
	if (c->closing_after || !c->p->keep_alive) {
		conn_shutdown(c);
		return;
	}
	http_parser_reset(c->p);
	c->p->body_max = HTTP_BODY_UNLIMITED;
	c->in_request = false;
	c->answered = false;
	c->answer_after_body = false;
	c->head_started_ms = 0;
}

/* Both halves done? The request ends; the next one may be parsed. */
static bool request_maybe_finish(struct conn *c)
{
	if (!c->in_request || !c->answered)
		return false;
	/* A request without a body is complete with its head. */
	if (c->p->event == HTTP_EV_DONE ||
	    (c->p->event == HTTP_EV_HEAD && c->p->framing == HTTP_BODY_NONE)) {
		request_finish(c);
		return true;
	}
	/* Answered before the body was read: only closing keeps framing safe. */
	stats_request(c->route, c->method, c->status, now_usec() - c->started_usec);
	conn_shutdown(c);
	return true;
}

void conn_answer_done(struct conn *c)
{
	c->answered = true;
	c->up = NULL;
	/* A pipelined request may be waiting in c->in already. */
	if (request_maybe_finish(c) && c->phase == CONN_READY)
		process_input(c);
	conn_kick(c);
}

void conn_respond(struct conn *c, int status, const char *type, const char *body, size_t len,
		  const char *fields)
{
	struct http_response_head h = {
		.status = status,
		.content_type = type,
		.length = (int64_t)len,
		.conn = HTTP_CONN_DEFAULT,
		.date = time(NULL),
		.fields = fields,
	};

	if (c->closing_after || !c->p->keep_alive || c->p->event == HTTP_EV_ERROR)
		h.conn = HTTP_CONN_CLOSE;
	else if (c->p->version == 10)
		h.conn = HTTP_CONN_KEEP_ALIVE;
	if (h.conn == HTTP_CONN_CLOSE)
		c->closing_after = true;
	c->status = status;
	if (http_response_head_append(&c->out, &h) < 0 ||
	    (len && strcmp(c->method, "HEAD") && buf_append(&c->out, body, len) < 0))
		c->closing_after = true;
	c->answered = true;
	request_maybe_finish(c);
}

void conn_respond_error(struct conn *c, int status, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	struct json j;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_init(&j, &b, false);
	json_obj_begin(&j);
	if (c->route == ROUTE_KV) {
		/* etcd's own shape, so that etcdctl and v2 client libraries
		 * print it: code 110 is etcd's "requires authentication". */
		json_key(&j, "errorCode");
		json_int(&j, status == 401 || status == 403 ? 110 : 300);
		json_key(&j, "message");
		json_str(&j, status == 401 || status == 403 ? "The request requires user authentication"
							      : "Raft Internal Error");
		json_key(&j, "cause");
		json_str(&j, msg);
		json_key(&j, "index");
		json_int(&j, 0);
	} else {
		json_key(&j, "error");
		json_str(&j, msg);
	}
	json_obj_end(&j);
	if (json_end(&j) < 0 || buf_puts(&b, "\n") < 0) {
		buf_free(&b);
		c->closing_after = true;
		conn_respond(c, status, NULL, NULL, 0, NULL);
		return;
	}
	conn_respond(c, status, "application/json", b.data, b.len,
		     status == 401 ? "WWW-Authenticate: Bearer realm=\"pith\"\r\n"
				     "WWW-Authenticate: Basic realm=\"pith\", charset=\"UTF-8\"\r\n" : NULL);
	buf_free(&b);
}

/* --- requests ----------------------------------------------------------- */

/* The parser is made when the first request bytes arrive: a connection
 * that only finished its handshake costs no page of it. */
static int parser_make(struct conn *c)
{
	if (c->p)
		return 0;
	if (!(c->p = malloc(sizeof(*c->p))))
		return -ENOMEM;
	http_parser_init(c->p, HTTP_REQUEST);
	/* The body limit is route.c's, after authentication: a stranger
	 * announcing 10 GB gets 401, not 413. */
	c->p->body_max = HTTP_BODY_UNLIMITED;
	return 0;
}

static void process_input(struct conn *c)
{
	size_t off = 0, n;

	if (!c->p)
		return;
	while (c->phase == CONN_READY) {
		/* One request at a time: a pipelined one waits for this answer. */
		if (c->in_request && c->p->event == HTTP_EV_DONE)
			break;
		if (c->up && upstream_pending(c->up) > CONTROL_UP_HIGH)
			break;
		/* A client that sends and never reads gets no more answers queued. */
		if (!c->in_request && c->out.len > CONTROL_OUT_HIGH)
			break;
		n = http_parse(c->p, c->in.data + off, c->in.len - off);
		off += n;
		if (!c->in_request && !c->head_started_ms && !http_parser_idle(c->p))
			c->head_started_ms = loop_now_ms();
		switch (c->p->event) {
		case HTTP_EV_NONE:
			goto out;
		case HTTP_EV_HEAD:
			c->in_request = true;
			c->quiet_since_ms = loop_now_ms();
			c->answered = false;
			c->answer_after_body = false;
			c->closing_after = false;
			c->head_started_ms = 0;
			c->started_usec = now_usec();
			c->status = 0;
			c->route = ROUTE_OTHER;
			snprintf(c->method, sizeof(c->method), "%s", c->p->method);
			route_request(c);
			break;
		case HTTP_EV_BODY:
			if (c->up)
				upstream_body(c->up, c->p->body, c->p->body_len);
			break;
		case HTTP_EV_DONE:
			if (c->up)
				upstream_body_end(c->up);
			else if (c->answer_after_body)
				route_answer_local(c);
			request_maybe_finish(c);
			break;
		case HTTP_EV_ERROR:
			if (!c->in_request) {
				c->in_request = true;
				c->started_usec = now_usec();
				c->route = ROUTE_OTHER;
				snprintf(c->method, sizeof(c->method), "%s",
					 c->p->method[0] ? c->p->method : "-");
			}
			/* An answer already under way cannot be followed by another. */
			if (c->answered || (c->up && upstream_started(c->up))) {
				conn_shutdown(c);
				goto out;
			}
			if (c->up) {
				upstream_abort(c->up);
				c->up = NULL;
			}
			c->closing_after = true;
			conn_respond_error(c, c->p->error, "%s", c->p->reason ? c->p->reason :
					   "bad request");
			goto out;
		}
	}
out:
	buf_consume(&c->in, off);
}

void conn_resume(struct conn *c)
{
	process_input(c);
	conn_kick(c);
}

/* --- the TLS pump ------------------------------------------------------- */

static void conn_set_events(struct conn *c, uint32_t ev)
{
	if (ev != c->events && loop_io_mod(c->ctl->loop, &c->io, ev) == 0)
		c->events = ev;
}

static void tls_failed(struct conn *c, int err)
{
	struct control *ctl = c->ctl;

	stats_tls_failed();
	if (c->tls_logged || !err)
		return;
	c->tls_logged = true;
	if (ctl->tls_fail_logged >= CONTROL_AUTH_LOG_PER_SEC) {
		ctl->tls_fail_suppressed++;
		return;
	}
	ctl->tls_fail_logged++;
	log_warn("tls: %s: %s failed: %s", c->peer,
		 c->phase == CONN_HANDSHAKE ? "handshake" : "connection", tls_strerror(err));
}

/* What each connection holds: its buffers' memory and what waits in the
 * kernel's send queue for its client (a client that does not read fills
 * that first, by megabytes, and the cgroup is charged for it). Then the
 * connection holding the most goes, until all hold no more than
 * --max-buffered together. Done by the sweep: between two, no
 * connection grows by more than its own bounds allow. */
static void held_enforce(struct control *ctl)
{
	ctl->held = 0;
	for (struct conn *o = ctl->conns; o; o = o->next) {
		int q = 0;

		if (o->fd >= 0 && ioctl(o->fd, SIOCOUTQ, &q) < 0)
			q = 0;
		o->held = o->in.cap + o->out.cap + (size_t)(q > 0 ? q : 0);
		ctl->held += o->held;
	}
	while (ctl->held > ctl->held_max) {
		struct conn *most = NULL;

		for (struct conn *o = ctl->conns; o; o = o->next)
			if (!most || o->held > most->held)
				most = o;
		if (!most || !most->held)
			return;
		stats_buffer_closed();
		if (ctl->auth_logged < CONTROL_AUTH_LOG_PER_SEC) {
			ctl->auth_logged++;
			log_warn("conn: %s: closed: it held %zu KiB, and all connections %zu KiB of %zu",
				 most->peer, most->held >> 10, ctl->held >> 10, ctl->held_max >> 10);
		}
		conn_close(most);
	}
}

static void conn_pump_once(struct conn *c);

/* Emptied large buffers give back their memory (the input's wiped
 * first: it held requests, credentials among them). */
static void conn_pump(struct conn *c)
{
	conn_pump_once(c);
	if (c->fd < 0)
		return;
	if (!c->in.len && c->in.cap > CONTROL_BUF_KEEP) {
		buf_wipe(&c->in);
		buf_free(&c->in);
	}
	if (!c->out.len && c->out.cap > CONTROL_BUF_KEEP)
		buf_free(&c->out);
}

static void conn_pump_once(struct conn *c)
{
	br_ssl_engine_context *eng = &c->tls->sc.eng;
	uint64_t now = loop_now_ms();
	bool want_write = false;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		bool moved = false;
		unsigned char *b;
		size_t len;
		ssize_t n;

		if (st & BR_SSL_CLOSED) {
			int err = br_ssl_engine_last_error(eng);

			if (err)
				tls_failed(c, err);
			conn_close(c);
			return;
		}
		if (c->phase == CONN_HANDSHAKE && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
			c->phase = CONN_READY;
		if (st & BR_SSL_SENDREC) {
			n = tls_sendrec(eng, c->fd);
			if (n > 0) {
				c->active_ms = now;
				moved = true;
			} else if (n == -EAGAIN) {
				want_write = true;
			} else {
				conn_close(c);
				return;
			}
		}
		if ((st & BR_SSL_RECVAPP) && c->in.len < CONTROL_IN_MAX) {
			b = br_ssl_engine_recvapp_buf(eng, &len);
			if (len > CONTROL_IN_MAX - c->in.len)
				len = CONTROL_IN_MAX - c->in.len;
			if (buf_append(&c->in, b, len) < 0) {
				conn_close(c);
				return;
			}
			br_ssl_engine_recvapp_ack(eng, len);
			moved = true;
			if (parser_make(c) < 0) {
				conn_close(c);
				return;
			}
			if (c->phase == CONN_READY)
				process_input(c);
		}
		if ((st & BR_SSL_SENDAPP) && c->out.len) {
			buf_consume(&c->out, tls_sendapp(eng, c->out.data, c->out.len));
			if (!c->out.len)
				br_ssl_engine_flush(eng, 0);
			if (c->up && c->out.len < CONTROL_OUT_LOW)
				upstream_resume(c->up);
			if (!c->up && c->in.len && c->out.len < CONTROL_OUT_LOW && c->phase == CONN_READY)
				process_input(c);
			moved = true;
		}
		if (c->phase == CONN_CLOSING && !c->out.len && !c->up && !c->close_sent) {
			br_ssl_engine_close(eng);
			c->close_sent = true;
			moved = true;
		}
		if (c->close_sent && !(st & BR_SSL_SENDREC) && !moved) {
			/* Our close_notify is out; the peer's is not waited for.
			 * A client may still be sending a body nobody will read:
			 * closing now would reset the connection, and the answer
			 * with it. Shut down writing and drop its bytes a while. */
			if (shutdown(c->fd, SHUT_WR) < 0) {
				conn_close(c);
				return;
			}
			c->phase = CONN_LINGER;
			c->linger_until = now + CONTROL_LINGER_MS;
			conn_set_events(c, EPOLLIN);
			return;
		}
		if ((st & BR_SSL_RECVREC) && !moved) {
			n = tls_recvrec(eng, c->fd);
			if (n > 0) {
				c->active_ms = now;
				moved = true;
			} else if (n != -EAGAIN) {
				/* The peer is gone; whatever it sent is handled. */
				if (c->phase == CONN_HANDSHAKE && n == 0)
					stats_tls_failed();
				conn_close(c);
				return;
			}
		}
		if (!moved)
			break;
	}
	/* Reading only when the engine wants records: with its input full
	 * (the client sends faster than it is answered), a readable socket
	 * would wake the loop for nothing, forever. */
	conn_set_events(c, ((br_ssl_engine_current_state(eng) & BR_SSL_RECVREC) ? EPOLLIN : 0) |
			   (want_write ? EPOLLOUT : 0));
}

void conn_kick(struct conn *c)
{
	if (c->fd >= 0 && c->phase != CONN_LINGER)
		conn_pump(c);
}

/* --- timeouts ----------------------------------------------------------- */

static void sweep(struct loop *l, void *arg)
{
	struct control *ctl = arg;
	uint64_t now = loop_now_ms();
	struct conn *c, *next;

	for (c = ctl->conns; c; c = next) {
		next = c->next;
		if (c->phase == CONN_LINGER) {
			if (now >= c->linger_until)
				conn_close(c);
			continue;
		}
		if (c->phase == CONN_HANDSHAKE) {
			if (now - c->accepted_ms > HTTP_HEADER_TIMEOUT_MS)
				conn_close(c);
			continue;
		}
		if (c->phase == CONN_READY && !c->in_request && c->head_started_ms &&
		    now - c->head_started_ms > HTTP_HEADER_TIMEOUT_MS) {
			c->in_request = true;
			c->started_usec = now_usec();
			snprintf(c->method, sizeof(c->method), "-");
			c->closing_after = true;
			conn_respond_error(c, 408, "the request head took too long");
			conn_kick(c);
			continue;
		}
		/* Waiting for PID 1's answer with nothing to send is not the
		 * client's fault; a body that stopped coming is. A stream may
		 * wait for ever; any other answer has its own bound. */
		if (c->up && !c->out.len && c->p && c->p->event == HTTP_EV_DONE) {
			unsigned wait = strcmp(c->method, "GET") && strcmp(c->method, "HEAD") ?
						CONTROL_WRITE_WAIT_MS : ctl->read_wait_ms;

			if (c->stream == STREAM_NONE && now - c->up_active_ms > wait)
				upstream_expire(c->up, wait);
			continue;
		}
		if (now - c->active_ms > HTTP_IDLE_TIMEOUT_MS)
			conn_close(c);
	}
	held_enforce(ctl);
	if (ctl->listen_paused) {
		ctl->listen_paused = false;
		loop_io_mod(ctl->loop, &ctl->listen_io, EPOLLIN);
	}
	ctl->auth_logged = 0;
	if (ctl->auth_suppressed) {
		log_warn("auth: %u more refusals not logged", ctl->auth_suppressed);
		ctl->auth_suppressed = 0;
	}
	ctl->tls_fail_logged = 0;
	if (ctl->tls_fail_suppressed) {
		log_warn("tls: %u more failures not logged", ctl->tls_fail_suppressed);
		ctl->tls_fail_suppressed = 0;
	}
	loop_timer_set(l, &ctl->sweep, CONTROL_SWEEP_MS, sweep, ctl);
}
