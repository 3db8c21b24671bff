/*
 * Peer connections. Each member dials every other member once and sends
 * it frames (peer_msg.h) on that connection; it reads frames on the
 * connections others dialled. A connection starts with HELLO, and what it
 * says is checked before any other frame is read: the cluster, a sender in
 * the configuration, and this member as the one meant.
 *
 * Peer URLs are https (TLS 1.2, both sides show a node certificate from
 * the cluster CA: --peer-cert-file, --peer-key-file, --peer-trusted-ca-file)
 * or, on loopback addresses only, plain http for tests. A node certificate
 * lists serverAuth in its extended key usage, a client certificate does not
 * (lib/tls.h): neither side takes a client's. The sender of a HELLO is who
 * its certificate's addresses say (cert_is_member).
 *
 * Raft tolerates loss, so nothing here retries a frame: a frame that
 * cannot be queued, or was queued on a connection that failed, is gone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kv.h"
#include "netaddr.h"
#include "peer_msg.h"

/* Slots for peers: the members, and members being added or removed. */
#define PEERS_MAX (2 * RAFT_MEMBERS_MAX)
/* How long a joining member waits for an answer, and how often it asks. */
#define JOIN_TIMEOUT_MS 3000
#define JOIN_ATTEMPTS 10

struct peer_conn {
	struct kv *kv;
	int fd;
	struct loop_io io;
	bool in_epoll;
	bool dead;			/* closed; freed after the event batch */
	uint64_t opened_ms;
	struct peer *peer;		/* outbound: whom it reaches; NULL: inbound */
	bool connecting;
	bool greeted;			/* inbound: a good HELLO was read */
	bool answered;			/* inbound: a JOIN was answered; nothing more is read */
	uint64_t from;			/* inbound: who said HELLO */
	struct sockaddr_storage addr;	/* inbound: where from */
	union {
		struct tls_server *server;
		struct tls_client *client;
	} tls;
	br_ssl_engine_context *eng;	/* NULL: plain TCP */
	struct buf in;			/* plaintext read, not yet framed */
	struct buf out;			/* plaintext to send */
	struct peer_conn *next;		/* inbound list */
};

struct peer {
	uint64_t id;
	struct kv_url url;
	struct peer_conn *conn;
	unsigned retry_ms;
	uint64_t next_try;		/* loop_now_ms() before which not to dial */
	uint64_t active_since;		/* loop_now_ms() when the connection came up; 0: down */
};

/*
 * Close c now, free it after the event batch: the batch may still hold an
 * event for it (a connection that fails while another's event is handled).
 */
static void conn_free(struct peer_conn *c)
{
	struct kv *kv = c->kv;

	if (c->dead)
		return;
	c->dead = true;
	if (c->in_epoll)
		loop_io_del(kv->loop, &c->io);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->peer) {
		c->peer->conn = NULL;
		c->peer->active_since = 0;
	} else {
		for (struct peer_conn **pp = &kv->inbound; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		kv->ninbound--;
	}
	buf_free(&c->in);
	buf_free(&c->out);
	c->next = kv->dead_peers;
	kv->dead_peers = c;
}

void kv_peers_reap(struct kv *kv)
{
	while (kv->dead_peers) {
		struct peer_conn *c = kv->dead_peers;

		kv->dead_peers = c->next;
		free(c->peer ? (void *)c->tls.client : (void *)c->tls.server);
		free(c);
	}
}

static void conn_fail(struct peer_conn *c, const char *why)
{
	if (c->peer) {
		struct peer *p = c->peer;

		if (p->retry_ms >= KV_PEER_RETRY_MAX_MS / 2)
			log_debug("peer %llx (%s): %s", (unsigned long long)p->id, p->url.text, why);
		p->next_try = loop_now_ms() + p->retry_ms;
		p->retry_ms = p->retry_ms * 2 > KV_PEER_RETRY_MAX_MS ? KV_PEER_RETRY_MAX_MS : p->retry_ms * 2;
	} else if (c->greeted) {
		log_debug("peer %llx went away: %s", (unsigned long long)c->from, why);
	}
	conn_free(c);
}

/* --- frames in ----------------------------------------------------------------- */

