/*
 * etcd's v2 client API over HTTP/1.1, as etcd 3.4 answers it (docs/kv.md):
 * /v2/keys (reads served here, writes and quorum reads through the log),
 * watches, /version, /health, /v2/members, /v2/stats/{self,leader,store}, /v2/machines.
 * Heads are written by hand in the order etcd's Go server writes them:
 * the CORS fields, the other fields sorted by name, Date, then the length
 * (a Content-Length up to 2048 bytes of body, chunks past it, as Go's
 * server buffers), and the type Go sniffs when the handler set none.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "json.h"
#include "kv.h"
#include "v2req.h"

/* Open client connections; one more is answered 503 and closed at once
 * (docs/kv.md). A connection holds an HTTP parser (about 25 KiB) only
 * while it reads or answers a request, not while it waits as a watch. */
#define API_CONN_MAX 4096
/* Descriptors asked for besides the clients': peers, the WAL, listeners. */
#define API_FD_SPARE 256
/* How long accepting pauses when no descriptor is left, in ms. */
#define API_ACCEPT_PAUSE_MS 100
/* The largest request body: a value of STORE_VALUE_MAX, form-encoded. */
#define API_BODY_MAX (3 * STORE_VALUE_MAX + 4096)
/* Go's ParseForm reads a form body up to this; a longer one is error 210,
 * "http: POST too large". */
#define API_FORM_MAX (10 * 1024 * 1024)
/* Output waiting for the client above which its further requests are
 * neither read nor parsed until it has taken its answers: a client that
 * pipelines without reading holds at most this plus one answer. */
#define API_OUT_PAUSE (256 * 1024)
/* Requests read but not parsed yet (pipelined behind one still waiting)
 * above which no more are read until they are parsed. */
#define API_IN_PAUSE (256 * 1024)
/* A stream watch whose output waiting for the client passes this is ended,
 * as etcd ends a stream whose client does not keep up. */
#define API_STREAM_OUT_MAX (1024 * 1024)
/* Go's server sends a body this long or shorter with a Content-Length. */
#define API_BUFFERED_MAX 2048
#define API_LISTEN_MAX KV_URLS_MAX
/* How long a peer must have been connected to count for a membership
 * change (etcd's HealthInterval). */
#define API_HEALTH_MS 5000

#define CORS "Access-Control-Allow-Headers: accept, content-type, authorization\r\n" \
	     "Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n" \
	     "Access-Control-Allow-Origin: *\r\n"
#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"

struct conn {
	struct api *api;
	int fd;
	struct loop_io io;
	/* NULL while the connection waits as a watch: allocated when a
	 * request is read, freed once a watch has begun (its answer needs
	 * nothing of the request but the path, kept in wpath). */
	struct http_parser *p;
	struct buf in, body, out;
	bool closing;
	bool waiting;		/* w is with node.c */
	bool watching;		/* a watch: linked in api->watchers */
	bool head;		/* the request is HEAD */
	bool in_route;		/* route() is running: the caller goes on parsing */
	bool resume;		/* on api->resume: parse what is left later */
	struct conn *rnext;
	bool no_value;		/* noValueOnSuccess */
	uint64_t member;	/* a member being added, removed or moved */
	bool member_added;
	struct kv_waiter w;
	uint32_t events;	/* what epoll watches for now */
	/* A watch. */
	char *wpath;
	bool wrecursive, wstream;
	uint64_t wsince;
	struct conn *wnext;
	struct conn *next;
};

struct api {
	struct kv *kv;
	int fds[API_LISTEN_MAX];
	struct loop_io ios[API_LISTEN_MAX];
	size_t nfds;
	struct conn *conns;
	unsigned nconns;
	struct conn *watchers;
	unsigned nwatchers;
	/* Connections whose request was answered from a callback, with
	 * pipelined requests perhaps waiting: parsed from a timer, never
	 * inside the callback (which may run while Raft's ready is being
	 * applied, when nothing may be proposed). */
	struct conn *resume;
	struct loop_timer resume_timer;
	struct loop_timer accept_timer;	/* accepting again after EMFILE */
};

static void conn_close(struct conn *c);
static void conn_parse(struct conn *c);

/* --- writing answers -------------------------------------------------------------- */

static void date_field(struct buf *b)
{
	char d[64];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	buf_puts(b, d);
}

/*
 * Queue a whole answer: fields (sorted, each ending in CRLF, after the
 * CORS ones), the body, and late_type, a Content-Type written after the
 * length as Go adds a sniffed one (NULL: none).
 */
static void respond(struct conn *c, int status, const char *fields, const char *late_type,
		    const char *body, size_t len)
{
	struct buf *b = &c->out;
	bool chunked = len > API_BUFFERED_MAX && c->p->version >= 11 && !c->head;

	buf_printf(b, "HTTP/1.1 %d %s\r\n" CORS "%s", status, http_status_reason(status),
		   fields ? fields : "");
	date_field(b);
	if (chunked)
		buf_puts(b, "Transfer-Encoding: chunked\r\n");
	else
		buf_printf(b, "Content-Length: %zu\r\n", len);
	if (late_type)
		buf_printf(b, "Content-Type: %s\r\n", late_type);
	if (!c->p->keep_alive) {
		buf_puts(b, "Connection: close\r\n");
		c->closing = true;
	}
	buf_puts(b, "\r\n");
	if (c->head)
		return;
	if (chunked) {
		http_chunk_append(b, body, len);
		http_chunk_last_append(b);
	} else {
		buf_append(b, body, len);
	}
}

/* A plain-text answer, as Go's http.Error writes it. */
static void respond_text(struct conn *c, int status, const char *text)
{
	respond(c, status, "Content-Type: " TEXT "\r\nX-Content-Type-Options: nosniff\r\n", NULL,
		text, strlen(text));
}

