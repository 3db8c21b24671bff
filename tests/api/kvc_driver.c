/*
 * kvc-driver: a scripted scenario through the KV client (lib/kvc.h)
 * against a running store, each step checked. tests/api/test_kvc.py runs
 * it against pith-kv and Debian's etcd 3.4.
 *
 *   kvc-driver --backend v2|v3 --endpoints URL[,URL...] --prefix /KEY
 *              [--ca FILE [--cert FILE --key FILE]] [--compact-url http://...]
 *              [--skip-history] [--dead URL] [--scenario reconnect]
 *
 * Every step prints "ok: <what>"; the first failure prints "FAIL: line N:
 * ..." and exits 1. The scenario waits on the loop for each result, so it
 * reads as a sequence although every call is asynchronous.
 *
 * --dead: an endpoint where nothing listens. --scenario reconnect: only a
 * watch whose connection the harness breaks (see scenario_reconnect).
 *
 * --compact-url (v3): where to POST /v3/kv/compaction, with a plain
 * blocking request (the library has no compaction: services never need it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "kvc.h"
#include "loop.h"

/* lib/kvc_codec.c's, as the v3 gateway carries keys. */
int kvc_b64_encode(struct buf *out, const void *data, size_t len);

static struct loop L;
static struct kvc *C;
static enum kvc_backend backend;
static char P[256];		/* the scenario's prefix */

#define CHECK(cond, ...) do { if (!(cond)) fail(__LINE__, #cond, __VA_ARGS__); } while (0)

static void fail(int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: line %d: %s: ", line, cond);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static void ok(const char *what)
{
	printf("ok: %s\n", what);
	fflush(stdout);
}

/* --- one call at a time ------------------------------------------------------- */

#define KEPT_MAX 64

struct kept {
	char key[256];
	char value[1100];
	size_t value_len;
	uint64_t index, created, lease;
	int64_t ttl;
};

struct call {
	bool done;
	enum kvc_status status;
	char msg[300];
	uint64_t index;
	size_t n;
	struct kept kvs[KEPT_MAX];
};

static void keep(struct kept *k, const struct kvc_kv *kv)
{
	snprintf(k->key, sizeof(k->key), "%s", kv->key);
	k->value_len = kv->value_len < sizeof(k->value) ? kv->value_len : sizeof(k->value) - 1;
	memcpy(k->value, kv->value, k->value_len);
	k->value[k->value_len] = 0;
	k->index = kv->index;
	k->created = kv->created;
	k->lease = kv->lease;
	k->ttl = kv->ttl;
}

static void on_done(void *arg, const struct kvc_result *r)
{
	struct call *c = arg;

	CHECK(!c->done, "a callback ran twice");
	c->done = true;
	c->status = r->status;
	snprintf(c->msg, sizeof(c->msg), "%s", r->msg);
	c->index = r->index;
	c->n = r->n;
	for (size_t i = 0; i < r->n && i < KEPT_MAX; i++)
		keep(&c->kvs[i], &r->kvs[i]);
}

/* Run the loop until *flag or ms have passed. */
static bool run_until(const bool *flag, unsigned ms)
{
	uint64_t end = loop_now_ms() + ms;

	while (!(flag && *flag) && loop_now_ms() < end)
		loop_run_once(&L, (int)(end - loop_now_ms()));
	return flag && *flag;
}

static void wait_call(struct call *c, int line)
{
	if (!run_until(&c->done, 15000))
		fail(line, "callback", "no result within 15 s");
}

#define START(c, e) do { int e_ = (e); if (e_ < 0) fail(__LINE__, #e, "%s", strerror(-e_)); \
	wait_call(c, __LINE__); } while (0)

static struct call *get(const char *key)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	START(&c, kvc_get(C, key, on_done, &c, NULL));
	return &c;
}

static struct call *list(const char *prefix)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	START(&c, kvc_list(C, prefix, on_done, &c, NULL));
	return &c;
}

static struct call *set(const char *key, const char *value, uint64_t ttl, bool if_absent, uint64_t if_index)
{
	static struct call c;
	struct kvc_set_opts o = { .ttl = ttl, .if_absent = if_absent, .if_index = if_index };

