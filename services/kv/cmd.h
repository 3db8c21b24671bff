/*
 * What pith-kv puts in the Raft log: one command per entry, encoded here.
 * Every member decodes and applies the same bytes in the same order, so a
 * command carries everything its result depends on: the time stamped by
 * the member that took the request (for TTLs), and who asked (origin and
 * seq), so that member can answer its client once it applies the entry.
 *
 * Entry data, big-endian (codec.h):
 *
 *	u8  version (1)
 *	u8  kind
 *	u64 origin member, u64 seq
 *	...  the kind's fields
 *
 * Decoding checks every length against the store's bounds and refuses
 * anything else with -EBADMSG: a log entry is peer input too.
 */
#ifndef PITH_KV_CMD_H
#define PITH_KV_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

#define KV_CMD_VERSION 1

enum kv_cmd_kind {
	KV_CMD_STORE = 1,	/* a change to the key space */
	KV_CMD_QGET = 2,	/* a quorum read: answered when applied, as etcd's v2 does */
	KV_CMD_ATTR = 3,	/* a member publishes its name and client URLs */
	KV_CMD_MEMBER = 4,	/* a member is added, removed, or gets new peer URLs */
};

/* What KV_CMD_MEMBER does. ADD and REMOVE ride in Raft configuration
 * entries (raft_change_conf's context), UPDATE in an ordinary entry. */
enum kv_member_op {
	KV_MEMBER_ADD = 1,
	KV_MEMBER_REMOVE = 2,
	KV_MEMBER_UPDATE = 3,
};

struct kv_cmd {
	enum kv_cmd_kind kind;
	uint64_t origin;	/* the member whose client waits; 0: nobody */
	uint64_t seq;		/* the origin's number for the request */
	/* STORE: the change. QGET: path, recursive and time_ns. Strings
	 * point into the decoded bytes (path and prev_value are
	 * NUL-terminated there, and prev_value may hold NUL before its
	 * prev_value_len; the value has value_len). */
	struct store_cmd store;
	bool sorted;		/* QGET */
	/* ATTR: the member, its name, its client URLs joined by commas.
	 * MEMBER: the member, what happens to it, and its peer URLs joined
	 * by commas (ADD, UPDATE). */
	uint64_t member;
	const char *name;
	const char *client_urls;
	enum kv_member_op member_op;
	const char *peer_urls;
};

/* Append the encoded command to out. 0, -EINVAL (a field out of bounds), -ENOMEM. */
int kv_cmd_encode(const struct kv_cmd *c, struct buf *out);

/* Decode data (len bytes, which must outlive c). 0 or -EBADMSG. */
int kv_cmd_decode(struct kv_cmd *c, const void *data, size_t len);

#endif
