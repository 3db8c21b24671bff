/*
 * What a request may do: who sent it (authentication), whether its role
 * allows it (authorization), and where it goes. The routes answered here
 * are /healthz and /v1/machine; /metrics is PID 1's part with this
 * program's appended; everything else under /v1/ is PID 1's, etcd's v2
 * API pith-kv's (docs/api.md). Every route needs a credential but
 * GET /health, which etcd answers to anyone (docs/security.md).
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "json.h"
#include "log.h"
#include "unit_load.h"

/* --- credentials -------------------------------------------------------- */

int control_credentials_load(struct control *ctl, struct err *e)
{
	struct tls_chain chain;
	struct tls_key key;
	struct tls_anchors cas = { .n = 0 };
	struct auth_tokens *tokens = calloc(1, sizeof(*tokens));
	struct buf text = BUF_INIT;
	int r;

	if (!tokens) {
		err_set(e, 0, "out of memory");
		return -ENOMEM;
	}
	if ((r = tls_chain_load(&chain, ctl->cert_path, e)) < 0)
		goto fail_tokens;
	if ((r = tls_key_load(&key, ctl->key_path, e)) < 0)
		goto fail_chain;
	if (ctl->ca_path && *ctl->ca_path && (r = tls_anchors_load(&cas, ctl->ca_path, e)) < 0)
		goto fail_key;
	if (ctl->tokens_path && *ctl->tokens_path) {
		r = unit_file_read(ctl->tokens_path, AUTH_TOKENS_FILE_MAX, &text);
		if (r < 0 && r != -ENOENT)
			err_set(e, 0, "%s: %s", ctl->tokens_path,
				r == -EFBIG ? "too large" : strerror(-r));
		/* No tokens file: only certificates get in. */
		if (r == -ENOENT)
			r = 0;
		else if (!r)
			r = auth_tokens_parse(tokens, text.data ? text.data : "", text.len,
					      ctl->tokens_path, e);
		buf_free(&text);
		if (r < 0)
			goto fail_cas;
	}
	tls_chain_free(&ctl->chain);
	tls_key_free(&ctl->key);
	tls_anchors_free(&ctl->cas);
	free(ctl->tokens);
	ctl->chain = chain;
	ctl->key = key;
	ctl->cas = cas;
	ctl->tokens = tokens;
	return 0;
fail_cas:
	tls_anchors_free(&cas);
fail_key:
	tls_key_free(&key);
fail_chain:
	tls_chain_free(&chain);
fail_tokens:
	free(tokens);
	return r;
}

/* --- authentication ----------------------------------------------------- */

static void refused(struct conn *c, const char *why)
{
	struct control *ctl = c->ctl;

	stats_auth_refused();
	if (ctl->auth_logged >= CONTROL_AUTH_LOG_PER_SEC) {
		ctl->auth_suppressed++;
		return;
	}
	ctl->auth_logged++;
	log_warn("auth: refused %s: %s %.200s: %s", c->peer, c->method,
		 http_request_target(c->p), why);
}

/* Who a credential is, for the log: never a secret, nothing that could
 * break a journal line. */
#define ROUTE_WHO_MAX (TLS_NAME_MAX + 32)

