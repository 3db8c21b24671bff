#include "members.h"

#include <arpa/inet.h>
#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "codec.h"
#include "json.h"

int kv_url_parse(struct kv_url *u, const char *s, struct err *e)
{
	const char *p, *colon;
	char *end;
	unsigned long port;
	size_t hlen;
	unsigned char addr[16];
	size_t len = strlen(s);

	memset(u, 0, sizeof(*u));
	if (len >= sizeof(u->text))
		goto bad;
	memcpy(u->text, s, len + 1);
	if (!strncmp(s, "http://", 7)) {
		p = s + 7;
	} else if (!strncmp(s, "https://", 8)) {
		u->tls = true;
		p = s + 8;
	} else {
		err_set(e, 0, "URL %s: the scheme must be http or https", s);
		return -EINVAL;
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (!close || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - p - 1);
		memcpy(u->host, p + 1, hlen);
		colon = close + 1;
	} else {
		colon = strrchr(p, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - p);
		memcpy(u->host, p, hlen);
	}
	u->host[hlen] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || port == 0 || port > 65535 || (*end && strcmp(end, "/")))
		goto bad;
	u->port = (uint16_t)port;
	if (inet_pton(AF_INET, u->host, addr) != 1 && inet_pton(AF_INET6, u->host, addr) != 1) {
		err_set(e, 0, "URL %s: the host must be an IP address", s);
		return -EINVAL;
	}
	/* The text is kept without a trailing slash, as etcd prints URLs. */
	if (*end == '/')
		u->text[strlen(u->text) - 1] = 0;
	return 0;
bad:
	err_set(e, 0, "URL %s: expected http(s)://IP:PORT", s);
	return -EINVAL;
}

int kv_urls_parse(struct kv_url *u, size_t *n, const char *list, struct err *e)
{
	char one[KV_URL_MAX];
	const char *p = list;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (*n == KV_URLS_MAX || len >= sizeof(one)) {
			err_set(e, 0, "%s: at most %d URLs of %d bytes", list, KV_URLS_MAX, KV_URL_MAX - 1);
			return -EINVAL;
		}
		memcpy(one, p, len);
		one[len] = 0;
		if (kv_url_parse(&u[(*n)++], one, e) < 0)
			return -EINVAL;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*n) {
		err_set(e, 0, "no URL given");
		return -EINVAL;
	}
	return 0;
}

bool kv_url_is_loopback(const struct kv_url *u)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, u->host, a) == 1)
		return a[0] == 127;
	return !strcmp(u->host, "::1");
}

static int url_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv_url *)a)->text, ((const struct kv_url *)b)->text);
}

static uint64_t member_id(const struct kv_url *peer, size_t npeer, const char *token,
			  const int64_t *now_ns)
{
	struct kv_url sorted[KV_URLS_MAX];
	br_sha1_context h;
	unsigned char d[20];
	uint64_t id = 0;

	memcpy(sorted, peer, npeer * sizeof(*peer));
	qsort(sorted, npeer, sizeof(*sorted), url_cmp);
	br_sha1_init(&h);
	for (size_t i = 0; i < npeer; i++)
		br_sha1_update(&h, sorted[i].text, strlen(sorted[i].text));
	br_sha1_update(&h, token, strlen(token));
	if (now_ns) {
		unsigned char be[8];

		for (int b = 0; b < 8; b++)
			be[b] = (unsigned char)((uint64_t)*now_ns >> (56 - 8 * b));
		br_sha1_update(&h, be, 8);
	}
	br_sha1_out(&h, d);
	for (int i = 0; i < 8; i++)
		id = id << 8 | d[i];
	return id;
}

uint64_t kv_member_id(const struct kv_url *peer, size_t npeer, const char *token)
{
	return member_id(peer, npeer, token, NULL);
}

