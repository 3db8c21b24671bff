/*
 * The peer protocol: what members send each other over their TCP (TLS)
 * connections on the peer port, as frames:
 *
 *	u32 length of what follows (at most PEER_FRAME_MAX)
 *	u8  type
 *	... the type's fields, big-endian (codec.h)
 *
 * HELLO opens every connection: the cluster, the sender and the member it
 * meant to reach, so that a member of another cluster, or one that is not
 * in this cluster's configuration, is turned away before anything it says
 * is read. RAFT carries one struct raft_msg; its sender must be the member
 * that said HELLO. PROPOSE carries a command (cmd.h) from a follower to
 * the leader, which proposes it as it is (etcd forwards proposals so too)
 * if it is one a follower forwards for its own clients: on its own behalf,
 * and its own attributes only (kv_forwarded).
 * READ asks the leader for a read index on a follower's behalf (Raft
 * thesis, section 6.4): the follower's own sequence number for the read;
 * READ_INDEX answers it with the index the follower must apply before it
 * reads its store, or 0: not confirmed here (the follower puts its read in
 * the log instead).
 *
 * A member that joins a running cluster (--initial-cluster-state
 * existing) knows neither its ID nor the cluster's: instead of HELLO it
 * sends JOIN with its peer URLs, and is answered with JOINED, the
 * cluster's ID and member table if a member on those URLs was added (and,
 * over TLS, its certificate names their addresses), or why not. Then the
 * connection is closed.
 *
 * Decoding is pure and checks every field; entries and snapshot data point
 * into the frame. Fuzzed by tests/fuzz/fuzz_peer.c.
 */
#ifndef PITH_KV_PEER_MSG_H
#define PITH_KV_PEER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "raft.h"

#define PEER_VERSION 1
/* The largest frame read: a batch of entries (RAFT_MSG_BYTES_MAX, one
 * entry may be as large as a value) or a snapshot. */
#define PEER_FRAME_MAX (256u * 1024 * 1024)
/* Entries in one APPEND, a bound on what a decoder allocates. */
#define PEER_ENTRIES_MAX 65536

enum peer_frame {
	PEER_HELLO = 1,
	PEER_RAFT = 2,
	PEER_PROPOSE = 3,
	PEER_JOIN = 4,
	PEER_JOINED = 5,
	PEER_READ = 6,
	PEER_READ_INDEX = 7,
};

/* JOINED: ok, with the cluster and its member table (kv_members_encode);
 * or not, with the reason. */
struct peer_joined {
	bool ok;
	uint64_t cluster_id;
	const void *members;
	size_t members_len;
	const char *reason;	/* NUL-terminated in the frame */
};

struct peer_hello {
	uint32_t version;
	uint64_t cluster_id;
	uint64_t from, to;
};

/* Append a frame to out. 0 or -ENOMEM (out is as it was). */
int peer_hello_encode(const struct peer_hello *h, struct buf *out);
int peer_raft_encode(const struct raft_msg *m, struct buf *out);
int peer_propose_encode(const void *cmd, size_t len, struct buf *out);
int peer_join_encode(uint32_t version, const char *peer_urls, struct buf *out);
int peer_joined_encode(const struct peer_joined *j, struct buf *out);
int peer_read_encode(uint64_t seq, struct buf *out);
int peer_read_index_encode(uint64_t seq, uint64_t index, struct buf *out);

/*
 * Is a whole frame at the start of data? Its length (header included) if
 * so, 0 if more bytes are needed, -EMSGSIZE if its length is out of
 * bounds.
 */
int64_t peer_frame_len(const void *data, size_t len);

/* The type of a whole frame (its first byte after the length). */
int peer_frame_type(const void *frame, size_t len);

/* Decode a whole frame. 0 or -EBADMSG. peer_raft_decode allocates
 * m->entries (free with peer_raft_free); everything else points into frame. */
int peer_hello_decode(struct peer_hello *h, const void *frame, size_t len);
int peer_raft_decode(struct raft_msg *m, const void *frame, size_t len);
void peer_raft_free(struct raft_msg *m);
int peer_propose_decode(const void *frame, size_t len, const void **cmd, size_t *cmd_len);
/* JOIN: the version and the peer URLs, joined by commas (NUL-terminated in the frame). */
int peer_join_decode(const void *frame, size_t len, uint32_t *version, const char **peer_urls);
int peer_joined_decode(struct peer_joined *j, const void *frame, size_t len);
int peer_read_decode(const void *frame, size_t len, uint64_t *seq);
int peer_read_index_decode(const void *frame, size_t len, uint64_t *seq, uint64_t *index);

#endif
