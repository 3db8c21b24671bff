/*
 * Inside pith-kv: what its files share. node.c drives Raft (the WAL, the
 * ticks, applying entries to the store and answering who waits), peer.c
 * moves frames between members, api.c serves etcd's v2 HTTP API, main.c
 * reads etcd's flags. Not for other programs.
 */
#ifndef PITH_KV_KV_H
#define PITH_KV_KV_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cmd.h"
#include "loop.h"
#include "members.h"
#include "raft.h"
#include "store.h"
#include "tls.h"
#include "wal.h"

/* How long a write waits for its entry to be applied before it is
 * answered with etcd's "request timed out" (etcd: 5 s plus two election
 * timeouts); the outcome is then unknown, as etcd's is. */
#define KV_REQUEST_TIMEOUT_MS 5000
/* Bytes queued for one peer before messages to it are dropped (Raft
 * resends what matters). */
#define KV_PEER_QUEUE_MAX (64u * 1024 * 1024)
/* Delay between attempts to reach a peer: doubled from the first up to the last. */
#define KV_PEER_RETRY_MIN_MS 50
#define KV_PEER_RETRY_MAX_MS 1000
/* A snapshot is taken when the log held in memory since the last one
 * passes this many bytes, whatever --snapshot-count says. */
#define KV_SNAPSHOT_LOG_BYTES (8u * 1024 * 1024)
/* Incoming peer connections at once (members dial each other once each,
 * plus strays). At the limit, the oldest that has not yet said HELLO is
 * closed to make room; and one client (an IPv4 address, an IPv6 /64) may
 * have only so many waiting to say it, counted before TLS: a member dials
 * once, and again only after its connection failed. */
#define KV_PEER_CONN_MAX 64
#define KV_PEER_UNGREETED_PER_CLIENT_MAX 4
/* An inbound peer connection must say HELLO within this long: a TLS
 * handshake and one frame, tens of milliseconds even under emulation. */
#define KV_PEER_HELLO_MS 2000
/* A dial that has not connected within this long is given up and tried
 * again (a SYN to a host that is cut off is otherwise retried for minutes). */
#define KV_PEER_CONNECT_MS 1000
/* A peer that acknowledges nothing, data or keepalive probes, for this
 * long is taken for gone and its connection closed (TCP_USER_TIMEOUT);
 * probes start after 1 s of silence, one a second. */
#define KV_PEER_USER_TIMEOUT_MS 5000

struct kv_config {
	const char *name;
	const char *data_dir;
	struct kv_url listen_client[KV_URLS_MAX];
	size_t nlisten_client;
	const char *advertise_client;	/* comma-separated, as given */
	struct kv_url listen_peer[KV_URLS_MAX];
	size_t nlisten_peer;
	struct kv_url advertise_peer[KV_URLS_MAX];
	size_t nadvertise_peer;
	const char *initial_cluster;
	bool cluster_existing;		/* --initial-cluster-state existing */
	const char *token;
	unsigned heartbeat_ms, election_ms;
	uint64_t snapshot_count;
	const char *peer_cert, *peer_key, *peer_ca;
	bool peer_client_cert_auth;
};

/* What a client's request gets back once its command is applied. */
struct kv_result {
	int code;		/* 0, an etcd error code, or -ETIMEDOUT / -ENOMEM */
	const struct store_event *ev;	/* STORE, code 0 */
	const struct buf *body;		/* QGET, code 0: the answer */
	const char *cause;		/* code > 0 */
	uint64_t store_index;	/* X-Etcd-Index */
	uint64_t raft_index, raft_term;
};

struct kv;
struct kv_waiter;
typedef void kv_done_fn(struct kv *kv, struct kv_waiter *w, const struct kv_result *res);

/* Followers' quorum reads a leader confirms at once; more go through the log. */
#define KV_REMOTE_READS 256
/* Raft read contexts of followers' reads have this bit; this member's own
 * are its waiters' sequence numbers. */