static bool member_known(const struct kv *kv, uint64_t id)
{
	const struct raft_conf *cf = &kv->raft.conf;

	for (size_t i = 0; i < cf->nvoters; i++)
		if (cf->voters[i] == id)
			return true;
	for (size_t i = 0; i < cf->nlearners; i++)
		if (cf->learners[i] == id)
			return true;
	return false;
}

static struct peer *peer_find(struct kv *kv, uint64_t id);

/*
 * Over TLS, is the certificate on c that of member id? It must name, as
 * iPAddress, the address of each of the member's peer URLs in the table
 * (as added, or as last updated), which a client certificate or another
 * node's does not name.
 * A member in Raft's configuration but not yet in the table (its entry not
 * applied here) is known by the URL learned from the log.
 */
static bool cert_is_member(struct kv *kv, const struct tls_peer *tp, uint64_t id)
{
	const struct kv_member *m = kv_member_find(kv, id);
	const struct peer *p;

	if (m && m->npeer) {
		for (size_t i = 0; i < m->npeer; i++)
			if (!tls_peer_names_ip(tp, m->peer[i].host))
				return false;
		return true;
	}
	p = peer_find(kv, id);
	return p && tls_peer_names_ip(tp, p->url.host);
}

/* Does m listen on exactly these peer URLs? */
static bool member_on(const struct kv_member *m, const struct kv_url *u, size_t n)
{
	if (m->npeer != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < m->npeer; j++)
			found = found || !strcmp(u[i].text, m->peer[j].text);
		if (!found)
			return false;
	}
	return true;
}

/* A member joining: tell it the cluster and the member table if it was
 * added (POST /v2/members) on the URLs it gives, and, over TLS, its
 * certificate names the address of each. */
static bool join_answer(struct peer_conn *c, const unsigned char *f, size_t len)
{
	struct kv *kv = c->kv;
	struct kv_url u[KV_URLS_MAX];
	size_t n;
	uint32_t version;
	const char *urls;
	struct err e = { 0 };
	struct peer_joined j = { .reason = "no member was added on these peer URLs" };
	struct buf members = BUF_INIT;
	char why[KV_URL_MAX + TLS_NAME_MAX + 64] = "";
	int r;

	if (peer_join_decode(f, len, &version, &urls) < 0 || kv_urls_parse(u, &n, urls, &e) < 0)
		return false;
	for (size_t i = 0; c->eng && i < n && !why[0]; i++)
		if (!tls_peer_names_ip(&c->tls.server->peer, u[i].host))
			snprintf(why, sizeof(why), "the certificate of \"%s\" does not name the address of %s",
				 c->tls.server->peer.cn, u[i].text);
	if (version != PEER_VERSION) {
		j.reason = "another version of the peer protocol";
	} else if (why[0]) {
		j.reason = why;
	} else {
		for (size_t i = 0; i < kv->nmembers; i++)
			if (member_on(&kv->members[i], u, n) && kv->members[i].id != kv->id)
				j.ok = true;
	}
	if (j.ok && kv_members_encode(kv->members, kv->nmembers, &members) < 0)
		j = (struct peer_joined){ .reason = "out of memory" };
	j.cluster_id = kv->cluster_id;
	j.members = members.data;
	j.members_len = members.len;
	r = peer_joined_encode(&j, &c->out);
	buf_free(&members);
	log_info("peer %s asks to join: %s", urls, j.ok ? "told the members" : j.reason);
	c->answered = true;
	return r == 0;
}