static void not_found(struct conn *c)
{
	respond_text(c, 404, "404 page not found\n");
}

/* 405 with Allow (NULL: none, as etcd's members handler sends none). */
static void not_allowed(struct conn *c, const char *allow, bool cluster_id)
{
	struct buf f = BUF_INIT;

	if (allow)
		buf_printf(&f, "Allow: %s\r\n", allow);
	buf_puts(&f, "Content-Type: " TEXT "\r\nX-Content-Type-Options: nosniff\r\n");
	if (cluster_id)
		buf_printf(&f, "X-Etcd-Cluster-Id: %" PRIx64 "\r\n", c->api->kv->cluster_id);
	respond(c, 405, f.data, NULL, "Method Not Allowed\n", 19);
	buf_free(&f);
}

/* An etcd error: {"errorCode":...}, with X-Etcd-Index. */
static void respond_error(struct conn *c, int code, const char *cause, uint64_t index)
{
	struct buf f = BUF_INIT, body = BUF_INIT;

	buf_printf(&f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\nX-Etcd-Index: %" PRIu64 "\r\n",
		   c->api->kv->cluster_id, index);
	store_error_json(code, cause, index, &body);
	respond(c, store_error_status(code), f.data, NULL, body.data, body.len);
	buf_free(&f);
	buf_free(&body);
}

static void keys_fields(struct conn *c, struct buf *f, uint64_t store_index, uint64_t raft_index,
			uint64_t raft_term)
{
	buf_printf(f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\nX-Etcd-Index: %" PRIu64
		   "\r\nX-Raft-Index: %" PRIu64 "\r\nX-Raft-Term: %" PRIu64 "\r\n",
		   c->api->kv->cluster_id, store_index, raft_index, raft_term);
}

static void respond_keys(struct conn *c, int status, const struct buf *body, uint64_t store_index,
			 uint64_t raft_index, uint64_t raft_term)
{
	struct buf f = BUF_INIT;

	keys_fields(c, &f, store_index, raft_index, raft_term);
	respond(c, status, f.data, NULL, body->data, body->len);
	buf_free(&f);
}

/* --- /v2/keys ------------------------------------------------------------------- */

static void want_write(struct conn *c)
{
	uint32_t ev;

	/* Most answers fit the socket's buffer: send at once, and ask epoll
	 * for EPOLLOUT only for what is left. */
	if (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			buf_consume(&c->out, (size_t)n);
	}
	ev = (c->out.len > API_OUT_PAUSE || c->in.len > API_IN_PAUSE ? 0 : EPOLLIN) |
	     (c->out.len || (c->closing && !c->waiting) ? EPOLLOUT : 0);
	if (ev != c->events && loop_io_mod(c->api->kv->loop, &c->io, ev) == 0)
		c->events = ev;
}

static void resume_fire(struct loop *l, void *arg)
{
	struct api *a = arg;

	while (a->resume) {
		struct conn *c = a->resume;

		a->resume = c->rnext;
		c->resume = false;
		conn_parse(c);
	}
}

static void request_done(struct conn *c)
{
	struct api *a = c->api;

	c->waiting = false;
	c->head = false;
	if (c->p)
		http_parser_reset(c->p);
	want_write(c);
	if (c->in_route || c->resume)
		return;
	c->resume = true;
	c->rnext = a->resume;
	a->resume = c;
	loop_timer_set(a->kv->loop, &a->resume_timer, 0, resume_fire, a);
}

static void applied(struct kv *kv, struct kv_waiter *w, const struct kv_result *res)
{
	struct conn *c = w->arg;
	struct buf body = BUF_INIT;

	if (res->code == -ETIMEDOUT || res->code == -ECANCELED || res->code < 0) {
		respond_error(c, STORE_ERAFTINTERNAL, "etcdserver: request timed out", 0);
	} else if (res->code > 0) {
		respond_error(c, res->code, res->cause, res->store_index);
	} else if (res->body) {
		respond_keys(c, 200, res->body, res->store_index, res->raft_index, res->raft_term);
	} else {
		const struct store_event *ev = res->ev;

		if (c->no_value)
			buf_printf(&body, "{\"action\":\"%s\"}\n", ev->action);
		else
			store_event_json(ev, &body);
		/* etcd's "created": a create, or a set where nothing was. */
		bool created = !strcmp(ev->action, "create") || (!strcmp(ev->action, "set") && !ev->prev.len);

		respond_keys(c, created ? 201 : 200, &body, res->store_index, res->raft_index,
			     res->raft_term);
		buf_free(&body);
	}
	request_done(c);
}

/* Send a command through the log; the answer comes to done. */
static void submit_to(struct conn *c, struct kv_cmd *cmd, kv_done_fn *done)
{
	struct kv *kv = c->api->kv;
	int r;

	memset(&c->w, 0, sizeof(c->w));
	cmd->origin = kv->id;
	cmd->seq = c->w.seq = kv_next_seq(kv);
	if ((r = kv_cmd_encode(cmd, &c->w.cmd)) < 0) {
		buf_free(&c->w.cmd);
		/* -EINVAL: a value over STORE_VALUE_MAX, worded as etcd's
		 * request size limit words it. */
		respond_error(c, STORE_ERAFTINTERNAL, r == -EINVAL ? "etcdserver: request is too large" :
			      "out of memory", 0);
		return;
	}
	c->w.done = done;
	c->w.arg = c;
	c->waiting = true;
	kv_submit(kv, &c->w);
}

static void submit(struct conn *c, struct kv_cmd *cmd)
{
	submit_to(c, cmd, applied);
}

