/*
 * The KV client: what services use to keep their state in the cluster's
 * key-value store. Two backends behind one model:
 *
 *   KVC_V2  etcd's v2 keys API (/v2/keys): pith-kv, or etcd --enable-v2
 *   KVC_V3  etcd's v3 JSON gateway (/v3/kv/..., /v3/watch, /v3/lease/...), for
 *           clusters that outgrow the built-in store
 *
 * The model: a key is a string ("/coreos.com/network/config"; v2 keys
 * start with '/' and have no empty, "." or ".." segment), a value is bytes, an index orders every change (v2
 * modifiedIndex, v3 mod_revision), and a key may carry a TTL in seconds.
 * docs/kvc.md lists where the two backends still differ.
 *
 * Everything is asynchronous on the program's event loop (lib/loop.h): a
 * call starts a request and returns; the callback gets the result later,
 * always from the loop, never from inside the call that started it. Each
 * request opens its own connection ("Connection: close") to the first
 * endpoint that answers, trying the others in turn when one cannot be
 * reached; the endpoint that answered last is tried first next time.
 *
 * Ownership: struct kvc is the caller's from kvc_open() to kvc_close().
 * A request or a watch is the library's; the struct kvc_req pointer it
 * hands back is only for kvc_cancel() and is gone once the request's
 * callback has run (a watch's: once its end has been reported). Results
 * and events, and every pointer in them, are valid only during the
 * callback. Errors from the calls themselves are 0 or -errno; errors of a
 * request come in its result.
 */
#ifndef PITH_KVC_H
#define PITH_KVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "loop.h"

/* Endpoints in a list. */
#define KVC_ENDPOINTS_MAX 8
/* Longest key, as pith-kv and etcd's v2 API accept. */
#define KVC_KEY_MAX 4096
/* Largest value, pith-kv's limit (etcd's default request limit is 1.5 MiB). */
#define KVC_VALUE_MAX (1024 * 1024)
/* Largest answer body read: a listing of many keys. Larger is
 * KVC_BAD_RESPONSE; list fewer keys at a time. */
#define KVC_BODY_MAX (16 * 1024 * 1024)
/* Largest message of a v3 watch stream: events of one revision, a 1 MiB
 * value base64-encoded twice over (value and previous) fits. */
#define KVC_MSG_MAX (4 * 1024 * 1024)
/* Keys in one result, and directory depth of a v2 listing. */
#define KVC_KEYS_MAX 100000
#define KVC_DEPTH_MAX 64
/* Per request, unless the configuration says otherwise. */
#define KVC_TIMEOUT_MS_DEFAULT 5000
/* A connection not established within this long moves on to the next
 * endpoint. */
#define KVC_CONNECT_TIMEOUT_MS 1000
/* A watch whose connection failed connects again after a pause that
 * doubles from the first to the last value. */
#define KVC_WATCH_RETRY_MIN_MS 200
#define KVC_WATCH_RETRY_MAX_MS 5000
/* A v2 watch that saw nothing this long is asked again (same index), so
 * that a connection lost without a word is noticed. */
#define KVC_WATCH_POLL_MS 60000
/* A v3 watch asks for progress notifications, which etcd sends every 10
 * minutes to an idle watch; a stream silent this long is connected again
 * (from the last index seen + 1). */
#define KVC_WATCH_IDLE_MS (11 * 60 * 1000)

enum kvc_backend {
	KVC_V2,
	KVC_V3,
};

enum kvc_status {
	KVC_OK,
	KVC_NOT_FOUND,		/* no such key (or, v3, its lease is gone) */
	KVC_EXISTS,		/* set with if_absent: the key exists */
	KVC_CAS_FAILED,		/* the key's index is not the one given */
	KVC_UNAVAILABLE,	/* no endpoint could be reached, or the store said it cannot serve (5xx) */
	KVC_TIMEOUT,		/* no answer in time: a write's outcome is unknown */
	KVC_BAD_RESPONSE,	/* the answer could not be understood, or was too large */
	KVC_REFUSED,		/* the store refused the request (a directory, no TTL, a bad key, ...) */
	KVC_HISTORY_GONE,	/* watch: the events asked for are no longer kept: list again, then watch */
	KVC_NOMEM,
};

struct kvc_config {
	enum kvc_backend backend;
	/* Comma-separated URLs: "http://127.0.0.1:2379,https://10.0.0.2:2379".
	 * The host is an IPv4 or IPv6 address, or "localhost" (names are not
	 * resolved: that would block the loop). */
	const char *endpoints;
	/* https endpoints: the CA certificates (PEM) that sign the servers',
	 * and optionally this client's certificate and key. */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	unsigned timeout_ms;	/* per request; 0: KVC_TIMEOUT_MS_DEFAULT */
};

struct kvc_kv {
	const char *key;
	const char *value;	/* value_len bytes, also NUL-terminated */
	size_t value_len;
	uint64_t index;		/* last change: v2 modifiedIndex, v3 mod_revision */
	uint64_t created;	/* v2 createdIndex, v3 create_revision; 0 when not known */
	int64_t ttl;		/* v2: seconds left; v3: the lease's TTL after set or refresh; 0: none or not known */
	uint64_t lease;		/* v3: the key's lease ID; 0 without one, and always for v2 */
};

