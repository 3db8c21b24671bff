/*
 * pith-control: the HTTPS control port (docs/api.md, docs/security.md).
 *
 * One event loop, non-blocking sockets, one BearSSL server engine per
 * connection. A request is parsed by lib/http, authenticated (a token in
 * Authorization, or a client certificate from the cluster CA), authorized
 * by role, then either answered here (/healthz, /v1/machine, /metrics'
 * own part) or passed to PID 1's local API socket and its answer streamed
 * back, re-framed, without being buffered whole.
 *
 * The files: main.c (flags, signals), conn.c (connections: TLS, HTTP
 * framing, limits, timeouts), route.c (credentials, authentication,
 * routing), machine.c (GET /v1/machine), upstream.c (the local API),
 * stats.c (the counters behind /metrics).
 */
#ifndef PITH_CONTROL_H
#define PITH_CONTROL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "loop.h"
#include "tls.h"

#define CONTROL_PORT 7443
#define CONTROL_SOCKET "/run/pith/init.sock"
/* The KV's client API (pith-kv's --listen-client-urls in the image). */
#define CONTROL_KV_ADDR "127.0.0.1"
#define CONTROL_KV_PORT 2379
#define CONTROL_CERT "/etc/pith/tls/node.crt"
#define CONTROL_KEY "/etc/pith/tls/node.key"
#define CONTROL_CA "/etc/pith/tls/ca.crt"
#define CONTROL_TOKENS "/etc/pith/tokens"

/* Connections at once, and from one client address; one more from an
 * address already at its limit is answered 503, past the total it is
 * closed at once (a TLS handshake costs more than the refusal is worth). */
#define CONTROL_CONN_MAX 1024
#define CONTROL_CONN_PER_CLIENT_MAX 64
/* Descriptors: each connection and the upstream it may have, and these
 * for the rest (listening socket, signals, the loop, files read). */
#define CONTROL_FD_SPARE 64
/* Largest request body passed on: a unit file (PID 1 takes 1 MiB). */
#define CONTROL_BODY_MAX (1024 * 1024)
/* Plaintext received and not yet parsed (pipelined requests) before the
 * connection stops reading from the socket. */
#define CONTROL_IN_MAX (64 * 1024)
/* Plaintext waiting to be encrypted before the upstream is not read any
 * more (a journal stream to a slow client); reading resumes below LOW. */
#define CONTROL_OUT_HIGH (256 * 1024)
#define CONTROL_OUT_LOW (64 * 1024)
/* Request bytes waiting for the upstream before the client is not read. */
#define CONTROL_UP_HIGH (256 * 1024)
/* What all connections hold together (--max-buffered): their buffers'
 * memory and the kernel's send queues. Past it, the connection holding
 * the most is closed. A client that pipelines and never reads holds a few
 * MiB of send queue and CONTROL_IN_MAX + CONTROL_OUT_HIGH; without a
 * bound for the process, a few dozen of them pass the unit's MemoryMax=96M,
 * which is charged for both. */
#define CONTROL_BUFFERED_MAX (32 * 1024 * 1024)
/* An emptied buffer larger than this gives its memory back. */
#define CONTROL_BUF_KEEP (16 * 1024)
/* Refused credentials are logged at most this often per second, and
 * failed TLS handshakes as often again; the rest are counted and the
 * count logged. */
#define CONTROL_AUTH_LOG_PER_SEC 10
/* How often the timeouts are checked. */
#define CONTROL_SWEEP_MS 1000
/* Requests that never end, passed on at once: journal follows (PID 1
 * takes API_FOLLOW_MAX = 32 of its 64 connections, so these stay well
 * below and leave room for the node's own clients) and KV watches (each
 * a connection to pith-kv, which takes 4096). Past a limit: 503. */
#define CONTROL_FOLLOW_MAX 24
#define CONTROL_FOLLOW_PER_CRED_MAX 8
#define CONTROL_WATCH_MAX 512
#define CONTROL_WATCH_PER_CRED_MAX 128
/* How long a request that is not a stream may wait on its upstream
 * without a byte from it: a read (--upstream-timeout), and a write, which
 * may wait for a unit's job (its TimeoutStartSec= and TimeoutStopSec=). */
#define CONTROL_READ_WAIT_MS (30 * 1000)
#define CONTROL_WRITE_WAIT_MS (15 * 60 * 1000)

struct control;
struct upstream;

enum conn_stream {
	STREAM_NONE,
	STREAM_FOLLOW,		/* GET /v1/journal?follow=1 */
	STREAM_WATCH,		/* GET /v2/keys/...?wait=true */
};

enum conn_phase {
	CONN_HANDSHAKE,		/* TLS not finished */
	CONN_READY,		/* reading requests */
	CONN_CLOSING,		/* sending what is left, then close_notify */
	CONN_LINGER,		/* all sent and shut down for writing; reading and
				 * dropping what the client still sends, so that
				 * closing does not reset the answer away */
};

/* How long and how much a closing connection reads and drops. */
#define CONTROL_LINGER_MS 2000
#define CONTROL_LINGER_BYTES (256 * 1024)

struct conn {
	struct control *ctl;
	int fd;
	struct loop_io io;
	uint32_t events;	/* what io is registered for */
	enum conn_phase phase;
	struct tls_server *tls;
	struct http_parser *p;
	struct buf in;		/* plaintext received, not yet parsed */
	struct buf out;		/* plaintext to send */
	struct sockaddr_storage addr;
	char peer[64];		/* "addr:port", for the log */
	bool over_limit;	/* this client had too many connections: 503 */
	bool tls_logged;	/* the handshake's failure was logged */
	bool close_sent;	/* close_notify is queued: close once it is out */
	size_t held;		/* what it held at the last sweep */
	uint64_t linger_until;	/* CONN_LINGER: close by then */
	size_t lingered;	/* bytes dropped so far */

