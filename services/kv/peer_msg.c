#include "peer_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Start a frame: room for the length, then the type. */
static size_t frame_begin(struct enc *e, uint8_t type)
{
	size_t start = e->b->len;

	enc_u32(e, 0);
	enc_u8(e, type);
	return start;
}

static int frame_end(struct enc *e, size_t start)
{
	size_t n;

	if (!e->ok) {
		e->b->len = start;
		return -ENOMEM;
	}
	n = e->b->len - start - 4;
	if (n > PEER_FRAME_MAX) {
		e->b->len = start;
		return -EMSGSIZE;
	}
	e->b->data[start] = (char)(n >> 24);
	e->b->data[start + 1] = (char)(n >> 16);
	e->b->data[start + 2] = (char)(n >> 8);
	e->b->data[start + 3] = (char)n;
	return 0;
}

int peer_hello_encode(const struct peer_hello *h, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_HELLO);

	enc_u32(&e, h->version);
	enc_u64(&e, h->cluster_id);
	enc_u64(&e, h->from);
	enc_u64(&e, h->to);
	return frame_end(&e, start);
}

int peer_raft_encode(const struct raft_msg *m, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_RAFT);
	unsigned char conf[RAFT_CONF_BYTES];
	int n = 0;

	enc_u8(&e, (uint8_t)m->type);
	enc_u64(&e, m->from);
	enc_u64(&e, m->to);
	enc_u64(&e, m->term);
	enc_u64(&e, m->log_term);
	enc_u64(&e, m->index);
	enc_u64(&e, m->commit);
	enc_u8(&e, m->reject);
	enc_u64(&e, m->hint);
	enc_u64(&e, m->context);
	enc_u32(&e, (uint32_t)m->nentries);
	for (size_t i = 0; i < m->nentries; i++) {
		const struct raft_entry *en = &m->entries[i];

		enc_u64(&e, en->term);
		enc_u64(&e, en->index);
		enc_u8(&e, en->type);
		enc_str(&e, en->data, en->len);
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		n = raft_conf_encode(&m->snap.conf, conf, sizeof(conf));
		if (n < 0)
			e.ok = false;
		enc_u64(&e, m->snap.index);
		enc_u64(&e, m->snap.term);
		enc_str(&e, conf, n < 0 ? 0 : (size_t)n);
		enc_str(&e, m->snap_data, m->snap_len);
	}
	return frame_end(&e, start);
}

int peer_propose_encode(const void *cmd, size_t len, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_PROPOSE);

	enc_str(&e, cmd, len);
	return frame_end(&e, start);
}

int peer_read_encode(uint64_t seq, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_READ);

	enc_u64(&e, seq);
	return frame_end(&e, start);
}

int peer_read_index_encode(uint64_t seq, uint64_t index, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_READ_INDEX);

	enc_u64(&e, seq);
	enc_u64(&e, index);
	return frame_end(&e, start);
}

int64_t peer_frame_len(const void *data, size_t len)
{
	struct dec d = { data, len, true };
	uint32_t n = dec_u32(&d);

	if (!d.ok)
		return 0;
	if (n < 1 || n > PEER_FRAME_MAX)
		return -EMSGSIZE;
	return len - 4 >= n ? (int64_t)n + 4 : 0;
}

int peer_frame_type(const void *frame, size_t len)
{
	return len > 4 ? ((const unsigned char *)frame)[4] : -EBADMSG;
}

/* The fields after the length and a type that must be want. */
static struct dec frame_body(const void *frame, size_t len, int want)
{
	struct dec d = { frame, len, true };

	if (dec_u32(&d) != len - 4 || dec_u8(&d) != want)
		d.ok = false;
	return d;
}

int peer_hello_decode(struct peer_hello *h, const void *frame, size_t len)
{
	struct dec d = frame_body(frame, len, PEER_HELLO);

	h->version = dec_u32(&d);
	h->cluster_id = dec_u64(&d);
	h->from = dec_u64(&d);
	h->to = dec_u64(&d);
	return d.ok && !d.len ? 0 : -EBADMSG;
}

