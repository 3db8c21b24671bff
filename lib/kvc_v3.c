/*
 * The KV client's v3 backend: etcd's JSON gateway to its gRPC API (etcd
 * 3.4 serves it at /v3/ and /v3beta/). Keys and values travel base64, 64-
 * bit numbers as decimal strings, fields holding zero are left out.
 *
 *   get, list      POST /v3/kv/range (a prefix: range_end = prefix + 1)
 *   set            POST /v3/kv/put, or /v3/kv/txn when conditional
 *                  (create_revision == 0, mod_revision == N); with a TTL,
 *                  /v3/lease/grant first and the put carries the lease
 *   delete         POST /v3/kv/deleterange, or a txn when conditional
 *   refresh        the key's lease from a range, then /v3/lease/keepalive
 *   revoke         the key's lease from a range, then /v3/lease/revoke
 *   watch          POST /v3/watch: a stream of {"result":{...}} objects
 *
 * A conditional txn reads the key when the comparison fails, so that a
 * missing key (KVC_NOT_FOUND) and a changed one (KVC_CAS_FAILED) are told
 * apart as the v2 API tells them. A lease granted for a set whose txn then
 * fails is left to expire.
 */
#include "kvc_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "json.h"

/* --- requests ------------------------------------------------------------------ */

static void put_b64(struct json *j, const char *name, const void *data, size_t len)
{
	struct buf b = BUF_INIT;

	if (kvc_b64_encode(&b, data, len) < 0) {
		j->err = -ENOMEM;
		return;
	}
	json_key(j, name);
	json_strn(j, b.data ? b.data : "", b.len);
	buf_free(&b);
}

static void put_u64(struct json *j, const char *name, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	json_key(j, name);
	json_str(j, s);
}

/* The end of a prefix's range: the prefix with its last byte that is not
 * 0xff incremented and what follows dropped; "\0" (every key) for a prefix
 * that has none. */