uint64_t kv_member_id_new(const struct kv_url *peer, size_t npeer, const char *token, int64_t now_ns)
{
	uint64_t id = member_id(peer, npeer, token, &now_ns);

	return id ? id : 1;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t kv_cluster_id(const struct kv_member *m, size_t n)
{
	uint64_t ids[RAFT_MEMBERS_MAX];
	br_sha1_context h;
	unsigned char d[20], be[8];
	uint64_t id = 0;

	for (size_t i = 0; i < n; i++)
		ids[i] = m[i].id;
	qsort(ids, n, sizeof(*ids), u64_cmp);
	br_sha1_init(&h);
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++)
			be[b] = (unsigned char)(ids[i] >> (56 - 8 * b));
		br_sha1_update(&h, be, 8);
	}
	br_sha1_out(&h, d);
	for (int i = 0; i < 8; i++)
		id = id << 8 | d[i];
	return id;
}

int kv_cluster_parse(struct kv_member *m, size_t *n, const char *spec, const char *token,
		     struct err *e)
{
	const char *p = spec;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ","), nlen;
		const char *eq = memchr(p, '=', len);
		char url[KV_URL_MAX];
		struct kv_member *t = NULL;

		if (!eq || eq == p || (size_t)(eq - p) > KV_NAME_MAX || len - (size_t)(eq - p) - 1 >= sizeof(url)) {
			err_set(e, 0, "--initial-cluster: expected name=URL at \"%.*s\"", (int)len, p);
			return -EINVAL;
		}
		nlen = (size_t)(eq - p);
		for (size_t i = 0; i < *n; i++)
			if (strlen(m[i].name) == nlen && !memcmp(m[i].name, p, nlen))
				t = &m[i];
		if (!t) {
			if (*n == RAFT_MEMBERS_MAX) {
				err_set(e, 0, "--initial-cluster: at most %d members", RAFT_MEMBERS_MAX);
				return -EINVAL;
			}
			t = &m[(*n)++];
			memset(t, 0, sizeof(*t));
			memcpy(t->name, p, nlen);
		}
		memcpy(url, eq + 1, len - nlen - 1);
		url[len - nlen - 1] = 0;
		if (t->npeer == KV_URLS_MAX) {
			err_set(e, 0, "--initial-cluster: at most %d URLs for %s", KV_URLS_MAX, t->name);
			return -EINVAL;
		}
		if (kv_url_parse(&t->peer[t->npeer++], url, e) < 0)
			return -EINVAL;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*n) {
		err_set(e, 0, "--initial-cluster is empty");
		return -EINVAL;
	}
	for (size_t i = 0; i < *n; i++) {
		m[i].id = kv_member_id(m[i].peer, m[i].npeer, token);
		for (size_t j = 0; j < i; j++)
			if (m[j].id == m[i].id) {
				err_set(e, 0, "--initial-cluster: %s and %s have the same peer URLs",
					m[j].name, m[i].name);
				return -EINVAL;
			}
	}
	return 0;
}

int kv_member_json(const struct kv_member *m, struct buf *out)
{
	int r = buf_printf(out, "{\"id\":\"%llx\",\"name\":", (unsigned long long)m->id);

	r |= json_quote(out, m->name, strlen(m->name));
	r |= buf_puts(out, ",\"peerURLs\":[");
	for (size_t i = 0; i < m->npeer; i++)
		r |= buf_printf(out, "%s", i ? "," : ""), r |= json_quote(out, m->peer[i].text, strlen(m->peer[i].text));
	r |= buf_puts(out, "],\"clientURLs\":[");
	for (size_t i = 0; i < m->nclient; i++)
		r |= buf_printf(out, "%s", i ? "," : ""), r |= json_quote(out, m->client[i], strlen(m->client[i]));
	r |= buf_puts(out, "]}");
	return r ? -ENOMEM : 0;
}

void kv_urls_join(const struct kv_url *u, size_t n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", u[i].text);
}

void kv_member_peer_list(const struct kv_member *m, char *out, size_t len)
{
	kv_urls_join(m->peer, m->npeer, out, len);
}

void kv_member_clients(struct kv_member *m, const char *list)
{
	const char *p = list;

	m->nclient = 0;
	while (*p && m->nclient < KV_URLS_MAX) {
		size_t len = strcspn(p, ",");

		if (len && len < KV_URL_MAX) {
			memcpy(m->client[m->nclient], p, len);
			m->client[m->nclient++][len] = 0;
		}
		p += len + (p[len] == ',');
	}
}

