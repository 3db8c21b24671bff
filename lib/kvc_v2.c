/*
 * The KV client's v2 backend: etcd's v2 keys API, as pith-kv and etcd
 * --enable-v2 serve it. Every operation is one request. A watch is a long
 * poll (wait=true&waitIndex=N), asked again after each event from the
 * event's index + 1: one event per request, so an event is never lost
 * between two connections.
 */
#include "kvc_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

#define FORM "application/x-www-form-urlencoded"

static int v2_target(struct kvc_req *r, struct buf *t)
{
	int e = buf_puts(t, "/v2/keys");

	if (!e && r->key[0] != '/')
		e = buf_puts(t, "/");
	if (!e)
		e = kvc_url_escape(t, r->key, strlen(r->key), true);
	return e;
}

static int v2_build(struct kvc_req *r, struct kvc_http *h)
{
	struct buf *t = &h->target, *b = &h->body;
	int e = v2_target(r, t);

	if (e)
		return e;
	switch (r->op) {
	case KVC_OP_GET:
		h->method = "GET";
		break;
	case KVC_OP_LIST:
		h->method = "GET";
		e = buf_puts(t, "?recursive=true&sorted=true");
		break;
	case KVC_OP_SET:
		h->method = "PUT";
		h->content_type = FORM;
		e = buf_puts(b, "value=");
		if (!e)
			e = kvc_url_escape(b, r->value.data, r->value.len, false);
		if (!e && r->opts.ttl)
			e = buf_printf(b, "&ttl=%" PRIu64, r->opts.ttl);
		if (!e && r->opts.if_absent)
			e = buf_puts(b, "&prevExist=false");
		if (!e && r->opts.if_index)
			e = buf_printf(b, "&prevIndex=%" PRIu64, r->opts.if_index);
		break;
	case KVC_OP_DELETE:
		h->method = "DELETE";
		if (r->opts.if_index)
			e = buf_printf(t, "?prevIndex=%" PRIu64, r->opts.if_index);
		break;
	case KVC_OP_REFRESH:
		h->method = "PUT";
		h->content_type = FORM;
		e = buf_printf(b, "refresh=true&prevExist=true&ttl=%" PRIu64, r->opts.ttl);
		break;
	case KVC_OP_REVOKE:
		h->method = "DELETE";
		break;
	case KVC_OP_WATCH:
		h->method = "GET";
		e = buf_puts(t, "?wait=true&recursive=true");
		if (!e && r->next_index)
			e = buf_printf(t, "&waitIndex=%" PRIu64, r->next_index);
		break;
	}
	return e;
}

static bool num(const cJSON *o, const char *name, uint64_t *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 9007199254740992.0)
		return false;
	*v = (uint64_t)n->valuedouble;
	return true;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* A node as a key of the result. NULL: malformed or no room (r->res says). */
static struct kvc_kv *node_kv(struct kvc_res *res, const cJSON *node)
{
	const char *key = str(node, "key"), *value = str(node, "value");
	struct kvc_kv *kv;
	uint64_t ttl = 0;

	if (!key) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "a node without a key");
		return NULL;
	}
	if (!value)
		value = "";
	if (!(kv = kvc_res_add(res, key, strlen(key), value, strlen(value)))) {
		kvc_res_fail(res, res->n >= KVC_KEYS_MAX ? KVC_BAD_RESPONSE : KVC_NOMEM,
			     res->n >= KVC_KEYS_MAX ? "more than %d keys" : "out of memory", KVC_KEYS_MAX);
		return NULL;
	}
	num(node, "modifiedIndex", &kv->index);
	num(node, "createdIndex", &kv->created);
	if (num(node, "ttl", &ttl))
		kv->ttl = (int64_t)ttl;
	return kv;
}

/* Every key (not directory) under node, depth bounded. 0 or -1 (r->res says). */
static int flatten(struct kvc_res *res, const cJSON *node, unsigned depth)
{
	const cJSON *nodes, *n;

	if (depth > KVC_DEPTH_MAX) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "directories nested deeper than %d", KVC_DEPTH_MAX);
		return -1;
	}
	if (!cJSON_IsObject(node)) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "a node that is not an object");
		return -1;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "dir")))
		return node_kv(res, node) ? 0 : -1;
	nodes = cJSON_GetObjectItemCaseSensitive(node, "nodes");
	if (nodes && !cJSON_IsArray(nodes)) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "\"nodes\" is not an array");
		return -1;
	}
	cJSON_ArrayForEach(n, nodes)
		if (flatten(res, n, depth + 1) < 0)
			return -1;
	return 0;
}

static enum kvc_status error_status(uint64_t code)
{
	switch (code) {
	case 100:
		return KVC_NOT_FOUND;
	case 101:
		return KVC_CAS_FAILED;
	case 105:
		return KVC_EXISTS;
	case 401:
		return KVC_HISTORY_GONE;
	case 300:		/* Raft internal error: no leader, or a timeout */
	case 301:		/* during leader election */
	case 402:		/* standby internal error */
		return KVC_UNAVAILABLE;
	default:
		return KVC_REFUSED;
	}
}

