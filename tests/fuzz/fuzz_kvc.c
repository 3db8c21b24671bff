/* libFuzzer: the KV client's decoding of what a store answers. The first
 * byte chooses the operation (bits 0-2), its step (bit 3), the HTTP status
 * (bits 4-6) and whether X-Etcd-Index came (bit 7); the second says where
 * to cut the stream; the rest is the body. It is decoded as a v2 answer and as a v3 answer, and fed to
 * the v3 watch stream's splitter in two pieces (split where the second
 * byte says). Nothing crashes, leaks or reads outside the input; a result
 * that is not KVC_OK has a message, and the keys of a result are within
 * the library's bounds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvc_int.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static unsigned events;

static void on_event(void *arg, const struct kvc_event *ev, const struct kvc_result *end)
{
	check(ev && ev->kv && ev->kv->key && ev->kv->value && ev->kv->value[ev->kv->value_len] == 0);
	events++;
}

static void check_res(const struct kvc_res *res)
{
	check(res->status == KVC_OK || res->msg[0]);
	check(res->n <= KVC_KEYS_MAX);
	for (size_t i = 0; i < res->n; i++)
		check(strlen(res->kvs[i].key) <= KVC_KEY_MAX && res->kvs[i].value[res->kvs[i].value_len] == 0);
}

static void req_init(struct kvc_req *r, enum kvc_op op, unsigned step)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->step = step;
	r->key = "/k";
	r->watch_fn = on_event;
	r->opts.ttl = step;
	r->opts.if_index = op == KVC_OP_DELETE ? 7 : 0;
	r->opts.if_absent = op == KVC_OP_SET && step;
}

static void req_done(struct kvc_req *r)
{
	kvc_res_reset(&r->res);
	buf_free(&r->split);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 200, 201, 400, 404, 412, 500, 503, 0 };
	struct kvc_req r;
	enum kvc_op op;
	unsigned step, cut;
	int status;
	const char *body;

	if (size < 2)
		return 0;
	op = (enum kvc_op)((data[0] & 7) % 7);
	step = data[0] >> 3 & 1;
	status = statuses[data[0] >> 4 & 7];
	cut = data[1];
	body = (const char *)data + 2;
	size -= 2;

	req_init(&r, op, step);
	kvc_v2_ops.answer(&r, status, (data[0] & 0x80) ? "12" : NULL, body, size);
	check_res(&r.res);
	req_done(&r);

	req_init(&r, op, step);
	kvc_v3_ops.answer(&r, status, NULL, body, size);
	check_res(&r.res);
	req_done(&r);

	req_init(&r, KVC_OP_WATCH, 0);
	if (cut > size)
		cut = (unsigned)size;
	if (kvc_split_feed(&r, body, cut) == KVC_STEP_MORE)
		kvc_split_feed(&r, body + cut, size - cut);
	check(r.split.len <= KVC_MSG_MAX + 1);
	req_done(&r);
	return 0;
}
