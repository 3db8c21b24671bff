#include "store.h"
#include "store_key.h"
#include "store_node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The history's bound in bytes as well as in events: 1,000 events of 1 MiB
 * values would otherwise hold 2 GiB. Past it the oldest are dropped, and a
 * watcher asking for them gets error 401, as for events past 1,000. */
#define STORE_HISTORY_BYTES_MAX (64 * 1024 * 1024)


/* --- errors ------------------------------------------------------------------ */

const char *store_error_message(int code)
{
	switch (code) {
	case STORE_ENOTFOUND: return "Key not found";
	case STORE_ETESTFAILED: return "Compare failed";
	case STORE_ENOTFILE: return "Not a file";
	case STORE_ENOTDIR: return "Not a directory";
	case STORE_ENODEEXIST: return "Key already exists";
	case STORE_EROOTRONLY: return "Root is read only";
	case STORE_EDIRNOTEMPTY: return "Directory not empty";
	case STORE_EPREVVALUEREQUIRED: return "PrevValue is Required in POST form";
	case STORE_ETTLNAN: return "The given TTL in POST form is not a number";
	case STORE_EINDEXNAN: return "The given index in POST form is not a number";
	case STORE_EINVALIDFIELD: return "Invalid field";
	case STORE_EINVALIDFORM: return "Invalid POST form";
	case STORE_EREFRESHVALUE: return "Value provided on refresh";
	case STORE_EREFRESHTTLREQUIRED: return "A TTL must be provided on refresh";
	case STORE_EEVENTINDEXCLEARED: return "The event in requested index is outdated and cleared";
	case STORE_ERAFTINTERNAL: return "Raft Internal Error";
	}
	return "Unknown error";
}

int store_error_status(int code)
{
	switch (code) {
	case STORE_ENOTFOUND: return 404;
	case STORE_ETESTFAILED: case STORE_ENODEEXIST: return 412;
	case STORE_ENOTFILE: case STORE_EDIRNOTEMPTY: return 403;
	case STORE_ERAFTINTERNAL: return 500;
	default: return 400;
	}
}

/* --- JSON as Go's encoder writes it ---------------------------------------------- */

/* A UTF-8 sequence's length at p (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

/* A JSON string as encoding/json writes one: <, > and & escaped, U+2028 and
 * U+2029 escaped, invalid UTF-8 as U+FFFD. */
static int jstr(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	int r = buf_append(b, "\"", 1);

	while (n && !r) {
		uint32_t cp;
		size_t k = utf8_len(p, n, &cp);

		if (!k) {
			r = buf_puts(b, "\\ufffd");
			p++, n--;
			continue;
		}
		if (cp == '"' || cp == '\\')
			r = buf_printf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			r = buf_puts(b, "\\n");
		else if (cp == '\r')
			r = buf_puts(b, "\\r");
		else if (cp == '\t')
			r = buf_puts(b, "\\t");
		else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&')
			r = buf_printf(b, "\\u00%c%c", hex[cp >> 4], hex[cp & 15]);
		else if (cp == 0x2028 || cp == 0x2029)
			r = buf_printf(b, "\\u202%c", cp == 0x2028 ? '8' : '9');
		else
			r = buf_append(b, p, k);
		p += k;
		n -= k;
	}
	return r ? r : buf_append(b, "\"", 1);
}

/* A key or a cause, kept in store form, written as the bytes it stands for. */
static int jkey(struct buf *b, const char *s, size_t n)
{
	struct buf real = BUF_INIT;
	int r = store_key_unescape(&real, s, n);

	if (!r)
		r = jstr(b, real.data, real.len);
	buf_free(&real);
	return r;
}

/* RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's RFC3339Nano. */
static int jtime(struct buf *b, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	char d[16];
	struct tm tm;
	int n;

	if (frac < 0)
		frac += 1000000000, sec--;
	gmtime_r(&sec, &tm);
	if (buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
		return -ENOMEM;
	if (frac) {
		n = snprintf(d, sizeof(d), "%09ld", frac);
		while (n > 0 && d[n - 1] == '0')
			d[--n] = 0;
		if (buf_printf(b, ".%s", d) < 0)
			return -ENOMEM;
	}
	return buf_puts(b, "Z\"");
}

/* --- the tree -------------------------------------------------------------------- */

struct store_node *store_node_new(const char *name, size_t len, bool dir)
{
	struct store_node *n = calloc(1, sizeof(*n));

	if (!n || !(n->name = strndup(name, len))) {
		free(n);
		return NULL;
	}
	n->dir = dir;
	return n;
}

void store_node_free(struct store_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		store_node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->value);
	free(n);
}

