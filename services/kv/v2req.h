/*
 * Decoding an etcd v2 keys request (/v2/keys/...) exactly as etcd 3.4 does:
 * parameters from the query and, for PUT and POST with a form body, from
 * the body (the body's first); the first value of a repeated parameter
 * wins; booleans as Go's strconv.ParseBool reads them, numbers as its
 * ParseUint; and the checks in etcd's order, so that a request with several
 * faults gets the error etcd would give (code, message, cause, index 0).
 * A path that is not clean ("..", ".", "//") is redirected (301) to the
 * clean one, as Go's ServeMux does in front of etcd. A key may hold any
 * byte, NUL too; it is handed on in store form (store_key.h).
 *
 * Pure: no I/O, nothing kept between calls. Fuzzed by tests/fuzz/fuzz_v2req.c.
 */
#ifndef PITH_KV_V2REQ_H
#define PITH_KV_V2REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

/* Parameters read from one request; more are an error (210). */
#define V2_PARAMS_MAX 64

enum v2_method { V2_GET, V2_HEAD, V2_PUT, V2_POST, V2_DELETE };

/* What v2_req_parse says besides an etcd error code. */
enum {
	V2_OK = 0,
	V2_REDIRECT = -1,	/* 301 to q->location */
	V2_NOT_ALLOWED = -2,	/* 405, Allow: HEAD,GET,PUT,POST,DELETE */
	V2_NOMEM = -3,
	V2_BAD_TARGET = -4,	/* a bad escape in the path: Go's server answers a plain 400 */
};

struct v2_req {
	enum v2_method method;
	/* The key in store form (store_key.h): "/a/b", "/" for the root.
	 * STORE_KEY_MAX bounds the store form: NUL and \x01 count twice. */
	char path[STORE_KEY_MAX + 1];
	const char *value;		/* NULL when not given */
	size_t value_len;
	const char *prev_value;		/* NULL when not given; may hold NUL */
	size_t prev_value_len;
	uint64_t prev_index;		/* 0: not given (etcd reads 0 so too) */
	uint64_t wait_index;
	bool recursive, sorted, wait, dir, quorum, stream, no_value_on_success;
	bool has_ttl;
	uint64_t ttl;
	enum store_exist prev_exist;
	bool refresh;
	struct buf location;		/* V2_REDIRECT: where to */
	struct buf cause;		/* an error's cause */
	struct buf strings;		/* decoded names and values */
	size_t nparams;
	struct { size_t name, value, value_len; } params[V2_PARAMS_MAX];
};

/*
 * Decode a request: method, the request-target (origin-form, starting with
 * "/v2/keys"), the body and its Content-Type (NULL if none). Returns V2_OK,
 * an etcd error code (2xx, cause in q->cause), V2_REDIRECT or
 * V2_NOT_ALLOWED, or V2_NOMEM. q is freed with v2_req_free() whatever the
 * result.
 */
int v2_req_parse(struct v2_req *q, const char *method, const char *target, const char *body,
		 size_t body_len, const char *content_type);
void v2_req_free(struct v2_req *q);

/*
 * Any request's path, as Go's server and ServeMux see it before a handler
 * runs: V2_BAD_TARGET for an escape that does not decode ("%00" does),
 * V2_REDIRECT with *location (escaped, the query kept) when the path is
 * not clean, V2_OK, or V2_NOMEM.
 */
int v2_path_check(const char *target, struct buf *location);

/* Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False. */
int v2_parse_bool(const char *s, bool *out);

#endif
