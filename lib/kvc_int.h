/*
 * The KV client's inside, shared by kvc.c (connections, HTTP, TLS,
 * failover, timers) and the two backends, kvc_v2.c and kvc_v3.c, which
 * say what to send and what an answer means. A backend does no I/O: it
 * builds requests into a struct kvc_http and decodes answers into the
 * request's result, so the fuzzer drives its decoders directly.
 */
#ifndef PITH_KVC_INT_H
#define PITH_KVC_INT_H

#include <sys/socket.h>

#include "buf.h"
#include "http.h"
#include "kvc.h"
#include "tls.h"

enum kvc_op {
	KVC_OP_GET,
	KVC_OP_LIST,
	KVC_OP_SET,
	KVC_OP_DELETE,
	KVC_OP_REFRESH,
	KVC_OP_REVOKE,
	KVC_OP_WATCH,
};

/* One HTTP request a backend wants sent. */
struct kvc_http {
	const char *method;
	struct buf target;
	struct buf body;
	const char *content_type;	/* NULL without a body */
};

/* What follows an answer. */
enum kvc_step {
	KVC_STEP_DONE,		/* r->res holds the result (or a watch's end) */
	KVC_STEP_NEXT,		/* send the backend's next request (r->step moved on) */
	KVC_STEP_RETRY,		/* the endpoint could not serve: another one, later for a watch */
	KVC_STEP_MORE,		/* a stream: read on */
};

struct kvc_req;
struct kvc_conn;

struct kvc_backend_ops {
	/* The request for r's current step. 0 or -ENOMEM. */
	int (*build)(struct kvc_req *r, struct kvc_http *h);
	/* A whole answer: status code, X-Etcd-Index (NULL if none), body. */
	enum kvc_step (*answer)(struct kvc_req *r, int status, const char *etcd_index,
				const char *body, size_t len);
	/* Watches whose answer is a stream of JSON objects (v3): one object. */
	enum kvc_step (*stream_msg)(struct kvc_req *r, const char *msg, size_t len);
	/* Whether r's current step may be sent again (to another endpoint)
	 * when the connection broke after it was sent: a read, not a write. */
	bool (*resendable)(const struct kvc_req *r);
};

extern const struct kvc_backend_ops kvc_v2_ops;
extern const struct kvc_backend_ops kvc_v3_ops;

/* Where a result is built; kvc_res_reset() frees what it holds. */
struct kvc_res {
	enum kvc_status status;
	char msg[ERR_MSG_MAX];
	uint64_t index;
	struct kvc_kv *kvs;
	size_t n, cap;
};

struct kvc_req {
	struct kvc *c;
	struct kvc_req *next;		/* in c's list of live requests */
	enum kvc_op op;
	char *key;
	struct buf value;
	struct kvc_set_opts opts;	/* set; delete's if_index; refresh's ttl */
	unsigned step;			/* of a backend's multi-request operation */
	uint64_t lease;			/* v3: the lease granted or found in an earlier step */
	int64_t lease_ttl;		/* v3: the TTL the grant answered */
	kvc_done_fn *done;
	kvc_watch_fn *watch_fn;
	void *arg;
	struct kvc_res res;

	/* Watches. */
	uint64_t next_index;		/* the first index not yet delivered; 0: from now */
	unsigned retry_ms;
	struct buf split;		/* the stream's current object */
	unsigned split_depth;
	bool split_str, split_esc;

	/* The exchange in flight. */
	unsigned endpoint;		/* index into c's endpoints */
	unsigned tries;			/* endpoints tried for this request */
	bool sent;			/* every byte of the request was written */
	bool in_callback, cancelled, finished;
	struct kvc_conn *conn;
	struct loop_timer timer;	/* start, retry pause, connect timeout, v2 watch poll */
	struct loop_timer deadline;	/* the request's timeout (not for watches) */
};

void kvc_res_reset(struct kvc_res *res);
/* Set status and message; returns KVC_STEP_DONE. */
enum kvc_step kvc_res_fail(struct kvc_res *res, enum kvc_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append a key to the result (copies key and value). NULL: out of memory
 * or past KVC_KEYS_MAX. */
struct kvc_kv *kvc_res_add(struct kvc_res *res, const char *key, size_t key_len,
			   const void *value, size_t value_len);
/* Sort the result's keys (v2 listings come in the store's order). */
void kvc_res_sort(struct kvc_res *res);

/* Hand one event of a watch to its callback. false: the watch was
 * cancelled from the callback; deliver nothing more. */
bool kvc_watch_deliver(struct kvc_req *r, enum kvc_event_type type, const struct kvc_kv *kv);

/*
 * The splitter for a stream of JSON objects ('{...}' one after the other,
 * whitespace between): feed bytes, and every complete object is handed to
 * the backend's stream_msg. Bounded by KVC_MSG_MAX per object. Returns
 * the step the last message asked for, KVC_STEP_MORE when all was read,
 * or KVC_STEP_RETRY (with a message in r->res) for a stream that is not
 * objects, or an object too large.
 */
enum kvc_step kvc_split_feed(struct kvc_req *r, const char *data, size_t len);

/* Base64 (RFC 4648, with padding), as the v3 gateway carries bytes;
 * decoding is lib/base64.c's strict one (canonical encodings only).
 * encode: 0 or -ENOMEM; decode: 0, -EINVAL or -ENOMEM. */
int kvc_b64_encode(struct buf *out, const void *data, size_t len);
int kvc_b64_decode(struct buf *out, const char *s, size_t len);

/* Append s percent-encoded, '/' kept when keep_slash (a v2 key in a path). */
int kvc_url_escape(struct buf *out, const char *s, size_t len, bool keep_slash);

/* --- the client and its connections (kvc.c, kvc_conn.c) ------------------------- */

struct kvc_endpoint {
	bool tls;
	char host[64];			/* for TLS: the address the certificate must name */
	char authority[80];		/* the Host field */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct kvc {
	struct loop *loop;
	const struct kvc_backend_ops *ops;
	struct kvc_endpoint ep[KVC_ENDPOINTS_MAX];
	unsigned nep;
	unsigned current;		/* the endpoint that answered last */
	unsigned timeout_ms;
	struct tls_anchors anchors;
	struct tls_chain chain;
	struct tls_key key;
	bool have_anchors, have_cert;
	struct kvc_req *reqs;		/* live */
	struct kvc_req *dead_reqs;
	struct kvc_conn *dead_conns;
	struct loop_timer reap;
	unsigned depth;			/* inside our own callbacks */
	bool closing;
};

struct kvc_conn {
	struct kvc_req *r;
	struct kvc_conn *next_dead;
	int fd;
	struct loop_io io;
	uint32_t events;
	bool connecting;
	bool stream;			/* the answer is read as a stream of objects */
	struct tls_client *tls;
	struct buf out;
	size_t off;
	struct buf body;
	struct http_parser p;
};

/* kvc.c: lifetimes. A killed request (and a closed connection) leaves
 * epoll and the timers at once and is freed from a timer after the
 * current event batch, which may still hold an event for it. */
void kvc_reap_later(struct kvc *c);
void kvc_req_kill(struct kvc_req *r);
/* Hand r's result to its callback (unless cancelled), then kill r. */
void kvc_req_finish(struct kvc_req *r);
/* The end of one of our loop callbacks (which begin with c->depth++). */
void kvc_leave(struct kvc *c);

/* kvc_conn.c: one exchange. */
void kvc_conn_close(struct kvc_conn *k);
/* A timer callback (arg: the request): a new connection for r's current
 * step, to r->endpoint. */
void kvc_attempt(struct loop *l, void *arg);

#endif