	memset(&c, 0, sizeof(c));
	START(&c, kvc_set(C, key, value, strlen(value), &o, on_done, &c, NULL));
	return &c;
}

static struct call *del(const char *key, uint64_t if_index)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	START(&c, kvc_delete(C, key, if_index, on_done, &c, NULL));
	return &c;
}

static struct call *refresh(const char *key, uint64_t ttl)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	START(&c, kvc_refresh(C, key, ttl, on_done, &c, NULL));
	return &c;
}

static struct call *do_revoke(const char *key)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	START(&c, kvc_revoke(C, key, on_done, &c, NULL));
	return &c;
}

static const char *k(const char *name)
{
	static char bufs[4][300];
	static unsigned i;
	char *b = bufs[i++ % 4];

	snprintf(b, 300, "%s/%s", P, name);
	return b;
}

#define EXPECT(c, st) CHECK((c)->status == (st), "status %s (want %s): %s", kvc_status_name((c)->status), \
			    kvc_status_name(st), (c)->msg)

/* --- watches -------------------------------------------------------------------- */

#define EVENTS_MAX 256

struct watch {
	struct kvc_req *req;
	unsigned n;
	struct {
		enum kvc_event_type type;
		struct kept kv;
	} ev[EVENTS_MAX];
	bool ended;
	enum kvc_status end_status;
	char end_msg[300];
	uint64_t end_index;
	bool cancel_in_callback;
};

static void on_event(void *arg, const struct kvc_event *ev, const struct kvc_result *end)
{
	struct watch *w = arg;

	CHECK(!w->ended, "a watch reported after its end");
	if (!ev) {
		w->ended = true;
		w->end_status = end->status;
		w->end_index = end->index;
		snprintf(w->end_msg, sizeof(w->end_msg), "%s", end->msg);
		return;
	}
	CHECK(w->n < EVENTS_MAX, "too many events");
	w->ev[w->n].type = ev->type;
	keep(&w->ev[w->n].kv, ev->kv);
	w->n++;
	if (w->cancel_in_callback)
		kvc_cancel(w->req);
}

static void watch_start(struct watch *w, const char *prefix, uint64_t from)
{
	int e;

	memset(w, 0, sizeof(*w));
	e = kvc_watch(C, prefix, from, on_event, w, &w->req);
	CHECK(e == 0, "kvc_watch: %s", strerror(-e));
}

static bool enough_events(const struct watch *w, unsigned n)
{
	return w->n >= n || w->ended;
}

static void wait_events(struct watch *w, unsigned n, unsigned ms, int line)
{
	uint64_t end = loop_now_ms() + ms;

	while (!enough_events(w, n) && loop_now_ms() < end)
		loop_run_once(&L, 50);
	if (w->n < n)
		fail(line, "events", "%u events within %u ms, want %u%s%s", w->n, ms, n,
		     w->ended ? "; the watch ended: " : "", w->ended ? w->end_msg : "");
}

static void pause_ms(unsigned ms)
{
	run_until(NULL, ms);
}

static const char *ev_name(enum kvc_event_type t)
{
	return t == KVC_EV_PUT ? "put" : t == KVC_EV_DELETE ? "delete" : "expire";
}

/* --- compaction (v3), by hand ----------------------------------------------------- */

/* POST body to the v3 gateway at url (plain HTTP), by hand; 200 or fail. */
static void post_v3(const char *url, const char *path, const char *body)
{
	char host[64], req[2048], ans[1024];
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned port;
	int fd, n;
	ssize_t got, all = 0;

	CHECK(sscanf(url, "http://%63[0-9.]:%u", host, &port) == 2, "--compact-url %s", url);
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect %s: %s", url,
	      strerror(errno));
	n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     path, host, port, strlen(body), body);
	CHECK(n > 0 && (size_t)n < sizeof(req), "request too long");
	CHECK(write(fd, req, (size_t)n) == n, "write");
	while ((got = read(fd, ans + all, sizeof(ans) - 1 - (size_t)all)) > 0)
		all += got;
	ans[all > 0 ? all : 0] = 0;
	close(fd);
	CHECK(!strncmp(ans, "HTTP/1.1 200", 12), "%s: %s", path, ans);
}

