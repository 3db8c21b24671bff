/* libFuzzer: the tokens file and the Authorization header. The input is
 * split at its first NUL: what comes before is a tokens file, what comes
 * after an Authorization value. Neither parser crashes or reads outside
 * the input; a file that parses has at most AUTH_TOKENS_MAX entries with
 * known roles; a bad one leaves none; a secret taken from the header fits
 * its buffer and has no NUL inside; matching is consistent with hashing. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

static struct auth_tokens t;

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	char header[8192], secret[AUTH_SECRET_MAX + 1];
	struct err e = { 0 };
	int r;

	r = auth_tokens_parse(&t, (const char *)data, flen, "fuzz", &e);
	check(r == 0 || r == -EINVAL);
	check(r == 0 || t.n == 0);
	check(t.n <= AUTH_TOKENS_MAX);
	for (size_t i = 0; i < t.n; i++) {
		check(t.e[i].role == AUTH_ADMIN || t.e[i].role == AUTH_READ_ONLY);
		check(strlen(t.e[i].name) <= AUTH_NAME_MAX);
	}
	if (!nul || size - flen - 1 >= sizeof(header))
		return 0;
	memcpy(header, nul + 1, size - flen - 1);
	header[size - flen - 1] = 0;
	r = auth_header_secret(header, secret, sizeof(secret));
	check(r == 0 || r == -EINVAL || r == -ENOTSUP || r == -E2BIG);
	if (r == 0) {
		const struct auth_entry *m = auth_tokens_match(&t, secret, strlen(secret));
		unsigned char h[32];

		check(strlen(secret) <= AUTH_SECRET_MAX);
		if (m) {
			auth_token_hash(secret, strlen(secret), h);
			check(!memcmp(h, m->hash, 32));
		}
	}
	return 0;
}
