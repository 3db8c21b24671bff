/* The KV client's transport against a server in the same loop that
 * answers whatever each test gives it: bad answers become errors (never a
 * crash), a silent server a timeout, a refused endpoint a failover, a watch
 * whose stream goes bad connects again, and the client may be closed from
 * its own callback. Real stores are tests/api/test_kvc.py's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kvc.h"
#include "loop.h"

/* --- the canned server --------------------------------------------------------- */

#define CONNS_MAX 16

struct canned {
	struct loop *l;
	int lfd;
	unsigned port;
	struct loop_io lio;
	const char *answer;	/* NULL: never answer */
	size_t answer_len;
	unsigned requests;	/* complete requests seen */
	bool keep_open;		/* answer without closing the connection */
	const char *hold;	/* a request holding this is never answered */
	char last[4096];	/* the last complete request */
	struct {
		int fd;
		struct loop_io io;
		char in[4096];
		size_t len;
		bool answered;
	} c[CONNS_MAX];
};

static bool request_complete(const char *s, size_t n)
{
	const char *end = memmem(s, n, "\r\n\r\n", 4);
	const char *cl;
	size_t head;

	if (!end)
		return false;
	head = (size_t)(end - s) + 4;
	cl = memmem(s, head, "Content-Length: ", 16);
	return !cl || n >= head + strtoul(cl + 16, NULL, 10);
}

static void conn_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct canned *s = arg;
	unsigned i;
	ssize_t n;

	for (i = 0; i < CONNS_MAX && s->c[i].fd != fd; i++)
		;
	assert_true(i < CONNS_MAX);
	n = read(fd, s->c[i].in + s->c[i].len, sizeof(s->c[i].in) - s->c[i].len - 1);
	if (n <= 0) {
		loop_io_del(l, &s->c[i].io);
		close(fd);
		s->c[i].fd = -1;
		return;
	}
	s->c[i].len += (size_t)n;
	if (s->c[i].answered || !request_complete(s->c[i].in, s->c[i].len))
		return;
	s->requests++;
	s->c[i].in[s->c[i].len] = 0;
	memcpy(s->last, s->c[i].in, s->c[i].len + 1);
	if (!s->answer || (s->hold && strstr(s->c[i].in, s->hold)))
		return;
	s->c[i].answered = true;
	assert_int_equal(write(fd, s->answer, s->answer_len), (ssize_t)s->answer_len);
	if (!s->keep_open)
		shutdown(fd, SHUT_WR);
}

static void accept_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct canned *s = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	unsigned i;

	if (c < 0)
		return;
	for (i = 0; i < CONNS_MAX && s->c[i].fd >= 0; i++)
		;
	assert_true(i < CONNS_MAX);
	memset(&s->c[i], 0, sizeof(s->c[i]));
	s->c[i].fd = c;
	assert_int_equal(loop_io_add(l, &s->c[i].io, c, EPOLLIN, conn_ready, s), 0);
}

/* A port below the ephemeral range, chosen at random, that is free. */
static int listen_random(unsigned *port)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

		*port = 20000 + (unsigned)(random() % 12000);
		a.sin_port = htons((uint16_t)*port);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

static void canned_start(struct canned *s, struct loop *l, const char *answer)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < CONNS_MAX; i++)
		s->c[i].fd = -1;
	s->l = l;
	s->answer = answer;
	s->answer_len = answer ? strlen(answer) : 0;
	s->lfd = listen_random(&s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(loop_io_add(l, &s->lio, s->lfd, EPOLLIN, accept_ready, s), 0);
}

static void canned_stop(struct canned *s)
{
	loop_io_del(s->l, &s->lio);
	close(s->lfd);
	for (unsigned i = 0; i < CONNS_MAX; i++)
		if (s->c[i].fd >= 0) {
			loop_io_del(s->l, &s->c[i].io);
			close(s->c[i].fd);
		}
}

/* --- the client ------------------------------------------------------------------ */

/* Set once a test closed the client: no callback may come after. */
static bool kv_closed;

struct call {
	bool done;
	enum kvc_status status;
	char msg[300];
	struct kvc *close_me;	/* closed from the callback */
};