static void watch_unlink(struct conn *c)
{
	struct api *a = c->api;

	for (struct conn **pp = &a->watchers; *pp; pp = &(*pp)->wnext)
		if (*pp == c) {
			*pp = c->wnext;
			a->nwatchers--;
			break;
		}
	c->watching = false;
	free(c->wpath);
	c->wpath = NULL;
}

/*
 * End a watch: with the last chunk (clean), as etcd ends a stream it cannot
 * keep up; or by closing the connection after what was sent, so that the
 * client sees an error and asks again from its index (and gets 401 if that
 * event is gone).
 */
static void watch_end(struct conn *c, bool clean)
{
	watch_unlink(c);
	if (clean) {
		http_chunk_last_append(&c->out);
		request_done(c);
		return;
	}
	c->waiting = false;
	c->closing = true;
	want_write(c);
}

/* Send one event (json, as store_event_json writes it) on a watch; a watch
 * without stream then ends, and so does a stream its client does not read. */
static void watch_send(struct conn *c, const struct buf *json, uint64_t index)
{
	if (c->wstream && c->out.len > API_STREAM_OUT_MAX)
		return watch_end(c, true);
	http_chunk_append(&c->out, json->data, json->len);
	c->wsince = index + 1;
	if (!c->wstream)
		return watch_end(c, true);
	want_write(c);
}

static void watch_send_event(struct conn *c, const struct store_event *ev)
{
	struct buf json = BUF_INIT;

	if (store_event_json(ev, &json) < 0)
		watch_end(c, false);
	else
		watch_send(c, &json, ev->index);
	buf_free(&json);
}

static void watch_start(struct conn *c, const struct v2_req *q)
{
	struct api *a = c->api;
	struct kv *kv = a->kv;
	struct buf f = BUF_INIT;
	const struct store_event *ev;
	bool cleared;
	uint64_t oldest, since = q->wait_index ? q->wait_index : kv->store.index + 1;

	ev = store_watch_find(&kv->store, q->path, q->recursive, since, &cleared, &oldest);
	if (cleared) {
		char cause[96];

		snprintf(cause, sizeof(cause), "the requested history has been cleared [%" PRIu64 "/%" PRIu64 "]",
			 oldest, since);
		return respond_error(c, STORE_EEVENTINDEXCLEARED, cause, kv->store.index);
	}
	c->wpath = strdup(q->path);
	if (!c->wpath)
		return respond_error(c, STORE_ERAFTINTERNAL, "out of memory", 0);
	keys_fields(c, &f, kv->store.index, kv->raft.commit, kv->raft.term);
	buf_printf(&c->out, "HTTP/1.1 200 OK\r\n" CORS "%s", f.data);
	buf_free(&f);
	date_field(&c->out);
	buf_puts(&c->out, "Transfer-Encoding: chunked\r\n\r\n");
	c->wrecursive = q->recursive;
	c->wstream = q->stream;
	c->wsince = since;
	c->watching = true;
	c->waiting = true;
	c->wnext = a->watchers;
	a->watchers = c;
	a->nwatchers++;
	if (ev)
		watch_send_event(c, ev);
	/* A stream replays what it missed from the history too. */
	while (c->watching && c->wstream &&
	       (ev = store_watch_find(&kv->store, c->wpath, c->wrecursive, c->wsince, &cleared, &oldest)))
		watch_send_event(c, ev);
	want_write(c);
}

/*
 * The store's hook (store.h): each event as it is applied, so that a
 * watcher waiting for index N gets the event at N even when one batch
 * applies more events than the history keeps. The event is written once
 * for all the watchers it wakes. NULL: a snapshot replaced the store, and
 * the events a watcher from before its index waited for may have gone
 * unseen: that watch is ended.
 */
static void watch_event(void *arg, const struct store_event *ev)
{
	struct api *a = arg;
	struct buf json = BUF_INIT;
	bool failed = false;

	for (struct conn *c = a->watchers, *next; c; c = next) {
		next = c->wnext;
		if (!ev) {
			if (c->wsince <= a->kv->store.index)
				watch_end(c, c->wstream);
			continue;
		}
		if (ev->index < c->wsince || !store_event_matches(ev, c->wpath, c->wrecursive))
			continue;
		if (!json.len && !failed)
			failed = store_event_json(ev, &json) < 0;
		if (failed)
			watch_end(c, false);
		else
			watch_send(c, &json, ev->index);
	}
	buf_free(&json);
}

/* ServeMux's 301 to a clean path: an HTML body for GET and HEAD, the
 * location escaped as Go's html.EscapeString does. */
static void redirect(struct conn *c, const char *location)
{
	struct buf f = BUF_INIT, html = BUF_INIT;
	bool get = !strcmp(c->p->method, "GET") || !strcmp(c->p->method, "HEAD");

	if (get) {
		buf_puts(&f, "Content-Type: text/html; charset=utf-8\r\n");
		buf_puts(&html, "<a href=\"");
		for (const char *p = location; *p; p++) {
			const char *esc = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" :
					  *p == '"' ? "&#34;" : *p == '\'' ? "&#39;" : NULL;

			esc ? buf_puts(&html, esc) : buf_append(&html, p, 1);
		}
		buf_puts(&html, "\">Moved Permanently</a>.\n\n");
	}
	buf_printf(&f, "Location: %s\r\n", location);
	respond(c, 301, f.data, NULL, html.data, html.len);
	buf_free(&f);
	buf_free(&html);
}

static int64_t ttl_seconds(uint64_t ttl, bool *has)
{
	/* etcd multiplies by a second in an int64 of nanoseconds; a TTL that
	 * overflows it leaves the key without an expiry, as observed. */
	if (ttl > INT64_MAX / 1000000000) {
		*has = false;
		return 0;
	}
	return (int64_t)ttl;
}