/* The child called name (len bytes), and where it is or would go. */
static struct store_node *child(const struct store_node *d, const char *name, size_t len, size_t *at)
{
	size_t lo = 0, hi = d->nkids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(d->kids[mid]->name, name, len);

		if (!c && d->kids[mid]->name[len])
			c = 1;
		if (!c) {
			if (at)
				*at = mid;
			return d->kids[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return NULL;
}

int store_kid_insert(struct store_node *d, struct store_node *k, size_t at)
{
	if (d->nkids == d->capkids) {
		size_t cap = d->capkids ? d->capkids * 2 : 4;
		struct store_node **n = realloc(d->kids, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->kids = n;
		d->capkids = cap;
	}
	memmove(d->kids + at + 1, d->kids + at, (d->nkids - at) * sizeof(*d->kids));
	d->kids[at] = k;
	d->nkids++;
	k->parent = d;
	return 0;
}

static void kid_remove(struct store_node *k)
{
	struct store_node *d = k->parent;
	size_t at;

	if (d && child(d, k->name, strlen(k->name), &at) == k) {
		memmove(d->kids + at, d->kids + at + 1, (d->nkids - at - 1) * sizeof(*d->kids));
		d->nkids--;
	}
	k->parent = NULL;
}

static int node_key(const struct store_node *n, struct buf *b)
{
	if (!n->parent)
		return 0;
	return node_key(n->parent, b) ? -ENOMEM : buf_printf(b, "/%s", n->name);
}

/* Walk path (components separated by '/'); the node, or an etcd error with
 * its cause: the first component that is missing (100) or the file that
 * is in the way (104). With create, missing directories are made, with
 * index as their created and modified index. */
static int walk(struct store *s, const char *path, bool create, uint64_t index, struct store_node **out,
		struct buf *cause)
{
	struct store_node *n = s->root;
	const char *p = path;

	while (*p) {
		const char *e;
		size_t len, at;
		struct store_node *k;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (!n->dir) {
			buf_reset(cause);
			node_key(n, cause);
			return STORE_ENOTDIR;
		}
		k = child(n, p, len, &at);
		if (!k && !create) {
			buf_reset(cause);
			return buf_append(cause, path, (size_t)(p - path) + len) ? -ENOMEM : STORE_ENOTFOUND;
		}
		if (!k) {
			if (!(k = store_node_new(p, len, true)))
				return -ENOMEM;
			k->created = k->modified = index;
			if (store_kid_insert(n, k, at) < 0) {
				store_node_free(k);
				return -ENOMEM;
			}
		}
		n = k;
		p += len;
	}
	*out = n;
	return 0;
}

/* --- writing nodes ------------------------------------------------------------------ */

static bool hidden(const char *name)
{
	return name[0] == '_';
}

static int64_t ttl_of(int64_t expire_ns, int64_t now_ns)
{
	int64_t d = expire_ns - now_ns, t = d / 1000000000;

	return d % 1000000000 > 0 ? t + 1 : t;
}

/* One node; depth: how many levels of children to list (0 none). */
static int node_json(struct buf *b, const struct store_node *n, int64_t now_ns, int depth, bool value)
{
	int r = buf_puts(b, "{");
	bool comma = false;

	if (n->parent) {
		r |= buf_puts(b, "\"key\":");
		{
			struct buf k = BUF_INIT;

			r |= node_key(n, &k);
			r |= jkey(b, k.data ? k.data : "", k.len);
			buf_free(&k);
		}
		comma = true;
	}
	if (n->dir) {
		r |= buf_printf(b, "%s\"dir\":true", comma ? "," : "");
		comma = true;
	} else if (value) {
		r |= buf_printf(b, "%s\"value\":", comma ? "," : "");
		r |= jstr(b, n->value ? n->value : "", n->vlen);
		comma = true;
	}
	if (n->expire_ns) {
		int64_t ttl = ttl_of(n->expire_ns, now_ns);

		r |= buf_printf(b, "%s\"expiration\":", comma ? "," : "");
		r |= jtime(b, n->expire_ns);
		if (ttl)
			r |= buf_printf(b, ",\"ttl\":%" PRId64, ttl);
		comma = true;
	}
	if (n->dir && depth > 0) {
		bool first = true;

		for (size_t i = 0; i < n->nkids && !r; i++) {
			if (hidden(n->kids[i]->name))
				continue;
			r |= buf_puts(b, first ? (comma ? ",\"nodes\":[" : "\"nodes\":[") : ",");
			first = false;
			r |= node_json(b, n->kids[i], now_ns, depth - 1, true);
		}
		if (!first)
			r |= buf_puts(b, "]");
		comma = true;
	}
	if (n->parent)
		r |= buf_printf(b, "%s\"modifiedIndex\":%" PRIu64 ",\"createdIndex\":%" PRIu64,
				comma ? "," : "", n->modified, n->created);
	r |= buf_puts(b, "}");
	return r ? -ENOMEM : 0;
}

int store_error_json(int code, const char *cause, uint64_t index, struct buf *out)
{
	int r = buf_printf(out, "{\"errorCode\":%d,\"message\":", code);

	r |= jstr(out, store_error_message(code), strlen(store_error_message(code)));
	/* Go's encoder leaves an empty cause out (omitempty). */
	if (cause && *cause) {
		r |= buf_puts(out, ",\"cause\":");
		r |= jkey(out, cause, strlen(cause));
	}
	r |= buf_printf(out, ",\"index\":%" PRIu64 "}\n", index);
	return r ? -ENOMEM : 0;
}

int store_event_json(const struct store_event *ev, struct buf *out)
{
	int r = buf_printf(out, "{\"action\":\"%s\",\"node\":", ev->action);

	r |= buf_append(out, ev->node.data, ev->node.len);
	if (ev->prev.len) {
		r |= buf_puts(out, ",\"prevNode\":");
		r |= buf_append(out, ev->prev.data, ev->prev.len);
	}
	r |= buf_puts(out, "}\n");
	return r ? -ENOMEM : 0;
}

void store_event_free(struct store_event *ev)
{
	buf_free(&ev->node);
	buf_free(&ev->prev);
	free(ev->key);
	ev->key = NULL;
}

/* --- history ------------------------------------------------------------------------ */

static size_t event_bytes(const struct store_event *ev)
{
	return ev->node.len + ev->prev.len + strlen(ev->key) + sizeof(*ev);
}

static void history_push(struct store *s, const struct store_event *ev)
{
	struct store_event *c = calloc(1, sizeof(*c));

	/* Watchers first: the event reaches them even if it cannot be kept. */
	if (s->on_event)
		s->on_event(s->on_event_arg, ev);
	if (!c)
		return;	/* a watcher asking for it later gets 401 and starts over */
	*c = (struct store_event){ ev->action, ev->index, BUF_INIT, BUF_INIT, strdup(ev->key), ev->dir, false };
	if (!c->key || buf_append(&c->node, ev->node.data, ev->node.len) < 0 ||
	    buf_append(&c->prev, ev->prev.data, ev->prev.len) < 0) {
		store_event_free(c);
		free(c);
		return;
	}
	while (s->hcount && (s->hcount == STORE_HISTORY_MAX ||
			     s->hbytes + event_bytes(c) > STORE_HISTORY_BYTES_MAX)) {
		struct store_event *old = s->history[s->hstart];

		s->hbytes -= event_bytes(old);
		store_event_free(old);
		free(old);
		s->hstart = (s->hstart + 1) % STORE_HISTORY_MAX;
		s->hcount--;
	}
	s->history[(s->hstart + s->hcount) % STORE_HISTORY_MAX] = c;
	s->hcount++;
	s->hbytes += event_bytes(c);
}

static bool matches(const struct store_event *ev, const char *path, bool recursive, bool skip_hidden)
{
	size_t n = strlen(path);
	const char *rest;

	while (n && path[n - 1] == '/')
		n--;
	if (!strncmp(ev->key, path, n) && !ev->key[n])
		return true;
	/* A deleted or expired directory concerns watchers below it. */
	if (ev->dir && !strncmp(path, ev->key, strlen(ev->key)) && path[strlen(ev->key)] == '/' &&
	    (!strcmp(ev->action, "delete") || !strcmp(ev->action, "expire") ||
	     !strcmp(ev->action, "compareAndDelete")))
		return true;
	if (!recursive || strncmp(ev->key, path, n) || ev->key[n] != '/')
		return false;
	if (!skip_hidden)
		return true;
	/* Hidden keys below the watched path are not reported. */
	for (rest = ev->key + n; rest && *rest; rest = strchr(rest + 1, '/'))
		if (rest[1] == '_')
			return false;
	return true;
}

bool store_event_matches(const struct store_event *ev, const char *path, bool recursive)
{
	return matches(ev, path, recursive, true);
}

const struct store_event *store_watch_find(const struct store *s, const char *path, bool recursive,
					   uint64_t since, bool *cleared, uint64_t *oldest)
{
	uint64_t first = s->hcount ? s->history[s->hstart]->index : s->index + 1;

	*cleared = false;
	*oldest = first;
	if (since && since < first && since <= s->index) {
		*cleared = true;
		return NULL;
	}
	for (size_t i = 0; i < s->hcount; i++) {
		const struct store_event *ev = s->history[(s->hstart + i) % STORE_HISTORY_MAX];

		/* etcd's history scan does not hide keys; only events still to
		 * come skip hidden ones. */
		if (ev->index >= since && matches(ev, path, recursive, false))
			return ev;
	}
	return NULL;
}

/* --- applying changes -------------------------------------------------------------- */

static int event_begin(struct store_event *ev, const char *action, uint64_t index,
		       const struct store_node *n)
{
	memset(ev, 0, sizeof(*ev));
	ev->action = action;
	ev->index = index;
	ev->dir = n->dir;
	{
		struct buf k = BUF_INIT;

		if (node_key(n, &k) < 0 || !(ev->key = strdup(k.data ? k.data : "/"))) {
			buf_free(&k);
			return -ENOMEM;
		}
		buf_free(&k);
	}
	return 0;
}

static int set_value(struct store_node *n, const char *v, size_t len)
{
	char *c = malloc(len + 1);

	if (!c)
		return -ENOMEM;
	memcpy(c, v, len);
	c[len] = 0;
	free(n->value);
	n->value = c;
	n->vlen = len;
	return 0;
}

static int64_t expiry(const struct store_cmd *c)
{
	/* Go's time.Duration overflows past about 292 years; etcd then keeps
	 * the key forever, and so does this. */
	if (!c->has_ttl || c->ttl > 9223372036LL || c->ttl < 0)
		return 0;
	return c->time_ns + c->ttl * 1000000000LL;
}

static bool is_root(const char *path)
{
	return !path[strspn(path, "/")];
}

static int compare(const struct store_node *n, const struct store_cmd *c, struct buf *cause)
{
	bool vbad = c->prev_value && (n->vlen != c->prev_value_len ||
				      memcmp(n->value ? n->value : "", c->prev_value, n->vlen));
	bool ibad = c->prev_index && n->modified != c->prev_index;
	int r = 0;

	if (!vbad && !ibad)
		return 0;
	buf_reset(cause);
	/* Causes are in store form, the values in them too. */
	if (vbad) {
		r |= buf_puts(cause, "[");
		r |= store_key_escape(cause, c->prev_value, c->prev_value_len);
		r |= buf_puts(cause, " != ");
		r |= store_key_escape(cause, n->value ? n->value : "", n->vlen);
		r |= buf_puts(cause, "]");
	}
	if (ibad)
		r |= buf_printf(cause, "%s[%" PRIu64 " != %" PRIu64 "]", vbad ? " " : "", c->prev_index,
				n->modified);
	return r ? -ENOMEM : STORE_ETESTFAILED;
}

static int apply_set(struct store *s, const struct store_cmd *c, struct store_event *ev,
		     struct buf *cause)
{
	uint64_t index = s->index + 1;
	struct store_node *parent, *old, *n;
	const char *name;
	size_t at;
	int64_t now = c->time_ns;
	int r;
	/* As etcd's applier decides: prevExist=false creates whatever else is
	 * given; prevValue or prevIndex make a compare-and-swap; prevExist=true
	 * alone an update. */
	bool cas = c->prev_exist != STORE_EXIST_FALSE && (c->prev_value || c->prev_index);
	char *dirpath;

	if (is_root(c->path)) {
		buf_reset(cause);
		buf_puts(cause, "/");
		return STORE_EROOTRONLY;
	}
	name = strrchr(c->path, '/');
	name = name ? name + 1 : c->path;
	if (!(dirpath = strndup(c->path, (size_t)(name - c->path))))
		return -ENOMEM;
	/* Conditions first, without creating anything. */
	r = walk(s, c->path, false, index, &old, cause);
	if (r == STORE_ENOTFOUND && (cas || c->prev_exist == STORE_EXIST_TRUE)) {
		/* The cause is the first part of the path that is missing. */
		free(dirpath);
		return r;
	}
	if (r == STORE_ENOTFOUND)
		old = NULL, r = 0;
	if (r) {
		free(dirpath);
		return r;
	}
	if (c->refresh && !old) {
		free(dirpath);
		buf_reset(cause);
		return buf_puts(cause, c->path) ? -ENOMEM : STORE_ENOTFOUND;
	}
	if (c->prev_exist == STORE_EXIST_FALSE && old) {
		free(dirpath);
		buf_reset(cause);
		return buf_puts(cause, c->path) ? -ENOMEM : STORE_ENODEEXIST;
	}
	if (old && old->dir && (cas || (!c->dir && c->prev_exist != STORE_EXIST_TRUE) ||
				(c->dir && c->prev_exist == STORE_EXIST_ANY && !c->refresh) ||
				(c->prev_exist == STORE_EXIST_TRUE && c->value && c->value_len))) {
		free(dirpath);
		buf_reset(cause);
		return node_key(old, cause) ? -ENOMEM : STORE_ENOTFILE;
	}
	if (cas && (r = compare(old, c, cause)) != 0) {
		free(dirpath);
		return r;
	}

	if (cas || c->prev_exist == STORE_EXIST_TRUE) {
		/* compareAndSwap and update keep the node (and its createdIndex). */
		const char *action = cas ? "compareAndSwap" : "update";

		if ((r = event_begin(ev, action, index, old)) < 0 ||
		    (r = node_json(&ev->prev, old, now, 0, true)) < 0)
			goto fail;
		if (!old->dir && !c->refresh && (r = set_value(old, c->value ? c->value : "",
							       c->value ? c->value_len : 0)) < 0)
			goto fail;
		old->expire_ns = c->refresh || c->has_ttl ? expiry(c) : 0;
		if (old->dir) {
			/* etcd answers with the new index but keeps the old one. */
			uint64_t keep = old->modified;

			old->modified = index;
			r = node_json(&ev->node, old, now, 0, true);
			old->modified = keep;
		} else {
			old->modified = index;
			r = node_json(&ev->node, old, now, 0, true);
		}
		if (r < 0)
			goto fail;
		ev->refresh = c->refresh;
		s->index = index;
		free(dirpath);
		return 0;
	}

	/* set and create: a new node, replacing what was there. */
	if ((r = walk(s, dirpath, true, index, &parent, cause)) != 0) {
		free(dirpath);
		return r;
	}
	free(dirpath);
	if (!(n = store_node_new(name, strlen(name), c->dir && !c->refresh ? true : false)))
		return -ENOMEM;
	if (old && c->refresh)
		n->dir = old->dir;
	n->created = n->modified = index;
	if (!n->dir && (r = c->refresh ? set_value(n, old->value ? old->value : "", old->vlen)
				       : set_value(n, c->value ? c->value : "", c->value ? c->value_len : 0)) < 0) {
		store_node_free(n);
		return r;
	}
	n->expire_ns = c->refresh || c->has_ttl ? expiry(c) : 0;
	if ((r = event_begin(ev, c->prev_exist == STORE_EXIST_FALSE ? "create" : "set", index, n)) < 0 ||
	    (old && (r = node_json(&ev->prev, old, now, 0, true)) < 0)) {
		store_node_free(n);
		goto fail;
	}
	free(ev->key);
	ev->key = NULL;
	if (old) {
		kid_remove(old);
		store_node_free(old);
	}
	child(parent, name, strlen(name), &at);
	if ((r = store_kid_insert(parent, n, at)) < 0) {
		store_node_free(n);
		goto fail;
	}
	{
		struct buf k = BUF_INIT;

		if (node_key(n, &k) < 0 || !(ev->key = strdup(k.data ? k.data : "/"))) {
			buf_free(&k);
			r = -ENOMEM;
			goto fail;
		}
		buf_free(&k);
	}
	if ((r = node_json(&ev->node, n, now, 0, true)) < 0)
		goto fail;
	ev->refresh = c->refresh;
	s->index = index;
	return 0;
fail:
	store_event_free(ev);
	return r;
}

static int apply_post(struct store *s, const struct store_cmd *c, struct store_event *ev,
		      struct buf *cause)
{
	char path[STORE_KEY_MAX + 32];
	struct store_cmd k = *c;

	snprintf(path, sizeof(path), "%s/%020" PRIu64, is_root(c->path) ? "" : c->path, s->index + 1);
	k.op = STORE_SET;
	k.path = path;
	k.prev_exist = STORE_EXIST_FALSE;
	k.prev_value = NULL;
	k.prev_index = 0;
	k.refresh = false;
	/* The parent must be a directory (or become one). */
	{
		struct store_node *d;
		int r = walk(s, c->path, false, 0, &d, cause);

		if (r == 0 && !d->dir) {
			buf_reset(cause);
			return node_key(d, cause) ? -ENOMEM : STORE_ENOTDIR;
		}
		if (r && r != STORE_ENOTFOUND)
			return r;
	}
	return apply_set(s, &k, ev, cause);
}

/* Remove n with a delete, compareAndDelete or expire event. */
static int remove_node(struct store *s, struct store_node *n, const char *action, int64_t now,
		       struct store_event *ev)
{
	uint64_t index = s->index + 1;
	int r = event_begin(ev, action, index, n);

	if (!r)
		r = node_json(&ev->prev, n, now, 0, true);
	if (!r) {
		uint64_t keep = n->modified;
		int64_t exp = n->expire_ns;

		n->modified = index;
		n->expire_ns = 0;
		r = node_json(&ev->node, n, now, 0, false);
		n->modified = keep;
		n->expire_ns = exp;
	}
	if (r) {
		store_event_free(ev);
		return -ENOMEM;
	}
	kid_remove(n);
	store_node_free(n);
	s->index = index;
	return 0;
}

static int apply_delete(struct store *s, const struct store_cmd *c, struct store_event *ev,
			struct buf *cause)
{
	bool cad = c->prev_value || c->prev_index;
	struct store_node *n;
	int r;

	if (is_root(c->path)) {
		/* etcd's compareAndDelete does not check for the root: it finds
		 * a directory, and says so without a cause. */
		buf_reset(cause);
		buf_puts(cause, cad ? "" : "/");
		return cad ? STORE_ENOTFILE : STORE_EROOTRONLY;
	}
	if ((r = walk(s, c->path, false, 0, &n, cause)) != 0)
		return r;
	if (n->dir && (cad || (!c->dir && !c->recursive))) {
		buf_reset(cause);
		return node_key(n, cause) ? -ENOMEM : STORE_ENOTFILE;
	}
	if (n->dir && !c->recursive && n->nkids) {
		buf_reset(cause);
		return node_key(n, cause) ? -ENOMEM : STORE_EDIRNOTEMPTY;
	}
	if (cad && (r = compare(n, c, cause)) != 0)
		return r;
	return remove_node(s, n, cad ? "compareAndDelete" : "delete", c->time_ns, ev);
}

/* The first node expired by now, depth first. */
static struct store_node *expired(struct store_node *n, int64_t now)
{
	if (n->parent && n->expire_ns && n->expire_ns <= now)
		return n;
	for (size_t i = 0; i < n->nkids; i++) {
		struct store_node *e = expired(n->kids[i], now);

		if (e)
			return e;
	}
	return NULL;
}

/* Count c's outcome r as etcd's store counts it (struct store_stats). */
static void count(struct store_stats *st, const struct store_cmd *c, int r)
{
	bool cond = c->prev_value || c->prev_index;

	if (c->op == STORE_DELETE && cond) {
		r == STORE_ENOTFOUND || r == STORE_ENOTDIR || r < 0 ? st->cad_fail++ : st->cad_ok++;
	} else if (c->op == STORE_DELETE) {
		r && r != STORE_EROOTRONLY ? st->deletes_fail++ : st->deletes_ok++;
	} else if (c->op == STORE_POST || c->prev_exist == STORE_EXIST_FALSE) {
		r ? st->creates_fail++ : st->creates_ok++;
		st->sets_fail += r == STORE_ENOTDIR;
	} else if (cond) {
		r && r != STORE_EROOTRONLY ? st->cas_fail++ : st->cas_ok++;
	} else if (c->prev_exist == STORE_EXIST_TRUE) {
		r && r != STORE_EROOTRONLY && r != STORE_ENOTFILE ? st->updates_fail++ : st->updates_ok++;
	} else {
		r ? st->sets_fail++ : st->sets_ok++;
	}
}

int store_apply(struct store *s, const struct store_cmd *c, struct store_event *ev, struct buf *cause)
{
	int r;

	memset(ev, 0, sizeof(*ev));
	switch (c->op) {
	case STORE_SET:
		r = apply_set(s, c, ev, cause);
		break;
	case STORE_POST:
		r = apply_post(s, c, ev, cause);
		break;
	case STORE_DELETE:
		r = apply_delete(s, c, ev, cause);
		break;
	case STORE_EXPIRE: {
		struct store_node *n;

		/* Each expired key is its own event; the last is the answer. */
		r = 0;
		while (!r && (n = expired(s->root, c->time_ns))) {
			store_event_free(ev);
			/* Written as of its expiry: no "ttl", as etcd writes it. */
			r = remove_node(s, n, "expire", n->expire_ns, ev);
			if (!r) {
				s->stats.expires++;
				history_push(s, ev);
			}
		}
		return r;
	}
	default:
		return -EINVAL;
	}
	count(&s->stats, c, r);
	if (r == 0 && !ev->refresh)
		history_push(s, ev);
	return r;
}

int store_get(struct store *s, const char *path, bool recursive, bool sorted, int64_t now_ns,
	      struct buf *out, struct buf *cause)
{
	struct store_node *n;
	int r = walk(s, path, false, 0, &n, cause);

	(void)sorted;	/* children are always kept in key order */
	r ? s->stats.gets_fail++ : s->stats.gets_ok++;
	if (r)
		return r;
	if (buf_puts(out, "{\"action\":\"get\",\"node\":") < 0 ||
	    node_json(out, n, now_ns, n->dir ? (recursive ? 1 << 20 : 1) : 0, true) < 0 ||
	    buf_puts(out, "}\n") < 0)
		return -ENOMEM;
	return 0;
}

static int64_t next_expiry(const struct store_node *n)
{
	int64_t best = n->parent ? n->expire_ns : 0;

	for (size_t i = 0; i < n->nkids; i++) {
		int64_t e = next_expiry(n->kids[i]);

		if (e && (!best || e < best))
			best = e;
	}
	return best;
}

int64_t store_next_expiry(const struct store *s)
{
	return next_expiry(s->root);
}

int store_init(struct store *s)
{
	memset(s, 0, sizeof(*s));
	s->root = store_node_new("", 0, true);
	return s->root ? 0 : -ENOMEM;
}

void store_free(struct store *s)
{
	store_node_free(s->root);
	for (size_t i = 0; i < s->hcount; i++) {
		struct store_event *ev = s->history[(s->hstart + i) % STORE_HISTORY_MAX];

		s->hbytes -= event_bytes(ev);
		store_event_free(ev);
		free(ev);
	}
	s->root = NULL;
	s->hcount = 0;
}