static int member_cmp(const void *a, const void *b)
{
	return u64_cmp(&((const struct kv_member *)a)->id, &((const struct kv_member *)b)->id);
}

void kv_members_sort(struct kv_member *m, size_t n)
{
	qsort(m, n, sizeof(*m), member_cmp);
}

#define LIST_MAX (KV_URLS_MAX * KV_URL_MAX)

int kv_members_encode(const struct kv_member *m, size_t n, struct buf *out)
{
	struct enc e = { out, true };

	enc_u32(&e, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		char peers[LIST_MAX], clients[LIST_MAX];
		size_t c = 0;

		kv_member_peer_list(&m[i], peers, sizeof(peers));
		clients[0] = 0;
		for (size_t j = 0; j < m[i].nclient; j++)
			c += (size_t)snprintf(clients + c, sizeof(clients) - c, "%s%s", j ? "," : "", m[i].client[j]);
		enc_u64(&e, m[i].id);
		enc_str(&e, m[i].name, strlen(m[i].name));
		enc_str(&e, peers, strlen(peers));
		enc_str(&e, clients, strlen(clients));
	}
	return e.ok ? 0 : -ENOMEM;
}

/* A length-prefixed string into a C string of at most max bytes. */
static bool dec_text(struct dec *d, char *out, size_t max)
{
	size_t n;
	const unsigned char *p = dec_str(d, max, &n);

	if (!p || memchr(p, 0, n))
		return false;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

int kv_members_decode(struct kv_member *m, size_t *n, const void *data, size_t len)
{
	struct dec d = { data, len, true };
	uint32_t count = dec_u32(&d);
	struct err e = { 0 };

	*n = 0;
	if (!d.ok || count > RAFT_MEMBERS_MAX)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		struct kv_member *t = &m[i];
		char peers[LIST_MAX + 1], clients[LIST_MAX + 1];

		memset(t, 0, sizeof(*t));
		t->id = dec_u64(&d);
		if (!d.ok || !t->id || !dec_text(&d, t->name, KV_NAME_MAX) ||
		    !dec_text(&d, peers, LIST_MAX) || !dec_text(&d, clients, LIST_MAX) ||
		    kv_urls_parse(t->peer, &t->npeer, peers, &e) < 0)
			return -EBADMSG;
		kv_member_clients(t, clients);
		for (uint32_t j = 0; j < i; j++)
			if (m[j].id == t->id)
				return -EBADMSG;
	}
	if (d.len)
		return -EBADMSG;
	*n = count;
	return 0;
}

int kv_member_req_parse(const char *body, size_t len, struct kv_url *u, size_t *n, struct err *e)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *urls, *it;
	int r = -EINVAL;

	*n = 0;
	if (!root) {
		err_set(e, 0, len ? "the body is not JSON" : "unexpected end of JSON input");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		err_set(e, 0, "json: the body must be an object with \"peerURLs\"");
		goto out;
	}
	urls = cJSON_GetObjectItem(root, "peerURLs");
	if (urls && !cJSON_IsNull(urls) && !cJSON_IsArray(urls)) {
		err_set(e, 0, "json: peerURLs must be an array of strings");
		goto out;
	}
	cJSON_ArrayForEach(it, urls) {
		const char *s = cJSON_GetStringValue(it);

		if (!s) {
			err_set(e, 0, "json: peerURLs must be an array of strings");
			goto out;
		}
		if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) {
			err_set(e, 0, "URL scheme must be http, https, unix, or unixs: %s", s);
			goto out;
		}
		if (*n == KV_URLS_MAX) {
			err_set(e, 0, "at most %d peer URLs", KV_URLS_MAX);
			goto out;
		}
		if (kv_url_parse(&u[*n], s, e) < 0)
			goto out;
		(*n)++;
	}
	if (!*n) {
		err_set(e, 0, "no valid URLs given");
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}
