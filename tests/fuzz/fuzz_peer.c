/* libFuzzer: what a peer may send. The input is read as a stream of frames,
 * as a member reads a connection: each is decoded; a Raft message is
 * stepped into a member of a three-member cluster, and the commands its
 * entries carry are decoded as the state machine would. Nothing crashes or
 * reads outside the input; a frame that decodes encodes back to the same
 * bytes, and a command or a member table that decodes encodes back to one
 * that decodes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "members.h"
#include "peer_msg.h"
#include "raft.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void command(const unsigned char *data, size_t len)
{
	struct kv_cmd c, c2;
	struct buf b = BUF_INIT;

	if (kv_cmd_decode(&c, data, len) < 0)
		return;
	check(kv_cmd_encode(&c, &b) == 0);
	check(kv_cmd_decode(&c2, b.data, b.len) == 0);
	check(c2.kind == c.kind && c2.seq == c.seq && c2.store.op == c.store.op);
	check(!c.store.prev_value == !c2.store.prev_value);
	check(!c.store.prev_value || (c2.store.prev_value_len == c.store.prev_value_len &&
				      !memcmp(c2.store.prev_value, c.store.prev_value, c.store.prev_value_len)));
	buf_free(&b);
}

static void frame(struct raft *r, const unsigned char *f, size_t len)
{
	struct peer_hello h;
	struct raft_msg m;
	struct buf b = BUF_INIT;
	const void *cmd;
	size_t n;

	switch (peer_frame_type(f, len)) {
	case PEER_HELLO:
		if (peer_hello_decode(&h, f, len) == 0) {
			check(peer_hello_encode(&h, &b) == 0);
			check(b.len == len && !memcmp(b.data, f, len));
		}
		break;
	case PEER_RAFT:
		if (peer_raft_decode(&m, f, len) < 0)
			break;
		check(peer_raft_encode(&m, &b) == 0);
		check(b.len == len && !memcmp(b.data, f, len));
		for (size_t i = 0; i < m.nentries; i++)
			command(m.entries[i].data, m.entries[i].len);
		m.to = r->id;
		raft_step(r, &m);
		peer_raft_free(&m);
		break;
	case PEER_PROPOSE:
		if (peer_propose_decode(f, len, &cmd, &n) == 0)
			command(cmd, n);
		break;
	case PEER_JOIN: {
		uint32_t v;
		const char *urls;

		if (peer_join_decode(f, len, &v, &urls) == 0) {
			check(peer_join_encode(v, urls, &b) == 0);
			check(b.len == len && !memcmp(b.data, f, len));
		}
		break;
	}
	case PEER_JOINED: {
		struct peer_joined j;
		struct kv_member ms[RAFT_MEMBERS_MAX];
		size_t nm;

		if (peer_joined_decode(&j, f, len) < 0)
			break;
		check(peer_joined_encode(&j, &b) == 0);
		check(b.len == len && !memcmp(b.data, f, len));
		if (j.ok && kv_members_decode(ms, &nm, j.members, j.members_len) == 0) {
			struct buf t = BUF_INIT;

			check(kv_members_encode(ms, nm, &t) == 0);
			check(kv_members_decode(ms, &nm, t.data, t.len) == 0);
			buf_free(&t);
		}
		break;
	}
	case PEER_READ: {
		uint64_t seq;

		if (peer_read_decode(f, len, &seq) == 0) {
			check(peer_read_encode(seq, &b) == 0);
			check(b.len == len && !memcmp(b.data, f, len));
		}
		break;
	}
	case PEER_READ_INDEX: {
		uint64_t seq, index;

		if (peer_read_index_decode(f, len, &seq, &index) == 0) {
			check(peer_read_index_encode(seq, index, &b) == 0);
			check(b.len == len && !memcmp(b.data, f, len));
		}
		break;
	}
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raft r;
	struct raft_config rc = {
		.id = 1, .election_tick = 10, .heartbeat_tick = 1, .pre_vote = true,
		.check_quorum = true, .seed = 1,
		.conf = { .voters = { 1, 2, 3 }, .nvoters = 3 },
	};
	size_t off = 0;

	rc.snapshot.conf = rc.conf;
	if (raft_init(&r, &rc) < 0)
		return 0;
	while (off < size) {
		int64_t n = peer_frame_len(data + off, size - off);

		if (n <= 0)
			break;
		frame(&r, data + off, (size_t)n);
		off += (size_t)n;
		while (raft_has_ready(&r)) {
			struct raft_ready rd;

			raft_ready(&r, &rd);
			raft_advance(&r, &rd);
		}
	}
	raft_free(&r);
	return 0;
}
