#include "v2req.h"
#include "store_key.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEYS_PREFIX "/v2/keys"

int v2_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, 0;
		if (!strcmp(s, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

/* strconv.ParseUint(s, 10, 64): digits only, no sign, no overflow. */
static int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

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

/* Percent-decode s (n bytes) onto b, NUL-terminated; plus: '+' is a space.
 * -EINVAL with Go's message in cause for a bad escape. */
static int unescape(struct buf *b, const char *s, size_t n, bool plus, struct buf *cause)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n) {
				buf_reset(cause);
				buf_printf(cause, "invalid URL escape \"%.*s\"", (int)(n - i), s + i);
				return -EINVAL;
			}
			if (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
				buf_reset(cause);
				buf_printf(cause, "invalid URL escape \"%.3s\"", s + i);
				return -EINVAL;
			}
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (buf_append(b, &c, 1) < 0)
			return -ENOMEM;
	}
	return buf_append(b, "", 1) < 0 ? -ENOMEM : 0;
}

/* url.ParseQuery: "&"-separated pairs; the first error is kept and parsing
 * goes on, as Go does. */
static int parse_query(struct v2_req *q, const char *s, size_t n, int *first_err)
{
	size_t i = 0;

	while (i < n) {
		size_t end = i, eq;
		struct buf scratch = BUF_INIT;
		int r;

		while (end < n && s[end] != '&')
			end++;
		if (memchr(s + i, ';', end - i)) {
			if (!*first_err) {
				buf_reset(&q->cause);
				buf_puts(&q->cause, "invalid semicolon separator in query");
				*first_err = -EINVAL;
			}
			i = end + 1;
			continue;
		}
		if (end == i) {
			i++;
			continue;
		}
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (q->nparams == V2_PARAMS_MAX) {
			if (!*first_err) {
				buf_reset(&q->cause);
				buf_printf(&q->cause, "more than %d parameters", V2_PARAMS_MAX);
				*first_err = -EINVAL;
			}
			return 0;
		}
		q->params[q->nparams].name = q->strings.len;
		r = unescape(&q->strings, s + i, eq - i, true, &scratch);
		if (!r) {
			q->params[q->nparams].value = q->strings.len;
			r = unescape(&q->strings, eq < end ? s + eq + 1 : "", eq < end ? end - eq - 1 : 0,
				     true, &scratch);
			q->params[q->nparams].value_len = q->strings.len - q->params[q->nparams].value - 1;
		}
		if (r == -ENOMEM) {
			buf_free(&scratch);
			return -ENOMEM;
		}
		if (r < 0) {
			if (!*first_err) {
				buf_reset(&q->cause);
				buf_append(&q->cause, scratch.data, scratch.len);
				*first_err = -EINVAL;
			}
		} else {
			q->nparams++;
		}
		buf_free(&scratch);
		i = end + 1;
	}
	return 0;
}

/* The first value of a parameter, or NULL. */
static const char *param(const struct v2_req *q, const char *name, size_t *len)
{
	for (size_t i = 0; i < q->nparams; i++)
		if (!strcmp(q->strings.data + q->params[i].name, name)) {
			if (len)
				*len = q->params[i].value_len;
			return q->strings.data + q->params[i].value;
		}
	return NULL;
}

/* Go's path.Clean of in (rooted); out has room for strlen(in) + 2. */
static void clean(const char *in, char *out)
{
	const char *p = in;
	size_t n = 1;

	out[0] = '/';
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			/* Back up over the last component and its slash, never the root. */
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
		} else if (!(len == 1 && p[0] == '.')) {
			if (n > 1)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	out[n] = 0;
}

/* A path in store form written back into a URL, as Go's URL.EscapedPath
 * writes it. */
static int path_escape(struct buf *b, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *p && !r; p++) {
		unsigned char c = (unsigned char)*p;

		/* The store form's NUL and \x01 go out as the bytes they stand for. */
		if (c == 1 && (p[1] == 1 || p[1] == 2))
			c = (unsigned char)(*++p - 1);
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c && strchr("-_.~$&+,/:;=@", c)))
			r = buf_append(b, &c, 1);
		else
			r = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return r;
}

