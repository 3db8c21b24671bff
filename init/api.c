#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_conn.h"
#include "json.h"

static void pump_followers(struct api *a);

/* --- responses ---------------------------------------------------------- */

void api_respond(struct conn *c, int status, const char *type, const struct buf *body)
{
	struct http_response_head h = {
		.status = status,
		.content_type = type,
		.length = body ? (int64_t)body->len : 0,
		.conn = c->closing || !c->p.keep_alive ? HTTP_CONN_CLOSE : HTTP_CONN_DEFAULT,
	};

	if (h.conn == HTTP_CONN_CLOSE)
		c->closing = true;
	if (http_response_head_append(&c->out, &h) < 0 ||
	    (body && buf_append(&c->out, body->data, body->len) < 0))
		c->closing = true;
	api_conn_want_write(c);
}

void api_respond_doc(struct conn *c, int status, struct json *j, struct buf *b)
{
	if (json_end(j) < 0) {
		buf_free(b);
		return api_respond_error(c, 503, "out of memory");
	}
	buf_puts(b, "\n");
	api_respond_json(c, status, b);
}

void api_respond_json(struct conn *c, int status, struct buf *b)
{
	api_respond(c, status, "application/json", b);
	buf_free(b);
}

void api_respond_error(struct conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void api_respond_error(struct conn *c, int status, const char *fmt, ...)
{
	char msg[512];
	struct buf b = BUF_INIT;
	struct json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "error");
	json_str(&j, msg);
	json_obj_end(&j);
	json_end(&j);
	buf_puts(&b, "\n");
	api_respond_json(c, status, &b);
}

/* --- the journal -------------------------------------------------------- */

static void entry_json(struct buf *b, const struct journal_entry *e)
{
	char boot[17];
	struct json j;

	json_init(&j, b, false);
	json_obj_begin(&j);
	json_key(&j, "seq");
	json_uint(&j, e->seq);
	json_key(&j, "realtime_usec");
	json_uint(&j, e->realtime_usec);
	json_key(&j, "monotonic_usec");
	json_uint(&j, e->monotonic_usec);
	snprintf(boot, sizeof(boot), "%016llx", (unsigned long long)e->boot_id);
	json_key(&j, "boot_id");
	json_str(&j, boot);
	json_key(&j, "unit");
	json_str(&j, e->unit);
	json_key(&j, "pid");
	json_int(&j, e->pid);
	json_key(&j, "priority");
	json_int(&j, e->priority);
	json_key(&j, "message");
	json_strn(&j, e->msg, e->msg_len);
	json_obj_end(&j);
	json_end(&j);
	buf_puts(b, "\n");
}

/* Move journal entries into c's response, as far as its buffer allows. */
static void journal_pump(struct conn *c)
{
	struct api *a = c->api;
	struct journal_entry e;
	struct buf line = BUF_INIT;

	bool exhausted = false;

	while (c->out.len < API_OUT_HIGH && c->lines_left != 0) {
		uint64_t lost = c->reader.lost;
		int r = journal_read_next(a->j, &c->reader, &c->filter, &e);

		if (c->reader.lost != lost) {
			buf_reset(&line);
			buf_printf(&line, "{\"lost\":%llu}\n", (unsigned long long)(c->reader.lost - lost));
			http_chunk_append(&c->out, line.data, line.len);
		}
		if (r <= 0) {
			exhausted = true;
			break;
		}
		buf_reset(&line);
		entry_json(&line, &e);
		if (http_chunk_append(&c->out, line.data, line.len) < 0) {
			c->closing = true;
			break;
		}
		if (c->lines_left > 0)
			c->lines_left--;
	}
	buf_free(&line);
	if (!c->follow && c->chunked && (c->lines_left == 0 || exhausted)) {
		/* A query ends when what it asked for is sent. */
		http_chunk_last_append(&c->out);
		c->chunked = false;
		if (!c->p.keep_alive)
			c->closing = true;
	}
	api_conn_want_write(c);
}

static uint64_t query_u64(const char *target, const char *name, uint64_t dflt, bool *bad)
{
	char v[32], *end;
	unsigned long long n;

	if (http_query_get(target, name, v, sizeof(v)) < 0)
		return dflt;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno)
		*bad = true;
	return n;
}