static void who_cert(char *who, size_t len, const char *cn)
{
	snprintf(who, len, "certificate CN=%s", cn);
	for (char *s = who; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void who_token(char *who, size_t len, const struct auth_entry *en)
{
	char hex[65];

	if (en->name[0]) {
		snprintf(who, len, "token %s", en->name);
		return;
	}
	/* A token without a name is told by its digest's start, as its line
	 * in the tokens file shows it. */
	auth_hash_hex(en->hash, hex);
	snprintf(who, len, "token sha256:%.12s", hex);
}

/* The role of whoever sent the request, and in who what credential it
 * was; AUTH_NONE has been answered. */
static enum auth_role authenticate(struct conn *c, char *who, size_t wholen)
{
	const struct tls_peer *peer = &c->tls->peer;
	const char *authz = http_header_get(c->p, "Authorization");
	const struct auth_entry *en;
	char secret[AUTH_SECRET_MAX + 1];
	enum auth_role cert_role = AUTH_NONE;
	int64_t not_before, not_after, now = (int64_t)time(NULL);
	int r;

	/* The handshake checked the certificate's validity period then; a
	 * connection lasts, so each request checks it again, and one that
	 * has expired since is refused whatever else the request carries. */
	if (c->ctl->cas.n && peer->verified &&
	    (peer->ee_too_big || cert_validity(peer->ee, peer->ee_len, &not_before, &not_after) < 0 ||
	     now < not_before || now > not_after)) {
		refused(c, "the client certificate is no longer valid");
		conn_respond_error(c, 401, "the client certificate is no longer valid: it expired, "
				   "or is not valid yet; connect again with a valid one");
		return AUTH_NONE;
	}
	/* A node's certificate is no client's, whatever its O says. */
	if (c->ctl->cas.n && peer->verified && !peer->node)
		cert_role = auth_role_parse(peer->org);
	if (!authz) {
		if (cert_role != AUTH_NONE) {
			snprintf(c->cred, sizeof(c->cred), "cert:%s", peer->cn);
			who_cert(who, wholen, peer->cn);
			return cert_role;
		}
		if (peer->verified) {
			refused(c, "the client certificate has no role (O=admin or O=read-only)");
			conn_respond_error(c, 401, "the client certificate has no role (O=admin or O=read-only)");
		} else if (c->ctl->cas.n && peer->ncerts) {
			refused(c, "client certificate refused");
			conn_respond_error(c, 401, "the client certificate was refused: %s",
					   tls_strerror((int)peer->err));
		} else {
			refused(c, "no credential");
			conn_respond_error(c, 401, "a credential is required: a bearer token or a client certificate");
		}
		return AUTH_NONE;
	}
	/* A credential that is wrong is refused even beside a good certificate. */
	r = auth_header_secret(authz, secret, sizeof(secret));
	/* The header is not needed again, nor passed on: it goes now. */
	http_header_wipe(c->p, "Authorization");
	if (r == -ENOTSUP) {
		refused(c, "unsupported authorization scheme");
		conn_respond_error(c, 401, "unsupported authorization scheme: use Bearer or Basic");
		return AUTH_NONE;
	}
	if (r < 0) {
		refused(c, "malformed Authorization");
		conn_respond_error(c, 401, "malformed Authorization header");
		return AUTH_NONE;
	}
	en = c->ctl->tokens ? auth_tokens_match(c->ctl->tokens, secret, strlen(secret)) : NULL;
	explicit_bzero(secret, sizeof(secret));
	if (!en) {
		refused(c, "invalid token");
		conn_respond_error(c, 401, "invalid token");
		return AUTH_NONE;
	}
	snprintf(c->cred, sizeof(c->cred), "token:");
	for (int i = 0; i < 8; i++)
		snprintf(c->cred + 6 + 2 * i, 3, "%02x", en->hash[i]);
	who_token(who, wholen, en);
	return en->role;
}

/* --- routes answered here ----------------------------------------------- */

static void answer_json(struct conn *c, int (*fn)(struct buf *))
{
	struct buf b = BUF_INIT;

	if (fn(&b) < 0)
		conn_respond_error(c, 503, "out of memory");
	else
		conn_respond(c, 200, "application/json", b.data, b.len, NULL);
	buf_free(&b);
}

static int healthz_json(struct buf *b)
{
	return buf_puts(b, "{\"status\":\"ok\"}\n");
}

/* --- routing ------------------------------------------------------------ */

static bool method_is(const struct conn *c, const char *m)
{
	return !strcmp(c->method, m);
}

static bool reads_only(const struct conn *c)
{
	return method_is(c, "GET") || method_is(c, "HEAD");
}

/* --- streams ------------------------------------------------------------ */

/* PID 1 follows the journal for follow= a number other than 0 (and
 * answers anything else that is no number 400). */
static bool is_follow(const char *target)
{
	char v[32];

	if (http_query_get(target, "follow", v, sizeof(v)) < 0 || !*v || v[strspn(v, "0123456789")])
		return false;
	return v[strspn(v, "0")] != 0;
}

/* A v2 watch: wait= true as Go's strconv.ParseBool reads it. */
static bool is_watch(const char *path, const char *target)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	char v[8];

	if (strncmp(path, "/v2/keys", 8) || http_query_get(target, "wait", v, sizeof(v)) < 0)
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(v, yes[i]))
			return true;
	return false;
}

