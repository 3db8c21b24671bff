/*
 * The KV client's pieces without I/O: results and events, the splitter
 * for streams of JSON objects, base64 (decoding is lib/base64.c's) and
 * percent-encoding.
 */
#include "kvc_int.h"

#include "base64.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- results ---------------------------------------------------------------- */

void kvc_res_reset(struct kvc_res *res)
{
	for (size_t i = 0; i < res->n; i++)
		free((char *)res->kvs[i].key);
	free(res->kvs);
	memset(res, 0, sizeof(*res));
}

enum kvc_step kvc_res_fail(struct kvc_res *res, enum kvc_status s, const char *fmt, ...)
{
	va_list ap;

	res->status = s;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return KVC_STEP_DONE;
}

/* The key and the value share one allocation, key first. */
struct kvc_kv *kvc_res_add(struct kvc_res *res, const char *key, size_t key_len,
			   const void *value, size_t value_len)
{
	struct kvc_kv *kv;
	char *mem;

	if (res->n >= KVC_KEYS_MAX || key_len > KVC_KEY_MAX || value_len > KVC_BODY_MAX)
		return NULL;
	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 4;
		struct kvc_kv *p = realloc(res->kvs, cap * sizeof(*p));

		if (!p)
			return NULL;
		res->kvs = p;
		res->cap = cap;
	}
	mem = malloc(key_len + value_len + 2);
	if (!mem)
		return NULL;
	memcpy(mem, key, key_len);
	mem[key_len] = 0;
	if (value_len)
		memcpy(mem + key_len + 1, value, value_len);
	mem[key_len + 1 + value_len] = 0;
	kv = &res->kvs[res->n++];
	memset(kv, 0, sizeof(*kv));
	kv->key = mem;
	kv->value = mem + key_len + 1;
	kv->value_len = value_len;
	return kv;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kvc_kv *)a)->key, ((const struct kvc_kv *)b)->key);
}

void kvc_res_sort(struct kvc_res *res)
{
	if (res->n > 1)
		qsort(res->kvs, res->n, sizeof(res->kvs[0]), kv_cmp);
}

bool kvc_watch_deliver(struct kvc_req *r, enum kvc_event_type type, const struct kvc_kv *kv)
{
	struct kvc_event ev = { .type = type, .kv = kv };

	if (r->cancelled)
		return false;
	r->in_callback = true;
	r->watch_fn(r->arg, &ev, NULL);
	r->in_callback = false;
	return !r->cancelled;
}

/* --- the stream splitter -------------------------------------------------------- */

enum kvc_step kvc_split_feed(struct kvc_req *r, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (!r->split_depth) {
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
				continue;
			if (ch != '{') {
				kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "the stream holds something other than "
					     "JSON objects (byte 0x%02x)", (unsigned char)ch);
				return KVC_STEP_RETRY;
			}
			buf_reset(&r->split);
		}
		if (r->split.len >= KVC_MSG_MAX) {
			kvc_res_fail(&r->res, KVC_BAD_RESPONSE, "a message of the stream is larger than %d bytes",
				     KVC_MSG_MAX);
			return KVC_STEP_RETRY;
		}
		if (buf_append(&r->split, &ch, 1) < 0) {
			kvc_res_fail(&r->res, KVC_NOMEM, "out of memory");
			return KVC_STEP_RETRY;
		}
		if (r->split_str) {
			if (r->split_esc)
				r->split_esc = false;
			else if (ch == '\\')
				r->split_esc = true;
			else if (ch == '"')
				r->split_str = false;
			continue;
		}
		if (ch == '"') {
			r->split_str = true;
		} else if (ch == '{' || ch == '[') {
			r->split_depth++;
		} else if (ch == '}' || ch == ']') {
			enum kvc_step s;

			if (--r->split_depth)
				continue;
			s = kvc_v3_ops.stream_msg(r, r->split.data, r->split.len);
			buf_reset(&r->split);
			if (s != KVC_STEP_MORE || r->cancelled)
				return s;
		}
	}
	return KVC_STEP_MORE;
}

/* --- base64 ------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int kvc_b64_encode(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	int r = buf_reserve(out, (len + 2) / 3 * 4);

	if (r < 0)
		return r;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		buf_append(out, q, 4);
	}
	return buf_append(out, "", 0);	/* terminated even when empty */
}

/* lib/base64.c's strict decoder, into a buffer, NUL-terminated. */
int kvc_b64_decode(struct buf *out, const char *s, size_t len)
{
	size_t got = 0;
	int r;

	if (len % 4)
		return -EINVAL;
	if ((r = buf_reserve(out, len / 4 * 3)) < 0)
		return r;
	if ((r = base64_decode(s, len, (unsigned char *)out->data + out->len, len / 4 * 3, &got)) < 0)
		return r == -E2BIG ? -EINVAL : r;
	out->len += got;
	return buf_append(out, "", 0);
}

/* --- percent-encoding ------------------------------------------------------------ */

int kvc_url_escape(struct buf *out, const char *s, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~' || (ch == '/' && keep_slash)) {
			r = buf_append(out, &ch, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			r = buf_append(out, e, 3);
		}
	}
	return r;
}