static unsigned followers(const struct api *a)
{
	unsigned n = 0;

	for (const struct conn *c = a->conns; c; c = c->next)
		n += c->follow && c->chunked && !c->dead;
	return n;
}

static void journal_query(struct conn *c)
{
	struct api *a = c->api;
	const char *t = http_request_target(&c->p);
	bool bad = false;
	uint64_t lines, prio;
	struct http_response_head h = { .status = 200, .content_type = "application/x-ndjson",
					.length = HTTP_LENGTH_CHUNKED };

	if (!a->j)
		return api_respond_error(c, 503, "The journal is not running.");
	if (query_u64(t, "follow", 0, &bad) && followers(a) >= API_FOLLOW_MAX)
		return api_respond_error(c, 503, "Too many journal followers (%d); try again later.",
					 API_FOLLOW_MAX);
	memset(&c->filter, 0, sizeof(c->filter));
	if (http_query_get(t, "unit", c->unit, sizeof(c->unit)) >= 0)
		c->filter.unit = c->unit;
	c->filter.since_usec = query_u64(t, "since", 0, &bad);
	c->filter.until_usec = query_u64(t, "until", 0, &bad);
	prio = query_u64(t, "priority", 7, &bad);
	lines = query_u64(t, "lines", UINT64_MAX, &bad);
	c->follow = query_u64(t, "follow", 0, &bad) != 0;
	if (bad || prio > 7)
		return api_respond_error(c, 400, "Bad query parameter.");
	c->filter.priorities = JOURNAL_PRIO_UPTO(prio);
	journal_reader_init(&c->reader);
	if (http_query_get(t, "cursor", (char[32]){ 0 }, 32) >= 0)
		c->reader.cursor = query_u64(t, "cursor", 0, &bad);
	else if (lines != UINT64_MAX)
		journal_reader_seek_tail(a->j, &c->reader, &c->filter, (size_t)lines);
	c->lines_left = c->follow || lines == UINT64_MAX ? -1 : (int64_t)lines;
	h.conn = c->p.keep_alive && !c->follow ? HTTP_CONN_DEFAULT : HTTP_CONN_CLOSE;
	if (http_response_head_append(&c->out, &h) < 0)
		return api_conn_close(c);
	c->chunked = true;
	journal_pump(c);
}

static void pump_fire(struct loop *l, void *arg)
{
	struct api *a = arg;

	a->pump_armed = false;
	pump_followers(a);
}

static void pump_followers(struct api *a)
{
	for (struct conn *c = a->conns; c; c = c->next)
		if (c->follow && c->chunked && !c->dead)
			journal_pump(c);
}

/* After every append: wake the followers from the loop, not from inside
 * journal_append (which may run in the middle of anything). */
static void journal_woke(struct journal *j, const struct journal_entry *e, void *arg)
{
	struct api *a = arg;

	if (!a->pump_armed) {
		a->pump_armed = true;
		loop_timer_set(a->loop, &a->pump, 0, pump_fire, a);
	}
}

/* --- routing ------------------------------------------------------------ */