/* Streams of this kind open now: in all, and of c's credential. */
static void streams_count(const struct conn *c, enum conn_stream kind, unsigned *all,
			  unsigned *mine)
{
	*all = *mine = 0;
	for (const struct conn *o = c->ctl->conns; o; o = o->next)
		if (o != c && o->up && o->stream == kind) {
			(*all)++;
			*mine += !strcmp(o->cred, c->cred);
		}
}

/* Whether another stream of this kind may open; if not, c is answered. */
static bool stream_allowed(struct conn *c, enum conn_stream kind)
{
	const char *what = kind == STREAM_FOLLOW ? "journal follows" : "watches";
	unsigned all, mine;
	unsigned max = kind == STREAM_FOLLOW ? CONTROL_FOLLOW_MAX : CONTROL_WATCH_MAX;
	unsigned mine_max = kind == STREAM_FOLLOW ? CONTROL_FOLLOW_PER_CRED_MAX :
						    CONTROL_WATCH_PER_CRED_MAX;

	streams_count(c, kind, &all, &mine);
	if (mine >= mine_max) {
		conn_respond_error(c, 503, "too many %s open with this credential (%u); "
				   "close one first", what, mine_max);
		return false;
	}
	if (all >= max) {
		conn_respond_error(c, 503, "too many %s open on this node (%u); try again later",
				   what, max);
		return false;
	}
	return true;
}

