#include "unit_exec.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define WHITESPACE " \t\n\r"

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

static int put_utf8(struct buf *out, uint32_t c)
{
	char s[4];
	size_t n;

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -EINVAL;
	if (c < 0x80) {
		s[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | c >> 18);
		s[1] = (char)(0x80 | (c >> 12 & 0x3f));
		s[2] = (char)(0x80 | (c >> 6 & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	return buf_append(out, s, n);
}

/*
 * One C escape at p (just past the backslash). Returns the bytes it used, or
 * 0 when it is not a valid escape. The escapes are systemd's: \a \b \f \n \r
 * \t \v \\ \" \' \s, \xNN, \NNN (octal), \uNNNN, \UNNNNNNNN; none may
 * produce a NUL.
 */
static size_t unescape_one(const char *p, struct buf *out)
{
	static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''s ";
	uint32_t v = 0;
	size_t n = 0;

	if (*p == 0)
		return 0;
	for (const char *s = simple; *s; s += 2)
		if (*p == s[0])
			return buf_append(out, s + 1, 1) < 0 ? 0 : 1;
	switch (*p) {
	case 'x':
		n = 2;
		break;
	case 'u':
		n = 4;
		break;
	case 'U':
		n = 8;
		break;
	default:
		if (*p >= '0' && *p <= '7') {
			for (int i = 0; i < 3; i++) {
				if (p[i] < '0' || p[i] > '7')
					return 0;
				v = v * 8 + (uint32_t)(p[i] - '0');
			}
			if (v == 0 || v > 255)
				return 0;
			return buf_append(out, &(char){ (char)v }, 1) < 0 ? 0 : 3;
		}
		return 0;
	}
	for (size_t i = 1; i <= n; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return 0;
		v = v << 4 | (uint32_t)h;
	}
	if (*p == 'x') {
		if (v == 0)
			return 0;
		return buf_append(out, &(char){ (char)v }, 1) < 0 ? 0 : 3;
	}
	return put_utf8(out, v) < 0 ? 0 : n + 1;
}

int unit_word_next(const char **pp, unsigned flags, struct buf *out)
{
	const char *p = *pp + strspn(*pp, WHITESPACE);
	char quote = 0;
	bool any = false, relaxed = false;

	if (*p == 0) {
		*pp = p;
		return 0;
	}
	for (; *p; p++) {
		if (!quote && strchr(WHITESPACE, *p))
			break;
		if (*p == '\\') {
			size_t used = 0;

			if ((flags & UNIT_WORD_CUNESCAPE) && p[1])
				used = unescape_one(p + 1, out);
			if (used) {
				p += used;
			} else if (!(flags & UNIT_WORD_CUNESCAPE) && p[1]) {
				/* Without C escapes a backslash only protects the
				 * next character. */
				if (buf_append(out, p + 1, 1) < 0)
					return -ENOMEM;
				p++;
			} else if (flags & UNIT_WORD_RELAX) {
				if (buf_append(out, p, p[1] ? 2 : 1) < 0)
					return -ENOMEM;
				if (p[1])
					p++;
				relaxed = true;
			} else {
				return -EINVAL;
			}
			any = true;
			continue;
		}
		if ((flags & UNIT_WORD_UNQUOTE) && (*p == '"' || *p == '\'') && (!quote || *p == quote)) {
			quote = quote ? 0 : *p;
			any = true;
			continue;
		}
		if (buf_append(out, p, 1) < 0)
			return -ENOMEM;
		any = true;
	}
	if (quote)
		return -EINVAL;
	*pp = p;
	return !any ? 0 : relaxed ? 2 : 1;
}

static int list_grow(struct arena *a, struct unit_exec_list *l)
{
	struct unit_exec *v;
	size_t cap;

	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 4;
	v = arena_array(a, cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	l->v = v;
	l->cap = cap;
	return 0;
}

/* The prefix characters of the first word, in systemd's rules: each at most
 * once, '+' and '!' exclusive, "!!" the ambient variant. */
static const char *exec_prefixes(const char *w, unsigned *flags)
{
	const unsigned cred = UNIT_EXEC_PRIVILEGED | UNIT_EXEC_NO_SETUID | UNIT_EXEC_AMBIENT;

	for (;; w++) {
		if (*w == '-' && !(*flags & UNIT_EXEC_IGNORE_FAILURE))
			*flags |= UNIT_EXEC_IGNORE_FAILURE;
		else if (*w == '@' && !(*flags & UNIT_EXEC_ARGV0))
			*flags |= UNIT_EXEC_ARGV0;
		else if (*w == ':' && !(*flags & UNIT_EXEC_NO_ENV_EXPAND))
			*flags |= UNIT_EXEC_NO_ENV_EXPAND;
		else if (*w == '+' && !(*flags & cred))
			*flags |= UNIT_EXEC_PRIVILEGED;
		else if (*w == '!' && !(*flags & cred))
			*flags |= UNIT_EXEC_NO_SETUID;
		else if (*w == '!' && (*flags & cred) == UNIT_EXEC_NO_SETUID)
			*flags ^= UNIT_EXEC_NO_SETUID | UNIT_EXEC_AMBIENT;
		else
			return w;
	}
}

/* systemd's test for a program path: no control characters, quotes,
 * backslashes or DEL. */
static bool path_is_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || strchr("\"'\\\x7f", *s))
			return false;
	return true;
}

/* Why path cannot be run, or NULL: an absolute path, or a file name. */
static const char *path_problem(const char *path)
{
	if (!*path)
		return "empty executable path";
	if (!path_is_safe(path))
		return "the executable path holds control characters, quotes or backslashes";
	if (path[strlen(path) - 1] == '/')
		return "the executable path names a directory";
	if (path[0] != '/' &&
	    (strchr(path, '/') || !strcmp(path, ".") || !strcmp(path, "..") || strlen(path) > 255))
		return "neither an absolute path nor a program name";
	return NULL;
}

/* "/bin//./echo" -> "/bin/echo", in place, for an absolute path: no "//",
 * no "." components. ".." stays, as in systemd. */
static void path_simplify(char *path)
{
	char *r = path, *w = path;

	while (*r) {
		size_t n;

		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 1 && r[0] == '.') {
			r++;
			continue;
		}
		if (n == 0)
			break;
		*w++ = '/';
		memmove(w, r, n);
		w += n;
		r += n;
	}
	if (w == path)
		*w++ = '/';
	*w = 0;
}

/* One word of a command: unquoted, unescaped, then specifiers expanded.
 * For the program path (prefix not NULL) the prefixes are taken off before
 * the expansion, as systemd does. Returns as unit_word_next, or -EBADMSG
 * for a bad specifier. */
static int exec_word(const char **p, const struct unit_exec_src *src, struct buf *tmp,
		     struct buf *out, unsigned *prefix, unsigned *notes, struct err *e)
{
	const char *w;
	char badc;
	int r, k;

	buf_reset(tmp);
	buf_reset(out);
	k = unit_word_next(p, UNIT_WORD_UNQUOTE | UNIT_WORD_CUNESCAPE | UNIT_WORD_RELAX, tmp);
	if (k <= 0)
		return k;
	if (k == 2)
		*notes |= UNIT_EXEC_NOTE_RELAXED;
	w = tmp->data ? tmp->data : "";
	if (prefix)
		w = exec_prefixes(w, prefix);
	if (!src->unit)
		return buf_append(out, w, strlen(w)) < 0 ? -ENOMEM : k;
	r = unit_spec_expand(src->unit, src->unit_path, src->env, w, strlen(w), out, &badc);
	if (r == -EBADMSG) {
		err_set(e, 0, "unknown specifier %%%c in \"%.64s\"", badc, w);
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	/* An empty expansion is still a word. */
	return buf_append(out, "", 0) < 0 ? -ENOMEM : k;
}

static int argv_add(struct arena *a, char ***argv, size_t *argc, size_t *cap, const char *s,
		    struct err *e)
{
	if (*argc + 2 > *cap) {
		char **v;
		size_t n = *cap ? *cap * 2 : 8;

		if (*argc + 2 > UNIT_EXEC_ARGS_MAX + 1) {
			err_set(e, 0, "more than %d arguments", UNIT_EXEC_ARGS_MAX);
			return -EINVAL;
		}
		if (!(v = arena_array(a, n, sizeof(*v))))
			return -ENOMEM;
		if (*argc)
			memcpy(v, *argv, *argc * sizeof(*v));
		*argv = v;
		*cap = n;
	}
	if (!((*argv)[*argc] = arena_strdup(a, s)))
		return -ENOMEM;
	(*argc)++;
	return 0;
}

static bool at_separator(const char *p)
{
	return p[0] == ';' && (!p[1] || strchr(WHITESPACE, p[1]));
}

/*
 * Parse one command starting at *pp, up to and past its ";" separator.
 * Returns 1 with a command, 0 when there is none left, -EINVAL (e->msg set)
 * or -ENOMEM. A lone ";" where a command would start is skipped.
 */
static int exec_one(struct arena *a, const char **pp, struct unit_exec *cmd,
		    const struct unit_exec_src *src, unsigned *notes, struct err *e)
{
	struct buf tmp = BUF_INIT, w = BUF_INIT;
	char **argv = NULL;
	size_t argc = 0, cap = 0;
	const char *p = *pp, *path, *why;
	char *simple;
	int r;

	for (;;) {
		p += strspn(p, WHITESPACE);
		if (!at_separator(p))
			break;
		p++;
	}
	r = exec_word(&p, src, &tmp, &w, &cmd->flags, notes, e);
	if (r <= 0) {
		if (r == -EINVAL)
			err_set(e, 0, "unterminated quote in the executable path");
		if (r == -EBADMSG)
			r = -EINVAL;
		goto out;
	}
	path = w.data ? w.data : "";
	if ((why = path_problem(path))) {
		if (*path)
			err_set(e, 0, "\"%.64s\": %s", path, why);
		else
			err_set(e, 0, "%s", why);
		r = -EINVAL;
		goto out;
	}
	if (!(cmd->flags & UNIT_EXEC_ARGV0) && (r = argv_add(a, &argv, &argc, &cap, path, e)) < 0)
		goto out;
	r = -ENOMEM;
	if (!(simple = arena_strdup(a, path)))
		goto out;
	if (simple[0] == '/')
		path_simplify(simple);
	cmd->path = simple;
	for (;;) {
		p += strspn(p, WHITESPACE);
		if (at_separator(p)) {
			p++;
			break;
		}
		if (p[0] == '\\' && p[1] == ';' && (!p[2] || strchr(WHITESPACE, p[2]))) {
			p += 2;
			r = argv_add(a, &argv, &argc, &cap, ";", e);
		} else {
			r = exec_word(&p, src, &tmp, &w, NULL, notes, e);
			if (r == 0)
				break;
			if (r == -EINVAL)
				err_set(e, 0, "unterminated quote in command line");
			if (r == -EBADMSG)
				r = -EINVAL;
			if (r > 0)
				r = argv_add(a, &argv, &argc, &cap, w.data, e);
		}
		if (r < 0)
			goto out;
	}
	if (argc == 0) {
		err_set(e, 0, "'@' prefix but no argv[0] after the path");
		r = -EINVAL;
		goto out;
	}
	argv[argc] = NULL;
	cmd->argv = argv;
	cmd->argc = argc;
	r = 1;
out:
	buf_free(&tmp);
	buf_free(&w);
	*pp = p;
	return r;
}

int unit_exec_parse(struct arena *a, struct unit_exec_list *list, const char *value,
		    const struct unit_exec_src *src, unsigned *notes, struct err *e)
{
	struct unit_exec_list l = *list;
	const char *p = value;
	int r;

	*notes = 0;
	for (;;) {
		struct unit_exec cmd = { .file = src->file, .line = src->line };

		r = exec_one(a, &p, &cmd, src, notes, e);
		if (r == 0)
			break;
		if (r < 0) {
			/* systemd keeps what came before a bad command with '-'. */
			if (r == -EINVAL && (cmd.flags & UNIT_EXEC_IGNORE_FAILURE)) {
				*notes |= UNIT_EXEC_NOTE_IGNORABLE;
				*list = l;
			}
			return r;
		}
		if (l.n - list->n >= UNIT_EXEC_CMDS_MAX) {
			err_set(e, 0, "more than %d commands on one line", UNIT_EXEC_CMDS_MAX);
			return -EINVAL;
		}
		if (list_grow(a, &l) < 0)
			return -ENOMEM;
		l.v[l.n++] = cmd;
	}
	*list = l;
	return 0;
}

static bool utf8_is_valid(const unsigned char *s)
{
	while (*s) {
		unsigned n, c = *s;
		uint32_t v;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, v = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, v = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, v = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			v = v << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && v < 0x800) || (n == 3 && (v < 0x10000 || v > 0x10ffff)) ||
		    (v >= 0xd800 && v <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

static bool env_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

bool unit_env_assignment_is_valid(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s)
		return false;
	for (const char *c = s; c < eq; c++)
		if (!env_name_char(*c, c == s))
			return false;
	return utf8_is_valid((const unsigned char *)eq + 1);
}

static const char *env_lookup(char *const *env, const char *name, size_t n)
{
	const char *found = NULL;

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			found = *env + n + 1;
	return found;
}

static size_t env_name_len(const char *s)
{
	size_t n = 0;

	while (env_name_char(s[n], n == 0))
		n++;
	return n;
}

char **unit_exec_expand_env(struct arena *a, const struct unit_exec *cmd, char *const *env,
			    int *r)
{
	struct buf w = BUF_INIT;
	char **out;
	size_t n = 0, cap = cmd->argc + 1;

	*r = -ENOMEM;
	out = arena_array(a, cap, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < cmd->argc; i++) {
		const char *s = cmd->argv[i], *v;
		size_t len;

		if (!(cmd->flags & UNIT_EXEC_NO_ENV_EXPAND) && s[0] == '$' && (len = env_name_len(s + 1)) &&
		    s[1 + len] == 0) {
			/* "$NAME" alone: its value split into words. */
			const char *p = env_lookup(env, s + 1, len);

			while (p && *p) {
				size_t wl;

				p += strspn(p, WHITESPACE);
				wl = strcspn(p, WHITESPACE);
				if (!wl)
					break;
				if (n + 2 > cap) {
					char **g;

					if (cap > UNIT_EXEC_ARGS_MAX * 4) {
						*r = -E2BIG;
						goto fail;
					}
					g = arena_array(a, cap * 2, sizeof(*g));
					if (!g)
						goto fail;
					memcpy(g, out, n * sizeof(*g));
					out = g;
					cap *= 2;
				}
				if (!(out[n++] = arena_strndup(a, p, wl)))
					goto fail;
				p += wl;
			}
			continue;
		}
		buf_reset(&w);
		while (*s) {
			const char *end;

			if (cmd->flags & UNIT_EXEC_NO_ENV_EXPAND || s[0] != '$') {
				len = strcspn(s + 1, "$") + 1;
				if (buf_append(&w, s, len) < 0)
					goto fail;
				s += len;
			} else if (s[1] == '$') {
				if (buf_append(&w, "$", 1) < 0)
					goto fail;
				s += 2;
			} else if (s[1] == '{' && (end = strchr(s + 2, '}'))) {
				v = env_lookup(env, s + 2, (size_t)(end - s - 2));
				if (v && buf_append(&w, v, strlen(v)) < 0)
					goto fail;
				s = end + 1;
			} else {
				if (buf_append(&w, "$", 1) < 0)
					goto fail;
				s++;
			}
		}
		if (n + 2 > cap) {
			char **g = arena_array(a, cap * 2, sizeof(*g));

			if (!g)
				goto fail;
			memcpy(g, out, n * sizeof(*g));
			out = g;
			cap *= 2;
		}
		if (!(out[n++] = arena_strdup(a, w.data ? w.data : "")))
			goto fail;
	}
	out[n] = NULL;
	buf_free(&w);
	*r = 0;
	return out;
fail:
	buf_free(&w);
	return NULL;
}
