/*
 * Raft, as a pure state machine: no I/O, no clock, no threads. Section
 * numbers refer to Diego Ongaro's thesis, "Consensus: Bridging Theory and
 * Practice" (Stanford, 2014).
 *
 * The caller owns everything outside: the write-ahead log, the network, the
 * clock, the state machine the log is applied to. It drives this file with
 * four calls and reads back what to do:
 *
 *	raft_tick(r)            every tick (heartbeat and election timeouts are
 *	                        counted in ticks)
 *	raft_step(r, m)         every message received from a peer
 *	raft_propose(r, ...)    a new command (leader only)
 *	raft_read_index(r, ctx) a linearizable read (section 6.4)
 *
 * and then, whenever raft_has_ready(r):
 *
 *	raft_ready(r, &rd);
 *	1. persist rd.snapshot (if any), rd.entries, then rd.hs (if
 *	   rd.hs_changed), in that order, and make them durable (fdatasync):
 *	   the commit index in rd.hs may cover rd.entries, so a write cut
 *	   short by a crash must lose the hard state with the entries;
 *	   an entry at index i replaces the stored entry at i and every one
 *	   after it (a follower's log can be cut back by a new leader);
 *	2. send rd.msgs (only now: a vote or an acknowledgement must never
 *	   leave before what it promises is on disk); but when rd.role is
 *	   RAFT_LEADER, send them before step 1 instead, so that followers
 *	   write while the leader does (section 10.2.1): a leader's messages
 *	   promise nothing about its disk, and it counts its own entries
 *	   toward a majority only after raft_advance() says they are durable;
 *	3. apply rd.snapshot, then rd.committed, in order, to the state
 *	   machine; answer rd.reads once the state machine has applied up to
 *	   each one's index;
 *	raft_advance(r, &rd);
 *
 * Nothing in rd may be used after raft_advance(). The caller may batch:
 * several proposals and steps, then one ready, one fsync (group commit).
 *
 * Memory: the log since the last snapshot is kept here (entries and their
 * data, copied in). raft_compact() drops a prefix once the caller has a
 * snapshot covering it. Every allocation failure is reported (-ENOMEM) and
 * leaves the state as it was; a message that cannot be sent for lack of
 * memory is dropped, which Raft tolerates.
 */
#ifndef PITH_KV_RAFT_H
#define PITH_KV_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Member IDs are nonzero; 0 is "none". */
#define RAFT_NONE 0

/* Members in a configuration; a bound on every per-peer array. */
#define RAFT_MEMBERS_MAX 9
/* Messages queued for one ready. */
#define RAFT_MSGS_MAX 256
/* AppendEntries messages in flight to one follower while replicating
 * (pipelining, section 10.2.1), and the bytes of entries in one message
 * (batching). */
#define RAFT_INFLIGHT_MAX 64
#define RAFT_MSG_BYTES_MAX (1024 * 1024)
/* Pending linearizable reads. */
#define RAFT_READS_MAX 1024

enum raft_role {
	RAFT_FOLLOWER,
	RAFT_PRE_CANDIDATE,	/* PreVote, section 9.6 */
	RAFT_CANDIDATE,
	RAFT_LEADER,
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL,	/* a command for the state machine; the empty one a
				 * leader appends at the start of its term too */
	RAFT_ENTRY_CONF,	/* a configuration: struct raft_conf, encoded */
};

struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint8_t type;		/* enum raft_entry_type */
	uint32_t len;
	unsigned char *data;
};

/* A configuration (section 4.1): voters, and learners that get the log but
 * do not vote (section 4.2.1). */
struct raft_conf {
	uint64_t voters[RAFT_MEMBERS_MAX];
	size_t nvoters;
	uint64_t learners[RAFT_MEMBERS_MAX];
	size_t nlearners;
};

/* The encoded size of a configuration entry's data. */
#define RAFT_CONF_BYTES (2 + 8 * 2 * RAFT_MEMBERS_MAX)
int raft_conf_encode(const struct raft_conf *c, unsigned char *out, size_t len);
int raft_conf_decode(struct raft_conf *c, const unsigned char *in, size_t len);
/* A configuration entry's data: the configuration, then the caller's
 * context (what raft_change_conf was given; at most RAFT_CONF_CONTEXT_MAX
 * bytes), which *ctx points at. 0 or -EINVAL. */
#define RAFT_CONF_CONTEXT_MAX 65536
int raft_conf_entry_decode(struct raft_conf *c, const unsigned char *in, size_t len,
			   const unsigned char **ctx, size_t *ctx_len);