/* One whole frame from an inbound connection. false: close it. */
static bool frame_in(struct peer_conn *c, const unsigned char *f, size_t len)
{
	struct kv *kv = c->kv;
	int type = peer_frame_type(f, len);

	if (c->answered) {
		log_warn("peer connection: a frame after JOIN, closed");
		return false;
	}
	if (!c->greeted && type == PEER_JOIN)
		return join_answer(c, f, len);
	if (!c->greeted) {
		struct peer_hello h;

		if (type != PEER_HELLO || peer_hello_decode(&h, f, len) < 0) {
			log_warn("peer connection: no HELLO first, closed");
			return false;
		}
		if (h.version != PEER_VERSION || h.cluster_id != kv->cluster_id || h.to != kv->id ||
		    !member_known(kv, h.from) || h.from == kv->id) {
			log_warn("peer connection refused: member %llx of cluster %llx (version %u) "
				 "for %llx; this is %llx of %llx",
				 (unsigned long long)h.from, (unsigned long long)h.cluster_id, h.version,
				 (unsigned long long)h.to, (unsigned long long)kv->id,
				 (unsigned long long)kv->cluster_id);
			return false;
		}
		/* Over TLS the certificate is the member's: it names the
		 * member's peer addresses, and its name once it has one (pith
		 * gen node NAME --ip ADDR). Another node's or a client's
		 * cannot speak for it, not even before it has started. */
		if (c->eng) {
			const struct kv_member *m = kv_member_find(kv, h.from);
			const char *cn = c->tls.server->peer.cn;

			if (!cert_is_member(kv, &c->tls.server->peer, h.from)) {
				log_warn("peer connection refused: the certificate of \"%s\" does not name the "
					 "peer address of member %llx", cn, (unsigned long long)h.from);
				return false;
			}
			if (m && m->name[0] && strcmp(cn, m->name)) {
				log_warn("peer connection refused: certificate of \"%s\" says it is member "
					 "%llx (%s)", cn, (unsigned long long)h.from, m->name);
				return false;
			}
		}
		c->greeted = true;
		c->from = h.from;
		return true;
	}
	if (type == PEER_RAFT) {
		struct raft_msg m;

		if (peer_raft_decode(&m, f, len) < 0 || m.from != c->from || m.to != kv->id) {
			log_warn("peer %llx: a malformed or misaddressed Raft message, closed",
				 (unsigned long long)c->from);
			return false;
		}
		if (m.type == RAFT_MSG_APPEND)
			kv->stats.recv_append++;
		raft_step(&kv->raft, &m);
		peer_raft_free(&m);
		return true;
	}
	if (type == PEER_PROPOSE) {
		const void *cmd;
		size_t n;

		if (peer_propose_decode(f, len, &cmd, &n) < 0)
			return false;
		return kv_forwarded(kv, c->from, cmd, n);
	}
	if (type == PEER_READ) {
		uint64_t seq;

		if (peer_read_decode(f, len, &seq) < 0)
			return false;
		kv_read_asked(kv, c->from, seq);
		return true;
	}
	if (type == PEER_READ_INDEX) {
		uint64_t seq, index;

		if (peer_read_index_decode(f, len, &seq, &index) < 0)
			return false;
		kv_read_index(kv, c->from, seq, index);
		return true;
	}
	log_warn("peer %llx: unknown frame type %d, closed", (unsigned long long)c->from, type);
	return false;
}

/* Frame what has been read. false: the connection was closed. */
static bool frames_in(struct peer_conn *c)
{
	size_t off = 0;

	/* A peer's certificate is known once the handshake is done, before
	 * its first byte of data: without a valid one nothing is read, and
	 * only a node's is one (a client certificate from the same CA is not). */
	if (c->eng && !c->peer && c->in.len && !c->tls.server->peer.verified) {
		log_warn("peer connection: no valid client certificate from the cluster CA, closed");
		conn_fail(c, "no client certificate");
		return false;
	}
	if (c->eng && !c->peer && c->in.len && !c->tls.server->peer.node) {
		log_warn("peer connection: the certificate of \"%s\" is a client's, not a node's "
			 "(its extended key usage lacks serverAuth), closed", c->tls.server->peer.cn);
		conn_fail(c, "not a node certificate");
		return false;
	}

	for (;;) {
		int64_t n = peer_frame_len(c->in.data + off, c->in.len - off);

		if (n < 0) {
			log_warn("peer connection: a frame of a size out of bounds, closed");
			conn_fail(c, "bad frame");
			return false;
		}
		if (n == 0)
			break;
		if (c->peer) {
			/* Nothing is expected back on a connection we dialled. */
			conn_fail(c, "unexpected frame");
			return false;
		}
		if (!frame_in(c, (unsigned char *)c->in.data + off, (size_t)n)) {
			conn_fail(c, "refused");
			return false;
		}
		off += (size_t)n;
	}
	buf_consume(&c->in, off);
	return true;
}

/* --- moving bytes ----------------------------------------------------------------- */

static void conn_events(struct peer_conn *c)
{
	uint32_t ev = EPOLLIN;

	if (c->connecting)
		ev |= EPOLLOUT;
	else if (c->eng)
		ev |= (br_ssl_engine_current_state(c->eng) & BR_SSL_SENDREC) ? EPOLLOUT : 0;
	else if (c->out.len)
		ev |= EPOLLOUT;
	loop_io_mod(c->kv->loop, &c->io, ev);
}