static size_t prefix_end(const char *prefix, char *end)
{
	size_t n = strlen(prefix);

	memcpy(end, prefix, n);
	while (n && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (!n) {
		end[0] = 0;
		return 1;
	}
	end[n - 1]++;
	return n;
}

/* "key" (and "range_end" for a prefix) of r's key. */
static void put_key(struct json *j, struct kvc_req *r, bool prefix)
{
	static char end[KVC_KEY_MAX + 1];
	size_t n = strlen(r->key);

	if (prefix && !n) {
		put_b64(j, "key", "", 1);
		put_b64(j, "range_end", "", 1);
		return;
	}
	put_b64(j, "key", r->key, n);
	if (prefix) {
		n = prefix_end(r->key, end);
		put_b64(j, "range_end", end, n);
	}
}

static void put_request(struct json *j, struct kvc_req *r)
{
	json_obj_begin(j);
	put_key(j, r, false);
	put_b64(j, "value", r->value.data ? r->value.data : "", r->value.len);
	if (r->lease)
		put_u64(j, "lease", r->lease);
	json_obj_end(j);
}

/* A txn: compare, then op on success, else read the key. */
static void txn(struct json *j, struct kvc_req *r)
{
	json_key(j, "compare");
	json_arr_begin(j);
	json_obj_begin(j);
	put_key(j, r, false);
	if (r->opts.if_absent) {
		json_key(j, "target");
		json_str(j, "CREATE");
		put_u64(j, "create_revision", 0);
	} else {
		json_key(j, "target");
		json_str(j, "MOD");
		put_u64(j, "mod_revision", r->opts.if_index);
	}
	json_key(j, "result");
	json_str(j, "EQUAL");
	json_obj_end(j);
	json_arr_end(j);

	json_key(j, "success");
	json_arr_begin(j);
	json_obj_begin(j);
	if (r->op == KVC_OP_SET) {
		json_key(j, "request_put");
		put_request(j, r);
	} else {
		json_key(j, "request_delete_range");
		json_obj_begin(j);
		put_key(j, r, false);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_arr_end(j);

	json_key(j, "failure");
	json_arr_begin(j);
	json_obj_begin(j);
	json_key(j, "request_range");
	json_obj_begin(j);
	put_key(j, r, false);
	json_obj_end(j);
	json_obj_end(j);
	json_arr_end(j);
}

static int v3_build(struct kvc_req *r, struct kvc_http *h)
{
	bool cond = r->opts.if_absent || r->opts.if_index;
	const char *path;
	struct json j;

	h->method = "POST";
	h->content_type = "application/json";
	json_init(&j, &h->body, false);
	json_obj_begin(&j);
	switch (r->op) {
	case KVC_OP_GET:
	case KVC_OP_LIST:
		path = "/v3/kv/range";
		put_key(&j, r, r->op == KVC_OP_LIST);
		break;
	case KVC_OP_SET:
		if (r->opts.ttl && r->step == 0) {
			path = "/v3/lease/grant";
			put_u64(&j, "TTL", r->opts.ttl);
		} else if (cond) {
			path = "/v3/kv/txn";
			txn(&j, r);
		} else {
			/* The members of a put request, at the top level. */
			path = "/v3/kv/put";
			put_key(&j, r, false);
			put_b64(&j, "value", r->value.data ? r->value.data : "", r->value.len);
			if (r->lease)
				put_u64(&j, "lease", r->lease);
		}
		break;
	case KVC_OP_DELETE:
		if (cond) {
			path = "/v3/kv/txn";
			txn(&j, r);
		} else {
			path = "/v3/kv/deleterange";
			put_key(&j, r, false);
		}
		break;
	case KVC_OP_REFRESH:
	case KVC_OP_REVOKE:
		if (r->step == 0) {
			path = "/v3/kv/range";
			put_key(&j, r, false);
		} else {
			path = r->op == KVC_OP_REFRESH ? "/v3/lease/keepalive" : "/v3/lease/revoke";
			put_u64(&j, "ID", r->lease);
		}
		break;
	case KVC_OP_WATCH:
	default:
		path = "/v3/watch";
		json_key(&j, "create_request");
		json_obj_begin(&j);
		put_key(&j, r, true);
		if (r->next_index)
			put_u64(&j, "start_revision", r->next_index);
		/* An idle watch hears from etcd every 10 minutes: a stream
		 * silent for longer is a stuck one (KVC_WATCH_IDLE_MS). */
		json_key(&j, "progress_notify");
		json_bool(&j, true);
		json_obj_end(&j);
		break;
	}
	json_obj_end(&j);
	if (json_end(&j) < 0)
		return -ENOMEM;
	return buf_puts(&h->target, path);
}

/* --- answers ---------------------------------------------------------------------- */

/* A 64-bit number, as the gateway writes it (a string) or as a number. */
static bool u64(const cJSON *o, const char *name, uint64_t *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;

	if (cJSON_IsString(n) && n->valuestring[0] >= '0' && n->valuestring[0] <= '9') {
		errno = 0;
		*v = strtoull(n->valuestring, &end, 10);
		return !*end && !errno;
	}
	if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= 9007199254740992.0) {
		*v = (uint64_t)n->valuedouble;
		return true;
	}
	return false;
}

static uint64_t u64_or_0(const cJSON *o, const char *name)
{
	uint64_t v = 0;

	return u64(o, name, &v) ? v : 0;
}

/* A base64 field into out; absent is empty. */
static bool b64_field(const cJSON *o, const char *name, struct buf *out)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);

	buf_reset(out);
	if (!s)
		return buf_append(out, "", 0) == 0;
	return cJSON_IsString(s) && kvc_b64_decode(out, s->valuestring, strlen(s->valuestring)) == 0;
}

/* A mvccpb.KeyValue into the result. NULL: r->res says why. */
static struct kvc_kv *kv_add(struct kvc_res *res, const cJSON *o)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	struct kvc_kv *kv = NULL;

	if (!cJSON_IsObject(o) || !b64_field(o, "key", &key) || !key.len || !b64_field(o, "value", &value)) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "a key-value that is not one (bad key or value)");
		goto out;
	}
	if (strlen(key.data) != key.len) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "a key with a NUL byte");
		goto out;
	}
	if (!(kv = kvc_res_add(res, key.data, key.len, value.data, value.len))) {
		kvc_res_fail(res, res->n >= KVC_KEYS_MAX ? KVC_BAD_RESPONSE : KVC_NOMEM,
			     res->n >= KVC_KEYS_MAX ? "more than %d keys" : "out of memory", KVC_KEYS_MAX);
		goto out;
	}
	kv->index = u64_or_0(o, "mod_revision");
	kv->created = u64_or_0(o, "create_revision");
	kv->lease = u64_or_0(o, "lease");
