/*
 * Big-endian fields in a byte string, for the log's commands (cmd.c) and
 * the peer protocol (peer_msg.c). The writer appends to a struct buf and
 * remembers the first failure; the reader never reads past its end and
 * remembers that it tried to. Check ok once at the end, not per field.
 */
#ifndef PITH_KV_CODEC_H
#define PITH_KV_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

struct enc {
	struct buf *b;
	bool ok;
};

static inline void enc_bytes(struct enc *e, const void *p, size_t n)
{
	if (e->ok && buf_append(e->b, p, n) < 0)
		e->ok = false;
}

static inline void enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}

static inline void enc_u32(struct enc *e, uint32_t v)
{
	unsigned char p[4] = { v >> 24, v >> 16, v >> 8, v };

	enc_bytes(e, p, 4);
}

static inline void enc_u64(struct enc *e, uint64_t v)
{
	enc_u32(e, (uint32_t)(v >> 32));
	enc_u32(e, (uint32_t)v);
}

/* A length (u32) and then the bytes. */
static inline void enc_str(struct enc *e, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		e->ok = false;
		return;
	}
	enc_u32(e, (uint32_t)n);
	enc_bytes(e, p, n);
}

struct dec {
	const unsigned char *p;
	size_t len;
	bool ok;
};

static inline const unsigned char *dec_bytes(struct dec *d, size_t n)
{
	const unsigned char *p = d->p;

	if (!d->ok || n > d->len) {
		d->ok = false;
		return NULL;
	}
	d->p += n;
	d->len -= n;
	return p;
}

static inline uint8_t dec_u8(struct dec *d)
{
	const unsigned char *p = dec_bytes(d, 1);

	return p ? p[0] : 0;
}

static inline uint32_t dec_u32(struct dec *d)
{
	const unsigned char *p = dec_bytes(d, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static inline uint64_t dec_u64(struct dec *d)
{
	uint64_t hi = dec_u32(d);

	return hi << 32 | dec_u32(d);
}

/* A length-prefixed string of at most max bytes: where it starts, its
 * length in *n; NULL (and !ok) when it is longer or cut short. */
static inline const unsigned char *dec_str(struct dec *d, size_t max, size_t *n);

/* A string encoded with its NUL and none inside, at most max bytes before
 * the NUL: a pointer into the input, or NULL (and d->ok false). */
static inline const char *dec_cstr(struct dec *d, size_t max)
{
	size_t n;
	const unsigned char *p = dec_str(d, max + 1, &n);

	if (!p || n == 0 || p[n - 1] || memchr(p, 0, n - 1)) {
		d->ok = false;
		return NULL;
	}
	return (const char *)p;
}

static inline const unsigned char *dec_str(struct dec *d, size_t max, size_t *n)
{
	uint32_t len = dec_u32(d);

	*n = 0;
	if (!d->ok || len > max) {
		d->ok = false;
		return NULL;
	}
	*n = len;
	return dec_bytes(d, len);
}

#endif