/* Read what the socket has into c->in (plain). 0, or -1: closed. */
static int plain_pump(struct peer_conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		buf_consume(&c->out, (size_t)n);
	}
	for (;;) {
		char chunk[65536];
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return 0;
		if (buf_append(&c->in, chunk, (size_t)n) < 0)
			return -1;
		if (c->in.len > 4 * 1024 * 1024 && !frames_in(c))
			return -2;
	}
}

static int tls_pump(struct peer_conn *c)
{
	br_ssl_engine_context *eng = c->eng;
	bool progress = true;

	while (progress) {
		unsigned st = br_ssl_engine_current_state(eng);
		unsigned char *b;
		size_t len;
		ssize_t n;

		progress = false;
		if (st & BR_SSL_CLOSED) {
			int err = br_ssl_engine_last_error(eng);

			if (err)
				log_warn("peer %s: TLS: %s", c->peer ? c->peer->url.text : "connection",
					 tls_strerror(err));
			return -1;
		}
		if (st & BR_SSL_SENDREC) {
			n = tls_sendrec(eng, c->fd);
			if (n < 0 && n != -EAGAIN)
				return -1;
			if (n > 0)
				progress = true;
		}
		if (st & BR_SSL_RECVAPP) {
			b = br_ssl_engine_recvapp_buf(eng, &len);
			if (buf_append(&c->in, b, len) < 0)
				return -1;
			br_ssl_engine_recvapp_ack(eng, len);
			progress = true;
			if (c->in.len > 4 * 1024 * 1024 && !frames_in(c))
				return -2;
		}
		if ((st & BR_SSL_SENDAPP) && c->out.len) {
			buf_consume(&c->out, tls_sendapp(eng, c->out.data, c->out.len));
			br_ssl_engine_flush(eng, 0);
			progress = true;
		}
		if (st & BR_SSL_RECVREC) {
			n = tls_recvrec(eng, c->fd);
			if (n <= 0 && n != -EAGAIN)
				return -1;
			if (n > 0)
				progress = true;
		}
	}
	return 0;
}

static void conn_pump(struct peer_conn *c)
{
	int r = c->eng ? tls_pump(c) : plain_pump(c);

	if (r == -2)
		return;	/* already closed */
	if (r < 0) {
		/* Frames that came in with the end of the stream still count:
		 * the last append to a member just removed, sent before the
		 * leader closed its connection, is how it learns it was. */
		if (frames_in(c))
			conn_fail(c, "connection closed");
		return;
	}
	if (!frames_in(c))
		return;
	/* A frame read may have been answered (JOIN): send that now, as
	 * the TLS engine asks for no write until it holds the bytes. */
	if (c->out.len && !c->peer && (r = c->eng ? tls_pump(c) : plain_pump(c)) < 0) {
		if (r == -1)
			conn_fail(c, "connection closed");
		return;
	}
	conn_events(c);
}

static void conn_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct peer_conn *c = arg;

	if (c->dead)
		return;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			return conn_fail(c, strerror(err));
		c->connecting = false;
		c->peer->retry_ms = KV_PEER_RETRY_MIN_MS;
		c->peer->active_since = loop_now_ms();
	}
	conn_pump(c);
}

/* --- dialling ------------------------------------------------------------------------ */