#define KV_REMOTE_READ (1ull << 63)

/* A client request waiting for its command; owned by whoever asked (api.c),
 * which must not free it before done is called or kv_cancel() returns. */
struct kv_waiter {
	uint64_t seq;
	uint64_t deadline;	/* loop_now_ms() */
	kv_done_fn *done;
	void *arg;
	struct buf cmd;		/* encoded, kept until a leader takes it (a
				 * read by ReadIndex: until answered) */
	bool sent;
	/* A quorum read by ReadIndex: asked of the leader read_leader (this
	 * member or another) in read_term; answered once this member has
	 * applied read_index (0: not confirmed yet). by_log: the leader
	 * would not, so it goes through the log. */
	bool reading, by_log;
	uint64_t read_term, read_leader, read_index;
	uint64_t read_asked_ms;	/* loop_now_ms() */
	int failed;		/* the leader refused it: answered with this code */
	struct kv_waiter *next;
};

struct peer;
struct peer_conn;

/* The member's own counters (/v2/stats/self); the store's are in
 * struct store_stats. */
struct kv_stats {
	uint64_t recv_append, send_append;
};

struct kv {
	struct loop *loop;
	struct kv_config cfg;
	uint64_t id, cluster_id;
	struct kv_member members[RAFT_MEMBERS_MAX];
	size_t nmembers;

	struct raft raft;
	struct wal wal;
	struct store store;
	uint64_t applied;	/* the last Raft index applied to the store */
	struct raft_conf applied_conf;	/* the configuration as of applied */
	struct wal_meta meta;
	struct raft_hard_state hs_synced;	/* the term and vote on disk */
	/* The last snapshot (snap.c): its index and term, and its bytes,
	 * which Raft sends to members too far behind. */
	uint64_t snap_index, snap_term;
	struct buf snap_blob;
	size_t log_bytes;	/* entries applied since, with their overhead */
	uint64_t leader;	/* as of the last ready */
	int64_t start_ns, leader_since_ns;
	unsigned tick_ms;	/* one Raft tick */

	uint64_t seq;
	struct kv_waiter *waiters;
	struct loop_timer tick, expiry, timeouts;
	uint64_t swept_s;
	bool expiry_dirty;	/* what expires next may have changed */
	uint64_t expire_index;	/* an expiry this leader proposed, until applied */
	unsigned nunsent;	/* waiters not yet handed to a leader */
	unsigned nreading;	/* waiters with reading set */
	uint64_t reads_term, reads_leader; /* when they were last looked at */
	/* Reads this member, leading, confirms for followers: slot
	 * ctx % KV_REMOTE_READS, ctx the context given to Raft (0: free). */
	struct kv_remote_read {
		uint64_t ctx, from, seq;
	} remote[KV_REMOTE_READS];
	uint64_t remote_next;
	bool published;		/* this member's ATTR is in the log */
	bool removed;		/* this member was removed from the cluster: stop */
	struct kv_waiter publish;

	/* Peers (peer.c). */
	struct peer *peers;
	size_t npeers;
	struct peer_conn *inbound;
	struct peer_conn *dead_peers;
	unsigned ninbound;
	int peer_fds[KV_URLS_MAX];
	struct loop_io peer_ios[KV_URLS_MAX];
	size_t npeer_fds;
	bool peer_tls;
	struct tls_chain chain;
	struct tls_key key;
	struct tls_anchors anchors;

	struct kv_stats stats;
	struct api *api;
};

/* node.c */
int kv_node_start(struct kv *kv, struct err *e);
/* Drive Raft until it has nothing more to say: persist, send, apply. Call
 * after every batch of events (group commit). 0, or -errno from the WAL:
 * then the program must stop, it can acknowledge nothing more. */
int kv_node_ready(struct kv *kv, struct err *e);
/* Submit an encoded command (w->cmd) for w: proposed here if this member
 * leads, else forwarded to the leader. w->done is called once. */
