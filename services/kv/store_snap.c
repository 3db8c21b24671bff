/*
 * The store as bytes: a snapshot of the key space for the log's compaction
 * and for members that fell too far behind (thesis chapter 5).
 *
 *	u64 the store's index
 *	the root's children, depth first, each:
 *	  u8 flags (1: a directory), name, value (length-prefixed),
 *	  u64 createdIndex, u64 modifiedIndex, u64 expiry (Unix ns, 0: none),
 *	  u32 children, then each child
 *
 * Restoring checks everything a corrupt or hostile snapshot could break:
 * names (no "/", no NUL, not empty), the children's order (strictly
 * increasing, as lookups need), indexes no later than the store's, depth.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "store.h"
#include "store_node.h"

/* Deeper than any key of STORE_KEY_MAX bytes can make the tree. */
#define SNAP_DEPTH_MAX (STORE_KEY_MAX / 2 + 1)

static void node_put(struct enc *e, const struct store_node *n)
{
	enc_u8(e, n->dir ? 1 : 0);
	enc_str(e, n->name, strlen(n->name));
	enc_str(e, n->value ? n->value : "", n->value ? n->vlen : 0);
	enc_u64(e, n->created);
	enc_u64(e, n->modified);
	enc_u64(e, (uint64_t)n->expire_ns);
	enc_u32(e, (uint32_t)n->nkids);
	for (size_t i = 0; i < n->nkids && e->ok; i++)
		node_put(e, n->kids[i]);
}

int store_snapshot(const struct store *s, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = out->len;

	enc_u64(&e, s->index);
	enc_u32(&e, (uint32_t)s->root->nkids);
	for (size_t i = 0; i < s->root->nkids && e.ok; i++)
		node_put(&e, s->root->kids[i]);
	if (!e.ok) {
		out->len = start;
		return -ENOMEM;
	}
	return 0;
}

/* Read n children into d. 0, -EBADMSG, -ENOMEM. */
static int kids_get(struct dec *d, struct store_node *dir, uint32_t n, uint64_t index, unsigned depth)
{
	if (depth > SNAP_DEPTH_MAX || n > d->len / 33)	/* a child takes 33 bytes at least */
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t flags = dec_u8(d);
		size_t nlen, vlen;
		const unsigned char *name = dec_str(d, STORE_KEY_MAX, &nlen);
		const unsigned char *value = dec_str(d, STORE_VALUE_MAX, &vlen);
		uint64_t created = dec_u64(d), modified = dec_u64(d), expire = dec_u64(d);
		uint32_t nkids = dec_u32(d);
		struct store_node *k;
		int r;

		if (!d->ok || flags > 1 || !nlen || memchr(name, '/', nlen) || memchr(name, 0, nlen) ||
		    created > index || modified > index || (int64_t)expire < 0 || (!flags && nkids) ||
		    (flags && vlen))
			return -EBADMSG;
		if (dir->nkids) {
			const char *prev = dir->kids[dir->nkids - 1]->name;
			int c = strncmp(prev, (const char *)name, nlen);

			if (c > 0 || (c == 0 && strlen(prev) >= nlen))
				return -EBADMSG;	/* not strictly after the one before */
		}
		if (!(k = store_node_new((const char *)name, nlen, flags == 1)))
			return -ENOMEM;
		if (!flags && !(k->value = malloc(vlen ? vlen : 1))) {
			store_node_free(k);
			return -ENOMEM;
		}
		if (!flags) {
			memcpy(k->value, value, vlen);
			k->vlen = vlen;
		}
		k->created = created;
		k->modified = modified;
		k->expire_ns = (int64_t)expire;
		if ((r = store_kid_insert(dir, k, dir->nkids)) < 0) {
			store_node_free(k);
			return r;
		}
		if ((r = kids_get(d, k, nkids, index, depth + 1)) < 0)
			return r;
	}
	return 0;
}

int store_restore(struct store *s, const void *data, size_t len)
{
	struct dec d = { data, len, true };
	struct store fresh;
	uint64_t index = dec_u64(&d);
	uint32_t n = dec_u32(&d);
	int r;

	if (!d.ok)
		return -EBADMSG;
	if ((r = store_init(&fresh)) < 0)
		return r;
	fresh.index = index;
	r = kids_get(&d, fresh.root, n, index, 0);
	if (r == 0 && d.len)
		r = -EBADMSG;
	if (r < 0) {
		store_free(&fresh);
		return r;
	}
	fresh.stats = s->stats;
	fresh.on_event = s->on_event;
	fresh.on_event_arg = s->on_event_arg;
	store_free(s);
	*s = fresh;
	if (s->on_event)
		s->on_event(s->on_event_arg, NULL);
	return 0;
}