static void compact(const char *url, uint64_t rev)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"revision\":\"%" PRIu64 "\",\"physical\":true}", rev);
	post_v3(url, "/v3/kv/compaction", body);
}

/* One txn putting two keys: two events at one revision. */
static void txn_put_two(const char *url, const char *k1, const char *k2, const char *value)
{
	struct buf a = BUF_INIT, b = BUF_INIT, v = BUF_INIT;
	char body[1536];

	CHECK(kvc_b64_encode(&a, k1, strlen(k1)) == 0 && kvc_b64_encode(&b, k2, strlen(k2)) == 0 &&
	      kvc_b64_encode(&v, value, strlen(value)) == 0, "base64");
	snprintf(body, sizeof(body), "{\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}},"
		 "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}]}", a.data, v.data, b.data, v.data);
	post_v3(url, "/v3/kv/txn", body);
	buf_free(&a);
	buf_free(&b);
	buf_free(&v);
}

/* --- the scenario --------------------------------------------------------------------- */

static void scenario_basic(void)
{
	struct call *c;
	uint64_t i1, i2;
	char bin[] = { 'a', 0, (char)0xff, '\n', '=', '&', '%', 'z' };
	struct call b;
	int e;

	c = set(k("a"), "one", 0, false, 0);
	EXPECT(c, KVC_OK);
	CHECK(c->n == 1 && !strcmp(c->kvs[0].key, k("a")) && c->kvs[0].index > 0, "set's key: n=%zu", c->n);
	i1 = c->kvs[0].index;
	c = get(k("a"));
	EXPECT(c, KVC_OK);
	CHECK(c->n == 1 && !strcmp(c->kvs[0].value, "one") && c->kvs[0].index == i1,
	      "get: %s at %" PRIu64 " (set at %" PRIu64 ")", c->kvs[0].value, c->kvs[0].index, i1);
	CHECK(c->index >= i1, "the store's index %" PRIu64, c->index);
	ok("set and get");

	EXPECT(get(k("missing")), KVC_NOT_FOUND);
	EXPECT(set(k("a"), "x", 0, true, 0), KVC_EXISTS);
	EXPECT(set(k("b"), "bee", 0, true, 0), KVC_OK);
	ok("get of a missing key, set if absent");

	c = set(k("a"), "two", 0, false, i1);
	EXPECT(c, KVC_OK);
	i2 = c->kvs[0].index;
	CHECK(i2 > i1, "CAS moved the index to %" PRIu64, i2);
	EXPECT(set(k("a"), "three", 0, false, i1), KVC_CAS_FAILED);
	EXPECT(set(k("nope"), "x", 0, false, i1), KVC_NOT_FOUND);
	c = get(k("a"));
	CHECK(!strcmp(c->kvs[0].value, "two"), "after a failed CAS: %s", c->kvs[0].value);
	ok("compare-and-swap");

	EXPECT(del(k("a"), i1), KVC_CAS_FAILED);
	EXPECT(del(k("a"), i2), KVC_OK);
	EXPECT(del(k("a"), 0), KVC_NOT_FOUND);
	EXPECT(get(k("a")), KVC_NOT_FOUND);
	EXPECT(del(k("nope"), i2), KVC_NOT_FOUND);
	ok("delete, compare-and-delete");

	if (backend == KVC_V2) {
		/* v2 values are text: the bytes that are not are refused. */
		CHECK(kvc_set(C, k("bin"), bin, sizeof(bin), NULL, on_done, &b, NULL) == -EINVAL,
		      "a v2 value with NUL and 0xff");
		memcpy(bin, "a\xc3\xa9\n=&%z", sizeof(bin));
	}
	memset(&b, 0, sizeof(b));
	e = kvc_set(C, k("bin"), bin, sizeof(bin), NULL, on_done, &b, NULL);
	CHECK(e == 0, "kvc_set: %d", e);
	wait_call(&b, __LINE__);
	EXPECT(&b, KVC_OK);
	c = get(k("bin"));
	CHECK(c->kvs[0].value_len == sizeof(bin) && !memcmp(c->kvs[0].value, bin, sizeof(bin)),
	      "bytes came back as %zu bytes", c->kvs[0].value_len);
	ok(backend == KVC_V2 ? "a value with UTF-8, '&', '=' and '%'" : "a value with NUL, 0xff, '&', '=' and '%'");

	EXPECT(set(k("d/e"), "deep", 0, false, 0), KVC_OK);
	EXPECT(set(k("d/f/g"), "deeper", 0, false, 0), KVC_OK);
	c = list(k(""));
	EXPECT(c, KVC_OK);
	CHECK(c->n == 4, "listed %zu keys", c->n);
	CHECK(!strcmp(c->kvs[0].key, k("b")) && !strcmp(c->kvs[1].key, k("bin")) &&
	      !strcmp(c->kvs[2].key, k("d/e")) && !strcmp(c->kvs[3].key, k("d/f/g")),
	      "keys: %s %s %s %s", c->kvs[0].key, c->kvs[1].key, c->kvs[2].key, c->kvs[3].key);
	CHECK(!strcmp(c->kvs[2].value, "deep") && c->kvs[2].index > 0, "d/e: %s", c->kvs[2].value);
	c = list(k("no-such-dir/"));
	EXPECT(c, KVC_OK);
	CHECK(c->n == 0, "a missing prefix listed %zu keys", c->n);
	ok("list a prefix, flattened and sorted");
}