static void route(struct conn *c)
{
	struct manager *m = c->api->m;
	const char *method = c->p.method;
	char path[1024], name[UNIT_NAME_MAX + 1], rest[64];
	struct mu *u;
	const char *p, *slash;
	int r;

	if (http_path_decode(http_request_target(&c->p), path, sizeof(path)) < 0)
		return api_respond_error(c, 400, "Bad request target.");
	if (!strcmp(path, "/v1/units") || !strcmp(path, "/v1/units/")) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		return api_units_list(c);
	}
	if (!strcmp(path, "/v1/unit-files")) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		return api_unit_files_list(c);
	}
	if (!strcmp(path, "/v1/daemon-reload")) {
		struct buf b = BUF_INIT;

		if (strcmp(method, "POST"))
			return api_respond_error(c, 405, "Use POST.");
		manager_daemon_reload(m);
		buf_printf(&b, "{\"units\":%zu}\n", m->nunits);
		return api_respond_json(c, 200, &b);
	}
	if (!strcmp(path, "/v1/journal")) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		return journal_query(c);
	}
	if (!strcmp(path, "/v1/metrics")) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		return api_metrics(c);
	}
	if (!strcmp(path, "/v1/machine/reboot") || !strcmp(path, "/v1/machine/poweroff")) {
		if (strcmp(method, "POST"))
			return api_respond_error(c, 405, "Use POST.");
		return api_machine_power(c, path + 12);
	}
	if (strncmp(path, "/v1/units/", 10))
		return api_respond_error(c, 404, "No such route: %s", path);
	p = path + 10;
	slash = strchr(p, '/');
	snprintf(name, sizeof(name), "%.*s", (int)(slash ? (size_t)(slash - p) : strlen(p)), p);
	snprintf(rest, sizeof(rest), "%s", slash ? slash + 1 : "");
	if (!unit_name_is_valid(name))
		return api_respond_error(c, 400, "Invalid unit name: %s", name);
	if (!strcmp(rest, "file")) {
		if (!strcmp(method, "PUT"))
			return api_unit_file_put(c, name);
		if (!strcmp(method, "DELETE"))
			return api_unit_file_remove(c, name);
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET, PUT or DELETE.");
	}
	r = manager_unit_lookup(m, name, &u);
	if (r == -ENOENT)
		return api_unit_unknown(c, name, rest);
	if (r < 0)
		return api_respond_error(c, 503, "Unable to load %s.", name);
	if (!*rest) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		if (u->load == UNIT_NOT_FOUND && u->active == MU_INACTIVE && !u->job)
			return api_respond_error(c, 404, "Unit %s could not be found.", name);
		return api_unit_status(c, u);
	}
	if (!strcmp(rest, "file"))
		return api_unit_file_get(c, u);
	if (strcmp(method, "POST"))
		return api_respond_error(c, 405, "Use POST.");
	if (!strcmp(rest, "enable") || !strcmp(rest, "disable"))
		return api_unit_enable(c, u, rest[0] == 'e');
	if (u->load == UNIT_NOT_FOUND && strcmp(rest, "stop"))
		return api_respond_error(c, 404, "Unit %s not found.", name);
	api_unit_action(c, u, rest);
}

/* --- connections -------------------------------------------------------- */