static void on_done(void *arg, const struct kvc_result *r)
{
	struct call *c = arg;

	assert_false(kv_closed);
	assert_false(c->done);
	c->done = true;
	/* Closing first: the result stays readable for the whole callback. */
	if (c->close_me) {
		kvc_close(c->close_me);
		kv_closed = true;
	}
	c->status = r->status;
	snprintf(c->msg, sizeof(c->msg), "%s", r->msg);
	assert_true(r->status == KVC_OK || r->msg[0]);
	if (r->status == KVC_OK && r->n)
		assert_string_equal(r->kvs[0].value, "v");
}

static void run_until(struct loop *l, const bool *flag, unsigned ms)
{
	uint64_t end = loop_now_ms() + ms;

	while (!(flag && *flag) && loop_now_ms() < end)
		loop_run_once(l, 20);
}

static struct kvc *client(struct loop *l, enum kvc_backend b, const char *endpoints)
{
	struct kvc_config cfg = { .backend = b, .endpoints = endpoints, .timeout_ms = 500 };
	struct err e = { 0 };
	struct kvc *c;

	assert_int_equal(kvc_open(&c, l, &cfg, &e), 0);
	return c;
}

/* GET a key from a server that answers `answer`; the result's status. */
static enum kvc_status get_from(const char *answer, char *msg, size_t msglen)
{
	struct loop l;
	struct canned s;
	struct call c = { 0 };
	struct kvc *kv;
	char ep[64];

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, answer);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V2, ep);
	assert_int_equal(kvc_get(kv, "/k", on_done, &c, NULL), 0);
	run_until(&l, &c.done, 3000);
	assert_true(c.done);
	if (msg)
		snprintf(msg, msglen, "%s", c.msg);
	kvc_close(kv);
	canned_stop(&s);
	loop_close(&l);
	return c.status;
}

static void good_answer(void **state)
{
	assert_int_equal(get_from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Index: 3\r\n"
				  "Content-Length: 84\r\n\r\n{\"action\":\"get\",\"node\":{\"key\":\"/k\","
				  "\"value\":\"v\",\"modifiedIndex\":3,\"createdIndex\":3}}\n", NULL, 0), KVC_OK);
}

static void bad_answers_are_errors(void **state)
{
	static const struct {
		const char *answer;
		enum kvc_status status;
	} cases[] = {
		{ "SSH-2.0-OpenSSH_9.2\r\n", KVC_UNAVAILABLE },
		{ "", KVC_UNAVAILABLE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"action\"", KVC_UNAVAILABLE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", KVC_BAD_RESPONSE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", KVC_BAD_RESPONSE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", KVC_BAD_RESPONSE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n{\"node\":{\"value\":\"no key\"}}", KVC_BAD_RESPONSE },
		{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\n<html>", KVC_UNAVAILABLE },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", KVC_BAD_RESPONSE },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", KVC_BAD_RESPONSE },
	};
	char msg[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum kvc_status st = get_from(cases[i].answer, msg, sizeof(msg));

		if (st != cases[i].status)
			fail_msg("case %zu: %s (want %s): %s", i, kvc_status_name(st),
				 kvc_status_name(cases[i].status), msg);
	}
}

static void a_silent_server_times_out(void **state)
{
	char msg[300];

	assert_int_equal(get_from(NULL, msg, sizeof(msg)), KVC_TIMEOUT);
	assert_non_null(strstr(msg, "500 ms"));
}

static void a_refused_endpoint_fails_over(void **state)
{
	struct loop l;
	struct canned s, gone;
	struct call c = { 0 };
	struct kvc *kv;
	char ep[128];
	unsigned dead;

	assert_int_equal(loop_init(&l), 0);
	canned_start(&gone, &l, NULL);
	dead = gone.port;
	canned_stop(&gone);
	canned_start(&s, &l, "HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n{\"action\":\"get\",\"node\":"
		     "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":3,\"createdIndex\":3}}\n");
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u,http://127.0.0.1:%u", dead, s.port);
	kv = client(&l, KVC_V2, ep);
	assert_int_equal(kvc_get(kv, "/k", on_done, &c, NULL), 0);
	run_until(&l, &c.done, 3000);
	assert_int_equal(c.status, KVC_OK);
	assert_int_equal(s.requests, 1);
	kvc_close(kv);
	canned_stop(&s);
	loop_close(&l);
}