static const char *compact_url;

static void scenario_watch(void)
{
	static struct watch w;
	struct call *c;
	uint64_t from, i_x, i_y, i_del, i_z;

	c = set(k("w/x"), "1", 0, false, 0);
	EXPECT(c, KVC_OK);
	from = i_x = c->kvs[0].index;
	c = set(k("w/y"), "2", 0, false, 0);
	i_y = c->kvs[0].index;
	EXPECT(set(k("other"), "not watched", 0, false, 0), KVC_OK);
	c = del(k("w/x"), 0);
	EXPECT(c, KVC_OK);
	i_del = c->index;

	watch_start(&w, k("w/"), from);
	wait_events(&w, 3, 10000, __LINE__);
	CHECK(w.ev[0].type == KVC_EV_PUT && !strcmp(w.ev[0].kv.key, k("w/x")) &&
	      !strcmp(w.ev[0].kv.value, "1") && w.ev[0].kv.index == i_x, "event 0: %s %s=%s at %" PRIu64,
	      ev_name(w.ev[0].type), w.ev[0].kv.key, w.ev[0].kv.value, w.ev[0].kv.index);
	CHECK(w.ev[1].type == KVC_EV_PUT && !strcmp(w.ev[1].kv.key, k("w/y")) && w.ev[1].kv.index == i_y,
	      "event 1: %s %s at %" PRIu64, ev_name(w.ev[1].type), w.ev[1].kv.key, w.ev[1].kv.index);
	CHECK(w.ev[2].type == KVC_EV_DELETE && !strcmp(w.ev[2].kv.key, k("w/x")) &&
	      (i_del == 0 || w.ev[2].kv.index == i_del), "event 2: %s %s at %" PRIu64 " (delete at %" PRIu64 ")",
	      ev_name(w.ev[2].type), w.ev[2].kv.key, w.ev[2].kv.index, i_del);
	ok("a watch from a past index sees exactly the writes made");

	c = set(k("w/z"), "3", 0, false, 0);
	i_z = c->kvs[0].index;
	wait_events(&w, 4, 10000, __LINE__);
	CHECK(w.ev[3].type == KVC_EV_PUT && w.ev[3].kv.index == i_z, "event 3 at %" PRIu64, w.ev[3].kv.index);
	pause_ms(300);
	CHECK(w.n == 4, "%u events, want 4", w.n);
	ok("a live write reaches the watch, and nothing else does");

	/* Cancelled from its own callback: nothing more comes. */
	w.cancel_in_callback = true;
	EXPECT(set(k("w/z"), "4", 0, false, 0), KVC_OK);
	EXPECT(set(k("w/z"), "5", 0, false, 0), KVC_OK);
	wait_events(&w, 5, 10000, __LINE__);
	pause_ms(300);
	CHECK(w.n == 5 && !w.ended, "%u events after the cancel", w.n);
	ok("a watch cancelled from its callback");

	/* From now. */
	watch_start(&w, k("w/"), 0);
	pause_ms(300);
	CHECK(w.n == 0, "a watch from now saw %u old events", w.n);
	EXPECT(set(k("w/now"), "6", 0, false, 0), KVC_OK);
	wait_events(&w, 1, 10000, __LINE__);
	CHECK(!strcmp(w.ev[0].kv.key, k("w/now")), "from now: %s", w.ev[0].kv.key);
	ok("a watch from now");

	/* v3: one revision, two keys (a txn); then a prefix delete of both. */
	if (backend == KVC_V3 && compact_url) {
		uint64_t rev;

		txn_put_two(compact_url, k("w/t1"), k("w/t2"), "7");
		wait_events(&w, 3, 10000, __LINE__);
		rev = w.ev[1].kv.index;
		CHECK(w.ev[1].type == KVC_EV_PUT && !strcmp(w.ev[1].kv.key, k("w/t1")) &&
		      w.ev[2].type == KVC_EV_PUT && !strcmp(w.ev[2].kv.key, k("w/t2")) && w.ev[2].kv.index == rev &&
		      !strcmp(w.ev[2].kv.value, "7"), "txn events: %s at %" PRIu64 ", %s at %" PRIu64,
		      w.ev[1].kv.key, rev, w.ev[2].kv.key, w.ev[2].kv.index);
		{
			struct buf key = BUF_INIT, end = BUF_INIT;
			char body[1200], *e = strdup(k("w/t"));

			e[strlen(e) - 1]++;	/* "w/t" .. "w/u" */
			CHECK(kvc_b64_encode(&key, k("w/t"), strlen(k("w/t"))) == 0 &&
			      kvc_b64_encode(&end, e, strlen(e)) == 0, "base64");
			snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\"}", key.data, end.data);
			post_v3(compact_url, "/v3/kv/deleterange", body);
			buf_free(&key);
			buf_free(&end);
			free(e);
		}
		wait_events(&w, 5, 10000, __LINE__);
		CHECK(w.ev[3].type == KVC_EV_DELETE && w.ev[4].type == KVC_EV_DELETE &&
		      w.ev[3].kv.index == w.ev[4].kv.index && w.ev[3].kv.index > rev &&
		      strcmp(w.ev[3].kv.key, w.ev[4].kv.key), "prefix delete events: %s %s at %" PRIu64 ", %s %s at %" PRIu64,
		      ev_name(w.ev[3].type), w.ev[3].kv.key, w.ev[3].kv.index,
		      ev_name(w.ev[4].type), w.ev[4].kv.key, w.ev[4].kv.index);
		pause_ms(300);
		CHECK(w.n == 5, "%u events, want 5", w.n);
		ok("every event of one revision reaches a watch (a txn of two puts, a prefix delete)");
	}
	kvc_cancel(w.req);
}