out:
	buf_free(&key);
	buf_free(&value);
	return kv;
}

/* Every key-value of a range answer. -1: r->res says why. */
static int kvs_add(struct kvc_res *res, const cJSON *range)
{
	const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(range, "kvs"), *o;

	if (kvs && !cJSON_IsArray(kvs)) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "\"kvs\" is not an array");
		return -1;
	}
	cJSON_ArrayForEach(o, kvs)
		if (!kv_add(res, o))
			return -1;
	return 0;
}

static enum kvc_status grpc_status(uint64_t code, int http, bool watch)
{
	switch (code) {
	case 3:			/* INVALID_ARGUMENT */
	case 7:			/* PERMISSION_DENIED */
	case 16:		/* UNAUTHENTICATED */
		return KVC_REFUSED;
	case 5:			/* NOT_FOUND: a lease */
		return KVC_NOT_FOUND;
	case 4:			/* DEADLINE_EXCEEDED */
		return KVC_TIMEOUT;
	case 14:		/* UNAVAILABLE */
	case 13:		/* INTERNAL */
	case 10:		/* ABORTED */
		return KVC_UNAVAILABLE;
	case 11:		/* OUT_OF_RANGE: a watch's revision compacted */
		return watch ? KVC_HISTORY_GONE : KVC_REFUSED;
	default:
		/* A watch's stream reports errors in a 200 answer: only the
		 * codes above, or an HTTP 4xx, say the store refuses it
		 * (CANCELED from a store shutting down is not a refusal). */
		if (watch)
			return http >= 400 && http < 500 ? KVC_REFUSED : KVC_UNAVAILABLE;
		return http >= 500 ? KVC_UNAVAILABLE : KVC_REFUSED;
	}
}

/* {"error":...,"code":N} or the stream's {"error":{"grpc_code":N,"message":...}}. */
static void error_answer(struct kvc_res *res, const cJSON *doc, int status, bool watch)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const char *msg = NULL;
	uint64_t code = 0;

	if (cJSON_IsObject(err)) {
		u64(err, "grpc_code", &code);
		msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
	} else {
		u64(doc, "code", &code);
		msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "message"));
		if (!msg)
			msg = cJSON_GetStringValue(err);
	}
	kvc_res_fail(res, grpc_status(code, status, watch), "HTTP %d, gRPC code %" PRIu64 ": %s", status, code,
		     msg ? msg : "(no message)");
}

/* The result's one key, after a write: what was sent, at the answer's
 * revision. */
static void written(struct kvc_req *r)
{
	struct kvc_kv *kv = kvc_res_add(&r->res, r->key, strlen(r->key), r->value.data ? r->value.data : "",
					r->value.len);

	if (!kv) {
		kvc_res_fail(&r->res, KVC_NOMEM, "out of memory");
		return;
	}
	kv->index = r->res.index;
	kv->lease = r->lease;
	kv->ttl = r->lease ? r->lease_ttl : 0;
}

/* A txn that failed read the key instead: absent, or changed. */
static void txn_failed(struct kvc_req *r, const cJSON *doc)
{
	const cJSON *resp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "responses"), 0);
	const cJSON *range = cJSON_GetObjectItemCaseSensitive(resp, "response_range");
	const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(range, "kvs");

	if (!cJSON_IsObject(range)) {
		kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "a failed txn without its range");
		return;
	}
	if (r->opts.if_absent)
		kvc_res_fail(&r->res, KVC_EXISTS, "%s exists", r->key);
	else if (!cJSON_GetArraySize(kvs))
		kvc_res_fail(&r->res, KVC_NOT_FOUND, "%s not found", r->key);
	else
		kvc_res_fail(&r->res, KVC_CAS_FAILED, "%s: index %" PRIu64 " is not %" PRIu64, r->key,
			     u64_or_0(cJSON_GetArrayItem(kvs, 0), "mod_revision"), r->opts.if_index);
}

/* The lease of the key a range answered, for refresh and revoke. */
static enum kvc_step lease_of_key(struct kvc_req *r, const cJSON *doc)
{
	const cJSON *kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "kvs"), 0);

	if (!kv) {
		kvc_res_fail(&r->res, KVC_NOT_FOUND, "%s not found", r->key);
		return KVC_STEP_DONE;
	}
	if (!(r->lease = u64_or_0(kv, "lease"))) {
		kvc_res_fail(&r->res, KVC_REFUSED, "%s has no TTL (no lease)", r->key);
		return KVC_STEP_DONE;
	}
	r->step = 1;
	return KVC_STEP_NEXT;
}