struct raft_snapshot_meta {
	uint64_t index;		/* the last entry the snapshot covers */
	uint64_t term;
	struct raft_conf conf;	/* the configuration as of index */
};

/* What must survive a restart besides the log (section 3.8). */
struct raft_hard_state {
	uint64_t term;
	uint64_t vote;
	uint64_t commit;
};

enum raft_msg_type {
	RAFT_MSG_PREVOTE,
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE,
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND,
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_HEARTBEAT,
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_SNAPSHOT,
	RAFT_MSG_TIMEOUT_NOW,	/* leadership transfer, section 3.10 */
	RAFT_MSG_TYPES,
};

struct raft_msg {
	enum raft_msg_type type;
	uint64_t from, to;
	uint64_t term;
	/* APPEND: the entry before entries; VOTE, PREVOTE: the sender's last
	 * entry; APPEND_RESP: the last index matched (or, rejected, the index
	 * the follower could not match). */
	uint64_t log_term;
	uint64_t index;
	uint64_t commit;	/* APPEND, HEARTBEAT: the leader's commit index */
	bool reject;
	uint64_t hint;		/* APPEND_RESP rejected: the follower's last index */
	uint64_t context;	/* HEARTBEAT and its response: a ReadIndex round */
	struct raft_entry *entries;	/* APPEND */
	size_t nentries;
	struct raft_snapshot_meta snap;	/* SNAPSHOT */
	const void *snap_data;
	size_t snap_len;
};

/* A linearizable read may be answered once the state machine has applied
 * index (section 6.4). */
struct raft_read {
	uint64_t index;
	uint64_t context;
};

struct raft_ready {
	struct raft_hard_state hs;
	bool hs_changed;
	struct raft_entry *entries;	/* to persist */
	size_t nentries;
	struct raft_msg *msgs;		/* to send */
	size_t nmsgs;
	struct raft_entry *committed;	/* to apply */
	size_t ncommitted;
	bool has_snapshot;		/* received from the leader: persist and apply */
	struct raft_snapshot_meta snapshot;
	const void *snapshot_data;
	size_t snapshot_len;
	struct raft_read *reads;
	size_t nreads;
	/* Informational: who leads now, and this member's role. */
	uint64_t leader;
	enum raft_role role;
};

struct raft_config {
	uint64_t id;
	unsigned election_tick;		/* ticks; the timeout is random in [this, 2 * this) */
	unsigned heartbeat_tick;	/* ticks between heartbeats; less than election_tick */
	bool pre_vote;			/* section 9.6 */
	bool check_quorum;		/* section 6.2: a leader that loses a majority steps down */
	uint64_t seed;			/* for the random timeouts: tests pass a fixed one */
	/* State loaded from storage at start: the hard state, the last
	 * snapshot (index 0 if none), and the entries after it; and conf, the
	 * cluster's first configuration, which applies until the snapshot or
	 * the log holds a newer one (the caller keeps it beside the log). */
	struct raft_hard_state hs;
	struct raft_snapshot_meta snapshot;
	const struct raft_entry *entries;
	size_t nentries;
	struct raft_conf conf;
};

struct raft_progress {
	uint64_t id;
	uint64_t match;		/* highest index known replicated */
	uint64_t next;		/* next index to send */
	enum { PR_PROBE, PR_REPLICATE, PR_SNAPSHOT } state;
	bool paused;		/* probing: one message until it is answered */
	unsigned inflight;	/* APPEND messages not yet answered */
	uint64_t sent_commit;	/* highest commit index a message to it carried */
	uint64_t inflight_last[RAFT_INFLIGHT_MAX];	/* last index of each, oldest first */
	uint64_t pending_snapshot;
	unsigned snap_elapsed;	/* ticks since the snapshot was sent */
	bool recent_active;	/* heard from since the last check-quorum round */
	bool learner;
	/* A heartbeat's answer may unblock replication once per heartbeat
	 * interval, not once per read round. */
	bool hb_unblock;
};

struct raft {
	uint64_t id;
	enum raft_role role;
	uint64_t term, vote, leader;
	uint64_t commit, applied;

	/* The log: entries[0] has index first_index. */
	struct raft_entry *log;
	size_t nlog, caplog;
	uint64_t first_index;	/* snapshot.index + 1 */
	struct raft_snapshot_meta snapshot;
	const void *snap_data;	/* the caller's latest snapshot, for lagging followers */
	size_t snap_len;

	uint64_t stable;	/* entries up to here are on disk (or handed out to be) */
	struct raft_conf conf;	/* the configuration in force: the latest committed */
	uint64_t conf_index;	/* where it is (0: from the snapshot or the start) */
	uint64_t pending_conf_index;	/* a newer one in the log, not committed yet (0: none) */