/* The path (n bytes at s) decoded into store form (store_key.h) on b,
 * NUL-terminated with the terminator counted in b->len, as unescape
 * leaves it. -EINVAL with Go's message in cause for a bad escape. */
static int decode_path(struct buf *b, const char *s, size_t n, struct buf *cause)
{
	struct buf real = BUF_INIT;
	int r = unescape(&real, s, n, false, cause);

	if (!r && (r = store_key_escape(b, real.data, real.len - 1)) == 0)
		r = buf_append(b, "", 1);
	buf_free(&real);
	return r;
}

static int invalid(struct v2_req *q, int code, const char *cause)
{
	buf_reset(&q->cause);
	return buf_puts(&q->cause, cause) < 0 ? V2_NOMEM : code;
}

static int get_bool(struct v2_req *q, const char *name, bool *out, const char *cause)
{
	const char *v = param(q, name, NULL);

	*out = false;
	if (v && v2_parse_bool(v, out) < 0)
		return invalid(q, STORE_EINVALIDFIELD, cause);
	return 0;
}

int v2_path_check(const char *target, struct buf *location)
{
	const char *query = strchr(target, '?');
	size_t plen = query ? (size_t)(query - target) : strlen(target);
	struct buf raw = BUF_INIT, cause = BUF_INIT;
	char *cleaned;
	int r = decode_path(&raw, target, plen, &cause);

	buf_free(&cause);
	if (r < 0) {
		buf_free(&raw);
		return r == -ENOMEM ? V2_NOMEM : V2_BAD_TARGET;
	}
	if (!(cleaned = malloc(raw.len + 2))) {
		buf_free(&raw);
		return V2_NOMEM;
	}
	clean(raw.data, cleaned);
	if (raw.len > 2 && raw.data[raw.len - 2] == '/' && strcmp(cleaned, "/"))
		strcat(cleaned, "/");
	r = V2_OK;
	if (strcmp(cleaned, raw.data)) {
		r = path_escape(location, cleaned) || (query && buf_puts(location, query)) ? V2_NOMEM
											     : V2_REDIRECT;
	}
	free(cleaned);
	buf_free(&raw);
	return r;
}

