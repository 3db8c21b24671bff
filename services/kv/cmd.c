#include "cmd.h"

#include <errno.h>
#include <string.h>

#include "codec.h"

enum {
	F_DIR = 1,
	F_RECURSIVE = 2,
	F_REFRESH = 4,
	F_TTL = 8,
	F_VALUE = 16,
	F_PREV_VALUE = 32,
	F_SORTED = 64,
};

/* Bounds of a member's name and client URLs (members.h). */
#define CMD_NAME_MAX 63
#define CMD_URLS_MAX 1024

/* A C string with its NUL, so the decoder can hand out a pointer. */
static void enc_cstr(struct enc *e, const char *s)
{
	enc_str(e, s, strlen(s) + 1);
}

/* n bytes that may hold NUL, and a NUL after them: the shape enc_cstr
 * gave prevValue before it could hold NUL, so older logs decode as they
 * did. */
static void enc_bytes_nul(struct enc *e, const char *s, size_t n)
{
	if (n >= UINT32_MAX) {
		e->ok = false;
		return;
	}
	enc_u32(e, (uint32_t)n + 1);
	enc_bytes(e, s, n);
	enc_u8(e, 0);
}

int kv_cmd_encode(const struct kv_cmd *c, struct buf *out)
{
	const struct store_cmd *s = &c->store;
	struct enc e = { out, true };
	size_t start = out->len;
	uint8_t flags = (s->dir ? F_DIR : 0) | (s->recursive ? F_RECURSIVE : 0) |
			(s->refresh ? F_REFRESH : 0) | (s->has_ttl ? F_TTL : 0) |
			(s->value ? F_VALUE : 0) | (s->prev_value ? F_PREV_VALUE : 0) |
			(c->sorted ? F_SORTED : 0);
	const char *path = s->path ? s->path : "/";

	if (strlen(path) > STORE_KEY_MAX || (s->value && s->value_len > STORE_VALUE_MAX) ||
	    (s->prev_value && s->prev_value_len > STORE_VALUE_MAX))
		return -EINVAL;
	enc_u8(&e, KV_CMD_VERSION);
	enc_u8(&e, (uint8_t)c->kind);
	enc_u64(&e, c->origin);
	enc_u64(&e, c->seq);
	if (c->kind == KV_CMD_ATTR) {
		if (strlen(c->name) > CMD_NAME_MAX || strlen(c->client_urls) > CMD_URLS_MAX)
			return -EINVAL;
		enc_u64(&e, c->member);
		enc_cstr(&e, c->name);
		enc_cstr(&e, c->client_urls);
		goto done;
	}
	if (c->kind == KV_CMD_MEMBER) {
		const char *urls = c->peer_urls ? c->peer_urls : "";

		if (strlen(urls) > CMD_URLS_MAX || !c->member)
			return -EINVAL;
		enc_u8(&e, (uint8_t)c->member_op);
		enc_u64(&e, c->member);
		enc_cstr(&e, urls);
		goto done;
	}
	enc_u8(&e, (uint8_t)s->op);
	enc_u8(&e, flags);
	enc_u8(&e, (uint8_t)s->prev_exist);
	enc_u64(&e, (uint64_t)s->ttl);
	enc_u64(&e, (uint64_t)s->time_ns);
	enc_u64(&e, s->prev_index);
	enc_cstr(&e, path);
	enc_str(&e, s->value ? s->value : "", s->value ? s->value_len : 0);
	enc_bytes_nul(&e, s->prev_value ? s->prev_value : "", s->prev_value ? s->prev_value_len : 0);
done:
	if (!e.ok) {
		out->len = start;
		return -ENOMEM;
	}
	return 0;
}

int kv_cmd_decode(struct kv_cmd *c, const void *data, size_t len)
{
	struct dec d = { data, len, true };
	struct store_cmd *s = &c->store;
	uint8_t flags, op, exist;
	size_t vlen, pvlen;
	const unsigned char *v, *pv;

	memset(c, 0, sizeof(*c));
	if (dec_u8(&d) != KV_CMD_VERSION)
		return -EBADMSG;
	c->kind = dec_u8(&d);
	c->origin = dec_u64(&d);
	c->seq = dec_u64(&d);
	if (c->kind == KV_CMD_ATTR) {
		c->member = dec_u64(&d);
		c->name = dec_cstr(&d, CMD_NAME_MAX);
		c->client_urls = dec_cstr(&d, CMD_URLS_MAX);
		return d.ok && !d.len && c->member ? 0 : -EBADMSG;
	}
	if (c->kind == KV_CMD_MEMBER) {
		c->member_op = dec_u8(&d);
		c->member = dec_u64(&d);
		c->peer_urls = dec_cstr(&d, CMD_URLS_MAX);
		return d.ok && !d.len && c->member && c->member_op >= KV_MEMBER_ADD &&
		       c->member_op <= KV_MEMBER_UPDATE ? 0 : -EBADMSG;
	}
	op = dec_u8(&d);
	flags = dec_u8(&d);
	exist = dec_u8(&d);
	s->ttl = (int64_t)dec_u64(&d);
	s->time_ns = (int64_t)dec_u64(&d);
	s->prev_index = dec_u64(&d);
	s->path = dec_cstr(&d, STORE_KEY_MAX);
	v = dec_str(&d, STORE_VALUE_MAX, &vlen);
	pv = dec_str(&d, STORE_VALUE_MAX + 1, &pvlen);
	if (!d.ok || d.len || !pvlen || pv[pvlen - 1] || (c->kind != KV_CMD_STORE && c->kind != KV_CMD_QGET) ||
	    op > STORE_EXPIRE || exist > STORE_EXIST_FALSE || s->path[0] != '/' || s->ttl < 0)
		return -EBADMSG;
	s->op = op;
	s->prev_exist = exist;
	s->dir = flags & F_DIR;
	s->recursive = flags & F_RECURSIVE;
	s->refresh = flags & F_REFRESH;
	s->has_ttl = flags & F_TTL;
	c->sorted = flags & F_SORTED;
	if (flags & F_VALUE) {
		s->value = (const char *)v;
		s->value_len = vlen;
	}
	if (flags & F_PREV_VALUE) {
		s->prev_value = (const char *)pv;
		s->prev_value_len = pvlen - 1;
	}
	return 0;
}