	unsigned election_tick, heartbeat_tick, randomized_timeout;
	unsigned election_elapsed, heartbeat_elapsed;
	bool pre_vote, check_quorum;
	uint64_t rng;

	/* Candidates. */
	uint64_t granted[RAFT_MEMBERS_MAX], refused[RAFT_MEMBERS_MAX];
	size_t ngranted, nrefused;

	/* Leaders. */
	struct raft_progress prs[RAFT_MEMBERS_MAX * 2];
	size_t nprs;
	uint64_t transferee;	/* leadership transfer under way to this member */
	unsigned transfer_elapsed;
	struct {
		uint64_t index;		/* the commit index when it was asked */
		uint64_t seq;		/* its heartbeat round */
		uint64_t context;	/* the caller's */
		uint64_t acks[RAFT_MEMBERS_MAX];
		size_t nacks;
	} pending_reads[RAFT_READS_MAX];
	size_t npending_reads;
	uint64_t read_seq;
	bool read_round_due;	/* reads wait for round read_seq, not sent yet */

	/* Output waiting for raft_ready(). */
	struct raft_msg msgs[RAFT_MSGS_MAX];
	size_t nmsgs;
	struct raft_read reads[RAFT_READS_MAX];
	size_t nreads;
	struct raft_hard_state prev_hs;
	bool has_snapshot;	/* one from the leader waits to be persisted and applied */
	unsigned char *in_snap_data;	/* its bytes, copied */
	size_t in_snap_len;
	/* raft_ready() hands out entries and committed ones as views of the log;
	 * these record how far, for raft_advance(). */
	uint64_t ready_stable, ready_applied;
};

/* 0, -EINVAL for a bad config (id 0, ticks, a log that does not follow the
 * snapshot, no voters), -ENOMEM. */
int raft_init(struct raft *r, const struct raft_config *c);
void raft_free(struct raft *r);

void raft_tick(struct raft *r);

/* 0; -EINVAL for a message that makes no sense (a type out of range, not
 * addressed to this member); messages from an old term are ignored (0). */
int raft_step(struct raft *r, const struct raft_msg *m);

/* Append a command (len bytes) to the leader's log: its index, or
 * -EPERM when this member is not the leader (r->leader says who is),
 * -EBUSY while leadership is being transferred, -ENOMEM. */
int64_t raft_propose(struct raft *r, const void *data, uint32_t len);

/* A membership change, one server at a time (section 4.1): add a voter, a
 * learner, or remove a member. It takes effect on every member once it is
 * committed (under the configuration before it), as in etcd. ctx (ctx_len
 * bytes) rides in the entry for the caller (who the member is). Its index,
 * -EPERM (not the leader), -EBUSY (another change is not committed yet, or
 * this leader has not committed an entry of its term yet), -EINVAL (no
 * such member, or the result would have no voter, or more than
 * RAFT_MEMBERS_MAX, or ctx too long). */
enum raft_conf_change { RAFT_ADD_VOTER, RAFT_ADD_LEARNER, RAFT_REMOVE };
int64_t raft_change_conf(struct raft *r, enum raft_conf_change what, uint64_t id,
			 const void *ctx, size_t ctx_len);

/* Ask for a linearizable read (section 6.4): a struct raft_read with this
 * context comes out of a later ready once it is safe. The reads asked for
 * between two readies share one heartbeat round, sent by the next ready.
 * A read still unconfirmed when this member stops leading is dropped
 * without a word: the caller times it out or asks the new leader. 0,
 * -EPERM (not the leader), -EBUSY (too many pending, or no entry of this
 * term committed yet: retry shortly). */
int raft_read_index(struct raft *r, uint64_t context);

/* Hand leadership to a caught-up voter (section 3.10). 0, -EPERM, -EINVAL. */
int raft_transfer_leader(struct raft *r, uint64_t to);

/*
 * The caller has a snapshot of the state machine as of applied index
 * index (<= r->applied): entries up to index are dropped, and data (len
 * bytes, owned by the caller, valid until the next raft_compact or
 * raft_free) is what lagging followers will be sent. 0, -EINVAL.
 */
int raft_compact(struct raft *r, uint64_t index, const void *data, size_t len);

bool raft_has_ready(const struct raft *r);
void raft_ready(struct raft *r, struct raft_ready *rd);
void raft_advance(struct raft *r, const struct raft_ready *rd);

/* The entry at index, or NULL if it is compacted away or not there. */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
bool raft_is_voter(const struct raft_conf *c, uint64_t id);

const char *raft_role_name(enum raft_role role);
const char *raft_msg_name(enum raft_msg_type type);

#endif