int v2_req_parse(struct v2_req *q, const char *method, const char *target, const char *body,
		 size_t body_len, const char *content_type)
{
	const char *query = strchr(target, '?'), *v;
	size_t plen = query ? (size_t)(query - target) : strlen(target);
	struct buf raw = BUF_INIT;
	char *cleaned;
	bool trailing;
	int form_err = 0, r;

	memset(q, 0, sizeof(*q));
	if (!strcmp(method, "GET"))
		q->method = V2_GET;
	else if (!strcmp(method, "HEAD"))
		q->method = V2_HEAD;
	else if (!strcmp(method, "PUT"))
		q->method = V2_PUT;
	else if (!strcmp(method, "POST"))
		q->method = V2_POST;
	else if (!strcmp(method, "DELETE"))
		q->method = V2_DELETE;
	else
		return V2_NOT_ALLOWED;

	/* The path, decoded, then cleaned as ServeMux does (a trailing slash kept). */
	if ((r = decode_path(&raw, target, plen, &q->cause)) < 0) {
		buf_free(&raw);
		return r == -ENOMEM ? V2_NOMEM : STORE_EINVALIDFORM;
	}
	if (raw.len - 1 > STORE_KEY_MAX + strlen(KEYS_PREFIX)) {
		buf_free(&raw);
		return invalid(q, STORE_EINVALIDFORM, "invalid key");
	}
	if (!(cleaned = malloc(raw.len + 2))) {
		buf_free(&raw);
		return V2_NOMEM;
	}
	clean(raw.data, cleaned);
	trailing = raw.len > 2 && raw.data[raw.len - 2] == '/' && strcmp(cleaned, "/");
	if (trailing)
		strcat(cleaned, "/");
	if (strcmp(cleaned, raw.data)) {
		r = path_escape(&q->location, cleaned);
		if (!r && query)
			r = buf_puts(&q->location, query);
		free(cleaned);
		buf_free(&raw);
		return r ? V2_NOMEM : V2_REDIRECT;
	}
	free(cleaned);
	if (strncmp(raw.data, KEYS_PREFIX, strlen(KEYS_PREFIX)) ||
	    (raw.data[strlen(KEYS_PREFIX)] && raw.data[strlen(KEYS_PREFIX)] != '/')) {
		buf_free(&raw);
		return invalid(q, STORE_EINVALIDFORM, "incorrect key prefix");
	}
	/* path.Join("/", rest): the key without a trailing slash. */
	clean(raw.data + strlen(KEYS_PREFIX), q->path);
	buf_free(&raw);

	/* The form: the body's parameters first (PUT and POST with a form
	 * body only), then the query's. */
	if ((q->method == V2_PUT || q->method == V2_POST) && content_type) {
		size_t ctlen = strcspn(content_type, ";");

		while (ctlen && (content_type[ctlen - 1] == ' ' || content_type[ctlen - 1] == '\t'))
			ctlen--;
		if (ctlen == 33 && !strncasecmp(content_type, "application/x-www-form-urlencoded", 33) &&
		    parse_query(q, body ? body : "", body_len, &form_err) < 0)
			return V2_NOMEM;
	}
	if (query && parse_query(q, query + 1, strlen(query + 1), &form_err) < 0)
		return V2_NOMEM;
	if (form_err)
		return STORE_EINVALIDFORM;

	/* The checks, in etcd's order. */
	if ((v = param(q, "prevIndex", NULL)) && parse_uint(v, &q->prev_index) < 0)
		return invalid(q, STORE_EINDEXNAN, "invalid value for \"prevIndex\"");
	if ((v = param(q, "waitIndex", NULL)) && parse_uint(v, &q->wait_index) < 0)
		return invalid(q, STORE_EINDEXNAN, "invalid value for \"waitIndex\"");
	if ((r = get_bool(q, "recursive", &q->recursive, "invalid value for \"recursive\"")) ||
	    (r = get_bool(q, "sorted", &q->sorted, "invalid value for \"sorted\"")) ||
	    (r = get_bool(q, "wait", &q->wait, "invalid value for \"wait\"")) ||
	    (r = get_bool(q, "dir", &q->dir, "invalid value for \"dir\"")) ||
	    (r = get_bool(q, "quorum", &q->quorum, "invalid value for \"quorum\"")) ||
	    (r = get_bool(q, "stream", &q->stream, "invalid value for \"stream\"")))
		return r;
	if (q->wait && q->method != V2_GET)
		return invalid(q, STORE_EINVALIDFIELD, "\"wait\" can only be used with GET requests");
	if ((v = param(q, "prevValue", &q->prev_value_len))) {
		if (!q->prev_value_len)
			return invalid(q, STORE_EPREVVALUEREQUIRED, "\"prevValue\" cannot be empty");
		q->prev_value = v;
	}
	if ((r = get_bool(q, "noValueOnSuccess", &q->no_value_on_success,
			  "invalid value for \"noValueOnSuccess\"")))
		return r;
	if ((v = param(q, "ttl", NULL)) && *v) {
		if (parse_uint(v, &q->ttl) < 0)
			return invalid(q, STORE_ETTLNAN, "invalid value for \"ttl\"");
		q->has_ttl = true;
	}
	if ((v = param(q, "prevExist", NULL))) {
		bool b;

		if (v2_parse_bool(v, &b) < 0)
			return invalid(q, STORE_EINVALIDFIELD, "invalid value for prevExist");
		q->prev_exist = b ? STORE_EXIST_TRUE : STORE_EXIST_FALSE;
	}
	if ((v = param(q, "refresh", NULL))) {
		const char *val;

		if (v2_parse_bool(v, &q->refresh) < 0)
			return invalid(q, STORE_EINVALIDFIELD, "invalid value for refresh");
		if (q->refresh && (val = param(q, "value", NULL)) && *val)
			return invalid(q, STORE_EREFRESHVALUE, "A value was provided on a refresh");
		if (q->refresh && !q->has_ttl)
			return invalid(q, STORE_EREFRESHTTLREQUIRED, "No TTL value set");
	}
	q->value = param(q, "value", &q->value_len);
	return V2_OK;
}

void v2_req_free(struct v2_req *q)
{
	buf_free(&q->location);
	buf_free(&q->cause);
	buf_free(&q->strings);
}