void api_conn_close(struct conn *c)
{
	struct api *a = c->api;
	struct conn **pp;

	if (c->waiting) {
		/* The job's callback still holds c: it frees it. */
		if (!c->dead) {
			c->dead = true;
			loop_io_del(a->loop, &c->io);
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
	for (pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->nconns--;
	if (c->fd >= 0) {
		loop_io_del(a->loop, &c->io);
		close(c->fd);
	}
	buf_free(&c->in);
	buf_free(&c->body);
	buf_free(&c->out);
	free(c);
}

void api_conn_want_write(struct conn *c)
{
	if (c->fd >= 0 && !c->dead)
		loop_io_mod(c->api->loop, &c->io, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
}

/* Parse what has arrived; answer each complete request in turn. */
static void conn_parse(struct conn *c)
{
	/* After a head or a body slice the parser may finish the message
	 * without another byte, so it is called again even with none. */
	while ((c->in.len || c->p.event == HTTP_EV_HEAD || c->p.event == HTTP_EV_BODY) &&
	       !c->waiting && !c->chunked && !c->closing) {
		size_t n = http_parse(&c->p, c->in.data, c->in.len);

		switch (c->p.event) {
		case HTTP_EV_BODY:
			if (buf_append(&c->body, c->p.body, c->p.body_len) < 0) {
				c->closing = true;
				api_respond_error(c, 503, "out of memory");
			}
			break;
		case HTTP_EV_HEAD:
			if (c->p.expect_continue)
				buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			break;
		case HTTP_EV_DONE:
			buf_consume(&c->in, n);
			n = 0;
			route(c);
			buf_reset(&c->body);
			if (!c->chunked && !c->waiting)
				http_parser_reset(&c->p);
			break;
		case HTTP_EV_ERROR:
			c->closing = true;
			api_respond_error(c, c->p.error, "%s", c->p.reason ? c->p.reason : "bad request");
			break;
		default:
			break;
		}
		if (n)
			buf_consume(&c->in, n);
		if (c->p.event == HTTP_EV_NONE)
			break;
	}
	api_conn_want_write(c);
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (events & EPOLLOUT && c->out.len) {
		ssize_t n = send(fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return api_conn_close(c);
		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		if (c->follow && c->chunked)
			journal_pump(c);
		else if (c->chunked)
			journal_pump(c);
		if (!c->out.len && c->closing && !c->waiting)
			return api_conn_close(c);
		if (!c->out.len && !c->chunked && !c->waiting && !c->follow) {
			/* A finished journal query lets the next request through. */
			if (!http_parser_idle(&c->p) && c->p.event == HTTP_EV_DONE)
				http_parser_reset(&c->p);
			conn_parse(c);
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (c->waiting) {
				c->closing = true;
				return api_conn_close(c);
			}
			return api_conn_close(c);
		}
		if (n > 0) {
			if (c->in.len + (size_t)n > 2 * HTTP_HEADER_BYTES_MAX + API_BODY_MAX)
				return api_conn_close(c);
			buf_append(&c->in, chunk, (size_t)n);
			conn_parse(c);
		}
	}
	api_conn_want_write(c);
}

/* Read and drop what the client sent (a request head, at most a few
 * reads' worth), then close. */
static void refused_close(int fd)
{
	char drop[4096];

	for (int k = 0; k < 16 && recv(fd, drop, sizeof(drop), MSG_DONTWAIT) > 0; k++)
		;
	close(fd);
}

static void refused_expire(struct loop *l, void *arg)
{
	struct api *a = arg;
	uint64_t now = loop_now_ms();
	unsigned n = 0;

	while (n < a->nrefused && a->refused_until[n] <= now)
		refused_close(a->refused_fd[n++]);
	a->nrefused -= n;
	memmove(a->refused_fd, a->refused_fd + n, a->nrefused * sizeof(a->refused_fd[0]));
	memmove(a->refused_until, a->refused_until + n, a->nrefused * sizeof(a->refused_until[0]));
	if (a->nrefused)
		loop_timer_set(l, &a->refused_timer, a->refused_until[0] - now, refused_expire, a);
}

/* Past API_CONN_MAX: the answer goes into the socket's empty buffer
 * without waiting, whatever the client sent or will send. */
static void refuse_busy(struct api *a, int fd)
{
	static const char busy[] =
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		"Content-Length: 60\r\nConnection: close\r\n\r\n"
		"{\"error\":\"Too many API connections (64); try again later.\"}\n";
	_Static_assert(API_CONN_MAX == 64, "the message names the limit");

	if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ||
	    a->nrefused == API_REFUSED_MAX)
		return refused_close(fd);
	shutdown(fd, SHUT_WR);
	a->refused_fd[a->nrefused] = fd;
	a->refused_until[a->nrefused] = loop_now_ms() + API_REFUSED_LINGER_MS;
	if (!a->nrefused++)
		loop_timer_set(a->loop, &a->refused_timer, API_REFUSED_LINGER_MS, refused_expire, a);
}

static void accept_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct api *a = arg;

	for (int k = 0; k < 16; k++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;
		/* The socket's mode already keeps others out; check anyway. */
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
			close(cfd);
			continue;
		}
		if (a->nconns >= API_CONN_MAX) {
			refuse_busy(a, cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->api = a;
		c->fd = cfd;
		http_parser_init(&c->p, HTTP_REQUEST);
		c->p.body_max = API_BODY_MAX;
		if (loop_io_add(l, &c->io, cfd, EPOLLIN, conn_event, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = a->conns;
		a->conns = c;
		a->nconns++;
	}
}

struct api *api_start(struct loop *l, struct manager *m, struct journal *j, const char *path,
		      int *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *a = calloc(1, sizeof(*a));
	mode_t old;

	*r = -ENOMEM;
	if (!a)
		return NULL;
	*r = -ENAMETOOLONG;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= sizeof(sa.sun_path))
		goto fail;
	a->loop = l;
	a->m = m;
	a->j = j;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		*r = -errno;
		goto fail;
	}
	unlink(path);
	/* Only root: the socket is made with mode 0600. */
	old = umask(0177);
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(a->fd, 64) < 0) {
		*r = -errno;
		umask(old);
		close(a->fd);
		goto fail;
	}
	umask(old);
	*r = loop_io_add(l, &a->io, a->fd, EPOLLIN, accept_ready, a);
	if (*r < 0) {
		close(a->fd);
		goto fail;
	}
	if (j)
		journal_set_notify(j, journal_woke, a);
	*r = 0;
	return a;
fail:
	free(a);
	return NULL;
}

void api_set_power(struct api *a, api_power_fn *fn, void *arg)
{
	a->power = fn;
	a->power_arg = arg;
}