void kv_submit(struct kv *kv, struct kv_waiter *w);
/* Forget w (its client went away): done will not be called. */
void kv_cancel(struct kv *kv, struct kv_waiter *w);
uint64_t kv_next_seq(struct kv *kv);
int64_t kv_now_ns(void);
void kv_node_stop(struct kv *kv);
/* A PROPOSE frame arrived from peer from (a HELLO said so, its certificate
 * agreed). Proposed if this member leads and the command is one a follower
 * forwards for its own clients (node.c says which); false: it is not, and
 * the connection is closed. */
bool kv_forwarded(struct kv *kv, uint64_t from, const void *cmd, size_t len);
/* A READ from follower from (this member leads), and a READ_INDEX from the
 * leader (this member follows): quorum reads by ReadIndex. */
void kv_read_asked(struct kv *kv, uint64_t from, uint64_t seq);
void kv_read_index(struct kv *kv, uint64_t from, uint64_t seq, uint64_t index);
const struct kv_member *kv_member_find(const struct kv *kv, uint64_t id);

/* snap.c */
/* Take a snapshot of what is applied when snapshot_count entries have
 * been applied since the last: file, WAL compaction, Raft compaction. */
int kv_snapshot_maybe(struct kv *kv, struct err *e);
/* A snapshot from the leader (raft_ready): keep it on disk and in the WAL
 * before anything else of that ready is persisted. */
int kv_snapshot_persist(struct kv *kv, const struct raft_ready *rd, struct err *e);
/* ... and make it the state machine's. */
int kv_snapshot_apply(struct kv *kv, const struct raft_ready *rd, struct err *e);
/* At start: the snapshot the WAL points at, into the store. */
int kv_snapshot_load(struct kv *kv, uint64_t index, uint64_t term, struct raft_conf *conf,
		     struct err *e);
/* The member table (node.c): a member's published attributes; the whole
 * table (from a snapshot), with the peers to match. */
void kv_member_attr(struct kv *kv, uint64_t id, const char *name, const char *client_urls);
void kv_members_set(struct kv *kv, const struct kv_member *m, size_t n);
/* Entries appended to the log: a member added there gets messages from
 * now on (Raft's configuration has it), before it is applied. */
void kv_learn_members(struct kv *kv, const struct raft_entry *e, size_t n);

/* peer.c */
int kv_peers_start(struct kv *kv, struct err *e);
/* Make the peers those of the member table, and of members added to
 * Raft's configuration but not applied yet (kv_peer_learn). */
void kv_peers_sync(struct kv *kv);
void kv_peer_learn(struct kv *kv, uint64_t id, const struct kv_url *url);
/* When this member's connection to a peer came up (loop_now_ms()); 0: it is down. */
uint64_t kv_peer_active_since(struct kv *kv, uint64_t id);
/* --initial-cluster-state existing: ask the members in --initial-cluster
 * for the cluster's ID and member table, and find this member in it. */
int kv_peers_join(struct kv *kv, struct kv_member *m, size_t *n, struct err *e);
void kv_peer_send(struct kv *kv, const struct raft_msg *m);
/* false when the command could not even be queued (no connection yet). */
bool kv_peer_forward(struct kv *kv, uint64_t to, const void *cmd, size_t len);
/* READ and READ_INDEX frames; false as kv_peer_forward. */
bool kv_peer_read(struct kv *kv, uint64_t to, uint64_t seq);
bool kv_peer_read_index(struct kv *kv, uint64_t to, uint64_t seq, uint64_t index);
/* Free connections closed during the last event batch; close inbound
 * connections that did not say HELLO in time. */
void kv_peers_reap(struct kv *kv);
void kv_peers_sweep(struct kv *kv);
void kv_peers_stop(struct kv *kv);

/* api.c */
struct api *kv_api_start(struct kv *kv, struct err *e);
void kv_api_stop(struct api *a);

#endif
