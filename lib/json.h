/*
 * A streaming JSON writer into a struct buf: no tree is built, so PID 1 can
 * answer a large listing without allocating per value. Parsing JSON is not
 * here; see docs/DEPENDENCIES.md.
 *
 * Calls must nest properly (the writer tracks commas, not grammar). Errors
 * are sticky: after a failed append every call is a no-op and json_end()
 * returns the first error. Strings are escaped as RFC 8259 requires; bytes
 * that are not valid UTF-8 are written as U+FFFD.
 */
#ifndef PITH_JSON_H
#define PITH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Deepest nesting the writer will produce. */
#define JSON_DEPTH_MAX 32

struct json {
	struct buf *b;
	unsigned depth;
	bool pretty;
	bool after_key;
	int err;
	bool nonempty[JSON_DEPTH_MAX + 1];
};

/* Write into b (appending). pretty: two-space indentation and newlines. */
void json_init(struct json *j, struct buf *b, bool pretty);
/* 0, or the first error (-ENOMEM, or -EINVAL for bad nesting). */
int json_end(struct json *j);

void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
/* The key of the next member of the current object. */
void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);	/* NULL writes null */
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
/* v / 100 with two decimals: 153 writes 1.53 (load averages). */
void json_hundredths(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Append s (n bytes) to b as a quoted JSON string. 0 or -ENOMEM. */
int json_quote(struct buf *b, const char *s, size_t n);

#endif