static int sockaddr_of(const struct kv_url *u, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, u->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(u->port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, u->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(u->port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	return -EINVAL;
}

/* TCP options of a peer connection: no Nagle delay, and a dead peer
 * noticed within KV_PEER_USER_TIMEOUT_MS even when nothing is being sent
 * (followers send each other nothing, but their connections count). */
static void sock_options(int fd)
{
	int one = 1, idle = 1, intvl = 1, cnt = KV_PEER_USER_TIMEOUT_MS / 1000;
	unsigned timeout = KV_PEER_USER_TIMEOUT_MS;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
}

static struct peer_conn *dial(struct kv *kv, struct peer *p)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int fam = sockaddr_of(&p->url, &ss, &slen);
	struct peer_conn *c;
	struct peer_hello h = { PEER_VERSION, kv->cluster_id, kv->id, p->id };
	struct err e = { 0 };

	if (fam < 0 || loop_now_ms() < p->next_try)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->kv = kv;
	c->peer = p;
	c->fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	p->conn = c;
	c->opened_ms = loop_now_ms();
	sock_options(c->fd);
	if (p->url.tls) {
		c->tls.client = malloc(sizeof(*c->tls.client));
		if (!c->tls.client ||
		    tls_client_init(c->tls.client, p->url.host, &kv->anchors, &kv->chain, &kv->key, &e) < 0) {
			if (e.msg[0])
				log_err("peer %s: %s", p->url.text, e.msg);
			conn_fail(c, "TLS setup");
			return NULL;
		}
		c->tls.client->peer.want_node = true;
		c->eng = &c->tls.client->cc.eng;
	}
	if (peer_hello_encode(&h, &c->out) < 0) {
		conn_fail(c, "out of memory");
		return NULL;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, slen) < 0 && errno != EINPROGRESS) {
		conn_fail(c, strerror(errno));
		return NULL;
	}
	c->connecting = true;
	if (loop_io_add(kv->loop, &c->io, c->fd, EPOLLIN | EPOLLOUT, conn_ready, c) < 0) {
		conn_fail(c, "epoll");
		return NULL;
	}
	c->in_epoll = true;
	return c;
}

static struct peer *peer_find(struct kv *kv, uint64_t id)
{
	for (size_t i = 0; id && kv->peers && i < kv->npeers; i++)
		if (kv->peers[i].id == id)
			return &kv->peers[i];
	return NULL;
}

uint64_t kv_peer_active_since(struct kv *kv, uint64_t id)
{
	const struct peer *p = peer_find(kv, id);

	return p ? p->active_since : 0;
}

void kv_peer_learn(struct kv *kv, uint64_t id, const struct kv_url *url)
{
	struct peer *p;

	if (!kv->peers || id == kv->id || id == RAFT_NONE)
		return;
	if ((p = peer_find(kv, id))) {
		/* New URLs: the next message dials them. */
		if (strcmp(p->url.text, url->text)) {
			p->url = *url;
			if (p->conn)
				conn_free(p->conn);
			p->next_try = 0;
		}
		return;
	}
	for (size_t i = 0; i < PEERS_MAX && !p; i++)
		if (!kv->peers[i].id)
			p = &kv->peers[i];
	if (!p)
		return;
	if ((size_t)(p - kv->peers) >= kv->npeers)
		kv->npeers = (size_t)(p - kv->peers) + 1;
	*p = (struct peer){ .id = id, .url = *url, .retry_ms = KV_PEER_RETRY_MIN_MS };
}

void kv_peers_sync(struct kv *kv)
{
	if (!kv->peers)
		return;
	for (size_t i = 0; i < kv->nmembers; i++)
		kv_peer_learn(kv, kv->members[i].id, &kv->members[i].peer[0]);
	/* A member gone from the table and from Raft's configuration is
	 * neither dialled nor heard any more. */
	for (size_t i = 0; i < kv->npeers; i++) {
		struct peer *p = &kv->peers[i];

		if (!p->id || kv_member_find(kv, p->id) || member_known(kv, p->id))
			continue;
		if (p->conn)
			conn_free(p->conn);
		memset(p, 0, sizeof(*p));
	}
	for (struct peer_conn *c = kv->inbound, *next; c; c = next) {
		next = c->next;
		if (c->greeted && !kv_member_find(kv, c->from) && !member_known(kv, c->from))
			conn_fail(c, "no longer a member");
	}
}

/* Queue a frame made by enc for a peer, dialling it if need be. */
static struct peer_conn *conn_for(struct kv *kv, uint64_t to)
{
	struct peer *p = peer_find(kv, to);

	if (!p)
		return NULL;
	if (!p->conn && !dial(kv, p))
		return NULL;
	if (p->conn->out.len > KV_PEER_QUEUE_MAX)
		return NULL;
	return p->conn;
}

static void conn_flush(struct peer_conn *c)
{
	if (!c->connecting)
		conn_pump(c);
}

void kv_peer_send(struct kv *kv, const struct raft_msg *m)
{
	struct peer_conn *c = conn_for(kv, m->to);

	if (c && peer_raft_encode(m, &c->out) == 0)
		conn_flush(c);
}

bool kv_peer_forward(struct kv *kv, uint64_t to, const void *cmd, size_t len)
{
	struct peer_conn *c = conn_for(kv, to);

	if (!c || peer_propose_encode(cmd, len, &c->out) < 0)
		return false;
	conn_flush(c);
	return true;
}