static void scenario_ttl(void)
{
	static struct watch w;
	struct call *c;

	/* Expiry, seen by a watch. */
	watch_start(&w, k("ttl/"), 0);
	pause_ms(200);
	c = set(k("ttl/short"), "soon gone", 1, false, 0);
	EXPECT(c, KVC_OK);
	CHECK(backend == KVC_V2 || c->kvs[0].lease != 0, "a v3 set with a TTL has no lease");
	wait_events(&w, 2, 15000, __LINE__);
	CHECK(w.ev[0].type == KVC_EV_PUT, "first %s", ev_name(w.ev[0].type));
	CHECK(w.ev[1].type == (backend == KVC_V2 ? KVC_EV_EXPIRE : KVC_EV_DELETE) &&
	      !strcmp(w.ev[1].kv.key, k("ttl/short")), "then %s %s", ev_name(w.ev[1].type), w.ev[1].kv.key);
	EXPECT(get(k("ttl/short")), KVC_NOT_FOUND);
	kvc_cancel(w.req);
	ok("a TTL runs out, and the watch says so");

	/* Kept alive past its TTL: 3 s, refreshed every second for 5 s (a
	 * loaded machine may take a second for a request). */
	EXPECT(set(k("ttl/kept"), "alive", 3, false, 0), KVC_OK);
	for (int i = 0; i < 5; i++) {
		pause_ms(1000);
		c = refresh(k("ttl/kept"), 3);
		EXPECT(c, KVC_OK);
		CHECK(c->n == 1 && c->kvs[0].ttl > 0, "refresh: ttl %" PRId64, c->kvs[0].ttl);
	}
	c = get(k("ttl/kept"));
	EXPECT(c, KVC_OK);
	CHECK(!strcmp(c->kvs[0].value, "alive"), "value %s", c->kvs[0].value);
	ok("refresh keeps a key alive past its TTL");

	/* A CAS with a TTL. */
	c = set(k("ttl/lock"), "me", 30, true, 0);
	EXPECT(c, KVC_OK);
	EXPECT(set(k("ttl/lock"), "you", 30, true, 0), KVC_EXISTS);
	ok("create-if-absent with a TTL (a lock)");

	EXPECT(do_revoke(k("ttl/kept")), KVC_OK);
	EXPECT(get(k("ttl/kept")), KVC_NOT_FOUND);
	EXPECT(refresh(k("ttl/kept"), 2), KVC_NOT_FOUND);
	EXPECT(do_revoke(k("ttl/kept")), KVC_NOT_FOUND);
	ok("revoke deletes the key; refresh and revoke of a missing key");

	if (backend == KVC_V3) {
		EXPECT(refresh(k("b"), 2), KVC_REFUSED);
		ok("v3: refresh of a key without a TTL");
	}
}