int peer_raft_decode(struct raft_msg *m, const void *frame, size_t len)
{
	struct dec d = frame_body(frame, len, PEER_RAFT);
	uint8_t type, reject;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	type = dec_u8(&d);
	m->from = dec_u64(&d);
	m->to = dec_u64(&d);
	m->term = dec_u64(&d);
	m->log_term = dec_u64(&d);
	m->index = dec_u64(&d);
	m->commit = dec_u64(&d);
	reject = dec_u8(&d);
	m->hint = dec_u64(&d);
	m->context = dec_u64(&d);
	n = dec_u32(&d);
	/* Each entry takes at least 21 bytes: a count beyond what is left is a lie. */
	if (!d.ok || type >= RAFT_MSG_TYPES || reject > 1 || n > PEER_ENTRIES_MAX || n > d.len / 21)
		return -EBADMSG;
	m->type = type;
	m->reject = reject;
	if (n) {
		m->entries = calloc(n, sizeof(*m->entries));
		if (!m->entries)
			return -EBADMSG;
		m->nentries = n;
	}
	for (uint32_t i = 0; i < n && d.ok; i++) {
		struct raft_entry *en = &m->entries[i];
		size_t elen;

		en->term = dec_u64(&d);
		en->index = dec_u64(&d);
		en->type = dec_u8(&d);
		en->data = (unsigned char *)dec_str(&d, PEER_FRAME_MAX, &elen);
		en->len = (uint32_t)elen;
		/* Entries follow the one the message names, one after another. */
		if (en->type > RAFT_ENTRY_CONF || en->index != (i ? m->entries[i - 1].index : m->index) + 1)
			d.ok = false;
	}
	if (d.ok && m->type == RAFT_MSG_SNAPSHOT) {
		size_t clen;
		const unsigned char *conf;

		m->snap.index = dec_u64(&d);
		m->snap.term = dec_u64(&d);
		conf = dec_str(&d, RAFT_CONF_BYTES, &clen);
		m->snap_data = dec_str(&d, PEER_FRAME_MAX, &m->snap_len);
		if (d.ok && raft_conf_decode(&m->snap.conf, conf, clen) < 0)
			d.ok = false;
	}
	if (!d.ok || d.len) {
		peer_raft_free(m);
		return -EBADMSG;
	}
	return 0;
}

void peer_raft_free(struct raft_msg *m)
{
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}

int peer_propose_decode(const void *frame, size_t len, const void **cmd, size_t *cmd_len)
{
	struct dec d = frame_body(frame, len, PEER_PROPOSE);

	*cmd = dec_str(&d, PEER_FRAME_MAX, cmd_len);
	return d.ok && !d.len ? 0 : -EBADMSG;
}

int peer_read_decode(const void *frame, size_t len, uint64_t *seq)
{
	struct dec d = frame_body(frame, len, PEER_READ);

	*seq = dec_u64(&d);
	return d.ok && !d.len ? 0 : -EBADMSG;
}

int peer_read_index_decode(const void *frame, size_t len, uint64_t *seq, uint64_t *index)
{
	struct dec d = frame_body(frame, len, PEER_READ_INDEX);

	*seq = dec_u64(&d);
	*index = dec_u64(&d);
	return d.ok && !d.len ? 0 : -EBADMSG;
}

/* The longest peer URL list or reason a JOIN or JOINED carries. */
#define JOIN_TEXT_MAX 1024

int peer_join_encode(uint32_t version, const char *peer_urls, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_JOIN);

	enc_u32(&e, version);
	enc_str(&e, peer_urls, strlen(peer_urls) + 1);
	return frame_end(&e, start);
}

int peer_joined_encode(const struct peer_joined *j, struct buf *out)
{
	struct enc e = { out, true };
	size_t start = frame_begin(&e, PEER_JOINED);

	enc_u8(&e, j->ok);
	if (j->ok) {
		enc_u64(&e, j->cluster_id);
		enc_str(&e, j->members, j->members_len);
	} else {
		enc_str(&e, j->reason, strlen(j->reason) + 1);
	}
	return frame_end(&e, start);
}

int peer_join_decode(const void *frame, size_t len, uint32_t *version, const char **peer_urls)
{
	struct dec d = frame_body(frame, len, PEER_JOIN);

	*version = dec_u32(&d);
	*peer_urls = dec_cstr(&d, JOIN_TEXT_MAX - 1);
	return d.ok && !d.len ? 0 : -EBADMSG;
}

int peer_joined_decode(struct peer_joined *j, const void *frame, size_t len)
{
	struct dec d = frame_body(frame, len, PEER_JOINED);
	uint8_t ok = dec_u8(&d);

	memset(j, 0, sizeof(*j));
	if (ok > 1)
		return -EBADMSG;
	j->ok = ok;
	if (ok) {
		j->cluster_id = dec_u64(&d);
		j->members = dec_str(&d, PEER_FRAME_MAX, &j->members_len);
	} else {
		j->reason = dec_cstr(&d, JOIN_TEXT_MAX - 1);
	}
	return d.ok && !d.len ? 0 : -EBADMSG;
}
