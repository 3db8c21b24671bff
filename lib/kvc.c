/*
 * The KV client: its configuration and endpoints, the requests' calls,
 * timeouts and lifetimes. One exchange with an endpoint is kvc_conn.c's;
 * what is sent and what answers mean is the backends' (kvc_v2.c,
 * kvc_v3.c).
 *
 * Lifetimes: a finished request and its connection leave epoll and the
 * timer list at once, and are freed from a timer that runs after the
 * current event batch (the batch may still hold an event for them).
 */
#include "kvc_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

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
		free(r->key);
		buf_free(&r->value);
		buf_free(&r->split);
		kvc_res_reset(&r->res);
		free(r);
	}
	if (c->closing)
		kvc_free_now(c);
}

void kvc_reap_later(struct kvc *c)
{
	if (!c->reap.armed)
		loop_timer_set(c->loop, &c->reap, 0, reap, c);
}

/* Take r out of everything; freed by reap(), with what it holds: a
 * callback running may still read r's result. */
void kvc_req_kill(struct kvc_req *r)
{
	struct kvc *c = r->c;
	struct kvc_req **pp;

	if (r->finished)
		return;
	r->finished = true;
	kvc_conn_close(r->conn);
	loop_timer_cancel(c->loop, &r->timer);
	loop_timer_cancel(c->loop, &r->deadline);
	for (pp = &c->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->next = c->dead_reqs;
	c->dead_reqs = r;
	kvc_reap_later(c);
}

static void kvc_free_now(struct kvc *c)
{
	loop_timer_cancel(c->loop, &c->reap);
	while (c->reqs)
		kvc_req_kill(c->reqs);
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
	/* Freed now only outside the loop's io dispatch: from an io callback
	 * (ours, or the program's: a signalfd's), the batch being dispatched
	 * may still hold an event for one of c's connections. */
	if (!c->depth && !c->loop->dispatching) {
		kvc_free_now(c);
		return;
	}
	c->closing = true;
	while (c->reqs) {
		c->reqs->cancelled = true;
		kvc_req_kill(c->reqs);
	}
	kvc_reap_later(c);
}

void kvc_cancel(struct kvc_req *r)
{
	if (!r || r->finished || r->cancelled)
		return;
	r->cancelled = true;
	if (!r->in_callback)
		kvc_req_kill(r);
}

/* --- finishing ------------------------------------------------------------------------- */

void kvc_req_finish(struct kvc_req *r)
{
	struct kvc_result res = {
		.status = r->res.status,
		.msg = r->res.status ? r->res.msg : "",
		.index = r->res.index,
		.kvs = r->res.kvs,
		.n = r->res.n,
	};

	kvc_conn_close(r->conn);
	if (!r->cancelled) {
		r->in_callback = true;
		if (r->op == KVC_OP_WATCH)
			r->watch_fn(r->arg, NULL, &res);
		else
			r->done(r->arg, &res);
		r->in_callback = false;
	}
	kvc_req_kill(r);
}

void kvc_leave(struct kvc *c)
{
	if (!--c->depth && c->closing)
		kvc_reap_later(c);
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
	kvc_req_finish(r);
	kvc_leave(r->c);
}

/* --- starting requests -------------------------------------------------------------- */

/* A v2 key is a path the store's router takes as it is: no empty, "." or
 * ".." segment (it would redirect to the cleaned path). A trailing '/' is
 * allowed (a directory). */
static bool v2_key_is_valid(const char *key)
{
	const char *s = key;

	if (*s != '/')
		return false;
	while (*s) {
		size_t n;

		s++;
		n = strcspn(s, "/");
		if ((n == 0 && s[0] == '/') || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
	}
	return true;
}

static int start(struct kvc *c, enum kvc_op op, const char *key, kvc_done_fn *fn, void *arg,
		 struct kvc_req **out, struct kvc_req **made)
{
	struct kvc_req *r;
	size_t klen = key ? strlen(key) : 0;

	if (out)
		*out = NULL;
	if (c->closing || klen > KVC_KEY_MAX)
		return -EINVAL;
	/* A v2 prefix may be "" (everything). */
	if (c->ops == &kvc_v2_ops && klen && !v2_key_is_valid(key))
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

	loop_timer_set(c->loop, &r->timer, 0, kvc_attempt, r);
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

	if (len > KVC_VALUE_MAX || (!value && len) || (opts && opts->if_absent && opts->if_index))
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
		kvc_req_kill(r);
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