static enum kvc_step watch_event(struct kvc_req *r, const cJSON *doc)
{
	const char *action = str(doc, "action");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(doc, "node");
	enum kvc_event_type type;
	struct kvc_kv *kv;

	if (!action || !cJSON_IsObject(node)) {
		kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "a watch answer without action or node");
		return KVC_STEP_RETRY;
	}
	if (!strcmp(action, "expire"))
		type = KVC_EV_EXPIRE;
	else if (!strcmp(action, "delete") || !strcmp(action, "compareAndDelete"))
		type = KVC_EV_DELETE;
	else
		type = KVC_EV_PUT;
	if (!(kv = node_kv(&r->res, node)))
		return KVC_STEP_RETRY;
	if (!kv->index || kv->index < r->next_index) {
		kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "an event with index %" PRIu64 " (waiting from %" PRIu64 ")",
			     kv->index, r->next_index);
		return KVC_STEP_RETRY;
	}
	r->next_index = kv->index + 1;
	/* A directory made or changed is not a key; one deleted or expired
	 * took its keys with it. */
	if (type == KVC_EV_PUT && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "dir")))
		return KVC_STEP_NEXT;
	if (type != KVC_EV_PUT)
		kv->value = "", kv->value_len = 0;
	kvc_watch_deliver(r, type, kv);
	return KVC_STEP_NEXT;
}

static enum kvc_step v2_answer(struct kvc_req *r, int status, const char *etcd_index,
			       const char *body, size_t len)
{
	struct kvc_res *res = &r->res;
	bool watch = r->op == KVC_OP_WATCH;
	const cJSON *node;
	uint64_t code;
	cJSON *doc;
	enum kvc_step s = KVC_STEP_DONE;

	kvc_res_reset(res);
	if (etcd_index)
		res->index = strtoull(etcd_index, NULL, 10);
	/* etcd ends a v2 watch that waited long with an empty answer. */
	if (watch && status == 200 && len == 0)
		return KVC_STEP_NEXT;
	doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		if (status >= 500) {
			kvc_res_fail(res, KVC_UNAVAILABLE, "HTTP %d", status);
			return watch ? KVC_STEP_RETRY : KVC_STEP_DONE;
		}
		kvc_res_fail(res, KVC_BAD_RESPONSE, "HTTP %d with a body that is not a JSON object", status);
		return watch ? KVC_STEP_RETRY : KVC_STEP_DONE;
	}
	if (num(doc, "errorCode", &code)) {
		const char *msg = str(doc, "message"), *cause = str(doc, "cause");
		enum kvc_status st = error_status(code);

		kvc_res_fail(res, st, "etcd error %" PRIu64 ": %s%s%s%s", code, msg ? msg : "",
			     cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
		num(doc, "index", &res->index);
		if (r->op == KVC_OP_LIST && st == KVC_NOT_FOUND)
			res->status = KVC_OK;	/* an empty listing */
		if (watch && st == KVC_UNAVAILABLE)
			s = KVC_STEP_RETRY;
		goto out;
	}
	if (status != 200 && status != 201) {
		kvc_res_fail(res, status >= 500 ? KVC_UNAVAILABLE : KVC_BAD_RESPONSE,
			     "HTTP %d without an etcd error", status);
		s = watch ? KVC_STEP_RETRY : KVC_STEP_DONE;
		goto out;
	}
	if (watch) {
		s = watch_event(r, doc);
		goto out;
	}
	node = cJSON_GetObjectItemCaseSensitive(doc, "node");
	switch (r->op) {
	case KVC_OP_GET:
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(node, "dir")))
			kvc_res_fail(res, KVC_REFUSED, "%s is a directory", r->key);
		else if (cJSON_IsObject(node))
			node_kv(res, node);
		else
			kvc_res_fail(res, KVC_BAD_RESPONSE, "an answer without a node");
		break;
	case KVC_OP_LIST:
		if (node && flatten(res, node, 0) == 0)
			kvc_res_sort(res);
		break;
	case KVC_OP_SET:
	case KVC_OP_REFRESH:
		if (!cJSON_IsObject(node))
			kvc_res_fail(res, KVC_BAD_RESPONSE, "an answer without a node");
		else
			node_kv(res, node);
		break;
	default:
		break;
	}
out:
	cJSON_Delete(doc);
	return s;
}

/* Every v2 operation is one request: only the reads may go again. A
 * refresh or revoke is a write (PUT, DELETE). */
static bool v2_resendable(const struct kvc_req *r)
{
	return r->op == KVC_OP_GET || r->op == KVC_OP_LIST || r->op == KVC_OP_WATCH;
}

const struct kvc_backend_ops kvc_v2_ops = {
	.build = v2_build,
	.answer = v2_answer,
	.stream_msg = NULL,
	.resendable = v2_resendable,
};