static unsigned watch_events, watch_ends;
static enum kvc_status watch_end;

static void on_event(void *arg, const struct kvc_event *ev, const struct kvc_result *end)
{
	assert_false(kv_closed);
	if (end) {
		watch_ends++;
		watch_end = end->status;
	} else {
		watch_events++;
	}
}

/* A v3 watch of "/p/" against a server answering `answer` (kept open when
 * keep_open), for ms; the requests the server saw. */
static unsigned v3_watch_against(const char *answer, bool keep_open, unsigned ms, char *last, size_t lastlen)
{
	struct loop l;
	struct canned s;
	struct kvc *kv;
	struct kvc_req *w;
	char ep[64];
	unsigned n;

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, answer);
	s.keep_open = keep_open;
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V3, ep);
	watch_events = watch_ends = 0;
	watch_end = KVC_OK;
	assert_int_equal(kvc_watch(kv, "/p/", 0, on_event, NULL, &w), 0);
	run_until(&l, NULL, ms);
	n = s.requests;
	if (last)
		snprintf(last, lastlen, "%s", s.last);
	if (!watch_ends)
		kvc_cancel(w);
	kvc_close(kv);
	canned_stop(&s);
	loop_close(&l);
	return n;
}

static void a_watch_whose_stream_goes_bad_connects_again(void **state)
{
	struct loop l;
	struct canned s;
	struct kvc *kv;
	struct kvc_req *w;
	char ep[64];

	assert_int_equal(loop_init(&l), 0);
	/* Well framed (15 bytes in a chunk of 15), and the connection kept
	 * open: only the splitter's refusal makes the watch connect again. */
	canned_start(&s, &l, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "f\r\n[not an object]\r\n");
	s.keep_open = true;
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V3, ep);
	watch_events = 0;
	assert_int_equal(kvc_watch(kv, "/p/", 0, on_event, NULL, &w), 0);
	run_until(&l, NULL, 1000);
	/* Tries at 0, 200 and 600 ms (the pause doubles): more than one, but
	 * no busy loop; and no event. */
	assert_in_range(s.requests, 2, 4);
	assert_int_equal(watch_events, 0);
	kvc_cancel(w);
	kvc_close(kv);
	canned_stop(&s);
	loop_close(&l);
}

static void closing_from_a_callback(void **state)
{
	struct loop l;
	struct canned s;
	struct call a = { 0 }, b = { 0 };
	struct kvc *kv;
	char ep[64];

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, "HTTP/1.1 404 Not Found\r\nContent-Length: 66\r\n\r\n"
		     "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/k\",\"index\":3}");
	s.hold = "wait=true";	/* the watch stays live through the close */
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V2, ep);
	a.close_me = kv;
	kv_closed = false;
	watch_ends = 0;
	assert_int_equal(kvc_watch(kv, "/k", 0, on_event, NULL, NULL), 0);
	assert_int_equal(kvc_get(kv, "/k", on_done, &a, NULL), 0);
	assert_int_equal(kvc_get(kv, "/j", on_done, &b, NULL), 0);
	run_until(&l, NULL, 700);
	assert_true(a.done);
	assert_int_equal(a.status, KVC_NOT_FOUND);
	assert_non_null(strstr(a.msg, "Key not found"));
	/* The watch never ended; the other request may have finished first.
	 * No callback came after the close (on_done and on_event check).
	 * Nothing leaks (the sanitizer checks). */
	assert_int_equal(watch_ends, 0);
	kv_closed = false;
	canned_stop(&s);
	loop_close(&l);
}

/* A callback that closes the client first still reads its result. */
static void a_result_outlives_a_close_in_its_callback(void **state)
{
	struct loop l;
	struct canned s;
	struct call a = { 0 };
	struct kvc *kv;
	char ep[64];

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, "HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n{\"action\":\"get\",\"node\":"
		     "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":3,\"createdIndex\":3}}\n");
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V2, ep);
	a.close_me = kv;
	kv_closed = false;
	assert_int_equal(kvc_get(kv, "/k", on_done, &a, NULL), 0);
	run_until(&l, &a.done, 3000);
	assert_true(a.done);
	assert_int_equal(a.status, KVC_OK);
	run_until(&l, NULL, 100);
	kv_closed = false;
	canned_stop(&s);
	loop_close(&l);
}

