/*
 * pith-kv's write-ahead log: Raft's hard state and entries, and marks of
 * the snapshots taken, in one append-only file per segment under
 * <data-dir>/wal/. Nothing is acknowledged before wal_sync() returns:
 * the caller appends what one raft_ready() holds, syncs once (group
 * commit: many proposals, one fdatasync), and only then sends messages.
 *
 * A record on disk:
 *
 *	u32 length (of type and payload)   little-endian
 *	u32 CRC-32C of type and payload
 *	u8  type
 *	... payload
 *
 * Reading back (wal_open): records are checked one by one. A last record
 * that is cut short or fails its CRC, with nothing valid after it, is a
 * write that did not finish before a crash (a torn tail): it is cut off,
 * and since it was never synced it was never acknowledged. A bad record
 * with valid records after it, or in a segment that is not the last, is
 * corruption: wal_open refuses with -EBADMSG and says which file and
 * offset, and nothing is changed.
 */
#ifndef PITH_KV_WAL_H
#define PITH_KV_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "raft.h"

/* A segment is closed and a new one started past this size. */
#define WAL_SEGMENT_BYTES (64 * 1024 * 1024)
/* The largest record accepted on reading: an entry with a value of 100 MB
 * is refused by the API long before; this bounds what a corrupt length
 * field can make us allocate. */
#define WAL_RECORD_MAX (64 * 1024 * 1024)

enum wal_record {
	WAL_META = 1,		/* member id, cluster id, the first configuration and members */
	WAL_HARD_STATE = 2,	/* term, vote, commit */
	WAL_ENTRY = 3,		/* one Raft entry: it replaces any at its index and after */
	WAL_SNAPSHOT = 4,	/* a snapshot up to index/term was saved: the log starts again after it */
};

/* The member table the log starts from (bytes the WAL does not read). */
#define WAL_MEMBERS_MAX 16384

struct wal_meta {
	uint64_t member_id;
	uint64_t cluster_id;
	struct raft_conf conf;
	unsigned char members[WAL_MEMBERS_MAX];
	size_t members_len;
};

/* What wal_open read back: what raft_init needs. */
struct wal_state {
	bool found;			/* false: a new directory */
	struct wal_meta meta;
	struct raft_hard_state hs;
	uint64_t snap_index, snap_term;	/* the last snapshot mark */
	struct raft_entry *entries;	/* after the snapshot, in order; owned */
	size_t nentries;
	uint64_t truncated_bytes;	/* a torn tail that was cut off */
};

struct wal {
	int dirfd;
	int fd;			/* the open segment */
	uint64_t seq;		/* its number */
	uint64_t size;		/* its length */
	char dir[4096];
	bool prealloc;		/* segments get their whole size at once (not in memory file systems) */
	unsigned char *buf;	/* records appended and not yet written */
	size_t len, cap;
};

/*
 * Open dir (creating it), read every segment back into st, cut a torn
 * tail, and get ready to append. 0; -EBADMSG for corruption, -errno for
 * I/O; e says which file and where. st is freed with wal_state_free().
 */
int wal_open(struct wal *w, const char *dir, struct wal_state *st, struct err *e);
void wal_state_free(struct wal_state *st);

/* Queue records (nothing reaches the disk before wal_sync). 0 or -ENOMEM. */
int wal_meta(struct wal *w, const struct wal_meta *m);
int wal_hard_state(struct wal *w, const struct raft_hard_state *hs);
int wal_entries(struct wal *w, const struct raft_entry *e, size_t n);
int wal_snapshot_mark(struct wal *w, uint64_t index, uint64_t term);

/* Write what is queued and fdatasync it; then, past WAL_SEGMENT_BYTES,
 * start the next segment. 0, or -errno: then nothing queued may be
 * acknowledged, and the caller must stop (a full disk is -ENOSPC). */
int wal_sync(struct wal *w, struct err *e);

/*
 * After a snapshot up to snap_index: start a new segment holding all that
 * is still needed (the meta record, hs, the snapshot's mark and the
 * entries e after it), sync it, then remove every older segment. Also
 * what a member does after taking a leader's snapshot, so that none of
 * its old entries survive a restart. 0 or -errno (e says why).
 */
int wal_compact(struct wal *w, const struct wal_meta *m, const struct raft_hard_state *hs,
		uint64_t snap_index, uint64_t snap_term, const struct raft_entry *e, size_t n,
		struct err *er);

void wal_close(struct wal *w);

/* CRC-32C (Castagnoli), as the records use it. */
uint32_t wal_crc32c(uint32_t crc, const void *data, size_t len);

#endif