static enum kvc_step v3_answer(struct kvc_req *r, int status, const char *etcd_index,
			       const char *body, size_t len)
{
	struct kvc_res *res = &r->res;
	enum kvc_step s = KVC_STEP_DONE;
	const cJSON *result;
	cJSON *doc;
	uint64_t v;

	kvc_res_reset(res);
	doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		if (r->op == KVC_OP_WATCH) {
			/* A watch the store refuses ends; one it cannot serve
			 * now goes on. */
			if (status >= 400 && status < 500) {
				kvc_res_fail(res, KVC_REFUSED, "HTTP %d", status);
				return KVC_STEP_DONE;
			}
			kvc_res_fail(res, status >= 500 ? KVC_UNAVAILABLE : KVC_BAD_RESPONSE,
				     "HTTP %d with a body that is not a JSON object", status);
			return KVC_STEP_RETRY;
		}
		kvc_res_fail(res, status >= 500 ? KVC_UNAVAILABLE : KVC_BAD_RESPONSE,
			     "HTTP %d with a body that is not a JSON object", status);
		return KVC_STEP_DONE;
	}
	/* A keepalive answers as a stream: one {"result":...}. */
	result = cJSON_GetObjectItemCaseSensitive(doc, "result");
	if (!cJSON_IsObject(result))
		result = doc;
	if (status != 200 || cJSON_GetObjectItemCaseSensitive(doc, "error")) {
		error_answer(res, doc, status, r->op == KVC_OP_WATCH);
		/* A watch refused (HTTP 4xx, or a refusing gRPC code) ends. */
		if (r->op == KVC_OP_WATCH && status >= 400 && status < 500 && res->status != KVC_HISTORY_GONE)
			res->status = KVC_REFUSED;
		goto out;
	}
	res->index = u64_or_0(cJSON_GetObjectItemCaseSensitive(result, "header"), "revision");
	switch (r->op) {
	case KVC_OP_GET:
		if (kvs_add(res, result) == 0 && res->n == 0)
			kvc_res_fail(res, KVC_NOT_FOUND, "%s not found", r->key);
		break;
	case KVC_OP_LIST:
		if (kvs_add(res, result) == 0)
			kvc_res_sort(res);
		break;
	case KVC_OP_SET:
		if (r->opts.ttl && r->step == 0) {
			if (!u64(result, "ID", &r->lease) || !r->lease) {
				kvc_res_fail(res, KVC_BAD_RESPONSE, "a lease grant without an ID");
				break;
			}
			/* The store may grant another TTL than the one asked for. */
			r->lease_ttl = u64(result, "TTL", &v) ? (int64_t)v : (int64_t)r->opts.ttl;
			r->step = 1;
			s = KVC_STEP_NEXT;
		} else if ((r->opts.if_absent || r->opts.if_index) &&
			   !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "succeeded"))) {
			txn_failed(r, result);
		} else {
			written(r);
		}
		break;
	case KVC_OP_DELETE:
		if (r->opts.if_index) {
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "succeeded")))
				txn_failed(r, result);
		} else if (u64_or_0(result, "deleted") == 0) {
			kvc_res_fail(res, KVC_NOT_FOUND, "%s not found", r->key);
		}
		break;
	case KVC_OP_REFRESH:
		if (r->step == 0) {
			s = lease_of_key(r, result);
		} else if (!u64(result, "TTL", &v) || !v) {
			kvc_res_fail(res, KVC_NOT_FOUND, "%s: its lease has expired", r->key);
		} else {
			struct kvc_kv *kv = kvc_res_add(res, r->key, strlen(r->key), "", 0);

			if (!kv) {
				kvc_res_fail(res, KVC_NOMEM, "out of memory");
				break;
			}
			kv->ttl = (int64_t)v;
			kv->lease = r->lease;
		}
		break;
	case KVC_OP_REVOKE:
		if (r->step == 0)
			s = lease_of_key(r, result);
		break;
	case KVC_OP_WATCH:
		kvc_res_fail(res, KVC_BAD_RESPONSE, "a watch answer that is not a stream");
		s = KVC_STEP_RETRY;
		break;
	}