/* The program's own io callback (a signal through a signalfd, here a
 * pipe) closes the client while the same batch holds events for its
 * connections. */
static void close_on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	char ch;

	assert_int_equal(read(fd, &ch, 1), 1);
	kvc_close(arg);
	kv_closed = true;
}

static void closing_from_the_programs_io_callback(void **state)
{
	static const char good[] = "HTTP/1.1 200 OK\r\nContent-Length: 84\r\n\r\n{\"action\":\"get\",\"node\":"
				   "{\"key\":\"/k\",\"value\":\"v\",\"modifiedIndex\":3,\"createdIndex\":3}}\n";
	struct loop l;
	struct canned s;
	struct call a = { 0 }, b = { 0 };
	struct loop_io pio;
	struct kvc *kv;
	int p[2];
	char ep[64];

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, NULL);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", s.port);
	kv = client(&l, KVC_V2, ep);
	kv_closed = false;
	watch_ends = 0;
	assert_int_equal(kvc_get(kv, "/k", on_done, &a, NULL), 0);
	assert_int_equal(kvc_get(kv, "/j", on_done, &b, NULL), 0);
	assert_int_equal(kvc_watch(kv, "/k", 0, on_event, NULL, NULL), 0);
	for (uint64_t end = loop_now_ms() + 2000; s.requests < 3 && loop_now_ms() < end;)
		loop_run_once(&l, 20);
	assert_int_equal(s.requests, 3);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_io_add(&l, &pio, p[0], EPOLLIN, close_on_readable, kv), 0);
	/* The pipe first, then every connection: one batch, in that order. */
	assert_int_equal(write(p[1], "x", 1), 1);
	for (unsigned i = 0; i < CONNS_MAX; i++)
		if (s.c[i].fd >= 0)
			assert_int_equal(write(s.c[i].fd, good, strlen(good)), (ssize_t)strlen(good));
	usleep(20000);
	loop_run_once(&l, 100);
	assert_true(kv_closed);
	run_until(&l, NULL, 200);
	assert_false(a.done);
	assert_false(b.done);
	assert_int_equal(watch_events + watch_ends, 0);
	kv_closed = false;
	loop_io_del(&l, &pio);
	close(p[0]);
	close(p[1]);
	canned_stop(&s);
	loop_close(&l);
}

/* A v2 refresh is a write: a connection that breaks after it was sent
 * gives an unknown outcome, never a second refresh. */
static void a_v2_refresh_is_not_sent_again(void **state)
{
	struct loop l;
	struct canned s;
	struct call c = { 0 };
	struct kvc *kv;
	char ep[128];

	assert_int_equal(loop_init(&l), 0);
	canned_start(&s, &l, "");
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u,http://127.0.0.1:%u", s.port, s.port);
	kv = client(&l, KVC_V2, ep);
	kv_closed = false;
	assert_int_equal(kvc_refresh(kv, "/k", 10, on_done, &c, NULL), 0);
	run_until(&l, &c.done, 3000);
	assert_true(c.done);
	assert_int_equal(c.status, KVC_UNAVAILABLE);
	assert_non_null(strstr(c.msg, "outcome is unknown"));
	assert_int_equal(s.requests, 1);
	kvc_close(kv);
	canned_stop(&s);
	loop_close(&l);
}

static void a_v3_watch_error_body_is_bounded(void **state)
{
	/* Before the status is known nothing is unbounded: a 500 announcing
	 * more than KVC_BODY_MAX is refused at once, and the watch connects
	 * again (rather than reading it, or waiting for it). */
	unsigned n = v3_watch_against("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 99999999999\r\n\r\n",
				      true, 1000, NULL, 0);

	assert_in_range(n, 2, 4);
	assert_int_equal(watch_ends, 0);
}

