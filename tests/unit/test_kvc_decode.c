/* The KV client without a store: base64 and escaping, the watch stream's
 * splitter, and the decoding of answers recorded from etcd 3.4.23 (v2
 * keys API and v3 JSON gateway) into the one result model. The scenario
 * against real stores is tests/api/test_kvc.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvc_int.h"

static void b64_round_trips(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf e = BUF_INIT, d = BUF_INIT;

		assert_int_equal(kvc_b64_encode(&e, cases[i][0], strlen(cases[i][0])), 0);
		assert_string_equal(e.data ? e.data : "", cases[i][1]);
		assert_int_equal(kvc_b64_decode(&d, cases[i][1], strlen(cases[i][1])), 0);
		assert_int_equal(d.len, strlen(cases[i][0]));
		assert_memory_equal(d.data ? d.data : "", cases[i][0], d.len);
		buf_free(&e);
		buf_free(&d);
	}
}

static void b64_refuses_what_is_not(void **state)
{
	/* Every one a length multiple of 4: the padding and alphabet checks
	 * refuse them, not the length check. */
	static const char *const bad[] = { "Zg=A", "Z===", "Zg=a", "Zm9v!A==", "=Zg=", "Zm\n9", "Zm9v====",
					   "Zm9vY===", "Zg==Zg==", "Zm 9", "Zm9\0",
					   "Zh==", "Zm9=" };	/* the last two: bits under the padding */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf d = BUF_INIT;

		size_t n = strlen(bad[i]) == 3 ? 4 : strlen(bad[i]);	/* "Zm9\0": a NUL */

		assert_int_equal(n % 4, 0);
		if (kvc_b64_decode(&d, bad[i], n) != -EINVAL)
			fail_msg("case %zu (%s) decoded", i, bad[i]);
		buf_free(&d);
	}
}

static void url_escape_keeps_slashes_in_paths(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(kvc_url_escape(&b, "/a b/c&d=e%", 11, true), 0);
	assert_string_equal(b.data, "/a%20b/c%26d%3De%25");
	buf_reset(&b);
	assert_int_equal(kvc_url_escape(&b, "x/y+\xc3\xa9", 6, false), 0);
	assert_string_equal(b.data, "x%2Fy%2B%C3%A9");
	buf_free(&b);
}

/* --- a request to decode into ------------------------------------------------------- */

static struct buf transcript;

static void record(void *arg, const struct kvc_event *ev, const struct kvc_result *end)
{
	const char *t = ev->type == KVC_EV_PUT ? "put" : ev->type == KVC_EV_DELETE ? "delete" : "expire";

	buf_printf(&transcript, "%s %s=%s @%llu\n", t, ev->kv->key, ev->kv->value,
		   (unsigned long long)ev->kv->index);
}

static void req(struct kvc_req *r, enum kvc_op op, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->key = (char *)key;
	r->watch_fn = record;
	buf_reset(&transcript);
}

static void done(struct kvc_req *r)
{
	kvc_res_reset(&r->res);
	buf_free(&r->split);
	buf_free(&r->value);
}

#define ANSWER(ops, r, status, idx, body) (ops).answer((r), (status), (idx), (body), strlen(body))

static void v2_get_and_errors(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_GET, "/message");
	assert_int_equal(ANSWER(kvc_v2_ops, &r, 200, "4",
				"{\"action\":\"get\",\"node\":{\"key\":\"/message\",\"value\":\"Hello world\","
				"\"modifiedIndex\":4,\"createdIndex\":4}}\n"), KVC_STEP_DONE);
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.index, 4);
	assert_int_equal(r.res.n, 1);
	assert_string_equal(r.res.kvs[0].value, "Hello world");
	assert_int_equal(r.res.kvs[0].index, 4);
	done(&r);

	static const struct {
		const char *body;
		enum kvc_status status;
	} errors[] = {
		{ "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/x\",\"index\":4}", KVC_NOT_FOUND },
		{ "{\"errorCode\":101,\"message\":\"Compare failed\",\"cause\":\"[3 != 4]\",\"index\":4}", KVC_CAS_FAILED },
		{ "{\"errorCode\":105,\"message\":\"Key already exists\",\"cause\":\"/x\",\"index\":4}", KVC_EXISTS },
		{ "{\"errorCode\":102,\"message\":\"Not a file\",\"cause\":\"/d\",\"index\":4}", KVC_REFUSED },
		{ "{\"errorCode\":300,\"message\":\"Raft Internal Error\",\"cause\":\"etcdserver: request timed out\",\"index\":0}",
		  KVC_UNAVAILABLE },
		{ "<html>", KVC_BAD_RESPONSE },
		{ "{\"action\":\"get\"}", KVC_BAD_RESPONSE },
	};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		req(&r, KVC_OP_SET, "/x");
		assert_int_equal(ANSWER(kvc_v2_ops, &r, 400, NULL, errors[i].body), KVC_STEP_DONE);
		assert_int_equal(r.res.status, errors[i].status);
		assert_true(r.res.msg[0] != 0);
		done(&r);
	}
}