struct kvc_result {
	enum kvc_status status;
	const char *msg;	/* why, when status is not KVC_OK; "" otherwise */
	uint64_t index;		/* the store's index when it answered (v2 X-Etcd-Index, v3 header revision) */
	const struct kvc_kv *kvs;	/* get and set: the key; list: every key under the prefix, in key order */
	size_t n;
};

enum kvc_event_type {
	KVC_EV_PUT,		/* created or changed */
	KVC_EV_DELETE,		/* deleted; v3 also reports an expired TTL this way */
	KVC_EV_EXPIRE,		/* v2: its TTL ran out */
};

struct kvc_event {
	enum kvc_event_type type;
	const struct kvc_kv *kv;	/* a deleted key has no value */
};

struct kvc;
struct kvc_req;

typedef void kvc_done_fn(void *arg, const struct kvc_result *r);
/* An event (end NULL), or the watch's end (ev NULL): end->status says why,
 * KVC_HISTORY_GONE when the events from the index asked for are gone. */
typedef void kvc_watch_fn(void *arg, const struct kvc_event *ev, const struct kvc_result *end);

/* Read the configuration (and the TLS files it names); 0 or -errno with a
 * message in e. */
int kvc_open(struct kvc **out, struct loop *l, const struct kvc_config *cfg, struct err *e);
/* Cancel everything still running (no callbacks after it) and free c.
 * Safe from anywhere: a callback of the library, a timer, any io callback
 * of the program (a signal handler through loop_signals), or outside the
 * loop. From an io callback (and from the library's callbacks) c is freed
 * by a timer after the current batch of events, which the loop runs
 * before loop_run_once() returns; elsewhere at once. */
void kvc_close(struct kvc *c);

/*
 * The requests. Each returns 0 or -errno (-EINVAL for a bad key or value,
 * -ENOMEM) and calls fn exactly once on 0. req, when not NULL, receives a
 * handle for kvc_cancel().
 */

/* One key. */
int kvc_get(struct kvc *c, const char *key, kvc_done_fn *fn, void *arg, struct kvc_req **req);
/* Every key under prefix, flattened (v2: the directory, recursively; v3:
 * every key starting with prefix). A missing prefix is an empty list. */
int kvc_list(struct kvc *c, const char *prefix, kvc_done_fn *fn, void *arg, struct kvc_req **req);

struct kvc_set_opts {
	uint64_t ttl;		/* seconds; 0: the key does not expire */
	bool if_absent;		/* only create: KVC_EXISTS if it is there */
	uint64_t if_index;	/* only if the key's index is this (compare-and-swap): KVC_CAS_FAILED, KVC_NOT_FOUND */
};

/* Set key to value (len bytes); opts may be NULL. A v2 value is text:
 * UTF-8 without NUL bytes (-EINVAL otherwise), as etcd's JSON carries it. */
int kvc_set(struct kvc *c, const char *key, const void *value, size_t len,
	    const struct kvc_set_opts *opts, kvc_done_fn *fn, void *arg, struct kvc_req **req);
/* Delete key; if_index not 0: only if its index is that. */
int kvc_delete(struct kvc *c, const char *key, uint64_t if_index, kvc_done_fn *fn, void *arg,
	       struct kvc_req **req);
/* Keep a key with a TTL alive. v2 sets its TTL to ttl seconds again (a
 * key without a TTL gets one); v3 renews its lease for the TTL the lease
 * was granted with (ttl is not used), and a key without a lease is
 * KVC_REFUSED. KVC_NOT_FOUND when the key is gone. */
int kvc_refresh(struct kvc *c, const char *key, uint64_t ttl, kvc_done_fn *fn, void *arg,
		struct kvc_req **req);
/* End a key's TTL now: v2 deletes the key; v3 revokes its lease, which
 * deletes every key attached to it. */
int kvc_revoke(struct kvc *c, const char *key, kvc_done_fn *fn, void *arg, struct kvc_req **req);

/*
 * Watch every key under prefix (as kvc_list) for changes with an index of
 * from_index or more; 0: from now. Events come in index order, each once:
 * when a connection breaks, the watch connects again (to any endpoint)
 * and goes on from the last index seen + 1. It ends only when cancelled,
 * or with KVC_HISTORY_GONE (list, then watch from the list's index + 1),
 * or with KVC_REFUSED when the store refuses it (v3: an HTTP 4xx answer,
 * or gRPC InvalidArgument, PermissionDenied or Unauthenticated).
 */
int kvc_watch(struct kvc *c, const char *prefix, uint64_t from_index, kvc_watch_fn *fn, void *arg,
	      struct kvc_req **req);

/* Stop a request or a watch; its callback is not called again. Safe from
 * any callback, the request's own included. */
void kvc_cancel(struct kvc_req *r);

const char *kvc_status_name(enum kvc_status s);

#endif