/*
 * etcd asks its v2 auth store whether auth is on before it serves a keys
 * request that parsed, and a member change: a read of a key that is not
 * there (without auth), which /v2/stats/store counts as a failed get.
 */
static void auth_read(struct kv *kv)
{
	kv->store.stats.gets_fail++;
}

static void keys(struct conn *c, const char *body, size_t body_len)
{
	struct api *a = c->api;
	struct kv *kv = a->kv;
	struct v2_req q;
	struct kv_cmd cmd = { .kind = KV_CMD_STORE };
	struct store_cmd *s = &cmd.store;
	int r = v2_req_parse(&q, c->p->method, http_request_target(c->p), body, body_len,
			     http_header_get(c->p, "Content-Type"));

	if (r == V2_OK)
		auth_read(kv);
	if (r == V2_REDIRECT) {
		redirect(c, q.location.data);
	} else if (r == V2_NOT_ALLOWED) {
		not_allowed(c, "HEAD,GET,PUT,POST,DELETE", false);
	} else if (r == V2_NOMEM) {
		respond_error(c, STORE_ERAFTINTERNAL, "out of memory", 0);
	} else if (r > 0) {
		respond_error(c, r, q.cause.data, 0);
	} else if ((q.method == V2_GET || q.method == V2_HEAD) && q.quorum) {
		cmd.kind = KV_CMD_QGET;
		s->path = q.path;
		s->recursive = q.recursive;
		cmd.sorted = q.sorted;
		c->head = q.method == V2_HEAD;
		submit(c, &cmd);
	} else if (q.method == V2_GET && q.wait) {
		watch_start(c, &q);
	} else if (q.method == V2_GET || q.method == V2_HEAD) {
		struct buf out = BUF_INIT, cause = BUF_INIT;

		c->head = q.method == V2_HEAD;
		r = store_get(&kv->store, q.path, q.recursive, q.sorted, kv_now_ns(), &out, &cause);
		if (r > 0)
			respond_error(c, r, cause.data, kv->store.index);
		else if (r < 0)
			respond_error(c, STORE_ERAFTINTERNAL, "out of memory", 0);
		else
			respond_keys(c, 200, &out, kv->store.index, kv->raft.commit, kv->raft.term);
		buf_free(&out);
		buf_free(&cause);
	} else {
		s->op = q.method == V2_POST ? STORE_POST : q.method == V2_DELETE ? STORE_DELETE : STORE_SET;
		s->path = q.path;
		s->value = q.value;
		s->value_len = q.value_len;
		s->dir = q.dir;
		s->recursive = q.recursive;
		s->refresh = q.refresh;
		s->prev_exist = q.prev_exist;
		s->prev_value = q.prev_value;
		s->prev_value_len = q.prev_value_len;
		s->prev_index = q.prev_index;
		s->has_ttl = q.has_ttl;
		s->ttl = q.has_ttl ? ttl_seconds(q.ttl, &s->has_ttl) : 0;
		s->time_ns = kv_now_ns();
		c->no_value = q.no_value_on_success && q.method != V2_DELETE;
		submit(c, &cmd);
	}
	v2_req_free(&q);
}

/* --- the other routes ---------------------------------------------------------------- */

static const char *state_name(enum raft_role r)
{
	return r == RAFT_LEADER ? "StateLeader" : r == RAFT_FOLLOWER ? "StateFollower" :
	       r == RAFT_CANDIDATE ? "StateCandidate" : "StatePreCandidate";
}

/* RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's time.Time marshals. */
static void rfc3339(struct buf *b, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char d[32], f[16];
	int n;

	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_puts(b, d);
	if (frac) {
		n = snprintf(f, sizeof(f), ".%09ld", frac);
		while (n > 1 && f[n - 1] == '0')
			f[--n] = 0;
		buf_puts(b, f);
	}
	buf_puts(b, "Z");
}

static void duration(struct buf *b, int64_t ns)
{
	/* Go's time.Duration.String() for durations of a second or more. */
	int64_t s = ns / 1000000000, frac = ns % 1000000000, h = s / 3600, m = s / 60 % 60;
	char f[16];
	int n = snprintf(f, sizeof(f), ".%09lld", (long long)frac);

	while (n > 1 && f[n - 1] == '0')
		f[--n] = 0;
	if (n == 1)
		f[0] = 0;
	if (h)
		buf_printf(b, "%lldh%lldm%lld%ss", (long long)h, (long long)m, (long long)(s % 60), f);
	else if (m)
		buf_printf(b, "%lldm%lld%ss", (long long)m, (long long)(s % 60), f);
	else
		buf_printf(b, "%lld%ss", (long long)s, f);
}

static void stats_self(struct conn *c)
{
	struct kv *kv = c->api->kv;
	const struct kv_member *self = kv_member_find(kv, kv->id);
	struct buf b = BUF_INIT;

	buf_puts(&b, "{\"name\":");
	json_quote(&b, self->name, strlen(self->name));
	buf_printf(&b, ",\"id\":\"%" PRIx64 "\",\"state\":\"%s\",\"startTime\":\"", kv->id,
		   state_name(kv->raft.role));
	rfc3339(&b, kv->start_ns);
	buf_printf(&b, "\",\"leaderInfo\":{\"leader\":\"%" PRIx64 "\",\"uptime\":\"", kv->raft.leader);
	duration(&b, kv->leader_since_ns ? kv_now_ns() - kv->leader_since_ns : 0);
	buf_puts(&b, "\",\"startTime\":\"");
	rfc3339(&b, kv->leader_since_ns ? kv->leader_since_ns : kv->start_ns);
	buf_printf(&b, "\"},\"recvAppendRequestCnt\":%" PRIu64 ",\"sendAppendRequestCnt\":%" PRIu64 "}",
		   kv->stats.recv_append, kv->stats.send_append);
	respond(c, 200, "Content-Type: " JSON "\r\n", NULL, b.data, b.len);
	buf_free(&b);
}