static void scenario_history(const char *compact_url)
{
	static struct watch w;
	struct call *c;
	uint64_t old;

	c = set(k("h/first"), "0", 0, false, 0);
	EXPECT(c, KVC_OK);
	old = c->kvs[0].index;
	if (backend == KVC_V2) {
		/* etcd's v2 history holds 1,000 events; write past it, 100 at once. */
		static struct call many[100];
		char value[16];

		for (int round = 0; round < 11; round++) {
			for (int i = 0; i < 100; i++) {
				memset(&many[i], 0, sizeof(many[i]));
				snprintf(value, sizeof(value), "%d", round * 100 + i);
				CHECK(kvc_set(C, k("h/many"), value, strlen(value), NULL, on_done, &many[i], NULL) == 0,
				      "kvc_set");
			}
			for (int i = 0; i < 100; i++) {
				wait_call(&many[i], __LINE__);
				EXPECT(&many[i], KVC_OK);
			}
		}
	} else {
		c = set(k("h/second"), "1", 0, false, 0);
		EXPECT(c, KVC_OK);
		compact(compact_url, c->kvs[0].index);
	}
	watch_start(&w, k("h/"), old);
	run_until(&w.ended, 10000);
	CHECK(w.ended && w.end_status == KVC_HISTORY_GONE, "the watch %s: %s %s",
	      w.ended ? "ended" : "did not end", w.ended ? kvc_status_name(w.end_status) : "", w.end_msg);
	CHECK(w.n == 0, "%u events before the end", w.n);
	ok("a watch from a forgotten index gets the resync signal");
}

static void scenario_errors(const char *dead)
{
	struct kvc_config cfg = { .backend = backend, .endpoints = dead, .timeout_ms = 3000 };
	struct kvc *live = C;
	struct kvc_req *r;
	struct call c;
	struct err e = { 0 };

	/* Cancelled before it ran: no callback. */
	memset(&c, 0, sizeof(c));
	CHECK(kvc_get(C, k("b"), on_done, &c, &r) == 0, "kvc_get");
	kvc_cancel(r);
	pause_ms(200);
	CHECK(!c.done, "a cancelled request called back");
	ok("cancel");

	CHECK(kvc_open(&C, &L, &cfg, &e) == 0, "kvc_open: %s", e.msg);
	memset(&c, 0, sizeof(c));
	CHECK(kvc_get(C, k("b"), on_done, &c, NULL) == 0, "kvc_get");
	wait_call(&c, __LINE__);
	EXPECT(&c, KVC_UNAVAILABLE);
	kvc_close(C);
	C = live;
	ok("no endpoint answers");

	CHECK(kvc_set(C, "", "x", 1, NULL, on_done, &c, NULL) == -EINVAL, "an empty key");
	if (backend == KVC_V2) {
		CHECK(kvc_get(C, "no-slash", on_done, &c, NULL) == -EINVAL, "a v2 key without '/'");
		CHECK(kvc_get(C, "/a//b", on_done, &c, NULL) == -EINVAL, "a v2 key with '//'");
		CHECK(kvc_get(C, "/a/../b", on_done, &c, NULL) == -EINVAL, "a v2 key with '..'");
		CHECK(kvc_list(C, "/a/./", on_done, &c, NULL) == -EINVAL, "a v2 prefix with '.'");
	}
	ok("bad arguments");
}