bool kv_peer_read(struct kv *kv, uint64_t to, uint64_t seq)
{
	struct peer_conn *c = conn_for(kv, to);

	if (!c || peer_read_encode(seq, &c->out) < 0)
		return false;
	conn_flush(c);
	return true;
}

bool kv_peer_read_index(struct kv *kv, uint64_t to, uint64_t seq, uint64_t index)
{
	struct peer_conn *c = conn_for(kv, to);

	if (!c || peer_read_index_encode(seq, index, &c->out) < 0)
		return false;
	conn_flush(c);
	return true;
}

void kv_peers_sweep(struct kv *kv)
{
	uint64_t now = loop_now_ms();

	/* Every member keeps a connection to every other, messages or not
	 * (followers have none to send each other): how long one has been up
	 * is what the strict membership checks go by, and a new leader finds
	 * its connections ready. */
	for (size_t i = 0; kv->peers && i < kv->npeers; i++) {
		struct peer *p = &kv->peers[i];

		if (p->conn && p->conn->connecting && now - p->conn->opened_ms > KV_PEER_CONNECT_MS)
			conn_fail(p->conn, "connect timed out");
		if (p->id && !p->conn)
			dial(kv, p);
	}

	/* A connection that has not said who it is within the deadline is
	 * closed: idle connections must not fill the slots members need. */
	for (struct peer_conn *c = kv->inbound, *next; c; c = next) {
		next = c->next;
		if (!c->greeted && now - c->opened_ms > KV_PEER_HELLO_MS)
			conn_fail(c, "no HELLO in time");
	}
}

/* --- listening ----------------------------------------------------------------------- */

static void accept_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct kv *kv = arg;

	for (int k = 0; k < 16; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct peer_conn *c, *oldest = NULL;
		unsigned same = 0;

		if (cfd < 0)
			return;
		for (struct peer_conn *o = kv->inbound; o; o = o->next) {
			if (o->greeted)
				continue;
			same += netaddr_same_client(&o->addr, &ss);
			/* The list is newest first: on a tie, the later one. */
			if (!oldest || o->opened_ms <= oldest->opened_ms)
				oldest = o;
		}
		if (same >= KV_PEER_UNGREETED_PER_CLIENT_MAX) {
			close(cfd);
			continue;
		}
		if (kv->ninbound >= KV_PEER_CONN_MAX && oldest)
			conn_fail(oldest, "closed to make room for a newer connection");
		if (kv->ninbound >= KV_PEER_CONN_MAX || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		sock_options(cfd);
		c->kv = kv;
		c->fd = cfd;
		c->addr = ss;
		c->opened_ms = loop_now_ms();
		c->next = kv->inbound;
		kv->inbound = c;
		kv->ninbound++;
		if (kv->peer_tls) {
			c->tls.server = malloc(sizeof(*c->tls.server));
			if (!c->tls.server ||
			    tls_server_init(c->tls.server, &kv->chain, &kv->key, &kv->anchors) < 0) {
				conn_free(c);
				continue;
			}
			c->eng = &c->tls.server->sc.eng;
		}
		if (loop_io_add(l, &c->io, cfd, EPOLLIN, conn_ready, c) < 0) {
			conn_free(c);
			continue;
		}
		c->in_epoll = true;
		conn_events(c);
	}
}

/* The peer certificate, key and CA, once. */
static int tls_load(struct kv *kv, struct err *e)
{
	int r;

	if (kv->peer_tls)
		return 0;
	if (!kv->cfg.peer_cert || !kv->cfg.peer_key || !kv->cfg.peer_ca) {
		err_set(e, 0, "https peer URLs need --peer-cert-file, --peer-key-file and "
			"--peer-trusted-ca-file");
		return -EINVAL;
	}
	if ((r = tls_chain_load(&kv->chain, kv->cfg.peer_cert, e)) < 0 ||
	    (r = tls_key_load(&kv->key, kv->cfg.peer_key, e)) < 0 ||
	    (r = tls_anchors_load(&kv->anchors, kv->cfg.peer_ca, e)) < 0)
		return r;
	kv->peer_tls = true;
	return 0;
}