static void v2_list_flattens_and_sorts(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_LIST, "/d");
	ANSWER(kvc_v2_ops, &r, 200, "9",
	       "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,\"nodes\":["
	       "{\"key\":\"/d/z\",\"value\":\"1\",\"modifiedIndex\":5,\"createdIndex\":5},"
	       "{\"key\":\"/d/a\",\"dir\":true,\"nodes\":[{\"key\":\"/d/a/b\",\"value\":\"2\","
	       "\"expiration\":\"2026-12-02T04:00:00Z\",\"ttl\":7,\"modifiedIndex\":6,\"createdIndex\":6}],"
	       "\"modifiedIndex\":6,\"createdIndex\":6},"
	       "{\"key\":\"/d/empty\",\"dir\":true,\"modifiedIndex\":7,\"createdIndex\":7}],"
	       "\"modifiedIndex\":5,\"createdIndex\":5}}");
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.index, 9);
	assert_int_equal(r.res.n, 2);
	assert_string_equal(r.res.kvs[0].key, "/d/a/b");
	assert_int_equal(r.res.kvs[0].ttl, 7);
	assert_string_equal(r.res.kvs[1].key, "/d/z");
	done(&r);

	/* A missing directory is an empty listing. */
	req(&r, KVC_OP_LIST, "/nothing");
	ANSWER(kvc_v2_ops, &r, 404, "9",
	       "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/nothing\",\"index\":9}");
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.n, 0);
	assert_int_equal(r.res.index, 9);
	done(&r);
}

static void v2_watch_answers_become_events(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_WATCH, "/w");
	r.next_index = 5;
	assert_int_equal(ANSWER(kvc_v2_ops, &r, 200, "4",
				"{\"action\":\"expire\",\"node\":{\"key\":\"/w/a\",\"modifiedIndex\":6,"
				"\"createdIndex\":5},\"prevNode\":{\"key\":\"/w/a\",\"value\":\"x\","
				"\"modifiedIndex\":5,\"createdIndex\":5}}"), KVC_STEP_NEXT);
	assert_int_equal(r.next_index, 7);
	assert_int_equal(ANSWER(kvc_v2_ops, &r, 200, "4",
				"{\"action\":\"compareAndSwap\",\"node\":{\"key\":\"/w/b\",\"value\":\"y\","
				"\"modifiedIndex\":8,\"createdIndex\":3}}"), KVC_STEP_NEXT);
	assert_string_equal(transcript.data, "expire /w/a= @6\nput /w/b=y @8\n");
	/* An event from before the index asked for is a bad answer. */
	assert_int_equal(ANSWER(kvc_v2_ops, &r, 200, "4",
				"{\"action\":\"set\",\"node\":{\"key\":\"/w/b\",\"value\":\"y\","
				"\"modifiedIndex\":3,\"createdIndex\":3}}"), KVC_STEP_RETRY);
	assert_int_equal(ANSWER(kvc_v2_ops, &r, 400, "1020",
				"{\"errorCode\":401,\"message\":\"The event in requested index is outdated and "
				"cleared\",\"cause\":\"the requested history has been cleared [1010/9]\","
				"\"index\":1020}"), KVC_STEP_DONE);
	assert_int_equal(r.res.status, KVC_HISTORY_GONE);
	done(&r);
}

