#include "envfile.h"

#include <errno.h>
#include <string.h>

#include "unit_exec.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int envfile_parse(const char *text, size_t len, envfile_fn *fn, void *arg, unsigned *bad,
		  struct err *e)
{
	struct buf a = BUF_INIT;
	size_t i = 0;
	unsigned line = 1, vars = 0;
	int r = 0;

	*bad = 0;
	if (len > ENVFILE_BYTES_MAX)
		return -E2BIG;
	while (i < len && r == 0) {
		unsigned first = line;
		size_t name_start, name_end, trail;
		bool ok = true;

		while (i < len && (is_blank(text[i]) || text[i] == '\n')) {
			if (text[i] == '\n')
				line++;
			i++;
		}
		if (i >= len)
			break;
		first = line;
		if (text[i] == '#' || text[i] == ';') {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		name_start = i;
		while (i < len && text[i] != '=' && text[i] != '\n')
			i++;
		if (i >= len || text[i] != '=') {
			(*bad)++;
			err_set(e, first, "no '=' in the line");
			continue;
		}
		name_end = i++;
		while (name_end > name_start && is_blank(text[name_end - 1]))
			name_end--;
		buf_reset(&a);
		if ((r = buf_append(&a, text + name_start, name_end - name_start)) < 0 ||
		    (r = buf_append(&a, "=", 1)) < 0)
			break;
		while (i < len && is_blank(text[i]))
			i++;
		/* The value runs to the end of the line, quotes and escapes aside. */
		trail = 0;
		while (i < len && text[i] != '\n' && r == 0) {
			char c = text[i];

			if (c == '\'' || c == '"') {
				char q = c;

				i++;
				while (i < len && text[i] != q) {
					if (q == '"' && text[i] == '\\' && i + 1 < len) {
						if (text[i + 1] == '\n') {
							i += 2;
							line++;
							continue;
						}
						if (strchr("\"\\`$", text[i + 1]))
							i++;
					}
					if (text[i] == '\n')
						line++;
					if ((r = buf_append(&a, text + i, 1)) < 0)
						break;
					i++;
				}
				if (i >= len)
					ok = false;
				i++;
				trail = 0;
				continue;
			}
			if (c == '\\' && i + 1 < len) {
				if (text[i + 1] == '\n')
					line++;
				else
					r = buf_append(&a, text + i + 1, 1);
				i += 2;
				trail = 0;
				continue;
			}
			r = buf_append(&a, &c, 1);
			trail = is_blank(c) ? trail + 1 : 0;
			i++;
		}
		if (r < 0)
			break;
		a.len -= trail;
		a.data[a.len] = 0;
		if (!ok || strlen(a.data) != a.len || !unit_env_assignment_is_valid(a.data)) {
			(*bad)++;
			err_set(e, first, ok ? "not a valid NAME=value assignment" : "unterminated quote");
			continue;
		}
		if (++vars > ENVFILE_VARS_MAX) {
			r = -E2BIG;
			break;
		}
		r = fn(arg, a.data);
	}
	buf_free(&a);
	return r;
}
