/*
 * The etcd v2 key space, as etcd 3.4 keeps it (docs/kv.md): a tree of
 * directories and keys, each with createdIndex and modifiedIndex and
 * optionally an expiration; an index that counts modifications
 * (X-Etcd-Index); and the history of the last STORE_HISTORY_MAX events for
 * watchers.
 *
 * Pure: no I/O, no clock. Every change is a struct store_cmd applied in Raft
 * order with the time the leader stamped on it, so that every member makes
 * the same change; reads take the reader's own time (for "ttl"). Answers
 * and errors are written as etcd writes them (field order, escaping,
 * RFC 3339 expirations). Keys, in paths, events, the tree and causes, are
 * in store form (store_key.h), so that they may hold NUL.
 */
#ifndef PITH_KV_STORE_H
#define PITH_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Events kept for watchers (etcd's v2 history). */
#define STORE_HISTORY_MAX 1000
/* A key (the path, slashes included) and a value, in bytes. */
#define STORE_KEY_MAX 4096
#define STORE_VALUE_MAX (1024 * 1024)

/* etcd's error codes (etcd's v2 error package). */
enum store_error {
	STORE_ENOTFOUND = 100,		/* Key not found */
	STORE_ETESTFAILED = 101,	/* Compare failed */
	STORE_ENOTFILE = 102,		/* Not a file */
	STORE_ENOTDIR = 104,		/* Not a directory */
	STORE_ENODEEXIST = 105,		/* Key already exists */
	STORE_EROOTRONLY = 107,		/* Root is read only */
	STORE_EDIRNOTEMPTY = 108,	/* Directory not empty */
	STORE_EPREVVALUEREQUIRED = 201,
	STORE_ETTLNAN = 202,
	STORE_EINDEXNAN = 203,
	STORE_EINVALIDFIELD = 209,
	STORE_EINVALIDFORM = 210,
	STORE_EREFRESHVALUE = 211,
	STORE_EREFRESHTTLREQUIRED = 212,
	STORE_ERAFTINTERNAL = 300,	/* not the store's: a request that timed out */
	STORE_EEVENTINDEXCLEARED = 401,
};

/* The message etcd gives a code, and the HTTP status it answers with. */
const char *store_error_message(int code);
int store_error_status(int code);

enum store_op {
	STORE_SET,		/* PUT: set, create, update, compareAndSwap by the conditions */
	STORE_POST,		/* POST: a new in-order key under the path */
	STORE_DELETE,		/* DELETE: delete or compareAndDelete */
	STORE_EXPIRE,		/* remove every key expired by the command's time */
};

enum store_exist { STORE_EXIST_ANY, STORE_EXIST_TRUE, STORE_EXIST_FALSE };

/* One change, as the leader proposes it. */
struct store_cmd {
	enum store_op op;
	const char *path;		/* "/a/b", cleaned, in store form (store_key.h); "" or "/" is the root */
	const char *value;		/* NULL: none given */
	size_t value_len;
	bool dir, recursive, refresh;
	enum store_exist prev_exist;
	const char *prev_value;		/* NULL: not given; may hold NUL */
	size_t prev_value_len;
	uint64_t prev_index;		/* 0: not given */
	bool has_ttl;
	int64_t ttl;			/* seconds; with has_ttl, 0 expires at once */
	int64_t time_ns;		/* the leader's clock, Unix ns */
};

struct store_node;

/* An event: the answer to a change, and what watchers see. */
struct store_event {
	const char *action;	/* set, create, update, compareAndSwap, delete, compareAndDelete, expire */
	uint64_t index;		/* the store index it made */
	struct buf node;	/* the "node" object, JSON */
	struct buf prev;	/* the "prevNode" object, or empty */
	char *key;		/* the key the event is about */
	bool dir;
	bool refresh;		/* a refresh: answered, but watchers are not woken */
};

