#include "auth.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <bearssl.h>

#include "base64.h"
#include "cert.h"
#include "tls.h"

const char *auth_role_name(enum auth_role role)
{
	switch (role) {
	case AUTH_ADMIN:
		return "admin";
	case AUTH_READ_ONLY:
		return "read-only";
	default:
		return "none";
	}
}

enum auth_role auth_role_parse(const char *s)
{
	if (!strcmp(s, "admin"))
		return AUTH_ADMIN;
	if (!strcmp(s, "read-only"))
		return AUTH_READ_ONLY;
	return AUTH_NONE;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One line, without its newline; NUL-free. */
static int tokens_line(struct auth_tokens *t, char *line, unsigned lineno, const char *what,
		       struct err *e)
{
	char *fields[4] = { 0 };
	size_t nf = 0;
	struct auth_entry *en;
	char *s = line;

	while (*s && nf < 4) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		fields[nf++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = 0;
	}
	if (!nf || fields[0][0] == '#')
		return 0;
	if (nf < 2 || nf > 3) {
		err_set(e, lineno, "%s:%u: expected \"ROLE sha256:HEX [NAME]\"", what, lineno);
		return -EINVAL;
	}
	if (t->n == AUTH_TOKENS_MAX) {
		err_set(e, lineno, "%s:%u: more than %d tokens", what, lineno, AUTH_TOKENS_MAX);
		return -EINVAL;
	}
	en = &t->e[t->n];
	if ((en->role = auth_role_parse(fields[0])) == AUTH_NONE) {
		err_set(e, lineno, "%s:%u: unknown role \"%.32s\" (admin or read-only)", what, lineno,
			fields[0]);
		return -EINVAL;
	}
	if (strncmp(fields[1], "sha256:", 7) || strlen(fields[1]) != 7 + 64) {
		err_set(e, lineno, "%s:%u: the digest must be sha256: and 64 hex digits", what, lineno);
		return -EINVAL;
	}
	for (int i = 0; i < 32; i++) {
		int hi = hexval(fields[1][7 + 2 * i]), lo = hexval(fields[1][8 + 2 * i]);

		if (hi < 0 || lo < 0) {
			err_set(e, lineno, "%s:%u: the digest must be sha256: and 64 hex digits", what,
				lineno);
			return -EINVAL;
		}
		en->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	en->name[0] = 0;
	if (nf == 3) {
		if (strlen(fields[2]) > AUTH_NAME_MAX) {
			err_set(e, lineno, "%s:%u: a name is at most %d bytes", what, lineno, AUTH_NAME_MAX);
			return -EINVAL;
		}
		for (const char *c = fields[2]; *c; c++)
			if (*c < '!' || *c > '~') {
				err_set(e, lineno, "%s:%u: a name is printable ASCII", what, lineno);
				return -EINVAL;
			}
		strcpy(en->name, fields[2]);
	}
	t->n++;
	return 0;
}

int auth_tokens_parse(struct auth_tokens *t, const char *text, size_t len, const char *what,
		      struct err *e)
{
	char line[256];
	unsigned lineno = 0;
	int r = 0;

	t->n = 0;
	if (len > AUTH_TOKENS_FILE_MAX) {
		err_set(e, 0, "%s: larger than %d bytes", what, AUTH_TOKENS_FILE_MAX);
		return -EINVAL;
	}
	while (len && !r) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		lineno++;
		if (n && text[n - 1] == '\r')
			n--;
		if (n >= sizeof(line) || memchr(text, 0, n)) {
			err_set(e, lineno, "%s:%u: line too long or not text", what, lineno);
			r = -EINVAL;
			break;
		}
		memcpy(line, text, n);
		line[n] = 0;
		r = tokens_line(t, line, lineno, what, e);
		n = nl ? (size_t)(nl - text) + 1 : len;
		text += n;
		len -= n;
	}
	if (r < 0)
		t->n = 0;
	return r;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int auth_token_generate(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[33];	/* 264 bits: 44 characters, of which 43 are kept */
	char *p = out + strlen(AUTH_TOKEN_PREFIX);

	if (cert_random(raw, sizeof(raw)) < 0)
		return -EIO;
	memcpy(out, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX));
	for (size_t i = 0; i < sizeof(raw); i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];

		for (int k = 3; k >= 0; k--)
			if (p < out + AUTH_TOKEN_LEN)
				*p++ = b64url[(v >> (6 * k)) & 63];
	}
	*p = 0;
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void auth_token_hash(const char *token, size_t len, unsigned char out[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, token, len);
	br_sha256_out(&h, out);
}

void auth_hash_hex(const unsigned char hash[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 15];
	}
	out[64] = 0;
}

/* The password of base64 cred (n bytes) into out, decoding into raw,
 * which the caller zeroes. */
static int basic_password(const char *cred, size_t n, unsigned char *raw, size_t rawlen, char *out,
			  size_t outlen)
{
	const unsigned char *colon;
	size_t got;
	int r;

	if ((r = base64_decode(cred, n, raw, rawlen, &got)) < 0)
		return r;
	colon = memchr(raw, ':', got);
	if (!colon)
		return -EINVAL;
	n = got - (size_t)(colon + 1 - raw);
	if (memchr(colon + 1, 0, n))
		return -EINVAL;
	if (n > AUTH_SECRET_MAX || n >= outlen)
		return -E2BIG;
	memcpy(out, colon + 1, n);
	out[n] = 0;
	return 0;
}

int auth_header_secret(const char *value, char *out, size_t outlen)
{
	const char *sp = strchr(value, ' '), *cred;
	unsigned char raw[AUTH_SECRET_MAX + 256];
	size_t n;
	int r;

	if (!sp)
		return -EINVAL;
	cred = sp + strspn(sp, " ");
	n = strlen(cred);
	while (n && cred[n - 1] == ' ')
		n--;
	if (!n)
		return -EINVAL;
	if ((size_t)(sp - value) == 6 && !strncasecmp(value, "Bearer", 6)) {
		/* RFC 6750's b64token: ALPHA DIGIT "-._~+/" then "=" padding. */
		size_t k = strspn(cred, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789-._~+/");
		while (k < n && cred[k] == '=')
			k++;
		if (k != n)
			return -EINVAL;
		if (n > AUTH_SECRET_MAX || n >= outlen)
			return -E2BIG;
		memcpy(out, cred, n);
		out[n] = 0;
		return 0;
	}
	if ((size_t)(sp - value) == 5 && !strncasecmp(value, "Basic", 5)) {
		if (n > (sizeof(raw) / 3) * 4)
			return -E2BIG;
		r = basic_password(cred, n, raw, sizeof(raw), out, outlen);
		/* The decoded user:password, whole or in part, whatever became of it. */
		explicit_bzero(raw, sizeof(raw));
		return r;
	}
	return -ENOTSUP;
}

const struct auth_entry *auth_tokens_match(const struct auth_tokens *t, const char *secret,
					   size_t len)
{
	const struct auth_entry *found = NULL;
	unsigned char h[32];

	auth_token_hash(secret, len, h);
	for (size_t i = 0; i < t->n; i++) {
		/* Every entry is compared; which one matched is not timed. */
		bool eq = tls_ct_compare(h, t->e[i].hash, sizeof(h)) == 0;

		if (eq && !found)
			found = &t->e[i];
	}
	explicit_bzero(h, sizeof(h));
	return found;
}
