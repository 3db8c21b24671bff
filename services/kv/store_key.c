#include "store_key.h"

#include <string.h>

int store_key_escape(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		int r;

		while (run < n && s[run] != 0 && s[run] != 1)
			run++;
		if ((r = buf_append(out, s + i, run - i)) < 0)
			return r;
		if (run == n)
			break;
		if ((r = buf_append(out, s[run] ? "\x01\x02" : "\x01\x01", 2)) < 0)
			return r;
		i = run + 1;
	}
	return buf_append(out, "", 0);
}

int store_key_unescape(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *one = memchr(s + i, 1, n - i);
		size_t run = one ? (size_t)(one - s) : n;
		char c = 1;
		int r;

		if ((r = buf_append(out, s + i, run - i)) < 0)
			return r;
		if (run == n)
			break;
		i = run + 1;
		if (i < n && (s[i] == 1 || s[i] == 2))
			c = (char)(s[i++] - 1);
		if ((r = buf_append(out, &c, 1)) < 0)
			return r;
	}
	return buf_append(out, "", 0);
}