static void v3_range_and_txn(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_GET, "foo");
	ANSWER(kvc_v3_ops, &r, 200, NULL,
	       "{\"header\":{\"cluster_id\":\"7801232528081817440\",\"member_id\":\"13458989633860879742\","
	       "\"revision\":\"3\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
	       "\"mod_revision\":\"3\",\"version\":\"2\",\"value\":\"YmFy\",\"lease\":\"5007618183702264076\"}],"
	       "\"count\":\"1\"}");
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.index, 3);
	assert_string_equal(r.res.kvs[0].key, "foo");
	assert_string_equal(r.res.kvs[0].value, "bar");
	assert_int_equal(r.res.kvs[0].index, 3);
	assert_int_equal(r.res.kvs[0].created, 2);
	assert_true(r.res.kvs[0].lease == 5007618183702264076ull);
	done(&r);

	req(&r, KVC_OP_GET, "nope");
	ANSWER(kvc_v3_ops, &r, 200, NULL, "{\"header\":{\"revision\":\"3\"}}");
	assert_int_equal(r.res.status, KVC_NOT_FOUND);
	done(&r);

	/* A compare-and-swap whose comparison failed: the key is there. */
	req(&r, KVC_OP_SET, "foo");
	r.opts.if_index = 2;
	ANSWER(kvc_v3_ops, &r, 200, NULL,
	       "{\"header\":{\"revision\":\"3\"},\"responses\":[{\"response_range\":{\"header\":"
	       "{\"revision\":\"3\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"3\","
	       "\"version\":\"2\",\"value\":\"YmFy\"}],\"count\":\"1\"}}]}");
	assert_int_equal(r.res.status, KVC_CAS_FAILED);
	done(&r);

	/* ... and it is not. */
	req(&r, KVC_OP_SET, "foo");
	r.opts.if_index = 2;
	ANSWER(kvc_v3_ops, &r, 200, NULL,
	       "{\"header\":{\"revision\":\"3\"},\"responses\":[{\"response_range\":{\"header\":"
	       "{\"revision\":\"3\"}}}]}");
	assert_int_equal(r.res.status, KVC_NOT_FOUND);
	done(&r);

	req(&r, KVC_OP_SET, "foo");
	r.opts.if_index = 3;
	ANSWER(kvc_v3_ops, &r, 200, NULL, "{\"header\":{\"revision\":\"4\"},\"succeeded\":true,"
	       "\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"4\"}}}]}");
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.kvs[0].index, 4);
	done(&r);

	req(&r, KVC_OP_REVOKE, "foo");
	r.step = 1;
	ANSWER(kvc_v3_ops, &r, 404, NULL, "{\"error\":\"etcdserver: requested lease not found\","
	       "\"message\":\"etcdserver: requested lease not found\",\"code\":5}");
	assert_int_equal(r.res.status, KVC_NOT_FOUND);
	done(&r);

	/* A lease that expired: keepalive answers without a TTL. */
	req(&r, KVC_OP_REFRESH, "foo");
	r.step = 1;
	r.lease = 12345;
	ANSWER(kvc_v3_ops, &r, 200, NULL, "{\"result\":{\"header\":{\"revision\":\"3\"},\"ID\":\"12345\"}}\n");
	assert_int_equal(r.res.status, KVC_NOT_FOUND);
	done(&r);
}

static void v3_watch_stream_in_any_pieces(void **state)
{
	static const char stream[] =
		"{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":true}}\n"
		"{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":\"YWI=\","
		"\"create_revision\":\"5\",\"mod_revision\":\"6\",\"version\":\"2\",\"value\":\"e30=\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"YWI=\",\"mod_revision\":\"7\"}}]}}\n"
		"{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"6\"}}\n";
	size_t len = strlen(stream);

	/* Every cut gives the same transcript: strings holding braces and
	 * quotes do not confuse the splitter. */
	for (size_t cut = 0; cut <= len; cut++) {
		struct kvc_req r;
		enum kvc_step s;

		req(&r, KVC_OP_WATCH, "a");
		r.next_index = 6;
		s = kvc_split_feed(&r, stream, cut);
		if (s == KVC_STEP_MORE)
			s = kvc_split_feed(&r, stream + cut, len - cut);
		assert_int_equal(s, KVC_STEP_DONE);
		assert_int_equal(r.res.status, KVC_HISTORY_GONE);
		assert_int_equal(r.res.index, 6);
		assert_string_equal(transcript.data, "put ab={} @6\ndelete ab= @7\n");
		assert_int_equal(r.next_index, 8);
		done(&r);
	}
}

/* Several events at one revision (a txn, a prefix delete, a lease
 * expiring) are all delivered; after a reconnection from the index past a
 * revision, none of it comes again. */
