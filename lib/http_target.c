/*
 * Request-targets (RFC 9112 section 3.2) and what their path and query
 * say once percent-decoded (RFC 3986 section 2.1).
 */
#include "http.h"

#include <errno.h>
#include <string.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of "scheme:" at s, or 0 (RFC 3986 section 3.1). */
static size_t scheme_len(const char *s, size_t n)
{
	size_t i;

	if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < n; i++) {
		char c = s[i];

		if (c == ':')
			return i + 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 0;
}

bool http_target_is_valid(const char *method, const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	if (!n)
		return false;
	if (!strcmp(method, "CONNECT"))
		return true;
	if (t[0] == '/')
		return true;
	if (n == 1 && t[0] == '*')
		return !strcmp(method, "OPTIONS");
	return scheme_len(t, n) > 0;
}

bool http_host_is_valid(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._~%!$&'()*+,;=:[]", c)))
			return false;
	}
	return true;
}

/* The next byte of a percent-encoded range, advancing *s; '+' is a space
 * when plus is set. -1 for an invalid escape or one that decodes to NUL. */
static int pct_next(const char **s, bool plus)
{
	const char *c = *s;
	int hi, lo;

	if (*c != '%') {
		*s = c + 1;
		return plus && *c == '+' ? ' ' : (unsigned char)*c;
	}
	hi = hex_value(c[1]);
	lo = hi < 0 ? -1 : hex_value(c[2]);
	if (lo < 0 || (hi | lo) == 0)
		return -1;
	*s = c + 3;
	return hi << 4 | lo;
}

/* Decode [s, end) into out (outlen bytes), NUL-terminated. */
static int pct_decode(const char *s, const char *end, bool plus, char *out, size_t outlen)
{
	size_t n = 0;

	while (s < end) {
		int c = pct_next(&s, plus);

		if (c < 0 || s > end)
			return -EINVAL;
		if (n + 1 >= outlen)
			return -ENAMETOOLONG;
		out[n++] = (char)c;
	}
	if (!outlen)
		return -ENAMETOOLONG;
	out[n] = 0;
	return 0;
}

int http_path_decode(const char *target, char *out, size_t outlen)
{
	const char *s = target;
	size_t n;

	if (*s != '/') {
		n = scheme_len(s, strlen(s));
		if (!n || strncmp(s + n, "//", 2))
			return -EINVAL;
		s += n + 2;
		s += strcspn(s, "/?#");
	}
	n = strcspn(s, "?#");
	if (!n) {
		s = "/";
		n = 1;
	}
	if (*s != '/')
		return -EINVAL;
	return pct_decode(s, s + n, false, out, outlen);
}

int http_query_get(const char *target, const char *name, char *out, size_t outlen)
{
	const char *q = strchr(target, '?'), *end;

	if (!q)
		return -ENOENT;
	q++;
	end = q + strcspn(q, "#");
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(pend - q));
		const char *kend = eq ? eq : pend, *k = q, *want = name;
		bool match = true;

		while (k < kend) {
			int c = pct_next(&k, true);

			if (c < 0 || k > kend)
				return -EINVAL;
			if (match && (unsigned char)*want == c)
				want++;
			else
				match = false;
		}
		if (match && !*want && kend > q) {
			if (!eq)
				return pct_decode(pend, pend, true, out, outlen);
			return pct_decode(eq + 1, pend, true, out, outlen);
		}
		q = pend + (amp != NULL);
	}
	return -ENOENT;
}