	/* The current request. */
	bool in_request;	/* its head has been parsed and it is not answered */
	bool answered;		/* the answer is complete */
	bool answer_after_body;	/* answered here once its body is read and dropped */
	bool closing_after;	/* close once the answer is out */
	enum auth_role role;
	/* Who, for the limits per credential: "token:" and 16 hex digits of
	 * its digest, or "cert:" and the certificate's CN. */
	char cred[TLS_NAME_MAX + 8];
	enum conn_stream stream;	/* what the upstream is, while there is one */
	uint64_t up_active_ms;	/* the upstream was opened or last sent a byte */
	char method[HTTP_METHOD_MAX + 1];
	int status;		/* what was answered, for the metrics */
	int route;		/* enum stats_route */
	uint64_t started_usec;	/* the head arrived (CLOCK_MONOTONIC) */
	struct upstream *up;	/* passing it to PID 1 */

	/* Timeouts, in loop_now_ms(). */
	uint64_t accepted_ms;
	uint64_t quiet_since_ms;	/* accepted, or its last request head completed */
	uint64_t head_started_ms;	/* first byte of the request being read; 0 if none */
	uint64_t active_ms;	/* the last byte moved either way */

	struct conn *prev, *next;
};

struct control {
	struct loop *loop;
	int listen_fd;
	struct loop_io listen_io;
	bool listen_paused;
	const char *socket_path;	/* PID 1's API */
	const char *kv_addr;		/* the KV's client API: an IPv4 address */
	unsigned kv_port;
	struct conn *conns;
	unsigned nconns;
	unsigned conn_max;
	unsigned conn_per_client_max;
	unsigned read_wait_ms;
	size_t held;		/* what all held at the last sweep */
	size_t held_max;	/* --max-buffered */
	struct loop_timer sweep;
	/* Connections and upstreams closed during an event batch are freed
	 * after it (the batch may still hold events for them). */
	struct conn *dead;
	void *dead_ups;
	struct loop_timer reaper;

	/* Credentials, replaced whole on SIGHUP. */
	const char *cert_path, *key_path, *ca_path, *tokens_path;
	struct tls_chain chain;
	struct tls_key key;
	struct tls_anchors cas;
	struct auth_tokens *tokens;

	/* Refused credentials, and failed TLS handshakes, in the current
	 * second: logged, and counted but not logged. */
	uint64_t auth_log_sec;
	unsigned auth_logged;
	unsigned auth_suppressed;
	unsigned tls_fail_logged;
	unsigned tls_fail_suppressed;
	uint64_t started_ms;
};

/* conn.c */
int control_listen(struct control *ctl, const char *addr, unsigned port);
/* Close now; the memory goes after the current event batch. */
void conn_close(struct conn *c);
void control_reap_later(struct control *ctl);
/* Queue an answer with a complete body (may be NULL) and mark the request answered. */
void conn_respond(struct conn *c, int status, const char *type, const char *body, size_t len,
		  const char *fields);
/* {"error": msg} with status. */
void conn_respond_error(struct conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The answer of an upstream has started / ended; output is waiting. */
void conn_answer_done(struct conn *c);
void conn_kick(struct conn *c);
/* Process buffered input again (an upstream drained its buffer). */
void conn_resume(struct conn *c);

/* route.c: a request's head is complete; authenticate, authorize, route. */
void route_request(struct conn *c);
/* route.c: the body of a request answered here (answer_after_body) has
 * been read; answer it. */
void route_answer_local(struct conn *c);
/* Load or reload credentials. 0, or -errno with e. */
int control_credentials_load(struct control *ctl, struct err *e);

/* upstream.c */
struct upstream *upstream_open(struct conn *c, const char *method, const char *target,
			       const struct http_parser *req, bool add_metrics, bool kv);
void upstream_body(struct upstream *u, const char *data, size_t len);
void upstream_body_end(struct upstream *u);
/* The client went away: stop and free. */
void upstream_abort(struct upstream *u);
/* The answer's head has gone to the client. */
bool upstream_started(const struct upstream *u);
/* Bytes the upstream has not yet taken from the client's body. */
size_t upstream_pending(const struct upstream *u);
/* The client drained its output: resume reading the answer. */
void upstream_resume(struct upstream *u);
/* Nothing came from the upstream in ms: 504 (or, with the answer begun,
 * the connection closes). */
void upstream_expire(struct upstream *u, unsigned ms);
/* Free the upstreams closed during the last batch. */
void upstream_reap(struct control *ctl);

/* stats.c */
enum stats_route {
	ROUTE_OTHER,
	ROUTE_HEALTHZ,
	ROUTE_MACHINE,
	ROUTE_METRICS,
	ROUTE_UNITS,
	ROUTE_JOURNAL,
	ROUTE_POWER,
	ROUTE_KV,		/* etcd's v2 API, passed to pith-kv */
	ROUTE_NROUTES,
};
void stats_request(int route, const char *method, int status, uint64_t usec);
void stats_buffer_closed(void);
void stats_auth_refused(void);
void stats_tls_failed(void);
void stats_conn(int delta);
/* Append this program's metrics in Prometheus' text format. */
int stats_write(struct buf *b, const struct control *ctl);

/* route.c: GET /v1/machine's body. */
int machine_json(struct buf *b);

#endif