static void v3_watch_delivers_every_event_of_a_revision(void **state)
{
	static const char msg[] =
		"{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":["
		"{\"kv\":{\"key\":\"YQ==\",\"create_revision\":\"5\",\"mod_revision\":\"7\",\"value\":\"MQ==\"}},"
		"{\"kv\":{\"key\":\"Yg==\",\"create_revision\":\"8\",\"mod_revision\":\"8\",\"value\":\"Mg==\"}},"
		"{\"kv\":{\"key\":\"Yw==\",\"create_revision\":\"8\",\"mod_revision\":\"8\",\"value\":\"Mw==\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"9\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"9\"}}]}}";
	struct kvc_req r;

	req(&r, KVC_OP_WATCH, "");
	r.next_index = 7;
	assert_int_equal(kvc_split_feed(&r, msg, strlen(msg)), KVC_STEP_MORE);
	assert_string_equal(transcript.data, "put a=1 @7\nput b=2 @8\nput c=3 @8\ndelete a= @9\ndelete b= @9\n");
	assert_int_equal(r.next_index, 10);
	done(&r);

	/* Connected again from 8: the event at 7 was delivered, those at 8
	 * and 9 were not. */
	req(&r, KVC_OP_WATCH, "");
	r.next_index = 8;
	assert_int_equal(kvc_split_feed(&r, msg, strlen(msg)), KVC_STEP_MORE);
	assert_string_equal(transcript.data, "put b=2 @8\nput c=3 @8\ndelete a= @9\ndelete b= @9\n");
	assert_int_equal(r.next_index, 10);
	done(&r);

	/* A bad event in a message delivers none of it, and next_index stays. */
	static const char bad[] =
		"{\"result\":{\"header\":{\"revision\":\"8\"},\"events\":["
		"{\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"8\",\"value\":\"Mg==\"}},"
		"{\"kv\":{\"key\":\"!!\",\"mod_revision\":\"8\"}}]}}";
	req(&r, KVC_OP_WATCH, "");
	r.next_index = 8;
	assert_int_equal(kvc_split_feed(&r, bad, strlen(bad)), KVC_STEP_RETRY);
	assert_int_equal(r.res.status, KVC_BAD_RESPONSE);
	assert_int_equal(transcript.len, 0);
	assert_int_equal(r.next_index, 8);
	done(&r);
}

/* gRPC OUT_OF_RANGE is lost history only for a watch; refusing codes end
 * a watch (KVC_REFUSED) where others make it connect again. */
static void v3_error_codes(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_GET, "foo");
	ANSWER(kvc_v3_ops, &r, 400, NULL, "{\"error\":\"etcdserver: mvcc: required revision has been "
	       "compacted\",\"message\":\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}");
	assert_int_equal(r.res.status, KVC_REFUSED);
	done(&r);

	static const struct {
		int http;
		const char *body;
		enum kvc_step step;
		enum kvc_status status;
	} watch[] = {
		{ 403, "{\"error\":\"etcdserver: permission denied\",\"code\":7}", KVC_STEP_DONE, KVC_REFUSED },
		{ 401, "{\"error\":\"etcdserver: invalid auth token\",\"code\":16}", KVC_STEP_DONE, KVC_REFUSED },
		{ 400, "{\"error\":\"bad\",\"code\":3}", KVC_STEP_DONE, KVC_REFUSED },
		{ 404, "<html>", KVC_STEP_DONE, KVC_REFUSED },
		{ 503, "{\"error\":\"etcdserver: no leader\",\"code\":14}", KVC_STEP_RETRY, KVC_UNAVAILABLE },
		{ 502, "<html>", KVC_STEP_RETRY, KVC_UNAVAILABLE },
	};
	for (size_t i = 0; i < sizeof(watch) / sizeof(watch[0]); i++) {
		req(&r, KVC_OP_WATCH, "a");
		assert_int_equal(ANSWER(kvc_v3_ops, &r, watch[i].http, NULL, watch[i].body), watch[i].step);
		assert_int_equal(r.res.status, watch[i].status);
		done(&r);
	}

	static const char *const stream[] = {
		"{\"error\":{\"grpc_code\":7,\"http_code\":403,\"message\":\"etcdserver: permission denied\"}}",
		"{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: invalid auth token\"}}",
	};
	for (size_t i = 0; i < sizeof(stream) / sizeof(stream[0]); i++) {
		req(&r, KVC_OP_WATCH, "a");
		assert_int_equal(kvc_split_feed(&r, stream[i], strlen(stream[i])), KVC_STEP_DONE);
		assert_int_equal(r.res.status, KVC_REFUSED);
		done(&r);
	}
	/* Unavailable, or cancelled by a store shutting down: connect again. */
	static const char *const again[] = {
		"{\"error\":{\"grpc_code\":14,\"message\":\"x\"}}",
		"{\"error\":{\"grpc_code\":1,\"http_code\":408,\"message\":\"grpc: the client connection is closing\"}}",
	};
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		req(&r, KVC_OP_WATCH, "a");
		assert_int_equal(kvc_split_feed(&r, again[i], strlen(again[i])), KVC_STEP_RETRY);
		assert_int_equal(r.res.status, KVC_UNAVAILABLE);
		done(&r);
	}
}

