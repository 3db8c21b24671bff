#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void json_init(struct json *j, struct buf *b, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->pretty = pretty;
}

int json_end(struct json *j)
{
	if (!j->err && j->depth)
		j->err = -EINVAL;
	if (!j->err && j->pretty)
		j->err = buf_append(j->b, "\n", 1);
	return j->err;
}

static void put(struct json *j, const char *s, size_t n)
{
	if (!j->err)
		j->err = buf_append(j->b, s, n);
}

static void newline(struct json *j)
{
	static const char spaces[] = "                                ";

	if (!j->pretty)
		return;
	put(j, "\n", 1);
	for (unsigned i = 0; i < j->depth; i++)
		put(j, spaces, 2);
}

/* Before any value: the comma and indentation it needs. */
static void value_begin(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->nonempty[j->depth])
		put(j, ",", 1);
	j->nonempty[j->depth] = true;
	newline(j);
}

static void nest_begin(struct json *j, char c)
{
	value_begin(j);
	put(j, &c, 1);
	if (j->depth >= JSON_DEPTH_MAX) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	j->nonempty[++j->depth] = false;
}

static void nest_end(struct json *j, char c)
{
	bool had = j->nonempty[j->depth];

	if (j->depth == 0) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	j->depth--;
	if (had)
		newline(j);
	put(j, &c, 1);
}

void json_obj_begin(struct json *j) { nest_begin(j, '{'); }
void json_obj_end(struct json *j) { nest_end(j, '}'); }
void json_arr_begin(struct json *j) { nest_begin(j, '['); }
void json_arr_end(struct json *j) { nest_end(j, ']'); }

void json_key(struct json *j, const char *key)
{
	value_begin(j);
	if (!j->err)
		j->err = json_quote(j->b, key, strlen(key));
	put(j, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->after_key = true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], len;
	uint32_t v;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, v = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	return len;
}

int json_quote(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int r;

	if ((r = buf_append(b, "\"", 1)) < 0)
		return r;
	while (i < n) {
		unsigned char c = s[i];
		size_t len = c >= 0x80 ? utf8_len(s + i, n - i) : 1;
		char esc[8];
		size_t elen = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && len) {
			i += len;
			run += len;
			continue;
		}
		if (run && (r = buf_append(b, s + i - run, run)) < 0)
			return r;
		run = 0;
		if (!len) {
			memcpy(esc, "\\ufffd", 6);
			elen = 6;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			elen = 2;
		} else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c == '\b' ? 'b' : 'f';
			elen = 2;
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if ((r = buf_append(b, esc, elen)) < 0)
			return r;
		i++;
	}
	if (run && (r = buf_append(b, s + n - run, run)) < 0)
		return r;
	return buf_append(b, "\"", 1);
}

void json_strn(struct json *j, const char *s, size_t n)
{
	value_begin(j);
	if (!j->err)
		j->err = json_quote(j->b, s, n);
}

void json_str(struct json *j, const char *s)
{
	if (!s)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
	value_begin(j);
	if (!j->err)
		j->err = buf_printf(j->b, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
	value_begin(j);
	if (!j->err)
		j->err = buf_printf(j->b, "%" PRIu64, v);
}

void json_hundredths(struct json *j, uint64_t v)
{
	value_begin(j);
	if (!j->err)
		j->err = buf_printf(j->b, "%" PRIu64 ".%02u", v / 100, (unsigned)(v % 100));
}

void json_bool(struct json *j, bool v)
{
	value_begin(j);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
	value_begin(j);
	put(j, "null", 4);
}
