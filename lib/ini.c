#include "ini.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ini_state {
	char section[INI_NAME_MAX + 1];
	char *line;		/* joined logical line, INI_LINE_MAX + 1 bytes */
	size_t len;
	unsigned first;		/* physical line where the logical line began */
	int overflow;
	int bad_section;	/* the last section header was malformed */
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *trim(char *s, size_t *len)
{
	size_t n = *len;

	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	s[n] = 0;
	*len = n;
	return s;
}

static int bad(ini_fn *fn, void *arg, struct ini_state *st, const char *msg)
{
	struct ini_item it = {
		.kind = INI_BAD, .line = st->first, .section = st->section,
		.key = "", .value = msg,
	};
	return fn(&it, arg);
}

/* A section name or key: printable, no brackets, no '=' in keys. */
static int name_ok(const char *s, size_t n, int is_key)
{
	size_t i;

	if (n == 0 || n > INI_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '[' || c == ']')
			return 0;
		if (is_key && c == '=')
			return 0;
	}
	return 1;
}

static int ini_logical_line(struct ini_state *st, ini_fn *fn, void *arg)
{
	size_t n = st->len;
	char *s = trim(st->line, &n);
	char *eq;

	if (st->overflow)
		return bad(fn, arg, st, "line too long");
	if (n == 0)
		return 0;
	if (s[0] == '[') {
		struct ini_item it = { .kind = INI_SECTION, .line = st->first };

		/* What follows a bad header belongs to no section we know. */
		st->bad_section = 1;
		if (s[n - 1] != ']')
			return bad(fn, arg, st, "section header without closing ']'");
		/* "[]" is a section with an empty name, which nobody knows. */
		if (n > 2 && !name_ok(s + 1, n - 2, 0))
			return bad(fn, arg, st, "invalid section name");
		st->bad_section = 0;
		memcpy(st->section, s + 1, n - 2);
		st->section[n - 2] = 0;
		it.section = st->section;
		it.key = it.value = "";
		return fn(&it, arg);
	}
	eq = memchr(s, '=', n);
	if (!eq)
		return bad(fn, arg, st, "missing '='");
	{
		size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
		char *key = trim(s, &klen);
		char *val = trim(eq + 1, &vlen);
		struct ini_item it = {
			.kind = INI_ENTRY, .line = st->first, .section = st->section,
			.key = key, .value = val,
		};

		if (!name_ok(key, klen, 1))
			return bad(fn, arg, st, "invalid key");
		if (st->bad_section)
			return bad(fn, arg, st, "option after a malformed section header");
		return fn(&it, arg);
	}
}

static void ini_add(struct ini_state *st, const char *p, size_t n)
{
	if (st->overflow)
		return;
	if (n > INI_LINE_MAX - st->len) {
		st->overflow = 1;
		return;
	}
	memcpy(st->line + st->len, p, n);
	st->len += n;
}

/* The end of the line at p: a newline or, as systemd reads files, a NUL. */
static const char *line_end(const char *p, const char *end)
{
	while (p < end && *p != '\n' && *p != 0)
		p++;
	return p;
}

int ini_parse(const char *text, size_t len, ini_fn *fn, void *arg)
{
	struct ini_state st = { .section = "" };
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	int cont = 0, r = 0;

	st.line = malloc(INI_LINE_MAX + 1);
	if (!st.line)
		return -ENOMEM;
	while (p < end && r == 0) {
		const char *eol = line_end(p, end);
		const char *nl = eol < end ? eol : NULL;
		size_t n = (size_t)(eol - p);
		const char *start = p, *s = p;
		size_t k = n;

		lineno++;
		p = nl ? nl + 1 : end;
		while (k && is_space(*s))
			s++, k--;
		if (!cont) {
			st.len = 0;
			st.overflow = 0;
			st.first = lineno;
			if (k && (*s == '#' || *s == ';'))
				continue;
		} else if (k && (*s == '#' || *s == ';')) {
			/* A comment inside a continuation is skipped, as systemd does. */
			continue;
		}
		/* As systemd: the backslash must be the line's last character; it
		 * becomes a space and the next line is appended as it is. */
		k = n;
		if (k && start[k - 1] == '\r')
			k--;
		if (k && start[k - 1] == '\\') {
			ini_add(&st, start, k - 1);
			ini_add(&st, " ", 1);
			cont = 1;
			if (p < end)
				continue;
		} else {
			ini_add(&st, start, k);
			cont = 0;
		}
		st.line[st.len] = 0;
		r = ini_logical_line(&st, fn, arg);
	}
	free(st.line);
	return r;
}