/* A set with a TTL reports the TTL the store granted, and only the reads
 * of each backend may be sent again. */
static void v3_granted_ttl_and_resending(void **state)
{
	struct kvc_req r;

	req(&r, KVC_OP_SET, "foo");
	r.opts.ttl = 5;
	assert_int_equal(ANSWER(kvc_v3_ops, &r, 200, NULL, "{\"header\":{\"revision\":\"3\"},\"ID\":\"77\","
				"\"TTL\":\"10\"}"), KVC_STEP_NEXT);
	assert_int_equal(ANSWER(kvc_v3_ops, &r, 200, NULL, "{\"header\":{\"revision\":\"4\"}}"), KVC_STEP_DONE);
	assert_int_equal(r.res.status, KVC_OK);
	assert_int_equal(r.res.kvs[0].ttl, 10);
	assert_int_equal(r.res.kvs[0].lease, 77);
	done(&r);

	static const struct {
		enum kvc_op op;
		unsigned step;
		bool v2, v3;
	} cases[] = {
		{ KVC_OP_GET, 0, true, true },
		{ KVC_OP_LIST, 0, true, true },
		{ KVC_OP_WATCH, 0, true, true },
		{ KVC_OP_SET, 0, false, false },
		{ KVC_OP_DELETE, 0, false, false },
		{ KVC_OP_REFRESH, 0, false, true },	/* v2: a PUT; v3: a range */
		{ KVC_OP_REVOKE, 0, false, true },	/* v2: a DELETE; v3: a range */
		{ KVC_OP_REFRESH, 1, false, false },
		{ KVC_OP_REVOKE, 1, false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(&r, cases[i].op, "foo");
		r.step = cases[i].step;
		assert_int_equal(kvc_v2_ops.resendable(&r), cases[i].v2);
		assert_int_equal(kvc_v3_ops.resendable(&r), cases[i].v3);
	}
}

static void v3_watch_stream_garbage_and_size(void **state)
{
	struct kvc_req r;
	char *big;

	req(&r, KVC_OP_WATCH, "a");
	assert_int_equal(kvc_split_feed(&r, " \n[1]", 5), KVC_STEP_RETRY);
	assert_int_equal(r.res.status, KVC_BAD_RESPONSE);
	done(&r);

	req(&r, KVC_OP_WATCH, "a");
	assert_int_equal(kvc_split_feed(&r, "{\"x\":1}", 7), KVC_STEP_RETRY);
	done(&r);

	big = malloc(KVC_MSG_MAX + 2);
	assert_non_null(big);
	big[0] = '{';
	memset(big + 1, ' ', KVC_MSG_MAX + 1);
	req(&r, KVC_OP_WATCH, "a");
	assert_int_equal(kvc_split_feed(&r, big, KVC_MSG_MAX + 2), KVC_STEP_RETRY);
	assert_int_equal(r.res.status, KVC_BAD_RESPONSE);
	done(&r);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64_round_trips),
		cmocka_unit_test(b64_refuses_what_is_not),
		cmocka_unit_test(url_escape_keeps_slashes_in_paths),
		cmocka_unit_test(v2_get_and_errors),
		cmocka_unit_test(v2_list_flattens_and_sorts),
		cmocka_unit_test(v2_watch_answers_become_events),
		cmocka_unit_test(v3_range_and_txn),
		cmocka_unit_test(v3_watch_stream_in_any_pieces),
		cmocka_unit_test(v3_watch_delivers_every_event_of_a_revision),
		cmocka_unit_test(v3_error_codes),
		cmocka_unit_test(v3_granted_ttl_and_resending),
		cmocka_unit_test(v3_watch_stream_garbage_and_size),
	};
	int rc = cmocka_run_group_tests_name("kvc", tests, NULL, NULL);

	buf_free(&transcript);
	return rc;
}
