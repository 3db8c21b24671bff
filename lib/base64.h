/*
 * Base64 decoding (RFC 4648 section 4, the standard alphabet with
 * padding), strictly: a length multiple of 4, '=' only as the last one or
 * two characters, and the bits under the padding zero, so that every
 * value has exactly one encoding. HTTP Basic credentials (lib/auth.c) and
 * the v3 gateway's keys and values (lib/kvc_codec.c) use it.
 */
#ifndef PITH_BASE64_H
#define PITH_BASE64_H

#include <stddef.h>

/* The bytes of s (n characters) into out (outlen bytes), their number in
 * *got. 0, -EINVAL (not base64) or -E2BIG (out too short). */
int base64_decode(const char *s, size_t n, unsigned char *out, size_t outlen, size_t *got);

#endif