out:
	cJSON_Delete(doc);
	if (r->op == KVC_OP_WATCH && s == KVC_STEP_DONE && res->status != KVC_HISTORY_GONE &&
	    res->status != KVC_REFUSED)
		s = KVC_STEP_RETRY;
	return s;
}

/* One message of a watch stream. */
static enum kvc_step v3_stream_msg(struct kvc_req *r, const char *msg, size_t len)
{
	struct kvc_res *res = &r->res;
	const cJSON *result, *events, *ev;
	enum kvc_step s = KVC_STEP_MORE;
	cJSON *doc = cJSON_ParseWithLength(msg, len);
	uint64_t rev, compact = 0, from;
	size_t i;

	kvc_res_reset(res);
	result = cJSON_GetObjectItemCaseSensitive(doc, "result");
	if (!cJSON_IsObject(result)) {
		if (cJSON_IsObject(doc) && cJSON_GetObjectItemCaseSensitive(doc, "error"))
			error_answer(res, doc, 200, true);
		else
			kvc_res_fail(res, KVC_BAD_RESPONSE, "a watch message without a result");
		/* Refused (gRPC InvalidArgument, PermissionDenied,
		 * Unauthenticated) or compacted: the watch ends. */
		s = res->status == KVC_REFUSED || res->status == KVC_HISTORY_GONE ? KVC_STEP_DONE
										     : KVC_STEP_RETRY;
		goto out;
	}
	rev = u64_or_0(cJSON_GetObjectItemCaseSensitive(result, "header"), "revision");
	if (u64(result, "compact_revision", &compact) && compact) {
		res->index = compact;
		kvc_res_fail(res, KVC_HISTORY_GONE, "events before index %" PRIu64 " were compacted", compact);
		s = KVC_STEP_DONE;
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "canceled"))) {
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "cancel_reason"));

		kvc_res_fail(res, KVC_UNAVAILABLE, "the watch was cancelled: %s", why ? why : "(no reason)");
		s = KVC_STEP_RETRY;
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "created")) && !r->next_index && rev)
		r->next_index = rev + 1;
	events = cJSON_GetObjectItemCaseSensitive(result, "events");
	if (events && !cJSON_IsArray(events)) {
		kvc_res_fail(res, KVC_BAD_RESPONSE, "\"events\" is not an array");
		s = KVC_STEP_RETRY;
		goto out;
	}
	/* Every event of the message is decoded before any is delivered: a
	 * bad one makes the watch connect again from next_index, which must
	 * not have moved past events not delivered yet. */
	cJSON_ArrayForEach(ev, events) {
		if (!kv_add(res, cJSON_GetObjectItemCaseSensitive(ev, "kv"))) {
			s = KVC_STEP_RETRY;
			goto out;
		}
	}
	/* One revision may hold many events (a txn, a prefix delete, a lease
	 * expiring): all share its index. etcd does not split a revision
	 * over messages, so the events before the threshold taken once here
	 * were delivered before a reconnection, and every event from it is
	 * new. */
	from = r->next_index;
	i = 0;
	cJSON_ArrayForEach(ev, events) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
		struct kvc_kv *kv = &res->kvs[i++];

		if (kv->index < from)
			continue;
		if (kv->index + 1 > r->next_index)
			r->next_index = kv->index + 1;
		if (!kvc_watch_deliver(r, type && !strcmp(type, "DELETE") ? KVC_EV_DELETE : KVC_EV_PUT, kv))
			goto out;
	}
	/* A healthy stream (events, or a progress notification) ends the
	 * pause of an earlier failure; a watch created only to be cancelled
	 * does not. */
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "created")))
		r->retry_ms = 0;
	kvc_res_reset(res);
out:
	cJSON_Delete(doc);
	return s;
}

/* Reads may go again: a range (get, list, and the first step of refresh
 * and revoke) and a watch. */
static bool v3_resendable(const struct kvc_req *r)
{
	switch (r->op) {
	case KVC_OP_GET:
	case KVC_OP_LIST:
	case KVC_OP_WATCH:
		return true;
	case KVC_OP_REFRESH:
	case KVC_OP_REVOKE:
		return r->step == 0;
	default:
		return false;
	}
}

const struct kvc_backend_ops kvc_v3_ops = {
	.build = v3_build,
	.answer = v3_answer,
	.stream_msg = v3_stream_msg,
	.resendable = v3_resendable,
};