int kv_peers_start(struct kv *kv, struct err *e)
{
	bool tls = false, plain = false;
	int r;

	for (size_t i = 0; i < kv->cfg.nlisten_peer; i++)
		kv->cfg.listen_peer[i].tls ? (tls = true) : (plain = true);
	for (size_t i = 0; i < kv->nmembers; i++)
		for (size_t j = 0; j < kv->members[i].npeer; j++)
			kv->members[i].peer[j].tls ? (tls = true) : (plain = true);
	if (tls && plain) {
		err_set(e, 0, "peer URLs must all be https or all be http");
		return -EINVAL;
	}
	if (plain) {
		/* Plain TCP carries Raft unauthenticated: only where nobody else can reach. */
		for (size_t i = 0; i < kv->cfg.nlisten_peer; i++)
			if (!kv_url_is_loopback(&kv->cfg.listen_peer[i])) {
				err_set(e, 0, "peer URL %s: plain http only on loopback; use https with "
					"--peer-cert-file, --peer-key-file and --peer-trusted-ca-file",
					kv->cfg.listen_peer[i].text);
				return -EINVAL;
			}
		for (size_t i = 0; i < kv->nmembers; i++)
			for (size_t j = 0; j < kv->members[i].npeer; j++)
				if (!kv_url_is_loopback(&kv->members[i].peer[j])) {
					err_set(e, 0, "peer URL %s: plain http only on loopback",
						kv->members[i].peer[j].text);
					return -EINVAL;
				}
	}
	if (tls && (r = tls_load(kv, e)) < 0)
		return r;
	kv->peers = calloc(PEERS_MAX, sizeof(*kv->peers));
	if (!kv->peers)
		return -ENOMEM;
	kv_peers_sync(kv);
	kv_learn_members(kv, kv->raft.log, kv->raft.nlog);
	for (size_t i = 0; i < kv->cfg.nlisten_peer; i++) {
		struct sockaddr_storage ss;
		socklen_t slen;
		int one = 1, fam = sockaddr_of(&kv->cfg.listen_peer[i], &ss, &slen);
		int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 64) < 0) {
			r = -errno;
			err_set(e, 0, "listen on %s: %s", kv->cfg.listen_peer[i].text, strerror(errno));
			if (fd >= 0)
				close(fd);
			return r;
		}
		kv->peer_fds[kv->npeer_fds] = fd;
		if ((r = loop_io_add(kv->loop, &kv->peer_ios[kv->npeer_fds], fd, EPOLLIN, accept_ready, kv)) < 0) {
			close(fd);
			return r;
		}
		kv->npeer_fds++;
	}
	return 0;
}

void kv_peers_stop(struct kv *kv)
{
	while (kv->inbound)
		conn_free(kv->inbound);
	for (size_t i = 0; kv->peers && i < kv->npeers; i++)
		if (kv->peers[i].conn)
			conn_free(kv->peers[i].conn);
	kv_peers_reap(kv);
	for (size_t i = 0; i < kv->npeer_fds; i++) {
		loop_io_del(kv->loop, &kv->peer_ios[i]);
		close(kv->peer_fds[i]);
	}
	free(kv->peers);
	kv->peers = NULL;
}

/* --- joining a running cluster -------------------------------------------------------- */

static int sock_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = recv(*(int *)ctx, buf, len, 0);

	return n > 0 ? (int)n : -1;
}

static int sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);

	return n > 0 ? (int)n : -1;
}

/* Send JOIN to url and read the answer into reply, blocking, each step
 * within JOIN_TIMEOUT_MS. 0 or -1 (e says why). */