static void stats_leader(struct conn *c)
{
	struct kv *kv = c->api->kv;
	struct buf b = BUF_INIT;
	bool first = true;

	if (kv->raft.role != RAFT_LEADER) {
		const char *msg = "{\"message\":\"not current leader\"}";

		respond(c, 403, "Content-Type: " JSON "\r\n", NULL, msg, strlen(msg));
		return;
	}
	buf_printf(&b, "{\"leader\":\"%" PRIx64 "\",\"followers\":{", kv->id);
	for (size_t i = 0; i < kv->raft.nprs; i++) {
		const struct raft_progress *p = &kv->raft.prs[i];

		if (p->id == kv->id)
			continue;
		buf_printf(&b, "%s\"%" PRIx64 "\":{\"latency\":{},\"counts\":{\"match\":%" PRIu64 "}}",
			   first ? "" : ",", p->id, p->match);
		first = false;
	}
	buf_puts(&b, "}}");
	respond(c, 200, "Content-Type: " JSON "\r\n", NULL, b.data, b.len);
	buf_free(&b);
}

static void stats_store(struct conn *c)
{
	struct kv *kv = c->api->kv;
	const struct store_stats *s = &kv->store.stats;
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"getsSuccess\":%" PRIu64 ",\"getsFail\":%" PRIu64 ",\"setsSuccess\":%" PRIu64
		   ",\"setsFail\":%" PRIu64 ",\"deleteSuccess\":%" PRIu64 ",\"deleteFail\":%" PRIu64
		   ",\"updateSuccess\":%" PRIu64 ",\"updateFail\":%" PRIu64 ",\"createSuccess\":%" PRIu64
		   ",\"createFail\":%" PRIu64 ",\"compareAndSwapSuccess\":%" PRIu64
		   ",\"compareAndSwapFail\":%" PRIu64 ",\"compareAndDeleteSuccess\":%" PRIu64
		   ",\"compareAndDeleteFail\":%" PRIu64 ",\"expireCount\":%" PRIu64 ",\"watchers\":%u}",
		   s->gets_ok, s->gets_fail, s->sets_ok, s->sets_fail, s->deletes_ok, s->deletes_fail,
		   s->updates_ok, s->updates_fail, s->creates_ok, s->creates_fail, s->cas_ok, s->cas_fail,
		   s->cad_ok, s->cad_fail, s->expires, c->api->nwatchers);
	respond(c, 200, "Content-Type: " JSON "\r\n", NULL, b.data, b.len);
	buf_free(&b);
}