/* The harness breaks the watch's connection (stops the server it is
 * connected to) between "restart" on stdout and a line on stdin. */
static void scenario_reconnect(void)
{
	static struct watch w;
	struct call *c;
	uint64_t i2, i3;
	char line[16];

	watch_start(&w, k("r/"), 0);
	pause_ms(300);
	EXPECT(set(k("r/1"), "1", 0, false, 0), KVC_OK);
	wait_events(&w, 1, 10000, __LINE__);
	printf("restart\n");
	fflush(stdout);
	CHECK(fgets(line, sizeof(line), stdin), "no go-ahead from the harness");
	c = set(k("r/2"), "2", 0, false, 0);
	EXPECT(c, KVC_OK);
	i2 = c->kvs[0].index;
	c = set(k("r/3"), "3", 0, false, 0);
	EXPECT(c, KVC_OK);
	i3 = c->kvs[0].index;
	wait_events(&w, 3, 30000, __LINE__);
	CHECK(!strcmp(w.ev[1].kv.key, k("r/2")) && w.ev[1].kv.index == i2 &&
	      !strcmp(w.ev[2].kv.key, k("r/3")) && w.ev[2].kv.index == i3,
	      "after the break: %s at %" PRIu64 ", %s at %" PRIu64, w.ev[1].kv.key, w.ev[1].kv.index,
	      w.ev[2].kv.key, w.ev[2].kv.index);
	pause_ms(300);
	CHECK(w.n == 3 && !w.ended, "%u events", w.n);
	kvc_cancel(w.req);
	ok("a watch resumes from its last index after its connection broke");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", 1, 0, 'b' }, { "endpoints", 1, 0, 'e' }, { "prefix", 1, 0, 'p' },
		{ "ca", 1, 0, 'a' }, { "cert", 1, 0, 'c' }, { "key", 1, 0, 'k' },
		{ "compact-url", 1, 0, 'u' }, { "skip-history", 0, 0, 's' }, { "dead", 1, 0, 'd' },
		{ "scenario", 1, 0, 'S' },
		{ 0, 0, 0, 0 },
	};
	struct kvc_config cfg = { 0 };
	const char *dead = "http://127.0.0.1:1";
	bool skip_history = false, reconnect = false;
	struct err e = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b': backend = !strcmp(optarg, "v3") ? KVC_V3 : KVC_V2; break;
		case 'e': cfg.endpoints = optarg; break;
		case 'p': snprintf(P, sizeof(P), "%s", optarg); break;
		case 'a': cfg.ca_file = optarg; break;
		case 'c': cfg.cert_file = optarg; break;
		case 'k': cfg.key_file = optarg; break;
		case 'u': compact_url = optarg; break;
		case 's': skip_history = true; break;
		case 'd': dead = optarg; break;
		case 'S': reconnect = !strcmp(optarg, "reconnect"); break;
		default: return 100;
		}
	}
	cfg.backend = backend;
	if (!cfg.endpoints || !P[0] || (backend == KVC_V3 && !skip_history && !compact_url && !reconnect)) {
		fprintf(stderr, "usage: kvc-driver --backend v2|v3 --endpoints URLS --prefix /KEY "
			"[--ca F [--cert F --key F]] [--compact-url URL | --skip-history] [--dead URL] "
			"[--scenario reconnect]\n");
		return 100;
	}
	if (loop_init(&L) < 0 || kvc_open(&C, &L, &cfg, &e) < 0) {
		printf("FAIL: kvc_open: %s\n", e.msg);
		return 1;
	}
	if (reconnect) {
		scenario_reconnect();
	} else {
		scenario_basic();
		scenario_watch();
		scenario_ttl();
		if (!skip_history)
			scenario_history(compact_url);
		scenario_errors(dead);
	}
	kvc_close(C);
	loop_close(&L);
	printf("all ok\n");
	return 0;
}