static int join_ask(struct kv *kv, const struct kv_url *url, struct buf *reply, struct err *e)
{
	struct timeval tv = { JOIN_TIMEOUT_MS / 1000, (JOIN_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_storage ss;
	socklen_t slen;
	char urls[KV_URLS_MAX * KV_URL_MAX] = "";
	struct buf out = BUF_INIT;
	struct tls_client *tc = NULL;
	br_sslio_context io;
	int fd = -1, fam = sockaddr_of(url, &ss, &slen), r = -1;

	kv_urls_join(kv->cfg.advertise_peer, kv->cfg.nadvertise_peer, urls, sizeof(urls));
	if (fam < 0 || (fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, slen) < 0) {
		err_set(e, 0, "%s: %s", url->text, strerror(errno));
		goto out;
	}
	if (peer_join_encode(PEER_VERSION, urls, &out) < 0)
		goto out;
	if (url->tls) {
		if (tls_load(kv, e) < 0 || !(tc = malloc(sizeof(*tc))) ||
		    tls_client_init(tc, url->host, &kv->anchors, &kv->chain, &kv->key, e) < 0)
			goto out;
		tc->peer.want_node = true;
		br_sslio_init(&io, &tc->cc.eng, sock_read, &fd, sock_write, &fd);
		if (br_sslio_write_all(&io, out.data, out.len) < 0 || br_sslio_flush(&io) < 0) {
			err_set(e, 0, "%s: TLS: %s", url->text, tls_strerror(br_ssl_engine_last_error(&tc->cc.eng)));
			goto out;
		}
	} else if (send(fd, out.data, out.len, MSG_NOSIGNAL) != (ssize_t)out.len) {
		err_set(e, 0, "%s: %s", url->text, strerror(errno));
		goto out;
	}
	for (;;) {
		unsigned char chunk[4096];
		int64_t flen = peer_frame_len(reply->data, reply->len);
		int got;

		if (flen < 0)
			break;
		if (flen > 0) {
			r = 0;
			break;
		}
		got = tc ? br_sslio_read(&io, chunk, sizeof(chunk)) : (int)recv(fd, chunk, sizeof(chunk), 0);
		if (got <= 0 || buf_append(reply, chunk, (size_t)got) < 0)
			break;
	}
	if (r < 0 && tc && br_ssl_engine_last_error(&tc->cc.eng))
		err_set(e, 0, "%s: TLS: %s", url->text, tls_strerror(br_ssl_engine_last_error(&tc->cc.eng)));
	else if (r < 0)
		err_set(e, 0, "%s: no answer to JOIN (is this member's certificate from the cluster's CA?)",
			url->text);
out:
	if (fd >= 0)
		close(fd);
	free(tc);
	buf_free(&out);
	return r;
}

int kv_peers_join(struct kv *kv, struct kv_member *m, size_t *n, struct err *e)
{
	struct kv_member *ic = calloc(RAFT_MEMBERS_MAX, sizeof(*ic));
	size_t nic;
	bool refused = false;
	int r = -EINVAL;

	if (!ic)
		return -ENOMEM;
	if (kv_cluster_parse(ic, &nic, kv->cfg.initial_cluster, kv->cfg.token, e) < 0)
		goto out;
	/* Every member listed but this one, in turn, until one answers. */
	for (int attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
		if (attempt)
			sleep(1);
		for (size_t i = 0; i < nic; i++) {
			struct buf reply = BUF_INIT;
			struct peer_joined j;

			if (member_on(&ic[i], kv->cfg.advertise_peer, kv->cfg.nadvertise_peer))
				continue;
			if (join_ask(kv, &ic[i].peer[0], &reply, e) < 0) {
				log_info("joining: %s", e->msg);
				buf_free(&reply);
				continue;
			}
			if (peer_joined_decode(&j, reply.data, reply.len) < 0 ||
			    (j.ok && kv_members_decode(m, n, j.members, j.members_len) < 0)) {
				err_set(e, 0, "%s: a malformed answer to JOIN", ic[i].peer[0].text);
				buf_free(&reply);
				continue;
			}
			if (!j.ok) {
				refused = true;
				err_set(e, 0, "%s says: %s", ic[i].peer[0].text, j.reason);
				log_info("joining: %s", e->msg);
				buf_free(&reply);
				continue;
			}
			buf_free(&reply);
			for (size_t k = 0; k < *n; k++)
				if (member_on(&m[k], kv->cfg.advertise_peer, kv->cfg.nadvertise_peer)) {
					kv->id = m[k].id;
					kv->cluster_id = j.cluster_id;
					log_info("joining cluster %llx as member %llx",
						 (unsigned long long)kv->cluster_id, (unsigned long long)kv->id);
					r = 0;
					goto out;
				}
			err_set(e, 0, "%s: the member table has no member on this member's peer URLs",
				ic[i].peer[0].text);
		}
	}
	{
		char last[sizeof(e->msg)];

		snprintf(last, sizeof(last), "%s", e->msg[0] ? e->msg : "no member answered");
		err_set(e, 0, "could not join the cluster in --initial-cluster (%s)%s", last,
			refused ? "; add this member first (etcdctl member add)" : "");
	}
	r = -EAGAIN;
out:
	free(ic);
	return r;
}