static void a_refused_v3_watch_ends(void **state)
{
	static const char *const answers[] = {
		"HTTP/1.1 403 Forbidden\r\nContent-Length: 73\r\n\r\n"
		"{\"error\":\"etcdserver: permission denied\",\"code\":7,\"message\":\"permission\"}",
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"49\r\n{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"invalid auth token\"}}\r\n",
	};

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		unsigned n = v3_watch_against(answers[i], i == 2, 1000, NULL, 0);

		if (n != 1 || watch_ends != 1 || watch_end != KVC_REFUSED)
			fail_msg("case %zu: %u requests, %u ends, %s", i, n, watch_ends, kvc_status_name(watch_end));
	}
}

static void a_v3_watch_created_then_cancelled_backs_off(void **state)
{
	/* Each try: created, then cancelled. The pause still doubles (0,
	 * 200, 600 ms), not 200 ms each time. */
	unsigned n = v3_watch_against("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "35\r\n{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":true}}\r\n"
				      "36\r\n{\"result\":{\"header\":{\"revision\":\"7\"},\"canceled\":true}}\r\n",
				      true, 1000, NULL, 0);

	assert_in_range(n, 2, 4);
	assert_int_equal(watch_ends, 0);
}

/* A v3 watch asks for progress notifications, and a store that never
 * answers its head is given up after the request timeout (500 ms here). */
static void a_v3_watch_asks_for_progress_and_gives_up_a_silent_store(void **state)
{
	char last[4096];
	unsigned n = v3_watch_against(NULL, true, 1300, last, sizeof(last));

	assert_non_null(strstr(last, "\"progress_notify\":true"));
	assert_in_range(n, 2, 3);
}

static void endpoints_are_checked_when_opening(void **state)
{
	static const struct {
		const char *endpoints;
		int want;
	} cases[] = {
		{ "http://127.0.0.1:2379", 0 },
		{ "http://127.0.0.1:2379/,http://[::1]:2379, http://localhost", -EINVAL },	/* a space */
		{ "http://127.0.0.1:2379/,http://[::1]:2379,http://localhost", 0 },
		{ "http://127.0.0.1", 0 },
		{ "", -EINVAL },
		{ "ftp://127.0.0.1:21", -EINVAL },
		{ "http://etcd.example:2379", -EINVAL },
		{ "http://127.0.0.1:0", -EINVAL },
		{ "http://127.0.0.1:65536", -EINVAL },
		{ "http://127.0.0.1:2379/v2", -EINVAL },
		{ "http://[::1:2379", -EINVAL },
		{ "https://127.0.0.1:2379", -EINVAL },	/* no CA */
		{ "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3,http://127.0.0.1:4,"
		  "http://127.0.0.1:5,http://127.0.0.1:6,http://127.0.0.1:7,http://127.0.0.1:8,"
		  "http://127.0.0.1:9", -E2BIG },
	};
	struct loop l;

	assert_int_equal(loop_init(&l), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvc_config cfg = { .backend = KVC_V3, .endpoints = cases[i].endpoints };
		struct err e = { 0 };
		struct kvc *kv = NULL;
		int r = kvc_open(&kv, &l, &cfg, &e);

		if (r != cases[i].want)
			fail_msg("%s: %d (want %d): %s", cases[i].endpoints, r, cases[i].want, e.msg);
		assert_true(r == 0 ? kv != NULL : kv == NULL && e.msg[0]);
		kvc_close(kv);
	}
	loop_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoints_are_checked_when_opening),
		cmocka_unit_test(good_answer),
		cmocka_unit_test(bad_answers_are_errors),
		cmocka_unit_test(a_silent_server_times_out),
		cmocka_unit_test(a_refused_endpoint_fails_over),
		cmocka_unit_test(a_watch_whose_stream_goes_bad_connects_again),
		cmocka_unit_test(closing_from_a_callback),
		cmocka_unit_test(a_result_outlives_a_close_in_its_callback),
		cmocka_unit_test(closing_from_the_programs_io_callback),
		cmocka_unit_test(a_v2_refresh_is_not_sent_again),
		cmocka_unit_test(a_v3_watch_error_body_is_bounded),
		cmocka_unit_test(a_refused_v3_watch_ends),
		cmocka_unit_test(a_v3_watch_created_then_cancelled_backs_off),
		cmocka_unit_test(a_v3_watch_asks_for_progress_and_gives_up_a_silent_store),
	};

	srandom((unsigned)getpid());
	return cmocka_run_group_tests_name("kvc_conn", tests, NULL, NULL);
}