/*
 * /v2/stats/store's counters, kept as etcd's v2 store keeps them: each
 * operation counts as what etcd's applier makes of it (a DELETE with
 * prevValue or prevIndex is a compareAndDelete, a PUT with prevExist=true
 * alone an update, ...), and it counts as a success wherever etcd's store
 * lets an error out without marking it failed: compareAndDelete fails only
 * when the key is not found (or the path to it is not a directory);
 * delete, update and compareAndSwap of the root, and an update giving a
 * directory a value, count as successes; a create that meets a file on its
 * path counts as a failed set too. store_apply and store_get count;
 * counters stay across store_restore.
 */
struct store_stats {
	uint64_t gets_ok, gets_fail, sets_ok, sets_fail, deletes_ok, deletes_fail;
	uint64_t updates_ok, updates_fail, creates_ok, creates_fail;
	uint64_t cas_ok, cas_fail, cad_ok, cad_fail, expires;
};

struct store {
	struct store_node *root;
	uint64_t index;
	struct store_stats stats;
	/* History, oldest first, as a ring. */
	struct store_event *history[STORE_HISTORY_MAX];
	size_t hstart, hcount;
	size_t hbytes;		/* what the history holds, bounded too */
	/* Watchers' hook, or NULL: called with each event as it enters the
	 * history, so that watchers see every event even when one batch
	 * applies more than STORE_HISTORY_MAX; called with NULL when
	 * store_restore has replaced the tree and emptied the history (events
	 * up to the restored index were never seen). It must not change s. */
	void (*on_event)(void *arg, const struct store_event *ev);
	void *on_event_arg;
};

int store_init(struct store *s);
void store_free(struct store *s);

/*
 * Apply cmd. On success *ev holds the event (the caller frees it with
 * store_event_free unless it was kept in the history: see ev->refresh; the
 * history keeps its own copy) and the return is 0; on an etcd error the
 * return is its code and cause holds the cause text. -ENOMEM when memory
 * runs out (nothing is changed).
 */
int store_apply(struct store *s, const struct store_cmd *cmd, struct store_event *ev,
		struct buf *cause);

/*
 * GET: write the answer body ({"action":"get","node":...}) for path into
 * out, as of now_ns. 0, an etcd error code (cause filled), or -ENOMEM.
 */
int store_get(struct store *s, const char *path, bool recursive, bool sorted, int64_t now_ns,
	      struct buf *out, struct buf *cause);

/* Write an event as an answer body: {"action":...,"node":...,"prevNode":...}\n. */
int store_event_json(const struct store_event *ev, struct buf *out);
void store_event_free(struct store_event *ev);

/* Write an etcd error body: {"errorCode":...,"message":...,"cause":...,"index":...}\n.
 * Causes are in store form (store_key.h), as the store writes them. */
int store_error_json(int code, const char *cause, uint64_t index, struct buf *out);

/*
 * Watchers: the first event in the history at index >= since that concerns
 * path (the key itself, or anything under it when recursive; hidden keys
 * below path too, as etcd's history scan finds them). NULL when there is none yet; *cleared is set
 * (and NULL returned) when since is older than the history holds, and
 * *oldest tells the first index it does hold.
 */
const struct store_event *store_watch_find(const struct store *s, const char *path, bool recursive,
					   uint64_t since, bool *cleared, uint64_t *oldest);

/* Does a new event concern a watcher of path? Hidden keys below path do not. */
bool store_event_matches(const struct store_event *ev, const char *path, bool recursive);

/* The earliest expiration in the tree, or 0 when nothing expires. */
int64_t store_next_expiry(const struct store *s);

/*
 * Snapshots (store_snap.c): the tree and the index, appended to out as
 * bytes another member can restore; the watch history is not kept (a
 * watcher asking for an event before a restored snapshot gets 401, as
 * from a restarted etcd). 0 or -ENOMEM.
 */
int store_snapshot(const struct store *s, struct buf *out);

/* Replace s with what data holds. 0; -EBADMSG for bytes that are not a
 * snapshot (s is then as it was), -ENOMEM. */
int store_restore(struct store *s, const void *data, size_t len);

#endif