static void pass_on(struct conn *c, const char *target, bool add_metrics)
{
	bool kv = c->route == ROUTE_KV;

	c->up = upstream_open(c, c->method, target, c->p, add_metrics, kv);
	if (!c->up) {
		c->closing_after = c->p->framing != HTTP_BODY_NONE;
		conn_respond_error(c, 502, kv ? "the node's key-value store is not reachable" :
					       "the node's init is not reachable");
		return;
	}
	c->up_active_ms = loop_now_ms();
	if (c->p->expect_continue)
		buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* etcd's v2 client API, as etcdctl and v2 client libraries use it. */
static bool is_kv_path(const char *path)
{
	return !strncmp(path, "/v2/keys", 8) || !strncmp(path, "/v2/members", 11) ||
	       !strncmp(path, "/v2/stats/", 10) || !strcmp(path, "/v2/machines") ||
	       !strcmp(path, "/version") || !strcmp(path, "/health");
}

/* A request answered without a credential: GET /health, no body. */
static bool is_open_health(const struct conn *c, const char *path)
{
	return c->route == ROUTE_KV && !strcmp(path, "/health") && method_is(c, "GET") &&
	       c->p->framing == HTTP_BODY_NONE;
}

void route_request(struct conn *c)
{
	const char *target = http_request_target(c->p);
	char path[1024], who[ROUTE_WHO_MAX] = "";
	int r;

	c->stream = STREAM_NONE;
	if (c->over_limit) {
		c->closing_after = true;
		return conn_respond_error(c, 503, "too many connections from %s", c->peer);
	}
	r = http_path_decode(target, path, sizeof(path));
	if (r == -ENAMETOOLONG) {
		c->closing_after = true;
		return conn_respond_error(c, 414, "the path is too long");
	}
	if (r < 0) {
		c->closing_after = true;
		return conn_respond_error(c, 400, "invalid request target");
	}
	if (!strcmp(path, "/healthz"))
		c->route = ROUTE_HEALTHZ;
	else if (!strcmp(path, "/v1/machine"))
		c->route = ROUTE_MACHINE;
	else if (!strcmp(path, "/metrics"))
		c->route = ROUTE_METRICS;
	else if (!strncmp(path, "/v1/machine/", 12))
		c->route = ROUTE_POWER;
	else if (!strncmp(path, "/v1/units", 9) || !strncmp(path, "/v1/unit-files", 14) ||
		 !strcmp(path, "/v1/daemon-reload"))
		c->route = ROUTE_UNITS;
	else if (!strcmp(path, "/v1/journal"))
		c->route = ROUTE_JOURNAL;
	else if (is_kv_path(path))
		c->route = ROUTE_KV;

	/* The one exception to authentication: etcd answers GET /health to
	 * anyone, with auth on and whatever credential comes along, and
	 * etcdctl cluster-health asks every member's client URL for it
	 * without one. It is passed to pith-kv, whose answer says only
	 * whether the store has a leader. A body would need a credential. */
	if (is_open_health(c, path))
		return pass_on(c, target, false);

	/* Nothing below is reached without a credential. A request refused
	 * here closes its connection: a client without a credential holds
	 * no connection for longer than one answer. */
	c->closing_after = true;
	c->role = authenticate(c, who, sizeof(who));
	if (c->role == AUTH_NONE)
		return;
	/* Refused for its role, its body is left unread: it closes too. */
	c->closing_after = c->p->framing != HTTP_BODY_NONE;
	if (c->role != AUTH_ADMIN && !reads_only(c)) {
		refused(c, "read-only credential");
		return conn_respond_error(c, 403, "this credential may only read (GET, HEAD)");
	}
	/* The audit trail: every write let through, and whose it is. */
	if (!reads_only(c))
		log_info("audit: %s: %s %.200s by %s", c->peer, c->method, target, who);
	c->closing_after = false;
	if (c->p->framing == HTTP_BODY_LENGTH && c->p->content_length > CONTROL_BODY_MAX) {
		c->closing_after = true;
		return conn_respond_error(c, 413, "the body is larger than %d bytes", CONTROL_BODY_MAX);
	}
	c->p->body_max = CONTROL_BODY_MAX;
	switch (c->route) {
	case ROUTE_HEALTHZ:
	case ROUTE_MACHINE:
		break;
	case ROUTE_METRICS:
		if (reads_only(c))
			return pass_on(c, "/v1/metrics", true);
		break;
	case ROUTE_KV:
		if (is_watch(path, target) && reads_only(c)) {
			if (!stream_allowed(c, STREAM_WATCH))
				return;
			c->stream = STREAM_WATCH;
		}
		return pass_on(c, target, false);
	case ROUTE_JOURNAL:
		if (is_follow(target) && reads_only(c)) {
			if (!stream_allowed(c, STREAM_FOLLOW))
				return;
			c->stream = STREAM_FOLLOW;
		}
		return pass_on(c, target, false);
	case ROUTE_OTHER:
		if (!strncmp(path, "/v1/", 4))
			return pass_on(c, target, false);
		break;
	default:
		return pass_on(c, target, false);
	}
	/* Answered here. The local routes take no body; one sent anyway is
	 * read and dropped before the answer, so that a body that breaks its
	 * framing is answered 400 and closes, as anywhere else. */
	if (c->p->framing != HTTP_BODY_NONE) {
		c->answer_after_body = true;
		if (c->p->expect_continue)
			buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		return;
	}
	route_answer_local(c);
}

void route_answer_local(struct conn *c)
{
	char path[1024];

	c->answer_after_body = false;
	switch (c->route) {
	case ROUTE_HEALTHZ:
		if (!reads_only(c))
			return conn_respond_error(c, 405, "use GET");
		return answer_json(c, healthz_json);
	case ROUTE_MACHINE:
		if (!reads_only(c))
			return conn_respond_error(c, 405, "use GET");
		return answer_json(c, machine_json);
	case ROUTE_METRICS:
		return conn_respond_error(c, 405, "use GET");
	default:
		/* route_request decoded it already. */
		if (http_path_decode(http_request_target(c->p), path, sizeof(path)) < 0)
			path[0] = 0;
		return conn_respond_error(c, 404, "No such route: %s", path);
	}
}
