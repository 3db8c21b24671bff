#include "base64.h"

#include <errno.h>

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t n, unsigned char *out, size_t outlen, size_t *got)
{
	size_t o = 0;

	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64val(s[i + k])) < 0)
				return -EINVAL;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];

		/* Canonical only: the bits under the padding are zero. */
		if (w & ((1u << (8 * pad)) - 1))
			return -EINVAL;
		for (int k = 0; k < 3 - pad; k++) {
			if (o == outlen)
				return -E2BIG;
			out[o++] = (unsigned char)(w >> (16 - 8 * k));
		}
	}
	*got = o;
	return 0;
}