static void members(struct conn *c, bool leader_only)
{
	struct kv *kv = c->api->kv;
	struct buf b = BUF_INIT, f = BUF_INIT;

	if (leader_only) {
		const struct kv_member *m = kv_member_find(kv, kv->raft.leader);

		if (!m) {
			const char *msg = "{\"message\":\"During election\"}\n";

			buf_printf(&f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\n", kv->cluster_id);
			respond(c, 503, f.data, NULL, msg, strlen(msg));
			buf_free(&f);
			return;
		}
		kv_member_json(m, &b);
	} else {
		buf_puts(&b, "{\"members\":[");
		for (size_t i = 0; i < kv->nmembers; i++) {
			if (i)
				buf_puts(&b, ",");
			kv_member_json(&kv->members[i], &b);
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "\n");
	buf_printf(&f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\n", kv->cluster_id);
	respond(c, 200, f.data, NULL, b.data, b.len);
	buf_free(&f);
	buf_free(&b);
}

/* --- /v2/members: adding, removing and moving members ------------------------------- */

/* {"message":"..."}, as etcd's members handler writes its errors. */
static void respond_message(struct conn *c, int status, const char *msg)
{
	struct buf f = BUF_INIT, b = BUF_INIT;

	buf_printf(&f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\n", c->api->kv->cluster_id);
	buf_puts(&b, "{\"message\":");
	json_quote(&b, msg, strlen(msg));
	buf_puts(&b, "}");
	respond(c, status, f.data, NULL, b.data, b.len);
	buf_free(&f);
	buf_free(&b);
}

static void member_changed(struct kv *kv, struct kv_waiter *w, const struct kv_result *res)
{
	struct conn *c = w->arg;
	const struct kv_member *m = kv_member_find(kv, c->member);

	if (res->code) {
		respond_message(c, 500, "Internal Server Error");
	} else if (c->member_added && m) {
		struct buf f = BUF_INIT, b = BUF_INIT;

		kv_member_json(m, &b);
		buf_puts(&b, "\n");
		buf_printf(&f, "Content-Type: " JSON "\r\nX-Etcd-Cluster-Id: %" PRIx64 "\r\n", kv->cluster_id);
		respond(c, 201, f.data, NULL, b.data, b.len);
		buf_free(&f);
		buf_free(&b);
	} else if (c->member_added) {
		respond_message(c, 500, "Internal Server Error");
	} else {
		/* 204 has no body and, from Go's server, no Content-Length. */
		buf_printf(&c->out, "HTTP/1.1 204 No Content\r\n" CORS "X-Etcd-Cluster-Id: %" PRIx64 "\r\n",
			   kv->cluster_id);
		date_field(&c->out);
		if (!c->p->keep_alive) {
			buf_puts(&c->out, "Connection: close\r\n");
			c->closing = true;
		}
		buf_puts(&c->out, "\r\n");
	}
	request_done(c);
}

/* The media type application/json, parameters allowed; else 415 as etcd. */
static bool json_body(struct conn *c)
{
	const char *ct = http_header_get(c->p, "Content-Type");
	size_t n = ct ? strcspn(ct, ";") : 0;
	char msg[600];

	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (ct && n == 16 && !strncasecmp(ct, "application/json", 16))
		return true;
	snprintf(msg, sizeof(msg), "Bad Content-Type %.500s, accept application/json", ct ? ct : "");
	respond_message(c, 415, msg);
	return false;
}

/*
 * etcd's strict reconfiguration checks, which keep a change from costing
 * the cluster its quorum. A member counts as started once it has
 * published its name, and as connected once this member's connection to
 * it has been up for API_HEALTH_MS. Adding needs a quorum of started
 * members after the change (or a second member for a first) and every
 * other member connected; removing a member that is down is always
 * allowed, otherwise the members left must hold a quorum of connected
 * ones.
 */
static bool connected(struct kv *kv, uint64_t id, uint64_t now)
{
	uint64_t since = kv_peer_active_since(kv, id);

	return id == kv->id || (since && since + API_HEALTH_MS <= now);
}

static bool may_add(struct kv *kv)
{
	size_t members = 1, started = 0;
	uint64_t now = loop_now_ms();

	for (size_t i = 0; i < kv->nmembers; i++) {
		members++;
		started += kv->members[i].name[0] != 0;
	}
	if (started < members / 2 + 1 && !(members == 2 && started == 1))
		return false;
	for (size_t i = 0; i < kv->nmembers; i++)
		if (!connected(kv, kv->members[i].id, now))
			return false;
	return true;
}

static bool may_remove(struct kv *kv, uint64_t id)
{
	size_t members = 0, started = 0, active = 0;
	uint64_t now = loop_now_ms();

	for (size_t i = 0; i < kv->nmembers; i++) {
		if (kv->members[i].id == id)
			continue;
		members++;
		started += kv->members[i].name[0] != 0;
	}
	if (started < members / 2 + 1)
		return false;
	if (id != kv->id && !kv_peer_active_since(kv, id))
		return true;
	for (size_t i = 0; i < kv->nmembers; i++)
		active += connected(kv, kv->members[i].id, now);
	return active - 1 >= 1 + (kv->nmembers - 1) / 2;
}

/* Is one of these URLs a peer URL of a member other than except? */
static bool peer_url_taken(const struct kv *kv, const struct kv_url *u, size_t n, uint64_t except)
{
	for (size_t i = 0; i < kv->nmembers; i++)
		for (size_t j = 0; j < kv->members[i].npeer && kv->members[i].id != except; j++)
			for (size_t k = 0; k < n; k++)
				if (!strcmp(kv->members[i].peer[j].text, u[k].text))
					return true;
	return false;
}

/* A member ID in a path, as Go's strconv.ParseUint(s, 16, 64) reads it. */
static bool member_id_parse(const char *s, uint64_t *id)
{
	*id = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = isdigit((unsigned char)*s) ? *s - '0' :
			isxdigit((unsigned char)*s) ? tolower((unsigned char)*s) - 'a' + 10 : -1;

		if (d < 0 || *id >> 60)
			return false;
		*id = *id << 4 | (uint64_t)d;
	}
	return true;
}

/* POST /v2/members (any path below it: etcd reads none), DELETE and PUT
 * /v2/members/<id>. */
static void member_change(struct conn *c, const char *id_text)
{
	struct kv *kv = c->api->kv;
	struct kv_cmd cmd = { .kind = KV_CMD_MEMBER };
	struct kv_url u[KV_URLS_MAX];
	size_t n = 0;
	char urls[KV_URLS_MAX * KV_URL_MAX] = "", msg[sizeof(((struct err *)0)->msg) + 64];
	struct err e = { 0 };
	bool post = !strcmp(c->p->method, "POST"), del = !strcmp(c->p->method, "DELETE");
	uint64_t id = 0;

	if (!post && !*id_text)
		return not_allowed(c, NULL, true);
	if (!del) {
		if (!json_body(c))
			return;
		if (kv_member_req_parse(c->body.data ? c->body.data : "", c->body.len, u, &n, &e) < 0)
			return respond_message(c, 400, e.msg);
		kv_urls_join(u, n, urls, sizeof(urls));
	}
	/* etcd's order: its strict checks, then what the change is checked
	 * against when it is applied. */
	if (!post && !member_id_parse(id_text, &id))
		id = RAFT_NONE;
	if ((post && (kv->nmembers == RAFT_MEMBERS_MAX || !may_add(kv))) || (del && !may_remove(kv, id)))
		return respond_message(c, 500, "Internal Server Error");
	if (!post && !kv_member_find(kv, id)) {
		snprintf(msg, sizeof(msg), "No such member: %s", id_text);
		return respond_message(c, 404, msg);
	}
	if (!del && peer_url_taken(kv, u, n, id))
		return respond_message(c, 409, "membership: peerURL exists");
	if (post) {
		id = kv_member_id_new(u, n, kv->cfg.token, kv_now_ns());
		if (kv_member_find(kv, id))
			return respond_message(c, 409, "membership: ID exists");
	}
	cmd.member_op = post ? KV_MEMBER_ADD : del ? KV_MEMBER_REMOVE : KV_MEMBER_UPDATE;
	cmd.member = id;
	cmd.peer_urls = urls;
	c->member = id;
	c->member_added = post;
	submit_to(c, &cmd, member_changed);
}

static void machines(struct conn *c)
{
	struct kv *kv = c->api->kv;
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < kv->nmembers; i++)
		for (size_t j = 0; j < kv->members[i].nclient; j++)
			buf_printf(&b, "%s%s", b.len ? ", " : "", kv->members[i].client[j]);
	respond(c, 200, NULL, TEXT, b.data ? b.data : "", b.len);
	buf_free(&b);
}

static void route(struct conn *c)
{
	struct kv *kv = c->api->kv;
	const char *m = c->p->method, *t = http_request_target(c->p);
	char path[256];
	bool get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD");
	struct buf location = BUF_INIT;
	int r = v2_path_check(t, &location);

	if (r == V2_BAD_TARGET) {
		/* Go's server refuses the request line itself: no handler, no CORS. */
		buf_puts(&c->out, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Connection: close\r\n\r\n400 Bad Request");
		c->closing = true;
		buf_free(&location);
		return;
	}
	/* etcd's CORS handler answers OPTIONS before ServeMux sees the path. */
	if (!strcmp(m, "OPTIONS")) {
		buf_free(&location);
		return respond(c, 200, NULL, NULL, "", 0);
	}
	if (r == V2_REDIRECT) {
		redirect(c, location.data);
		buf_free(&location);
		return;
	}
	buf_free(&location);
	if (!strncmp(t, "/v2/keys", 8) && (t[8] == 0 || t[8] == '/' || t[8] == '?'))
		return keys(c, c->body.data, c->body.len);
	if (http_path_decode(t, path, sizeof(path)) < 0)
		return not_found(c);
	if (!strcmp(path, "/version")) {
		const char *v = "{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}";

		if (!get)
			return not_allowed(c, "GET", false);
		return respond(c, 200, "Content-Type: " JSON "\r\n", NULL, v, strlen(v));
	}
	if (!strcmp(path, "/health")) {
		bool ok = kv->raft.leader != RAFT_NONE;
		const char *v = ok ? "{\"health\":\"true\"}" : "{\"health\":\"false\"}";

		if (!get)
			return not_allowed(c, "GET", false);
		return respond(c, ok ? 200 : 503, NULL, TEXT, v, strlen(v));
	}
	if (!strcmp(path, "/v2/members") || !strncmp(path, "/v2/members/", 12)) {
		const char *rest = path[11] ? path + 12 : "";

		if (!get && strcmp(m, "POST") && strcmp(m, "DELETE") && strcmp(m, "PUT"))
			return not_allowed(c, "GET,POST,DELETE,PUT", false);
		if (!get) {
			auth_read(kv);
			return member_change(c, rest);
		}
		if (!*rest || !strcmp(rest, "leader"))
			return members(c, *rest != 0);
		return respond_message(c, 404, "Not found");
	}
	if (!strncmp(path, "/v2/stats/", 10)) {
		const char *which = path + 10;

		if (strcmp(which, "self") && strcmp(which, "leader") && strcmp(which, "store"))
			return not_found(c);
		if (!get)
			return not_allowed(c, "GET", false);
		return !strcmp(which, "self") ? stats_self(c) :
		       !strcmp(which, "leader") ? stats_leader(c) : stats_store(c);
	}
	if (!strcmp(path, "/v2/machines")) {
		if (!get && !head)
			return not_allowed(c, "GET,HEAD", false);
		c->head = head;
		return machines(c);
	}
	if (!strncmp(path, "/v3/", 4))
		return respond_text(c, 404, "Not Found\n");
	not_found(c);
}

/* --- connections ------------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	struct api *a = c->api;

	if (c->resume)
		for (struct conn **pp = &a->resume; *pp; pp = &(*pp)->rnext)
			if (*pp == c) {
				*pp = c->rnext;
				break;
			}

	if (c->watching)
		watch_unlink(c);
	else if (c->waiting)
		kv_cancel(a->kv, &c->w);
	for (struct conn **pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->nconns--;
	loop_io_del(a->kv->loop, &c->io);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->body);
	buf_free(&c->out);
	free(c->p);
	free(c);
}

/*
 * A write to /v2/keys with a body over API_BODY_MAX, answered as etcd
 * answers it, without reading the body: a form longer than Go's ParseForm
 * reads is 400, error 210 "http: POST too large"; a shorter body (or one
 * whose length is not given) holds a value over STORE_VALUE_MAX, worded as
 * etcd's request size limit words it (docs/kv.md). false: not such a write.
 */
static bool too_large(struct conn *c)
{
	const char *t = http_request_target(c->p), *ct = http_header_get(c->p, "Content-Type");
	size_t ctlen = ct ? strcspn(ct, "; \t") : 0;
	bool form = ctlen == 33 && !strncasecmp(ct, "application/x-www-form-urlencoded", 33);

	if ((strcmp(c->p->method, "PUT") && strcmp(c->p->method, "POST")) || !t ||
	    strncmp(t, "/v2/keys", 8) || (t[8] && t[8] != '/' && t[8] != '?'))
		return false;
	c->closing = true;
	if (form && c->p->framing == HTTP_BODY_LENGTH && c->p->content_length > API_FORM_MAX) {
		respond_error(c, STORE_EINVALIDFORM, "http: POST too large", 0);
	} else {
		/* The form parsed, as far as etcd goes. */
		auth_read(c->api->kv);
		respond_error(c, STORE_ERAFTINTERNAL, "etcdserver: request is too large", 0);
	}
	return true;
}

static struct http_parser *parser_new(void)
{
	struct http_parser *p = malloc(sizeof(*p));

	if (p) {
		http_parser_init(p, HTTP_REQUEST);
		p->body_max = API_BODY_MAX;
	}
	return p;
}

static void conn_parse(struct conn *c)
{
	bool paused;

again:
	while (!c->waiting && !c->closing && c->out.len <= API_OUT_PAUSE &&
	       (c->in.len || (c->p && (c->p->event == HTTP_EV_HEAD || c->p->event == HTTP_EV_BODY)))) {
		size_t n;

		if (!c->p && !(c->p = parser_new())) {
			c->closing = true;
			break;
		}
		n = http_parse(c->p, c->in.data, c->in.len);

		/* A body slice points into c->in: take it before consuming. */
		if (c->p->event == HTTP_EV_BODY && buf_append(&c->body, c->p->body, c->p->body_len) < 0) {
			c->closing = true;
			respond_text(c, 503, "out of memory\n");
		}
		buf_consume(&c->in, n);
		switch (c->p->event) {
		case HTTP_EV_HEAD:
			buf_reset(&c->body);
			if (c->p->expect_continue)
				buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			break;
		case HTTP_EV_DONE:
			c->head = false;
			c->in_route = true;
			route(c);
			c->in_route = false;
			if (c->watching) {
				free(c->p);
				c->p = NULL;
			} else if (!c->waiting) {
				http_parser_reset(c->p);
			}
			/* On to a pipelined request already read, if any. */
			continue;
		case HTTP_EV_ERROR:
			c->p->keep_alive = false;
			if (c->p->error == 413 && too_large(c))
				break;
			respond_text(c, c->p->error, c->p->error == 413 ? "request body too large\n" :
				     "bad request\n");
			c->closing = true;
			break;
		default:
			break;
		}
		if (c->p->event == HTTP_EV_NONE)
			break;
	}
	/* Held back by the backlog, which the socket has just taken: go on
	 * (nothing else would, with the requests already read). */
	paused = c->out.len > API_OUT_PAUSE;
	want_write(c);
	if (paused && c->out.len <= API_OUT_PAUSE)
		goto again;
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (events & EPOLLOUT) {
		while (c->out.len) {
			ssize_t n = send(fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				return conn_close(c);
			}
			buf_consume(&c->out, (size_t)n);
		}
		if (!c->out.len && c->closing)
			return conn_close(c);
		/* Requests held back while the client was not reading. */
		if (c->out.len <= API_OUT_PAUSE)
			conn_parse(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char chunk[65536];
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return conn_close(c);
		if (n > 0) {
			/* Not reached while reading pauses past API_IN_PAUSE; a bound all the same. */
			if (c->in.len > 2 * API_BODY_MAX)
				return conn_close(c);
			buf_append(&c->in, chunk, (size_t)n);
			conn_parse(c);
		}
	}
	want_write(c);
	if (!c->out.len && c->closing && !c->waiting)
		return conn_close(c);
}

/* The listeners watched (events EPOLLIN) or not (0). */
static void accept_watch(struct api *a, uint32_t events)
{
	for (size_t i = 0; i < a->nfds; i++)
		loop_io_mod(a->kv->loop, &a->ios[i], events);
}

static void accept_resume(struct loop *l, void *arg)
{
	accept_watch(arg, EPOLLIN);
}

/* Past API_CONN_MAX: a clear answer rather than a bare reset. What the
 * client has sent is read first, so that closing does not reset the
 * connection before the answer is read. */
static void refuse(int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
				   "Connection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n";
	char sink[4096];

	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void accept_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct api *a = arg;

	for (int k = 0; k < 64; k++) {
		int one = 1, cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (cfd < 0) {
			/* Out of descriptors: the listener would stay readable
			 * and the loop spin; wait for connections to close. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				accept_watch(a, 0);
				loop_timer_set(l, &a->accept_timer, API_ACCEPT_PAUSE_MS, accept_resume, a);
			}
			return;
		}
		if (a->nconns >= API_CONN_MAX) {
			refuse(cfd);
			continue;
		}
		if (!(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->api = a;
		c->fd = cfd;
		if (loop_io_add(l, &c->io, cfd, EPOLLIN, conn_event, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		c->next = a->conns;
		a->conns = c;
		a->nconns++;
	}
}

struct api *kv_api_start(struct kv *kv, struct err *e)
{
	struct api *a = calloc(1, sizeof(*a));
	struct rlimit rl;

	if (!a)
		return NULL;
	a->kv = kv;
	/* Room for API_CONN_MAX clients, as far as the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < API_CONN_MAX + API_FD_SPARE) {
		rl.rlim_cur = rl.rlim_max < API_CONN_MAX + API_FD_SPARE ? rl.rlim_max : API_CONN_MAX + API_FD_SPARE;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	kv->store.on_event = watch_event;
	kv->store.on_event_arg = a;
	for (size_t i = 0; i < kv->cfg.nlisten_client; i++) {
		const struct kv_url *u = &kv->cfg.listen_client[i];
		struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(u->port) };
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(u->port) };
		bool v4 = inet_pton(AF_INET, u->host, &a4.sin_addr) == 1;
		int one = 1, fd;

		if (u->tls) {
			err_set(e, 0, "--listen-client-urls %s: https is served by the control port, not here",
				u->text);
			goto fail;
		}
		if (!v4)
			inet_pton(AF_INET6, u->host, &a6.sin6_addr);
		fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, v4 ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6,
			 v4 ? sizeof(a4) : sizeof(a6)) < 0 || listen(fd, 1024) < 0) {
			err_set(e, 0, "listen on %s: %s", u->text, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		a->fds[a->nfds] = fd;
		if (loop_io_add(kv->loop, &a->ios[a->nfds], fd, EPOLLIN, accept_ready, a) < 0) {
			close(fd);
			goto fail;
		}
		a->nfds++;
	}
	return a;
fail:
	kv_api_stop(a);
	return NULL;
}

void kv_api_stop(struct api *a)
{
	if (!a)
		return;
	loop_timer_cancel(a->kv->loop, &a->resume_timer);
	loop_timer_cancel(a->kv->loop, &a->accept_timer);
	a->kv->store.on_event = NULL;
	while (a->conns)
		conn_close(a->conns);
	for (size_t i = 0; i < a->nfds; i++) {
		loop_io_del(a->kv->loop, &a->ios[i]);
		close(a->fds[i]);
	}
	free(a);
}
